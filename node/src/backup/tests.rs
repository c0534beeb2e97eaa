//! Backups and restores of a node's database, without a network: offline and through the
//! admin socket, and every refusal of a restore.

use std::path::{Path, PathBuf};

use lianrong_contracts::model::Params;
use lianrong_contracts::testkit;

use super::restore::{backup, restore, Taken};
use super::*;
use crate::config::NodeConfig;

/// A node's folder: genesis, config (data dir `data`), and its database with genesis.
fn node_dir(root: &Path, name: &str, chain: &str) -> NodeConfig {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut genesis = testkit::genesis(Params::default());
    genesis.chain_id = chain.into();
    std::fs::write(
        dir.join("genesis.json"),
        serde_json::to_string(&genesis).unwrap(),
    )
    .unwrap();
    let text = "[node]\nname = \"n\"\ndata_dir = \"data\"\nnode_key = \"k\"\ngenesis = \
                \"genesis.json\"\n[p2p]\nlisten = \"/ip4/127.0.0.1/tcp/1\"\n\
                [api]\nlisten = \"127.0.0.1:1\"\nmax_body_bytes = 65536\n";
    std::fs::write(dir.join("config.toml"), text).unwrap();
    NodeConfig::load(&dir.join("config.toml")).unwrap()
}

fn with_db(cfg: &NodeConfig) -> Db {
    let genesis = crate::config::load_genesis(&cfg.node.genesis).unwrap();
    crate::runtime::open_db(cfg, &genesis).unwrap()
}

fn copy_backup(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join(DB_DIR)).unwrap();
    std::fs::copy(from.join(MANIFEST_FILE), to.join(MANIFEST_FILE)).unwrap();
    for e in std::fs::read_dir(from.join(DB_DIR)).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(DB_DIR).join(p.file_name().unwrap())).unwrap();
    }
}

fn refusal(cfg: &NodeConfig, from: &Path) -> String {
    restore(cfg, from, false).unwrap_err().to_string()
}

#[test]
fn a_stopped_nodes_backup_restores_into_an_empty_data_dir_and_replaces_only_with_force() {
    let root = tempfile::tempdir().unwrap();
    let a = node_dir(root.path(), "a", testkit::CHAIN_ID);
    let latest = with_db(&a).latest().unwrap();
    let out = root.path().join("backup");
    let (manifest, taken) = backup(&a, &out).unwrap();
    assert_eq!(taken, Taken::Offline);
    assert_eq!(Some((manifest.height, manifest.state_root)), latest);
    assert_eq!(manifest.chain_id, testkit::CHAIN_ID);
    assert!(
        manifest.files.iter().any(|f| f.name == "CURRENT"),
        "{manifest:?}"
    );

    let b = node_dir(root.path(), "b", testkit::CHAIN_ID);
    assert_eq!(restore(&b, &out, false).unwrap(), manifest);
    assert_eq!(with_db(&b).latest().unwrap(), latest);
    let err = refusal(&b, &out);
    assert!(
        err.contains("is not empty") && err.contains("--force"),
        "{err}"
    );
    restore(&b, &out, true).unwrap();
    assert_eq!(with_db(&b).latest().unwrap(), latest);
    // Nothing is left beside the data dir.
    let mut names: Vec<String> = std::fs::read_dir(root.path().join("b"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["config.toml", "data", "genesis.json"]);
}

#[test]
fn damaged_altered_foreign_and_unfinished_backups_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let a = node_dir(root.path(), "a", testkit::CHAIN_ID);
    drop(with_db(&a));
    let out = root.path().join("backup");
    backup(&a, &out).unwrap();
    let b = node_dir(root.path(), "b", testkit::CHAIN_ID);
    let case = |name: &str, spoil: &dyn Fn(&Path)| -> String {
        let dir = root.path().join(name);
        copy_backup(&out, &dir);
        spoil(&dir);
        refusal(&b, &dir)
    };
    let flipped = case("flipped", &|d| {
        let f = d.join(DB_DIR).join("CURRENT");
        let mut bytes = std::fs::read(&f).unwrap();
        bytes[0] ^= 1;
        std::fs::write(&f, bytes).unwrap();
    });
    assert!(
        flipped.contains("db/CURRENT") && flipped.contains("damaged or was altered"),
        "{flipped}"
    );
    let extra = case("extra", &|d| {
        std::fs::write(d.join(DB_DIR).join("x.sst"), b"x").unwrap()
    });
    assert!(extra.contains("db/x.sst is not in the manifest"), "{extra}");
    let missing = case("missing", &|d| {
        std::fs::remove_file(d.join(DB_DIR).join("CURRENT")).unwrap()
    });
    assert!(missing.contains("db/CURRENT is missing"), "{missing}");
    let unfinished = case("unfinished", &|d| {
        std::fs::remove_file(d.join(MANIFEST_FILE)).unwrap()
    });
    assert!(
        unfinished.contains("not a backup, or an unfinished one"),
        "{unfinished}"
    );
    let escape = case("escape", &|d| {
        edit_manifest(d, |m| m.files[0].name = "../../x".into())
    });
    assert!(escape.contains("is not a plain name"), "{escape}");
    // A manifest rewritten to claim this chain: the files match, the database does not.
    let other = node_dir(root.path(), "other", "another-chain");
    let foreign = refusal(&other, &out);
    assert!(
        foreign.contains("backup of chain \"lianrong-test\""),
        "{foreign}"
    );
    assert!(foreign.contains("\"another-chain\""), "{foreign}");
    let relabelled = root.path().join("relabelled");
    copy_backup(&out, &relabelled);
    edit_manifest(&relabelled, |m| m.chain_id = "another-chain".into());
    let err = refusal(&other, &relabelled);
    assert!(err.contains("holds chain \"lianrong-test\""), "{err}");
    // A refused restore leaves nothing behind.
    let left: Vec<_> = std::fs::read_dir(root.path().join("other"))
        .unwrap()
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
}

fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut Manifest)) {
    let path = dir.join(MANIFEST_FILE);
    let mut m: Manifest = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut m);
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_node_backs_itself_up_through_its_admin_socket() {
    let root = tempfile::tempdir().unwrap();
    let a = node_dir(root.path(), "a", testkit::CHAIN_ID);
    let db = std::sync::Arc::new(with_db(&a));
    let socket = admin::AdminSocket::serve(db.clone(), &a.node.data_dir, "n").unwrap();
    let out: PathBuf = root.path().join("online");
    let cfg = a.clone();
    let (manifest, taken) = tokio::task::spawn_blocking(move || backup(&cfg, &out))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken, Taken::Online);
    assert_eq!(
        Some((manifest.height, manifest.state_root)),
        db.latest().unwrap()
    );
    verify_backup(&root.path().join("online"), testkit::CHAIN_ID).unwrap();
    // A relative folder is the client's to resolve; the node takes absolute paths only.
    let sock = admin::socket_path(&a.node.data_dir);
    let err = tokio::task::spawn_blocking(move || admin::request_backup(&sock, Path::new("rel")))
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("not an absolute path"), "{err}");
    // While the node runs, its data dir is not replaced.
    let cfg = a.clone();
    let from = root.path().join("online");
    let err = tokio::task::spawn_blocking(move || restore(&cfg, &from, true))
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("is running: stop it"), "{err}");
    drop(socket);
    assert!(!admin::socket_path(&a.node.data_dir).exists());
}
