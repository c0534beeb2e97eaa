//! The lists, CSVs and risk views as SQL over the store: filters, visibility and paging
//! run in the database, so no list is bounded by memory. Each query returns documents
//! (or transactions, blocks) in the list's order a chunk at a time, from a cursor; the
//! pages build their rows from a chunk exactly as from the in-memory index (same row
//! code, same `vis` filter applied again on every item), and a CSV walks every chunk.
//!
//! The risk views' totals (the maturity ladder's live receivables per maturity day and
//! currency, exposure's per debtor and bank holder) and the dashboard's counts are kept
//! as rows are written: `store::totals`.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use futures::TryStreamExt;
use lianrong_contracts::model::{Order, OrderStatus};
use lianrong_contracts::DocKind;
use lianrong_primitives::OrgId;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Row};

use super::{day_number, decode_doc, int, Store, StoreError};
use crate::index::{BlockRow, TxRecord};
use crate::node::Doc;
use crate::views::ListQuery;
use crate::vis::Viewer;

/// Items read per chunk (a page shows at most [`crate::views::MAX_ROWS`], a CSV walks
/// chunks of this size).
pub const CHUNK: usize = 1000;

/// One bound parameter.
#[derive(Debug, Clone)]
pub(super) enum Param {
    Text(String),
    Int(i64),
    /// Text or NULL (a NULL bound as text: PostgreSQL types every parameter).
    OptText(Option<String>),
    /// An integer or NULL.
    OptInt(Option<i64>),
}

/// A statement with `$n` parameters, built piece by piece.
#[derive(Debug, Default)]
pub(super) struct Sql {
    pub(super) text: String,
    params: Vec<Param>,
}

impl Sql {
    /// Binds `p`; its placeholder.
    pub(super) fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }
    pub(super) fn text(&mut self, s: impl Into<String>) -> String {
        self.bind(Param::Text(s.into()))
    }
    pub(super) fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for p in &self.params {
            q = match p {
                Param::Text(s) => q.bind(s.clone()),
                Param::Int(i) => q.bind(*i),
                Param::OptText(s) => q.bind(s.clone()),
                Param::OptInt(i) => q.bind(*i),
            };
        }
        q
    }
}

/// `q` as a LIKE pattern matching any text containing it (lower case, wildcards
/// escaped with `\`).
fn contains_pattern(q: &str) -> String {
    let mut p = String::from("%");
    for c in q.to_lowercase().chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

fn nonempty(v: &Option<String>) -> Option<String> {
    ListQuery::nonempty(v).map(str::to_string)
}

/// A date filter as the lists read it (`YYYY-MM-DD`; anything else is no filter).
fn date(v: &Option<String>) -> Option<NaiveDate> {
    ListQuery::nonempty(v).and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

/// Which filters of a [`ListQuery`] a document list honours (as its page does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The kind listed.
    pub kind: DocKind,
    /// `status` applies.
    pub status: bool,
    /// `org` (and `debtor`, `payee`) apply.
    pub org: bool,
    /// `from`/`to` apply to the document's list date.
    pub dated: bool,
    /// `q` applies to the document's search column (a view that matches `q` against
    /// text the column lacks, such as a proposal's change, filters it itself).
    pub text: bool,
    /// The list's order.
    pub order: DocOrder,
}

/// The order a document list is read in (and its keyset cursor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocOrder {
    /// By id, byte-wise.
    Id,
    /// Newest number first: by id length, then id, both descending, so `GOV-10`
    /// precedes `GOV-9` (ids of one prefix and a running number).
    NumberDesc,
}

impl Spec {
    /// Organisations (`q` only; everyone reads the list).
    pub const ORGS: Spec = Spec::new(DocKind::Org, false, false, false);
    /// Purchase orders.
    pub const ORDERS: Spec = Spec::new(DocKind::Order, true, true, false);
    /// Invoices (dated by issue date).
    pub const INVOICES: Spec = Spec::new(DocKind::Invoice, true, true, true);
    /// Receivables (dated by maturity).
    pub const RECEIVABLES: Spec = Spec::new(DocKind::Receivable, true, true, true);
    /// Financings.
    pub const FINANCINGS: Spec = Spec::new(DocKind::Financing, true, true, false);
    /// Settlements (dated by instruction date).
    pub const SETTLEMENTS: Spec = Spec::new(DocKind::Settlement, true, true, true);
    /// Warehouse receipts (`status` is the receipt's or its pledge's: see
    /// [`receipt_status`]).
    pub const WAREHOUSE_RECEIPTS: Spec = Spec::new(DocKind::WarehouseReceipt, true, true, false);
    /// Governance proposals, newest first, dated by the day opened (`status` is where a
    /// proposal stands today and `q` matches its change: the view judges both).
    pub const PROPOSALS: Spec = Spec {
        status: false,
        text: false,
        order: DocOrder::NumberDesc,
        ..Spec::new(DocKind::Proposal, false, true, true)
    };
    /// Financings for the disbursement view and the cost report (`org` only).
    pub const DISBURSED: Spec = Spec {
        text: false,
        ..Spec::new(DocKind::Financing, false, true, false)
    };

    const fn new(kind: DocKind, status: bool, org: bool, dated: bool) -> Spec {
        Spec {
            kind,
            status,
            org,
            dated,
            text: true,
            order: DocOrder::Id,
        }
    }
}

/// The warehouse events a receipt's pledge word (the list's `status` filter) may come
/// from: the pledge's last answer is judged from the receipt's history by the view, so
/// SQL keeps every receipt that has such an event (a superset; `vis` and the view's own
/// filter run again on every row).
fn receipt_status(sql: &mut Sql, status: &str) -> String {
    let event = match status {
        "offered" => "warehouse_receipt_pledge_offered",
        "pledged" => "warehouse_receipt_pledged",
        "declined" => "warehouse_receipt_pledge_declined",
        "withdrawn" => "warehouse_receipt_pledge_withdrawn",
        "released" => "warehouse_receipt_pledge_released",
        _ => return "1 = 0".into(),
    };
    let e = sql.text(event);
    format!(
        "EXISTS (SELECT 1 FROM tx_docs x JOIN events e ON e.height = x.height \
         AND e.position = x.position WHERE x.kind = d.kind AND x.id = d.id AND e.kind = {e})"
    )
}

/// `EXISTS` a party row of document `d` for `org`.
pub(super) fn party(sql: &mut Sql, org: String) -> String {
    let p = sql.text(org);
    format!(
        "EXISTS (SELECT 1 FROM doc_parties p WHERE p.kind = d.kind AND p.id = d.id AND p.org = {p})"
    )
}

/// The conditions on `docs d` of a list: kind, what `viewer` reads, the filters.
fn doc_conditions(sql: &mut Sql, spec: Spec, viewer: &Viewer, q: &ListQuery) -> Vec<String> {
    let kind = sql.text(spec.kind.as_str());
    let mut w = vec![format!("d.kind = {kind}")];
    if spec.kind != DocKind::Org {
        if let Viewer::Org(me) = viewer {
            w.push(party(sql, me.to_string()));
        }
    }
    if spec.org {
        for o in [&q.org, &q.debtor, &q.payee]
            .into_iter()
            .filter_map(nonempty)
        {
            w.push(party(sql, o));
        }
    }
    if spec.status {
        if let Some(s) = nonempty(&q.status) {
            let lower = s.to_ascii_lowercase();
            let pledge = (spec.kind == DocKind::WarehouseReceipt)
                .then(|| receipt_status(sql, &lower))
                .map(|c| format!(" OR {c}"))
                .unwrap_or_default();
            let s = sql.text(lower);
            w.push(format!("(d.status = {s} OR d.alt_status = {s}{pledge})"));
        }
    }
    if let Some(t) = nonempty(&q.q).filter(|_| spec.text) {
        let t = sql.text(contains_pattern(&t));
        w.push(format!("d.search LIKE {t} ESCAPE '\\'"));
    }
    if spec.dated {
        if let Some(from) = date(&q.from) {
            let f = sql.text(from.to_string());
            w.push(format!("d.day >= {f}"));
        }
        if let Some(to) = date(&q.to) {
            let t = sql.text(to.to_string());
            w.push(format!("d.day <= {t}"));
        }
    }
    w
}

/// The `FROM` of a document list, its conditions and the id column it orders and pages
/// by. With a party to match (the viewer's own org, else the `org` filter) and id order,
/// the list is read from that org's `doc_parties` rows -- keyed by org, kind and id, so
/// they are the org's documents of the kind in id order -- joined to the documents: a
/// page costs what the org's own documents cost. Read from `docs` in id order with
/// `EXISTS`, it walked every document of the kind until enough of the org's turned up
/// (all of them for an org with less than a page: the preload bench measured an SME's
/// list growing with the whole ledger). The `EXISTS` conditions stay (one key lookup a
/// row), so the rows are the same either way.
fn doc_source(
    sql: &mut Sql,
    spec: Spec,
    viewer: &Viewer,
    q: &ListQuery,
) -> (&'static str, Vec<String>, &'static str) {
    let driver = match viewer {
        Viewer::Org(me) if spec.kind != DocKind::Org => Some(me.to_string()),
        _ if spec.org => nonempty(&q.org),
        _ => None,
    }
    .filter(|_| spec.order == DocOrder::Id);
    let mut w = doc_conditions(sql, spec, viewer, q);
    let Some(org) = driver else {
        return ("docs d", w, "d.id");
    };
    let o = sql.text(org);
    let k = sql.text(spec.kind.as_str());
    w.push(format!("p.org = {o} AND p.kind = {k}"));
    let from = "doc_parties p JOIN docs d ON d.kind = p.kind AND d.id = p.id";
    (from, w, "p.id")
}

/// The conditions on `txs t` of the transactions list: what `viewer` reads, the `org`,
/// `status` and `q` filters.
fn tx_conditions(sql: &mut Sql, viewer: &Viewer, q: &ListQuery) -> Vec<String> {
    let mut w = vec!["1 = 1".to_string()];
    let tx_party = |sql: &mut Sql, org: String| {
        let o = sql.text(org);
        format!(
            "EXISTS (SELECT 1 FROM tx_parties p WHERE p.height = t.height \
             AND p.position = t.position AND p.org = {o})"
        )
    };
    if let Viewer::Org(me) = viewer {
        w.push(tx_party(sql, me.to_string()));
    }
    if let Some(o) = nonempty(&q.org) {
        w.push(tx_party(sql, o));
    }
    match nonempty(&q.status)
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        Some("executed") => w.push("t.ok = 1".into()),
        Some("refused") => w.push("t.ok = 0".into()),
        Some(_) => w.push("1 = 0".into()),
        None => {}
    }
    if let Some(t) = nonempty(&q.q) {
        let t = sql.text(contains_pattern(&t));
        w.push(format!("t.search LIKE {t} ESCAPE '\\'"));
    }
    w
}

/// Where a chunk starts: after an item (keyset, for walking a whole list) or after
/// skipping some (a page number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// From the first item.
    Start,
    /// After the item with this key (a document id, a block's or transaction's
    /// position as `height` / `height:position`, an overdue receivable's
    /// `maturity:id`): the list's index seeks to it, whatever its depth.
    After(String),
    /// After skipping this many items (SQL `OFFSET`: it costs every item skipped, so
    /// only a small page number, `server::lists::MAX_NUMBERED_PAGE`, skips).
    Skip(u64),
}

impl Cursor {
    /// How many items it skips.
    pub fn skipped(&self) -> u64 {
        match self {
            Cursor::Skip(n) => *n,
            _ => 0,
        }
    }
}

/// Makes `sql` the one shape every list query has: `head WHERE w ORDER BY order`, at
/// most `limit` rows after skipping `skip`.
fn paged(sql: &mut Sql, head: &str, w: &[String], order: &str, limit: usize, skip: u64) {
    let lim = sql.bind(Param::Int(int(limit as u64)));
    let off = sql.bind(Param::Int(int(skip)));
    sql.text = format!(
        "{head} WHERE {} ORDER BY {order} LIMIT {lim} OFFSET {off}",
        w.join(" AND ")
    );
}

impl Store {
    /// Up to `limit` documents of a list, in id order, from `from`: the `spec` filters of
    /// `q` and what `viewer` reads, in SQL (the page applies `vis` and its filters again).
    pub async fn docs(
        &self,
        spec: Spec,
        viewer: &Viewer,
        q: &ListQuery,
        from: &Cursor,
        limit: usize,
    ) -> Result<Vec<Doc>, StoreError> {
        let mut sql = Sql::default();
        let (source, mut w, id_col) = doc_source(&mut sql, spec, viewer, q);
        let order = match spec.order {
            DocOrder::Id => {
                if let Cursor::After(id) = from {
                    let id = sql.text(id.clone());
                    w.push(format!("{id_col} > {id}"));
                }
                id_col
            }
            DocOrder::NumberDesc => {
                if let Cursor::After(id) = from {
                    let len = sql.bind(Param::Int(int(id.chars().count() as u64)));
                    let id = sql.text(id.clone());
                    w.push(format!(
                        "(LENGTH(d.id) < {len} OR (LENGTH(d.id) = {len} AND d.id < {id}))"
                    ));
                }
                "LENGTH(d.id) DESC, d.id DESC"
            }
        };
        let head = format!("SELECT d.id, d.doc_json FROM {source}");
        paged(&mut sql, &head, &w, order, limit, from.skipped());
        let rows = sql.query().fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                decode_doc(spec.kind, &id, &r.try_get::<String, _>(1)?)
            })
            .collect()
    }

    /// Up to `limit` transactions `viewer` reads that `q` selects, newest first, from
    /// `from` (`After("height:position")`). With a party to match (the viewer's org, else
    /// the `org` filter) they are read from that org's `tx_parties` rows (keyed by org,
    /// height, position: its transactions newest first from the end of its key range)
    /// joined to the transactions, for the reason [`doc_source`] gives.
    pub async fn txs(
        &self,
        viewer: &Viewer,
        q: &ListQuery,
        from: &Cursor,
        limit: usize,
    ) -> Result<Vec<TxRecord>, StoreError> {
        let mut sql = Sql::default();
        let mut w = tx_conditions(&mut sql, viewer, q);
        let driver = match viewer {
            Viewer::Org(me) => Some(me.to_string()),
            Viewer::Everything { .. } => nonempty(&q.org),
        };
        let (head, at) = match driver {
            Some(org) => {
                let o = sql.text(org);
                w.push(format!("dp.org = {o}"));
                let from = "SELECT t.record_json FROM tx_parties dp JOIN txs t \
                            ON t.height = dp.height AND t.position = dp.position";
                (from, "dp")
            }
            None => ("SELECT t.record_json FROM txs t", "t"),
        };
        if let Cursor::After(key) = from {
            let (h, p) = key.split_once(':').unwrap_or((key, "0"));
            let h = sql.bind(Param::Int(h.parse().unwrap_or(0)));
            let p = sql.bind(Param::Int(p.parse().unwrap_or(0)));
            // The first term lets the index seek to the cursor; the rest is exact.
            w.push(format!(
                "{at}.height <= {h} AND ({at}.height < {h} OR ({at}.height = {h} AND {at}.position < {p}))"
            ));
        }
        let order = format!("{at}.height DESC, {at}.position DESC");
        paged(&mut sql, head, &w, &order, limit, from.skipped());
        let rows = sql.query().fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                let json: String = r.try_get(0)?;
                serde_json::from_str(&json).map_err(|e| super::corrupt("tx", e))
            })
            .collect()
    }

    /// Up to `limit` blocks `q` selects (hash or height containing `q`), newest first,
    /// from `from` (`After("height")`).
    pub async fn blocks(
        &self,
        q: &ListQuery,
        from: &Cursor,
        limit: usize,
    ) -> Result<Vec<BlockRow>, StoreError> {
        let mut sql = Sql::default();
        let mut w = vec!["1 = 1".to_string()];
        if let Some(t) = nonempty(&q.q) {
            let t = sql.text(contains_pattern(&t));
            w.push(format!(
                "(LOWER(b.hash) LIKE {t} ESCAPE '\\' OR CAST(b.height AS TEXT) LIKE {t} ESCAPE '\\')"
            ));
        }
        if let Cursor::After(h) = from {
            let h = sql.bind(Param::Int(h.parse().unwrap_or(0)));
            w.push(format!("b.height < {h}"));
        }
        let head = "SELECT b.row_json, b.tx_count FROM blocks b";
        paged(&mut sql, head, &w, "b.height DESC", limit, from.skipped());
        let rows = sql.query().fetch_all(self.pool()).await?;
        rows.iter().map(super::block_row).collect()
    }

    /// The orgs `me` trades with: the other side of every order it is buyer or seller of
    /// that the seller accepted (as `IndexData::counterparties`, over every stored order).
    pub async fn counterparties(&self, me: &OrgId) -> Result<BTreeSet<OrgId>, StoreError> {
        let mut sql = Sql::default();
        let viewer = Viewer::Org(me.clone());
        let mut w = doc_conditions(&mut sql, Spec::ORDERS, &viewer, &ListQuery::default());
        w.push("d.status IN ('accepted', 'fulfilled')".into());
        sql.text = format!(
            "SELECT d.id, d.doc_json FROM docs d WHERE {}",
            w.join(" AND ")
        );
        let mut rows = sql.query().fetch(self.pool());
        let mut out = BTreeSet::new();
        while let Some(r) = rows.try_next().await? {
            let id: String = r.try_get(0)?;
            let Doc::Order(o) = decode_doc(DocKind::Order, &id, &r.try_get::<String, _>(1)?)?
            else {
                continue;
            };
            out.extend(other_side(&o, me));
        }
        Ok(out)
    }
}

impl Store {
    /// The stored documents of `kind` among `ids` (any order; those not stored left out).
    pub async fn docs_by_id(&self, kind: DocKind, ids: &[String]) -> Result<Vec<Doc>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for part in ids.chunks(CHUNK) {
            let mut sql = Sql::default();
            let k = sql.text(kind.as_str());
            let set = in_list(&mut sql, part);
            sql.text = format!("SELECT id, doc_json FROM docs WHERE kind = {k} AND id IN ({set})");
            for r in sql.query().fetch_all(self.pool()).await? {
                let id: String = r.try_get(0)?;
                out.push(decode_doc(kind, &id, &r.try_get::<String, _>(1)?)?);
            }
        }
        Ok(out)
    }

    /// The newest `per_doc` transactions that touched each document of `kind` among
    /// `ids`, as (document id, transaction), oldest first.
    pub async fn doc_txs(
        &self,
        kind: DocKind,
        ids: &[String],
        per_doc: usize,
    ) -> Result<Vec<(String, TxRecord)>, StoreError> {
        let mut out = Vec::new();
        for part in ids.chunks(CHUNK) {
            let mut sql = Sql::default();
            let k = sql.text(kind.as_str());
            let set = in_list(&mut sql, part);
            let n = sql.bind(Param::Int(int(per_doc as u64)));
            sql.text = format!(
                "SELECT x.id, t.record_json FROM ({}) x JOIN txs t ON t.height = x.height \
                 AND t.position = x.position WHERE x.n <= {n} ORDER BY x.height, x.position",
                newest_doc_txs(&format!("kind = {k} AND id IN ({set})"))
            );
            for r in sql.query().fetch_all(self.pool()).await? {
                let json: String = r.try_get(1)?;
                let tx = serde_json::from_str(&json).map_err(|e| super::corrupt("tx", e))?;
                out.push((r.try_get(0)?, tx));
            }
        }
        Ok(out)
    }
}

/// Financings the overdue-and-default view reads: of `kind = 'financing'` only.
const AT_RISK: Spec = Spec {
    status: false,
    org: false,
    text: false,
    ..Spec::FINANCINGS
};

impl Store {
    /// Up to `limit` financings `viewer` reads that went overdue or were written off (the
    /// `overdue_state` column; rows not judged yet are read too), in id order, after
    /// `from` (`After(id)`); `status` (`overdue`, `written off`) narrows them. The view
    /// judges each again from its document (`overdue::Ageing`).
    pub async fn financings_at_risk(
        &self,
        viewer: &Viewer,
        status: Option<&str>,
        from: &Cursor,
        limit: usize,
    ) -> Result<Vec<Doc>, StoreError> {
        let mut sql = Sql::default();
        let mut w = doc_conditions(&mut sql, AT_RISK, viewer, &ListQuery::default());
        match status.map(str::to_ascii_lowercase) {
            Some(s) if s == "overdue" || s == "written off" => {
                let s = sql.text(s);
                w.push(format!("d.overdue_state IN ({s}, 'unknown')"));
            }
            _ => w.push("d.overdue_state IS NOT NULL".into()),
        }
        if let Cursor::After(id) = from {
            let id = sql.text(id.clone());
            w.push(format!("d.id > {id}"));
        }
        let head = "SELECT d.id, d.doc_json FROM docs d";
        paged(&mut sql, head, &w, "d.id", limit, from.skipped());
        let rows = sql.query().fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                decode_doc(DocKind::Financing, &id, &r.try_get::<String, _>(1)?)
            })
            .collect()
    }

    /// Up to `limit` transactions that touched document `id` of `kind` and `viewer`
    /// reads (a party, as the transactions list reads them), newest first, after `skip`;
    /// the page applies `vis` again.
    pub async fn doc_history(
        &self,
        kind: DocKind,
        id: &str,
        viewer: &Viewer,
        skip: u64,
        limit: usize,
    ) -> Result<Vec<TxRecord>, StoreError> {
        let mut sql = Sql::default();
        let k = sql.text(kind.as_str());
        let i = sql.text(id.to_string());
        let mut w = vec![format!("x.kind = {k}"), format!("x.id = {i}")];
        if let Viewer::Org(me) = viewer {
            let o = sql.text(me.to_string());
            w.push(format!(
                "EXISTS (SELECT 1 FROM tx_parties p WHERE p.height = t.height \
                 AND p.position = t.position AND p.org = {o})"
            ));
        }
        let head = "SELECT t.record_json FROM tx_docs x JOIN txs t ON t.height = x.height \
                    AND t.position = x.position";
        let order = "x.height DESC, x.position DESC";
        paged(&mut sql, head, &w, order, limit, skip);
        let rows = sql.query().fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                let json: String = r.try_get(0)?;
                serde_json::from_str(&json).map_err(|e| super::corrupt("tx", e))
            })
            .collect()
    }
}

/// `tx_docs` rows matching `condition`, each numbered `n` from its document's newest
/// transaction (1) back: a window both databases run, so a per-document bound is SQL.
pub(crate) fn newest_doc_txs(condition: &str) -> String {
    format!(
        "SELECT kind, id, height, position, tx, ROW_NUMBER() OVER (PARTITION BY kind, id \
         ORDER BY height DESC, position DESC) AS n FROM tx_docs WHERE {condition}"
    )
}

/// `ids` bound one placeholder each, comma-separated (for `IN (...)`).
pub(super) fn in_list(sql: &mut Sql, ids: &[String]) -> String {
    ids.iter()
        .map(|id| sql.text(id.clone()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Most documents a search looks at (ids are unique per kind, invoice numbers per
/// seller, so a real search finds a handful).
pub const MAX_SEARCH_DOCS: usize = 100;

/// What a search for `q` may name: blocks of that height or hash, the transaction of
/// that hash, documents of that id and invoices of that number.
pub struct Found {
    /// Blocks.
    pub blocks: Vec<BlockRow>,
    /// Transactions.
    pub txs: Vec<TxRecord>,
    /// Documents.
    pub docs: Vec<Doc>,
}

impl Store {
    /// Everything a search for `q` may name (see [`Found`]); the page decides what the
    /// viewer may see.
    pub async fn lookup(&self, q: &str) -> Result<Found, StoreError> {
        let lower = q.to_lowercase();
        let height = q.parse::<u64>().map_or(-1, int);
        let blocks =
            sqlx::query("SELECT row_json, tx_count FROM blocks WHERE height = $1 OR hash = $2")
                .bind(height)
                .bind(lower.clone())
                .fetch_all(self.pool())
                .await?;
        let txs = sqlx::query("SELECT record_json FROM txs WHERE hash = $1")
            .bind(lower)
            .fetch_all(self.pool())
            .await?;
        let docs = sqlx::query(
            "SELECT kind, id, doc_json FROM docs WHERE id = $1 OR (kind = 'invoice' AND ref = $1) \
             ORDER BY kind, id LIMIT $2",
        )
        .bind(q.to_string())
        .bind(int(MAX_SEARCH_DOCS as u64))
        .fetch_all(self.pool())
        .await?;
        let json = |r: &sqlx::any::AnyRow| r.try_get::<String, _>(0);
        Ok(Found {
            blocks: blocks
                .iter()
                .map(super::block_row)
                .collect::<Result<_, _>>()?,
            txs: txs
                .iter()
                .map(|r| serde_json::from_str(&json(r)?).map_err(|e| super::corrupt("tx", e)))
                .collect::<Result<_, _>>()?,
            docs: docs
                .iter()
                .filter_map(|r| {
                    let kind = r.try_get::<String, _>(0).ok()?;
                    let kind = super::kind_named(&kind)?;
                    Some((kind, r))
                })
                .map(|(kind, r)| {
                    let id: String = r.try_get(1)?;
                    decode_doc(kind, &id, &r.try_get::<String, _>(2)?)
                })
                .collect::<Result<_, _>>()?,
        })
    }
}

fn other_side(o: &Order, me: &OrgId) -> Option<OrgId> {
    if !matches!(o.status, OrderStatus::Accepted | OrderStatus::Fulfilled) {
        return None;
    }
    if &o.buyer == me {
        Some(o.seller.clone())
    } else if &o.seller == me {
        Some(o.buyer.clone())
    } else {
        None
    }
}

/// One group of live receivables: a maturity day (or a debtor, a bank) and currency, how
/// many, and their outstanding total in minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The maturity (`YYYY-MM-DD`) or org the group is of.
    pub key: String,
    /// Currency code.
    pub currency: String,
    /// Its minor units.
    pub minor_units: u32,
    /// Receivables in the group.
    pub count: u64,
    /// Their outstanding total, minor units (receivables repaid beyond face left out).
    pub outstanding: i64,
}

/// `org` is party to receivable `at` (a `receivables` row, or a `receivable_scopes`
/// one): its holder or its debtor, as the risk views read them (and as
/// `receivable_scopes` scopes them).
pub(super) fn receivable_party(sql: &mut Sql, at: &str, org: String) -> String {
    let o = sql.text(org);
    format!("({at}.holder = {o} OR {at}.debtor = {o})")
}

/// The conditions on `receivables r` of the overdue list: live, read by `viewer`, `org`.
fn live_conditions(sql: &mut Sql, viewer: &Viewer, q: &ListQuery) -> Vec<String> {
    let mut w = vec!["r.live = 1".to_string()];
    if let Viewer::Org(me) = viewer {
        w.push(receivable_party(sql, "r", me.to_string()));
    }
    if let Some(o) = nonempty(&q.org) {
        w.push(receivable_party(sql, "r", o));
    }
    w
}

/// Which total [`Store::live_totals`] groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Maturity day (the ladder; `from`/`to` filter the maturity).
    Maturity,
    /// Debtor (core enterprise exposure).
    Debtor,
    /// Holder, holders with the bank role only, of receivables carrying a live financing
    /// (bank exposure, [`crate::views::bank_exposure`]).
    BankHolder,
}

impl Store {
    /// Up to `limit` live receivables `viewer` reads that are overdue by the ledger's
    /// mark or past maturity on `today`, by maturity then id, from `from`
    /// (`After("maturity:id")`, [`overdue_key`]).
    pub async fn overdue(
        &self,
        viewer: &Viewer,
        q: &ListQuery,
        today: NaiveDate,
        from: &Cursor,
        limit: usize,
    ) -> Result<Vec<Doc>, StoreError> {
        let mut sql = Sql::default();
        let mut w = live_conditions(&mut sql, viewer, q);
        let today = sql.bind(Param::Int(day_number(today)));
        w.push(format!(
            "(r.status = 'overdue' OR r.maturity_day < {today})"
        ));
        if let Cursor::After(key) = from {
            let (maturity, id) = key.split_once(':').unwrap_or((key, ""));
            let m = sql.text(maturity);
            let i = sql.text(id);
            // The first term lets the index seek to the cursor; the rest is exact.
            w.push(format!(
                "r.maturity >= {m} AND (r.maturity > {m} OR (r.maturity = {m} AND r.id > {i}))"
            ));
        }
        let head = "SELECT d.id, d.doc_json FROM receivables r \
                    JOIN docs d ON d.kind = 'receivable' AND d.id = r.id";
        paged(
            &mut sql,
            head,
            &w,
            "r.maturity, r.id",
            limit,
            from.skipped(),
        );
        self.receivable_docs(&sql).await
    }

    /// Up to `limit` receivables `viewer` reads whose tenor, from their root's issue date
    /// (their own if the root is not stored), exceeds `flag_days`; each with its root's
    /// issue date when stored; in id order, from `from` (`After(id)`).
    pub async fn long_tenor(
        &self,
        viewer: &Viewer,
        q: &ListQuery,
        flag_days: i64,
        from: &Cursor,
        limit: usize,
    ) -> Result<Vec<(Doc, Option<NaiveDate>)>, StoreError> {
        let mut sql = Sql::default();
        let mut w = doc_conditions(&mut sql, Spec::RECEIVABLES, viewer, &tenor_query(q));
        let flag = sql.bind(Param::Int(flag_days));
        w.push(format!(
            "(r.maturity_day - COALESCE(root.issue_day, r.issue_day)) > {flag}"
        ));
        if let Cursor::After(id) = from {
            let id = sql.text(id.clone());
            w.push(format!("d.id > {id}"));
        }
        let head = "SELECT d.id, d.doc_json, root.issue_day FROM docs d \
                    JOIN receivables r ON r.id = d.id \
                    LEFT JOIN receivables root ON root.id = r.root";
        paged(&mut sql, head, &w, "d.id", limit, from.skipped());
        let rows = sql.query().fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                let doc = decode_doc(DocKind::Receivable, &id, &r.try_get::<String, _>(1)?)?;
                let root_issue = r
                    .try_get::<Option<i64>, _>(2)?
                    .map(|n| NaiveDate::default() + chrono::Duration::days(n));
                Ok((doc, root_issue))
            })
            .collect()
    }

    async fn receivable_docs(&self, sql: &Sql) -> Result<Vec<Doc>, StoreError> {
        let rows = sql.query().fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                decode_doc(DocKind::Receivable, &id, &r.try_get::<String, _>(1)?)
            })
            .collect()
    }
}

/// The keyset cursor of the overdue list after receivable `id` maturing on `maturity`
/// (`YYYY-MM-DD:id`: a date holds no `:`).
pub fn overdue_key(maturity: NaiveDate, id: &str) -> String {
    format!("{maturity}:{id}")
}

/// The tenor view filters by `org` and `status` only (not by `q` or dates).
fn tenor_query(q: &ListQuery) -> ListQuery {
    ListQuery {
        org: q.org.clone(),
        status: q.status.clone(),
        ..Default::default()
    }
}

/// Minor units as the pages write an amount (`12345`, 2 -> `123.45`).
pub fn fixed(minor: i64, minor_units: u32) -> String {
    let digits = minor.unsigned_abs().to_string();
    let mu = minor_units as usize;
    let padded = format!("{digits:0>width$}", width = mu + 1);
    let (int, frac) = padded.split_at(padded.len() - mu);
    let sign = if minor < 0 { "-" } else { "" };
    if mu == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_print_like_amounts() {
        assert_eq!(fixed(12_345, 2), "123.45");
        assert_eq!(fixed(5, 2), "0.05");
        assert_eq!(fixed(7, 0), "7");
        assert_eq!(contains_pattern("A_b%"), "%a\\_b\\%%");
    }

    /// The finding of the preload bench: an org's list (its own account, or the `org`
    /// filter) read every document of the kind. SQLite's plan now starts from the org's
    /// `doc_parties` key range (the dashboard's count is kept: `store::totals`).
    #[tokio::test]
    async fn an_orgs_list_starts_from_its_own_party_rows() {
        let store = Store::open(crate::store::MEMORY).await.unwrap();
        let sup1 = || OrgId::new("SUP-1").unwrap();
        let filtered = ListQuery {
            org: Some("SUP-1".into()),
            status: Some("active".into()),
            ..Default::default()
        };
        let cases = [
            (Viewer::Org(sup1()), ListQuery::default()),
            (Viewer::Everything { org: None }, filtered),
        ];
        for (viewer, q) in cases {
            let mut sql = Sql::default();
            let (source, w, id) = doc_source(&mut sql, Spec::RECEIVABLES, &viewer, &q);
            paged(
                &mut sql,
                &format!("SELECT d.id FROM {source}"),
                &w,
                id,
                10,
                0,
            );
            sql.text = format!("EXPLAIN QUERY PLAN {}", sql.text);
            let rows = sql.query().fetch_all(store.pool()).await.unwrap();
            let plan: Vec<String> = rows.iter().map(|r| r.try_get(3).unwrap()).collect();
            assert!(
                plan[0].contains("doc_parties") && plan[0].contains("org=? AND kind=?"),
                "{plan:?}"
            );
        }
    }

    /// The overdue and tenor lists walked by key, a few rows at a time (their pages'
    /// "Next page" and their CSVs), give every row once, in the order of one read.
    #[tokio::test]
    async fn the_overdue_and_tenor_lists_walk_by_key() {
        use crate::store::{Context, DocRow};
        use crate::views::testdata;
        let store = Store::open(crate::store::MEMORY).await.unwrap();
        let rows: Vec<DocRow> = (0..23)
            .map(|i| {
                // Maturities shared by several receivables, out of id order.
                let maturity = format!("2026-0{}-1{}", 1 + (i * 7) % 9, i % 3);
                let r = testdata::receivable(
                    &format!("RCV-{i:02}"),
                    "SUP-1",
                    "CORE-A",
                    "2025-01-01",
                    &maturity,
                    "1.00",
                );
                DocRow::of(&Doc::Receivable(r), &Context::default()).unwrap()
            })
            .collect();
        store.put_docs(&rows, 1).await.unwrap();
        let audit = Viewer::Everything { org: None };
        let q = ListQuery::default();
        let today: NaiveDate = "2027-01-01".parse().unwrap();
        let ids = |docs: Vec<Doc>| docs.iter().map(|d| d.id().to_string()).collect::<Vec<_>>();
        let whole = ids(store
            .overdue(&audit, &q, today, &Cursor::Start, 100)
            .await
            .unwrap());
        assert_eq!(whole.len(), 23);
        let mut walked = vec![];
        let mut from = Cursor::Start;
        loop {
            let part = store.overdue(&audit, &q, today, &from, 4).await.unwrap();
            let Some(Doc::Receivable(last)) = part.last() else {
                break;
            };
            from = Cursor::After(overdue_key(last.maturity, last.id.as_str()));
            walked.extend(ids(part));
        }
        assert_eq!(walked, whole);
        let tenor = |from: Cursor, n| {
            let store = store.clone();
            let (audit, q) = (audit.clone(), q.clone());
            async move {
                let got = store.long_tenor(&audit, &q, 30, &from, n).await.unwrap();
                got.into_iter()
                    .map(|(d, _)| d.id().to_string())
                    .collect::<Vec<_>>()
            }
        };
        let whole = tenor(Cursor::Start, 100).await;
        assert_eq!(whole.len(), 23);
        let mut walked: Vec<String> = vec![];
        loop {
            let from = walked
                .last()
                .map_or(Cursor::Start, |id| Cursor::After(id.clone()));
            let part = tenor(from, 5).await;
            if part.is_empty() {
                break;
            }
            walked.extend(part);
        }
        assert_eq!(walked, whole);
    }
}
