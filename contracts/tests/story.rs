//! The supply-chain finance story with hand-checked figures.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

mod common;

use lianrong_contracts::model::{
    Financing, FinancingStatus, Invoice, InvoiceStatus, Offer, OfferStatus, ReceivableStatus,
};
use lianrong_contracts::money::{Amount, Rate};
use lianrong_contracts::testkit::{cny, doc, org, World};
use lianrong_contracts::{Action, ContractError, DocKind, Event};

fn amt(s: &str) -> Amount {
    Amount::parse(s).unwrap()
}

/// The debtor instructs a payment to `payee` and the payee acknowledges it; returns the
/// acknowledgement's events.
fn pay(
    w: &mut World,
    debtor: &str,
    receivable: &lianrong_contracts::model::DocId,
    payee: &str,
    amount: &str,
    reference: &str,
) -> Vec<Event> {
    let ev = w.ok(
        debtor,
        Action::Repay {
            receivable: receivable.clone(),
            payee: org(payee),
            amount: amt(amount),
            payment_ref: reference.into(),
        },
    );
    let Some(Event::SettlementInstructed { settlement, .. }) = ev.first() else {
        panic!("{ev:?}")
    };
    let settlement = settlement.clone();
    w.ok(payee, Action::AcknowledgeSettlement { settlement })
}

fn refused(w: &mut World, org_id: &str, action: Action) -> ContractError {
    match w.exec(org_id, action).outcome {
        Err(e) => e,
        Ok(ev) => panic!("expected a refusal, got {ev:?}"),
    }
}

#[test]
fn order_to_repayment_with_exact_amounts() {
    let mut w = World::new();
    // CORE-A buys from SUP-1; logistics attests delivery; CORE-A's ERP registers and
    // confirms the invoice in one transaction.
    let order = w.delivered_order("CORE-A", "SUP-1", "1000000.00");
    let spec = w.invoice_spec(&order, "CORE-A", "SUP-1", "1000000.00", 90);
    let events = w.ok(
        "CORE-A",
        Action::RegisterInvoice {
            invoice: spec.clone(),
            confirm: true,
        },
    );
    let root = events
        .iter()
        .find_map(|e| match e {
            Event::InvoiceConfirmed { receivable, .. } => Some(receivable.clone()),
            _ => None,
        })
        .unwrap();
    let r = w.receivable(&root);
    assert_eq!((r.holder.as_str(), r.debtor.as_str()), ("SUP-1", "CORE-A"));
    assert_eq!(r.face, cny("1000000.00"));
    assert_eq!(r.maturity, spec.due_date);

    // The same invoice again, under another id, by the supplier: refused.
    let mut again = spec.clone();
    again.id = doc("INV-AGAIN");
    again.number = format!(" {}", spec.number.to_lowercase());
    let e = refused(
        &mut w,
        "SUP-1",
        Action::RegisterInvoice {
            invoice: again,
            confirm: false,
        },
    );
    assert_eq!(
        e,
        ContractError::DuplicateInvoice {
            existing: spec.id.to_string()
        }
    );

    // The same number with another amount or date (a re-keyed copy, or a second invoice
    // reusing a number): refused as a conflict naming the existing invoice, state unchanged.
    for (amount, days) in [("999999.00", 0), ("1000000.00", 1)] {
        let mut rekeyed = spec.clone();
        rekeyed.id = doc("INV-REKEYED");
        rekeyed.number = spec.number.replace('-', "\u{2010}");
        rekeyed.amount = cny(amount);
        rekeyed.issue_date = spec.issue_date + chrono::Days::new(days);
        let e = refused(
            &mut w,
            "SUP-1",
            Action::RegisterInvoice {
                invoice: rekeyed,
                confirm: false,
            },
        );
        assert_eq!(
            e,
            ContractError::InvoiceNumberConflict {
                existing: spec.id.to_string(),
                number: spec.number.replace('-', "\u{2010}"),
            }
        );
    }
    assert!(
        w.get::<lianrong_contracts::model::Invoice>(DocKind::Invoice, "INV-REKEYED")
            .is_none(),
        "a refused registration stores nothing"
    );
    let mut foreign = spec.clone();
    foreign.id = doc("INV-FOREIGN");
    foreign.number = "发票-0001".into();
    let e = refused(
        &mut w,
        "SUP-1",
        Action::RegisterInvoice {
            invoice: foreign,
            confirm: false,
        },
    );
    assert!(
        matches!(&e, ContractError::InvalidField { field, .. } if field == "number"),
        "{e:?}"
    );

    // SUP-1 splits 600k/400k and passes 400k to its tier-2 supplier SUP-3.
    let bad = refused(
        &mut w,
        "SUP-1",
        Action::SplitReceivable {
            receivable: root.clone(),
            parts: vec![amt("600000.00"), amt("399999.99")],
        },
    );
    assert!(matches!(bad, ContractError::SplitSumMismatch { .. }));
    let events = w.ok(
        "SUP-1",
        Action::SplitReceivable {
            receivable: root.clone(),
            parts: vec![amt("600000.00"), amt("400000.00")],
        },
    );
    let Event::ReceivableSplit { parts, .. } = &events[0] else {
        panic!("split event first")
    };
    let (part_a, part_b) = (parts[0].clone(), parts[1].clone());
    assert_eq!(w.receivable(&root).status, ReceivableStatus::Split);
    w.ok(
        "SUP-1",
        Action::TransferReceivable {
            receivable: part_b.clone(),
            to: org("SUP-3"),
        },
    );
    assert_eq!(w.receivable(&part_b).holder.as_str(), "SUP-3");
    assert_eq!(w.receivable(&part_b).maturity, spec.due_date);

    // SUP-3 asks both banks; BANK-A offers 3.65 % without fees, BANK-B 4 % with 100.00 fees.
    let events = w.ok(
        "SUP-3",
        Action::RequestFinancing {
            receivable: part_b.clone(),
            banks: vec![org("BANK-A"), org("BANK-B")],
        },
    );
    let Event::FinancingRequested { financing: fin, .. } = &events[0] else {
        panic!()
    };
    let fin = fin.clone();
    let again = refused(
        &mut w,
        "SUP-3",
        Action::RequestFinancing {
            receivable: part_b.clone(),
            banks: vec![org("BANK-B")],
        },
    );
    assert!(
        matches!(again, ContractError::UnderFinancing { .. }),
        "financed twice: {again}"
    );
    let moved = refused(
        &mut w,
        "SUP-3",
        Action::TransferReceivable {
            receivable: part_b.clone(),
            to: org("SUP-2"),
        },
    );
    assert!(matches!(moved, ContractError::UnderFinancing { .. }));

    let ev_a = w.ok(
        "BANK-A",
        Action::OfferFinancing {
            financing: fin.clone(),
            rate: Rate::parse("3.65").unwrap(),
            fees: Amount::ZERO,
            valid_until: w.today() + chrono::Days::new(10),
        },
    );
    let ev_b = w.ok(
        "BANK-B",
        Action::OfferFinancing {
            financing: fin.clone(),
            rate: Rate::parse("4.00").unwrap(),
            fees: amt("100.00"),
            valid_until: w.today() + chrono::Days::new(10),
        },
    );
    let offer_id = |ev: &[Event]| match &ev[0] {
        Event::OfferMade { offer, .. } => offer.clone(),
        _ => panic!(),
    };
    let (offer_a, offer_b) = (offer_id(&ev_a), offer_id(&ev_b));

    // Same day as the confirmation: 90 days to maturity.
    // 400,000.00 x 3.65 % x 90 / 360 = 3,650.00; net 396,350.00.
    let events = w.ok(
        "SUP-3",
        Action::AcceptOffer {
            offer: offer_a.clone(),
        },
    );
    let Event::OfferAccepted {
        discount,
        net,
        days,
        ..
    } = &events[0]
    else {
        panic!()
    };
    assert_eq!(
        (discount.to_fixed().as_str(), net.to_fixed().as_str(), *days),
        ("3650.00", "396350.00", 90)
    );
    let b: Offer = w.get(DocKind::Offer, offer_b.as_str()).unwrap();
    assert_eq!(
        b.status,
        OfferStatus::Withdrawn,
        "the other offer is withdrawn"
    );

    let wrong = refused(
        &mut w,
        "BANK-A",
        Action::Disburse {
            financing: fin.clone(),
            payment_ref: "CMB-001".into(),
            net: amt("396000.00"),
        },
    );
    assert!(matches!(wrong, ContractError::NetAmountMismatch { .. }));
    let not_theirs = refused(
        &mut w,
        "BANK-B",
        Action::Disburse {
            financing: fin.clone(),
            payment_ref: "X".into(),
            net: amt("396350.00"),
        },
    );
    assert!(not_theirs.is_permission());
    w.ok(
        "BANK-A",
        Action::Disburse {
            financing: fin.clone(),
            payment_ref: "CMB-001".into(),
            net: amt("396350.00"),
        },
    );
    assert_eq!(w.receivable(&part_b).holder.as_str(), "BANK-A");

    // A second receivable of CORE-B, due in 30 days, will go overdue.
    let late = w.trade_to_receivable("CORE-B", "SUP-2", "100000.00", 30);
    common::check_invariants(&w);

    // Day 31..33 is grace (3 days); on day 34 the sweep marks it overdue.
    w.advance_days(33);
    w.block(&[]);
    assert_eq!(
        w.receivable(&late).status,
        ReceivableStatus::Active,
        "within grace"
    );
    w.advance_days(1);
    let out = w.block(&[]);
    assert_eq!(w.receivable(&late).status, ReceivableStatus::Overdue);
    assert!(out
        .ledger_events
        .iter()
        .any(|e| matches!(e, Event::ReceivableOverdue { receivable, .. } if receivable == &late)));
    let e = refused(
        &mut w,
        "SUP-2",
        Action::RequestFinancing {
            receivable: late.clone(),
            banks: vec![org("BANK-A")],
        },
    );
    assert!(matches!(e, ContractError::PastMaturity(_)));

    // Maturity: CORE-A repays the current holders: BANK-A (by assignment) and SUP-1.
    w.advance_days(57);
    let over = refused(
        &mut w,
        "CORE-A",
        Action::Repay {
            receivable: part_b.clone(),
            payee: org("BANK-A"),
            amount: amt("400000.01"),
            payment_ref: "P1".into(),
        },
    );
    assert!(matches!(over, ContractError::Overpayment { .. }));
    let ev = pay(&mut w, "CORE-A", &part_b, "BANK-A", "400000.00", "P1");
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::ReceivableRepaid { to, .. } if to.as_str() == "BANK-A")));
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::FinancingClosed { .. })));
    assert_eq!(w.receivable(&part_b).status, ReceivableStatus::Settled);
    let f: Financing = w.get(DocKind::Financing, fin.as_str()).unwrap();
    assert_eq!(f.status, FinancingStatus::Closed);

    pay(&mut w, "CORE-A", &part_a, "SUP-1", "250000.00", "P2");
    assert_eq!(w.receivable(&part_a).outstanding(), Some(amt("350000.00")));
    pay(&mut w, "CORE-A", &part_a, "SUP-1", "350000.00", "P3");
    assert_eq!(w.receivable(&part_a).status, ReceivableStatus::Settled);
    // The overdue one can still be paid late.
    pay(&mut w, "CORE-B", &late, "SUP-2", "100000.00", "P4");
    assert_eq!(w.receivable(&late).status, ReceivableStatus::Settled);
    common::check_invariants(&w);

    let inv: Invoice = w.get(DocKind::Invoice, spec.id.as_str()).unwrap();
    assert_eq!(inv.status, InvoiceStatus::Confirmed);

    // The auditor's trail of the tier-2 part: every step, in order, with its signer.
    use lianrong_contracts::state::{keys, Storage};
    let history: Vec<lianrong_contracts::HistoryEntry> = w
        .store
        .scan_prefix(
            &keys::history_prefix(DocKind::Receivable, part_b.as_str()),
            100,
        )
        .unwrap()
        .into_iter()
        .map(|(_, v)| lianrong_primitives::decode(&v, 1 << 20).unwrap())
        .collect();
    let steps: Vec<(&str, Option<&str>)> = history
        .iter()
        .map(|h| {
            let name = match &h.event {
                Event::ReceivableIssued { .. } => "issued",
                Event::ReceivableTransferred { .. } => "transferred",
                Event::FinancingRequested { .. } => "financing requested",
                Event::ReceivableAssigned { .. } => "assigned",
                Event::SettlementInstructed { .. } => "settlement instructed",
                Event::SettlementAcknowledged { .. } => "settlement acknowledged",
                Event::ReceivableRepaid { .. } => "repaid",
                Event::ReceivableSettled { .. } => "settled",
                e => panic!("unexpected {e:?}"),
            };
            (name, h.signer.as_ref().map(|o| o.as_str()))
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            ("issued", Some("SUP-1")),
            ("transferred", Some("SUP-1")),
            ("financing requested", Some("SUP-3")),
            ("assigned", Some("BANK-A")),
            ("settlement instructed", Some("CORE-A")),
            ("settlement acknowledged", Some("BANK-A")),
            ("repaid", Some("BANK-A")),
            ("settled", Some("BANK-A")),
        ]
    );
    assert!(history.iter().all(|h| h.tx.is_some() && h.height > 0));
}

#[test]
fn confirmation_checks_the_trade_background() {
    let mut w = World::new();
    // No delivery attested yet.
    let order = w.fresh_id("PO");
    w.ok(
        "CORE-A",
        Action::IssueOrder {
            id: order.clone(),
            seller: org("SUP-1"),
            amount: cny("5000.00"),
            terms: String::new(),
            doc_hash: lianrong_primitives::Hash::ZERO,
            carriers: vec![],
        },
    );
    let spec = w.invoice_spec(&order, "CORE-A", "SUP-1", "5000.00", 30);
    let e = refused(
        &mut w,
        "SUP-1",
        Action::RegisterInvoice {
            invoice: spec.clone(),
            confirm: false,
        },
    );
    assert!(
        matches!(e, ContractError::WrongStatus { .. }),
        "order not accepted yet: {e}"
    );
    w.ok(
        "SUP-1",
        Action::AcceptOrder {
            order: order.clone(),
        },
    );
    w.ok(
        "SUP-1",
        Action::RegisterInvoice {
            invoice: spec.clone(),
            confirm: false,
        },
    );
    let e = refused(
        &mut w,
        "CORE-A",
        Action::ConfirmInvoice {
            invoice: spec.id.clone(),
            maturity: None,
        },
    );
    assert_eq!(e, ContractError::DeliveryNotAttested(order.to_string()));

    // Over the order amount.
    let mut extra = w.invoice_spec(&order, "CORE-A", "SUP-1", "0.01", 30);
    extra.number = "EXTRA".into();
    let e = refused(
        &mut w,
        "SUP-1",
        Action::RegisterInvoice {
            invoice: extra,
            confirm: false,
        },
    );
    assert!(matches!(e, ContractError::OrderAmountExceeded { .. }));

    // Tenor over the cap and maturity not after today.
    let other = w.delivered_order("CORE-A", "SUP-1", "9000.00");
    let long = w.invoice_spec(&other, "CORE-A", "SUP-1", "1000.00", 366);
    assert_eq!(
        refused(
            &mut w,
            "CORE-A",
            Action::RegisterInvoice {
                invoice: long,
                confirm: true
            }
        ),
        ContractError::TenorTooLong {
            days: 366,
            cap: 365
        }
    );
    let due_today = w.invoice_spec(&other, "CORE-A", "SUP-1", "1000.00", 0);
    assert!(matches!(
        refused(
            &mut w,
            "CORE-A",
            Action::RegisterInvoice {
                invoice: due_today,
                confirm: true
            }
        ),
        ContractError::InvalidDates(_)
    ));
    // A wrong tax id.
    let mut wrong_tax = w.invoice_spec(&other, "CORE-A", "SUP-1", "1000.00", 60);
    wrong_tax.seller_tax_id = "91330000FAKE".into();
    assert!(matches!(
        refused(
            &mut w,
            "SUP-1",
            Action::RegisterInvoice {
                invoice: wrong_tax,
                confirm: false
            }
        ),
        ContractError::TaxIdMismatch { .. }
    ));
    // Too many decimals.
    let mut cents = w.invoice_spec(&other, "CORE-A", "SUP-1", "1000.00", 60);
    cents.amount = lianrong_contracts::money::Money::parse("10.001", "CNY").unwrap();
    assert!(matches!(
        refused(
            &mut w,
            "SUP-1",
            Action::RegisterInvoice {
                invoice: cents,
                confirm: false
            }
        ),
        ContractError::Money(_)
    ));
    // A supplier cannot confirm its own invoice in one go.
    let own = w.invoice_spec(&other, "CORE-A", "SUP-1", "1000.00", 60);
    assert!(refused(
        &mut w,
        "SUP-1",
        Action::RegisterInvoice {
            invoice: own,
            confirm: true
        }
    )
    .is_permission());
    common::check_invariants(&w);
}

#[test]
fn replayed_and_foreign_transactions_are_refused() {
    let mut w = World::new();
    let order = w.fresh_id("PO");
    let tx = w.sign(
        "CORE-A",
        Action::IssueOrder {
            id: order.clone(),
            seller: org("SUP-1"),
            amount: cny("10.00"),
            terms: String::new(),
            doc_hash: lianrong_primitives::Hash::ZERO,
            carriers: vec![],
        },
    );
    let first = w.block(std::slice::from_ref(&tx));
    assert!(first.receipts[0].outcome.is_ok());
    let root = w.root();
    let replay = w.block(std::slice::from_ref(&tx));
    assert_eq!(
        replay.receipts[0].outcome,
        Err(ContractError::WrongNonce {
            expected: 1,
            got: 0
        })
    );
    // Only the block height moved; the documents did not.
    assert_ne!(w.root(), root);
    assert!(replay
        .changes
        .values
        .keys()
        .all(|k| k.as_slice() == b"meta"));

    // A key that belongs to another org.
    let key = lianrong_contracts::testkit::member_key("SUP-1");
    let forged = lianrong_contracts::Transaction {
        chain_id: lianrong_contracts::testkit::CHAIN_ID.into(),
        signer: lianrong_contracts::Signer {
            org: org("CORE-A"),
            key: key.public(),
        },
        nonce: 0,
        action: Action::CancelOrder { order },
    }
    .sign(&key)
    .verify(lianrong_contracts::testkit::CHAIN_ID)
    .unwrap();
    let out = w.block(&[forged]);
    assert!(matches!(
        out.receipts[0].outcome,
        Err(ContractError::KeyNotOfOrg { .. })
    ));
}

/// The finding: an accepted financing never expired, so a bank that neither paid nor
/// abandoned locked the receivable until maturity. After `disburse_within_days` (5) the
/// bank can no longer disburse and the applicant may cancel; before, it may not.
#[test]
fn an_accepted_financing_not_disbursed_in_time_lapses() {
    let mut w = World::new();
    let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "100000.00", 90);
    let (fin, net) = accepted_financing(&mut w, &rcv);
    w.advance_days(5);
    let early = refused(
        &mut w,
        "SUP-1",
        Action::CancelFinancing {
            financing: fin.clone(),
        },
    );
    assert!(
        matches!(early, ContractError::WrongStatus { .. }),
        "{early}"
    );
    w.advance_days(1);
    let late = refused(
        &mut w,
        "BANK-A",
        Action::Disburse {
            financing: fin.clone(),
            payment_ref: "CMB-LATE".into(),
            net,
        },
    );
    assert!(
        matches!(late, ContractError::FinancingLapsed { days: 5, .. }),
        "{late}"
    );
    w.ok(
        "SUP-1",
        Action::CancelFinancing {
            financing: fin.clone(),
        },
    );
    assert_eq!(w.receivable(&rcv).holder.as_str(), "SUP-1");
    // The receivable is free again: a new request goes through.
    w.ok(
        "SUP-1",
        Action::RequestFinancing {
            receivable: rcv,
            banks: vec![org("BANK-B")],
        },
    );
}

/// The finding: the same payment reference was accepted twice, so one 300,000 wire was
/// counted as 600,000. A debtor's reference is counted once, however it is re-typed.
#[test]
fn one_payment_reference_is_counted_once() {
    let mut w = World::new();
    let a = w.trade_to_receivable("CORE-A", "SUP-1", "600000.00", 90);
    let b = w.trade_to_receivable("CORE-A", "SUP-2", "600000.00", 90);
    let repay = |receivable: &lianrong_contracts::model::DocId, reference: &str| Action::Repay {
        receivable: receivable.clone(),
        payee: org(if receivable == &a { "SUP-1" } else { "SUP-2" }),
        amount: amt("300000.00"),
        payment_ref: reference.into(),
    };
    pay(&mut w, "CORE-A", &a, "SUP-1", "300000.00", "HX-PAY-0201");
    for (rcv, reference) in [
        (&a, "HX-PAY-0201"),
        (&a, " hx pay 0201"),
        (&b, "HX-PAY-0201"),
    ] {
        let e = refused(&mut w, "CORE-A", repay(rcv, reference));
        assert_eq!(
            e,
            ContractError::DuplicatePaymentRef {
                payment_ref: reference.into(),
                receivable: a.to_string(),
            }
        );
    }
    assert_eq!(w.receivable(&a).outstanding(), Some(amt("300000.00")));
    assert_eq!(w.receivable(&b).outstanding(), Some(amt("600000.00")));
    pay(&mut w, "CORE-A", &a, "SUP-1", "300000.00", "HX-PAY-0202");
    assert_eq!(w.receivable(&a).outstanding(), Some(Amount::ZERO));
}

/// Accepts BANK-A's 3.65 % offer on a financing of `rcv` requested by SUP-1; returns the
/// financing and the agreed net.
fn accepted_financing(
    w: &mut World,
    rcv: &lianrong_contracts::model::DocId,
) -> (lianrong_contracts::model::DocId, Amount) {
    let events = w.ok(
        "SUP-1",
        Action::RequestFinancing {
            receivable: rcv.clone(),
            banks: vec![org("BANK-A")],
        },
    );
    let Event::FinancingRequested { financing: fin, .. } = &events[0] else {
        panic!("{events:?}")
    };
    let fin = fin.clone();
    let ev = w.ok(
        "BANK-A",
        Action::OfferFinancing {
            financing: fin.clone(),
            rate: Rate::parse("3.65").unwrap(),
            fees: Amount::ZERO,
            valid_until: w.today() + chrono::Days::new(10),
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

/// The finding: after the debtor repaid 999,999.99 to the supplier, the bank could still
/// disburse the full net and be assigned a receivable worth 0.01 (the supplier paid
/// twice). Disbursement re-checks that the receivable still owes the face financed.
#[test]
fn a_receivable_repaid_since_acceptance_cannot_be_disbursed_on() {
    let mut w = World::new();
    let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "1000000.00", 90);
    let (fin, net) = accepted_financing(&mut w, &rcv);
    pay(&mut w, "CORE-A", &rcv, "SUP-1", "999999.99", "HX-EARLY");
    let e = refused(
        &mut w,
        "BANK-A",
        Action::Disburse {
            financing: fin,
            payment_ref: "CMB-1".into(),
            net,
        },
    );
    assert!(
        matches!(e, ContractError::FinancedFaceChanged { .. }),
        "{e}"
    );
    assert_eq!(
        w.receivable(&rcv).holder.as_str(),
        "SUP-1",
        "not assigned to the bank"
    );
}
