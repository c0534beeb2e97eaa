//! What a LianRong node reads from outside and must parse before it trusts anything: its
//! `config.toml` and `genesis.json` ([`config`]), the payload of a block ([`payload`]) and
//! the transaction bundles peers gossip ([`gossip`]); and the one memory budget every
//! cache, memtable and mempool size is derived from ([`memory`]).
//!
//! Kept apart from `lianrong-node` (which re-exports every module under the same name) so
//! that these parsers build without RocksDB or libp2p: the fuzz targets in `fuzz/` call
//! them directly.

pub mod config;
pub mod gossip;
pub mod memory;
pub mod payload;
