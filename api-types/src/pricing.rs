//! What an offer costs the supplier, as every surface shows it: the all-in annualised cost
//! (`lianrong_contracts::pricing`, the one formula) with the figures it is computed from,
//! chosen here once for the node (`GET /v1/offers/{id}`), the SDK, the CLI and the
//! explorer.
//!
//! Which figures: the disbursed offer of a financing from its disbursement (its value
//! date, days, discount and net: what the supplier really paid); any other offer as of
//! `today` -- the ledger's business date of its last executed block, the day a
//! disbursement would be recorded -- on the amount the discount would run on (the
//! accepted terms' advanced amount for the accepted offer; otherwise the receivable's
//! outstanding amount, times the programme's advance ratio rounded down like the ledger's
//! `programmes::advanced` for a financing under a programme), to the receivable's
//! maturity. The year basis is the day count in
//! force (the network's `day_count` parameter).

use chrono::NaiveDate;
use lianrong_contracts::model::{Financing, FinancingStatus, Offer, Receivable};
use lianrong_contracts::money::{share_down, DayCount, Money, Rate};
use lianrong_contracts::pricing::{all_in_cost, quote, AllIn};
use serde::{Deserialize, Serialize};

/// Where an all-in figure's days and discount come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AllInAsOf {
    /// The recorded disbursement (value date, days, discount, net).
    Disbursement,
    /// The ledger's business date today: what a disbursement today would cost.
    Today,
}

/// The all-in annualised cost of an offer to the supplier and what it is computed from:
/// `all_in = (discount + fees) / net x basis / days`, in percent a year, 4 decimals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllInCost {
    /// Percent a year, 4 decimals (`"3.6836"`).
    pub all_in: AllIn,
    /// Where the days and the discount come from.
    pub as_of: AllInAsOf,
    /// The value date the days run from.
    pub value_date: NaiveDate,
    /// Actual days from the value date to maturity.
    pub days: u32,
    /// The year basis (`Act360`, `Act365`).
    pub day_count: DayCount,
    /// What the discount runs on: the face (outstanding amount), or the amount advanced
    /// against it.
    pub principal: Money,
    /// The discount.
    pub discount: Money,
    /// The flat fees.
    pub fees: Money,
    /// What the supplier receives: principal - discount - fees.
    pub net: Money,
}

/// An offer as `GET /v1/offers/{id}` answers it: the ledger's record (its fields at the
/// top level, as before) and what it costs the supplier, or why that cannot be said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferView {
    /// The ledger's record.
    #[serde(flatten)]
    pub offer: Offer,
    /// The all-in cost; `null` when [`OfferView::all_in_unavailable`] says why.
    pub all_in: Option<AllInCost>,
    /// Why there is no all-in figure (past maturity, the financing ended undisbursed ...);
    /// `null` when there is one.
    pub all_in_unavailable: Option<String>,
}

impl OfferView {
    /// `offer` with its all-in cost, from its `financing`, the financing's `receivable`
    /// (`None`: not found) and, for a financing under a programme, the programme's
    /// `advance` ratio, as of the business date `today` under `day_count`.
    pub fn new(
        offer: Offer,
        financing: Option<&Financing>,
        receivable: Option<&Receivable>,
        advance: Option<Rate>,
        today: NaiveDate,
        day_count: DayCount,
    ) -> OfferView {
        let on = Priced {
            financing,
            receivable,
            advance,
        };
        let (all_in, all_in_unavailable) = match offer_all_in(&offer, &on, today, day_count) {
            Ok(c) => (Some(c), None),
            Err(why) => (None, Some(why)),
        };
        OfferView {
            offer,
            all_in,
            all_in_unavailable,
        }
    }
}

/// The all-in cost of a disbursed financing, from its disbursement; `None` if it has none.
pub fn disbursed_all_in(f: &Financing, day_count: DayCount) -> Option<Result<AllInCost, String>> {
    let x = f.disbursement.as_ref()?;
    let Some(terms) = &f.terms else {
        return Some(Err(format!("{} is disbursed without terms", f.id)));
    };
    let cost = all_in_cost(&terms.advanced, &x.discount, &terms.fees, x.days, day_count);
    Some(
        cost.map(|all_in| AllInCost {
            all_in,
            as_of: AllInAsOf::Disbursement,
            value_date: x.value_date,
            days: x.days,
            day_count,
            principal: terms.advanced,
            discount: x.discount,
            fees: terms.fees,
            net: x.net,
        })
        .map_err(|e| e.to_string()),
    )
}

/// What an offer is priced on: its financing, the financing's receivable (`None`: not
/// found) and, under a programme, the programme's advance ratio (`None`: not known).
#[derive(Debug, Clone, Copy)]
pub struct Priced<'a> {
    /// The offer's financing.
    pub financing: Option<&'a Financing>,
    /// The financing's receivable.
    pub receivable: Option<&'a Receivable>,
    /// The advance ratio of the financing's programme.
    pub advance: Option<Rate>,
}

/// The all-in cost of `offer` (see the module's rule), or why there is none.
pub fn offer_all_in(
    offer: &Offer,
    on: &Priced<'_>,
    today: NaiveDate,
    day_count: DayCount,
) -> Result<AllInCost, String> {
    let f = on
        .financing
        .ok_or_else(|| format!("financing {} not found", offer.financing))?;
    let accepted = f.terms.as_ref().filter(|t| t.offer == offer.id);
    if accepted.is_some() {
        if let Some(cost) = disbursed_all_in(f, day_count) {
            return cost;
        }
        if f.status != FinancingStatus::Accepted {
            return Err(format!("{} ended undisbursed", f.id));
        }
    }
    let r = on
        .receivable
        .ok_or_else(|| format!("receivable {} not found", f.receivable))?;
    if !r.status.is_live() || today >= r.maturity {
        return Err(format!("{} is past maturity or no longer live", r.id));
    }
    let principal = match accepted {
        Some(t) => t.advanced,
        None => open_principal(f, r, on.advance)?,
    };
    let days = u32::try_from((r.maturity - today).num_days())
        .map_err(|_| format!("{} matures out of range", r.id))?;
    let q =
        quote(&principal, offer.rate, &offer.fees, days, day_count).map_err(|e| e.to_string())?;
    Ok(AllInCost {
        all_in: q.all_in,
        as_of: AllInAsOf::Today,
        value_date: today,
        days,
        day_count,
        principal,
        discount: q.discount,
        fees: offer.fees,
        net: q.net,
    })
}

/// What an offer not yet accepted would advance: the receivable's outstanding amount,
/// under a programme times its advance ratio rounded down (the ledger's rule).
fn open_principal(f: &Financing, r: &Receivable, advance: Option<Rate>) -> Result<Money, String> {
    let outstanding = Money {
        amount: r
            .outstanding()
            .ok_or_else(|| format!("{} is repaid beyond its face", r.id))?,
        currency: r.face.currency,
    };
    match (&f.programme, advance) {
        (None, _) => Ok(outstanding),
        (Some(_), Some(ratio)) => share_down(&outstanding, ratio).map_err(|e| e.to_string()),
        (Some(p), None) => Err(format!("the advance ratio of programme {p} is not known")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use lianrong_contracts::model::DocId;
    use lianrong_contracts::money::{Amount, Rate};
    use lianrong_contracts::testkit::{org, World};
    use lianrong_contracts::{Action, DocKind, Event};

    use super::*;

    fn view(w: &World, offer: &DocId) -> OfferView {
        let o: Offer = w.get(DocKind::Offer, offer.as_str()).unwrap();
        let f: Financing = w.get(DocKind::Financing, o.financing.as_str()).unwrap();
        let r = w.receivable(&f.receivable);
        OfferView::new(o, Some(&f), Some(&r), None, w.today(), DayCount::Act360)
    }

    fn all_in(v: &OfferView) -> (String, AllInAsOf, u32) {
        let c = v.all_in.as_ref().unwrap_or_else(|| panic!("{v:?}"));
        (c.all_in.percent().to_string(), c.as_of, c.days)
    }

    fn offer(w: &mut World, bank: &str, fin: &DocId, rate: &str, fees: &str) -> DocId {
        let events = w.ok(
            bank,
            Action::OfferFinancing {
                financing: fin.clone(),
                rate: Rate::parse(rate).unwrap(),
                fees: Amount::parse(fees).unwrap(),
                valid_until: w.today() + chrono::Days::new(20),
            },
        );
        let Event::OfferMade { offer, .. } = &events[0] else {
            panic!("{events:?}")
        };
        offer.clone()
    }

    /// SUP-1's request for financing a receivable of `face` due in 90 days from `banks`.
    fn requested(w: &mut World, face: &str, banks: &[&str]) -> DocId {
        let rcv = w.trade_to_receivable("CORE-A", "SUP-1", face, 90);
        let events = w.ok(
            "SUP-1",
            Action::RequestFinancing {
                receivable: rcv,
                banks: banks.iter().map(|b| org(b)).collect(),
            },
        );
        let Event::FinancingRequested { financing, .. } = &events[0] else {
            panic!("{events:?}")
        };
        financing.clone()
    }

    /// Under a programme advancing 80 %: 800,000.00 x 4.35 % x 90/360 = 8,700.00;
    /// 9,200.00 over 790,800.00 x 4 x 100 = 4.653515... -> 4.6535.
    #[test]
    fn under_a_programme_an_open_offer_is_priced_on_the_advance() {
        let mut w = World::new();
        let fin = requested(&mut w, "1000000.00", &["BANK-A"]);
        let dear = offer(&mut w, "BANK-A", &fin, "4.35", "500.00");
        let o: Offer = w.get(DocKind::Offer, dear.as_str()).unwrap();
        let mut f: Financing = w.get(DocKind::Financing, fin.as_str()).unwrap();
        f.programme = Some(DocId::new("PRG-1").unwrap());
        let r = w.receivable(&f.receivable);
        let mut on = Priced {
            financing: Some(&f),
            receivable: Some(&r),
            advance: Some(Rate::parse("80").unwrap()),
        };
        let c = offer_all_in(&o, &on, w.today(), DayCount::Act360).unwrap();
        assert_eq!(
            (c.principal.to_fixed(), c.all_in.to_string()),
            ("800000.00".into(), "4.6535 % p.a.".into())
        );
        on.advance = None;
        let why = offer_all_in(&o, &on, w.today(), DayCount::Act360).unwrap_err();
        assert!(why.contains("advance ratio of programme PRG-1"), "{why}");
    }

    /// Two offers on 1,000,000.00 due in 90 days: each quoted as of today (4.35 % + 500.00
    /// fees: 4.6024; 3.65 % no fees: 9,125.00 / 990,875.00 x 4 = 3.6836...); accepted,
    /// the offer keeps today's quote; disbursed 4 days later, it carries the
    /// disbursement's figures: 86 days, 10,391.67 + 500.00 over 989,108.33 x 360/86
    /// = 4.609508... -> 4.6095; and the JSON is the offer's record with `all_in` beside it.
    #[test]
    fn an_offer_carries_its_all_in_cost_from_quote_to_disbursement() {
        let mut w = World::new();
        let fin = &requested(&mut w, "1000000.00", &["BANK-A", "BANK-B"]);
        let dear = offer(&mut w, "BANK-A", fin, "4.35", "500.00");
        let cheap = offer(&mut w, "BANK-B", fin, "3.65", "0");
        assert_eq!(
            all_in(&view(&w, &dear)),
            ("4.6024".into(), AllInAsOf::Today, 90)
        );
        // 9,125.00 / 990,875.00 x 360/90 x 100 = 3.683612...
        assert_eq!(
            all_in(&view(&w, &cheap)),
            ("3.6836".into(), AllInAsOf::Today, 90)
        );
        let json = serde_json::to_value(view(&w, &dear)).unwrap();
        assert_eq!(json["id"], dear.as_str(), "{json}");
        assert_eq!(json["rate"], "4.35");
        assert_eq!(json["all_in"]["all_in"], "4.6024");
        assert_eq!(json["all_in"]["net"]["amount"], "988625.00");
        let back: OfferView = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, view(&w, &dear));
        let record: Offer = serde_json::from_value(json).unwrap();
        assert_eq!(
            record,
            view(&w, &dear).offer,
            "an old client reads the record"
        );

        w.ok(
            "SUP-1",
            Action::AcceptOffer {
                offer: dear.clone(),
            },
        );
        assert_eq!(
            all_in(&view(&w, &dear)),
            ("4.6024".into(), AllInAsOf::Today, 90)
        );
        w.advance_days(4);
        let q = quote(
            &lianrong_contracts::testkit::cny("1000000.00"),
            Rate::parse("4.35").unwrap(),
            &lianrong_contracts::testkit::cny("500.00"),
            86,
            DayCount::Act360,
        )
        .unwrap();
        assert_eq!(q.net.to_fixed(), "989108.33");
        w.ok(
            "BANK-A",
            Action::Disburse {
                financing: fin.clone(),
                payment_ref: "CMB-1".into(),
                net: q.net.amount,
            },
        );
        w.advance_days(5);
        let v = view(&w, &dear);
        // 10,891.67 x 360 x 100 / (989,108.33 x 86) = 4.609508...
        assert_eq!(all_in(&v), ("4.6095".into(), AllInAsOf::Disbursement, 86));
        let f: Financing = w.get(DocKind::Financing, fin.as_str()).unwrap();
        assert_eq!(
            disbursed_all_in(&f, DayCount::Act360).unwrap().unwrap(),
            v.all_in.unwrap(),
            "the financing's figure is its disbursed offer's"
        );
        // The withdrawn offer, as of today (81 days left).
        assert_eq!(all_in(&view(&w, &cheap)).1, AllInAsOf::Today);
        assert_eq!(all_in(&view(&w, &cheap)).2, 81);
    }

    #[test]
    fn past_maturity_there_is_no_figure_and_it_says_why() {
        let mut w = World::new();
        let rcv = w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", 10);
        let events = w.ok(
            "SUP-1",
            Action::RequestFinancing {
                receivable: rcv,
                banks: vec![org("BANK-A")],
            },
        );
        let Event::FinancingRequested { financing: fin, .. } = &events[0] else {
            panic!("{events:?}")
        };
        let o = offer(&mut w, "BANK-A", fin, "3", "0");
        w.advance_days(10);
        let v = view(&w, &o);
        assert_eq!(v.all_in, None);
        assert!(
            v.all_in_unavailable
                .as_deref()
                .unwrap()
                .contains("past maturity"),
            "{v:?}"
        );
        let json = serde_json::to_value(&v).unwrap();
        assert!(
            json["all_in"].is_null() && json["all_in_unavailable"].is_string(),
            "{json}"
        );
    }
}
