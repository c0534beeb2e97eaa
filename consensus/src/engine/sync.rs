//! Catch-up: fetching missing blocks by hash, batch sync requests and responses (and
//! serving both to others), the bounded store of uncommitted blocks, and retrying
//! whatever was waiting for a block.
//!
//! Separate because it is the only way blocks arrive other than in proposals, and none of
//! it trusts the peer: an answer is taken only if it hashes to a block fixed by a verified
//! certificate (or by the hash chain below one).

use lianrong_primitives::Hash;

use crate::types::*;

use super::{
    Engine, Output, RejectReason, Target, LOCAL, MAX_PENDING_BLOCKS, MAX_WANTED, SYNC_GAP,
};

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

    pub(super) fn request_sync(&mut self) {
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

    /// Keeps the uncommitted-block store bounded during long periods without commits by
    /// dropping its oldest-round block; a dropped block that turns out to be needed is
    /// fetched again from the validators that certified it.
    pub(super) fn make_room_for_a_block(&mut self) {
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
        self.make_room_for_a_block();
        let parent = block.parent;
        let needs_parent = block.height > self.root.height + 1 && self.meta(&parent).is_none();
        self.blocks.insert(hash, block);
        if needs_parent {
            self.fetch(parent);
        }
        self.after_blocks_changed();
    }

    pub(super) fn on_sync_request(&mut self, from: u16, from_height: u64) {
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

    pub(super) fn on_sync_response(
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
        let full = blocks.len() >= MAX_SYNC_BLOCKS;
        for b in blocks {
            self.finalize(b, cert.clone());
        }
        self.last_sync_at = None;
        self.remember_verified(cert.qc.digest());
        self.process_qc(&cert.qc);
        self.after_blocks_changed();
        self.continue_sync(full);
        Ok(())
    }

    /// Asks for the next batch at once while the peers are ahead: a full answer (the
    /// peer likely has more) or a certified block above our root says so. Without this,
    /// a network that went idle (its certificates commit nothing, so there is no commit
    /// target) left the next request to this node's round timer, whose backoff grows.
    /// At most one request per answer; an answer-less request is retried by the timer.
    fn continue_sync(&mut self, full: bool) {
        let certified = self.safety.high_qc.vote.height;
        if full || certified > self.root.height + SYNC_GAP {
            self.request_sync();
        }
    }
}
