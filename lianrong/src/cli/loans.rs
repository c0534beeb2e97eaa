//! `lianrong loan`: inventory finance (docs/domain.md, "Loans against warehouse
//! receipts"). The owner of receipts pledged to one bank requests a loan against them;
//! the bank posts prices, offers terms and disburses; the borrower accepts,
//! acknowledges, repays (the bank acknowledges), tops up and releases goods against
//! repayment (赎货); the bank calls for margin and, after an uncured call's cure period,
//! enforces. `show` and `list` read loans with today's value, LTV and margin-call state.
//! Every write is one action, signed with `--key`; text or `--json` like every client
//! verb.

use anyhow::{bail, Result};
use clap::Subcommand;
use lianrong_contracts::model::DocId;
use lianrong_contracts::money::{Amount, Rate, Unit};
use lianrong_contracts::Action;
use lianrong_sdk::api_types::LoanView;
use lianrong_sdk::args;

use super::warehouse::parse_unit;
use super::{parse_amount, parse_date, parse_doc_id, parse_rate, Ctx};

/// `loan` subcommands.
#[derive(Debug, Subcommand)]
pub enum LoanCmd {
    /// Ask the pledgee bank of the receipts for a loan (their owner): LOAN-n.
    Request {
        /// A receipt pledged to the bank: repeat --receipt or separate with commas (1-16).
        #[arg(long = "receipt", required = true, value_delimiter = ',', value_parser = parse_doc_id)]
        receipts: Vec<DocId>,
        /// The principal (decimal).
        #[arg(long)]
        amount: String,
        /// ISO 4217 currency of the loan.
        #[arg(long, default_value = "CNY")]
        currency: String,
    },
    /// Offer terms on a requested loan (the bank).
    Offer {
        /// The loan.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
        /// Annual interest rate in percent (simple, on the balance).
        #[arg(long, value_parser = parse_rate)]
        rate: Rate,
        /// Highest LTV in percent at acceptance, disbursement and release of goods.
        #[arg(long, value_parser = parse_rate)]
        ltv_max: Rate,
        /// LTV in percent strictly above which the bank may call for margin.
        #[arg(long, value_parser = parse_rate)]
        margin_call_ltv: Rate,
        /// Days the borrower has to cure a margin call (1-90).
        #[arg(long, default_value_t = 5)]
        cure_days: u32,
        /// Maturity (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date)]
        maturity: lianrong_sdk::NaiveDate,
    },
    /// Accept the offered terms (the borrower; refused above ltv_max today).
    Accept {
        /// The loan.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Cancel a loan before its disbursement (the borrower or the bank).
    Cancel {
        /// The loan.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Pay the principal (the bank; refused above ltv_max today).
    Disburse {
        /// The loan.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
        /// The bank's payment reference.
        #[arg(long)]
        payment_ref: String,
    },
    /// Acknowledge receiving the principal (the borrower).
    Ack {
        /// The loan.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Post the bank's price of one unit of some goods (a bank).
    Price {
        /// The goods, exactly as the receipts name them.
        #[arg(long)]
        goods: String,
        /// The unit priced (t, kg, pcs, m3).
        #[arg(long, value_parser = parse_unit)]
        unit: Unit,
        /// The price of one unit (decimal).
        #[arg(long)]
        price: String,
        /// ISO 4217 currency of the price.
        #[arg(long, default_value = "CNY")]
        currency: String,
    },
    /// Call for margin (the bank; only while LTV is above the threshold).
    MarginCall {
        /// The loan.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Add a receipt pledged to the loan's bank to its security (the borrower).
    TopUp {
        /// The loan.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
        /// The receipt.
        #[arg(long, value_parser = parse_doc_id)]
        receipt: DocId,
    },
    /// Instruct a repayment of principal (the borrower); the bank acknowledges it.
    Repay {
        /// The loan.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
        /// Principal repaid (decimal, in the loan's currency).
        #[arg(long, value_parser = parse_amount)]
        amount: Amount,
        /// The borrower's payment reference.
        #[arg(long)]
        payment_ref: String,
    },
    /// Acknowledge the pending repayment (the bank): only now the balance falls.
    AckRepayment {
        /// The loan.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Release one receipt from the loan and its pledge against repayment (the
    /// borrower; refused if the goods left put LTV above ltv_max).
    Release {
        /// The loan.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
        /// The receipt.
        #[arg(long, value_parser = parse_doc_id)]
        receipt: DocId,
    },
    /// Enforce after an uncured margin call's cure period (the bank): the goods become
    /// the bank's.
    Enforce {
        /// The loan.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Show a loan with today's goods value, balance, LTV, margin call and interest.
    Show {
        /// The loan.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// List the loans the caller may read.
    List,
}

impl LoanCmd {
    /// The action a write verb signs; `None` for `show` and `list`.
    pub fn action(&self) -> Result<Option<Action>> {
        let id = |loan: &DocId| loan.clone();
        Ok(Some(match self {
            LoanCmd::Request {
                receipts,
                amount,
                currency,
            } => Action::RequestLoan {
                receipts: receipts.clone(),
                amount: args::money(amount, &currency.trim().to_ascii_uppercase())?,
            },
            LoanCmd::Offer {
                id: loan,
                rate,
                ltv_max,
                margin_call_ltv,
                cure_days,
                maturity,
            } => Action::OfferLoan {
                loan: id(loan),
                rate: *rate,
                ltv_max: *ltv_max,
                margin_call_ltv: *margin_call_ltv,
                cure_days: *cure_days,
                maturity: *maturity,
            },
            LoanCmd::Accept { id: loan } => Action::AcceptLoan { loan: id(loan) },
            LoanCmd::Cancel { id: loan } => Action::CancelLoan { loan: id(loan) },
            LoanCmd::Disburse {
                id: loan,
                payment_ref,
            } => Action::DisburseLoan {
                loan: id(loan),
                payment_ref: payment_ref.clone(),
            },
            LoanCmd::Ack { id: loan } => Action::AcknowledgeLoanDisbursement { loan: id(loan) },
            LoanCmd::Price {
                goods,
                unit,
                price,
                currency,
            } => Action::PostPrice {
                goods: goods.clone(),
                unit: unit.clone(),
                price: args::money(price, &currency.trim().to_ascii_uppercase())?,
            },
            LoanCmd::MarginCall { id: loan } => Action::MarginCall { loan: id(loan) },
            LoanCmd::TopUp { id: loan, receipt } => Action::TopUp {
                loan: id(loan),
                receipt: receipt.clone(),
            },
            LoanCmd::Repay {
                id: loan,
                amount,
                payment_ref,
            } => Action::RepayLoan {
                loan: id(loan),
                amount: *amount,
                payment_ref: payment_ref.clone(),
            },
            LoanCmd::AckRepayment { id: loan } => {
                Action::AcknowledgeLoanRepayment { loan: id(loan) }
            }
            LoanCmd::Release { id: loan, receipt } => Action::ReleaseGoods {
                loan: id(loan),
                receipt: receipt.clone(),
            },
            LoanCmd::Enforce { id: loan } => Action::Enforce { loan: id(loan) },
            LoanCmd::Show { .. } | LoanCmd::List => return Ok(None),
        }))
    }
}

/// Runs the read verbs.
pub(super) async fn run(ctx: &Ctx, cmd: &LoanCmd) -> Result<()> {
    match cmd {
        LoanCmd::Show { id } => {
            let v = ctx.client.loan(id).await?;
            ctx.print(&v, show_text)
        }
        LoanCmd::List => {
            let items = ctx.client.loans().await?;
            ctx.print(&items, |i| {
                i.iter().map(line).collect::<Vec<_>>().join("\n")
            })
        }
        _ => bail!("internal: this loan verb has no handler"),
    }
}

fn status_word(v: &LoanView) -> String {
    serde_json::to_value(v.status)
        .ok()
        .and_then(|s| s.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// One line per loan: id, parties, status, balance, value, LTV, margin call.
pub fn line(v: &LoanView) -> String {
    let l = &v.loan;
    format!(
        "{} {} from {}: {}, balance {}, goods {}, LTV {}{}",
        l.id,
        l.borrower,
        l.bank,
        status_word(v),
        v.balance,
        v.value
            .map(|m| m.to_string())
            .unwrap_or_else(|| "not valued".into()),
        v.ltv_percent
            .as_deref()
            .map_or_else(|| "-".to_string(), |p| format!("{p} %")),
        v.margin_call_deadline
            .map(|d| format!(", margin call: cure by {d}"))
            .unwrap_or_default(),
    )
}

/// A loan in words.
pub fn show_text(v: &LoanView) -> String {
    let l = &v.loan;
    let receipts: Vec<&str> = l.receipts.iter().map(DocId::as_str).collect();
    let released: Vec<&str> = l.released.iter().map(DocId::as_str).collect();
    let mut lines = vec![
        line(v),
        format!(
            "principal {}, repaid {} {}",
            l.amount, l.repaid, l.amount.currency
        ),
        format!(
            "receipts: {}{}",
            if receipts.is_empty() {
                "none".into()
            } else {
                receipts.join(", ")
            },
            if released.is_empty() {
                String::new()
            } else {
                format!(" (released: {})", released.join(", "))
            }
        ),
    ];
    if let Some(t) = &l.terms {
        lines.push(format!(
            "terms: {} a year, LTV max {}, margin call above {}, cure {} days, maturity {}",
            t.rate, t.ltv_max, t.margin_call_ltv, t.cure_days, t.maturity
        ));
    }
    if let Some(e) = &v.value_error {
        lines.push(format!("not valued: {e}"));
    }
    if v.above_margin_call {
        lines.push("LTV is above the margin-call threshold".into());
    }
    if let Some(p) = &l.pending_repayment {
        lines.push(format!("repayment of {} waiting for the bank", p.amount));
    }
    lines.push(format!(
        "interest accrued through {}: {}",
        v.as_of, v.accrued_interest
    ));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::tests::{action, parse};
    use lianrong_contracts::money::Money;

    fn id(s: &str) -> DocId {
        DocId::new(s).unwrap()
    }

    #[test]
    fn every_loan_verb_builds_its_action() {
        let l = || id("LOAN-1");
        let cny = |s: &str| Money::parse(s, "CNY").unwrap();
        let rate = |s: &str| Rate::parse(s).unwrap();
        for (line, want) in [
            (
                "loan request --receipt WR-1,WR-2 --amount 6000000.00",
                Action::RequestLoan {
                    receipts: vec![id("WR-1"), id("WR-2")],
                    amount: cny("6000000.00"),
                },
            ),
            (
                "loan offer LOAN-1 --rate 4.5 --ltv-max 70 --margin-call-ltv 80 --cure-days 5 \
                 --maturity 2026-07-01",
                Action::OfferLoan {
                    loan: l(),
                    rate: rate("4.5"),
                    ltv_max: rate("70"),
                    margin_call_ltv: rate("80"),
                    cure_days: 5,
                    maturity: "2026-07-01".parse().unwrap(),
                },
            ),
            ("loan accept LOAN-1", Action::AcceptLoan { loan: l() }),
            ("loan cancel LOAN-1", Action::CancelLoan { loan: l() }),
            (
                "loan disburse LOAN-1 --payment-ref P-1",
                Action::DisburseLoan {
                    loan: l(),
                    payment_ref: "P-1".into(),
                },
            ),
            (
                "loan ack LOAN-1",
                Action::AcknowledgeLoanDisbursement { loan: l() },
            ),
            (
                "loan price --goods copper --unit T --price 50000.00",
                Action::PostPrice {
                    goods: "copper".into(),
                    unit: Unit::parse("t").unwrap(),
                    price: cny("50000.00"),
                },
            ),
            ("loan margin-call LOAN-1", Action::MarginCall { loan: l() }),
            (
                "loan top-up LOAN-1 --receipt WR-3",
                Action::TopUp {
                    loan: l(),
                    receipt: id("WR-3"),
                },
            ),
            (
                "loan repay LOAN-1 --amount 100.00 --payment-ref R-1",
                Action::RepayLoan {
                    loan: l(),
                    amount: Amount::parse("100.00").unwrap(),
                    payment_ref: "R-1".into(),
                },
            ),
            (
                "loan ack-repayment LOAN-1",
                Action::AcknowledgeLoanRepayment { loan: l() },
            ),
            (
                "loan release LOAN-1 --receipt WR-2",
                Action::ReleaseGoods {
                    loan: l(),
                    receipt: id("WR-2"),
                },
            ),
            ("loan enforce LOAN-1", Action::Enforce { loan: l() }),
        ] {
            assert_eq!(action(line), want, "{line}");
        }
        for read in ["loan show LOAN-1", "loan list"] {
            let c = parse(&format!("{read} --node http://n:1 --token t")).unwrap();
            assert!(c.action().unwrap().is_none(), "{read} signs nothing");
        }
    }

    #[test]
    fn bad_loan_arguments_are_refused_before_signing() {
        for bad in [
            "loan request --amount 1.00",
            "loan offer LOAN-1 --rate 101 --ltv-max 70 --margin-call-ltv 80 --maturity 2026-07-01",
            "loan price --goods copper --unit metric-t --price 1.00",
            "loan repay LOAN-1 --amount -1 --payment-ref R",
            "loan top-up LOAN/1 --receipt WR-1",
        ] {
            assert!(parse(bad).is_err(), "accepted: {bad}");
        }
    }
}
