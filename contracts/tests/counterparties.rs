//! Who trades with whom (issue 12 item 3): buyer and seller of an accepted order become
//! counterparties, which lets each read the other's tax id (api-types' visibility rule).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lianrong_contracts::state::keys;
use lianrong_contracts::testkit::{cny, org, World};
use lianrong_contracts::Action;
use lianrong_primitives::Hash;

#[test]
fn buyer_and_seller_of_an_accepted_order_are_counterparties_both_ways() {
    let mut w = World::new();
    let (core, sup) = (org("CORE-A"), org("SUP-1"));
    let id = w.fresh_id("PO");
    w.ok(
        "CORE-A",
        Action::IssueOrder {
            id: id.clone(),
            seller: sup.clone(),
            amount: cny("100.00"),
            terms: String::new(),
            doc_hash: Hash::ZERO,
            carriers: vec![],
        },
    );
    // An order the seller has not accepted makes no counterparty: ordering from
    // someone must not reveal its tax id.
    assert!(w.raw(&keys::counterparty(&core, &sup)).is_none());
    w.ok("SUP-1", Action::AcceptOrder { order: id });
    assert!(w.raw(&keys::counterparty(&core, &sup)).is_some());
    assert!(w.raw(&keys::counterparty(&sup, &core)).is_some());
    assert!(w.raw(&keys::counterparty(&sup, &org("CORE-B"))).is_none());
}
