//! A deterministic simulator for the engine, in the style of TigerBeetle's VOPR and
//! commonware's deterministic runtime.
//!
//! One seed fixes everything: the validator count (unless given), the fault mix, every
//! message delay, drop, duplicate and partition, every crash and restart, and what the
//! Byzantine validators do. Time is virtual (milliseconds); nothing reads a real clock,
//! and every map is ordered, so a seed replays exactly.
//!
//! After every event the simulator checks: no two honest validators finalize different
//! blocks at one height; every finalized block has a valid commit certificate; no height
//! is finalized twice (or skipped); no honest validator signs two votes or two proposals
//! for one round (even across restarts); evidence only ever names Byzantine validators;
//! every block an honest validator finalizes certifies exactly the roots the honest
//! application model ([`execute`]) computes for the height it names; no honest engine
//! reports a divergence, and a stopped one sends no vote or proposal; and after the global
//! stabilisation time (GST) every honest validator finalizes a new block within
//! [`SimConfig::liveness_bound_ms`].
//!
//! Every node runs a deterministic application beside its engine: on each `Finalized` it
//! executes the block ([`execute`]) and gives the engine `Input::Executed` with the roots,
//! and after every `Input::Start` it gives its last few commits (genesis before any).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use lianrong_primitives::{hash::sha256_parts, sha256, Hash, SecretKey};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::audit::{AuditError, ChainAuditor};
use crate::engine::{
    Divergence, Engine, EngineConfig, Input, Output, RejectReason, SafetyState, Target, TimerId,
};
use crate::persist::{MemorySafetyStore, SafetyStore, Step};
use crate::types::*;

/// Chain id used by every simulated validator.
pub const CHAIN_ID: &str = "lianrong-sim";

/// Cap on processed events per run; a run that needs more is reported as a failure
/// (it would mean a message storm, itself a bug).
const MAX_EVENTS: u64 = 3_000_000;

/// Execution commits an application hands its engine after `Input::Start` (its last ones;
/// the engine needs at least the last finalized height).
const EXECUTED_ON_START: usize = 8;

/// From this height on a [`ByzKind::DivergentExecutor`]'s application computes other
/// roots than everyone else's.
pub const DIVERGES_AT: u64 = 3;

/// The state root of the genesis state of every simulated application.
pub fn genesis_state_root() -> Hash {
    sha256(b"sim/genesis")
}

/// The simulated application: executing finalized `block` on the state after `prev` (the
/// commit of the height below) gives state root
/// `sha256_parts(["sim/state", prev.state_root, payload_hash(payload)])` and results root
/// `sha256_parts(["sim/results", block hash])`. A `divergent` application (the
/// [`ByzKind::DivergentExecutor`]'s) uses another tag from [`DIVERGES_AT`] on, so its
/// state roots differ from that height on.
pub fn execute(prev: &ExecutionCommit, block: &Block, divergent: bool) -> ExecutionCommit {
    let tag: &[u8] = if divergent && block.height >= DIVERGES_AT {
        b"sim/state/divergent"
    } else {
        b"sim/state"
    };
    ExecutionCommit {
        height: block.height,
        state_root: sha256_parts(&[
            tag,
            prev.state_root.as_bytes(),
            payload_hash(&block.payload).as_bytes(),
        ]),
        results_root: sha256_parts(&[b"sim/results", block.hash().as_bytes()]),
    }
}

/// What a Byzantine validator does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByzKind {
    /// Sends nothing at all.
    Silent,
    /// As leader, sends different blocks to different validators.
    Equivocator,
    /// Votes for every proposal it sees, plus a vote for a made-up block each time.
    DoubleVoter,
    /// Two independent instances sharing one key (each sees part of the traffic).
    Twins,
    /// Corrupts signatures (outer, or inside a certificate and then re-signs).
    BadSignatures,
    /// Sends random bytes and random well-formed but unsigned messages.
    Garbage,
    /// As leader, certifies forged roots in its proposals (state root, results root or
    /// both replaced, the proposal re-signed).
    RootLiar,
    /// A normal engine over an application that computes other state roots from
    /// [`DIVERGES_AT`] on: its engine must report `Diverged` and stop.
    DivergentExecutor,
}

impl ByzKind {
    /// Every behaviour.
    pub const ALL: [ByzKind; 8] = [
        ByzKind::Silent,
        ByzKind::Equivocator,
        ByzKind::DoubleVoter,
        ByzKind::Twins,
        ByzKind::BadSignatures,
        ByzKind::Garbage,
        ByzKind::RootLiar,
        ByzKind::DivergentExecutor,
    ];
}

/// Faults injected into one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultMix {
    /// Before GST: drops, long delays, duplicates and partitions.
    pub network: bool,
    /// Before GST: honest validators crash and restart from their persisted state.
    pub crashes: bool,
    /// One behaviour per Byzantine validator (at most `f`).
    pub byzantine: Vec<ByzKind>,
}

impl std::fmt::Display for FaultMix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "network={} crashes={} byzantine={:?}",
            self.network, self.crashes, self.byzantine
        )
    }
}

/// Parameters of one simulated run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The seed; everything below is derived from it by [`SimConfig::for_seed`].
    pub seed: u64,
    /// Number of validators.
    pub validators: usize,
    /// Injected faults.
    pub faults: FaultMix,
    /// Global stabilisation time: partitions heal, drops stop, delays become bounded.
    pub gst_ms: u64,
    /// How long to keep running after GST.
    pub run_after_gst_ms: u64,
    /// After GST every honest validator must finalize a block at least this often.
    pub liveness_bound_ms: u64,
    /// End the run successfully once every honest validator has finalized this many
    /// blocks after GST (`None`: always run the full duration, as the figures do).
    pub stop_after_blocks: Option<u64>,
    /// Message delay range before GST.
    pub delay_before_gst_ms: (u64, u64),
    /// Message delay range after GST (the synchrony bound Δ is the upper end).
    pub delay_after_gst_ms: (u64, u64),
    /// Payload size range.
    pub payload_bytes: (usize, usize),
    /// Engine base round timeout.
    pub base_timeout_ms: u64,
    /// Engine back-off cap (timeouts grow to `base << this`).
    pub max_backoff_exponent: u32,
    /// Largest clock skew of a validator from virtual time.
    pub max_skew_ms: u64,
    /// One honest validator that is down from the start until GST (a node switched off
    /// for a long time): the others run hundreds of rounds ahead, and after GST it must
    /// catch up within the liveness bound like everyone else.
    pub long_outage: Option<usize>,
    /// When a validator finalizes this height, its application decides a new validator
    /// set (the same keys in reverse order, so every index and leader slot changes).
    pub reconfigure_at: Option<u64>,
    /// How long each validator's application takes to execute a finalized block before it
    /// reports the roots (`Input::Executed`, with any validator-set change the block
    /// decided). 0: at once, in the step that finalized it; above 0 the engine runs on
    /// meanwhile, as a node whose executor runs beside its consensus loop does.
    pub execution_delay_ms: u64,
    /// Quorum used by engines and certificate checks instead of `n - f` (test-only,
    /// the deliberately broken variant).
    #[cfg(test)]
    pub(crate) broken_quorum: Option<usize>,
    /// Drop every `Persist` output instead of storing it (test-only: a node that ignores
    /// the ordering contract), so restarts start from genesis safety state.
    #[cfg(test)]
    pub(crate) forget_persisted_state: bool,
    /// Engines vote for blocks certifying any roots of the right height, without comparing
    /// them with their application's (test-only, the broken variant a root liar exploits).
    #[cfg(test)]
    pub(crate) skip_execution_check: bool,
}

impl SimConfig {
    /// The configuration a seed stands for. `validators` overrides the size (otherwise
    /// 4, 7 or 10 chosen by the seed); the fault mix cycles through six families.
    pub fn for_seed(seed: u64, validators: Option<usize>) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_c0ff_ee00_0000);
        let n = validators
            .unwrap_or([4, 7, 10][((seed / 6) % 3) as usize])
            .max(1);
        let f = (n - 1) / 3;
        let family = seed % 6;
        let (network, crashes, byz) = match family {
            0 => (false, false, 0),
            1 => (true, false, 0),
            2 => (true, true, 0),
            3 => (false, false, f),
            4 => (true, false, f),
            _ => (true, true, f),
        };
        let byz_count = if byz == 0 { 0 } else { rng.gen_range(1..=byz) };
        let one_kind = ByzKind::ALL[rng.gen_range(0..ByzKind::ALL.len())];
        let mixed = rng.gen_bool(0.5);
        let byzantine = (0..byz_count)
            .map(|_| {
                if mixed {
                    ByzKind::ALL[rng.gen_range(0..ByzKind::ALL.len())]
                } else {
                    one_kind
                }
            })
            .collect();
        // Even without network faults GST is where liveness starts to be measured, and the
        // time before it is where Byzantine validators get to act.
        let reconfigure_at = rng.gen_bool(0.35).then(|| rng.gen_range(2..8));
        let gst_ms = if network {
            rng.gen_range(3_000..12_000)
        } else {
            rng.gen_range(1_000..5_000)
        };
        // Drawn last, so every other setting of a seed is what it was before this existed.
        let execution_delay_ms = [0, 0, 5, 30, 100][rng.gen_range(0..5)];
        let base_timeout_ms = 300;
        let max_backoff_exponent = 3;
        // Worst case after GST: rounds whose leader or next leader is faulty fail (at most
        // 2f in a row under round robin), each at the capped timeout, plus re-synchronising
        // rounds and the three good rounds a two-chain commit needs.
        let liveness_bound_ms =
            (3 * f as u64 + 5) * (base_timeout_ms << max_backoff_exponent) + 2_000;
        Self {
            seed,
            validators: n,
            faults: FaultMix {
                network,
                crashes,
                byzantine,
            },
            gst_ms,
            run_after_gst_ms: liveness_bound_ms + 1_000,
            liveness_bound_ms,
            stop_after_blocks: Some(3),
            delay_before_gst_ms: (1, 400),
            delay_after_gst_ms: (1, 40),
            payload_bytes: (0, 512),
            base_timeout_ms,
            max_backoff_exponent,
            max_skew_ms: 50,
            long_outage: None,
            reconfigure_at,
            execution_delay_ms,
            #[cfg(test)]
            broken_quorum: None,
            #[cfg(test)]
            forget_persisted_state: false,
            #[cfg(test)]
            skip_execution_check: false,
        }
    }

    /// A fault-free run with every message taking exactly `delay_ms` (for figures).
    pub fn fault_free(
        seed: u64,
        validators: usize,
        delay_ms: u64,
        payload: usize,
        run_ms: u64,
    ) -> Self {
        let mut c = Self::for_seed(seed, Some(validators));
        c.faults = FaultMix {
            network: false,
            crashes: false,
            byzantine: Vec::new(),
        };
        c.gst_ms = 0;
        c.run_after_gst_ms = run_ms;
        c.stop_after_blocks = None;
        c.delay_after_gst_ms = (delay_ms, delay_ms);
        c.payload_bytes = (payload, payload);
        c.max_skew_ms = 0;
        c.reconfigure_at = None;
        c.execution_delay_ms = 0;
        c.base_timeout_ms = 50 * delay_ms.max(1);
        c
    }
}

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Two honest validators finalized different blocks at one height.
    Agreement {
        /// The height.
        height: u64,
    },
    /// A finalized block without a valid certificate.
    BadCertificate {
        /// Validator.
        node: usize,
        /// Height.
        height: u64,
        /// Why.
        reason: String,
    },
    /// A height finalized twice, skipped, or not extending the previous block.
    NotSequential {
        /// Validator.
        node: usize,
        /// Height finalized.
        height: u64,
    },
    /// An honest validator signed two votes or two proposals for one round.
    HonestEquivocation {
        /// Validator.
        node: usize,
        /// Round.
        round: u64,
    },
    /// Evidence that does not verify or that names an honest validator.
    BadEvidence {
        /// Why.
        reason: String,
    },
    /// An honest validator finalized nothing for too long after GST.
    Liveness {
        /// Validator.
        node: usize,
        /// Virtual time of the check.
        at_ms: u64,
    },
    /// An honest validator finalized a block certifying roots that differ from the honest
    /// application's for the height it names (or an engine whose application is honest
    /// saw a finalized block do so).
    WrongCertifiedState {
        /// Validator.
        node: usize,
        /// Height of the block.
        height: u64,
        /// The executed height it certifies.
        executed: u64,
    },
    /// An engine sent a vote or a proposal after reporting `Diverged`.
    ActedAfterDivergence {
        /// Validator.
        node: usize,
    },
    /// The event budget ran out.
    EventBudget,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// A failed run.
#[derive(Debug, Clone)]
pub struct SimFailure {
    /// Virtual time of detection.
    pub at_ms: u64,
    /// What broke.
    pub violation: Violation,
    /// The fault mix and each validator's state at that moment, for debugging.
    pub detail: String,
}

/// Figures of a passing run.
#[derive(Debug, Clone, Default)]
pub struct SimReport {
    /// Virtual duration.
    pub virtual_ms: u64,
    /// Highest height finalized by any honest validator.
    pub blocks: u64,
    /// Payload bytes in those blocks.
    pub payload_bytes: u64,
    /// Messages sent.
    pub messages: u64,
    /// Evidence items produced by honest validators.
    pub evidence: u64,
    /// Messages refused by honest engines.
    pub rejected: u64,
    /// Undecodable messages dropped before reaching an engine.
    pub undecodable: u64,
    /// Sum of (finalization time - block timestamp) over honest finalizations.
    pub latency_sum_ms: u64,
    /// Number of those finalizations.
    pub latency_count: u64,
    /// Crashes injected.
    pub crashes: u64,
    /// Catch-up batches (finalized blocks with a certificate) sent by honest validators.
    pub sync_responses: u64,
    /// Single certified blocks sent on request by honest validators.
    pub block_responses: u64,
    /// Epoch changes finalized.
    pub epoch_changes: u64,
    /// Blocks committed, by their proposer's seat in the set that proposed them.
    pub committed_by_seat: BTreeMap<u16, u64>,
    /// After a set change: the follower is now a validator and validator 0 is not.
    pub membership_changed: bool,
    /// `Diverged` reports of divergent executors' engines (each then stopped).
    pub divergences_detected: u64,
    /// Blocks honest engines refused because they certify roots their application did not
    /// compute (`RejectReason::WrongExecution`: a root liar's or a divergent executor's).
    pub refused_roots: u64,
}

#[derive(Debug)]
enum EventKind {
    Deliver {
        to: usize,
        from: usize,
        bytes: Vec<u8>,
    },
    Timer {
        node: usize,
        inst: usize,
        id: TimerId,
        incarnation: u64,
    },
    Crash(usize),
    Restart(usize),
    Partition(Option<Vec<bool>>),
    Garbage(usize),
    /// A node's application reports a block it executed (`execution_delay_ms` after it
    /// was finalized), and the validator-set change the block decided, if any.
    Executed {
        node: usize,
        inst: usize,
        incarnation: u64,
        commit: ExecutionCommit,
        set_change: Option<ValidatorSet>,
    },
}

#[derive(Debug)]
struct Event {
    time: u64,
    seq: u64,
    kind: EventKind,
}

impl PartialEq for Event {
    fn eq(&self, o: &Self) -> bool {
        (self.time, self.seq) == (o.time, o.seq)
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Event {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.time, self.seq).cmp(&(o.time, o.seq))
    }
}

struct NodeState {
    byz: Option<ByzKind>,
    engines: Vec<Option<Engine>>,
    persisted: Vec<MemorySafetyStore>,
    incarnation: u64,
    finalized: Vec<FinalizedBlock>,
    /// Per engine instance, its application's commits by height (index 0: genesis); the
    /// application's state survives crashes, as the finalized blocks do.
    apps: Vec<Vec<ExecutionCommit>>,
    /// Per engine instance: reported `Diverged` (and must have stopped).
    stopped: Vec<bool>,
    auditor: ChainAuditor,
    last_progress: u64,
    after_gst: u64,
    epoch: u64,
    skew: i64,
}

impl NodeState {
    /// A node at genesis: its engines (none for a silent validator, two for twins), and
    /// beside each an application in the genesis state.
    fn new(
        byz: Option<ByzKind>,
        cfg: &EngineConfig,
        auditor: ChainAuditor,
        genesis: ExecutionCommit,
        skew: i64,
    ) -> Self {
        let instances = match byz {
            Some(ByzKind::Silent) => 0,
            Some(ByzKind::Twins) => 2,
            _ => 1,
        };
        NodeState {
            byz,
            engines: (0..instances)
                .map(|_| Some(Engine::new(cfg.clone(), SafetyState::genesis(cfg), None)))
                .collect(),
            persisted: vec![MemorySafetyStore::default(); instances],
            incarnation: 0,
            finalized: Vec::new(),
            apps: vec![vec![genesis]; instances],
            stopped: vec![false; instances],
            auditor,
            last_progress: 0,
            after_gst: 0,
            epoch: 0,
            skew,
        }
    }
}

struct Sim<'a> {
    cfg: &'a SimConfig,
    rng: ChaCha8Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<Event>>,
    nodes: Vec<NodeState>,
    keys: Vec<SecretKey>,
    engine_cfgs: Vec<EngineConfig>,
    partition: Option<Vec<bool>>,
    committed: BTreeMap<u64, Hash>,
    /// The honest application's commits along the honest chain, by height (index 0:
    /// genesis), computed once per height.
    reference: Vec<ExecutionCommit>,
    honest_votes: BTreeMap<(u64, usize, u64), VoteData>,
    honest_proposals: BTreeMap<(u64, usize, u64), Hash>,
    epoch_sets: Vec<ValidatorSet>,
    next_set: ValidatorSet,
    key_to_node: BTreeMap<lianrong_primitives::PublicKey, usize>,
    report: SimReport,
}

/// Runs one simulation; `Ok` carries its figures, `Err` the first broken invariant.
pub fn run(cfg: &SimConfig) -> Result<SimReport, SimFailure> {
    let mut sim = Sim::new(cfg);
    match sim.run() {
        Ok(()) => Ok(sim.report),
        Err(violation) => Err(SimFailure {
            at_ms: sim.now,
            violation,
            detail: sim.describe(),
        }),
    }
}

impl<'a> Sim<'a> {
    fn new(cfg: &'a SimConfig) -> Self {
        let n = cfg.validators;
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        // With a set change, one more node starts as a follower and joins the new set.
        let total = n + usize::from(cfg.reconfigure_at.is_some());
        let keys: Vec<SecretKey> = (0..total)
            .map(|i| SecretKey::from_seed(*sha256(&(i as u64).to_le_bytes()).as_bytes()))
            .collect();
        let set = match ValidatorSet::from_keys(
            &keys[..n].iter().map(|k| k.public()).collect::<Vec<_>>(),
        ) {
            Ok(s) => s,
            Err(e) => panic!("simulator keys are distinct by construction: {e}"),
        };
        #[allow(unused_mut)]
        let mut quorum = set.quorum();
        #[cfg(test)]
        if let Some(q) = cfg.broken_quorum {
            quorum = q;
        }
        let engine_cfgs: Vec<EngineConfig> = keys
            .iter()
            .map(|k| {
                let mut c = EngineConfig::new(CHAIN_ID, set.clone(), k.clone());
                c.base_timeout_ms = cfg.base_timeout_ms;
                c.max_backoff_exponent = cfg.max_backoff_exponent;
                c.max_drift_ms = 10 * cfg.max_skew_ms + 100;
                c
            })
            .collect();
        let key_to_node = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.public(), i))
            .collect();
        // The new set drops validator 0, adds the follower, and reverses the order, so
        // membership, every index and every leader slot change at the boundary.
        let reversed: Vec<_> = keys[total - n..].iter().rev().map(|k| k.public()).collect();
        let next_set = match ValidatorSet::from_keys(&reversed) {
            Ok(s) => s,
            Err(e) => panic!("simulator keys are distinct by construction: {e}"),
        };
        // Byzantine validators take random seats so every leader position gets tested.
        let mut seats: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = rng.gen_range(0..=i);
            seats.swap(i, j);
        }
        let mut byz_of = vec![None; total];
        for (k, kind) in cfg.faults.byzantine.iter().enumerate() {
            byz_of[seats[k]] = Some(*kind);
        }
        let mut auditor = ChainAuditor::new(CHAIN_ID, set.clone(), 0);
        if quorum != set.quorum() {
            auditor = auditor.with_quorum(quorum);
        }
        let genesis = ExecutionCommit::genesis(genesis_state_root());
        let nodes = (0..total)
            .map(|i| {
                let skew = if cfg.max_skew_ms == 0 {
                    0
                } else {
                    rng.gen_range(-(cfg.max_skew_ms as i64)..=cfg.max_skew_ms as i64)
                };
                NodeState::new(byz_of[i], &engine_cfgs[i], auditor.clone(), genesis, skew)
            })
            .collect();
        Sim {
            cfg,
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            nodes,
            keys,
            engine_cfgs,
            partition: None,
            committed: BTreeMap::new(),
            reference: vec![genesis],
            honest_votes: BTreeMap::new(),
            honest_proposals: BTreeMap::new(),
            epoch_sets: vec![set.clone()],
            next_set,
            key_to_node,
            report: SimReport::default(),
        }
    }

    fn describe(&self) -> String {
        let mut s = format!(
            "n={} gst={} {}\n",
            self.cfg.validators, self.cfg.gst_ms, self.cfg.faults
        );
        for (i, node) in self.nodes.iter().enumerate() {
            s += &format!(
                "  node {i} byz={:?} finalized={} executed={:?} stopped={:?} last_progress={}",
                node.byz,
                node.finalized.len(),
                node.apps
                    .iter()
                    .map(|a| a.len().saturating_sub(1))
                    .collect::<Vec<_>>(),
                node.stopped,
                node.last_progress
            );
            for e in node.engines.iter().flatten() {
                s += &format!(
                    " [epoch={} {} round={} final={} lvr={} hqc={}]",
                    e.current_epoch(),
                    e.debug_status(),
                    e.round(),
                    e.finalized_height(),
                    e.safety().last_voted_round,
                    e.safety().high_qc.round()
                );
            }
            s += "\n";
        }
        s
    }

    #[cfg(test)]
    fn break_engines(&mut self) {
        let cfg = self.cfg;
        for node in &mut self.nodes {
            for e in node.engines.iter_mut().flatten() {
                break_engine(cfg, e);
            }
        }
    }

    fn push(&mut self, time: u64, kind: EventKind) {
        self.seq += 1;
        self.queue.push(Reverse(Event {
            time,
            seq: self.seq,
            kind,
        }));
    }

    fn honest(&self, node: usize) -> bool {
        self.nodes[node].byz.is_none()
    }

    fn schedule_faults(&mut self) {
        let n = self.nodes.len();
        let gst = self.cfg.gst_ms;
        if self.cfg.faults.network && gst > 0 {
            let mut t = 0;
            loop {
                t += self.rng.gen_range(500..6000);
                if t >= gst {
                    break;
                }
                let p = if self.rng.gen_bool(0.3) {
                    None
                } else if self.rng.gen_bool(0.7) {
                    // A contiguous range of seats: the cut most likely to give both sides
                    // runs of consecutive leaders.
                    let start = self.rng.gen_range(0..n);
                    let len = self.rng.gen_range(1..n.max(2));
                    Some((0..n).map(|i| (i + n - start) % n < len).collect())
                } else {
                    Some((0..n).map(|_| self.rng.gen_bool(0.5)).collect())
                };
                self.push(t, EventKind::Partition(p));
            }
            self.push(gst, EventKind::Partition(None));
        }
        if self.cfg.faults.crashes && gst > 0 {
            let honest: Vec<usize> = (0..self.cfg.validators)
                .filter(|&i| self.honest(i))
                .collect();
            let victims = self
                .rng
                .gen_range(1..=honest.len().min(((self.cfg.validators - 1) / 3).max(1)));
            for k in 0..victims {
                let node = honest[(k * 7 + self.rng.gen_range(0..honest.len())) % honest.len()];
                let mut t = self.rng.gen_range(0..gst);
                for _ in 0..self.rng.gen_range(1..=3) {
                    if t >= gst {
                        break;
                    }
                    let back = (t + self.rng.gen_range(50..3000)).min(gst);
                    self.push(t, EventKind::Crash(node));
                    self.push(back, EventKind::Restart(node));
                    t = back + self.rng.gen_range(1..2000);
                }
            }
        }
        if let Some(node) = self.cfg.long_outage.filter(|&i| i < n && self.honest(i)) {
            self.push(1, EventKind::Crash(node));
            self.push(gst.max(2), EventKind::Restart(node));
        }
        for i in 0..n {
            if self.nodes[i].byz == Some(ByzKind::Garbage) {
                let t = self.rng.gen_range(1..200);
                self.push(t, EventKind::Garbage(i));
            }
        }
    }

    fn run(&mut self) -> Result<(), Violation> {
        #[cfg(test)]
        self.break_engines();
        self.schedule_faults();
        self.run_scheduled()
    }

    /// Starts every engine and runs the scheduled events to the end.
    fn run_scheduled(&mut self) -> Result<(), Violation> {
        for node in 0..self.nodes.len() {
            for inst in 0..self.nodes[node].engines.len() {
                self.start(node, inst)?;
            }
        }
        let end = self.cfg.gst_ms + self.cfg.run_after_gst_ms;
        let mut events = 0u64;
        while let Some(Reverse(ev)) = self.queue.pop() {
            if ev.time > end {
                break;
            }
            events += 1;
            if events > MAX_EVENTS {
                return Err(Violation::EventBudget);
            }
            self.now = ev.time;
            self.dispatch(ev.kind)?;
            self.check_liveness()?;
            if let Some(k) = self.cfg.stop_after_blocks {
                let min_epoch = u64::from(self.cfg.reconfigure_at.is_some());
                if self
                    .nodes
                    .iter()
                    .all(|n| n.byz.is_some() || (n.after_gst >= k && n.epoch >= min_epoch))
                {
                    self.check_audits_complete()?;
                    self.note_membership();
                    self.report.virtual_ms = self.now;
                    self.report.blocks = self.committed.len() as u64;
                    return Ok(());
                }
            }
        }
        self.now = end;
        self.check_liveness()?;
        self.check_audits_complete()?;
        self.note_membership();
        for node in 0..self.nodes.len() {
            if self.honest(node) && self.nodes[node].last_progress <= self.cfg.gst_ms {
                return Err(Violation::Liveness { node, at_ms: end });
            }
        }
        self.report.virtual_ms = end;
        self.report.blocks = self.committed.len() as u64;
        Ok(())
    }

    fn note_membership(&mut self) {
        let total = self.nodes.len();
        if total > self.cfg.validators {
            let index = |node: usize| {
                self.nodes[node]
                    .engines
                    .iter()
                    .flatten()
                    .next()
                    .and_then(|e| e.index())
            };
            self.report.membership_changed = index(total - 1).is_some() && index(0).is_none();
        }
    }

    /// Every honest validator's finalized chain is fully proven by certificates.
    fn check_audits_complete(&self) -> Result<(), Violation> {
        for (node, st) in self.nodes.iter().enumerate() {
            if st.byz.is_none() {
                if let Err(e) = st.auditor.finish() {
                    let height = st.auditor.height();
                    let reason = e.to_string();
                    return Err(Violation::BadCertificate {
                        node,
                        height,
                        reason,
                    });
                }
            }
        }
        Ok(())
    }

    fn check_liveness(&self) -> Result<(), Violation> {
        let gst = self.cfg.gst_ms;
        if self.now <= gst + self.cfg.liveness_bound_ms {
            return Ok(());
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if node.byz.is_none()
                && self.now - node.last_progress.max(gst) > self.cfg.liveness_bound_ms
            {
                return Err(Violation::Liveness {
                    node: i,
                    at_ms: self.now,
                });
            }
        }
        Ok(())
    }

    fn dispatch(&mut self, kind: EventKind) -> Result<(), Violation> {
        match kind {
            EventKind::Deliver { to, from, bytes } => self.deliver(to, from, bytes),
            EventKind::Timer {
                node,
                inst,
                id,
                incarnation,
            } => {
                if self.nodes[node].incarnation == incarnation {
                    self.step(node, inst, Input::Timer(id))?;
                }
                Ok(())
            }
            EventKind::Crash(node) => {
                let st = &mut self.nodes[node];
                if st.engines[0].is_some() {
                    st.engines[0] = None;
                    st.incarnation += 1;
                    self.report.crashes += 1;
                }
                Ok(())
            }
            EventKind::Restart(node) => self.restart(node),
            EventKind::Executed {
                node,
                inst,
                incarnation,
                commit,
                set_change,
            } => {
                // A crash loses the report, not the execution: the restarted node reads
                // its executed heights from its application's state (`start`).
                if self.nodes[node].incarnation == incarnation {
                    if let Some(set) = set_change {
                        self.step(node, inst, Input::ValidatorSetChange(set))?;
                    }
                    self.step(node, inst, Input::Executed(commit))?;
                }
                Ok(())
            }
            EventKind::Partition(p) => {
                self.partition = p;
                Ok(())
            }
            EventKind::Garbage(node) => {
                self.send_garbage(node);
                let next = self.now + self.rng.gen_range(20..300);
                self.push(next, EventKind::Garbage(node));
                Ok(())
            }
        }
    }

    /// A crashed validator comes back from exactly what it persisted, its finalized blocks
    /// and its application's state.
    fn restart(&mut self, node: usize) -> Result<(), Violation> {
        if self.nodes[node].engines[0].is_some() {
            return Ok(());
        }
        let st = &self.nodes[node];
        let cfg = self.engine_cfgs[node].clone();
        // Exactly what was durably written (through its encoding), nothing more.
        let safety = match st.persisted[0].load() {
            Ok(Some(s)) => s,
            Ok(None) => SafetyState::genesis(&cfg),
            Err(e) => panic!("the in-memory store holds only what it encoded: {e}"),
        };
        // The application's state is as durable as the finalized blocks.
        debug_assert_eq!(st.apps[0].len(), st.finalized.len() + 1);
        let engine = Engine::new(cfg, safety, st.finalized.last());
        #[allow(unused_mut)]
        let mut engine = engine;
        #[cfg(test)]
        break_engine(self.cfg, &mut engine);
        self.nodes[node].engines[0] = Some(engine);
        self.start(node, 0)?;
        // The application re-reads a decided but not yet effective change from its
        // own state after a restart.
        let st = &self.nodes[node];
        let decided = self
            .cfg
            .reconfigure_at
            .is_some_and(|h| st.finalized.len() as u64 >= h);
        if decided
            && self.nodes[node].engines[0]
                .as_ref()
                .is_some_and(|e| e.current_epoch() == 0)
        {
            let set = self.next_set.clone();
            self.step(node, 0, Input::ValidatorSetChange(set))?;
        }
        Ok(())
    }

    fn local_time(&self, node: usize) -> u64 {
        (self.now as i64 + self.nodes[node].skew).max(0) as u64
    }

    /// The validator set `node` currently works with.
    fn current_set(&self, node: usize) -> &ValidatorSet {
        self.nodes[node]
            .engines
            .iter()
            .flatten()
            .next()
            .map_or(&self.epoch_sets[0], |e| e.validators())
    }

    fn deliver(&mut self, to: usize, from_node: usize, bytes: Vec<u8>) -> Result<(), Violation> {
        let message = match decode_message(&bytes) {
            Ok(m) => m,
            Err(_) => {
                self.report.undecodable += 1;
                return Ok(());
            }
        };
        let instances = self.nodes[to].engines.len();
        if instances == 0 {
            return Ok(());
        }
        if self.nodes[to].byz == Some(ByzKind::DoubleVoter) {
            if let Message::Proposal(p) = &message {
                let b = &p.block;
                let data = VoteData::for_block(b);
                let set = self.current_set(to);
                if let Some(me) = set.index_of(&self.keys[to].public()) {
                    let next = set.leader(b.round + 1);
                    let vote = Vote::sign(data, me, &self.keys[to], CHAIN_ID);
                    self.transmit(to, Target::One(next), Message::Vote(vote).to_bytes());
                }
            }
        }
        let targets: Vec<usize> = if instances == 2 {
            match self.rng.gen_range(0..10) {
                0..=3 => vec![0],
                4..=7 => vec![1],
                _ => vec![0, 1],
            }
        } else {
            vec![0]
        };
        let sender = self.keys[from_node].public();
        for inst in targets {
            // A member is named by its index; any other peer by a label above the set
            // size (set size + node number), which `transmit` maps back.
            let from = match &self.nodes[to].engines[inst] {
                Some(e) => {
                    let set = e.validators();
                    set.index_of(&sender)
                        .unwrap_or((set.len() + from_node) as u16)
                }
                None => continue,
            };
            self.step(
                to,
                inst,
                Input::Message {
                    from,
                    message: message.clone(),
                },
            )?;
        }
        Ok(())
    }

    fn make_payload(&mut self, node: usize, inst: usize, round: u64) -> Vec<u8> {
        let (lo, hi) = self.cfg.payload_bytes;
        let len = if lo >= hi {
            lo
        } else {
            self.rng.gen_range(lo..=hi)
        };
        let mut tag = (node as u64).to_le_bytes().to_vec();
        tag.extend_from_slice(&round.to_le_bytes());
        tag.push(inst as u8);
        let mut p = vec![0xab; len];
        let k = len.min(tag.len());
        p[..k].copy_from_slice(&tag[..k]);
        p
    }

    /// `Input::Start`, then what the application has executed: its last few commits (at
    /// least the last finalized height; the genesis state before any).
    fn start(&mut self, node: usize, inst: usize) -> Result<(), Violation> {
        self.step(node, inst, Input::Start)?;
        let app = &self.nodes[node].apps[inst];
        let recent = app[app.len().saturating_sub(EXECUTED_ON_START)..].to_vec();
        for commit in recent {
            self.step(node, inst, Input::Executed(commit))?;
        }
        Ok(())
    }

    fn step(&mut self, node: usize, inst: usize, input: Input) -> Result<(), Violation> {
        let mut inputs = VecDeque::from([input]);
        while let Some(input) = inputs.pop_front() {
            let local = self.local_time(node);
            let step = match self.nodes[node]
                .engines
                .get_mut(inst)
                .and_then(|e| e.as_mut())
            {
                Some(e) => e.handle(local, input),
                None => return Ok(()),
            };
            // The node's own path: outputs only through `Step::persist`. The store is
            // taken out of the node for the step, so acting on outputs may borrow the rest.
            let mut store = std::mem::take(&mut self.nodes[node].persisted[inst]);
            let result = self.carry_out(node, inst, step, &mut store, &mut inputs);
            self.nodes[node].persisted[inst] = store;
            result?;
        }
        Ok(())
    }

    /// One step of one engine instance, acted on in order; feedback inputs (payloads,
    /// validator-set changes) go to `inputs`.
    fn carry_out(
        &mut self,
        node: usize,
        inst: usize,
        step: Step,
        store: &mut MemorySafetyStore,
        inputs: &mut VecDeque<Input>,
    ) -> Result<(), Violation> {
        #[cfg(test)]
        let forgetful = self.cfg.forget_persisted_state;
        #[cfg(not(test))]
        let forgetful = false;
        let mut forgotten = ForgetfulStore;
        let mut released = if forgetful {
            step.persist(&mut forgotten).map_err(never)?
        } else {
            step.persist(store).map_err(never)?
        };
        while let Some(out) = released.next() {
            self.act(node, inst, out, inputs)?;
        }
        if forgetful {
            released.finish(&mut forgotten).map_err(never)
        } else {
            released.finish(store).map_err(never)
        }
    }

    fn act(
        &mut self,
        node: usize,
        inst: usize,
        out: Output,
        inputs: &mut VecDeque<Input>,
    ) -> Result<(), Violation> {
        match out {
            Output::Send { to, message } => {
                if self.nodes[node].stopped[inst]
                    && matches!(message, Message::Vote(_) | Message::Proposal(_))
                {
                    return Err(Violation::ActedAfterDivergence { node });
                }
                self.send(node, to, message)?
            }
            Output::SetTimer { id, after_ms } => {
                let incarnation = self.nodes[node].incarnation;
                self.push(
                    self.now + after_ms,
                    EventKind::Timer {
                        node,
                        inst,
                        id,
                        incarnation,
                    },
                );
            }
            Output::RequestPayload { round, .. } => {
                let payload = self.make_payload(node, inst, round);
                inputs.push_back(Input::Payload { round, payload });
            }
            Output::Finalized(fb) => {
                // The application executes the block and reports its roots (in height
                // order, through the same queue as every other feedback input).
                let commit = self.execute_finalized(node, inst, &fb.block)?;
                let set_change = (Some(fb.block.height) == self.cfg.reconfigure_at)
                    .then(|| self.next_set.clone());
                if self.cfg.execution_delay_ms == 0 {
                    inputs.extend(set_change.map(Input::ValidatorSetChange));
                    inputs.push_back(Input::Executed(commit));
                } else {
                    // Reports keep height order: one delay per node, and events of the
                    // same time run in the order they were pushed.
                    let incarnation = self.nodes[node].incarnation;
                    self.push(
                        self.now + self.cfg.execution_delay_ms,
                        EventKind::Executed {
                            node,
                            inst,
                            incarnation,
                            commit,
                            set_change,
                        },
                    );
                }
                self.on_finalized(node, fb)?
            }
            Output::Evidence(ev) => self.on_evidence(node, ev)?,
            Output::Rejected { reason, .. } => {
                if self.honest(node) {
                    self.report.rejected += 1;
                    if matches!(reason, RejectReason::WrongExecution { .. }) {
                        self.report.refused_roots += 1;
                    }
                }
            }
            Output::Diverged(d) => self.on_diverged(node, inst, d)?,
        }
        Ok(())
    }

    /// `node`'s application (instance `inst`) executes its next finalized block.
    fn execute_finalized(
        &mut self,
        node: usize,
        inst: usize,
        block: &Block,
    ) -> Result<ExecutionCommit, Violation> {
        let divergent = self.nodes[node].byz == Some(ByzKind::DivergentExecutor);
        let app = &mut self.nodes[node].apps[inst];
        let Some(prev) = app.last().filter(|p| p.height + 1 == block.height) else {
            return Err(Violation::NotSequential {
                node,
                height: block.height,
            });
        };
        let commit = execute(prev, block, divergent);
        app.push(commit);
        Ok(commit)
    }

    /// An engine stopped because a finalized block certifies roots its application did
    /// not compute: expected of a divergent executor, a failure for everyone else.
    fn on_diverged(&mut self, node: usize, inst: usize, d: Divergence) -> Result<(), Violation> {
        self.nodes[node].stopped[inst] = true;
        let height = d.block.height;
        if self
            .reference
            .get(d.certified.height as usize)
            .is_some_and(|r| *r != d.certified)
        {
            // A quorum certified roots the honest application never computed.
            return Err(Violation::WrongCertifiedState {
                node,
                height,
                executed: d.certified.height,
            });
        }
        if self.nodes[node].byz != Some(ByzKind::DivergentExecutor) {
            return Err(Violation::BadCertificate {
                node,
                height,
                reason: format!("an honest application diverged: {d:?}"),
            });
        }
        self.report.divergences_detected += 1;
        Ok(())
    }

    fn send(&mut self, node: usize, to: Target, message: Message) -> Result<(), Violation> {
        match self.nodes[node].byz {
            None => {
                self.check_honest_signature(node, &message)?;
                match &message {
                    Message::SyncResponse { .. } => self.report.sync_responses += 1,
                    Message::BlockResponse(_) => self.report.block_responses += 1,
                    _ => {}
                }
                self.transmit(node, to, message.to_bytes());
            }
            Some(ByzKind::Equivocator) => match self.own_proposal(node, &message) {
                Some(p) => self.equivocate(node, p),
                None => self.transmit(node, to, message.to_bytes()),
            },
            Some(ByzKind::RootLiar) => match self.own_proposal(node, &message) {
                Some(p) => self.lie_about_roots(node, to, p),
                None => self.transmit(node, to, message.to_bytes()),
            },
            Some(ByzKind::DoubleVoter) => {
                if let Message::Vote(v) = &message {
                    let mut d = v.data;
                    d.block_hash = Hash(self.rng.gen());
                    let fake = Vote::sign(d, v.voter, &self.keys[node], CHAIN_ID);
                    self.transmit(node, to, Message::Vote(fake).to_bytes());
                }
                self.transmit(node, to, message.to_bytes());
            }
            Some(ByzKind::BadSignatures) => {
                let m = if self.rng.gen_bool(0.6) {
                    self.corrupt(node, message)
                } else {
                    message
                };
                self.transmit(node, to, m.to_bytes());
            }
            Some(ByzKind::Twins)
            | Some(ByzKind::Garbage)
            | Some(ByzKind::Silent)
            | Some(ByzKind::DivergentExecutor) => {
                self.transmit(node, to, message.to_bytes());
            }
        }
        Ok(())
    }

    /// The proposal in `message`, if `node` made it as its round's leader.
    fn own_proposal<'m>(&self, node: usize, message: &'m Message) -> Option<&'m Proposal> {
        match message {
            Message::Proposal(p)
                if self.current_set(node).key(p.block.proposer)
                    == Some(&self.keys[node].public()) =>
            {
                Some(p)
            }
            _ => None,
        }
    }

    /// Sends `p` to some validators and a different block of the same round to the others.
    fn equivocate(&mut self, node: usize, p: &Proposal) {
        let mut other = p.block.clone();
        other.payload.push(0xee);
        let alt = Proposal::sign(other, p.tc.clone(), &self.keys[node]);
        let a = Message::Proposal(Box::new(p.clone())).to_bytes();
        let b = Message::Proposal(Box::new(alt)).to_bytes();
        for j in 0..self.nodes.len() {
            if j != node {
                let bytes = if self.rng.gen_bool(0.5) {
                    a.clone()
                } else {
                    b.clone()
                };
                self.transmit_one(node, j, bytes);
            }
        }
    }

    /// Sends `p` re-signed with forged roots: the state root, the results root or both
    /// (by round), each replaced by a hash of the real one.
    fn lie_about_roots(&mut self, node: usize, to: Target, p: &Proposal) {
        let mut block = p.block.clone();
        let real = block.executed;
        let forge = |root: Hash| sha256_parts(&[b"sim/forged", root.as_bytes()]);
        match block.round % 3 {
            0 => block.executed.state_root = forge(real.state_root),
            1 => block.executed.results_root = forge(real.results_root),
            _ => {
                block.executed.state_root = forge(real.state_root);
                block.executed.results_root = forge(real.results_root);
            }
        }
        let forged = Proposal::sign(block, p.tc.clone(), &self.keys[node]);
        self.transmit(node, to, Message::Proposal(Box::new(forged)).to_bytes());
    }

    fn corrupt(&mut self, node: usize, message: Message) -> Message {
        match message {
            Message::Proposal(mut p) => {
                if self.rng.gen_bool(0.5) && !p.block.justify.signatures.is_empty() {
                    // A bad signature inside the certificate, under a valid proposal signature.
                    p.block.justify.signatures[0].0[7] ^= 0x10;
                    Message::Proposal(Box::new(Proposal::sign(p.block, p.tc, &self.keys[node])))
                } else {
                    p.signature.0[0] ^= 1;
                    Message::Proposal(p)
                }
            }
            Message::Vote(mut v) => {
                v.signature.0[2] ^= 4;
                Message::Vote(v)
            }
            Message::Timeout(mut t) => {
                t.signature.0[9] ^= 2;
                Message::Timeout(t)
            }
            // A forged sync answer: a bad signature in its certificate, or (without
            // signatures to spoil) its blocks out of order.
            Message::SyncResponse {
                mut blocks,
                mut cert,
            } => {
                match cert.qc.signatures.first_mut() {
                    Some(sig) => sig.0[5] ^= 8,
                    None => blocks.reverse(),
                }
                Message::SyncResponse { blocks, cert }
            }
            other => other,
        }
    }

    fn send_garbage(&mut self, node: usize) {
        let to = self.rng.gen_range(0..self.nodes.len());
        let bytes = match self.rng.gen_range(0..3) {
            0 => {
                let len = self.rng.gen_range(0..300);
                (0..len).map(|_| self.rng.gen()).collect()
            }
            1 => {
                let data = VoteData {
                    epoch: 0,
                    block_hash: Hash(self.rng.gen()),
                    height: self.rng.gen_range(0..50),
                    round: self.rng.gen_range(0..80),
                    parent_hash: Hash(self.rng.gen()),
                    parent_round: self.rng.gen_range(0..80),
                };
                let mut sig = [0u8; 64];
                self.rng.fill(&mut sig[..]);
                let voter = self.rng.gen_range(0..self.cfg.validators as u16 + 2);
                let v = Vote {
                    data,
                    voter,
                    signature: lianrong_primitives::Signature(sig),
                };
                Message::Vote(v).to_bytes()
            }
            _ => Message::SyncRequest {
                from_height: self.rng.gen(),
            }
            .to_bytes(),
        };
        self.transmit_one(node, to, bytes);
    }

    fn check_honest_signature(&mut self, node: usize, message: &Message) -> Result<(), Violation> {
        match message {
            Message::Vote(v) => {
                let prev = self
                    .honest_votes
                    .entry((v.data.epoch, node, v.data.round))
                    .or_insert(v.data);
                if *prev != v.data {
                    return Err(Violation::HonestEquivocation {
                        node,
                        round: v.data.round,
                    });
                }
            }
            // Honest validators only ever send their own proposals.
            Message::Proposal(p) => {
                let h = p.block.hash();
                let prev = self
                    .honest_proposals
                    .entry((p.block.epoch, node, p.block.round))
                    .or_insert(h);
                if *prev != h {
                    return Err(Violation::HonestEquivocation {
                        node,
                        round: p.block.round,
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn transmit(&mut self, from: usize, to: Target, bytes: Vec<u8>) {
        let n = self.nodes.len();
        match to {
            // Everyone else, including followers that are not (yet) validators.
            Target::All => {
                for j in 0..n {
                    if j != from {
                        self.transmit_one(from, j, bytes.clone());
                    }
                }
            }
            Target::One(j) => {
                let set = self.current_set(from);
                let to = match set.key(j) {
                    Some(k) => self.key_to_node.get(k).copied(),
                    None => (j as usize).checked_sub(set.len()),
                };
                let to = to.filter(|&t| t < n);
                if let Some(to) = to.filter(|&t| t != from) {
                    self.transmit_one(from, to, bytes);
                }
            }
        }
    }

    fn transmit_one(&mut self, from: usize, to: usize, bytes: Vec<u8>) {
        self.report.messages += 1;
        let before_gst = self.now < self.cfg.gst_ms;
        // (Partitions come with network faults, or from a test that places one.)
        if before_gst && self.partition.as_ref().is_some_and(|p| p[from] != p[to]) {
            return;
        }
        let faulty = before_gst && self.cfg.faults.network;
        if faulty && self.rng.gen_bool(0.1) {
            return;
        }
        let (lo, hi) = if faulty {
            self.cfg.delay_before_gst_ms
        } else {
            self.cfg.delay_after_gst_ms
        };
        let copies = if faulty && self.rng.gen_bool(0.05) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = if lo >= hi {
                lo
            } else {
                self.rng.gen_range(lo..=hi)
            };
            self.push(
                self.now + delay,
                EventKind::Deliver {
                    to,
                    from,
                    bytes: bytes.clone(),
                },
            );
        }
    }

    fn on_evidence(&mut self, node: usize, ev: Evidence) -> Result<(), Violation> {
        if !self.honest(node) {
            return Ok(());
        }
        self.report.evidence += 1;
        let Some(set) = self.epoch_sets.get(ev.epoch() as usize) else {
            return Err(Violation::BadEvidence {
                reason: format!("unknown epoch {}", ev.epoch()),
            });
        };
        if let Err(e) = ev.verify(set, CHAIN_ID) {
            return Err(Violation::BadEvidence {
                reason: format!("does not verify: {e}"),
            });
        }
        let offender = match set.key(ev.offender()).and_then(|k| self.key_to_node.get(k)) {
            Some(&o) => o,
            None => {
                return Err(Violation::BadEvidence {
                    reason: "offender not in the set".into(),
                })
            }
        };
        if self.honest(offender) {
            return Err(Violation::BadEvidence {
                reason: format!("names honest validator {offender}"),
            });
        }
        Ok(())
    }

    fn on_finalized(&mut self, node: usize, fb: FinalizedBlock) -> Result<(), Violation> {
        if !self.honest(node) {
            return Ok(());
        }
        let height = fb.block.height;
        let hash = fb.block.hash();
        match self.committed.get(&height) {
            Some(h) if *h != hash => return Err(Violation::Agreement { height }),
            Some(_) => {}
            None => {
                self.committed.insert(height, hash);
                self.report.payload_bytes += fb.block.payload.len() as u64;
                *self
                    .report
                    .committed_by_seat
                    .entry(fb.block.proposer)
                    .or_default() += 1;
                // The honest application's roots for this height, computed once.
                match self.reference.last() {
                    Some(prev) if prev.height + 1 == height => {
                        let commit = execute(prev, &fb.block, false);
                        self.reference.push(commit);
                    }
                    _ => return Err(Violation::NotSequential { node, height }),
                }
            }
        }
        // Exactly the audit the bank's auditors run: hash chain, epochs, certificates.
        let st = &mut self.nodes[node];
        st.auditor.push(&fb).map_err(|e| match e {
            AuditError::NotExtending(height) => Violation::NotSequential { node, height },
            other => Violation::BadCertificate {
                node,
                height,
                reason: other.to_string(),
            },
        })?;
        // The certified state is exactly what the honest application computed.
        let executed = fb.block.executed;
        if self.reference.get(executed.height as usize) != Some(&executed) {
            return Err(Violation::WrongCertifiedState {
                node,
                height,
                executed: executed.height,
            });
        }
        if let Some(next) = &fb.block.reconfig {
            let e = fb.block.epoch as usize;
            if self.epoch_sets.len() == e + 1 {
                self.epoch_sets.push(next.clone());
                self.report.epoch_changes += 1;
            } else if self.epoch_sets.get(e + 1) != Some(next) {
                return Err(Violation::Agreement { height });
            }
        }
        let st = &mut self.nodes[node];
        self.report.latency_sum_ms += self.now.saturating_sub(fb.block.timestamp_ms);
        self.report.latency_count += 1;
        st.last_progress = self.now;
        st.epoch = st.epoch.max(fb.block.epoch);
        if self.now >= self.cfg.gst_ms {
            st.after_gst += 1;
        }
        st.finalized.push(fb);
        Ok(())
    }
}

#[cfg(test)]
mod tests;

/// Applies the test-only broken variants the configuration asks for to an engine.
#[cfg(test)]
fn break_engine(cfg: &SimConfig, engine: &mut Engine) {
    if let Some(q) = cfg.broken_quorum {
        engine.break_quorum_for_test(q);
    }
    if cfg.skip_execution_check {
        engine.skip_execution_check_for_test();
    }
}

/// The broken variant's store: remembers nothing (a node that skips its fsync).
struct ForgetfulStore;

impl SafetyStore for ForgetfulStore {
    type Error = std::convert::Infallible;

    fn load(&self) -> Result<Option<SafetyState>, Self::Error> {
        Ok(None)
    }

    fn store(&mut self, _state: &SafetyState) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// The in-memory stores cannot fail.
fn never<E: std::fmt::Display>(e: E) -> Violation {
    panic!("an in-memory safety store failed: {e}")
}
