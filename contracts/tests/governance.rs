//! Governance: changes apply only when validator orgs forming a BFT quorum approved.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

mod common;

use lianrong_contracts::model::{
    GovChange, Org, OrgSpec, Params, Proposal, ProposalStatus, Role, Validator,
};
use lianrong_contracts::testkit::{doc, member_key, org, World};
use lianrong_contracts::{Action, ContractError, DocKind, Event};
use lianrong_primitives::SecretKey;

fn proposal_id(events: &[Event]) -> String {
    match &events[0] {
        Event::ProposalOpened { proposal, .. } => proposal.to_string(),
        e => panic!("{e:?}"),
    }
}

#[test]
fn admitting_an_org_needs_three_of_four_validator_orgs() {
    let mut w = World::new();
    let newco_key = SecretKey::from_seed([42; 32]);
    let spec = OrgSpec {
        id: org("SUP-9"),
        name: "Ningbo Castings".into(),
        tax_id: "913302005UP900010M".into(),
        roles: vec![Role::Supplier],
        identifiers: vec!["0088:5798000000009".into()],
        keys: vec![newco_key.public()],
    };
    let p = proposal_id(&w.ok(
        "BANK-A",
        Action::Propose {
            change: GovChange::AdmitOrg(spec),
        },
    ));
    let approve = Action::Approve { proposal: doc(&p) };
    let ev = w.ok("CORE-A", approve.clone());
    assert!(matches!(
        ev[0],
        Event::ProposalApproved {
            approvals: 2,
            needed: 3,
            ..
        }
    ));
    assert!(
        w.get::<Org>(DocKind::Org, "SUP-9").is_none(),
        "two of four is not a quorum"
    );
    assert_eq!(
        w.exec("CORE-A", approve.clone()).outcome,
        Err(ContractError::AlreadyApproved(org("CORE-A")))
    );
    assert_eq!(
        w.exec("BANK-B", approve.clone()).outcome,
        Err(ContractError::NotValidatorOrg(org("BANK-B")))
    );
    let ev = w.ok("LOGI", approve.clone());
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::OrgAdmitted { org } if org.as_str() == "SUP-9")));
    let p: Proposal = w.get(DocKind::Proposal, &p).unwrap();
    assert_eq!(p.status, ProposalStatus::Executed);
    let admitted: Org = w.get(DocKind::Org, "SUP-9").unwrap();
    assert_eq!(admitted.keys, vec![newco_key.public()]);
    assert!(matches!(
        w.exec("CORE-B", approve).outcome,
        Err(ContractError::WrongStatus { .. })
    ));
    common::check_invariants(&w);
}

#[test]
fn a_revoked_key_never_signs_again() {
    let mut w = World::new();
    let key = member_key("SUP-1").public();
    let p = proposal_id(&w.ok(
        "CORE-A",
        Action::Propose {
            change: GovChange::RevokeMemberKey {
                org: org("SUP-1"),
                key,
            },
        },
    ));
    w.ok("CORE-B", Action::Approve { proposal: doc(&p) });
    w.ok("LOGI", Action::Approve { proposal: doc(&p) });
    let r = w.exec("SUP-1", Action::AcceptOrder { order: doc("PO-X") });
    assert_eq!(r.outcome, Err(ContractError::RevokedKey));
    let o: Org = w.get(DocKind::Org, "SUP-1").unwrap();
    assert!(o.keys.is_empty() && o.revoked_keys == vec![key]);
}

#[test]
fn validator_set_and_parameter_changes_are_recorded_for_consensus() {
    let mut w = World::new();
    let node = SecretKey::from_seed([7; 32]).public();
    let add = GovChange::AddValidator(Validator {
        org: org("BANK-B"),
        node_key: node,
        address: "/ip4/10.0.0.5/tcp/26656".into(),
    });
    let p = proposal_id(&w.ok("BANK-A", Action::Propose { change: add }));
    w.ok("CORE-A", Action::Approve { proposal: doc(&p) });
    let ev = w.ok("CORE-B", Action::Approve { proposal: doc(&p) });
    let Some(Event::ValidatorSetChanged { validators }) = ev
        .iter()
        .find(|e| matches!(e, Event::ValidatorSetChanged { .. }))
    else {
        panic!("no validator set change in {ev:?}")
    };
    assert_eq!(validators.len(), 5);
    // Five validator orgs now: f = 1, quorum = 4 -- BANK-B's approval is needed too.
    let params = Params {
        max_tenor_days: 180,
        flag_tenor_days: 90,
        ..Params::default()
    };
    let p = proposal_id(&w.ok(
        "BANK-B",
        Action::Propose {
            change: GovChange::SetParams(params.clone()),
        },
    ));
    w.ok("BANK-A", Action::Approve { proposal: doc(&p) });
    let ev = w.ok("CORE-A", Action::Approve { proposal: doc(&p) });
    assert!(matches!(
        ev[0],
        Event::ProposalApproved {
            approvals: 3,
            needed: 4,
            ..
        }
    ));
    w.ok("LOGI", Action::Approve { proposal: doc(&p) });
    // The new tenor cap is in force.
    let order = w.delivered_order("CORE-A", "SUP-1", "1000.00");
    let spec = w.invoice_spec(&order, "CORE-A", "SUP-1", "1000.00", 200);
    assert_eq!(
        w.exec(
            "CORE-A",
            Action::RegisterInvoice {
                invoice: spec,
                confirm: true
            }
        )
        .outcome,
        Err(ContractError::TenorTooLong {
            days: 200,
            cap: 180
        })
    );
}

#[test]
fn invalid_or_expired_proposals_are_refused() {
    let mut w = World::new();
    // The finding: governance could raise the tenor cap to 3,650 days. 365 is a ceiling
    // no vote can lift.
    for too_long in [366, 3650] {
        let lifted = Params {
            max_tenor_days: too_long,
            ..Params::default()
        };
        assert!(matches!(
            w.exec(
                "BANK-A",
                Action::Propose {
                    change: GovChange::SetParams(lifted)
                }
            )
            .outcome,
            Err(ContractError::InvalidChange(m)) if m.contains("365")
        ));
    }
    let bad = Params {
        max_tenor_days: 0,
        ..Params::default()
    };
    assert!(matches!(
        w.exec(
            "BANK-A",
            Action::Propose {
                change: GovChange::SetParams(bad)
            }
        )
        .outcome,
        Err(ContractError::InvalidChange(_))
    ));
    let dup_key = GovChange::AddMemberKey {
        org: org("SUP-2"),
        key: member_key("SUP-1").public(),
    };
    assert!(matches!(
        w.exec("BANK-A", Action::Propose { change: dup_key })
            .outcome,
        Err(ContractError::InvalidChange(_))
    ));
    // A small-order point as a member or node key: under ZIP-215 anyone could sign
    // for it (s = 0, R = identity verifies on any message).
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = lianrong_primitives::PublicKey(identity);
    for change in [
        GovChange::AddMemberKey {
            org: org("SUP-2"),
            key: weak,
        },
        GovChange::AddValidator(Validator {
            org: org("CORE-B"),
            node_key: weak,
            address: "/ip4/10.0.0.9/tcp/7000".into(),
        }),
    ] {
        match w.exec("BANK-A", Action::Propose { change }).outcome {
            Err(ContractError::InvalidChange(why)) => assert!(why.contains("small-order"), "{why}"),
            other => panic!("a small-order key was accepted: {other:?}"),
        }
    }
    let p = proposal_id(&w.ok(
        "BANK-A",
        Action::Propose {
            change: GovChange::SetParams(Params::default()),
        },
    ));
    w.advance_days(8);
    assert_eq!(
        w.exec("CORE-A", Action::Approve { proposal: doc(&p) })
            .outcome,
        Err(ContractError::ProposalExpired(p.clone()))
    );
}

fn applicant(id: &str, tax_id: &str, seed: u8) -> OrgSpec {
    OrgSpec {
        id: org(id),
        name: format!("{id} Ltd"),
        tax_id: tax_id.into(),
        roles: vec![Role::Supplier],
        identifiers: vec![],
        keys: vec![SecretKey::from_seed([seed; 32]).public()],
    }
}

fn propose_admission(w: &mut World, spec: OrgSpec) -> Result<Vec<Event>, ContractError> {
    w.exec(
        "BANK-A",
        Action::Propose {
            change: GovChange::AdmitOrg(spec),
        },
    )
    .outcome
}

/// Issue 12 item 3: an org is admitted only with a tax id the ledger can check, stored in
/// canonical form.
#[test]
fn an_org_is_admitted_only_with_a_checkable_tax_id_stored_canonically() {
    let mut w = World::new();
    for bad in ["TAX-NEWCO", "91350100M000100Y44", "NO999999999"] {
        let r = propose_admission(&mut w, applicant("SUP-9", bad, 40));
        assert!(
            matches!(&r, Err(ContractError::InvalidTaxId(m)) if m.contains("GB 32100") || m.contains("check character") || m.contains("MVA")),
            "{bad}: {r:?}"
        );
    }
    // A published code typed with spaces, a dash and lower case.
    let p = proposal_id(
        &propose_admission(&mut w, applicant("SUP-9", "9135 0100-m000 100y43", 40)).unwrap(),
    );
    w.ok("CORE-A", Action::Approve { proposal: doc(&p) });
    w.ok("LOGI", Action::Approve { proposal: doc(&p) });
    let admitted: Org = w.get(DocKind::Org, "SUP-9").unwrap();
    assert_eq!(admitted.tax_id, "91350100M000100Y43");
}

/// Issue 12 item 3: a tax id another org has -- however it is typed -- is refused naming
/// that org, when proposed and again when the quorum is reached.
#[test]
fn a_tax_id_another_org_has_is_refused_naming_that_org() {
    let mut w = World::new();
    let sup1 = World::tax_id("SUP-1");
    let retyped = format!("{} {}", &sup1[..8], sup1[8..].to_lowercase());
    let r = propose_admission(&mut w, applicant("SUP-9", &retyped, 41));
    assert_eq!(
        r,
        Err(ContractError::TaxIdTaken {
            tax_id: sup1.clone(),
            org: org("SUP-1"),
        })
    );
    // Two proposals for one company: the second is refused once the first applies.
    let code = "91350100M000100Y43";
    let first = proposal_id(&propose_admission(&mut w, applicant("SUP-8", code, 42)).unwrap());
    let second = proposal_id(&propose_admission(&mut w, applicant("SUP-9", code, 43)).unwrap());
    for approver in ["CORE-A", "LOGI"] {
        w.ok(
            approver,
            Action::Approve {
                proposal: doc(&first),
            },
        );
    }
    w.ok(
        "CORE-A",
        Action::Approve {
            proposal: doc(&second),
        },
    );
    let r = w.exec(
        "LOGI",
        Action::Approve {
            proposal: doc(&second),
        },
    );
    assert_eq!(
        r.outcome,
        Err(ContractError::TaxIdTaken {
            tax_id: code.into(),
            org: org("SUP-8"),
        })
    );
    assert!(w.get::<Org>(DocKind::Org, "SUP-9").is_none());
}

/// Issue 12 item 3: the genesis refuses an org without a checkable tax id, and two orgs
/// sharing one, naming both.
#[test]
fn genesis_refuses_unrecognised_and_shared_tax_ids() {
    use lianrong_contracts::testkit::genesis;
    let mut g = genesis(Params::default());
    assert!(
        g.validate().is_ok(),
        "the standard cast has valid, distinct tax ids"
    );
    g.orgs[1].tax_id = "TAX-BANK-B".into();
    let err = g.validate().unwrap_err().to_string();
    assert!(err.contains("BANK-B") && err.contains("GB 32100"), "{err}");
    g.orgs[1].tax_id = g.orgs[0].tax_id.to_lowercase();
    let err = g.validate().unwrap_err().to_string();
    assert!(
        err.contains(&format!("org {} has tax id", g.orgs[1].id))
            && err.contains(&format!("org {} already has", g.orgs[0].id)),
        "{err}"
    );
}
