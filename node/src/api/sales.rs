//! Banks' secondary sales of financings, read-only: `GET /v1/sales` (paged like every
//! list, see `lists`; `?financing=` for one financing's) and `GET /v1/sales/{id}`, each
//! with the face sold and whether an unanswered offer lapsed on the ledger's date
//! (`lianrong_api_types::SaleView`).
//!
//! Who reads them: the selling and the buying bank, other banks and auditors (`Sale`'s
//! `Document` rule in api-types); anyone else gets the answer of a missing document.

use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use lianrong_api_types::visibility::{self as vis, Reader};
use lianrong_api_types::{ErrorBody, SalePage, SaleQuery, SaleView};
use lianrong_contracts::model::{DocId, Sale};
use lianrong_contracts::DocKind;
use lianrong_storage::Db;

use super::auth::Caller;
use super::error::{ApiPath, ApiQuery, ApiResult};
use super::lists::{ledger_today, view_one, view_page};
use super::AppState;

/// `s` as of `today`, if `reader` may read it and it concerns `financing` (any, if none).
fn view(reader: &Reader, s: Sale, today: NaiveDate, financing: Option<&DocId>) -> Option<SaleView> {
    let v = SaleView::new(vis::readable(reader, s)?, today);
    financing.is_none_or(|f| v.concerns(f)).then_some(v)
}

/// `GET /v1/sales?after=&limit=&financing=`.
#[utoipa::path(get, path = "/v1/sales", tag = "documents",
    summary = "One page of the banks' secondary sales of financings the caller may read (the selling and the buying bank; banks and auditors all) in id order, each with the face sold and whether an unanswered offer lapsed; `financing` keeps one financing's (offered, or the buyer's financing a sale created); pass `next` as `after` until an answer has none",
    params(SaleQuery),
    responses((status = 200, body = SalePage), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody)))]
pub async fn sales(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SaleQuery>,
) -> ApiResult<Json<SalePage>> {
    sale_page(&state.db, &caller.reader(), q).map(Json)
}

/// The page of sales `q` asks for, of those `reader` may read.
pub(super) fn sale_page(db: &Db, reader: &Reader, q: SaleQuery) -> ApiResult<SalePage> {
    let (_, today) = ledger_today(db)?;
    let financing = q.financing.as_ref();
    let (items, next) = view_page(db, DocKind::Sale, q.after, q.limit, |s: Sale| {
        Ok(view(reader, s, today, financing))
    })?;
    Ok(SalePage { items, next })
}

/// `GET /v1/sales/{id}`.
#[utoipa::path(get, path = "/v1/sales/{id}", tag = "documents",
    summary = "A bank's secondary sale of a financing (SAL-n): seller, buyer, the face sold (whole or a part), price, validity, what changed hands and the price payment",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "document id: 1-64 of A-Z a-z 0-9 . _ -")),
    responses((status = 200, body = SaleView), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn sale(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<SaleView>> {
    let (_, today) = ledger_today(&state.db)?;
    let reader = caller.reader();
    view_one(&state.db, DocKind::Sale, "sale", &id, |s: Sale| {
        Ok(view(&reader, s, today, None))
    })
    .map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::action::Action;
    use lianrong_contracts::model::SaleStatus;
    use lianrong_contracts::money::{Amount, Rate};
    use lianrong_contracts::testkit::{cny, org, World};
    use lianrong_contracts::Event;

    /// BANK-A's FIN-1 on SUP-1's receivable of 1,000.00, a part of 400.00 sold to BANK-B
    /// and a second sale of the rest offered, written into a node database.
    fn db() -> (tempfile::TempDir, Db) {
        let mut w = World::new();
        let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", 90);
        let fin = DocId::new("FIN-1").unwrap();
        w.ok(
            "SUP-1",
            Action::RequestFinancing {
                receivable: rcv,
                banks: vec![org("BANK-A")],
            },
        );
        w.ok(
            "BANK-A",
            Action::OfferFinancing {
                financing: fin.clone(),
                rate: Rate::parse("4").unwrap(),
                fees: Amount::ZERO,
                valid_until: w.today(),
            },
        );
        let net = match &w.ok(
            "SUP-1",
            Action::AcceptOffer {
                offer: DocId::new("OFR-1").unwrap(),
            },
        )[0]
        {
            Event::OfferAccepted { net, .. } => net.amount,
            e => panic!("{e:?}"),
        };
        let payment_ref = "PAY-1".to_string();
        w.ok(
            "BANK-A",
            Action::Disburse {
                financing: fin.clone(),
                payment_ref,
                net,
            },
        );
        let offer = |part: Option<&str>, price: &str, w: &World| Action::OfferSale {
            financing: fin.clone(),
            buyer: org("BANK-B"),
            part: part.map(|p| Amount::parse(p).unwrap()),
            price: Amount::parse(price).unwrap(),
            valid_until: w.today(),
        };
        let a = offer(Some("400.00"), "395.00", &w);
        w.ok("BANK-A", a);
        w.ok(
            "BANK-B",
            Action::AcceptSale {
                sale: DocId::new("SAL-1").unwrap(),
            },
        );
        let a = offer(None, "590.00", &w);
        w.ok("BANK-A", a);
        crate::api::tests_support::db_of_world(&w)
    }

    #[test]
    fn banks_read_sales_by_financing_and_suppliers_do_not() {
        let (_dir, db) = db();
        let all = sale_page(&db, &Reader::Everything, SaleQuery::default()).unwrap();
        assert_eq!(all.items.len(), 2);
        let first = &all.items[0];
        assert_eq!(first.status, SaleStatus::Sold);
        assert_eq!(first.face, cny("400.00"));
        let bought = first.sale.transfer.as_ref().unwrap().financing.clone();
        assert!(!all.items[1].lapsed);
        let of = |f: &str| {
            let q = SaleQuery {
                financing: Some(DocId::new(f).unwrap()),
                ..SaleQuery::default()
            };
            sale_page(&db, &Reader::Everything, q).unwrap().items.len()
        };
        assert_eq!(of("FIN-1"), 2);
        assert_eq!(of(bought.as_str()), 1);
        assert_eq!(of("FIN-9"), 0);
        let read = |o: &str| {
            sale_page(&db, &Reader::Org(org(o)), SaleQuery::default())
                .unwrap()
                .items
                .len()
        };
        assert_eq!(read("SUP-1"), 0);
        assert_eq!(read("CORE-A"), 0);
    }
}
