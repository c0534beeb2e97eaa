//! Inventory finance, one rule per test, with hand-checked figures: loans against
//! receipts pledged to the lending bank, valued at its posted prices; LTV limits at
//! acceptance, disbursement and release of goods; margin call strictly above the
//! threshold; cure by top-up or repayment; enforcement only after the cure period of an
//! uncured call; interest ACT/360 on the balance.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

mod common;

use common::inventory::{
    disbursed_loan, loan, offer_action, pledged_receipt, post_price, receipt, request,
};
use lianrong_contracts::exec::inventory::figures;
use lianrong_contracts::model::{DocId, LoanStatus, ReceiptStatus};
use lianrong_contracts::money::{Amount, DayCount};
use lianrong_contracts::state::StateView;
use lianrong_contracts::testkit::{cny, org, World};
use lianrong_contracts::{Action, ContractError};

/// Runs a refused action and returns why.
fn refused(w: &mut World, who: &str, action: Action) -> ContractError {
    let name = action.name();
    match w.exec(who, action).outcome {
        Err(e) => e,
        Ok(ev) => panic!("{who} {name} accepted: {ev:?}"),
    }
}

/// Two receipts of copper, 100 t and 50 t, pledged to BANK-A, copper at 70,000.00/t:
/// worth 7,000,000.00 + 3,500,000.00 = 10,500,000.00.
fn copper_world() -> (World, DocId, DocId) {
    let mut w = World::new();
    let a = pledged_receipt(&mut w, "SUP-1", "BANK-A", "copper cathode", "100", "t");
    let b = pledged_receipt(&mut w, "SUP-1", "BANK-A", "copper cathode", "50", "t");
    post_price(&mut w, "BANK-A", "copper cathode", "t", "70000.00");
    (w, a, b)
}

fn repay_and_ack(w: &mut World, id: &DocId, amount: &str, reference: &str) {
    w.ok(
        "SUP-1",
        Action::RepayLoan {
            loan: id.clone(),
            amount: Amount::parse(amount).unwrap(),
            payment_ref: reference.into(),
        },
    );
    w.ok(
        "BANK-A",
        Action::AcknowledgeLoanRepayment { loan: id.clone() },
    );
}

fn code(e: &ContractError) -> &'static str {
    e.code()
}

#[test]
fn acceptance_exactly_at_ltv_max_and_a_cent_over() {
    // 70 % of 10,500,000.00 = 7,350,000.00.
    let (mut w, a, b) = copper_world();
    let over = request(&mut w, "SUP-1", &[a.clone(), b.clone()], "7350000.01");
    w.ok("BANK-A", offer_action(&w, &over, "70", "80", 5));
    let e = refused(&mut w, "SUP-1", Action::AcceptLoan { loan: over.clone() });
    assert_eq!(
        e.to_string(),
        format!(
            "loan {over}: 7350000.01 CNY against goods worth 10500000.00 CNY is an LTV of \
             70.0001%, above the limit of 70%"
        )
    );
    w.ok("SUP-1", Action::CancelLoan { loan: over });
    let at = request(&mut w, "SUP-1", &[a, b], "7350000.00");
    w.ok("BANK-A", offer_action(&w, &at, "70", "80", 5));
    w.ok("SUP-1", Action::AcceptLoan { loan: at.clone() });
    assert_eq!(loan(&w, &at).status, LoanStatus::Accepted);
    common::check_invariants(&w);
}

#[test]
fn disbursement_rechecks_ltv_at_todays_prices_and_needs_a_price() {
    let (mut w, a, b) = copper_world();
    let id = request(&mut w, "SUP-1", &[a, b], "7000000.00");
    w.ok("BANK-A", offer_action(&w, &id, "70", "80", 5));
    w.ok("SUP-1", Action::AcceptLoan { loan: id.clone() });
    // Copper falls to 66,000.00/t: 9,900,000.00 x 70 % = 6,930,000.00 < 7,000,000.00.
    post_price(&mut w, "BANK-A", "copper cathode", "t", "66000.00");
    let pay = Action::DisburseLoan {
        loan: id.clone(),
        payment_ref: "BANK-A-PAY-1".into(),
    };
    let e = refused(&mut w, "BANK-A", pay.clone());
    assert_eq!(code(&e), "ltv_exceeded");
    assert!(
        e.to_string()
            .contains("9900000.00 CNY is an LTV of 70.7071%"),
        "{e}"
    );
    post_price(&mut w, "BANK-A", "copper cathode", "t", "70000.00");
    w.ok("BANK-A", pay);
    assert_eq!(loan(&w, &id).status, LoanStatus::Disbursed);
    w.ok(
        "SUP-1",
        Action::AcknowledgeLoanDisbursement { loan: id.clone() },
    );
    assert!(loan(&w, &id).disbursement.unwrap().acknowledged);

    // Goods without a price cannot be lent against: no_price names what to post.
    let tin = pledged_receipt(&mut w, "SUP-1", "BANK-A", "tin", "10", "t");
    let t = request(&mut w, "SUP-1", &[tin], "1000.00");
    w.ok("BANK-A", offer_action(&w, &t, "70", "80", 5));
    let e = refused(&mut w, "SUP-1", Action::AcceptLoan { loan: t });
    assert_eq!(
        e.to_string(),
        "BANK-A has posted no price for \"tin\" per t in CNY: post one (post_price) first"
    );
    common::check_invariants(&w);
}

#[test]
fn margin_call_exactly_at_the_threshold_is_refused_and_a_cent_over_is_allowed() {
    // 6,000,000.00 on 150 t; copper falls to 50,000.00/t: 7,500,000.00 x 80 % =
    // 6,000,000.00 exactly.
    for (amount, callable) in [("6000000.00", false), ("6000000.01", true)] {
        let (mut w, a, b) = copper_world();
        let id = disbursed_loan(&mut w, "SUP-1", "BANK-A", &[a, b], amount);
        post_price(&mut w, "BANK-A", "copper cathode", "t", "50000.00");
        let call = Action::MarginCall { loan: id.clone() };
        if callable {
            let ev = w.ok("BANK-A", call);
            let deadline = w.today() + chrono::Days::new(5);
            assert_eq!(
                ev,
                vec![lianrong_contracts::Event::MarginCalled {
                    loan: id.clone(),
                    balance: cny("6000000.01"),
                    value: cny("7500000.00"),
                    deadline,
                }]
            );
        } else {
            let e = refused(&mut w, "BANK-A", call);
            assert_eq!(
                e.to_string(),
                format!(
                    "loan {id}: 6000000.00 CNY against goods worth 7500000.00 CNY is an LTV \
                     of 80.0000%, not above the margin-call threshold of 80%"
                )
            );
        }
        common::check_invariants(&w);
    }
}

#[test]
fn enforcement_before_the_cure_period_ends_is_refused_and_after_it_takes_the_goods() {
    let (mut w, a, b) = copper_world();
    let id = disbursed_loan(
        &mut w,
        "SUP-1",
        "BANK-A",
        &[a.clone(), b.clone()],
        "6000000.00",
    );
    post_price(&mut w, "BANK-A", "copper cathode", "t", "45000.00");
    let enforce = Action::Enforce { loan: id.clone() };
    // No call yet: nothing to enforce.
    assert_eq!(
        code(&refused(&mut w, "BANK-A", enforce.clone())),
        "wrong_status"
    );
    w.ok("BANK-A", Action::MarginCall { loan: id.clone() });
    let deadline = loan(&w, &id).margin_call.unwrap().deadline;
    // Through the last day of the cure period: refused.
    for _ in 0..5 {
        w.advance_days(1);
        let e = refused(&mut w, "BANK-A", enforce.clone());
        assert_eq!(
            e,
            ContractError::CurePeriodRunning {
                loan: id.to_string(),
                deadline: deadline.to_string(),
            }
        );
    }
    assert_eq!(w.today(), deadline);
    w.advance_days(1);
    w.ok("BANK-A", enforce);
    let l = loan(&w, &id);
    assert_eq!(l.status, LoanStatus::Enforced);
    for r in [a, b] {
        let r = receipt(&w, &r);
        assert_eq!(r.owner, org("BANK-A"));
        assert_eq!((r.status, r.pledgee), (ReceiptStatus::Issued, None));
    }
    common::check_invariants(&w);
}

#[test]
fn a_top_up_cures_the_call_and_enforcement_after_a_cure_is_refused() {
    let (mut w, a, b) = copper_world();
    let id = disbursed_loan(&mut w, "SUP-1", "BANK-A", &[a, b], "6000000.00");
    post_price(&mut w, "BANK-A", "copper cathode", "t", "45000.00");
    // 150 t x 45,000.00 = 6,750,000.00: LTV 88.8889 % > 80 %.
    w.ok("BANK-A", Action::MarginCall { loan: id.clone() });
    // A receipt pledged to another bank does not secure this loan.
    let elsewhere = pledged_receipt(&mut w, "SUP-1", "BANK-B", "copper cathode", "40", "t");
    let e = refused(
        &mut w,
        "SUP-1",
        Action::TopUp {
            loan: id.clone(),
            receipt: elsewhere,
        },
    );
    assert_eq!(code(&e), "invalid_field");
    // 20 t more: 7,650,000.00, LTV 78.4314 %: cured.
    let more = pledged_receipt(&mut w, "SUP-1", "BANK-A", "copper cathode", "20", "t");
    let ev = w.ok(
        "SUP-1",
        Action::TopUp {
            loan: id.clone(),
            receipt: more,
        },
    );
    assert!(matches!(
        ev.last(),
        Some(lianrong_contracts::Event::MarginCallCured { .. })
    ));
    assert!(loan(&w, &id).margin_call.is_none());
    w.advance_days(10);
    let e = refused(&mut w, "BANK-A", Action::Enforce { loan: id.clone() });
    assert_eq!(code(&e), "wrong_status");
    common::check_invariants(&w);
}

#[test]
fn enforcement_is_refused_once_prices_recover_and_a_repayment_cures() {
    let (mut w, a, b) = copper_world();
    let id = disbursed_loan(&mut w, "SUP-1", "BANK-A", &[a, b], "6000000.00");
    post_price(&mut w, "BANK-A", "copper cathode", "t", "45000.00");
    w.ok("BANK-A", Action::MarginCall { loan: id.clone() });
    w.advance_days(6);
    // Copper back at 50,000.00: LTV exactly 80 %, not above: no enforcement.
    post_price(&mut w, "BANK-A", "copper cathode", "t", "50000.00");
    let e = refused(&mut w, "BANK-A", Action::Enforce { loan: id.clone() });
    assert_eq!(code(&e), "ltv_within_threshold");
    // Down again, and a repayment of 600,000.00 (acknowledged) cures: 5,400,000.00 /
    // 6,750,000.00 = 80 %.
    post_price(&mut w, "BANK-A", "copper cathode", "t", "45000.00");
    w.ok(
        "SUP-1",
        Action::RepayLoan {
            loan: id.clone(),
            amount: Amount::parse("600000.00").unwrap(),
            payment_ref: "SUP-1-R1".into(),
        },
    );
    // Pending: the balance has not fallen, the call stands.
    assert!(loan(&w, &id).margin_call.is_some());
    w.ok(
        "BANK-A",
        Action::AcknowledgeLoanRepayment { loan: id.clone() },
    );
    let l = loan(&w, &id);
    assert!(l.margin_call.is_none());
    assert_eq!(l.repaid, Amount::parse("600000.00").unwrap());
    let e = refused(&mut w, "BANK-A", Action::Enforce { loan: id });
    assert_eq!(code(&e), "wrong_status");
    common::check_invariants(&w);
}

#[test]
fn release_that_would_breach_ltv_is_refused_with_the_figures_and_allowed_after_repayment() {
    let (mut w, a, b) = copper_world();
    let id = disbursed_loan(
        &mut w,
        "SUP-1",
        "BANK-A",
        &[a.clone(), b.clone()],
        "6000000.00",
    );
    let release = Action::ReleaseGoods {
        loan: id.clone(),
        receipt: b.clone(),
    };
    // Without the 50 t: 7,000,000.00 left, 6,000,000.00 is 85.7143 % > 70 %.
    let e = refused(&mut w, "SUP-1", release.clone());
    assert_eq!(
        e.to_string(),
        format!(
            "loan {id}: 6000000.00 CNY against goods worth 7000000.00 CNY is an LTV of \
             85.7143%, above the limit of 70%"
        )
    );
    // 1,099,999.99 repaid leaves 4,900,000.01: a cent over 70 % of 7,000,000.00.
    repay_and_ack(&mut w, &id, "1099999.99", "R-1");
    assert_eq!(
        code(&refused(&mut w, "SUP-1", release.clone())),
        "ltv_exceeded"
    );
    // A pending repayment counts for nothing until acknowledged.
    w.ok(
        "SUP-1",
        Action::RepayLoan {
            loan: id.clone(),
            amount: Amount::parse("0.01").unwrap(),
            payment_ref: "R-2".into(),
        },
    );
    assert_eq!(
        code(&refused(&mut w, "SUP-1", release.clone())),
        "ltv_exceeded"
    );
    w.ok(
        "BANK-A",
        Action::AcknowledgeLoanRepayment { loan: id.clone() },
    );
    // 4,900,000.00 against 7,000,000.00: exactly 70 %.
    w.ok("SUP-1", release);
    let l = loan(&w, &id);
    assert_eq!((l.receipts, l.released), (vec![a.clone()], vec![b.clone()]));
    let freed = receipt(&w, &b);
    assert_eq!((freed.status, freed.pledgee), (ReceiptStatus::Issued, None));
    // The released goods may go: the owner instructs, the warehouse releases.
    w.ok("SUP-1", Action::InstructRelease { receipt: b.clone() });
    w.ok("LOGI", Action::ReleaseWarehouseReceipt { receipt: b });
    // The pledge on the goods still lent against cannot be lifted from under the loan.
    let e = refused(
        &mut w,
        "BANK-A",
        Action::ReleasePledge { receipt: a.clone() },
    );
    assert_eq!(code(&e), "under_loan");
    // Repaid in full: the loan closes and its last pledge is lifted.
    repay_and_ack(&mut w, &id, "4900000.00", "R-3");
    let l = loan(&w, &id);
    assert_eq!(l.status, LoanStatus::Repaid);
    assert_eq!(receipt(&w, &a).status, ReceiptStatus::Issued);
    common::check_invariants(&w);
}

#[test]
fn interest_is_simple_act_360_on_the_balance() {
    let (mut w, a, b) = copper_world();
    let id = disbursed_loan(&mut w, "SUP-1", "BANK-A", &[a, b], "6000000.00");
    // 6,000,000.00 x 4.5 % x 30 / 360 = 22,500.00.
    w.advance_days(30);
    let interest = |w: &World| {
        let st = StateView::new(&w.store);
        figures(&st, &loan(w, &id), w.today(), DayCount::Act360)
            .unwrap()
            .accrued_interest
    };
    assert_eq!(interest(&w), cny("22500.00"));
    // 1,000,000.00 repaid on day 30; then 5,000,000.00 x 4.5 % x 10 / 360 = 6,250.00.
    repay_and_ack(&mut w, &id, "1000000.00", "R-1");
    w.advance_days(10);
    assert_eq!(interest(&w), cny("28750.00"));
    let st = StateView::new(&w.store);
    let f = figures(&st, &loan(&w, &id), w.today(), DayCount::Act360).unwrap();
    assert_eq!(f.balance, cny("5000000.00"));
    assert_eq!(f.value, Ok(cny("10500000.00")));
    // 5,000,000 / 10,500,000 = 47.6190476... %, shown rounded up.
    assert_eq!(f.ltv_percent.unwrap().to_string(), "47.6191");
    assert!(!f.above_margin_call && !f.above_ltv_max);
}

#[test]
fn requests_need_free_receipts_pledged_to_one_bank_and_cancelling_frees_them() {
    let (mut w, a, b) = copper_world();
    let other = pledged_receipt(&mut w, "SUP-1", "BANK-B", "copper cathode", "10", "t");
    let ask = |receipts: Vec<DocId>| Action::RequestLoan {
        receipts,
        amount: cny("1000.00"),
    };
    let e = refused(&mut w, "SUP-1", ask(vec![a.clone(), other]));
    assert_eq!(code(&e), "invalid_field");
    let e = refused(&mut w, "SUP-1", ask(vec![a.clone(), a.clone()]));
    assert_eq!(code(&e), "invalid_field");
    assert_eq!(
        code(&refused(&mut w, "SUP-1", ask(vec![]))),
        "invalid_field"
    );
    let first = request(&mut w, "SUP-1", std::slice::from_ref(&a), "1000.00");
    let e = refused(&mut w, "SUP-1", ask(vec![b.clone(), a.clone()]));
    assert_eq!(
        e,
        ContractError::UnderLoan {
            receipt: a.to_string(),
            loan: first.to_string(),
        }
    );
    // The bank cancels before paying: the receipt is free for another loan.
    w.ok(
        "BANK-A",
        Action::CancelLoan {
            loan: first.clone(),
        },
    );
    assert_eq!(
        code(&refused(
            &mut w,
            "SUP-1",
            Action::CancelLoan { loan: first }
        )),
        "wrong_status"
    );
    request(&mut w, "SUP-1", &[b, a], "1000.00");
    // Terms that do not fit together are refused.
    let one = pledged_receipt(&mut w, "SUP-1", "BANK-A", "copper cathode", "1", "t");
    let id = request(&mut w, "SUP-1", &[one], "100.00");
    let bad = offer_action(&w, &id, "80", "70", 5);
    assert_eq!(code(&refused(&mut w, "BANK-A", bad)), "invalid_field");
    let bad = offer_action(&w, &id, "70", "80", 0);
    assert_eq!(code(&refused(&mut w, "BANK-A", bad)), "invalid_field");
    common::check_invariants(&w);
}

#[test]
fn receipts_carry_quantity_and_unit_and_values_round_half_away_from_zero() {
    let mut w = World::new();
    // 12.345 t at 1,000.01/t = 12,345.12345 -> 12,345.12; 0.005 t at 1.00 -> 0.01.
    let a = pledged_receipt(&mut w, "SUP-1", "BANK-A", "alloy", "12.345", "T");
    let b = pledged_receipt(&mut w, "SUP-1", "BANK-A", "alloy", "0.005", "t");
    let r = receipt(&w, &a);
    assert_eq!(
        (r.quantity.to_string(), r.unit.as_str()),
        ("12.345".into(), "t")
    );
    post_price(&mut w, "BANK-A", "alloy", "t", "1000.01");
    let st = StateView::new(&w.store);
    let v = lianrong_contracts::exec::inventory::goods_value(
        &st,
        &org("BANK-A"),
        std::slice::from_ref(&a),
        cny("1.00").currency,
    )
    .unwrap();
    assert_eq!(v, cny("12345.12"));
    post_price(&mut w, "BANK-A", "alloy", "t", "1.00");
    let st = StateView::new(&w.store);
    let v = lianrong_contracts::exec::inventory::goods_value(
        &st,
        &org("BANK-A"),
        &[b],
        cny("1.00").currency,
    )
    .unwrap();
    assert_eq!(v, cny("0.01"));
    // Only banks post prices.
    let e = refused(
        &mut w,
        "SUP-1",
        common::inventory::post_price_action("alloy", "t", "2.00"),
    );
    assert_eq!(code(&e), "missing_role");
    common::check_invariants(&w);
}
