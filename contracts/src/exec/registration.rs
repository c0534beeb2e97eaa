//! Registration of financings in the PBoC credit-reference centre's movable-property
//! financing registry (中登网): 银发〔2025〕77号 requires a financing of e-receivable
//! certificates to be registered there. The registry is outside the ledger; the funding
//! bank registers the disbursed financing and records the registration number here, once,
//! so every party (and the explorer's risk view) sees which financings are registered.

use super::{status_err, Ctx};
use crate::error::{ContractError, DocKind, ExecError};
use crate::events::Event;
use crate::model::{DocId, FinancingStatus, Registration};
use crate::state::{keys, StateView};

/// Longest registration number accepted.
pub const MAX_REGISTRATION_NUMBER: usize = 64;

/// The funding bank records `number` on a disbursed (or since repaid) financing.
pub fn record(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    fid: &DocId,
    number: &str,
) -> Result<Vec<Event>, ExecError> {
    let (mut f, _) = super::financing::load_funded(ctx, st, fid)?;
    if !matches!(
        f.status,
        FinancingStatus::Disbursed | FinancingStatus::Closed
    ) {
        return Err(status_err(
            DocKind::Financing,
            fid,
            f.status,
            "disbursed or closed",
        ));
    }
    check_number(number)?;
    if let Some(r) = &f.registration {
        return Err(ContractError::InvalidField {
            field: "number".into(),
            reason: format!(
                "{fid} is already registered as {} (recorded {}); a registration is recorded once",
                r.number, r.recorded_on
            ),
        }
        .into());
    }
    f.registration = Some(Registration {
        number: number.to_string(),
        recorded_on: ctx.today,
    });
    st.store(keys::doc(DocKind::Financing, fid.as_str()), &f);
    Ok(vec![Event::FinancingRegistered {
        financing: fid.clone(),
        number: number.to_string(),
    }])
}

/// 1-64 ASCII letters, digits and dashes: what registry numbers are made of, nothing a
/// lookalike character could hide in.
fn check_number(number: &str) -> Result<(), ContractError> {
    let ok = !number.is_empty()
        && number.len() <= MAX_REGISTRATION_NUMBER
        && number
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ContractError::InvalidField {
            field: "number".into(),
            reason: format!(
                "{number:?}: a registration number is 1-{MAX_REGISTRATION_NUMBER} ASCII letters, digits and dashes"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_numbers_are_plain_ascii() {
        assert!(check_number("05383857000123456789").is_ok());
        assert!(check_number("ZD-2026-0001").is_ok());
        for bad in ["", "0538 3857", "０５３８", "A/B", &"9".repeat(65)] {
            assert!(check_number(bad).is_err(), "{bad:?} accepted");
        }
    }
}
