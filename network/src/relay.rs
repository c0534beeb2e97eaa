//! Who a gossiped transaction bundle's origin sent it to, so that a receiver relays it
//! only when it has a peer the origin did not reach.
//!
//! Every allowed peer is an explicit gossipsub peer, and gossipsub forwards a validated
//! message to every explicit peer but the ones it came from. In a fully connected
//! network of four validators each bundle thus crossed nine links for three deliveries:
//! the origin's three, then each receiver's forward to the two others, who already held
//! it (measured side by side: 3-5 us of CPU per transaction per validator, a tenth of its
//! network and API threads). Relaying stays for what it is for -- a node the origin is
//! not connected to (a link down, a line of nodes) -- by telling receivers whom the origin
//! reached.
//!
//! A gossip message is `[n: u8][n × 8-byte key prefixes][bundle]`: the first 8 bytes of
//! the origin's node key and of each peer its flood publish went to. `n = 0` lists no one
//! (more peers than [`MAX_LISTED`]): every receiver relays, as gossipsub does by itself.
//! A listed prefix that an unreached peer's key shares (one chance in 2^64 a pair) only
//! keeps that peer from a relay: it still gets the transactions in the blocks it follows.
//! An origin that lists falsely only keeps its own transactions from being relayed.

use lianrong_primitives::PublicKey;

/// Most peers a message lists; an origin with more lists none.
pub const MAX_LISTED: usize = 64;
/// Bytes of a node key kept in the list.
const PREFIX_BYTES: usize = 8;
/// Most bytes the list takes in front of a bundle.
pub const MAX_HEADER_BYTES: usize = 1 + MAX_LISTED * PREFIX_BYTES;

/// The peers an origin reached, as read from a received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    prefixes: Vec<[u8; PREFIX_BYTES]>,
}

/// Why a received message's list could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RelayError {
    /// The list claims more entries than allowed or than the message holds.
    #[error("transaction gossip lists {listed} peers in {len} bytes (at most {MAX_LISTED})")]
    BadList {
        /// Entries claimed.
        listed: usize,
        /// Bytes of the whole message.
        len: usize,
    },
}

fn prefix(key: &PublicKey) -> [u8; PREFIX_BYTES] {
    let mut p = [0u8; PREFIX_BYTES];
    p.copy_from_slice(&key.0[..PREFIX_BYTES]);
    p
}

/// The message for `bundle` published by `origin` to `peers` (none listed if too many).
pub fn wrap<'a>(
    origin: &PublicKey,
    peers: impl ExactSizeIterator<Item = &'a PublicKey>,
    bundle: &[u8],
) -> Vec<u8> {
    let listed = if peers.len() < MAX_LISTED {
        peers.len() + 1
    } else {
        0
    };
    let mut out = Vec::with_capacity(1 + listed * PREFIX_BYTES + bundle.len());
    out.push(listed as u8);
    if listed > 0 {
        out.extend_from_slice(&prefix(origin));
        for p in peers {
            out.extend_from_slice(&prefix(p));
        }
    }
    out.extend_from_slice(bundle);
    out
}

/// The list and the bundle of a received message.
pub fn unwrap(message: &[u8]) -> Result<(Reached, &[u8]), RelayError> {
    let bad = || RelayError::BadList {
        listed: message.first().copied().map_or(0, usize::from),
        len: message.len(),
    };
    let (&listed, rest) = message.split_first().ok_or_else(bad)?;
    let listed = usize::from(listed);
    let list_bytes = listed * PREFIX_BYTES;
    if listed > MAX_LISTED || rest.len() < list_bytes {
        return Err(bad());
    }
    let (list, bundle) = rest.split_at(list_bytes);
    let prefixes = list
        .chunks_exact(PREFIX_BYTES)
        .map(|c| {
            let mut p = [0u8; PREFIX_BYTES];
            p.copy_from_slice(c);
            p
        })
        .collect();
    Ok((Reached { prefixes }, bundle))
}

impl Reached {
    /// Whether a node with these peers must relay: the origin listed no one, or one of
    /// them is not on its list.
    pub fn needs_relay<'a>(&self, mut peers: impl Iterator<Item = &'a PublicKey>) -> bool {
        self.prefixes.is_empty() || peers.any(|k| !self.prefixes.contains(&prefix(k)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_primitives::SecretKey;

    fn key(n: u8) -> PublicKey {
        SecretKey::from_seed([n; 32]).public()
    }

    #[test]
    fn a_receiver_relays_only_to_peers_the_origin_did_not_reach() {
        let (a, b, c, d) = (key(1), key(2), key(3), key(4));
        let message = wrap(&a, [b, c].iter(), b"bundle");
        let (reached, bundle) = unwrap(&message).expect("well formed");
        assert_eq!(bundle, b"bundle");
        // b's other peers: the origin and c, both reached.
        assert!(!reached.needs_relay([a, c].iter()));
        assert!(!reached.needs_relay(std::iter::empty()));
        // d was not.
        assert!(reached.needs_relay([a, d].iter()));
    }

    #[test]
    fn an_origin_with_too_many_peers_lists_none_and_every_receiver_relays() {
        let many: Vec<PublicKey> = (0..MAX_LISTED as u8).map(|i| key(i + 10)).collect();
        let message = wrap(&key(1), many.iter(), b"x");
        assert_eq!(message.len(), 2);
        let (reached, bundle) = unwrap(&message).expect("well formed");
        assert_eq!(bundle, b"x");
        assert!(reached.needs_relay(std::iter::empty()));
        // One fewer fits, with the origin: MAX_LISTED entries.
        let message = wrap(&key(1), many[1..].iter(), b"x");
        assert_eq!(message.len(), MAX_HEADER_BYTES + 1);
        assert!(!unwrap(&message)
            .expect("fits")
            .0
            .needs_relay(many[1..].iter()));
    }

    #[test]
    fn a_list_longer_than_allowed_or_than_the_message_is_refused() {
        assert!(unwrap(&[]).is_err());
        assert!(unwrap(&[1, 0, 0, 0]).is_err(), "one entry needs 8 bytes");
        let mut too_many = vec![MAX_LISTED as u8 + 1];
        too_many.resize(1 + (MAX_LISTED + 1) * PREFIX_BYTES, 0);
        assert_eq!(
            unwrap(&too_many),
            Err(RelayError::BadList {
                listed: MAX_LISTED + 1,
                len: too_many.len()
            })
        );
        assert!(unwrap(&[0]).is_ok(), "no list, empty bundle");
    }
}
