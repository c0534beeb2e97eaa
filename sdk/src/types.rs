//! What the node's API answers, as typed values. Documents themselves are the contract
//! records (`lianrong_contracts::model`); these are the envelopes around them.

use lianrong_consensus::CommitCertificate;
use lianrong_contracts::model::{DocId, Invoice, Receivable, ReceivableStatus, Validator};
use lianrong_contracts::{Action, Event, HistoryEntry, Receipt, Signer};
use lianrong_primitives::{Hash, OrgId, PublicKey};
use serde::{Deserialize, Serialize};

/// `GET /v1/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The chain id (part of every signature).
    pub chain_id: String,
    /// Latest finalized height.
    pub height: u64,
    /// Hash of that block (none before the first block).
    pub last_block_hash: Option<Hash>,
    /// State root after it.
    pub state_root: Option<Hash>,
    /// When the node finalized it (node clock, ms since the Unix epoch).
    #[serde(default)]
    pub last_finalized_at_ms: u64,
    /// The validator set recorded in state, in index order.
    pub validators: Vec<Validator>,
    /// Connected peers' node keys.
    #[serde(default)]
    pub peers: Vec<PublicKey>,
    /// Current consensus round.
    #[serde(default)]
    pub round: u64,
    /// Transactions waiting in the node's mempool.
    #[serde(default)]
    pub mempool: usize,
    /// Sync state.
    #[serde(default)]
    pub sync: SyncState,
}

/// Whether the node is catching up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    /// True while the node is behind its peers and fetching blocks.
    pub syncing: bool,
}

/// `GET /v1/blocks/{height}`: a finalized block's header, its transactions' hashes and
/// the commit certificate anyone can check (see [`crate::verify_block`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockView {
    /// Height.
    pub height: u64,
    /// Block hash.
    pub hash: Hash,
    /// Parent hash.
    pub parent: Hash,
    /// Epoch (validator-set generation).
    pub epoch: u64,
    /// Round it was proposed in.
    pub round: u64,
    /// Index of the proposer in the validator set.
    pub proposer: u16,
    /// Agreed block time (ms since the Unix epoch).
    pub timestamp_ms: u64,
    /// Transactions in block order.
    #[serde(default)]
    pub tx_hashes: Vec<Hash>,
    /// State root after executing the block, as the node computed it.
    pub state_root: Option<Hash>,
    /// Certificate committing this block or a descendant.
    pub commit_certificate: Option<CommitCertificate>,
}

/// `GET /v1/transactions/{hash}`: a committed transaction and its receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxView {
    /// Transaction hash.
    pub hash: Hash,
    /// Always `committed` (uncommitted transactions are 404).
    pub status: String,
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub index: u64,
    /// Who signed.
    pub signer: Signer,
    /// The signer key's nonce it used.
    pub nonce: u64,
    /// What it did.
    pub action: Action,
    /// Short action name (`issue_order`, ...).
    pub action_name: String,
    /// Events, or the ledger's refusal.
    pub receipt: Option<Receipt>,
}

/// `POST /v1/transactions` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitResponse {
    /// Transaction hash.
    pub hash: Hash,
    /// `pending` (admitted, not final yet) or `committed`.
    pub status: String,
    /// Block height, once committed.
    #[serde(default)]
    pub height: Option<u64>,
    /// The receipt, once committed.
    #[serde(default)]
    pub receipt: Option<Receipt>,
}

/// A transaction that is final and that the ledger executed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    /// Transaction hash.
    pub hash: Hash,
    /// Block height it was committed in.
    pub height: u64,
    /// What changed.
    pub events: Vec<Event>,
}

impl Committed {
    /// The first id of a newly created document of the given kind in the events
    /// (`RCV-n`, `FIN-n`, `OFR-n` are assigned by the ledger).
    pub fn created(&self, kind: lianrong_contracts::DocKind) -> Option<DocId> {
        use lianrong_contracts::DocKind as K;
        self.events.iter().find_map(|e| match (kind, e) {
            (K::Receivable, Event::ReceivableIssued { receivable, .. }) => Some(receivable.clone()),
            (K::Financing, Event::FinancingRequested { financing, .. }) => Some(financing.clone()),
            (K::Offer, Event::OfferMade { offer, .. }) => Some(offer.clone()),
            (K::Proposal, Event::ProposalOpened { proposal, .. }) => Some(proposal.clone()),
            _ => None,
        })
    }
}

/// `GET /v1/keys/{public_key}`: which org a member key acts for and its next nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// The key.
    pub public_key: PublicKey,
    /// Its org.
    pub org: OrgId,
    /// False once revoked.
    pub active: bool,
    /// The nonce its next transaction must carry (committed state; transactions still
    /// in a mempool are not counted).
    pub next_nonce: u64,
}

/// Filter of `GET /v1/receivables`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceivableFilter {
    /// Current holder.
    pub holder: Option<OrgId>,
    /// Debtor.
    pub debtor: Option<OrgId>,
    /// Status.
    pub status: Option<ReceivableStatus>,
    /// Page size (the node caps it at 500).
    pub limit: Option<usize>,
}

/// One receivable's steps in a [`ReceivableHistory`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistorySteps {
    /// The receivable.
    pub receivable: DocId,
    /// Its history, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// `GET /v1/receivables/{id}/history`: the lineage from the root and every step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivableHistory {
    /// The receivable asked for.
    pub receivable: Receivable,
    /// Its ancestors from the root down to itself.
    pub lineage: Vec<Receivable>,
    /// Each lineage member's history.
    pub steps: Vec<HistorySteps>,
    /// The source invoice, if visible.
    pub invoice: Option<Invoice>,
}

/// `GET /v1/proofs/{kind}/{id}`: a Merkle proof of a document against a state root.
/// Check it with [`crate::verify_proof`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProofResponse {
    /// Document kind (`invoice`, `receivable`, ...).
    pub kind: String,
    /// Document id.
    pub id: String,
    /// The height (tree version) of the state root.
    pub height: u64,
    /// The state root the proof is against.
    pub state_root: Hash,
    /// The state key, as text.
    pub key: String,
    /// Hex of the stored value (canonical encoding), or none for an absence proof.
    pub value_hex: Option<String>,
    /// The Jellyfish Merkle proof, as the node serialised it.
    pub proof: serde_json::Value,
}

/// `GET /v1/events` `block` event: a finalized block as this caller may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockNotice {
    /// Height.
    pub height: u64,
    /// Block hash.
    pub block_hash: Hash,
    /// Agreed block time.
    pub time_ms: u64,
    /// State root after the block.
    pub state_root: Hash,
    /// Transactions in the block (all, even those not shown).
    pub tx_count: u64,
    /// Receipts this caller may see.
    #[serde(default)]
    pub receipts: Vec<Receipt>,
    /// Changes the ledger made by itself (banks and auditors only).
    #[serde(default)]
    pub ledger_events: Vec<Event>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::DocKind;

    #[test]
    fn created_finds_the_ledger_assigned_id() {
        let d = |s: &str| DocId::new(s).unwrap();
        let c = Committed {
            hash: Hash::ZERO,
            height: 1,
            events: vec![
                Event::ReceivableSplit {
                    receivable: d("RCV-1"),
                    parts: vec![d("RCV-2"), d("RCV-3")],
                },
                Event::FinancingRequested {
                    financing: d("FIN-4"),
                    receivable: d("RCV-2"),
                    banks: vec![],
                },
            ],
        };
        assert_eq!(c.created(DocKind::Financing), Some(d("FIN-4")));
        assert_eq!(c.created(DocKind::Offer), None);
    }
}
