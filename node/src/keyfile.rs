//! Key files: a member or node key as JSON, written readable by the owner only.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use lianrong_primitives::{PublicKey, SecretKey};
use serde::{Deserialize, Serialize};

/// The on-disk form of a key.
#[derive(Debug, Serialize, Deserialize)]
pub struct KeyFile {
    /// Always "ed25519".
    pub algorithm: String,
    /// Hex public key: what genesis and other parties know.
    pub public_key: PublicKey,
    /// Hex 32-byte seed: the secret.
    pub secret_key: String,
}

/// Writes a new key to `path`, refusing to overwrite an existing file.
pub fn write_new(path: &Path) -> Result<PublicKey> {
    let key = SecretKey::generate();
    let file = KeyFile {
        algorithm: "ed25519".into(),
        public_key: key.public(),
        secret_key: hex::encode(key.to_bytes()),
    };
    let json = serde_json::to_string_pretty(&file)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    f.write_all(json.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    Ok(file.public_key)
}

/// Reads a key file and checks that its public key matches its secret.
pub fn read(path: &Path) -> Result<SecretKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read key file {}", path.display()))?;
    if text.len() > 4096 {
        bail!("{} is too large to be a key file", path.display());
    }
    let file: KeyFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a key file", path.display()))?;
    if file.algorithm != "ed25519" {
        bail!(
            "{}: unsupported algorithm {:?}",
            path.display(),
            file.algorithm
        );
    }
    let mut seed = [0u8; 32];
    hex::decode_to_slice(file.secret_key.trim(), &mut seed)
        .with_context(|| format!("{}: secret_key must be 64 hex digits", path.display()))?;
    let key = SecretKey::from_seed(seed);
    if key.public() != file.public_key {
        bail!("{}: public_key does not match secret_key", path.display());
    }
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
}
