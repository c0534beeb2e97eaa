//! The Merkle state root: a Jellyfish Merkle Tree (`jmt`, SHA-256) over
//! `(sha256(key), value)`, one tree version per block height. Inclusion and exclusion
//! proofs come from the same tree.
//!
//! A document and the head of its history chain share one leaf ([`leaf_of`]): every
//! change to a document appends to its history, so the two change together, and one leaf
//! costs one tree path per touched document where two leaves cost two (the tree's
//! insertion and commit were most of an order's execution). Every other state key is a
//! leaf of its own.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use jmt::storage::{LeafNode, Node, NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{KeyHash, OwnedValue, Sha256Jmt, Version};
use lianrong_primitives::Hash;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::state::{keys, Entries, StateRead, Storage, Writes, MAX_VALUE_BYTES};

mod two_pass;

/// The tree's hash function (what jmt's generic proof and restore types take).
pub type TreeHasher = sha2::Sha256;

/// The root of an empty tree.
pub fn empty_root() -> Hash {
    Hash(Sha256Jmt::<MemoryStorage>::EMPTY_ROOT.0)
}

/// The tree key of a state key: its SHA-256, but for a nonce (`nonce/...`), whose first
/// two bytes are [`NONCE_SUBTREE`]'s. Every transaction rewrites its signer's nonce, and
/// nonces hashed anywhere in the tree made each block rewrite, per signer, a path of
/// internal nodes no other key of the block shared; under one two-byte prefix they share
/// the path down to the subtree (measured in node/README.md, "Nonces in one subtree, tree
/// nodes in a compact form"). The other 30
/// bytes keep nonces apart, and a key of another kind whose hash happens to start alike
/// only lands among them. `static/verify.js` in the explorer follows the same rule.
pub fn key_hash(key: &[u8]) -> KeyHash {
    let mut hash = KeyHash::with::<sha2::Sha256>(key);
    if key.starts_with(keys::NONCE_PREFIX) {
        hash.0[..2].copy_from_slice(&NONCE_SUBTREE);
    }
    hash
}

/// The first two bytes of every nonce's tree key: those of SHA-256 of `nonce/` itself.
pub const NONCE_SUBTREE: [u8; 2] = [0xa9, 0xa6];

/// Which part of a tree leaf a state value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The whole leaf (every key but documents and history heads).
    Own,
    /// The document of a [`DocLeaf`].
    Document,
    /// The history head of a [`DocLeaf`].
    HistoryHead,
}

/// The leaf a document (`doc/<kind>/<id>`) and its history head (`hhead/<kind>/<id>`)
/// share, keyed by the document's key; its value is this, in the canonical encoding (a
/// `u8` 0 or 1 for each absent or present value, a present one as a little-endian `u64`
/// length and its bytes: what `static/verify.js` in the explorer reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocLeaf {
    /// The document's state value.
    pub document: Option<Vec<u8>>,
    /// Its history head's state value.
    pub history_head: Option<Vec<u8>>,
}

/// Largest leaf: two values of at most [`MAX_VALUE_BYTES`] and their framing.
pub const MAX_LEAF_BYTES: usize = 2 * MAX_VALUE_BYTES + 18;

impl DocLeaf {
    /// The leaf's encoding, or `None` (no leaf) when both values are absent.
    pub fn encode(&self) -> Option<Vec<u8>> {
        (self.document.is_some() || self.history_head.is_some())
            .then(|| lianrong_primitives::codec::encode(self))
    }

    /// Reads a leaf's bytes (canonical only, and never empty: one state has one tree).
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let leaf: DocLeaf = lianrong_primitives::codec::decode(bytes, MAX_LEAF_BYTES)
            .map_err(|e| format!("a document leaf that does not decode: {e}"))?;
        if leaf.encode().is_none() {
            return Err("a document leaf with neither a document nor a history head".into());
        }
        Ok(leaf)
    }

    /// The value in `slot` (`Slot::Own` has none here).
    fn get(&self, slot: Slot) -> Option<&Vec<u8>> {
        match slot {
            Slot::Own => None,
            Slot::Document => self.document.as_ref(),
            Slot::HistoryHead => self.history_head.as_ref(),
        }
    }
}

/// For a document or history head key: the `<kind>/<id>` that names its leaf, and which
/// part of the leaf it is.
fn doc_part(key: &[u8]) -> Option<(&[u8], Slot)> {
    match key.strip_prefix(keys::DOC_PREFIX) {
        Some(rest) => Some((rest, Slot::Document)),
        None => key
            .strip_prefix(keys::HEAD_PREFIX)
            .map(|rest| (rest, Slot::HistoryHead)),
    }
}

/// The tree leaf that holds the state value of `key`: its own, or (for a document or a
/// history head) the document's, and which part of it the value is.
pub fn leaf_of(key: &[u8]) -> (Cow<'_, [u8]>, Slot) {
    match doc_part(key) {
        Some((_, Slot::Document)) => (Cow::Borrowed(key), Slot::Document),
        Some((rest, slot)) => (Cow::Owned([keys::DOC_PREFIX, rest].concat()), slot),
        None => (Cow::Borrowed(key), Slot::Own),
    }
}

/// The state values a leaf holds (what a snapshot import stores for it): the leaf itself,
/// or a document leaf's values under their own keys. A history head key is never a leaf.
pub fn state_values(leaf_key: &[u8], leaf: &[u8]) -> Result<Entries, String> {
    match doc_part(leaf_key) {
        None => Ok(vec![(leaf_key.to_vec(), leaf.to_vec())]),
        Some((_, Slot::HistoryHead | Slot::Own)) => Err(format!(
            "{} is a history head, which lives in its document's leaf",
            String::from_utf8_lossy(leaf_key)
        )),
        Some((rest, Slot::Document)) => {
            let d = DocLeaf::decode(leaf)?;
            let head_key = [keys::HEAD_PREFIX, rest].concat();
            Ok(
                [(leaf_key.to_vec(), d.document), (head_key, d.history_head)]
                    .into_iter()
                    .filter_map(|(k, v)| Some((k, v?)))
                    .collect(),
            )
        }
    }
}

/// What one block writes to a document leaf's two parts (`None`: a part not written).
type LeafWrites = [Option<Option<Vec<u8>>>; 2];

/// The tree's writes for a block's state writes: each document leaf once, with the part
/// the block did not write read from `store` (the state before the block).
fn tree_writes<S: StateRead>(
    store: &S,
    values: &Writes,
) -> Result<Vec<(KeyHash, Option<OwnedValue>)>, StoreError> {
    let mut set = Vec::with_capacity(values.len());
    let mut docs: BTreeMap<&[u8], LeafWrites> = BTreeMap::new();
    for (key, value) in values {
        match doc_part(key) {
            None => set.push((key_hash(key), value.clone())),
            Some((rest, slot)) => {
                let part = usize::from(slot == Slot::HistoryHead);
                docs.entry(rest).or_default()[part] = Some(value.clone());
            }
        }
    }
    for (rest, [document, head]) in docs {
        let doc_key = [keys::DOC_PREFIX, rest].concat();
        let leaf = DocLeaf {
            document: match document {
                Some(v) => v,
                None => store.get(&doc_key)?,
            },
            history_head: match head {
                Some(v) => v,
                None => store.get(&[keys::HEAD_PREFIX, rest].concat())?,
            },
        };
        set.push((key_hash(&doc_key), leaf.encode()));
    }
    Ok(set)
}

/// Everything one block changes, ready to be written atomically.
#[derive(Debug, Clone)]
pub struct StateChanges {
    /// The tree version (block height) these changes create.
    pub version: u64,
    /// The new state root.
    pub root: Hash,
    /// Raw key-value writes (`None` deletes).
    pub values: Writes,
    /// New tree nodes and the value versions jmt reads back.
    pub tree: TreeUpdateBatch,
    /// Index entries (document history) written with the block but not part of the
    /// state root.
    pub index: Writes,
}

/// Computes the tree update for `writes` on top of `store` at `version`.
pub fn compute_changes<S: Storage>(
    store: &S,
    version: u64,
    values: Writes,
) -> Result<StateChanges, StoreError> {
    let set = tree_writes(store, &values)?;
    let (root, batch) = tree_update(store, version, set, Insertion::Batched)
        .map_err(|e| StoreError::Backend(format!("merkle update at version {version}: {e}")))?;
    Ok(StateChanges {
        version,
        root: Hash(root.0),
        values,
        tree: batch,
        index: Writes::new(),
    })
}

/// How jmt is asked to apply a block's tree writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Insertion {
    /// The writes in one pass over the tree: each node on the touched paths is read,
    /// rebuilt and hashed once. Key by key (`put_value_set`), every internal node on each
    /// key's path is rebuilt, hashed and cloned into jmt's cache again -- the root and the
    /// levels below it once per key. jmt's batch insertion cannot delete: a block's
    /// deletes go key by key first ([`two_pass`]).
    Batched,
    /// Every key one by one: what a block of deletes only gets, and what the tests
    /// compare `Batched` with.
    #[cfg(test)]
    KeyByKey,
}

/// The tree's new root and what to write for `set` at `version`. Both ways give the same
/// root, nodes, stale nodes and values (`batched_and_key_by_key_insertion_agree`).
fn tree_update<S: Storage>(
    store: &S,
    version: u64,
    set: Vec<(KeyHash, Option<OwnedValue>)>,
    how: Insertion,
) -> anyhow::Result<(jmt::RootHash, TreeUpdateBatch)> {
    let tree = Sha256Jmt::new(store);
    let writes_some = set.iter().any(|(_, v)| v.is_some());
    // The two passes need a previous version to start the second from; a genesis that
    // deletes (none does) goes key by key.
    let genesis_deletes = version == 0 && set.iter().any(|(_, v)| v.is_none());
    if how != Insertion::Batched
        || !writes_some
        || genesis_deletes
        || !has_previous_root(store, version)?
    {
        return tree.put_value_set(set, version);
    }
    let (writes, deletes): (Vec<_>, Vec<_>) = set.into_iter().partition(|(_, v)| v.is_some());
    let writes: Vec<_> = writes
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
    if deletes.is_empty() {
        let (roots, batch) = tree.batch_put_value_sets(vec![writes], None, version)?;
        let [root] = roots[..] else {
            anyhow::bail!("{} roots for one version", roots.len());
        };
        return Ok((root, batch));
    }
    let deletes = deletes.into_iter().map(|(k, _)| k).collect();
    two_pass::deletes_then_writes(store, version, deletes, writes)
}

/// Whether the tree has a root at the version before `version` (or `version` is 0). Key
/// by key, jmt takes a missing previous root for an empty tree; its batch insertion
/// refuses it. A chain's tree has one at every version from genesis (0) on, but a store
/// begun at a later version has none before it.
fn has_previous_root<S: Storage>(store: &S, version: u64) -> anyhow::Result<bool> {
    let Some(previous) = version.checked_sub(1) else {
        return Ok(true);
    };
    let root = NodeKey::new(previous, std::iter::empty().collect());
    Ok(store.get_node_option(&root)?.is_some())
}

/// A Merkle proof that `key` has `value` (or is absent) under `root`.
#[derive(Debug, Serialize, Deserialize)]
pub struct StateProof {
    /// The state key proven.
    pub key: Vec<u8>,
    /// Its value, or `None` for an exclusion proof.
    pub value: Option<Vec<u8>>,
    /// The whole leaf when the key shares one ([`leaf_of`]) and it exists: the
    /// [`DocLeaf`] encoding, whose part for the key is `value`.
    #[serde(default)]
    pub leaf: Option<Vec<u8>>,
    /// The tree version (block height).
    pub version: u64,
    /// The root the proof is against.
    pub root: Hash,
    /// jmt's sparse Merkle proof (leaf and sibling hashes, bottom-up).
    pub proof: jmt::proof::SparseMerkleProof<sha2::Sha256>,
}

/// Why a proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state proof does not verify: {0}")]
pub struct ProofError(pub String);

impl StateProof {
    /// Checks the proof against `root` (which the caller trusts, e.g. from a block with a
    /// valid commit certificate).
    pub fn verify(&self, root: &Hash) -> Result<(), ProofError> {
        let (leaf_key, slot) = leaf_of(&self.key);
        let leaf = match slot {
            Slot::Own if self.leaf.is_some() => {
                return Err(ProofError(
                    "a shared leaf given for a key that has its own".into(),
                ))
            }
            Slot::Own => self.value.as_ref(),
            _ => {
                let part = match &self.leaf {
                    Some(bytes) => DocLeaf::decode(bytes)
                        .map_err(ProofError)?
                        .get(slot)
                        .cloned(),
                    None => None,
                };
                if part != self.value {
                    return Err(ProofError(
                        "the value is not the one its document leaf holds".into(),
                    ));
                }
                self.leaf.as_ref()
            }
        };
        self.proof
            .verify(jmt::RootHash(root.0), key_hash(&leaf_key), leaf)
            .map_err(|e| ProofError(e.to_string()))
    }
}

/// Why a proof could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The tree could not be read at that version (missing nodes: pruned, or a fault).
    #[error("merkle proof at version {version}: {source}")]
    Tree {
        /// The version asked for.
        version: u64,
        /// jmt's error.
        source: anyhow::Error,
    },
    /// The leaf read is not a document leaf (a corrupt store).
    #[error("the tree leaf of {key} at version {version}: {reason}")]
    Leaf {
        /// The leaf's key, as text.
        key: String,
        /// The version.
        version: u64,
        /// What is wrong with it.
        reason: String,
    },
}

/// Builds a proof for `key` at `version` from the tree `reader` holds.
pub fn prove_in<R: TreeReader>(
    reader: &R,
    key: &[u8],
    version: u64,
    root: Hash,
) -> Result<StateProof, ProveError> {
    let (leaf_key, slot) = leaf_of(key);
    let (leaf, proof) = Sha256Jmt::new(reader)
        .get_with_proof(key_hash(&leaf_key), version)
        .map_err(|source| ProveError::Tree { version, source })?;
    let (value, leaf) = match (slot, leaf) {
        (Slot::Own, leaf) => (leaf, None),
        (_, None) => (None, None),
        (_, Some(bytes)) => {
            let value = DocLeaf::decode(&bytes)
                .map_err(|reason| ProveError::Leaf {
                    key: String::from_utf8_lossy(&leaf_key).into_owned(),
                    version,
                    reason,
                })?
                .get(slot)
                .cloned();
            (value, Some(bytes))
        }
    };
    Ok(StateProof {
        key: key.to_vec(),
        value,
        leaf,
        version,
        root,
        proof,
    })
}

/// Builds a proof for `key` at `version`.
pub fn prove<S: Storage>(
    store: &S,
    key: &[u8],
    version: u64,
    root: Hash,
) -> Result<StateProof, StoreError> {
    prove_in(store, key, version, root).map_err(|e| StoreError::Backend(e.to_string()))
}

/// An in-memory [`Storage`] for tests, benchmarks and the in-process demo.
#[derive(Debug, Default, Clone)]
pub struct MemoryStorage {
    values: BTreeMap<Vec<u8>, Vec<u8>>,
    nodes: HashMap<NodeKey, Node>,
    value_versions: HashMap<KeyHash, BTreeMap<Version, Option<OwnedValue>>>,
    latest: Option<(u64, Hash)>,
}

impl MemoryStorage {
    /// An empty store (before genesis).
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one block's changes.
    pub fn apply(&mut self, changes: &StateChanges) {
        if let Some((v, _)) = self.latest {
            assert!(changes.version > v, "versions must increase");
        }
        for (k, v) in changes.values.iter().chain(&changes.index) {
            match v {
                Some(v) => self.values.insert(k.clone(), v.clone()),
                None => self.values.remove(k),
            };
        }
        for (key, node) in changes.tree.node_batch.nodes() {
            self.nodes.insert(key.clone(), node.clone());
        }
        for ((version, kh), v) in changes.tree.node_batch.values() {
            self.value_versions
                .entry(*kh)
                .or_default()
                .insert(*version, v.clone());
        }
        self.latest = Some((changes.version, changes.root));
    }
}

impl StateRead for MemoryStorage {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.values.get(key).cloned())
    }
}

impl Storage for MemoryStorage {
    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Entries, StoreError> {
        Ok(self
            .values
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn latest(&self) -> Result<Option<(u64, Hash)>, StoreError> {
        Ok(self.latest)
    }
}

impl TreeReader for MemoryStorage {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        Ok(self.nodes.get(node_key).cloned())
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self
            .value_versions
            .get(&key_hash)
            .and_then(|versions| versions.range(..=max_version).next_back())
            .and_then(|(_, v)| v.clone()))
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only jmt's restore path asks for this; a linear scan is fine there.
        Ok(rightmost_leaf(None, &self.nodes))
    }
}

/// Of `best` and the leaves among `nodes`, the one with the greatest key hash: jmt's
/// `get_rightmost_leaf`, over every node a store holds.
pub(crate) fn rightmost_leaf<'a>(
    mut best: Option<(NodeKey, LeafNode)>,
    nodes: impl IntoIterator<Item = (&'a NodeKey, &'a Node)>,
) -> Option<(NodeKey, LeafNode)> {
    for (key, node) in nodes {
        if let Node::Leaf(leaf) = node {
            if best
                .as_ref()
                .is_none_or(|(_, b)| leaf.key_hash() > b.key_hash())
            {
                best = Some((key.clone(), leaf.clone()));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Nonces' tree keys start with the two bytes of SHA-256 of `nonce/` and are otherwise
    /// their own SHA-256; every other key's is its SHA-256. A nonce is proven (and its
    /// absence) like any other key, among many nonces and documents.
    #[test]
    fn nonces_share_a_subtree_and_are_proven_like_any_key() {
        use lianrong_primitives::crypto::SecretKey;
        use sha2::Digest;

        let prefix: [u8; 32] = sha2::Sha256::digest(keys::NONCE_PREFIX).into();
        assert_eq!(NONCE_SUBTREE, prefix[..2]);
        let nonce = |i: u8| keys::nonce(&SecretKey::from_seed([i; 32]).public());
        for i in 0..20 {
            let key = nonce(i);
            let plain: [u8; 32] = sha2::Sha256::digest(&key).into();
            let hash = key_hash(&key).0;
            assert_eq!(hash[..2], NONCE_SUBTREE);
            assert_eq!(hash[2..], plain[2..]);
            let doc = keys::doc(crate::error::DocKind::Order, &format!("PO-{i}"));
            let doc_plain: [u8; 32] = sha2::Sha256::digest(&doc).into();
            assert_eq!(key_hash(&doc).0, doc_plain);
        }
        let mut store = MemoryStorage::new();
        let mut writes = Writes::new();
        for i in 0..40 {
            writes.insert(nonce(i), Some(vec![i]));
            writes.insert(format!("k/{i}").into_bytes(), Some(vec![i]));
        }
        let changes = compute_changes(&store, 0, writes).unwrap();
        let root = changes.root;
        store.apply(&changes);
        for i in [0, 17, 39] {
            let mut proof = prove(&store, &nonce(i), 0, root).unwrap();
            assert_eq!(proof.value, Some(vec![i]));
            proof.verify(&root).unwrap();
            proof.value = Some(vec![i + 1]);
            assert!(proof.verify(&root).is_err());
        }
        let absent = prove(&store, &nonce(99), 0, root).unwrap();
        assert_eq!(absent.value, None);
        absent.verify(&root).unwrap();
    }

    proptest::proptest! {
        /// The batch insertion (in two passes when a block also deletes) and jmt's
        /// key-by-key insertion write the same tree, block after block from an empty
        /// tree, with new keys, updated keys, keys that land on an existing leaf and
        /// deletions (of present and absent keys): the same root and values, and without
        /// deletions the same nodes and stale nodes. With deletions the node versions
        /// may differ (a leaf the deletes moved up and the writes pushed down again is
        /// new), so there the update must be exact instead: every node it writes and no
        /// other is new under the new root, and every node it marks stale and no other
        /// left the tree. Each block is applied as `compute_changes` would make it, so
        /// later blocks read what batches wrote.
        #[test]
        fn batched_and_key_by_key_insertion_agree(
            blocks in proptest::collection::vec(
                proptest::collection::btree_map(
                    0u16..600,
                    proptest::option::weighted(0.9, 0u8..4),
                    1..120,
                ),
                1..6,
            ),
            first in proptest::prop_oneof![0u64..3, 1000u64..1003],
        ) {
            let mut store = MemoryStorage::new();
            for (i, block) in blocks.iter().enumerate() {
                let version = first + i as u64;
                let set: Vec<(KeyHash, Option<OwnedValue>)> = block
                    .iter()
                    .map(|(k, v)| (key_hash(&k.to_be_bytes()), v.map(|v| vec![v; 3])))
                    .collect();
                let (one_pass, a) =
                    tree_update(&store, version, set.clone(), Insertion::Batched).unwrap();
                let (by_key, b) = tree_update(&store, version, set, Insertion::KeyByKey).unwrap();
                proptest::prop_assert_eq!(one_pass, by_key);
                proptest::prop_assert_eq!(a.node_batch.values(), b.node_batch.values());
                if block.values().all(Option::is_some) {
                    proptest::prop_assert_eq!(a.node_batch.nodes(), b.node_batch.nodes());
                    proptest::prop_assert_eq!(
                        &a.stale_node_index_batch,
                        &b.stale_node_index_batch
                    );
                }
                let before = nodes_under_root(&store, version.checked_sub(1));
                let stale: BTreeSet<NodeKey> = (a.stale_node_index_batch.iter())
                    .inspect(|s| assert_eq!(s.stale_since_version, version))
                    .map(|s| s.node_key.clone())
                    .filter(|key| !key.nibble_path().is_empty())
                    .collect();
                let new: BTreeSet<NodeKey> = (a.node_batch.nodes().keys())
                    .filter(|key| !key.nibble_path().is_empty())
                    .cloned()
                    .collect();
                proptest::prop_assert!(stale.is_subset(&before), "stale nodes were in the tree");
                proptest::prop_assert!(new.is_disjoint(&before), "new nodes are new");
                store.apply(&StateChanges {
                    version,
                    root: Hash(one_pass.0),
                    values: Writes::new(),
                    tree: a,
                    index: Writes::new(),
                });
                let after = nodes_under_root(&store, Some(version));
                let expected: BTreeSet<NodeKey> =
                    before.difference(&stale).chain(&new).cloned().collect();
                proptest::prop_assert_eq!(after, expected);
            }
        }
    }

    /// The keys of every node below the root at `version` (none without one). The root
    /// itself is left out: jmt copies an unchanged root to the new version without
    /// marking the old one stale.
    fn nodes_under_root(store: &MemoryStorage, version: Option<u64>) -> BTreeSet<NodeKey> {
        let mut found = BTreeSet::new();
        let Some(version) = version else {
            return found;
        };
        let root = NodeKey::new(version, std::iter::empty().collect());
        let mut pending = vec![root];
        while let Some(key) = pending.pop() {
            let Some(Node::Internal(node)) = store.get_node_option(&key).unwrap() else {
                continue;
            };
            for (nibble, child) in node.children_sorted() {
                let path = key.nibble_path().nibbles().chain([nibble]).collect();
                let child_key = NodeKey::new(child.version, path);
                assert!(
                    store.nodes.contains_key(&child_key),
                    "{child_key:?} is missing"
                );
                found.insert(child_key.clone());
                pending.push(child_key);
            }
        }
        found
    }

    fn writes(pairs: &[(&str, Option<&str>)]) -> Writes {
        pairs
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec())))
            .collect()
    }

    #[test]
    fn inclusion_and_exclusion_proofs_verify_and_tampering_fails() {
        let mut s = MemoryStorage::new();
        let c0 = compute_changes(&s, 0, writes(&[("a", Some("1")), ("b", Some("2"))])).unwrap();
        s.apply(&c0);
        let c1 = compute_changes(&s, 1, writes(&[("a", Some("3")), ("c", Some("4"))])).unwrap();
        s.apply(&c1);
        assert_ne!(c0.root, c1.root);

        let p = prove(&s, b"a", 1, c1.root).unwrap();
        assert_eq!(p.value.as_deref(), Some(&b"3"[..]));
        p.verify(&c1.root).unwrap();
        assert!(
            p.verify(&c0.root).is_err(),
            "proof must not verify against another root"
        );

        let old = prove(&s, b"a", 0, c0.root).unwrap();
        assert_eq!(old.value.as_deref(), Some(&b"1"[..]));
        old.verify(&c0.root).unwrap();

        let mut forged = prove(&s, b"a", 1, c1.root).unwrap();
        forged.value = Some(b"999".to_vec());
        assert!(
            forged.verify(&c1.root).is_err(),
            "a changed value must not verify"
        );

        let absent = prove(&s, b"zzz", 1, c1.root).unwrap();
        assert_eq!(absent.value, None);
        absent.verify(&c1.root).unwrap();
    }

    #[test]
    fn root_depends_only_on_content() {
        let mut a = MemoryStorage::new();
        let ca = compute_changes(&a, 0, writes(&[("x", Some("1")), ("y", Some("2"))])).unwrap();
        a.apply(&ca);
        let mut b = MemoryStorage::new();
        let cb0 = compute_changes(&b, 0, writes(&[("y", Some("2"))])).unwrap();
        b.apply(&cb0);
        let cb1 = compute_changes(&b, 1, writes(&[("x", Some("1"))])).unwrap();
        b.apply(&cb1);
        assert_eq!(ca.root, cb1.root);
        assert_ne!(ca.root, empty_root());
    }

    #[test]
    fn deletes_restore_the_previous_root() {
        let mut s = MemoryStorage::new();
        let c0 = compute_changes(&s, 0, writes(&[("x", Some("1"))])).unwrap();
        s.apply(&c0);
        let c1 = compute_changes(&s, 1, writes(&[("y", Some("2"))])).unwrap();
        s.apply(&c1);
        let c2 = compute_changes(&s, 2, writes(&[("y", None)])).unwrap();
        s.apply(&c2);
        assert_eq!(c2.root, c0.root);
        assert_eq!(s.get(b"y").unwrap(), None);
    }

    /// A block that deletes every key there is (its first pass leaves an empty tree) and
    /// writes others, then one that deletes an absent key and writes: the root is the
    /// root of what is left, as a tree built from that alone has it, and each key proves
    /// its value or its absence against it.
    #[test]
    fn a_block_that_deletes_and_writes_proves_what_is_left() {
        let mut s = MemoryStorage::new();
        s.apply(&compute_changes(&s, 0, writes(&[("x", Some("1")), ("y", Some("2"))])).unwrap());
        let c1 = compute_changes(
            &s,
            1,
            writes(&[("x", None), ("y", None), ("z", Some("3")), ("w", Some("4"))]),
        )
        .unwrap();
        s.apply(&c1);
        let c2 = compute_changes(&s, 2, writes(&[("absent", None), ("v", Some("5"))])).unwrap();
        s.apply(&c2);
        let alone = MemoryStorage::new();
        let left = [("z", Some("3")), ("w", Some("4")), ("v", Some("5"))];
        assert_eq!(
            c2.root,
            compute_changes(&alone, 0, writes(&left)).unwrap().root
        );
        for (key, value) in [("x", None), ("y", None), ("absent", None)]
            .iter()
            .chain(&left)
        {
            let proof = prove(&s, key.as_bytes(), 2, c2.root).unwrap();
            assert_eq!(proof.value.as_deref(), value.map(str::as_bytes), "{key}");
            proof.verify(&c2.root).unwrap();
        }
    }

    #[test]
    fn a_document_and_its_history_head_share_one_leaf_and_each_proves_its_own_part() {
        let mut s = MemoryStorage::new();
        let c0 = compute_changes(
            &s,
            0,
            writes(&[
                ("doc/order/A", Some("o1")),
                ("hhead/order/A", Some("h1")),
                ("n", Some("1")),
            ]),
        )
        .unwrap();
        assert_eq!(
            c0.tree.node_batch.values().len(),
            2,
            "one leaf for the document and its head"
        );
        s.apply(&c0);
        // A later block writes the head alone: the leaf keeps the document.
        let c1 = compute_changes(&s, 1, writes(&[("hhead/order/A", Some("h2"))])).unwrap();
        s.apply(&c1);
        let mut t = MemoryStorage::new();
        let same = writes(&[
            ("doc/order/A", Some("o1")),
            ("hhead/order/A", Some("h2")),
            ("n", Some("1")),
        ]);
        assert_eq!(compute_changes(&t, 0, same).unwrap().root, c1.root);

        let doc = prove(&s, b"doc/order/A", 1, c1.root).unwrap();
        assert_eq!(doc.value.as_deref(), Some(&b"o1"[..]));
        doc.verify(&c1.root).unwrap();
        let head = prove(&s, b"hhead/order/A", 1, c1.root).unwrap();
        assert_eq!(head.value.as_deref(), Some(&b"h2"[..]));
        assert_eq!(
            head.leaf, doc.leaf,
            "both parts are proven by the same leaf"
        );
        head.verify(&c1.root).unwrap();
        let old = prove(&s, b"hhead/order/A", 0, c0.root).unwrap();
        assert_eq!(old.value.as_deref(), Some(&b"h1"[..]));
        old.verify(&c0.root).unwrap();

        // The other part's value, a value the leaf does not hold, a leaf with its parts
        // swapped, a leaf without a value, a shared leaf for an own key: all refused.
        let mut forged = prove(&s, b"hhead/order/A", 1, c1.root).unwrap();
        forged.value = Some(b"o1".to_vec());
        assert!(forged.verify(&c1.root).is_err());
        let mut forged = prove(&s, b"doc/order/A", 1, c1.root).unwrap();
        forged.leaf = DocLeaf {
            document: Some(b"h2".to_vec()),
            history_head: Some(b"o1".to_vec()),
        }
        .encode();
        assert!(forged.verify(&c1.root).is_err());
        forged.leaf = None;
        assert!(forged.verify(&c1.root).is_err());
        forged.value = None;
        assert!(
            forged.verify(&c1.root).is_err(),
            "a present leaf proven absent"
        );
        let mut own = prove(&s, b"n", 1, c1.root).unwrap();
        own.leaf = doc.leaf.clone();
        assert!(own.verify(&c1.root).is_err());

        // A document never written: proven absent, with its head.
        let absent = prove(&s, b"hhead/order/B", 1, c1.root).unwrap();
        assert_eq!((absent.value.as_ref(), absent.leaf.as_ref()), (None, None));
        absent.verify(&c1.root).unwrap();
        t = MemoryStorage::new();
        let c = compute_changes(&t, 0, writes(&[("hhead/order/B", Some("h"))])).unwrap();
        t.apply(&c);
        let no_doc = prove(&t, b"doc/order/B", 0, c.root).unwrap();
        assert_eq!(no_doc.value, None);
        assert!(
            no_doc.leaf.is_some(),
            "absent from the leaf that holds its head"
        );
        no_doc.verify(&c.root).unwrap();
    }

    #[test]
    fn a_leaf_splits_back_into_the_state_values_it_holds() {
        let leaf = DocLeaf {
            document: Some(b"o".to_vec()),
            history_head: Some(b"h".to_vec()),
        };
        let bytes = leaf.encode().unwrap();
        assert_eq!(
            state_values(b"doc/order/A", &bytes).unwrap(),
            vec![
                (b"doc/order/A".to_vec(), b"o".to_vec()),
                (b"hhead/order/A".to_vec(), b"h".to_vec())
            ]
        );
        let head_only = DocLeaf {
            document: None,
            history_head: Some(b"h".to_vec()),
        };
        assert_eq!(
            state_values(b"doc/x/1", &head_only.encode().unwrap()).unwrap(),
            vec![(b"hhead/x/1".to_vec(), b"h".to_vec())]
        );
        assert_eq!(
            state_values(b"nonce/k", b"7").unwrap(),
            vec![(b"nonce/k".to_vec(), b"7".to_vec())]
        );
        assert!(
            state_values(b"hhead/order/A", &bytes).is_err(),
            "a head is never a leaf"
        );
        assert!(
            state_values(b"doc/order/A", b"o").is_err(),
            "not a leaf's encoding"
        );
        assert!(
            state_values(b"doc/order/A", &[0, 0]).is_err(),
            "an empty leaf"
        );
        let mut long = bytes.clone();
        long.push(0);
        assert!(
            state_values(b"doc/order/A", &long).is_err(),
            "trailing bytes"
        );
        assert_eq!(DocLeaf::default().encode(), None, "no values, no leaf");
    }
}
