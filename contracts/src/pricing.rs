//! The all-in annualised cost of a financing to the supplier: the one figure every surface
//! (node API, SDK, CLI, explorer) shows for an offer, computed here once.
//!
//! A supplier compares a discounting offer with a loan rate. A loan of `net` for `days`
//! at simple interest `r` costs `net x r x days / basis`; so the rate that makes the
//! offer's whole cost (discount + fees) equal such a loan's interest on the money actually
//! received is
//!
//! ```text
//! all-in % p.a. = (discount + fees) / net x basis / days x 100,   net = face - discount - fees
//! ```
//!
//! with `days` the actual days from the value date to maturity and `basis` the year of the
//! day count in force (360 for ACT/360, 365 for ACT/365), the same `days` and `basis` the
//! discount itself is counted with ([`crate::money::discount`]). The discount is the
//! ledger's rounded figure (what is really kept back), not the unrounded product. The
//! result is rounded once, exactly (integer quotient and remainder, no intermediate
//! rounding), to 4 decimals of a percent, half away from zero: `3.6836` means 3.6836 % a
//! year.
//!
//! Pure arithmetic: no state, no clock; replicated code may call it, and clients must (so
//! the figure is the same everywhere).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::{discount, Amount, DayCount, Money, MoneyError, Rate};

/// Decimals of a percent the all-in cost is given to.
pub const ALL_IN_DECIMALS: u32 = 4;

/// Why an all-in cost could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    /// No days between the value date and maturity: nothing to annualise.
    #[error("no days from the value date to maturity: an all-in rate needs at least one day")]
    NoDays,
    /// Discount and fees take the whole face: nothing is received to put the cost over.
    #[error("discount {discount} and fees {fees} leave nothing of the face {face}")]
    NothingReceived {
        /// The discount.
        discount: String,
        /// The fees.
        fees: String,
        /// The face.
        face: String,
    },
    /// The amounts are in different currencies.
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// An annualised cost in percent a year, exact to [`ALL_IN_DECIMALS`] decimals. Written
/// as `3.6836 % p.a.`; travels as the decimal string `"3.6836"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AllIn(Decimal);

impl AllIn {
    /// The percentage a year (`3.6836`).
    pub fn percent(&self) -> Decimal {
        self.0
    }

    /// Wraps a percentage, rounded to [`ALL_IN_DECIMALS`] half away from zero.
    pub fn from_percent(p: Decimal) -> AllIn {
        let mut d = p.round_dp_with_strategy(
            ALL_IN_DECIMALS,
            rust_decimal::RoundingStrategy::MidpointAwayFromZero,
        );
        d.rescale(ALL_IN_DECIMALS);
        AllIn(d)
    }

    /// `self - other` in percentage points (exact: both have 4 decimals).
    pub fn points_above(&self, other: Decimal) -> Option<Decimal> {
        self.0.checked_sub(other)
    }
}

impl std::fmt::Display for AllIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} % p.a.", self.0)
    }
}

impl Serialize for AllIn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for AllIn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let p = Decimal::from_str_exact(&s)
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a percentage")))?;
        Ok(AllIn::from_percent(p))
    }
}

/// `num / den` rounded to `places` decimals, half away from zero, exactly: both scaled to
/// integers, one integer division and its remainder decide. `None` on overflow or a zero
/// denominator. (A decimal division would round at 28 digits first.)
pub fn exact_ratio(num: Decimal, den: Decimal, places: u32) -> Option<Decimal> {
    let scale = num.scale().max(den.scale());
    let int = |d: Decimal| -> Option<i128> {
        let mut d = d;
        d.rescale(scale);
        (d.scale() == scale).then(|| d.mantissa())
    };
    let (n, d) = (int(num)?, int(den)?);
    let n = n.checked_mul(10i128.checked_pow(places)?)?;
    if d == 0 {
        return None;
    }
    let (q, r) = (n.checked_div(d)?, n.checked_rem(d)?);
    // Half away from zero: |2r| >= |d| moves the quotient one unit away from zero.
    let away = r.checked_mul(2)?.unsigned_abs() >= d.unsigned_abs();
    let negative = (n < 0) != (d < 0);
    let q = match (away, negative) {
        (false, _) => q,
        (true, false) => q.checked_add(1)?,
        (true, true) => q.checked_sub(1)?,
    };
    Decimal::try_from_i128_with_scale(q, places).ok()
}

/// The all-in annualised cost of receiving `face - discount - fees` now for `face` paid at
/// maturity `days` later, under `day_count` (see the module's formula).
pub fn all_in_cost(
    face: &Money,
    discount: &Money,
    fees: &Money,
    days: u32,
    day_count: DayCount,
) -> Result<AllIn, PricingError> {
    face.same_currency(discount.currency)?;
    face.same_currency(fees.currency)?;
    if days == 0 {
        return Err(PricingError::NoDays);
    }
    let cost = discount.amount.checked_add(fees.amount)?;
    let net = face
        .amount
        .checked_sub(cost)
        .filter(|n| !n.is_zero())
        .ok_or_else(|| PricingError::NothingReceived {
            discount: discount.to_fixed(),
            fees: fees.to_fixed(),
            face: face.to_fixed(),
        })?;
    let per_year = cost
        .value()
        .checked_mul(Decimal::from(day_count.basis()))
        .and_then(|x| x.checked_mul(Decimal::ONE_HUNDRED))
        .ok_or(MoneyError::Overflow)?;
    let received_days = net
        .value()
        .checked_mul(Decimal::from(days))
        .ok_or(MoneyError::Overflow)?;
    exact_ratio(per_year, received_days, ALL_IN_DECIMALS)
        .map(AllIn::from_percent)
        .ok_or(PricingError::Money(MoneyError::Overflow))
}

/// The figures of financing `face` at `rate` with `fees` for `days`: the ledger's discount,
/// the net received and the all-in cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// Actual days from the value date to maturity.
    pub days: u32,
    /// The discount ([`crate::money::discount`]).
    pub discount: Money,
    /// Face - discount - fees.
    pub net: Money,
    /// The all-in annualised cost.
    pub all_in: AllIn,
}

/// Prices `face` at `rate` with `fees` for `days` under `day_count`, as the ledger does.
pub fn quote(
    face: &Money,
    rate: Rate,
    fees: &Money,
    days: u32,
    day_count: DayCount,
) -> Result<Quote, PricingError> {
    let disc = discount(face, rate, days, day_count)?;
    let all_in = all_in_cost(face, &disc, fees, days, day_count)?;
    // all_in_cost checked that something is left.
    let net = face
        .amount
        .checked_sub(disc.amount)
        .and_then(|n| n.checked_sub(fees.amount))
        .ok_or(MoneyError::Overflow)?;
    Ok(Quote {
        days,
        discount: disc,
        net: Money {
            amount: net,
            currency: face.currency,
        },
        all_in,
    })
}

/// The `weight`-weighted average of all-in costs, rounded like each of them (exactly, to
/// 4 decimals, half away from zero); `None` for no weight at all or on overflow.
pub fn weighted_all_in(items: &[(Amount, AllIn)]) -> Option<AllIn> {
    let mut num = Decimal::ZERO;
    let mut den = Decimal::ZERO;
    for (w, a) in items {
        num = num.checked_add(w.value().checked_mul(a.percent())?)?;
        den = den.checked_add(w.value())?;
    }
    if den.is_zero() {
        return None;
    }
    exact_ratio(num, den, ALL_IN_DECIMALS).map(AllIn::from_percent)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn cny(s: &str) -> Money {
        Money::parse(s, "CNY").unwrap()
    }

    fn rate(s: &str) -> Rate {
        Rate::parse(s).unwrap()
    }

    fn pct(q: &Quote) -> String {
        q.all_in.percent().to_string()
    }

    /// 1,000,000.00 at 4.35 % for 90 days ACT/360, fees 500.00: discount
    /// 1,000,000 x 4.35 % x 90/360 = 10,875.00; cost 11,375.00; net 988,625.00;
    /// all-in = 11,375 / 988,625 x 360/90 x 100 = 36,400/7,909 = 4.602351... -> 4.6024.
    #[test]
    fn the_worked_example_act360_with_fees() {
        let q = quote(
            &cny("1000000.00"),
            rate("4.35"),
            &cny("500.00"),
            90,
            DayCount::Act360,
        )
        .unwrap();
        assert_eq!(q.discount.to_fixed(), "10875.00");
        assert_eq!(q.net.to_fixed(), "988625.00");
        assert_eq!(pct(&q), "4.6024");
        assert_eq!(q.all_in.to_string(), "4.6024 % p.a.");
    }

    /// ACT/365: 1,000,000.00 at 3.65 % for 90 days = 9,000.00; fees 500.00; net 990,500.00;
    /// all-in = 9,500 / 990,500 x 365/90 x 100 = 69,350/17,829 = 3.889730... -> 3.8897.
    #[test]
    fn act365_uses_a_365_day_year() {
        let q = quote(
            &cny("1000000.00"),
            rate("3.65"),
            &cny("500.00"),
            90,
            DayCount::Act365,
        )
        .unwrap();
        assert_eq!(q.discount.to_fixed(), "9000.00");
        assert_eq!(pct(&q), "3.8897");
    }

    /// Without fees the all-in is still above the discount rate: the discount is taken
    /// from the face, so it is paid on money never received. 400,000.00 at 3.65 % for
    /// 90 days: 3,650.00 over 396,350.00 x 4 = 29,200/7,927 = 3.683612... -> 3.6836;
    /// and 1,000,000.00 at 4.35 %: 10,875 / 989,125 x 4 = 34,800/7,913 -> 4.3978.
    #[test]
    fn zero_fees() {
        let q = quote(
            &cny("400000.00"),
            rate("3.65"),
            &cny("0.00"),
            90,
            DayCount::Act360,
        )
        .unwrap();
        assert_eq!(
            (q.discount.to_fixed(), pct(&q)),
            ("3650.00".into(), "3.6836".into())
        );
        let q = quote(
            &cny("1000000.00"),
            rate("4.35"),
            &cny("0"),
            90,
            DayCount::Act360,
        )
        .unwrap();
        assert_eq!(pct(&q), "4.3978");
        // The losing offer of the story: 4.20 % and 200.00 fees: 4,400 / 395,600 x 4
        // = 4,400/989 = 4.448938... -> 4.4489.
        let q = quote(
            &cny("400000.00"),
            rate("4.20"),
            &cny("200.00"),
            90,
            DayCount::Act360,
        )
        .unwrap();
        assert_eq!(pct(&q), "4.4489");
    }

    /// One day: 100.00 at 18 % ACT/360 is 0.05 discount; 0.05 / 99.95 x 360 x 100
    /// = 36,000/1,999 = 18.009004... -> 18.0090. Flat fees over one day annualise to a
    /// large figure, which is the truth the supplier should see (above 100 % too).
    #[test]
    fn tiny_tenors() {
        let q = quote(
            &cny("100.00"),
            rate("18"),
            &cny("0.00"),
            1,
            DayCount::Act360,
        )
        .unwrap();
        assert_eq!(
            (q.discount.to_fixed(), pct(&q)),
            ("0.05".into(), "18.0090".into())
        );
        // 1.00 fee on 1,000.00 for one day: 1 / 999 x 360 x 100 = 36.036036... -> 36.0360.
        let q = quote(
            &cny("1000.00"),
            rate("0"),
            &cny("1.00"),
            1,
            DayCount::Act360,
        )
        .unwrap();
        assert_eq!(pct(&q), "36.0360");
        // 10.00 fee on 100.00 for one day ACT/365: 10 / 90 x 365 x 100 = 4,055.5555... -> 4,055.5556.
        let q = quote(
            &cny("100.00"),
            rate("0"),
            &cny("10.00"),
            1,
            DayCount::Act365,
        )
        .unwrap();
        assert_eq!(pct(&q), "4055.5556");
        // Zero cost is zero, written with four decimals.
        let q = quote(
            &cny("100.00"),
            rate("0"),
            &cny("0.00"),
            30,
            DayCount::Act360,
        )
        .unwrap();
        assert_eq!(pct(&q), "0.0000");
    }

    #[test]
    fn no_days_nothing_received_and_mixed_currencies_are_refused() {
        let r = quote(&cny("100.00"), rate("3"), &cny("0.00"), 0, DayCount::Act360);
        assert_eq!(r, Err(PricingError::NoDays));
        let r = quote(
            &cny("100.00"),
            rate("0"),
            &cny("100.00"),
            30,
            DayCount::Act360,
        );
        assert!(
            matches!(r, Err(PricingError::NothingReceived { .. })),
            "{r:?}"
        );
        let usd = Money::parse("1.00", "USD").unwrap();
        let r = all_in_cost(&cny("100.00"), &cny("1.00"), &usd, 30, DayCount::Act360);
        assert!(matches!(
            r,
            Err(PricingError::Money(MoneyError::CurrencyMismatch { .. }))
        ));
    }

    /// Rounding is exact half away from zero at the fourth decimal: 1/8 % = 0.125 is
    /// exact, 1/16 = 0.0625 -> 0.0625, 1/32 = 0.03125 -> 0.0313, 2/3 -> 0.6667.
    #[test]
    fn exact_ratio_rounds_half_away_from_zero() {
        let d = |s: &str| Decimal::from_str_exact(s).unwrap();
        assert_eq!(exact_ratio(d("1"), d("32"), 4), Some(d("0.0313")));
        assert_eq!(exact_ratio(d("1"), d("16"), 4), Some(d("0.0625")));
        assert_eq!(exact_ratio(d("2"), d("3"), 4), Some(d("0.6667")));
        assert_eq!(exact_ratio(d("-1"), d("32"), 4), Some(d("-0.0313")));
        assert_eq!(exact_ratio(d("1.5"), d("0.25"), 4), Some(d("6.0000")));
        assert_eq!(exact_ratio(d("1"), d("0"), 4), None);
        // 12,345,678.0000499999...(21 nines)666... is below the midpoint: 12,345,678.0000.
        // A decimal division keeps 28 digits, reaches ...00005000 and would round up.
        let num = d("37037034.000149999999999999999");
        assert_eq!(exact_ratio(num, d("3"), 4), Some(d("12345678.0000")));
        assert_eq!(
            (num / d("3"))
                .round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointAwayFromZero),
            d("12345678.0001"),
            "the double rounding this avoids"
        );
    }

    /// Two financings, 1,000,000 at 4.0000 and 3,000,000 at 3.0000: (4 + 9) / 4 = 3.2500;
    /// 100 at 3.6836 and 200 at 4.4489: (368.36 + 889.78) / 300 = 4.193800 -> 4.1938.
    #[test]
    fn weighted_average_is_exact() {
        let a = |s: &str| AllIn::from_percent(Decimal::from_str_exact(s).unwrap());
        let w = |s: &str| Amount::parse(s).unwrap();
        let avg = weighted_all_in(&[(w("1000000"), a("4")), (w("3000000"), a("3"))]).unwrap();
        assert_eq!(avg.percent().to_string(), "3.2500");
        let avg = weighted_all_in(&[(w("100"), a("3.6836")), (w("200"), a("4.4489"))]).unwrap();
        assert_eq!(avg.percent().to_string(), "4.1938");
        assert_eq!(weighted_all_in(&[]), None);
    }

    #[test]
    fn json_is_the_decimal_string() {
        let a = AllIn::from_percent(Decimal::from_str_exact("3.68361").unwrap());
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"3.6836\"");
        let back: AllIn = serde_json::from_str("\"3.6836\"").unwrap();
        assert_eq!(back, a);
    }
}
