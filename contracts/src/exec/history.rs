//! What a block proves about itself beyond the state: each document's history as a hash
//! chain whose head is in the state tree, and the root of the block's results.
//!
//! The history entries themselves are an index outside the tree (an append-only log the
//! tree would otherwise spend most of its time on); the head of each document's chain is
//! a state value, so a Merkle proof of the head against a certified root proves every
//! entry a node serves for that document, in order, with nothing added or left out.

use lianrong_primitives::{codec, hash::sha256_parts, Hash};
use serde::{Deserialize, Serialize};

use crate::error::{DocKind, StoreError};
use crate::events::{Event, HistoryEntry, Receipt};
use crate::state::{keys, StateView, Writes};
use crate::tx::VerifiedTransaction;

use super::BlockContext;

/// The head of one document's history chain: how many entries, and
/// `head_n = SHA-256("lianrong/history/v1" || head_{n-1} || encode(entry_n))`
/// with `head_0` = [`Hash::ZERO`], entries in the order the history index lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryHead {
    /// Number of entries chained.
    pub count: u64,
    /// The chain's last link.
    pub head: Hash,
}

impl HistoryHead {
    /// The head of an empty history.
    pub const EMPTY: HistoryHead = HistoryHead {
        count: 0,
        head: Hash::ZERO,
    };

    /// The head after appending one entry (its canonical encoding).
    pub fn append(self, entry_bytes: &[u8]) -> HistoryHead {
        HistoryHead {
            count: self.count + 1,
            head: sha256_parts(&[b"lianrong/history/v1", &self.head.0, entry_bytes]),
        }
    }

    /// The head of `entries` chained from the empty history.
    pub fn of(entries: &[HistoryEntry]) -> HistoryHead {
        entries.iter().fold(HistoryHead::EMPTY, |h, e| {
            h.append(&lianrong_primitives::encode(e))
        })
    }
}

/// The history entries of a block (one per event per document it touches, keyed so a
/// prefix scan returns a document's history in order) for the index, and each touched
/// document's new chain head, stored in `st` (so under the state root).
pub(super) fn record_history(
    st: &mut StateView<'_>,
    block: &BlockContext,
    ledger_events: &[Event],
    txs: &[VerifiedTransaction],
    receipts: &[Receipt],
) -> Result<Writes, StoreError> {
    let mut index = Writes::new();
    // Which document each index key belongs to, so heads chain in index (key) order.
    let mut owner = std::collections::BTreeMap::new();
    let mut add = |tx_index: u32, by: Option<&VerifiedTransaction>, events: &[Event]| {
        for (seq, event) in events.iter().enumerate() {
            let entry = HistoryEntry {
                height: block.height,
                tx: by.map(|t| t.hash()),
                signer: by.map(|t| t.tx().signer.org.clone()),
                key: by.map(|t| t.tx().signer.key),
                time_ms: block.time_ms,
                event: event.clone(),
            };
            let bytes = lianrong_primitives::encode(&entry);
            for (kind, id) in event.documents() {
                let key = keys::history(kind, &id, block.height, tx_index, seq as u32);
                owner.insert(key.clone(), (kind, id, bytes.clone()));
                index.insert(key, Some(bytes.clone()));
            }
        }
    };
    add(u32::MAX, None, ledger_events);
    for (i, (tx, receipt)) in txs.iter().zip(receipts).enumerate() {
        if let Ok(events) = &receipt.outcome {
            add(i as u32, Some(tx), events);
        }
    }
    let mut heads: std::collections::BTreeMap<(DocKind, String), HistoryHead> = Default::default();
    for (kind, id, bytes) in owner.into_values() {
        let head = match heads.remove(&(kind, id.clone())) {
            Some(h) => h,
            None => st
                .load(&keys::history_head(kind, &id))?
                .unwrap_or(HistoryHead::EMPTY),
        };
        heads.insert((kind, id), head.append(&bytes));
    }
    for ((kind, id), head) in heads {
        st.store(keys::history_head(kind, &id), &head);
    }
    st.commit_tx();
    Ok(index)
}

/// The root of a block's results: a binary Merkle tree (RFC 6962 shape, domain-separated)
/// over one leaf per receipt in block order, then one leaf for the ledger's own events
/// (the overdue sweep), so a single receipt can later be proven with a path.
pub fn results_root(receipts: &[Receipt], ledger_events: &[Event]) -> Hash {
    let mut leaves: Vec<Hash> = receipts
        .iter()
        .map(|r| sha256_parts(&[b"lianrong/result/v1", &codec::encode(r)]))
        .collect();
    leaves.push(sha256_parts(&[
        b"lianrong/ledger-events/v1",
        &codec::encode(&ledger_events.to_vec()),
    ]));
    merkle_root(&leaves)
}

fn merkle_root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => sha256_parts(&[b"lianrong/results-empty/v1"]),
        [one] => *one,
        _ => {
            // Split at the largest power of two below the length (RFC 6962).
            let k = 1usize << (usize::BITS - 1 - (leaves.len() - 1).leading_zeros());
            let (l, r) = leaves.split_at(k);
            sha256_parts(&[
                b"lianrong/results-node/v1",
                &merkle_root(l).0,
                &merkle_root(r).0,
            ])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(i: u8) -> Hash {
        Hash([i; 32])
    }

    #[test]
    fn the_merkle_split_is_at_the_largest_power_of_two_below() {
        let node = |a: Hash, b: Hash| sha256_parts(&[b"lianrong/results-node/v1", &a.0, &b.0]);
        assert_eq!(merkle_root(&[h(1)]), h(1));
        assert_eq!(merkle_root(&[h(1), h(2)]), node(h(1), h(2)));
        // Three leaves: ((1,2),3), not (1,(2,3)).
        assert_eq!(
            merkle_root(&[h(1), h(2), h(3)]),
            node(node(h(1), h(2)), h(3))
        );
        assert_eq!(
            merkle_root(&[h(1), h(2), h(3), h(4), h(5)]),
            node(node(node(h(1), h(2)), node(h(3), h(4))), h(5))
        );
    }

    #[test]
    fn a_history_head_commits_to_every_entry_and_its_order() {
        let a = HistoryHead::EMPTY.append(b"a");
        let ab = a.append(b"b");
        assert_eq!(ab.count, 2);
        assert_ne!(ab, HistoryHead::EMPTY.append(b"b").append(b"a"));
        assert_ne!(ab.head, a.head);
    }
}
