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

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono_free::today_plus;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use lianrong_contracts::action::InvoiceSpec;
use lianrong_contracts::model::DocId;
use lianrong_contracts::money::{Amount, Money, Rate};
use lianrong_contracts::Action;
use lianrong_explorer::{Account, AccountRole, ExplorerConfig};
use lianrong_primitives::{Hash, OrgId};
use lianrong_tests::{sign, Cluster};
use serde_json::{json, Value};

/// Dates without a chrono dependency in this crate: business date (UTC+8) plus days.
mod chrono_free {
    pub fn today_plus(days: i64) -> String {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 8 * 3600;
        civil((secs / 86_400) + days)
    }
    // Howard Hinnant's days-to-civil.
    fn civil(z: i64) -> String {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = if m <= 2 { y + 1 } else { y };
        format!("{y:04}-{m:02}-{d:02}")
    }
}

struct Seeder<'a> {
    c: &'a Cluster,
    nonces: std::collections::HashMap<String, u64>,
}

impl Seeder<'_> {
    fn run(&mut self, org: &str, action: Action) -> Value {
        let key = self.c.member_key(org);
        let n = self.nonces.entry(org.to_string()).or_insert(0);
        let tx = sign(&self.c.chain_id, org, &key, *n, action.clone());
        *n += 1;
        let r = self
            .c
            .submit(0, &tx, org, true)
            .unwrap_or_else(|e| panic!("{org} {}: {e:?}", action.name()));
        assert_eq!(r["status"], "committed", "{org} {}: {r}", action.name());
        assert!(
            r["receipt"]["outcome"]["Ok"].is_array(),
            "{org} {} refused: {r}",
            action.name()
        );
        r
    }
}

fn event_field(r: &Value, event: &str, field: &str) -> Value {
    r["receipt"]["outcome"]["Ok"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|e| e.get(event).map(|b| b[field].clone()))
        .unwrap_or_else(|| panic!("no {event} in {r}"))
}

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
/// BANK-A) and CORE-B/SUP-2 (confirmed). Returns (the SUP-1 invoice's commit height, the
/// receivable passed to SUP-3).
fn seed(c: &Cluster) -> (u64, String) {
    let mut s = Seeder {
        c,
        nonces: Default::default(),
    };
    let trade = |s: &mut Seeder,
                 buyer: &str,
                 seller: &str,
                 n: u32,
                 amount: &str,
                 buyer_tax: &str,
                 seller_tax: &str| {
        let po = format!("PO-E2E-{n}");
        s.run(
            buyer,
            Action::IssueOrder {
                id: id(&po),
                seller: org(seller),
                amount: Money::parse(amount, "CNY").unwrap(),
                terms: "net 90".into(),
                doc_hash: Hash::ZERO,
            },
        );
        s.run(seller, Action::AcceptOrder { order: id(&po) });
        let sh = format!("SH-E2E-{n}");
        s.run(
            "LOGI",
            Action::AttestShipment {
                id: id(&sh),
                order: id(&po),
                doc_hash: Hash::ZERO,
            },
        );
        s.run("LOGI", Action::ConfirmDelivery { shipment: id(&sh) });
        let r = s.run(
            buyer,
            Action::RegisterInvoice {
                invoice: InvoiceSpec {
                    id: id(&format!("INV-E2E-{n}")),
                    order: id(&po),
                    number: format!("FP-E2E-000{n}"),
                    issue_date: today_plus(-1).parse().unwrap(),
                    due_date: today_plus(90).parse().unwrap(),
                    amount: Money::parse(amount, "CNY").unwrap(),
                    seller_tax_id: seller_tax.into(),
                    buyer_tax_id: buyer_tax.into(),
                    doc_hash: Hash::ZERO,
                },
                confirm: true,
            },
        );
        (
            r["height"].as_u64().unwrap(),
            event_field(&r, "invoice_confirmed", "receivable")
                .as_str()
                .unwrap()
                .to_string(),
        )
    };
    let (h1, root) = trade(
        &mut s,
        "CORE-A",
        "SUP-1",
        1,
        "1000000.00",
        "91310000MA1COREA3X",
        "91330000MA2SUP106X",
    );
    trade(
        &mut s,
        "CORE-B",
        "SUP-2",
        2,
        "50000.00",
        "91320000MA1COREB4X",
        "91350000MA3SUP207X",
    );
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
    (h1, pass)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Driver(Child);
impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn shots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let d = target.join("explorer-screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots_dir().join(format!("{name}.png")), png).unwrap();
}

async fn login(c: &Client, base: &str, user: &str, pw: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(pw)
        .await
        .unwrap();
    c.find(Locator::Id("login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("logout"))
        .await
        .unwrap_or_else(|e| panic!("{user} could not log in: {e}"));
}

async fn verdict(c: &Client, button: &str) -> String {
    c.find(Locator::Id(button))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = c
            .find(Locator::Id("verify-result"))
            .await
            .unwrap()
            .attr("data-result")
            .await
            .unwrap()
            .unwrap_or_default();
        if r == "valid" || r == "invalid" {
            return r;
        }
        assert!(Instant::now() < deadline, "no verdict for {button}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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

async fn wait_indexed(c: &Client, base: &str, path: &str, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        c.goto(&format!("{base}{path}")).await.unwrap();
        if c.source().await.unwrap().contains(needle) {
            return;
        }
        assert!(Instant::now() < deadline, "{path} never showed {needle}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Whether chromedriver can run; without it a test is skipped on a developer's machine and
/// fails in CI (a missing browser there is a broken setup, not a reason to pass).
fn chromedriver_available() -> bool {
    if Command::new("chromedriver")
        .arg("--version")
        .output()
        .is_ok()
    {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "chromedriver is not installed and CI is set: run scripts/setup (it installs chromium-driver)"
    );
    eprintln!("SKIPPED: chromedriver is not installed (scripts/setup installs chromium-driver)");
    false
}

/// Headless Chromium driven through a chromedriver of its own: the client, and what must
/// live as long as it (the driver process, killed on drop, and the browser profile).
async fn start_browser() -> (Client, Driver, tempfile::TempDir) {
    let port = free_port();
    let driver = Driver(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--window-size=1400,1000",
            format!("--user-data-dir={}", profile.path().display()),
        ]}),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let c = loop {
        match ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => break c,
            Err(e) => {
                assert!(Instant::now() < deadline, "chromedriver: {e}");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    };
    // Chromium keeps the `/live` event stream of a page it navigated away from open for
    // about 60 s (seen in its net log), and opens at most six connections per host: after
    // six page loads in a row, the next request (a page or a `fetch` in a script) waits up
    // to a minute for a connection. Scripts get two minutes.
    c.update_timeouts(TimeoutConfiguration::new(
        Some(Duration::from_secs(120)),
        Some(Duration::from_secs(300)),
        Some(Duration::ZERO),
    ))
    .await
    .unwrap();
    (c, driver, profile)
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
    let mut cfg = ExplorerConfig::new("http://127.0.0.1:1", "unused");
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    let explorer = lianrong_explorer::bind(cfg).await.unwrap();
    let base = format!("http://localhost:{}", explorer.local_addr().port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(explorer.run(async move {
        let _ = stopped.await;
    }));
    let (c, _driver, _profile) = start_browser().await;

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
    let _ = stop.send(());
    let _ = server.await;
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
    let (inv_height, passed) = tokio::task::spawn_blocking(move || seed(&cl))
        .await
        .unwrap();

    // The explorer, in-process, reading node 0 with the auditor's token.
    let mut cfg = ExplorerConfig::new(cluster.nodes[0].api.clone(), cluster.token("AUDIT"));
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    cfg.genesis = Some(cluster.dir.join("genesis.json"));
    cfg.accounts = vec![
        Account {
            username: "auditor".into(),
            password_hash: lianrong_explorer::hash_password("audit-pw"),
            role: AccountRole::Auditor,
            org: Some("AUDIT".into()),
        },
        Account {
            username: "sup1".into(),
            password_hash: lianrong_explorer::hash_password("sup1-pw"),
            role: AccountRole::Org,
            org: Some("SUP-1".into()),
        },
    ];
    let explorer = lianrong_explorer::bind(cfg).await.unwrap();
    let base = format!("http://localhost:{}", explorer.local_addr().port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(explorer.run(async move {
        let _ = stopped.await;
    }));

    let (c, _driver, _profile) = start_browser().await;

    // Unauthenticated: the login page, nothing else.
    c.goto(&format!("{base}/invoices")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/login"));

    // The auditor.
    login(&c, &base, "auditor", "audit-pw").await;
    wait_indexed(&c, &base, "/invoices", "INV-E2E-2").await;
    wait_indexed(&c, &base, "/financings", "disbursed").await;
    c.goto(&base).await.unwrap();
    c.wait()
        .for_element(Locator::Css("#validators tbody tr"))
        .await
        .unwrap();
    // Live: a new transaction shows on the dashboard without a reload.
    let cl = cluster.clone();
    tokio::task::spawn_blocking(move || {
        let key = cl.member_key("CORE-B");
        let tx = sign(
            &cl.chain_id,
            "CORE-B",
            &key,
            2,
            Action::IssueOrder {
                id: id("PO-E2E-LIVE"),
                seller: org("SUP-2"),
                amount: Money::parse("10.00", "CNY").unwrap(),
                terms: "live".into(),
                doc_hash: Hash::ZERO,
            },
        );
        cl.submit(1, &tx, "CORE-B", true).unwrap();
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let feed = c
            .find(Locator::Id("live-feed"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if feed.contains("issue_order by CORE-B") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the dashboard did not update live: {feed}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
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
        src.contains("91310000MA1COREA3X"),
        "auditors see tax ids in full"
    );
    let summary = c
        .find(Locator::Id("financing-summary"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(summary.contains("1 financings, 1 live"), "{summary}");
    shot(&c, "invoice").await;

    // The invoice verifies against the certified state root; a tampered copy does not.
    assert_eq!(verdict(&c, "verify-doc").await, "valid");
    shot(&c, "invoice-verified").await;
    assert_eq!(verdict(&c, "verify-doc-tampered").await, "invalid");

    // Its receivable's lineage, then the part passed to SUP-3 and financed.
    c.find(Locator::Id("lineage-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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
    let cl = cluster.clone();
    tokio::task::spawn_blocking(move || {
        let key = cl.member_key("CORE-B");
        let tx = sign(
            &cl.chain_id,
            "CORE-B",
            &key,
            3,
            Action::IssueOrder {
                id: id("PO-E2E-LIVE2"),
                seller: org("SUP-2"),
                amount: Money::parse("20.00", "CNY").unwrap(),
                terms: "live".into(),
                doc_hash: Hash::ZERO,
            },
        );
        cl.submit(2, &tx, "CORE-B", true).unwrap();
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let t = c
            .find(Locator::Id("live-table"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if t.contains("PO-E2E-LIVE2") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the orders list did not refresh live"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Risk views.
    for (path, name, needle) in [
        ("/risk/ladder?by=month", "ladder", "1050000.00"),
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
    assert_eq!(verdict(&c, "verify-block").await, "valid");
    shot(&c, "block-verified").await;
    assert_eq!(verdict(&c, "verify-block-tampered").await, "invalid");
    shot(&c, "block-tampered").await;
    c.goto(&format!("{base}/txs")).await.unwrap();
    shot(&c, "transactions").await;

    // Log out: pages are closed again.
    c.find(Locator::Id("logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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
        src.contains("91310000MA1COREA3X"),
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
        src.contains("9144************1X") && !src.contains("91440300MA5BANKA1X"),
        "org tax ids masked"
    );
    let api = fetch_text(&c, &format!("{base}/api/verify/doc/invoice/INV-E2E-2")).await;
    assert!(!api.contains("INV-E2E-2"), "verify API leaks: {api}");
    c.goto(&format!("{base}/search?q=FP-E2E-0002"))
        .await
        .unwrap();
    assert!(c.source().await.unwrap().contains("no-results"));
    shot(&c, "supplier-not-found").await;

    c.close().await.unwrap();
    let _ = stop.send(());
    let _ = server.await;
}
