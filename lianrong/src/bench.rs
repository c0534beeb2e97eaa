//! `lianrong bench`: starts a local validator network as separate `lianrong node`
//! processes, drives it with signed transactions from many client keys over the HTTP API,
//! and reports committed tx/s, finality latency (submit -> committed block seen on the
//! event stream), peak RSS and CPU time per node.
//!
//! It speaks to the nodes only through the SDK's [`Client`] (one per node API, with the
//! auditor's token) and reads their answers as the typed envelopes of the API.
//!
//! CPU is reported per committed transaction and divided by the CPU time of one Ed25519
//! verification measured in the same run, so the figure compares across machines: it
//! says how many signature checks' worth of work each node spends per transaction. The
//! unit is the floor -- the fastest ZIP-215 single verification this process can run, by
//! CPU time, measured when the bench starts before any node runs ([`floor`]); the same
//! figure in the ledger's own verifications is kept alongside.
//!
//! Two workloads: `orders` (purchase orders from fresh keys, the default) and
//! `lifecycle` ([`lifecycle`]: documents walked through their whole lives). Either runs
//! for `--seconds` after a warm-up, or with `--total N` until N transactions committed.
//! Commits and finality per second and each node's CPU and RSS once a second
//! ([`series`]) go into `--json` and the `--report FILE` charts ([`html`]).

mod catch_up;
mod commits;
mod disk;
mod floor;
mod html;
mod lifecycle;
pub mod preload;
mod series;
mod threads;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use futures::StreamExt;
use lianrong_contracts::model::{DocId, OrgSpec, Role};
use lianrong_contracts::money::Money;
use lianrong_contracts::{Action, Genesis, SignedTransaction, Signer, Transaction};
use lianrong_primitives::{sha256, Hash, OrgId, PublicKey, SecretKey};
use lianrong_sdk::{Auth, BlockNotice, Client, ClientOptions, NodeEvent, SubmitStatus};
use serde::Serialize;
use std::future::Future;

use crate::testnet;
pub use floor::Floor;
use lifecycle::LifecycleFigures;
use series::{Sampler, Series, Timeline};

/// Most client keys (each is one submitting task).
pub const MAX_KEYS: usize = 1024;
/// Highest offered load, tx/s.
pub const MAX_RATE: u32 = 1_000_000;
/// Most transactions per request (below the per-key window, so a key never waits on
/// itself).
pub const MAX_BATCH: usize = 64;
/// Transactions a key may have submitted but not yet seen committed; below the
/// mempool's per-signer limit so clients never hit it.
const WINDOW_PER_KEY: u64 = 192;
/// Most submitted-but-unseen transactions tracked for latency.
const MAX_TRACKED: usize = 1_000_000;
/// Clock ticks per second of /proc/<pid>/stat (USER_HZ, fixed at 100 in Linux's ABI).
const CLOCK_TICKS: f64 = 100.0;
/// Largest `--total`.
pub const MAX_TOTAL: u64 = 1_000_000_000;
/// A `--total` run gives up when nothing committed for this long.
const STALL: Duration = Duration::from_secs(120);

/// What the bench's clients submit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// Purchase orders from fresh keys of bench core enterprises (nothing read back).
    Orders,
    /// Documents through their lives: order to repayment, 14 transactions each.
    Lifecycle,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Orders => "orders",
            Workload::Lifecycle => "lifecycle",
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Validators (processes) to start.
    pub validators: usize,
    /// Client keys (added to genesis under bench core enterprises, 16 keys each).
    pub keys: usize,
    /// Warm-up before measuring.
    pub warmup: Duration,
    /// Measured period.
    pub duration: Duration,
    /// Where to keep the network (a temporary folder when `None`).
    pub dir: Option<PathBuf>,
    /// Offered load, transactions per second over all keys; `None` saturates.
    pub rate: Option<u32>,
    /// Transactions per request (`POST /v1/transactions/batch` when above 1).
    pub batch: usize,
    /// What to submit.
    pub workload: Workload,
    /// Run until this many transactions committed (instead of warm-up and seconds).
    pub total: Option<u64>,
    /// Where to write the charts (`.svg`, else a self-contained HTML page).
    pub report: Option<PathBuf>,
    /// Keep the last validator stopped until `total` committed, then measure how fast
    /// it catches up ([`catch_up`]).
    pub catch_up: bool,
    /// Preload a large ledger and measure its read side instead ([`preload`]).
    pub preload: Option<preload::PreloadOptions>,
}

/// Figures of one node.
#[derive(Debug, Clone, Serialize)]
pub struct NodeFigures {
    /// Node name.
    pub name: String,
    /// Peak resident memory, MiB.
    pub peak_rss_mib: f64,
    /// CPU seconds used in the measured period.
    pub cpu_seconds: f64,
    /// CPU seconds per committed transaction, divided by one of the ledger's own
    /// verifications (`lianrong_primitives::verify`).
    pub cpu_per_tx_in_verifies: f64,
    /// The same in floor verifications: the fastest ZIP-215 single verification measured
    /// (CPU time) at the bench's start. The headline unit.
    pub cpu_per_tx_in_floor: f64,
    /// CPU microseconds per committed transaction by thread name (`threads`): `main`
    /// (the consensus loop), `executor`, `block-writer`, `tokio-rt-worker` (API, gossip,
    /// signature batches), `rocksdb:high` / `rocksdb:low` (flushes, compactions).
    pub cpu_us_per_tx_by_thread: BTreeMap<String, f64>,
}

/// The whole machine's CPU per committed transaction: the validators' and this process's
/// (the clients: signing every transaction, the HTTP requests, the measuring), and the
/// rate the machine's CPUs would allow at that cost. Validators and clients share the
/// CPUs, so a run whose rate is close to `cpu_bound_tx_per_second` was bound by CPU, and
/// only less CPU per transaction raises it; one well below it waited on something else
/// (finality, in the lifecycle's closed loop).
#[derive(Debug, Clone, Serialize)]
pub struct MachineFigures {
    /// CPU seconds of this process (the clients) in the measured period.
    pub client_cpu_seconds: f64,
    /// The same per committed transaction, in floor verifications.
    pub client_cpu_per_tx_in_floor: f64,
    /// The validators' and the clients' CPU per committed transaction, in floor
    /// verifications.
    pub cpu_per_tx_in_floor: f64,
    /// The machine's CPUs divided by that CPU per transaction: committed tx/s if every
    /// CPU did nothing else.
    pub cpu_bound_tx_per_second: f64,
}

/// The result.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// `orders` or `lifecycle`.
    pub workload: String,
    /// `--total`, if the run went until that many transactions committed.
    pub total: Option<u64>,
    /// Validators.
    pub validators: usize,
    /// Client keys.
    pub keys: usize,
    /// Offered load (tx/s), if the clients were paced.
    pub offered_tx_per_second: Option<u32>,
    /// Transactions per request.
    pub batch: usize,
    /// Measured seconds.
    pub seconds: f64,
    /// Transactions the nodes admitted in the measured period.
    pub admitted: u64,
    /// Transactions committed in the measured period.
    pub committed: u64,
    /// Committed transactions per second.
    pub tx_per_second: f64,
    /// Finality latency percentiles, milliseconds.
    pub finality_p50_ms: f64,
    /// 99th percentile.
    pub finality_p99_ms: f64,
    /// Latency samples behind the percentiles.
    pub latency_samples: usize,
    /// The slowest, median and fastest committed tx/s over 30-second windows of the
    /// measured period, and whether the slowest was a stall (`None` for a period shorter
    /// than one window).
    pub windows: Option<series::Windows>,
    /// One of the ledger's own verifications on this machine, microseconds of CPU.
    pub ed25519_verify_us: f64,
    /// Per node.
    pub nodes: Vec<NodeFigures>,
    /// CPUs of this machine (everything shares them).
    pub cpus: usize,
    /// The validators and the clients together.
    pub machine: MachineFigures,
    /// The floor: verification speeds measured in this process.
    pub floor: Floor,
    /// The lifecycle workload's counts and read-back.
    pub lifecycle: Option<LifecycleFigures>,
    /// `--catch-up`: the late validator's catch-up.
    pub catch_up: Option<catch_up::CatchUpFigures>,
    /// Bytes on disk per committed transaction, per validator ([`disk`]).
    pub disk: Option<disk::DiskFigures>,
    /// `--preload-docs`: the preload and the read side measured on it.
    pub preload: Option<preload::PreloadFigures>,
    /// Figures over time.
    pub series: Series,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "workload {}: {} validators, {} client keys, {} tx per request, {:.1} s measured on {} CPUs (nodes and clients share them)",
            self.workload, self.validators, self.keys, self.batch, self.seconds, self.cpus
        )?;
        match self.offered_tx_per_second {
            Some(rate) => writeln!(
                f,
                "offered:   {rate} tx/s, admitted {:.0} tx/s",
                self.admitted as f64 / self.seconds
            )?,
            None => writeln!(
                f,
                "admitted:  {:.0} tx/s",
                self.admitted as f64 / self.seconds
            )?,
        }
        writeln!(
            f,
            "committed: {} tx, {:.0} tx/s",
            self.committed, self.tx_per_second
        )?;
        if let Some(w) = &self.windows {
            writeln!(f, "windows:   {}", w.summary())?;
        }
        writeln!(
            f,
            "finality:  p50 {:.0} ms, p99 {:.0} ms ({} samples)",
            self.finality_p50_ms, self.finality_p99_ms, self.latency_samples
        )?;
        writeln!(
            f,
            "floor: {:.1} us CPU = the fastest ZIP-215 verification measured at start (ledger's own {:.1} us, the equation on curve25519-dalek 4 {:.1} us)",
            self.floor.floor_us, self.ed25519_verify_us, self.floor.dalek4_zip215_us
        )?;
        for n in &self.nodes {
            writeln!(
                f,
                "  {:<10} peak RSS {:>7.1} MiB   CPU {:>6.2} s   CPU per tx = {:.1} floor verifications ({:.1} ledger verifications)",
                n.name, n.peak_rss_mib, n.cpu_seconds, n.cpu_per_tx_in_floor, n.cpu_per_tx_in_verifies
            )?;
            writeln!(
                f,
                "             us per tx by thread: {}",
                threads::line(&n.cpu_us_per_tx_by_thread)
            )?;
        }
        let m = &self.machine;
        writeln!(
            f,
            "  {:<10} CPU {:>6.2} s   CPU per tx = {:.1} floor verifications (signing, requests, measuring)",
            "clients", m.client_cpu_seconds, m.client_cpu_per_tx_in_floor
        )?;
        writeln!(
            f,
            "machine:   {:.1} floor verifications of CPU per committed tx (validators and clients): {} CPUs allow {:.0} tx/s at that cost",
            m.cpu_per_tx_in_floor, self.cpus, m.cpu_bound_tx_per_second
        )?;
        if let Some(l) = &self.lifecycle {
            write_lifecycle(f, l)?;
        }
        if let Some(c) = &self.catch_up {
            catch_up::write_text(f, c)?;
        }
        if let Some(d) = &self.disk {
            disk::write_text(f, d)?;
        }
        if let Some(p) = &self.preload {
            preload::write_text(f, p)?;
        }
        Ok(())
    }
}

/// The lifecycle lines of the text report.
fn write_lifecycle(f: &mut std::fmt::Formatter<'_>, l: &LifecycleFigures) -> std::fmt::Result {
    writeln!(
        f,
        "documents: {} started, {} through all {} steps",
        l.documents_started,
        l.documents_completed,
        lifecycle::STEPS.len()
    )?;
    for (step, n) in &l.steps {
        writeln!(f, "  {step:<26} {n}")?;
    }
    let none = |m: &std::collections::BTreeMap<String, u64>| {
        if m.is_empty() {
            "none".to_string()
        } else {
            format!("{m:?}")
        }
    };
    writeln!(f, "refused:      {}", none(&l.refused))?;
    writeln!(
        f,
        "not admitted: {}; lost: {}",
        none(&l.not_admitted),
        l.lost
    )?;
    for line in &l.failures {
        writeln!(f, "  {line}")?;
    }
    writeln!(
        f,
        "read back:    {} documents, {} inconsistent",
        l.checked, l.inconsistent
    )?;
    for line in &l.inconsistencies {
        writeln!(f, "  {line}")?;
    }
    Ok(())
}

/// The client key `i` of the bench (deterministic, so a kept network can be re-driven).
fn client_key(i: usize) -> SecretKey {
    let seed = sha256(format!("lianrong-bench-client-{i}").as_bytes());
    SecretKey::from_seed(seed.0)
}

/// Keys per bench org (genesis allows at most 16 per org).
const KEYS_PER_ORG: usize = 16;

/// The bench org (a core enterprise) a client key acts for.
fn client_org(i: usize) -> String {
    format!("BENCH-{:02}", i / KEYS_PER_ORG)
}

/// A valid, distinct unified social credit code for bench org `n` (genesis refuses
/// tax ids without their check character, and two orgs sharing one).
fn bench_tax_id(n: usize) -> Result<String> {
    let first17 = format!("91000000BENCH{:04}", n % 10_000);
    let check = lianrong_contracts::exec::tax_id::uscc_check_char(&first17)
        .ok_or_else(|| anyhow::anyhow!("{first17} is no code prefix"))?;
    Ok(format!("{first17}{check}"))
}

/// Adds core-enterprise orgs holding the client keys to `genesis.json`.
fn add_client_orgs(genesis: &Path, keys: usize) -> Result<()> {
    let text = std::fs::read_to_string(genesis)?;
    let mut g: Genesis = serde_json::from_str(&text)?;
    for first in (0..keys).step_by(KEYS_PER_ORG) {
        let id = client_org(first);
        g.orgs.push(OrgSpec {
            id: OrgId::new(id.clone())?,
            name: format!("Bench buyer {id}"),
            tax_id: bench_tax_id(first / KEYS_PER_ORG)?,
            roles: vec![Role::Core],
            identifiers: vec![],
            keys: (first..keys.min(first + KEYS_PER_ORG))
                .map(|i| client_key(i).public())
                .collect(),
        });
    }
    g.validate()?;
    std::fs::write(genesis, serde_json::to_string_pretty(&g)?)?;
    Ok(())
}

/// Child processes killed when dropped.
pub(crate) struct Nodes(Vec<(String, Child)>);

impl Nodes {
    fn pids(&self) -> Vec<(String, u32)> {
        self.0.iter().map(|(n, c)| (n.clone(), c.id())).collect()
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for (_, c) in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// (CPU seconds, peak RSS MiB) of a process from /proc.
pub(crate) fn proc_figures(pid: u32) -> Result<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let ticks = threads::stat_cpu_ticks(&stat).ok_or_else(|| anyhow!("odd /proc stat"))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let hwm_kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    Ok((ticks / CLOCK_TICKS, hwm_kib / 1024.0))
}

struct Shared {
    /// tx hash -> submit time, for latency.
    submitted: Mutex<HashMap<Hash, Instant>>,
    /// Latencies (ms) of transactions committed while measuring.
    latencies: Mutex<Vec<f64>>,
    measuring: AtomicBool,
    stop: AtomicBool,
    /// Next committed nonce per key, as last seen.
    committed: Vec<AtomicU64>,
    /// Transactions admitted by the nodes while measuring.
    admitted: AtomicU64,
    /// Commits per second.
    timeline: Arc<Timeline>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

impl BenchOptions {
    fn check(&self) -> Result<()> {
        if !(1..=testnet::MAX_TESTNET_VALIDATORS).contains(&self.validators) {
            bail!(
                "--validators must be 1..={}",
                testnet::MAX_TESTNET_VALIDATORS
            );
        }
        if self.keys == 0 || self.keys > MAX_KEYS {
            bail!("--keys must be 1..={MAX_KEYS}");
        }
        if self.rate.is_some_and(|r| r == 0 || r > MAX_RATE) {
            bail!("--rate must be 1..={MAX_RATE}");
        }
        // Each key submits one transaction at a time, so it can only pace a bounded rate.
        if self.batch == 0 || self.batch > MAX_BATCH {
            bail!("--batch must be 1..={MAX_BATCH}");
        }
        if self.total.is_some_and(|t| t == 0 || t > MAX_TOTAL) {
            bail!("--total must be 1..={MAX_TOTAL}");
        }
        if self.workload == Workload::Lifecycle {
            lifecycle::check_options(self)?;
        }
        if self.catch_up {
            if self.workload != Workload::Orders {
                bail!("--catch-up runs the orders workload");
            }
            catch_up::check(self.validators, self.total)?;
        }
        if let Some(p) = &self.preload {
            p.check()?;
            if self.workload != Workload::Orders || self.catch_up {
                bail!("--preload-docs is its own workload: no --workload lifecycle or --catch-up");
            }
            if self.total.is_some() || self.rate.is_some() {
                bail!("--preload-docs runs until its documents committed: no --total or --rate");
            }
        }
        Ok(())
    }
}

impl Shared {
    fn new(keys: usize, timeline: Arc<Timeline>) -> Shared {
        Shared {
            submitted: Mutex::new(HashMap::new()),
            latencies: Mutex::new(Vec::new()),
            measuring: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            committed: (0..keys).map(|_| AtomicU64::new(0)).collect(),
            admitted: AtomicU64::new(0),
            timeline,
        }
    }
}

/// What a workload's run measured.
pub(crate) struct Run {
    measured: Measured,
    /// Finality samples (ms) of the measured period.
    latencies: Vec<f64>,
    /// Transactions admitted while measuring (the order workload counts them).
    admitted: u64,
    lifecycle: Option<LifecycleFigures>,
    preload: Option<preload::PreloadFigures>,
}

/// Runs the benchmark.
pub async fn run(opts: BenchOptions) -> Result<BenchReport> {
    opts.check()?;
    // The unit, measured before any node competes for the CPUs.
    let floor = floor::measure();
    let tmp = tempfile::tempdir()?;
    let dir = opts.dir.clone().unwrap_or_else(|| tmp.path().join("net"));
    let chain_id = "lianrong-bench";
    let (infos, token, parties) = write_network(&dir, &opts, chain_id)?;
    // With --catch-up the last validator starts only once the others committed --total.
    let held = infos.len() - usize::from(opts.catch_up);
    let mut nodes = start_nodes(&infos[..held])?;
    let all_apis: Vec<Client> = infos
        .iter()
        .map(|n| node_client(&n.api, &token, chain_id))
        .collect::<Result<_>>()?;
    let apis = &all_apis[..held];
    for api in apis {
        wait_up(api).await?;
    }
    let timeline = Arc::new(Timeline::new());
    let sampler = Sampler::spawn(nodes.pids(), &timeline);
    let net = preload::Network {
        dir: &dir,
        token: &token,
        nodes: &nodes,
        apis,
        chain_id,
    };
    let run = run_workload(&opts, parties, net, &timeline).await;
    let caught = match (&run, infos.get(held), all_apis.get(held)) {
        (Ok(_), Some(late), Some(late_api)) => {
            let keys: Vec<PublicKey> = (0..opts.keys).map(|i| client_key(i).public()).collect();
            Some(catch_up::run(late, &mut nodes, apis, late_api, &keys).await)
        }
        _ => None,
    };
    // While the nodes still run: their data directories as an operator would see them.
    let disk = match &run {
        Ok(r) => disk::after_run(&infos, &apis[0], &opts, r)
            .await
            .map_err(|e| tracing::warn!("bytes on disk not measured: {e:#}"))
            .ok(),
        Err(_) => None,
    };
    let node_series = sampler.stop().await;
    drop(nodes);
    let run = run?;
    let caught = caught.transpose()?;
    let series = Series {
        measured_from_s: run.measured.from_s,
        measured_to_s: run.measured.from_s + run.measured.seconds,
        points: timeline.points(),
        nodes: node_series,
    };
    let mut report = report(&opts, run, series, floor);
    report.catch_up = caught;
    report.disk = disk;
    if let Some(path) = &opts.report {
        html::write(path, &report)?;
    }
    Ok(report)
}

/// Runs the workload whose orgs `cast` admitted on the started network.
async fn run_workload(
    opts: &BenchOptions,
    cast: Cast,
    net: preload::Network<'_>,
    timeline: &Arc<Timeline>,
) -> Result<Run> {
    let (nodes, apis, chain_id) = (net.nodes, net.apis, net.chain_id);
    match cast {
        Cast::Orders => run_orders(opts, nodes, apis, chain_id, timeline).await,
        Cast::Preload(pre, plan) => preload::run(opts, &pre, net, *plan, timeline).await,
        Cast::Lifecycle(parties) => lifecycle::run(opts, nodes, apis, chain_id, parties, timeline)
            .await
            .map(|r| Run {
                measured: r.measured,
                latencies: r.latencies,
                admitted: r.admitted,
                lifecycle: Some(r.figures),
                preload: None,
            }),
    }
}

/// The order workload: each client key submits orders, paced or as fast as admitted.
async fn run_orders(
    opts: &BenchOptions,
    nodes: &Nodes,
    apis: &[Client],
    chain_id: &str,
    timeline: &Arc<Timeline>,
) -> Result<Run> {
    let pace = opts
        .rate
        .map(|r| Duration::from_secs_f64((opts.keys * opts.batch) as f64 / f64::from(r)));
    let shared = Arc::new(Shared::new(opts.keys, timeline.clone()));
    let keys: Vec<PublicKey> = (0..opts.keys).map(|i| client_key(i).public()).collect();
    let key_index: Arc<HashMap<PublicKey, usize>> =
        Arc::new(keys.iter().enumerate().map(|(i, k)| (*k, i)).collect());
    let plan = Plan {
        pace,
        batch: opts.batch,
    };
    let load = Load::spawn(apis, chain_id, plan, &shared, &key_index);
    let set_measuring = |on: bool| shared.measuring.store(on, Ordering::SeqCst);
    let measured = if let Some(total) = opts.total {
        let period = until_total(&apis[0], &keys, total);
        measure(nodes, &apis[0], &keys, timeline, &set_measuring, period).await
    } else {
        tokio::time::sleep(opts.warmup).await;
        let period = async {
            tokio::time::sleep(opts.duration).await;
            Ok(())
        };
        measure(nodes, &apis[0], &keys, timeline, &set_measuring, period).await
    };
    load.stop(&shared).await;
    let latencies = std::mem::take(&mut *shared.latencies.lock().map_err(|_| anyhow!("poisoned"))?);
    Ok(Run {
        measured: measured?.0,
        latencies,
        admitted: shared.admitted.load(Ordering::SeqCst),
        lifecycle: None,
        preload: None,
    })
}

/// Returns once the keys' transactions on the ledger reach `total`.
async fn until_total(api: &Client, keys: &[PublicKey], total: u64) -> Result<()> {
    let mut last = (0, Instant::now());
    loop {
        let now = exact_committed(api, keys).await?;
        if now >= total {
            return Ok(());
        }
        if now > last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > STALL {
            bail!("nothing committed for {STALL:?} ({now} of --total {total})");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The bench's client of one node's API, with the auditor's token. No retries: a client
/// key whose request failed sends the same transactions again itself.
fn node_client(api: &str, token: &str, chain_id: &str) -> Result<Client> {
    let opts = ClientOptions {
        timeout: Duration::from_secs(10),
        retries: 0,
        chain_id: Some(chain_id.to_string()),
        ..ClientOptions::default()
    };
    Ok(Client::with_options(
        api,
        Auth::Token(token.to_string()),
        opts,
    )?)
}

/// Who the workload's genesis admitted.
enum Cast {
    /// The order workload's bench cores.
    Orders,
    /// The lifecycle's parties.
    Lifecycle(lifecycle::Parties),
    /// The preload's orgs.
    Preload(preload::PreloadOptions, Box<preload::Plan>),
}

/// Writes the network's configuration with the workload's orgs and keys in genesis;
/// returns the nodes, the auditor token that reads from them and who was admitted.
fn write_network(
    dir: &Path,
    opts: &BenchOptions,
    chain_id: &str,
) -> Result<(Vec<testnet::NodeInfo>, String, Cast)> {
    let now = lianrong_node::api::now_ms();
    let infos = testnet::write(dir, opts.validators, chain_id, now)?;
    let genesis = dir.join("genesis.json");
    let parties = match (&opts.preload, opts.workload) {
        (Some(p), _) => Cast::Preload(p.clone(), Box::new(preload::add_orgs(&genesis, p)?)),
        (None, Workload::Orders) => {
            add_client_orgs(&genesis, opts.keys)?;
            Cast::Orders
        }
        (None, Workload::Lifecycle) => Cast::Lifecycle(lifecycle::add_orgs(&genesis, opts.keys)?),
    };
    let token = std::fs::read_to_string(dir.join("keys").join("AUDIT.token"))
        .context("reading the auditor token")?
        .trim()
        .to_string();
    Ok((infos, token, parties))
}

/// Starts each validator as a `lianrong node` process of this executable.
fn start_nodes(infos: &[testnet::NodeInfo]) -> Result<Nodes> {
    let exe = std::env::current_exe()?;
    let mut nodes = Nodes(Vec::new());
    for n in infos {
        let log = std::fs::File::create(n.config.with_file_name("node.log"))?;
        let child = Command::new(&exe)
            .args(["node", "--config"])
            .arg(&n.config)
            // The nodes log at warn unless the caller chose otherwise.
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", n.name))?;
        nodes.0.push((n.name.clone(), child));
    }
    Ok(nodes)
}

/// The tasks that drive the network and watch its commits.
struct Load {
    events: tokio::task::JoinHandle<()>,
    poller: tokio::task::JoinHandle<()>,
    clients: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// The watchers read from the first node; the clients spread over all of them.
    fn spawn(
        apis: &[Client],
        chain_id: &str,
        plan: Plan,
        shared: &Arc<Shared>,
        key_index: &Arc<HashMap<PublicKey, usize>>,
    ) -> Load {
        let events = tokio::spawn(follow_events(apis[0].clone(), shared.clone()));
        let poller = tokio::spawn(poll_nonces(
            apis[0].clone(),
            shared.clone(),
            key_index.clone(),
        ));
        let mut clients = Vec::new();
        // `committed` holds one counter per client key.
        for i in 0..shared.committed.len() {
            clients.push(tokio::spawn(client(
                apis[i % apis.len()].clone(),
                chain_id.to_string(),
                i,
                plan,
                shared.clone(),
            )));
        }
        Load {
            events,
            poller,
            clients,
        }
    }

    async fn stop(self, shared: &Shared) {
        shared.stop.store(true, Ordering::SeqCst);
        for c in self.clients {
            let _ = c.await;
        }
        self.events.abort();
        self.poller.abort();
    }
}

/// What the measured period showed.
pub(crate) struct Measured {
    /// Start of the period, seconds since the load started.
    from_s: f64,
    seconds: f64,
    /// Transactions of the client keys committed in the period.
    committed: u64,
    /// Per node: name, CPU seconds in the period, peak RSS MiB.
    figures: Vec<(String, f64, f64)>,
    /// Per node (in `figures`' order): CPU seconds in the period by thread name.
    threads: Vec<BTreeMap<String, f64>>,
    /// CPU seconds of this process (the clients) in the period.
    client_cpu: f64,
}

/// Measures the running network while `period` runs (seconds, or until a total).
/// Committed transactions are counted from the keys' nonces, which no skipped event can
/// falsify; `set_measuring` tells the workload when finality samples count.
async fn measure<T>(
    nodes: &Nodes,
    api: &Client,
    keys: &[PublicKey],
    timeline: &Timeline,
    set_measuring: &dyn Fn(bool),
    period: impl Future<Output = Result<T>>,
) -> Result<(Measured, T)> {
    let pids = nodes.pids();
    let cpu_before: Vec<f64> = pids
        .iter()
        .map(|(_, p)| proc_figures(*p).map(|f| f.0).unwrap_or(0.0))
        .collect();
    let threads_before: Vec<_> = pids
        .iter()
        .map(|(_, p)| threads::cpu_by_thread(*p))
        .collect();
    let client_before = proc_figures(std::process::id())?.0;
    let exact_before = exact_committed(api, keys).await?;
    set_measuring(true);
    let started = Instant::now();
    let outcome = period.await;
    set_measuring(false);
    let outcome = outcome?;
    let exact_after = exact_committed(api, keys).await?;
    let seconds = started.elapsed().as_secs_f64();
    let mut figures = Vec::new();
    let mut by_thread = Vec::new();
    for (((name, pid), before), threads_before) in pids.iter().zip(&cpu_before).zip(&threads_before)
    {
        let (cpu, rss) = proc_figures(*pid).with_context(|| format!("{name} exited early"))?;
        figures.push((name.clone(), cpu - before, rss));
        by_thread.push(threads::spent(
            threads_before,
            &threads::cpu_by_thread(*pid),
        ));
    }
    let measured = Measured {
        from_s: timeline.seconds(started),
        seconds,
        committed: exact_after.saturating_sub(exact_before),
        figures,
        threads: by_thread,
        client_cpu: proc_figures(std::process::id())?.0 - client_before,
    };
    Ok((measured, outcome))
}

fn report(opts: &BenchOptions, run: Run, series: Series, floor: Floor) -> BenchReport {
    let Measured {
        seconds,
        committed,
        figures,
        threads: node_threads,
        client_cpu,
        ..
    } = run.measured;
    let mut lat = run.latencies;
    lat.sort_by(|a, b| a.total_cmp(b));
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let machine_cpu = client_cpu + figures.iter().map(|(_, cpu, _)| cpu).sum::<f64>();
    let per_tx = |cpu: f64, unit_us: f64| {
        if committed == 0 {
            f64::NAN
        } else {
            cpu / committed as f64 / (unit_us / 1e6)
        }
    };
    BenchReport {
        workload: if opts.preload.is_some() {
            "preload".to_string()
        } else {
            opts.workload.name().to_string()
        },
        total: opts.total,
        validators: opts.validators,
        keys: opts.keys,
        offered_tx_per_second: opts.rate,
        batch: opts.batch,
        seconds,
        admitted: run.admitted,
        committed,
        tx_per_second: committed as f64 / seconds,
        finality_p50_ms: percentile(&lat, 0.50),
        finality_p99_ms: percentile(&lat, 0.99),
        latency_samples: lat.len(),
        windows: series::windows(&series.points, series.measured_from_s, series.measured_to_s),
        ed25519_verify_us: floor.ledger_verify_us,
        nodes: figures
            .into_iter()
            .zip(node_threads)
            .map(|((name, cpu, rss), threads)| NodeFigures {
                name,
                peak_rss_mib: rss,
                cpu_seconds: cpu,
                cpu_per_tx_in_verifies: per_tx(cpu, floor.ledger_verify_us),
                cpu_per_tx_in_floor: per_tx(cpu, floor.floor_us),
                // per_tx in a unit of 1 us: microseconds a transaction.
                cpu_us_per_tx_by_thread: (threads.into_iter())
                    .map(|(thread, cpu)| (thread, per_tx(cpu, 1.0)))
                    .collect(),
            })
            .collect(),
        cpus,
        machine: MachineFigures {
            client_cpu_seconds: client_cpu,
            client_cpu_per_tx_in_floor: per_tx(client_cpu, floor.floor_us),
            cpu_per_tx_in_floor: per_tx(machine_cpu, floor.floor_us),
            cpu_bound_tx_per_second: if machine_cpu > 0.0 {
                cpus as f64 * committed as f64 / machine_cpu
            } else {
                f64::NAN
            },
        },
        floor,
        lifecycle: run.lifecycle,
        preload: run.preload,
        catch_up: None,
        disk: None,
        series,
    }
}

async fn wait_up(api: &Client) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while api.status().await.is_err() {
        if Instant::now() > deadline {
            bail!("node at {} did not come up", api.base_url());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// Transactions of the client keys on the ledger (exact, from their nonces).
async fn exact_committed(api: &Client, keys: &[PublicKey]) -> Result<u64> {
    let mut sum = 0;
    for k in keys {
        sum += next_nonce(api, k).await?;
    }
    Ok(sum)
}

/// Attempts of one nonce read before the bench gives up.
const NONCE_READ_ATTEMPTS: u32 = 5;

/// A key's next nonce, read again after a transport failure: the bench's client does not
/// retry (its submitting keys resend themselves), so one transient failure of these
/// reads ("connection closed before message completed", seen once at the end of a
/// 1,000,000-transaction run on a machine whose disk had just filled) would throw away
/// the whole run's figures.
async fn next_nonce(api: &Client, key: &PublicKey) -> Result<u64> {
    let mut attempt = 1;
    loop {
        match api.key_info(key).await {
            Ok(info) => return Ok(info.next_nonce),
            Err(e) if e.is_retryable() && attempt < NONCE_READ_ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Keeps the per-key committed nonces fresh even when the event stream skipped blocks.
async fn poll_nonces(api: Client, shared: Arc<Shared>, keys: Arc<HashMap<PublicKey, usize>>) {
    while !shared.stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        for (k, i) in keys.iter() {
            if let Ok(info) = api.key_info(k).await {
                shared.committed[*i].fetch_max(info.next_nonce, Ordering::SeqCst);
            }
        }
    }
}

/// What a client key signs: purchase orders of its bench org to SUP-1.
struct Orders {
    /// Client key index (part of each order's id).
    i: usize,
    key: SecretKey,
    org: OrgId,
    seller: OrgId,
    amount: Money,
    chain_id: String,
}

impl Orders {
    fn new(i: usize, chain_id: String) -> Option<Orders> {
        Some(Orders {
            i,
            key: client_key(i),
            org: OrgId::new(client_org(i)).ok()?,
            seller: OrgId::new("SUP-1").ok()?,
            amount: Money::parse("1000.00", "CNY").ok()?,
            chain_id,
        })
    }

    /// The signed orders with these nonces.
    fn sign(&self, nonces: std::ops::Range<u64>) -> Option<Vec<SignedTransaction>> {
        nonces
            .map(|n| {
                let tx = Transaction {
                    chain_id: self.chain_id.clone(),
                    signer: Signer {
                        org: self.org.clone(),
                        key: self.key.public(),
                    },
                    nonce: n,
                    action: Action::IssueOrder {
                        id: DocId::new(format!("B{}-{n}", self.i)).ok()?,
                        seller: self.seller.clone(),
                        amount: self.amount,
                        terms: "net 60".into(),
                        doc_hash: Hash::ZERO,
                        carriers: vec![],
                    },
                };
                Some(tx.sign(&self.key))
            })
            .collect()
    }
}

/// One client key: signs orders nonce after nonce and submits them, one request every
/// `pace` (as fast as admitted when `None`), keeping at most `WINDOW_PER_KEY` uncommitted.
async fn client(api: Client, chain_id: String, i: usize, plan: Plan, shared: Arc<Shared>) {
    let Plan { pace, batch } = plan;
    let mut ticks = pace.map(|p| {
        let mut t = tokio::time::interval(p);
        // A client that fell behind does not make up for it with a burst.
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    let Some(orders) = Orders::new(i, chain_id) else {
        return;
    };
    let mut nonce = 0u64;
    let batch = batch.max(1) as u64;
    while !shared.stop.load(Ordering::SeqCst) {
        if nonce + batch > shared.committed[i].load(Ordering::SeqCst) + WINDOW_PER_KEY {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        if let Some(t) = ticks.as_mut() {
            t.tick().await;
        }
        let Some(txs) = orders.sign(nonce..nonce + batch) else {
            return;
        };
        track(&shared, &txs);
        let admitted = if batch == 1 {
            submit_one(&api, &txs[0]).await
        } else {
            submit_batch(&api, &txs).await
        };
        if admitted == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        nonce += admitted;
        if shared.measuring.load(Ordering::SeqCst) {
            shared.admitted.fetch_add(admitted, Ordering::SeqCst);
        }
    }
}

/// Notes the submit time of `txs`, for their finality latency.
fn track(shared: &Shared, txs: &[SignedTransaction]) {
    let sent_at = Instant::now();
    if let Ok(mut m) = shared.submitted.lock() {
        // Entries leave when their block is seen; if the event stream skipped blocks,
        // start over rather than grow without bound.
        if m.len() + txs.len() > MAX_TRACKED {
            m.clear();
        }
        for t in txs {
            m.insert(t.hash(), sent_at);
        }
    }
}

/// How a client key submits.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// One request every `pace` (as fast as admitted when `None`).
    pace: Option<Duration>,
    /// Transactions per request.
    batch: usize,
}

/// Submits one transaction; 1 if the node holds it now (admitted, or already known
/// after a lost answer: `duplicate`, which the SDK answers as pending, or another 409,
/// its nonce already used by these very bytes), else 0.
async fn submit_one(api: &Client, tx: &SignedTransaction) -> u64 {
    match api.submit_signed(tx, false).await {
        Ok(_) => 1,
        Err(e) if e.status() == Some(409) => 1,
        Err(_) => 0,
    }
}

/// Submits consecutive-nonce transactions in one request; how many from the first on
/// the node holds now (the rest are sent again). A `duplicate` comes back from the SDK
/// as pending.
async fn submit_batch(api: &Client, txs: &[SignedTransaction]) -> u64 {
    let Ok(answers) = api.submit_batch(txs).await else {
        return 0;
    };
    answers
        .iter()
        .take_while(|r| {
            r.status == SubmitStatus::Pending || r.code.as_deref() == Some("nonce_taken")
        })
        .count() as u64
}

/// Follows the node's event stream: committed blocks -> latency samples. Reconnects if
/// the stream ends (skipped blocks leave their transactions unsampled; the nonce poller
/// keeps the clients going).
async fn follow_events(api: Client, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        if let Ok(mut events) = api.events().await {
            while let Some(Ok(event)) = events.next().await {
                if let NodeEvent::Block(block) = event {
                    on_block(&block, &shared);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A finalized block: each tracked transaction in it is final now.
fn on_block(block: &BlockNotice, shared: &Shared) {
    let now = Instant::now();
    let measuring = shared.measuring.load(Ordering::SeqCst);
    let Ok(mut submitted) = shared.submitted.lock() else {
        return;
    };
    let mut samples = Vec::new();
    for r in &block.receipts {
        if let Some(at) = submitted.remove(&r.tx_hash) {
            samples.push(now.duration_since(at).as_secs_f64() * 1000.0);
        }
    }
    drop(submitted);
    shared.timeline.record(now, samples.len() as u64, &samples);
    if measuring {
        if let Ok(mut l) = shared.latencies.lock() {
            l.extend(samples);
        }
    }
}
