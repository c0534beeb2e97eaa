//! The stored form of the Merkle tree's nodes and node keys.
//!
//! A node's bytes are exactly what `lianrong_primitives::codec` (bincode's serde encoding:
//! fixed width little-endian integers, `u32` enum tags, one byte per `Option` tag) makes of
//! jmt's `Node`, the format every database since format 1 holds; they are read back through
//! that codec. A node's *key* is this module's own ([`encode_node_key`], since format 3):
//! the version first and big-endian, so that the nodes one block writes (all at its version)
//! sort after every earlier block's. Through the codec the version was little-endian, which
//! scattered each block's nodes over the whole key range: every flush overlapped every
//! file of the column family and each compaction rewrote it -- over 1,000,000 transactions
//! 7.5 GB of compaction output for it, 45 of a validator's 275 CPU-seconds. In
//! version order a flush lands past the end of the files before it and RocksDB moves it
//! down without rewriting. Why nodes are written by hand: through
//! serde each 32-byte hash is a tuple of 32 `u8`s, written one byte at a call, and a block
//! writes ~10 nodes per transaction of up to 16 child hashes each: encoding them was a
//! tenth of the executor's CPU (perf of `node/benches/execute_commit.rs`). The tests hold
//! the two encodings equal on the nodes of random trees, so a jmt upgrade that changed its
//! types fails them.

use jmt::storage::{LeafNode, NibblePath, Node, NodeKey};
use lianrong_primitives::codec;

use super::error::DbError;
use super::schema::MAX_NODE_BYTES;

/// bincode's serde tags of jmt's `Node` variants (their declaration order).
const TAG_NULL: u32 = 0;
const TAG_INTERNAL: u32 = 1;
const TAG_LEAF: u32 = 2;
/// bincode's serde tags of jmt's `NodeType` variants (`Leaf`, `Internal { leaf_count }`).
const TYPE_LEAF: u32 = 0;
const TYPE_INTERNAL: u32 = 1;
/// Bytes of one present child: option tag, hash, version, node type, leaf count.
const MAX_CHILD_BYTES: usize = 1 + 32 + 8 + 4 + 8;

/// The stored bytes of `node` (an error only if jmt's leaf changed shape: see
/// [`leaf_value_hash`]).
pub fn encode_node(node: &Node) -> Result<Vec<u8>, DbError> {
    Ok(match node {
        Node::Null => TAG_NULL.to_le_bytes().to_vec(),
        Node::Leaf(leaf) => {
            let mut out = Vec::with_capacity(4 + 64);
            out.extend_from_slice(&TAG_LEAF.to_le_bytes());
            out.extend_from_slice(&leaf.key_hash().0);
            out.extend_from_slice(&leaf_value_hash(leaf)?);
            out
        }
        Node::Internal(internal) => {
            let mut out = Vec::with_capacity(4 + 16 + 16 * MAX_CHILD_BYTES);
            out.extend_from_slice(&TAG_INTERNAL.to_le_bytes());
            let mut slots = [None; 16];
            let mut count = 0u64;
            for (nibble, child) in internal.children_sorted() {
                slots[usize::from(u8::from(nibble))] = Some(child);
                count += 1;
            }
            for slot in slots {
                let Some(child) = slot else {
                    out.push(0);
                    continue;
                };
                out.push(1);
                out.extend_from_slice(&child.hash);
                out.extend_from_slice(&child.version.to_le_bytes());
                if child.is_leaf() {
                    out.extend_from_slice(&TYPE_LEAF.to_le_bytes());
                } else {
                    out.extend_from_slice(&TYPE_INTERNAL.to_le_bytes());
                    out.extend_from_slice(&(child.leaf_count() as u64).to_le_bytes());
                }
            }
            out.extend_from_slice(&count.to_le_bytes());
            out.extend_from_slice(&(internal.leaf_count() as u64).to_le_bytes());
            out
        }
    })
}

/// A leaf's value hash. jmt keeps its getter to itself; its Borsh form (which jmt derives)
/// is the key hash then the value hash, raw.
fn leaf_value_hash(leaf: &LeafNode) -> Result<[u8; 32], DbError> {
    let mut bytes = [0u8; 64];
    let mut out = bytes.as_mut_slice();
    borsh::BorshSerialize::serialize(leaf, &mut out)
        .ok()
        .filter(|()| out.is_empty())
        .ok_or_else(|| DbError::corrupt("jmt leaf", "its Borsh form is not two hashes"))?;
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&bytes[32..]);
    Ok(hash)
}

/// The node stored as `bytes` (this node's own database: a malformed node is corruption).
pub fn decode_node(bytes: &[u8]) -> Result<Node, codec::CodecError> {
    codec::decode_stored(bytes, MAX_NODE_BYTES)
}

/// Most nibbles in a node's path: a key hash's 64.
const MAX_PATH_NIBBLES: usize = 64;

/// The stored bytes of a node key: the version (8 bytes, big-endian: keys sort by version,
/// see the module docs), the path's nibble count (one byte, at most 64), then the path two
/// nibbles a byte, an odd path's last low half zero.
pub fn encode_node_key(key: &NodeKey) -> Vec<u8> {
    let path = key.nibble_path();
    let nibbles = path.num_nibbles();
    // jmt's paths are prefixes of 32-byte key hashes.
    assert!(
        nibbles <= MAX_PATH_NIBBLES,
        "a node path of {nibbles} nibbles"
    );
    let len = nibbles.div_ceil(2);
    let mut out = Vec::with_capacity(9 + len);
    out.extend_from_slice(&key.version().to_be_bytes());
    out.push(nibbles as u8);
    for i in 0..len {
        let high = u8::from(path.get_nibble(2 * i)) << 4;
        let low = if 2 * i + 1 < nibbles {
            u8::from(path.get_nibble(2 * i + 1))
        } else {
            0
        };
        out.push(high | low);
    }
    out
}

/// The node key stored as `bytes` (from this node's own database: a malformed key is
/// corruption, reported, never a panic).
pub fn decode_node_key(bytes: &[u8]) -> Result<NodeKey, DbError> {
    let bad = |why: &str| DbError::corrupt("jmt node key", why);
    let (version, rest) = bytes
        .split_first_chunk::<8>()
        .ok_or_else(|| bad("shorter than its version"))?;
    let (&nibbles, packed) = rest.split_first().ok_or_else(|| bad("no nibble count"))?;
    let nibbles = usize::from(nibbles);
    if nibbles > MAX_PATH_NIBBLES || packed.len() != nibbles.div_ceil(2) {
        return Err(bad("its path length does not match its nibble count"));
    }
    if nibbles % 2 == 1 && packed.last().is_some_and(|b| b & 0x0f != 0) {
        return Err(bad("an odd path's last low half is not zero"));
    }
    let path: NibblePath = (0..nibbles)
        .map(|i| {
            let byte = packed[i / 2];
            if i % 2 == 0 {
                byte >> 4
            } else {
                byte & 0x0f
            }
        })
        // (jmt does not export its nibble type; it converts from a `u8` below 16.)
        .map(Into::into)
        .collect();
    Ok(NodeKey::new(u64::from_be_bytes(*version), path))
}

#[cfg(test)]
mod tests {
    use lianrong_contracts::merkle::{compute_changes, MemoryStorage};
    use lianrong_contracts::state::Writes;
    use proptest::prelude::*;

    use super::*;

    /// The nodes a few blocks of random writes make, from a random first version: leaves,
    /// internal nodes of every width, children of many versions, deletions. A first block
    /// of 40 keys makes sure there are internal nodes whatever the random blocks do.
    fn tree_nodes(first: u64, blocks: &[Vec<(u16, Option<u8>)>]) -> Vec<(NodeKey, Node)> {
        let mut store = MemoryStorage::new();
        let mut out = Vec::new();
        let seed: Vec<(u16, Option<u8>)> = (1000..1040).map(|k| (k, Some(7))).collect();
        for (i, writes) in std::iter::once(&seed).chain(blocks).enumerate() {
            let writes: Writes = writes
                .iter()
                .map(|(k, v)| (format!("k/{k}").into_bytes(), v.map(|v| vec![v; 3])))
                .collect();
            let version = first + i as u64;
            let changes = compute_changes(&store, version, writes).unwrap();
            out.extend(
                changes
                    .tree
                    .node_batch
                    .nodes()
                    .iter()
                    .map(|(k, n)| (k.clone(), n.clone())),
            );
            store.apply(&changes);
        }
        out
    }

    fn blocks() -> impl Strategy<Value = Vec<Vec<(u16, Option<u8>)>>> {
        let write = (0..600u16, prop::option::weighted(0.9, any::<u8>()));
        prop::collection::vec(prop::collection::vec(write, 1..120), 1..5)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Byte for byte what the codec wrote (and every database holds), and the codec
        /// reads it back to the same node.
        #[test]
        fn nodes_and_keys_are_stored_as_the_codec_wrote_them(
            first in prop_oneof![0..4u64, (1u64 << 32)..(1u64 << 33), (u64::MAX / 2)..(u64::MAX / 2 + 4)],
            blocks in blocks(),
        ) {
            let nodes = tree_nodes(first, &blocks);
            prop_assert!(nodes.iter().any(|(_, n)| matches!(n, Node::Internal(_))));
            for (key, node) in nodes {
                let bytes = encode_node(&node).unwrap();
                prop_assert_eq!(&bytes, &codec::encode(&node));
                prop_assert_eq!(decode_node(&bytes).unwrap(), node);
                prop_assert_eq!(decode_node_key(&encode_node_key(&key)).unwrap(), key);
            }
        }

        /// Stored node keys sort by version first: a block's nodes come after every
        /// earlier block's, whatever their paths (what keeps the column family's
        /// compactions from rewriting it); two keys are stored alike only if equal.
        #[test]
        fn stored_node_keys_sort_by_version_first(
            a in (any::<u64>(), prop::collection::vec(0..16u8, 0..=64)),
            b in (any::<u64>(), prop::collection::vec(0..16u8, 0..=64)),
        ) {
            let key = |(v, path): &(u64, Vec<u8>)| {
                NodeKey::new(*v, path.iter().map(|n| (*n).into()).collect())
            };
            let (ka, kb) = (encode_node_key(&key(&a)), encode_node_key(&key(&b)));
            if a.0 != b.0 {
                prop_assert_eq!(ka.cmp(&kb), a.0.cmp(&b.0));
            }
            prop_assert_eq!(ka == kb, a == b);
        }
    }

    /// Paths of every length, odd and even, up to a full key hash.
    #[test]
    fn node_keys_of_every_path_length_are_read_back_and_malformed_ones_refused() {
        for len in 0..=64u8 {
            let path: NibblePath = (0..len)
                .map(|i| (i.wrapping_mul(7).wrapping_add(3) % 16).into())
                .collect();
            for version in [0, 1, 250, 1 << 40, u64::MAX] {
                let key = NodeKey::new(version, path.clone());
                let bytes = encode_node_key(&key);
                assert_eq!(bytes.len(), 9 + usize::from(len).div_ceil(2));
                assert_eq!(decode_node_key(&bytes).unwrap(), key, "{len} nibbles");
            }
        }
        let odd = encode_node_key(&NodeKey::new(
            7,
            std::iter::once(3u8).map(Into::into).collect(),
        ));
        assert_eq!(odd, [0, 0, 0, 0, 0, 0, 0, 7, 1, 0x30]);
        for bad in [
            &[0u8; 7][..],
            &[0; 8],
            &[0, 0, 0, 0, 0, 0, 0, 7, 1, 0x31],
            &[0, 0, 0, 0, 0, 0, 0, 7, 2, 0x30, 0],
            &[0, 0, 0, 0, 0, 0, 0, 7, 65],
        ] {
            assert!(decode_node_key(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            encode_node(&Node::Null).unwrap(),
            codec::encode(&Node::Null)
        );
    }
}
