//! The LianRong validator as a library: the loop that feeds the `consensus` engine from the
//! network (`lianrong-network`) and applies finalized blocks to the contract ledger in
//! `lianrong-storage`, the mempool, transaction gossip and the HTTP API. The `lianrong` binary
//! crate runs it; nothing here knows about the explorer, the SDK or the importer.

pub mod admission;
pub mod api;
pub mod clock;
pub mod config;
pub mod gossip;
pub mod keyfile;
pub mod mempool;
pub mod payload;
pub mod runtime;
