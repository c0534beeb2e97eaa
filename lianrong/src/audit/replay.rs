//! The audit itself, one function for `audit chain`, `audit export` and `audit verify`:
//! raw blocks in height order go through the consensus crate's [`ChainAuditor`] (hash
//! chain, certificates of each epoch's validators, the executed-height rule), then are
//! re-executed with the contract layer on an in-memory store started from the genesis
//! file, and every root a block certifies (`block.executed`) must be the one this
//! execution produced at that height.

use std::collections::{BTreeMap, HashSet};

use lianrong_consensus::{
    Block, ChainAuditor, CommitCertificate, ExecutionCommit, FinalizedBlock, ValidatorSet,
    MAX_MESSAGE_BYTES, MAX_PAYLOAD_BYTES,
};
use lianrong_contracts::{
    execute_block, BlockContext, Event, Genesis, MemoryStorage, Receipt, VerifiedTransaction,
};
use lianrong_primitives::{codec, Hash};
use lianrong_sdk::{RawBlock, TrustRoot};
use serde::Serialize;

/// Why an audit did not pass.
#[derive(Debug, thiserror::Error)]
pub enum AuditFailure {
    /// The chain (or a package file derived from it) is wrong at `height`.
    #[error("height {height}: {reason}")]
    Discrepancy {
        /// The first height found wrong.
        height: u64,
        /// What is wrong there.
        reason: String,
    },
    /// A package is not as `audit export` writes it (a missing file, a line that is not
    /// a raw block).
    #[error("{0}")]
    Package(String),
    /// The audit could not be made: arguments, files, the node (not a finding about
    /// the chain).
    #[error("{0:#}")]
    Unavailable(anyhow::Error),
}

impl From<anyhow::Error> for AuditFailure {
    fn from(e: anyhow::Error) -> Self {
        AuditFailure::Unavailable(e)
    }
}

fn discrepancy(height: u64, reason: impl Into<String>) -> AuditFailure {
    AuditFailure::Discrepancy {
        height,
        reason: reason.into(),
    }
}

/// One block that passed: the block, its certificate and what executing it gave.
#[derive(Debug)]
pub struct AuditedBlock {
    /// The raw block as given (hex of the canonical encodings).
    pub raw: RawBlock,
    /// The decoded block.
    pub block: Block,
    /// Its certificate (committing it or a descendant).
    pub cert: CommitCertificate,
    /// Its hash (of its header).
    pub hash: Hash,
    /// The transactions executed, in block order.
    pub txs: Vec<VerifiedTransaction>,
    /// Transactions listed in the payload that every node drops (bad signature).
    pub dropped: Vec<Hash>,
    /// One receipt per executed transaction.
    pub receipts: Vec<Receipt>,
    /// Changes the ledger made by itself (the overdue sweep).
    pub ledger_events: Vec<Event>,
    /// This audit's execution of the block (certified by a later block).
    pub commit: ExecutionCommit,
}

/// What an audit that passed covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The chain id.
    pub chain_id: String,
    /// Hash of the implicit genesis block.
    pub genesis_hash: Hash,
    /// The genesis state's root.
    pub genesis_state_root: Hash,
    /// Blocks audited (heights 1..=blocks).
    pub blocks: u64,
    /// Transactions executed.
    pub transactions: u64,
    /// Transactions listed in payloads but dropped by every node (bad signature).
    pub dropped_transactions: u64,
    /// Epochs the blocks span.
    pub epochs: u64,
    /// Validator-set changes (reconfiguration blocks).
    pub validator_set_changes: u64,
    /// Hash of the last block.
    pub last_block_hash: Hash,
    /// The latest certified execution: what the last block certifies.
    pub certified: ExecutionCommit,
    /// This audit's execution of the last block (certified only by a later block).
    pub last_executed: ExecutionCommit,
}

impl Summary {
    /// Counts a block that passed; `txs` is (executed, dropped).
    fn add(&mut self, block: &Block, hash: Hash, txs: (usize, usize), commit: ExecutionCommit) {
        self.blocks += 1;
        self.transactions += txs.0 as u64;
        self.dropped_transactions += txs.1 as u64;
        self.epochs = block.epoch + 1;
        self.validator_set_changes += u64::from(block.reconfig.is_some());
        self.last_block_hash = hash;
        self.certified = block.executed;
        self.last_executed = commit;
    }
}

/// The incremental audit: feed [`Replay::push`] raw blocks from height 1 on.
pub struct Replay {
    chain_id: String,
    auditor: ChainAuditor,
    store: MemoryStorage,
    /// This audit's commits from the last certified height on (older ones are done).
    commits: BTreeMap<u64, ExecutionCommit>,
    /// The validator set the ledger decided (`ValidatorSetChanged`) and no block has
    /// carried yet: the next reconfiguration block must carry exactly this set.
    decided: Option<ValidatorSet>,
    summary: Summary,
}

impl Replay {
    /// An audit at genesis: the genesis state executed, no block seen.
    pub fn new(genesis: &Genesis) -> Result<Replay, AuditFailure> {
        let root = TrustRoot::from_genesis(genesis)
            .map_err(|e| anyhow::anyhow!("genesis of {}: {e}", genesis.chain_id))?;
        let mut store = MemoryStorage::new();
        let changes = genesis
            .changes(&store)
            .map_err(|e| anyhow::anyhow!("genesis of {}: {e}", genesis.chain_id))?;
        store.apply(&changes);
        let start = ExecutionCommit::genesis(changes.root);
        Ok(Replay {
            chain_id: genesis.chain_id.clone(),
            auditor: ChainAuditor::new(
                genesis.chain_id.clone(),
                root.validators,
                genesis.genesis_time_ms,
            ),
            store,
            commits: BTreeMap::from([(0, start)]),
            decided: None,
            summary: Summary {
                chain_id: genesis.chain_id.clone(),
                genesis_hash: root.genesis_hash,
                genesis_state_root: changes.root,
                blocks: 0,
                transactions: 0,
                dropped_transactions: 0,
                epochs: 1,
                validator_set_changes: 0,
                last_block_hash: root.genesis_hash,
                certified: start,
                last_executed: start,
            },
        })
    }

    /// Audits the next block: decodes it, checks it extends the chain with a valid
    /// certificate, checks the roots it certifies, and executes it.
    pub fn push(&mut self, raw: RawBlock) -> Result<AuditedBlock, AuditFailure> {
        let height = self.auditor.height() + 1;
        if raw.height != height {
            let why = if raw.height > height {
                format!(
                    "block {height} is missing: the next block given is {}",
                    raw.height
                )
            } else {
                format!(
                    "block {} is given again after block {}",
                    raw.height,
                    height - 1
                )
            };
            return Err(discrepancy(height, why));
        }
        let fb = decode_raw(&raw)?;
        if height == 1 && fb.block.parent != self.summary.genesis_hash {
            return Err(discrepancy(
                1,
                "block 1 does not extend the genesis of this genesis file (chain id, genesis \
                 time or genesis validators differ: is it the network's genesis?)",
            ));
        }
        self.auditor
            .push(&fb)
            .map_err(|e| discrepancy(height, e.to_string()))?;
        let FinalizedBlock { block, cert } = fb;
        self.check_certified(&block)?;
        self.check_reconfig(&block)?;
        let (txs, dropped) = transactions(&block, &self.chain_id);
        let ctx = BlockContext {
            height,
            time_ms: block.timestamp_ms,
        };
        let outcome = execute_block(&self.store, &ctx, &txs)
            .map_err(|e| discrepancy(height, format!("block {height} cannot be executed: {e}")))?;
        self.store.apply(&outcome.changes);
        self.note_decided(height, &outcome.receipts)?;
        let commit = ExecutionCommit {
            height,
            state_root: outcome.state_root(),
            results_root: outcome.results_root,
        };
        self.commits.insert(height, commit);
        let hash = block.hash();
        self.summary
            .add(&block, hash, (txs.len(), dropped.len()), commit);
        Ok(AuditedBlock {
            raw,
            block,
            cert,
            hash,
            txs,
            dropped,
            receipts: outcome.receipts,
            ledger_events: outcome.ledger_events,
            commit,
        })
    }

    /// The roots `block` certifies must be this audit's execution of that height.
    fn check_certified(&mut self, block: &Block) -> Result<(), AuditFailure> {
        let claimed = block.executed;
        let h = block.height;
        let Some(ours) = self.commits.get(&claimed.height).copied() else {
            return Err(discrepancy(
                h,
                format!(
                    "block {h} certifies the state after height {}, which this audit has not \
                     executed",
                    claimed.height
                ),
            ));
        };
        let mut wrong = Vec::new();
        if ours.state_root != claimed.state_root {
            wrong.push(format!(
                "state root {} (re-execution gives {})",
                claimed.state_root, ours.state_root
            ));
        }
        if ours.results_root != claimed.results_root {
            wrong.push(format!(
                "results root {} (re-execution gives {})",
                claimed.results_root, ours.results_root
            ));
        }
        if !wrong.is_empty() {
            return Err(discrepancy(
                h,
                format!(
                    "block {h} certifies {} after height {}",
                    wrong.join(" and "),
                    claimed.height
                ),
            ));
        }
        // Certified heights never decrease along a chain: older commits are done with.
        self.commits = self.commits.split_off(&claimed.height);
        Ok(())
    }

    /// A validator-set change in a block must be the one the ledger decided before it:
    /// consensus certifies whatever set a block carries, only the ledger says which is
    /// right.
    fn check_reconfig(&mut self, block: &Block) -> Result<(), AuditFailure> {
        let Some(carried) = &block.reconfig else {
            return Ok(());
        };
        let h = block.height;
        match self.decided.take() {
            Some(decided) if &decided == carried => Ok(()),
            Some(_) => Err(discrepancy(
                h,
                format!(
                    "block {h} changes the validator set to another set than the ledger decided"
                ),
            )),
            None => Err(discrepancy(
                h,
                format!("block {h} changes the validator set, but the ledger decided no change"),
            )),
        }
    }

    /// Records the validator set a block's transactions decided, if any (the last one).
    fn note_decided(&mut self, height: u64, receipts: &[Receipt]) -> Result<(), AuditFailure> {
        let decided = receipts
            .iter()
            .filter_map(|r| r.outcome.as_ref().ok())
            .flatten()
            .filter_map(|e| match e {
                Event::ValidatorSetChanged { validators } => Some(validators),
                _ => None,
            })
            .next_back();
        if let Some(v) = decided {
            let set = lianrong_sdk::validator_set(v).map_err(|e| {
                discrepancy(
                    height,
                    format!("block {height} decides an invalid validator set: {e}"),
                )
            })?;
            self.decided = Some(set);
        }
        Ok(())
    }

    /// Ends the audit: every block must be proven by a certificate.
    pub fn finish(self) -> Result<Summary, AuditFailure> {
        if let Err(e) = self.auditor.finish() {
            let unproven = match e {
                lianrong_consensus::AuditError::Unproven(n) => n as u64,
                _ => 1,
            };
            let first = (self.summary.blocks + 1).saturating_sub(unproven);
            return Err(discrepancy(
                first,
                format!(
                    "{e}: blocks {first} to {} end the input before the block whose \
                     certificate proves them",
                    self.summary.blocks
                ),
            ));
        }
        Ok(self.summary)
    }
}

/// The block and certificate of a raw block, decoded strictly.
fn decode_raw(raw: &RawBlock) -> Result<FinalizedBlock, AuditFailure> {
    let height = raw.height;
    let bytes = |hex_text: &str, what: &str| {
        hex::decode(hex_text.trim()).map_err(|e| {
            discrepancy(
                height,
                format!("the {what} of block {height} is not hex: {e}"),
            )
        })
    };
    let block: Block = codec::decode(&bytes(&raw.block_hex, "block")?, MAX_MESSAGE_BYTES)
        .map_err(|e| discrepancy(height, format!("block {height} does not decode: {e}")))?;
    let cert: CommitCertificate = codec::decode(
        &bytes(&raw.certificate_hex, "certificate")?,
        MAX_MESSAGE_BYTES,
    )
    .map_err(|e| {
        discrepancy(
            height,
            format!("the certificate of block {height} does not decode: {e}"),
        )
    })?;
    if block.height != height {
        return Err(discrepancy(
            height,
            format!(
                "the block given as height {height} is block {}",
                block.height
            ),
        ));
    }
    Ok(FinalizedBlock { block, cert })
}

/// The transactions a block executes (as every node decodes its payload) and the hashes
/// of those listed but dropped.
fn transactions(block: &Block, chain_id: &str) -> (Vec<VerifiedTransaction>, Vec<Hash>) {
    let txs = lianrong_node::payload::decode(&block.payload, chain_id, MAX_PAYLOAD_BYTES);
    if txs.len() == lianrong_node::payload::listed(&block.payload, MAX_PAYLOAD_BYTES).len() {
        return (txs, Vec::new());
    }
    let kept: HashSet<Hash> = txs.iter().map(VerifiedTransaction::hash).collect();
    let dropped = lianrong_node::payload::listed(&block.payload, MAX_PAYLOAD_BYTES)
        .iter()
        .map(|t| t.hash())
        .filter(|h| !kept.contains(h))
        .collect();
    (txs, dropped)
}

/// Audits `blocks` (heights 1, 2, ... in order) from `genesis`, calling `each` for every
/// block that passed, and returns the summary, or the first failure.
pub fn audit(
    genesis: &Genesis,
    blocks: impl IntoIterator<Item = Result<RawBlock, AuditFailure>>,
    mut each: impl FnMut(&AuditedBlock) -> Result<(), AuditFailure>,
) -> Result<Summary, AuditFailure> {
    let mut replay = Replay::new(genesis)?;
    for raw in blocks {
        let audited = replay.push(raw?)?;
        each(&audited)?;
    }
    replay.finish()
}
