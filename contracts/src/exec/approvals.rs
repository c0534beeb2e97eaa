//! Dual control (maker-checker): an org's approval policy names, per action kind and
//! amount band, how many distinct member keys of the org must sign; member keys carry
//! scopes (the actions they may sign). An action the policy holds becomes a
//! [`PendingApproval`] (`APR-n`): the maker's key counts as the first approval, other keys
//! approve, and the action executes -- its rules checked as of that day -- in the
//! transaction that meets the policy. It lapses after the policy's `ttl_days`. Approvals
//! count only keys that are still active and still in scope when counted, so a revoked
//! approver's signature stops counting.
//!
//! Every transaction passes through [`run_signed`]: it is the one place the policy and
//! the scopes are applied.

use chrono::{Duration, NaiveDate};
use lianrong_primitives::{OrgId, PublicKey};

use super::{apply_action, check_text, load_doc, next_id, status_err, Ctx};
use crate::action::{Action, ACTION_NAMES};
use crate::error::{ContractError, DocKind, ExecError};
use crate::events::Event;
use crate::model::{
    ApprovalPolicy, ApprovalRule, ApprovalStatus, DocId, Financing, Invoice, KeyRecord, Offer, Org,
    PendingApproval, Receivable, Settlement, ANY_ACTION, MAX_APPROVAL_TTL_DAYS, MAX_POLICY_RULES,
    MAX_REQUIRED_APPROVALS,
};
use crate::money::Money;
use crate::state::{keys, StateView};
use crate::StoreError;

/// The actions that carry out approvals themselves: never held, never named by a rule.
fn is_approval_step(name: &str) -> bool {
    matches!(name, "approve_action" | "reject_action")
}

/// The kinds of action `action` performs, as policies and scopes name them: its own, and
/// for a registration with `confirm`, the confirmation too -- so a rule or a scope on
/// confirmations cannot be walked around by confirming at registration; likewise a
/// request under a programme is a financing request.
pub fn action_kinds(action: &Action) -> Vec<&'static str> {
    match action {
        Action::RegisterInvoice { confirm: true, .. } => vec![action.name(), "confirm_invoice"],
        Action::RequestProgrammeFinancing { .. } => vec![action.name(), "request_financing"],
        // An offer naming its default terms is an offer.
        Action::OfferFinancingWithTerms { .. } => vec![action.name(), "offer_financing"],
        _ => vec![action.name()],
    }
}

/// Runs a signed action for `ctx.key`: refuses it if the key's scopes exclude it,
/// executes it if the org's policy needs one key, and otherwise checks that it would
/// execute today and holds it for the other keys' approvals.
///
/// Precondition: the current transaction holds no writes yet (the envelope's nonce is
/// committed before), because a held action's trial run is rolled back whole.
pub fn run_signed(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    action: &Action,
) -> Result<Vec<Event>, ExecError> {
    assert!(
        st.tx_is_empty(),
        "an action must start on a transaction without writes"
    );
    if is_approval_step(action.name()) {
        // Approving checks the scope against the held action, not against itself.
        return apply_action(ctx, st, action);
    }
    require_scope(st, &ctx.key, action)?;
    let amount = action_amount(st, action)?;
    let required = required_now(st, ctx.org_id(), action, amount.as_ref())?;
    if required <= 1 {
        return apply_action(ctx, st, action);
    }
    // A maker learns at once that the action would be refused, rather than after the
    // checker signed; the trial's writes are dropped, the held action re-runs in full.
    apply_action(ctx, st, action)?;
    st.rollback_tx();
    open(ctx, st, action, amount, required)
}

/// Refuses if `key`'s org limited it to other actions than (every kind of) `action`.
fn require_scope(st: &StateView<'_>, key: &PublicKey, action: &Action) -> Result<(), ExecError> {
    match out_of_scope(st, key, action)? {
        None => Ok(()),
        Some(kind) => Err(ContractError::OutOfScope {
            action: kind.into(),
        }
        .into()),
    }
}

/// The first kind of `action` outside `key`'s scopes, if any.
fn out_of_scope(
    st: &StateView<'_>,
    key: &PublicKey,
    action: &Action,
) -> Result<Option<&'static str>, ExecError> {
    let scopes: Option<Vec<String>> = st.load(&keys::key_scopes(key))?;
    let Some(scopes) = scopes else {
        return Ok(None);
    };
    Ok(action_kinds(action)
        .into_iter()
        .find(|kind| !scopes.iter().any(|s| s == kind)))
}

/// Member keys `org`'s policy requires for `action` moving `amount` (1 without a policy).
fn required_now(
    st: &StateView<'_>,
    org: &OrgId,
    action: &Action,
    amount: Option<&Money>,
) -> Result<u8, ExecError> {
    let policy: Option<ApprovalPolicy> = st.load(&keys::approval_policy(org))?;
    Ok(policy.map_or(1, |p| {
        action_kinds(action)
            .into_iter()
            .map(|kind| required(&p, kind, amount))
            .max()
            .unwrap_or(1)
    }))
}

/// The most approvals any rule matching (`action`, `amount`) asks for; 1 if none does.
pub fn required(policy: &ApprovalPolicy, action: &str, amount: Option<&Money>) -> u8 {
    policy
        .rules
        .iter()
        .filter(|r| r.action == ANY_ACTION || r.action == action)
        .filter(|r| match (&r.above, amount) {
            (None, _) => true,
            // An action that moves no amount is outside every band.
            (Some(_), None) => false,
            // Another currency cannot be compared with the band: the stricter reading.
            (Some(t), Some(a)) => a.currency != t.currency || a.amount > t.amount,
        })
        .map(|r| r.approvals)
        .max()
        .unwrap_or(1)
}

/// The amount a policy judges an action by: the money it moves or commits, read from
/// the documents it names (a missing document refuses the action here, as it would be
/// refused anyway). `None` for actions that move no amount.
// Every action listed, no wildcard (a new action that moves money must be placed), one
// line per action or group: it grows with the action list, not with logic.
#[allow(clippy::too_many_lines)]
pub fn action_amount(st: &StateView<'_>, action: &Action) -> Result<Option<Money>, ExecError> {
    use Action as A;
    let amount = match action {
        A::IssueOrder { amount, .. } => *amount,
        A::AttestShipment { value, .. } => *value,
        A::RegisterInvoice { invoice, .. } => invoice.amount,
        A::ConfirmInvoice { invoice: id, .. }
        | A::AcceptMaturity { invoice: id }
        | A::DisputeInvoice { invoice: id, .. }
        | A::VoidInvoice { invoice: id } => {
            load_doc::<Invoice>(st, DocKind::Invoice, id.as_str())?.amount
        }
        A::SplitReceivable { receivable: id, .. }
        | A::TransferReceivable { receivable: id, .. }
        | A::RequestFinancing { receivable: id, .. }
        | A::RequestProgrammeFinancing { receivable: id, .. } => outstanding(st, id)?,
        // A programme commits the bank up to its limit.
        A::CreateProgramme { terms } => terms.limit,
        A::SettleRoot { root, .. } => {
            load_doc::<Receivable>(st, DocKind::Receivable, root.as_str())?.face
        }
        A::Repay {
            receivable: id,
            amount,
            ..
        } => Money {
            amount: *amount,
            currency: outstanding(st, id)?.currency,
        },
        // Raising a credit line is the money decision; removing one moves no amount.
        A::SetExposureLimit { limit, .. } => return Ok(*limit),
        A::AcknowledgeSettlement { settlement } | A::DisputeSettlement { settlement, .. } => {
            load_doc::<Settlement>(st, DocKind::Settlement, settlement.as_str())?.amount
        }
        A::CancelFinancing { .. }
        | A::RecordRegistration { .. }
        | A::OfferFinancing { .. }
        | A::AbandonFinancing { .. }
        | A::AcceptOffer { .. }
        | A::WithdrawOffer { .. }
        | A::Disburse { .. }
        | A::AcknowledgeDisbursement { .. }
        | A::DisputeDisbursement { .. } => financing_amount(st, action)?,
        // Inventory finance (`exec::inventory::action_amount`): a loan's principal, a
        // repayment's amount, the balance a call, release or enforcement puts at stake;
        // a posted price and a top-up move no money.
        A::PostPrice { .. }
        | A::RequestLoan { .. }
        | A::OfferLoan { .. }
        | A::AcceptLoan { .. }
        | A::CancelLoan { .. }
        | A::DisburseLoan { .. }
        | A::AcknowledgeLoanDisbursement { .. }
        | A::RepayLoan { .. }
        | A::AcknowledgeLoanRepayment { .. }
        | A::MarginCall { .. }
        | A::TopUp { .. }
        | A::ReleaseGoods { .. }
        | A::Enforce { .. } => return super::inventory::action_amount(st, action),
        // Overdue and default (`exec::default::action_amount`): an offer's face, the
        // amount a buy-back or write-off states, a pending buy-back's amount.
        A::OfferFinancingWithTerms { .. }
        | A::InstructBuyback { .. }
        | A::AcknowledgeBuyback { .. }
        | A::DisputeBuyback { .. }
        | A::WriteOff { .. } => return super::default::action_amount(st, action),
        // Secondary sale (`exec::secondary::action_amount`): the sale's price.
        A::OfferSale { .. }
        | A::AcceptSale { .. }
        | A::DeclineSale { .. }
        | A::WithdrawSale { .. }
        | A::PaySale { .. }
        | A::AcknowledgeSalePayment { .. }
        | A::DisputeSalePayment { .. } => return super::secondary::action_amount(st, action),
        // Listed, not a wildcard: a new action that moves money must be placed here.
        A::Propose { .. }
        | A::Approve { .. }
        | A::AddCarrier { .. }
        | A::AcceptOrder { .. }
        | A::CancelOrder { .. }
        | A::FulfilOrder { .. }
        | A::ConfirmDelivery { .. }
        | A::IssueWarehouseReceipt { .. }
        | A::OfferPledge { .. }
        | A::AcceptPledge { .. }
        | A::DeclinePledge { .. }
        | A::WithdrawPledgeOffer { .. }
        | A::ReleasePledge { .. }
        | A::InstructRelease { .. }
        | A::ReleaseWarehouseReceipt { .. }
        | A::ApproveAction { .. }
        | A::RejectAction { .. }
        | A::SetApprovalPolicy { .. }
        | A::SetKeyScopes { .. }
        | A::AcceptProgramme { .. }
        | A::JoinProgramme { .. }
        | A::LeaveProgramme { .. }
        | A::RemoveFromProgramme { .. }
        | A::CloseProgramme { .. } => return Ok(None),
    };
    Ok(Some(amount))
}

/// A receivable's outstanding amount in its currency.
fn outstanding(st: &StateView<'_>, id: &DocId) -> Result<Money, ExecError> {
    let r: Receivable = load_doc(st, DocKind::Receivable, id.as_str())?;
    Ok(Money {
        amount: r.checked_outstanding()?,
        currency: r.face.currency,
    })
}

/// A financing's agreed face, or its receivable's outstanding amount before acceptance.
fn financed(st: &StateView<'_>, id: &DocId) -> Result<Money, ExecError> {
    let f: Financing = load_doc(st, DocKind::Financing, id.as_str())?;
    match &f.terms {
        Some(t) => Ok(t.face),
        None => outstanding(st, &f.receivable),
    }
}

/// [`action_amount`] of the financing actions: the face at stake, or the net paid.
fn financing_amount(st: &StateView<'_>, action: &Action) -> Result<Money, ExecError> {
    use Action as A;
    Ok(match action {
        A::AcceptOffer { offer } | A::WithdrawOffer { offer } => {
            let o: Offer = load_doc(st, DocKind::Offer, offer.as_str())?;
            financed(st, &o.financing)?
        }
        A::Disburse { financing, net, .. } => Money {
            amount: *net,
            currency: financed(st, financing)?.currency,
        },
        A::AcknowledgeDisbursement { financing } | A::DisputeDisbursement { financing, .. } => {
            let f: Financing = load_doc(st, DocKind::Financing, financing.as_str())?;
            match f.disbursement {
                Some(d) => d.net,
                None => financed(st, financing)?,
            }
        }
        A::CancelFinancing { financing }
        | A::RecordRegistration { financing, .. }
        | A::OfferFinancing { financing, .. }
        | A::AbandonFinancing { financing } => financed(st, financing)?,
        other => {
            return Err(StoreError::Invariant(format!(
                "{} is not a financing action",
                other.name()
            ))
            .into())
        }
    })
}

/// Holds `action` for approval: `APR-n`, the maker's key as its first approval.
fn open(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    action: &Action,
    amount: Option<Money>,
    required: u8,
) -> Result<Vec<Event>, ExecError> {
    let policy: ApprovalPolicy = st
        .load(&keys::approval_policy(ctx.org_id()))?
        .ok_or_else(|| StoreError::Invariant("an action held without a policy".into()))?;
    let expires_on = days_after(ctx.today, policy.ttl_days)?;
    let id = next_id(st, "approval", "APR")?;
    let p = PendingApproval {
        id: id.clone(),
        org: ctx.org_id().clone(),
        action: action.clone(),
        amount,
        required,
        approvals: vec![ctx.key],
        status: ApprovalStatus::Pending,
        opened_on: ctx.today,
        expires_on,
        rejection: None,
    };
    st.store(keys::doc(DocKind::Approval, id.as_str()), &p);
    Ok(vec![Event::ApprovalRequested {
        approval: id,
        org: p.org,
        action: action.name().into(),
        amount,
        required: u32::from(required),
        key: ctx.key,
    }])
}

fn days_after(day: NaiveDate, days: u32) -> Result<NaiveDate, ExecError> {
    day.checked_add_signed(Duration::days(i64::from(days)))
        .ok_or_else(|| {
            ContractError::InvalidDates(format!("{days} days after {day} is past the calendar"))
                .into()
        })
}

/// Loads a held action of the signer's org that is still pending and not lapsed, and
/// checks the signer's key may sign its action.
fn load_pending(ctx: &Ctx, st: &StateView<'_>, id: &DocId) -> Result<PendingApproval, ExecError> {
    let p: PendingApproval = load_doc(st, DocKind::Approval, id.as_str())?;
    ctx.require_party(&p.org, "org of the held action", DocKind::Approval, id)?;
    if p.status != ApprovalStatus::Pending {
        return Err(status_err(DocKind::Approval, id, p.status, "pending"));
    }
    if ctx.today > p.expires_on {
        return Err(ContractError::ApprovalLapsed {
            approval: id.to_string(),
            expired_on: p.expires_on,
        }
        .into());
    }
    require_scope(st, &ctx.key, &p.action)?;
    Ok(p)
}

/// Adds the signer key's approval; executes the held action once the policy is met.
pub fn approve(ctx: &Ctx, st: &mut StateView<'_>, id: &DocId) -> Result<Vec<Event>, ExecError> {
    let mut p = load_pending(ctx, st, id)?;
    if p.approvals.contains(&ctx.key) {
        return Err(ContractError::KeyAlreadyApproved(id.to_string()).into());
    }
    p.approvals.push(ctx.key);
    // The policy as of today, on today's amount, if it became stricter since.
    let amount = action_amount(st, &p.action)?;
    let required = p
        .required
        .max(required_now(st, &p.org, &p.action, amount.as_ref())?);
    let approvals = counting_approvals(st, &p)?;
    let mut events = vec![Event::ActionApproved {
        approval: id.clone(),
        key: ctx.key,
        approvals,
        required: u32::from(required),
    }];
    if approvals >= u32::from(required) {
        p.status = ApprovalStatus::Executed;
        events.push(Event::ApprovalExecuted {
            approval: id.clone(),
        });
        events.extend(apply_action(ctx, st, &p.action)?);
    }
    st.store(keys::doc(DocKind::Approval, id.as_str()), &p);
    Ok(events)
}

/// Approvals that count now: keys still active members of the org and still in scope.
fn counting_approvals(st: &StateView<'_>, p: &PendingApproval) -> Result<u32, ExecError> {
    let mut n = 0;
    for key in &p.approvals {
        let record: Option<KeyRecord> = st.load(&keys::member_key(key))?;
        let member = record.is_some_and(|r| r.active && r.org == p.org);
        if member && out_of_scope(st, key, &p.action)?.is_none() {
            n += 1;
        }
    }
    Ok(n)
}

/// A member key of the org (in scope for the action) rejects the held action.
pub fn reject(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    reason: &str,
) -> Result<Vec<Event>, ExecError> {
    check_text("reason", reason, 1, 256)?;
    let mut p = load_pending(ctx, st, id)?;
    p.status = ApprovalStatus::Rejected;
    p.rejection = Some((ctx.key, reason.into()));
    st.store(keys::doc(DocKind::Approval, id.as_str()), &p);
    Ok(vec![Event::ApprovalRejected {
        approval: id.clone(),
        key: ctx.key,
        reason: reason.into(),
    }])
}

/// The org replaces or removes its policy. A rule no set of the org's active keys
/// could meet is refused: it would lock the org out of that action.
pub fn set_policy(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    policy: Option<&ApprovalPolicy>,
) -> Result<Vec<Event>, ExecError> {
    let key = keys::approval_policy(ctx.org_id());
    match policy {
        Some(p) => {
            validate_policy(ctx, p)?;
            st.store(key, p);
        }
        None => st.delete(key),
    }
    Ok(vec![Event::ApprovalPolicySet {
        org: ctx.org_id().clone(),
    }])
}

fn validate_policy(ctx: &Ctx, p: &ApprovalPolicy) -> Result<(), ContractError> {
    let field = |reason: String| ContractError::InvalidField {
        field: "policy".into(),
        reason,
    };
    if p.rules.is_empty() || p.rules.len() > MAX_POLICY_RULES {
        return Err(field(format!(
            "{} rules; a policy has 1..={MAX_POLICY_RULES} (remove it with none)",
            p.rules.len()
        )));
    }
    if p.ttl_days == 0 || p.ttl_days > MAX_APPROVAL_TTL_DAYS {
        return Err(field(format!(
            "ttl_days {} is outside 1..={MAX_APPROVAL_TTL_DAYS}",
            p.ttl_days
        )));
    }
    let active = active_keys(&ctx.org);
    for rule in &p.rules {
        validate_rule(ctx, rule, active).map_err(field)?;
    }
    Ok(())
}

fn active_keys(org: &Org) -> usize {
    org.keys
        .iter()
        .filter(|k| !org.revoked_keys.contains(k))
        .count()
}

fn validate_rule(ctx: &Ctx, rule: &ApprovalRule, active: usize) -> Result<(), String> {
    let name = rule.action.as_str();
    if name != ANY_ACTION && !ACTION_NAMES.contains(&name) {
        return Err(format!("{name:?} is not an action name"));
    }
    if is_approval_step(name) {
        return Err(format!(
            "{name} is how approvals are given; no rule governs it"
        ));
    }
    if rule.approvals == 0 || rule.approvals > MAX_REQUIRED_APPROVALS {
        return Err(format!(
            "{name} asks {} approvals; 1..={MAX_REQUIRED_APPROVALS}",
            rule.approvals
        ));
    }
    if usize::from(rule.approvals) > active {
        return Err(format!(
            "{name} asks {} approvals but the org has {active} active member keys",
            rule.approvals
        ));
    }
    if let Some(m) = &rule.above {
        // A band of zero is fine (every positive amount); above the cap is not.
        if !m.amount.is_zero() {
            m.validate(ctx.params.amount_cap)
                .map_err(|e| format!("{name} band: {e}"))?;
        }
    }
    Ok(())
}

/// The org names the actions one of its active member keys may sign.
pub fn set_key_scopes(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    key: &PublicKey,
    scopes: Option<&[String]>,
) -> Result<Vec<Event>, ExecError> {
    let record: Option<KeyRecord> = st.load(&keys::member_key(key))?;
    let Some(record) = record.filter(|r| r.active) else {
        return Err(ContractError::InvalidField {
            field: "key".into(),
            reason: format!("{key} is not an active member key"),
        }
        .into());
    };
    if &record.org != ctx.org_id() {
        // Another org's key: only that org scopes it.
        return Err(ContractError::NotParty {
            org: ctx.org_id().clone(),
            party: "org of the key".into(),
            kind: DocKind::Org,
            id: record.org.to_string(),
        }
        .into());
    }
    match scopes {
        Some(list) => {
            validate_scopes(list)?;
            st.store(keys::key_scopes(key), &list.to_vec());
        }
        None => st.delete(keys::key_scopes(key)),
    }
    Ok(vec![Event::KeyScopesSet {
        org: ctx.org_id().clone(),
        key: *key,
        scopes: scopes.map(<[String]>::to_vec),
    }])
}

fn validate_scopes(list: &[String]) -> Result<(), ContractError> {
    let field = |reason: String| ContractError::InvalidField {
        field: "scopes".into(),
        reason,
    };
    if list.is_empty() || list.len() > ACTION_NAMES.len() {
        return Err(field(format!(
            "{} names; 1..={} (revoke a key that should sign nothing)",
            list.len(),
            ACTION_NAMES.len()
        )));
    }
    for (i, name) in list.iter().enumerate() {
        if !ACTION_NAMES.contains(&name.as_str()) || is_approval_step(name) {
            return Err(field(format!("{name:?} is not an action a scope can name")));
        }
        if list[..i].contains(name) {
            return Err(field(format!("{name} is named twice")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cny(s: &str) -> Money {
        Money::parse(s, "CNY").unwrap()
    }

    fn policy(rules: Vec<ApprovalRule>) -> ApprovalPolicy {
        ApprovalPolicy { rules, ttl_days: 3 }
    }

    fn rule(action: &str, above: Option<Money>, approvals: u8) -> ApprovalRule {
        ApprovalRule {
            action: action.into(),
            above,
            approvals,
        }
    }

    #[test]
    fn a_band_covers_amounts_strictly_above_it_and_other_currencies() {
        let p = policy(vec![rule("confirm_invoice", Some(cny("1000000")), 2)]);
        let at = cny("1000000");
        let over = cny("1000000.01");
        let usd = Money::parse("5", "USD").unwrap();
        assert_eq!(required(&p, "confirm_invoice", Some(&at)), 1);
        assert_eq!(required(&p, "confirm_invoice", Some(&over)), 2);
        assert_eq!(required(&p, "confirm_invoice", Some(&usd)), 2);
        assert_eq!(required(&p, "confirm_invoice", None), 1);
        assert_eq!(required(&p, "repay", Some(&over)), 1);
    }

    #[test]
    fn the_strictest_matching_rule_wins() {
        let p = policy(vec![
            rule(ANY_ACTION, None, 2),
            rule("disburse", Some(cny("100")), 3),
        ]);
        assert_eq!(required(&p, "accept_order", None), 2);
        assert_eq!(required(&p, "disburse", Some(&cny("50"))), 2);
        assert_eq!(required(&p, "disburse", Some(&cny("500"))), 3);
    }

    #[test]
    fn scopes_name_known_actions_once_and_never_the_approval_steps() {
        let ok = vec!["confirm_invoice".to_string(), "repay".to_string()];
        assert!(validate_scopes(&ok).is_ok());
        for bad in [
            vec![],
            vec!["confirm".to_string()],
            vec!["repay".to_string(), "repay".to_string()],
            vec!["approve_action".to_string()],
        ] {
            assert!(validate_scopes(&bad).is_err(), "{bad:?} accepted");
        }
    }
}
