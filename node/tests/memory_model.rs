//! The memory budget's models against what the parts they size really hold on the heap,
//! counted by this test binary's allocator. The budget sizes each part from its model, so
//! a model below the truth is a node above its budget.
//!
//! - The mempool (`lianrong_node_formats::memory::mempool_cost`: an entry overhead per
//!   transaction plus a multiple of its encoded bytes): each signer's queue, a B-tree,
//!   kept room for 11 unboxed transactions per node, 5,220 bytes held per 156-byte
//!   transaction against 724 modelled, and a validator's RSS rose by ~60 MiB as its
//!   24,576-transaction mempool filled under saturation.
//! - The tree-node cache (`NODE_ENTRY_BYTES` per internal node): a heap profile of a
//!   saturated validator (jemalloc's, 2026-12-05) put 45 MB in a cache of 32,768 nodes
//!   modelled at 32 MiB. Its leaves, apart (`LEAF_ENTRY_BYTES` per leaf).
//! - The state cache (`lianrong_storage::StateCache`, its bytes counted as each entry's
//!   key, value and `ENTRY_OVERHEAD`): what a full cache of signers' nonces and key
//!   records holds.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use lianrong_contracts::testkit::{doc, World};
use lianrong_contracts::{Action, Envelope, VerifiedTransaction};
use lianrong_node::mempool::{Mempool, MempoolLimits};
use lianrong_node_formats::memory::{mempool_cost, LEAF_ENTRY_BYTES, NODE_ENTRY_BYTES};
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

/// Held by each test while it counts: the counter is the whole process's, so two tests
/// counting at once would count each other's allocations.
static COUNTING: std::sync::Mutex<()> = std::sync::Mutex::new(());

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
    let _alone = COUNTING.lock().unwrap_or_else(|p| p.into_inner());
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

/// A tree with nothing in it: the reader of a first version.
struct EmptyTree;

impl jmt::storage::TreeReader for EmptyTree {
    fn get_node_option(
        &self,
        _: &jmt::storage::NodeKey,
    ) -> anyhow::Result<Option<jmt::storage::Node>> {
        Ok(None)
    }

    fn get_value_option(
        &self,
        _: jmt::Version,
        _: jmt::KeyHash,
    ) -> anyhow::Result<Option<jmt::OwnedValue>> {
        Ok(None)
    }

    fn get_rightmost_leaf(
        &self,
    ) -> anyhow::Result<Option<(jmt::storage::NodeKey, jmt::storage::LeafNode)>> {
        Ok(None)
    }
}

/// The nodes of one kind (internal ones, or leaves) of a tree of `leaves` keys: full
/// upper levels and sparser lower ones, as in a ledger's tree.
fn tree_nodes(leaves: u32, internal: bool) -> Vec<(jmt::storage::NodeKey, jmt::storage::Node)> {
    let tree = jmt::Sha256Jmt::new(&EmptyTree);
    let values = (0..leaves).map(|i| {
        let key = lianrong_primitives::sha256(&i.to_le_bytes());
        (jmt::KeyHash(key.0), Some(vec![1u8; 8]))
    });
    let (_, batch) = tree.put_value_set(values, 0).unwrap();
    batch
        .node_batch
        .nodes()
        .iter()
        .filter(|(_, n)| matches!(n, jmt::storage::Node::Internal(_)) == internal)
        .map(|(k, n)| (k.clone(), n.clone()))
        .collect()
}

/// Fills a node cache sized to hold all of `nodes` (internal ones or leaves) and checks
/// that what they hold stays within `per_entry` bytes each, the budget's model of them.
/// The caller holds `COUNTING`, from before it built `nodes`.
fn check_cached_nodes(
    what: &str,
    nodes: &[(jmt::storage::NodeKey, jmt::storage::Node)],
    per_entry: u64,
) {
    let n = nodes.len();
    let leaves = matches!(nodes[0].1, jmt::storage::Node::Leaf(_));
    let cache = if leaves {
        lianrong_storage::NodeCache::new(1, n)
    } else {
        lianrong_storage::NodeCache::new(n, 0)
    };
    let before = LIVE.load(Ordering::Relaxed);
    for (key, node) in nodes {
        cache.insert(key, node);
    }
    let held = LIVE.load(Ordering::Relaxed) - before;
    // All leaves are kept; of the internal nodes, those of the levels the cache keeps.
    let cached = if leaves {
        cache.leaves_len()
    } else {
        cache.internal_len()
    };
    assert!(cached > n / 2, "{cached} of {n} {what} cached");
    if leaves {
        assert_eq!(cached, n);
    }
    let modelled = cached as u64 * per_entry;
    eprintln!(
        "{what}: {cached} cached, {} bytes held each, {per_entry} modelled",
        held as usize / cached
    );
    assert!(
        held > 0 && held as u64 <= modelled,
        "{cached} cached {what} hold {held} bytes, the budget's model {modelled}"
    );
}

#[test]
fn the_budget_covers_what_cached_tree_nodes_hold() {
    let _alone = COUNTING.lock().unwrap_or_else(|p| p.into_inner());
    let nodes = tree_nodes(60_000, true);
    assert!(nodes.len() > 4_000, "{} internal nodes", nodes.len());
    check_cached_nodes("internal tree nodes", &nodes, NODE_ENTRY_BYTES);
}

#[test]
fn the_budget_covers_what_cached_tree_leaves_hold() {
    let _alone = COUNTING.lock().unwrap_or_else(|p| p.into_inner());
    let leaves = tree_nodes(60_000, false);
    assert_eq!(leaves.len(), 60_000, "one leaf per key");
    check_cached_nodes("tree leaves", &leaves, LEAF_ENTRY_BYTES);
}

#[test]
fn the_budget_covers_what_cached_state_values_hold() {
    use lianrong_contracts::state::keys;
    use lianrong_storage::{Lookup, StateCache};

    let _alone = COUNTING.lock().unwrap_or_else(|p| p.into_inner());
    let capacity = 1 << 20;
    let cache = StateCache::new(capacity);
    let before = LIVE.load(Ordering::Relaxed);
    // Many more signers than fit: the cache fills, then evicts as it goes.
    for i in 0..40_000u64 {
        let mut seed = [3u8; 32];
        seed[..8].copy_from_slice(&i.to_le_bytes());
        let key = SecretKey::from_seed(seed).public();
        // A nonce (8 bytes), a key record (its org and state, ~60 bytes), and the key's
        // scopes, which most keys do not have (kept as absent).
        for (k, v) in [
            (keys::nonce(&key), Some(vec![1u8; 8])),
            (keys::member_key(&key), Some(vec![2u8; 60])),
            (keys::key_scopes(&key), None),
        ] {
            let Lookup::Miss(ticket) = cache.lookup(&k) else {
                panic!("a new key is cached");
            };
            cache.fill(&k, v.as_deref(), ticket);
        }
    }
    let held = LIVE.load(Ordering::Relaxed) - before;
    let entries = cache.len();
    assert!(entries > 4_000, "{entries} entries");
    assert!(cache.bytes() <= capacity);
    eprintln!(
        "state cache: {entries} entries, {held} bytes held, {} counted (capacity {capacity})",
        cache.bytes()
    );
    assert!(
        held > 0 && held as usize <= capacity,
        "{entries} cached state values hold {held} bytes, more than the cache's {capacity}"
    );
}
