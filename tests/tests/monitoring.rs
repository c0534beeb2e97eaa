//! `network-configs/monitoring/`: the Prometheus config and alert rules pass `promtool`
//! (syntax, and the rules' unit tests on synthetic series), the dashboard's queries parse,
//! the scrape targets are local-4's API addresses, and every metric the rules and the
//! dashboard name is one a running node exports.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use lianrong_tests::load::order;
use lianrong_tests::{sign, wait_until, Cluster};

fn monitoring() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../network-configs/monitoring")
}

/// Whether promtool can run; without it the promtool checks are skipped on a developer's
/// machine and fail in CI (a missing tool there is a broken setup, not a reason to pass).
fn promtool_available() -> bool {
    if Command::new("promtool").arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "promtool is not installed and CI is set: run scripts/setup (it installs prometheus)"
    );
    eprintln!("SKIPPED: promtool is not installed (scripts/setup installs Debian's prometheus)");
    false
}

/// Runs promtool in the monitoring folder and fails with its output unless it succeeds.
fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(monitoring())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
fn promtool_accepts_the_config_and_the_rules_and_their_unit_tests_pass() {
    if !promtool_available() {
        return;
    }
    let config = promtool(&["check", "config", "prometheus.yml"]);
    assert!(config.contains("SUCCESS"), "{config}");
    let rules = promtool(&["check", "rules", "rules.yml"]);
    assert!(rules.contains("SUCCESS: 12 rules found"), "{rules}");
    // Proves on synthetic series that the alerts fire when they should and not before:
    // no finalized block, a node behind, disk nearly full and full, memory far over the
    // budget, divergence, quorum, mempool, certificate expiry (and nothing without a
    // certificate).
    let tests = promtool(&["test", "rules", "rules_test.yml"]);
    assert!(tests.contains("SUCCESS"), "{tests}");
}

/// Every query of the dashboard, with its variables given a value.
fn dashboard_queries() -> Vec<String> {
    let text = std::fs::read_to_string(monitoring().join("grafana-dashboard.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for panel in dash["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push(target["expr"].as_str().unwrap().replace("$node", ".*"));
        }
    }
    assert!(out.len() > 15, "{out:?}");
    out
}

#[test]
fn every_dashboard_query_parses() {
    if !promtool_available() {
        return;
    }
    // promtool parses PromQL only inside rule files: each query becomes a recording rule.
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, q) in dashboard_queries().iter().enumerate() {
        rules.push_str(&format!(
            "      - record: dashboard_query_{i}\n        expr: {}\n",
            serde_json::to_string(q).unwrap()
        ));
    }
    let path = dir.path().join("dashboard-queries.yml");
    std::fs::write(&path, rules).unwrap();
    promtool(&["check", "rules", path.to_str().unwrap()]);
}

#[test]
fn the_scrape_targets_are_the_local_network_api_addresses() {
    let config = std::fs::read_to_string(monitoring().join("prometheus.yml")).unwrap();
    let local = monitoring().join("../local-4");
    for node in ["bank", "core-a", "core-b", "logistics"] {
        let cfg: toml::Table = std::fs::read_to_string(local.join(node).join("config.toml"))
            .unwrap()
            .parse()
            .unwrap();
        let listen = cfg["api"]["listen"].as_str().unwrap();
        let target = format!("targets: [\"{listen}\"]\n        labels: {{node: {node},");
        assert!(config.contains(&target), "prometheus.yml lacks {target}");
    }
}

/// The `lianrong_*` names in `text`: every metric a rule, an annotation or a query names.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (start, _) in text.match_indices("lianrong_") {
        let name: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        names.insert(name);
    }
    names
}

/// What a `/metrics` answer exports: every sample's name and every described family
/// (a family without samples, like the certificate expiry before TLS, still counts).
fn exported_names(scrape: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in scrape.lines() {
        let name = match line.strip_prefix("# TYPE ") {
            Some(rest) => rest.split(' ').next(),
            None if line.starts_with('#') => None,
            None => line.split(['{', ' ']).next(),
        };
        names.extend(name.filter(|n| !n.is_empty()).map(String::from));
    }
    names
}

/// The value of an unlabelled sample.
fn sample(scrape: &str, name: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn every_metric_the_rules_and_the_dashboard_name_is_exported_by_a_running_node() {
    let mut wanted = BTreeSet::new();
    for file in ["rules.yml", "rules_test.yml", "grafana-dashboard.json"] {
        let text = std::fs::read_to_string(monitoring().join(file)).unwrap();
        wanted.extend(metric_names(&text));
    }
    assert!(
        wanted.contains("lianrong_data_dir_free_bytes"),
        "{wanted:?}"
    );

    let c = Cluster::start(4);
    let scrape = |i: usize| {
        ureq::get(&format!("{}/metrics", c.nodes[i].api))
            .timeout(Duration::from_secs(10))
            .call()
            .unwrap()
            .into_string()
            .unwrap()
    };
    // Once every node hears the other three, the quorum gauges have their final values.
    wait_until(
        "node 0 hears every validator",
        Duration::from_secs(60),
        || sample(&scrape(0), "lianrong_validators_reachable") == Some(4.0),
    );
    c.wait_height(2, Duration::from_secs(60));
    let text = scrape(0);
    let exported = exported_names(&text);
    let missing: Vec<_> = wanted.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "named in network-configs/monitoring but not exported: {missing:?}\n{text}"
    );
    assert_eq!(sample(&text, "lianrong_quorum"), Some(3.0), "{text}");
    // The testnet's configs set no `mempool.max_txs`: the capacity is the default memory
    // budget's (192 MiB) mempool share, 12,288 transactions (node-formats' memory::plan,
    // whose own tests pin the split).
    assert_eq!(
        sample(&text, "lianrong_mempool_capacity_transactions"),
        Some(12_288.0)
    );
    assert!(sample(&text, "lianrong_data_dir_size_bytes").unwrap() > 0.0);
    assert!(sample(&text, "lianrong_data_dir_free_bytes").is_some());
    // Plain HTTP: the certificate family is described but has no sample, so no alert.
    assert_eq!(
        sample(&text, "lianrong_tls_certificate_expiry_seconds"),
        None
    );

    // Four connected validators: a bundle from node 0 reached every other node, so none
    // relays it (`lianrong-network`'s relay rule), and the counter says so. Orders are
    // submitted until one such bundle arrives: node 0 lists only the peers whose
    // subscriptions it already heard of.
    let not_relayed = |i: usize| sample(&scrape(i), "lianrong_network_gossip_not_relayed_total");
    assert_eq!(not_relayed(1), Some(0.0), "nothing gossiped yet");
    let key = c.member_key("CORE-A");
    let mut nonce = 0u64;
    wait_until(
        "a node received a bundle it need not relay",
        Duration::from_secs(60),
        || {
            let tx = sign(&c.chain_id, "CORE-A", &key, nonce, order("CORE-A", nonce));
            c.submit(0, &tx, "CORE-A", false).unwrap();
            nonce += 1;
            (1..4).any(|i| not_relayed(i).unwrap_or(0.0) >= 1.0)
        },
    );
}
