//! Four real nodes from `lianrong testnet`: transactions submitted to different nodes are
//! finalized everywhere in the same order with the same state roots; bad transactions
//! are refused with a 4xx and stored nowhere.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::time::Duration;

use lianrong_contracts::model::DocId;
use lianrong_contracts::money::Money;
use lianrong_contracts::Action;
use lianrong_primitives::{Hash, OrgId};
use lianrong_tests::{sign, wait_until, Cluster};

fn order(id: &str) -> Action {
    Action::IssueOrder {
        id: DocId::new(id).unwrap(),
        seller: OrgId::new("SUP-1").unwrap(),
        amount: Money::parse("1000.00", "CNY").unwrap(),
        terms: "net 60".into(),
        doc_hash: Hash::ZERO,
        carriers: vec![],
    }
}

#[test]
fn four_nodes_finalize_the_same_blocks_and_refuse_bad_transactions() {
    let c = Cluster::start(4);
    let key = c.member_key("CORE-A");
    // Twelve orders, submitted round-robin to the four nodes.
    for n in 0..12u64 {
        let tx = sign(&c.chain_id, "CORE-A", &key, n, order(&format!("PO-{n}")));
        let node = (n % 4) as usize;
        let wait = n == 11;
        let r = c
            .submit(node, &tx, "CORE-A", wait)
            .unwrap_or_else(|e| panic!("submit {n} to {}: {e:?}", c.nodes[node].name));
        if wait {
            assert_eq!(r["status"], "committed", "{r}");
        }
    }
    // Every node gets every order: only PO-11 was waited for, and orders sent to other
    // nodes without waiting may land in a later block than it.
    for i in 0..4 {
        for n in 0..12 {
            let path = format!("/v1/orders/PO-{n}");
            wait_until(
                &format!("{} has PO-{n}", c.nodes[i].name),
                Duration::from_secs(30),
                || c.get(i, &path, "CORE-A").is_ok(),
            );
            let o = c.get(i, &path, "CORE-A").unwrap();
            assert_eq!(o["buyer"], "CORE-A");
        }
    }
    // ... and the same block hash and state root at every height.
    let top = c.height(0);
    c.wait_height(top, Duration::from_secs(30));
    for h in 1..=top {
        let blocks: Vec<_> = (0..4)
            .map(|i| c.get(i, &format!("/v1/blocks/{h}"), "AUDIT").unwrap())
            .collect();
        for b in &blocks[1..] {
            assert_eq!(b["hash"], blocks[0]["hash"], "block hash differs at {h}");
            assert_eq!(
                b["state_root"], blocks[0]["state_root"],
                "state root differs at {h}"
            );
            assert_eq!(
                b["tx_hashes"], blocks[0]["tx_hashes"],
                "order differs at {h}"
            );
        }
        assert!(
            blocks[0]["commit_certificate"].is_object(),
            "block {h} has no certificate"
        );
    }

    // Bad transactions: 4xx, stored nowhere.
    let good = sign(&c.chain_id, "CORE-A", &key, 12, order("PO-BAD"));
    let mut tampered = good.clone();
    tampered.signature.0[3] ^= 1;
    let (code, body) = c.submit(1, &tampered, "CORE-A", false).unwrap_err();
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("bad_signature"), "{body}");
    let other_chain = sign("another-chain", "CORE-A", &key, 12, order("PO-BAD"));
    let (code, body) = c.submit(2, &other_chain, "CORE-A", false).unwrap_err();
    assert_eq!(code, 400);
    assert!(body.contains("wrong_chain"), "{body}");
    let replay = sign(&c.chain_id, "CORE-A", &key, 3, order("PO-BAD"));
    let (code, body) = c.submit(3, &replay, "CORE-A", false).unwrap_err();
    assert_eq!(code, 409, "{body}");
    let huge = ureq::post(&format!("{}/v1/transactions", c.nodes[0].api))
        .set("Authorization", &format!("Bearer {}", c.token("CORE-A")))
        .set("Content-Type", "application/octet-stream")
        .send_bytes(&vec![0u8; 10 * 1024 * 1024]);
    match huge {
        Err(ureq::Error::Status(code, _)) => {
            assert!((400..500).contains(&code), "10 MiB body got {code}")
        }
        Err(e) => {
            // The server may close the connection before reading 10 MiB; that is a refusal too.
            eprintln!("10 MiB body refused at the connection: {e}");
        }
        Ok(r) => panic!("10 MiB body accepted: {}", r.status()),
    }
    // No unauthenticated access.
    let anon = ureq::get(&format!("{}/v1/status", c.nodes[0].api)).call();
    assert!(matches!(anon, Err(ureq::Error::Status(401, _))));
    // Blocks finalized after the refusals would hold anything a node had kept of them.
    let after = (0..4).map(|i| c.height(i)).max().unwrap();
    c.wait_height(after + 3, Duration::from_secs(60));
    for i in 0..4 {
        let (code, _) = c.get(i, "/v1/orders/PO-BAD", "CORE-A").unwrap_err();
        assert_eq!(
            code, 404,
            "a refused transaction left a trace on {}",
            c.nodes[i].name
        );
    }

    // A batch: each transaction gets its own answer, in order, and only the good ones
    // reach the ledger.
    let b12 = sign(&c.chain_id, "CORE-A", &key, 12, order("PO-B12"));
    let b13 = sign(&c.chain_id, "CORE-A", &key, 13, order("PO-B13"));
    let mut forged = sign(&c.chain_id, "CORE-A", &key, 14, order("PO-FORGED"));
    forged.signature.0[5] ^= 1;
    let stale = sign(&c.chain_id, "CORE-A", &key, 3, order("PO-STALE"));
    let committed = sign(&c.chain_id, "CORE-A", &key, 0, order("PO-0"));
    let batch: Vec<String> = [&b12, &b13, &forged, &stale, &committed]
        .iter()
        .map(|t| hex::encode(t.encode()))
        .collect();
    let r = ureq::post(&format!("{}/v1/transactions/batch", c.nodes[2].api))
        .set("Authorization", &format!("Bearer {}", c.token("CORE-A")))
        .send_json(serde_json::json!({ "txs": batch }))
        .expect("batch answered")
        .into_json::<serde_json::Value>()
        .unwrap();
    let statuses: Vec<(&str, &str)> = r
        .as_array()
        .expect("one result per transaction")
        .iter()
        .map(|x| {
            (
                x["status"].as_str().unwrap_or(""),
                x["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("pending", ""),
            ("pending", ""),
            ("refused", "bad_signature"),
            ("refused", "stale_nonce"),
            ("refused", "duplicate"),
        ],
        "{r}"
    );
    assert_eq!(r[0]["hash"], serde_json::json!(b12.hash()));
    // The same as the block payload encoding, as raw bytes.
    let b14 = sign(&c.chain_id, "CORE-A", &key, 14, order("PO-B14"));
    let r = ureq::post(&format!("{}/v1/transactions/batch", c.nodes[3].api))
        .set("Authorization", &format!("Bearer {}", c.token("CORE-A")))
        .set("Content-Type", "application/octet-stream")
        .send_bytes(&lianrong_primitives::encode(&vec![b14]))
        .expect("batch answered")
        .into_json::<serde_json::Value>()
        .unwrap();
    assert_eq!(r[0]["status"], "pending", "{r}");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    for i in 0..4 {
        for id in ["PO-B12", "PO-B13", "PO-B14"] {
            while c.get(i, &format!("/v1/orders/{id}"), "CORE-A").is_err() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{id} never reached {}",
                    c.nodes[i].name
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        for id in ["PO-FORGED", "PO-STALE"] {
            let (code, _) = c.get(i, &format!("/v1/orders/{id}"), "CORE-A").unwrap_err();
            assert_eq!(code, 404, "{id} on {}", c.nodes[i].name);
        }
    }
}

/// The finding: a transaction behind a nonce gap (its key's earlier nonce never
/// submitted) made every leader propose empty blocks back to back -- hundreds a second,
/// for as long as the gap stayed open -- because its mempool was not empty. Such a
/// transaction cannot be proposed, so leaders now wait their idle delay (300 ms) as with
/// an empty mempool; once the gap is filled it is committed like any other.
#[test]
fn a_transaction_behind_a_nonce_gap_neither_hurries_blocks_nor_is_lost() {
    let c = Cluster::start(4);
    let key = c.member_key("CORE-A");
    let ahead = sign(&c.chain_id, "CORE-A", &key, 2, order("PO-AHEAD"));
    let r = c.submit(0, &ahead, "CORE-A", false).unwrap();
    assert_eq!(r["status"], "pending", "{r}");
    for i in 0..4 {
        wait_until(
            &format!("{} holds the transaction", c.nodes[i].name),
            Duration::from_secs(30),
            || c.get(i, "/v1/status", "AUDIT").unwrap()["mempool"] == 1,
        );
    }
    // Ten blocks with nothing to propose take at least ten idle delays (the leader of
    // each waits 300 ms); half of that allows for nothing. Back to back they took a
    // few milliseconds each.
    let from = c.height(0);
    let started = std::time::Instant::now();
    c.wait_height(from + 10, Duration::from_secs(60));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(10 * 300 / 2),
        "ten empty blocks in {took:?}: leaders proposed without waiting"
    );
    // Filling the gap commits all three, and every mempool empties.
    for n in 0..2u64 {
        let tx = sign(&c.chain_id, "CORE-A", &key, n, order(&format!("PO-GAP{n}")));
        c.submit(1, &tx, "CORE-A", n == 1).unwrap();
    }
    for i in 0..4 {
        wait_until(
            &format!("{} has PO-AHEAD and an empty mempool", c.nodes[i].name),
            Duration::from_secs(30),
            || {
                c.get(i, "/v1/orders/PO-AHEAD", "CORE-A").is_ok()
                    && c.get(i, "/v1/status", "AUDIT").unwrap()["mempool"] == 0
            },
        );
    }
}

/// The finding: a request signed by a member key for one node was accepted by every node
/// for five minutes. A signed request names the node's address (`host:port`); replayed to
/// another node it is refused, whether it keeps its Host (not that node's address) or not
/// (the signature no longer matches); replayed to the node it was signed for, it is refused
/// as already used.
#[test]
fn a_signed_request_for_one_node_is_refused_by_the_others() {
    let c = Cluster::start(4);
    c.wait_up(0);
    c.wait_up(1);
    let key = lianrong_sdk::MemberKey::load(&c.key_file("CORE-A")).unwrap();
    let authority = |i: usize| c.nodes[i].api.trim_start_matches("http://").to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let headers = key.request_headers(&c.chain_id, &authority(0), "GET", "/v1/status", now);
    let send = |i: usize, host: Option<&str>| {
        let mut req = ureq::get(&format!("{}/v1/status", c.nodes[i].api));
        if let Some(h) = host {
            req = req.set("Host", h);
        }
        for (name, value) in &headers {
            req = req.set(name, value);
        }
        match req.call() {
            Ok(r) => (r.status(), String::new()),
            Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
            Err(e) => panic!("transport error: {e}"),
        }
    };
    assert_eq!(
        send(0, None).0,
        200,
        "the node it was signed for accepts it"
    );
    let (code, body) = send(1, Some(&authority(0)));
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("signed for"), "{body}");
    let (code, body) = send(1, None);
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("bad request signature"), "{body}");
    // Nor does the node it was signed for take it twice.
    let (code, body) = send(0, None);
    assert_eq!(code, 401, "replayed at the node it was signed for: {body}");
    assert!(body.contains("already used"), "{body}");
}
