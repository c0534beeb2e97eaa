//! A new node joins from a certified snapshot instead of replaying the chain: four
//! validators commit trades, then a fifth node (a full node of every validator) starts
//! with an empty data dir and `--snapshot-from` the bank's node. It checks the snapshot
//! against its genesis file alone, never executes blocks 1..H (it holds none of them),
//! catches up from H+1 like any node, agrees with the others block by block, and answers
//! queries and proofs of documents written before H that a client verifies. Restarted, it
//! starts from its own database.
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
    assert_eq!(
        c.get(joiner, &after, "AUDIT").unwrap(),
        c.get(0, &after, "AUDIT").unwrap()
    );

    // A document written before the snapshot: the same answer as the bank's node, and
    // proofs of it and of its history that a client checks against genesis alone.
    let doc = format!("/v1/receivables/{receivable}");
    assert_eq!(
        c.get(joiner, &doc, "AUDIT").unwrap(),
        c.get(0, &doc, "AUDIT").unwrap()
    );
    let hist = format!("{doc}/history");
    assert_eq!(
        c.get(joiner, &hist, "AUDIT").unwrap(),
        c.get(0, &hist, "AUDIT").unwrap()
    );
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
