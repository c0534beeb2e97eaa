//! Bytes on disk per committed transaction: each validator's data directory (RocksDB's
//! tables, write-ahead log, manifest and its own logs) summed after the run, divided by
//! the transactions the ledger committed since genesis -- what an operator sizes a disk
//! by (`docs/operations.md`, "Sizing a validator's disk").
//!
//! Separate from the load figures because it is read from the files, not the API: a
//! directory walk while the nodes still run (RocksDB may be mid-flush or mid-compaction,
//! which moves the figure by a few percent).

use std::path::Path;

use anyhow::{Context, Result};
use lianrong_node::config::NodeConfig;
use serde::Serialize;

use crate::testnet;

/// Deepest folder level walked under a data dir (RocksDB writes one level).
const MAX_DEPTH: usize = 4;

/// What the data directories held.
#[derive(Debug, Clone, Serialize)]
pub struct DiskFigures {
    /// Transactions committed since genesis, the denominator.
    pub transactions: u64,
    /// Per validator.
    pub nodes: Vec<NodeDisk>,
}

/// One validator's data directory.
#[derive(Debug, Clone, Serialize)]
pub struct NodeDisk {
    /// Node name.
    pub name: String,
    /// `[storage] keep_versions` it ran with (0: every version kept).
    pub keep_versions: u64,
    /// Every file in the data directory, bytes.
    pub bytes: u64,
    /// RocksDB's tables (`*.sst`), bytes.
    pub sst_bytes: u64,
    /// RocksDB's write-ahead log (`*.log`), bytes.
    pub wal_bytes: u64,
    /// `bytes` per committed transaction.
    pub bytes_per_tx: f64,
}

/// Sizes the data directories of `infos` (those that exist) against `transactions`.
pub(super) fn measure(infos: &[testnet::NodeInfo], transactions: u64) -> Result<DiskFigures> {
    let mut nodes = Vec::new();
    for n in infos {
        let config = NodeConfig::load(&n.config)
            .with_context(|| format!("reading {}", n.config.display()))?;
        let dir = &config.node.data_dir;
        if !dir.is_dir() {
            continue;
        }
        let mut sizes = Sizes::default();
        sizes.walk(dir, 0)?;
        nodes.push(NodeDisk {
            name: n.name.clone(),
            keep_versions: config.storage.keep_versions,
            bytes: sizes.total,
            sst_bytes: sizes.sst,
            wal_bytes: sizes.wal,
            bytes_per_tx: if transactions == 0 {
                f64::NAN
            } else {
                sizes.total as f64 / transactions as f64
            },
        });
    }
    Ok(DiskFigures {
        transactions,
        nodes,
    })
}

#[derive(Default)]
struct Sizes {
    total: u64,
    sst: u64,
    wal: u64,
}

impl Sizes {
    fn walk(&mut self, dir: &Path, depth: usize) -> Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
            let entry = entry?;
            // A file RocksDB deleted between the listing and here (a compaction) is gone.
            let Ok(meta) = entry.metadata() else { continue };
            let path = entry.path();
            if meta.is_dir() && depth < MAX_DEPTH {
                self.walk(&path, depth + 1)?;
            } else if meta.is_file() {
                self.total += meta.len();
                match path.extension().and_then(|e| e.to_str()) {
                    Some("sst") => self.sst += meta.len(),
                    Some("log") => self.wal += meta.len(),
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// The lines of the text report.
pub(super) fn write_text(f: &mut std::fmt::Formatter<'_>, d: &DiskFigures) -> std::fmt::Result {
    for line in lines(d) {
        writeln!(f, "{line}")?;
    }
    Ok(())
}

/// The rows of the HTML summary.
pub(super) fn rows(d: &DiskFigures) -> Vec<(&'static str, String)> {
    lines(d).into_iter().map(|l| ("disk", l)).collect()
}

fn lines(d: &DiskFigures) -> Vec<String> {
    const MIB: f64 = 1024.0 * 1024.0;
    d.nodes
        .iter()
        .map(|n| {
            format!(
                "{}: {:.1} MiB on disk ({:.1} MiB tables, {:.1} MiB write-ahead log) = {:.0} bytes per tx over {} committed tx (keep_versions {})",
                n.name,
                n.bytes as f64 / MIB,
                n.sst_bytes as f64 / MIB,
                n.wal_bytes as f64 / MIB,
                n.bytes_per_tx,
                d.transactions,
                n.keep_versions
            )
        })
        .collect()
}

/// [`measure`] after a successful run: the order workload's transactions are its keys'
/// nonces, the lifecycle's its committed steps.
pub(super) async fn after_run(
    infos: &[testnet::NodeInfo],
    api: &lianrong_sdk::Client,
    opts: &super::BenchOptions,
    run: &super::Run,
) -> Result<DiskFigures> {
    let transactions = match (&run.lifecycle, &run.preload) {
        (Some(l), _) => l.steps.values().sum(),
        // Every transaction of the preload took a nonce, refused ones too.
        (None, Some(_)) => run.measured.committed,
        (None, None) => {
            let keys: Vec<_> = (0..opts.keys)
                .map(|i| super::client_key(i).public())
                .collect();
            super::exact_committed(api, &keys).await?
        }
    };
    measure(infos, transactions)
}
