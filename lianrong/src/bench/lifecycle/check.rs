//! The read-back at the end of a lifecycle run: each kept document (up to
//! `MAX_CHECKED`, spread over them) is read from the first node and compared with what
//! the steps it committed imply -- statuses, holders, amounts repaid, the financing's
//! exact net counted again from its disbursement's days.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use lianrong_contracts::model::{
    DisbursementStatus, FinancingStatus, InvoiceStatus, OfferStatus, OrderStatus, ReceivableStatus,
    SettlementStatus, ShipmentStatus,
};
use lianrong_contracts::money::{discount, Amount, DayCount, Money};
use lianrong_sdk::Client;

use super::{Doc, Life, MAX_CHECKED, STEPS};

/// How long the reading node may take to apply the last blocks.
const CATCH_UP: Duration = Duration::from_secs(30);

/// Steps committed, by name: `past("split_receivable")` is true once the split committed.
struct Progress(usize);

impl Progress {
    fn past(&self, step: &str) -> bool {
        STEPS
            .iter()
            .position(|s| *s == step)
            .is_some_and(|i| self.0 > i)
    }
}

/// Differences found in one document.
struct Findings<'d> {
    doc: &'d Doc,
    lines: Vec<String>,
}

impl Findings<'_> {
    fn expect<T: std::fmt::Debug + PartialEq>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.lines.push(format!(
                "{} after {} steps: {what} is {got:?}, expected {want:?}",
                self.doc.order, self.doc.done
            ));
        }
    }
}

/// Reads back the documents; returns (documents checked, documents inconsistent, the
/// differences found).
pub(super) async fn read_back(life: &Life, docs: &[Doc]) -> Result<(usize, usize, Vec<String>)> {
    let api = &life.apis[0];
    caught_up(life).await?;
    let stride = docs.len().div_ceil(MAX_CHECKED).max(1);
    let (mut checked, mut inconsistent, mut lines) = (0, 0, Vec::new());
    for doc in docs.iter().step_by(stride) {
        let mut f = Findings {
            doc,
            lines: Vec::new(),
        };
        trade(api, doc, &mut f).await?;
        receivables(api, doc, &mut f).await?;
        financing(api, doc, &mut f, life.day_count).await?;
        checked += 1;
        if !f.lines.is_empty() {
            inconsistent += 1;
            lines.extend(f.lines);
        }
    }
    Ok((checked, inconsistent, lines))
}

/// Waits until the first node has applied the highest block any node has.
async fn caught_up(life: &Life) -> Result<()> {
    let mut top = 0;
    for api in &life.apis {
        top = top.max(api.status().await?.height);
    }
    let deadline = Instant::now() + CATCH_UP;
    while life.apis[0].status().await?.height < top {
        if Instant::now() > deadline {
            return Err(anyhow!("the first node did not reach block {top}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Order, shipment and invoice.
async fn trade(api: &Client, doc: &Doc, f: &mut Findings<'_>) -> Result<()> {
    let p = Progress(doc.done);
    if !p.past("issue_order") {
        return Ok(());
    }
    let o = api.order(&doc.order).await?;
    let status = if p.past("accept_order") {
        OrderStatus::Accepted
    } else {
        OrderStatus::Issued
    };
    f.expect("order status", o.status, status);
    f.expect("order amount", o.amount, doc.amount);
    if p.past("attest_shipment") {
        let s = api.shipment(&doc.shipment).await?;
        let status = if p.past("confirm_delivery") {
            ShipmentStatus::Delivered
        } else {
            ShipmentStatus::Shipped
        };
        f.expect("shipment status", s.status, status);
        f.expect(
            "shipment by a carrier of the order",
            o.carriers.contains(&s.carrier),
            true,
        );
    }
    if p.past("register_invoice") {
        let i = api.invoice(&doc.invoice).await?;
        f.expect("invoice status", i.status, InvoiceStatus::Confirmed);
        f.expect("invoice receivable", i.receivable, doc.root.clone());
        f.expect("order confirmed", o.confirmed, doc.amount.amount);
    }
    Ok(())
}

/// The root receivable and its two parts.
async fn receivables(api: &Client, doc: &Doc, f: &mut Findings<'_>) -> Result<()> {
    let p = Progress(doc.done);
    let Some(root) = &doc.root else {
        return Ok(());
    };
    let r = api.receivable(root).await?;
    f.expect("root face", r.face, doc.amount);
    f.expect("root holder", r.holder.clone(), doc.seller.clone());
    if !p.past("split_receivable") {
        f.expect("root status", r.status, ReceivableStatus::Active);
        return Ok(());
    }
    f.expect("root status", r.status, ReceivableStatus::Split);
    f.expect("root parts", r.children.clone(), doc.parts.clone());
    let [passed, kept] = doc.parts.as_slice() else {
        f.expect("parts", doc.parts.len(), 2);
        return Ok(());
    };
    let k = api.receivable(kept).await?;
    f.expect("kept part", (k.status, k.holder, k.repaid), {
        (ReceivableStatus::Active, doc.seller.clone(), Amount::ZERO)
    });
    f.expect("kept face", k.face.amount, doc.parts_amounts[1]);
    let r = api.receivable(passed).await?;
    f.expect("passed face", r.face.amount, doc.parts_amounts[0]);
    let holder = if p.past("disburse") {
        &doc.bank
    } else if p.past("transfer_receivable") {
        &doc.tier2
    } else {
        &doc.seller
    };
    f.expect("passed holder", &r.holder, holder);
    let settled = p.past("acknowledge_settlement");
    let (status, repaid) = if settled {
        (ReceivableStatus::Settled, r.face.amount)
    } else {
        (ReceivableStatus::Active, Amount::ZERO)
    };
    f.expect("passed status", r.status, status);
    f.expect("passed repaid", r.repaid, repaid);
    let financed = p.past("request_financing") && !settled;
    f.expect("passed financing", r.financing.clone(), {
        doc.financing.clone().filter(|_| financed)
    });
    Ok(())
}

/// The financing, its offer and disbursement, and the settlement.
async fn financing(
    api: &Client,
    doc: &Doc,
    f: &mut Findings<'_>,
    day_count: DayCount,
) -> Result<()> {
    let p = Progress(doc.done);
    let Some(fid) = &doc.financing else {
        return Ok(());
    };
    let fin = api.financing(fid).await?;
    let status = if p.past("acknowledge_settlement") {
        FinancingStatus::Closed
    } else if p.past("disburse") {
        FinancingStatus::Disbursed
    } else if p.past("accept_offer") {
        FinancingStatus::Accepted
    } else {
        FinancingStatus::Requested
    };
    f.expect("financing status", fin.status, status);
    f.expect("financing applicant", &fin.applicant, &doc.tier2);
    if let Some(oid) = &doc.offer {
        let o = api.offer(oid).await?;
        let status = if p.past("accept_offer") {
            OfferStatus::Accepted
        } else {
            OfferStatus::Open
        };
        f.expect("offer status", o.status, status);
    }
    if p.past("disburse") {
        disbursement(&fin, doc, f, day_count)?;
    }
    if let Some(sid) = &doc.settlement {
        let s = api.settlement(sid).await?;
        let status = if p.past("acknowledge_settlement") {
            SettlementStatus::Acknowledged
        } else {
            SettlementStatus::Pending
        };
        f.expect("settlement status", s.status, status);
        f.expect("settlement payee", &s.payee, &doc.bank);
        f.expect("settlement amount", s.amount.amount, doc.parts_amounts[0]);
    }
    Ok(())
}

/// The disbursed net is exactly the advanced amount less the discount for the
/// disbursement's days and the fees, and the one the bank sent.
fn disbursement(
    fin: &lianrong_contracts::model::Financing,
    doc: &Doc,
    f: &mut Findings<'_>,
    day_count: DayCount,
) -> Result<()> {
    let (Some(terms), Some(d)) = (&fin.terms, &fin.disbursement) else {
        f.expect("terms and disbursement", false, true);
        return Ok(());
    };
    let advanced = Money {
        amount: terms
            .net
            .amount
            .checked_add(terms.discount.amount)?
            .checked_add(terms.fees.amount)?,
        currency: terms.net.currency,
    };
    let disc = discount(&advanced, terms.rate, d.days, day_count)?;
    let net = advanced
        .amount
        .checked_sub(disc.amount)
        .and_then(|n| n.checked_sub(terms.fees.amount));
    f.expect("disbursed net", Some(d.net.amount), net);
    f.expect("disbursed net (sent)", Some(d.net), doc.net);
    let ack = if Progress(doc.done).past("acknowledge_disbursement") {
        DisbursementStatus::Acknowledged
    } else {
        DisbursementStatus::Unacknowledged
    };
    f.expect("disbursement status", d.status, ack);
    Ok(())
}
