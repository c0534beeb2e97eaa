//! The LianRong contract layer: the supply-chain finance business rules as a deterministic
//! state machine over a key-value state with a Merkle root.
//!
//! Given the same genesis and the same blocks of verified transactions, every node gets
//! the same receipts and the same state root. Nothing here reads a clock, a random source,
//! the network or the disk: time is the block's agreed time, and storage is whatever
//! implements [`state::Storage`].
//!
//! Entry points: [`genesis::Genesis::changes`] to start, [`exec::execute_block`] for each
//! block, [`merkle::prove`] for state proofs.

pub mod action;
pub mod error;
pub mod events;
pub mod exec;
pub mod genesis;
pub mod layered;
pub mod merkle;
pub mod model;
pub mod money;
pub mod pricing;
pub mod state;
/// Test fixtures (a standard cast, panicking helpers): only in tests and under the
/// `testkit` feature, never in a validator build.
#[cfg(any(test, feature = "testkit"))]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test fixtures fail loudly"
)]
pub mod testkit;
pub mod tx;

pub use action::{Action, InvoiceSpec};
pub use error::{ContractError, DocKind, StoreError};
pub use events::{Event, HistoryEntry, Receipt};
pub use exec::{execute_block, BlockContext, BlockError, BlockOutcome};
pub use genesis::Genesis;
pub use layered::Layered;
pub use merkle::{MemoryStorage, StateChanges, StateProof};
pub use tx::{
    verify_batch, verify_envelopes, Envelope, ListedTx, SignedTransaction, Signer, Transaction,
    TxError, VerifiedTransaction,
};
