//! The sans-IO consensus engine: a pure state machine from [`Input`] to [`Output`]s.
//!
//! No I/O, clocks, threads or randomness: the caller feeds time (`now_ms` on every call),
//! delivered messages, timer expiries and payloads, and carries out the outputs in order.
//! See the crate README for the protocol and the output ordering contract.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use lianrong_primitives::{Hash, SecretKey};
use serde::{Deserialize, Serialize};

use crate::persist::Step;
use crate::types::*;

use epochs::epoch_root_qc;

mod certificates;
mod commit;
mod epochs;
mod execution;
mod pacemaker;
mod pending;
mod proposals;
mod recent;
mod sync;
mod windows;

/// Rounds beyond the current one for which votes, timeouts and proposals are accepted;
/// bounds every per-round map against a peer inventing far-future rounds.
pub const MAX_ROUNDS_AHEAD: u64 = 64;
/// Rounds behind the current one for which state is kept (evidence, late votes).
pub const STALE_ROUNDS: u64 = 8;
/// Most block hashes being fetched at once.
pub const MAX_WANTED: usize = 64;
/// Verified-certificate cache size (a cache miss only costs a re-verification).
const QC_CACHE: usize = 512;
/// Gap (in heights) above which catch-up switches from per-hash fetches to batch sync.
const SYNC_GAP: u64 = 4;
/// The application's own execution commits kept to check blocks against: far more than
/// the few heights a block's certified state lags behind its own height.
pub const EXECUTED_KEPT: usize = 256;
/// Certified execution commits of finalized blocks kept until the application executes
/// their height (it executes finalized blocks in order, so only a few ever wait).
const CLAIMS_KEPT: usize = 1024;
/// A validator not heard from (no verified proposal, vote or timeout) over this many round
/// changes per member of the set is treated as silent (crashed, paused or cut off): its
/// rounds get a shorter timer and the votes it would collect go to everyone. A live
/// validator is heard at least once per `n` rounds (its own proposal), so twice that
/// leaves a round's slack. Liveness only: nothing here decides what is safe to vote for.
const SILENT_AFTER_ROUNDS_PER_MEMBER: u32 = 2;
/// A round led by a silent validator times out after this share of the normal timer.
const SILENT_LEADER_TIMEOUT_SHARE: u64 = 4;

pub use execution::Divergence;
pub use pending::{MAX_PENDING_BLOCKS, MAX_PENDING_BYTES};
pub use recent::{RECENT_FINALIZED, RECENT_FINALIZED_BYTES};
pub use windows::{SHUN_MS, SYNC_WINDOWS};

/// Static configuration of one engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Chain id; under every signature.
    pub chain_id: String,
    /// The genesis validator set.
    pub validators: ValidatorSet,
    /// This node's consensus key (a key outside the set makes a non-voting follower).
    pub me: SecretKey,
    /// Genesis time, the timestamp of the implicit genesis block.
    pub genesis_time_ms: u64,
    /// First round timeout.
    pub base_timeout_ms: u64,
    /// Timeouts double per consecutive failed round, up to `base << max_backoff_exponent`.
    pub max_backoff_exponent: u32,
    /// How far a block timestamp may be ahead of this node's clock and still get its vote.
    pub max_drift_ms: u64,
    /// Largest payload proposed or accepted (at most [`MAX_PAYLOAD_BYTES`]).
    pub max_payload_bytes: usize,
}

impl EngineConfig {
    /// A configuration with the default timings (1 s base timeout, back-off to 16 s,
    /// 2 s drift).
    pub fn new(chain_id: impl Into<String>, validators: ValidatorSet, me: SecretKey) -> Self {
        Self {
            chain_id: chain_id.into(),
            validators,
            me,
            genesis_time_ms: 0,
            base_timeout_ms: 1000,
            max_backoff_exponent: 4,
            max_drift_ms: 2000,
            max_payload_bytes: MAX_PAYLOAD_BYTES,
        }
    }

    /// Hash of the implicit genesis block.
    pub fn genesis_hash(&self) -> Hash {
        genesis_hash(&self.chain_id, &self.validators, self.genesis_time_ms)
    }
}

/// What must survive a crash so a restarted validator never signs two conflicting
/// messages: the highest round it voted or timed out in, the highest round it proposed
/// in, and its highest quorum certificate (reported in timeouts; the two-chain safety
/// argument relies on it never going backwards).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyState {
    /// Epoch.
    pub epoch: u64,
    /// No vote for any round at or below this one (timing out a round also raises it).
    pub last_voted_round: u64,
    /// No proposal for any round at or below this one.
    pub last_proposed_round: u64,
    /// Highest quorum certificate seen.
    pub high_qc: QuorumCert,
    /// The validator set of this epoch.
    pub validators: ValidatorSet,
    /// The reconfiguration block that closed the previous epoch (`None` in epoch 0).
    pub epoch_root: Option<BlockId>,
    /// Highest timeout certificate seen. Not needed for safety but for liveness: a
    /// validator that restarts in a round it entered through a TC must still be able to
    /// show that TC to validators left behind in the previous round.
    pub high_tc: Option<TimeoutCert>,
}

impl SafetyState {
    /// The state of a validator that has never signed anything.
    pub fn genesis(config: &EngineConfig) -> Self {
        Self {
            epoch: 0,
            last_voted_round: 0,
            last_proposed_round: 0,
            high_qc: QuorumCert::genesis(config.genesis_hash()),
            validators: config.validators.clone(),
            epoch_root: None,
            high_tc: None,
        }
    }
}

/// Identifies a timer; stale ids are ignored, so the caller never needs to cancel one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId {
    /// Round the timer guards.
    pub round: u64,
    /// Generation: only the most recently set timer is live.
    pub generation: u64,
}

/// The `from` the engine gives its own messages to itself.
const LOCAL: u16 = u16::MAX;

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Every other validator of the current set (and followers, if the node serves any).
    All,
    /// Validator `i` of the current set ([`Engine::validators`]). An `i` at or above the
    /// set size is a non-member peer (a follower) under the label the transport gave it
    /// in [`Input::Message`]; the engine only answers such peers.
    One(u16),
}

/// What the caller tells the engine.
#[derive(Debug, Clone)]
pub enum Input {
    /// Begin: arms the first timer (call once after [`Engine::new`]).
    Start,
    /// A decoded message (the engine checks every signature inside; `from` is only used
    /// to answer requests and to report misbehaviour).
    Message {
        /// Sender: its index in the current set, or for a non-member peer (a follower) a
        /// label at or above the set size chosen by the transport.
        from: u16,
        /// The message.
        message: Message,
    },
    /// A timer set by [`Output::SetTimer`] expired.
    Timer(TimerId),
    /// The application decided (in a finalized block) to change the validator set: the
    /// engine proposes, and votes only for, a block carrying exactly this set. Give it to
    /// every validator's engine; it takes effect after the block carrying it is final.
    /// Give it before the `Executed` of the block that decided it: a proposal carrying the
    /// change waits for that report, and is tried again when it comes.
    ValidatorSetChange(ValidatorSet),
    /// Answer to [`Output::RequestPayload`].
    Payload {
        /// The round it was requested for.
        round: u64,
        /// The opaque payload (oversized payloads are replaced by an empty one).
        payload: Vec<u8>,
    },
    /// The application executed the finalized block at `commit.height` (0: the genesis
    /// state) and got these roots. Give it after acting on each `Finalized`, in height
    /// order, and after `Start` for the last few heights already executed (at least the
    /// last finalized one). The engine votes for, and proposes, only blocks whose
    /// certified state equals what its own application computed.
    Executed(ExecutionCommit),
}

/// Why an input message was refused (reported as [`Output::Rejected`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    /// Another chain's message.
    #[error("wrong chain id")]
    WrongChain,
    /// Another epoch's message.
    #[error("wrong epoch")]
    WrongEpoch,
    /// Payload or batch too large.
    #[error("too large")]
    TooLarge,
    /// A round too far ahead to buffer.
    #[error("round too far ahead")]
    TooFarAhead,
    /// Sender index not in the validator set.
    #[error("unknown validator {0}")]
    UnknownValidator(u16),
    /// A proposal by someone who does not lead its round.
    #[error("proposer is not the round leader")]
    NotLeader,
    /// Fields that contradict each other.
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// A bad proposal, vote or timeout signature.
    #[error("bad signature")]
    BadSignature,
    /// A bad certificate.
    #[error("bad certificate: {0}")]
    Cert(#[from] CertError),
    /// A proposal breaking the extension rule.
    #[error("proposal does not extend the required certificate")]
    UnsafeProposal,
    /// Timestamp not above the parent's, or too far in the future.
    #[error("bad timestamp")]
    BadTimestamp,
    /// The block's certified state differs from this node's execution of that height.
    #[error(
        "block certifies a state at height {height} that this node's execution did not produce"
    )]
    WrongExecution {
        /// The executed height the block certifies.
        height: u64,
    },
    /// The block certifies a height this node no longer keeps the execution of.
    #[error("block certifies height {height}, older than this node can check")]
    ExecutionTooOld {
        /// The executed height the block certifies.
        height: u64,
    },
}

/// What the engine asks the caller to do, in order. The safety state to make durable
/// is not among them: it travels in the [`Step`] around them, which releases the outputs
/// only once it is stored.
#[derive(Debug, Clone)]
pub enum Output {
    /// Send a message.
    Send {
        /// Recipient(s).
        to: Target,
        /// The message.
        message: Message,
    },
    /// Deliver [`Input::Timer`] with this id after `after_ms`.
    SetTimer {
        /// Timer id.
        id: TimerId,
        /// Delay.
        after_ms: u64,
    },
    /// This node leads `round`: answer with [`Input::Payload`].
    RequestPayload {
        /// The round.
        round: u64,
        /// Height of the block to be proposed.
        height: u64,
    },
    /// A block is final. Emitted once per height, in height order.
    Finalized(FinalizedBlock),
    /// Proof of a validator's equivocation.
    Evidence(Evidence),
    /// An input message was refused.
    Rejected {
        /// Sender, as given in [`Input::Message`].
        from: u16,
        /// Why.
        reason: RejectReason,
    },
    /// A finalized block certifies a state this node's application did not compute: this
    /// node's execution diverged from a quorum's (or more than f validators are faulty).
    /// The engine has stopped: it ignores every further input, so the node never votes
    /// on, proposes or finalizes anything built on a state it disagrees with. Raise the
    /// alarm; an operator must find the cause.
    Diverged(Divergence),
}

#[derive(Debug, Clone, Copy)]
struct Meta {
    hash: Hash,
    height: u64,
    timestamp_ms: u64,
    /// The executed height its children certify ([`Block::hands_on`]).
    hands_on: u64,
}

impl Meta {
    fn of(block: &Block) -> Meta {
        Meta {
            hash: block.hash(),
            height: block.height,
            timestamp_ms: block.timestamp_ms,
            hands_on: block.hands_on(),
        }
    }
}

/// What must never go back within an epoch, read before and after each input
/// (postconditions of [`Engine::handle`], checked in debug builds and every simulation).
#[derive(Debug, Clone, Copy)]
struct Progress {
    epoch: u64,
    round: u64,
    last_voted_round: u64,
    last_proposed_round: u64,
    high_qc_round: u64,
    finalized_height: u64,
}

impl Progress {
    fn of(e: &Engine) -> Progress {
        Progress {
            epoch: e.safety.epoch,
            round: e.round,
            last_voted_round: e.safety.last_voted_round,
            last_proposed_round: e.safety.last_proposed_round,
            high_qc_round: e.safety.high_qc.round(),
            finalized_height: e.root.height,
        }
    }

    /// Within an epoch, round, votes, proposals and the highest certificate only move
    /// forward; finalized height never goes back, across epochs too.
    fn assert_no_regression(self, e: &Engine) {
        let now = Progress::of(e);
        debug_assert!(
            now.epoch >= self.epoch,
            "epoch went back: {self:?} -> {now:?}"
        );
        debug_assert!(
            now.finalized_height >= self.finalized_height,
            "finalized height went back: {self:?} -> {now:?}"
        );
        if now.epoch == self.epoch {
            debug_assert!(
                now.round >= self.round
                    && now.last_voted_round >= self.last_voted_round
                    && now.last_proposed_round >= self.last_proposed_round
                    && now.high_qc_round >= self.high_qc_round,
                "went back within epoch {}: {self:?} -> {now:?}",
                now.epoch
            );
        }
    }
}

/// The consensus state machine of one validator. See the module docs.
#[derive(Debug)]
pub struct Engine {
    cfg: EngineConfig,
    set: ValidatorSet,
    me: Option<u16>,
    genesis: Hash,
    quorum: usize,
    broken_quorum: Option<usize>,
    epoch_root_qc: Option<QuorumCert>,
    pending_reconfig: Option<ValidatorSet>,
    ending: Option<Vec<Block>>,
    epoch_end_votes: BTreeMap<u16, lianrong_primitives::Signature>,
    safety: SafetyState,
    safety_dirty: bool,
    now: u64,
    round: u64,
    timer_generation: u64,
    timed_out_round: u64,
    consecutive_timeouts: u32,
    /// Per validator of the current set: round changes since a verified message from it
    /// (one entry per member, reset at an epoch change).
    quiet: Vec<u32>,
    last_tc: Option<TimeoutCert>,
    payload_requested: Option<u64>,
    root: Meta,
    blocks: pending::PendingBlocks,
    pending_commit: Option<(BlockId, CommitCertificate)>,
    pending_proposal: Option<Proposal>,
    wanted: BTreeMap<Hash, u64>,
    /// Catch-up: ranges asked for and ranges waiting for their turn.
    windows: windows::SyncWindows,
    verified_qcs: BTreeSet<Hash>,
    votes: BTreeMap<u64, BTreeMap<VoteData, BTreeMap<u16, lianrong_primitives::Signature>>>,
    seen_votes: BTreeMap<u64, BTreeMap<u16, (VoteData, lianrong_primitives::Signature)>>,
    qc_formed: BTreeSet<u64>,
    timeouts: BTreeMap<u64, BTreeMap<u16, (u64, lianrong_primitives::Signature)>>,
    seen_proposals: BTreeMap<u64, (ProposalData, lianrong_primitives::Signature)>,
    /// Finalized blocks kept to answer peers.
    recent: recent::RecentFinalized,
    /// The application's execution commits, by height (the last [`EXECUTED_KEPT`]).
    executed: BTreeMap<u64, ExecutionCommit>,
    /// Execution commits certified by finalized blocks, waiting for the application to
    /// execute their height.
    claims: BTreeMap<u64, (ExecutionCommit, BlockId)>,
    /// A payload that arrived before the application executed the height the block must
    /// certify: (round, payload).
    waiting_payload: Option<(u64, Vec<u8>)>,
    /// Set once a finalized block certified a state this node did not compute.
    diverged: Option<Divergence>,
    /// Test-only broken variant: vote for any roots of the right height.
    #[cfg(test)]
    skip_execution_check: bool,
    current_from: Option<u16>,
    out: Vec<Output>,
    self_queue: VecDeque<Message>,
    // Safety state of this call that must be durable before any output: set at an epoch
    // switch for the changes made before it (votes already queued).
    persist_first: Option<SafetyState>,
    // The new epoch's state, durable only after the reconfiguration block's `Finalized`
    // output has been acted on, never before it.
    persist_last: Option<SafetyState>,
}

impl Engine {
    /// A validator resuming from `safety` (use [`SafetyState::genesis`] the first time)
    /// whose last finalized block is `last_finalized` (`None`: only genesis).
    pub fn new(
        cfg: EngineConfig,
        safety: SafetyState,
        last_finalized: Option<&FinalizedBlock>,
    ) -> Self {
        let genesis = cfg.genesis_hash();
        let root = match last_finalized {
            Some(f) => Meta::of(&f.block),
            None => Meta {
                hash: genesis,
                height: 0,
                timestamp_ms: cfg.genesis_time_ms,
                hands_on: 0,
            },
        };
        let set = safety.validators.clone();
        let last_tc = safety.high_tc.clone();
        let me = set.index_of(&cfg.me.public());
        let quorum = set.quorum();
        let epoch_root_qc = safety.epoch_root.map(|r| epoch_root_qc(safety.epoch, &r));
        let mut recent = recent::RecentFinalized::default();
        if let Some(f) = last_finalized {
            recent.push(f.block.hash(), f.clone());
        }
        let mut engine = Self {
            set,
            me,
            genesis,
            quorum,
            broken_quorum: None,
            epoch_root_qc,
            pending_reconfig: None,
            ending: None,
            epoch_end_votes: BTreeMap::new(),
            safety,
            safety_dirty: false,
            now: 0,
            round: 0,
            timer_generation: 0,
            timed_out_round: 0,
            consecutive_timeouts: 0,
            quiet: Vec::new(),
            last_tc,
            payload_requested: None,
            root,
            blocks: pending::PendingBlocks::default(),
            pending_commit: None,
            pending_proposal: None,
            wanted: BTreeMap::new(),
            windows: windows::SyncWindows::default(),
            verified_qcs: BTreeSet::new(),
            votes: BTreeMap::new(),
            seen_votes: BTreeMap::new(),
            qc_formed: BTreeSet::new(),
            timeouts: BTreeMap::new(),
            seen_proposals: BTreeMap::new(),
            recent,
            executed: BTreeMap::new(),
            claims: BTreeMap::new(),
            waiting_payload: None,
            diverged: None,
            #[cfg(test)]
            skip_execution_check: false,
            current_from: None,
            out: Vec::new(),
            self_queue: VecDeque::new(),
            persist_first: None,
            persist_last: None,
            cfg,
        };
        // Crashed after storing the reconfiguration block but before persisting the new
        // epoch: the stored block is final, so switch now (the stored state and the first
        // timer come out of the first `handle` call).
        if let Some(f) = last_finalized {
            if let Some(set) = &f.block.reconfig {
                if engine.safety.epoch == f.block.epoch {
                    engine.start_epoch(f.block.id(), set.clone());
                    engine.persist_first = None;
                    engine.persist_last = None;
                    engine.safety_dirty = true;
                }
            }
        }
        engine
    }

    /// Makes the engine use a weaker quorum: the deliberately broken variant the
    /// simulator must catch. Exists only in test builds.
    #[cfg(test)]
    pub(crate) fn break_quorum_for_test(&mut self, quorum: usize) {
        self.quorum = quorum;
        self.broken_quorum = Some(quorum);
    }

    /// Makes the engine vote for blocks certifying any roots of the right executed height
    /// (it no longer compares them with its own execution): the deliberately broken
    /// variant the simulator must catch. Exists only in test builds.
    #[cfg(test)]
    pub(crate) fn skip_execution_check_for_test(&mut self) {
        self.skip_execution_check = true;
    }

    /// The validator set of the current epoch.
    pub fn validators(&self) -> &ValidatorSet {
        &self.set
    }

    /// A one-line summary of internal progress state, for logs.
    pub fn debug_status(&self) -> String {
        format!(
            "ending={:?} pending_commit={:?} blocks={} wanted={} pending_reconfig={} \
             sync_in_flight={} sync_waiting={} sync_target={}",
            self.ending
                .as_ref()
                .map(|c| c.iter().map(|b| b.height).collect::<Vec<_>>()),
            self.pending_commit.as_ref().map(|(t, _)| t.height),
            self.blocks.len(),
            self.wanted.len(),
            self.pending_reconfig.is_some(),
            self.windows.in_flight(),
            self.windows.waiting(),
            self.windows.target(),
        )
    }

    /// Current epoch.
    pub fn current_epoch(&self) -> u64 {
        self.safety.epoch
    }

    /// Current round.
    pub fn round(&self) -> u64 {
        self.round
    }

    /// Height of the last finalized block.
    pub fn finalized_height(&self) -> u64 {
        self.root.height
    }

    /// The divergence that stopped this engine, if any.
    pub fn divergence(&self) -> Option<&Divergence> {
        self.diverged.as_ref()
    }

    /// The current safety state (what was last asked to be persisted, or newer).
    pub fn safety(&self) -> &SafetyState {
        &self.safety
    }

    /// This node's index in the validator set, if it is a validator.
    pub fn index(&self) -> Option<u16> {
        self.me
    }

    /// Handles one input at local time `now_ms` and returns what to do: a [`Step`] that
    /// hands out its outputs only once the safety state they depend on is durable.
    pub fn handle(&mut self, now_ms: u64, input: Input) -> Step {
        let before = Progress::of(self);
        let step = self.handle_input(now_ms, input);
        before.assert_no_regression(self);
        self.assert_bounds();
        step
    }

    /// Every map the engine keeps stays within its limit, whatever peers send.
    fn assert_bounds(&self) {
        // Per-round maps hold rounds in [round - STALE_ROUNDS, round + MAX_ROUNDS_AHEAD].
        let rounds = (STALE_ROUNDS + MAX_ROUNDS_AHEAD + 1) as usize;
        debug_assert!(
            self.votes.len() <= rounds,
            "votes: {} rounds",
            self.votes.len()
        );
        debug_assert!(
            self.seen_votes.len() <= rounds,
            "seen votes: {} rounds",
            self.seen_votes.len()
        );
        debug_assert!(
            self.timeouts.len() <= rounds,
            "timeouts: {} rounds",
            self.timeouts.len()
        );
        debug_assert!(
            self.seen_proposals.len() <= rounds,
            "proposals: {} rounds",
            self.seen_proposals.len()
        );
        debug_assert!(
            self.blocks.len() <= MAX_PENDING_BLOCKS
                && self.blocks.payload_bytes() <= MAX_PENDING_BYTES,
            "{} blocks, {} bytes",
            self.blocks.len(),
            self.blocks.payload_bytes()
        );
        debug_assert!(
            self.wanted.len() <= MAX_WANTED,
            "{} wanted",
            self.wanted.len()
        );
        debug_assert!(
            self.windows.in_flight() <= self.windows.max()
                && self.windows.waiting() <= self.windows.max(),
            "{} sync requests, {} ranges",
            self.windows.in_flight(),
            self.windows.waiting()
        );
        debug_assert!(
            self.recent.len() <= RECENT_FINALIZED
                && self.recent.payload_bytes() <= RECENT_FINALIZED_BYTES,
            "{} recent, {} bytes",
            self.recent.len(),
            self.recent.payload_bytes()
        );
        debug_assert!(
            self.executed.len() <= EXECUTED_KEPT && self.claims.len() <= CLAIMS_KEPT,
            "{} executed, {} claims",
            self.executed.len(),
            self.claims.len()
        );
        debug_assert!(
            self.verified_qcs.len() <= QC_CACHE,
            "{} cached QCs",
            self.verified_qcs.len()
        );
    }

    fn handle_input(&mut self, now_ms: u64, input: Input) -> Step {
        self.now = self.now.max(now_ms);
        if self.diverged.is_some() {
            // Stopped: nothing built on a state this node disagrees with.
            return Step::new(None, Vec::new(), None);
        }
        match input {
            Input::Start => {
                let after_tc = self.safety.high_tc.as_ref().map_or(0, |tc| tc.round + 1);
                let r = (self.safety.high_qc.round() + 1)
                    .max(self.safety.last_voted_round)
                    .max(after_tc)
                    .max(1);
                self.enter_round(r);
            }
            Input::Message { from, message } => self.on_message(from, message),
            Input::Timer(id) => self.on_timer(id),
            Input::Payload { round, payload } => self.on_payload(round, payload),
            Input::ValidatorSetChange(set) => {
                if set != self.set {
                    self.pending_reconfig = Some(set);
                    self.maybe_request_payload();
                }
            }
            Input::Executed(commit) => self.on_executed(commit),
        }
        while let Some(m) = self.self_queue.pop_front() {
            self.on_message(LOCAL, m);
        }
        let mut outputs = std::mem::take(&mut self.out);
        // Sync requests leave first (a stable sort keeps the rest in order): their answers
        // travel while the caller executes the blocks this step finalized.
        outputs.sort_by_key(|o| !is_sync_request(o));
        let mut first = self.persist_first.take();
        let mut last = self.persist_last.take();
        if self.safety_dirty {
            self.safety_dirty = false;
            if last.is_some() {
                // Changed after an epoch switch within this call (nothing is sent after
                // one): the newer state replaces the switch's, after the outputs.
                last = Some(self.safety.clone());
            } else {
                first = Some(self.safety.clone());
            }
        }
        Step::new(first, outputs, last)
    }

    fn on_message(&mut self, from: u16, message: Message) {
        self.current_from = Some(from);
        let result = match message {
            Message::Proposal(p) => self.on_proposal(*p),
            Message::Vote(v) => self.on_vote(v),
            Message::Timeout(t) => self.on_timeout_msg(*t),
            Message::BlockRequest(h) => {
                self.on_block_request(from, h);
                Ok(())
            }
            Message::BlockResponse(b) => {
                self.on_block_response(*b);
                Ok(())
            }
            Message::SyncRequest { from_height } => {
                self.on_sync_request(from, from_height);
                Ok(())
            }
            Message::SyncResponse { blocks, cert } => self.on_sync_response(from, blocks, cert),
            Message::EpochEnd(v) => self.on_epoch_end_vote(v),
            Message::EpochCert(c) => self.on_epoch_cert(c),
        };
        if let Err(reason) = result {
            self.out.push(Output::Rejected { from, reason });
        }
        self.current_from = None;
    }

    // ---------------------------------------------------------------- helpers

    fn epoch(&self) -> u64 {
        self.safety.epoch
    }

    fn send(&mut self, to: Target, message: Message) {
        if self.me.is_some_and(|me| to == Target::One(me)) {
            self.self_queue.push_back(message);
        } else {
            self.out.push(Output::Send { to, message });
        }
    }

    fn meta(&self, hash: &Hash) -> Option<Meta> {
        if *hash == self.root.hash {
            return Some(self.root);
        }
        self.blocks.get(hash).map(|b| Meta {
            hash: *hash,
            height: b.height,
            timestamp_ms: b.timestamp_ms,
            hands_on: b.hands_on(),
        })
    }
}

/// A sync request: sent ahead of everything else of its step.
fn is_sync_request(o: &Output) -> bool {
    matches!(
        o,
        Output::Send {
            message: Message::SyncRequest { .. },
            ..
        }
    )
}

#[cfg(test)]
mod sync_tests;
#[cfg(test)]
mod tests;
