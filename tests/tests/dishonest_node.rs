//! "Don't trust the node, check it": a proxy in front of a real node lies the ways a
//! compromised node could -- a forged document value under a genuine certificate, a proof
//! of another key, a block below the certified one with a foreign hash, a root of another
//! height. The SDK and `lianrong verify`, holding only the genesis file, answer INVALID
//! for every lie and VALID through the honest path.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::time::Duration;

use lianrong_contracts::DocKind;
use lianrong_sdk::{verify_block, verify_document, verify_epochs, Auth, Client, TrustRoot};
use lianrong_tests::dishonest::{DishonestNode, Lie};
use lianrong_tests::{run_cli, wait_until, Cluster};

const DOC: &str = "SUP-1";

/// What each verifier says about the node at `url`: the document and block verdicts of
/// the SDK and of `lianrong verify` (true = VALID).
struct Verdicts {
    sdk_doc: Result<(), String>,
    sdk_block: Result<(), String>,
    cli_doc: (bool, String),
    cli_block: (bool, String),
}

fn verdicts(c: &Cluster, url: &str, block: u64) -> Verdicts {
    let genesis = c.dir.join("genesis.json");
    let root = TrustRoot::from_genesis_file(&genesis).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = Client::new(url, Auth::Token(c.token("AUDIT"))).unwrap();
    let (sdk_doc, sdk_block) = rt.block_on(async {
        let p = client.proof(DocKind::Org, DOC).await.unwrap();
        let doc = verify_document(&p, DocKind::Org, DOC, &root)
            .map(|_| ())
            .map_err(|e| e.to_string());
        let sets = verify_epochs(&root, &client.epochs().await.unwrap().changes).unwrap();
        let b = client.block(block).await.unwrap();
        let blk = verify_block(&b, &root, &sets)
            .map(|_| ())
            .map_err(|e| e.to_string());
        (doc, blk)
    });
    let token = c.token("AUDIT");
    let g = genesis.to_str().unwrap();
    let cli = |args: &[&str]| {
        let mut all = vec!["verify"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--node", url, "--genesis", g, "--token", &token]);
        let out = run_cli(&all);
        (out.status.success(), format!("{}{}", out.stdout, out.stderr))
    };
    Verdicts {
        sdk_doc,
        sdk_block,
        cli_doc: cli(&["doc", "org", DOC]),
        cli_block: cli(&["block", &block.to_string()]),
    }
}

fn assert_valid(v: &Verdicts, what: &str) {
    assert!(v.sdk_doc.is_ok(), "{what}: SDK doc {:?}", v.sdk_doc);
    assert!(v.sdk_block.is_ok(), "{what}: SDK block {:?}", v.sdk_block);
    assert!(v.cli_doc.0 && v.cli_doc.1.contains("VALID"), "{what}: CLI doc {}", v.cli_doc.1);
    assert!(
        v.cli_block.0 && v.cli_block.1.contains("VALID"),
        "{what}: CLI block {}",
        v.cli_block.1
    );
}

fn assert_doc_invalid(v: &Verdicts, what: &str) {
    assert!(v.sdk_doc.is_err(), "{what}: the SDK accepted the document");
    assert!(
        !v.cli_doc.0 && v.cli_doc.1.contains("INVALID"),
        "{what}: lianrong verify doc said {}",
        v.cli_doc.1
    );
}

#[test]
fn every_lie_of_a_dishonest_node_is_caught() {
    let c = Cluster::start(4);
    let node = c.nodes[0].api.clone();
    c.wait_height(4, Duration::from_secs(60));
    let proxy = DishonestNode::start(&node);

    // Honest path: VALID everywhere (and the proxy records this proof).
    let v = verdicts(&c, &proxy.url, 2);
    assert_valid(&v, "honest proxy");
    let first = c.get(0, &format!("/v1/proofs/org/{DOC}"), "AUDIT").unwrap()["height"]
        .as_u64()
        .unwrap();
    // The certified state moves on, so the recorded proof is of another height.
    wait_until("the certified state moves past the recorded proof", Duration::from_secs(60), || {
        c.get(0, &format!("/v1/proofs/org/{DOC}"), "AUDIT").unwrap()["height"]
            .as_u64()
            .unwrap()
            > first
    });

    proxy.lie(Lie::ForgedValue);
    assert_doc_invalid(&verdicts(&c, &proxy.url, 2), "forged value");

    proxy.lie(Lie::OtherKey { id: "SUP-2".into() });
    assert_doc_invalid(&verdicts(&c, &proxy.url, 2), "proof of another key");

    proxy.lie(Lie::StaleRoot);
    assert_doc_invalid(&verdicts(&c, &proxy.url, 2), "root of another height");

    proxy.lie(Lie::ForeignBlockBelow);
    let v = verdicts(&c, &proxy.url, 2);
    assert!(v.sdk_block.is_err(), "the SDK accepted a foreign block");
    assert!(
        !v.cli_block.0 && v.cli_block.1.contains("INVALID"),
        "lianrong verify block said {}",
        v.cli_block.1
    );

    // And the honest path again, through the same proxy.
    proxy.lie(Lie::Honest);
    assert_valid(&verdicts(&c, &proxy.url, 2), "honest again");

    // A proof carries the stored bytes: an org's identifiers, masked for other members,
    // are proven only to the org itself, banks and auditors.
    let other = c.get(0, "/v1/proofs/org/CORE-A", "SUP-1");
    assert!(matches!(&other, Err((403, m)) if m.contains("masked")), "{other:?}");
    assert!(c.get(0, "/v1/proofs/org/SUP-1", "SUP-1").is_ok());
    assert!(c.get(0, "/v1/proofs/org/CORE-A", "BANK-A").is_ok());
}
