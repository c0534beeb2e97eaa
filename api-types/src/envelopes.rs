//! What the node's API answers and takes, as typed values. Documents themselves are the
//! contract records (`lianrong_contracts::model`); these are the envelopes around them.
//! Every field the node writes is required here (no `#[serde(default)]` on an answer): a
//! client that meets a missing field reports a malformed answer instead of a zero.

use lianrong_consensus::{BlockHeader, CommitCertificate, Divergence, ValidatorSet};
use lianrong_contracts::model::{
    DocId, Invoice, Org, Params, Receivable, ReceivableStatus, Validator,
};
use lianrong_contracts::{Action, Event, HistoryEntry, Receipt, Signer};
use lianrong_primitives::{Hash, OrgId, PublicKey};
use serde::{Deserialize, Serialize};

/// `GET /v1/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Status {
    /// The chain id (part of every signature).
    pub chain_id: String,
    /// Latest finalized height.
    pub height: u64,
    /// Hash of that block (none before the first block).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub last_block_hash: Option<Hash>,
    /// State root after it.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub state_root: Option<Hash>,
    /// When the node finalized it (node clock, ms since the Unix epoch).
    pub last_finalized_at_ms: u64,
    /// The validator set recorded in state, in index order.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub validators: Vec<Validator>,
    /// Connected peers' node keys.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub peers: Vec<PublicKey>,
    /// Current consensus round.
    pub round: u64,
    /// Transactions waiting in the node's mempool.
    pub mempool: usize,
    /// Sync state.
    pub sync: SyncState,
    /// The network's parameters in force (tenor cap and flag, grace days, ...), so clients
    /// judge by the ledger's rules instead of constants of their own.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: Params,
    /// Set when a finalized block certified a state this node's execution did not
    /// produce: the node has stopped taking part in consensus (an operator must look).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub divergence: Option<Divergence>,
}

/// Whether the node is catching up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncState {
    /// True while the node is behind its peers and fetching blocks.
    pub syncing: bool,
}

/// `GET /v1/blocks/{height}`: a finalized block's header, its transactions' hashes and
/// the commit certificate anyone can check (the SDK's `verify_block`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockView {
    /// Height.
    pub height: u64,
    /// Block hash.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub hash: Hash,
    /// Parent hash.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub parent: Hash,
    /// Epoch (validator-set generation).
    pub epoch: u64,
    /// Round it was proposed in.
    pub round: u64,
    /// Index of the proposer in the validator set.
    pub proposer: u16,
    /// Agreed block time (ms since the Unix epoch).
    pub timestamp_ms: u64,
    /// Transactions the block executed, in block order (each readable at
    /// `/v1/transactions/{hash}`).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub tx_hashes: Vec<Hash>,
    /// Transactions in the payload that every node dropped before execution (a faulty
    /// proposer's transaction whose signature fails).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub dropped_tx_hashes: Vec<Hash>,
    /// State root after executing the block, as this node computed it (its word only: the
    /// certified roots are in `header.executed` of a later block).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub state_root: Option<Hash>,
    /// The block's header: what its hash covers, including the application state it
    /// certifies (`executed`). Hash it to check `hash`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub header: BlockHeader,
    /// Certificate committing this block or a descendant.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub commit_certificate: Option<CommitCertificate>,
    /// When the certificate commits a descendant: the headers from this block's child up
    /// to that descendant, whose parent links tie this block to the certified one.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub descendants: Vec<BlockHeader>,
    /// Changes the ledger made by itself in this block, before its transactions (the
    /// overdue sweep: receivables and financings marked overdue); banks and auditors
    /// only, others get an empty list. The same as the block's notice on
    /// `/v1/events`, so a reader that missed the notice loses nothing.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub ledger_events: Vec<Event>,
}

/// `GET /v1/blocks/{height}/raw` (banks and auditors): a finalized block exactly as
/// consensus encoded it, payload included, with its certificate -- what an auditor needs
/// to re-execute the chain (`lianrong audit chain`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RawBlock {
    /// Height.
    pub height: u64,
    /// Hex of the canonical encoding of the consensus `Block`.
    pub block_hex: String,
    /// Hex of the canonical encoding of its `CommitCertificate`.
    pub certificate_hex: String,
}

/// One validator-set change, as a client checks it: the reconfiguration block that ended
/// `epoch`, its epoch-end certificate signed by that epoch's set, and the next set (whose
/// hash the header commits as `reconfig_hash`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EpochChange {
    /// The epoch that ended.
    pub epoch: u64,
    /// Header of the block that ended it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub header: BlockHeader,
    /// The set that certifies epoch `epoch + 1`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub validators: ValidatorSet,
    /// The epoch-end certificate committing `header`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub certificate: CommitCertificate,
}

/// `GET /v1/epochs`: every validator-set change since genesis, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EpochChanges {
    /// The changes, epoch 0's end first.
    pub changes: Vec<EpochChange>,
}

/// `GET /v1/transactions/{hash}`: a committed transaction and its receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TxView {
    /// Transaction hash.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub hash: Hash,
    /// Always `committed` (uncommitted transactions are 404).
    pub status: String,
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub index: u64,
    /// Who signed.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub signer: Signer,
    /// The signer key's nonce it used.
    pub nonce: u64,
    /// What it did.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub action: Action,
    /// Short action name (`issue_order`, ...).
    pub action_name: String,
    /// Events, or the ledger's refusal.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub receipt: Option<Receipt>,
}

/// Where a submitted transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SubmitStatus {
    /// Admitted to the mempool, not final yet.
    Pending,
    /// Final, with its receipt.
    Committed,
    /// Refused (batch answers only; a single submit answers with an error instead).
    Refused,
}

/// Query of `POST /v1/transactions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct SubmitQuery {
    /// `commit` to answer only after finality (or after 30 s, still pending); no other
    /// value is taken.
    #[cfg_attr(feature = "openapi", param(pattern = "^commit$"))]
    pub wait: Option<String>,
}

/// JSON body of `POST /v1/transactions` (or the raw bytes as `application/octet-stream`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmitBody {
    /// Hex of the signed transaction's canonical encoding.
    #[cfg_attr(feature = "openapi", schema(pattern = "^([0-9a-fA-F]{2})+$"))]
    pub tx: String,
}

/// JSON body of `POST /v1/transactions/batch` (or the block payload encoding as
/// `application/octet-stream`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmitBatchBody {
    /// Hex of each signed transaction's canonical encoding, at most 512.
    #[cfg_attr(feature = "openapi", schema(max_items = 512))]
    pub txs: Vec<String>,
}

/// `POST /v1/transactions` answer (and each item of a batch answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmitResponse {
    /// Transaction hash.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub hash: Hash,
    /// Where it stands.
    pub status: SubmitStatus,
    /// Block height, once committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// The receipt, once committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub receipt: Option<Receipt>,
    /// Why it was refused (batch items only): the error code of the single submit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The refusal in words (batch items only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl SubmitResponse {
    /// Admitted, not final yet.
    pub fn pending(hash: Hash) -> SubmitResponse {
        SubmitResponse {
            hash,
            status: SubmitStatus::Pending,
            height: None,
            receipt: None,
            code: None,
            message: None,
        }
    }

    /// Final, with its receipt.
    pub fn committed(hash: Hash, height: u64, receipt: Receipt) -> SubmitResponse {
        SubmitResponse {
            status: SubmitStatus::Committed,
            height: Some(height),
            receipt: Some(receipt),
            ..SubmitResponse::pending(hash)
        }
    }

    /// Refused with `code` and `message` (a batch item).
    pub fn refused(hash: Hash, code: String, message: String) -> SubmitResponse {
        SubmitResponse {
            status: SubmitStatus::Refused,
            code: Some(code),
            message: Some(message),
            ..SubmitResponse::pending(hash)
        }
    }
}

/// Every error answer: `{"error": {"code", "message"}}`, 4xx for the caller's mistake,
/// 5xx only for the node's own fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The error inside an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable machine-readable code (`bad_signature`, `not_found`, ...).
    pub code: String,
    /// What went wrong and what to fix, in words.
    pub message: String,
}

/// `GET /v1/keys/{public_key}`: which org a member key acts for and its next nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyInfo {
    /// The key.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub public_key: PublicKey,
    /// Its org.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub org: OrgId,
    /// False once revoked.
    pub active: bool,
    /// The nonce its next transaction must carry (committed state; transactions still
    /// in a mempool are not counted).
    pub next_nonce: u64,
}

/// Query of `GET /v1/receivables`: every field optional, all given ones must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ReceivableFilter {
    /// Current holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<String>, pattern = "^[A-Z][A-Z0-9-]{1,31}$")
    )]
    pub holder: Option<OrgId>,
    /// Debtor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<String>, pattern = "^[A-Z][A-Z0-9-]{1,31}$")
    )]
    pub debtor: Option<OrgId>,
    /// Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<crate::schemas::ReceivableStatusName>, inline)
    )]
    pub status: Option<ReceivableStatus>,
    /// Cursor: start after this receivable id (the `next` of the previous page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<String>, pattern = "^[A-Za-z0-9._-]{1,64}$")
    )]
    pub after: Option<DocId>,
    /// Page size: 1 to 500 (`MAX_PAGE`), default 100 (`DEFAULT_PAGE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    pub limit: Option<usize>,
}

/// Largest page of every list endpoint (`limit` above it is refused with 400).
pub const MAX_PAGE: usize = 500;
/// Page size of a list request that gives no `limit`.
pub const DEFAULT_PAGE: usize = 100;

/// `GET /v1/receivables`: one page of receivables, in id order (byte order of the ids).
///
/// A list is read page by page: pass `next` back as `after` until an answer has no
/// `next`. Only that absence means the end -- a page may hold fewer than `limit` items,
/// even none, and still have a `next` (the node examines a bounded number of entries
/// per request, and skips those the caller may not read or that fail the filter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceivablePage {
    /// The receivables of this page, as the caller may read them.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub items: Vec<Receivable>,
    /// Where the next page starts (its `after`); absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub next: Option<DocId>,
}

/// Query of `GET /v1/orgs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct OrgQuery {
    /// Cursor: start after this org id (the `next` of the previous page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<String>, pattern = "^[A-Z][A-Z0-9-]{1,31}$")
    )]
    pub after: Option<OrgId>,
    /// Page size: 1 to 500 (`MAX_PAGE`), default 100 (`DEFAULT_PAGE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    pub limit: Option<usize>,
}

/// `GET /v1/orgs`: one page of organisations, in id order (identifiers masked but the
/// caller's own). Read it like a [`ReceivablePage`]: until an answer has no `next`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgPage {
    /// The organisations of this page.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub items: Vec<Org>,
    /// Where the next page starts (its `after`); absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub next: Option<OrgId>,
}

/// Query of `GET /v1/invoices`: either `fingerprint`, or `seller` and `number` (the
/// invoice that seller issued under that number, whatever its state: a seller issues a
/// number once, so a voided invoice still answers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct InvoiceQuery {
    /// Hex SHA-256 invoice fingerprint (see `contracts::exec::invoices::fingerprint`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(pattern = "^[0-9a-fA-F]{64}$"))]
    pub fingerprint: Option<String>,
    /// The seller's org id (with `number`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(pattern = "^[A-Z][A-Z0-9-]{1,31}$"))]
    pub seller: Option<String>,
    /// The invoice number as printed or in its canonical form (with `seller`; compared
    /// in the ledger's normal form, see `contracts::exec::invoices::canonical_number`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(max_length = 64))]
    pub number: Option<String>,
}

/// One receivable's steps in a [`ReceivableHistory`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistorySteps {
    /// The receivable.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub receivable: DocId,
    /// Its history, oldest first.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub history: Vec<HistoryEntry>,
}

/// `GET /v1/receivables/{id}/history`: the lineage from the root and every step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceivableHistory {
    /// The receivable asked for.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub receivable: Receivable,
    /// Its ancestors from the root down to itself.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub lineage: Vec<Receivable>,
    /// Each lineage member's history.
    pub steps: Vec<HistorySteps>,
    /// The source invoice, if visible.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub invoice: Option<Invoice>,
    /// The height of the latest certified state: a step's entries at or below it are
    /// proven by that receivable's history proof
    /// (`GET /v1/proofs/receivable/{id}?of=history`, checked with the SDK's
    /// `verify_history`); entries above it are not certified yet. This answer itself is
    /// the node's word.
    pub certified_height: u64,
    /// Present when the steps go on past this page (at most [`HISTORY_STEPS_PAGE`]
    /// entries a page): ask again with `?after=` it ([`StepsPos`]). The next page's first
    /// step continues the same receivable. The SDK's `receivable_history` gathers every
    /// page into one answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Most history entries in one page of `GET /v1/receivables/{id}/history`, over all of
/// its steps.
pub const HISTORY_STEPS_PAGE: usize = 500;

/// Where a page of a receivable's steps ends: after the entry at `pos` of lineage member
/// `member` (0: the root). Written `MEMBER:HEIGHT.TX.SEQ`, the `next` of a
/// [`ReceivableHistory`]; ordered as the steps are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StepsPos {
    /// The lineage member's place, from the root.
    pub member: u32,
    /// The last entry of its history on the page.
    pub pos: lianrong_contracts::state::HistoryPos,
}

impl std::fmt::Display for StepsPos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.member, self.pos)
    }
}

impl std::str::FromStr for StepsPos {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a place in the steps (MEMBER:HEIGHT.TX.SEQ)");
        let (member, pos) = s.split_once(':').ok_or_else(bad)?;
        if member.is_empty() || !member.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        Ok(StepsPos {
            member: member.parse().map_err(|_| bad())?,
            pos: pos.parse().map_err(|_| bad())?,
        })
    }
}

/// `?after=` of `GET /v1/receivables/{id}/history`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct HistoryQuery {
    /// The `next` of the previous page (`MEMBER:HEIGHT.TX.SEQ`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<String>, pattern = "^[0-9]{1,10}:[0-9]{1,20}\\.[0-9]{1,10}\\.[0-9]{1,10}$")
    )]
    pub after: Option<String>,
}

/// `?of=&after=` of `GET /v1/proofs/{kind}/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ProofQuery {
    /// `document` (default) or `history` (the head of its history chain, with the
    /// entries it proves).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(value_type = Option<ProofSubject>, inline))]
    pub of: ProofSubject,
    /// For `of=history`: the `history_next` of the previous page (`HEIGHT.TX.SEQ`), to
    /// get the entries after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<String>, pattern = "^[0-9]{1,20}\\.[0-9]{1,10}\\.[0-9]{1,10}$")
    )]
    pub after: Option<String>,
}

/// What a proof is of: a document's value, or the head of its history chain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProofSubject {
    /// The document (`doc/<kind>/<id>`).
    #[default]
    Document,
    /// The head of its history chain (`hhead/<kind>/<id>`), with the entries it proves.
    History,
}

/// `GET /v1/proofs/{kind}/{id}` (`?of=history` for its history): everything a client needs
/// to check a document without trusting the node -- the value, its Merkle proof against a
/// state root, the header of the finalized block that certifies that root, the block's
/// commit certificate, and every validator-set change since genesis. Check it with the
/// SDK's `verify_document` (or `lianrong verify doc`) holding only the genesis file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProofResponse {
    /// Document kind (`invoice`, `receivable`, ...).
    pub kind: String,
    /// Document id.
    pub id: String,
    /// The document or its history.
    pub subject: ProofSubject,
    /// The height (tree version) of the state proven: `header.executed.height`.
    pub height: u64,
    /// The state root the proof is against: `header.executed.state_root`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state_root: Hash,
    /// The state key, as text (clients recompute it from kind and id).
    pub key: String,
    /// Hex of the stored value (canonical encoding), or none for an absence proof.
    pub value_hex: Option<String>,
    /// Hex of the tree leaf that holds the value when the key shares one: a document and
    /// its history head share the leaf of the document's key (the leaf's encoding: for the
    /// document, then the head, a byte 0 if absent or 1 and a little-endian u64 length and
    /// the bytes if present). None when the key is a leaf of its own, or no leaf exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_hex: Option<String>,
    /// The Jellyfish Merkle proof, as the node serialised it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub proof: serde_json::Value,
    /// Header of the finalized block whose `executed` field certifies `state_root`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub header: BlockHeader,
    /// The certificate committing that block (signed by its epoch's validators).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub certificate: CommitCertificate,
    /// Every validator-set change from genesis up to the header's epoch.
    pub epochs: Vec<EpochChange>,
    /// For a history proof: the document's history entries, oldest first, as far as the
    /// proven head covers them (entries of later blocks are not yet certified) -- one
    /// page of at most 1,000 (the first, or the one `after` asked for).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub history: Vec<HistoryEntry>,
    /// For a history proof with more entries than this page: ask again with
    /// `after=` this (`HEIGHT.TX.SEQ`). The head proves the whole history, so the pages
    /// verify only together (the SDK's `Client::history_proof` fetches them all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_next: Option<String>,
}

/// `GET /v1/events` `block` event: a finalized block as this caller may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockNotice {
    /// Height.
    pub height: u64,
    /// Block hash.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub block_hash: Hash,
    /// Agreed block time.
    pub time_ms: u64,
    /// State root after the block.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state_root: Hash,
    /// Transactions in the block (all, even those not shown).
    pub tx_count: u64,
    /// Receipts this caller may see.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub receipts: Vec<Receipt>,
    /// Changes the ledger made by itself (banks and auditors only).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub ledger_events: Vec<Event>,
}

/// `GET /v1/evidence` item: a validator's equivocation this node saw (banks and auditors
/// only). The evidence is portable: anyone can check both signatures against the epoch's
/// validator set (`Evidence::verify` in the consensus crate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceRecord {
    /// Epoch whose validator set `offender` indexes.
    pub epoch: u64,
    /// The validator's index in that set.
    pub offender: u16,
    /// Its node key, when the node still knows that epoch's set.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub offender_key: Option<PublicKey>,
    /// The two signed, conflicting messages.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub evidence: lianrong_consensus::Evidence,
}

/// Query of `GET /v1/evidence`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct EvidenceQuery {
    /// Cursor: start after this record (the `next` of the previous page, hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(pattern = "^([0-9a-fA-F]{2}){1,64}$"))]
    pub after: Option<String>,
    /// Page size: 1 to 500 (`MAX_PAGE`), default 100 (`DEFAULT_PAGE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    pub limit: Option<usize>,
}

/// `GET /v1/evidence`: one page of the equivocation evidence this node keeps, oldest
/// epoch first. Read it like a [`ReceivablePage`]: until an answer has no `next`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidencePage {
    /// The records of this page.
    pub items: Vec<EvidenceRecord>,
    /// Where the next page starts (its `after`, hex); absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Server-sent event names of `GET /v1/events`.
pub mod event_names {
    /// A finalized block; data: a [`super::BlockNotice`] as JSON.
    pub const BLOCK: &str = "block";
    /// The subscriber was too slow and skipped blocks; data: how many (decimal). It can
    /// re-read them from `/v1/blocks/{height}`.
    pub const LAGGED: &str = "lagged";
    /// The credential the stream was opened with no longer holds (a revoked member
    /// key); the stream ends after it.
    pub const REVOKED: &str = "revoked";
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The last page says so by having no `next` at all; any other page names where the
    /// next one starts, and a page without `items` is malformed, not empty.
    #[test]
    fn a_page_has_next_until_the_last() {
        let last = OrgPage {
            items: vec![],
            next: None,
        };
        assert_eq!(serde_json::to_string(&last).unwrap(), r#"{"items":[]}"#);
        let more: ReceivablePage = serde_json::from_str(r#"{"items":[],"next":"RCV-9"}"#).unwrap();
        assert_eq!(more.next.as_ref().map(DocId::as_str), Some("RCV-9"));
        assert!(serde_json::from_str::<ReceivablePage>(r#"{"next":"RCV-9"}"#).is_err());
        assert!(serde_json::from_str::<OrgPage>(r#"{"items":[],"next":"not an org"}"#).is_err());
        let q = ReceivableFilter {
            after: Some(DocId::new("RCV-1").unwrap()),
            ..Default::default()
        };
        assert_eq!(serde_json::to_string(&q).unwrap(), r#"{"after":"RCV-1"}"#);
    }
}
