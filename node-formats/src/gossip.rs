//! Transaction gossip in bundles: the transactions a node admits from its API are
//! gossiped together, a bundle at a time, in the same canonical encoding as a block
//! payload.
//!
//! One gossip message per transaction cost every node a gossipsub round trip, a message
//! id, a cache entry and a verification per transaction; a bundle pays those once, and
//! its transactions are verified with one batch equation by each receiver.

use lianrong_contracts::{verify_envelopes, Envelope, TxError, VerifiedTransaction};
use lianrong_primitives::codec;

/// Most transactions in one bundle.
pub const MAX_BUNDLE_TXS: usize = 512;
/// Largest bundle in bytes (also the node's gossip message size limit).
pub const MAX_BUNDLE_BYTES: usize = 128 * 1024;
/// How long an admitted transaction may wait for its bundle to fill before it is sent.
pub const BUNDLE_WINDOW_MS: u64 = 15;

/// Room for the bundle's own length prefix.
const BUNDLE_HEADER_BYTES: usize = 16;

/// Whether a transaction of `len` encoded bytes fits in one bundle beside `count`
/// others of `bytes` together (the rule of every list meant to become one bundle).
pub fn fits_beside(count: usize, bytes: usize, len: usize) -> bool {
    count < MAX_BUNDLE_TXS && bytes + len + BUNDLE_HEADER_BYTES <= MAX_BUNDLE_BYTES
}

/// Admitted transactions waiting to be gossiped.
#[derive(Debug, Default)]
pub struct Outbox {
    txs: Vec<VerifiedTransaction>,
    bytes: usize,
}

impl Outbox {
    /// Adds a transaction; returns a full bundle to send now when this one would not fit
    /// beside the waiting ones.
    pub fn push(&mut self, tx: VerifiedTransaction) -> Option<Vec<u8>> {
        let len = tx.bytes().len();
        let full = !fits_beside(self.txs.len(), self.bytes, len);
        let flushed = if full { self.take() } else { None };
        self.txs.push(tx);
        self.bytes += len;
        flushed
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// The encoded bundle of everything waiting (emptying the outbox), if anything waits.
    pub fn take(&mut self) -> Option<Vec<u8>> {
        if self.txs.is_empty() {
            return None;
        }
        let txs = std::mem::take(&mut self.txs);
        self.bytes = 0;
        // The transactions' own bytes, encoded once when they arrived.
        let bytes = codec::encode_list_of_encoded(txs.iter().map(VerifiedTransaction::bytes));
        debug_assert!(bytes.len() <= MAX_BUNDLE_BYTES);
        Some(bytes)
    }
}

/// Why a received bundle was refused as a whole.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BundleError {
    /// Not the canonical encoding of a list of transactions, or over the size limit.
    #[error("malformed transaction bundle: {0}")]
    Malformed(String),
    /// More transactions than a bundle may hold.
    #[error("bundle of {0} transactions (at most {MAX_BUNDLE_TXS})")]
    TooMany(usize),
}

/// Strictly decodes a received bundle; each transaction keeps its bytes and hash.
pub fn decode(bytes: &[u8]) -> Result<Vec<Envelope>, BundleError> {
    // Any count up to what the bytes could hold, so that too many is named as such.
    let txs = Envelope::decode_list(bytes, MAX_BUNDLE_BYTES, MAX_BUNDLE_BYTES)
        .map_err(|e| BundleError::Malformed(e.to_string()))?;
    if txs.len() > MAX_BUNDLE_TXS {
        return Err(BundleError::TooMany(txs.len()));
    }
    Ok(txs)
}

/// The verdict on a bundle's transactions: the verified ones, and the first reason one
/// of them failed (an honest node gossips only transactions it verified, so any failure
/// marks the relaying peer as faulty).
pub fn verify(txs: Vec<Envelope>, chain_id: &str) -> (Vec<VerifiedTransaction>, Option<TxError>) {
    let mut ok = Vec::with_capacity(txs.len());
    let mut failure = None;
    for r in verify_envelopes(txs, chain_id) {
        match r {
            Ok(t) => ok.push(t),
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    (ok, failure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::testkit::{doc, World, CHAIN_ID};
    use lianrong_contracts::{Action, SignedTransaction};

    fn txs(w: &mut World, n: usize) -> Vec<VerifiedTransaction> {
        (0..n)
            .map(|i| {
                w.sign(
                    "SUP-1",
                    Action::AcceptOrder {
                        order: doc(&format!("PO-{i}")),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn a_bundle_round_trips_and_keeps_order() {
        let mut w = World::new();
        let sent = txs(&mut w, 5);
        let mut outbox = Outbox::default();
        for t in &sent {
            assert!(outbox.push(t.clone()).is_none());
        }
        let bytes = outbox.take().expect("a bundle");
        assert!(outbox.is_empty() && outbox.take().is_none());
        let (ok, failure) = verify(decode(&bytes).expect("decodes"), CHAIN_ID);
        assert_eq!(ok, sent);
        assert!(failure.is_none());
    }

    #[test]
    fn a_full_outbox_hands_over_a_bundle_within_the_limits() {
        let mut w = World::new();
        let sent = txs(&mut w, MAX_BUNDLE_TXS + 3);
        let mut outbox = Outbox::default();
        let mut bundles = Vec::new();
        for t in &sent {
            bundles.extend(outbox.push(t.clone()));
        }
        bundles.extend(outbox.take());
        let mut back = Vec::new();
        for b in &bundles {
            assert!(b.len() <= MAX_BUNDLE_BYTES);
            back.extend(decode(b).expect("decodes"));
        }
        assert_eq!(bundles.len(), 2);
        let back: Vec<&SignedTransaction> = back.iter().map(Envelope::signed).collect();
        let sent: Vec<&SignedTransaction> = sent.iter().map(|t| t.signed()).collect();
        assert_eq!(back, sent, "every transaction once, in order");
    }

    #[test]
    fn a_bad_signature_or_foreign_chain_is_reported_and_the_rest_kept() {
        let mut w = World::new();
        let sent = txs(&mut w, 4);
        let mut signed: Vec<SignedTransaction> = sent.iter().map(|t| t.signed().clone()).collect();
        signed[1].signature.0[3] ^= 1;
        let envelopes = || {
            signed
                .iter()
                .cloned()
                .map(SignedTransaction::envelope)
                .collect()
        };
        let (ok, failure) = verify(envelopes(), CHAIN_ID);
        assert_eq!(ok.len(), 3);
        assert!(matches!(failure, Some(TxError::BadSignature(_))));
        let (ok, failure) = verify(envelopes(), "another-chain");
        assert!(ok.is_empty());
        assert!(matches!(failure, Some(TxError::WrongChain { .. })));
    }

    #[test]
    fn garbage_and_oversize_bundles_are_refused() {
        assert!(matches!(decode(b"garbage"), Err(BundleError::Malformed(_))));
        assert!(matches!(
            decode(&vec![0u8; MAX_BUNDLE_BYTES + 1]),
            Err(BundleError::Malformed(_))
        ));
        let mut w = World::new();
        let sent = txs(&mut w, 2);
        let mut outbox = Outbox::default();
        for t in &sent {
            outbox.push(t.clone());
        }
        let bytes = outbox.take().expect("a bundle");
        assert!(decode(&bytes[..bytes.len() - 1]).is_err(), "truncated");
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err(), "trailing bytes");
    }
}
