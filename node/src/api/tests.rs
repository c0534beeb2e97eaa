//! The API through its real router over a genesis ledger: what a client meets at the edges
//! (errors axum answers before a handler runs, malformed paths, replayed signed requests).
//! Found by schemathesis against a live node (`tests/tests/api_schema.rs`), pinned here.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use lianrong_contracts::testkit;
use serde_json::Value;

use super::auth::{request_signing_bytes, H_KEY, H_SIG, H_TIME};
use super::tests_support::{accept_order, token, App};

/// An error answer in the documented shape: `{"error": {"code", "message"}}`, nothing
/// else, both non-empty.
fn assert_error_body(body: &Value, code: &str) {
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
}

/// The finding: a path parameter that is not UTF-8 once percent-decoded (`%FF`) was
/// answered by axum's own rejection, 400 in plain text, not the documented error.
#[tokio::test]
async fn a_path_that_is_not_utf8_is_a_json_error() {
    let app = App::new();
    for path in [
        "/v1/orders/%FF",
        "/v1/receivables/%C3%28/history",
        "/v1/transactions/%FF",
        "/v1/proofs/invoice/%FF",
    ] {
        let (status, body) = app.get(path, "AUDIT").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_error_body(&body, "invalid_path");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("UTF-8"),
            "{path}: {body}"
        );
    }
}

/// The finding: a body over `[api] max_body_bytes` was refused with 413 in plain text,
/// a method a route does not take with 405 and an empty body, an unknown route with 404
/// and an empty body.
#[tokio::test]
async fn errors_axum_answers_itself_follow_the_error_schema() {
    let app = App::new();
    let big = Request::post("/v1/transactions")
        .header("authorization", format!("Bearer {}", token("AUDIT")))
        .header("content-type", "application/octet-stream")
        .body(Body::from(vec![0u8; 100_000]))
        .unwrap();
    let (status, body) = app.send(big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_error_body(&body, "too_large");

    let delete = Request::delete("/v1/status")
        .header("authorization", format!("Bearer {}", token("AUDIT")))
        .body(Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(app.router.clone(), delete)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let allow = resp.headers().get("allow").cloned();
    assert!(
        allow
            .as_ref()
            .is_some_and(|a| a.to_str().unwrap().contains("GET")),
        "the Allow header stays: {allow:?}"
    );
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_error_body(&body, "method_not_allowed");
    assert!(body["error"]["message"].as_str().unwrap().contains("GET"));

    let (status, body) = app.get("/v1/no-such-route", "AUDIT").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error_body(&body, "not_found");
}

/// Ids that cannot exist are the caller's mistake, named as such (not a 404 that reads
/// as "try later"), and the same rule the OpenAPI document states as their pattern.
#[tokio::test]
async fn malformed_ids_are_refused_naming_the_rule() {
    let app = App::new();
    for (path, code) in [
        ("/v1/orders/PO%20ONE", "invalid_id"),
        ("/v1/orgs/sup-1", "invalid_id"),
        ("/v1/transactions/abc", "invalid_hash"),
        ("/v1/keys/xyz", "invalid_key"),
        ("/v1/proofs/invoices/INV-1", "invalid_kind"),
    ] {
        let (status, body) = app.get(path, "AUDIT").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_error_body(&body, code);
    }
    let (status, body) = app.get("/v1/orders/PO-1", "AUDIT").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a well-formed id: {body}");
}

/// A history proof's page cursor is a position (`HEIGHT.TX.SEQ`, the `history_next` of
/// the page before) and pages a history only, a receivable's steps' a lineage member and
/// a position: anything else is named back, never read as the first page.
#[tokio::test]
async fn a_malformed_history_cursor_is_refused_naming_the_form() {
    let app = App::new();
    let proof = "/v1/proofs/org/BANK-A";
    // A receivable's steps page by `MEMBER:HEIGHT.TX.SEQ` (the `next` of the page before).
    let steps = "/v1/receivables/RCV-1/history";
    for (route, query, says) in [
        (proof, "?of=history&after=12", "HEIGHT.TX.SEQ"),
        (proof, "?of=history&after=1.2.3.4", "HEIGHT.TX.SEQ"),
        (proof, "?of=history&after=-1.2.3", "HEIGHT.TX.SEQ"),
        (proof, "?after=1.2.3", "needs of=history"),
        (steps, "?after=1.2.3", "MEMBER:HEIGHT.TX.SEQ"),
        (steps, "?after=x:1.2.3", "MEMBER:HEIGHT.TX.SEQ"),
        (steps, "?after=0:1.2", "MEMBER:HEIGHT.TX.SEQ"),
    ] {
        let path = format!("{route}{query}");
        let (status, body) = app.get(&path, "AUDIT").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_error_body(&body, "invalid_query");
        assert!(body.to_string().contains(says), "{path}: {body}");
    }
}

/// A request signed by SUP-1's member key for this node (`127.0.0.1:8080`) at `time`.
fn signed_get(path: &str, time: u64) -> Request<Body> {
    let key = testkit::member_key("SUP-1");
    let authority = "127.0.0.1:8080";
    let msg = request_signing_bytes(testkit::CHAIN_ID, authority, "GET", path, time);
    Request::get(path)
        .header("host", authority)
        .header(H_KEY, key.public().to_hex())
        .header(H_TIME, time.to_string())
        .header(H_SIG, key.sign(&msg).to_hex())
        .body(Body::empty())
        .unwrap()
}

/// The finding: a signed request could be replayed at the node it was signed for, as
/// often as wanted, for the five minutes its time stays valid. Now it is accepted once;
/// the same request signed anew (a new time) is accepted again.
#[tokio::test]
async fn a_signed_request_is_accepted_once() {
    let app = App::new();
    let now = super::now_ms();
    let (status, body) = app.send(signed_get("/v1/status", now)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.send(signed_get("/v1/status", now)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "replayed: {body}");
    assert_error_body(&body, "unauthorized");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{body}"
    );
    let (status, body) = app.send(signed_get("/v1/status", now + 1)).await;
    assert_eq!(status, StatusCode::OK, "signed anew: {body}");
    // A refused request (its signature does not verify) takes no room.
    let mut forged = signed_get("/v1/status", now + 2);
    forged.headers_mut().insert(H_TIME, (now + 3).into());
    let (status, _) = app.send(forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.state.seen_requests.len(), 2);
}

/// The finding: the proof of an org's record answers 403 to another org (which reads its
/// identifiers masked), a status the document did not list for the operation.
#[tokio::test]
async fn the_403_of_a_proof_of_another_orgs_record_is_documented() {
    let app = App::new();
    let (status, body) = app.get("/v1/proofs/org/SUP-1", "SUP-3").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error_body(&body, "forbidden");
    let doc = super::tests_support::document();
    let responses = &doc["paths"]["/v1/proofs/{kind}/{id}"]["get"]["responses"];
    assert!(responses["403"].is_object(), "{responses}");
}

/// The parameter of `method path` named `name`, as the document describes it.
fn parameter(doc: &Value, method: &str, path: &str, name: &str) -> Value {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
}

/// The finding (schemathesis, every role): the document called these parameters plain
/// strings, so values it allowed (`/v1/transactions/0`, `?of=`, `?holder=`,
/// `?fingerprint=`) were refused with 400, and a raw body was "an array of integers". Each
/// now states the rule the server parses it by.
#[test]
fn the_document_states_the_rules_the_server_parses_by() {
    let doc = super::tests_support::document();
    let hex64 = "^[0-9a-fA-F]{64}$";
    for (path, name) in [
        ("/v1/transactions/{hash}", "hash"),
        ("/v1/keys/{public_key}", "public_key"),
        ("/v1/invoices", "fingerprint"),
    ] {
        let p = parameter(&doc, "get", path, name);
        assert_eq!(p["schema"]["pattern"], hex64, "{path} {name}: {p}");
    }
    for name in ["holder", "debtor"] {
        let p = parameter(&doc, "get", "/v1/receivables", name);
        assert_eq!(p["schema"]["pattern"], "^[A-Z][A-Z0-9-]{1,31}$", "{p}");
    }
    let status = parameter(&doc, "get", "/v1/receivables", "status");
    assert_eq!(
        status["schema"]["enum"],
        serde_json::json!(["active", "overdue", "split", "settled"])
    );
    let kinds = parameter(&doc, "get", "/v1/proofs/{kind}/{id}", "kind");
    let names: Vec<&str> = lianrong_contracts::DocKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(kinds["schema"]["enum"], serde_json::json!(names));
    let of = parameter(&doc, "get", "/v1/proofs/{kind}/{id}", "of");
    assert_eq!(
        of["schema"]["enum"],
        serde_json::json!(["document", "history"])
    );
    let wait = parameter(&doc, "post", "/v1/transactions", "wait");
    assert_eq!(wait["schema"]["pattern"], "^commit$");
    for path in ["/v1/transactions", "/v1/transactions/batch"] {
        let raw = &doc["paths"][path]["post"]["requestBody"]["content"]["application/octet-stream"]
            ["schema"];
        assert_eq!(raw["type"], "string", "{path}: {raw}");
        assert_eq!(raw["format"], "binary", "{path}: {raw}");
    }
}

/// The finding: the event stream was documented as one string, while each event is an
/// `event` name with its `data`; and a `wait` other than `commit` was taken silently as
/// "do not wait".
#[tokio::test]
async fn events_are_documented_one_by_one_and_wait_takes_only_commit() {
    let doc = super::tests_support::document();
    let stream = &doc["paths"]["/v1/events"]["get"]["responses"]["200"]["content"]
        ["text/event-stream"]["schema"];
    let events: Vec<&Value> = stream["oneOf"]
        .as_array()
        .unwrap_or_else(|| panic!("{stream}"))
        .iter()
        .map(|e| &e["properties"]["event"]["enum"][0])
        .collect();
    assert_eq!(events, [&"block", &"lagged", &"revoked"]);

    let app = App::new();
    let req = Request::post("/v1/transactions?wait=comit")
        .header("authorization", format!("Bearer {}", token("AUDIT")))
        .header("content-type", "application/json")
        .body(Body::from("{\"tx\": \"00\"}"))
        .unwrap();
    let (status, body) = app.send(req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error_body(&body, "invalid_query");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("commit"),
        "{body}"
    );
}

/// A value the document allows is never refused as malformed: an upper-case hash of a
/// transaction this node does not have is a 404, not a 400.
#[tokio::test]
async fn a_value_the_document_allows_is_not_refused_as_malformed() {
    let app = App::new();
    let hash = "AB".repeat(32);
    let (status, body) = app.get(&format!("/v1/transactions/{hash}"), "AUDIT").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = app
        .get(&format!("/v1/invoices?fingerprint={hash}"), "AUDIT")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// `/v1/blocks/{h}` carries the changes the ledger made by itself in the block (what its
/// notice on `/v1/events` carries, so a reader that missed the notice loses nothing), to
/// banks and auditors only, like the notice.
#[tokio::test]
async fn a_block_shows_its_ledger_events_to_banks_and_auditors_only() {
    use lianrong_consensus::{Block, CommitCertificate, ExecutionCommit, QuorumCert};
    use lianrong_contracts::model::DocId;
    use lianrong_contracts::Event;
    use lianrong_primitives::{codec, Hash};
    use lianrong_storage::CommitBlock;

    let app = App::new();
    let db = &app.state.db;
    let changes =
        lianrong_contracts::merkle::compute_changes(db.as_ref(), 1, Default::default()).unwrap();
    let genesis = Hash([7; 32]);
    let block = Block {
        chain_id: testkit::CHAIN_ID.into(),
        epoch: 0,
        height: 1,
        round: 1,
        parent: genesis,
        justify: QuorumCert::genesis(genesis),
        proposer: 0,
        timestamp_ms: 1_000,
        payload: Vec::new(),
        reconfig: None,
        executed: ExecutionCommit::genesis(changes.root),
    };
    let overdue = Event::ReceivableOverdue {
        receivable: DocId::new("RCV-1").unwrap(),
        maturity: "2026-01-31".parse().unwrap(),
    };
    db.commit_block(&CommitBlock {
        height: 1,
        block_hash: block.hash(),
        block: codec::encode(&block),
        cert: codec::encode(&CommitCertificate {
            qc: QuorumCert::genesis(genesis),
        }),
        txs: Vec::new(),
        receipts: Vec::new(),
        changes,
        results_root: Hash::ZERO,
        ends_epoch: None,
        ledger_events: vec![overdue.clone()],
    })
    .unwrap();
    let expected = serde_json::to_value(vec![overdue]).unwrap();
    for org in ["AUDIT", "BANK-A"] {
        let (status, body) = app.get("/v1/blocks/1", org).await;
        assert_eq!(status, StatusCode::OK, "{org}: {body}");
        assert_eq!(body["ledger_events"], expected, "{org}: {body}");
    }
    let (status, body) = app.get("/v1/blocks/1", "SUP-1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ledger_events"], serde_json::json!([]), "{body}");
}

/// The finding: under overload every submission the full mempool refused had first cost
/// a signature check. A full mempool now refuses before the check: a transaction with a
/// broken signature gets 503 `mempool_full` while it is full and 400 `bad_signature`
/// once there is room.
#[tokio::test]
async fn a_full_mempool_refuses_before_checking_the_signature() {
    let mut app = App::new();
    let mut signed = accept_order(0);
    signed.signature.0[0] ^= 1;
    let submit = || {
        Request::post("/v1/transactions")
            .header("authorization", format!("Bearer {}", token("SUP-1")))
            .header("content-type", "application/octet-stream")
            .body(Body::from(signed.encode()))
            .unwrap()
    };
    app.state.metrics.mempool_capacity.set(10);
    app.state.metrics.mempool.set(10);
    let (status, body) = app.send(submit()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_error_body(&body, "mempool_full");
    app.state.metrics.mempool.set(9);
    // With room, the loop checks it with its window's submissions and refuses it.
    let router = app.router.clone();
    let submitted = tokio::spawn(tower::ServiceExt::oneshot(router, submit()));
    let Some(super::Command::Submit(s)) = app.next_command().await else {
        panic!("the submission never reached the loop");
    };
    let verified = crate::submissions::check(vec![s], testkit::CHAIN_ID).answer_refused();
    assert!(verified.is_empty(), "a broken signature passed the check");
    let resp = submitted.await.unwrap().unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    assert_error_body(&serde_json::from_slice(&bytes).unwrap(), "bad_signature");
}

/// Every submission held a subscription to the commit notices while it waited for the
/// loop, so under load the channel kept its last blocks' receipts on nodes no event
/// stream follows. Only a submission that waits for its commit subscribes.
#[tokio::test]
async fn only_a_submission_waiting_for_its_commit_subscribes_to_commits() {
    let mut app = App::new();
    let signed = accept_order;
    for (nonce, query, waits) in [(0, "", false), (1, "?wait=commit", true)] {
        let req = Request::post(format!("/v1/transactions{query}"))
            .header("authorization", format!("Bearer {}", token("SUP-1")))
            .header("content-type", "application/octet-stream")
            .body(Body::from(signed(nonce).encode()))
            .unwrap();
        let router = app.router.clone();
        let submitted = tokio::spawn(async move {
            tower::ServiceExt::oneshot(router, req)
                .await
                .unwrap()
                .status()
        });
        let Some(super::Command::Submit(s)) = app.next_command().await else {
            panic!("the submission never reached the loop");
        };
        // Handed to the loop, not answered yet: the window the subscription lived in.
        assert_eq!(
            app.state.commits.receiver_count(),
            usize::from(waits),
            "{query:?}"
        );
        s.reply.send(Ok(s.envelope.hash())).unwrap();
        if !waits {
            assert_eq!(submitted.await.unwrap(), StatusCode::ACCEPTED);
        } else {
            submitted.abort();
        }
    }
}
