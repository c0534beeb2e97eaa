//! Banks' secondary sales of a financing, on the financing's page (`#sales`): each sale
//! of it -- the one offered, or the buyer's financing a sale created -- with its banks,
//! the face sold (whole or a part), the price, its status (offered, lapsed, sold with the
//! price unpaid, paid, declined, withdrawn), what changed hands and the price payment
//! with the seller's answer. Read from the node (`/v1/sales?financing=`) when the page is
//! asked for, through [`crate::vis`]: the two banks read a sale, banks and auditors all;
//! the supplier and the debtor see on the financing and the receivable who funds and
//! holds them now (the lineage shows the acceptance), not the banks' price.

use lianrong_api_types::SaleView;
use lianrong_contracts::model::SaleStatus;
use maud::{html, Markup};

use crate::node::{NodeApi, NodeError};
use crate::vis::{self, Viewer};

/// Most pages of a financing's sales one page reads (100 each).
const MAX_SALE_PAGES: usize = 10;

/// The sales of financing `id` the node lists, and why the list may be incomplete.
pub async fn fetch(
    node: &dyn NodeApi,
    id: &str,
) -> Result<(Vec<SaleView>, Option<String>), NodeError> {
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_SALE_PAGES {
        let page = node.sales_page(after.as_deref(), 100, id).await?;
        items.extend(page.items);
        match page.next.map(|n| n.to_string()) {
            // A cursor that does not move forward would loop: stop and say so.
            Some(n) if after.as_ref().is_none_or(|a| &n > a) => after = Some(n),
            Some(_) => {
                return Ok((
                    items,
                    Some("the node's list of sales did not advance".into()),
                ))
            }
            None => return Ok((items, None)),
        }
    }
    Ok((
        items,
        Some(format!("more than {} sales", MAX_SALE_PAGES * 100)),
    ))
}

/// The status in words: `offered (lapsed)`, `sold, price unpaid`, `paid`, ...
pub fn status(v: &SaleView) -> String {
    match v.status {
        SaleStatus::Offered if v.lapsed => "offered, lapsed (not accepted in time)".into(),
        SaleStatus::Offered => "offered".into(),
        SaleStatus::Sold => match v.sale.payment.as_ref().map(|p| p.status) {
            Some(lianrong_contracts::model::SettlementStatus::Pending) => {
                "sold, price payment waiting for the seller".into()
            }
            Some(lianrong_contracts::model::SettlementStatus::Disputed) => {
                "sold, price payment disputed".into()
            }
            _ => "sold, price unpaid".into(),
        },
        SaleStatus::Paid => "paid (the seller acknowledged the price)".into(),
        SaleStatus::Declined => "declined by the buyer".into(),
        SaleStatus::Withdrawn => "withdrawn by the seller".into(),
    }
}

/// The financing page's section of its sales the viewer may see (nothing when none).
pub fn section(items: Vec<SaleView>, viewer: &Viewer, incomplete: Option<&str>) -> Markup {
    let items = vis::filter(viewer, items);
    if items.is_empty() && incomplete.is_none() {
        return html! {};
    }
    html! {
        h2 { "Secondary sales" }
        @if let Some(why) = incomplete { p class="warn" { "Incomplete: " (why) } }
        table class="list" id="sales" {
            thead { tr {
                th { "sale" } th { "seller" } th { "buyer" } th { "face sold" } th { "price" }
                th { "status" } th { "changed hands" } th { "price payment" }
            } }
            tbody {
                @for v in &items { (row(v)) }
            }
        }
        p class="muted" { "A part is split off the receivable when the buyer accepts; the buyer's financing carries it and the seller's continues on the rest, each figure of the part the whole's x part / face rounded down to the cent, the remainder on the seller's side." }
    }
}

fn row(v: &SaleView) -> Markup {
    let s = &v.sale;
    html! {
        tr {
            td { (s.id) }
            td { a href=(format!("/orgs/{}", s.seller)) { (s.seller) } }
            td { a href=(format!("/orgs/{}", s.buyer)) { (s.buyer) } }
            td { (v.face) @if s.part.is_some() { " (part of " (s.outstanding) ")" } @else { " (whole)" } }
            td { (s.price) }
            td class="sale-status" { (status(v)) }
            td {
                @if let Some(t) = &s.transfer {
                    (t.accepted_on) ": "
                    a href=(format!("/financings/{}", t.financing)) { (t.financing) } " on "
                    a href=(format!("/receivables/{}", t.receivable)) { (t.receivable) }
                    " to " (s.buyer) ", advanced " (t.advanced)
                    @if let Some(k) = &t.kept {
                        "; " (s.seller) " keeps " a href=(format!("/financings/{}", s.financing)) { (s.financing) }
                        " on " a href=(format!("/receivables/{k}")) { (k) }
                    }
                } @else {
                    "offered " (s.offered_on) ", valid until " (s.valid_until)
                }
            }
            td {
                @if let Some(p) = &s.payment {
                    (p.payment_ref) " instructed " (p.instructed_on)
                    @if let Some(d) = p.answered_on { ", answered " (d) }
                    @if let Some(r) = &p.dispute_reason { ": " (r) }
                } @else { "-" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::model::{DocId, Sale};
    use lianrong_contracts::money::{Amount, Rate};
    use lianrong_contracts::testkit::{org, World};
    use lianrong_contracts::{Action, DocKind, Event};

    /// BANK-A's FIN-1 (1,000.00), 400.00 of it sold to BANK-B and the price paid.
    fn sold() -> SaleView {
        let mut w = World::new();
        let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", 90);
        let fin = DocId::new("FIN-1").unwrap();
        let banks = vec![org("BANK-A")];
        w.ok(
            "SUP-1",
            Action::RequestFinancing {
                receivable: rcv,
                banks,
            },
        );
        let valid_until = w.today();
        let rate = Rate::parse("4").unwrap();
        let (financing, fees) = (fin.clone(), Amount::ZERO);
        w.ok(
            "BANK-A",
            Action::OfferFinancing {
                financing,
                rate,
                fees,
                valid_until,
            },
        );
        let offer = DocId::new("OFR-1").unwrap();
        let net = match &w.ok("SUP-1", Action::AcceptOffer { offer })[0] {
            Event::OfferAccepted { net, .. } => net.amount,
            e => panic!("{e:?}"),
        };
        let (financing, payment_ref) = (fin.clone(), "PAY-1".to_string());
        w.ok(
            "BANK-A",
            Action::Disburse {
                financing,
                payment_ref,
                net,
            },
        );
        let part = Some(Amount::parse("400.00").unwrap());
        let (price, buyer) = (Amount::parse("395.00").unwrap(), org("BANK-B"));
        let financing = fin;
        w.ok(
            "BANK-A",
            Action::OfferSale {
                financing,
                buyer,
                part,
                price,
                valid_until,
            },
        );
        let sale = DocId::new("SAL-1").unwrap();
        w.ok("BANK-B", Action::AcceptSale { sale: sale.clone() });
        let payment_ref = "BANK-B-9".to_string();
        w.ok(
            "BANK-B",
            Action::PaySale {
                sale: sale.clone(),
                payment_ref,
            },
        );
        w.ok("BANK-A", Action::AcknowledgeSalePayment { sale });
        let s: Sale = w.get(DocKind::Sale, "SAL-1").unwrap();
        SaleView::new(s, w.today())
    }

    #[test]
    fn the_financing_shows_its_sales_to_banks_not_to_the_supplier() {
        let v = sold();
        let audit = Viewer::Everything { org: None };
        let page = section(vec![v.clone()], &audit, None).into_string();
        assert!(page.contains("SAL-1"), "{page}");
        assert!(page.contains("400.00 CNY (part of 1000.00 CNY)"), "{page}");
        assert!(page.contains("395.00 CNY"), "{page}");
        assert!(
            page.contains("paid (the seller acknowledged the price)"),
            "{page}"
        );
        assert!(page.contains("/financings/FIN-2"), "{page}");
        assert!(page.contains("BANK-A keeps"), "{page}");
        let sup1 = Viewer::Org(org("SUP-1"));
        assert_eq!(section(vec![v], &sup1, None).into_string(), "");
    }
}
