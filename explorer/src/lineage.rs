//! A receivable's lineage as a picture: order -> shipment -> invoice -> confirmation ->
//! splits and transfers -> financing -> repayment. Each node is one transaction (or one
//! change the ledger made by itself) and links to the transaction, its signer and its
//! block. Built from `GET /v1/receivables/{id}/history` plus the index's transactions of
//! the order, shipments, invoice and financings.

use std::collections::{BTreeMap, BTreeSet};

use lianrong_api_types::ReceivableHistory;
use lianrong_contracts::model::Receivable;
use lianrong_contracts::{DocKind, Event, HistoryEntry};
use maud::{html, Markup};
use serde_json::Value;

use crate::index::{IndexData, TxRecord};
use crate::vis::{mask_json_for, Viewer};

/// Most nodes drawn.
pub const MAX_NODES: usize = 200;
const PER_ROW: usize = 4;
const W: i64 = 270;
const H: i64 = 118;
const GAP_X: i64 = 40;
const GAP_Y: i64 = 40;

/// One step of the lineage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Block height.
    pub height: u64,
    /// Position in the block (ledger-made steps sort last).
    pub index: u64,
    /// The transaction, if any.
    pub tx: Option<String>,
    /// The signer's org, if any.
    pub signer: Option<String>,
    /// What happened (action name, or the ledger's event).
    pub title: String,
    /// Stage, for colour: trade, invoice, receivable, finance, repay, ledger.
    pub stage: &'static str,
    /// Short lines describing the events.
    pub lines: Vec<String>,
    /// Documents it touched, with links.
    pub docs: Vec<(String, String)>,
}

fn stage_of(title: &str) -> &'static str {
    match title {
        t if t.contains("order") || t.contains("shipment") || t.contains("delivery") => "trade",
        t if t.contains("invoice") => "invoice",
        t if t.contains("repay") || t.contains("settled") => "repay",
        t if t.contains("financ") || t.contains("offer") || t.contains("disburse") => "finance",
        t if t.contains("overdue") => "ledger",
        _ => "receivable",
    }
}

fn colour(stage: &str) -> &'static str {
    match stage {
        "trade" => "#dbeafe",
        "invoice" => "#fef3c7",
        "finance" => "#ffedd5",
        "repay" => "#ede9fe",
        "ledger" => "#fee2e2",
        _ => "#dcfce7",
    }
}

/// A one-line summary of an event (JSON, externally tagged).
pub fn event_line(e: &Value) -> String {
    let Some((name, body)) = e.as_object().and_then(|o| o.iter().next()) else {
        return e.as_str().unwrap_or("event").replace('_', " ");
    };
    let name = name.replace('_', " ");
    let detail = receivable_event_detail(&name, body)
        .or_else(|| trade_event_detail(&name, body))
        .unwrap_or_else(|| event_doc_ids(body));
    format!("{name}: {detail}").chars().take(44).collect()
}

/// A field of an event body as a short text: amounts as "amount currency", lists joined.
fn event_field(body: &Value, k: &str) -> String {
    match &body[k] {
        Value::String(s) => s.clone(),
        Value::Object(m) if m.contains_key("amount") => format!(
            "{} {}",
            m["amount"].as_str().unwrap_or_default(),
            m["currency"].as_str().unwrap_or_default()
        ),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

fn receivable_event_detail(name: &str, body: &Value) -> Option<String> {
    let field = |k: &str| event_field(body, k);
    Some(match name {
        "receivable issued" => format!(
            "{} to {}: {}",
            field("receivable"),
            field("holder"),
            field("face")
        ),
        "receivable split" => format!("{} into {}", field("receivable"), field("parts")),
        "receivable transferred" | "receivable assigned" => {
            format!(
                "{} {} -> {}",
                field("receivable"),
                field("from"),
                field("to")
            )
        }
        "receivable repaid" => format!(
            "{} {} to {}",
            field("receivable"),
            field("amount"),
            field("to")
        ),
        _ => return None,
    })
}

/// Orders, invoices, offers and financings.
fn trade_event_detail(name: &str, body: &Value) -> Option<String> {
    let field = |k: &str| event_field(body, k);
    Some(match name {
        "invoice registered" => format!(
            "{} no. {} {}",
            field("invoice"),
            field("number"),
            field("amount")
        ),
        "invoice confirmed" => format!("{} -> {}", field("invoice"), field("receivable")),
        "order issued" => format!(
            "{} {} -> {} {}",
            field("order"),
            field("buyer"),
            field("seller"),
            field("amount")
        ),
        "offer made" => format!(
            "{} by {} at {}%",
            field("offer"),
            field("bank"),
            field("rate")
        ),
        "offer accepted" => format!(
            "{} net {} ({} days)",
            field("offer"),
            field("net"),
            body["days"]
        ),
        "financing disbursed" => format!(
            "{} net {} by {}",
            field("financing"),
            field("net"),
            field("bank")
        ),
        "financing requested" => format!("{} on {}", field("financing"), field("receivable")),
        _ => return None,
    })
}

/// For events without a summary of their own: the documents they name.
fn event_doc_ids(body: &Value) -> String {
    let ids: Vec<String> = [
        "order",
        "shipment",
        "invoice",
        "receivable",
        "financing",
        "offer",
    ]
    .iter()
    .map(|k| event_field(body, k))
    .filter(|s| !s.is_empty())
    .collect();
    ids.join(" ")
}

fn doc_link(kind: DocKind, id: &str) -> Option<(String, String)> {
    let base = match kind {
        DocKind::Order => "/orders/",
        DocKind::Invoice => "/invoices/",
        DocKind::Receivable => "/receivables/",
        DocKind::Financing => "/financings/",
        DocKind::Shipment => "/shipments/",
        _ => return None,
    };
    Some((format!("{kind} {id}"), format!("{base}{id}")))
}

/// Steps keyed by (height, position in block, tx hash or ledger line), so they come out
/// oldest first and each transaction once.
type StepsByTx = BTreeMap<(u64, u64, String), Step>;

/// The steps of the lineage of `history` (the node's history answer), oldest first.
pub fn steps(history: &ReceivableHistory, d: &IndexData, viewer: &Viewer) -> Vec<Step> {
    let mut docs = chain_docs(&history.lineage);
    let entries = history_entries(history, &mut docs);
    add_trade_docs(d, &mut docs);
    let mut by_tx = StepsByTx::new();
    for doc in &docs {
        if let Some(list) = d.doc_txs.get(doc) {
            for h in list {
                add_tx_step(&mut by_tx, d, viewer, h, None);
            }
        }
    }
    for h in entries {
        match &h.tx {
            Some(tx) => add_tx_step(&mut by_tx, d, viewer, &tx.to_hex(), Some(h)),
            None => add_ledger_step(&mut by_tx, h),
        }
    }
    by_tx.into_values().take(MAX_NODES).collect()
}

fn chain_docs(chain: &[Receivable]) -> BTreeSet<(DocKind, String)> {
    let mut docs: BTreeSet<(DocKind, String)> = BTreeSet::new();
    for r in chain {
        docs.insert((DocKind::Receivable, r.id.to_string()));
        docs.insert((DocKind::Invoice, r.invoice.to_string()));
        if let Some(f) = &r.financing {
            docs.insert((DocKind::Financing, f.to_string()));
        }
    }
    docs
}

/// The history entries of every receivable in the chain. Also adds the financings they
/// name to `docs`: the chain itself shows only each receivable's current financing.
fn history_entries<'h>(
    history: &'h ReceivableHistory,
    docs: &mut BTreeSet<(DocKind, String)>,
) -> Vec<&'h HistoryEntry> {
    let entries: Vec<&HistoryEntry> = history.steps.iter().flat_map(|s| &s.history).collect();
    for h in &entries {
        for (k, id) in h.event.documents() {
            if k == DocKind::Financing {
                docs.insert((k, id));
            }
        }
    }
    entries
}

/// The trade behind the invoices in `docs`: their orders and the orders' shipments.
fn add_trade_docs(d: &IndexData, docs: &mut BTreeSet<(DocKind, String)>) {
    let invoice_ids: Vec<String> = docs
        .iter()
        .filter(|(k, _)| *k == DocKind::Invoice)
        .map(|(_, id)| id.clone())
        .collect();
    for inv in invoice_ids {
        if let Some(i) = d.invoices.get(&inv) {
            docs.insert((DocKind::Order, i.order.to_string()));
            if let Some(o) = d.orders.get(i.order.as_str()) {
                for s in &o.shipments {
                    docs.insert((DocKind::Shipment, s.to_string()));
                }
            }
        }
    }
}

/// The step of transaction `hash`: from the index if it has it, else from the node's
/// history entry (the index is bounded and may have dropped it).
fn add_tx_step(
    by_tx: &mut StepsByTx,
    d: &IndexData,
    viewer: &Viewer,
    hash: &str,
    fallback: Option<&HistoryEntry>,
) {
    if let Some(t) = d.tx(hash) {
        add_indexed_tx_step(by_tx, t, viewer);
    } else if let Some(h) = fallback {
        add_history_tx_step(by_tx, h, hash);
    }
}

fn add_indexed_tx_step(by_tx: &mut StepsByTx, t: &TxRecord, viewer: &Viewer) {
    let mut t = t.clone();
    t.events.iter_mut().for_each(|e| mask_json_for(viewer, e));
    let key = (t.height, t.index, t.hash.clone());
    by_tx.entry(key).or_insert_with(|| Step {
        height: t.height,
        index: t.index,
        tx: Some(t.hash.clone()),
        signer: Some(t.signer_org.clone()),
        title: t.action_name.replace('_', " "),
        stage: stage_of(&t.action_name),
        lines: t.events.iter().map(event_line).take(4).collect(),
        docs: t
            .docs
            .iter()
            .filter_map(|(k, id)| doc_link(*k, id))
            .collect(),
    });
}

fn add_history_tx_step(by_tx: &mut StepsByTx, h: &HistoryEntry, hash: &str) {
    // The position in the block is unknown: sort it after the block's indexed ones.
    let key = (h.height, u64::MAX - 1, hash.to_string());
    let ev = event_json(&h.event);
    let title = match &ev {
        Value::Object(o) => o.keys().next().cloned(),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
    .unwrap_or_else(|| "event".into())
    .replace('_', " ");
    by_tx.entry(key).or_insert_with(|| Step {
        height: h.height,
        index: u64::MAX - 1,
        tx: Some(hash.to_string()),
        signer: h.signer.as_ref().map(|s| s.to_string()),
        stage: stage_of(&title),
        title,
        lines: vec![event_line(&ev)],
        docs: h
            .event
            .documents()
            .iter()
            .filter_map(|(k, id)| doc_link(*k, id))
            .collect(),
    });
}

/// An event as the JSON [`event_line`] reads (externally tagged). Encoding a decoded
/// event cannot fail; if it did, the line would read "event".
fn event_json(e: &Event) -> Value {
    serde_json::to_value(e).unwrap_or(Value::Null)
}

/// A change the ledger made by itself (no transaction), such as a receivable falling due.
fn add_ledger_step(by_tx: &mut StepsByTx, h: &HistoryEntry) {
    let line = event_line(&event_json(&h.event));
    by_tx
        .entry((h.height, u64::MAX, line.clone()))
        .or_insert_with(|| Step {
            height: h.height,
            index: u64::MAX,
            tx: None,
            signer: None,
            title: "ledger".into(),
            stage: stage_of(&line),
            lines: vec![line],
            docs: vec![],
        });
}

fn pos(i: usize) -> (i64, i64) {
    let row = (i / PER_ROW) as i64;
    let col_in_row = (i % PER_ROW) as i64;
    // Snake: odd rows run right to left so arrows stay short.
    let col = if row % 2 == 0 {
        col_in_row
    } else {
        PER_ROW as i64 - 1 - col_in_row
    };
    (20 + col * (W + GAP_X), 20 + row * (H + GAP_Y))
}

/// The lineage picture (inline SVG; every text is escaped by maud).
pub fn svg(steps: &[Step]) -> Markup {
    let rows = steps.len().div_ceil(PER_ROW).max(1) as i64;
    let width = 40 + PER_ROW as i64 * (W + GAP_X);
    let height = 40 + rows * (H + GAP_Y);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" id="lineage" width=(width) height=(height)
            viewBox=(format!("0 0 {width} {height}")) role="img" aria-label="receivable lineage" {
            defs {
                marker id="arrow" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto" {
                    path d="M0,0 L10,4 L0,8 z" fill="#57606a" {}
                }
            }
            @for i in 1..steps.len() {
                @let (x0, y0) = pos(i - 1);
                @let (x1, y1) = pos(i);
                @let (ax, ay, bx, by) = if y0 == y1 {
                    if x1 > x0 { (x0 + W, y0 + H / 2, x1, y1 + H / 2) } else { (x0, y0 + H / 2, x1 + W, y1 + H / 2) }
                } else { (x0 + W / 2, y0 + H, x1 + W / 2, y1) };
                line x1=(ax) y1=(ay) x2=(bx) y2=(by) stroke="#57606a" stroke-width="2" marker-end="url(#arrow)" {}
            }
            @for (i, s) in steps.iter().enumerate() {
                @let (x, y) = pos(i);
                g class="lineage-node" data-stage=(s.stage) {
                    rect x=(x) y=(y) width=(W) height=(H) rx="8" fill=(colour(s.stage)) stroke="#57606a" {}
                    @if let Some(tx) = &s.tx {
                        a href=(format!("/tx/{tx}")) {
                            text x=(x + 8) y=(y + 18) font-weight="bold" font-size="13" fill="#0b3d5c" { (s.title) }
                        }
                    } @else {
                        text x=(x + 8) y=(y + 18) font-weight="bold" font-size="13" { (s.title) }
                    }
                    @for (j, l) in s.lines.iter().take(3).enumerate() {
                        text x=(x + 8) y=(y + 36 + j as i64 * 15) font-size="11" { (l) }
                    }
                    @for (j, (label, href)) in s.docs.iter().take(2).enumerate() {
                        a href=(href) {
                            text x=(x + 8 + j as i64 * 130) y=(y + H - 24) font-size="10" fill="#0b3d5c" text-decoration="underline" { (label) }
                        }
                    }
                    a href=(format!("/blocks/{}", s.height)) {
                        text x=(x + 8) y=(y + H - 8) font-size="10" fill="#0b3d5c" { "block " (s.height) }
                    }
                    @if let Some(signer) = &s.signer {
                        a href=(format!("/orgs/{signer}")) {
                            text x=(x + 90) y=(y + H - 8) font-size="10" fill="#0b3d5c" { "signed by " (signer) }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::testdata::*;
    use serde_json::json;

    fn tx(
        hash: &str,
        height: u64,
        signer: &str,
        action: &str,
        events: Vec<Value>,
        docs: Vec<(DocKind, &str)>,
    ) -> TxRecord {
        TxRecord {
            hash: hash.into(),
            height,
            index: 0,
            time_ms: 0,
            signer_org: signer.into(),
            signer_key: String::new(),
            nonce: 0,
            action_name: action.into(),
            action: Value::Null,
            ok: true,
            error: None,
            events,
            docs: docs
                .into_iter()
                .map(|(k, id)| (k, id.to_string()))
                .collect(),
            parties: vec![signer.into()],
        }
    }

    /// An order, its invoice, the receivable, a split, a transfer and a repayment.
    fn trade_txs() -> [TxRecord; 5] {
        [
            tx(
                "aa01",
                1,
                "CORE-A",
                "issue_order",
                vec![
                    json!({"order_issued": {"order": "PO-1", "buyer": "CORE-A", "seller": "SUP-1", "amount": {"amount": "100.00", "currency": "CNY"}}}),
                ],
                vec![(DocKind::Order, "PO-1")],
            ),
            tx(
                "aa02",
                2,
                "CORE-A",
                "register_invoice",
                vec![json!({"invoice_confirmed": {"invoice": "INV-1", "receivable": "RCV-1"}})],
                vec![(DocKind::Invoice, "INV-1"), (DocKind::Receivable, "RCV-1")],
            ),
            tx(
                "aa03",
                3,
                "SUP-1",
                "split_receivable",
                vec![
                    json!({"receivable_split": {"receivable": "RCV-1", "parts": ["RCV-2", "RCV-3"]}}),
                ],
                vec![(DocKind::Receivable, "RCV-1")],
            ),
            tx(
                "aa04",
                4,
                "SUP-1",
                "transfer_receivable",
                vec![
                    json!({"receivable_transferred": {"receivable": "RCV-2", "from": "SUP-1", "to": "SUP-3"}}),
                ],
                vec![(DocKind::Receivable, "RCV-2")],
            ),
            tx(
                "aa05",
                5,
                "CORE-A",
                "repay",
                vec![
                    json!({"receivable_repaid": {"receivable": "RCV-2", "amount": {"amount": "60.00", "currency": "CNY"}, "to": "SUP-3", "outstanding": {"amount": "0.00", "currency": "CNY"}}}),
                ],
                vec![(DocKind::Receivable, "RCV-2")],
            ),
        ]
    }

    /// The index after `txs`, with INV-1 invoicing order PO-1.
    fn indexed(txs: [TxRecord; 5]) -> IndexData {
        let mut d = IndexData::default();
        let mut inv = invoice("INV-1", "SUP-1", "CORE-A", "2027-01-31", "100.00");
        inv.order = lianrong_contracts::model::DocId::new("PO-1").unwrap();
        d.invoices.insert("INV-1".into(), inv);
        for t in txs {
            for doc in &t.docs {
                d.doc_txs
                    .entry(doc.clone())
                    .or_default()
                    .push_back(t.hash.clone());
            }
            d.tx_by_hash.insert(t.hash.clone(), (t.height, t.index));
            d.txs.insert((t.height, t.index), t);
        }
        d
    }

    /// The history of RCV-2, split from RCV-1, which the ledger marked overdue.
    fn split_leaf_history() -> ReceivableHistory {
        let mut root = receivable(
            "RCV-1",
            "SUP-1",
            "CORE-A",
            "2026-11-01",
            "2027-01-31",
            "100.00",
        );
        root.status = lianrong_contracts::model::ReceivableStatus::Split;
        let mut leaf = receivable(
            "RCV-2",
            "SUP-3",
            "CORE-A",
            "2026-11-01",
            "2027-01-31",
            "60.00",
        );
        leaf.parent = Some(root.id.clone());
        leaf.root = root.id.clone();
        let overdue = HistoryEntry {
            height: 6,
            tx: None,
            signer: None,
            key: None,
            time_ms: 0,
            event: Event::ReceivableOverdue {
                receivable: root.id.clone(),
                maturity: root.maturity,
            },
        };
        ReceivableHistory {
            receivable: leaf.clone(),
            lineage: vec![root.clone(), leaf],
            steps: vec![lianrong_api_types::HistorySteps {
                receivable: root.id,
                history: vec![overdue],
            }],
            invoice: None,
        }
    }

    #[test]
    fn lineage_orders_steps_from_order_to_repayment_and_links_each() {
        let d = indexed(trade_txs());
        let history = split_leaf_history();
        let s = steps(&history, &d, &Viewer::Everything { org: None });
        let titles: Vec<&str> = s.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "issue order",
                "register invoice",
                "split receivable",
                "transfer receivable",
                "repay",
                "ledger"
            ]
        );
        assert_eq!(s[0].stage, "trade");
        assert_eq!(s[4].stage, "repay");
        assert_eq!(s[3].lines, ["receivable transferred: RCV-2 SUP-1 -> SUP-3"]);
        assert!(s
            .iter()
            .flat_map(|s| &s.lines)
            .all(|l| l.chars().count() <= 44));
        let svg = svg(&s).into_string();
        assert!(svg.contains("href=\"/tx/aa03\""));
        assert!(svg.contains("href=\"/blocks/4\""));
        assert!(svg.contains("href=\"/orgs/SUP-1\""));
        assert_eq!(svg.matches("<rect").count(), 6);
        assert_eq!(svg.matches("<line").count(), 5);
    }

    #[test]
    fn ledger_text_is_escaped() {
        let s = vec![Step {
            height: 1,
            index: 0,
            tx: None,
            signer: None,
            title: "<script>alert(1)</script>".into(),
            stage: "ledger",
            lines: vec!["a & b".into()],
            docs: vec![],
        }];
        let out = svg(&s).into_string();
        assert!(!out.contains("<script>"));
        assert!(out.contains("&lt;script&gt;"));
    }
}
