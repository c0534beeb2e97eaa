//! The short lifecycle bench (issue 17): `lianrong bench --workload lifecycle --total 600`
//! on four validator processes, its JSON report checked -- transactions committed, every
//! document it read back in the state its steps imply, no transaction refused -- and the
//! HTML report drawn.
// Helpers outside `#[test]` unwrap too: a failed test is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::OsStr;

use lianrong_tests::bench_report;
use serde_json::Value;

/// Transactions the short run commits (rounded up to whole lives of 14).
const TOTAL: u64 = 600;
const STEPS: u64 = 14;

fn run_bench(dir: &std::path::Path) -> Value {
    let total = TOTAL.to_string();
    let (report, net) = (dir.join("report.html"), dir.join("net"));
    bench_report::<_, &OsStr>([
        "--workload".as_ref(),
        "lifecycle".as_ref(),
        "--total".as_ref(),
        total.as_ref(),
        "--keys".as_ref(),
        "32".as_ref(),
        "--json".as_ref(),
        "--report".as_ref(),
        report.as_os_str(),
        "--dir".as_ref(),
        net.as_os_str(),
    ])
}

fn assert_clean_lives(r: &Value) {
    let l = &r["lifecycle"];
    assert_eq!(l["refused"], serde_json::json!({}), "refused: {l}");
    assert_eq!(
        l["not_admitted"],
        serde_json::json!({}),
        "not admitted: {l}"
    );
    assert_eq!(l["lost"], 0, "{l}");
    let docs = TOTAL.div_ceil(STEPS);
    assert_eq!(l["documents_started"], docs, "{l}");
    assert_eq!(l["documents_completed"], docs, "{l}");
    let steps = l["steps"].as_object().unwrap();
    assert_eq!(steps.len() as u64, STEPS, "{l}");
    for (step, n) in steps {
        assert_eq!(n.as_u64(), Some(docs), "{step}: {l}");
    }
    // Every document was read back and matched what its 14 steps imply.
    assert_eq!(l["checked"], docs, "{l}");
    assert_eq!(l["inconsistent"], 0, "{}", l["inconsistencies"]);
}

#[test]
fn lifecycle_bench_walks_documents_to_repayment_with_nothing_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_bench(dir.path());
    assert_eq!(r["workload"], "lifecycle");
    assert_eq!(r["total"], TOTAL);
    let committed = r["committed"].as_u64().unwrap();
    assert_eq!(committed, TOTAL.div_ceil(STEPS) * STEPS, "{r}");
    assert!(r["tx_per_second"].as_f64().unwrap() > 0.0);
    assert!(r["latency_samples"].as_u64().unwrap() > 0, "{r}");
    assert!(r["finality_p50_ms"].as_f64().unwrap() <= r["finality_p99_ms"].as_f64().unwrap());
    assert_clean_lives(&r);

    let floor = &r["floor"];
    assert!(floor["floor_us"].as_f64().unwrap() <= floor["ledger_verify_us"].as_f64().unwrap());
    let nodes = r["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    for n in nodes {
        assert!(n["cpu_per_tx_in_floor"].as_f64().unwrap() > 0.0, "{n}");
        // Which threads spent it: every node executes and writes every block.
        let threads = &n["cpu_us_per_tx_by_thread"];
        for t in ["main", "executor", "block-writer"] {
            assert!(threads[t].as_f64().is_some(), "no {t} thread in {n}");
        }
        assert!(
            n["cpu_per_tx_in_floor"].as_f64().unwrap()
                >= n["cpu_per_tx_in_verifies"].as_f64().unwrap(),
            "{n}"
        );
    }
    // The machine's CPU per transaction is the validators' and the clients' together, and
    // the rate it allows bounds the rate measured (the CPU windows start a status read
    // before the measured seconds do, hence the margin).
    let m = &r["machine"];
    let f = |v: &Value| v.as_f64().unwrap();
    let validators: f64 = nodes.iter().map(|n| f(&n["cpu_per_tx_in_floor"])).sum();
    let clients = f(&m["client_cpu_per_tx_in_floor"]);
    assert!(clients > 0.0 && f(&m["client_cpu_seconds"]) > 0.0, "{m}");
    let machine = f(&m["cpu_per_tx_in_floor"]);
    assert!(
        (machine - validators - clients).abs() <= 1e-9 * machine,
        "{m}"
    );
    assert!(
        f(&m["cpu_bound_tx_per_second"]) >= 0.75 * f(&r["tx_per_second"]),
        "{m} against {}",
        r["tx_per_second"]
    );
    let series = &r["series"];
    let seen: u64 = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["committed"].as_u64().unwrap())
        .sum();
    assert_eq!(seen, committed, "every commit is in the series once");
    assert_eq!(series["nodes"].as_array().unwrap().len(), 4);

    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg") && html.contains("<polyline"));
    assert!(html.contains("Resident memory per node"));
    assert!(!html.contains("<script"), "self-contained, no script");
}
