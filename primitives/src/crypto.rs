//! Ed25519 keys and signatures with ONE validity rule everywhere.
//!
//! Keys are plain Ed25519 (RFC 8032), generated and used for signing with
//! `ed25519-dalek`. Validity is decided by ZIP-215 (`ed25519-zebra`) in both the single
//! and the batch check: ZIP-215's cofactored equation makes the two agree on every input,
//! including the crafted small-order and non-canonical points on which dalek's own single
//! and batch checks disagree. A batch may only speed up a decision, never change it.
//!
//! ed25519-zebra 4 replaced ed25519-consensus 2.1 (issue 17): the same ZIP-215 equations
//! (ed25519-consensus is a fork of it) on curve25519-dalek 4, which picks AVX2 at run time,
//! instead of curve25519-dalek-ng: 34.6 instead of 41.5 us of CPU per single check, 8.2
//! instead of 9.3 us per signature in batches of 1,024 (`benches/verify.rs`).
//! `tests/zip215.rs` checks the two decide alike on every ZIP-215 edge case and on random
//! inputs, alone, batched and mixed into honest batches.
//!
//! The batch equation itself is written here ([`BatchVerifier::equation_holds`], zebra's
//! equation on the same curve) so that keys' decompressed points are kept between batches.

use std::sync::{Mutex, PoisonError};

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use hashlink::LruCache;
use serde::{Deserialize, Serialize};

crate::fixed_bytes!(
    /// An Ed25519 public key (member key or node key), 32 bytes.
    PublicKey,
    32
);

crate::fixed_bytes!(
    /// An Ed25519 signature, 64 bytes.
    Signature,
    64
);

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum SignatureError {
    /// The public key bytes are not a point on the curve.
    #[error("malformed public key")]
    MalformedKey,
    /// The signature does not verify for this key and message.
    #[error("invalid signature")]
    Invalid,
}

/// Why a public key may not be registered as a member or node key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The bytes are not a point on the curve.
    #[error("not a point on the curve")]
    NotAPoint,
    /// A point, but not in its one canonical encoding.
    #[error("not the canonical encoding of its point")]
    NonCanonical,
    /// A point of small order: ZIP-215's cofactored equation accepts a signature with
    /// s = 0 and R = the identity for it on ANY message, so anyone could sign as its
    /// holder.
    #[error("a small-order point, for which anyone can forge a signature")]
    SmallOrder,
}

impl PublicKey {
    /// Whether this key may be registered (a member key of an org, a validator's node
    /// key): a canonically encoded point of large order. Checked wherever a key enters
    /// the ledger (genesis, admission, key and validator changes); a key from
    /// [`SecretKey::public`] always passes.
    pub fn check_registrable(&self) -> Result<(), KeyError> {
        let compressed = CompressedEdwardsY(self.0);
        let point = compressed.decompress().ok_or(KeyError::NotAPoint)?;
        if point.compress().to_bytes() != self.0 {
            return Err(KeyError::NonCanonical);
        }
        if point.is_small_order() {
            return Err(KeyError::SmallOrder);
        }
        Ok(())
    }
}

/// An Ed25519 secret key. Never serialized by serde; see [`SecretKey::to_bytes`].
#[derive(Clone)]
pub struct SecretKey(ed25519_dalek::SigningKey);

impl SecretKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        Self(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// The key for a 32-byte seed (deterministic; used by tests and the simulator).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The 32-byte seed. Handle with care: this is the secret.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs `message` (already domain-separated; see [`signing_message`]).
    pub fn sign(&self, message: &[u8]) -> Signature {
        use ed25519_dalek::Signer;
        Signature(self.0.sign(message).to_bytes())
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey(public {})", self.public())
    }
}

/// The bytes that are actually signed: a namespace (such as `lianrong/tx/v1`) and the
/// chain id, each length-prefixed, then the payload. A signature made for one purpose or
/// one chain can therefore never be valid for another.
pub fn signing_message(namespace: &str, chain_id: &str, payload: &[u8]) -> Vec<u8> {
    assert!(namespace.len() <= u8::MAX as usize && chain_id.len() <= u8::MAX as usize);
    let mut m = Vec::with_capacity(2 + namespace.len() + chain_id.len() + payload.len());
    m.push(namespace.len() as u8);
    m.extend_from_slice(namespace.as_bytes());
    m.push(chain_id.len() as u8);
    m.extend_from_slice(chain_id.as_bytes());
    m.extend_from_slice(payload);
    m
}

/// The one signature-validity rule (ZIP-215).
pub fn verify(
    key: &PublicKey,
    message: &[u8],
    signature: &Signature,
) -> Result<(), SignatureError> {
    let vk = ed25519_zebra::VerificationKey::try_from(key.0)
        .map_err(|_| SignatureError::MalformedKey)?;
    vk.verify(&ed25519_zebra::Signature::from_bytes(&signature.0), message)
        .map_err(|_| SignatureError::Invalid)
}

/// Checks many signatures at once; the answer for each is exactly what [`verify`] says.
#[derive(Default)]
pub struct BatchVerifier {
    items: Vec<(PublicKey, Signature, Vec<u8>)>,
}

impl BatchVerifier {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one signature to check.
    pub fn push(&mut self, key: PublicKey, message: Vec<u8>, signature: Signature) {
        self.items.push((key, signature, message));
    }

    /// Number of queued signatures.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// One result per pushed item, in order. The fast path is one batch equation; if it
    /// fails, each item is checked alone to find the bad ones. A key that is not a point
    /// fails the batch equation too (it cannot be decompressed), so keys are not parsed
    /// twice up front; the single checks then name it `MalformedKey`.
    pub fn verify(self) -> Vec<Result<(), SignatureError>> {
        if self.equation_holds() {
            return vec![Ok(()); self.items.len()];
        }
        self.items.iter().map(|(k, s, m)| verify(k, m, s)).collect()
    }

    /// ZIP-215's batch equation over every queued signature, without the single checks
    /// [`Self::verify`] falls back to (exposed so tests can see the equation itself: a
    /// fallback would hide one that refuses valid signatures):
    /// `[8](-(sum z_i s_i) B + sum_A (sum z_i k_i) A + sum z_i R_i) = 0`, with random
    /// 128-bit weights `z_i` and `k_i = SHA-512(R_i || A_i || M_i)`, signatures of one key
    /// sharing that key's term -- the equation ed25519-zebra's batch verifier computes,
    /// on the same curve25519-dalek, but with keys' points from [`key_point`]'s cache.
    #[allow(non_snake_case)]
    pub fn equation_holds(&self) -> bool {
        use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
        use rand::Rng;
        use sha2::Digest;
        // The weights must be unpredictable to whoever chose the signatures: the thread's
        // CSPRNG (seeded from the OS), not `OsRng`, which costs a system call per weight.
        let mut rng = rand::thread_rng();
        let n = self.items.len();
        let mut slot_of_key = std::collections::HashMap::with_capacity(n);
        let (mut As, mut A_weights) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut Rs, mut R_weights) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let mut B_weight = Scalar::ZERO;
        for (key, sig, msg) in &self.items {
            let slot = match slot_of_key.entry(key.0) {
                std::collections::hash_map::Entry::Occupied(e) => *e.get(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let Some(A) = key_point(&key.0) else {
                        return false;
                    };
                    As.push(A);
                    A_weights.push(Scalar::ZERO);
                    *e.insert(As.len() - 1)
                }
            };
            let halves = ed25519_zebra::Signature::from_bytes(&sig.0);
            let (R_bytes, s_bytes) = (*halves.r_bytes(), *halves.s_bytes());
            let Some(R) = CompressedEdwardsY(R_bytes).decompress() else {
                return false;
            };
            let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
                return false;
            };
            let hash = sha2::Sha512::new()
                .chain_update(R_bytes)
                .chain_update(key.0)
                .chain_update(msg)
                .finalize();
            let k = Scalar::from_bytes_mod_order_wide(&hash.into());
            let z = Scalar::from(rng.gen::<u128>());
            B_weight -= z * s;
            A_weights[slot] += z * k;
            Rs.push(R);
            R_weights.push(z);
        }
        let check = EdwardsPoint::vartime_multiscalar_mul(
            std::iter::once(&B_weight)
                .chain(&A_weights)
                .chain(&R_weights),
            std::iter::once(&curve25519_dalek::constants::ED25519_BASEPOINT_POINT)
                .chain(&As)
                .chain(&Rs),
        );
        check.mul_by_cofactor().is_identity()
    }
}

/// How many public keys' points [`key_point`] keeps: ~0.8 MiB (a point is 160 bytes, with
/// its encoding and the LRU's entry ~200), part of the node's fixed memory reserve. Far
/// more than the keys signing in any few seconds of a ledger of 1,000 orgs.
pub const KEY_POINT_CACHE_ENTRIES: usize = 4096;

/// The point of a public key, from the cache of the last [`KEY_POINT_CACHE_ENTRIES`]
/// keys batches checked; `None` if the bytes are not a point (not cached). Decompressing
/// a key is a square root in the field, about a quarter of a batch's time per signature,
/// and a ledger's signers sign again and again; decompression is a pure function of the
/// 32 bytes, so a point found here is the one decompressing would give.
fn key_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    static CACHE: std::sync::OnceLock<Mutex<LruCache<[u8; 32], EdwardsPoint>>> =
        std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(LruCache::new(KEY_POINT_CACHE_ENTRIES)));
    // The lock guards no invariant a panic could break (a lookup or an insert of a
    // correct point), so a poisoned one is used as it is.
    let lock = || cache.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(point) = lock().get(bytes) {
        return Some(*point);
    }
    let point = CompressedEdwardsY(*bytes).decompress()?;
    lock().insert(*bytes, point);
    Some(point)
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::EIGHT_TORSION;

    fn key(n: u8) -> SecretKey {
        SecretKey::from_seed([n; 32])
    }

    #[test]
    fn sign_and_verify() {
        let k = key(1);
        let msg = signing_message("lianrong/tx/v1", "test-chain", b"hello");
        let sig = k.sign(&msg);
        assert_eq!(verify(&k.public(), &msg, &sig), Ok(()));
        assert_eq!(
            verify(&key(2).public(), &msg, &sig),
            Err(SignatureError::Invalid)
        );
        let other_chain = signing_message("lianrong/tx/v1", "other-chain", b"hello");
        assert_eq!(
            verify(&k.public(), &other_chain, &sig),
            Err(SignatureError::Invalid)
        );
        let other_purpose = signing_message("lianrong/vote/v1", "test-chain", b"hello");
        assert_eq!(
            verify(&k.public(), &other_purpose, &sig),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn batch_reports_each_bad_signature() {
        let mut b = BatchVerifier::new();
        for i in 0..10u8 {
            let k = key(i + 1);
            let msg = vec![i; 8];
            let mut sig = k.sign(&msg);
            if i % 3 == 0 {
                sig.0[5] ^= 1;
            }
            b.push(k.public(), msg, sig);
        }
        let results = b.verify();
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.is_ok(), i % 3 != 0, "item {i}");
        }
    }

    #[test]
    fn the_batch_equation_holds_for_honest_batches_only() {
        // Three keys, each signing several messages: a key's signatures share its term.
        let signed: Vec<(PublicKey, Vec<u8>, Signature)> = (0..12u8)
            .map(|i| {
                let k = key(40 + i % 3);
                let msg = vec![i; 1 + usize::from(i)];
                let sig = k.sign(&msg);
                (k.public(), msg, sig)
            })
            .collect();
        let batch = |items: &[(PublicKey, Vec<u8>, Signature)]| {
            let mut b = BatchVerifier::new();
            for (k, m, s) in items {
                b.push(*k, m.clone(), *s);
            }
            b
        };
        // Twice: the keys' points decompressed, then from the cache.
        for _ in 0..2 {
            assert!(batch(&signed).equation_holds());
        }
        for i in 0..signed.len() {
            let mut tampered = signed.clone();
            tampered[i].2 .0[i % 64] ^= 1;
            assert!(!batch(&tampered).equation_holds(), "signature {i} tampered");
            // The right key, message and signature, but another of the same key's
            // messages: the per-key sum must not let signatures trade messages.
            let mut swapped = signed.clone();
            let j = (i + 3) % signed.len();
            let (mi, mj) = (swapped[i].1.clone(), swapped[j].1.clone());
            swapped[i].1 = mj;
            swapped[j].1 = mi;
            assert!(
                !batch(&swapped).equation_holds(),
                "messages {i} and {j} swapped"
            );
        }
        assert!(BatchVerifier::new().equation_holds(), "nothing to refuse");
    }

    /// Every encoding of a small-order point (canonical, and with the sign bit flipped)
    /// plus the non-canonical encodings of y = 0 and y = 1 - the inputs on which
    /// libraries that implement different equations disagree.
    fn small_order_encodings() -> Vec<[u8; 32]> {
        let mut out = Vec::new();
        for p in EIGHT_TORSION.iter() {
            let c = p.compress().to_bytes();
            out.push(c);
            let mut flipped = c;
            flipped[31] ^= 0x80;
            out.push(flipped);
        }
        // y = p (non-canonical 0) and y = p + 1 (non-canonical 1).
        let mut p_enc = [0xffu8; 32];
        p_enc[0] = 0xed;
        p_enc[31] = 0x7f;
        out.push(p_enc);
        let mut p1 = p_enc;
        p1[0] = 0xee;
        out.push(p1);
        out
    }

    #[test]
    fn small_order_and_non_canonical_keys_are_not_registrable() {
        for enc in small_order_encodings() {
            let key = PublicKey(enc);
            assert!(
                key.check_registrable().is_err(),
                "{key} would let anyone sign"
            );
            // Why it matters: s = 0, R = identity verifies for any message under it.
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&EIGHT_TORSION[0].compress().to_bytes());
            if key.check_registrable() == Err(KeyError::SmallOrder) {
                assert!(verify(&key, b"anything at all", &Signature(sig)).is_ok());
            }
        }
        for seed in 0..64u8 {
            let key = SecretKey::from_seed([seed; 32]).public();
            assert_eq!(key.check_registrable(), Ok(()), "{key}");
        }
        // About half of all y have no x on the curve.
        let off_curve = (2u8..=255)
            .map(|y| {
                let mut b = [0u8; 32];
                b[0] = y;
                PublicKey(b)
            })
            .find(|k| {
                curve25519_dalek::edwards::CompressedEdwardsY(k.0)
                    .decompress()
                    .is_none()
            })
            .expect("some small y is off the curve");
        assert_eq!(off_curve.check_registrable(), Err(KeyError::NotAPoint));
    }

    #[test]
    fn single_and_batch_checks_agree_on_crafted_signatures() {
        let msg = b"zip-215 agreement".to_vec();
        let encodings = small_order_encodings();
        let mut disagreements_in_dalek = 0;
        for a in &encodings {
            for r in &encodings {
                let mut sig = [0u8; 64];
                sig[..32].copy_from_slice(r);
                let key = PublicKey(*a);
                let sig = Signature(sig);
                let single = verify(&key, &msg, &sig);
                let mut b = BatchVerifier::new();
                b.push(key, msg.clone(), sig);
                let batched = b.verify().remove(0);
                assert_eq!(single, batched, "A={} R={}", hex::encode(a), hex::encode(r));
                // A batch mixing this item with honest ones must give the same answer.
                let honest = key_for_mix();
                let mut mixed = BatchVerifier::new();
                mixed.push(honest.0, honest.1.clone(), honest.2);
                mixed.push(key, msg.clone(), sig);
                let results = mixed.verify();
                assert_eq!(results[0], Ok(()));
                assert_eq!(results[1], single);

                if let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(a) {
                    let ds = ed25519_dalek::Signature::from_bytes(&sig.0);
                    let strict = vk.verify_strict(&msg, &ds).is_ok();
                    if strict != single.is_ok() {
                        disagreements_in_dalek += 1;
                    }
                }
            }
        }
        // The crafted set really exercises the corner: dalek's `verify_strict` decides
        // differently from ZIP-215 on some of these inputs, so a node mixing rules would fork.
        assert!(disagreements_in_dalek > 0);
    }

    fn key_for_mix() -> (PublicKey, Vec<u8>, Signature) {
        let k = key(9);
        let m = b"honest".to_vec();
        let s = k.sign(&m);
        (k.public(), m, s)
    }

    #[test]
    fn malformed_key_is_reported() {
        // y = 2 is not on the curve for either sign of x.
        let mut bad = [0u8; 32];
        bad[0] = 2;
        let r = verify(&PublicKey(bad), b"m", &Signature([0u8; 64]));
        assert_eq!(r, Err(SignatureError::MalformedKey));
    }
}
