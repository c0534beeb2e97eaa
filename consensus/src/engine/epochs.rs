//! Validator set changes: epoch-end votes, the epoch-end certificate that finalizes the
//! reconfiguration block, the switch to the next epoch (`start_epoch`), and whether a
//! reconfiguration is pending below a block.
//!
//! Separate because the epoch boundary is the one place where the validator set, the
//! quorum and the safety state are replaced wholesale.

use lianrong_primitives::{verify, Hash};

use crate::types::*;

use super::{Engine, Output, RejectReason, SafetyState, Target, LOCAL, MAX_PENDING_BLOCKS};

impl Engine {
    /// Signs (again) this node's epoch-end vote, if the epoch is ending.
    pub(super) fn broadcast_epoch_end(&mut self) {
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

    pub(super) fn on_epoch_end_vote(&mut self, v: Vote) -> Result<(), RejectReason> {
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
            .by_hash(&root.hash)
            .filter(|f| f.block.height == root.height)
            .map(|f| f.cert.clone())
    }

    pub(super) fn on_epoch_cert(&mut self, cert: CommitCertificate) -> Result<(), RejectReason> {
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
    pub(super) fn start_epoch(&mut self, root: BlockId, set: ValidatorSet) {
        // Safety changes made earlier in this call (votes sent before) go first, as usual;
        // the new epoch's state is persisted only after the reconfiguration block has been
        // handed out as final, so a crash in between leaves the old epoch, which the
        // stored block (or a sync) moves on from.
        if self.safety_dirty {
            self.safety_dirty = false;
            self.persist_first = Some(self.safety.clone());
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
        self.persist_last = Some(self.safety.clone());
        self.epoch_root_qc = Some(root_qc);
        self.me = set.index_of(&self.cfg.me.public());
        self.quorum = self.broken_quorum.unwrap_or(set.quorum());
        // A second change the application decided while the first was on its way is
        // still to be made in the new epoch.
        self.pending_reconfig = self.pending_reconfig.take().filter(|p| *p != set);
        self.set = set;
        self.ending = None;
        self.epoch_end_votes.clear();
        self.blocks.clear();
        self.pending_commit = None;
        self.pending_proposal = None;
        self.waiting_payload = None;
        self.wanted.clear();
        self.windows.new_epoch();
        self.votes.clear();
        self.seen_votes.clear();
        self.qc_formed.clear();
        self.timeouts.clear();
        self.seen_proposals.clear();
        self.last_tc = None;
        self.timed_out_round = 0;
        self.consecutive_timeouts = 0;
        self.quiet.clear();
        self.payload_requested = None;
        self.round = 0;
        self.enter_round(1);
    }

    /// Whether a block between `hash` (inclusive) and the last finalized block carries a
    /// reconfiguration. `Err(Some(h))`: block `h` of that chain is missing; `Err(None)`:
    /// the chain does not lead to our last finalized block.
    pub(super) fn reconfig_below(&self, mut hash: Hash) -> Result<bool, Option<Hash>> {
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
}

/// The signature-free certificate that starts an epoch: it certifies the reconfiguration
/// block that closed the previous epoch, which the engine has itself seen finalized.
pub(super) fn epoch_root_qc(epoch: u64, root: &BlockId) -> QuorumCert {
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
