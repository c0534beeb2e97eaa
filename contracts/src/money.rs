//! Money: exact decimal amounts in an ISO 4217 currency, rates, day counts and the
//! discount formula. No floating point anywhere.
//!
//! Amounts travel as decimal strings (`"1000000.00"`) in JSON and in the binary codec,
//! parsed strictly: digits, at most one point, no sign, exponent, spaces or separators.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Why an amount, currency or rate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum MoneyError {
    /// Not a plain decimal number.
    #[error("{0:?} is not a decimal number (digits with an optional '.', no sign or exponent)")]
    NotANumber(String),
    /// Not an active ISO 4217 currency code.
    #[error(
        "unsupported currency {0:?}: use an active ISO 4217 code such as CNY, USD, EUR or NOK"
    )]
    UnsupportedCurrency(String),
    /// More decimal places than the currency's minor unit.
    #[error("{amount} {currency} has more than {minor_units} decimal places")]
    TooManyDecimals {
        /// The amount as given.
        amount: String,
        /// Its currency.
        currency: String,
        /// The currency's minor units.
        minor_units: u32,
    },
    /// Zero or negative where a positive amount is needed.
    #[error("amount must be positive, got {0}")]
    NotPositive(String),
    /// Above the network's cap for a single amount.
    #[error("amount {amount} exceeds the cap of {cap}")]
    AboveCap {
        /// The amount.
        amount: String,
        /// The cap.
        cap: String,
    },
    /// Two amounts in different currencies were combined.
    #[error("currency mismatch: {expected} expected, got {got}")]
    CurrencyMismatch {
        /// The currency required.
        expected: String,
        /// The currency given.
        got: String,
    },
    /// A rate outside 0..=100 percent or with more than 6 decimal places.
    #[error("invalid rate {0}: use a percentage from 0 to 100 with at most 6 decimals")]
    InvalidRate(String),
    /// The computation left the representable range.
    #[error("arithmetic overflow")]
    Overflow,
}

/// Most characters accepted in an amount string: longer is never a real amount.
const MAX_AMOUNT_CHARS: usize = 40;

/// Parses a plain non-negative decimal string exactly (no rounding).
fn parse_plain_decimal(s: &str) -> Result<Decimal, MoneyError> {
    let bad = || MoneyError::NotANumber(s.chars().take(MAX_AMOUNT_CHARS).collect());
    if s.is_empty() || s.len() > MAX_AMOUNT_CHARS {
        return Err(bad());
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return Err(bad());
    }
    Decimal::from_str_exact(s).map_err(|_| bad())
}

/// A non-negative exact decimal amount. Its scale (decimal places) is kept as written, so
/// validation can refuse `1.005 CNY`; compare values with `==` (scale-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(Decimal);

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(Decimal::ZERO);

    /// Parses a plain decimal string such as `"1000000.00"`.
    pub fn parse(s: &str) -> Result<Self, MoneyError> {
        parse_plain_decimal(s).map(Amount)
    }

    /// A whole number of currency units (never fails: `u64` fits a decimal exactly).
    pub const fn whole(n: u64) -> Amount {
        Amount(Decimal::from_parts(n as u32, (n >> 32) as u32, 0, false, 0))
    }

    /// Wraps a decimal; negative values are refused.
    pub fn from_decimal(d: Decimal) -> Result<Self, MoneyError> {
        if d.is_sign_negative() && !d.is_zero() {
            return Err(MoneyError::NotPositive(d.to_string()));
        }
        Ok(Amount(d))
    }

    /// The decimal value.
    pub fn value(&self) -> Decimal {
        self.0
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// `self + other`, or `Overflow`.
    pub fn checked_add(self, other: Amount) -> Result<Amount, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Amount)
            .ok_or(MoneyError::Overflow)
    }

    /// `self - other`; `None` when it would go below zero.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        let d = self.0.checked_sub(other.0)?;
        (!d.is_sign_negative() || d.is_zero()).then_some(Amount(d))
    }

    /// The amount written with exactly `places` decimals (for fingerprints and display).
    pub fn to_fixed(&self, places: u32) -> String {
        let mut d = self.0;
        d.rescale(places);
        d.to_string()
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Amount::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An active ISO 4217 currency, with its minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency {
    code: &'static str,
    minor_units: u32,
}

impl Currency {
    /// Looks up an ISO 4217 code such as `"CNY"` or `"NOK"`: every active currency of the
    /// standard's table (kept by the `iso_currency` crate, pinned to one version because
    /// the table is a consensus rule), not funds (`BOV`), metals and other special units
    /// (`XAU`, `XDR`), or superseded codes (`HRK`).
    pub fn new(code: &str) -> Result<Self, MoneyError> {
        let unsupported = || MoneyError::UnsupportedCurrency(code.chars().take(8).collect());
        let c = iso_currency::Currency::from_code(code).ok_or_else(unsupported)?;
        if c.is_fund() || c.is_special() || c.is_superseded().is_some() {
            return Err(unsupported());
        }
        let minor_units = c.exponent().ok_or_else(unsupported)?;
        Ok(Currency {
            code: c.code(),
            minor_units: u32::from(minor_units),
        })
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        self.code
    }

    /// Decimal places of the minor unit (2 for CNY, 0 for JPY).
    pub fn minor_units(&self) -> u32 {
        self.minor_units
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Currency::new(&s).map_err(serde::de::Error::custom)
    }
}

/// An amount in a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// The amount.
    pub amount: Amount,
    /// Its currency.
    pub currency: Currency,
}

impl Money {
    /// Parses an amount string in the currency with code `currency`.
    pub fn parse(amount: &str, currency: &str) -> Result<Self, MoneyError> {
        Ok(Money {
            amount: Amount::parse(amount)?,
            currency: Currency::new(currency)?,
        })
    }

    /// Checks the rules every amount on the ledger obeys: positive, no more decimals than
    /// the currency's minor unit, and at most `cap`.
    pub fn validate(&self, cap: Amount) -> Result<(), MoneyError> {
        if self.amount.is_zero() {
            return Err(MoneyError::NotPositive(self.amount.to_string()));
        }
        if self.amount.0.scale() > self.currency.minor_units {
            // `1.50` has scale 2 but `1.500` has scale 3: refuse only real extra precision.
            let normalized = self.amount.0.normalize();
            if normalized.scale() > self.currency.minor_units {
                return Err(MoneyError::TooManyDecimals {
                    amount: self.amount.to_string(),
                    currency: self.currency.to_string(),
                    minor_units: self.currency.minor_units,
                });
            }
        }
        if self.amount > cap {
            return Err(MoneyError::AboveCap {
                amount: self.amount.to_string(),
                cap: cap.to_string(),
            });
        }
        Ok(())
    }

    /// Requires `other` to be in the same currency.
    pub fn same_currency(&self, other: Currency) -> Result<(), MoneyError> {
        if self.currency == other {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                expected: self.currency.to_string(),
                got: other.to_string(),
            })
        }
    }

    /// The amount rounded to the currency's minor unit, as text (`"9125.00"`).
    pub fn to_fixed(&self) -> String {
        self.amount.to_fixed(self.currency.minor_units)
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.to_fixed(), self.currency)
    }
}

/// An annual rate in percent (`"3.65"` is 3.65 % a year), 0 to 100, at most 6 decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rate(Decimal);

impl Rate {
    /// Parses a percentage such as `"3.65"`.
    pub fn parse(s: &str) -> Result<Self, MoneyError> {
        let d = parse_plain_decimal(s)
            .map_err(|_| MoneyError::InvalidRate(s.chars().take(20).collect()))?;
        if d > Decimal::ONE_HUNDRED || d.normalize().scale() > 6 {
            return Err(MoneyError::InvalidRate(s.to_string()));
        }
        Ok(Rate(d))
    }

    /// The percentage.
    pub fn percent(&self) -> Decimal {
        self.0
    }

    /// Zero percent (a term that charges nothing).
    pub fn zero() -> Rate {
        Rate(Decimal::ZERO)
    }

    /// A daily percentage as the annual rate of `day_count` (0.05 a day is 18 under
    /// ACT/360), exactly; refused above 100 % a year.
    pub fn from_daily(daily: Rate, day_count: DayCount) -> Result<Rate, MoneyError> {
        let annual = daily
            .0
            .checked_mul(Decimal::from(day_count.basis()))
            .ok_or(MoneyError::Overflow)?;
        Rate::parse(&annual.normalize().to_string())
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}%", self.0)
    }
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Rate::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Most decimal places of a [`Quantity`] (a gram of a tonne, a litre of a cubic metre).
pub const QUANTITY_DECIMALS: u32 = 3;
/// Largest [`Quantity`] accepted (10^12 units of anything).
pub const MAX_QUANTITY: u64 = 1_000_000_000_000;

/// Why a quantity or unit of goods was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum GoodsError {
    /// Not a positive decimal with at most 3 places up to 10^12.
    #[error("invalid quantity {0:?}: use a positive decimal number up to 1000000000000 with at most 3 decimals (e.g. 200 or 12.5)")]
    Quantity(String),
    /// Not 1-8 ASCII letters and digits.
    #[error("invalid unit {0:?}: use 1-8 ASCII letters or digits (t, kg, pcs, m3)")]
    Unit(String),
}

/// An exact quantity of goods: positive, at most [`QUANTITY_DECIMALS`] decimals, at most
/// [`MAX_QUANTITY`]. Every value of this type obeys that (parsing and decoding refuse
/// anything else), so a receipt never carries a quantity a price cannot multiply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(Decimal);

impl Quantity {
    /// Parses a plain decimal string such as `"200"` or `"12.345"`.
    pub fn parse(s: &str) -> Result<Self, GoodsError> {
        let bad = || GoodsError::Quantity(s.chars().take(MAX_AMOUNT_CHARS).collect());
        let d = parse_plain_decimal(s).map_err(|_| bad())?;
        if d.is_zero()
            || d.normalize().scale() > QUANTITY_DECIMALS
            || d > Decimal::from(MAX_QUANTITY)
        {
            return Err(bad());
        }
        Ok(Quantity(d))
    }

    /// The decimal value.
    pub fn value(&self) -> Decimal {
        self.0
    }

    /// `self x price`, rounded half away from zero to the price currency's minor unit:
    /// the value of one receipt's goods (the only rounding in a goods value).
    pub fn value_at(&self, price: &Money) -> Result<Money, MoneyError> {
        let exact = self
            .0
            .checked_mul(price.amount.0)
            .ok_or(MoneyError::Overflow)?;
        let rounded = exact.round_dp_with_strategy(
            price.currency.minor_units,
            RoundingStrategy::MidpointAwayFromZero,
        );
        Ok(Money {
            amount: Amount(rounded),
            currency: price.currency,
        })
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Quantity::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The unit a quantity of goods is counted in: 1-8 ASCII letters and digits, kept in
/// lower case (`T` and `t` are one unit), e.g. `t`, `kg`, `pcs`, `m3`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Unit(String);

impl Unit {
    /// Parses and lower-cases a unit code.
    pub fn parse(s: &str) -> Result<Self, GoodsError> {
        if (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Unit(s.to_ascii_lowercase()))
        } else {
            Err(GoodsError::Unit(s.chars().take(16).collect()))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Unit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Unit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Unit::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The day-count convention for discounting (a network parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DayCount {
    /// Actual days over 360 (the default; usual for CNY discounting).
    Act360,
    /// Actual days over 365.
    Act365,
}

impl DayCount {
    /// The denominator in days.
    pub fn basis(&self) -> u32 {
        match self {
            DayCount::Act360 => 360,
            DayCount::Act365 => 365,
        }
    }
}

/// The discount on `face` at annual `rate` for `days` actual days:
/// `face x rate/100 x days / basis`, computed exactly and rounded half away from zero to
/// the currency's minor unit.
pub fn discount(
    face: &Money,
    rate: Rate,
    days: u32,
    day_count: DayCount,
) -> Result<Money, MoneyError> {
    // Multiply everything first and divide once, so the only rounding is the final one.
    let numerator = face
        .amount
        .0
        .checked_mul(rate.0)
        .and_then(|x| x.checked_mul(Decimal::from(days)))
        .ok_or(MoneyError::Overflow)?;
    let denominator = Decimal::from(100u32 * day_count.basis());
    let exact = numerator
        .checked_div(denominator)
        .ok_or(MoneyError::Overflow)?;
    let rounded = exact.round_dp_with_strategy(
        face.currency.minor_units,
        RoundingStrategy::MidpointAwayFromZero,
    );
    Ok(Money {
        amount: Amount(rounded),
        currency: face.currency,
    })
}

/// `share` percent of `amount`, computed exactly and rounded *down* to the currency's
/// minor unit: what a bank advances against a face at an advance ratio (it never
/// advances a fraction of a cent more than the ratio allows).
pub fn share_down(amount: &Money, share: Rate) -> Result<Money, MoneyError> {
    let exact = amount
        .amount
        .0
        .checked_mul(share.0)
        .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
        .ok_or(MoneyError::Overflow)?;
    let rounded =
        exact.round_dp_with_strategy(amount.currency.minor_units, RoundingStrategy::ToZero);
    Ok(Money {
        amount: Amount(rounded),
        currency: amount.currency,
    })
}

/// `percent` percent of `amount`, computed exactly and rounded half away from zero to the
/// currency's minor unit, like the discount: a fee quoted as a percentage.
pub fn percent_of(amount: &Money, percent: Rate) -> Result<Money, MoneyError> {
    let exact = amount
        .amount
        .0
        .checked_mul(percent.0)
        .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
        .ok_or(MoneyError::Overflow)?;
    let rounded = exact.round_dp_with_strategy(
        amount.currency.minor_units,
        RoundingStrategy::MidpointAwayFromZero,
    );
    Ok(Money {
        amount: Amount(rounded),
        currency: amount.currency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The finding: a Norwegian Peppol invoice in NOK was refused, eight currencies were
    /// hand-picked. Every active ISO 4217 code is known, with its minor units.
    #[test]
    fn every_active_iso_4217_currency_with_its_minor_units() {
        for (code, minor) in [
            ("CNY", 2),
            ("USD", 2),
            ("EUR", 2),
            ("HKD", 2),
            ("GBP", 2),
            ("SGD", 2),
            ("JPY", 0),
            ("KRW", 0),
            ("NOK", 2),
            ("CHF", 2),
            ("KWD", 3),
            ("BHD", 3),
            ("CLP", 0),
        ] {
            let c = Currency::new(code).unwrap();
            assert_eq!((c.code(), c.minor_units()), (code, minor), "{code}");
        }
        for refused in ["XAU", "XDR", "BOV", "HRK", "XXX", "cny", "ABC", ""] {
            assert!(Currency::new(refused).is_err(), "{refused:?} accepted");
        }
        let cap = Amount::whole(1_000_000);
        assert!(Money::parse("1.005", "KWD").unwrap().validate(cap).is_ok());
        assert!(
            Money::parse("1.005", "NOK").unwrap().validate(cap).is_err(),
            "three decimals in a two-decimal currency"
        );
    }

    #[test]
    fn whole_amounts_are_exact_across_the_u64_range() {
        for n in [0u64, 1, 100_000_000_000, u64::from(u32::MAX) + 1, u64::MAX] {
            assert_eq!(
                Amount::whole(n).value(),
                rust_decimal::Decimal::from(n),
                "{n}"
            );
        }
    }
    use proptest::prelude::*;

    fn cny(s: &str) -> Money {
        Money::parse(s, "CNY").unwrap()
    }

    fn cap() -> Amount {
        Amount::parse("100000000000").unwrap()
    }

    #[test]
    fn one_million_for_90_days_at_3_65_act360_is_9125() {
        let d = discount(
            &cny("1000000.00"),
            Rate::parse("3.65").unwrap(),
            90,
            DayCount::Act360,
        )
        .unwrap();
        assert_eq!(d.to_fixed(), "9125.00");
    }

    #[test]
    fn act365_gives_a_different_hand_checked_figure() {
        // 1,000,000 x 0.0365 x 90 / 365 = 9,000.00 exactly.
        let d = discount(
            &cny("1000000.00"),
            Rate::parse("3.65").unwrap(),
            90,
            DayCount::Act365,
        )
        .unwrap();
        assert_eq!(d.to_fixed(), "9000.00");
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        // 100.00 x 4.5% x 1/360 = 0.0125 -> 0.01; 333.33 x 5.4% x 10/360 = 0.499995 -> 0.50.
        let r = |s| Rate::parse(s).unwrap();
        assert_eq!(
            discount(&cny("100.00"), r("4.5"), 1, DayCount::Act360)
                .unwrap()
                .to_fixed(),
            "0.01"
        );
        assert_eq!(
            discount(&cny("333.33"), r("5.4"), 10, DayCount::Act360)
                .unwrap()
                .to_fixed(),
            "0.50"
        );
        // 1.00 x 18% x 1/360 = 0.0005 -> 0.00; 10.00 x 18% x 1/360 = 0.005 -> 0.01 (midpoint up).
        assert_eq!(
            discount(&cny("1.00"), r("18"), 1, DayCount::Act360)
                .unwrap()
                .to_fixed(),
            "0.00"
        );
        assert_eq!(
            discount(&cny("10.00"), r("18"), 1, DayCount::Act360)
                .unwrap()
                .to_fixed(),
            "0.01"
        );
    }

    #[test]
    fn yen_rounds_to_whole_units() {
        // 1,000,000 JPY x 1.5% x 30/360 = 1,250 exactly; 999,999 JPY -> 1,249.99875 -> 1,250.
        let jpy = |s| Money::parse(s, "JPY").unwrap();
        let r = Rate::parse("1.5").unwrap();
        assert_eq!(
            discount(&jpy("1000000"), r, 30, DayCount::Act360)
                .unwrap()
                .to_fixed(),
            "1250"
        );
        assert_eq!(
            discount(&jpy("999999"), r, 30, DayCount::Act360)
                .unwrap()
                .to_fixed(),
            "1250"
        );
    }

    #[test]
    fn amounts_with_too_many_decimals_are_rejected() {
        assert!(matches!(
            cny("1.005").validate(cap()),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        assert!(matches!(
            Money::parse("1.5", "JPY").unwrap().validate(cap()),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        // Trailing zeros are not extra precision.
        assert_eq!(cny("1.500").validate(cap()), Ok(()));
        assert_eq!(cny("12.34").validate(cap()), Ok(()));
    }

    #[test]
    fn zero_negative_and_capped_amounts_are_rejected() {
        assert!(matches!(
            cny("0.00").validate(cap()),
            Err(MoneyError::NotPositive(_))
        ));
        assert!(Amount::parse("-1.00").is_err());
        assert!(matches!(
            cny("100000000000.01").validate(cap()),
            Err(MoneyError::AboveCap { .. })
        ));
    }

    #[test]
    fn only_plain_decimals_parse() {
        for bad in [
            "", "1e3", "+1", " 1", "1 ", "1,000", "1_000", ".5", "5.", "0x10", "NaN", "1.2.3",
        ] {
            assert!(Amount::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert!(Currency::new("XXX").is_err());
        assert!(Rate::parse("100.5").is_err());
        assert!(Rate::parse("1.1234567").is_err());
    }

    #[test]
    fn codec_and_json_round_trip() {
        let m = cny("1234.50");
        let bytes = lianrong_primitives::encode(&m);
        assert_eq!(
            lianrong_primitives::decode::<Money>(&bytes, 100).unwrap(),
            m
        );
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"amount":"1234.50","currency":"CNY"}"#);
    }

    #[test]
    fn an_advance_rounds_down_and_a_percentage_fee_half_away_from_zero() {
        let r = |s| Rate::parse(s).unwrap();
        // 1,000,000.01 x 80% = 800,000.008 -> 800,000.00 (never a fraction more).
        assert_eq!(
            share_down(&cny("1000000.01"), r("80")).unwrap().to_fixed(),
            "800000.00"
        );
        assert_eq!(
            share_down(&cny("333.33"), r("100")).unwrap().to_fixed(),
            "333.33"
        );
        // 0.03 x 50% = 0.015 -> 0.01 down; the fee 0.015 -> 0.02 half away from zero.
        assert_eq!(
            share_down(&cny("0.03"), r("50")).unwrap().to_fixed(),
            "0.01"
        );
        assert_eq!(
            percent_of(&cny("0.03"), r("50")).unwrap().to_fixed(),
            "0.02"
        );
        // 800,000.00 x 0.125% = 1,000.00; 999,999 JPY x 0.15% = 1,499.9985 -> 1,500.
        assert_eq!(
            percent_of(&cny("800000.00"), r("0.125"))
                .unwrap()
                .to_fixed(),
            "1000.00"
        );
        let jpy = Money::parse("999999", "JPY").unwrap();
        assert_eq!(percent_of(&jpy, r("0.15")).unwrap().to_fixed(), "1500");
        assert_eq!(share_down(&jpy, r("99.99")).unwrap().to_fixed(), "999899");
    }

    #[test]
    fn quantities_are_positive_with_at_most_three_decimals_and_units_short_codes() {
        for ok in ["200", "12.345", "0.001", "1000000000000", "1.500"] {
            assert!(Quantity::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "0",
            "0.000",
            "1.2345",
            "-1",
            "1e3",
            "",
            "1000000000000.001",
            "1,5",
        ] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(Unit::parse("T").unwrap().as_str(), "t");
        assert_eq!(Unit::parse("m3").unwrap().as_str(), "m3");
        for bad in ["", "kg ", "metric-t", "abcdefghi", "吨"] {
            assert!(Unit::parse(bad).is_err(), "{bad:?} parsed");
        }
        // 12.345 t at 1,000.01 CNY/t = 12,345.123450 -> 12,345.12; 0.005 x 1.00 -> 0.01.
        let q = Quantity::parse("12.345").unwrap();
        assert_eq!(q.value_at(&cny("1000.01")).unwrap().to_fixed(), "12345.12");
        let half = Quantity::parse("0.005").unwrap();
        assert_eq!(half.value_at(&cny("1.00")).unwrap().to_fixed(), "0.01");
        let json = serde_json::to_string(&q).unwrap();
        assert_eq!(json, "\"12.345\"");
        assert!(serde_json::from_str::<Quantity>("\"0\"").is_err());
    }

    proptest! {
        #[test]
        fn discount_is_exact_for_whole_days(cents in 1u64..10_000_000_000_000, bp in 0u32..10_000, days in 0u32..3650) {
            let face = Money { amount: Amount(Decimal::new(cents as i64, 2)), currency: Currency::new("CNY").unwrap() };
            let rate = Rate(Decimal::new(bp as i64, 2));
            let d = discount(&face, rate, days, DayCount::Act360).unwrap();
            // The same figure in integer cents: cents x (bp / 10000) x days / 360.
            let num = cents as u128 * bp as u128 * days as u128;
            let denom = 10_000u128 * 360;
            let q = num / denom;
            let r = num % denom;
            let expected = if r * 2 >= denom { q + 1 } else { q };
            prop_assert_eq!(d.amount.0, Decimal::from_i128_with_scale(expected as i128, 2));
        }
    }
}
