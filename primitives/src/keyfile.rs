//! Key files: a member or node key as JSON, written readable by the owner only.
//!
//! One definition shared by the node (`lianrong keygen`, `lianrong testnet`, the node's
//! own key) and the SDK (member keys that sign requests and transactions):
//!
//! ```json
//! {"algorithm": "ed25519", "public_key": "<64 hex>", "secret_key": "<64 hex seed>",
//!  "org": "SUP-1", "chain_id": "lianrong-local"}
//! ```
//!
//! `org` and `chain_id` are optional hints written by `lianrong testnet` for member keys:
//! they save a client a lookup (the org) and let it sign its very first request (the
//! chain id is part of every signed message).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{OrgId, PublicKey, SecretKey};

/// Largest key file read: a real one is a few hundred bytes.
pub const MAX_KEY_FILE_BYTES: u64 = 4096;

/// The on-disk form of a key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFile {
    /// Always "ed25519".
    pub algorithm: String,
    /// Hex public key: what genesis and other parties know.
    pub public_key: PublicKey,
    /// Hex 32-byte seed: the secret.
    pub secret_key: String,
    /// The organisation a member key belongs to, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<OrgId>,
    /// The chain the key is meant for, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<String>,
}

/// Why a key file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file exists already (keys are never overwritten).
    #[error("{0} exists already; a key file is never overwritten")]
    Exists(PathBuf),
    /// The file is too large to be a key file.
    #[error("{0} is too large to be a key file")]
    TooLarge(PathBuf),
    /// The file is not a key file.
    #[error("{path} is not a key file: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl KeyFile {
    /// The file contents for `key`.
    pub fn new(key: &SecretKey, org: Option<OrgId>, chain_id: Option<String>) -> Self {
        KeyFile {
            algorithm: "ed25519".into(),
            public_key: key.public(),
            secret_key: hex::encode(key.to_bytes()),
            org,
            chain_id,
        }
    }

    /// The secret key, after checking the algorithm and that the public key matches it.
    pub fn secret(&self) -> Result<SecretKey, String> {
        if self.algorithm != "ed25519" {
            return Err(format!("unsupported algorithm {:?}", self.algorithm));
        }
        let mut seed = [0u8; 32];
        hex::decode_to_slice(self.secret_key.trim(), &mut seed)
            .map_err(|_| "secret_key must be 64 hex digits".to_string())?;
        let key = SecretKey::from_seed(seed);
        if key.public() != self.public_key {
            return Err("public_key does not match secret_key".into());
        }
        Ok(key)
    }

    /// Parses and checks key file text (see [`KeyFile::secret`]).
    pub fn parse(text: &str) -> Result<(KeyFile, SecretKey), String> {
        let file: KeyFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let key = file.secret()?;
        Ok((file, key))
    }

    /// Reads and checks a key file.
    pub fn read(path: &Path) -> Result<(KeyFile, SecretKey), KeyFileError> {
        let io = |source| KeyFileError::Io {
            path: path.into(),
            source,
        };
        let f = std::fs::File::open(path).map_err(io)?;
        let mut text = String::new();
        // Read one byte past the limit to tell "exactly at the limit" from "over it".
        std::io::Read::read_to_string(
            &mut std::io::Read::take(f, MAX_KEY_FILE_BYTES + 1),
            &mut text,
        )
        .map_err(io)?;
        if text.len() as u64 > MAX_KEY_FILE_BYTES {
            return Err(KeyFileError::TooLarge(path.into()));
        }
        Self::parse(&text).map_err(|reason| KeyFileError::Invalid {
            path: path.into(),
            reason,
        })
    }

    /// Writes the file with mode 0600, refusing to overwrite an existing one.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyFileError> {
        let io = |source| KeyFileError::Io {
            path: path.into(),
            source,
        };
        let json = serde_json::to_string_pretty(self).map_err(|e| KeyFileError::Invalid {
            path: path.into(),
            reason: e.to_string(),
        })?;
        write_private(path, format!("{json}\n").as_bytes()).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                KeyFileError::Exists(path.into())
            } else {
                io(e)
            }
        })
    }
}

/// Writes a secret (a key file, an API token) readable by its owner only (mode 0600 on
/// Unix), refusing to overwrite an existing file and syncing it to disk. The one way
/// every secret this workspace writes reaches the file system.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Writes a fresh key to `path` (never overwriting) and returns its public key.
pub fn write_new(
    path: &Path,
    org: Option<OrgId>,
    chain_id: Option<String>,
) -> Result<PublicKey, KeyFileError> {
    let key = SecretKey::generate();
    let file = KeyFile::new(&key, org, chain_id);
    file.write_new(path)?;
    Ok(file.public_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lianrong-kf-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn written_keys_read_back_with_their_org_and_are_never_overwritten() {
        let d = dir("rw");
        let path = d.join("k.json");
        let org = OrgId::new("SUP-1").unwrap();
        let public = write_new(&path, Some(org.clone()), Some("chain-x".into())).unwrap();
        let (file, key) = KeyFile::read(&path).unwrap();
        assert_eq!(key.public(), public);
        assert_eq!(file.org, Some(org));
        assert_eq!(file.chain_id.as_deref(), Some("chain-x"));
        assert!(matches!(
            write_new(&path, None, None),
            Err(KeyFileError::Exists(_))
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "a key file must not be readable by others");
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn files_without_the_optional_fields_still_read() {
        let key = SecretKey::from_seed([7; 32]);
        let text = format!(
            r#"{{"algorithm":"ed25519","public_key":"{}","secret_key":"{}"}}"#,
            key.public(),
            hex::encode(key.to_bytes())
        );
        let (file, back) = KeyFile::parse(&text).unwrap();
        assert_eq!(back.public(), key.public());
        assert_eq!((file.org, file.chain_id), (None, None));
    }

    #[test]
    fn tampered_oversized_and_foreign_files_are_refused() {
        let key = SecretKey::from_seed([8; 32]);
        let mut f = KeyFile::new(&key, None, None);
        f.public_key = SecretKey::from_seed([9; 32]).public();
        assert!(f.secret().unwrap_err().contains("does not match"));
        let mut f = KeyFile::new(&key, None, None);
        f.algorithm = "rsa".into();
        assert!(f.secret().is_err());
        assert!(KeyFile::parse("not json").is_err());
        let d = dir("big");
        let path = d.join("big.json");
        std::fs::write(&path, vec![b' '; 5000]).unwrap();
        assert!(matches!(
            KeyFile::read(&path),
            Err(KeyFileError::TooLarge(_))
        ));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
