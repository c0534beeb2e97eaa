//! The node's HTTP API (axum, JSON, under `/v1`); see `docs/interfaces.md`.
//!
//! Reads go straight to the database (RocksDB is safe to read concurrently); writes go to
//! the node's event loop as commands. Every route but `/openapi.json` and `/metrics`
//! needs authentication.

pub mod auth;
pub mod error;
pub mod handlers;
pub mod metrics;
pub mod openapi;
pub mod visibility;

use std::sync::{Arc, RwLock};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use lianrong_contracts::{Event, Receipt, VerifiedTransaction};
use lianrong_primitives::{Hash, PublicKey};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::config::NodeConfig;
use crate::mempool::AdmitError;
use lianrong_storage::Db;

/// Milliseconds since the Unix epoch by the node's clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// What the node loop reports about itself for `/v1/status`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeStatus {
    /// Latest finalized height.
    pub height: u64,
    /// Its block hash.
    pub last_block_hash: Option<Hash>,
    /// Its state root.
    pub state_root: Option<Hash>,
    /// When this node finalized it (its clock, ms).
    pub last_finalized_at_ms: u64,
    /// Connected peers' node keys.
    pub peers: Vec<PublicKey>,
    /// Current consensus round.
    pub round: u64,
    /// Transactions waiting.
    pub mempool: usize,
    /// True while the node is behind its peers and fetching blocks.
    pub syncing: bool,
}

/// A finalized block as announced to API subscribers.
#[derive(Debug, Clone, Serialize)]
pub struct CommitNotice {
    /// Height.
    pub height: u64,
    /// Block hash.
    pub block_hash: Hash,
    /// Agreed block time.
    pub time_ms: u64,
    /// State root after the block.
    pub state_root: Hash,
    /// Receipts in block order.
    pub receipts: Vec<Receipt>,
    /// Changes the ledger made by itself (overdue).
    pub ledger_events: Vec<Event>,
}

/// Commands from the API to the node loop.
#[derive(Debug)]
pub enum Command {
    /// Admit a verified transaction to the mempool and gossip it.
    Submit {
        /// The transaction.
        tx: VerifiedTransaction,
        /// The answer.
        reply: oneshot::Sender<Result<Hash, AdmitError>>,
    },
}

/// Shared state of the API handlers.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Arc<Db>,
    /// Chain id.
    pub chain_id: String,
    /// The node config (tokens, limits).
    pub config: Arc<NodeConfig>,
    /// Commands to the node loop.
    pub commands: mpsc::Sender<Command>,
    /// Finalized blocks, for `?wait=commit` and `/v1/events`.
    pub commits: broadcast::Sender<Arc<CommitNotice>>,
    /// The node loop's status.
    pub status: Arc<RwLock<NodeStatus>>,
    /// Prometheus metrics.
    pub metrics: Arc<metrics::Metrics>,
}

/// The router with every route, the body limit and request metrics.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.api.max_body_bytes;
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/metrics", get(metrics::render))
        .route("/v1/status", get(handlers::status))
        .route("/v1/transactions", post(handlers::submit))
        .route("/v1/transactions/batch", post(handlers::submit_batch))
        .route("/v1/transactions/{hash}", get(handlers::transaction))
        .route("/v1/blocks/latest", get(handlers::latest_block))
        .route("/v1/blocks/{height}", get(handlers::block))
        .route("/v1/orgs", get(handlers::orgs))
        .route("/v1/orgs/{id}", get(handlers::org))
        .route("/v1/keys/{public_key}", get(handlers::key_info))
        .route("/v1/orders/{id}", get(handlers::order))
        .route("/v1/shipments/{id}", get(handlers::shipment))
        .route(
            "/v1/warehouse-receipts/{id}",
            get(handlers::warehouse_receipt),
        )
        .route("/v1/invoices", get(handlers::invoices_by_fingerprint))
        .route("/v1/invoices/{id}", get(handlers::invoice))
        .route("/v1/receivables", get(handlers::receivables))
        .route("/v1/receivables/{id}", get(handlers::receivable))
        .route(
            "/v1/receivables/{id}/history",
            get(handlers::receivable_history),
        )
        .route("/v1/financings/{id}", get(handlers::financing))
        .route("/v1/offers/{id}", get(handlers::offer))
        .route("/v1/proofs/{kind}/{id}", get(handlers::proof))
        .route("/v1/events", get(handlers::events))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}
