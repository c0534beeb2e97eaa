//! The unit the bench reports CPU in: the fastest ZIP-215 signature verification this
//! process can run, in CPU time, measured when the bench starts (issue 17: "report in
//! units of the floor").
//!
//! The ledger's one rule is ZIP-215 (`lianrong_primitives::verify`, ed25519-zebra 4 on
//! curve25519-dalek 4 since issue 17; ed25519-consensus on curve25519-dalek-ng before,
//! ~1.2x slower). The same equation written directly on curve25519-dalek 4 is measured
//! next to it, and the faster of the two is the floor: a node's CPU per transaction "in
//! floor verifications" says how far it is from doing nothing but check each signature
//! once at the best speed known on this machine. CPU time, not wall time, because the
//! machine is shared: another process's work must not make the unit look slower.

use std::time::Instant;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use lianrong_primitives::{PublicKey, SecretKey, Signature};
use serde::Serialize;
use sha2::{Digest, Sha512};

/// Signatures per timed round.
const SIGNATURES: usize = 2000;
/// Rounds per implementation; the fastest counts (the machine is shared).
const ROUNDS: usize = 3;

/// ZIP-215 on curve25519-dalek 4: `A` and `R` may be non-canonical encodings, `s` must be
/// canonical, and the cofactored equation `[8](R - ([s]B - [k]A)) = 0` decides.
pub fn verify_zip215_dalek4(key: &PublicKey, message: &[u8], sig: &Signature) -> bool {
    let Some(a) = CompressedEdwardsY(key.0).decompress() else {
        return false;
    };
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&sig.0[..32]);
    let Some(r) = CompressedEdwardsY(r_bytes).decompress() else {
        return false;
    };
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&sig.0[32..]);
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
        return false;
    };
    let digest: [u8; 64] = Sha512::new()
        .chain_update(r_bytes)
        .chain_update(key.0)
        .chain_update(message)
        .finalize()
        .into();
    let k = Scalar::from_bytes_mod_order_wide(&digest);
    // [-k]A + [s]B = [s]B - [k]A
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&-k, &a, &s);
    (r - sb_minus_ka).mul_by_cofactor().is_identity()
}

/// What the floor measurement found, microseconds of CPU per verification.
#[derive(Debug, Clone, Serialize)]
pub struct Floor {
    /// `lianrong_primitives::verify` (the ledger's own, ed25519-zebra 4).
    pub ledger_verify_us: f64,
    /// The same rule on curve25519-dalek 4.
    pub dalek4_zip215_us: f64,
    /// The faster of the two: the unit of `cpu_per_tx_in_floor`.
    pub floor_us: f64,
}

/// This thread's CPU time, nanoseconds; where the scheduler's count is missing (not
/// Linux), wall time since `epoch`.
fn thread_cpu_ns(epoch: Instant) -> u128 {
    lianrong_node::cpu::thread_ns()
        .map(u128::from)
        .unwrap_or_else(|| epoch.elapsed().as_nanos())
}

/// Times both implementations on the same signatures in this thread's CPU time (best of
/// [`ROUNDS`]).
pub fn measure() -> Floor {
    let key = SecretKey::from_seed([7; 32]);
    let public = key.public();
    let msgs: Vec<Vec<u8>> = (0..SIGNATURES as u32)
        .map(|i| i.to_le_bytes().repeat(40))
        .collect();
    let sigs: Vec<Signature> = msgs.iter().map(|m| key.sign(m)).collect();
    let epoch = Instant::now();
    let time = |check: &dyn Fn(&[u8], &Signature) -> bool| {
        let mut best = f64::INFINITY;
        for _ in 0..ROUNDS {
            let start = thread_cpu_ns(epoch);
            let ok = msgs.iter().zip(&sigs).filter(|(m, s)| check(m, s)).count();
            let spent = thread_cpu_ns(epoch).saturating_sub(start);
            let us = spent as f64 / 1e3 / msgs.len() as f64;
            // A verifier that refuses honest signatures measures nothing.
            if ok == msgs.len() {
                best = best.min(us);
            }
        }
        best
    };
    let ledger = time(&|m, s| lianrong_primitives::verify(&public, m, s).is_ok());
    let dalek4 = time(&|m, s| verify_zip215_dalek4(&public, m, s));
    Floor {
        ledger_verify_us: ledger,
        dalek4_zip215_us: dalek4,
        floor_us: ledger.min(dalek4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::EIGHT_TORSION;

    /// Small-order points (both sign bits) and the non-canonical encodings of y = 0 and
    /// y = 1: where implementations of different equations part ways.
    fn crafted_encodings() -> Vec<[u8; 32]> {
        let mut out = Vec::new();
        for p in EIGHT_TORSION.iter() {
            let c = p.compress().to_bytes();
            out.push(c);
            let mut flipped = c;
            flipped[31] ^= 0x80;
            out.push(flipped);
        }
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
    fn agrees_with_the_ledgers_rule_on_honest_tampered_and_crafted_signatures() {
        let ledger =
            |k: &PublicKey, m: &[u8], s: &Signature| lianrong_primitives::verify(k, m, s).is_ok();
        for i in 0..32u8 {
            let key = SecretKey::from_seed([i; 32]);
            let msg = vec![i; 100];
            let sig = key.sign(&msg);
            assert!(verify_zip215_dalek4(&key.public(), &msg, &sig));
            let mut bad = sig;
            bad.0[usize::from(i) % 64] ^= 1;
            assert_eq!(
                verify_zip215_dalek4(&key.public(), &msg, &bad),
                ledger(&key.public(), &msg, &bad),
                "tampered byte {}",
                i % 64
            );
        }
        let msg = b"zip-215 agreement";
        let encodings = crafted_encodings();
        for a in &encodings {
            for r in &encodings {
                for s0 in [0u8, 1] {
                    let mut sig = [0u8; 64];
                    sig[..32].copy_from_slice(r);
                    sig[32] = s0;
                    let (key, sig) = (PublicKey(*a), Signature(sig));
                    assert_eq!(
                        verify_zip215_dalek4(&key, msg, &sig),
                        ledger(&key, msg, &sig),
                        "A={} R={} s0={s0}",
                        hex::encode(a),
                        hex::encode(r)
                    );
                }
            }
        }
    }

    #[test]
    fn a_non_canonical_s_is_refused_like_the_ledger_does() {
        let key = SecretKey::from_seed([3; 32]);
        let msg = b"s + l";
        let mut sig = key.sign(msg);
        // s + l: the same point equation, but s is not reduced.
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (byte, add) in sig.0[32..].iter_mut().zip(l) {
            let v = u16::from(*byte) + u16::from(add) + carry;
            *byte = (v & 0xff) as u8;
            carry = v >> 8;
        }
        assert!(!verify_zip215_dalek4(&key.public(), msg, &sig));
        assert!(lianrong_primitives::verify(&key.public(), msg, &sig).is_err());
    }

    #[test]
    fn the_floor_is_the_faster_of_the_two() {
        let f = measure();
        assert!(f.floor_us > 0.0 && f.floor_us.is_finite(), "{f:?}");
        assert!(f.floor_us <= f.ledger_verify_us && f.floor_us <= f.dalek4_zip215_us);
    }
}
