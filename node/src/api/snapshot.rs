//! Serving state snapshots to nodes that join without replaying the chain
//! (`lianrong node --snapshot-from URL`; the joining side is [`crate::join`]).
//!
//! One export at a time: a RocksDB checkpoint of this node cut at a height whose own
//! certificate commits it directly (so a later block's header certifies its state), kept in
//! `<data_dir>.snapshot/` and opened read-only in spirit (only its preimage index is
//! written, once). A manifest request reuses the export for [`EXPORT_REUSE`] and cuts a new
//! one after; a joining node still reading the old one is told to start again. An export
//! no one read for [`EXPORT_IDLE`] is removed. The live database is never held up: the
//! copy is hard links, and chunks are read from it.
//!
//! Separate because it is the only part of the API that hands out the whole state (banks
//! and auditors only, like whole blocks) and the only one with files of its own.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::Json;
use lianrong_api_types::{
    ErrorBody, RawBlock, SnapshotEntry, SnapshotHistoryChunk, SnapshotHistoryQuery,
    SnapshotManifest, SnapshotStateChunk, SnapshotStateQuery,
};
use lianrong_consensus::{Block, CommitCertificate, MAX_MESSAGE_BYTES};
use lianrong_primitives::{codec, Hash};
use lianrong_storage::snapshot::{ChunkLimits, ExportCounts, MAX_KEY_BYTES};
use lianrong_storage::Db;

use super::auth::Caller;
use super::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use super::AppState;

/// How long an export is handed to new joiners before a newer one is cut.
pub const EXPORT_REUSE: Duration = Duration::from_secs(600);
/// An export no one read for this long is removed (its checkpoint keeps RocksDB files
/// the live database has compacted away).
pub const EXPORT_IDLE: Duration = Duration::from_secs(300);
/// How often idle exports are looked for.
const EXPIRY_CHECK: Duration = Duration::from_secs(60);
/// How many heights past the export a block certifying its state is looked for.
const MAX_CERTIFYING_LOOKAHEAD: u64 = 64;
/// Cuts tried before giving up when no block will certify a cut's height: only heights
/// committed by their own certificate are ever certified (consensus's `executed_height`),
/// and a round without a proposal (a validator down) leaves heights that are not.
const CUT_ATTEMPTS: u32 = 5;
/// Pause between such cuts.
const CUT_RETRY: Duration = Duration::from_millis(200);
/// How long a manifest request waits for the block certifying a fresh cut to be final.
const CERTIFYING_WAIT: Duration = Duration::from_secs(10);
/// How often it looks.
const CERTIFYING_POLL: Duration = Duration::from_millis(100);

/// The export being served, if any, and where exports are cut.
pub struct Exports {
    dir: PathBuf,
    current: Mutex<Option<Arc<Export>>>,
}

/// One export: a prepared checkpoint of this node at `height`. Its folder is removed
/// when the last request reading it is done with it.
pub struct Export {
    height: u64,
    root: Hash,
    counts: ExportCounts,
    created: Instant,
    /// When a request last read it.
    used: Mutex<Instant>,
    db: Option<Db>,
    dir: PathBuf,
}

impl Drop for Export {
    fn drop(&mut self) {
        // The database first: RocksDB writes to its folder until closed.
        drop(self.db.take());
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "snapshot export not removed");
        }
    }
}

impl Export {
    fn touch(&self) {
        *self
            .used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
    }

    fn idle(&self) -> Duration {
        self.used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .elapsed()
    }

    fn db(&self) -> ApiResult<&Db> {
        self.db
            .as_ref()
            .ok_or_else(|| ApiError::internal("snapshot export already closed"))
    }
}

impl Exports {
    /// Exports of the node whose data dir is `data_dir`, cut into `<data_dir>.snapshot/`
    /// (what a previous run left there is removed now).
    pub fn new(data_dir: &Path) -> Exports {
        let name = data_dir
            .file_name()
            .map_or_else(|| "data".into(), |n| n.to_string_lossy().into_owned());
        let dir = data_dir.with_file_name(format!("{name}.snapshot"));
        if dir.exists() {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "old snapshot exports not removed");
            }
        }
        Exports {
            dir,
            current: Mutex::new(None),
        }
    }

    /// Removes the export served if no one read it for [`EXPORT_IDLE`], checking every
    /// minute in the background (requests reading it keep it until they are done).
    pub fn expire_idle_in_background(exports: &Arc<Exports>) {
        let exports = exports.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(EXPIRY_CHECK).await;
                let exports = exports.clone();
                // Closing RocksDB and removing files blocks.
                let _ = tokio::task::spawn_blocking(move || {
                    let mut current = exports.lock();
                    if current.as_ref().is_some_and(|e| e.idle() > EXPORT_IDLE) {
                        *current = None;
                    }
                })
                .await;
            }
        });
    }

    /// The export being served, if it holds `height`.
    fn at(&self, height: u64) -> ApiResult<Arc<Export>> {
        let current = self.lock().clone();
        match current {
            Some(e) if e.height == height => {
                e.touch();
                Ok(e)
            }
            Some(e) => Err(ApiError::not_found(format!(
                "the snapshot at height {height} (this node now serves height {}: start again \
                 from GET /v1/snapshot)",
                e.height
            ))),
            None => Err(ApiError::not_found(format!(
                "the snapshot at height {height} (none is served: ask GET /v1/snapshot first)"
            ))),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<Export>>> {
        // Only a whole `Option` is ever stored: a panic elsewhere left nothing half-done.
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The export to hand a new joiner: the current one while fresh, else a new cut.
    /// Blocking (RocksDB checkpoint and a pass over the state).
    fn current_or_cut(&self, live: &Db, attempt: u32) -> ApiResult<Arc<Export>> {
        let mut current = self.lock();
        if let Some(e) = current
            .as_ref()
            .filter(|e| e.created.elapsed() < EXPORT_REUSE)
        {
            e.touch();
            return Ok(e.clone());
        }
        *current = None;
        let e = Arc::new(self.cut(live, attempt)?);
        *current = Some(e.clone());
        Ok(e)
    }

    /// Stops serving `export` (no block will certify its height); requests reading it
    /// keep it until they are done.
    fn discard(&self, export: &Arc<Export>) {
        let mut current = self.lock();
        if current.as_ref().is_some_and(|e| Arc::ptr_eq(e, export)) {
            *current = None;
        }
    }

    /// A new export, at the copy's latest height.
    fn cut(&self, live: &Db, attempt: u32) -> ApiResult<Export> {
        std::fs::create_dir_all(&self.dir).map_err(ApiError::internal)?;
        let dir = self.dir.join(format!("{}-{attempt}", super::now_ms()));
        let (copy, counts) = live.cut_export(&dir).map_err(ApiError::internal)?;
        let latest = copy.latest().map_err(ApiError::internal)?;
        // Owned by the export from here: a refused cut removes its folder.
        let mut export = Export {
            height: 0,
            root: Hash::ZERO,
            counts,
            created: Instant::now(),
            used: Mutex::new(Instant::now()),
            db: Some(copy),
            dir,
        };
        let Some((height, root)) = latest else {
            return Err(ApiError::unavailable("this node has no state yet"));
        };
        if height == 0 {
            return Err(ApiError::unavailable(
                "the chain has no finalized block yet: nothing to snapshot",
            ));
        }
        export.height = height;
        export.root = root;
        tracing::info!(
            height,
            leaves = counts.leaves,
            history = counts.history_entries,
            "snapshot export cut"
        );
        Ok(export)
    }
}

fn stored_cert(db: &Db, height: u64) -> ApiResult<CommitCertificate> {
    let bytes = db
        .cert(height)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal(format!("block {height} has no certificate")))?;
    codec::decode_stored(&bytes, MAX_MESSAGE_BYTES).map_err(ApiError::internal)
}

/// Whether a block certifies the state at a height.
enum Certifying {
    /// This final block does, and its certificate's committed block is stored too (so
    /// its view is complete).
    By(u64),
    /// A final block above certifies a later height: none ever will (certified heights
    /// only grow along the chain).
    Never,
    /// Not yet known.
    NotYet,
}

/// The first final block above `height` whose header certifies the state at `height`.
fn certifying_block(state: &AppState, height: u64) -> ApiResult<Certifying> {
    let latest = state
        .db
        .latest()
        .map_err(ApiError::internal)?
        .map_or(0, |(h, _)| h);
    for h in height + 1..=latest.min(height + MAX_CERTIFYING_LOOKAHEAD) {
        let Some(bytes) = state.db.block(h).map_err(ApiError::internal)? else {
            break;
        };
        let block: Block =
            codec::decode_stored(&bytes, MAX_MESSAGE_BYTES).map_err(ApiError::internal)?;
        if block.executed.height > height {
            return Ok(Certifying::Never);
        }
        if block.executed.height == height {
            let committed = stored_cert(&state.db, h)?
                .committed()
                .map_or(u64::MAX, |id| id.height);
            return Ok(if committed <= latest {
                Certifying::By(h)
            } else {
                Certifying::NotYet
            });
        }
    }
    Ok(Certifying::NotYet)
}

/// [`certifying_block`], waiting up to [`CERTIFYING_WAIT`] for it: a fresh cut is at the
/// latest height, and the block certifying it is usually a few blocks away (a chain with
/// nothing to do still makes an empty block every `idle_block_delay_ms`). `None`: no
/// block will certify it.
async fn await_certifying_block(state: &AppState, height: u64) -> ApiResult<Option<u64>> {
    let deadline = tokio::time::Instant::now() + CERTIFYING_WAIT;
    loop {
        match certifying_block(state, height)? {
            Certifying::By(h) => return Ok(Some(h)),
            Certifying::Never => return Ok(None),
            Certifying::NotYet => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::unavailable(format!(
                "the snapshot at height {height} is cut, but no block certifying its state \
                 became final within {} s: is the chain making progress? Ask again shortly",
                CERTIFYING_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(CERTIFYING_POLL).await;
    }
}

/// An export and the final block certifying its state: cut again (up to
/// [`CUT_ATTEMPTS`] times) while no block will certify the cut's height.
async fn certified_export(state: &AppState) -> ApiResult<(Arc<Export>, u64)> {
    for attempt in 0..CUT_ATTEMPTS {
        let (exports, live) = (state.snapshots.clone(), state.db.clone());
        let export = tokio::task::spawn_blocking(move || exports.current_or_cut(&live, attempt))
            .await
            .map_err(ApiError::internal)??;
        if let Some(h) = await_certifying_block(state, export.height).await? {
            return Ok((export, h));
        }
        tracing::info!(
            height = export.height,
            "no block certifies the snapshot's height: cutting again"
        );
        let exports = state.snapshots.clone();
        // Closing RocksDB and removing files blocks.
        tokio::task::spawn_blocking(move || exports.discard(&export))
            .await
            .map_err(ApiError::internal)?;
        tokio::time::sleep(CUT_RETRY).await;
    }
    Err(ApiError::unavailable(
        "no snapshot could be cut at a certified height just now: ask again",
    ))
}

fn only_banks_and_auditors(caller: &Caller) -> ApiResult<()> {
    if caller.sees_everything() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "a snapshot holds every document: it is for banks and auditors",
        ))
    }
}

/// `GET /v1/snapshot`.
#[utoipa::path(get, path = "/v1/snapshot", tag = "snapshots",
    summary = "The state this node serves to a joining node, at a certified height (banks and auditors)",
    responses((status = 200, body = SnapshotManifest), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 403, description = "not a bank or an auditor", body = ErrorBody), (status = 503, description = "no snapshot ready yet (the block certifying its state is not final): ask again shortly", body = ErrorBody)))]
pub async fn manifest(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<SnapshotManifest>> {
    only_banks_and_auditors(&caller)?;
    let (export, certifying) = certified_export(&state).await?;
    let height = export.height;
    let certified_by = super::proofs::block_view(&state, &caller, certifying)?;
    if certified_by.header.executed.state_root != export.root {
        return Err(ApiError::internal(format!(
            "the certified state of height {height} is not this node's: divergence"
        )));
    }
    let block = super::proofs::block_view(&state, &caller, height)?;
    let raw = |what: Option<Vec<u8>>| {
        what.map(hex::encode)
            .ok_or_else(|| ApiError::internal(format!("block {height} is not stored")))
    };
    let raw_block = RawBlock {
        height,
        block_hex: raw(state.db.block(height).map_err(ApiError::internal)?)?,
        certificate_hex: raw(state.db.cert(height).map_err(ApiError::internal)?)?,
    };
    Ok(Json(SnapshotManifest {
        chain_id: state.chain_id.clone(),
        height,
        state_root: export.root,
        results_root: certified_by.header.executed.results_root,
        leaves: export.counts.leaves,
        history_entries: export.counts.history_entries,
        block,
        raw_block,
        certified_by,
        epochs: super::proofs::epoch_changes(&state)?,
    }))
}

/// `?after=`: hex of at most `max` bytes.
fn after_bytes(after: Option<&String>, max: usize) -> ApiResult<Option<Vec<u8>>> {
    let Some(after) = after else {
        return Ok(None);
    };
    let bytes = hex::decode(after)
        .ok()
        .filter(|b| !b.is_empty() && b.len() <= max)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_after",
                format!("after must be 1 to {max} bytes in lowercase hex (a chunk's next)"),
            )
        })?;
    Ok(Some(bytes))
}

fn entries(rows: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<SnapshotEntry> {
    rows.into_iter()
        .map(|(k, v)| SnapshotEntry {
            key_hex: hex::encode(k),
            value_hex: hex::encode(v),
        })
        .collect()
}

fn export_error(e: lianrong_storage::snapshot::SnapshotError) -> ApiError {
    ApiError::internal(e)
}

/// `GET /v1/snapshot/{height}/state`.
#[utoipa::path(get, path = "/v1/snapshot/{height}/state", tag = "snapshots",
    summary = "State entries of the snapshot in the tree's order, with a range proof (banks and auditors)",
    params(("height" = u64, Path, minimum = 1), SnapshotStateQuery),
    responses((status = 200, body = SnapshotStateChunk), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 403, description = "not a bank or an auditor", body = ErrorBody), (status = 404, description = "no snapshot at that height is served (any more)", body = ErrorBody)))]
pub async fn state_chunk(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(height): ApiPath<u64>,
    ApiQuery(q): ApiQuery<SnapshotStateQuery>,
) -> ApiResult<Json<SnapshotStateChunk>> {
    only_banks_and_auditors(&caller)?;
    let after = match after_bytes(q.after.as_ref(), 32)? {
        Some(b) => Some(Hash(<[u8; 32]>::try_from(b.as_slice()).map_err(|_| {
            ApiError::bad_request("invalid_after", "after must be 32 bytes (64 hex digits)")
        })?)),
        None => None,
    };
    let export = state.snapshots.at(height)?;
    let chunk = export
        .db()?
        .export_state_chunk(height, after.as_ref(), ChunkLimits::default())
        .map_err(export_error)?;
    Ok(Json(SnapshotStateChunk {
        height,
        entries: entries(chunk.entries),
        proof_hex: hex::encode(chunk.proof),
        next: chunk.last.filter(|_| chunk.more).map(|h| hex::encode(h.0)),
    }))
}

/// `GET /v1/snapshot/{height}/history`.
#[utoipa::path(get, path = "/v1/snapshot/{height}/history", tag = "snapshots",
    summary = "Document history entries of the snapshot, each document's together (banks and auditors)",
    params(("height" = u64, Path, minimum = 1), SnapshotHistoryQuery),
    responses((status = 200, body = SnapshotHistoryChunk), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 403, description = "not a bank or an auditor", body = ErrorBody), (status = 404, description = "no snapshot at that height is served (any more)", body = ErrorBody)))]
pub async fn history_chunk(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(height): ApiPath<u64>,
    ApiQuery(q): ApiQuery<SnapshotHistoryQuery>,
) -> ApiResult<Json<SnapshotHistoryChunk>> {
    only_banks_and_auditors(&caller)?;
    let after = after_bytes(q.after.as_ref(), MAX_KEY_BYTES)?;
    let export = state.snapshots.at(height)?;
    let chunk = export
        .db()?
        .export_history_chunk(height, after.as_deref(), ChunkLimits::default())
        .map_err(export_error)?;
    let next = chunk
        .entries
        .last()
        .filter(|_| chunk.more)
        .map(|(k, _)| hex::encode(k));
    Ok(Json(SnapshotHistoryChunk {
        height,
        entries: entries(chunk.entries),
        next,
    }))
}
