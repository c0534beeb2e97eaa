//! Wire and certificate types: validator sets, blocks, votes, quorum / timeout / commit
//! certificates, equivocation evidence and the network message envelope.
//!
//! Everything here is plain data plus *verification*; nothing here holds protocol state.

use lianrong_primitives::{
    decode, encode, hash::sha256_parts, signing_message, verify, BatchVerifier, CodecError, Hash,
    OrgId, PublicKey, SecretKey, Signature,
};
use serde::{Deserialize, Serialize};

/// Signing namespace of block proposals.
pub const NS_PROPOSAL: &str = "lianrong/proposal/v1";
/// Signing namespace of votes (and therefore of quorum and commit certificates).
pub const NS_VOTE: &str = "lianrong/vote/v1";
/// Signing namespace of timeout messages (and therefore of timeout certificates).
pub const NS_TIMEOUT: &str = "lianrong/timeout/v1";

/// Most validators a set may hold; keeps bitmaps, vote maps and certificates small.
pub const MAX_VALIDATORS: usize = 256;
/// Largest opaque payload a block may carry.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
/// Blocks a sync request asks for; an answer holds up to twice as many (it may be
/// extended to reach a certified block).
///
/// Eight: a catching-up node holds a few answers at every stage (the frame being read,
/// decoded and verified ranges waiting in the windows), and an answer of full blocks
/// grows with this. At 16, answers of over 8 MiB made the late node of `lianrong bench
/// --catch-up` peak above 256 MiB; at 8 it caught up as fast (the executor sets the pace,
/// not the round trips) with ~18 MiB less (node/README.md, "Smaller sync answers").
pub const MAX_SYNC_BLOCKS: usize = 8;
/// Largest encoded network message accepted by [`decode_message`]: a full sync response
/// (twice the batch, since a response may be extended to reach a certified block).
pub const MAX_MESSAGE_BYTES: usize = 2 * MAX_SYNC_BLOCKS * (MAX_PAYLOAD_BYTES + 32 * 1024);
/// Longest chain id accepted (it is length-prefixed in every signing message).
pub const MAX_CHAIN_ID_LEN: usize = 64;

/// Why a certificate, signature or structural check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// A signer index is not below the number of validators.
    #[error("signer index {0} out of range")]
    SignerOutOfRange(u16),
    /// Signer indexes are not strictly increasing (duplicate or unsorted).
    #[error("signer indexes not strictly increasing (duplicate signer?)")]
    DuplicateOrUnsorted,
    /// The parallel arrays (signers, signatures, rounds) have different lengths.
    #[error("signer and signature lists differ in length")]
    LengthMismatch,
    /// Fewer distinct signers than the quorum.
    #[error("{got} signers, quorum is {need}")]
    NoQuorum {
        /// Signers present.
        got: usize,
        /// Signers needed.
        need: usize,
    },
    /// A signature does not verify.
    #[error("bad signature from validator {0}")]
    BadSignature(u16),
    /// A certificate without signatures that is not exactly the genesis certificate.
    #[error("not the genesis certificate")]
    FakeGenesis,
    /// The certificate is for another epoch.
    #[error("wrong epoch {got}, expected {expected}")]
    WrongEpoch {
        /// Epoch in the certificate.
        got: u64,
        /// Epoch expected.
        expected: u64,
    },
    /// A commit certificate whose rounds are not consecutive commits nothing.
    #[error("certificate does not commit a block (rounds not consecutive)")]
    NotACommit,
}

/// Why a validator set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidatorSetError {
    /// No validators, or more than [`MAX_VALIDATORS`].
    #[error("a validator set needs 1..={MAX_VALIDATORS} members, got {0}")]
    Size(usize),
    /// The same key appears twice.
    #[error("duplicate validator key {0}")]
    DuplicateKey(PublicKey),
}

/// One validator: its consensus key and, for people, the organisation that runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validator {
    /// Ed25519 key that signs proposals, votes and timeouts.
    pub key: PublicKey,
    /// Organisation label (informational; not used by the protocol).
    pub org: Option<OrgId>,
}

/// An ordered validator set. Index `i` in every certificate refers to `validators[i]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Validator>", into = "Vec<Validator>")]
pub struct ValidatorSet {
    validators: Vec<Validator>,
}

impl TryFrom<Vec<Validator>> for ValidatorSet {
    type Error = ValidatorSetError;
    fn try_from(v: Vec<Validator>) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<ValidatorSet> for Vec<Validator> {
    fn from(s: ValidatorSet) -> Self {
        s.validators
    }
}

impl ValidatorSet {
    /// Validates size and key uniqueness.
    pub fn new(validators: Vec<Validator>) -> Result<Self, ValidatorSetError> {
        if validators.is_empty() || validators.len() > MAX_VALIDATORS {
            return Err(ValidatorSetError::Size(validators.len()));
        }
        let mut keys: Vec<PublicKey> = validators.iter().map(|v| v.key).collect();
        keys.sort();
        if let Some(w) = keys.windows(2).find(|w| w[0] == w[1]) {
            return Err(ValidatorSetError::DuplicateKey(w[0]));
        }
        Ok(Self { validators })
    }

    /// A set of unlabeled keys.
    pub fn from_keys(keys: &[PublicKey]) -> Result<Self, ValidatorSetError> {
        Self::new(
            keys.iter()
                .map(|k| Validator { key: *k, org: None })
                .collect(),
        )
    }

    /// Number of validators `n`.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Always false (a set is never empty); present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// Faults tolerated: `f = (n - 1) / 3`.
    pub fn f(&self) -> usize {
        (self.len() - 1) / 3
    }

    /// Signatures a certificate needs: `n - f` (= `2f + 1` when `n = 3f + 1`).
    pub fn quorum(&self) -> usize {
        self.len() - self.f()
    }

    /// The members in index order.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// Key of validator `i`, if it exists.
    pub fn key(&self, i: u16) -> Option<&PublicKey> {
        self.validators.get(i as usize).map(|v| &v.key)
    }

    /// Index of `key`, if it is a member.
    pub fn index_of(&self, key: &PublicKey) -> Option<u16> {
        self.validators
            .iter()
            .position(|v| v.key == *key)
            .map(|i| i as u16)
    }

    /// Leader of `round`: plain round robin, so every validator leads equally often and a
    /// run of `f` faulty leaders is always followed by honest ones.
    pub fn leader(&self, round: u64) -> u16 {
        (round % self.len() as u64) as u16
    }

    /// Identifies the set (used in the genesis hash).
    pub fn digest(&self) -> Hash {
        sha256_parts(&[b"lianrong/validator-set/v1", &encode(self)])
    }
}

/// The hash of the implicit genesis block of a chain: what every certificate chain
/// starts from, computable by anyone holding the chain id and the genesis validator set.
pub fn genesis_hash(chain_id: &str, validators: &ValidatorSet, genesis_time_ms: u64) -> Hash {
    sha256_parts(&[
        b"lianrong/genesis/v1",
        chain_id.as_bytes(),
        validators.digest().as_bytes(),
        &genesis_time_ms.to_le_bytes(),
    ])
}

/// What a vote (and so a quorum certificate) vouches for. The parent fields make a
/// certificate on a block whose round directly follows its parent's round a *commit*
/// certificate for that parent, checkable without the blocks themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VoteData {
    /// Epoch (validator-set generation) the vote belongs to.
    pub epoch: u64,
    /// The voted block.
    pub block_hash: Hash,
    /// Its height.
    pub height: u64,
    /// Its round.
    pub round: u64,
    /// Its parent's hash.
    pub parent_hash: Hash,
    /// Its parent's round.
    pub parent_round: u64,
}

impl VoteData {
    /// The vote for `block`: its identity and the parent it extends.
    pub fn for_block(block: &Block) -> VoteData {
        VoteData {
            epoch: block.epoch,
            block_hash: block.hash(),
            height: block.height,
            round: block.round,
            parent_hash: block.parent,
            parent_round: block.justify.round(),
        }
    }

    /// The bytes a voter signs.
    pub fn signing_bytes(&self, chain_id: &str) -> Vec<u8> {
        signing_message(NS_VOTE, chain_id, &encode(self))
    }

    /// The block a quorum on this data commits (two-chain rule: the parent, if the voted
    /// block's round directly follows it).
    pub fn commits(&self) -> Option<BlockId> {
        (self.height >= 1 && self.parent_round.checked_add(1) == Some(self.round)).then(|| {
            BlockId {
                hash: self.parent_hash,
                height: self.height - 1,
                round: self.parent_round,
            }
        })
    }
}

/// The pseudo-round of an epoch-end certificate: far above any real round, so such a
/// certificate can never justify a block or appear in a timeout.
pub const EPOCH_END_ROUND: u64 = u64::MAX;

/// What validators sign to close an epoch at its reconfiguration block `block`, once they
/// have finalized it: a vote for a pseudo-child in round [`EPOCH_END_ROUND`], so a quorum
/// of them is an ordinary [`CommitCertificate`] for `block`, checkable with the old set.
pub fn epoch_end_vote(epoch: u64, block: &BlockId) -> VoteData {
    VoteData {
        epoch,
        block_hash: sha256_parts(&[b"lianrong/epoch-end/v1", block.hash.as_bytes()]),
        height: block.height + 1,
        round: EPOCH_END_ROUND,
        parent_hash: block.hash,
        parent_round: EPOCH_END_ROUND - 1,
    }
}

/// Hash, height and round of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockId {
    /// Block hash.
    pub hash: Hash,
    /// Height (genesis is 0).
    pub height: u64,
    /// Round it was proposed in.
    pub round: u64,
}

/// Checks `signers` is a strictly increasing list of valid indexes of a quorum.
fn check_signers(
    signers: &[u16],
    n_sigs: usize,
    set: &ValidatorSet,
    quorum: usize,
) -> Result<(), CertError> {
    if signers.len() != n_sigs {
        return Err(CertError::LengthMismatch);
    }
    if let Some(&bad) = signers.iter().find(|&&i| i as usize >= set.len()) {
        return Err(CertError::SignerOutOfRange(bad));
    }
    if signers.windows(2).any(|w| w[0] >= w[1]) {
        return Err(CertError::DuplicateOrUnsorted);
    }
    if signers.len() < quorum {
        return Err(CertError::NoQuorum {
            got: signers.len(),
            need: quorum,
        });
    }
    Ok(())
}

/// Verifies a batch of (signer, message, signature); names the first bad signer.
fn verify_all(set: &ValidatorSet, items: Vec<(u16, Vec<u8>, Signature)>) -> Result<(), CertError> {
    let mut batch = BatchVerifier::new();
    let signers: Vec<u16> = items.iter().map(|i| i.0).collect();
    for (i, msg, sig) in items {
        let key = *set.key(i).ok_or(CertError::SignerOutOfRange(i))?;
        batch.push(key, msg, sig);
    }
    for (i, r) in batch.verify().into_iter().enumerate() {
        if r.is_err() {
            return Err(CertError::BadSignature(signers[i]));
        }
    }
    Ok(())
}

/// A quorum certificate: `quorum` validators signed the same [`VoteData`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumCert {
    /// What was voted for.
    pub vote: VoteData,
    /// Indexes of the signers, strictly increasing.
    pub signers: Vec<u16>,
    /// One signature per signer, same order.
    pub signatures: Vec<Signature>,
}

impl QuorumCert {
    /// The certificate of the implicit genesis block (no signatures; recognised by value).
    pub fn genesis(genesis: Hash) -> Self {
        Self {
            vote: VoteData {
                epoch: 0,
                block_hash: genesis,
                height: 0,
                round: 0,
                parent_hash: Hash::ZERO,
                parent_round: 0,
            },
            signers: Vec::new(),
            signatures: Vec::new(),
        }
    }

    /// Round of the certified block.
    pub fn round(&self) -> u64 {
        self.vote.round
    }

    /// The certified block.
    pub fn block(&self) -> BlockId {
        BlockId {
            hash: self.vote.block_hash,
            height: self.vote.height,
            round: self.vote.round,
        }
    }

    /// A digest of the whole certificate, used to skip re-verifying one already checked.
    pub fn digest(&self) -> Hash {
        sha256_parts(&[b"lianrong/qc-digest", &encode(self)])
    }

    /// Checks structure and every signature against `set` with the given quorum.
    /// `genesis` is the chain's genesis hash: the only certificate allowed no signatures.
    pub fn verify_with_quorum(
        &self,
        set: &ValidatorSet,
        chain_id: &str,
        genesis: Hash,
        quorum: usize,
    ) -> Result<(), CertError> {
        if self.vote.height == 0 || self.signers.is_empty() {
            return if *self == Self::genesis(genesis) {
                Ok(())
            } else {
                Err(CertError::FakeGenesis)
            };
        }
        check_signers(&self.signers, self.signatures.len(), set, quorum)?;
        let msg = self.vote.signing_bytes(chain_id);
        verify_all(
            set,
            self.signers
                .iter()
                .zip(&self.signatures)
                .map(|(&i, s)| (i, msg.clone(), *s))
                .collect(),
        )
    }

    /// [`QuorumCert::verify_with_quorum`] with the set's own quorum.
    pub fn verify(
        &self,
        set: &ValidatorSet,
        chain_id: &str,
        genesis: Hash,
    ) -> Result<(), CertError> {
        self.verify_with_quorum(set, chain_id, genesis, set.quorum())
    }
}

/// Proof that a block is final: a quorum certificate on a child whose round directly
/// follows the block's round (the two-chain rule). Anyone holding the chain id and the
/// validator set can check it; ancestors of the committed block are final by hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitCertificate {
    /// The certificate on the committing child.
    pub qc: QuorumCert,
}

impl CommitCertificate {
    /// The block this certificate commits, if its rounds are consecutive.
    pub fn committed(&self) -> Option<BlockId> {
        self.qc.vote.commits()
    }

    /// Verifies every signature and returns the committed block.
    ///
    /// ```
    /// use lianrong_consensus::{CommitCertificate, QuorumCert, ValidatorSet, VoteData};
    /// use lianrong_primitives::{Hash, SecretKey};
    /// let keys: Vec<SecretKey> = (1..=4u8).map(|i| SecretKey::from_seed([i; 32])).collect();
    /// let set = ValidatorSet::from_keys(&keys.iter().map(|k| k.public()).collect::<Vec<_>>()).unwrap();
    /// let vote = VoteData { epoch: 0, block_hash: Hash([2; 32]), height: 2, round: 5,
    ///                       parent_hash: Hash([1; 32]), parent_round: 4 };
    /// let msg = vote.signing_bytes("demo");
    /// let qc = QuorumCert { vote, signers: vec![0, 1, 3],
    ///     signatures: [0, 1, 3].iter().map(|&i: &usize| keys[i].sign(&msg)).collect() };
    /// let cert = CommitCertificate { qc };
    /// let id = cert.verify(&set, "demo", Hash::ZERO).unwrap();
    /// assert_eq!((id.hash, id.height, id.round), (Hash([1; 32]), 1, 4));
    /// assert!(cert.verify(&set, "other-chain", Hash::ZERO).is_err());
    /// ```
    pub fn verify(
        &self,
        set: &ValidatorSet,
        chain_id: &str,
        genesis: Hash,
    ) -> Result<BlockId, CertError> {
        self.verify_with_quorum(set, chain_id, genesis, set.quorum())
    }

    /// [`CommitCertificate::verify`] with an explicit quorum.
    pub fn verify_with_quorum(
        &self,
        set: &ValidatorSet,
        chain_id: &str,
        genesis: Hash,
        quorum: usize,
    ) -> Result<BlockId, CertError> {
        let id = self.committed().ok_or(CertError::NotACommit)?;
        self.qc.verify_with_quorum(set, chain_id, genesis, quorum)?;
        Ok(id)
    }
}

/// What a timeout message signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeoutData {
    /// Epoch.
    pub epoch: u64,
    /// The round given up on.
    pub round: u64,
    /// Round of the sender's highest quorum certificate.
    pub high_qc_round: u64,
}

impl TimeoutData {
    /// The bytes a validator signs.
    pub fn signing_bytes(&self, chain_id: &str) -> Vec<u8> {
        signing_message(NS_TIMEOUT, chain_id, &encode(self))
    }
}

/// A timeout certificate: `quorum` validators gave up on `round`, each stating its
/// highest certified round. A block justified by it must extend a certificate at least
/// as high as the highest of those rounds (Jolteon's view-change rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeoutCert {
    /// Epoch.
    pub epoch: u64,
    /// The round that timed out.
    pub round: u64,
    /// Signer indexes, strictly increasing.
    pub signers: Vec<u16>,
    /// Each signer's high-QC round, same order.
    pub high_qc_rounds: Vec<u64>,
    /// Each signer's signature over [`TimeoutData`], same order.
    pub signatures: Vec<Signature>,
}

impl TimeoutCert {
    /// Highest high-QC round reported; a new block must extend at least this.
    pub fn max_high_qc_round(&self) -> u64 {
        self.high_qc_rounds.iter().copied().max().unwrap_or(0)
    }

    /// Checks structure and every signature.
    pub fn verify_with_quorum(
        &self,
        set: &ValidatorSet,
        chain_id: &str,
        quorum: usize,
    ) -> Result<(), CertError> {
        if self.high_qc_rounds.len() != self.signers.len() {
            return Err(CertError::LengthMismatch);
        }
        check_signers(&self.signers, self.signatures.len(), set, quorum)?;
        let items = self
            .signers
            .iter()
            .zip(&self.high_qc_rounds)
            .zip(&self.signatures)
            .map(|((&i, &hqc), s)| {
                let data = TimeoutData {
                    epoch: self.epoch,
                    round: self.round,
                    high_qc_round: hqc,
                };
                (i, data.signing_bytes(chain_id), *s)
            })
            .collect();
        verify_all(set, items)
    }
}

/// The application's state after executing one finalized block: what a block certifies
/// about the ledger. Every block carries the commit of the height [`executed_height`]
/// names, and a validator votes for it only if its own execution of that height gave
/// exactly these roots; a quorum certificate on the block therefore certifies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ExecutionCommit {
    /// Height of the executed block (0: the genesis state).
    pub height: u64,
    /// Root of the state tree after that block.
    pub state_root: Hash,
    /// Root of that block's results (its receipts, in block order); zero at genesis.
    pub results_root: Hash,
}

impl ExecutionCommit {
    /// The genesis state's commit (height 0, no results).
    pub fn genesis(state_root: Hash) -> Self {
        Self {
            height: 0,
            state_root,
            results_root: Hash::ZERO,
        }
    }
}

/// How many blocks the state a block certifies trails. With no lag, a block certified the
/// height its own `justify` commits: a leader that had just formed that certificate had to
/// execute the height before it could propose, and every voter (which finalizes it on
/// receiving the proposal) before it could vote, so execution sat twice on every block's
/// critical path. With a lag of one block, a block certifies what its parent's `justify`
/// committed, which every voter finalized a round earlier, on receiving the parent: each
/// node executes a block while the next one is being proposed and voted on (the node's
/// executor runs beside its consensus loop). The heights certified are the same as
/// without the lag (those committed by their own certificate), one block later.
pub const EXECUTION_LAG: u64 = 1;

/// The height final at a block with this `justify` whose own certified height is
/// `executed`: the block `justify` commits under the two-chain rule, or, when it commits
/// nothing, `executed`. A signature-free genesis or epoch-root certificate (round 0)
/// certifies a block that is already final. What the block hands on to its children
/// ([`executed_height`]); [`Block::hands_on`] for a whole block.
pub fn final_at(justify: &QuorumCert, executed: u64) -> u64 {
    if justify.round() == 0 {
        return justify.vote.height;
    }
    match justify.vote.commits() {
        Some(committed) => committed.height.max(executed),
        None => executed,
    }
}

/// The height whose [`ExecutionCommit`] a block extending `justify` must carry, given
/// what its parent hands on ([`Block::hands_on`]; 0 for genesis): that height, the chain's
/// finality one block ([`EXECUTION_LAG`]) behind. An epoch's first block (its `justify` the
/// signature-free epoch-root certificate, round 0) certifies the state its
/// reconfiguration block left, with no lag, so the new set starts from a state it checked.
///
/// A pure function of the chain, so proposer, voters and auditors agree on it, and the
/// height only grows along a chain. Every validator that votes for the block has
/// finalized that height (it processed the parent's `justify` first), so it can check the
/// roots.
pub fn executed_height(justify: &QuorumCert, parent_hands_on: u64) -> u64 {
    if justify.round() == 0 {
        justify.vote.height
    } else {
        parent_hands_on
    }
}

/// What a block's hash covers: every field of the block, with the payload, the parent's
/// certificate and the validator-set change replaced by their hashes, so that a client
/// can check a block's identity (and the state root it certifies) from a few hundred
/// bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockHeader {
    /// Chain id.
    pub chain_id: String,
    /// Epoch.
    pub epoch: u64,
    /// Height.
    pub height: u64,
    /// Round it was proposed in.
    pub round: u64,
    /// Parent hash.
    pub parent: Hash,
    /// The parent certificate's [`QuorumCert::digest`]:
    /// `SHA-256("lianrong/qc-digest" || encode(justify))`.
    pub justify_hash: Hash,
    /// Index of the proposer.
    pub proposer: u16,
    /// Agreed time.
    pub timestamp_ms: u64,
    /// `SHA-256("lianrong/payload/v1" || payload)`.
    pub payload_hash: Hash,
    /// `SHA-256("lianrong/reconfig/v1" || encode(reconfig))` (the encoding of an
    /// `Option<ValidatorSet>`, so "no change" has a hash too).
    pub reconfig_hash: Hash,
    /// The certified application state.
    pub executed: ExecutionCommit,
}

impl BlockHeader {
    /// The block hash: `SHA-256("lianrong/block/v2" || encode(header))`.
    pub fn hash(&self) -> Hash {
        sha256_parts(&[b"lianrong/block/v2", &encode(self)])
    }
}

/// Hash of a payload as the header commits it.
pub fn payload_hash(payload: &[u8]) -> Hash {
    sha256_parts(&[b"lianrong/payload/v1", payload])
}

/// Hash of a block's validator-set change as the header commits it.
pub fn reconfig_hash(reconfig: &Option<ValidatorSet>) -> Hash {
    sha256_parts(&[b"lianrong/reconfig/v1", &encode(reconfig)])
}

/// A block. Its hash is its header's: it covers every field, the parent's certificate and
/// the certified application state included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// Chain id; a block of another chain never verifies here.
    pub chain_id: String,
    /// Epoch.
    pub epoch: u64,
    /// Height: parent height + 1.
    pub height: u64,
    /// Round it was proposed in.
    pub round: u64,
    /// Parent hash (= `justify.vote.block_hash`).
    pub parent: Hash,
    /// Certificate of the parent.
    pub justify: QuorumCert,
    /// Index of the proposer (the leader of `round`).
    pub proposer: u16,
    /// Agreed time in milliseconds since the Unix epoch; strictly above the parent's.
    pub timestamp_ms: u64,
    /// Opaque application payload (at most [`MAX_PAYLOAD_BYTES`]).
    pub payload: Vec<u8>,
    /// A validator set change decided by the application: when this block is finalized,
    /// the epoch ends here and the next block is the first of the next epoch, certified by
    /// this set. See the crate README ("Validator set changes").
    pub reconfig: Option<ValidatorSet>,
    /// The application state after the block at `executed.height` =
    /// [`executed_height`]`(justify, parent's executed height)`.
    pub executed: ExecutionCommit,
}

impl Block {
    /// The height this block's children certify unless they start an epoch
    /// ([`executed_height`]): what was final at this block ([`final_at`]).
    pub fn hands_on(&self) -> u64 {
        final_at(&self.justify, self.executed.height)
    }

    /// The block's header: what its hash covers.
    pub fn header(&self) -> BlockHeader {
        BlockHeader {
            chain_id: self.chain_id.clone(),
            epoch: self.epoch,
            height: self.height,
            round: self.round,
            parent: self.parent,
            justify_hash: self.justify.digest(),
            proposer: self.proposer,
            timestamp_ms: self.timestamp_ms,
            payload_hash: payload_hash(&self.payload),
            reconfig_hash: reconfig_hash(&self.reconfig),
            executed: self.executed,
        }
    }

    /// The block hash (its header's).
    pub fn hash(&self) -> Hash {
        self.header().hash()
    }

    /// Hash, height and round.
    pub fn id(&self) -> BlockId {
        BlockId {
            hash: self.hash(),
            height: self.height,
            round: self.round,
        }
    }
}

/// What a proposer signs: the block's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalData {
    /// Epoch.
    pub epoch: u64,
    /// Round.
    pub round: u64,
    /// Height.
    pub height: u64,
    /// Block hash.
    pub block_hash: Hash,
}

impl ProposalData {
    /// The bytes a proposer signs.
    pub fn signing_bytes(&self, chain_id: &str) -> Vec<u8> {
        signing_message(NS_PROPOSAL, chain_id, &encode(self))
    }
}

/// A signed block proposal, with the timeout certificate that justifies it when its
/// parent's round is not the previous round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The block.
    pub block: Block,
    /// Timeout certificate for `block.round - 1`, when needed.
    pub tc: Option<TimeoutCert>,
    /// Proposer's signature over [`ProposalData`].
    pub signature: Signature,
}

impl Proposal {
    /// Signs `block` as its proposer.
    pub fn sign(block: Block, tc: Option<TimeoutCert>, key: &SecretKey) -> Self {
        let data = Self::data_of(&block);
        let signature = key.sign(&data.signing_bytes(&block.chain_id));
        Self {
            block,
            tc,
            signature,
        }
    }

    /// The signed data of a block.
    pub fn data_of(block: &Block) -> ProposalData {
        ProposalData {
            epoch: block.epoch,
            round: block.round,
            height: block.height,
            block_hash: block.hash(),
        }
    }
}

/// A signed vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// What is voted for.
    pub data: VoteData,
    /// Voter index.
    pub voter: u16,
    /// Signature over [`VoteData::signing_bytes`].
    pub signature: Signature,
}

impl Vote {
    /// Signs `data` as validator `voter`.
    pub fn sign(data: VoteData, voter: u16, key: &SecretKey, chain_id: &str) -> Self {
        Self {
            data,
            voter,
            signature: key.sign(&data.signing_bytes(chain_id)),
        }
    }
}

/// A signed timeout, carrying the sender's highest certificate so the next leader can
/// extend it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeout {
    /// Epoch.
    pub epoch: u64,
    /// Round given up on.
    pub round: u64,
    /// Sender's highest quorum certificate.
    pub high_qc: QuorumCert,
    /// Sender index.
    pub voter: u16,
    /// Signature over [`TimeoutData`].
    pub signature: Signature,
    /// The sender's latest timeout certificate (unsigned: it certifies itself), so a
    /// validator stuck in an older round can follow; without it a lagging minority that
    /// missed one timeout could wait forever.
    pub last_tc: Option<TimeoutCert>,
}

impl Timeout {
    /// The signed data.
    pub fn data(&self) -> TimeoutData {
        TimeoutData {
            epoch: self.epoch,
            round: self.round,
            high_qc_round: self.high_qc.round(),
        }
    }
}

/// A finalized block and the certificate that makes it final. The certificate commits
/// this block or a descendant (two-chain commits carry their uncommitted ancestors along);
/// in the latter case the hash chain from the certified block down to this one proves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizedBlock {
    /// The block.
    pub block: Block,
    /// Commit certificate of this block or of a descendant.
    pub cert: CommitCertificate,
}

/// Portable proof that a validator signed two conflicting messages for one round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Evidence {
    /// Two different proposals for the same round by its leader.
    DoubleProposal {
        /// The proposer.
        proposer: u16,
        /// First proposal and its signature.
        a: (ProposalData, Signature),
        /// Second proposal and its signature.
        b: (ProposalData, Signature),
    },
    /// Two different votes for the same round by one validator.
    DoubleVote {
        /// The voter.
        voter: u16,
        /// First vote and its signature.
        a: (VoteData, Signature),
        /// Second vote and its signature.
        b: (VoteData, Signature),
    },
}

impl Evidence {
    /// The epoch whose validator set the offender index refers to.
    pub fn epoch(&self) -> u64 {
        match self {
            Evidence::DoubleProposal { a, .. } => a.0.epoch,
            Evidence::DoubleVote { a, .. } => a.0.epoch,
        }
    }

    /// The validator the evidence incriminates.
    pub fn offender(&self) -> u16 {
        match self {
            Evidence::DoubleProposal { proposer, .. } => *proposer,
            Evidence::DoubleVote { voter, .. } => *voter,
        }
    }

    /// Checks both signatures and that the two messages really conflict.
    pub fn verify(&self, set: &ValidatorSet, chain_id: &str) -> Result<(), CertError> {
        let (who, (ma, sa), (mb, sb), conflict) = match self {
            Evidence::DoubleProposal { proposer, a, b } => (
                *proposer,
                (a.0.signing_bytes(chain_id), a.1),
                (b.0.signing_bytes(chain_id), b.1),
                a.0.epoch == b.0.epoch && a.0.round == b.0.round && a.0 != b.0,
            ),
            Evidence::DoubleVote { voter, a, b } => (
                *voter,
                (a.0.signing_bytes(chain_id), a.1),
                (b.0.signing_bytes(chain_id), b.1),
                a.0.epoch == b.0.epoch && a.0.round == b.0.round && a.0 != b.0,
            ),
        };
        if !conflict {
            return Err(CertError::NotACommit);
        }
        let key = set.key(who).ok_or(CertError::SignerOutOfRange(who))?;
        verify(key, &ma, &sa).map_err(|_| CertError::BadSignature(who))?;
        verify(key, &mb, &sb).map_err(|_| CertError::BadSignature(who))?;
        Ok(())
    }
}

/// Every consensus message on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// A leader's block.
    Proposal(Box<Proposal>),
    /// A vote, sent to the next leader.
    Vote(Vote),
    /// A timeout, broadcast.
    Timeout(Box<Timeout>),
    /// "Send me the block with this hash" (a certified block I am missing).
    BlockRequest(Hash),
    /// Answer to [`Message::BlockRequest`].
    BlockResponse(Box<Block>),
    /// "Send me finalized blocks from this height on."
    SyncRequest {
        /// First height wanted.
        from_height: u64,
    },
    /// "I have finalized this epoch's reconfiguration block": an epoch-end vote
    /// (see [`epoch_end_vote`]), broadcast.
    EpochEnd(Vote),
    /// The epoch-end certificate of a closed epoch, sent to a validator still collecting
    /// epoch-end votes for it.
    EpochCert(CommitCertificate),
    /// Consecutive finalized blocks; `cert` commits the last one.
    SyncResponse {
        /// Blocks in height order.
        blocks: Vec<Block>,
        /// Commit certificate of the last block.
        cert: CommitCertificate,
    },
}

impl Message {
    /// Canonical bytes for the network.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }
}

/// Decodes a network message strictly, refusing anything over [`MAX_MESSAGE_BYTES`].
/// Signatures are *not* checked here; the engine checks every one before it counts.
pub fn decode_message(bytes: &[u8]) -> Result<Message, CodecError> {
    decode(bytes, MAX_MESSAGE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: u8) -> Vec<SecretKey> {
        (1..=n).map(|i| SecretKey::from_seed([i; 32])).collect()
    }

    fn set_of(keys: &[SecretKey]) -> ValidatorSet {
        ValidatorSet::from_keys(&keys.iter().map(|k| k.public()).collect::<Vec<_>>()).unwrap()
    }

    fn qc(keys: &[SecretKey], signers: &[u16], chain: &str) -> QuorumCert {
        let vote = VoteData {
            epoch: 0,
            block_hash: Hash([7; 32]),
            height: 3,
            round: 9,
            parent_hash: Hash([6; 32]),
            parent_round: 8,
        };
        let msg = vote.signing_bytes(chain);
        QuorumCert {
            vote,
            signers: signers.to_vec(),
            signatures: signers
                .iter()
                .map(|&i| keys[i as usize].sign(&msg))
                .collect(),
        }
    }

    #[test]
    fn quorum_sizes() {
        for (n, f, q) in [(1, 0, 1), (4, 1, 3), (5, 1, 4), (7, 2, 5), (10, 3, 7)] {
            let s = set_of(&keys(n));
            assert_eq!((s.f(), s.quorum()), (f, q), "n={n}");
        }
    }

    #[test]
    fn good_certificate_verifies_and_commits_parent() {
        let k = keys(4);
        let cert = CommitCertificate {
            qc: qc(&k, &[0, 2, 3], "c"),
        };
        let id = cert.verify(&set_of(&k), "c", Hash::ZERO).unwrap();
        assert_eq!(
            id,
            BlockId {
                hash: Hash([6; 32]),
                height: 2,
                round: 8
            }
        );
    }

    #[test]
    fn certificate_rejections() {
        let k = keys(4);
        let set = set_of(&k);
        let g = Hash::ZERO;
        assert_eq!(
            qc(&k, &[0, 1], "c").verify(&set, "c", g),
            Err(CertError::NoQuorum { got: 2, need: 3 })
        );
        assert_eq!(
            qc(&k, &[0, 1, 2], "c").verify(&set, "other", g),
            Err(CertError::BadSignature(0))
        );
        let mut dup = qc(&k, &[0, 1, 2], "c");
        dup.signers[2] = 1;
        dup.signatures[2] = dup.signatures[1];
        assert_eq!(
            dup.verify(&set, "c", g),
            Err(CertError::DuplicateOrUnsorted)
        );
        let mut bad = qc(&k, &[0, 1, 2], "c");
        bad.signatures[1].0[3] ^= 1;
        assert_eq!(bad.verify(&set, "c", g), Err(CertError::BadSignature(1)));
        let mut short = qc(&k, &[0, 1, 2], "c");
        short.signatures.pop();
        assert_eq!(short.verify(&set, "c", g), Err(CertError::LengthMismatch));
        let mut oob = qc(&k, &[0, 1, 2], "c");
        oob.signers[2] = 4;
        assert_eq!(
            oob.verify(&set, "c", g),
            Err(CertError::SignerOutOfRange(4))
        );
        let mut fake = qc(&k, &[], "c");
        fake.vote.height = 5;
        assert_eq!(fake.verify(&set, "c", g), Err(CertError::FakeGenesis));
        assert_eq!(QuorumCert::genesis(g).verify(&set, "c", g), Ok(()));
        let mut gap = qc(&k, &[0, 1, 2], "c");
        gap.vote.parent_round = 7;
        assert_eq!(
            CommitCertificate { qc: gap }.verify(&set, "c", g),
            Err(CertError::NotACommit)
        );
    }

    #[test]
    fn evidence_verifies_and_rejects_non_conflicts() {
        let k = keys(4);
        let set = set_of(&k);
        let a = qc(&k, &[], "c").vote;
        let mut b = a;
        b.block_hash = Hash([9; 32]);
        let sign = |d: &VoteData| k[1].sign(&d.signing_bytes("c"));
        let ev = Evidence::DoubleVote {
            voter: 1,
            a: (a, sign(&a)),
            b: (b, sign(&b)),
        };
        assert_eq!(ev.verify(&set, "c"), Ok(()));
        let same = Evidence::DoubleVote {
            voter: 1,
            a: (a, sign(&a)),
            b: (a, sign(&a)),
        };
        assert!(same.verify(&set, "c").is_err());
        let framed = Evidence::DoubleVote {
            voter: 2,
            a: (a, sign(&a)),
            b: (b, sign(&b)),
        };
        assert!(framed.verify(&set, "c").is_err());
    }

    #[test]
    fn messages_round_trip_and_garbage_is_refused() {
        let k = keys(4);
        let m = Message::Vote(Vote::sign(qc(&k, &[], "c").vote, 2, &k[2], "c"));
        assert_eq!(decode_message(&m.to_bytes()), Ok(m));
        assert!(decode_message(&[0xff; 40]).is_err());
        assert!(decode_message(&vec![0; MAX_MESSAGE_BYTES + 1]).is_err());
    }

    #[test]
    fn duplicate_validator_keys_are_refused() {
        let k = keys(2);
        let pk = k[0].public();
        assert!(matches!(
            ValidatorSet::from_keys(&[pk, pk]),
            Err(ValidatorSetError::DuplicateKey(_))
        ));
        assert!(ValidatorSet::from_keys(&[]).is_err());
    }
}
