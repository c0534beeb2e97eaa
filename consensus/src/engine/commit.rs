//! The two-chain commit rule and finalization: following a pending commit target down to
//! the last finalized block, emitting `Output::Finalized` once per height in height order,
//! and keeping the recent finalized blocks that peers catching up are served from.
//!
//! Separate because finalization is the engine's one irreversible output.

use crate::types::*;

use super::{Engine, Meta, Output, SYNC_GAP};

impl Engine {
    pub(super) fn try_commit(&mut self) {
        if self.ending.is_some() {
            // The epoch's last block is final; only the epoch-end certificate matters now.
            self.pending_commit = None;
            return;
        }
        let Some((target, cert)) = self.pending_commit.clone() else {
            return;
        };
        if target.height <= self.root.height {
            self.pending_commit = None;
            return;
        }
        if target.height - self.root.height > SYNC_GAP && self.meta(&target.hash).is_none() {
            self.request_sync();
            return;
        }
        let mut chain = Vec::new();
        let mut h = target.hash;
        while h != self.root.hash {
            match self.blocks.get(&h) {
                Some(b) if b.height > self.root.height => {
                    chain.push(h);
                    h = b.parent;
                }
                // A certified chain that does not pass through our root would be a
                // safety violation by more than f validators; refuse to follow it.
                Some(_) => return,
                None => {
                    if target.height - self.root.height > SYNC_GAP {
                        self.request_sync();
                    } else {
                        self.fetch(h);
                    }
                    return;
                }
            }
        }
        self.pending_commit = None;
        let blocks: Vec<Block> = chain
            .into_iter()
            .rev()
            .filter_map(|h| self.blocks.get(&h).cloned())
            .collect();
        if let Some(k) = blocks.iter().position(|b| b.reconfig.is_some()) {
            // Final up to the reconfiguration block, but emitted only with the epoch-end
            // certificate: it commits exactly that block (blocks after it are never final),
            // the next epoch builds on it, and auditors check it with the old set.
            let mut blocks = blocks;
            blocks.truncate(k + 1);
            self.ending = Some(blocks);
            self.broadcast_epoch_end();
        } else {
            for block in blocks {
                self.finalize(block, cert.clone());
            }
        }
        self.after_blocks_changed();
    }

    pub(super) fn finalize(&mut self, block: Block, cert: CommitCertificate) {
        debug_assert!(
            block.reconfig.is_none() || cert.qc.vote.round == EPOCH_END_ROUND,
            "a reconfiguration block is finalized only with its epoch-end certificate"
        );
        debug_assert_eq!(block.height, self.root.height + 1);
        debug_assert_eq!(block.parent, self.root.hash);
        self.root = Meta::of(&block);
        self.note_certified_execution(block.executed, block.id());
        let root_height = self.root.height;
        self.blocks.retain(|b| b.height > root_height);
        let fb = FinalizedBlock { block, cert };
        self.recent.push(self.root.hash, fb.clone());
        let reconfig = fb.block.reconfig.clone();
        let id = fb.block.id();
        self.out.push(Output::Finalized(fb));
        if let Some(set) = reconfig {
            self.start_epoch(id, set);
        }
    }
}
