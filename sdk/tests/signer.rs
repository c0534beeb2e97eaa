//! The signer against a mock node: nonces come from the node and advance, retries resend
//! the very same signed bytes, "duplicate" counts as submitted, refusals are typed, and
//! waiting for finality is bounded.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use lianrong_contracts::{ContractError, Event, Receipt, SignedTransaction};
use lianrong_primitives::{Hash, SecretKey};
use lianrong_sdk::{args, Auth, Client, ClientOptions, MemberKey, SdkError, Signer};
use serde_json::json;

const CHAIN: &str = "mock-chain";

/// What the mock answers to the next POST.
#[derive(Clone, Copy, Debug)]
enum Reply {
    /// Admit and commit at once with a successful receipt.
    Commit,
    /// Admit and commit with a refusal.
    Refuse,
    /// Admit; commit later (GET answers after `Mock::hidden_gets` 404s).
    Pending,
    /// 503 without admitting.
    Busy,
    /// 409 duplicate (and commit, as if an earlier attempt had got through).
    Duplicate,
    /// 409 stale nonce; the key's next nonce becomes `stale_to`.
    Stale,
}

#[derive(Default)]
struct Mock {
    next_nonce: u64,
    stale_to: u64,
    replies: VecDeque<Reply>,
    bodies: Vec<String>,
    nonces: Vec<u64>,
    committed: HashMap<Hash, (SignedTransaction, Receipt)>,
    hidden_gets: usize,
}

type Shared = Arc<Mutex<Mock>>;

fn err(status: StatusCode, code: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": format!("mock {code}")}})),
    )
        .into_response()
}

fn receipt(tx: &SignedTransaction, ok: bool) -> Receipt {
    Receipt {
        tx_hash: tx.hash(),
        signer: tx.tx.signer.org.clone(),
        outcome: if ok {
            Ok(vec![Event::OrderAccepted {
                order: args::doc_id("PO-1").unwrap(),
            }])
        } else {
            Err(ContractError::RevokedKey)
        },
    }
}

async fn submit(State(m): State<Shared>, body: Bytes) -> Response {
    let text = String::from_utf8(body.to_vec()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let raw = hex::decode(v["tx"].as_str().unwrap()).unwrap();
    let tx = SignedTransaction::decode(&raw).unwrap();
    let tx = tx
        .verify(CHAIN)
        .expect("the SDK signs for the node's chain")
        .signed()
        .clone();
    let mut m = m.lock().unwrap();
    m.bodies.push(text);
    m.nonces.push(tx.tx.nonce);
    let reply = m.replies.pop_front().unwrap_or(Reply::Commit);
    let hash = tx.hash();
    match reply {
        Reply::Busy => err(StatusCode::SERVICE_UNAVAILABLE, "mempool_full"),
        Reply::Stale => {
            m.next_nonce = m.stale_to;
            err(StatusCode::CONFLICT, "stale_nonce")
        }
        Reply::Duplicate => {
            let r = receipt(&tx, true);
            m.committed.insert(hash, (tx, r));
            err(StatusCode::CONFLICT, "duplicate")
        }
        Reply::Pending => {
            let r = receipt(&tx, true);
            m.committed.insert(hash, (tx, r));
            (
                StatusCode::ACCEPTED,
                Json(json!({"hash": hash, "status": "pending"})),
            )
                .into_response()
        }
        Reply::Commit | Reply::Refuse => {
            let r = receipt(&tx, matches!(reply, Reply::Commit));
            m.committed.insert(hash, (tx, r.clone()));
            Json(json!({"hash": hash, "status": "committed", "height": 3, "receipt": r}))
                .into_response()
        }
    }
}

async fn tx(State(m): State<Shared>, Path(hash): Path<String>) -> Response {
    let mut m = m.lock().unwrap();
    let hash = Hash::from_hex(&hash).unwrap();
    if m.hidden_gets > 0 {
        m.hidden_gets -= 1;
        return err(StatusCode::NOT_FOUND, "not_found");
    }
    match m.committed.get(&hash) {
        None => err(StatusCode::NOT_FOUND, "not_found"),
        Some((t, r)) => Json(json!({
            "hash": hash, "status": "committed", "height": 4, "index": 0,
            "signer": t.tx.signer, "nonce": t.tx.nonce, "action": t.tx.action,
            "action_name": t.tx.action.name(), "receipt": r,
        }))
        .into_response(),
    }
}

async fn key(State(m): State<Shared>, Path(k): Path<String>) -> Response {
    let m = m.lock().unwrap();
    Json(json!({"public_key": k, "org": "SUP-1", "active": true, "next_nonce": m.next_nonce}))
        .into_response()
}

async fn start(mock: Mock, opts: ClientOptions) -> (Shared, Signer) {
    let shared: Shared = Arc::new(Mutex::new(mock));
    let app = Router::new()
        .route("/v1/transactions", post(submit))
        .route("/v1/transactions/{hash}", get(tx))
        .route("/v1/keys/{key}", get(key))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let key = MemberKey::new(SecretKey::from_seed([3; 32]), None, Some(CHAIN.into()));
    let client = Client::with_options(&url, Auth::Key(key.clone()), opts).unwrap();
    let signer = Signer::new(client, key).await.unwrap();
    (shared, signer)
}

fn opts() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(2),
        retries: 3,
        backoff: Duration::from_millis(10),
        commit_timeout: Duration::from_secs(3),
        ..ClientOptions::default()
    }
}

fn po() -> lianrong_contracts::model::DocId {
    args::doc_id("PO-1").unwrap()
}

#[tokio::test]
async fn nonces_start_at_the_nodes_count_and_advance() {
    let (m, signer) = start(
        Mock {
            next_nonce: 5,
            ..Mock::default()
        },
        opts(),
    )
    .await;
    assert_eq!(signer.org().as_str(), "SUP-1", "org resolved from the node");
    let done = signer.accept_order(po()).await.unwrap();
    assert_eq!(done.height, 3);
    assert!(matches!(done.events[0], Event::OrderAccepted { .. }));
    signer.accept_order(po()).await.unwrap();
    assert_eq!(m.lock().unwrap().nonces, [5, 6]);
}

#[tokio::test]
async fn a_retry_resends_the_same_bytes_and_duplicate_counts_as_submitted() {
    let (m, signer) = start(
        Mock {
            replies: [Reply::Busy, Reply::Duplicate].into(),
            ..Mock::default()
        },
        opts(),
    )
    .await;
    let done = signer.accept_order(po()).await.unwrap();
    assert_eq!(
        done.height, 4,
        "outcome read back from GET /v1/transactions"
    );
    let m = m.lock().unwrap();
    assert_eq!(m.bodies.len(), 2);
    assert_eq!(m.bodies[0], m.bodies[1], "a retry must not re-sign");
}

#[tokio::test]
async fn a_refusal_by_the_ledger_is_a_typed_error() {
    let (_, signer) = start(
        Mock {
            replies: [Reply::Refuse].into(),
            ..Mock::default()
        },
        opts(),
    )
    .await;
    let err = signer.accept_order(po()).await.unwrap_err();
    assert!(
        matches!(err, SdkError::Refused { height: 3, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), Some("revoked_key"));
}

#[tokio::test]
async fn a_stale_nonce_resyncs_from_the_node_and_re_signs() {
    let (m, signer) = start(
        Mock {
            next_nonce: 1,
            stale_to: 9,
            replies: [Reply::Stale].into(),
            ..Mock::default()
        },
        opts(),
    )
    .await;
    signer.accept_order(po()).await.unwrap();
    signer.accept_order(po()).await.unwrap();
    assert_eq!(m.lock().unwrap().nonces, [1, 9, 10]);
}

#[tokio::test]
async fn a_pending_transaction_is_polled_until_final() {
    let (_, signer) = start(
        Mock {
            replies: [Reply::Pending].into(),
            hidden_gets: 2,
            ..Mock::default()
        },
        opts(),
    )
    .await;
    let done = signer.accept_order(po()).await.unwrap();
    assert_eq!(done.height, 4);
}

#[tokio::test]
async fn waiting_for_finality_is_bounded() {
    let (_, signer) = start(
        Mock {
            replies: [Reply::Pending].into(),
            hidden_gets: usize::MAX,
            ..Mock::default()
        },
        ClientOptions {
            commit_timeout: Duration::from_millis(600),
            ..opts()
        },
    )
    .await;
    let start = Instant::now();
    let err = signer.accept_order(po()).await.unwrap_err();
    assert!(matches!(err, SdkError::NotFinal { .. }), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn submit_all_fills_blocks_without_waiting_between_actions() {
    let (m, signer) = start(
        Mock {
            next_nonce: 2,
            replies: [Reply::Pending, Reply::Pending, Reply::Pending].into(),
            ..Mock::default()
        },
        opts(),
    )
    .await;
    let actions = (0..3)
        .map(|_| lianrong_contracts::Action::AcceptOrder { order: po() })
        .collect();
    let results = signer.submit_all(actions).await;
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    assert_eq!(m.lock().unwrap().nonces, [2, 3, 4]);
    assert!(m.lock().unwrap().bodies.iter().all(|b| !b.is_empty()));
}
