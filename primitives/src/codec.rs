//! The ONE canonical binary codec of LianRong, on `bincode = "=2.0.1"` through serde.
//!
//! Everything that is hashed, signed or sent between nodes goes through [`encode`] and
//! [`decode`]. Decoding is strict: input longer than the caller's limit is refused before
//! any work, trailing bytes are refused, and bytes that do not re-encode to exactly the
//! same bytes are refused -- so a value has one encoding and signed data is not malleable.
//!
//! Memory is bounded by the input, not by what it claims: a length prefix claiming more
//! bytes than follow it is refused before anything is allocated for it, and a list's
//! announced length preallocates at most as many elements as bytes are left (see
//! `bounded`). The caller's limit therefore bounds both the input and what a hostile input
//! can make us allocate, and it can be the largest *encoded* size of the value: a value
//! larger in memory than on the wire is never refused for that.

use serde::{de::DeserializeOwned, Serialize};

mod bounded;

/// Hard ceiling for any single decoded value; callers pass tighter limits.
pub const MAX_DECODE_BYTES: usize = 16 * 1024 * 1024;

/// Fixed-width little-endian integers: one encoding per value, easy to reason about (and
/// every length prefix is 8 bytes, which `bounded` reads). bincode's own limit is only a
/// second guard: `bounded` refuses a claimed length beyond the input first.
type Config = bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Fixint,
    bincode::config::Limit<MAX_DECODE_BYTES>,
>;

fn config() -> Config {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<MAX_DECODE_BYTES>()
}

/// Why bytes were refused by [`decode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Input longer than the limit for this kind of value.
    #[error("{len} bytes exceed the limit of {limit}")]
    TooLarge {
        /// Input length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The bytes do not describe a value of the expected type.
    #[error("malformed encoding: {0}")]
    Malformed(String),
    /// A value was read but bytes were left over.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// The value re-encodes to different bytes, so the input was not canonical.
    #[error("non-canonical encoding")]
    NonCanonical,
}

/// Canonical bytes of `value`.
///
/// # Panics
/// Only if `value` cannot be represented (a serde impl that fails or exceeds
/// [`MAX_DECODE_BYTES`]); our types always can, so that is a bug, not bad input.
#[allow(
    clippy::panic,
    reason = "a type that cannot be encoded is a bug in this crate, not input"
)]
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    match bincode::serde::encode_to_vec(value, config()) {
        Ok(bytes) => bytes,
        Err(e) => panic!("canonical encoding of an in-memory value failed: {e}"),
    }
}

/// Decodes `bytes` strictly; see the module docs. `limit` is the largest input accepted.
pub fn decode<T: Serialize + DeserializeOwned>(
    bytes: &[u8],
    limit: usize,
) -> Result<T, CodecError> {
    let value: T = decode_stored(bytes, limit)?;
    match bincode::serde::encode_to_vec(&value, config()) {
        Ok(again) if again == bytes => Ok(value),
        _ => Err(CodecError::NonCanonical),
    }
}

/// Decodes bytes this node wrote itself (its own committed state), with the size limit
/// and the trailing-bytes check but without the re-encoding check: those bytes came from
/// [`encode`], and the Merkle root already vouches for them. Never use this on bytes
/// from the network or a user; use [`decode`].
pub fn decode_stored<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, CodecError> {
    let limit = limit.min(MAX_DECODE_BYTES);
    if bytes.len() > limit {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    let input = bounded::Input::new(bytes);
    let mut decoder =
        bincode::serde::OwnedSerdeDecoder::from_reader(bounded::InputReader(&input), config());
    let value: T = bounded::deserialize(decoder.as_deserializer(), &input)
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    let read = input.read();
    if read != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - read));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Sample {
        n: u64,
        flag: bool,
        name: String,
        parts: Vec<u32>,
        maybe: Option<i16>,
    }

    fn sample() -> Sample {
        Sample {
            n: 7,
            flag: true,
            name: "链融".into(),
            parts: vec![1, 2],
            maybe: Some(-3),
        }
    }

    #[test]
    fn round_trip() {
        let bytes = encode(&sample());
        assert_eq!(decode::<Sample>(&bytes, 1024), Ok(sample()));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode(&sample());
        bytes.push(0);
        assert_eq!(
            decode::<Sample>(&bytes, 1024),
            Err(CodecError::TrailingBytes(1))
        );
    }

    #[test]
    fn oversize_input_is_refused_before_decoding() {
        let bytes = vec![0u8; 2048];
        assert_eq!(
            decode::<Sample>(&bytes, 1024),
            Err(CodecError::TooLarge {
                len: 2048,
                limit: 1024
            })
        );
    }

    #[test]
    fn a_bool_other_than_zero_or_one_is_refused() {
        let mut bytes = encode(&sample());
        bytes[8] = 2; // the `flag` byte follows the 8-byte `n`
        assert!(decode::<Sample>(&bytes, 1024).is_err());
    }

    #[test]
    fn a_huge_claimed_length_does_not_allocate() {
        // A Vec<u64> claiming 2^60 elements in a 16-byte input must fail cleanly.
        let mut bytes = (1u64 << 60).to_le_bytes().to_vec();
        bytes.extend_from_slice(&[0u8; 8]);
        assert!(decode::<Vec<u64>>(&bytes, 1024).is_err());
    }

    #[test]
    fn a_length_claiming_more_than_follows_is_refused_before_reading() {
        // 8 bytes claiming a 15 MiB string: refused by the claim, not at the end of input
        // after allocating 15 MiB (tests/codec_allocation.rs measures the memory).
        let bytes = (15u64 << 20).to_le_bytes();
        match decode::<String>(&bytes, MAX_DECODE_BYTES) {
            Err(CodecError::Malformed(why)) => assert!(why.contains("15728640"), "{why}"),
            other => panic!("{other:?}"),
        }
        let mut sample = encode(&sample());
        sample.truncate(sample.len() - 1);
        assert!(decode::<Sample>(&sample, 1024).is_err());
    }

    proptest! {
        #[test]
        fn any_value_round_trips(n: u64, flag: bool, name in ".{0,40}", parts in prop::collection::vec(any::<u32>(), 0..20), maybe: Option<i16>) {
            let v = Sample { n, flag, name, parts, maybe };
            let bytes = encode(&v);
            prop_assert_eq!(decode::<Sample>(&bytes, 1 << 20), Ok(v));
        }

        #[test]
        fn random_bytes_never_panic_and_accepted_ones_are_canonical(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(v) = decode::<Sample>(&bytes, 1 << 20) {
                prop_assert_eq!(encode(&v), bytes);
            }
        }
    }
}
