//! The on-disk layout: column families, key encodings and size limits. Everything that
//! decides how bytes are laid out lives here, so a layout change is one file's diff.

use jmt::KeyHash;

/// Bumped when the layout below changes incompatibly; a node refuses to open a database
/// written in another layout rather than misread it (`DbError::OtherFormat`). Layout 8
/// changed the state tree itself (a nonce's tree key, `lianrong_contracts::merkle::key_hash`),
/// so no older database holds roots this node computes, and none is upgraded; git history
/// keeps the in-place upgrades of layouts 4 to 7. What each layout changed:
/// 3: tree node keys sort by version (`node_codec::encode_node_key`). 4: a document and
/// its history head share one tree leaf (`lianrong_contracts::merkle::leaf_of`). 5: the
/// stale index holds one entry per version ([`CF_JMT_STALE`]), not one per item. 6: a
/// transaction's receipt is stored in its transaction's entry, after the record (layout 5
/// kept receipts in a column family of their own). 7: those entries are keyed by the
/// transaction's position ([`CF_TX_ENTRIES`]), found by hash through [`CF_TX_POSITIONS`]
/// (layout 6 keyed them by hash). 8: nonces share one subtree of the state tree, and tree
/// nodes are stored in a compact form (`node_codec`).
pub const FORMAT_VERSION: u32 = 8;

/// Column family of raw contract state (`state key -> value`), the values the Merkle root
/// covers.
pub const CF_STATE: &str = "state";
/// Column family of jmt tree nodes (`encode(NodeKey) -> encode(Node)`).
pub const CF_JMT_NODES: &str = "jmt_nodes";
/// Column family of jmt value versions (`key_hash ++ version BE -> tag ++ value`).
pub const CF_JMT_VALUES: &str = "jmt_values";
/// Column family of finalized blocks (`height BE -> opaque block bytes`).
pub const CF_BLOCKS: &str = "blocks";
/// Column family of commit certificates (`height BE -> opaque certificate bytes`).
pub const CF_CERTS: &str = "certs";
/// Column family of each block's results root (`height BE -> 32 bytes`), which with the
/// state root makes the block's execution commit (what later blocks certify), and of the
/// ledger events of a block that has any ([`ledger_events_key`] -> encoded events).
pub const CF_RESULTS: &str = "results";
/// Column family of block hashes (`hash -> height BE`).
pub const CF_BLOCK_HASHES: &str = "block_hashes";
/// Column family of committed transactions and their receipts by position
/// ([`tx_position_key`] -> record ++ receipt: the record as the codec encodes a
/// [`crate::TxRecord`], then the receipt's codec encoding). One entry a transaction: both
/// are written once, together, and read together (a column family of receipts cost every
/// block one more RocksDB entry per transaction, until layout 6).
///
/// Keyed by position because a position only grows: each flush's entries sort after
/// every file already written, so compaction moves those files down without rewriting
/// them, as it does blocks'. Keyed by hash (layout 6) the entries were spread over the
/// whole key space, and compaction rewrote them ~7 times over: 1,617 MB of compaction
/// output for the 234 MB flushed by a node catching up 1,073,653 transactions, 45 % of
/// all its compaction output (node/README.md, "Transactions by position").
pub const CF_TX_ENTRIES: &str = "tx_entries";
/// Column family of where each committed transaction is (`tx hash -> ` [`tx_position_key`]):
/// the small entries a lookup by hash reads first.
pub const CF_TX_POSITIONS: &str = "tx_positions";
/// Column family of derived indexes: document history (`hist/...`, as the contract layer
/// writes it) and the receivable indexes (`rcv/...`).
pub const CF_INDEX: &str = "index";
/// Column family of the consensus safety state (one record).
pub const CF_SAFETY: &str = "safety";
/// Column family of chain bookkeeping (chain id, latest height and root, genesis root).
pub const CF_META: &str = "meta";
/// Column family of the tree's stale index, written only by a pruning database
/// (`crate::prune`): one entry per version, `stale_since BE -> items` ([`push_stale_item`]),
/// each item a tag and its payload: [`STALE_NODE`] or [`STALE_ROOT`] (payload: the
/// `jmt_nodes` key of a node no version from `stale_since` on reaches) or [`STALE_VALUE`]
/// (payload: the stored 32-byte key hash part of a `jmt_values` key, whose versions below
/// `stale_since` no version from `stale_since` on reads). One entry a block, not one an
/// item (layout 5): a lifecycle transaction made some 11 items stale, a third of the
/// entries its block wrote, and pruning deleted each entry again. Keys and values are
/// stored as is, also when encrypted: heights, node keys and the already keyed hashes of
/// `jmt_values` keys.
pub const CF_JMT_STALE: &str = "jmt_stale";
/// Column family of the state roots of pruned versions (`height BE -> 32 bytes`): written
/// when a version's root node is pruned, so a block's state root stays readable.
pub const CF_ROOTS: &str = "roots";

/// Every column family, in the order they are opened.
pub const ALL_CFS: &[&str] = &[
    CF_STATE,
    CF_JMT_NODES,
    CF_JMT_VALUES,
    CF_BLOCKS,
    CF_CERTS,
    CF_RESULTS,
    CF_BLOCK_HASHES,
    CF_TX_ENTRIES,
    CF_TX_POSITIONS,
    CF_INDEX,
    CF_SAFETY,
    CF_META,
    CF_JMT_STALE,
    CF_ROOTS,
];

/// `meta` key: the chain id (UTF-8).
pub const META_CHAIN_ID: &[u8] = b"chain_id";
/// `meta` key: the layout version (u32 BE).
pub const META_FORMAT: &[u8] = b"format";
/// `meta` key: the latest committed height (u64 BE) and state root (32 bytes).
pub const META_LATEST: &[u8] = b"latest";
/// `meta` key: the genesis state root (32 bytes); present once genesis is applied.
pub const META_GENESIS: &[u8] = b"genesis";
/// `meta` key of an encrypted database: its encryption record (version, salt, key check
/// value; see [`crate::crypt`]), the one record never encrypted. Absent in a plain one.
pub const META_ENCRYPTION: &[u8] = b"encryption";
/// `meta` key prefix of the epoch index: `epoch_end/ ++ epoch BE -> height BE` of the
/// reconfiguration block that ended the epoch.
pub const META_EPOCH_END: &[u8] = b"epoch_end/";
/// `meta` key of a database imported from a snapshot (`crate::snapshot`): the height it
/// starts at (u64 BE). Absent in a database that executed every block since genesis.
pub const META_SNAPSHOT_BASE: &[u8] = b"snapshot_base";
/// `meta` key of a pruning database (`crate::prune`): the oldest tree version kept whole
/// (u64 BE); proofs and tree reads below it are refused. Absent: every version is kept.
pub const META_PRUNED_BELOW: &[u8] = b"pruned_below";
/// `meta` key of a pruning database: the `stale_since` version the pruner reached (u64
/// BE); its next pass starts there instead of reading over what it already deleted.
pub const META_PRUNE_CURSOR: &[u8] = b"prune_cursor";
/// Longest payload of a [`CF_JMT_STALE`] item (an encoded node key: a version, a nibble
/// count, up to 32 bytes of path).
pub const MAX_STALE_PAYLOAD: usize = 64;
/// [`CF_JMT_STALE`] tag of a tree node below the root.
pub const STALE_NODE: u8 = 0;
/// [`CF_JMT_STALE`] tag of a version's root node (its hash is kept in [`CF_ROOTS`]).
pub const STALE_ROOT: u8 = 1;
/// [`CF_JMT_STALE`] tag of a value superseded by a newer version of the same key.
pub const STALE_VALUE: u8 = 2;
/// Most epoch changes listed at once (governance changes the set rarely; a chain with
/// more than this is far outside what the explorer and the proofs are built for).
pub const MAX_EPOCHS: usize = 10_000;
/// `safety` key of the single safety record.
pub const SAFETY_KEY: &[u8] = b"state";

/// Prefix of the contract layer's history entries (see `lianrong_contracts::state::keys`);
/// they live in [`CF_INDEX`] but are readable through the state traits like in
/// `MemoryStorage`.
pub const HISTORY_PREFIX: &[u8] = b"hist/";

/// Largest opaque block accepted (4096 transactions of at most 32 KiB fit with room).
pub const MAX_BLOCK_BYTES: usize = 256 * 1024 * 1024;
/// Largest opaque commit certificate accepted (a few hundred signatures).
pub const MAX_CERT_BYTES: usize = 4 * 1024 * 1024;
/// Most transactions stored with one block.
pub const MAX_BLOCK_TXS: usize = 65_536;
/// Largest encoded receipt decoded (events plus a refusal message).
pub const MAX_RECEIPT_BYTES: usize = 1024 * 1024;
/// Largest encoded list of a block's ledger events stored or decoded (an overdue sweep
/// marks at most `MAX_SWEEP_PER_BLOCK` = 4,096 receivables, each with a financing: ~1 MB).
pub const MAX_LEDGER_EVENTS_BYTES: usize = 4 * 1024 * 1024;
/// Largest stored transaction entry read (a transaction, its location and its receipt).
pub const MAX_TX_ENTRY_BYTES: usize = lianrong_contracts::tx::MAX_TX_BYTES + 64 + MAX_RECEIPT_BYTES;
/// Largest encoded jmt node decoded (an internal node has at most 16 children).
pub const MAX_NODE_BYTES: usize = 4096;
/// Largest stored state value decoded by this module's queries.
pub const MAX_VALUE_BYTES: usize = lianrong_contracts::state::MAX_VALUE_BYTES;
/// Most entries any one query returns, whatever the caller asks for.
pub const MAX_QUERY_LIMIT: usize = 1000;
/// Most entries an encrypted database reads to give a prefix scan in plain key order
/// (its stored order is token order; see [`crate::crypt`]). Only the contract layer's
/// scans are sorted, and the one in production (an overdue sweep, one maturity date at a
/// time) reads the receivables maturing on one day.
pub const MAX_SORTED_SCAN: usize = 1_000_000;

/// A height as a key: big-endian so that key order is height order.
pub fn height_key(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

/// Bytes of a [`tx_position_key`].
pub const TX_POSITION_BYTES: usize = 8 + 4;

/// A committed transaction's position: its block's height, then its index in the block,
/// both big-endian, so positions sort in the order transactions were committed (the
/// [`CF_TX_ENTRIES`] key, and the [`CF_TX_POSITIONS`] value).
pub fn tx_position_key(height: u64, index: u32) -> [u8; TX_POSITION_BYTES] {
    let mut k = [0u8; TX_POSITION_BYTES];
    k[..8].copy_from_slice(&height.to_be_bytes());
    k[8..].copy_from_slice(&index.to_be_bytes());
    k
}

/// Whether `bytes` is a [`tx_position_key`] (what a [`CF_TX_POSITIONS`] entry must hold).
pub fn is_tx_position(bytes: &[u8]) -> bool {
    bytes.len() == TX_POSITION_BYTES
}

/// The [`CF_RESULTS`] key of a block's ledger events: its height key and a suffix, so it
/// sorts right after the block's results root and never equals a height key.
pub fn ledger_events_key(height: u64) -> Vec<u8> {
    let mut k = height_key(height).to_vec();
    k.extend_from_slice(b"/ledger");
    k
}

/// The `meta` key recording where `epoch` ended.
pub fn epoch_end_key(epoch: u64) -> Vec<u8> {
    let mut k = META_EPOCH_END.to_vec();
    k.extend_from_slice(&epoch.to_be_bytes());
    k
}

/// Appends one item to a [`CF_JMT_STALE`] value: its tag, its payload's length (one
/// byte) and the payload. `None` for a payload over [`MAX_STALE_PAYLOAD`].
pub fn push_stale_item(value: &mut Vec<u8>, tag: u8, payload: &[u8]) -> Option<()> {
    if payload.len() > MAX_STALE_PAYLOAD {
        return None;
    }
    value.push(tag);
    value.push(u8::try_from(payload.len()).ok()?);
    value.extend_from_slice(payload);
    Some(())
}

/// The items of a [`CF_JMT_STALE`] value, in the order they were pushed; `None` when it
/// is cut short or an item's payload is longer than [`MAX_STALE_PAYLOAD`].
pub fn stale_items(mut value: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut items = Vec::with_capacity(value.len() / 34);
    while let Some((&tag, rest)) = value.split_first() {
        let (&len, rest) = rest.split_first()?;
        let len = usize::from(len);
        if len > MAX_STALE_PAYLOAD {
            return None;
        }
        let (payload, rest) = rest.split_at_checked(len)?;
        items.push((tag, payload));
        value = rest;
    }
    Some(items)
}

/// Parses a height key or value.
pub fn parse_height(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// The `jmt_values` key of a value version: the key hash, then the version big-endian,
/// so all versions of one key are adjacent and in version order (what the reverse seek
/// in `get_value_option` relies on).
pub fn jmt_value_key(key_hash: &KeyHash, version: u64) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(&key_hash.0);
    k[32..].copy_from_slice(&version.to_be_bytes());
    k
}

/// Encodes a jmt value version: tag 0 = deleted, tag 1 followed by the value.
pub fn encode_jmt_value(value: Option<&[u8]>) -> Vec<u8> {
    match value {
        None => vec![0],
        Some(v) => {
            let mut out = Vec::with_capacity(v.len() + 1);
            out.push(1);
            out.extend_from_slice(v);
            out
        }
    }
}

/// Decodes [`encode_jmt_value`]'s bytes; `None` if the tag is unknown.
pub fn decode_jmt_value(bytes: &[u8]) -> Option<Option<Vec<u8>>> {
    match bytes.split_first() {
        Some((0, [])) => Some(None),
        Some((1, rest)) => Some(Some(rest.to_vec())),
        _ => None,
    }
}

/// Encodes the latest (height, root) record.
pub fn encode_latest(height: u64, root: &[u8; 32]) -> [u8; 40] {
    let mut v = [0u8; 40];
    v[..8].copy_from_slice(&height.to_be_bytes());
    v[8..].copy_from_slice(root);
    v
}

/// Decodes the latest (height, root) record.
pub fn decode_latest(bytes: &[u8]) -> Option<(u64, [u8; 32])> {
    if bytes.len() != 40 {
        return None;
    }
    let height = parse_height(&bytes[..8])?;
    let root: [u8; 32] = bytes[8..].try_into().ok()?;
    Some((height, root))
}

/// The smallest key greater than every key starting with `prefix`, or `None` when no
/// such key exists (an all-`0xff` prefix): the exclusive upper bound of a prefix scan.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jmt_value_keys_sort_by_key_hash_then_version() {
        let a = KeyHash([1; 32]);
        let b = KeyHash([2; 32]);
        assert!(jmt_value_key(&a, 1) < jmt_value_key(&a, 2));
        assert!(jmt_value_key(&a, 255) < jmt_value_key(&a, 256));
        assert!(jmt_value_key(&a, u64::MAX) < jmt_value_key(&b, 0));
    }

    proptest::proptest! {
        /// Positions sort as the transactions were committed, by height then index: what
        /// lets compaction move a flushed file of entries down instead of rewriting it.
        #[test]
        fn tx_positions_sort_in_commit_order(a: (u64, u32), b: (u64, u32)) {
            let (ka, kb) = (tx_position_key(a.0, a.1), tx_position_key(b.0, b.1));
            proptest::prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
            proptest::prop_assert!(is_tx_position(&ka));
        }
    }

    #[test]
    fn jmt_values_round_trip_and_bad_tags_are_refused() {
        assert_eq!(decode_jmt_value(&encode_jmt_value(None)), Some(None));
        assert_eq!(
            decode_jmt_value(&encode_jmt_value(Some(b"x"))),
            Some(Some(b"x".to_vec()))
        );
        assert_eq!(
            decode_jmt_value(&encode_jmt_value(Some(b""))),
            Some(Some(vec![]))
        );
        assert_eq!(decode_jmt_value(&[]), None);
        assert_eq!(decode_jmt_value(&[0, 1]), None);
        assert_eq!(decode_jmt_value(&[2]), None);
    }

    #[test]
    fn prefix_end_bounds_exactly_the_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[b'a', 0xff]), Some(b"b".to_vec()));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(b""), None);
    }

    #[test]
    fn latest_round_trips_and_wrong_lengths_are_refused() {
        let v = encode_latest(7, &[9; 32]);
        assert_eq!(decode_latest(&v), Some((7, [9; 32])));
        assert_eq!(decode_latest(&v[..39]), None);
    }
}
