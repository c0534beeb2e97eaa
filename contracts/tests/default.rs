//! Overdue and default (issue 13 item 1): a financing goes overdue with its receivable,
//! penalty interest accrues per day at the agreed rate (one day's figure rounded half
//! away from zero, times the days after maturity + grace), with recourse the supplier
//! buys the financing back (two-sided: the bank acknowledges the money), without it the
//! bank writes it off; exposure ends either way. Every figure is worked by hand in the
//! comment beside it; the properties at the end check the rule over random amounts.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

mod common;

use chrono::Days;
use common::default::{
    buyback, figures_today, financed, financing, overdue_on, write_off, GRACE_DAYS,
};
use common::financed::refused;
use lianrong_contracts::exec::default::{figures, penalty};
use lianrong_contracts::model::{
    DocId, FinancingStatus, GridBucket, LimitScope, Offer, ProgrammeTerms, ReceivableStatus,
    SettlementStatus,
};
use lianrong_contracts::money::{Amount, Currency, DayCount, Money, Rate};
use lianrong_contracts::state::{keys, Storage};
use lianrong_contracts::testkit::{cny, org, World};
use lianrong_contracts::{Action, ContractError, DocKind, Event};
use lianrong_primitives::decode;
use proptest::prelude::*;

fn rate(s: &str) -> Rate {
    Rate::parse(s).unwrap()
}

fn amount(s: &str) -> Amount {
    Amount::parse(s).unwrap()
}

/// Every limit use `bank` has (its exposure and programme counters), as text.
fn uses_of(w: &World, bank: &str) -> Vec<String> {
    w.store
        .scan_prefix(format!("use/{bank}/").as_bytes(), usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(k, v)| {
            let a: Amount = decode(&v, 1024).unwrap();
            format!("{}={a}", String::from_utf8_lossy(&k))
        })
        .collect()
}

fn issuance_use(w: &World, debtor: &str) -> Amount {
    let scope = LimitScope::Issuance {
        debtor: org(debtor),
    };
    w.raw(&keys::limit_use(&scope, "CNY"))
        .map_or(Amount::ZERO, |v| decode(&v, 1024).unwrap())
}

fn repay(r: &DocId, payee: &str, amt: &str, reference: &str) -> Action {
    Action::Repay {
        receivable: r.clone(),
        payee: org(payee),
        amount: amount(amt),
        payment_ref: reference.into(),
    }
}

/// Instructs a repayment and has the payee acknowledge it; returns the acknowledgement's
/// events.
fn repaid(w: &mut World, r: &DocId, payee: &str, amt: &str, reference: &str) -> Vec<Event> {
    let ev = w.ok("CORE-A", repay(r, payee, amt, reference));
    let Event::SettlementInstructed { settlement, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    w.ok(
        payee,
        Action::AcknowledgeSettlement {
            settlement: settlement.clone(),
        },
    )
}

#[test]
fn penalty_for_17_days_on_1_234_567_89_at_0_05_percent_a_day_is_hand_checked_to_the_cent() {
    let mut w = World::new();
    // 0.05 % a day under ACT/360 is 0.05 x 360 = 18 % a year.
    let per_year = Rate::from_daily(rate("0.05"), DayCount::Act360).unwrap();
    assert_eq!(per_year, rate("18"));
    let (r, fid) = financed(
        &mut w,
        "SUP-1",
        "BANK-A",
        "1234567.89",
        30,
        Some((per_year, true)),
    );
    overdue_on(&mut w, &r, 17);
    // By hand: one day = 1,234,567.89 x 0.0005 = 617.283945 -> 617.28 (half away from
    // zero: the third decimal is 3); 17 days past maturity + grace = 617.28 x 17 =
    // 10,493.76 (not 1,234,567.89 x 0.0005 x 17 = 10,493.827065 -> 10,493.83: the day's
    // figure is rounded once, then counted). Claim = 1,234,567.89 + 10,493.76 =
    // 1,245,061.65.
    let fig = figures_today(&w, &fid);
    assert_eq!(
        (fig.days_past_due, fig.daily_penalty, fig.penalty, fig.claim),
        (17, cny("617.28"), cny("10493.76"), cny("1245061.65"))
    );
    // A day earlier: 617.28 x 16 = 9,876.48.
    let f = financing(&w, &fid);
    let yesterday = w.today().checked_sub_days(Days::new(1)).unwrap();
    let earlier = figures(&f, &w.receivable(&r), yesterday).unwrap().unwrap();
    assert_eq!(earlier.penalty, cny("9876.48"));
    // The ledger charges exactly that: a cent less is refused naming its figure ...
    let e = refused(&mut w, "SUP-1", buyback(&fid, "1245061.64", "SUP1-BB-1"));
    assert_eq!(
        e,
        ContractError::AmountMismatch {
            what: format!("buy-back of {fid}"),
            given: "1245061.64".into(),
            expected: "1245061.65".into(),
        }
    );
    // ... and the hand-checked figure is the buy-back.
    let ev = w.ok("SUP-1", buyback(&fid, "1245061.65", "SUP1-BB-1"));
    assert_eq!(
        ev,
        [Event::BuybackInstructed {
            financing: fid.clone(),
            supplier: org("SUP-1"),
            bank: org("BANK-A"),
            amount: cny("1245061.65"),
            advanced: cny("1234567.89"),
            penalty: cny("10493.76"),
            payment_ref: "SUP1-BB-1".into(),
        }]
    );
    common::check_invariants(&w);
}

#[test]
fn the_sweep_marks_disbursed_financings_overdue_with_their_terms() {
    let mut w = World::new();
    let (r, with_terms) = financed(
        &mut w,
        "SUP-1",
        "BANK-A",
        "100000.00",
        30,
        Some((rate("18"), false)),
    );
    let (_, plain) = financed(&mut w, "SUP-2", "BANK-B", "50000.00", 30, None);
    // Accepted, never disbursed: the money is not at risk.
    let r3 = w.trade_to_receivable("CORE-A", "SUP-3", "70000.00", 30);
    let ev = w.ok(
        "SUP-3",
        Action::RequestFinancing {
            receivable: r3.clone(),
            banks: vec![org("BANK-A")],
        },
    );
    let Event::FinancingRequested {
        financing: accepted,
        ..
    } = ev[0].clone()
    else {
        panic!()
    };
    let ev = w.ok(
        "BANK-A",
        Action::OfferFinancing {
            financing: accepted.clone(),
            rate: rate("4"),
            fees: Amount::ZERO,
            valid_until: w.today(),
        },
    );
    let Event::OfferMade { offer, .. } = ev[0].clone() else {
        panic!()
    };
    w.ok("SUP-3", Action::AcceptOffer { offer });

    // The grace days: not yet overdue on maturity + 3.
    let due = w.receivable(&r).maturity;
    let ahead = (due - w.today()).num_days() + i64::try_from(GRACE_DAYS).unwrap();
    w.advance_days(u64::try_from(ahead).unwrap());
    assert!(w.block(&[]).ledger_events.is_empty());
    assert!(financing(&w, &with_terms).overdue.is_none());

    let events = overdue_on(&mut w, &r, 1);
    let penalty_from = due.checked_add_days(Days::new(GRACE_DAYS)).unwrap();
    let marked: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::FinancingOverdue { .. }))
        .collect();
    assert_eq!(
        marked,
        [
            &Event::FinancingOverdue {
                financing: with_terms.clone(),
                receivable: r.clone(),
                bank: org("BANK-A"),
                penalty_from,
                penalty_rate: rate("18"),
                recourse: false,
            },
            // No terms named: no penalty, no recourse.
            &Event::FinancingOverdue {
                financing: plain.clone(),
                receivable: financing(&w, &plain).receivable,
                bank: org("BANK-B"),
                penalty_from,
                penalty_rate: Rate::zero(),
                recourse: false,
            },
        ]
    );
    assert_eq!(w.receivable(&r3).status, ReceivableStatus::Overdue);
    assert!(financing(&w, &accepted).overdue.is_none());
    let o = financing(&w, &with_terms).overdue.unwrap();
    assert_eq!((o.since, o.penalty_from), (w.today(), penalty_from));
    // Day 1: 100,000.00 x 18 / 36,000 = 50.00; the plain one charges nothing.
    assert_eq!(figures_today(&w, &with_terms).penalty, cny("50.00"));
    assert_eq!(figures_today(&w, &plain).penalty, cny("0.00"));
    // The history of the financing shows the ledger's mark (no transaction, no signer).
    let f = financing(&w, &with_terms);
    assert_eq!(f.status, FinancingStatus::Disbursed);
    common::check_invariants(&w);
}

#[test]
fn with_recourse_the_supplier_buys_back_and_the_bank_acknowledges() {
    let mut w = World::new();
    let (r, fid) = financed(
        &mut w,
        "SUP-1",
        "BANK-A",
        "100000.00",
        30,
        Some((rate("18"), true)),
    );
    let issued = issuance_use(&w, "CORE-A");
    overdue_on(&mut w, &r, 10);
    // 100,000.00 x 18 / 36,000 = 50.00 a day; 10 days 500.00; claim 100,500.00.
    assert_eq!(figures_today(&w, &fid).claim, cny("100500.00"));
    let e = refused(&mut w, "BANK-A", write_off(&fid, "100500.00", "bad debt"));
    assert!(matches!(e, ContractError::RecourseTerm { .. }), "{e:?}");
    let e = refused(
        &mut w,
        "BANK-A",
        Action::AcknowledgeBuyback {
            financing: fid.clone(),
        },
    );
    assert!(matches!(e, ContractError::WrongStatus { .. }), "{e:?}");

    w.ok("SUP-1", buyback(&fid, "100500.00", "SUP1-BB-1"));
    // Instructed is not paid: the bank still holds it and still counts it.
    assert_eq!(w.receivable(&r).holder.as_str(), "BANK-A");
    assert_eq!(
        uses_of(&w, "BANK-A"),
        [
            "use/BANK-A/exposure/debtor/CORE-A/CNY=100000.00",
            "use/BANK-A/exposure/supplier/SUP-1/CNY=100000.00"
        ]
    );
    // No settlement of the receivable while the buy-back waits.
    let e = refused(&mut w, "CORE-A", repay(&r, "BANK-A", "1.00", "HX-1"));
    assert_eq!(
        e,
        ContractError::BuybackPending {
            receivable: r.to_string(),
            financing: fid.to_string(),
        }
    );
    // The bank says the money did not come: nothing changes, the penalty runs on.
    w.ok(
        "BANK-A",
        Action::DisputeBuyback {
            financing: fid.clone(),
            reason: "not received".into(),
        },
    );
    let b = financing(&w, &fid).overdue.unwrap().buyback.unwrap();
    assert_eq!(
        (b.status, b.dispute_reason.as_deref()),
        (SettlementStatus::Disputed, Some("not received"))
    );
    w.advance_days(1);
    // Day 11: 50.00 x 11 = 550.00; claim 100,550.00. The old reference is spent.
    let e = refused(&mut w, "SUP-1", buyback(&fid, "100550.00", "SUP1-BB-1"));
    assert!(
        matches!(e, ContractError::DuplicatePaymentRef { .. }),
        "{e:?}"
    );
    let e = refused(&mut w, "SUP-1", buyback(&fid, "100500.00", "SUP1-BB-2"));
    assert!(matches!(e, ContractError::AmountMismatch { .. }), "{e:?}");
    w.ok("SUP-1", buyback(&fid, "100550.00", "SUP1-BB-2"));
    let ev = w.ok(
        "BANK-A",
        Action::AcknowledgeBuyback {
            financing: fid.clone(),
        },
    );
    assert_eq!(
        ev,
        [
            Event::BuybackAcknowledged {
                financing: fid.clone(),
                receivable: r.clone(),
                bank: org("BANK-A"),
                amount: cny("100550.00"),
            },
            Event::ReceivableAssigned {
                receivable: r.clone(),
                from: org("BANK-A"),
                to: org("SUP-1"),
                financing: fid.clone(),
            },
            Event::FinancingClosed {
                financing: fid.clone(),
            },
        ]
    );
    // The receivable is the supplier's again, still overdue and owed by the debtor; the
    // bank's exposure is gone; the debtor's issuance use is what it owes, as before.
    let rcv = w.receivable(&r);
    assert_eq!(
        (rcv.holder.as_str(), rcv.status, rcv.financing.as_ref()),
        ("SUP-1", ReceivableStatus::Overdue, None)
    );
    assert!(
        uses_of(&w, "BANK-A").is_empty(),
        "{:?}",
        uses_of(&w, "BANK-A")
    );
    assert_eq!(issuance_use(&w, "CORE-A"), issued);
    assert_eq!(financing(&w, &fid).status, FinancingStatus::Closed);
    // Fixed at the instruction: a week later the figure is the same.
    w.advance_days(7);
    let fig = figures_today(&w, &fid);
    assert_eq!((fig.penalty, fig.running), (cny("550.00"), false));
    // The debtor pays its supplier at last.
    repaid(&mut w, &r, "SUP-1", "100000.00", "HX-2");
    assert_eq!(w.receivable(&r).status, ReceivableStatus::Settled);
    common::check_invariants(&w);
}

#[test]
fn without_recourse_the_bank_writes_off_and_its_exposure_ends() {
    let mut w = World::new();
    let (r, fid) = financed(
        &mut w,
        "SUP-1",
        "BANK-A",
        "250000.00",
        60,
        Some((rate("36"), false)),
    );
    overdue_on(&mut w, &r, 5);
    // 250,000.00 x 36 / 36,000 = 250.00 a day; 5 days 1,250.00; claim 251,250.00.
    let e = refused(&mut w, "SUP-1", buyback(&fid, "251250.00", "SUP1-BB-1"));
    assert!(matches!(e, ContractError::RecourseTerm { .. }), "{e:?}");
    let e = refused(&mut w, "BANK-A", write_off(&fid, "250000.00", "insolvent"));
    assert_eq!(
        e,
        ContractError::AmountMismatch {
            what: format!("write-off of {fid}"),
            given: "250000.00".into(),
            expected: "251250.00".into(),
        }
    );
    let e = refused(&mut w, "BANK-A", write_off(&fid, "251250.00", ""));
    assert!(matches!(e, ContractError::InvalidField { .. }), "{e:?}");
    let e = refused(&mut w, "BANK-B", write_off(&fid, "251250.00", "insolvent"));
    assert!(matches!(e, ContractError::NotParty { .. }), "{e:?}");

    let ev = w.ok(
        "BANK-A",
        write_off(&fid, "251250.00", "debtor in insolvency proceedings"),
    );
    assert_eq!(
        ev,
        [
            Event::FinancingWrittenOff {
                financing: fid.clone(),
                receivable: r.clone(),
                bank: org("BANK-A"),
                amount: cny("251250.00"),
                advanced: cny("250000.00"),
                penalty: cny("1250.00"),
                reason: "debtor in insolvency proceedings".into(),
            },
            Event::FinancingClosed {
                financing: fid.clone(),
            },
        ]
    );
    let f = financing(&w, &fid);
    let x = f.overdue.as_ref().unwrap().write_off.clone().unwrap();
    assert_eq!(
        (f.status, x.amount, x.written_off_on),
        (FinancingStatus::Closed, cny("251250.00"), w.today())
    );
    // Nothing outstanding for the bank on any of its limits; the receivable is no longer
    // under a financing, though the debtor still owes it (a write-off releases no one).
    assert!(
        uses_of(&w, "BANK-A").is_empty(),
        "{:?}",
        uses_of(&w, "BANK-A")
    );
    let rcv = w.receivable(&r);
    assert_eq!(
        (rcv.holder.as_str(), rcv.status, rcv.financing.as_ref()),
        ("BANK-A", ReceivableStatus::Overdue, None)
    );
    let e = refused(&mut w, "BANK-A", write_off(&fid, "251250.00", "again"));
    assert!(matches!(e, ContractError::WrongStatus { .. }), "{e:?}");
    // Frozen: thirty days later the same figures.
    w.advance_days(30);
    let fig = figures_today(&w, &fid);
    assert_eq!(
        (fig.claim, fig.days_past_due, fig.running),
        (cny("251250.00"), 5, false)
    );
    // A recovery is a settlement like any other; the bank's limits are untouched by it.
    repaid(&mut w, &r, "BANK-A", "50000.00", "HX-REC-1");
    assert_eq!(w.receivable(&r).outstanding(), Some(amount("200000.00")));
    assert!(uses_of(&w, "BANK-A").is_empty());
    common::check_invariants(&w);
}

/// BANK-A's programme with CORE-A: one 4 % bucket to 180 days, no fees, 80 % advanced,
/// with recourse, an 18 % a year penalty, auto-offer valid 5 days.
fn programme_terms() -> ProgrammeTerms {
    ProgrammeTerms {
        core: org("CORE-A"),
        suppliers: vec![org("SUP-1")],
        max_tier: 1,
        currency: Currency::new("CNY").unwrap(),
        grid: vec![GridBucket {
            max_days: 180,
            rate: rate("4"),
        }],
        fee_percent: rate("0"),
        fee_fixed: Amount::ZERO,
        max_tenor_days: 180,
        advance: rate("80"),
        recourse: true,
        auto_offer: true,
        offer_valid_days: 5,
        limit: cny("5000000.00"),
        penalty_rate: rate("18"),
    }
}

fn programme(w: &mut World, terms: ProgrammeTerms) -> DocId {
    let ev = w.ok("BANK-A", Action::CreateProgramme { terms });
    let Event::ProgrammeCreated { programme: p, .. } = ev[0].clone() else {
        panic!("{ev:?}")
    };
    w.ok(
        "CORE-A",
        Action::AcceptProgramme {
            programme: p.clone(),
        },
    );
    w.ok(
        "SUP-1",
        Action::JoinProgramme {
            programme: p.clone(),
        },
    );
    p
}

#[test]
fn under_a_programme_the_penalty_runs_on_the_advance_and_repayments_are_folded_in() {
    let mut w = World::new();
    let p = programme(&mut w, programme_terms());
    let r = w.trade_to_receivable("CORE-A", "SUP-1", "1000000.00", 30);
    let ev = w.ok(
        "SUP-1",
        Action::RequestProgrammeFinancing {
            receivable: r.clone(),
            programme: p.clone(),
        },
    );
    let Some(Event::OfferMade { offer, .. }) = ev.get(1).cloned() else {
        panic!("{ev:?}")
    };
    let Event::FinancingRequested { financing: fid, .. } = ev[0].clone() else {
        panic!("{ev:?}")
    };
    let ev = w.ok("SUP-1", Action::AcceptOffer { offer });
    let Event::OfferAccepted { net, .. } = ev[0].clone() else {
        panic!("{ev:?}")
    };
    w.ok(
        "BANK-A",
        Action::Disburse {
            financing: fid.clone(),
            payment_ref: "CMB-P1".into(),
            net: net.amount,
        },
    );
    let ev = overdue_on(&mut w, &r, 10);
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::FinancingOverdue { penalty_rate, recourse: true, .. } if *penalty_rate == rate("18")
    )));
    // Advanced 1,000,000.00 x 80 % = 800,000.00; a day 800,000.00 x 18 / 36,000 =
    // 400.00; 10 days 4,000.00.
    let fig = figures_today(&w, &fid);
    assert_eq!(
        (fig.advanced, fig.penalty, fig.claim),
        (cny("800000.00"), cny("4000.00"), cny("804000.00"))
    );
    // Day 10: the debtor pays the bank 300,000.00. The penalty so far (4,000.00) is
    // folded in; the advance outstanding is 800,000.00 - 300,000.00 = 500,000.00.
    let ev = repaid(&mut w, &r, "BANK-A", "300000.00", "HX-P1");
    assert!(ev.contains(&Event::FinancingPenaltyAccrued {
        financing: fid.clone(),
        through: w.today(),
        accrued: cny("4000.00"),
    }));
    // Six days on: 500,000.00 x 18 / 36,000 = 250.00 a day; 4,000.00 + 6 x 250.00 =
    // 5,500.00; claim 500,000.00 + 5,500.00 = 505,500.00.
    w.advance_days(6);
    let fig = figures_today(&w, &fid);
    assert_eq!(
        (fig.days_past_due, fig.advanced, fig.penalty, fig.claim),
        (16, cny("500000.00"), cny("5500.00"), cny("505500.00"))
    );
    w.ok("SUP-1", buyback(&fid, "505500.00", "SUP1-BB-P1"));
    w.ok(
        "BANK-A",
        Action::AcknowledgeBuyback {
            financing: fid.clone(),
        },
    );
    // The supplier holds the receivable again, its 200,000.00 reserve included: the
    // debtor still owes 700,000.00. The programme's and the bank's use are gone.
    let rcv = w.receivable(&r);
    assert_eq!(
        (rcv.holder.as_str(), rcv.outstanding()),
        ("SUP-1", Some(amount("700000.00")))
    );
    assert!(
        uses_of(&w, "BANK-A").is_empty(),
        "{:?}",
        uses_of(&w, "BANK-A")
    );
    common::check_invariants(&w);
}

#[test]
fn an_offer_under_a_programme_names_the_programmes_default_terms() {
    let mut w = World::new();
    let mut t = programme_terms();
    t.auto_offer = false;
    let p = programme(&mut w, t);
    let r = w.trade_to_receivable("CORE-A", "SUP-1", "100000.00", 90);
    let ev = w.ok(
        "SUP-1",
        Action::RequestProgrammeFinancing {
            receivable: r,
            programme: p,
        },
    );
    let Event::FinancingRequested { financing: fid, .. } = ev[0].clone() else {
        panic!("{ev:?}")
    };
    let today = w.today();
    let offer = |penalty: &str, recourse: bool| Action::OfferFinancingWithTerms {
        financing: fid.clone(),
        rate: rate("4"),
        fees: Amount::ZERO,
        valid_until: today,
        penalty_rate: rate(penalty),
        recourse,
    };
    let (lower, without) = (offer("12", true), offer("18", false));
    let e = refused(&mut w, "BANK-A", lower);
    assert!(matches!(e, ContractError::OutsideProgramme { .. }), "{e:?}");
    let e = refused(&mut w, "BANK-A", without);
    assert!(matches!(e, ContractError::OutsideProgramme { .. }), "{e:?}");
    let ok = offer("18", true);
    let ev = w.ok("BANK-A", ok);
    let Event::OfferMade { offer: oid, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    let o: Offer = w.get(DocKind::Offer, oid.as_str()).unwrap();
    assert_eq!((o.penalty_rate, o.recourse), (Some(rate("18")), Some(true)));
    // Outside programmes acceptance records the offer's recourse on the financing.
    let (_, plain) = financed(
        &mut w,
        "SUP-2",
        "BANK-B",
        "1000.00",
        30,
        Some((rate("10"), true)),
    );
    assert_eq!(financing(&w, &plain).recourse, Some(true));
    common::check_invariants(&w);
}

#[test]
fn a_policy_on_offers_holds_offers_with_default_terms_too() {
    use lianrong_contracts::model::{ApprovalPolicy, ApprovalRule};
    let mut w = World::new();
    w.add_member_key("BANK-A", 1);
    w.ok(
        "BANK-A",
        Action::SetApprovalPolicy {
            policy: Some(ApprovalPolicy {
                rules: vec![ApprovalRule {
                    action: "offer_financing".into(),
                    above: None,
                    approvals: 2,
                }],
                ttl_days: 5,
            }),
        },
    );
    let r = w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", 30);
    let ev = w.ok(
        "SUP-1",
        Action::RequestFinancing {
            receivable: r,
            banks: vec![org("BANK-A")],
        },
    );
    let Event::FinancingRequested { financing, .. } = ev[0].clone() else {
        panic!()
    };
    let ev = w.ok(
        "BANK-A",
        Action::OfferFinancingWithTerms {
            financing,
            rate: rate("4"),
            fees: Amount::ZERO,
            valid_until: w.today(),
            penalty_rate: rate("18"),
            recourse: true,
        },
    );
    assert!(
        matches!(
            &ev[..],
            [Event::ApprovalRequested { amount: Some(m), .. }] if *m == cny("1000.00")
        ),
        "{ev:?}"
    );
}

/// One day's penalty in cents by integer arithmetic: cents x bp / (10,000 x 360), half up.
fn daily_cents(cents: u64, bp: u32) -> u128 {
    let num = u128::from(cents) * u128::from(bp);
    let den = 10_000u128 * 360;
    let (q, r) = (num / den, num % den);
    if r * 2 >= den {
        q + 1
    } else {
        q
    }
}

fn money_of_cents(cents: u128) -> Money {
    Money {
        amount: Amount::from_decimal(rust_decimal::Decimal::from_i128_with_scale(
            i128::try_from(cents).unwrap(),
            2,
        ))
        .unwrap(),
        currency: Currency::new("CNY").unwrap(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The penalty is never negative, zero for no days, grows with the days, and is the
    /// hand rule exactly: one day rounded half away from zero, times the days.
    #[test]
    fn penalty_is_monotone_in_days_never_negative_and_exact(
        cents in 1u64..10_000_000_000_000,
        bp in 0u32..10_000,
        d1 in 0u32..1000,
        extra in 0u32..1000,
    ) {
        let base = money_of_cents(u128::from(cents));
        let r = Rate::parse(&format!("{}.{:02}", bp / 100, bp % 100)).unwrap();
        let p1 = penalty(&base, r, d1, DayCount::Act360).unwrap();
        let p2 = penalty(&base, r, d1 + extra, DayCount::Act360).unwrap();
        prop_assert!(p1.amount <= p2.amount);
        prop_assert_eq!(penalty(&base, r, 0, DayCount::Act360).unwrap().amount, Amount::ZERO);
        prop_assert_eq!(p1, money_of_cents(daily_cents(cents, bp) * u128::from(d1)));
    }
}

proptest! {
    // Each case runs a small ledger for some weeks of blocks.
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Over random faces, rates, days and a repayment while overdue: what the supplier
    /// pays for a buy-back is what the bank acknowledges (advance + penalty by the hand
    /// rule); a write-off records that same claim; either way nothing is left counted
    /// against the bank, the receivable no longer stands under its financing, and every
    /// invariant holds.
    #[test]
    fn buyback_conserves_money_and_write_off_leaves_the_bank_nothing_outstanding(
        cents in 100u64..100_000_000_000,
        bp in 0u32..5_000,
        first in 1u64..40,
        second in 0u64..40,
        paid_per_mille in 0u64..1000,
        recourse in any::<bool>(),
    ) {
        let mut w = World::new();
        let face = money_of_cents(u128::from(cents)).to_fixed();
        let r = Rate::parse(&format!("{}.{:02}", bp / 100, bp % 100)).unwrap();
        let (rcv, fid) = financed(&mut w, "SUP-1", "BANK-A", &face, 30, Some((r, recourse)));
        overdue_on(&mut w, &rcv, first);
        // A repayment while overdue (acknowledged by the bank) folds the penalty so far.
        let paid = cents * paid_per_mille / 1000;
        let mut expected = daily_cents(cents, bp) * u128::from(first);
        if paid > 0 {
            repaid(&mut w, &rcv, "BANK-A", &money_of_cents(u128::from(paid)).to_fixed(), "HX-P");
        }
        w.advance_days(second);
        let left = cents - paid;
        expected += daily_cents(left, bp) * u128::from(second);
        let claim = money_of_cents(u128::from(left) + expected);
        let fig = figures_today(&w, &fid);
        prop_assert_eq!(fig.penalty, money_of_cents(expected));
        prop_assert_eq!(fig.claim, claim);
        let f = financing(&w, &fid);
        if recourse {
            let ev = w.ok("SUP-1", buyback(&fid, &claim.to_fixed(), "SUP1-BB"));
            let Event::BuybackInstructed { amount: paid_by_supplier, .. } = ev[0].clone() else {
                panic!("{ev:?}")
            };
            let ev = w.ok("BANK-A", Action::AcknowledgeBuyback { financing: fid.clone() });
            let Event::BuybackAcknowledged { amount: acknowledged, .. } = ev[0].clone() else {
                panic!("{ev:?}")
            };
            prop_assert_eq!(paid_by_supplier, claim);
            prop_assert_eq!(acknowledged, paid_by_supplier);
            prop_assert_eq!(w.receivable(&rcv).holder, org("SUP-1"));
        } else {
            w.ok("BANK-A", write_off(&fid, &claim.to_fixed(), "uncollectable"));
            let x = financing(&w, &fid).overdue.unwrap().write_off.unwrap();
            prop_assert_eq!(x.amount, claim);
        }
        prop_assert!(uses_of(&w, "BANK-A").is_empty(), "{:?}", uses_of(&w, "BANK-A"));
        prop_assert_eq!(financing(&w, &fid).status, FinancingStatus::Closed);
        prop_assert_eq!(w.receivable(&rcv).financing, None);
        prop_assert_eq!(f.receivable, rcv);
        // Fixed from now on.
        w.advance_days(3);
        prop_assert_eq!(figures_today(&w, &fid).claim, claim);
        common::check_invariants(&w);
    }
}
