//! `lianrong audit chain|export|verify`: an auditor's own check of the whole chain,
//! trusting only the genesis file. `chain` audits a node's blocks, `export` writes them
//! with everything derived from them as a package (audited while written), `verify`
//! audits a package offline. All three run [`replay::audit`] over an iterator of raw
//! blocks; only where the blocks come from and what is done with each differs.
//!
//! Exit codes: 0 passed, 1 a discrepancy (the first, with its height), 2 the audit could
//! not be made.

pub mod compare;
pub mod fetch;
pub mod package;
pub mod replay;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use lianrong_contracts::Genesis;
use lianrong_sdk::RawBlock;
use serde_json::json;

use crate::cli::Conn;
use package::{PackageWriter, BLOCKS, GENESIS};
use replay::{AuditFailure, AuditedBlock, Summary};

/// What `--help` says after the verbs.
pub const AFTER_HELP: &str = "Exit codes: 0 the audit passed, 1 a discrepancy (the first one \
found, with its height and why), 2 the audit could not be made (bad arguments, unreadable \
files, node unreachable or refusing).\n\nThe genesis file is the only thing trusted: blocks \
are checked against the certificates of each epoch's validators from the genesis set on, and \
every block is re-executed from the genesis state.";

/// `lianrong audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    cmd: AuditCmd,
}

#[derive(Debug, Subcommand)]
enum AuditCmd {
    /// Fetch every finalized block from a node (a bank's or auditor's credential), check
    /// the hash chain and every certificate, re-execute every block from genesis and
    /// compare every certified state and results root.
    Chain {
        #[command(flatten)]
        conn: Conn,
        /// The network's genesis file (genesis.json).
        #[arg(long, value_name = "FILE")]
        genesis: PathBuf,
    },
    /// Write an audit package (raw blocks, certificates, transactions and receipts as
    /// JSON lines and CSV, README.txt), auditing the chain as it is written.
    Export {
        #[command(flatten)]
        conn: Conn,
        /// A new or empty folder for the package.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The network's genesis file (the node does not serve it; it goes into the
        /// package as genesis.json).
        #[arg(long, value_name = "FILE")]
        genesis: PathBuf,
        /// Take the raw blocks from this file instead of a node: a package's
        /// blocks.jsonl, or lines {"height","block_hex","certificate_hex"} as
        /// /v1/blocks/{height}/raw answers.
        #[arg(long, value_name = "FILE", conflicts_with = "node")]
        blocks: Option<PathBuf>,
    },
    /// Check a package offline: the same audit as `chain` over its blocks.jsonl, then
    /// every derived file re-written and compared.
    Verify {
        /// The package folder.
        dir: PathBuf,
        /// The network's genesis file; the package's genesis.json must be the same
        /// genesis. Without it the package's own genesis.json is trusted (its hash is
        /// printed, to compare with the network's).
        #[arg(long, value_name = "FILE")]
        genesis: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `lianrong audit` and returns the process exit code.
pub fn run(args: AuditArgs) -> i32 {
    let (json, result) = match &args.cmd {
        AuditCmd::Chain { conn, genesis } => {
            (conn.json, chain(conn, genesis).map(|s| (s, Vec::new())))
        }
        AuditCmd::Export {
            conn,
            out,
            genesis,
            blocks,
        } => (
            conn.json,
            export(conn, out, genesis, blocks.as_deref()).map(|s| {
                let note = format!("package written to {}", out.display());
                (s, vec![note])
            }),
        ),
        AuditCmd::Verify { dir, genesis, json } => (*json, verify(dir, genesis.as_deref())),
    };
    report(json, result)
}

fn report(json: bool, result: Result<(Summary, Vec<String>), AuditFailure>) -> i32 {
    let one_line = |s: &str| crate::cli::output::one_line(s);
    match result {
        Ok((summary, notes)) => {
            if json {
                let out = json!({"passed": true, "summary": summary, "notes": notes});
                println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            } else {
                println!("{}", summary_text(&summary));
                notes.iter().for_each(|n| println!("{n}"));
                println!("AUDIT PASSED");
            }
            0
        }
        Err(AuditFailure::Unavailable(e)) => {
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            2
        }
        Err(failure) => {
            let height = match &failure {
                AuditFailure::Discrepancy { height, .. } => Some(*height),
                _ => None,
            };
            let reason = match &failure {
                AuditFailure::Discrepancy { reason, .. } => reason.clone(),
                other => other.to_string(),
            };
            if json {
                println!(
                    "{}",
                    json!({"passed": false, "height": height, "reason": reason})
                );
            } else if let Some(h) = height {
                println!("AUDIT FAILED at height {h}: {}", one_line(&reason));
            } else {
                println!("AUDIT FAILED: {}", one_line(&reason));
            }
            1
        }
    }
}

fn summary_text(s: &Summary) -> String {
    let c = &s.certified;
    if s.blocks == 0 {
        return format!(
            "chain         {} (genesis {})\n\
             blocks        0 (none finalized yet)\n\
             genesis state root {}",
            s.chain_id, s.genesis_hash, s.genesis_state_root
        );
    }
    format!(
        "chain         {} (genesis {})\n\
         blocks        {} (heights 1 to {})\n\
         transactions  {} ({} dropped by every node: bad signature)\n\
         epochs        {} ({} validator-set changes)\n\
         certified     state root {}\n\
         \x20             results root {}\n\
         \x20             after height {}, certified by block {} ({})",
        s.chain_id,
        s.genesis_hash,
        s.blocks,
        s.blocks,
        s.transactions,
        s.dropped_transactions,
        s.epochs,
        s.validator_set_changes,
        c.state_root,
        c.results_root,
        c.height,
        s.blocks,
        s.last_block_hash,
    )
}

/// A genesis file, parsed, and its text.
fn load_genesis(path: &Path) -> Result<(Genesis, String)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading genesis {}", path.display()))?;
    let genesis = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a genesis file", path.display()))?;
    Ok((genesis, text))
}

/// Where the raw blocks come from, and how many there are.
struct Source {
    total: u64,
    blocks: Box<dyn Iterator<Item = Result<RawBlock, AuditFailure>>>,
    /// The runtime fetching from a node; dropped after `blocks`.
    _rt: Option<tokio::runtime::Runtime>,
}

fn node_source(conn: &Conn, chain_id: &str) -> Result<Source, AuditFailure> {
    let (client, _) = crate::cli::connect(conn)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let total = rt.block_on(fetch::chain_end(&client, chain_id))?;
    Ok(Source {
        total,
        blocks: Box::new(fetch::blocks(&rt, client, total)),
        _rt: Some(rt),
    })
}

fn file_source(path: &Path) -> Result<Source, AuditFailure> {
    let (total, blocks) = package::read_blocks(path)?;
    Ok(Source {
        total,
        blocks: Box::new(blocks),
        _rt: None,
    })
}

/// A progress bar on stderr while stdout is a terminal; hidden otherwise.
fn progress(total: u64) -> ProgressBar {
    if !std::io::stdout().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("auditing block {pos}/{len} [{bar:40}] {per_sec} ({eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The audit of `source` from `genesis`, with a progress bar, calling `each` for every
/// block that passed.
fn run_audit(
    genesis: &Genesis,
    source: Source,
    mut each: impl FnMut(&AuditedBlock) -> Result<()>,
) -> Result<Summary, AuditFailure> {
    let Source { total, blocks, _rt } = source;
    let bar = progress(total);
    let result = replay::audit(genesis, blocks, |b| {
        bar.set_position(b.block.height);
        each(b).map_err(AuditFailure::Unavailable)
    });
    bar.finish_and_clear();
    result
}

fn chain(conn: &Conn, genesis: &Path) -> Result<Summary, AuditFailure> {
    let (genesis, _) = load_genesis(genesis)?;
    let source = node_source(conn, &genesis.chain_id)?;
    run_audit(&genesis, source, |_| Ok(()))
}

/// The staging folder inside `out` (created if absent, refused if not empty): the
/// package appears in `out` only once it is complete and audited.
fn staging(out: &Path) -> Result<tempfile::TempDir> {
    if out.exists() {
        let mut entries =
            std::fs::read_dir(out).with_context(|| format!("reading {}", out.display()))?;
        if entries.next().is_some() {
            bail!("{} is not empty: give a new or empty folder", out.display());
        }
    } else {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    }
    Ok(tempfile::Builder::new()
        .prefix(".lianrong-export-")
        .tempdir_in(out)?)
}

fn export(
    conn: &Conn,
    out: &Path,
    genesis_path: &Path,
    blocks: Option<&Path>,
) -> Result<Summary, AuditFailure> {
    let (genesis, text) = load_genesis(genesis_path)?;
    let stage = staging(out)?;
    let source = match blocks {
        Some(path) => file_source(path)?,
        None => node_source(conn, &genesis.chain_id)?,
    };
    let mut writer = PackageWriter::create(stage.path())?;
    let summary = run_audit(&genesis, source, |b| writer.write(b))?;
    writer.finish(Some(&text), &summary)?;
    for entry in std::fs::read_dir(stage.path()).context("reading the staging folder")? {
        let entry = entry.context("reading the staging folder")?;
        std::fs::rename(entry.path(), out.join(entry.file_name()))
            .with_context(|| format!("moving {} into place", entry.path().display()))?;
    }
    Ok(summary)
}

fn verify(dir: &Path, trusted: Option<&Path>) -> Result<(Summary, Vec<String>), AuditFailure> {
    for name in [GENESIS, BLOCKS] {
        if !dir.join(name).is_file() {
            return Err(AuditFailure::Package(format!(
                "{name} is missing from {}",
                dir.display()
            )));
        }
    }
    let (genesis, _) =
        load_genesis(&dir.join(GENESIS)).map_err(|e| AuditFailure::Package(format!("{e:#}")))?;
    let trust = match trusted {
        Some(path) => {
            let (given, _) = load_genesis(path)?;
            if given != genesis {
                return Err(AuditFailure::Package(format!(
                    "the package's genesis.json is not the genesis in {} (chain {:?} vs {:?})",
                    path.display(),
                    genesis.chain_id,
                    given.chain_id
                )));
            }
            format!("genesis.json is the genesis in {}", path.display())
        }
        None => "trusted the package's own genesis.json (no --genesis): compare the genesis \
                 hash above with the network's"
            .to_string(),
    };
    let regenerated = tempfile::tempdir().context("creating a scratch folder")?;
    let mut writer = PackageWriter::create(regenerated.path())?;
    let source = file_source(&dir.join(BLOCKS))?;
    let summary = run_audit(&genesis, source, |b| writer.write(b))?;
    writer.finish(None, &summary)?;
    compare::package(dir, regenerated.path())?;
    Ok((
        summary,
        vec![
            trust,
            "every file of the package matches its re-derivation (README.txt excepted)".into(),
        ],
    ))
}
