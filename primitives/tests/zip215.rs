//! ZIP-215 edge cases and a differential test: the ledger's verifier (ed25519-zebra since
//! issue 17) must decide exactly as the previous one (ed25519-consensus) did, and single,
//! batched and mixed-batch checks must agree, on every input. A disagreement between two
//! validators' verifiers is a fork, so the cases are the ones where Ed25519 libraries are
//! known to part ways (small-order and mixed-order points, non-canonical encodings of `A`
//! and `R`, unreduced `s`), then random inputs.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use lianrong_primitives::{verify, BatchVerifier, PublicKey, SecretKey, Signature};
use proptest::prelude::*;
use sha2::{Digest, Sha512};

/// One verdict per way of checking; all must be equal.
#[derive(Debug, PartialEq, Eq)]
struct Verdicts {
    single: bool,
    batch_alone: bool,
    batch_mixed: bool,
    ledger_batch_equation: bool,
    ledger_batch_equation_cached_key: bool,
    zebra_batch_equation: bool,
    old_single: bool,
    old_batch_equation: bool,
}

fn verdicts(key: [u8; 32], msg: &[u8], sig: [u8; 64]) -> Verdicts {
    let (pk, s) = (PublicKey(key), Signature(sig));
    let mut alone = BatchVerifier::new();
    alone.push(pk, msg.to_vec(), s);
    // The same item between honest ones: its answer must not depend on its neighbours,
    // and theirs not on it.
    let mut mixed = BatchVerifier::new();
    let honest = |n: u8| {
        let k = SecretKey::from_seed([n; 32]);
        let m = vec![n; 40];
        let sig = k.sign(&m);
        (k.public(), m, sig)
    };
    let (k1, m1, s1) = honest(201);
    let (k2, m2, s2) = honest(202);
    mixed.push(k1, m1, s1);
    mixed.push(pk, msg.to_vec(), s);
    mixed.push(k2, m2, s2);
    let mixed = mixed.verify();
    assert!(
        mixed[0].is_ok() && mixed[2].is_ok(),
        "honest neighbours refused"
    );
    // The raw batch equations, without BatchVerifier's single-check fallback (which would
    // hide a batch equation that refuses a valid signature). The ledger's twice: the
    // second time with the key's point from its cache (a key that is a point).
    let mut equation = BatchVerifier::new();
    equation.push(pk, msg.to_vec(), s);
    let ledger_batch_equation = equation.equation_holds();
    let mut zb = ed25519_zebra::batch::Verifier::new();
    zb.queue((
        ed25519_zebra::VerificationKeyBytes::from(key),
        ed25519_zebra::Signature::from_bytes(&sig),
        msg,
    ));
    let mut ob = ed25519_consensus::batch::Verifier::new();
    ob.queue((
        ed25519_consensus::VerificationKeyBytes::from(key),
        ed25519_consensus::Signature::from(sig),
        msg,
    ));
    Verdicts {
        single: verify(&pk, msg, &s).is_ok(),
        batch_alone: alone.verify()[0].is_ok(),
        batch_mixed: mixed[1].is_ok(),
        ledger_batch_equation,
        ledger_batch_equation_cached_key: equation.equation_holds(),
        zebra_batch_equation: zb.verify(rand::thread_rng()).is_ok(),
        old_single: ed25519_consensus::VerificationKey::try_from(key)
            .and_then(|vk| vk.verify(&ed25519_consensus::Signature::from(sig), msg))
            .is_ok(),
        old_batch_equation: ob.verify(rand::thread_rng()).is_ok(),
    }
}

/// Asserts every check gives `expected` and returns it.
fn assert_all(key: [u8; 32], msg: &[u8], sig: [u8; 64], expected: bool, what: &str) {
    let v = verdicts(key, msg, sig);
    let all = Verdicts {
        single: expected,
        batch_alone: expected,
        batch_mixed: expected,
        ledger_batch_equation: expected,
        ledger_batch_equation_cached_key: expected,
        zebra_batch_equation: expected,
        old_single: expected,
        old_batch_equation: expected,
    };
    assert_eq!(
        v,
        all,
        "{what}: A={} sig={}",
        hex::encode(key),
        hex::encode(sig)
    );
}

/// Asserts every check agrees with the others, whatever they decide.
fn assert_agree(key: [u8; 32], msg: &[u8], sig: [u8; 64]) -> bool {
    let v = verdicts(key, msg, sig);
    assert_all(key, msg, sig, v.single, "disagreement");
    v.single
}

/// The prime p = 2^255 - 19, little-endian.
fn p_bytes() -> [u8; 32] {
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
}

/// Every non-canonical encoding that still decodes to a point: y >= p (y = p + 0..18,
/// either sign bit), and the sign bit set where x = 0 (y = 1 and y = -1).
fn non_canonical_encodings() -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    for add in 0u8..19 {
        let mut y = p_bytes();
        y[0] += add;
        for sign in [0u8, 0x80] {
            let mut e = y;
            e[31] |= sign;
            if CompressedEdwardsY(e).decompress().is_some() {
                out.push(e);
            }
        }
    }
    for p in &EIGHT_TORSION {
        let mut e = p.compress().to_bytes();
        e[31] |= 0x80;
        if CompressedEdwardsY(e).decompress().is_some() && e != p.compress().to_bytes() {
            let x_is_zero = p.compress().to_bytes()[31] & 0x80 == 0
                && CompressedEdwardsY(e).decompress() == Some(*p);
            if x_is_zero {
                out.push(e);
            }
        }
    }
    out
}

/// The 14 encodings of small-order points ZIP-215's test set uses: the 8 canonical ones
/// and the 6 non-canonical ones.
fn small_order_encodings() -> Vec<[u8; 32]> {
    let mut out: Vec<[u8; 32]> = EIGHT_TORSION
        .iter()
        .map(|p| p.compress().to_bytes())
        .collect();
    for e in non_canonical_encodings() {
        let point = CompressedEdwardsY(e).decompress().unwrap();
        if point.is_small_order() {
            out.push(e);
        }
    }
    out
}

#[test]
fn the_encoding_sets_are_the_zip215_ones() {
    let nc = non_canonical_encodings();
    assert!(nc.iter().all(|e| {
        let p = CompressedEdwardsY(*e).decompress().unwrap();
        p.compress().to_bytes() != *e
    }));
    let small = small_order_encodings();
    assert_eq!(small.len(), 14);
    let mut dedup = small.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 14);
}

/// ZIP-215's 196 cases: every small-order encoding as `A` and as `R`, with s = 0. The
/// cofactored equation accepts all of them (both sides are killed by the cofactor).
#[test]
fn the_196_small_order_cases_are_all_valid_everywhere() {
    let mut n = 0;
    for a in small_order_encodings() {
        for r in small_order_encodings() {
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&r);
            assert_all(a, b"Zcash", sig, true, "small-order A and R, s = 0");
            n += 1;
        }
    }
    assert_eq!(n, 196);
}

/// The clamped secret scalar of an RFC 8032 seed (to build signatures by hand).
fn secret_scalar(seed: [u8; 32]) -> Scalar {
    let h = Sha512::digest(seed);
    let mut a = [0u8; 32];
    a.copy_from_slice(&h[..32]);
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    Scalar::from_bytes_mod_order(a)
}

fn challenge(r: &[u8; 32], a: &[u8; 32], msg: &[u8]) -> Scalar {
    let d: [u8; 64] = Sha512::new()
        .chain_update(r)
        .chain_update(a)
        .chain_update(msg)
        .finalize()
        .into();
    Scalar::from_bytes_mod_order_wide(&d)
}

fn sig_bytes(r: [u8; 32], s: Scalar) -> [u8; 64] {
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

/// A real key signs with `R` a small-order point in any encoding (canonical or not): ZIP-215
/// accepts, since [8]R = 0 and s = k·a makes the rest vanish.
#[test]
fn a_small_order_r_in_any_encoding_is_valid_for_a_real_key() {
    let seed = [42u8; 32];
    let a = secret_scalar(seed);
    let a_bytes = SecretKey::from_seed(seed).public().0;
    assert_eq!((ED25519_BASEPOINT_POINT * a).compress().to_bytes(), a_bytes);
    let msg = b"small-order R";
    for r in small_order_encodings() {
        let s = challenge(&r, &a_bytes, msg) * a;
        assert_all(a_bytes, msg, sig_bytes(r, s), true, "small-order R");
    }
}

/// Mixed-order keys and nonces (a real point plus a torsion point): valid under the
/// cofactored equation, refused by a cofactorless one. Each check must accept.
#[test]
fn mixed_order_keys_and_nonces_are_valid() {
    let seed = [43u8; 32];
    let a = secret_scalar(seed);
    let big_a = ED25519_BASEPOINT_POINT * a;
    let msg = b"mixed order";
    let mut refused_by_cofactorless = 0;
    for (i, t) in EIGHT_TORSION.iter().enumerate() {
        let a_bytes = (big_a + t).compress().to_bytes();
        let r = Scalar::from(1000 + i as u64);
        let r_point: EdwardsPoint = ED25519_BASEPOINT_POINT * r + EIGHT_TORSION[(i + 3) % 8];
        let r_bytes = r_point.compress().to_bytes();
        let s = r + challenge(&r_bytes, &a_bytes, msg) * a;
        assert_all(
            a_bytes,
            msg,
            sig_bytes(r_bytes, s),
            true,
            "mixed-order A and R",
        );
        // A real edge: dalek's cofactorless check refuses most of these.
        let dalek = ed25519_dalek::VerifyingKey::from_bytes(&a_bytes).and_then(|vk| {
            vk.verify_strict(
                msg,
                &ed25519_dalek::Signature::from_bytes(&sig_bytes(r_bytes, s)),
            )
        });
        refused_by_cofactorless += usize::from(dalek.is_err());
        // The same with a wrong s is refused everywhere.
        let bad = s + Scalar::ONE;
        assert_all(
            a_bytes,
            msg,
            sig_bytes(r_bytes, bad),
            false,
            "mixed order, bad s",
        );
    }
    assert!(refused_by_cofactorless >= 6, "{refused_by_cofactorless}");
}

/// Every non-canonical encoding as `A` and as `R`, s in {0, 1}, against each other and
/// against real keys and nonces: whatever the verdict, every check agrees.
#[test]
fn non_canonical_encodings_get_the_same_verdict_everywhere() {
    let real = SecretKey::from_seed([44u8; 32]);
    let real_sig = real.sign(b"nc").0;
    let mut real_r = [0u8; 32];
    real_r.copy_from_slice(&real_sig[..32]);
    let mut keys = non_canonical_encodings();
    keys.extend(small_order_encodings());
    keys.push(real.public().0);
    let mut rs = keys.clone();
    rs.push(real_r);
    let (mut accepted, mut refused) = (0, 0);
    for a in &keys {
        for r in &rs {
            for s0 in [0u8, 1] {
                let mut sig = [0u8; 64];
                sig[..32].copy_from_slice(r);
                sig[32] = s0;
                if assert_agree(*a, b"nc", sig) {
                    accepted += 1;
                } else {
                    refused += 1;
                }
            }
        }
    }
    // Both kinds of verdict were exercised.
    assert!(accepted > 196 && refused > 0, "{accepted} {refused}");
}

/// `s` must be reduced: s + l (the same point equation) is refused everywhere, and so is
/// any s with the top bits set.
#[test]
fn unreduced_s_is_refused_everywhere() {
    let k = SecretKey::from_seed([45u8; 32]);
    let msg = b"s + l";
    let sig = k.sign(msg).0;
    assert_all(k.public().0, msg, sig, true, "honest");
    let l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut plus_l = sig;
    let mut carry = 0u16;
    for (byte, add) in plus_l[32..].iter_mut().zip(l) {
        let v = u16::from(*byte) + u16::from(add) + carry;
        *byte = (v & 0xff) as u8;
        carry = v >> 8;
    }
    assert_all(k.public().0, msg, plus_l, false, "s + l");
    let mut high = sig;
    high[63] |= 0xe0;
    assert_all(k.public().0, msg, high, false, "s with the top bits set");
    // s = l itself with a small-order A and R: the cofactored equation would hold, but s
    // is not reduced.
    let mut s_is_l = [0u8; 64];
    s_is_l[..32].copy_from_slice(&EIGHT_TORSION[0].compress().to_bytes());
    s_is_l[32..].copy_from_slice(&l);
    assert_all(
        EIGHT_TORSION[0].compress().to_bytes(),
        msg,
        s_is_l,
        false,
        "s = l",
    );
}

#[test]
fn malformed_keys_and_nonces_are_refused_everywhere() {
    let k = SecretKey::from_seed([46u8; 32]);
    let msg = b"off the curve";
    let sig = k.sign(msg).0;
    // y = 2 has no x for either sign.
    let mut off = [0u8; 32];
    off[0] = 2;
    assert!(CompressedEdwardsY(off).decompress().is_none());
    assert_all(off, msg, sig, false, "A off the curve");
    let mut bad_r = sig;
    bad_r[..32].copy_from_slice(&off);
    assert_all(k.public().0, msg, bad_r, false, "R off the curve");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random bytes as key and signature (about half the keys are not points).
    #[test]
    fn random_inputs_get_the_same_verdict(
        key in any::<[u8; 32]>(),
        sig in proptest::collection::vec(any::<u8>(), 64),
        msg in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut s = [0u8; 64];
        s.copy_from_slice(&sig);
        prop_assert!(!assert_agree(key, &msg, s), "a random signature verified");
    }

    /// Honest signatures, then one bit flipped anywhere in key, signature or message.
    #[test]
    fn honest_and_tampered_signatures_get_the_same_verdict(
        seed in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 1..200),
        flip in 0usize..(96 * 8 + 8),
    ) {
        let k = SecretKey::from_seed(seed);
        let (mut key, mut sig, mut msg) = (k.public().0, k.sign(&msg).0, msg);
        prop_assert!(assert_agree(key, &msg, sig), "honest signature refused");
        let (byte, bit) = (flip / 8, 1u8 << (flip % 8));
        match byte {
            0..=31 => key[byte] ^= bit,
            32..=95 => sig[byte - 32] ^= bit,
            _ => msg[0] ^= bit,
        }
        assert_agree(key, &msg, sig);
    }
}
