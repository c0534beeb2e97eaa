//! The signed transaction envelope.
//!
//! A transaction names the chain, the signer (org and member key), the signer key's next
//! nonce and one action. The signature covers `signing_message("lianrong/tx/v1",
//! chain_id, canonical bytes of the transaction)`. Decoding refuses anything over
//! [`MAX_TX_BYTES`] before reading it, trailing bytes and non-canonical encodings.
//! A [`VerifiedTransaction`] can only be made by checking the signature, so the executor
//! never sees an unchecked one.

use lianrong_primitives::{
    codec, sha256, signing_message, BatchVerifier, CodecError, Hash, OrgId, PublicKey, SecretKey,
    Signature, SignatureError,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::action::Action;

/// Namespace of transaction signatures; bump the version for an incompatible change.
pub const TX_NAMESPACE: &str = "lianrong/tx/v1";
/// Largest encoded signed transaction accepted anywhere.
pub const MAX_TX_BYTES: usize = 32 * 1024;
/// Longest chain id.
pub const MAX_CHAIN_ID_LEN: usize = 64;

/// Who signs: an org acting through one of its member keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signer {
    /// The acting organisation.
    pub org: OrgId,
    /// The member key that signs.
    pub key: PublicKey,
}

/// The signed content of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// The chain this is meant for; a transaction for another chain never verifies here.
    pub chain_id: String,
    /// Who signs.
    pub signer: Signer,
    /// The signing key's next nonce (replay protection).
    pub nonce: u64,
    /// What to do.
    pub action: Action,
}

impl Transaction {
    /// The exact bytes the signature covers.
    pub fn signing_bytes(&self) -> Vec<u8> {
        signing_message(TX_NAMESPACE, &self.chain_id, &codec::encode(self))
    }

    /// Signs with `key` (whose public key should be `self.signer.key`).
    pub fn sign(self, key: &SecretKey) -> SignedTransaction {
        let signature = key.sign(&self.signing_bytes());
        SignedTransaction {
            tx: self,
            signature,
        }
    }
}

/// A transaction and its signature, as submitted and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTransaction {
    /// The content.
    pub tx: Transaction,
    /// Ed25519 signature by `tx.signer.key`.
    pub signature: Signature,
}

/// Why a transaction envelope was refused before execution.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum TxError {
    /// Bytes that are not a canonical transaction.
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// Over the size limit.
    #[error("transaction of {len} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Size given.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// For another chain.
    #[error("wrong chain id: expected {expected:?}, got {got:?}")]
    WrongChain {
        /// This chain.
        expected: String,
        /// The transaction's.
        got: String,
    },
    /// The signature does not verify.
    #[error("bad signature: {0}")]
    BadSignature(SignatureError),
}

impl SignedTransaction {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Strict decoding with the size limit checked first.
    pub fn decode(bytes: &[u8]) -> Result<Self, TxError> {
        if bytes.len() > MAX_TX_BYTES {
            return Err(TxError::TooLarge {
                len: bytes.len(),
                limit: MAX_TX_BYTES,
            });
        }
        codec::decode(bytes, MAX_TX_BYTES).map_err(|e| match e {
            CodecError::TooLarge { len, limit } => TxError::TooLarge { len, limit },
            other => TxError::Malformed(other.to_string()),
        })
    }

    /// The transaction hash: SHA-256 of the canonical signed bytes. A node handling a
    /// transaction uses [`Envelope::hash`] instead, computed once with its bytes.
    pub fn hash(&self) -> Hash {
        sha256(&self.encode())
    }

    /// Encodes once: the envelope that carries the bytes and hash every later step
    /// (checks, mempool, gossip, block, commit) reuses.
    pub fn envelope(self) -> Envelope {
        let bytes = self.encode();
        Envelope::new(self, bytes.into())
    }

    /// Checks chain id, size and signature.
    pub fn verify(self, chain_id: &str) -> Result<VerifiedTransaction, TxError> {
        self.envelope().verify(chain_id)
    }
}

/// A signed transaction with its canonical bytes and their hash, each computed once per
/// node: from the bytes it arrived in ([`Envelope::decode`]; strict decoding already
/// proved they are the canonical encoding) or by one encoding
/// ([`SignedTransaction::envelope`]). [`Envelope::precheck`] checks its chain id and size,
/// [`Envelope::verify`] those and its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    signed: SignedTransaction,
    hash: Hash,
    /// Shared, so the mempool, a proposal, a gossip bundle and the commit hold one copy.
    bytes: Arc<[u8]>,
}

impl Envelope {
    fn new(signed: SignedTransaction, bytes: Arc<[u8]>) -> Self {
        Envelope {
            hash: sha256(&bytes),
            signed,
            bytes,
        }
    }

    /// Strict decoding with the size limit checked first, keeping `bytes` (canonical,
    /// since strict decoding refuses any other encoding) and hashing them once.
    pub fn decode(bytes: &[u8]) -> Result<Self, TxError> {
        let signed = SignedTransaction::decode(bytes)?;
        Ok(Envelope::new(signed, bytes.into()))
    }

    /// A list of signed transactions as gossip bundles and block payloads encode it
    /// (strictly, at most `limit` bytes and `max_items` transactions), each envelope
    /// keeping its own slice of `bytes`: checked canonical once, never encoded again.
    pub fn decode_list(
        bytes: &[u8],
        limit: usize,
        max_items: usize,
    ) -> Result<Vec<Envelope>, CodecError> {
        let listed = Self::decode_list_held(bytes, limit, max_items, |_, _| None)?;
        Ok((listed.into_iter())
            .filter_map(|t| match t {
                ListedTx::New(envelope) => Some(envelope),
                ListedTx::Held(_) => None,
            })
            .collect())
    }

    /// [`Self::decode_list`] of a list some of whose transactions the caller holds
    /// verified already (a block's, most of them in the mempool): `held(t, own)` may
    /// answer the one it holds for `t` listed as the bytes `own`, which counts only when
    /// its bytes are `own` and is then neither encoded again nor enveloped anew. Every
    /// other transaction comes back as an envelope of its own slice of `bytes`, encoded
    /// once to check that slice canonical, never again.
    pub fn decode_list_held(
        bytes: &[u8],
        limit: usize,
        max_items: usize,
        held: impl Fn(&SignedTransaction, &[u8]) -> Option<VerifiedTransaction>,
    ) -> Result<Vec<ListedTx>, CodecError> {
        // Asked once per listed transaction, in order.
        let mut found: Vec<Option<VerifiedTransaction>> = Vec::new();
        let listed = codec::decode_list_with_bytes(bytes, limit, max_items, |t, own| {
            let same = held(t, own).filter(|v| v.bytes() == own);
            let canonical = same.is_some();
            found.push(same);
            canonical
        })?;
        Ok((listed.into_iter().zip(found))
            .map(|((signed, own), same)| match same {
                Some(held) => ListedTx::Held(held),
                None => ListedTx::New(Envelope::new(signed, own.into())),
            })
            .collect())
    }

    /// The transaction hash (SHA-256 of the canonical bytes).
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// The signed transaction.
    pub fn signed(&self) -> &SignedTransaction {
        &self.signed
    }

    /// The canonical bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Checks chain id and size -- what verification refuses without touching the
    /// signature, so a caller can refuse cheaply first.
    pub fn precheck(&self, chain_id: &str) -> Result<(), TxError> {
        if self.signed.tx.chain_id != chain_id {
            return Err(TxError::WrongChain {
                expected: chain_id.to_string(),
                got: self
                    .signed
                    .tx
                    .chain_id
                    .chars()
                    .take(MAX_CHAIN_ID_LEN)
                    .collect(),
            });
        }
        if self.bytes.len() > MAX_TX_BYTES {
            return Err(TxError::TooLarge {
                len: self.bytes.len(),
                limit: MAX_TX_BYTES,
            });
        }
        Ok(())
    }

    /// Checks chain id, size and signature.
    pub fn verify(self, chain_id: &str) -> Result<VerifiedTransaction, TxError> {
        self.precheck(chain_id)?;
        lianrong_primitives::verify(
            &self.signed.tx.signer.key,
            &self.signing_bytes(),
            &self.signed.signature,
        )
        .map_err(TxError::BadSignature)?;
        Ok(VerifiedTransaction { envelope: self })
    }

    /// [`Transaction::signing_bytes`] without encoding the transaction again: a struct
    /// encodes as its fields one after another, so the transaction's bytes are the
    /// signed bytes before the signature's. Encodes only if that ever stops holding.
    fn signing_bytes(&self) -> Vec<u8> {
        let signature = codec::encode(&self.signed.signature);
        match self.bytes.strip_suffix(signature.as_slice()) {
            Some(tx) => signing_message(TX_NAMESPACE, &self.signed.tx.chain_id, tx),
            None => self.signed.tx.signing_bytes(),
        }
    }
}

/// One transaction of a list [`Envelope::decode_list_held`] decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListedTx {
    /// The verified transaction the caller held, with the very bytes listed.
    Held(VerifiedTransaction),
    /// An envelope of the listed bytes, its signature not yet checked.
    New(Envelope),
}

/// Verifies many transactions with one batch equation; each answer is exactly what
/// [`SignedTransaction::verify`] would say.
pub fn verify_batch(
    txs: Vec<SignedTransaction>,
    chain_id: &str,
) -> Vec<Result<VerifiedTransaction, TxError>> {
    let envelopes = txs.into_iter().map(SignedTransaction::envelope).collect();
    verify_envelopes(envelopes, chain_id)
}

/// [`verify_batch`] of envelopes.
pub fn verify_envelopes(
    envelopes: Vec<Envelope>,
    chain_id: &str,
) -> Vec<Result<VerifiedTransaction, TxError>> {
    let mut results: Vec<Option<Result<VerifiedTransaction, TxError>>> =
        Vec::with_capacity(envelopes.len());
    let mut batch = BatchVerifier::new();
    let mut pending = Vec::new();
    for (i, e) in envelopes.into_iter().enumerate() {
        match e.precheck(chain_id).map(|()| e) {
            Err(e) => results.push(Some(Err(e))),
            Ok(e) => {
                let t = &e.signed;
                batch.push(t.tx.signer.key, e.signing_bytes(), t.signature);
                pending.push((i, e));
                results.push(None);
            }
        }
    }
    for ((i, envelope), r) in pending.into_iter().zip(batch.verify()) {
        results[i] = Some(match r {
            Ok(()) => Ok(VerifiedTransaction { envelope }),
            Err(e) => Err(TxError::BadSignature(e)),
        });
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or(Err(TxError::Malformed("not verified".into()))))
        .collect()
}

/// A transaction whose chain id, size and signature were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTransaction {
    envelope: Envelope,
}

impl VerifiedTransaction {
    /// The transaction content.
    pub fn tx(&self) -> &Transaction {
        &self.envelope.signed.tx
    }

    /// The signed transaction.
    pub fn signed(&self) -> &SignedTransaction {
        &self.envelope.signed
    }

    /// Its hash.
    pub fn hash(&self) -> Hash {
        self.envelope.hash
    }

    /// Its canonical bytes (what blocks, gossip and the ledger store), encoded once.
    pub fn bytes(&self) -> &[u8] {
        &self.envelope.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DocId;

    fn tx(nonce: u64, key: &SecretKey) -> SignedTransaction {
        Transaction {
            chain_id: "lianrong-test".into(),
            signer: Signer {
                org: OrgId::new("SUP-A").unwrap(),
                key: key.public(),
            },
            nonce,
            action: Action::AcceptOrder {
                order: DocId::new("PO-1").unwrap(),
            },
        }
        .sign(key)
    }

    #[test]
    fn good_transaction_verifies_and_round_trips() {
        let k = SecretKey::from_seed([3; 32]);
        let t = tx(0, &k);
        let bytes = t.encode();
        let back = SignedTransaction::decode(&bytes).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.verify("lianrong-test").unwrap().hash(), t.hash());
    }

    #[test]
    fn tampering_wrong_chain_and_trailing_bytes_are_refused() {
        let k = SecretKey::from_seed([3; 32]);
        let mut t = tx(0, &k);
        t.tx.nonce = 1; // content changed after signing
        assert!(matches!(
            t.clone().verify("lianrong-test"),
            Err(TxError::BadSignature(_))
        ));
        let t = tx(0, &k);
        assert!(matches!(
            t.clone().verify("other-chain"),
            Err(TxError::WrongChain { .. })
        ));
        let mut bytes = t.encode();
        bytes.push(0);
        assert!(matches!(
            SignedTransaction::decode(&bytes),
            Err(TxError::Malformed(_))
        ));
        let huge = vec![0u8; MAX_TX_BYTES + 1];
        assert!(matches!(
            SignedTransaction::decode(&huge),
            Err(TxError::TooLarge { .. })
        ));
    }

    #[test]
    fn batch_verification_matches_single() {
        let k = SecretKey::from_seed([4; 32]);
        let mut txs: Vec<_> = (0..6).map(|n| tx(n, &k)).collect();
        txs[2].signature.0[0] ^= 1;
        txs[4].tx.chain_id = "elsewhere".into();
        let batch = verify_batch(txs.clone(), "lianrong-test");
        for (t, b) in txs.into_iter().zip(batch) {
            assert_eq!(t.verify("lianrong-test").is_ok(), b.is_ok());
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn any_tx() -> impl Strategy<Value = (u64, String, u8)> {
            (any::<u64>(), "[A-Za-z0-9 ]{0,200}", 1u8..=255)
        }

        fn make(nonce: u64, terms: String, seed: u8) -> (SecretKey, SignedTransaction) {
            let k = SecretKey::from_seed([seed; 32]);
            let tx = Transaction {
                chain_id: "lianrong-test".into(),
                signer: Signer {
                    org: OrgId::new("CORE-A").unwrap(),
                    key: k.public(),
                },
                nonce,
                action: Action::IssueOrder {
                    id: DocId::new("PO-1").unwrap(),
                    seller: OrgId::new("SUP-A").unwrap(),
                    amount: crate::money::Money::parse("10.00", "CNY").unwrap(),
                    terms,
                    doc_hash: Hash::ZERO,
                    carriers: vec![],
                },
            };
            let signed = tx.sign(&k);
            (k, signed)
        }

        proptest! {
            #[test]
            fn round_trip_and_verify((nonce, terms, seed) in any_tx()) {
                let (_, t) = make(nonce, terms, seed);
                let back = SignedTransaction::decode(&t.encode()).unwrap();
                prop_assert_eq!(&back, &t);
                prop_assert!(back.verify("lianrong-test").is_ok());
            }

            /// What a node computes once and reuses is what encoding, hashing and
            /// signing from scratch give -- by both ways an envelope is made.
            #[test]
            fn an_envelope_s_bytes_hash_and_signed_message_are_the_canonical_ones(
                (nonce, terms, seed) in any_tx()
            ) {
                let (_, t) = make(nonce, terms.clone(), seed);
                let encoded = t.encode();
                let decoded = Envelope::decode(&encoded).unwrap();
                let made = t.clone().envelope();
                prop_assert_eq!(&decoded, &made);
                prop_assert_eq!(made.bytes(), encoded.as_slice());
                prop_assert_eq!(made.hash(), t.hash());
                prop_assert_eq!(made.signing_bytes(), t.tx.signing_bytes());
                let listed = Envelope::decode_list(&codec::encode(&vec![&t, &t]), 1 << 20, 2);
                prop_assert_eq!(listed.unwrap(), vec![made.clone(), made.clone()]);
                let verified = decoded.verify("lianrong-test").unwrap();
                prop_assert_eq!(verified.bytes(), encoded.as_slice());
                prop_assert_eq!(verified.hash(), t.hash());
                // A held transaction counts only with the listed bytes; the others come
                // back as envelopes of the list's own bytes.
                let list = codec::encode(&vec![&t, &t]);
                let asked = std::cell::RefCell::new(Vec::new());
                let held = Envelope::decode_list_held(&list, 1 << 20, 2, |_, own| {
                    asked.borrow_mut().push(own.to_vec());
                    Some(verified.clone())
                }).unwrap();
                prop_assert_eq!(asked.into_inner(), vec![encoded.clone(), encoded.clone()]);
                prop_assert_eq!(&held, &vec![ListedTx::Held(verified.clone()), ListedTx::Held(verified.clone())]);
                let (_, other) = make(nonce.wrapping_add(1), terms, seed);
                let wrong = other.envelope().verify("lianrong-test").unwrap();
                let held = Envelope::decode_list_held(&list, 1 << 20, 2, |_, _| Some(wrong.clone()))
                    .unwrap();
                prop_assert_eq!(held, vec![ListedTx::New(made.clone()), ListedTx::New(made.clone())]);
            }

            #[test]
            fn any_flipped_signature_bit_is_refused((nonce, terms, seed) in any_tx(), bit in 0usize..512) {
                let (_, mut t) = make(nonce, terms, seed);
                t.signature.0[bit / 8] ^= 1 << (bit % 8);
                let ok = matches!(t.verify("lianrong-test"), Err(TxError::BadSignature(_)));
                prop_assert!(ok);
            }

            #[test]
            fn any_changed_content_is_refused((nonce, terms, seed) in any_tx(), other in any::<u64>()) {
                prop_assume!(other != nonce);
                let (_, mut t) = make(nonce, terms, seed);
                t.tx.nonce = other;
                let ok = matches!(t.verify("lianrong-test"), Err(TxError::BadSignature(_)));
                prop_assert!(ok);
            }

            #[test]
            fn another_chain_is_refused((nonce, terms, seed) in any_tx(), chain in "[a-z]{1,20}") {
                prop_assume!(chain != "lianrong-test");
                let (k, mut t) = make(nonce, terms, seed);
                let ok = matches!(t.clone().verify(&chain), Err(TxError::WrongChain { .. }));
                prop_assert!(ok);
                // Re-signed for the other chain, it still fails here: the chain id is signed.
                t.tx.chain_id = chain.clone();
                let resigned = t.tx.clone().sign(&k);
                prop_assert!(resigned.clone().verify(&chain).is_ok());
                prop_assert!(resigned.verify("lianrong-test").is_err());
            }

            #[test]
            fn oversize_is_refused_before_decoding(extra in 1usize..4096) {
                let (_, t) = make(0, "x".repeat(MAX_TX_BYTES + extra), 1);
                let bytes = t.encode();
                let ok = matches!(SignedTransaction::decode(&bytes), Err(TxError::TooLarge { .. }));
                prop_assert!(ok);
                let ok = matches!(t.verify("lianrong-test"), Err(TxError::TooLarge { .. }));
                prop_assert!(ok);
            }
        }
    }
}
