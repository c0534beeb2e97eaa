//! Supply-chain finance programmes as the API shows them (`GET /v1/programmes`,
//! `/v1/programmes/{id}`): the ledger's record (terms, members, status) with the
//! programme limit's utilisation and headroom, computed once here for the node, the SDK,
//! the CLI and the explorer alike. Who reads a programme is its `Document` rule in
//! [`crate::visibility`]: its bank, its core, its eligible suppliers (members among them),
//! banks and auditors.

use lianrong_contracts::model::{DocId, Programme, ProgrammeStatus};
use lianrong_contracts::money::{Amount, Money};
use serde::{Deserialize, Serialize};

/// A programme with the use of its limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProgrammeView {
    /// The ledger's record: id, bank, terms (core, eligible suppliers, tiers, currency,
    /// grid, fees, maximum tenor, advance ratio, recourse, auto-offer, offer validity,
    /// limit), members, status and dates.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub programme: Programme,
    /// `proposed`, `active` or `closed`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: ProgrammeStatus,
    /// The financed face still owed on its live (accepted or disbursed) financings.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub used: Money,
    /// What may still be financed: limit - used, zero when the use is at or above it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub headroom: Money,
}

impl ProgrammeView {
    /// The view of `programme` whose limit's use (in its currency) is `used`.
    pub fn new(programme: Programme, used: Amount) -> ProgrammeView {
        let limit = programme.terms.limit;
        ProgrammeView {
            status: programme.status,
            used: Money {
                amount: used,
                currency: limit.currency,
            },
            headroom: Money {
                amount: limit.amount.checked_sub(used).unwrap_or(Amount::ZERO),
                currency: limit.currency,
            },
            programme,
        }
    }
}

/// Query of `GET /v1/programmes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ProgrammeQuery {
    /// Cursor: start after this id (the `next` of the previous page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<String>, pattern = "^[A-Za-z0-9._-]{1,64}$")
    )]
    pub after: Option<DocId>,
    /// Page size: 1 to 500, default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    pub limit: Option<usize>,
}

/// `GET /v1/programmes`: one page of the programmes the caller may read, in id order;
/// read until an answer has no `next`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProgrammePage {
    /// The programmes of this page.
    pub items: Vec<ProgrammeView>,
    /// Where the next page starts (its `after`); absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub next: Option<DocId>,
}

/// A programme's terms in one line, for the CLI's and the explorer's lists: core,
/// currency, advance ratio, the grid, fees and maximum tenor.
pub fn terms_summary(p: &Programme) -> String {
    let t = &p.terms;
    let grid: Vec<String> = t
        .grid
        .iter()
        .map(|b| format!("<={}d {}", b.max_days, b.rate))
        .collect();
    let fixed = Money {
        amount: t.fee_fixed,
        currency: t.currency,
    };
    format!(
        "core {}, {} {} advanced, grid {}, fees {} + {}, tenor <= {} days, tiers <= {}, {}recourse, penalty {} a year, {}",
        t.core,
        t.currency,
        t.advance,
        grid.join(" / "),
        t.fee_percent,
        fixed.to_fixed(),
        t.max_tenor_days,
        t.max_tier,
        if t.recourse { "with " } else { "without " },
        t.penalty_rate,
        if t.auto_offer {
            format!("auto-offer valid {} days", t.offer_valid_days)
        } else {
            format!("bank offers valid <= {} days", t.offer_valid_days)
        },
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use lianrong_contracts::model::{GridBucket, ProgrammeTerms};
    use lianrong_contracts::money::{Currency, Rate};
    use lianrong_primitives::OrgId;

    pub(crate) fn programme(limit: &str) -> Programme {
        let org = |s: &str| OrgId::new(s).unwrap();
        Programme {
            id: DocId::new("PRG-1").unwrap(),
            bank: org("BANK-A"),
            terms: ProgrammeTerms {
                core: org("CORE-A"),
                suppliers: vec![org("SUP-1"), org("SUP-3")],
                max_tier: 2,
                currency: Currency::new("CNY").unwrap(),
                grid: vec![
                    GridBucket {
                        max_days: 90,
                        rate: Rate::parse("3.65").unwrap(),
                    },
                    GridBucket {
                        max_days: 180,
                        rate: Rate::parse("4.2").unwrap(),
                    },
                ],
                fee_percent: Rate::parse("0.1").unwrap(),
                fee_fixed: Amount::parse("50").unwrap(),
                max_tenor_days: 180,
                advance: Rate::parse("80").unwrap(),
                recourse: false,
                auto_offer: true,
                offer_valid_days: 5,
                limit: Money::parse(limit, "CNY").unwrap(),
                penalty_rate: Rate::parse("18").unwrap(),
            },
            members: vec![org("SUP-1")],
            status: ProgrammeStatus::Active,
            created_on: "2026-01-05".parse().unwrap(),
            accepted_on: Some("2026-01-06".parse().unwrap()),
            closed_on: None,
        }
    }

    #[test]
    fn headroom_is_the_limit_less_the_use_and_never_negative() {
        let v = ProgrammeView::new(programme("1000.00"), Amount::parse("600.00").unwrap());
        assert_eq!(v.used, Money::parse("600.00", "CNY").unwrap());
        assert_eq!(v.headroom, Money::parse("400.00", "CNY").unwrap());
        assert_eq!(v.status, ProgrammeStatus::Active);
        let over = ProgrammeView::new(programme("500.00"), Amount::parse("600.00").unwrap());
        assert_eq!(over.headroom.amount, Amount::ZERO);
        assert_eq!(
            terms_summary(&v.programme),
            "core CORE-A, CNY 80% advanced, grid <=90d 3.65% / <=180d 4.2%, fees 0.1% + 50.00, tenor <= 180 days, tiers <= 2, without recourse, penalty 18% a year, auto-offer valid 5 days"
        );
    }
}
