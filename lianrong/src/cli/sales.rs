//! `lianrong financing sell` and `lianrong financing sale ...`: the secondary sale of a
//! financing between banks (docs/domain.md, "Secondary sale"). The funding bank sells a
//! disbursed financing -- whole, or with `--part` a part of its receivable's face, split
//! off when the buyer accepts -- to another bank at a price; the buyer accepts or
//! declines, the seller may withdraw; the buyer pays the price and the seller
//! acknowledges (or disputes) it. `show` and `list` read sales. Every write is one
//! action, signed with `--key`; text or `--json` like every client verb.

use anyhow::{bail, Result};
use clap::Subcommand;
use lianrong_contracts::model::{DocId, SaleStatus};
use lianrong_contracts::money::Amount;
use lianrong_contracts::Action;
use lianrong_primitives::OrgId;
use lianrong_sdk::api_types::SaleView;

use super::{ledger_today, parse_doc_id, Ctx, FinancingCmd, DEFAULT_OFFER_VALID_DAYS};

/// `financing sale` subcommands.
#[derive(Debug, Subcommand)]
pub enum SaleCmd {
    /// Accept a sale offered to your bank: it becomes the financing's funder and the
    /// receivable's holder, and owes the price (the buyer; its exposure limits apply).
    Accept {
        /// The sale.
        #[arg(value_parser = parse_doc_id)]
        sale: DocId,
    },
    /// Decline a sale offered to your bank (the buyer).
    Decline {
        /// The sale.
        #[arg(value_parser = parse_doc_id)]
        sale: DocId,
    },
    /// Withdraw your bank's sale not yet answered (the seller).
    Withdraw {
        /// The sale.
        #[arg(value_parser = parse_doc_id)]
        sale: DocId,
    },
    /// Instruct the payment of the price (the buyer); it counts once the seller
    /// acknowledges it.
    Pay {
        /// The sale.
        #[arg(value_parser = parse_doc_id)]
        sale: DocId,
        /// The buyer's payment reference.
        #[arg(long)]
        payment_ref: String,
    },
    /// Acknowledge receiving the price (the seller).
    Ack {
        /// The sale.
        #[arg(value_parser = parse_doc_id)]
        sale: DocId,
    },
    /// Dispute the price payment: it did not arrive, or not in full (the seller).
    Dispute {
        /// The sale.
        #[arg(value_parser = parse_doc_id)]
        sale: DocId,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Show a sale: banks, face sold, price, status, what changed hands, the payment.
    Show {
        /// The sale.
        #[arg(value_parser = parse_doc_id)]
        sale: DocId,
    },
    /// List the sales you may read (banks and auditors: all).
    List {
        /// Only the sales of this financing.
        #[arg(long, value_parser = parse_doc_id)]
        financing: Option<DocId>,
    },
}

impl SaleCmd {
    /// The action a write verb signs; `None` for `show` and `list`.
    pub fn action(&self) -> Option<Action> {
        let sale = |s: &DocId| s.clone();
        Some(match self {
            SaleCmd::Accept { sale: s } => Action::AcceptSale { sale: sale(s) },
            SaleCmd::Decline { sale: s } => Action::DeclineSale { sale: sale(s) },
            SaleCmd::Withdraw { sale: s } => Action::WithdrawSale { sale: sale(s) },
            SaleCmd::Pay {
                sale: s,
                payment_ref,
            } => Action::PaySale {
                sale: sale(s),
                payment_ref: payment_ref.clone(),
            },
            SaleCmd::Ack { sale: s } => Action::AcknowledgeSalePayment { sale: sale(s) },
            SaleCmd::Dispute { sale: s, reason } => Action::DisputeSalePayment {
                sale: sale(s),
                reason: reason.clone(),
            },
            SaleCmd::Show { .. } | SaleCmd::List { .. } => return None,
        })
    }
}

/// The `OfferSale` of `financing sell`.
pub fn sell_action(
    financing: &DocId,
    to: &OrgId,
    part: Option<Amount>,
    price: Amount,
    valid_until: lianrong_sdk::NaiveDate,
) -> Action {
    Action::OfferSale {
        financing: financing.clone(),
        buyer: to.clone(),
        part,
        price,
        valid_until,
    }
}

/// Runs `financing sell` without `--valid-until` (valid for
/// [`DEFAULT_OFFER_VALID_DAYS`] from the ledger's date) and the `financing sale` reads.
pub(super) async fn run(ctx: &Ctx, cmd: &FinancingCmd) -> Result<()> {
    match cmd {
        FinancingCmd::Sell {
            financing,
            to,
            price,
            part,
            valid_until: None,
        } => {
            let (today, _) = ledger_today(&ctx.client).await?;
            let until = today + chrono::Days::new(DEFAULT_OFFER_VALID_DAYS);
            let action = sell_action(financing, to, *part, *price, until);
            ctx.sign_and_submit(action).await
        }
        FinancingCmd::Sale { cmd } => run_sale(ctx, cmd).await,
        _ => bail!("internal: this financing verb has no sale handler"),
    }
}

/// Runs the `financing sale` reads.
async fn run_sale(ctx: &Ctx, cmd: &SaleCmd) -> Result<()> {
    match cmd {
        SaleCmd::Show { sale } => {
            let v = ctx.client.sale(sale).await?;
            ctx.print(&v, show_text)
        }
        SaleCmd::List { financing } => {
            let items = ctx.client.sales(financing.as_ref()).await?;
            ctx.print(&items, |i| {
                i.iter().map(line).collect::<Vec<_>>().join("\n")
            })
        }
        _ => bail!("internal: this sale verb has no handler"),
    }
}

fn status_word(v: &SaleView) -> String {
    let word = serde_json::to_value(v.status)
        .ok()
        .and_then(|s| s.as_str().map(str::to_string))
        .unwrap_or_default();
    match v.status {
        SaleStatus::Offered if v.lapsed => format!("{word} (lapsed)"),
        SaleStatus::Sold => format!("{word}, price unpaid"),
        _ => word,
    }
}

/// One line per sale: `SAL-1 FIN-1 BANK-A -> BANK-B: 400000.00 CNY (part) for 395000.00 CNY, sold, price unpaid`.
pub fn line(v: &SaleView) -> String {
    let s = &v.sale;
    format!(
        "{} {} {} -> {}: {}{} for {}, {}",
        s.id,
        s.financing,
        s.seller,
        s.buyer,
        v.face,
        if s.part.is_some() { " (part)" } else { "" },
        s.price,
        status_word(v),
    )
}

/// A sale in words.
pub fn show_text(v: &SaleView) -> String {
    let s = &v.sale;
    let mut lines = vec![
        line(v),
        format!(
            "offered {} on {} owing {}, valid until {}",
            s.financing, s.receivable, s.outstanding, s.valid_until
        ),
    ];
    if let Some(t) = &s.transfer {
        lines.push(format!(
            "accepted {}: {} now funds {} and holds {} (advanced {}){}",
            t.accepted_on,
            s.buyer,
            t.financing,
            t.receivable,
            t.advanced,
            t.kept
                .as_ref()
                .map(|k| format!("; {} keeps {} on {k}", s.seller, s.financing))
                .unwrap_or_default()
        ));
    }
    if let Some(p) = &s.payment {
        let status = serde_json::to_value(p.status)
            .ok()
            .and_then(|x| x.as_str().map(str::to_string))
            .unwrap_or_default();
        lines.push(format!(
            "price payment {} instructed {}: {status}{}",
            p.payment_ref,
            p.instructed_on,
            p.dispute_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::tests::{action, parse};

    fn id(s: &str) -> DocId {
        DocId::new(s).unwrap()
    }

    #[test]
    fn every_sale_verb_builds_its_action() {
        let s = || id("SAL-1");
        let amt = |a: &str| Amount::parse(a).unwrap();
        for (line, want) in [
            (
                "financing sell FIN-1 --to BANK-B --price 395000.00 --part 400000.00 \
                 --valid-until 2026-03-31",
                Action::OfferSale {
                    financing: id("FIN-1"),
                    buyer: lianrong_primitives::OrgId::new("BANK-B").unwrap(),
                    part: Some(amt("400000.00")),
                    price: amt("395000.00"),
                    valid_until: "2026-03-31".parse().unwrap(),
                },
            ),
            (
                "financing sale accept SAL-1",
                Action::AcceptSale { sale: s() },
            ),
            (
                "financing sale decline SAL-1",
                Action::DeclineSale { sale: s() },
            ),
            (
                "financing sale withdraw SAL-1",
                Action::WithdrawSale { sale: s() },
            ),
            (
                "financing sale pay SAL-1 --payment-ref CMB-9",
                Action::PaySale {
                    sale: s(),
                    payment_ref: "CMB-9".into(),
                },
            ),
            (
                "financing sale ack SAL-1",
                Action::AcknowledgeSalePayment { sale: s() },
            ),
            (
                "financing sale dispute SAL-1 --reason short",
                Action::DisputeSalePayment {
                    sale: s(),
                    reason: "short".into(),
                },
            ),
        ] {
            assert_eq!(action(line), want, "{line}");
        }
        for read in [
            "financing sale show SAL-1",
            "financing sale list --financing FIN-1",
            // Without --valid-until the ledger's date is read first.
            "financing sell FIN-1 --to BANK-B --price 1.00",
        ] {
            let c = parse(&format!("{read} --node http://n:1 --token t")).unwrap();
            assert!(
                c.action().unwrap().is_none(),
                "{read} signs without reading"
            );
        }
        for bad in [
            "financing sell FIN-1 --price 1.00",
            "financing sell FIN-1 --to BANK-B --price -1",
            "financing sale pay SAL-1",
            "financing sale accept SAL/1",
        ] {
            assert!(parse(bad).is_err(), "accepted: {bad}");
        }
    }
}
