//! The explorer on the preloaded ledger: `lianrong explorer` started as its own process
//! (SQLite index in the bench's folder, following the last validator with the auditor's
//! token) when the preload starts, so it indexes while the ledger fills; once the
//! preload is done and the index reached the ledger's height, its pages and CSV exports
//! are timed as a browser reads them (logged in, with the session cookie), as the
//! auditor and as one SME's own account.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use lianrong_explorer::{Account, AccountRole, ExplorerConfig};
use serde::Serialize;

use super::http::{request, Answer};
use super::plan::{sme_id, Plan};
use super::sample::{EndpointFigures, Rng, Sampler};
use super::tally::Tally;

/// The bench's explorer password (loopback only, gone with the folder).
const PASSWORD: &str = "bench-preload";
/// The SME whose own account reads the lists.
const SME: usize = 0;
/// The index gives up when its height did not move for this long.
const STALL: Duration = Duration::from_secs(180);
/// Samples of the whole-ledger CSV export.
const MAX_FULL_EXPORTS: usize = 3;

/// The explorer process (killed when dropped).
pub struct ExplorerProc {
    child: Child,
    addr: SocketAddr,
    started: Instant,
    log: PathBuf,
}

impl Drop for ExplorerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the explorer showed (under `preload.explorer` in `--json`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExplorerFigures {
    /// The ledger height its index had to reach (the last preload block).
    pub target_height: u64,
    /// Seconds from its start (with the preload's) until its index reached it.
    pub seconds_to_index: f64,
    /// Of those, seconds after the preload's last commit.
    pub seconds_after_preload: f64,
    /// Receivables its dashboard counts for the auditor.
    pub receivables_seen: Option<u64>,
    /// Its CPU seconds (user + system) until its index reached the target height.
    pub cpu_seconds_to_index: Option<f64>,
    /// Its peak RSS (VmHWM, MiB) once every page was timed.
    pub peak_rss_mib: Option<f64>,
    /// Per page or export.
    pub endpoints: Vec<EndpointFigures>,
    /// Why it was not (fully) measured.
    pub error: Option<String>,
}

/// A free loopback port (another process may take it before the explorer binds it).
fn free_addr() -> Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

/// Writes the explorer's config into `dir` and starts `lianrong explorer` on it.
pub fn start(dir: &Path, node_url: &str, token: &str, genesis: &Path) -> Result<ExplorerProc> {
    std::fs::create_dir_all(dir)?;
    let addr = free_addr()?;
    let mut cfg = ExplorerConfig::new(node_url, token);
    cfg.listen = addr;
    cfg.secure_cookies = false;
    cfg.genesis = Some(genesis.to_path_buf());
    cfg.database = Some(format!("sqlite://{}", dir.join("explorer.db").display()));
    let hash = lianrong_explorer::hash_password(PASSWORD);
    cfg.accounts = vec![
        Account {
            username: "auditor".into(),
            password_hash: hash.clone(),
            role: AccountRole::Auditor,
            org: None,
        },
        Account {
            username: "sme".into(),
            password_hash: hash,
            role: AccountRole::Org,
            org: Some(sme_id(SME)),
        },
    ];
    let path = dir.join("explorer.toml");
    std::fs::write(&path, toml::to_string(&cfg)?)?;
    let log = dir.join("explorer.log");
    let child = Command::new(std::env::current_exe()?)
        .args(["explorer", "--config"])
        .arg(&path)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .context("starting the explorer")?;
    Ok(ExplorerProc {
        child,
        addr,
        started: Instant::now(),
        log,
    })
}

async fn get(addr: SocketAddr, path: &str, session: &str) -> Result<Answer, String> {
    let a = request(addr, path, Some(&format!("lr_session={session}")), None).await?;
    match a.status {
        200 => Ok(a),
        s => Err(format!(
            "{path}: status {s}: {}",
            a.text().chars().take(200).collect::<String>()
        )),
    }
}

impl ExplorerProc {
    /// Logs `user` in (the CSRF cookie first, then the form); its session id.
    async fn login(&mut self, user: &str) -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let page = loop {
            match request(self.addr, "/login", None, None).await {
                Ok(a) if a.status == 200 => break a,
                _ if Instant::now() > deadline => bail!(
                    "the explorer did not serve /login within 60 s (see {})",
                    self.log.display()
                ),
                _ => {}
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!("the explorer exited ({status}): see {}", self.log.display());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let csrf = page
            .cookie("lr_csrf")
            .ok_or_else(|| anyhow!("no CSRF cookie"))?;
        let form = format!("csrf={csrf}&username={user}&password={PASSWORD}");
        let cookie = format!("lr_csrf={csrf}");
        let a = request(self.addr, "/login", Some(&cookie), Some(&form))
            .await
            .map_err(|e| anyhow!(e))?;
        a.cookie("lr_session")
            .ok_or_else(|| anyhow!("login of {user} refused: status {}", a.status))
    }

    /// Waits until the index holds block `height`; the dashboard's receivable count.
    async fn wait_indexed(&self, session: &str, height: u64) -> Result<Option<u64>> {
        let mut last = (0, Instant::now());
        loop {
            let page = get(self.addr, "/", session).await.map_err(|e| anyhow!(e))?;
            let text = page.text();
            let h = between(&text, "id=\"live-height\">", "<")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0);
            if h >= height {
                return Ok(receivables_seen(&text));
            }
            if h > last.0 {
                last = (h, Instant::now());
            } else if last.1.elapsed() > STALL {
                bail!("the explorer's index stayed at height {h} of {height} for {STALL:?}");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// "N invoices, M receivables, T txs" of the dashboard: M.
fn receivables_seen(text: &str) -> Option<u64> {
    let card = between(text, "id=\"you-can-see\">", "</div>")?;
    card.split(',')
        .find_map(|p| p.trim().strip_suffix(" receivables"))
        .and_then(|n| n.trim().parse().ok())
}

/// What the page measurement needs.
pub struct Pages<'a> {
    /// The preload's shape.
    pub plan: &'a Plan,
    /// The expected ledger.
    pub tally: &'a Tally,
    /// Requests per class.
    pub samples: usize,
    /// When the preload's last transaction committed.
    pub preload_end: Instant,
    /// The ledger's height then.
    pub height: u64,
}

/// Logs the auditor in and waits until the index reached the preload's last block:
/// the figures so far and the auditor's session. Failures end up in `error`.
pub async fn wait_index(
    proc: &mut ExplorerProc,
    p: &Pages<'_>,
) -> (ExplorerFigures, Option<String>) {
    let mut f = ExplorerFigures {
        target_height: p.height,
        ..Default::default()
    };
    let waited = async {
        let auditor = proc.login("auditor").await?;
        let seen = proc.wait_indexed(&auditor, p.height).await?;
        anyhow::Ok((auditor, seen))
    };
    match waited.await {
        Ok((auditor, seen)) => {
            f.receivables_seen = seen;
            f.seconds_to_index = proc.started.elapsed().as_secs_f64();
            f.seconds_after_preload = p.preload_end.elapsed().as_secs_f64();
            f.cpu_seconds_to_index = proc.usage().map(|(cpu, _)| cpu);
            (f, Some(auditor))
        }
        Err(e) => {
            f.error = Some(format!("{e:#}"));
            (f, None)
        }
    }
}

impl ExplorerProc {
    /// (CPU seconds, peak RSS MiB) of the process so far, if /proc tells.
    fn usage(&self) -> Option<(f64, f64)> {
        crate::bench::proc_figures(self.child.id())
            .map_err(|e| tracing::warn!("explorer CPU and memory not read: {e:#}"))
            .ok()
    }
}

/// Times every page class into `f` (a failure to log in ends up in `error`), then
/// reads the process's peak RSS.
pub async fn time_pages(
    proc: &mut ExplorerProc,
    p: &Pages<'_>,
    auditor: String,
    f: &mut ExplorerFigures,
) {
    let sme = match proc.login("sme").await {
        Ok(s) => s,
        Err(e) => {
            f.error = Some(format!("{e:#}"));
            return;
        }
    };
    for c in classes(proc.addr, p.samples, &auditor, &sme) {
        f.endpoints.push(c.time(p).await);
    }
    f.peak_rss_mib = proc.usage().map(|(_, rss)| rss);
}

/// Every page class with its session and sample count.
fn classes(addr: SocketAddr, all: usize, auditor: &str, sme: &str) -> Vec<Class> {
    let run = |name: &'static str, session: &str, n: usize, seed: u64| Class {
        addr,
        name,
        session: session.to_string(),
        n: n.min(all),
        seed,
    };
    vec![
        run("/", auditor, all, 1),
        run("/receivables", auditor, all, 2),
        run("/receivables?org=PS-n", auditor, all, 3),
        run("/receivables?status=split&after=RCV-n", auditor, all, 4),
        run("/receivables/RCV-n", auditor, all, 5),
        run("/invoices/IN-Pn-j", auditor, all, 6),
        run("/orgs/PS-n", auditor, all, 7),
        run("/txs", auditor, all, 8),
        run("/blocks", auditor, all, 9),
        run("/receivables (an SME's own account)", sme, all, 10),
        run("/invoices (an SME's own account)", sme, all, 11),
        run("/risk/exposure", auditor, all, 12),
        run("/risk/ladder", auditor, all, 13),
        run("/receivables?format=csv&org=PS-n", auditor, all, 14),
        run("/invoices?format=csv&org=PS-n", auditor, all, 15),
        run("/txs?format=csv&org=PS-n", auditor, all, 16),
        run("/orgs?format=csv", auditor, all, 17),
        run(
            "/receivables?format=csv (whole ledger)",
            auditor,
            MAX_FULL_EXPORTS,
            18,
        ),
    ]
}

/// One page class: its requests and their targets.
struct Class {
    addr: SocketAddr,
    name: &'static str,
    session: String,
    n: usize,
    seed: u64,
}

impl Class {
    /// The path of one request (random targets from `rng`) and the rows expected.
    fn target(&self, p: &Pages<'_>, rng: &mut Rng) -> (String, Option<u64>) {
        let sme = sme_id(rng.below(p.plan.smes as u64) as usize);
        let top = p.tally.max_receivable.max(1);
        let orders = p.plan.orders().max(1);
        match self.name {
            "/receivables?org=PS-n" => (format!("/receivables?org={sme}"), None),
            // A deep page is a keyset step from any receivable (the explorer serves
            // `?page=N` by skipping rows only for the first pages).
            "/receivables?status=split&after=RCV-n" => (
                format!("/receivables?status=split&after=RCV-{}", 1 + rng.below(top)),
                None,
            ),
            "/receivables/RCV-n" => (format!("/receivables/RCV-{}", 1 + rng.below(top)), None),
            "/invoices/IN-Pn-j" => {
                let o = rng.below(orders);
                let j = rng.below(p.plan.invoices_of(o).max(1));
                (format!("/invoices/IN-P{o}-{j}"), None)
            }
            "/orgs/PS-n" => (format!("/orgs/{sme}"), None),
            "/receivables (an SME's own account)" => ("/receivables".into(), None),
            "/invoices (an SME's own account)" => ("/invoices".into(), None),
            "/receivables?format=csv&org=PS-n" => {
                (format!("/receivables?format=csv&org={sme}"), None)
            }
            "/invoices?format=csv&org=PS-n" => (format!("/invoices?format=csv&org={sme}"), None),
            "/txs?format=csv&org=PS-n" => (format!("/txs?format=csv&org={sme}"), None),
            "/receivables?format=csv (whole ledger)" => {
                ("/receivables?format=csv".into(), Some(p.tally.receivables))
            }
            other => (other.to_string(), None),
        }
    }

    async fn time(self, p: &Pages<'_>) -> EndpointFigures {
        let mut s = Sampler::new(format!("GET {}", self.name));
        let mut rng = Rng::new(100 + self.seed);
        while s.taken() < self.n {
            let (path, want) = self.target(p, &mut rng);
            let csv = path.contains("format=csv");
            if let Some(a) = s.time(get(self.addr, &path, &self.session)).await {
                // A CSV's lines less its header; a page's bytes.
                let got = if csv {
                    a.lines.saturating_sub(1)
                } else {
                    a.bytes
                };
                s.count(&path, got, want);
            }
        }
        s.finish()
    }
}
