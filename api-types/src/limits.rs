//! Credit limits as the API shows them (`GET /v1/limits`, `/v1/limits/{org}`): the
//! ledger's limit with its utilisation and headroom, computed once here for the node, the
//! SDK, the CLI and the explorer alike. Who reads which limit is
//! [`crate::visibility::may_read_limit`].

use chrono::NaiveDate;
use lianrong_contracts::model::{CreditLimit, LimitScope};
use lianrong_contracts::money::{Amount, Money};
use lianrong_primitives::OrgId;
use serde::{Deserialize, Serialize};

/// A credit limit in force with its use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LimitView {
    /// What it caps: `{"issuance": {"debtor"}}` or `{"exposure": {"bank", "scope", "on"}}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub scope: LimitScope,
    /// The org it belongs to (the debtor, or the bank).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub holder: OrgId,
    /// The limit.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub limit: Money,
    /// Its use, in the limit's currency.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub used: Money,
    /// What may still be added: limit - used, zero when the use is at or above it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub headroom: Money,
    /// True when the use is above the limit (the limit was lowered below it: nothing
    /// more is counted until the use falls).
    pub over: bool,
    /// Use in other currencies, counted before the limit was set; it can only fall (an
    /// amount in another currency than the limit's is refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub other_use: Vec<Money>,
    /// Height of the block that set it.
    pub set_at: u64,
    /// Business date it was set.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub set_on: NaiveDate,
}

impl LimitView {
    /// The view of `limit` whose scope has `uses` (one amount per currency, as stored).
    pub fn new(limit: CreditLimit, uses: &[Money]) -> LimitView {
        let currency = limit.limit.currency;
        // One stored counter per currency.
        let used = uses
            .iter()
            .find(|m| m.currency == currency)
            .map_or(Amount::ZERO, |m| m.amount);
        let headroom = limit.limit.amount.checked_sub(used);
        LimitView {
            holder: limit.scope.holder().clone(),
            over: headroom.is_none(),
            headroom: Money {
                amount: headroom.unwrap_or(Amount::ZERO),
                currency,
            },
            used: Money {
                amount: used,
                currency,
            },
            other_use: uses
                .iter()
                .filter(|m| m.currency != currency)
                .copied()
                .collect(),
            scope: limit.scope,
            limit: limit.limit,
            set_at: limit.set_at,
            set_on: limit.set_on,
        }
    }
}

/// Query of `GET /v1/limits` and `/v1/limits/{org}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct LimitQuery {
    /// Cursor: start after this limit (the `next` of the previous page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<String>, pattern = "^[A-Za-z0-9/-]{1,128}$")
    )]
    pub after: Option<String>,
    /// Page size: 1 to 500 (`MAX_PAGE`), default 100 (`DEFAULT_PAGE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    pub limit: Option<usize>,
}

/// `GET /v1/limits`: one page of credit limits the caller may read, ordered by holder,
/// then kind, scope and counterparty (their state keys). Read it like a
/// [`crate::ReceivablePage`]: until an answer has no `next`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LimitPage {
    /// The limits of this page.
    pub items: Vec<LimitView>,
    /// Where the next page starts (its `after`); absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::model::ExposureScope;

    fn money(s: &str, c: &str) -> Money {
        Money::parse(s, c).unwrap()
    }

    fn limit(l: &str) -> CreditLimit {
        CreditLimit {
            scope: LimitScope::Exposure {
                bank: OrgId::new("BANK-A").unwrap(),
                scope: ExposureScope::Debtor,
                on: OrgId::new("CORE-A").unwrap(),
            },
            limit: money(l, "CNY"),
            used_when_set: Amount::ZERO,
            set_at: 7,
            set_on: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
        }
    }

    #[test]
    fn headroom_is_the_limit_less_the_use_in_its_currency_and_never_negative() {
        let uses = [money("600.00", "CNY"), money("5.00", "USD")];
        let v = LimitView::new(limit("1000.00"), &uses);
        assert_eq!(v.holder.as_str(), "BANK-A");
        assert_eq!(v.used, money("600.00", "CNY"));
        assert_eq!(v.headroom, money("400.00", "CNY"));
        assert!(!v.over);
        assert_eq!(v.other_use, [money("5.00", "USD")]);
        let lowered = LimitView::new(limit("500.00"), &uses);
        assert_eq!(
            (lowered.headroom.amount, lowered.over),
            (Amount::ZERO, true)
        );
        let unused = LimitView::new(limit("1.00"), &[]);
        assert_eq!(unused.used, money("0", "CNY"));
        assert_eq!(unused.headroom, money("1.00", "CNY"));
    }
}
