//! Backup and restore on real processes, and the disaster-recovery drill: a validator's
//! site is lost, its organisation restores it at another address from its last backup,
//! it catches up from its peers and agrees block by block with them -- and the network
//! finalizes all the while.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use lianrong_tests::drill::{data_dir, new_site, survivors_finalize, Watch};
use lianrong_tests::load::{
    assert_orders_final_everywhere, assert_same_chain, heights, wait_progress, Load,
};
use lianrong_tests::{run_cli, wait_until, Cluster, NodeProc};
use serde_json::Value;

/// `lianrong node restore` that must be refused; its one-line reason.
fn restore_refused(config: &Path, from: &Path) -> String {
    let run = run_cli(&[
        "node".as_ref(),
        "restore".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--from".as_ref(),
        from.as_os_str(),
    ]);
    run.refused().to_string()
}

/// A copy of the backup in `from` with one byte of its largest file flipped.
fn tampered_copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("db")).unwrap();
    std::fs::copy(from.join("manifest.json"), to.join("manifest.json")).unwrap();
    let mut largest = (0, PathBuf::new());
    for e in std::fs::read_dir(from.join("db")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join("db").join(p.file_name().unwrap())).unwrap();
        let len = std::fs::metadata(&p).unwrap().len();
        if len > largest.0 {
            largest = (len, p);
        }
    }
    let victim = to.join("db").join(largest.1.file_name().unwrap());
    let mut bytes = std::fs::read(&victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&victim, bytes).unwrap();
}

#[test]
fn a_lost_validator_is_restored_at_another_address_from_its_online_backup() {
    let mut c = Cluster::start(4);
    let orgs = ["CORE-A", "CORE-B"];
    let load = Load::start(&c, &orgs, vec![0, 1, 2]);
    c.wait_height(5, Duration::from_secs(60));
    let watch = Watch::start(&c, 0);

    // The nightly backup of LOGI's validator, cut by the running node under load.
    let config = c.nodes[3].config.clone();
    let backup = c.dir.join("backups/logistics-1");
    let run = run_cli(&[
        "node".as_ref(),
        "backup".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--out".as_ref(),
        backup.as_os_str(),
        "--json".as_ref(),
    ]);
    let manifest: Value = run.ok().clone();
    assert!(c.nodes[3].running(), "the backup stopped the node");
    assert_eq!(manifest["chain_id"], c.chain_id.as_str());
    let height = manifest["height"].as_u64().unwrap();
    assert!(height >= 5, "{manifest}");
    let block = c.get(0, &format!("/v1/blocks/{height}"), "AUDIT").unwrap();
    assert_eq!(manifest["block_hash"], block["hash"], "{manifest}");
    assert_eq!(manifest["state_root"], block["state_root"], "{manifest}");
    // A second backup into the same folder is refused, naming it.
    let again = run_cli(&[
        "node".as_ref(),
        "backup".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--out".as_ref(),
        backup.as_os_str(),
    ]);
    assert!(again.refused().contains("is not empty"), "{}", again.stderr);

    survivors_finalize(&c, 5, "the chain grows past the backup");
    // The org's second site is prepared from its config management (config, node key).
    let (site_config, api_port) = new_site(&config, &c.dir.join("site-b"));
    // Site A is lost: the node dies, and its disks with it.
    c.nodes[3].kill();
    let refused = restore_refused(&config, &backup);
    assert!(
        refused.contains("is not empty") && refused.contains("--force"),
        "{refused}"
    );
    std::fs::remove_dir_all(c.dir.join("logistics")).unwrap();
    survivors_finalize(&c, 5, "three validators finalize with the fourth lost");

    // Site B: a damaged backup and another chain's are refused, each with its reason.
    let tampered = c.dir.join("backups/tampered");
    tampered_copy(&backup, &tampered);
    let refused = restore_refused(&site_config, &tampered);
    assert!(refused.contains("damaged or was altered"), "{refused}");
    let other = c.dir.join("other-net");
    let made = run_cli(&[
        "testnet".as_ref(),
        "--chain-id".as_ref(),
        "another-chain".as_ref(),
        "--out".as_ref(),
        other.as_os_str(),
    ]);
    assert!(made.status.success(), "{}", made.stderr);
    let refused = restore_refused(&other.join("logistics/config.toml"), &backup);
    assert!(
        refused.contains("backup of chain") && refused.contains("another-chain"),
        "{refused}"
    );
    assert!(
        !data_dir(&site_config).exists(),
        "a refused restore wrote a data dir"
    );

    // The real restore, then the node at its new address catches up from its peers.
    let run = run_cli(&[
        "node".as_ref(),
        "restore".as_ref(),
        "--config".as_ref(),
        site_config.as_os_str(),
        "--from".as_ref(),
        backup.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(run.ok()["height"].as_u64(), Some(height));
    c.nodes[3] = NodeProc::new("logistics", site_config, api_port);
    c.nodes[3].start();
    c.wait_up(3);
    let target = c.height(0);
    wait_until(
        "the restored validator catches up",
        Duration::from_secs(120),
        || c.height(3) >= target,
    );
    // With load sent to it too, all four keep finalizing.
    load.target(vec![0, 1, 2, 3]);
    wait_progress(&c, &[0, 1, 2, 3], 5, Duration::from_secs(90));
    let sent = load.finish();
    let stall = watch.finish();
    assert!(
        stall < Duration::from_secs(15),
        "the network stopped finalizing for {stall:?} during the drill"
    );
    assert_orders_final_everywhere(&c, &orgs, &sent);
    let top = heights(&c, &[0, 1, 2, 3]).into_iter().min().unwrap();
    assert_same_chain(&c, &[0, 1, 2, 3], top);
}
