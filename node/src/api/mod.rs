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
pub mod proofs;
pub mod visibility;

use std::sync::{Arc, RwLock};

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::{Json, Router};
use lianrong_contracts::{Event, Receipt, VerifiedTransaction};
use lianrong_primitives::{Hash, PublicKey};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
    /// Set once a finalized block certified a state this node did not compute.
    pub divergence: Option<lianrong_consensus::Divergence>,
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

/// The router with every route, the body limit and request metrics. Routes are
/// registered through `utoipa_axum::routes!`, which reads each handler's
/// `#[utoipa::path]`: path, method and OpenAPI entry are written once, on the handler.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.api.max_body_bytes;
    let (routes, doc) = documented_routes().split_for_parts();
    let doc = Arc::new(doc);
    routes
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .route("/metrics", get(metrics::render))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// Every `/v1` route with its OpenAPI entry.
fn documented_routes() -> OpenApiRouter<AppState> {
    use handlers::*;
    OpenApiRouter::with_openapi(<openapi::ApiDoc as utoipa::OpenApi>::openapi())
        .routes(routes!(status))
        .routes(routes!(submit))
        .routes(routes!(submit_batch))
        .routes(routes!(transaction))
        .routes(routes!(latest_block))
        .routes(routes!(proofs::block))
        .routes(routes!(proofs::raw_block))
        .routes(routes!(orgs))
        .routes(routes!(org))
        .routes(routes!(key_info))
        .routes(routes!(order))
        .routes(routes!(shipment))
        .routes(routes!(warehouse_receipt))
        .routes(routes!(invoices_by_fingerprint))
        .routes(routes!(invoice))
        .routes(routes!(receivables))
        .routes(routes!(receivable))
        .routes(routes!(receivable_history))
        .routes(routes!(financing))
        .routes(routes!(offer))
        .routes(routes!(proofs::proof))
        .routes(routes!(proofs::epochs))
        .routes(routes!(events))
        .routes(routes!(evidence))
}

/// The OpenAPI document as JSON, for tests.
#[cfg(test)]
pub(crate) mod tests_support {
    /// The document `/openapi.json` serves.
    pub fn document() -> serde_json::Value {
        let doc = super::documented_routes().into_openapi();
        serde_json::to_value(doc).unwrap()
    }
}
