//! The Ed25519 key that signs checkpoints and purge tombstones, and the ring of
//! public keys (current and retired) that verifies them.
//!
//! Keys live as PKCS#8 PEM files `<dir>/<key_id>.pem` (mode 0600); `<dir>/current`
//! names the one that signs. Rotating adds a key and points `current` at it; retired
//! keys stay, so old checkpoints keep verifying by their `key_id`.

use std::path::Path;

use anyhow::Context as _;
use casetrail_core::integrity::{ChainKey, KeyRing};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};

/// The signing key and the verifying ring.
#[derive(Debug)]
pub struct Keys {
    pub current: ChainKey,
    pub ring: KeyRing,
}

impl Keys {
    /// A throwaway key, for tests and for servers given no key directory.
    pub fn ephemeral() -> Keys {
        let current = ChainKey::from_signing_key(new_signing_key());
        let ring = KeyRing::new([current.verifying_key()]);
        Keys { current, ring }
    }

    /// Loads every key in `dir`, creating the directory and a first key when empty.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<Keys> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create the key directory {}", dir.display()))?;
        restrict(dir, 0o700)?;
        let mut keys = read_keys(dir)?;
        if keys.is_empty() {
            let key = ChainKey::from_signing_key(new_signing_key());
            write_key(dir, &key)?;
            keys.push(key);
        }
        let current_id = match std::fs::read_to_string(dir.join("current")) {
            Ok(id) => id.trim().to_string(),
            Err(_) => {
                let id = keys[0].key_id.clone();
                std::fs::write(dir.join("current"), &id).context("cannot record the current signing key")?;
                id
            }
        };
        let ring = KeyRing::new(keys.iter().map(ChainKey::verifying_key));
        let current = keys
            .into_iter()
            .find(|k| k.key_id == current_id)
            .with_context(|| format!("the current signing key {current_id} is not in {}", dir.display()))?;
        Ok(Keys { current, ring })
    }

    /// Adds a new key and makes it current; returns its id.
    pub fn rotate(dir: &Path) -> anyhow::Result<String> {
        Keys::load_or_create(dir)?;
        let key = ChainKey::from_signing_key(new_signing_key());
        write_key(dir, &key)?;
        std::fs::write(dir.join("current"), &key.key_id).context("cannot record the current signing key")?;
        Ok(key.key_id)
    }
}

fn new_signing_key() -> SigningKey {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).expect("the operating system's random number generator failed");
    SigningKey::from_bytes(&secret)
}

fn read_keys(dir: &Path) -> anyhow::Result<Vec<ChainKey>> {
    let mut keys = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "pem") {
            let pem = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let key = SigningKey::from_pkcs8_pem(&pem)
                .map_err(|e| anyhow::anyhow!("{} is not an Ed25519 key: {e}", path.display()))?;
            keys.push(ChainKey::from_signing_key(key));
        }
    }
    keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
    Ok(keys)
}

fn write_key(dir: &Path, key: &ChainKey) -> anyhow::Result<()> {
    let pem = key
        .signing_key()
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("cannot encode the signing key: {e}"))?;
    let path = dir.join(format!("{}.pem", key.key_id));
    write_private(&path, pem.as_bytes()).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(unix)]
fn restrict(dir: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot restrict {}", dir.display()))
}

#[cfg(not(unix))]
fn restrict(_: &Path, _: u32) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_created_once_kept_private_and_rotation_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keys::load_or_create(dir.path()).unwrap();
        let again = Keys::load_or_create(dir.path()).unwrap();
        assert_eq!(keys.current.key_id, again.current.key_id);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = dir.path().join(format!("{}.pem", keys.current.key_id));
            assert_eq!(std::fs::metadata(file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let new_id = Keys::rotate(dir.path()).unwrap();
        let rotated = Keys::load_or_create(dir.path()).unwrap();
        assert_eq!(rotated.current.key_id, new_id);
        assert_ne!(new_id, keys.current.key_id);
        // Something signed by the retired key still verifies.
        let cp = casetrail_core::integrity::Checkpoint::sign(
            &keys.current,
            casetrail_store::AccountId::nil(),
            1,
            Default::default(),
            casetrail_core::Timestamp::EPOCH,
        );
        assert!(cp.verify(&rotated.ring).is_ok());
    }
}
