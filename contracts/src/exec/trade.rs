//! Purchase orders, shipments and warehouse receipts: the trade background that later
//! proves an invoice is real.

use lianrong_primitives::{Hash, OrgId};

use super::{check_text, load_doc, load_party, require_new, status_err, Ctx};
use crate::error::{ContractError, DocKind, ExecError};
use crate::events::Event;
use crate::model::{
    DocId, Order, OrderStatus, ReceiptStatus, Role, Shipment, ShipmentStatus, WarehouseReceipt,
    MAX_SHIPMENTS_PER_ORDER,
};
use crate::money::{Amount, Money};
use crate::state::{keys, StateView};

fn save_order(st: &mut StateView<'_>, o: &Order) {
    st.store(keys::doc(DocKind::Order, o.id.as_str()), o);
}

/// The buyer issues an order to a supplier.
pub fn issue_order(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    seller: &OrgId,
    amount: &Money,
    terms: &str,
    doc_hash: Hash,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Core)?;
    require_new(st, DocKind::Order, id)?;
    if seller == ctx.org_id() {
        return Err(ContractError::InvalidParty {
            org: seller.clone(),
            party: "seller".into(),
            reason: "the buyer cannot sell to itself".into(),
        }
        .into());
    }
    load_party(st, seller, "seller", Some(Role::Supplier))?;
    amount.validate(ctx.params.amount_cap)?;
    check_text("terms", terms, 0, 256)?;
    let order = Order {
        id: id.clone(),
        buyer: ctx.org_id().clone(),
        seller: seller.clone(),
        amount: *amount,
        terms: terms.to_string(),
        doc_hash,
        status: OrderStatus::Issued,
        invoiced: Amount::ZERO,
        confirmed: Amount::ZERO,
        shipments: vec![],
        delivered: false,
    };
    save_order(st, &order);
    Ok(vec![Event::OrderIssued {
        order: id.clone(),
        buyer: order.buyer,
        seller: seller.clone(),
        amount: *amount,
    }])
}

/// The seller accepts an issued order.
pub fn accept_order(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Supplier)?;
    let mut o: Order = load_doc(st, DocKind::Order, id.as_str())?;
    ctx.require_party(&o.seller, "seller", DocKind::Order, id)?;
    if o.status != OrderStatus::Issued {
        return Err(status_err(DocKind::Order, id, o.status, "issued"));
    }
    o.status = OrderStatus::Accepted;
    save_order(st, &o);
    Ok(vec![Event::OrderAccepted { order: id.clone() }])
}

/// The buyer cancels an order nothing was invoiced or shipped against.
pub fn cancel_order(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Core)?;
    let mut o: Order = load_doc(st, DocKind::Order, id.as_str())?;
    ctx.require_party(&o.buyer, "buyer", DocKind::Order, id)?;
    if !matches!(o.status, OrderStatus::Issued | OrderStatus::Accepted)
        || !o.invoiced.is_zero()
        || !o.shipments.is_empty()
    {
        return Err(status_err(
            DocKind::Order,
            id,
            o.status,
            "issued or accepted, with no invoice or shipment",
        ));
    }
    o.status = OrderStatus::Cancelled;
    save_order(st, &o);
    Ok(vec![Event::OrderCancelled { order: id.clone() }])
}

/// The buyer marks an accepted order fulfilled once a delivery is attested.
pub fn fulfil_order(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Core)?;
    let mut o: Order = load_doc(st, DocKind::Order, id.as_str())?;
    ctx.require_party(&o.buyer, "buyer", DocKind::Order, id)?;
    if o.status != OrderStatus::Accepted {
        return Err(status_err(DocKind::Order, id, o.status, "accepted"));
    }
    if !o.delivered {
        return Err(ContractError::DeliveryNotAttested(id.to_string()).into());
    }
    o.status = OrderStatus::Fulfilled;
    save_order(st, &o);
    Ok(vec![Event::OrderFulfilled { order: id.clone() }])
}

/// A logistics firm attests a shipment for an accepted order.
pub fn attest_shipment(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    order: &DocId,
    doc_hash: Hash,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Logistics)?;
    require_new(st, DocKind::Shipment, id)?;
    let mut o: Order = load_doc(st, DocKind::Order, order.as_str())?;
    if o.status != OrderStatus::Accepted {
        return Err(status_err(DocKind::Order, order, o.status, "accepted"));
    }
    if o.shipments.len() >= MAX_SHIPMENTS_PER_ORDER {
        return Err(ContractError::LimitReached(format!(
            "{MAX_SHIPMENTS_PER_ORDER} shipments per order"
        ))
        .into());
    }
    o.shipments.push(id.clone());
    save_order(st, &o);
    let s = Shipment {
        id: id.clone(),
        order: order.clone(),
        carrier: ctx.org_id().clone(),
        doc_hash,
        status: ShipmentStatus::Shipped,
        shipped_on: ctx.today,
        delivered_on: None,
    };
    st.store(keys::doc(DocKind::Shipment, id.as_str()), &s);
    Ok(vec![Event::ShipmentAttested {
        shipment: id.clone(),
        order: order.clone(),
        carrier: s.carrier,
    }])
}

/// The carrier that attested a shipment attests its delivery.
pub fn confirm_delivery(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Logistics)?;
    let mut s: Shipment = load_doc(st, DocKind::Shipment, id.as_str())?;
    ctx.require_party(&s.carrier, "carrier", DocKind::Shipment, id)?;
    if s.status != ShipmentStatus::Shipped {
        return Err(status_err(DocKind::Shipment, id, s.status, "shipped"));
    }
    s.status = ShipmentStatus::Delivered;
    s.delivered_on = Some(ctx.today);
    st.store(keys::doc(DocKind::Shipment, id.as_str()), &s);
    let mut o: Order = load_doc(st, DocKind::Order, s.order.as_str())?;
    o.delivered = true;
    save_order(st, &o);
    Ok(vec![Event::ShipmentDelivered {
        shipment: id.clone(),
        order: s.order,
    }])
}

/// A warehouse issues a receipt for goods it holds.
pub fn issue_receipt(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    owner: &OrgId,
    goods: &str,
    doc_hash: Hash,
) -> Result<Vec<Event>, ExecError> {
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
    let r = WarehouseReceipt {
        id: id.clone(),
        warehouse: ctx.org_id().clone(),
        owner: owner.clone(),
        goods: goods.to_string(),
        doc_hash,
        status: ReceiptStatus::Issued,
        pledgee: None,
        release_consented: false,
    };
    st.store(keys::doc(DocKind::WarehouseReceipt, id.as_str()), &r);
    Ok(vec![Event::WarehouseReceiptIssued {
        receipt: id.clone(),
        owner: owner.clone(),
    }])
}

/// The goods' owner pledges the receipt to a bank.
pub fn pledge_receipt(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    bank: &OrgId,
) -> Result<Vec<Event>, ExecError> {
    let mut r: WarehouseReceipt = load_doc(st, DocKind::WarehouseReceipt, id.as_str())?;
    ctx.require_party(&r.owner, "owner", DocKind::WarehouseReceipt, id)?;
    if r.status != ReceiptStatus::Issued {
        return Err(status_err(
            DocKind::WarehouseReceipt,
            id,
            r.status,
            "issued",
        ));
    }
    load_party(st, bank, "pledgee", Some(Role::Bank))?;
    r.status = ReceiptStatus::Pledged;
    r.pledgee = Some(bank.clone());
    r.release_consented = false;
    st.store(keys::doc(DocKind::WarehouseReceipt, id.as_str()), &r);
    Ok(vec![Event::WarehouseReceiptPledged {
        receipt: id.clone(),
        bank: bank.clone(),
    }])
}

/// The pledgee bank consents to releasing pledged goods.
pub fn consent_release(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Bank)?;
    let mut r: WarehouseReceipt = load_doc(st, DocKind::WarehouseReceipt, id.as_str())?;
    let pledgee = r.pledgee.clone().unwrap_or_else(|| r.owner.clone());
    ctx.require_party(&pledgee, "pledgee", DocKind::WarehouseReceipt, id)?;
    if r.status != ReceiptStatus::Pledged || r.release_consented {
        return Err(status_err(
            DocKind::WarehouseReceipt,
            id,
            r.status,
            "pledged without consent yet",
        ));
    }
    r.release_consented = true;
    st.store(keys::doc(DocKind::WarehouseReceipt, id.as_str()), &r);
    Ok(vec![Event::WarehouseReceiptReleaseConsented {
        receipt: id.clone(),
        bank: pledgee,
    }])
}

/// The issuing warehouse releases the goods: at once if not pledged, or after the
/// pledgee's consent.
pub fn release_receipt(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Logistics)?;
    let mut r: WarehouseReceipt = load_doc(st, DocKind::WarehouseReceipt, id.as_str())?;
    ctx.require_party(&r.warehouse, "warehouse", DocKind::WarehouseReceipt, id)?;
    let ok = r.status == ReceiptStatus::Issued
        || (r.status == ReceiptStatus::Pledged && r.release_consented);
    if !ok {
        return Err(status_err(
            DocKind::WarehouseReceipt,
            id,
            r.status,
            "issued, or pledged with the bank's consent",
        ));
    }
    r.status = ReceiptStatus::Released;
    st.store(keys::doc(DocKind::WarehouseReceipt, id.as_str()), &r);
    Ok(vec![Event::WarehouseReceiptReleased {
        receipt: id.clone(),
    }])
}
