//! One block's changes laid over a store: what the next block executes against while
//! those changes are still being written.
//!
//! A node commits block N (encoding, RocksDB's write, the sync) while it executes block
//! N + 1 (`node/src/executor.rs`). Block N + 1 must read exactly the state block N left,
//! so it reads through a [`Layered`]: N's state values, history entries, tree nodes and
//! tree values first, and for everything N did not write the store, which holds every
//! block up to N - 1 (and, while N's write lands, perhaps N too: the same values).
//! Reading through the layer is reading the store after `MemoryStorage::apply` of the
//! layer's changes (`tests` below holds the two equal).

use std::collections::HashMap;

use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Version};
use lianrong_primitives::Hash;

use crate::error::StoreError;
use crate::merkle::{rightmost_leaf, StateChanges};
use crate::state::{Entries, StateRead, Storage};

/// `top` (one block's changes, the newest) over `base` (the state before it).
pub struct Layered<'a, S> {
    base: &'a S,
    top: &'a StateChanges,
    /// The newest tree value the top writes per key hash, with its version.
    values: HashMap<KeyHash, (Version, &'a Option<OwnedValue>)>,
}

impl<'a, S: Storage> Layered<'a, S> {
    /// `top` laid over `base`; `top` must be the changes of the block after `base`'s
    /// latest, or `base` must hold them already (its write landed: reading through the
    /// layer then reads the same). Anything else is refused: a layer over the wrong state
    /// would execute on it silently.
    pub fn new(base: &'a S, top: &'a StateChanges) -> Result<Self, StoreError> {
        let below = base.latest()?.map(|(v, _)| v);
        let before = below.and_then(|v| v.checked_add(1)) == Some(top.version);
        let landed = below == Some(top.version);
        if !(before || landed) {
            return Err(StoreError::Backend(format!(
                "the changes of version {} laid over a store at {below:?}",
                top.version
            )));
        }
        let mut values = HashMap::with_capacity(top.tree.node_batch.values().len());
        for ((version, key_hash), value) in top.tree.node_batch.values() {
            let newer = values.get(key_hash).is_none_or(|(v, _)| v < version);
            if newer {
                values.insert(*key_hash, (*version, value));
            }
        }
        Ok(Self { base, top, values })
    }

    /// What the top writes at `key` (`Some(None)`: a deletion), if it writes it.
    fn written(&self, key: &[u8]) -> Option<&'a Option<Vec<u8>>> {
        self.top.values.get(key).or_else(|| self.top.index.get(key))
    }
}

impl<S: Storage> StateRead for Layered<'_, S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.written(key) {
            Some(value) => Ok(value.clone()),
            None => self.base.get(key),
        }
    }
}

impl<'a, S: Storage> Storage for Layered<'a, S> {
    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Entries, StoreError> {
        let in_prefix = |m: &'a crate::state::Writes| {
            m.range(prefix.to_vec()..)
                .take_while(|(k, _)| k.starts_with(prefix))
        };
        // The top's writes under the prefix, in key order (state and history keys never
        // coincide: a store routes each to one place).
        let mut top: Vec<(&Vec<u8>, &Option<Vec<u8>>)> = in_prefix(&self.top.values)
            .chain(in_prefix(&self.top.index))
            .collect();
        top.sort_unstable_by(|a, b| a.0.cmp(b.0));
        // Each deletion may hide one of the base's entries: ask for that many more.
        let deleted = top.iter().filter(|(_, v)| v.is_none()).count();
        let base = self
            .base
            .scan_prefix(prefix, limit.saturating_add(deleted))?;
        let mut out = Vec::with_capacity(limit.min(base.len() + top.len()));
        let mut a = base.into_iter().peekable();
        let mut b = top.into_iter().peekable();
        while out.len() < limit {
            let from_base = match (a.peek(), b.peek()) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some(x), Some(y)) => match x.0.as_slice().cmp(y.0.as_slice()) {
                    std::cmp::Ordering::Less => true,
                    std::cmp::Ordering::Greater => false,
                    // The top's write replaces the base's value.
                    std::cmp::Ordering::Equal => {
                        a.next();
                        false
                    }
                },
            };
            let next = if from_base {
                a.next().map(|(k, v)| (k, Some(v)))
            } else {
                b.next().map(|(k, v)| (k.clone(), v.clone()))
            };
            let Some((key, value)) = next else { break };
            if let Some(value) = value {
                out.push((key, value));
            }
        }
        Ok(out)
    }

    fn latest(&self) -> Result<Option<(u64, Hash)>, StoreError> {
        Ok(Some((self.top.version, self.top.root)))
    }
}

impl<S: Storage> TreeReader for Layered<'_, S> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        match self.top.tree.node_batch.get_node(node_key) {
            Some(node) => Ok(Some(node.clone())),
            None => self.base.get_node_option(node_key),
        }
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        match self.values.get(&key_hash) {
            Some((version, value)) if *version <= max_version => Ok((*value).clone()),
            _ => self.base.get_value_option(max_version, key_hash),
        }
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Over all nodes of all versions, as the stores answer it: the base's or the
        // top's, whichever lies further right.
        let base = self.base.get_rightmost_leaf()?;
        Ok(rightmost_leaf(base, self.top.tree.node_batch.nodes()))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::merkle::{compute_changes, key_hash, leaf_of, MemoryStorage};
    use crate::state::Writes;

    /// Keys from a small alphabet under a few prefixes, so that writes, deletions and
    /// scans meet; some are history keys (`hist/`), which a block writes as its index.
    fn key() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::sample::select(vec!["due/1/", "due/2/", "doc/order/", "hist/order/"]),
            0u8..12,
        )
            .prop_map(|(p, n)| format!("{p}{n:02}").into_bytes())
    }

    fn block() -> impl Strategy<Value = Writes> {
        prop::collection::btree_map(
            key(),
            prop::option::of(prop::collection::vec(any::<u8>(), 1..4)),
            0..20,
        )
    }

    /// A block's writes as the contracts hand them over: history under `index`.
    fn changes(store: &impl Storage, version: u64, writes: &Writes) -> StateChanges {
        let (index, values): (Writes, Writes) = writes
            .clone()
            .into_iter()
            .partition(|(k, _)| k.starts_with(b"hist/"));
        let mut c = compute_changes(store, version, values).unwrap();
        c.index = index;
        c
    }

    proptest! {
        /// Reading through a block's layer is reading the store with the block applied:
        /// values, scans of every prefix and limit, the root, and the next block's
        /// changes computed on it (tree nodes and values read through the layer).
        #[test]
        fn a_layer_reads_as_the_store_after_its_block(
            first in block(), second in block(), third in block(), limit in 0usize..30,
        ) {
            let mut store = MemoryStorage::new();
            store.apply(&changes(&store, 0, &first));
            let top = changes(&store, 1, &second);
            let layered = Layered::new(&store, &top).unwrap();
            let mut applied = store.clone();
            applied.apply(&top);

            prop_assert_eq!(layered.latest().unwrap(), applied.latest().unwrap());
            for k in first.keys().chain(second.keys()).chain(third.keys()) {
                prop_assert_eq!(layered.get(k).unwrap(), applied.get(k).unwrap());
                // Tree values at each version (proofs of older versions read those).
                let leaf = key_hash(&leaf_of(k).0);
                for version in 0..3 {
                    prop_assert_eq!(
                        layered.get_value_option(version, leaf).unwrap(),
                        applied.get_value_option(version, leaf).unwrap()
                    );
                }
            }
            for prefix in ["", "due/", "due/1/", "doc/", "hist/", "x"] {
                prop_assert_eq!(
                    layered.scan_prefix(prefix.as_bytes(), limit).unwrap(),
                    applied.scan_prefix(prefix.as_bytes(), limit).unwrap(),
                    "prefix {:?}, limit {}", prefix, limit
                );
            }
            let on_layer = changes(&layered, 2, &third);
            let on_applied = changes(&applied, 2, &third);
            prop_assert_eq!(on_layer.root, on_applied.root);
            prop_assert_eq!(on_layer.tree.node_batch, on_applied.tree.node_batch);
            // The rightmost key (which version's leaf holds it is a tie either answers).
            prop_assert_eq!(
                layered.get_rightmost_leaf().unwrap().map(|(_, l)| l.key_hash()),
                applied.get_rightmost_leaf().unwrap().map(|(_, l)| l.key_hash())
            );
        }
    }

    /// A layer over a store at the version before it, or holding it already, reads as
    /// the store with it; over any other version it is refused.
    #[test]
    fn a_layer_goes_only_over_the_version_before_it_or_its_own() {
        let w = |v: &str| -> Writes { [(b"a".to_vec(), Some(v.as_bytes().to_vec()))].into() };
        let mut store = MemoryStorage::new();
        store.apply(&changes(&store, 0, &w("0")));
        let at_1 = changes(&store, 1, &w("1"));
        let layered = Layered::new(&store, &at_1).unwrap();
        assert_eq!(layered.get(b"a").unwrap(), Some(b"1".to_vec()));
        store.apply(&at_1);
        let landed = Layered::new(&store, &at_1).unwrap();
        assert_eq!(landed.get(b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(landed.latest().unwrap(), store.latest().unwrap());
        let at_2 = changes(&store, 2, &w("2"));
        store.apply(&at_2);
        assert!(Layered::new(&store, &at_1).is_err(), "version 1 over 2");
        let empty = MemoryStorage::new();
        assert!(Layered::new(&empty, &at_1).is_err(), "over no genesis");
        let mut at_0 = MemoryStorage::new();
        at_0.apply(&changes(&at_0, 0, &w("0")));
        assert!(Layered::new(&at_0, &at_2).is_err(), "version 2 over 0");
    }
}
