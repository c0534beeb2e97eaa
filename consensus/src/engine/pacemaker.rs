//! Pacemaker: rounds, round timers with exponential back-off, the round leader, local
//! timeouts, timeout messages and timeout certificates (the view change).
//!
//! Separate because it is the liveness half of the protocol: it decides when a round ends
//! and who leads the next one, never what is voted for.

use lianrong_primitives::verify;

use crate::types::*;

use super::{
    Engine, Output, RejectReason, Target, TimerId, MAX_ROUNDS_AHEAD,
    SILENT_AFTER_ROUNDS_PER_MEMBER, SILENT_LEADER_TIMEOUT_SHARE, STALE_ROUNDS,
};

impl Engine {
    pub(super) fn leader(&self, round: u64) -> u16 {
        self.set.leader(round)
    }

    fn timeout_ms(&self) -> u64 {
        let exp = self.consecutive_timeouts.min(self.cfg.max_backoff_exponent);
        let full = self.cfg.base_timeout_ms.saturating_mul(1u64 << exp);
        // Waiting the full timer for a leader that has been silent for rounds only delays
        // the view change: its round ends sooner (and if it is back, its next rounds have
        // the full timer again, since its proposal is a message from it).
        if self.silent(self.leader(self.round)) {
            (full / SILENT_LEADER_TIMEOUT_SHARE).max(1)
        } else {
            full
        }
    }

    /// Whether validator `v` has been silent for [`SILENT_AFTER_ROUNDS_PER_MEMBER`] round
    /// changes per member. Never this node itself.
    pub(super) fn silent(&self, v: u16) -> bool {
        let after = SILENT_AFTER_ROUNDS_PER_MEMBER.saturating_mul(self.set.len() as u32);
        self.me != Some(v) && self.quiet.get(v as usize).is_some_and(|q| *q >= after)
    }

    /// A verified message from validator `v`: it is not silent.
    pub(super) fn heard_from(&mut self, v: u16) {
        if let Some(q) = self.quiet.get_mut(v as usize) {
            *q = 0;
        }
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

    pub(super) fn enter_round(&mut self, round: u64) {
        if round <= self.round {
            return;
        }
        self.round = round;
        // Counted per round change, not per round number: a jump over many rounds (a
        // restart, a catch-up) is one change and makes nobody silent.
        self.quiet.resize(self.set.len(), 0);
        for q in &mut self.quiet {
            *q = q.saturating_add(1);
        }
        let keep_from = round.saturating_sub(STALE_ROUNDS);
        self.qc_formed = self.qc_formed.split_off(&keep_from);
        self.votes = self.votes.split_off(&keep_from);
        self.seen_votes = self.seen_votes.split_off(&keep_from);
        self.timeouts = self.timeouts.split_off(&keep_from);
        self.seen_proposals = self.seen_proposals.split_off(&keep_from);
        self.arm_timer();
        self.maybe_request_payload();
        // Nothing will be proposed in a silent leader's round, and waiting only delays
        // the view change: the QC of the round before (its votes went to everyone,
        // `try_vote`) is already here or rides in with the others' timeouts. The timer
        // armed above re-broadcasts the timeout if the TC does not form.
        if self.silent(self.leader(round)) {
            self.time_out_round();
        }
    }

    pub(super) fn process_tc(&mut self, tc: TimeoutCert) {
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

    // ---------------------------------------------------------------- timeouts

    pub(super) fn on_timer(&mut self, id: TimerId) {
        if id.round != self.round || id.generation != self.timer_generation {
            return;
        }
        self.time_out_round();
        self.arm_timer();
    }

    /// Gives up on the current round and says so, as its timer does.
    fn time_out_round(&mut self) {
        self.local_timeout();
        self.broadcast_epoch_end();
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

    pub(super) fn on_timeout_msg(&mut self, t: Timeout) -> Result<(), RejectReason> {
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
        self.heard_from(t.voter);
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
            // Entering a silent leader's round gives it up at once (`enter_round`): a
            // second timeout of ours would be a duplicate.
            if round == self.round && self.timed_out_round < round {
                self.local_timeout();
            }
            if self.timed_out_round >= round {
                return; // local_timeout re-entered record_timeout and checked the quorum
            }
        }
        // (Gone only if the calls above moved more than `STALE_ROUNDS` rounds on.)
        let Some(entry) = self.timeouts.get(&round) else {
            return;
        };
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
}
