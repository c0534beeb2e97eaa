//! The Merkle tree's most used nodes in memory.
//!
//! Every block rewrites the paths from its changed keys up to the root, and jmt reads
//! the previous version of each path first: without a cache that is a RocksDB lookup and
//! a decode per node, the largest cost of executing a block. Tree nodes never change
//! once written (a node key names a version), so a cached node is never stale; the cache
//! is filled by reads and by committed blocks, and forgets the least recently used.

use std::sync::Mutex;

use hashlink::LruCache;
use jmt::storage::{Node, NodeKey};

/// Nodes kept: the upper levels of the tree plus the paths of the last few blocks
/// (a block of 1,000 transactions writes some 10,000 nodes). At most a few hundred
/// bytes each, so this bounds the cache to tens of MiB.
pub const NODE_CACHE_ENTRIES: usize = 64 * 1024;

/// A bounded, thread-safe LRU map of tree nodes.
pub struct NodeCache {
    nodes: Mutex<LruCache<NodeKey, Node>>,
}

impl NodeCache {
    /// An empty cache holding at most `capacity` nodes.
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0);
        Self {
            nodes: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// The node under `key`, if cached.
    pub fn get(&self, key: &NodeKey) -> Option<Node> {
        self.lock().get(key).cloned()
    }

    /// Remembers a node read from or written to the database.
    pub fn insert(&self, key: NodeKey, node: Node) {
        self.lock().insert(key, node);
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

    /// Nodes cached.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<NodeKey, Node>> {
        // The map is consistent after any panic (each call is one map operation), so a
        // poisoned lock is safe to keep using.
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
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

    /// Real tree nodes: those of a tree holding a few keys.
    fn nodes() -> Vec<(NodeKey, Node)> {
        let writes = (0..8u8).map(|i| (vec![b'k', i], Some(vec![i]))).collect();
        let changes = compute_changes(&MemoryStorage::new(), 0, writes).expect("tree update");
        changes
            .tree
            .node_batch
            .nodes()
            .iter()
            .map(|(k, n)| (k.clone(), n.clone()))
            .collect()
    }

    #[test]
    fn keeps_the_recently_used_within_its_capacity() {
        let all = nodes();
        assert!(all.len() >= 3);
        let [(k1, n1), (k2, n2), (k3, n3)] = [all[0].clone(), all[1].clone(), all[2].clone()];
        let cache = NodeCache::new(2);
        cache.insert(k1.clone(), n1.clone());
        cache.insert(k2.clone(), n2);
        // Using k1 makes k2 the least recently used, so k3 pushes k2 out.
        assert_eq!(cache.get(&k1), Some(n1));
        cache.insert(k3.clone(), n3.clone());
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&k2).is_none());
        assert_eq!(cache.get(&k3), Some(n3));
    }
}
