//! TLS for LianRong's HTTP surfaces, in one place so the node API, the explorer, the SDK
//! and the CLI read PEM files, pick the crypto provider and report bad files alike.
//!
//! - [`server_config`]: a certificate chain and its key (and optionally a CA whose
//!   client certificates alone are let in) as a rustls server config;
//! - [`TlsListener`] (feature `server`): an axum listener that serves HTTPS with it;
//! - [`client_config`] (feature `client`): a client that trusts only a given CA (or,
//!   without one, the system's trust store) and may present a client certificate;
//! - [`not_after`]: when a certificate expires, for the node's expiry metric;
//! - `issue` (feature `issue`): a local CA for test networks and tests.
//!
//! Every config uses rustls's ring provider explicitly: the workspace also builds rustls
//! with aws-lc-rs (the browser tests' WebDriver client), and with two providers compiled
//! in, rustls cannot pick a process default by itself.

mod der;
mod pem;
mod server;

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "issue")]
pub mod issue;
#[cfg(feature = "server")]
mod listener;

use std::path::PathBuf;
use std::sync::Arc;

pub use der::not_after;
pub use pem::{load_certs, load_key, root_store, PemKind};
pub use server::{server_config, ServerTls};

#[cfg(feature = "client")]
pub use client::client_config;
#[cfg(feature = "server")]
pub use listener::TlsListener;

pub use rustls;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file is missing, unreadable or does not hold what it should.
    #[error("{kind} {path}: {reason}")]
    File {
        /// What the file should hold.
        kind: PemKind,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The files are each fine but do not make a usable config together.
    #[error("{0}")]
    Config(String),
}

/// The crypto provider of every config made here.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes [`provider`] the process-wide default for code that builds its own rustls
/// config without naming a provider (a third-party client such as fantoccini's). A
/// process whose dependency graph enables both of rustls' providers (ring here,
/// aws-lc-rs for another crate) otherwise has no default and such code panics. An
/// earlier default, if any, stays.
pub fn install_default_provider() {
    let _already_set = rustls::crypto::ring::default_provider().install_default();
}
