//! `lianrong verify doc|history|block` and `lianrong audit chain|export|verify` against a
//! real one-validator `lianrong testnet` (the process harness of `lianrong-tests`): an
//! order committed through the client verbs is proven from the genesis file alone, a
//! genesis with another validator key makes the same evidence INVALID, and the chain's
//! audit passes from the node and from the exported package.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::path::Path;

use lianrong_tests::{run_cli, CliRun, Cluster};
use serde_json::Value;

/// `lianrong verify {args} --genesis {genesis}` as `org` against the node.
fn verify(c: &Cluster, org: &str, genesis: &Path, args: &[&str]) -> CliRun {
    let g = genesis.to_string_lossy();
    c.run_as(0, org, &[&["verify"], args, &["--genesis", &g]].concat())
}

/// `lianrong audit {args}` as `org` against the node.
fn audit(c: &Cluster, org: &str, args: &[&str]) -> CliRun {
    c.run_as(0, org, &[&["audit"], args].concat())
}

fn valid(run: &CliRun) -> &str {
    assert_eq!(
        run.status.code(),
        Some(0),
        "`lianrong {}`: {}{}",
        run.args.join(" "),
        run.stdout,
        run.stderr
    );
    let last = run.stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("VALID (certified at height "),
        "{}",
        run.stdout
    );
    &run.stdout
}

#[test]
fn documents_blocks_and_the_chain_verify_from_the_genesis_file() {
    let c = Cluster::start(1);
    let genesis = c.genesis_file();
    let issued = c
        .cli(
            0,
            "CORE-A",
            &[
                "order",
                "create",
                "--id",
                "PO-V1",
                "--seller",
                "SUP-1",
                "--amount",
                "1000.00",
                "--doc-hash",
                &"ab".repeat(32),
            ],
        )
        .ok()
        .clone();
    let height = issued["height"].as_u64().unwrap();
    // The order's state is certified EXECUTION_LAG blocks after the one whose
    // certificate commits it (two-chain rule: two above it); one more for slack.
    let certified = height + 3 + lianrong_consensus::EXECUTION_LAG;
    c.wait_height(certified, std::time::Duration::from_secs(30));

    let doc = verify(&c, "CORE-A", &genesis, &["doc", "order", "PO-V1"]);
    let out = valid(&doc);
    assert!(out.contains("\"seller\": \"SUP-1\""), "{out}");
    let history = verify(
        &c,
        "CORE-A",
        &genesis,
        &["history", "order", "PO-V1", "--json"],
    );
    assert_eq!(history.status.code(), Some(0), "{}", history.stderr);
    assert_eq!(history.json["valid"], Value::Bool(true));
    assert_eq!(history.json["value"].as_array().unwrap().len(), 1);
    assert_eq!(history.json["value"][0]["height"].as_u64(), Some(height));
    let block = verify(&c, "SUP-1", &genesis, &["block", &height.to_string()]);
    assert!(valid(&block).contains(&format!("\"height\": {height}")));

    // The same evidence against a genesis naming another validator key is INVALID.
    let mut g: Value = serde_json::from_str(&std::fs::read_to_string(&genesis).unwrap()).unwrap();
    g["validators"][0]["node_key"] = Value::String("11".repeat(32));
    let forged = c.dir.join("other-genesis.json");
    std::fs::write(&forged, g.to_string()).unwrap();
    for args in [&["doc", "order", "PO-V1"][..], &["block", "1"][..]] {
        let run = verify(&c, "CORE-A", &forged, args);
        assert_eq!(run.status.code(), Some(1), "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.starts_with("INVALID: "), "{}", run.stdout);
    }
    // A document the caller may not read (or that does not exist) cannot be checked.
    let missing = verify(&c, "CORE-A", &genesis, &["doc", "order", "PO-NONE"]);
    assert_eq!(missing.status.code(), Some(2), "{}", missing.stdout);

    // The whole chain: from the node (an auditor's key), then as a package.
    let g = genesis.to_string_lossy().into_owned();
    let chain = audit(&c, "AUDIT", &["chain", "--genesis", &g]);
    assert_eq!(
        chain.status.code(),
        Some(0),
        "{}{}",
        chain.stdout,
        chain.stderr
    );
    assert!(chain.stdout.contains("AUDIT PASSED"), "{}", chain.stdout);
    let refused = audit(&c, "CORE-A", &["chain", "--genesis", &g]);
    assert_eq!(refused.status.code(), Some(2), "{}", refused.stdout);
    assert!(
        refused.stderr.contains("banks and auditors"),
        "{}",
        refused.stderr
    );

    let pkg = c.dir.join("package");
    let p = pkg.to_string_lossy().into_owned();
    let export = audit(
        &c,
        "BANK-A",
        &["export", "--genesis", &g, "--out", &p, "--json"],
    );
    assert_eq!(
        export.status.code(),
        Some(0),
        "{}{}",
        export.stdout,
        export.stderr
    );
    assert!(export.json["summary"]["blocks"].as_u64().unwrap() >= height + 3);
    assert_eq!(export.json["summary"]["transactions"].as_u64(), Some(1));
    let txs = std::fs::read_to_string(pkg.join("transactions.jsonl")).unwrap();
    assert!(txs.contains("\"action_name\":\"issue_order\""), "{txs}");
    let offline = run_cli(&["audit", "verify", &p, "--genesis", &g]);
    assert_eq!(
        offline.status.code(),
        Some(0),
        "{}{}",
        offline.stdout,
        offline.stderr
    );
    assert!(offline.stdout.contains("AUDIT PASSED"));
}
