//! What a client checks without trusting this node: blocks with their headers and the
//! headers that tie them to a certificate, proofs of documents and of their histories
//! against a certified state root, and every validator-set change since genesis.
//!
//! Separate because it is the one place that assembles evidence; what it must never do
//! is answer with a root, header or certificate that was not stored by consensus (a
//! client would reject it, but the node must not even offer it).

use axum::extract::State;
use axum::Json;
use lianrong_api_types::{
    BlockView, EpochChange, EpochChanges, ErrorBody, ProofQuery, ProofResponse, ProofSubject,
    RawBlock,
};
use lianrong_consensus::{Block, BlockHeader, CommitCertificate, MAX_MESSAGE_BYTES};
use lianrong_contracts::state::{keys, HistoryPos};
use lianrong_contracts::{DocKind, HistoryEntry};
use lianrong_primitives::codec;
use lianrong_storage::DbError;

use super::auth::Caller;
use super::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use super::handlers::{may_read_doc, split_executed};
use super::AppState;

/// Most headers a block view carries to reach the block its certificate commits (blocks
/// finalized together after a run of timeouts; the engine keeps at most 1024 pending).
const MAX_DESCENDANTS: u64 = 1024;
/// How far below the latest height the directly certified block is looked for.
const MAX_CERTIFIED_LOOKBACK: u64 = 1024;
/// History entries per page of a history proof: a page costs the node one bounded range
/// read however long the history (a bank's own org record gains an entry per limit it
/// sets and per price it posts, without end).
pub const HISTORY_PAGE: usize = lianrong_storage::schema::MAX_QUERY_LIMIT;

/// The finalized block at `height` and its stored certificate.
pub(super) fn stored(
    state: &AppState,
    height: u64,
) -> ApiResult<(Block, Option<CommitCertificate>)> {
    let bytes = state
        .db
        .block(height)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("block {height}")))?;
    let block: Block =
        codec::decode_stored(&bytes, MAX_MESSAGE_BYTES).map_err(ApiError::internal)?;
    let cert = match state.db.cert(height).map_err(ApiError::internal)? {
        Some(c) => Some(codec::decode_stored(&c, MAX_MESSAGE_BYTES).map_err(ApiError::internal)?),
        None => None,
    };
    Ok((block, cert))
}

/// Refuses a height below the snapshot this node started from: of those it keeps only
/// the blocks that changed the validator set (for `/v1/epochs`), not a block history.
/// With `epoch_ends`, the validator-set changes it keeps are served (whole: a node
/// joining from this one's snapshot fetches them raw).
fn kept(state: &AppState, height: u64, epoch_ends: bool) -> ApiResult<()> {
    let Some(base) = state.db.snapshot_base().map_err(ApiError::internal)? else {
        return Ok(());
    };
    if height >= base {
        return Ok(());
    }
    if epoch_ends {
        let ends = state.db.epoch_ends().map_err(ApiError::internal)?;
        if ends.iter().any(|(_, h)| *h == height) {
            return Ok(());
        }
    }
    Err(ApiError::not_found(format!(
        "block {height}: this node started from a snapshot at height {base} and keeps no \
         block below it (ask a node that replayed the chain)"
    )))
}

/// A block as the API shows it: header, transactions, certificate, the headers up to
/// the block the certificate commits when that is a descendant, and the ledger's own
/// changes in it as far as `caller` may see them.
pub(super) fn block_view(state: &AppState, caller: &Caller, height: u64) -> ApiResult<BlockView> {
    kept(state, height, false)?;
    let (block, cert) = stored(state, height)?;
    let txs = crate::payload::listed(&block.payload, lianrong_consensus::MAX_PAYLOAD_BYTES);
    let (executed, dropped) = split_executed(&txs, |hash| {
        let rec = state.db.tx(hash).map_err(ApiError::internal)?;
        Ok(rec.is_some_and(|r| r.height == height))
    })?;
    let root = state.db.state_root(height).map_err(ApiError::internal)?;
    let committed = cert
        .as_ref()
        .and_then(CommitCertificate::committed)
        .map_or(height, |c| c.height);
    let mut descendants = Vec::new();
    if committed > height && committed - height <= MAX_DESCENDANTS {
        for h in height + 1..=committed {
            match stored(state, h) {
                Ok((b, _)) => descendants.push(b.header()),
                // Finalized in the same step but not yet written: the client sees an
                // unproven block and asks again.
                Err(_) => break,
            }
        }
    }
    Ok(BlockView {
        height: block.height,
        hash: block.hash(),
        parent: block.parent,
        epoch: block.epoch,
        round: block.round,
        proposer: block.proposer,
        timestamp_ms: block.timestamp_ms,
        tx_hashes: executed,
        dropped_tx_hashes: dropped,
        state_root: root,
        header: block.header(),
        commit_certificate: cert,
        descendants,
        ledger_events: caller
            .ledger_events(&state.db.ledger_events(height).map_err(ApiError::internal)?),
    })
}

/// The latest finalized block whose stored certificate commits exactly that block (the
/// top of each finalization step), with the certificate.
pub(super) fn certified_tip(state: &AppState) -> ApiResult<(BlockHeader, CommitCertificate)> {
    let (latest, _) = state
        .db
        .latest()
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("state"))?;
    let base = state.db.snapshot_base().map_err(ApiError::internal)?;
    let lowest = latest
        .saturating_sub(MAX_CERTIFIED_LOOKBACK)
        .max(base.unwrap_or(1));
    for height in (lowest..=latest).rev() {
        let (block, cert) = stored(state, height)?;
        let Some(cert) = cert else { continue };
        if cert.committed().is_some_and(|c| c.height == height) {
            return Ok((block.header(), cert));
        }
    }
    Err(ApiError::not_found(
        "a certified block (the chain has no finalized block yet)",
    ))
}

/// Every validator-set change since genesis, in order.
pub(super) fn epoch_changes(state: &AppState) -> ApiResult<Vec<EpochChange>> {
    let ends = state.db.epoch_ends().map_err(ApiError::internal)?;
    let mut out = Vec::with_capacity(ends.len());
    for (epoch, height) in ends {
        let (block, cert) = stored(state, height)?;
        let (Some(validators), Some(certificate)) = (block.reconfig.clone(), cert) else {
            return Err(ApiError::internal(format!(
                "epoch {epoch} is recorded to end at height {height}, whose block has no \
                 validator-set change or certificate"
            )));
        };
        out.push(EpochChange {
            epoch,
            header: block.header(),
            validators,
            certificate,
        });
    }
    Ok(out)
}

/// `GET /v1/proofs/{kind}/{id}`: a document (or its history) proven against the latest
/// certified state root, with the header and certificate that certify the root and the
/// validator-set changes that lead to the certificate's signers.
#[utoipa::path(get, path = "/v1/proofs/{kind}/{id}", tag = "proofs",
    summary = "A document or its history, proven against a certified state root",
    params(("kind" = inline(lianrong_api_types::schemas::DocKindName), Path), ("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "document id: 1-64 of A-Z a-z 0-9 . _ -"), ProofQuery),
    responses((status = 200, body = ProofResponse), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 403, description = "the record of another org, whose identifiers the caller reads masked (banks and auditors get every proof)", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody), (status = 503, description = "no certified state to prove yet (a node started from a snapshot: ask again shortly), or the certified block is below the state versions this node keeps ([storage] keep_versions: ask a node with a larger window)", body = ErrorBody)))]
pub async fn proof(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((kind, id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<ProofQuery>,
) -> ApiResult<Json<ProofResponse>> {
    let kind = DocKind::parse(&kind).ok_or_else(|| {
        ApiError::bad_request("invalid_kind", format!("unknown document kind {kind:?}"))
    })?;
    let after = history_cursor(&q)?;
    if !may_read_doc(&state, &caller, kind, &id)? {
        return Err(ApiError::not_found(format!("{kind} {id}")));
    }
    // A proof carries the stored bytes; an org record shows its identifiers only to the
    // org itself, banks and auditors (`org_for`), so only they get its proof.
    let reader = caller.reader();
    if kind == DocKind::Org && !reader.sees_everything() && !reader.is(&id) {
        return Err(ApiError::forbidden(format!(
            "a proof of org {id} carries its identifiers, which are masked for you"
        )));
    }
    let (header, certificate) = certified_tip(&state)?;
    let executed = header.executed;
    if let Some(base) = state.db.snapshot_base().map_err(ApiError::internal)? {
        if executed.height < base {
            return Err(ApiError::unavailable(format!(
                "this node started from a snapshot at height {base} and has not yet finalized \
                 a block certifying a state at or above it: ask again shortly"
            )));
        }
    }
    let ours = state
        .db
        .execution(executed.height)
        .map_err(ApiError::internal)?;
    if ours != Some(executed) {
        return Err(ApiError::internal(format!(
            "the certified state of height {} is not this node's ({ours:?}): divergence",
            executed.height
        )));
    }
    let key = match q.of {
        ProofSubject::Document => keys::doc(kind, &id),
        ProofSubject::History => keys::history_head(kind, &id),
    };
    let p = state
        .db
        .prove(&key, executed.height, executed.state_root)
        .map_err(|e| match e {
            // The certified state lies outside the pruning window (a long run of
            // timeouts, or a window below the default): the next certified block is newer.
            e @ DbError::Pruned { .. } => ApiError::unavailable(e.to_string()),
            e => ApiError::internal(e),
        })?;
    p.verify(&executed.state_root).map_err(ApiError::internal)?;
    let (history, history_next) = match q.of {
        ProofSubject::Document => (Vec::new(), None),
        ProofSubject::History => history_page(&state, kind, &id, after, executed.height)?,
    };
    Ok(Json(ProofResponse {
        kind: kind.to_string(),
        id,
        subject: q.of,
        height: executed.height,
        state_root: executed.state_root,
        key: String::from_utf8_lossy(&key).into_owned(),
        value_hex: p.value.as_ref().map(hex::encode),
        leaf_hex: p.leaf.as_ref().map(hex::encode),
        proof: serde_json::to_value(&p.proof).map_err(ApiError::internal)?,
        header,
        certificate,
        epochs: epoch_changes(&state)?,
        history,
        history_next,
    }))
}

/// `?after=` of a history proof, read (a mistake is the caller's: named, 400).
fn history_cursor(q: &ProofQuery) -> ApiResult<Option<HistoryPos>> {
    let Some(after) = &q.after else {
        return Ok(None);
    };
    if q.of != ProofSubject::History {
        return Err(ApiError::bad_request(
            "invalid_query",
            "after= pages a history: it needs of=history",
        ));
    }
    after.parse().map(Some).map_err(|e: String| {
        ApiError::bad_request(
            "invalid_query",
            format!("after: {e}; pass the history_next of the previous page"),
        )
    })
}

/// One page of a document's history for its proof at `height`: the entries after
/// `after` up to that height, oldest first, and where the next page starts if there may
/// be one. Entries sort by height, so a page cut short by the height is the last.
fn history_page(
    state: &AppState,
    kind: DocKind,
    id: &str,
    after: Option<HistoryPos>,
    height: u64,
) -> ApiResult<(Vec<HistoryEntry>, Option<String>)> {
    let page = HISTORY_PAGE;
    let rows = state
        .db
        .history_after(kind, id, after, page)
        .map_err(ApiError::internal)?;
    let full = rows.len() == page;
    let mut last = None;
    let mut entries = Vec::with_capacity(rows.len());
    for (pos, entry) in rows {
        if entry.height > height {
            return Ok((entries, None));
        }
        last = Some(pos);
        entries.push(entry);
    }
    Ok((entries, last.filter(|_| full).map(|p| p.to_string())))
}

/// `GET /v1/epochs`.
#[utoipa::path(get, path = "/v1/epochs", tag = "proofs",
    summary = "Every validator-set change since genesis, with its certificate",
    responses((status = 200, body = EpochChanges), (status = 401, description = "no or bad credentials", body = ErrorBody)))]
pub async fn epochs(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<Json<EpochChanges>> {
    Ok(Json(EpochChanges {
        changes: epoch_changes(&state)?,
    }))
}

/// `GET /v1/blocks/{height}/raw`.
#[utoipa::path(get, path = "/v1/blocks/{height}/raw", tag = "blocks",
    summary = "A finalized block as consensus encoded it, payload included (banks and auditors)",
    params(("height" = u64, Path, minimum = 1)),
    responses((status = 200, body = RawBlock), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 403, description = "not a bank or an auditor", body = ErrorBody), (status = 404, description = "not found", body = ErrorBody)))]
pub async fn raw_block(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(height): ApiPath<u64>,
) -> ApiResult<Json<RawBlock>> {
    if !caller.sees_everything() {
        return Err(ApiError::forbidden(
            "whole blocks (every transaction in full) are for banks and auditors",
        ));
    }
    kept(&state, height, true)?;
    let block = state
        .db
        .block(height)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("block {height}")))?;
    let cert = state
        .db
        .cert(height)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal(format!("block {height} has no stored certificate")))?;
    Ok(Json(RawBlock {
        height,
        block_hex: hex::encode(block),
        certificate_hex: hex::encode(cert),
    }))
}

/// `GET /v1/blocks/{height}` -- see [`block_view`].
#[utoipa::path(get, path = "/v1/blocks/{height}", tag = "blocks",
    summary = "A finalized block with its header and commit certificate",
    params(("height" = u64, Path, minimum = 1)),
    responses((status = 200, body = BlockView), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn block(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(height): ApiPath<u64>,
) -> ApiResult<Json<BlockView>> {
    block_view(&state, &caller, height).map(Json)
}
