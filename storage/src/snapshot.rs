//! State snapshots: a node that joins without replaying the chain from genesis.
//!
//! Export (on a private checkpoint of a serving node, cut at one height by
//! [`Db::cut_export`]): the state tree's leaves in the tree's own order (by the SHA-256 of
//! their keys), in bounded chunks, each with a Jellyfish range proof of its last leaf; then
//! the document history entries, each document's together and in key order (documents in
//! the order the database stores them, which encryption at rest makes its own). The tree
//! does not keep keys, only their hashes, so the copy first records each key under its hash
//! (never in a live database).
//!
//! Import ([`SnapshotImport`], into an empty database): every state chunk is checked
//! against the certified root before anything of it is kept -- jmt's restore rebuilds the
//! tree from the left and proves the leaves received so far with the chunk's right
//! siblings, so a server that lies is caught at its first altered, missing, added or
//! reordered leaf, and one that stops early is caught when the rebuilt root differs. The
//! history entries are checked against the heads of each document's hash chain, which are
//! state values the root covers. The receivable indexes are derived from the state, as a
//! commit derives them. Last, one synced write records the block at the snapshot height,
//! its certificate, the blocks that changed the validator set before it, the height the
//! database starts at ([`Db::snapshot_base`]) and the consensus safety state.
//!
//! Separate because it is the one way a database gets a state it did not compute itself.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use jmt::restore::{JellyfishMerkleRestore, StateSnapshotReceiver};
use jmt::storage::{LeafNode, Node, NodeBatch, NodeKey, TreeReader, TreeWriter};
use jmt::{JellyfishMerkleIterator, KeyHash, OwnedValue, RootHash, Sha256Jmt, Version};
use lianrong_contracts::exec::history::HistoryHead;
use lianrong_contracts::merkle::{key_hash, leaf_of, state_values, TreeHasher, MAX_LEAF_BYTES};
use lianrong_contracts::state::keys::HEAD_PREFIX;
use lianrong_contracts::state::Entries;
use lianrong_primitives::{codec, Hash};
use rocksdb::{WriteBatch, WriteOptions};

use super::db::{synced, Db, DbOptions};
use super::error::DbError;
use super::indexes;
use super::node_codec::{encode_node, encode_node_key};
use super::schema::*;

/// Most entries in one chunk (state or history).
pub const MAX_CHUNK_ENTRIES: usize = 1000;
/// Most key and value bytes in one chunk; a single larger entry (up to
/// [`MAX_LEAF_BYTES`]) still travels, alone.
pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;
/// Largest encoded range proof accepted (256 siblings of at most ~100 bytes).
pub const MAX_PROOF_BYTES: usize = 64 * 1024;
/// Largest state or history key accepted.
pub const MAX_KEY_BYTES: usize = 1024;
/// Most blocks below the snapshot height an import stores (the validator-set changes).
pub const MAX_EPOCH_BLOCKS: usize = MAX_EPOCHS;

/// Where an export copy keeps each state key under its hash (`preimage/<hex> -> key`).
const PREIMAGE_PREFIX: &[u8] = b"preimage/";
/// Block cache of an export copy (it is read once, front to back).
const EXPORT_CACHE_BYTES: usize = 8 * 1024 * 1024;
/// Internal tree nodes an export copy caches (~1.1 MiB): the tree's top three levels
/// whole, which each chunk's proof reads again, and the walk's current path. The
/// default, a validator's 64 Ki, would hold ~72 MiB of nodes read once.
const EXPORT_NODE_CACHE_ENTRIES: usize = 1024;

/// Why a snapshot could not be exported or imported.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The database below failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// An import goes into an empty database only.
    #[error("the database is not empty (it holds height {latest}): a snapshot is imported into an empty one")]
    NotEmpty {
        /// Its latest height.
        latest: u64,
    },
    /// An export is read at the height it was cut at only.
    #[error("this export holds height {holds}, not {asked}")]
    WrongHeight {
        /// The height the copy holds.
        holds: u64,
        /// The height asked for.
        asked: u64,
    },
    /// A state chunk that does not prove against the certified root (or is malformed).
    #[error("state chunk {chunk} refused: {reason}")]
    BadChunk {
        /// Its position, from 1.
        chunk: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// History entries that do not chain to the certified heads (or are malformed).
    #[error("history chunk {chunk} refused: {reason}")]
    BadHistory {
        /// Its position, from 1.
        chunk: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// What was received does not add up to the certified state.
    #[error("the snapshot is incomplete: {0}")]
    Incomplete(String),
    /// A step out of order (a bug in the caller).
    #[error("snapshot import used out of order: {0}")]
    Misuse(&'static str),
}

/// Bounds of one exported chunk (the constants above unless a test wants small chunks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Most entries.
    pub entries: usize,
    /// Most key and value bytes (one larger entry travels alone).
    pub bytes: usize,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        Self {
            entries: MAX_CHUNK_ENTRIES,
            bytes: MAX_CHUNK_BYTES,
        }
    }
}

/// What an export copy holds, counted once when it is prepared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportCounts {
    /// Leaves of the state tree (state entries).
    pub leaves: u64,
    /// Document history entries.
    pub history_entries: u64,
}

/// One run of state leaves in tree order, with the range proof of its last leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChunk {
    /// (leaf key, leaf value), by the SHA-256 of the key: a state key and its value, or a
    /// document's key and the leaf it shares with its history head
    /// (`lianrong_contracts::merkle::leaf_of`).
    pub entries: Entries,
    /// The canonical encoding of jmt's `SparseMerkleRangeProof` for the last entry.
    pub proof: Vec<u8>,
    /// The hash of the last entry's key: where the next chunk starts after, if `more`.
    pub last: Option<Hash>,
    /// Whether leaves follow.
    pub more: bool,
}

/// One run of history entries in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryChunk {
    /// (history key, encoded entry).
    pub entries: Entries,
    /// Whether entries follow (after the last key).
    pub more: bool,
}

/// The preimage index key of a state key's hash.
fn preimage_key(hash: &[u8; 32]) -> Vec<u8> {
    [PREIMAGE_PREFIX, hex::encode(hash).as_bytes()].concat()
}

impl Db {
    /// Cuts a checkpoint of this database into `dir` (which must not exist) and opens it
    /// as an export copy: read with this database's data key, every state key recorded
    /// under its hash, leaves and history entries counted.
    pub fn cut_export(&self, dir: &Path) -> Result<(Db, ExportCounts), DbError> {
        self.checkpoint(dir)?;
        let options = DbOptions {
            block_cache_bytes: EXPORT_CACHE_BYTES,
            // The walk reads each node once, in key order: the top levels' paths are
            // all it reads again, and a validator's memory budget counts no more
            // for an export (its fixed reserve).
            node_cache_entries: EXPORT_NODE_CACHE_ENTRIES,
            leaf_cache_entries: 0,
            encryption: self.data_key().cloned(),
            ..DbOptions::default()
        };
        let copy = Db::open_with(dir, self.chain_id(), &options)?;
        let counts = copy.prepare_export()?;
        Ok((copy, counts))
    }

    /// Records every leaf key under its hash and counts leaves and history entries.
    fn prepare_export(&self) -> Result<ExportCounts, DbError> {
        let mut after: Option<Vec<u8>> = None;
        loop {
            let rows = self.scan_at(None, CF_STATE, b"", after.as_deref(), MAX_QUERY_LIMIT)?;
            let Some((last, _)) = rows.last() else { break };
            after = Some(last.clone());
            let mut batch = WriteBatch::default();
            for (key, _) in &rows {
                // A history head's leaf is its document's (written twice when both exist).
                let (leaf, _) = leaf_of(key);
                self.put(
                    &mut batch,
                    CF_INDEX,
                    &preimage_key(&key_hash(&leaf).0),
                    &leaf,
                )?;
            }
            self.db.write(batch)?;
        }
        let leaves = self.count_prefix(CF_INDEX, PREIMAGE_PREFIX)?;
        let history_entries = self.count_prefix(CF_INDEX, HISTORY_PREFIX)?;
        Ok(ExportCounts {
            leaves,
            history_entries,
        })
    }

    fn count_prefix(&self, cf: &str, prefix: &[u8]) -> Result<u64, DbError> {
        let mut count = 0u64;
        let mut after: Option<Vec<u8>> = None;
        loop {
            let rows = self.scan_at(None, cf, prefix, after.as_deref(), MAX_QUERY_LIMIT)?;
            let Some((last, _)) = rows.last() else {
                return Ok(count);
            };
            count += rows.len() as u64;
            after = Some(last.clone());
        }
    }

    /// The state leaves of an export copy after the key hash `after` (from the first
    /// without), in the tree's order, at most `limits`, with the range proof of the last
    /// one. `height` must be the copy's height.
    pub fn export_state_chunk(
        &self,
        height: u64,
        after: Option<&Hash>,
        limits: ChunkLimits,
    ) -> Result<StateChunk, SnapshotError> {
        self.export_height(height)?;
        let want = limits.entries.clamp(1, MAX_CHUNK_ENTRIES);
        let start = KeyHash(after.map_or([0; 32], |h| h.0));
        let leaves = JellyfishMerkleIterator::new(Arc::new(Reader(self)), height, start)
            .map_err(|e| DbError::corrupt(format!("the tree at {height}"), e))?;
        let mut entries = Vec::new();
        let mut bytes = 0usize;
        let mut last = None;
        let mut more = false;
        for leaf in leaves {
            let (hash, value) =
                leaf.map_err(|e| DbError::corrupt(format!("the tree at {height}"), e))?;
            if after.is_some_and(|a| a.0 == hash.0) {
                continue;
            }
            let key = self
                .read(CF_INDEX, &preimage_key(&hash.0))?
                .ok_or_else(|| {
                    DbError::corrupt(
                        "export preimages",
                        format!("no key for leaf {}", Hash(hash.0)),
                    )
                })?;
            let size = key.len() + value.len();
            if entries.len() == want || (!entries.is_empty() && bytes + size > limits.bytes) {
                more = true;
                break;
            }
            bytes += size;
            last = Some(Hash(hash.0));
            entries.push((key, value));
        }
        let proof = match last {
            None => Vec::new(),
            Some(h) => {
                let proof = Sha256Jmt::new(self)
                    .get_range_proof(KeyHash(h.0), height)
                    .map_err(|e| DbError::corrupt(format!("range proof at {height}"), e))?;
                codec::encode(&proof)
            }
        };
        Ok(StateChunk {
            entries,
            proof,
            last,
            more,
        })
    }

    /// The history entries of an export copy after the key `after` (from the first
    /// without), at most `limits`.
    pub fn export_history_chunk(
        &self,
        height: u64,
        after: Option<&[u8]>,
        limits: ChunkLimits,
    ) -> Result<HistoryChunk, SnapshotError> {
        self.export_height(height)?;
        let want = limits.entries.clamp(1, MAX_CHUNK_ENTRIES);
        let rows = self.scan_at(None, CF_INDEX, HISTORY_PREFIX, after, want + 1)?;
        let mut entries = Vec::new();
        let mut bytes = 0usize;
        for (key, value) in rows.iter().take(want) {
            let size = key.len() + value.len();
            if !entries.is_empty() && bytes + size > limits.bytes {
                break;
            }
            bytes += size;
            entries.push((key.clone(), value.clone()));
        }
        let more = rows.len() > entries.len();
        Ok(HistoryChunk { entries, more })
    }

    fn export_height(&self, asked: u64) -> Result<(), SnapshotError> {
        let holds = self.latest()?.map_or(0, |(h, _)| h);
        if holds != asked {
            return Err(SnapshotError::WrongHeight { holds, asked });
        }
        Ok(())
    }

    /// The height this database starts at when it was imported from a snapshot (blocks
    /// below it, but for the validator-set changes, are not here); `None` for a database
    /// that executed every block since genesis.
    pub fn snapshot_base(&self) -> Result<Option<u64>, DbError> {
        match self.read(CF_META, META_SNAPSHOT_BASE)? {
            None => Ok(None),
            Some(b) => parse_height(&b)
                .map(Some)
                .ok_or_else(|| DbError::corrupt("meta snapshot base", "not 8 bytes")),
        }
    }
}

/// The tree of a database for jmt's iterator, which wants its reader in an `Arc`.
struct Reader<'a>(&'a Db);

impl TreeReader for Reader<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        self.0.get_node_option(node_key)
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        self.0.get_value_option(max_version, key_hash)
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        self.0.get_rightmost_leaf()
    }
}

/// Writes the tree nodes jmt's restore freezes (not synced: the import's last write is).
struct TreeSink {
    db: Arc<Db>,
}

impl TreeWriter for TreeSink {
    fn write_node_batch(&self, node_batch: &NodeBatch) -> anyhow::Result<()> {
        let db = &self.db;
        let mut batch = WriteBatch::default();
        for (key, node) in node_batch.nodes() {
            db.put(
                &mut batch,
                CF_JMT_NODES,
                &encode_node_key(key),
                &encode_node(node)?,
            )?;
        }
        for ((version, key_hash), value) in node_batch.values() {
            db.put(
                &mut batch,
                CF_JMT_VALUES,
                &jmt_value_key(key_hash, *version),
                &encode_jmt_value(value.as_deref()),
            )?;
        }
        db.db.write(batch).map_err(DbError::from)?;
        Ok(())
    }
}

/// A block stored below the snapshot height: one that changed the validator set, so the
/// node can still show every change since genesis (`GET /v1/epochs`, proofs).
#[derive(Debug, Clone)]
pub struct EpochEndBlock {
    /// The epoch it ended.
    pub epoch: u64,
    /// Its height.
    pub height: u64,
    /// Its hash.
    pub hash: Hash,
    /// The encoded block.
    pub block: Vec<u8>,
    /// The encoded epoch-end certificate.
    pub cert: Vec<u8>,
}

/// What an import records besides the state: the block at the snapshot height and what
/// the node needs to go on from it. The caller has verified the block and certificates
/// against the genesis validators (the storage layer stores them, opaque).
#[derive(Debug, Clone)]
pub struct SnapshotBase {
    /// The hash of the block at the snapshot height.
    pub block_hash: Hash,
    /// That block, encoded.
    pub block: Vec<u8>,
    /// Its commit certificate, encoded.
    pub cert: Vec<u8>,
    /// The results root of that height (with the state root, its execution commit).
    pub results_root: Hash,
    /// The epoch that block ends, when it changes the validator set.
    pub ends_epoch: Option<u64>,
    /// The validator-set changes below the snapshot height.
    pub epoch_ends: Vec<EpochEndBlock>,
    /// The consensus safety state to start from (canonical bytes).
    pub safety: Vec<u8>,
}

/// Where an import stands.
enum Phase {
    State(Box<JellyfishMerkleRestore<TreeHasher>>),
    History,
}

/// Builds a database from a snapshot, checking every chunk as it arrives; see the
/// module docs. Use: [`SnapshotImport::begin`], [`SnapshotImport::add_state`] for every
/// state chunk in order, [`SnapshotImport::end_state`], [`SnapshotImport::add_history`]
/// for every history chunk in order, [`SnapshotImport::finish`]. Any error leaves a
/// database to throw away.
pub struct SnapshotImport {
    db: Arc<Db>,
    height: u64,
    root: Hash,
    phase: Phase,
    last_leaf: Option<KeyHash>,
    leaves: u64,
    state_chunks: u64,
    history_chunks: u64,
    last_history_key: Option<Vec<u8>>,
    /// The document whose entries are being chained: its history prefix and head so far.
    doc: Option<(Vec<u8>, HistoryHead)>,
    docs_verified: u64,
    history_entries: u64,
}

impl SnapshotImport {
    /// Starts importing the state at `height` whose root is `state_root` (certified: the
    /// caller checked it) into `db`, which must be empty.
    pub fn begin(db: Arc<Db>, height: u64, state_root: Hash) -> Result<Self, SnapshotError> {
        if let Some((latest, _)) = db.latest()? {
            return Err(SnapshotError::NotEmpty { latest });
        }
        if !db.scan_at(None, CF_STATE, b"", None, 1)?.is_empty() {
            return Err(SnapshotError::NotEmpty { latest: 0 });
        }
        let sink = Arc::new(TreeSink { db: db.clone() });
        let restore = JellyfishMerkleRestore::new_overwrite(sink, height, RootHash(state_root.0))
            .map_err(|e| SnapshotError::Incomplete(format!("starting the tree: {e}")))?;
        Ok(Self {
            db,
            height,
            root: state_root,
            phase: Phase::State(Box::new(restore)),
            last_leaf: None,
            leaves: 0,
            state_chunks: 0,
            history_chunks: 0,
            last_history_key: None,
            doc: None,
            docs_verified: 0,
            history_entries: 0,
        })
    }

    /// State leaves received and proven so far.
    pub fn leaves(&self) -> u64 {
        self.leaves
    }

    /// History entries received so far.
    pub fn history_entries(&self) -> u64 {
        self.history_entries
    }

    /// Checks the next state chunk (the leaves after the previous chunk's, by key hash)
    /// against the certified root with its range proof, then keeps it.
    pub fn add_state(&mut self, entries: Entries, proof: &[u8]) -> Result<(), SnapshotError> {
        self.state_chunks += 1;
        let chunk = self.state_chunks;
        let bad = |reason: String| SnapshotError::BadChunk { chunk, reason };
        let Phase::State(restore) = &mut self.phase else {
            return Err(SnapshotError::Misuse("a state chunk after the state ended"));
        };
        let (leaves, values) = checked_leaves(&entries, self.last_leaf).map_err(bad)?;
        let proof = codec::decode(proof, MAX_PROOF_BYTES)
            .map_err(|e| bad(format!("its range proof does not decode: {e}")))?;
        let last = leaves.last().map(|(k, _)| *k);
        restore.add_chunk(leaves, proof).map_err(|e| {
            bad(format!(
                "it does not prove against the certified state root {}: {e}",
                self.root
            ))
        })?;
        self.last_leaf = last;
        self.leaves += entries.len() as u64;
        self.keep_state(&values)?;
        Ok(())
    }

    /// Writes the state values of proven leaves, with the receivable indexes they imply.
    fn keep_state(&self, entries: &Entries) -> Result<(), SnapshotError> {
        let db = &self.db;
        let mut batch = WriteBatch::default();
        for (key, value) in entries {
            if indexes::is_receivable_key(key) {
                for k in indexes::diff(key, None, Some(value))?.add {
                    db.put(&mut batch, CF_INDEX, &k, &[])?;
                }
            }
            db.put(&mut batch, CF_STATE, key, value)?;
        }
        let keys = entries.iter().map(|(k, _)| k.as_slice());
        db.write_state(batch, &WriteOptions::default(), keys)?;
        Ok(())
    }

    /// Ends the state: the tree rebuilt from every leaf received must have the certified
    /// root (a server that left leaves out is caught here).
    pub fn end_state(&mut self) -> Result<(), SnapshotError> {
        let phase = std::mem::replace(&mut self.phase, Phase::History);
        let Phase::State(restore) = phase else {
            return Err(SnapshotError::Misuse("the state ended twice"));
        };
        if self.leaves == 0 {
            return Err(SnapshotError::Incomplete(
                "no state leaf was received".into(),
            ));
        }
        restore
            .finish_box()
            .map_err(|e| SnapshotError::Incomplete(format!("finishing the tree: {e}")))?;
        let rebuilt = Sha256Jmt::new(self.db.as_ref())
            .get_root_hash(self.height)
            .map_err(|e| SnapshotError::Incomplete(format!("the rebuilt tree: {e}")))?;
        if rebuilt.0 != self.root.0 {
            return Err(SnapshotError::Incomplete(format!(
                "the {} leaves received rebuild the root {}, not the certified {}: leaves are \
                 missing",
                self.leaves,
                Hash(rebuilt.0),
                self.root
            )));
        }
        Ok(())
    }

    /// Checks the next history chunk (each document's entries together and in key order,
    /// no document twice) against the documents' certified history heads, then keeps it.
    pub fn add_history(&mut self, entries: Entries) -> Result<(), SnapshotError> {
        self.history_chunks += 1;
        let chunk = self.history_chunks;
        if matches!(self.phase, Phase::State(_)) {
            return Err(SnapshotError::Misuse("history before the state ended"));
        }
        if entries.is_empty() || entries.len() > MAX_CHUNK_ENTRIES {
            return Err(SnapshotError::BadHistory {
                chunk,
                reason: format!("{} entries (1 to {MAX_CHUNK_ENTRIES})", entries.len()),
            });
        }
        // Documents started in this chunk: not yet on disk, where a later start of the
        // same document is looked for.
        let mut started = BTreeSet::new();
        let mut batch = WriteBatch::default();
        for (key, value) in &entries {
            self.chain_entry(key, value, &mut started)
                .map_err(|reason| SnapshotError::BadHistory { chunk, reason })?;
            self.db.put(&mut batch, CF_INDEX, key, value)?;
        }
        self.history_entries += entries.len() as u64;
        self.db.db.write(batch).map_err(DbError::from)?;
        Ok(())
    }

    /// Chains one history entry onto its document's head (closing the previous document
    /// when this one starts; a document seen before may not start again).
    fn chain_entry(
        &mut self,
        key: &[u8],
        value: &[u8],
        started: &mut BTreeSet<Vec<u8>>,
    ) -> Result<(), String> {
        let shown = String::from_utf8_lossy(key).into_owned();
        if key.len() > MAX_KEY_BYTES || value.len() > MAX_VALUE_BYTES {
            return Err(format!("entry {shown} is too large"));
        }
        let prefix = history_doc_prefix(key)
            .ok_or_else(|| format!("{shown} is not a history key"))?
            .to_vec();
        match &mut self.doc {
            Some((current, _)) if *current == prefix => {
                if self.last_history_key.as_deref().is_some_and(|l| key <= l) {
                    return Err(format!("entry {shown} is out of key order"));
                }
            }
            _ => {
                let seen = started.contains(&prefix)
                    || !self
                        .db
                        .scan_at(None, CF_INDEX, &prefix, None, 1)
                        .map_err(|e| e.to_string())?
                        .is_empty();
                if seen {
                    return Err(format!("entry {shown} of a document already received"));
                }
                if let Some((done, head)) = self.doc.take() {
                    self.close_doc(&done, head)?;
                }
                started.insert(prefix.clone());
                self.doc = Some((prefix, HistoryHead::EMPTY));
            }
        }
        if let Some((_, head)) = &mut self.doc {
            *head = head.append(value);
        }
        self.last_history_key = Some(key.to_vec());
        Ok(())
    }

    /// The entries chained for one document must end at the head the certified state holds.
    fn close_doc(&mut self, prefix: &[u8], head: HistoryHead) -> Result<(), String> {
        let doc = &prefix[HISTORY_PREFIX.len()..prefix.len() - 1];
        let head_key = [HEAD_PREFIX, doc].concat();
        let shown = String::from_utf8_lossy(doc).into_owned();
        let certified: HistoryHead = match self.db.read(CF_STATE, &head_key) {
            Ok(Some(bytes)) => codec::decode_stored(&bytes, MAX_VALUE_BYTES)
                .map_err(|e| format!("the certified history head of {shown}: {e}"))?,
            Ok(None) => {
                return Err(format!(
                    "entries of {shown}, whose certified state has no history"
                ))
            }
            Err(e) => return Err(e.to_string()),
        };
        if certified != head {
            return Err(format!(
                "the {} entries of {shown} do not chain to its certified history head \
                 ({} entries)",
                head.count, certified.count
            ));
        }
        self.docs_verified += 1;
        Ok(())
    }

    /// Ends the history (every document with a certified head must have had its entries)
    /// and writes the block at the snapshot height and what the node starts from, synced.
    pub fn finish(mut self, base: SnapshotBase) -> Result<(), SnapshotError> {
        if matches!(self.phase, Phase::State(_)) {
            return Err(SnapshotError::Misuse("finish before the state ended"));
        }
        if let Some((done, head)) = self.doc.take() {
            self.close_doc(&done, head)
                .map_err(|reason| SnapshotError::BadHistory {
                    chunk: self.history_chunks,
                    reason,
                })?;
        }
        let heads = self.heads_with_entries()?;
        if heads != self.docs_verified {
            return Err(SnapshotError::Incomplete(format!(
                "the certified state holds the history of {heads} documents, entries came for \
                 {}",
                self.docs_verified
            )));
        }
        if base.epoch_ends.len() > MAX_EPOCH_BLOCKS {
            return Err(SnapshotError::Incomplete(format!(
                "{} validator-set changes (at most {MAX_EPOCH_BLOCKS})",
                base.epoch_ends.len()
            )));
        }
        self.write_base(&base)?;
        tracing::info!(height = self.height, root = %self.root, leaves = self.leaves,
            history = self.history_entries, "snapshot imported");
        Ok(())
    }

    /// Documents whose certified history head counts at least one entry.
    fn heads_with_entries(&self) -> Result<u64, SnapshotError> {
        let mut count = 0u64;
        let mut after: Option<Vec<u8>> = None;
        loop {
            let rows = self.db.scan_at(
                None,
                CF_STATE,
                HEAD_PREFIX,
                after.as_deref(),
                MAX_QUERY_LIMIT,
            )?;
            let Some((last, _)) = rows.last() else {
                return Ok(count);
            };
            after = Some(last.clone());
            for (key, bytes) in &rows {
                let head: HistoryHead = codec::decode_stored(bytes, MAX_VALUE_BYTES)
                    .map_err(|e| DbError::codec(String::from_utf8_lossy(key), e))?;
                count += u64::from(head.count > 0);
            }
        }
    }

    fn write_base(&self, base: &SnapshotBase) -> Result<(), SnapshotError> {
        let db = &self.db;
        let mut batch = WriteBatch::default();
        let mut blocks = vec![(self.height, &base.block_hash, &base.block, &base.cert)];
        for e in &base.epoch_ends {
            if e.height >= self.height {
                return Err(SnapshotError::Misuse(
                    "an epoch end at or above the snapshot",
                ));
            }
            blocks.push((e.height, &e.hash, &e.block, &e.cert));
            db.put(
                &mut batch,
                CF_META,
                &epoch_end_key(e.epoch),
                &height_key(e.height),
            )?;
        }
        for (height, hash, block, cert) in blocks {
            let hkey = height_key(height);
            db.put(&mut batch, CF_BLOCKS, &hkey, block)?;
            db.put(&mut batch, CF_CERTS, &hkey, cert)?;
            db.put(&mut batch, CF_BLOCK_HASHES, &hash.0, &hkey)?;
        }
        let hkey = height_key(self.height);
        if let Some(epoch) = base.ends_epoch {
            db.put(&mut batch, CF_META, &epoch_end_key(epoch), &hkey)?;
        }
        db.put(&mut batch, CF_RESULTS, &hkey, &base.results_root.0)?;
        db.put(&mut batch, CF_SAFETY, SAFETY_KEY, &base.safety)?;
        db.put(&mut batch, CF_META, META_SNAPSHOT_BASE, &hkey)?;
        let latest = encode_latest(self.height, &self.root.0);
        db.put(&mut batch, CF_META, META_LATEST, &latest)?;
        db.db.write_opt(batch, &synced()).map_err(DbError::from)?;
        Ok(())
    }
}

/// Leaves as jmt's restore takes them.
type TreeLeaves = Vec<(KeyHash, Vec<u8>)>;

/// The leaves of a state chunk (within bounds, keys outside the history key space, key
/// hashes strictly increasing from after `previous`) and the state values they hold.
fn checked_leaves(
    entries: &Entries,
    previous: Option<KeyHash>,
) -> Result<(TreeLeaves, Entries), String> {
    if entries.is_empty() || entries.len() > MAX_CHUNK_ENTRIES {
        return Err(format!(
            "{} entries (1 to {MAX_CHUNK_ENTRIES})",
            entries.len()
        ));
    }
    let mut prev = previous;
    let mut out = Vec::with_capacity(entries.len());
    let mut values = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let shown = String::from_utf8_lossy(key);
        if key.len() > MAX_KEY_BYTES || value.len() > MAX_LEAF_BYTES {
            return Err(format!("entry {shown} is too large"));
        }
        if key.starts_with(HISTORY_PREFIX) || key.starts_with(PREIMAGE_PREFIX) {
            return Err(format!("state key {shown} is outside the state key space"));
        }
        let hash = key_hash(key);
        if prev.is_some_and(|p| hash <= p) {
            return Err(format!("entry {shown} is out of the tree's order"));
        }
        prev = Some(hash);
        values.extend(state_values(key, value).map_err(|e| format!("entry {shown}: {e}"))?);
        out.push((hash, value.clone()));
    }
    Ok((out, values))
}

/// `hist/<kind>/<id>/` of a history key `hist/<kind>/<id>/<height>/<tx>/<seq>`.
fn history_doc_prefix(key: &[u8]) -> Option<&[u8]> {
    if !key.starts_with(HISTORY_PREFIX) {
        return None;
    }
    let mut slashes = key
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'/')
        .map(|(i, _)| i);
    let third = slashes.nth(2)?;
    // Kind and id must not be empty, and something must follow the id.
    let second = key[..third].iter().rposition(|b| *b == b'/')?;
    let first = HISTORY_PREFIX.len() - 1;
    if second == first + 1 || third == second + 1 || third + 1 == key.len() {
        return None;
    }
    Some(&key[..=third])
}
