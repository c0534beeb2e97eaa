//! `lianrong`: the LianRong command line.

mod audit;
mod bench;
mod cli;
mod demo;
mod deploy;
mod node_admin;
mod snapshot_join;
mod testnet;
mod verify_cmd;

use lianrong_node::clock::LedgerClock;
use lianrong_node::keyfile;

use std::path::PathBuf;

use anyhow::Result;

/// jemalloc instead of glibc's malloc: a node allocates and frees small buffers for every
/// transaction, block and message. Alternated preloads (node/README.md, "Memory budget"):
/// less CPU per transaction than glibc's malloc (~15 % on the lifecycle, ~25-35 % on a
/// preload), and a half to three quarters of mimalloc's peak RSS at the same CPU. Its
/// options (returning freed pages within a second, from a background thread) are compiled
/// in from `.cargo/config.toml`; `_RJEM_MALLOC_CONF` overrides them. It is not the
/// process's `malloc` (tikv-jemallocator's `unprefixed_malloc_on_supported_platforms`):
/// RocksDB's C++ allocations stay with glibc, because a process whose `malloc` is
/// jemalloc cannot start under libfaketime (the fault harness's clock skew; its
/// `clock_gettime` and jemalloc's initialisation call each other). A heap profile that
/// should include RocksDB is taken with a build that sets that feature
/// (node/README.md, "Where a saturated validator's heap goes").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's live and resident bytes for `/metrics`. Its statistics are a snapshot
/// refreshed by advancing its epoch, so each scrape reads current figures.
fn heap_stats() -> Option<lianrong_node::api::metrics::HeapStats> {
    use tikv_jemalloc_ctl::{epoch, stats};
    epoch::advance().ok()?;
    Some(lianrong_node::api::metrics::HeapStats {
        allocated: u64::try_from(stats::allocated::read().ok()?).ok()?,
        resident: u64::try_from(stats::resident::read().ok()?).ok()?,
    })
}
use clap::{Parser, Subcommand};

/// LianRong (链融): a permissioned BFT ledger for supply-chain finance.
#[derive(Parser)]
#[command(name = "lianrong", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Play the supply-chain finance story and print an account of it.
    Demo {
        /// End after the story (exit code 0 only if every step behaved).
        #[arg(long)]
        exit: bool,
        /// Keep the network (genesis, keys, data) in this folder instead of a temporary one.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Port of the explorer served after the story (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        explorer_port: u16,
    },
    /// Write a local network: genesis, node configs and keys, member keys and tokens.
    Testnet {
        /// Number of validators (the first four are bank, core-a, core-b, logistics).
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Output folder (must be empty or absent).
        #[arg(long)]
        out: PathBuf,
        /// Chain id.
        #[arg(long, default_value = "lianrong-local")]
        chain_id: String,
        /// Print each node's config path and API URL as JSON.
        #[arg(long)]
        json: bool,
        /// Extra nodes outside genesis (full nodes of every validator), ready to be
        /// proposed as validators; listed with `spare: true`.
        #[arg(long, default_value_t = 0)]
        spares: usize,
        /// Serve every node's API over HTTPS: writes a local CA (tls/ca.pem, for clients'
        /// --ca), each node's certificate, and a client certificate (tls/client.pem).
        #[arg(long)]
        tls: bool,
        /// Encrypt every node's data at rest: a data key per node (data.key in its
        /// folder, named by [encryption] in its config) and its node key sealed under it.
        #[arg(long)]
        encrypt: bool,
    },
    /// Run a validator (or a non-voting full node) from its config file.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Node {
        /// The node's config.toml.
        #[arg(long, required = true)]
        config: Option<PathBuf>,
        /// Development and test networks only: block time follows the offset (ms) written
        /// in this file, so maturity can arrive in seconds. Never on a real network.
        #[arg(long, hide = true)]
        dev_clock_file: Option<PathBuf>,
        /// Check the config and everything it names (key, genesis, peers, listen
        /// addresses, data dir), print every problem found and exit (1 if any).
        #[arg(long)]
        check_config: bool,
        #[command(flatten)]
        snapshot: crate::snapshot_join::SnapshotFrom,
        /// `backup` or `restore` the node's database instead of running it.
        #[command(subcommand)]
        action: Option<crate::node_admin::NodeAction>,
    },
    /// Benchmark a local network: committed tx/s, finality p50/p99, RSS and CPU per node.
    Bench(BenchArgs),
    /// Serve the auditors' web explorer of a node (`hash-password` makes account entries).
    // `--config` is required unless the `hash-password` subcommand is given: a
    // `required_unless_present` naming the subcommand failed clap's debug assertions, so
    // `lianrong explorer` panicked at start in every debug build.
    #[command(subcommand_negates_reqs = true)]
    Explorer {
        /// The node's API URL (overrides `node_url` of the config).
        #[arg(long)]
        node: Option<String>,
        /// The explorer's config.toml (accounts, node token, listen address).
        #[arg(long, required = true)]
        config: Option<PathBuf>,
        /// The index's database (overrides `database` of the config): `sqlite://PATH`
        /// or `postgres://user:password@host/db`.
        #[arg(long)]
        database: Option<String>,
        /// Keep the index's SQLite database (`explorer.db`) in this folder instead of
        /// next to the config (ignored with `--database`, or when the config names a
        /// `database` of its own).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[command(subcommand)]
        action: Option<ExplorerAction>,
    },
    /// Assemble a genesis on several hosts from public keys only: each org writes its
    /// `entry`, one party `build`s genesis.json, every host `check`s it.
    Genesis {
        #[command(subcommand)]
        action: crate::deploy::GenesisAction,
    },
    /// Write one host's node config from the shared genesis (`config init`).
    Config {
        #[command(subcommand)]
        action: crate::deploy::ConfigAction,
    },
    /// Write a new Ed25519 member or node key to FILE (never overwrites).
    Keygen {
        /// Where to write the key (JSON, mode 0600).
        #[arg(long)]
        out: PathBuf,
        /// For a member key: the org it will belong to (written into the file, so client
        /// verbs sign as that org without being told); give `--chain-id` with it.
        #[arg(long, requires = "chain_id", value_parser = crate::cli::parse_org)]
        org: Option<lianrong_primitives::OrgId>,
        /// The chain the member key signs for (see `lianrong status`).
        #[arg(long, requires = "org")]
        chain_id: Option<String>,
    },
    /// Check a document, its history or a block against the genesis file, trusting
    /// nothing the node says (exit 0 VALID, 1 INVALID, 2 error).
    #[command(after_help = crate::verify_cmd::AFTER_HELP)]
    Verify(crate::verify_cmd::VerifyArgs),
    /// Audit the whole chain from genesis: certificates, hash chain, re-execution of
    /// every block; export it as a package and check a package offline (exit 0 passed,
    /// 1 discrepancy, 2 error).
    #[command(after_help = crate::audit::AFTER_HELP)]
    Audit(crate::audit::AuditArgs),
    #[command(flatten)]
    Client(Box<crate::cli::ClientCommand>),
}

/// `lianrong explorer` helpers.
#[derive(Subcommand)]
enum ExplorerAction {
    /// Print the argon2id hash of a password read from stdin, for an account entry.
    HashPassword,
}

fn main() {
    lianrong_node::api::metrics::set_heap_reader(heap_stats);
    if let Err(e) = run(Cli::parse().command) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Verify(args) => exit_with(crate::verify_cmd::run(args)),
        Command::Audit(args) => exit_with(crate::audit::run(args)),
        Command::Demo {
            exit,
            dir,
            explorer_port,
        } => run_demo(exit, dir, explorer_port),
        Command::Testnet {
            validators,
            out,
            chain_id,
            json,
            spares,
            tls,
            encrypt,
        } => run_testnet(&out, (validators, spares), &chain_id, json, tls, encrypt),
        Command::Node {
            action: Some(action),
            ..
        } => crate::node_admin::run(action),
        Command::Node {
            config,
            dev_clock_file,
            check_config,
            snapshot,
            action: None,
        } => {
            let config = config.ok_or_else(|| anyhow::anyhow!("--config is required"))?;
            run_node(&config, dev_clock_file.as_deref(), check_config, &snapshot)
        }
        Command::Bench(args) => run_bench(args),
        Command::Client(c) => crate::cli::run(*c),
        Command::Explorer {
            node,
            config,
            database,
            data_dir,
            action,
        } => run_explorer(node, config, ExplorerDb { database, data_dir }, action),
        Command::Genesis { action } => crate::deploy::run_genesis(action),
        Command::Config { action } => crate::deploy::run_config(action),
        Command::Keygen { out, org, chain_id } => {
            let public = match (org, chain_id) {
                (Some(org), Some(chain)) => keyfile::write_new_member(&out, &org, &chain)?,
                _ => keyfile::write_new(&out)?,
            };
            println!("{public}");
            Ok(())
        }
    }
}

/// What `lianrong testnet` wrote: JSON for scripts, or how to start each node.
/// `lianrong testnet`: writes the network (genesis now) and prints where it is.
fn run_testnet(
    out: &std::path::Path,
    (validators, spares): (usize, usize),
    chain_id: &str,
    json: bool,
    tls: bool,
    encrypt: bool,
) -> Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    let nodes = crate::testnet::write_full(out, validators, spares, chain_id, now, tls, encrypt)?;
    print_testnet(out, &nodes, json, tls)
}

fn print_testnet(
    out: &std::path::Path,
    nodes: &[crate::testnet::NodeInfo],
    json: bool,
    tls: bool,
) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(nodes)?);
        return Ok(());
    }
    let spares = nodes.iter().filter(|n| n.spare).count();
    println!(
        "wrote {} validators, {spares} spares to {}",
        nodes.len() - spares,
        out.display()
    );
    for n in nodes {
        println!(
            "  {:<10} lianrong node --config {}   (API {}{})",
            n.name,
            n.config.display(),
            n.api,
            if n.spare { ", spare" } else { "" }
        );
    }
    println!("member keys and API tokens: {}", out.join("keys").display());
    if tls {
        let dir = out.join("tls");
        println!(
            "HTTPS: clients trust --ca {}; client certificate {} (key {})",
            dir.join("ca.pem").display(),
            dir.join("client.pem").display(),
            dir.join("client-key.pem").display()
        );
    }
    Ok(())
}

/// `lianrong bench`'s options.
#[derive(clap::Args)]
struct BenchArgs {
    /// Validators to start (separate processes of this binary).
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Client keys submitting transactions concurrently.
    #[arg(long, default_value_t = 64)]
    keys: usize,
    /// Warm-up seconds before measuring.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Measured seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Keep the network (genesis, configs, data, node logs) in this folder.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Offered load in transactions per second, spread over the keys (finality is
    /// then measured at that load); without it the clients saturate the network.
    #[arg(long)]
    rate: Option<u32>,
    /// Transactions per request: above 1, each key submits that many consecutive
    /// transactions at once through `POST /v1/transactions/batch`.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// `orders` (purchase orders from fresh keys) or `lifecycle` (documents from
    /// order to repayment, 14 transactions each, from many orgs' keys).
    #[arg(long, value_enum, default_value = "orders")]
    workload: crate::bench::Workload,
    /// Run until this many transactions committed (no warm-up; `--seconds` unused);
    /// the lifecycle rounds it up to whole lives.
    #[arg(long)]
    total: Option<u64>,
    /// Also draw the run: throughput, finality, CPU and RSS per node over time
    /// (`.svg`, else a self-contained HTML page).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Keep the last validator stopped until --total committed, then start it and
    /// measure its catch-up (tx/s and blocks/s to the others' height).
    #[arg(long)]
    catch_up: bool,
    /// Preload this many receivables (orders, invoices, splits, transfers and
    /// settlements from the bench orgs' own keys) through the network, then measure
    /// the node API's lists and lookups and the explorer's pages and CSV exports.
    #[arg(long)]
    preload_docs: Option<u64>,
    /// With --preload-docs: bench orgs in genesis (one in 11 a core enterprise, the
    /// rest SMEs).
    #[arg(long, default_value_t = 1_100, requires = "preload_docs")]
    orgs: usize,
    /// With --preload-docs: requests timed per endpoint class.
    #[arg(long, default_value_t = 300, requires = "preload_docs")]
    samples: usize,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

impl BenchArgs {
    fn into_options(self) -> crate::bench::BenchOptions {
        crate::bench::BenchOptions {
            validators: self.validators,
            keys: self.keys,
            warmup: std::time::Duration::from_secs(self.warmup),
            duration: std::time::Duration::from_secs(self.seconds),
            dir: self.dir,
            rate: self.rate,
            batch: self.batch,
            workload: self.workload,
            total: self.total,
            report: self.report,
            catch_up: self.catch_up,
            preload: self
                .preload_docs
                .map(|docs| crate::bench::preload::PreloadOptions {
                    orgs: self.orgs,
                    docs,
                    samples: self.samples,
                }),
        }
    }
}

/// `lianrong bench`: runs the benchmark and prints its report.
fn run_bench(args: BenchArgs) -> Result<()> {
    let json = args.json;
    let options = args.into_options();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(crate::bench::run(options))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}

/// Ends the process with `code` unless it is 0: `verify` and `audit` tell "the evidence
/// is wrong" (1) from "could not check" (2) themselves.
fn exit_with(code: i32) -> Result<()> {
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}

/// `lianrong explorer`'s `--database` and `--data-dir`.
struct ExplorerDb {
    database: Option<String>,
    data_dir: Option<PathBuf>,
}

/// `lianrong explorer`: serves until SIGTERM or Ctrl-C.
fn run_explorer(
    node: Option<String>,
    config: Option<PathBuf>,
    db: ExplorerDb,
    action: Option<ExplorerAction>,
) -> Result<()> {
    if let Some(ExplorerAction::HashPassword) = action {
        let mut password = String::new();
        std::io::stdin().read_line(&mut password)?;
        let password = password.trim_end_matches(['\r', '\n']);
        if password.is_empty() {
            anyhow::bail!("no password on stdin");
        }
        println!("{}", lianrong_explorer::hash_password(password));
        return Ok(());
    }
    let Some(path) = config else {
        anyhow::bail!("--config is required");
    };
    let mut cfg = lianrong_explorer::ExplorerConfig::load(&path)?;
    if let Some(url) = node {
        cfg.node_url = url;
    }
    use lianrong_explorer::config::{anchor_sqlite, DEFAULT_DATABASE};
    let next_to_config = anchor_sqlite(
        DEFAULT_DATABASE,
        path.parent().unwrap_or(std::path::Path::new(".")),
    );
    match (db.database, db.data_dir) {
        (Some(url), _) => cfg.database = Some(url),
        // Only instead of the default: a database the config names stays.
        (None, Some(dir)) if cfg.database.as_deref() == Some(next_to_config.as_str()) => {
            cfg.database = Some(anchor_sqlite(DEFAULT_DATABASE, &dir));
        }
        _ => {}
    }
    cfg.validate().map_err(anyhow::Error::msg)?;
    init_logs("info");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(lianrong_explorer::serve(cfg, stop_signal()))
}

/// Completes on SIGTERM or Ctrl-C.
async fn stop_signal() {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Logs on stderr, so stdout stays for what a command prints for scripts.
fn init_logs(default: &str) {
    let chosen = std::env::var("RUST_LOG").unwrap_or_else(|_| default.into());
    let filter = tracing_subscriber::EnvFilter::new(with_quiet_gossip(&chosen));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
}

/// libp2p's gossipsub warns once per message a slow peer's send queue refuses, with the
/// whole message in the line (every byte of the relayed transactions): under load that is
/// thousands of lines a second. The network counts those drops and logs them itself
/// ("slow peer, gossip dropped"), so gossipsub's own warnings are off unless a filter
/// names gossipsub.
fn with_quiet_gossip(filter: &str) -> String {
    if filter.contains("libp2p_gossipsub") {
        filter.to_string()
    } else {
        format!("{filter},libp2p_gossipsub=error")
    }
}

/// Plays the demo; with `exit`, stops after the story (exit code 1 if a step
/// misbehaved), otherwise keeps the network up until Ctrl-C.
fn run_demo(exit: bool, dir: Option<PathBuf>, explorer_port: u16) -> Result<()> {
    init_logs("warn,libp2p=error");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let (net, verdict) = crate::demo::run(dir).await?;
        if exit || verdict.is_err() {
            net.stop().await?;
            return verdict;
        }
        let explorer = crate::demo::explorer(&net, explorer_port).await?;
        let result = explorer.run(stop_signal()).await;
        net.stop().await?;
        result
    })
}

/// `lianrong node --check-config`: every finding on stderr, one a line; "config OK" on
/// stdout and 0 when none is a problem, else 1.
fn check_node_config(config: &std::path::Path) -> i32 {
    let report = lianrong_node::check_config::check(config);
    for finding in &report.findings {
        eprintln!("{finding}");
    }
    let problems = report.problems().count();
    if problems == 0 {
        println!("config OK: {}", config.display());
        0
    } else {
        eprintln!("{problems} problem(s) in {}", config.display());
        1
    }
}

/// Runs a node until SIGTERM or Ctrl-C, then shuts down cleanly (the database is flushed
/// and closed when the last handle drops); with `check_config`, only checks its config.
fn run_node(
    config: &std::path::Path,
    dev_clock_file: Option<&std::path::Path>,
    check_config: bool,
    snapshot: &crate::snapshot_join::SnapshotFrom,
) -> Result<()> {
    if check_config {
        return exit_with(check_node_config(config));
    }
    let cfg = lianrong_node::config::NodeConfig::load(config)?;
    init_logs("info,libp2p=warn");
    // Before any thread that reaches RocksDB starts (glibc_malloc says why).
    let tuned = lianrong_node::glibc_malloc::tune();
    for s in &tuned {
        tracing::info!(setting = ?s.knob, value = s.value, "glibc malloc for RocksDB");
    }
    if lianrong_node::glibc_malloc::start_trimming(&tuned)? {
        tracing::info!(
            slack_bytes = lianrong_node::glibc_malloc::TRIM_SLACK_BYTES,
            "glibc malloc: free memory inside its heaps given back every second"
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        // An empty node may start from another node's snapshot instead of genesis.
        crate::snapshot_join::join_if_empty(&cfg, snapshot).await?;
        let clock = LedgerClock::wall();
        if let Some(path) = dev_clock_file {
            clock.follow_file(path.to_owned());
        }
        lianrong_node::runtime::run(cfg, clock, stop_signal()).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// clap checks a command line's definition only when it parses one, and only in
    /// debug builds: an inconsistent argument of one subcommand (`lianrong explorer`'s
    /// `--config` once named a missing argument) panics when that subcommand starts.
    /// Checked here for every subcommand at once.
    #[test]
    fn every_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// `--orgs` and `--samples` shape only a preload: given without `--preload-docs`
    /// they would be silently ignored, so the command line refuses them.
    #[test]
    fn preload_options_without_a_preload_are_refused() {
        let refused = Cli::try_parse_from(["lianrong", "bench", "--orgs", "300"]);
        let error = refused
            .err()
            .expect("--orgs without --preload-docs was accepted");
        assert!(error.to_string().contains("--preload-docs"), "{error}");
        assert!(Cli::try_parse_from(["lianrong", "bench", "--samples", "5"]).is_err());
        let cli =
            Cli::try_parse_from(["lianrong", "bench", "--preload-docs", "10", "--orgs", "300"])
                .expect("a preload with its org count");
        let Command::Bench(args) = cli.command else {
            panic!("not the bench command");
        };
        let preload = args.into_options().preload.expect("a preload");
        assert_eq!((preload.docs, preload.orgs), (10, 300));
    }

    /// Whether a warning from `target` gets through the filter a process builds from
    /// `chosen` (its `RUST_LOG` or default).
    fn warns(chosen: &str, target_is_gossipsub: bool) -> bool {
        let filter = tracing_subscriber::EnvFilter::new(with_quiet_gossip(chosen));
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            if target_is_gossipsub {
                tracing::enabled!(target: "libp2p_gossipsub::behaviour", tracing::Level::WARN)
            } else {
                tracing::enabled!(target: "libp2p_swarm", tracing::Level::WARN)
            }
        })
    }

    /// A node under load must not write a line per dropped gossip message (each carrying
    /// the message's bytes), whatever filter it runs with -- unless the operator asks
    /// for gossipsub's logs by name. Other libp2p warnings still get through.
    #[test]
    fn gossipsub_warnings_are_off_unless_asked_for() {
        for chosen in ["warn", "info,libp2p=warn", "debug"] {
            assert!(!warns(chosen, true), "{chosen}: gossipsub warns");
            assert!(warns(chosen, false), "{chosen}: other libp2p warnings lost");
        }
        assert!(warns("warn,libp2p_gossipsub=warn", true));
    }
}
