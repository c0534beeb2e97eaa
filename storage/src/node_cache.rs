//! The Merkle tree's most used nodes in memory.
//!
//! Every block rewrites the paths from its changed keys up to the root, and jmt reads
//! the previous version of each path first: without a cache that is a RocksDB lookup and
//! a decode per node, the largest cost of executing a block. Tree nodes never change
//! once written (a node key names a version), so a cached node is never wrong; the cache
//! is filled by reads and by committed blocks, and forgets the least recently used.
//!
//! A committed block also forgets the nodes it superseded ([`NodeCache::forget`]): a
//! block reads the old version of each node on its paths and writes a new one, so both
//! were used last by the same block and LRU alone kept them alike -- much of the cache
//! held old versions that only a proof of an older height would read, while current
//! nodes of the tree's fourth level came from RocksDB (dropping them: 19 % fewer node
//! reads from disk catching up 1,000,000 orders).
//!
//! And it keeps a level of the tree only when the levels above it fit whole
//! (`deepest_level_kept`), so nodes read once a million keys do not push out those read
//! once every sixteen thousand.
//!
//! Internal nodes and leaves are kept apart, each in an LRU of its own size. A leaf is
//! read again only when its key changes (and then replaced by a leaf of the new
//! version) or when a new key lands on its path: over a large tree most leaves are never
//! read again, and a block writes a leaf per changed key, so in one LRU with the internal
//! nodes leaves took most of the room and pushed out the internal nodes every block
//! reads again (a block of 1,000 orders writes ~3,000 leaves; the tree's fourth and
//! fifth levels, read on every key's path, then came from RocksDB). Yet the keys that do
//! change again change soon: a signer's nonce at its next transaction, a document at its
//! next step (a lifecycle transaction read back ~2.4 leaves from RocksDB before the leaf
//! part existed). A small LRU of their own keeps the leaves of the last seconds' writes
//! without touching the internal nodes' room.

use std::sync::Mutex;

use hashlink::LruCache;
use jmt::storage::{Node, NodeKey};

use crate::cache_reads::{CacheReads, ReadCounter};

/// Internal nodes kept: the upper levels of the tree plus the paths of the last few
/// blocks (a block of 1,000 orders writes some 8,000). About 1.1 KiB each (16 boxed
/// child slots, the key, the LRU entry; measured by `node/tests/memory_model.rs`), so this
/// bounds the cache to some 72 MiB; a node's memory plan sizes it from its budget instead.
pub const NODE_CACHE_ENTRIES: usize = 64 * 1024;

/// Leaves kept: a few seconds of a loaded validator's writes (a lifecycle transaction
/// writes ~3.3), so the next change of a nonce or a document finds its leaf. A node's
/// memory plan sizes it from its budget instead.
pub const LEAF_CACHE_ENTRIES: usize = 16 * 1024;

/// A bounded, thread-safe LRU map of tree nodes: internal nodes and leaves apart, each
/// within its own capacity. Public so that the memory budget's model of it can be
/// checked against what it holds (`node/tests/memory_model.rs`).
pub struct NodeCache {
    nodes: Mutex<Parts>,
    /// The deepest level of the tree whose nodes are kept ([`deepest_level_kept`]).
    deepest: usize,
    /// Lookups answered, and lookups that went on to the database, since the start: how
    /// well the cache's size fits the tree (`lianrong_tree_node_reads_total`).
    reads: ReadCounter,
}

/// The two LRUs, under one lock: a lookup does not know a node's kind before it finds it.
struct Parts {
    internal: LruCache<NodeKey, Node>,
    /// `None` when sized 0.
    leaves: Option<LruCache<NodeKey, Node>>,
}

impl NodeCache {
    /// An empty cache holding at most `capacity` internal nodes and `leaf_capacity`
    /// leaves (none if 0).
    pub fn new(capacity: usize, leaf_capacity: usize) -> Self {
        assert!(capacity > 0);
        Self {
            nodes: Mutex::new(Parts {
                internal: LruCache::new(capacity),
                leaves: (leaf_capacity > 0).then(|| LruCache::new(leaf_capacity)),
            }),
            deepest: deepest_level_kept(capacity),
            reads: ReadCounter::default(),
        }
    }

    /// The node under `key`, if cached.
    pub fn get(&self, key: &NodeKey) -> Option<Node> {
        let mut parts = self.lock();
        let found = match parts.internal.get(key) {
            Some(node) => Some(node.clone()),
            None => parts.leaves.as_mut().and_then(|l| l.get(key)).cloned(),
        };
        drop(parts);
        self.reads.count(found.is_some());
        found
    }

    /// Lookups since the start, by where they were answered.
    pub fn reads(&self) -> CacheReads {
        self.reads.reads()
    }

    /// Remembers a node read from or written to the database: an internal one if of a
    /// level the cache keeps, a leaf in the leaves' part.
    pub fn insert(&self, key: &NodeKey, node: &Node) {
        match node {
            Node::Internal(_) if self.keeps_level(key) => {
                self.lock().internal.insert(key.clone(), node.clone());
            }
            Node::Leaf(_) => {
                if let Some(leaves) = self.lock().leaves.as_mut() {
                    leaves.insert(key.clone(), node.clone());
                }
            }
            // Not kept: no lock taken.
            _ => {}
        }
    }

    /// Whether [`NodeCache::insert`] keeps `node` (until the LRU of its kind drops it):
    /// an internal node of a kept level, or a leaf if the leaves' part is not sized 0.
    #[cfg(test)]
    pub(crate) fn keeps(&self, key: &NodeKey, node: &Node) -> bool {
        match node {
            Node::Internal(_) => self.keeps_level(key),
            Node::Leaf(_) => self.leaf_capacity() > 0,
            Node::Null => false,
        }
    }

    fn keeps_level(&self, key: &NodeKey) -> bool {
        key.nibble_path().num_nibbles() <= self.deepest
    }

    /// Drops the nodes a committed block superseded (no-op for those not cached). Only
    /// reads of older versions (proofs at past heights) want them again, and those go
    /// to the database.
    pub fn forget<'a>(&self, keys: impl IntoIterator<Item = &'a NodeKey>) {
        let mut parts = self.lock();
        for key in keys {
            if parts.internal.remove(key).is_none() {
                if let Some(leaves) = parts.leaves.as_mut() {
                    leaves.remove(key);
                }
            }
        }
    }

    /// Internal nodes it holds at most.
    pub fn capacity(&self) -> usize {
        self.lock().internal.capacity()
    }

    /// Leaves it holds at most.
    pub fn leaf_capacity(&self) -> usize {
        self.lock().leaves.as_ref().map_or(0, LruCache::capacity)
    }

    /// Forgets every node, so what follows reads the database (tests of what is on disk).
    #[cfg(test)]
    pub fn clear(&self) {
        let mut parts = self.lock();
        parts.internal.clear();
        if let Some(leaves) = parts.leaves.as_mut() {
            leaves.clear();
        }
    }

    /// Whether `key` is cached, without making it recently used.
    #[cfg(test)]
    pub(crate) fn contains(&self, key: &NodeKey) -> bool {
        let parts = self.lock();
        parts.internal.contains_key(key)
            || parts.leaves.as_ref().is_some_and(|l| l.contains_key(key))
    }

    /// Internal nodes cached.
    pub fn internal_len(&self) -> usize {
        self.lock().internal.len()
    }

    /// Leaves cached.
    pub fn leaves_len(&self) -> usize {
        self.lock().leaves.as_ref().map_or(0, LruCache::len)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Parts> {
        // The map is consistent after any panic (each call is one map operation), so a
        // poisoned lock is safe to keep using.
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The deepest level whose nodes a cache of `capacity` keeps: the first level that does
/// not fit whole beside the levels above it (kept in part, by LRU). A node is on the
/// paths of sixteen times the keys a node of the level below it is, so any node above is
/// worth more than any below; and further down a node is seldom read again before LRU
/// drops it (over 1,000,000 documents a fifth-level node lies on the paths of one key in
/// a million, a block has some 2,000), while it takes the room of a fourth-level node a
/// block reads sixteen times as often.
fn deepest_level_kept(capacity: usize) -> usize {
    let (mut level, mut above) = (0usize, 0usize);
    loop {
        // Nodes of levels 0..=level, full: 1 + 16 + ... + 16^level.
        let with_level = above.saturating_add(16usize.saturating_pow(level as u32));
        if with_level > capacity || level >= 64 {
            return level;
        }
        above = with_level;
        level += 1;
    }
}

impl std::fmt::Debug for NodeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeCache").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::merkle::{compute_changes, MemoryStorage};

    /// Real tree nodes: those of a tree holding 64 keys (a root, some internal nodes
    /// below it where keys share a first nibble, 64 leaves).
    fn nodes() -> Vec<(NodeKey, Node)> {
        let writes = (0..64u8).map(|i| (vec![b'k', i], Some(vec![i]))).collect();
        let changes = compute_changes(&MemoryStorage::new(), 0, writes).expect("tree update");
        changes
            .tree
            .node_batch
            .nodes()
            .iter()
            .map(|(k, n)| (k.clone(), n.clone()))
            .collect()
    }

    /// The nodes of `all` that are leaves (`leaf`) or internal nodes (not).
    fn of_kind(all: &[(NodeKey, Node)], leaf: bool) -> Vec<(NodeKey, Node)> {
        (all.iter())
            .filter(|(_, n)| {
                matches!(
                    (n, leaf),
                    (Node::Leaf(_), true) | (Node::Internal(_), false)
                )
            })
            .cloned()
            .collect()
    }

    fn internal(all: &[(NodeKey, Node)]) -> Vec<(NodeKey, Node)> {
        let found = of_kind(all, false);
        assert!(
            found.len() >= 3,
            "the test tree has {} internal nodes",
            found.len()
        );
        found
    }

    #[test]
    fn keeps_the_recently_used_within_its_capacity() {
        let all = internal(&nodes());
        let [(k1, n1), (k2, n2), (k3, n3)] = [all[0].clone(), all[1].clone(), all[2].clone()];
        let cache = NodeCache::new(2, 0);
        cache.insert(&k1, &n1);
        cache.insert(&k2, &n2);
        // Using k1 makes k2 the least recently used, so k3 pushes k2 out.
        assert_eq!(cache.get(&k1), Some(n1));
        cache.insert(&k3, &n3);
        assert_eq!(cache.internal_len(), 2);
        assert!(cache.get(&k2).is_none());
        assert_eq!(cache.get(&k3), Some(n3));
        assert_eq!(
            cache.reads(),
            CacheReads {
                cached: 2,
                from_disk: 1
            }
        );
    }

    #[test]
    fn keeps_a_level_only_below_levels_that_fit_whole() {
        // The root alone fills a cache of one, so the first level is kept partly.
        assert_eq!(deepest_level_kept(1), 1);
        assert_eq!(deepest_level_kept(16), 1);
        assert_eq!(deepest_level_kept(17), 2);
        // 1 + 16 + 256 + 4,096 = 4,369 nodes fill levels 0 to 3.
        assert_eq!(deepest_level_kept(4_368), 3);
        assert_eq!(deepest_level_kept(4_369), 4);
        assert_eq!(deepest_level_kept(64 * 1024), 4);
        assert_eq!(deepest_level_kept(69_905), 5);
        // A key hash has 64 nibbles: every level.
        assert_eq!(deepest_level_kept(usize::MAX), 64);
    }

    #[test]
    fn forgets_superseded_nodes_and_only_those() {
        let all = internal(&nodes());
        let cache = NodeCache::new(all.len(), 0);
        for (k, n) in &all {
            cache.insert(k, n);
        }
        let (gone, kept) = all.split_at(2);
        cache.forget(gone.iter().map(|(k, _)| k));
        for (k, _) in gone {
            assert!(!cache.contains(k), "a superseded node is still cached");
        }
        for (k, n) in kept {
            assert_eq!(cache.get(k).as_ref(), Some(n));
        }
        // Forgetting what is not cached changes nothing.
        cache.forget(gone.iter().map(|(k, _)| k));
        assert_eq!(cache.internal_len(), kept.len());
    }

    fn leaves(all: &[(NodeKey, Node)]) -> Vec<(NodeKey, Node)> {
        let found = of_kind(all, true);
        assert_eq!(found.len(), 64, "one leaf per key of the test tree");
        found
    }

    #[test]
    fn leaves_never_push_out_internal_nodes() {
        let all = nodes();
        let kept = internal(&all);
        let leaves = leaves(&all);
        for leaf_capacity in [0, 8] {
            let cache = NodeCache::new(kept.len(), leaf_capacity);
            for (k, n) in &kept {
                cache.insert(k, n);
            }
            // A block's worth of leaves written after them: the last `leaf_capacity` of
            // them are kept, in their own part.
            for (k, n) in &leaves {
                cache.insert(k, n);
            }
            assert_eq!(cache.internal_len(), kept.len());
            assert_eq!(cache.leaves_len(), leaf_capacity);
            assert_eq!(cache.leaf_capacity(), leaf_capacity);
            for (k, n) in &kept {
                assert_eq!(cache.get(k).as_ref(), Some(n));
            }
            let (older, newest) = leaves.split_at(leaves.len() - leaf_capacity);
            for (k, n) in newest {
                assert_eq!(cache.get(k).as_ref(), Some(n), "a recent leaf was dropped");
            }
            for (k, _) in older {
                assert!(cache.get(k).is_none(), "more leaves than the capacity");
            }
        }
    }

    #[test]
    fn a_superseded_leaf_is_forgotten_and_read_counts_include_leaves() {
        let all = nodes();
        let leaves = leaves(&all);
        let cache = NodeCache::new(1, leaves.len());
        for (k, n) in &leaves {
            cache.insert(k, n);
        }
        let (gone, kept) = leaves.split_at(10);
        cache.forget(gone.iter().map(|(k, _)| k));
        for (k, _) in gone {
            assert!(!cache.contains(k), "a superseded leaf is still cached");
            assert!(cache.get(k).is_none());
        }
        for (k, n) in kept {
            assert_eq!(cache.get(k).as_ref(), Some(n));
        }
        assert_eq!(
            cache.reads(),
            CacheReads {
                cached: kept.len() as u64,
                from_disk: gone.len() as u64
            }
        );
    }
}
