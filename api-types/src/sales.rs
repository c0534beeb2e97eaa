//! Secondary sales of financings between banks as the API shows them (`GET /v1/sales`,
//! `/v1/sales/{id}`): the ledger's `SAL-n` record with the face sold and whether an
//! unanswered offer is past its validity on the ledger's date (it stays `offered` on the
//! ledger until the seller withdraws it or the buyer declines; it can no longer be
//! accepted). Who reads a sale is its `Document` rule in [`crate::visibility`]: the
//! selling and the buying bank, other banks and auditors -- not the supplier or the
//! debtor, who learn from the financing and the receivable who funds and holds them.

use chrono::NaiveDate;
use lianrong_contracts::model::{DocId, Sale, SaleStatus};
use lianrong_contracts::money::Money;
use serde::{Deserialize, Serialize};

/// A sale as of `as_of`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaleView {
    /// The ledger's record: financing, receivable, seller, buyer, part, price, validity,
    /// status, what changed hands and the price payment.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub sale: Sale,
    /// `offered`, `sold` (the price unpaid), `paid`, `declined` or `withdrawn`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: SaleStatus,
    /// The face sold: the part, or all the receivable owed when offered.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub face: Money,
    /// The ledger's business date `lapsed` is judged on.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub as_of: NaiveDate,
    /// Offered and past its validity: it can no longer be accepted.
    pub lapsed: bool,
}

impl SaleView {
    /// The view of `sale` on `as_of`.
    pub fn new(sale: Sale, as_of: NaiveDate) -> SaleView {
        SaleView {
            status: sale.status,
            face: sale.face(),
            lapsed: sale.status == SaleStatus::Offered && as_of > sale.valid_until,
            as_of,
            sale,
        }
    }

    /// Whether the sale is of financing `id`: the one offered, or the buyer's financing
    /// it created.
    pub fn concerns(&self, id: &DocId) -> bool {
        &self.sale.financing == id
            || self
                .sale
                .transfer
                .as_ref()
                .is_some_and(|t| &t.financing == id)
    }
}

/// Query of `GET /v1/sales`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct SaleQuery {
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
    /// Only the sales of this financing (offered, or the buyer's financing it created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<String>, pattern = "^[A-Za-z0-9._-]{1,64}$")
    )]
    pub financing: Option<DocId>,
}

/// `GET /v1/sales`: one page of the sales the caller may read, in id order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SalePage {
    /// The sales of this page.
    pub items: Vec<SaleView>,
    /// Where the next page starts (its `after`); absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub next: Option<DocId>,
}
