//! `lianrong node backup` and `lianrong node restore`: the command-line side of the
//! node's backups (the work is `lianrong_node::backup`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;
use lianrong_node::backup::restore::{self, Taken};
use lianrong_node::backup::Manifest;
use lianrong_node::config::NodeConfig;

/// What `lianrong node` does besides running the node.
#[derive(Subcommand)]
pub enum NodeAction {
    /// Back up the node's database (online if the node runs: it cuts a RocksDB
    /// checkpoint of itself) into a new folder with a manifest of what it holds.
    Backup {
        /// The node's config.toml.
        #[arg(long)]
        config: PathBuf,
        /// The backup folder (absent or empty).
        #[arg(long)]
        out: PathBuf,
        /// Print the manifest as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Restore the node's database from a backup (the node stopped): files checked
    /// against the manifest, the chain against the genesis, height and root against the
    /// manifest once copied. The node then catches up from its peers when started.
    Restore {
        /// The node's config.toml (its data dir is restored; its genesis names the chain).
        #[arg(long)]
        config: PathBuf,
        /// The backup folder (`lianrong node backup --out`).
        #[arg(long)]
        from: PathBuf,
        /// Replace a data dir that is not empty.
        #[arg(long)]
        force: bool,
        /// Print the manifest as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Seal the node's key file under the data key of the config's [encryption] section
    /// (in place: the plain secret is gone from the file afterwards). Keep a copy of the
    /// data key with the organisation's key escrow: without it the node key is lost.
    SealKey {
        /// The node's config.toml (its [encryption] names the data key).
        #[arg(long)]
        config: PathBuf,
    },
}

/// Runs a `lianrong node` action.
pub fn run(action: NodeAction) -> Result<()> {
    match action {
        NodeAction::Backup { config, out, json } => {
            let cfg = load(&config)?;
            let (manifest, taken) = restore::backup(&cfg, &out)
                .with_context(|| format!("backup of {} failed", cfg.node.data_dir.display()))?;
            let how = match taken {
                Taken::Online => "online, by the running node",
                Taken::Offline => "offline, the node being stopped",
            };
            report(
                &manifest,
                json,
                &format!("backed up {} ({how}) to {}", cfg.node.name, out.display()),
            )
        }
        NodeAction::SealKey { config } => {
            let cfg = load(&config)?;
            let data_key = lianrong_node::keyfile::data_key(&cfg)?.ok_or_else(|| {
                anyhow::anyhow!(
                    "{} has no [encryption] section: nothing to seal the key under",
                    config.display()
                )
            })?;
            let public = lianrong_node::keyfile::seal_in_place(&cfg.node.node_key, &data_key)?;
            println!(
                "sealed {} (node key {public}) under the data key",
                cfg.node.node_key.display()
            );
            Ok(())
        }
        NodeAction::Restore {
            config,
            from,
            force,
            json,
        } => {
            let cfg = load(&config)?;
            let manifest = restore::restore(&cfg, &from, force)
                .with_context(|| format!("restore from {} refused", from.display()))?;
            report(
                &manifest,
                json,
                &format!(
                    "restored {} into {}; start the node to catch up from its peers",
                    from.display(),
                    cfg.node.data_dir.display()
                ),
            )
        }
    }
}

fn load(config: &Path) -> Result<NodeConfig> {
    Ok(NodeConfig::load(config)?)
}

/// The manifest as JSON, or a summary line after `headline`.
fn report(manifest: &Manifest, json: bool, headline: &str) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(manifest)?);
        return Ok(());
    }
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    println!("{headline}");
    println!(
        "chain {} height {} state root {} block {} cut {} ({} files, {bytes} bytes)",
        manifest.chain_id,
        manifest.height,
        manifest.state_root,
        manifest
            .block_hash
            .map_or_else(|| "-".to_string(), |h| h.to_string()),
        manifest.created,
        manifest.files.len()
    );
    Ok(())
}
