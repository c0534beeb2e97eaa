//! Migration 0004's columns for rows written before it, filled from their stored JSON
//! when the store is opened (the migration itself cannot: SQLite and PostgreSQL read
//! JSON with different functions, and its two copies may differ only by collation).
//! Each pass reads a chunk at a time by key and writes each chunk in one transaction; a
//! row already filled is never read again, so a second start finds nothing to do.

use sqlx::Row;

use super::write::{put_price, put_settlement};
use super::{decode_doc, kind_named, Store, StoreError};
use crate::node::Doc;
use crate::store::SettlementLinks;
use lianrong_contracts::DocKind;

/// Rows read and written per transaction.
const CHUNK: i64 = 1000;

impl Store {
    /// Fills what migration 0004 added for rows written before it: a financing's and a
    /// settlement's `docs.receivable` (and the settlement's `settlements` row), a
    /// receivable's `receivables.invoice`, and the `prices` row of every stored
    /// `price_posted` event.
    pub(super) async fn backfill(&self) -> Result<(), StoreError> {
        self.backfill_docs().await?;
        self.backfill_invoices().await?;
        self.backfill_prices().await
    }

    async fn backfill_docs(&self) -> Result<(), StoreError> {
        let mut after = (String::new(), String::new());
        loop {
            let rows = sqlx::query(
                "SELECT kind, id, doc_json FROM docs WHERE kind IN ('financing', 'settlement') \
                 AND receivable IS NULL AND (kind > $1 OR (kind = $1 AND id > $2)) \
                 ORDER BY kind, id LIMIT $3",
            )
            .bind(after.0.clone())
            .bind(after.1.clone())
            .bind(CHUNK)
            .fetch_all(self.pool())
            .await?;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            after = (last.try_get(0)?, last.try_get(1)?);
            let mut t = self.pool().begin().await?;
            for r in &rows {
                let (kind, id): (String, String) = (r.try_get(0)?, r.try_get(1)?);
                let Some(k) = kind_named(&kind) else { continue };
                let (receivable, links) = match decode_doc(k, &id, &r.try_get::<String, _>(2)?)? {
                    Doc::Financing(f) => (f.receivable.to_string(), None),
                    Doc::Settlement(s) => (s.receivable.to_string(), Some(SettlementLinks::of(&s))),
                    _ => continue,
                };
                sqlx::query("UPDATE docs SET receivable = $1 WHERE kind = $2 AND id = $3")
                    .bind(receivable)
                    .bind(kind)
                    .bind(id.clone())
                    .execute(&mut *t)
                    .await?;
                if let Some(l) = links {
                    put_settlement(&mut t, &id, &l).await?;
                }
            }
            t.commit().await?;
        }
    }

    async fn backfill_invoices(&self) -> Result<(), StoreError> {
        let mut after = String::new();
        loop {
            let rows = sqlx::query(
                "SELECT r.id, d.doc_json FROM receivables r JOIN docs d \
                 ON d.kind = 'receivable' AND d.id = r.id \
                 WHERE r.invoice IS NULL AND r.id > $1 ORDER BY r.id LIMIT $2",
            )
            .bind(after.clone())
            .bind(CHUNK)
            .fetch_all(self.pool())
            .await?;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            after = last.try_get(0)?;
            let mut t = self.pool().begin().await?;
            for r in &rows {
                let id: String = r.try_get(0)?;
                let json: String = r.try_get(1)?;
                let Doc::Receivable(rcv) = decode_doc(DocKind::Receivable, &id, &json)? else {
                    continue;
                };
                sqlx::query("UPDATE receivables SET invoice = $1 WHERE id = $2")
                    .bind(rcv.invoice.to_string())
                    .bind(id)
                    .execute(&mut *t)
                    .await?;
            }
            t.commit().await?;
        }
    }

    async fn backfill_prices(&self) -> Result<(), StoreError> {
        let mut after = (-1_i64, 0_i64, 0_i64);
        loop {
            let rows = sqlx::query(
                "SELECT e.height, e.position, e.seq, e.event_json FROM events e \
                 WHERE e.kind = 'price_posted' AND (e.height > $1 OR (e.height = $1 AND \
                 (e.position > $2 OR (e.position = $2 AND e.seq > $3)))) AND NOT EXISTS \
                 (SELECT 1 FROM prices p WHERE p.height = e.height \
                 AND p.position = e.position AND p.seq = e.seq) \
                 ORDER BY e.height, e.position, e.seq LIMIT $4",
            )
            .bind(after.0)
            .bind(after.1)
            .bind(after.2)
            .bind(CHUNK)
            .fetch_all(self.pool())
            .await?;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            after = (last.try_get(0)?, last.try_get(1)?, last.try_get(2)?);
            let mut t = self.pool().begin().await?;
            for r in &rows {
                let json: String = r.try_get(3)?;
                let e: serde_json::Value =
                    serde_json::from_str(&json).map_err(|e| super::corrupt("event", e))?;
                let at = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
                put_price(&mut t, at, &e).await?;
            }
            t.commit().await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Context, DocRow, SettlementsOf};
    use crate::views::testdata;
    use crate::vis::Viewer;
    use lianrong_contracts::model::{Settlement, SettlementStatus};

    /// Rows written before migration 0004 (its columns empty) are found once reopened.
    #[tokio::test]
    async fn rows_written_before_0004_are_filled_at_open() {
        let store = Store::memory().await.unwrap();
        let rcv = testdata::receivable(
            "RCV-1",
            "SUP-1",
            "CORE-A",
            "2026-11-01",
            "2027-01-31",
            "5.00",
        );
        let stl = Settlement {
            id: "STL-1".parse().unwrap(),
            debtor: testdata::org("CORE-A"),
            payee: testdata::org("SUP-1"),
            receivable: "RCV-1".parse().unwrap(),
            root: "RCV-1".parse().unwrap(),
            amount: lianrong_contracts::money::Money::parse("1.00", "CNY").unwrap(),
            payment_ref: "PAY-1".into(),
            line: 1,
            lines: 1,
            instructed_on: "2027-01-31".parse().unwrap(),
            status: SettlementStatus::Pending,
            answered_on: None,
            dispute_reason: None,
        };
        let rows: Vec<DocRow> = [Doc::Receivable(rcv), Doc::Settlement(stl)]
            .iter()
            .map(|d| DocRow::of(d, &Context::default()).unwrap())
            .collect();
        store.put_docs(&rows, 1).await.unwrap();
        for q in [
            "UPDATE docs SET receivable = NULL",
            "UPDATE receivables SET invoice = NULL",
            "DELETE FROM settlements",
        ] {
            sqlx::query(q).execute(store.pool()).await.unwrap();
        }
        let all = Viewer::Everything { org: None };
        let on = SettlementsOf::Receivable("RCV-1".into());
        assert!(store
            .settlements_of(&on, &all, 10)
            .await
            .unwrap()
            .is_empty());
        store.backfill().await.unwrap();
        assert_eq!(store.settlements_of(&on, &all, 10).await.unwrap().len(), 1);
        let root = SettlementsOf::Root("RCV-1".into());
        assert_eq!(
            store.settlements_of(&root, &all, 10).await.unwrap().len(),
            1
        );
        let parts = store.invoice_receivables("INV-1", &all, 10).await.unwrap();
        assert_eq!(parts.len(), 1);
        store.backfill().await.unwrap();
    }
}
