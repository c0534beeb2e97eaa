//! What a block's opaque consensus payload holds: the canonical encoding of a list of
//! signed transactions.
//!
//! Every node turns a finalized payload into the same list of transactions to execute:
//! bytes that do not decode strictly give an empty list, and transactions whose chain id,
//! size or signature fail are left out (ZIP-215 makes that decision identical on every
//! node). A faulty proposer can therefore waste a block, never fork the state.

use lianrong_contracts::{verify_envelopes, SignedTransaction, VerifiedTransaction};
use lianrong_primitives::codec;

/// Most transactions in one block.
pub const MAX_BLOCK_TXS: usize = 4096;

/// The payload bytes for `txs`.
pub fn encode(txs: &[VerifiedTransaction]) -> Vec<u8> {
    assert!(txs.len() <= MAX_BLOCK_TXS);
    // The canonical encoding of the list of signed transactions, from the bytes each was
    // encoded in once when it arrived.
    codec::encode_list_of_encoded(txs.iter().map(VerifiedTransaction::bytes))
}

/// The transactions a finalized payload executes, in order (see the module docs).
pub fn decode(bytes: &[u8], chain_id: &str, max_bytes: usize) -> Vec<VerifiedTransaction> {
    decode_with(bytes, chain_id, max_bytes, |_| None)
}

/// The signed transactions a payload lists, before any signature check: none if the
/// bytes do not decode strictly or list more than [`MAX_BLOCK_TXS`] (the rule every
/// node applies, see the module docs).
pub fn listed(bytes: &[u8], max_bytes: usize) -> Vec<SignedTransaction> {
    if bytes.is_empty() {
        return vec![];
    }
    match codec::decode::<Vec<SignedTransaction>>(bytes, max_bytes) {
        Ok(signed) if signed.len() <= MAX_BLOCK_TXS => signed,
        _ => vec![],
    }
}

/// Like [`decode`], but transactions for which `known` returns their verified equal
/// with the very bytes the payload lists (already checked for this chain, e.g. waiting in
/// the mempool) skip the signature check and are not encoded again: each transaction's
/// signature is then checked once per node, on admission, not again at commit. The result
/// is the same list `decode` gives, whatever `known` answers.
pub fn decode_with(
    bytes: &[u8],
    chain_id: &str,
    max_bytes: usize,
    known: impl Fn(&SignedTransaction) -> Option<VerifiedTransaction>,
) -> Vec<VerifiedTransaction> {
    if bytes.is_empty() {
        return vec![];
    }
    // Asked once per listed transaction, in order: the held equal, if its bytes match.
    let mut held: Vec<Option<VerifiedTransaction>> = Vec::new();
    let listed = codec::decode_list_with_bytes(bytes, max_bytes, MAX_BLOCK_TXS, |t, own| {
        let same = known(t).filter(|v| v.bytes() == own);
        let canonical = same.is_some();
        held.push(same);
        canonical
    });
    let Ok(listed) = listed else {
        return vec![];
    };
    let mut out: Vec<Option<VerifiedTransaction>> = Vec::with_capacity(listed.len());
    let mut unknown = Vec::new();
    let mut slots = Vec::new();
    for ((t, _), same) in listed.into_iter().zip(held) {
        if same.is_none() {
            slots.push(out.len());
            unknown.push(t.envelope());
        }
        out.push(same);
    }
    for (slot, r) in slots.into_iter().zip(verify_envelopes(unknown, chain_id)) {
        out[slot] = r.ok();
    }
    out.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::testkit::{doc, World, CHAIN_ID};
    use lianrong_contracts::Action;

    #[test]
    fn round_trip_drops_only_the_bad() {
        let mut w = World::new();
        let txs: Vec<_> = (0..5)
            .map(|i| {
                w.sign(
                    "SUP-1",
                    Action::AcceptOrder {
                        order: doc(&format!("PO-{i}")),
                    },
                )
            })
            .collect();
        let bytes = encode(&txs);
        // Built from the transactions' own bytes, it is the list's canonical encoding.
        let listed: Vec<&SignedTransaction> = txs.iter().map(|t| t.signed()).collect();
        assert_eq!(bytes, lianrong_primitives::encode(&listed));
        let back = decode(&bytes, CHAIN_ID, 1 << 20);
        assert_eq!(back, txs);
        assert!(decode(&bytes, "other-chain", 1 << 20).is_empty());
        assert!(decode(&bytes[..bytes.len() - 1], CHAIN_ID, 1 << 20).is_empty());
        assert!(
            decode(&bytes, CHAIN_ID, 10).is_empty(),
            "over the size limit"
        );
        assert!(decode(b"garbage", CHAIN_ID, 1 << 20).is_empty());

        let mut signed: Vec<SignedTransaction> = txs.iter().map(|t| t.signed().clone()).collect();
        signed[2].signature.0[0] ^= 1;
        let bytes = lianrong_primitives::encode(&signed);
        let back = decode(&bytes, CHAIN_ID, 1 << 20);
        assert_eq!(back.len(), 4);
        assert!(back.iter().all(|t| t.tx().nonce != 2));

        // Known transactions skip the check; the unknown ones (the tampered one among
        // them) are still verified, and the order is kept.
        let known = |s: &SignedTransaction| txs.iter().find(|t| t.tx() == &s.tx).cloned();
        let mixed = decode_with(&bytes, CHAIN_ID, 1 << 20, |s| {
            known(s).filter(|t| t.tx().nonce % 2 == 0)
        });
        assert_eq!(mixed, back);
        // A `known` that answers with a different transaction (here: the untampered
        // original of the tampered one) is not trusted.
        assert_eq!(decode_with(&bytes, CHAIN_ID, 1 << 20, known), back);
    }
}
