//! Loans against pledged warehouse receipts as the API shows them (`GET /v1/loans`,
//! `/v1/loans/{id}`): the ledger's record with today's figures -- goods value at the
//! bank's latest prices, balance, LTV, whether it is above the margin-call threshold or
//! `ltv_max`, accrued interest, the margin call's deadline -- computed by the ledger's own
//! `lianrong_contracts::exec::inventory::figures`, so every surface shows the figures the
//! rules decide by. Who reads a loan is its `Document` rule in [`crate::visibility`]: the
//! borrower and the lending bank, other banks and auditors.

use chrono::NaiveDate;
use lianrong_contracts::exec::inventory::LoanFigures;
use lianrong_contracts::model::{DocId, Loan, LoanStatus};
use lianrong_contracts::money::Money;
use serde::{Deserialize, Serialize};

/// A loan with its figures as of `as_of`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoanView {
    /// The ledger's record: borrower, bank, receipts (and released ones), principal,
    /// terms, status, dates, disbursement, repaid principal, pending repayment, margin call.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub loan: Loan,
    /// `requested`, `offered`, `accepted`, `disbursed`, `repaid`, `enforced` or `cancelled`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: LoanStatus,
    /// The ledger's business date the figures are for.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub as_of: NaiveDate,
    /// Goods value of the receipts securing it at the bank's latest prices (absent when a
    /// price is missing: `value_error` says which).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub value: Option<Money>,
    /// Why it cannot be valued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_error: Option<String>,
    /// Principal owed: disbursed less acknowledged repayments.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub balance: Money,
    /// Balance / value in percent, rounded up to 4 decimals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ltv_percent: Option<String>,
    /// Whether the LTV is strictly above the margin-call threshold (a call may be made).
    pub above_margin_call: bool,
    /// Whether the LTV is strictly above `ltv_max` (no release of goods; no disbursement).
    pub above_ltv_max: bool,
    /// Simple interest accrued on the balance through `as_of`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub accrued_interest: Money,
    /// Last day of the outstanding margin call's cure period.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub margin_call_deadline: Option<NaiveDate>,
}

impl LoanView {
    /// The view of `loan` with its `figures` on `as_of`.
    pub fn new(loan: Loan, figures: LoanFigures, as_of: NaiveDate) -> LoanView {
        let (value, value_error) = match figures.value {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(e)),
        };
        LoanView {
            status: loan.status,
            as_of,
            value,
            value_error,
            balance: figures.balance,
            ltv_percent: figures.ltv_percent.map(|d| format!("{d:.4}")),
            above_margin_call: figures.above_margin_call,
            above_ltv_max: figures.above_ltv_max,
            accrued_interest: figures.accrued_interest,
            margin_call_deadline: loan.margin_call.as_ref().map(|c| c.deadline),
            loan,
        }
    }
}

/// Query of `GET /v1/loans`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct LoanQuery {
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

/// `GET /v1/loans`: one page of the loans the caller may read, in id order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoanPage {
    /// The loans of this page.
    pub items: Vec<LoanView>,
    /// Where the next page starts (its `after`); absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub next: Option<DocId>,
}
