//! Loans against pledged warehouse receipts, read-only: `GET /v1/loans` (paged like
//! every list, see `lists`) and `GET /v1/loans/{id}`, each with today's goods value at
//! the bank's prices, balance, LTV, margin-call state and deadline, and accrued interest
//! (`lianrong_api_types::LoanView`, figures by the ledger's own
//! `exec::inventory::figures`, as of the business date of the last executed block).
//!
//! Who reads them: the borrower and the lending bank, other banks and auditors (`Loan`'s
//! `Document` rule in api-types); anyone else gets the answer of a missing document.

use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use lianrong_api_types::visibility::{self as vis, Reader};
use lianrong_api_types::{ErrorBody, LoanPage, LoanQuery, LoanView};
use lianrong_contracts::exec::inventory::figures;
use lianrong_contracts::model::Loan;
use lianrong_contracts::money::DayCount;
use lianrong_contracts::state::StateView;
use lianrong_contracts::DocKind;
use lianrong_storage::Db;

use super::auth::Caller;
use super::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use super::lists::{ledger_today, view_one, view_page};
use super::AppState;

/// The ledger's date and day count.
fn ledger_day(db: &Db) -> ApiResult<(NaiveDate, DayCount)> {
    let (params, today) = ledger_today(db)?;
    Ok((today, params.day_count))
}

/// `l` with its figures, if `reader` may read it.
fn view(
    db: &Db,
    reader: &Reader,
    l: Loan,
    day: (NaiveDate, DayCount),
) -> ApiResult<Option<LoanView>> {
    let Some(l) = vis::readable(reader, l) else {
        return Ok(None);
    };
    let st = StateView::new(db);
    let f = figures(&st, &l, day.0, day.1).map_err(ApiError::internal)?;
    Ok(Some(LoanView::new(l, f, day.0)))
}

/// `GET /v1/loans?after=&limit=`.
#[utoipa::path(get, path = "/v1/loans", tag = "documents",
    summary = "One page of the loans against pledged warehouse receipts the caller may read (borrower, lending bank; banks and auditors all) in id order, each with today's goods value, balance, LTV, margin-call state and deadline and accrued interest; pass `next` as `after` until an answer has none",
    params(LoanQuery),
    responses((status = 200, body = LoanPage), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody)))]
pub async fn loans(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<LoanQuery>,
) -> ApiResult<Json<LoanPage>> {
    loan_page(&state.db, &caller.reader(), q).map(Json)
}

/// The page of loans `q` asks for, of those `reader` may read.
pub(super) fn loan_page(db: &Db, reader: &Reader, q: LoanQuery) -> ApiResult<LoanPage> {
    let day = ledger_day(db)?;
    let (items, next) = view_page(db, DocKind::Loan, q.after, q.limit, |l: Loan| {
        view(db, reader, l, day)
    })?;
    Ok(LoanPage { items, next })
}

/// `GET /v1/loans/{id}`.
#[utoipa::path(get, path = "/v1/loans/{id}", tag = "documents",
    summary = "A loan against pledged warehouse receipts with today's goods value at its bank's prices, balance, LTV, margin-call state and deadline, and accrued interest",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "document id: 1-64 of A-Z a-z 0-9 . _ -")),
    responses((status = 200, body = LoanView), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn loan(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<LoanView>> {
    let day = ledger_day(&state.db)?;
    let reader = caller.reader();
    view_one(&state.db, DocKind::Loan, "loan", &id, |l: Loan| {
        view(&state.db, &reader, l, day)
    })
    .map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::action::Action;
    use lianrong_contracts::model::DocId;
    use lianrong_contracts::money::{Money, Quantity, Unit};
    use lianrong_contracts::testkit::{cny, org, World};
    use lianrong_primitives::Hash;

    /// SUP-1's LOAN-1 of 6,000,000.00 from BANK-A on 150 t of copper, copper then
    /// falling to 45,000.00/t and the bank calling for margin, written into a node
    /// database.
    fn db() -> (tempfile::TempDir, Db) {
        let mut w = World::new();
        let mut receipts = vec![];
        for (id, qty) in [("WR-1", "100"), ("WR-2", "50")] {
            let id = DocId::new(id).unwrap();
            w.ok(
                "LOGI",
                Action::IssueWarehouseReceipt {
                    id: id.clone(),
                    owner: org("SUP-1"),
                    lot: format!("LOT-{id}"),
                    goods: "copper".into(),
                    quantity: Quantity::parse(qty).unwrap(),
                    unit: Unit::parse("t").unwrap(),
                    doc_hash: Hash::ZERO,
                },
            );
            let bank = org("BANK-A");
            let receipt = id.clone();
            w.ok("SUP-1", Action::OfferPledge { receipt, bank });
            w.ok(
                "BANK-A",
                Action::AcceptPledge {
                    receipt: id.clone(),
                },
            );
            receipts.push(id);
        }
        let price = |p: &str| Action::PostPrice {
            goods: "copper".into(),
            unit: Unit::parse("t").unwrap(),
            price: cny(p),
        };
        w.ok("BANK-A", price("70000.00"));
        let amount = cny("6000000.00");
        w.ok("SUP-1", Action::RequestLoan { receipts, amount });
        let loan = DocId::new("LOAN-1").unwrap();
        let maturity = w.today() + chrono::Days::new(90);
        w.ok(
            "BANK-A",
            Action::OfferLoan {
                loan: loan.clone(),
                rate: lianrong_contracts::money::Rate::parse("4.5").unwrap(),
                ltv_max: lianrong_contracts::money::Rate::parse("70").unwrap(),
                margin_call_ltv: lianrong_contracts::money::Rate::parse("80").unwrap(),
                cure_days: 5,
                maturity,
            },
        );
        w.ok("SUP-1", Action::AcceptLoan { loan: loan.clone() });
        let payment_ref = "PAY-1".to_string();
        w.ok(
            "BANK-A",
            Action::DisburseLoan {
                loan: loan.clone(),
                payment_ref,
            },
        );
        w.ok("BANK-A", price("45000.00"));
        w.ok("BANK-A", Action::MarginCall { loan });
        crate::api::tests_support::db_of_world(&w)
    }

    #[test]
    fn borrower_and_banks_read_a_loan_with_its_value_ltv_and_margin_call() {
        let (_dir, db) = db();
        let page = loan_page(&db, &Reader::Everything, LoanQuery::default()).unwrap();
        assert_eq!(page.items.len(), 1);
        let v = &page.items[0];
        // 150 t x 45,000.00 = 6,750,000.00; 6,000,000 / 6,750,000 = 88.888...% -> 88.8889.
        assert_eq!(v.value, Some(Money::parse("6750000.00", "CNY").unwrap()));
        assert_eq!(v.balance, cny("6000000.00"));
        assert_eq!(v.ltv_percent.as_deref(), Some("88.8889"));
        assert!(v.above_margin_call && v.above_ltv_max);
        assert!(v.margin_call_deadline.is_some());
        let read = |o: &str| {
            loan_page(&db, &Reader::Org(org(o)), LoanQuery::default())
                .unwrap()
                .items
                .len()
        };
        assert_eq!(read("SUP-1"), 1);
        assert_eq!(read("SUP-2"), 0);
        assert_eq!(read("LOGI"), 0);
    }
}
