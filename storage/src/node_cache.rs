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
//! It holds internal nodes only. A leaf is read again only when its key changes (and
//! then replaced by a leaf of the new version) or when a new key lands on its path, so
//! over a large tree almost no cached leaf is ever read; yet a block writes a leaf per
//! changed key, and leaves took most of the room, pushing out the internal nodes every
//! block reads again (a block of 1,000 orders writes ~3,000 leaves; the tree's fourth
//! and fifth levels, read on every key's path, then came from RocksDB).

use std::sync::Mutex;

use hashlink::LruCache;
use jmt::storage::{Node, NodeKey};

use crate::cache_reads::{CacheReads, ReadCounter};

/// Internal nodes kept: the upper levels of the tree plus the paths of the last few
/// blocks (a block of 1,000 orders writes some 8,000). About 1.1 KiB each (16 boxed
/// child slots, the key, the LRU entry; measured by `node/tests/memory_model.rs`), so this
/// bounds the cache to some 72 MiB; a node's memory plan sizes it from its budget instead.
pub const NODE_CACHE_ENTRIES: usize = 64 * 1024;

/// A bounded, thread-safe LRU map of tree nodes. Public so that the memory budget's model
/// of it can be checked against what it holds (`node/tests/memory_model.rs`).
pub struct NodeCache {
    nodes: Mutex<LruCache<NodeKey, Node>>,
    /// The deepest level of the tree whose nodes are kept ([`deepest_level_kept`]).
    deepest: usize,
    /// Lookups answered, and lookups that went on to the database, since the start: how
    /// well the cache's size fits the tree (`lianrong_tree_node_reads_total`).
    reads: ReadCounter,
}

impl NodeCache {
    /// An empty cache holding at most `capacity` nodes.
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0);
        Self {
            nodes: Mutex::new(LruCache::new(capacity)),
            deepest: deepest_level_kept(capacity),
            reads: ReadCounter::default(),
        }
    }

    /// The node under `key`, if cached.
    pub fn get(&self, key: &NodeKey) -> Option<Node> {
        let found = self.lock().get(key).cloned();
        self.reads.count(found.is_some());
        found
    }

    /// Lookups since the start, by where they were answered.
    pub fn reads(&self) -> CacheReads {
        self.reads.reads()
    }

    /// Remembers a node read from or written to the database, if it is an internal one
    /// of a level the cache keeps (the module's comment says why leaves are not kept).
    pub fn insert(&self, key: &NodeKey, node: &Node) {
        if self.keeps(key, node) {
            self.lock().insert(key.clone(), node.clone());
        }
    }

    /// Whether [`NodeCache::insert`] keeps `node`: an internal node of a kept level.
    pub(crate) fn keeps(&self, key: &NodeKey, node: &Node) -> bool {
        matches!(node, Node::Internal(_)) && key.nibble_path().num_nibbles() <= self.deepest
    }

    /// Drops the nodes a committed block superseded (no-op for those not cached). Only
    /// reads of older versions (proofs at past heights) want them again, and those go
    /// to the database.
    pub fn forget<'a>(&self, keys: impl IntoIterator<Item = &'a NodeKey>) {
        let mut nodes = self.lock();
        for key in keys {
            nodes.remove(key);
        }
    }

    /// Nodes it holds at most.
    pub fn capacity(&self) -> usize {
        self.lock().capacity()
    }

    /// Forgets every node, so what follows reads the database (tests of what is on disk).
    #[cfg(test)]
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Whether `key` is cached, without making it recently used.
    #[cfg(test)]
    pub(crate) fn contains(&self, key: &NodeKey) -> bool {
        self.lock().contains_key(key)
    }

    /// Nodes cached.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<NodeKey, Node>> {
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

    fn internal(all: &[(NodeKey, Node)]) -> Vec<(NodeKey, Node)> {
        let found: Vec<_> = all
            .iter()
            .filter(|(_, n)| matches!(n, Node::Internal(_)))
            .cloned()
            .collect();
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
        let cache = NodeCache::new(2);
        cache.insert(&k1, &n1);
        cache.insert(&k2, &n2);
        // Using k1 makes k2 the least recently used, so k3 pushes k2 out.
        assert_eq!(cache.get(&k1), Some(n1));
        cache.insert(&k3, &n3);
        assert_eq!(cache.len(), 2);
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
        let cache = NodeCache::new(all.len());
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
        assert_eq!(cache.len(), kept.len());
    }

    #[test]
    fn leaves_never_push_out_internal_nodes() {
        let all = nodes();
        let kept = internal(&all);
        let leaves: Vec<_> = all
            .iter()
            .filter(|(_, n)| matches!(n, Node::Leaf(_)))
            .collect();
        assert_eq!(leaves.len(), 64, "one leaf per key of the test tree");
        let cache = NodeCache::new(kept.len());
        for (k, n) in &kept {
            cache.insert(k, n);
        }
        // A block's worth of leaves written after them, and read back.
        for (k, n) in &leaves {
            cache.insert(k, n);
            assert!(cache.get(k).is_none(), "a leaf was cached");
        }
        assert_eq!(cache.len(), kept.len());
        for (k, n) in &kept {
            assert_eq!(cache.get(k).as_ref(), Some(n));
        }
    }
}
