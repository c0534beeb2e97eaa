//! Quorum certificates coming in: verifying them (with a cache of verified digests),
//! taking a verified one in (high QC, round, commit target, missing block), and learning
//! from the certificates carried by messages too far ahead to be judged.
//!
//! Separate because every path that accepts a QC (proposals, votes, timeouts, sync) goes
//! through these few functions.

use lianrong_primitives::Hash;

use crate::types::*;

use super::{Engine, RejectReason, QC_CACHE};

impl Engine {
    pub(super) fn verify_qc(&mut self, qc: &QuorumCert) -> Result<(), RejectReason> {
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
        self.remember_verified(digest);
        Ok(())
    }

    /// Caches a certificate known valid (checked, formed here, or carried by a verified
    /// sync answer), within [`QC_CACHE`]: every insert goes through here, so the cache
    /// stays bounded (found by `assert_bounds` under load when two paths inserted
    /// without the check).
    pub(super) fn remember_verified(&mut self, digest: Hash) {
        if self.verified_qcs.len() >= QC_CACHE {
            self.verified_qcs.clear();
        }
        self.verified_qcs.insert(digest);
    }

    /// Takes in a verified quorum certificate: raises the high QC, advances the round,
    /// records a commit it implies and fetches the certified block if missing.
    pub(super) fn process_qc(&mut self, qc: &QuorumCert) {
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
            // 2f + 1 validators have it final: catch-up may ask for blocks up to it.
            self.windows.raise_target(target.height);
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

    /// A message from far ahead of our round: we were down, paused or cut off while the
    /// others went on. The message itself is not judged yet (its round is beyond what
    /// we keep state for), but the certificates it carries are 2f+1 validators' proof of
    /// where the others are, whoever relayed them: take them in -- round, commit target,
    /// and the sync that fetches the blocks we missed -- so that the next message is
    /// within reach. Without this a validator left more than `MAX_ROUNDS_AHEAD` rounds
    /// behind refused everything it received and never caught up.
    pub(super) fn learn_from_certificates(
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
}
