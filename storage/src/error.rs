//! Why a storage operation failed.

use lianrong_contracts::StoreError;
use lianrong_primitives::CodecError;

/// A storage failure. `Rocks` and `Corrupt` are the node's own problem (stop rather than
/// guess); the others are refusals of a caller's request, after which nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// RocksDB could not be opened at a path (missing permissions, locked by another
    /// process, or not a RocksDB directory).
    #[error("cannot open the database at {path}: {source}")]
    Open {
        /// The directory.
        path: String,
        /// RocksDB's reason.
        source: rocksdb::Error,
    },
    /// A checkpoint (an online backup) could not be written to a folder.
    #[error("cannot write a checkpoint to {path}: {reason}")]
    Checkpoint {
        /// The folder asked for.
        path: String,
        /// Why not.
        reason: String,
    },
    /// RocksDB reported an error on a read or write.
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// Bytes this node wrote do not decode, or the stored records contradict each other.
    #[error("corrupt database ({what}): {reason}")]
    Corrupt {
        /// Which record.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The database was written in a layout this node neither reads nor upgrades.
    #[error(
        "the database at {path} has layout version {stored}; this node reads {reads} only \
         (from 4 a document and its history head share one state-tree leaf, from 8 the \
         signers' nonces share one subtree, so a chain begun by an older release certifies \
         roots this one does not compute): run the node release that wrote it, or join a \
         chain begun with a release that reads {reads}"
    )]
    OtherFormat {
        /// The directory.
        path: String,
        /// The layout version recorded in the database.
        stored: u32,
        /// The layout version this node reads.
        reads: u32,
    },
    /// The database belongs to another chain.
    #[error("the database at {path} holds chain {stored:?}, not {expected:?}")]
    WrongChain {
        /// The directory.
        path: String,
        /// The chain id recorded in the database.
        stored: String,
        /// The chain id the node was started for.
        expected: String,
    },
    /// The database is encrypted at rest and no data key was given.
    #[error(
        "the database at {path} is encrypted at rest: give its data key ([encryption] key_file \
         or key_env in the node's config.toml)"
    )]
    KeyRequired {
        /// The directory.
        path: String,
    },
    /// The data key given is not the database's.
    #[error(
        "the data key given does not open the database at {path} (its key check value \
         differs): the wrong key file or variable?"
    )]
    WrongKey {
        /// The directory.
        path: String,
    },
    /// A data key was given for a database written without encryption.
    #[error(
        "the database at {path} was written without encryption and cannot be encrypted in \
         place: remove [encryption] from the config, or start from an empty data dir (the \
         node catches up from its peers) or an encrypted backup"
    )]
    NotEncrypted {
        /// The directory.
        path: String,
    },
    /// Blocks must be committed one after the other.
    #[error("expected block height {expected}, got {got}")]
    WrongHeight {
        /// The next height (latest plus one).
        expected: u64,
        /// The height offered.
        got: u64,
    },
    /// `commit_block` before `apply_genesis`.
    #[error("the database has no genesis yet")]
    NoGenesis,
    /// `apply_genesis` on a database that already holds a chain.
    #[error("the database already holds a chain (latest height {latest})")]
    AlreadyInitialised {
        /// The latest committed height.
        latest: u64,
    },
    /// The parts of a commit do not belong together (the caller's bug).
    #[error("inconsistent commit at height {height}: {reason}")]
    Inconsistent {
        /// The height being committed.
        height: u64,
        /// What does not match.
        reason: String,
    },
    /// A tree version older than the pruning window was asked for (a proof or a read of
    /// the state at that version): its nodes are, or are being, deleted.
    #[error(
        "the state at version {version} is pruned: this node keeps the Merkle tree from \
         version {oldest_kept} on{}",
        window_note(.keep_versions)
    )]
    Pruned {
        /// The version asked for.
        version: u64,
        /// The oldest version kept whole.
        oldest_kept: u64,
        /// The window this database prunes to (`[storage] keep_versions`), `None` when it
        /// prunes no more (versions were pruned under an earlier setting).
        keep_versions: Option<u64>,
    },
    /// A record is larger than this store accepts.
    #[error("{what} of {len} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Which record.
        what: String,
        /// Its size.
        len: usize,
        /// The limit.
        limit: usize,
    },
}

/// The window part of [`DbError::Pruned`]'s message.
fn window_note(keep_versions: &Option<u64>) -> String {
    match keep_versions {
        Some(k) => format!(" (the last {k} versions: [storage] keep_versions)"),
        None => " (pruned under an earlier [storage] keep_versions)".into(),
    }
}

impl DbError {
    /// A `Corrupt` error for a record that failed to decode.
    pub(crate) fn corrupt(what: impl Into<String>, reason: impl ToString) -> Self {
        DbError::Corrupt {
            what: what.into(),
            reason: reason.to_string(),
        }
    }

    /// A `Corrupt` error for a record that failed to decode with the shared codec.
    pub(crate) fn codec(what: impl Into<String>, e: CodecError) -> Self {
        Self::corrupt(what, e)
    }
}

/// The contract layer only knows its own error type; a corrupt record keeps its kind so
/// block execution reports it as such.
impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Corrupt { what, reason } => StoreError::Corrupt { key: what, reason },
            other => StoreError::Backend(other.to_string()),
        }
    }
}
