//! The executor's step on a real database: executing a finalized block of orders and
//! committing it (`executor::execute` -- contracts, Merkle tree -- and `executor::commit`
//! -- RocksDB batch, synced write), in CPU time per transaction. A node runs the two on
//! two threads, one block apart (the executor and the block writer); here they run one
//! after the other on one thread, each timed, so the figures say which thread bounds a
//! node that has many blocks to execute (a catching-up one).
//!
//! `lianrong bench` measures a whole validator (consensus, HTTP, gossip, signatures); this
//! isolates the part that runs on the executor thread, so a change to execution or storage
//! is compared in seconds, side by side, without four processes sharing two cores.
//!
//! A fixed schedule, so two builds do the same work: 100 blocks of 256 orders to warm up,
//! then 300 measured (`-- N` for N). Figures in CPU time (the machine is shared): the
//! thread's per transaction, executing and committing and each half (median and spread
//! over blocks: robust to the odd slow block), and the whole process's (RocksDB's flush and compaction threads
//! included) over the measured blocks. Not criterion: its iteration counts differ between
//! runs, and here each iteration grows the ledger, so two runs would not measure the same.
//!
//! `cargo bench -p lianrong-node --bench execute_commit [-- BLOCKS]`

// Bench code: a failed unwrap is a failed bench.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lianrong_contracts::exec::BlockContext;
use lianrong_contracts::model::Params;
use lianrong_contracts::testkit::{self, World};
use lianrong_contracts::VerifiedTransaction;
use lianrong_node::cpu;
use lianrong_node::executor::{commit, execute, job_at};
use lianrong_node::runtime::sized_db_options;
use lianrong_node_formats::config::{MempoolSection, DEFAULT_KEEP_VERSIONS};
use lianrong_node_formats::memory::MemorySection;
use lianrong_primitives::{Hash, SecretKey};
use lianrong_storage::Db;

/// The allocator the `lianrong` binary runs validators with: under glibc's malloc,
/// allocation would be another share of the figures than it is in a node.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Orders per block: about what a block holds at 1,000 tx/s offered to `lianrong bench`.
const BLOCK_TXS: usize = 256;
/// Extra member keys per core enterprise: orders come from many keys, as in the bench.
const KEYS_PER_CORE: u32 = 8;
/// Blocks committed before measuring: the tree and RocksDB's levels past their first shape.
const WARMUP_BLOCKS: usize = 100;
/// Blocks measured unless a number is given: ~77,000 orders, about a minute.
const MEASURED_BLOCKS: usize = 300;

/// A node's database (sized by the default memory budget, default pruning window) holding
/// the testkit's ledger, and the signers of the orders.
struct Ledger {
    _dir: tempfile::TempDir,
    db: Db,
    world: World,
    signers: Vec<(&'static str, SecretKey)>,
}

impl Ledger {
    fn new() -> Self {
        let mut world = World::new();
        let signers = world.order_signers(KEYS_PER_CORE);
        let dir = tempfile::tempdir().unwrap();
        let plan = lianrong_node_formats::memory::plan(
            &MemorySection::default(),
            &MempoolSection::default(),
        )
        .unwrap();
        let options = lianrong_storage::DbOptions {
            keep_versions: Some(DEFAULT_KEEP_VERSIONS),
            ..sized_db_options(&plan)
        };
        let db = Db::open_with(dir.path().join("db"), testkit::CHAIN_ID, &options).unwrap();
        let changes = testkit::genesis(Params::default()).changes(&db).unwrap();
        db.apply_genesis(&changes).unwrap();
        let ledger = Self {
            _dir: dir,
            db,
            world,
            signers,
        };
        // The governance blocks that registered the keys, on the database too.
        for (ctx, txs, root) in ledger.world.log.clone() {
            let done = ledger.commit(&ctx, txs);
            assert_eq!(done, root, "the database and the testkit agree");
        }
        ledger
    }

    /// Executes and commits one block; returns its state root.
    fn commit(&self, ctx: &BlockContext, txs: Vec<VerifiedTransaction>) -> Hash {
        self.timed_commit(ctx, txs).0
    }

    /// Executes and commits one block; returns its state root and the thread's CPU
    /// nanoseconds executing and committing it.
    fn timed_commit(&self, ctx: &BlockContext, txs: Vec<VerifiedTransaction>) -> (Hash, u64, u64) {
        let t0 = cpu::thread_ns().unwrap();
        let executed = execute(&self.db, job_at(testkit::CHAIN_ID, ctx, txs)).unwrap();
        let t1 = cpu::thread_ns().unwrap();
        let done = commit(&self.db, executed).unwrap();
        let t2 = cpu::thread_ns().unwrap();
        (done.executed.state_root, t1 - t0, t2 - t1)
    }

    /// The next block of orders, signed round-robin by the signers.
    fn next_orders(&mut self) -> (BlockContext, Vec<VerifiedTransaction>) {
        let (height, _) = self.db.latest().unwrap().unwrap();
        self.world.time_ms += 200;
        let ctx = BlockContext {
            height: height + 1,
            time_ms: self.world.time_ms,
        };
        let txs = self.world.orders(&self.signers, BLOCK_TXS);
        (ctx, txs)
    }
}

/// The figures of one run.
struct Figures {
    /// Thread CPU per transaction of each measured block, nanoseconds, sorted: executing
    /// and committing, executing, committing.
    per_block: [Vec<u64>; 3],
    /// Process CPU over the measured blocks, nanoseconds.
    process: u64,
    txs: usize,
}

/// Commits `warmup` blocks, then measures `blocks` more (signing outside the clocks).
fn run(ledger: &mut Ledger, warmup: usize, blocks: usize) -> Figures {
    for _ in 0..warmup {
        let (ctx, txs) = ledger.next_orders();
        ledger.commit(&ctx, txs);
    }
    let mut per_block: [Vec<u64>; 3] = Default::default();
    let mut process = 0;
    for _ in 0..blocks {
        let (ctx, txs) = ledger.next_orders();
        let p0 = cpu::process_ns().unwrap();
        let (_, executing, committing) = ledger.timed_commit(&ctx, txs);
        process += cpu::process_ns().unwrap() - p0;
        let halves = [executing + committing, executing, committing];
        for (figures, ns) in per_block.iter_mut().zip(halves) {
            figures.push(ns / BLOCK_TXS as u64);
        }
    }
    for figures in &mut per_block {
        figures.sort_unstable();
    }
    Figures {
        per_block,
        process,
        txs: blocks * BLOCK_TXS,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a number among the arguments sets the blocks measured.
    let blocks: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(MEASURED_BLOCKS);
    let mut ledger = Ledger::new();
    // Every order commits: a refused one would be cheaper and measure nothing.
    let (ctx, txs) = ledger.next_orders();
    let hashes: Vec<Hash> = txs.iter().map(VerifiedTransaction::hash).collect();
    ledger.commit(&ctx, txs);
    for h in hashes {
        let receipt = ledger.db.receipt(&h).unwrap().expect("receipt stored");
        assert!(
            receipt.outcome.is_ok(),
            "order refused: {:?}",
            receipt.outcome
        );
    }
    let f = run(&mut ledger, WARMUP_BLOCKS, blocks);
    let pct =
        |i: usize, p: usize| f.per_block[i][(f.per_block[i].len() - 1) * p / 100] as f64 / 1e3;
    let (height, _) = ledger.db.latest().unwrap().unwrap();
    println!(
        "execute_commit: {blocks} blocks of {BLOCK_TXS} orders after {WARMUP_BLOCKS} (height {height})"
    );
    for (i, what) in [
        "executing and committing",
        "  executing (a node's executor thread)",
        "  committing (a node's block writer)",
    ]
    .iter()
    .enumerate()
    {
        println!(
            "  {what}, thread CPU per tx: p10 {:.1} us, median {:.1} us, p90 {:.1} us",
            pct(i, 10),
            pct(i, 50),
            pct(i, 90)
        );
    }
    println!(
        "  process CPU per tx (RocksDB flush and compaction included): {:.1} us",
        f.process as f64 / 1e3 / f.txs as f64
    );
}
