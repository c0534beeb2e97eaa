//! Purchase orders and shipments: the trade background that later proves an invoice is
//! real (warehouse receipts are in `warehouse`).

use lianrong_primitives::{Hash, OrgId};

use super::{check_text, load_doc, load_party, require_new, status_err, Ctx};
use crate::error::{ContractError, DocKind, ExecError};
use crate::events::Event;
use crate::model::{
    DocId, Order, OrderStatus, Role, Shipment, ShipmentStatus, MAX_CARRIERS_PER_ORDER,
    MAX_SHIPMENTS_PER_ORDER,
};
use crate::money::{Amount, Money};
use crate::state::{keys, StateView};

fn save_order(st: &mut StateView<'_>, o: &Order) {
    st.store(keys::doc(DocKind::Order, o.id.as_str()), o);
}

/// The buyer issues an order to a supplier, naming the carriers that may attest it.
// One argument per field of the action, as every other action's rule takes them.
#[allow(clippy::too_many_arguments)]
pub fn issue_order(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    seller: &OrgId,
    amount: &Money,
    terms: &str,
    doc_hash: Hash,
    carriers: &[OrgId],
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
    if carriers.len() > MAX_CARRIERS_PER_ORDER {
        return Err(carrier_limit());
    }
    let mut order = Order {
        id: id.clone(),
        buyer: ctx.org_id().clone(),
        seller: seller.clone(),
        amount: *amount,
        terms: terms.to_string(),
        doc_hash,
        status: OrderStatus::Issued,
        invoiced: Amount::ZERO,
        confirmed: Amount::ZERO,
        carriers: Vec::with_capacity(carriers.len()),
        shipments: vec![],
        shipped: Amount::ZERO,
        delivered: Amount::ZERO,
    };
    let mut events = vec![Event::OrderIssued {
        order: id.clone(),
        buyer: order.buyer.clone(),
        seller: seller.clone(),
        amount: *amount,
    }];
    for c in carriers {
        events.push(name_carrier(st, &mut order, c)?);
    }
    save_order(st, &order);
    Ok(events)
}

fn carrier_limit() -> ExecError {
    ContractError::LimitReached(format!("{MAX_CARRIERS_PER_ORDER} carriers per order")).into()
}

/// Adds `carrier` to the order's named carriers: an admitted logistics org that is
/// neither the buyer nor the seller (a party cannot attest its own trade), named once.
fn name_carrier(
    st: &StateView<'_>,
    order: &mut Order,
    carrier: &OrgId,
) -> Result<Event, ExecError> {
    let refuse = |reason: &str| -> ExecError {
        ContractError::InvalidParty {
            org: carrier.clone(),
            party: "carrier".into(),
            reason: reason.into(),
        }
        .into()
    };
    if carrier == &order.buyer || carrier == &order.seller {
        return Err(refuse(
            "a party to the order cannot attest its own shipments",
        ));
    }
    if order.carriers.contains(carrier) {
        return Err(refuse("already named on this order"));
    }
    if order.carriers.len() >= MAX_CARRIERS_PER_ORDER {
        return Err(carrier_limit());
    }
    load_party(st, carrier, "carrier", Some(Role::Logistics))?;
    order.carriers.push(carrier.clone());
    Ok(Event::CarrierAdded {
        order: order.id.clone(),
        carrier: carrier.clone(),
    })
}

/// The buyer names one more carrier for an order still open for shipments.
pub fn add_carrier(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    carrier: &OrgId,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Core)?;
    let mut o: Order = load_doc(st, DocKind::Order, id.as_str())?;
    ctx.require_party(&o.buyer, "buyer", DocKind::Order, id)?;
    if !matches!(o.status, OrderStatus::Issued | OrderStatus::Accepted) {
        return Err(status_err(
            DocKind::Order,
            id,
            o.status,
            "issued or accepted",
        ));
    }
    let event = name_carrier(st, &mut o, carrier)?;
    save_order(st, &o);
    Ok(vec![event])
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
    // Both have now agreed to trade: each may read the other's tax id from here on.
    st.store(keys::counterparty(&o.buyer, &o.seller), &true);
    st.store(keys::counterparty(&o.seller, &o.buyer), &true);
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
    if o.delivered.is_zero() {
        return Err(ContractError::DeliveryNotAttested(id.to_string()).into());
    }
    o.status = OrderStatus::Fulfilled;
    save_order(st, &o);
    Ok(vec![Event::OrderFulfilled { order: id.clone() }])
}

/// A carrier the order names attests a shipment of an accepted order, worth `value`;
/// the order's shipments never add up to more than its amount.
pub fn attest_shipment(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    order: &DocId,
    value: &Money,
    doc_hash: Hash,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Logistics)?;
    require_new(st, DocKind::Shipment, id)?;
    let mut o: Order = load_doc(st, DocKind::Order, order.as_str())?;
    // Only a named carrier may attest (and so use up the shipment cap); a named carrier
    // is never the buyer or seller, checked again here in case an org gained a role.
    if !o.carriers.contains(ctx.org_id()) || ctx.org_id() == &o.seller || ctx.org_id() == &o.buyer {
        return Err(ContractError::NotParty {
            org: ctx.org_id().clone(),
            party: "named carrier".into(),
            kind: DocKind::Order,
            id: order.to_string(),
        }
        .into());
    }
    if o.status != OrderStatus::Accepted {
        return Err(status_err(DocKind::Order, order, o.status, "accepted"));
    }
    if o.shipments.len() >= MAX_SHIPMENTS_PER_ORDER {
        return Err(ContractError::LimitReached(format!(
            "{MAX_SHIPMENTS_PER_ORDER} shipments per order"
        ))
        .into());
    }
    value.validate(ctx.params.amount_cap)?;
    o.amount.same_currency(value.currency)?;
    let shipped = o.shipped.checked_add(value.amount)?;
    if shipped > o.amount.amount {
        return Err(ContractError::ShipmentValueExceeded {
            order: order.to_string(),
            order_amount: o.amount.to_fixed(),
            shipped: o.shipped.to_string(),
            value: value.amount.to_string(),
        }
        .into());
    }
    o.shipped = shipped;
    o.shipments.push(id.clone());
    save_order(st, &o);
    let s = Shipment {
        id: id.clone(),
        order: order.clone(),
        carrier: ctx.org_id().clone(),
        doc_hash,
        value: *value,
        status: ShipmentStatus::Shipped,
        shipped_on: ctx.today,
        delivered_on: None,
    };
    st.store(keys::doc(DocKind::Shipment, id.as_str()), &s);
    Ok(vec![Event::ShipmentAttested {
        shipment: id.clone(),
        order: order.clone(),
        carrier: s.carrier,
        value: *value,
    }])
}

/// The carrier that attested a shipment attests its delivery; the order's delivered
/// value grows by the shipment's value.
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
    // Delivered values are a part of the shipped ones, which stay within the amount.
    o.delivered = o.delivered.checked_add(s.value.amount)?;
    save_order(st, &o);
    Ok(vec![Event::ShipmentDelivered {
        shipment: id.clone(),
        order: s.order,
        value: s.value,
    }])
}
