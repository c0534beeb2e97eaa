//! `lianrong`: the LianRong command line.

mod demo;

use lianrong_node::keyfile;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// LianRong (链融): a permissioned BFT ledger for supply-chain finance.
#[derive(Parser)]
#[command(name = "lianrong", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play the supply-chain finance story and print an account of it.
    Demo {
        /// End after the story (exit code 0 only if every step behaved).
        #[arg(long)]
        exit: bool,
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
    },
    /// Run a validator (or a non-voting full node) from its config file.
    Node {
        /// The node's config.toml.
        #[arg(long)]
        config: PathBuf,
    },
    /// Write a new Ed25519 member or node key to FILE (never overwrites).
    Keygen {
        /// Where to write the key (JSON, mode 0600).
        #[arg(long)]
        out: PathBuf,
    },
    #[command(flatten)]
    Client(lianrong_node::cli::ClientCommand),
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo { exit } => {
            demo::run()?;
            if !exit {
                println!(
                    "(The explorer is not built yet; nothing to serve, so the demo ends here.)"
                );
            }
            Ok(())
        }
        Command::Testnet {
            validators,
            out,
            chain_id,
            json,
        } => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis() as u64;
            let nodes = lianrong_node::testnet::write(&out, validators, &chain_id, now)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&nodes)?);
            } else {
                println!("wrote {} validators to {}", nodes.len(), out.display());
                for n in &nodes {
                    println!(
                        "  {:<10} lianrong node --config {}   (API {})",
                        n.name,
                        n.config.display(),
                        n.api
                    );
                }
                println!("member keys and API tokens: {}", out.join("keys").display());
            }
            Ok(())
        }
        Command::Node { config } => run_node(&config),
        Command::Client(c) => lianrong_node::cli::run(c),
        Command::Keygen { out } => {
            let public = keyfile::write_new(&out)?;
            println!("{public}");
            Ok(())
        }
    }
}

/// Runs a node until SIGTERM or Ctrl-C, then shuts down cleanly (the database is flushed
/// and closed when the last handle drops).
fn run_node(config: &std::path::Path) -> Result<()> {
    let cfg = lianrong_node::config::NodeConfig::load(config)?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,libp2p=warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // Logs on stderr, so stdout stays for what a command prints for scripts.
        .with_writer(std::io::stderr)
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let shutdown = async {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot listen for SIGTERM");
                        let _ = tokio::signal::ctrl_c().await;
                        return;
                    }
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        };
        lianrong_node::runtime::run(cfg, shutdown).await
    })
}
