//! HTTPS: which servers a [`crate::Client`] trusts and which certificate it presents.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lianrong_tls::rustls;

use crate::error::SdkError;

/// The TLS side of [`crate::ClientOptions`]: the CA the node's certificate must chain
/// to (otherwise the system's trust store) and an optional client certificate, for nodes
/// that require one (`[api.tls] client_ca`). Plain `http://` URLs ignore it.
#[derive(Clone)]
pub struct TlsOptions {
    config: Arc<rustls::ClientConfig>,
    /// Whom it trusts, for error messages.
    trust: String,
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field("trust", &self.trust)
            .finish()
    }
}

impl TlsOptions {
    /// The system's trust store, no client certificate (what a client without
    /// [`crate::ClientOptions::tls`] uses for `https://`).
    pub fn system() -> Result<Self, SdkError> {
        Self::from_files(None, None, None)
    }

    /// Trusts only the CA certificates in `ca` (PEM), or the system's trust store
    /// without it; presents the certificate chain `client_cert` with its key
    /// `client_key` (both or neither) to servers that ask. Errors name the file at fault.
    pub fn from_files(
        ca: Option<&Path>,
        client_cert: Option<&Path>,
        client_key: Option<&Path>,
    ) -> Result<Self, SdkError> {
        let identity = match (client_cert, client_key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                return Err(SdkError::Invalid(
                    "a client certificate needs its key and a key its certificate \
                     (--client-cert and --client-key together)"
                        .into(),
                ))
            }
        };
        let config = lianrong_tls::client_config(ca, identity)
            .map_err(|e| SdkError::Invalid(e.to_string()))?;
        let mut trust = match ca {
            Some(ca) => format!("only the CA of {}", ca.display()),
            None => "the system's trust store".to_string(),
        };
        if let Some((cert, _)) = identity {
            trust.push_str(&format!(", presenting {}", cert.display()));
        }
        Ok(TlsOptions {
            config: Arc::new(config),
            trust,
        })
    }

    /// Whom it trusts (and what it presents), in words.
    pub fn trust(&self) -> &str {
        &self.trust
    }

    /// The rustls config (what reqwest is given).
    pub(crate) fn rustls(&self) -> rustls::ClientConfig {
        self.config.as_ref().clone()
    }
}

/// PEM paths as a CLI or a config names them; see [`TlsOptions::from_files`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA certificates the node's certificate must chain to.
    pub ca: Option<PathBuf>,
    /// A client certificate chain.
    pub client_cert: Option<PathBuf>,
    /// Its private key.
    pub client_key: Option<PathBuf>,
}

impl TlsFiles {
    /// The options these files make.
    pub fn load(&self) -> Result<TlsOptions, SdkError> {
        TlsOptions::from_files(
            self.ca.as_deref(),
            self.client_cert.as_deref(),
            self.client_key.as_deref(),
        )
    }
}

/// The TLS failure behind a transport error, if that is what it was: rustls's error
/// somewhere down the chain. reqwest wraps it in hyper's error and in `io::Error`s,
/// whose `source` skips the error they carry, so those are opened with `get_ref`.
pub(crate) fn tls_failure(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur = Some(e);
    for _ in 0..16 {
        let err = cur?;
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r.to_string());
        }
        cur = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}
