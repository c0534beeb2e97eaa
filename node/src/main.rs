//! `lianrong`: the LianRong command line.

mod demo;
mod keyfile;

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
    /// Write a new Ed25519 member or node key to FILE (never overwrites).
    Keygen {
        /// Where to write the key (JSON, mode 0600).
        #[arg(long)]
        out: PathBuf,
    },
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
        Command::Keygen { out } => {
            let public = keyfile::write_new(&out)?;
            println!("{public}");
            Ok(())
        }
    }
}
