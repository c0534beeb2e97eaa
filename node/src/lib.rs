//! The LianRong node: all IO lives here. Storage on RocksDB (`storage`), peer-to-peer
//! networking on libp2p (`network`), and (to come) the mempool, the HTTP API and the loop
//! that feeds the consensus engine and applies finalized blocks to the contract ledger.

pub mod api;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod gossip;
pub mod keyfile;
pub mod mempool;
pub mod network;
pub mod payload;
pub mod runtime;
pub mod storage;
pub mod testnet;
