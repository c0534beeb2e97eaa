//! What a node spends on one transaction's bytes besides its signature check: encoding,
//! hashing, and the whole arrival path (decode, hash, check) the way a node does it now
//! ([`Envelope`]: encoded and hashed once) beside the way it did before (the signed value
//! re-encoded for its hash, its pre-check, its signed message, its mempool size and its
//! commit). Compare each with `verify`, one Ed25519 check of the same transaction:
//! `cargo bench -p lianrong-contracts --bench envelope`.

// Test code: a failed unwrap is a failed bench.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use lianrong_contracts::action::Action;
use lianrong_contracts::model::DocId;
use lianrong_contracts::testkit::{cny, org, World, CHAIN_ID};
use lianrong_contracts::{Envelope, SignedTransaction};
use lianrong_primitives::{sha256, Hash};
use std::hint::black_box;

/// A purchase order as the bench's `orders` workload submits it.
fn order() -> SignedTransaction {
    let mut w = World::new();
    w.sign(
        "CORE-A",
        Action::IssueOrder {
            id: DocId::new("PO-2026-000123").unwrap(),
            seller: org("SUP-1"),
            amount: cny("125000.00"),
            terms: "Net 90, delivered to the Suzhou plant, dock 4".into(),
            doc_hash: Hash::ZERO,
            carriers: vec![org("LOGI")],
        },
    )
    .signed()
    .clone()
}

fn bench(c: &mut Criterion) {
    let signed = order();
    let bytes = signed.encode();
    let mut g = c.benchmark_group("envelope");
    g.bench_function("encode", |b| b.iter(|| black_box(&signed).encode()));
    g.bench_function("sha256", |b| b.iter(|| sha256(black_box(&bytes))));
    g.bench_function("verify", |b| {
        b.iter(|| black_box(signed.clone()).verify(CHAIN_ID).unwrap())
    });
    g.bench_function("arrival_now", |b| {
        b.iter(|| {
            let e = Envelope::decode(black_box(&bytes)).unwrap();
            let v = e.verify(CHAIN_ID).unwrap();
            (v.hash(), v.bytes().len(), v.bytes().to_vec())
        })
    });
    g.bench_function("arrival_before", |b| {
        b.iter(|| {
            let s = SignedTransaction::decode(black_box(&bytes)).unwrap();
            let hash = s.hash();
            let precheck = sha256(&s.encode());
            // The old verify encoded the transaction again for its signed message.
            let message = s.tx.signing_bytes();
            let v = s.verify(CHAIN_ID).unwrap();
            let on_command_len = v.signed().encode().len();
            let mempool_size = v.signed().encode().len();
            (
                hash,
                precheck,
                message,
                on_command_len,
                mempool_size,
                v.signed().encode(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
