//! Local verification: a block's commit certificate against a validator set, and a
//! document's Merkle proof against a state root. Nothing here trusts the node.

use lianrong_consensus::{BlockId, ValidatorSet};
use lianrong_contracts::state::keys;
use lianrong_contracts::{DocKind, StateProof};
use lianrong_primitives::Hash;

use crate::error::SdkError;
use lianrong_api_types::{BlockView, ProofResponse};

/// How a block's finality was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finality {
    /// The certificate commits exactly this block.
    Direct,
    /// The certificate commits a later block of the same run; this block is final
    /// because that one is and its hash chain leads back here. Verify the block at
    /// `committed.height` to be sure of both.
    ByDescendant {
        /// The block the certificate commits.
        committed: BlockId,
    },
}

/// A block whose certificate verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBlock {
    /// Height.
    pub height: u64,
    /// Block hash.
    pub hash: Hash,
    /// How finality was proven.
    pub finality: Finality,
}

/// The consensus validator set from the validators `GET /v1/status` (or genesis) lists,
/// in index order.
pub fn validator_set(
    validators: &[lianrong_contracts::model::Validator],
) -> Result<ValidatorSet, SdkError> {
    lianrong_api_types::consensus_set(validators).map_err(|e| SdkError::Verify(e.to_string()))
}

/// Checks a block's commit certificate: a quorum (2f+1) of `validators` signed, for
/// `chain_id`, a certificate that commits this block (hash and height) or a later one.
///
/// `genesis_hash` is the chain's genesis hash (`lianrong_consensus::genesis_hash`); it
/// only matters for the signature-less genesis certificate, which never commits a block,
/// so any value is safe here. The block hash is the node's claim: the API serves block
/// headers, not the full blocks it would take to recompute it, and the certificate is what
/// binds that hash to the validators.
///
/// ```no_run
/// # async fn demo(client: lianrong_sdk::Client) -> Result<(), lianrong_sdk::SdkError> {
/// let status = client.status().await?;
/// let set = lianrong_sdk::validator_set(&status.validators)?;
/// let block = client.block(status.height).await?;
/// let v = lianrong_sdk::verify_block(&block, &set, &status.chain_id,
///                                    lianrong_primitives::Hash::ZERO)?;
/// println!("block {} is final: {:?}", v.height, v.finality);
/// # Ok(()) }
/// ```
pub fn verify_block(
    block: &BlockView,
    validators: &ValidatorSet,
    chain_id: &str,
    genesis_hash: Hash,
) -> Result<VerifiedBlock, SdkError> {
    let cert = block.commit_certificate.as_ref().ok_or_else(|| {
        SdkError::Verify(format!("block {} has no commit certificate", block.height))
    })?;
    if cert.qc.vote.epoch != block.epoch {
        return Err(SdkError::Verify(format!(
            "certificate is for epoch {}, block {} is in epoch {}",
            cert.qc.vote.epoch, block.height, block.epoch
        )));
    }
    let committed = cert
        .verify(validators, chain_id, genesis_hash)
        .map_err(|e| SdkError::Verify(format!("block {}: {e}", block.height)))?;
    let finality = if committed.height == block.height {
        if committed.hash != block.hash || committed.round != block.round {
            return Err(SdkError::Verify(format!(
                "certificate commits block {} at height {}, not {}",
                committed.hash, committed.height, block.hash
            )));
        }
        Finality::Direct
    } else if committed.height > block.height {
        Finality::ByDescendant { committed }
    } else {
        return Err(SdkError::Verify(format!(
            "certificate commits height {}, below block {}",
            committed.height, block.height
        )));
    };
    Ok(VerifiedBlock {
        height: block.height,
        hash: block.hash,
        finality,
    })
}

/// [`verify_block`] for a block as JSON (the body of `GET /v1/blocks/{height}`).
pub fn verify_block_json(
    block: &serde_json::Value,
    validators: &ValidatorSet,
    chain_id: &str,
    genesis_hash: Hash,
) -> Result<VerifiedBlock, SdkError> {
    let b: BlockView = serde_json::from_value(block.clone())
        .map_err(|e| SdkError::Verify(format!("not a block: {e}")))?;
    verify_block(&b, validators, chain_id, genesis_hash)
}

/// Checks a document proof against `state_root` (which the caller trusts, e.g. from a
/// block it verified) and returns the proven value: the document's canonical bytes, or
/// `None` if the proof shows the document does not exist.
///
/// The state key is recomputed from the proof's kind and id, so a proof of another
/// document cannot pass for this one.
///
/// ```no_run
/// # async fn demo(client: lianrong_sdk::Client) -> Result<(), lianrong_sdk::SdkError> {
/// let p = client.proof(lianrong_contracts::DocKind::Invoice, "INV-1").await?;
/// let value = lianrong_sdk::verify_proof(&p, &p.state_root)?;
/// assert!(value.is_some());
/// # Ok(()) }
/// ```
pub fn verify_proof(proof: &ProofResponse, state_root: &Hash) -> Result<Option<Vec<u8>>, SdkError> {
    let bad = |m: String| SdkError::Verify(m);
    let kind = DocKind::parse(&proof.kind)
        .ok_or_else(|| bad(format!("unknown document kind {:?}", proof.kind)))?;
    let key = keys::doc(kind, &proof.id);
    if key != proof.key.as_bytes() {
        return Err(bad(format!(
            "proof is for key {:?}, not {kind} {}",
            proof.key, proof.id
        )));
    }
    let value = match &proof.value_hex {
        Some(h) => Some(hex::decode(h).map_err(|e| bad(format!("value_hex: {e}")))?),
        None => None,
    };
    let sp: StateProof = serde_json::from_value(serde_json::json!({
        "key": key,
        "value": value,
        "version": proof.height,
        "root": state_root,
        "proof": proof.proof,
    }))
    .map_err(|e| bad(format!("malformed proof: {e}")))?;
    sp.verify(state_root).map_err(|e| bad(e.to_string()))?;
    Ok(value)
}
