//! The one error type of the SDK.

use std::time::Duration;

use lianrong_primitives::{Hash, KeyFileError};

/// Everything that can go wrong talking to a node, signing or verifying.
///
/// Errors the node answered carry its HTTP status and its stable `code` (see the node API:
/// `{"error": {"code", "message"}}`), so callers can match on [`SdkError::code`].
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The node could not be reached (refused, unreachable, DNS).
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// The request URL.
        url: String,
        /// The transport's reason.
        reason: String,
    },
    /// The TLS handshake with an `https://` node failed: its certificate is not signed
    /// by a CA this client trusts, names another host, or it wants a client certificate.
    #[error("TLS with {url} failed: {reason}{}", trusting(trust))]
    Tls {
        /// The request URL.
        url: String,
        /// rustls's reason.
        reason: String,
        /// Whom the client trusts and what it presents.
        trust: Option<String>,
    },
    /// The node did not answer in time.
    #[error("no answer from {url} within {after:?}")]
    Timeout {
        /// The request URL.
        url: String,
        /// The limit that was hit.
        after: Duration,
    },
    /// The node answered with an error.
    #[error("node refused ({status} {code}): {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The node's stable error code (`not_found`, `stale_nonce`, ...).
        code: String,
        /// The node's message.
        message: String,
    },
    /// The node's answer was not what the API promises (not JSON, wrong shape, too big).
    #[error("unexpected answer from {url}: {reason}")]
    BadResponse {
        /// The request URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// Another transport failure (connection reset mid-body, ...).
    #[error("request to {url} failed: {reason}")]
    Transport {
        /// The request URL.
        url: String,
        /// The transport's reason.
        reason: String,
    },
    /// A committed transaction that the ledger refused (its nonce is spent, nothing else
    /// changed).
    #[error("transaction {hash} refused at height {height} ({code}): {message}")]
    Refused {
        /// The transaction.
        hash: Hash,
        /// The block it was committed in.
        height: u64,
        /// The contract error code.
        code: String,
        /// The contract's reason.
        message: String,
    },
    /// Submitted, but not final within the wait limit; it may still commit later.
    #[error("transaction {hash} is not final after {waited:?}; check it later with `tx show`")]
    NotFinal {
        /// The transaction.
        hash: Hash,
        /// How long the SDK waited.
        waited: Duration,
    },
    /// A certificate or proof did not verify.
    #[error("verification failed: {0}")]
    Verify(String),
    /// A key file could not be used.
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// A list holds more items than the helper reading all its pages gathers (read it
    /// page by page instead); never answered by a shortened list.
    #[error("{url} lists more than {limit} items; read it page by page")]
    TooLong {
        /// The list's path.
        url: String,
        /// The most items gathered.
        limit: usize,
    },
    /// A caller-supplied value is invalid (bad amount, date, id, URL, ...).
    #[error("{0}")]
    Invalid(String),
}

/// " (trusting ...)" after a TLS failure, when the client said whom it trusted.
fn trusting(trust: &Option<String>) -> String {
    trust
        .as_ref()
        .map(|t| format!(" (trusting {t})"))
        .unwrap_or_default()
}

impl SdkError {
    /// The node's (or contract's) error code, if the node or ledger answered one.
    pub fn code(&self) -> Option<&str> {
        match self {
            SdkError::Api { code, .. } | SdkError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status, if the node answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            SdkError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True for a 404 (missing, or not visible to this caller).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether sending the same request again may succeed: transport trouble, timeouts,
    /// an overloaded node (429, 502, 503, 504). Never true for the caller's own mistakes.
    pub fn is_retryable(&self) -> bool {
        match self {
            SdkError::Connect { .. } | SdkError::Timeout { .. } | SdkError::Transport { .. } => {
                true
            }
            SdkError::Api { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            _ => false,
        }
    }
}
