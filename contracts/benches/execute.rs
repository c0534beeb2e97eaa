//! Executing blocks of realistic actions (signatures already verified), including the
//! Merkle root update. Reports time per action.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use lianrong_contracts::action::Action;
use lianrong_contracts::exec::{execute_block, BlockContext};
use lianrong_contracts::model::DocId;
use lianrong_contracts::money::Amount;
use lianrong_contracts::testkit::{cny, org, World};
use lianrong_contracts::VerifiedTransaction;
use lianrong_primitives::Hash;

/// Each round is five actions: confirm an invoice, split a receivable, transfer one,
/// repay part of one, issue a new order.
const ROUNDS: usize = 100;

fn setup() -> (World, Vec<VerifiedTransaction>) {
    let mut w = World::new();
    // Background state so the tree is not trivially small.
    let mut orders: Vec<DocId> = Vec::new();
    let mut receivables: Vec<DocId> = Vec::new();
    for _ in 0..ROUNDS {
        orders.push(w.delivered_order("CORE-A", "SUP-1", "100000.00"));
    }
    for _ in 0..(2 * ROUNDS) {
        receivables.push(w.trade_to_receivable("CORE-A", "SUP-1", "50000.00", 120));
    }
    let mut txs = Vec::with_capacity(5 * ROUNDS);
    for i in 0..ROUNDS {
        let spec = w.invoice_spec(&orders[i], "CORE-A", "SUP-1", "80000.00", 90);
        txs.push(w.sign(
            "CORE-A",
            Action::RegisterInvoice {
                invoice: spec,
                confirm: true,
            },
        ));
        txs.push(w.sign(
            "SUP-1",
            Action::SplitReceivable {
                receivable: receivables[i].clone(),
                parts: vec![
                    Amount::parse("20000.00").unwrap(),
                    Amount::parse("30000.00").unwrap(),
                ],
            },
        ));
        txs.push(w.sign(
            "SUP-1",
            Action::TransferReceivable {
                receivable: receivables[ROUNDS + i].clone(),
                to: org("SUP-3"),
            },
        ));
        txs.push(w.sign(
            "CORE-A",
            Action::Repay {
                receivable: receivables[ROUNDS + i].clone(),
                payee: org("SUP-3"),
                amount: Amount::parse("100.00").unwrap(),
                payment_ref: format!("PAY-{i}"),
            },
        ));
        let id = w.fresh_id("PO-B");
        txs.push(w.sign(
            "CORE-B",
            Action::IssueOrder {
                id,
                seller: org("SUP-2"),
                amount: cny("12345.67"),
                terms: "net 60".into(),
                doc_hash: Hash::ZERO,
                carriers: vec![],
            },
        ));
    }
    (w, txs)
}

fn bench(c: &mut Criterion) {
    let (w, txs) = setup();
    let ctx = BlockContext {
        height: w.height + 1,
        time_ms: w.time_ms,
    };
    // The block must really execute: every action succeeds.
    let out = execute_block(&w.store, &ctx, &txs).unwrap();
    let refused: Vec<_> = out
        .receipts
        .iter()
        .filter_map(|r| r.outcome.as_ref().err())
        .collect();
    assert!(refused.is_empty(), "bench block has refusals: {refused:?}");

    let mut g = c.benchmark_group("execute_block");
    g.throughput(Throughput::Elements(txs.len() as u64));
    g.bench_function("500_mixed_actions", |b| {
        b.iter_batched(
            || (),
            |_| execute_block(&w.store, &ctx, &txs).unwrap(),
            BatchSize::SmallInput,
        )
    });
    // The Merkle update alone, to see what share of the time the tree takes.
    let writes = out.changes.values.clone();
    g.bench_function("500_mixed_actions_merkle_only", |b| {
        b.iter_batched(
            || writes.clone(),
            |wr| lianrong_contracts::merkle::compute_changes(&w.store, ctx.height, wr).unwrap(),
            BatchSize::SmallInput,
        )
    });
    eprintln!(
        "writes per block: {} for {} actions",
        writes.len(),
        txs.len()
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
