//! The two commands: `lianrong node backup` (through the running node, or on a stopped
//! node's database) and `lianrong node restore`.

use std::path::{Path, PathBuf};

use lianrong_storage::{DataKey, Db};

use super::{admin, inspect, verify_backup, write_backup, BackupError, Manifest, DB_DIR};
use crate::config::{load_genesis, NodeConfig};

/// How a backup was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// By the running node, through its admin socket.
    Online,
    /// From the database of a stopped node.
    Offline,
}

/// `lianrong node backup`: asks the running node of `config` to back itself up into
/// `out`; with no node running, checkpoints its database directly.
pub fn backup(config: &NodeConfig, out: &Path) -> Result<(Manifest, Taken), BackupError> {
    let out = std::path::absolute(out).map_err(BackupError::io(out))?;
    let data_dir = &config.node.data_dir;
    let socket = admin::socket_path(data_dir);
    if let Some(manifest) = admin::request_backup(&socket, &out)? {
        return Ok((manifest, Taken::Online));
    }
    if !data_dir.join("CURRENT").is_file() {
        return Err(BackupError::Refused(format!(
            "no database in {} (node.data_dir): nothing to back up",
            data_dir.display()
        )));
    }
    let genesis =
        load_genesis(&config.node.genesis).map_err(|e| BackupError::Refused(format!("{e}")))?;
    let options =
        crate::runtime::db_options(config).map_err(|e| BackupError::Refused(format!("{e:#}")))?;
    let db = Db::open_with(data_dir, &genesis.chain_id, &options).map_err(|e| {
        BackupError::Refused(format!(
            "{e} (and no node answered on {}: a running node without an admin socket says why \
             in its log)",
            socket.display()
        ))
    })?;
    let manifest = write_backup(&db, &out, &config.node.name)?;
    db.close()?;
    Ok((manifest, Taken::Offline))
}

/// `lianrong node restore`: checks the backup in `from` (files against the manifest,
/// chain against the config's genesis), copies it beside the data dir, opens the copy to
/// check its height and root against the manifest, and only then puts it in place. The
/// data dir must be absent or empty unless `force` (then it is replaced); the node must
/// be stopped.
pub fn restore(config: &NodeConfig, from: &Path, force: bool) -> Result<Manifest, BackupError> {
    let genesis =
        load_genesis(&config.node.genesis).map_err(|e| BackupError::Refused(format!("{e}")))?;
    let manifest = verify_backup(from, &genesis.chain_id)?;
    let data_dir = &config.node.data_dir;
    if admin::node_listening(&admin::socket_path(data_dir)) {
        return Err(BackupError::Refused(format!(
            "the node of {} is running: stop it before restoring",
            data_dir.display()
        )));
    }
    let occupied = match std::fs::read_dir(data_dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(BackupError::io(data_dir)(e)),
    };
    if occupied && !force {
        return Err(BackupError::Refused(format!(
            "{} (node.data_dir) is not empty: restore into an empty data dir, or give --force \
             to replace what is there",
            data_dir.display()
        )));
    }
    let data_key =
        crate::keyfile::data_key(config).map_err(|e| BackupError::Refused(format!("{e:#}")))?;
    let staging = sibling(data_dir, "restoring")?;
    let checked = copy_checked(&from.join(DB_DIR), &staging, &manifest)
        .and_then(|()| check_restored(&staging, &manifest, data_key.as_ref()));
    if let Err(e) = checked {
        // Nothing of a refused restore stays beside the data dir.
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    put_in_place(&staging, data_dir, occupied)?;
    Ok(manifest)
}

/// `<data_dir>.<what>`, removed first if a failed run left it.
fn sibling(data_dir: &Path, what: &str) -> Result<PathBuf, BackupError> {
    let name = data_dir.file_name().ok_or_else(|| {
        BackupError::Refused(format!(
            "node.data_dir {} has no folder name",
            data_dir.display()
        ))
    })?;
    let path = data_dir.with_file_name(format!("{}.{what}", name.to_string_lossy()));
    if path.exists() {
        std::fs::remove_dir_all(&path).map_err(BackupError::io(&path))?;
    }
    Ok(path)
}

/// Copies the manifest's files from `src` into the new folder `dst`, each synced.
fn copy_checked(src: &Path, dst: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    std::fs::create_dir_all(dst).map_err(BackupError::io(dst))?;
    for f in &manifest.files {
        let to = dst.join(&f.name);
        std::fs::copy(src.join(&f.name), &to).map_err(BackupError::io(&to))?;
        std::fs::File::open(&to)
            .and_then(|file| file.sync_all())
            .map_err(BackupError::io(&to))?;
    }
    Ok(())
}

/// The restored copy must open (right chain, recorded root = tree root; an encrypted one
/// with the config's data key) at the manifest's height, root and block.
fn check_restored(
    dir: &Path,
    manifest: &Manifest,
    data_key: Option<&DataKey>,
) -> Result<(), BackupError> {
    let (height, root, block) = inspect(dir, &manifest.chain_id, data_key)?;
    if (height, root, block) != (manifest.height, manifest.state_root, manifest.block_hash) {
        return Err(BackupError::Invalid {
            dir: dir.to_path_buf(),
            reason: format!(
                "the restored database holds height {height} root {root}, the manifest says \
                 height {} root {}",
                manifest.height, manifest.state_root
            ),
        });
    }
    Ok(())
}

/// Moves the checked copy to `data_dir`, replacing what was there (`occupied`) only now
/// that the copy is known good.
fn put_in_place(staging: &Path, data_dir: &Path, occupied: bool) -> Result<(), BackupError> {
    let old = if occupied {
        let old = sibling(data_dir, "replaced")?;
        std::fs::rename(data_dir, &old).map_err(BackupError::io(data_dir))?;
        Some(old)
    } else {
        // An empty folder (or none): rename replaces an empty folder.
        None
    };
    if let Some(parent) = data_dir.parent() {
        std::fs::create_dir_all(parent).map_err(BackupError::io(parent))?;
    }
    std::fs::rename(staging, data_dir).map_err(BackupError::io(data_dir))?;
    if let Some(old) = old {
        std::fs::remove_dir_all(&old).map_err(BackupError::io(&old))?;
    }
    Ok(())
}
