//! Verifying a finalized chain from genesis, as the bank's auditors do in the explorer.
//!
//! Holding only the chain id, the genesis validator set and the genesis time, an auditor
//! feeds [`FinalizedBlock`]s in height order to a [`ChainAuditor`]. Each block must extend
//! the previous one, and each certificate must carry a quorum of valid signatures of the
//! validator set of the block's epoch and commit either the block itself or a later block
//! of the same run (whose hash chain then proves the earlier ones). A finalized block with
//! `reconfig = Some(set)` switches the set for the blocks after it. Each block must certify
//! the execution of the height [`executed_height`] names; whether those roots are right
//! only re-execution can tell (`lianrong audit chain` does it, reading
//! `block.executed`).

use std::collections::BTreeSet;

use lianrong_primitives::{encode, sha256, Hash};

use crate::types::{
    executed_height, genesis_hash, BlockId, CertError, FinalizedBlock, ValidatorSet,
};

/// Why a chain failed the audit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The block does not extend the previous one (height, parent hash, chain or epoch).
    #[error("block at height {0} does not extend the audited chain")]
    NotExtending(u64),
    /// The certificate does not verify against the epoch's validator set.
    #[error("bad certificate at height {height}: {error}")]
    Certificate {
        /// Height of the block.
        height: u64,
        /// What is wrong.
        error: CertError,
    },
    /// The certificate commits a block that is not this one or a later one of its run.
    #[error("certificate at height {0} commits another block")]
    WrongTarget(u64),
    /// The block certifies the execution of another height than the rule names.
    #[error("block at height {height} certifies the state of height {claimed}, not {expected}")]
    WrongExecutedHeight {
        /// Height of the block.
        height: u64,
        /// The executed height it certifies.
        claimed: u64,
        /// The height [`executed_height`] names.
        expected: u64,
    },
    /// The chain ended before the certified block that proves its last blocks.
    #[error("{0} trailing blocks are not yet proven by a certificate")]
    Unproven(usize),
}

/// Incremental verifier of a finalized chain.
#[derive(Debug, Clone)]
pub struct ChainAuditor {
    chain_id: String,
    genesis: Hash,
    set: ValidatorSet,
    epoch: u64,
    quorum: Option<usize>,
    last_hash: Hash,
    last_height: u64,
    /// What the last block hands on to its child ([`Block::hands_on`]).
    last_hands_on: u64,
    // Blocks accepted by hash chain but whose certificate commits a later block.
    unproven: usize,
    target: Option<BlockId>,
    verified: BTreeSet<Hash>,
}

impl ChainAuditor {
    /// An auditor at genesis.
    pub fn new(
        chain_id: impl Into<String>,
        genesis_set: ValidatorSet,
        genesis_time_ms: u64,
    ) -> Self {
        let chain_id = chain_id.into();
        let genesis = genesis_hash(&chain_id, &genesis_set, genesis_time_ms);
        Self {
            chain_id,
            genesis,
            set: genesis_set,
            epoch: 0,
            quorum: None,
            last_hash: genesis,
            last_height: 0,
            last_hands_on: 0,
            unproven: 0,
            target: None,
            verified: BTreeSet::new(),
        }
    }

    /// Uses `quorum` instead of each set's own (only to audit a deliberately broken
    /// engine in tests).
    pub fn with_quorum(mut self, quorum: usize) -> Self {
        self.quorum = Some(quorum);
        self
    }

    /// Height of the last block accepted.
    pub fn height(&self) -> u64 {
        self.last_height
    }

    /// The validator set of the current epoch.
    pub fn validators(&self) -> &ValidatorSet {
        &self.set
    }

    /// Checks the next block. Returns how many blocks became proven (0 while the block's
    /// certificate commits a later block not yet seen).
    pub fn push(&mut self, fb: &FinalizedBlock) -> Result<usize, AuditError> {
        let b = &fb.block;
        if b.height != self.last_height + 1
            || b.parent != self.last_hash
            || b.chain_id != self.chain_id
            || b.epoch != self.epoch
        {
            return Err(AuditError::NotExtending(b.height));
        }
        let expected = executed_height(&b.justify, self.last_hands_on);
        if b.executed.height != expected {
            return Err(AuditError::WrongExecutedHeight {
                height: b.height,
                claimed: b.executed.height,
                expected,
            });
        }
        let digest = sha256(&encode(&fb.cert));
        let quorum = self.quorum.unwrap_or(self.set.quorum());
        let target = match fb.cert.committed() {
            Some(t) if self.verified.contains(&digest) => t,
            _ => {
                let t = fb
                    .cert
                    .verify_with_quorum(&self.set, &self.chain_id, self.genesis, quorum)
                    .map_err(|error| AuditError::Certificate {
                        height: b.height,
                        error,
                    })?;
                if self.verified.len() >= 64 {
                    self.verified.clear();
                }
                self.verified.insert(digest);
                t
            }
        };
        if target.height < b.height || self.target.is_some_and(|t| t != target) {
            return Err(AuditError::WrongTarget(b.height));
        }
        let hash = b.hash();
        self.last_hash = hash;
        self.last_height = b.height;
        self.last_hands_on = b.hands_on();
        self.unproven += 1;
        if target.height > b.height {
            self.target = Some(target);
            return Ok(0);
        }
        if target.hash != hash {
            return Err(AuditError::WrongTarget(b.height));
        }
        self.target = None;
        if let Some(next) = &b.reconfig {
            self.set = next.clone();
            self.epoch += 1;
            self.verified.clear();
        }
        Ok(std::mem::take(&mut self.unproven))
    }

    /// Succeeds if every block pushed so far is proven.
    pub fn finish(&self) -> Result<(), AuditError> {
        match self.unproven {
            0 => Ok(()),
            n => Err(AuditError::Unproven(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Block, CommitCertificate, ExecutionCommit, QuorumCert, VoteData};
    use lianrong_primitives::SecretKey;

    const CHAIN: &str = "audit-chain";

    fn keys() -> Vec<SecretKey> {
        (1..=4u8).map(|i| SecretKey::from_seed([i; 32])).collect()
    }

    fn set() -> ValidatorSet {
        ValidatorSet::from_keys(&keys().iter().map(|k| k.public()).collect::<Vec<_>>()).unwrap()
    }

    fn qc_on(b: &Block) -> QuorumCert {
        let vote = VoteData {
            epoch: 0,
            block_hash: b.hash(),
            height: b.height,
            round: b.round,
            parent_hash: b.parent,
            parent_round: b.justify.round(),
        };
        let msg = vote.signing_bytes(CHAIN);
        QuorumCert {
            vote,
            signers: vec![1, 2, 3],
            signatures: keys()[1..].iter().map(|k| k.sign(&msg)).collect(),
        }
    }

    /// Blocks at heights 1..=n in rounds 1..=n on top of genesis.
    fn chain(n: u64) -> Vec<Block> {
        let genesis = genesis_hash(CHAIN, &set(), 0);
        let mut out: Vec<Block> = Vec::new();
        for h in 1..=n {
            let (parent, justify, parent_hands_on) = match out.last() {
                Some(p) => (p.hash(), qc_on(p), p.hands_on()),
                None => (genesis, QuorumCert::genesis(genesis), 0),
            };
            let executed = ExecutionCommit {
                height: executed_height(&justify, parent_hands_on),
                ..ExecutionCommit::genesis(Hash::ZERO)
            };
            out.push(Block {
                chain_id: CHAIN.into(),
                epoch: 0,
                height: h,
                round: h,
                parent,
                justify,
                proposer: (h % 4) as u16,
                timestamp_ms: h,
                payload: vec![h as u8],
                reconfig: None,
                executed,
            });
        }
        out
    }

    fn cert_for(child: &Block) -> CommitCertificate {
        CommitCertificate { qc: qc_on(child) }
    }

    #[test]
    fn direct_and_carried_certificates_are_accepted() {
        let c = chain(4);
        let mut a = ChainAuditor::new(CHAIN, set(), 0);
        assert_eq!(
            a.push(&FinalizedBlock {
                block: c[0].clone(),
                cert: cert_for(&c[1])
            }),
            Ok(1)
        );
        // Block 2 finalized together with block 3 by the certificate committing block 3.
        let carried = cert_for(&c[3]);
        assert_eq!(
            a.push(&FinalizedBlock {
                block: c[1].clone(),
                cert: carried.clone()
            }),
            Ok(0)
        );
        assert_eq!(a.finish(), Err(AuditError::Unproven(1)));
        assert_eq!(
            a.push(&FinalizedBlock {
                block: c[2].clone(),
                cert: carried
            }),
            Ok(2)
        );
        assert_eq!(a.finish(), Ok(()));
    }

    #[test]
    fn bad_chains_are_refused() {
        let c = chain(3);
        let mut forged = cert_for(&c[1]);
        forged.qc.signatures[0].0[1] ^= 1;
        let mut a = ChainAuditor::new(CHAIN, set(), 0);
        assert!(matches!(
            a.push(&FinalizedBlock {
                block: c[0].clone(),
                cert: forged
            }),
            Err(AuditError::Certificate { height: 1, .. })
        ));
        let mut a = ChainAuditor::new(CHAIN, set(), 0);
        assert_eq!(
            a.push(&FinalizedBlock {
                block: c[1].clone(),
                cert: cert_for(&c[2])
            }),
            Err(AuditError::NotExtending(2))
        );
        // A certificate committing a different block at the same height.
        let mut a = ChainAuditor::new(CHAIN, set(), 0);
        let mut other = c[0].clone();
        other.payload = b"other".to_vec();
        assert_eq!(
            a.push(&FinalizedBlock {
                block: other,
                cert: cert_for(&c[1])
            }),
            Err(AuditError::WrongTarget(1))
        );
        // Another chain's certificate does not verify here.
        let mut a = ChainAuditor::new("another-chain", set(), 0);
        assert!(a
            .push(&FinalizedBlock {
                block: c[0].clone(),
                cert: cert_for(&c[1])
            })
            .is_err());
    }
}
