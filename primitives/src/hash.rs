//! SHA-256 hashes.

use sha2::{Digest, Sha256};

crate::fixed_bytes!(
    /// A SHA-256 digest: block, transaction and document ids, commitments, fingerprints.
    Hash,
    32
);

impl Hash {
    /// The all-zero hash, used as "no parent" for the genesis block.
    pub const ZERO: Hash = Hash([0u8; 32]);
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> Hash {
    Hash(Sha256::digest(data).into())
}

/// SHA-256 over several parts, each prefixed with its length so that part boundaries
/// are unambiguous (`["ab","c"]` and `["a","bc"]` hash differently).
pub fn sha256_parts(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    Hash(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_standard_vector() {
        assert_eq!(
            sha256(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn part_boundaries_change_the_hash() {
        assert_ne!(sha256_parts(&[b"ab", b"c"]), sha256_parts(&[b"a", b"bc"]));
    }

    #[test]
    fn hex_round_trip_and_bad_input() {
        let h = sha256(b"x");
        assert_eq!(Hash::from_hex(&h.to_hex()), Ok(h));
        assert!(Hash::from_hex("00").is_err());
        assert!(Hash::from_hex(&"zz".repeat(32)).is_err());
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{}\"", h.to_hex()));
        assert_eq!(serde_json::from_str::<Hash>(&json).unwrap(), h);
    }

    proptest::proptest! {
        /// Display (which state keys and `to_hex` go through) is the hex crate's lower-case
        /// hex, for hashes and for the longest of these types, signatures; Debug names the type.
        #[test]
        fn display_is_lower_case_hex(bytes in proptest::prelude::any::<[u8; 32]>(), more in proptest::prelude::any::<[u8; 32]>()) {
            let h = Hash(bytes);
            proptest::prop_assert_eq!(h.to_string(), hex::encode(bytes));
            proptest::prop_assert_eq!(h.to_hex(), hex::encode(bytes));
            proptest::prop_assert_eq!(format!("{h:?}"), format!("Hash({})", hex::encode(bytes)));
            let mut long = [0u8; 64];
            long[..32].copy_from_slice(&bytes);
            long[32..].copy_from_slice(&more);
            let sig = crate::Signature(long);
            proptest::prop_assert_eq!(sig.to_string(), hex::encode(long));
        }
    }
}
