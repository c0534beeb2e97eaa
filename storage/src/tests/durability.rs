//! What survives closing and reopening: everything, for this chain only.

use lianrong_consensus::{EngineConfig, SafetyState, SafetyStore, ValidatorSet};
use lianrong_contracts::testkit::CHAIN_ID;
use lianrong_primitives::SecretKey;

use super::*;
use crate::{DbError, MAX_SAFETY_BYTES};

/// Everything a reader can ask about the first `upto` logged blocks, for comparing a
/// database before and after reopening.
fn snapshot_of(db: &Db, w: &World, upto: usize) -> Vec<String> {
    let mut out = vec![format!("{:?}", db.latest().expect("latest"))];
    out.push(format!("{:?}", db.genesis_root().expect("genesis root")));
    for (ctx, txs, _) in &w.log[..upto] {
        out.push(format!("{:?}", db.block(ctx.height).expect("block")));
        out.push(format!("{:?}", db.cert(ctx.height).expect("cert")));
        for t in txs {
            out.push(format!("{:?}", db.tx(&t.hash()).expect("tx")));
            out.push(format!("{:?}", db.receipt(&t.hash()).expect("receipt")));
        }
    }
    for r in receivables_in_state(db) {
        out.push(format!(
            "{:?}",
            db.history_after(DocKind::Receivable, r.id.as_str(), None, 1000)
                .expect("history")
        ));
        out.push(format!("{r:?}"));
    }
    for o in ["SUP-1", "SUP-2", "SUP-3"] {
        out.push(format!(
            "{:?}",
            all_of(db, &ReceivableIndex::Holder(org(o)), 1000)
        ));
    }
    out.push(format!(
        "{:?}",
        db.scan_prefix(b"", usize::MAX).expect("scan")
    ));
    out
}

#[test]
fn everything_survives_reopening_and_execution_continues() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = scenario(2);
    let half = w.log.len() / 2;
    let before = {
        let db = genesis_db(dir.path());
        replay(&db, &w.log[..half]);
        let s = snapshot_of(&db, &w, half);
        db.close().expect("close");
        s
    };
    let db = Db::open(dir.path(), CHAIN_ID).expect("reopen");
    assert_eq!(snapshot_of(&db, &w, half), before);
    assert_eq!(
        db.latest().expect("latest"),
        Some((w.log[half - 1].0.height, w.log[half - 1].2))
    );
    assert_indexes_match_state(&db);
    // Execution continues on the reopened database with the same roots.
    replay(&db, &w.log[half..]);
    assert_eq!(
        db.latest().expect("latest"),
        w.store.latest().expect("latest")
    );
    // Dropping without close is as durable (the writes were synced).
    drop(db);
    let db = Db::open(dir.path(), CHAIN_ID).expect("reopen after drop");
    assert_eq!(
        db.latest().expect("latest"),
        w.store.latest().expect("latest")
    );
    assert_indexes_match_state(&db);
}

#[test]
fn another_chains_database_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    genesis_db(dir.path()).close().expect("close");
    match Db::open(dir.path(), "some-other-chain") {
        Err(DbError::WrongChain {
            stored, expected, ..
        }) => {
            assert_eq!(stored, CHAIN_ID);
            assert_eq!(expected, "some-other-chain");
        }
        other => panic!("expected WrongChain, got {other:?}"),
    }
    // The refusal changed nothing: the right chain still opens.
    let db = Db::open(dir.path(), CHAIN_ID).expect("reopen");
    assert!(db.latest().expect("latest").is_some());
}

#[test]
fn a_database_is_opened_by_one_process_at_a_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _db = Db::open(dir.path(), CHAIN_ID).expect("open");
    assert!(matches!(
        Db::open(dir.path(), CHAIN_ID),
        Err(DbError::Open { .. })
    ));
}

#[test]
fn safety_state_is_stored_and_survives_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys: Vec<SecretKey> = (1..=4u8).map(|i| SecretKey::from_seed([i; 32])).collect();
    let set = ValidatorSet::from_keys(&keys.iter().map(|k| k.public()).collect::<Vec<_>>())
        .expect("validator set");
    let cfg = EngineConfig::new(CHAIN_ID, set, keys[0].clone());
    let mut state = SafetyState::genesis(&cfg);
    {
        let mut db = Db::open(dir.path(), CHAIN_ID).expect("open");
        assert_eq!(db.load_safety().expect("load"), None);
        assert_eq!(SafetyStore::load(&db).expect("load"), None);
        db.store_safety(b"first").expect("store");
        assert_eq!(db.load_safety().expect("load"), Some(b"first".to_vec()));
        assert!(SafetyStore::load(&db).is_err(), "not a safety state");
        state.last_voted_round = 7;
        SafetyStore::store(&mut db, &state).expect("store");
        assert!(matches!(
            db.store_safety(&vec![0; MAX_SAFETY_BYTES + 1]),
            Err(DbError::TooLarge { .. })
        ));
        // The shared form, as used behind an Arc.
        let mut shared: &Db = &db;
        state.last_voted_round = 8;
        shared.store(&state).expect("store");
    }
    let db = Db::open(dir.path(), CHAIN_ID).expect("reopen");
    assert_eq!(SafetyStore::load(&db).expect("load"), Some(state));
}
