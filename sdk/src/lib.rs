//! LianRong SDK: an async client of a LianRong node's HTTP API.
//!
//! - [`Client`]: typed queries, any GET as JSON, the event stream; timeouts, bounded
//!   retries and bounded answers on every request; lists page by page (`*_page`) or
//!   whole ([`pages`]: every page to the last, bounded).
//! - [`MemberKey`] and [`Auth`]: key files and signed requests (or an API token).
//! - [`Signer`]: builds and signs every action, manages nonces, submits idempotently and
//!   waits for finality.
//! - [`verify_block`], [`verify_document`], [`verify_history`], [`verify_epochs`]: check
//!   blocks, documents and histories locally, trusting nothing but the genesis file
//!   ([`TrustRoot`]).
//! - [`args`]: strict parsing of amounts, dates, ids as users type them.
//!
//! ```no_run
//! use lianrong_sdk::{Auth, Client, MemberKey, Signer};
//! # async fn demo() -> Result<(), lianrong_sdk::SdkError> {
//! let key = MemberKey::load("/tmp/net/keys/CORE-A.json".as_ref())?;
//! let client = Client::new("http://127.0.0.1:8080", Auth::Key(key.clone()))?;
//! let signer = Signer::new(client.clone(), key).await?;
//! let done = signer
//!     .issue_order(
//!         lianrong_sdk::args::doc_id("PO-1")?,
//!         lianrong_sdk::args::org_id("SUP-1")?,
//!         lianrong_sdk::args::money("1000000.00", "CNY")?,
//!         "net 90".into(),
//!         lianrong_primitives::Hash::ZERO,
//!         vec![lianrong_sdk::args::org_id("LOGI")?],
//!     )
//!     .await?;
//! println!("PO-1 issued in block {}", done.height);
//! # Ok(()) }
//! ```

pub mod args;
pub mod client;
mod committed;
pub mod error;
pub mod key;
mod overdue;
pub mod pages;
mod sales;
pub mod signer;
pub mod steps;
pub mod tls;
pub mod verify;

pub use client::{Client, ClientOptions, NodeEvent};
pub use committed::Committed;
pub use error::SdkError;
pub use key::{Auth, MemberKey};
/// The node API's wire schema (every envelope the client parses).
pub use lianrong_api_types as api_types;
pub use lianrong_api_types::envelopes::*;
pub use pages::{collect_pages, PageWalk, MAX_LISTED};
pub use signer::Signer;
pub use steps::StepsPages;
pub use tls::{TlsFiles, TlsOptions};
pub use verify::{
    validator_set, verify_block, verify_document, verify_epochs, verify_history, Finality,
    HistoryPages, TrustRoot, VerifiedBlock, VerifiedDocument, VerifiedHistory,
};

/// Civil dates as the ledger uses them (re-exported so callers need no chrono).
pub use chrono::NaiveDate;
/// The contract layer's types (actions, records, money, events), as the SDK uses them.
pub use lianrong_contracts as contracts;
/// Hashes, keys, ids and the key file format, as the SDK uses them.
pub use lianrong_primitives as primitives;
