//! `financing show`: the financing and its offers, each with what it costs the supplier --
//! the all-in annualised cost the node computes with `lianrong_contracts::pricing` (see
//! `lianrong_api_types::pricing`), printed as `all-in 3.6836 % p.a.`. Pure, so the format
//! is tested without a node.

use lianrong_contracts::model::Financing;
use lianrong_sdk::api_types::{AllInAsOf, OfferView};

use super::output;

/// An offer's cost in words: `all-in 3.6836 % p.a. (90 days from 2026-03-02, as of today:
/// discount 3650.00 CNY + fees 0.00 CNY on 400000.00 CNY, net 396350.00 CNY)`, or why
/// there is none.
pub fn all_in_text(v: &OfferView) -> String {
    match (&v.all_in, &v.all_in_unavailable) {
        (Some(c), _) => {
            let as_of = match c.as_of {
                AllInAsOf::Disbursement => "as disbursed",
                AllInAsOf::Today => "as of today",
            };
            format!(
                "all-in {} ({} days from {}, {as_of}, {:?}: discount {} + fees {} on {}, net {})",
                c.all_in, c.days, c.value_date, c.day_count, c.discount, c.fees, c.principal, c.net
            )
        }
        (None, Some(why)) => format!("all-in: none ({why})"),
        (None, None) => "all-in: none".into(),
    }
}

/// The financing as a document, then one table row per offer with its all-in cost.
pub fn financing_text(f: &Financing, offers: &[OfferView]) -> String {
    let doc = output::document(&serde_json::to_value(f).unwrap_or_default());
    let rows: Vec<Vec<String>> = offers
        .iter()
        .map(|v| {
            let o = &v.offer;
            vec![
                o.id.to_string(),
                o.bank.to_string(),
                format!("{} %", o.rate.percent()),
                o.fees.to_string(),
                o.valid_until.to_string(),
                serde_json::to_value(o.status)
                    .ok()
                    .and_then(|s| s.as_str().map(str::to_string))
                    .unwrap_or_default(),
                all_in_text(v),
            ]
        })
        .collect();
    let header = [
        "offer",
        "bank",
        "rate",
        "fees",
        "valid until",
        "status",
        "cost to the supplier",
    ];
    format!("{doc}\n\noffers:\n{}", output::table(&header, &rows))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use lianrong_contracts::model::{DocId, Offer, OfferStatus};
    use lianrong_contracts::money::{DayCount, Money, Rate};
    use lianrong_contracts::pricing::quote;
    use lianrong_primitives::OrgId;
    use lianrong_sdk::api_types::AllInCost;

    use super::*;

    #[test]
    fn each_offer_prints_its_all_in_cost() {
        let cny = |s: &str| Money::parse(s, "CNY").unwrap();
        let rate = Rate::parse("3.65").unwrap();
        let q = quote(&cny("400000.00"), rate, &cny("0.00"), 90, DayCount::Act360).unwrap();
        let offer = Offer {
            id: DocId::new("OFR-1").unwrap(),
            financing: DocId::new("FIN-1").unwrap(),
            bank: OrgId::new("BANK-A").unwrap(),
            rate,
            fees: cny("0.00"),
            valid_until: "2026-03-09".parse().unwrap(),
            status: OfferStatus::Open,
            penalty_rate: None,
            recourse: None,
        };
        let v = OfferView {
            offer: offer.clone(),
            all_in: Some(AllInCost {
                all_in: q.all_in,
                as_of: AllInAsOf::Today,
                value_date: "2026-03-02".parse().unwrap(),
                days: 90,
                day_count: DayCount::Act360,
                principal: cny("400000.00"),
                discount: q.discount,
                fees: cny("0.00"),
                net: q.net,
            }),
            all_in_unavailable: None,
        };
        assert_eq!(
            all_in_text(&v),
            "all-in 3.6836 % p.a. (90 days from 2026-03-02, as of today, Act360: discount \
             3650.00 CNY + fees 0.00 CNY on 400000.00 CNY, net 396350.00 CNY)"
        );
        let none = OfferView {
            offer,
            all_in: None,
            all_in_unavailable: Some("RCV-3 is past maturity or no longer live".into()),
        };
        assert_eq!(
            all_in_text(&none),
            "all-in: none (RCV-3 is past maturity or no longer live)"
        );
    }
}
