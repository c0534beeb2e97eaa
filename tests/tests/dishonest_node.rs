//! "Don't trust the node, check it": a proxy in front of a real node lies the ways a
//! compromised node could -- a forged document value under a genuine certificate, a proof
//! of another key, a block below the certified one with a foreign hash, a root of another
//! height. The SDK and `lianrong verify`, holding only the genesis file, answer INVALID
//! for every lie and VALID through the honest path.
//!
//! And the explorer's in-browser verifier: the explorer reads the node through the same
//! proxy with genesis.json pinned, headless Chromium (chromedriver + fantoccini) keeps a
//! tab on the document page of org SUP-1 and one on block 2's page and clicks "Verify" in
//! both after each change of lie. Every lie reaches the browser unrefused (the explorer
//! passes the node's evidence through) and the page's verdict says INVALID, naming the
//! failed check, exactly where the node lies (the other page stays VALID); VALID
//! everywhere through the honest path. Skipped with a message when chromedriver is
//! missing, failed instead when `CI` is set. Screenshots go to
//! `target/explorer-screenshots/dishonest-*.png`.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::time::{Duration, Instant};

use fantoccini::wd::{TimeoutConfiguration, WindowHandle};
use lianrong_contracts::model::DocId;
use lianrong_contracts::money::Amount;
use lianrong_contracts::{Action, DocKind};
use lianrong_explorer::{AccountRole, ExplorerConfig};
use lianrong_sdk::{verify_block, verify_document, verify_epochs, Auth, Client, TrustRoot};
use lianrong_tests::browser::{
    account, chromedriver_available, click_verify, connect, login, open_until, serve_explorer,
    shot, strings, Chromedriver, PageVerdict, ServedExplorer, Shows,
};
use lianrong_tests::dishonest::{DishonestNode, Lie};
use lianrong_tests::{event_field, run_cli, wait_until, Cluster, Seeder, Trade};
use serde_json::Value;

const DOC: &str = "SUP-1";
/// The block the block pages verify (its certificate is made to commit a descendant by
/// [`Lie::ForeignBlockBelow`]).
const BLOCK: u64 = 2;

/// What each verifier says about the node at `url`: the document and block verdicts of
/// the SDK and of `lianrong verify` (true = VALID).
struct Verdicts {
    sdk_doc: Result<(), String>,
    sdk_block: Result<(), String>,
    cli_doc: (bool, String),
    cli_block: (bool, String),
}

fn verdicts(c: &Cluster, url: &str, block: u64) -> Verdicts {
    let genesis = c.genesis_file();
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
        (
            out.status.success(),
            format!("{}{}", out.stdout, out.stderr),
        )
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
    assert!(
        v.cli_doc.0 && v.cli_doc.1.contains("VALID"),
        "{what}: CLI doc {}",
        v.cli_doc.1
    );
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

/// A trade on the ledger, for the lineage: CORE-A orders from SUP-1, LOGI ships and
/// delivers, CORE-A registers and confirms the invoice, SUP-1 splits the receivable.
/// Returns the part split off last (its lineage: the confirmed receivable, then itself).
fn seed_lineage(c: &Cluster) -> String {
    let mut s = Seeder::new(c);
    let (_, root) = s.trade(&Trade {
        ids: "DN-1",
        number: "FP-DN-0001",
        buyer: "CORE-A",
        seller: "SUP-1",
        amount: "1000.00",
        buyer_tax_id: "91310000MA1C0REA3U",
        seller_tax_id: "91330000MA25UP1060",
    });
    let r = s.run(
        "SUP-1",
        Action::SplitReceivable {
            receivable: DocId::new(root).unwrap(),
            parts: vec![
                Amount::parse("600.00").unwrap(),
                Amount::parse("400.00").unwrap(),
            ],
        },
    );
    event_field(&r, "receivable_split", "parts")[1]
        .as_str()
        .unwrap()
        .to_string()
}

/// The explorer (in-process, reading the node through the proxy, genesis.json pinned)
/// and headless Chromium logged in as its auditor, with one tab on the document page of
/// org SUP-1 and one on block 2's page.
struct Browser {
    rt: tokio::runtime::Runtime,
    client: fantoccini::Client,
    doc_tab: WindowHandle,
    block_tab: WindowHandle,
    explorer: Option<ServedExplorer>,
    _driver: Chromedriver,
}

impl Browser {
    fn start(c: &Cluster, node_url: &str) -> Browser {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut cfg = ExplorerConfig::new(node_url, c.token("AUDIT"));
        cfg.genesis = Some(c.genesis_file());
        cfg.accounts = vec![account(
            "auditor",
            "audit-pw",
            AccountRole::Auditor,
            "AUDIT",
        )];
        let explorer = rt.block_on(serve_explorer(cfg));
        let driver = Chromedriver::start();
        let (client, doc_tab, block_tab) = rt.block_on(open_tabs(&driver, &explorer.base));
        Browser {
            rt,
            client,
            doc_tab,
            block_tab,
            explorer: Some(explorer),
            _driver: driver,
        }
    }

    /// Clicks `button` in `tab`, waits for the verdict and takes the screenshot
    /// `dishonest-{shot_name}`.
    fn click(&self, tab: &WindowHandle, button: &str, shot_name: &str) -> PageVerdict {
        let c = &self.client;
        self.rt.block_on(async {
            c.switch_to_window(tab.clone()).await.unwrap();
            let v = click_verify(c, button).await;
            c.execute(
                "document.getElementById('verify-result').scrollIntoView();",
                vec![],
            )
            .await
            .unwrap();
            shot(c, &format!("dishonest-{shot_name}")).await;
            v
        })
    }

    /// The verdict on org SUP-1's document page.
    fn doc(&self, what: &str) -> PageVerdict {
        self.click(&self.doc_tab, "verify-doc", &format!("{what}-doc"))
    }

    /// The history verdicts of receivable `id`'s page (its lineage's proof table): one
    /// per entry, then one per receivable. Fetched in the browser's session and parsed
    /// there, without opening the page (and its live stream) again.
    fn lineage(&self, id: &str) -> (Vec<String>, Vec<String>) {
        let c = &self.client;
        let v = self.rt.block_on(async {
            c.switch_to_window(self.doc_tab.clone()).await.unwrap();
            c.execute(
                "return fetch('/receivables/' + arguments[0], {credentials: 'same-origin'}) \
                   .then((r) => r.text()).then((t) => { \
                     const d = new DOMParser().parseFromString(t, 'text/html'); \
                     const all = (sel, key) => Array.from(d.querySelectorAll(sel)).map((r) => r.dataset[key]); \
                     return {entries: all('#history-proofs tr.history-entry', 'proof'), \
                             histories: all('#history-proofs tr.history-verdict', 'verdict')}; });",
                vec![Value::from(id)],
            )
            .await
            .unwrap()
        });
        (strings(&v["entries"]), strings(&v["histories"]))
    }

    /// The verdict on block 2's page.
    fn block(&self, what: &str) -> PageVerdict {
        self.click(&self.block_tab, "verify-block", &format!("{what}-block"))
    }

    fn close(mut self) {
        let client = self.client.clone();
        self.rt.block_on(async { client.close().await.unwrap() });
        if let Some(explorer) = self.explorer.take() {
            self.rt.block_on(explorer.stop()).unwrap();
        }
    }
}

/// Connects to `driver`, logs in to the explorer at `base` as its auditor, and opens org
/// SUP-1's page in one tab and block 2's in another (each once the explorer's index has
/// it: polled). Each page opens the explorer's live stream, so the tabs stay put and the
/// verify buttons are clicked again rather than the pages reloaded (Chromium holds at
/// most six connections per host).
async fn open_tabs(
    driver: &Chromedriver,
    base: &str,
) -> (fantoccini::Client, WindowHandle, WindowHandle) {
    let timeouts = TimeoutConfiguration::new(
        Some(Duration::from_secs(60)),
        Some(Duration::from_secs(60)),
        Some(Duration::ZERO),
    );
    let c = connect(driver, timeouts).await;
    login(&c, base, "auditor", "audit-pw").await;
    let doc_tab = c.window().await.unwrap();
    open_until(
        &c,
        &format!("{base}/orgs/{DOC}"),
        Shows::Element("verify-doc"),
    )
    .await;
    let block_tab = c.new_window(true).await.unwrap().handle;
    c.switch_to_window(block_tab.clone()).await.unwrap();
    open_until(
        &c,
        &format!("{base}/blocks/{BLOCK}"),
        Shows::Element("verify-block"),
    )
    .await;
    (c, doc_tab, block_tab)
}

#[track_caller]
fn assert_page_valid(v: &PageVerdict, title: &str, what: &str) {
    assert!(
        v.result == "valid"
            && v.title.starts_with(&format!("VALID -- {title}"))
            && v.failed.is_empty(),
        "{what}: the page said {v:?}"
    );
}

/// The browser judged the node's evidence (the explorer passed it on: no "could not
/// verify" refusal) and found it INVALID, failing the check `check`.
#[track_caller]
fn assert_page_invalid(v: &PageVerdict, title: &str, check: &str, what: &str) {
    assert!(
        v.result == "invalid" && v.title.starts_with(&format!("INVALID -- {title}")),
        "{what}: the page said {v:?}"
    );
    assert!(
        v.failed.iter().any(|f| f.contains(check)),
        "{what}: no failed check {check:?} in {v:?}"
    );
}

const DOC_TITLE: &str = "org SUP-1 in the certified state of height ";
const BLOCK_TITLE: &str = "block 2 is final";

/// Every history entry of receivable `id`'s lineage, and every receivable's whole
/// history, has the verdict `want` (`proven`, `not-proven`, ...).
#[track_caller]
fn assert_lineage(b: &Browser, id: &str, want: &str, what: &str) {
    let (entries, histories) = b.lineage(id);
    // The root's history (issued, split) and the part's (issued).
    assert!(
        entries.len() >= 3 && histories.len() == 2,
        "{what}: lineage of {id}: {entries:?} {histories:?}"
    );
    assert!(
        entries.iter().chain(&histories).all(|v| v == want),
        "{what}: lineage of {id} should be {want}: {entries:?} {histories:?}"
    );
}

/// The browser on both pages through the honest path: VALID.
fn assert_browser_valid(b: &Browser, what: &str) {
    assert_page_valid(&b.doc(what), DOC_TITLE, what);
    assert_page_valid(&b.block(what), BLOCK_TITLE, what);
}

/// A lie about the document: its page INVALID (failing `check`), the block's VALID.
fn assert_browser_doc_invalid(b: &Browser, check: &str, what: &str) {
    assert_page_invalid(&b.doc(what), DOC_TITLE, check, what);
    assert_page_valid(&b.block(what), BLOCK_TITLE, what);
}

#[test]
fn every_lie_of_a_dishonest_node_is_caught() {
    let c = Cluster::start(4);
    let node = c.nodes[0].api.clone();
    c.wait_height(4, Duration::from_secs(60));
    // The browser part also reads a receivable's lineage: a trade and a split first.
    let browsing = chromedriver_available();
    let part = browsing.then(|| seed_lineage(&c));
    let proxy = DishonestNode::start(&node);
    let started = Instant::now();
    let browser = browsing.then(|| Browser::start(&c, &proxy.url));
    // The lineage's verdicts under the current lie (the part's page: its history and its
    // parent's), when the browser runs.
    let lineage = |want: &str, what: &str| {
        if let (Some(b), Some(part)) = (&browser, &part) {
            assert_lineage(b, part, want, what);
        }
    };

    // Honest path: VALID everywhere (and the proxy records this proof).
    let v = verdicts(&c, &proxy.url, BLOCK);
    assert_valid(&v, "honest proxy");
    if let (Some(b), Some(part)) = (&browser, &part) {
        assert_browser_valid(b, "honest");
        // The split's entries are proven once a certified state covers its block (the
        // proxy records these history proofs too).
        let deadline = Instant::now() + Duration::from_secs(30);
        while b.lineage(part).0.iter().any(|v| v == "not-yet-certified") {
            assert!(Instant::now() < deadline, "the split was never certified");
            std::thread::sleep(Duration::from_millis(300));
        }
        assert_lineage(b, part, "proven", "honest");
    }
    let first = c.get(0, &format!("/v1/proofs/org/{DOC}"), "AUDIT").unwrap()["height"]
        .as_u64()
        .unwrap();
    // The certified state moves on, so the recorded proofs are of another height.
    wait_until(
        "the certified state moves past the recorded proof",
        Duration::from_secs(60),
        || {
            c.get(0, &format!("/v1/proofs/org/{DOC}"), "AUDIT").unwrap()["height"]
                .as_u64()
                .unwrap()
                > first
        },
    );

    // Each document lie, the check of the browser's verifier that catches it, and what
    // the lineage's history proofs (told the same lie) come to.
    for (lie, what, check, history) in [
        (
            Lie::ForgedValue,
            "forged value",
            "the leaf holds this value (SHA-256)",
            Some("not-proven"),
        ),
        // (The proxy's other key is org SUP-2, which has no receivable history: its lie
        // about a history proof is a failed answer, not a proof of another key.)
        (
            Lie::OtherKey { id: "SUP-2".into() },
            "proof of another key",
            "the leaf is of key doc/org/SUP-1",
            None,
        ),
        (
            Lie::StaleRoot,
            "root of another height",
            "the proof is of the state of height",
            Some("not-proven"),
        ),
    ] {
        proxy.lie(lie);
        assert_doc_invalid(&verdicts(&c, &proxy.url, BLOCK), what);
        if let Some(b) = &browser {
            assert_browser_doc_invalid(b, check, &what.replace(' ', "-"));
        }
        if let Some(want) = history {
            lineage(want, what);
        }
    }

    proxy.lie(Lie::ForeignBlockBelow);
    let v = verdicts(&c, &proxy.url, BLOCK);
    assert!(v.sdk_block.is_err(), "the SDK accepted a foreign block");
    assert!(
        !v.cli_block.0 && v.cli_block.1.contains("INVALID"),
        "lianrong verify block said {}",
        v.cli_block.1
    );
    assert!(
        v.sdk_doc.is_ok(),
        "a block lie leaves documents alone: {:?}",
        v.sdk_doc
    );
    if let Some(b) = &browser {
        let what = "foreign-block-below";
        let check = "names the one below as parent, up to the certified block";
        assert_page_invalid(&b.block(what), BLOCK_TITLE, check, what);
        assert_page_valid(&b.doc(what), DOC_TITLE, what);
    }
    lineage("proven", "foreign block below (proofs untouched)");

    // And the honest path again, through the same proxy.
    proxy.lie(Lie::Honest);
    assert_valid(&verdicts(&c, &proxy.url, BLOCK), "honest again");
    lineage("proven", "honest again");
    if let Some(b) = browser {
        assert_browser_valid(&b, "honest-again");
        b.close();
        eprintln!(
            "the browser part (explorer, Chromium, with the SDK and CLI verdicts) took {:?}",
            started.elapsed()
        );
    }

    // A proof carries the stored bytes: an org's identifiers, masked for other members,
    // are proven only to the org itself, banks and auditors.
    let other = c.get(0, "/v1/proofs/org/CORE-A", "SUP-1");
    assert!(
        matches!(&other, Err((403, m)) if m.contains("masked")),
        "{other:?}"
    );
    assert!(c.get(0, "/v1/proofs/org/SUP-1", "SUP-1").is_ok());
    assert!(c.get(0, "/v1/proofs/org/CORE-A", "BANK-A").is_ok());
}
