//! The normal path of a round: the leader asks for a payload and proposes; validators
//! check the proposal (signature, certificates, Jolteon's extension rule, timestamp) and
//! vote; the next leader aggregates the votes into a quorum certificate.
//!
//! Separate because it holds the voting rule: everything that decides whether this node
//! proposes a block or votes for one reads in one place.

use lianrong_primitives::{verify, Hash};

use crate::types::*;

use super::execution::Check;
use super::{Engine, Output, RejectReason, Target, MAX_ROUNDS_AHEAD, STALE_ROUNDS};

impl Engine {
    pub(super) fn maybe_request_payload(&mut self) {
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

    pub(super) fn on_payload(&mut self, round: u64, mut payload: Vec<u8>) {
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
        let Some(executed) = self.execution_for(&justify, parent.hands_on) else {
            let needed = executed_height(&justify, parent.hands_on);
            self.wait_for_execution(round, payload, needed);
            return;
        };
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
            executed,
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

    pub(super) fn on_proposal(&mut self, p: Proposal) -> Result<(), RejectReason> {
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
        // The proposer's signature when checked already (far ahead, below), with the
        // epoch whose set it was checked against.
        let mut checked = None;
        if b.round > self.round + MAX_ROUNDS_AHEAD {
            // Its leader is heard from before its certificates move this node on: they
            // move it to the leader's own round, and a leader still counted silent
            // there has its round given up at once (`enter_round`), with no vote for
            // this very proposal. Checked only when the certificates will move it (a
            // stale far-ahead proposal costs no hash or signature check), and a bad
            // signature only keeps the proposer silent: the certificates teach whoever
            // relayed them.
            let moves_on = b.justify.round() >= self.round
                || p.tc.as_ref().is_some_and(|tc| tc.round >= self.round);
            if moves_on && b.proposer == self.leader(b.round) {
                checked = (self.check_proposer_signature(&p).ok()).map(|d| (self.epoch(), d));
            }
            if checked.is_some() {
                self.heard_from(b.proposer);
            }
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
        // Checked against this epoch's set, the signature is not checked (nor the block
        // hashed) again.
        let checked = checked.and_then(|(epoch, data)| (epoch == self.epoch()).then_some(data));
        let Some(hash) = self.first_proposal_of_its_round(&p, checked)? else {
            return Ok(());
        };
        self.check_proposal_certificates(&p)?;
        let justify = b.justify.clone();
        self.process_qc(&justify);
        if let Some(tc) = p.tc.clone() {
            self.process_tc(tc);
        }
        if b.height > self.root.height {
            self.blocks.insert(hash, p.block.clone());
            self.wanted.remove(&hash);
        }
        self.try_vote(p)
    }

    /// Checks the proposer's signature (unless `checked` is what it signed, checked
    /// already) and remembers the proposal of its round. A second, different proposal of
    /// the same round is equivocation: evidence out, and `None` (nothing more is done
    /// with it), as for a copy of the one already seen. Otherwise the block's hash.
    fn first_proposal_of_its_round(
        &mut self,
        p: &Proposal,
        checked: Option<ProposalData>,
    ) -> Result<Option<Hash>, RejectReason> {
        let b = &p.block;
        let data = match checked {
            Some(data) => data,
            None => self.check_proposer_signature(p)?,
        };
        self.heard_from(b.proposer);
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

    /// The proposal is signed by its proposer, a member of this epoch's set: what it
    /// signed.
    fn check_proposer_signature(&self, p: &Proposal) -> Result<ProposalData, RejectReason> {
        let b = &p.block;
        let data = Proposal::data_of(b);
        let key = self
            .set
            .key(b.proposer)
            .ok_or(RejectReason::UnknownValidator(b.proposer))?;
        verify(key, &data.signing_bytes(&self.cfg.chain_id), &p.signature)
            .map_err(|_| RejectReason::BadSignature)?;
        Ok(data)
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

    pub(super) fn try_vote(&mut self, p: Proposal) -> Result<(), RejectReason> {
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
            // If our application has not decided it (yet), it may still be executing
            // the block that decides it: wait for its report (`Executed` tries the
            // proposal again). Otherwise we are probably behind the proposer, who
            // decided it from a block it finalized: catch up from it.
            Ok(false) if b.reconfig.is_some() && b.reconfig != self.pending_reconfig => {
                if self.executing() {
                    self.pending_proposal = Some(p);
                } else {
                    self.request_sync();
                }
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
        // Only a state our own application computed is ever certified with our vote.
        match self.check_execution(b, parent.hands_on)? {
            Check::Matches => {}
            Check::NotYetExecuted => {
                self.catch_up_to_execute(b.executed.height);
                self.pending_proposal = Some(p);
                return Ok(());
            }
        }
        let data = VoteData::for_block(b);
        self.safety.last_voted_round = b.round;
        self.safety_dirty = true;
        let vote = Vote::sign(data, me, &self.cfg.me, &self.cfg.chain_id);
        let next = self.leader(b.round + 1);
        if self.silent(next) {
            // The next leader would be the only one holding these votes, and with it
            // silent the block would be lost with the round. Everyone gets them instead,
            // so the QC forms anyway and the timeouts of the silent leader's round carry
            // it into the TC: a crashed leader costs its own round, not its
            // predecessor's block as well.
            self.self_queue.push_back(Message::Vote(vote.clone()));
            self.out.push(Output::Send {
                to: Target::All,
                message: Message::Vote(vote),
            });
        } else {
            self.send(Target::One(next), Message::Vote(vote));
        }
        Ok(())
    }

    // ---------------------------------------------------------------- votes

    pub(super) fn on_vote(&mut self, v: Vote) -> Result<(), RejectReason> {
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
        // The next leader forms the QC; when it is silent, everyone does (the voters
        // broadcast to all then, `try_vote`).
        let next = self.leader(d.round + 1);
        if (self.me != Some(next) && !self.silent(next)) || d.round + 1 < self.round {
            return Ok(());
        }
        if d.round > self.round + MAX_ROUNDS_AHEAD {
            return Err(RejectReason::TooFarAhead);
        }
        verify(&key, &d.signing_bytes(&self.cfg.chain_id), &v.signature)
            .map_err(|_| RejectReason::BadSignature)?;
        self.heard_from(v.voter);
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
            self.remember_verified(qc.digest());
            self.process_qc(&qc);
        }
        Ok(())
    }
}
