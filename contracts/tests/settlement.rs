//! Money movements are facts, not claims (issue 12): a repayment instruction waits for the
//! payee's acknowledgement, a maturity settlement (清分) pays every holder of a root's
//! parts once, a disbursement counts its days from its value date and waits for the
//! supplier's acknowledgement, and offers carry a validity.
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

use chrono::Days;
use lianrong_contracts::model::{
    DisbursementStatus, DocId, Financing, FinancingStatus, ReceivableStatus, Settlement,
    SettlementStatus,
};
use lianrong_contracts::money::{Amount, Rate};
use lianrong_contracts::state::keys;
use lianrong_contracts::testkit::{member_key, org, World};
use lianrong_contracts::{Action, ContractError, DocKind, Event};

fn amt(s: &str) -> Amount {
    Amount::parse(s).unwrap()
}

/// Runs `action` as `who`, expects a refusal, and checks that only the signer's nonce and
/// the chain metadata were written.
fn refused(w: &mut World, who: &str, action: Action) -> ContractError {
    let tx = w.sign(who, action);
    let out = w.block(&[tx]);
    let e = match &out.receipts[0].outcome {
        Err(e) => e.clone(),
        Ok(ev) => panic!("expected a refusal, got {ev:?}"),
    };
    let nonce = keys::nonce(&member_key(who).public());
    for k in out.changes.values.keys() {
        assert!(
            k == &nonce || k.as_slice() == keys::META,
            "refused {e:?} wrote {}",
            String::from_utf8_lossy(k)
        );
    }
    e
}

fn repay(rcv: &DocId, payee: &str, amount: &str, reference: &str) -> Action {
    Action::Repay {
        receivable: rcv.clone(),
        payee: org(payee),
        amount: amt(amount),
        payment_ref: reference.into(),
    }
}

/// The settlements an instruction created, in order.
fn instructed(events: &[Event]) -> Vec<DocId> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::SettlementInstructed { settlement, .. } => Some(settlement.clone()),
            _ => None,
        })
        .collect()
}

fn settlement(w: &World, id: &DocId) -> Settlement {
    w.get(DocKind::Settlement, id.as_str()).unwrap()
}

/// SUP-1 requests financing of `rcv` from BANK-A, which offers 3.65 % valid for
/// `valid_days`; SUP-1 accepts. Returns the financing and the quoted net.
fn accepted(w: &mut World, rcv: &DocId, valid_days: u64) -> (DocId, Amount) {
    let ev = w.ok(
        "SUP-1",
        Action::RequestFinancing {
            receivable: rcv.clone(),
            banks: vec![org("BANK-A")],
        },
    );
    let Event::FinancingRequested { financing, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    let fin = financing.clone();
    let ev = w.ok(
        "BANK-A",
        Action::OfferFinancing {
            financing: fin.clone(),
            rate: Rate::parse("3.65").unwrap(),
            fees: Amount::ZERO,
            valid_until: w.today() + Days::new(valid_days),
        },
    );
    let Event::OfferMade { offer, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    let ev = w.ok(
        "SUP-1",
        Action::AcceptOffer {
            offer: offer.clone(),
        },
    );
    let Event::OfferAccepted { net, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    (fin, net.amount)
}

/// The finding: `Repay` paid whoever held the receivable when it executed, so a payment
/// wired to SUP-1 was booked as paid to SUP-3 after a transfer. Now the instruction names
/// its payee and is refused when the holder changed.
#[test]
fn repay_to_a_holder_that_changed_is_refused() {
    let mut w = World::new();
    let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "100000.00", 90);
    w.ok(
        "SUP-1",
        Action::TransferReceivable {
            receivable: rcv.clone(),
            to: org("SUP-3"),
        },
    );
    let e = refused(&mut w, "CORE-A", repay(&rcv, "SUP-1", "100000.00", "W-1"));
    assert_eq!(
        e,
        ContractError::PayeeNotHolder {
            receivable: rcv.to_string(),
            payee: org("SUP-1"),
            holder: org("SUP-3"),
        }
    );
    // Financed between the wire and the instruction: the bank holds it now.
    let other = w.trade_to_receivable("CORE-A", "SUP-1", "100000.00", 90);
    let (fin, net) = accepted(&mut w, &other, 10);
    w.ok(
        "BANK-A",
        Action::Disburse {
            financing: fin,
            payment_ref: "CMB-1".into(),
            net,
        },
    );
    let e = refused(&mut w, "CORE-A", repay(&other, "SUP-1", "1.00", "W-2"));
    assert!(matches!(e, ContractError::PayeeNotHolder { .. }), "{e}");
    // The reference of a refused instruction is still free.
    w.ok("CORE-A", repay(&rcv, "SUP-3", "100000.00", "W-1"));
    common::check_invariants(&w);
}

/// The finding: the debtor's `Repay` alone lowered the outstanding amount, so a claimed
/// payment counted before anyone received it. Now it is a pending settlement.
#[test]
fn a_repay_without_acknowledgement_leaves_outstanding_unchanged() {
    let mut w = World::new();
    let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "100000.00", 90);
    let ev = w.ok("CORE-A", repay(&rcv, "SUP-1", "40000.00", "W-1"));
    let ids = instructed(&ev);
    assert_eq!(ids.len(), 1);
    assert!(!ev
        .iter()
        .any(|e| matches!(e, Event::ReceivableRepaid { .. })));
    let s = settlement(&w, &ids[0]);
    assert_eq!(
        (s.status, s.payee.as_str(), s.amount.to_fixed().as_str()),
        (SettlementStatus::Pending, "SUP-1", "40000.00")
    );
    assert_eq!(w.receivable(&rcv).outstanding(), Some(amt("100000.00")));
    assert_eq!(w.receivable(&rcv).repaid, Amount::ZERO);
    // While it waits, the receivable neither moves nor takes another instruction.
    let pending = ContractError::SettlementPending {
        receivable: rcv.to_string(),
        settlement: ids[0].to_string(),
    };
    let e = refused(
        &mut w,
        "SUP-1",
        Action::TransferReceivable {
            receivable: rcv.clone(),
            to: org("SUP-3"),
        },
    );
    assert_eq!(e, pending);
    let e = refused(&mut w, "CORE-A", repay(&rcv, "SUP-1", "60000.00", "W-2"));
    assert_eq!(e, pending);
    common::check_invariants(&w);
    // Acknowledged, it counts.
    let ev = w.ok(
        "SUP-1",
        Action::AcknowledgeSettlement {
            settlement: ids[0].clone(),
        },
    );
    assert!(ev.iter().any(|e| matches!(e,
        Event::ReceivableRepaid { outstanding, .. } if outstanding.to_fixed() == "60000.00")));
    assert_eq!(w.receivable(&rcv).outstanding(), Some(amt("60000.00")));
    common::check_invariants(&w);
}

#[test]
fn acknowledge_by_a_non_payee_is_refused() {
    let mut w = World::new();
    let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "100000.00", 90);
    let ids = instructed(&w.ok("CORE-A", repay(&rcv, "SUP-1", "100000.00", "W-1")));
    for who in ["CORE-A", "SUP-2", "BANK-A", "AUDIT"] {
        let e = refused(
            &mut w,
            who,
            Action::AcknowledgeSettlement {
                settlement: ids[0].clone(),
            },
        );
        assert_eq!(
            e,
            ContractError::NotParty {
                org: org(who),
                party: "payee".into(),
                kind: DocKind::Settlement,
                id: ids[0].to_string(),
            }
        );
    }
    assert_eq!(w.receivable(&rcv).outstanding(), Some(amt("100000.00")));
}

#[test]
fn a_disputed_settlement_leaves_outstanding_unchanged() {
    let mut w = World::new();
    let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "100000.00", 90);
    let ids = instructed(&w.ok("CORE-A", repay(&rcv, "SUP-1", "100000.00", "W-1")));
    w.ok(
        "SUP-1",
        Action::DisputeSettlement {
            settlement: ids[0].clone(),
            reason: "nothing arrived".into(),
        },
    );
    let s = settlement(&w, &ids[0]);
    assert_eq!(s.status, SettlementStatus::Disputed);
    assert_eq!(s.dispute_reason.as_deref(), Some("nothing arrived"));
    assert_eq!(w.receivable(&rcv).outstanding(), Some(amt("100000.00")));
    assert_eq!(w.receivable(&rcv).status, ReceivableStatus::Active);
    // A disputed settlement is answered for good.
    let e = refused(
        &mut w,
        "SUP-1",
        Action::AcknowledgeSettlement {
            settlement: ids[0].clone(),
        },
    );
    assert!(matches!(e, ContractError::WrongStatus { .. }), "{e}");
    // Its reference stays used; a new wire under a new reference goes through.
    let e = refused(&mut w, "CORE-A", repay(&rcv, "SUP-1", "100000.00", "w 1"));
    assert!(
        matches!(e, ContractError::DuplicatePaymentRef { .. }),
        "{e}"
    );
    let again = instructed(&w.ok("CORE-A", repay(&rcv, "SUP-1", "100000.00", "W-1B")));
    w.ok(
        "SUP-1",
        Action::AcknowledgeSettlement {
            settlement: again[0].clone(),
        },
    );
    assert_eq!(w.receivable(&rcv).status, ReceivableStatus::Settled);
    common::check_invariants(&w);
}

/// 清分: one instruction over a root split into three parts held by three orgs pays each
/// exactly its outstanding amount; each acknowledgement counts once.
#[test]
fn maturity_settlement_pays_each_holder_of_three_parts_once() {
    let mut w = World::new();
    let root = w.trade_to_receivable("CORE-A", "SUP-1", "1000000.00", 90);
    let ev = w.ok(
        "SUP-1",
        Action::SplitReceivable {
            receivable: root.clone(),
            parts: vec![amt("500000.00"), amt("300000.00"), amt("200000.00")],
        },
    );
    let Event::ReceivableSplit { parts, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    let parts = parts.clone();
    for (part, to) in [(&parts[1], "SUP-2"), (&parts[2], "SUP-3")] {
        w.ok(
            "SUP-1",
            Action::TransferReceivable {
                receivable: part.clone(),
                to: org(to),
            },
        );
    }
    // SUP-2's part was partly paid already: its line is what is still owed.
    let early = instructed(&w.ok("CORE-A", repay(&parts[1], "SUP-2", "100000.00", "E-1")));
    w.ok(
        "SUP-2",
        Action::AcknowledgeSettlement {
            settlement: early[0].clone(),
        },
    );
    w.advance_days(90);
    let e = refused(
        &mut w,
        "CORE-A",
        Action::SettleRoot {
            root: parts[0].clone(),
            payment_ref: "M-1".into(),
        },
    );
    assert!(
        matches!(&e, ContractError::InvalidField { field, .. } if field == "root"),
        "{e}"
    );
    let e = refused(
        &mut w,
        "CORE-B",
        Action::SettleRoot {
            root: root.clone(),
            payment_ref: "M-1".into(),
        },
    );
    assert!(e.is_permission(), "{e}");
    let ev = w.ok(
        "CORE-A",
        Action::SettleRoot {
            root: root.clone(),
            payment_ref: "M-1".into(),
        },
    );
    let lines = instructed(&ev);
    let got: Vec<(String, String, String, u32, u32)> = lines
        .iter()
        .map(|id| {
            let s = settlement(&w, id);
            (
                s.receivable.to_string(),
                s.payee.to_string(),
                s.amount.to_fixed(),
                s.line,
                s.lines,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                parts[0].to_string(),
                "SUP-1".into(),
                "500000.00".into(),
                1,
                3
            ),
            (
                parts[1].to_string(),
                "SUP-2".into(),
                "200000.00".into(),
                2,
                3
            ),
            (
                parts[2].to_string(),
                "SUP-3".into(),
                "200000.00".into(),
                3,
                3
            ),
        ]
    );
    // Nothing counts before the holders answer.
    for p in &parts {
        assert_eq!(w.receivable(p).status, ReceivableStatus::Active);
    }
    assert_eq!(w.receivable(&parts[0]).repaid, Amount::ZERO);
    common::check_invariants(&w);
    for (line, holder) in lines.iter().zip(["SUP-1", "SUP-2", "SUP-3"]) {
        w.ok(
            holder,
            Action::AcknowledgeSettlement {
                settlement: line.clone(),
            },
        );
        let twice = refused(
            &mut w,
            holder,
            Action::AcknowledgeSettlement {
                settlement: line.clone(),
            },
        );
        assert!(
            matches!(twice, ContractError::WrongStatus { .. }),
            "{twice}"
        );
        common::check_invariants(&w);
    }
    let repaid: Vec<String> = parts
        .iter()
        .map(|p| w.receivable(p).repaid.to_fixed(2))
        .collect();
    assert_eq!(repaid, ["500000.00", "300000.00", "200000.00"]);
    assert!(parts
        .iter()
        .all(|p| w.receivable(p).status == ReceivableStatus::Settled));
    // Nothing is left to settle.
    let e = refused(
        &mut w,
        "CORE-A",
        Action::SettleRoot {
            root: root.clone(),
            payment_ref: "M-2".into(),
        },
    );
    assert!(matches!(e, ContractError::WrongStatus { .. }), "{e}");
}

/// A pending line locks its part: no second instruction over the root until it is
/// answered.
#[test]
fn a_maturity_settlement_waits_for_pending_lines() {
    let mut w = World::new();
    let root = w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", 30);
    let ev = w.ok(
        "SUP-1",
        Action::SplitReceivable {
            receivable: root.clone(),
            parts: vec![amt("600.00"), amt("400.00")],
        },
    );
    let Event::ReceivableSplit { parts, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    let parts = parts.clone();
    let one = instructed(&w.ok("CORE-A", repay(&parts[1], "SUP-1", "400.00", "P-1")));
    let e = refused(
        &mut w,
        "CORE-A",
        Action::SettleRoot {
            root: root.clone(),
            payment_ref: "M-1".into(),
        },
    );
    assert_eq!(
        e,
        ContractError::SettlementPending {
            receivable: parts[1].to_string(),
            settlement: one[0].to_string(),
        }
    );
    w.ok(
        "SUP-1",
        Action::AcknowledgeSettlement {
            settlement: one[0].clone(),
        },
    );
    let lines = instructed(&w.ok(
        "CORE-A",
        Action::SettleRoot {
            root,
            payment_ref: "M-1".into(),
        },
    ));
    assert_eq!(lines.len(), 1, "only the live part is paid");
    common::check_invariants(&w);
}

/// The finding: discount days ran from the acceptance, so a bank disbursing three days
/// late still charged for them. Now they run from the disbursement's value date.
#[test]
fn disbursement_counts_days_from_the_value_date() {
    let mut w = World::new();
    let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "1000000.00", 90);
    // Quoted at acceptance: 1,000,000.00 x 3.65 % x 90/360 = 9,125.00; net 990,875.00.
    let (fin, quoted) = accepted(&mut w, &rcv, 10);
    assert_eq!(quoted, amt("990875.00"));
    w.advance_days(3);
    // Paid 3 days later: 1,000,000.00 x 3.65 % x 87/360 = 8,820.833.. -> 8,820.83;
    // net 991,179.17. The acceptance's figure is refused.
    let e = refused(
        &mut w,
        "BANK-A",
        Action::Disburse {
            financing: fin.clone(),
            payment_ref: "CMB-1".into(),
            net: quoted,
        },
    );
    assert_eq!(
        e,
        ContractError::NetAmountMismatch {
            given: "990875.00".into(),
            expected: "991179.17".into(),
        }
    );
    let ev = w.ok(
        "BANK-A",
        Action::Disburse {
            financing: fin.clone(),
            payment_ref: "CMB-1".into(),
            net: amt("991179.17"),
        },
    );
    assert!(ev.iter().any(|e| matches!(e,
        Event::FinancingDisbursed { days: 87, discount, value_date, .. }
            if discount.to_fixed() == "8820.83" && *value_date == w.today())));
    let f: Financing = w.get(DocKind::Financing, fin.as_str()).unwrap();
    let d = f.disbursement.unwrap();
    assert_eq!(
        (d.days, d.net.to_fixed(), d.status),
        (87, "991179.17".into(), DisbursementStatus::Unacknowledged)
    );
    assert_eq!(w.receivable(&rcv).holder.as_str(), "BANK-A");
    common::check_invariants(&w);
}

/// A pending settlement stops a disbursement: the bank would pay for a debt being paid.
#[test]
fn a_pending_settlement_blocks_disbursement() {
    let mut w = World::new();
    let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", 60);
    let (fin, net) = accepted(&mut w, &rcv, 10);
    let ids = instructed(&w.ok("CORE-A", repay(&rcv, "SUP-1", "1.00", "P-1")));
    let e = refused(
        &mut w,
        "BANK-A",
        Action::Disburse {
            financing: fin,
            payment_ref: "CMB-1".into(),
            net,
        },
    );
    assert_eq!(
        e,
        ContractError::SettlementPending {
            receivable: rcv.to_string(),
            settlement: ids[0].to_string(),
        }
    );
}

/// The finding: offers never expired; a bank's month-old price could be accepted and
/// paid. Now acceptance and disbursement after `valid_until` are refused.
#[test]
fn accepting_an_offer_after_its_validity_is_refused() {
    let mut w = World::new();
    let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", 60);
    let ev = w.ok(
        "SUP-1",
        Action::RequestFinancing {
            receivable: rcv.clone(),
            banks: vec![org("BANK-A")],
        },
    );
    let Event::FinancingRequested { financing, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    let fin = financing.clone();
    let offer = |w: &World, days: i64| Action::OfferFinancing {
        financing: fin.clone(),
        rate: Rate::parse("4").unwrap(),
        fees: Amount::ZERO,
        valid_until: w
            .today()
            .checked_add_signed(chrono::Duration::days(days))
            .unwrap(),
    };
    // The validity lies from today up to max_offer_valid_days (30) ahead.
    for days in [-1, 31] {
        let a = offer(&w, days);
        let e = refused(&mut w, "BANK-A", a);
        assert!(
            matches!(&e, ContractError::InvalidField { field, .. } if field == "valid_until"),
            "{e}"
        );
    }
    let a = offer(&w, 1);
    let ev = w.ok("BANK-A", a);
    let Event::OfferMade {
        offer, valid_until, ..
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    let (oid, until) = (offer.clone(), *valid_until);
    w.advance_days(2);
    let e = refused(&mut w, "SUP-1", Action::AcceptOffer { offer: oid.clone() });
    assert_eq!(
        e,
        ContractError::OfferExpired {
            offer: oid.to_string(),
            valid_until: until.to_string(),
        }
    );
}

#[test]
fn disbursing_after_the_offer_validity_is_refused() {
    let mut w = World::new();
    let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "100000.00", 90);
    let (fin, _) = accepted(&mut w, &rcv, 2);
    // Within disburse_within_days (5) but after the offer's validity (2 days).
    w.advance_days(3);
    let f: Financing = w.get(DocKind::Financing, fin.as_str()).unwrap();
    let t = f.terms.unwrap();
    let e = refused(
        &mut w,
        "BANK-A",
        Action::Disburse {
            financing: fin.clone(),
            payment_ref: "CMB-1".into(),
            net: amt("99148.33"),
        },
    );
    assert_eq!(
        e,
        ContractError::OfferExpired {
            offer: t.offer.to_string(),
            valid_until: t.valid_until.to_string(),
        }
    );
    assert_eq!(w.receivable(&rcv).holder.as_str(), "SUP-1");
}

#[test]
fn the_supplier_acknowledges_or_disputes_a_disbursement() {
    let mut w = World::new();
    let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "100000.00", 90);
    let (fin, net) = accepted(&mut w, &rcv, 10);
    // Nothing disbursed yet: nothing to acknowledge.
    let e = refused(
        &mut w,
        "SUP-1",
        Action::AcknowledgeDisbursement {
            financing: fin.clone(),
        },
    );
    assert!(matches!(e, ContractError::WrongStatus { .. }), "{e}");
    w.ok(
        "BANK-A",
        Action::Disburse {
            financing: fin.clone(),
            payment_ref: "CMB-1".into(),
            net,
        },
    );
    let status = |w: &World| {
        let f: Financing = w.get(DocKind::Financing, fin.as_str()).unwrap();
        (f.status, f.disbursement.unwrap().status)
    };
    assert_eq!(
        status(&w),
        (
            FinancingStatus::Disbursed,
            DisbursementStatus::Unacknowledged
        )
    );
    // Only the applicant answers.
    for who in ["BANK-A", "SUP-2", "CORE-A"] {
        let e = refused(
            &mut w,
            who,
            Action::AcknowledgeDisbursement {
                financing: fin.clone(),
            },
        );
        assert!(e.is_permission(), "{who}: {e}");
    }
    w.ok(
        "SUP-1",
        Action::DisputeDisbursement {
            financing: fin.clone(),
            reason: "short by 100.00".into(),
        },
    );
    assert_eq!(
        status(&w),
        (FinancingStatus::Disbursed, DisbursementStatus::Disputed)
    );
    let e = refused(
        &mut w,
        "SUP-1",
        Action::DisputeDisbursement {
            financing: fin.clone(),
            reason: "again".into(),
        },
    );
    assert!(matches!(e, ContractError::WrongStatus { .. }), "{e}");
    // The money arrived after all: the dispute ends with an acknowledgement, once.
    w.ok(
        "SUP-1",
        Action::AcknowledgeDisbursement {
            financing: fin.clone(),
        },
    );
    assert_eq!(
        status(&w),
        (FinancingStatus::Disbursed, DisbursementStatus::Acknowledged)
    );
    let e = refused(
        &mut w,
        "SUP-1",
        Action::AcknowledgeDisbursement {
            financing: fin.clone(),
        },
    );
    assert!(matches!(e, ContractError::WrongStatus { .. }), "{e}");
    common::check_invariants(&w);
}

/// Issue 13 (registration): the funding bank records the financing's 中登网 registration
/// number once it disbursed; nobody else records it, nor twice, nor before the money moved.
#[test]
fn the_funding_bank_records_the_registry_number_once_after_disbursing() {
    let mut w = World::new();
    let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "100000.00", 90);
    let (fin, net) = accepted(&mut w, &rcv, 10);
    let record = |number: &str| Action::RecordRegistration {
        financing: fin.clone(),
        number: number.into(),
    };
    // Accepted but not paid: nothing to register yet.
    let e = refused(&mut w, "BANK-A", record("05383857000123456789"));
    assert_eq!(e.code(), "wrong_status", "{e}");
    w.ok(
        "BANK-A",
        Action::Disburse {
            financing: fin.clone(),
            payment_ref: "CMB-REG-1".into(),
            net,
        },
    );
    for who in ["BANK-B", "SUP-1", "CORE-A"] {
        let e = refused(&mut w, who, record("05383857000123456789"));
        assert!(e.is_permission(), "{who}: {e}");
    }
    let e = refused(&mut w, "BANK-A", record("0538 3857"));
    assert_eq!(e.code(), "invalid_field", "{e}");
    let ev = w.ok("BANK-A", record("05383857000123456789"));
    assert_eq!(
        ev,
        [Event::FinancingRegistered {
            financing: fin.clone(),
            number: "05383857000123456789".into(),
        }]
    );
    let f: Financing = w.get(DocKind::Financing, fin.as_str()).unwrap();
    let reg = f.registration.unwrap();
    assert_eq!(
        (reg.number.as_str(), reg.recorded_on),
        ("05383857000123456789", w.today())
    );
    // Recorded once: a second number is refused, naming the first.
    let e = refused(&mut w, "BANK-A", record("05383857000999999999"));
    assert!(e.to_string().contains("05383857000123456789"), "{e}");
    common::check_invariants(&w);
}
