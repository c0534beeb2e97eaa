//! Warehouse receipts: goods a logistics warehouse holds for an owner, one live receipt
//! per (warehouse, lot), pledged to a bank only when the bank accepts, and released only
//! on the owner's instruction and, while pledged, the pledgee's release.

use lianrong_primitives::{Hash, OrgId};

use super::fingerprint::canonical_number;
use super::{check_text, load_doc, load_party, require_new, status_err, Ctx};
use crate::action::Action;
use crate::error::{ContractError, DocKind, ExecError, StoreError};
use crate::events::Event;
use crate::model::{DocId, ReceiptStatus, Role, WarehouseReceipt};
use crate::money::{Quantity, Unit};
use crate::state::{keys, StateView};

/// Writes a receipt (also for `exec::inventory`, which lifts pledges and enforces).
pub(crate) fn save(st: &mut StateView<'_>, r: &WarehouseReceipt) {
    st.store(keys::doc(DocKind::WarehouseReceipt, r.id.as_str()), r);
}

/// Loads a receipt or refuses with `NotFound`.
pub(crate) fn load(st: &StateView<'_>, id: &DocId) -> Result<WarehouseReceipt, ExecError> {
    load_doc(st, DocKind::WarehouseReceipt, id.as_str())
}

/// The lot number as the warehouse's ledger knows it: the same normal form as invoice
/// numbers (ASCII letters and digits), so `LOT-7`, `lot 7` and `ＬＯＴ７` are one lot.
fn canonical_lot(lot: &str) -> Result<String, ContractError> {
    check_text("lot", lot, 1, 64)?;
    canonical_number(lot).map_err(|reason| ContractError::InvalidField {
        field: "lot".into(),
        reason,
    })
}

fn wrong(r: &WarehouseReceipt, expected: &str) -> ExecError {
    status_err(DocKind::WarehouseReceipt, &r.id, r.status, expected)
}

/// What a warehouse receipt says it holds: `quantity` `unit` of `goods` in `lot`.
pub struct Goods<'a> {
    /// The warehouse's lot number.
    pub lot: &'a str,
    /// The goods, as prices name them.
    pub goods: &'a str,
    /// How much.
    pub quantity: Quantity,
    /// In which unit.
    pub unit: &'a Unit,
}

/// [`issue`] of an `IssueWarehouseReceipt` action.
pub fn issue_action(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    action: &Action,
) -> Result<Vec<Event>, ExecError> {
    let Action::IssueWarehouseReceipt {
        id,
        owner,
        lot,
        goods,
        quantity,
        unit,
        doc_hash,
    } = action
    else {
        return Err(StoreError::Invariant(format!(
            "{} is not issue_warehouse_receipt",
            action.name()
        ))
        .into());
    };
    let g = Goods {
        lot,
        goods,
        quantity: *quantity,
        unit,
    };
    issue(ctx, st, id, owner, &g, *doc_hash)
}

/// A warehouse issues a receipt for goods it holds in `lot`; refused while another
/// receipt of this warehouse for the same lot is live, so one lot never backs two pledges.
pub fn issue(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    owner: &OrgId,
    g: &Goods<'_>,
    doc_hash: Hash,
) -> Result<Vec<Event>, ExecError> {
    let Goods { lot, goods, .. } = *g;
    ctx.require_role(Role::Logistics)?;
    require_new(st, DocKind::WarehouseReceipt, id)?;
    let o = load_party(st, owner, "owner", None)?;
    if !(o.has(Role::Core) || o.has(Role::Supplier)) {
        return Err(ContractError::InvalidParty {
            org: owner.clone(),
            party: "owner".into(),
            reason: "goods owners are core enterprises or suppliers".into(),
        }
        .into());
    }
    check_text("goods", goods, 1, 256)?;
    let lot_key = keys::receipt_lot(ctx.org_id(), &canonical_lot(lot)?);
    if let Some(existing) = st.load::<DocId>(&lot_key)? {
        return Err(ContractError::LotAlreadyReceipted {
            warehouse: ctx.org_id().clone(),
            lot: lot.to_string(),
            existing: existing.to_string(),
        }
        .into());
    }
    st.store(lot_key, id);
    let r = WarehouseReceipt {
        id: id.clone(),
        warehouse: ctx.org_id().clone(),
        owner: owner.clone(),
        lot: lot.to_string(),
        goods: goods.to_string(),
        quantity: g.quantity,
        unit: g.unit.clone(),
        doc_hash,
        status: ReceiptStatus::Issued,
        pledge_offer: None,
        pledgee: None,
        release_instructed: false,
    };
    save(st, &r);
    Ok(vec![Event::WarehouseReceiptIssued {
        receipt: id.clone(),
        owner: owner.clone(),
    }])
}

/// The owner offers to pledge an unpledged receipt to a bank; nothing is pledged until
/// the bank accepts. One offer at a time, and none once a release is instructed.
pub fn offer_pledge(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    bank: &OrgId,
) -> Result<Vec<Event>, ExecError> {
    let mut r = load(st, id)?;
    ctx.require_party(&r.owner, "owner", DocKind::WarehouseReceipt, id)?;
    if r.status != ReceiptStatus::Issued || r.pledge_offer.is_some() || r.release_instructed {
        return Err(wrong(
            &r,
            "issued, with no open pledge offer and no release instructed",
        ));
    }
    load_party(st, bank, "pledgee", Some(Role::Bank))?;
    r.pledge_offer = Some(bank.clone());
    save(st, &r);
    Ok(vec![Event::WarehouseReceiptPledgeOffered {
        receipt: id.clone(),
        bank: bank.clone(),
    }])
}

/// Loads a receipt with an open pledge offer to the signing bank.
fn load_offered(ctx: &Ctx, st: &StateView<'_>, id: &DocId) -> Result<WarehouseReceipt, ExecError> {
    ctx.require_role(Role::Bank)?;
    let r = load(st, id)?;
    let Some(bank) = r.pledge_offer.clone() else {
        return Err(wrong(&r, "offered in pledge"));
    };
    ctx.require_party(&bank, "offered pledgee", DocKind::WarehouseReceipt, id)?;
    Ok(r)
}

/// The offered bank accepts: only now is the receipt pledged, to exactly this bank.
pub fn accept_pledge(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
) -> Result<Vec<Event>, ExecError> {
    let mut r = load_offered(ctx, st, id)?;
    r.pledge_offer = None;
    r.pledgee = Some(ctx.org_id().clone());
    r.status = ReceiptStatus::Pledged;
    save(st, &r);
    Ok(vec![Event::WarehouseReceiptPledged {
        receipt: id.clone(),
        bank: ctx.org_id().clone(),
    }])
}

/// The offered bank declines; the receipt stays unpledged.
pub fn decline_pledge(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
) -> Result<Vec<Event>, ExecError> {
    let mut r = load_offered(ctx, st, id)?;
    r.pledge_offer = None;
    save(st, &r);
    Ok(vec![Event::WarehouseReceiptPledgeDeclined {
        receipt: id.clone(),
        bank: ctx.org_id().clone(),
    }])
}

/// The owner withdraws an offer the bank has not answered, so a silent bank never
/// holds the goods hostage.
pub fn withdraw_pledge_offer(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
) -> Result<Vec<Event>, ExecError> {
    let mut r = load(st, id)?;
    ctx.require_party(&r.owner, "owner", DocKind::WarehouseReceipt, id)?;
    let Some(bank) = r.pledge_offer.take() else {
        return Err(wrong(&r, "offered in pledge"));
    };
    save(st, &r);
    Ok(vec![Event::WarehouseReceiptPledgeWithdrawn {
        receipt: id.clone(),
        bank,
    }])
}

/// The pledgee releases its pledge, alone: it gives up only its own security (the
/// goods stay in the warehouse, owned by the owner).
pub fn release_pledge(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Bank)?;
    let mut r = load(st, id)?;
    let Some(pledgee) = r.pledgee.clone() else {
        return Err(wrong(&r, "pledged"));
    };
    ctx.require_party(&pledgee, "pledgee", DocKind::WarehouseReceipt, id)?;
    // A loan's security leaves it by the loan's own rules (release of goods against
    // repayment, full repayment, cancellation), never from under it.
    if let Some(loan) = st.load::<DocId>(&keys::loan_receipt(id.as_str()))? {
        return Err(ContractError::UnderLoan {
            receipt: id.to_string(),
            loan: loan.to_string(),
        }
        .into());
    }
    r.pledgee = None;
    r.status = ReceiptStatus::Issued;
    save(st, &r);
    Ok(vec![Event::WarehouseReceiptPledgeReleased {
        receipt: id.clone(),
        bank: pledgee,
    }])
}

/// The owner instructs the warehouse to release the goods; while pledged the
/// warehouse still waits for the pledgee's release.
pub fn instruct_release(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
) -> Result<Vec<Event>, ExecError> {
    let mut r = load(st, id)?;
    ctx.require_party(&r.owner, "owner", DocKind::WarehouseReceipt, id)?;
    if r.status == ReceiptStatus::Released || r.pledge_offer.is_some() || r.release_instructed {
        return Err(wrong(
            &r,
            "issued or pledged, with no open pledge offer and no release instructed yet",
        ));
    }
    r.release_instructed = true;
    save(st, &r);
    Ok(vec![Event::WarehouseReceiptReleaseInstructed {
        receipt: id.clone(),
        owner: r.owner,
    }])
}

/// The issuing warehouse releases the goods: on the owner's instruction, and not while
/// pledged (the pledgee releases first). The lot is free for a new receipt.
pub fn release(ctx: &Ctx, st: &mut StateView<'_>, id: &DocId) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Logistics)?;
    let mut r = load(st, id)?;
    ctx.require_party(&r.warehouse, "warehouse", DocKind::WarehouseReceipt, id)?;
    if r.status != ReceiptStatus::Issued || !r.release_instructed {
        return Err(wrong(
            &r,
            "issued (not pledged) with the owner's release instruction",
        ));
    }
    r.status = ReceiptStatus::Released;
    let lot_key = keys::receipt_lot(&r.warehouse, &canonical_lot(&r.lot)?);
    st.delete(lot_key);
    save(st, &r);
    Ok(vec![Event::WarehouseReceiptReleased {
        receipt: id.clone(),
    }])
}
