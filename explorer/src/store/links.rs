//! What document pages look documents up by besides their id (migration 0004): a
//! receivable's and a lineage's settlements and the lines of one instruction, an
//! invoice's receivables and their financings, the transactions behind a lineage, and a
//! loan's events with its bank's prices. Every list is bounded by the caller's `limit`
//! (a page asks for one more than it shows, to say when it cut) and read under the
//! viewer's visibility in SQL; the page applies `vis` again.

use sqlx::Row;

use super::sql::{in_list, party, Param, Sql, CHUNK};
use super::{decode_doc, int, Store, StoreError};
use crate::index::TxRecord;
use crate::node::Doc;
use crate::vis::Viewer;
use lianrong_contracts::DocKind;

/// Which settlements a settlement table lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettlementsOf {
    /// Those of one receivable.
    Receivable(String),
    /// Those of every receivable of a lineage (its root).
    Root(String),
    /// The lines of one instruction: its debtor, payment reference and root.
    Instruction {
        /// The debtor.
        debtor: String,
        /// The payment reference.
        payment_ref: String,
        /// The lineage's root.
        root: String,
    },
}

/// A stored event at its place: (height, position in block, block time, sequence in the
/// transaction) and its JSON.
pub type StoredEvent = ((u64, u64, u64, u64), serde_json::Value);

/// A place in the chain: (height, position, event sequence).
pub type EventAt = (u64, u64, u64);

/// What a price series is of: a bank's price of some goods per unit in a currency.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PriceKey {
    /// The bank posting.
    pub bank: String,
    /// The goods.
    pub goods: String,
    /// The unit.
    pub unit: String,
    /// The currency code.
    pub currency: String,
}

/// The loan events an LTV chart walks (besides prices).
const LOAN_EVENTS: [&str; 8] = [
    "loan_requested",
    "loan_disbursed",
    "loan_repayment_acknowledged",
    "loan_topped_up",
    "goods_released",
    "loan_repaid",
    "loan_enforced",
    "loan_cancelled",
];

/// `docs d` readable by `viewer`, if an org account.
fn visible(sql: &mut Sql, viewer: &Viewer, w: &mut Vec<String>) {
    if let Viewer::Org(me) = viewer {
        w.push(party(sql, me.to_string()));
    }
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Store {
    async fn fetch_docs(&self, sql: &Sql, kind: DocKind) -> Result<Vec<Doc>, StoreError> {
        let rows = sql.query().fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                decode_doc(kind, &id, &r.try_get::<String, _>(1)?)
            })
            .collect()
    }

    /// Up to `limit` settlements `which` names that `viewer` reads, in instruction order
    /// (instruction date, payment reference, line, id).
    pub async fn settlements_of(
        &self,
        which: &SettlementsOf,
        viewer: &Viewer,
        limit: usize,
    ) -> Result<Vec<Doc>, StoreError> {
        let mut sql = Sql::default();
        let mut w = vec!["d.kind = 'settlement'".to_string()];
        match which {
            SettlementsOf::Receivable(r) => w.push(format!("d.receivable = {}", sql.text(r))),
            SettlementsOf::Root(r) => w.push(format!("s.root = {}", sql.text(r))),
            SettlementsOf::Instruction {
                debtor,
                payment_ref,
                root,
            } => {
                w.push(format!("s.debtor = {}", sql.text(debtor)));
                w.push(format!("s.payment_ref = {}", sql.text(payment_ref)));
                w.push(format!("s.root = {}", sql.text(root)));
            }
        }
        visible(&mut sql, viewer, &mut w);
        let lim = sql.bind(Param::Int(int(limit as u64)));
        sql.text = format!(
            "SELECT d.id, d.doc_json FROM docs d JOIN settlements s ON s.id = d.id WHERE {} \
             ORDER BY s.instructed_day, s.payment_ref, s.line, d.id LIMIT {lim}",
            w.join(" AND ")
        );
        self.fetch_docs(&sql, DocKind::Settlement).await
    }

    /// Up to `limit` receivables born of invoice `invoice` that `viewer` reads, by id.
    pub async fn invoice_receivables(
        &self,
        invoice: &str,
        viewer: &Viewer,
        limit: usize,
    ) -> Result<Vec<Doc>, StoreError> {
        let mut sql = Sql::default();
        let mut w = vec![format!("r.invoice = {}", sql.text(invoice))];
        visible(&mut sql, viewer, &mut w);
        let lim = sql.bind(Param::Int(int(limit as u64)));
        sql.text = format!(
            "SELECT d.id, d.doc_json FROM receivables r JOIN docs d ON d.kind = 'receivable' \
             AND d.id = r.id WHERE {} ORDER BY r.id LIMIT {lim}",
            w.join(" AND ")
        );
        self.fetch_docs(&sql, DocKind::Receivable).await
    }

    /// Up to `limit` financings `viewer` reads on receivables of invoice `invoice` that
    /// `viewer` reads too, by id.
    pub async fn invoice_financings(
        &self,
        invoice: &str,
        viewer: &Viewer,
        limit: usize,
    ) -> Result<Vec<Doc>, StoreError> {
        let mut sql = Sql::default();
        let inv = sql.text(invoice);
        let mut parts = format!("SELECT r.id FROM receivables r WHERE r.invoice = {inv}");
        if let Viewer::Org(me) = viewer {
            let o = sql.text(me.to_string());
            parts.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM doc_parties q WHERE q.kind = 'receivable' \
                 AND q.id = r.id AND q.org = {o})"
            ));
        }
        let mut w = vec![
            "d.kind = 'financing'".to_string(),
            format!("d.receivable IN ({parts})"),
        ];
        visible(&mut sql, viewer, &mut w);
        let lim = sql.bind(Param::Int(int(limit as u64)));
        sql.text = format!(
            "SELECT d.id, d.doc_json FROM docs d WHERE {} ORDER BY d.id LIMIT {lim}",
            w.join(" AND ")
        );
        self.fetch_docs(&sql, DocKind::Financing).await
    }

    /// The stored transactions among `hashes` (any order; those not stored left out).
    pub async fn txs_by_hash(&self, hashes: &[String]) -> Result<Vec<TxRecord>, StoreError> {
        let mut out = Vec::with_capacity(hashes.len());
        for part in hashes.chunks(CHUNK) {
            let mut sql = Sql::default();
            let set = in_list(&mut sql, part);
            sql.text = format!("SELECT record_json FROM txs WHERE hash IN ({set})");
            for r in sql.query().fetch_all(self.pool()).await? {
                let json: String = r.try_get(0)?;
                out.push(serde_json::from_str(&json).map_err(|e| super::corrupt("tx", e))?);
            }
        }
        Ok(out)
    }

    async fn fetch_events(&self, sql: &Sql) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sql.query().fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                let at = (
                    u(r.try_get(0)?),
                    u(r.try_get(1)?),
                    u(r.try_get(2)?),
                    u(r.try_get(3)?),
                );
                let json: String = r.try_get(4)?;
                let e = serde_json::from_str(&json).map_err(|e| super::corrupt("event", e))?;
                Ok((at, e))
            })
            .collect()
    }

    /// Up to `limit` of loan `loan`'s events an LTV chart walks (requested, disbursed,
    /// repayment acknowledged, topped up, goods released, repaid, enforced, cancelled),
    /// of executed transactions, in ledger order.
    pub async fn loan_events(
        &self,
        loan: &str,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut sql = Sql::default();
        let id = sql.text(loan);
        let names = LOAN_EVENTS
            .iter()
            .map(|n| sql.text(*n))
            .collect::<Vec<_>>()
            .join(", ");
        let lim = sql.bind(Param::Int(int(limit as u64)));
        sql.text = format!(
            "SELECT e.height, e.position, t.time_ms, e.seq, e.event_json FROM tx_docs x \
             JOIN events e ON e.height = x.height AND e.position = x.position \
             JOIN txs t ON t.height = x.height AND t.position = x.position \
             WHERE x.kind = 'loan' AND x.id = {id} AND e.kind IN ({names}) AND t.ok = 1 \
             ORDER BY e.height, e.position, e.seq LIMIT {lim}"
        );
        self.fetch_events(&sql).await
    }

    /// `key`'s price events: the last one before `from` (the price standing then), and
    /// up to `limit` from `from` on up to `to` (inclusive, if given), in ledger order.
    pub async fn prices(
        &self,
        key: &PriceKey,
        from: EventAt,
        to: Option<EventAt>,
        limit: usize,
    ) -> Result<(Vec<StoredEvent>, Vec<StoredEvent>), StoreError> {
        let before = self.price_query(key, (from, true), None, 1).await?;
        let after = self.price_query(key, (from, false), to, limit).await?;
        Ok((before, after))
    }

    /// Prices of `key` before `at` (newest first) if `at.1`, else from `at` on to `to`.
    async fn price_query(
        &self,
        key: &PriceKey,
        at: (EventAt, bool),
        to: Option<EventAt>,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut sql = Sql::default();
        let mut w = vec![
            format!("p.bank = {}", sql.text(&key.bank)),
            format!("p.goods = {}", sql.text(&key.goods)),
            format!("p.unit = {}", sql.text(&key.unit)),
            format!("p.currency = {}", sql.text(&key.currency)),
        ];
        let ((h, p, s), before) = at;
        w.push(place(&mut sql, (h, p, s), if before { "<" } else { ">=" }));
        if let Some(to) = to {
            w.push(place(&mut sql, to, "<="));
        }
        let dir = if before { "DESC" } else { "ASC" };
        let lim = sql.bind(Param::Int(int(limit as u64)));
        sql.text = format!(
            "SELECT p.height, p.position, t.time_ms, p.seq, e.event_json FROM prices p \
             JOIN events e ON e.height = p.height AND e.position = p.position AND e.seq = p.seq \
             JOIN txs t ON t.height = p.height AND t.position = p.position WHERE {} \
             ORDER BY p.height {dir}, p.position {dir}, p.seq {dir} LIMIT {lim}",
            w.join(" AND ")
        );
        self.fetch_events(&sql).await
    }
}

/// `(p.height, p.position, p.seq) op (h, p, s)`, spelled out (both databases compare
/// row values, but this is the shape every query here has).
fn place(sql: &mut Sql, (h, p, s): EventAt, op: &str) -> String {
    let (h, p, s) = (
        sql.bind(Param::Int(int(h))),
        sql.bind(Param::Int(int(p))),
        sql.bind(Param::Int(int(s))),
    );
    let strict = op.trim_end_matches('=');
    format!(
        "(p.height {strict} {h} OR (p.height = {h} AND (p.position {strict} {p} \
         OR (p.position = {p} AND p.seq {op} {s}))))"
    )
}
