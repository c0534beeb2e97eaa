//! Each phase's lanes: which member key signs which items, in which order. A lane is
//! one key, so the items of one lane execute in the order given.

use anyhow::{anyhow, Result};
use lianrong_primitives::OrgId;

use super::plan::{
    carrier_id, core_id, member_key, sme_id, Fate, Item, Plan, CARRIERS, KEYS_PER_CORE,
};
use super::submit::Lane;
use super::tally::Root;

fn lane(org: String, k: usize) -> Result<Lane> {
    Ok(Lane {
        key: member_key(&org, k),
        org: OrgId::new(org.clone()).map_err(|e| anyhow!("{org}: {e}"))?,
        items: Vec::new(),
    })
}

/// One lane per key of every core (lane `c * KEYS_PER_CORE + k`).
fn core_lanes(plan: &Plan) -> Result<Vec<Lane>> {
    let mut out = Vec::with_capacity(plan.cores * KEYS_PER_CORE);
    for c in 0..plan.cores {
        for k in 0..KEYS_PER_CORE {
            out.push(lane(core_id(c), k)?);
        }
    }
    Ok(out)
}

/// One lane per SME (lane `s`).
fn sme_lanes(plan: &Plan) -> Result<Vec<Lane>> {
    (0..plan.smes).map(|s| lane(sme_id(s), 0)).collect()
}

fn num(v: u64) -> Result<u32> {
    u32::try_from(v).map_err(|_| anyhow!("{v} does not fit the preload's items"))
}

fn push(lanes: &mut [Lane], i: usize, item: Item) -> Result<()> {
    lanes
        .get_mut(i)
        .ok_or_else(|| anyhow!("no lane {i}"))?
        .items
        .push(item);
    Ok(())
}

/// Every order, from its core's key.
pub fn orders(plan: &Plan) -> Result<Vec<Lane>> {
    let mut lanes = core_lanes(plan)?;
    for o in 0..plan.orders() {
        let i = plan.core_of(o) * KEYS_PER_CORE + plan.core_key_of(o);
        push(&mut lanes, i, Item::Order(num(o)?))?;
    }
    Ok(lanes)
}

/// Every order accepted by its SME.
pub fn accept(plan: &Plan) -> Result<Vec<Lane>> {
    let mut lanes = sme_lanes(plan)?;
    for o in 0..plan.orders() {
        push(&mut lanes, plan.seller_of(o), Item::Accept(num(o)?))?;
    }
    Ok(lanes)
}

/// Every order's shipment and its delivery, one after the other from one carrier key.
pub fn ship(plan: &Plan) -> Result<Vec<Lane>> {
    let mut lanes = Vec::with_capacity(CARRIERS * KEYS_PER_CORE);
    for c in 0..CARRIERS {
        for k in 0..KEYS_PER_CORE {
            lanes.push(lane(carrier_id(c), k)?);
        }
    }
    for o in 0..plan.orders() {
        let k = (o / CARRIERS as u64 % KEYS_PER_CORE as u64) as usize;
        let i = plan.carrier_of(o) * KEYS_PER_CORE + k;
        push(&mut lanes, i, Item::Ship(num(o)?))?;
        push(&mut lanes, i, Item::Deliver(num(o)?))?;
    }
    Ok(lanes)
}

/// Every invoice, registered and confirmed by its order's core (from the order's key).
pub fn invoices(plan: &Plan) -> Result<Vec<Lane>> {
    let mut lanes = core_lanes(plan)?;
    for o in 0..plan.orders() {
        let i = plan.core_of(o) * KEYS_PER_CORE + plan.core_key_of(o);
        for j in 0..plan.invoices_of(o) {
            let j = u8::try_from(j).map_err(|_| anyhow!("invoice {j} of order {o}"))?;
            push(&mut lanes, i, Item::Invoice(num(o)?, j))?;
        }
    }
    Ok(lanes)
}

/// The mix: splits and transfers by their holders, repayments by their debtors.
pub fn mix(plan: &Plan, roots: &[Root]) -> Result<Vec<Lane>> {
    let mut lanes = sme_lanes(plan)?;
    let smes = lanes.len();
    lanes.extend(core_lanes(plan)?);
    for r in roots {
        let holder = r.holder as usize;
        match r.fate {
            Fate::Split => push(&mut lanes, holder, Item::Split(r.n, r.cents))?,
            Fate::Transfer => {
                let to = num(((holder + 1) % plan.smes.max(1)) as u64)?;
                push(&mut lanes, holder, Item::Transfer(r.n, to))?;
            }
            Fate::Settle => {
                let k = r.n as usize % KEYS_PER_CORE;
                let i = smes + r.debtor as usize * KEYS_PER_CORE + k;
                push(&mut lanes, i, Item::Repay(r.n, r.holder, r.cents))?;
            }
            Fate::Keep => {}
        }
    }
    Ok(lanes)
}

/// Every settlement acknowledged by its payee.
pub fn acknowledge(plan: &Plan, settlements: &[(u32, u32)]) -> Result<Vec<Lane>> {
    let mut lanes = sme_lanes(plan)?;
    for (s, payee) in settlements {
        push(&mut lanes, *payee as usize, Item::Ack(*s))?;
    }
    Ok(lanes)
}
