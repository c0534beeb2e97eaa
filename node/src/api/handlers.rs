//! The `/v1` route handlers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::Json;
use futures::Stream;
use lianrong_api_types::visibility::{
    self as vis, Document, OfferOfFinancing, ShipmentOfOrder, TxAccess,
};
use lianrong_api_types::{
    event_names, BlockNotice, BlockView, ErrorBody, InvoiceQuery, KeyInfo, Status, SubmitBatchBody,
    SubmitBody, SubmitQuery, SubmitResponse, SyncState, TxView,
};
use lianrong_contracts::model::{
    DocId, Financing, Invoice, Loan, Offer, Order, Org, PendingApproval, Programme, Receivable,
    Settlement, Shipment, WarehouseReceipt,
};
use lianrong_contracts::state::{keys, load};
use lianrong_contracts::{DocKind, Envelope, Receipt, SignedTransaction, TxError};
use lianrong_primitives::{codec, Hash};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{broadcast, oneshot};

use super::auth::Caller;
use super::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use super::{AppState, Command, CommitNotice};
use crate::mempool::AdmitError;
use crate::submissions::{Submission, SubmitError};

/// How long `?wait=commit` waits before answering "still pending".
const WAIT_COMMIT: Duration = Duration::from_secs(30);

/// The document `kind`/`id`: 400 for an id no document can have, 404 for one it has not.
pub(super) fn doc<T: Serialize + DeserializeOwned>(
    state: &AppState,
    kind: DocKind,
    id: &str,
) -> ApiResult<T> {
    DocId::new(id).map_err(|e| ApiError::bad_request("invalid_id", e.to_string()))?;
    maybe_doc(state, kind, id)?.ok_or_else(|| ApiError::not_found(format!("{kind} {id}")))
}

/// A document that may not exist: a missing one is `None`, a read failure an error.
pub(super) fn maybe_doc<T: Serialize + DeserializeOwned>(
    state: &AppState,
    kind: DocKind,
    id: &str,
) -> ApiResult<Option<T>> {
    load::<T>(state.db.as_ref(), &keys::doc(kind, id)).map_err(ApiError::internal)
}

/// The document if `caller` may read it; otherwise the same answer as for a missing
/// document (existence is information too).
fn readable<T: Document>(caller: &Caller, kind: DocKind, id: &str, doc: T) -> ApiResult<Json<T>> {
    vis::readable(&caller.reader(), doc)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("{kind} {id}")))
}

fn parse_hash(s: &str) -> ApiResult<Hash> {
    Hash::from_hex(s).map_err(|e| ApiError::bad_request("invalid_hash", format!("{s:?}: {e}")))
}

/// `GET /v1/status`.
#[utoipa::path(get, path = "/v1/status", tag = "node",
    summary = "Chain id, height, validators, peers, round, mempool, sync state",
    responses((status = 200, body = Status), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody)))]
pub async fn status(State(state): State<AppState>, _caller: Caller) -> ApiResult<Json<Status>> {
    let status = state
        .status
        .read()
        .map_err(|_| ApiError::unavailable("status lock poisoned"))?
        .clone();
    // Genesis always records the validator set: its absence is a broken database.
    let validators: Vec<lianrong_contracts::model::Validator> =
        load(state.db.as_ref(), keys::VALIDATORS)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::internal("no validator set in state"))?;
    let params: lianrong_contracts::model::Params = load(state.db.as_ref(), keys::PARAMS)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal("no parameters in state"))?;
    Ok(Json(Status {
        chain_id: state.chain_id.clone(),
        height: status.height,
        last_block_hash: status.last_block_hash,
        state_root: status.state_root,
        last_finalized_at_ms: status.last_finalized_at_ms,
        validators,
        peers: status.peers,
        round: status.round,
        mempool: status.mempool,
        sync: SyncState {
            syncing: status.syncing,
        },
        params,
        divergence: status.divergence,
    }))
}

fn tx_error(e: TxError) -> ApiError {
    let code = match &e {
        TxError::Malformed(_) => "malformed_transaction",
        TxError::TooLarge { .. } => "too_large",
        TxError::WrongChain { .. } => "wrong_chain",
        TxError::BadSignature(_) => "bad_signature",
    };
    let status = if matches!(e, TxError::TooLarge { .. }) {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::BAD_REQUEST
    };
    ApiError::new(status, code, e.to_string())
}

fn admit_error(e: AdmitError) -> ApiError {
    let (status, code) = match &e {
        AdmitError::Duplicate => (StatusCode::CONFLICT, "duplicate"),
        AdmitError::StaleNonce { .. } => (StatusCode::CONFLICT, "stale_nonce"),
        AdmitError::NonceTaken(_) => (StatusCode::CONFLICT, "nonce_taken"),
        AdmitError::NonceTooFar { .. } => (StatusCode::BAD_REQUEST, "nonce_too_far"),
        AdmitError::SignerFull(_) => (StatusCode::TOO_MANY_REQUESTS, "signer_full"),
        AdmitError::Full(_) | AdmitError::FullBytes(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, "mempool_full")
        }
    };
    ApiError::new(status, code, e.to_string())
}

/// `POST /v1/transactions[?wait=commit]`: JSON `{"tx": "<hex>"}` or the raw bytes as
/// `application/octet-stream`.
#[utoipa::path(post, path = "/v1/transactions", tag = "transactions",
    summary = "Submit a signed transaction: JSON {\"tx\": hex}, or the canonical bytes as application/octet-stream",
    params(SubmitQuery),
    request_body(content(
        (SubmitBody = "application/json"),
        (inline(lianrong_api_types::schemas::RawBytes) = "application/octet-stream")
    )),
    responses(
        (status = 200, description = "committed (with `?wait=commit`)", body = SubmitResponse),
        (status = 202, description = "admitted, pending", body = SubmitResponse),
        (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody),
        (status = 403, description = "the ledger would refuse its envelope", body = ErrorBody),
        (status = 409, description = "duplicate or nonce already used", body = ErrorBody),
        (status = 413, description = "too large", body = ErrorBody),
        (status = 429, description = "the signer has too many pending", body = ErrorBody),
        (status = 503, description = "mempool full or node busy", body = ErrorBody)
    ))]
pub async fn submit(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<SubmitQuery>,
    _caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<impl IntoResponse> {
    let wait = match q.wait.as_deref() {
        None => false,
        Some("commit") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("wait={other:?}: the only value is 'commit' (answer after finality)"),
            ))
        }
    };
    let raw = submitted_bytes(&headers, &body)?;
    // Decoded, hashed and (for the signature) sliced once: the node keeps these bytes.
    let envelope = Envelope::decode(&raw).map_err(tx_error)?;
    let hash = envelope.hash();
    first_checks(&state, &hash, &envelope)?;
    // Subscribed before the loop may commit it, and only to wait: while any receiver
    // lives the channel keeps its last `NOTICE_QUEUE` blocks' receipts, and every
    // submission of a loaded node subscribing (a lock on the channel each) kept them
    // held on nodes nobody follows.
    let commits = wait.then(|| state.commits.subscribe());
    let answer = hand_to_loop(&state, envelope)?;
    let admitted = answer
        .await
        .map_err(|_| ApiError::unavailable("the node is shutting down"))?;
    admitted.map_err(|e| {
        state.metrics.rejected_txs.inc();
        submit_error(e)
    })?;
    let pending = (StatusCode::ACCEPTED, Json(SubmitResponse::pending(hash)));
    let Some(commits) = commits else {
        return Ok(pending);
    };
    match tokio::time::timeout(WAIT_COMMIT, receipt_of(&state, commits, hash)).await {
        Ok(Some((height, receipt))) => Ok((
            StatusCode::OK,
            Json(SubmitResponse::committed(hash, height, receipt)),
        )),
        _ => Ok(pending),
    }
}

/// The signed transaction's bytes of a submit body: raw, or hex inside `{"tx": ...}`.
fn submitted_bytes(headers: &HeaderMap, body: &Bytes) -> ApiResult<Vec<u8>> {
    if is_octet_stream(headers) {
        return Ok(body.to_vec());
    }
    let b: SubmitBody = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "malformed_body",
            format!("expected {{\"tx\": \"<hex>\"}}: {e}"),
        )
    })?;
    if b.tx.len() > 2 * lianrong_contracts::tx::MAX_TX_BYTES {
        return Err(tx_error(TxError::TooLarge {
            len: b.tx.len() / 2,
            limit: lianrong_contracts::tx::MAX_TX_BYTES,
        }));
    }
    hex::decode(b.tx.trim())
        .map_err(|e| ApiError::bad_request("malformed_body", format!("tx is not hex: {e}")))
}

/// Waits for `hash` to be committed: its block height and receipt, or `None` if the
/// node stops first. A subscriber that lags reads the receipt from the database.
async fn receipt_of(
    state: &AppState,
    mut commits: broadcast::Receiver<Arc<CommitNotice>>,
    hash: Hash,
) -> Option<(u64, Receipt)> {
    loop {
        match commits.recv().await {
            Ok(notice) => {
                if let Some(r) = notice.receipts.iter().find(|r| r.tx_hash == hash) {
                    return Some((notice.height, r.clone()));
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {
                // Receipt and transaction record are one entry (a read error means
                // "not yet", and the wait goes on).
                if let Ok(Some((t, r))) = state.db.tx_with_receipt(&hash) {
                    return Some((t.height, r));
                }
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}

/// Whether a submit body is raw canonical bytes rather than JSON.
fn is_octet_stream(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/octet-stream"))
}

/// The refusal of a transaction the ledger already holds, if it does.
fn already_committed(state: &AppState, hash: &Hash) -> ApiResult<Option<ApiError>> {
    let receipt = state.db.receipt(hash).map_err(ApiError::internal)?;
    Ok(receipt.map(|r| {
        ApiError::new(
            StatusCode::CONFLICT,
            "duplicate",
            format!(
                "transaction {hash} is already committed: {}",
                receipt_summary(&r)
            ),
        )
    }))
}

/// Hands a transaction that passed [`cheap_checks`] to the node loop, which checks its
/// signature with the other submissions of its gossip window (`crate::submissions`) and
/// admits it to the mempool; the answer comes back on the returned channel.
fn hand_to_loop(
    state: &AppState,
    envelope: Envelope,
) -> ApiResult<oneshot::Receiver<Result<Hash, SubmitError>>> {
    let (reply, answer) = oneshot::channel();
    state
        .commands
        .try_send(Command::Submit(Submission { envelope, reply }))
        .map_err(|_| ApiError::unavailable("the node is busy; try again shortly"))?;
    Ok(answer)
}

fn submit_error(e: SubmitError) -> ApiError {
    match e {
        SubmitError::Refused(e) => tx_error(e),
        SubmitError::Admit(e) => admit_error(e),
        SubmitError::Busy => ApiError::unavailable(SubmitError::Busy.to_string()),
    }
}

/// Most transactions in one `POST /v1/transactions/batch` (a gossip bundle's worth).
pub const MAX_BATCH_TXS: usize = crate::gossip::MAX_BUNDLE_TXS;

/// `POST /v1/transactions/batch`: many signed transactions in one request (an ERP
/// import, a busy client), as JSON `{"txs": ["<hex>", ...]}` or, as
/// `application/octet-stream`, the canonical encoding of the list (the block payload
/// format). Their signatures are checked with one batch equation. Answers 200 with one
/// result per transaction, in order: `{"hash", "status": "pending"}` or
/// `{"hash", "status": "refused", "code", "message"}` (the codes of the single submit).
#[utoipa::path(post, path = "/v1/transactions/batch", tag = "transactions",
    summary = "Submit up to 512 signed transactions (JSON hex list, or the block payload encoding as application/octet-stream); one answer per transaction, in order",
    request_body(content(
        (SubmitBatchBody = "application/json"),
        (inline(lianrong_api_types::schemas::RawBytes) = "application/octet-stream")
    )),
    responses((status = 200, body = Vec<SubmitResponse>), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 413, description = "too large", body = ErrorBody)))]
pub async fn submit_batch(
    State(state): State<AppState>,
    _caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Vec<SubmitResponse>>> {
    let signed = submitted_batch(&headers, &body)?;
    let refused =
        |hash: Hash, e: ApiError| SubmitResponse::refused(hash, e.code.to_string(), e.message);
    let mut results: Vec<Option<SubmitResponse>> = vec![None; signed.len()];
    let mut fresh = Vec::with_capacity(signed.len());
    // Everything that needs no signature first: up to 512 signature checks are spent
    // only on transactions that could be admitted.
    for (i, t) in signed.into_iter().enumerate() {
        let hash = t.hash();
        match first_checks(&state, &hash, &t) {
            Ok(()) => fresh.push((i, hash, t)),
            Err(e) => results[i] = Some(refused(hash, e)),
        }
    }
    // Their signatures are checked with the other submissions of this node's gossip
    // window, one batch equation for all (`crate::submissions`).
    let mut answers = Vec::with_capacity(fresh.len());
    for (i, hash, envelope) in fresh {
        match hand_to_loop(&state, envelope) {
            Ok(answer) => answers.push((i, hash, answer)),
            Err(e) => results[i] = Some(refused(hash, e)),
        }
    }
    for (i, hash, answer) in answers {
        results[i] = Some(match answer.await {
            Ok(Ok(_)) => SubmitResponse::pending(hash),
            Ok(Err(e)) => {
                state.metrics.rejected_txs.inc();
                refused(hash, submit_error(e))
            }
            Err(_) => refused(hash, ApiError::unavailable("the node is shutting down")),
        });
    }
    // Every slot was filled above: each transaction is refused, or admitted and answered.
    let answered: Option<Vec<SubmitResponse>> = results.into_iter().collect();
    answered
        .map(Json)
        .ok_or_else(|| ApiError::internal("a batch item was left unanswered"))
}

/// The signed transactions of a batch body: the block payload encoding, or hex strings
/// inside `{"txs": [...]}`; at most [`MAX_BATCH_TXS`].
fn submitted_batch(headers: &HeaderMap, body: &Bytes) -> ApiResult<Vec<Envelope>> {
    let too_many = |n: usize| {
        ApiError::bad_request(
            "too_many",
            format!("{n} transactions (at most {MAX_BATCH_TXS})"),
        )
    };
    let signed: Vec<Envelope> = if is_octet_stream(headers) {
        crate::gossip::decode(body)
            .map_err(|e| ApiError::bad_request("malformed_body", e.to_string()))?
    } else {
        let b: SubmitBatchBody = serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(
                "malformed_body",
                format!("expected {{\"txs\": [\"<hex>\", ...]}}: {e}"),
            )
        })?;
        if b.txs.len() > MAX_BATCH_TXS {
            return Err(too_many(b.txs.len()));
        }
        b.txs
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let raw = hex::decode(h.trim()).map_err(|e| {
                    ApiError::bad_request("malformed_body", format!("txs[{i}] is not hex: {e}"))
                })?;
                Envelope::decode(&raw).map_err(|e| {
                    let mut err = tx_error(e);
                    err.message = format!("txs[{i}]: {}", err.message);
                    err
                })
            })
            .collect::<ApiResult<_>>()?
    };
    if signed.len() > MAX_BATCH_TXS {
        return Err(too_many(signed.len()));
    }
    Ok(signed)
}

/// What a submitted transaction must pass before its signature is checked
/// ([`cheap_checks`]); refused, a transaction the ledger already holds is answered as
/// such (`duplicate`) rather than by the check that refused it. Only a refused one can be
/// held: a committed transaction spent its nonce (`Receipt::committed`), so the
/// admission check refuses it. So the receipt is looked up only then -- for every
/// submission, that lookup of a hash not stored was 2 % of a saturated validator's CPU
/// (perf, `lianrong bench --keys 256 --rate 6000 --batch 8`, 2026-12-06).
fn first_checks(state: &AppState, hash: &Hash, envelope: &Envelope) -> ApiResult<()> {
    let Err(refusal) = cheap_checks(state, envelope) else {
        return Ok(());
    };
    if let Some(duplicate) = already_committed(state, hash)? {
        return Err(duplicate);
    }
    state.metrics.rejected_txs.inc();
    Err(refusal)
}

/// The right chain and size, then the envelope checks execution would refuse it for
/// (key registered and active for its org, nonce not used), so it is stored nowhere.
fn cheap_checks(state: &AppState, envelope: &Envelope) -> ApiResult<()> {
    mempool_has_room(state)
        .and_then(|_| envelope.precheck(&state.chain_id).map_err(tx_error))
        .and_then(|_| envelope_precheck(state, &envelope.signed().tx))
}

/// A full mempool refuses before the signature is checked: under overload every refused
/// submission would otherwise cost a verification (with a 12,288-transaction mempool and
/// one validator down, CPU per committed transaction rose by half). The gauges are the
/// loop's latest count, so this is a hint; the loop's admission stays the rule.
fn mempool_has_room(state: &AppState) -> ApiResult<()> {
    let capacity = state.metrics.mempool_capacity.get();
    if capacity > 0 && state.metrics.mempool.get() >= capacity {
        return Err(admit_error(AdmitError::Full(
            usize::try_from(capacity).unwrap_or(usize::MAX),
        )));
    }
    Ok(())
}

/// The admission rule (`crate::admission`) as an API answer.
fn envelope_precheck(state: &AppState, tx: &lianrong_contracts::Transaction) -> ApiResult<()> {
    use crate::admission::{check, Refusal};
    match check(state.db.as_ref(), tx) {
        Ok(()) => Ok(()),
        Err(Refusal::StaleNonce(c)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "stale_nonce",
            c.to_string(),
        )),
        Err(Refusal::Envelope(c)) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            c.code(),
            c.to_string(),
        )),
        Err(Refusal::Store(e)) => Err(ApiError::internal(e)),
    }
}

fn receipt_summary(r: &Receipt) -> String {
    match &r.outcome {
        Ok(_) => "executed".into(),
        Err(e) => format!("refused ({})", e.code()),
    }
}

/// `GET /v1/transactions/{hash}`.
#[utoipa::path(get, path = "/v1/transactions/{hash}", tag = "transactions",
    summary = "A committed transaction with its receipt",
    params(("hash" = String, Path, description = "hex SHA-256 of the signed transaction (64 hex digits)", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = TxView), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn transaction(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(hash): ApiPath<String>,
) -> ApiResult<Json<TxView>> {
    let hash = parse_hash(&hash)?;
    let Some((
        lianrong_storage::TxRecord {
            height,
            index,
            bytes,
        },
        receipt,
    )) = state
        .db
        .tx_with_receipt(&hash)
        .map_err(ApiError::internal)?
    else {
        return Err(ApiError::not_found(format!("committed transaction {hash}")));
    };
    let signed: SignedTransaction =
        codec::decode_stored(&bytes, lianrong_contracts::tx::MAX_TX_BYTES)
            .map_err(ApiError::internal)?;
    let reader = caller.reader();
    let party = !reader.sees_everything()
        && signed.tx.signer.org != caller.org
        && party_to_touched(&state, &reader, Some(&receipt))?;
    let access = vis::tx_access(&reader, signed.tx.signer.org.as_str(), party);
    let action_name = signed.tx.action.name().to_string();
    let view = TxView {
        hash,
        status: "committed".into(),
        height,
        index: u64::from(index),
        signer: signed.tx.signer,
        nonce: signed.tx.nonce,
        action: signed.tx.action,
        action_name,
        receipt: Some(receipt),
    };
    match access {
        TxAccess::Whole => Ok(Json(view)),
        TxAccess::Masked => masked_tx(view).map(Json),
        TxAccess::Hidden => Err(ApiError::not_found(format!("committed transaction {hash}"))),
    }
}

/// Whether `reader` is a party to any document the receipt's events touched (a missing
/// document makes no one a party).
fn party_to_touched(
    state: &AppState,
    reader: &vis::Reader,
    receipt: Option<&Receipt>,
) -> ApiResult<bool> {
    let Some(Ok(events)) = receipt.map(|r| &r.outcome) else {
        return Ok(false);
    };
    for (kind, id) in events.iter().flat_map(lianrong_contracts::Event::documents) {
        if party_to_doc(state, reader, kind, &id)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether `reader` is a party to the document `kind`/`id` (an org to its own record).
fn party_to_doc(
    state: &AppState,
    reader: &vis::Reader,
    kind: DocKind,
    id: &str,
) -> ApiResult<bool> {
    fn party<T: Document + Serialize + DeserializeOwned>(
        state: &AppState,
        reader: &vis::Reader,
        kind: DocKind,
        id: &str,
    ) -> ApiResult<bool> {
        Ok(maybe_doc::<T>(state, kind, id)?.is_some_and(|d| vis::may_read(reader, &d)))
    }
    match kind {
        DocKind::Org => Ok(reader.is(id)),
        DocKind::Order => party::<Order>(state, reader, kind, id),
        DocKind::Invoice => party::<Invoice>(state, reader, kind, id),
        DocKind::Receivable => party::<Receivable>(state, reader, kind, id),
        DocKind::Financing => party::<Financing>(state, reader, kind, id),
        DocKind::Settlement => party::<Settlement>(state, reader, kind, id),
        DocKind::Approval => party::<PendingApproval>(state, reader, kind, id),
        DocKind::Programme => party::<Programme>(state, reader, kind, id),
        DocKind::WarehouseReceipt => party::<WarehouseReceipt>(state, reader, kind, id),
        DocKind::Loan => party::<Loan>(state, reader, kind, id),
        DocKind::Sale => party::<lianrong_contracts::model::Sale>(state, reader, kind, id),
        DocKind::Shipment => match maybe_doc::<Shipment>(state, kind, id)? {
            Some(s) => Ok(vis::may_read(reader, &shipment_of_order(state, s)?)),
            None => Ok(false),
        },
        DocKind::Offer => match maybe_doc::<Offer>(state, kind, id)? {
            Some(o) => Ok(vis::may_read(reader, &offer_of_financing(state, o)?)),
            None => Ok(false),
        },
        _ => Ok(false),
    }
}

/// A transaction with every sensitive field masked (it still decodes as a `TxView`:
/// masking keeps strings strings).
fn masked_tx(view: TxView) -> ApiResult<TxView> {
    let mut v = serde_json::to_value(&view).map_err(ApiError::internal)?;
    vis::mask_json(&mut v);
    serde_json::from_value(v).map_err(ApiError::internal)
}

/// The hashes of a block's payload split into the transactions it executed (each one
/// readable at `/v1/transactions/{hash}`) and those dropped before execution (a faulty
/// proposer's transaction whose signature failed: every node drops it alike). Listing a
/// dropped one as executed sent clients after a transaction no node has.
pub(super) fn split_executed(
    txs: &[SignedTransaction],
    mut stored_by_this_block: impl FnMut(&Hash) -> ApiResult<bool>,
) -> ApiResult<(Vec<Hash>, Vec<Hash>)> {
    let mut executed = Vec::with_capacity(txs.len());
    let mut dropped = Vec::new();
    for t in txs {
        let hash = t.hash();
        if stored_by_this_block(&hash)? {
            executed.push(hash);
        } else {
            dropped.push(hash);
        }
    }
    Ok((executed, dropped))
}

/// `GET /v1/blocks/latest`.
#[utoipa::path(get, path = "/v1/blocks/latest", tag = "blocks",
    summary = "The latest finalized block with its commit certificate",
    responses((status = 200, body = BlockView), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn latest_block(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<BlockView>> {
    let (height, _) = state
        .db
        .latest()
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("any block"))?;
    if height == 0 {
        return Err(ApiError::not_found("block after genesis"));
    }
    super::proofs::block_view(&state, &caller, height).map(Json)
}

/// `GET /v1/orgs/{id}`.
#[utoipa::path(get, path = "/v1/orgs/{id}", tag = "documents", summary = "An organisation",
    params(("id" = String, Path, pattern = "^[A-Z][A-Z0-9-]{1,31}$", description = "org id: 2-32 of A-Z 0-9 -, starting with a letter")),
    responses((status = 200, description = "An organisation", body = serde_json::Value), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn org(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Org>> {
    lianrong_primitives::OrgId::new(id.as_str())
        .map_err(|e| ApiError::bad_request("invalid_id", e.to_string()))?;
    let o: Org = doc(&state, DocKind::Org, &id)?;
    let reader = caller.reader();
    let counterparty =
        super::visibility::trades_with(&state.db, &reader, &o.id).map_err(ApiError::internal)?;
    Ok(Json(vis::org_for(&reader, o, counterparty)))
}

/// `GET /v1/orders/{id}`.
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "documents", summary = "A purchase order",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "document id: 1-64 of A-Z a-z 0-9 . _ -")),
    responses((status = 200, description = "A purchase order", body = serde_json::Value), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn order(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Order>> {
    let o: Order = doc(&state, DocKind::Order, &id)?;
    readable(&caller, DocKind::Order, &id, o)
}

/// `GET /v1/shipments/{id}`.
#[utoipa::path(get, path = "/v1/shipments/{id}", tag = "documents", summary = "A shipment",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "document id: 1-64 of A-Z a-z 0-9 . _ -")),
    responses((status = 200, description = "A shipment", body = serde_json::Value), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn shipment(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Shipment>> {
    let s: Shipment = doc(&state, DocKind::Shipment, &id)?;
    let seen = readable(
        &caller,
        DocKind::Shipment,
        &id,
        shipment_of_order(&state, s)?,
    )?;
    Ok(Json(seen.0.shipment))
}

/// `GET /v1/warehouse-receipts/{id}`.
#[utoipa::path(get, path = "/v1/warehouse-receipts/{id}", tag = "documents", summary = "A warehouse receipt",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "document id: 1-64 of A-Z a-z 0-9 . _ -")),
    responses((status = 200, description = "A warehouse receipt", body = serde_json::Value), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn warehouse_receipt(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<WarehouseReceipt>> {
    let r: WarehouseReceipt = doc(&state, DocKind::WarehouseReceipt, &id)?;
    readable(&caller, DocKind::WarehouseReceipt, &id, r)
}

/// `GET /v1/invoices/{id}`.
#[utoipa::path(get, path = "/v1/invoices/{id}", tag = "documents", summary = "An invoice",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "document id: 1-64 of A-Z a-z 0-9 . _ -")),
    responses((status = 200, description = "An invoice", body = serde_json::Value), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn invoice(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Invoice>> {
    let i: Invoice = doc(&state, DocKind::Invoice, &id)?;
    readable(&caller, DocKind::Invoice, &id, i)
}

/// `GET /v1/invoices?fingerprint=HEX` or `?seller=ORG&number=N`: the invoice registered
/// under a fingerprint, or the one a seller issued under a number (voided ones too: a
/// seller issues a number once), as a list of zero or one that the caller may see.
/// Importers check the fingerprint before registering, so re-running a batch submits
/// nothing, and look a corrected invoice's original up by its number.
#[utoipa::path(get, path = "/v1/invoices", tag = "documents",
    summary = "The invoice under a fingerprint, or a seller's invoice number (a list of zero or one)",
    params(InvoiceQuery),
    responses((status = 200, body = Vec<serde_json::Value>), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody)))]
pub async fn invoices_by_fingerprint(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<InvoiceQuery>,
) -> ApiResult<Json<Vec<Invoice>>> {
    let key = match (&q.fingerprint, &q.seller, &q.number) {
        (Some(fp), None, None) => keys::fingerprint(&parse_hash(fp)?),
        (None, Some(seller), Some(number)) => match number_key(&state, seller, number)? {
            Some(key) => key,
            None => return Ok(Json(Vec::new())),
        },
        _ => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "give fingerprint=HEX, or seller=ORG and number=N",
            ))
        }
    };
    let id: Option<DocId> = load(state.db.as_ref(), &key).map_err(ApiError::internal)?;
    let Some(id) = id else {
        return Ok(Json(Vec::new()));
    };
    let i: Invoice = doc(&state, DocKind::Invoice, id.as_str())?;
    Ok(Json(vis::filter(&caller.reader(), [i])))
}

/// The state key of `seller`'s invoice `number` (the contracts' (seller tax id, number)
/// identity); `None` when no such org is admitted. A number that cannot be an invoice
/// number is the caller's mistake.
fn number_key(state: &AppState, seller: &str, number: &str) -> ApiResult<Option<Vec<u8>>> {
    let seller = lianrong_primitives::OrgId::new(seller)
        .map_err(|e| ApiError::bad_request("invalid_id", e.to_string()))?;
    if number.chars().count() > 64 {
        return Err(ApiError::bad_request(
            "invalid_number",
            "an invoice number has at most 64 characters",
        ));
    }
    let canonical = lianrong_contracts::exec::invoices::canonical_number(number)
        .map_err(|reason| ApiError::bad_request("invalid_number", reason))?;
    let Some(org) = maybe_doc::<Org>(state, DocKind::Org, seller.as_str())? else {
        return Ok(None);
    };
    let identity = lianrong_contracts::exec::invoices::number_identity(&org.tax_id, &canonical);
    Ok(Some(keys::invoice_number(&identity)))
}

/// `GET /v1/receivables/{id}`.
#[utoipa::path(get, path = "/v1/receivables/{id}", tag = "documents", summary = "A receivable",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "document id: 1-64 of A-Z a-z 0-9 . _ -")),
    responses((status = 200, description = "A receivable", body = serde_json::Value), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn receivable(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Receivable>> {
    let r: Receivable = doc(&state, DocKind::Receivable, &id)?;
    readable(&caller, DocKind::Receivable, &id, r)
}

/// `GET /v1/financings/{id}`.
#[utoipa::path(get, path = "/v1/financings/{id}", tag = "documents", summary = "A financing, with its overdue figures as of the ledger's date",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "document id: 1-64 of A-Z a-z 0-9 . _ -")),
    responses((status = 200, description = "A financing: the record's fields (`overdue`: penalty terms, buy-back, write-off), and `overdue_figures` (days past due, outstanding advance, penalty accrued and the claim, as of the ledger's date or the day the penalty stopped) or `overdue_unavailable` (why not); both null for a financing never overdue", body = serde_json::Value), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn financing(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<lianrong_api_types::FinancingView>> {
    let f: Financing = doc(&state, DocKind::Financing, &id)?;
    let Json(f) = readable(&caller, DocKind::Financing, &id, f)?;
    super::overdue::financing_view(state.db.as_ref(), f).map(Json)
}

/// `GET /v1/settlements/{id}`: readable by the debtor, the payee, banks and auditors.
#[utoipa::path(get, path = "/v1/settlements/{id}", tag = "documents", summary = "A settlement (a debtor's payment to a holder and the holder's answer)",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "document id: 1-64 of A-Z a-z 0-9 . _ -")),
    responses((status = 200, description = "A settlement", body = serde_json::Value), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn settlement(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Settlement>> {
    let s: Settlement = doc(&state, DocKind::Settlement, &id)?;
    readable(&caller, DocKind::Settlement, &id, s)
}

/// `GET /v1/offers/{id}`.
#[utoipa::path(get, path = "/v1/offers/{id}", tag = "documents", summary = "A bank's offer, with its all-in annualised cost to the supplier",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "document id: 1-64 of A-Z a-z 0-9 . _ -")),
    responses((status = 200, description = "A bank's offer: the record's fields, and `all_in` (the all-in cost in percent a year and the figures it is computed from: as of its disbursement, or of the ledger's date today) or `all_in_unavailable` (why not)", body = serde_json::Value), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn offer(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<lianrong_api_types::OfferView>> {
    let o: Offer = doc(&state, DocKind::Offer, &id)?;
    let seen = readable(&caller, DocKind::Offer, &id, offer_of_financing(&state, o)?)?;
    super::pricing::offer_view(state.db.as_ref(), seen.0.offer).map(Json)
}

/// Whether `caller` may read the document `kind`/`id` (the rule of its own endpoint; a
/// missing document is a 404). Kinds with no endpoint of their own (governance records)
/// are for banks and auditors.
pub(super) fn may_read_doc(
    state: &AppState,
    caller: &Caller,
    kind: DocKind,
    id: &str,
) -> ApiResult<bool> {
    let reader = caller.reader();
    Ok(match kind {
        DocKind::Org => {
            doc::<Org>(state, kind, id)?;
            true
        }
        DocKind::Order => vis::may_read(&reader, &doc::<Order>(state, kind, id)?),
        DocKind::Shipment => {
            let s = doc::<Shipment>(state, kind, id)?;
            vis::may_read(&reader, &shipment_of_order(state, s)?)
        }
        DocKind::Invoice => vis::may_read(&reader, &doc::<Invoice>(state, kind, id)?),
        DocKind::Receivable => vis::may_read(&reader, &doc::<Receivable>(state, kind, id)?),
        DocKind::Financing => vis::may_read(&reader, &doc::<Financing>(state, kind, id)?),
        DocKind::Settlement => vis::may_read(&reader, &doc::<Settlement>(state, kind, id)?),
        DocKind::Approval => vis::may_read(&reader, &doc::<PendingApproval>(state, kind, id)?),
        DocKind::Programme => vis::may_read(&reader, &doc::<Programme>(state, kind, id)?),
        DocKind::Offer => {
            let o = doc::<Offer>(state, kind, id)?;
            vis::may_read(&reader, &offer_of_financing(state, o)?)
        }
        DocKind::WarehouseReceipt => {
            vis::may_read(&reader, &doc::<WarehouseReceipt>(state, kind, id)?)
        }
        DocKind::Loan => vis::may_read(&reader, &doc::<Loan>(state, kind, id)?),
        DocKind::Sale => vis::may_read(
            &reader,
            &doc::<lianrong_contracts::model::Sale>(state, kind, id)?,
        ),
        _ => reader.sees_everything(),
    })
}

/// A shipment with the parties of its order, who read it too.
fn shipment_of_order(state: &AppState, shipment: Shipment) -> ApiResult<ShipmentOfOrder> {
    let order = maybe_doc::<Order>(state, DocKind::Order, shipment.order.as_str())?;
    Ok(ShipmentOfOrder {
        shipment,
        order_parties: order.map(|o| vec![o.buyer, o.seller]).unwrap_or_default(),
    })
}

/// An offer with its financing's applicant, who reads it too.
fn offer_of_financing(state: &AppState, offer: Offer) -> ApiResult<OfferOfFinancing> {
    let f = maybe_doc::<Financing>(state, DocKind::Financing, offer.financing.as_str())?;
    Ok(OfferOfFinancing {
        offer,
        applicant: f.map(|f| f.applicant),
    })
}

/// `GET /v1/events`: server-sent events, one `block` event per finalized block. Banks
/// and auditors get every receipt; other orgs get the block header and their own
/// transactions' receipts.
#[utoipa::path(get, path = "/v1/events", tag = "events",
    summary = "Server-sent events: a `block` event (a BlockNotice) per finalized block, `lagged` when the subscriber fell behind",
    responses((status = 200, description = "event stream: each event as its name and data", content_type = "text/event-stream", body = inline(lianrong_api_types::schemas::StreamEvent)), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = state.commits.subscribe();
    let db = state.db.clone();
    let start = (rx, caller, db, false);
    let stream = futures::stream::unfold(start, |(mut rx, caller, db, ended)| async move {
        if ended {
            return None;
        }
        let ev = match rx.recv().await {
            // The credential is checked again on every block: a stream opened with a key
            // revoked since then gets one `revoked` event and ends.
            Ok(n) => match caller.still_authorised(db.as_ref()) {
                Ok(true) => SseEvent::default()
                    .event(event_names::BLOCK)
                    .json_data(view_notice(&n, &caller))
                    .unwrap_or_else(|_| SseEvent::default().comment("encoding error")),
                Ok(false) => {
                    let ev = SseEvent::default()
                        .event(event_names::REVOKED)
                        .data("the member key of this stream was revoked");
                    return Some((Ok(ev), (rx, caller, db, true)));
                }
                Err(e) => {
                    tracing::error!(error = %e, "event stream: reading the caller's key");
                    return None;
                }
            },
            // A slow subscriber skipped `n` blocks; it can re-read them from /v1/blocks.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => SseEvent::default()
                .event(event_names::LAGGED)
                .data(n.to_string()),
            Err(_) => return None,
        };
        Some((Ok(ev), (rx, caller, db, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn view_notice(n: &Arc<CommitNotice>, caller: &Caller) -> BlockNotice {
    let everything = caller.sees_everything();
    BlockNotice {
        height: n.height,
        block_hash: n.block_hash,
        time_ms: n.time_ms,
        state_root: n.state_root,
        tx_count: n.receipts.len() as u64,
        receipts: n
            .receipts
            .iter()
            .filter(|r| everything || r.signer == caller.org)
            .cloned()
            .collect(),
        ledger_events: caller.ledger_events(&n.ledger_events),
    }
}

/// `GET /v1/keys/{public_key}`: the org a member key acts for, whether it is active and
/// its next nonce (committed state), so a client can sign its next transaction. Banks
/// and auditors see every key; other orgs only their own (the same 404 otherwise).
#[utoipa::path(get, path = "/v1/keys/{public_key}", tag = "transactions",
    summary = "A member key's org, active flag and next nonce (own org's keys; banks and auditors: all)",
    params(("public_key" = String, Path, description = "hex Ed25519 public key (64 hex digits)", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = KeyInfo), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn key_info(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<KeyInfo>> {
    let public = lianrong_primitives::PublicKey::from_hex(&key)
        .map_err(|e| ApiError::bad_request("invalid_key", format!("{key:?}: {e}")))?;
    let record: lianrong_contracts::model::KeyRecord =
        load(state.db.as_ref(), &keys::member_key(&public))
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found(format!("member key {public}")))?;
    if !caller.sees_everything() && record.org != caller.org {
        return Err(ApiError::not_found(format!("member key {public}")));
    }
    let next_nonce: u64 = load(state.db.as_ref(), &keys::nonce(&public))
        .map_err(ApiError::internal)?
        .unwrap_or(0);
    Ok(Json(KeyInfo {
        public_key: public,
        org: record.org,
        active: record.active,
        next_nonce,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::testkit::{doc, World};
    use lianrong_contracts::Action;

    /// A faulty proposer's block holds a transaction whose signature fails: the block
    /// lists it as dropped, never among the executed ones a client then looks up.
    #[test]
    fn a_block_lists_only_what_it_executed() {
        let mut w = World::new();
        let good = w
            .sign("SUP-1", Action::AcceptOrder { order: doc("PO-1") })
            .signed()
            .clone();
        let mut forged = w
            .sign("SUP-2", Action::AcceptOrder { order: doc("PO-2") })
            .signed()
            .clone();
        forged.signature.0[0] ^= 1;
        let txs = vec![good.clone(), forged.clone()];
        let stored = [good.hash()];
        let (executed, dropped) =
            split_executed(&txs, |h| Ok(stored.contains(h))).expect("no read error");
        assert_eq!(executed, vec![good.hash()]);
        assert_eq!(dropped, vec![forged.hash()]);
    }
}
