//! `/metrics` in the Prometheus text format (`prometheus-client`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
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
    /// The mempool's `max_txs`: with `mempool` it tells how full the mempool is.
    pub mempool_capacity: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Votes a certificate of the current validator set needs (`n - f`).
    pub quorum: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Validators of the current set this node hears: connected peers in the set, plus
    /// itself if it is one. Below `quorum` no block can be finalized with this node.
    pub validators_reachable: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Bytes an unprivileged writer may still use on the data directory's filesystem
    /// (refreshed by [`watch_disk`]).
    pub data_dir_free_bytes: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Size of the data directory's filesystem in bytes (refreshed by [`watch_disk`]).
    pub data_dir_size_bytes: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// `[memory] budget_mib` in bytes: with the process's resident memory it tells how
    /// far the node is over what its budget sizes.
    pub memory_budget_bytes: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// When the certificate the API serves expires (see
    /// [`Metrics::set_tls_certificate_expiry`]).
    tls_expiry: Arc<TlsExpiry>,
    /// The database whose memory `/metrics` reports (see [`Metrics::watch_storage`]).
    storage: Arc<StorageMemory>,
    /// The network whose counters `/metrics` reports (see [`Metrics::watch_network`]).
    network: Arc<NetworkCounters>,
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
            mempool_capacity: Gauge::default(),
            quorum: Gauge::default(),
            validators_reachable: Gauge::default(),
            data_dir_free_bytes: Gauge::default(),
            data_dir_size_bytes: Gauge::default(),
            memory_budget_bytes: Gauge::default(),
            tls_expiry: Arc::default(),
            storage: Arc::default(),
            network: Arc::default(),
            registry: Registry::default(),
        };
        m.register_operations(&mut registry);
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

impl Metrics {
    /// Registers what operators alert on beyond the consensus and transaction counters
    /// (`network-configs/monitoring/rules.yml`): capacity, quorum, disk and certificate.
    fn register_operations(&self, registry: &mut Registry) {
        registry.register(
            "mempool_capacity_transactions",
            "Most transactions the mempool holds (mempool.max_txs)",
            self.mempool_capacity.clone(),
        );
        registry.register(
            "quorum",
            "Votes a certificate of the current validator set needs (n - f)",
            self.quorum.clone(),
        );
        registry.register(
            "validators_reachable",
            "Validators of the current set this node hears, itself included if it is one",
            self.validators_reachable.clone(),
        );
        registry.register(
            "data_dir_free_bytes",
            "Bytes still available to the node on its data directory's filesystem",
            self.data_dir_free_bytes.clone(),
        );
        registry.register(
            "data_dir_size_bytes",
            "Size of the data directory's filesystem in bytes",
            self.data_dir_size_bytes.clone(),
        );
        registry.register(
            "memory_budget_bytes",
            "The memory budget the node sizes its caches, memtables and mempool by",
            self.memory_budget_bytes.clone(),
        );
        registry.register_collector(Box::new(ProcessMemory));
        registry.register_collector(Box::new(HeapMemory));
        registry.register_collector(Box::new(MallocMemory));
        registry.register_collector(Box::new(self.storage.clone()));
        registry.register_collector(Box::new(self.network.clone()));
        registry.register_collector(Box::new(self.tls_expiry.clone()));
    }

    /// Records when the certificate the API serves expires (seconds since the Unix
    /// epoch, its `notAfter`); for the TLS set-up to call whenever it loads a
    /// certificate. Until then `lianrong_tls_certificate_expiry_seconds` has no sample,
    /// so a node serving plain HTTP never raises a certificate alert.
    pub fn set_tls_certificate_expiry(&self, unix_seconds: i64) {
        self.tls_expiry.set(unix_seconds);
    }

    /// Reports `db`'s memory from now on (the first database named counts; the node
    /// has one). Held weakly: the metrics never keep a stopped node's database open.
    pub fn watch_storage(&self, db: &Arc<lianrong_storage::Db>) {
        let _ = self.storage.db.set(Arc::downgrade(db));
    }

    /// Reports the network's counters from now on (the first network named counts).
    pub fn watch_network(&self, stats: lianrong_network::StatsReader) {
        let _ = self.network.stats.set(stats);
    }

    /// Records the free and total space of the data directory's filesystem.
    fn record_disk(&self, space: DiskSpace) {
        self.data_dir_free_bytes
            .set(saturating_i64(space.available));
        self.data_dir_size_bytes.set(saturating_i64(space.total));
    }
}

fn saturating_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// `lianrong_tls_certificate_expiry_seconds`: computed at each scrape from the stored
/// `notAfter`, so it counts down without anyone refreshing it.
#[derive(Debug, Default)]
struct TlsExpiry {
    /// `notAfter` in Unix seconds; [`TlsExpiry::UNSET`] until TLS records one.
    not_after: AtomicI64,
}

impl TlsExpiry {
    /// No certificate recorded (0 would read as "expired in 1970").
    const UNSET: i64 = 0;

    fn set(&self, unix_seconds: i64) {
        // A certificate expiring at the epoch itself is no certificate at all.
        self.not_after
            .store(unix_seconds.max(Self::UNSET + 1), Ordering::Relaxed);
    }

    /// Seconds until expiry (negative once expired), if a certificate was recorded.
    fn seconds_left(&self, now_unix: i64) -> Option<i64> {
        let not_after = self.not_after.load(Ordering::Relaxed);
        (not_after != Self::UNSET).then(|| not_after.saturating_sub(now_unix))
    }
}

impl Collector for TlsExpiry {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        // The family is always described, so its name is visibly part of what the node
        // exports; it has a sample only once a certificate was recorded.
        let metric = encoder.encode_descriptor(
            "tls_certificate_expiry_seconds",
            "Seconds until the certificate the API serves expires",
            None,
            MetricType::Gauge,
        )?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| saturating_i64(d.as_secs()));
        match self.seconds_left(now) {
            Some(left) => ConstGauge::new(left).encode(metric),
            None => Ok(()),
        }
    }
}

/// `lianrong_process_resident_memory_bytes` and `..._peak_bytes`: the process's resident
/// memory now and at its highest, read from `/proc/self/status` at each scrape (what an
/// OOM killer or a systemd `MemoryMax` judges; the budget sizes only part of it). Off
/// Linux the families are described without samples.
#[derive(Debug)]
struct ProcessMemory;

impl ProcessMemory {
    /// `VmRSS` and `VmHWM` in bytes, if the system has `/proc`.
    fn read() -> Option<(u64, u64)> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        Some((
            status_kib(&status, "VmRSS:")?.saturating_mul(1024),
            status_kib(&status, "VmHWM:")?.saturating_mul(1024),
        ))
    }
}

/// The value of a `/proc/<pid>/status` line such as `VmRSS:\t  123456 kB`.
fn status_kib(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix(field))?;
    line.trim().strip_suffix("kB")?.trim().parse().ok()
}

impl Collector for ProcessMemory {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let now = ProcessMemory::read();
        let families = [
            (
                "process_resident_memory_bytes",
                "Resident memory of the node's process",
                now.map(|m| m.0),
            ),
            (
                "process_resident_memory_peak_bytes",
                "Highest resident memory of the node's process since it started",
                now.map(|m| m.1),
            ),
        ];
        encode_gauges(&mut encoder, families)
    }
}

/// `lianrong_network_*_total`: what the peer-to-peer layer refused, dropped or did not
/// relay since the start (`lianrong_network::NetStats`), read at each scrape once
/// [`Metrics::watch_network`] named the network; described without samples before.
#[derive(Debug, Default)]
struct NetworkCounters {
    stats: std::sync::OnceLock<lianrong_network::StatsReader>,
}

impl Collector for NetworkCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self.stats.get().map(lianrong_network::StatsReader::stats);
        let families: [(&str, &str, Option<u64>); 8] = [
            ("network_strikes", "Misbehaviours counted against peers (bad frames, invalid transactions)", s.map(|s| s.strikes)),
            ("network_bans", "Peers banned for a while after too many strikes", s.map(|s| s.bans)),
            ("network_refused_connections", "Connections refused: peer not allowed, banned, or over a limit", s.map(|s| s.refused)),
            ("network_events_dropped", "Network events dropped because the node's event queue was full", s.map(|s| s.events_dropped)),
            ("network_sends_dropped", "Consensus messages not sent: peer not connected, or too many in flight", s.map(|s| s.sends_dropped)),
            ("network_transport_faults", "Inbound consensus streams abandoned mid-frame (timeouts, closed connections)", s.map(|s| s.transport_faults)),
            ("network_gossip_dropped", "Transaction bundles a slow peer's send queue had no room for", s.map(|s| s.gossip_dropped)),
            ("network_gossip_not_relayed", "Transaction bundles received and not relayed: their origin had sent them to every peer this node has", s.map(|s| s.gossip_not_relayed)),
        ];
        encode_families(&mut encoder, MetricType::Counter, families)
    }
}

/// Gauge families, each described always and sampled when its figure could be read (off
/// Linux, before the allocator or the database is named, the family has no sample).
fn encode_gauges(
    encoder: &mut DescriptorEncoder,
    families: [(&str, &str, Option<u64>); 2],
) -> Result<(), std::fmt::Error> {
    encode_families(encoder, MetricType::Gauge, families)
}

/// Families of one type (gauges or counters), each described always and sampled when its
/// figure could be read.
fn encode_families<'a>(
    encoder: &mut DescriptorEncoder,
    kind: MetricType,
    families: impl IntoIterator<Item = (&'a str, &'a str, Option<u64>)>,
) -> Result<(), std::fmt::Error> {
    for (name, help, value) in families {
        let metric = encoder.encode_descriptor(name, help, None, kind)?;
        match (value, kind) {
            (None, _) => {}
            (Some(v), MetricType::Counter) => ConstCounter::new(v).encode(metric)?,
            (Some(v), _) => ConstGauge::new(saturating_i64(v)).encode(metric)?,
        }
    }
    Ok(())
}

/// What the allocator of the node's Rust code reports (jemalloc in the `lianrong` binary;
/// RocksDB's C++ allocations are not in it: `lianrong_storage_memory_bytes` shows what
/// the database holds), so the Rust heap splits into what the program holds and what the
/// allocator keeps after frees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapStats {
    /// Bytes in live allocations.
    pub allocated: u64,
    /// Bytes of the allocator's pages resident in memory: live allocations, freed
    /// memory not yet returned to the system, and the allocator's own metadata.
    pub resident: u64,
}

/// Reads the allocator's figures; `None` when they cannot be read now.
pub type HeapReader = fn() -> Option<HeapStats>;

/// The process's allocator reader, set once by the binary that chose the allocator (a
/// library cannot know it: the node's tests run under the system allocator).
static HEAP_READER: std::sync::OnceLock<HeapReader> = std::sync::OnceLock::new();

/// Names how `/metrics` reads the process's allocator (`lianrong_heap_*_bytes`). The
/// first call counts: there is one allocator per process.
pub fn set_heap_reader(reader: HeapReader) {
    let _ = HEAP_READER.set(reader);
}

/// `lianrong_heap_allocated_bytes` and `lianrong_heap_resident_bytes`, read from the
/// allocator at each scrape once [`set_heap_reader`] named it; described without samples
/// otherwise.
#[derive(Debug)]
struct HeapMemory;

impl Collector for HeapMemory {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let now = HEAP_READER.get().and_then(|read| read());
        let families = [
            (
                "heap_allocated_bytes",
                "Bytes the node's Rust code holds in live allocations (RocksDB's not included)",
                now.map(|h| h.allocated),
            ),
            (
                "heap_resident_bytes",
                "Bytes of the allocator's resident pages (live, freed but kept, metadata)",
                now.map(|h| h.resident),
            ),
        ];
        encode_gauges(&mut encoder, families)
    }
}

/// `lianrong_malloc_in_use_bytes` and `lianrong_malloc_free_bytes`: glibc's `malloc`,
/// which serves RocksDB's C++ (its block cache, memtables and buffers), read at each
/// scrape (`crate::glibc_malloc::heap_bytes`); described without samples where the C
/// library is not glibc. What is free inside its heaps stays resident until the
/// `malloc-trim` thread gives it back (node/src/glibc_malloc.rs).
#[derive(Debug)]
struct MallocMemory;

impl Collector for MallocMemory {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let glibc = cfg!(all(target_os = "linux", target_env = "gnu"));
        let now = glibc.then(crate::glibc_malloc::heap_bytes);
        let families = [
            (
                "malloc_in_use_bytes",
                "Bytes RocksDB's C++ holds in glibc's malloc (block cache, memtables, buffers)",
                now.map(|h| h.in_use as u64),
            ),
            (
                "malloc_free_bytes",
                "Bytes free inside glibc's heaps, resident until trimmed",
                now.map(|h| h.free as u64),
            ),
        ];
        encode_gauges(&mut encoder, families)
    }
}

/// `lianrong_storage_memory_bytes{part}`, `lianrong_tree_node_cache_nodes` and
/// `lianrong_tree_leaf_cache_leaves`: what the
/// database holds in memory, read at each scrape once [`Metrics::watch_storage`] named the
/// database -- the parts the memory budget sizes, and the table readers it does not, so
/// an operator (and the bench) can tell which part of the process's memory grew; and
/// `lianrong_tree_node_reads_total{from}` and `lianrong_state_reads_total{from}`, lookups
/// answered by the node cache or the state cache, or by the database: whether the
/// budget's shares for the caches fit what is read.
#[derive(Debug, Default)]
struct StorageMemory {
    db: std::sync::OnceLock<std::sync::Weak<lianrong_storage::Db>>,
}

impl Collector for StorageMemory {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let db = self.db.get().and_then(std::sync::Weak::upgrade);
        let usage = db.as_ref().and_then(|db| db.memory_usage().ok());
        let reads = db.as_ref().map(|db| (db.node_reads(), db.state_reads()));
        // Held no longer than the reads: the metrics never keep the database open.
        drop(db);
        let mut bytes = encoder.encode_descriptor(
            "storage_memory_bytes",
            "What the database holds in memory, by part (block_cache includes block_cache_pinned)",
            None,
            MetricType::Gauge,
        )?;
        if let Some(u) = usage {
            for (part, value) in [
                ("block_cache", u.block_cache_bytes),
                ("block_cache_pinned", u.block_cache_pinned_bytes),
                ("memtables", u.memtables_bytes),
                ("table_readers", u.table_readers_bytes),
                ("state_cache", u.state_cache_bytes),
            ] {
                let labels: &[(&str, &str)] = &[("part", part)];
                ConstGauge::new(saturating_i64(value)).encode(bytes.encode_family(&labels)?)?;
            }
        }
        let caches = [
            (
                "tree_node_cache_nodes",
                "Merkle tree nodes in the node cache",
                usage.map(|u| u.node_cache_nodes),
            ),
            (
                "tree_leaf_cache_leaves",
                "Merkle tree leaves in the node cache (kept apart from the internal nodes)",
                usage.map(|u| u.leaf_cache_leaves),
            ),
        ];
        encode_gauges(&mut encoder, caches)?;
        for (name, help, r) in [
            (
                "tree_node_reads",
                "Merkle tree node lookups since the start, by where they were answered",
                reads.map(|(nodes, _)| nodes),
            ),
            (
                "state_reads",
                "Lookups of the latest state's values since the start, by where they were answered",
                reads.map(|(_, state)| state),
            ),
        ] {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            if let Some(r) = r {
                for (from, value) in [("cache", r.cached), ("disk", r.from_disk)] {
                    let labels: &[(&str, &str)] = &[("from", from)];
                    ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        Ok(())
    }
}

/// Space on one filesystem, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    /// Available to an unprivileged writer (what RocksDB, not run as root, can use).
    pub available: u64,
    /// The filesystem's size.
    pub total: u64,
}

/// The space of the filesystem holding `dir` (`statvfs`).
// The block counts are `u32` on 32-bit targets: `u64::from` is needed there.
#[allow(clippy::useless_conversion)]
pub fn disk_space(dir: &Path) -> Result<DiskSpace, nix::Error> {
    let st = nix::sys::statvfs::statvfs(dir)?;
    let unit = u64::from(st.fragment_size());
    Ok(DiskSpace {
        available: u64::from(st.blocks_available()).saturating_mul(unit),
        total: u64::from(st.blocks()).saturating_mul(unit),
    })
}

/// How often [`watch_disk`] looks again: a few scrapes' worth, and a filesystem does
/// not fill from 10 % in 15 s.
pub const DISK_REFRESH: Duration = Duration::from_secs(15);

/// Refreshes the data directory gauges every [`DISK_REFRESH`] until `metrics` is dropped
/// (the node stopped) or the task is aborted. `statvfs` runs off the async threads (a
/// hung network filesystem must not stall the API).
pub fn watch_disk(metrics: &Arc<Metrics>, dir: PathBuf) -> tokio::task::JoinHandle<()> {
    let metrics = Arc::downgrade(metrics);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(DISK_REFRESH);
        let mut warned = false;
        loop {
            tick.tick().await;
            let Some(metrics) = metrics.upgrade() else {
                return;
            };
            let d = dir.clone();
            match tokio::task::spawn_blocking(move || disk_space(&d)).await {
                Ok(Ok(space)) => metrics.record_disk(space),
                Ok(Err(e)) if !warned => {
                    warned = true;
                    tracing::warn!(dir = %dir.display(), error = %e,
                        "cannot read the data directory's free space");
                }
                Ok(Err(_)) | Err(_) => {}
            }
        }
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(m: &Metrics) -> String {
        let mut out = String::new();
        encode(&mut out, &m.registry).unwrap();
        out
    }

    fn sample<'a>(text: &'a str, name: &str) -> Option<&'a str> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
    }

    #[test]
    fn the_certificate_expiry_is_described_but_has_no_sample_until_tls_sets_it() {
        let m = Metrics::default();
        let name = "lianrong_tls_certificate_expiry_seconds";
        let before = scrape(&m);
        assert!(before.contains(&format!("# TYPE {name} gauge")), "{before}");
        assert_eq!(sample(&before, name), None, "{before}");

        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        m.set_tls_certificate_expiry(now + 30 * 86_400);
        let left: i64 = sample(&scrape(&m), name).unwrap().parse().unwrap();
        assert!((30 * 86_400 - 5..=30 * 86_400).contains(&left), "{left}");

        m.set_tls_certificate_expiry(now - 60);
        let left: i64 = sample(&scrape(&m), name).unwrap().parse().unwrap();
        assert!(left < 0, "an expired certificate counts below zero: {left}");
    }

    /// The network's counters are described from the start and read from the running
    /// network once it is named.
    #[tokio::test]
    async fn the_network_counters_are_exported_once_the_network_is_named() {
        let m = Metrics::default();
        let names = [
            "strikes",
            "bans",
            "refused_connections",
            "events_dropped",
            "sends_dropped",
            "transport_faults",
            "gossip_dropped",
            "gossip_not_relayed",
        ]
        .map(|n| format!("lianrong_network_{n}_total"));
        let before = scrape(&m);
        for name in &names {
            assert_eq!(sample(&before, name), None, "{before}");
            let family = name.trim_end_matches("_total");
            assert!(
                before.contains(&format!("# TYPE {family} counter")),
                "{before}"
            );
        }
        let key = lianrong_primitives::SecretKey::from_seed([7; 32]);
        let listen = "/ip4/127.0.0.1/tcp/0".parse().unwrap();
        let config = lianrong_network::NetworkConfig::new(key, listen, vec![], vec![]);
        let (net, _events) = lianrong_network::spawn(config).unwrap();
        m.watch_network(net.stats_reader());
        let after = scrape(&m);
        for name in &names {
            assert_eq!(sample(&after, name), Some("0"), "{after}");
        }
        net.shutdown().await.unwrap();
    }

    #[test]
    fn the_operations_gauges_are_exported() {
        let m = Metrics::default();
        m.record_disk(DiskSpace {
            available: 10,
            total: 100,
        });
        m.mempool_capacity.set(50_000);
        let text = scrape(&m);
        assert_eq!(sample(&text, "lianrong_data_dir_free_bytes"), Some("10"));
        assert_eq!(sample(&text, "lianrong_data_dir_size_bytes"), Some("100"));
        assert_eq!(
            sample(&text, "lianrong_mempool_capacity_transactions"),
            Some("50000")
        );
        for name in ["lianrong_quorum", "lianrong_validators_reachable"] {
            assert!(sample(&text, name).is_some(), "{name} missing:\n{text}");
        }
    }

    /// An operator compares the node's memory with its budget and its limit: all three
    /// are exported, and the process figures are this process's own (/proc).
    #[test]
    fn resident_memory_and_the_budget_are_exported() {
        let m = Metrics::default();
        m.memory_budget_bytes.set(192 << 20);
        let text = scrape(&m);
        assert_eq!(
            sample(&text, "lianrong_memory_budget_bytes"),
            Some("201326592")
        );
        let (now, peak) = ProcessMemory::read().expect("this test runs on Linux");
        let exported = |name| -> u64 { sample(&text, name).unwrap().parse().unwrap() };
        let resident = exported("lianrong_process_resident_memory_bytes");
        let highest = exported("lianrong_process_resident_memory_peak_bytes");
        // A test process holds megabytes, not bytes or terabytes; the peak is a peak.
        assert!((1 << 20..1 << 40).contains(&resident), "{resident}");
        assert!(highest >= resident, "peak {highest} < resident {resident}");
        assert!(now > 0 && peak >= now);
        assert_eq!(status_kib("VmRSS:\t  123456 kB\n", "VmRSS:"), Some(123_456));
        assert_eq!(status_kib("VmRSS:\t  lots\n", "VmRSS:"), None);
    }

    /// The allocator's figures are exported once the binary names its reader, read fresh
    /// at each scrape; before that the families are described without samples.
    #[test]
    fn the_allocators_figures_are_exported_once_named() {
        static CALLS: AtomicU64 = AtomicU64::new(0);
        fn reader() -> Option<HeapStats> {
            let n = CALLS.fetch_add(1, Ordering::SeqCst);
            Some(HeapStats {
                allocated: 1000 + n,
                resident: 5000 + n,
            })
        }
        let m = Metrics::default();
        let text = scrape(&m);
        assert!(
            text.contains("# TYPE lianrong_heap_allocated_bytes gauge"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE lianrong_heap_resident_bytes gauge"),
            "{text}"
        );
        assert_eq!(sample(&text, "lianrong_heap_allocated_bytes"), None);
        set_heap_reader(reader);
        let first = scrape(&m);
        let second = scrape(&m);
        let read = |text: &str, name| -> u64 { sample(text, name).unwrap().parse().unwrap() };
        let allocated = read(&first, "lianrong_heap_allocated_bytes");
        assert!(allocated >= 1000, "{first}");
        assert_eq!(
            read(&first, "lianrong_heap_resident_bytes"),
            allocated + 4000
        );
        assert!(read(&second, "lianrong_heap_allocated_bytes") > allocated);
    }

    /// glibc's figures are read at each scrape: RocksDB's side of the process, and what
    /// glibc keeps free inside its heaps.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibcs_malloc_figures_are_exported() {
        let m = Metrics::default();
        let dir = tempfile::tempdir().unwrap();
        // A database allocates its cache and memtables from glibc.
        let _db = lianrong_storage::Db::open(dir.path(), "c").unwrap();
        let text = scrape(&m);
        assert!(
            text.contains("# TYPE lianrong_malloc_in_use_bytes gauge"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE lianrong_malloc_free_bytes gauge"),
            "{text}"
        );
        let read = |name| -> u64 { sample(&text, name).unwrap().parse().unwrap() };
        assert!(read("lianrong_malloc_in_use_bytes") > 0, "{text}");
        let _free = read("lianrong_malloc_free_bytes");
    }

    /// Which part of the node's memory grew: the database's parts are exported once the
    /// node names its database, read fresh at each scrape, and never keep it open.
    #[test]
    fn the_databases_memory_is_exported_by_part_while_it_is_open() {
        let m = Metrics::default();
        let text = scrape(&m);
        assert!(text.contains("# TYPE lianrong_storage_memory_bytes gauge"));
        assert!(!text.contains("lianrong_storage_memory_bytes{"), "{text}");
        assert_eq!(sample(&text, "lianrong_tree_node_cache_nodes"), None);
        assert_eq!(sample(&text, "lianrong_tree_leaf_cache_leaves"), None);

        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(lianrong_storage::Db::open(dir.path(), "c").unwrap());
        m.watch_storage(&db);
        let text = scrape(&m);
        let part = |p: &str| -> u64 {
            let name = format!("lianrong_storage_memory_bytes{{part=\"{p}\"}}");
            sample(&text, &name)
                .unwrap_or_else(|| panic!("{name} in {text}"))
                .parse()
                .unwrap()
        };
        // Fifteen empty memtables' fixed cost (bloom filters, first arena blocks).
        assert!(part("memtables") >= 1 << 20, "{text}");
        assert_eq!(
            part("memtables"),
            db.memory_usage().unwrap().memtables_bytes
        );
        assert!(part("block_cache_pinned") <= part("block_cache"));
        part("table_readers");
        assert_eq!(
            part("state_cache"),
            db.memory_usage().unwrap().state_cache_bytes
        );
        assert_eq!(sample(&text, "lianrong_tree_node_cache_nodes"), Some("0"));
        assert_eq!(sample(&text, "lianrong_tree_leaf_cache_leaves"), Some("0"));
        for family in ["tree_node_reads", "state_reads"] {
            for from in ["cache", "disk"] {
                let name = format!("lianrong_{family}_total{{from=\"{from}\"}}");
                assert_eq!(sample(&text, &name), Some("0"), "{text}");
            }
        }

        drop(db);
        let text = scrape(&m);
        assert!(!text.contains("lianrong_storage_memory_bytes{"), "{text}");
    }

    #[test]
    fn disk_space_reads_the_filesystem_and_names_a_missing_folder() {
        let dir = tempfile::tempdir().unwrap();
        let space = disk_space(dir.path()).unwrap();
        assert!(
            space.total > 0 && space.available <= space.total,
            "{space:?}"
        );
        assert!(disk_space(&dir.path().join("absent")).is_err());
    }

    #[tokio::test]
    async fn the_disk_watch_fills_the_gauges_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let m = Arc::new(Metrics::default());
        let task = watch_disk(&m, dir.path().to_owned());
        for _ in 0..100 {
            if m.data_dir_size_bytes.get() > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        task.abort();
        assert!(m.data_dir_size_bytes.get() > 0);
    }
}
