//! A financing with its overdue figures (`GET /v1/financings/{id}`): the record and, once
//! it went overdue, the penalty accrued and the claim as of the ledger's business date of
//! its last executed block, by the ledger's own rule (`lianrong_api_types::overdue`).

use lianrong_api_types::FinancingView;
use lianrong_contracts::model::{Financing, Receivable};
use lianrong_contracts::state::{keys, load};
use lianrong_contracts::DocKind;
use lianrong_storage::Db;

use super::error::{ApiError, ApiResult};

/// `f` (already checked readable by the caller) with its overdue figures as of today.
pub fn financing_view(db: &Db, f: Financing) -> ApiResult<FinancingView> {
    if f.overdue.is_none() {
        // Nothing to compute: no need to read the date or the receivable.
        return Ok(FinancingView::new(f, None, chrono::NaiveDate::MIN));
    }
    let (_, today) = super::lists::ledger_today(db)?;
    let r: Option<Receivable> = load(db, &keys::doc(DocKind::Receivable, f.receivable.as_str()))
        .map_err(ApiError::internal)?;
    Ok(FinancingView::new(f, r.as_ref(), today))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use chrono::Days;
    use lianrong_contracts::money::{Amount, Rate};
    use lianrong_contracts::testkit::{org, World};
    use lianrong_contracts::{Action, Event};

    use super::*;

    /// A financing 17 days past due on the testkit's ledger, copied into a node database
    /// with the ledger's date: the node's answer carries the record's fields and the
    /// ledger's figures as of its last block's date -- 1,234,567.89 at 18 % a year (0.05 %
    /// a day) is 617.28 a day, 10,493.76 for 17 days.
    #[test]
    fn an_overdue_financing_reads_with_its_penalty_as_of_the_ledgers_date() {
        let mut w = World::new();
        let r = w.trade_to_receivable("CORE-A", "SUP-1", "1234567.89", 30);
        let ev = w.ok(
            "SUP-1",
            Action::RequestFinancing {
                receivable: r.clone(),
                banks: vec![org("BANK-A")],
            },
        );
        let Event::FinancingRequested { financing: fid, .. } = ev[0].clone() else {
            panic!("{ev:?}")
        };
        let ev = w.ok(
            "BANK-A",
            Action::OfferFinancingWithTerms {
                financing: fid.clone(),
                rate: Rate::parse("3.65").unwrap(),
                fees: Amount::ZERO,
                valid_until: w.today(),
                penalty_rate: Rate::parse("18").unwrap(),
                recourse: true,
            },
        );
        let Event::OfferMade { offer, .. } = ev[0].clone() else {
            panic!("{ev:?}")
        };
        let ev = w.ok("SUP-1", Action::AcceptOffer { offer });
        let Event::OfferAccepted { net, .. } = ev[0].clone() else {
            panic!("{ev:?}")
        };
        w.ok(
            "BANK-A",
            Action::Disburse {
                financing: fid.clone(),
                payment_ref: "CMB-1".into(),
                net: net.amount,
            },
        );
        // Maturity + 3 grace days + 17.
        let target = w.receivable(&r).maturity + Days::new(3 + 17);
        w.advance_days(u64::try_from((target - w.today()).num_days()).unwrap());
        w.block(&[]);

        // The financing, its receivable, and the chain's date (its last block's time).
        let rid = w
            .get::<Financing>(DocKind::Financing, fid.as_str())
            .unwrap()
            .receivable;
        let (_dir, db) = crate::api::tests_support::genesis_db_with(
            [
                keys::doc(DocKind::Financing, fid.as_str()),
                keys::doc(DocKind::Receivable, rid.as_str()),
                keys::META.to_vec(),
            ]
            .map(|key| (key.clone(), w.raw(&key))),
        );

        let f: Financing = w.get(DocKind::Financing, fid.as_str()).unwrap();
        let view = financing_view(&db, f).unwrap();
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["id"], fid.as_str(), "{json}");
        assert_eq!(json["status"], "disbursed", "{json}");
        assert_eq!(json["overdue"]["penalty_rate"], "18", "{json}");
        let fig = &json["overdue_figures"];
        assert_eq!(fig["days_past_due"], 17, "{json}");
        assert_eq!(fig["daily_penalty"]["amount"], "617.28", "{json}");
        assert_eq!(fig["penalty"]["amount"], "10493.76", "{json}");
        assert_eq!(fig["claim"]["amount"], "1245061.65", "{json}");
        assert_eq!(json["overdue_unavailable"], serde_json::Value::Null);
    }
}
