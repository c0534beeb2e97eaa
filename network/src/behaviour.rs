//! The composed libp2p behaviour. Order matters: the allow list and the connection
//! limits come first so that a refused connection never reaches the protocols.

use libp2p::swarm::NetworkBehaviour;
use libp2p::{allow_block_list, connection_limits, gossipsub, request_response};

use super::codec::ConsensusCodec;

/// All protocols of a LianRong node.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// Only genesis peers may connect (checked once Noise has authenticated the PeerId).
    pub allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    /// Total, per-peer and pending connection limits.
    pub limits: connection_limits::Behaviour,
    /// Point-to-point consensus messages.
    pub consensus: request_response::Behaviour<ConsensusCodec>,
    /// Transaction gossip.
    pub gossip: gossipsub::Behaviour,
}
