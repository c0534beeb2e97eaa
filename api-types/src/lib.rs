//! The node API's wire schema, written once: the node's handlers answer with these types,
//! the SDK, the bench and the explorer parse them, and the OpenAPI document describes them.
//!
//! - [`envelopes`]: every answer and request body of `/v1` and the `/v1/events` payloads
//!   (documents themselves are the contract records of `lianrong_contracts::model`).
//! - [`visibility`]: who may read which document, and what a reader outside a document's
//!   parties sees of it -- the one rule the node and the explorer both apply.
//! - [`governance`]: governance proposals and where they stand (open, executed, lapsed;
//!   approvals counted and still needed), computed once for the node and the explorer.
//! - [`approvals`]: actions held for a second member key (dual control) and where they
//!   stand (pending, executed, rejected, lapsed; approvals that count today).
//! - [`limits`]: credit limits with their use and headroom, computed once.
//! - [`programmes`]: supply-chain finance programmes with their limit's use and headroom.
//! - [`loans`]: loans against pledged warehouse receipts with today's value, LTV and
//!   margin-call state.
//! - [`overdue`]: a financing with its overdue figures (days past due, penalty, the
//!   claim a buy-back pays or a write-off writes off) as of the ledger's date, and the
//!   ageing buckets of the risk view.
//! - [`pricing`]: an offer with its all-in annualised cost to the supplier, computed once
//!   from the figures chosen once (`GET /v1/offers/{id}`, SDK, CLI, explorer).
//! - [`sales`]: banks' secondary sales of financings, with the face sold and whether an
//!   unanswered offer lapsed.
//! - [`registration`]: a disbursed financing's record in the fields of the PBoC
//!   movable-property financing registry (中登网), for the CLI and the explorer.
//! - [`snapshot`]: the state at a certified height in proven chunks, for a node that
//!   joins without replaying the chain.
//! - `schemas` (feature `openapi`): the OpenAPI schemas of path and query values taken
//!   from a fixed set (document kinds, receivable statuses).

pub mod approvals;
pub mod envelopes;
pub mod governance;
pub mod limits;
pub mod loans;
pub mod overdue;
pub mod pricing;
pub mod programmes;
pub mod registration;
pub mod sales;
#[cfg(feature = "openapi")]
pub mod schemas;
pub mod snapshot;
pub mod visibility;

pub use approvals::{ApprovalPage, ApprovalQuery, ApprovalState, ApprovalView};
pub use envelopes::*;
pub use governance::{ProposalPage, ProposalQuery, ProposalState, ProposalView};
pub use limits::{LimitPage, LimitQuery, LimitView};
pub use loans::{LoanPage, LoanQuery, LoanView};
pub use overdue::{AgeingBucket, FinancingView};
pub use pricing::{AllInAsOf, AllInCost, OfferView};
pub use programmes::{ProgrammePage, ProgrammeQuery, ProgrammeView};
pub use sales::{SalePage, SaleQuery, SaleView};
pub use snapshot::{
    SnapshotEntry, SnapshotHistoryChunk, SnapshotHistoryQuery, SnapshotManifest,
    SnapshotStateChunk, SnapshotStateQuery,
};

/// The consensus validator set of the ledger's validator list (genesis, `/v1/status`,
/// a `ValidatorSetChanged` event), in index order: the one mapping the node, the SDK's
/// verifier and the explorer use.
pub fn consensus_set(
    validators: &[lianrong_contracts::model::Validator],
) -> Result<lianrong_consensus::ValidatorSet, lianrong_consensus::ValidatorSetError> {
    lianrong_consensus::ValidatorSet::new(
        validators
            .iter()
            .map(|v| lianrong_consensus::Validator {
                key: v.node_key,
                org: Some(v.org.clone()),
            })
            .collect(),
    )
}
