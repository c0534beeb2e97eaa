//! Governance: admitting orgs, member keys, parameters and validators, each applied only
//! once validator orgs forming a BFT quorum (2f+1 of 3f+1) approved it.

use std::collections::BTreeSet;

use chrono::Duration;
use lianrong_primitives::{OrgId, PublicKey};

use super::tax_id::canonical_tax_id;
use super::{check_text, load_doc, next_id, Ctx};
use crate::error::{ContractError, DocKind, ExecError};
use crate::events::Event;
use crate::model::{
    DocId, GovChange, KeyRecord, Org, OrgSpec, Params, Proposal, ProposalStatus, Role, Validator,
    MAX_IDENTIFIERS, MAX_KEYS_PER_ORG,
};
use crate::state::{keys, StateView};
use crate::StoreError;

/// The longest tenor any parameter change may allow, in days.
pub const MAX_TENOR_CEILING_DAYS: u32 = 365;

/// Most validators the ledger records.
pub const MAX_VALIDATORS: usize = 64;

/// The validator set recorded at genesis and kept by governance: never absent.
fn validators(st: &StateView<'_>) -> Result<Vec<Validator>, ExecError> {
    st.load(keys::VALIDATORS)?
        .ok_or_else(|| StoreError::Invariant("no validator set in state".into()).into())
}

/// The validator orgs (distinct, sorted) of the current set.
pub fn validator_orgs(st: &StateView<'_>) -> Result<BTreeSet<OrgId>, ExecError> {
    let set: Vec<Validator> = validators(st)?;
    Ok(set.into_iter().map(|v| v.org).collect())
}

/// Approvals needed among `n` validator orgs: n - f with f = (n-1)/3, i.e. 2f+1 when
/// n = 3f+1, so any two quorums share an honest org.
pub fn quorum(n: usize) -> usize {
    let f = n.saturating_sub(1) / 3;
    n - f
}

fn require_validator_org(ctx: &Ctx, st: &StateView<'_>) -> Result<BTreeSet<OrgId>, ExecError> {
    let orgs = validator_orgs(st)?;
    if !orgs.contains(ctx.org_id()) {
        return Err(ContractError::NotValidatorOrg(ctx.org_id().clone()).into());
    }
    Ok(orgs)
}

/// Opens a proposal; the proposer's approval counts, so a one-org network applies it now.
pub fn propose(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    change: &GovChange,
) -> Result<Vec<Event>, ExecError> {
    let orgs = require_validator_org(ctx, st)?;
    validate_change(ctx, st, change)?;
    let id = next_id(st, "proposal", "GOV")?;
    let mut p = Proposal {
        id: id.clone(),
        proposer: ctx.org_id().clone(),
        change: change.clone(),
        approvals: vec![ctx.org_id().clone()],
        status: ProposalStatus::Open,
        opened_on: ctx.today,
    };
    let mut events = vec![Event::ProposalOpened {
        proposal: id,
        proposer: ctx.org_id().clone(),
    }];
    events.extend(maybe_execute(ctx, st, &mut p, orgs.len())?);
    st.store(keys::doc(DocKind::Proposal, p.id.as_str()), &p);
    Ok(events)
}

/// Adds the signer org's approval and applies the change once the quorum is reached.
pub fn approve(ctx: &Ctx, st: &mut StateView<'_>, id: &DocId) -> Result<Vec<Event>, ExecError> {
    let orgs = require_validator_org(ctx, st)?;
    let mut p: Proposal = load_doc(st, DocKind::Proposal, id.as_str())?;
    if p.status != ProposalStatus::Open {
        return Err(wrong_status(&p, "open"));
    }
    let expires = p.opened_on + Duration::days(i64::from(ctx.params.proposal_ttl_days));
    if ctx.today > expires {
        return Err(ContractError::ProposalExpired(id.to_string()).into());
    }
    if p.approvals.contains(ctx.org_id()) {
        return Err(ContractError::AlreadyApproved(ctx.org_id().clone()).into());
    }
    p.approvals.push(ctx.org_id().clone());
    let valid = count_valid(&p, &orgs);
    let mut events = vec![Event::ProposalApproved {
        proposal: id.clone(),
        org: ctx.org_id().clone(),
        approvals: valid as u32,
        needed: quorum(orgs.len()) as u32,
    }];
    events.extend(maybe_execute(ctx, st, &mut p, orgs.len())?);
    st.store(keys::doc(DocKind::Proposal, id.as_str()), &p);
    Ok(events)
}

fn wrong_status(p: &Proposal, expected: &str) -> ExecError {
    ContractError::WrongStatus {
        kind: DocKind::Proposal,
        id: p.id.to_string(),
        status: format!("{:?}", p.status).to_lowercase(),
        expected: expected.into(),
    }
    .into()
}

/// Approvals from orgs that are validator orgs now (a removed validator's earlier
/// approval no longer counts).
fn count_valid(p: &Proposal, orgs: &BTreeSet<OrgId>) -> usize {
    p.approvals.iter().filter(|o| orgs.contains(*o)).count()
}

fn maybe_execute(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    p: &mut Proposal,
    n: usize,
) -> Result<Vec<Event>, ExecError> {
    let orgs = validator_orgs(st)?;
    if count_valid(p, &orgs) < quorum(n) {
        return Ok(vec![]);
    }
    // The state may have moved since the proposal was opened: check again.
    validate_change(ctx, st, &p.change)?;
    let mut events = apply_change(ctx, st, &p.change)?;
    p.status = ProposalStatus::Executed;
    events.push(Event::ProposalExecuted {
        proposal: p.id.clone(),
    });
    Ok(events)
}

fn invalid(msg: impl Into<String>) -> ExecError {
    ContractError::InvalidChange(msg.into()).into()
}

/// A key entering the ledger must be one only its holder can sign for.
fn registrable(what: &str, key: &PublicKey) -> Result<(), ExecError> {
    key.check_registrable()
        .map_err(|e| invalid(format!("{what} {key}: {e}")))
}

fn validate_spec(st: &StateView<'_>, spec: &OrgSpec) -> Result<(), ExecError> {
    if st.exists(&keys::doc(DocKind::Org, spec.id.as_str()))? {
        return Err(ContractError::AlreadyExists {
            kind: DocKind::Org,
            id: spec.id.to_string(),
        }
        .into());
    }
    check_text("name", &spec.name, 1, 128)?;
    check_text("tax_id", &spec.tax_id, 1, 64)?;
    free_tax_id(st, &spec.tax_id)?;
    let roles: BTreeSet<Role> = spec.roles.iter().copied().collect();
    if roles.is_empty() || roles.len() != spec.roles.len() {
        return Err(invalid("roles must be non-empty and without duplicates"));
    }
    if spec.identifiers.len() > MAX_IDENTIFIERS {
        return Err(invalid(format!("at most {MAX_IDENTIFIERS} identifiers")));
    }
    for i in &spec.identifiers {
        check_text("identifier", i, 1, 64)?;
    }
    if spec.keys.is_empty() || spec.keys.len() > MAX_KEYS_PER_ORG {
        return Err(invalid(format!(
            "an org needs 1 to {MAX_KEYS_PER_ORG} member keys"
        )));
    }
    let unique: BTreeSet<&PublicKey> = spec.keys.iter().collect();
    if unique.len() != spec.keys.len() {
        return Err(invalid("duplicate member key"));
    }
    for k in &spec.keys {
        registrable("member key", k)?;
        if st.exists(&keys::member_key(k))? {
            return Err(invalid(format!("member key {k} is already registered")));
        }
    }
    Ok(())
}

/// The canonical form of an org's tax id, refused if it is in no recognised form or
/// another org already holds it (a re-typed tax id is the same id, so one company cannot
/// be admitted twice under two spellings).
fn free_tax_id(st: &StateView<'_>, tax_id: &str) -> Result<String, ExecError> {
    let canonical = canonical_tax_id(tax_id).map_err(ContractError::InvalidTaxId)?;
    if let Some(org) = st.load::<OrgId>(&keys::tax_id(&canonical))? {
        return Err(ContractError::TaxIdTaken {
            tax_id: canonical,
            org,
        }
        .into());
    }
    Ok(canonical)
}

/// Validates network parameters.
pub fn validate_params(p: &Params) -> Result<(), ContractError> {
    let bad = |m: &str| Err(ContractError::InvalidChange(m.into()));
    // A hard ceiling no governance vote can lift: receivables financed on this ledger
    // are short-term trade debt (银发〔2025〕77号 sets one year for e-receivables).
    if !(1..=MAX_TENOR_CEILING_DAYS).contains(&p.max_tenor_days) {
        return bad("max_tenor_days must be 1..=365 (the ceiling no governance can lift)");
    }
    if p.flag_tenor_days > p.max_tenor_days {
        return bad("flag_tenor_days must not exceed max_tenor_days");
    }
    if p.grace_days > 365 {
        return bad("grace_days must be at most 365");
    }
    if p.amount_cap.is_zero() {
        return bad("amount_cap must be positive");
    }
    if !(-720..=840).contains(&p.utc_offset_minutes) {
        return bad("utc_offset_minutes must be -720..=840");
    }
    if !(1..=90).contains(&p.proposal_ttl_days) {
        return bad("proposal_ttl_days must be 1..=90");
    }
    if !(1..=90).contains(&p.disburse_within_days) {
        return bad("disburse_within_days must be 1..=90");
    }
    if !(1..=90).contains(&p.max_offer_valid_days) {
        return bad("max_offer_valid_days must be 1..=90");
    }
    Ok(())
}

fn validate_change(ctx: &Ctx, st: &StateView<'_>, change: &GovChange) -> Result<(), ExecError> {
    match change {
        GovChange::AdmitOrg(spec) => validate_spec(st, spec),
        GovChange::AddMemberKey { org, key } => {
            let o: Org = load_doc(st, DocKind::Org, org.as_str())?;
            registrable("member key", key)?;
            if st.exists(&keys::member_key(key))? {
                return Err(invalid(format!("member key {key} is already registered")));
            }
            if o.keys.len() >= MAX_KEYS_PER_ORG {
                return Err(ContractError::LimitReached(format!(
                    "{org} has {MAX_KEYS_PER_ORG} keys"
                ))
                .into());
            }
            Ok(())
        }
        GovChange::RevokeMemberKey { org, key } => {
            let o: Org = load_doc(st, DocKind::Org, org.as_str())?;
            if !o.keys.contains(key) {
                return Err(invalid(format!("{key} is not an active key of {org}")));
            }
            Ok(())
        }
        GovChange::SetParams(p) => Ok(validate_params(p)?),
        GovChange::AddValidator(v) => {
            let o: Org = load_doc(st, DocKind::Org, v.org.as_str())?;
            if !(o.has(Role::Bank) || o.has(Role::Core) || o.has(Role::Logistics)) {
                return Err(invalid(
                    "validators are run by banks, core enterprises or logistics firms",
                ));
            }
            check_text("address", &v.address, 1, 256)?;
            registrable("node key", &v.node_key)?;
            let set: Vec<Validator> = validators(st)?;
            if set.iter().any(|x| x.node_key == v.node_key) {
                return Err(invalid("node key is already a validator"));
            }
            if set.len() >= MAX_VALIDATORS {
                return Err(
                    ContractError::LimitReached(format!("{MAX_VALIDATORS} validators")).into(),
                );
            }
            Ok(())
        }
        GovChange::RemoveValidator { node_key } => {
            let set: Vec<Validator> = validators(st)?;
            if !set.iter().any(|x| &x.node_key == node_key) {
                return Err(invalid("no validator with this node key"));
            }
            if set.len() <= 1 {
                return Err(invalid("the last validator cannot be removed"));
            }
            Ok(())
        }
        GovChange::SetIssuanceLimit { debtor, limit } => {
            super::limits::validate_issuance_limit(ctx, st, debtor, limit)
        }
    }
}

/// Writes an admitted org, its keys and its tax id's index entry (also used by genesis);
/// the org is stored with its tax id in canonical form.
pub fn admit(st: &mut StateView<'_>, spec: &OrgSpec, height: u64) -> Result<(), ContractError> {
    let tax_id = canonical_tax_id(&spec.tax_id).map_err(ContractError::InvalidTaxId)?;
    let mut roles = spec.roles.clone();
    roles.sort();
    roles.dedup();
    let org = Org {
        id: spec.id.clone(),
        name: spec.name.clone(),
        tax_id: tax_id.clone(),
        roles,
        identifiers: spec.identifiers.clone(),
        keys: spec.keys.clone(),
        revoked_keys: vec![],
        admitted_at: height,
    };
    for k in &spec.keys {
        st.store(
            keys::member_key(k),
            &KeyRecord {
                org: spec.id.clone(),
                active: true,
            },
        );
    }
    st.store(keys::tax_id(&tax_id), &spec.id);
    st.store(keys::doc(DocKind::Org, spec.id.as_str()), &org);
    Ok(())
}

fn apply_change(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    change: &GovChange,
) -> Result<Vec<Event>, ExecError> {
    Ok(match change {
        GovChange::AdmitOrg(spec) => {
            admit(st, spec, ctx.height)?;
            vec![Event::OrgAdmitted {
                org: spec.id.clone(),
            }]
        }
        GovChange::AddMemberKey { org, key } => {
            let mut o: Org = load_doc(st, DocKind::Org, org.as_str())?;
            o.keys.push(*key);
            st.store(
                keys::member_key(key),
                &KeyRecord {
                    org: org.clone(),
                    active: true,
                },
            );
            st.store(keys::doc(DocKind::Org, org.as_str()), &o);
            vec![Event::MemberKeyAdded {
                org: org.clone(),
                key: *key,
            }]
        }
        GovChange::RevokeMemberKey { org, key } => {
            let mut o: Org = load_doc(st, DocKind::Org, org.as_str())?;
            o.keys.retain(|k| k != key);
            o.revoked_keys.push(*key);
            st.store(
                keys::member_key(key),
                &KeyRecord {
                    org: org.clone(),
                    active: false,
                },
            );
            st.store(keys::doc(DocKind::Org, org.as_str()), &o);
            vec![Event::MemberKeyRevoked {
                org: org.clone(),
                key: *key,
            }]
        }
        GovChange::SetParams(p) => {
            st.store(keys::PARAMS.to_vec(), p);
            vec![Event::ParamsChanged]
        }
        GovChange::AddValidator(v) => {
            let mut set: Vec<Validator> = validators(st)?;
            set.push(v.clone());
            st.store(keys::VALIDATORS.to_vec(), &set);
            vec![Event::ValidatorSetChanged { validators: set }]
        }
        GovChange::RemoveValidator { node_key } => {
            let mut set: Vec<Validator> = validators(st)?;
            set.retain(|v| &v.node_key != node_key);
            st.store(keys::VALIDATORS.to_vec(), &set);
            vec![Event::ValidatorSetChanged { validators: set }]
        }
        GovChange::SetIssuanceLimit { debtor, limit } => {
            super::limits::set_issuance_limit(ctx, st, debtor, *limit)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::quorum;

    #[test]
    fn quorum_is_two_f_plus_one_of_three_f_plus_one() {
        assert_eq!(quorum(1), 1);
        assert_eq!(quorum(4), 3);
        assert_eq!(quorum(7), 5);
        assert_eq!(quorum(10), 7);
        // Between 3f+1 sizes the quorum stays large enough for two quorums to overlap
        // in more than f orgs.
        for n in 1..40usize {
            let f = (n - 1) / 3;
            assert!(2 * quorum(n) > n + f, "n={n}");
        }
    }
}
