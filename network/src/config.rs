//! What the network layer needs to know: who we are, whom to dial, whom to let in, and
//! a limit for everything that can grow.

use std::time::Duration;

use lianrong_primitives::{PublicKey, SecretKey};
use libp2p::Multiaddr;

/// A peer this node dials, and keeps re-dialing (with back-off) whenever the link drops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddr {
    /// The peer's node key (from genesis); it must also be in [`NetworkConfig::allowed`].
    pub key: PublicKey,
    /// Where the peer listens, e.g. `/ip4/10.0.0.2/tcp/7000`.
    pub addr: Multiaddr,
}

/// Configuration of one node's network layer.
#[derive(Debug)]
pub struct NetworkConfig {
    /// The node key from genesis: also the node's libp2p identity.
    pub node_key: SecretKey,
    /// Address to listen on (`/ip4/0.0.0.0/tcp/7000`; port 0 picks a free one).
    pub listen: Multiaddr,
    /// Peers to dial and keep dialing (validators, usually).
    pub peers: Vec<PeerAddr>,
    /// Everyone allowed to connect: validators and declared full nodes. Any other peer is
    /// refused right after the Noise handshake reveals who it is.
    pub allowed: Vec<PublicKey>,
    /// Largest point-to-point (consensus) message, checked before any buffer is allocated.
    pub max_message_bytes: usize,
    /// Largest gossiped transaction payload.
    pub max_tx_bytes: usize,
    /// Queue sizes, connection limits, timeouts and back-off.
    pub limits: Limits,
}

impl NetworkConfig {
    /// A configuration with the default message sizes (4 MiB consensus, 32 KiB tx) and
    /// default [`Limits`].
    pub fn new(
        node_key: SecretKey,
        listen: Multiaddr,
        peers: Vec<PeerAddr>,
        allowed: Vec<PublicKey>,
    ) -> Self {
        Self {
            node_key,
            listen,
            peers,
            allowed,
            max_message_bytes: 4 * 1024 * 1024,
            max_tx_bytes: 32 * 1024,
            limits: Limits::default(),
        }
    }
}

/// Every bound of the network layer in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Established connections in total (all peers together).
    pub max_connections: u32,
    /// Peers the allow list may hold: the configured ones plus those admitted later
    /// (validators added by governance). Bounds every map keyed by peer.
    pub max_allowed_peers: usize,
    /// Established connections to one peer. 2, not 1: when two peers dial each other at
    /// the same moment both connections must be able to complete.
    pub max_connections_per_peer: u32,
    /// Incoming connections still in the handshake (before the peer is known). Bounds
    /// what an unknown dialer can make us spend.
    pub max_pending_incoming: u32,
    /// Outgoing connections still being set up.
    pub max_pending_outgoing: u32,
    /// Commands from [`super::NetworkHandle`]s waiting for the network task; callers wait
    /// (async) when it is full.
    pub command_queue: usize,
    /// Events waiting for the node; when full, new events are dropped and counted
    /// (see [`super::NetStats::events_dropped`]).
    pub event_queue: usize,
    /// Point-to-point messages to one peer that are sent but not yet acknowledged; more
    /// are dropped and counted rather than queued without bound inside libp2p.
    pub max_in_flight_per_peer: usize,
    /// Concurrent request-response streams per connection (inbound + outbound).
    pub max_streams_per_connection: usize,
    /// Yamux streams per connection (all protocols).
    pub max_yamux_streams: usize,
    /// Gossipsub messages queued per connection.
    pub gossip_queue: usize,
    /// Messages (transactions) allowed in one gossipsub RPC (`max_messages_per_rpc`).
    pub max_txs_per_rpc: usize,
    /// How long a point-to-point message may take to arrive and be acknowledged.
    pub request_timeout: Duration,
    /// A connection no protocol needs is closed after this long. Long on purpose: links
    /// between validators must not idle out between blocks.
    pub idle_connection_timeout: Duration,
    /// Misbehaviours (oversize or malformed frames, rejected transactions, penalties
    /// reported by the node) after which a peer is disconnected and banned.
    pub strikes_before_ban: u32,
    /// How long a banned peer stays refused. Short on purpose: every peer is
    /// allow-listed, most are validators, and a validator wrongly banned by two others
    /// takes the quorum with it; a Byzantine one that misbehaves again is banned again.
    pub ban_duration: Duration,
    /// Strikes are forgotten after this long without a new one.
    pub strike_memory: Duration,
    /// First delay before re-dialing a configured peer that dropped or failed.
    pub redial_initial: Duration,
    /// Cap of the exponential re-dial back-off. Small: the peers kept connected are a
    /// handful of allow-listed validators, a dial to a down one costs a refused TCP
    /// connect, and after a partition heals the link comes back no later than this (the
    /// fault harness saw 6-8 s recoveries after 10 s partitions with a 30 s cap).
    pub redial_max: Duration,
    /// A connection that lasted this long resets the back-off; one that drops sooner
    /// (e.g. the peer refuses us) keeps doubling it.
    pub stable_connection: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 256,
            max_allowed_peers: 1024,
            max_connections_per_peer: 2,
            max_pending_incoming: 64,
            max_pending_outgoing: 64,
            command_queue: 1024,
            event_queue: 4096,
            max_in_flight_per_peer: 256,
            max_streams_per_connection: 128,
            max_yamux_streams: 256,
            gossip_queue: 2048,
            max_txs_per_rpc: 128,
            request_timeout: Duration::from_secs(10),
            idle_connection_timeout: Duration::from_secs(24 * 60 * 60),
            strikes_before_ban: 3,
            ban_duration: Duration::from_secs(30),
            strike_memory: Duration::from_secs(10 * 60),
            redial_initial: Duration::from_millis(500),
            redial_max: Duration::from_secs(3),
            stable_connection: Duration::from_secs(10),
        }
    }
}
