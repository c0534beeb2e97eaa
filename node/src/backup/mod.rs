//! Backups of a node's database and their restore (`lianrong node backup|restore`).
//!
//! A backup is a folder holding a RocksDB checkpoint (`db/`) and `manifest.json`: the
//! chain id, the height, state root and block hash the checkpoint holds (read by opening
//! it, so the manifest says what is there, not what was meant to be), when it was cut,
//! and every file with its size and SHA-256. A restore checks the files against the
//! manifest, the chain id against the node's genesis, and, once copied, opens the copy to
//! check that it holds the manifest's height and root.
//!
//! A running node holds RocksDB's lock, so only the node can cut a consistent copy of
//! its own database: it answers backup requests on a Unix socket next to its data dir
//! ([`admin`]); a stopped node's database is checkpointed by the command itself.

pub mod admin;
pub mod restore;

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]
mod tests;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use lianrong_consensus::Block;
use lianrong_primitives::{codec, Hash};
use lianrong_storage::{DataKey, Db, DbError, DbOptions};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The manifest's file name in a backup folder.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The checkpoint's folder name in a backup folder.
pub const DB_DIR: &str = "db";
/// The manifest layout this node writes and reads.
pub const MANIFEST_VERSION: u32 = 1;
/// Most files a backup may list (RocksDB keeps far fewer: files grow, not multiply).
pub const MAX_FILES: usize = 100_000;
/// Largest manifest read.
pub const MAX_MANIFEST_BYTES: u64 = 32 * 1024 * 1024;

/// What a backup holds, written beside the checkpoint as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_VERSION`].
    pub version: u32,
    /// The chain the database belongs to.
    pub chain_id: String,
    /// The node the backup was taken from (its config's `node.name`).
    pub node: String,
    /// The latest finalized height in the checkpoint.
    pub height: u64,
    /// The state root at that height.
    pub state_root: Hash,
    /// The hash of the block at that height (none at genesis).
    pub block_hash: Option<Hash>,
    /// When the checkpoint was cut (ms since the Unix epoch).
    pub created_ms: u64,
    /// The same, readable (RFC 3339, UTC).
    pub created: String,
    /// Every file of `db/`, by name.
    pub files: Vec<FileEntry>,
}

/// One file of a backup's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The file's name in `db/` (no folders).
    pub name: String,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256.
    pub sha256: Hash,
}

/// Why a backup or restore failed; each message names the folder or file to look at.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// The database (live, checkpoint or restored copy) refused.
    #[error("{0}")]
    Db(#[from] DbError),
    /// The backup folder is not what a backup looks like, or does not match its manifest.
    #[error("backup {dir}: {reason}")]
    Invalid {
        /// The backup folder.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The request cannot be carried out as asked (a folder in the way, a running node).
    #[error("{0}")]
    Refused(String),
}

impl BackupError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
        move |source| BackupError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    fn invalid(dir: &Path, reason: impl Into<String>) -> BackupError {
        BackupError::Invalid {
            dir: dir.to_path_buf(),
            reason: reason.into(),
        }
    }
}

/// Cuts a backup of `db` into `out` (absent, or an empty folder): the checkpoint, opened
/// to learn what it holds, its files hashed, then the manifest -- written last, so a
/// folder without one is an unfinished backup.
pub fn write_backup(db: &Db, out: &Path, node: &str) -> Result<Manifest, BackupError> {
    prepare_empty_dir(out)?;
    let created_ms = crate::api::now_ms();
    let db_dir = out.join(DB_DIR);
    db.checkpoint(&db_dir)?;
    let (height, state_root, block_hash) = inspect(&db_dir, db.chain_id(), db.data_key())?;
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        chain_id: db.chain_id().to_string(),
        node: node.to_string(),
        height,
        state_root,
        block_hash,
        created_ms,
        created: rfc3339(created_ms),
        files: hash_files(&db_dir)?,
    };
    write_manifest(out, &manifest)?;
    tracing::info!(out = %out.display(), height, root = %state_root, "backup written");
    Ok(manifest)
}

/// `dir` exists as an empty folder afterwards, or the reason it cannot.
pub(crate) fn prepare_empty_dir(dir: &Path) -> Result<(), BackupError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::Refused(format!(
                    "{} is not empty: give a new or empty folder",
                    dir.display()
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(BackupError::io(dir))
        }
        Err(e) => Err(BackupError::io(dir)(e)),
    }
}

/// Opens the database at `dir` (a checkpoint or a restored copy; encrypted ones with
/// `data_key`) and reads its latest height, state root and the hash of the block there.
/// Opening checks the chain id and that the recorded root is the Merkle tree's.
pub(crate) fn inspect(
    dir: &Path,
    chain_id: &str,
    data_key: Option<&DataKey>,
) -> Result<(u64, Hash, Option<Hash>), BackupError> {
    // A reader, not a validator: a small cache is plenty.
    let options = DbOptions {
        block_cache_bytes: 8 * 1024 * 1024,
        leaf_cache_entries: 0,
        encryption: data_key.cloned(),
        ..DbOptions::default()
    };
    let db = Db::open_with(dir, chain_id, &options)?;
    let Some((height, root)) = db.latest()? else {
        return Err(BackupError::invalid(dir, "the database holds no genesis"));
    };
    let block_hash = if height == 0 {
        None
    } else {
        let bytes = db.block(height)?.ok_or_else(|| {
            BackupError::invalid(dir, format!("the block at height {height} is missing"))
        })?;
        let block: Block = codec::decode_stored(&bytes, lianrong_consensus::MAX_MESSAGE_BYTES)
            .map_err(|e| BackupError::invalid(dir, format!("block {height}: {e}")))?;
        Some(block.hash())
    };
    db.close()?;
    Ok((height, root, block_hash))
}

/// Every file of `dir` with size and SHA-256, by name; a folder inside is refused (a
/// checkpoint has none).
pub(crate) fn hash_files(dir: &Path) -> Result<Vec<FileEntry>, BackupError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(BackupError::io(dir))? {
        let entry = entry.map_err(BackupError::io(dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(BackupError::io(&path))?;
        let name = entry
            .file_name()
            .into_string()
            .ok()
            .filter(|_| kind.is_file());
        let Some(name) = name else {
            return Err(BackupError::invalid(
                dir,
                format!("{} is not a plain file", path.display()),
            ));
        };
        if files.len() == MAX_FILES {
            return Err(BackupError::invalid(
                dir,
                format!("more than {MAX_FILES} files"),
            ));
        }
        let (bytes, sha256) = hash_file(&path)?;
        files.push(FileEntry {
            name,
            bytes,
            sha256,
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// Size and SHA-256 of a file, read in pieces.
fn hash_file(path: &Path) -> Result<(u64, Hash), BackupError> {
    let mut file = std::fs::File::open(path).map_err(BackupError::io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(BackupError::io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, Hash(hasher.finalize().into())))
}

/// Writes `manifest.json` into `dir` durably (a temporary file synced, then renamed).
fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let text = serde_json::to_vec_pretty(manifest)
        .map_err(|e| BackupError::Refused(format!("encoding the manifest: {e}")))?;
    let tmp = dir.join(format!("{MANIFEST_FILE}.tmp"));
    let mut file = std::fs::File::create(&tmp).map_err(BackupError::io(&tmp))?;
    file.write_all(&text).map_err(BackupError::io(&tmp))?;
    file.sync_all().map_err(BackupError::io(&tmp))?;
    let path = dir.join(MANIFEST_FILE);
    std::fs::rename(&tmp, &path).map_err(BackupError::io(&path))
}

/// Reads a backup's manifest and checks that it is of `chain_id` and that `db/` holds
/// exactly its files with their sizes and hashes.
pub fn verify_backup(dir: &Path, chain_id: &str) -> Result<Manifest, BackupError> {
    let manifest = read_manifest(dir)?;
    if manifest.chain_id != chain_id {
        return Err(BackupError::invalid(
            dir,
            format!(
                "it is a backup of chain {:?}, but this node's genesis is chain {chain_id:?}",
                manifest.chain_id
            ),
        ));
    }
    let found = hash_files(&dir.join(DB_DIR))?;
    for want in &manifest.files {
        let Some(got) = found.iter().find(|f| f.name == want.name) else {
            return Err(BackupError::invalid(
                dir,
                format!("{DB_DIR}/{} is missing", want.name),
            ));
        };
        if got != want {
            return Err(BackupError::invalid(
                dir,
                format!(
                    "{DB_DIR}/{} has {} bytes and SHA-256 {}, the manifest says {} bytes and \
                     {}: the backup is damaged or was altered",
                    want.name, got.bytes, got.sha256, want.bytes, want.sha256
                ),
            ));
        }
    }
    if let Some(extra) = found
        .iter()
        .find(|f| !manifest.files.iter().any(|w| w.name == f.name))
    {
        return Err(BackupError::invalid(
            dir,
            format!("{DB_DIR}/{} is not in the manifest", extra.name),
        ));
    }
    Ok(manifest)
}

/// The manifest of the backup in `dir`, checked for its version and safe file names.
fn read_manifest(dir: &Path) -> Result<Manifest, BackupError> {
    let path = dir.join(MANIFEST_FILE);
    let meta = std::fs::metadata(&path).map_err(|e| {
        BackupError::invalid(
            dir,
            format!("no readable {MANIFEST_FILE} ({e}): not a backup, or an unfinished one"),
        )
    })?;
    if meta.len() > MAX_MANIFEST_BYTES {
        return Err(BackupError::invalid(
            dir,
            format!("{MANIFEST_FILE} is over {MAX_MANIFEST_BYTES} bytes"),
        ));
    }
    let text = std::fs::read(&path).map_err(BackupError::io(&path))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| BackupError::invalid(dir, format!("{MANIFEST_FILE}: {e}")))?;
    if manifest.version != MANIFEST_VERSION {
        return Err(BackupError::invalid(
            dir,
            format!(
                "manifest version {}, this node reads {MANIFEST_VERSION}",
                manifest.version
            ),
        ));
    }
    if manifest.files.len() > MAX_FILES {
        return Err(BackupError::invalid(
            dir,
            format!("more than {MAX_FILES} files listed"),
        ));
    }
    let unsafe_name = manifest.files.iter().find(|f| {
        f.name.is_empty() || f.name == "." || f.name == ".." || f.name.contains(['/', '\\', '\0'])
    });
    if let Some(f) = unsafe_name {
        return Err(BackupError::invalid(
            dir,
            format!("file name {:?} is not a plain name", f.name),
        ));
    }
    Ok(manifest)
}

/// `ms` since the Unix epoch as RFC 3339 (UTC).
fn rfc3339(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}
