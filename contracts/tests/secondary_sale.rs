//! Secondary sale (issue 13): a funding bank sells a disbursed financing -- whole, or a
//! part carved out by a split, its figures divided pro rata to the cent -- to another
//! bank at a price both sign; the buyer's limits are checked, the seller's use falls, the
//! debtor pays the buyer at maturity, the price moves two-sided like a settlement, and
//! the histories keep both banks.
//!
//! Each refusal is checked to change nothing but the signer's nonce and the chain height.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

mod common;

use common::financed::refused;
use common::secondary::{disbursed, financing, sale, sale_id, sell};
use lianrong_contracts::model::{
    DocId, ExposureScope, LimitScope, Receivable, SaleStatus, SettlementStatus,
};
use lianrong_contracts::money::{Amount, Currency, Money};
use lianrong_contracts::state::{keys, Storage};
use lianrong_contracts::testkit::{cny, org, World};
use lianrong_contracts::{Action, DocKind, Event, HistoryEntry};
use proptest::prelude::*;

fn amt(s: &str) -> Amount {
    Amount::parse(s).unwrap()
}

/// The bank's use of its exposure limit on CORE-A as debtor (zero when none).
fn exposure(w: &World, bank: &str) -> Amount {
    let scope = LimitScope::Exposure {
        bank: org(bank),
        scope: ExposureScope::Debtor,
        on: org("CORE-A"),
    };
    w.raw(&keys::limit_use(&scope, "CNY"))
        .map(|v| lianrong_primitives::decode(&v, 1024).unwrap())
        .unwrap_or(Amount::ZERO)
}

fn history(w: &World, kind: DocKind, id: &DocId) -> Vec<Event> {
    w.store
        .scan_prefix(&keys::history_prefix(kind, id.as_str()), 100)
        .unwrap()
        .into_iter()
        .map(|(_, v)| lianrong_primitives::decode::<HistoryEntry>(&v, 1 << 20).unwrap())
        .map(|h| h.event)
        .collect()
}

fn pay(sale: &DocId, reference: &str) -> Action {
    Action::PaySale {
        sale: sale.clone(),
        payment_ref: reference.into(),
    }
}

fn settled_id(events: &[Event]) -> DocId {
    match &events[0] {
        Event::SettlementInstructed { settlement, .. } => settlement.clone(),
        e => panic!("unexpected {e:?}"),
    }
}

#[test]
fn whole_sale_moves_funder_holder_and_exposure_and_the_price_is_two_sided() {
    let mut w = World::new();
    let (fin, rcv) = disbursed(&mut w, "1000000.00", "3.65", "500.00");
    assert_eq!(exposure(&w, "BANK-A"), amt("1000000.00"));
    let sid = sale_id(&w.ok("BANK-A", sell(&w, &fin, "BANK-B", None, "992000.00")));
    // Offered: nothing moved yet; a second offer of the same financing waits.
    assert_eq!(w.receivable(&rcv).holder, org("BANK-A"));
    let again = {
        let a = sell(&w, &fin, "BANK-B", None, "1.00");
        refused(&mut w, "BANK-A", a)
    };
    assert_eq!(
        again.to_string(),
        format!("{fin} is already offered in sale {sid}; withdraw it first")
    );
    let ev = w.ok("BANK-B", Action::AcceptSale { sale: sid.clone() });
    assert_eq!(
        ev,
        vec![Event::SaleAccepted {
            sale: sid.clone(),
            seller: org("BANK-A"),
            buyer: org("BANK-B"),
            financing: fin.clone(),
            bought: fin.clone(),
            receivable: rcv.clone(),
            kept: None,
            face: cny("1000000.00"),
            advanced: cny("1000000.00"),
        }]
    );
    let f = financing(&w, &fin);
    assert_eq!(f.terms.as_ref().unwrap().bank, org("BANK-B"));
    assert_eq!(w.receivable(&rcv).holder, org("BANK-B"));
    assert_eq!(exposure(&w, "BANK-A"), Amount::ZERO);
    assert_eq!(exposure(&w, "BANK-B"), amt("1000000.00"));
    assert_eq!(sale(&w, &sid).status, SaleStatus::Sold);

    // The price: the seller cannot acknowledge what was not instructed; a dispute pays
    // nothing and the buyer pays again under a new reference; acknowledged once.
    let ack = Action::AcknowledgeSalePayment { sale: sid.clone() };
    assert_eq!(
        refused(&mut w, "BANK-A", ack.clone()).code(),
        "wrong_status"
    );
    assert_eq!(
        refused(&mut w, "BANK-A", pay(&sid, "X")).code(),
        "not_party"
    );
    w.ok("BANK-B", pay(&sid, "BANK-B-SALE-1"));
    assert_eq!(
        refused(&mut w, "BANK-B", pay(&sid, "BANK-B-SALE-2")).code(),
        "wrong_status"
    );
    w.ok(
        "BANK-A",
        Action::DisputeSalePayment {
            sale: sid.clone(),
            reason: "not on our account".into(),
        },
    );
    assert_eq!(sale(&w, &sid).status, SaleStatus::Sold);
    // One wire, counted once: the same reference again is refused.
    assert_eq!(
        refused(&mut w, "BANK-B", pay(&sid, "bank b sale 1")).code(),
        "duplicate_payment_ref"
    );
    w.ok("BANK-B", pay(&sid, "BANK-B-SALE-2"));
    w.ok("BANK-A", ack.clone());
    let s = sale(&w, &sid);
    assert_eq!(s.status, SaleStatus::Paid);
    assert_eq!(s.payments, 2);
    assert_eq!(s.payment.unwrap().status, SettlementStatus::Acknowledged);
    assert_eq!(refused(&mut w, "BANK-A", ack).code(), "wrong_status");

    // The lineage keeps both banks: the receivable's and the financing's histories.
    let sold_in = |events: Vec<Event>| {
        events.iter().any(|e| {
            matches!(e, Event::SaleAccepted { seller, buyer, .. }
                if seller == &org("BANK-A") && buyer == &org("BANK-B"))
        })
    };
    assert!(sold_in(history(&w, DocKind::Receivable, &rcv)));
    assert!(sold_in(history(&w, DocKind::Financing, &fin)));
    // The price stays between the banks: no event of the receivable or the financing
    // names it.
    let priced = |events: Vec<Event>| {
        events.iter().any(|e| {
            matches!(
                e,
                Event::SaleOffered { .. } | Event::SalePaymentInstructed { .. }
            )
        })
    };
    assert!(!priced(history(&w, DocKind::Receivable, &rcv)));
    assert!(!priced(history(&w, DocKind::Financing, &fin)));
    assert_eq!(history(&w, DocKind::Sale, &sid).len(), 6);
    common::check_invariants(&w);
}

#[test]
fn partial_sale_splits_the_receivable_and_divides_the_figures_to_the_cent() {
    let mut w = World::new();
    // 1,000,000.00 at 3.65 % for 90 days ACT/360: discount 9,125.00; fees 500.00; net
    // 990,375.00.
    let (fin, rcv) = disbursed(&mut w, "1000000.00", "3.65", "500.00");
    let d = financing(&w, &fin).disbursement.unwrap();
    assert_eq!((d.discount, d.net), (cny("9125.00"), cny("990375.00")));
    let sid = sale_id(&w.ok(
        "BANK-A",
        sell(&w, &fin, "BANK-B", Some("333333.33"), "330000.00"),
    ));
    let ev = w.ok("BANK-B", Action::AcceptSale { sale: sid.clone() });
    let (sold, kept) = match &ev[0] {
        Event::ReceivableSplit { receivable, parts } if receivable == &rcv => {
            (parts[0].clone(), parts[1].clone())
        }
        e => panic!("unexpected {e:?}"),
    };
    let bought = match ev.last() {
        Some(Event::SaleAccepted {
            bought,
            receivable,
            kept: Some(k),
            face,
            advanced,
            ..
        }) => {
            assert_eq!((receivable, k), (&sold, &kept));
            assert_eq!((*face, *advanced), (cny("333333.33"), cny("333333.33")));
            bought.clone()
        }
        e => panic!("unexpected {e:?}"),
    };
    assert_ne!(bought, fin);
    // The parts: the sold one held and funded by the buyer, the rest by the seller.
    let part = |id: &DocId| -> Receivable { w.receivable(id) };
    let (s, k) = (part(&sold), part(&kept));
    assert_eq!((s.face, s.holder.as_str()), (cny("333333.33"), "BANK-B"));
    assert_eq!((k.face, k.holder.as_str()), (cny("666666.67"), "BANK-A"));
    assert_eq!(s.financing.as_ref(), Some(&bought));
    assert_eq!(k.financing.as_ref(), Some(&fin));
    assert_eq!(w.receivable(&rcv).financing, None);
    // Figures: the part's share rounded toward zero, the remainder on the seller's side.
    // Fees 500.00 x 333,333.33 / 1,000,000.00 = 166.666665 -> 166.66 | 333.34;
    // discount 9,125.00 x ... = 3,041.666636... -> 3,041.66 | 6,083.34;
    // nets 333,333.33 - 3,041.66 - 166.66 = 330,125.01 | 666,666.67 - 6,083.34 - 333.34
    // = 660,249.99 (together 990,375.00).
    let b = financing(&w, &bought);
    let f = financing(&w, &fin);
    let figures = |f: &lianrong_contracts::model::Financing| {
        let (t, d) = (f.terms.clone().unwrap(), f.disbursement.clone().unwrap());
        (
            t.bank.to_string(),
            [
                t.face, t.advanced, t.fees, t.discount, t.net, d.discount, d.net,
            ],
        )
    };
    let c = |s: &str| cny(s);
    assert_eq!(
        figures(&b),
        (
            "BANK-B".to_string(),
            [
                c("333333.33"),
                c("333333.33"),
                c("166.66"),
                c("3041.66"),
                c("330125.01"),
                c("3041.66"),
                c("330125.01")
            ]
        )
    );
    assert_eq!(
        figures(&f),
        (
            "BANK-A".to_string(),
            [
                c("666666.67"),
                c("666666.67"),
                c("333.34"),
                c("6083.34"),
                c("660249.99"),
                c("6083.34"),
                c("660249.99")
            ]
        )
    );
    // The rest of the financing stays as it was: value date, days, rate, payment.
    let (bt, ft) = (b.terms.unwrap(), f.terms.unwrap());
    assert_eq!(
        (bt.rate, bt.days, bt.value_date),
        (ft.rate, ft.days, ft.value_date)
    );
    assert_eq!((b.applicant, b.receivable), (org("SUP-1"), sold.clone()));
    assert_eq!(exposure(&w, "BANK-A"), amt("666666.67"));
    assert_eq!(exposure(&w, "BANK-B"), amt("333333.33"));
    // The lineage: the sold part's history starts with its issue and names both banks.
    let h = history(&w, DocKind::Receivable, &sold);
    assert!(matches!(h[0], Event::ReceivableIssued { .. }));
    assert!(matches!(&h[1], Event::SaleAccepted { seller, buyer, .. }
        if seller == &org("BANK-A") && buyer == &org("BANK-B")));
    common::check_invariants(&w);

    // The seller may sell a part of what it kept, again.
    let again = sale_id(&w.ok("BANK-A", sell(&w, &fin, "BANK-B", Some("0.01"), "0.01")));
    w.ok("BANK-B", Action::AcceptSale { sale: again });
    common::check_invariants(&w);
}

#[test]
fn a_part_must_be_below_the_face_and_the_price_at_most_the_face_sold() {
    let mut w = World::new();
    let (fin, _) = disbursed(&mut w, "1000.00", "4", "0");
    let e = {
        let a = sell(&w, &fin, "BANK-B", Some("1000.00"), "1.00");
        refused(&mut w, "BANK-A", a)
    };
    assert_eq!(e.code(), "invalid_field");
    let e = {
        let a = sell(&w, &fin, "BANK-B", Some("0.001"), "0.01");
        refused(&mut w, "BANK-A", a)
    };
    assert_eq!(e.code(), "invalid_money");
    let e = {
        let a = sell(&w, &fin, "BANK-B", Some("400.00"), "400.01");
        refused(&mut w, "BANK-A", a)
    };
    assert_eq!(
        e.to_string(),
        "invalid price: 400.01 CNY is more than the face sold, 400.00 CNY"
    );
    let e = {
        let a = sell(&w, &fin, "BANK-B", None, "0");
        refused(&mut w, "BANK-A", a)
    };
    assert_eq!(e.code(), "invalid_money");
    // Validity: today up to max_offer_valid_days ahead.
    let mut late = sell(&w, &fin, "BANK-B", None, "990.00");
    if let Action::OfferSale { valid_until, .. } = &mut late {
        *valid_until = w.today() + chrono::Days::new(31);
    }
    assert_eq!(refused(&mut w, "BANK-A", late).code(), "invalid_field");
    // A partly repaid receivable is sold whole, never split.
    let (fin2, rcv2) = disbursed(&mut w, "1000.00", "4", "0");
    let stl = settled_id(&w.ok(
        "CORE-A",
        Action::Repay {
            receivable: rcv2,
            payee: org("BANK-A"),
            amount: amt("100.00"),
            payment_ref: "HX-1".into(),
        },
    ));
    w.ok("BANK-A", Action::AcknowledgeSettlement { settlement: stl });
    let e = {
        let a = sell(&w, &fin2, "BANK-B", Some("100.00"), "1.00");
        refused(&mut w, "BANK-A", a)
    };
    assert_eq!(e.code(), "partly_repaid");
    let sid = sale_id(&w.ok("BANK-A", sell(&w, &fin2, "BANK-B", None, "880.00")));
    w.ok("BANK-B", Action::AcceptSale { sale: sid });
    assert_eq!(exposure(&w, "BANK-B"), amt("900.00"));
    common::check_invariants(&w);
}

#[test]
fn the_buyers_exposure_limit_is_checked_at_acceptance() {
    let mut w = World::new();
    let (fin, _) = disbursed(&mut w, "1000000.00", "3.65", "0");
    let limit = |w: &mut World, amount: &str| {
        w.ok(
            "BANK-B",
            Action::SetExposureLimit {
                on: org("CORE-A"),
                scope: ExposureScope::Debtor,
                limit: Some(cny(amount)),
            },
        )
    };
    limit(&mut w, "999999.99");
    let sid = sale_id(&w.ok("BANK-A", sell(&w, &fin, "BANK-B", None, "990000.00")));
    let accept = Action::AcceptSale { sale: sid.clone() };
    let e = refused(&mut w, "BANK-B", accept.clone());
    assert_eq!(e.code(), "limit_exceeded");
    assert!(
        e.to_string().contains("999999.99 CNY") && e.to_string().contains("1000000.00 CNY"),
        "{e}"
    );
    // Exactly at the limit fits; but a limit in another currency cannot be compared:
    // refused too.
    limit(&mut w, "1000000.00");
    w.ok(
        "BANK-B",
        Action::SetExposureLimit {
            on: org("SUP-1"),
            scope: ExposureScope::Supplier,
            limit: Some(Money {
                amount: amt("5000000.00"),
                currency: Currency::new("USD").unwrap(),
            }),
        },
    );
    assert_eq!(
        refused(&mut w, "BANK-B", accept.clone()).code(),
        "limit_currency_mismatch"
    );
    w.ok(
        "BANK-B",
        Action::SetExposureLimit {
            on: org("SUP-1"),
            scope: ExposureScope::Supplier,
            limit: None,
        },
    );
    // Without it, exactly at the limit is accepted.
    w.ok("BANK-B", accept);
    assert_eq!(exposure(&w, "BANK-B"), amt("1000000.00"));
    assert_eq!(exposure(&w, "BANK-A"), Amount::ZERO);
    common::check_invariants(&w);
}

#[test]
fn only_the_funding_bank_sells_and_only_the_named_buyer_answers() {
    let mut w = World::new();
    let (fin, _) = disbursed(&mut w, "1000.00", "4", "0");
    let offer = sell(&w, &fin, "BANK-B", None, "990.00");
    assert_eq!(refused(&mut w, "BANK-B", offer.clone()).code(), "not_party");
    for who in ["SUP-1", "CORE-A", "AUDIT"] {
        assert_eq!(refused(&mut w, who, offer.clone()).code(), "missing_role");
    }
    let to_self = sell(&w, &fin, "BANK-A", None, "990.00");
    assert_eq!(refused(&mut w, "BANK-A", to_self).code(), "invalid_party");
    let to_supplier = sell(&w, &fin, "SUP-1", None, "990.00");
    assert_eq!(
        refused(&mut w, "BANK-A", to_supplier).code(),
        "invalid_party"
    );
    let sid = sale_id(&w.ok("BANK-A", offer));
    // The seller cannot accept its own offer; the buyer cannot withdraw it.
    let accept = Action::AcceptSale { sale: sid.clone() };
    assert_eq!(
        refused(&mut w, "BANK-A", accept.clone()).code(),
        "not_party"
    );
    let withdraw = Action::WithdrawSale { sale: sid.clone() };
    assert_eq!(
        refused(&mut w, "BANK-B", withdraw.clone()).code(),
        "not_party"
    );
    // Withdrawn: the financing may be offered again, the old sale not accepted.
    w.ok("BANK-A", withdraw);
    assert_eq!(refused(&mut w, "BANK-B", accept).code(), "wrong_status");
    let sid = sale_id(&w.ok("BANK-A", sell(&w, &fin, "BANK-B", None, "980.00")));
    w.ok("BANK-B", Action::DeclineSale { sale: sid.clone() });
    assert_eq!(sale(&w, &sid).status, SaleStatus::Declined);
    // An offer past its validity cannot be accepted.
    let sid = sale_id(&w.ok("BANK-A", sell(&w, &fin, "BANK-B", None, "970.00")));
    w.advance_days(1);
    let e = refused(&mut w, "BANK-B", Action::AcceptSale { sale: sid });
    assert_eq!(e.code(), "offer_expired");
    common::check_invariants(&w);
}

#[test]
fn a_financing_not_disbursed_or_already_settled_is_not_sold() {
    let mut w = World::new();
    // Accepted, not disbursed.
    let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", 90);
    let fin = match &w.ok(
        "SUP-1",
        Action::RequestFinancing {
            receivable: rcv,
            banks: vec![org("BANK-A")],
        },
    )[0]
    {
        Event::FinancingRequested { financing, .. } => financing.clone(),
        e => panic!("unexpected {e:?}"),
    };
    // Requested: no bank funds it yet.
    let e = {
        let a = sell(&w, &fin, "BANK-B", None, "900.00");
        refused(&mut w, "BANK-A", a)
    };
    assert_eq!(e.code(), "not_party");
    let offer = match &w.ok(
        "BANK-A",
        Action::OfferFinancing {
            financing: fin.clone(),
            rate: lianrong_contracts::money::Rate::parse("4").unwrap(),
            fees: Amount::ZERO,
            valid_until: w.today(),
        },
    )[0]
    {
        Event::OfferMade { offer, .. } => offer.clone(),
        e => panic!("unexpected {e:?}"),
    };
    w.ok("SUP-1", Action::AcceptOffer { offer });
    let e = {
        let a = sell(&w, &fin, "BANK-B", None, "900.00");
        refused(&mut w, "BANK-A", a)
    };
    assert_eq!(
        e.to_string(),
        format!("financing {fin} is accepted; this needs disbursed")
    );

    // Disbursed, then settled in full: closed.
    let (fin, rcv) = disbursed(&mut w, "1000.00", "4", "0");
    // Offered, then the debtor pays the seller in full: acceptance is refused.
    let sid = sale_id(&w.ok("BANK-A", sell(&w, &fin, "BANK-B", None, "990.00")));
    let stl = settled_id(&w.ok(
        "CORE-A",
        Action::Repay {
            receivable: rcv.clone(),
            payee: org("BANK-A"),
            amount: amt("1000.00"),
            payment_ref: "HX-2".into(),
        },
    ));
    // While the settlement waits, no acceptance.
    let accept = Action::AcceptSale { sale: sid.clone() };
    assert_eq!(
        refused(&mut w, "BANK-B", accept.clone()).code(),
        "settlement_pending"
    );
    w.ok("BANK-A", Action::AcknowledgeSettlement { settlement: stl });
    let e = refused(&mut w, "BANK-B", accept);
    assert_eq!(
        e.to_string(),
        format!("financing {fin} is closed; this needs disbursed")
    );
    w.ok("BANK-A", Action::WithdrawSale { sale: sid });
    let e = {
        let a = sell(&w, &fin, "BANK-B", None, "990.00");
        refused(&mut w, "BANK-A", a)
    };
    assert_eq!(e.code(), "wrong_status");
    common::check_invariants(&w);
}

#[test]
fn the_debtors_settlement_goes_to_the_buyer() {
    let mut w = World::new();
    let (fin, rcv) = disbursed(&mut w, "1000000.00", "3.65", "0");
    let sid = sale_id(&w.ok("BANK-A", sell(&w, &fin, "BANK-B", None, "991000.00")));
    w.ok("BANK-B", Action::AcceptSale { sale: sid });
    let repay = |payee: &str, reference: &str| Action::Repay {
        receivable: rcv.clone(),
        payee: org(payee),
        amount: amt("1000000.00"),
        payment_ref: reference.into(),
    };
    let e = refused(&mut w, "CORE-A", repay("BANK-A", "HX-1"));
    assert_eq!(e.code(), "payee_not_holder");
    // At maturity the debtor pays the current holder; only the buyer acknowledges.
    w.advance_days(90);
    let stl = settled_id(&w.ok("CORE-A", repay("BANK-B", "HX-2")));
    let ack = Action::AcknowledgeSettlement { settlement: stl };
    assert_eq!(refused(&mut w, "BANK-A", ack.clone()).code(), "not_party");
    w.ok("BANK-B", ack);
    assert_eq!(exposure(&w, "BANK-B"), Amount::ZERO);
    let f = financing(&w, &fin);
    assert_eq!(f.status, lianrong_contracts::model::FinancingStatus::Closed);
    common::check_invariants(&w);

    // A partial sale: the maturity settlement (清分) of the root pays each holder its part.
    let (fin, root) = disbursed(&mut w, "1000.00", "4", "0");
    let sid = sale_id(&w.ok("BANK-A", sell(&w, &fin, "BANK-B", Some("250.00"), "245.00")));
    w.ok("BANK-B", Action::AcceptSale { sale: sid });
    w.advance_days(90);
    let lines = w.ok(
        "CORE-A",
        Action::SettleRoot {
            root,
            payment_ref: "HX-ROOT".into(),
        },
    );
    let paid: Vec<(String, Money)> = lines
        .iter()
        .map(|e| match e {
            Event::SettlementInstructed { payee, amount, .. } => (payee.to_string(), *amount),
            e => panic!("unexpected {e:?}"),
        })
        .collect();
    assert_eq!(
        paid,
        vec![
            ("BANK-B".to_string(), cny("250.00")),
            ("BANK-A".to_string(), cny("750.00")),
        ]
    );
    common::check_invariants(&w);
}

#[test]
fn a_sale_under_a_policy_is_judged_by_its_price() {
    use lianrong_contracts::model::{ApprovalPolicy, ApprovalRule};
    let mut w = World::new();
    let (fin, _) = disbursed(&mut w, "1000.00", "4", "0");
    let second = w.add_member_key("BANK-B", 1);
    w.ok(
        "BANK-B",
        Action::SetApprovalPolicy {
            policy: Some(ApprovalPolicy {
                rules: vec![ApprovalRule {
                    action: "accept_sale".into(),
                    above: Some(cny("900.00")),
                    approvals: 2,
                }],
                ttl_days: 3,
            }),
        },
    );
    let sid = sale_id(&w.ok("BANK-A", sell(&w, &fin, "BANK-B", None, "950.00")));
    let held = w.ok("BANK-B", Action::AcceptSale { sale: sid.clone() });
    let approval = match &held[..] {
        [Event::ApprovalRequested {
            approval, amount, ..
        }] => {
            assert_eq!(*amount, Some(cny("950.00")));
            approval.clone()
        }
        e => panic!("not held: {e:?}"),
    };
    assert_eq!(sale(&w, &sid).status, SaleStatus::Offered);
    let r = w.exec_with("BANK-B", &second, Action::ApproveAction { approval });
    assert!(r.outcome.is_ok(), "{:?}", r.outcome);
    assert_eq!(sale(&w, &sid).status, SaleStatus::Sold);
    common::check_invariants(&w);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Money is conserved: the parts' figures add up to the whole's exactly, the
    /// exposure moved is the face sold, and the price acknowledged is the price paid,
    /// once, however many payments were disputed first.
    #[test]
    fn money_is_conserved(
        face_cents in 2_000i64..500_000_000,
        part_per_mille in 1i64..1000,
        fee_cents in 0i64..100_000,
        rate_tenths in 1u32..150,
        disputes in 0u32..3,
        whole in any::<bool>(),
    ) {
        let face = Amount::from_decimal(rust_decimal::Decimal::new(face_cents, 2)).unwrap();
        let fees = Amount::from_decimal(rust_decimal::Decimal::new(fee_cents.min(face_cents / 4), 2)).unwrap();
        let rate = format!("{}.{}", rate_tenths / 10, rate_tenths % 10);
        let mut w = World::new();
        let (fin, _) = disbursed(&mut w, &face.to_string(), &rate, &fees.to_string());
        let before = financing(&w, &fin);
        let part_cents = (face_cents * part_per_mille / 1000).max(1);
        let part = Amount::from_decimal(rust_decimal::Decimal::new(part_cents, 2)).unwrap();
        let sold = if whole { face } else { part };
        let price = sold.to_string();
        let part_s = part.to_string();
        let a = sell(&w, &fin, "BANK-B", (!whole).then_some(part_s.as_str()), &price);
        let sid = sale_id(&w.ok("BANK-A", a));
        w.ok("BANK-B", Action::AcceptSale { sale: sid.clone() });
        let t = sale(&w, &sid).transfer.unwrap();
        prop_assert_eq!(t.face.amount, sold);
        prop_assert_eq!(exposure(&w, "BANK-B"), sold);
        prop_assert_eq!(exposure(&w, "BANK-A"), face.checked_sub(sold).unwrap());
        // The advanced amounts (and every other figure) of the parts sum to the whole's.
        let figures = |f: &lianrong_contracts::model::Financing| {
            let (t, d) = (f.terms.clone().unwrap(), f.disbursement.clone().unwrap());
            [t.face, t.advanced, t.fees, t.discount, t.net, d.discount, d.net]
                .map(|m| m.amount.value())
        };
        let mut sum = figures(&financing(&w, &t.financing));
        if !whole {
            let kept = figures(&financing(&w, &fin));
            for (s, k) in sum.iter_mut().zip(kept) {
                *s += k;
            }
        }
        prop_assert_eq!(sum, figures(&before));
        for i in 0..disputes {
            w.ok("BANK-B", pay(&sid, &format!("P-{i}")));
            w.ok("BANK-A", Action::DisputeSalePayment { sale: sid.clone(), reason: "short".into() });
        }
        w.ok("BANK-B", pay(&sid, "P-LAST"));
        let ev = w.ok("BANK-A", Action::AcknowledgeSalePayment { sale: sid.clone() });
        let acknowledged: Vec<Money> = ev
            .iter()
            .filter_map(|e| match e {
                Event::SalePaymentAcknowledged { price, .. } => Some(*price),
                _ => None,
            })
            .collect();
        prop_assert_eq!(acknowledged, vec![Money { amount: sold, currency: Currency::new("CNY").unwrap() }]);
        let s = sale(&w, &sid);
        prop_assert_eq!(s.payments, disputes + 1);
        prop_assert_eq!(s.status, SaleStatus::Paid);
        common::check_invariants(&w);
    }
}
