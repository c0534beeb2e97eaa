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
    let (value, read) = decode_prefix(bytes)?;
    if read != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - read));
    }
    Ok(value)
}

/// One value from the start of `bytes`, with the bounds of the module docs, and how many
/// bytes it took.
fn decode_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize), CodecError> {
    let input = bounded::Input::new(bytes);
    let mut decoder =
        bincode::serde::OwnedSerdeDecoder::from_reader(bounded::InputReader(&input), config());
    let value: T = bounded::deserialize(decoder.as_deserializer(), &input)
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    Ok((value, input.read()))
}

/// Decodes what [`decode`] decodes as a `Vec<T>` (at most `limit` bytes, strictly,
/// canonically), at most `max_items` of them, and gives each element beside its own
/// bytes, a slice of `bytes`: a caller that keeps elements' encodings (transactions in
/// a gossip bundle or a block) need not encode them again. Each element's canonical
/// encoding is checked by encoding it again unless `already_canonical(value, own_bytes)`
/// says those bytes are known to be canonical (equal to bytes that passed this check);
/// it is asked once per element, in order.
pub fn decode_list_with_bytes<T: Serialize + DeserializeOwned>(
    bytes: &[u8],
    limit: usize,
    max_items: usize,
    mut already_canonical: impl FnMut(&T, &[u8]) -> bool,
) -> Result<Vec<(T, &[u8])>, CodecError> {
    let limit = limit.min(MAX_DECODE_BYTES);
    if bytes.len() > limit {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    let Some((count, rest)) = bytes.split_first_chunk::<8>() else {
        return Err(CodecError::Malformed("no list length".into()));
    };
    let count = u64::from_le_bytes(*count);
    // Every element takes at least one byte, so `rest` bounds what is allocated.
    if count > max_items as u64 || count > rest.len() as u64 {
        return Err(CodecError::Malformed(format!(
            "a list of {count} items (at most {max_items}) in {} bytes",
            rest.len()
        )));
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut at = 8;
    for _ in 0..count {
        let tail = bytes.get(at..).unwrap_or_default();
        let (value, used) = decode_prefix::<T>(tail)?;
        let own = tail.get(..used).unwrap_or_default();
        if !already_canonical(&value, own) {
            match bincode::serde::encode_to_vec(&value, config()) {
                Ok(again) if again == own => {}
                _ => return Err(CodecError::NonCanonical),
            }
        }
        out.push((value, own));
        at += used;
    }
    if at != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - at));
    }
    Ok(out)
}

/// What [`encode`] gives for a list of values whose canonical encodings are `items`, in
/// order, without encoding any of them again: the list's 8-byte little-endian length, then
/// each item's bytes (a sequence encodes as its length and its elements, nothing between).
/// For values a node already holds encoded, e.g. transactions gathered into a block.
pub fn encode_list_of_encoded<'a>(items: impl ExactSizeIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = (items.len() as u64).to_le_bytes().to_vec();
    for item in items {
        out.extend_from_slice(item);
    }
    out
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

    #[test]
    fn a_list_of_encoded_values_is_the_encoding_of_the_list() {
        for n in [0usize, 1, 3, 40] {
            let list: Vec<Sample> = (0..n)
                .map(|i| Sample {
                    n: i as u64,
                    name: "x".repeat(i),
                    parts: vec![i as u32; i % 5],
                    ..sample()
                })
                .collect();
            let parts: Vec<Vec<u8>> = list.iter().map(encode).collect();
            let joined = encode_list_of_encoded(parts.iter().map(Vec::as_slice));
            assert_eq!(joined, encode(&list));
            let back: Vec<Sample> = decode(&joined, MAX_DECODE_BYTES).unwrap();
            assert_eq!(back, list);
        }
    }

    fn samples(n: usize) -> Vec<Sample> {
        (0..n)
            .map(|i| Sample {
                n: i as u64,
                name: "x".repeat(i),
                parts: vec![i as u32; i % 5],
                ..sample()
            })
            .collect()
    }

    proptest! {
        /// The element-wise decoder agrees with decoding the whole list, on any bytes:
        /// the same values, or a refusal from both; each element's bytes are its own.
        #[test]
        fn a_list_decoded_with_its_elements_bytes_agrees_with_the_whole(
            n in 0usize..12,
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
            cut in proptest::option::of(any::<usize>()),
        ) {
            let mut bytes = encode(&samples(n));
            for (at, x) in flips {
                let i = at % bytes.len();
                bytes[i] ^= x;
            }
            if let Some(c) = cut {
                bytes.truncate(c % (bytes.len() + 1));
            }
            let whole = decode::<Vec<Sample>>(&bytes, 1 << 20);
            let parts = decode_list_with_bytes::<Sample>(&bytes, 1 << 20, 100, |_, _| false);
            prop_assert_eq!(whole.is_ok(), parts.is_ok(), "{:?} vs {:?}", whole, parts);
            if let (Ok(whole), Ok(parts)) = (whole, parts) {
                let values: Vec<Sample> = parts.iter().map(|(v, _)| v.clone()).collect();
                prop_assert_eq!(&values, &whole);
                for (v, own) in &parts {
                    let again = encode(v);
                    prop_assert_eq!(*own, again.as_slice());
                }
            }
        }
    }

    #[test]
    fn a_list_decoded_with_its_elements_bytes_keeps_the_limits() {
        let bytes = encode(&samples(5));
        let none = |_: &Sample, _: &[u8]| false;
        assert!(decode_list_with_bytes(&bytes, 1 << 20, 5, none).is_ok());
        assert!(decode_list_with_bytes(&bytes, 1 << 20, 4, none).is_err());
        assert!(matches!(
            decode_list_with_bytes(&bytes, 10, 5, none),
            Err(CodecError::TooLarge { .. })
        ));
        // A huge claimed count is refused before anything is allocated for it.
        let mut huge = bytes.clone();
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode_list_with_bytes(&huge, 1 << 20, usize::MAX, none).is_err());
        // Bytes said to be canonical skip the re-encoding, and only those.
        let all = |_: &Sample, _: &[u8]| true;
        assert_eq!(
            decode_list_with_bytes(&bytes, 1 << 20, 5, all).unwrap(),
            decode_list_with_bytes(&bytes, 1 << 20, 5, none).unwrap()
        );
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
