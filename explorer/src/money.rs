//! The money facts an auditor checks (docs/domain.md, "Settlement", "finance"): who was
//! paid what and whether the receiving side said so. Settlements (a debtor's instruction,
//! one line per holder for a maturity settlement 清分, each acknowledged or disputed by its
//! payee), disbursements (value date, days, discount, net and the applicant's answer),
//! offers' validity and accepted financings that lapsed undisbursed.
//!
//! Dates are the ledger's: "today" is the business date of the newest indexed block under
//! the network's UTC offset ([`ledger_today`]), the day the ledger itself judges expiry
//! and lapse by; the lapse window is the ledger's `disburse_within_days` parameter read
//! from `/v1/status`, never a number of the explorer's own.
//!
//! Every list here goes through [`crate::vis`]: an org account sees the settlements it is
//! debtor or payee of (the node's rule in `lianrong_api_types::visibility`), banks and
//! auditors all.

use chrono::NaiveDate;
use lianrong_contracts::model::{
    Disbursement, DisbursementStatus, Financing, FinancingStatus, Offer, OfferStatus, Settlement,
    SettlementStatus,
};
use maud::{html, Markup};

use crate::index::IndexData;
use crate::pages::table;
use crate::views::{link, money, org_link, status_str, Cell, ListQuery, Table};
use crate::vis::{self, Viewer};

/// Days after its value date a disbursement may stay unacknowledged by the applicant
/// before the risk view flags it: a bank's payment normally arrives within two business
/// days, so a third day without an answer is worth an auditor's look.
pub const UNACKNOWLEDGED_FLAG_DAYS: i64 = 3;

/// Days after its value date a disbursed financing may stay without a recorded 中登网
/// registration before the risk view flags it: the registry takes filings online the
/// same day, so ten days leaves a bank's back office two working weeks.
pub const UNREGISTERED_FLAG_DAYS: i64 = 10;

/// Most settlement rows a receivable page or its lineage lists (a 清分 has at most 64
/// lines; a root's lineage may carry several instructions and disputes).
pub const MAX_SETTLEMENT_ROWS: usize = 200;

/// The ledger's business date: that of the newest indexed block under the network's UTC
/// offset (what the ledger's next block is judged by, give or take its time), else the
/// wall clock's in the default business time zone until a block is indexed.
pub fn ledger_today(d: &IndexData) -> NaiveDate {
    let offset = d.node.as_ref().map_or(480, |s| s.params.utc_offset_minutes);
    d.blocks
        .values()
        .next_back()
        .and_then(|b| lianrong_contracts::exec::business_date(b.time_ms, offset))
        .unwrap_or_else(crate::views::business_today)
}

/// A settlement's answer in words: `pending`, `acknowledged on D`, `disputed on D: why`.
pub fn settlement_state(s: &Settlement) -> String {
    let on = s
        .answered_on
        .map(|d| format!(" on {d}"))
        .unwrap_or_default();
    match s.status {
        SettlementStatus::Pending => "pending".into(),
        SettlementStatus::Acknowledged => format!("acknowledged{on}"),
        SettlementStatus::Disputed => format!(
            "disputed{on}: {}",
            s.dispute_reason.as_deref().unwrap_or("no reason recorded")
        ),
    }
}

/// The columns of every settlement table (list, CSV, receivable page, lineage).
const SETTLEMENT_COLUMNS: [&str; 12] = [
    "id",
    "receivable",
    "root",
    "line",
    "debtor",
    "payee",
    "amount",
    "payment ref",
    "instructed on",
    "status",
    "answered on",
    "answer",
];

fn settlement_row(s: &Settlement) -> Vec<Cell> {
    vec![
        link(s.id.to_string(), format!("/settlements/{}", s.id)),
        link(
            s.receivable.to_string(),
            format!("/receivables/{}", s.receivable),
        ),
        link(s.root.to_string(), format!("/receivables/{}", s.root)),
        format!("{} of {}", s.line, s.lines).into(),
        org_link(s.debtor.as_str()),
        org_link(s.payee.as_str()),
        money(&s.amount).into(),
        s.payment_ref.clone().into(),
        s.instructed_on.to_string().into(),
        status_str(&s.status).into(),
        s.answered_on
            .map(|d| d.to_string())
            .unwrap_or_default()
            .into(),
        settlement_state(s).into(),
    ]
}

/// Settlements, filtered by `status` (pending, acknowledged, disputed), `debtor`, `payee`,
/// `org` (either), `q` (id, receivable or payment reference) and `from`/`to` (instruction
/// date).
pub fn settlements(d: &IndexData, v: &Viewer, q: &ListQuery) -> Table {
    let mut t = Table::new(SETTLEMENT_COLUMNS.to_vec());
    let is = |want: &Option<String>, org: &str| ListQuery::nonempty(want).is_none_or(|w| w == org);
    for s in vis::filter(v, d.settlements.values().cloned()) {
        if !q.status_ok(&status_str(&s.status))
            || !is(&q.debtor, s.debtor.as_str())
            || !is(&q.payee, s.payee.as_str())
            || !q.org_ok(&[s.debtor.as_str(), s.payee.as_str()])
            || !q.text_ok(&[s.id.as_str(), s.receivable.as_str(), &s.payment_ref])
            || !q.date_ok(s.instructed_on)
        {
            continue;
        }
        t.push(settlement_row(&s));
    }
    t
}

/// The settlements `v` may see that `keep` selects, in instruction order (by payment
/// reference, then line), at most [`MAX_SETTLEMENT_ROWS`]; and whether rows were cut.
fn visible_settlements(
    d: &IndexData,
    v: &Viewer,
    keep: impl Fn(&Settlement) -> bool,
) -> (Vec<Settlement>, bool) {
    let mut rows = vis::filter(v, d.settlements.values().filter(|s| keep(s)).cloned());
    rows.sort_by(|a, b| {
        (a.instructed_on, &a.payment_ref, a.line).cmp(&(b.instructed_on, &b.payment_ref, b.line))
    });
    let cut = rows.len() > MAX_SETTLEMENT_ROWS;
    rows.truncate(MAX_SETTLEMENT_ROWS);
    (rows, cut)
}

/// A settlement table (receivable page, lineage) with the index's note.
fn settlement_section(d: &IndexData, rows: &[Settlement], cut: bool, id: &str) -> Markup {
    let mut t = Table::new(SETTLEMENT_COLUMNS.to_vec());
    rows.iter().for_each(|s| t.push(settlement_row(s)));
    t.incomplete = d.incomplete();
    html! {
        div id=(id) { (table(&t)) }
        @if cut { p class="error" { "Only the first " (MAX_SETTLEMENT_ROWS) " settlements are listed; the settlements list has them all." } }
    }
}

/// The settlements of receivable `rid` (its page).
pub fn receivable_settlements(d: &IndexData, v: &Viewer, rid: &str) -> Markup {
    let (rows, cut) = visible_settlements(d, v, |s| s.receivable.as_str() == rid);
    html! {
        h2 { "Settlements" }
        p class="muted" { "A payment lowers the outstanding amount only once its payee acknowledges it; a disputed one repays nothing." }
        (settlement_section(d, &rows, cut, "settlements"))
    }
}

/// Every settlement line of the lineage of `root` (which part was paid by which line of a
/// maturity settlement 清分), grouped by instruction.
pub fn lineage_settlements(d: &IndexData, v: &Viewer, root: &str) -> Markup {
    let (rows, cut) = visible_settlements(d, v, |s| s.root.as_str() == root);
    html! {
        h2 { "Settlements of the lineage" }
        p class="muted" { "One row per settlement line: a maturity settlement (清分) of root " (root) " pays each live part's holder under one payment reference, line i of n; each payee answers its own line." }
        (settlement_section(d, &rows, cut, "lineage-settlements"))
    }
}

/// The other lines of the instruction `s` belongs to (same debtor and payment reference),
/// as `v` may see them.
pub fn instruction_lines(d: &IndexData, v: &Viewer, s: &Settlement) -> Markup {
    let (rows, cut) = visible_settlements(d, v, |o| {
        o.debtor == s.debtor && o.payment_ref == s.payment_ref && o.root == s.root
    });
    html! {
        p id="settlement-state" { "Status: " strong { (settlement_state(s)) } }
        p { a id="settlement-receivable" href=(format!("/receivables/{}", s.receivable)) { "Receivable " (s.receivable) } " (root " a href=(format!("/receivables/{}", s.root)) { (s.root) } ")" }
        h2 { "Lines of this instruction (" (s.lines) ")" }
        (settlement_section(d, &rows, cut, "instruction-lines"))
    }
}

/// A disbursement's answer in words: `unacknowledged`, `acknowledged`, `disputed: why`.
pub fn disbursement_answer(x: &Disbursement) -> String {
    match x.status {
        DisbursementStatus::Unacknowledged => "unacknowledged".into(),
        DisbursementStatus::Acknowledged => "acknowledged".into(),
        DisbursementStatus::Disputed => format!(
            "disputed: {}",
            x.dispute_reason.as_deref().unwrap_or("no reason recorded")
        ),
    }
}

/// Where an accepted, undisbursed financing stands against the ledger's lapse window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lapse {
    /// The bank may still disburse, up to and including `until`.
    Waiting {
        /// The last business date a disbursement is accepted.
        until: NaiveDate,
    },
    /// More than `window` days passed since acceptance: the bank can no longer disburse
    /// and the applicant may cancel.
    Lapsed {
        /// The acceptance date.
        accepted: NaiveDate,
        /// The ledger's `disburse_within_days`.
        window: u32,
    },
    /// The node's parameters are not read yet.
    Unknown,
}

impl std::fmt::Display for Lapse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lapse::Waiting { until } => write!(f, "waiting: the bank may disburse until {until}"),
            Lapse::Lapsed { accepted, window } => write!(
                f,
                "lapsed: accepted {accepted}, not disbursed within {window} days (disburse_within_days)"
            ),
            Lapse::Unknown => f.write_str("unknown: the node's parameters are not read yet"),
        }
    }
}

/// Whether an accepted financing's window to disburse ran out, by the ledger's rule (more
/// than `disburse_within_days` since acceptance); `None` when it is not waiting for a
/// disbursement.
pub fn lapse_state(d: &IndexData, f: &Financing, today: NaiveDate) -> Option<Lapse> {
    let terms = f
        .terms
        .as_ref()
        .filter(|_| f.status == FinancingStatus::Accepted)?;
    let Some(params) = d.node.as_ref().map(|s| &s.params) else {
        return Some(Lapse::Unknown);
    };
    let window = params.disburse_within_days;
    Some(
        if (today - terms.value_date).num_days() > i64::from(window) {
            Lapse::Lapsed {
                accepted: terms.value_date,
                window,
            }
        } else {
            Lapse::Waiting {
                until: terms.value_date + chrono::Duration::days(i64::from(window)),
            }
        },
    )
}

/// True if the offer's validity ran out (the ledger refuses it after `valid_until`).
pub fn offer_expired(o: &Offer, today: NaiveDate) -> bool {
    today > o.valid_until
}

/// An offer's validity in words, as of `today`.
pub fn offer_validity(o: &Offer, today: NaiveDate) -> String {
    let expired = offer_expired(o, today);
    match (o.status, expired) {
        (OfferStatus::Withdrawn, _) => format!("withdrawn (valid until {})", o.valid_until),
        (_, true) => format!("expired on {}", o.valid_until),
        (_, false) => format!("valid until {}", o.valid_until),
    }
}

/// The offers on financing `f` that `v` may see, with their validity.
fn offers_table(d: &IndexData, v: &Viewer, f: &Financing, today: NaiveDate) -> Table {
    let mut t = Table::new(vec![
        "offer",
        "bank",
        "rate",
        "fees",
        "valid until",
        "status",
        "validity",
        "all-in cost to the supplier",
    ]);
    let offers = f.offers.iter().filter_map(|id| d.offers.get(id.as_str()));
    for ov in vis::filter(v, offers.map(|o| d.offer_view(o))) {
        let o = &ov.offer;
        let all_in = crate::pricing::all_in_cell(&crate::pricing::offer_view(d, o));
        t.push(vec![
            link(o.id.to_string(), format!("/offers/{}", o.id)),
            org_link(o.bank.as_str()),
            format!("{}%", o.rate.percent()).into(),
            money(&o.fees).into(),
            o.valid_until.to_string().into(),
            status_str(&o.status).into(),
            offer_validity(o, today).into(),
            all_in.into(),
        ]);
    }
    t.incomplete = d.incomplete();
    t
}

/// The financing page's money facts: the lapse window, the disbursement (value date,
/// days, discount, net and the applicant's answer) and the offers with their validity.
pub fn financing_section(d: &IndexData, v: &Viewer, f: &Financing) -> Markup {
    let today = ledger_today(d);
    html! {
        p class="muted" { "Ledger date " (today) " (the newest block's business date)." }
        @if let Some(lapse) = lapse_state(d, f, today) {
            p id="lapse" class=[matches!(lapse, Lapse::Lapsed { .. }).then_some("error")] { (lapse.to_string()) }
        }
        h2 { "Disbursement" }
        @if let Some(x) = &f.disbursement {
            table class="fields" id="disbursement" {
                tr { th { "value date" } td { (x.value_date) } }
                tr { th { "days" } td { (x.days) } }
                tr { th { "discount" } td { (money(&x.discount)) } }
                tr { th { "net" } td { (money(&x.net)) } }
                tr { th { "payment ref" } td { (x.payment_ref) } }
                tr { th { "applicant's answer" } td id="disbursement-answer" { (disbursement_answer(x)) } }
                tr { th { "registry (中登网)" } td id="registration" { (registration_text(f)) } }
            }
        } @else {
            p class="muted" id="disbursement" { "Not disbursed." }
        }
        h2 { "Offers" }
        div id="offers" { (table(&offers_table(d, v, f, today))) }
    }
}

/// The financing's 中登网 registration as the bank recorded it.
fn registration_text(f: &Financing) -> String {
    match &f.registration {
        Some(r) => format!("{} (recorded {})", r.number, r.recorded_on),
        None => "not recorded".into(),
    }
}

/// The disbursement risk view as of the ledger's date of `d` (the list the page reads
/// from the store a chunk at a time: every financing `v` reads, `org` in SQL).
pub fn disbursements(d: &IndexData, v: &Viewer, q: &ListQuery) -> Table {
    disbursement_risk(d, v, q, ledger_today(d))
}

/// Risk view: disbursements unacknowledged more than [`UNACKNOWLEDGED_FLAG_DAYS`] after
/// their value date, disputed ones, those without a recorded 中登网 registration more
/// than [`UNREGISTERED_FLAG_DAYS`] after it, and accepted financings that lapsed
/// undisbursed.
pub fn disbursement_risk(d: &IndexData, v: &Viewer, q: &ListQuery, today: NaiveDate) -> Table {
    let mut t = Table::new(vec![
        "financing",
        "receivable",
        "applicant",
        "bank",
        "date",
        "days since",
        "net",
        "flag",
    ]);
    for f in vis::filter(v, d.financings.values().cloned()) {
        let Some(terms) = &f.terms else { continue };
        if !q.org_ok(&[f.applicant.as_str(), terms.bank.as_str()]) {
            continue;
        }
        let (date, net, flag) = match (&f.disbursement, lapse_state(d, &f, today)) {
            (Some(x), _) => {
                let days = (today - x.value_date).num_days();
                let mut flags = Vec::new();
                match x.status {
                    DisbursementStatus::Disputed => flags.push(disbursement_answer(x)),
                    DisbursementStatus::Unacknowledged if days > UNACKNOWLEDGED_FLAG_DAYS => {
                        flags.push("unacknowledged".to_string());
                    }
                    _ => {}
                }
                if f.registration.is_none() && days > UNREGISTERED_FLAG_DAYS {
                    flags.push(format!("not registered with 中登网 after {days} days"));
                }
                if flags.is_empty() {
                    continue;
                }
                (x.value_date, &x.net, flags.join("; "))
            }
            (None, Some(l @ Lapse::Lapsed { .. })) => (terms.value_date, &terms.net, l.to_string()),
            _ => continue,
        };
        t.push(vec![
            link(f.id.to_string(), format!("/financings/{}", f.id)),
            link(
                f.receivable.to_string(),
                format!("/receivables/{}", f.receivable),
            ),
            org_link(f.applicant.as_str()),
            org_link(terms.bank.as_str()),
            date.to_string().into(),
            (today - date).num_days().to_string().into(),
            money(net).into(),
            flag.into(),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lianrong_contracts::model::{DocId, FinancingTerms, Receivable, ReceivableStatus};
    use lianrong_contracts::money::{Money, Rate};
    use lianrong_contracts::{Action, Event};
    use lianrong_primitives::OrgId;
    use tokio::sync::broadcast;

    use super::*;
    use crate::index::{BlockRow, Follower, Index};
    use crate::node::fake::{self, FakeNode};
    use crate::node::{paths, Doc};
    use crate::views::testdata;

    fn id(s: &str) -> DocId {
        DocId::new(s).unwrap()
    }

    fn org(s: &str) -> OrgId {
        OrgId::new(s).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Line `line` of `lines` of CORE-A's instruction `payment_ref`, paying `payee` on
    /// `receivable` (of root RCV-1), pending.
    fn settlement(sid: &str, rcv: &str, payee: &str, amount: &str, line: (u32, u32)) -> Settlement {
        Settlement {
            id: id(sid),
            debtor: org("CORE-A"),
            payee: org(payee),
            receivable: id(rcv),
            root: id("RCV-1"),
            amount: Money::parse(amount, "CNY").unwrap(),
            payment_ref: "HX-PAY-0202".into(),
            line: line.0,
            lines: line.1,
            instructed_on: day("2027-01-31"),
            status: SettlementStatus::Pending,
            answered_on: None,
            dispute_reason: None,
        }
    }

    fn instructed(s: &Settlement) -> Event {
        Event::SettlementInstructed {
            settlement: s.id.clone(),
            receivable: s.receivable.clone(),
            debtor: s.debtor.clone(),
            payee: s.payee.clone(),
            amount: s.amount,
            payment_ref: s.payment_ref.clone(),
        }
    }

    /// Serves block `h` with one transaction by `signer` doing `action` with `events`, and
    /// the documents as they are after it.
    fn serve_block(node: &FakeNode, h: u64, signer: &str, action: Action, events: Vec<Event>) {
        let hash = fake::hash(0x40 + h as u8);
        node.set(&paths::block(h), fake::block(h, &[hash]));
        node.set(
            &paths::transaction(&hash),
            fake::tx(hash, h, signer, action, events),
        );
        node.set(paths::STATUS, fake::status(h, vec![]));
    }

    fn rcv(id_: &str, holder: &str, face: &str) -> Receivable {
        let mut r = testdata::receivable(id_, holder, "CORE-A", "2026-11-01", "2027-01-31", face);
        r.root = id("RCV-1");
        r
    }

    fn col(t: &Table, name: &str) -> Vec<String> {
        let i = t.columns.iter().position(|c| *c == name).unwrap();
        t.rows.iter().map(|r| r[i].text.clone()).collect()
    }

    fn audit() -> Viewer {
        Viewer::Everything { org: None }
    }

    /// The follower learns a settlement from the events of the transaction that made it,
    /// and its answer from the acknowledging transaction's: pending, then acknowledged.
    #[tokio::test]
    async fn a_settlement_instructed_then_acknowledged_shows_its_status() {
        let node = Arc::new(FakeNode::default());
        node.set_receivables(vec![rcv("RCV-1", "SUP-1", "100.00")]);
        let mut s = settlement("STL-1", "RCV-1", "SUP-1", "40.00", (1, 1));
        let repay = Action::Repay {
            receivable: id("RCV-1"),
            payee: org("SUP-1"),
            amount: s.amount.amount,
            payment_ref: s.payment_ref.clone(),
        };
        serve_block(&node, 1, "CORE-A", repay, vec![instructed(&s)]);
        node.set_doc(Doc::Settlement(s.clone()));
        let index = Arc::new(Index::new(100));
        let store = crate::store::Store::memory().await.unwrap();
        let f = Follower::new(node.clone(), index.clone(), store, broadcast::channel(16).0);
        f.rebuild().await.unwrap();
        index.read(|d| {
            let t = settlements(d, &audit(), &ListQuery::default());
            assert_eq!(col(&t, "status"), ["pending"]);
            assert_eq!(col(&t, "receivable"), ["RCV-1"]);
            assert_eq!(t.rows[0][1].link.as_deref(), Some("/receivables/RCV-1"));
        });

        s.status = SettlementStatus::Acknowledged;
        s.answered_on = Some(day("2027-02-01"));
        let ack = Action::AcknowledgeSettlement {
            settlement: s.id.clone(),
        };
        let event = Event::SettlementAcknowledged {
            settlement: s.id.clone(),
            receivable: s.receivable.clone(),
            payee: s.payee.clone(),
            amount: s.amount,
        };
        serve_block(&node, 2, "SUP-1", ack, vec![event]);
        node.set_doc(Doc::Settlement(s.clone()));
        f.catch_up().await.unwrap();
        index.read(|d| {
            let q = ListQuery {
                status: Some("acknowledged".into()),
                ..Default::default()
            };
            let t = settlements(d, &audit(), &q);
            assert_eq!(col(&t, "id"), ["STL-1"]);
            assert_eq!(col(&t, "answer"), ["acknowledged on 2027-02-01"]);
            let pending = ListQuery {
                status: Some("pending".into()),
                ..Default::default()
            };
            assert!(settlements(d, &audit(), &pending).rows.is_empty());
            assert_eq!(d.incomplete(), None);
        });
    }

    /// Root RCV-1 split into RCV-2 (SUP-1) and RCV-3 (SUP-3); CORE-A's 清分 pays one line
    /// to each holder.
    fn settled_root() -> IndexData {
        let mut d = IndexData {
            node: Some(fake::status(1, vec![])),
            cap: 100,
            ..Default::default()
        };
        let mut root = rcv("RCV-1", "SUP-1", "100.00");
        root.status = ReceivableStatus::Split;
        root.children = vec![id("RCV-2"), id("RCV-3")];
        for r in [
            root,
            rcv("RCV-2", "SUP-1", "60.00"),
            rcv("RCV-3", "SUP-3", "40.00"),
        ] {
            d.receivables.insert(r.id.to_string(), r);
        }
        let mut l2 = settlement("STL-2", "RCV-3", "SUP-3", "40.00", (2, 2));
        l2.status = SettlementStatus::Acknowledged;
        l2.answered_on = Some(day("2027-02-01"));
        for s in [settlement("STL-1", "RCV-2", "SUP-1", "60.00", (1, 2)), l2] {
            d.settlements.insert(s.id.to_string(), s);
        }
        d
    }

    #[test]
    fn a_maturity_settlement_shows_which_line_paid_which_part() {
        let d = settled_root();
        let t = settlements(&d, &audit(), &ListQuery::default());
        assert_eq!(col(&t, "receivable"), ["RCV-2", "RCV-3"]);
        assert_eq!(col(&t, "line"), ["1 of 2", "2 of 2"]);
        assert_eq!(col(&t, "payee"), ["SUP-1", "SUP-3"]);
        assert_eq!(col(&t, "status"), ["pending", "acknowledged"]);
        // The root's lineage lists both lines, each linking to the part it paid.
        let html = lineage_settlements(&d, &audit(), "RCV-1").into_string();
        assert!(html.contains("id=\"lineage-settlements\""), "{html}");
        for (stl, part) in [("STL-1", "RCV-2"), ("STL-2", "RCV-3")] {
            assert!(
                html.contains(&format!("href=\"/settlements/{stl}\"")),
                "{html}"
            );
            assert!(
                html.contains(&format!("href=\"/receivables/{part}\"")),
                "{html}"
            );
        }
        // A part's page lists its own line only.
        let html = receivable_settlements(&d, &audit(), "RCV-3").into_string();
        assert!(html.contains("STL-2") && !html.contains("STL-1"), "{html}");
        let q = ListQuery {
            payee: Some("SUP-3".into()),
            ..Default::default()
        };
        assert_eq!(col(&settlements(&d, &audit(), &q), "id"), ["STL-2"]);
        let q = ListQuery {
            debtor: Some("CORE-B".into()),
            ..Default::default()
        };
        assert!(settlements(&d, &audit(), &q).rows.is_empty());
    }

    /// A supplier sees the settlements it is payee (or debtor) of, nothing else: in the
    /// list, its CSV, the lineage and a detail page; banks and auditors see all.
    #[test]
    fn a_restricted_viewer_sees_only_its_own_settlements() {
        let d = settled_root();
        let sup3 = Viewer::Org(org("SUP-3"));
        let t = settlements(&d, &sup3, &ListQuery::default());
        assert_eq!(col(&t, "id"), ["STL-2"]);
        let csv = t.to_csv().unwrap();
        assert!(csv.contains("STL-2") && !csv.contains("STL-1"), "{csv}");
        let html = lineage_settlements(&d, &sup3, "RCV-1").into_string();
        assert!(html.contains("STL-2") && !html.contains("STL-1"), "{html}");
        assert!(vis::one(&sup3, d.settlements["STL-1"].clone()).is_none());
        let sup1 = Viewer::Org(org("SUP-1"));
        assert_eq!(
            col(&settlements(&d, &sup1, &ListQuery::default()), "id"),
            ["STL-1"]
        );
        let core = Viewer::Org(org("CORE-A"));
        assert_eq!(settlements(&d, &core, &ListQuery::default()).rows.len(), 2);
        let bank = Viewer::Everything {
            org: Some("BANK-A".into()),
        };
        assert_eq!(settlements(&d, &bank, &ListQuery::default()).rows.len(), 2);
        let other = Viewer::Org(org("SUP-2"));
        assert!(settlements(&d, &other, &ListQuery::default())
            .rows
            .is_empty());
    }

    /// Payment references and dispute reasons are the parties' text: a CSV cell that a
    /// spreadsheet would run as a formula is neutralised (`views::csv_safe`).
    #[test]
    fn settlement_csv_cells_are_safe() {
        let mut d = settled_root();
        if let Some(s) = d.settlements.get_mut("STL-1") {
            s.payment_ref = "=HYPERLINK(\"http://x\")".into();
            s.status = SettlementStatus::Disputed;
            s.dispute_reason = Some("-1+cmd|' /C calc'!A0".into());
        }
        let csv = settlements(&d, &audit(), &ListQuery::default())
            .to_csv()
            .unwrap();
        assert!(csv.contains(",\"'=HYPERLINK("), "{csv}");
        // The reason comes after the answer's own word, never first in its cell.
        assert!(csv.contains(",disputed: -1+cmd"), "{csv}");
        assert!(
            !csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"),
            "{csv}"
        );
        assert!(csv
            .lines()
            .next()
            .unwrap()
            .starts_with("id,receivable,root,line"));
    }

    /// A financing accepted on `accepted` by BANK-A, disbursed if `disbursed` is given.
    fn financing(accepted: &str, disbursed: Option<Disbursement>) -> Financing {
        let face = Money::parse("100.00", "CNY").unwrap();
        Financing {
            id: id("FIN-1"),
            receivable: id("RCV-2"),
            applicant: org("SUP-1"),
            banks: vec![org("BANK-A")],
            offers: vec![id("OFR-1")],
            status: if disbursed.is_some() {
                FinancingStatus::Disbursed
            } else {
                FinancingStatus::Accepted
            },
            terms: Some(FinancingTerms {
                offer: id("OFR-1"),
                bank: org("BANK-A"),
                face,
                advanced: face,
                rate: Rate::parse("3.65").unwrap(),
                fees: Money::parse("0.00", "CNY").unwrap(),
                value_date: day(accepted),
                days: 90,
                discount: Money::parse("0.91", "CNY").unwrap(),
                net: Money::parse("99.09", "CNY").unwrap(),
                valid_until: day("2027-01-10"),
            }),
            payment_ref: disbursed.as_ref().map(|x| x.payment_ref.clone()),
            disbursement: disbursed,
            registration: None,
            programme: None,
            recourse: None,
            overdue: None,
        }
    }

    fn disbursement(value: &str, status: DisbursementStatus) -> Disbursement {
        Disbursement {
            payment_ref: "CMB-000731".into(),
            value_date: day(value),
            days: 88,
            discount: Money::parse("0.89", "CNY").unwrap(),
            net: Money::parse("99.11", "CNY").unwrap(),
            status,
            dispute_reason: (status == DisbursementStatus::Disputed).then(|| "short".into()),
        }
    }

    /// The ledger's date: the newest block's business date under the network's offset.
    fn at(d: &mut IndexData, date: &str) {
        let ms = day(date)
            .and_hms_opt(4, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis() as u64;
        let mut b = BlockRow::from_view(&fake::block(1, &[]));
        b.time_ms = ms;
        d.blocks.insert(1, b);
    }

    #[test]
    fn lapses_use_the_ledgers_window_and_offers_show_their_validity() {
        let mut d = settled_root();
        at(&mut d, "2027-01-08");
        assert_eq!(ledger_today(&d), day("2027-01-08"));
        let f = financing("2027-01-02", None);
        d.financings.insert("FIN-1".into(), f.clone());
        // Default window 5 days: accepted 01-02, lapsed on 01-08.
        let lapsed = Lapse::Lapsed {
            accepted: day("2027-01-02"),
            window: 5,
        };
        assert_eq!(lapse_state(&d, &f, ledger_today(&d)), Some(lapsed));
        let risk = disbursement_risk(&d, &audit(), &ListQuery::default(), ledger_today(&d));
        assert_eq!(col(&risk, "financing"), ["FIN-1"]);
        assert!(col(&risk, "flag")[0].starts_with("lapsed"), "{risk:?}");
        // A network that allows 10 days: still waiting, nothing flagged.
        if let Some(s) = d.node.as_mut() {
            s.params.disburse_within_days = 10;
        }
        let until = day("2027-01-12");
        assert_eq!(
            lapse_state(&d, &f, ledger_today(&d)),
            Some(Lapse::Waiting { until })
        );
        assert!(
            disbursement_risk(&d, &audit(), &ListQuery::default(), ledger_today(&d))
                .rows
                .is_empty()
        );

        let offer = Offer {
            id: id("OFR-1"),
            financing: id("FIN-1"),
            bank: org("BANK-A"),
            rate: Rate::parse("3.65").unwrap(),
            fees: Money::parse("0.00", "CNY").unwrap(),
            valid_until: day("2027-01-07"),
            status: OfferStatus::Open,
            penalty_rate: None,
            recourse: None,
        };
        assert!(offer_expired(&offer, ledger_today(&d)));
        assert_eq!(
            offer_validity(&offer, day("2027-01-07")),
            "valid until 2027-01-07"
        );
        d.offers.insert("OFR-1".into(), offer);
        let html = financing_section(&d, &audit(), &f).into_string();
        assert!(html.contains("expired on 2027-01-07"), "{html}");
        assert!(
            html.contains("waiting: the bank may disburse until 2027-01-12"),
            "{html}"
        );
        // The applicant reads the offers on its financing; another supplier does not.
        let sup2 = financing_section(&d, &Viewer::Org(org("SUP-2")), &f).into_string();
        assert!(!sup2.contains("OFR-1"), "{sup2}");
    }

    #[test]
    fn unacknowledged_and_disputed_disbursements_are_flagged() {
        let mut d = settled_root();
        at(&mut d, "2027-01-10");
        let today = ledger_today(&d);
        let flagged = |d: &IndexData| {
            col(
                &disbursement_risk(d, &audit(), &ListQuery::default(), today),
                "flag",
            )
        };
        let fresh = disbursement("2027-01-08", DisbursementStatus::Unacknowledged);
        d.financings
            .insert("FIN-1".into(), financing("2027-01-08", Some(fresh)));
        assert!(
            flagged(&d).is_empty(),
            "2 days unanswered is not yet flagged"
        );
        let old = disbursement("2027-01-06", DisbursementStatus::Unacknowledged);
        d.financings
            .insert("FIN-1".into(), financing("2027-01-06", Some(old)));
        assert_eq!(flagged(&d), ["unacknowledged"]);
        let ok = disbursement("2027-01-06", DisbursementStatus::Acknowledged);
        d.financings
            .insert("FIN-1".into(), financing("2027-01-06", Some(ok.clone())));
        assert!(flagged(&d).is_empty());
        let disputed = disbursement("2027-01-09", DisbursementStatus::Disputed);
        let f = financing("2027-01-09", Some(disputed));
        d.financings.insert("FIN-1".into(), f.clone());
        assert_eq!(flagged(&d), ["disputed: short"]);
        let html = financing_section(&d, &audit(), &f).into_string();
        for want in [
            "2027-01-09",
            ">88<",
            "0.89 CNY",
            "99.11 CNY",
            "disputed: short",
        ] {
            assert!(html.contains(want), "{want}: {html}");
        }
        let ack = financing_section(&d, &audit(), &financing("2027-01-06", Some(ok)));
        assert!(ack.into_string().contains(">acknowledged<"));
    }

    #[test]
    fn a_disbursement_without_a_registry_number_is_flagged_after_ten_days() {
        let mut d = settled_root();
        at(&mut d, "2027-01-20");
        let today = ledger_today(&d);
        let flagged = |d: &IndexData| {
            col(
                &disbursement_risk(d, &audit(), &ListQuery::default(), today),
                "flag",
            )
        };
        let paid = |day: &str| disbursement(day, DisbursementStatus::Acknowledged);
        d.financings.insert(
            "FIN-1".into(),
            financing("2027-01-10", Some(paid("2027-01-10"))),
        );
        assert!(flagged(&d).is_empty(), "10 days: not yet");
        let mut late = financing("2027-01-09", Some(paid("2027-01-09")));
        d.financings.insert("FIN-1".into(), late.clone());
        assert_eq!(flagged(&d), ["not registered with 中登网 after 11 days"]);
        late.registration = Some(lianrong_contracts::model::Registration {
            number: "05383857000123456789".into(),
            recorded_on: day("2027-01-12"),
        });
        d.financings.insert("FIN-1".into(), late);
        assert!(flagged(&d).is_empty(), "registered: nothing to flag");
    }
}
