//! The memory budget's model of the mempool (`lianrong_node_formats::memory::mempool_cost`:
//! an entry overhead per transaction plus a multiple of its encoded bytes) against what
//! waiting transactions really hold on the heap, counted by this test binary's allocator.
//! The budget sizes the mempool from the model, so a model below the truth is a node
//! above its budget: each signer's queue, a B-tree, kept room for 11 unboxed
//! transactions per node, 5,220 bytes held per 156-byte transaction against 724
//! modelled, and a validator's RSS rose by ~60 MiB as its 24,576-transaction mempool
//! filled under saturation (peak 300+ MiB against the 256 MiB target).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use lianrong_contracts::testkit::{doc, World};
use lianrong_contracts::{Action, Envelope, VerifiedTransaction};
use lianrong_node::mempool::{Mempool, MempoolLimits};
use lianrong_node_formats::memory::mempool_cost;
use lianrong_primitives::SecretKey;

/// The system allocator, with the bytes it holds live.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call goes to the system allocator with the caller's arguments; the
// counter only records sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Transactions waiting per kind: enough that the maps' growth is averaged in.
const N: usize = 4_000;

/// Heap bytes held by a mempool of `txs` (arrived as bytes, as from the API or gossip)
/// and their encoded bytes together.
fn held_by_mempool(txs: Vec<Vec<u8>>) -> (isize, usize) {
    let encoded: usize = txs.iter().map(Vec::len).sum();
    let mut pool = Mempool::new(MempoolLimits {
        max_txs: usize::MAX,
        max_per_signer: usize::MAX,
        max_bytes: usize::MAX,
    });
    let before = LIVE.load(Ordering::Relaxed);
    for bytes in &txs {
        let tx: VerifiedTransaction = Envelope::decode(bytes)
            .unwrap()
            .verify(lianrong_contracts::testkit::CHAIN_ID)
            .unwrap();
        let nonce = tx.tx().nonce;
        pool.admit(tx, nonce).unwrap();
    }
    let held = LIVE.load(Ordering::Relaxed) - before;
    assert_eq!(pool.len(), txs.len());
    drop(pool);
    (held, encoded)
}

/// `n` transactions of `action(i)`, each from its own member key (the worst case for
/// the per-signer maps), encoded.
fn signed(n: usize, action: impl Fn(&mut World, usize) -> Action) -> Vec<Vec<u8>> {
    let mut w = World::new();
    (0..n)
        .map(|i| {
            let mut seed = [7u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let key = SecretKey::from_seed(seed);
            let a = action(&mut w, i);
            w.sign_with("SUP-1", &key, a).signed().encode()
        })
        .collect()
}

#[test]
fn the_budget_covers_what_waiting_transactions_hold() {
    let kinds: [(&str, Vec<Vec<u8>>); 2] = [
        (
            "accept order",
            signed(N, |_, i| Action::AcceptOrder {
                order: doc(&format!("PO-{i}")),
            }),
        ),
        (
            "register invoice",
            signed(N, |w, i| {
                let order = doc(&format!("PO-{i}"));
                Action::RegisterInvoice {
                    invoice: w.invoice_spec(&order, "CORE-A", "SUP-1", "1000.00", 60),
                    confirm: false,
                }
            }),
        ),
    ];
    eprintln!(
        "size of a verified transaction {}, of an action {}",
        std::mem::size_of::<VerifiedTransaction>(),
        std::mem::size_of::<Action>()
    );
    for (kind, txs) in kinds {
        let n = txs.len();
        let (held, encoded) = held_by_mempool(txs);
        let modelled = mempool_cost(n, encoded);
        eprintln!(
            "{kind}: {} encoded bytes, {} held, {} modelled per transaction",
            encoded / n,
            held as usize / n,
            modelled as usize / n
        );
        assert!(
            held > 0 && held as u64 <= modelled,
            "{kind}: {n} waiting transactions hold {held} bytes, the budget's model {modelled}"
        );
    }
}
