//! `lianrong node --check-config` as an operator runs it: a fresh testnet config is OK
//! (exit 0), and a config broken in several ways at once gets every problem named in one
//! run (exit 1), without the node starting.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use lianrong_primitives::SecretKey;
use lianrong_tests::Cluster;

fn check_config(config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lianrong"))
        .args(["node", "--check-config", "--config"])
        .arg(config)
        .output()
        .unwrap()
}

#[test]
fn check_config_passes_a_fresh_config_and_names_every_problem_of_a_broken_one() {
    // Written, not started: the ports in the configs are free.
    let (c, _) = Cluster::write_with_spares(4, 0);
    let config = &c.nodes[0].config;
    let out = check_config(config);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("config OK"), "{stdout}");

    // Four things wrong at once: the node key is gone, a peer is a stranger to genesis,
    // the API port is taken, and a setting is misspelt.
    let key_file = config.with_file_name("node_key.json");
    std::fs::remove_file(&key_file).unwrap();
    let api: std::net::SocketAddr = c.nodes[0]
        .api
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let _taken = TcpListener::bind(api).unwrap();
    let stranger_key = SecretKey::generate().public();
    c.edit_config(0, |t| {
        let peers = t["p2p"]["peers"].as_array_mut().unwrap();
        let mut stranger = peers[0].as_table().unwrap().clone();
        stranger.insert("key".into(), stranger_key.to_hex().into());
        peers.push(stranger.into());
        let mempool = t["mempool"].as_table_mut().unwrap();
        mempool.insert("max_tx".into(), 5.into());
    });
    let out = check_config(config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for expected in [
        "problem: mempool.max_tx: unknown setting",
        &format!("problem: node.node_key: {}", key_file.display()),
        &format!("problem: p2p.peers[3]: {stranger_key} is not a validator"),
        &format!("problem: api.listen: cannot bind {api}"),
        "4 problem(s) in ",
    ] {
        assert!(stderr.contains(expected), "{expected:?} missing:\n{stderr}");
    }
}

#[test]
fn check_config_loads_the_tls_files_of_a_tls_testnet() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let out = Command::new(env!("CARGO_BIN_EXE_lianrong"))
        .args(["testnet", "--validators", "1", "--tls", "--out"])
        .arg(&net)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = net.join("bank/config.toml");
    assert!(std::fs::read_to_string(&config)
        .unwrap()
        .contains("[api.tls]"));
    let out = check_config(&config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("api.tls"), "{stderr}");

    // The certificate and the key of another node do not serve together.
    let other = net.join("tls/client-key.pem");
    let mut cfg: toml::Table = std::fs::read_to_string(&config).unwrap().parse().unwrap();
    cfg["api"]["tls"]["key"] = other.display().to_string().into();
    std::fs::write(&config, toml::to_string(&cfg).unwrap()).unwrap();
    let out = check_config(&config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("problem: api.tls: "), "{stderr}");
}
