//! The preload bench at a small size (issue 17, item 6): `lianrong bench --orgs 300
//! --preload-docs 2000` on four validator processes and an explorer process, its JSON
//! report checked -- every phase's transactions executed and none refused, every
//! receivable the committed events announced counted back through the API's status
//! lists, every page the tally can predict of the size it predicts, and every endpoint
//! class of the API and of the explorer measured with no error. No timing is asserted.
// Helpers outside `#[test]` unwrap too: a failed test is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::OsStr;

use lianrong_tests::bench_report;
use serde_json::Value;

const ORGS: u64 = 300;
const DOCS: u64 = 2_000;
const SAMPLES: u64 = 30;

fn run_bench(dir: &std::path::Path) -> Value {
    let (orgs, docs, samples) = (ORGS.to_string(), DOCS.to_string(), SAMPLES.to_string());
    let net = dir.join("net");
    bench_report::<_, &OsStr>([
        "--orgs".as_ref(),
        orgs.as_ref(),
        "--preload-docs".as_ref(),
        docs.as_ref(),
        "--samples".as_ref(),
        samples.as_ref(),
        "--batch".as_ref(),
        "32".as_ref(),
        "--json".as_ref(),
        "--dir".as_ref(),
        net.as_os_str(),
    ])
}

/// Every phase executed all it submitted.
fn assert_clean_phases(p: &Value) {
    let phases = p["phases"].as_array().unwrap();
    let names: Vec<&str> = phases
        .iter()
        .map(|ph| ph["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["orders", "accept", "ship", "invoices", "mix", "acknowledge"]
    );
    for ph in phases {
        assert_eq!(ph["refused"], serde_json::json!({}), "{ph}");
        assert_eq!(ph["not_admitted"], serde_json::json!({}), "{ph}");
        assert_eq!(ph["lost"], 0, "{ph}");
        assert_eq!(ph["committed"], ph["transactions"], "{ph}");
    }
    let orders = DOCS.div_ceil(8);
    assert_eq!(p["orders"], orders);
    assert_eq!(phases[0]["committed"], orders);
    assert_eq!(phases[2]["committed"], 2 * orders, "shipment and delivery");
    assert_eq!(phases[3]["committed"], DOCS, "one invoice per receivable");
    // One in ten split (two parts each), one in fifty settled (repay and acknowledge).
    let (splits, settled) = (DOCS / 10, DOCS / 50);
    assert_eq!(phases[5]["committed"], settled);
    assert_eq!(phases[4]["committed"], splits + DOCS / 10 + settled);
    let all: u64 = phases
        .iter()
        .map(|ph| ph["committed"].as_u64().unwrap())
        .sum();
    assert_eq!(p["committed"], all);
}

/// The receivables the events announced, per status, and the API's lists walked.
fn assert_counted(p: &Value) {
    let (splits, settled) = (DOCS / 10, DOCS / 50);
    assert_eq!(p["receivables"], DOCS + 2 * splits);
    let want = serde_json::json!({
        "active": DOCS + 2 * splits - splits - settled,
        "split": splits,
        "settled": settled,
    });
    assert_eq!(p["expected_by_status"], want);
    assert_eq!(
        p["counted_by_status"], want,
        "the status lists hold every receivable"
    );
}

/// Every class measured, no error, no page of a size the tally did not expect.
fn assert_measured(endpoints: &Value, classes: usize, what: &str) {
    let endpoints = endpoints.as_array().unwrap();
    assert_eq!(endpoints.len(), classes, "{what}: {endpoints:?}");
    for e in endpoints {
        assert!(e["samples"].as_u64().unwrap() > 0, "{what}: {e}");
        assert_eq!(e["errors"], 0, "{what}: {e}");
        assert_eq!(e["mismatched"], 0, "{what}: {e}");
        assert!(e["items"].as_u64().unwrap() > 0, "{what}: {e}");
        assert!(
            e["p50_ms"].as_f64().unwrap() <= e["p99_ms"].as_f64().unwrap(),
            "{e}"
        );
    }
}

#[test]
fn a_preloaded_ledger_is_counted_back_and_every_read_is_measured() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_bench(dir.path());
    assert_eq!(r["workload"], "preload");
    let p = &r["preload"];
    assert_eq!(
        p["cores"].as_u64().unwrap() + p["smes"].as_u64().unwrap(),
        ORGS
    );
    assert!(p["genesis_orgs"].as_u64().unwrap() > ORGS);
    assert_clean_phases(p);
    assert_counted(p);
    assert!(p["tx_per_second"].as_f64().unwrap() > 0.0);
    assert_eq!(
        r["committed"], p["committed"],
        "the measured period is the preload"
    );

    assert_measured(&p["api"], 11, "api");
    for e in p["api"].as_array().unwrap() {
        // The status walk takes one sample a page: as many as the lists have pages.
        if !e["endpoint"].as_str().unwrap().contains("every page") {
            assert!(e["samples"].as_u64().unwrap() >= SAMPLES, "{e}");
        }
    }
    let ex = &p["explorer"];
    assert_eq!(ex["error"], Value::Null, "{ex}");
    assert_eq!(ex["receivables_seen"], p["receivables"], "{ex}");
    assert!(ex["target_height"].as_u64().unwrap() > 0);
    assert_measured(&ex["endpoints"], 18, "explorer");
    // Its CPU and memory (node/README.md reports them) are read from its process.
    assert!(ex["cpu_seconds_to_index"].as_f64().unwrap() > 0.0, "{ex}");
    assert!(ex["peak_rss_mib"].as_f64().unwrap() > 1.0, "{ex}");
}
