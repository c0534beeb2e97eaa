//! Governance proposals, read-only: `GET /v1/proposals` (paged like every list, see
//! `lists`) and `GET /v1/proposals/{id}`, each proposal with where it stands
//! (`lianrong_api_types::ProposalView`: open, executed or lapsed; approvals counted and
//! needed; validator orgs not yet approved).
//!
//! Who reads them (`visibility::proposal_for`): banks, auditors and every org that runs a
//! validator read all proposals (validator orgs vote on them); other orgs read those they
//! are a party to (proposer, approver, the org the change is about); anyone else gets
//! the answer of a missing proposal.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use lianrong_api_types::visibility::{self as vis, Reader};
use lianrong_api_types::{ErrorBody, ProposalPage, ProposalQuery, ProposalView};
use lianrong_contracts::model::{Proposal, Validator};
use lianrong_contracts::state::{keys, load};
use lianrong_contracts::DocKind;
use lianrong_primitives::OrgId;
use lianrong_storage::Db;

use super::auth::Caller;
use super::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use super::lists::{ledger_today, view_one, view_page};
use super::AppState;

/// What a proposal's standing depends on, read once per request from committed state.
struct Standing {
    validator_orgs: BTreeSet<OrgId>,
    ttl_days: u32,
    today: NaiveDate,
}

impl Standing {
    fn read(db: &Db) -> ApiResult<Standing> {
        let set: Vec<Validator> = load(db, keys::VALIDATORS)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::internal("no validator set in state"))?;
        // The next approval is judged by the ledger's date.
        let (params, today) = ledger_today(db)?;
        Ok(Standing {
            validator_orgs: set.into_iter().map(|v| v.org).collect(),
            ttl_days: params.proposal_ttl_days,
            today,
        })
    }

    /// `p` as `reader` may see it, with where it stands; `None` if it may not.
    fn view(&self, reader: &Reader, p: Proposal) -> Option<ProposalView> {
        let runs_validator = matches!(reader, Reader::Org(o) if self.validator_orgs.contains(o));
        let p = vis::proposal_for(reader, p, runs_validator)?;
        Some(ProposalView::new(
            p,
            &self.validator_orgs,
            self.ttl_days,
            self.today,
        ))
    }
}

/// `GET /v1/proposals?after=&limit=`.
#[utoipa::path(get, path = "/v1/proposals", tag = "documents",
    summary = "One page of governance proposals the caller may read, in id order, each with its state (open, executed, lapsed), approvals counted and needed, and the validator orgs not yet approved; pass `next` as `after` until an answer has none",
    params(ProposalQuery),
    responses((status = 200, body = ProposalPage), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody)))]
pub async fn proposals(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ProposalQuery>,
) -> ApiResult<Json<ProposalPage>> {
    proposal_page(&state.db, &caller.reader(), q).map(Json)
}

/// The page of proposals `q` asks for, of those `reader` may read.
pub(super) fn proposal_page(db: &Db, reader: &Reader, q: ProposalQuery) -> ApiResult<ProposalPage> {
    let standing = Standing::read(db)?;
    let (items, next) = view_page(db, DocKind::Proposal, q.after, q.limit, |p: Proposal| {
        Ok(standing.view(reader, p))
    })?;
    Ok(ProposalPage { items, next })
}

/// `GET /v1/proposals/{id}`.
#[utoipa::path(get, path = "/v1/proposals/{id}", tag = "documents",
    summary = "A governance proposal with its state (open, executed, lapsed), approvals counted and needed, and the validator orgs not yet approved",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "document id: 1-64 of A-Z a-z 0-9 . _ -")),
    responses((status = 200, body = ProposalView), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn proposal(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ProposalView>> {
    let standing = Standing::read(&state.db)?;
    let reader = caller.reader();
    view_one(
        &state.db,
        DocKind::Proposal,
        "proposal",
        &id,
        |p: Proposal| Ok(standing.view(&reader, p)),
    )
    .map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_api_types::ProposalState;
    use lianrong_contracts::exec::business_date;
    use lianrong_contracts::model::DocId;
    use lianrong_contracts::model::Params;
    use lianrong_contracts::model::{GovChange, ProposalStatus};
    use lianrong_contracts::testkit;
    use lianrong_primitives::codec;

    fn org(s: &str) -> OrgId {
        OrgId::new(s).unwrap()
    }

    /// `GOV-n` by BANK-A revoking a key of `of`, opened `days_ago` days before genesis.
    fn proposal(n: u32, of: &str, days_ago: u64) -> Proposal {
        let genesis_day = business_date(testkit::GENESIS_TIME_MS, 480).unwrap();
        Proposal {
            id: DocId::new(format!("GOV-{n}")).unwrap(),
            proposer: org("BANK-A"),
            change: GovChange::RevokeMemberKey {
                org: org(of),
                key: testkit::member_key(of).public(),
            },
            approvals: vec![org("BANK-A")],
            status: ProposalStatus::Open,
            opened_on: genesis_day - chrono::Days::new(days_ago),
        }
    }

    /// The testkit's genesis ledger (validator orgs BANK-A, CORE-A, CORE-B, LOGI) with
    /// `proposals` stored.
    fn db_with(proposals: &[Proposal]) -> (tempfile::TempDir, Db) {
        crate::api::tests_support::genesis_db_with(proposals.iter().map(|p| {
            (
                keys::doc(DocKind::Proposal, p.id.as_str()),
                Some(codec::encode(p)),
            )
        }))
    }

    fn ids(db: &Db, reader: &Reader) -> Vec<String> {
        let page = proposal_page(db, reader, ProposalQuery::default()).unwrap();
        assert!(page.next.is_none());
        page.items
            .iter()
            .map(|v| v.proposal.id.to_string())
            .collect()
    }

    #[test]
    fn validator_orgs_and_parties_read_proposals_with_their_standing() {
        let ttl = u64::from(Params::default().proposal_ttl_days);
        let (_dir, db) = db_with(&[proposal(1, "SUP-1", 0), proposal(2, "SUP-2", ttl + 1)]);
        let all = proposal_page(&db, &Reader::Everything, ProposalQuery::default()).unwrap();
        let states: Vec<ProposalState> = all.items.iter().map(|v| v.state).collect();
        assert_eq!(states, [ProposalState::Open, ProposalState::Lapsed]);
        let open = &all.items[0];
        assert_eq!((open.approvals, open.needed), (1, 3));
        assert_eq!(
            open.waiting_for,
            [org("CORE-A"), org("CORE-B"), org("LOGI")]
        );
        // CORE-B votes, so it reads both; SUP-1 reads the one about its key; SUP-3 none.
        assert_eq!(ids(&db, &Reader::Org(org("CORE-B"))), ["GOV-1", "GOV-2"]);
        assert_eq!(ids(&db, &Reader::Org(org("SUP-1"))), ["GOV-1"]);
        assert!(ids(&db, &Reader::Org(org("SUP-3"))).is_empty());
        let bad = ProposalQuery {
            limit: Some(0),
            ..Default::default()
        };
        assert!(proposal_page(&db, &Reader::Everything, bad).is_err());
    }
}
