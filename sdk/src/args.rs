//! Strict parsing of values as users type them (CLI flags, CSV cells): ids, amounts as
//! decimal strings, ISO dates, hashes. Every function names the bad input in its error.

use std::io::Read;
use std::path::Path;

use lianrong_contracts::model::DocId;
use lianrong_contracts::money::{Amount, Money, Rate};
use lianrong_primitives::{Hash, OrgId, PublicKey};
use sha2::{Digest, Sha256};

use crate::error::SdkError;

/// A document id (`PO-2026-001`): 1-64 of `A-Z a-z 0-9 - _ .`.
pub fn doc_id(s: &str) -> Result<DocId, SdkError> {
    DocId::new(s.trim()).map_err(|e| SdkError::Invalid(e.to_string()))
}

/// An organisation id (`SUP-1`).
pub fn org_id(s: &str) -> Result<OrgId, SdkError> {
    OrgId::new(s.trim()).map_err(|e| SdkError::Invalid(e.to_string()))
}

/// A plain non-negative decimal amount (`"400000.00"`; no sign, exponent or separators).
pub fn amount(s: &str) -> Result<Amount, SdkError> {
    Amount::parse(s.trim()).map_err(|e| SdkError::Invalid(e.to_string()))
}

/// A positive amount in a currency, with no more decimals than the currency's minor unit
/// (the network's cap is checked by the ledger).
pub fn money(amount: &str, currency: &str) -> Result<Money, SdkError> {
    let m = Money::parse(amount.trim(), &currency.trim().to_ascii_uppercase())
        .map_err(|e| SdkError::Invalid(e.to_string()))?;
    let no_cap = Amount::from_decimal(rust_decimal::Decimal::MAX)
        .map_err(|e| SdkError::Invalid(e.to_string()))?;
    m.validate(no_cap)
        .map_err(|e| SdkError::Invalid(e.to_string()))?;
    Ok(m)
}

/// An annual rate in percent (`"3.65"`).
pub fn rate(s: &str) -> Result<Rate, SdkError> {
    Rate::parse(s.trim()).map_err(|e| SdkError::Invalid(e.to_string()))
}

/// An ISO date, exactly `YYYY-MM-DD`.
pub fn date(s: &str) -> Result<chrono::NaiveDate, SdkError> {
    let s = s.trim();
    let bad = || SdkError::Invalid(format!("{s:?} is not a date; use YYYY-MM-DD"));
    // chrono alone accepts "2026-1-5"; the ledger's users type and read the full form.
    if s.len() != 10 {
        return Err(bad());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad())
}

/// A SHA-256 hash as 64 hex digits.
pub fn hash(s: &str) -> Result<Hash, SdkError> {
    Hash::from_hex(s.trim()).map_err(|e| SdkError::Invalid(format!("hash {s:?}: {e}")))
}

/// A public key as 64 hex digits.
pub fn public_key(s: &str) -> Result<PublicKey, SdkError> {
    PublicKey::from_hex(s.trim()).map_err(|e| SdkError::Invalid(format!("public key {s:?}: {e}")))
}

/// SHA-256 of a file's bytes: the commitment to a document kept off the ledger. Reads in
/// chunks, so the file's size does not matter.
pub fn file_hash(path: &Path) -> Result<Hash, SdkError> {
    let io = |e: std::io::Error| SdkError::Invalid(format!("{}: {e}", path.display()));
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(Hash(h.finalize().into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_follow_the_currency_rules() {
        assert_eq!(
            money("400000.00", "cny").unwrap().to_string(),
            "400000.00 CNY"
        );
        assert!(money("1.005", "CNY").is_err(), "three decimals in CNY");
        assert!(money("1.5", "JPY").is_err(), "JPY has no minor unit");
        assert!(money("0", "CNY").is_err());
        assert!(money("-5", "CNY").is_err());
        assert!(money("1,000.00", "CNY").is_err());
        assert!(money("1e3", "CNY").is_err());
        assert!(money("10", "XXX").is_err());
        assert_eq!(amount("0.00").unwrap(), Amount::ZERO);
        assert!(rate("3.65").is_ok() && rate("101").is_err());
    }

    #[test]
    fn dates_are_strict_iso() {
        assert_eq!(date("2026-03-31").unwrap().to_string(), "2026-03-31");
        for bad in ["2026-3-31", "31/03/2026", "2026-02-30", "20260331", ""] {
            assert!(date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_and_hashes_are_checked() {
        assert!(doc_id("PO-1").is_ok() && doc_id("PO/1").is_err());
        assert!(org_id("SUP-1").is_ok() && org_id("sup-1").is_err());
        assert!(hash(&"ab".repeat(32)).is_ok() && hash("abc").is_err());
    }

    #[test]
    fn file_hash_is_sha256_of_the_bytes() {
        let dir = std::env::temp_dir().join(format!("lianrong-sdk-args-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("doc.txt");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            file_hash(&p).unwrap().to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(file_hash(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
