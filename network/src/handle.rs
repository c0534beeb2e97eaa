//! The node's side of the network: a cheap, cloneable [`NetworkHandle`] that sends
//! commands over a bounded channel, and the [`NetEvent`]s the node receives.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use lianrong_primitives::{Hash, PublicKey};
use libp2p::{gossipsub::MessageAcceptance, Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};

use super::NetworkError;

/// Id of a gossiped transaction: SHA-256 of its bytes (gossipsub ids are content
/// addressed, so the same transaction relayed by two peers is delivered once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TxId(pub Hash);

/// What the network tells the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// A point-to-point (consensus) message, at most `max_message_bytes` long. Not yet
    /// decoded: the node decodes it strictly and calls [`NetworkHandle::penalize`] if
    /// that fails.
    Consensus {
        /// Sender's node key (authenticated by Noise).
        from: PublicKey,
        /// The message.
        bytes: Vec<u8>,
    },
    /// A gossiped transaction. It is held (not forwarded) until the node calls
    /// [`NetworkHandle::report_tx`] with this `id` and `from`.
    Transaction {
        /// The peer that relayed it to us (the one to blame if it is invalid).
        from: PublicKey,
        /// Its id.
        id: TxId,
        /// The transaction bytes, at most `max_tx_bytes` long.
        bytes: Vec<u8>,
    },
    /// First connection to an allowed peer is up.
    PeerConnected(PublicKey),
    /// Last connection to a peer closed.
    PeerDisconnected(PublicKey),
    /// A connection was refused after the handshake: the peer is not allowed, banned, or
    /// over a connection limit.
    PeerRefused {
        /// Who tried.
        peer: PeerId,
        /// Why it was refused.
        reason: String,
    },
    /// A peer misbehaved too often and was disconnected; it is refused until the ban ends.
    PeerBanned {
        /// The banned peer.
        peer: PublicKey,
        /// The last misbehaviour.
        reason: String,
    },
    /// The node listens on this address (useful when the configured port was 0).
    Listening(Multiaddr),
}

/// Counters of what the network dropped or refused, readable at any time.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub events_dropped: AtomicU64,
    pub sends_dropped: AtomicU64,
    pub strikes: AtomicU64,
    pub bans: AtomicU64,
    pub refused: AtomicU64,
    pub transport_faults: AtomicU64,
    pub gossip_dropped: AtomicU64,
    pub gossip_not_relayed: AtomicU64,
}

/// A snapshot of the network's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetStats {
    /// Events dropped because the node's event queue was full.
    pub events_dropped: u64,
    /// Point-to-point messages dropped: peer not connected, or too many in flight.
    pub sends_dropped: u64,
    /// Misbehaviours counted against peers.
    pub strikes: u64,
    /// Bans imposed.
    pub bans: u64,
    /// Connections refused (not allowed, banned, or over a limit).
    pub refused: u64,
    /// Inbound consensus streams their sender abandoned mid-frame (timeouts, closed
    /// connections): transport faults, not counted against anyone.
    pub transport_faults: u64,
    /// Gossip messages (transactions relayed) that a slow peer's send queue had no room
    /// for: under load the relay is best effort, every validator still gets the
    /// transaction from its proposer's block.
    pub gossip_dropped: u64,
    /// Transaction bundles received and not relayed: their origin had sent them to every
    /// peer this node has (`relay`).
    pub gossip_not_relayed: u64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> NetStats {
        NetStats {
            events_dropped: self.events_dropped.load(Ordering::Relaxed),
            sends_dropped: self.sends_dropped.load(Ordering::Relaxed),
            strikes: self.strikes.load(Ordering::Relaxed),
            bans: self.bans.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            transport_faults: self.transport_faults.load(Ordering::Relaxed),
            gossip_dropped: self.gossip_dropped.load(Ordering::Relaxed),
            gossip_not_relayed: self.gossip_not_relayed.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn bump(counter: &AtomicU64) -> u64 {
        counter.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Commands from handles to the network task.
#[derive(Debug)]
pub(crate) enum Command {
    Send {
        to: PeerId,
        bytes: Vec<u8>,
    },
    Broadcast {
        bytes: Vec<u8>,
    },
    PublishTx {
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<TxId, NetworkError>>,
    },
    ReportTx {
        id: TxId,
        from: PeerId,
        verdict: MessageAcceptance,
    },
    Penalize {
        peer: PeerId,
        reason: String,
    },
    ConnectedPeers(oneshot::Sender<Vec<PublicKey>>),
    TxPeers(oneshot::Sender<Vec<PublicKey>>),
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    Admit(Vec<(PeerId, Option<Multiaddr>)>),
    Shutdown(oneshot::Sender<()>),
}

/// Reads the network's counters ([`NetworkHandle::stats_reader`]).
#[derive(Debug, Clone)]
pub struct StatsReader(Arc<Counters>);

impl StatsReader {
    /// The counters now.
    pub fn stats(&self) -> NetStats {
        self.0.snapshot()
    }
}

/// Handle to a running network. Cheap to clone; every call goes through one bounded
/// command queue, so a caller waits (asynchronously) when the network task is busy.
#[derive(Debug, Clone)]
pub struct NetworkHandle {
    pub(crate) commands: mpsc::Sender<Command>,
    /// Allowed peers by node key: turns keys into `PeerId`s without redoing the curve
    /// decompression, and refuses keys that are not in genesis.
    pub(crate) peers: Arc<std::sync::RwLock<HashMap<PublicKey, PeerId>>>,
    /// Most peers the allow list may hold (genesis plus admissions).
    pub(crate) max_allowed: usize,
    pub(crate) counters: Arc<Counters>,
    pub(crate) max_message_bytes: usize,
    pub(crate) max_tx_bytes: usize,
}

impl NetworkHandle {
    fn peer(&self, key: &PublicKey) -> Result<PeerId, NetworkError> {
        self.peers
            .read()
            .map_err(|_| NetworkError::Stopped)?
            .get(key)
            .copied()
            .ok_or_else(|| NetworkError::UnknownPeer(key.to_string()))
    }

    /// Lets more peers in: validators added by governance (dialed at their address and
    /// kept connected) or other members. Peers are only ever added -- a validator that
    /// left the set may still connect to catch up, and a removed validator's messages
    /// carry no weight in consensus anyway. Refused beyond `Limits::max_allowed_peers`.
    pub async fn admit(
        &self,
        peers: Vec<(PublicKey, Option<Multiaddr>)>,
    ) -> Result<(), NetworkError> {
        let mut admitted = Vec::with_capacity(peers.len());
        {
            let mut known = self.peers.write().map_err(|_| NetworkError::Stopped)?;
            for (key, addr) in peers {
                let pid = crate::identity::peer_id_of(&key)?;
                if !known.contains_key(&key) {
                    if known.len() >= self.max_allowed {
                        return Err(NetworkError::Config(format!(
                            "allow list full ({} peers): cannot admit {key}",
                            self.max_allowed
                        )));
                    }
                    known.insert(key, pid);
                }
                admitted.push((pid, addr));
            }
        }
        self.command(Command::Admit(admitted)).await
    }

    async fn command(&self, c: Command) -> Result<(), NetworkError> {
        self.commands
            .send(c)
            .await
            .map_err(|_| NetworkError::Stopped)
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NetworkError> {
        let (tx, rx) = oneshot::channel();
        self.command(make(tx)).await?;
        rx.await.map_err(|_| NetworkError::Stopped)
    }

    fn check_size(len: usize, max: usize) -> Result<(), NetworkError> {
        if len > max {
            return Err(NetworkError::TooLarge { len, max });
        }
        Ok(())
    }

    /// Sends a point-to-point (consensus) message to `to`. Best effort: if the peer is not
    /// connected or has too many unacknowledged messages, the message is dropped and
    /// counted ([`NetStats::sends_dropped`]); consensus re-sends on its own timeouts.
    pub async fn send(&self, to: PublicKey, bytes: Vec<u8>) -> Result<(), NetworkError> {
        Self::check_size(bytes.len(), self.max_message_bytes)?;
        let to = self.peer(&to)?;
        self.command(Command::Send { to, bytes }).await
    }

    /// Sends a point-to-point message to every connected allowed peer.
    pub async fn broadcast(&self, bytes: Vec<u8>) -> Result<(), NetworkError> {
        Self::check_size(bytes.len(), self.max_message_bytes)?;
        self.command(Command::Broadcast { bytes }).await
    }

    /// Gossips a transaction to all connected peers. Fails if it is too large, was
    /// already seen (`Duplicate`), or no peer is subscribed yet.
    pub async fn publish_tx(&self, bytes: Vec<u8>) -> Result<TxId, NetworkError> {
        Self::check_size(bytes.len(), self.max_tx_bytes)?;
        self.ask(|reply| Command::PublishTx { bytes, reply })
            .await?
    }

    /// The node's verdict on a [`NetEvent::Transaction`]: `true` forwards it to our other
    /// peers; `false` drops it, penalizes the gossipsub score of `from` and counts a
    /// strike against it. Use `false` only for bytes that can never be valid (malformed,
    /// bad signature); for a merely stale transaction use [`Self::ignore_tx`].
    pub async fn report_tx(
        &self,
        id: TxId,
        from: PublicKey,
        valid: bool,
    ) -> Result<(), NetworkError> {
        let verdict = if valid {
            MessageAcceptance::Accept
        } else {
            MessageAcceptance::Reject
        };
        let from = self.peer(&from)?;
        self.command(Command::ReportTx { id, from, verdict }).await
    }

    /// Drops a [`NetEvent::Transaction`] without forwarding it and without blaming the
    /// peer (e.g. already included, nonce too old).
    pub async fn ignore_tx(&self, id: TxId, from: PublicKey) -> Result<(), NetworkError> {
        let from = self.peer(&from)?;
        let verdict = MessageAcceptance::Ignore;
        self.command(Command::ReportTx { id, from, verdict }).await
    }

    /// Counts a strike against `peer`, e.g. when its consensus bytes failed strict
    /// decoding; enough strikes disconnect and ban it.
    pub async fn penalize(
        &self,
        peer: PublicKey,
        reason: impl Into<String>,
    ) -> Result<(), NetworkError> {
        let peer = self.peer(&peer)?;
        let reason = reason.into();
        self.command(Command::Penalize { peer, reason }).await
    }

    /// Allowed peers with at least one established connection.
    pub async fn connected_peers(&self) -> Result<Vec<PublicKey>, NetworkError> {
        self.ask(Command::ConnectedPeers).await
    }

    /// Connected peers known to be subscribed to transaction gossip (a published
    /// transaction reaches exactly these).
    pub async fn tx_peers(&self) -> Result<Vec<PublicKey>, NetworkError> {
        self.ask(Command::TxPeers).await
    }

    /// Addresses the node listens on.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NetworkError> {
        self.ask(Command::ListenAddrs).await
    }

    /// Counters of dropped messages, strikes, bans and refusals.
    pub fn stats(&self) -> NetStats {
        self.counters.snapshot()
    }

    /// A reader of [`Self::stats`] that, unlike a handle, does not keep the network
    /// running (for metrics, which may outlive the node's loop).
    pub fn stats_reader(&self) -> StatsReader {
        StatsReader(self.counters.clone())
    }

    /// Stops the network task and waits until its sockets are closed (so the port can be
    /// bound again). Idempotent: returns `Ok` if it had already stopped.
    pub async fn shutdown(&self) -> Result<(), NetworkError> {
        match self.ask(Command::Shutdown).await {
            Ok(()) | Err(NetworkError::Stopped) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
