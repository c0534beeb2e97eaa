//! Who is calling: an API token granted in the node config, or a request signed by a
//! member key. Unauthenticated requests get 401. What a caller may read follows its
//! org's roles (see `visibility`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use lianrong_contracts::model::{KeyRecord, Org, Role};
use lianrong_contracts::state::{keys, load, StateRead};
use lianrong_contracts::DocKind;
use lianrong_contracts::StoreError;
use lianrong_primitives::{verify, OrgId, PublicKey, Signature};

use super::error::ApiError;
use super::AppState;

pub use lianrong_primitives::request::{
    request_signing_bytes, API_NAMESPACE, H_KEY, H_SIG, H_TIME,
};

/// How far a signed request's time may be from the node's clock.
pub const MAX_SKEW_MS: u64 = 5 * 60 * 1000;

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
    use lianrong_contracts::model::GovChange;
    use lianrong_contracts::testkit::{doc, member_key, org, World};
    use lianrong_contracts::{Action, Event};

    fn caller(org_id: &str, key: Option<PublicKey>) -> Caller {
        Caller {
            org: org(org_id),
            roles: vec![Role::Supplier],
            key,
        }
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
        let opened = w.ok(
            "CORE-A",
            Action::Propose {
                change: GovChange::RevokeMemberKey {
                    org: org("SUP-1"),
                    key,
                },
            },
        );
        let Some(Event::ProposalOpened { proposal, .. }) = opened.first() else {
            panic!("no proposal opened: {opened:?}");
        };
        let proposal = doc(proposal.as_str());
        w.ok(
            "CORE-B",
            Action::Approve {
                proposal: proposal.clone(),
            },
        );
        w.ok("LOGI", Action::Approve { proposal });
        assert!(!signed.still_authorised(&w.store).unwrap(), "revoked key");
        assert!(caller("SUP-1", None).still_authorised(&w.store).unwrap());
    }
}
