//! The stored form of the Merkle tree's nodes and node keys.
//!
//! The bytes are exactly what `lianrong_primitives::codec` (bincode's serde encoding: fixed
//! width little-endian integers, `u32` enum tags, one byte per `Option` tag) makes of jmt's
//! `Node` and `NodeKey`, the format every database since format 1 holds, so nothing stored
//! changes; they are read back through that codec. Why they are written by hand: through
//! serde each 32-byte hash is a tuple of 32 `u8`s, written one byte at a call, and a block
//! writes ~10 nodes per transaction of up to 16 child hashes each: encoding them was a
//! tenth of the executor's CPU (perf of `node/benches/execute_commit.rs`). The tests hold
//! the two encodings equal on the nodes of random trees, so a jmt upgrade that changed its
//! types fails them.

use jmt::storage::{LeafNode, Node, NodeKey};
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

/// The stored bytes of a node key: version, then the nibble path (its nibble count and
/// its bytes, two nibbles a byte, an odd path's last low half zero).
pub fn encode_node_key(key: &NodeKey) -> Vec<u8> {
    let path = key.nibble_path();
    let nibbles = path.num_nibbles();
    let len = nibbles.div_ceil(2);
    let mut out = Vec::with_capacity(24 + len);
    out.extend_from_slice(&key.version().to_le_bytes());
    out.extend_from_slice(&(nibbles as u64).to_le_bytes());
    out.extend_from_slice(&(len as u64).to_le_bytes());
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

#[cfg(test)]
mod tests {
    use jmt::storage::NibblePath;
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
                prop_assert_eq!(encode_node_key(&key), codec::encode(&key));
            }
        }
    }

    /// Paths of every length, odd and even, up to a full key hash.
    #[test]
    fn node_keys_of_every_path_length_are_stored_as_the_codec_wrote_them() {
        for len in 0..=64u8 {
            let path: NibblePath = (0..len)
                .map(|i| (i.wrapping_mul(7).wrapping_add(3) % 16).into())
                .collect();
            for version in [0, 1, 250, 1 << 40, u64::MAX] {
                let key = NodeKey::new(version, path.clone());
                assert_eq!(encode_node_key(&key), codec::encode(&key), "{len} nibbles");
            }
        }
        assert_eq!(
            encode_node(&Node::Null).unwrap(),
            codec::encode(&Node::Null)
        );
    }
}
