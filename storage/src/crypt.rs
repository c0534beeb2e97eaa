//! Encryption at rest: what reaches RocksDB's files (SST files, the write-ahead log,
//! checkpoints and so backups) is ciphertext for every value and for every key component
//! that carries a business identifier, under the operator's 32-byte data key.
//!
//! rust-rocksdb offers no encrypted `Env`, so the database encrypts above RocksDB:
//!
//! - **Values**, in every column family: AES-256-GCM-SIV with a random 96-bit nonce, the
//!   column family and the stored key as associated data (a value moved under another key
//!   does not decrypt). GCM-SIV because a node writes billions of values over its life
//!   under one key: a repeated random nonce costs plain GCM its key, GCM-SIV only reveals
//!   that the same value was written twice under the same key.
//! - **Ledger keys** (column families `state` and `index`: `doc/invoice/INV-7`,
//!   `taxid/...`, `hist/...`, `rcv/holder/SUP-1/RCV-3`): the first path component (the
//!   namespace) and the components [`LAYOUTS`] lists as clear (document kinds, and the
//!   zero-padded height / transaction / event numbers that order a document's history)
//!   stay as they are; every other component becomes a 16-byte HMAC-SHA256 token, so an
//!   exact lookup and a scan of a whole-component prefix (`doc/invoice/`,
//!   `rcv/holder/SUP-1/`) still work. The plain key travels inside the sealed value, so
//!   a scan gives plain keys back.
//! - **Tree value keys** (`jmt_values`: the SHA-256 of a state key, then a version): the
//!   hash becomes its HMAC (a hash of a guessed key would otherwise confirm the guess);
//!   the version stays big-endian, so versions stay in order.
//! - Everything else keeps its key: heights, block and transaction hashes, transaction
//!   positions (a height and an index), tree node keys
//!   (a version and a few nibbles of a key's hash), the `meta` and `safety` record names.
//!   None of it is ledger plaintext.
//!
//! Tokens lose the order of what they replace: a scan over tokens is in token order. The
//! contract layer's scans (`Storage::scan_prefix`, whose order decides which receivables
//! an overdue sweep marks first) are sorted back into plain key order by the database;
//! the API's paged lists keep token order (each node its own), with cursors that stay
//! plain ids.
//!
//! Subkeys come from the data key by HKDF-SHA256 with a random salt kept in the
//! database, beside a key check value that tells a wrong key from a right one at open.

use std::path::Path;

use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::error::DbError;
use super::schema::{CF_INDEX, CF_JMT_VALUES, CF_STATE};

/// The bytes of a data key.
pub const DATA_KEY_BYTES: usize = 32;
/// Largest key file read (a key is 64 hex digits; comments and newlines fit).
const MAX_KEY_FILE_BYTES: u64 = 1024;
/// Bytes of a ledger key component's token.
pub const TOKEN_BYTES: usize = 16;
/// Envelope version byte of a sealed value.
const SEALED_V1: u8 = 1;
/// Nonce bytes of AES-GCM-SIV.
const NONCE_BYTES: usize = 12;
/// Version byte of the database's encryption record.
const RECORD_V1: u8 = 1;
/// Bytes of the random salt of a database's subkeys.
const SALT_BYTES: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// Why a data key could not be had, or a sealed blob not opened.
#[derive(Debug, thiserror::Error)]
pub enum CryptError {
    /// The text is not a data key.
    #[error("{what}: {reason}")]
    Invalid {
        /// Where the key came from (a file, a variable).
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A key file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A sealed blob does not open under this key: another key sealed it, or it was
    /// altered.
    #[error("{0} does not decrypt under this data key (another key sealed it, or it was altered)")]
    WrongKey(String),
}

/// The operator's data key: 32 random bytes, kept outside the node's site, in a file
/// (`[encryption] key_file`) or an environment variable (`key_env`). Wiped from memory
/// when dropped; never printed.
#[derive(Clone)]
pub struct DataKey {
    bytes: Zeroizing<[u8; DATA_KEY_BYTES]>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

impl PartialEq for DataKey {
    fn eq(&self, other: &Self) -> bool {
        // Only compared in tests and options; not a secret-dependent branch an attacker
        // can time.
        *self.bytes == *other.bytes
    }
}

impl Eq for DataKey {}

impl DataKey {
    /// A key of these bytes.
    pub fn from_bytes(bytes: [u8; DATA_KEY_BYTES]) -> DataKey {
        DataKey {
            bytes: Zeroizing::new(bytes),
        }
    }

    /// A fresh random key (the operating system's generator).
    pub fn generate() -> DataKey {
        let mut bytes = Zeroizing::new([0u8; DATA_KEY_BYTES]);
        rand::rngs::OsRng.fill_bytes(&mut *bytes);
        DataKey { bytes }
    }

    /// The key as 64 lower-case hex digits (what a key file holds).
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(*self.bytes))
    }

    /// Parses 64 hex digits or the base64 of 32 bytes (surrounding white space ignored);
    /// `what` names the source in the error.
    pub fn parse(text: &str, what: &str) -> Result<DataKey, CryptError> {
        use base64::Engine as _;
        let text = text.trim();
        let mut bytes = Zeroizing::new([0u8; DATA_KEY_BYTES]);
        if text.len() == 2 * DATA_KEY_BYTES && hex::decode_to_slice(text, &mut *bytes).is_ok() {
            return Ok(DataKey { bytes });
        }
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_default(),
        );
        if decoded.len() == DATA_KEY_BYTES {
            bytes.copy_from_slice(&decoded);
            return Ok(DataKey { bytes });
        }
        Err(CryptError::Invalid {
            what: what.into(),
            reason: format!(
                "a data key is {DATA_KEY_BYTES} bytes written as 64 hex digits or in base64 \
                 (44 characters); this is {} characters of something else",
                text.len()
            ),
        })
    }

    /// Reads a key file (64 hex digits or base64).
    pub fn read_file(path: &Path) -> Result<DataKey, CryptError> {
        let io = |source| CryptError::Io {
            path: path.display().to_string(),
            source,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_KEY_FILE_BYTES {
            return Err(CryptError::Invalid {
                what: path.display().to_string(),
                reason: format!("{len} bytes is too large for a data key file"),
            });
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
        Self::parse(&text, &path.display().to_string())
    }

    /// Reads the key from the environment variable `var`.
    pub fn from_env(var: &str) -> Result<DataKey, CryptError> {
        let what = format!("environment variable {var}");
        let text = Zeroizing::new(std::env::var(var).map_err(|e| CryptError::Invalid {
            what: what.clone(),
            reason: e.to_string(),
        })?);
        Self::parse(&text, &what)
    }

    /// A subkey for `purpose` (HKDF-SHA256 with `salt`).
    fn derive(&self, salt: &[u8], purpose: &str) -> Zeroizing<[u8; 32]> {
        let mut okm = Zeroizing::new([0u8; 32]);
        let hk = Hkdf::<Sha256>::new(Some(salt), &*self.bytes);
        // 32 bytes is far below HKDF-SHA256's limit of 255 x 32.
        #[allow(clippy::expect_used, reason = "32 bytes of output is always valid")]
        hk.expand(purpose.as_bytes(), &mut *okm)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        okm
    }

    /// Seals `plaintext` (a key file's secret) under a subkey of this key: random nonce,
    /// `context` (what the blob is, e.g. which public key it is the secret of) bound as
    /// associated data. Output: version, nonce, ciphertext.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptError> {
        let aead = aead_of(&self.derive(b"lianrong-blob", "lianrong/blob/v1"));
        seal_with(&aead, context, plaintext).ok_or_else(|| CryptError::Invalid {
            what: "sealed blob".into(),
            reason: "too large to seal".into(),
        })
    }

    /// Opens what [`DataKey::seal`] sealed with the same `context`.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptError> {
        let aead = aead_of(&self.derive(b"lianrong-blob", "lianrong/blob/v1"));
        open_with(&aead, context, sealed)
            .map(Zeroizing::new)
            .ok_or_else(|| CryptError::WrongKey("the sealed blob".into()))
    }
}

fn aead_of(key: &[u8; 32]) -> Aes256GcmSiv {
    Aes256GcmSiv::new(key.into())
}

/// `version ++ nonce ++ AES-256-GCM-SIV(plaintext, aad)`; `None` only for a plaintext
/// beyond the cipher's limit (64 GiB).
fn seal_with(aead: &Aes256GcmSiv, aad: &[u8], plaintext: &[u8]) -> Option<Vec<u8>> {
    let mut nonce = [0u8; NONCE_BYTES];
    rand::thread_rng().fill_bytes(&mut nonce);
    let sealed = aead
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .ok()?;
    let mut out = Vec::with_capacity(1 + NONCE_BYTES + sealed.len());
    out.push(SEALED_V1);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Some(out)
}

/// Opens [`seal_with`]'s output; `None` if it was sealed otherwise or altered.
fn open_with(aead: &Aes256GcmSiv, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    let (&version, rest) = sealed.split_first()?;
    if version != SEALED_V1 || rest.len() < NONCE_BYTES {
        return None;
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_BYTES);
    aead.decrypt(
        Nonce::from_slice(nonce),
        Payload {
            msg: ciphertext,
            aad,
        },
    )
    .ok()
}

/// Whether a ledger key component stays as it is or becomes a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Kept: a name from a fixed vocabulary, or a number that orders entries.
    Clear,
    /// Replaced by its token.
    Secret,
}

use Part::{Clear as C, Secret as S};

/// The namespaces with clear components after the namespace itself, position by
/// position (every other namespace, and every position past a list, is secret):
/// document kinds; a history entry's height, transaction and event numbers, so one
/// document's history reads oldest first; which receivable index. Each clear position
/// holds no ledger plaintext: kinds and index names are this code's vocabulary, and
/// heights are public to every reader of blocks.
const LAYOUTS: &[(&[u8], &[Part])] = &[
    (b"doc", &[C, S]),
    (b"hist", &[C, S, C, C, C]),
    (b"hhead", &[C, S]),
    (b"rcv", &[C, S, S]),
];

/// The part at `position` (0 = the component after the namespace) of namespace `ns`.
fn part_of(ns: &[u8], position: usize) -> Part {
    LAYOUTS
        .iter()
        .find(|(name, _)| *name == ns)
        .and_then(|(_, parts)| parts.get(position).copied())
        .unwrap_or(S)
}

/// How a column family's keys are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyForm {
    /// Ledger keys: namespace and layout-clear components kept, the rest tokens; the
    /// plain key is sealed with the value.
    Ledger,
    /// `jmt_values`: a keyed hash of the key hash, then the version.
    TreeValue,
    /// As given (heights, hashes, record names).
    Clear,
}

fn key_form(cf: &str) -> KeyForm {
    match cf {
        CF_STATE | CF_INDEX => KeyForm::Ledger,
        CF_JMT_VALUES => KeyForm::TreeValue,
        _ => KeyForm::Clear,
    }
}

/// A database's ciphers: the value cipher and the token key, derived from the data key
/// with the database's salt.
pub(crate) struct Crypt {
    values: Aes256GcmSiv,
    tokens: HmacSha256,
    key: DataKey,
}

/// The database's encryption record (kept in clear under `meta/encryption`): version,
/// salt, key check value.
pub(crate) struct Record {
    salt: [u8; SALT_BYTES],
    check: [u8; 32],
}

impl Record {
    /// A new record for `key` with a fresh salt.
    pub(crate) fn new(key: &DataKey) -> Record {
        let mut salt = [0u8; SALT_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let check = *key.derive(&salt, "lianrong/storage/v1/key-check");
        Record { salt, check }
    }

    /// Its stored bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + SALT_BYTES + 32);
        out.push(RECORD_V1);
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.check);
        out
    }

    /// Parses stored bytes.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Record, DbError> {
        let bad = || DbError::corrupt("meta encryption record", "not version 1 with 64 bytes");
        let (&version, rest) = bytes.split_first().ok_or_else(bad)?;
        if version != RECORD_V1 || rest.len() != SALT_BYTES + 32 {
            return Err(bad());
        }
        let (salt, check) = rest.split_at(SALT_BYTES);
        Ok(Record {
            salt: salt.try_into().map_err(|_| bad())?,
            check: check.try_into().map_err(|_| bad())?,
        })
    }

    /// The ciphers, if `key` is the key this record was made with.
    pub(crate) fn unlock(&self, key: &DataKey) -> Option<Crypt> {
        let check = key.derive(&self.salt, "lianrong/storage/v1/key-check");
        if *check != self.check {
            return None;
        }
        let values = aead_of(&key.derive(&self.salt, "lianrong/storage/v1/values"));
        let token_key = key.derive(&self.salt, "lianrong/storage/v1/key-tokens");
        let tokens = <HmacSha256 as Mac>::new_from_slice(&*token_key).ok()?;
        Some(Crypt {
            values,
            tokens,
            key: key.clone(),
        })
    }
}

impl Crypt {
    /// The data key (to open a checkpoint of this database).
    pub(crate) fn key(&self) -> &DataKey {
        &self.key
    }

    /// The token of the component at `position` of namespace `ns`: bound to both, so the
    /// same org id under two namespaces gives two unrelated tokens.
    fn token(&self, ns: &[u8], position: usize, component: &[u8]) -> [u8; TOKEN_BYTES] {
        let mut mac = self.tokens.clone();
        mac.update(ns);
        mac.update(&[0, u8::try_from(position).unwrap_or(u8::MAX), 0]);
        mac.update(component);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; TOKEN_BYTES];
        out.copy_from_slice(&full[..TOKEN_BYTES]);
        out
    }

    /// Appends the stored form of `components` (after namespace `ns`); a clear component
    /// is followed by `/` when another follows it or when `open_end` (a prefix ends there).
    fn push_components(&self, out: &mut Vec<u8>, ns: &[u8], components: &[&[u8]], open_end: bool) {
        for (i, c) in components.iter().enumerate() {
            match part_of(ns, i) {
                Part::Clear => {
                    out.extend_from_slice(c);
                    if open_end || i + 1 < components.len() {
                        out.push(b'/');
                    }
                }
                Part::Secret => out.extend_from_slice(&self.token(ns, i, c)),
            }
        }
    }

    /// The stored key of the plain key `key` in column family `cf`.
    pub(crate) fn encode_key(&self, cf: &str, key: &[u8]) -> Vec<u8> {
        match key_form(cf) {
            KeyForm::Clear => key.to_vec(),
            KeyForm::TreeValue => self.tree_value_key(key),
            KeyForm::Ledger => {
                let mut parts = key.split(|b| *b == b'/');
                let ns = parts.next().unwrap_or_default();
                let rest: Vec<&[u8]> = parts.collect();
                let mut out = Vec::with_capacity(key.len() + TOKEN_BYTES * rest.len());
                out.extend_from_slice(ns);
                if !rest.is_empty() {
                    out.push(b'/');
                }
                self.push_components(&mut out, ns, &rest, false);
                out
            }
        }
    }

    /// `jmt_values` keys: HMAC of the 32-byte key hash, then the version as it was.
    fn tree_value_key(&self, key: &[u8]) -> Vec<u8> {
        let (hash, version) = key.split_at(key.len().min(32));
        let mut mac = self.tokens.clone();
        mac.update(b"jmt_values\0");
        mac.update(hash);
        let mut out = mac.finalize().into_bytes().to_vec();
        out.extend_from_slice(version);
        out
    }

    /// The stored prefix selecting the stored keys of the plain keys starting with
    /// `prefix`, and whether it selects exactly those (`false`: a prefix ending inside a
    /// secret component selects the whole component's range, which the caller filters
    /// by plain key).
    pub(crate) fn encode_prefix(&self, cf: &str, prefix: &[u8]) -> (Vec<u8>, bool) {
        if key_form(cf) != KeyForm::Ledger {
            // Tree value keys are only ever read by exact key hash.
            return (prefix.to_vec(), true);
        }
        let parts: Vec<&[u8]> = prefix.split(|b| *b == b'/').collect();
        let Some((tail, complete)) = parts.split_last() else {
            return (Vec::new(), true);
        };
        let Some((ns, after_ns)) = complete.split_first() else {
            // Inside the namespace, which is clear.
            return (tail.to_vec(), true);
        };
        let mut out = ns.to_vec();
        out.push(b'/');
        self.push_components(&mut out, ns, after_ns, true);
        if tail.is_empty() {
            return (out, true);
        }
        match part_of(ns, after_ns.len()) {
            Part::Clear => {
                out.extend_from_slice(tail);
                (out, true)
            }
            Part::Secret => (out, false),
        }
    }

    /// The associated data of a value: its column family and stored key.
    fn aad(cf: &str, stored_key: &[u8]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(cf.len() + 1 + stored_key.len());
        aad.extend_from_slice(cf.as_bytes());
        aad.push(0);
        aad.extend_from_slice(stored_key);
        aad
    }

    /// The stored value of `value` under plain key `key` (stored as `stored_key`).
    pub(crate) fn seal(
        &self,
        cf: &str,
        stored_key: &[u8],
        key: &[u8],
        value: &[u8],
    ) -> Result<Vec<u8>, DbError> {
        let sealed = if key_form(cf) == KeyForm::Ledger {
            let len = u32::try_from(key.len()).map_err(|_| DbError::TooLarge {
                what: "key".into(),
                len: key.len(),
                limit: u32::MAX as usize,
            })?;
            let mut plain = Zeroizing::new(Vec::with_capacity(4 + key.len() + value.len()));
            plain.extend_from_slice(&len.to_be_bytes());
            plain.extend_from_slice(key);
            plain.extend_from_slice(value);
            seal_with(&self.values, &Self::aad(cf, stored_key), &plain)
        } else {
            seal_with(&self.values, &Self::aad(cf, stored_key), value)
        };
        sealed.ok_or_else(|| DbError::TooLarge {
            what: format!("value in {cf}"),
            len: value.len(),
            limit: 1 << 36,
        })
    }

    /// Opens a stored value: the plain key (of ledger keys; `None` otherwise) and value.
    pub(crate) fn open(
        &self,
        cf: &str,
        stored_key: &[u8],
        sealed: &[u8],
    ) -> Result<(Option<Vec<u8>>, Vec<u8>), DbError> {
        let what = || format!("{cf} record {}", hex::encode(stored_key));
        let plain =
            open_with(&self.values, &Self::aad(cf, stored_key), sealed).ok_or_else(|| {
                DbError::corrupt(
                    what(),
                    "does not decrypt under the data key (damaged, or written under another key)",
                )
            })?;
        if key_form(cf) != KeyForm::Ledger {
            return Ok((None, plain));
        }
        let bad = || DbError::corrupt(what(), "sealed record without its key");
        let len_bytes: [u8; 4] = plain
            .get(..4)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let end = len
            .checked_add(4)
            .filter(|e| *e <= plain.len())
            .ok_or_else(bad)?;
        Ok((Some(plain[4..end].to_vec()), plain[end..].to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crypt() -> Crypt {
        Record::new(&DataKey::from_bytes([7; 32]))
            .unlock(&DataKey::from_bytes([7; 32]))
            .expect("the record's own key")
    }

    #[test]
    fn keys_parse_from_hex_and_base64_and_nothing_else() {
        let hex = "00".repeat(31) + "ff";
        let k = DataKey::parse(&format!("  {hex}\n"), "test").unwrap();
        assert_eq!(k.to_hex().as_str(), hex);
        let b64 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAP8=";
        assert_eq!(DataKey::parse(b64, "test").unwrap(), k);
        for bad in ["", "00", &"0".repeat(63), "not a key"] {
            let err = DataKey::parse(bad, "KEYVAR").unwrap_err().to_string();
            assert!(err.starts_with("KEYVAR: a data key is 32 bytes"), "{err}");
        }
        assert_eq!(format!("{k:?}"), "DataKey(..)", "never printed");
    }

    #[test]
    fn a_record_unlocks_only_with_its_key_and_round_trips() {
        let key = DataKey::generate();
        let record = Record::decode(&Record::new(&key).encode()).unwrap();
        assert!(record.unlock(&key).is_some());
        assert!(record.unlock(&DataKey::generate()).is_none());
        assert!(Record::decode(&[1, 2, 3]).is_err());
    }

    #[test]
    fn sealed_blobs_open_only_with_their_key_and_context() {
        let key = DataKey::generate();
        let sealed = key.seal(b"node key A", b"secret seed").unwrap();
        assert_eq!(&**key.open(b"node key A", &sealed).unwrap(), b"secret seed");
        assert!(key.open(b"node key B", &sealed).is_err());
        assert!(DataKey::generate().open(b"node key A", &sealed).is_err());
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(key.open(b"node key A", &altered).is_err());
    }

    #[test]
    fn ledger_keys_hide_ids_and_keep_clear_parts_and_prefixes() {
        let c = crypt();
        let k = c.encode_key(CF_STATE, b"doc/invoice/INV-ZEBRA-1");
        assert!(k.starts_with(b"doc/invoice/"));
        assert_eq!(k.len(), b"doc/invoice/".len() + TOKEN_BYTES);
        assert!(!k.windows(5).any(|w| w == b"ZEBRA"));
        assert_eq!(
            k,
            c.encode_key(CF_STATE, b"doc/invoice/INV-ZEBRA-1"),
            "deterministic"
        );
        // A whole-component prefix selects exactly the keys under it.
        for (prefix, key, inside) in [
            (&b"doc/invoice/"[..], &b"doc/invoice/INV-1"[..], true),
            (b"doc/invoice/", b"doc/invoicex/INV-1", false),
            (b"doc/inv", b"doc/invoice/INV-1", true),
            (b"", b"taxid/91440300", true),
            (
                b"h",
                b"hist/invoice/X/00000000000000000001/000000/0000",
                true,
            ),
            (b"rcv/holder/SUP-1/", b"rcv/holder/SUP-1/RCV-1", true),
            (b"rcv/holder/SUP-1/", b"rcv/holder/SUP-10/RCV-1", false),
            (b"rcv/holder/SUP-1/", b"rcv/debtor/SUP-1/RCV-1", false),
        ] {
            let (p, exact) = c.encode_prefix(CF_STATE, prefix);
            assert!(exact);
            assert_eq!(
                c.encode_key(CF_STATE, key).starts_with(&p),
                inside,
                "{} under {}",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(prefix)
            );
        }
        // Inside a secret component: the enclosing range, to be filtered.
        let (p, exact) = c.encode_prefix(CF_STATE, b"doc/invoice/INV");
        assert!(!exact);
        assert_eq!(p, b"doc/invoice/");
        // A document's history stays in height order.
        let h = |height: u64| {
            c.encode_key(
                CF_INDEX,
                format!("hist/invoice/INV-1/{height:020}/000000/0000").as_bytes(),
            )
        };
        assert!(h(9) < h(10) && h(10) < h(100));
        // The same id in two namespaces gives unrelated tokens.
        let a = c.encode_key(CF_STATE, b"taxid/X");
        let b = c.encode_key(CF_STATE, b"seq/X");
        assert_ne!(a[a.len() - TOKEN_BYTES..], b[b.len() - TOKEN_BYTES..]);
        // Keys of other families stay as they are.
        assert_eq!(c.encode_key("blocks", b"\0\0\0\x01"), b"\0\0\0\x01");
    }

    #[test]
    fn values_open_only_under_their_key_and_family() {
        let c = crypt();
        let stored = c.encode_key(CF_STATE, b"doc/invoice/INV-1");
        let sealed = c
            .seal(CF_STATE, &stored, b"doc/invoice/INV-1", b"value")
            .unwrap();
        let (key, value) = c.open(CF_STATE, &stored, &sealed).unwrap();
        assert_eq!(
            (key.as_deref(), value.as_slice()),
            (Some(&b"doc/invoice/INV-1"[..]), &b"value"[..])
        );
        let other = c.encode_key(CF_STATE, b"doc/invoice/INV-2");
        assert!(
            c.open(CF_STATE, &other, &sealed).is_err(),
            "moved under another key"
        );
        assert!(
            c.open(CF_INDEX, &stored, &sealed).is_err(),
            "moved to another family"
        );
        let blocks = c.seal("blocks", b"k", b"k", b"block").unwrap();
        assert_eq!(
            c.open("blocks", b"k", &blocks).unwrap(),
            (None, b"block".to_vec())
        );
    }
}
