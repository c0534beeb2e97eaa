//! Snapshots: the state exported from a copy cut at one height imports into an empty
//! database, which then executes the rest of the chain to the same roots; a server that
//! alters, drops, adds or reorders anything is refused at the chunk it did it in.

use std::sync::Arc;

use lianrong_contracts::state::Entries;
use lianrong_contracts::testkit::CHAIN_ID;

use super::*;
use crate::snapshot::{
    ChunkLimits, HistoryChunk, SnapshotBase, SnapshotError, SnapshotImport, StateChunk,
};
use crate::{DataKey, DbOptions};

/// Small chunks, so a test world's state spans many of them.
const SMALL: ChunkLimits = ChunkLimits {
    entries: 7,
    bytes: 2048,
};

/// A served snapshot: every state chunk, then every history chunk.
struct Served {
    height: u64,
    root: Hash,
    state: Vec<StateChunk>,
    history: Vec<HistoryChunk>,
}

/// A live database at half of a test world's chain (then one block on), its export copy
/// cut at the half, what the copy serves, and the world.
fn served(dir: &std::path::Path) -> (Db, Db, Served, World) {
    served_from(dir, &DbOptions::default())
}

/// [`served`] from a live database opened with `options`.
fn served_from(dir: &std::path::Path, options: &DbOptions) -> (Db, Db, Served, World) {
    let w = scenario(2);
    let half = w.log.len() / 2;
    let live = Db::open_with(dir.join("live"), CHAIN_ID, options).expect("open");
    let genesis = testkit::genesis(Params::default());
    live.apply_genesis(&genesis.changes(&live).expect("genesis changes"))
        .expect("apply genesis");
    replay(&live, &w.log[..half]);
    let (height, root) = live.latest().expect("latest").expect("some");
    let (copy, counts) = live.cut_export(&dir.join("export")).expect("export");
    // The live database moves on; the export does not.
    replay(&live, &w.log[half..half + 1]);
    let mut state = Vec::new();
    let mut after = None;
    loop {
        let c = copy
            .export_state_chunk(height, after.as_ref(), SMALL)
            .expect("chunk");
        after = c.last;
        let more = c.more;
        state.push(c);
        if !more {
            break;
        }
    }
    let mut history: Vec<HistoryChunk> = Vec::new();
    loop {
        let after = history
            .last()
            .and_then(|c| c.entries.last())
            .map(|(k, _)| k.clone());
        let c = copy
            .export_history_chunk(height, after.as_deref(), SMALL)
            .expect("history chunk");
        let more = c.more;
        history.push(c);
        if !more {
            break;
        }
    }
    let leaves: usize = state.iter().map(|c| c.entries.len()).sum();
    let entries: usize = history.iter().map(|c| c.entries.len()).sum();
    assert_eq!(
        (leaves as u64, entries as u64),
        (counts.leaves, counts.history_entries)
    );
    assert!(
        state.len() > 3 && history.len() > 3,
        "{} / {}",
        state.len(),
        history.len()
    );
    let s = Served {
        height,
        root,
        state,
        history,
    };
    (live, copy, s, w)
}

fn base() -> SnapshotBase {
    SnapshotBase {
        block_hash: Hash([7; 32]),
        block: b"the block".to_vec(),
        cert: b"its certificate".to_vec(),
        results_root: Hash([8; 32]),
        ends_epoch: None,
        epoch_ends: Vec::new(),
        safety: b"safety".to_vec(),
    }
}

fn fresh(dir: &std::path::Path) -> Arc<Db> {
    Arc::new(Db::open(dir, CHAIN_ID).expect("open"))
}

fn encrypted() -> DbOptions {
    DbOptions {
        encryption: Some(DataKey::generate()),
        ..DbOptions::default()
    }
}

/// Imports `s` into `db`; the first error.
fn import(db: &Arc<Db>, s: &Served) -> Result<(), SnapshotError> {
    let mut imp = SnapshotImport::begin(db.clone(), s.height, s.root)?;
    for c in &s.state {
        imp.add_state(c.entries.clone(), &c.proof)?;
    }
    imp.end_state()?;
    for c in &s.history {
        imp.add_history(c.entries.clone())?;
    }
    imp.finish(base())
}

#[test]
fn an_imported_snapshot_serves_the_state_and_executes_the_rest_of_the_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (live, copy, s, w) = served(dir.path());
    let db = fresh(&dir.path().join("joined"));
    import(&db, &s).expect("import");
    assert_eq!(db.latest().expect("latest"), Some((s.height, s.root)));
    assert_eq!(db.snapshot_base().expect("base"), Some(s.height));
    assert_eq!(live.snapshot_base().expect("base"), None);
    assert_eq!(
        db.block(s.height).expect("block"),
        Some(b"the block".to_vec())
    );
    assert_eq!(
        db.block(s.height - 1).expect("block"),
        None,
        "no block below the base"
    );
    assert_eq!(db.load_safety().expect("safety"), Some(b"safety".to_vec()));
    assert_indexes_match_state(&db);
    // State and history (what the contract layer reads) are the copy's, exactly.
    let every = |d: &Db| d.scan_prefix(b"", usize::MAX).expect("scan");
    assert_eq!(every(&db), every(&copy));
    assert!(every(&db).iter().any(|(k, _)| k.starts_with(b"hist/")));
    // Reopened (the root checked at open), it executes the rest of the chain.
    drop(db);
    let db = Db::open(dir.path().join("joined"), CHAIN_ID).expect("reopen");
    replay(&db, &w.log[s.height as usize..]);
    assert_eq!(
        db.latest().expect("latest"),
        w.store.latest().expect("latest")
    );
    assert_indexes_match_state(&db);
    drop(live);
}

/// The import of `s` as `lie` changed it: refused, with the error's text.
fn refused(dir: &std::path::Path, name: &str, s: &Served, lie: impl FnOnce(&mut Served)) -> String {
    let mut lied = Served {
        height: s.height,
        root: s.root,
        state: s.state.clone(),
        history: s.history.clone(),
    };
    lie(&mut lied);
    let db = fresh(&dir.join(name));
    match import(&db, &lied) {
        Ok(()) => panic!("{name}: a lying snapshot was imported"),
        Err(e) => e.to_string(),
    }
}

fn flip(bytes: &mut [u8]) {
    if let Some(b) = bytes.last_mut() {
        *b ^= 1;
    }
}

#[test]
fn a_lying_server_is_caught_at_its_first_bad_chunk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_live, _copy, s, _w) = served(dir.path());
    let bad_chunk_2 = |e: &str| e.starts_with("state chunk 2 refused");
    // A value of a leaf of its own (a document leaf changed may no longer decode).
    let own = (s.state[1].entries.iter())
        .position(|(key, _)| !key.starts_with(b"doc/"))
        .expect("a leaf of its own in chunk 2");
    let e = refused(dir.path(), "value", &s, |l| {
        flip(&mut l.state[1].entries[own].1)
    });
    assert!(bad_chunk_2(&e) && e.contains("certified state root"), "{e}");
    let e = refused(dir.path(), "dropped", &s, |l| {
        l.state[1].entries.remove(2);
    });
    assert!(bad_chunk_2(&e), "{e}");
    let e = refused(dir.path(), "added", &s, |l| {
        let (k, v) = l.state[1].entries[2].clone();
        l.state[1]
            .entries
            .insert(2, ([k.clone(), b"x".to_vec()].concat(), v));
    });
    assert!(e.starts_with("state chunk 2 refused"), "{e}");
    let e = refused(dir.path(), "swapped", &s, |l| l.state.swap(1, 2));
    assert!(bad_chunk_2(&e), "{e}");
    let e = refused(dir.path(), "proof", &s, |l| {
        l.state[1].proof = l.state[2].proof.clone()
    });
    assert!(bad_chunk_2(&e), "{e}");
    let e = refused(dir.path(), "history key", &s, |l| {
        l.state[1].entries[0].0 = b"hist/x/y/1".to_vec();
    });
    assert!(
        bad_chunk_2(&e) && e.contains("outside the state key space"),
        "{e}"
    );
    let e = refused(dir.path(), "head as a leaf", &s, |l| {
        l.state[1].entries[0].0 = b"hhead/order/PO-1".to_vec();
    });
    assert!(
        bad_chunk_2(&e) && e.contains("lives in its document's leaf"),
        "{e}"
    );
    let e = refused(dir.path(), "document leaf", &s, |l| {
        let doc = l.state[1]
            .entries
            .iter_mut()
            .find(|(k, _)| k.starts_with(b"doc/"))
            .expect("a document leaf in chunk 2");
        doc.1 = b"a bare document".to_vec();
    });
    assert!(bad_chunk_2(&e) && e.contains("does not decode"), "{e}");
    let e = refused(dir.path(), "stops early", &s, |l| {
        l.state.pop();
    });
    assert!(
        e.contains("incomplete") && e.contains("leaves are missing"),
        "{e}"
    );
    let e = refused(dir.path(), "other root", &s, |l| l.root = Hash([1; 32]));
    assert!(e.starts_with("state chunk 1 refused"), "{e}");
}

#[test]
fn history_that_does_not_chain_to_the_certified_heads_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_live, _copy, s, _w) = served(dir.path());
    let e = refused(dir.path(), "entry", &s, |l| {
        flip(&mut l.history[1].entries[1].1)
    });
    assert!(
        e.contains("history chunk") && e.contains("do not chain"),
        "{e}"
    );
    let e = refused(dir.path(), "dropped", &s, |l| {
        l.history[1].entries.remove(1);
    });
    assert!(
        e.contains("history chunk") && e.contains("do not chain"),
        "{e}"
    );
    let e = refused(dir.path(), "twice", &s, |l| {
        let again = l.history[0].clone();
        l.history.push(again);
    });
    assert!(e.contains("already received"), "{e}");
    let e = refused(dir.path(), "missing", &s, |l| {
        let last: Entries = l.history.pop().expect("a chunk").entries;
        // Whole documents only: drop the last chunk's documents from the one before too.
        let doc = |k: &[u8]| {
            k.splitn(4, |b| *b == b'/')
                .take(3)
                .collect::<Vec<_>>()
                .concat()
        };
        let gone: BTreeSet<Vec<u8>> = last.iter().map(|(k, _)| doc(k)).collect();
        for c in &mut l.history {
            c.entries.retain(|(k, _)| !gone.contains(&doc(k)));
        }
        l.history.retain(|c| !c.entries.is_empty());
    });
    assert!(e.contains("incomplete") && e.contains("history of"), "{e}");
}

#[test]
fn an_import_goes_into_an_empty_database_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Arc::new(genesis_db(&dir.path().join("genesis")));
    let err = SnapshotImport::begin(db, 3, Hash([1; 32]))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("not empty"), "{err}");
}

#[test]
fn an_encrypted_database_exports_and_an_encrypted_one_imports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_live, copy, s, w) = served_from(dir.path(), &encrypted());
    let options = encrypted();
    let path = dir.path().join("joined");
    let db = Arc::new(Db::open_with(&path, CHAIN_ID, &options).expect("open"));
    import(&db, &s).expect("import");
    let every = |d: &Db| d.scan_prefix(b"", usize::MAX).expect("scan");
    assert_eq!(every(&db), every(&copy));
    assert_indexes_match_state(&db);
    drop(db);
    let db = Db::open_with(&path, CHAIN_ID, &options).expect("reopen");
    replay(&db, &w.log[s.height as usize..]);
    assert_eq!(
        db.latest().expect("latest"),
        w.store.latest().expect("latest")
    );
}

#[test]
fn a_pruning_database_exports_and_a_pruning_one_imports_and_prunes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pruning = DbOptions {
        keep_versions: Some(2),
        ..DbOptions::default()
    };
    let (live, copy, s, w) = served_from(dir.path(), &pruning);
    assert!(live.pruned_below() > 0, "the live database pruned");
    let path = dir.path().join("joined");
    let db = Arc::new(Db::open_with(&path, CHAIN_ID, &pruning).expect("open"));
    import(&db, &s).expect("import");
    let every = |d: &Db| d.scan_prefix(b"", usize::MAX).expect("scan");
    assert_eq!(every(&db), every(&copy));
    drop(db);
    let db = Db::open_with(&path, CHAIN_ID, &pruning).expect("reopen");
    replay(&db, &w.log[s.height as usize..]);
    assert_eq!(
        db.latest().expect("latest"),
        w.store.latest().expect("latest")
    );
    super::prune::assert_window_whole(&db, 2);
}
