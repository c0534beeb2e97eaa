//! ZIP-215 verification, ed25519-consensus 2.1 (the ledger's verifier before issue 17)
//! against ed25519-zebra 4 (its verifier since), single and batched, in this thread's CPU
//! time (the machine is shared, so wall time would count other processes' work).
//!
//! `cargo bench -p lianrong-primitives --bench verify [-- --quick] [-- --signatures N]`
//! prints microseconds of CPU per signature, best and all of three rounds.

// Bench code: a failed unwrap is a failed bench.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use lianrong_primitives::{verify, BatchVerifier, PublicKey, SecretKey, Signature};

const ROUNDS: usize = 3;
/// Distinct signing keys (a block's transactions come from many members).
const KEYS: usize = 256;

/// This thread's CPU time in nanoseconds (`/proc/thread-self/schedstat`, first field);
/// wall time where that file is missing.
fn cpu_ns(start: Instant) -> u128 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| start.elapsed().as_nanos())
}

struct Input {
    keys: Vec<PublicKey>,
    msgs: Vec<Vec<u8>>,
    sigs: Vec<Signature>,
}

fn input(n: usize) -> Input {
    let secrets: Vec<SecretKey> = (0..KEYS)
        .map(|i| SecretKey::from_seed([i as u8; 32]))
        .collect();
    // About a transaction's size.
    let msgs: Vec<Vec<u8>> = (0..n as u32).map(|i| i.to_le_bytes().repeat(70)).collect();
    let sigs = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| secrets[i % KEYS].sign(m))
        .collect();
    let keys = (0..n).map(|i| secrets[i % KEYS].public()).collect();
    Input { keys, msgs, sigs }
}

/// Runs `f` over all signatures [`ROUNDS`] times; microseconds of CPU per signature.
fn rounds(name: &str, n: usize, f: &dyn Fn() -> usize) {
    let epoch = Instant::now();
    let mut us = Vec::new();
    for _ in 0..ROUNDS {
        let start = cpu_ns(epoch);
        let ok = f();
        let spent = cpu_ns(epoch) - start;
        assert_eq!(ok, n, "{name} refused honest signatures");
        us.push(spent as f64 / 1e3 / n as f64);
    }
    let best = us.iter().copied().fold(f64::INFINITY, f64::min);
    let all: Vec<String> = us.iter().map(|u| format!("{u:.2}")).collect();
    println!("{name:<44} {best:>7.2} us/sig  (rounds: {})", all.join(" "));
}

fn singles(inp: &Input) {
    let n = inp.msgs.len();
    let items = || inp.keys.iter().zip(&inp.msgs).zip(&inp.sigs);
    rounds("single  ed25519-consensus 2.1", n, &|| {
        items()
            .filter(|((k, m), s)| {
                ed25519_consensus::VerificationKey::try_from(k.0)
                    .and_then(|vk| vk.verify(&ed25519_consensus::Signature::from(s.0), m))
                    .is_ok()
            })
            .count()
    });
    rounds("single  ed25519-zebra 4", n, &|| {
        items()
            .filter(|((k, m), s)| {
                ed25519_zebra::VerificationKey::try_from(k.0)
                    .and_then(|vk| vk.verify(&ed25519_zebra::Signature::from_bytes(&s.0), m))
                    .is_ok()
            })
            .count()
    });
    rounds("single  lianrong_primitives::verify", n, &|| {
        items()
            .filter(|((k, m), s)| verify(k, m, s).is_ok())
            .count()
    });
}

fn batches(inp: &Input, size: usize) {
    let n = inp.msgs.len();
    let chunks = || {
        inp.keys
            .chunks(size)
            .zip(inp.msgs.chunks(size))
            .zip(inp.sigs.chunks(size))
    };
    rounds(
        &format!("batch {size:>4}  ed25519-consensus 2.1"),
        n,
        &|| {
            chunks()
                .map(|((ks, ms), ss)| {
                    let mut b = ed25519_consensus::batch::Verifier::new();
                    for ((k, m), s) in ks.iter().zip(ms).zip(ss) {
                        let vkb = ed25519_consensus::VerificationKeyBytes::from(k.0);
                        b.queue((vkb, ed25519_consensus::Signature::from(s.0), m));
                    }
                    if b.verify(rand::thread_rng()).is_ok() {
                        ks.len()
                    } else {
                        0
                    }
                })
                .sum()
        },
    );
    rounds(&format!("batch {size:>4}  ed25519-zebra 4"), n, &|| {
        chunks()
            .map(|((ks, ms), ss)| {
                let mut b = ed25519_zebra::batch::Verifier::new();
                for ((k, m), s) in ks.iter().zip(ms).zip(ss) {
                    let vkb = ed25519_zebra::VerificationKeyBytes::from(k.0);
                    b.queue((vkb, ed25519_zebra::Signature::from_bytes(&s.0), m));
                }
                if b.verify(rand::thread_rng()).is_ok() {
                    ks.len()
                } else {
                    0
                }
            })
            .sum()
    });
    rounds(
        &format!("batch {size:>4}  lianrong BatchVerifier"),
        n,
        &|| {
            chunks()
                .map(|((ks, ms), ss)| {
                    let mut b = BatchVerifier::new();
                    for ((k, m), s) in ks.iter().zip(ms).zip(ss) {
                        b.push(*k, m.clone(), *s);
                    }
                    b.verify().iter().filter(|r| r.is_ok()).count()
                })
                .sum()
        },
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut n = if args.iter().any(|a| a == "--quick") {
        2_000
    } else {
        20_000
    };
    if let Some(i) = args.iter().position(|a| a == "--signatures") {
        n = args[i + 1].parse().expect("--signatures N");
    }
    let inp = input(n);
    println!("{n} signatures from {KEYS} keys, ~280-byte messages; CPU time of this thread");
    singles(&inp);
    for size in [1, 8, 64, 1024] {
        batches(&inp, size);
    }
}
