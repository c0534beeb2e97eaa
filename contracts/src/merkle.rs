//! The Merkle state root: a Jellyfish Merkle Tree (`jmt`, SHA-256) over
//! `(sha256(key), value)`, one tree version per block height. Inclusion and exclusion
//! proofs come from the same tree.

use std::collections::{BTreeMap, HashMap};

use jmt::storage::{LeafNode, Node, NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{KeyHash, OwnedValue, Sha256Jmt, Version};
use lianrong_primitives::Hash;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::state::{Entries, StateRead, Storage, Writes};

/// The tree's hash function (what jmt's generic proof and restore types take).
pub type TreeHasher = sha2::Sha256;

/// The root of an empty tree.
pub fn empty_root() -> Hash {
    Hash(Sha256Jmt::<MemoryStorage>::EMPTY_ROOT.0)
}

/// The tree key of a state key.
pub fn key_hash(key: &[u8]) -> KeyHash {
    KeyHash::with::<sha2::Sha256>(key)
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
    let tree = Sha256Jmt::new(store);
    let set: Vec<(KeyHash, Option<OwnedValue>)> = values
        .iter()
        .map(|(k, v)| (key_hash(k), v.clone()))
        .collect();
    let (root, batch) = tree
        .put_value_set(set, version)
        .map_err(|e| StoreError::Backend(format!("merkle update at version {version}: {e}")))?;
    Ok(StateChanges {
        version,
        root: Hash(root.0),
        values,
        tree: batch,
        index: Writes::new(),
    })
}

/// A Merkle proof that `key` has `value` (or is absent) under `root`.
#[derive(Debug, Serialize, Deserialize)]
pub struct StateProof {
    /// The state key proven.
    pub key: Vec<u8>,
    /// Its value, or `None` for an exclusion proof.
    pub value: Option<Vec<u8>>,
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
        self.proof
            .verify(
                jmt::RootHash(root.0),
                key_hash(&self.key),
                self.value.as_ref(),
            )
            .map_err(|e| ProofError(e.to_string()))
    }
}

/// Builds a proof for `key` at `version`.
pub fn prove<S: Storage>(
    store: &S,
    key: &[u8],
    version: u64,
    root: Hash,
) -> Result<StateProof, StoreError> {
    let tree = Sha256Jmt::new(store);
    let (value, proof) = tree
        .get_with_proof(key_hash(key), version)
        .map_err(|e| StoreError::Backend(format!("merkle proof at version {version}: {e}")))?;
    Ok(StateProof {
        key: key.to_vec(),
        value,
        version,
        root,
        proof,
    })
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
        let mut best: Option<(NodeKey, LeafNode)> = None;
        for (key, node) in &self.nodes {
            if let Node::Leaf(leaf) = node {
                if best
                    .as_ref()
                    .is_none_or(|(_, b)| leaf.key_hash() > b.key_hash())
                {
                    best = Some((key.clone(), leaf.clone()));
                }
            }
        }
        Ok(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
