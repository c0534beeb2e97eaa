//! A harness for integration tests: writes a `lianrong testnet`, starts real `lianrong
//! node` processes on loopback (ports chosen free at run time), talks to their HTTP API,
//! and kills every process when dropped -- also when a test panics.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

pub mod browser;
pub mod dishonest;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use lianrong_contracts::{Action, SignedTransaction, Signer, Transaction};
use lianrong_primitives::{OrgId, SecretKey};
use serde_json::Value;

/// The `lianrong` binary built by this workspace.
pub fn lianrong_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    for profile in ["debug", "release"] {
        let p = target.join(profile).join("lianrong");
        if p.exists() {
            return p;
        }
    }
    panic!("the lianrong binary is not built: run `cargo build -p lianrong` (scripts/test does)");
}

/// One node process of a cluster.
pub struct NodeProc {
    /// Folder name (bank, core-a, ...).
    pub name: String,
    /// Its config file.
    pub config: PathBuf,
    /// Its API base URL.
    pub api: String,
    /// The ledger clock offset file the node follows (`--dev-clock-file`), if any.
    pub clock_file: Option<PathBuf>,
    child: Option<Child>,
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        self.kill();
    }
}

impl NodeProc {
    /// A node process (not started) for a config whose API listens on `api_port`.
    pub fn new(name: &str, config: PathBuf, api_port: u16) -> NodeProc {
        NodeProc {
            name: name.into(),
            config,
            api: format!("http://127.0.0.1:{api_port}"),
            clock_file: None,
            child: None,
        }
    }

    /// Starts (or restarts) the process.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let log = std::fs::File::create(self.config.with_file_name("node.log")).unwrap();
        let child = Command::new(lianrong_bin())
            .args(["node", "--config"])
            .arg(&self.config)
            .args(
                self.clock_file
                    .iter()
                    .flat_map(|f| [OsStr::new("--dev-clock-file"), f.as_os_str()]),
            )
            // LIANRONG_TEST_NODE_LOG (e.g. `debug,libp2p=warn`) to diagnose a failure.
            .env(
                "RUST_LOG",
                std::env::var("LIANRONG_TEST_NODE_LOG")
                    .unwrap_or_else(|_| "info,libp2p=warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGSTOP: the process freezes with every socket open, as a paused VM or a
    /// partition looks to its peers. SIGKILL (`kill`, drop) still ends it.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after [`NodeProc::pause`].
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let child = self.child.as_ref().expect("the node is not running");
        let status = Command::new("kill")
            .arg(sig)
            .arg(child.id().to_string())
            .status()
            .expect("kill(1) runs");
        assert!(status.success(), "kill {sig} {} failed", self.name);
    }

    /// True while the process runs.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// The node's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.config.with_file_name("node.log")).unwrap_or_default()
    }
}

/// A running local network.
pub struct Cluster {
    /// The testnet folder (kept alive by `_dir`).
    pub dir: PathBuf,
    /// The nodes.
    pub nodes: Vec<NodeProc>,
    /// The chain id.
    pub chain_id: String,
    /// The ledger clock offset file every node follows (`start_with_clock`).
    pub clock_file: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            n.kill();
        }
    }
}

/// How long to wait for a node to answer at all.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a wait looks at its condition again.
pub const POLL: Duration = Duration::from_millis(100);

/// Polls `cond` every [`POLL`] until it holds; panics after `timeout`, naming `what`.
/// The one way these tests wait: for a condition that shows what they need, never for a
/// fixed time that is supposed to prove something did not happen.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting until {what}"
        );
        std::thread::sleep(POLL);
    }
}

impl Cluster {
    /// Writes a testnet of `validators` nodes and starts them all.
    pub fn start(validators: usize) -> Cluster {
        Self::start_inner(validators, false)
    }

    /// Like [`Cluster::start`], but every node follows a ledger clock offset file
    /// (`lianrong node --dev-clock-file`, initially 0) that [`Cluster::set_clock_offset_ms`]
    /// moves forward, so maturity and overdue arrive in seconds.
    pub fn start_with_clock(validators: usize) -> Cluster {
        Self::start_inner(validators, true)
    }

    fn start_inner(validators: usize, clock: bool) -> Cluster {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("net");
        let out = Command::new(lianrong_bin())
            .args([
                "testnet",
                "--validators",
                &validators.to_string(),
                "--json",
                "--out",
            ])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "testnet failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        let clock_file = clock.then(|| {
            let f = dir.join("clock-offset-ms");
            std::fs::write(&f, "0\n").unwrap();
            f
        });
        let nodes = listed
            .iter()
            .map(|n| NodeProc {
                name: n["name"].as_str().unwrap().into(),
                config: PathBuf::from(n["config"].as_str().unwrap()),
                api: n["api"].as_str().unwrap().into(),
                clock_file: clock_file.clone(),
                child: None,
            })
            .collect();
        let genesis: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("genesis.json")).unwrap())
                .unwrap();
        let mut c = Cluster {
            dir,
            nodes,
            chain_id: genesis["chain_id"].as_str().unwrap().into(),
            clock_file,
            _dir: tmp,
        };
        for n in &mut c.nodes {
            n.start();
        }
        for i in 0..c.nodes.len() {
            c.wait_up(i);
        }
        c
    }

    /// The API token of an org.
    pub fn token(&self, org: &str) -> String {
        std::fs::read_to_string(self.dir.join("keys").join(format!("{org}.token")))
            .unwrap()
            .trim()
            .to_string()
    }

    /// The member key of an org.
    pub fn member_key(&self, org: &str) -> SecretKey {
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(self.dir.join("keys").join(format!("{org}.json"))).unwrap(),
        )
        .unwrap();
        let mut seed = [0u8; 32];
        hex::decode_to_slice(v["secret_key"].as_str().unwrap(), &mut seed).unwrap();
        SecretKey::from_seed(seed)
    }

    /// Waits until node `i` answers `/v1/status`.
    pub fn wait_up(&self, i: usize) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if self.get(i, "/v1/status", "AUDIT").is_ok() {
                return;
            }
            std::thread::sleep(POLL);
        }
        panic!(
            "node {} did not come up:\n{}",
            self.nodes[i].name,
            self.nodes[i].log()
        );
    }

    /// GET as `org` (bearer token); Err carries (status, body).
    pub fn get(&self, i: usize, path: &str, org: &str) -> Result<Value, (u16, String)> {
        let r = ureq::get(&format!("{}{path}", self.nodes[i].api))
            .set("Authorization", &format!("Bearer {}", self.token(org)))
            .timeout(Duration::from_secs(10))
            .call();
        answer(r)
    }

    /// POST a signed transaction to node `i`, waiting for commit when `wait`.
    pub fn submit(
        &self,
        i: usize,
        tx: &SignedTransaction,
        org: &str,
        wait: bool,
    ) -> Result<Value, (u16, String)> {
        let q = if wait { "?wait=commit" } else { "" };
        let r = ureq::post(&format!("{}/v1/transactions{q}", self.nodes[i].api))
            .set("Authorization", &format!("Bearer {}", self.token(org)))
            .timeout(Duration::from_secs(40))
            .send_json(serde_json::json!({"tx": hex::encode(tx.encode())}));
        answer(r)
    }

    /// Current consensus round of node `i` (as of its last finalized block).
    pub fn round(&self, i: usize) -> u64 {
        self.get(i, "/v1/status", "AUDIT")
            .map(|s| s["round"].as_u64().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Current height of node `i`.
    pub fn height(&self, i: usize) -> u64 {
        self.get(i, "/v1/status", "AUDIT")
            .map(|s| s["height"].as_u64().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Waits until every running node reached `height`.
    pub fn wait_height(&self, height: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let hs: Vec<u64> = (0..self.nodes.len())
                .filter(|i| self.nodes[*i].running())
                .map(|i| self.height(i))
                .collect();
            if hs.iter().all(|h| *h >= height) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "heights {hs:?} did not reach {height}"
            );
            std::thread::sleep(POLL);
        }
    }
}

impl Cluster {
    /// Moves every node's ledger clock to `ms` milliseconds past the wall clock (forward
    /// only: a smaller offset changes nothing). The nodes re-read the file twice a second;
    /// wait on the ledger (a block time, a status) rather than for a fixed time.
    pub fn set_clock_offset_ms(&self, ms: u64) {
        let file = self
            .clock_file
            .as_ref()
            .expect("this cluster has no clock file: start it with Cluster::start_with_clock");
        // Written whole and renamed, so a node never reads half a number.
        let tmp = file.with_extension("tmp");
        std::fs::write(&tmp, format!("{ms}\n")).unwrap();
        std::fs::rename(&tmp, file).unwrap();
    }

    /// The member key file of an org (what `--key` takes).
    pub fn key_file(&self, org: &str) -> PathBuf {
        self.dir.join("keys").join(format!("{org}.json"))
    }

    /// Runs a `lianrong` client verb as `org` against node `i`, with `--node`, `--key` and
    /// `--json` appended.
    pub fn cli(&self, i: usize, org: &str, args: &[&str]) -> CliRun {
        let key = self.key_file(org);
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend([
            "--node".to_string(),
            self.nodes[i].api.clone(),
            "--key".to_string(),
            key.to_string_lossy().into_owned(),
            "--json".to_string(),
        ]);
        run_cli(&all)
    }
}

/// One run of the `lianrong` binary.
#[derive(Debug)]
pub struct CliRun {
    /// The arguments it ran with.
    pub args: Vec<String>,
    /// Its exit status.
    pub status: ExitStatus,
    /// Stdout parsed as JSON (`Null` when it is not JSON, e.g. empty after a failure).
    pub json: Value,
    /// Stdout as text.
    pub stdout: String,
    /// Stderr as text.
    pub stderr: String,
}

impl CliRun {
    /// The JSON output of a run that must have succeeded (panics with stderr otherwise).
    pub fn ok(&self) -> &Value {
        assert!(
            self.status.success(),
            "`lianrong {}` failed ({}): {}",
            self.args.join(" "),
            self.status,
            self.stderr
        );
        assert!(
            !self.json.is_null(),
            "`lianrong {}` printed no JSON: {}",
            self.args.join(" "),
            self.stdout
        );
        &self.json
    }

    /// The reason of a run that must have failed: a non-zero exit and exactly one
    /// non-empty line on stderr, which is returned.
    pub fn refused(&self) -> &str {
        assert!(
            !self.status.success(),
            "`lianrong {}` succeeded but should have failed: {}",
            self.args.join(" "),
            self.stdout
        );
        let reason = self.stderr.trim_end_matches('\n');
        assert!(
            !reason.trim().is_empty() && !reason.contains('\n'),
            "`lianrong {}` must give a one-line reason on stderr, got {:?}",
            self.args.join(" "),
            self.stderr
        );
        reason
    }
}

/// Runs the `lianrong` binary with `args` and collects its exit status and output.
pub fn run_cli<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> CliRun {
    let out = Command::new(lianrong_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    CliRun {
        args: args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect(),
        status: out.status,
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn answer(r: Result<ureq::Response, ureq::Error>) -> Result<Value, (u16, String)> {
    match r {
        Ok(resp) => resp.into_json::<Value>().map_err(|e| (0, e.to_string())),
        Err(ureq::Error::Status(code, resp)) => Err((code, resp.into_string().unwrap_or_default())),
        Err(e) => Err((0, e.to_string())),
    }
}

/// A signed transaction by `org`'s member key.
pub fn sign(
    chain_id: &str,
    org: &str,
    key: &SecretKey,
    nonce: u64,
    action: Action,
) -> SignedTransaction {
    Transaction {
        chain_id: chain_id.into(),
        signer: Signer {
            org: OrgId::new(org).unwrap(),
            key: key.public(),
        },
        nonce,
        action,
    }
    .sign(key)
}

/// A spare node of a cluster (`lianrong testnet --spares`): running from the start, not
/// in genesis, a full node of every validator, ready to be proposed as a validator.
#[derive(Debug, Clone)]
pub struct Spare {
    /// Its position in [`Cluster::nodes`] (after the validators).
    pub index: usize,
    /// Its node key (hex), for `governance propose add-validator --node-key`.
    pub node_key: String,
    /// Its p2p multiaddr, for `--address`.
    pub address: String,
    /// The org meant to run it, for `--org`.
    pub org: String,
}

impl Cluster {
    /// Like [`Cluster::start`], plus `spares` spare nodes (listed after the validators in
    /// `nodes`, described by the returned [`Spare`]s); every node is started and up.
    pub fn start_with_spares(validators: usize, spares: usize) -> (Cluster, Vec<Spare>) {
        let (mut c, found) = Self::write_with_spares(validators, spares);
        c.start_all();
        (c, found)
    }

    /// Starts every node that is not running and waits until each answers.
    pub fn start_all(&mut self) {
        for n in &mut self.nodes {
            if !n.running() {
                n.start();
            }
        }
        for i in 0..self.nodes.len() {
            self.wait_up(i);
        }
    }

    /// Writes a testnet like [`Cluster::start_with_spares`] but starts nothing, so a test
    /// may change the configs first; then [`Cluster::start_all`].
    pub fn write_with_spares(validators: usize, spares: usize) -> (Cluster, Vec<Spare>) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("net");
        let out = Command::new(lianrong_bin())
            .args([
                "testnet",
                "--validators",
                &validators.to_string(),
                "--spares",
                &spares.to_string(),
                "--json",
                "--out",
            ])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "testnet failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(listed.len(), validators + spares, "{listed:?}");
        let mut nodes = Vec::new();
        let mut found = Vec::new();
        for (index, n) in listed.iter().enumerate() {
            let spare = n["spare"].as_bool().unwrap();
            assert_eq!(spare, index >= validators, "spares come last: {n}");
            if spare {
                found.push(Spare {
                    index,
                    node_key: n["node_key"].as_str().unwrap().into(),
                    address: n["p2p"].as_str().unwrap().into(),
                    org: n["org"].as_str().unwrap().into(),
                });
            }
            nodes.push(NodeProc {
                name: n["name"].as_str().unwrap().into(),
                config: PathBuf::from(n["config"].as_str().unwrap()),
                api: n["api"].as_str().unwrap().into(),
                clock_file: None,
                child: None,
            });
        }
        let genesis: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("genesis.json")).unwrap())
                .unwrap();
        let c = Cluster {
            dir,
            nodes,
            chain_id: genesis["chain_id"].as_str().unwrap().into(),
            clock_file: None,
            _dir: tmp,
        };
        (c, found)
    }

    /// Rewrites node `i`'s `config.toml` through `edit` (the node reads it when it starts).
    pub fn edit_config(&self, i: usize, edit: impl FnOnce(&mut toml::Table)) {
        let path = &self.nodes[i].config;
        let mut cfg: toml::Table = std::fs::read_to_string(path).unwrap().parse().unwrap();
        edit(&mut cfg);
        std::fs::write(path, toml::to_string(&cfg).unwrap()).unwrap();
    }

    /// `GET /v1/status` of node `i` as the auditor (`Null` if it does not answer).
    pub fn status(&self, i: usize) -> Value {
        self.get(i, "/v1/status", "AUDIT").unwrap_or(Value::Null)
    }

    /// Waits until each of the nodes `which` reached `height` (the others may lag or be
    /// stopped); the panic message names every node's height and the laggards' logs' tails.
    pub fn wait_nodes_height(&self, which: &[usize], height: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let hs: Vec<u64> = which.iter().map(|i| self.height(*i)).collect();
            if hs.iter().all(|h| *h >= height) {
                return;
            }
            if Instant::now() >= deadline {
                let tails: Vec<String> = which
                    .iter()
                    .zip(&hs)
                    .filter(|(_, h)| **h < height)
                    .map(|(i, h)| {
                        format!(
                            "--- {} at height {h}, last log lines:\n{}",
                            self.nodes[*i].name,
                            self.nodes[*i].log_tail(40)
                        )
                    })
                    .collect();
                panic!(
                    "heights {:?} of {:?} did not reach {height} in {timeout:?}\n{}",
                    hs,
                    which
                        .iter()
                        .map(|i| self.nodes[*i].name.as_str())
                        .collect::<Vec<_>>(),
                    tails.join("\n")
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

impl NodeProc {
    /// The last `lines` lines of the node's log (for failure messages).
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}
