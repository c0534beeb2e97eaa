//! Credit limits, read-only: `GET /v1/limits` and `GET /v1/limits/{org}` (the limits
//! `org` holds: its issuance limit as a debtor, its exposure limits as a bank), each
//! with its use and headroom (`lianrong_api_types::LimitView`), paged like every list
//! (see `lists`). Who reads which: `visibility::may_read_limit`.

use axum::extract::State;
use axum::Json;
use lianrong_api_types::visibility::{self as vis, Reader};
use lianrong_api_types::{ErrorBody, LimitPage, LimitQuery, LimitView};
use lianrong_contracts::model::{CreditLimit, LimitScope};
use lianrong_contracts::money::{Amount, Currency, Money};
use lianrong_contracts::state::keys;
use lianrong_primitives::{codec, OrgId};
use lianrong_storage::schema::MAX_VALUE_BYTES;
use lianrong_storage::Db;

use super::auth::Caller;
use super::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use super::lists::{page_size, read_page};
use super::AppState;

/// Longest cursor accepted (a limit's key after `limit/`).
const MAX_CURSOR: usize = 128;
/// Most currencies one limit's use is read in (one stored counter each).
const MAX_USE_CURRENCIES: usize = 256;

/// `GET /v1/limits?after=&limit=`.
#[utoipa::path(get, path = "/v1/limits", tag = "documents",
    summary = "One page of the credit limits the caller may read (banks and auditors all; a core enterprise its issuance limit), each with its use and headroom; pass `next` as `after` until an answer has none",
    params(LimitQuery),
    responses((status = 200, body = LimitPage), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody)))]
pub async fn limits(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<LimitQuery>,
) -> ApiResult<Json<LimitPage>> {
    limit_page(&state.db, &caller.reader(), None, q).map(Json)
}

/// `GET /v1/limits/{org}?after=&limit=`.
#[utoipa::path(get, path = "/v1/limits/{org}", tag = "documents",
    summary = "One page of the credit limits an org holds (its issuance limit as a debtor, its exposure limits as a bank) that the caller may read, each with its use and headroom; pass `next` as `after` until an answer has none",
    params(("org" = String, Path, pattern = "^[A-Z][A-Z0-9-]{1,31}$", description = "organisation id"), LimitQuery),
    responses((status = 200, body = LimitPage), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody)))]
pub async fn limits_of(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<LimitQuery>,
) -> ApiResult<Json<LimitPage>> {
    let org = OrgId::new(org).map_err(|e| ApiError::bad_request("invalid_id", e.to_string()))?;
    limit_page(&state.db, &caller.reader(), Some(&org), q).map(Json)
}

/// The page of limits (all, or `holder`'s) `q` asks for, of those `reader` may read.
pub(super) fn limit_page(
    db: &Db,
    reader: &Reader,
    holder: Option<&OrgId>,
    q: LimitQuery,
) -> ApiResult<LimitPage> {
    let size = page_size(q.limit)?;
    let all = keys::limits_of(None);
    let prefix = keys::limits_of(holder);
    let after = q.after.as_deref().map(cursor).transpose()?;
    let scan = |after: Option<&Vec<u8>>, n| -> ApiResult<Vec<(Vec<u8>, Option<LimitView>)>> {
        let rows = db
            .state_after(&prefix, after.map(Vec::as_slice), n)
            .map_err(ApiError::internal)?;
        rows.into_iter()
            .map(|(k, v)| Ok((k, view(db, reader, &v)?)))
            .collect()
    };
    let (items, next) = read_page(after, size, scan, Option::is_some)?;
    let next = next
        .map(|k| String::from_utf8(k[all.len()..].to_vec()).map_err(ApiError::internal))
        .transpose()?;
    Ok(LimitPage {
        items: items.into_iter().flatten().collect(),
        next,
    })
}

/// The state key a cursor names (`limit/` + the `next` of the previous page).
fn cursor(after: &str) -> ApiResult<Vec<u8>> {
    let ok = (1..=MAX_CURSOR).contains(&after.len())
        && after
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'-');
    if !ok {
        return Err(ApiError::bad_request(
            "invalid_cursor",
            format!(
                "after: give the `next` of the previous page (1-{MAX_CURSOR} of A-Z a-z 0-9 / -)"
            ),
        ));
    }
    let mut key = keys::limits_of(None);
    key.extend_from_slice(after.as_bytes());
    Ok(key)
}

/// A stored limit with its use, if `reader` may read it.
fn view(db: &Db, reader: &Reader, bytes: &[u8]) -> ApiResult<Option<LimitView>> {
    let limit: CreditLimit =
        codec::decode_stored(bytes, MAX_VALUE_BYTES).map_err(ApiError::internal)?;
    if !vis::may_read_limit(reader, &limit.scope) {
        return Ok(None);
    }
    let uses = uses(db, &limit.scope)?;
    Ok(Some(LimitView::new(limit, &uses)))
}

/// A limit's use in every currency (`use/.../<currency>` -> amount).
fn uses(db: &Db, scope: &LimitScope) -> ApiResult<Vec<Money>> {
    let prefix = keys::limit_use_prefix(scope);
    let rows = db
        .state_after(&prefix, None, MAX_USE_CURRENCIES)
        .map_err(ApiError::internal)?;
    rows.into_iter()
        .map(|(k, v)| {
            let code = std::str::from_utf8(&k[prefix.len()..]).map_err(ApiError::internal)?;
            let currency = Currency::new(code).map_err(ApiError::internal)?;
            let amount: Amount =
                codec::decode_stored(&v, MAX_VALUE_BYTES).map_err(ApiError::internal)?;
            Ok(Money { amount, currency })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::model::ExposureScope;

    fn org(s: &str) -> OrgId {
        OrgId::new(s).unwrap()
    }

    fn limit(scope: LimitScope, amount: &str) -> CreditLimit {
        CreditLimit {
            scope,
            limit: Money::parse(amount, "CNY").unwrap(),
            used_when_set: Amount::ZERO,
            set_at: 1,
            set_on: "2026-01-05".parse().unwrap(),
        }
    }

    fn exposure(bank: &str, on: &str) -> LimitScope {
        LimitScope::Exposure {
            bank: org(bank),
            scope: ExposureScope::Debtor,
            on: org(on),
        }
    }

    /// The testkit's genesis ledger with CORE-A's issuance limit (600.00 of 1000.00
    /// used) and BANK-A's and BANK-B's exposure limits on CORE-A.
    fn db() -> (tempfile::TempDir, Db) {
        let mut writes = lianrong_contracts::state::Writes::new();
        let issuance = LimitScope::Issuance {
            debtor: org("CORE-A"),
        };
        let used = Amount::parse("600.00").unwrap();
        writes.insert(
            keys::limit_use(&issuance, "CNY"),
            Some(codec::encode(&used)),
        );
        for (scope, amount) in [
            (issuance, "1000.00"),
            (exposure("BANK-A", "CORE-A"), "5000.00"),
            (exposure("BANK-B", "CORE-A"), "7000.00"),
        ] {
            let l = limit(scope, amount);
            writes.insert(keys::limit(&l.scope), Some(codec::encode(&l)));
        }
        crate::api::tests_support::genesis_db_with(writes)
    }

    fn holders(page: &LimitPage) -> Vec<String> {
        page.items.iter().map(|v| v.scope.to_string()).collect()
    }

    #[test]
    fn banks_and_auditors_read_every_limit_a_debtor_its_own_issuance_limit() {
        let (_dir, db) = db();
        let all = limit_page(&db, &Reader::Everything, None, LimitQuery::default()).unwrap();
        assert_eq!(
            holders(&all),
            [
                "BANK-A's exposure limit on debtor CORE-A",
                "BANK-B's exposure limit on debtor CORE-A",
                "issuance limit of CORE-A",
            ]
        );
        let core = &all.items[2];
        assert_eq!(core.used, Money::parse("600.00", "CNY").unwrap());
        assert_eq!(core.headroom, Money::parse("400.00", "CNY").unwrap());
        let core_a = Reader::Org(org("CORE-A"));
        let own = limit_page(&db, &core_a, None, LimitQuery::default()).unwrap();
        assert_eq!(holders(&own), ["issuance limit of CORE-A"]);
        for other in ["CORE-B", "SUP-1"] {
            let r = Reader::Org(org(other));
            let page = limit_page(&db, &r, None, LimitQuery::default()).unwrap();
            assert!(page.items.is_empty() && page.next.is_none(), "{other}");
        }
        let of_a = limit_page(
            &db,
            &Reader::Everything,
            Some(&org("BANK-A")),
            Default::default(),
        );
        assert_eq!(
            holders(&of_a.unwrap()),
            ["BANK-A's exposure limit on debtor CORE-A"]
        );
    }

    #[test]
    fn limits_are_paged_with_a_cursor_and_a_bad_cursor_is_refused() {
        let (_dir, db) = db();
        let q = LimitQuery {
            after: None,
            limit: Some(2),
        };
        let first = limit_page(&db, &Reader::Everything, None, q).unwrap();
        assert_eq!(first.items.len(), 2);
        let next = first.next.clone().unwrap();
        assert_eq!(next, "BANK-B/exposure/debtor/CORE-A");
        let q = LimitQuery {
            after: Some(next),
            limit: Some(2),
        };
        let second = limit_page(&db, &Reader::Everything, None, q).unwrap();
        assert_eq!(holders(&second), ["issuance limit of CORE-A"]);
        assert!(second.next.is_none());
        let bad = LimitQuery {
            after: Some("../x y".into()),
            limit: None,
        };
        assert!(limit_page(&db, &Reader::Everything, None, bad).is_err());
    }
}
