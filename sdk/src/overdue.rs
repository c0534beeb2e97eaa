//! Overdue and default (docs/domain.md, "Overdue and default"): an offer naming its
//! penalty rate and recourse; the supplier's buy-back of an overdue financing with
//! recourse and the bank's answer; the bank's write-off of one without. The read is
//! `GET /v1/financings/{id}` whole, with its figures as of the ledger's date.

use chrono::NaiveDate;
use lianrong_api_types::FinancingView;
use lianrong_contracts::model::DocId;
use lianrong_contracts::money::{Amount, Rate};
use lianrong_contracts::Action;

use crate::client::Client;
use crate::committed::Committed;
use crate::error::SdkError;
use crate::signer::Signer;

impl Client {
    /// `GET /v1/financings/{id}` whole: the financing with its overdue figures (days past
    /// due, outstanding advance, penalty, the claim a buy-back pays or a write-off
    /// writes off) as of the ledger's date, once it went overdue.
    pub async fn financing_view(&self, id: &DocId) -> Result<FinancingView, SdkError> {
        self.get_json(&format!("/v1/financings/{id}")).await
    }
}

impl Signer {
    /// Offers like [`Signer::offer_financing`] and names the default terms: the annual
    /// penalty rate on an overdue financing (ACT/360 by default: 18 is 0.05 % a day) and
    /// whether the bank keeps recourse (an invited bank; under a programme both must be
    /// the programme's).
    pub async fn offer_financing_with_terms(
        &self,
        financing: DocId,
        (rate, fees, valid_until): (Rate, Amount, NaiveDate),
        penalty_rate: Rate,
        recourse: bool,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::OfferFinancingWithTerms {
            financing,
            rate,
            fees,
            valid_until,
            penalty_rate,
            recourse,
        })
        .await
    }

    /// Buys back an overdue financing with recourse (its applicant): `amount` must be
    /// the claim as of today ([`Client::financing_view`]'s `overdue_figures.claim`);
    /// nothing moves until the bank acknowledges it.
    pub async fn instruct_buyback(
        &self,
        financing: DocId,
        amount: Amount,
        payment_ref: String,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::InstructBuyback {
            financing,
            amount,
            payment_ref,
        })
        .await
    }

    /// Acknowledges the buy-back money (the funding bank): the receivable returns to the
    /// supplier and the financing closes.
    pub async fn acknowledge_buyback(&self, financing: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::AcknowledgeBuyback { financing }).await
    }

    /// Disputes the buy-back money (the funding bank); the supplier may instruct again.
    pub async fn dispute_buyback(
        &self,
        financing: DocId,
        reason: String,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::DisputeBuyback { financing, reason })
            .await
    }

    /// Writes off an overdue financing without recourse (the funding bank): `amount`
    /// must be the claim as of today; the reason is recorded.
    pub async fn write_off(
        &self,
        financing: DocId,
        amount: Amount,
        reason: String,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::WriteOff {
            financing,
            amount,
            reason,
        })
        .await
    }
}
