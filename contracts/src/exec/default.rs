//! Overdue and default (issue 13 item 1): a disbursed financing whose receivable goes
//! overdue, its penalty interest, the supplier's buy-back with recourse and the bank's
//! write-off without.
//!
//! - **Overdue.** The overdue sweep (`exec::sweep_overdue`) marks a receivable overdue the
//!   day after maturity + grace; if a disbursed financing holds it, the same sweep marks
//!   the financing overdue ([`mark_overdue`]) and fixes its terms that day: the penalty
//!   rate (the programme's, else the accepted offer's, else zero), the day count and
//!   recourse (the programme's or the offer's; nothing agreed is without recourse).
//! - **Penalty** ([`penalty`], the one rule): one day's penalty on the bank's outstanding
//!   advance is `advance x rate / 100 / basis` (basis 360 under ACT/360), rounded once half
//!   away from zero to the minor unit; `days` days cost that daily figure times `days`.
//!   Days count after `penalty_from` = maturity + grace, through the day asked about, so
//!   the first overdue day owes one day. Nothing is written per day: the figure is
//!   computed from the ledger's date. When an acknowledged repayment changes the
//!   outstanding advance, the penalty so far is folded into `accrued`
//!   ([`before_repayment`]) and the new advance accrues from the next day.
//! - **Outstanding advance** ([`outstanding_advance`]): the bank advanced `advanced`
//!   against the financed face; the debtor's acknowledged payments since recover the
//!   advance first: `advanced - (financed face - outstanding)`, at least zero. Outside
//!   programmes (advanced = face) it is the receivable's outstanding amount.
//! - **Buy-back** (with recourse; [`instruct_buyback`], [`acknowledge_buyback`],
//!   [`dispute_buyback`]): the supplier pays the claim as of the day of its instruction
//!   (outstanding advance + penalty), stating the amount, which must be the ledger's; the
//!   bank acknowledges receipt -- only then the receivable returns to the supplier (still
//!   overdue: the debtor owes it the rest), the financing closes and the bank's exposure
//!   ends -- or disputes it (nothing changes; the supplier instructs again). While one is
//!   pending the receivable takes no settlement instruction.
//! - **Write-off** (without recourse; [`write_off`]): the funding bank records the claim
//!   as of the day (stated, must be the ledger's) and why; the financing closes and the
//!   bank's exposure ends. The receivable stays the bank's and stays owed by the debtor:
//!   a later payment is a recovery, acknowledged like any settlement.
//!
//! The penalty is fixed at the buy-back's instruction day (once acknowledged) or the
//! write-off's day. It is reported, and collected only through a buy-back.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::receivables::save as save_receivable;
use super::{check_payment_ref, check_text, load_doc, Ctx};
use crate::action::Action;
use crate::error::{ContractError, DocKind, ExecError, StoreError};
use crate::events::Event;
use crate::model::{
    Buyback, DocId, Financing, FinancingOverdue, FinancingStatus, FinancingTerms, Offer, Params,
    Programme, Receivable, Role, SettlementStatus, WriteOff,
};
use crate::money::{discount, Amount, DayCount, Money, MoneyError, Rate};
use crate::state::{keys, StateView};

/// The penalty on `base` at the annual `rate` for `days` days under `day_count`: one
/// day's penalty `base x rate / 100 / basis`, rounded half away from zero to the minor
/// unit, times `days`. Worked: 1,234,567.89 at 18 % a year (0.05 % a day) ACT/360 is
/// 617.283945 -> 617.28 a day, 10,493.76 for 17 days.
pub fn penalty(
    base: &Money,
    rate: Rate,
    days: u32,
    day_count: DayCount,
) -> Result<Money, MoneyError> {
    // One day's figure is the discount formula for one day: the same exact product and
    // the same single rounding.
    let daily = discount(base, rate, 1, day_count)?;
    let total = daily
        .amount
        .value()
        .checked_mul(Decimal::from(days))
        .ok_or(MoneyError::Overflow)?;
    Ok(Money {
        amount: Amount::from_decimal(total)?,
        currency: base.currency,
    })
}

/// The bank's advance not yet recovered on `r` financed on `terms`: the debtor's
/// acknowledged payments since the financing recover the advance first, so
/// `advanced - (financed face - outstanding)`, at least zero; `None` for a receivable
/// owing more than the face financed (a broken record).
pub fn outstanding_advance(terms: &FinancingTerms, r: &Receivable) -> Option<Money> {
    let recovered = terms.face.amount.checked_sub(r.outstanding()?)?;
    Some(Money {
        amount: terms
            .advanced
            .amount
            .checked_sub(recovered)
            .unwrap_or(Amount::ZERO),
        currency: terms.face.currency,
    })
}

/// An overdue financing's figures on a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultFigures {
    /// The day they are figured as of (the day asked about, or the day the penalty
    /// stopped: a settled buy-back's instruction, a write-off).
    pub as_of: NaiveDate,
    /// Days past due that day: days after maturity + grace.
    pub days_past_due: u32,
    /// The bank's advance not yet recovered.
    pub advanced: Money,
    /// One day's penalty on it now (zero once ended).
    pub daily_penalty: Money,
    /// The penalty accrued through `as_of`.
    pub penalty: Money,
    /// `advanced + penalty`: what a buy-back pays, or a write-off writes off.
    pub claim: Money,
    /// Whether the penalty still runs (overdue, no settled buy-back, no write-off, not
    /// repaid).
    pub running: bool,
}

fn days_between(from: NaiveDate, to: NaiveDate) -> u32 {
    u32::try_from((to - from).num_days().max(0)).unwrap_or(u32::MAX)
}

fn invariant(what: String) -> ExecError {
    StoreError::Invariant(what).into()
}

/// `f`'s figures as of `today` (its receivable `r`); `None` if it never went overdue.
/// Pure: the node, the SDK's callers and the explorer show the ledger's figure with it.
pub fn figures(
    f: &Financing,
    r: &Receivable,
    today: NaiveDate,
) -> Result<Option<DefaultFigures>, ExecError> {
    let Some(o) = &f.overdue else {
        return Ok(None);
    };
    let zero = |m: &Money| Money {
        amount: Amount::ZERO,
        currency: m.currency,
    };
    let fixed = |as_of: NaiveDate, advanced: Money, penalty: Money, claim: Money| {
        Some(DefaultFigures {
            as_of,
            days_past_due: days_between(o.penalty_from, as_of),
            daily_penalty: zero(&advanced),
            advanced,
            penalty,
            claim,
            running: false,
        })
    };
    if let Some(w) = &o.write_off {
        return Ok(fixed(w.written_off_on, w.advanced, w.penalty, w.amount));
    }
    if let Some(b) = o
        .buyback
        .as_ref()
        .filter(|b| b.status == SettlementStatus::Acknowledged)
    {
        return Ok(fixed(b.instructed_on, b.advanced, b.penalty, b.amount));
    }
    let terms = f
        .terms
        .as_ref()
        .ok_or_else(|| invariant(format!("overdue financing {} has no terms", f.id)))?;
    let advanced = outstanding_advance(terms, r)
        .ok_or_else(|| invariant(format!("{} owes more than {} financed", r.id, f.id)))?;
    let days = days_between(o.accrued_through, today);
    let running = penalty(&advanced, o.penalty_rate, days, o.day_count)?;
    let total = Money {
        amount: o.accrued.checked_add(running.amount)?,
        currency: advanced.currency,
    };
    let claim = Money {
        amount: advanced.amount.checked_add(total.amount)?,
        currency: advanced.currency,
    };
    let live = f.status == FinancingStatus::Disbursed;
    Ok(Some(DefaultFigures {
        as_of: today,
        days_past_due: days_between(o.penalty_from, today),
        daily_penalty: if live {
            penalty(&advanced, o.penalty_rate, 1, o.day_count)?
        } else {
            zero(&advanced)
        },
        advanced,
        penalty: total,
        claim,
        running: live && !advanced.amount.is_zero(),
    }))
}

/// The penalty rate and recourse a financing was agreed on: its programme's terms, else
/// its accepted offer's (none named: no penalty, no recourse).
fn agreed_terms(
    st: &StateView<'_>,
    f: &Financing,
    terms: &FinancingTerms,
) -> Result<(Rate, bool), StoreError> {
    let missing = |what: String| StoreError::Invariant(format!("{what} of {} is missing", f.id));
    if let Some(pid) = &f.programme {
        let p: Programme = st
            .load(&keys::doc(DocKind::Programme, pid.as_str()))?
            .ok_or_else(|| missing(format!("programme {pid}")))?;
        return Ok((p.terms.penalty_rate, p.terms.recourse));
    }
    let o: Offer = st
        .load(&keys::doc(DocKind::Offer, terms.offer.as_str()))?
        .ok_or_else(|| missing(format!("offer {}", terms.offer)))?;
    Ok((
        o.penalty_rate.unwrap_or_else(Rate::zero),
        o.recourse.unwrap_or(false),
    ))
}

/// The overdue sweep marked `r` overdue today: a disbursed financing on it becomes
/// overdue too, its default terms fixed as of today. One financing read and written per
/// receivable, so the sweep's bound on receivables bounds this work as well.
pub fn mark_overdue(
    st: &mut StateView<'_>,
    r: &Receivable,
    today: NaiveDate,
    params: &Params,
) -> Result<Option<Event>, StoreError> {
    let Some(fid) = &r.financing else {
        return Ok(None);
    };
    let key = keys::doc(DocKind::Financing, fid.as_str());
    let mut f: Financing = st.load(&key)?.ok_or_else(|| {
        StoreError::Invariant(format!("receivable {} names missing financing {fid}", r.id))
    })?;
    // Requested or accepted deals on an overdue receivable can no longer be disbursed
    // (they lapse or are cancelled); only money the bank paid is at risk.
    let Some(terms) = f
        .terms
        .clone()
        .filter(|_| f.status == FinancingStatus::Disbursed && f.overdue.is_none())
    else {
        return Ok(None);
    };
    let (penalty_rate, recourse) = agreed_terms(st, &f, &terms)?;
    let penalty_from = r
        .maturity
        .checked_add_days(chrono::Days::new(u64::from(params.grace_days)))
        .ok_or_else(|| StoreError::Invariant(format!("{} maturity + grace", r.id)))?;
    f.overdue = Some(FinancingOverdue {
        since: today,
        penalty_from,
        penalty_rate,
        day_count: params.day_count,
        recourse,
        accrued: Amount::ZERO,
        accrued_through: penalty_from,
        buyback: None,
        write_off: None,
    });
    st.store(key, &f);
    Ok(Some(Event::FinancingOverdue {
        financing: fid.clone(),
        receivable: r.id.clone(),
        bank: terms.bank,
        penalty_from,
        penalty_rate,
        recourse,
    }))
}

/// Before an acknowledged repayment of `r` changes its outstanding amount: the penalty
/// of an overdue financing on it so far is folded in (through today, on the advance as it
/// stood), so the new advance accrues from tomorrow. Returns the event saying so.
pub fn before_repayment(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    r: &Receivable,
) -> Result<Option<Event>, ExecError> {
    let Some(fid) = &r.financing else {
        return Ok(None);
    };
    let mut f: Financing = load_doc(st, DocKind::Financing, fid.as_str())?;
    let Some(fig) = figures(&f, r, ctx.today)?.filter(|x| x.running) else {
        return Ok(None);
    };
    let Some(o) = f.overdue.as_mut() else {
        return Ok(None);
    };
    o.accrued = fig.penalty.amount;
    o.accrued_through = ctx.today.max(o.accrued_through);
    let through = o.accrued_through;
    st.store(keys::doc(DocKind::Financing, fid.as_str()), &f);
    Ok(Some(Event::FinancingPenaltyAccrued {
        financing: fid.clone(),
        through,
        accrued: fig.penalty,
    }))
}

/// Refuses a settlement instruction on `r` while the buy-back of its financing waits for
/// the bank: the figure the supplier pays must not change under it.
pub fn require_no_buyback(st: &StateView<'_>, r: &Receivable) -> Result<(), ExecError> {
    let Some(fid) = &r.financing else {
        return Ok(());
    };
    let f: Financing = load_doc(st, DocKind::Financing, fid.as_str())?;
    if pending_buyback(&f).is_some() {
        return Err(ContractError::BuybackPending {
            receivable: r.id.to_string(),
            financing: fid.to_string(),
        }
        .into());
    }
    Ok(())
}

fn pending_buyback(f: &Financing) -> Option<&Buyback> {
    f.overdue
        .as_ref()?
        .buyback
        .as_ref()
        .filter(|b| b.status == SettlementStatus::Pending)
}

fn save(st: &mut StateView<'_>, f: &Financing) {
    st.store(keys::doc(DocKind::Financing, f.id.as_str()), f);
}

/// A financing that is overdue with its penalty running: disbursed, marked overdue, no
/// settled buy-back and no write-off. Returns it with its terms and receivable.
fn load_running(
    st: &StateView<'_>,
    fid: &DocId,
) -> Result<(Financing, FinancingTerms, Receivable), ExecError> {
    let f: Financing = load_doc(st, DocKind::Financing, fid.as_str())?;
    let marked = f.overdue.is_some();
    let ended = f
        .overdue
        .as_ref()
        .and_then(FinancingOverdue::ended_on)
        .is_some();
    let status = match (f.status, marked, ended) {
        (FinancingStatus::Disbursed, true, false) => {
            let terms = f
                .terms
                .clone()
                .ok_or_else(|| invariant(format!("disbursed {fid} has no terms")))?;
            let r: Receivable = load_doc(st, DocKind::Receivable, f.receivable.as_str())?;
            return Ok((f, terms, r));
        }
        (FinancingStatus::Disbursed, false, _) => "disbursed, not overdue".into(),
        (FinancingStatus::Disbursed, true, true) => "overdue, ended".into(),
        (s, ..) => format!("{s:?}").to_lowercase(),
    };
    Err(ContractError::WrongStatus {
        kind: DocKind::Financing,
        id: fid.to_string(),
        status,
        expected: "overdue (disbursed, its receivable unpaid past maturity + grace)".into(),
    }
    .into())
}

/// The figures of a running overdue financing today (present by [`load_running`]).
fn figures_today(ctx: &Ctx, f: &Financing, r: &Receivable) -> Result<DefaultFigures, ExecError> {
    figures(f, r, ctx.today)?.ok_or_else(|| invariant(format!("{} lost its overdue state", f.id)))
}

/// Refuses a stated `amount` other than the ledger's `expected`.
fn check_amount(what: String, amount: Amount, expected: &Money) -> Result<(), ExecError> {
    if amount != expected.amount {
        return Err(ContractError::AmountMismatch {
            what,
            given: amount.to_string(),
            expected: expected.to_fixed(),
        }
        .into());
    }
    Ok(())
}

fn recourse_term(fid: &DocId, reason: &str) -> ExecError {
    ContractError::RecourseTerm {
        financing: fid.to_string(),
        reason: reason.into(),
    }
    .into()
}

/// `InstructBuyback`: the applicant pays the bank its outstanding advance plus the
/// penalty as of today, under its own payment reference (counted once, like a debtor's).
pub fn instruct_buyback(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    fid: &DocId,
    amount: Amount,
    payment_ref: &str,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Supplier)?;
    let f: Financing = load_doc(st, DocKind::Financing, fid.as_str())?;
    ctx.require_party(&f.applicant, "applicant", DocKind::Financing, fid)?;
    let (mut f, terms, r) = load_running(st, fid)?;
    if !f.overdue.as_ref().is_some_and(|o| o.recourse) {
        return Err(recourse_term(
            fid,
            "without recourse the supplier owes no buy-back (the bank may write it off)",
        ));
    }
    if pending_buyback(&f).is_some() {
        return Err(ContractError::BuybackPending {
            receivable: r.id.to_string(),
            financing: fid.to_string(),
        }
        .into());
    }
    super::settlement::require_not_settling(st, &r.id)?;
    let fig = figures_today(ctx, &f, &r)?;
    check_amount(format!("buy-back of {fid}"), amount, &fig.claim)?;
    check_payment_ref(payment_ref)?;
    super::settlement::claim_payment_ref(ctx, st, payment_ref, fid)?;
    let b = Buyback {
        amount: fig.claim,
        advanced: fig.advanced,
        penalty: fig.penalty,
        payment_ref: payment_ref.to_string(),
        instructed_on: ctx.today,
        status: SettlementStatus::Pending,
        answered_on: None,
        dispute_reason: None,
    };
    if let Some(o) = f.overdue.as_mut() {
        o.buyback = Some(b);
    }
    save(st, &f);
    Ok(vec![Event::BuybackInstructed {
        financing: fid.clone(),
        supplier: f.applicant,
        bank: terms.bank,
        amount: fig.claim,
        advanced: fig.advanced,
        penalty: fig.penalty,
        payment_ref: payment_ref.to_string(),
    }])
}

/// Loads a financing with a pending buy-back whose funding bank is the signer.
fn load_pending_for_bank(
    ctx: &Ctx,
    st: &StateView<'_>,
    fid: &DocId,
) -> Result<(Financing, FinancingTerms, Receivable), ExecError> {
    super::financing::load_funded(ctx, st, fid)?;
    let (f, terms, r) = load_running(st, fid)?;
    if pending_buyback(&f).is_none() {
        return Err(ContractError::WrongStatus {
            kind: DocKind::Financing,
            id: fid.to_string(),
            status: "overdue, no buy-back pending".into(),
            expected: "a pending buy-back".into(),
        }
        .into());
    }
    Ok((f, terms, r))
}

/// `AcknowledgeBuyback`: the bank received the buy-back money. Its exposure ends, the
/// receivable returns to the supplier (still overdue, owed by the debtor) and the
/// financing closes.
pub fn acknowledge_buyback(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    fid: &DocId,
) -> Result<Vec<Event>, ExecError> {
    let (mut f, terms, mut r) = load_pending_for_bank(ctx, st, fid)?;
    if r.holder != terms.bank || r.financing.as_ref() != Some(fid) {
        return Err(invariant(format!("{} is not held for {fid}", r.id)));
    }
    // While still disbursed: what it counts leaves the bank's limits.
    super::limits::financing_ended(st, &f)?;
    let mut amount = None;
    if let Some(b) = f.overdue.as_mut().and_then(|o| o.buyback.as_mut()) {
        b.status = SettlementStatus::Acknowledged;
        b.answered_on = Some(ctx.today);
        amount = Some(b.amount);
    }
    let amount = amount.ok_or_else(|| invariant(format!("{fid} buy-back vanished")))?;
    f.status = FinancingStatus::Closed;
    save(st, &f);
    r.holder = f.applicant.clone();
    r.financing = None;
    save_receivable(st, &r);
    Ok(vec![
        Event::BuybackAcknowledged {
            financing: fid.clone(),
            receivable: r.id.clone(),
            bank: terms.bank.clone(),
            amount,
        },
        Event::ReceivableAssigned {
            receivable: r.id,
            from: terms.bank,
            to: f.applicant,
            financing: fid.clone(),
        },
        Event::FinancingClosed {
            financing: fid.clone(),
        },
    ])
}

/// `DisputeBuyback`: the bank says the buy-back money did not arrive (in full); nothing
/// changes and the penalty runs on.
pub fn dispute_buyback(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    fid: &DocId,
    reason: &str,
) -> Result<Vec<Event>, ExecError> {
    let (mut f, ..) = load_pending_for_bank(ctx, st, fid)?;
    check_text("reason", reason, 1, 256)?;
    if let Some(b) = f.overdue.as_mut().and_then(|o| o.buyback.as_mut()) {
        b.status = SettlementStatus::Disputed;
        b.answered_on = Some(ctx.today);
        b.dispute_reason = Some(reason.to_string());
    }
    save(st, &f);
    Ok(vec![Event::BuybackDisputed {
        financing: fid.clone(),
        reason: reason.to_string(),
    }])
}

/// `WriteOff`: the funding bank writes off an overdue financing without recourse, for
/// its outstanding advance plus the penalty as of today. Its exposure ends and the
/// financing closes; the receivable stays the bank's, owed by the debtor.
pub fn write_off(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    fid: &DocId,
    amount: Amount,
    reason: &str,
) -> Result<Vec<Event>, ExecError> {
    super::financing::load_funded(ctx, st, fid)?;
    let (mut f, terms, mut r) = load_running(st, fid)?;
    if f.overdue.as_ref().is_some_and(|o| o.recourse) {
        return Err(recourse_term(
            fid,
            "with recourse the supplier buys it back (instruct_buyback); only a financing without recourse is written off",
        ));
    }
    check_text("reason", reason, 1, 256)?;
    super::settlement::require_not_settling(st, &r.id)?;
    let fig = figures_today(ctx, &f, &r)?;
    check_amount(format!("write-off of {fid}"), amount, &fig.claim)?;
    super::limits::financing_ended(st, &f)?;
    if let Some(o) = f.overdue.as_mut() {
        o.write_off = Some(WriteOff {
            amount: fig.claim,
            advanced: fig.advanced,
            penalty: fig.penalty,
            reason: reason.to_string(),
            written_off_on: ctx.today,
        });
    }
    f.status = FinancingStatus::Closed;
    save(st, &f);
    r.financing = None;
    save_receivable(st, &r);
    Ok(vec![
        Event::FinancingWrittenOff {
            financing: fid.clone(),
            receivable: r.id,
            bank: terms.bank,
            amount: fig.claim,
            advanced: fig.advanced,
            penalty: fig.penalty,
            reason: reason.to_string(),
        },
        Event::FinancingClosed {
            financing: fid.clone(),
        },
    ])
}

/// `OfferFinancingWithTerms`: an offer (every rule of `financing::offer`) that names the
/// penalty rate and recourse; under a programme they must be the programme's.
pub fn offer_with_terms(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    fid: &DocId,
    (rate, fees, valid_until): (Rate, Amount, NaiveDate),
    penalty_rate: Rate,
    recourse: bool,
) -> Result<Vec<Event>, ExecError> {
    let events = super::financing::offer(ctx, st, fid, rate, fees, valid_until)?;
    let f: Financing = load_doc(st, DocKind::Financing, fid.as_str())?;
    if let Some(pid) = &f.programme {
        let p: Programme = load_doc(st, DocKind::Programme, pid.as_str())?;
        if (penalty_rate, recourse) != (p.terms.penalty_rate, p.terms.recourse) {
            return Err(ContractError::OutsideProgramme {
                programme: pid.to_string(),
                reason: format!(
                    "its default terms are a {} penalty rate {} recourse",
                    p.terms.penalty_rate,
                    if p.terms.recourse { "with" } else { "without" }
                ),
            }
            .into());
        }
    }
    let oid = f
        .offers
        .last()
        .ok_or_else(|| invariant(format!("{fid} offer not recorded")))?;
    let mut o: Offer = load_doc(st, DocKind::Offer, oid.as_str())?;
    o.penalty_rate = Some(penalty_rate);
    o.recourse = Some(recourse);
    st.store(keys::doc(DocKind::Offer, oid.as_str()), &o);
    Ok(events)
}

/// [`super::apply_action`] of the default actions.
pub fn apply(ctx: &Ctx, st: &mut StateView<'_>, action: &Action) -> Result<Vec<Event>, ExecError> {
    use Action as A;
    match action {
        A::OfferFinancingWithTerms {
            financing,
            rate,
            fees,
            valid_until,
            penalty_rate,
            recourse,
        } => offer_with_terms(
            ctx,
            st,
            financing,
            (*rate, *fees, *valid_until),
            *penalty_rate,
            *recourse,
        ),
        A::InstructBuyback {
            financing,
            amount,
            payment_ref,
        } => instruct_buyback(ctx, st, financing, *amount, payment_ref),
        A::AcknowledgeBuyback { financing } => acknowledge_buyback(ctx, st, financing),
        A::DisputeBuyback { financing, reason } => dispute_buyback(ctx, st, financing, reason),
        A::WriteOff {
            financing,
            amount,
            reason,
        } => write_off(ctx, st, financing, *amount, reason),
        other => Err(StoreError::Invariant(format!(
            "{} is not an overdue or default action",
            other.name()
        ))
        .into()),
    }
}

/// The amount a dual-control policy judges a default action by: an offer's face at
/// stake, the amount a buy-back or write-off states, a pending buy-back's amount.
pub fn action_amount(st: &StateView<'_>, action: &Action) -> Result<Option<Money>, ExecError> {
    use Action as A;
    let (fid, stated) = match action {
        A::OfferFinancingWithTerms { financing, .. } => (financing, None),
        A::InstructBuyback {
            financing, amount, ..
        }
        | A::WriteOff {
            financing, amount, ..
        } => (financing, Some(*amount)),
        A::AcknowledgeBuyback { financing } | A::DisputeBuyback { financing, .. } => {
            let f: Financing = load_doc(st, DocKind::Financing, financing.as_str())?;
            if let Some(b) = pending_buyback(&f) {
                return Ok(Some(b.amount));
            }
            (financing, None)
        }
        _ => return Ok(None),
    };
    let f: Financing = load_doc(st, DocKind::Financing, fid.as_str())?;
    let face = match &f.terms {
        Some(t) => t.face,
        None => {
            let r: Receivable = load_doc(st, DocKind::Receivable, f.receivable.as_str())?;
            Money {
                amount: r.checked_outstanding()?,
                currency: r.face.currency,
            }
        }
    };
    Ok(Some(match stated {
        Some(amount) => Money {
            amount,
            currency: face.currency,
        },
        None => face,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_days_penalty_is_rounded_once_then_multiplied() {
        let base = Money::parse("1234567.89", "CNY").unwrap();
        let rate = Rate::parse("18").unwrap();
        let p = |days| penalty(&base, rate, days, DayCount::Act360).map(|m| m.to_fixed());
        // 1,234,567.89 x 0.0005 = 617.283945 -> 617.28; x 17 = 10,493.76.
        assert_eq!(p(1), Ok("617.28".into()));
        assert_eq!(p(17), Ok("10493.76".into()));
        assert_eq!(p(0), Ok("0.00".into()));
    }
}
