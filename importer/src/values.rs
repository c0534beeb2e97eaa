//! Value rules shared by the UBL and CSV parsers: dates, currencies, payable amounts.

use chrono::NaiveDate;
use lianrong_contracts::money::{Amount, Currency, Money, MoneyError};
use rust_decimal::Decimal;

use super::error::ImportError;

/// Parses `YYYY-MM-DD` exactly: Peppol forbids time zones on dates, and a lenient parse
/// could shift an invoice into another day and so change its fingerprint.
pub(crate) fn parse_date(element: &str, text: &str) -> Result<NaiveDate, ImportError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(ImportError::Missing {
            element: element.into(),
        });
    }
    let shape_ok = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shape_ok {
        return Err(ImportError::invalid(
            element,
            s,
            "is not a date (use YYYY-MM-DD)",
        ));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| ImportError::invalid(element, s, "is not a calendar date"))
}

/// Looks up an ISO 4217 code the network supports.
pub(crate) fn parse_currency(element: &str, text: &str) -> Result<Currency, ImportError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(ImportError::Missing {
            element: element.into(),
        });
    }
    Currency::new(s).map_err(|_| ImportError::invalid(element, s, "is not a supported currency"))
}

/// Parses a payable amount written as an `xsd:decimal` (optional sign, digits, optional
/// point) in `currency`. Zero and negative amounts are refused with `NotPositive` rather
/// than as unreadable, because that is what the user needs to hear; more decimal places
/// than the currency's minor unit are refused, never rounded.
pub(crate) fn parse_payable(
    element: &str,
    text: &str,
    currency: Currency,
) -> Result<Money, ImportError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(ImportError::Missing {
            element: element.into(),
        });
    }
    let (negative, digits) = if let Some(rest) = s.strip_prefix('-') {
        (true, rest)
    } else {
        (false, s.strip_prefix('+').unwrap_or(s))
    };
    let amount = Amount::parse(digits).map_err(|_| {
        ImportError::invalid(
            element,
            s,
            "is not a decimal number (digits with an optional '.')",
        )
    })?;
    if negative || amount.is_zero() {
        return Err(ImportError::NotPositive {
            element: element.into(),
            value: super::error::clip(s),
        });
    }
    let money = Money { amount, currency };
    // No cap here: the network's cap is a ledger parameter, checked when registering.
    let no_cap = Amount::from_decimal(Decimal::MAX).unwrap_or(amount);
    match money.validate(no_cap) {
        Ok(()) => Ok(money),
        Err(MoneyError::TooManyDecimals { minor_units, .. }) => Err(ImportError::invalid(
            element,
            s,
            format!("has more than {minor_units} decimal places for {currency}"),
        )),
        Err(e) => Err(ImportError::invalid(element, s, e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::new("EUR").unwrap()
    }

    #[test]
    fn dates_must_be_plain_iso() {
        assert_eq!(
            parse_date("d", " 2017-11-13 ").unwrap(),
            NaiveDate::from_ymd_opt(2017, 11, 13).unwrap()
        );
        for bad in [
            "2017-11-13Z",
            "2017-1-13",
            "13.11.2017",
            "2017-02-30",
            "２０１７-11-13",
        ] {
            assert!(parse_date("d", bad).is_err(), "{bad} accepted");
        }
        assert!(matches!(
            parse_date("d", ""),
            Err(ImportError::Missing { .. })
        ));
    }

    #[test]
    fn payable_amounts_are_positive_exact_decimals() {
        assert_eq!(
            parse_payable("p", "1656.25", eur()).unwrap().to_fixed(),
            "1656.25"
        );
        assert_eq!(
            parse_payable("p", "+25", eur()).unwrap().to_fixed(),
            "25.00"
        );
        for z in ["0", "0.00", "-0.00", "-1656.25", "-1"] {
            assert!(
                matches!(
                    parse_payable("p", z, eur()),
                    Err(ImportError::NotPositive { .. })
                ),
                "{z}"
            );
        }
        for bad in ["1e3", "1,000.00", "abc", "--1", "1.005", ".5"] {
            assert!(
                matches!(
                    parse_payable("p", bad, eur()),
                    Err(ImportError::Invalid { .. })
                ),
                "{bad}"
            );
        }
    }
}
