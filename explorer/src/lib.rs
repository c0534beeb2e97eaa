//! LianRong explorer: a web application for the bank's auditors over a node's API.
//!
//! Module map (see README.md):
//! - [`config`]: the TOML config (listen address, node, accounts, sessions, lock-out).
//! - [`auth`]: argon2 passwords, sessions, lock-out after repeated failures.
//! - [`node`]: the [`node::NodeApi`] trait the explorer reads the node through.
//! - [`index`]: the follower of committed blocks and the bounded in-memory index (the
//!   pages' cache) it fills.
//! - [`store`]: the index's database (SQLite or PostgreSQL through sqlx): every block,
//!   transaction and document, written block by block; restarts continue from its height.
//! - [`vis`]: THE visibility filter every page, CSV and live event goes through.
//! - [`views`]: list tables, risk views (maturity ladder, overdue, exposure, long tenor).
//! - [`money`]: settlements, disbursements and their answers, offers' validity, lapses.
//! - [`approvals`]: actions held for a second member key (dual control), who made and
//!   approved them, and its CSV.
//! - [`limits`]: the credit limits risk view (limits, use, headroom) and its CSV.
//! - [`overdue`]: the risk view of overdue and written-off financings by bank and debtor,
//!   aged 1-30, 31-90 and 90+ days past due, with totals per currency, and its CSV.
//! - [`loans`]: loans against pledged warehouse receipts (today's value, LTV, margin
//!   call and its deadline, accrued interest).
//! - [`programmes`]: supply-chain finance programmes (terms, grid, members, the use of
//!   their limit), a list with CSV and a page each.
//! - [`sales`]: banks' secondary sales of a financing, on its page.
//! - [`pricing`]: offers' all-in annualised cost to the supplier, and the cost report
//!   (net-weighted all-in by month, programme and tier beside a reference rate) and its CSV.
//! - [`governance`]: governance proposals (open, executed, lapsed) and who approved them.
//! - [`warehouse`]: warehouse receipts, their lot, owner, pledge state and history.
//! - [`lineage`]: a receivable's lineage as an SVG picture, each history entry checked
//!   against its certified history proof (proven, not yet certified, or NOT PROVEN).
//! - [`vectors`]: what the in-browser verifier is given (the verify API's inputs, built
//!   here) and the pinned vectors, honest and dishonest, it must judge like the SDK.
//! - [`server`]: the axum routes, pages, CSV export and the live event stream.

#![deny(missing_docs)]

pub mod approvals;
pub mod auth;
pub mod config;
pub mod governance;
mod https;
pub mod index;
pub mod limits;
pub mod lineage;
pub mod loans;
pub mod money;
pub mod node;
pub mod overdue;
mod pages;
pub mod pricing;
pub mod programmes;
pub mod sales;
pub mod server;
pub mod store;
pub mod vectors;
pub mod views;
pub mod vis;
pub mod warehouse;

pub use auth::hash_password;
pub use config::{Account, AccountRole, ExplorerConfig, ServeTls};
pub use server::{bind, serve, Explorer};

/// Everything that can go wrong inside the explorer library.
#[derive(Debug, thiserror::Error)]
pub enum ExplorerError {
    /// The config file could not be read or is invalid.
    #[error("config {path}: {reason}")]
    Config {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The node answered with an error or could not be reached.
    #[error(transparent)]
    Node(#[from] node::NodeError),
    /// Password hashing failed.
    #[error("password hashing failed: {0}")]
    Password(String),
    /// Binding or serving HTTP failed.
    #[error("http server: {0}")]
    Io(#[from] std::io::Error),
}
