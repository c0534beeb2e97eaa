//! A block's tree update when it both writes and deletes keys, in two passes.
//!
//! jmt's batch insertion reads, rebuilds and hashes each node on the touched paths once,
//! but cannot delete. Its key-by-key insertion deletes, but rebuilds and rehashes every
//! internal node on each key's path -- the root and the levels below it once per key: in
//! the lifecycle bench, where most blocks delete a few index keys (a split or settled
//! receivable leaves the maturity index, a repaid limit's use goes to zero), that was half
//! of the executor's time. So the few deletes go key by key over the store, and the many
//! writes go in one batch over the store as the deletes left it; the two updates are then
//! merged into one with key by key's root and values, whose written nodes are exactly the
//! new ones under that root and whose stale nodes exactly those that left the tree
//! (`tree_update`'s proptest checks both of every block).

use std::collections::BTreeSet;

use jmt::storage::{LeafNode, Node, NodeBatch, NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{KeyHash, OwnedValue, RootHash, Sha256Jmt, Version};

/// The tree's new root and what to write for `deletes` and `writes` (disjoint keys) at
/// `version`, whose previous version's root the store holds.
pub(super) fn deletes_then_writes<R: TreeReader>(
    store: &R,
    version: Version,
    deletes: Vec<KeyHash>,
    writes: Vec<(KeyHash, OwnedValue)>,
) -> anyhow::Result<(RootHash, TreeUpdateBatch)> {
    let deletes = deletes.into_iter().map(|key| (key, None));
    let (_, first) = Sha256Jmt::new(store).put_value_set(deletes, version)?;
    let after_deletes = AfterDeletes::new(store, version, &first.node_batch)?;
    let (roots, second) =
        Sha256Jmt::new(&after_deletes).batch_put_value_sets(vec![writes], None, version)?;
    let [root] = roots[..] else {
        anyhow::bail!("{} roots for one version", roots.len());
    };
    Ok((root, merge(first, second)?))
}

/// The store as the first pass left it at `version`: the previous version's root is the
/// first pass's root, and the nodes and values it wrote are read before the store's.
struct AfterDeletes<'a, R> {
    store: &'a R,
    version: Version,
    previous_root: NodeKey,
    root: NodeKey,
    first: &'a NodeBatch,
}

impl<'a, R: TreeReader> AfterDeletes<'a, R> {
    fn new(store: &'a R, version: Version, first: &'a NodeBatch) -> anyhow::Result<Self> {
        let Some(previous) = version.checked_sub(1) else {
            anyhow::bail!("a two-pass tree update needs a previous version; got {version}");
        };
        let root = NodeKey::new(version, std::iter::empty().collect());
        // jmt's key-by-key insertion always leaves a root at its version (a null node
        // when it deleted the last key); the batch pass starts from it.
        anyhow::ensure!(
            first.get_node(&root).is_some(),
            "the deletes at version {version} left no root"
        );
        Ok(Self {
            store,
            version,
            previous_root: NodeKey::new(previous, std::iter::empty().collect()),
            root,
            first,
        })
    }
}

impl<R: TreeReader> TreeReader for AfterDeletes<'_, R> {
    fn get_node_option(&self, key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let key = if *key == self.previous_root {
            &self.root
        } else {
            key
        };
        match self.first.get_node(key) {
            Some(node) => Ok(Some(node.clone())),
            None => self.store.get_node_option(key),
        }
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        if max_version >= self.version {
            if let Some(value) = self.first.values().get(&(self.version, key_hash)) {
                return Ok(value.clone());
            }
        }
        self.store.get_value_option(max_version, key_hash)
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only jmt's restore reads it, never an insertion.
        anyhow::bail!("the rightmost leaf is not read in the middle of a block's update")
    }
}

/// One update from the two passes: both passes' nodes and stale nodes, less what the
/// first created and the second replaced. The second only writes, and a write rebuilds
/// each node on its path at the same path and version, so a node of the first's that the
/// second marked stale is rebuilt at its very key: its stale entry is dropped and the
/// second's node taken.
fn merge(first: TreeUpdateBatch, second: TreeUpdateBatch) -> anyhow::Result<TreeUpdateBatch> {
    let TreeUpdateBatch {
        node_batch: mut nodes,
        stale_node_index_batch: mut stale,
        ..
    } = second;
    let created_then_replaced: BTreeSet<NodeKey> = (stale.iter())
        .map(|stale| &stale.node_key)
        .filter(|key| first.node_batch.get_node(key).is_some())
        .cloned()
        .collect();
    if let Some(key) = (created_then_replaced.iter()).find(|key| nodes.get_node(key).is_none()) {
        anyhow::bail!("the writes replaced the deletes' node {key:?} with none at its key");
    }
    stale.retain(|stale| !created_then_replaced.contains(&stale.node_key));
    stale.extend(first.stale_node_index_batch);
    let kept_from_first: Vec<(NodeKey, Node)> = (first.node_batch.nodes().iter())
        .filter(|(key, _)| nodes.get_node(key).is_none())
        .map(|(key, node)| (key.clone(), node.clone()))
        .collect();
    let values = first.node_batch.values().clone();
    nodes.extend(kept_from_first, values);
    Ok(TreeUpdateBatch {
        node_batch: nodes,
        stale_node_index_batch: stale,
        // jmt's per-version counts, for its users' metrics: nothing here reads them, and
        // the passes' counts do not add up to one pass's (a node the first creates, the
        // second may replace), so none rather than wrong ones.
        node_stats: Vec::new(),
    })
}
