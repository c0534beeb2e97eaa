//! Headless Chromium for the browser tests: whether chromedriver is there (skip on a
//! developer's machine, fail in CI), a chromedriver of the test's own on a free port
//! (killed on drop), the capabilities that start Chromium headless with a throw-away
//! profile, and where screenshots go. The WebDriver client itself (fantoccini) is a
//! dev-dependency, so tests connect it: `ClientBuilder::rustls()?.capabilities(caps)
//! .connect(&driver.url())`, retried until the driver listens ([`connect_deadline`]).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

/// A free loopback port (the listener is closed again, so race-prone but fine for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

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

/// How long to keep retrying the first connection to a freshly started chromedriver.
pub fn connect_deadline() -> Instant {
    Instant::now() + Duration::from_secs(20)
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
