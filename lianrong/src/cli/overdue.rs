//! Overdue and default on the command line (docs/domain.md, "Overdue and default"):
//! `financing offer ... --penalty-rate R [--recourse]` names an offer's default terms;
//! `financing buyback FIN --payment-ref REF [--amount A]` (the supplier, with recourse;
//! the amount defaults to the claim as of the ledger's date), `financing buyback-ack FIN`
//! and `financing buyback-dispute FIN --reason ...` (the funding bank), and
//! `financing write-off FIN --amount A --reason ...` (the funding bank, without
//! recourse). `financing show` prints the overdue figures with the record.

use anyhow::{anyhow, Result};
use chrono::NaiveDate;
use lianrong_contracts::model::DocId;
use lianrong_contracts::money::{Amount, Rate};
use lianrong_contracts::Action;
use lianrong_sdk::api_types::FinancingView;

use super::{Ctx, FinancingCmd};

/// The offer a bank signs: with `--penalty-rate` or `--recourse` it names its default
/// terms (a missing penalty rate is zero), else it is a plain offer.
pub fn offer_action(
    financing: &DocId,
    (rate, fees, valid_until): (Rate, Amount, NaiveDate),
    penalty_rate: Option<Rate>,
    recourse: bool,
) -> Action {
    if penalty_rate.is_none() && !recourse {
        return Action::OfferFinancing {
            financing: financing.clone(),
            rate,
            fees,
            valid_until,
        };
    }
    Action::OfferFinancingWithTerms {
        financing: financing.clone(),
        rate,
        fees,
        valid_until,
        penalty_rate: penalty_rate.unwrap_or_else(Rate::zero),
        recourse,
    }
}

/// The action of a default verb that needs nothing from the ledger first; `None` for a
/// buy-back without `--amount` (it reads the claim) and for other verbs.
pub fn action(cmd: &FinancingCmd) -> Option<Action> {
    Some(match cmd {
        FinancingCmd::Buyback {
            financing,
            payment_ref,
            amount: Some(amount),
        } => Action::InstructBuyback {
            financing: financing.clone(),
            amount: *amount,
            payment_ref: payment_ref.clone(),
        },
        FinancingCmd::BuybackAck { financing } => Action::AcknowledgeBuyback {
            financing: financing.clone(),
        },
        FinancingCmd::BuybackDispute { financing, reason } => Action::DisputeBuyback {
            financing: financing.clone(),
            reason: reason.clone(),
        },
        FinancingCmd::WriteOff {
            financing,
            amount,
            reason,
        } => Action::WriteOff {
            financing: financing.clone(),
            amount: *amount,
            reason: reason.clone(),
        },
        _ => return None,
    })
}

/// The claim a buy-back pays today, read from the node's view of the financing.
pub fn claim_today(v: &FinancingView) -> Result<Amount> {
    let id = &v.financing.id;
    match (&v.overdue_figures, &v.overdue_unavailable) {
        (Some(f), _) if f.running => Ok(f.claim.amount),
        (Some(_), _) => Err(anyhow!(
            "{id}'s penalty no longer runs: nothing to buy back"
        )),
        (None, Some(why)) => Err(anyhow!("{id} has no overdue figures: {why}")),
        (None, None) => Err(anyhow!("{id} is not overdue")),
    }
}

/// `financing buyback` without `--amount`: the claim as of the ledger's date.
pub(super) async fn buyback_today(ctx: &Ctx, financing: &DocId, payment_ref: &str) -> Result<()> {
    let v = ctx.client.financing_view(financing).await?;
    let amount = claim_today(&v)?;
    ctx.sign_and_submit(Action::InstructBuyback {
        financing: financing.clone(),
        amount,
        payment_ref: payment_ref.to_string(),
    })
    .await
}

/// The overdue lines of `financing show`: days past due, the advance, the day's penalty,
/// the penalty and the claim, then the buy-back or the write-off; empty if never overdue.
pub fn overdue_text(v: &FinancingView) -> String {
    let Some(o) = &v.financing.overdue else {
        return String::new();
    };
    let recourse = if o.recourse { "with" } else { "without" };
    let mut lines = vec![format!(
        "overdue since {} ({} recourse, penalty {} a year, {:?}, counted after {})",
        o.since, recourse, o.penalty_rate, o.day_count, o.penalty_from
    )];
    match (&v.overdue_figures, &v.overdue_unavailable) {
        (Some(f), _) => lines.push(format!(
            "as of {}: {} days past due, advance outstanding {}, penalty {} ({} a day), claim {}{}",
            f.as_of,
            f.days_past_due,
            f.advanced,
            f.penalty,
            f.daily_penalty,
            f.claim,
            if f.running { "" } else { " (fixed)" }
        )),
        (None, Some(why)) => lines.push(format!("figures: none ({why})")),
        (None, None) => {}
    }
    if let Some(b) = &o.buyback {
        let status = serde_json::to_value(b.status)
            .ok()
            .and_then(|s| s.as_str().map(str::to_string))
            .unwrap_or_default();
        lines.push(format!(
            "buy-back {status}: {} (advance {} + penalty {}) ref {} on {}{}",
            b.amount,
            b.advanced,
            b.penalty,
            b.payment_ref,
            b.instructed_on,
            b.dispute_reason
                .as_ref()
                .map(|r| format!(", disputed: {r}"))
                .unwrap_or_default()
        ));
    }
    if let Some(w) = &o.write_off {
        lines.push(format!(
            "written off on {}: {} (advance {} + penalty {}): {}",
            w.written_off_on, w.amount, w.advanced, w.penalty, w.reason
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use super::*;
    use crate::cli::tests::{action as action_of, parse};

    #[test]
    fn default_verbs_sign_their_actions() {
        let fin = DocId::new("FIN-3").unwrap();
        assert_eq!(
            action_of("financing buyback FIN-3 --payment-ref SUP-BB-1 --amount 1245061.65"),
            Action::InstructBuyback {
                financing: fin.clone(),
                amount: Amount::parse("1245061.65").unwrap(),
                payment_ref: "SUP-BB-1".into(),
            }
        );
        assert_eq!(
            action_of("financing buyback-ack FIN-3"),
            Action::AcknowledgeBuyback {
                financing: fin.clone()
            }
        );
        assert_eq!(
            action_of("financing buyback-dispute FIN-3 --reason short"),
            Action::DisputeBuyback {
                financing: fin.clone(),
                reason: "short".into(),
            }
        );
        assert_eq!(
            action_of("financing write-off FIN-3 --amount 251250.00 --reason insolvent"),
            Action::WriteOff {
                financing: fin.clone(),
                amount: Amount::parse("251250.00").unwrap(),
                reason: "insolvent".into(),
            }
        );
        assert_eq!(
            action_of(
                "financing offer FIN-3 --rate 3.65 --valid-until 2026-03-31 --penalty-rate 18 --recourse"
            ),
            Action::OfferFinancingWithTerms {
                financing: fin.clone(),
                rate: Rate::parse("3.65").unwrap(),
                fees: Amount::parse("0").unwrap(),
                valid_until: "2026-03-31".parse().unwrap(),
                penalty_rate: Rate::parse("18").unwrap(),
                recourse: true,
            }
        );
        assert!(matches!(
            action_of("financing offer FIN-3 --rate 3.65 --valid-until 2026-03-31"),
            Action::OfferFinancing { .. }
        ));
        // A write-off states its amount and its reason.
        assert!(parse("financing write-off FIN-3 --reason insolvent").is_err());
        assert!(parse("financing write-off FIN-3 --amount 1.00").is_err());
    }

    /// A financing 17 days past due on a testkit ledger (1,234,567.89 at 18 % a year:
    /// 617.28 a day), as `financing show` prints it and `financing buyback` pays it.
    #[test]
    fn show_prints_the_ledgers_figures_and_buyback_pays_the_claim() {
        use lianrong_contracts::testkit::{org, World};
        use lianrong_contracts::{DocKind, Event};
        let mut w = World::new();
        let r = w.trade_to_receivable("CORE-A", "SUP-1", "1234567.89", 30);
        let ev = w.ok(
            "SUP-1",
            Action::RequestFinancing {
                receivable: r.clone(),
                banks: vec![org("BANK-A")],
            },
        );
        let Event::FinancingRequested { financing: fid, .. } = ev[0].clone() else {
            panic!("{ev:?}")
        };
        let offer = offer_action(
            &fid,
            (Rate::parse("3.65").unwrap(), Amount::ZERO, w.today()),
            Some(Rate::parse("18").unwrap()),
            true,
        );
        let Event::OfferMade { offer, .. } = w.ok("BANK-A", offer)[0].clone() else {
            panic!()
        };
        let Event::OfferAccepted { net, .. } =
            w.ok("SUP-1", Action::AcceptOffer { offer })[0].clone()
        else {
            panic!()
        };
        w.ok(
            "BANK-A",
            Action::Disburse {
                financing: fid.clone(),
                payment_ref: "CMB-1".into(),
                net: net.amount,
            },
        );
        let target = w.receivable(&r).maturity + chrono::Days::new(3 + 17);
        w.advance_days(u64::try_from((target - w.today()).num_days()).unwrap());
        w.block(&[]);
        let f = w.get(DocKind::Financing, fid.as_str()).unwrap();
        let v = FinancingView::new(f, Some(&w.receivable(&r)), w.today());
        let text = overdue_text(&v);
        assert!(text.contains("with recourse, penalty 18% a year"), "{text}");
        assert!(
            text.contains("17 days past due, advance outstanding 1234567.89 CNY, penalty 10493.76 CNY (617.28 CNY a day), claim 1245061.65 CNY"),
            "{text}"
        );
        assert_eq!(
            claim_today(&v).unwrap(),
            Amount::parse("1245061.65").unwrap()
        );
        // Never overdue: nothing printed, nothing to buy back.
        let mut plain = v.clone();
        plain.financing.overdue = None;
        plain.overdue_figures = None;
        assert_eq!(overdue_text(&plain), "");
        assert!(claim_today(&plain).is_err());
    }
}
