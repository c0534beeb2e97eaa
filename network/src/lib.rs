//! Peer-to-peer networking on rust-libp2p: TCP + Noise + Yamux, with the node's Ed25519
//! node key from genesis as its libp2p identity.
//!
//! * Only peers listed in genesis may connect: the allow list refuses anyone else right
//!   after the Noise handshake authenticates its `PeerId` ([`NetEvent::PeerRefused`]).
//! * Consensus messages go point to point on a request-response protocol whose codec
//!   checks a length prefix against `max_message_bytes` before reading and buffers only
//!   what arrives ([`codec`]); transactions are gossiped with validation on: nothing is forwarded
//!   before the node's verdict ([`NetworkHandle::report_tx`]).
//! * Misbehaviour (bad frames, rejected transactions, [`NetworkHandle::penalize`]) counts
//!   strikes; too many disconnect and ban the peer for a while.
//! * Configured peers are re-dialed with capped exponential back-off; the idle timeout is
//!   long so validator links stay up between blocks.
//! * Every queue is bounded and connection limits are set ([`Limits`]).
//!
//! Start with [`spawn`]; the node then talks to the returned [`NetworkHandle`] and reads
//! [`NetEvent`]s from the returned receiver.

mod behaviour;
pub mod codec;
mod config;
mod error;
mod handle;
mod identity;
mod peers;
mod relay;
mod service;
#[cfg(test)]
mod tests;

pub use config::{Limits, NetworkConfig, PeerAddr};
pub use error::NetworkError;
pub use handle::{NetEvent, NetStats, NetworkHandle, StatsReader, TxId};
pub use identity::{keypair_from_secret, peer_id_of, public_key_of};
pub use libp2p::{Multiaddr, PeerId};
pub use service::{spawn, TX_TOPIC};
