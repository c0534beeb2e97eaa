//! The LianRong validator as a library: the loop that feeds the `consensus` engine from the
//! network (`lianrong-network`) and applies finalized blocks to the contract ledger in
//! `lianrong-storage`, the mempool, transaction gossip and the HTTP API. The `lianrong` binary
//! crate runs it; nothing here knows about the explorer, the SDK or the importer.

pub mod admission;
pub mod api;
pub mod backup;
pub mod check_config;
pub mod clock;
pub mod cpu;
pub mod executor;
pub mod glibc_malloc;
pub mod join;
pub mod keyfile;
pub mod mempool;
pub mod precheck;
pub mod proposed;
pub mod runtime;
pub mod submissions;
pub mod sync_io;

// What the node reads from outside (config.toml, genesis.json, block payloads, gossip
// bundles) lives in a crate without RocksDB, so the fuzz targets reach the real parsers;
// re-exported here so `lianrong_node::config` and friends stay where they were.
pub use lianrong_node_formats::{config, gossip, payload};
