//! `lianrong bench --preload-docs M [--orgs N]`: the bank's own scale target measured.
//! A genesis with N bench orgs (one in [`plan::ORGS_PER_CORE`] a core enterprise, the
//! rest SMEs, plus [`plan::CARRIERS`] carriers, next to the testnet's banks), then M
//! receivables created through the real network -- orders, acceptances, shipments and
//! deliveries, invoices registered and confirmed, then splits, transfers and settlements
//! ([`plan`]) -- in phases of pipelined batches from every org's own keys ([`submit`]).
//! Then the read side at that size: the node API's lists and lookups ([`probe`]) and the
//! explorer's pages and CSV exports once it indexed the ledger ([`explorer`]), p50/p99
//! of each, and every receivable counted back against what the committed transactions
//! said ([`tally`]).
//!
//! Separate from the order and lifecycle workloads because it measures what a user
//! waits on as the ledger grows, not the write path alone: the preload's tx/s is
//! reported, but the point is the ledger it leaves.

mod explorer;
mod http;
mod lanes;
mod plan;
mod probe;
mod sample;
mod submit;
mod tally;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use lianrong_contracts::exec::business_date;
use lianrong_contracts::Genesis;
use lianrong_primitives::PublicKey;
use lianrong_sdk::Client;
use serde::Serialize;

use super::commits::Commits;
use super::series::Timeline;
pub use plan::Plan;
use plan::{carrier_id, core_id, member_key, sme_id, CARRIERS, KEYS_PER_CORE};
pub use sample::EndpointFigures;
use submit::{PhaseFigures, Shared};

/// Fewest bench orgs (a core and the SMEs a transfer needs).
pub const MIN_ORGS: usize = 12;
/// Most bench orgs: their genesis entries stay well inside the node's 4 MiB genesis file.
pub const MAX_ORGS: usize = 5_000;
/// Most receivables preloaded.
pub const MAX_DOCS: u64 = 10_000_000;
/// The node reads at most this much genesis (`node-formats`' config file limit).
const MAX_GENESIS_BYTES: usize = 4 * 1024 * 1024;
/// How long the read node gets to apply the preload's last block.
const CATCH_UP: Duration = Duration::from_secs(120);

/// What to preload and how much to sample.
#[derive(Debug, Clone)]
pub struct PreloadOptions {
    /// Bench orgs added to genesis.
    pub orgs: usize,
    /// Receivables to create.
    pub docs: u64,
    /// Requests per endpoint class.
    pub samples: usize,
}

impl PreloadOptions {
    /// Refuses sizes out of range before anything is allocated.
    pub fn check(&self) -> Result<()> {
        if !(MIN_ORGS..=MAX_ORGS).contains(&self.orgs) {
            bail!("--orgs must be {MIN_ORGS}..={MAX_ORGS}");
        }
        if self.docs == 0 || self.docs > MAX_DOCS {
            bail!("--preload-docs must be 1..={MAX_DOCS}");
        }
        if self.samples == 0 || self.samples > sample::MAX_SAMPLES {
            bail!("--samples must be 1..={}", sample::MAX_SAMPLES);
        }
        Ok(())
    }
}

/// What the preload reports (under `preload` in `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct PreloadFigures {
    /// Bench orgs: core enterprises.
    pub cores: usize,
    /// SMEs.
    pub smes: usize,
    /// Carriers.
    pub carriers: usize,
    /// Orgs in the genesis in all (the testnet's cast included).
    pub genesis_orgs: usize,
    /// Receivables asked for (`--preload-docs`): one per invoice.
    pub docs: u64,
    /// Orders (each with up to eight invoices).
    pub orders: u64,
    /// Each phase's counts.
    pub phases: Vec<PhaseFigures>,
    /// Transactions executed by all phases.
    pub committed: u64,
    /// Of the whole preload, executed transactions per second.
    pub tx_per_second: f64,
    /// Receivables on the ledger after the preload, as its committed events say.
    pub receivables: u64,
    /// The same per status (`active`, `split`, `settled`).
    pub expected_by_status: BTreeMap<String, u64>,
    /// Receivables the API's status lists held, walked to their ends.
    pub counted_by_status: BTreeMap<String, u64>,
    /// The ledger's height the reads were measured at.
    pub height: u64,
    /// The node API's endpoints.
    pub api: Vec<EndpointFigures>,
    /// The explorer's pages and exports.
    pub explorer: explorer::ExplorerFigures,
}

/// Adds the preload's orgs to `genesis.json`; the plan of the preload.
pub fn add_orgs(genesis: &Path, opts: &PreloadOptions) -> Result<Plan> {
    opts.check()?;
    let text = std::fs::read_to_string(genesis)?;
    let mut g: Genesis = serde_json::from_str(&text)?;
    let now = lianrong_node::api::now_ms();
    let today = business_date(now, g.params.utc_offset_minutes)
        .ok_or_else(|| anyhow::anyhow!("the clock is past the calendar's range"))?;
    // The day before: an invoice dated today by this clock may reach a block of the
    // day before around midnight; yesterday is never in the future.
    let issue = today.pred_opt().unwrap_or(today);
    let plan = Plan::new(opts.orgs, opts.docs, issue);
    g.orgs.extend(plan.org_specs()?);
    g.validate()?;
    let out = serde_json::to_string(&g)?;
    if out.len() > MAX_GENESIS_BYTES {
        bail!(
            "a genesis of {} orgs takes {} bytes, more than a node reads ({MAX_GENESIS_BYTES}): use fewer --orgs",
            g.orgs.len(),
            out.len()
        );
    }
    std::fs::write(genesis, out)?;
    Ok(plan)
}

/// Every member key the preload signs with.
fn public_keys(plan: &Plan) -> Vec<PublicKey> {
    let mut keys = Vec::new();
    for c in 0..plan.cores {
        keys.extend((0..KEYS_PER_CORE).map(|k| member_key(&core_id(c), k).public()));
    }
    for c in 0..CARRIERS {
        keys.extend((0..KEYS_PER_CORE).map(|k| member_key(&carrier_id(c), k).public()));
    }
    keys.extend((0..plan.smes).map(|s| member_key(&sme_id(s), 0).public()));
    keys
}

/// The phases in order, each on what the one before committed.
async fn phases(shared: &Arc<Shared>) -> Result<Vec<PhaseFigures>> {
    let plan = &shared.plan;
    let mut out = vec![submit::run_phase(shared, "orders", lanes::orders(plan)?).await];
    level(shared).await?;
    out.push(submit::run_phase(shared, "accept", lanes::accept(plan)?).await);
    level(shared).await?;
    out.push(submit::run_phase(shared, "ship", lanes::ship(plan)?).await);
    level(shared).await?;
    out.push(submit::run_phase(shared, "invoices", lanes::invoices(plan)?).await);
    level(shared).await?;
    let roots = take(shared, |t| std::mem::take(&mut t.roots));
    out.push(submit::run_phase(shared, "mix", lanes::mix(plan, &roots)?).await);
    drop(roots);
    level(shared).await?;
    let settled = take(shared, |t| std::mem::take(&mut t.settlements));
    out.push(submit::run_phase(shared, "acknowledge", lanes::acknowledge(plan, &settled)?).await);
    Ok(out)
}

/// Waits until every node has applied the highest block any of them has and every block
/// a receipt was heard from: a lane reads its key's next nonce from its own node, and a
/// node a block behind would give a nonce the previous phase already used (the bench
/// measured such transactions admitted, then dropped as stale once that node caught up,
/// never committed). The receipts' heights count too: the followed stream may have told
/// of a block whose status reads all came before it (until 2026-12-06 a node announced a
/// block before its own `/v1/status` moved, and a CI run lost five acknowledgements, all
/// submitted through one node, with the receipts' heights left out).
async fn level(shared: &Shared) -> Result<()> {
    let apis = &shared.apis;
    let mut top = shared.commits.highest();
    for api in apis {
        top = top.max(api.status().await?.height);
    }
    for api in apis {
        reached(api, top).await?;
    }
    Ok(())
}

fn take<T: Default>(shared: &Shared, f: impl FnOnce(&mut tally::Tally) -> T) -> T {
    shared
        .tally
        .lock()
        .map(|mut t| f(&mut t))
        .unwrap_or_default()
}

/// Waits until `api` has applied block `height`.
async fn reached(api: &Client, height: u64) -> Result<()> {
    let deadline = Instant::now() + CATCH_UP;
    while api.status().await?.height < height {
        if Instant::now() > deadline {
            bail!("{} did not reach block {height}", api.base_url());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Where the network lives and who reads it.
pub(crate) struct Network<'a> {
    /// The bench's folder (genesis, node folders).
    pub dir: &'a Path,
    /// The auditor's API token.
    pub token: &'a str,
    /// The validators.
    pub nodes: &'a super::Nodes,
    /// One client per validator.
    pub apis: &'a [Client],
    /// The chain.
    pub chain_id: &'a str,
}

/// Preloads the ledger (the measured period), then measures its read side.
pub(crate) async fn run(
    opts: &super::BenchOptions,
    pre: &PreloadOptions,
    net: Network<'_>,
    plan: Plan,
    timeline: &Arc<Timeline>,
) -> Result<super::Run> {
    let last = net.apis.last().ok_or_else(|| anyhow::anyhow!("no node"))?;
    let mut explorer = explorer::start(
        &net.dir.join("explorer"),
        last.base_url(),
        net.token,
        &net.dir.join("genesis.json"),
    );
    let commits = Arc::new(Commits::new(timeline.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let follower = tokio::spawn(commits.clone().follow(net.apis[0].clone(), stop.clone()));
    let keys = public_keys(&plan);
    let shared = Arc::new(Shared::new(
        net.apis.to_vec(),
        net.chain_id.to_string(),
        commits.clone(),
        opts.batch,
        plan,
    ));
    let set_measuring = |on: bool| commits.set_measuring(on);
    let period = phases(&shared);
    let (measured, phases) = super::measure(
        net.nodes,
        &net.apis[0],
        &keys,
        timeline,
        &set_measuring,
        period,
    )
    .await?;
    let preload_end = Instant::now();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    follower.abort();
    let height = net.apis[0].status().await?.height;
    reached(last, height).await?;
    let tally = take(&shared, std::mem::take);
    let reads = Reads {
        api: &net.apis[0],
        plan: &shared.plan,
        tally: &tally,
        samples: pre.samples,
        preload_end,
        height,
    };
    let (api, ex) = reads.measure(&mut explorer).await;
    drop(explorer);
    let figures = figures(&shared.plan, phases, &tally, height, api, ex, &measured);
    Ok(super::Run {
        measured,
        latencies: commits.take_latencies(),
        admitted: commits.admitted(),
        lifecycle: None,
        preload: Some(figures),
    })
}

/// What the read side is measured on.
struct Reads<'a> {
    api: &'a Client,
    plan: &'a Plan,
    tally: &'a tally::Tally,
    samples: usize,
    preload_end: Instant,
    height: u64,
}

impl Reads<'_> {
    /// The explorer's index first (so the API is timed without it catching up), then the
    /// node API, then the explorer's pages.
    async fn measure(
        &self,
        explorer: &mut Result<explorer::ExplorerProc>,
    ) -> (probe::ApiFigures, explorer::ExplorerFigures) {
        let pages = explorer::Pages {
            plan: self.plan,
            tally: self.tally,
            samples: self.samples,
            preload_end: self.preload_end,
            height: self.height,
        };
        let (mut ex, auditor) = match explorer.as_mut() {
            Ok(proc) => explorer::wait_index(proc, &pages).await,
            Err(e) => {
                let f = explorer::ExplorerFigures {
                    error: Some(format!("the explorer did not start: {e:#}")),
                    ..Default::default()
                };
                (f, None)
            }
        };
        let api = probe::Probe {
            api: self.api,
            plan: self.plan,
            tally: self.tally,
            samples: self.samples,
        }
        .run()
        .await;
        if let (Ok(proc), Some(auditor)) = (explorer.as_mut(), auditor) {
            explorer::time_pages(proc, &pages, auditor, &mut ex).await;
        }
        (api, ex)
    }
}

fn figures(
    plan: &Plan,
    phases: Vec<PhaseFigures>,
    tally: &tally::Tally,
    height: u64,
    api: probe::ApiFigures,
    explorer: explorer::ExplorerFigures,
    measured: &super::Measured,
) -> PreloadFigures {
    let committed: u64 = phases.iter().map(|p| p.committed).sum();
    PreloadFigures {
        cores: plan.cores,
        smes: plan.smes,
        carriers: CARRIERS,
        genesis_orgs: plan.cores + plan.smes + CARRIERS + crate::testnet::CAST.len(),
        docs: plan.docs,
        orders: plan.orders(),
        phases,
        committed,
        tx_per_second: committed as f64 / measured.seconds.max(1e-9),
        receivables: tally.receivables,
        expected_by_status: probe::STATUSES
            .iter()
            .map(|(s, _)| (s.to_string(), tally.in_status(s)))
            .collect(),
        counted_by_status: api.counted,
        height,
        api: api.endpoints,
        explorer,
    }
}

/// The preload's lines of the text report.
pub(super) fn write_text(f: &mut std::fmt::Formatter<'_>, p: &PreloadFigures) -> std::fmt::Result {
    writeln!(
        f,
        "preload: {} orgs in genesis ({} cores, {} SMEs, {} carriers), {} orders, {} receivables asked",
        p.genesis_orgs, p.cores, p.smes, p.carriers, p.orders, p.docs
    )?;
    for ph in &p.phases {
        writeln!(
            f,
            "  {:<12} {:>9} of {:>9} tx executed in {:>7.1} s = {:>7.0} tx/s; refused {:?}, not admitted {:?}, lost {}",
            ph.name, ph.committed, ph.transactions, ph.seconds, ph.tx_per_second, ph.refused, ph.not_admitted, ph.lost
        )?;
        for line in &ph.failures {
            writeln!(f, "    {line}")?;
        }
    }
    writeln!(
        f,
        "  all phases: {} tx executed, {:.0} tx/s; ledger at height {} holds {} receivables {:?} (status lists walked: {:?})",
        p.committed, p.tx_per_second, p.height, p.receivables, p.expected_by_status, p.counted_by_status
    )?;
    sample::write_lines(
        f,
        "node API (one request at a time, auditor token):",
        &p.api,
    )?;
    let e = &p.explorer;
    writeln!(
        f,
        "explorer: index at height {} after {:.1} s ({:.1} s after the preload), dashboard counts {:?} receivables",
        e.target_height, e.seconds_to_index, e.seconds_after_preload, e.receivables_seen
    )?;
    if let (Some(cpu), Some(rss)) = (e.cpu_seconds_to_index, e.peak_rss_mib) {
        writeln!(
            f,
            "  {cpu:.0} CPU-s to index, peak RSS {rss:.0} MiB after the pages were timed"
        )?;
    }
    if let Some(err) = &e.error {
        writeln!(f, "  NOT MEASURED: {err}")?;
    }
    sample::write_lines(
        f,
        "explorer pages and CSV exports (items: bytes of a page, rows of a CSV):",
        &e.endpoints,
    )
}
