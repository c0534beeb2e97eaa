//! Dual control (issue 15): an org's policy holds large actions for a second member key,
//! key scopes limit what a key may sign, and every approval counts only while its key
//! is active and in scope. Each refusal is checked to change nothing but the nonce.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

mod common;

use lianrong_contracts::model::{
    ApprovalPolicy, ApprovalRule, ApprovalStatus, DocId, GovChange, Invoice, InvoiceStatus,
    PendingApproval,
};
use lianrong_contracts::state::keys;
use lianrong_contracts::testkit::{cny, member_key, org, World};
use lianrong_contracts::{Action, ContractError, DocKind, Event};
use lianrong_primitives::SecretKey;

/// Runs `action` as `who` signed by `key`, expects a refusal, and checks that only the
/// signer's nonce and the chain metadata were written.
fn refused_with(w: &mut World, who: &str, key: &SecretKey, action: Action) -> ContractError {
    let tx = w.sign_with(who, key, action);
    let out = w.block(&[tx]);
    let e = match &out.receipts[0].outcome {
        Err(e) => e.clone(),
        Ok(ev) => panic!("expected a refusal, got {ev:?}"),
    };
    let nonce = keys::nonce(&key.public());
    for k in out.changes.values.keys() {
        assert!(
            k == &nonce || k.as_slice() == keys::META,
            "refused {e:?} wrote {}",
            String::from_utf8_lossy(k)
        );
    }
    e
}

fn ok_with(w: &mut World, who: &str, key: &SecretKey, action: Action) -> Vec<Event> {
    let name = action.name();
    match w.exec_with(who, key, action).outcome {
        Ok(events) => events,
        Err(e) => panic!("{who} {name} refused: {e}"),
    }
}

fn rule(action: &str, above: Option<&str>, approvals: u8) -> ApprovalRule {
    ApprovalRule {
        action: action.into(),
        above: above.map(cny),
        approvals,
    }
}

/// CORE-A with a second and third finance key and the rule "confirm above 1,000,000 needs
/// 2 keys"; returns (second, third).
fn core_with_policy(w: &mut World) -> (SecretKey, SecretKey) {
    let second = w.add_member_key("CORE-A", 1);
    let third = w.add_member_key("CORE-A", 2);
    w.ok(
        "CORE-A",
        Action::SetApprovalPolicy {
            policy: Some(ApprovalPolicy {
                rules: vec![rule("confirm_invoice", Some("1000000"), 2)],
                ttl_days: 3,
            }),
        },
    );
    (second, third)
}

/// An invoice of `amount` registered by SUP-1 on a delivered order, waiting for CORE-A.
fn registered_invoice(w: &mut World, amount: &str) -> DocId {
    let order = w.delivered_order("CORE-A", "SUP-1", amount);
    let spec = w.invoice_spec(&order, "CORE-A", "SUP-1", amount, 60);
    let id = spec.id.clone();
    w.ok(
        "SUP-1",
        Action::RegisterInvoice {
            invoice: spec,
            confirm: false,
        },
    );
    id
}

fn confirm(invoice: &DocId) -> Action {
    Action::ConfirmInvoice {
        invoice: invoice.clone(),
        maturity: None,
    }
}

fn approval_id(events: &[Event]) -> DocId {
    events
        .iter()
        .find_map(|e| match e {
            Event::ApprovalRequested { approval, .. } => Some(approval.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no approval requested in {events:?}"))
}

fn invoice_status(w: &World, id: &DocId) -> InvoiceStatus {
    w.get::<Invoice>(DocKind::Invoice, id.as_str())
        .unwrap()
        .status
}

#[test]
fn a_one_key_confirm_over_the_threshold_stays_pending_until_a_second_key_approves() {
    let mut w = World::new();
    let (second, _) = core_with_policy(&mut w);

    // At the threshold: one key is enough.
    let small = registered_invoice(&mut w, "1000000");
    w.ok("CORE-A", confirm(&small));
    assert_eq!(invoice_status(&w, &small), InvoiceStatus::Confirmed);

    // 0.01 over: held, nothing confirmed yet.
    let large = registered_invoice(&mut w, "1000000.01");
    let events = w.ok("CORE-A", confirm(&large));
    let apr = approval_id(&events);
    assert_eq!(invoice_status(&w, &large), InvoiceStatus::Registered);
    let held: PendingApproval = w.get(DocKind::Approval, apr.as_str()).unwrap();
    assert_eq!(held.status, ApprovalStatus::Pending);
    assert_eq!(held.required, 2);
    assert_eq!(held.approvals, vec![member_key("CORE-A").public()]);

    // The maker cannot approve its own action.
    let maker = member_key("CORE-A");
    let e = refused_with(
        &mut w,
        "CORE-A",
        &maker,
        Action::ApproveAction {
            approval: apr.clone(),
        },
    );
    assert_eq!(e.code(), "key_already_approved");
    // Another org cannot approve it.
    let e = refused_with(
        &mut w,
        "CORE-B",
        &member_key("CORE-B"),
        Action::ApproveAction {
            approval: apr.clone(),
        },
    );
    assert!(e.is_permission(), "{e}");

    // The checker's approval executes the confirmation in its own transaction.
    let events = ok_with(
        &mut w,
        "CORE-A",
        &second,
        Action::ApproveAction {
            approval: apr.clone(),
        },
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::ApprovalExecuted { .. })));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::InvoiceConfirmed { .. })));
    assert_eq!(invoice_status(&w, &large), InvoiceStatus::Confirmed);
    let done: PendingApproval = w.get(DocKind::Approval, apr.as_str()).unwrap();
    assert_eq!(done.status, ApprovalStatus::Executed);
    common::check_invariants(&w);
}

#[test]
fn a_held_action_that_would_be_refused_is_refused_at_once() {
    let mut w = World::new();
    core_with_policy(&mut w);
    let large = registered_invoice(&mut w, "2000000");
    // A maturity past the 365-day ceiling: the maker learns now, not after a checker
    // signed, and nothing is held.
    let too_far = w.today() + chrono::Duration::days(400);
    let e = refused_with(
        &mut w,
        "CORE-A",
        &member_key("CORE-A"),
        Action::ConfirmInvoice {
            invoice: large.clone(),
            maturity: Some(too_far),
        },
    );
    assert_eq!(e.code(), "tenor_too_long");
    assert!(w
        .get::<PendingApproval>(DocKind::Approval, "APR-1")
        .is_none());
    // A document that does not exist is refused as such.
    let e = refused_with(
        &mut w,
        "CORE-A",
        &member_key("CORE-A"),
        confirm(&DocId::new("INV-NOPE").unwrap()),
    );
    assert_eq!(e.code(), "not_found");
}

#[test]
fn a_revoked_approvers_approval_no_longer_counts() {
    let mut w = World::new();
    let (second, third) = core_with_policy(&mut w);
    // Three keys must sign confirmations above 1,000,000 from now on.
    w.ok(
        "CORE-A",
        Action::SetApprovalPolicy {
            policy: Some(ApprovalPolicy {
                rules: vec![rule("confirm_invoice", Some("1000000"), 3)],
                ttl_days: 3,
            }),
        },
    );
    let large = registered_invoice(&mut w, "5000000");
    let apr = approval_id(&w.ok("CORE-A", confirm(&large)));
    ok_with(
        &mut w,
        "CORE-A",
        &second,
        Action::ApproveAction {
            approval: apr.clone(),
        },
    );
    // The second key is revoked: its approval stops counting.
    let revoke = GovChange::RevokeMemberKey {
        org: org("CORE-A"),
        key: second.public(),
    };
    govern(&mut w, revoke);
    let events = ok_with(
        &mut w,
        "CORE-A",
        &third,
        Action::ApproveAction {
            approval: apr.clone(),
        },
    );
    let counted = events.iter().find_map(|e| match e {
        Event::ActionApproved { approvals, .. } => Some(*approvals),
        _ => None,
    });
    assert_eq!(
        counted,
        Some(2),
        "the maker and the third key count, not the revoked one"
    );
    assert_eq!(invoice_status(&w, &large), InvoiceStatus::Registered);
    let held: PendingApproval = w.get(DocKind::Approval, apr.as_str()).unwrap();
    assert_eq!(held.status, ApprovalStatus::Pending);
}

/// Applies a governance change with every validator org's approval.
fn govern(w: &mut World, change: GovChange) {
    let events = w.ok("BANK-A", Action::Propose { change });
    let proposal = events
        .iter()
        .find_map(|e| match e {
            Event::ProposalOpened { proposal, .. } => Some(proposal.clone()),
            _ => None,
        })
        .unwrap();
    for v in ["CORE-A", "CORE-B", "LOGI"] {
        let receipt = w.exec(
            v,
            Action::Approve {
                proposal: proposal.clone(),
            },
        );
        if receipt.outcome.is_err() {
            break; // already applied
        }
    }
}

#[test]
fn an_out_of_scope_key_is_refused() {
    let mut w = World::new();
    let (second, _) = core_with_policy(&mut w);
    // The second key may only confirm invoices.
    w.ok(
        "CORE-A",
        Action::SetKeyScopes {
            key: second.public(),
            scopes: Some(vec!["confirm_invoice".into()]),
        },
    );
    let order = w.fresh_id("PO");
    let issue = Action::IssueOrder {
        id: order,
        seller: org("SUP-1"),
        amount: cny("100"),
        terms: "net 60".into(),
        doc_hash: lianrong_primitives::sha256(b"po"),
        carriers: vec![],
    };
    let e = refused_with(&mut w, "CORE-A", &second, issue);
    assert_eq!(e.code(), "out_of_scope");

    // In scope, it confirms and approves confirmations.
    let small = registered_invoice(&mut w, "10");
    ok_with(&mut w, "CORE-A", &second, confirm(&small));
    // Out of scope for a held repayment, its approval is refused.
    w.ok(
        "CORE-A",
        Action::SetApprovalPolicy {
            policy: Some(ApprovalPolicy {
                rules: vec![rule("void_invoice", None, 2), rule("repay", None, 2)],
                ttl_days: 3,
            }),
        },
    );
    let rcv = w.trade_to_receivable("CORE-A", "SUP-2", "500", 30);
    let apr = approval_id(&w.ok(
        "CORE-A",
        Action::Repay {
            receivable: rcv,
            payee: org("SUP-2"),
            amount: lianrong_contracts::money::Amount::parse("500").unwrap(),
            payment_ref: "WIRE-1".into(),
        },
    ));
    let e = refused_with(
        &mut w,
        "CORE-A",
        &second,
        Action::ApproveAction { approval: apr },
    );
    assert_eq!(e.code(), "out_of_scope");
}

#[test]
fn a_lapsed_held_action_cannot_execute_and_a_rejected_one_is_closed() {
    let mut w = World::new();
    let (second, third) = core_with_policy(&mut w);
    let large = registered_invoice(&mut w, "3000000");
    let apr = approval_id(&w.ok("CORE-A", confirm(&large)));
    // ttl 3 days: on the fourth day it has lapsed.
    w.advance_days(4);
    let e = refused_with(
        &mut w,
        "CORE-A",
        &second,
        Action::ApproveAction { approval: apr },
    );
    assert_eq!(e.code(), "approval_lapsed");
    assert_eq!(invoice_status(&w, &large), InvoiceStatus::Registered);

    let again = approval_id(&w.ok("CORE-A", confirm(&large)));
    ok_with(
        &mut w,
        "CORE-A",
        &third,
        Action::RejectAction {
            approval: again.clone(),
            reason: "amount differs from the ERP".into(),
        },
    );
    let e = refused_with(
        &mut w,
        "CORE-A",
        &second,
        Action::ApproveAction { approval: again },
    );
    assert_eq!(e.code(), "wrong_status");
    assert_eq!(invoice_status(&w, &large), InvoiceStatus::Registered);
}

#[test]
fn the_policy_is_changed_under_the_policy_itself_and_never_beyond_the_keys() {
    let mut w = World::new();
    let second = w.add_member_key("CORE-A", 1);
    // With two keys, a rule needing three could never be met.
    let e = refused_with(
        &mut w,
        "CORE-A",
        &member_key("CORE-A"),
        Action::SetApprovalPolicy {
            policy: Some(ApprovalPolicy {
                rules: vec![rule("*", None, 3)],
                ttl_days: 3,
            }),
        },
    );
    assert_eq!(e.code(), "invalid_field");
    // Every action needs two keys, the policy change included.
    w.ok(
        "CORE-A",
        Action::SetApprovalPolicy {
            policy: Some(ApprovalPolicy {
                rules: vec![rule("*", None, 2)],
                ttl_days: 3,
            }),
        },
    );
    let apr = approval_id(&w.ok("CORE-A", Action::SetApprovalPolicy { policy: None }));
    assert!(w.raw(&keys::approval_policy(&org("CORE-A"))).is_some());
    ok_with(
        &mut w,
        "CORE-A",
        &second,
        Action::ApproveAction { approval: apr },
    );
    assert!(w.raw(&keys::approval_policy(&org("CORE-A"))).is_none());
    // Policies of other orgs are untouched: SUP-1 signs alone.
    registered_invoice(&mut w, "10");
}

#[test]
fn held_actions_replay_to_the_same_roots() {
    let mut w = World::new();
    let (second, _) = core_with_policy(&mut w);
    let large = registered_invoice(&mut w, "1500000");
    let apr = approval_id(&w.ok("CORE-A", confirm(&large)));
    ok_with(
        &mut w,
        "CORE-A",
        &second,
        Action::ApproveAction { approval: apr },
    );
    let roots: Vec<_> = w.log.iter().map(|(_, _, r)| *r).collect();
    assert_eq!(w.replay(), roots);
}
