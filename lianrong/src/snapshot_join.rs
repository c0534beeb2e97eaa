//! `lianrong node --config FILE --snapshot-from URL`: a new node starts from the state at a
//! certified height that another node serves (`GET /v1/snapshot`), instead of replaying
//! the chain from genesis; then it runs as usual and catches up from its peers.
//!
//! This module fetches and verifies the manifest with the SDK's verifier, trusting only
//! the node's genesis file: the validator-set changes since genesis, the final block at
//! the snapshot height (its raw bytes hash to the certified header), and a final block
//! whose header certifies the state root. Then it fetches the chunks, which
//! `lianrong_node::join` checks one by one against that root before keeping them.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use lianrong_consensus::{
    Block, CommitCertificate, ExecutionCommit, EPOCH_END_ROUND, MAX_MESSAGE_BYTES,
};
use lianrong_node::config::NodeConfig;
use lianrong_node::join::{self, Certified, Join};
use lianrong_primitives::{codec, PublicKey};
use lianrong_sdk::api_types::{SnapshotHistoryChunk, SnapshotManifest, SnapshotStateChunk};
use lianrong_sdk::{Client, SdkError, TrustRoot};

use crate::cli::Conn;

/// How long a manifest is asked for again while the serving node answers 503 (its
/// snapshot is cut but the block certifying it is not final yet).
const MANIFEST_PATIENCE: Duration = Duration::from_secs(60);
/// Pause between those asks.
const MANIFEST_RETRY: Duration = Duration::from_millis(500);

/// Where `lianrong node` takes its snapshot from, when its data dir is empty.
#[derive(Debug, Clone, Default, Args)]
pub struct SnapshotFrom {
    /// Start an empty node from the state another node serves at a certified height
    /// (its API URL), checked against this node's genesis, instead of replaying the chain.
    /// Ignored when the data dir already holds a database.
    #[arg(long, value_name = "URL")]
    pub snapshot_from: Option<String>,
    /// API token of a bank or auditor on that node (or @FILE), for --snapshot-from.
    #[arg(long, value_name = "TOKEN", requires = "snapshot_from")]
    pub snapshot_token: Option<String>,
    /// For an https:// --snapshot-from: the CA certificate(s) (PEM) to trust.
    #[arg(long, value_name = "PEM", requires = "snapshot_from")]
    pub snapshot_ca: Option<PathBuf>,
}

/// Builds the node's database from the snapshot `from` names, unless the data dir holds
/// one already.
pub async fn join_if_empty(cfg: &NodeConfig, from: &SnapshotFrom) -> Result<()> {
    let Some(url) = &from.snapshot_from else {
        return Ok(());
    };
    let data_dir = &cfg.node.data_dir;
    if join::holds_database(data_dir) {
        return Ok(());
    }
    let genesis = lianrong_node::config::load_genesis(&cfg.node.genesis)?;
    let trust = TrustRoot::from_genesis(&genesis)?;
    let own = lianrong_node::keyfile::read(&cfg.node.node_key)?.public();
    let conn = Conn {
        node: Some(url.clone()),
        token: from.snapshot_token.clone(),
        ca: from.snapshot_ca.clone(),
        timeout: 60,
        ..Conn::default()
    };
    let (client, _) = crate::cli::connect(&conn)?;
    let manifest = fetch_manifest(&client).await?;
    let certified = verify(&client, &manifest, &trust, &own)
        .await
        .with_context(|| format!("the snapshot {url} serves does not check"))?;
    let counts = (manifest.leaves, manifest.history_entries);
    let options = lianrong_node::runtime::db_options(cfg)?;
    let mut join = Join::begin(
        data_dir,
        &options,
        &genesis.chain_id,
        manifest.height,
        manifest.state_root,
        counts,
    )?;
    fetch_chunks(&client, &mut join, manifest.height)
        .await
        .with_context(|| format!("the snapshot {url} serves was refused"))?;
    join.finish(&certified, &genesis)?;
    Ok(())
}

async fn fetch_manifest(client: &Client) -> Result<SnapshotManifest> {
    let deadline = Instant::now() + MANIFEST_PATIENCE;
    loop {
        match client.get_json::<SnapshotManifest>("/v1/snapshot").await {
            Err(SdkError::Api { status: 503, .. }) if Instant::now() < deadline => {
                tokio::time::sleep(MANIFEST_RETRY).await;
            }
            other => return other.context("asking for a snapshot"),
        }
    }
}

async fn fetch_chunks(client: &Client, join: &mut Join, height: u64) -> Result<()> {
    let mut after: Option<String> = None;
    loop {
        let path = chunk_path(height, "state", after.as_deref());
        let chunk: SnapshotStateChunk = client.get_json(&path).await?;
        match join.state_chunk(&chunk)? {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut after: Option<String> = None;
    loop {
        let path = chunk_path(height, "history", after.as_deref());
        let chunk: SnapshotHistoryChunk = client.get_json(&path).await?;
        match join.history_chunk(&chunk)? {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

fn chunk_path(height: u64, what: &str, after: Option<&str>) -> String {
    match after {
        // `next` is hex: nothing to escape.
        Some(a) => format!("/v1/snapshot/{height}/{what}?after={a}"),
        None => format!("/v1/snapshot/{height}/{what}"),
    }
}

fn decoded<T: serde::Serialize + serde::de::DeserializeOwned>(
    hex_text: &str,
    what: &str,
) -> Result<T> {
    let bytes = hex::decode(hex_text).map_err(|_| anyhow!("{what} is not hex"))?;
    codec::decode(&bytes, MAX_MESSAGE_BYTES).map_err(|e| anyhow!("{what}: {e}"))
}

/// The manifest checked against the genesis validators (see the module docs).
async fn verify(
    client: &Client,
    m: &SnapshotManifest,
    trust: &TrustRoot,
    own: &PublicKey,
) -> Result<Certified> {
    if m.chain_id != trust.chain_id {
        bail!(
            "it is of chain {:?}, this node's genesis is chain {:?}",
            m.chain_id,
            trust.chain_id
        );
    }
    let sets = lianrong_sdk::verify_epochs(trust, &m.epochs)?;
    let at = lianrong_sdk::verify_block(&m.block, trust, &sets)?;
    let block: Block = decoded(&m.raw_block.block_hex, "the raw block")?;
    let cert: CommitCertificate = decoded(&m.raw_block.certificate_hex, "its certificate")?;
    if at.height != m.height || block.hash() != at.hash {
        bail!(
            "the block given is not the final block at height {}",
            m.height
        );
    }
    if m.block.commit_certificate.as_ref() != Some(&cert) {
        bail!("the raw certificate is not the one that was verified");
    }
    let by = lianrong_sdk::verify_block(&m.certified_by, trust, &sets)?;
    let claimed = ExecutionCommit {
        height: m.height,
        state_root: m.state_root,
        results_root: m.results_root,
    };
    if by.header.executed != claimed {
        bail!(
            "block {} certifies {:?}, not the state root {} at height {}",
            by.height,
            by.header.executed,
            m.state_root,
            m.height
        );
    }
    let set = usize::try_from(block.epoch)
        .ok()
        .and_then(|e| sets.get(e))
        .cloned()
        .ok_or_else(|| anyhow!("no validator set proven for epoch {}", block.epoch))?;
    let same_epoch = by.header.epoch == block.epoch;
    if set.index_of(own).is_some() && !same_epoch {
        bail!(
            "this node is a validator of epoch {}, and the validator set changed after the \
             snapshot height: take a snapshot of the current epoch",
            block.epoch
        );
    }
    let by_round = m
        .certified_by
        .commit_certificate
        .as_ref()
        .map_or(0, |c| c.qc.vote.round)
        .min(EPOCH_END_ROUND - 1);
    let vote_floor = if same_epoch {
        by.header.round.max(by_round)
    } else {
        0
    };
    Ok(Certified {
        epoch_ends: epoch_blocks(client, m).await?,
        block,
        cert,
        results_root: m.results_root,
        set,
        vote_floor,
    })
}

/// The blocks below the snapshot height that changed the validator set (their headers
/// verified with the epochs), fetched whole, each checked against its header.
async fn epoch_blocks(
    client: &Client,
    m: &SnapshotManifest,
) -> Result<Vec<(Block, CommitCertificate)>> {
    let mut out = Vec::new();
    for change in m.epochs.iter().filter(|c| c.header.height < m.height) {
        let height = change.header.height;
        let raw = client.raw_block(height).await?;
        let block: Block = decoded(&raw.block_hex, "a validator-set change's block")?;
        let cert: CommitCertificate = decoded(&raw.certificate_hex, "its certificate")?;
        if block.header() != change.header || cert != change.certificate {
            bail!("block {height} is not the validator-set change it should be");
        }
        out.push((block, cert));
    }
    Ok(out)
}
