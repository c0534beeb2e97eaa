//! The node's durable storage on RocksDB.
//!
//! One [`Db`] holds everything a node keeps: the contract state and its Jellyfish Merkle
//! tree (implementing the contract layer's [`lianrong_contracts::state::Storage`] and
//! jmt's `TreeReader`, so `execute_block`, `Genesis::changes` and `merkle::prove` run on
//! it directly), finalized blocks and commit certificates (opaque bytes), transactions,
//! receipts, document history, receivable indexes for the HTTP API, and the consensus
//! safety state.
//!
//! Use:
//! 1. [`Db::open`] with the chain id (refuses another chain's database);
//! 2. once, [`Db::apply_genesis`] with `Genesis::changes(&db)`;
//! 3. per finalized block, `execute_block(&db, ..)` then [`Db::commit_block`] -- one
//!    synced atomic write per block;
//! 4. before a vote leaves the node, [`Db::store_safety`] (or the consensus
//!    `SafetyStore` impl);
//! 5. [`Db::close`] on shutdown.
//!
//! With [`DbOptions::keep_versions`] the Merkle tree is pruned to a window of recent
//! versions in each block's commit ([`prune`]).
//!
//! [`Db::checkpoint`] copies the live database for a backup without stopping commits.
//! [`snapshot`] exports the state at one height in proven chunks, and imports it into an
//! empty database (a node that joins without replaying the chain).
//!
//! With [`DbOptions::encryption`] (the operator's [`DataKey`]) everything written is
//! encrypted at rest ([`crypt`]).
//!
//! Layout and limits: [`schema`].

mod cache_reads;
mod checkpoint;
mod commit;
pub mod crypt;
mod db;
mod error;
mod evidence;
mod indexes;
mod ledger;
mod node_cache;
pub mod node_codec;
pub mod prune;
mod query;
mod safety;
pub mod schema;
pub mod snapshot;
mod state_cache;

pub use cache_reads::CacheReads;
pub use commit::{CommitBlock, TxRecord};
pub use crypt::{CryptError, DataKey};
pub use db::{Db, DbOptions, MemoryLimits, MemoryUsage, MEMTABLE_ARENA_BLOCK_BYTES};
pub use error::DbError;
pub use evidence::{Recorded, MAX_EVIDENCE_RECORDS};
pub use indexes::{status_name, ReceivableIndex};
pub use node_cache::{NodeCache, LEAF_CACHE_ENTRIES};
pub use prune::PruneStats;
pub use safety::MAX_SAFETY_BYTES;
pub use state_cache::{Lookup, StateCache, Ticket, ENTRY_OVERHEAD, STATE_CACHE_BYTES};

#[cfg(test)]
#[allow(clippy::too_many_lines, reason = "test scenarios read top to bottom")]
mod tests;
