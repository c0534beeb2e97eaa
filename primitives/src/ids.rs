//! Organisation ids such as `BANK-SZ`: short, upper-case, stable, validated on decode.

use serde::{Deserialize, Serialize};

/// Longest organisation id accepted.
pub const MAX_ORG_ID_LEN: usize = 32;

/// Why an id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Empty, too long, or with characters outside the allowed set.
    #[error("invalid id {0:?}: use 2-{max} characters A-Z, 0-9 and '-', starting with a letter", max = MAX_ORG_ID_LEN)]
    Invalid(String),
}

/// The stable id of an admitted organisation (`BANK-SZ`, `CORE-A`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgId(String);

impl OrgId {
    /// Validates and wraps `s`.
    pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        let ok = (2..=MAX_ORG_ID_LEN).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_uppercase())
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(s))
        } else {
            Err(IdError::Invalid(s))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrgId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::new(s)
    }
}

impl From<OrgId> for String {
    fn from(id: OrgId) -> String {
        id.0
    }
}

impl std::fmt::Display for OrgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for OrgId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::new(s)
    }
}

/// How a sensitive identifier (tax id, account number) is shown to someone who may not
/// read it: the first 4 and last 2 characters kept, the rest starred -- enough to
/// recognise, not to use. One rule for the node's API, the explorer and the importer.
pub fn mask(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..4].iter().collect();
    out.push_str(&"*".repeat(chars.len() - 6));
    out.extend(&chars[chars.len() - 2..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_only_the_ends() {
        assert_eq!(mask("91310000MA1COREA3X"), "9131************3X");
        assert_eq!(mask("abc"), "***");
        assert_eq!(mask("监管代码123456"), "监管代码****56");
    }

    #[test]
    fn valid_and_invalid_ids() {
        assert!(OrgId::new("BANK-SZ").is_ok());
        assert!(OrgId::new("CORE-A1").is_ok());
        for bad in [
            "",
            "b",
            "bank",
            "1BANK",
            "BANK SZ",
            "BANK_SZ",
            &"A".repeat(33),
        ] {
            assert!(OrgId::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn decoding_refuses_an_invalid_id() {
        let bytes = crate::encode(&"bad id".to_string());
        assert!(crate::decode::<OrgId>(&bytes, 64).is_err());
        let good = crate::encode(&OrgId::new("CORE-A").unwrap());
        assert_eq!(
            crate::decode::<OrgId>(&good, 64).unwrap().as_str(),
            "CORE-A"
        );
    }
}
