//! Deployment on several hosts without moving a secret key: `lianrong genesis
//! entry|build|check` (a genesis assembled from the organisations' public keys) and
//! `lianrong config init` (one host's node config from that genesis). The guide that
//! uses them, and the systemd units, are in `network-configs/deploy/`.

pub mod config;
pub mod genesis;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use lianrong_contracts::model::Role;
use lianrong_node::config::TokenGrant;
use lianrong_primitives::OrgId;

/// `lianrong genesis ...`
#[derive(Subcommand)]
pub enum GenesisAction {
    /// Write this organisation's entry for genesis: its details and the PUBLIC keys of
    /// its member key files (and of its node key, for a validator). Send the entry to
    /// whoever assembles genesis; the key files stay on this host.
    Entry {
        /// The chain id all parties agreed on (the member keys were made for it).
        #[arg(long)]
        chain_id: String,
        /// The organisation's id, e.g. BANK-A.
        #[arg(long, value_parser = crate::cli::parse_org)]
        org: OrgId,
        /// Legal name.
        #[arg(long)]
        name: String,
        /// Unified social credit code (tax id).
        #[arg(long)]
        tax_id: String,
        /// Role (repeat for several): bank, core, supplier, logistics, auditor.
        #[arg(long = "role", required = true, value_parser = genesis::parse_role)]
        roles: Vec<Role>,
        /// Another identifier the org is known by in trade documents (repeatable).
        #[arg(long = "identifier")]
        identifiers: Vec<String>,
        /// A member key file (`lianrong keygen --org --chain-id`); repeatable.
        #[arg(long = "member-key", required = true)]
        member_keys: Vec<PathBuf>,
        /// The node key file of the validator this org runs (give --address with it).
        #[arg(long, requires = "address")]
        node_key: Option<PathBuf>,
        /// Where the other validators reach that node, e.g. /ip4/10.0.0.1/tcp/26656.
        #[arg(long, requires = "node_key")]
        address: Option<String>,
        /// The entry file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Assemble genesis.json from the entries (orgs and validators in the order given),
    /// checked as a node will check it; prints its SHA-256 for every host to compare.
    Build {
        /// The chain id (every entry must name it).
        #[arg(long)]
        chain_id: String,
        /// Genesis time (RFC 3339, e.g. 2026-03-01T00:00:00+08:00); default now.
        #[arg(long)]
        time: Option<String>,
        /// The genesis file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// The entry files.
        #[arg(required = true)]
        entries: Vec<PathBuf>,
    },
    /// Check a genesis file as a node will and print its orgs, validators and SHA-256
    /// (compare it with the other organisations out of band).
    Check {
        /// The genesis file.
        file: PathBuf,
    },
}

/// `lianrong config ...`
#[derive(Subcommand)]
pub enum ConfigAction {
    /// Write the config.toml of this host's validator: its node key must be a validator
    /// of the genesis; the other validators become its peers at their genesis addresses.
    Init {
        /// The config file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// The genesis file, where the node will read it.
        #[arg(long)]
        genesis: PathBuf,
        /// This host's node key file.
        #[arg(long)]
        node_key: PathBuf,
        /// The database folder (its parent must exist and be writable by the node).
        #[arg(long)]
        data_dir: PathBuf,
        /// The API's listen address, e.g. 10.0.0.1:8080.
        #[arg(long)]
        api_listen: SocketAddr,
        /// The p2p listen multiaddr (default: this validator's address in genesis).
        #[arg(long)]
        p2p_listen: Option<String>,
        /// Another host:port clients use to reach the API (DNS name, proxy); repeatable.
        #[arg(long = "public-address")]
        public_addresses: Vec<String>,
        /// Grant an API token: ORG=SHA256 of the token (`printf %s TOKEN | sha256sum`);
        /// repeatable.
        #[arg(long = "grant", value_parser = config::parse_grant)]
        grants: Vec<TokenGrant>,
        /// A name for logs (default: the org id in lower case).
        #[arg(long)]
        name: Option<String>,
    },
}

/// Runs a `lianrong genesis` action.
pub fn run_genesis(action: GenesisAction) -> Result<()> {
    match action {
        GenesisAction::Entry {
            chain_id,
            org,
            name,
            tax_id,
            roles,
            identifiers,
            member_keys,
            node_key,
            address,
            out,
        } => {
            let entry = genesis::make_entry(genesis::EntryInput {
                chain_id,
                org,
                name,
                tax_id,
                roles,
                identifiers,
                member_keys,
                validator: node_key.zip(address),
            })?;
            genesis::write_new(
                &out,
                &format!("{}\n", serde_json::to_string_pretty(&entry)?),
            )?;
            println!(
                "wrote {} (public keys only): org {}, {} member key(s){}",
                out.display(),
                entry.org.id,
                entry.org.keys.len(),
                entry
                    .validator
                    .map(|v| format!(", validator {} at {}", v.node_key, v.address))
                    .unwrap_or_default()
            );
            Ok(())
        }
        GenesisAction::Build {
            chain_id,
            time,
            out,
            entries,
        } => build(&chain_id, time.as_deref(), &out, &entries),
        GenesisAction::Check { file } => {
            let (g, sha) = genesis::check(&file)?;
            print!("{}", genesis::describe(&g, &sha));
            Ok(())
        }
    }
}

fn build(
    chain_id: &str,
    time: Option<&str>,
    out: &std::path::Path,
    entries: &[PathBuf],
) -> Result<()> {
    let time_ms = match time {
        Some(t) => {
            let at = chrono::DateTime::parse_from_rfc3339(t)
                .with_context(|| format!("--time {t:?} is not RFC 3339"))?;
            u64::try_from(at.timestamp_millis())
                .with_context(|| format!("--time {t:?} is before 1970"))?
        }
        None => u64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis(),
        )?,
    };
    let read = entries
        .iter()
        .map(|p| genesis::read_entry(p))
        .collect::<Result<Vec<_>>>()?;
    let g = genesis::assemble(chain_id, time_ms, read)?;
    genesis::write_new(out, &serde_json::to_string_pretty(&g)?)?;
    let (g, sha) = genesis::check(out)?;
    println!("wrote {}", out.display());
    print!("{}", genesis::describe(&g, &sha));
    Ok(())
}

/// Runs a `lianrong config` action.
pub fn run_config(action: ConfigAction) -> Result<()> {
    let ConfigAction::Init {
        out,
        genesis,
        node_key,
        data_dir,
        api_listen,
        p2p_listen,
        public_addresses,
        grants,
        name,
    } = action;
    let cfg = config::init(&config::ConfigInput {
        out: out.clone(),
        genesis,
        node_key,
        data_dir,
        api_listen,
        p2p_listen,
        public_addresses,
        name,
        grants,
    })?;
    println!(
        "wrote {}: p2p on {}, {} peer(s), API on {}; check it with `lianrong node \
         --check-config --config {}`",
        out.display(),
        cfg.p2p.listen,
        cfg.p2p.peers.len(),
        cfg.api.listen,
        out.display()
    );
    Ok(())
}
