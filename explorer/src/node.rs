//! How the explorer reads the node: the small [`NodeApi`] trait (one typed method per
//! answer the explorer uses, each a `lianrong_api_types` envelope or a
//! `lianrong_contracts::model` record, and the committed-block event stream), implemented
//! over the SDK's client by [`SdkNode`] with ONE token that sees everything. Views never
//! call the node directly with a user's identity: what a user may see is decided by
//! [`crate::vis`].
//!
//! Every field the node writes is required: an answer with a missing or mistyped field is
//! a [`NodeError::Decode`] naming the URL and the field, never a zero.

use std::future::Future;
use std::pin::Pin;

use futures::stream::BoxStream;
use futures::StreamExt;
use lianrong_api_types::{
    event_names, BlockNotice, BlockView, EpochChanges, OrgPage, ProofResponse, ProposalView,
    ReceivableHistory, ReceivablePage, Status, TxView,
};
use lianrong_contracts::model::{
    DocId, Financing, Invoice, Offer, Order, Org, Proposal, Receivable, Settlement, Shipment,
    WarehouseReceipt,
};
use lianrong_contracts::DocKind;
use lianrong_primitives::{Hash, OrgId};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// A boxed, sendable future (keeps [`NodeApi`] object-safe).
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The committed-block notices of `GET /v1/events`.
pub type Notices = BoxStream<'static, Result<BlockNotice, NodeError>>;

/// Why a node request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// 404: the thing does not exist (or the token may not see it).
    #[error("not found: {0}")]
    NotFound(String),
    /// Any other error status, with the node's error code and message.
    #[error("node answered {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The node's message.
        message: String,
    },
    /// The node could not be reached.
    #[error("node unreachable: {0}")]
    Transport(String),
    /// The answer was not what the API documents: not JSON, a missing or mistyped field,
    /// or an answer about something else than what was asked.
    #[error("malformed answer from {url}: {reason}")]
    Decode {
        /// What was asked (path and query, or the event stream).
        url: String,
        /// What is wrong, naming the field.
        reason: String,
    },
}

impl NodeError {
    /// A malformed answer from `url`.
    pub fn decode(url: &str, reason: impl Into<String>) -> NodeError {
        NodeError::Decode {
            url: url.to_string(),
            reason: reason.into(),
        }
    }
}

/// A document the explorer indexes and shows, as the node serves it.
// A financing (its terms, disbursement, registration and programme) is the largest
// record by far; documents are held one per id in the index, not in bulk arrays, so the
// enum's size costs little and boxing would only add indirection at every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Doc {
    /// `/v1/orgs/{id}`.
    Org(Org),
    /// `/v1/orders/{id}`.
    Order(Order),
    /// `/v1/shipments/{id}`.
    Shipment(Shipment),
    /// `/v1/invoices/{id}`.
    Invoice(Invoice),
    /// `/v1/receivables/{id}`.
    Receivable(Receivable),
    /// `/v1/financings/{id}`.
    Financing(Financing),
    /// `/v1/offers/{id}`.
    Offer(Offer),
    /// `/v1/settlements/{id}`.
    Settlement(Settlement),
    /// `/v1/proposals/{id}` (the record; where it stands is computed when shown).
    Proposal(Proposal),
    /// `/v1/warehouse-receipts/{id}`.
    WarehouseReceipt(WarehouseReceipt),
}

impl Doc {
    /// Its kind.
    pub fn kind(&self) -> DocKind {
        match self {
            Doc::Org(_) => DocKind::Org,
            Doc::Order(_) => DocKind::Order,
            Doc::Shipment(_) => DocKind::Shipment,
            Doc::Invoice(_) => DocKind::Invoice,
            Doc::Receivable(_) => DocKind::Receivable,
            Doc::Financing(_) => DocKind::Financing,
            Doc::Offer(_) => DocKind::Offer,
            Doc::Settlement(_) => DocKind::Settlement,
            Doc::Proposal(_) => DocKind::Proposal,
            Doc::WarehouseReceipt(_) => DocKind::WarehouseReceipt,
        }
    }

    /// Its id.
    pub fn id(&self) -> &str {
        match self {
            Doc::Org(d) => d.id.as_str(),
            Doc::Order(d) => d.id.as_str(),
            Doc::Shipment(d) => d.id.as_str(),
            Doc::Invoice(d) => d.id.as_str(),
            Doc::Receivable(d) => d.id.as_str(),
            Doc::Financing(d) => d.id.as_str(),
            Doc::Offer(d) => d.id.as_str(),
            Doc::Settlement(d) => d.id.as_str(),
            Doc::Proposal(d) => d.id.as_str(),
            Doc::WarehouseReceipt(d) => d.id.as_str(),
        }
    }

    /// Decodes the node's answer for a document of `kind` at `url`.
    fn decode(kind: DocKind, url: &str, v: Value) -> Result<Doc, NodeError> {
        Ok(match kind {
            DocKind::Org => Doc::Org(decode(url, v)?),
            DocKind::Order => Doc::Order(decode(url, v)?),
            DocKind::Shipment => Doc::Shipment(decode(url, v)?),
            DocKind::Invoice => Doc::Invoice(decode(url, v)?),
            DocKind::Receivable => Doc::Receivable(decode(url, v)?),
            DocKind::Financing => Doc::Financing(decode(url, v)?),
            DocKind::Offer => Doc::Offer(decode(url, v)?),
            DocKind::Settlement => Doc::Settlement(decode(url, v)?),
            DocKind::Proposal => Doc::Proposal(decode::<ProposalView>(url, v)?.proposal),
            DocKind::WarehouseReceipt => Doc::WarehouseReceipt(decode(url, v)?),
            other => return Err(NodeError::NotFound(format!("{other} documents"))),
        })
    }
}

/// The API path of a document kind the explorer reads, if any.
pub fn doc_path(kind: DocKind) -> Option<&'static str> {
    Some(match kind {
        DocKind::Org => "/v1/orgs/",
        DocKind::Order => "/v1/orders/",
        DocKind::Shipment => "/v1/shipments/",
        DocKind::Invoice => "/v1/invoices/",
        DocKind::Receivable => "/v1/receivables/",
        DocKind::Financing => "/v1/financings/",
        DocKind::Offer => "/v1/offers/",
        DocKind::Settlement => "/v1/settlements/",
        DocKind::Proposal => "/v1/proposals/",
        DocKind::WarehouseReceipt => "/v1/warehouse-receipts/",
        _ => return None,
    })
}

/// The paths of the node API the explorer reads (one place, shared by [`SdkNode`] and the
/// tests' fake node).
pub mod paths {
    use super::*;

    /// `GET /v1/status`.
    pub const STATUS: &str = "/v1/status";
    /// `GET /v1/orgs` (each page adds its query).
    pub const ORGS: &str = "/v1/orgs";
    /// `GET /v1/receivables` (each page adds its query).
    pub const RECEIVABLES: &str = "/v1/receivables";
    /// The pseudo-URL errors of the event stream name.
    pub const EVENTS: &str = "/v1/events";
    /// `GET /v1/epochs`.
    pub const EPOCHS: &str = "/v1/epochs";

    /// `GET /v1/blocks/{height}`.
    pub fn block(height: u64) -> String {
        format!("/v1/blocks/{height}")
    }
    /// `GET /v1/transactions/{hash}`.
    pub fn transaction(hash: &Hash) -> String {
        format!("/v1/transactions/{hash}")
    }
    /// `GET /v1/orgs?after=&limit=`: one page.
    pub fn orgs(after: Option<&OrgId>, limit: usize) -> String {
        page(ORGS, after.map(OrgId::as_str), limit)
    }
    /// `GET /v1/receivables?after=&limit=`: one page.
    pub fn receivables(after: Option<&DocId>, limit: usize) -> String {
        page(RECEIVABLES, after.map(DocId::as_str), limit)
    }
    /// `GET /v1/approvals?after=&limit=`: one page of held actions (ids are URL-safe).
    pub fn approvals(after: Option<&str>, limit: usize) -> String {
        page("/v1/approvals", after, limit)
    }
    /// `GET /v1/programmes?after=&limit=`: one page of programmes (ids are URL-safe).
    pub fn programmes(after: Option<&str>, limit: usize) -> String {
        page("/v1/programmes", after, limit)
    }
    /// `GET /v1/loans?after=&limit=`: one page of loans (ids are URL-safe).
    pub fn loans(after: Option<&str>, limit: usize) -> String {
        page("/v1/loans", after, limit)
    }
    /// `GET /v1/sales?after=&limit=&financing=`: one page of one financing's sales
    /// (ids are URL-safe).
    pub fn sales(after: Option<&str>, limit: usize, financing: &str) -> String {
        format!("{}&financing={financing}", page("/v1/sales", after, limit))
    }
    /// `GET /v1/limits?after=&limit=`: one page (cursors are `A-Z a-z 0-9 / -`, safe in
    /// a query as they are).
    pub fn limits(after: Option<&str>, limit: usize) -> String {
        page("/v1/limits", after, limit)
    }
    /// A list page's path: ids are URL-safe as they are.
    fn page(list: &str, after: Option<&str>, limit: usize) -> String {
        match after {
            Some(a) => format!("{list}?after={a}&limit={limit}"),
            None => format!("{list}?limit={limit}"),
        }
    }
    /// The document `id` of `kind`: its path, or `NotFound` for a kind the explorer does
    /// not read or an id no document can have.
    pub fn document(kind: DocKind, id: &str) -> Result<String, NodeError> {
        checked_id(kind, id)?;
        let base = doc_path(kind)
            .ok_or_else(|| NodeError::NotFound(format!("{kind} documents are not read")))?;
        Ok(format!("{base}{id}"))
    }
    /// `GET /v1/receivables/{id}/history`.
    pub fn history(id: &str) -> Result<String, NodeError> {
        checked_id(DocKind::Receivable, id)?;
        Ok(format!("/v1/receivables/{id}/history"))
    }
    /// `GET /v1/proofs/{kind}/{id}`.
    pub fn proof(kind: DocKind, id: &str) -> Result<String, NodeError> {
        checked_id(kind, id)?;
        Ok(format!("/v1/proofs/{}/{id}", kind.as_str()))
    }
    /// `GET /v1/proofs/{kind}/{id}?of=history`.
    pub fn history_proof(kind: DocKind, id: &str) -> Result<String, NodeError> {
        Ok(format!("{}?of=history", proof(kind, id)?))
    }

    /// An id that can name a document of `kind` (and so is safe in a path).
    fn checked_id(kind: DocKind, id: &str) -> Result<(), NodeError> {
        let valid = if kind == DocKind::Org {
            OrgId::new(id).is_ok()
        } else {
            DocId::new(id).is_ok() && !id.bytes().all(|b| b == b'.')
        };
        if valid {
            Ok(())
        } else {
            Err(NodeError::NotFound(format!("{kind} {id:?}")))
        }
    }
}

/// Decodes an answer from `url` as `T`; a missing or mistyped field is a
/// [`NodeError::Decode`] naming the URL and the field's path.
pub fn decode<T: DeserializeOwned>(url: &str, v: Value) -> Result<T, NodeError> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let reason = if path == "." {
            inner.to_string()
        } else {
            format!("at {path}: {inner}")
        };
        NodeError::decode(url, reason)
    })
}

/// What the explorer needs from a node.
pub trait NodeApi: Send + Sync + 'static {
    /// `GET /v1/status`.
    fn status(&self) -> BoxFut<'_, Result<Status, NodeError>>;
    /// `GET /v1/blocks/{height}`.
    fn block(&self, height: u64) -> BoxFut<'_, Result<BlockView, NodeError>>;
    /// `GET /v1/transactions/{hash}`.
    fn transaction(&self, hash: Hash) -> BoxFut<'_, Result<TxView, NodeError>>;
    /// `GET /v1/orgs?after=&limit=`: one page of organisations, in id order.
    fn orgs_page<'a>(
        &'a self,
        after: Option<&'a OrgId>,
        limit: usize,
    ) -> BoxFut<'a, Result<OrgPage, NodeError>>;
    /// `GET /v1/receivables?after=&limit=`: one page of receivables, in id order.
    fn receivables_page<'a>(
        &'a self,
        after: Option<&'a DocId>,
        limit: usize,
    ) -> BoxFut<'a, Result<ReceivablePage, NodeError>>;
    /// The document `id` of `kind` (orgs, orders, shipments, invoices, receivables,
    /// financings, offers and settlements; `NotFound` for other kinds).
    fn document<'a>(&'a self, kind: DocKind, id: &'a str) -> BoxFut<'a, Result<Doc, NodeError>>;
    /// `GET /v1/receivables/{id}/history`.
    fn receivable_history<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFut<'a, Result<ReceivableHistory, NodeError>>;
    /// `GET /v1/proofs/{kind}/{id}`.
    fn proof<'a>(
        &'a self,
        kind: DocKind,
        id: &'a str,
    ) -> BoxFut<'a, Result<ProofResponse, NodeError>>;
    /// `GET /v1/proofs/{kind}/{id}?of=history`, every page: the document's history
    /// entries up to the certified height, with the Merkle proof of its history-chain head
    /// (check it with `lianrong_sdk::verify_history`).
    fn history_proof<'a>(
        &'a self,
        kind: DocKind,
        id: &'a str,
    ) -> BoxFut<'a, Result<ProofResponse, NodeError>>;
    /// `GET /v1/epochs`: every validator-set change since genesis (what the browser chains
    /// from the genesis set to the set of a block's epoch).
    fn epochs(&self) -> BoxFut<'_, Result<EpochChanges, NodeError>>;
    /// `GET /v1/limits?after=&limit=`: one page of credit limits with their use.
    fn limits_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFut<'a, Result<lianrong_api_types::LimitPage, NodeError>>;
    /// `GET /v1/approvals?after=&limit=`: one page of actions held for a second key.
    fn approvals_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFut<'a, Result<lianrong_api_types::ApprovalPage, NodeError>>;
    /// `GET /v1/programmes?after=&limit=`: one page of programmes with their limit's use.
    fn programmes_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFut<'a, Result<lianrong_api_types::ProgrammePage, NodeError>>;
    /// `GET /v1/loans?after=&limit=`: one page of loans with today's figures.
    fn loans_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFut<'a, Result<lianrong_api_types::LoanPage, NodeError>>;
    /// `GET /v1/sales?after=&limit=&financing=`: one page of the sales of a financing.
    fn sales_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
        financing: &'a str,
    ) -> BoxFut<'a, Result<lianrong_api_types::SalePage, NodeError>>;
    /// The `block` events of `GET /v1/events`; a notice that does not decode is an
    /// `Err(NodeError::Decode)` item (the stream goes on).
    fn events(&self) -> BoxFut<'_, Result<Notices, NodeError>>;
}

/// [`NodeApi`] over the SDK's [`lianrong_sdk::Client`] with a bearer token.
#[derive(Clone)]
pub struct SdkNode {
    client: lianrong_sdk::Client,
}

impl SdkNode {
    /// A client of the node at `base_url` using API `token`.
    pub fn new(base_url: &str, token: &str) -> Result<Self, NodeError> {
        let client =
            lianrong_sdk::Client::new(base_url, lianrong_sdk::Auth::Token(token.to_string()))
                .map_err(|e| NodeError::Transport(e.to_string()))?;
        Ok(SdkNode { client })
    }

    /// Over an existing client (its token must see everything the explorer shows).
    pub fn with_client(client: lianrong_sdk::Client) -> Self {
        SdkNode { client }
    }

    /// GET `url` and decode it as `T`, naming the field that does not decode.
    async fn get<T: DeserializeOwned>(&self, url: &str) -> Result<T, NodeError> {
        let v: Value = self.client.get_json(url).await.map_err(sdk_error)?;
        decode(url, v)
    }
}

/// The SDK's error as the explorer reports it (also a page walk's refusal of a node's
/// cursor).
pub fn sdk_error(e: lianrong_sdk::SdkError) -> NodeError {
    use lianrong_sdk::SdkError as E;
    if e.is_not_found() {
        return NodeError::NotFound(e.to_string());
    }
    match e {
        E::Api {
            status, message, ..
        } => NodeError::Status { status, message },
        E::BadResponse { url, reason } => NodeError::Decode { url, reason },
        other => NodeError::Transport(other.to_string()),
    }
}

/// A `block` event the SDK could not decode: the reason, naming the field.
fn undecodable_notice(data: &str) -> Result<BlockNotice, NodeError> {
    let url = format!("{} ({} event)", paths::EVENTS, event_names::BLOCK);
    let v: Value =
        serde_json::from_str(data).map_err(|e| NodeError::decode(&url, e.to_string()))?;
    decode(&url, v)
}

impl NodeApi for SdkNode {
    fn status(&self) -> BoxFut<'_, Result<Status, NodeError>> {
        Box::pin(self.get(paths::STATUS))
    }

    fn block(&self, height: u64) -> BoxFut<'_, Result<BlockView, NodeError>> {
        Box::pin(async move { self.get(&paths::block(height)).await })
    }

    fn transaction(&self, hash: Hash) -> BoxFut<'_, Result<TxView, NodeError>> {
        Box::pin(async move { self.get(&paths::transaction(&hash)).await })
    }

    fn orgs_page<'a>(
        &'a self,
        after: Option<&'a OrgId>,
        limit: usize,
    ) -> BoxFut<'a, Result<OrgPage, NodeError>> {
        Box::pin(async move { self.get(&paths::orgs(after, limit)).await })
    }

    fn receivables_page<'a>(
        &'a self,
        after: Option<&'a DocId>,
        limit: usize,
    ) -> BoxFut<'a, Result<ReceivablePage, NodeError>> {
        Box::pin(async move { self.get(&paths::receivables(after, limit)).await })
    }

    fn document<'a>(&'a self, kind: DocKind, id: &'a str) -> BoxFut<'a, Result<Doc, NodeError>> {
        Box::pin(async move {
            let url = paths::document(kind, id)?;
            let v: Value = self.get(&url).await?;
            Doc::decode(kind, &url, v)
        })
    }

    fn receivable_history<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFut<'a, Result<ReceivableHistory, NodeError>> {
        Box::pin(async move {
            // Every page (the SDK's walk): a receivable's steps come at most 500 entries
            // a page, and a cut history would fail the lineage's proof check.
            paths::history(id)?;
            let id = lianrong_contracts::model::DocId::new(id).map_err(|e| NodeError::Decode {
                url: format!("/v1/receivables/{id}/history"),
                reason: e.to_string(),
            })?;
            self.client.receivable_history(&id).await.map_err(sdk_error)
        })
    }

    fn proof<'a>(
        &'a self,
        kind: DocKind,
        id: &'a str,
    ) -> BoxFut<'a, Result<ProofResponse, NodeError>> {
        Box::pin(async move { self.get(&paths::proof(kind, id)?).await })
    }

    fn history_proof<'a>(
        &'a self,
        kind: DocKind,
        id: &'a str,
    ) -> BoxFut<'a, Result<ProofResponse, NodeError>> {
        Box::pin(async move {
            // Every page (the SDK's walk): the head proves the whole history, so a page
            // alone verifies nothing, and a bank's org record outgrows one page.
            paths::history_proof(kind, id)?;
            self.client.history_proof(kind, id).await.map_err(sdk_error)
        })
    }

    fn epochs(&self) -> BoxFut<'_, Result<EpochChanges, NodeError>> {
        Box::pin(async move { self.get(paths::EPOCHS).await })
    }

    fn limits_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFut<'a, Result<lianrong_api_types::LimitPage, NodeError>> {
        Box::pin(async move { self.get(&paths::limits(after, limit)).await })
    }

    fn approvals_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFut<'a, Result<lianrong_api_types::ApprovalPage, NodeError>> {
        Box::pin(async move { self.get(&paths::approvals(after, limit)).await })
    }

    fn programmes_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFut<'a, Result<lianrong_api_types::ProgrammePage, NodeError>> {
        Box::pin(async move { self.get(&paths::programmes(after, limit)).await })
    }

    fn loans_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFut<'a, Result<lianrong_api_types::LoanPage, NodeError>> {
        Box::pin(async move { self.get(&paths::loans(after, limit)).await })
    }

    fn sales_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
        financing: &'a str,
    ) -> BoxFut<'a, Result<lianrong_api_types::SalePage, NodeError>> {
        Box::pin(async move { self.get(&paths::sales(after, limit, financing)).await })
    }

    fn events(&self) -> BoxFut<'_, Result<Notices, NodeError>> {
        Box::pin(async move {
            let s = self.client.events().await.map_err(sdk_error)?;
            Ok(s.filter_map(|ev| async move {
                use lianrong_sdk::NodeEvent;
                match ev {
                    Ok(NodeEvent::Block(b)) => Some(Ok(*b)),
                    // The SDK passes on a block event it cannot decode as "other".
                    Ok(NodeEvent::Other { event, data }) if event == event_names::BLOCK => {
                        Some(undecodable_notice(&data))
                    }
                    Ok(_) => None,
                    Err(e) => Some(Err(sdk_error(e))),
                }
            })
            .boxed())
        })
    }
}

#[cfg(test)]
pub mod fake {
    //! An in-memory [`NodeApi`] for unit tests, answering typed fixtures by path.
    use std::collections::HashMap;
    use std::sync::Mutex;

    use lianrong_api_types::SyncState;
    use lianrong_consensus::{
        BlockHeader, CommitCertificate, ExecutionCommit, QuorumCert, VoteData,
    };
    use lianrong_contracts::model::Validator;
    use lianrong_contracts::{Action, Event, Receipt, Signer};
    use lianrong_primitives::{PublicKey, Signature};

    use super::*;

    /// One fixture: what the node answers at a path.
    #[derive(Debug, Clone)]
    pub enum Answer {
        /// `/v1/status`.
        Status(Box<Status>),
        /// `/v1/blocks/{h}`.
        Block(Box<BlockView>),
        /// `/v1/transactions/{hash}`.
        Tx(Box<TxView>),
        /// A document.
        Doc(Box<Doc>),
        /// `/v1/receivables/{id}/history`.
        History(Box<ReceivableHistory>),
        /// `/v1/proofs/{kind}/{id}` (and `?of=history`).
        Proof(Box<ProofResponse>),
        /// `/v1/epochs`.
        Epochs(Box<EpochChanges>),
        /// `/v1/limits?...`: one page.
        Limits(Box<lianrong_api_types::LimitPage>),
        /// `/v1/approvals?...`: one page.
        Approvals(Box<lianrong_api_types::ApprovalPage>),
        /// `/v1/programmes?...`: one page.
        Programmes(Box<lianrong_api_types::ProgrammePage>),
        /// `/v1/loans?...`: one page.
        Loans(Box<lianrong_api_types::LoanPage>),
        /// `/v1/sales?...`: one page.
        Sales(Box<lianrong_api_types::SalePage>),
        /// A failure (e.g. a malformed answer).
        Fail(NodeError),
        /// A bug in the caller's path: answering panics with this text.
        Panic(String),
    }

    impl From<lianrong_api_types::ApprovalPage> for Answer {
        fn from(v: lianrong_api_types::ApprovalPage) -> Self {
            Answer::Approvals(Box::new(v))
        }
    }
    impl From<lianrong_api_types::ProgrammePage> for Answer {
        fn from(v: lianrong_api_types::ProgrammePage) -> Self {
            Answer::Programmes(Box::new(v))
        }
    }
    impl From<lianrong_api_types::SalePage> for Answer {
        fn from(v: lianrong_api_types::SalePage) -> Self {
            Answer::Sales(Box::new(v))
        }
    }
    impl From<lianrong_api_types::LimitPage> for Answer {
        fn from(v: lianrong_api_types::LimitPage) -> Self {
            Answer::Limits(Box::new(v))
        }
    }
    impl From<Status> for Answer {
        fn from(v: Status) -> Self {
            Answer::Status(Box::new(v))
        }
    }
    impl From<BlockView> for Answer {
        fn from(v: BlockView) -> Self {
            Answer::Block(Box::new(v))
        }
    }
    impl From<TxView> for Answer {
        fn from(v: TxView) -> Self {
            Answer::Tx(Box::new(v))
        }
    }
    impl From<Doc> for Answer {
        fn from(v: Doc) -> Self {
            Answer::Doc(Box::new(v))
        }
    }
    impl From<ReceivableHistory> for Answer {
        fn from(v: ReceivableHistory) -> Self {
            Answer::History(Box::new(v))
        }
    }
    impl From<ProofResponse> for Answer {
        fn from(v: ProofResponse) -> Self {
            Answer::Proof(Box::new(v))
        }
    }
    impl From<EpochChanges> for Answer {
        fn from(v: EpochChanges) -> Self {
            Answer::Epochs(Box::new(v))
        }
    }
    impl From<NodeError> for Answer {
        fn from(v: NodeError) -> Self {
            Answer::Fail(v)
        }
    }

    /// Answers from a map of path -> typed fixture; the org and receivable lists in pages
    /// as the node pages them (unless the map answers a page's path, e.g. with a
    /// failure); events from a list, then silence.
    #[derive(Default)]
    pub struct FakeNode {
        /// Path -> answer.
        pub answers: Mutex<HashMap<String, Answer>>,
        /// The notices the next `events()` call streams.
        pub notices: Mutex<Vec<Result<BlockNotice, NodeError>>>,
        /// `/v1/orgs`, in id order.
        pub orgs: Mutex<Vec<Org>>,
        /// `/v1/receivables`, in id order.
        pub receivables: Mutex<Vec<Receivable>>,
        /// The list pages asked for, in order.
        pub pages_asked: Mutex<Vec<String>>,
    }

    impl FakeNode {
        /// Sets the answer at `path`.
        pub fn set(&self, path: &str, v: impl Into<Answer>) {
            self.answers
                .lock()
                .unwrap()
                .insert(path.to_string(), v.into());
        }

        /// Serves `orgs` (sorted here) as `/v1/orgs`.
        pub fn set_orgs(&self, mut orgs: Vec<Org>) {
            orgs.sort_by(|a, b| a.id.cmp(&b.id));
            *self.orgs.lock().unwrap() = orgs;
        }

        /// Serves `list` (sorted here) as `/v1/receivables`.
        pub fn set_receivables(&self, mut list: Vec<Receivable>) {
            list.sort_by(|a, b| a.id.cmp(&b.id));
            *self.receivables.lock().unwrap() = list;
        }

        /// The page at `path` of `list` (ordered by `key`): a failure set at `path`, or
        /// the items after `after` and a `next` while more remain.
        fn page<T: Clone, K: PartialOrd + Clone>(
            &self,
            path: String,
            list: &Mutex<Vec<T>>,
            key: impl Fn(&T) -> K,
            after: Option<&K>,
            limit: usize,
        ) -> Result<(Vec<T>, Option<K>), NodeError> {
            self.pages_asked.lock().unwrap().push(path.clone());
            if let Some(a) = self.answers.lock().unwrap().get(&path) {
                return Err(match a {
                    Answer::Fail(e) => e.clone(),
                    _ => NodeError::decode(&path, "wrong fixture"),
                });
            }
            let list = list.lock().unwrap();
            let mut rest = list
                .iter()
                .filter(|t| after.is_none_or(|a| &key(t) > a))
                .cloned();
            let items: Vec<T> = rest.by_ref().take(limit).collect();
            let more = rest.next().is_some();
            let next = items.last().filter(|_| more).map(&key);
            Ok((items, next))
        }

        /// Serves document `d` at its path.
        pub fn set_doc(&self, d: Doc) {
            let path = paths::document(d.kind(), d.id()).unwrap();
            self.set(&path, d);
        }

        fn answer<T>(
            &self,
            path: Result<String, NodeError>,
            pick: impl FnOnce(Answer) -> Option<T>,
        ) -> BoxFut<'static, Result<T, NodeError>>
        where
            T: Send + 'static,
        {
            let got = path.and_then(|path| {
                let a = self.answers.lock().unwrap().get(&path).cloned();
                match a {
                    None => Err(NodeError::NotFound(path)),
                    Some(Answer::Fail(e)) => Err(e),
                    Some(Answer::Panic(why)) => panic!("{why}"),
                    Some(a) => pick(a).ok_or_else(|| NodeError::decode(&path, "wrong fixture")),
                }
            });
            Box::pin(async move { got })
        }
    }

    /// A status at `height` (chain `c`, finalized at 5 ms) with these validators.
    pub fn status(height: u64, validators: Vec<Validator>) -> Status {
        Status {
            chain_id: "c".into(),
            height,
            last_block_hash: None,
            state_root: None,
            last_finalized_at_ms: 5,
            validators,
            peers: vec![],
            round: height,
            mempool: 0,
            sync: SyncState::default(),
            params: lianrong_contracts::model::Params::default(),
            divergence: None,
        }
    }

    /// A validator of `org` with node key `[key; 32]`.
    pub fn validator(org: &str, key: u8) -> Validator {
        Validator {
            org: OrgId::new(org).unwrap(),
            node_key: PublicKey([key; 32]),
            address: String::new(),
        }
    }

    /// The hash `[b; 32]`.
    pub fn hash(b: u8) -> Hash {
        Hash([b; 32])
    }

    /// Block `h` (hash `[h; 32]`, not its header's: the fake's blocks are shown, not
    /// verified) of `txs`, committed by validators 0, 1 and 3.
    pub fn block(h: u64, txs: &[Hash]) -> BlockView {
        let vote = VoteData {
            epoch: 0,
            block_hash: hash(h as u8 + 1),
            height: h + 1,
            round: h + 1,
            parent_hash: hash(h as u8),
            parent_round: h,
        };
        let header = BlockHeader {
            chain_id: "c".into(),
            epoch: 0,
            height: h,
            round: h,
            parent: hash(h as u8 - 1),
            justify_hash: Hash::ZERO,
            proposer: 0,
            timestamp_ms: 1_000 * h,
            payload_hash: Hash::ZERO,
            reconfig_hash: Hash::ZERO,
            executed: ExecutionCommit::genesis(Hash::ZERO),
        };
        BlockView {
            height: h,
            hash: hash(h as u8),
            parent: hash(h as u8 - 1),
            epoch: 0,
            round: h,
            proposer: 0,
            timestamp_ms: 1_000 * h,
            tx_hashes: txs.to_vec(),
            dropped_tx_hashes: vec![],
            state_root: Some(Hash::ZERO),
            header,
            commit_certificate: Some(CommitCertificate {
                qc: QuorumCert {
                    vote,
                    signers: vec![0, 1, 3],
                    signatures: vec![Signature([0; 64]); 3],
                },
            }),
            descendants: vec![],
            ledger_events: vec![],
        }
    }

    /// Transaction `hash` at position 0 of block `h`, by `signer`, executed with `events`.
    pub fn tx(hash: Hash, h: u64, signer: &str, action: Action, events: Vec<Event>) -> TxView {
        let org = OrgId::new(signer).unwrap();
        TxView {
            hash,
            status: "committed".into(),
            height: h,
            index: 0,
            signer: Signer {
                org: org.clone(),
                key: PublicKey([0xab; 32]),
            },
            nonce: 0,
            action_name: action.name().into(),
            action,
            receipt: Some(Receipt {
                tx_hash: hash,
                signer: org,
                outcome: Ok(events),
            }),
        }
    }

    impl NodeApi for FakeNode {
        fn status(&self) -> BoxFut<'_, Result<Status, NodeError>> {
            self.answer(Ok(paths::STATUS.into()), |a| match a {
                Answer::Status(s) => Some(*s),
                _ => None,
            })
        }
        fn block(&self, height: u64) -> BoxFut<'_, Result<BlockView, NodeError>> {
            self.answer(Ok(paths::block(height)), |a| match a {
                Answer::Block(b) => Some(*b),
                _ => None,
            })
        }
        fn transaction(&self, hash: Hash) -> BoxFut<'_, Result<TxView, NodeError>> {
            self.answer(Ok(paths::transaction(&hash)), |a| match a {
                Answer::Tx(t) => Some(*t),
                _ => None,
            })
        }
        fn orgs_page<'a>(
            &'a self,
            after: Option<&'a OrgId>,
            limit: usize,
        ) -> BoxFut<'a, Result<OrgPage, NodeError>> {
            let path = paths::orgs(after, limit);
            let got = self.page(path, &self.orgs, |o| o.id.clone(), after, limit);
            Box::pin(async move { got.map(|(items, next)| OrgPage { items, next }) })
        }
        fn receivables_page<'a>(
            &'a self,
            after: Option<&'a DocId>,
            limit: usize,
        ) -> BoxFut<'a, Result<ReceivablePage, NodeError>> {
            let path = paths::receivables(after, limit);
            let got = self.page(path, &self.receivables, |r| r.id.clone(), after, limit);
            Box::pin(async move { got.map(|(items, next)| ReceivablePage { items, next }) })
        }
        fn document<'a>(
            &'a self,
            kind: DocKind,
            id: &'a str,
        ) -> BoxFut<'a, Result<Doc, NodeError>> {
            self.answer(paths::document(kind, id), |a| match a {
                Answer::Doc(d) if d.kind() == kind => Some(*d),
                _ => None,
            })
        }
        fn receivable_history<'a>(
            &'a self,
            id: &'a str,
        ) -> BoxFut<'a, Result<ReceivableHistory, NodeError>> {
            self.answer(paths::history(id), |a| match a {
                Answer::History(h) => Some(*h),
                _ => None,
            })
        }
        fn proof<'a>(
            &'a self,
            kind: DocKind,
            id: &'a str,
        ) -> BoxFut<'a, Result<ProofResponse, NodeError>> {
            self.answer(paths::proof(kind, id), |a| match a {
                Answer::Proof(p) => Some(*p),
                _ => None,
            })
        }
        fn history_proof<'a>(
            &'a self,
            kind: DocKind,
            id: &'a str,
        ) -> BoxFut<'a, Result<ProofResponse, NodeError>> {
            self.answer(paths::history_proof(kind, id), |a| match a {
                Answer::Proof(p) => Some(*p),
                _ => None,
            })
        }
        fn epochs(&self) -> BoxFut<'_, Result<EpochChanges, NodeError>> {
            self.answer(Ok(paths::EPOCHS.into()), |a| match a {
                Answer::Epochs(e) => Some(*e),
                _ => None,
            })
        }
        fn limits_page<'a>(
            &'a self,
            after: Option<&'a str>,
            limit: usize,
        ) -> BoxFut<'a, Result<lianrong_api_types::LimitPage, NodeError>> {
            self.answer(Ok(paths::limits(after, limit)), |a| match a {
                Answer::Limits(p) => Some(*p),
                _ => None,
            })
        }
        fn approvals_page<'a>(
            &'a self,
            after: Option<&'a str>,
            limit: usize,
        ) -> BoxFut<'a, Result<lianrong_api_types::ApprovalPage, NodeError>> {
            self.answer(Ok(paths::approvals(after, limit)), |a| match a {
                Answer::Approvals(p) => Some(*p),
                _ => None,
            })
        }
        fn programmes_page<'a>(
            &'a self,
            after: Option<&'a str>,
            limit: usize,
        ) -> BoxFut<'a, Result<lianrong_api_types::ProgrammePage, NodeError>> {
            self.answer(Ok(paths::programmes(after, limit)), |a| match a {
                Answer::Programmes(p) => Some(*p),
                _ => None,
            })
        }
        fn loans_page<'a>(
            &'a self,
            after: Option<&'a str>,
            limit: usize,
        ) -> BoxFut<'a, Result<lianrong_api_types::LoanPage, NodeError>> {
            self.answer(Ok(paths::loans(after, limit)), |a| match a {
                Answer::Loans(p) => Some(*p),
                _ => None,
            })
        }
        fn sales_page<'a>(
            &'a self,
            after: Option<&'a str>,
            limit: usize,
            financing: &'a str,
        ) -> BoxFut<'a, Result<lianrong_api_types::SalePage, NodeError>> {
            self.answer(Ok(paths::sales(after, limit, financing)), |a| match a {
                Answer::Sales(p) => Some(*p),
                _ => None,
            })
        }
        fn events(&self) -> BoxFut<'_, Result<Notices, NodeError>> {
            let notices = std::mem::take(&mut *self.notices.lock().unwrap());
            Box::pin(async move {
                Ok(futures::stream::iter(notices)
                    .chain(futures::stream::pending())
                    .boxed())
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header::CONTENT_TYPE;
    use axum::routing::get;
    use axum::Json;
    use serde_json::json;

    /// A node that answers every route the explorer reads with something malformed.
    async fn malformed_node() -> SdkNode {
        let zero = "00".repeat(32);
        let block = json!({"height": 1, "hash": zero, "parent": zero, "epoch": 0, "round": 1,
            "proposer": 0, "timestamp_ms": 5, "tx_hashes": [zero, "not hex"],
            "dropped_tx_hashes": [], "state_root": null, "commit_certificate": null});
        let app = axum::Router::new()
            .route(
                "/v1/status",
                get(|| async { Json(json!({"chain_id": "c"})) }),
            )
            .route("/v1/blocks/{h}", get(move || async move { Json(block) }))
            .route(
                "/v1/orders/{id}",
                get(|| async { Json(json!({"id": "PO-1"})) }),
            )
            .route(
                "/v1/events",
                get(|| async {
                    let body = "event: block\ndata: {\"height\": 1}\n\n";
                    ([(CONTENT_TYPE, "text/event-stream")], body)
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        SdkNode::new(&format!("http://{addr}"), "t").unwrap()
    }

    #[track_caller]
    fn assert_decode(e: NodeError, want_url: &str, want: &str) {
        match &e {
            NodeError::Decode { url, reason } => {
                assert!(url == want_url && reason.contains(want), "{e}")
            }
            other => panic!("not a decode error: {other}"),
        }
    }

    /// Every malformed answer is an error naming the URL and the field, never a default.
    #[tokio::test]
    async fn a_malformed_answer_names_the_url_and_the_field() {
        let node = malformed_node().await;
        assert_decode(
            node.status().await.unwrap_err(),
            "/v1/status",
            "missing field `height`",
        );
        assert_decode(
            node.block(1).await.unwrap_err(),
            "/v1/blocks/1",
            "at tx_hashes[1]:",
        );
        assert_decode(
            node.document(DocKind::Order, "PO-1").await.unwrap_err(),
            "/v1/orders/PO-1",
            "missing field `buyer`",
        );
        let mut events = node.events().await.unwrap();
        assert_decode(
            events.next().await.unwrap().unwrap_err(),
            "/v1/events (block event)",
            "missing field `block_hash`",
        );
        // Ids no document can have are never sent.
        assert!(matches!(
            node.document(DocKind::Order, "..").await,
            Err(NodeError::NotFound(_))
        ));
        assert!(matches!(
            node.document(DocKind::Proposal, "GOV-1").await,
            Err(NodeError::NotFound(_))
        ));
    }
}
