//! Errors of the networking layer.

use libp2p::{gossipsub, TransportError};

/// Why a networking call failed.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// A public key from the configuration is not a valid Ed25519 point.
    #[error("invalid Ed25519 public key {0}")]
    InvalidKey(String),
    /// The node key could not be turned into a libp2p identity.
    #[error("node key rejected by libp2p: {0}")]
    NodeKey(String),
    /// The configuration is inconsistent (checked at start so mistakes are loud).
    #[error("invalid network configuration: {0}")]
    Config(String),
    /// Building the transport (TCP + Noise + Yamux) failed.
    #[error("transport setup failed: {0}")]
    Transport(String),
    /// The listen address could not be bound.
    #[error("cannot listen: {0}")]
    Listen(#[from] TransportError<std::io::Error>),
    /// The payload is larger than the configured limit for its kind.
    #[error("message of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Size of the payload.
        len: usize,
        /// The limit it broke.
        max: usize,
    },
    /// Gossipsub refused to publish (duplicate, no subscribed peers, queues full...).
    #[error("gossip publish failed: {0}")]
    Publish(#[from] gossipsub::PublishError),
    /// The key is not one of the peers this node knows (not in the allow list).
    #[error("unknown peer {0}")]
    UnknownPeer(String),
    /// The network task has stopped (shut down, or panicked); no command can be served.
    #[error("the network task has stopped")]
    Stopped,
}
