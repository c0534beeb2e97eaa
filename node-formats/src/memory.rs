//! `[memory]`: one budget from which every size of a node's large in-memory parts is
//! derived, in one place ([`plan`]), so an operator sizes a validator with one number and
//! `lianrong node --check-config` can tell whether the explicit settings fit in it.
//!
//! The budget is split in two. A fixed reserve ([`FIXED_MIB`]) holds what the node keeps
//! under constant bounds of its own (the replay cache of signed API requests, the nonce
//! cache, the consensus engine's recent blocks, the verification and gossip queues, a
//! snapshot export's small cache). The rest is shared out in fixed proportions:
//!
//! | part | share | why |
//! |---|---|---|
//! | RocksDB block cache | 33 % | every point read (state, tree nodes, receipts) and, since they are charged to it, the index and filter blocks of every table file -- without that they grow with the database |
//! | state cache | 4 % | the latest state's most read values (signers' key records and nonces, orgs, parameters), read by every admission and execution, without a RocksDB lookup |
//! | RocksDB memtables | 25 % | one limit over all column families together (RocksDB's write buffer manager), [`MEMTABLE_COUNT`] memtables of half of it each, so one column family can take a whole block's writes while the other is flushed |
//! | tree-node cache | 20 % | the Merkle tree's internal nodes: its upper levels and the paths of the last blocks, at [`NODE_ENTRY_BYTES`] per node |
//! | tree-leaf cache | 3 % | the leaves of the last seconds' writes, apart from the internal nodes: the next change of a nonce or a document reads its leaf first, at [`LEAF_ENTRY_BYTES`] per leaf |
//! | mempool | 15 % | transactions waiting for a block: bounded by count and by encoded bytes, see [`MEMPOOL_ENTRY_BYTES`] and [`MEMPOOL_DECODED_FACTOR`] |
//!
//! Outside the budget (see node/README.md): the program's code and thread stacks, the
//! allocator's slack, libp2p's per-connection buffers, HTTP requests in flight, RocksDB's
//! compaction buffers, the OS page cache and the explorer (another process).

use serde::{Deserialize, Serialize};

use crate::config::MempoolSection;

/// The default budget: with the parts outside it, a validator stays under 256 MiB RSS.
pub const DEFAULT_BUDGET_MIB: u64 = 192;
/// The smallest budget a validator runs with: below it the parts are too small to hold
/// one full block (mempool) or one block's writes (memtables).
pub const MIN_BUDGET_MIB: u64 = 64;
/// The largest budget accepted (1 TiB); bounds the arithmetic, and a larger figure is a
/// typo.
pub const MAX_BUDGET_MIB: u64 = 1024 * 1024;
/// The fixed reserve: the node's own constant bounds (about 10 MiB of signed-request
/// replay cache, 6 MiB of nonce cache, 4 MiB of recent blocks in the consensus engine,
/// 8 MiB of a snapshot export's block cache and ~1 MiB of its tree nodes, ~0.8 MiB of
/// keys' points for batch signature checks, ~0.6 MiB of API submissions waiting for their
/// signature check, and queues of verified and outgoing gossip).
pub const FIXED_MIB: u64 = 32;
/// Share of the rest for the RocksDB block cache, in percent (36 until 2026-12-07, when
/// the tree-leaf cache took 3 of it: the leaves it keeps were read from its blocks).
pub const BLOCK_CACHE_PERCENT: u64 = 33;
/// Share for the state cache, in percent: taken from the block cache's 40 (until
/// 2026-12-06), whose blocks held the same hot values among their neighbours.
pub const STATE_CACHE_PERCENT: u64 = 4;
/// Share for all memtables together, in percent.
pub const MEMTABLES_PERCENT: u64 = 25;
/// Share for the tree-node cache, in percent.
pub const NODE_CACHE_PERCENT: u64 = 20;
/// Share for the tree-leaf cache, in percent.
pub const LEAF_CACHE_PERCENT: u64 = 3;
/// Share for the mempool, in percent (the six shares add up to 100).
pub const MEMPOOL_PERCENT: u64 = 15;
const _: () = assert!(
    BLOCK_CACHE_PERCENT
        + STATE_CACHE_PERCENT
        + MEMTABLES_PERCENT
        + NODE_CACHE_PERCENT
        + LEAF_CACHE_PERCENT
        + MEMPOOL_PERCENT
        == 100
);
/// Memtables per column family (`max_write_buffer_number`): one filling while one is
/// flushed, so writes do not stall on a flush.
pub const MEMTABLE_COUNT: u32 = 2;
/// Memory of one cached tree node: an internal node (leaves are counted apart,
/// [`LEAF_ENTRY_BYTES`]) boxes 16
/// child slots of 56 bytes (896), plus its key, the LRU entry and its hash-table slot.
/// Measured by `node/tests/memory_model.rs`: 1,039 bytes requested per node of a real
/// tree's internal nodes; this adds the allocator's rounding of the entries to its size
/// classes. 1,024 until 2026-12-05: below what the nodes held (a heap profile of a
/// saturated validator put 45 MB in the 32,768-node cache the plan counted as 32 MiB).
pub const NODE_ENTRY_BYTES: u64 = 1152;
/// Memory of one cached tree leaf: its key (a version and a nibble path, boxed), the
/// leaf (key and value hashes), the LRU entry and its hash-table slot. Measured by
/// `node/tests/memory_model.rs`: 150 bytes requested per leaf of a real tree; this adds
/// the allocator's rounding of the entries to its size classes.
pub const LEAF_ENTRY_BYTES: u64 = 192;
/// Memory per waiting transaction besides its contents: the decoded transaction's inline
/// size (424 bytes, boxed), its hash index entry and its place in its signer's queue
/// (B-tree nodes of up to 11 entries, nearly empty when each signer waits with one).
/// Measured by `node/tests/memory_model.rs`: 1,068 bytes held for a 156-byte
/// transaction from a signer of its own, 1,306 for a 339-byte invoice, against 1,492 and
/// 2,041 here with [`MEMPOOL_DECODED_FACTOR`] (the allocator's own rounding on top).
pub const MEMPOOL_ENTRY_BYTES: u64 = 1024;
/// A waiting transaction takes up to this many times its encoded size: up to twice for
/// the decoded value (strings and vectors carry headers and capacity, enums their largest
/// variant) and once more for its canonical bytes, kept so that it is encoded and hashed
/// once per node (`lianrong_contracts::Envelope`).
pub const MEMPOOL_DECODED_FACTOR: u64 = 3;

const MIB: u64 = 1024 * 1024;

/// `[memory]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemorySection {
    /// What the node's sized parts may take together, in MiB (see the module docs).
    pub budget_mib: u64,
}

impl Default for MemorySection {
    fn default() -> Self {
        Self {
            budget_mib: DEFAULT_BUDGET_MIB,
        }
    }
}

/// Every size derived from a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryPlan {
    /// The budget, in bytes.
    pub budget_bytes: u64,
    /// The fixed reserve, in bytes.
    pub fixed_bytes: u64,
    /// RocksDB's shared LRU block cache (data, index and filter blocks).
    pub block_cache_bytes: usize,
    /// All memtables of all column families together (RocksDB's write buffer manager).
    pub memtables_bytes: usize,
    /// Memtables per column family (`max_write_buffer_number`).
    pub memtable_count: u32,
    /// One memtable's size (`write_buffer_size`): `memtables_bytes / memtable_count`.
    pub write_buffer_bytes: usize,
    /// Internal tree nodes cached.
    pub node_cache_entries: usize,
    /// Tree leaves cached.
    pub leaf_cache_entries: usize,
    /// Bytes of state values cached (`lianrong_storage::StateCache`, which counts each
    /// entry's key, value and bookkeeping).
    pub state_cache_bytes: usize,
    /// Most transactions in the mempool (`mempool.max_txs` if set).
    pub mempool_max_txs: usize,
    /// Most encoded bytes of transactions in the mempool (`mempool.max_bytes` if set).
    pub mempool_max_bytes: usize,
}

impl MemoryPlan {
    /// What each part may take, in bytes, named as in the docs.
    pub fn parts(&self) -> [(&'static str, u64); 7] {
        [
            ("fixed reserve", self.fixed_bytes),
            ("RocksDB block cache", self.block_cache_bytes as u64),
            (
                "RocksDB memtables",
                self.write_buffer_bytes as u64 * u64::from(self.memtable_count),
            ),
            (
                "tree-node cache",
                self.node_cache_entries as u64 * NODE_ENTRY_BYTES,
            ),
            (
                "tree-leaf cache",
                self.leaf_cache_entries as u64 * LEAF_ENTRY_BYTES,
            ),
            ("state cache", self.state_cache_bytes as u64),
            (
                "mempool",
                mempool_cost(self.mempool_max_txs, self.mempool_max_bytes),
            ),
        ]
    }

    /// The sum of [`Self::parts`]: at most the budget.
    pub fn total_bytes(&self) -> u64 {
        self.parts().iter().map(|(_, b)| b).sum()
    }
}

/// An explicit setting that takes more than its part of the budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excess {
    /// The setting, as the config names it (`mempool.max_txs`).
    pub setting: &'static str,
    /// Its value.
    pub value: u64,
    /// The memory it would take, in bytes.
    pub needs_bytes: u64,
    /// Its part of the budget, in bytes.
    pub share_bytes: u64,
}

impl std::fmt::Display for Excess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} = {} takes {:.1} MiB, above its {:.1} MiB of memory.budget_mib",
            self.setting,
            self.value,
            self.needs_bytes as f64 / MIB as f64,
            self.share_bytes as f64 / MIB as f64
        )
    }
}

/// Why no plan fits a config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemoryError {
    /// The budget is below what a validator needs.
    #[error("memory.budget_mib {0} is below the minimum of {MIN_BUDGET_MIB} MiB a node needs")]
    TooSmall(u64),
    /// The budget is beyond any machine.
    #[error("memory.budget_mib {0} is above {MAX_BUDGET_MIB} (1 TiB)")]
    TooLarge(u64),
    /// Explicit settings exceed their parts of the budget.
    #[error("{}: lower them or raise memory.budget_mib", list(.0))]
    OverBudget(Vec<Excess>),
    /// An explicit setting is too small for the node to work.
    #[error("{setting} = {value} is below {min}: {why}")]
    BelowMinimum {
        /// The setting.
        setting: &'static str,
        /// Its value.
        value: u64,
        /// The least that works.
        min: u64,
        /// Why.
        why: &'static str,
    },
}

fn list(excess: &[Excess]) -> String {
    excess
        .iter()
        .map(Excess::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// What a mempool with these bounds may take: every transaction's entry overhead plus
/// its decoded contents.
pub fn mempool_cost(max_txs: usize, max_bytes: usize) -> u64 {
    (max_txs as u64)
        .saturating_mul(MEMPOOL_ENTRY_BYTES)
        .saturating_add((max_bytes as u64).saturating_mul(MEMPOOL_DECODED_FACTOR))
}

/// `percent` of `bytes`, rounded down.
fn share(bytes: u64, percent: u64) -> u64 {
    bytes / 100 * percent + bytes % 100 * percent / 100
}

/// Derives every size from `memory.budget_mib`, with the explicit `[mempool]` bounds
/// (`max_txs`, `max_bytes`) in place of the derived ones -- refused if either takes more
/// than the mempool's part of the budget, or is too small for one full block.
pub fn plan(memory: &MemorySection, mempool: &MempoolSection) -> Result<MemoryPlan, MemoryError> {
    let mib = memory.budget_mib;
    if mib < MIN_BUDGET_MIB {
        return Err(MemoryError::TooSmall(mib));
    }
    if mib > MAX_BUDGET_MIB {
        return Err(MemoryError::TooLarge(mib));
    }
    let budget = mib * MIB;
    let fixed = FIXED_MIB * MIB;
    let rest = budget - fixed;
    let memtables = share(rest, MEMTABLES_PERCENT);
    let write_buffer = memtables / u64::from(MEMTABLE_COUNT);
    let mempool_share = share(rest, MEMPOOL_PERCENT);
    // Of the mempool's part, half for the entries and half for the decoded
    // transactions: room for a full block of the smallest transactions and for blocks'
    // worth of large ones, at the smallest budget too.
    let count_share = mempool_share / 2;
    let bytes_share = mempool_share - count_share;
    let (max_txs, max_bytes) = mempool_bounds(mempool, count_share, bytes_share)?;
    Ok(MemoryPlan {
        budget_bytes: budget,
        fixed_bytes: fixed,
        block_cache_bytes: to_usize(share(rest, BLOCK_CACHE_PERCENT)),
        memtables_bytes: to_usize(write_buffer * u64::from(MEMTABLE_COUNT)),
        memtable_count: MEMTABLE_COUNT,
        write_buffer_bytes: to_usize(write_buffer),
        node_cache_entries: to_usize(share(rest, NODE_CACHE_PERCENT) / NODE_ENTRY_BYTES),
        leaf_cache_entries: to_usize(share(rest, LEAF_CACHE_PERCENT) / LEAF_ENTRY_BYTES),
        state_cache_bytes: to_usize(share(rest, STATE_CACHE_PERCENT)),
        mempool_max_txs: max_txs,
        mempool_max_bytes: max_bytes,
    })
}

/// The mempool's bounds: derived from its shares, or the explicit ones checked against
/// them and against one block.
fn mempool_bounds(
    mempool: &MempoolSection,
    count_share: u64,
    bytes_share: u64,
) -> Result<(usize, usize), MemoryError> {
    let max_txs = mempool
        .max_txs
        .unwrap_or(to_usize(count_share / MEMPOOL_ENTRY_BYTES));
    let max_bytes = mempool
        .max_bytes
        .unwrap_or(to_usize(bytes_share / MEMPOOL_DECODED_FACTOR));
    let mut excess = Vec::new();
    let txs_cost = (max_txs as u64).saturating_mul(MEMPOOL_ENTRY_BYTES);
    if txs_cost > count_share {
        excess.push(Excess {
            setting: "mempool.max_txs",
            value: max_txs as u64,
            needs_bytes: txs_cost,
            share_bytes: count_share,
        });
    }
    let bytes_cost = (max_bytes as u64).saturating_mul(MEMPOOL_DECODED_FACTOR);
    if bytes_cost > bytes_share {
        excess.push(Excess {
            setting: "mempool.max_bytes",
            value: max_bytes as u64,
            needs_bytes: bytes_cost,
            share_bytes: bytes_share,
        });
    }
    if !excess.is_empty() {
        return Err(MemoryError::OverBudget(excess));
    }
    // A mempool that cannot hold one full block's payload would never fill a block.
    let min_bytes = lianrong_consensus::MAX_PAYLOAD_BYTES as u64;
    if (max_bytes as u64) < min_bytes {
        return Err(MemoryError::BelowMinimum {
            setting: "mempool.max_bytes",
            value: max_bytes as u64,
            min: min_bytes,
            why: "one block's payload must fit in the mempool",
        });
    }
    Ok((max_txs, max_bytes))
}

/// Sizes fit in `usize` on the 64-bit targets the node runs on; on a smaller one a size
/// is capped rather than wrapped.
fn to_usize(bytes: u64) -> usize {
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn derived(mib: u64) -> MemoryPlan {
        plan(
            &MemorySection { budget_mib: mib },
            &MempoolSection::default(),
        )
        .unwrap()
    }

    #[test]
    fn the_parts_stay_within_every_budget_and_grow_with_it() {
        let mut last: Option<MemoryPlan> = None;
        for mib in (MIN_BUDGET_MIB..=4096).step_by(7).chain([MAX_BUDGET_MIB]) {
            let p = derived(mib);
            assert!(p.total_bytes() <= p.budget_bytes, "{mib}: {p:?}");
            // Nothing sizeable is left over: rounding loses at most a MiB.
            assert!(p.budget_bytes - p.total_bytes() < MIB, "{mib}: {p:?}");
            assert_eq!(
                p.memtables_bytes,
                p.write_buffer_bytes * p.memtable_count as usize
            );
            if let Some(l) = last {
                assert!(p.block_cache_bytes >= l.block_cache_bytes, "{mib}");
                assert!(p.write_buffer_bytes >= l.write_buffer_bytes, "{mib}");
                assert!(p.node_cache_entries >= l.node_cache_entries, "{mib}");
                assert!(p.leaf_cache_entries >= l.leaf_cache_entries, "{mib}");
                assert!(p.state_cache_bytes >= l.state_cache_bytes, "{mib}");
                assert!(p.mempool_max_txs >= l.mempool_max_txs, "{mib}");
                assert!(p.mempool_max_bytes >= l.mempool_max_bytes, "{mib}");
            }
            last = Some(p);
        }
    }

    #[test]
    fn the_smallest_budget_still_runs_a_validator() {
        let p = derived(MIN_BUDGET_MIB);
        // A full block fits in the mempool, by count and by bytes.
        assert!(p.mempool_max_txs >= MempoolSection::default().max_block_txs);
        assert!(p.mempool_max_bytes >= lianrong_consensus::MAX_PAYLOAD_BYTES);
        // A block's writes (a few MiB) fit in a memtable; the tree's top levels in cache.
        assert!(p.write_buffer_bytes >= 4 * MIB as usize, "{p:?}");
        assert!(p.node_cache_entries >= 4096, "{p:?}");
        assert!(p.block_cache_bytes >= 8 * MIB as usize, "{p:?}");
        // The key records and nonces of thousands of signers.
        assert!(p.state_cache_bytes >= MIB as usize, "{p:?}");
        let err = plan(
            &MemorySection {
                budget_mib: MIN_BUDGET_MIB - 1,
            },
            &MempoolSection::default(),
        )
        .unwrap_err();
        assert_eq!(err, MemoryError::TooSmall(MIN_BUDGET_MIB - 1));
        assert!(err.to_string().contains("minimum of 64 MiB"), "{err}");
        let huge = MemorySection {
            budget_mib: MAX_BUDGET_MIB + 1,
        };
        assert!(plan(&huge, &MempoolSection::default()).is_err());
    }

    #[test]
    fn the_default_budget_splits_as_documented() {
        let p = derived(DEFAULT_BUDGET_MIB);
        // 33 % and 4 % of the 160 MiB left after the fixed reserve.
        assert_eq!(p.block_cache_bytes, 55_364_812);
        assert_eq!(p.state_cache_bytes, 6_710_886);
        assert_eq!(p.write_buffer_bytes, 20 * MIB as usize);
        assert_eq!(p.memtable_count, 2);
        assert_eq!(p.node_cache_entries, 29_127);
        // 3 % of it at 192 bytes a leaf.
        assert_eq!(p.leaf_cache_entries, 26_214);
        assert_eq!(p.mempool_max_txs, 12_288);
        assert_eq!(p.mempool_max_bytes, 4 * MIB as usize);
    }

    #[test]
    fn explicit_mempool_bounds_override_within_their_share_only() {
        let memory = MemorySection::default();
        let small = MempoolSection {
            max_txs: Some(10_000),
            max_bytes: Some(4 * MIB as usize),
            ..MempoolSection::default()
        };
        let p = plan(&memory, &small).unwrap();
        assert_eq!((p.mempool_max_txs, p.mempool_max_bytes), (10_000, 4 << 20));
        assert!(p.total_bytes() <= p.budget_bytes);

        let big = MempoolSection {
            max_txs: Some(50_000),
            max_bytes: Some(32 * MIB as usize),
            ..MempoolSection::default()
        };
        let MemoryError::OverBudget(excess) = plan(&memory, &big).unwrap_err() else {
            panic!("not refused for the budget");
        };
        let named: Vec<&str> = excess.iter().map(|e| e.setting).collect();
        assert_eq!(named, ["mempool.max_txs", "mempool.max_bytes"]);
        assert!(excess[0].to_string().contains("mempool.max_txs = 50000"));
        // The same settings fit a larger budget.
        assert!(plan(&MemorySection { budget_mib: 2048 }, &big).is_ok());

        let tiny = MempoolSection {
            max_bytes: Some(1024),
            ..MempoolSection::default()
        };
        let err = plan(&memory, &tiny).unwrap_err().to_string();
        assert!(
            err.contains("mempool.max_bytes = 1024 is below 262144"),
            "{err}"
        );
    }
}
