//! Opening a database an older node wrote: upgraded in place when only an index changed,
//! refused by name when its layout is not this node's, before anything reads it.
//!
//! Layouts 2 and 3 hold a state tree in which each document's history head is a leaf of
//! its own; from layout 4 a document and its head share one leaf
//! (`lianrong_contracts::merkle::leaf_of`). The state roots an older database's blocks
//! certify are then not the roots this node computes for the same state, so its chain
//! cannot be continued here: rather than diverge at the next block, the node says so.
//! (Layout 2 -> 3, a re-keying of tree nodes, was upgraded in place; it is in the
//! repository's history.)
//!
//! Layout 4 -> 5 packs the stale index ([`CF_JMT_STALE`]): layout 4 kept one empty-valued
//! entry per item, `stale_since BE ++ tag ++ payload`; layout 5 one entry per version
//! holding its items. The upgrade rewrites it in place, a version's items and the removal
//! of their old entries in one batch, so an interrupted upgrade resumes where it stopped
//! (a packed entry's key is 8 bytes, an old one's longer).
//!
//! Layout 5 -> 6 folds each receipt into its transaction's [`LAYOUT6_CF_TXS`] entry: layout 5
//! kept receipts in a column family of their own ([`LAYOUT5_CF_RECEIPTS`]), one more
//! RocksDB entry per committed transaction. Each batch of the upgrade rewrites some
//! transactions' entries with their receipts and deletes those receipts, so an
//! interrupted upgrade resumes with the receipts left; opening the database drops the
//! empty column family once the layout says 6.
//!
//! Layout 6 -> 7 keys transactions by position: layout 6 kept each transaction's entry
//! under its hash ([`LAYOUT6_CF_TXS`]), and compaction rewrote those entries, spread over
//! the whole key space, many times over. Each batch of the upgrade moves some entries to
//! their position ([`CF_TX_ENTRIES`], the entry's bytes as they were) with the position
//! under the hash ([`CF_TX_POSITIONS`]), and deletes them from the old column family, so
//! an interrupted upgrade resumes with the entries left; opening the database drops the
//! empty column family once the layout says 7.
//!
//! Layout 7 -> 8 writes tree nodes in a compact form (`crate::node_codec`) and reads both,
//! so the upgrade only records the new layout: the older nodes stay until pruning or a
//! compaction's deletes replace them. The record keeps a layout-7 node from opening the
//! database afterwards, as it could not read the nodes written since.

use rocksdb::WriteBatch;

use super::db::{synced, Db};
use super::error::DbError;
use super::schema::*;

/// Old entries removed per batch of the upgrade, at least (a version's items are never
/// split across batches).
const UPGRADE_BATCH_ITEMS: usize = 65_536;

impl Db {
    /// Upgrades a layout-4, 5, 6 or 7 database in place, a layout at a time; refuses
    /// any other layout that is not [`FORMAT_VERSION`]: no older layout holds a state
    /// tree this node continues.
    pub(crate) fn migrate_from(&self, format: u32) -> Result<(), DbError> {
        const _: () = assert!(FORMAT_VERSION == 8, "a new layout needs its upgrade here");
        let mut format = format;
        while format != FORMAT_VERSION {
            match format {
                4 => self.pack_stale_index()?,
                5 => self.fold_receipts()?,
                6 => self.key_txs_by_position()?,
                7 => self.record_compact_nodes()?,
                _ => {
                    return Err(DbError::OtherFormat {
                        path: self.path.display().to_string(),
                        stored: format,
                        reads: FORMAT_VERSION,
                    })
                }
            }
            format += 1;
        }
        Ok(())
    }

    /// Layout 5 -> 6: each receipt into its transaction's entry (the module's comment).
    fn fold_receipts(&self) -> Result<(), DbError> {
        let folded = self.drain_legacy(LAYOUT5_CF_RECEIPTS, 6, |batch, key, value| {
            self.fold_receipt(batch, key, value)
        })?;
        tracing::info!(
            path = %self.path.display(),
            from = 5,
            to = 6,
            receipts = folded,
            "database layout upgraded: receipts stored with their transactions"
        );
        Ok(())
    }

    /// Stages what `stage` makes of each entry of the older layout's column family
    /// `legacy` (when the database has it), a batch at a time, each batch deleting the
    /// entries it staged, so an interrupted upgrade resumes with those left; then records
    /// layout `to`. Returns how many entries it staged.
    fn drain_legacy(
        &self,
        legacy: &str,
        to: u32,
        mut stage: impl FnMut(&mut WriteBatch, &[u8], &[u8]) -> Result<(), DbError>,
    ) -> Result<u64, DbError> {
        let mut staged = 0u64;
        if let Some(cf) = self.db.cf_handle(legacy) {
            let mut it = self.db.raw_iterator_cf(cf);
            it.seek_to_first();
            let mut batch = WriteBatch::default();
            while let (Some(key), Some(value)) = (it.key(), it.value()) {
                stage(&mut batch, key, value)?;
                batch.delete_cf(cf, key);
                staged += 1;
                if batch.len() >= UPGRADE_BATCH_ITEMS {
                    self.db.write_opt(std::mem::take(&mut batch), &synced())?;
                }
                it.next();
            }
            it.status()?;
            self.db.write_opt(batch, &synced())?;
        }
        let mut batch = WriteBatch::default();
        self.stage_format_of(&mut batch, to)?;
        self.db.write_opt(batch, &synced())?;
        Ok(staged)
    }

    /// Stages the entry of the transaction whose layout-5 receipt is `sealed` under
    /// `stored_key` (a transaction hash, stored as is also when encrypted): its record,
    /// then the receipt.
    fn fold_receipt(
        &self,
        batch: &mut WriteBatch,
        stored_key: &[u8],
        sealed: &[u8],
    ) -> Result<(), DbError> {
        let receipt = self.open_value(LAYOUT5_CF_RECEIPTS, stored_key, sealed)?;
        let what = || format!("layout 5 receipt {}", hex::encode(stored_key));
        let record = self
            .read(LAYOUT6_CF_TXS, stored_key)?
            .ok_or_else(|| DbError::corrupt(what(), "its transaction is not stored"))?;
        // Layout 5's record is exactly the codec's `TxRecord`, the head of a layout-6
        // entry, and nothing after it (a receipt and its fold leave in the same batch).
        let (tx, rest) =
            crate::TxRecord::split_entry(&record).map_err(|why| DbError::corrupt(what(), why))?;
        if !rest.is_empty() {
            return Err(DbError::corrupt(
                what(),
                "its transaction holds a receipt already",
            ));
        }
        let entry = [record.as_slice(), &receipt].concat();
        debug_assert_eq!(crate::TxRecord::split_entry(&entry).map(|e| e.0), Ok(tx));
        self.put(batch, LAYOUT6_CF_TXS, stored_key, &entry)
    }

    /// Layout 6 -> 7: each transaction's entry to its position (the module's comment).
    fn key_txs_by_position(&self) -> Result<(), DbError> {
        let moved = self.drain_legacy(LAYOUT6_CF_TXS, 7, |batch, key, value| {
            self.move_tx_entry(batch, key, value)
        })?;
        tracing::info!(
            path = %self.path.display(),
            from = 6,
            to = 7,
            transactions = moved,
            "database layout upgraded: transactions stored by position"
        );
        Ok(())
    }

    /// Layout 7 -> 8: nothing to rewrite (the module's comment), the layout recorded.
    fn record_compact_nodes(&self) -> Result<(), DbError> {
        let mut batch = WriteBatch::default();
        self.stage_format_of(&mut batch, 8)?;
        self.db.write_opt(batch, &synced())?;
        tracing::info!(
            path = %self.path.display(),
            from = 7,
            to = 8,
            "database layout upgraded: tree nodes written in their compact form"
        );
        Ok(())
    }

    /// Stages the layout-7 entries of the transaction whose layout-6 entry is `sealed`
    /// under `stored_key` (its hash, stored as is also when encrypted).
    fn move_tx_entry(
        &self,
        batch: &mut WriteBatch,
        stored_key: &[u8],
        sealed: &[u8],
    ) -> Result<(), DbError> {
        let entry = self.open_value(LAYOUT6_CF_TXS, stored_key, sealed)?;
        let (record, _) = crate::TxRecord::split_entry(&entry).map_err(|why| {
            DbError::corrupt(
                format!("layout 6 transaction {}", hex::encode(stored_key)),
                why,
            )
        })?;
        let position = tx_position_key(record.height, record.index);
        self.put(batch, CF_TX_ENTRIES, &position, &entry)?;
        self.put(batch, CF_TX_POSITIONS, stored_key, &position)
    }

    /// Layout 4 -> 5: one stale-index entry per version (the module's comment).
    fn pack_stale_index(&self) -> Result<(), DbError> {
        let cf = self.cf(CF_JMT_STALE);
        let mut it = self.db.raw_iterator_cf(cf);
        it.seek_to_first();
        let mut batch = WriteBatch::default();
        let (mut items_moved, mut versions) = (0u64, 0u64);
        // The version being gathered and its items.
        let mut group: Option<(u64, Vec<u8>)> = None;
        while let Some(key) = it.key() {
            if key.len() == 8 {
                // Packed by an upgrade that was interrupted.
                it.next();
                continue;
            }
            let (since, tag, payload) = layout4_stale_key(key)
                .ok_or_else(|| DbError::corrupt("layout 4 stale index", "short key"))?;
            if group.as_ref().is_some_and(|(v, _)| *v != since) {
                if let Some((v, items)) = group.take() {
                    batch.put_cf(cf, height_key(v), &items);
                    versions += 1;
                }
                if batch.len() >= UPGRADE_BATCH_ITEMS {
                    self.db.write_opt(std::mem::take(&mut batch), &synced())?;
                }
            }
            let (_, items) = group.get_or_insert_with(|| (since, Vec::new()));
            push_stale_item(items, tag, payload)
                .ok_or_else(|| DbError::corrupt("layout 4 stale index", "payload too long"))?;
            batch.delete_cf(cf, key);
            items_moved += 1;
            it.next();
        }
        it.status()?;
        if let Some((v, items)) = group {
            batch.put_cf(cf, height_key(v), &items);
            versions += 1;
        }
        self.stage_format_of(&mut batch, 5)?;
        self.db.write_opt(batch, &synced())?;
        tracing::info!(
            path = %self.path.display(),
            from = 4,
            to = 5,
            stale_items = items_moved,
            versions,
            "database layout upgraded: the stale index packed into one entry per version"
        );
        Ok(())
    }
}

/// Splits a layout-4 stale-index key into its version, tag and payload.
fn layout4_stale_key(key: &[u8]) -> Option<(u64, u8, &[u8])> {
    let (version, rest) = key.split_at_checked(8)?;
    let (tag, payload) = rest.split_first()?;
    Some((parse_height(version)?, *tag, payload))
}
