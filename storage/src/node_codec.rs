//! The stored form of the Merkle tree's nodes and node keys.
//!
//! A node is stored in this module's compact form (since layout 8): a one-byte tag, for
//! an internal node a bitmap of its present children and one of those that are leaves,
//! then each present child's hash, its version as a LEB128 varint and, for an internal
//! child, its leaf count as one. Until layout 8 nodes were stored as
//! `lianrong_primitives::codec` (bincode's serde encoding: fixed width little-endian
//! integers, `u32` enum tags, one byte per `Option` tag) makes of jmt's `Node`; only an
//! empty tree's null root keeps that form (four zero bytes). Why compact: a block rewrites
//! every internal node on its keys' paths, so the tree's nodes were 59 % of the bytes a
//! validator flushed (orders, 2026-12-07), and of an internal child's 53 bytes in the
//! codec's form 20 were the zero high bytes of a version and a leaf count, four a type
//! tag. What RocksDB copies, checksums, compresses, flushes and compacts shrinks with them.
//!
//! A node's *key* is this module's own ([`encode_node_key`], since format 3):
//! the version first and big-endian, so that the nodes one block writes (all at its version)
//! sort after every earlier block's. Through the codec the version was little-endian, which
//! scattered each block's nodes over the whole key range: every flush overlapped every
//! file of the column family and each compaction rewrote it -- over 1,000,000 transactions
//! 7.5 GB of compaction output for it, 45 of a validator's 275 CPU-seconds. In
//! version order a flush lands past the end of the files before it and RocksDB moves it
//! down without rewriting. Why nodes are written by hand at all: through
//! serde each 32-byte hash is a tuple of 32 `u8`s, written one byte at a call, and a block
//! writes ~10 nodes per transaction of up to 16 child hashes each: encoding them was a
//! tenth of the executor's CPU (perf of `node/benches/execute_commit.rs`). The tests read
//! each node of random trees back from its stored form, so a jmt upgrade that changed its
//! types fails them.

use jmt::storage::{LeafNode, NibblePath, Node, NodeKey};
use jmt::{KeyHash, ValueHash};
use lianrong_primitives::codec;

use super::error::DbError;
use super::schema::MAX_NODE_BYTES;

/// The stored null node: the codec's form of jmt's `Node::Null` (a `u32` tag of 0).
const NULL: [u8; 4] = [0; 4];
/// The compact form's first byte for an internal node.
const COMPACT_INTERNAL: u8 = 0x11;
/// The compact form's first byte for a leaf.
const COMPACT_LEAF: u8 = 0x12;
/// Bytes of one present child at most: hash, version and leaf count as varints.
const MAX_CHILD_BYTES: usize = 32 + 2 * MAX_VARINT_BYTES;
/// A `u64`'s LEB128 varint, at most.
const MAX_VARINT_BYTES: usize = 10;

/// The stored bytes of `node` (an error only if jmt's leaf changed shape: see
/// [`leaf_value_hash`]).
pub fn encode_node(node: &Node) -> Result<Vec<u8>, DbError> {
    Ok(match node {
        // Only an empty tree's root is null.
        Node::Null => NULL.to_vec(),
        Node::Leaf(leaf) => {
            let mut out = Vec::with_capacity(1 + 64);
            out.push(COMPACT_LEAF);
            out.extend_from_slice(&leaf.key_hash().0);
            out.extend_from_slice(&leaf_value_hash(leaf)?);
            out
        }
        Node::Internal(internal) => {
            // jmt's child type is its own (not nameable here): what it says is copied out.
            let mut children = [None; 16];
            for (nibble, c) in internal.children_sorted() {
                let leaves = (!c.is_leaf()).then(|| c.leaf_count() as u64);
                children[usize::from(u8::from(nibble))] = Some((c.hash, c.version, leaves));
            }
            encode_internal(&children)
        }
    })
}

/// One child as stored: its hash, its version and, for an internal child, its leaf count.
type StoredChild = ([u8; 32], u64, Option<u64>);

/// An internal node's compact form: tag, present-children bitmap, leaf-children bitmap
/// (both little-endian, bit n for nibble n), then per present child in nibble order its
/// hash, version and (an internal child's) leaf count.
fn encode_internal(children: &[Option<StoredChild>; 16]) -> Vec<u8> {
    let (mut present, mut leaves) = (0u16, 0u16);
    for (nibble, child) in children.iter().enumerate() {
        if let Some((_, _, count)) = child {
            present |= 1 << nibble;
            if count.is_none() {
                leaves |= 1 << nibble;
            }
        }
    }
    let mut out = Vec::with_capacity(5 + 16 * MAX_CHILD_BYTES);
    out.push(COMPACT_INTERNAL);
    out.extend_from_slice(&present.to_le_bytes());
    out.extend_from_slice(&leaves.to_le_bytes());
    let mut buf = unsigned_varint::encode::u64_buffer();
    for (hash, version, count) in children.iter().flatten() {
        out.extend_from_slice(hash);
        out.extend_from_slice(unsigned_varint::encode::u64(*version, &mut buf));
        if let Some(count) = count {
            out.extend_from_slice(unsigned_varint::encode::u64(*count, &mut buf));
        }
    }
    out
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
    if bytes.len() > MAX_NODE_BYTES {
        return Err(codec::CodecError::TooLarge {
            len: bytes.len(),
            limit: MAX_NODE_BYTES,
        });
    }
    match bytes.split_first() {
        Some((&COMPACT_INTERNAL, rest)) => decode_internal(rest),
        Some((&COMPACT_LEAF, rest)) => {
            let (key, value) = rest
                .split_first_chunk::<32>()
                .and_then(|(k, v)| Some((k, <&[u8; 32]>::try_from(v).ok()?)))
                .ok_or_else(|| malformed("a leaf is not two hashes"))?;
            Ok(Node::Leaf(LeafNode::new(KeyHash(*key), ValueHash(*value))))
        }
        _ if bytes == NULL => Ok(Node::Null),
        _ => Err(malformed("not a node's stored form")),
    }
}

/// An internal node's compact form after its tag ([`encode_internal`]), read into jmt's
/// node through jmt's own Borsh form (jmt keeps its node types' constructors to itself).
/// What jmt would assert is checked first: at least one child, and not a lone leaf.
fn decode_internal(bytes: &[u8]) -> Result<Node, codec::CodecError> {
    let (bitmaps, mut rest) = bytes
        .split_first_chunk::<4>()
        .ok_or_else(|| malformed("an internal node without its bitmaps"))?;
    let present = u16::from_le_bytes([bitmaps[0], bitmaps[1]]);
    let leaves = u16::from_le_bytes([bitmaps[2], bitmaps[3]]);
    if present == 0 || leaves & !present != 0 {
        return Err(malformed(
            "its bitmaps name no child, or a leaf not present",
        ));
    }
    if present.count_ones() == 1 && leaves != 0 {
        return Err(malformed("an internal node whose only child is a leaf"));
    }
    // Borsh: the variant (1, `Internal`), 16 optional children (hash, version, node type
    // 0 for a leaf or 1 and a leaf count), then the child count and the leaf count.
    let mut borsh = Vec::with_capacity(1 + 16 * (1 + 32 + 8 + 1 + 8) + 16);
    borsh.push(1);
    let mut total = 0u64;
    for nibble in 0..16 {
        if present & (1 << nibble) == 0 {
            borsh.push(0);
            continue;
        }
        let (hash, after) = rest
            .split_first_chunk::<32>()
            .ok_or_else(|| malformed("a child's hash is cut short"))?;
        let (version, after) = varint(after)?;
        borsh.push(1);
        borsh.extend_from_slice(hash);
        borsh.extend_from_slice(&version.to_le_bytes());
        let (count, after) = if leaves & (1 << nibble) != 0 {
            borsh.push(0);
            (1, after)
        } else {
            let (count, after) = varint(after)?;
            borsh.push(1);
            borsh.extend_from_slice(&count.to_le_bytes());
            (count, after)
        };
        rest = after;
        total = total
            .checked_add(count)
            .filter(|t| usize::try_from(*t).is_ok())
            .ok_or_else(|| malformed("its leaf count overflows"))?;
    }
    if !rest.is_empty() {
        return Err(codec::CodecError::TrailingBytes(rest.len()));
    }
    borsh.extend_from_slice(&u64::from(present.count_ones()).to_le_bytes());
    borsh.extend_from_slice(&total.to_le_bytes());
    borsh::from_slice(&borsh).map_err(|e| malformed(&format!("jmt refused it: {e}")))
}

/// A LEB128 varint `u64` from the start of `bytes` (minimal form only) and what follows.
/// `unsigned_varint` drops the bits of a tenth byte beyond the `u64`'s 64th; such a byte
/// is refused here, so that each value has one form.
fn varint(bytes: &[u8]) -> Result<(u64, &[u8]), codec::CodecError> {
    let (value, rest) =
        unsigned_varint::decode::u64(bytes).map_err(|e| malformed(&format!("a varint: {e}")))?;
    if bytes.len() - rest.len() == MAX_VARINT_BYTES && bytes[MAX_VARINT_BYTES - 1] > 1 {
        return Err(malformed("a varint: input bytes exceed maximum"));
    }
    Ok((value, rest))
}

fn malformed(what: &str) -> codec::CodecError {
    codec::CodecError::Malformed(format!("jmt node: {what}"))
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

        /// Each node is read back from its stored form, which is shorter than the codec's
        /// (what layouts up to 7 stored); a byte changed in it is refused or read as
        /// another node.
        #[test]
        fn nodes_are_read_back_from_their_compact_form(
            first in prop_oneof![0..4u64, (1u64 << 32)..(1u64 << 33), (u64::MAX / 2)..(u64::MAX / 2 + 4)],
            blocks in blocks(),
            flip in (any::<prop::sample::Index>(), 1..=255u8),
        ) {
            let nodes = tree_nodes(first, &blocks);
            prop_assert!(nodes.iter().any(|(_, n)| matches!(n, Node::Internal(_))));
            for (key, node) in nodes {
                let bytes = encode_node(&node).unwrap();
                prop_assert_eq!(decode_node(&bytes).unwrap(), node.clone());
                let old = codec::encode(&node).len();
                prop_assert!(bytes.len() < old, "{} >= {}", bytes.len(), old);
                prop_assert_eq!(decode_node_key(&encode_node_key(&key)).unwrap(), key);
                let mut changed = bytes.clone();
                changed[flip.0.index(bytes.len())] ^= flip.1;
                if let Ok(other) = decode_node(&changed) {
                    prop_assert_ne!(other, node);
                }
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
        assert_eq!(decode_node(&NULL).unwrap(), Node::Null);
    }

    /// A full internal node (16 internal children) of a tree a million blocks old: its
    /// compact form against the codec's 868 bytes.
    #[test]
    fn a_full_internal_node_is_two_thirds_of_the_codecs_form() {
        let children = [Some(([7u8; 32], 1_000_000u64, Some(70_000u64))); 16];
        let bytes = encode_internal(&children);
        assert_eq!(bytes.len(), 5 + 16 * (32 + 3 + 3));
        let Node::Internal(node) = decode_node(&bytes).unwrap() else {
            panic!("not an internal node");
        };
        assert_eq!(node.leaf_count(), 16 * 70_000);
        assert_eq!(codec::encode(&Node::Internal(node)).len(), 868);
    }

    /// What jmt would assert on, and what the compact form cannot mean, is refused with a
    /// message naming the fault (a malformed node is corruption, never a panic).
    #[test]
    fn malformed_compact_nodes_are_refused() {
        let child = |leaf: bool| Some(([1u8; 32], 5u64, (!leaf).then_some(3u64)));
        let mut two = [None; 16];
        two[2] = child(true);
        two[9] = child(false);
        let good = encode_internal(&two);
        assert!(decode_node(&good).is_ok());
        let mut lone_leaf = [None; 16];
        lone_leaf[4] = child(true);
        let mut overflow = [None; 16];
        overflow[0] = Some(([1; 32], 5, Some(u64::MAX)));
        overflow[1] = Some(([1; 32], 5, Some(2)));
        let bitmaps = |present: u16, leaves: u16| {
            let mut b = good.clone();
            b[1..3].copy_from_slice(&present.to_le_bytes());
            b[3..5].copy_from_slice(&leaves.to_le_bytes());
            b
        };
        // Version 5 as a two-byte varint: 0x85 0x00.
        let mut overlong = good[..5 + 32].to_vec();
        overlong.extend_from_slice(&[0x85, 0x00]);
        overlong.extend_from_slice(&good[5 + 33..]);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("no child", bitmaps(0, 0)),
            ("a leaf not present", bitmaps(1 << 2 | 1 << 9, 1 << 3)),
            ("only child is a leaf", encode_internal(&lone_leaf)),
            ("overflows", encode_internal(&overflow)),
            ("cut short", good[..good.len() - 1].to_vec()),
            ("trailing", [&good[..], &[0]].concat()),
            ("not minimal", overlong),
            ("bitmaps", good[..3].to_vec()),
            ("two hashes", [&[COMPACT_LEAF][..], &[0; 63]].concat()),
            ("stored form", codec::encode(&decode_node(&good).unwrap())),
        ];
        for (what, bytes) in cases {
            let err = decode_node(&bytes).expect_err(what).to_string();
            assert!(
                err.contains(what) || (what == "cut short" && err.contains("varint")),
                "{what}: {err}"
            );
        }
        let err = decode_node(&vec![COMPACT_INTERNAL; MAX_NODE_BYTES + 1]).unwrap_err();
        assert!(err.to_string().contains("exceed"), "{err}");
    }
}
