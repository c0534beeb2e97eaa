//! Where the transactions of the last few proposals are in their payloads
//! (`payload::index`, taken once when a proposal arrives or this node makes it), so that
//! a finalized block whose every transaction waits in the mempool by then is handed to the
//! executor from the mempool's copies, without its payload decoded again.
//!
//! Separate from `runtime` because it is a cache with a rule of its own: it answers only
//! for the very payload it noted (compared byte for byte, not by height or round: a faulty
//! leader may propose two payloads for one height), and the loop uses an answer only when
//! the mempool holds a transaction with exactly the bytes at every listed range -- then
//! they are the transactions a strict decoding gives -- so what a block executes never
//! depends on whether the cache answered.
//!
//! Measured: a validator decoded every transaction of every block twice on the consensus
//! loop -- when the proposal arrived (to mark its transactions in flight) and when the
//! block was finalized (to execute it) -- and re-encoded each the first time to check the
//! encoding was canonical.

use std::collections::VecDeque;

use crate::payload::Listed;

/// Proposals kept, at most: a block is finalized when the proposals of the next two
/// heights have arrived (the two-chain commit rule), a round's timeout adds one, and each
/// entry holds its payload (at most `MAX_PAYLOAD_BYTES`, 256 KiB) and 56 bytes per
/// transaction (at most `MAX_BLOCK_TXS`, 4,096): ~2 MiB in all, in the memory budget's
/// fixed reserve (node/README.md, "Memory budget").
pub const KEPT: usize = 4;

/// A proposal's payload and where its transactions are in it.
struct Noted {
    height: u64,
    payload: Vec<u8>,
    listed: Vec<Listed>,
}

/// The recent proposals, indexed.
#[derive(Default)]
pub struct Proposed {
    recent: VecDeque<Noted>,
}

impl Proposed {
    /// Notes where the transactions of `payload`, proposed at `height`, are
    /// (`payload::index`). The oldest note goes when more than [`KEPT`] are held.
    pub fn note(&mut self, height: u64, payload: &[u8], listed: Vec<Listed>) {
        if self.recent.len() == KEPT {
            self.recent.pop_front();
        }
        self.recent.push_back(Noted {
            height,
            payload: payload.to_vec(),
            listed,
        });
    }

    /// The index noted for this very `payload` at `height`, if noted; forgets every note
    /// at or below `height` (finalized: no later block has that height).
    pub fn take(&mut self, height: u64, payload: &[u8]) -> Option<Vec<Listed>> {
        let found = self
            .recent
            .iter()
            .position(|n| n.height == height && n.payload == payload);
        let listed = found.and_then(|i| self.recent.remove(i)).map(|n| n.listed);
        self.recent.retain(|n| n.height > height);
        listed
    }

    /// How many proposals are noted.
    pub fn len(&self) -> usize {
        self.recent.len()
    }

    /// True when none is.
    pub fn is_empty(&self) -> bool {
        self.recent.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use lianrong_primitives::PublicKey;

    /// A stand-in index entry (the cache never looks inside one).
    fn h(n: u8) -> Listed {
        Listed {
            signer: PublicKey([n; 32]),
            nonce: u64::from(n),
            at: 8..9,
        }
    }

    #[test]
    fn only_the_very_payload_noted_is_answered() {
        let mut p = Proposed::default();
        p.note(5, b"payload-a", vec![h(1), h(2)]);
        // Another payload at the same height (an equivocating leader, a later round).
        p.note(5, b"payload-b", vec![h(3)]);
        p.note(6, b"payload-c", vec![h(4)]);
        assert_eq!(p.take(5, b"payload-x"), None, "a payload never noted");
        // The same height's other note went with the first take: height 5 is final.
        assert_eq!(p.take(5, b"payload-a"), None);
        assert_eq!(p.len(), 1);
        assert_eq!(p.take(6, b"payload-c"), Some(vec![h(4)]));
        assert!(p.is_empty());
    }

    #[test]
    fn a_note_is_answered_at_its_height_only_and_once() {
        let mut p = Proposed::default();
        p.note(7, b"same", vec![h(1)]);
        p.note(8, b"same", vec![h(2)]);
        assert_eq!(p.take(8, b"same"), Some(vec![h(2)]));
        assert_eq!(
            p.take(7, b"same"),
            None,
            "forgotten once height 8 was final"
        );
        p.note(9, b"p", vec![h(9)]);
        assert_eq!(p.take(9, b"p"), Some(vec![h(9)]));
        assert_eq!(p.take(9, b"p"), None, "answered once");
    }

    #[test]
    fn at_most_kept_notes_are_held_oldest_first_out() {
        let mut p = Proposed::default();
        for height in 0..(KEPT as u64 + 3) {
            p.note(height, &height.to_le_bytes(), vec![h(height as u8)]);
            assert!(p.len() <= KEPT);
        }
        assert_eq!(p.take(2, &2u64.to_le_bytes()), None, "pushed out");
        let last = KEPT as u64 + 2;
        assert_eq!(p.take(last, &last.to_le_bytes()), Some(vec![h(last as u8)]));
    }
}
