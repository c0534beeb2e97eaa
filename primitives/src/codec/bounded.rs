//! Decoding whose memory is bounded by the input, not by what the input claims.
//!
//! bincode checks a claimed length only against its (compile-time) byte limit before it
//! allocates, and serde preallocates up to 1 MiB for any list whose length it is told. So
//! eight bytes claiming a 15 MiB string allocated 15 MiB, and eight bytes claiming a long
//! list 1 MiB (2 MiB for a map), only to fail at the first missing byte.
//!
//! [`deserialize`] runs the ordinary bincode deserializer behind a transparent wrapper that
//! knows how much input is left:
//! - before a string or byte buffer is read, its 8-byte length prefix is compared with the
//!   bytes that follow it; a longer claim is refused before bincode allocates for it. Such
//!   input could never decode (the bytes of a string are in the input), so nothing valid is
//!   refused, whatever the value's size in memory;
//! - the length a list or map announces is passed on to serde as a preallocation hint only
//!   up to the bytes left (a hint, not a limit: a list of zero-sized values still decodes).
//!
//! Memory spent before an error is so at most a small multiple of the input's length.
//! Everything else is forwarded unchanged, so the encoding and every accepted value are
//! exactly bincode's.

use std::cell::Cell;
use std::fmt;

use bincode::de::read::Reader;
use bincode::error::DecodeError;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

/// Width of a string or sequence length prefix: the codec uses fixed-width integers
/// (`Fixint`), so every length is a little-endian `u64`.
const LENGTH_PREFIX: usize = 8;

/// The input and how far the decoder has read it.
pub(super) struct Input<'a> {
    bytes: &'a [u8],
    pos: Cell<usize>,
}

impl<'a> Input<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Input {
            bytes,
            pos: Cell::new(0),
        }
    }

    /// Bytes consumed so far.
    pub(super) fn read(&self) -> usize {
        self.pos.get()
    }

    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos.get()..).unwrap_or_default()
    }

    /// Refuses a length prefix at the current position that claims more bytes than follow
    /// it. Fewer than eight bytes left is left to bincode (it reports the end of input).
    fn check_length_prefix<E: de::Error>(&self) -> Result<(), E> {
        let rest = self.rest();
        let Some((prefix, body)) = rest.split_first_chunk::<LENGTH_PREFIX>() else {
            return Ok(());
        };
        let claimed = u64::from_le_bytes(*prefix);
        if claimed > body.len() as u64 {
            return Err(E::custom(format_args!(
                "a length of {claimed} bytes with {} bytes left",
                body.len()
            )));
        }
        Ok(())
    }

    fn cap_hint(&self, hint: Option<usize>) -> Option<usize> {
        hint.map(|n| n.min(self.rest().len()))
    }
}

/// bincode's reader over [`Input`], advancing the shared position.
pub(super) struct InputReader<'a, 'b>(pub(super) &'b Input<'a>);

impl Reader for InputReader<'_, '_> {
    #[inline(always)]
    fn read(&mut self, out: &mut [u8]) -> Result<(), DecodeError> {
        let pos = self.0.pos.get();
        let end = pos.saturating_add(out.len());
        match self.0.bytes.get(pos..end) {
            Some(src) => {
                out.copy_from_slice(src);
                self.0.pos.set(end);
                Ok(())
            }
            None => Err(DecodeError::UnexpectedEnd {
                additional: end - self.0.bytes.len(),
            }),
        }
    }
}

/// Deserializes a `T` from `inner` (reading `input`) with the bounds of the module docs.
pub(super) fn deserialize<'de, T, D>(inner: D, input: &Input<'_>) -> Result<T, D::Error>
where
    T: de::Deserialize<'de>,
    D: Deserializer<'de>,
{
    T::deserialize(Bounded { inner, input })
}

/// The wrapping deserializer: checks length prefixes, wraps every visitor.
struct Bounded<'i, 'a, D> {
    inner: D,
    input: &'i Input<'a>,
}

/// A visitor wrapped so that the deserializers and accessors it is handed are wrapped too.
struct Wrap<'i, 'a, X> {
    inner: X,
    input: &'i Input<'a>,
}

impl<'i, 'a, X> Wrap<'i, 'a, X> {
    fn new(inner: X, input: &'i Input<'a>) -> Self {
        Wrap { inner, input }
    }
}

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.inner.$method($($arg,)* Wrap::new(visitor, self.input))
        }
    )*};
}

macro_rules! checked_deserialize {
    ($($method:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.input.check_length_prefix()?;
            self.inner.$method(Wrap::new(visitor, self.input))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Bounded<'_, '_, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(),
        deserialize_i32(), deserialize_i64(), deserialize_i128(), deserialize_u8(),
        deserialize_u16(), deserialize_u32(), deserialize_u64(), deserialize_u128(),
        deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_option(),
        deserialize_unit(), deserialize_seq(), deserialize_map(), deserialize_identifier(),
        deserialize_ignored_any(),
        deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
    }

    checked_deserialize! {
        deserialize_str, deserialize_string, deserialize_bytes, deserialize_byte_buf,
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.inner.$method(v)
        }
    )*};
}

impl<'de, X: Visitor<'de>> Visitor<'de> for Wrap<'_, '_, X> {
    type Value = X::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visit! {
        visit_bool(bool), visit_i8(i8), visit_i16(i16), visit_i32(i32), visit_i64(i64),
        visit_i128(i128), visit_u8(u8), visit_u16(u16), visit_u32(u32), visit_u64(u64),
        visit_u128(u128), visit_f32(f32), visit_f64(f64), visit_char(char),
        visit_str(&str), visit_borrowed_str(&'de str), visit_string(String),
        visit_bytes(&[u8]), visit_borrowed_bytes(&'de [u8]), visit_byte_buf(Vec<u8>),
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_some(Bounded {
            inner: d,
            input: self.input,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_newtype_struct(Bounded {
            inner: d,
            input: self.input,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_seq(Wrap::new(seq, self.input))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_map(Wrap::new(map, self.input))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_enum(Wrap::new(data, self.input))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Wrap<'_, '_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.inner.deserialize(Bounded {
            inner: d,
            input: self.input,
        })
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Wrap<'_, '_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.inner.next_element_seed(Wrap::new(seed, self.input))
    }

    fn size_hint(&self) -> Option<usize> {
        self.input.cap_hint(self.inner.size_hint())
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Wrap<'_, '_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.inner.next_key_seed(Wrap::new(seed, self.input))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(Wrap::new(seed, self.input))
    }

    fn size_hint(&self) -> Option<usize> {
        self.input.cap_hint(self.inner.size_hint())
    }
}

impl<'i, 'a, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Wrap<'i, 'a, A> {
    type Error = A::Error;
    type Variant = Wrap<'i, 'a, A::Variant>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), A::Error> {
        let input = self.input;
        let (value, variant) = self.inner.variant_seed(Wrap::new(seed, input))?;
        Ok((value, Wrap::new(variant, input)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Wrap<'_, '_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.inner.newtype_variant_seed(Wrap::new(seed, self.input))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.inner
            .tuple_variant(len, Wrap::new(visitor, self.input))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.inner
            .struct_variant(fields, Wrap::new(visitor, self.input))
    }
}
