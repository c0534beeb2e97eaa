//! Credit limits (issue 15 item 2): a core enterprise's issuance limit, a bank's exposure
//! limits on a debtor and on a supplier; checked when confirming, accepting and
//! disbursing, refused with the limit, the use and the amount that would exceed it.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

mod common;

use lianrong_contracts::action::Action;
use lianrong_contracts::model::{
    CreditLimit, DocId, ExposureScope, GovChange, Invoice, LimitScope, Role,
};
use lianrong_contracts::money::{Amount, Money, Rate};
use lianrong_contracts::state::{keys, Storage};
use lianrong_contracts::testkit::{cny, member_key, org, World};
use lianrong_contracts::{ContractError, DocKind, Event};
use lianrong_primitives::decode;

fn issuance(debtor: &str) -> LimitScope {
    LimitScope::Issuance {
        debtor: org(debtor),
    }
}

fn exposure(bank: &str, scope: ExposureScope, on: &str) -> LimitScope {
    LimitScope::Exposure {
        bank: org(bank),
        scope,
        on: org(on),
    }
}

/// The use of `scope` in CNY (zero when no counter is stored).
fn used(w: &World, scope: &LimitScope) -> Amount {
    w.raw(&keys::limit_use(scope, "CNY"))
        .map(|v| decode(&v, 1024).unwrap())
        .unwrap_or(Amount::ZERO)
}

fn amount(s: &str) -> Amount {
    Amount::parse(s).unwrap()
}

/// Governance sets CORE-A's (or another core's) issuance limit: proposed by BANK-A,
/// approved by two more validator orgs (3 of 4).
fn set_issuance(w: &mut World, debtor: &str, limit: Option<Money>) {
    let change = GovChange::SetIssuanceLimit {
        debtor: org(debtor),
        limit,
    };
    let ev = w.ok("BANK-A", Action::Propose { change });
    let Event::ProposalOpened { proposal, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    let proposal = proposal.clone();
    w.ok(
        "CORE-B",
        Action::Approve {
            proposal: proposal.clone(),
        },
    );
    let ev = w.ok("LOGI", Action::Approve { proposal });
    assert!(
        ev.iter().any(|e| matches!(e, Event::LimitSet { .. })),
        "{ev:?}"
    );
}

fn set_exposure(w: &mut World, bank: &str, on: &str, scope: ExposureScope, limit: Option<Money>) {
    let ev = w.ok(
        bank,
        Action::SetExposureLimit {
            on: org(on),
            scope,
            limit,
        },
    );
    assert_eq!(
        ev,
        vec![Event::LimitSet {
            scope: exposure(bank, scope, on),
            limit
        }]
    );
}

/// Runs `action` as `who` and returns its refusal, checking that it wrote nothing but the
/// signer's nonce and the chain height (so every limit and use is as it was).
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

/// A delivered order and an invoice on it the buyer registers and confirms at once.
fn confirm_action(w: &mut World, buyer: &str, seller: &str, amount: &str) -> Action {
    let order = w.delivered_order(buyer, seller, amount);
    let spec = w.invoice_spec(&order, buyer, seller, amount, 90);
    Action::RegisterInvoice {
        invoice: spec,
        confirm: true,
    }
}

/// `supplier` asks `bank` to finance `rcv`, the bank offers at 4 % and the supplier
/// accepts: the financing and the net due today.
fn accept_action(w: &mut World, rcv: &DocId, supplier: &str, bank: &str) -> (DocId, Action) {
    let ev = w.ok(
        supplier,
        Action::RequestFinancing {
            receivable: rcv.clone(),
            banks: vec![org(bank)],
        },
    );
    let Event::FinancingRequested { financing, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    let financing = financing.clone();
    let ev = w.ok(
        bank,
        Action::OfferFinancing {
            financing: financing.clone(),
            rate: Rate::parse("4").unwrap(),
            fees: Amount::ZERO,
            valid_until: w.today() + chrono::Days::new(10),
        },
    );
    let Event::OfferMade { offer, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    (
        financing,
        Action::AcceptOffer {
            offer: offer.clone(),
        },
    )
}

/// Accepts (must succeed) and returns the financing and the net to disburse today.
fn accepted(w: &mut World, rcv: &DocId, supplier: &str, bank: &str) -> (DocId, Amount) {
    let (fin, accept) = accept_action(w, rcv, supplier, bank);
    let ev = w.ok(supplier, accept);
    let Event::OfferAccepted { net, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    (fin, net.amount)
}

fn disburse(fin: &DocId, net: Amount) -> Action {
    Action::Disburse {
        financing: fin.clone(),
        payment_ref: format!("CMB-{fin}"),
        net,
    }
}

/// The debtor pays `amount` to the receivable's holder and the holder acknowledges.
fn repay_acknowledged(w: &mut World, rcv: &DocId, amount: &str) {
    let r = w.receivable(rcv);
    let ev = w.ok(
        r.debtor.as_str(),
        Action::Repay {
            receivable: rcv.clone(),
            payee: r.holder.clone(),
            amount: Amount::parse(amount).unwrap(),
            payment_ref: format!("PAY-{rcv}-{amount}"),
        },
    );
    let Event::SettlementInstructed { settlement, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    w.ok(
        r.holder.as_str(),
        Action::AcknowledgeSettlement {
            settlement: settlement.clone(),
        },
    );
}

#[test]
fn an_issuance_limit_refuses_a_cent_over_and_accepts_exactly_the_limit() {
    let mut w = World::new();
    // Use is counted before any limit exists, so a limit set later meets the real use.
    let first = w.trade_to_receivable("CORE-A", "SUP-1", "600.00", 90);
    assert_eq!(used(&w, &issuance("CORE-A")), amount("600.00"));
    set_issuance(&mut w, "CORE-A", Some(cny("1000.00")));
    let l: CreditLimit = decode(&w.raw(&keys::limit(&issuance("CORE-A"))).unwrap(), 1024).unwrap();
    assert_eq!(
        (l.limit, l.used_when_set),
        (cny("1000.00"), amount("600.00"))
    );
    common::check_invariants(&w);

    let over = confirm_action(&mut w, "CORE-A", "SUP-1", "400.01");
    let err = refused(&mut w, "CORE-A", over);
    assert_eq!(
        err,
        ContractError::LimitExceeded {
            scope: Box::new(issuance("CORE-A")),
            limit: "1000.00 CNY".into(),
            used: "600.00 CNY".into(),
            amount: "400.01 CNY".into(),
        }
    );
    assert_eq!(err.code(), "limit_exceeded");
    assert_eq!(
        err.to_string(),
        "issuance limit of CORE-A is 1000.00 CNY with 600.00 CNY in use: 400.01 CNY more would exceed it"
    );
    // Another debtor's receivables do not count against CORE-A's limit.
    w.trade_to_receivable("CORE-B", "SUP-1", "5000.00", 90);
    let exact = confirm_action(&mut w, "CORE-A", "SUP-1", "400.00");
    w.ok("CORE-A", exact);
    assert_eq!(used(&w, &issuance("CORE-A")), amount("1000.00"));
    common::check_invariants(&w);

    // A split moves nothing; an acknowledged settlement frees its amount.
    w.ok(
        "SUP-1",
        Action::SplitReceivable {
            receivable: first.clone(),
            parts: vec![amount("100.00"), amount("500.00")],
        },
    );
    assert_eq!(used(&w, &issuance("CORE-A")), amount("1000.00"));
    let part = w.receivable(&first).children[0].clone();
    repay_acknowledged(&mut w, &part, "100.00");
    assert_eq!(used(&w, &issuance("CORE-A")), amount("900.00"));
    let fits = confirm_action(&mut w, "CORE-A", "SUP-2", "100.00");
    w.ok("CORE-A", fits);
    common::check_invariants(&w);

    // Removed by governance: no cap, the use still counted.
    set_issuance(&mut w, "CORE-A", None);
    let big = confirm_action(&mut w, "CORE-A", "SUP-1", "5000.00");
    w.ok("CORE-A", big);
    assert_eq!(used(&w, &issuance("CORE-A")), amount("6000.00"));
    common::check_invariants(&w);
}

/// Every path that creates a receivable from a confirmation is checked: a later
/// confirmation of a registered invoice, and the seller's acceptance of a later maturity.
#[test]
fn the_issuance_limit_is_checked_on_confirm_and_on_accept_maturity() {
    let mut w = World::new();
    set_issuance(&mut w, "CORE-A", Some(cny("1000.00")));
    let order = w.delivered_order("CORE-A", "SUP-1", "3000.00");
    let spec = w.invoice_spec(&order, "CORE-A", "SUP-1", "1000.01", 60);
    let id = spec.id.clone();
    w.ok(
        "SUP-1",
        Action::RegisterInvoice {
            invoice: spec,
            confirm: false,
        },
    );
    let confirm = Action::ConfirmInvoice {
        invoice: id.clone(),
        maturity: None,
    };
    assert!(matches!(
        refused(&mut w, "CORE-A", confirm),
        ContractError::LimitExceeded { .. }
    ));

    // A maturity past the due date only proposes (nothing counted) until the seller
    // accepts, and the acceptance is what the limit refuses.
    let spec = w.invoice_spec(&order, "CORE-A", "SUP-1", "999.00", 60);
    let late = spec.due_date + chrono::Days::new(30);
    let id2 = spec.id.clone();
    w.ok(
        "SUP-1",
        Action::RegisterInvoice {
            invoice: spec,
            confirm: false,
        },
    );
    w.ok(
        "CORE-A",
        Action::ConfirmInvoice {
            invoice: id2.clone(),
            maturity: Some(late),
        },
    );
    assert_eq!(used(&w, &issuance("CORE-A")), Amount::ZERO);
    let fill = confirm_action(&mut w, "CORE-A", "SUP-2", "1.01");
    w.ok("CORE-A", fill);
    let err = refused(
        &mut w,
        "SUP-1",
        Action::AcceptMaturity {
            invoice: id2.clone(),
        },
    );
    assert_eq!(
        err,
        ContractError::LimitExceeded {
            scope: Box::new(issuance("CORE-A")),
            limit: "1000.00 CNY".into(),
            used: "1.01 CNY".into(),
            amount: "999.00 CNY".into(),
        }
    );
    set_issuance(&mut w, "CORE-A", Some(cny("1000.01")));
    w.ok(
        "SUP-1",
        Action::AcceptMaturity {
            invoice: id2.clone(),
        },
    );
    let inv: Invoice = w.get(DocKind::Invoice, id2.as_str()).unwrap();
    assert!(inv.receivable.is_some());
    assert_eq!(used(&w, &issuance("CORE-A")), amount("1000.01"));
    common::check_invariants(&w);
}

#[test]
fn exposure_limits_refuse_an_acceptance_a_cent_over_and_accept_exactly_the_limit() {
    let mut w = World::new();
    set_exposure(
        &mut w,
        "BANK-A",
        "CORE-A",
        ExposureScope::Debtor,
        Some(cny("10000.00")),
    );
    set_exposure(
        &mut w,
        "BANK-A",
        "SUP-2",
        ExposureScope::Supplier,
        Some(cny("3000.00")),
    );
    let r1 = w.trade_to_receivable("CORE-A", "SUP-1", "6000.00", 90);
    accepted(&mut w, &r1, "SUP-1", "BANK-A");
    let on_core = exposure("BANK-A", ExposureScope::Debtor, "CORE-A");
    assert_eq!(used(&w, &on_core), amount("6000.00"));
    assert_eq!(
        used(&w, &exposure("BANK-A", ExposureScope::Supplier, "SUP-1")),
        amount("6000.00")
    );
    common::check_invariants(&w);

    let r2 = w.trade_to_receivable("CORE-A", "SUP-1", "4000.01", 90);
    let (_, accept) = accept_action(&mut w, &r2, "SUP-1", "BANK-A");
    let err = refused(&mut w, "SUP-1", accept);
    assert_eq!(
        err,
        ContractError::LimitExceeded {
            scope: Box::new(on_core.clone()),
            limit: "10000.00 CNY".into(),
            used: "6000.00 CNY".into(),
            amount: "4000.01 CNY".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "BANK-A's exposure limit on debtor CORE-A is 10000.00 CNY with 6000.00 CNY in use: 4000.01 CNY more would exceed it"
    );
    let r3 = w.trade_to_receivable("CORE-A", "SUP-1", "4000.00", 90);
    accepted(&mut w, &r3, "SUP-1", "BANK-A");
    assert_eq!(used(&w, &on_core), amount("10000.00"));

    // The supplier limit on SUP-2, whatever the debtor.
    let r4 = w.trade_to_receivable("CORE-B", "SUP-2", "3000.01", 90);
    let (_, accept) = accept_action(&mut w, &r4, "SUP-2", "BANK-A");
    assert!(matches!(
        refused(&mut w, "SUP-2", accept),
        ContractError::LimitExceeded { scope, .. }
            if *scope == exposure("BANK-A", ExposureScope::Supplier, "SUP-2")
    ));
    common::check_invariants(&w);
}

#[test]
fn exposure_falls_with_acknowledged_settlements_and_ends_with_the_financing() {
    let mut w = World::new();
    let on_core = exposure("BANK-A", ExposureScope::Debtor, "CORE-A");
    let on_sup = exposure("BANK-A", ExposureScope::Supplier, "SUP-1");
    let r1 = w.trade_to_receivable("CORE-A", "SUP-1", "6000.00", 90);
    let (f1, net) = accepted(&mut w, &r1, "SUP-1", "BANK-A");
    w.ok("BANK-A", disburse(&f1, net));
    assert_eq!(used(&w, &on_core), amount("6000.00"));

    // An instruction alone lowers nothing; the holder's acknowledgement does.
    let ev = w.ok(
        "CORE-A",
        Action::Repay {
            receivable: r1.clone(),
            payee: org("BANK-A"),
            amount: amount("1000.00"),
            payment_ref: "HX-1".into(),
        },
    );
    assert_eq!(used(&w, &on_core), amount("6000.00"));
    let Event::SettlementInstructed { settlement, .. } = &ev[0] else {
        panic!()
    };
    w.ok(
        "BANK-A",
        Action::AcknowledgeSettlement {
            settlement: settlement.clone(),
        },
    );
    assert_eq!(used(&w, &on_core), amount("5000.00"));
    assert_eq!(used(&w, &on_sup), amount("5000.00"));
    assert_eq!(used(&w, &issuance("CORE-A")), amount("5000.00"));
    common::check_invariants(&w);

    // Abandoned before paying: its whole face leaves the bank's use.
    let r2 = w.trade_to_receivable("CORE-A", "SUP-1", "2000.00", 90);
    let (f2, _) = accepted(&mut w, &r2, "SUP-1", "BANK-A");
    assert_eq!(used(&w, &on_core), amount("7000.00"));
    w.ok("BANK-A", Action::AbandonFinancing { financing: f2 });
    assert_eq!(used(&w, &on_core), amount("5000.00"));
    common::check_invariants(&w);

    // Lapsed and cancelled by the applicant: the same.
    let (f3, _) = accepted(&mut w, &r2, "SUP-1", "BANK-A");
    assert_eq!(used(&w, &on_core), amount("7000.00"));
    w.advance_days(6);
    w.ok("SUP-1", Action::CancelFinancing { financing: f3 });
    assert_eq!(used(&w, &on_core), amount("5000.00"));
    common::check_invariants(&w);

    // An accepted financing whose receivable is paid in full is cancelled: nothing left.
    let (_f4, _) = accepted(&mut w, &r2, "SUP-1", "BANK-A");
    repay_acknowledged(&mut w, &r2, "2000.00");
    assert_eq!(used(&w, &on_core), amount("5000.00"));
    common::check_invariants(&w);

    // Settled in full: the financing closes and the counters are gone.
    repay_acknowledged(&mut w, &r1, "5000.00");
    for scope in [&on_core, &on_sup, &issuance("CORE-A")] {
        assert_eq!(used(&w, scope), Amount::ZERO);
        assert_eq!(w.raw(&keys::limit_use(scope, "CNY")), None);
    }
    common::check_invariants(&w);
}

#[test]
fn lowering_a_limit_below_the_use_blocks_the_next_disbursement() {
    let mut w = World::new();
    let on_core = exposure("BANK-A", ExposureScope::Debtor, "CORE-A");
    set_exposure(
        &mut w,
        "BANK-A",
        "CORE-A",
        ExposureScope::Debtor,
        Some(cny("10000.00")),
    );
    let r1 = w.trade_to_receivable("CORE-A", "SUP-1", "6000.00", 90);
    let (f1, net) = accepted(&mut w, &r1, "SUP-1", "BANK-A");
    set_exposure(
        &mut w,
        "BANK-A",
        "CORE-A",
        ExposureScope::Debtor,
        Some(cny("5999.99")),
    );
    // Lowering unwinds nothing: the use stays, above the new limit.
    assert_eq!(used(&w, &on_core), amount("6000.00"));
    common::check_invariants(&w);
    let err = refused(&mut w, "BANK-A", disburse(&f1, net));
    assert_eq!(
        err,
        ContractError::LimitExceeded {
            scope: Box::new(on_core.clone()),
            limit: "5999.99 CNY".into(),
            used: "0.00 CNY".into(),
            amount: "6000.00 CNY".into(),
        }
    );
    // Nothing more can be accepted either.
    let r2 = w.trade_to_receivable("CORE-A", "SUP-2", "0.01", 90);
    let (_, accept) = accept_action(&mut w, &r2, "SUP-2", "BANK-A");
    assert!(matches!(
        refused(&mut w, "SUP-2", accept),
        ContractError::LimitExceeded { .. }
    ));
    // Exactly at the limit disburses.
    set_exposure(
        &mut w,
        "BANK-A",
        "CORE-A",
        ExposureScope::Debtor,
        Some(cny("6000.00")),
    );
    w.ok("BANK-A", disburse(&f1, net));
    common::check_invariants(&w);
}

#[test]
fn an_amount_in_another_currency_than_the_limit_is_refused() {
    let mut w = World::new();
    let usd = Money::parse("1000000.00", "USD").unwrap();
    set_exposure(&mut w, "BANK-A", "CORE-A", ExposureScope::Debtor, Some(usd));
    let r1 = w.trade_to_receivable("CORE-A", "SUP-1", "100.00", 90);
    let (_, accept) = accept_action(&mut w, &r1, "SUP-1", "BANK-A");
    let err = refused(&mut w, "SUP-1", accept);
    assert_eq!(
        err,
        ContractError::LimitCurrencyMismatch {
            scope: Box::new(exposure("BANK-A", ExposureScope::Debtor, "CORE-A")),
            limit_currency: "USD".into(),
            amount: "100.00 CNY".into(),
        }
    );
    assert_eq!(err.code(), "limit_currency_mismatch");

    set_issuance(
        &mut w,
        "CORE-B",
        Some(Money::parse("1000000.00", "EUR").unwrap()),
    );
    let confirm = confirm_action(&mut w, "CORE-B", "SUP-1", "1.00");
    assert!(matches!(
        refused(&mut w, "CORE-B", confirm),
        ContractError::LimitCurrencyMismatch { .. }
    ));
    common::check_invariants(&w);
}

#[test]
fn limits_are_set_only_on_the_right_parties_and_removed_only_when_set() {
    let mut w = World::new();
    // A debtor limit names a core enterprise, a supplier limit a supplier.
    let wrong = Action::SetExposureLimit {
        on: org("SUP-1"),
        scope: ExposureScope::Debtor,
        limit: Some(cny("1.00")),
    };
    assert!(matches!(
        refused(&mut w, "BANK-A", wrong),
        ContractError::InvalidParty { .. }
    ));
    let nothing = Action::SetExposureLimit {
        on: org("SUP-1"),
        scope: ExposureScope::Supplier,
        limit: None,
    };
    assert!(matches!(
        refused(&mut w, "BANK-A", nothing),
        ContractError::InvalidField { .. }
    ));
    let bad = Action::SetExposureLimit {
        on: org("SUP-1"),
        scope: ExposureScope::Supplier,
        limit: Some(cny("1.001")),
    };
    assert!(matches!(
        refused(&mut w, "BANK-A", bad),
        ContractError::Money(_)
    ));
    // Only a bank sets exposure limits (the permission matrix tries every org).
    let by_core = Action::SetExposureLimit {
        on: org("SUP-1"),
        scope: ExposureScope::Supplier,
        limit: Some(cny("1.00")),
    };
    assert_eq!(
        refused(&mut w, "CORE-A", by_core),
        ContractError::MissingRole {
            org: org("CORE-A"),
            role: Role::Bank
        }
    );
    // A zero limit is a limit: nothing new at all.
    set_exposure(
        &mut w,
        "BANK-B",
        "SUP-1",
        ExposureScope::Supplier,
        Some(cny("0")),
    );
    set_exposure(&mut w, "BANK-B", "SUP-1", ExposureScope::Supplier, None);
    assert_eq!(
        w.raw(&keys::limit(&exposure(
            "BANK-B",
            ExposureScope::Supplier,
            "SUP-1"
        ))),
        None
    );
    // Governance refuses an issuance limit on a non-core and removing an absent one.
    for change in [
        GovChange::SetIssuanceLimit {
            debtor: org("SUP-1"),
            limit: Some(cny("1.00")),
        },
        GovChange::SetIssuanceLimit {
            debtor: org("CORE-A"),
            limit: None,
        },
    ] {
        assert!(refused(&mut w, "BANK-A", Action::Propose { change })
            .code()
            .starts_with("invalid_"));
    }
    // The limit belongs to its holder's history.
    let hist = w
        .store
        .scan_prefix(&keys::history_prefix(DocKind::Org, "BANK-B"), usize::MAX);
    assert_eq!(hist.unwrap().len(), 2);
    common::check_invariants(&w);
}
