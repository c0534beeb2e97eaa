//! Who is calling: an API token granted in the node config, or a request signed by a
//! member key. Unauthenticated requests get 401. What a caller may read follows its
//! org's roles (see `visibility`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use lianrong_contracts::model::{KeyRecord, Org, Role};
use lianrong_contracts::state::{keys, load, StateRead};
use lianrong_contracts::DocKind;
use lianrong_contracts::StoreError;
use lianrong_primitives::{sha256, verify, Hash, OrgId, PublicKey, Signature};

use super::error::ApiError;
use super::AppState;

pub use lianrong_primitives::request::{
    request_signing_bytes, API_NAMESPACE, H_KEY, H_SIG, H_TIME,
};

/// How far a signed request's time may be from the node's clock.
pub const MAX_SKEW_MS: u64 = 5 * 60 * 1000;

/// Most signed requests a node remembers at once (about 100 bytes each: ~10 MB). At the
/// 5-minute window that is 333 signed requests a second, sustained, from all members
/// together; heavier clients authenticate with an API token, which is not replayable
/// (it is the credential itself, sent over the operator's TLS).
pub const MAX_SEEN_REQUESTS: usize = 100_000;

/// Most of [`MAX_SEEN_REQUESTS`] one member key may hold, so that one busy (or hostile)
/// member key alone cannot fill the cache and lock every other member out for minutes.
pub const MAX_SEEN_PER_KEY: usize = MAX_SEEN_REQUESTS / 5;

/// The signed requests this node accepted, each remembered until its signed time leaves
/// the window in which the node accepts it ([`MAX_SKEW_MS`] after that time): the same
/// request presented again meanwhile is refused, so a captured request cannot be replayed
/// at the node it was signed for (another node already refuses it: the signed bytes name
/// this node's address).
///
/// Bounded without eviction: forgetting a live entry would let its replay through, so when
/// full a new signed request is refused (503, or 429 for a key over its share) until
/// entries expire. Only requests whose signature verified for a registered, active member
/// key are recorded, so filling it takes a member's key, and its org answers for the load.
#[derive(Debug, Default)]
pub struct SeenRequests {
    inner: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// Request id -> (when it may be forgotten, ms; its signer).
    by_id: HashMap<Hash, (u64, PublicKey)>,
    /// The same entries ordered by when they may be forgotten.
    by_expiry: BTreeSet<(u64, Hash)>,
    /// Entries per signer.
    per_key: HashMap<PublicKey, usize>,
    /// Every entry expiring at or before this was forgotten: a request that old is refused
    /// here even if the node's clock stepped back and its time check let it pass.
    forgotten_through: u64,
}

impl SeenRequests {
    /// Records the request `signed` (the bytes `key` signed, naming its time `time_ms`) at
    /// node time `now_ms`, or refuses it: seen before, too old to be told apart from a
    /// replay, or no room.
    pub fn admit(
        &self,
        key: &PublicKey,
        signed: &[u8],
        time_ms: u64,
        now_ms: u64,
    ) -> Result<(), ApiError> {
        let id = sha256(&[key.0.as_slice(), signed].concat());
        let expiry = time_ms.saturating_add(MAX_SKEW_MS);
        let mut seen = self.inner.lock().map_err(|_| {
            ApiError::unavailable("the replay cache is unusable; see the node's log")
        })?;
        seen.forget_expired(now_ms);
        if expiry <= seen.forgotten_through {
            return Err(ApiError::unauthorized(
                "request time is more than 5 minutes from the node's clock",
            ));
        }
        if seen.by_id.contains_key(&id) {
            return Err(ApiError::unauthorized(format!(
                "this signed request was already used (a request is accepted once; sign \
                 every request anew -- with a new {H_TIME} -- including retries)"
            )));
        }
        if seen.by_id.len() >= MAX_SEEN_REQUESTS {
            return Err(ApiError::unavailable(format!(
                "this node already holds {MAX_SEEN_REQUESTS} signed requests of the last 5 \
                 minutes; retry later, or use an API token"
            )));
        }
        let count = seen.per_key.get(key).copied().unwrap_or(0);
        if count >= MAX_SEEN_PER_KEY {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_signed_requests",
                format!(
                    "this member key signed {MAX_SEEN_PER_KEY} requests to this node in the \
                     last 5 minutes; slow down, or use an API token"
                ),
            ));
        }
        seen.by_id.insert(id, (expiry, *key));
        seen.by_expiry.insert((expiry, id));
        seen.per_key.insert(*key, count + 1);
        Ok(())
    }

    /// How many requests are remembered.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|s| s.by_id.len()).unwrap_or(0)
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Seen {
    /// Forgets every entry whose request the time check refuses by now anyway.
    fn forget_expired(&mut self, now_ms: u64) {
        while let Some(&(expiry, id)) = self.by_expiry.first() {
            if expiry >= now_ms {
                break;
            }
            self.by_expiry.pop_first();
            self.forgotten_through = self.forgotten_through.max(expiry);
            if let Some((_, key)) = self.by_id.remove(&id) {
                if let Some(n) = self.per_key.get_mut(&key) {
                    *n -= 1;
                    if *n == 0 {
                        self.per_key.remove(&key);
                    }
                }
            }
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The org acting.
    pub org: OrgId,
    /// Its roles.
    pub roles: Vec<Role>,
    /// The member key that signed the request (`None` for an API token).
    pub key: Option<PublicKey>,
}

impl Caller {
    /// Whether the credential this caller authenticated with still holds on the committed
    /// ledger: its member key active and still its org's (a long-lived event stream
    /// checks this on every block, so a revoked key stops receiving). API tokens are
    /// granted by the node's config and hold while their org is admitted.
    pub fn still_authorised(&self, state: &dyn StateRead) -> Result<bool, StoreError> {
        match &self.key {
            Some(key) => Ok(load::<KeyRecord>(state, &keys::member_key(key))?
                .is_some_and(|r| r.active && r.org == self.org)),
            None => Ok(load::<Org>(state, &keys::doc(DocKind::Org, self.org.as_str()))?.is_some()),
        }
    }

    /// Banks and auditors read everything.
    pub fn sees_everything(&self) -> bool {
        self.roles.contains(&Role::Bank) || self.roles.contains(&Role::Auditor)
    }
}

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The `host:port` the request was sent to (HTTP/2 `:authority` or the `Host` header),
/// lower-case.
fn authority_of(parts: &Parts) -> Option<String> {
    parts
        .uri
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| header(parts, "host").map(str::to_string))
        .map(|a| a.to_ascii_lowercase())
}

fn load_org(state: &AppState, org: &OrgId) -> Result<Org, ApiError> {
    load::<Org>(state.db.as_ref(), &keys::doc(DocKind::Org, org.as_str()))
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::unauthorized(format!("{org} is not an admitted organisation")))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(auth) = header(parts, "authorization") {
            let token = auth
                .strip_prefix("Bearer ")
                .ok_or_else(|| ApiError::unauthorized("use 'Authorization: Bearer <token>'"))?;
            let org = state
                .config
                .token_org(token.trim())
                .cloned()
                .ok_or_else(|| ApiError::unauthorized("unknown token"))?;
            let o = load_org(state, &org)?;
            return Ok(Caller {
                org,
                roles: o.roles,
                key: None,
            });
        }
        let (Some(key), Some(time), Some(sig)) = (
            header(parts, H_KEY),
            header(parts, H_TIME),
            header(parts, H_SIG),
        ) else {
            return Err(ApiError::unauthorized(format!(
                "send a bearer token, or sign the request with {H_KEY}, {H_TIME} and {H_SIG}"
            )));
        };
        let key = PublicKey::from_hex(key)
            .map_err(|e| ApiError::unauthorized(format!("{H_KEY}: {e}")))?;
        let sig = Signature::from_hex(sig)
            .map_err(|e| ApiError::unauthorized(format!("{H_SIG}: {e}")))?;
        let time: u64 = time.parse().map_err(|_| {
            ApiError::unauthorized(format!("{H_TIME} must be milliseconds since the epoch"))
        })?;
        let now = super::now_ms();
        if now.abs_diff(time) > MAX_SKEW_MS {
            return Err(ApiError::unauthorized(
                "request time is more than 5 minutes from the node's clock",
            ));
        }
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let authority = authority_of(parts).ok_or_else(|| {
            ApiError::unauthorized("a signed request needs a Host header (the node's host:port)")
        })?;
        if !state.config.api.answers_to().contains(&authority) {
            return Err(ApiError::unauthorized(format!(
                "this request was signed for {authority}, which is not this node's address \
                 (a request signed for one node is refused by the others; an operator adds \
                 the names clients use to [api] public_addresses)"
            )));
        }
        let msg = request_signing_bytes(
            &state.chain_id,
            &authority,
            parts.method.as_str(),
            path,
            time,
        );
        verify(&key, &msg, &sig).map_err(|_| ApiError::unauthorized("bad request signature"))?;
        let record: KeyRecord = load(state.db.as_ref(), &keys::member_key(&key))
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::unauthorized("key is not a member key"))?;
        if !record.active {
            return Err(ApiError::unauthorized("member key was revoked"));
        }
        let o = load_org(state, &record.org)?;
        // Last: only a request that would be served takes room in the cache.
        state.seen_requests.admit(&key, &msg, time, now)?;
        Ok(Caller {
            org: record.org,
            roles: o.roles,
            key: Some(key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::testkit::{member_key, org, World};

    fn caller(org_id: &str, key: Option<PublicKey>) -> Caller {
        Caller {
            org: org(org_id),
            roles: vec![Role::Supplier],
            key,
        }
    }

    /// The replay cache holds at most its bound, one key at most its share, refuses rather
    /// than forgets a live entry, forgets entries whose window passed, and does not take
    /// back a forgotten request when the clock steps back.
    #[test]
    fn the_replay_cache_is_bounded_and_forgets_only_expired_requests() {
        let seen = SeenRequests::default();
        let now = 10 * MAX_SKEW_MS;
        let keys: Vec<PublicKey> = (0..6u8)
            .map(|i| lianrong_primitives::SecretKey::from_seed([i; 32]).public())
            .collect();
        let fill = |key: &PublicKey| {
            for i in 0..MAX_SEEN_PER_KEY {
                seen.admit(key, &i.to_le_bytes(), now, now).unwrap();
            }
        };
        fill(&keys[0]);
        let e = seen.admit(&keys[0], b"one more", now, now).unwrap_err();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS, "{}", e.message);
        for k in &keys[1..5] {
            fill(k);
        }
        assert_eq!(seen.len(), MAX_SEEN_REQUESTS);
        let e = seen.admit(&keys[5], b"first", now, now).unwrap_err();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE, "{}", e.message);
        // Still refused as a replay, not forgotten to make room.
        let e = seen
            .admit(&keys[0], &0usize.to_le_bytes(), now, now)
            .unwrap_err();
        assert!(e.message.contains("already used"), "{}", e.message);

        let later = now + MAX_SKEW_MS + 1;
        seen.admit(&keys[5], b"first", later, later).unwrap();
        assert_eq!(
            seen.len(),
            1,
            "every request signed at `now` is out of its window"
        );
        let e = seen
            .admit(&keys[0], &0usize.to_le_bytes(), now, now)
            .unwrap_err();
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
        assert!(e.message.contains("5 minutes"), "{}", e.message);
    }

    /// The finding: an event stream opened with a member key kept receiving blocks after
    /// the key was revoked. The stream checks this on every block.
    #[test]
    fn a_revoked_key_is_no_longer_authorised_and_a_token_still_is() {
        let mut w = World::new();
        let key = member_key("SUP-1").public();
        let signed = caller("SUP-1", Some(key));
        assert!(signed.still_authorised(&w.store).unwrap());
        assert!(caller("SUP-1", None).still_authorised(&w.store).unwrap());
        assert!(
            !caller("CORE-A", Some(key))
                .still_authorised(&w.store)
                .unwrap(),
            "another org's key"
        );
        w.revoke_member_key("SUP-1", key);
        assert!(!signed.still_authorised(&w.store).unwrap(), "revoked key");
        assert!(caller("SUP-1", None).still_authorised(&w.store).unwrap());
    }
}
