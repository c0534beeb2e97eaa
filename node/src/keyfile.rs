//! Key files: a member or node key as JSON, written readable by the owner only. The format
//! is `lianrong_primitives::keyfile` (shared with the SDK); these are the node's uses.

use std::path::Path;

use anyhow::Result;
use lianrong_primitives::keyfile::{self, KeyFile};
use lianrong_primitives::{OrgId, PublicKey, SecretKey};

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
}
