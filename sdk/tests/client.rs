//! The client against a mock node (axum on loopback): the failures a user meets -- a node
//! that is down, slow, refusing or flaky -- come back quickly as typed errors, and
//! requests are signed the way the node verifies them.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use lianrong_contracts::{Action, Receipt, SignedTransaction, Transaction};
use lianrong_primitives::request::{request_signing_bytes, H_KEY, H_SIG, H_TIME};
use lianrong_primitives::{PublicKey, SecretKey, Signature};
use lianrong_sdk::{
    args, Auth, BlockNotice, Client, ClientOptions, MemberKey, NodeEvent, SdkError, SubmitResponse,
    SubmitStatus,
};
use serde_json::json;

const CHAIN: &str = "mock-chain";

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn status_json() -> serde_json::Value {
    json!({
        "chain_id": CHAIN, "height": 7, "last_block_hash": null, "state_root": null,
        "last_finalized_at_ms": 1, "validators": [], "peers": [], "round": 9,
        "mempool": 0, "sync": {"syncing": false},
        "params": lianrong_sdk::contracts::model::Params::default()
    })
}

fn fast(retries: u32) -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_millis(400),
        connect_timeout: Duration::from_millis(400),
        retries,
        backoff: Duration::from_millis(10),
        ..ClientOptions::default()
    }
}

fn token() -> Auth {
    Auth::Token("secret-token".into())
}

#[tokio::test]
async fn a_node_that_is_down_is_a_quick_connection_error() {
    // A port that was free a moment ago and has nothing listening now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client =
        Client::with_options(&format!("http://127.0.0.1:{port}"), token(), fast(2)).unwrap();
    let start = Instant::now();
    let err = client.status().await.unwrap_err();
    assert!(matches!(err, SdkError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains("cannot connect"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_slow_node_times_out_instead_of_hanging() {
    let app = Router::new().route(
        "/v1/status",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Json(status_json())
        }),
    );
    let url = serve(app).await;
    let client = Client::with_options(&url, token(), fast(1)).unwrap();
    let start = Instant::now();
    let err = client.status().await.unwrap_err();
    assert!(matches!(err, SdkError::Timeout { .. }), "{err:?}");
    // Two attempts of 400 ms each plus a short pause: bounded, nowhere near 30 s.
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn node_errors_come_back_typed_with_code_and_message() {
    let app = Router::new()
        .route(
            "/v1/orders/{id}",
            get(|| async {
                (
                    StatusCode::NOT_FOUND,
                    Json(json!({"error": {"code": "not_found", "message": "order PO-9 not found"}})),
                )
            }),
        )
        .route(
            "/v1/status",
            get(|| async {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({"error": {"code": "internal", "message": "internal error; see the node's log"}})),
                )
            }),
        );
    let url = serve(app).await;
    let client = Client::with_options(&url, token(), fast(3)).unwrap();
    let err = client
        .order(&lianrong_sdk::args::doc_id("PO-9").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    assert_eq!(err.status(), Some(404));
    assert!(err.is_not_found());
    assert!(err.to_string().contains("order PO-9 not found"), "{err}");
    let err = client.status().await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(500), Some("internal")));
    // An unknown route (no JSON body) still gives a status and a code.
    let err = client
        .get_json::<serde_json::Value>("/v1/nowhere")
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(404), Some("http_404")));
}

#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

#[tokio::test]
async fn overload_is_retried_until_success_and_mistakes_are_not() {
    let hits = Counter::default();
    let app = Router::new()
        .route(
            "/v1/status",
            get(|State(c): State<Counter>| async move {
                if c.0.fetch_add(1, Ordering::SeqCst) < 2 {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        Json(json!({"error": {"code": "unavailable", "message": "busy"}})),
                    )
                        .into_response()
                } else {
                    Json(status_json()).into_response()
                }
            }),
        )
        .route(
            "/v1/orgs",
            get(|State(c): State<Counter>| async move {
                c.0.fetch_add(100, Ordering::SeqCst);
                (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": {"code": "invalid_org", "message": "bad"}})),
                )
            }),
        )
        .with_state(hits.clone());
    let url = serve(app).await;
    let client = Client::with_options(&url, token(), fast(3)).unwrap();
    let s = client.status().await.unwrap();
    assert_eq!((s.chain_id.as_str(), s.height), (CHAIN, 7));
    assert_eq!(hits.0.load(Ordering::SeqCst), 3, "two 503s, then success");
    assert_eq!(client.orgs().await.unwrap_err().code(), Some("invalid_org"));
    assert_eq!(hits.0.load(Ordering::SeqCst), 103, "a 400 is not retried");

    // With too few retries the last failure is returned.
    hits.0.store(0, Ordering::SeqCst);
    let client = Client::with_options(&url, token(), fast(1)).unwrap();
    assert_eq!(
        client.status().await.unwrap_err().code(),
        Some("unavailable")
    );
    assert_eq!(hits.0.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn oversized_answers_are_refused() {
    let app = Router::new().route("/v1/orgs", get(|| async { "x".repeat(100_000) }));
    let url = serve(app).await;
    let opts = ClientOptions {
        max_response_bytes: 1024,
        ..fast(0)
    };
    let client = Client::with_options(&url, token(), opts).unwrap();
    let err = client.orgs().await.unwrap_err();
    assert!(matches!(err, SdkError::BadResponse { .. }), "{err:?}");
    assert!(err.to_string().contains("limit"), "{err}");
}

/// Checks a signed request exactly as the node's `auth.rs` does.
fn check_signature(headers: &HeaderMap, method: &str, uri: &Uri) -> Result<PublicKey, String> {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .ok_or(format!("missing {n}"))
    };
    let key = PublicKey::from_hex(h(H_KEY)?).map_err(|e| e.to_string())?;
    let sig = Signature::from_hex(h(H_SIG)?).map_err(|e| e.to_string())?;
    let time: u64 = h(H_TIME)?.parse().map_err(|_| "time".to_string())?;
    let pq = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    // The node's address as the client named it: the Host header it signed.
    let host = h("host")?;
    let msg = request_signing_bytes(CHAIN, host, method, pq, time);
    lianrong_primitives::verify(&key, &msg, &sig).map_err(|e| e.to_string())?;
    Ok(key)
}

#[tokio::test]
async fn key_requests_are_signed_as_the_node_verifies_them() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let app = Router::new()
        .route(
            "/v1/receivables",
            get(
                |State(seen): State<Arc<Mutex<Vec<String>>>>, headers: HeaderMap, uri: Uri| async move {
                    match check_signature(&headers, "GET", &uri) {
                        Ok(k) => {
                            seen.lock().unwrap().push(format!("{k} {uri}"));
                            Json(json!({"items": []})).into_response()
                        }
                        Err(e) => (
                            StatusCode::UNAUTHORIZED,
                            Json(json!({"error": {"code": "unauthorized", "message": e}})),
                        )
                            .into_response(),
                    }
                },
            ),
        )
        .with_state(seen.clone());
    let url = serve(app).await;
    let secret = SecretKey::from_seed([5; 32]);
    let key = MemberKey::new(secret.clone(), None, Some(CHAIN.into()));
    let client = Client::with_options(&url, Auth::Key(key), fast(0)).unwrap();
    let filter = lianrong_sdk::ReceivableFilter {
        holder: Some(lianrong_sdk::args::org_id("SUP-1").unwrap()),
        status: Some(lianrong_contracts::model::ReceivableStatus::Active),
        ..Default::default()
    };
    assert!(client.receivables(&filter).await.unwrap().is_empty());
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [format!(
            "{} /v1/receivables?holder=SUP-1&status=active&limit=500",
            secret.public()
        )]
    );

    // Signed for another chain: the node refuses it.
    let other = MemberKey::new(secret, None, Some("other-chain".into()));
    let client = Client::with_options(&url, Auth::Key(other), fast(0)).unwrap();
    let err = client.receivables(&filter).await.unwrap_err();
    assert_eq!(err.code(), Some("unauthorized"));

    // Without a chain id a key cannot sign: a clear error, no request sent.
    let nochain = MemberKey::new(SecretKey::from_seed([6; 32]), None, None);
    let client = Client::with_options(&url, Auth::Key(nochain), fast(0)).unwrap();
    let err = client.status().await.unwrap_err();
    assert!(err.to_string().contains("chain id"), "{err}");
}

#[tokio::test]
async fn tokens_are_sent_as_bearer_and_the_chain_id_is_learned() {
    let app = Router::new().route(
        "/v1/status",
        get(|headers: HeaderMap| async move {
            if headers.get("authorization").and_then(|v| v.to_str().ok())
                == Some("Bearer secret-token")
            {
                Json(status_json()).into_response()
            } else {
                StatusCode::UNAUTHORIZED.into_response()
            }
        }),
    );
    let url = serve(app).await;
    let client = Client::with_options(&url, token(), fast(0)).unwrap();
    assert_eq!(client.chain_id().await.unwrap(), CHAIN);
    let bad = Client::with_options(&url, Auth::Token("wrong".into()), fast(0)).unwrap();
    assert_eq!(bad.status().await.unwrap_err().status(), Some(401));
}

#[tokio::test]
async fn the_event_stream_yields_parsed_blocks() {
    let body = format!(
        ": keep-alive\n\nevent: block\ndata: {}\n\nevent: lagged\ndata: 4\n\n",
        json!({"height": 12, "block_hash": "11".repeat(32), "time_ms": 5,
               "state_root": "22".repeat(32), "tx_count": 0, "receipts": [], "ledger_events": []})
    );
    let app = Router::new().route(
        "/v1/events",
        get(move || {
            let body = body.clone();
            async move { ([("content-type", "text/event-stream")], Bytes::from(body)) }
        }),
    );
    let url = serve(app).await;
    let client = Client::with_options(&url, token(), fast(0)).unwrap();
    let events: Vec<_> = client.events().await.unwrap().collect().await;
    assert_eq!(events.len(), 2, "{events:?}");
    match &events[0] {
        Ok(NodeEvent::Block(b)) => assert_eq!((b.height, b.tx_count), (12, 0)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(events[1], Ok(NodeEvent::Lagged { skipped: 4 })));
}

#[tokio::test]
async fn a_silent_event_stream_ends_with_a_timeout() {
    let app = Router::new().route(
        "/v1/events",
        get(|| async {
            let stream = futures::stream::pending::<Result<Bytes, std::io::Error>>();
            (
                [("content-type", "text/event-stream")],
                axum::body::Body::from_stream(stream),
            )
        }),
    );
    let url = serve(app).await;
    let opts = ClientOptions {
        event_idle_timeout: Duration::from_millis(300),
        ..fast(0)
    };
    let client = Client::with_options(&url, token(), opts).unwrap();
    let mut s = client.events().await.unwrap();
    let start = Instant::now();
    assert!(matches!(
        s.next().await,
        Some(Err(SdkError::Timeout { .. }))
    ));
    assert!(s.next().await.is_none(), "the stream ends after an error");
    assert!(start.elapsed() < Duration::from_secs(2));
}

/// `n` signed transactions of one key, nonces 0.. (any action will do for the mock).
fn signed(n: u64) -> Vec<SignedTransaction> {
    let key = SecretKey::from_seed([9; 32]);
    (0..n)
        .map(|nonce| {
            Transaction {
                chain_id: CHAIN.into(),
                signer: lianrong_contracts::Signer {
                    org: args::org_id("CORE-A").unwrap(),
                    key: key.public(),
                },
                nonce,
                action: Action::CancelOrder {
                    order: args::doc_id(&format!("PO-{nonce}")).unwrap(),
                },
            }
            .sign(&key)
        })
        .collect()
}

/// What the mock batch route saw: content types and bodies, one per request.
type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

fn record(seen: &Seen, headers: &HeaderMap, body: &Bytes) -> Vec<SignedTransaction> {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    seen.lock().unwrap().push((ct, body.to_vec()));
    lianrong_primitives::decode(body, 1 << 20).unwrap()
}

#[tokio::test]
async fn a_batch_is_sent_as_the_payload_encoding_and_answered_per_transaction() {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route(
            "/v1/transactions/batch",
            post(
                |State(seen): State<Seen>, headers: HeaderMap, body: Bytes| async move {
                    let txs = record(&seen, &headers, &body);
                    let refused = |i: usize, code: &str| {
                        SubmitResponse::refused(txs[i].hash(), code.into(), format!("mock {code}"))
                    };
                    Json(vec![
                        SubmitResponse::pending(txs[0].hash()),
                        refused(1, "duplicate"),
                        refused(2, "nonce_taken"),
                    ])
                },
            ),
        )
        .with_state(seen.clone());
    let url = serve(app).await;
    let client = Client::with_options(&url, token(), fast(0)).unwrap();
    let txs = signed(3);
    let answers = client.submit_batch(&txs).await.unwrap();
    let (ct, body) = seen.lock().unwrap()[0].clone();
    assert_eq!(ct, "application/octet-stream");
    let sent: Vec<SignedTransaction> = lianrong_primitives::decode(&body, 1 << 20).unwrap();
    assert_eq!(
        sent, txs,
        "the block payload encoding of the list, in order"
    );
    let hashes: Vec<_> = txs.iter().map(SignedTransaction::hash).collect();
    assert_eq!(answers.iter().map(|a| a.hash).collect::<Vec<_>>(), hashes);
    // Admitted; a duplicate counts as submitted, as for a single submit; the rest keep
    // the node's code and message.
    assert_eq!(answers[0].status, SubmitStatus::Pending);
    assert_eq!(answers[1], SubmitResponse::pending(hashes[1]));
    assert_eq!(answers[2].status, SubmitStatus::Refused);
    assert_eq!(answers[2].code.as_deref(), Some("nonce_taken"));
    assert_eq!(answers[2].message.as_deref(), Some("mock nonce_taken"));

    // Nothing to send: no request.
    assert!(client.submit_batch(&[]).await.unwrap().is_empty());
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_batch_answer_that_does_not_match_the_transactions_is_refused() {
    // Always one answer, for a transaction nobody sent.
    let app = Router::new().route(
        "/v1/transactions/batch",
        post(|| async {
            Json(vec![SubmitResponse::pending(lianrong_primitives::sha256(
                b"other",
            ))])
        }),
    );
    let url = serve(app).await;
    let client = Client::with_options(&url, token(), fast(0)).unwrap();
    let err = client.submit_batch(&signed(2)).await.unwrap_err();
    assert!(matches!(err, SdkError::BadResponse { .. }), "{err:?}");
    assert!(err.to_string().contains("1 answers for 2"), "{err}");
    let err = client.submit_batch(&signed(1)).await.unwrap_err();
    assert!(matches!(err, SdkError::BadResponse { .. }), "{err:?}");
    assert!(err.to_string().contains("answer 0 is for"), "{err}");
}

#[tokio::test]
async fn a_busy_node_gets_the_same_batch_again_and_a_refused_batch_is_typed() {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route(
            "/v1/transactions/batch",
            post(
                |State(seen): State<Seen>, headers: HeaderMap, body: Bytes| async move {
                    let txs = record(&seen, &headers, &body);
                    if txs.len() > 2 {
                        return (
                            StatusCode::BAD_REQUEST,
                            Json(json!({"error": {"code": "too_many", "message": "too many"}})),
                        )
                            .into_response();
                    }
                    if seen.lock().unwrap().len() < 3 {
                        return (
                            StatusCode::SERVICE_UNAVAILABLE,
                            Json(json!({"error": {"code": "unavailable", "message": "busy"}})),
                        )
                            .into_response();
                    }
                    let answers: Vec<_> = txs
                        .iter()
                        .map(|t| SubmitResponse::pending(t.hash()))
                        .collect();
                    Json(answers).into_response()
                },
            ),
        )
        .with_state(seen.clone());
    let url = serve(app).await;
    let client = Client::with_options(&url, token(), fast(3)).unwrap();
    let answers = client.submit_batch(&signed(2)).await.unwrap();
    assert!(answers.iter().all(|a| a.status == SubmitStatus::Pending));
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3, "two 503s, then success");
        assert!(seen.iter().all(|s| s == &seen[0]), "the very same bytes");
    }
    let err = client.submit_batch(&signed(3)).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(400), Some("too_many")));
    assert_eq!(seen.lock().unwrap().len(), 4, "a 400 is not retried");
}

#[tokio::test]
async fn block_events_carry_height_time_and_receipt_hashes_across_chunks() {
    let txs = signed(40);
    let notice = BlockNotice {
        height: 3,
        block_hash: lianrong_primitives::sha256(b"block"),
        time_ms: 1_700_000_000_000,
        state_root: lianrong_primitives::sha256(b"root"),
        tx_count: txs.len() as u64,
        receipts: txs
            .iter()
            .map(|t| Receipt {
                tx_hash: t.hash(),
                signer: t.tx.signer.org.clone(),
                outcome: Ok(vec![]),
            })
            .collect(),
        ledger_events: vec![],
    };
    let wire = format!(
        "event: block\ndata: {}\n\n",
        serde_json::to_string(&notice).unwrap()
    );
    // Small chunks, as a large block arrives.
    let chunks: Vec<Bytes> = wire
        .as_bytes()
        .chunks(97)
        .map(Bytes::copy_from_slice)
        .collect();
    let app = Router::new().route(
        "/v1/events",
        get(move || {
            let chunks = chunks.clone();
            async move {
                let chunks = chunks.into_iter().map(Ok::<_, std::io::Error>);
                let stream = futures::stream::iter(chunks);
                (
                    [("content-type", "text/event-stream")],
                    axum::body::Body::from_stream(stream),
                )
            }
        }),
    );
    let url = serve(app).await;
    let client = Client::with_options(&url, token(), fast(0)).unwrap();
    let events: Vec<_> = client.events().await.unwrap().collect().await;
    match events.as_slice() {
        [Ok(NodeEvent::Block(b))] => {
            assert_eq!((b.height, b.time_ms), (3, 1_700_000_000_000));
            let hashes: Vec<_> = b.receipts.iter().map(|r| r.tx_hash).collect();
            assert_eq!(
                hashes,
                txs.iter().map(SignedTransaction::hash).collect::<Vec<_>>()
            );
        }
        other => panic!("{other:?}"),
    }
}

/// The node accepts a signed request once (a replay is refused), and Ed25519 signatures are
/// deterministic: requests for the same path signed in the same millisecond -- concurrent
/// reads, or a retry right after a failure -- were byte-identical, and all but the first
/// were refused. Each carries its own time now, retries included.
#[tokio::test]
async fn every_signed_request_is_unique_even_in_the_same_millisecond() {
    /// The signatures the mock node saw, and how many requests it answered.
    type Seen = (Arc<Mutex<Vec<String>>>, Arc<AtomicUsize>);
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/v1/status",
            get(
                |State((seen, calls)): State<Seen>, headers: HeaderMap, uri: Uri| async move {
                    check_signature(&headers, "GET", &uri).unwrap();
                    let sig = headers[H_SIG].to_str().unwrap().to_string();
                    let mut seen = seen.lock().unwrap();
                    if seen.contains(&sig) {
                        let e = json!({"error": {"code": "unauthorized", "message": "replayed"}});
                        return (StatusCode::UNAUTHORIZED, Json(e)).into_response();
                    }
                    seen.push(sig);
                    // The first call fails the way a busy node does: the client retries.
                    if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                        let e = json!({"error": {"code": "unavailable", "message": "busy"}});
                        return (StatusCode::SERVICE_UNAVAILABLE, Json(e)).into_response();
                    }
                    Json(status_json()).into_response()
                },
            ),
        )
        .with_state((seen.clone(), calls.clone()));
    let url = serve(app).await;
    let key = MemberKey::new(SecretKey::from_seed([7; 32]), None, Some(CHAIN.into()));
    let opts = ClientOptions {
        backoff: Duration::ZERO,
        ..fast(1)
    };
    let client = Client::with_options(&url, Auth::Key(key), opts).unwrap();
    client.status().await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one retry");
    let all = futures::future::join_all((0..32).map(|_| client.status())).await;
    for r in all {
        r.unwrap();
    }
    assert_eq!(seen.lock().unwrap().len(), 34, "every request signed anew");
}
