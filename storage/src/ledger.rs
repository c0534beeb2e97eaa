//! The contract layer's view of the database: [`StateRead`], [`Storage`] and jmt's
//! [`TreeReader`], behaving exactly like `lianrong_contracts::MemoryStorage`.

use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Version};
use lianrong_contracts::state::{Entries, StateRead, Storage};
use lianrong_contracts::StoreError;
use lianrong_primitives::Hash;

use super::db::Db;
use super::error::DbError;
use super::node_codec::{decode_node, decode_node_key, encode_node_key};
use super::schema::*;

/// History entries live in the index column family but are part of what the contract
/// layer reads back (as in `MemoryStorage`, where they share one map with the state).
fn cf_of(key: &[u8]) -> &'static str {
    if key.starts_with(HISTORY_PREFIX) {
        CF_INDEX
    } else {
        CF_STATE
    }
}

impl StateRead for Db {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(Db::read(self, cf_of(key), key)?)
    }
}

impl Storage for Db {
    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Entries, StoreError> {
        // One snapshot, so the two column families are read at the same block.
        let snap = self.db.snapshot();
        let mut state = self.scan_in_key_order(Some(&snap), CF_STATE, prefix, limit)?;
        // History keys match the prefix if one of the two prefixes extends the other; the
        // longer one then selects exactly the matching history keys (and never the
        // receivable indexes that share the column family).
        let hist_prefix = if prefix.starts_with(HISTORY_PREFIX) {
            Some(prefix)
        } else if HISTORY_PREFIX.starts_with(prefix) {
            Some(HISTORY_PREFIX)
        } else {
            None
        };
        let Some(hist_prefix) = hist_prefix else {
            return Ok(state);
        };
        let hist = self.scan_in_key_order(Some(&snap), CF_INDEX, hist_prefix, limit)?;
        if hist.is_empty() {
            return Ok(state);
        }
        // Both lists are sorted and disjoint (commits route every key to one family).
        let mut merged = Vec::with_capacity(limit.min(state.len() + hist.len()));
        let mut a = std::mem::take(&mut state).into_iter().peekable();
        let mut b = hist.into_iter().peekable();
        while merged.len() < limit {
            let take_a = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => x.0 < y.0,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let next = if take_a { a.next() } else { b.next() };
            merged.extend(next);
        }
        Ok(merged)
    }

    fn latest(&self) -> Result<Option<(u64, Hash)>, StoreError> {
        Ok(Db::latest(self)?)
    }
}

impl Db {
    /// A tree node by its jmt key.
    pub(crate) fn node(&self, node_key: &NodeKey) -> Result<Option<Node>, DbError> {
        if let Some(node) = self.nodes.get(node_key) {
            return Ok(Some(node));
        }
        let key = encode_node_key(node_key);
        match self.read(CF_JMT_NODES, &key)? {
            None => Ok(None),
            Some(bytes) => {
                let node = decode_node(&bytes)
                    .map_err(|e| DbError::codec(format!("jmt node {node_key:?}"), e))?;
                self.nodes.insert(node_key, &node);
                Ok(Some(node))
            }
        }
    }

    /// The newest version `<= max_version` of the value under `key_hash`: one reverse
    /// seek to the last `key_hash ++ version` key not after `key_hash ++ max_version`.
    pub(crate) fn value_at(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> Result<Option<OwnedValue>, DbError> {
        let mut it = self.db.raw_iterator_cf(self.cf(CF_JMT_VALUES));
        let plain = jmt_value_key(&key_hash, max_version);
        // Encrypted, the key hash is stored as its keyed hash; the version follows as is.
        let wanted = self.stored_key(CF_JMT_VALUES, &plain);
        it.seek_for_prev(&wanted);
        let found = match (it.key(), it.value()) {
            (Some(k), Some(v)) if k.len() == 40 && k[..32] == wanted[..32] => {
                let v = self.open_value(CF_JMT_VALUES, k, v)?;
                let value = decode_jmt_value(&v).ok_or_else(|| {
                    DbError::corrupt(format!("jmt value {}", hex::encode(k)), "unknown tag")
                })?;
                Some(value)
            }
            _ => None,
        };
        it.status()?;
        Ok(found.flatten())
    }
}

impl TreeReader for Db {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        // Every read of a version starts at its root: refuse it there for a version
        // outside the pruning window, whose lower nodes may be gone.
        if node_key.nibble_path().num_nibbles() == 0 {
            self.check_kept(node_key.version())?;
        }
        Ok(self.node(node_key)?)
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self.value_at(max_version, key_hash)?)
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only jmt's restore path asks for this; a full scan is fine there.
        let mut best: Option<(NodeKey, LeafNode)> = None;
        let mut it = self.db.raw_iterator_cf(self.cf(CF_JMT_NODES));
        it.seek_to_first();
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            let v = self.open_value(CF_JMT_NODES, k, v)?;
            let node = decode_node(&v).map_err(|e| DbError::codec("jmt node", e))?;
            if let Node::Leaf(leaf) = node {
                if best
                    .as_ref()
                    .is_none_or(|(_, b)| leaf.key_hash() > b.key_hash())
                {
                    best = Some((decode_node_key(k)?, leaf));
                }
            }
            it.next();
        }
        it.status().map_err(DbError::from)?;
        Ok(best)
    }
}
