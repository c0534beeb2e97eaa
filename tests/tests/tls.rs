//! A `lianrong testnet --tls` network: four validators serving their APIs over HTTPS
//! finalize blocks, the CLI works with `--ca`, a client without the CA is refused with a
//! certificate error, plain HTTP gets nothing, and once a node requires client
//! certificates (`[api.tls] client_ca`) a client without one is refused too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use lianrong_tests::{run_cli, wait_until, Cluster};

/// `status` against node `i` as the auditor, with `extra` flags (none: no TLS flags).
fn status(c: &Cluster, i: usize, extra: &[String]) -> lianrong_tests::CliRun {
    let token = format!("@{}", c.dir.join("keys/AUDIT.token").display());
    let mut args: Vec<String> = [
        "status",
        "--json",
        "--node",
        &c.nodes[i].api,
        "--token",
        &token,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().cloned());
    run_cli(&args)
}

#[test]
fn a_tls_network_serves_only_clients_that_trust_its_ca() {
    let mut c = Cluster::write_tls(4);
    assert!(c.nodes.iter().all(|n| n.api.starts_with("https://")));
    c.start_all();
    c.wait_height(3, Duration::from_secs(60));
    the_cli_with_the_ca_reads_and_writes(&c);
    clients_without_the_ca_are_refused(&c);
    the_certificate_expiry_is_a_metric(&c);
    a_node_may_require_client_certificates(&mut c);
}

/// `--ca` (or `LIANRONG_CA`): reads, and a transaction committed through another node.
fn the_cli_with_the_ca_reads_and_writes(c: &Cluster) {
    let tls = c.tls.clone().unwrap();
    let s = c.cli(1, "AUDIT", &["status"]);
    assert_eq!(s.ok()["chain_id"], c.chain_id.as_str());
    let ca = vec!["--ca".to_string(), tls.ca.to_string_lossy().into_owned()];
    assert!(status(c, 2, &ca).ok()["height"].as_u64().unwrap() >= 3);
    let doc_hash = "ab".repeat(32);
    let issued = c.cli(
        0,
        "CORE-A",
        &[
            "order",
            "create",
            "--id",
            "PO-TLS-1",
            "--seller",
            "SUP-1",
            "--amount",
            "1000.00",
            "--terms",
            "net 30",
            "--carrier",
            "LOGI",
            "--doc-hash",
            &doc_hash,
        ],
    );
    let issued = issued.ok().to_string();
    assert!(issued.contains("order_issued"), "{issued}");
    // Committed through node 0, read through node 3 once it has the block.
    let show = || c.cli(3, "CORE-A", &["order", "show", "PO-TLS-1"]);
    wait_until("node 3 has the order", Duration::from_secs(30), || {
        show().status.success()
    });
    assert_eq!(show().ok()["seller"], "SUP-1");
    let run = std::process::Command::new(lianrong_tests::lianrong_bin())
        .args(["status", "--json", "--node", &c.nodes[0].api, "--token"])
        .arg(format!("@{}", c.dir.join("keys/AUDIT.token").display()))
        .env("LIANRONG_CA", &tls.ca)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// Without the CA the system's trust store decides, and it does not know this one;
/// plain HTTP on an HTTPS port gets no answer.
fn clients_without_the_ca_are_refused(c: &Cluster) {
    let refused = status(c, 0, &[]);
    let reason = refused.refused();
    assert!(reason.contains("certificate"), "{reason}");
    assert!(reason.contains("trust store"), "{reason}");
    let plain = c.nodes[0].api.replace("https://", "http://");
    assert!(ureq::get(&format!("{plain}/metrics")).call().is_err());
}

/// The served certificate expires in about a year (`testnet --tls`), and `/metrics` says
/// how many seconds are left.
fn the_certificate_expiry_is_a_metric(c: &Cluster) {
    let metrics = c
        .agent()
        .get(&format!("{}/metrics", c.nodes[0].api))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let expiry = metrics
        .lines()
        .find_map(|l| l.strip_prefix("lianrong_tls_certificate_expiry_seconds "))
        .unwrap_or_else(|| panic!("no expiry metric in:\n{metrics}"));
    let seconds: f64 = expiry.trim().parse().unwrap();
    assert!(seconds > 300.0 * 86_400.0, "{seconds}");
}

/// Node 0 restarts requiring client certificates of the network's CA: a client with
/// only the CA is refused, one with the client certificate gets in, and the network
/// goes on.
fn a_node_may_require_client_certificates(c: &mut Cluster) {
    let tls = c.tls.clone().unwrap();
    let ca = vec!["--ca".to_string(), tls.ca.to_string_lossy().into_owned()];
    c.nodes[0].kill();
    c.edit_config(0, |cfg| {
        let table = cfg["api"]["tls"].as_table_mut().unwrap();
        table.insert("client_ca".into(), "../tls/ca.pem".into());
    });
    c.nodes[0].start();
    c.wait_up(0); // the harness presents the client certificate
    let refused = status(c, 0, &ca);
    let reason = refused.refused();
    assert!(reason.contains("CertificateRequired"), "{reason}");
    assert!(
        status(c, 0, &tls.cli_args()).ok()["height"]
            .as_u64()
            .unwrap()
            >= 3
    );
    // The other nodes ask for none.
    assert!(status(c, 1, &ca).status.success());
    c.wait_nodes_height(&[0, 1, 2, 3], c.height(1) + 2, Duration::from_secs(60));
}
