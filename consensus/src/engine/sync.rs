//! Catch-up: fetching missing blocks by hash, sync requests for ranges of final blocks
//! (several at once, to several peers, see `windows`) and their answers (and serving
//! both to others), the bounded store of uncommitted blocks, and retrying whatever was
//! waiting for a block.
//!
//! Separate because it is the only way blocks arrive other than in proposals, and none of
//! it trusts the peer: an answer is taken only if it hashes to a block fixed by a verified
//! certificate (or by the hash chain below one).

use std::convert::Infallible;

use lianrong_primitives::Hash;

use crate::types::*;

use super::windows::Range;

/// A sync request unanswered for this many base round timeouts is asked of another peer.
pub const SYNC_TIMEOUT_ROUNDS: u64 = 4;
use super::{Engine, Output, RejectReason, Target, LOCAL, MAX_WANTED, SYNC_GAP};

impl Engine {
    pub(super) fn fetch(&mut self, hash: Hash) {
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

    /// Makes sure catch-up runs: at least the height after our last finalized block is
    /// asked for (and up to the target, see `SyncWindows::plan`). Asks whoever showed
    /// us the reason first, since it has the blocks; later requests rotate through the
    /// others, since one peer may have pruned, be slow or be lying.
    pub(super) fn request_sync(&mut self) {
        self.windows
            .raise_target(self.root.height.saturating_add(1));
        if let Some(f) = self
            .current_from
            .filter(|&f| usize::from(f) < self.set.len())
        {
            self.windows.prefer(f);
        }
        self.plan_sync();
    }

    /// Sends the sync requests the windows have room for.
    pub(super) fn plan_sync(&mut self) {
        let peers = u16::try_from(self.set.len()).unwrap_or(u16::MAX);
        // An answer is a disk read and one message away, but it may queue behind the
        // other windows' answers at a busy peer: in a debug build a 4 MB answer took up
        // to 1.2 s to read and encode, and at twice the base timeout the first four
        // requests timed out and were served twice (`lianrong bench --catch-up`). A
        // late answer is still taken, so a short timeout costs only duplicate work.
        let timeout = self.cfg.base_timeout_ms.saturating_mul(SYNC_TIMEOUT_ROUNDS);
        let asks = self
            .windows
            .plan(self.now, self.root.height, peers, self.me, timeout);
        for (peer, from_height) in asks {
            self.out.push(Output::Send {
                to: Target::One(peer),
                message: Message::SyncRequest { from_height },
            });
        }
    }

    /// Retries whatever was waiting for a block.
    pub(super) fn after_blocks_changed(&mut self) {
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

    fn find_block(&self, hash: &Hash) -> Option<&Block> {
        self.blocks
            .get(hash)
            .or_else(|| self.recent.by_hash(hash).map(|f| &f.block))
    }

    pub(super) fn on_block_request(&mut self, from: u16, hash: Hash) {
        if let Some(b) = self.find_block(&hash) {
            let message = Message::BlockResponse(Box::new(b.clone()));
            self.send(Target::One(from), message);
        }
    }

    pub(super) fn on_block_response(&mut self, block: Block) {
        let hash = block.hash();
        if self.wanted.remove(&hash).is_none() || block.height <= self.root.height {
            return;
        }
        let parent = block.parent;
        let needs_parent = block.height > self.root.height + 1 && self.meta(&parent).is_none();
        self.blocks.insert(hash, block);
        if needs_parent {
            self.fetch(parent);
        }
        self.after_blocks_changed();
    }

    pub(super) fn on_sync_request(&mut self, from: u16, from_height: u64) {
        let Some(first) = self.recent.first_height() else {
            return;
        };
        if from_height < first || from_height > self.root.height {
            return;
        }
        let start = (from_height - first) as usize;
        let kept = self.recent.from(start).cloned().map(Ok::<_, Infallible>);
        let Ok(Some(answer)) = crate::sync_answer::sync_answer(kept) else {
            return;
        };
        self.send(Target::One(from), answer);
    }

    /// A sync answer: verified whole (hash chain, certificate) before anything of it is
    /// kept; kept until the range below it is final, then finalized; the sender blamed if
    /// it fails. Requests for what the windows have room for go out in the same step
    /// (ahead of the finalized blocks, see [`Engine::handle`]).
    pub(super) fn on_sync_response(
        &mut self,
        from: u16,
        blocks: Vec<Block>,
        cert: CommitCertificate,
    ) -> Result<(), RejectReason> {
        let range = match self.check_range(from, blocks, cert) {
            Ok(Some(range)) => range,
            Ok(None) => return Ok(()),
            Err(reason) => {
                self.blame(from);
                self.plan_sync();
                return Err(reason);
            }
        };
        self.windows.answered(range.first());
        // A full answer says the peer likely has more: keep asking past it.
        let full = range.blocks.len() >= MAX_SYNC_BLOCKS;
        self.windows
            .raise_target(range.last().saturating_add(u64::from(full)));
        self.windows.accept(range, self.root.height);
        self.apply_ranges();
        self.continue_sync();
        Ok(())
    }

    /// A sync answer's blocks and certificate checked against this epoch's set; `None`
    /// when it holds nothing to take now: only heights finalized already, or blocks of an
    /// older epoch, or of a later one (not checkable before this node has switched).
    fn check_range(
        &mut self,
        from: u16,
        blocks: Vec<Block>,
        cert: CommitCertificate,
    ) -> Result<Option<Range>, RejectReason> {
        let (Some(first), Some(last)) = (blocks.first(), blocks.last()) else {
            return Err(RejectReason::TooLarge);
        };
        if blocks.len() > 2 * MAX_SYNC_BLOCKS {
            return Err(RejectReason::TooLarge);
        }
        if first.chain_id != self.cfg.chain_id {
            return Err(RejectReason::WrongChain);
        }
        if first.epoch > self.epoch() {
            self.windows.later_epoch(first.height);
            return Ok(None);
        }
        if first.epoch < self.epoch() || last.height <= self.root.height {
            self.windows.answered(first.height);
            return Ok(None);
        }
        let hashes = self.check_chain(&blocks)?;
        let id =
            cert.verify_with_quorum(&self.set, &self.cfg.chain_id, self.genesis, self.quorum)?;
        let end = blocks.len() - 1;
        if Some(&id.hash) != hashes.last() || id.height != blocks[end].height {
            return Err(RejectReason::Malformed(
                "certificate does not commit the last block",
            ));
        }
        if blocks[end].reconfig.is_some() && cert.qc.vote.round != EPOCH_END_ROUND {
            return Err(RejectReason::Malformed(
                "reconfiguration block without its epoch-end certificate",
            ));
        }
        self.remember_verified(cert.qc.digest());
        Ok(Some(Range { from, blocks, cert }))
    }

    /// The hashes of a sync answer's blocks, if they form one chain of this chain and
    /// epoch, with a reconfiguration block (which ends an epoch) only at the end.
    fn check_chain(&self, blocks: &[Block]) -> Result<Vec<Hash>, RejectReason> {
        let mut hashes: Vec<Hash> = Vec::with_capacity(blocks.len());
        for (i, b) in blocks.iter().enumerate() {
            if b.chain_id != self.cfg.chain_id || b.epoch != self.epoch() {
                return Err(RejectReason::WrongChain);
            }
            if b.reconfig.is_some() && i + 1 != blocks.len() {
                return Err(RejectReason::Malformed(
                    "reconfiguration block inside a sync batch",
                ));
            }
            if let (Some(prev), Some(prev_hash)) = (i.checked_sub(1), hashes.last()) {
                let next = blocks[prev].height.checked_add(1);
                if b.parent != *prev_hash || Some(b.height) != next {
                    return Err(RejectReason::Malformed("sync blocks do not form a chain"));
                }
            }
            hashes.push(b.hash());
        }
        Ok(hashes)
    }

    /// Finalizes the waiting ranges that go on from our last finalized block, in order.
    /// A range that does not join it (two certified chains apart: more than f faulty
    /// validators) is dropped and its sender blamed.
    fn apply_ranges(&mut self) {
        let mut applied = None;
        while let Some(Range { from, blocks, cert }) = self.windows.next(self.root.height) {
            let root = self.root;
            let fresh: Vec<Block> = blocks
                .into_iter()
                .filter(|b| b.height > root.height)
                .collect();
            if fresh.first().is_none_or(|b| b.parent != root.hash) {
                self.blame(from);
                self.out.push(Output::Rejected {
                    from,
                    reason: RejectReason::Malformed("sync range does not join the finalized chain"),
                });
                continue;
            }
            self.ending = None;
            for b in fresh {
                self.finalize(b, cert.clone());
            }
            applied = Some(cert);
        }
        if let Some(cert) = applied {
            self.process_qc(&cert.qc);
            self.after_blocks_changed();
        }
    }

    /// Skips a validator whose sync answer failed (a non-member peer is never asked).
    fn blame(&mut self, from: u16) {
        if usize::from(from) < self.set.len() {
            self.windows.blame(from, self.now);
        }
    }

    /// Keeps catch-up going while the peers are ahead: the target from the answers, or a
    /// certified block above our root, says so. Without this, a network that went idle
    /// (its certificates commit nothing, so there is no commit target) left the next
    /// request to this node's round timer, whose backoff grows.
    fn continue_sync(&mut self) {
        let certified = self.safety.high_qc.vote.height;
        if certified > self.root.height + SYNC_GAP {
            self.windows
                .raise_target(self.root.height.saturating_add(1));
        }
        self.plan_sync();
    }
}
