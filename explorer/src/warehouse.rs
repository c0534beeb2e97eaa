//! Warehouse receipts (docs/domain.md, "warehouse receipt"): goods a logistics warehouse
//! holds for an owner in a lot, pledged to a bank only once the bank accepts the owner's
//! offer, released only on the owner's instruction and, while pledged, after the
//! pledgee's release.
//!
//! The list (`/warehouse`) and each receipt's page (`/warehouse/{id}`) show the lot, the
//! goods' quantity and unit, warehouse, owner and the pledge in words: `offered to B`, `pledged to B (accepted)`,
//! `declined by B`, `offer to B withdrawn`, `pledge released by B`, `released`. A receipt
//! record holds only the open offer and the pledgee, so the answers that leave nothing
//! behind (declined, withdrawn, a released pledge) come from the receipt's indexed
//! transactions: the pledge history, one line per warehouse event, each with its block,
//! transaction and signer.
//!
//! Visibility: receipts go through [`crate::vis`] with the node's rule -- the warehouse,
//! the owner, the pledgee and the bank offered the pledge read a receipt; banks and
//! auditors read all; anyone else gets the same 404 as for a missing one. History lines
//! come from transactions the viewer may see (`vis::filter` on the index's records).

use lianrong_contracts::model::{ReceiptStatus, WarehouseReceipt};
use lianrong_contracts::DocKind;
use maud::{html, Markup};
use serde_json::Value;

use crate::index::{IndexData, TxRecord};
use crate::pages::table;
use crate::views::{link, org_link, Cell, ListQuery, Table};
use crate::vis::{self, Viewer};

/// Most history lines on a receipt's page (the index keeps at most 64 transactions per
/// document anyway).
pub const MAX_HISTORY_ROWS: usize = 200;

const COLUMNS: [&str; 9] = [
    "id",
    "lot",
    "goods",
    "quantity",
    "warehouse",
    "owner",
    "status",
    "pledge",
    "release instructed",
];

const HISTORY_COLUMNS: [&str; 5] = ["block", "date", "tx", "signer", "what"];

/// One warehouse event of a receipt's history, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Block height.
    pub height: u64,
    /// Block time (ms).
    pub time_ms: u64,
    /// Transaction hash (hex).
    pub tx: String,
    /// The signing org.
    pub signer: String,
    /// The event's name (`warehouse_receipt_pledged`, ...).
    pub event: String,
    /// The event in words.
    pub what: String,
}

/// `issued`, `pledged` or `released`, as the ledger names it.
pub fn status_str(s: ReceiptStatus) -> &'static str {
    match s {
        ReceiptStatus::Issued => "issued",
        ReceiptStatus::Pledged => "pledged",
        ReceiptStatus::Released => "released",
    }
}

/// A field of an event's JSON as text (`?` if absent: the page still renders).
fn field(fields: &Value, name: &str) -> String {
    fields[name].as_str().unwrap_or("?").to_string()
}

/// The warehouse event `e` (`{"name": {fields}}`) about receipt `id`, in words; `None` for
/// any other event.
fn describe(e: &Value, id: &str) -> Option<(String, String)> {
    let (name, f) = e.as_object()?.iter().next()?;
    if !name.starts_with("warehouse_receipt_") || f["receipt"].as_str() != Some(id) {
        return None;
    }
    let what = match name.as_str() {
        "warehouse_receipt_issued" => format!("issued for {}", field(f, "owner")),
        "warehouse_receipt_pledge_offered" => format!("pledge offered to {}", field(f, "bank")),
        "warehouse_receipt_pledged" => format!("pledge accepted by {}", field(f, "bank")),
        "warehouse_receipt_pledge_declined" => format!("pledge declined by {}", field(f, "bank")),
        "warehouse_receipt_pledge_withdrawn" => {
            format!("pledge offer to {} withdrawn", field(f, "bank"))
        }
        "warehouse_receipt_pledge_released" => format!("pledge released by {}", field(f, "bank")),
        "warehouse_receipt_release_instructed" => {
            format!("release instructed by {}", field(f, "owner"))
        }
        "warehouse_receipt_released" => "goods released".to_string(),
        other => other.replace('_', " "),
    };
    Some((name.clone(), what))
}

/// The history of receipt `id` from the transactions `v` may see, oldest first.
pub fn history(d: &IndexData, v: &Viewer, id: &str) -> Vec<Step> {
    let hashes = d
        .doc_txs
        .get(&(DocKind::WarehouseReceipt, id.to_string()))
        .cloned()
        .unwrap_or_default();
    let txs: Vec<TxRecord> = vis::filter(v, hashes.iter().filter_map(|h| d.tx(h).cloned()));
    let mut steps: Vec<Step> = txs
        .iter()
        .filter(|t| t.ok)
        .flat_map(|t| {
            t.events.iter().filter_map(move |e| {
                let (event, what) = describe(e, id)?;
                Some(Step {
                    height: t.height,
                    time_ms: t.time_ms,
                    tx: t.hash.clone(),
                    signer: t.signer_org.clone(),
                    event,
                    what,
                })
            })
        })
        .collect();
    steps.sort_by_key(|s| s.height);
    steps
}

/// The pledge in words: the open offer or the pledgee from the record, else the last
/// pledge answer of the history (declined, withdrawn, released), else `none`.
pub fn pledge_state(r: &WarehouseReceipt, steps: &[Step]) -> String {
    if let Some(bank) = &r.pledgee {
        return format!("pledged to {bank} (accepted)");
    }
    if let Some(bank) = &r.pledge_offer {
        return format!("offered to {bank}");
    }
    let last = steps.iter().rev().find(|s| {
        matches!(
            s.event.as_str(),
            "warehouse_receipt_pledge_declined"
                | "warehouse_receipt_pledge_withdrawn"
                | "warehouse_receipt_pledge_released"
        )
    });
    match last {
        Some(s) => s
            .what
            .strip_prefix("pledge ")
            .unwrap_or(&s.what)
            .to_string(),
        None => "none".into(),
    }
}

/// The pledge column's one word for the `status` filter: `offered`, `pledged`,
/// `declined`, `withdrawn`, `released` or `none`.
fn pledge_word(state: &str) -> &str {
    ["offered", "pledged", "declined", "withdrawn", "released"]
        .into_iter()
        .find(|w| state.contains(w))
        .unwrap_or("none")
}

fn row(r: &WarehouseReceipt, pledge: String) -> Vec<Cell> {
    let id = r.id.as_str();
    vec![
        link(id, format!("/warehouse/{id}")),
        r.lot.as_str().into(),
        r.goods.as_str().into(),
        format!("{} {}", r.quantity, r.unit).into(),
        org_link(r.warehouse.as_str()),
        org_link(r.owner.as_str()),
        status_str(r.status).into(),
        pledge.into(),
        if r.release_instructed { "yes" } else { "no" }.into(),
    ]
}

/// Receipts `v` may see, filtered by `status` (the receipt's `issued`, `pledged`,
/// `released`, or the pledge's `offered`, `declined`, `withdrawn`), `org` (warehouse,
/// owner, pledgee or offered bank) and `q` (id, lot or goods).
pub fn receipts(d: &IndexData, v: &Viewer, q: &ListQuery) -> Table {
    let mut t = Table::new(COLUMNS.to_vec());
    for r in vis::filter(v, d.warehouse_receipts.values().cloned()) {
        let pledge = pledge_state(&r, &history(d, v, r.id.as_str()));
        let status_ok = q.status_ok(status_str(r.status)) || q.status_ok(pledge_word(&pledge));
        if !status_ok
            || !q.org_ok(&vis::Document::parties(&r))
            || !q.text_ok(&[r.id.as_str(), &r.lot, &r.goods])
        {
            continue;
        }
        t.push(row(&r, pledge));
    }
    t
}

/// The pledge state and history of one receipt, for its page (under its fields).
pub fn receipt_section(d: &IndexData, v: &Viewer, r: &WarehouseReceipt) -> Markup {
    let steps = history(d, v, r.id.as_str());
    let pledge = pledge_state(r, &steps);
    let mut t = Table::new(HISTORY_COLUMNS.to_vec());
    for s in steps.iter().take(MAX_HISTORY_ROWS) {
        let date = chrono::DateTime::from_timestamp_millis(i64::try_from(s.time_ms).unwrap_or(0))
            .map(|t| t.date_naive().to_string())
            .unwrap_or_default();
        t.push(vec![
            link(s.height.to_string(), format!("/blocks/{}", s.height)),
            date.into(),
            link(
                format!("{}...", s.tx.chars().take(16).collect::<String>()),
                format!("/tx/{}", s.tx),
            ),
            org_link(&s.signer),
            s.what.as_str().into(),
        ]);
    }
    t.incomplete = d.incomplete();
    html! {
        p id="receipt-state" {
            "Status: " strong { (status_str(r.status)) } "; pledge: " strong { (pledge) }
            @if r.release_instructed { "; the owner instructed the release" }
        }
        @if r.status == ReceiptStatus::Pledged && r.release_instructed {
            p class="muted" { "The warehouse releases the goods once the pledgee releases its pledge." }
        }
        h2 { "Pledge history" }
        p class="muted" { "Every warehouse event of this receipt, from its transactions: a pledge exists only once the offered bank accepts it; only the pledgee releases it." }
        div id="receipt-history" { (table(&t)) }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::views::testdata::org;
    use lianrong_contracts::model::DocId;
    use lianrong_primitives::Hash;
    use serde_json::json;

    pub(crate) fn receipt(id: &str, owner: &str) -> WarehouseReceipt {
        WarehouseReceipt {
            id: DocId::new(id).unwrap(),
            warehouse: org("LOGI"),
            owner: org(owner),
            lot: format!("LOT-{id}"),
            goods: "copper cathode".into(),
            quantity: lianrong_contracts::money::Quantity::parse("120").unwrap(),
            unit: lianrong_contracts::money::Unit::parse("t").unwrap(),
            doc_hash: Hash::ZERO,
            status: ReceiptStatus::Issued,
            pledge_offer: None,
            pledgee: None,
            release_instructed: false,
        }
    }

    fn tx(d: &mut IndexData, n: u64, signer: &str, events: Vec<Value>, id: &str, parties: &[&str]) {
        let hash = format!("{n:064x}");
        let t = TxRecord {
            hash: hash.clone(),
            height: n,
            index: 0,
            time_ms: 1_800_000_000_000 + n * 86_400_000,
            signer_org: signer.into(),
            signer_key: String::new(),
            nonce: n,
            action_name: "x".into(),
            action: json!({}),
            ok: true,
            error: None,
            events,
            docs: vec![(DocKind::WarehouseReceipt, id.to_string())],
            parties: parties.iter().map(|p| p.to_string()).collect(),
        };
        d.tx_by_hash.insert(hash.clone(), (n, 0));
        d.txs.insert((n, 0), t);
        d.doc_txs
            .entry((DocKind::WarehouseReceipt, id.to_string()))
            .or_default()
            .push_back(hash);
    }

    /// WR-1 offered to BANK-B (declined), then pledged to BANK-A; WR-2 of SUP-2, unpledged.
    fn index() -> IndexData {
        let mut d = IndexData {
            cap: 100,
            ..Default::default()
        };
        let mut wr1 = receipt("WR-1", "SUP-1");
        wr1.status = ReceiptStatus::Pledged;
        wr1.pledgee = Some(org("BANK-A"));
        d.warehouse_receipts.insert("WR-1".into(), wr1);
        d.warehouse_receipts
            .insert("WR-2".into(), receipt("WR-2", "SUP-2"));
        let p = ["LOGI", "SUP-1", "BANK-A"];
        let ev = |name: &str, f: Value| json!({ name: f });
        tx(
            &mut d,
            1,
            "LOGI",
            vec![ev(
                "warehouse_receipt_issued",
                json!({"receipt": "WR-1", "owner": "SUP-1"}),
            )],
            "WR-1",
            &p,
        );
        tx(
            &mut d,
            2,
            "SUP-1",
            vec![ev(
                "warehouse_receipt_pledge_offered",
                json!({"receipt": "WR-1", "bank": "BANK-B"}),
            )],
            "WR-1",
            &p,
        );
        tx(
            &mut d,
            3,
            "BANK-B",
            vec![ev(
                "warehouse_receipt_pledge_declined",
                json!({"receipt": "WR-1", "bank": "BANK-B"}),
            )],
            "WR-1",
            &p,
        );
        tx(
            &mut d,
            4,
            "SUP-1",
            vec![ev(
                "warehouse_receipt_pledge_offered",
                json!({"receipt": "WR-1", "bank": "BANK-A"}),
            )],
            "WR-1",
            &p,
        );
        tx(
            &mut d,
            5,
            "BANK-A",
            vec![ev(
                "warehouse_receipt_pledged",
                json!({"receipt": "WR-1", "bank": "BANK-A"}),
            )],
            "WR-1",
            &p,
        );
        tx(
            &mut d,
            6,
            "LOGI",
            vec![ev(
                "warehouse_receipt_issued",
                json!({"receipt": "WR-2", "owner": "SUP-2"}),
            )],
            "WR-2",
            &["LOGI", "SUP-2"],
        );
        d
    }

    fn ids(t: &Table) -> Vec<&str> {
        t.rows.iter().map(|r| r[0].text.as_str()).collect()
    }

    #[test]
    fn receipts_show_lot_owner_and_pledge_in_words() {
        let d = index();
        let audit = Viewer::Everything { org: None };
        let t = receipts(&d, &audit, &ListQuery::default());
        assert_eq!(ids(&t), ["WR-1", "WR-2"]);
        let wr1 = &t.rows[0];
        assert_eq!(wr1[1].text, "LOT-WR-1");
        assert_eq!(wr1[3].text, "120 t");
        assert_eq!(wr1[4].link.as_deref(), Some("/orgs/LOGI"));
        assert_eq!(wr1[5].text, "SUP-1");
        assert_eq!(wr1[6].text, "pledged");
        assert_eq!(wr1[7].text, "pledged to BANK-A (accepted)");
        assert_eq!(wr1[0].link.as_deref(), Some("/warehouse/WR-1"));
        assert_eq!(t.rows[1][7].text, "none");

        let steps = history(&d, &audit, "WR-1");
        let what: Vec<&str> = steps.iter().map(|s| s.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "issued for SUP-1",
                "pledge offered to BANK-B",
                "pledge declined by BANK-B",
                "pledge offered to BANK-A",
                "pledge accepted by BANK-A",
            ]
        );
        // Without the pledge, the last answer is what the receipt shows.
        let mut declined = d.warehouse_receipts["WR-1"].clone();
        declined.pledgee = None;
        declined.status = ReceiptStatus::Issued;
        assert_eq!(pledge_state(&declined, &steps[..3]), "declined by BANK-B");
        declined.pledge_offer = Some(org("BANK-A"));
        assert_eq!(pledge_state(&declined, &steps[..4]), "offered to BANK-A");
    }

    #[test]
    fn filters_and_visibility_follow_the_node_rule() {
        let d = index();
        let audit = Viewer::Everything { org: None };
        let q = |status: &str, org: &str| ListQuery {
            status: (!status.is_empty()).then(|| status.to_string()),
            org: (!org.is_empty()).then(|| org.to_string()),
            ..Default::default()
        };
        assert_eq!(ids(&receipts(&d, &audit, &q("pledged", ""))), ["WR-1"]);
        assert_eq!(ids(&receipts(&d, &audit, &q("issued", ""))), ["WR-2"]);
        assert_eq!(ids(&receipts(&d, &audit, &q("", "BANK-A"))), ["WR-1"]);
        assert_eq!(ids(&receipts(&d, &audit, &q("", "SUP-2"))), ["WR-2"]);

        // An owner sees its own receipt only; another supplier sees none of SUP-1's, and
        // a bank that is not a party sees all (banks read everything).
        let sup2 = Viewer::Org(org("SUP-2"));
        assert_eq!(ids(&receipts(&d, &sup2, &ListQuery::default())), ["WR-2"]);
        assert!(history(&d, &sup2, "WR-1").is_empty());
        let sup1 = Viewer::Org(org("SUP-1"));
        assert_eq!(ids(&receipts(&d, &sup1, &ListQuery::default())), ["WR-1"]);
        assert_eq!(history(&d, &sup1, "WR-1").len(), 5);
        let core = Viewer::Org(org("CORE-A"));
        assert!(receipts(&d, &core, &ListQuery::default()).rows.is_empty());
    }

    #[test]
    fn the_receipt_section_names_the_pledge_and_lists_the_history() {
        let d = index();
        let audit = Viewer::Everything { org: None };
        let mut r = d.warehouse_receipts["WR-1"].clone();
        r.release_instructed = true;
        let html = receipt_section(&d, &audit, &r).into_string();
        assert!(html.contains("id=\"receipt-state\""), "{html}");
        assert!(html.contains("pledged to BANK-A (accepted)"), "{html}");
        assert!(
            html.contains("once the pledgee releases its pledge"),
            "{html}"
        );
        assert!(html.contains("pledge declined by BANK-B"), "{html}");
        assert!(html.contains("href=\"/tx/"), "{html}");
    }
}
