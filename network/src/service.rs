//! The network task: builds the swarm from a [`NetworkConfig`] and runs it, turning
//! handle commands into protocol actions and swarm events into [`NetEvent`]s.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use lianrong_primitives::{sha256, PublicKey};
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionDenied, DialError, ListenError, SwarmEvent};
use libp2p::{allow_block_list, connection_limits, noise, tcp, yamux, Multiaddr, PeerId, Swarm};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

use super::behaviour::{Behaviour, BehaviourEvent};
use super::codec::{ConsensusCodec, Frame, CONSENSUS_PROTOCOL};
use super::handle::{Command, Counters, NetEvent, NetworkHandle, TxId};
use super::identity::{keypair_from_secret, peer_id_of};
use super::peers::{Discipline, RedialSchedule, StrikeOutcome};
use super::relay;
use super::{Limits, NetworkConfig, NetworkError};

/// Topic of transaction gossip. Version 2: each message starts with whom its origin sent
/// it to ([`relay`]).
pub const TX_TOPIC: &str = "lianrong/tx/2";

/// Room in a gossipsub RPC around the transaction payload: the protobuf envelope, topic,
/// and a little control traffic. The payload itself is
/// checked against `max_tx_bytes` separately.
const GOSSIP_RPC_OVERHEAD: usize = 2048;

/// Starts the network on the current tokio runtime: binds the listen address, then runs
/// the swarm on its own task until [`NetworkHandle::shutdown`] is called or every handle
/// is dropped. Returns the handle and the (bounded) queue of events for the node.
pub fn spawn(
    config: NetworkConfig,
) -> Result<(NetworkHandle, mpsc::Receiver<NetEvent>), NetworkError> {
    let limits = config.limits.clone();
    if limits.command_queue == 0 || limits.event_queue == 0 {
        return Err(NetworkError::Config(
            "queue sizes must be at least 1".into(),
        ));
    }
    let keypair = keypair_from_secret(&config.node_key)?;
    let local = keypair.public().to_peer_id();
    let (by_key, dial) = allow_list(&config, local)?;
    let by_peer: HashMap<PeerId, PublicKey> = by_key.iter().map(|(k, p)| (*p, *k)).collect();
    let topic = IdentTopic::new(TX_TOPIC);
    let behaviour = behaviour(&config, &by_peer, &topic)?;
    let swarm = build_swarm(keypair, behaviour, &limits, &config)?;

    let (cmd_tx, cmd_rx) = mpsc::channel(limits.command_queue);
    let (ev_tx, ev_rx) = mpsc::channel(limits.event_queue);
    let counters = Arc::new(Counters::default());
    let now = Instant::now().into_std();
    let service = Service {
        swarm,
        commands: cmd_rx,
        events: ev_tx,
        keys: by_peer,
        local_key: config.node_key.public(),
        in_flight: HashMap::new(),
        redial: RedialSchedule::new(
            dial,
            limits.redial_initial,
            limits.redial_max,
            limits.stable_connection,
            now,
        ),
        discipline: Discipline::new(
            limits.strikes_before_ban,
            limits.ban_duration,
            limits.strike_memory,
        ),
        counters: counters.clone(),
        topic,
        max_tx_bytes: config.max_tx_bytes,
        max_in_flight: limits.max_in_flight_per_peer,
        tick: limits
            .redial_initial
            .clamp(Duration::from_millis(10), Duration::from_millis(250)),
    };
    info!(peer_id = %local, listen = %config.listen, "network starting");
    tokio::spawn(service.run());
    let handle = NetworkHandle {
        commands: cmd_tx,
        max_allowed: limits.max_allowed_peers.max(by_key.len()),
        peers: Arc::new(std::sync::RwLock::new(by_key)),
        counters,
        max_message_bytes: config.max_message_bytes,
        max_tx_bytes: config.max_tx_bytes,
    };
    Ok((handle, ev_rx))
}

/// The allowed peers by key, and the peers to dial.
type AllowList = (HashMap<PublicKey, PeerId>, Vec<(PeerId, Multiaddr)>);

/// The allow list (key -> peer id, without ourselves: genesis lists every node) and the
/// peers to dial, each of which must be allowed.
fn allow_list(config: &NetworkConfig, local: PeerId) -> Result<AllowList, NetworkError> {
    let mut by_key: HashMap<PublicKey, PeerId> = HashMap::new();
    for key in &config.allowed {
        let pid = peer_id_of(key)?;
        if pid != local {
            by_key.insert(*key, pid);
        }
    }
    let mut dial = Vec::with_capacity(config.peers.len());
    for p in &config.peers {
        let pid = by_key.get(&p.key).copied().ok_or_else(|| {
            NetworkError::Config(format!(
                "peer {} is dialed but not in the allow list",
                p.key
            ))
        })?;
        dial.push((pid, p.addr.clone()));
    }
    Ok((by_key, dial))
}

/// Transaction gossip: validated before forwarding, unsigned, flooded to every allowed peer.
fn gossip_behaviour(
    config: &NetworkConfig,
    by_peer: &HashMap<PeerId, PublicKey>,
    topic: &IdentTopic,
) -> Result<gossipsub::Behaviour, NetworkError> {
    let limits = &config.limits;
    let gossip_config = gossipsub::ConfigBuilder::default()
        // Nothing is forwarded before the node has checked it (report_tx).
        .validate_messages()
        // Unsigned gossip: every connection is Noise-authenticated and allow-listed, so
        // the relaying peer is known, and each transaction carries its signer's
        // signature. A gossipsub signature would add an Ed25519 signing per message and a
        // verification per received copy (duplicates included) for nothing we use.
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .max_transmit_size(
            config
                .max_tx_bytes
                .saturating_add(relay::MAX_HEADER_BYTES + GOSSIP_RPC_OVERHEAD),
        )
        .max_publish_messages(limits.max_txs_per_rpc)
        .connection_handler_queue_len(limits.gossip_queue)
        // Content-addressed ids: the same transaction from two peers is one message.
        .message_id_fn(|m: &gossipsub::Message| MessageId::new(&sha256(&m.data).0))
        // Few peers (4 validators < mesh_n): publish to every subscribed peer.
        .flood_publish(true)
        .build()
        .map_err(|e| NetworkError::Config(format!("gossipsub: {e}")))?;
    let mut gossip = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gossip_config)
        .map_err(|e| NetworkError::Config(format!("gossipsub: {e}")))?;
    gossip
        .subscribe(topic)
        .map_err(|e| NetworkError::Config(format!("gossipsub subscribe: {e}")))?;
    // Every allowed peer is an explicit ("direct") peer: a permissioned network is small
    // and fully known, so transactions go to all of them rather than to a random mesh.
    for pid in by_peer.keys() {
        gossip.add_explicit_peer(pid);
    }
    Ok(gossip)
}

/// The composed behaviour: allow list, connection limits, consensus request-response,
/// transaction gossip.
fn behaviour(
    config: &NetworkConfig,
    by_peer: &HashMap<PeerId, PublicKey>,
    topic: &IdentTopic,
) -> Result<Behaviour, NetworkError> {
    let limits = &config.limits;
    let mut allow = allow_block_list::Behaviour::<allow_block_list::AllowedPeers>::default();
    for pid in by_peer.keys() {
        allow.allow_peer(*pid);
    }
    let conn_limits = connection_limits::ConnectionLimits::default()
        .with_max_established(Some(limits.max_connections))
        .with_max_established_per_peer(Some(limits.max_connections_per_peer))
        .with_max_pending_incoming(Some(limits.max_pending_incoming))
        .with_max_pending_outgoing(Some(limits.max_pending_outgoing));
    let consensus = request_response::Behaviour::with_codec(
        ConsensusCodec::new(config.max_message_bytes),
        [(CONSENSUS_PROTOCOL, ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(limits.request_timeout)
            .with_max_concurrent_streams(limits.max_streams_per_connection),
    );
    Ok(Behaviour {
        allow,
        limits: connection_limits::Behaviour::new(conn_limits),
        consensus,
        gossip: gossip_behaviour(config, by_peer, topic)?,
    })
}

/// TCP + Noise + yamux around `behaviour`, listening on the configured address.
fn build_swarm(
    keypair: libp2p::identity::Keypair,
    behaviour: Behaviour,
    limits: &Limits,
    config: &NetworkConfig,
) -> Result<Swarm<Behaviour>, NetworkError> {
    let max_yamux_streams = limits.max_yamux_streams;
    let idle = limits.idle_connection_timeout;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            move || {
                let mut c = yamux::Config::default();
                c.set_max_num_streams(max_yamux_streams);
                c
            },
        )
        .map_err(|e| NetworkError::Transport(e.to_string()))?
        .with_behaviour(move |_| behaviour)
        .map_err(|e| NetworkError::Transport(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
        .build();
    swarm.listen_on(config.listen.clone())?;
    Ok(swarm)
}

/// State of the network task.
struct Service {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetEvent>,
    /// Allowed peers (never contains anyone else, so maps keyed by it stay bounded).
    keys: HashMap<PeerId, PublicKey>,
    /// This node's own key (the origin it names in the transaction bundles it publishes).
    local_key: PublicKey,
    /// Unacknowledged point-to-point messages per peer.
    in_flight: HashMap<PeerId, usize>,
    redial: RedialSchedule,
    discipline: Discipline,
    counters: Arc<Counters>,
    topic: IdentTopic,
    max_tx_bytes: usize,
    max_in_flight: usize,
    tick: Duration,
}

impl Service {
    async fn run(mut self) {
        let mut tick = tokio::time::interval(self.tick);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut shutdown_ack: Option<oneshot::Sender<()>> = None;
        loop {
            tokio::select! {
                cmd = self.commands.recv() => match cmd {
                    Some(Command::Shutdown(ack)) => {
                        shutdown_ack = Some(ack);
                        break;
                    }
                    Some(c) => self.on_command(c),
                    // Every handle is gone: nobody can use the network any more.
                    None => break,
                },
                ev = self.swarm.select_next_some() => self.on_swarm_event(ev),
                _ = tick.tick() => self.on_tick(),
            }
        }
        info!(peer_id = %self.swarm.local_peer_id(), "network stopping");
        // Dropping the swarm closes the listener and every connection; only then is the
        // shutdown acknowledged, so the caller may bind the same port again.
        drop(self.swarm);
        if let Some(ack) = shutdown_ack {
            let _ = ack.send(());
        }
    }

    /// Hands an event to the node without ever blocking the swarm: if the node's queue is
    /// full, the event is dropped and counted. Blocking here would stall every connection
    /// (keep-alives, acks, gossip) because one consumer is slow; consensus tolerates lost
    /// messages (it re-sends on timeouts) and a dropped transaction is just not relayed.
    fn emit(&self, event: NetEvent) -> bool {
        match self.events.try_send(event) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(ev)) => {
                let n = Counters::bump(&self.counters.events_dropped);
                // Log the 1st, 2nd, 4th, 8th... drop, so a flood does not flood the log.
                if n.is_power_of_two() {
                    warn!(
                        dropped = n,
                        event = event_kind(&ev),
                        "event queue full, dropping events"
                    );
                }
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    fn on_tick(&mut self) {
        let now = Instant::now().into_std();
        for peer in self.discipline.expire(now) {
            info!(%peer, "ban expired");
            self.swarm.behaviour_mut().allow.allow_peer(peer);
        }
        for (peer, addr) in self.redial.due(now) {
            debug!(%peer, %addr, "dialing");
            let opts = DialOpts::peer_id(peer)
                .addresses(vec![addr])
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            if let Err(e) = self.swarm.dial(opts) {
                debug!(%peer, error = %e, "dial not started");
                self.redial.dial_failed(&peer, now);
            }
        }
    }

    fn strike(&mut self, peer: PeerId, reason: &str) {
        Counters::bump(&self.counters.strikes);
        let now = Instant::now().into_std();
        match self.discipline.strike(peer, now) {
            StrikeOutcome::Counted(n) => warn!(%peer, strikes = n, reason, "peer misbehaved"),
            StrikeOutcome::AlreadyBanned => {}
            StrikeOutcome::Ban(until) => {
                Counters::bump(&self.counters.bans);
                warn!(%peer, reason, "peer banned");
                // Disallowing closes its connections and refuses new ones until expiry.
                self.swarm.behaviour_mut().allow.disallow_peer(peer);
                self.redial.hold_until(&peer, until);
                if let Some(key) = self.keys.get(&peer).copied() {
                    self.emit(NetEvent::PeerBanned {
                        peer: key,
                        reason: reason.to_string(),
                    });
                }
            }
        }
    }

    fn send_one(&mut self, to: PeerId, bytes: Vec<u8>) {
        if !self.swarm.is_connected(&to) {
            // request-response would dial and queue without bound; re-dialing is the
            // redial schedule's job, and consensus re-sends.
            Counters::bump(&self.counters.sends_dropped);
            debug!(peer = %to, "not connected, message dropped");
            return;
        }
        let n = self.in_flight.entry(to).or_insert(0);
        if *n >= self.max_in_flight {
            Counters::bump(&self.counters.sends_dropped);
            warn!(peer = %to, in_flight = *n, "too many unacknowledged messages, dropped");
            return;
        }
        *n += 1;
        self.swarm
            .behaviour_mut()
            .consensus
            .send_request(&to, Frame::Message(bytes));
    }

    /// Adds peers to the allow list (the handle has bounded how many), to gossip, and
    /// those with an address to the peers kept connected.
    fn admit(&mut self, peers: Vec<(PeerId, Option<Multiaddr>)>) {
        let local = *self.swarm.local_peer_id();
        let now = Instant::now().into_std();
        for (pid, addr) in peers {
            if pid == local {
                continue;
            }
            if let Some(key) = super::identity::public_key_of(&pid) {
                self.keys.insert(pid, key);
            }
            if !self.discipline.is_banned(&pid) {
                self.swarm.behaviour_mut().allow.allow_peer(pid);
            }
            self.swarm.behaviour_mut().gossip.add_explicit_peer(&pid);
            if let Some(addr) = addr {
                info!(peer = %pid, %addr, "admitted and dialing");
                self.redial.add(pid, addr, now);
            }
        }
    }

    fn acked(&mut self, peer: &PeerId) {
        if let Some(n) = self.in_flight.get_mut(peer) {
            *n = n.saturating_sub(1);
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Send { to, bytes } => self.send_one(to, bytes),
            Command::Broadcast { bytes } => {
                let peers: Vec<PeerId> = self
                    .swarm
                    .connected_peers()
                    .filter(|p| self.keys.contains_key(p))
                    .copied()
                    .collect();
                for p in peers {
                    self.send_one(p, bytes.clone());
                }
            }
            Command::PublishTx { bytes, reply } => {
                // Flood publishing sends to every peer subscribed to the topic.
                let reached: Vec<PublicKey> = self.tx_peers().map(|(_, k)| k).collect();
                let message = relay::wrap(&self.local_key, reached.iter(), &bytes);
                let id = TxId(sha256(&message));
                let topic = self.topic.clone();
                let res = self.swarm.behaviour_mut().gossip.publish(topic, message);
                let _ = reply.send(res.map(|_| id).map_err(NetworkError::from));
            }
            Command::ReportTx { id, from, verdict } => {
                let reject = matches!(verdict, MessageAcceptance::Reject);
                let known = self
                    .swarm
                    .behaviour_mut()
                    .gossip
                    .report_message_validation_result(&MessageId::new(&id.0 .0), &from, verdict);
                if !known {
                    debug!(peer = %from, "verdict on a transaction no longer held");
                }
                if reject {
                    self.strike(from, "invalid transaction");
                }
            }
            Command::Penalize { peer, reason } => self.strike(peer, &reason),
            Command::ConnectedPeers(reply) => {
                let peers = self
                    .swarm
                    .connected_peers()
                    .filter_map(|p| self.keys.get(p).copied())
                    .collect();
                let _ = reply.send(peers);
            }
            Command::TxPeers(reply) => {
                let _ = reply.send(self.tx_peers().map(|(_, k)| k).collect());
            }
            Command::ListenAddrs(reply) => {
                let _ = reply.send(self.swarm.listeners().cloned().collect());
            }
            Command::Admit(peers) => self.admit(peers),
            // Handled in `run`, which must leave the loop.
            Command::Shutdown(_) => {}
        }
    }

    /// The connected, allowed peers subscribed to transaction gossip.
    fn tx_peers(&self) -> impl Iterator<Item = (PeerId, PublicKey)> + '_ {
        let hash = self.topic.hash();
        self.swarm
            .behaviour()
            .gossip
            .all_peers()
            .filter(move |(_, topics)| topics.contains(&&hash))
            .filter_map(|(p, _)| Some((*p, *self.keys.get(p)?)))
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        let now = Instant::now().into_std();
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Consensus(ev)) => self.on_consensus(ev),
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(ev)) => self.on_gossip(ev),
            SwarmEvent::Behaviour(_) => {}
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                endpoint,
                ..
            } => {
                debug!(peer = %peer_id, addr = %endpoint.get_remote_address(), "connection established");
                if num_established.get() == 1 {
                    self.redial.connected(&peer_id, now);
                    if let Some(key) = self.keys.get(&peer_id).copied() {
                        info!(peer = %peer_id, "peer connected");
                        self.emit(NetEvent::PeerConnected(key));
                    }
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                ..
            } => {
                debug!(peer = %peer_id, cause = ?cause, "connection closed");
                if num_established == 0 {
                    self.in_flight.remove(&peer_id);
                    self.redial.disconnected(&peer_id, now);
                    if let Some(until) = self.discipline.banned_until(&peer_id) {
                        self.redial.hold_until(&peer_id, until);
                    }
                    if let Some(key) = self.keys.get(&peer_id).copied() {
                        info!(peer = %peer_id, "peer disconnected");
                        self.emit(NetEvent::PeerDisconnected(key));
                    }
                }
            }
            SwarmEvent::IncomingConnectionError {
                peer_id,
                error,
                send_back_addr,
                ..
            } => match (error, peer_id) {
                (ListenError::Denied { cause }, Some(peer)) => self.refused(peer, &cause),
                (ListenError::Denied { cause }, None) => {
                    Counters::bump(&self.counters.refused);
                    warn!(addr = %send_back_addr, reason = %cause, "incoming connection refused");
                }
                (e, _) => debug!(addr = %send_back_addr, error = %e, "incoming connection failed"),
            },
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                if let Some(peer) = peer_id {
                    self.redial.dial_failed(&peer, now);
                    if let DialError::Denied { cause } = &error {
                        self.refused(peer, cause);
                        return;
                    }
                }
                debug!(peer = ?peer_id, error = %error, "dial failed");
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                self.emit(NetEvent::Listening(address));
            }
            _ => {}
        }
    }

    fn refused(&mut self, peer: PeerId, cause: &ConnectionDenied) {
        Counters::bump(&self.counters.refused);
        let reason = if cause
            .downcast_ref::<allow_block_list::NotAllowed>()
            .is_some()
        {
            if self.discipline.is_banned(&peer) {
                "banned".to_string()
            } else {
                "not in the allow list".to_string()
            }
        } else if let Some(e) = cause.downcast_ref::<connection_limits::Exceeded>() {
            format!("connection limit reached ({})", e.limit())
        } else {
            cause.to_string()
        };
        warn!(%peer, %reason, "connection refused");
        self.emit(NetEvent::PeerRefused { peer, reason });
    }

    fn on_consensus(&mut self, ev: request_response::Event<Frame, ()>) {
        use request_response::{Event, Message};
        match ev {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request: Frame::Refused(fe),
                        ..
                    },
                ..
            } => {
                // No acknowledgement: dropping the channel tells the sender it failed.
                if fe.is_misbehaviour() {
                    let reason = format!("bad consensus frame: {fe}");
                    self.strike(peer, &reason);
                } else {
                    Counters::bump(&self.counters.transport_faults);
                    debug!(%peer, error = %fe, "consensus stream abandoned by its sender");
                }
            }
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request: Frame::Message(request),
                        channel,
                        ..
                    },
                ..
            } => {
                // The ack only means "arrived"; it is sent even if the event is dropped.
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .consensus
                    .send_response(channel, ());
                if let Some(from) = self.keys.get(&peer).copied() {
                    self.emit(NetEvent::Consensus {
                        from,
                        bytes: request,
                    });
                }
            }
            Event::Message {
                peer,
                message: Message::Response { .. },
                ..
            } => self.acked(&peer),
            Event::OutboundFailure { peer, error, .. } => {
                debug!(%peer, %error, "point-to-point message failed");
                self.acked(&peer);
            }
            Event::InboundFailure { peer, error, .. } => {
                debug!(%peer, %error, "inbound message failed");
            }
            Event::ResponseSent { .. } => {}
        }
    }

    /// A transaction bundle: refused if malformed, oversize or relayed by a peer outside
    /// the allow list; released at once (not to be forwarded) when its origin reached
    /// every peer this node has ([`relay`]); then handed to the node to judge.
    fn on_gossip_message(
        &mut self,
        source: PeerId,
        message_id: MessageId,
        message: gossipsub::Message,
    ) {
        let relayed_by = self.keys.get(&source).copied();
        let read = relay::unwrap(&message.data);
        let problem = match &read {
            Err(_) => Some("malformed transaction gossip"),
            Ok((_, bundle)) if bundle.len() > self.max_tx_bytes => Some("oversize transaction"),
            Ok(_) => None,
        };
        let (Some(from), Ok((reached, bundle))) = (relayed_by.filter(|_| problem.is_none()), read)
        else {
            let reason = problem.unwrap_or("transaction relayed by an unknown peer");
            self.validated(&message_id, &source, MessageAcceptance::Reject);
            self.strike(source, reason);
            return;
        };
        let others: Vec<PublicKey> = self
            .tx_peers()
            .filter(|(p, _)| *p != source)
            .map(|(_, k)| k)
            .collect();
        let relay = reached.needs_relay(others.iter());
        let event = NetEvent::Transaction {
            from,
            id: TxId(sha256(&message.data)),
            bytes: bundle.to_vec(),
        };
        if !relay {
            // Released now, it is forwarded to no one whatever the node's verdict; a
            // `report_tx(.., false)` still strikes the peer that sent it.
            Counters::bump(&self.counters.gossip_not_relayed);
            self.validated(&message_id, &source, MessageAcceptance::Ignore);
        }
        if !self.emit(event) && relay {
            // Nobody will judge it: release it from the validation cache.
            self.validated(&message_id, &source, MessageAcceptance::Ignore);
        }
    }

    /// Gossipsub's validation verdict on a held message.
    fn validated(&mut self, id: &MessageId, source: &PeerId, verdict: MessageAcceptance) {
        self.swarm
            .behaviour_mut()
            .gossip
            .report_message_validation_result(id, source, verdict);
    }

    fn on_gossip(&mut self, ev: gossipsub::Event) {
        match ev {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => self.on_gossip_message(propagation_source, message_id, message),
            gossipsub::Event::Subscribed { peer_id, topic, .. } => {
                debug!(peer = %peer_id, %topic, "peer subscribed");
            }
            gossipsub::Event::GossipsubNotSupported { peer_id } => {
                warn!(peer = %peer_id, "peer does not speak gossipsub");
            }
            gossipsub::Event::SlowPeer {
                peer_id,
                failed_messages,
            } => {
                let lost = (failed_messages.priority + failed_messages.non_priority) as u64;
                let before = self
                    .counters
                    .gossip_dropped
                    .fetch_add(lost, Ordering::Relaxed);
                // Under load this fires for every heartbeat: log when the total passes a
                // power of two, so a flood of drops is a handful of lines, not thousands.
                let after = before + lost;
                if lost > 0 && before.checked_ilog2() != after.checked_ilog2() {
                    warn!(peer = %peer_id, dropped = after, "slow peer, gossip dropped");
                }
            }
            _ => {}
        }
    }
}

/// A short name of an event, for logs (never the payload).
fn event_kind(ev: &NetEvent) -> &'static str {
    match ev {
        NetEvent::Consensus { .. } => "consensus",
        NetEvent::Transaction { .. } => "transaction",
        NetEvent::PeerConnected(_) => "peer-connected",
        NetEvent::PeerDisconnected(_) => "peer-disconnected",
        NetEvent::PeerRefused { .. } => "peer-refused",
        NetEvent::PeerBanned { .. } => "peer-banned",
        NetEvent::Listening(_) => "listening",
    }
}
