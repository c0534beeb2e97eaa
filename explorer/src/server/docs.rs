//! A document's page and the dashboard's counts read from the store (SQL), so a
//! document outside the in-memory cache, or touched by more transactions than the cache
//! keeps ([`crate::index::MAX_TXS_PER_DOC`]), is shown whole: the document by kind and
//! id, what its visibility and its sections depend on (a shipment's order, an offer's
//! financing, a financing's receivable and offers, a receipt's pledge history), and its
//! transactions newest first, a page at a time. Everything still passes `vis` here.

use std::collections::BTreeSet;

use lianrong_contracts::DocKind;
use lianrong_primitives::OrgId;
use maud::{html, Markup};

use super::AppState;
use crate::index::{IndexData, MAX_TXS_PER_DOC};
use crate::lineage;
use crate::money;
use crate::node::Doc;
use crate::store::{SettlementsOf, StoreError};
use crate::vis::{self, Viewer};
use lianrong_api_types::ReceivableHistory;

/// Transactions a document's page lists at once, newest first (`?txpage=N` for older).
pub(super) const DOC_TX_ROWS: usize = 200;

/// The stored document `id` of `kind`; if the database cannot be read (logged), the
/// cache's copy.
pub(super) async fn stored_doc(st: &AppState, kind: DocKind, id: &str) -> Option<Doc> {
    match st.store.doc(kind, id).await {
        Ok(doc) => doc,
        Err(e) => {
            tracing::warn!(error = %e, %kind, id, "document page: the database failed; reading the cache");
            st.index.read(|d| super::indexed_doc(d, kind, id))
        }
    }
}

/// What a document's page is shown through: the node's status and the newest block (the
/// ledger's date), what the store may lack (as every store-read page says), `doc`, and
/// the documents its visibility and sections read, from the store. A failed read is
/// logged and leaves those documents out (the section then says what it lacks).
pub(super) async fn page_data(st: &AppState, doc: &Doc) -> IndexData {
    let mut d = status_data(st);
    if let Err(e) = related(st, doc, &mut d).await {
        tracing::warn!(error = %e, kind = %doc.kind(), id = doc.id(), "document page: related documents not read");
    }
    d.put_doc(doc.clone());
    d
}

/// What a page read from the store is shown through besides its documents: the node's
/// status, the newest block (the ledger's date) and what the store may lack. Unbounded
/// (`cap`): it holds only what the page read, each list bounded by its query.
pub(super) fn status_data(st: &AppState) -> IndexData {
    st.index.read(|c| IndexData {
        node: c.node.clone(),
        height: c.height,
        blocks: c
            .blocks
            .last_key_value()
            .map(|(h, b)| [(*h, b.clone())].into())
            .unwrap_or_default(),
        rebuilding: c.rebuilding.clone(),
        gap: c.gap.clone(),
        last_error: c.last_error.clone(),
        cap: usize::MAX,
        ..Default::default()
    })
}

/// Reads into `d` what the sections of `doc`'s page list, as `v` may see them: a
/// receivable's settlements and its lineage's, an invoice's receivables and their
/// financings, the other lines of a settlement's instruction -- each bounded one row
/// past what the section shows, so it can say it cut. A failed read is logged and
/// leaves the rows out.
pub(super) async fn section_data(st: &AppState, v: &Viewer, doc: &Doc, d: &mut IndexData) {
    if let Err(e) = sections(st, v, doc, d).await {
        tracing::warn!(error = %e, kind = %doc.kind(), id = doc.id(), "document page: its sections' rows not read");
    }
}

async fn sections(
    st: &AppState,
    v: &Viewer,
    doc: &Doc,
    d: &mut IndexData,
) -> Result<(), StoreError> {
    let store = &st.store;
    let rows = money::MAX_SETTLEMENT_ROWS + 1;
    let found = match doc {
        Doc::Receivable(r) => {
            let mut found = store
                .settlements_of(&SettlementsOf::Receivable(r.id.to_string()), v, rows)
                .await?;
            let root = SettlementsOf::Root(r.root.to_string());
            found.extend(store.settlements_of(&root, v, rows).await?);
            found
        }
        Doc::Settlement(x) => {
            let which = SettlementsOf::Instruction {
                debtor: x.debtor.to_string(),
                payment_ref: x.payment_ref.clone(),
                root: x.root.to_string(),
            };
            store.settlements_of(&which, v, rows).await?
        }
        Doc::Invoice(inv) => {
            let n = super::MAX_INVOICE_ROWS + 1;
            let mut found = store.invoice_receivables(inv.id.as_str(), v, n).await?;
            found.extend(store.invoice_financings(inv.id.as_str(), v, n).await?);
            found
        }
        _ => vec![],
    };
    found.into_iter().for_each(|x| d.put_doc(x));
    Ok(())
}

/// What a receivable's lineage picture is drawn from, read from the store: the
/// documents of its chain (receivables, invoices, financings) and the trade behind them
/// (the invoices' orders and their shipments), each with its newest
/// [`MAX_TXS_PER_DOC`] transactions, and the transactions of its history entries.
pub(super) async fn lineage_data(st: &AppState, h: &ReceivableHistory) -> IndexData {
    let mut d = status_data(st);
    if let Err(e) = lineage_related(st, h, &mut d).await {
        tracing::warn!(error = %e, "lineage: its transactions not read from the database");
    }
    d
}

async fn lineage_related(
    st: &AppState,
    h: &ReceivableHistory,
    d: &mut IndexData,
) -> Result<(), StoreError> {
    let store = &st.store;
    let ids = |docs: &BTreeSet<(DocKind, String)>, kind: DocKind| -> Vec<String> {
        docs.iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, id)| id.clone())
            .collect()
    };
    // The trade is found through the invoices and their orders: read those first.
    let chain = lineage::lineage_docs(h, d);
    for x in store
        .docs_by_id(DocKind::Invoice, &ids(&chain, DocKind::Invoice))
        .await?
    {
        d.put_doc(x);
    }
    let orders: Vec<String> = d.invoices.values().map(|i| i.order.to_string()).collect();
    for x in store.docs_by_id(DocKind::Order, &orders).await? {
        d.put_doc(x);
    }
    let docs = lineage::lineage_docs(h, d);
    let kinds: BTreeSet<DocKind> = docs.iter().map(|(k, _)| *k).collect();
    for kind in kinds {
        for (id, t) in store
            .doc_txs(kind, &ids(&docs, kind), MAX_TXS_PER_DOC)
            .await?
        {
            d.note_doc_tx((kind, id), t.hash.clone());
            d.add_tx_record(t);
        }
    }
    for t in store.txs_by_hash(&lineage::entry_txs(h)).await? {
        d.add_tx_record(t);
    }
    Ok(())
}

async fn related(st: &AppState, doc: &Doc, d: &mut IndexData) -> Result<(), StoreError> {
    let store = &st.store;
    let put = |found: Option<Doc>, d: &mut IndexData| found.into_iter().for_each(|x| d.put_doc(x));
    match doc {
        Doc::Shipment(s) => put(store.doc(DocKind::Order, s.order.as_str()).await?, d),
        Doc::Offer(o) => {
            let f = store.doc(DocKind::Financing, o.financing.as_str()).await?;
            if let Some(Doc::Financing(f)) = &f {
                put(
                    store
                        .doc(DocKind::Receivable, f.receivable.as_str())
                        .await?,
                    d,
                );
            }
            put(f, d);
        }
        Doc::Financing(f) => {
            put(
                store
                    .doc(DocKind::Receivable, f.receivable.as_str())
                    .await?,
                d,
            );
            let offers: Vec<String> = f.offers.iter().map(ToString::to_string).collect();
            for o in store.docs_by_id(DocKind::Offer, &offers).await? {
                d.put_doc(o);
            }
        }
        Doc::WarehouseReceipt(r) => {
            // Its pledge history: the newest transactions, as the receipts list reads.
            let ids = [r.id.to_string()];
            for (id, t) in store
                .doc_txs(DocKind::WarehouseReceipt, &ids, MAX_TXS_PER_DOC)
                .await?
            {
                d.note_doc_tx((DocKind::WarehouseReceipt, id), t.hash.clone());
                d.add_tx_record(t);
            }
        }
        _ => {}
    }
    Ok(())
}

/// `doc` as `v` may see it (the same rule as ever; an org record's counterparties read
/// from every stored order), or `None`.
pub(super) async fn shown(st: &AppState, d: &IndexData, v: &Viewer, doc: Doc) -> Option<Doc> {
    match doc {
        Doc::Org(o) => {
            let counterparties = counterparties(st, v).await;
            vis::orgs(v, &counterparties, [o]).pop().map(Doc::Org)
        }
        doc => super::shown_doc(d, v, doc),
    }
}

/// The orgs `v` trades with, from the store (the cache's if it cannot be read: logged).
async fn counterparties(st: &AppState, v: &Viewer) -> BTreeSet<OrgId> {
    let Viewer::Org(me) = v else {
        return BTreeSet::new();
    };
    match st.store.counterparties(me).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "org page: the database failed; reading the cache");
            st.index.read(|d| d.counterparties(&v.reader()))
        }
    }
}

/// Where a document's page is (its transactions' "older" link points back to it).
fn page_path(kind: DocKind, id: &str) -> String {
    let base = match kind {
        DocKind::Org => "orgs",
        DocKind::Order => "orders",
        DocKind::Shipment => "shipments",
        DocKind::Invoice => "invoices",
        DocKind::Receivable => "receivables",
        DocKind::Financing => "financings",
        DocKind::Offer => "offers",
        DocKind::Settlement => "settlements",
        DocKind::Proposal => "governance",
        _ => "warehouse",
    };
    format!("/{base}/{id}")
}

/// The transactions that touched document `id` of `kind` that `v` reads, newest first,
/// [`DOC_TX_ROWS`] a page (`page` from 1), with links to the older and newer pages.
pub(super) async fn history_section(
    st: &AppState,
    v: &Viewer,
    kind: DocKind,
    id: &str,
    page: u64,
) -> Markup {
    let page = page.max(1);
    let skip = (page - 1).saturating_mul(DOC_TX_ROWS as u64);
    let (rows, more, error) = match st
        .store
        .doc_history(kind, id, v, skip, DOC_TX_ROWS + 1)
        .await
    {
        Ok(mut rows) => {
            let more = rows.len() > DOC_TX_ROWS;
            rows.truncate(DOC_TX_ROWS);
            (vis::filter(v, rows), more, None)
        }
        Err(e) => (vec![], false, Some(e.to_string())),
    };
    let path = page_path(kind, id);
    html! {
        h2 { "Transactions" }
        p class="muted" { "Newest first, " (DOC_TX_ROWS) " a page." }
        @if let Some(e) = error { p class="error" id="incomplete" { "The index's database could not be read: " (e) } }
        table id="doc-txs" {
            thead { tr { th { "block" } th { "tx" } th { "action" } th { "signer" } th { "events" } } }
            tbody {
                @for t in rows {
                    tr {
                        td { a href=(format!("/blocks/{}", t.height)) { (t.height) } }
                        td { a href=(format!("/tx/{}", t.hash)) { (t.hash.chars().take(16).collect::<String>()) "..." } }
                        td { (t.action_name) }
                        td { a href=(format!("/orgs/{}", t.signer_org)) { (t.signer_org) } }
                        td { @for e in &t.events { (lineage::event_line(e)) br; } }
                    }
                }
            }
        }
        p {
            @if page > 1 { a id="newer-txs" href=(format!("{path}?txpage={}#doc-txs", page - 1)) { "Newer transactions" } " " }
            @if more { a id="older-txs" href=(format!("{path}?txpage={}#doc-txs", page + 1)) { "Older transactions" } }
        }
    }
}

/// The dashboard's "you can see" counts (invoices, receivables, transactions) in SQL.
pub(super) async fn visible_counts(
    st: &AppState,
    v: &Viewer,
) -> Result<(u64, u64, u64), StoreError> {
    Ok((
        st.store.visible_docs(DocKind::Invoice, v).await?,
        st.store.visible_docs(DocKind::Receivable, v).await?,
        st.store.visible_txs(v).await?,
    ))
}
