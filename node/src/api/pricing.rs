//! An offer with what it costs the supplier (`GET /v1/offers/{id}`): the record and its
//! all-in annualised cost, chosen and computed by `lianrong_api_types::pricing` (the same
//! code the SDK's callers and the explorer use), as of the ledger's business date of its
//! last executed block and under the day count in force.

use lianrong_api_types::OfferView;
use lianrong_contracts::model::{Financing, Offer, Programme, Receivable};
use lianrong_contracts::state::{keys, load};
use lianrong_contracts::DocKind;
use lianrong_storage::Db;

use super::error::{ApiError, ApiResult};

/// `offer` (already checked readable by the caller) with its all-in cost.
pub fn offer_view(db: &Db, offer: Offer) -> ApiResult<OfferView> {
    // The date a disbursement recorded next would carry, give or take that block's time.
    let (params, today) = super::lists::ledger_today(db)?;
    let financing: Option<Financing> =
        load(db, &keys::doc(DocKind::Financing, offer.financing.as_str()))
            .map_err(ApiError::internal)?;
    let receivable: Option<Receivable> = match &financing {
        Some(f) => load(db, &keys::doc(DocKind::Receivable, f.receivable.as_str()))
            .map_err(ApiError::internal)?,
        None => None,
    };
    let programme: Option<Programme> = match financing.as_ref().and_then(|f| f.programme.as_ref()) {
        Some(p) => {
            load(db, &keys::doc(DocKind::Programme, p.as_str())).map_err(ApiError::internal)?
        }
        None => None,
    };
    Ok(OfferView::new(
        offer,
        financing.as_ref(),
        receivable.as_ref(),
        programme.map(|p| p.terms.advance),
        today,
        params.day_count,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use lianrong_api_types::AllInAsOf;
    use lianrong_contracts::exec::business_date;
    use lianrong_contracts::money::{Amount, DayCount, Rate};
    use lianrong_contracts::pricing::quote;
    use lianrong_contracts::testkit::{self, org, World};
    use lianrong_contracts::{Action, Event};
    use lianrong_primitives::codec;

    use super::*;

    /// An offer made on a ledger of the testkit, read back by the node from its database:
    /// the answer of `GET /v1/offers/{id}` carries the all-in cost of the one function,
    /// as of the database's last block date, with the record's fields beside it.
    #[test]
    fn the_offer_read_carries_its_all_in_cost() {
        let mut w = World::new();
        let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "1000000.00", 90);
        let events = w.ok(
            "SUP-1",
            Action::RequestFinancing {
                receivable: rcv.clone(),
                banks: vec![org("BANK-A")],
            },
        );
        let Event::FinancingRequested { financing: fin, .. } = &events[0] else {
            panic!("{events:?}")
        };
        let events = w.ok(
            "BANK-A",
            Action::OfferFinancing {
                financing: fin.clone(),
                rate: Rate::parse("4.35").unwrap(),
                fees: Amount::parse("500.00").unwrap(),
                valid_until: w.today() + chrono::Days::new(20),
            },
        );
        let Event::OfferMade { offer: oid, .. } = &events[0] else {
            panic!("{events:?}")
        };
        let offer: Offer = w.get(DocKind::Offer, oid.as_str()).unwrap();
        let f: Financing = w.get(DocKind::Financing, fin.as_str()).unwrap();
        let r = w.receivable(&rcv);

        let (_dir, db) = crate::api::tests_support::genesis_db_with([
            (
                keys::doc(DocKind::Financing, fin.as_str()),
                Some(codec::encode(&f)),
            ),
            (
                keys::doc(DocKind::Receivable, rcv.as_str()),
                Some(codec::encode(&r)),
            ),
        ]);

        let view = offer_view(&db, offer.clone()).unwrap();
        let cost = view.all_in.clone().unwrap_or_else(|| panic!("{view:?}"));
        let today = business_date(testkit::GENESIS_TIME_MS, 480).unwrap();
        assert_eq!((cost.as_of, cost.value_date), (AllInAsOf::Today, today));
        assert_eq!(
            cost.days,
            u32::try_from((r.maturity - today).num_days()).unwrap()
        );
        let q = quote(
            &testkit::cny("1000000.00"),
            offer.rate,
            &offer.fees,
            cost.days,
            DayCount::Act360,
        )
        .unwrap();
        assert_eq!((cost.all_in, cost.net), (q.all_in, q.net));
        if cost.days == 90 {
            assert_eq!(cost.all_in.to_string(), "4.6024 % p.a.");
        }
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["id"], oid.as_str(), "{json}");
        assert_eq!(json["all_in"]["all_in"], q.all_in.percent().to_string());
    }
}
