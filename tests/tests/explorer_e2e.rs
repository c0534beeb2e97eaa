//! The explorer end to end in headless Chromium (chromedriver + fantoccini).
//!
//! - `explorer_in_headless_chromium`, against a real 4-node `lianrong testnet`: seed the
//!   supply-chain story, start the explorer in-process, log in, find an invoice by number,
//!   open the lineage, export a CSV, verify a block and a document in the browser (valid,
//!   from the pinned genesis), verify tampered copies (invalid), and check a supplier
//!   account sees masked values and cannot open another org's documents by URL.
//! - `browser_verifier_reproduces_the_pinned_vectors`, no network needed: the browser's
//!   verifier (`verify.js` as the explorer serves it) runs `LianRongVerify.selfTest` on
//!   the pinned vectors (`/static/vectors.json`, generated from the Rust code): every
//!   encoding and hash matches, every valid block and proof verifies, and every attack
//!   (forged value under a genuine certificate, another key's proof, a foreign block below
//!   the certified height, a root of another height, a certificate of the wrong epoch's
//!   set, a substituted validator set, ...) comes out INVALID.
//!
//! Screenshots go to `target/explorer-screenshots/`.
//!
//! Needs `chromium` and `chromium-driver` (scripts/setup installs them); skipped with a
//! message when chromedriver is missing, and failed instead when `CI` is set.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::time::Duration;

use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, Locator};
use lianrong_contracts::model::DocId;
use lianrong_contracts::money::{Amount, Money, Rate};
use lianrong_contracts::Action;
use lianrong_explorer::{AccountRole, ExplorerConfig};
use lianrong_primitives::{Hash, OrgId};
use lianrong_tests::browser::{
    account, chromedriver_available, click, click_verify, connect, login, open_until,
    serve_explorer, shot, text_of, wait_for_text, Chromedriver, Shows,
};
use lianrong_tests::{event_field, sign, Cluster, Seeder, Trade};
use serde_json::{json, Value};

fn id(s: &str) -> DocId {
    DocId::new(s).unwrap()
}
fn org(s: &str) -> OrgId {
    OrgId::new(s).unwrap()
}
fn amt(s: &str) -> Amount {
    Amount::parse(s).unwrap()
}

/// Seeds two trades: CORE-A/SUP-1 (confirmed, split, part passed to SUP-3, financed by
/// BANK-A) and CORE-B/SUP-2 (confirmed, partly repaid to SUP-2, who acknowledged it).
/// Returns (the SUP-1 invoice's commit height, the receivable passed to SUP-3, the
/// acknowledged settlement).
fn seed(c: &Cluster) -> (u64, String, String) {
    let mut s = Seeder::new(c);
    let (h1, root) = s.trade(&Trade {
        ids: "E2E-1",
        number: "FP-E2E-0001",
        buyer: "CORE-A",
        seller: "SUP-1",
        amount: "1000000.00",
        buyer_tax_id: "91310000MA1C0REA3U",
        seller_tax_id: "91330000MA25UP1060",
    });
    let (_, rcv2) = s.trade(&Trade {
        ids: "E2E-2",
        number: "FP-E2E-0002",
        buyer: "CORE-B",
        seller: "SUP-2",
        amount: "50000.00",
        buyer_tax_id: "91320000MA1C0REB44",
        seller_tax_id: "91350000MA35UP2077",
    });
    let r = s.run(
        "SUP-1",
        Action::SplitReceivable {
            receivable: id(&root),
            parts: vec![amt("600000.00"), amt("400000.00")],
        },
    );
    let parts = event_field(&r, "receivable_split", "parts");
    let pass = parts[1].as_str().unwrap().to_string();
    s.run(
        "SUP-1",
        Action::TransferReceivable {
            receivable: id(&pass),
            to: org("SUP-3"),
        },
    );
    let r = s.run(
        "SUP-3",
        Action::RequestFinancing {
            receivable: id(&pass),
            banks: vec![org("BANK-A")],
        },
    );
    let fin = event_field(&r, "financing_requested", "financing");
    let fin = fin.as_str().unwrap();
    let r = s.run(
        "BANK-A",
        Action::OfferFinancing {
            financing: id(fin),
            rate: Rate::parse("3.65").unwrap(),
            fees: amt("0.00"),
            valid_until: c.business_date(7),
        },
    );
    let offer = event_field(&r, "offer_made", "offer");
    let r = s.run(
        "SUP-3",
        Action::AcceptOffer {
            offer: id(offer.as_str().unwrap()),
        },
    );
    let net = event_field(&r, "offer_accepted", "net");
    s.run(
        "BANK-A",
        Action::Disburse {
            financing: id(fin),
            payment_ref: "6222020200112233".into(),
            net: amt(net["amount"].as_str().unwrap()),
        },
    );
    let stl = repay_acknowledged(&mut s, &rcv2);
    (h1, pass, stl)
}

/// CORE-B repays part of `rcv` to its holder SUP-2, who acknowledges it; the settlement.
fn repay_acknowledged(s: &mut Seeder<'_>, rcv: &str) -> String {
    let r = s.run(
        "CORE-B",
        Action::Repay {
            receivable: id(rcv),
            payee: org("SUP-2"),
            amount: amt("10000.00"),
            payment_ref: "HX-PAY-E2E-1".into(),
        },
    );
    let stl = event_field(&r, "settlement_instructed", "settlement");
    let stl = stl.as_str().unwrap().to_string();
    s.run(
        "SUP-2",
        Action::AcknowledgeSettlement {
            settlement: id(&stl),
        },
    );
    stl
}

async fn fetch_text(c: &Client, url: &str) -> String {
    c.execute(
        "return fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text());",
        vec![json!(url)],
    )
    .await
    .unwrap()
    .as_str()
    .unwrap_or_default()
    .to_string()
}

/// Headless Chromium driven through a chromedriver of its own (the driver process, killed
/// on drop with the browser profile, must live as long as the client).
async fn start_browser() -> (Client, Chromedriver) {
    let driver = Chromedriver::start();
    // Chromium keeps the `/live` event stream of a page it navigated away from open for
    // about 60 s (seen in its net log), and opens at most six connections per host: after
    // six page loads in a row, the next request (a page or a `fetch` in a script) waits up
    // to a minute for a connection. Scripts get two minutes.
    let timeouts = TimeoutConfiguration::new(
        Some(Duration::from_secs(120)),
        Some(Duration::from_secs(300)),
        Some(Duration::ZERO),
    );
    let c = connect(&driver, timeouts).await;
    (c, driver)
}

/// CORE-B issues order `order` to SUP-2 through node `node` with nonce `nonce` (after the
/// seed's: CORE-B signs nonces 0 and 1 in its trade and 2 for the repayment), while the
/// browser watches.
async fn issue_order_live(
    cluster: &std::sync::Arc<Cluster>,
    node: usize,
    nonce: u64,
    order: &str,
    amount: &str,
) {
    let cl = cluster.clone();
    let (order, amount) = (order.to_string(), amount.to_string());
    tokio::task::spawn_blocking(move || {
        let key = cl.member_key("CORE-B");
        let tx = sign(
            &cl.chain_id,
            "CORE-B",
            &key,
            nonce,
            Action::IssueOrder {
                id: id(&order),
                seller: org("SUP-2"),
                amount: Money::parse(&amount, "CNY").unwrap(),
                terms: "live".into(),
                doc_hash: Hash::ZERO,
                carriers: vec![],
            },
        );
        cl.submit(node, &tx, "CORE-B", true).unwrap();
    })
    .await
    .unwrap();
}

/// The attacks the pinned vectors must hold, by section: each must be there and come out
/// INVALID in the browser.
const REQUIRED_ATTACKS: &[(&str, &str)] = &[
    ("document", "forged value with a genuine certificate"),
    ("document", "forged value claiming the certified root"),
    ("document", "header edited to certify another root"),
    ("document", "proof of another key (RCV-12 for RCV-1)"),
    ("document", "proof against the root of another height"),
    ("document", "certificate of the wrong epoch's set"),
    ("document", "page shows a copy other than the certified one"),
    ("block", "below the certified height with a foreign hash"),
    (
        "block",
        "descendant that does not hash to the certified block",
    ),
    ("block", "certificate of the wrong epoch's set"),
    ("block", "validator set substituted for epoch 1"),
    ("block", "reconfiguration not certified by epoch 0's set"),
    ("block", "epoch 1 without its validator-set change"),
];

/// The browser's verifier on the pinned vectors, with no node behind the explorer: the
/// page and its scripts are static.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_verifier_reproduces_the_pinned_vectors() {
    if !chromedriver_available() {
        return;
    }
    // A node nobody listens on: the follower's errors do not matter to a static page.
    let explorer = serve_explorer(ExplorerConfig::new("http://127.0.0.1:1", "unused")).await;
    let base = &explorer.base;
    let (c, _driver) = start_browser().await;

    // The login page loads verify.js like every page.
    c.goto(&format!("{base}/login")).await.unwrap();
    let st = c
        .execute(
            "return fetch('/static/vectors.json').then(r => r.json()).then(v => LianRongVerify.selfTest(v));",
            vec![],
        )
        .await
        .unwrap();
    let results = st["results"].as_array().expect("selfTest results");
    let failed: Vec<&Value> = results.iter().filter(|r| r["ok"] != true).collect();
    assert!(
        st["ok"] == true && failed.is_empty(),
        "the browser's verifier disagrees with the vectors: {failed:#?}"
    );
    let verdict = |name: &str| {
        results
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no vector {name:?}"))
    };
    for (section, attack) in REQUIRED_ATTACKS {
        let r = verdict(&format!("{section}: {attack}"));
        assert!(r["expect"] == false && r["got"] == false, "{r}");
    }
    // Every INVALID vector was rejected, every valid one accepted.
    let (mut valid, mut invalid) = (0, 0);
    for r in results.iter().filter(|r| r["expect"].is_boolean()) {
        assert_eq!(r["got"], r["expect"], "{r}");
        if r["expect"] == true {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    assert!(
        valid >= 8 && invalid >= 20,
        "{valid} valid, {invalid} invalid vectors"
    );
    eprintln!(
        "selfTest in Chromium: {} vectors, {valid} valid accepted, {invalid} INVALID rejected",
        results.len()
    );

    c.close().await.unwrap();
    let _ = explorer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explorer_in_headless_chromium() {
    if !chromedriver_available() {
        return;
    }
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(4))
        .await
        .unwrap();
    let cluster = std::sync::Arc::new(cluster);
    let cl = cluster.clone();
    let (inv_height, passed, stl) = tokio::task::spawn_blocking(move || seed(&cl))
        .await
        .unwrap();

    // The explorer, in-process, reading node 0 with the auditor's token.
    let mut cfg = ExplorerConfig::new(cluster.nodes[0].api.clone(), cluster.token("AUDIT"));
    cfg.genesis = Some(cluster.genesis_file());
    cfg.accounts = vec![
        account("auditor", "audit-pw", AccountRole::Auditor, "AUDIT"),
        account("sup1", "sup1-pw", AccountRole::Org, "SUP-1"),
    ];
    let explorer = serve_explorer(cfg).await;
    let base = explorer.base.clone();

    let (c, _driver) = start_browser().await;

    // Unauthenticated: the login page, nothing else.
    c.goto(&format!("{base}/invoices")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/login"));

    // The auditor.
    login(&c, &base, "auditor", "audit-pw").await;
    open_until(&c, &format!("{base}/invoices"), Shows::Text("INV-E2E-2")).await;
    open_until(&c, &format!("{base}/financings"), Shows::Text("disbursed")).await;
    c.goto(&base).await.unwrap();
    c.wait()
        .for_element(Locator::Css("#validators tbody tr"))
        .await
        .unwrap();
    // Live: a new transaction shows on the dashboard without a reload.
    issue_order_live(&cluster, 1, 3, "PO-E2E-LIVE", "10.00").await;
    wait_for_text(
        &c,
        "live-feed",
        "issue_order by CORE-B",
        "the dashboard did not update live",
    )
    .await;
    shot(&c, "dashboard").await;

    // (The pinned vectors run in `browser_verifier_reproduces_the_pinned_vectors`.)

    // Find the invoice by its number.
    c.goto(&base).await.unwrap();
    let search = c.find(Locator::Id("search")).await.unwrap();
    search.send_keys("FP-E2E-0001\n").await.unwrap();
    c.wait()
        .for_element(Locator::Id("lineage-link"))
        .await
        .unwrap();
    assert!(c
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/invoices/INV-E2E-1"));
    let src = c.source().await.unwrap();
    assert!(
        src.contains("91310000MA1C0REA3U"),
        "auditors see tax ids in full"
    );
    let summary = text_of(&c, "financing-summary").await;
    assert!(summary.contains("1 financings, 1 live"), "{summary}");
    shot(&c, "invoice").await;

    // The invoice verifies against the certified state root; a tampered copy does not.
    assert_eq!(click_verify(&c, "verify-doc").await.result, "valid");
    shot(&c, "invoice-verified").await;
    assert_eq!(
        click_verify(&c, "verify-doc-tampered").await.result,
        "invalid"
    );

    // Its receivable's lineage, then the part passed to SUP-3 and financed.
    click(&c, "lineage-link").await;
    c.wait().for_element(Locator::Id("lineage")).await.unwrap();
    let svg = c
        .find(Locator::Id("lineage"))
        .await
        .unwrap()
        .html(false)
        .await
        .unwrap();
    for step in [
        "issue order",
        "attest shipment",
        "register invoice",
        "split receivable",
    ] {
        assert!(svg.contains(step), "root lineage lacks {step}: {svg}");
    }
    shot(&c, "lineage-root").await;
    c.goto(&format!("{base}/receivables/{passed}"))
        .await
        .unwrap();
    let svg = c
        .wait()
        .for_element(Locator::Id("lineage"))
        .await
        .unwrap()
        .html(false)
        .await
        .unwrap();
    for step in [
        "register invoice",
        "split receivable",
        "transfer receivable",
        "request financing",
        "accept offer",
        "disburse",
    ] {
        assert!(svg.contains(step), "lineage of {passed} lacks {step}");
    }
    assert!(svg.contains("/tx/") && svg.contains("/blocks/") && svg.contains("/orgs/BANK-A"));
    shot(&c, "lineage").await;

    // CSV export with the filters applied.
    c.goto(&format!("{base}/invoices?q=FP-E2E")).await.unwrap();
    let href = c
        .find(Locator::Id("csv-export"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(
        href.contains("q=FP-E2E") && href.contains("format=csv"),
        "{href}"
    );
    let csv = fetch_text(&c, &href).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("id,number,seller,buyer"));
    assert!(
        lines[1].starts_with("INV-E2E-1,FP-E2E-0001,SUP-1,CORE-A"),
        "{csv}"
    );
    assert!(
        lines[2].starts_with("INV-E2E-2,FP-E2E-0002,SUP-2,CORE-B"),
        "{csv}"
    );
    let csv = fetch_text(&c, &format!("{base}/invoices?q=FP-E2E-0002&format=csv")).await;
    assert_eq!(csv.lines().count(), 2, "{csv}");
    shot(&c, "invoices").await;

    // Lists refresh live too: a new order appears in the open orders list.
    c.goto(&format!("{base}/orders")).await.unwrap();
    c.wait()
        .for_element(Locator::Id("live-table"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    issue_order_live(&cluster, 2, 4, "PO-E2E-LIVE2", "20.00").await;
    wait_for_text(
        &c,
        "live-table",
        "PO-E2E-LIVE2",
        "the orders list did not refresh live",
    )
    .await;

    // The settlement, acknowledged by its payee, on its own page and in the list.
    open_until(
        &c,
        &format!("{base}/settlements/{stl}"),
        Shows::Element("settlement-state"),
    )
    .await;
    let state = text_of(&c, "settlement-state").await;
    assert!(state.contains("acknowledged on"), "{state}");
    shot(&c, "settlement-detail").await;
    c.goto(&format!(
        "{base}/settlements?status=acknowledged&payee=SUP-2"
    ))
    .await
    .unwrap();
    assert!(
        c.source().await.unwrap().contains(&stl),
        "settlements list lacks {stl}"
    );
    shot(&c, "settlements").await;

    // Risk views.
    for (path, name, needle) in [
        // 1,050,000.00 confirmed, 10,000.00 of it repaid and acknowledged.
        ("/risk/ladder?by=month", "ladder", "1040000.00"),
        ("/risk/exposure", "exposure", "CORE-A"),
        ("/risk/overdue", "overdue", "Nothing to show"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        assert!(
            c.source().await.unwrap().contains(needle),
            "{path} lacks {needle}"
        );
        shot(&c, name).await;
    }

    // A block's commit certificate verifies in the browser; a tampered copy does not.
    c.goto(&format!("{base}/blocks/{inv_height}"))
        .await
        .unwrap();
    assert_eq!(click_verify(&c, "verify-block").await.result, "valid");
    shot(&c, "block-verified").await;
    assert_eq!(
        click_verify(&c, "verify-block-tampered").await.result,
        "invalid"
    );
    shot(&c, "block-tampered").await;
    c.goto(&format!("{base}/txs")).await.unwrap();
    shot(&c, "transactions").await;

    // Log out: pages are closed again.
    click(&c, "logout").await;
    c.wait().for_element(Locator::Id("username")).await.unwrap();
    c.goto(&format!("{base}/receivables")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/login"));

    // A supplier: its own documents whole (the node's rule: a party to an invoice reads
    // both tax ids on it), nothing of others, other orgs' identifiers masked.
    login(&c, &base, "sup1", "sup1-pw").await;
    c.goto(&format!("{base}/invoices")).await.unwrap();
    let src = c.source().await.unwrap();
    assert!(src.contains("INV-E2E-1"));
    assert!(!src.contains("INV-E2E-2"), "SUP-1 sees CORE-B's invoice");
    assert!(
        src.contains("91310000MA1C0REA3U"),
        "the buyer's tax id on SUP-1's own invoice"
    );
    shot(&c, "supplier-invoices").await;
    let csv = fetch_text(&c, &format!("{base}/invoices?format=csv")).await;
    assert!(
        csv.contains("INV-E2E-1") && !csv.contains("INV-E2E-2") && !csv.contains("FP-E2E-0002"),
        "{csv}"
    );
    c.goto(&format!("{base}/invoices/INV-E2E-2")).await.unwrap();
    let src = c.source().await.unwrap();
    assert!(
        src.contains("was not found") && !src.contains("FP-E2E-0002"),
        "SUP-1 opened CORE-B's invoice"
    );
    c.goto(&format!("{base}/orgs")).await.unwrap();
    let src = c.source().await.unwrap();
    assert!(
        src.contains("9144************1J") && !src.contains("91440300MA5BANKA1J"),
        "org tax ids masked"
    );
    let api = fetch_text(&c, &format!("{base}/api/verify/doc/invoice/INV-E2E-2")).await;
    assert!(!api.contains("INV-E2E-2"), "verify API leaks: {api}");
    c.goto(&format!("{base}/settlements/{stl}")).await.unwrap();
    let src = c.source().await.unwrap();
    assert!(
        src.contains("was not found") && !src.contains("HX-PAY-E2E-1"),
        "SUP-1 opened CORE-B's payment to SUP-2"
    );
    c.goto(&format!("{base}/search?q=FP-E2E-0002"))
        .await
        .unwrap();
    assert!(c.source().await.unwrap().contains("no-results"));
    shot(&c, "supplier-not-found").await;

    c.close().await.unwrap();
    let _ = explorer.stop().await;
}
