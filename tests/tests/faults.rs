//! Crash faults on real processes: validators killed with SIGKILL under load, restarted,
//! and checked to agree block by block with the ones that kept running.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::time::Duration;

use lianrong_tests::load::{
    assert_orders_final_everywhere, assert_same_chain, heights, round_timeouts, Load,
};
use lianrong_tests::ports::free_port;
use lianrong_tests::{wait_until, Cluster};

#[test]
fn validators_killed_with_sigkill_under_load_recover_and_agree() {
    let mut c = Cluster::start(4);
    let load = Load::start(&c, &["CORE-A", "CORE-B"], vec![0, 1, 2]);
    c.wait_height(5, Duration::from_secs(60));

    // One of four killed: the other three keep finalizing.
    c.nodes[3].kill();
    let before = c.height(0);
    wait_until(
        "three validators finalize 10 more blocks with the fourth dead",
        Duration::from_secs(90),
        || heights(&c, &[0, 1, 2]).iter().all(|h| *h >= before + 10),
    );
    // Restarted, it recovers from its own RocksDB and catches up from its peers.
    c.nodes[3].start();
    c.wait_up(3);
    let target = c.height(0);
    wait_until(
        "the restarted validator catches up",
        Duration::from_secs(90),
        || c.height(3) >= target,
    );
    assert_same_chain(&c, &[0, 1, 2, 3], target);

    // Two of four killed: no quorum, so nothing more is finalized anywhere...
    load.target(vec![0, 1]);
    c.nodes[2].kill();
    c.nodes[3].kill();
    // A block whose certificate was already on the wire may still land: let the pair
    // time out twice first. Then three more timed-out rounds -- consensus time, not wall
    // time -- must finalize nothing.
    let base = round_timeouts(&c, 0);
    wait_until("the pair times out twice", Duration::from_secs(60), || {
        round_timeouts(&c, 0) >= base + 2
    });
    let stalled = heights(&c, &[0, 1]);
    let base = round_timeouts(&c, 0);
    wait_until(
        "three more round timeouts",
        Duration::from_secs(120),
        || round_timeouts(&c, 0) >= base + 3,
    );
    assert_eq!(
        heights(&c, &[0, 1]),
        stalled,
        "blocks were finalized without a quorum"
    );
    let top = stalled.iter().copied().min().unwrap();
    assert_same_chain(&c, &[0, 1], top);

    // ...and with both back, progress resumes and all four agree.
    c.nodes[2].start();
    c.nodes[3].start();
    c.wait_up(2);
    c.wait_up(3);
    load.target(vec![0, 1, 2, 3]);
    let resume = top + 5;
    wait_until(
        "progress resumes once two validators return",
        Duration::from_secs(120),
        || heights(&c, &[0, 1, 2, 3]).iter().all(|h| *h >= resume),
    );
    let sent = load.finish();
    assert_orders_final_everywhere(&c, &["CORE-A", "CORE-B"], &sent);
    let top = heights(&c, &[0, 1, 2, 3]).into_iter().min().unwrap();
    assert_same_chain(&c, &[0, 1, 2, 3], top);
}

/// Found on real processes: two of four validators frozen (SIGSTOP) long enough for their
/// peers' requests to time out, then resumed, read the abandoned streams as truncated
/// frames, counted them as misbehaviour and banned both honest peers: no quorum, for
/// good. A transport fault is not misbehaviour; after the resume the network must make
/// progress again within seconds, ban nobody, and lose no admitted order.
#[test]
fn two_validators_paused_with_sigstop_heal_within_seconds_of_resuming() {
    let c = Cluster::start(4);
    let gap = Duration::from_millis(40);
    let load = Load::start_with_gap(&c, &["CORE-A", "CORE-B"], vec![0, 1], gap);
    c.wait_height(5, Duration::from_secs(60));

    c.nodes[2].pause();
    c.nodes[3].pause();
    // The fault itself: frozen for three request timeouts (10 s each), so the running
    // pair abandons streams to them and their round timeouts back off to the cap.
    std::thread::sleep(Duration::from_secs(32));
    c.nodes[2].resume();
    c.nodes[3].resume();

    let resumed = heights(&c, &[0, 1]).into_iter().max().unwrap();
    wait_until(
        "all four finalize 5 more blocks within 30 s of the resume",
        Duration::from_secs(30),
        || heights(&c, &[0, 1, 2, 3]).iter().all(|h| *h >= resumed + 5),
    );
    for n in &c.nodes {
        let log = n.log();
        assert!(
            !log.contains("peer banned"),
            "{} banned a peer after the pause:\n{}",
            n.name,
            log.lines()
                .filter(|l| l.contains("peer"))
                .take(20)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    load.target(vec![0, 1, 2, 3]);
    let sent = load.finish();
    assert_orders_final_everywhere(&c, &["CORE-A", "CORE-B"], &sent);
    let top = heights(&c, &[0, 1, 2, 3]).into_iter().min().unwrap();
    assert_same_chain(&c, &[0, 1, 2, 3], top);
}

/// Found on real processes: a validator killed while the others committed for a minute
/// came back connected to all three but stayed at its old height, because every message
/// it received was more rounds ahead of it than it accepted. Down for however long, it
/// must catch up within seconds and hold every order committed meanwhile.
#[test]
fn a_validator_down_for_many_rounds_catches_up_with_every_order() {
    // The engine accepts messages up to this many rounds ahead of its own.
    const MAX_ROUNDS_AHEAD: u64 = 64;
    let mut c = Cluster::start(4);
    // Light enough that rounds, not block execution, set the pace.
    let gap = Duration::from_millis(40);
    let load = Load::start_with_gap(&c, &["CORE-A", "CORE-B"], vec![0, 1, 2], gap);
    c.wait_height(5, Duration::from_secs(60));
    let left_at = c.round(3);
    c.nodes[3].kill();
    wait_until(
        "the three others run far more rounds than a message may be ahead",
        Duration::from_secs(240),
        || {
            [0, 1, 2]
                .iter()
                .all(|i| c.round(*i) > left_at + MAX_ROUNDS_AHEAD + 8)
        },
    );
    c.nodes[3].start();
    c.wait_up(3);
    let target = c.height(0);
    wait_until(
        "the restarted validator reaches the others' height within 30 s",
        Duration::from_secs(30),
        || c.height(3) >= target,
    );
    load.target(vec![0, 1, 2, 3]);
    let sent = load.finish();
    assert_orders_final_everywhere(&c, &["CORE-A", "CORE-B"], &sent);
    let top = heights(&c, &[0, 1, 2, 3]).into_iter().min().unwrap();
    assert_same_chain(&c, &[0, 1, 2, 3], top);
}

#[test]
fn a_node_whose_key_is_not_in_genesis_cannot_join() {
    let c = Cluster::start(4);
    // An intruder with the bank's config (same genesis, same peers, same API tokens) but
    // its own fresh node key and ports.
    let dir = c.dir.join("intruder");
    std::fs::create_dir_all(&dir).unwrap();
    let keygen = std::process::Command::new(lianrong_tests::lianrong_bin())
        .args(["keygen", "--out"])
        .arg(dir.join("node_key.json"))
        .output()
        .unwrap();
    assert!(keygen.status.success());
    let bank = &c.nodes[0];
    let text = std::fs::read_to_string(&bank.config).unwrap();
    let mut cfg: toml::Value = toml::from_str(&text).unwrap();
    let bank_dir = bank.config.parent().unwrap();
    let api_port = free_port();
    cfg["node"]["name"] = "intruder".into();
    cfg["node"]["data_dir"] = dir.join("data").to_str().unwrap().into();
    cfg["node"]["node_key"] = dir.join("node_key.json").to_str().unwrap().into();
    cfg["node"]["genesis"] = bank_dir.join("../genesis.json").to_str().unwrap().into();
    cfg["p2p"]["listen"] = format!("/ip4/127.0.0.1/tcp/{}", free_port()).into();
    cfg["api"]["listen"] = format!("127.0.0.1:{api_port}").into();
    std::fs::write(dir.join("config.toml"), toml::to_string(&cfg).unwrap()).unwrap();
    let mut intruder = lianrong_tests::NodeProc::new("intruder", dir.join("config.toml"), api_port);
    intruder.start();

    let api = format!("http://127.0.0.1:{api_port}");
    let token = c.token("AUDIT");
    let status = || -> Option<serde_json::Value> {
        ureq::get(&format!("{api}/v1/status"))
            .set("Authorization", &format!("Bearer {token}"))
            .timeout(Duration::from_secs(5))
            .call()
            .ok()?
            .into_json()
            .ok()
    };
    wait_until(
        "the intruder's API answers",
        Duration::from_secs(60),
        || status().is_some(),
    );
    // It dials the validators and is refused; meanwhile they finalize blocks it never
    // learns of.
    let refusals = || {
        (0..4)
            .filter(|i| c.nodes[*i].log().contains("refused a peer"))
            .count()
    };
    wait_until(
        "a validator refuses the intruder",
        Duration::from_secs(30),
        || refusals() >= 1,
    );
    let start = c.height(0);
    wait_until("the validators move on", Duration::from_secs(30), || {
        c.height(0) >= start + 3
    });
    let s = status().unwrap();
    assert_eq!(s["height"], 0, "the intruder learned blocks: {s}");
    assert_eq!(
        s["peers"].as_array().map(|p| p.len()),
        Some(0),
        "the intruder has peers: {s}"
    );
    intruder.kill();
}
