//! Catch-up of a validator started late: three of four validators commit a few thousand
//! orders while the fourth has never run; then it starts from an empty data dir, fetches
//! every block from its peers (each certificate checked before the block is executed),
//! and must reach their height with the same blocks, the same state root at every height
//! and every order readable -- while the others kept finalizing without it.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::time::{Duration, Instant};

use lianrong_tests::load::{
    assert_orders_final_everywhere, assert_same_chain, heights, order, Load,
};
use lianrong_tests::{sign, wait_until, Cluster};

/// Orders committed before the late validator starts.
const BEFORE: usize = 2_000;
/// Height reached before it starts: more than two sync answers (16 blocks each), so
/// catch-up has to go on from batch to batch in a network that then goes idle.
const BLOCKS_BEFORE: u64 = 40;
const ORGS: [&str; 2] = ["CORE-A", "CORE-B"];

#[test]
fn a_validator_started_late_catches_up_to_the_same_chain_and_state() {
    let (mut c, _) = Cluster::write_with_spares(4, 0);
    for i in 0..3 {
        c.nodes[i].start();
    }
    for i in 0..3 {
        c.wait_up(i);
    }
    let load = Load::start_with_gap(&c, &ORGS, vec![0, 1, 2], Duration::ZERO);
    let admitted = load.admitted();
    wait_until(
        "the three running validators admitted a few thousand orders in 40 blocks",
        Duration::from_secs(600),
        || admitted.lock().unwrap().len() >= BEFORE && c.height(0) >= BLOCKS_BEFORE,
    );
    let sent = load.finish();
    // What the three finalized so far (at least 40 blocks of a few thousand orders) has
    // to come to the fourth through catch-up; an admitted order lost on the way is
    // resubmitted at the end, as a client would.
    let three = [0, 1, 2];
    let tip = heights(&c, &three).into_iter().min().unwrap();

    let started = Instant::now();
    c.nodes[3].start();
    c.wait_up(3);
    c.wait_nodes_height(&[3], tip, Duration::from_secs(300));
    eprintln!(
        "{} caught up to height {tip} ({} orders admitted in all) in {:.1} s",
        c.nodes[3].name,
        sent.iter().sum::<u64>(),
        started.elapsed().as_secs_f64()
    );

    // The same chain: block hash and the state root it computed, at every height.
    assert_same_chain(&c, &[0, 1, 2, 3], tip);
    let root_at_tip = |i: usize| c.get(i, &format!("/v1/blocks/{tip}"), "AUDIT").unwrap();
    assert_eq!(root_at_tip(3)["state_root"], root_at_tip(0)["state_root"]);
    assert!(
        root_at_tip(3)["state_root"].is_string(),
        "{}",
        root_at_tip(3)
    );
    // Every order is readable on it, and it goes on finalizing with the others.
    assert_orders_final_everywhere(&c, &ORGS, &sent);
    let org = ORGS[0];
    let next = sign(
        &c.chain_id,
        org,
        &c.member_key(org),
        sent[0],
        order(org, sent[0]),
    );
    c.submit(3, &next, org, true).unwrap();
    let after = heights(&c, &[0, 1, 2, 3]).into_iter().max().unwrap();
    c.wait_nodes_height(&[0, 1, 2, 3], after, Duration::from_secs(60));
    assert_same_chain(&c, &[0, 1, 2, 3], after);
}
