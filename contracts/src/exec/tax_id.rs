//! Tax ids of organisations: one canonical form, and only forms the ledger can check.
//!
//! A tax id is first brought to the canonical form invoice numbers use
//! ([`normalize_identifier`]: NFKC, ASCII upper-cased, white space, punctuation,
//! zero-width and dash characters dropped), so `9135 0100-m000 100y 43` and
//! `91350100M000100Y43` are one id. The canonical form must then be one of:
//!
//! | scheme | form |
//! |---|---|
//! | China, unified social credit code (统一社会信用代码, GB 32100-2015) | 18 characters of `0-9 A-Z` without `I O Z S V`: registration authority (`1-9`, `A`, `N` or `Y`), organisation category (`1-9`), 6-digit administrative division, 9-character organisation code, check character |
//! | Norway, VAT number | `NO` + 9 digits + `MVA` |
//! | Germany, VAT number (USt-IdNr.) | `DE` + 9 digits |
//!
//! Anything else is refused naming these forms: an id the ledger cannot check could be
//! typed two ways and admit one company twice. The VAT forms are checked by shape only
//! (their national check digits are not verified). The check runs inside consensus, so
//! it uses only ASCII operations and the tables here.

use super::fingerprint::normalize_identifier;

/// The unified social credit code's 31 characters, in value order (GB 32100-2015).
const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of the first 17 characters (3^i mod 31).
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Registration authority codes: 1-9 (机构编制, 外交, 司法行政, 文化, 民政, 旅游, 宗教,
/// 工会, 市场监管), A (中央军委改革和编制办公室), N (农业), Y (其他).
const USCC_AUTHORITIES: &[u8] = b"123456789ANY";

/// The VAT schemes recognised: country prefix, digits, suffix.
const VAT_SCHEMES: &[(&str, usize, &str)] = &[("NO", 9, "MVA"), ("DE", 9, "")];

/// What the refusal names as accepted.
pub const ACCEPTED_FORMS: &str = "an 18-character unified social credit code \
    (统一社会信用代码, GB 32100-2015, with its check character), NO + 9 digits + MVA, \
    or DE + 9 digits";

/// The canonical form of a tax id, or why it is refused (naming the accepted forms).
pub fn canonical_tax_id(given: &str) -> Result<String, String> {
    let id = normalize_identifier(given);
    if id.is_empty() {
        return Err(format!(
            "{given:?} has no letters or digits; give {ACCEPTED_FORMS}"
        ));
    }
    if let Some(c) = id.chars().find(|c| !c.is_ascii()) {
        return Err(format!(
            "{given:?} has {c:?} (U+{:04X}); give {ACCEPTED_FORMS}",
            u32::from(c)
        ));
    }
    if let Some(result) = vat_form(&id) {
        return result.map(|()| id).map_err(|e| format!("{given:?}: {e}"));
    }
    if id.len() == 18 {
        return check_uscc(&id)
            .map(|()| id)
            .map_err(|e| format!("{given:?}: {e}"));
    }
    Err(format!(
        "{given:?} is {} characters and no recognised form; give {ACCEPTED_FORMS}",
        id.chars().count()
    ))
}

/// `Some` if `id` starts with a VAT scheme's prefix and is not an 18-character code
/// (a code may start with `N`, never with two letters, but the length settles it).
fn vat_form(id: &str) -> Option<Result<(), String>> {
    let (prefix, digits, suffix) = VAT_SCHEMES
        .iter()
        .find(|(p, ..)| id.starts_with(p) && id.len() != 18)?;
    let body = &id[prefix.len()..];
    let ok = body.len() == digits + suffix.len()
        && body[..*digits].bytes().all(|b| b.is_ascii_digit())
        && &body[*digits..] == *suffix;
    Some(if ok {
        Ok(())
    } else {
        Err(format!(
            "a {prefix} VAT number is {prefix} + {digits} digits{}",
            if suffix.is_empty() {
                String::new()
            } else {
                format!(" + {suffix}")
            }
        ))
    })
}

/// The value of a code character, `None` outside the set.
fn uscc_value(b: u8) -> Option<u32> {
    USCC_CHARS.iter().position(|&c| c == b).map(|v| v as u32)
}

/// The check character of a code's first 17 characters (`None` if any is outside the
/// set): (31 - weighted sum mod 31) mod 31, mapped back into the set.
pub fn uscc_check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (b, w) in first17.bytes().zip(USCC_WEIGHTS) {
        sum += uscc_value(b)? * w;
    }
    let check = (31 - sum % 31) % 31;
    USCC_CHARS.get(check as usize).map(|&c| char::from(c))
}

/// Checks an 18-character canonical (ASCII, upper-case) unified social credit code.
fn check_uscc(id: &str) -> Result<(), String> {
    let b = id.as_bytes();
    if let Some(at) = b.iter().position(|&c| uscc_value(c).is_none()) {
        return Err(format!(
            "character {} {:?} is not in a unified social credit code \
             (0-9 and A-Z without I, O, Z, S, V)",
            at + 1,
            char::from(b[at])
        ));
    }
    if !USCC_AUTHORITIES.contains(&b[0]) {
        return Err(format!(
            "registration authority code {:?} is not one of 1-9, A, N, Y",
            char::from(b[0])
        ));
    }
    if !(b'1'..=b'9').contains(&b[1]) {
        return Err(format!(
            "organisation category {:?} is not a digit 1-9",
            char::from(b[1])
        ));
    }
    if !b[2..8].iter().all(u8::is_ascii_digit) {
        return Err(format!(
            "characters 3-8 {:?} are not a 6-digit administrative division code",
            &id[2..8]
        ));
    }
    match uscc_check_char(&id[..17]) {
        Some(c) if u32::from(c) == u32::from(b[17]) => Ok(()),
        Some(c) => Err(format!(
            "check character {:?} should be {c:?}: a character is mistyped",
            char::from(b[17])
        )),
        None => Err("not a unified social credit code".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An independent check-character computation (GB 32100-2015, written out) so the
    /// examples below do not rest on the code under test.
    fn reference_check(first17: &str) -> char {
        let set = "0123456789ABCDEFGHJKLMNPQRTUWXY";
        let weights = [
            1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
        ];
        let sum: usize = first17
            .chars()
            .zip(weights)
            .map(|(c, w)| set.find(c).unwrap() * w)
            .sum();
        set.chars().nth((31 - sum % 31) % 31).unwrap()
    }

    #[test]
    fn published_unified_social_credit_codes_are_valid() {
        for code in ["91350100M000100Y43", "91110000600037341L"] {
            assert_eq!(reference_check(&code[..17]), code.chars().nth(17).unwrap());
            assert_eq!(canonical_tax_id(code).unwrap(), code);
        }
    }

    #[test]
    fn a_retyped_code_is_the_same_id() {
        for typed in [
            "9135 0100-m000 100y 43",
            "９１３５０１００Ｍ０００１００Ｙ４３",
            "91350100M000100Y43\u{200B}",
            "91350100\u{2010}M000100Y43",
        ] {
            assert_eq!(
                canonical_tax_id(typed).unwrap(),
                "91350100M000100Y43",
                "{typed:?}"
            );
        }
    }

    #[test]
    fn a_mistyped_code_is_refused_with_the_reason() {
        let err = |s: &str| canonical_tax_id(s).unwrap_err();
        assert!(err("91350100M000100Y44").contains("should be '3'"));
        assert!(err("91350100M000100Y4S").contains("character 18 'S'"));
        assert!(err("B1350100M000100Y43").contains("registration authority"));
        assert!(err("90350100M000100Y43").contains("organisation category"));
        assert!(err("9135010AM000100Y43").contains("administrative division"));
        assert!(err("913501").contains("6 characters"));
        assert!(err("913501").contains("NO + 9 digits + MVA"));
        assert!(err("税号").contains("U+7A0E"));
        assert!(err(" - ").contains("no letters or digits"));
    }

    #[test]
    fn every_single_character_error_is_caught() {
        let code = "91350100M000100Y43";
        for at in 8..18 {
            for c in USCC_CHARS.iter().map(|&c| char::from(c)) {
                let mut typo: Vec<char> = code.chars().collect();
                if typo[at] == c {
                    continue;
                }
                typo[at] = c;
                let typo: String = typo.into_iter().collect();
                assert!(canonical_tax_id(&typo).is_err(), "{typo}");
            }
        }
    }

    #[test]
    fn vat_numbers_by_country_prefix() {
        assert_eq!(
            canonical_tax_id("NO 999 999 999 MVA").unwrap(),
            "NO999999999MVA"
        );
        assert_eq!(
            canonical_tax_id("no999999999mva").unwrap(),
            "NO999999999MVA"
        );
        assert_eq!(canonical_tax_id("DE123456789").unwrap(), "DE123456789");
        assert!(canonical_tax_id("NO999999999")
            .unwrap_err()
            .contains("NO + 9 digits + MVA"));
        assert!(canonical_tax_id("DE12345678")
            .unwrap_err()
            .contains("DE + 9 digits"));
        assert!(canonical_tax_id("FR12345678901")
            .unwrap_err()
            .contains("no recognised form"));
    }

    #[test]
    fn the_check_character_helper_agrees_with_the_reference() {
        for first17 in [
            "91350100M000100Y4",
            "91110000600037341",
            "91330000MA25UP106",
        ] {
            assert_eq!(uscc_check_char(first17), Some(reference_check(first17)));
        }
        assert_eq!(uscc_check_char("9135"), None);
        assert_eq!(uscc_check_char("91350100M000100YI"), None);
    }
}
