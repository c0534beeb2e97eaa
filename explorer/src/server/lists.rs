//! The lists, CSV exports and risk views read from the store (SQL): a page shows at most
//! [`MAX_ROWS`] rows from a key (`?after=`, the link to the next page) or a small page
//! number (`?page=N`, [`MAX_NUMBERED_PAGE`]), a CSV export walks the whole list chunk
//! by chunk by key and streams it, so neither is bounded by memory. Each
//! chunk's rows are built by the same row code as from the in-memory index, and pass
//! `vis` again.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use lianrong_contracts::model::Receivable;
use lianrong_primitives::OrgId;

use super::{list_response, AppState};
use crate::auth::Session;
use crate::index::{BlockRow, IndexData, TxRecord, MAX_TXS_PER_DOC};
use crate::node::Doc;
use crate::pricing::{self, CostTotals, Reference};
use crate::store::sql::{overdue_key, Cursor, GroupBy, Spec, CHUNK};
use crate::store::StoreError;
use crate::views::{self, csv_safe, ListQuery, PageAt, Table, MAX_ROWS};
use crate::vis::{self, Viewer};
use crate::{governance, warehouse};
use lianrong_contracts::DocKind;

/// A list view over documents of the in-memory index's shape.
pub(super) type DocView = fn(&IndexData, &Viewer, &ListQuery) -> Table;

/// What a list reads from the store and how its rows are made.
#[derive(Clone)]
pub(super) enum ListKind {
    /// Documents of a kind, in id order, shown by a list view.
    Docs(Spec, DocView),
    /// Warehouse receipts, each with its newest transactions (its pledge history).
    Receipts,
    /// Governance proposals, newest first (an org that runs a validator reads them all).
    Proposals,
    /// Organisations (names for everyone; identifiers but the viewer's and its
    /// counterparties' masked).
    Orgs(Arc<BTreeSet<OrgId>>),
    /// Transactions, newest first.
    Txs,
    /// Blocks, newest first.
    Blocks,
    /// Live receivables overdue or past maturity on the date given.
    Overdue(NaiveDate),
    /// Receivables whose tenor exceeds the network's flag (days), if known.
    Tenor(Option<i64>),
}

/// One item a list reads.
enum Item {
    Doc(Doc),
    Receipt(Doc, Vec<TxRecord>),
    Tx(TxRecord),
    Block(BlockRow),
    Tenor(Doc, Option<NaiveDate>),
}

/// The in-memory data a chunk of rows is shown through: the chunk's items, the node's
/// status and the newest block (the ledger's date), nothing else.
fn scratch(st: &AppState) -> IndexData {
    st.index.read(|d| IndexData {
        node: d.node.clone(),
        height: d.height,
        blocks: d
            .blocks
            .last_key_value()
            .map(|(h, b)| BTreeMap::from([(*h, b.clone())]))
            .unwrap_or_default(),
        cap: usize::MAX,
        ..Default::default()
    })
}

/// Who reads what in SQL: an org that runs a validator reads every proposal (it votes),
/// so its proposals list is not narrowed to its own; the view applies `vis` again.
fn proposal_reader(st: &AppState, v: &Viewer) -> Viewer {
    match v {
        Viewer::Org(me) if st.index.read(governance::validator_orgs).contains(me) => {
            Viewer::Everything {
                org: Some(me.to_string()),
            }
        }
        _ => v.clone(),
    }
}

/// Warehouse receipts from `from`, each with its newest transactions.
async fn receipts(
    st: &AppState,
    v: &Viewer,
    q: &ListQuery,
    from: &Cursor,
    limit: usize,
) -> Result<Vec<Item>, StoreError> {
    let found = st
        .store
        .docs(Spec::WAREHOUSE_RECEIPTS, v, q, from, limit)
        .await?;
    let ids: Vec<String> = found.iter().map(|d| d.id().to_string()).collect();
    let mut txs: BTreeMap<String, Vec<TxRecord>> = BTreeMap::new();
    let kind = DocKind::WarehouseReceipt;
    for (id, t) in st.store.doc_txs(kind, &ids, MAX_TXS_PER_DOC).await? {
        txs.entry(id).or_default().push(t);
    }
    Ok(found
        .into_iter()
        .map(|d| {
            let t = txs.remove(d.id()).unwrap_or_default();
            Item::Receipt(d, t)
        })
        .collect())
}

impl ListKind {
    /// Up to `limit` items from `from`.
    async fn load(
        &self,
        st: &AppState,
        v: &Viewer,
        q: &ListQuery,
        from: &Cursor,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let store = &st.store;
        let docs = |d: Vec<Doc>| d.into_iter().map(Item::Doc).collect();
        Ok(match self {
            ListKind::Docs(spec, _) => docs(store.docs(*spec, v, q, from, limit).await?),
            ListKind::Receipts => receipts(st, v, q, from, limit).await?,
            ListKind::Proposals => {
                let reader = proposal_reader(st, v);
                docs(store.docs(Spec::PROPOSALS, &reader, q, from, limit).await?)
            }
            ListKind::Orgs(_) => docs(store.docs(Spec::ORGS, v, q, from, limit).await?),
            ListKind::Txs => store
                .txs(v, q, from, limit)
                .await?
                .into_iter()
                .map(Item::Tx)
                .collect(),
            ListKind::Blocks => store
                .blocks(q, from, limit)
                .await?
                .into_iter()
                .map(Item::Block)
                .collect(),
            ListKind::Overdue(today) => docs(store.overdue(v, q, *today, from, limit).await?),
            ListKind::Tenor(None) => vec![],
            ListKind::Tenor(Some(flag)) => store
                .long_tenor(v, q, *flag, from, limit)
                .await?
                .into_iter()
                .map(|(d, root)| Item::Tenor(d, root))
                .collect(),
        })
    }

    /// Where the chunk after `items` (read from `from`) starts: after the last item's
    /// key (each list's order has one).
    fn next(&self, items: &[Item], from: &Cursor) -> Cursor {
        match (self, items.last()) {
            (ListKind::Overdue(_), Some(Item::Doc(Doc::Receivable(r)))) => {
                Cursor::After(overdue_key(r.maturity, r.id.as_str()))
            }
            (ListKind::Docs(..) | ListKind::Orgs(_) | ListKind::Proposals, Some(Item::Doc(d)))
            | (ListKind::Receipts, Some(Item::Receipt(d, _)))
            | (ListKind::Tenor(_), Some(Item::Tenor(d, _))) => Cursor::After(d.id().to_string()),
            (ListKind::Txs, Some(Item::Tx(t))) => {
                Cursor::After(format!("{}:{}", t.height, t.index))
            }
            (ListKind::Blocks, Some(Item::Block(b))) => Cursor::After(b.height.to_string()),
            _ => Cursor::Skip(from.skipped() + items.len() as u64),
        }
    }

    /// The rows of `items`.
    fn table(&self, st: &AppState, v: &Viewer, q: &ListQuery, items: Vec<Item>) -> Table {
        let mut d = scratch(st);
        let mut tenor = vec![];
        for i in items {
            match i {
                Item::Doc(doc) => d.put_doc(doc),
                Item::Receipt(doc, txs) => {
                    for t in txs {
                        d.note_doc_tx((doc.kind(), doc.id().to_string()), t.hash.clone());
                        d.add_tx_record(t);
                    }
                    d.put_doc(doc);
                }
                Item::Tx(t) => d.add_tx_record(t),
                Item::Block(b) => {
                    d.blocks.insert(b.height, b);
                }
                Item::Tenor(doc, root) => tenor.push((doc, root)),
            }
        }
        match self {
            ListKind::Docs(_, view) => view(&d, v, q),
            ListKind::Receipts => warehouse::receipts(&d, v, q),
            ListKind::Proposals => governance::proposals(&d, v, q),
            ListKind::Orgs(counterparties) => views::orgs_with(&d, counterparties, v, q),
            ListKind::Txs => views::transactions(&d, v, q),
            ListKind::Blocks => {
                let mut t = views::blocks(&d, q);
                // Its note is about the in-memory window; the store keeps every block.
                t.incomplete = None;
                t
            }
            ListKind::Overdue(today) => views::overdue(&d, v, q, *today),
            ListKind::Tenor(_) => tenor_table(v, tenor),
        }
    }
}

/// The tenor view's rows: each receivable `v` reads, its tenor from its root's issue date
/// (its own when the root is not stored).
fn tenor_table(v: &Viewer, items: Vec<(Doc, Option<NaiveDate>)>) -> Table {
    let mut t = Table::new(views::TENOR_COLUMNS.to_vec());
    for (doc, root_issue) in items {
        let Doc::Receivable(r) = doc else { continue };
        let Some(r): Option<Receivable> = vis::one(v, r) else {
            continue;
        };
        let tenor = (r.maturity - root_issue.unwrap_or(r.issue_date)).num_days();
        t.push(views::tenor_row(&r, root_issue.is_some(), tenor));
    }
    t
}

fn join(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    }
}

/// What the store may lack, then what the table says of itself.
fn with_store_note(st: &AppState, mut t: Table) -> Table {
    let note = st.index.read(IndexData::store_incomplete);
    t.incomplete = join(note, t.incomplete.take());
    t
}

/// A table that could not be read from the store, saying so.
fn failed(columns: Vec<&'static str>, e: &StoreError) -> Table {
    let mut t = Table::new(columns);
    t.incomplete = Some(format!("the index's database could not be read: {e}"));
    t
}

/// The deepest page a `?page=N` link opens by its number: reaching page N skips the
/// (N - 1) x [`MAX_ROWS`] rows before it (SQL `OFFSET`), so a deep number would cost what
/// the list up to it costs. Pages are walked by key instead ("Next page" carries
/// `after=`, the last row's key, and the next page's number), which costs one page
/// whatever its depth; numbers up to this one keep the links of earlier versions and
/// hand-typed short ones working, at most 45,000 rows skipped.
pub(super) const MAX_NUMBERED_PAGE: u64 = 10;

/// Where page `q` of a list starts and its number (`None`: opened by a hand-made
/// `after=` without one), or `Err(n)` for a number beyond [`MAX_NUMBERED_PAGE`].
fn page_start(q: &ListQuery) -> Result<(Cursor, Option<u64>), u64> {
    match ListQuery::nonempty(&q.after) {
        Some(key) => Ok((Cursor::After(key.to_string()), q.page.filter(|n| *n > 1))),
        None => match q.page.unwrap_or(1).max(1) {
            n if n > MAX_NUMBERED_PAGE => Err(n),
            n => Ok((Cursor::Skip((n - 1) * MAX_ROWS as u64), Some(n))),
        },
    }
}

/// A list page (`?page=N`, or `?after=KEY` from "Next page") or, for `format=csv`, the
/// whole list as a streamed CSV.
pub(super) async fn store_list(
    st: &AppState,
    s: &Session,
    q: &ListQuery,
    kind: ListKind,
    title: &str,
    path: &str,
) -> Response {
    if q.format.as_deref() == Some("csv") {
        return csv_export(st.clone(), s.viewer.clone(), q.clone(), kind, path);
    }
    let (from, number) = match page_start(q) {
        Ok(start) => start,
        Err(n) => return too_deep(s, title, path, q, n),
    };
    let t = match kind.load(st, &s.viewer, q, &from, MAX_ROWS + 1).await {
        Ok(mut items) => {
            let more = items.len() > MAX_ROWS;
            items.truncate(MAX_ROWS);
            let next = match more.then(|| kind.next(&items, &from)) {
                Some(Cursor::After(key)) => Some(key),
                _ => None,
            };
            let mut t = kind.table(st, &s.viewer, q, items);
            t.truncated = more;
            t.page = Some(PageAt {
                number,
                first: from == Cursor::Start || from == Cursor::Skip(0),
                next,
            });
            t
        }
        Err(e) => failed(kind.table(st, &s.viewer, q, vec![]).columns, &e),
    };
    list_response(s, title, path, q, with_store_note(st, t), false)
}

/// The answer to `?page=N` beyond [`MAX_NUMBERED_PAGE`]: what to do instead, and the
/// first page's link (a 400: the page is not served, and a script must not take the
/// answer for an empty page).
fn too_deep(s: &Session, title: &str, path: &str, q: &ListQuery, n: u64) -> Response {
    let first = super::first_page_href(path, q);
    let body = maud::html! {
        p class="error" id="page-too-deep" {
            "Page " (n) " is not opened by its number: only pages 1 to " (MAX_NUMBERED_PAGE)
            " are. Lists are walked from the first page with \"Next page\", whose link carries \
             where the page before ended, so every page costs what one page costs; reaching \
             page " (n) " by its number would mean counting every row before it."
        }
        p {
            a id="first-page" href=(first) { "First page" }
            " -- or narrow the filters, or export the CSV, which has every row."
        }
    };
    (
        axum::http::StatusCode::BAD_REQUEST,
        super::page(title, s, body),
    )
        .into_response()
}

/// One line of a CSV (a note the export ends with).
fn csv_line(text: &str) -> Bytes {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([csv_safe(text)]);
    Bytes::from(w.into_inner().unwrap_or_default())
}

/// The state of a streamed export: what it reads, where the next chunk starts, and
/// whether the header is still to be written.
struct Export {
    st: AppState,
    viewer: Viewer,
    q: ListQuery,
    kind: ListKind,
    note: Option<String>,
}

/// The next chunk of an export: its CSV and where the one after starts (`None`: done).
async fn export_chunk(e: Arc<Export>, from: Cursor, head: bool) -> (Bytes, Option<Cursor>) {
    match e.kind.load(&e.st, &e.viewer, &e.q, &from, CHUNK).await {
        Ok(items) => {
            let n = items.len();
            let next = e.kind.next(&items, &from);
            let mut t = e.kind.table(&e.st, &e.viewer, &e.q, items);
            t.incomplete = join(e.note.clone(), t.incomplete.take());
            t.truncated = false;
            match t.csv_part(head) {
                Ok(bytes) => (Bytes::from(bytes), (n == CHUNK).then_some(next)),
                Err(err) => (
                    csv_line(&format!("ERROR: the export stops here: {err}")),
                    None,
                ),
            }
        }
        Err(err) => {
            let line = format!("ERROR: the index's database failed, the export stops here: {err}");
            (csv_line(&line), None)
        }
    }
}

/// The whole list as CSV, streamed a chunk at a time (the first line says if the store
/// may lack something, a last line if reading it failed half way).
fn csv_export(st: AppState, viewer: Viewer, q: ListQuery, kind: ListKind, path: &str) -> Response {
    let note = st.index.read(IndexData::store_incomplete);
    let export = Arc::new(Export {
        st,
        viewer,
        q,
        kind,
        note,
    });
    let chunks = futures::stream::unfold(Some((Cursor::Start, true)), move |state| {
        let export = export.clone();
        async move {
            let (from, head) = state?;
            let (bytes, next) = export_chunk(export, from, head).await;
            Some((Ok::<_, Infallible>(bytes), next.map(|n| (n, false))))
        }
    });
    let name = path.trim_start_matches('/').replace('/', "-");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        Body::from_stream(chunks),
    )
        .into_response()
}

/// The maturity ladder from the store's totals per maturity day.
pub(super) async fn ladder(st: &AppState, v: &Viewer, q: &ListQuery, today: NaiveDate) -> Table {
    let t = match st.store.live_totals(GroupBy::Maturity, v, q).await {
        Ok(groups) => views::ladder_of(&groups, q, today),
        Err(e) => failed(views::ladder_of(&[], q, today).columns, &e),
    };
    with_store_note(st, t)
}

/// Exposure from the store's totals per debtor and per bank holder.
pub(super) async fn exposure(st: &AppState, v: &Viewer, q: &ListQuery) -> Table {
    let debtors = st.store.live_totals(GroupBy::Debtor, v, q).await;
    let banks = st.store.live_totals(GroupBy::BankHolder, v, q).await;
    let t = match (debtors, banks) {
        (Ok(d), Ok(b)) => views::exposure_of(&d, &b),
        (Err(e), _) | (_, Err(e)) => failed(views::exposure_of(&[], &[]).columns, &e),
    };
    with_store_note(st, t)
}

/// The cost report over every disbursed financing the store holds: a pass over them a
/// chunk at a time (with each chunk's receivables, for the tier) into running totals
/// per group (see [`CostTotals`]: the all-in figure is the ledger's formula, not SQL).
pub(super) async fn cost(
    st: &AppState,
    v: &Viewer,
    q: &ListQuery,
    reference: Option<&Reference>,
) -> Table {
    let dc = st.index.read(pricing::day_count);
    let mut totals = CostTotals::default();
    let read = match dc {
        Some(dc) => cost_pass(st, v, q, dc, &mut totals).await,
        None => Ok(()),
    };
    let t = match read {
        Ok(()) => totals.table(dc, reference),
        Err(e) => failed(totals.table(dc, reference).columns, &e),
    };
    with_store_note(st, t)
}

/// The overdue-and-default view over every financing the store holds, as of the
/// ledger's date: one pass a chunk at a time into exact running totals per group (see
/// [`crate::overdue::ageing_in_store`]: the penalty is the ledger's formula, not SQL).
pub(super) async fn overdue_ageing(st: &AppState, v: &Viewer, q: &ListQuery) -> Table {
    let today = st.index.read(crate::money::ledger_today);
    let t = match crate::overdue::ageing_in_store(&st.store, v, q, today, CHUNK).await {
        Ok(t) => t,
        Err(e) => failed(crate::overdue::Ageing::default().table().columns, &e),
    };
    with_store_note(st, t)
}

async fn cost_pass(
    st: &AppState,
    v: &Viewer,
    q: &ListQuery,
    dc: lianrong_contracts::money::DayCount,
    totals: &mut CostTotals,
) -> Result<(), StoreError> {
    let mut from = Cursor::Start;
    loop {
        let found = st.store.docs(Spec::DISBURSED, v, q, &from, CHUNK).await?;
        let Some(last) = found.last() else {
            return Ok(());
        };
        from = Cursor::After(last.id().to_string());
        let n = found.len();
        let receivables: Vec<String> = found
            .iter()
            .filter_map(|d| match d {
                Doc::Financing(f) => Some(f.receivable.to_string()),
                _ => None,
            })
            .collect();
        let mut d = scratch(st);
        for r in st
            .store
            .docs_by_id(DocKind::Receivable, &receivables)
            .await?
        {
            d.put_doc(r);
        }
        found.into_iter().for_each(|f| d.put_doc(f));
        totals.add(&d, v, q, dc);
        if n < CHUNK {
            return Ok(());
        }
    }
}

/// The orgs list's kind for `v`: its counterparties read from every stored order.
pub(super) async fn orgs_kind(st: &AppState, v: &Viewer) -> Result<ListKind, StoreError> {
    let counterparties = match v {
        Viewer::Org(me) => st.store.counterparties(me).await?,
        Viewer::Everything { .. } => BTreeSet::new(),
    };
    Ok(ListKind::Orgs(Arc::new(counterparties)))
}

/// The in-memory data a search runs over: what the store holds under `q` (blocks,
/// transactions, documents, invoice numbers), whatever the cache keeps.
pub(super) async fn search_data(st: &AppState, q: &str) -> Result<IndexData, StoreError> {
    let found = st.store.lookup(q).await?;
    let mut d = scratch(st);
    for b in found.blocks {
        d.blocks.insert(b.height, b);
    }
    found.txs.into_iter().for_each(|t| d.add_tx_record(t));
    found.docs.into_iter().for_each(|doc| d.put_doc(doc));
    Ok(d)
}
