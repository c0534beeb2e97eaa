//! What financing costs suppliers: each offer's all-in annualised cost (on the financing
//! and offer pages) and the risk report `/risk/cost` (with its CSV) that measures the
//! platform's claim to cut SMEs' financing cost, beside a reference rate the bank
//! configures.
//!
//! Every figure comes from `lianrong_api_types::pricing` (which figures) and
//! `lianrong_contracts::pricing` (the formula): the node, the SDK, the CLI and this page
//! show the same number. "Today" is the ledger's date ([`crate::money::ledger_today`]);
//! the year basis is the network's `day_count` parameter read from `/v1/status`.
//!
//! The report: per month of the disbursement's value date, programme, supplier tier (the
//! receivable's `tier` on the ledger) and currency, the disbursed financings' all-in costs
//! averaged weighted by the net each supplier received (so the average is the group's
//! annualised cost over the money it got), the reference rate and the difference in
//! percentage points. Financings go through [`crate::vis`]: banks and auditors see all,
//! an org account its own.

use std::collections::BTreeMap;

use lianrong_api_types::pricing::disbursed_all_in;
use lianrong_api_types::{AllInAsOf, OfferView};
use lianrong_contracts::model::{Financing, Offer};
use lianrong_contracts::money::{Amount, DayCount, Rate};
use lianrong_contracts::pricing::{exact_ratio, AllIn, ALL_IN_DECIMALS};
use maud::{html, Markup};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::index::IndexData;
use crate::money::ledger_today;
use crate::views::{money, ListQuery, Table};
use crate::vis::{self, Viewer};

/// The rate the bank compares suppliers' all-in cost with (config `reference_rate` and
/// `reference_label`), e.g. 3.45 = the 1-year LPR 3.00 + the usual SME spread 0.45.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// Percent a year.
    pub rate: Rate,
    /// What it is, in the bank's words.
    pub label: String,
}

/// Financings without a figure the report's note names (it counts them all).
const MAX_NAMED: usize = 10;

/// Longest reference label accepted.
pub const MAX_REFERENCE_LABEL: usize = 200;

/// The network's day count, once the node's status is read.
pub fn day_count(d: &IndexData) -> Option<DayCount> {
    d.node.as_ref().map(|s| s.params.day_count)
}

/// `o` with its all-in cost as the node would answer it, from the indexed financing and
/// receivable, as of the ledger's date.
pub fn offer_view(d: &IndexData, o: &Offer) -> OfferView {
    let Some(dc) = day_count(d) else {
        return OfferView {
            offer: o.clone(),
            all_in: None,
            all_in_unavailable: Some("the node's parameters (day count) are not read yet".into()),
        };
    };
    let f = d.financings.get(o.financing.as_str());
    let r = f.and_then(|f| d.receivables.get(f.receivable.as_str()));
    // The index keeps no programmes: an open offer under one shows why it has no figure
    // (the node's answer and the accepted terms have it).
    OfferView::new(o.clone(), f, r, None, ledger_today(d), dc)
}

/// An offer's all-in cost in a table cell: `3.6836 % p.a.`, `3.6836 % p.a. (disbursed)`,
/// or `-` with the reason.
pub fn all_in_cell(v: &OfferView) -> String {
    match (&v.all_in, &v.all_in_unavailable) {
        (Some(c), _) if c.as_of == AllInAsOf::Disbursement => format!("{} (disbursed)", c.all_in),
        (Some(c), _) => c.all_in.to_string(),
        (None, Some(why)) => format!("- ({why})"),
        (None, None) => "-".into(),
    }
}

/// The offer page's section: the all-in cost and every figure it is computed from.
pub fn offer_section(d: &IndexData, o: &Offer) -> Markup {
    let v = offer_view(d, o);
    html! {
        h2 { "Cost to the supplier" }
        @if let Some(c) = &v.all_in {
            table class="fields" id="all-in" {
                tr { th { "all-in" } td id="all-in-rate" { (c.all_in) } }
                tr { th { "as of" } td { (match c.as_of { AllInAsOf::Disbursement => "its disbursement", AllInAsOf::Today => "the ledger's date today" }) } }
                tr { th { "value date" } td { (c.value_date) } }
                tr { th { "days" } td { (c.days) } }
                tr { th { "day count" } td { (format!("{:?}", c.day_count)) } }
                tr { th { "principal" } td { (money(&c.principal)) } }
                tr { th { "discount" } td { (money(&c.discount)) } }
                tr { th { "fees" } td { (money(&c.fees)) } }
                tr { th { "net received" } td { (money(&c.net)) } }
            }
            p class="muted" { "All-in = (discount + fees) / net received x year basis / days, in percent a year, 4 decimals, rounded half away from zero: the simple rate of a loan of the net that would cost the same." }
        } @else {
            p class="muted" id="all-in" { "No all-in figure: " (v.all_in_unavailable.as_deref().unwrap_or("unknown")) }
        }
    }
}

/// The programme a financing was requested under, as the report groups it.
fn programme_of(f: &Financing) -> String {
    f.programme
        .as_ref()
        .map_or_else(|| "outside programmes".into(), |p| p.to_string())
}

/// One group of the report, as running sums: the cost report is a pass over every
/// disbursed financing in the store, a chunk at a time, so it keeps one entry per group
/// (month, programme, tier, currency), never one per financing. The all-in figure comes
/// from the ledger's formula (`disbursed_all_in`, with the network's day count), which
/// SQL cannot compute, hence a pass rather than a SQL aggregate; the sums are exact
/// decimals, as `lianrong_contracts::pricing::weighted_all_in` adds them.
#[derive(Default)]
struct Group {
    count: u64,
    /// Sum of net x all-in (percent).
    weighted: Decimal,
    /// Sum of the nets, as the weight.
    weight: Decimal,
    /// A sum overflowed: no average.
    overflow: bool,
    net: Amount,
}

impl Group {
    fn add(&mut self, net: Amount, all_in: AllIn) {
        self.count += 1;
        let sums = net.value().checked_mul(all_in.percent()).and_then(|x| {
            Some((
                self.weighted.checked_add(x)?,
                self.weight.checked_add(net.value())?,
            ))
        });
        match sums {
            Some((w, n)) => (self.weighted, self.weight) = (w, n),
            None => self.overflow = true,
        }
    }

    /// The net-weighted average, rounded as `weighted_all_in` rounds it.
    fn average(&self) -> Option<AllIn> {
        if self.overflow || self.weight.is_zero() {
            return None;
        }
        exact_ratio(self.weighted, self.weight, ALL_IN_DECIMALS).map(AllIn::from_percent)
    }
}

/// The report's key: (month `YYYY-MM`, programme, tier, currency).
type Key = (String, String, Option<u32>, String);

/// The cost report's running totals: fed the disbursed financings a chunk at a time
/// ([`CostTotals::add`]), then drawn as the table ([`CostTotals::table`]).
#[derive(Default)]
pub struct CostTotals {
    groups: BTreeMap<Key, Group>,
    /// Financings without a figure: how many, and the first [`MAX_NAMED`] with why.
    missing: u64,
    named: Vec<String>,
}

impl CostTotals {
    fn miss(&mut self, why: String) {
        self.missing += 1;
        if self.named.len() < MAX_NAMED {
            self.named.push(why);
        }
    }

    /// Adds the disbursed financings of `d` that `v` may see and `q` selects (their tier
    /// from the receivables `d` holds), under day count `dc`.
    pub fn add(&mut self, d: &IndexData, v: &Viewer, q: &ListQuery, dc: DayCount) {
        for f in vis::filter(v, d.financings.values().cloned()) {
            let Some(cost) = disbursed_all_in(&f, dc) else {
                continue;
            };
            let bank = f.terms.as_ref().map_or("", |t| t.bank.as_str());
            let cost = match cost {
                Ok(c) => c,
                Err(why) => {
                    self.miss(format!("{}: {why}", f.id));
                    continue;
                }
            };
            if !q.org_ok(&[f.applicant.as_str(), bank]) || !q.date_ok(cost.value_date) {
                continue;
            }
            let tier = d.receivables.get(f.receivable.as_str()).map(|r| r.tier);
            let key = (
                cost.value_date.format("%Y-%m").to_string(),
                programme_of(&f),
                tier,
                cost.net.currency.code().to_string(),
            );
            let g = self.groups.entry(key).or_default();
            g.add(cost.net.amount, cost.all_in);
            match g.net.checked_add(cost.net.amount) {
                Ok(n) => g.net = n,
                Err(_) => self.miss(format!("{}: the group's total overflows", f.id)),
            }
        }
    }

    /// The report's table beside `reference` (`dc`: the network's day count, `None`
    /// before the node's status is read).
    pub fn table(&self, dc: Option<DayCount>, reference: Option<&Reference>) -> Table {
        let mut t = Table::new(COLUMNS.to_vec());
        if dc.is_none() {
            t.incomplete = Some("the node's parameters (day count) are not read yet".into());
            return t;
        }
        for ((period, programme, tier, currency), g) in &self.groups {
            let avg = g.average();
            let diff = match (avg, reference) {
                (Some(a), Some(r)) => signed(a, r.rate),
                _ => None,
            };
            t.push(vec![
                period.as_str().into(),
                programme.as_str().into(),
                tier.map_or("unknown (receivable not indexed)".into(), |n| {
                    format!("tier {n}")
                })
                .into(),
                currency.as_str().into(),
                g.count.to_string().into(),
                format!("{} {currency}", g.net).into(),
                avg.map_or("-".into(), |a| a.percent().to_string()).into(),
                reference
                    .map_or("-".into(), |r| r.rate.percent().to_string())
                    .into(),
                reference
                    .map_or("no reference_rate configured".into(), |r| r.label.clone())
                    .into(),
                diff.unwrap_or_else(|| "-".into()).into(),
            ]);
        }
        if self.missing > 0 {
            // The first few name the problem; the count says how many.
            t.incomplete = Some(format!(
                "{} disbursed financing(s) without an all-in figure: {}",
                self.missing,
                self.named.join("; ")
            ));
        }
        t
    }
}

const COLUMNS: [&str; 10] = [
    "period",
    "programme",
    "tier",
    "currency",
    "financings",
    "net received",
    "all-in % p.a. (net-weighted)",
    "reference % p.a.",
    "reference",
    "difference (pp)",
];

/// The cost report (`/risk/cost`) over the financings `d` holds: per month, programme,
/// tier and currency, the net-weighted all-in cost of disbursed financings beside
/// `reference` (the page runs [`CostTotals`] over the whole store instead).
pub fn cost_report(
    d: &IndexData,
    v: &Viewer,
    q: &ListQuery,
    reference: Option<&Reference>,
) -> Table {
    let dc = day_count(d);
    let mut totals = CostTotals::default();
    if let Some(dc) = dc {
        totals.add(d, v, q, dc);
    }
    totals.table(dc, reference)
}

/// A difference in percentage points with its sign: `+0.2336`, `-1.0000`, `0.0000`.
fn signed(all_in: AllIn, reference: Rate) -> Option<String> {
    let d = all_in.points_above(reference.percent())?;
    Some(if d.is_sign_positive() && !d.is_zero() {
        format!("+{d}")
    } else {
        d.to_string()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use lianrong_contracts::model::DocId;
    use lianrong_contracts::pricing::quote;
    use lianrong_contracts::testkit::{cny, org, World};
    use lianrong_contracts::{Action, DocKind, Event};
    use lianrong_primitives::OrgId;

    use super::*;
    use crate::node::fake;

    fn col(t: &Table, name: &str) -> Vec<String> {
        let i = t.columns.iter().position(|c| *c == name).unwrap();
        t.rows.iter().map(|r| r[i].text.clone()).collect()
    }

    /// SUP-1 finances a receivable of `face` due in 90 days at BANK-A's `rate` and `fees`,
    /// disbursed the same day; returns the financing and the offer.
    fn financed(w: &mut World, face: &str, rate: &str, fees: &str) -> (DocId, DocId) {
        let rcv = w.trade_to_receivable("CORE-A", "SUP-1", face, 90);
        let ev = w.ok(
            "SUP-1",
            Action::RequestFinancing {
                receivable: rcv,
                banks: vec![org("BANK-A")],
            },
        );
        let Event::FinancingRequested { financing: fin, .. } = &ev[0] else {
            panic!("{ev:?}")
        };
        let ev = w.ok(
            "BANK-A",
            Action::OfferFinancing {
                financing: fin.clone(),
                rate: Rate::parse(rate).unwrap(),
                fees: Amount::parse(fees).unwrap(),
                valid_until: w.today() + chrono::Days::new(10),
            },
        );
        let Event::OfferMade { offer, .. } = &ev[0] else {
            panic!("{ev:?}")
        };
        w.ok(
            "SUP-1",
            Action::AcceptOffer {
                offer: offer.clone(),
            },
        );
        let q = quote(
            &cny(face),
            Rate::parse(rate).unwrap(),
            &cny(fees),
            90,
            DayCount::Act360,
        )
        .unwrap();
        w.ok(
            "BANK-A",
            Action::Disburse {
                financing: fin.clone(),
                payment_ref: format!("CMB-{}", fin.as_str()),
                net: q.net.amount,
            },
        );
        (fin.clone(), offer.clone())
    }

    /// The index as the explorer holds it after following `w`.
    fn index_of(w: &World, fins: &[(DocId, DocId)]) -> IndexData {
        let mut d = IndexData {
            node: Some(fake::status(1, vec![])),
            cap: 100,
            ..Default::default()
        };
        for (fin, offer) in fins {
            let f: Financing = w.get(DocKind::Financing, fin.as_str()).unwrap();
            let r = w.receivable(&f.receivable);
            let o: Offer = w.get(DocKind::Offer, offer.as_str()).unwrap();
            d.receivables.insert(r.id.to_string(), r);
            d.offers.insert(o.id.to_string(), o);
            d.financings.insert(f.id.to_string(), f);
        }
        d
    }

    /// Two financings of different sizes in one month: 1,000,000.00 at 4.35 % + 500.00
    /// fees (all-in 4.6024, net 988,625.00) and 400,000.00 at 3.65 % (3.6836, net
    /// 396,350.00). Weighted by the net received: (988,625 x 4.6024 + 396,350 x 3.6836)
    /// / 1,384,975 = 6,010,042.56 / 1,384,975 = 4.339459... -> 4.3395; against the
    /// reference 3.45: +0.8895 percentage points.
    #[test]
    fn the_report_weights_all_in_costs_by_the_net_received() {
        let mut w = World::new();
        let big = financed(&mut w, "1000000.00", "4.35", "500.00");
        let small = financed(&mut w, "400000.00", "3.65", "0");
        let d = index_of(&w, &[big.clone(), small.clone()]);
        let views: Vec<String> = [&big.1, &small.1]
            .iter()
            .map(|o| all_in_cell(&offer_view(&d, &d.offers[o.as_str()])))
            .collect();
        assert_eq!(
            views,
            ["4.6024 % p.a. (disbursed)", "3.6836 % p.a. (disbursed)"]
        );

        let reference = Reference {
            rate: Rate::parse("3.45").unwrap(),
            label: "1-year LPR 3.00 + SME spread 0.45".into(),
        };
        let audit = Viewer::Everything { org: None };
        let t = cost_report(&d, &audit, &ListQuery::default(), Some(&reference));
        assert_eq!(t.incomplete, None);
        assert_eq!(col(&t, "financings"), ["2"]);
        assert_eq!(col(&t, "net received"), ["1384975.00 CNY"]);
        assert_eq!(col(&t, "all-in % p.a. (net-weighted)"), ["4.3395"]);
        assert_eq!(col(&t, "reference % p.a."), ["3.45"]);
        assert_eq!(col(&t, "difference (pp)"), ["+0.8895"]);
        assert_eq!(col(&t, "programme"), ["outside programmes"]);
        let tier = d.receivables.values().next().unwrap().tier;
        assert_eq!(col(&t, "tier"), [format!("tier {tier}")]);
        let month = w.today().format("%Y-%m").to_string();
        assert_eq!(col(&t, "period"), [month]);
        let csv = t.to_csv().unwrap();
        assert!(csv.contains("4.3395") && csv.contains("+0.8895"), "{csv}");
        assert!(csv.contains("1-year LPR 3.00 + SME spread 0.45"), "{csv}");

        // Without a reference the average stands alone; another supplier sees nothing,
        // the applicant its own.
        let t = cost_report(&d, &audit, &ListQuery::default(), None);
        assert_eq!(col(&t, "difference (pp)"), ["-"]);
        let sup2 = Viewer::Org(OrgId::new("SUP-2").unwrap());
        assert!(cost_report(&d, &sup2, &ListQuery::default(), None)
            .rows
            .is_empty());
        let sup1 = Viewer::Org(OrgId::new("SUP-1").unwrap());
        assert_eq!(
            col(
                &cost_report(&d, &sup1, &ListQuery::default(), None),
                "all-in % p.a. (net-weighted)"
            ),
            ["4.3395"]
        );
        // One financing alone is its own figure.
        let only = index_of(&w, &[small]);
        let t = cost_report(&only, &audit, &ListQuery::default(), Some(&reference));
        assert_eq!(col(&t, "all-in % p.a. (net-weighted)"), ["3.6836"]);
        assert_eq!(col(&t, "difference (pp)"), ["+0.2336"]);
    }

    #[test]
    fn the_offer_page_shows_the_cost_and_its_figures() {
        let mut w = World::new();
        let fin = financed(&mut w, "400000.00", "3.65", "0");
        let d = index_of(&w, std::slice::from_ref(&fin));
        let html = offer_section(&d, &d.offers[fin.1.as_str()]).into_string();
        for want in [
            "3.6836 % p.a.",
            "its disbursement",
            "3650.00 CNY",
            "396350.00 CNY",
            ">90<",
        ] {
            assert!(html.contains(want), "{want}: {html}");
        }
        let mut unread = d;
        unread.node = None;
        let html = offer_section(&unread, &unread.offers[fin.1.as_str()]).into_string();
        assert!(html.contains("not read yet"), "{html}");
    }
}
