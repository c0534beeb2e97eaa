//! Receivable financing: request, offers, acceptance with the exact discount, and
//! disbursement that assigns the receivable to the bank.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use lianrong_primitives::OrgId;

use super::receivables::{load_movable, save as save_receivable, withdraw_open_offers};
use super::{check_payment_ref, check_text, load_doc, load_party, next_id, status_err, Ctx};
use crate::error::{ContractError, DocKind, ExecError};
use crate::events::Event;
use crate::model::{
    Disbursement, DisbursementStatus, DocId, Financing, FinancingStatus, FinancingTerms, Offer,
    OfferStatus, Programme, Receivable, ReceivableStatus, Role, MAX_INVITED_BANKS,
};
use crate::money::{discount, Amount, Money, Rate};
use crate::state::{keys, StateView};

/// Most offers one request collects (banks may withdraw and offer again).
pub const MAX_OFFERS_PER_FINANCING: usize = 32;

fn save(st: &mut StateView<'_>, f: &Financing) {
    st.store(keys::doc(DocKind::Financing, f.id.as_str()), f);
}

fn save_offer(st: &mut StateView<'_>, o: &Offer) {
    st.store(keys::doc(DocKind::Offer, o.id.as_str()), o);
}

/// The holder asks named banks to finance a receivable; it is locked meanwhile.
pub fn request(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    rid: &DocId,
    banks: &[OrgId],
) -> Result<Vec<Event>, ExecError> {
    let r = load_movable(ctx, st, rid)?;
    let unique: BTreeSet<&OrgId> = banks.iter().collect();
    if banks.is_empty() || banks.len() > MAX_INVITED_BANKS || unique.len() != banks.len() {
        return Err(ContractError::InvalidField {
            field: "banks".into(),
            reason: format!("name 1 to {MAX_INVITED_BANKS} distinct banks"),
        }
        .into());
    }
    for b in banks {
        load_party(st, b, "bank", Some(Role::Bank))?;
    }
    Ok(open_request(ctx, st, r, banks, None)?.1)
}

/// Records the signer's request on `r` (a receivable it may move) inviting `banks`,
/// under `programme` if given, and locks the receivable; returns the new financing's id
/// and the event.
pub fn open_request(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    mut r: Receivable,
    banks: &[OrgId],
    programme: Option<&Programme>,
) -> Result<(DocId, Vec<Event>), ExecError> {
    let fid = next_id(st, "financing", "FIN")?;
    let f = Financing {
        id: fid.clone(),
        receivable: r.id.clone(),
        applicant: ctx.org_id().clone(),
        banks: banks.to_vec(),
        offers: vec![],
        status: FinancingStatus::Requested,
        terms: None,
        payment_ref: None,
        disbursement: None,
        registration: None,
        programme: programme.map(|p| p.id.clone()),
        recourse: programme.map(|p| p.terms.recourse),
        overdue: None,
    };
    save(st, &f);
    r.financing = Some(fid.clone());
    save_receivable(st, &r);
    let event = Event::FinancingRequested {
        financing: fid.clone(),
        receivable: r.id.clone(),
        banks: banks.to_vec(),
        programme: f.programme,
    };
    Ok((fid, vec![event]))
}

fn release_receivable(st: &mut StateView<'_>, f: &Financing) -> Result<(), ExecError> {
    let mut r: Receivable = load_doc(st, DocKind::Receivable, f.receivable.as_str())?;
    if r.financing.as_ref() == Some(&f.id) {
        r.financing = None;
        save_receivable(st, &r);
    }
    Ok(())
}

/// The applicant cancels a request nobody's offer was accepted on yet.
pub fn cancel(ctx: &Ctx, st: &mut StateView<'_>, fid: &DocId) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Supplier)?;
    let mut f: Financing = load_doc(st, DocKind::Financing, fid.as_str())?;
    ctx.require_party(&f.applicant, "applicant", DocKind::Financing, fid)?;
    let lapsed =
        f.status == FinancingStatus::Accepted && f.terms.as_ref().is_some_and(|t| lapsed(ctx, t));
    if f.status != FinancingStatus::Requested && !lapsed {
        return Err(status_err(
            DocKind::Financing,
            fid,
            f.status,
            "requested, or accepted and not disbursed in time",
        ));
    }
    let mut events = withdraw_open_offers(st, &f, None)?;
    // A lapsed acceptance counted against the bank's limits until now.
    super::limits::financing_ended(st, &f)?;
    f.status = FinancingStatus::Cancelled;
    save(st, &f);
    release_receivable(st, &f)?;
    events.push(Event::FinancingCancelled {
        financing: fid.clone(),
    });
    Ok(events)
}

/// An invited bank offers a rate and fees.
pub fn offer(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    fid: &DocId,
    rate: Rate,
    fees: Amount,
    valid_until: NaiveDate,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Bank)?;
    let f: Financing = load_doc(st, DocKind::Financing, fid.as_str())?;
    if !f.banks.contains(ctx.org_id()) {
        return Err(ContractError::NotParty {
            org: ctx.org_id().clone(),
            party: "invited bank".into(),
            kind: DocKind::Financing,
            id: fid.to_string(),
        }
        .into());
    }
    if f.status != FinancingStatus::Requested {
        return Err(status_err(DocKind::Financing, fid, f.status, "requested"));
    }
    for oid in &f.offers {
        let o: Offer = load_doc(st, DocKind::Offer, oid.as_str())?;
        if &o.bank == ctx.org_id() && o.status == OfferStatus::Open {
            return Err(ContractError::OfferNotAllowed(format!(
                "{} already has open offer {oid}; withdraw it first",
                ctx.org_id()
            ))
            .into());
        }
    }
    check_validity(ctx, valid_until)?;
    if let Some(p) = super::programmes::check_open(st, &f)? {
        let r: Receivable = load_doc(st, DocKind::Receivable, f.receivable.as_str())?;
        super::programmes::check_offer(ctx, &p, &r, rate, fees, valid_until)?;
    }
    let event = make_offer(ctx, st, fid, ctx.org_id(), rate, fees, valid_until)?;
    Ok(vec![event])
}

/// Records `bank`'s open offer on the requested financing `fid` (checked by the caller;
/// the ledger's own offer under an auto-offer programme comes here too).
pub fn make_offer(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    fid: &DocId,
    bank: &OrgId,
    rate: Rate,
    fees: Amount,
    valid_until: NaiveDate,
) -> Result<Event, ExecError> {
    let mut f: Financing = load_doc(st, DocKind::Financing, fid.as_str())?;
    if f.offers.len() >= MAX_OFFERS_PER_FINANCING {
        return Err(ContractError::LimitReached(format!(
            "{MAX_OFFERS_PER_FINANCING} offers per financing"
        ))
        .into());
    }
    let r: Receivable = load_doc(st, DocKind::Receivable, f.receivable.as_str())?;
    let fees = Money {
        amount: fees,
        currency: r.face.currency,
    };
    if !fees.amount.is_zero() {
        fees.validate(ctx.params.amount_cap)?;
    }
    let oid = next_id(st, "offer", "OFR")?;
    let o = Offer {
        id: oid.clone(),
        financing: fid.clone(),
        bank: bank.clone(),
        rate,
        fees,
        valid_until,
        status: OfferStatus::Open,
        penalty_rate: None,
        recourse: None,
    };
    save_offer(st, &o);
    f.offers.push(oid.clone());
    save(st, &f);
    Ok(Event::OfferMade {
        offer: oid,
        financing: fid.clone(),
        bank: o.bank,
        rate,
        fees,
        valid_until,
    })
}

/// An offer is valid from today through at most `max_offer_valid_days` ahead.
pub(super) fn check_validity(ctx: &Ctx, valid_until: NaiveDate) -> Result<(), ContractError> {
    let days = (valid_until - ctx.today).num_days();
    let max = ctx.params.max_offer_valid_days;
    if days < 0 || days > i64::from(max) {
        return Err(ContractError::InvalidField {
            field: "valid_until".into(),
            reason: format!(
                "{valid_until} must lie from today ({}) to {max} days ahead",
                ctx.today
            ),
        });
    }
    Ok(())
}

/// Refuses an offer whose validity ran out before today.
pub(super) fn check_not_expired(
    ctx: &Ctx,
    offer: &DocId,
    valid_until: NaiveDate,
) -> Result<(), ContractError> {
    if ctx.today > valid_until {
        return Err(ContractError::OfferExpired {
            offer: offer.to_string(),
            valid_until: valid_until.to_string(),
        });
    }
    Ok(())
}

/// The exact figures of financing `r` by advancing `advanced` at `rate` with `fees`
/// from today to maturity: (days, discount, net), the discount running on the advanced
/// amount and net = advanced - discount - fees. Refused past maturity or when nothing is
/// left to pay.
pub fn price(
    ctx: &Ctx,
    r: &Receivable,
    advanced: &Money,
    rate: Rate,
    fees: &Money,
) -> Result<(u32, Money, Money), ExecError> {
    if !r.status.is_live() || r.status == ReceivableStatus::Overdue || ctx.today >= r.maturity {
        return Err(ContractError::PastMaturity(r.id.to_string()).into());
    }
    let days = u32::try_from((r.maturity - ctx.today).num_days())
        .map_err(|_| ContractError::InvalidDates("tenor out of range".into()))?;
    let disc = discount(advanced, rate, days, ctx.params.day_count)?;
    let net = advanced
        .amount
        .checked_sub(disc.amount)
        .and_then(|x| x.checked_sub(fees.amount))
        .filter(|n| !n.is_zero());
    let Some(net) = net else {
        return Err(ContractError::NothingToPay {
            discount: disc.to_fixed(),
            fees: fees.to_fixed(),
            face: advanced.to_fixed(),
        }
        .into());
    };
    let net = Money {
        amount: net,
        currency: advanced.currency,
    };
    Ok((days, disc, net))
}

/// A bank withdraws its own open offer.
pub fn withdraw_offer(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    oid: &DocId,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Bank)?;
    let mut o: Offer = load_doc(st, DocKind::Offer, oid.as_str())?;
    ctx.require_party(&o.bank, "offering bank", DocKind::Offer, oid)?;
    if o.status != OfferStatus::Open {
        return Err(status_err(DocKind::Offer, oid, o.status, "open"));
    }
    o.status = OfferStatus::Withdrawn;
    save_offer(st, &o);
    Ok(vec![Event::OfferWithdrawn {
        offer: oid.clone(),
        financing: o.financing,
    }])
}

/// The applicant accepts an offer: the discount is fixed from today's date to maturity,
/// and every other open offer is withdrawn.
pub fn accept_offer(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    oid: &DocId,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Supplier)?;
    let mut o: Offer = load_doc(st, DocKind::Offer, oid.as_str())?;
    let mut f: Financing = load_doc(st, DocKind::Financing, o.financing.as_str())?;
    ctx.require_party(&f.applicant, "applicant", DocKind::Financing, &f.id)?;
    if f.status != FinancingStatus::Requested {
        return Err(status_err(DocKind::Financing, &f.id, f.status, "requested"));
    }
    if o.status != OfferStatus::Open {
        return Err(status_err(DocKind::Offer, oid, o.status, "open"));
    }
    check_not_expired(ctx, oid, o.valid_until)?;
    super::programmes::check_open(st, &f)?;
    let r: Receivable = load_doc(st, DocKind::Receivable, f.receivable.as_str())?;
    let face = Money {
        amount: r.checked_outstanding()?,
        currency: r.face.currency,
    };
    let advanced = super::programmes::advanced(st, &f, &face)?;
    let (days, disc, net) = price(ctx, &r, &advanced, o.rate, &o.fees)?;
    let mut events = withdraw_open_offers(st, &f, Some(oid))?;
    o.status = OfferStatus::Accepted;
    save_offer(st, &o);
    f.status = FinancingStatus::Accepted;
    if f.programme.is_none() {
        // Outside programmes the accepted offer's recourse term is the deal's.
        f.recourse = o.recourse;
    }
    f.terms = Some(FinancingTerms {
        offer: oid.clone(),
        bank: o.bank.clone(),
        face,
        advanced,
        rate: o.rate,
        fees: o.fees,
        value_date: ctx.today,
        days,
        discount: disc,
        net,
        valid_until: o.valid_until,
    });
    super::limits::offer_accepted(st, &f, &r)?;
    save(st, &f);
    events.insert(
        0,
        Event::OfferAccepted {
            offer: oid.clone(),
            financing: f.id.clone(),
            bank: o.bank,
            discount: disc,
            net,
            days,
        },
    );
    Ok(events)
}

/// The financing `fid` the signer (a bank) funds, with its terms, in any status: the one
/// rule of every funding bank's action (disburse, abandon, register, sell, buy-back,
/// write-off). A financing never accepted has no funder, so the signer is not its party.
pub(super) fn load_funded(
    ctx: &Ctx,
    st: &StateView<'_>,
    fid: &DocId,
) -> Result<(Financing, FinancingTerms), ExecError> {
    ctx.require_role(Role::Bank)?;
    let f: Financing = load_doc(st, DocKind::Financing, fid.as_str())?;
    let Some(terms) = f.terms.clone() else {
        return Err(ContractError::NotParty {
            org: ctx.org_id().clone(),
            party: "funding bank".into(),
            kind: DocKind::Financing,
            id: fid.to_string(),
        }
        .into());
    };
    ctx.require_party(&terms.bank, "funding bank", DocKind::Financing, fid)?;
    Ok((f, terms))
}

fn load_accepted(
    ctx: &Ctx,
    st: &StateView<'_>,
    fid: &DocId,
) -> Result<(Financing, FinancingTerms), ExecError> {
    let (f, terms) = load_funded(ctx, st, fid)?;
    if f.status != FinancingStatus::Accepted {
        return Err(status_err(DocKind::Financing, fid, f.status, "accepted"));
    }
    Ok((f, terms))
}

/// An accepted financing not disbursed within `disburse_within_days` of its acceptance
/// (its value date) has lapsed: a bank that neither pays nor abandons cannot lock the
/// receivable until maturity.
fn lapsed(ctx: &Ctx, terms: &FinancingTerms) -> bool {
    (ctx.today - terms.value_date).num_days() > i64::from(ctx.params.disburse_within_days)
}

/// The accepted bank walks away before paying; the receivable is free again.
pub fn abandon(ctx: &Ctx, st: &mut StateView<'_>, fid: &DocId) -> Result<Vec<Event>, ExecError> {
    let (mut f, _) = load_accepted(ctx, st, fid)?;
    super::limits::financing_ended(st, &f)?;
    f.status = FinancingStatus::Cancelled;
    save(st, &f);
    release_receivable(st, &f)?;
    Ok(vec![Event::FinancingAbandoned {
        financing: fid.clone(),
    }])
}

/// The receivable must still be what the terms priced: active (not overdue), owing the
/// face financed (a repayment since then would have the bank pay for a debt already paid
/// to the supplier) and with no settlement waiting for an answer.
fn check_still_priced(
    st: &StateView<'_>,
    fid: &DocId,
    r: &Receivable,
    terms: &FinancingTerms,
) -> Result<(), ExecError> {
    if r.status != ReceivableStatus::Active {
        return Err(status_err(DocKind::Receivable, &r.id, r.status, "active"));
    }
    let outstanding = r.checked_outstanding()?;
    if outstanding != terms.face.amount {
        return Err(ContractError::FinancedFaceChanged {
            financing: fid.to_string(),
            financed: terms.face.to_fixed(),
            outstanding: Money {
                amount: outstanding,
                currency: terms.face.currency,
            }
            .to_fixed(),
        }
        .into());
    }
    super::settlement::require_not_settling(st, &r.id)
}

/// The accepted bank records its payment of exactly the net counted from today (the
/// value date), within the lapse window and the offer's validity; the receivable is
/// assigned to the bank and the applicant is asked to acknowledge the money.
pub fn disburse(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    fid: &DocId,
    payment_ref: &str,
    net: Amount,
) -> Result<Vec<Event>, ExecError> {
    let (mut f, terms) = load_accepted(ctx, st, fid)?;
    if lapsed(ctx, &terms) {
        return Err(ContractError::FinancingLapsed {
            financing: fid.to_string(),
            accepted: terms.value_date.to_string(),
            days: ctx.params.disburse_within_days,
        }
        .into());
    }
    check_not_expired(ctx, &terms.offer, terms.valid_until)?;
    check_payment_ref(payment_ref)?;
    let mut r: Receivable = load_doc(st, DocKind::Receivable, f.receivable.as_str())?;
    check_still_priced(st, fid, &r, &terms)?;
    super::limits::check_disbursement(st, &f, &r)?;
    let (days, disc, due) = price(ctx, &r, &terms.advanced, terms.rate, &terms.fees)?;
    if net != due.amount {
        return Err(ContractError::NetAmountMismatch {
            given: net.to_string(),
            expected: due.to_fixed(),
        }
        .into());
    }
    f.status = FinancingStatus::Disbursed;
    f.payment_ref = Some(payment_ref.to_string());
    f.disbursement = Some(Disbursement {
        payment_ref: payment_ref.to_string(),
        value_date: ctx.today,
        days,
        discount: disc,
        net: due,
        status: DisbursementStatus::Unacknowledged,
        dispute_reason: None,
    });
    save(st, &f);
    let from = std::mem::replace(&mut r.holder, terms.bank.clone());
    save_receivable(st, &r);
    Ok(vec![
        Event::FinancingDisbursed {
            financing: fid.clone(),
            bank: terms.bank.clone(),
            net: due,
            payment_ref: payment_ref.to_string(),
            value_date: ctx.today,
            days,
            discount: disc,
        },
        Event::ReceivableAssigned {
            receivable: r.id.clone(),
            from,
            to: terms.bank,
            financing: fid.clone(),
        },
    ])
}

/// Loads a disbursed financing whose applicant is the signer and which has not been
/// acknowledged yet (unacknowledged, or disputed: a disputed disbursement may still be
/// acknowledged once the money arrives).
fn load_disbursed(
    ctx: &Ctx,
    st: &StateView<'_>,
    fid: &DocId,
) -> Result<(Financing, Disbursement), ExecError> {
    let f: Financing = load_doc(st, DocKind::Financing, fid.as_str())?;
    ctx.require_party(&f.applicant, "applicant", DocKind::Financing, fid)?;
    let status = match &f.disbursement {
        Some(d) if d.status != DisbursementStatus::Acknowledged => {
            let d = d.clone();
            return Ok((f, d));
        }
        Some(_) => "disbursed-acknowledged".to_string(),
        None => format!("{:?}", f.status).to_lowercase(),
    };
    Err(not_unacknowledged(fid, status))
}

fn not_unacknowledged(fid: &DocId, status: String) -> ExecError {
    ContractError::WrongStatus {
        kind: DocKind::Financing,
        id: fid.to_string(),
        status,
        expected: "disbursed, not yet acknowledged".into(),
    }
    .into()
}

/// The applicant acknowledges receiving the net amount: the disbursement is a fact.
pub fn acknowledge_disbursement(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    fid: &DocId,
) -> Result<Vec<Event>, ExecError> {
    let (mut f, mut d) = load_disbursed(ctx, st, fid)?;
    d.status = DisbursementStatus::Acknowledged;
    d.dispute_reason = None;
    f.disbursement = Some(d);
    save(st, &f);
    Ok(vec![Event::DisbursementAcknowledged {
        financing: fid.clone(),
        applicant: f.applicant,
    }])
}

/// The applicant disputes the disbursement; the dispute is on the record for the
/// parties (and auditors) to resolve, and can be ended by an acknowledgement.
pub fn dispute_disbursement(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    fid: &DocId,
    reason: &str,
) -> Result<Vec<Event>, ExecError> {
    let (mut f, mut d) = load_disbursed(ctx, st, fid)?;
    if d.status == DisbursementStatus::Disputed {
        return Err(not_unacknowledged(fid, "disbursed-disputed".into()));
    }
    check_text("reason", reason, 1, 256)?;
    d.status = DisbursementStatus::Disputed;
    d.dispute_reason = Some(reason.to_string());
    f.disbursement = Some(d);
    save(st, &f);
    Ok(vec![Event::DisbursementDisputed {
        financing: fid.clone(),
        reason: reason.to_string(),
    }])
}
