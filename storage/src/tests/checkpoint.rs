//! Checkpoints (online backups): a copy cut while the database lives on reopens with the
//! state it had at the cut, and execution continues on it with the same roots.

use lianrong_contracts::testkit::CHAIN_ID;

use super::*;
use crate::DbError;

#[test]
fn a_checkpoint_reopens_at_the_height_and_root_it_was_cut_at() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = scenario(2);
    let half = w.log.len() / 2;
    let db = genesis_db(&dir.path().join("live"));
    replay(&db, &w.log[..half]);
    let at_cut = db.latest().expect("latest");
    let blocks: Vec<_> = (1..=w.log[half - 1].0.height)
        .map(|h| db.block(h).expect("block"))
        .collect();
    let copy = dir.path().join("backup");
    db.checkpoint(&copy).expect("checkpoint");
    // The live database moves on; the copy does not.
    replay(&db, &w.log[half..]);
    assert_eq!(
        db.latest().expect("latest"),
        w.store.latest().expect("latest")
    );

    let restored = Db::open(&copy, CHAIN_ID).expect("open the checkpoint");
    assert_eq!(restored.latest().expect("latest"), at_cut);
    assert_eq!(
        at_cut,
        Some((w.log[half - 1].0.height, w.log[half - 1].2)),
        "the cut holds every block committed before it"
    );
    for (i, b) in blocks.iter().enumerate() {
        assert_eq!(&restored.block(i as u64 + 1).expect("block"), b);
    }
    assert_indexes_match_state(&restored);
    // A node restored from it executes the rest of the chain to the same roots.
    replay(&restored, &w.log[half..]);
    assert_eq!(
        restored.latest().expect("latest"),
        w.store.latest().expect("latest")
    );
}

#[test]
fn a_checkpoint_never_overwrites_a_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = genesis_db(&dir.path().join("live"));
    let taken = dir.path().join("taken");
    std::fs::create_dir(&taken).expect("mkdir");
    let err = db.checkpoint(&taken).expect_err("exists");
    assert!(
        matches!(&err, DbError::Checkpoint { reason, .. } if reason.contains("already exists")),
        "{err}"
    );
    let err = db
        .checkpoint(&dir.path().join("no/such/parent"))
        .expect_err("no parent");
    assert!(err.to_string().contains("is not a folder"), "{err}");
}
