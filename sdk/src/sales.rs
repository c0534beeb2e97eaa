//! Secondary sale of financings between banks (docs/domain.md, "Secondary sale"): the
//! funding bank offers a disbursed financing -- whole, or a part of its receivable -- to
//! another bank at a price; the buyer accepts or declines, the seller may withdraw; the
//! buyer pays the price and the seller acknowledges (or disputes) it. The reads are
//! `GET /v1/sales` and `/v1/sales/{id}`.

use chrono::NaiveDate;
use lianrong_api_types::{SalePage, SaleView, MAX_PAGE};
use lianrong_contracts::model::DocId;
use lianrong_contracts::money::Amount;
use lianrong_contracts::Action;
use lianrong_primitives::OrgId;

use crate::client::Client;
use crate::committed::Committed;
use crate::error::SdkError;
use crate::pages::{collect_pages, MAX_LISTED};
use crate::signer::Signer;

impl Client {
    /// `GET /v1/sales?after=&limit=&financing=`: one page of the sales the caller may
    /// read (the two banks; banks and auditors all), of one financing if named.
    pub async fn sales_page(
        &self,
        after: Option<&DocId>,
        limit: Option<usize>,
        financing: Option<&DocId>,
    ) -> Result<SalePage, SdkError> {
        // Ids and numbers need no escaping in a query.
        let params: Vec<String> = [
            after.map(|a| format!("after={a}")),
            limit.map(|l| format!("limit={l}")),
            financing.map(|f| format!("financing={f}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        let q = if params.is_empty() {
            String::new()
        } else {
            format!("?{}", params.join("&"))
        };
        self.get_json(&format!("/v1/sales{q}")).await
    }

    /// Every sale the caller may read (of `financing`, if named): `GET /v1/sales` page by
    /// page to the last (at most [`MAX_LISTED`]).
    pub async fn sales(&self, financing: Option<&DocId>) -> Result<Vec<SaleView>, SdkError> {
        collect_pages("/v1/sales", None, MAX_LISTED, |after| async move {
            let p = self
                .sales_page(after.as_ref(), Some(MAX_PAGE), financing)
                .await?;
            Ok((p.items, p.next))
        })
        .await
    }

    /// `GET /v1/sales/{id}`: a sale with the face sold and whether its offer lapsed.
    pub async fn sale(&self, id: &DocId) -> Result<SaleView, SdkError> {
        self.get_json(&format!("/v1/sales/{id}")).await
    }
}

impl Signer {
    /// Offers `financing` (the funding bank's, disbursed) to `buyer` at `price`: the
    /// whole, or `part` of its receivable's face (split off when the buyer accepts);
    /// amounts in the receivable's currency; valid through `valid_until`.
    pub async fn offer_sale(
        &self,
        financing: DocId,
        buyer: OrgId,
        part: Option<Amount>,
        price: Amount,
        valid_until: NaiveDate,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::OfferSale {
            financing,
            buyer,
            part,
            price,
            valid_until,
        })
        .await
    }

    /// Accepts a sale offered to the signer's bank: it becomes the funder and holder.
    pub async fn accept_sale(&self, sale: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::AcceptSale { sale }).await
    }

    /// Declines a sale offered to the signer's bank.
    pub async fn decline_sale(&self, sale: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::DeclineSale { sale }).await
    }

    /// Withdraws the signer's bank's unanswered sale.
    pub async fn withdraw_sale(&self, sale: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::WithdrawSale { sale }).await
    }

    /// Instructs the payment of a bought sale's price (the buyer).
    pub async fn pay_sale(&self, sale: DocId, payment_ref: String) -> Result<Committed, SdkError> {
        self.submit(Action::PaySale { sale, payment_ref }).await
    }

    /// Acknowledges receiving the price (the seller).
    pub async fn acknowledge_sale_payment(&self, sale: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::AcknowledgeSalePayment { sale }).await
    }

    /// Disputes the price payment (the seller); the buyer may pay again.
    pub async fn dispute_sale_payment(
        &self,
        sale: DocId,
        reason: String,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::DisputeSalePayment { sale, reason })
            .await
    }
}
