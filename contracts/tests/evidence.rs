//! Trade evidence, warehouse receipts and tenor (issue 12 items 4-6): each finding as it
//! was reported, now refused with a typed error and the state root unchanged but for the
//! signer's nonce.

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
    DocId, GovChange, Invoice, InvoiceStatus, Order, OrgSpec, ReceiptStatus, Role, WarehouseReceipt,
};
use lianrong_contracts::money::{Quantity, Unit};
use lianrong_contracts::state::keys;
use lianrong_contracts::testkit::{cny, doc, member_key, org, tax_id_for, World};
use lianrong_contracts::{Action, ContractError, DocKind, Event};
use lianrong_primitives::Hash;

/// Admits `id` with `roles` through governance (3 of the 4 validator orgs).
fn admit(w: &mut World, id: &str, roles: Vec<Role>, n: u32) {
    let spec = OrgSpec {
        id: org(id),
        name: format!("{id} Ltd"),
        tax_id: tax_id_for(n),
        roles,
        identifiers: vec![],
        keys: vec![member_key(id).public()],
    };
    let ev = w.ok(
        "BANK-A",
        Action::Propose {
            change: GovChange::AdmitOrg(spec),
        },
    );
    let Event::ProposalOpened { proposal, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    let proposal = proposal.clone();
    for v in ["CORE-A", "LOGI"] {
        w.ok(
            v,
            Action::Approve {
                proposal: proposal.clone(),
            },
        );
    }
}

/// An accepted order of CORE-A from `seller` naming `carriers`.
fn accepted_order(w: &mut World, seller: &str, amount: &str, carriers: &[&str]) -> DocId {
    let id = w.fresh_id("PO");
    w.ok(
        "CORE-A",
        Action::IssueOrder {
            id: id.clone(),
            seller: org(seller),
            amount: cny(amount),
            terms: String::new(),
            doc_hash: Hash::ZERO,
            carriers: carriers.iter().map(|c| org(c)).collect(),
        },
    );
    w.ok(seller, Action::AcceptOrder { order: id.clone() });
    id
}

fn ship(id: &str, order: &DocId, value: &str) -> Action {
    Action::AttestShipment {
        id: doc(id),
        order: order.clone(),
        value: cny(value),
        doc_hash: Hash::ZERO,
    }
}

/// Runs `action` as `who`, expects `expected`, and checks that nothing but the signer's
/// nonce and the chain metadata was written.
fn refused_unchanged(w: &mut World, who: &str, action: Action, expected: &ContractError) {
    let tx = w.sign(who, action);
    let out = w.block(&[tx]);
    assert_eq!(out.receipts[0].outcome.as_ref(), Err(expected), "{who}");
    let nonce = keys::nonce(&member_key(who).public());
    for k in out.changes.values.keys() {
        assert!(
            k == &nonce || k.as_slice() == keys::META,
            "a refused action wrote {}",
            String::from_utf8_lossy(k)
        );
    }
    common::check_invariants(w);
}

fn not_named(who: &str, order: &DocId) -> ContractError {
    ContractError::NotParty {
        org: org(who),
        party: "named carrier".into(),
        kind: DocKind::Order,
        id: order.to_string(),
    }
}

#[test]
fn finding_a_logistics_org_the_order_does_not_name_cannot_attest() {
    let mut w = World::new();
    admit(&mut w, "LOGI-2", vec![Role::Logistics], 7002);
    let po = accepted_order(&mut w, "SUP-1", "100.00", &["LOGI"]);
    refused_unchanged(
        &mut w,
        "LOGI-2",
        ship("SHP-X", &po, "10.00"),
        &not_named("LOGI-2", &po),
    );
    w.ok("LOGI", ship("SHP-REAL", &po, "10.00"));
}

#[test]
fn finding_the_seller_never_attests_its_own_shipment() {
    let mut w = World::new();
    admit(&mut w, "SUP-L", vec![Role::Supplier, Role::Logistics], 7001);
    // The buyer cannot name the seller (nor itself) as carrier...
    let id = w.fresh_id("PO");
    let issue = |carriers: Vec<&str>| Action::IssueOrder {
        id: id.clone(),
        seller: org("SUP-L"),
        amount: cny("100.00"),
        terms: String::new(),
        doc_hash: Hash::ZERO,
        carriers: carriers.into_iter().map(org).collect(),
    };
    refused_unchanged(
        &mut w,
        "CORE-A",
        issue(vec!["LOGI", "SUP-L"]),
        &ContractError::InvalidParty {
            org: org("SUP-L"),
            party: "carrier".into(),
            reason: "a party to the order cannot attest its own shipments".into(),
        },
    );
    w.ok("CORE-A", issue(vec!["LOGI"]));
    w.ok("SUP-L", Action::AcceptOrder { order: id.clone() });
    // ... nor add it later, so the seller can never attest.
    refused_unchanged(
        &mut w,
        "CORE-A",
        Action::AddCarrier {
            order: id.clone(),
            carrier: org("SUP-L"),
        },
        &ContractError::InvalidParty {
            org: org("SUP-L"),
            party: "carrier".into(),
            reason: "a party to the order cannot attest its own shipments".into(),
        },
    );
    refused_unchanged(
        &mut w,
        "SUP-L",
        ship("SHP-SELF", &id, "100.00"),
        &not_named("SUP-L", &id),
    );
    // Carriers are logistics orgs, at most four, each named once.
    refused_unchanged(
        &mut w,
        "CORE-A",
        Action::AddCarrier {
            order: id.clone(),
            carrier: org("LOGI"),
        },
        &ContractError::InvalidParty {
            org: org("LOGI"),
            party: "carrier".into(),
            reason: "already named on this order".into(),
        },
    );
    let e = w
        .exec(
            "CORE-A",
            Action::AddCarrier {
                order: id.clone(),
                carrier: org("BANK-A"),
            },
        )
        .outcome
        .unwrap_err();
    assert!(matches!(e, ContractError::InvalidParty { .. }), "{e:?}");
}

#[test]
fn finding_one_delivered_pallet_does_not_back_a_ten_million_order() {
    let mut w = World::new();
    let po = accepted_order(&mut w, "SUP-1", "10000000.00", &["LOGI"]);
    w.ok("LOGI", ship("SHP-PALLET", &po, "1000.00"));
    w.ok(
        "LOGI",
        Action::ConfirmDelivery {
            shipment: doc("SHP-PALLET"),
        },
    );
    let o: Order = w.get(DocKind::Order, po.as_str()).unwrap();
    assert_eq!(
        (o.shipped, o.delivered),
        (o.delivered, cny("1000.00").amount)
    );
    let spec = w.invoice_spec(&po, "CORE-A", "SUP-1", "10000000.00", 90);
    refused_unchanged(
        &mut w,
        "CORE-A",
        Action::RegisterInvoice {
            invoice: spec,
            confirm: true,
        },
        &ContractError::DeliveredValueExceeded {
            order: po.to_string(),
            delivered: "1000.00".into(),
            confirmed: "0".into(),
            amount: "10000000.00".into(),
        },
    );
    // What was delivered can be confirmed; more only after more is delivered.
    let small = w.invoice_spec(&po, "CORE-A", "SUP-1", "1000.00", 90);
    w.ok(
        "CORE-A",
        Action::RegisterInvoice {
            invoice: small,
            confirm: true,
        },
    );
    let more = w.invoice_spec(&po, "CORE-A", "SUP-1", "0.01", 90);
    let more_id = more.id.clone();
    w.ok(
        "SUP-1",
        Action::RegisterInvoice {
            invoice: more,
            confirm: false,
        },
    );
    let e = w
        .exec(
            "CORE-A",
            Action::ConfirmInvoice {
                invoice: more_id.clone(),
                maturity: None,
            },
        )
        .outcome
        .unwrap_err();
    assert_eq!(e.code(), "delivered_value_exceeded");
    // Shipments never add up to more than the order.
    w.ok("LOGI", ship("SHP-REST", &po, "9999000.00"));
    refused_unchanged(
        &mut w,
        "LOGI",
        ship("SHP-OVER", &po, "0.01"),
        &ContractError::ShipmentValueExceeded {
            order: po.to_string(),
            order_amount: "10000000.00".into(),
            shipped: "10000000.00".into(),
            value: "0.01".into(),
        },
    );
    let e = w
        .exec("LOGI", ship("SHP-USD", &po, "0.00"))
        .outcome
        .unwrap_err();
    assert_eq!(e.code(), "invalid_money", "{e:?}");
    w.ok(
        "LOGI",
        Action::ConfirmDelivery {
            shipment: doc("SHP-REST"),
        },
    );
    w.ok(
        "CORE-A",
        Action::ConfirmInvoice {
            invoice: more_id,
            maturity: None,
        },
    );
    common::check_invariants(&w);
}

#[test]
fn finding_strangers_cannot_fill_the_shipment_cap() {
    let mut w = World::new();
    admit(&mut w, "LOGI-2", vec![Role::Logistics], 7002);
    let po = accepted_order(&mut w, "SUP-1", "100.00", &["LOGI"]);
    let txs: Vec<_> = (0..64)
        .map(|i| w.sign("LOGI-2", ship(&format!("FAKE-{i}"), &po, "0.01")))
        .collect();
    let out = w.block(&txs);
    assert!(out.receipts.iter().all(|r| r.outcome.is_err()));
    let o: Order = w.get(DocKind::Order, po.as_str()).unwrap();
    assert!(o.shipments.is_empty());
    // The buyer can still cancel (nothing shipped), and the real carrier still attests.
    let mut cancelled = w.clone();
    cancelled.ok("CORE-A", Action::CancelOrder { order: po.clone() });
    w.ok("LOGI", ship("SHP-REAL", &po, "100.00"));
    common::check_invariants(&w);
}

#[test]
fn the_buyer_adds_a_carrier_later() {
    let mut w = World::new();
    admit(&mut w, "LOGI-2", vec![Role::Logistics], 7002);
    let po = accepted_order(&mut w, "SUP-1", "100.00", &[]);
    refused_unchanged(
        &mut w,
        "LOGI",
        ship("SHP-1", &po, "50.00"),
        &not_named("LOGI", &po),
    );
    let ev = w.ok(
        "CORE-A",
        Action::AddCarrier {
            order: po.clone(),
            carrier: org("LOGI-2"),
        },
    );
    assert_eq!(
        ev,
        vec![Event::CarrierAdded {
            order: po.clone(),
            carrier: org("LOGI-2")
        }]
    );
    w.ok("LOGI-2", ship("SHP-1", &po, "50.00"));
    // Only the attesting carrier confirms its delivery.
    let e = w
        .exec(
            "LOGI",
            Action::ConfirmDelivery {
                shipment: doc("SHP-1"),
            },
        )
        .outcome
        .unwrap_err();
    assert!(e.is_permission(), "{e:?}");
    w.ok(
        "LOGI-2",
        Action::ConfirmDelivery {
            shipment: doc("SHP-1"),
        },
    );
    common::check_invariants(&w);
}

fn issue_receipt(id: &str, lot: &str) -> Action {
    Action::IssueWarehouseReceipt {
        id: doc(id),
        owner: org("SUP-1"),
        lot: lot.into(),
        goods: "copper cathode".into(),
        quantity: Quantity::parse("200").unwrap(),
        unit: Unit::parse("t").unwrap(),
        doc_hash: Hash::ZERO,
    }
}

fn receipt(w: &World, id: &str) -> WarehouseReceipt {
    w.get(DocKind::WarehouseReceipt, id).unwrap()
}

#[test]
fn finding_two_receipts_for_one_lot_are_refused() {
    let mut w = World::new();
    w.ok("LOGI", issue_receipt("WR-A", "LOT-7"));
    // The same lot however typed, under another receipt id: refused naming the live one.
    for typed in ["LOT-7", "lot 7", "ＬＯＴ－７"] {
        refused_unchanged(
            &mut w,
            "LOGI",
            issue_receipt("WR-B", typed),
            &ContractError::LotAlreadyReceipted {
                warehouse: org("LOGI"),
                lot: typed.into(),
                existing: "WR-A".into(),
            },
        );
    }
    // Another lot is fine; once WR-A is released its lot may be receipted again.
    w.ok("LOGI", issue_receipt("WR-C", "LOT-8"));
    w.ok(
        "SUP-1",
        Action::InstructRelease {
            receipt: doc("WR-A"),
        },
    );
    w.ok(
        "LOGI",
        Action::ReleaseWarehouseReceipt {
            receipt: doc("WR-A"),
        },
    );
    w.ok("LOGI", issue_receipt("WR-B", "LOT-7"));
    common::check_invariants(&w);
}

#[test]
fn finding_a_pledge_needs_the_banks_acceptance() {
    let mut w = World::new();
    w.ok("LOGI", issue_receipt("WR-P", "LOT-1"));
    let offer = |bank: &str| Action::OfferPledge {
        receipt: doc("WR-P"),
        bank: org(bank),
    };
    w.ok("SUP-1", offer("BANK-A"));
    let r = receipt(&w, "WR-P");
    assert_eq!(r.status, ReceiptStatus::Issued, "an offer pledges nothing");
    assert_eq!((r.pledgee, r.pledge_offer), (None, Some(org("BANK-A"))));
    // One offer at a time: the owner cannot offer the same goods to a second bank.
    let e = w.exec("SUP-1", offer("BANK-B")).outcome.unwrap_err();
    assert_eq!(e.code(), "wrong_status", "{e:?}");
    // Only the offered bank answers.
    refused_unchanged(
        &mut w,
        "BANK-B",
        Action::AcceptPledge {
            receipt: doc("WR-P"),
        },
        &ContractError::NotParty {
            org: org("BANK-B"),
            party: "offered pledgee".into(),
            kind: DocKind::WarehouseReceipt,
            id: "WR-P".into(),
        },
    );
    w.ok(
        "BANK-A",
        Action::DeclinePledge {
            receipt: doc("WR-P"),
        },
    );
    assert_eq!(receipt(&w, "WR-P").pledge_offer, None);
    w.ok("SUP-1", offer("BANK-B"));
    w.ok(
        "SUP-1",
        Action::WithdrawPledgeOffer {
            receipt: doc("WR-P"),
        },
    );
    w.ok("SUP-1", offer("BANK-B"));
    w.ok(
        "BANK-B",
        Action::AcceptPledge {
            receipt: doc("WR-P"),
        },
    );
    let r = receipt(&w, "WR-P");
    assert_eq!(
        (r.status, r.pledgee),
        (ReceiptStatus::Pledged, Some(org("BANK-B")))
    );
    // Pledged: no second pledge to another bank.
    let e = w.exec("SUP-1", offer("BANK-A")).outcome.unwrap_err();
    assert_eq!(e.code(), "wrong_status", "{e:?}");
    common::check_invariants(&w);
}

#[test]
fn release_needs_the_owners_instruction_and_the_pledgees_release() {
    let mut w = World::new();
    w.ok("LOGI", issue_receipt("WR-R", "LOT-2"));
    let release = || Action::ReleaseWarehouseReceipt {
        receipt: doc("WR-R"),
    };
    let wrong = |status: &str| ContractError::WrongStatus {
        kind: DocKind::WarehouseReceipt,
        id: "WR-R".into(),
        status: status.into(),
        expected: "issued (not pledged) with the owner's release instruction".into(),
    };
    // The warehouse alone cannot release goods it holds for the owner.
    refused_unchanged(&mut w, "LOGI", release(), &wrong("issued"));
    w.ok(
        "SUP-1",
        Action::OfferPledge {
            receipt: doc("WR-R"),
            bank: org("BANK-A"),
        },
    );
    w.ok(
        "BANK-A",
        Action::AcceptPledge {
            receipt: doc("WR-R"),
        },
    );
    // The owner instructs; while pledged the warehouse still may not release.
    w.ok(
        "SUP-1",
        Action::InstructRelease {
            receipt: doc("WR-R"),
        },
    );
    refused_unchanged(&mut w, "LOGI", release(), &wrong("pledged"));
    // Only the pledgee lifts its pledge (not the owner, not another bank).
    for who in ["SUP-1", "BANK-B"] {
        let e = w
            .exec(
                who,
                Action::ReleasePledge {
                    receipt: doc("WR-R"),
                },
            )
            .outcome
            .unwrap_err();
        assert!(e.is_permission(), "{who}: {e:?}");
    }
    w.ok(
        "BANK-A",
        Action::ReleasePledge {
            receipt: doc("WR-R"),
        },
    );
    w.ok("LOGI", release());
    let r = receipt(&w, "WR-R");
    assert_eq!((r.status, r.pledgee), (ReceiptStatus::Released, None));
    common::check_invariants(&w);
}

fn invoice(w: &World, id: &DocId) -> Invoice {
    w.get(DocKind::Invoice, id.as_str()).unwrap()
}

#[test]
fn finding_the_core_cannot_alone_set_a_maturity_past_the_due_date() {
    let mut w = World::new();
    let po = w.delivered_order("CORE-A", "SUP-1", "50000.00");
    // Register and confirm in one transaction, maturing 60 days after the due date.
    let mut spec = w.invoice_spec(&po, "CORE-A", "SUP-1", "10000.00", 30);
    let later = spec.due_date + Days::new(60);
    spec.maturity = Some(later);
    let ev = w.ok(
        "CORE-A",
        Action::RegisterInvoice {
            invoice: spec.clone(),
            confirm: true,
        },
    );
    assert!(
        !ev.iter()
            .any(|e| matches!(e, Event::ReceivableIssued { .. })),
        "no receivable before the seller accepts: {ev:?}"
    );
    let inv = invoice(&w, &spec.id);
    assert_eq!(
        (inv.status, inv.receivable, inv.proposed_maturity),
        (InvoiceStatus::Registered, None, Some(later))
    );
    let o: Order = w.get(DocKind::Order, po.as_str()).unwrap();
    assert!(o.confirmed.is_zero(), "a proposal confirms nothing");
    // Only the seller accepts it; the buyer cannot accept its own proposal.
    let e = w
        .exec(
            "CORE-A",
            Action::AcceptMaturity {
                invoice: spec.id.clone(),
            },
        )
        .outcome
        .unwrap_err();
    assert!(e.is_permission(), "{e:?}");
    let ev = w.ok(
        "SUP-1",
        Action::AcceptMaturity {
            invoice: spec.id.clone(),
        },
    );
    assert!(matches!(ev[0], Event::MaturityAccepted { maturity, .. } if maturity == later));
    let rid = invoice(&w, &spec.id).receivable.unwrap();
    assert_eq!(w.receivable(&rid).maturity, later);
    // Accepting twice is refused, nothing changes.
    refused_unchanged(
        &mut w,
        "SUP-1",
        Action::AcceptMaturity { invoice: spec.id },
        &ContractError::WrongStatus {
            kind: DocKind::Invoice,
            id: inv.id.to_string(),
            status: "confirmed".into(),
            expected: "registered or disputed".into(),
        },
    );
}

#[test]
fn a_maturity_the_seller_named_or_within_the_due_date_needs_no_acceptance() {
    let mut w = World::new();
    let po = w.delivered_order("CORE-A", "SUP-1", "50000.00");
    // The seller registers naming a maturity 30 days after its due date: its own terms.
    let mut spec = w.invoice_spec(&po, "CORE-A", "SUP-1", "10000.00", 30);
    let named = spec.due_date + Days::new(30);
    spec.maturity = Some(named);
    w.ok(
        "SUP-1",
        Action::RegisterInvoice {
            invoice: spec.clone(),
            confirm: false,
        },
    );
    // The buyer cannot stretch it further alone...
    let ev = w.ok(
        "CORE-A",
        Action::ConfirmInvoice {
            invoice: spec.id.clone(),
            maturity: Some(named + Days::new(1)),
        },
    );
    assert!(matches!(ev[0], Event::MaturityProposed { .. }), "{ev:?}");
    // ... but confirms the named one (replacing its proposal) at once.
    w.ok(
        "CORE-A",
        Action::ConfirmInvoice {
            invoice: spec.id.clone(),
            maturity: None,
        },
    );
    let inv = invoice(&w, &spec.id);
    assert_eq!(inv.proposed_maturity, None);
    assert_eq!(w.receivable(&inv.receivable.unwrap()).maturity, named);
    // An earlier maturity than the due date is the buyer's to give.
    let early = w.invoice_spec(&po, "CORE-A", "SUP-1", "10000.00", 30);
    let sooner = early.due_date - Days::new(10);
    w.ok(
        "SUP-1",
        Action::RegisterInvoice {
            invoice: early.clone(),
            confirm: false,
        },
    );
    w.ok(
        "CORE-A",
        Action::ConfirmInvoice {
            invoice: early.id.clone(),
            maturity: Some(sooner),
        },
    );
    let inv = invoice(&w, &early.id);
    assert_eq!(w.receivable(&inv.receivable.unwrap()).maturity, sooner);
    // A proposal past the tenor cap is refused at once, not left pending.
    let far = w.invoice_spec(&po, "CORE-A", "SUP-1", "10000.00", 30);
    w.ok(
        "SUP-1",
        Action::RegisterInvoice {
            invoice: far.clone(),
            confirm: false,
        },
    );
    let e = w
        .exec(
            "CORE-A",
            Action::ConfirmInvoice {
                invoice: far.id.clone(),
                maturity: Some(w.today() + Days::new(400)),
            },
        )
        .outcome
        .unwrap_err();
    assert_eq!(e.code(), "tenor_too_long");
    common::check_invariants(&w);
}
