//! Pruning the tree to a window of versions: what goes (nodes and value versions only old
//! versions reach), what stays (every node of every kept version, every block's state
//! root, current proofs), a proof outside the window refused by name, a backlog worked
//! off in bounded steps, and random workloads against a model of every version.

use std::collections::{BTreeMap, BTreeSet};

use jmt::storage::{NibblePath, Node, NodeKey};
use lianrong_contracts::merkle::compute_changes;
use lianrong_contracts::state::Writes;
use lianrong_contracts::testkit::CHAIN_ID;
use rand::{Rng, SeedableRng};

use super::*;
use crate::node_codec::{decode_node, encode_node_key};
use crate::prune::prune_budget;
use crate::schema::{parse_height, stale_items, CF_JMT_NODES, CF_JMT_STALE, CF_JMT_VALUES};
use crate::{DataKey, DbError, DbOptions};

/// Options of a database pruning to the last `keep` versions.
fn pruning(keep: u64) -> DbOptions {
    DbOptions {
        keep_versions: Some(keep),
        ..DbOptions::default()
    }
}

/// A database opened with `options`, genesis applied when new.
pub(super) fn genesis_db_with(dir: &std::path::Path, options: &DbOptions) -> Db {
    let db = Db::open_with(dir, CHAIN_ID, options).expect("open");
    if db.latest().expect("latest").is_none() {
        let changes = testkit::genesis(Params::default())
            .changes(&db)
            .expect("genesis changes");
        db.apply_genesis(&changes).expect("apply genesis");
    }
    db
}

/// Keys and bytes (keys plus stored values) of a column family, as stored.
fn count(db: &Db, cf: &str) -> (usize, usize) {
    let mut it = db.db.raw_iterator_cf(db.cf(cf));
    it.seek_to_first();
    let (mut keys, mut bytes) = (0, 0);
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        keys += 1;
        bytes += k.len() + v.len();
        it.next();
    }
    it.status().expect("iterate");
    (keys, bytes)
}

/// Stale items waiting in the index, over all its entries.
fn stale_item_count(db: &Db) -> usize {
    column(db, CF_JMT_STALE)
        .iter()
        .map(|(_, v)| stale_items(v).expect("stale entry").len())
        .sum()
}

/// Every entry of a column family, as stored.
pub(super) fn column(db: &Db, cf: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut it = db.db.raw_iterator_cf(db.cf(cf));
    it.seek_to_first();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        out.push((k.to_vec(), v.to_vec()));
        it.next();
    }
    it.status().expect("iterate");
    out
}

/// Every stored key of a column family.
pub(super) fn stored_keys(db: &Db, cf: &str) -> BTreeSet<Vec<u8>> {
    let mut it = db.db.raw_iterator_cf(db.cf(cf));
    it.seek_to_first();
    let mut out = BTreeSet::new();
    while let Some(k) = it.key() {
        out.insert(k.to_vec());
        it.next();
    }
    it.status().expect("iterate");
    out
}

/// The stored keys of every node reachable from the root of `version`, read from disk
/// (not the node cache); panics at the first node missing.
fn reachable(db: &Db, version: u64) -> BTreeSet<Vec<u8>> {
    let mut out = BTreeSet::new();
    let mut todo = vec![NodeKey::new(
        version,
        std::iter::empty().collect::<NibblePath>(),
    )];
    while let Some(key) = todo.pop() {
        let stored = encode_node_key(&key);
        let bytes = db
            .read(CF_JMT_NODES, &stored)
            .expect("read node")
            .unwrap_or_else(|| panic!("node {key:?} of version {version} is gone"));
        let node = decode_node(&bytes).expect("node");
        if let Node::Internal(internal) = &node {
            for (nibble, child) in internal.children_sorted() {
                let path = key
                    .nibble_path()
                    .nibbles()
                    .chain(std::iter::once(nibble))
                    .collect::<NibblePath>();
                todo.push(NodeKey::new(child.version, path));
            }
        }
        out.insert(stored);
    }
    out
}

/// `keep` versions after the chain's last: the oldest kept version.
fn oldest_kept(db: &Db, keep: u64) -> u64 {
    let (latest, _) = db.latest().expect("latest").expect("genesis");
    (latest + 1).saturating_sub(keep)
}

/// The nodes on disk are exactly those the versions a database pruning to `keep` keeps
/// reach (read from disk), and no stale entry of a pruned version is left.
pub(super) fn assert_window_whole(db: &Db, keep: u64) {
    let (latest, _) = db.latest().expect("latest").expect("genesis");
    let oldest = oldest_kept(db, keep);
    assert_eq!(db.pruned_below(), oldest, "floor at {latest}");
    db.nodes.clear();
    let kept: BTreeSet<Vec<u8>> = (oldest..=latest).flat_map(|v| reachable(db, v)).collect();
    assert_eq!(stored_keys(db, CF_JMT_NODES), kept, "nodes at {latest}");
    assert!(stored_keys(db, CF_JMT_STALE)
        .iter()
        .all(|k| parse_height(k).expect("stale key") > oldest));
}

#[test]
fn a_pruned_database_keeps_its_window_current_proofs_and_every_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = scenario(3);
    let keep = 4;
    let full = genesis_db_with(&dir.path().join("full"), &DbOptions::default());
    replay(&full, &w.log);
    let db = genesis_db_with(&dir.path().join("pruned"), &pruning(keep));
    replay(&db, &w.log);
    let (latest, root) = db.latest().expect("latest").expect("some");
    assert_eq!(full.latest().expect("latest"), Some((latest, root)));
    let oldest = oldest_kept(&db, keep);
    assert_eq!(db.pruned_below(), oldest);

    // The old versions' nodes and superseded values are gone: exactly the nodes the kept
    // versions reach remain, and nothing of what the pruner has to do is left behind.
    assert_window_whole(&db, keep);
    let kept = stored_keys(&db, CF_JMT_NODES);
    let (full_nodes, full_node_bytes) = count(&full, CF_JMT_NODES);
    let (nodes, node_bytes) = count(&db, CF_JMT_NODES);
    let (full_values, _) = count(&full, CF_JMT_VALUES);
    let (values, _) = count(&db, CF_JMT_VALUES);
    eprintln!(
        "{latest} blocks, keep {keep}: nodes {nodes} ({node_bytes} B) of {full_nodes} \
         ({full_node_bytes} B), values {values} of {full_values}"
    );
    assert!(nodes * 2 < full_nodes, "{nodes} of {full_nodes} nodes kept");
    assert!(
        values < full_values,
        "{values} of {full_values} values kept"
    );
    // The root of version 1 is gone; its hash is still version 1's state root.
    assert!(!kept.contains(&encode_node_key(&NodeKey::new(
        1,
        std::iter::empty().collect::<NibblePath>()
    ))));

    // Every block's execution commit (state root included) reads as on the full copy.
    for h in 0..=latest {
        assert_eq!(
            db.execution(h).expect("read"),
            full.execution(h).expect("read")
        );
    }
    // Current proofs verify, for every key in state.
    let state = db.scan_prefix(b"", usize::MAX).expect("scan");
    for (key, value) in state.iter().filter(|(k, _)| !k.starts_with(b"hist/")) {
        let p = db.prove(key, latest, root).expect("prove");
        p.verify(&root).expect("verifies");
        assert_eq!(p.value.as_ref(), Some(value));
    }
    // A proof at a pruned version is refused by name, with the window.
    let old_root = db.state_root(1).expect("read").expect("root of 1");
    match db.prove(keys::META, 1, old_root) {
        Err(
            e @ DbError::Pruned {
                version: 1,
                oldest_kept: o,
                keep_versions: Some(4),
            },
        ) => {
            assert_eq!(o, oldest);
            let msg = e.to_string();
            assert!(msg.contains("the last 4 versions"), "{msg}");
            assert!(msg.contains("[storage] keep_versions"), "{msg}");
        }
        other => panic!("a pruned version proved: {other:?}"),
    }
    // ... also through jmt directly (what the contract layer's `merkle::prove` uses).
    assert!(lianrong_contracts::merkle::prove(&db, keys::META, 1, old_root).is_err());
    // The oldest kept version still proves.
    let oldest_root = db.state_root(oldest).expect("read").expect("root");
    db.prove(keys::META, oldest, oldest_root)
        .expect("prove oldest kept")
        .verify(&oldest_root)
        .expect("verifies");

    // A checkpoint (a backup) of the pruned database opens at its height and root.
    let cp = dir.path().join("checkpoint");
    db.checkpoint(&cp).expect("checkpoint");
    let copy = Db::open_with(&cp, CHAIN_ID, &pruning(keep)).expect("open copy");
    assert_eq!(copy.latest().expect("latest"), Some((latest, root)));
    assert_eq!(copy.pruned_below(), oldest);
    drop(copy);

    // Reopened without pruning, the floor stays and the error says so.
    drop(db);
    let db = Db::open(dir.path().join("pruned"), CHAIN_ID).expect("reopen");
    assert_eq!(db.pruned_below(), oldest);
    let e = db.prove(keys::META, 1, old_root).expect_err("still pruned");
    assert!(
        e.to_string().contains("earlier [storage] keep_versions"),
        "{e}"
    );
}

#[test]
fn a_backlog_is_pruned_in_bounded_steps_and_the_floor_never_goes_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = scenario(3);
    let half = w.log.len() / 2;
    let path = dir.path().join("db");
    // A wide window first: the stale index grows, nothing is pruned.
    let db = genesis_db_with(&path, &pruning(10_000));
    replay(&db, &w.log[..half]);
    assert_eq!(db.pruned_below(), 0);
    let backlog = stale_item_count(&db);
    assert!(backlog > 0);
    drop(db);

    // Narrowed: each block deletes at most its budget, and the backlog goes.
    let keep = 2;
    let db = genesis_db_with(&path, &pruning(keep));
    for logged in &w.log[half..] {
        let before = stale_item_count(&db);
        let c = commit_of(&logged.0, &logged.1, &db);
        let new_stale = {
            let mut batch = rocksdb::WriteBatch::default();
            db.stage_stale_index(&mut batch, c.height, &c.changes.tree)
                .expect("stage")
        };
        db.commit_block(&c).expect("commit");
        let after = stale_item_count(&db);
        let deleted = before + new_stale - after;
        assert!(deleted <= prune_budget(new_stale), "{deleted} deleted");
    }
    let oldest = oldest_kept(&db, keep);
    assert_window_whole(&db, keep);
    drop(db);

    // Widened again: what is pruned stays pruned, and the floor stays where it was.
    let db = genesis_db_with(&path, &pruning(1000));
    assert_eq!(db.pruned_below(), oldest);
    assert!(matches!(
        db.prove(keys::META, oldest - 1, Hash::ZERO),
        Err(DbError::Pruned {
            keep_versions: Some(1000),
            ..
        })
    ));
}

#[test]
fn a_backlog_pruned_a_few_items_at_a_time_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = scenario(2);
    let path = dir.path().join("db");
    let db = genesis_db_with(&path, &pruning(10_000));
    replay(&db, &w.log);
    let backlog = stale_item_count(&db);
    drop(db);

    // Narrowed, and pruned 7 items a pass: most passes end inside a block's entry, whose
    // items left are written back for the next pass.
    let keep = 2;
    let db = genesis_db_with(&path, &pruning(keep));
    let (latest, _) = db.latest().expect("latest").expect("genesis");
    let mut left = backlog;
    let mut passes = 0;
    loop {
        let mut batch = rocksdb::WriteBatch::default();
        let stats = db.stage_prune(&mut batch, latest, 7).expect("stage");
        db.db.write(batch).expect("write");
        let now = stale_item_count(&db);
        assert_eq!(now, left - stats.items, "items handled are items gone");
        assert!(stats.items <= 7);
        left = now;
        passes += 1;
        if stats.items == 0 {
            break;
        }
    }
    // Each pass took its whole budget while any was left.
    let pruned = backlog - left;
    assert!(pruned > 100, "{pruned} of {backlog} items pruned");
    assert_eq!(passes - 1, pruned.div_ceil(7), "passes for {pruned} items");
    // What is left is stale from the kept versions only.
    assert_window_whole(&db, keep);
}

/// One block of random writes to a small key space (so leaves split, merge and move),
/// sometimes none at all (jmt then copies the root to the new version).
pub(super) fn random_writes(rng: &mut rand::rngs::StdRng) -> Writes {
    let mut writes = Writes::new();
    let n = rng.gen_range(0..7);
    for _ in 0..n {
        let key = format!("prop/{}", rng.gen_range(0..48)).into_bytes();
        let value = rng.gen_bool(0.75).then(|| {
            let len = rng.gen_range(1..40);
            (0..len).map(|_| rng.gen::<u8>()).collect::<Vec<u8>>()
        });
        writes.insert(key, value);
    }
    writes
}

/// Commits `writes` as the next block, without transactions.
pub(super) fn commit_writes(db: &Db, height: u64, writes: Writes) -> Hash {
    let changes = compute_changes(db, height, writes).expect("tree update");
    let root = changes.root;
    let block = height.to_be_bytes().to_vec();
    db.commit_block(&CommitBlock {
        height,
        block_hash: sha256(&block),
        block,
        cert: b"cert".to_vec(),
        txs: Vec::new(),
        receipts: Vec::new(),
        changes,
        results_root: Hash::ZERO,
        ends_epoch: None,
        ledger_events: Vec::new(),
    })
    .expect("commit");
    root
}

/// The model of one version: its root and its `prop/` keys.
type Version = (Hash, BTreeMap<Vec<u8>, Vec<u8>>);

/// Checks a database against the model of every version: the nodes on disk are exactly
/// those the kept versions reach, every key proves its model value at every kept version,
/// every older version is refused, and every version's root reads back.
fn check_against_model(db: &Db, keep: u64, model: &[Version]) {
    let latest = model.len() as u64 - 1;
    let oldest = (latest + 1).saturating_sub(keep);
    assert_eq!(db.pruned_below(), oldest);
    db.nodes.clear();
    let kept: BTreeSet<Vec<u8>> = (oldest..=latest).flat_map(|v| reachable(db, v)).collect();
    assert_eq!(stored_keys(db, CF_JMT_NODES), kept, "nodes at {latest}");
    for (v, (root, state)) in model.iter().enumerate() {
        let v = v as u64;
        assert_eq!(db.state_root(v).expect("root"), Some(*root), "root of {v}");
        for k in 0..48 {
            let key = format!("prop/{k}").into_bytes();
            let proved = db.prove(&key, v, *root);
            if v < oldest {
                assert!(matches!(proved, Err(DbError::Pruned { .. })), "{v} proved");
                continue;
            }
            let p = proved.unwrap_or_else(|e| panic!("prove {k} at {v} of {latest}: {e}"));
            p.verify(root).expect("verifies");
            assert_eq!(p.value.as_ref(), state.get(&key), "{k} at {v}");
        }
    }
}

#[test]
fn pruning_never_removes_what_a_kept_version_reaches() {
    for seed in 0..8u64 {
        let keep = [2, 3, 5, 8][seed as usize % 4];
        let encryption = (seed % 2 == 1).then(DataKey::generate);
        let options = DbOptions {
            encryption,
            ..pruning(keep)
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let db = genesis_db_with(dir.path(), &options);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let genesis = db.latest().expect("latest").expect("genesis").1;
        let genesis_values = count(&db, CF_JMT_VALUES).0;
        let mut model = vec![(genesis, BTreeMap::new())];
        for height in 1..=40u64 {
            let writes = random_writes(&mut rng);
            let mut state = model[model.len() - 1].1.clone();
            for (k, v) in &writes {
                match v {
                    Some(v) => state.insert(k.clone(), v.clone()),
                    None => state.remove(k),
                };
            }
            let root = commit_writes(&db, height, writes);
            model.push((root, state));
            check_against_model(&db, keep, &model);
        }
        // Superseded value versions went too: of each key at most the kept versions' and
        // the one the oldest kept version reads are left.
        let (values, _) = count(&db, CF_JMT_VALUES);
        let most = genesis_values + 48 * (keep as usize + 1);
        assert!(
            values <= most,
            "seed {seed}: {values} values, at most {most}"
        );
    }
}

/// Bytes of every table after a full compaction (what is left once RocksDB dropped what
/// the deletions cover), and the tree's share.
fn compacted_bytes(db: &Db) -> (u64, u64) {
    let (mut all, mut tree) = (0, 0);
    for cf in crate::schema::ALL_CFS {
        db.db
            .compact_range_cf(db.cf(cf), None::<&[u8]>, None::<&[u8]>);
        let size = db
            .db
            .property_int_value_cf(db.cf(cf), "rocksdb.total-sst-files-size")
            .expect("property")
            .unwrap_or(0);
        all += size;
        if [
            CF_JMT_NODES,
            CF_JMT_VALUES,
            CF_JMT_STALE,
            crate::schema::CF_ROOTS,
        ]
        .contains(cf)
        {
            tree += size;
        }
    }
    (all, tree)
}

/// Not a check: the figures for `docs/operations.md`. `cargo test --profile dev -p
/// lianrong-storage -- --ignored bytes_per_transaction --nocapture`.
#[test]
#[ignore = "a measurement, run by hand"]
fn bytes_per_transaction() {
    let w = scenario(40);
    let txs: usize = w.log.iter().map(|(_, t, _)| t.len()).sum();
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, keep) in [
        ("every version", None),
        ("keep 64", Some(64)),
        ("keep 2", Some(2)),
    ] {
        let options = DbOptions {
            keep_versions: keep,
            ..DbOptions::default()
        };
        let db = genesis_db_with(&dir.path().join(name), &options);
        replay(&db, &w.log);
        db.db.flush().expect("flush");
        let (all, tree) = compacted_bytes(&db);
        eprintln!(
            "{name}: {} blocks, {txs} tx: {all} B of tables = {:.0} B/tx, of which the tree {tree} B = {:.0} B/tx",
            w.log.len(),
            all as f64 / txs as f64,
            tree as f64 / txs as f64
        );
    }
}
