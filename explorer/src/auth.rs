//! Logins: argon2 password hashes, server-side sessions with random ids and expiry, and
//! lock-out after repeated failures, counted per (username, client address) and per client
//! address across all usernames. Every table here is bounded.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, MutexGuard, PoisonError};
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
/// Most (username, client address) pairs tracked for failed logins (known names or not).
pub const MAX_FAILURE_ENTRIES: usize = 10_000;
/// Most client addresses tracked for failed logins across all usernames.
pub const MAX_ADDRESS_ENTRIES: usize = 10_000;
/// Longest username kept as a failure key (config usernames are at most 64 characters).
const MAX_NAME_CHARS: usize = 64;

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

/// A random 256-bit token from the OS RNG, hex (session ids, CSRF tokens).
pub fn new_token() -> String {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    hex::encode(raw)
}

/// The address a client's failures are counted under: IPv4 as is, IPv4-mapped IPv6 as
/// IPv4, other IPv6 by its /64 (one host commonly holds a whole /64).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
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
    /// The session's CSRF token, set as a cookie at login and put in its POST forms.
    pub csrf: String,
}

/// A session just opened by [`Auth::login`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The session id (the session cookie).
    pub id: String,
    /// Its CSRF token (the CSRF cookie and the forms' hidden field).
    pub csrf: String,
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

impl LoginError {
    fn locked(until: Instant, now: Instant) -> Self {
        LoginError::Locked(until.saturating_duration_since(now).as_secs().max(1))
    }
}

#[derive(Debug, Clone)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
    last: Instant,
}

impl Failures {
    /// The lock in force at `now`.
    fn lock_at(&self, now: Instant) -> Option<Instant> {
        self.locked_until.filter(|u| *u > now)
    }

    /// Worth nothing any more: its lock was served, or no failure for `forget`.
    fn stale(&self, now: Instant, forget: Duration) -> bool {
        self.locked_until.is_some_and(|u| u <= now)
            || now.saturating_duration_since(self.last) >= forget
    }
}

/// Failure counts per key with lock-out, at most `cap` keys. When full, the entry least
/// worth keeping goes (stale ones, then the unlocked one failed longest ago); a locked
/// entry is never dropped, and a new key meeting a table full of locks is refused.
#[derive(Debug)]
pub(crate) struct FailureTable<K> {
    entries: HashMap<K, Failures>,
    cap: usize,
    max_failures: u32,
    lock: Duration,
}

impl<K: Eq + Hash + Clone> FailureTable<K> {
    pub(crate) fn new(cap: usize, max_failures: u32, lock: Duration) -> Self {
        FailureTable {
            entries: HashMap::new(),
            cap: cap.max(1),
            max_failures,
            lock,
        }
    }

    /// Until when `key` is refused at `now`: its own lock, or, if it is new and every
    /// entry of a full table is locked, the earliest of those locks.
    pub(crate) fn refused_until(&self, key: &K, now: Instant) -> Option<Instant> {
        if let Some(e) = self.entries.get(key) {
            return e.lock_at(now);
        }
        if self.entries.len() < self.cap {
            return None;
        }
        let mut earliest: Option<Instant> = None;
        for e in self.entries.values() {
            match e.lock_at(now) {
                None => return None,
                Some(u) => earliest = Some(earliest.map_or(u, |x| x.min(u))),
            }
        }
        earliest
    }

    /// Counts a failure of `key` at `now`; the lock then in force on it (or, if the
    /// table is full of locks and `key` is new, the refusal's end: nothing is forgotten).
    pub(crate) fn record(&mut self, key: K, now: Instant) -> Option<Instant> {
        if !self.entries.contains_key(&key) && !self.make_room(now) {
            return self.refused_until(&key, now);
        }
        let e = self.entries.entry(key).or_insert(Failures {
            count: 0,
            locked_until: None,
            last: now,
        });
        if e.stale(now, self.lock) {
            e.count = 0;
            e.locked_until = None;
        }
        e.count = e.count.saturating_add(1);
        e.last = now;
        if e.count >= self.max_failures {
            e.locked_until = Some(now + self.lock);
        }
        e.lock_at(now)
    }

    /// Frees a slot if the table is full; false if every entry is locked.
    fn make_room(&mut self, now: Instant) -> bool {
        if self.entries.len() < self.cap {
            return true;
        }
        let forget = self.lock;
        self.entries.retain(|_, e| !e.stale(now, forget));
        if self.entries.len() < self.cap {
            return true;
        }
        let victim = self
            .entries
            .iter()
            .filter(|(_, e)| e.lock_at(now).is_none())
            .min_by_key(|(_, e)| e.last)
            .map(|(k, _)| k.clone());
        match victim {
            Some(k) => {
                self.entries.remove(&k);
                true
            }
            None => false,
        }
    }

    /// Forgets `key`'s failures (after a successful login).
    pub(crate) fn clear(&mut self, key: &K) {
        self.entries.remove(key);
    }

    /// Failures counted for `key`.
    #[cfg(test)]
    pub(crate) fn count(&self, key: &K) -> u32 {
        self.entries.get(key).map_or(0, |e| e.count)
    }

    /// Keys tracked.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Failures per (username, client address) and per client address.
struct FailureTables {
    pairs: FailureTable<(String, IpAddr)>,
    addrs: FailureTable<IpAddr>,
}

/// Accounts, sessions and the failure tables.
pub struct Auth {
    accounts: HashMap<String, Account>,
    ttl: Duration,
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<FailureTables>,
    dummy_hash: String,
}

impl Auth {
    /// From the config's accounts and policies.
    pub fn new(cfg: &ExplorerConfig) -> Self {
        let Lockout {
            max_failures,
            max_address_failures,
            lock_secs,
        } = cfg.lockout;
        let lock = Duration::from_secs(lock_secs);
        Auth {
            accounts: cfg
                .accounts
                .iter()
                .map(|a| (a.username.clone(), a.clone()))
                .collect(),
            ttl: Duration::from_secs(cfg.session_ttl_secs),
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(FailureTables {
                pairs: FailureTable::new(MAX_FAILURE_ENTRIES, max_failures, lock),
                addrs: FailureTable::new(MAX_ADDRESS_ENTRIES, max_address_failures, lock),
            }),
            dummy_hash: hash_password("not a real password"),
        }
    }

    /// Session lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn tables(&self) -> MutexGuard<'_, FailureTables> {
        // The tables hold plain counts, valid whatever a panicking holder was doing.
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `Err(Locked)` if a login of `username` from `client` would be refused at `now`
    /// without checking the password (cheap: call it before queueing argon2 work).
    pub fn check(&self, username: &str, client: IpAddr, now: Instant) -> Result<(), LoginError> {
        let (name, ip) = (name_key(username), client_key(client));
        let t = self.tables();
        let until = t
            .pairs
            .refused_until(&(name, ip), now)
            .max(t.addrs.refused_until(&ip, now));
        match until {
            Some(u) => Err(LoginError::locked(u, now)),
            None => Ok(()),
        }
    }

    /// Checks a login from `client` at time `now`; on success opens a session. Blocking
    /// (argon2): call from `spawn_blocking`.
    pub fn login(
        &self,
        username: &str,
        password: &str,
        client: IpAddr,
        now: Instant,
    ) -> Result<Opened, LoginError> {
        self.check(username, client, now)?;
        let (name, ip) = (name_key(username), client_key(client));
        let account = self.accounts.get(&name);
        // Same work for unknown users, so timing does not tell which names exist.
        let hash = account.map_or(self.dummy_hash.as_str(), |a| a.password_hash.as_str());
        let ok = verify_password(password, hash) && account.is_some();
        match (ok, account) {
            (true, Some(a)) => {
                self.tables().pairs.clear(&(name, ip));
                self.open_session(a, now).ok_or(LoginError::Invalid)
            }
            _ => {
                let mut t = self.tables();
                let pair = t.pairs.record((name, ip), now);
                match pair.max(t.addrs.record(ip, now)) {
                    Some(until) => Err(LoginError::locked(until, now)),
                    None => Err(LoginError::Invalid),
                }
            }
        }
    }

    /// A new session for `a`; `None` for an org account without a valid org id (the
    /// config check refuses those at start, so this is defence in depth: such an account
    /// must never be shown anything).
    fn open_session(&self, a: &Account, now: Instant) -> Option<Opened> {
        let viewer = match a.role {
            AccountRole::Auditor | AccountRole::Bank => Viewer::Everything { org: a.org.clone() },
            AccountRole::Org => Viewer::Org(OrgId::new(a.org.clone()?).ok()?),
        };
        let id = new_token();
        let csrf = new_token();
        let session = Session {
            username: a.username.clone(),
            viewer,
            expires: now + self.ttl,
            csrf: csrf.clone(),
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
        Some(Opened { id, csrf })
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

/// The failure key of a username: its first 64 characters.
fn name_key(username: &str) -> String {
    username.chars().take(MAX_NAME_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7));

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
            max_address_failures: 5,
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
        let opened = auth.login("sup1", "pw1", A, t0).unwrap();
        let id = opened.id;
        assert_eq!(id.len(), 64);
        let s = auth.session(&id, t0 + Duration::from_secs(99)).unwrap();
        assert_eq!(
            s.viewer,
            Viewer::Org(lianrong_primitives::OrgId::new("SUP-1").unwrap())
        );
        assert_eq!(s.csrf, opened.csrf);
        assert_eq!(s.csrf.len(), 64);
        assert_ne!(s.csrf, id);
        assert!(auth.session(&id, t0 + Duration::from_secs(100)).is_none());
        assert!(
            auth.session(&id, t0).is_none(),
            "expired sessions are removed"
        );
        let id2 = auth.login("audit", "right", A, t0).unwrap().id;
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
        assert_eq!(auth.login("audit", "x", A, t0), Err(LoginError::Invalid));
        assert_eq!(auth.login("audit", "y", A, t0), Err(LoginError::Invalid));
        assert!(matches!(
            auth.login("audit", "z", A, t0),
            Err(LoginError::Locked(_))
        ));
        // Even the right password is refused while locked.
        assert!(matches!(
            auth.login("audit", "right", A, t0 + Duration::from_secs(30)),
            Err(LoginError::Locked(_))
        ));
        // After the lock-out, the right password works and clears the count.
        assert!(auth
            .login("audit", "right", A, t0 + Duration::from_secs(61))
            .is_ok());
        assert_eq!(
            auth.login("audit", "x", A, t0 + Duration::from_secs(62)),
            Err(LoginError::Invalid)
        );
        // Unknown users get the same answer and are tracked too.
        assert_eq!(auth.login("nobody", "x", A, t0), Err(LoginError::Invalid));
        // Another account is unaffected.
        assert!(auth.login("sup1", "pw1", A, t0).is_ok());
    }

    /// Failures from one address lock that address out for that name only: the real
    /// user elsewhere still logs in.
    #[test]
    fn failures_lock_a_name_out_only_for_the_address_that_failed() {
        let auth = Auth::new(&cfg());
        let t0 = Instant::now();
        for _ in 0..2 {
            assert_eq!(auth.login("audit", "x", A, t0), Err(LoginError::Invalid));
        }
        assert!(matches!(
            auth.login("audit", "x", A, t0),
            Err(LoginError::Locked(_))
        ));
        assert!(matches!(
            auth.check("audit", A, t0),
            Err(LoginError::Locked(_))
        ));
        // Another address is not locked, for the same name.
        assert_eq!(auth.check("audit", B, t0), Ok(()));
        assert!(auth.login("audit", "right", B, t0).is_ok());
        // The failing address may still log in as another name (3 < 5 address failures).
        assert!(auth.login("sup1", "pw1", A, t0).is_ok());
        // Ports differ per connection; IPv6 counts by /64, IPv4-mapped as IPv4.
        let v6a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(client_key(v6a), client_key(v6b));
        assert_ne!(
            client_key(v6a),
            client_key("2001:db8:1:3::1".parse().unwrap())
        );
        assert_eq!(client_key("::ffff:192.0.2.1".parse().unwrap()), A);
    }

    /// One address trying many names is locked out for every name, the right password
    /// included; other addresses are not.
    #[test]
    fn one_address_trying_many_names_is_locked_out_for_all_names() {
        let auth = Auth::new(&cfg());
        let t0 = Instant::now();
        for i in 0..4 {
            let name = format!("guess{i}");
            assert_eq!(auth.login(&name, "x", A, t0), Err(LoginError::Invalid));
        }
        assert!(matches!(
            auth.login("guess4", "x", A, t0),
            Err(LoginError::Locked(_))
        ));
        assert!(matches!(
            auth.login("audit", "right", A, t0),
            Err(LoginError::Locked(_))
        ));
        assert!(auth.login("audit", "right", B, t0).is_ok());
        // The address lock ends after lock_secs.
        assert!(auth
            .login("audit", "right", A, t0 + Duration::from_secs(61))
            .is_ok());
    }

    /// Flooding a full table with new names neither resets a target's count nor its
    /// lock: older, unlocked entries go first.
    #[test]
    fn a_full_failure_table_keeps_a_targets_count_and_lock() {
        let lock = Duration::from_secs(60);
        let t0 = Instant::now();
        let mut t = FailureTable::new(MAX_FAILURE_ENTRIES, 3, lock);
        let (counted, locked) = ("counted".to_string(), "locked".to_string());
        // A locked target (the oldest entry), then the table filled.
        assert_eq!(t.record(locked.clone(), t0), None);
        assert_eq!(t.record(locked.clone(), t0), None);
        assert_eq!(t.record(locked.clone(), t0), Some(t0 + lock));
        for i in 0..MAX_FAILURE_ENTRIES {
            let _ = t.record(format!("fill{i}"), t0);
        }
        assert_eq!(t.len(), MAX_FAILURE_ENTRIES);
        // A target with two failures, then a flood of new names after it.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(t.record(counted.clone(), t1), None);
        assert_eq!(t.record(counted.clone(), t1), None);
        let t2 = t0 + Duration::from_secs(2);
        for i in 0..1_000 {
            assert_eq!(t.record(format!("flood{i}"), t2), None);
        }
        assert_eq!(t.len(), MAX_FAILURE_ENTRIES);
        assert_eq!(
            t.count(&counted),
            2,
            "the target's count survives the flood"
        );
        assert_eq!(t.count(&locked), 3);
        assert_eq!(
            t.refused_until(&locked, t2),
            Some(t0 + lock),
            "the lock survives"
        );
        let fills = t.entries.keys().filter(|k| k.starts_with("fill")).count();
        assert_eq!(
            fills,
            MAX_FAILURE_ENTRIES - 1_002,
            "old unlocked entries went"
        );
        assert_eq!(
            t.record(counted, t2),
            Some(t2 + lock),
            "the third failure locks"
        );
    }

    /// A table full of locked entries forgets no one: a new key is refused as locked.
    #[test]
    fn a_failure_table_full_of_locks_refuses_new_keys() {
        let lock = Duration::from_secs(60);
        let t0 = Instant::now();
        let mut t = FailureTable::new(3, 1, lock);
        for k in ["a", "b", "c"] {
            assert!(t.record(k.to_string(), t0).is_some());
        }
        let now = t0 + Duration::from_secs(1);
        assert_eq!(t.refused_until(&"new".to_string(), now), Some(t0 + lock));
        assert_eq!(t.record("new".to_string(), now), Some(t0 + lock));
        assert_eq!(t.len(), 3);
        assert_eq!(t.count(&"new".to_string()), 0);
        for k in ["a", "b", "c"] {
            assert!(t.refused_until(&k.to_string(), now).is_some(), "{k} kept");
        }
        // Once the locks are served there is room again.
        let after = t0 + lock;
        assert_eq!(t.refused_until(&"new".to_string(), after), None);
        assert!(t.record("new".to_string(), after).is_some());
    }
}
