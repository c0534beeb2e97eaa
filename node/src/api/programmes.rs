//! Supply-chain finance programmes, read-only: `GET /v1/programmes` (paged like every
//! list, see `lists`) and `GET /v1/programmes/{id}`, each with its terms, members,
//! status and the use and headroom of its programme limit
//! (`lianrong_api_types::ProgrammeView`).
//!
//! Who reads them: the programme's bank, its core enterprise and its eligible suppliers
//! (members among them), banks and auditors (`Programme`'s `Document` rule in
//! api-types); anyone else gets the answer of a missing document.

use axum::extract::State;
use axum::Json;
use lianrong_api_types::visibility::{self as vis, Reader};
use lianrong_api_types::{ErrorBody, ProgrammePage, ProgrammeQuery, ProgrammeView};
use lianrong_contracts::model::Programme;
use lianrong_contracts::money::Amount;
use lianrong_contracts::state::{keys, load};
use lianrong_contracts::DocKind;
use lianrong_storage::Db;

use super::auth::Caller;
use super::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use super::lists::{view_one, view_page};
use super::AppState;

/// `p` with its limit's use, if `reader` may read it.
fn view(db: &Db, reader: &Reader, p: Programme) -> ApiResult<Option<ProgrammeView>> {
    let Some(p) = vis::readable(reader, p) else {
        return Ok(None);
    };
    let key = keys::limit_use(&p.limit_scope(), p.terms.currency.code());
    let used: Amount = load(db, &key)
        .map_err(ApiError::internal)?
        .unwrap_or(Amount::ZERO);
    Ok(Some(ProgrammeView::new(p, used)))
}

/// `GET /v1/programmes?after=&limit=`.
#[utoipa::path(get, path = "/v1/programmes", tag = "documents",
    summary = "One page of the supply-chain finance programmes the caller may read (its bank, its core, its eligible suppliers; banks and auditors all) in id order, each with its terms, members, status and the use and headroom of its limit; pass `next` as `after` until an answer has none",
    params(ProgrammeQuery),
    responses((status = 200, body = ProgrammePage), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody)))]
pub async fn programmes(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ProgrammeQuery>,
) -> ApiResult<Json<ProgrammePage>> {
    programme_page(&state.db, &caller.reader(), q).map(Json)
}

/// The page of programmes `q` asks for, of those `reader` may read.
pub(super) fn programme_page(
    db: &Db,
    reader: &Reader,
    q: ProgrammeQuery,
) -> ApiResult<ProgrammePage> {
    let (items, next) = view_page(db, DocKind::Programme, q.after, q.limit, |p: Programme| {
        view(db, reader, p)
    })?;
    Ok(ProgrammePage { items, next })
}

/// `GET /v1/programmes/{id}`.
#[utoipa::path(get, path = "/v1/programmes/{id}", tag = "documents",
    summary = "A supply-chain finance programme with its terms, members, status and the use and headroom of its limit",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "document id: 1-64 of A-Z a-z 0-9 . _ -")),
    responses((status = 200, body = ProgrammeView), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn programme(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ProgrammeView>> {
    let reader = caller.reader();
    view_one(
        &state.db,
        DocKind::Programme,
        "programme",
        &id,
        |p: Programme| view(&state.db, &reader, p),
    )
    .map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::action::Action;
    use lianrong_contracts::model::DocId;
    use lianrong_contracts::model::{GridBucket, ProgrammeStatus, ProgrammeTerms};
    use lianrong_contracts::money::{Currency, Money, Rate};
    use lianrong_contracts::testkit::{org, World};

    fn terms(core: &str, suppliers: &[&str]) -> ProgrammeTerms {
        ProgrammeTerms {
            core: org(core),
            suppliers: suppliers.iter().map(|s| org(s)).collect(),
            max_tier: 1,
            currency: Currency::new("CNY").unwrap(),
            grid: vec![GridBucket {
                max_days: 180,
                rate: Rate::parse("4").unwrap(),
            }],
            fee_percent: Rate::parse("0").unwrap(),
            fee_fixed: Amount::ZERO,
            max_tenor_days: 180,
            advance: Rate::parse("100").unwrap(),
            recourse: false,
            auto_offer: true,
            offer_valid_days: 2,
            limit: Money::parse("1000000.00", "CNY").unwrap(),
            penalty_rate: Rate::parse("18").unwrap(),
        }
    }

    /// A test world's state (two programmes of BANK-A, one accepted and joined by SUP-1
    /// with a financing accepted under it) written into a node database.
    fn db() -> (tempfile::TempDir, Db) {
        let mut w = World::new();
        for (core, sups) in [
            ("CORE-A", &["SUP-1", "SUP-2"][..]),
            ("CORE-B", &["SUP-3"][..]),
        ] {
            w.ok(
                "BANK-A",
                Action::CreateProgramme {
                    terms: terms(core, sups),
                },
            );
        }
        let p1 = DocId::new("PRG-1").unwrap();
        w.ok(
            "CORE-A",
            Action::AcceptProgramme {
                programme: p1.clone(),
            },
        );
        w.ok(
            "SUP-1",
            Action::JoinProgramme {
                programme: p1.clone(),
            },
        );
        let r = w.trade_to_receivable("CORE-A", "SUP-1", "250000.00", 60);
        let ev = w.ok(
            "SUP-1",
            Action::RequestProgrammeFinancing {
                receivable: r,
                programme: p1,
            },
        );
        let offer = ev
            .iter()
            .find_map(|e| match e {
                lianrong_contracts::Event::OfferMade { offer, .. } => Some(offer.clone()),
                _ => None,
            })
            .unwrap();
        w.ok("SUP-1", Action::AcceptOffer { offer });
        crate::api::tests_support::db_of_world(&w)
    }

    fn ids(page: &ProgrammePage) -> Vec<&str> {
        page.items.iter().map(|v| v.programme.id.as_str()).collect()
    }

    #[test]
    fn parties_read_their_programmes_with_the_use_of_the_limit() {
        let (_dir, db) = db();
        let all = programme_page(&db, &Reader::Everything, ProgrammeQuery::default()).unwrap();
        assert_eq!(ids(&all), ["PRG-1", "PRG-2"]);
        let p1 = &all.items[0];
        assert_eq!(p1.status, ProgrammeStatus::Active);
        assert_eq!(p1.programme.members, [org("SUP-1")]);
        assert_eq!(p1.used, Money::parse("250000.00", "CNY").unwrap());
        assert_eq!(p1.headroom, Money::parse("750000.00", "CNY").unwrap());
        assert_eq!(all.items[1].status, ProgrammeStatus::Proposed);
        // Eligible SUP-2 reads PRG-1 (not joined); SUP-3 reads PRG-2; CORE-B its own.
        let read = |o: &str| {
            let page =
                programme_page(&db, &Reader::Org(org(o)), ProgrammeQuery::default()).unwrap();
            ids(&page).into_iter().map(String::from).collect::<Vec<_>>()
        };
        assert_eq!(read("SUP-2"), ["PRG-1"]);
        assert_eq!(read("SUP-3"), ["PRG-2"]);
        assert_eq!(read("CORE-B"), ["PRG-2"]);
        assert!(read("LOGI").is_empty());
        // Paged: one at a time, with a cursor.
        let q = ProgrammeQuery {
            after: None,
            limit: Some(1),
        };
        let first = programme_page(&db, &Reader::Everything, q).unwrap();
        assert_eq!(first.next.as_ref().map(DocId::as_str), Some("PRG-1"));
    }
}
