//! What a block's opaque consensus payload holds: the canonical encoding of a list of
//! signed transactions.
//!
//! Every node turns a finalized payload into the same list of transactions to execute:
//! bytes that do not decode strictly give an empty list, and transactions whose chain id,
//! size or signature fail are left out (ZIP-215 makes that decision identical on every
//! node). A faulty proposer can therefore waste a block, never fork the state.

use lianrong_contracts::{
    verify_envelopes, Envelope, ListedTx, SignedTransaction, VerifiedTransaction,
};
use std::ops::Range;

use lianrong_primitives::{codec, PublicKey};

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
    decode_with(bytes, chain_id, max_bytes, |_, _| None)
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
/// with the very bytes the payload lists (`known` is given the decoded transaction and
/// its listed bytes; already checked for this chain, e.g. waiting in the mempool) skip
/// the signature check and are not encoded again: each transaction's signature is then
/// checked once per node, on admission, not again at commit. The result is the same list
/// `decode` gives, whatever `known` answers.
pub fn decode_with(
    bytes: &[u8],
    chain_id: &str,
    max_bytes: usize,
    known: impl Fn(&SignedTransaction, &[u8]) -> Option<VerifiedTransaction>,
) -> Vec<VerifiedTransaction> {
    if bytes.is_empty() {
        return vec![];
    }
    let Ok(listed) = Envelope::decode_list_held(bytes, max_bytes, MAX_BLOCK_TXS, known) else {
        return vec![];
    };
    let mut out: Vec<Option<VerifiedTransaction>> = Vec::with_capacity(listed.len());
    let mut unknown = Vec::new();
    let mut slots = Vec::new();
    for item in listed {
        match item {
            ListedTx::Held(same) => out.push(Some(same)),
            ListedTx::New(envelope) => {
                slots.push(out.len());
                unknown.push(envelope);
                out.push(None);
            }
        }
    }
    with_checked(out, slots, unknown, chain_id)
}

/// `out` with the empty place `slots[i]` filled by the check of `unknown[i]` (all checked
/// with one batch equation), and the places still empty (refused) left out.
fn with_checked(
    mut out: Vec<Option<VerifiedTransaction>>,
    slots: Vec<usize>,
    unknown: Vec<Envelope>,
    chain_id: &str,
) -> Vec<VerifiedTransaction> {
    for (slot, r) in slots.into_iter().zip(verify_envelopes(unknown, chain_id)) {
        out[slot] = r.ok();
    }
    out.into_iter().flatten().collect()
}

/// Where one transaction a payload lists is: its signer's key and nonce (how a mempool
/// finds it) and the range of its canonical bytes in the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub signer: PublicKey,
    pub nonce: u64,
    pub at: Range<usize>,
}

/// Where each transaction a payload lists is, in order: none if the bytes do not decode
/// strictly or list more than [`MAX_BLOCK_TXS`] (as [`listed`]). `held` answers whether
/// a listed transaction with those very bytes is held already verified (a mempool's
/// copy): such a one is not encoded again to check its encoding is canonical, as
/// [`decode_with`] skips it. A transaction found for every entry, with exactly the
/// bytes at its range, is one of the list [`decode`] gives, in its place: so a node that
/// holds them all needs neither to decode the payload again nor check a signature.
pub fn index(
    bytes: &[u8],
    max_bytes: usize,
    held: impl FnMut(&SignedTransaction, &[u8]) -> bool,
) -> Vec<Listed> {
    if bytes.is_empty() {
        return vec![];
    }
    let Ok(listed) =
        codec::decode_list_with_bytes::<SignedTransaction>(bytes, max_bytes, MAX_BLOCK_TXS, held)
    else {
        return vec![];
    };
    // The list's 8-byte length, then each transaction's bytes, nothing between.
    let mut at = 8;
    let mut out = Vec::with_capacity(listed.len());
    for (t, own) in listed {
        out.push(Listed {
            signer: t.tx.signer.key,
            nonce: t.tx.nonce,
            at: at..at + own.len(),
        });
        at += own.len();
    }
    out
}

/// [`decode_with`] for a payload already indexed ([`index`] of these very `bytes`),
/// without decoding it whole again: `known` answers for an entry with its listed bytes
/// (a held transaction with exactly those bytes, as for `decode_with`), and only the
/// entries it does not know are decoded, from their own ranges, and checked (one batch
/// equation). The same list `decode_with` gives; `None` if an entry does not fit the
/// payload (not an index of it), and then nothing is decided here.
pub fn decode_indexed(
    bytes: &[u8],
    chain_id: &str,
    listed: &[Listed],
    known: impl Fn(&Listed, &[u8]) -> Option<VerifiedTransaction>,
) -> Option<Vec<VerifiedTransaction>> {
    let mut out: Vec<Option<VerifiedTransaction>> = Vec::with_capacity(listed.len());
    let mut unknown = Vec::new();
    let mut slots = Vec::new();
    for l in listed {
        let own = bytes.get(l.at.clone())?;
        let same = known(l, own).filter(|v| v.bytes() == own);
        if same.is_none() {
            // Each range held one strictly decoded, canonical transaction of the list.
            let envelope = Envelope::decode(own).ok()?;
            slots.push(out.len());
            unknown.push(envelope);
        }
        out.push(same);
    }
    Some(with_checked(out, slots, unknown, chain_id))
}

/// [`encode`]'s payload and where each transaction is in it ([`index`]'s answer for it).
pub fn encode_indexed(txs: &[VerifiedTransaction]) -> (Vec<u8>, Vec<Listed>) {
    let bytes = encode(txs);
    let mut at = 8;
    let listed = txs
        .iter()
        .map(|t| {
            let len = t.bytes().len();
            at += len;
            Listed {
                signer: t.tx().signer.key,
                nonce: t.tx().nonce,
                at: at - len..at,
            }
        })
        .collect();
    (bytes, listed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::testkit::{doc, World, CHAIN_ID};
    use lianrong_contracts::Action;

    /// Five acceptances of orders, signed by `signers` in turn.
    fn accepted(signers: &[&str]) -> Vec<VerifiedTransaction> {
        let mut w = World::new();
        (0..5)
            .map(|i| {
                w.sign(
                    signers[i % signers.len()],
                    Action::AcceptOrder {
                        order: doc(&format!("PO-{i}")),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn round_trip_drops_only_the_bad() {
        let txs = accepted(&["SUP-1"]);
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
        let known = |s: &SignedTransaction, _: &[u8]| txs.iter().find(|t| t.tx() == &s.tx).cloned();
        let mixed = decode_with(&bytes, CHAIN_ID, 1 << 20, |s, own| {
            known(s, own).filter(|t| t.tx().nonce % 2 == 0)
        });
        assert_eq!(mixed, back);
        // A `known` that answers with a different transaction (here: the untampered
        // original of the tampered one) is not trusted.
        assert_eq!(decode_with(&bytes, CHAIN_ID, 1 << 20, known), back);
    }

    #[test]
    fn an_index_finds_each_transaction_decode_gives() {
        let txs = accepted(&["SUP-1", "SUP-2"]);
        let (bytes, indexed) = encode_indexed(&txs);
        assert_eq!(bytes, encode(&txs));
        // Whatever is held, the index is the same, and each entry's range holds the very
        // bytes of the transaction `decode` gives in its place.
        let decoded = decode(&bytes, CHAIN_ID, 1 << 20);
        for mask in 0u32..(1 << txs.len()) {
            let mut asked = 0;
            let listed = index(&bytes, 1 << 20, |s, own| {
                let i = asked;
                asked += 1;
                assert_eq!(txs[i].signed(), s);
                assert_eq!(txs[i].bytes(), own, "the bytes given are the transaction's");
                mask & (1 << i) != 0
            });
            assert_eq!(listed, indexed, "mask {mask:#b}");
        }
        assert_eq!(decoded.len(), indexed.len());
        for (l, t) in indexed.iter().zip(&decoded) {
            assert_eq!(&bytes[l.at.clone()], t.bytes());
            assert_eq!((l.signer, l.nonce), (t.tx().signer.key, t.tx().nonce));
        }
        // Decoded from the index, whatever is held (the tampered one dropped as by
        // `decode`), and an index of another payload is not used.
        let mut signed: Vec<SignedTransaction> = txs.iter().map(|t| t.signed().clone()).collect();
        signed[3].signature.0[0] ^= 1;
        let tampered = lianrong_primitives::encode(&signed);
        let tampered_index = index(&tampered, 1 << 20, |_, _| false);
        let expected = decode(&tampered, CHAIN_ID, 1 << 20);
        assert_eq!(expected.len(), 4);
        for mask in 0u32..(1 << txs.len()) {
            let back = decode_indexed(&tampered, CHAIN_ID, &tampered_index, |l, _| {
                let i = tampered_index.iter().position(|x| x == l)?;
                // A held copy is only ever the untampered original: not trusted.
                (mask & (1 << i) != 0).then(|| txs[i].clone())
            });
            assert_eq!(back.as_ref(), Some(&expected), "mask {mask:#b}");
        }
        assert_eq!(
            decode_indexed(&bytes, CHAIN_ID, &indexed, |_, _| None),
            Some(decoded)
        );
        assert_eq!(
            decode_indexed(&bytes[..40], CHAIN_ID, &indexed, |_, _| None),
            None
        );
        let mut shifted = indexed.clone();
        shifted[0].at = 9..shifted[0].at.end;
        assert_eq!(
            decode_indexed(&bytes, CHAIN_ID, &shifted, |_, _| None),
            None
        );

        // A payload that does not decode strictly lists nothing, as `decode` gives nothing.
        let yes = |_: &SignedTransaction, _: &[u8]| true;
        assert!(index(&bytes[..bytes.len() - 1], 1 << 20, yes).is_empty());
        assert!(index(&bytes, 10, yes).is_empty(), "over the size limit");
        assert!(index(b"garbage", 1 << 20, yes).is_empty());
        assert!(index(&[], 1 << 20, yes).is_empty());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(index(&longer, 1 << 20, yes).is_empty());
        assert!(decode(&longer, CHAIN_ID, 1 << 20).is_empty());
    }
}
