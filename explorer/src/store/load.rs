//! The in-memory index at start, read from the store instead of the node: the pages'
//! cache (bounded by `max_index_docs` per table, like the index the follower fills),
//! so a restart serves at once what it had and the follower continues from `height`.

use futures::TryStreamExt;
use sqlx::Row;

use super::{decode_doc, int, kind_named, Store, StoreError};
use crate::index::{IndexData, Rebuild, TxRecord, MAX_TXS_PER_DOC, RECENT_BLOCKS};

/// The kinds of document the index keeps.
const KINDS: [&str; 10] = [
    "org",
    "order",
    "shipment",
    "invoice",
    "receivable",
    "financing",
    "offer",
    "settlement",
    "proposal",
    "warehouse_receipt",
];

impl Store {
    /// The index as stored: its height and gap, the newest blocks and transactions, at
    /// most `cap` documents of each kind (in id order; more is a gap, as when the
    /// follower fills a full table) and the transactions that touched them. Rebuilding
    /// until the follower has read the node's lists again.
    pub async fn load_index(&self, cap: usize) -> Result<IndexData, StoreError> {
        let meta = self.meta().await?;
        let mut d = IndexData {
            cap: cap.max(1),
            rebuilding: Some(Rebuild::default()),
            height: meta.height,
            gap: meta.gap,
            ..Default::default()
        };
        self.load_docs(&mut d).await?;
        self.load_blocks(&mut d).await?;
        self.load_txs(&mut d).await?;
        self.load_doc_txs(&mut d).await?;
        Ok(d)
    }

    async fn load_docs(&self, d: &mut IndexData) -> Result<(), StoreError> {
        for kind in KINDS {
            let Some(k) = kind_named(kind) else { continue };
            let rows =
                sqlx::query("SELECT id, doc_json FROM docs WHERE kind = $1 ORDER BY id LIMIT $2")
                    .bind(kind)
                    .bind(int(d.cap as u64))
                    .fetch_all(self.pool())
                    .await?;
            for r in &rows {
                let id: String = r.try_get(0)?;
                d.put_doc(decode_doc(k, &id, &r.try_get::<String, _>(1)?)?);
            }
            // The kept count, not a COUNT(*) over the kind (`store::totals`).
            let n = self.kept_count(super::totals::LEDGER, kind).await?;
            let more = n.saturating_sub(rows.len() as u64);
            if more > 0 {
                d.note_full(more);
            }
        }
        Ok(())
    }

    async fn load_blocks(&self, d: &mut IndexData) -> Result<(), StoreError> {
        let keep = RECENT_BLOCKS;
        let rows =
            sqlx::query("SELECT row_json, tx_count FROM blocks ORDER BY height DESC LIMIT $1")
                .bind(int(keep as u64))
                .fetch_all(self.pool())
                .await?;
        for r in rows.iter().rev() {
            let b = self.with_tx_hashes(super::block_row(r)?).await?;
            d.add_block(b);
        }
        Ok(())
    }

    async fn load_txs(&self, d: &mut IndexData) -> Result<(), StoreError> {
        let total = self
            .kept_count(super::totals::LEDGER, super::totals::TXS)
            .await?;
        let rows =
            sqlx::query("SELECT record_json FROM txs ORDER BY height DESC, position DESC LIMIT $1")
                .bind(int(d.cap as u64))
                .fetch_all(self.pool())
                .await?;
        for r in rows.iter().rev() {
            let json: String = r.try_get(0)?;
            let t: TxRecord = serde_json::from_str(&json).map_err(|e| super::corrupt("tx", e))?;
            d.add_tx_record(t);
        }
        d.evicted_txs = total.saturating_sub(rows.len() as u64);
        Ok(())
    }

    /// The transactions of each cached document (the `cap` first of each kind, as
    /// [`Store::load_docs`] reads them), the newest [`MAX_TXS_PER_DOC`] of each, in chain
    /// order: bounded in SQL (windows numbering each kind's documents and each
    /// document's transactions), never every `tx_docs` row.
    async fn load_doc_txs(&self, d: &mut IndexData) -> Result<(), StoreError> {
        let sql = format!(
            "SELECT x.kind, x.id, x.tx FROM ({}) x JOIN (SELECT kind, id, ROW_NUMBER() \
             OVER (PARTITION BY kind ORDER BY id) AS r FROM docs) c \
             ON c.kind = x.kind AND c.id = x.id \
             WHERE c.r <= $1 AND x.n <= $2 ORDER BY x.height, x.position",
            super::sql::newest_doc_txs("1 = 1")
        );
        let mut rows = sqlx::query(&sql)
            .bind(int(d.cap as u64))
            .bind(int(MAX_TXS_PER_DOC as u64))
            .fetch(self.pool());
        while let Some(r) = rows.try_next().await? {
            let kind: String = r.try_get(0)?;
            let Some(k) = kind_named(&kind) else { continue };
            d.note_doc_tx((k, r.try_get(1)?), r.try_get(2)?);
        }
        Ok(())
    }
}
