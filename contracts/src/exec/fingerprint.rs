//! The invoice fingerprint: the one identity of an invoice, whoever registers it, under
//! whatever id, however its number was typed.
//!
//! Identifiers (seller tax id, invoice number) are normalised before hashing:
//! 1. NFKC (compatibility composition), so full-width `ＦＰ－０００１` is `FP-0001`;
//! 2. ASCII letters upper-cased; ASCII punctuation, spaces and controls dropped, so
//!    `fp 0001`, `FP-0001`, `FP/0001` and `FP0001` are one number;
//! 3. outside ASCII, every white space, default-ignorable (zero-width, bidi controls,
//!    variation selectors, soft hyphen...) and dash character dropped, so `FP‐0001`
//!    (U+2010) and `FP-0001` + U+200B are the same number again; other characters are
//!    kept as they are.
//!
//! This runs inside consensus, so nothing here may depend on the compiler's Unicode
//! tables (`char::is_whitespace`, `to_uppercase` change between Rust releases): step 1
//! uses `unicode-normalization`, pinned to one exact version (a test pins its Unicode
//! version too), and steps 2-3 use the explicit tables below. Changing either changes
//! fingerprints, so it needs a new domain tag and a migration.

use chrono::NaiveDate;
use lianrong_primitives::{codec, sha256, Hash};
use unicode_normalization::UnicodeNormalization;

use crate::money::{Amount, Currency};

/// Domain tag of the fingerprint's preimage (v2: NFKC and explicit tables).
const DOMAIN: &str = "lianrong/invoice-fingerprint/v2";

/// Longest identifier normalised (longer input is refused by the contracts first; the
/// bound keeps the work per call bounded anyway).
const MAX_INPUT_CHARS: usize = 1024;

/// The invoice fingerprint: SHA-256 over the canonical encoding of (seller tax id,
/// invoice number, issue date, currency, amount at the currency's minor unit), tax id
/// and number normalised by [`normalize_identifier`].
pub fn fingerprint(
    seller_tax_id: &str,
    number: &str,
    issue_date: NaiveDate,
    currency: Currency,
    amount: Amount,
) -> Hash {
    let canonical = (
        DOMAIN,
        normalize_identifier(seller_tax_id),
        normalize_identifier(number),
        issue_date.to_string(),
        currency.code(),
        amount.to_fixed(currency.minor_units()),
    );
    sha256(&codec::encode(&canonical))
}

/// Domain tag of the (seller, number) identity.
const NUMBER_DOMAIN: &str = "lianrong/invoice-number/v1";

/// The identity of an invoice number: one seller (by tax id) issues a number once,
/// whatever the date or amount typed with it.
pub fn number_identity(seller_tax_id: &str, number: &str) -> Hash {
    let canonical = (
        NUMBER_DOMAIN,
        normalize_identifier(seller_tax_id),
        normalize_identifier(number),
    );
    sha256(&codec::encode(&canonical))
}

/// The canonical form of an invoice number: [`normalize_identifier`], which must leave
/// a non-empty ASCII string. Anything else is refused with the reason, so no two typings of
/// one number can slip past each other through characters outside the tables.
pub fn canonical_number(number: &str) -> Result<String, String> {
    let n = normalize_identifier(number);
    if n.is_empty() {
        return Err(format!("{number:?} has no letters or digits"));
    }
    match n.chars().find(|c| !c.is_ascii()) {
        Some(c) => Err(format!(
            "{number:?} has {c:?} (U+{:04X}): invoice numbers are letters A-Z and digits, with any separators",
            u32::from(c)
        )),
        None => Ok(n),
    }
}

/// An identifier as the fingerprint sees it (see the module docs).
pub fn normalize_identifier(s: &str) -> String {
    let kept: String = s
        .chars()
        .take(MAX_INPUT_CHARS)
        .nfkc()
        .filter_map(|c| {
            if c.is_ascii() {
                c.is_ascii_alphanumeric().then(|| c.to_ascii_uppercase())
            } else {
                (!is_ignorable(c)).then_some(c)
            }
        })
        .collect();
    // Dropping characters can leave combining marks side by side in a non-canonical
    // order: normalise again so that normalising a normalised identifier changes nothing.
    kept.nfkc().collect()
}

/// Non-ASCII characters that never tell two identifiers apart.
fn is_ignorable(c: char) -> bool {
    let c = u32::from(c);
    IGNORABLE.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// Inclusive ranges, from the Unicode Character Database (PropList.txt White_Space,
/// DerivedCoreProperties.txt Default_Ignorable_Code_Point, and general category Pd
/// plus U+2043 and U+2212, the hyphen bullet and minus sign people type for a dash).
const IGNORABLE: &[(u32, u32)] = &[
    // White_Space outside ASCII.
    (0x0085, 0x0085),
    (0x00A0, 0x00A0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
    // Default_Ignorable_Code_Point.
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
    // Dash_Punctuation (Pd), and dash look-alikes.
    (0x058A, 0x058A),
    (0x05BE, 0x05BE),
    (0x1400, 0x1400),
    (0x1806, 0x1806),
    (0x2010, 0x2015),
    (0x2043, 0x2043),
    (0x2212, 0x2212),
    (0x2E17, 0x2E17),
    (0x2E1A, 0x2E1A),
    (0x2E3A, 0x2E3B),
    (0x2E40, 0x2E40),
    (0x2E5D, 0x2E5D),
    (0x301C, 0x301C),
    (0x3030, 0x3030),
    (0x30A0, 0x30A0),
    (0xFE31, 0xFE32),
    (0xFE58, 0xFE58),
    (0xFE63, 0xFE63),
    (0xFF0D, 0xFF0D),
    (0x10EAD, 0x10EAD),
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fp(number: &str) -> Hash {
        let d = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let cny = Currency::new("CNY").unwrap();
        fingerprint(
            "91310000MA1K",
            number,
            d,
            cny,
            Amount::parse("100.00").unwrap(),
        )
    }

    /// The re-typings of docs/domain.md's one-invoice-one-financing rule that used to
    /// register the same invoice twice.
    #[test]
    fn retyped_numbers_are_one_invoice() {
        let base = fp("FP-0001");
        for retyped in [
            "FP-0001\u{200B}",
            "\u{FEFF}FP-0001",
            "ＦＰ－０００１",
            "FP0001",
            "fp 0001",
            "FP\u{2010}0001",
            "FP\u{2212}0001",
            "FP\u{00A0}0001",
            "FP\u{3000}0001",
            "FP/0001",
            "F\u{00AD}P-0001",
        ] {
            assert_eq!(fp(retyped), base, "{retyped:?}");
        }
    }

    #[test]
    fn different_numbers_stay_different() {
        let base = fp("FP-0001");
        for other in [
            "FP-0002",
            "FP-00010",
            "FQ-0001",
            "FP-0001A",
            "发票0001",
            "FP-Ⅰ",
        ] {
            assert_ne!(fp(other), base, "{other:?}");
        }
        // Characters outside ASCII that are not ignorable stay, so numbers written in
        // another script are not all one number.
        assert_ne!(fp("发票-0001"), fp("收据-0001"));
    }

    #[test]
    fn numbers_outside_ascii_or_without_content_are_refused_with_the_reason() {
        assert_eq!(canonical_number(" fp-0001 ").unwrap(), "FP0001");
        assert_eq!(canonical_number("ＦＰ－０００１").unwrap(), "FP0001");
        let err = canonical_number("发票-0001").unwrap_err();
        assert!(err.contains("U+53D1"), "{err}");
        assert!(canonical_number("--- \u{200B}")
            .unwrap_err()
            .contains("no letters or digits"));
    }

    #[test]
    fn the_number_identity_ignores_date_and_amount_but_not_seller_or_number() {
        let base = number_identity("91310000MA1K", "FP-0001");
        assert_eq!(base, number_identity("91310000ma1k", "fp0001"));
        assert_ne!(base, number_identity("91310000MA1X", "FP-0001"));
        assert_ne!(base, number_identity("91310000MA1K", "FP-0002"));
    }

    #[test]
    fn tax_ids_are_normalised_the_same_way() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let cny = Currency::new("CNY").unwrap();
        let a = Amount::parse("100.00").unwrap();
        assert_eq!(
            fingerprint("91310000ma1k ", "INV-1", d, cny, a),
            fingerprint("９１３１００００ＭＡ１Ｋ", "INV-1", d, cny, a)
        );
    }

    /// The normalisation tables are part of the consensus rules: a new version of the
    /// crate (new Unicode tables) must be a deliberate change with a new domain tag.
    #[test]
    fn the_unicode_tables_are_the_pinned_ones() {
        assert_eq!(unicode_normalization::UNICODE_VERSION, (18, 0, 0));
    }

    proptest! {
        #[test]
        fn normalising_twice_changes_nothing(s in "\\PC{0,40}") {
            let once = normalize_identifier(&s);
            prop_assert_eq!(normalize_identifier(&once), once);
        }

        #[test]
        fn ignorable_characters_anywhere_change_nothing(
            s in "[A-Z0-9]{1,12}",
            at in 0usize..12,
            junk in prop::sample::select(vec!['\u{200B}', '\u{2010}', '\u{3000}', '\u{FEFF}', '-', ' ', '\u{00AD}']),
        ) {
            let mut t: Vec<char> = s.chars().collect();
            t.insert(at.min(t.len()), junk);
            let t: String = t.into_iter().collect();
            prop_assert_eq!(normalize_identifier(&t), normalize_identifier(&s));
        }
    }
}
