//! Receivables: split and transfer, keeping every root's amounts conserved (repayment
//! is in `settlement`).

use lianrong_primitives::OrgId;

use super::{index_maturity, load_doc, load_party, next_id, status_err, unindex_maturity, Ctx};
use crate::error::{ContractError, DocKind, ExecError};
use crate::events::Event;
use crate::model::{
    DocId, Financing, FinancingStatus, Offer, OfferStatus, Receivable, ReceivableStatus, Role,
    MAX_SPLIT_PARTS,
};
use crate::money::{Amount, Money};
use crate::state::{keys, StateView};

/// Saves a receivable.
pub fn save(st: &mut StateView<'_>, r: &Receivable) {
    st.store(keys::doc(DocKind::Receivable, r.id.as_str()), r);
}

/// Loads a receivable that the signer holds and may still move: live, not overdue, not
/// past maturity and not under financing.
pub fn load_movable(ctx: &Ctx, st: &StateView<'_>, id: &DocId) -> Result<Receivable, ExecError> {
    ctx.require_role(Role::Supplier)?;
    let r: Receivable = load_doc(st, DocKind::Receivable, id.as_str())?;
    ctx.require_party(&r.holder, "holder", DocKind::Receivable, id)?;
    match r.status {
        ReceivableStatus::Active => {}
        ReceivableStatus::Overdue => return Err(ContractError::PastMaturity(id.to_string()).into()),
        s => return Err(status_err(DocKind::Receivable, id, s, "active")),
    }
    if let Some(f) = &r.financing {
        return Err(ContractError::UnderFinancing {
            receivable: id.to_string(),
            financing: f.to_string(),
        }
        .into());
    }
    if ctx.today >= r.maturity {
        return Err(ContractError::PastMaturity(id.to_string()).into());
    }
    super::settlement::require_not_settling(st, id)?;
    Ok(r)
}

/// The holder splits a receivable into parts that sum exactly to its face amount.
pub fn split(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    parts: &[Amount],
) -> Result<Vec<Event>, ExecError> {
    let mut r = load_movable(ctx, st, id)?;
    split_into(ctx, st, &mut r, parts)
}

/// Splits `r` (the caller checked who may, and that it may move) into parts summing
/// exactly to its face, nothing repaid: the parts go to its holder, `r` closes as split
/// naming them in `children`. The events start with the split's.
pub fn split_into(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    r: &mut Receivable,
    parts: &[Amount],
) -> Result<Vec<Event>, ExecError> {
    let id = r.id.clone();
    if !r.repaid.is_zero() {
        return Err(ContractError::PartlyRepaid(id.to_string()).into());
    }
    if parts.len() < 2 || parts.len() > MAX_SPLIT_PARTS {
        return Err(ContractError::InvalidField {
            field: "parts".into(),
            reason: format!("a split has 2 to {MAX_SPLIT_PARTS} parts"),
        }
        .into());
    }
    let mut sum = Amount::ZERO;
    for p in parts {
        Money {
            amount: *p,
            currency: r.face.currency,
        }
        .validate(ctx.params.amount_cap)?;
        sum = sum.checked_add(*p)?;
    }
    if sum != r.face.amount {
        return Err(ContractError::SplitSumMismatch {
            sum: sum.to_string(),
            face: r.face.to_fixed(),
        }
        .into());
    }
    let mut events = Vec::with_capacity(parts.len() + 1);
    let mut children = Vec::with_capacity(parts.len());
    for p in parts {
        let cid = next_id(st, "receivable", "RCV")?;
        let child = Receivable {
            id: cid.clone(),
            debtor: r.debtor.clone(),
            holder: r.holder.clone(),
            face: Money {
                amount: *p,
                currency: r.face.currency,
            },
            repaid: Amount::ZERO,
            issue_date: ctx.today,
            maturity: r.maturity,
            root: r.root.clone(),
            parent: Some(r.id.clone()),
            children: vec![],
            invoice: r.invoice.clone(),
            status: ReceivableStatus::Active,
            financing: None,
            tier: r.tier,
        };
        save(st, &child);
        index_maturity(st, child.maturity, &cid)?;
        events.push(Event::ReceivableIssued {
            receivable: cid.clone(),
            holder: child.holder,
            debtor: child.debtor,
            face: child.face,
            maturity: child.maturity,
            root: child.root,
            parent: child.parent,
            invoice: child.invoice,
        });
        children.push(cid);
    }
    r.status = ReceivableStatus::Split;
    unindex_maturity(st, r.maturity, &r.id)?;
    r.children = children.clone();
    save(st, r);
    events.insert(
        0,
        Event::ReceivableSplit {
            receivable: id,
            parts: children,
        },
    );
    Ok(events)
}

/// The holder transfers a receivable to another supplier (tier 2..n).
pub fn transfer(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    to: &OrgId,
) -> Result<Vec<Event>, ExecError> {
    let mut r = load_movable(ctx, st, id)?;
    if to == &r.holder || to == &r.debtor {
        return Err(ContractError::InvalidParty {
            org: to.clone(),
            party: "new holder".into(),
            reason: "must differ from the holder and the debtor".into(),
        }
        .into());
    }
    load_party(st, to, "new holder", Some(Role::Supplier))?;
    let from = std::mem::replace(&mut r.holder, to.clone());
    // One tier further down the chain.
    r.tier = r.tier.saturating_add(1);
    save(st, &r);
    Ok(vec![Event::ReceivableTransferred {
        receivable: id.clone(),
        from,
        to: to.clone(),
    }])
}

/// A settled receivable ends its financing: a disbursed one closes; one still being
/// negotiated is cancelled with its open offers withdrawn.
pub fn end_financing_on_settlement(
    st: &mut StateView<'_>,
    fid: &DocId,
) -> Result<Vec<Event>, ExecError> {
    let mut f: Financing = load_doc(st, DocKind::Financing, fid.as_str())?;
    // Nothing to release from the bank's limits: each acknowledged settlement released
    // what it repaid (`limits::settlement_acknowledged`), and this one repaid the rest.
    let mut events = Vec::new();
    match f.status {
        FinancingStatus::Disbursed => {
            f.status = FinancingStatus::Closed;
            events.push(Event::FinancingClosed {
                financing: fid.clone(),
            });
        }
        FinancingStatus::Requested | FinancingStatus::Accepted => {
            events.extend(withdraw_open_offers(st, &f, None)?);
            f.status = FinancingStatus::Cancelled;
            events.push(Event::FinancingCancelled {
                financing: fid.clone(),
            });
        }
        FinancingStatus::Closed | FinancingStatus::Cancelled => {}
    }
    st.store(keys::doc(DocKind::Financing, fid.as_str()), &f);
    Ok(events)
}

/// Withdraws every open offer of `f` except `keep`.
pub fn withdraw_open_offers(
    st: &mut StateView<'_>,
    f: &Financing,
    keep: Option<&DocId>,
) -> Result<Vec<Event>, ExecError> {
    let mut events = Vec::new();
    for oid in &f.offers {
        if Some(oid) == keep {
            continue;
        }
        let mut o: Offer = load_doc(st, DocKind::Offer, oid.as_str())?;
        if o.status == OfferStatus::Open {
            o.status = OfferStatus::Withdrawn;
            st.store(keys::doc(DocKind::Offer, oid.as_str()), &o);
            events.push(Event::OfferWithdrawn {
                offer: oid.clone(),
                financing: f.id.clone(),
            });
        }
    }
    Ok(events)
}
