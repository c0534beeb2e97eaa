//! Supply-chain finance programmes (issue 15 item 1, and the programme limit of item 2):
//! a bank's programme with a core enterprise, accepted by the core, joined by eligible
//! suppliers; financing inside it follows its terms and grid (auto-offered or offered by
//! its bank), advances the agreed share of the face, counts against the programme limit;
//! closing stops new financing and touches no deal. Figures are hand-checked.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

mod common;

use chrono::Days;
use lianrong_contracts::action::Action;
use lianrong_contracts::model::{
    ApprovalPolicy, ApprovalRule, DocId, Financing, FinancingStatus, GridBucket, LimitScope, Offer,
    Programme, ProgrammeStatus, ProgrammeTerms,
};
use lianrong_contracts::money::{Amount, Currency, Money, Rate};
use lianrong_contracts::state::keys;
use lianrong_contracts::testkit::{cny, member_key, org, World};
use lianrong_contracts::{ContractError, DocKind, Event};
use lianrong_primitives::decode;

fn rate(s: &str) -> Rate {
    Rate::parse(s).unwrap()
}

fn amount(s: &str) -> Amount {
    Amount::parse(s).unwrap()
}

/// BANK-A's programme with CORE-A: SUP-1 and SUP-3 eligible, tiers 1-2, CNY; 3.00 % up
/// to 30 days, 3.65 % up to 90, 4.20 % up to 180 (the maximum tenor); fees 0.10 % of the
/// advanced amount + 50.00; 80 % advanced; no recourse; auto-offer valid 5 days; a
/// 2,000,000.00 programme limit.
fn terms() -> ProgrammeTerms {
    ProgrammeTerms {
        core: org("CORE-A"),
        suppliers: vec![org("SUP-1"), org("SUP-3")],
        max_tier: 2,
        currency: Currency::new("CNY").unwrap(),
        grid: vec![
            GridBucket {
                max_days: 30,
                rate: rate("3.00"),
            },
            GridBucket {
                max_days: 90,
                rate: rate("3.65"),
            },
            GridBucket {
                max_days: 180,
                rate: rate("4.20"),
            },
        ],
        fee_percent: rate("0.10"),
        fee_fixed: amount("50.00"),
        max_tenor_days: 180,
        advance: rate("80"),
        recourse: false,
        auto_offer: true,
        offer_valid_days: 5,
        limit: cny("2000000.00"),
        penalty_rate: rate("18"),
    }
}

/// Runs `action` as `who` and returns its refusal, checking it wrote nothing but the
/// signer's nonce and the chain metadata.
fn refused(w: &mut World, who: &str, action: Action) -> ContractError {
    let tx = w.sign(who, action);
    let out = w.block(&[tx]);
    let nonce = keys::nonce(&member_key(who).public());
    for k in out.changes.values.keys() {
        assert!(
            k == &nonce || k.as_slice() == keys::META,
            "a refused action wrote {}",
            String::from_utf8_lossy(k)
        );
    }
    match &out.receipts[0].outcome {
        Err(e) => e.clone(),
        Ok(ev) => panic!("{who} was allowed: {ev:?}"),
    }
}

/// Creates a programme with `t` (by BANK-A) and returns its id.
fn create(w: &mut World, t: ProgrammeTerms) -> DocId {
    let ev = w.ok("BANK-A", Action::CreateProgramme { terms: t });
    let Event::ProgrammeCreated { programme, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    programme.clone()
}

/// A programme with `t`, accepted by CORE-A and joined by the given suppliers.
fn active(w: &mut World, t: ProgrammeTerms, members: &[&str]) -> DocId {
    let p = create(w, t);
    w.ok(
        "CORE-A",
        Action::AcceptProgramme {
            programme: p.clone(),
        },
    );
    for m in members {
        w.ok(
            m,
            Action::JoinProgramme {
                programme: p.clone(),
            },
        );
    }
    p
}

fn programme(w: &World, id: &DocId) -> Programme {
    w.get(DocKind::Programme, id.as_str()).unwrap()
}

fn financing(w: &World, id: &DocId) -> Financing {
    w.get(DocKind::Financing, id.as_str()).unwrap()
}

fn request(receivable: &DocId, programme: &DocId) -> Action {
    Action::RequestProgrammeFinancing {
        receivable: receivable.clone(),
        programme: programme.clone(),
    }
}

/// The holder's request under `p`: the financing and (with auto-offer) the offer.
fn requested(w: &mut World, who: &str, r: &DocId, p: &DocId) -> (DocId, Option<Offer>) {
    let ev = w.ok(who, request(r, p));
    let Event::FinancingRequested {
        financing,
        programme,
        banks,
        ..
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    assert_eq!(programme.as_ref(), Some(p));
    assert_eq!(banks, &[org("BANK-A")]);
    let offer = ev.iter().find_map(|e| match e {
        Event::OfferMade { offer, .. } => {
            Some(w.get::<Offer>(DocKind::Offer, offer.as_str()).unwrap())
        }
        _ => None,
    });
    (financing.clone(), offer)
}

fn use_of(w: &World, p: &DocId) -> Amount {
    let scope = LimitScope::Programme {
        bank: org("BANK-A"),
        programme: p.clone(),
    };
    w.raw(&keys::limit_use(&scope, "CNY"))
        .map(|v| decode(&v, 1024).unwrap())
        .unwrap_or(Amount::ZERO)
}

#[test]
fn the_core_must_accept_before_suppliers_join_or_finance() {
    let mut w = World::new();
    let ev = w.ok("BANK-A", Action::CreateProgramme { terms: terms() });
    let p = doc_of(&ev);
    // Created with its limit, a credit limit of the bank like its exposure limits.
    assert_eq!(
        ev[1],
        Event::LimitSet {
            scope: LimitScope::Programme {
                bank: org("BANK-A"),
                programme: p.clone(),
            },
            limit: Some(cny("2000000.00")),
        }
    );
    assert_eq!(programme(&w, &p).status, ProgrammeStatus::Proposed);
    let e = refused(
        &mut w,
        "SUP-1",
        Action::JoinProgramme {
            programme: p.clone(),
        },
    );
    assert!(
        matches!(&e, ContractError::WrongStatus { status, expected, .. } if status == "proposed" && expected == "active"),
        "{e:?}"
    );
    // Only its core accepts it.
    let e = refused(
        &mut w,
        "CORE-B",
        Action::AcceptProgramme {
            programme: p.clone(),
        },
    );
    assert!(matches!(e, ContractError::NotParty { .. }), "{e:?}");
    let e = refused(
        &mut w,
        "BANK-A",
        Action::AcceptProgramme {
            programme: p.clone(),
        },
    );
    assert!(matches!(e, ContractError::MissingRole { .. }), "{e:?}");
    w.ok(
        "CORE-A",
        Action::AcceptProgramme {
            programme: p.clone(),
        },
    );
    let now = programme(&w, &p);
    assert_eq!(
        (now.status, now.accepted_on),
        (ProgrammeStatus::Active, Some(w.today()))
    );
    let e = refused(
        &mut w,
        "CORE-A",
        Action::AcceptProgramme {
            programme: p.clone(),
        },
    );
    assert!(matches!(e, ContractError::WrongStatus { .. }), "{e:?}");
    w.ok(
        "SUP-1",
        Action::JoinProgramme {
            programme: p.clone(),
        },
    );
    let e = refused(
        &mut w,
        "SUP-1",
        Action::JoinProgramme {
            programme: p.clone(),
        },
    );
    assert!(matches!(e, ContractError::InvalidParty { .. }), "{e:?}");
    assert_eq!(programme(&w, &p).members, [org("SUP-1")]);
    common::check_invariants(&w);
}

fn doc_of(ev: &[Event]) -> DocId {
    match &ev[0] {
        Event::ProgrammeCreated { programme, .. } => programme.clone(),
        e => panic!("{e:?}"),
    }
}

#[test]
fn a_supplier_outside_the_programme_is_refused() {
    let mut w = World::new();
    let p = active(&mut w, terms(), &["SUP-1"]);
    // Not eligible: cannot join, cannot finance under it.
    let e = refused(
        &mut w,
        "SUP-2",
        Action::JoinProgramme {
            programme: p.clone(),
        },
    );
    assert!(
        matches!(&e, ContractError::NotParty { party, .. } if party == "eligible supplier"),
        "{e:?}"
    );
    let r2 = w.trade_to_receivable("CORE-A", "SUP-2", "1000.00", 60);
    let e = refused(&mut w, "SUP-2", request(&r2, &p));
    assert!(
        matches!(&e, ContractError::NotParty { party, .. } if party == "member supplier"),
        "{e:?}"
    );
    // Eligible but not joined: refused the same way.
    let r3 = w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", 60);
    w.ok(
        "SUP-1",
        Action::TransferReceivable {
            receivable: r3.clone(),
            to: org("SUP-3"),
        },
    );
    let e = refused(&mut w, "SUP-3", request(&r3, &p));
    assert!(matches!(e, ContractError::NotParty { .. }), "{e:?}");
    // Nor may a member finance what it does not hold.
    let e = refused(&mut w, "SUP-1", request(&r3, &p));
    assert!(
        matches!(&e, ContractError::NotParty { party, .. } if party == "holder"),
        "{e:?}"
    );
    // Once joined, it may; and the open auction outside the programme still works.
    w.ok(
        "SUP-3",
        Action::JoinProgramme {
            programme: p.clone(),
        },
    );
    requested(&mut w, "SUP-3", &r3, &p);
    let ev = w.ok(
        "SUP-2",
        Action::RequestFinancing {
            receivable: r2.clone(),
            banks: vec![org("BANK-A"), org("BANK-B")],
        },
    );
    assert!(
        matches!(&ev[0], Event::FinancingRequested { programme: None, banks, .. } if banks.len() == 2),
        "{ev:?}"
    );
    // A receivable of another debtor, or past the maximum tenor, is outside its terms.
    let other = w.trade_to_receivable("CORE-B", "SUP-1", "1000.00", 60);
    let e = refused(&mut w, "SUP-1", request(&other, &p));
    assert!(
        matches!(&e, ContractError::OutsideProgramme { reason, .. } if reason.contains("CORE-B")),
        "{e:?}"
    );
    let long = w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", 181);
    let e = refused(&mut w, "SUP-1", request(&long, &p));
    assert!(
        matches!(&e, ContractError::OutsideProgramme { reason, .. } if reason.contains("181 days")),
        "{e:?}"
    );
    common::check_invariants(&w);
}

#[test]
fn a_tier_too_deep_is_refused_and_a_split_keeps_the_tier() {
    let mut w = World::new();
    let mut t = terms();
    t.max_tier = 1;
    let p = active(&mut w, t, &["SUP-1", "SUP-3"]);
    let r = w.trade_to_receivable("CORE-A", "SUP-1", "10000.00", 60);
    assert_eq!(w.receivable(&r).tier, 1);
    let ev = w.ok(
        "SUP-1",
        Action::SplitReceivable {
            receivable: r.clone(),
            parts: vec![amount("4000.00"), amount("6000.00")],
        },
    );
    let Event::ReceivableSplit { parts, .. } = &ev[0] else {
        panic!()
    };
    let (a, b) = (parts[0].clone(), parts[1].clone());
    // SUP-1 still holds both parts: still tier 1, financed.
    assert_eq!(w.receivable(&a).tier, 1);
    requested(&mut w, "SUP-1", &a, &p);
    // Passed down to SUP-3: tier 2, deeper than the programme's 1.
    w.ok(
        "SUP-1",
        Action::TransferReceivable {
            receivable: b.clone(),
            to: org("SUP-3"),
        },
    );
    assert_eq!(w.receivable(&b).tier, 2);
    let e = refused(&mut w, "SUP-3", request(&b, &p));
    assert_eq!(
        e,
        ContractError::OutsideProgramme {
            programme: p.to_string(),
            reason: format!("receivable {b} is held at tier 2, deeper than the programme's 1"),
        }
    );
    common::check_invariants(&w);
}

#[test]
fn the_auto_offer_is_the_grids_and_the_advance_ratio_applies_exactly() {
    let mut w = World::new();
    let p = active(&mut w, terms(), &["SUP-1"]);
    let r = w.trade_to_receivable("CORE-A", "SUP-1", "1000000.00", 90);
    let today = w.today();
    let (fid, offer) = requested(&mut w, "SUP-1", &r, &p);
    // 90 days: the 3.65 % bucket. Advanced 1,000,000.00 x 80 % = 800,000.00; fees
    // 800,000.00 x 0.10 % = 800.00 + 50.00 = 850.00; valid 5 days.
    let o = offer.expect("auto-offered");
    assert_eq!(
        (o.bank.as_str(), o.rate, o.fees, o.valid_until),
        (
            "BANK-A",
            rate("3.65"),
            cny("850.00"),
            today.checked_add_days(Days::new(5)).unwrap()
        )
    );
    let f = financing(&w, &fid);
    assert_eq!((f.programme.as_ref(), f.recourse), (Some(&p), Some(false)));
    // Discount on the advanced amount: 800,000.00 x 3.65 % x 90 / 360 = 7,300.00;
    // net 800,000.00 - 7,300.00 - 850.00 = 791,850.00.
    let ev = w.ok(
        "SUP-1",
        Action::AcceptOffer {
            offer: o.id.clone(),
        },
    );
    let Event::OfferAccepted {
        discount,
        net,
        days,
        ..
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    assert_eq!(
        (*discount, *net, *days),
        (cny("7300.00"), cny("791850.00"), 90)
    );
    let t = financing(&w, &fid).terms.unwrap();
    assert_eq!(
        (t.face, t.advanced, t.fees),
        (cny("1000000.00"), cny("800000.00"), cny("850.00"))
    );
    // Counted against the programme limit at its face, like the bank's exposure.
    assert_eq!(use_of(&w, &p), amount("1000000.00"));
    let e = refused(
        &mut w,
        "BANK-A",
        Action::Disburse {
            financing: fid.clone(),
            payment_ref: "CMB-1".into(),
            net: amount("792000.00"),
        },
    );
    assert!(
        matches!(e, ContractError::NetAmountMismatch { .. }),
        "{e:?}"
    );
    let ev = w.ok(
        "BANK-A",
        Action::Disburse {
            financing: fid.clone(),
            payment_ref: "CMB-1".into(),
            net: amount("791850.00"),
        },
    );
    assert!(matches!(&ev[0], Event::FinancingDisbursed { net, .. } if *net == cny("791850.00")));
    assert_eq!(w.receivable(&r).holder.as_str(), "BANK-A");
    common::check_invariants(&w);

    // 87.5 % of 333,333.33 is 291,666.66375: 291,666.66 advanced (rounded down); fees
    // 291.666663 -> 291.67 + 50.00 = 341.67; discount 291,666.66 x 3.65 % x 90 / 360 =
    // 2,661.4582725 -> 2,661.46; net 291,666.66 - 2,661.46 - 341.67 = 288,663.53.
    let mut t2 = terms();
    t2.advance = rate("87.5");
    let p2 = active(&mut w, t2, &["SUP-1"]);
    let r2 = w.trade_to_receivable("CORE-A", "SUP-1", "333333.33", 90);
    let (f2, o2) = requested(&mut w, "SUP-1", &r2, &p2);
    let o2 = o2.unwrap();
    assert_eq!(o2.fees, cny("341.67"));
    w.ok("SUP-1", Action::AcceptOffer { offer: o2.id });
    let t = financing(&w, &f2).terms.unwrap();
    assert_eq!(
        (t.advanced, t.discount, t.net),
        (cny("291666.66"), cny("2661.46"), cny("288663.53"))
    );
    common::check_invariants(&w);
}

#[test]
fn the_grid_bucket_is_the_first_covering_the_tenor() {
    let mut w = World::new();
    let p = active(&mut w, terms(), &["SUP-1"]);
    for (days, expected) in [
        (30, "3.00"),
        (31, "3.65"),
        (90, "3.65"),
        (91, "4.20"),
        (180, "4.20"),
    ] {
        let r = w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", days);
        let (_, o) = requested(&mut w, "SUP-1", &r, &p);
        assert_eq!(o.unwrap().rate, rate(expected), "{days} days");
    }
}

#[test]
fn without_auto_offer_the_banks_offer_must_follow_the_grid() {
    let mut w = World::new();
    let mut t = terms();
    t.auto_offer = false;
    let p = active(&mut w, t, &["SUP-1"]);
    let r = w.trade_to_receivable("CORE-A", "SUP-1", "1000000.00", 90);
    let (fid, offer) = requested(&mut w, "SUP-1", &r, &p);
    assert!(offer.is_none(), "no auto-offer");
    let today = w.today();
    let offer = |rate_: &str, fees: &str, days: u64| Action::OfferFinancing {
        financing: fid.clone(),
        rate: rate(rate_),
        fees: amount(fees),
        valid_until: today.checked_add_days(Days::new(days)).unwrap(),
    };
    // Only the programme's bank is invited.
    let e = refused(&mut w, "BANK-B", offer("3.65", "850.00", 5));
    assert!(matches!(e, ContractError::NotParty { .. }), "{e:?}");
    // A better or worse rate, or other fees, is off the grid.
    let e = refused(&mut w, "BANK-A", offer("3.60", "850.00", 5));
    assert_eq!(
        e,
        ContractError::OfferOffGrid {
            programme: p.to_string(),
            offered: "3.60% and fees 850.00".into(),
            grid: "3.65% and fees 850.00".into(),
            days: 90,
        }
    );
    let e = refused(&mut w, "BANK-A", offer("3.65", "50.00", 5));
    assert!(matches!(e, ContractError::OfferOffGrid { .. }), "{e:?}");
    // Valid longer than the programme's offers stay valid.
    let e = refused(&mut w, "BANK-A", offer("3.65", "850.00", 6));
    assert!(
        matches!(&e, ContractError::InvalidField { field, .. } if field == "valid_until"),
        "{e:?}"
    );
    // The grid's offer (3.650 is 3.65) is made.
    let ev = w.ok("BANK-A", offer("3.650", "850", 5));
    assert!(matches!(&ev[0], Event::OfferMade { .. }), "{ev:?}");
    common::check_invariants(&w);
}

#[test]
fn the_programme_limit_refuses_a_cent_over_and_accepts_exactly_at_it() {
    let mut w = World::new();
    let mut t = terms();
    t.limit = cny("1500000.00");
    let p = active(&mut w, t, &["SUP-1", "SUP-3"]);
    let r1 = w.trade_to_receivable("CORE-A", "SUP-1", "1000000.00", 90);
    let (_, o1) = requested(&mut w, "SUP-1", &r1, &p);
    w.ok(
        "SUP-1",
        Action::AcceptOffer {
            offer: o1.unwrap().id,
        },
    );
    assert_eq!(use_of(&w, &p), amount("1000000.00"));
    // 500,000.01 more is a cent over the 1,500,000.00 limit.
    let over = w.trade_to_receivable("CORE-A", "SUP-3", "500000.01", 90);
    // (SUP-3 holds it at tier 1: it sold to CORE-A itself.)
    let (_, o2) = requested(&mut w, "SUP-3", &over, &p);
    let e = refused(
        &mut w,
        "SUP-3",
        Action::AcceptOffer {
            offer: o2.unwrap().id,
        },
    );
    assert_eq!(
        e,
        ContractError::LimitExceeded {
            scope: Box::new(LimitScope::Programme {
                bank: org("BANK-A"),
                programme: p.clone(),
            }),
            limit: "1500000.00 CNY".into(),
            used: "1000000.00 CNY".into(),
            amount: "500000.01 CNY".into(),
        }
    );
    assert_eq!(use_of(&w, &p), amount("1000000.00"));
    // Exactly at the limit is accepted.
    let at = w.trade_to_receivable("CORE-A", "SUP-1", "500000.00", 90);
    let (f3, o3) = requested(&mut w, "SUP-1", &at, &p);
    let ev = w.ok(
        "SUP-1",
        Action::AcceptOffer {
            offer: o3.unwrap().id,
        },
    );
    let Event::OfferAccepted { net, .. } = &ev[0] else {
        panic!()
    };
    assert_eq!(use_of(&w, &p), amount("1500000.00"));
    // Disbursing checks it again (this financing already in the use): still within.
    w.ok(
        "BANK-A",
        Action::Disburse {
            financing: f3.clone(),
            payment_ref: "CMB-3".into(),
            net: net.amount,
        },
    );
    common::check_invariants(&w);
    // The debtor repays the bank 200,000.00 and the bank acknowledges: the use falls.
    let ev = w.ok(
        "CORE-A",
        Action::Repay {
            receivable: at.clone(),
            payee: org("BANK-A"),
            amount: amount("200000.00"),
            payment_ref: "HX-1".into(),
        },
    );
    let Event::SettlementInstructed { settlement, .. } = &ev[0] else {
        panic!()
    };
    w.ok(
        "BANK-A",
        Action::AcknowledgeSettlement {
            settlement: settlement.clone(),
        },
    );
    assert_eq!(use_of(&w, &p), amount("1300000.00"));
    common::check_invariants(&w);
}

#[test]
fn closing_stops_new_financing_and_touches_no_deal() {
    let mut w = World::new();
    let p = active(&mut w, terms(), &["SUP-1"]);
    let r1 = w.trade_to_receivable("CORE-A", "SUP-1", "100000.00", 90);
    let (f1, o1) = requested(&mut w, "SUP-1", &r1, &p);
    let ev = w.ok(
        "SUP-1",
        Action::AcceptOffer {
            offer: o1.unwrap().id,
        },
    );
    let Event::OfferAccepted { net, .. } = &ev[0] else {
        panic!()
    };
    let net = net.amount;
    let r2 = w.trade_to_receivable("CORE-A", "SUP-1", "100000.00", 90);
    let (_, o2) = requested(&mut w, "SUP-1", &r2, &p);
    // Only its bank closes it.
    let e = refused(
        &mut w,
        "BANK-B",
        Action::CloseProgramme {
            programme: p.clone(),
        },
    );
    assert!(matches!(e, ContractError::NotParty { .. }), "{e:?}");
    let ev = w.ok(
        "BANK-A",
        Action::CloseProgramme {
            programme: p.clone(),
        },
    );
    assert_eq!(
        ev,
        [Event::ProgrammeClosed {
            programme: p.clone()
        }]
    );
    // No new request, and an open offer can no longer be accepted.
    let r3 = w.trade_to_receivable("CORE-A", "SUP-1", "100000.00", 90);
    let e = refused(&mut w, "SUP-1", request(&r3, &p));
    assert!(
        matches!(&e, ContractError::WrongStatus { status, .. } if status == "closed"),
        "{e:?}"
    );
    let e = refused(
        &mut w,
        "SUP-1",
        Action::AcceptOffer {
            offer: o2.unwrap().id,
        },
    );
    assert!(matches!(e, ContractError::WrongStatus { .. }), "{e:?}");
    // The accepted deal is disbursed as agreed and still counts against the limit.
    w.ok(
        "BANK-A",
        Action::Disburse {
            financing: f1.clone(),
            payment_ref: "CMB-9".into(),
            net,
        },
    );
    assert_eq!(financing(&w, &f1).status, FinancingStatus::Disbursed);
    assert_eq!(use_of(&w, &p), amount("100000.00"));
    let e = refused(
        &mut w,
        "BANK-A",
        Action::CloseProgramme {
            programme: p.clone(),
        },
    );
    assert!(matches!(e, ContractError::WrongStatus { .. }), "{e:?}");
    // The supplier may still cancel its waiting request (it is its own).
    let f2 = w.receivable(&r2).financing.unwrap();
    w.ok("SUP-1", Action::CancelFinancing { financing: f2 });
    common::check_invariants(&w);
}

#[test]
fn leaving_or_removal_stops_new_requests_of_that_supplier_only() {
    let mut w = World::new();
    let p = active(&mut w, terms(), &["SUP-1", "SUP-3"]);
    let r1 = w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", 60);
    let r3 = w.trade_to_receivable("CORE-A", "SUP-3", "1000.00", 60);
    // Only a member leaves; only the bank removes, and only a member.
    let e = refused(
        &mut w,
        "SUP-2",
        Action::LeaveProgramme {
            programme: p.clone(),
        },
    );
    assert!(matches!(e, ContractError::NotParty { .. }), "{e:?}");
    let e = refused(
        &mut w,
        "BANK-A",
        Action::RemoveFromProgramme {
            programme: p.clone(),
            supplier: org("SUP-2"),
        },
    );
    assert!(matches!(e, ContractError::InvalidParty { .. }), "{e:?}");
    w.ok(
        "SUP-1",
        Action::LeaveProgramme {
            programme: p.clone(),
        },
    );
    w.ok(
        "BANK-A",
        Action::RemoveFromProgramme {
            programme: p.clone(),
            supplier: org("SUP-3"),
        },
    );
    assert!(programme(&w, &p).members.is_empty());
    for (who, r) in [("SUP-1", &r1), ("SUP-3", &r3)] {
        let e = refused(&mut w, who, request(r, &p));
        assert!(matches!(e, ContractError::NotParty { .. }), "{who}: {e:?}");
    }
    // An eligible supplier may join again.
    w.ok(
        "SUP-1",
        Action::JoinProgramme {
            programme: p.clone(),
        },
    );
    requested(&mut w, "SUP-1", &r1, &p);
    common::check_invariants(&w);
}

#[test]
fn a_programme_needs_sound_terms() {
    let mut w = World::new();
    let bad = |f: &dyn Fn(&mut ProgrammeTerms)| {
        let mut t = terms();
        f(&mut t);
        Action::CreateProgramme { terms: t }
    };
    let field = |e: &ContractError| match e {
        ContractError::InvalidField { field, .. } => field.clone(),
        other => panic!("{other:?}"),
    };
    let cases: Vec<(Action, &str)> = vec![
        (bad(&|t| t.grid.reverse()), "grid"),
        (bad(&|t| t.grid.truncate(2)), "grid"),
        (
            bad(&|t| {
                t.grid = (1..=9)
                    .map(|i| GridBucket {
                        max_days: i * 20,
                        rate: rate("3"),
                    })
                    .collect()
            }),
            "grid",
        ),
        (bad(&|t| t.advance = rate("0")), "advance"),
        (bad(&|t| t.max_tier = 0), "max_tier"),
        (bad(&|t| t.max_tenor_days = 366), "max_tenor_days"),
        (bad(&|t| t.offer_valid_days = 31), "offer_valid_days"),
        (bad(&|t| t.suppliers = vec![]), "suppliers"),
        (
            bad(&|t| t.suppliers = vec![org("SUP-1"), org("SUP-1")]),
            "suppliers",
        ),
        (
            bad(&|t| t.limit = Money::parse("1000.00", "USD").unwrap()),
            "limit",
        ),
    ];
    for (action, expected) in cases {
        let e = refused(&mut w, "BANK-A", action);
        assert_eq!(field(&e), expected, "{e:?}");
    }
    // A core that is not a core, a supplier that is not a supplier.
    let e = refused(&mut w, "BANK-A", bad(&|t| t.core = org("SUP-2")));
    assert!(matches!(e, ContractError::InvalidParty { .. }), "{e:?}");
    let e = refused(
        &mut w,
        "BANK-A",
        bad(&|t| t.suppliers = vec![org("CORE-B")]),
    );
    assert!(matches!(e, ContractError::InvalidParty { .. }), "{e:?}");
    // Fees in more decimals than the currency has.
    let e = refused(&mut w, "BANK-A", bad(&|t| t.fee_fixed = amount("0.001")));
    assert!(matches!(e, ContractError::Money(_)), "{e:?}");
    // Only banks set up programmes.
    let e = refused(&mut w, "CORE-A", Action::CreateProgramme { terms: terms() });
    assert!(matches!(e, ContractError::MissingRole { .. }), "{e:?}");
}

#[test]
fn a_policy_on_financing_requests_holds_programme_requests_too() {
    let mut w = World::new();
    let p = active(&mut w, terms(), &["SUP-1"]);
    let r = w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", 60);
    w.add_member_key("SUP-1", 1);
    w.ok(
        "SUP-1",
        Action::SetApprovalPolicy {
            policy: Some(ApprovalPolicy {
                rules: vec![ApprovalRule {
                    action: "request_financing".into(),
                    above: None,
                    approvals: 2,
                }],
                ttl_days: 3,
            }),
        },
    );
    let ev = w.ok("SUP-1", request(&r, &p));
    assert!(
        matches!(&ev[..], [Event::ApprovalRequested { action, .. }] if action == "request_programme_financing"),
        "{ev:?}"
    );
    assert!(w.receivable(&r).financing.is_none());
}
