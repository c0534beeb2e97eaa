//! The finalized blocks an engine keeps to answer peers (block and sync requests, a late
//! epoch-end voter's certificate): the last ones, bounded by count and by payload bytes.
//!
//! The count alone was not a bound on memory: 1,024 blocks of up to 256 KiB each is a
//! quarter of a gigabyte, held by every validator under load for answers its host can
//! give from its own store (the node serves sync from its database). The byte bound keeps
//! at least `2 * MAX_SYNC_BLOCKS` full blocks, so one sync answer always fits.

use std::collections::VecDeque;

use lianrong_primitives::Hash;

use crate::types::{FinalizedBlock, MAX_PAYLOAD_BYTES, MAX_SYNC_BLOCKS};

/// Most finalized blocks kept, whatever their size.
pub const RECENT_FINALIZED: usize = 1024;
/// Most payload bytes of the finalized blocks kept: two sync answers of full blocks.
pub const RECENT_FINALIZED_BYTES: usize = 2 * MAX_SYNC_BLOCKS * MAX_PAYLOAD_BYTES;

/// The window: oldest first, each block with its hash (so a request by hash costs
/// comparisons, not re-hashing every kept payload).
#[derive(Debug, Default)]
pub(super) struct RecentFinalized {
    blocks: VecDeque<(Hash, FinalizedBlock)>,
    payload_bytes: usize,
}

impl RecentFinalized {
    /// Keeps `f`, whose block hashes to `hash` (the caller has it: hashing a block costs
    /// as much as its payload), as the newest, dropping the oldest beyond either bound.
    pub(super) fn push(&mut self, hash: Hash, f: FinalizedBlock) {
        debug_assert_eq!(hash, f.block.hash());
        assert!(
            f.block.payload.len() <= MAX_PAYLOAD_BYTES,
            "a finalized block's payload is within MAX_PAYLOAD_BYTES (checked on receipt)"
        );
        self.payload_bytes += f.block.payload.len();
        self.blocks.push_back((hash, f));
        while self.blocks.len() > RECENT_FINALIZED || self.payload_bytes > RECENT_FINALIZED_BYTES {
            let Some((_, old)) = self.blocks.pop_front() else {
                break;
            };
            self.payload_bytes -= old.block.payload.len();
        }
    }

    /// The kept block whose hash is `hash`.
    pub(super) fn by_hash(&self, hash: &Hash) -> Option<&FinalizedBlock> {
        self.blocks
            .iter()
            .rev()
            .find(|(h, _)| h == hash)
            .map(|(_, f)| f)
    }

    /// The height of the oldest kept block.
    pub(super) fn first_height(&self) -> Option<u64> {
        self.blocks.front().map(|(_, f)| f.block.height)
    }

    /// The kept blocks from the `skip`-th oldest on.
    pub(super) fn from(&self, skip: usize) -> impl Iterator<Item = &FinalizedBlock> {
        self.blocks.iter().skip(skip).map(|(_, f)| f)
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
    use crate::engine::tests::unsigned_block;
    use crate::types::{CommitCertificate, QuorumCert};

    /// A finalized block at `height` with `payload_len` bytes (nothing here checks certificates).
    fn block(height: u64, payload_len: usize) -> FinalizedBlock {
        FinalizedBlock {
            block: unsigned_block(height, payload_len),
            cert: CommitCertificate {
                qc: QuorumCert::genesis(Hash::ZERO),
            },
        }
    }

    fn push(w: &mut RecentFinalized, f: FinalizedBlock) {
        w.push(f.block.hash(), f);
    }

    #[test]
    fn full_blocks_are_kept_by_bytes_and_small_ones_by_count() {
        let mut full = RecentFinalized::default();
        for h in 1..=200 {
            push(&mut full, block(h, MAX_PAYLOAD_BYTES));
            assert!(full.payload_bytes() <= RECENT_FINALIZED_BYTES);
        }
        assert_eq!(
            full.len(),
            2 * MAX_SYNC_BLOCKS,
            "two sync answers of full blocks"
        );
        assert_eq!(
            full.first_height(),
            Some(200 - 2 * MAX_SYNC_BLOCKS as u64 + 1)
        );
        assert_eq!(full.payload_bytes(), full.len() * MAX_PAYLOAD_BYTES);

        let mut small = RecentFinalized::default();
        for h in 1..=2_000 {
            push(&mut small, block(h, 100));
        }
        assert_eq!(small.len(), RECENT_FINALIZED);
        assert_eq!(small.payload_bytes(), RECENT_FINALIZED * 100);
        assert_eq!(
            small.first_height(),
            Some(2_000 - RECENT_FINALIZED as u64 + 1)
        );
    }

    #[test]
    fn a_kept_block_is_found_by_its_hash_and_a_dropped_one_is_not() {
        let mut w = RecentFinalized::default();
        let first = block(1, MAX_PAYLOAD_BYTES);
        let last = block(100, 10);
        push(&mut w, first.clone());
        assert_eq!(w.by_hash(&first.block.hash()), Some(&first));
        for h in 2..100 {
            push(&mut w, block(h, MAX_PAYLOAD_BYTES));
        }
        push(&mut w, last.clone());
        assert_eq!(w.by_hash(&first.block.hash()), None, "dropped for bytes");
        assert_eq!(w.by_hash(&last.block.hash()), Some(&last));
        let heights: Vec<u64> = w.from(w.len() - 2).map(|f| f.block.height).collect();
        assert_eq!(heights, vec![99, 100]);
    }
}
