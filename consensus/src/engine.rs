//! The sans-IO consensus engine: a pure state machine from [`Input`] to [`Output`]s.
//!
//! No I/O, clocks, threads or randomness: the caller feeds time (`now_ms` on every call),
//! delivered messages, timer expiries and payloads, and carries out the outputs in order.
//! See the crate README for the protocol and the output ordering contract.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use lianrong_primitives::{verify, Hash, SecretKey};
use serde::{Deserialize, Serialize};

use crate::types::*;

/// Rounds beyond the current one for which votes, timeouts and proposals are accepted;
/// bounds every per-round map against a peer inventing far-future rounds.
pub const MAX_ROUNDS_AHEAD: u64 = 64;
/// Rounds behind the current one for which state is kept (evidence, late votes).
pub const STALE_ROUNDS: u64 = 8;
/// Most uncommitted blocks held in memory.
pub const MAX_PENDING_BLOCKS: usize = 1024;
/// Most block hashes being fetched at once.
pub const MAX_WANTED: usize = 64;
/// Finalized blocks kept in memory to serve catch-up requests.
pub const RECENT_FINALIZED: usize = 1024;
/// Verified-certificate cache size (a cache miss only costs a re-verification).
const QC_CACHE: usize = 512;
/// Gap (in heights) above which catch-up switches from per-hash fetches to batch sync.
const SYNC_GAP: u64 = 4;

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
    ValidatorSetChange(ValidatorSet),
    /// Answer to [`Output::RequestPayload`].
    Payload {
        /// The round it was requested for.
        round: u64,
        /// The opaque payload (oversized payloads are replaced by an empty one).
        payload: Vec<u8>,
    },
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
}

/// What the engine asks the caller to do, in order. Each [`Output::Persist`] must be
/// durable before any later output is acted on. It is normally first; at an epoch
/// boundary the new epoch's state follows the reconfiguration block's `Finalized`.
#[derive(Debug, Clone)]
pub enum Output {
    /// Write this safety state durably (fsync) before acting on any following output.
    Persist(SafetyState),
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
}

#[derive(Debug, Clone, Copy)]
struct Meta {
    hash: Hash,
    height: u64,
    timestamp_ms: u64,
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
    last_tc: Option<TimeoutCert>,
    payload_requested: Option<u64>,
    root: Meta,
    blocks: BTreeMap<Hash, Block>,
    pending_commit: Option<(BlockId, CommitCertificate)>,
    pending_proposal: Option<Proposal>,
    wanted: BTreeMap<Hash, u64>,
    last_sync_at: Option<u64>,
    sync_attempts: u64,
    verified_qcs: BTreeSet<Hash>,
    votes: BTreeMap<u64, BTreeMap<VoteData, BTreeMap<u16, lianrong_primitives::Signature>>>,
    seen_votes: BTreeMap<u64, BTreeMap<u16, (VoteData, lianrong_primitives::Signature)>>,
    qc_formed: BTreeSet<u64>,
    timeouts: BTreeMap<u64, BTreeMap<u16, (u64, lianrong_primitives::Signature)>>,
    seen_proposals: BTreeMap<u64, (ProposalData, lianrong_primitives::Signature)>,
    recent: VecDeque<FinalizedBlock>,
    current_from: Option<u16>,
    out: Vec<Output>,
    self_queue: VecDeque<Message>,
    // Whether this call already emitted the new epoch's `Persist` (after the `Finalized`
    // output of the reconfiguration block, never before it).
    epoch_persisted: bool,
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
            Some(f) => Meta {
                hash: f.block.hash(),
                height: f.block.height,
                timestamp_ms: f.block.timestamp_ms,
            },
            None => Meta {
                hash: genesis,
                height: 0,
                timestamp_ms: cfg.genesis_time_ms,
            },
        };
        let set = safety.validators.clone();
        let last_tc = safety.high_tc.clone();
        let me = set.index_of(&cfg.me.public());
        let quorum = set.quorum();
        let epoch_root_qc = safety.epoch_root.map(|r| epoch_root_qc(safety.epoch, &r));
        let mut recent = VecDeque::new();
        if let Some(f) = last_finalized {
            recent.push_back(f.clone());
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
            last_tc,
            payload_requested: None,
            root,
            blocks: BTreeMap::new(),
            pending_commit: None,
            pending_proposal: None,
            wanted: BTreeMap::new(),
            last_sync_at: None,
            sync_attempts: 0,
            verified_qcs: BTreeSet::new(),
            votes: BTreeMap::new(),
            seen_votes: BTreeMap::new(),
            qc_formed: BTreeSet::new(),
            timeouts: BTreeMap::new(),
            seen_proposals: BTreeMap::new(),
            recent,
            current_from: None,
            out: Vec::new(),
            self_queue: VecDeque::new(),
            epoch_persisted: false,
            cfg,
        };
        // Crashed after storing the reconfiguration block but before persisting the new
        // epoch: the stored block is final, so switch now (the `Persist` and the first
        // timer come out of the first `handle` call).
        if let Some(f) = last_finalized {
            if let Some(set) = &f.block.reconfig {
                if engine.safety.epoch == f.block.epoch {
                    engine.start_epoch(f.block.id(), set.clone());
                    engine.epoch_persisted = false;
                    engine.out.retain(|o| !matches!(o, Output::Persist(_)));
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

    /// The validator set of the current epoch.
    pub fn validators(&self) -> &ValidatorSet {
        &self.set
    }

    /// A one-line summary of internal progress state, for logs.
    pub fn debug_status(&self) -> String {
        format!(
            "ending={:?} pending_commit={:?} blocks={} wanted={} pending_reconfig={}",
            self.ending
                .as_ref()
                .map(|c| c.iter().map(|b| b.height).collect::<Vec<_>>()),
            self.pending_commit.as_ref().map(|(t, _)| t.height),
            self.blocks.len(),
            self.wanted.len(),
            self.pending_reconfig.is_some(),
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

    /// The current safety state (what was last asked to be persisted, or newer).
    pub fn safety(&self) -> &SafetyState {
        &self.safety
    }

    /// This node's index in the validator set, if it is a validator.
    pub fn index(&self) -> Option<u16> {
        self.me
    }

    /// Handles one input at local time `now_ms` and returns what to do, in order.
    pub fn handle(&mut self, now_ms: u64, input: Input) -> Vec<Output> {
        self.now = self.now.max(now_ms);
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
        }
        while let Some(m) = self.self_queue.pop_front() {
            self.on_message(LOCAL, m);
        }
        let mut out = std::mem::take(&mut self.out);
        if self.safety_dirty {
            self.safety_dirty = false;
            if self.epoch_persisted {
                // Nothing is sent after an epoch switch within the same call.
                out.push(Output::Persist(self.safety.clone()));
            } else {
                out.insert(0, Output::Persist(self.safety.clone()));
            }
        }
        self.epoch_persisted = false;
        out
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
            Message::SyncResponse { blocks, cert } => self.on_sync_response(blocks, cert),
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

    fn leader(&self, round: u64) -> u16 {
        self.set.leader(round)
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
        })
    }

    fn verify_qc(&mut self, qc: &QuorumCert) -> Result<(), RejectReason> {
        if qc.vote.epoch != self.epoch() {
            return Err(RejectReason::WrongEpoch);
        }
        if qc.signers.is_empty()
            && (*qc == QuorumCert::genesis(self.genesis) || Some(qc) == self.epoch_root_qc.as_ref())
        {
            return Ok(());
        }
        let digest = qc.digest();
        if self.verified_qcs.contains(&digest) {
            return Ok(());
        }
        qc.verify_with_quorum(&self.set, &self.cfg.chain_id, self.genesis, self.quorum)?;
        if self.verified_qcs.len() >= QC_CACHE {
            self.verified_qcs.clear();
        }
        self.verified_qcs.insert(digest);
        Ok(())
    }

    fn timeout_ms(&self) -> u64 {
        let exp = self.consecutive_timeouts.min(self.cfg.max_backoff_exponent);
        self.cfg.base_timeout_ms.saturating_mul(1u64 << exp)
    }

    fn arm_timer(&mut self) {
        self.timer_generation += 1;
        let id = TimerId {
            round: self.round,
            generation: self.timer_generation,
        };
        let after_ms = self.timeout_ms();
        self.out.push(Output::SetTimer { id, after_ms });
    }

    fn enter_round(&mut self, round: u64) {
        if round <= self.round {
            return;
        }
        self.round = round;
        let keep_from = round.saturating_sub(STALE_ROUNDS);
        self.qc_formed = self.qc_formed.split_off(&keep_from);
        self.votes = self.votes.split_off(&keep_from);
        self.seen_votes = self.seen_votes.split_off(&keep_from);
        self.timeouts = self.timeouts.split_off(&keep_from);
        self.seen_proposals = self.seen_proposals.split_off(&keep_from);
        self.arm_timer();
        self.maybe_request_payload();
    }

    fn maybe_request_payload(&mut self) {
        let round = self.round;
        if self.me != Some(self.leader(round))
            || round <= self.safety.last_proposed_round
            || self.payload_requested == Some(round)
        {
            return;
        }
        let hqc = self.safety.high_qc.round();
        let justified = hqc + 1 == round
            || self
                .last_tc
                .as_ref()
                .is_some_and(|tc| tc.round + 1 == round && hqc >= tc.max_high_qc_round());
        if !justified {
            return;
        }
        let parent = self.safety.high_qc.vote.block_hash;
        if self.meta(&parent).is_none() {
            self.fetch(parent);
            return;
        }
        self.payload_requested = Some(round);
        self.out.push(Output::RequestPayload {
            round,
            height: self.safety.high_qc.vote.height + 1,
        });
    }

    fn on_payload(&mut self, round: u64, mut payload: Vec<u8>) {
        if self.payload_requested != Some(round)
            || round != self.round
            || round <= self.safety.last_proposed_round
        {
            return;
        }
        let Some(me) = self.me else { return };
        let Some(parent) = self.meta(&self.safety.high_qc.vote.block_hash) else {
            return;
        };
        if payload.len() > self.cfg.max_payload_bytes.min(MAX_PAYLOAD_BYTES) {
            payload = Vec::new();
        }
        let (payload, reconfig) = match self.reconfig_below(parent.hash) {
            Ok(true) => (Vec::new(), None),
            Ok(false) => (payload, self.pending_reconfig.clone()),
            Err(missing) => {
                if let Some(h) = missing {
                    self.fetch(h);
                }
                return;
            }
        };
        let justify = self.safety.high_qc.clone();
        let tc = if justify.round() + 1 == round {
            None
        } else {
            match &self.last_tc {
                Some(tc) if tc.round + 1 == round => Some(tc.clone()),
                _ => return,
            }
        };
        let block = Block {
            chain_id: self.cfg.chain_id.clone(),
            epoch: self.epoch(),
            height: parent.height + 1,
            round,
            parent: parent.hash,
            justify,
            proposer: me,
            timestamp_ms: self.now.max(parent.timestamp_ms + 1),
            payload,
            reconfig,
        };
        self.safety.last_proposed_round = round;
        self.safety_dirty = true;
        let proposal = Proposal::sign(block, tc, &self.cfg.me);
        self.out.push(Output::Send {
            to: Target::All,
            message: Message::Proposal(Box::new(proposal.clone())),
        });
        if let Err(reason) = self.on_proposal(proposal) {
            debug_assert!(false, "own proposal rejected: {reason}");
        }
    }

    // ---------------------------------------------------------------- proposals

    fn on_proposal(&mut self, p: Proposal) -> Result<(), RejectReason> {
        let b = &p.block;
        if b.chain_id != self.cfg.chain_id {
            return Err(RejectReason::WrongChain);
        }
        if b.epoch > self.epoch() {
            // The others moved on to a new epoch: fetch the block that closed ours.
            self.request_sync();
            return Ok(());
        }
        if b.epoch != self.epoch() {
            return Err(RejectReason::WrongEpoch);
        }
        if b.payload.len() > self.cfg.max_payload_bytes.min(MAX_PAYLOAD_BYTES) {
            return Err(RejectReason::TooLarge);
        }
        if b.round > self.round + MAX_ROUNDS_AHEAD {
            self.learn_from_certificates(&b.justify, p.tc.as_ref())?;
            if b.round > self.round + MAX_ROUNDS_AHEAD {
                return Err(RejectReason::TooFarAhead);
            }
        }
        if b.round + STALE_ROUNDS < self.round {
            return Ok(());
        }
        if b.proposer != self.leader(b.round) {
            return Err(RejectReason::NotLeader);
        }
        if b.parent != b.justify.vote.block_hash
            || b.justify.vote.height.checked_add(1) != Some(b.height)
            || b.round <= b.justify.round()
        {
            return Err(RejectReason::Malformed(
                "block does not match its justification",
            ));
        }
        // Hashing a block costs as much as its payload: done once, here.
        let Some(hash) = self.first_proposal_of_its_round(&p)? else {
            return Ok(());
        };
        self.check_proposal_certificates(&p)?;
        let justify = b.justify.clone();
        self.process_qc(&justify);
        if let Some(tc) = p.tc.clone() {
            self.process_tc(tc);
        }
        if b.height > self.root.height {
            self.make_room_for_a_block();
            self.blocks.insert(hash, p.block.clone());
            self.wanted.remove(&hash);
        }
        self.try_vote(p)
    }

    /// Checks the proposer's signature and remembers the proposal of its round. A second,
    /// different proposal of the same round is equivocation: evidence out, and `None`
    /// (nothing more is done with it), as for a copy of the one already seen. Otherwise
    /// the block's hash.
    fn first_proposal_of_its_round(&mut self, p: &Proposal) -> Result<Option<Hash>, RejectReason> {
        let b = &p.block;
        let data = Proposal::data_of(b);
        let key = *self
            .set
            .key(b.proposer)
            .ok_or(RejectReason::UnknownValidator(b.proposer))?;
        verify(&key, &data.signing_bytes(&self.cfg.chain_id), &p.signature)
            .map_err(|_| RejectReason::BadSignature)?;
        match self.seen_proposals.get(&b.round) {
            Some((d, _)) if *d == data => Ok(None),
            Some((d, s)) => {
                let ev = Evidence::DoubleProposal {
                    proposer: b.proposer,
                    a: (*d, *s),
                    b: (data, p.signature),
                };
                self.out.push(Output::Evidence(ev));
                Ok(None)
            }
            None => {
                self.seen_proposals.insert(b.round, (data, p.signature));
                Ok(Some(data.block_hash))
            }
        }
    }

    /// The proposal's certificates are valid and make it safe to extend (Jolteon's rule).
    fn check_proposal_certificates(&mut self, p: &Proposal) -> Result<(), RejectReason> {
        let b = &p.block;
        self.verify_qc(&b.justify)?;
        if let Some(tc) = &p.tc {
            if tc.epoch != self.epoch() || tc.round.checked_add(1) != Some(b.round) {
                return Err(RejectReason::Malformed(
                    "timeout certificate for the wrong round",
                ));
            }
            tc.verify_with_quorum(&self.set, &self.cfg.chain_id, self.quorum)?;
        }
        // Jolteon's extension rule: extend the previous round's certificate, or, after a
        // timeout certificate, a certificate at least as high as any its signers held.
        let safe = b.justify.round() + 1 == b.round
            || p.tc
                .as_ref()
                .is_some_and(|tc| b.justify.round() >= tc.max_high_qc_round());
        if safe {
            Ok(())
        } else {
            Err(RejectReason::UnsafeProposal)
        }
    }

    fn try_vote(&mut self, p: Proposal) -> Result<(), RejectReason> {
        let b = &p.block;
        let Some(me) = self.me else { return Ok(()) };
        if b.round != self.round || b.round <= self.safety.last_voted_round {
            return Ok(());
        }
        let Some(parent) = self.meta(&b.parent) else {
            let parent = b.parent;
            self.pending_proposal = Some(p);
            self.fetch(parent);
            return Ok(());
        };
        if b.timestamp_ms <= parent.timestamp_ms
            || b.timestamp_ms > self.now + self.cfg.max_drift_ms
        {
            return Err(RejectReason::BadTimestamp);
        }
        match self.reconfig_below(b.parent) {
            // After an uncommitted reconfiguration only empty blocks may follow, so that
            // nothing but the reconfiguration itself is finalized in the closing epoch.
            Ok(true) if !b.payload.is_empty() || b.reconfig.is_some() => {
                return Err(RejectReason::Malformed(
                    "block after a reconfiguration must be empty",
                ));
            }
            Ok(true) => {}
            // Only the set the application itself decided is ever voted for.
            // If our application has not decided it (yet), we are probably behind the
            // proposer, who decided it from a block it finalized: catch up from it.
            Ok(false) if b.reconfig.is_some() && b.reconfig != self.pending_reconfig => {
                self.request_sync();
                return Ok(());
            }
            Ok(false) => {}
            Err(missing) => {
                if let Some(h) = missing {
                    self.pending_proposal = Some(p);
                    self.fetch(h);
                }
                return Ok(());
            }
        }
        let data = VoteData {
            epoch: b.epoch,
            block_hash: b.hash(),
            height: b.height,
            round: b.round,
            parent_hash: b.parent,
            parent_round: b.justify.round(),
        };
        self.safety.last_voted_round = b.round;
        self.safety_dirty = true;
        let vote = Vote::sign(data, me, &self.cfg.me, &self.cfg.chain_id);
        let next = self.leader(b.round + 1);
        self.send(Target::One(next), Message::Vote(vote));
        Ok(())
    }

    // ---------------------------------------------------------------- certificates

    /// Takes in a verified quorum certificate: raises the high QC, advances the round,
    /// records a commit it implies and fetches the certified block if missing.
    fn process_qc(&mut self, qc: &QuorumCert) {
        // Epoch-end certificates and other epochs' certificates never drive rounds.
        if qc.vote.epoch != self.epoch() || qc.round() >= EPOCH_END_ROUND - 1 {
            return;
        }
        if qc.round() > self.safety.high_qc.round() {
            self.safety.high_qc = qc.clone();
            self.safety_dirty = true;
        }
        if qc.round() >= self.round {
            self.consecutive_timeouts = 0;
            self.enter_round(qc.round() + 1);
        }
        if let Some(target) = qc.vote.commits() {
            let higher = self
                .pending_commit
                .as_ref()
                .is_none_or(|(t, _)| target.height > t.height);
            if target.height > self.root.height && higher {
                self.pending_commit = Some((target, CommitCertificate { qc: qc.clone() }));
            }
        }
        if qc.vote.height > self.root.height && self.meta(&qc.vote.block_hash).is_none() {
            self.fetch(qc.vote.block_hash);
        }
        self.try_commit();
    }

    fn process_tc(&mut self, tc: TimeoutCert) {
        let round = tc.round;
        if self.last_tc.as_ref().is_none_or(|t| t.round < round) {
            self.safety.high_tc = Some(tc.clone());
            self.safety_dirty = true;
            self.last_tc = Some(tc);
        }
        if round >= self.round {
            self.consecutive_timeouts = self.consecutive_timeouts.saturating_add(1);
            self.enter_round(round + 1);
        }
    }

    /// A message from far ahead of our round: we were down, paused or cut off while the
    /// others went on. The message itself is not judged yet (its round is beyond what
    /// we keep state for), but the certificates it carries are 2f+1 validators' proof of
    /// where the others are, whoever relayed them: take them in -- round, commit target,
    /// and the sync that fetches the blocks we missed -- so that the next message is
    /// within reach. Without this a validator left more than `MAX_ROUNDS_AHEAD` rounds
    /// behind refused everything it received and never caught up.
    fn learn_from_certificates(
        &mut self,
        qc: &QuorumCert,
        tc: Option<&TimeoutCert>,
    ) -> Result<(), RejectReason> {
        if qc.vote.epoch == self.epoch() && qc.round() >= self.round {
            self.verify_qc(qc)?;
            self.process_qc(qc);
        }
        if let Some(tc) = tc.filter(|tc| tc.epoch == self.epoch() && tc.round >= self.round) {
            tc.verify_with_quorum(&self.set, &self.cfg.chain_id, self.quorum)?;
            self.process_tc(tc.clone());
        }
        Ok(())
    }

    // ---------------------------------------------------------------- votes

    fn on_vote(&mut self, v: Vote) -> Result<(), RejectReason> {
        let d = v.data;
        if d.epoch != self.epoch() {
            return Err(RejectReason::WrongEpoch);
        }
        let key = *self
            .set
            .key(v.voter)
            .ok_or(RejectReason::UnknownValidator(v.voter))?;
        if d.round >= EPOCH_END_ROUND - 1 {
            return Err(RejectReason::Malformed(
                "vote in the epoch-end pseudo-round",
            ));
        }
        if self.me != Some(self.leader(d.round + 1)) || d.round + 1 < self.round {
            return Ok(());
        }
        if d.round > self.round + MAX_ROUNDS_AHEAD {
            return Err(RejectReason::TooFarAhead);
        }
        verify(&key, &d.signing_bytes(&self.cfg.chain_id), &v.signature)
            .map_err(|_| RejectReason::BadSignature)?;
        let seen = self.seen_votes.entry(d.round).or_default();
        match seen.get(&v.voter) {
            Some((prev, _)) if *prev == d => return Ok(()),
            Some((prev, sig)) => {
                let ev = Evidence::DoubleVote {
                    voter: v.voter,
                    a: (*prev, *sig),
                    b: (d, v.signature),
                };
                self.out.push(Output::Evidence(ev));
                return Ok(());
            }
            None => {
                seen.insert(v.voter, (d, v.signature));
            }
        }
        let tally = self.votes.entry(d.round).or_default().entry(d).or_default();
        tally.insert(v.voter, v.signature);
        if tally.len() >= self.quorum && !self.qc_formed.contains(&d.round) {
            let qc = QuorumCert {
                vote: d,
                signers: tally.keys().copied().collect(),
                signatures: tally.values().copied().collect(),
            };
            self.qc_formed.insert(d.round);
            self.verified_qcs.insert(qc.digest());
            self.process_qc(&qc);
        }
        Ok(())
    }

    // ---------------------------------------------------------------- timeouts

    fn on_timer(&mut self, id: TimerId) {
        if id.round != self.round || id.generation != self.timer_generation {
            return;
        }
        self.local_timeout();
        self.broadcast_epoch_end();
        self.arm_timer();
    }

    /// Gives up on the current round: never vote in it again, and tell everyone.
    fn local_timeout(&mut self) {
        let round = self.round;
        let Some(me) = self.me else { return };
        if self.safety.last_voted_round < round {
            self.safety.last_voted_round = round;
            self.safety_dirty = true;
        }
        self.timed_out_round = self.timed_out_round.max(round);
        let data = TimeoutData {
            epoch: self.epoch(),
            round,
            high_qc_round: self.safety.high_qc.round(),
        };
        let signature = self.cfg.me.sign(&data.signing_bytes(&self.cfg.chain_id));
        let t = Timeout {
            epoch: data.epoch,
            round,
            high_qc: self.safety.high_qc.clone(),
            voter: me,
            signature,
            last_tc: self.last_tc.clone(),
        };
        self.out.push(Output::Send {
            to: Target::All,
            message: Message::Timeout(Box::new(t)),
        });
        self.record_timeout(round, me, data.high_qc_round, signature);
    }

    fn on_timeout_msg(&mut self, t: Timeout) -> Result<(), RejectReason> {
        if t.epoch > self.epoch() {
            self.request_sync();
            return Ok(());
        }
        if t.epoch != self.epoch() {
            return Err(RejectReason::WrongEpoch);
        }
        let key = *self
            .set
            .key(t.voter)
            .ok_or(RejectReason::UnknownValidator(t.voter))?;
        if t.round > self.round + MAX_ROUNDS_AHEAD {
            self.learn_from_certificates(&t.high_qc, t.last_tc.as_ref())?;
            if t.round > self.round + MAX_ROUNDS_AHEAD {
                return Err(RejectReason::TooFarAhead);
            }
        }
        if let Some(tc) = &t.last_tc {
            if tc.round >= self.round && tc.round < t.round {
                if tc.epoch != self.epoch() {
                    return Err(RejectReason::WrongEpoch);
                }
                tc.verify_with_quorum(&self.set, &self.cfg.chain_id, self.quorum)?;
                self.process_tc(tc.clone());
            }
        }
        if t.round < self.round && t.high_qc.round() <= self.safety.high_qc.round() {
            return Ok(());
        }
        if t.high_qc.round() >= t.round {
            return Err(RejectReason::Malformed(
                "timeout's high QC is not below its round",
            ));
        }
        verify(
            &key,
            &t.data().signing_bytes(&self.cfg.chain_id),
            &t.signature,
        )
        .map_err(|_| RejectReason::BadSignature)?;
        self.verify_qc(&t.high_qc)?;
        self.process_qc(&t.high_qc);
        if t.round < self.round {
            return Ok(());
        }
        self.record_timeout(t.round, t.voter, t.high_qc.round(), t.signature);
        Ok(())
    }

    fn record_timeout(
        &mut self,
        round: u64,
        voter: u16,
        hqc: u64,
        sig: lianrong_primitives::Signature,
    ) {
        let entry = self.timeouts.entry(round).or_default();
        if entry.contains_key(&voter) {
            return;
        }
        entry.insert(voter, (hqc, sig));
        let count = entry.len();
        // f+1 timeouts include an honest one: join so that rounds re-synchronise.
        if count > self.set.f() && self.timed_out_round < round && self.me.is_some() {
            if round > self.round {
                self.enter_round(round);
            }
            if round == self.round {
                self.local_timeout();
                return; // local_timeout re-entered record_timeout and checked the quorum
            }
        }
        let entry = &self.timeouts[&round];
        if entry.len() >= self.quorum && round >= self.round {
            let tc = TimeoutCert {
                epoch: self.epoch(),
                round,
                signers: entry.keys().copied().collect(),
                high_qc_rounds: entry.values().map(|v| v.0).collect(),
                signatures: entry.values().map(|v| v.1).collect(),
            };
            self.process_tc(tc);
        }
    }

    // ---------------------------------------------------------------- commit and catch-up

    fn fetch(&mut self, hash: Hash) {
        let round = self.round;
        if let Some(&asked) = self.wanted.get(&hash) {
            if asked >= round {
                return;
            }
        } else if self.wanted.len() >= MAX_WANTED {
            return;
        }
        let first = !self.wanted.contains_key(&hash);
        self.wanted.insert(hash, round);
        // Ask whoever mentioned the block first; on a retry (a later round), ask everyone.
        let to = match self.current_from {
            Some(f) if first && f != LOCAL => Target::One(f),
            _ => Target::All,
        };
        self.out.push(Output::Send {
            to,
            message: Message::BlockRequest(hash),
        });
    }

    fn request_sync(&mut self) {
        // At most one request per base timeout: rounds may be stalled while we lag.
        if self
            .last_sync_at
            .is_some_and(|t| self.now < t + self.cfg.base_timeout_ms)
        {
            return;
        }
        let retry = self.last_sync_at.is_some();
        self.last_sync_at = Some(self.now);
        self.sync_attempts += 1;
        // First ask whoever showed us the commit; on retries rotate through the others,
        // since one peer may have pruned or may be lying.
        let n = self.set.len() as u64;
        let to = match self.current_from {
            Some(f) if !retry && f != LOCAL => Target::One(f),
            _ => {
                let mut i = (self.sync_attempts % n) as u16;
                if Some(i) == self.me {
                    i = ((self.sync_attempts + 1) % n) as u16;
                }
                Target::One(i)
            }
        };
        self.out.push(Output::Send {
            to,
            message: Message::SyncRequest {
                from_height: self.root.height + 1,
            },
        });
    }

    fn try_commit(&mut self) {
        if self.ending.is_some() {
            // The epoch's last block is final; only the epoch-end certificate matters now.
            self.pending_commit = None;
            return;
        }
        let Some((target, cert)) = self.pending_commit.clone() else {
            return;
        };
        if target.height <= self.root.height {
            self.pending_commit = None;
            return;
        }
        if target.height - self.root.height > SYNC_GAP && self.meta(&target.hash).is_none() {
            self.request_sync();
            return;
        }
        let mut chain = Vec::new();
        let mut h = target.hash;
        while h != self.root.hash {
            match self.blocks.get(&h) {
                Some(b) if b.height > self.root.height => {
                    chain.push(h);
                    h = b.parent;
                }
                // A certified chain that does not pass through our root would be a
                // safety violation by more than f validators; refuse to follow it.
                Some(_) => return,
                None => {
                    if target.height - self.root.height > SYNC_GAP {
                        self.request_sync();
                    } else {
                        self.fetch(h);
                    }
                    return;
                }
            }
        }
        self.pending_commit = None;
        let blocks: Vec<Block> = chain
            .into_iter()
            .rev()
            .filter_map(|h| self.blocks.get(&h).cloned())
            .collect();
        if let Some(k) = blocks.iter().position(|b| b.reconfig.is_some()) {
            // Final up to the reconfiguration block, but emitted only with the epoch-end
            // certificate: it commits exactly that block (blocks after it are never final),
            // the next epoch builds on it, and auditors check it with the old set.
            let mut blocks = blocks;
            blocks.truncate(k + 1);
            self.ending = Some(blocks);
            self.broadcast_epoch_end();
        } else {
            for block in blocks {
                self.finalize(block, cert.clone());
            }
        }
        self.after_blocks_changed();
    }

    fn finalize(&mut self, block: Block, cert: CommitCertificate) {
        debug_assert!(
            block.reconfig.is_none() || cert.qc.vote.round == EPOCH_END_ROUND,
            "a reconfiguration block is finalized only with its epoch-end certificate"
        );
        debug_assert_eq!(block.height, self.root.height + 1);
        debug_assert_eq!(block.parent, self.root.hash);
        self.root = Meta {
            hash: block.hash(),
            height: block.height,
            timestamp_ms: block.timestamp_ms,
        };
        let root_height = self.root.height;
        self.blocks.retain(|_, b| b.height > root_height);
        let fb = FinalizedBlock { block, cert };
        if self.recent.len() >= RECENT_FINALIZED {
            self.recent.pop_front();
        }
        self.recent.push_back(fb.clone());
        let reconfig = fb.block.reconfig.clone();
        let id = fb.block.id();
        self.out.push(Output::Finalized(fb));
        if let Some(set) = reconfig {
            self.start_epoch(id, set);
        }
    }

    /// Signs (again) this node's epoch-end vote, if the epoch is ending.
    fn broadcast_epoch_end(&mut self) {
        let (Some(r), Some(me)) = (self.ending.as_ref().and_then(|c| c.last()), self.me) else {
            return;
        };
        let data = epoch_end_vote(self.epoch(), &r.id());
        let vote = Vote::sign(data, me, &self.cfg.me, &self.cfg.chain_id);
        self.epoch_end_votes.insert(me, vote.signature);
        self.out.push(Output::Send {
            to: Target::All,
            message: Message::EpochEnd(vote),
        });
        self.check_epoch_end();
    }

    fn on_epoch_end_vote(&mut self, v: Vote) -> Result<(), RejectReason> {
        if v.data.epoch > self.epoch() {
            self.request_sync();
            return Ok(());
        }
        if v.data.epoch < self.epoch() {
            // The sender is still collecting votes for an epoch we have closed (our own
            // vote may have been lost, and we may not even be a validator any more):
            // hand it the certificate instead.
            if v.data.epoch + 1 == self.epoch() {
                if let Some(cert) = self.epoch_root_cert() {
                    let from = self.current_from.unwrap_or(LOCAL);
                    self.send(Target::One(from), Message::EpochCert(cert));
                }
            }
            return Ok(());
        }
        let key = *self
            .set
            .key(v.voter)
            .ok_or(RejectReason::UnknownValidator(v.voter))?;
        if v.data.round != EPOCH_END_ROUND {
            return Err(RejectReason::Malformed("epoch-end vote for a real round"));
        }
        // Until we have finalized the reconfiguration block ourselves we cannot tell what
        // to expect; senders repeat their vote every timeout.
        let Some(r) = self.ending.as_ref().and_then(|c| c.last()) else {
            return Ok(());
        };
        if v.data != epoch_end_vote(self.epoch(), &r.id())
            || self.epoch_end_votes.contains_key(&v.voter)
        {
            return Ok(());
        }
        verify(
            &key,
            &v.data.signing_bytes(&self.cfg.chain_id),
            &v.signature,
        )
        .map_err(|_| RejectReason::BadSignature)?;
        self.epoch_end_votes.insert(v.voter, v.signature);
        self.check_epoch_end();
        Ok(())
    }

    /// The epoch-end certificate of the block that opened the current epoch, if kept.
    fn epoch_root_cert(&self) -> Option<CommitCertificate> {
        let root = self.safety.epoch_root?;
        self.recent
            .iter()
            .rev()
            .find(|f| f.block.height == root.height && f.block.hash() == root.hash)
            .map(|f| f.cert.clone())
    }

    fn on_epoch_cert(&mut self, cert: CommitCertificate) -> Result<(), RejectReason> {
        let Some(r) = self.ending.as_ref().and_then(|c| c.last()) else {
            return Ok(());
        };
        if cert.qc.vote != epoch_end_vote(self.epoch(), &r.id()) {
            return Ok(());
        }
        cert.verify_with_quorum(&self.set, &self.cfg.chain_id, self.genesis, self.quorum)?;
        if let Some(chain) = self.ending.take() {
            for b in chain {
                self.finalize(b, cert.clone());
            }
            self.after_blocks_changed();
        }
        Ok(())
    }

    fn check_epoch_end(&mut self) {
        if self.epoch_end_votes.len() < self.quorum {
            return;
        }
        let Some(chain) = self.ending.take() else {
            return;
        };
        let Some(r) = chain.last() else {
            return;
        };
        let qc = QuorumCert {
            vote: epoch_end_vote(self.epoch(), &r.id()),
            signers: self.epoch_end_votes.keys().copied().collect(),
            signatures: self.epoch_end_votes.values().copied().collect(),
        };
        let cert = CommitCertificate { qc };
        for b in chain {
            self.finalize(b, cert.clone());
        }
    }

    /// Switches to the epoch that follows the final reconfiguration block `root`.
    fn start_epoch(&mut self, root: BlockId, set: ValidatorSet) {
        // Safety changes made earlier in this call (votes sent before) go first, as usual;
        // the new epoch's state is persisted only after the reconfiguration block has been
        // handed out as final, so a crash in between leaves the old epoch, which the
        // stored block (or a sync) moves on from.
        if self.safety_dirty {
            self.safety_dirty = false;
            self.out.insert(0, Output::Persist(self.safety.clone()));
        }
        let epoch = self.epoch() + 1;
        let root_qc = epoch_root_qc(epoch, &root);
        self.safety = SafetyState {
            epoch,
            last_voted_round: 0,
            last_proposed_round: 0,
            high_qc: root_qc.clone(),
            validators: set.clone(),
            epoch_root: Some(root),
            high_tc: None,
        };
        self.out.push(Output::Persist(self.safety.clone()));
        self.epoch_persisted = true;
        self.epoch_root_qc = Some(root_qc);
        self.me = set.index_of(&self.cfg.me.public());
        self.quorum = self.broken_quorum.unwrap_or(set.quorum());
        self.set = set;
        self.pending_reconfig = None;
        self.ending = None;
        self.epoch_end_votes.clear();
        self.blocks.clear();
        self.pending_commit = None;
        self.pending_proposal = None;
        self.wanted.clear();
        self.last_sync_at = None;
        self.votes.clear();
        self.seen_votes.clear();
        self.qc_formed.clear();
        self.timeouts.clear();
        self.seen_proposals.clear();
        self.last_tc = None;
        self.timed_out_round = 0;
        self.consecutive_timeouts = 0;
        self.payload_requested = None;
        self.round = 0;
        self.enter_round(1);
    }

    /// Whether a block between `hash` (inclusive) and the last finalized block carries a
    /// reconfiguration. `Err(Some(h))`: block `h` of that chain is missing; `Err(None)`:
    /// the chain does not lead to our last finalized block.
    fn reconfig_below(&self, mut hash: Hash) -> Result<bool, Option<Hash>> {
        for _ in 0..=MAX_PENDING_BLOCKS {
            if hash == self.root.hash {
                return Ok(false);
            }
            let Some(b) = self.blocks.get(&hash) else {
                return Err(Some(hash));
            };
            if b.height <= self.root.height {
                return Err(None);
            }
            if b.reconfig.is_some() {
                return Ok(true);
            }
            hash = b.parent;
        }
        Err(None)
    }

    /// Retries whatever was waiting for a block.
    fn after_blocks_changed(&mut self) {
        self.try_commit();
        if let Some(p) = self.pending_proposal.take() {
            if self.meta(&p.block.parent).is_some() {
                if let Err(reason) = self.try_vote(p) {
                    let from = self.current_from.unwrap_or(LOCAL);
                    self.out.push(Output::Rejected { from, reason });
                }
            } else if p.block.round >= self.round {
                self.pending_proposal = Some(p);
            }
        }
        self.maybe_request_payload();
    }

    /// Keeps the uncommitted-block store bounded during long periods without commits by
    /// dropping its oldest-round block; a dropped block that turns out to be needed is
    /// fetched again from the validators that certified it.
    fn make_room_for_a_block(&mut self) {
        while self.blocks.len() >= MAX_PENDING_BLOCKS {
            let oldest = self
                .blocks
                .iter()
                .min_by_key(|(_, b)| b.round)
                .map(|(h, _)| *h);
            match oldest {
                Some(h) => self.blocks.remove(&h),
                None => return,
            };
        }
    }

    fn find_block(&self, hash: &Hash) -> Option<&Block> {
        self.blocks.get(hash).or_else(|| {
            self.recent
                .iter()
                .rev()
                .map(|f| &f.block)
                .find(|b| b.hash() == *hash)
        })
    }

    fn on_block_request(&mut self, from: u16, hash: Hash) {
        if let Some(b) = self.find_block(&hash) {
            let message = Message::BlockResponse(Box::new(b.clone()));
            self.send(Target::One(from), message);
        }
    }

    fn on_block_response(&mut self, block: Block) {
        let hash = block.hash();
        if self.wanted.remove(&hash).is_none() || block.height <= self.root.height {
            return;
        }
        self.make_room_for_a_block();
        let parent = block.parent;
        let needs_parent = block.height > self.root.height + 1 && self.meta(&parent).is_none();
        self.blocks.insert(hash, block);
        if needs_parent {
            self.fetch(parent);
        }
        self.after_blocks_changed();
    }

    fn on_sync_request(&mut self, from: u16, from_height: u64) {
        let Some(first) = self.recent.front().map(|f| f.block.height) else {
            return;
        };
        if from_height < first || from_height > self.root.height {
            return;
        }
        let start = (from_height - first) as usize;
        let mut blocks = Vec::new();
        let mut cert = None;
        for f in self.recent.iter().skip(start).take(2 * MAX_SYNC_BLOCKS) {
            blocks.push(f.block.clone());
            let direct = f
                .cert
                .committed()
                .is_some_and(|id| id.height == f.block.height);
            if direct {
                cert = Some(f.cert.clone());
                // A reconfiguration block ends a response: what follows is checked
                // against the next epoch's set.
                if blocks.len() >= MAX_SYNC_BLOCKS || f.block.reconfig.is_some() {
                    break;
                }
            }
        }
        let Some(cert) = cert else { return };
        let last_height = cert.committed().map_or(0, |id| id.height);
        blocks.retain(|b| b.height <= last_height);
        self.send(Target::One(from), Message::SyncResponse { blocks, cert });
    }

    fn on_sync_response(
        &mut self,
        blocks: Vec<Block>,
        cert: CommitCertificate,
    ) -> Result<(), RejectReason> {
        if blocks.is_empty() || blocks.len() > 2 * MAX_SYNC_BLOCKS {
            return Err(RejectReason::TooLarge);
        }
        if blocks[0].height != self.root.height + 1 || blocks[0].parent != self.root.hash {
            return Ok(()); // stale or not from our root; nothing to learn
        }
        let mut hashes = Vec::with_capacity(blocks.len());
        for (i, b) in blocks.iter().enumerate() {
            if b.chain_id != self.cfg.chain_id || b.epoch != self.epoch() {
                return Err(RejectReason::WrongChain);
            }
            if b.reconfig.is_some() && i + 1 != blocks.len() {
                return Err(RejectReason::Malformed(
                    "reconfiguration block inside a sync batch",
                ));
            }
            if i > 0 && (b.parent != hashes[i - 1] || b.height != blocks[i - 1].height + 1) {
                return Err(RejectReason::Malformed("sync blocks do not form a chain"));
            }
            hashes.push(b.hash());
        }
        let id =
            cert.verify_with_quorum(&self.set, &self.cfg.chain_id, self.genesis, self.quorum)?;
        let last = blocks.len() - 1;
        if id.hash != hashes[last] || id.height != blocks[last].height {
            return Err(RejectReason::Malformed(
                "certificate does not commit the last block",
            ));
        }
        if blocks[last].reconfig.is_some() && cert.qc.vote.round != EPOCH_END_ROUND {
            return Err(RejectReason::Malformed(
                "reconfiguration block without its epoch-end certificate",
            ));
        }
        self.ending = None;
        for b in blocks {
            self.finalize(b, cert.clone());
        }
        self.last_sync_at = None;
        self.verified_qcs.insert(cert.qc.digest());
        self.process_qc(&cert.qc);
        self.after_blocks_changed();
        Ok(())
    }
}

/// The signature-free certificate that starts an epoch: it certifies the reconfiguration
/// block that closed the previous epoch, which the engine has itself seen finalized.
fn epoch_root_qc(epoch: u64, root: &BlockId) -> QuorumCert {
    QuorumCert {
        vote: VoteData {
            epoch,
            block_hash: root.hash,
            height: root.height,
            round: 0,
            parent_hash: Hash::ZERO,
            parent_round: 0,
        },
        signers: Vec::new(),
        signatures: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAIN: &str = "unit-chain";

    fn keys() -> Vec<SecretKey> {
        (1..=4u8).map(|i| SecretKey::from_seed([i; 32])).collect()
    }

    fn config(me: usize) -> EngineConfig {
        let k = keys();
        let set =
            ValidatorSet::from_keys(&k.iter().map(|k| k.public()).collect::<Vec<_>>()).unwrap();
        EngineConfig::new(CHAIN, set, k[me].clone())
    }

    /// A round-1 proposal by its leader (validator 1) on top of genesis.
    fn proposal(payload: &[u8], timestamp_ms: u64) -> Proposal {
        let cfg = config(1);
        let genesis = cfg.genesis_hash();
        let block = Block {
            chain_id: CHAIN.into(),
            epoch: 0,
            height: 1,
            round: 1,
            parent: genesis,
            justify: QuorumCert::genesis(genesis),
            proposer: 1,
            timestamp_ms,
            payload: payload.to_vec(),
            reconfig: None,
        };
        Proposal::sign(block, None, &keys()[1])
    }

    fn started(me: usize, safety: Option<SafetyState>) -> Engine {
        let cfg = config(me);
        let safety = safety.unwrap_or_else(|| SafetyState::genesis(&cfg));
        let mut e = Engine::new(cfg, safety, None);
        e.handle(1_000, Input::Start);
        e
    }

    fn deliver(e: &mut Engine, from: u16, m: Message) -> Vec<Output> {
        e.handle(1_000, Input::Message { from, message: m })
    }

    fn votes(out: &[Output]) -> Vec<Vote> {
        out.iter()
            .filter_map(|o| match o {
                Output::Send {
                    message: Message::Vote(v),
                    ..
                } => Some(v.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn votes_once_and_persists_before_sending() {
        let mut e = started(3, None);
        let out = deliver(&mut e, 1, Message::Proposal(Box::new(proposal(b"a", 900))));
        assert!(matches!(&out[0], Output::Persist(s) if s.last_voted_round == 1));
        let v = votes(&out);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].data.round, 1);
        let again = deliver(&mut e, 1, Message::Proposal(Box::new(proposal(b"a", 900))));
        assert!(votes(&again).is_empty());
    }

    #[test]
    fn restart_never_double_votes() {
        let mut e = started(3, None);
        let out = deliver(&mut e, 1, Message::Proposal(Box::new(proposal(b"a", 900))));
        let persisted = match &out[0] {
            Output::Persist(s) => s.clone(),
            other => panic!("expected Persist first, got {other:?}"),
        };
        // Crash, restart from exactly what was persisted, and be shown a conflicting block.
        let mut e = started(3, Some(persisted));
        let out = deliver(&mut e, 1, Message::Proposal(Box::new(proposal(b"b", 900))));
        assert!(votes(&out).is_empty(), "voted twice in round 1: {out:?}");
    }

    #[test]
    fn equivocating_leader_yields_verifiable_evidence() {
        let mut e = started(2, None);
        deliver(&mut e, 1, Message::Proposal(Box::new(proposal(b"a", 900))));
        let out = deliver(&mut e, 1, Message::Proposal(Box::new(proposal(b"b", 900))));
        let ev = out
            .iter()
            .find_map(|o| match o {
                Output::Evidence(ev) => Some(ev.clone()),
                _ => None,
            })
            .expect("evidence");
        assert_eq!(ev.offender(), 1);
        assert_eq!(ev.verify(&config(0).validators, CHAIN), Ok(()));
    }

    #[test]
    fn double_vote_yields_evidence_and_is_counted_once() {
        // Validator 2 leads round 2, so it collects round-1 votes.
        let mut e = started(2, None);
        let p = proposal(b"a", 900);
        let mut data = VoteData {
            epoch: 0,
            block_hash: p.block.hash(),
            height: 1,
            round: 1,
            parent_hash: p.block.parent,
            parent_round: 0,
        };
        deliver(
            &mut e,
            0,
            Message::Vote(Vote::sign(data, 0, &keys()[0], CHAIN)),
        );
        data.block_hash = Hash([9; 32]);
        let out = deliver(
            &mut e,
            0,
            Message::Vote(Vote::sign(data, 0, &keys()[0], CHAIN)),
        );
        assert!(out
            .iter()
            .any(|o| matches!(o, Output::Evidence(ev) if ev.offender() == 0)));
    }

    #[test]
    fn bad_signatures_and_bad_timestamps_are_rejected_without_a_vote() {
        let mut e = started(2, None);
        let mut p = proposal(b"a", 900);
        p.signature.0[0] ^= 1;
        let out = deliver(&mut e, 1, Message::Proposal(Box::new(p)));
        assert!(out.iter().any(|o| matches!(
            o,
            Output::Rejected {
                reason: RejectReason::BadSignature,
                ..
            }
        )));
        assert!(votes(&out).is_empty());
        let far_future = proposal(b"a", 1_000 + 60_000);
        let out = deliver(&mut e, 1, Message::Proposal(Box::new(far_future)));
        assert!(out.iter().any(|o| matches!(
            o,
            Output::Rejected {
                reason: RejectReason::BadTimestamp,
                ..
            }
        )));
        assert!(votes(&out).is_empty());
    }

    /// A certificate on `block` signed by validators 0, 1 and 2.
    fn qc_on(block: &Block) -> QuorumCert {
        let vote = VoteData {
            epoch: 0,
            block_hash: block.hash(),
            height: block.height,
            round: block.round,
            parent_hash: block.parent,
            parent_round: block.justify.round(),
        };
        let msg = vote.signing_bytes(CHAIN);
        QuorumCert {
            vote,
            signers: vec![0, 1, 2],
            signatures: keys()[..3].iter().map(|k| k.sign(&msg)).collect(),
        }
    }

    #[test]
    fn sync_accepts_only_certified_chains() {
        let b1 = proposal(b"one", 900).block;
        let b2 = Block {
            height: 2,
            round: 2,
            parent: b1.hash(),
            justify: qc_on(&b1),
            proposer: 2,
            timestamp_ms: 950,
            ..b1.clone()
        };
        let cert = CommitCertificate { qc: qc_on(&b2) };
        let mut forged = cert.clone();
        forged.qc.signatures[1].0[0] ^= 1;
        let mut e = started(3, None);
        let out = deliver(
            &mut e,
            0,
            Message::SyncResponse {
                blocks: vec![b1.clone()],
                cert: forged,
            },
        );
        assert!(out.iter().any(|o| matches!(
            o,
            Output::Rejected {
                reason: RejectReason::Cert(_),
                ..
            }
        )));
        assert_eq!(e.finalized_height(), 0);
        let mut short = cert.clone();
        short.qc.signers.pop();
        short.qc.signatures.pop();
        let out = deliver(
            &mut e,
            0,
            Message::SyncResponse {
                blocks: vec![b1.clone()],
                cert: short,
            },
        );
        assert!(out.iter().any(|o| matches!(o, Output::Rejected { .. })));
        let out = deliver(
            &mut e,
            0,
            Message::SyncResponse {
                blocks: vec![b1.clone()],
                cert,
            },
        );
        assert!(out
            .iter()
            .any(|o| matches!(o, Output::Finalized(f) if f.block == b1)));
        assert_eq!(e.finalized_height(), 1);
    }

    #[test]
    fn restart_through_a_safety_store_never_double_votes() {
        use crate::persist::{carry_out, MemorySafetyStore, SafetyStore};
        let mut store = MemorySafetyStore::default();
        let mut e = started(3, None);
        let out = deliver(&mut e, 1, Message::Proposal(Box::new(proposal(b"a", 900))));
        let mut rest = Vec::new();
        carry_out(&mut store, out, |o| rest.push(o)).unwrap();
        assert_eq!(votes(&rest).len(), 1);
        let loaded = store.load().unwrap().expect("stored");
        let mut e = started(3, Some(loaded));
        let out = deliver(&mut e, 1, Message::Proposal(Box::new(proposal(b"b", 900))));
        assert!(votes(&out).is_empty());
    }

    #[test]
    fn a_block_not_after_its_parent_gets_no_vote() {
        let mut e = started(3, None);
        // Genesis time is 0, so a block at time 0 does not move time forward.
        let out = deliver(&mut e, 1, Message::Proposal(Box::new(proposal(b"a", 0))));
        assert!(out.iter().any(|o| matches!(
            o,
            Output::Rejected {
                reason: RejectReason::BadTimestamp,
                ..
            }
        )));
        assert!(votes(&out).is_empty());
    }

    #[test]
    fn mutated_messages_never_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let p = proposal(b"payload", 900);
        let b2 = Block {
            height: 2,
            round: 2,
            parent: p.block.hash(),
            justify: qc_on(&p.block),
            proposer: 2,
            timestamp_ms: 950,
            ..p.block.clone()
        };
        let timeout = {
            let data = TimeoutData {
                epoch: 0,
                round: 1,
                high_qc_round: 0,
            };
            Timeout {
                epoch: 0,
                round: 1,
                high_qc: p.block.justify.clone(),
                voter: 0,
                signature: keys()[0].sign(&data.signing_bytes(CHAIN)),
                last_tc: None,
            }
        };
        let samples: Vec<Vec<u8>> = vec![
            Message::Proposal(Box::new(p.clone())).to_bytes(),
            Message::Proposal(Box::new(Proposal::sign(b2.clone(), None, &keys()[2]))).to_bytes(),
            Message::Vote(Vote::sign(qc_on(&p.block).vote, 0, &keys()[0], CHAIN)).to_bytes(),
            Message::Timeout(Box::new(timeout)).to_bytes(),
            Message::SyncResponse {
                blocks: vec![p.block.clone()],
                cert: CommitCertificate { qc: qc_on(&b2) },
            }
            .to_bytes(),
            Message::EpochEnd(Vote::sign(qc_on(&b2).vote, 1, &keys()[1], CHAIN)).to_bytes(),
        ];
        let mut decoded = 0;
        for i in 0..3000 {
            let mut bytes = samples[i % samples.len()].clone();
            for _ in 0..rng.gen_range(1..4) {
                let at = rng.gen_range(0..bytes.len());
                // Flip bits, or write extreme values into what may be an integer field.
                bytes[at] = if rng.gen_bool(0.5) {
                    bytes[at] ^ (1 << rng.gen_range(0..8))
                } else {
                    0xff
                };
            }
            if let Ok(m) = decode_message(&bytes) {
                decoded += 1;
                let mut e = started(2, None);
                let from = rng.gen_range(0..6);
                e.handle(1_000, Input::Message { from, message: m });
                e.handle(
                    5_000,
                    Input::Timer(TimerId {
                        round: 1,
                        generation: 1,
                    }),
                );
            }
        }
        assert!(decoded > 500, "only {decoded} mutants decoded");
    }

    #[test]
    fn restart_between_storing_the_reconfiguration_block_and_persisting_the_epoch() {
        let mut r = proposal(b"", 900).block;
        let next =
            ValidatorSet::from_keys(&keys().iter().rev().map(|k| k.public()).collect::<Vec<_>>())
                .unwrap();
        r.reconfig = Some(next.clone());
        let b2 = Block {
            height: 2,
            round: 2,
            parent: r.hash(),
            justify: qc_on(&r),
            ..r.clone()
        };
        let stored = FinalizedBlock {
            block: r.clone(),
            cert: CommitCertificate { qc: qc_on(&b2) },
        };
        let cfg = config(3);
        let mut e = Engine::new(cfg.clone(), SafetyState::genesis(&cfg), Some(&stored));
        assert_eq!(e.current_epoch(), 1);
        assert_eq!(e.validators(), &next);
        let out = e.handle(1_000, Input::Start);
        assert!(
            matches!(&out[0], Output::Persist(s) if s.epoch == 1 && s.epoch_root == Some(r.id()))
        );
    }

    #[test]
    fn a_proposal_from_a_non_leader_is_rejected() {
        let mut e = started(2, None);
        let mut p = proposal(b"a", 900);
        p.block.proposer = 3;
        let p = Proposal::sign(p.block, None, &keys()[3]);
        let out = deliver(&mut e, 3, Message::Proposal(Box::new(p)));
        assert!(out.iter().any(|o| matches!(
            o,
            Output::Rejected {
                reason: RejectReason::NotLeader,
                ..
            }
        )));
    }

    #[test]
    fn four_engines_finalize_with_certificates() {
        // A tiny synchronous network: deliver every message immediately, in order.
        let mut engines: Vec<Engine> = (0..4)
            .map(|i| {
                let cfg = config(i);
                let safety = SafetyState::genesis(&cfg);
                Engine::new(cfg, safety, None)
            })
            .collect();
        let mut queue: VecDeque<(u16, Target, Message)> = VecDeque::new();
        let mut finalized = vec![Vec::new(); 4];
        let mut pending: Vec<(usize, Vec<Output>)> = Vec::new();
        for (i, e) in engines.iter_mut().enumerate() {
            let out = e.handle(1_000, Input::Start);
            pending.push((i, out));
        }
        for step in 0..400u64 {
            while let Some((i, outs)) = pending.pop() {
                for o in outs {
                    match o {
                        Output::Send { to, message } => queue.push_back((i as u16, to, message)),
                        Output::RequestPayload { round, .. } => {
                            let out = engines[i].handle(
                                1_000 + step,
                                Input::Payload {
                                    round,
                                    payload: vec![i as u8],
                                },
                            );
                            pending.push((i, out));
                        }
                        Output::Finalized(fb) => finalized[i].push(fb),
                        _ => {}
                    }
                }
            }
            let Some((from, to, m)) = queue.pop_front() else {
                break;
            };
            for (j, engine) in engines.iter_mut().enumerate() {
                let hit = match to {
                    Target::All => j != from as usize,
                    Target::One(t) => t as usize == j,
                };
                if hit {
                    let out = engine.handle(
                        1_000 + step,
                        Input::Message {
                            from,
                            message: m.clone(),
                        },
                    );
                    pending.push((j, out));
                }
            }
        }
        let set = config(0).validators;
        let genesis = config(0).genesis_hash();
        assert!(finalized[0].len() >= 3, "finalized {}", finalized[0].len());
        for f in &finalized {
            for (a, b) in f.iter().zip(&finalized[0]) {
                assert_eq!(a.block, b.block);
                let id = a.cert.verify(&set, CHAIN, genesis).unwrap();
                assert!(id.height >= a.block.height);
            }
        }
    }
}
