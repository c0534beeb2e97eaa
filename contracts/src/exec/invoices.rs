//! Invoices: registration with the ledger-wide fingerprint guard, and confirmation (确权)
//! with its trade-background checks, which creates the root receivable (a maturity past
//! the due date only with the seller's acceptance).

use chrono::NaiveDate;
use lianrong_primitives::Hash;

use super::{check_text, index_maturity, load_doc, next_id, require_new, status_err, Ctx};
use crate::action::InvoiceSpec;
use crate::error::{ContractError, DocKind, ExecError};
use crate::events::Event;
use crate::model::{
    DocId, Invoice, InvoiceStatus, Order, OrderStatus, Org, Receivable, ReceivableStatus, Role,
};
use crate::money::Amount;
use crate::state::{keys, StateView};
use crate::StoreError;

pub use super::fingerprint::{
    canonical_number, fingerprint, normalize_identifier, number_identity,
};

fn save(st: &mut StateView<'_>, inv: &Invoice) {
    st.store(keys::doc(DocKind::Invoice, inv.id.as_str()), inv);
}

fn order_room_err(order: &Order, used: Amount, amount: Amount) -> ExecError {
    ContractError::OrderAmountExceeded {
        order: order.id.to_string(),
        order_amount: order.amount.to_fixed(),
        invoiced: used.to_string(),
        amount: amount.to_string(),
    }
    .into()
}

/// Confirmed invoices are backed by delivered goods: their total (`confirmed`, this
/// invoice's `amount` included) stays within the value of the order's delivered
/// shipments, so one delivered pallet cannot back a ten-million invoice.
fn require_delivered(order: &Order, confirmed: Amount, amount: Amount) -> Result<(), ExecError> {
    if order.delivered.is_zero() {
        return Err(ContractError::DeliveryNotAttested(order.id.to_string()).into());
    }
    if confirmed > order.delivered {
        return Err(ContractError::DeliveredValueExceeded {
            order: order.id.to_string(),
            delivered: order.delivered.to_string(),
            confirmed: order.confirmed.to_string(),
            amount: amount.to_string(),
        }
        .into());
    }
    Ok(())
}

/// Registers an invoice by its seller or buyer; `confirm` (buyer only) confirms it too.
pub fn register(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    spec: &InvoiceSpec,
    confirm: bool,
) -> Result<Vec<Event>, ExecError> {
    require_registrant_role(ctx, confirm)?;
    let mut order: Order = load_doc(st, DocKind::Order, spec.order.as_str())?;
    require_invoiceable_order(ctx, &order, confirm)?;
    check_spec(ctx, st, spec, &order)?;
    let seller = check_tax_ids(st, spec, &order)?;
    let fp = fingerprint(
        &seller.tax_id,
        &spec.number,
        spec.issue_date,
        spec.amount.currency,
        spec.amount.amount,
    );
    if let Some(existing) = st.load::<DocId>(&keys::fingerprint(&fp))? {
        return Err(ContractError::DuplicateInvoice {
            existing: existing.to_string(),
        }
        .into());
    }
    let identity = number_identity(&seller.tax_id, &spec.number);
    if let Some(existing) = st.load::<DocId>(&keys::invoice_number(&identity))? {
        return Err(ContractError::InvoiceNumberConflict {
            existing: existing.to_string(),
            number: spec.number.clone(),
        }
        .into());
    }
    let invoiced = order.invoiced.checked_add(spec.amount.amount)?;
    if invoiced > order.amount.amount {
        return Err(order_room_err(&order, order.invoiced, spec.amount.amount));
    }
    order.invoiced = invoiced;
    st.store(keys::doc(DocKind::Order, order.id.as_str()), &order);
    st.store(keys::fingerprint(&fp), &spec.id);
    st.store(keys::invoice_number(&identity), &spec.id);
    let inv = new_invoice(ctx, spec, &order, fp);
    save(st, &inv);
    let mut events = vec![Event::InvoiceRegistered {
        invoice: inv.id.clone(),
        order: inv.order.clone(),
        number: inv.number.clone(),
        amount: inv.amount,
        fingerprint: fp,
    }];
    if confirm {
        events.extend(confirm_as_buyer(ctx, st, inv, None)?);
    }
    Ok(events)
}

/// Confirming needs the core role; plain registration accepts a supplier or a core
/// enterprise, and reports a missing supplier role when neither is held.
fn require_registrant_role(ctx: &Ctx, confirm: bool) -> Result<(), ExecError> {
    if confirm {
        ctx.require_role(Role::Core)?;
    } else if !(ctx.org.has(Role::Supplier) || ctx.org.has(Role::Core)) {
        ctx.require_role(Role::Supplier)?;
    }
    Ok(())
}

/// The registrant is a party to the order (its buyer when confirming too), and the order
/// has been accepted.
fn require_invoiceable_order(ctx: &Ctx, order: &Order, confirm: bool) -> Result<(), ExecError> {
    if ctx.org_id() != &order.seller && ctx.org_id() != &order.buyer {
        return Err(ContractError::NotParty {
            org: ctx.org_id().clone(),
            party: "seller or buyer".into(),
            kind: DocKind::Order,
            id: order.id.to_string(),
        }
        .into());
    }
    if confirm {
        ctx.require_party(&order.buyer, "buyer", DocKind::Order, &order.id)?;
    }
    if !matches!(order.status, OrderStatus::Accepted | OrderStatus::Fulfilled) {
        return Err(status_err(
            DocKind::Order,
            &order.id,
            order.status,
            "accepted or fulfilled",
        ));
    }
    Ok(())
}

/// The invoice's own fields, and that its id is still free.
fn check_spec(
    ctx: &Ctx,
    st: &StateView<'_>,
    spec: &InvoiceSpec,
    order: &Order,
) -> Result<(), ExecError> {
    require_new(st, DocKind::Invoice, &spec.id)?;
    check_text("number", &spec.number, 1, 64)?;
    canonical_number(&spec.number).map_err(|reason| ContractError::InvalidField {
        field: "number".into(),
        reason,
    })?;
    check_text("seller_tax_id", &spec.seller_tax_id, 1, 64)?;
    check_text("buyer_tax_id", &spec.buyer_tax_id, 1, 64)?;
    spec.amount.validate(ctx.params.amount_cap)?;
    order.amount.same_currency(spec.amount.currency)?;
    if spec.due_date < spec.issue_date {
        return Err(ContractError::InvalidDates(format!(
            "due date {} is before issue date {}",
            spec.due_date, spec.issue_date
        ))
        .into());
    }
    if let Some(m) = spec.maturity.filter(|m| *m < spec.issue_date) {
        return Err(ContractError::InvalidDates(format!(
            "maturity {m} is before issue date {}",
            spec.issue_date
        ))
        .into());
    }
    Ok(())
}

/// The tax ids on the invoice must be the ones the parties registered with; returns the
/// seller, whose registered tax id goes into the fingerprint.
fn check_tax_ids(st: &StateView<'_>, spec: &InvoiceSpec, order: &Order) -> Result<Org, ExecError> {
    let seller: Org = load_doc(st, DocKind::Org, order.seller.as_str())?;
    let buyer: Org = load_doc(st, DocKind::Org, order.buyer.as_str())?;
    for (party, given, registered) in [
        ("seller", &spec.seller_tax_id, &seller.tax_id),
        ("buyer", &spec.buyer_tax_id, &buyer.tax_id),
    ] {
        if normalize_identifier(given) != normalize_identifier(registered) {
            return Err(ContractError::TaxIdMismatch {
                party: party.into(),
                given: given.clone(),
                registered: registered.clone(),
            }
            .into());
        }
    }
    Ok(seller)
}

fn new_invoice(ctx: &Ctx, spec: &InvoiceSpec, order: &Order, fp: Hash) -> Invoice {
    Invoice {
        id: spec.id.clone(),
        order: spec.order.clone(),
        seller: order.seller.clone(),
        buyer: order.buyer.clone(),
        number: spec.number.clone(),
        issue_date: spec.issue_date,
        due_date: spec.due_date,
        maturity: spec.maturity,
        proposed_maturity: None,
        amount: spec.amount,
        seller_tax_id: spec.seller_tax_id.clone(),
        buyer_tax_id: spec.buyer_tax_id.clone(),
        doc_hash: spec.doc_hash,
        fingerprint: fp,
        status: InvoiceStatus::Registered,
        receivable: None,
        dispute_reason: None,
        registered_by: ctx.org_id().clone(),
    }
}

/// The buyer confirms a registered (or disputed) invoice, with the receivable's
/// maturity (`None`: the one named at registration, else the due date).
pub fn confirm(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    maturity: Option<NaiveDate>,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Core)?;
    let inv: Invoice = load_doc(st, DocKind::Invoice, id.as_str())?;
    ctx.require_party(&inv.buyer, "buyer", DocKind::Invoice, id)?;
    require_open(&inv)?;
    confirm_as_buyer(ctx, st, inv, maturity)
}

fn require_open(inv: &Invoice) -> Result<(), ExecError> {
    if matches!(
        inv.status,
        InvoiceStatus::Registered | InvoiceStatus::Disputed
    ) {
        Ok(())
    } else {
        Err(status_err(
            DocKind::Invoice,
            &inv.id,
            inv.status,
            "registered or disputed",
        ))
    }
}

/// The buyer's confirmation, the confirmer already known to be the buyer. A maturity
/// past the due date costs the seller time, so the buyer cannot impose it: unless the
/// seller named exactly that maturity when it registered the invoice, it is only
/// proposed (checked as far as it can be today) and waits for `AcceptMaturity`.
fn confirm_as_buyer(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    mut inv: Invoice,
    maturity: Option<NaiveDate>,
) -> Result<Vec<Event>, ExecError> {
    let m = maturity.or(inv.maturity).unwrap_or(inv.due_date);
    let seller_named = inv.registered_by == inv.seller && inv.maturity == Some(m);
    if m <= inv.due_date || seller_named {
        return issue_receivable(ctx, st, inv, m);
    }
    check_background(ctx, st, &inv, m)?;
    inv.proposed_maturity = Some(m);
    save(st, &inv);
    Ok(vec![Event::MaturityProposed {
        invoice: inv.id,
        maturity: m,
        due_date: inv.due_date,
    }])
}

/// The seller accepts the maturity past the due date the buyer confirmed with; the
/// trade background is checked again as of today and the receivable is created.
pub fn accept_maturity(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Supplier)?;
    let inv: Invoice = load_doc(st, DocKind::Invoice, id.as_str())?;
    ctx.require_party(&inv.seller, "seller", DocKind::Invoice, id)?;
    require_open(&inv)?;
    let Some(m) = inv.proposed_maturity else {
        return Err(status_err(
            DocKind::Invoice,
            id,
            inv.status,
            "a maturity proposed by the buyer",
        ));
    };
    let mut events = vec![Event::MaturityAccepted {
        invoice: id.clone(),
        maturity: m,
    }];
    events.extend(issue_receivable(ctx, st, inv, m)?);
    Ok(events)
}

/// The trade-background checks of a confirmation maturing on `maturity`; returns the
/// order and its confirmed total with this invoice.
fn check_background(
    ctx: &Ctx,
    st: &StateView<'_>,
    inv: &Invoice,
    maturity: NaiveDate,
) -> Result<(Order, Amount), ExecError> {
    let order: Order = load_doc(st, DocKind::Order, inv.order.as_str())?;
    if !matches!(order.status, OrderStatus::Accepted | OrderStatus::Fulfilled) {
        return Err(status_err(
            DocKind::Order,
            &order.id,
            order.status,
            "accepted or fulfilled",
        ));
    }
    let confirmed = order.confirmed.checked_add(inv.amount.amount)?;
    if confirmed > order.amount.amount {
        return Err(order_room_err(&order, order.confirmed, inv.amount.amount));
    }
    if ctx.params.require_delivery {
        require_delivered(&order, confirmed, inv.amount.amount)?;
    }
    if maturity <= ctx.today {
        return Err(ContractError::InvalidDates(format!(
            "maturity {maturity} is not after the confirmation date {}",
            ctx.today
        ))
        .into());
    }
    let tenor = (maturity - ctx.today).num_days();
    if tenor > i64::from(ctx.params.max_tenor_days) {
        return Err(ContractError::TenorTooLong {
            days: tenor,
            cap: ctx.params.max_tenor_days,
        }
        .into());
    }
    Ok((order, confirmed))
}

/// Completes a confirmation: checks the trade background and creates the root
/// receivable maturing on `maturity`.
fn issue_receivable(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    mut inv: Invoice,
    maturity: NaiveDate,
) -> Result<Vec<Event>, ExecError> {
    let (mut order, confirmed) = check_background(ctx, st, &inv, maturity)?;
    order.confirmed = confirmed;
    st.store(keys::doc(DocKind::Order, order.id.as_str()), &order);

    let rid = next_id(st, "receivable", "RCV")?;
    let r = Receivable {
        id: rid.clone(),
        debtor: inv.buyer.clone(),
        holder: inv.seller.clone(),
        face: inv.amount,
        repaid: Amount::ZERO,
        issue_date: ctx.today,
        maturity,
        root: rid.clone(),
        parent: None,
        children: vec![],
        invoice: inv.id.clone(),
        status: ReceivableStatus::Active,
        financing: None,
        tier: 1,
    };
    super::limits::receivable_issued(st, &r)?;
    st.store(keys::doc(DocKind::Receivable, rid.as_str()), &r);
    index_maturity(st, r.maturity, &rid)?;
    inv.status = InvoiceStatus::Confirmed;
    inv.receivable = Some(rid.clone());
    inv.dispute_reason = None;
    inv.proposed_maturity = None;
    save(st, &inv);
    Ok(vec![
        Event::InvoiceConfirmed {
            invoice: inv.id.clone(),
            receivable: rid.clone(),
        },
        Event::ReceivableIssued {
            receivable: rid.clone(),
            holder: r.holder,
            debtor: r.debtor,
            face: r.face,
            maturity: r.maturity,
            root: rid,
            parent: None,
            invoice: inv.id,
        },
    ])
}

/// The buyer disputes a registered invoice.
pub fn dispute(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    reason: &str,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Core)?;
    let mut inv: Invoice = load_doc(st, DocKind::Invoice, id.as_str())?;
    ctx.require_party(&inv.buyer, "buyer", DocKind::Invoice, id)?;
    if inv.status != InvoiceStatus::Registered {
        return Err(status_err(DocKind::Invoice, id, inv.status, "registered"));
    }
    check_text("reason", reason, 1, 256)?;
    inv.status = InvoiceStatus::Disputed;
    inv.dispute_reason = Some(reason.to_string());
    // Disputing withdraws any maturity the buyer proposed.
    inv.proposed_maturity = None;
    save(st, &inv);
    Ok(vec![Event::InvoiceDisputed {
        invoice: id.clone(),
        reason: reason.to_string(),
    }])
}

/// The seller voids a registered or disputed invoice; its fingerprint stays taken so the
/// same invoice can never be registered again.
pub fn void(ctx: &Ctx, st: &mut StateView<'_>, id: &DocId) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Supplier)?;
    let mut inv: Invoice = load_doc(st, DocKind::Invoice, id.as_str())?;
    ctx.require_party(&inv.seller, "seller", DocKind::Invoice, id)?;
    if !matches!(
        inv.status,
        InvoiceStatus::Registered | InvoiceStatus::Disputed
    ) {
        return Err(status_err(
            DocKind::Invoice,
            id,
            inv.status,
            "registered or disputed",
        ));
    }
    let mut order: Order = load_doc(st, DocKind::Order, inv.order.as_str())?;
    // Every registered invoice was added to its order's invoiced total.
    order.invoiced = order
        .invoiced
        .checked_sub(inv.amount.amount)
        .ok_or_else(|| {
            StoreError::Invariant(format!(
                "order {} has {} invoiced, less than invoice {}'s {}",
                order.id, order.invoiced, inv.id, inv.amount.amount
            ))
        })?;
    st.store(keys::doc(DocKind::Order, order.id.as_str()), &order);
    inv.status = InvoiceStatus::Voided;
    save(st, &inv);
    Ok(vec![Event::InvoiceVoided {
        invoice: id.clone(),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn fingerprint_ignores_formatting_but_not_content() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let cny = Currency::new("CNY").unwrap();
        let a = |s| Amount::parse(s).unwrap();
        let base = fingerprint("91310000MA1K", "INV-001", d, cny, a("100.00"));
        assert_eq!(
            base,
            fingerprint("91310000ma1k ", " inv-001", d, cny, a("100"))
        );
        assert_ne!(
            base,
            fingerprint("91310000MA1K", "INV-002", d, cny, a("100.00"))
        );
        assert_ne!(
            base,
            fingerprint("91310000MA1K", "INV-001", d, cny, a("100.01"))
        );
        assert_ne!(
            base,
            fingerprint("91310000MA1X", "INV-001", d, cny, a("100.00"))
        );
        assert_ne!(
            base,
            fingerprint(
                "91310000MA1K",
                "INV-001",
                d.succ_opt().unwrap(),
                cny,
                a("100.00")
            )
        );
    }
}
