//! The bank's data-security rules on real processes: validators encrypted at rest keep
//! none of the ledger's plaintext in their files, their backups or their key files, and
//! open only with their operator's data key; and the "two sites, three centres"
//! disaster-recovery drill on such a validator -- its site is lost, its organisation
//! restores it at another address from its last (encrypted) backup with the data key from
//! its escrow, it catches up and agrees block by block, and the network never stops.
//! The runbook: `docs/operations.md`.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lianrong_tests::drill::{data_dir, files_containing, new_site, survivors_finalize, Watch};
use lianrong_tests::load::{assert_orders_final_everywhere, assert_same_chain, heights, Load};
use lianrong_tests::{lianrong_bin, run_cli, wait_until, CliRun, Cluster, NodeProc, Seeder, Trade};
use rand::RngCore;
use serde_json::Value;

/// The invoice number the grep looks for, and a piece of it. (The control looks in a plain
/// node's write-ahead log, which RocksDB does not compress; in its LZ4-compressed tables a
/// repeated string is a back-reference, so a grep there proves nothing.)
const NUMBER: &str = "INV-ZEBRA-7731-PLAINTEXT";
const FRAGMENT: &str = "ZEBRA-7731";

/// 32 random bytes as hex, written readable by the owner only: a data key file.
fn write_key_file(path: &Path) -> String {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let text = hex::encode(key);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    writeln!(f, "{text}").unwrap();
    text
}

/// What an operator does to encrypt a node before its first start: a data key file,
/// `[encryption] key_file` in the config, and `lianrong node seal-key`. Returns the data
/// key's hex and the node key's secret seed (hex) as it was before sealing.
fn encrypt_node(c: &Cluster, i: usize) -> (String, String) {
    let config = c.nodes[i].config.clone();
    let dir = config.parent().unwrap();
    let data_key = write_key_file(&dir.join("data.key"));
    c.edit_config(i, |t| {
        let mut enc = toml::Table::new();
        enc.insert("key_file".into(), "data.key".into());
        t.insert("encryption".into(), enc.into());
    });
    let key_file = dir.join("node_key.json");
    let plain: Value = serde_json::from_str(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    let seed = plain["secret_key"].as_str().unwrap().to_string();
    let run = run_cli(&[
        "node".as_ref(),
        "seal-key".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    assert!(run.status.success(), "seal-key: {}", run.stderr);
    (data_key, seed)
}

/// `lianrong node backup` of the node of `config` into `out`.
fn backup(config: &Path, out: &Path) -> CliRun {
    run_cli(&[
        "node".as_ref(),
        "backup".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--json".as_ref(),
    ])
}

/// A copy of `config` beside it (same data dir and node key) as `name`, changed by `edit`.
fn variant(config: &Path, name: &str, edit: impl FnOnce(&mut toml::Table)) -> PathBuf {
    let mut cfg: toml::Table = std::fs::read_to_string(config).unwrap().parse().unwrap();
    edit(&mut cfg);
    let path = config.with_file_name(name);
    std::fs::write(&path, toml::to_string(&cfg).unwrap()).unwrap();
    path
}

/// Starts `lianrong node --config config`, which must refuse to run: its stderr.
fn node_refuses(config: &Path) -> String {
    let mut child = Command::new(lianrong_bin())
        .args(["node", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            assert!(!status.success(), "the node started");
            return String::from_utf8_lossy(&out.stderr).into_owned();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the node did not refuse {}", config.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SIGTERM: the node shuts down in order (RocksDB closed), and is waited for.
fn stop(node: &mut NodeProc) {
    let pid = node.pid().unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_until("the node stops", Duration::from_secs(30), || {
        node.exited().is_some()
    });
}

/// No file under any of `places` contains any of `needles`.
fn assert_no_plaintext(places: &[&Path], needles: &[(&str, &str)]) {
    for place in places {
        for (what, needle) in needles {
            let found = files_containing(place, needle.as_bytes());
            assert!(found.is_empty(), "{what} {needle:?} in {found:?}");
        }
    }
}

/// The org's tax id in genesis.
fn tax_id(c: &Cluster, org: &str) -> String {
    c.genesis()["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == org)
        .map(|o| o["tax_id"].as_str().unwrap().to_string())
        .unwrap()
}

#[test]
fn encrypted_validators_hold_no_plaintext_and_one_is_restored_at_another_site() {
    // Four validators: the bank's stays plain (the control that the grep finds what is
    // there); the other three organisations encrypt theirs before the first start.
    let (mut c, _) = Cluster::write_with_spares(4, 0);
    let secrets: Vec<(String, String)> = (1..4).map(|i| encrypt_node(&c, i)).collect();
    let (data_key, seed) = secrets[2].clone();
    c.start_all();
    let orgs = ["CORE-B"];
    let load = Load::start(&c, &orgs, vec![0, 1, 2]);
    c.wait_height(3, Duration::from_secs(60));

    // SUP-1's invoice with a distinctive number, confirmed by CORE-A.
    let seller_tax_id = tax_id(&c, "SUP-1");
    let (height, _) = Seeder::new(&c).trade(&Trade {
        ids: "DR-1",
        number: NUMBER,
        buyer: "CORE-A",
        seller: "SUP-1",
        amount: "7731.00",
        buyer_tax_id: &tax_id(&c, "CORE-A"),
        seller_tax_id: &seller_tax_id,
    });
    c.wait_nodes_height(&[0, 1, 2, 3], height, Duration::from_secs(60));
    // The control: the plain node's files show the number (in its write-ahead log, before
    // a backup flushes the log into compressed tables).
    let found = files_containing(&data_dir(&c.nodes[0].config), NUMBER.as_bytes());
    assert!(
        !found.is_empty(),
        "the grep found nothing on the plain node"
    );
    let watch = Watch::start(&c, 0);

    // LOGI's nightly backup, cut online by its running (encrypted) validator.
    let config = c.nodes[3].config.clone();
    let backups = c.dir.join("backups");
    let copy = backups.join("logistics-1");
    let manifest = backup(&config, &copy).ok().clone();
    let backup_height = manifest["height"].as_u64().unwrap();
    assert!(backup_height >= height, "{manifest}");

    let needles = [
        ("the invoice number", NUMBER),
        ("a piece of it", FRAGMENT),
        ("the seller's org id", "SUP-1"),
        ("the seller's tax id", seller_tax_id.as_str()),
        ("the data key", data_key.as_str()),
        ("the node key's secret", seed.as_str()),
    ];
    let key_file = config.with_file_name("node_key.json");
    let live: Vec<PathBuf> = (1..4).map(|i| data_dir(&c.nodes[i].config)).collect();
    let mut places: Vec<&Path> = live.iter().map(PathBuf::as_path).collect();
    places.extend([copy.as_path(), key_file.as_path()]);
    assert_no_plaintext(&places, &needles);

    survivors_finalize(&c, 3, "the chain grows past the backup");
    // LOGI's validator shuts down in order (tables flushed and closed): still nothing.
    stop(&mut c.nodes[3]);
    assert_no_plaintext(&places, &needles);

    // Without its data key, or with another, it refuses -- each with the reason.
    let wrong_key = config.with_file_name("wrong.key");
    write_key_file(&wrong_key);
    let wrong = variant(&config, "wrong.toml", |t| {
        t["encryption"]["key_file"] = "wrong.key".into();
    });
    let keyless = variant(&config, "keyless.toml", |t| {
        t.remove("encryption");
    });
    let refused = node_refuses(&wrong);
    assert!(
        refused.contains("does not open with the data key"),
        "{refused}"
    );
    let refused = node_refuses(&keyless);
    assert!(
        refused.contains("sealed under the operator's data key"),
        "{refused}"
    );
    let offline = backups.join("refused");
    let refused = backup(&wrong, &offline).refused().to_string();
    assert!(refused.contains("does not open the database"), "{refused}");
    let refused = backup(&keyless, &offline).refused().to_string();
    assert!(refused.contains("is encrypted at rest"), "{refused}");

    // Site A is lost; the organisation's second site gets its config, node key and data
    // key from its escrow, new addresses, and the last backup.
    let (site_config, api_port) = new_site(&config, &c.dir.join("site-b"));
    std::fs::remove_dir_all(c.dir.join("logistics")).unwrap();
    survivors_finalize(&c, 3, "three validators finalize with the fourth lost");
    let site_keyless = variant(&site_config, "keyless.toml", |t| {
        t.remove("encryption");
    });
    let run = run_cli(&[
        "node".as_ref(),
        "restore".as_ref(),
        "--config".as_ref(),
        site_keyless.as_os_str(),
        "--from".as_ref(),
        copy.as_os_str(),
    ]);
    let refused = run.refused();
    assert!(refused.contains("is encrypted at rest"), "{refused}");
    assert!(
        !data_dir(&site_config).exists(),
        "a refused restore wrote a data dir"
    );
    let run = run_cli(&[
        "node".as_ref(),
        "restore".as_ref(),
        "--config".as_ref(),
        site_config.as_os_str(),
        "--from".as_ref(),
        copy.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(run.ok()["height"].as_u64(), Some(backup_height));
    c.nodes[3] = NodeProc::new("logistics", site_config.clone(), api_port);
    c.nodes[3].start();
    c.wait_up(3);
    let target = c.height(0);
    wait_until(
        "the restored validator catches up",
        Duration::from_secs(120),
        || c.height(3) >= target,
    );
    load.target(vec![0, 1, 2, 3]);
    lianrong_tests::load::wait_progress(&c, &[0, 1, 2, 3], 5, Duration::from_secs(90));
    let sent = load.finish();
    let stall = watch.finish();
    assert!(
        stall < Duration::from_secs(15),
        "the network stopped finalizing for {stall:?} during the drill"
    );
    assert_orders_final_everywhere(&c, &orgs, &sent);
    let top = heights(&c, &[0, 1, 2, 3]).into_iter().min().unwrap();
    assert_same_chain(&c, &[0, 1, 2, 3], top);
    // The restored site's files are ciphertext too.
    assert_no_plaintext(&[&data_dir(&site_config)], &needles);
}

/// `lianrong testnet --encrypt`: a network whose every node runs encrypted from genesis on
/// (the genesis state too: orgs, tax ids, member keys), under a data key of its own.
#[test]
fn a_testnet_written_with_encrypt_runs_encrypted_from_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    let run = run_cli(&[
        "testnet".as_ref(),
        "--validators".as_ref(),
        "1".as_ref(),
        "--encrypt".as_ref(),
        "--json".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    let node = run.ok()[0].clone();
    let api = node["api"].as_str().unwrap().to_string();
    let port: u16 = api.rsplit(':').next().unwrap().parse().unwrap();
    let p2p: u16 = node["p2p"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    lianrong_tests::ports::mark_taken(port);
    lianrong_tests::ports::mark_taken(p2p);
    let config = PathBuf::from(node["config"].as_str().unwrap());
    let data_key = std::fs::read_to_string(node["data_key"].as_str().unwrap()).unwrap();
    let mut proc = NodeProc::new("bank", config.clone(), port);
    proc.start();
    let token = std::fs::read_to_string(out.join("keys/AUDIT.token")).unwrap();
    wait_until(
        "the encrypted node finalizes",
        Duration::from_secs(60),
        || {
            ureq::get(&format!("{api}/v1/status"))
                .set("authorization", &format!("Bearer {}", token.trim()))
                .call()
                .ok()
                .and_then(|r| r.into_json::<Value>().ok())
                .and_then(|v| v["height"].as_u64())
                .is_some_and(|h| h >= 3)
        },
    );
    stop(&mut proc);
    let genesis: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("genesis.json")).unwrap()).unwrap();
    let sup = &genesis["orgs"].as_array().unwrap()[5];
    assert_eq!(sup["id"], "SUP-1");
    let needles = [
        ("an org id", "SUP-1"),
        ("a tax id", sup["tax_id"].as_str().unwrap()),
        ("a member key", sup["keys"][0].as_str().unwrap()),
        ("the data key", data_key.trim()),
    ];
    assert_no_plaintext(&[&data_dir(&config)], &needles);
}
