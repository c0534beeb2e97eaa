//! A database an older node wrote opens in this node's layout: format 2's tree node keys
//! (version little-endian) are re-keyed version first, with the stale index's copies of
//! them, encrypted or not, and a migration stopped part-way finishes at the next start.

use rand::SeedableRng;
use rocksdb::WriteBatch;

use super::prune::{
    assert_window_whole, commit_writes, genesis_db_with, random_writes, stored_keys,
};
use crate::migrate::format2_node_key;
use crate::node_codec::{decode_node_key, encode_node_key};
use crate::schema::*;
use crate::{DataKey, Db, DbError, DbOptions};
use lianrong_contracts::testkit::CHAIN_ID;
use lianrong_primitives::codec;

const KEEP: u64 = 5;

/// Rewrites every `every`-th tree node key (and stale entry naming a node) of `db` as
/// format 2 stored it, and records `format`: what an older node left, or a newer node
/// stopped part-way through upgrading it.
fn downgrade(db: &Db, every: usize, format: u32) {
    let mut batch = WriteBatch::default();
    let nodes = db.cf(CF_JMT_NODES);
    for (i, k) in stored_keys(db, CF_JMT_NODES).iter().enumerate() {
        if i % every == 0 {
            let value = db.read(CF_JMT_NODES, k).expect("read").expect("stored");
            let key = decode_node_key(k).expect("format 3 key");
            db.put(&mut batch, CF_JMT_NODES, &codec::encode(&key), &value)
                .expect("put");
            batch.delete_cf(nodes, k);
        }
    }
    let stale = db.cf(CF_JMT_STALE);
    for (i, k) in stored_keys(db, CF_JMT_STALE).iter().enumerate() {
        let (since, tag, payload) = parse_stale_key(k).expect("stale key");
        if tag != STALE_VALUE && i % every == 0 {
            let key = decode_node_key(payload).expect("format 3 key");
            batch.put_cf(stale, stale_key(since, tag, &codec::encode(&key)), b"");
            batch.delete_cf(stale, k);
        }
    }
    db.put(&mut batch, CF_META, META_FORMAT, &format.to_be_bytes())
        .expect("put");
    db.db.write(batch).expect("write");
}

/// Every stored node key is format 3's (and none reads as format 2's).
fn assert_all_format3(db: &Db) {
    for k in stored_keys(db, CF_JMT_NODES) {
        assert!(format2_node_key(&k).is_none(), "{k:?} left in format 2");
        assert_eq!(encode_node_key(&decode_node_key(&k).expect("node key")), k);
    }
    for k in stored_keys(db, CF_JMT_STALE) {
        let (_, tag, payload) = parse_stale_key(&k).expect("stale key");
        if tag != STALE_VALUE {
            decode_node_key(payload).expect("a format 3 node key");
        }
    }
    let format = db
        .read(CF_META, META_FORMAT)
        .expect("read")
        .expect("format");
    assert_eq!(format, FORMAT_VERSION.to_be_bytes());
}

#[test]
fn a_format_2_database_is_upgraded_in_place_and_keeps_working() {
    // Whole, encrypted; and half-migrated (a stop part-way), in clear.
    for (encrypted, every) in [(false, 1), (true, 1), (false, 2)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = DbOptions {
            encryption: encrypted.then(DataKey::generate),
            keep_versions: Some(KEEP),
            ..DbOptions::default()
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(every as u64);
        let db = genesis_db_with(dir.path(), &options);
        for height in 1..=20 {
            commit_writes(&db, height, random_writes(&mut rng));
        }
        let latest = db.latest().expect("latest");
        let nodes = stored_keys(&db, CF_JMT_NODES);
        let stale = stored_keys(&db, CF_JMT_STALE).len();
        assert!(stale > 0, "pruning keeps a stale index to migrate");
        downgrade(&db, every, 2);
        assert_ne!(stored_keys(&db, CF_JMT_NODES), nodes, "downgraded");
        drop(db);

        // Opening upgrades it: the root check at open reads the tree through new keys.
        let db = Db::open_with(dir.path(), CHAIN_ID, &options).expect("reopen");
        assert_eq!(
            stored_keys(&db, CF_JMT_NODES),
            nodes,
            "the same nodes, re-keyed"
        );
        assert_eq!(stored_keys(&db, CF_JMT_STALE).len(), stale);
        assert_all_format3(&db);
        assert_eq!(db.latest().expect("latest"), latest);
        assert_window_whole(&db, KEEP);
        // Blocks go on committing, and pruning finds the nodes its index names.
        for height in 21..=30 {
            commit_writes(&db, height, random_writes(&mut rng));
        }
        assert_window_whole(&db, KEEP);
    }
}

#[test]
fn a_database_of_a_layout_this_node_does_not_know_is_refused() {
    for format in [1, FORMAT_VERSION + 1] {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = DbOptions::default();
        let db = genesis_db_with(dir.path(), &options);
        db.put_now(CF_META, META_FORMAT, &format.to_be_bytes(), true)
            .expect("put");
        drop(db);
        let Err(err) = Db::open_with(dir.path(), CHAIN_ID, &options) else {
            panic!("format {format} opened");
        };
        assert!(
            matches!(err, DbError::OtherFormat { stored, reads, .. }
                if stored == format && reads == FORMAT_VERSION),
            "{err}"
        );
        assert!(err.to_string().contains("restore a backup"), "{err}");
    }
}
