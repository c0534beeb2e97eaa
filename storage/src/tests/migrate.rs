//! A database of another layout is refused by name: an older one holds a state tree whose
//! roots this node does not compute, a newer one a layout it cannot read.

use super::prune::genesis_db_with;
use crate::schema::*;
use crate::{Db, DbError, DbOptions};
use lianrong_contracts::testkit::CHAIN_ID;

#[test]
fn a_database_of_a_layout_this_node_does_not_continue_is_refused() {
    for format in [1, 2, 3, FORMAT_VERSION + 1] {
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
        let message = err.to_string();
        assert!(message.contains("release that wrote it"), "{message}");
        assert!(message.contains("history head"), "{message}");
    }
}

/// Layout 4's stale index (one empty-valued entry per item, keyed by version, tag and
/// payload) is packed into layout 5's one entry per version at open, also after an
/// upgrade interrupted between versions, and pruning goes on from it.
#[test]
fn a_layout_4_stale_index_is_packed_in_place_and_pruning_goes_on() {
    use super::prune::{assert_window_whole, column, commit_writes, random_writes};
    use rand::SeedableRng;

    let dir = tempfile::tempdir().expect("tempdir");
    let keep = 4;
    let options = DbOptions {
        keep_versions: Some(keep),
        ..DbOptions::default()
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let db = genesis_db_with(dir.path(), &options);
    for height in 1..=30 {
        commit_writes(&db, height, random_writes(&mut rng));
    }
    let packed = column(&db, CF_JMT_STALE);
    assert!(packed.len() >= 3, "{} stale entries", packed.len());

    // Written back as layout 4 would have it, but for the first version's entry: as if an
    // upgrade had packed it and stopped.
    let mut batch = rocksdb::WriteBatch::default();
    let cf = db.cf(CF_JMT_STALE);
    for (key, value) in packed.iter().skip(1) {
        batch.delete_cf(cf, key);
        for (tag, payload) in stale_items(value).expect("items") {
            let mut old = key.clone();
            old.push(tag);
            old.extend_from_slice(payload);
            batch.put_cf(cf, old, b"");
        }
    }
    db.db.write(batch).expect("write");
    db.put_now(CF_META, META_FORMAT, &4u32.to_be_bytes(), true)
        .expect("put");
    assert!(column(&db, CF_JMT_STALE).len() > packed.len());
    drop(db);

    let db = Db::open_with(dir.path(), CHAIN_ID, &options).expect("upgraded at open");
    let format = db
        .read(CF_META, META_FORMAT)
        .expect("read")
        .expect("format");
    assert_eq!(format, FORMAT_VERSION.to_be_bytes());
    // The same items under each version (layout 4 kept them in key order).
    assert_eq!(by_version(&column(&db, CF_JMT_STALE)), by_version(&packed));
    for height in 31..=40 {
        commit_writes(&db, height, random_writes(&mut rng));
    }
    assert_window_whole(&db, keep);
}

/// A stale entry's version and its items (tag, payload).
type StaleEntry = (u64, Vec<(u8, Vec<u8>)>);

/// Each stale entry's version and its items, sorted.
fn by_version(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<StaleEntry> {
    entries
        .iter()
        .map(|(k, v)| {
            let mut items: Vec<_> = (stale_items(v).expect("items").into_iter())
                .map(|(tag, payload)| (tag, payload.to_vec()))
                .collect();
            items.sort();
            (parse_height(k).expect("version key"), items)
        })
        .collect()
}
