//! Opening a database an older node wrote: refused by name when its layout is not this
//! node's, before anything reads it.
//!
//! Layouts 2 and 3 hold a state tree in which each document's history head is a leaf of
//! its own; from layout 4 a document and its head share one leaf
//! (`lianrong_contracts::merkle::leaf_of`). The state roots an older database's blocks
//! certify are then not the roots this node computes for the same state, so its chain
//! cannot be continued here: rather than diverge at the next block, the node says so.
//! (Layout 2 -> 3, a re-keying of tree nodes, was upgraded in place; it is in the
//! repository's history.)

use super::db::Db;
use super::error::DbError;
use super::schema::*;

impl Db {
    /// Refuses a database of layout `format` (not [`FORMAT_VERSION`]): no older layout
    /// holds a state tree this node continues.
    pub(crate) fn migrate_from(&self, format: u32) -> Result<(), DbError> {
        Err(DbError::OtherFormat {
            path: self.path.display().to_string(),
            stored: format,
            reads: FORMAT_VERSION,
        })
    }
}
