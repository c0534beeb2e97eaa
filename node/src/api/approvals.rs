//! Actions held for more member keys (dual control), read-only: `GET /v1/approvals`
//! (paged like every list, see `lists`; `state=pending` for what waits for a checker)
//! and `GET /v1/approvals/{id}`, each with where it stands
//! (`lianrong_api_types::ApprovalView`).
//!
//! Who reads them: the org whose policy held the action, banks and auditors
//! (`PendingApproval`'s `Document` rule in api-types); anyone else gets the answer of a
//! missing document.

use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use lianrong_api_types::visibility::{self as vis, Reader};
use lianrong_api_types::{ApprovalPage, ApprovalQuery, ApprovalView, ErrorBody};
use lianrong_contracts::exec::approvals::action_kinds;
use lianrong_contracts::model::{KeyRecord, PendingApproval};
use lianrong_contracts::state::{keys, load};
use lianrong_contracts::DocKind;
use lianrong_primitives::PublicKey;
use lianrong_storage::Db;

use super::auth::Caller;
use super::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use super::lists::{ledger_today, view_one, view_page};
use super::AppState;

/// Whether `key`'s approval of `a` counts today: an active member key of its org whose
/// scopes (if any) include the action -- the contract's own counting rule.
fn counts(db: &Db, a: &PendingApproval, key: &PublicKey) -> ApiResult<bool> {
    let record: Option<KeyRecord> = load(db, &keys::member_key(key)).map_err(ApiError::internal)?;
    if !record.is_some_and(|r| r.active && r.org == a.org) {
        return Ok(false);
    }
    let scopes: Option<Vec<String>> =
        load(db, &keys::key_scopes(key)).map_err(ApiError::internal)?;
    Ok(scopes.is_none_or(|s| {
        action_kinds(&a.action)
            .iter()
            .all(|kind| s.iter().any(|n| n == kind))
    }))
}

/// `a` as `reader` may see it, with where it stands; `None` if it may not.
fn view(
    db: &Db,
    reader: &Reader,
    today: NaiveDate,
    a: PendingApproval,
) -> ApiResult<Option<ApprovalView>> {
    let Some(a) = vis::readable(reader, a) else {
        return Ok(None);
    };
    let mut counting = Vec::with_capacity(a.approvals.len());
    for k in &a.approvals {
        if counts(db, &a, k)? {
            counting.push(*k);
        }
    }
    Ok(Some(ApprovalView::new(a, today, |k| counting.contains(k))))
}

/// `GET /v1/approvals?state=&after=&limit=`.
#[utoipa::path(get, path = "/v1/approvals", tag = "documents",
    summary = "One page of the actions held for more member keys' approval (dual control) that the caller may read -- its own org's; banks and auditors all -- in id order, each with its state (pending, executed, rejected, lapsed) and the approvals that count today; pass `next` as `after` until an answer has none",
    params(ApprovalQuery),
    responses((status = 200, body = ApprovalPage), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody)))]
pub async fn approvals(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ApprovalQuery>,
) -> ApiResult<Json<ApprovalPage>> {
    approval_page(&state.db, &caller.reader(), q).map(Json)
}

/// The page of held actions `q` asks for, of those `reader` may read.
pub(super) fn approval_page(db: &Db, reader: &Reader, q: ApprovalQuery) -> ApiResult<ApprovalPage> {
    let (_, today) = ledger_today(db)?;
    let wanted = q.state;
    let (items, next) = view_page(db, DocKind::Approval, q.after, q.limit, |a| {
        let seen = view(db, reader, today, a)?;
        Ok(seen.filter(|v| wanted.is_none_or(|s| s == v.state)))
    })?;
    Ok(ApprovalPage { items, next })
}

/// `GET /v1/approvals/{id}`.
#[utoipa::path(get, path = "/v1/approvals/{id}", tag = "documents",
    summary = "An action held for more member keys' approval, with its state and the approvals that count today",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "document id: 1-64 of A-Z a-z 0-9 . _ -")),
    responses((status = 200, body = ApprovalView), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn approval(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ApprovalView>> {
    let (_, today) = ledger_today(&state.db)?;
    let reader = caller.reader();
    view_one(&state.db, DocKind::Approval, "approval", &id, |a| {
        view(&state.db, &reader, today, a)
    })
    .map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_api_types::ApprovalState;
    use lianrong_contracts::exec::business_date;
    use lianrong_contracts::model::ApprovalStatus;
    use lianrong_contracts::model::DocId;
    use lianrong_contracts::testkit;
    use lianrong_contracts::Action;
    use lianrong_primitives::codec;
    use lianrong_primitives::OrgId;

    fn org(s: &str) -> OrgId {
        OrgId::new(s).unwrap()
    }

    /// `APR-n` of CORE-A made by its cast key, opened `days_ago` days before genesis
    /// with a 3-day life, approved also by a key that is no member at all.
    fn held(n: u32, days_ago: u64) -> PendingApproval {
        let genesis_day = business_date(testkit::GENESIS_TIME_MS, 480).unwrap();
        let opened_on = genesis_day - chrono::Days::new(days_ago);
        PendingApproval {
            id: DocId::new(format!("APR-{n}")).unwrap(),
            org: org("CORE-A"),
            action: Action::VoidInvoice {
                invoice: DocId::new("INV-1").unwrap(),
            },
            amount: None,
            required: 2,
            approvals: vec![
                testkit::member_key("CORE-A").public(),
                testkit::extra_member_key("CORE-A", 9).public(),
            ],
            status: ApprovalStatus::Pending,
            opened_on,
            expires_on: opened_on + chrono::Days::new(3),
            rejection: None,
        }
    }

    fn db_with(held: &[PendingApproval]) -> (tempfile::TempDir, Db) {
        crate::api::tests_support::genesis_db_with(held.iter().map(|a| {
            (
                keys::doc(DocKind::Approval, a.id.as_str()),
                Some(codec::encode(a)),
            )
        }))
    }

    fn ids(db: &Db, reader: &Reader, state: Option<ApprovalState>) -> Vec<String> {
        let q = ApprovalQuery {
            state,
            ..Default::default()
        };
        let page = approval_page(db, reader, q).unwrap();
        page.items
            .iter()
            .map(|v| v.approval.id.to_string())
            .collect()
    }

    #[test]
    fn the_org_banks_and_auditors_read_held_actions_with_their_standing() {
        let (_dir, db) = db_with(&[held(1, 0), held(2, 10)]);
        let all = approval_page(&db, &Reader::Everything, ApprovalQuery::default()).unwrap();
        let seen: Vec<(ApprovalState, u32, u32)> = all
            .items
            .iter()
            .map(|v| (v.state, v.counted, v.required))
            .collect();
        // The non-member key never counts; the ten-day-old one has lapsed.
        assert_eq!(
            seen,
            [
                (ApprovalState::Pending, 1, 2),
                (ApprovalState::Lapsed, 1, 2)
            ]
        );
        assert_eq!(
            ids(&db, &Reader::Org(org("CORE-A")), None),
            ["APR-1", "APR-2"]
        );
        assert_eq!(
            ids(
                &db,
                &Reader::Org(org("CORE-A")),
                Some(ApprovalState::Pending)
            ),
            ["APR-1"]
        );
        assert!(ids(&db, &Reader::Org(org("SUP-1")), None).is_empty());
        assert!(ids(&db, &Reader::Org(org("CORE-B")), None).is_empty());
    }
}
