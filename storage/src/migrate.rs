//! Opening a database an older node wrote: its layout is brought to [`FORMAT_VERSION`] in
//! place, before anything reads it, so upgrading a validator never means fetching the
//! chain again (nor losing its consensus safety record with a wiped data directory).
//!
//! Format 2 -> 3: the tree's node keys became version-ordered
//! ([`encode_node_key`]). Every `jmt_nodes` key and every stale-index entry naming a node
//! is rewritten, in batches. A format 2 node key and a format 3 one never have the same
//! shape (the old one carries two 8-byte lengths, see [`format2_node_key`]), so the
//! rewrite is idempotent: a node stopped part-way finishes it at its next start. The
//! format record changes last, in a synced write.

use jmt::storage::NodeKey;
use lianrong_primitives::codec;
use rocksdb::WriteBatch;

use super::db::Db;
use super::error::DbError;
use super::node_codec::encode_node_key;
use super::schema::*;

/// Entries rewritten per write batch: bounds the batch's memory on a large database.
const BATCH_ENTRIES: usize = 10_000;
/// Largest format 2 node key: a version, two 8-byte lengths and at most 32 path bytes.
const MAX_FORMAT2_NODE_KEY_BYTES: usize = 56;

/// What a migration rewrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    /// Tree nodes re-keyed.
    pub nodes: u64,
    /// Stale-index entries re-keyed.
    pub stale: u64,
}

/// The node key a format 2 database stored as `bytes` (the codec's encoding of jmt's
/// `NodeKey`: version, nibble count and byte count as little-endian `u64`s, the packed
/// path), or `None` for anything else -- a format 3 key included.
pub(crate) fn format2_node_key(bytes: &[u8]) -> Option<NodeKey> {
    if bytes.len() > MAX_FORMAT2_NODE_KEY_BYTES {
        return None;
    }
    let key: NodeKey = codec::decode_stored(bytes, MAX_FORMAT2_NODE_KEY_BYTES).ok()?;
    // Only the canonical form: a shorter key read as a prefix of its bytes is not one.
    (codec::encode(&key) == bytes).then_some(key)
}

impl Db {
    /// Brings a database of layout `format` to [`FORMAT_VERSION`], or refuses one this
    /// node cannot read.
    pub(crate) fn migrate_from(&self, format: u32) -> Result<Migrated, DbError> {
        let migrated = match format {
            2 => self.node_keys_by_version()?,
            _ => {
                return Err(DbError::OtherFormat {
                    path: self.path.display().to_string(),
                    stored: format,
                    reads: FORMAT_VERSION,
                })
            }
        };
        self.put_now(CF_META, META_FORMAT, &FORMAT_VERSION.to_be_bytes(), true)?;
        tracing::info!(
            from = format,
            to = FORMAT_VERSION,
            nodes = migrated.nodes,
            stale = migrated.stale,
            "database layout upgraded"
        );
        Ok(migrated)
    }

    /// Format 2 -> 3: tree node keys (and the stale index's copies of them) re-keyed
    /// version first.
    fn node_keys_by_version(&self) -> Result<Migrated, DbError> {
        let mut out = Migrated::default();
        let mut batch = Batches::new(self);
        let mut it = self.db.raw_iterator_cf(self.cf(CF_JMT_NODES));
        it.seek_to_first();
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            if let Some(key) = format2_node_key(k) {
                // Node keys are stored in clear; a sealed value is bound to its key.
                let value = self.open_value(CF_JMT_NODES, k, v)?;
                self.put(
                    &mut batch.batch,
                    CF_JMT_NODES,
                    &encode_node_key(&key),
                    &value,
                )?;
                batch.batch.delete_cf(self.cf(CF_JMT_NODES), k);
                batch.staged()?;
                out.nodes += 1;
            }
            it.next();
        }
        it.status()?;
        let mut it = self.db.raw_iterator_cf(self.cf(CF_JMT_STALE));
        it.seek_to_first();
        while let Some(k) = it.key() {
            let (since, tag, payload) = parse_stale_key(k)
                .ok_or_else(|| DbError::corrupt("jmt stale key", "shorter than 9 bytes"))?;
            let node = (tag != STALE_VALUE)
                .then(|| format2_node_key(payload))
                .flatten();
            if let Some(key) = node {
                let cf = self.cf(CF_JMT_STALE);
                let renamed = stale_key(since, tag, &encode_node_key(&key));
                batch.batch.put_cf(cf, renamed, b"");
                batch.batch.delete_cf(cf, k);
                batch.staged()?;
                out.stale += 1;
            }
            it.next();
        }
        it.status()?;
        batch.finish()?;
        Ok(out)
    }
}

/// A write batch written every [`BATCH_ENTRIES`] entries (unsynced: the format record's
/// synced write comes last, and the WAL keeps the batches before it in order).
struct Batches<'a> {
    db: &'a Db,
    batch: WriteBatch,
    entries: usize,
}

impl<'a> Batches<'a> {
    fn new(db: &'a Db) -> Self {
        Self {
            db,
            batch: WriteBatch::default(),
            entries: 0,
        }
    }

    fn staged(&mut self) -> Result<(), DbError> {
        self.entries += 1;
        if self.entries >= BATCH_ENTRIES {
            self.finish()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), DbError> {
        self.db.db.write(std::mem::take(&mut self.batch))?;
        self.entries = 0;
        Ok(())
    }
}
