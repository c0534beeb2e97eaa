//! Key files: a member or node key as JSON, written readable by the owner only. The format
//! is `lianrong_primitives::keyfile` (shared with the SDK); these are the node's uses.
//!
//! With encryption at rest (`[encryption]` in the config) the node key file is sealed
//! under the operator's data key: the same JSON with the public key in clear (what
//! genesis and peers know) and `sealed_secret_key` instead of `secret_key` -- the seed
//! under AES-256-GCM-SIV, bound to the public key:
//!
//! ```json
//! {"algorithm": "ed25519", "public_key": "<64 hex>", "sealed_secret_key": "<hex>",
//!  "sealed_with": "data key (AES-256-GCM-SIV)"}
//! ```

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use lianrong_primitives::keyfile::{self, KeyFile, MAX_KEY_FILE_BYTES};
use lianrong_primitives::{OrgId, PublicKey, SecretKey};
/// The operator's data key (re-exported for the binary, which links no storage itself).
pub use lianrong_storage::DataKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::config::NodeConfig;

/// What `sealed_with` says in a sealed key file.
const SEALED_WITH: &str = "data key (AES-256-GCM-SIV)";

/// A node key file sealed under the data key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SealedKeyFile {
    /// Always "ed25519".
    algorithm: String,
    /// The public key, in clear.
    public_key: PublicKey,
    /// The sealed 32-byte seed (hex).
    sealed_secret_key: String,
    /// How it is sealed (for the reader of the file).
    #[serde(default)]
    sealed_with: Option<String>,
}

/// What a sealed seed is bound to: its public key.
fn seal_context(public: &PublicKey) -> Vec<u8> {
    format!("lianrong node key {public}").into_bytes()
}

/// The operator's data key named by the config's `[encryption]` section, or `None`
/// without one.
pub fn data_key(config: &NodeConfig) -> Result<Option<DataKey>> {
    let Some(section) = &config.encryption else {
        return Ok(None);
    };
    let key = match (&section.key_file, &section.key_env) {
        (Some(file), _) => DataKey::read_file(file).context("encryption.key_file")?,
        (None, Some(var)) => DataKey::from_env(var).context("encryption.key_env")?,
        (None, None) => bail!("[encryption] names neither key_file nor key_env"),
    };
    Ok(Some(key))
}

/// The node's key from `path`: a plain key file, or one sealed under `data_key`.
pub fn read_node_key(path: &Path, data_key: Option<&DataKey>) -> Result<SecretKey> {
    let text = read_bounded(path)?;
    if !text.contains("\"sealed_secret_key\"") {
        let (_, key) = KeyFile::parse(&text)
            .map_err(|reason| anyhow!("{} is not a key file: {reason}", path.display()))?;
        return Ok(key);
    }
    let file: SealedKeyFile = serde_json::from_str(&text)
        .map_err(|e| anyhow!("{} is not a sealed key file: {e}", path.display()))?;
    let Some(data_key) = data_key else {
        bail!(
            "{} is sealed under the operator's data key: give it in [encryption] (key_file \
             or key_env)",
            path.display()
        );
    };
    if file.algorithm != "ed25519" {
        bail!(
            "{}: unsupported algorithm {:?}",
            path.display(),
            file.algorithm
        );
    }
    let sealed = hex::decode(file.sealed_secret_key.trim())
        .map_err(|_| anyhow!("{}: sealed_secret_key is not hex", path.display()))?;
    let seed = data_key
        .open(&seal_context(&file.public_key), &sealed)
        .map_err(|_| {
            anyhow!(
                "{} does not open with the data key of [encryption] (sealed under another \
                 key, or altered)",
                path.display()
            )
        })?;
    let seed: [u8; 32] = seed
        .as_slice()
        .try_into()
        .map_err(|_| anyhow!("{}: the sealed seed is not 32 bytes", path.display()))?;
    let key = SecretKey::from_seed(seed);
    if key.public() != file.public_key {
        bail!(
            "{}: public_key does not match the sealed secret",
            path.display()
        );
    }
    Ok(key)
}

/// The node's key as its config names it (sealed files opened with `[encryption]`'s
/// data key).
pub fn node_key(config: &NodeConfig) -> Result<SecretKey> {
    read_node_key(&config.node.node_key, data_key(config)?.as_ref())
}

fn read_bounded(path: &Path) -> Result<Zeroizing<String>> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("{}", path.display()))?
        .len();
    if len > MAX_KEY_FILE_BYTES {
        bail!("{} is too large to be a key file", path.display());
    }
    Ok(Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?,
    ))
}

/// The text of a key file holding `key` sealed under `data_key`.
fn sealed_text(key: &SecretKey, data_key: &DataKey) -> Result<String> {
    let public = key.public();
    let seed = Zeroizing::new(key.to_bytes());
    let sealed = data_key.seal(&seal_context(&public), &*seed)?;
    let file = SealedKeyFile {
        algorithm: "ed25519".into(),
        public_key: public,
        sealed_secret_key: hex::encode(sealed),
        sealed_with: Some(SEALED_WITH.into()),
    };
    Ok(format!("{}\n", serde_json::to_string_pretty(&file)?))
}

/// Writes a new node key to `path` sealed under `data_key` (never overwriting).
pub fn write_new_sealed(path: &Path, data_key: &DataKey) -> Result<PublicKey> {
    let key = SecretKey::generate();
    keyfile::write_private(path, sealed_text(&key, data_key)?.as_bytes())
        .with_context(|| format!("{}", path.display()))?;
    Ok(key.public())
}

/// Seals the plain key file at `path` under `data_key` in place: the sealed file is
/// written beside it (mode 0600, synced) and renamed over it, so the plain secret is gone
/// from that name once this returns. Refuses a file already sealed.
pub fn seal_in_place(path: &Path, data_key: &DataKey) -> Result<PublicKey> {
    let text = read_bounded(path)?;
    if text.contains("\"sealed_secret_key\"") {
        bail!("{} is sealed already", path.display());
    }
    let (_, key) = KeyFile::parse(&text)
        .map_err(|reason| anyhow!("{} is not a key file: {reason}", path.display()))?;
    let tmp = path.with_extension("sealing");
    if tmp.exists() {
        std::fs::remove_file(&tmp).with_context(|| format!("{}", tmp.display()))?;
    }
    keyfile::write_private(&tmp, sealed_text(&key, data_key)?.as_bytes())
        .with_context(|| format!("{}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}", path.display()))?;
    Ok(key.public())
}

/// Writes a new key to `path`, refusing to overwrite an existing file.
pub fn write_new(path: &Path) -> Result<PublicKey> {
    Ok(keyfile::write_new(path, None, None)?)
}

/// Writes a new member key of `org` on `chain_id` to `path` (never overwriting); the
/// org and chain id let clients sign without looking them up first.
pub fn write_new_member(path: &Path, org: &OrgId, chain_id: &str) -> Result<PublicKey> {
    Ok(keyfile::write_new(
        path,
        Some(org.clone()),
        Some(chain_id.to_string()),
    )?)
}

/// Reads a key file and checks that its public key matches its secret.
pub fn read(path: &Path) -> Result<SecretKey> {
    let (_, key): (KeyFile, SecretKey) = KeyFile::read(path)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_keys_read_back_and_tampering_is_caught() {
        let dir = std::env::temp_dir().join(format!("lianrong-keyfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.json");
        let _ = std::fs::remove_file(&path);
        let public = write_new(&path).unwrap();
        assert_eq!(read(&path).unwrap().public(), public);
        let text = std::fs::read_to_string(&path).unwrap();
        let other = SecretKey::generate().public().to_hex();
        std::fs::write(&path, text.replace(&public.to_hex(), &other)).unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("does not match"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sealed_node_keys_open_with_their_data_key_only_and_hide_the_seed() {
        let dir = tempfile::tempdir().unwrap();
        let data_key = DataKey::generate();
        let path = dir.path().join("node_key.json");
        let public = write_new(&path).unwrap();
        let seed = hex::encode(read(&path).unwrap().to_bytes());
        assert_eq!(seal_in_place(&path, &data_key).unwrap(), public);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&seed), "the seed is gone from the file");
        assert!(
            text.contains(&public.to_hex()),
            "the public key stays readable"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0);
        }
        let key = read_node_key(&path, Some(&data_key)).unwrap();
        assert_eq!(key.public(), public);
        let err = read_node_key(&path, None).unwrap_err().to_string();
        assert!(
            err.contains("sealed under the operator's data key"),
            "{err}"
        );
        let err = read_node_key(&path, Some(&DataKey::generate()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not open with the data key"), "{err}");
        assert!(seal_in_place(&path, &data_key).is_err(), "sealed twice");
        // A new sealed key, and a plain one read with a data key configured.
        let fresh = dir.path().join("fresh.json");
        let public = write_new_sealed(&fresh, &data_key).unwrap();
        assert_eq!(
            read_node_key(&fresh, Some(&data_key)).unwrap().public(),
            public
        );
        let plain = dir.path().join("plain.json");
        let public = write_new(&plain).unwrap();
        assert_eq!(
            read_node_key(&plain, Some(&data_key)).unwrap().public(),
            public
        );
    }
}
