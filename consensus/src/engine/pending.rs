//! The uncommitted blocks an engine holds (proposals and fetched blocks above its root),
//! bounded by count and by payload bytes.
//!
//! In a healthy network only the few blocks of the chain being certified are here; the
//! store fills during long periods without commits (a proposal per round). A count of
//! 1,024 blocks of up to 256 KiB each would be a quarter of a gigabyte, so the bytes are
//! bounded too; the oldest round goes first, and a dropped block that turns out to be
//! needed is fetched again from the validators that certified it.

use std::collections::BTreeMap;

use lianrong_primitives::Hash;

use crate::types::{Block, MAX_PAYLOAD_BYTES};

/// Most uncommitted blocks held, whatever their size.
pub const MAX_PENDING_BLOCKS: usize = 1024;
/// Most payload bytes of the uncommitted blocks held: 64 full blocks.
pub const MAX_PENDING_BYTES: usize = 64 * MAX_PAYLOAD_BYTES;

#[derive(Debug, Default)]
pub(super) struct PendingBlocks {
    blocks: BTreeMap<Hash, Block>,
    payload_bytes: usize,
}

impl PendingBlocks {
    /// Holds `block` under `hash`, first dropping the oldest-round blocks until it fits.
    pub(super) fn insert(&mut self, hash: Hash, block: Block) {
        assert!(
            block.payload.len() <= MAX_PAYLOAD_BYTES,
            "a held block's payload is within MAX_PAYLOAD_BYTES (checked on receipt)"
        );
        self.remove(&hash);
        while self.blocks.len() >= MAX_PENDING_BLOCKS
            || self.payload_bytes + block.payload.len() > MAX_PENDING_BYTES
        {
            let oldest = self
                .blocks
                .iter()
                .min_by_key(|(_, b)| b.round)
                .map(|(h, _)| *h);
            match oldest {
                Some(h) => self.remove(&h),
                None => break,
            };
        }
        self.payload_bytes += block.payload.len();
        self.blocks.insert(hash, block);
    }

    pub(super) fn get(&self, hash: &Hash) -> Option<&Block> {
        self.blocks.get(hash)
    }

    fn remove(&mut self, hash: &Hash) -> Option<Block> {
        let block = self.blocks.remove(hash)?;
        self.payload_bytes -= block.payload.len();
        Some(block)
    }

    /// Keeps only the blocks `keep` accepts.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&Block) -> bool) {
        let mut dropped = 0;
        self.blocks.retain(|_, b| {
            let kept = keep(b);
            if !kept {
                dropped += b.payload.len();
            }
            kept
        });
        self.payload_bytes -= dropped;
    }

    pub(super) fn clear(&mut self) {
        self.blocks.clear();
        self.payload_bytes = 0;
    }

    pub(super) fn len(&self) -> usize {
        self.blocks.len()
    }

    pub(super) fn payload_bytes(&self) -> usize {
        self.payload_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::unsigned_block as block;

    #[test]
    fn full_blocks_are_held_by_bytes_small_ones_by_count_oldest_round_dropped_first() {
        let mut full = PendingBlocks::default();
        for round in 1..=200 {
            let b = block(round, MAX_PAYLOAD_BYTES);
            full.insert(b.hash(), b);
            assert!(full.payload_bytes() <= MAX_PENDING_BYTES);
        }
        assert_eq!(full.len(), 64);
        assert!(full.get(&block(136, MAX_PAYLOAD_BYTES).hash()).is_none());
        assert!(full.get(&block(137, MAX_PAYLOAD_BYTES).hash()).is_some());
        assert!(full.get(&block(200, MAX_PAYLOAD_BYTES).hash()).is_some());
        // A small block still fits beside them once the oldest round is gone.
        let b = block(201, 10);
        full.insert(b.hash(), b.clone());
        assert!(full.get(&b.hash()).is_some());
        assert!(full.get(&block(137, MAX_PAYLOAD_BYTES).hash()).is_none());
        assert_eq!(full.payload_bytes(), 63 * MAX_PAYLOAD_BYTES + 10);

        let mut small = PendingBlocks::default();
        for round in 1..=2_000 {
            let b = block(round, 10);
            small.insert(b.hash(), b);
        }
        assert_eq!(small.len(), MAX_PENDING_BLOCKS);
        assert_eq!(small.payload_bytes(), MAX_PENDING_BLOCKS * 10);
        small.retain(|b| b.round > 1_990);
        assert_eq!((small.len(), small.payload_bytes()), (10, 100));
        let again = block(1_995, 10);
        small.insert(again.hash(), again);
        assert_eq!(
            (small.len(), small.payload_bytes()),
            (10, 100),
            "same hash, held once"
        );
        small.clear();
        assert_eq!((small.len(), small.payload_bytes()), (0, 0));
    }
}
