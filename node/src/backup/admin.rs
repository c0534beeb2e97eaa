//! The node's admin socket: a Unix socket beside the data dir on which the running node
//! cuts backups of its own database.
//!
//! Why a local socket rather than an HTTP route or a second RocksDB instance: the running
//! node holds RocksDB's lock, and RocksDB's checkpoint needs the writer (it flushes the
//! memtables and pins the files while linking them), so the node must cut it; a secondary
//! instance would copy files the writer may delete meanwhile. A socket is reached only
//! from the node's host, by the OS user who owns the data dir (the node checks the
//! caller's uid; the socket is mode 0600): exactly who could copy the files anyway. An
//! API route would let a remote token holder make the node write folders on its host,
//! and the backup command would need the API's token, address and TLS settings.
//!
//! Protocol: one JSON line in (`{"backup_to": "/abs/folder"}`), one JSON line out
//! (`{"manifest": {...}}` or `{"error": "..."}`), then the connection closes.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lianrong_storage::Db;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use super::{write_backup, BackupError, Manifest};

/// Largest request line read.
const MAX_REQUEST_BYTES: u64 = 64 * 1024;
/// How long a client waits for a backup (hashing a large database takes a while).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(3600);

/// A request on the admin socket.
#[derive(Debug, Serialize, Deserialize)]
struct Request {
    /// Where to write the backup: an absolute path, absent or an empty folder.
    backup_to: PathBuf,
}

/// The answer: the backup's manifest, or why there is none.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Response {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    manifest: Option<Manifest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The admin socket of the node whose data dir is `data_dir`: `<data_dir>.admin.sock`
/// beside it (not inside: the data dir is RocksDB's, and a restore wants it empty).
pub fn socket_path(data_dir: &Path) -> PathBuf {
    let name = data_dir
        .file_name()
        .map_or_else(|| "data".into(), |n| n.to_string_lossy().into_owned());
    data_dir.with_file_name(format!("{name}.admin.sock"))
}

/// The admin socket being served; dropping it stops answering and removes the socket.
#[derive(Debug)]
pub struct AdminSocket {
    task: tokio::task::JoinHandle<()>,
    path: PathBuf,
}

impl Drop for AdminSocket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

impl AdminSocket {
    /// Binds the admin socket of the node whose data dir is `data_dir` (replacing a stale
    /// one a killed node left) and answers requests in the background.
    pub fn serve(db: Arc<Db>, data_dir: &Path, node: &str) -> Result<AdminSocket, BackupError> {
        let path = socket_path(data_dir);
        let task = serve(db, data_dir, &path, node)?;
        Ok(AdminSocket { task, path })
    }
}

fn serve(
    db: Arc<Db>,
    data_dir: &Path,
    path: &Path,
    node: &str,
) -> Result<tokio::task::JoinHandle<()>, BackupError> {
    let path = path.to_path_buf();
    // The database is open, so its lock is ours: a socket left there is a dead node's.
    let removed = std::fs::remove_file(&path);
    if let Some(e) = removed
        .err()
        .filter(|e| e.kind() != std::io::ErrorKind::NotFound)
    {
        return Err(BackupError::io(&path)(e));
    }
    let listener = UnixListener::bind(&path).map_err(BackupError::io(&path))?;
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .map_err(BackupError::io(&path))?;
    let owner = std::fs::metadata(data_dir)
        .map_err(BackupError::io(data_dir))?
        .uid();
    let busy = Arc::new(AtomicBool::new(false));
    let node = node.to_string();
    tracing::info!(socket = %path.display(), "admin socket listening (lianrong node backup)");
    Ok(tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (db, busy, node) = (db.clone(), busy.clone(), node.clone());
            tokio::spawn(async move {
                if let Err(e) = answer(stream, db, owner, &busy, &node).await {
                    tracing::warn!("admin socket: {e}");
                }
            });
        }
    }))
}

/// Reads one request, carries it out and writes the answer.
async fn answer(
    stream: UnixStream,
    db: Arc<Db>,
    owner: u32,
    busy: &AtomicBool,
    node: &str,
) -> std::io::Result<()> {
    let caller = stream.peer_cred()?.uid();
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    tokio::io::BufReader::new(read.take(MAX_REQUEST_BYTES))
        .read_line(&mut line)
        .await?;
    let response = if caller != owner && caller != 0 {
        refusal(format!(
            "uid {caller} does not own the data dir (uid {owner})"
        ))
    } else {
        match serde_json::from_str::<Request>(&line) {
            Err(e) => refusal(format!("unreadable request: {e}")),
            Ok(req) if !req.backup_to.is_absolute() => refusal(format!(
                "{} is not an absolute path",
                req.backup_to.display()
            )),
            Ok(req) => backup_once(db, busy, node, req.backup_to).await,
        }
    };
    let mut text = serde_json::to_vec(&response).unwrap_or_default();
    text.push(b'\n');
    write.write_all(&text).await?;
    write.shutdown().await
}

/// One backup at a time, off the async threads.
async fn backup_once(db: Arc<Db>, busy: &AtomicBool, node: &str, out: PathBuf) -> Response {
    if busy.swap(true, Ordering::SeqCst) {
        return refusal("a backup is already being written; try again when it is done".into());
    }
    let node = node.to_string();
    let result = tokio::task::spawn_blocking(move || write_backup(&db, &out, &node)).await;
    busy.store(false, Ordering::SeqCst);
    match result {
        Ok(Ok(manifest)) => Response {
            manifest: Some(manifest),
            error: None,
        },
        Ok(Err(e)) => refusal(e.to_string()),
        Err(e) => refusal(format!("the backup task failed: {e}")),
    }
}

fn refusal(error: String) -> Response {
    Response {
        manifest: None,
        error: Some(error),
    }
}

/// Asks the node listening on `socket` to back itself up into `out` (absolute). `None`
/// when no node listens there (no socket, or a stale one): the node is not running.
pub fn request_backup(socket: &Path, out: &Path) -> Result<Option<Manifest>, BackupError> {
    let mut stream = match std::os::unix::net::UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(BackupError::io(socket)(e)),
    };
    stream
        .set_read_timeout(Some(CLIENT_TIMEOUT))
        .map_err(BackupError::io(socket))?;
    let mut request = serde_json::to_vec(&Request {
        backup_to: out.to_path_buf(),
    })
    .map_err(|e| BackupError::Refused(format!("encoding the request: {e}")))?;
    request.push(b'\n');
    stream
        .write_all(&request)
        .map_err(BackupError::io(socket))?;
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .map_err(BackupError::io(socket))?;
    let response: Response = serde_json::from_str(&line).map_err(|e| {
        BackupError::Refused(format!(
            "the node's answer on {} is unreadable: {e}",
            socket.display()
        ))
    })?;
    match (response.manifest, response.error) {
        (Some(m), _) => Ok(Some(m)),
        (None, Some(e)) => Err(BackupError::Refused(format!(
            "the node refused the backup: {e}"
        ))),
        (None, None) => Err(BackupError::Refused(
            "the node answered neither a manifest nor an error".into(),
        )),
    }
}

/// Whether a node answers on `socket` (a restore must not replace a live database).
pub fn node_listening(socket: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(socket).is_ok()
}
