//! Online backups: a RocksDB checkpoint of the live database.
//!
//! A checkpoint is a consistent point-in-time copy (RocksDB flushes the memtables, keeps
//! its files from being deleted meanwhile and hard-links them -- copies them across file
//! systems -- together with the write-ahead log up to that moment), taken while blocks
//! keep being committed. Each block is one atomic write, so the copy holds whole blocks
//! only: opening it with [`Db::open`] finds a latest height whose recorded root is the
//! tree's root, like any database after a crash.

use std::path::Path;

use rocksdb::checkpoint::Checkpoint;

use super::db::Db;
use super::error::DbError;

impl Db {
    /// Writes a checkpoint of this database into `dir`, which must not exist yet (its
    /// parent must). Commits are not held up; the checkpoint holds the blocks committed
    /// before it was cut -- open it to learn which.
    pub fn checkpoint(&self, dir: &Path) -> Result<(), DbError> {
        let refuse = |reason: String| DbError::Checkpoint {
            path: dir.display().to_string(),
            reason,
        };
        if dir.exists() {
            return Err(refuse("it already exists".into()));
        }
        let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(parent) = parent.filter(|p| !p.is_dir()) {
            return Err(refuse(format!("{} is not a folder", parent.display())));
        }
        let checkpoint = Checkpoint::new(&self.db).map_err(|e| refuse(e.to_string()))?;
        checkpoint
            .create_checkpoint(dir)
            .map_err(|e| refuse(e.to_string()))?;
        tracing::info!(from = %self.path().display(), to = %dir.display(), "checkpoint written");
        Ok(())
    }
}
