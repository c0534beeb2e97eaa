//! Member keys and how a client authenticates.

use std::path::Path;

use lianrong_primitives::request::{request_signing_bytes, H_KEY, H_SIG, H_TIME};
use lianrong_primitives::{KeyFile, OrgId, PublicKey, SecretKey};

use crate::error::SdkError;

/// A member key: the Ed25519 key an organisation acts through, plus what its key file
/// says about it (org, chain id). Cheap to clone (shared; the secret is never copied
/// out of memory).
#[derive(Clone)]
pub struct MemberKey {
    inner: std::sync::Arc<KeyInner>,
}

struct KeyInner {
    secret: SecretKey,
    org: Option<OrgId>,
    chain_id: Option<String>,
    /// The time of the last request signed with this key (ms), see
    /// [`MemberKey::next_request_time`].
    last_request_ms: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for MemberKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("MemberKey")
            .field("public", &self.public())
            .field("org", &self.inner.org)
            .field("chain_id", &self.inner.chain_id)
            .finish()
    }
}

impl MemberKey {
    /// Loads a key file (the format of `lianrong keygen` / `lianrong testnet`), checking
    /// that its public key matches its secret.
    ///
    /// ```no_run
    /// let key = lianrong_sdk::MemberKey::load("/tmp/net/keys/SUP-1.json".as_ref())?;
    /// println!("{} acts for {:?}", key.public(), key.org());
    /// # Ok::<(), lianrong_sdk::SdkError>(())
    /// ```
    pub fn load(path: &Path) -> Result<Self, SdkError> {
        let (file, secret) = KeyFile::read(path)?;
        Ok(Self::new(secret, file.org, file.chain_id))
    }

    /// A key from its secret; `org` and `chain_id` are optional hints.
    pub fn new(secret: SecretKey, org: Option<OrgId>, chain_id: Option<String>) -> Self {
        Self {
            inner: std::sync::Arc::new(KeyInner {
                secret,
                org,
                chain_id,
                last_request_ms: std::sync::atomic::AtomicU64::new(0),
            }),
        }
    }

    /// The public key.
    pub fn public(&self) -> PublicKey {
        self.inner.secret.public()
    }

    /// The org named in the key file, if any.
    pub fn org(&self) -> Option<&OrgId> {
        self.inner.org.as_ref()
    }

    /// The chain id named in the key file, if any.
    pub fn chain_id(&self) -> Option<&str> {
        self.inner.chain_id.as_deref()
    }

    /// The secret key (to sign transactions).
    pub fn secret(&self) -> &SecretKey {
        &self.inner.secret
    }

    /// The time to sign the next API request with, given the clock reads `now_ms`: `now_ms`,
    /// or one past the last time this key (in this process) signed with if that is not
    /// earlier. A node accepts a signed request once (the same signature again is a
    /// replay), and Ed25519 signatures are deterministic, so two requests for the same path
    /// in the same millisecond -- concurrent reads, a retry -- must carry different times.
    pub fn next_request_time(&self, now_ms: u64) -> u64 {
        use std::sync::atomic::Ordering;
        let last = &self.inner.last_request_ms;
        let mut prev = last.load(Ordering::Relaxed);
        loop {
            let next = now_ms.max(prev.saturating_add(1));
            match last.compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return next,
                Err(seen) => prev = seen,
            }
        }
    }

    /// The three headers of a signed API request (key, time, signature) for `method` on
    /// `path_and_query` of the node at `authority` (`host:port`) at `time_ms`.
    pub fn request_headers(
        &self,
        chain_id: &str,
        authority: &str,
        method: &str,
        path_and_query: &str,
        time_ms: u64,
    ) -> [(&'static str, String); 3] {
        let msg = request_signing_bytes(chain_id, authority, method, path_and_query, time_ms);
        [
            (H_KEY, self.public().to_hex()),
            (H_TIME, time_ms.to_string()),
            (H_SIG, self.inner.secret.sign(&msg).to_hex()),
        ]
    }
}

/// How a client proves who it is to the node.
#[derive(Clone)]
pub enum Auth {
    /// An API token the node's config grants to an org (`Authorization: Bearer`).
    Token(String),
    /// Requests signed by a member key.
    Key(MemberKey),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Never print the token.
            Auth::Token(_) => f.write_str("Auth::Token(..)"),
            Auth::Key(k) => f.debug_tuple("Auth::Key").field(k).finish(),
        }
    }
}
