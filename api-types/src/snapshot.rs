//! State snapshots served to a node that joins without replaying the chain
//! (`lianrong node --snapshot-from URL`): what the state at a certified height is, and
//! the state and history in bounded, proven chunks. See `docs/interfaces.md`.

use serde::{Deserialize, Serialize};

use crate::envelopes::{BlockView, EpochChange, RawBlock};
use lianrong_primitives::Hash;

/// `GET /v1/snapshot` (banks and auditors): the state this node serves, at a height whose
/// state root a final block certifies, and everything a joining node checks it with,
/// trusting only the genesis file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnapshotManifest {
    /// The chain id.
    pub chain_id: String,
    /// The snapshot height: the state after this block.
    pub height: u64,
    /// The state root at `height` (what `certified_by.header.executed` certifies).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state_root: Hash,
    /// The results root of `height`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub results_root: Hash,
    /// State entries (leaves of the state tree) the chunks carry.
    pub leaves: u64,
    /// Document history entries the history chunks carry.
    pub history_entries: u64,
    /// The block at `height` with the certificate that commits it.
    pub block: BlockView,
    /// The same block as consensus encoded it (what the joining node stores).
    pub raw_block: RawBlock,
    /// A final block whose header certifies the state at `height` (`header.executed`).
    pub certified_by: BlockView,
    /// Every validator-set change since genesis, with its certificate.
    pub epochs: Vec<EpochChange>,
}

/// One entry of a chunk: a key and its value, hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnapshotEntry {
    /// The key, hex.
    pub key_hex: String,
    /// The value, hex.
    pub value_hex: String,
}

/// `GET /v1/snapshot/{height}/state`: state entries in the state tree's order (by the
/// SHA-256 of their keys), at most 1,000 and about 1 MiB, with the Jellyfish range proof
/// of the last one against the certified root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnapshotStateChunk {
    /// The snapshot height.
    pub height: u64,
    /// The entries.
    pub entries: Vec<SnapshotEntry>,
    /// Hex of the canonical encoding of jmt's `SparseMerkleRangeProof` of the last entry.
    pub proof_hex: String,
    /// Where the next chunk starts (`?after=`, the hash of the last key), absent on the
    /// last chunk.
    pub next: Option<String>,
}

/// `GET /v1/snapshot/{height}/history`: document history entries, each document's
/// together and in key order, at most 1,000 and about 1 MiB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnapshotHistoryChunk {
    /// The snapshot height.
    pub height: u64,
    /// The entries (history key, encoded entry).
    pub entries: Vec<SnapshotEntry>,
    /// Where the next chunk starts (`?after=`, the last key, hex), absent on the last.
    pub next: Option<String>,
}

/// `?after=` of `GET /v1/snapshot/{height}/state`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct SnapshotStateQuery {
    /// The previous chunk's `next` (a key hash: 64 hex digits); absent for the first.
    #[cfg_attr(feature = "openapi", param(pattern = "^[0-9a-f]{64}$"))]
    pub after: Option<String>,
}

/// `?after=` of `GET /v1/snapshot/{height}/history`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct SnapshotHistoryQuery {
    /// The previous chunk's `next` (a key, hex); absent for the first.
    #[cfg_attr(feature = "openapi", param(pattern = "^([0-9a-f]{2}){1,1024}$"))]
    pub after: Option<String>,
}
