//! schemathesis against a live node: the node's own `/openapi.json` is the contract, and
//! every operation, for every kind of caller, must keep it -- no 5xx for any input,
//! answers (errors included) of the documented schema, status and content type, bad input
//! refused with 4xx, good input not refused.
//!
//! A four-node network is seeded with a real trade (order, shipment, warehouse receipt,
//! invoice, receivable split and passed to a tier-2 supplier, a settlement of the part kept,
//! a financing request and a bank's offer), and the document is given those ids as
//! examples, so generated requests reach past 404s. schemathesis (pinned in
//! `tests/schemathesis/requirements.txt`, installed by `scripts/setup`) then runs once per
//! role: a bank, an auditor, a core enterprise, a tier-2 supplier, a logistics firm, and
//! no credentials at all.
//!
//! Without schemathesis the test is skipped on a developer's machine and fails in CI (`CI`
//! set), like the browser tests without Chromium. `LIANRONG_SCHEMATHESIS_EXAMPLES` raises
//! the cases per operation (default 10) and `LIANRONG_SCHEMATHESIS_SEED` pins the seed
//! (each run prints the one it used); see tests/README.md.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lianrong_contracts::model::DocId;
use lianrong_contracts::money::{Amount, Rate};
use lianrong_contracts::Action;
use lianrong_primitives::{Hash, OrgId};
use lianrong_tests::{event_field, sign, Cluster, Seeder, Trade};
use serde_json::{json, Value};

/// The roles schemathesis runs as: (what the report calls them, the org whose API token
/// they send; `None` sends no credentials).
const ROLES: [(&str, Option<&str>); 6] = [
    ("bank", Some("BANK-A")),
    ("auditor", Some("AUDIT")),
    ("core enterprise", Some("CORE-A")),
    ("tier-2 supplier", Some("SUP-3")),
    ("logistics", Some("LOGI")),
    ("no credentials", None),
];

/// Cases per operation in the fuzzing phase unless `LIANRONG_SCHEMATHESIS_EXAMPLES` says
/// otherwise: with the coverage phase's own cases, six roles take about two minutes.
const DEFAULT_EXAMPLES: u32 = 10;

/// Longest one role's run may take before it is killed and the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

/// The pinned schemathesis version (the requirement file `scripts/setup` installs).
fn pinned_version() -> String {
    include_str!("../schemathesis/requirements.txt")
        .lines()
        .find_map(|l| l.trim().strip_prefix("schemathesis=="))
        .expect("requirements.txt pins schemathesis")
        .trim()
        .to_string()
}

/// Where `scripts/setup` installs it: a virtual environment under the user's cache.
fn default_install() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp/.cache"));
    cache.join("lianrong/schemathesis/bin/schemathesis")
}

/// The schemathesis executable (`LIANRONG_SCHEMATHESIS`, else where `scripts/setup` puts
/// it) at the pinned version. Missing or another version: `None` with a message on a
/// developer's machine; a failure in CI, where a missing tool is a broken setup.
fn schemathesis() -> Option<PathBuf> {
    let bin = std::env::var_os("LIANRONG_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(default_install);
    let pinned = pinned_version();
    let version = Command::new(&bin)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let problem = match version {
        Some(v) if v.ends_with(&format!("version {pinned}")) => return Some(bin),
        Some(v) => format!("{} is {v:?}, not the pinned {pinned}", bin.display()),
        None => format!("schemathesis is not installed at {}", bin.display()),
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "{problem} and CI is set: run scripts/setup (it installs schemathesis {pinned})"
    );
    eprintln!("SKIPPED: {problem} (scripts/setup installs schemathesis {pinned})");
    None
}

fn id(s: &str) -> DocId {
    DocId::new(s).unwrap()
}

fn org(s: &str) -> OrgId {
    OrgId::new(s).unwrap()
}

/// The ids the seeded ledger holds, by the parameter they go into.
struct Seeded {
    order: String,
    shipment: String,
    warehouse_receipt: String,
    invoice: String,
    fingerprint: String,
    /// The receivable passed to SUP-3, then the root it was split from.
    receivables: [String; 2],
    financing: String,
    offer: String,
    settlement: String,
    height: u64,
    tx_hashes: Vec<String>,
    /// A signed transaction no one submitted yet (hex), and another for the batch.
    fresh_txs: [String; 2],
}

/// A trade CORE-A -> SUP-1 -> SUP-3 with every kind of document, through node 0.
fn seed(c: &Cluster) -> Seeded {
    let mut s = Seeder::new(c);
    let (height, root) = s.trade(&Trade {
        ids: "API-1",
        number: "FP-API-0001",
        buyer: "CORE-A",
        seller: "SUP-1",
        amount: "1000000.00",
        buyer_tax_id: "91310000MA1C0REA3U",
        seller_tax_id: "91330000MA25UP1060",
    });
    let wr = s.run(
        "LOGI",
        Action::IssueWarehouseReceipt {
            id: id("WR-API-1"),
            owner: org("SUP-1"),
            lot: "LOT-SCHEMA-1".into(),
            goods: "cold-rolled steel coil".into(),
            quantity: lianrong_contracts::money::Quantity::parse("200").unwrap(),
            unit: lianrong_contracts::money::Unit::parse("t").unwrap(),
            doc_hash: Hash::ZERO,
        },
    );
    let split = s.run(
        "SUP-1",
        Action::SplitReceivable {
            receivable: id(&root),
            parts: vec![
                Amount::parse("600000.00").unwrap(),
                Amount::parse("400000.00").unwrap(),
            ],
        },
    );
    let parts = event_field(&split, "receivable_split", "parts");
    let (kept, part) = (parts[0].as_str().unwrap(), parts[1].as_str().unwrap());
    let part = part.to_string();
    let repaid = s.run(
        "CORE-A",
        Action::Repay {
            receivable: id(kept),
            payee: org("SUP-1"),
            amount: Amount::parse("100000.00").unwrap(),
            payment_ref: "HX-API-0001".into(),
        },
    );
    let settlement = event_field(&repaid, "settlement_instructed", "settlement");
    s.run(
        "SUP-1",
        Action::TransferReceivable {
            receivable: id(&part),
            to: org("SUP-3"),
        },
    );
    let asked = s.run(
        "SUP-3",
        Action::RequestFinancing {
            receivable: id(&part),
            banks: vec![org("BANK-A"), org("BANK-B")],
        },
    );
    let financing = event_field(&asked, "financing_requested", "financing");
    let financing = financing.as_str().unwrap().to_string();
    let offered = s.run(
        "BANK-A",
        Action::OfferFinancing {
            financing: id(&financing),
            rate: Rate::parse("3.65").unwrap(),
            fees: Amount::parse("0.00").unwrap(),
            valid_until: c.business_date(7),
        },
    );
    let offer = event_field(&offered, "offer_made", "offer");
    let invoice = c.get(0, "/v1/invoices/INV-API-1", "AUDIT").unwrap();
    // Signed by orgs the seeder never signs for, so nonce 0 is theirs to use.
    let fresh = |who: &str| {
        let tx = sign(
            &c.chain_id,
            who,
            &c.member_key(who),
            0,
            Action::AcceptOrder {
                order: id("PO-NEVER-ISSUED"),
            },
        );
        hex::encode(tx.encode())
    };
    Seeded {
        order: "PO-API-1".into(),
        shipment: "SH-API-1".into(),
        warehouse_receipt: "WR-API-1".into(),
        invoice: "INV-API-1".into(),
        fingerprint: invoice["fingerprint"].as_str().unwrap().into(),
        receivables: [part, root],
        financing,
        offer: offer.as_str().unwrap().into(),
        settlement: settlement.as_str().unwrap().into(),
        height,
        tx_hashes: [&wr, &split, &asked]
            .iter()
            .map(|r| r["hash"].as_str().unwrap().to_string())
            .collect(),
        fresh_txs: [fresh("SUP-2"), fresh("CORE-B")],
    }
}

/// Gives parameter `name` of `GET path` the examples `values` (the examples phase sends
/// each; the other phases start from them).
fn examples(doc: &mut Value, path: &str, name: &str, values: &[Value]) {
    let op = &mut doc["paths"][path]["get"];
    assert!(op.is_object(), "GET {path} is not in the document");
    let params = op["parameters"].as_array_mut().unwrap();
    let p = params
        .iter_mut()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("GET {path} has no parameter {name}"));
    let named: serde_json::Map<String, Value> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("seeded-{i}"), json!({ "value": v })))
        .collect();
    p["examples"] = Value::Object(named);
}

/// The node's document with the seeded ids as examples, written to a file.
fn document_with_examples(c: &Cluster, seeded: &Seeded) -> PathBuf {
    let mut doc: Value = ureq::get(&format!("{}/openapi.json", c.nodes[0].api))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let s = |v: &[&str]| v.iter().map(|s| json!(s)).collect::<Vec<Value>>();
    let orgs = s(&["SUP-3", "CORE-A", "BANK-A", "LOGI"]);
    let keys: Vec<Value> = ["SUP-3", "CORE-A", "BANK-A", "LOGI", "AUDIT"]
        .iter()
        .map(|o| json!(c.member_key(o).public().to_hex()))
        .collect();
    let [part, root] = &seeded.receivables;
    // Kind, id and subject in step: a proof of each kind of document the roles read.
    let proofs = [
        ("invoice", seeded.invoice.as_str(), "document"),
        ("receivable", part, "history"),
        ("order", &seeded.order, "document"),
        ("org", "SUP-3", "document"),
    ];
    let table: Vec<(&str, &str, Vec<Value>)> = vec![
        ("/v1/orders/{id}", "id", s(&[&seeded.order])),
        ("/v1/shipments/{id}", "id", s(&[&seeded.shipment])),
        (
            "/v1/warehouse-receipts/{id}",
            "id",
            s(&[&seeded.warehouse_receipt]),
        ),
        ("/v1/invoices/{id}", "id", s(&[&seeded.invoice])),
        ("/v1/invoices", "fingerprint", s(&[&seeded.fingerprint])),
        ("/v1/receivables/{id}", "id", s(&[part, root])),
        ("/v1/receivables/{id}/history", "id", s(&[part, root])),
        ("/v1/financings/{id}", "id", s(&[&seeded.financing])),
        ("/v1/offers/{id}", "id", s(&[&seeded.offer])),
        ("/v1/settlements/{id}", "id", s(&[&seeded.settlement])),
        ("/v1/orgs/{id}", "id", orgs.clone()),
        ("/v1/limits/{org}", "org", s(&["CORE-A", "BANK-A"])),
        ("/v1/receivables", "holder", orgs),
        ("/v1/receivables", "debtor", s(&["CORE-A"])),
        ("/v1/receivables", "status", s(&["active"])),
        (
            "/v1/transactions/{hash}",
            "hash",
            seeded.tx_hashes.iter().map(|h| json!(h)).collect(),
        ),
        ("/v1/keys/{public_key}", "public_key", keys),
        ("/v1/blocks/{height}", "height", vec![json!(seeded.height)]),
        (
            "/v1/blocks/{height}/raw",
            "height",
            vec![json!(seeded.height)],
        ),
        (
            "/v1/proofs/{kind}/{id}",
            "kind",
            proofs.iter().map(|p| json!(p.0)).collect(),
        ),
        (
            "/v1/proofs/{kind}/{id}",
            "id",
            proofs.iter().map(|p| json!(p.1)).collect(),
        ),
        (
            "/v1/proofs/{kind}/{id}",
            "of",
            proofs.iter().map(|p| json!(p.2)).collect(),
        ),
    ];
    for (path, name, values) in &table {
        examples(&mut doc, path, name, values);
    }
    // Real signed transactions as request bodies: admitted the first time, duplicates
    // after that.
    for (path, value) in [
        ("/v1/transactions", json!({ "tx": seeded.fresh_txs[0] })),
        (
            "/v1/transactions/batch",
            json!({ "txs": [seeded.fresh_txs[1]] }),
        ),
    ] {
        doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["examples"] =
            json!({ "signed": { "value": value } });
    }
    let file = c.dir.join("openapi-with-examples.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    file
}

/// One role's run: its report and whether it passed.
struct Run {
    passed: bool,
    report: String,
    took: Duration,
}

/// Runs schemathesis with every check on every operation of `spec` against `base`,
/// with `token` (or no credentials), and waits for it (at most [`RUN_TIMEOUT`]).
fn run_schemathesis(st: &Path, spec: &Path, base: &str, token: Option<&str>, work: &Path) -> Run {
    let examples = std::env::var("LIANRONG_SCHEMATHESIS_EXAMPLES")
        .map(|v| {
            v.parse::<u32>()
                .expect("LIANRONG_SCHEMATHESIS_EXAMPLES is a number")
        })
        .unwrap_or(DEFAULT_EXAMPLES);
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemathesis/schemathesis.toml");
    let mut cmd = Command::new(st);
    cmd.arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(spec)
        .args(["--url", base, "--checks", "all"])
        .args(["--max-examples", &examples.to_string()])
        .args(["--request-timeout", "10", "--workers", "1"])
        // Hypothesis' example database stays in memory: nothing written to the tree.
        .args(["--generation-database", ":memory:", "--no-color"])
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Ok(seed) = std::env::var("LIANRONG_SCHEMATHESIS_SEED") {
        cmd.args(["--seed", &seed]);
    }
    if let Some(t) = token {
        cmd.arg("--header")
            .arg(format!("Authorization: Bearer {t}"));
    }
    let shown = format!("{cmd:?}");
    eprintln!(
        "running {}",
        token.map_or(shown.clone(), |t| shown.replace(t, "<token>"))
    );
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    // Both pipes drained while it runs (a full pipe would stall it).
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).unwrap();
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).unwrap();
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut report = out_reader.join().unwrap();
    report.push_str(&err_reader.join().unwrap());
    if status.is_none() {
        report.push_str(&format!("\nkilled after {RUN_TIMEOUT:?}\n"));
    }
    Run {
        passed: status.is_some_and(|s| s.success()),
        report,
        took: started.elapsed(),
    }
}

/// The report's own summary: operations tested, test cases, failures.
fn summary(report: &str) -> String {
    let lines: Vec<&str> = report.lines().map(str::trim).collect();
    let tested = lines
        .iter()
        .find_map(|l| l.strip_prefix("Tested: "))
        .unwrap_or("?");
    let cases = lines
        .iter()
        .find(|l| l.split(' ').nth(1) == Some("generated,"))
        .copied()
        .unwrap_or("?");
    let last = lines
        .iter()
        .rev()
        .find(|l| !l.is_empty())
        .copied()
        .unwrap_or("");
    let warnings: String = lines
        .iter()
        .filter_map(|l| l.strip_prefix("⚠️ "))
        .map(|w| format!("\n    warning: {w}"))
        .collect();
    format!(
        "{tested} operations; {cases}; {}{warnings}",
        last.trim_matches(|c| c == '=' || c == ' ')
    )
}

#[test]
fn every_role_gets_answers_that_keep_the_openapi_document() {
    let Some(st) = schemathesis() else { return };
    let started = Instant::now();
    let c = Cluster::start(4);
    let seeded = seed(&c);
    let spec = document_with_examples(&c, &seeded);
    eprintln!("network up and seeded in {:?}", started.elapsed());
    let mut failed = Vec::new();
    for (role, who) in ROLES {
        let token = who.map(|o| c.token(o));
        let run = run_schemathesis(&st, &spec, &c.nodes[0].api, token.as_deref(), &c.dir);
        eprintln!(
            "schemathesis as {role} ({}), {:.1?}: {}",
            who.unwrap_or("no token"),
            run.took,
            summary(&run.report)
        );
        if !run.passed {
            failed.push(format!(
                "===== schemathesis as {role} ({}) =====\n{}",
                who.unwrap_or("no token"),
                run.report
            ));
        }
    }
    eprintln!("the whole test took {:?}", started.elapsed());
    assert!(
        failed.is_empty(),
        "schemathesis found failures (reproduce with the curl lines, or the seed):\n{}",
        failed.join("\n")
    );
}
