//! Supply-chain finance programmes (issue 15 item 1): a bank sets up a programme with a
//! core enterprise -- eligible suppliers and tiers, currency, pricing grid, fees, maximum
//! tenor, advance ratio, recourse, auto-offer and a programme limit -- the core accepts
//! it, eligible suppliers join and leave (or the bank removes them), and the bank closes
//! it. A member supplier's request under an active programme invites its bank alone;
//! every offer on it follows the grid (with auto-offer the ledger makes it at once), and
//! the financing counts against the programme limit (`exec::limits`) like against the
//! bank's exposure limits. Outside programmes the open auction is unchanged.
//!
//! The grid's figures for a receivable, today: the tenor is the actual days from today to
//! maturity; the rate is that of the first bucket whose `max_days` covers it; the
//! advanced amount is the outstanding face x the advance ratio, rounded down to the
//! minor unit; the fees are `fee_percent` of the advanced amount (rounded half away
//! from zero) plus `fee_fixed`. The discount then runs on the advanced amount, and the
//! net is advanced - discount - fees (`exec::financing`).

use std::collections::BTreeSet;

use chrono::Duration;
use lianrong_primitives::OrgId;

use super::financing::{make_offer, open_request};
use super::receivables::load_movable;
use super::{load_doc, load_party, next_id, status_err, Ctx};
use crate::error::{ContractError, DocKind, ExecError};
use crate::events::Event;
use crate::exec::governance::MAX_TENOR_CEILING_DAYS;
use crate::model::{
    DocId, Financing, Programme, ProgrammeStatus, ProgrammeTerms, Receivable, Role,
    MAX_GRID_BUCKETS, MAX_PROGRAMME_SUPPLIERS, MAX_PROGRAMME_TIER,
};
use crate::money::{percent_of, share_down, Amount, Money, Rate};
use crate::state::{keys, StateView};

fn save(st: &mut StateView<'_>, p: &Programme) {
    st.store(keys::doc(DocKind::Programme, p.id.as_str()), p);
}

fn load(st: &StateView<'_>, id: &DocId) -> Result<Programme, ExecError> {
    load_doc(st, DocKind::Programme, id.as_str())
}

fn invalid(field: &str, reason: impl Into<String>) -> ExecError {
    ContractError::InvalidField {
        field: field.into(),
        reason: reason.into(),
    }
    .into()
}

/// Refuses terms a programme cannot have.
fn validate_terms(ctx: &Ctx, st: &StateView<'_>, t: &ProgrammeTerms) -> Result<(), ExecError> {
    validate_parties(ctx, st, t)?;
    validate_pricing(ctx, t)
}

/// The core and the eligible suppliers: admitted in their roles, distinct, 1 to 256
/// suppliers, none of them the core or the bank.
fn validate_parties(ctx: &Ctx, st: &StateView<'_>, t: &ProgrammeTerms) -> Result<(), ExecError> {
    load_party(st, &t.core, "core", Some(Role::Core))?;
    let unique: BTreeSet<&OrgId> = t.suppliers.iter().collect();
    if t.suppliers.is_empty()
        || t.suppliers.len() > MAX_PROGRAMME_SUPPLIERS
        || unique.len() != t.suppliers.len()
    {
        return Err(invalid(
            "suppliers",
            format!("name 1 to {MAX_PROGRAMME_SUPPLIERS} distinct suppliers"),
        ));
    }
    for s in &t.suppliers {
        if s == &t.core || s == ctx.org_id() {
            return Err(ContractError::InvalidParty {
                org: s.clone(),
                party: "supplier".into(),
                reason: "must differ from the programme's core and bank".into(),
            }
            .into());
        }
        load_party(st, s, "supplier", Some(Role::Supplier))?;
    }
    Ok(())
}

/// Tiers, tenor, grid, advance ratio, fees, offer validity and the limit's currency.
fn validate_pricing(ctx: &Ctx, t: &ProgrammeTerms) -> Result<(), ExecError> {
    if !(1..=MAX_PROGRAMME_TIER).contains(&t.max_tier) {
        return Err(invalid(
            "max_tier",
            format!("allow tiers 1 to at most {MAX_PROGRAMME_TIER}"),
        ));
    }
    if !(1..=MAX_TENOR_CEILING_DAYS).contains(&t.max_tenor_days) {
        return Err(invalid(
            "max_tenor_days",
            format!("1 to {MAX_TENOR_CEILING_DAYS} days"),
        ));
    }
    if t.grid.is_empty() || t.grid.len() > MAX_GRID_BUCKETS {
        return Err(invalid(
            "grid",
            format!("1 to {MAX_GRID_BUCKETS} tenor buckets"),
        ));
    }
    let mut prev = 0;
    for b in &t.grid {
        if b.max_days <= prev {
            return Err(invalid(
                "grid",
                "bucket days must be above zero and strictly increasing",
            ));
        }
        prev = b.max_days;
    }
    if prev < t.max_tenor_days {
        return Err(invalid(
            "grid",
            format!(
                "the last bucket ({prev} days) must cover the maximum tenor ({} days)",
                t.max_tenor_days
            ),
        ));
    }
    if t.advance.percent().is_zero() {
        return Err(invalid("advance", "the advance ratio must be above 0%"));
    }
    let fixed = Money {
        amount: t.fee_fixed,
        currency: t.currency,
    };
    if !fixed.amount.is_zero() {
        fixed.validate(ctx.params.amount_cap)?;
    }
    if t.offer_valid_days > ctx.params.max_offer_valid_days {
        return Err(invalid(
            "offer_valid_days",
            format!(
                "at most the network's max_offer_valid_days ({})",
                ctx.params.max_offer_valid_days
            ),
        ));
    }
    if t.limit.currency != t.currency {
        return Err(invalid(
            "limit",
            format!(
                "the limit must be in the programme's currency {}",
                t.currency
            ),
        ));
    }
    Ok(())
}

/// `CreateProgramme`: a bank sets up a programme (`PRG-n`, proposed until the core
/// accepts it) and its programme limit.
pub fn create(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    terms: &ProgrammeTerms,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Bank)?;
    validate_terms(ctx, st, terms)?;
    let id = next_id(st, "programme", "PRG")?;
    let p = Programme {
        id: id.clone(),
        bank: ctx.org_id().clone(),
        terms: terms.clone(),
        members: vec![],
        status: ProgrammeStatus::Proposed,
        created_on: ctx.today,
        accepted_on: None,
        closed_on: None,
    };
    save(st, &p);
    let mut events = vec![Event::ProgrammeCreated {
        programme: id,
        bank: p.bank.clone(),
        core: terms.core.clone(),
    }];
    events.extend(super::limits::set_programme_limit(
        ctx,
        st,
        p.limit_scope(),
        terms.limit,
    )?);
    Ok(events)
}

/// `AcceptProgramme`: the programme's core enterprise accepts it; it becomes active.
pub fn accept(ctx: &Ctx, st: &mut StateView<'_>, id: &DocId) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Core)?;
    let mut p = load(st, id)?;
    ctx.require_party(&p.terms.core, "programme's core", DocKind::Programme, id)?;
    if p.status != ProgrammeStatus::Proposed {
        return Err(status_err(DocKind::Programme, id, p.status, "proposed"));
    }
    p.status = ProgrammeStatus::Active;
    p.accepted_on = Some(ctx.today);
    save(st, &p);
    Ok(vec![Event::ProgrammeAccepted {
        programme: id.clone(),
        core: p.terms.core,
    }])
}

/// `JoinProgramme`: an eligible supplier joins an active programme.
pub fn join(ctx: &Ctx, st: &mut StateView<'_>, id: &DocId) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Supplier)?;
    let mut p = load(st, id)?;
    if !p.terms.suppliers.contains(ctx.org_id()) {
        return Err(not_party(ctx, "eligible supplier", id));
    }
    if p.status != ProgrammeStatus::Active {
        return Err(status_err(DocKind::Programme, id, p.status, "active"));
    }
    if p.members.contains(ctx.org_id()) {
        return Err(ContractError::InvalidParty {
            org: ctx.org_id().clone(),
            party: "supplier".into(),
            reason: format!("already a member of programme {id}"),
        }
        .into());
    }
    p.members.push(ctx.org_id().clone());
    save(st, &p);
    Ok(vec![Event::ProgrammeJoined {
        programme: id.clone(),
        supplier: ctx.org_id().clone(),
    }])
}

fn not_party(ctx: &Ctx, party: &str, id: &DocId) -> ExecError {
    ContractError::NotParty {
        org: ctx.org_id().clone(),
        party: party.into(),
        kind: DocKind::Programme,
        id: id.to_string(),
    }
    .into()
}

/// `LeaveProgramme`: a member supplier leaves; its financings run their course.
pub fn leave(ctx: &Ctx, st: &mut StateView<'_>, id: &DocId) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Supplier)?;
    let mut p = load(st, id)?;
    if !p.members.contains(ctx.org_id()) {
        return Err(not_party(ctx, "member supplier", id));
    }
    p.members.retain(|m| m != ctx.org_id());
    save(st, &p);
    Ok(vec![Event::ProgrammeLeft {
        programme: id.clone(),
        supplier: ctx.org_id().clone(),
    }])
}

/// `RemoveFromProgramme`: the programme's bank removes a member supplier; its
/// financings run their course.
pub fn remove(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    supplier: &OrgId,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Bank)?;
    let mut p = load(st, id)?;
    ctx.require_party(&p.bank, "programme's bank", DocKind::Programme, id)?;
    if !p.members.contains(supplier) {
        return Err(ContractError::InvalidParty {
            org: supplier.clone(),
            party: "supplier".into(),
            reason: format!("not a member of programme {id}"),
        }
        .into());
    }
    p.members.retain(|m| m != supplier);
    save(st, &p);
    Ok(vec![Event::ProgrammeMemberRemoved {
        programme: id.clone(),
        supplier: supplier.clone(),
    }])
}

/// `CloseProgramme`: the programme's bank closes it (proposed or active): no new
/// request, offer or acceptance under it; accepted and disbursed deals untouched, and
/// they keep counting against its limit until repaid.
pub fn close(ctx: &Ctx, st: &mut StateView<'_>, id: &DocId) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Bank)?;
    let mut p = load(st, id)?;
    ctx.require_party(&p.bank, "programme's bank", DocKind::Programme, id)?;
    if p.status == ProgrammeStatus::Closed {
        return Err(status_err(
            DocKind::Programme,
            id,
            p.status,
            "proposed or active",
        ));
    }
    p.status = ProgrammeStatus::Closed;
    p.closed_on = Some(ctx.today);
    save(st, &p);
    Ok(vec![Event::ProgrammeClosed {
        programme: id.clone(),
    }])
}

fn outside(p: &Programme, reason: String) -> ExecError {
    ContractError::OutsideProgramme {
        programme: p.id.to_string(),
        reason,
    }
    .into()
}

/// The programme as it must be for new financing of `applicant`: active, with
/// `applicant` a member.
fn load_open(st: &StateView<'_>, id: &DocId, applicant: &OrgId) -> Result<Programme, ExecError> {
    let p = load(st, id)?;
    if p.status != ProgrammeStatus::Active {
        return Err(status_err(DocKind::Programme, id, p.status, "active"));
    }
    if !p.members.contains(applicant) {
        return Err(outside(
            &p,
            format!("{applicant} is not (or no longer) a member"),
        ));
    }
    Ok(p)
}

/// The grid's figures for financing `r` under `p` today: (tenor days, rate, advanced
/// amount, fees). Refused when `r` is outside the programme's terms.
pub fn grid_quote(
    ctx: &Ctx,
    p: &Programme,
    r: &Receivable,
) -> Result<(u32, Rate, Money, Money), ExecError> {
    let t = &p.terms;
    if r.debtor != t.core {
        return Err(outside(
            p,
            format!(
                "receivable {} is owed by {}, not the programme's core {}",
                r.id, r.debtor, t.core
            ),
        ));
    }
    if r.tier > t.max_tier {
        return Err(outside(
            p,
            format!(
                "receivable {} is held at tier {}, deeper than the programme's {}",
                r.id, r.tier, t.max_tier
            ),
        ));
    }
    if r.face.currency != t.currency {
        return Err(outside(
            p,
            format!(
                "receivable {} is in {}, the programme in {}",
                r.id, r.face.currency, t.currency
            ),
        ));
    }
    let days = (r.maturity - ctx.today).num_days();
    if days <= 0 {
        return Err(ContractError::PastMaturity(r.id.to_string()).into());
    }
    if days > i64::from(t.max_tenor_days) {
        return Err(outside(
            p,
            format!(
                "receivable {} matures in {days} days, past the programme's {} days",
                r.id, t.max_tenor_days
            ),
        ));
    }
    let days = u32::try_from(days)
        .map_err(|_| ContractError::InvalidDates("tenor out of range".into()))?;
    let rate = p
        .rate_for(days)
        .ok_or_else(|| outside(p, format!("no grid bucket covers {days} days")))?;
    let face = Money {
        amount: r.checked_outstanding()?,
        currency: r.face.currency,
    };
    let advanced = share_down(&face, t.advance)?;
    let fees = Money {
        amount: percent_of(&advanced, t.fee_percent)?
            .amount
            .checked_add(t.fee_fixed)?,
        currency: t.currency,
    };
    Ok((days, rate, advanced, fees))
}

/// What `face` advances under `f`'s programme (the whole face outside programmes).
pub fn advanced(st: &StateView<'_>, f: &Financing, face: &Money) -> Result<Money, ExecError> {
    match &f.programme {
        Some(pid) => Ok(share_down(face, load(st, pid)?.terms.advance)?),
        None => Ok(*face),
    }
}

/// Before an offer on, or the acceptance of an offer on, a programme financing: the
/// programme must still be active with the applicant a member (closing and leaving stop
/// new financing); `None` outside programmes.
pub fn check_open(st: &StateView<'_>, f: &Financing) -> Result<Option<Programme>, ExecError> {
    match &f.programme {
        Some(pid) => load_open(st, pid, &f.applicant).map(Some),
        None => Ok(None),
    }
}

/// A bank's offer on a programme financing must be the grid's: its rate and fees for
/// today, valid for at most the programme's offer validity.
pub fn check_offer(
    ctx: &Ctx,
    p: &Programme,
    r: &Receivable,
    rate: Rate,
    fees: Amount,
    valid_until: chrono::NaiveDate,
) -> Result<(), ExecError> {
    let (days, expected_rate, _, expected_fees) = grid_quote(ctx, p, r)?;
    if rate != expected_rate || fees != expected_fees.amount {
        return Err(ContractError::OfferOffGrid {
            programme: p.id.to_string(),
            offered: format!("{rate} and fees {fees}"),
            grid: format!("{expected_rate} and fees {}", expected_fees.to_fixed()),
            days,
        }
        .into());
    }
    let last = ctx.today + Duration::days(i64::from(p.terms.offer_valid_days));
    if valid_until > last {
        return Err(invalid(
            "valid_until",
            format!(
                "programme {} offers stay valid {} days: {valid_until} is after {last}",
                p.id, p.terms.offer_valid_days
            ),
        ));
    }
    Ok(())
}

/// `RequestProgrammeFinancing`: the holder, a member of the active programme, asks for
/// financing of a receivable within its terms; the programme's bank is the one invited,
/// and with auto-offer the ledger makes the grid's offer at once.
pub fn request(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    rid: &DocId,
    pid: &DocId,
) -> Result<Vec<Event>, ExecError> {
    let r = load_movable(ctx, st, rid)?;
    let p = load(st, pid)?;
    if !p.members.contains(ctx.org_id()) {
        return Err(not_party(ctx, "member supplier", pid));
    }
    if p.status != ProgrammeStatus::Active {
        return Err(status_err(DocKind::Programme, pid, p.status, "active"));
    }
    let (_, rate, advanced, fees) = grid_quote(ctx, &p, &r)?;
    if p.terms.auto_offer {
        // The supplier learns now if the grid's offer would leave it nothing.
        super::financing::price(ctx, &r, &advanced, rate, &fees)?;
    }
    let (fid, mut events) = open_request(ctx, st, r, std::slice::from_ref(&p.bank), Some(&p))?;
    if p.terms.auto_offer {
        // Within the network's longest validity too, should governance lower it later.
        let days = p
            .terms
            .offer_valid_days
            .min(ctx.params.max_offer_valid_days);
        let valid_until = ctx.today + Duration::days(i64::from(days));
        events.push(make_offer(
            ctx,
            st,
            &fid,
            &p.bank,
            rate,
            fees.amount,
            valid_until,
        )?);
    }
    Ok(events)
}

/// [`super::apply_action`] of the programme actions.
pub fn apply(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    action: &crate::Action,
) -> Result<Vec<Event>, ExecError> {
    use crate::Action as A;
    match action {
        A::CreateProgramme { terms } => create(ctx, st, terms),
        A::AcceptProgramme { programme } => accept(ctx, st, programme),
        A::JoinProgramme { programme } => join(ctx, st, programme),
        A::LeaveProgramme { programme } => leave(ctx, st, programme),
        A::RemoveFromProgramme {
            programme,
            supplier,
        } => remove(ctx, st, programme, supplier),
        A::CloseProgramme { programme } => close(ctx, st, programme),
        A::RequestProgrammeFinancing {
            receivable,
            programme,
        } => request(ctx, st, receivable, programme),
        other => Err(crate::StoreError::Invariant(format!(
            "{} is not a programme action",
            other.name()
        ))
        .into()),
    }
}
