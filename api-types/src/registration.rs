//! The registration record of a disbursed financing, in the fields of the PBoC
//! credit-reference centre's movable-property financing registry (中登网, 动产融资统一
//! 登记公示系统), where 银发〔2025〕77号 requires financing of e-receivable certificates
//! to be registered: an initial registration of a receivable transfer (应收账款转让)
//! from the supplier to the funding bank. Built from ledger documents only, so the CLI
//! (`lianrong financing registration`, JSON or CSV) and the explorer print the same
//! record; the bank files it with the registry and records the number it gets back
//! (`record_registration`).

use chrono::{Datelike, NaiveDate};
use lianrong_contracts::model::{Financing, Invoice, Org, Receivable};
use serde::{Deserialize, Serialize};

/// The registry's registration type for a factoring-style assignment.
pub const REGISTRATION_TYPE: &str = "应收账款转让 (receivable transfer)";

/// Longest term the registry accepts, in months (30 years).
const MAX_TERM_MONTHS: u32 = 360;

/// Why a record cannot be made from the documents given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The financing was not disbursed: nothing was transferred yet.
    #[error("financing {0} is not disbursed: there is no transfer to register yet")]
    NotDisbursed(String),
    /// The documents do not belong together.
    #[error("{0}")]
    Mismatch(String),
}

/// One registration, flat (one CSV row), the registry's field names in the comments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationRecord {
    /// 登记类型.
    pub registration_type: String,
    /// 登记期限 (months, 1-360): from the value date to the receivable's maturity,
    /// rounded up to whole months.
    pub term_months: u32,
    /// 出让人 (the supplier): name.
    pub transferor_name: String,
    /// 出让人统一社会信用代码.
    pub transferor_credit_code: String,
    /// The transferor's ledger org id.
    pub transferor_org: String,
    /// 受让人 (the funding bank): name.
    pub transferee_name: String,
    /// 受让人统一社会信用代码.
    pub transferee_credit_code: String,
    /// The transferee's ledger org id.
    pub transferee_org: String,
    /// 债务人 (the core enterprise): name.
    pub debtor_name: String,
    /// 债务人统一社会信用代码.
    pub debtor_credit_code: String,
    /// 主合同金额: the face financed.
    pub contract_amount: String,
    /// Its currency (ISO 4217).
    pub currency: String,
    /// 主合同起始日: the disbursement's value date.
    pub contract_start: NaiveDate,
    /// 主合同到期日: the receivable's maturity.
    pub contract_end: NaiveDate,
    /// 转让财产描述.
    pub property_description: String,
    /// The financing on the ledger.
    pub financing: String,
    /// The receivable on the ledger.
    pub receivable: String,
    /// The ledger's chain id (where anyone can verify the receivable).
    pub chain_id: String,
    /// 登记证明编号, once the bank recorded it.
    pub registration_number: Option<String>,
}

/// The parties of a financing, as the ledger records them.
pub struct Parties<'a> {
    /// The applicant (transferor).
    pub supplier: &'a Org,
    /// The funding bank (transferee).
    pub bank: &'a Org,
    /// The receivable's debtor.
    pub debtor: &'a Org,
}

impl RegistrationRecord {
    /// The record of `f` (disbursed) on `r` issued from `invoice` (its root's invoice).
    pub fn build(
        chain_id: &str,
        f: &Financing,
        r: &Receivable,
        invoice: &Invoice,
        p: &Parties<'_>,
    ) -> Result<RegistrationRecord, RecordError> {
        let (Some(terms), Some(paid)) = (&f.terms, &f.disbursement) else {
            return Err(RecordError::NotDisbursed(f.id.to_string()));
        };
        if f.receivable != r.id || r.invoice != invoice.id {
            return Err(RecordError::Mismatch(format!(
                "financing {} is on {}, receivable {} from invoice {}; given invoice {}",
                f.id, f.receivable, r.id, r.invoice, invoice.id
            )));
        }
        let who = [
            (&p.supplier.id, &f.applicant, "supplier"),
            (&p.bank.id, &terms.bank, "bank"),
            (&p.debtor.id, &r.debtor, "debtor"),
        ];
        for (given, expected, role) in who {
            if given != expected {
                return Err(RecordError::Mismatch(format!(
                    "the {role} of {} is {expected}, not {given}",
                    f.id
                )));
            }
        }
        Ok(RegistrationRecord {
            registration_type: REGISTRATION_TYPE.into(),
            term_months: term_months(paid.value_date, r.maturity),
            transferor_name: p.supplier.name.clone(),
            transferor_credit_code: p.supplier.tax_id.clone(),
            transferor_org: p.supplier.id.to_string(),
            transferee_name: p.bank.name.clone(),
            transferee_credit_code: p.bank.tax_id.clone(),
            transferee_org: p.bank.id.to_string(),
            debtor_name: p.debtor.name.clone(),
            debtor_credit_code: p.debtor.tax_id.clone(),
            contract_amount: terms.face.to_fixed(),
            currency: terms.face.currency.to_string(),
            contract_start: paid.value_date,
            contract_end: r.maturity,
            property_description: describe(r, invoice, p.debtor),
            financing: f.id.to_string(),
            receivable: r.id.to_string(),
            chain_id: chain_id.into(),
            registration_number: f.registration.as_ref().map(|g| g.number.clone()),
        })
    }
}

/// 转让财产描述: what is transferred, precisely enough to find it on the ledger.
fn describe(r: &Receivable, invoice: &Invoice, debtor: &Org) -> String {
    format!(
        "Electronic receivable certificate {} (root {}), face {} {}, maturing {}, owed by {} \
         ({}), arising from invoice no. {} of {} for {} {}",
        r.id,
        r.root,
        r.face.to_fixed(),
        r.face.currency,
        r.maturity,
        debtor.name,
        debtor.tax_id,
        invoice.number,
        invoice.issue_date,
        invoice.amount.to_fixed(),
        invoice.amount.currency
    )
}

/// Whole months from `start` to `end`, rounded up, within the registry's 1..=360.
pub fn term_months(start: NaiveDate, end: NaiveDate) -> u32 {
    let months = (end.year() - start.year()) * 12 + end.month() as i32 - start.month() as i32;
    let whole = if end.day() > start.day() {
        months + 1
    } else {
        months
    };
    u32::try_from(whole).unwrap_or(0).clamp(1, MAX_TERM_MONTHS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn terms_round_up_to_whole_months_within_the_registrys_range() {
        assert_eq!(term_months(d("2026-01-15"), d("2026-04-15")), 3);
        assert_eq!(term_months(d("2026-01-15"), d("2026-04-16")), 4);
        assert_eq!(term_months(d("2026-01-31"), d("2026-02-28")), 1);
        assert_eq!(term_months(d("2026-01-15"), d("2026-01-20")), 1);
        assert_eq!(term_months(d("2026-01-15"), d("2026-01-10")), 1);
        assert_eq!(term_months(d("2026-01-15"), d("2060-01-15")), 360);
    }
}
