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
pub mod drill;
pub mod faultnet;
pub mod load;
pub mod ports;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use lianrong_contracts::action::InvoiceSpec;
use lianrong_contracts::exec::business_date;
use lianrong_contracts::model::DocId;
use lianrong_contracts::money::Money;
use lianrong_contracts::{Action, SignedTransaction, Signer, Transaction};
use lianrong_primitives::{Hash, OrgId, SecretKey};
use serde_json::Value;

/// The `lianrong` binary built by this workspace, or the one `LIANRONG_BIN` names (the
/// long fault runs use a release build).
pub fn lianrong_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("LIANRONG_BIN") {
        return PathBuf::from(bin);
    }
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

/// Runs `lianrong bench` with `args` (which should include `--json`) and returns its
/// report; a failed run fails the test with the bench's own message.
pub fn bench_report<I, S>(args: I) -> Value
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = Command::new(lianrong_bin())
        .arg("bench")
        .args(args)
        .output()
        .expect("lianrong bench did not start");
    assert!(
        out.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("bench --json printed no report")
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
    /// Extra environment for the process (the fault harness's libfaketime settings).
    pub env: Vec<(String, String)>,
    /// Extra arguments of `lianrong node` (e.g. `--snapshot-from URL`).
    pub args: Vec<String>,
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
            env: Vec::new(),
            args: Vec::new(),
            child: None,
        }
    }

    /// Starts (or restarts) the process.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        // Appended to: a restarted node's log keeps what it said before.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.config.with_file_name("node.log"))
            .unwrap();
        let child = Command::new(lianrong_bin())
            .args(["node", "--config"])
            .arg(&self.config)
            .args(
                self.clock_file
                    .iter()
                    .flat_map(|f| [OsStr::new("--dev-clock-file"), f.as_os_str()]),
            )
            .args(&self.args)
            // LIANRONG_TEST_NODE_LOG (e.g. `debug,libp2p=warn`) to diagnose a failure.
            .env(
                "RUST_LOG",
                std::env::var("LIANRONG_TEST_NODE_LOG")
                    .unwrap_or_else(|_| "info,libp2p=warn".into()),
            )
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// If the process ended on its own, how (and it counts as not running from now on).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        Some(status)
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
    /// The CA and client certificate of a network written with `testnet --tls`.
    pub tls: Option<ClusterTls>,
    /// The HTTP(S) client of [`Cluster::get`] and [`Cluster::submit`].
    agent: ureq::Agent,
    _dir: tempfile::TempDir,
}

/// The TLS files `lianrong testnet --tls` writes (under `tls/`).
#[derive(Debug, Clone)]
pub struct ClusterTls {
    /// The network's CA certificate (what `--ca` takes).
    pub ca: PathBuf,
    /// A client certificate of that CA (`--client-cert`).
    pub client_cert: PathBuf,
    /// Its key (`--client-key`).
    pub client_key: PathBuf,
}

impl ClusterTls {
    /// The files of the testnet in `dir`.
    pub fn of(dir: &Path) -> ClusterTls {
        ClusterTls {
            ca: dir.join("tls/ca.pem"),
            client_cert: dir.join("tls/client.pem"),
            client_key: dir.join("tls/client-key.pem"),
        }
    }

    /// The CLI flags that trust the CA and present the client certificate.
    pub fn cli_args(&self) -> Vec<String> {
        [
            ("--ca", &self.ca),
            ("--client-cert", &self.client_cert),
            ("--client-key", &self.client_key),
        ]
        .iter()
        .flat_map(|(flag, path)| [flag.to_string(), path.to_string_lossy().into_owned()])
        .collect()
    }
}

/// A client that opens a new connection for every request (as `ureq::get` does: a
/// killed node leaves no stale pooled connection behind); with `tls`, it trusts the
/// network's CA and presents its client certificate.
fn agent(tls: Option<&ClusterTls>) -> ureq::Agent {
    let builder = ureq::AgentBuilder::new().max_idle_connections(0);
    let builder = match tls {
        None => builder,
        Some(t) => builder.tls_config(std::sync::Arc::new(
            lianrong_tls::client_config(Some(&t.ca), Some((&t.client_cert, &t.client_key)))
                .unwrap(),
        )),
    };
    builder.build()
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
/// The port of a `http://host:port` URL.
fn port_of_url(url: &str) -> u16 {
    let port = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap_or_default();
    port.parse()
        .unwrap_or_else(|_| panic!("URL {url} has no port"))
}

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
        let (mut c, _) = Self::write_with_spares(validators, 0);
        if clock {
            let f = c.dir.join("clock-offset-ms");
            std::fs::write(&f, "0\n").unwrap();
            for n in &mut c.nodes {
                n.clock_file = Some(f.clone());
            }
            c.clock_file = Some(f);
        }
        c.start_all();
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
        let r = self
            .agent
            .get(&format!("{}{path}", self.nodes[i].api))
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
        let r = self
            .agent
            .post(&format!("{}/v1/transactions{q}", self.nodes[i].api))
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
        self.run_as(i, org, &[args, &["--json"]].concat())
    }

    /// Runs `lianrong` with `args` as `org` against node `i`: `--node` and `--key`
    /// appended (and, on a TLS network, the CA and the client certificate).
    pub fn run_as(&self, i: usize, org: &str, args: &[&str]) -> CliRun {
        self.run_with_key(i, &self.key_file(org), args)
    }

    /// Runs `lianrong` with `args` signed by the member key file `key` against node `i`
    /// (another key of an org than its cast key: dual control), `--json` appended.
    pub fn cli_with_key(&self, i: usize, key: &Path, args: &[&str]) -> CliRun {
        self.run_with_key(i, key, &[args, &["--json"]].concat())
    }

    fn run_with_key(&self, i: usize, key: &Path, args: &[&str]) -> CliRun {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend([
            "--node".to_string(),
            self.nodes[i].api.clone(),
            "--key".to_string(),
            key.to_string_lossy().into_owned(),
        ]);
        all.extend(self.tls.iter().flat_map(ClusterTls::cli_args));
        run_cli(&all)
    }

    /// The client [`Cluster::get`] uses (over HTTPS, it trusts the network's CA and
    /// presents its client certificate).
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// The network's genesis file.
    pub fn genesis_file(&self) -> PathBuf {
        self.dir.join("genesis.json")
    }

    /// The network's genesis file as JSON.
    pub fn genesis(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.genesis_file()).unwrap()).unwrap()
    }

    /// Today's business date on this network plus `days`: the ledger's rule
    /// ([`business_date`]) at the wall clock, in the genesis `utc_offset_minutes`.
    pub fn business_date(&self, days: i64) -> NaiveDate {
        let offset = self.genesis()["params"]["utc_offset_minutes"]
            .as_i64()
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        business_date(
            u64::try_from(now + days * 86_400_000).unwrap(),
            i32::try_from(offset).unwrap(),
        )
        .unwrap()
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

/// Commits actions through node 0 with each org's member key, counting each org's nonces
/// from 0 (for a ledger on which nothing else signs with those keys meanwhile).
pub struct Seeder<'a> {
    c: &'a Cluster,
    nonces: std::collections::HashMap<String, u64>,
}

/// A trade for [`Seeder::trade`]: its documents are order `PO-{ids}`, shipment `SH-{ids}`
/// and invoice `INV-{ids}` (numbered `number`), for `amount` CNY.
pub struct Trade<'t> {
    /// What the document ids end with.
    pub ids: &'t str,
    /// The invoice number.
    pub number: &'t str,
    /// The buyer org (orders, registers and confirms the invoice).
    pub buyer: &'t str,
    /// The seller org (accepts the order).
    pub seller: &'t str,
    /// The amount of the order and the invoice, in CNY.
    pub amount: &'t str,
    /// The buyer's tax id on the invoice.
    pub buyer_tax_id: &'t str,
    /// The seller's tax id on the invoice.
    pub seller_tax_id: &'t str,
}

impl<'a> Seeder<'a> {
    /// A seeder of cluster `c`.
    pub fn new(c: &'a Cluster) -> Seeder<'a> {
        Seeder {
            c,
            nonces: Default::default(),
        }
    }

    /// A seeder that goes on with the nonces an earlier one used (from
    /// [`Seeder::into_nonces`]), for a test that changes the cluster between the two.
    pub fn resume(c: &'a Cluster, nonces: std::collections::HashMap<String, u64>) -> Seeder<'a> {
        Seeder { c, nonces }
    }

    /// The next nonce of each org this seeder signed for, to [`Seeder::resume`] later.
    pub fn into_nonces(self) -> std::collections::HashMap<String, u64> {
        self.nonces
    }

    /// Signs `action` as `org`, submits it to node 0 and waits for the commit: the
    /// transaction's view (`status`, `height`, `receipt`), or the test fails if the ledger
    /// refused it.
    pub fn run(&mut self, org: &str, action: Action) -> Value {
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

    /// The buyer orders from the seller (net 90), the seller accepts, LOGI ships and
    /// delivers, the buyer registers the invoice (issued yesterday, due in 90 days) and
    /// confirms it. Returns the height the invoice was committed at and the receivable its
    /// confirmation issued.
    pub fn trade(&mut self, t: &Trade) -> (u64, String) {
        let id = |s: String| DocId::new(s).unwrap();
        let (order, shipment) = (format!("PO-{}", t.ids), format!("SH-{}", t.ids));
        self.run(
            t.buyer,
            Action::IssueOrder {
                id: id(order.clone()),
                seller: OrgId::new(t.seller).unwrap(),
                amount: Money::parse(t.amount, "CNY").unwrap(),
                terms: "net 90".into(),
                doc_hash: Hash::ZERO,
                carriers: vec![OrgId::new("LOGI").unwrap()],
            },
        );
        self.run(
            t.seller,
            Action::AcceptOrder {
                order: id(order.clone()),
            },
        );
        self.run(
            "LOGI",
            Action::AttestShipment {
                id: id(shipment.clone()),
                order: id(order.clone()),
                doc_hash: Hash::ZERO,
                value: Money::parse(t.amount, "CNY").unwrap(),
            },
        );
        self.run(
            "LOGI",
            Action::ConfirmDelivery {
                shipment: id(shipment),
            },
        );
        let r = self.run(
            t.buyer,
            Action::RegisterInvoice {
                invoice: InvoiceSpec {
                    id: id(format!("INV-{}", t.ids)),
                    order: id(order),
                    number: t.number.into(),
                    issue_date: self.c.business_date(-1),
                    due_date: self.c.business_date(90),
                    maturity: None,
                    amount: Money::parse(t.amount, "CNY").unwrap(),
                    seller_tax_id: t.seller_tax_id.into(),
                    buyer_tax_id: t.buyer_tax_id.into(),
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
    }
}

/// Field `field` of the first event `event` of a committed transaction's view (as
/// `GET /v1/transactions/{hash}` and [`Seeder::run`] give it).
pub fn event_field(committed: &Value, event: &str, field: &str) -> Value {
    committed["receipt"]["outcome"]["Ok"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|e| e.get(event).map(|b| b[field].clone()))
        .unwrap_or_else(|| panic!("no {event} in {committed}"))
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

    /// Writes a testnet like [`Cluster::start_with_spares`] (`spares` may be 0) but starts
    /// nothing, so a test may change the configs first; then [`Cluster::start_all`].
    pub fn write_with_spares(validators: usize, spares: usize) -> (Cluster, Vec<Spare>) {
        Self::write_inner(validators, spares, false)
    }

    /// Writes a `lianrong testnet --tls` network (every API on HTTPS, see
    /// [`Cluster::tls`]) and starts nothing.
    pub fn write_tls(validators: usize) -> Cluster {
        Self::write_inner(validators, 0, true).0
    }

    fn write_inner(validators: usize, spares: usize, tls: bool) -> (Cluster, Vec<Spare>) {
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
            .args(tls.then_some("--tls"))
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
            // Not bound until the node starts: keep this process's own servers off them.
            let p2p = n["p2p"].as_str().unwrap();
            ports::mark_taken(p2p.rsplit('/').next().unwrap().parse().unwrap());
            ports::mark_taken(port_of_url(n["api"].as_str().unwrap()));
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
                env: Vec::new(),
                args: Vec::new(),
                child: None,
            });
        }
        let tls = tls.then(|| ClusterTls::of(&dir));
        let mut c = Cluster {
            agent: agent(tls.as_ref()),
            tls,
            dir,
            nodes,
            chain_id: String::new(),
            clock_file: None,
            _dir: tmp,
        };
        c.chain_id = c.genesis()["chain_id"].as_str().unwrap().into();
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
