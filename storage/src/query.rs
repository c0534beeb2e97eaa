//! Reads for the HTTP API and for peers catching up: blocks, certificates,
//! transactions, receipts, document history and the receivable indexes.

use lianrong_contracts::model::{DocId, Receivable};
use lianrong_contracts::state::{keys, HistoryPos};
use lianrong_contracts::{DocKind, Event, HistoryEntry, Receipt};
use lianrong_primitives::{codec, Hash};

use super::commit::TxRecord;
use super::db::Db;
use super::error::DbError;
use super::indexes::ReceivableIndex;
use super::schema::*;

impl Db {
    /// The encoded block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Vec<u8>>, DbError> {
        self.read(CF_BLOCKS, &height_key(height))
    }

    /// The height and encoded block with hash `hash`.
    pub fn block_by_hash(&self, hash: &Hash) -> Result<Option<(u64, Vec<u8>)>, DbError> {
        let snap = self.db.snapshot();
        let Some(h) = self.read_at(Some(&snap), CF_BLOCK_HASHES, &hash.0)? else {
            return Ok(None);
        };
        let height = parse_height(&h)
            .ok_or_else(|| DbError::corrupt(format!("height of block {hash}"), "not 8 bytes"))?;
        let block = self
            .read_at(Some(&snap), CF_BLOCKS, &height_key(height))?
            .ok_or_else(|| {
                DbError::corrupt(
                    format!("block {hash}"),
                    format!("indexed at height {height} but not stored"),
                )
            })?;
        Ok(Some((height, block)))
    }

    /// The encoded commit certificate of the block at `height`.
    pub fn cert(&self, height: u64) -> Result<Option<Vec<u8>>, DbError> {
        self.read(CF_CERTS, &height_key(height))
    }

    /// A transaction by hash, with the height and position of its block.
    pub fn tx(&self, hash: &Hash) -> Result<Option<TxRecord>, DbError> {
        self.read_tx(hash, |record, _| Ok(record))
    }

    /// A committed transaction by hash with its receipt (stored together: a read of its
    /// position, then one of both).
    pub fn tx_with_receipt(&self, hash: &Hash) -> Result<Option<(TxRecord, Receipt)>, DbError> {
        self.read_tx(hash, |record, receipt| {
            let receipt = codec::decode_stored(receipt, MAX_RECEIPT_BYTES)
                .map_err(|e| DbError::codec(format!("receipt {hash}"), e))?;
            Ok((record, receipt))
        })
    }

    /// `read` of the stored entry of `hash`: its record and the receipt's bytes.
    fn read_tx<T>(
        &self,
        hash: &Hash,
        read: impl FnOnce(TxRecord, &[u8]) -> Result<T, DbError>,
    ) -> Result<Option<T>, DbError> {
        let Some(position) = self.read(CF_TX_POSITIONS, &hash.0)? else {
            return Ok(None);
        };
        let what = || format!("transaction {hash}");
        if !is_tx_position(&position) {
            return Err(DbError::corrupt(
                what(),
                "its position is not a height and index",
            ));
        }
        let entry = self
            .read(CF_TX_ENTRIES, &position)?
            .ok_or_else(|| DbError::corrupt(what(), "no entry at its position"))?;
        if entry.len() > MAX_TX_ENTRY_BYTES {
            return Err(DbError::corrupt(
                what(),
                format!("{} bytes, above {MAX_TX_ENTRY_BYTES}", entry.len()),
            ));
        }
        let (record, receipt) =
            TxRecord::split_entry(&entry).map_err(|why| DbError::corrupt(what(), why))?;
        if tx_position_key(record.height, record.index) != position.as_slice() {
            return Err(DbError::corrupt(what(), "its entry is of another position"));
        }
        read(record, receipt).map(Some)
    }

    /// The changes the ledger made by itself in the block at `height` (the overdue
    /// sweep's events), empty when it made none or the height is not stored.
    pub fn ledger_events(&self, height: u64) -> Result<Vec<Event>, DbError> {
        match self.read(CF_RESULTS, &ledger_events_key(height))? {
            None => Ok(Vec::new()),
            Some(bytes) => codec::decode_stored(&bytes, MAX_LEDGER_EVENTS_BYTES)
                .map_err(|e| DbError::codec(format!("ledger events of block {height}"), e)),
        }
    }

    /// The receipt of a committed transaction by hash.
    pub fn receipt(&self, hash: &Hash) -> Result<Option<Receipt>, DbError> {
        Ok(self.tx_with_receipt(hash)?.map(|(_, receipt)| receipt))
    }

    /// The state root after the block at `height`, if that height is committed (also
    /// when its tree version is pruned: the root's hash is kept).
    pub fn state_root(&self, height: u64) -> Result<Option<Hash>, DbError> {
        self.root_of(height)
    }

    /// The execution commit of `height` (state root and results root; height 0 is the
    /// genesis state), if that height is committed: what a later block certifies.
    pub fn execution(
        &self,
        height: u64,
    ) -> Result<Option<lianrong_consensus::ExecutionCommit>, DbError> {
        let Some(state_root) = self.state_root(height)? else {
            return Ok(None);
        };
        let results_root = if height == 0 {
            Hash::ZERO
        } else {
            let bytes = self.read(CF_RESULTS, &height_key(height))?.ok_or_else(|| {
                DbError::corrupt(format!("results of height {height}"), "missing")
            })?;
            let r = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
                DbError::corrupt(format!("results of height {height}"), "not 32 bytes")
            })?;
            Hash(r)
        };
        Ok(Some(lianrong_consensus::ExecutionCommit {
            height,
            state_root,
            results_root,
        }))
    }

    /// The heights of the blocks that ended each epoch, epoch 0's first (at most
    /// [`MAX_EPOCHS`]).
    pub fn epoch_ends(&self) -> Result<Vec<(u64, u64)>, DbError> {
        let rows = self.scan_at(None, CF_META, META_EPOCH_END, None, MAX_EPOCHS)?;
        rows.into_iter()
            .map(|(k, v)| {
                let epoch = parse_height(&k[META_EPOCH_END.len()..]);
                match (epoch, parse_height(&v)) {
                    (Some(e), Some(h)) => Ok((e, h)),
                    _ => Err(DbError::corrupt(
                        "epoch index",
                        "not 8-byte epoch and height",
                    )),
                }
            })
            .collect()
    }

    /// The genesis state root, once genesis is applied.
    pub fn genesis_root(&self) -> Result<Option<Hash>, DbError> {
        match self.read(CF_META, META_GENESIS)? {
            None => Ok(None),
            Some(b) => <[u8; 32]>::try_from(b.as_slice())
                .map(|r| Some(Hash(r)))
                .map_err(|_| DbError::corrupt("meta genesis root", "not 32 bytes")),
        }
    }

    /// A document's history entries after position `after` (from its first without),
    /// oldest first, at most `limit` (at most [`MAX_QUERY_LIMIT`]), each with its
    /// position: one bounded range read, so a page of a long history costs what the first
    /// page does.
    pub fn history_after(
        &self,
        kind: DocKind,
        id: &str,
        after: Option<HistoryPos>,
        limit: usize,
    ) -> Result<Vec<(HistoryPos, HistoryEntry)>, DbError> {
        let prefix = keys::history_prefix(kind, id);
        let after = after.map(|pos| keys::history_at(kind, id, pos));
        let entries = self.scan_at(
            None,
            CF_INDEX,
            &prefix,
            after.as_deref(),
            limit.min(MAX_QUERY_LIMIT),
        )?;
        entries
            .into_iter()
            .map(|(k, v)| {
                let what = || format!("history {}", String::from_utf8_lossy(&k));
                let pos = keys::history_pos(kind, id, &k)
                    .ok_or_else(|| DbError::corrupt(what(), "not a history entry's key"))?;
                let entry = codec::decode_stored(&v, MAX_VALUE_BYTES)
                    .map_err(|e| DbError::codec(what(), e))?;
                Ok((pos, entry))
            })
            .collect()
    }

    /// Documents of `kind` in id order (byte order of the ids), starting after the id
    /// `start_after`, at most `limit` (at most [`MAX_QUERY_LIMIT`]): each id with its
    /// stored bytes. One bounded range read, so a paged list costs the same per page
    /// however many documents there are.
    pub fn docs_after(
        &self,
        kind: DocKind,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, DbError> {
        let prefix = keys::doc_prefix(kind);
        let after = start_after.map(|id| keys::doc(kind, id));
        let rows = self.scan_at(
            None,
            CF_STATE,
            &prefix,
            after.as_deref(),
            limit.min(MAX_QUERY_LIMIT),
        )?;
        rows.into_iter()
            .map(|(k, v)| {
                // Ids are ASCII; a lossy copy would make a cursor that names another key.
                let id = String::from_utf8(k[prefix.len()..].to_vec()).map_err(|_| {
                    DbError::corrupt(String::from_utf8_lossy(&k).into_owned(), "id not UTF-8")
                })?;
                Ok((id, v))
            })
            .collect()
    }

    /// Contract state entries whose key starts with `prefix`, in key order, starting
    /// after the key `start_after`, at most `limit` (at most [`MAX_QUERY_LIMIT`]): the
    /// paged lists of records that are not documents (credit limits).
    pub fn state_after(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<lianrong_contracts::state::Entries, DbError> {
        self.scan_at(
            None,
            CF_STATE,
            prefix,
            start_after,
            limit.min(MAX_QUERY_LIMIT),
        )
    }

    /// Receivables in one index (by holder, debtor or status), in id order (byte order of
    /// the ids), starting after `start_after`, at most `limit` (at most
    /// [`MAX_QUERY_LIMIT`]). Read from one snapshot, so the list and the receivables
    /// belong to the same block.
    pub fn receivables_by(
        &self,
        by: &ReceivableIndex,
        limit: usize,
        start_after: Option<&DocId>,
    ) -> Result<Vec<Receivable>, DbError> {
        let snap = self.db.snapshot();
        let prefix = by.prefix();
        let after = start_after.map(|id| {
            let mut k = prefix.clone();
            k.extend_from_slice(id.as_str().as_bytes());
            k
        });
        let entries = self.scan_at(
            Some(&snap),
            CF_INDEX,
            &prefix,
            after.as_deref(),
            limit.min(MAX_QUERY_LIMIT),
        )?;
        let mut out = Vec::with_capacity(entries.len());
        for (k, _) in entries {
            let id = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            let key = keys::doc(DocKind::Receivable, &id);
            let bytes = self.read_at(Some(&snap), CF_STATE, &key)?.ok_or_else(|| {
                DbError::corrupt(
                    format!("receivable index {}", String::from_utf8_lossy(&k)),
                    "names a receivable that is not in state",
                )
            })?;
            let r: Receivable = codec::decode_stored(&bytes, MAX_VALUE_BYTES)
                .map_err(|e| DbError::codec(format!("receivable {id}"), e))?;
            out.push(r);
        }
        Ok(out)
    }
}
