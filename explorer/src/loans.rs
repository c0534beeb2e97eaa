//! Loans against pledged warehouse receipts (`/loans`, its CSV, and `/loans/{id}`): each
//! loan's borrower, bank, status, principal, balance, goods value at the bank's latest
//! prices, LTV against its limit and margin-call threshold, the margin call's deadline
//! and accrued interest -- the node's figures (`/v1/loans`, computed by the ledger's own
//! rule), as of the ledger's date. The borrower and the bank see a loan; banks and
//! auditors see all (`Loan`'s rule in `lianrong_api_types::visibility`, through
//! [`crate::vis`]). Loans are read from the node when the page is asked for.

use lianrong_api_types::LoanView;
use maud::{html, Markup};

use crate::node::{NodeApi, NodeError};
use crate::views::{link, org_link, Cell, ListQuery, Table};
use crate::vis::{self, Viewer};

/// Most pages of `/v1/loans` one view reads (500 each); more is shown as incomplete.
const MAX_LOAN_PAGES: usize = 40;

/// Every loan the node lists (the explorer's token reads them all), and why the list may
/// be incomplete.
pub async fn fetch(node: &dyn NodeApi) -> Result<(Vec<LoanView>, Option<String>), NodeError> {
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_LOAN_PAGES {
        let page = node.loans_page(after.as_deref(), 500).await?;
        items.extend(page.items);
        match page.next.map(|n| n.to_string()) {
            // A cursor that does not move forward would loop: stop and say so.
            Some(n) if after.as_ref().is_none_or(|a| &n > a) => after = Some(n),
            Some(_) => {
                return Ok((
                    items,
                    Some("the node's list of loans did not advance".into()),
                ))
            }
            None => return Ok((items, None)),
        }
    }
    Ok((
        items,
        Some(format!("more than {} loans", MAX_LOAN_PAGES * 500)),
    ))
}

/// `requested`, `offered`, `accepted`, `disbursed`, `repaid`, `enforced`, `cancelled`.
fn status(v: &LoanView) -> String {
    serde_json::to_value(v.status)
        .ok()
        .and_then(|s| s.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The LTV against the loan's limits in one cell: `88.8889 % (max 70 %, call > 80 %)`.
fn ltv(v: &LoanView) -> String {
    let figure = v
        .ltv_percent
        .as_deref()
        .map_or_else(|| "-".to_string(), |p| format!("{p} %"));
    match &v.loan.terms {
        Some(t) => format!(
            "{figure} (max {} %, call > {} %)",
            t.ltv_max.percent(),
            t.margin_call_ltv.percent()
        ),
        None => figure,
    }
}

/// The margin-call state in words.
fn margin(v: &LoanView) -> String {
    match (v.margin_call_deadline, v.above_margin_call) {
        (Some(d), _) => format!("called, cure by {d}"),
        (None, true) => "above the threshold, not called".into(),
        (None, false) => "none".into(),
    }
}

/// What the viewer may see of `items`, filtered by `?status=` and `?org=` (borrower or
/// bank) and `?q=` (id or receipt).
pub fn table(items: Vec<LoanView>, v: &Viewer, q: &ListQuery) -> Table {
    let mut t = Table::new(vec![
        "id",
        "borrower",
        "bank",
        "status",
        "principal",
        "balance",
        "goods value",
        "LTV",
        "margin call",
        "receipts",
        "accrued interest",
    ]);
    for l in vis::filter(v, items) {
        let parties = [l.loan.borrower.as_str(), l.loan.bank.as_str()];
        let receipts: Vec<&str> = l.loan.receipts.iter().map(|r| r.as_str()).collect();
        let mut text = receipts.clone();
        text.push(l.loan.id.as_str());
        if !q.org_ok(&parties) || !q.status_ok(&status(&l)) || !q.text_ok(&text) {
            continue;
        }
        let id = l.loan.id.as_str();
        let row: Vec<Cell> = vec![
            link(id, format!("/loans/{id}")),
            org_link(l.loan.borrower.as_str()),
            org_link(l.loan.bank.as_str()),
            status(&l).into(),
            l.loan.amount.to_string().into(),
            l.balance.to_string().into(),
            l.value
                .map_or_else(|| "not valued".to_string(), |m| m.to_string())
                .into(),
            ltv(&l).into(),
            margin(&l).into(),
            receipts.join(", ").into(),
            l.accrued_interest.to_string().into(),
        ];
        t.push(row);
    }
    t
}

/// One loan's page: parties, terms, figures as of the ledger's date, receipts.
pub fn detail(v: &LoanView) -> Markup {
    let l = &v.loan;
    html! {
        table class="fields" id="loan" {
            tr { th { "id" } td { (l.id) } }
            tr { th { "borrower" } td { a href=(format!("/orgs/{}", l.borrower)) { (l.borrower) } } }
            tr { th { "bank" } td { a href=(format!("/orgs/{}", l.bank)) { (l.bank) } } }
            tr { th { "status" } td id="loan-status" { (status(v)) } }
            tr { th { "requested" } td { (l.requested_on) } }
            tr { th { "principal" } td { (l.amount) } }
            @if let Some(t) = &l.terms {
                tr { th { "terms" } td { (t.rate) " a year, LTV max " (t.ltv_max) ", margin call above " (t.margin_call_ltv) ", " (t.cure_days) " cure days, maturity " (t.maturity) } }
            }
            @if let Some(d) = &l.disbursement {
                tr { th { "disbursed" } td { (d.value_date) @if d.acknowledged { " (acknowledged)" } @else { " (not yet acknowledged)" } } }
            }
        }
        h2 { "Figures as of " (v.as_of) }
        table class="fields" id="loan-figures" {
            tr { th { "balance" } td id="loan-balance" { (v.balance) } }
            tr { th { "goods value" } td { @if let Some(m) = &v.value { (m) } @else { "not valued" } } }
            @if let Some(e) = &v.value_error { tr { th { "why not valued" } td { (e) } } }
            tr { th { "LTV" } td id="loan-ltv" { (ltv(v)) } }
            tr { th { "margin call" } td id="loan-margin" { (margin(v)) } }
            tr { th { "accrued interest" } td { (v.accrued_interest) } }
            @if let Some(p) = &l.pending_repayment {
                tr { th { "repayment waiting for the bank" } td { (p.amount) } }
            }
        }
        p class="muted" { "LTV = balance / goods value; goods value = quantity x the bank's latest price per receipt, rounded to the minor unit. The LTV is shown rounded up; the ledger compares it exactly." }
        h2 { "Receipts" }
        table class="list" id="loan-receipts" {
            thead { tr { th { "receipt" } th { "state" } } }
            tbody {
                @for r in &l.receipts { tr { td { a href=(format!("/warehouse/{r}")) { (r) } } td { "securing the loan" } } }
                @for r in &l.released { tr { td { a href=(format!("/warehouse/{r}")) { (r) } } td { "released against repayment" } } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::exec::inventory::figures;
    use lianrong_contracts::model::{DocId, Loan};
    use lianrong_contracts::money::{DayCount, Money, Quantity, Rate, Unit};
    use lianrong_contracts::state::StateView;
    use lianrong_contracts::testkit::{cny, org, World};
    use lianrong_contracts::{Action, DocKind};
    use lianrong_primitives::Hash;

    /// SUP-1's loan of 6,000,000.00 on 150 t of copper, copper at 45,000.00 and called.
    fn view() -> LoanView {
        let mut w = World::new();
        let mut receipts = vec![];
        for (id, qty) in [("WR-1", "100"), ("WR-2", "50")] {
            let id = DocId::new(id).unwrap();
            w.ok(
                "LOGI",
                Action::IssueWarehouseReceipt {
                    id: id.clone(),
                    owner: org("SUP-1"),
                    lot: format!("LOT-{id}"),
                    goods: "copper".into(),
                    quantity: Quantity::parse(qty).unwrap(),
                    unit: Unit::parse("t").unwrap(),
                    doc_hash: Hash::ZERO,
                },
            );
            let (receipt, bank) = (id.clone(), org("BANK-A"));
            w.ok("SUP-1", Action::OfferPledge { receipt, bank });
            w.ok(
                "BANK-A",
                Action::AcceptPledge {
                    receipt: id.clone(),
                },
            );
            receipts.push(id);
        }
        let price = |p: &str| Action::PostPrice {
            goods: "copper".into(),
            unit: Unit::parse("t").unwrap(),
            price: cny(p),
        };
        w.ok("BANK-A", price("70000.00"));
        let amount = cny("6000000.00");
        w.ok("SUP-1", Action::RequestLoan { receipts, amount });
        let loan = DocId::new("LOAN-1").unwrap();
        let rate = |s: &str| Rate::parse(s).unwrap();
        let maturity = w.today() + chrono::Days::new(90);
        w.ok(
            "BANK-A",
            Action::OfferLoan {
                loan: loan.clone(),
                rate: rate("4.5"),
                ltv_max: rate("70"),
                margin_call_ltv: rate("80"),
                cure_days: 5,
                maturity,
            },
        );
        w.ok("SUP-1", Action::AcceptLoan { loan: loan.clone() });
        let payment_ref = "P-1".to_string();
        w.ok(
            "BANK-A",
            Action::DisburseLoan {
                loan: loan.clone(),
                payment_ref,
            },
        );
        w.ok("BANK-A", price("45000.00"));
        w.ok("BANK-A", Action::MarginCall { loan });
        let l: Loan = w.get(DocKind::Loan, "LOAN-1").unwrap();
        let st = StateView::new(&w.store);
        let f = figures(&st, &l, w.today(), DayCount::Act360).unwrap();
        LoanView::new(l, f, w.today())
    }

    #[test]
    fn loans_show_value_ltv_and_margin_call_to_their_parties_only() {
        let v = view();
        let audit = Viewer::Everything { org: None };
        let t = table(vec![v.clone()], &audit, &ListQuery::default());
        assert_eq!(t.rows.len(), 1);
        let row = &t.rows[0];
        assert_eq!(row[0].link.as_deref(), Some("/loans/LOAN-1"));
        assert_eq!(
            row[5].text,
            Money::parse("6000000.00", "CNY").unwrap().to_string()
        );
        assert_eq!(row[6].text, "6750000.00 CNY");
        assert_eq!(row[7].text, "88.8889 % (max 70 %, call > 80 %)");
        assert!(
            row[8].text.starts_with("called, cure by "),
            "{}",
            row[8].text
        );
        let sup2 = Viewer::Org(org("SUP-2"));
        assert!(table(vec![v.clone()], &sup2, &ListQuery::default())
            .rows
            .is_empty());
        let page = detail(&v).into_string();
        assert!(page.contains("88.8889 %"), "{page}");
        assert!(page.contains("/warehouse/WR-2"), "{page}");
    }
}
