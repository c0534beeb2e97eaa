//! Settlement as two-sided facts: the debtor's instruction (`Repay`, or a maturity
//! settlement 清分 over a root) creates pending settlements; a receivable's outstanding
//! amount falls only when the payee acknowledges one, never on the debtor's word alone.

use lianrong_primitives::{sha256, OrgId};

use super::receivables::{end_financing_on_settlement, save as save_receivable};
use super::{check_payment_ref, check_text, load_doc, next_id, status_err, unindex_maturity, Ctx};
use crate::error::{ContractError, DocKind, ExecError, StoreError};
use crate::events::Event;
use crate::model::{
    DocId, Receivable, ReceivableStatus, Role, Settlement, SettlementStatus, MAX_SETTLEMENT_LINES,
    MAX_SETTLEMENT_WALK,
};
use crate::money::{Amount, Money};
use crate::state::{keys, StateView};

fn save(st: &mut StateView<'_>, s: &Settlement) {
    st.store(keys::doc(DocKind::Settlement, s.id.as_str()), s);
}

/// Refuses if the receivable has a settlement waiting for its payee's answer: while one
/// waits, the receivable cannot move, be financed, disbursed on or instructed again.
pub fn require_not_settling(st: &StateView<'_>, rid: &DocId) -> Result<(), ExecError> {
    if let Some(pending) = st.load::<DocId>(&keys::pending_settlement(rid.as_str()))? {
        return Err(ContractError::SettlementPending {
            receivable: rid.to_string(),
            settlement: pending.to_string(),
        }
        .into());
    }
    Ok(())
}

/// Loads a receivable the signer owes (as a `core` debtor).
fn load_owed(ctx: &Ctx, st: &StateView<'_>, rid: &DocId) -> Result<Receivable, ExecError> {
    ctx.require_role(Role::Core)?;
    let r: Receivable = load_doc(st, DocKind::Receivable, rid.as_str())?;
    ctx.require_party(&r.debtor, "debtor", DocKind::Receivable, rid)?;
    Ok(r)
}

/// One wire, counted once: the payer's references (a debtor's, a supplier's buy-back)
/// are unique ledger-wide (normalised like invoice numbers, so `HX-PAY-1` and
/// `hx pay 1` are one reference).
pub(super) fn claim_payment_ref(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    payment_ref: &str,
    rid: &DocId,
) -> Result<(), ExecError> {
    check_payment_ref(payment_ref)?;
    let ref_key = keys::payment_ref(
        ctx.org_id(),
        &sha256(super::fingerprint::normalize_identifier(payment_ref).as_bytes()),
    );
    if let Some(used) = st.load::<DocId>(&ref_key)? {
        return Err(ContractError::DuplicatePaymentRef {
            payment_ref: payment_ref.to_string(),
            receivable: used.to_string(),
        }
        .into());
    }
    st.store(ref_key, rid);
    Ok(())
}

/// Records one pending settlement of `amount` to the receivable's holder.
fn instruct(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    r: &Receivable,
    amount: Amount,
    payment_ref: &str,
    line: (u32, u32),
) -> Result<Event, ExecError> {
    require_not_settling(st, &r.id)?;
    super::default::require_no_buyback(st, r)?;
    let sid = next_id(st, "settlement", "STL")?;
    let s = Settlement {
        id: sid.clone(),
        debtor: r.debtor.clone(),
        payee: r.holder.clone(),
        receivable: r.id.clone(),
        root: r.root.clone(),
        amount: Money {
            amount,
            currency: r.face.currency,
        },
        payment_ref: payment_ref.to_string(),
        line: line.0,
        lines: line.1,
        instructed_on: ctx.today,
        status: SettlementStatus::Pending,
        answered_on: None,
        dispute_reason: None,
    };
    save(st, &s);
    st.store(keys::pending_settlement(r.id.as_str()), &sid);
    Ok(Event::SettlementInstructed {
        settlement: sid,
        receivable: r.id.clone(),
        debtor: s.debtor,
        payee: s.payee,
        amount: s.amount,
        payment_ref: s.payment_ref,
    })
}

/// The debtor instructs a payment to `payee`, who must still hold the receivable; the
/// outstanding amount does not change until the payee acknowledges it.
pub fn repay(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    rid: &DocId,
    payee: &OrgId,
    amount: Amount,
    payment_ref: &str,
) -> Result<Vec<Event>, ExecError> {
    let r = load_owed(ctx, st, rid)?;
    if !r.status.is_live() {
        return Err(status_err(
            DocKind::Receivable,
            rid,
            r.status,
            "active or overdue",
        ));
    }
    if payee != &r.holder {
        return Err(ContractError::PayeeNotHolder {
            receivable: rid.to_string(),
            payee: payee.clone(),
            holder: r.holder.clone(),
        }
        .into());
    }
    claim_payment_ref(ctx, st, payment_ref, rid)?;
    let paid = Money {
        amount,
        currency: r.face.currency,
    };
    paid.validate(ctx.params.amount_cap)?;
    let outstanding = r.checked_outstanding()?;
    if outstanding.checked_sub(amount).is_none() {
        return Err(ContractError::Overpayment {
            amount: paid.to_fixed(),
            outstanding: Money {
                amount: outstanding,
                currency: r.face.currency,
            }
            .to_fixed(),
        }
        .into());
    }
    Ok(vec![instruct(ctx, st, &r, amount, payment_ref, (1, 1))?])
}

/// The live parts of a root, left to right: what a maturity settlement pays. The walk
/// is bounded ([`MAX_SETTLEMENT_WALK`] receivables, [`MAX_SETTLEMENT_LINES`] lines).
fn live_parts(st: &StateView<'_>, root: &Receivable) -> Result<Vec<Receivable>, ExecError> {
    let limit = |what: String| -> ExecError { ContractError::LimitReached(what).into() };
    let mut stack = vec![root.id.clone()];
    let mut walked = 0usize;
    let mut parts = Vec::new();
    while let Some(id) = stack.pop() {
        walked += 1;
        if walked > MAX_SETTLEMENT_WALK {
            return Err(limit(format!(
                "a maturity settlement walks at most {MAX_SETTLEMENT_WALK} receivables of a root; repay the parts one by one"
            )));
        }
        let r: Receivable = load_doc(st, DocKind::Receivable, id.as_str())?;
        match r.status {
            ReceivableStatus::Split => stack.extend(r.children.iter().rev().cloned()),
            ReceivableStatus::Active | ReceivableStatus::Overdue => parts.push(r),
            ReceivableStatus::Settled => {}
        }
        if parts.len() > MAX_SETTLEMENT_LINES {
            return Err(limit(format!(
                "a maturity settlement pays at most {MAX_SETTLEMENT_LINES} parts; repay the parts one by one"
            )));
        }
    }
    Ok(parts)
}

/// Maturity settlement (清分): one instruction on a root pays every current holder of its
/// live parts their outstanding amounts, one pending settlement per part.
pub fn settle_root(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    root_id: &DocId,
    payment_ref: &str,
) -> Result<Vec<Event>, ExecError> {
    let root = load_owed(ctx, st, root_id)?;
    if root.parent.is_some() {
        return Err(ContractError::InvalidField {
            field: "root".into(),
            reason: format!("{root_id} is a part of {}; name the root", root.root),
        }
        .into());
    }
    check_payment_ref(payment_ref)?;
    let parts = live_parts(st, &root)?;
    if parts.is_empty() {
        return Err(status_err(
            DocKind::Receivable,
            root_id,
            root.status,
            "a root with live parts",
        ));
    }
    claim_payment_ref(ctx, st, payment_ref, root_id)?;
    let lines = u32::try_from(parts.len()).map_err(|_| {
        ContractError::LimitReached(format!("{MAX_SETTLEMENT_LINES} settlement lines"))
    })?;
    let mut events = Vec::with_capacity(parts.len());
    for (line, part) in (1..=lines).zip(&parts) {
        let owed = part.checked_outstanding()?;
        events.push(instruct(ctx, st, part, owed, payment_ref, (line, lines))?);
    }
    Ok(events)
}

/// Loads a pending settlement the signer's org is the payee of, and ends its lock.
fn take_pending(ctx: &Ctx, st: &mut StateView<'_>, sid: &DocId) -> Result<Settlement, ExecError> {
    let s: Settlement = load_doc(st, DocKind::Settlement, sid.as_str())?;
    ctx.require_party(&s.payee, "payee", DocKind::Settlement, sid)?;
    if s.status != SettlementStatus::Pending {
        return Err(status_err(DocKind::Settlement, sid, s.status, "pending"));
    }
    let lock = keys::pending_settlement(s.receivable.as_str());
    if st.load::<DocId>(&lock)?.as_ref() != Some(sid) {
        return Err(StoreError::Invariant(format!(
            "pending settlement {sid} does not lock receivable {}",
            s.receivable
        ))
        .into());
    }
    st.delete(lock);
    Ok(s)
}

/// The payee acknowledges receipt: the amount is repaid, once; paid in full settles the
/// receivable and closes its financing.
pub fn acknowledge(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    sid: &DocId,
) -> Result<Vec<Event>, ExecError> {
    let mut s = take_pending(ctx, st, sid)?;
    let mut r: Receivable = load_doc(st, DocKind::Receivable, s.receivable.as_str())?;
    // The lock kept the receivable live, with this holder, owing at least this amount.
    let left = r
        .checked_outstanding()?
        .checked_sub(s.amount.amount)
        .filter(|_| r.status.is_live() && r.holder == s.payee)
        .ok_or_else(|| {
            StoreError::Invariant(format!("settlement {sid} no longer fits {}", r.id))
        })?;
    // An overdue financing's penalty so far runs on the advance as it stood.
    let folded = super::default::before_repayment(ctx, st, &r)?;
    r.repaid = r.repaid.checked_add(s.amount.amount)?;
    super::limits::settlement_acknowledged(st, &r, &s.amount)?;
    s.status = SettlementStatus::Acknowledged;
    s.answered_on = Some(ctx.today);
    save(st, &s);
    let mut events = vec![
        Event::SettlementAcknowledged {
            settlement: sid.clone(),
            receivable: r.id.clone(),
            payee: s.payee.clone(),
            amount: s.amount,
        },
        Event::ReceivableRepaid {
            receivable: r.id.clone(),
            amount: s.amount,
            to: s.payee.clone(),
            outstanding: Money {
                amount: left,
                currency: r.face.currency,
            },
        },
    ];
    events.extend(folded);
    if left.is_zero() {
        r.status = ReceivableStatus::Settled;
        unindex_maturity(st, r.maturity, &r.id)?;
        events.push(Event::ReceivableSettled {
            receivable: r.id.clone(),
        });
        if let Some(fid) = r.financing.take() {
            events.extend(end_financing_on_settlement(st, &fid)?);
        }
    }
    save_receivable(st, &r);
    Ok(events)
}

/// The payee disputes receipt: nothing is repaid, and the receivable is free for another
/// instruction (under a new reference).
pub fn dispute(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    sid: &DocId,
    reason: &str,
) -> Result<Vec<Event>, ExecError> {
    let mut s = take_pending(ctx, st, sid)?;
    check_text("reason", reason, 1, 256)?;
    s.status = SettlementStatus::Disputed;
    s.answered_on = Some(ctx.today);
    s.dispute_reason = Some(reason.to_string());
    save(st, &s);
    Ok(vec![Event::SettlementDisputed {
        settlement: sid.clone(),
        receivable: s.receivable,
        reason: reason.to_string(),
    }])
}
