//! A new node joins from a certified snapshot instead of replaying the chain: four
//! validators commit trades, then a fifth node (a full node of every validator) starts
//! with an empty data dir and `--snapshot-from` the bank's node. It checks the snapshot
//! against its genesis file alone, never executes blocks 1..H (it holds none of them),
//! catches up from H+1 like any node, agrees with the others block by block, and answers
//! queries and proofs of documents written before H that a client verifies. Restarted, it
//! starts from its own database.
//!
//! After a validator-set change, a node joins in the new epoch (checking the change from
//! genesis) and another joins from that one, which serves the change's block it kept. A
//! validator whose data was lost rejoins from a snapshot and votes again.
//!
//! A server that lies about a chunk is refused at that chunk: see the unit tests of
//! `lianrong_storage::snapshot` and `lianrong_node::join`.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::time::Duration;

use lianrong_contracts::DocKind;
use lianrong_sdk::api_types::ProofResponse;
use lianrong_sdk::TrustRoot;
use lianrong_tests::{wait_until, Cluster, Seeder, Trade};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

fn trade<'t>(ids: &'t str, number: &'t str) -> Trade<'t> {
    Trade {
        ids,
        number,
        buyer: "CORE-A",
        seller: "SUP-1",
        amount: "1000.00",
        buyer_tax_id: "91310000MA1C0REA3U",
        seller_tax_id: "91330000MA25UP1060",
    }
}

/// The height a node started from a snapshot at, from its answer for block 1.
fn snapshot_base(c: &Cluster, i: usize) -> u64 {
    let (status, body) = c.get(i, "/v1/blocks/1", "AUDIT").unwrap_err();
    assert_eq!(status, 404, "{body}");
    let marker = "started from a snapshot at height ";
    let at = body
        .find(marker)
        .unwrap_or_else(|| panic!("block 1 is not refused for a snapshot: {body}"));
    body[at + marker.len()..]
        .split(|ch: char| !ch.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn a_new_node_joins_from_a_certified_snapshot_without_replaying_the_chain() {
    let (mut c, spares) = Cluster::write_with_spares(4, 1);
    let joiner = spares[0].index;
    for i in 0..joiner {
        c.nodes[i].start();
    }
    for i in 0..joiner {
        c.wait_up(i);
    }
    let mut seeder = Seeder::new(&c);
    let (written_at, receivable) = seeder.trade(&trade("SJ-1", "FP-SJ-0001"));
    c.wait_nodes_height(&[0, 1, 2, 3], written_at + 3, Duration::from_secs(30));

    // The fifth node: empty data dir, the bank's node as the snapshot source.
    let nonces = seeder.into_nonces();
    let token = c.token("AUDIT");
    let source = c.nodes[0].api.clone();
    c.nodes[joiner].args = vec![
        "--snapshot-from".into(),
        source,
        "--snapshot-token".into(),
        token,
    ];
    c.nodes[joiner].start();
    c.wait_up(joiner);
    let mut seeder = Seeder::resume(&c, nonces);
    let base = snapshot_base(&c, joiner);
    assert!(
        base > written_at,
        "snapshot at {base}, trade at {written_at}"
    );
    let log = c.nodes[joiner].log();
    assert!(
        log.contains(&format!("started from a snapshot at height {base}")),
        "{log}"
    );
    assert!(
        !log.contains("genesis committed"),
        "it applied genesis: {log}"
    );
    // It holds the block at the base, the same as the bank's.
    let path = format!("/v1/blocks/{base}");
    let ours = c.get(joiner, &path, "AUDIT").unwrap();
    assert_eq!(ours["hash"], c.get(0, &path, "AUDIT").unwrap()["hash"]);

    // The chain goes on; the new node follows from base + 1 like any node, executing
    // what comes.
    let (later_at, later) = seeder.trade(&trade("SJ-2", "FP-SJ-0002"));
    c.wait_nodes_height(&[joiner], later_at + 2, Duration::from_secs(30));
    let top = c.height(joiner).min(c.height(0));
    for h in base..=top {
        let path = format!("/v1/blocks/{h}");
        let (a, b) = (
            c.get(0, &path, "AUDIT").unwrap(),
            c.get(joiner, &path, "AUDIT").unwrap(),
        );
        assert_eq!(a["hash"], b["hash"], "block {h}");
        assert_eq!(a["state_root"], b["state_root"], "state root {h}");
    }
    let after = format!("/v1/receivables/{later}");
    assert_same_answer(&c, joiner, &after, later_at);

    // A document written before the snapshot: the same answer as the bank's node, and
    // proofs of it and of its history that a client checks against genesis alone.
    let doc = format!("/v1/receivables/{receivable}");
    assert_same_answer(&c, joiner, &doc, base);
    let hist = format!("{doc}/history");
    assert_same_answer(&c, joiner, &hist, base);
    let trust = TrustRoot::from_genesis_file(&c.genesis_file()).unwrap();
    let proof_of = |q: &str| -> ProofResponse {
        let path = format!("/v1/proofs/receivable/{receivable}{q}");
        serde_json::from_value(c.get(joiner, &path, "AUDIT").unwrap()).unwrap()
    };
    let v = lianrong_sdk::verify_document(&proof_of(""), DocKind::Receivable, &receivable, &trust)
        .unwrap();
    assert!(v.value.is_some() && v.height >= base, "{v:?}");
    let h = lianrong_sdk::verify_history(
        &proof_of("?of=history"),
        DocKind::Receivable,
        &receivable,
        &trust,
    )
    .unwrap();
    assert!(
        h.entries.iter().any(|e| e.height == written_at),
        "the history lacks the entry of height {written_at}"
    );

    // Restarted, it starts from its own database, not from a snapshot.
    let before = c.height(joiner);
    c.nodes[joiner].kill();
    c.nodes[joiner].start();
    c.wait_up(joiner);
    assert_eq!(snapshot_base(&c, joiner), base);
    wait_until(
        "the restarted node finalizes again",
        Duration::from_secs(30),
        || c.height(joiner) > before,
    );
    assert!(c.nodes[joiner]
        .log()
        .contains("the data dir holds a database: starting from it"));
}

/// Starts node `i` (empty data dir) from the snapshot node `from` serves, and waits until
/// it answers; returns the height it started at.
/// `path` answers the same on node `i` as on node 0, except for the height each says its
/// answer is certified at: read a moment apart while blocks go on, the two may be a block
/// apart (CI saw 38 and 39), and each must cover `at_least`.
fn assert_same_answer(c: &Cluster, i: usize, path: &str, at_least: u64) {
    let mut answers = [
        c.get(i, path, "AUDIT").unwrap(),
        c.get(0, path, "AUDIT").unwrap(),
    ];
    for answer in &mut answers {
        let certified = answer
            .as_object_mut()
            .and_then(|o| o.remove("certified_height"));
        if let Some(h) = certified {
            let h = h
                .as_u64()
                .unwrap_or_else(|| panic!("{path}: certified_height {h}"));
            assert!(h >= at_least, "{path}: certified at {h}, below {at_least}");
        }
    }
    let [ours, theirs] = answers;
    assert_eq!(ours, theirs, "{path}");
}

fn start_from(c: &mut Cluster, i: usize, from: usize) -> u64 {
    let token = c.token("AUDIT");
    c.nodes[i].args = vec![
        "--snapshot-from".into(),
        c.nodes[from].api.clone(),
        "--snapshot-token".into(),
        token,
    ];
    c.nodes[i].start();
    c.wait_up(i);
    snapshot_base(c, i)
}

/// `GET /v1/epochs` of node `i`.
fn epochs(c: &Cluster, i: usize) -> Value {
    c.get(i, "/v1/epochs", "AUDIT").unwrap()
}

/// The first event `name` of a committed transaction as the CLI prints it.
fn event<'v>(committed: &'v Value, name: &str) -> &'v Value {
    committed["events"]
        .as_array()
        .and_then(|evs| evs.iter().find_map(|e| e.get(name)))
        .unwrap_or_else(|| panic!("no {name} event in {committed}"))
}

#[test]
fn nodes_join_across_a_validator_set_change_and_from_a_node_that_joined() {
    let (mut c, spares) = Cluster::write_with_spares(4, 3);
    let added = spares[0].clone();
    let (first, second) = (spares[1].index, spares[2].index);
    for i in 0..=added.index {
        c.nodes[i].start();
    }
    for i in 0..=added.index {
        c.wait_up(i);
    }
    let (written_at, receivable) = Seeder::new(&c).trade(&trade("SJE-1", "FP-SJE-0001"));

    // The validator orgs add the first spare (CORE-A proposes, two more approve: 3 of 4).
    let proposed = c
        .cli(
            1,
            "CORE-A",
            &[
                "governance",
                "propose",
                "add-validator",
                "--org",
                &added.org,
                "--node-key",
                &added.node_key,
                "--address",
                &added.address,
            ],
        )
        .ok()
        .clone();
    let id = event(&proposed, "proposal_opened")["proposal"]
        .as_str()
        .unwrap()
        .to_string();
    c.cli(0, "BANK-A", &["governance", "approve", &id]).ok();
    let executed = c
        .cli(2, "CORE-B", &["governance", "approve", &id])
        .ok()
        .clone();
    event(&executed, "validator_set_changed");
    let mut switch = 0;
    wait_until("the epoch switches", WAIT, || {
        let epochs = c.get(0, "/v1/epochs", "AUDIT").unwrap();
        switch = epochs["changes"][0]["header"]["height"]
            .as_u64()
            .unwrap_or(0);
        switch > 0
    });
    c.wait_nodes_height(&[0, added.index], switch + 3, WAIT);

    // A node joins in epoch 1, checking the change from genesis; its epochs are the bank's.
    let base1 = start_from(&mut c, first, 0);
    assert!(base1 > switch, "snapshot at {base1}, switch at {switch}");
    assert_eq!(epochs(&c, first), epochs(&c, 0));
    // Another joins from that one, which serves the change's block whole.
    c.wait_nodes_height(&[first], base1 + 3, WAIT);
    let base2 = start_from(&mut c, second, first);
    assert!(base2 >= base1, "{base2} < {base1}");
    assert_eq!(epochs(&c, second), epochs(&c, 0));

    // All follow the chain with the same blocks and roots.
    let all = [0, added.index, first, second];
    let target = c.height(0) + 3;
    c.wait_nodes_height(&all, target, WAIT);
    for h in base2..=target {
        let path = format!("/v1/blocks/{h}");
        let bank = c.get(0, &path, "AUDIT").unwrap();
        for i in &all[1..] {
            let b = c.get(*i, &path, "AUDIT").unwrap();
            assert_eq!(b["hash"], bank["hash"], "block {h} on {}", c.nodes[*i].name);
            assert_eq!(
                b["state_root"], bank["state_root"],
                "root {h} on {}",
                c.nodes[*i].name
            );
        }
    }
    // A document written in epoch 0, proven by the second joiner across the change.
    let trust = TrustRoot::from_genesis_file(&c.genesis_file()).unwrap();
    let path = format!("/v1/proofs/receivable/{receivable}?of=history");
    let proof: ProofResponse =
        serde_json::from_value(c.get(second, &path, "AUDIT").unwrap()).unwrap();
    let h = lianrong_sdk::verify_history(&proof, DocKind::Receivable, &receivable, &trust).unwrap();
    assert!(h.entries.iter().any(|e| e.height == written_at));
}

/// The data dir a node's config names (relative paths are the config folder's).
fn data_dir(config: &std::path::Path) -> std::path::PathBuf {
    let cfg: toml::Table = std::fs::read_to_string(config).unwrap().parse().unwrap();
    let dir = std::path::PathBuf::from(cfg["node"]["data_dir"].as_str().unwrap());
    config.parent().unwrap().join(dir)
}

#[test]
fn a_validator_whose_data_was_lost_rejoins_from_a_snapshot_and_votes() {
    let mut c = Cluster::start(4);
    let (logistics, core_b) = (3, 2);
    Seeder::new(&c).trade(&trade("SJV-1", "FP-SJV-0001"));
    // The logistics validator's disk is lost.
    c.nodes[logistics].kill();
    std::fs::remove_dir_all(data_dir(&c.nodes[logistics].config)).unwrap();
    let live = [0, 1, 2];
    let h = live.iter().map(|i| c.height(*i)).max().unwrap();
    c.wait_nodes_height(&live, h + 3, WAIT);
    let base = start_from(&mut c, logistics, 0);
    assert!(base >= h + 3, "snapshot at {base}");
    c.wait_nodes_height(&[logistics], c.height(0), WAIT);
    // Its vote is needed: with core-b frozen, three of four (the quorum) are left only
    // if the rejoined validator votes.
    c.nodes[core_b].pause();
    let now = [0, 1, logistics]
        .iter()
        .map(|i| c.height(*i))
        .max()
        .unwrap();
    c.wait_nodes_height(&[0, 1, logistics], now + 3, WAIT);
    c.nodes[core_b].resume();
    c.wait_nodes_height(&[0, 1, 2, logistics], now + 3, WAIT);
}
