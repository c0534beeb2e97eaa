//! Receivable financing: request, offers, acceptance with the exact discount, and
//! disbursement that assigns the receivable to the bank.

use std::collections::BTreeSet;

use lianrong_primitives::OrgId;

use super::receivables::{load_movable, save as save_receivable, withdraw_open_offers};
use super::{check_payment_ref, load_doc, load_party, next_id, status_err, Ctx};
use crate::error::{ContractError, DocKind, ExecError};
use crate::events::Event;
use crate::model::{
    DocId, Financing, FinancingStatus, FinancingTerms, Offer, OfferStatus, Receivable,
    ReceivableStatus, Role, MAX_INVITED_BANKS,
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
    let mut r = load_movable(ctx, st, rid)?;
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
    let fid = next_id(st, "financing", "FIN")?;
    let f = Financing {
        id: fid.clone(),
        receivable: rid.clone(),
        applicant: ctx.org_id().clone(),
        banks: banks.to_vec(),
        offers: vec![],
        status: FinancingStatus::Requested,
        terms: None,
        payment_ref: None,
    };
    save(st, &f);
    r.financing = Some(fid.clone());
    save_receivable(st, &r);
    Ok(vec![Event::FinancingRequested {
        financing: fid,
        receivable: rid.clone(),
        banks: banks.to_vec(),
    }])
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
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Bank)?;
    let mut f: Financing = load_doc(st, DocKind::Financing, fid.as_str())?;
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
        bank: ctx.org_id().clone(),
        rate,
        fees,
        status: OfferStatus::Open,
    };
    save_offer(st, &o);
    f.offers.push(oid.clone());
    save(st, &f);
    Ok(vec![Event::OfferMade {
        offer: oid,
        financing: fid.clone(),
        bank: o.bank,
        rate,
        fees,
    }])
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
    let r: Receivable = load_doc(st, DocKind::Receivable, f.receivable.as_str())?;
    if !r.status.is_live()
        || r.status == crate::model::ReceivableStatus::Overdue
        || ctx.today >= r.maturity
    {
        return Err(ContractError::PastMaturity(r.id.to_string()).into());
    }
    let days = (r.maturity - ctx.today).num_days();
    let days = u32::try_from(days)
        .map_err(|_| ContractError::InvalidDates("tenor out of range".into()))?;
    let face = Money {
        amount: r.checked_outstanding()?,
        currency: r.face.currency,
    };
    let disc = discount(&face, o.rate, days, ctx.params.day_count)?;
    let net = face
        .amount
        .checked_sub(disc.amount)
        .and_then(|x| x.checked_sub(o.fees.amount))
        .filter(|n| !n.is_zero());
    let Some(net) = net else {
        return Err(ContractError::NothingToPay {
            discount: disc.to_fixed(),
            fees: o.fees.to_fixed(),
            face: face.to_fixed(),
        }
        .into());
    };
    let net = Money {
        amount: net,
        currency: face.currency,
    };
    let mut events = withdraw_open_offers(st, &f, Some(oid))?;
    o.status = OfferStatus::Accepted;
    save_offer(st, &o);
    f.status = FinancingStatus::Accepted;
    f.terms = Some(FinancingTerms {
        offer: oid.clone(),
        bank: o.bank.clone(),
        face,
        rate: o.rate,
        fees: o.fees,
        value_date: ctx.today,
        days,
        discount: disc,
        net,
    });
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

fn load_accepted(
    ctx: &Ctx,
    st: &StateView<'_>,
    fid: &DocId,
) -> Result<(Financing, FinancingTerms), ExecError> {
    ctx.require_role(Role::Bank)?;
    let f: Financing = load_doc(st, DocKind::Financing, fid.as_str())?;
    let Some(terms) = f.terms.clone() else {
        // Not accepted yet: no bank is its funder, so the signer cannot be the party.
        return Err(ContractError::NotParty {
            org: ctx.org_id().clone(),
            party: "funding bank".into(),
            kind: DocKind::Financing,
            id: fid.to_string(),
        }
        .into());
    };
    ctx.require_party(&terms.bank, "funding bank", DocKind::Financing, fid)?;
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
    f.status = FinancingStatus::Cancelled;
    save(st, &f);
    release_receivable(st, &f)?;
    Ok(vec![Event::FinancingAbandoned {
        financing: fid.clone(),
    }])
}

/// The accepted bank records its payment of exactly the agreed net amount; the
/// receivable is assigned to the bank.
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
    check_payment_ref(payment_ref)?;
    if net != terms.net.amount {
        return Err(ContractError::NetAmountMismatch {
            given: net.to_string(),
            expected: terms.net.to_fixed(),
        }
        .into());
    }
    let mut r: Receivable = load_doc(st, DocKind::Receivable, f.receivable.as_str())?;
    // The terms were fixed at acceptance; the receivable must still be what they priced:
    // active (not overdue) and owing the face financed (a repayment since then would have
    // the bank pay for a debt already paid to the supplier).
    if r.status != ReceivableStatus::Active {
        return Err(status_err(DocKind::Receivable, &r.id, r.status, "active"));
    }
    let outstanding = r.checked_outstanding()?;
    if outstanding != terms.face.amount {
        return Err(ContractError::FinancedFaceChanged {
            financing: fid.to_string(),
            financed: terms.face.to_fixed(),
            outstanding: outstanding.to_fixed(terms.face.currency.minor_units()),
        }
        .into());
    }
    f.status = FinancingStatus::Disbursed;
    f.payment_ref = Some(payment_ref.to_string());
    save(st, &f);
    let from = std::mem::replace(&mut r.holder, terms.bank.clone());
    save_receivable(st, &r);
    Ok(vec![
        Event::FinancingDisbursed {
            financing: fid.clone(),
            bank: terms.bank.clone(),
            net: terms.net,
            payment_ref: payment_ref.to_string(),
        },
        Event::ReceivableAssigned {
            receivable: r.id.clone(),
            from,
            to: terms.bank,
            financing: fid.clone(),
        },
    ])
}
