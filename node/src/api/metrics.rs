//! `/metrics` in the Prometheus text format (`prometheus-client`).

use std::sync::atomic::AtomicU64;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::error::ApiError;
use super::AppState;

/// The node's metrics.
pub struct Metrics {
    registry: Registry,
    /// Latest finalized height.
    pub height: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Transactions executed (accepted or refused by the contracts).
    pub committed_txs: Counter<u64, AtomicU64>,
    /// Transactions refused at admission (bad signature, stale nonce, full, ...).
    pub rejected_txs: Counter<u64, AtomicU64>,
    /// Transactions waiting in the mempool.
    pub mempool: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Connected peers.
    pub peers: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Seconds from admission to finality of transactions this node admitted.
    pub finality_seconds: Histogram,
    /// Consensus messages refused (bad signature, malformed, ...).
    pub rejected_messages: Counter<u64, AtomicU64>,
    /// Gossip chores dropped because too many were in flight.
    pub dropped_gossip: Counter<u64, AtomicU64>,
    /// Round timeouts this node broadcast (a round given up on, or the same round
    /// announced again while no quorum answers): rising with a flat height means no
    /// quorum.
    pub round_timeouts: Counter<u64, AtomicU64>,
    /// Equivocations (two proposals or two votes for one round) seen from validators.
    pub equivocations: Counter<u64, AtomicU64>,
    /// 1 once a finalized block certified a state this node did not compute (consensus
    /// stopped on this node; see `/v1/status`).
    pub divergence: Gauge<i64, std::sync::atomic::AtomicI64>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("lianrong");
        let m = Metrics {
            height: Gauge::default(),
            committed_txs: Counter::default(),
            rejected_txs: Counter::default(),
            mempool: Gauge::default(),
            peers: Gauge::default(),
            finality_seconds: Histogram::new([0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0]),
            rejected_messages: Counter::default(),
            dropped_gossip: Counter::default(),
            round_timeouts: Counter::default(),
            equivocations: Counter::default(),
            divergence: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register("height", "Latest finalized block height", m.height.clone());
        registry.register(
            "equivocations",
            "Equivocations seen from validators (evidence at /v1/evidence)",
            m.equivocations.clone(),
        );
        registry.register(
            "state_divergence",
            "1 when a finalized block certified a state this node did not compute",
            m.divergence.clone(),
        );
        registry.register(
            "round_timeouts",
            "Round timeouts this node broadcast (new or repeated)",
            m.round_timeouts.clone(),
        );
        registry.register(
            "committed_transactions",
            "Transactions executed in finalized blocks",
            m.committed_txs.clone(),
        );
        registry.register(
            "rejected_transactions",
            "Transactions refused at admission",
            m.rejected_txs.clone(),
        );
        registry.register(
            "mempool_transactions",
            "Transactions waiting in the mempool",
            m.mempool.clone(),
        );
        registry.register("peers", "Connected peers", m.peers.clone());
        registry.register(
            "finality_seconds",
            "Admission-to-finality latency of local transactions",
            m.finality_seconds.clone(),
        );
        registry.register(
            "rejected_consensus_messages",
            "Consensus messages refused",
            m.rejected_messages.clone(),
        );
        registry.register(
            "dropped_gossip_chores",
            "Transaction gossip chores dropped under overload",
            m.dropped_gossip.clone(),
        );
        Metrics { registry, ..m }
    }
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let mut out = String::new();
    encode(&mut out, &state.metrics.registry).map_err(ApiError::internal)?;
    Ok((
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    ))
}
