//! `lianrong bench --catch-up --total N`: the last validator stays stopped while the
//! others commit N transactions of the order workload; then it starts from an empty data
//! dir and the bench measures how fast it reaches the others' height (blocks and
//! transactions per second, time to the tip) and that it computed the same state root.
//!
//! Separate from the load because it measures one node's sync path, not the network's
//! throughput: nothing is submitted while the late node catches up, so every block it
//! executes came from its peers' sync answers, and the others only serve.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use lianrong_primitives::PublicKey;
use lianrong_sdk::Client;
use serde::Serialize;

use super::{exact_committed, proc_figures, start_nodes, wait_up, Nodes};
use crate::testnet;

/// How often the late node's height is read.
const POLL: Duration = Duration::from_millis(100);
/// Most height samples kept (one per [`POLL`]: over half an hour).
const MAX_SAMPLES: usize = 20_000;
/// The late node gives up when its height did not move for this long.
const STALL: Duration = Duration::from_secs(120);
/// How long the running validators get to drain their mempools after the load stopped.
const DRAIN: Duration = Duration::from_secs(120);

/// What the catch-up measured.
#[derive(Debug, Clone, Serialize)]
pub struct CatchUpFigures {
    /// The validator started late.
    pub node: String,
    /// The others' height when it started: the tip it had to reach.
    pub tip_height: u64,
    /// Transactions committed up to the tip (the bench keys' nonces).
    pub transactions: u64,
    /// Seconds from starting its process to its height reaching the tip.
    pub seconds_to_tip: f64,
    /// Seconds from starting its process to its first finalized block (opening the
    /// database, connecting, the first sync round trip).
    pub seconds_to_first_block: f64,
    /// Transactions per second over the whole time to the tip.
    pub tx_per_second: f64,
    /// Blocks per second over the whole time to the tip.
    pub blocks_per_second: f64,
    /// Transactions per second from its first block to the tip (the sync path alone).
    pub sync_tx_per_second: f64,
    /// Its CPU seconds to the tip.
    pub cpu_seconds: f64,
    /// Those CPU seconds by thread name (`threads`): executing, writing blocks, flushing
    /// and compacting, checking signatures ahead...
    pub cpu_seconds_by_thread: std::collections::BTreeMap<String, f64>,
    /// Its peak resident memory, MiB.
    pub peak_rss_mib: f64,
    /// Whether its block at the tip has the hash and state root of the first node's.
    pub same_block_and_state_root: bool,
    /// (seconds since its start, height), every 100 ms.
    pub heights: Vec<(f64, u64)>,
}

/// Checks the options a catch-up run needs: a total to commit first, and enough
/// validators that the others are a quorum without the late one.
pub(super) fn check(validators: usize, total: Option<u64>) -> Result<()> {
    if total.is_none() {
        bail!("--catch-up needs --total N: the transactions committed before the late validator starts");
    }
    if validators < 4 {
        bail!("--catch-up needs at least 4 validators: the others must be a quorum without the late one");
    }
    Ok(())
}

/// Waits until the running validators committed everything admitted (empty mempools) and
/// agree on a height; returns it and the bench keys' committed transactions.
async fn settled_tip(running: &[Client], keys: &[PublicKey]) -> Result<(u64, u64)> {
    let deadline = Instant::now() + DRAIN;
    loop {
        let mut statuses = Vec::new();
        for api in running {
            statuses.push(api.status().await?);
        }
        let drained = statuses.iter().all(|s| s.mempool == 0);
        let lowest = statuses.iter().map(|s| s.height).min().unwrap_or(0);
        if drained {
            let committed = exact_committed(&running[0], keys).await?;
            return Ok((lowest, committed));
        }
        if Instant::now() > deadline {
            bail!("the running validators did not empty their mempools in {DRAIN:?}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Starts the late validator and follows its height until it reaches the tip.
pub(super) async fn run(
    late: &testnet::NodeInfo,
    nodes: &mut Nodes,
    running: &[Client],
    late_api: &Client,
    keys: &[PublicKey],
) -> Result<CatchUpFigures> {
    let (tip, transactions) = settled_tip(running, keys).await?;
    let started = Instant::now();
    let mut started_nodes = start_nodes(std::slice::from_ref(late))?;
    let pid = started_nodes
        .pids()
        .first()
        .map(|p| p.1)
        .context("late node")?;
    nodes.0.append(&mut started_nodes.0);
    wait_up(late_api).await?;
    let mut heights = Vec::new();
    let mut first_block = None;
    let mut last_move = (0, Instant::now());
    loop {
        let h = late_api.status().await.map(|s| s.height).unwrap_or(0);
        let t = started.elapsed().as_secs_f64();
        if heights.len() < MAX_SAMPLES {
            heights.push((t, h));
        }
        if h > 0 && first_block.is_none() {
            first_block = Some(t);
        }
        if h >= tip {
            break;
        }
        if h > last_move.0 {
            last_move = (h, Instant::now());
        } else if last_move.1.elapsed() > STALL {
            bail!(
                "{} stayed at height {h} for {STALL:?} (tip {tip})",
                late.name
            );
        }
        tokio::time::sleep(POLL).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let (cpu_seconds, peak_rss_mib) = proc_figures(pid)?;
    let cpu_seconds_by_thread = super::threads::cpu_by_thread(pid);
    let same = same_block(&running[0], late_api, tip).await?;
    let first = first_block.unwrap_or(seconds);
    Ok(CatchUpFigures {
        node: late.name.clone(),
        tip_height: tip,
        transactions,
        seconds_to_tip: seconds,
        seconds_to_first_block: first,
        tx_per_second: transactions as f64 / seconds,
        blocks_per_second: tip as f64 / seconds,
        sync_tx_per_second: transactions as f64 / (seconds - first).max(1e-3),
        cpu_seconds,
        cpu_seconds_by_thread,
        peak_rss_mib,
        same_block_and_state_root: same,
        heights,
    })
}

/// Whether two nodes hold the same block at `height` with the same state root after it.
async fn same_block(a: &Client, b: &Client, height: u64) -> Result<bool> {
    let (x, y) = (a.block(height).await?, b.block(height).await?);
    Ok(x.hash == y.hash && x.state_root.is_some() && x.state_root == y.state_root)
}

/// The lines of the text report.
pub(super) fn write_text(f: &mut std::fmt::Formatter<'_>, c: &CatchUpFigures) -> std::fmt::Result {
    writeln!(
        f,
        "catch-up:  {} started late, reached height {} ({} tx) in {:.1} s: {:.0} tx/s, {:.1} blocks/s",
        c.node, c.tip_height, c.transactions, c.seconds_to_tip, c.tx_per_second, c.blocks_per_second
    )?;
    writeln!(
        f,
        "           first block after {:.1} s, then {:.0} tx/s; CPU {:.1} s, peak RSS {:.1} MiB; same block and state root at the tip: {}",
        c.seconds_to_first_block, c.sync_tx_per_second, c.cpu_seconds, c.peak_rss_mib, c.same_block_and_state_root
    )?;
    writeln!(
        f,
        "           CPU s by thread: {}",
        super::threads::line(&c.cpu_seconds_by_thread)
    )
}

/// The rows of the HTML summary.
pub(super) fn rows(c: &CatchUpFigures) -> Vec<(&'static str, String)> {
    vec![
        (
            "catch-up",
            format!(
                "{} started late, reached height {} ({} tx) in {:.1} s: {:.0} tx/s, {:.1} blocks/s",
                c.node,
                c.tip_height,
                c.transactions,
                c.seconds_to_tip,
                c.tx_per_second,
                c.blocks_per_second
            ),
        ),
        (
            "catch-up sync",
            format!(
                "first block after {:.1} s, then {:.0} tx/s; CPU {:.1} s, peak RSS {:.1} MiB; same block and state root at the tip: {}",
                c.seconds_to_first_block,
                c.sync_tx_per_second,
                c.cpu_seconds,
                c.peak_rss_mib,
                c.same_block_and_state_root
            ),
        ),
    ]
}
