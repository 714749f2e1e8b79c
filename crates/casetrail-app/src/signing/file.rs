//! A signing key in a file of its own (`signing_key_file`): PKCS#8 PEM, v1 (the
//! private key alone, as `openssl genpkey -algorithm ed25519` writes it) or v2 (with
//! the public key, as casetrail writes it; a public key that does not match the
//! private one is refused). Files are written owner-only (0600), whole, and renamed
//! into place, so a server that reads one never sees half a key.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use casetrail_core::integrity::ChainKey;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};

/// Reads the key in `path`.
pub fn read_key_file(path: &Path) -> anyhow::Result<ChainKey> {
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the signing key {}", path.display()))?;
    parse_pem(&pem).with_context(|| format!("{} is not an Ed25519 private key in PKCS#8 PEM", path.display()))
}

/// A key from PKCS#8 PEM text (v1 or v2).
pub fn parse_pem(pem: &str) -> anyhow::Result<ChainKey> {
    let key = SigningKey::from_pkcs8_pem(pem.trim()).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(ChainKey::from_signing_key(key))
}

/// The PKCS#8 v2 PEM of a key (the private key with its public key).
pub fn pem(key: &ChainKey) -> anyhow::Result<String> {
    let pem = key
        .signing_key()
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("cannot encode the signing key: {e}"))?;
    Ok(pem.to_string())
}

/// Writes a new key into `path`, which must not exist yet (`casetrail keys
/// generate`); returns it.
pub fn generate_key_file(path: &Path) -> anyhow::Result<ChainKey> {
    if path.exists() {
        anyhow::bail!(
            "{} already exists; casetrail never overwrites a key file (rotate with `casetrail keys rotate`)",
            path.display()
        );
    }
    let key = ChainKey::from_signing_key(super::new_signing_key());
    let temp = write_temp(path, pem(&key)?.as_bytes(), 0o600)?;
    // A hard link fails when the name exists, so a file that appeared meanwhile is
    // not overwritten either; the key is whole before it has its name.
    let linked = std::fs::hard_link(&temp, path);
    let _ = std::fs::remove_file(&temp);
    linked.map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            anyhow::anyhow!("{} already exists; casetrail never overwrites a key file", path.display())
        }
        _ => anyhow::Error::new(e).context(format!("cannot write {}", path.display())),
    })?;
    sync_dir(path);
    Ok(key)
}

/// Writes a new key over the one in `path` (`casetrail keys rotate`); returns it.
/// Servers watching the file switch to it.
pub fn replace_key_file(path: &Path) -> anyhow::Result<ChainKey> {
    let key = ChainKey::from_signing_key(super::new_signing_key());
    replace_contents(path, pem(&key)?.as_bytes(), 0o600).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(key)
}

/// Replaces `path` with `bytes` at once: written to a temporary file beside it with
/// `mode`, synced, and renamed over it.
pub fn replace_contents(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let temp = write_temp(path, bytes, mode)?;
    if let Err(err) = std::fs::rename(&temp, path) {
        let _ = std::fs::remove_file(&temp);
        return Err(anyhow::Error::new(err).context(format!("cannot replace {}", path.display())));
    }
    sync_dir(path);
    Ok(())
}

/// Creates `path` with `bytes`, owner-only; fails when it exists.
pub fn create_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = open_new(path, 0o600)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// A new temporary file beside `path` holding `bytes`; its name starts with a dot so
/// no listing of keys (`*.pem`) picks it up.
fn write_temp(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<PathBuf> {
    let name = path.file_name().with_context(|| format!("{} is not a file name", path.display()))?;
    let temp = path.with_file_name(format!(".{}.{}.tmp", name.to_string_lossy(), uuid::Uuid::now_v7().simple()));
    let written = open_new(&temp, mode).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(err) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(anyhow::Error::new(err).context(format!("cannot write beside {}", path.display())));
    }
    Ok(temp)
}

#[cfg(unix)]
fn open_new(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path)
}

#[cfg(not(unix))]
fn open_new(path: &Path, _: u32) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)
}

/// Makes a rename or link durable; best effort (not every platform can open a dir).
fn sync_dir(path: &Path) {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
}
