//! Certified state: every block carries the application's roots after the height
//! [`executed_height`] names; this node proposes and votes only with roots its own
//! application computed, and stops the moment a finalized block certifies roots it did not
//! compute (a divergence), rather than build on a state it disagrees with.
//!
//! Separate because it is the one place where the engine meets the application's
//! results; the application reports them through [`super::Input::Executed`].

use serde::{Deserialize, Serialize};

use crate::types::*;

use super::{Engine, Output, RejectReason, TimerId, CLAIMS_KEPT, EXECUTED_KEPT};

/// A finalized block certified roots this node's application did not compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Divergence {
    /// The finalized block whose certificate covers the roots.
    pub block: BlockId,
    /// What the block certifies.
    pub certified: ExecutionCommit,
    /// What this node's application computed for the same height.
    pub ours: ExecutionCommit,
}

/// What this node can say about the roots a block certifies.
pub(super) enum Check {
    /// They are this node's own.
    Matches,
    /// This node has not executed that height yet: ask again after `Executed`.
    NotYetExecuted,
}

impl Engine {
    pub(super) fn on_executed(&mut self, commit: ExecutionCommit) {
        if commit.height > self.root.height {
            // The application executes only finalized blocks; anything else is a bug in
            // the caller, and believing it could make this node vote for a wrong state.
            debug_assert!(false, "executed height {} not finalized", commit.height);
            return;
        }
        self.executed.insert(commit.height, commit);
        // The node was executing, not waiting for sync answers (they wait in its queue):
        // a request's timeout counts from now, or every answer that arrived meanwhile
        // would look lost and be asked for again.
        self.windows.executed(self.now);
        while self.executed.len() > EXECUTED_KEPT {
            self.executed.pop_first();
        }
        if let Some((certified, block)) = self.claims.remove(&commit.height) {
            self.compare(certified, block);
        }
        if let Some((round, payload)) = self.waiting_payload.take() {
            self.on_payload(round, payload);
        }
        self.after_blocks_changed();
    }

    /// A proposal of `round` must certify height `needed`, which the application has not
    /// executed yet (it was finalized in this very step): propose once it has. Unless that
    /// height is this epoch's reconfiguration block (or later): final, but executed only
    /// once the epoch-end certificate finalizes it, so no block of this epoch can be
    /// proposed or voted for any more. This leader may then be the only one holding the
    /// certificate that commits the block (it has just formed it): it gives the round up
    /// now, as its timer would, so that the timeout carries the certificate to the others
    /// and they send their epoch-end votes at once rather than a round timeout later.
    pub(super) fn wait_for_execution(&mut self, round: u64, payload: Vec<u8>, needed: u64) {
        let closing = self
            .ending
            .as_ref()
            .and_then(|chain| chain.last())
            .is_some_and(|r| needed >= r.height);
        if closing {
            let id = TimerId {
                round: self.round,
                generation: self.timer_generation,
            };
            self.on_timer(id);
        } else {
            self.catch_up_to_execute(needed);
            self.waiting_payload = Some((round, payload));
        }
    }

    /// A block to propose or vote for certifies `height`, which the application has not
    /// executed. Usually this node finalized it in this very step and its application is
    /// about to report it; but if this node has not finalized it (and is not finalizing it
    /// already), it missed the certificate that did: nothing it will see may commit that
    /// height again (the chain waits for its vote), so it fetches the finalized blocks
    /// from the others, who certified their execution of that height.
    pub(super) fn catch_up_to_execute(&mut self, height: u64) {
        let committing = self
            .pending_commit
            .as_ref()
            .is_some_and(|(target, _)| target.height >= height);
        if height > self.root.height && !committing && self.ending.is_none() {
            self.request_sync();
        }
    }

    /// A finalized block's certified roots: compared with ours now, or once the
    /// application has executed that height.
    pub(super) fn note_certified_execution(&mut self, certified: ExecutionCommit, block: BlockId) {
        if self.executed.contains_key(&certified.height) {
            self.compare(certified, block);
            return;
        }
        if self.last_executed().is_some_and(|h| certified.height <= h) {
            // Older than what we keep: checked when it was first finalized here, or by
            // the auditor that replays the chain.
            return;
        }
        self.claims.insert(certified.height, (certified, block));
        while self.claims.len() > CLAIMS_KEPT {
            self.claims.pop_first();
        }
    }

    fn compare(&mut self, certified: ExecutionCommit, block: BlockId) {
        let Some(ours) = self.executed.get(&certified.height).copied() else {
            return;
        };
        if ours != certified && self.diverged.is_none() {
            let d = Divergence {
                block,
                certified,
                ours,
            };
            self.diverged = Some(d);
            self.out.push(Output::Diverged(d));
        }
    }

    /// Whether the application has not yet reported every block this node finalized:
    /// its executor runs beside the engine, a block or so behind.
    pub(super) fn executing(&self) -> bool {
        self.last_executed().is_some_and(|h| h < self.root.height)
    }

    fn last_executed(&self) -> Option<u64> {
        self.executed.last_key_value().map(|(h, _)| *h)
    }

    /// The roots a new block extending `justify` (whose parent hands on
    /// `parent_hands_on`) must carry, if this node has executed that height.
    pub(super) fn execution_for(
        &self,
        justify: &QuorumCert,
        parent_hands_on: u64,
    ) -> Option<ExecutionCommit> {
        let height = executed_height(justify, parent_hands_on);
        self.executed.get(&height).copied()
    }

    /// Whether `b`'s certified roots (for a parent handing on `parent_hands_on`) are the
    /// height the rule demands and exactly what this node's application computed.
    pub(super) fn check_execution(
        &self,
        b: &Block,
        parent_hands_on: u64,
    ) -> Result<Check, RejectReason> {
        let height = executed_height(&b.justify, parent_hands_on);
        if b.executed.height != height {
            return Err(RejectReason::Malformed(
                "block certifies the state of the wrong height",
            ));
        }
        #[cfg(test)]
        if self.skip_execution_check {
            return Ok(Check::Matches);
        }
        match self.executed.get(&height) {
            Some(ours) if *ours == b.executed => Ok(Check::Matches),
            Some(_) => Err(RejectReason::WrongExecution { height }),
            None if self.last_executed().is_none_or(|h| height > h) => Ok(Check::NotYetExecuted),
            None => Err(RejectReason::ExecutionTooOld { height }),
        }
    }
}
