//! The node's libp2p identity is its Ed25519 node key from genesis: these helpers map the
//! project's key types to libp2p's and back, so that the allow list can be written in
//! terms of genesis keys while libp2p works with `PeerId`s.

use lianrong_primitives::{PublicKey, SecretKey};
use libp2p::identity::{self, Keypair};
use libp2p::PeerId;

use super::NetworkError;

/// The libp2p keypair for a node key: the same Ed25519 key, so the `PeerId` that Noise
/// authenticates is derived from the key that genesis lists.
pub fn keypair_from_secret(key: &SecretKey) -> Result<Keypair, NetworkError> {
    // `ed25519_from_bytes` zeroizes its input; the copy lives only in this frame.
    let mut seed = key.to_bytes();
    Keypair::ed25519_from_bytes(&mut seed).map_err(|e| NetworkError::NodeKey(e.to_string()))
}

/// The `PeerId` of the node whose node key is `key`.
pub fn peer_id_of(key: &PublicKey) -> Result<PeerId, NetworkError> {
    let ed = identity::ed25519::PublicKey::try_from_bytes(&key.0)
        .map_err(|_| NetworkError::InvalidKey(key.to_string()))?;
    Ok(identity::PublicKey::from(ed).to_peer_id())
}

/// The Ed25519 node key inside a `PeerId`, if it holds one. Ed25519 `PeerId`s embed the
/// public key itself (identity multihash), so no lookup is needed; other key types (or
/// hashed ids) give `None`.
pub fn public_key_of(peer: &PeerId) -> Option<PublicKey> {
    /// Multihash code of the identity "hash": the digest is the protobuf-encoded key.
    const IDENTITY_MULTIHASH: u64 = 0;
    let mh: &libp2p::multihash::Multihash<64> = peer.as_ref();
    if mh.code() != IDENTITY_MULTIHASH {
        return None;
    }
    let key = identity::PublicKey::try_decode_protobuf(mh.digest()).ok()?;
    let ed = key.try_into_ed25519().ok()?;
    Some(PublicKey(ed.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_key_and_peer_id_round_trip() {
        let sk = SecretKey::from_seed([7; 32]);
        let kp = keypair_from_secret(&sk).expect("valid seed");
        let pid = peer_id_of(&sk.public()).expect("valid key");
        assert_eq!(kp.public().to_peer_id(), pid);
        assert_eq!(public_key_of(&pid), Some(sk.public()));
    }

    #[test]
    fn hashed_peer_ids_have_no_node_key() {
        // A SHA-256 multihash (code 0x12) is what non-inlined keys produce.
        let mh = libp2p::multihash::Multihash::<64>::wrap(0x12, &[1; 32]).expect("fits");
        let pid = PeerId::from_multihash(mh).expect("sha256 multihash is a valid PeerId");
        assert_eq!(public_key_of(&pid), None);
    }
}
