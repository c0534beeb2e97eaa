//! Raw blocks from a node (`GET /v1/blocks/{height}/raw`, banks and auditors), fetched a
//! few at a time ahead of the audit and handed over in height order.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use futures::StreamExt;
use lianrong_consensus::{CommitCertificate, MAX_MESSAGE_BYTES};
use lianrong_primitives::codec;
use lianrong_sdk::{Client, RawBlock, SdkError};

use super::replay::AuditFailure;

/// Requests in flight at once.
const PARALLEL_FETCHES: usize = 8;
/// Blocks fetched but not yet audited, at most.
const AHEAD: usize = 64;
/// How long to wait for blocks finalized with the latest one but not yet written.
const WRITE_WAIT: Duration = Duration::from_secs(30);

/// The last height to audit: the node's latest, or the block its certificate commits
/// when that is a descendant finalized in the same step and still being written.
async fn certified_end(client: &Client, latest: u64) -> Result<u64> {
    if latest == 0 {
        return Ok(0);
    }
    let raw = client.raw_block(latest).await.map_err(explain)?;
    let end = hex::decode(raw.certificate_hex.trim())
        .ok()
        .and_then(|b| codec::decode::<CommitCertificate>(&b, MAX_MESSAGE_BYTES).ok())
        .and_then(|c| c.committed())
        .map_or(latest, |c| c.height.max(latest));
    let deadline = Instant::now() + WRITE_WAIT;
    while client.status().await?.height < end {
        if Instant::now() > deadline {
            bail!(
                "block {latest}'s certificate commits block {end}, which the node has not written"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(end)
}

/// A node's refusal, with what to do about the likely one.
fn explain(e: SdkError) -> anyhow::Error {
    match &e {
        SdkError::Api { status: 403, .. } | SdkError::Api { status: 401, .. } => anyhow!(
            "{e} (use a bank's or an auditor's member key with --key FILE, or its API \
             token with --token)"
        ),
        _ => e.into(),
    }
}

/// Checks the node serves `chain_id` and returns how many blocks it has finalized (up to
/// the last one a certificate proves).
pub async fn chain_end(client: &Client, chain_id: &str) -> Result<u64> {
    let status = client.status().await.map_err(explain)?;
    if status.chain_id != chain_id {
        bail!(
            "the node serves chain {:?}, the genesis file is of chain {chain_id:?}",
            status.chain_id
        );
    }
    certified_end(client, status.height).await
}

/// Blocks 1..=end from `client`, in order, fetched ahead on `rt`; an item is an error
/// once a block cannot be had, and the iterator ends after it.
pub fn blocks(
    rt: &tokio::runtime::Runtime,
    client: Client,
    end: u64,
) -> impl Iterator<Item = Result<RawBlock, AuditFailure>> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(AHEAD);
    rt.spawn(async move {
        let mut fetched = futures::stream::iter(1..=end)
            .map(|h| {
                let c = client.clone();
                async move { (h, c.raw_block(h).await) }
            })
            .buffered(PARALLEL_FETCHES);
        while let Some((h, r)) = fetched.next().await {
            let item = r.map_err(|e| {
                AuditFailure::Unavailable(explain(e).context(format!("fetching block {h}")))
            });
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                return;
            }
        }
    });
    std::iter::from_fn(move || rx.blocking_recv())
}
