//! Primitives shared by every LianRong crate: SHA-256 [`Hash`], Ed25519 keys and
//! signatures with ONE validity rule (ZIP-215), organisation ids, and the one canonical
//! binary [`codec`].
//!
//! This crate knows nothing of invoices, blocks or networking; it must stay small and
//! dependency-light because everything else depends on it.

pub mod bytes;
pub mod codec;
pub mod crypto;
pub mod hash;
pub mod ids;
pub mod keyfile;
pub mod request;

pub use codec::{decode, encode, CodecError};
pub use crypto::{
    signing_message, verify, BatchVerifier, KeyError, PublicKey, SecretKey, Signature,
    SignatureError,
};
pub use hash::{sha256, Hash};
pub use ids::{mask, IdError, OrgId};
pub use keyfile::{KeyFile, KeyFileError};
