//! The node's HTTP API (axum, JSON, under `/v1`); see `docs/interfaces.md`.
//!
//! Reads go straight to the database (RocksDB is safe to read concurrently); writes go to
//! the node's event loop as commands. Every route but `/openapi.json` and `/metrics`
//! needs authentication.

pub mod approvals;
pub mod auth;
pub mod error;
pub mod governance;
pub mod handlers;
pub mod https;
pub mod limits;
pub mod lists;
pub mod loans;
pub mod metrics;
pub mod openapi;
pub mod overdue;
pub mod pricing;
pub mod programmes;
pub mod proofs;
pub mod sales;
pub mod snapshot;
pub mod steps;
pub mod visibility;

#[cfg(test)]
mod tests;

use std::sync::{Arc, RwLock};

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::{Json, Router};
use lianrong_contracts::{Event, Receipt};
use lianrong_primitives::{Hash, PublicKey};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::error::ApiError;
use crate::config::NodeConfig;
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
    /// Check a submission's signature with the others of its gossip window, then admit it
    /// to the mempool and gossip it (`crate::submissions`).
    Submit(crate::submissions::Submission),
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
    /// Signed requests already accepted, so that none is accepted twice.
    pub seen_requests: Arc<auth::SeenRequests>,
    /// The state snapshot served to joining nodes (`/v1/snapshot`).
    pub snapshots: Arc<snapshot::Exports>,
}

/// The router with every route, the body limit and request metrics. Routes are
/// registered through `utoipa_axum::routes!`, which reads each handler's
/// `#[utoipa::path]`: path, method and OpenAPI entry are written once, on the handler.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.api.max_body_bytes;
    let (routes, doc) = documented_routes().split_for_parts();
    let doc = Arc::new(doc);
    let api = routes
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .route("/metrics", get(metrics::render))
        .fallback(|| async { ApiError::not_found("this route (see /openapi.json)") })
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state);
    // Around the whole router, not its routes: axum adds a 405's `Allow` header after a
    // route's own layers ran, and the rewritten error should name the methods.
    Router::new()
        .fallback_service(api)
        .layer(axum::middleware::map_response(error::json_errors))
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
        .routes(routes!(lists::orgs))
        .routes(routes!(org))
        .routes(routes!(key_info))
        .routes(routes!(order))
        .routes(routes!(shipment))
        .routes(routes!(warehouse_receipt))
        .routes(routes!(invoices_by_fingerprint))
        .routes(routes!(invoice))
        .routes(routes!(lists::receivables))
        .routes(routes!(receivable))
        .routes(routes!(steps::receivable_history))
        .routes(routes!(financing))
        .routes(routes!(offer))
        .routes(routes!(settlement))
        .routes(routes!(proofs::proof))
        .routes(routes!(proofs::epochs))
        .routes(routes!(snapshot::manifest))
        .routes(routes!(snapshot::state_chunk))
        .routes(routes!(snapshot::history_chunk))
        .routes(routes!(events))
        .routes(routes!(lists::evidence))
        .routes(routes!(governance::proposals))
        .routes(routes!(governance::proposal))
        .routes(routes!(limits::limits))
        .routes(routes!(limits::limits_of))
        .routes(routes!(approvals::approvals))
        .routes(routes!(approvals::approval))
        .routes(routes!(programmes::programmes))
        .routes(routes!(programmes::programme))
        .routes(routes!(loans::loans))
        .routes(routes!(loans::loan))
        .routes(routes!(sales::sales))
        .routes(routes!(sales::sale))
}

/// The OpenAPI document as JSON, and the whole API over a genesis ledger, for tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use std::sync::{Arc, RwLock};

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::Router;
    use lianrong_contracts::model::Params;
    use lianrong_contracts::testkit;
    use tokio::sync::{broadcast, mpsc};
    use tower::ServiceExt;

    use super::{AppState, Command};
    use crate::config::NodeConfig;

    /// A node database (RocksDB in a temporary folder) whose genesis state is exactly
    /// `writes`: the API views' unit tests read documents from it as the node would.
    pub fn db_holding(
        writes: impl FnOnce(&lianrong_storage::Db) -> lianrong_contracts::state::Writes,
    ) -> (tempfile::TempDir, lianrong_storage::Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = lianrong_storage::Db::open(dir.path(), testkit::CHAIN_ID).unwrap();
        let writes = writes(&db);
        let changes = lianrong_contracts::merkle::compute_changes(&db, 0, writes).unwrap();
        db.apply_genesis(&changes).unwrap();
        (dir, db)
    }

    /// SUP-1 accepting order PO-1 at `nonce`, signed with its member key: a submission
    /// the API takes (whether the ledger would execute it does not matter to these tests).
    pub fn accept_order(nonce: u64) -> lianrong_contracts::SignedTransaction {
        use lianrong_contracts::{Action, Signer, Transaction};
        Transaction {
            chain_id: testkit::CHAIN_ID.into(),
            signer: Signer {
                org: testkit::org("SUP-1"),
                key: testkit::member_key("SUP-1").public(),
            },
            nonce,
            action: Action::AcceptOrder {
                order: testkit::doc("PO-1"),
            },
        }
        .sign(&testkit::member_key("SUP-1"))
    }

    /// [`db_holding`] the testkit's genesis ledger with `extra` written over it.
    pub fn genesis_db_with(
        extra: impl IntoIterator<Item = (Vec<u8>, Option<Vec<u8>>)>,
    ) -> (tempfile::TempDir, lianrong_storage::Db) {
        db_holding(|db| {
            let mut writes = testkit::genesis(Params::default())
                .changes(db)
                .unwrap()
                .values;
            writes.extend(extra);
            writes
        })
    }

    /// [`db_holding`] the whole state of a contracts test world (its history index
    /// aside: that lives beside the tree, not in it).
    pub fn db_of_world(w: &testkit::World) -> (tempfile::TempDir, lianrong_storage::Db) {
        use lianrong_contracts::state::Storage;
        let writes = w
            .store
            .scan_prefix(b"", usize::MAX)
            .unwrap()
            .into_iter()
            .filter(|(k, _)| !k.starts_with(b"hist/"))
            .map(|(k, v)| (k, Some(v)))
            .collect();
        db_holding(|_| writes)
    }

    /// The document `/openapi.json` serves.
    pub fn document() -> serde_json::Value {
        let doc = super::documented_routes().into_openapi();
        serde_json::to_value(doc).unwrap()
    }

    /// The API token of `org` in [`App`]'s config.
    pub fn token(org: &str) -> String {
        format!("token-of-{org}")
    }

    /// The node's API over the testkit's genesis ledger (RocksDB in a temporary folder),
    /// answering at `127.0.0.1:8080`, with a token for every org of the cast (see
    /// [`token`]) and a 64 KiB body limit. Nothing runs the node loop: a submission that
    /// passes the API's own checks waits for an answer that never comes.
    pub struct App {
        pub router: Router,
        pub state: AppState,
        _commands: mpsc::Receiver<Command>,
        _dir: tempfile::TempDir,
    }

    impl App {
        pub fn new() -> App {
            let dir = tempfile::tempdir().unwrap();
            let db = lianrong_storage::Db::open(dir.path().join("db"), testkit::CHAIN_ID).unwrap();
            let changes = testkit::genesis(Params::default()).changes(&db).unwrap();
            db.apply_genesis(&changes).unwrap();
            let tokens: String = testkit::CAST
                .iter()
                .map(|(org, ..)| {
                    let sha = lianrong_primitives::sha256(token(org).as_bytes());
                    format!("[[api.tokens]]\nsha256 = \"{sha}\"\norg = \"{org}\"\n")
                })
                .collect();
            let config = NodeConfig::parse(
                &format!(
                    "[node]\nname = \"test\"\ndata_dir = \"db\"\nnode_key = \"k\"\n\
                     genesis = \"g\"\n[p2p]\nlisten = \"/ip4/127.0.0.1/tcp/1\"\n\
                     [api]\nlisten = \"127.0.0.1:8080\"\nmax_body_bytes = 65536\n{tokens}"
                ),
                &dir.path().join("config.toml"),
            )
            .unwrap();
            let (commands, receiver) = mpsc::channel(16);
            let state = AppState {
                db: Arc::new(db),
                chain_id: testkit::CHAIN_ID.into(),
                config: Arc::new(config),
                commands,
                commits: broadcast::channel(16).0,
                status: Arc::new(RwLock::new(super::NodeStatus::default())),
                metrics: Arc::default(),
                seen_requests: Arc::default(),
                snapshots: Arc::new(super::snapshot::Exports::new(&dir.path().join("db"))),
            };
            App {
                router: super::router(state.clone()),
                state,
                _commands: receiver,
                _dir: dir,
            }
        }

        /// Sends `req` through the router: status and body (as JSON, `Null` if it is
        /// not JSON).
        pub async fn send(&self, req: Request<Body>) -> (StatusCode, serde_json::Value) {
            let resp = self.router.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap();
            (status, serde_json::from_slice(&bytes).unwrap_or_default())
        }

        /// `GET path` with `org`'s token.
        pub async fn get(&self, path: &str, org: &str) -> (StatusCode, serde_json::Value) {
            let req = Request::get(path)
                .header("authorization", format!("Bearer {}", token(org)))
                .body(Body::empty())
                .unwrap();
            self.send(req).await
        }

        /// The next command the API handed to the node loop (none answers them here).
        pub async fn next_command(&mut self) -> Option<Command> {
            self._commands.recv().await
        }
    }
}
