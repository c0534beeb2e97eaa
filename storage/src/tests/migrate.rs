//! A database of another layout is refused by name: an older one holds a state tree whose
//! roots this node does not compute (layout 8 moved the nonces into one subtree), a newer
//! one a layout it cannot read -- also when it holds column families this layout does
//! not have, which RocksDB would not open without naming.

use super::prune::genesis_db_with;
use crate::schema::*;
use crate::{Db, DbError, DbOptions};
use lianrong_contracts::testkit::CHAIN_ID;

#[test]
fn a_database_of_a_layout_this_node_does_not_continue_is_refused() {
    for format in (1..FORMAT_VERSION).chain([FORMAT_VERSION + 1]) {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = DbOptions::default();
        let mut db = genesis_db_with(dir.path(), &options);
        db.put_now(CF_META, META_FORMAT, &format.to_be_bytes(), true)
            .expect("put");
        if format == 6 {
            // Layout 6 kept transactions under their hashes in a column family of its own.
            let opts = rocksdb::Options::default();
            db.db
                .create_cf("txs", &opts)
                .expect("create an older layout's column family");
        }
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
        assert!(message.contains("nonces share one subtree"), "{message}");
    }
}

/// A database of this layout with a column family it does not have is not opened as if
/// it were whole.
#[test]
fn a_column_family_this_layout_does_not_have_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = DbOptions::default();
    let mut db = genesis_db_with(dir.path(), &options);
    db.db
        .create_cf("receipts", &rocksdb::Options::default())
        .expect("create");
    drop(db);
    let Err(err) = Db::open_with(dir.path(), CHAIN_ID, &options) else {
        panic!("opened");
    };
    assert!(err.to_string().contains("\"receipts\""), "{err}");
}
