//! The executor: executes finalized blocks and commits them to the database on a thread of
//! its own, beside the consensus loop.
//!
//! Separate because a block's execution and its synced write took 10-30 ms of every block
//! on the loop, during which no vote, proposal or timeout was handled. A block certifies
//! the state its parent's certificate made final (`EXECUTION_LAG`), so the loop can vote
//! on the next block while this thread executes the last one; the engine waits (it never
//! votes or proposes with roots this node has not computed) only when the executor falls
//! behind by more than that.
//!
//! Two threads: the executor executes (contracts, Merkle tree) and hands each block to
//! the writer, which commits it (encoding, RocksDB's synced write) while the executor
//! executes the next block over the changes of the one being written
//! (`lianrong_contracts::Layered`). A catching-up node has many blocks queued, and
//! committing was ~40 % of one block's time on the executor's thread (node/README.md,
//! "Catch-up"); a validator at the tip rarely has two blocks at once, and for it the
//! writer only takes over the second half of the same work.
//!
//! Blocks are executed and written in the order they are handed over, and each result
//! comes back in that order, so the engine's `Executed` inputs keep height order. A block
//! is acknowledged to the engine and to clients (its `CommitNotice`, which the loop sends
//! once `/v1/status` shows the block) only after its synced write, as before.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, Result};
use lianrong_consensus::{Block, CommitCertificate, ExecutionCommit, FinalizedBlock, QuorumCert};
use lianrong_contracts::exec::{execute_block, BlockContext};
use lianrong_contracts::model::Validator as LedgerValidator;
use lianrong_contracts::state::Storage;
use lianrong_contracts::{Event, Layered, Receipt, VerifiedTransaction};
use lianrong_primitives::{codec, Hash, PublicKey};
use lianrong_storage::{CommitBlock, Db};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::api::CommitNotice;

/// Finalized blocks waiting for the executor. Consensus runs at most a block or two ahead
/// of execution (it needs this node's roots to vote), but catching up finalizes whole
/// windows at once; beyond this many the loop waits for the executor.
pub const QUEUE: usize = 256;

/// What the blocks handed to the executor and not yet committed may hold in memory
/// (estimated by [`job_bytes`]); beyond it the loop waits for the executor. Bounded in
/// bytes because a count alone let a catching-up node hold 256 full blocks (each up to
/// 256 KiB encoded, ~1 MiB with its decoded transactions): 616 MiB RSS against a 192 MiB
/// budget.
/// 2 MiB still queues about two full blocks besides the one being written, enough that
/// the executor never waits on the network while the sync fetches ahead (16 MiB until
/// 2026-12-05, 4 MiB until the block writer took a block of its own: 2 MiB caught up a
/// 1,000,000-transaction chain as fast and peaked 10 MiB lower, node/README.md "Committing
/// beside executing"). Outside `[memory]`, like the node's other fixed queues
/// (node/README.md lists them).
pub const QUEUE_BYTES: usize = 2 << 20;

/// Room is counted in KiB: a semaphore's permits are `u32`.
const ROOM_UNIT: usize = 1024;

/// A finalized block and its transactions (signatures checked), to execute.
pub struct Job {
    pub block: FinalizedBlock,
    pub txs: Vec<VerifiedTransaction>,
    /// Where the loop found them (logged).
    pub txs_from: TxsFrom,
}

/// Where a finalized block's verified transactions came from, logged with the block: a
/// payload decoded on the consensus loop is the costly case in steady operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxsFrom {
    /// Checked ahead of the block's finalization, off the loop (`precheck`: catch-up).
    Ahead,
    /// From the proposal's index (`proposed`): the mempool's copies, and only the
    /// transactions it did not hold decoded (and checked) on the loop.
    Indexed,
    /// The payload decoded on the loop, the mempool's copies standing in for the
    /// transactions it holds.
    Decoded,
}

impl std::fmt::Display for TxsFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TxsFrom::Ahead => "ahead",
            TxsFrom::Indexed => "indexed",
            TxsFrom::Decoded => "decoded",
        })
    }
}

/// What executing and committing one block changed, for the loop to pass on.
#[derive(Debug)]
pub struct Done {
    pub block_hash: Hash,
    /// The block's height and the roots later blocks certify (`Input::Executed`).
    pub executed: ExecutionCommit,
    /// The block's transactions (hash, signer), to drop from the mempool.
    pub committed: Vec<(Hash, PublicKey)>,
    /// The validator set the block's receipts leave the ledger with, if they change it.
    pub set_change: Option<Vec<LedgerValidator>>,
    /// Whether the block was a reconfiguration block.
    pub reconfig: bool,
    /// What subscribers (`/v1/events`, `?wait=commit`) are told: sent by the loop once
    /// it has recorded the block in `/v1/status`, so a client that hears of block N reads
    /// a status of at least N (sent from the writer, the notice ran ahead of the status:
    /// docs/field-notes.md, "A node's event stream ran ahead of its `/v1/status`").
    pub notice: Arc<CommitNotice>,
}

/// What a job holds in memory, estimated: the block's encoded payload, and each
/// transaction's kept bytes and decoded value at the mempool's factor (the same estimate
/// the memory plan makes for a waiting transaction).
pub fn job_bytes(job: &Job) -> usize {
    let txs: usize = job.txs.iter().map(|t| t.bytes().len()).sum();
    let factor = lianrong_node_formats::memory::MEMPOOL_DECODED_FACTOR as usize;
    job.block
        .block
        .payload
        .len()
        .saturating_add(txs.saturating_mul(factor))
}

/// The executor's room in bytes: a job takes its [`job_bytes`] (at most all of the room,
/// so a block larger than the bound still runs, alone) until it is committed.
struct Room {
    units: Arc<Semaphore>,
    capacity: u32,
}

impl Room {
    fn new(bytes: usize) -> Self {
        let capacity = u32::try_from(bytes.div_ceil(ROOM_UNIT).max(1)).unwrap_or(u32::MAX);
        Self {
            units: Arc::new(Semaphore::new(capacity as usize)),
            capacity,
        }
    }

    /// Waits until `bytes` fit beside the jobs not yet committed.
    async fn take(&self, bytes: usize) -> Result<OwnedSemaphorePermit> {
        let units = u32::try_from(bytes.div_ceil(ROOM_UNIT))
            .unwrap_or(u32::MAX)
            .clamp(1, self.capacity);
        self.units
            .clone()
            .acquire_many_owned(units)
            .await
            .map_err(|_| anyhow!("the executor stopped"))
    }
}

/// The loop's side of the executor.
pub struct Executor {
    /// `None` once stopping.
    jobs: Option<mpsc::Sender<(Job, OwnedSemaphorePermit)>>,
    room: Room,
    /// The executor's thread, then the writer's.
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// What the executor hands the writer: a block executed (or why it could not be), and
/// the room its job holds until it is committed.
type Handover = (Result<Executed>, OwnedSemaphorePermit);

impl Executor {
    /// Starts the executor thread; its results arrive on the returned receiver (an error
    /// there is fatal to the node: a block it could not execute or store).
    pub fn start(db: Arc<Db>) -> Result<(Self, mpsc::UnboundedReceiver<Result<Done>>)> {
        Self::start_with(db, QUEUE_BYTES)
    }

    /// [`Self::start`] with room for `queue_bytes` of blocks not yet committed.
    pub fn start_with(
        db: Arc<Db>,
        queue_bytes: usize,
    ) -> Result<(Self, mpsc::UnboundedReceiver<Result<Done>>)> {
        let (jobs, mut queue) = mpsc::channel::<(Job, OwnedSemaphorePermit)>(QUEUE);
        // Unbounded, yet short: each result answers one job, and the loop takes every
        // waiting result before any other input, so at most the jobs queued plus those
        // one input finalized (a step's sync ranges) wait here.
        let (done_tx, done) = mpsc::unbounded_channel();
        // A rendezvous: the executor hands block N + 1 over only when the writer takes
        // it, which is once block N is durable. So the block being executed reads the
        // database with at most one block's write not yet landed -- the one its layer
        // holds (see `execute_over`).
        let (to_writer, written) = std::sync::mpsc::sync_channel::<Handover>(0);
        let executor_db = db.clone();
        let executor = std::thread::Builder::new()
            .name("executor".into())
            .spawn(move || {
                let mut last: Option<Arc<CommitBlock>> = None;
                while let Some((job, room)) = queue.blocking_recv() {
                    let result = execute_over(&executor_db, last.as_deref(), job);
                    last = result.as_ref().ok().map(|e| e.block.clone());
                    let failed = result.is_err();
                    if to_writer.send((result, room)).is_err() || failed {
                        return;
                    }
                }
            })?;
        let writer = std::thread::Builder::new()
            .name("block-writer".into())
            .spawn(move || {
                while let Ok((executed, room)) = written.recv() {
                    let result = executed.and_then(|e| commit(&db, e));
                    // The block is committed and dropped: its room is free.
                    drop(room);
                    let failed = result.is_err();
                    if done_tx.send(result).is_err() || failed {
                        return;
                    }
                }
            })?;
        let executor = Self {
            jobs: Some(jobs),
            room: Room::new(queue_bytes),
            threads: vec![executor, writer],
        };
        Ok((executor, done))
    }

    /// Hands a finalized block over (waits while the queue is full, in blocks or bytes).
    pub async fn push(&self, job: Job) -> Result<()> {
        let jobs = self
            .jobs
            .as_ref()
            .ok_or_else(|| anyhow!("the executor is stopping"))?;
        let room = self.room.take(job_bytes(&job)).await?;
        jobs.send((job, room))
            .await
            .map_err(|_| anyhow!("the executor stopped"))
    }

    /// Stops taking blocks and waits for the block being executed and the one being
    /// written, once the loop has stopped taking results: blocks still queued are dropped
    /// (each block is one atomic write, and a restarted node fetches the blocks it
    /// misses, as after a crash).
    pub async fn finish(&mut self) {
        drop(self.jobs.take());
        // The executor first: its end closes the writer's queue.
        for thread in std::mem::take(&mut self.threads) {
            let joined = tokio::task::spawn_blocking(move || thread.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!("the executor thread panicked");
            }
        }
    }
}

/// A block executed whose write is not yet made: what it writes, and what is announced
/// and handed back once it is durable.
pub struct Executed {
    /// What the block writes. Shared: the executor executes the next block over its
    /// changes ([`Layered`]) while the writer writes it.
    pub block: Arc<CommitBlock>,
    done: Done,
    started: Instant,
    txs_from: TxsFrom,
}

/// Executes a finalized block on `store` (the database, or the database under the
/// changes of the block before, being written): the contracts and the Merkle tree.
pub fn execute<S: Storage>(store: &S, job: Job) -> Result<Executed> {
    let Job {
        block: fb,
        txs,
        txs_from,
    } = job;
    let height = fb.block.height;
    let started = Instant::now();
    let ctx = BlockContext {
        height,
        time_ms: fb.block.timestamp_ms,
    };
    let outcome =
        execute_block(store, &ctx, &txs).map_err(|e| anyhow!("executing block {height}: {e}"))?;
    let root = outcome.state_root();
    let block_hash = fb.block.hash();
    // What clients are told is final: a receipt of an envelope refusal is not (the same
    // bytes may execute later), so it is not announced.
    let announced = outcome.receipts.iter().filter(|r| r.committed()).cloned();
    let notice = CommitNotice {
        height,
        block_hash,
        time_ms: fb.block.timestamp_ms,
        state_root: root,
        receipts: announced.collect(),
        ledger_events: outcome.ledger_events.clone(),
    };
    let done = Done {
        block_hash,
        executed: ExecutionCommit {
            height,
            state_root: root,
            results_root: outcome.results_root,
        },
        committed: txs.iter().map(|t| (t.hash(), t.tx().signer.key)).collect(),
        set_change: last_set_change(&outcome.receipts),
        reconfig: fb.block.reconfig.is_some(),
        notice: Arc::new(notice),
    };
    let block = CommitBlock {
        height,
        block_hash,
        block: codec::encode(&fb.block),
        cert: codec::encode(&fb.cert),
        txs: txs.iter().map(|t| (t.hash(), t.bytes().to_vec())).collect(),
        receipts: outcome.receipts,
        changes: outcome.changes,
        results_root: outcome.results_root,
        ends_epoch: fb.block.reconfig.as_ref().map(|_| fb.block.epoch),
        ledger_events: outcome.ledger_events,
    };
    Ok(Executed {
        block: Arc::new(block),
        done,
        started,
        txs_from,
    })
}

/// Commits an executed block atomically (a synced write); what the loop is handed back,
/// to record and announce.
pub fn commit(db: &Db, executed: Executed) -> Result<Done> {
    let Executed {
        block,
        done,
        started,
        txs_from,
    } = executed;
    db.commit_block(&block)?;
    tracing::info!(
        height = block.height,
        txs = block.txs.len(),
        root = %done.executed.state_root,
        apply_ms = started.elapsed().as_millis() as u64,
        %txs_from,
        "finalized"
    );
    Ok(done)
}

/// Executes a finalized block and commits it, on the caller's thread: [`execute`] then
/// [`commit`]. Public for the executor bench (`benches/execute_commit.rs`), which times
/// the two on a real database.
pub fn execute_and_commit(db: &Db, job: Job) -> Result<Done> {
    commit(db, execute(db, job)?)
}

/// Executes `job` over `last` (the block before, if its write may not have landed yet).
fn execute_over(db: &Db, last: Option<&CommitBlock>, job: Job) -> Result<Executed> {
    match last {
        Some(top) => {
            let layered = Layered::new(db, &top.changes)
                .map_err(|e| anyhow!("executing block {}: {e}", job.block.block.height))?;
            execute(&layered, job)
        }
        None => execute(db, job),
    }
}

/// The validator set a block's receipts leave the ledger with, if they change it: the
/// last change counts (two changes in one block must not hand consensus to the
/// intermediate set).
fn last_set_change(receipts: &[Receipt]) -> Option<Vec<LedgerValidator>> {
    receipts
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok())
        .flatten()
        .filter_map(|e| match e {
            Event::ValidatorSetChanged { validators } => Some(validators.clone()),
            _ => None,
        })
        .next_back()
}

/// The job of chain `chain_id`'s block at `ctx` listing `txs`, with a genesis certificate
/// that nothing here looks at: what the executor's tests and bench hand over (execution
/// and the commit read only the block's height, time and transactions).
pub fn job_at(chain_id: &str, ctx: &BlockContext, txs: Vec<VerifiedTransaction>) -> Job {
    let genesis = QuorumCert::genesis(Hash::ZERO);
    let block = Block {
        chain_id: chain_id.into(),
        epoch: 0,
        height: ctx.height,
        round: ctx.height,
        parent: Hash::ZERO,
        justify: genesis.clone(),
        proposer: 0,
        timestamp_ms: ctx.time_ms,
        payload: Vec::new(),
        reconfig: None,
        executed: ExecutionCommit::genesis(Hash::ZERO),
    };
    Job {
        block: FinalizedBlock {
            block,
            cert: CommitCertificate { qc: genesis },
        },
        txs,
        txs_from: TxsFrom::Decoded,
    }
}

#[cfg(test)]
mod tests {
    use lianrong_contracts::model::Params;
    use lianrong_contracts::testkit::{self, World};

    use super::*;

    /// A node database holding the testkit's genesis ledger.
    fn genesis_db() -> (tempfile::TempDir, Arc<Db>) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("db"), testkit::CHAIN_ID).unwrap();
        let changes = testkit::genesis(Params::default()).changes(&db).unwrap();
        db.apply_genesis(&changes).unwrap();
        (dir, Arc::new(db))
    }

    /// Hands every block `w` executed to `executor`, in order.
    async fn push_log(executor: &Executor, w: &World) {
        for (ctx, txs, _) in &w.log {
            executor
                .push(job_at(testkit::CHAIN_ID, ctx, txs.clone()))
                .await
                .unwrap();
        }
    }

    /// Blocks handed over one after another come back in order, each with the roots the
    /// contracts compute for the same blocks in memory, stored, and announced to clients.
    #[tokio::test]
    async fn blocks_come_back_in_order_with_their_roots_stored_and_announced() {
        let mut w = World::new();
        w.delivered_order("CORE-A", "SUP-1", "50000.00");
        assert!(w.log.len() >= 3, "a few blocks to pipeline");
        let (_dir, db) = genesis_db();
        let (mut executor, mut done) = Executor::start(db.clone()).unwrap();
        push_log(&executor, &w).await;
        for (ctx, txs, root) in &w.log {
            let d = done.recv().await.unwrap().unwrap();
            assert_eq!(d.executed.height, ctx.height);
            assert_eq!(d.executed.state_root, *root);
            assert_eq!(d.committed.len(), txs.len());
            assert_eq!(db.execution(ctx.height).unwrap(), Some(d.executed));
            let notice = &d.notice;
            assert_eq!((notice.height, notice.state_root), (ctx.height, *root));
        }
        executor.finish().await;
        assert!(executor
            .push(job_at(testkit::CHAIN_ID, &w.log[0].0, vec![]))
            .await
            .is_err());
    }

    /// The executor's queue is bounded by bytes as well as by count: a block waits for
    /// room while the blocks before it hold it, gets it as soon as one is committed, and
    /// a block larger than the whole room still gets it, alone.
    #[tokio::test]
    async fn the_queue_holds_blocks_up_to_its_bytes_and_a_larger_block_alone() {
        use futures::FutureExt;
        let room = Room::new(10 * ROOM_UNIT);
        let first = room.take(6 * ROOM_UNIT).now_or_never().unwrap().unwrap();
        assert!(
            room.take(6 * ROOM_UNIT).now_or_never().is_none(),
            "12 KiB do not fit in 10"
        );
        let small = room.take(4 * ROOM_UNIT).now_or_never().unwrap().unwrap();
        drop(first);
        let waiting = room.take(6 * ROOM_UNIT).now_or_never().unwrap().unwrap();
        drop((small, waiting));
        let huge = room.take(1 << 30).now_or_never().unwrap().unwrap();
        assert!(
            room.take(1).now_or_never().is_none(),
            "the huge block runs alone"
        );
        drop(huge);
        assert!(room.take(1).now_or_never().is_some());

        // What a job is charged: its payload, and its transactions decoded.
        let mut w = World::new();
        w.delivered_order("CORE-A", "SUP-1", "50000.00");
        let (ctx, txs, _) = w.log.last().unwrap().clone();
        let tx_bytes: usize = txs.iter().map(|t| t.bytes().len()).sum();
        let mut job = job_at(testkit::CHAIN_ID, &ctx, txs);
        job.block.block.payload = vec![0; 1000];
        assert_eq!(job_bytes(&job), 1000 + 3 * tx_bytes);
    }

    /// A block executed over the block before it, whose write has not landed, has the
    /// roots the contracts compute for it after that block; both then commit in order.
    /// Over a block that is not the one before (the database two behind), execution is
    /// refused, naming the block.
    #[test]
    fn a_block_executes_over_the_one_before_while_that_one_is_unwritten() {
        let mut w = World::new();
        w.delivered_order("CORE-A", "SUP-1", "50000.00");
        let (_dir, db) = genesis_db();
        let job = |i: usize| job_at(testkit::CHAIN_ID, &w.log[i].0, w.log[i].1.clone());
        let first = execute(&*db, job(0)).unwrap();
        let second = execute_over(&db, Some(&first.block), job(1)).unwrap();
        assert_eq!(second.done.executed.state_root, w.log[1].2);
        let third = execute_over(&db, Some(&second.block), job(2));
        let refused = third.err().unwrap().to_string();
        assert!(refused.contains("executing block 3"), "{refused}");
        commit(&db, first).unwrap();
        let done = commit(&db, second).unwrap();
        assert_eq!(db.execution(2).unwrap(), Some(done.executed));
    }

    /// A block that cannot execute after blocks the writer is still writing: those are
    /// committed and come back first, then the error, and nothing after it.
    #[tokio::test]
    async fn a_failing_block_after_others_comes_back_after_they_are_committed() {
        let mut w = World::new();
        w.delivered_order("CORE-A", "SUP-1", "50000.00");
        let (_dir, db) = genesis_db();
        let (executor, mut done) = Executor::start(db.clone()).unwrap();
        let bad = BlockContext {
            height: 10,
            time_ms: w.log[1].0.time_ms,
        };
        for (ctx, txs) in [
            (w.log[0].0, w.log[0].1.clone()),
            (w.log[1].0, w.log[1].1.clone()),
            (bad, vec![]),
            (w.log[2].0, w.log[2].1.clone()),
        ] {
            executor
                .push(job_at(testkit::CHAIN_ID, &ctx, txs))
                .await
                .ok();
        }
        for (ctx, _, root) in &w.log[..2] {
            let d = done.recv().await.unwrap().unwrap();
            assert_eq!(
                (d.executed.height, d.executed.state_root),
                (ctx.height, *root)
            );
        }
        assert!(done.recv().await.unwrap().is_err());
        assert!(done.recv().await.is_none(), "both threads ended");
        assert_eq!(db.latest().unwrap().map(|(h, _)| h), Some(2));
    }

    /// With room for less than one block, every block still executes, in order.
    #[tokio::test]
    async fn blocks_larger_than_the_room_execute_one_at_a_time() {
        let mut w = World::new();
        w.delivered_order("CORE-A", "SUP-1", "50000.00");
        let (_dir, db) = genesis_db();
        let (mut executor, mut done) = Executor::start_with(db.clone(), 1).unwrap();
        push_log(&executor, &w).await;
        for (ctx, _, root) in &w.log {
            let d = done.recv().await.unwrap().unwrap();
            assert_eq!(
                (d.executed.height, d.executed.state_root),
                (ctx.height, *root)
            );
        }
        executor.finish().await;
    }

    /// A block the database refuses (not the next height) comes back as an error, and the
    /// executor takes nothing more: the node stops rather than run on without state.
    #[tokio::test]
    async fn a_block_that_cannot_be_committed_stops_the_executor() {
        let (_dir, db) = genesis_db();
        let (executor, mut done) = Executor::start(db.clone()).unwrap();
        let ctx = BlockContext {
            height: 5,
            time_ms: testkit::GENESIS_TIME_MS + 1_000,
        };
        executor
            .push(job_at(testkit::CHAIN_ID, &ctx, vec![]))
            .await
            .unwrap();
        assert!(done.recv().await.unwrap().is_err());
        assert!(done.recv().await.is_none(), "the thread ended");
        assert_eq!(db.latest().unwrap().map(|(h, _)| h), Some(0));
    }
}
