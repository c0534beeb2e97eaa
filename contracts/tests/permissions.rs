//! The permission matrix: for every action, every org that must not perform it is tried
//! and refused with the right error, and nothing but its nonce (and the block height)
//! changes. One org that may perform it is shown to succeed, so the matrix can fail.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

mod common;

use lianrong_contracts::action::{Action, InvoiceSpec};
use lianrong_contracts::model::{
    ApprovalPolicy, ApprovalRule, ExposureScope, GovChange, GridBucket, OrgSpec, ProgrammeTerms,
    Role,
};
use lianrong_contracts::money::{Amount, Currency, Quantity, Rate, Unit};
use lianrong_contracts::state::keys;
use lianrong_contracts::testkit::{cny, doc, member_key, org, tax_id_for, World, CAST};
use lianrong_contracts::{ContractError, Event};
use lianrong_primitives::{Hash, SecretKey};

/// Documents in every status the matrix needs.
struct Fixture {
    world: World,
    po_issued: String,
    po_accepted: String,
    po_delivered: String,
    shipment: String,
    wr_issued: String,
    wr_offered: String,
    wr_pledged: String,
    wr_instructed: String,
    inv_registered: String,
    inv_proposed: String,
    rcv: String,
    fin_requested: String,
    offer_open: String,
    fin_accepted: String,
    fin_accepted_net: Amount,
    fin_disbursed: String,
    settlement_pending: String,
    proposal: String,
    approval: String,
    prg_proposed: String,
    prg_active: String,
    loans: common::inventory::MatrixLoans,
    sales: common::secondary::MatrixSales,
    defaults: common::default::MatrixDefaults,
}

fn first_id(events: &[Event]) -> String {
    match &events[0] {
        Event::FinancingRequested { financing, .. } => financing.to_string(),
        Event::OfferMade { offer, .. } => offer.to_string(),
        Event::ProposalOpened { proposal, .. } => proposal.to_string(),
        Event::SettlementInstructed { settlement, .. } => settlement.to_string(),
        Event::ProgrammeCreated { programme, .. } => programme.to_string(),
        e => panic!("unexpected {e:?}"),
    }
}

fn new_org(id: &str) -> OrgSpec {
    OrgSpec {
        id: org(id),
        name: format!("{id} Ltd"),
        tax_id: tax_id_for(
            id.bytes()
                .fold(0u32, |n, b| n.wrapping_mul(31).wrapping_add(u32::from(b))),
        ),
        roles: vec![Role::Supplier],
        identifiers: vec![],
        keys: vec![SecretKey::from_seed([id.len() as u8; 32]).public()],
    }
}

fn fixture() -> Fixture {
    let mut w = World::new();
    // A second logistics firm that no order names yet: the buyer may add it as carrier.
    let mut logi2 = new_org("LOGI-2");
    logi2.roles = vec![Role::Logistics];
    let admit = first_id(&w.ok(
        "BANK-A",
        Action::Propose {
            change: GovChange::AdmitOrg(logi2),
        },
    ));
    for validator in ["CORE-A", "LOGI"] {
        w.ok(
            validator,
            Action::Approve {
                proposal: doc(&admit),
            },
        );
    }
    // Loans first: they need days to pass (a cure period) before the rest is built.
    let loans = common::inventory::matrix_loans(&mut w);
    // Overdue financings: their receivables must pass maturity + grace first.
    let defaults = common::default::matrix_defaults(&mut w);
    let sales = common::secondary::matrix_sales(&mut w);
    let po_issued = w.fresh_id("PO");
    w.ok(
        "CORE-A",
        Action::IssueOrder {
            id: po_issued.clone(),
            seller: org("SUP-1"),
            amount: cny("100.00"),
            terms: String::new(),
            doc_hash: Hash::ZERO,
            carriers: vec![org("LOGI")],
        },
    );
    let po_accepted = w.fresh_id("PO");
    w.ok(
        "CORE-A",
        Action::IssueOrder {
            id: po_accepted.clone(),
            seller: org("SUP-1"),
            amount: cny("100.00"),
            terms: String::new(),
            doc_hash: Hash::ZERO,
            carriers: vec![org("LOGI")],
        },
    );
    w.ok(
        "SUP-1",
        Action::AcceptOrder {
            order: po_accepted.clone(),
        },
    );
    let po_shipping = w.fresh_id("PO");
    w.ok(
        "CORE-A",
        Action::IssueOrder {
            id: po_shipping.clone(),
            seller: org("SUP-1"),
            amount: cny("100.00"),
            terms: String::new(),
            doc_hash: Hash::ZERO,
            carriers: vec![org("LOGI")],
        },
    );
    w.ok(
        "SUP-1",
        Action::AcceptOrder {
            order: po_shipping.clone(),
        },
    );
    let shipment = w.fresh_id("SHP");
    w.ok(
        "LOGI",
        Action::AttestShipment {
            id: shipment.clone(),
            order: po_shipping,
            value: cny("40.00"),
            doc_hash: Hash::ZERO,
        },
    );
    let po_delivered = w.delivered_order("CORE-A", "SUP-1", "50000.00");
    let inv = w.invoice_spec(&po_delivered, "CORE-A", "SUP-1", "1000.00", 60);
    w.ok(
        "SUP-1",
        Action::RegisterInvoice {
            invoice: inv.clone(),
            confirm: false,
        },
    );
    // The buyer confirmed with a maturity past the due date: waiting for the seller.
    let proposed = w.invoice_spec(&po_delivered, "CORE-A", "SUP-1", "2000.00", 60);
    w.ok(
        "SUP-1",
        Action::RegisterInvoice {
            invoice: proposed.clone(),
            confirm: false,
        },
    );
    w.ok(
        "CORE-A",
        Action::ConfirmInvoice {
            invoice: proposed.id.clone(),
            maturity: Some(proposed.due_date + chrono::Days::new(30)),
        },
    );

    let receipt = |w: &mut World, goods: &str| {
        let id = w.fresh_id("WR");
        w.ok(
            "LOGI",
            Action::IssueWarehouseReceipt {
                id: id.clone(),
                owner: org("SUP-1"),
                lot: format!("LOT-{id}"),
                goods: goods.into(),
                quantity: Quantity::parse("50").unwrap(),
                unit: Unit::parse("t").unwrap(),
                doc_hash: Hash::ZERO,
            },
        );
        id
    };
    let wr_issued = receipt(&mut w, "copper");
    let wr_offered = receipt(&mut w, "zinc");
    let wr_pledged = receipt(&mut w, "steel");
    let wr_instructed = receipt(&mut w, "tin");
    for wr in [&wr_offered, &wr_pledged] {
        w.ok(
            "SUP-1",
            Action::OfferPledge {
                receipt: wr.clone(),
                bank: org("BANK-A"),
            },
        );
    }
    w.ok(
        "BANK-A",
        Action::AcceptPledge {
            receipt: wr_pledged.clone(),
        },
    );
    w.ok(
        "SUP-1",
        Action::InstructRelease {
            receipt: wr_instructed.clone(),
        },
    );

    let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "10000.00", 90);
    let r2 = w.trade_to_receivable("CORE-A", "SUP-2", "20000.00", 90);
    let fin_requested = first_id(&w.ok(
        "SUP-2",
        Action::RequestFinancing {
            receivable: r2,
            banks: vec![org("BANK-A"), org("BANK-B")],
        },
    ));
    let offer_open = first_id(&w.ok(
        "BANK-B",
        Action::OfferFinancing {
            financing: doc(&fin_requested),
            rate: Rate::parse("5").unwrap(),
            fees: Amount::ZERO,
            valid_until: w.today(),
        },
    ));
    let r3 = w.trade_to_receivable("CORE-B", "SUP-1", "30000.00", 90);
    let fin_accepted = first_id(&w.ok(
        "SUP-1",
        Action::RequestFinancing {
            receivable: r3,
            banks: vec![org("BANK-B")],
        },
    ));
    let offer_b = first_id(&w.ok(
        "BANK-B",
        Action::OfferFinancing {
            financing: doc(&fin_accepted),
            rate: Rate::parse("4").unwrap(),
            fees: Amount::ZERO,
            valid_until: w.today(),
        },
    ));
    let accepted = w.ok(
        "SUP-1",
        Action::AcceptOffer {
            offer: doc(&offer_b),
        },
    );
    let Event::OfferAccepted { net, .. } = &accepted[0] else {
        panic!()
    };
    let fin_accepted_net = net.amount;
    let r4 = w.trade_to_receivable("CORE-A", "SUP-1", "40000.00", 90);
    let fin_disbursed = first_id(&w.ok(
        "SUP-1",
        Action::RequestFinancing {
            receivable: r4,
            banks: vec![org("BANK-A")],
        },
    ));
    let offer_a = first_id(&w.ok(
        "BANK-A",
        Action::OfferFinancing {
            financing: doc(&fin_disbursed),
            rate: Rate::parse("4").unwrap(),
            fees: Amount::ZERO,
            valid_until: w.today(),
        },
    ));
    let accepted = w.ok(
        "SUP-1",
        Action::AcceptOffer {
            offer: doc(&offer_a),
        },
    );
    let Event::OfferAccepted { net, .. } = &accepted[0] else {
        panic!()
    };
    w.ok(
        "BANK-A",
        Action::Disburse {
            financing: doc(&fin_disbursed),
            payment_ref: "CMB-FIX".into(),
            net: net.amount,
        },
    );
    let r5 = w.trade_to_receivable("CORE-A", "SUP-1", "50000.00", 90);
    let settlement_pending = first_id(&w.ok(
        "CORE-A",
        Action::Repay {
            receivable: r5,
            payee: org("SUP-1"),
            amount: Amount::parse("50000.00").unwrap(),
            payment_ref: "HX-FIX".into(),
        },
    ));
    // BANK-A's programmes with CORE-A: one proposed, one active with SUP-1 a member
    // (SUP-3 eligible, not joined).
    let prg_proposed = first_id(&w.ok(
        "BANK-A",
        Action::CreateProgramme {
            terms: programme_terms(),
        },
    ));
    let prg_active = first_id(&w.ok(
        "BANK-A",
        Action::CreateProgramme {
            terms: programme_terms(),
        },
    ));
    w.ok(
        "CORE-A",
        Action::AcceptProgramme {
            programme: doc(&prg_active),
        },
    );
    w.ok(
        "SUP-1",
        Action::JoinProgramme {
            programme: doc(&prg_active),
        },
    );
    // CORE-A's policy holds new orders for two keys; its second key made one.
    let maker = w.add_member_key("CORE-A", 1);
    w.ok(
        "CORE-A",
        Action::SetApprovalPolicy {
            policy: Some(ApprovalPolicy {
                rules: vec![ApprovalRule {
                    action: "issue_order".into(),
                    above: None,
                    approvals: 2,
                }],
                ttl_days: 5,
            }),
        },
    );
    let held = w.exec_with(
        "CORE-A",
        &maker,
        Action::IssueOrder {
            id: doc("PO-HELD"),
            seller: org("SUP-1"),
            amount: cny("10.00"),
            terms: String::new(),
            doc_hash: Hash::ZERO,
            carriers: vec![],
        },
    );
    let approval = match held.outcome.as_deref() {
        Ok([Event::ApprovalRequested { approval, .. }]) => approval.to_string(),
        other => panic!("not held: {other:?}"),
    };
    let proposal = first_id(&w.ok(
        "BANK-A",
        Action::Propose {
            change: GovChange::AdmitOrg(new_org("NEWCO")),
        },
    ));

    Fixture {
        world: w,
        po_issued: po_issued.to_string(),
        po_accepted: po_accepted.to_string(),
        po_delivered: po_delivered.to_string(),
        shipment: shipment.to_string(),
        wr_issued: wr_issued.to_string(),
        wr_offered: wr_offered.to_string(),
        wr_pledged: wr_pledged.to_string(),
        wr_instructed: wr_instructed.to_string(),
        inv_registered: inv.id.to_string(),
        inv_proposed: proposed.id.to_string(),
        rcv: rcv.to_string(),
        fin_requested,
        offer_open,
        fin_accepted,
        fin_accepted_net,
        fin_disbursed,
        settlement_pending,
        proposal,
        approval,
        prg_proposed,
        prg_active,
        loans,
        sales,
        defaults,
    }
}

/// BANK-A's programme with CORE-A: SUP-1 and SUP-3 eligible, one 4 % bucket, auto-offer.
fn programme_terms() -> ProgrammeTerms {
    ProgrammeTerms {
        core: org("CORE-A"),
        suppliers: vec![org("SUP-1"), org("SUP-3")],
        max_tier: 2,
        currency: Currency::new("CNY").unwrap(),
        grid: vec![GridBucket {
            max_days: 180,
            rate: Rate::parse("4").unwrap(),
        }],
        fee_percent: Rate::parse("0").unwrap(),
        fee_fixed: Amount::ZERO,
        max_tenor_days: 180,
        advance: Rate::parse("90").unwrap(),
        recourse: true,
        auto_offer: true,
        offer_valid_days: 3,
        limit: cny("5000000.00"),
        penalty_rate: Rate::parse("18").unwrap(),
    }
}

/// Which orgs may act, and which role an outsider lacks.
enum Rule {
    /// Validator orgs only.
    Validators,
    /// Orgs holding one of `roles`, and among them only `parties`.
    Parties {
        roles: &'static [Role],
        parties: &'static [&'static str],
    },
}

const VALIDATOR_ORGS: &[&str] = &["BANK-A", "CORE-A", "CORE-B", "LOGI"];

const ALL_ORGS: &[&str] = &[
    "BANK-A", "BANK-B", "CORE-A", "CORE-B", "LOGI", "SUP-1", "SUP-2", "SUP-3", "AUDIT",
];

fn roles_of(org_id: &str) -> &'static [Role] {
    CAST.iter()
        .find(|c| c.0 == org_id)
        .map(|c| c.3)
        .unwrap_or(&[])
}

fn new_invoice(f: &mut Fixture, tag: &str) -> InvoiceSpec {
    let order = doc(&f.po_delivered);
    let mut spec = f.world.invoice_spec(&order, "CORE-A", "SUP-1", "10.00", 30);
    spec.number = format!("MATRIX-{tag}");
    spec
}

#[test]
fn every_action_refuses_every_unauthorised_org() {
    let mut f = fixture();
    common::check_invariants(&f.world);
    let d = |s: &String| doc(s);
    let inv_plain = new_invoice(&mut f, "PLAIN");
    let inv_confirm = new_invoice(&mut f, "CONFIRM");
    let use_role =
        |roles: &'static [Role], parties: &'static [&'static str]| Rule::Parties { roles, parties };
    let matrix: Vec<(Action, Rule, &str)> = vec![
        (
            Action::Propose {
                change: GovChange::AdmitOrg(new_org("OTHERCO")),
            },
            Rule::Validators,
            "CORE-B",
        ),
        (
            Action::Approve {
                proposal: d(&f.proposal),
            },
            Rule::Validators,
            "CORE-A",
        ),
        (
            Action::IssueOrder {
                id: doc("PO-NEW"),
                seller: org("SUP-1"),
                amount: cny("1.00"),
                terms: String::new(),
                doc_hash: Hash::ZERO,
                carriers: vec![org("LOGI")],
            },
            use_role(&[Role::Core], &["CORE-A", "CORE-B"]),
            "CORE-B",
        ),
        (
            Action::AcceptOrder {
                order: d(&f.po_issued),
            },
            use_role(&[Role::Supplier], &["SUP-1"]),
            "SUP-1",
        ),
        (
            Action::CancelOrder {
                order: d(&f.po_issued),
            },
            use_role(&[Role::Core], &["CORE-A"]),
            "CORE-A",
        ),
        (
            Action::FulfilOrder {
                order: d(&f.po_delivered),
            },
            use_role(&[Role::Core], &["CORE-A"]),
            "CORE-A",
        ),
        (
            Action::AddCarrier {
                order: d(&f.po_accepted),
                carrier: org("LOGI-2"),
            },
            use_role(&[Role::Core], &["CORE-A"]),
            "CORE-A",
        ),
        (
            Action::AttestShipment {
                id: doc("SHP-NEW"),
                order: d(&f.po_accepted),
                value: cny("60.00"),
                doc_hash: Hash::ZERO,
            },
            use_role(&[Role::Logistics], &["LOGI"]),
            "LOGI",
        ),
        (
            Action::ConfirmDelivery {
                shipment: d(&f.shipment),
            },
            use_role(&[Role::Logistics], &["LOGI"]),
            "LOGI",
        ),
        (
            Action::IssueWarehouseReceipt {
                id: doc("WR-NEW"),
                owner: org("SUP-1"),
                lot: "LOT-NEW".into(),
                goods: "coal".into(),
                quantity: Quantity::parse("1000").unwrap(),
                unit: Unit::parse("t").unwrap(),
                doc_hash: Hash::ZERO,
            },
            use_role(&[Role::Logistics], &["LOGI"]),
            "LOGI",
        ),
        (
            Action::OfferPledge {
                receipt: d(&f.wr_issued),
                bank: org("BANK-A"),
            },
            use_role(&[], &["SUP-1"]),
            "SUP-1",
        ),
        (
            Action::AcceptPledge {
                receipt: d(&f.wr_offered),
            },
            use_role(&[Role::Bank], &["BANK-A"]),
            "BANK-A",
        ),
        (
            Action::DeclinePledge {
                receipt: d(&f.wr_offered),
            },
            use_role(&[Role::Bank], &["BANK-A"]),
            "BANK-A",
        ),
        (
            Action::WithdrawPledgeOffer {
                receipt: d(&f.wr_offered),
            },
            use_role(&[], &["SUP-1"]),
            "SUP-1",
        ),
        (
            Action::ReleasePledge {
                receipt: d(&f.wr_pledged),
            },
            use_role(&[Role::Bank], &["BANK-A"]),
            "BANK-A",
        ),
        (
            Action::InstructRelease {
                receipt: d(&f.wr_pledged),
            },
            use_role(&[], &["SUP-1"]),
            "SUP-1",
        ),
        (
            Action::ReleaseWarehouseReceipt {
                receipt: d(&f.wr_instructed),
            },
            use_role(&[Role::Logistics], &["LOGI"]),
            "LOGI",
        ),
        (
            // Any bank posts its own prices.
            common::inventory::post_price_action("copper", "t", "101.00"),
            use_role(&[Role::Bank], &["BANK-A", "BANK-B"]),
            "BANK-B",
        ),
        (
            // The owner of receipts pledged to one bank asks that bank.
            Action::RequestLoan {
                receipts: vec![f.loans.free.clone()],
                amount: cny("1000.00"),
            },
            use_role(&[], &["SUP-1"]),
            "SUP-1",
        ),
        (
            common::inventory::offer_action(&f.world, &f.loans.requested, "70", "80", 5),
            use_role(&[Role::Bank], &["BANK-A"]),
            "BANK-A",
        ),
        (
            Action::AcceptLoan {
                loan: f.loans.offered.clone(),
            },
            use_role(&[], &["SUP-1"]),
            "SUP-1",
        ),
        (
            // Either side cancels before the money moves.
            Action::CancelLoan {
                loan: f.loans.accepted.clone(),
            },
            use_role(&[], &["SUP-1", "BANK-A"]),
            "BANK-A",
        ),
        (
            Action::DisburseLoan {
                loan: f.loans.accepted.clone(),
                payment_ref: "LP-1".into(),
            },
            use_role(&[Role::Bank], &["BANK-A"]),
            "BANK-A",
        ),
        (
            Action::AcknowledgeLoanDisbursement {
                loan: f.loans.disbursed.clone(),
            },
            use_role(&[], &["SUP-1"]),
            "SUP-1",
        ),
        (
            Action::RepayLoan {
                loan: f.loans.disbursed.clone(),
                amount: Amount::parse("100.00").unwrap(),
                payment_ref: "LR-2".into(),
            },
            use_role(&[], &["SUP-1"]),
            "SUP-1",
        ),
        (
            Action::AcknowledgeLoanRepayment {
                loan: f.loans.repaying.clone(),
            },
            use_role(&[Role::Bank], &["BANK-A"]),
            "BANK-A",
        ),
        (
            Action::MarginCall {
                loan: f.loans.crashed.clone(),
            },
            use_role(&[Role::Bank], &["BANK-A"]),
            "BANK-A",
        ),
        (
            Action::TopUp {
                loan: f.loans.disbursed.clone(),
                receipt: f.loans.free.clone(),
            },
            use_role(&[], &["SUP-1"]),
            "SUP-1",
        ),
        (
            Action::ReleaseGoods {
                loan: f.loans.disbursed.clone(),
                receipt: f.loans.releasable.clone(),
            },
            use_role(&[], &["SUP-1"]),
            "SUP-1",
        ),
        (
            Action::Enforce {
                loan: f.loans.callable.clone(),
            },
            use_role(&[Role::Bank], &["BANK-A"]),
            "BANK-A",
        ),
        (
            Action::RegisterInvoice {
                invoice: inv_plain,
                confirm: false,
            },
            use_role(&[Role::Supplier, Role::Core], &["SUP-1", "CORE-A"]),
            "SUP-1",
        ),
        (
            Action::RegisterInvoice {
                invoice: inv_confirm,
                confirm: true,
            },
            use_role(&[Role::Core], &["CORE-A"]),
            "CORE-A",
        ),
        (
            Action::ConfirmInvoice {
                invoice: d(&f.inv_registered),
                maturity: None,
            },
            use_role(&[Role::Core], &["CORE-A"]),
            "CORE-A",
        ),
        (
            Action::AcceptMaturity {
                invoice: d(&f.inv_proposed),
            },
            use_role(&[Role::Supplier], &["SUP-1"]),
            "SUP-1",
        ),
        (
            Action::DisputeInvoice {
                invoice: d(&f.inv_registered),
                reason: "short delivery".into(),
            },
            use_role(&[Role::Core], &["CORE-A"]),
            "CORE-A",
        ),
        (
            Action::VoidInvoice {
                invoice: d(&f.inv_registered),
            },
            use_role(&[Role::Supplier], &["SUP-1"]),
            "SUP-1",
        ),
        (
            Action::SplitReceivable {
                receivable: d(&f.rcv),
                parts: vec![
                    Amount::parse("4000.00").unwrap(),
                    Amount::parse("6000.00").unwrap(),
                ],
            },
            use_role(&[Role::Supplier], &["SUP-1"]),
            "SUP-1",
        ),
        (
            Action::TransferReceivable {
                receivable: d(&f.rcv),
                to: org("SUP-3"),
            },
            use_role(&[Role::Supplier], &["SUP-1"]),
            "SUP-1",
        ),
        (
            Action::RequestFinancing {
                receivable: d(&f.rcv),
                banks: vec![org("BANK-A")],
            },
            use_role(&[Role::Supplier], &["SUP-1"]),
            "SUP-1",
        ),
        (
            Action::CancelFinancing {
                financing: d(&f.fin_requested),
            },
            use_role(&[Role::Supplier], &["SUP-2"]),
            "SUP-2",
        ),
        (
            Action::OfferFinancing {
                financing: d(&f.fin_requested),
                rate: Rate::parse("3").unwrap(),
                fees: Amount::ZERO,
                valid_until: f.world.today(),
            },
            use_role(&[Role::Bank], &["BANK-A", "BANK-B"]),
            "BANK-A",
        ),
        (
            Action::WithdrawOffer {
                offer: d(&f.offer_open),
            },
            use_role(&[Role::Bank], &["BANK-B"]),
            "BANK-B",
        ),
        (
            Action::AcceptOffer {
                offer: d(&f.offer_open),
            },
            use_role(&[Role::Supplier], &["SUP-2"]),
            "SUP-2",
        ),
        (
            Action::AbandonFinancing {
                financing: d(&f.fin_accepted),
            },
            use_role(&[Role::Bank], &["BANK-B"]),
            "BANK-B",
        ),
        (
            Action::Disburse {
                financing: d(&f.fin_accepted),
                payment_ref: "PAY-1".into(),
                net: f.fin_accepted_net,
            },
            use_role(&[Role::Bank], &["BANK-B"]),
            "BANK-B",
        ),
        (
            Action::Repay {
                receivable: d(&f.rcv),
                payee: org("SUP-1"),
                amount: Amount::parse("1.00").unwrap(),
                payment_ref: "R-1".into(),
            },
            use_role(&[Role::Core], &["CORE-A"]),
            "CORE-A",
        ),
        (
            Action::SettleRoot {
                root: d(&f.rcv),
                payment_ref: "M-1".into(),
            },
            use_role(&[Role::Core], &["CORE-A"]),
            "CORE-A",
        ),
        (
            Action::AcknowledgeSettlement {
                settlement: d(&f.settlement_pending),
            },
            use_role(&[], &["SUP-1"]),
            "SUP-1",
        ),
        (
            Action::DisputeSettlement {
                settlement: d(&f.settlement_pending),
                reason: "not received".into(),
            },
            use_role(&[], &["SUP-1"]),
            "SUP-1",
        ),
        (
            Action::AcknowledgeDisbursement {
                financing: d(&f.fin_disbursed),
            },
            use_role(&[], &["SUP-1"]),
            "SUP-1",
        ),
        (
            // The funding bank alone records the registry's number.
            Action::RecordRegistration {
                financing: d(&f.fin_disbursed),
                number: "05383857000123456789".into(),
            },
            use_role(&[Role::Bank], &["BANK-A"]),
            "BANK-A",
        ),
        (
            Action::DisputeDisbursement {
                financing: d(&f.fin_disbursed),
                reason: "short paid".into(),
            },
            use_role(&[], &["SUP-1"]),
            "SUP-1",
        ),
        (
            // Any bank sets its own exposure limits; no one else sets any.
            Action::SetExposureLimit {
                on: org("CORE-A"),
                scope: ExposureScope::Debtor,
                limit: Some(cny("1000000.00")),
            },
            use_role(&[Role::Bank], &["BANK-A", "BANK-B"]),
            "BANK-B",
        ),
        (
            // Only the maker's org approves its held action, with another of its keys.
            Action::ApproveAction {
                approval: d(&f.approval),
            },
            use_role(&[], &["CORE-A"]),
            "CORE-A",
        ),
        (
            Action::RejectAction {
                approval: d(&f.approval),
                reason: "not in the ERP".into(),
            },
            use_role(&[], &["CORE-A"]),
            "CORE-A",
        ),
        (
            // Any bank sets up its own programmes.
            Action::CreateProgramme {
                terms: programme_terms(),
            },
            use_role(&[Role::Bank], &["BANK-A", "BANK-B"]),
            "BANK-B",
        ),
        (
            Action::AcceptProgramme {
                programme: d(&f.prg_proposed),
            },
            use_role(&[Role::Core], &["CORE-A"]),
            "CORE-A",
        ),
        (
            // An eligible supplier joins (SUP-1 already did).
            Action::JoinProgramme {
                programme: d(&f.prg_active),
            },
            use_role(&[Role::Supplier], &["SUP-1", "SUP-3"]),
            "SUP-3",
        ),
        (
            Action::LeaveProgramme {
                programme: d(&f.prg_active),
            },
            use_role(&[Role::Supplier], &["SUP-1"]),
            "SUP-1",
        ),
        (
            Action::RemoveFromProgramme {
                programme: d(&f.prg_active),
                supplier: org("SUP-1"),
            },
            use_role(&[Role::Bank], &["BANK-A"]),
            "BANK-A",
        ),
        (
            Action::CloseProgramme {
                programme: d(&f.prg_active),
            },
            use_role(&[Role::Bank], &["BANK-A"]),
            "BANK-A",
        ),
        (
            // The holder, a member, finances under it.
            Action::RequestProgrammeFinancing {
                receivable: d(&f.rcv),
                programme: d(&f.prg_active),
            },
            use_role(&[Role::Supplier], &["SUP-1"]),
            "SUP-1",
        ),
        (
            // The funding bank sells to another bank; the buyer answers and pays, the
            // seller withdraws and acknowledges the price.
            Action::OfferSale {
                financing: f.sales.free.clone(),
                buyer: org("BANK-B"),
                part: Some(Amount::parse("4000.00").unwrap()),
                price: Amount::parse("3900.00").unwrap(),
                valid_until: f.world.today(),
            },
            use_role(&[Role::Bank], &["BANK-A"]),
            "BANK-A",
        ),
        (
            Action::AcceptSale {
                sale: f.sales.offered.clone(),
            },
            use_role(&[Role::Bank], &["BANK-B"]),
            "BANK-B",
        ),
        (
            Action::DeclineSale {
                sale: f.sales.offered.clone(),
            },
            use_role(&[Role::Bank], &["BANK-B"]),
            "BANK-B",
        ),
        (
            Action::WithdrawSale {
                sale: f.sales.offered.clone(),
            },
            use_role(&[Role::Bank], &["BANK-A"]),
            "BANK-A",
        ),
        (
            Action::PaySale {
                sale: f.sales.sold.clone(),
                payment_ref: "BANK-B-SALE-9".into(),
            },
            use_role(&[Role::Bank], &["BANK-B"]),
            "BANK-B",
        ),
        (
            Action::AcknowledgeSalePayment {
                sale: f.sales.paying.clone(),
            },
            use_role(&[Role::Bank], &["BANK-A"]),
            "BANK-A",
        ),
        (
            Action::DisputeSalePayment {
                sale: f.sales.paying.clone(),
                reason: "not received".into(),
            },
            use_role(&[Role::Bank], &["BANK-A"]),
            "BANK-A",
        ),
        (
            Action::OfferFinancingWithTerms {
                financing: d(&f.fin_requested),
                rate: Rate::parse("3").unwrap(),
                fees: Amount::ZERO,
                valid_until: f.world.today(),
                penalty_rate: Rate::parse("18").unwrap(),
                recourse: true,
            },
            use_role(&[Role::Bank], &["BANK-A", "BANK-B"]),
            "BANK-A",
        ),
        (
            // The applicant buys back its overdue financing with recourse.
            Action::InstructBuyback {
                financing: f.defaults.recourse.clone(),
                amount: f.defaults.recourse_claim,
                payment_ref: "SUP1-BB-M".into(),
            },
            use_role(&[Role::Supplier], &["SUP-1"]),
            "SUP-1",
        ),
        (
            Action::AcknowledgeBuyback {
                financing: f.defaults.pending.clone(),
            },
            use_role(&[Role::Bank], &["BANK-A"]),
            "BANK-A",
        ),
        (
            Action::DisputeBuyback {
                financing: f.defaults.pending.clone(),
                reason: "not received".into(),
            },
            use_role(&[Role::Bank], &["BANK-A"]),
            "BANK-A",
        ),
        (
            // The funding bank writes off its overdue financing without recourse.
            Action::WriteOff {
                financing: f.defaults.plain.clone(),
                amount: f.defaults.plain_claim,
                reason: "uncollectable".into(),
            },
            use_role(&[Role::Bank], &["BANK-B"]),
            "BANK-B",
        ),
        (
            // Every org sets its own policy and no one else's: nobody to refuse.
            Action::SetApprovalPolicy { policy: None },
            use_role(&[], ALL_ORGS),
            "SUP-1",
        ),
        (
            Action::SetKeyScopes {
                key: member_key("SUP-1").public(),
                scopes: Some(vec!["repay".into()]),
            },
            use_role(&[], &["SUP-1"]),
            "SUP-1",
        ),
    ];
    // Every name the ledger lists is an action, and every action is in the matrix.
    for (a, ..) in &matrix {
        assert!(
            lianrong_contracts::action::ACTION_NAMES.contains(&a.name()),
            "{} missing from ACTION_NAMES",
            a.name()
        );
    }
    // Every action variant is in the matrix (some more than once, in other states).
    let names: std::collections::BTreeSet<&str> = matrix.iter().map(|(a, ..)| a.name()).collect();
    let listed: std::collections::BTreeSet<&str> = lianrong_contracts::action::ACTION_NAMES
        .iter()
        .copied()
        .collect();
    assert_eq!(names, listed, "ACTION_NAMES and the matrix disagree");

    let mut refusals = 0;
    for (action, rule, allowed) in &matrix {
        let name = action.name();
        // The allowed org succeeds, so each row could fail.
        let mut ok = f.world.clone();
        let r = ok.exec(allowed, action.clone());
        assert!(
            r.outcome.is_ok(),
            "{allowed} {name} should succeed: {:?}",
            r.outcome
        );

        for (org_id, ..) in CAST {
            let expected: Option<ContractError> = match rule {
                Rule::Validators if VALIDATOR_ORGS.contains(org_id) => None,
                Rule::Validators => Some(ContractError::NotValidatorOrg(org(org_id))),
                Rule::Parties { parties, .. } if parties.contains(org_id) => None,
                Rule::Parties { roles, .. }
                    if !roles.is_empty() && !roles.iter().any(|r| roles_of(org_id).contains(r)) =>
                {
                    Some(ContractError::MissingRole {
                        org: org(org_id),
                        role: roles[0],
                    })
                }
                Rule::Parties { .. } => None, // has the role but is not the party: checked below
            };
            let is_party = matches!(rule, Rule::Parties { parties, .. } if parties.contains(org_id))
                || matches!(rule, Rule::Validators if VALIDATOR_ORGS.contains(org_id));
            if is_party {
                continue;
            }
            let mut w = f.world.clone();
            let before = w.root();
            let out = w.block(&[w.clone().sign(org_id, action.clone())]);
            let err = match &out.receipts[0].outcome {
                Err(e) => e.clone(),
                Ok(ev) => panic!("{org_id} was allowed to {name}: {ev:?}"),
            };
            match expected {
                Some(e) => assert_eq!(err, e, "{org_id} {name}"),
                None => assert!(
                    matches!(err, ContractError::NotParty { .. }),
                    "{org_id} {name}: expected NotParty, got {err:?}"
                ),
            }
            // Nothing changed but the signer's nonce and the chain height.
            let nonce_key = keys::nonce(&member_key(org_id).public());
            for k in out.changes.values.keys() {
                assert!(
                    k == &nonce_key || k.as_slice() == keys::META,
                    "{org_id} {name} wrote {}",
                    String::from_utf8_lossy(k)
                );
            }
            assert_ne!(w.root(), before);
            refusals += 1;
        }
    }
    // Every row x 9 orgs, minus the parties.
    assert!(refusals > 180, "only {refusals} refusals tried");
}

#[test]
fn auditor_can_do_nothing_at_all() {
    let f = fixture();
    let mut w = f.world.clone();
    let actions = vec![
        Action::IssueOrder {
            id: doc("PO-AUD"),
            seller: org("SUP-1"),
            amount: cny("1.00"),
            terms: String::new(),
            doc_hash: Hash::ZERO,
            carriers: vec![org("LOGI")],
        },
        Action::Repay {
            receivable: doc(&f.rcv),
            payee: org("SUP-1"),
            amount: Amount::parse("1.00").unwrap(),
            payment_ref: "X".into(),
        },
        Action::AcknowledgeSettlement {
            settlement: doc(&f.settlement_pending),
        },
        Action::AcknowledgeDisbursement {
            financing: doc(&f.fin_disbursed),
        },
        Action::Propose {
            change: GovChange::SetParams(Default::default()),
        },
    ];
    for a in actions {
        let r = w.exec("AUDIT", a);
        assert!(
            r.outcome.as_ref().is_err_and(|e| e.is_permission()),
            "{:?}",
            r.outcome
        );
    }
}
