//! `lianrong node`: the event loop that ties the consensus engine, the contract ledger,
//! storage, networking, the mempool and the HTTP API together.
//!
//! One task owns the engine, the mempool and the write side of the database, so there is
//! no locking around consensus state. The order of effects follows the engine's contract:
//! a `Persist` output is synced to disk before any message of the same step leaves the
//! node, so a validator killed at any moment never signs twice in a round.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use lianrong_consensus::{
    decode_message, Engine, EngineConfig, FinalizedBlock, Input, Message, Output, SafetyState,
    Step, Target, TimerId, ValidatorSet,
};
use lianrong_contracts::model::Validator as LedgerValidator;
use lianrong_contracts::state::{keys, load};
use lianrong_contracts::{Envelope, Genesis};
use lianrong_primitives::{Hash, PublicKey, SecretKey};
use tokio::sync::{broadcast, mpsc};

use crate::api::{self, AppState, Command, CommitNotice, NodeStatus};
use crate::backup::admin::AdminSocket;
use crate::clock::LedgerClock;
use crate::config::{load_genesis, validator_set, MemoryPlan, NodeConfig};
use crate::executor::{self, Executor, TxsFrom};
use crate::gossip::{self, Outbox};
use crate::keyfile;
use crate::mempool::{Mempool, MempoolLimits};
use crate::payload;
use crate::precheck::Ahead;
use crate::proposed::Proposed;
use crate::submissions::{self, Gathered, SubmitError};
use crate::sync_io::{self, finalized_at, Decoded, Slots};
use lianrong_network::{NetEvent, NetworkConfig, NetworkHandle, PeerAddr, TxId};
use lianrong_storage::{Db, DbOptions};

/// Heights after which an unfinalized proposal's transactions may be proposed again.
const INFLIGHT_HEIGHTS: u64 = 4;
/// Non-validator peers the engine answers (bounded anyway by the network's allow list).
const MAX_FOLLOWERS: usize = 1024;
/// Heights of executions (besides the latest) a restarted engine is told about: a block
/// certifies a height at most a few below the chain's tip.
const RECENT_EXECUTIONS: u64 = 16;
/// Most gossip chores (publish, verdict) in flight at once.
const MAX_GOSSIP_CHORES: usize = 8192;
/// Most received bundles being verified off the event loop at once; beyond that they
/// are verified on it, which slows the intake down to what the machine can check.
const MAX_VERIFY_JOBS: usize = 4;
/// Gossip messages queued per connection: at most 8 MiB of bundles (64 x 128 KiB), about
/// a second of gossip at a bundle every 15 ms. A heap profile of a saturated validator
/// (2026-12-05) found 34 MB of bundles queued for its peers with 512; a peer that slow
/// gets the transactions it missed in the proposer's block instead.
const GOSSIP_QUEUE: usize = 64;
/// Capacity of the API command queue.
const COMMAND_QUEUE: usize = 4096;
/// Capacity of the timer queue (only the latest timer matters; stale ones are ignored).
const TIMER_QUEUE: usize = 64;
/// Capacity of the commit notice broadcast (slow subscribers skip ahead). Each notice
/// holds its block's receipts and the channel keeps the last this many whoever has read
/// them: 256 held ~50 MiB of receipts on a validator under load (heaptrack, 300-tx
/// blocks), outside the memory budget. 32 is seconds of blocks at full speed; a lagging
/// commit waiter reads its receipt from the store, an event stream gets `lagged` and
/// re-reads the blocks it skipped from `/v1/blocks`.
const NOTICE_QUEUE: usize = 32;
/// Largest payload this node proposes.
const MAX_PROPOSAL_BYTES: usize = lianrong_consensus::MAX_PAYLOAD_BYTES;

/// The database options of `config`: the sizes of its `[memory]` budget, with
/// `[encryption]`'s data key and `[storage]`'s pruning window.
pub fn db_options(config: &NodeConfig) -> Result<DbOptions> {
    Ok(DbOptions {
        encryption: keyfile::data_key(config)?,
        keep_versions: config.storage.keep_versions().map_err(|e| anyhow!(e))?,
        ..sized_db_options(&config.memory_plan()?)
    })
}

/// The database sizes of a memory plan (the rest RocksDB's defaults in `DbOptions`).
pub fn sized_db_options(plan: &MemoryPlan) -> DbOptions {
    DbOptions {
        block_cache_bytes: plan.block_cache_bytes,
        write_buffer_bytes: plan.write_buffer_bytes,
        max_write_buffer_number: i32::try_from(plan.memtable_count).unwrap_or(i32::MAX),
        memtables_bytes: plan.memtables_bytes,
        node_cache_entries: plan.node_cache_entries,
        leaf_cache_entries: plan.leaf_cache_entries,
        state_cache_bytes: plan.state_cache_bytes,
        ..DbOptions::default()
    }
}

/// The mempool bounds of `config`: `[mempool]`'s per-signer bound, the rest from the
/// memory plan (which holds explicit `mempool.max_txs` / `max_bytes` when set).
pub fn mempool_limits(config: &NodeConfig, plan: &MemoryPlan) -> MempoolLimits {
    MempoolLimits {
        max_txs: plan.mempool_max_txs,
        max_per_signer: config.mempool.max_per_signer,
        max_bytes: plan.mempool_max_bytes,
    }
}

/// The sizes of `config`'s `[memory]` budget, logged so an operator sees what it gave.
fn logged_memory_plan(config: &NodeConfig) -> Result<MemoryPlan> {
    let plan = config.memory_plan()?;
    let budget_mib = config.memory.budget_mib;
    tracing::info!(budget_mib, ?plan, "memory budget");
    Ok(plan)
}

/// Opens (or initialises from genesis) the database of `config`.
pub fn open_db(config: &NodeConfig, genesis: &Genesis) -> Result<Db> {
    let db = Db::open_with(
        &config.node.data_dir,
        &genesis.chain_id,
        &db_options(config)?,
    )
    .with_context(|| format!("opening {}", config.node.data_dir.display()))?;
    if db.latest()?.is_none() {
        let changes = genesis.changes(&db)?;
        db.apply_genesis(&changes)?;
    }
    Ok(db)
}

fn last_finalized(db: &Db) -> Result<Option<FinalizedBlock>> {
    let Some((height, _)) = db.latest()? else {
        return Ok(None);
    };
    if height == 0 {
        return Ok(None);
    }
    finalized_at(db, height)?
        .map(Some)
        .ok_or_else(|| anyhow!("block or certificate {height} missing"))
}

/// The status a node reports before its first new block: the stored tip.
fn initial_status(db: &Db, last_block_hash: Option<Hash>) -> Result<NodeStatus> {
    let mut initial = NodeStatus::default();
    if let Some((height, root)) = db.latest()? {
        initial.height = height;
        initial.state_root = Some(root);
        initial.last_block_hash = last_block_hash;
    }
    Ok(initial)
}

/// Says in the log when this node started from a snapshot rather than from genesis.
fn log_snapshot_base(db: &Db) -> Result<()> {
    if let Some(base) = db.snapshot_base()? {
        tracing::info!(
            base,
            "this node started from a snapshot at height {base}: blocks below it were not \
             replayed and are not kept here"
        );
    }
    Ok(())
}

/// Runs a node until `shutdown` resolves. Block time comes from `clock` (the only clock
/// that enters consensus).
pub async fn run(
    config: NodeConfig,
    clock: LedgerClock,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let genesis = load_genesis(&config.node.genesis)?;
    let plan = logged_memory_plan(&config)?;
    let node_key = keyfile::node_key(&config)?;
    let own_key = node_key.public();
    let db = Arc::new(open_db(&config, &genesis)?);
    log_snapshot_base(&db)?;
    let last = last_finalized(&db)?;
    let mut engine = start_engine(&genesis, &db, node_key.clone(), last.as_ref())?;
    let (net, net_events) = lianrong_network::spawn(network_config(&config, &genesis, node_key)?)?;

    let api = start_api(&config, &genesis.chain_id, &db, &plan, last.as_ref()).await?;
    api.metrics.watch_network(net.stats_reader());

    let (timer_tx, timers) = mpsc::channel::<TimerId>(TIMER_QUEUE);
    let (pace_tx, pace) = mpsc::channel::<u64>(TIMER_QUEUE);
    let (verified_tx, verified) = mpsc::channel::<Checked>(MAX_VERIFY_JOBS);
    let (decoded_tx, decoded) = mpsc::channel::<Decoded>(sync_io::DECODE_JOBS);
    let net_events =
        sync_io::decode_ahead(net_events, decoded_tx, Slots::new(sync_io::DECODE_JOBS));
    let (executor, executed) = Executor::start(db.clone())?;
    let back = verified_tx.clone();
    let checker = submissions::Checker::start(genesis.chain_id.clone(), move |c| {
        back.blocking_send(Checked::Submissions(c)).is_ok()
    })
    .context("starting the submissions thread")?;
    let mut node = Loop {
        chain_id: genesis.chain_id.clone(),
        clock,
        db,
        net,
        mempool: Mempool::new(mempool_limits(&config, &plan)),
        max_block_txs: config.mempool.max_block_txs.min(payload::MAX_BLOCK_TXS),
        inflight: HashMap::new(),
        proposed: Proposed::default(),
        admitted_at: HashMap::new(),
        timer_tx,
        pace_tx,
        gossip_chores: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        submitted: Gathered::default(),
        checker,
        nonces: NonceCache::default(),
        verified_tx,
        verify_jobs: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        deferred: None,
        idle_block_delay: Duration::from_millis(config.consensus.idle_block_delay_ms),
        status: api.status,
        metrics: api.metrics,
        validators: genesis.validators.clone(),
        followers: Vec::new(),
        own_key,
        ahead: None,
        serving: Slots::new(sync_io::SERVE_JOBS),
        executor,
        commits: api.commits,
    };
    node.start(&mut engine).await?;
    let inputs = Inputs {
        net_events,
        decoded,
        verified,
        timers,
        commands: api.commands,
        pace,
        executed,
    };
    let result = node.drive(&mut engine, inputs, shutdown).await;
    tracing::info!("node stopping");
    node.executor.finish().await;
    api.task.abort();
    let _ = node.net.shutdown().await;
    result
}

/// The engine as the database left it: the genesis validator set, the stored safety state
/// (votes already cast are never cast again) and the last finalized block.
fn start_engine(
    genesis: &Genesis,
    db: &Db,
    node_key: SecretKey,
    last: Option<&FinalizedBlock>,
) -> Result<Engine> {
    let genesis_set = validator_set(genesis).map_err(|e| anyhow!("genesis validators: {e}"))?;
    let mut ecfg = EngineConfig::new(genesis.chain_id.clone(), genesis_set, node_key);
    ecfg.genesis_time_ms = genesis.genesis_time_ms;
    let safety = match db.load_safety()? {
        Some(bytes) => {
            SafetyState::from_bytes(&bytes).map_err(|e| anyhow!("stored safety state: {e}"))?
        }
        None => SafetyState::genesis(&ecfg),
    };
    Ok(Engine::new(ecfg, safety, last))
}

/// The network settings of `config`: genesis validators and configured full nodes are the
/// only peers allowed in.
fn network_config(
    config: &NodeConfig,
    genesis: &Genesis,
    node_key: SecretKey,
) -> Result<NetworkConfig> {
    let mut allowed: Vec<PublicKey> = genesis.validators.iter().map(|v| v.node_key).collect();
    allowed.extend(config.p2p.full_nodes.iter().copied());
    let peers = config
        .p2p
        .peers
        .iter()
        .map(|p| {
            let addr = p
                .addr
                .parse()
                .map_err(|e| anyhow!("peer address {}: {e}", p.addr))?;
            Ok(PeerAddr { key: p.key, addr })
        })
        .collect::<Result<Vec<_>>>()?;
    let listen = config
        .p2p
        .listen
        .parse()
        .map_err(|e| anyhow!("p2p listen {}: {e}", config.p2p.listen))?;
    let mut net_cfg = NetworkConfig::new(node_key, listen, peers, allowed);
    // Catch-up responses carry several full blocks.
    net_cfg.max_message_bytes = lianrong_consensus::MAX_MESSAGE_BYTES;
    net_cfg.max_tx_bytes = gossip::MAX_BUNDLE_BYTES;
    net_cfg.limits.gossip_queue = GOSSIP_QUEUE;
    Ok(net_cfg)
}

/// The node's metrics with what is known before the first block (the stored height, the
/// mempool's capacity, the memory budget), the data directory's free space kept fresh
/// until they are dropped.
fn start_metrics(config: &NodeConfig, height: u64, max_txs: usize) -> Arc<api::metrics::Metrics> {
    let metrics = Arc::new(api::metrics::Metrics::default());
    metrics
        .height
        .set(i64::try_from(height).unwrap_or(i64::MAX));
    metrics
        .mempool_capacity
        .set(i64::try_from(max_txs).unwrap_or(i64::MAX));
    let budget_bytes = config.memory.budget_mib.saturating_mul(1 << 20);
    metrics
        .memory_budget_bytes
        .set(i64::try_from(budget_bytes).unwrap_or(i64::MAX));
    api::metrics::watch_disk(&metrics, config.node.data_dir.clone());
    metrics
}

/// Binds the API's listen address (an error if taken) and serves it in the background,
/// over HTTPS when the config has `[api.tls]`; and the admin socket `lianrong node
/// backup` talks to (closed when the returned guard drops). A node that cannot make the
/// socket runs on -- backups are not consensus -- and says why in its log.
/// The API, served: what the loop keeps of it.
struct Api {
    /// Transactions submitted, for the loop.
    commands: mpsc::Receiver<Command>,
    /// Committed blocks' notices, sent by the loop.
    commits: broadcast::Sender<Arc<CommitNotice>>,
    /// `/v1/status`, kept by the loop.
    status: Arc<RwLock<NodeStatus>>,
    metrics: Arc<api::metrics::Metrics>,
    task: tokio::task::JoinHandle<()>,
    /// Kept open while the node runs (`lianrong node backup` reaches it there).
    _admin_socket: Option<AdminSocket>,
}

/// Serves the API over `db` (the status starts at the last finalized block, `last`).
async fn start_api(
    config: &NodeConfig,
    chain_id: &str,
    db: &Arc<Db>,
    plan: &MemoryPlan,
    last: Option<&FinalizedBlock>,
) -> Result<Api> {
    let (commands_tx, commands) = mpsc::channel(COMMAND_QUEUE);
    let (commits, _) = broadcast::channel(NOTICE_QUEUE);
    let initial = initial_status(db, last.map(|f| f.block.hash()))?;
    let metrics = start_metrics(config, initial.height, plan.mempool_max_txs);
    metrics.watch_storage(db);
    let status = Arc::new(RwLock::new(initial));
    let app = AppState {
        db: db.clone(),
        chain_id: chain_id.to_string(),
        config: Arc::new(config.clone()),
        commands: commands_tx,
        commits: commits.clone(),
        status: status.clone(),
        metrics: metrics.clone(),
        seen_requests: Arc::default(),
        snapshots: Arc::new(api::snapshot::Exports::new(&config.node.data_dir)),
    };
    api::snapshot::Exports::expire_idle_in_background(&app.snapshots);
    let (task, admin_socket) = serve_api(config, app).await?;
    Ok(Api {
        commands,
        commits,
        status,
        metrics,
        task,
        _admin_socket: admin_socket,
    })
}

async fn serve_api(
    config: &NodeConfig,
    app: AppState,
) -> Result<(tokio::task::JoinHandle<()>, Option<AdminSocket>)> {
    let admin = AdminSocket::serve(app.db.clone(), &config.node.data_dir, &config.node.name)
        .inspect_err(|e| {
            tracing::warn!("no admin socket, so `lianrong node backup` cannot reach this node: {e}")
        })
        .ok();
    Ok((api::https::serve(config, app).await?, admin))
}

/// Everything the loop waits on besides shutdown.
struct Inputs {
    net_events: mpsc::Receiver<NetEvent>,
    decoded: mpsc::Receiver<Decoded>,
    verified: mpsc::Receiver<Checked>,
    timers: mpsc::Receiver<TimerId>,
    commands: mpsc::Receiver<Command>,
    pace: mpsc::Receiver<u64>,
    /// The executor's results, in height order.
    executed: mpsc::UnboundedReceiver<Result<executor::Done>>,
}

struct Loop {
    chain_id: String,
    /// The ledger clock (the only clock; it enters consensus as an input).
    clock: LedgerClock,
    db: Arc<Db>,
    net: NetworkHandle,
    mempool: Mempool,
    max_block_txs: usize,
    /// Proposed but not yet finalized: tx hash -> (signer, nonce, height proposed at).
    inflight: HashMap<Hash, (PublicKey, u64, u64)>,
    /// The last proposals' indexes (where each transaction is in the payload), so that
    /// their blocks are executed without their payloads decoded again.
    proposed: Proposed,
    /// When this node admitted a transaction (for the finality latency metric).
    admitted_at: HashMap<Hash, u64>,
    timer_tx: mpsc::Sender<TimerId>,
    /// Gossip chores running in the background.
    gossip_chores: Arc<std::sync::atomic::AtomicUsize>,
    /// Submissions waiting for their window's signature check (`crate::submissions`).
    submitted: Gathered,
    /// Checks the windows of submissions, in order, on a thread of its own.
    checker: submissions::Checker,
    /// Committed nonces already read.
    nonces: NonceCache,
    /// Where signature checks hand their results back to the loop.
    verified_tx: mpsc::Sender<Checked>,
    /// Verification jobs running.
    verify_jobs: Arc<std::sync::atomic::AtomicUsize>,
    /// Wakes a deferred proposal (carries its round).
    pace_tx: mpsc::Sender<u64>,
    /// A payload request waiting for a transaction.
    deferred: Option<Deferred>,
    idle_block_delay: Duration,
    status: Arc<RwLock<NodeStatus>>,
    metrics: Arc<api::metrics::Metrics>,
    /// The validator set the ledger records (changed by governance).
    validators: Vec<LedgerValidator>,
    /// Allow-listed peers outside the current validator set that sent consensus messages
    /// (full nodes, former validators catching up): the engine knows them by the label
    /// `set size + position` and only ever answers them.
    followers: Vec<PublicKey>,
    /// This node's key (whether it counts itself among the validators it hears).
    own_key: PublicKey,
    /// Signature checks of the blocks the step being carried out finalizes, started
    /// ahead of their execution (`precheck`).
    ahead: Option<Ahead>,
    /// Sync answers being served from the database off the loop (`sync_io`).
    serving: Slots,
    /// Executes and commits finalized blocks beside the loop.
    executor: Executor,
    /// Committed blocks' notices to API subscribers (`/v1/events`, `?wait=commit`).
    commits: broadcast::Sender<Arc<CommitNotice>>,
}

/// A payload request waiting for a transaction.
#[derive(Debug, Clone, Copy)]
struct Deferred {
    round: u64,
    height: u64,
    /// From this on, propose even an empty block.
    idle_until: Instant,
}

/// A received bundle after its signature check.
struct VerifiedBundle {
    from: PublicKey,
    id: TxId,
    /// Its new transactions that verified.
    txs: Vec<lianrong_contracts::VerifiedTransaction>,
    /// Why one of them failed, if one did.
    failure: Option<String>,
}

/// A signature check run off the loop, handed back.
enum Checked {
    /// A received gossip bundle's new transactions.
    Bundle(VerifiedBundle),
    /// The API's submissions of one window.
    Submissions(submissions::Checked),
}

/// What gossip should do with a received bundle.
enum Verdict {
    /// Something new and valid: forward it.
    Valid,
    /// Nothing new (all held already, or stale): drop it quietly.
    Known,
    /// Malformed or a bad transaction: drop it and blame the relaying peer.
    Invalid(String),
}

/// A key's next nonce on the committed ledger (0 for a key that never signed). A read
/// error is the node's own fault and stops it: admitting or proposing on a guessed nonce
/// would fill blocks with transactions the ledger refuses.
fn committed_nonce(db: &Db, key: &PublicKey) -> Result<u64> {
    Ok(load::<u64>(db, &keys::nonce(key))
        .with_context(|| format!("reading the committed nonce of {key}"))?
        .unwrap_or(0))
}

/// Committed nonces the loop has read, so that admitting and proposing do not ask
/// RocksDB for the same keys over and over. Only the loop commits blocks and it forgets
/// every signer of a block right after committing it, so an entry is never stale.
#[derive(Default)]
struct NonceCache {
    known: std::sync::Mutex<HashMap<PublicKey, u64>>,
}

impl NonceCache {
    /// Keys remembered at most (then it starts over).
    const MAX_KEYS: usize = 65_536;

    fn get(&self, db: &Db, key: &PublicKey) -> Result<u64> {
        // A panic elsewhere cannot leave the map half-updated (one operation per lock).
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = known.get(key) {
            return Ok(*n);
        }
        let n = committed_nonce(db, key)?;
        if known.len() >= Self::MAX_KEYS {
            known.clear();
        }
        known.insert(*key, n);
        Ok(n)
    }

    fn forget<'a>(&self, keys: impl IntoIterator<Item = &'a PublicKey>) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        for k in keys {
            known.remove(k);
        }
    }
}

/// The (key, nonce) pairs in proposed-but-unfinalized blocks.
fn pending_nonces(
    inflight: &HashMap<Hash, (PublicKey, u64, u64)>,
) -> std::collections::HashSet<(PublicKey, u64)> {
    inflight.values().map(|(k, n, _)| (*k, *n)).collect()
}

/// The next nonce to propose for a key: after the committed one and after the run of
/// nonces right behind it that sit in unfinalized blocks. Only a contiguous run counts:
/// skipping ahead past a gap (a proposal that never became final) would put a nonce
/// the ledger refuses into the block, and that transaction would be lost.
fn next_nonce(
    nonces: &NonceCache,
    db: &Db,
    pending: &std::collections::HashSet<(PublicKey, u64)>,
    key: &PublicKey,
) -> Result<u64> {
    let mut n = nonces.get(db, key)?;
    while pending.contains(&(*key, n)) {
        n += 1;
    }
    Ok(n)
}

impl Loop {
    /// Starts the engine: the network admits the ledger's validators, the engine learns
    /// what this node already executed and the ledger's current validator set.
    async fn start(&mut self, engine: &mut Engine) -> Result<()> {
        self.admit_ledger_validators().await?;
        let start = engine.handle(self.clock.now_ms(), Input::Start);
        self.carry_out(engine, start).await?;
        self.report_recent_executions(engine).await?;
        if let Some(step) = self.reassert_ledger_set(engine, self.clock.now_ms())? {
            self.carry_out(engine, step).await?;
        }
        Ok(())
    }

    /// Takes inputs one at a time until `shutdown` resolves or a step fails.
    async fn drive(
        &mut self,
        engine: &mut Engine,
        mut inputs: Inputs,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<()> {
        let mut bundle_window =
            tokio::time::interval(Duration::from_millis(gossip::BUNDLE_WINDOW_MS));
        bundle_window.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            // The executor's results first, all that wait: a catching-up node hands it
            // whole verified ranges (up to `2 * MAX_SYNC_BLOCKS` blocks per input) and gets
            // one result per block, so a fair pick among ready inputs let them pile up by
            // hundreds -- the status, metrics and the engine's view of execution minutes
            // behind the blocks actually executed (found with `lianrong bench --catch-up
            // --total 1000000`: the status stood still for 120 s while the node executed).
            while let Ok(done) = inputs.executed.try_recv() {
                self.on_executed(engine, done?).await?;
                self.answer_deferred(engine).await?;
            }
            tokio::select! {
                _ = &mut shutdown => return Ok(()),
                Some(ev) = inputs.net_events.recv() => {
                    // A bundle verified on the loop (all verification jobs busy) may have
                    // brought what a waiting proposal needs.
                    let gossip = matches!(ev, NetEvent::Transaction { .. });
                    self.on_network(engine, ev).await?;
                    if gossip {
                        self.answer_deferred(engine).await?;
                    }
                }
                Some(d) = inputs.decoded.recv() => {
                    self.on_consensus(engine, d.from, d.message).await?;
                }
                done = inputs.executed.recv() => {
                    // Closed only if the executor thread died: nothing would be executed
                    // any more, and the engine would wait for roots forever.
                    let done = done.ok_or_else(|| anyhow!("the executor thread stopped"))?;
                    self.on_executed(engine, done?).await?;
                    // A proposal deferred for want of transactions may now have them
                    // (the block's own are gone from the mempool, others' nonces freed).
                    self.answer_deferred(engine).await?;
                }
                Some(checked) = inputs.verified.recv() => {
                    self.on_checked(checked)?;
                    self.answer_deferred(engine).await?;
                }
                _ = bundle_window.tick(), if !self.submitted.is_empty() => {
                    self.checker.check(self.submitted.take());
                }
                Some(id) = inputs.timers.recv() => {
                    tracing::debug!(timer = ?id, round = engine.round(), "consensus timer");
                    let out = engine.handle(self.clock.now_ms(), Input::Timer(id));
                    if out.outputs().iter().any(is_timeout_broadcast) {
                        self.metrics.round_timeouts.inc();
                    }
                    self.carry_out(engine, out).await?;
                }
                Some(cmd) = inputs.commands.recv() => {
                    self.on_command(cmd).await?;
                    self.answer_deferred(engine).await?;
                }
                Some(round) = inputs.pace.recv() => {
                    if self.deferred.is_some_and(|d| d.round == round) {
                        self.answer_deferred(engine).await?;
                    }
                }
            }
        }
    }

    fn committed_nonce(&self, key: &PublicKey) -> Result<u64> {
        self.nonces.get(&self.db, key)
    }

    async fn on_command(&mut self, cmd: Command) -> Result<()> {
        match cmd {
            Command::Submit(submission) => {
                if let Some(full) = self.submitted.push(submission) {
                    self.checker.check(full);
                }
            }
        }
        Ok(())
    }

    /// Admits a window's verified submissions, answers each, and gossips the admitted
    /// ones at once as one bundle (they waited their window already).
    fn on_submissions_checked(&mut self, checked: submissions::Checked) -> Result<()> {
        // A window holds at most a bundle's worth (`Gathered`), so this sends one bundle.
        let mut outbox = Outbox::default();
        for (tx, reply) in checked.answer_refused() {
            let next = self.committed_nonce(&tx.tx().signer.key)?;
            let hash = tx.hash();
            let result = self.mempool.admit(tx.clone(), next);
            if result.is_ok() {
                self.admitted_at.insert(hash, self.clock.now_ms());
                if let Some(bundle) = outbox.push(tx) {
                    self.publish(bundle);
                }
            }
            // The submitter may have gone; the transaction stays admitted.
            let _ = reply.send(result.map_err(SubmitError::Admit));
        }
        self.metrics.mempool.set(self.mempool.len() as i64);
        if let Some(bundle) = outbox.take() {
            self.publish(bundle);
        }
        Ok(())
    }

    /// Runs a signature check on a blocking thread (the loop keeps answering consensus
    /// meanwhile) and hands its result back through `verified`; on the loop when
    /// [`MAX_VERIFY_JOBS`] already run, which slows intake to what the machine can check.
    fn check_off_loop(
        &mut self,
        check: impl FnOnce(&str) -> Checked + Send + 'static,
    ) -> Result<()> {
        use std::sync::atomic::Ordering::SeqCst;
        let jobs = self.verify_jobs.clone();
        if jobs.fetch_add(1, SeqCst) >= MAX_VERIFY_JOBS {
            jobs.fetch_sub(1, SeqCst);
            let checked = check(&self.chain_id);
            return self.on_checked(checked);
        }
        let chain_id = self.chain_id.clone();
        let back = self.verified_tx.clone();
        tokio::task::spawn_blocking(move || {
            let checked = check(&chain_id);
            // Waits for room in the (bounded) queue; the loop always drains it.
            let _ = back.blocking_send(checked);
            jobs.fetch_sub(1, SeqCst);
        });
        Ok(())
    }

    /// A signature check's result, on the loop.
    fn on_checked(&mut self, checked: Checked) -> Result<()> {
        match checked {
            Checked::Bundle(bundle) => self.on_verified(bundle),
            Checked::Submissions(s) => self.on_submissions_checked(s),
        }
    }

    async fn on_network(&mut self, engine: &mut Engine, ev: NetEvent) -> Result<()> {
        match ev {
            NetEvent::Consensus { from, bytes } => {
                // (Large ones were decoded ahead, unless every decoding slot was taken.)
                self.on_consensus(engine, from, decode_message(&bytes))
                    .await?;
            }
            NetEvent::Transaction { from, id, bytes } => match gossip::decode(&bytes) {
                Ok(txs) => self.verify_bundle(from, id, txs)?,
                Err(e) => self.judge_bundle(from, id, Verdict::Invalid(e.to_string())),
            },
            NetEvent::PeerConnected(_) | NetEvent::PeerDisconnected(_) => {
                let peers = self.net.connected_peers().await.unwrap_or_default();
                self.metrics.peers.set(peers.len() as i64);
                self.record_quorum(&peers);
                if let Ok(mut s) = self.status.write() {
                    s.peers = peers;
                }
            }
            NetEvent::PeerRefused { peer, reason } => {
                tracing::warn!(%peer, %reason, "refused a peer")
            }
            NetEvent::PeerBanned { peer, reason } => {
                tracing::warn!(%peer, %reason, "banned a misbehaving peer")
            }
            NetEvent::Listening(addr) => tracing::info!(%addr, "p2p listening"),
        }
        Ok(())
    }

    /// A decoded consensus message (or undecodable bytes) from `from`: to the engine,
    /// unless it is a sync request the database answers.
    async fn on_consensus(
        &mut self,
        engine: &mut Engine,
        from: PublicKey,
        decoded: Result<Message, lianrong_primitives::codec::CodecError>,
    ) -> Result<()> {
        let Some(index) = self.label_of(engine, from) else {
            return Ok(());
        };
        match decoded {
            Ok(message) => {
                if let Message::Proposal(p) = &message {
                    self.note_proposed(&p.block.payload, p.block.height);
                }
                if let Message::SyncRequest { from_height } = &message {
                    if self.serve_old_sync(from, *from_height).await? {
                        return Ok(());
                    }
                }
                let input = Input::Message {
                    from: index,
                    message,
                };
                let out = engine.handle(self.clock.now_ms(), input);
                self.carry_out(engine, out).await?;
            }
            Err(e) => {
                self.metrics.rejected_messages.inc();
                let _ = self
                    .net
                    .penalize(from, format!("undecodable consensus message: {e}"))
                    .await;
            }
        }
        Ok(())
    }

    /// Gossips a bundle. Best effort: with no peer yet, its transactions still reach a
    /// block when this node leads.
    fn publish(&self, bundle: Vec<u8>) {
        let net = self.net.clone();
        self.background(async move {
            if let Err(e) = net.publish_tx(bundle).await {
                tracing::debug!(error = %e, "transaction bundle not gossiped");
            }
        });
    }

    /// Checks the signatures of a received bundle's new transactions
    /// ([`Self::check_off_loop`]).
    fn verify_bundle(&mut self, from: PublicKey, id: TxId, txs: Vec<Envelope>) -> Result<()> {
        // Transactions already held were verified when they arrived (the same hash: the
        // same canonical bytes); those execution would refuse (unknown or revoked key,
        // used nonce) are not worth a signature check.
        let fresh: Vec<Envelope> = txs
            .into_iter()
            .filter(|t| !self.mempool.contains(&t.hash()))
            .collect();
        let (fresh, left_out) =
            crate::admission::admissible(self.db.as_ref(), fresh, |t| &t.signed().tx)
                .context("checking gossiped transactions against committed state")?;
        self.metrics.rejected_txs.inc_by(left_out as u64);
        if fresh.is_empty() {
            self.judge_bundle(from, id, Verdict::Known);
            return Ok(());
        }
        self.check_off_loop(move |chain_id| {
            let (txs, failure) = gossip::verify(fresh, chain_id);
            Checked::Bundle(VerifiedBundle {
                from,
                id,
                txs,
                failure: failure.map(|e| e.to_string()),
            })
        })
    }

    /// Admits a verified bundle's transactions and tells gossip whether to forward it.
    fn on_verified(&mut self, bundle: VerifiedBundle) -> Result<()> {
        let mut admitted = false;
        for tx in bundle.txs {
            let next = self.committed_nonce(&tx.tx().signer.key)?;
            admitted |= self.mempool.admit(tx, next).is_ok();
        }
        self.metrics.mempool.set(self.mempool.len() as i64);
        let verdict = match bundle.failure {
            Some(reason) => Verdict::Invalid(reason),
            None if admitted => Verdict::Valid,
            // Duplicates or stale nonces are honest gossip, not misbehaviour.
            None => Verdict::Known,
        };
        self.judge_bundle(bundle.from, bundle.id, verdict);
        Ok(())
    }

    /// Reports the verdict on a bundle to gossip: forward it, drop it, or drop it and
    /// blame the peer that relayed it.
    fn judge_bundle(&self, from: PublicKey, id: TxId, verdict: Verdict) {
        if let Verdict::Invalid(reason) = &verdict {
            tracing::debug!(peer = %from, %reason, "invalid gossiped transaction bundle");
        }
        let net = self.net.clone();
        self.background(async move {
            let _ = match verdict {
                Verdict::Valid => net.report_tx(id, from, true).await,
                Verdict::Known => net.ignore_tx(id, from).await,
                Verdict::Invalid(_) => net.report_tx(id, from, false).await,
            };
        });
    }

    /// Carries out an engine step: its safety state durable first (`Step::persist`), its
    /// outputs in order, an epoch switch's state last. Payload answers and validator-set
    /// changes feed back into the engine as further steps, carried out after this one.
    async fn carry_out(&mut self, engine: &mut Engine, step: Step) -> Result<()> {
        // A handle of its own, so acting on outputs may borrow the loop mutably.
        let db = self.db.clone();
        let mut store: &Db = &db;
        let mut steps = VecDeque::from([step]);
        // Each feedback input is answered by a bounded number of outputs; this bound only
        // guards against a bug turning into a livelock.
        let mut budget = 100_000usize;
        while let Some(step) = steps.pop_front() {
            self.ahead = Ahead::start(&step, &self.chain_id);
            let mut released = step.persist(&mut store)?;
            while let Some(out) = released.next() {
                budget = budget
                    .checked_sub(1)
                    .ok_or_else(|| anyhow!("engine outputs did not drain"))?;
                steps.extend(self.act(engine, out).await?);
            }
            released.finish(&mut store)?;
        }
        self.ahead = None;
        Ok(())
    }

    /// Keeps equivocation evidence (stored once, bounded), counts and logs it.
    fn keep_evidence(&self, e: &lianrong_consensus::Evidence) -> Result<()> {
        self.metrics.equivocations.inc();
        let recorded = self.db.record_evidence(e)?;
        tracing::warn!(
            offender = e.offender(),
            epoch = e.epoch(),
            ?recorded,
            "validator equivocation evidence"
        );
        Ok(())
    }

    /// The engine's name for a peer: its index in the current set, or a follower label
    /// above it (`None` once [`MAX_FOLLOWERS`] are known: the peer is ignored).
    fn label_of(&mut self, engine: &Engine, key: PublicKey) -> Option<u16> {
        if let Some(i) = engine.validators().index_of(&key) {
            return Some(i);
        }
        let n = engine.validators().len();
        let pos = match self.followers.iter().position(|k| *k == key) {
            Some(p) => p,
            None if self.followers.len() < MAX_FOLLOWERS => {
                self.followers.push(key);
                self.followers.len() - 1
            }
            None => return None,
        };
        u16::try_from(n + pos).ok()
    }

    /// The peer behind an engine label (see [`Loop::label_of`]).
    fn key_of_label(&self, engine: &Engine, label: u16) -> Option<PublicKey> {
        let n = engine.validators().len();
        match usize::from(label).checked_sub(n) {
            None => engine.validators().key(label).copied(),
            Some(pos) => self.followers.get(pos).copied(),
        }
    }

    /// Lets the validators the ledger records into the network (and dials them at their
    /// recorded address): the allow list follows the certified set, so a validator added
    /// by governance is heard. Former validators stay allowed, to catch up.
    async fn admit_ledger_validators(&mut self) -> Result<()> {
        if let Some(v) = load::<Vec<LedgerValidator>>(self.db.as_ref(), keys::VALIDATORS)? {
            self.validators = v;
        }
        self.record_quorum(&self.status_peers());
        let peers = self
            .validators
            .iter()
            .map(|v| {
                let addr = v.address.parse().ok();
                if addr.is_none() {
                    tracing::warn!(node_key = %v.node_key, address = %v.address,
                        "validator address is not a multiaddr; waiting for it to dial us");
                }
                (v.node_key, addr)
            })
            .collect();
        self.net
            .admit(peers)
            .await
            .map_err(|e| anyhow!("admitting the ledger's validators: {e}"))
    }

    /// The peers connected when the network last said.
    fn status_peers(&self) -> Vec<PublicKey> {
        self.status
            .read()
            .map(|s| s.peers.clone())
            .unwrap_or_default()
    }

    /// The quorum metrics for the ledger's validator set and the peers connected now.
    fn record_quorum(&self, peers: &[PublicKey]) {
        let in_set = |k: &PublicKey| self.validators.iter().any(|v| v.node_key == *k);
        let heard = peers.iter().filter(|k| in_set(k)).count() + usize::from(in_set(&self.own_key));
        let quorum = consensus_set(&self.validators).map_or(0, |set| set.quorum());
        self.metrics.quorum.set(quorum as i64);
        self.metrics.validators_reachable.set(heard as i64);
    }

    /// Tells the engine the ledger's validator set again when its epoch does not have it;
    /// idempotent. Needed after a restart (the engine does not keep a change decided but
    /// not yet in force) and after an epoch switch: a change decided while the
    /// reconfiguration block of an earlier one was already on its way is not in that
    /// block, and the engine drops its pending change when the block's set takes over.
    fn reassert_ledger_set(&self, engine: &mut Engine, now: u64) -> Result<Option<Step>> {
        let set = consensus_set(&self.validators)?;
        if engine.validators() == &set {
            return Ok(None);
        }
        tracing::info!(
            epoch = engine.current_epoch(),
            epoch_validators = engine.validators().len(),
            ledger_validators = set.len(),
            "the ledger's validator set is not the epoch's yet: handing it to consensus"
        );
        Ok(Some(engine.handle(now, Input::ValidatorSetChange(set))))
    }

    /// Tells a (re)started engine what this node's application executed for the last
    /// few heights, so it can check the states the next blocks certify.
    async fn report_recent_executions(&mut self, engine: &mut Engine) -> Result<()> {
        let Some((latest, _)) = self.db.latest()? else {
            return Ok(());
        };
        // A node started from a snapshot executed nothing below it.
        let first = self.db.snapshot_base()?.unwrap_or(0);
        for height in latest.saturating_sub(RECENT_EXECUTIONS).max(first)..=latest {
            let commit = self
                .db
                .execution(height)?
                .ok_or_else(|| anyhow!("no execution commit stored for height {height}"))?;
            let step = engine.handle(self.clock.now_ms(), Input::Executed(commit));
            self.carry_out(engine, step).await?;
        }
        Ok(())
    }

    /// A finalized block certified a state this node did not compute: the engine has
    /// stopped; say so everywhere an operator looks.
    fn on_divergence(&self, d: &lianrong_consensus::Divergence) {
        self.metrics.divergence.set(1);
        tracing::error!(
            height = d.certified.height,
            certified_state_root = %d.certified.state_root,
            our_state_root = %d.ours.state_root,
            certified_results_root = %d.certified.results_root,
            our_results_root = %d.ours.results_root,
            block = d.block.height,
            "STATE DIVERGENCE: a finalized block certifies a state this node's execution did \
             not produce; consensus stopped on this node"
        );
        if let Ok(mut s) = self.status.write() {
            s.divergence = Some(*d);
        }
    }

    /// Acts on one engine output; returns the engine's answers to any inputs it fed back.
    async fn act(&mut self, engine: &mut Engine, out: Output) -> Result<Vec<Step>> {
        match out {
            Output::Send { to, message } => {
                if let Message::SyncRequest { from_height } = &message {
                    tracing::debug!(from_height, ?to, "sync request");
                }
                let bytes = message.to_bytes();
                match to {
                    // Best effort: consensus re-sends on its own timeouts.
                    Target::All => {
                        let _ = self.net.broadcast(bytes).await;
                    }
                    Target::One(i) => {
                        if let Some(key) = self.key_of_label(engine, i) {
                            let _ = self.net.send(key, bytes).await;
                        }
                    }
                }
            }
            Output::SetTimer { id, after_ms } => {
                let tx = self.timer_tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(after_ms)).await;
                    let _ = tx.send(id).await;
                });
            }
            Output::RequestPayload { round, height } => match self.propose(height, false)? {
                Some(payload) => {
                    let input = Input::Payload { round, payload };
                    return Ok(vec![engine.handle(self.clock.now_ms(), input)]);
                }
                None => self.defer_proposal(round, height),
            },
            Output::Finalized(fb) => {
                let checked = match self.ahead.as_mut() {
                    Some(ahead) => ahead.take(fb.block.height).await,
                    None => None,
                };
                // Executed beside the loop: its roots come back as `Input::Executed`
                // (`on_executed`); blocks certify them a block later (EXECUTION_LAG).
                self.execute(fb, checked).await?;
            }
            Output::Diverged(d) => self.on_divergence(&d),
            Output::Evidence(e) => self.keep_evidence(&e)?,
            Output::Rejected { from, reason } => {
                self.metrics.rejected_messages.inc();
                tracing::debug!(from, %reason, "consensus message refused");
            }
        }
        Ok(Vec::new())
    }

    /// Runs a gossip chore (publish, verdict) without making the event loop wait for
    /// the network task's answer: consensus messages must not queue behind
    /// transaction gossip. At most `MAX_GOSSIP_CHORES` run at once; beyond that the
    /// chore is dropped (an unforwarded transaction still reaches a block through the
    /// node that holds it, and an unreported gossip message expires in gossipsub).
    fn background(&self, chore: impl std::future::Future<Output = ()> + Send + 'static) {
        let running = self.gossip_chores.clone();
        if running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= MAX_GOSSIP_CHORES {
            running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            self.metrics.dropped_gossip.inc();
            return;
        }
        tokio::spawn(async move {
            chore.await;
            running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        });
    }

    /// Answers a sync request from the database rather than the engine: the engine
    /// remembers only its last few finalized blocks (at most `RECENT_FINALIZED_BYTES`
    /// of payload; after a restart only the last one), the database every block since genesis, so a peer down for hours
    /// still catches up. Off the loop when a serving slot is free (`sync_io`), else
    /// here. Returns whether the request was answered here or is being answered.
    async fn serve_old_sync(&mut self, from: PublicKey, from_height: u64) -> Result<bool> {
        if !sync_io::has_height(&self.db, from_height)? {
            return Ok(false);
        }
        if let Some(slot) = self.serving.try_take() {
            sync_io::serve_off_loop(self.db.clone(), self.net.clone(), from, from_height, slot);
            return Ok(true);
        }
        match sync_io::answer_bytes(&self.db, &from, from_height)? {
            Some(bytes) => {
                let _ = self.net.send(from, bytes).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Marks the transactions of another leader's proposal as in flight, so that the
    /// next leaders do not propose them again while that block becomes final (a second
    /// copy would only fail its nonce check and waste the block's space).
    ///
    /// Decodes the payload once, and keeps where each transaction is in it: when the
    /// block is finalized it is executed from the mempool's copies, decoding only those
    /// the mempool does not hold by then (`proposed`, `txs_by_index`).
    fn note_proposed(&mut self, payload_bytes: &[u8], height: u64) {
        // The list every node would execute (none if the payload is not one). Only
        // transactions this node knows (and so verified) count; a faulty leader cannot
        // hold back others' transactions with invented ones.
        let mempool = &self.mempool;
        let listed = payload::index(payload_bytes, MAX_PROPOSAL_BYTES, |t, own| {
            mempool
                .get_same(&t.tx.signer.key, t.tx.nonce, own)
                .is_some()
        });
        for l in &listed {
            let own = payload_bytes.get(l.at.clone()).unwrap_or_default();
            if let Some(v) = mempool.get_same(&l.signer, l.nonce, own) {
                self.inflight.insert(v.hash(), (l.signer, l.nonce, height));
            }
        }
        self.proposed.note(height, payload_bytes, listed);
    }

    /// Nothing to propose yet: wait for a transaction, or until the idle delay ends.
    fn defer_proposal(&mut self, round: u64, height: u64) {
        let idle_until = Instant::now() + self.idle_block_delay;
        self.deferred = Some(Deferred {
            round,
            height,
            idle_until,
        });
        let tx = self.pace_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(idle_until.into()).await;
            let _ = tx.send(round).await;
        });
    }

    /// Answers a deferred payload request: with whatever waits, or with an empty block
    /// once the idle delay ended.
    async fn answer_deferred(&mut self, engine: &mut Engine) -> Result<()> {
        let Some(Deferred {
            round,
            height,
            idle_until,
        }) = self.deferred
        else {
            return Ok(());
        };
        if round != engine.round() {
            // The round moved on (timeout); the engine no longer wants this payload.
            self.deferred = None;
            return Ok(());
        }
        if let Some(bytes) = self.propose(height, Instant::now() >= idle_until)? {
            self.deferred = None;
            let out = engine.handle(
                self.clock.now_ms(),
                Input::Payload {
                    round,
                    payload: bytes,
                },
            );
            self.carry_out(engine, out).await?;
        }
        Ok(())
    }

    /// The payload for a proposal at `height`, or `None` when there is nothing to
    /// propose and nothing waits for finality (then an empty block can wait), unless
    /// `force`.
    fn propose(&mut self, height: u64, force: bool) -> Result<Option<Vec<u8>>> {
        let (db, nonces) = (&self.db, &self.nonces);
        let pending = pending_nonces(&self.inflight);
        let txs = self.mempool.proposal(
            // After the committed nonce and after anything in a block that is proposed
            // but not final yet (by this node or another leader).
            |k| next_nonce(nonces, db, &pending, k),
            self.max_block_txs,
            MAX_PROPOSAL_BYTES - 1024,
        )?;
        for t in &txs {
            self.inflight
                .insert(t.hash(), (t.tx().signer.key, t.tx().nonce, height));
        }
        Ok(if !txs.is_empty() {
            let (bytes, listed) = payload::encode_indexed(&txs);
            self.proposed.note(height, &bytes, listed);
            Some(bytes)
        } else if force || !self.inflight.is_empty() {
            // Blocks carrying transactions need successors to become final: keep the
            // chain moving. Not for a mempool that holds only what cannot be proposed
            // (transactions behind a nonce gap nobody fills): leaders proposed empty
            // blocks back to back for it, hundreds a second for as long as the gap
            // stayed open (found with `lianrong bench --total N --catch-up`); those wait
            // for the idle delay like an empty mempool.
            Some(Vec::new())
        } else {
            None
        })
    }

    /// Hands a finalized block to the executor with its transactions: `checked`, if
    /// their signatures were checked ahead (`precheck`); else from the proposal's index
    /// (`proposed`): the mempool's copies, and only the others decoded and checked here;
    /// else the payload decoded, the mempool's copies standing in for those it holds and
    /// the rest checked here.
    async fn execute(
        &mut self,
        fb: FinalizedBlock,
        checked: Option<Vec<lianrong_contracts::VerifiedTransaction>>,
    ) -> Result<()> {
        let (txs, txs_from) = match checked {
            Some(txs) => (txs, TxsFrom::Ahead),
            None => match self.txs_by_index(&fb) {
                Some(txs) => (txs, TxsFrom::Indexed),
                None => {
                    let mempool = &self.mempool;
                    let txs = payload::decode_with(
                        &fb.block.payload,
                        &self.chain_id,
                        lianrong_consensus::MAX_PAYLOAD_BYTES,
                        |t, own| mempool.get_same(&t.tx.signer.key, t.tx.nonce, own).cloned(),
                    );
                    (txs, TxsFrom::Decoded)
                }
            },
        };
        let job = executor::Job {
            block: fb,
            txs,
            txs_from,
        };
        self.executor.push(job).await
    }

    /// The transactions of `fb` without decoding its payload whole, when its proposal
    /// was indexed (`note_proposed`, `propose`): the mempool's copies where it holds a
    /// transaction with exactly the bytes at a listed place, the others decoded from
    /// their places and checked (`payload::decode_indexed`: what decoding it gives).
    fn txs_by_index(
        &mut self,
        fb: &FinalizedBlock,
    ) -> Option<Vec<lianrong_contracts::VerifiedTransaction>> {
        let payload = &fb.block.payload;
        let listed = self.proposed.take(fb.block.height, payload)?;
        let mempool = &self.mempool;
        payload::decode_indexed(payload, &self.chain_id, &listed, |l, own| {
            mempool.get_same(&l.signer, l.nonce, own).cloned()
        })
    }

    /// What the executor did with a block: the mempool and the status learn of it, then
    /// the engine gets the block's validator-set change (if it made one) and its roots.
    async fn on_executed(&mut self, engine: &mut Engine, done: executor::Done) -> Result<()> {
        self.forget_committed(done.executed.height, &done.committed)?;
        self.record_finalized(
            done.executed.height,
            done.block_hash,
            done.executed.state_root,
            done.committed.len(),
        );
        // Only now that `/v1/status` says so: a client told of the block reads a status
        // of at least its height. No subscriber is no error.
        let _ = self.commits.send(done.notice.clone());
        if let Ok(mut s) = self.status.write() {
            s.round = engine.round();
        }
        let now = self.clock.now_ms();
        if let Some(validators) = done.set_change {
            let set = consensus_set(&validators)?;
            self.validators = validators;
            self.record_quorum(&self.status_peers());
            let step = engine.handle(now, Input::ValidatorSetChange(set));
            self.carry_out(engine, step).await?;
            self.admit_ledger_validators().await?;
        } else if done.reconfig {
            if let Some(step) = self.reassert_ledger_set(engine, now)? {
                self.carry_out(engine, step).await?;
            }
        }
        let step = engine.handle(now, Input::Executed(done.executed));
        self.carry_out(engine, step).await
    }

    /// Metrics and `/v1/status` after a committed block.
    fn record_finalized(&self, height: u64, block_hash: Hash, root: Hash, txs: usize) {
        self.metrics.height.set(height as i64);
        self.metrics.committed_txs.inc_by(txs as u64);
        self.metrics.mempool.set(self.mempool.len() as i64);
        if let Ok(mut s) = self.status.write() {
            s.height = height;
            s.last_block_hash = Some(block_hash);
            s.state_root = Some(root);
            s.last_finalized_at_ms = self.clock.now_ms();
            s.mempool = self.mempool.len();
        }
    }

    /// Drops what a committed block settled: its transactions from the mempool and the
    /// in-flight set (stale entries too), their nonces from the cache; records finality.
    fn forget_committed(&mut self, height: u64, committed: &[(Hash, PublicKey)]) -> Result<()> {
        self.nonces.forget(committed.iter().map(|(_, k)| k));
        let (db, nonces) = (&self.db, &self.nonces);
        self.mempool.prune(committed, |k| nonces.get(db, k))?;
        for (h, _) in committed {
            self.inflight.remove(h);
            if let Some(at) = self.admitted_at.remove(h) {
                self.metrics
                    .finality_seconds
                    .observe(self.clock.now_ms().saturating_sub(at) as f64 / 1000.0);
            }
        }
        self.inflight
            .retain(|_, (_, _, at)| *at + INFLIGHT_HEIGHTS > height);
        // Bound the latency bookkeeping: entries for transactions that never made it.
        if self.admitted_at.len() > 100_000 {
            self.admitted_at.clear();
        }
        Ok(())
    }
}

/// The engine giving up on a round: its timeout message goes out.
fn is_timeout_broadcast(o: &Output) -> bool {
    matches!(
        o,
        Output::Send {
            message: Message::Timeout(_),
            ..
        }
    )
}

/// The consensus view of the ledger's validator list.
fn consensus_set(validators: &[LedgerValidator]) -> Result<ValidatorSet> {
    lianrong_api_types::consensus_set(validators).map_err(|e| anyhow!("ledger validator set: {e}"))
}

#[cfg(test)]
mod memory_tests {
    use super::*;
    use crate::config::{MemorySection, MempoolSection};
    use std::path::Path;

    fn plan_of(budget_mib: u64) -> MemoryPlan {
        lianrong_node_formats::memory::plan(
            &MemorySection { budget_mib },
            &MempoolSection::default(),
        )
        .unwrap()
    }

    /// Every `key=value` line of the OPTIONS file RocksDB wrote when it opened `dir`.
    fn written_options(dir: &Path, key: &str) -> Vec<String> {
        let file = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("OPTIONS-")
            })
            .max()
            .unwrap();
        let prefix = format!("{key}=");
        std::fs::read_to_string(file)
            .unwrap()
            .lines()
            .filter_map(|l| l.trim().strip_prefix(&prefix).map(str::to_string))
            .collect()
    }

    #[test]
    fn rocksdb_and_the_tree_cache_get_the_sizes_of_the_budget() {
        let root = tempfile::tempdir().unwrap();
        for mib in [64, 192, 1024] {
            let plan = plan_of(mib);
            let dir = root.path().join(mib.to_string());
            let db = Db::open_with(&dir, "c", &sized_db_options(&plan)).unwrap();
            let limits = db.memory_limits().unwrap();
            assert_eq!(limits.block_cache_bytes, plan.block_cache_bytes as u64);
            assert_eq!(limits.memtables_bytes, plan.memtables_bytes);
            assert_eq!(limits.node_cache_entries, plan.node_cache_entries);
            assert_eq!(limits.leaf_cache_entries, plan.leaf_cache_entries);
            assert_eq!(limits.state_cache_bytes, plan.state_cache_bytes);
            // Every column family got the memtable size and count.
            let sizes = written_options(&dir, "write_buffer_size");
            assert!(sizes.len() >= 12, "{sizes:?}");
            assert!(sizes
                .iter()
                .all(|s| *s == plan.write_buffer_bytes.to_string()));
            let counts = written_options(&dir, "max_write_buffer_number");
            assert!(counts.iter().all(|c| *c == plan.memtable_count.to_string()));
            // Index and filter blocks are charged to the block cache, not kept beside it.
            let cached = written_options(&dir, "cache_index_and_filter_blocks");
            assert!(!cached.is_empty() && cached.iter().all(|c| c == "true"));
        }
    }

    #[test]
    fn the_node_sizes_its_database_and_mempool_from_its_config() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../network-configs/local-4/bank/config.toml");
        let mut config = NodeConfig::load(&path).unwrap();
        let plan = config.memory_plan().unwrap();
        assert_eq!(plan, plan_of(192));
        let options = db_options(&config).unwrap();
        assert_eq!(
            DbOptions {
                encryption: None,
                keep_versions: None,
                ..options
            },
            sized_db_options(&plan)
        );
        assert_eq!(options.keep_versions, Some(1024), "the default window");
        let limits = mempool_limits(&config, &plan);
        assert_eq!(limits.max_txs, plan.mempool_max_txs);
        assert_eq!(limits.max_bytes, plan.mempool_max_bytes);
        assert_eq!(limits.max_per_signer, 512);
        // A bigger budget, bigger parts; an override over its share stops the node.
        config.memory.budget_mib = 512;
        assert!(db_options(&config).unwrap().block_cache_bytes > options.block_cache_bytes);
        config.memory.budget_mib = 192;
        config.mempool.max_bytes = Some(1 << 30);
        let err = db_options(&config).unwrap_err().to_string();
        assert!(err.contains("mempool.max_bytes"), "{err}");
        // A pruning window too small to prove certified states stops the node; 0 keeps all.
        config.mempool.max_bytes = None;
        config.storage.keep_versions = 10;
        let err = db_options(&config).unwrap_err().to_string();
        assert!(err.contains("storage.keep_versions 10 is below"), "{err}");
        config.storage.keep_versions = 0;
        assert_eq!(db_options(&config).unwrap().keep_versions, None);
    }
}
