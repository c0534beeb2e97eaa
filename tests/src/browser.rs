//! Headless Chromium for the browser tests: whether chromedriver is there (skip on a
//! developer's machine, fail in CI), a chromedriver of the test's own on a free port
//! (killed on drop) and a WebDriver client connected to it ([`connect`]), the explorer
//! served in-process ([`serve_explorer`]), and what the tests do in its pages: log in,
//! open a page once the explorer has indexed what it shows, click a verify button and
//! read the verdict, wait for a live update, take screenshots.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use lianrong_explorer::{Account, AccountRole, ExplorerConfig};
use serde_json::{json, Map, Value};

pub use crate::ports::free_port;

/// Whether chromedriver can run; without it a browser test is skipped on a developer's
/// machine and fails in CI (a missing browser there is a broken setup, not a reason to
/// pass).
pub fn chromedriver_available() -> bool {
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

/// A chromedriver process on a free port, killed on drop, with the browser profile folder
/// it must outlive.
pub struct Chromedriver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Chromedriver {
    /// Starts chromedriver (check [`chromedriver_available`] first).
    pub fn start() -> Chromedriver {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Chromedriver {
            child,
            port,
            profile: tempfile::tempdir().unwrap(),
        }
    }

    /// Where WebDriver clients connect.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The capabilities of a headless Chromium with this driver's throw-away profile.
    pub fn capabilities(&self) -> Map<String, Value> {
        chrome_capabilities(self.profile.path())
    }
}

/// Capabilities for headless Chromium (no sandbox, no background traffic, 1400x1000)
/// using the profile folder `profile`.
pub fn chrome_capabilities(profile: &Path) -> Map<String, Value> {
    let mut caps = Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--window-size=1400,1000",
            format!("--user-data-dir={}", profile.display()),
        ]}),
    );
    caps
}

/// A headless Chromium driven through `driver` (the first connection retried for 20 s,
/// until the freshly started driver listens), with `timeouts` (script, page load,
/// implicit wait).
pub async fn connect(driver: &Chromedriver, timeouts: TimeoutConfiguration) -> Client {
    // fantoccini's rustls takes the process default provider, and this test binary links
    // both of rustls' providers: name one.
    lianrong_tls::install_default_provider();
    let deadline = Instant::now() + Duration::from_secs(20);
    let c = loop {
        match ClientBuilder::rustls()
            .unwrap()
            .capabilities(driver.capabilities())
            .connect(&driver.url())
            .await
        {
            Ok(c) => break c,
            Err(e) => {
                assert!(Instant::now() < deadline, "chromedriver: {e}");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    };
    c.update_timeouts(timeouts).await.unwrap();
    c
}

/// `target/explorer-screenshots/` (created if missing).
pub fn shots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let d = target.join("explorer-screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A screenshot of the current page as `target/explorer-screenshots/{name}.png`.
pub async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots_dir().join(format!("{name}.png")), png).unwrap();
}

/// An explorer account with password `password`.
pub fn account(username: &str, password: &str, role: AccountRole, org: &str) -> Account {
    Account {
        username: username.into(),
        password_hash: lianrong_explorer::hash_password(password),
        role,
        org: Some(org.into()),
    }
}

/// An explorer served in-process on a free loopback port until [`ServedExplorer::stop`].
pub struct ServedExplorer {
    /// Its base URL (`http://localhost:{port}`: secure cookies are accepted on localhost).
    pub base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), String>>,
}

/// Binds the explorer of `cfg` on a free loopback port and serves it on the current tokio
/// runtime.
pub async fn serve_explorer(mut cfg: ExplorerConfig) -> ServedExplorer {
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    let explorer = lianrong_explorer::bind(cfg).await.unwrap();
    let base = format!("http://localhost:{}", explorer.local_addr().port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        explorer
            .run(async move {
                let _ = stopped.await;
            })
            .await
            .map_err(|e| e.to_string())
    });
    ServedExplorer { base, stop, server }
}

impl ServedExplorer {
    /// Stops serving; how the server ended.
    pub async fn stop(self) -> Result<(), String> {
        let _ = self.stop.send(());
        self.server.await.map_err(|e| e.to_string())?
    }
}

/// Logs in to the explorer at `base` as `user` (it must succeed within 10 s).
pub async fn login(c: &Client, base: &str, user: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    for (field, value) in [("username", user), ("password", password)] {
        c.find(Locator::Id(field))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    click(c, "login").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("logout"))
        .await
        .unwrap_or_else(|e| panic!("{user} could not log in: {e}"));
}

/// Clicks the element of id `id` on the current page.
pub async fn click(c: &Client, id: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The text of the element of id `id` on the current page.
pub async fn text_of(c: &Client, id: &str) -> String {
    c.find(Locator::Id(id)).await.unwrap().text().await.unwrap()
}

/// What a page must show before a test goes on.
#[derive(Debug, Clone, Copy)]
pub enum Shows<'a> {
    /// The element of this id.
    Element(&'a str),
    /// This text in its source.
    Text(&'a str),
}

/// Opens `url` again every half second until it shows `what` (the explorer indexes in
/// the background); fails after 60 s.
pub async fn open_until(c: &Client, url: &str, what: Shows<'_>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        c.goto(url).await.unwrap();
        let shown = match what {
            Shows::Element(id) => c.find(Locator::Id(id)).await.is_ok(),
            Shows::Text(needle) => c.source().await.unwrap().contains(needle),
        };
        if shown {
            return;
        }
        assert!(Instant::now() < deadline, "{url} never showed {what:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until the text of element `id` contains `needle` (a live update, without a
/// reload); fails after 30 s, saying `what` did not happen.
pub async fn wait_for_text(c: &Client, id: &str, needle: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = text_of(c, id).await;
        if text.contains(needle) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What the page shows after a click on a verify button: `data-result` of
/// `#verify-result` (`valid` or `invalid`), its title, and the checks marked failed.
#[derive(Debug)]
pub struct PageVerdict {
    /// `valid` or `invalid`.
    pub result: String,
    /// The verdict's heading.
    pub title: String,
    /// The checks marked failed.
    pub failed: Vec<String>,
}

/// Clicks the verify button `button` on the current page and waits (polled, 30 s at most)
/// for the verdict of this click (the last one is cleared first).
pub async fn click_verify(c: &Client, button: &str) -> PageVerdict {
    c.execute(
        "document.getElementById('verify-result').dataset.result = '';",
        vec![],
    )
    .await
    .unwrap();
    click(c, button).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = c
            .execute(
                "const el = document.getElementById('verify-result'); \
                 const h = el.querySelector('h3'); \
                 return {result: el.dataset.result || '', \
                         title: h ? h.textContent : '', \
                         failed: Array.from(el.querySelectorAll('li.bad')).map((li) => li.textContent)};",
                vec![],
            )
            .await
            .unwrap();
        let result = v["result"].as_str().unwrap_or_default().to_string();
        if result == "valid" || result == "invalid" {
            return PageVerdict {
                result,
                title: v["title"].as_str().unwrap_or_default().to_string(),
                failed: strings(&v["failed"]),
            };
        }
        assert!(Instant::now() < deadline, "no verdict for {button}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The strings of a JSON array (none if `v` is not one).
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}
