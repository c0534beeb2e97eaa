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
