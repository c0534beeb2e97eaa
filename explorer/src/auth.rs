//! Logins: argon2 password hashes, server-side sessions with random ids and expiry, and
//! lock-out after repeated failures. Every table here is bounded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use rand::RngCore;

use crate::config::{Account, AccountRole, ExplorerConfig, Lockout};
use crate::vis::Viewer;
use crate::ExplorerError;
use lianrong_primitives::OrgId;

/// Most live sessions; the oldest is dropped beyond this.
pub const MAX_SESSIONS: usize = 10_000;
/// Most usernames tracked for failed logins (known or not).
pub const MAX_FAILURE_ENTRIES: usize = 10_000;

/// Argon2id (default parameters) PHC string of `password` with a random salt, for the
/// `password_hash` of an account (`lianrong explorer hash-password`).
pub fn hash_password(password: &str) -> String {
    // Hashing only fails if the RNG does; a string that never verifies is the safe answer.
    try_hash_password(password).unwrap_or_else(|_| "$argon2id$unusable".into())
}

/// [`hash_password`] that reports a failure.
pub fn try_hash_password(password: &str) -> Result<String, ExplorerError> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ExplorerError::Password(e.to_string()))
}

/// True if `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// A logged-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Login name.
    pub username: String,
    /// What the user sees.
    pub viewer: Viewer,
    /// When the session ends.
    pub expires: Instant,
}

/// Why a login failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Unknown user or wrong password (the same answer for both).
    #[error("wrong username or password")]
    Invalid,
    /// Too many failures; try again later.
    #[error("too many failed attempts; try again in {0} seconds")]
    Locked(u64),
}

#[derive(Debug, Clone)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
    last: Instant,
}

/// Accounts, sessions and the failure table.
pub struct Auth {
    accounts: HashMap<String, Account>,
    ttl: Duration,
    lockout: Lockout,
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<String, Failures>>,
    dummy_hash: String,
}

impl Auth {
    /// From the config's accounts and policies.
    pub fn new(cfg: &ExplorerConfig) -> Self {
        Auth {
            accounts: cfg
                .accounts
                .iter()
                .map(|a| (a.username.clone(), a.clone()))
                .collect(),
            ttl: Duration::from_secs(cfg.session_ttl_secs),
            lockout: cfg.lockout.clone(),
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            dummy_hash: hash_password("not a real password"),
        }
    }

    /// Session lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Checks a login at time `now`; on success returns a new session id. Blocking
    /// (argon2): call from `spawn_blocking`.
    pub fn login(
        &self,
        username: &str,
        password: &str,
        now: Instant,
    ) -> Result<String, LoginError> {
        let key: String = username.chars().take(64).collect();
        if let Some(until) = self.locked_until(&key, now) {
            return Err(LoginError::Locked(
                until.duration_since(now).as_secs().max(1),
            ));
        }
        let account = self.accounts.get(&key);
        // Same work for unknown users, so timing does not tell which names exist.
        let hash = account.map_or(self.dummy_hash.as_str(), |a| a.password_hash.as_str());
        let ok = verify_password(password, hash) && account.is_some();
        match (ok, account) {
            (true, Some(a)) => {
                self.clear_failures(&key);
                self.open_session(a, now).ok_or(LoginError::Invalid)
            }
            _ => {
                self.record_failure(&key, now);
                match self.locked_until(&key, now) {
                    Some(until) => Err(LoginError::Locked(
                        until.duration_since(now).as_secs().max(1),
                    )),
                    None => Err(LoginError::Invalid),
                }
            }
        }
    }

    fn locked_until(&self, key: &str, now: Instant) -> Option<Instant> {
        let f = self.failures.lock().ok()?;
        f.get(key)
            .and_then(|e| e.locked_until)
            .filter(|until| *until > now)
    }

    fn clear_failures(&self, key: &str) {
        if let Ok(mut f) = self.failures.lock() {
            f.remove(key);
        }
    }

    fn record_failure(&self, key: &str, now: Instant) {
        let Ok(mut f) = self.failures.lock() else {
            return;
        };
        if f.len() >= MAX_FAILURE_ENTRIES && !f.contains_key(key) {
            // Drop entries that are not locked, then the oldest.
            f.retain(|_, e| e.locked_until.is_some_and(|u| u > now));
            if f.len() >= MAX_FAILURE_ENTRIES {
                if let Some(oldest) = f.iter().min_by_key(|(_, e)| e.last).map(|(k, _)| k.clone()) {
                    f.remove(&oldest);
                }
            }
        }
        let e = f.entry(key.to_string()).or_insert(Failures {
            count: 0,
            locked_until: None,
            last: now,
        });
        if e.locked_until.is_some_and(|u| u <= now) {
            // A served lock-out starts a fresh count.
            e.count = 0;
            e.locked_until = None;
        }
        e.count += 1;
        e.last = now;
        if e.count >= self.lockout.max_failures {
            e.locked_until = Some(now + Duration::from_secs(self.lockout.lock_secs));
        }
    }

    /// A new session for `a`; `None` for an org account without a valid org id (the
    /// config check refuses those at start, so this is defence in depth: such an account
    /// must never be shown anything).
    fn open_session(&self, a: &Account, now: Instant) -> Option<String> {
        let viewer = match a.role {
            AccountRole::Auditor | AccountRole::Bank => Viewer::Everything { org: a.org.clone() },
            AccountRole::Org => Viewer::Org(OrgId::new(a.org.clone()?).ok()?),
        };
        let mut raw = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let id = hex::encode(raw);
        let session = Session {
            username: a.username.clone(),
            viewer,
            expires: now + self.ttl,
        };
        if let Ok(mut s) = self.sessions.lock() {
            if s.len() >= MAX_SESSIONS {
                s.retain(|_, v| v.expires > now);
                if s.len() >= MAX_SESSIONS {
                    if let Some(k) = s
                        .iter()
                        .min_by_key(|(_, v)| v.expires)
                        .map(|(k, _)| k.clone())
                    {
                        s.remove(&k);
                    }
                }
            }
            s.insert(id.clone(), session);
        }
        Some(id)
    }

    /// The live session with this id at `now` (expired ones are removed).
    pub fn session(&self, id: &str, now: Instant) -> Option<Session> {
        let mut s = self.sessions.lock().ok()?;
        match s.get(id) {
            Some(v) if v.expires > now => Some(v.clone()),
            Some(_) => {
                s.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends a session.
    pub fn logout(&self, id: &str) {
        if let Ok(mut s) = self.sessions.lock() {
            s.remove(id);
        }
    }

    /// Live sessions (for tests and metrics).
    pub fn session_count(&self) -> usize {
        self.sessions.lock().map(|s| s.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ExplorerConfig {
        let mut c = ExplorerConfig::new("http://127.0.0.1:1", "t");
        c.accounts = vec![
            Account {
                username: "audit".into(),
                password_hash: hash_password("right"),
                role: AccountRole::Auditor,
                org: None,
            },
            Account {
                username: "sup1".into(),
                password_hash: hash_password("pw1"),
                role: AccountRole::Org,
                org: Some("SUP-1".into()),
            },
        ];
        c.lockout = Lockout {
            max_failures: 3,
            lock_secs: 60,
        };
        c.session_ttl_secs = 100;
        c
    }

    #[test]
    fn hashes_verify_and_differ_by_salt() {
        let a = hash_password("secret");
        let b = hash_password("secret");
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(verify_password("secret", &a));
        assert!(!verify_password("Secret", &a));
        assert!(!verify_password("secret", "garbage"));
    }

    #[test]
    fn login_opens_a_session_that_expires_and_logs_out() {
        let auth = Auth::new(&cfg());
        let t0 = Instant::now();
        let id = auth.login("sup1", "pw1", t0).unwrap();
        assert_eq!(id.len(), 64);
        let s = auth.session(&id, t0 + Duration::from_secs(99)).unwrap();
        assert_eq!(
            s.viewer,
            Viewer::Org(lianrong_primitives::OrgId::new("SUP-1").unwrap())
        );
        assert!(auth.session(&id, t0 + Duration::from_secs(100)).is_none());
        assert!(
            auth.session(&id, t0).is_none(),
            "expired sessions are removed"
        );
        let id2 = auth.login("audit", "right", t0).unwrap();
        assert_ne!(id, id2);
        assert!(auth.session(&id2, t0).is_some());
        auth.logout(&id2);
        assert!(auth.session(&id2, t0).is_none());
        assert!(auth.session("nonsense", t0).is_none());
    }

    #[test]
    fn repeated_failures_lock_the_account_for_a_while() {
        let auth = Auth::new(&cfg());
        let t0 = Instant::now();
        assert_eq!(auth.login("audit", "x", t0), Err(LoginError::Invalid));
        assert_eq!(auth.login("audit", "y", t0), Err(LoginError::Invalid));
        assert!(matches!(
            auth.login("audit", "z", t0),
            Err(LoginError::Locked(_))
        ));
        // Even the right password is refused while locked.
        assert!(matches!(
            auth.login("audit", "right", t0 + Duration::from_secs(30)),
            Err(LoginError::Locked(_))
        ));
        // After the lock-out, the right password works and clears the count.
        assert!(auth
            .login("audit", "right", t0 + Duration::from_secs(61))
            .is_ok());
        assert_eq!(
            auth.login("audit", "x", t0 + Duration::from_secs(62)),
            Err(LoginError::Invalid)
        );
        // Unknown users get the same answer and are tracked too.
        assert_eq!(auth.login("nobody", "x", t0), Err(LoginError::Invalid));
        // Another account is unaffected.
        assert!(auth.login("sup1", "pw1", t0).is_ok());
    }
}
