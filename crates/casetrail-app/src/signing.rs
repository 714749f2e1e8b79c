//! The Ed25519 key that signs checkpoints and purge tombstones, and the ring of
//! public keys (current and retired) that verifies them.
//!
//! - [`Keys`] is what a running process signs with: the current key, which can be
//!   swapped while it runs ([`Keys::replace`], when its key file changes), and the
//!   public keys it knows by itself (its data dir's keys, every key it has signed
//!   with).
//! - The ring of record lives in the database (`ServiceStore::public_keys`): every
//!   server registers the key it signs with ([`register`]) before it signs anything,
//!   so a checkpoint signed by any server verifies on all of them. [`ring`] joins
//!   the database's keys to the local ones.
//! - Where the private key comes from is a [`KeySource`]: a PKCS#8 PEM file named
//!   by configuration ([`file`]), or the data dir's key directory: `<dir>/<key_id>.pem`
//!   (mode 0600) with `<dir>/current` naming the one that signs. Rotating there adds
//!   a key and points `current` at it; retired keys stay, so old checkpoints keep
//!   verifying by their `key_id`.

pub mod file;
pub mod watch;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use base64::Engine as _;
use casetrail_core::Timestamp;
use casetrail_core::integrity::{ChainKey, KeyRing};
use casetrail_store::{KeyStanding, Store, StoreResult};
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{SigningKey, VerifyingKey};

/// The signing key of a running process, and the public keys it knows by itself.
#[derive(Debug)]
pub struct Keys {
    current: RwLock<Arc<ChainKey>>,
    /// Every public key this process knows without the database, the current one
    /// included: what it signed stays verifiable here even before the ring is read.
    known: RwLock<Vec<VerifyingKey>>,
}

impl Keys {
    /// Signs with `current`; `others` are older keys whose signatures still verify.
    pub fn new(current: ChainKey, others: impl IntoIterator<Item = VerifyingKey>) -> Keys {
        let mut known: Vec<VerifyingKey> = others.into_iter().collect();
        if !known.contains(&current.verifying_key()) {
            known.push(current.verifying_key());
        }
        Keys { current: RwLock::new(Arc::new(current)), known: RwLock::new(known) }
    }

    /// A throwaway key, for tests and for servers given no key directory.
    pub fn ephemeral() -> Keys {
        Keys::new(ChainKey::from_signing_key(new_signing_key()), [])
    }

    /// Loads every key in `dir`, creating the directory and a first key when empty
    /// (what `serve` does without a key file).
    pub fn load_or_create(dir: &Path) -> anyhow::Result<Keys> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create the key directory {}", dir.display()))?;
        restrict(dir, 0o700)?;
        if read_keys(dir)?.is_empty() {
            let key = ChainKey::from_signing_key(new_signing_key());
            write_key(dir, &key)?;
            file::replace_contents(&dir.join("current"), key.key_id.as_bytes(), 0o600)
                .context("cannot record the current signing key")?;
        }
        let source = KeySource::Dir(dir.to_path_buf());
        let current = source.read()?;
        Ok(Keys::new(current, dir_public_keys(dir)?))
    }

    /// Adds a new key to `dir` and makes it current; returns it.
    pub fn rotate(dir: &Path) -> anyhow::Result<ChainKey> {
        Keys::load_or_create(dir)?;
        let key = ChainKey::from_signing_key(new_signing_key());
        write_key(dir, &key)?;
        // Written whole and renamed into place: a server watching the directory never
        // reads half an id.
        file::replace_contents(&dir.join("current"), key.key_id.as_bytes(), 0o600)
            .context("cannot record the current signing key")?;
        Ok(key)
    }

    /// The key that signs now.
    pub fn current(&self) -> Arc<ChainKey> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Signs with `key` from now on; the previous key stays known.
    pub fn replace(&self, key: ChainKey) {
        let public = key.verifying_key();
        {
            let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
            if !known.contains(&public) {
                known.push(public);
            }
        }
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(key);
    }

    /// Every public key this process knows by itself, the current one included.
    pub fn known(&self) -> Vec<VerifyingKey> {
        self.known.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// [`Keys::known`] as a ring.
    pub fn local_ring(&self) -> KeyRing {
        KeyRing::new(self.known())
    }
}

/// Where a process reads its private key from; re-read to follow a rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A PKCS#8 PEM file (`signing_key_file`).
    File(PathBuf),
    /// A data dir's key directory, whose `current` names the signing key.
    Dir(PathBuf),
}

impl KeySource {
    /// The key it names now. Creates nothing.
    pub fn read(&self) -> anyhow::Result<ChainKey> {
        match self {
            KeySource::File(path) => file::read_key_file(path),
            KeySource::Dir(dir) => {
                let current = dir.join("current");
                let id = std::fs::read_to_string(&current)
                    .with_context(|| format!("cannot read {}", current.display()))?
                    .trim()
                    .to_string();
                anyhow::ensure!(
                    !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit()),
                    "{} does not name a key",
                    current.display()
                );
                let key = file::read_key_file(&dir.join(format!("{id}.pem")))?;
                anyhow::ensure!(key.key_id == id, "the key in {id}.pem has the id {}", key.key_id);
                Ok(key)
            }
        }
    }

    /// What [`KeySource::read`] depends on, to notice that it changed: the file's
    /// bytes, or the directory's `current`.
    pub fn watched_file(&self) -> PathBuf {
        match self {
            KeySource::File(path) => path.clone(),
            KeySource::Dir(dir) => dir.join("current"),
        }
    }
}

/// The public keys in a data dir's key directory, read only: none when it has no
/// such directory. (`casetrail verify` uses it: it never creates a key.)
pub fn dir_public_keys(dir: &Path) -> anyhow::Result<Vec<VerifyingKey>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    Ok(read_keys(dir)?.iter().map(ChainKey::verifying_key).collect())
}

/// Makes this process's signing key the current one in the database (retiring the
/// key that was), and adds every other key it knows as retired, so what they signed
/// verifies on every server. A key the database has already retired keeps signing —
/// what it signs still verifies — and the error is logged: the operator should give
/// this server the current key.
pub async fn register(store: &dyn Store, keys: &Keys) -> StoreResult<KeyStanding> {
    let now = Timestamp::now();
    let current = keys.current();
    let standing = register_key(store, &current, now).await?;
    for other in keys.known().into_iter().filter(|k| *k != current.verifying_key()) {
        let key_id = casetrail_core::integrity::key_id(&other);
        store.add_retired_key(&key_id, other.to_bytes(), now).await?;
    }
    Ok(standing)
}

/// Makes the keys of a one-off signer (`casetrail retention run`) known to the
/// database without taking the current key's place from the servers: a key the ring
/// lacks joins it retired while another key is current, and becomes current only in
/// a ring that has none. What it signs verifies everywhere either way.
pub async fn make_known(store: &dyn Store, keys: &Keys) -> StoreResult<()> {
    let ring = store.public_keys().await?;
    let current = keys.current();
    if !ring.iter().any(|e| e.key_id == current.key_id) {
        if ring.iter().any(|e| e.retired_at.is_none()) {
            store.add_retired_key(&current.key_id, current.verifying_key().to_bytes(), Timestamp::now()).await?;
        } else {
            register_key(store, &current, Timestamp::now()).await?;
        }
    }
    let now = Timestamp::now();
    for other in keys.known().into_iter().filter(|k| *k != current.verifying_key()) {
        store.add_retired_key(&casetrail_core::integrity::key_id(&other), other.to_bytes(), now).await?;
    }
    Ok(())
}

/// Registers one key as current, logging when the database had retired it.
pub async fn register_key(store: &dyn Store, key: &ChainKey, now: Timestamp) -> StoreResult<KeyStanding> {
    let standing = store.register_signing_key(&key.key_id, key.verifying_key().to_bytes(), now).await?;
    if standing == KeyStanding::Retired {
        tracing::error!(
            key_id = %key.key_id,
            "this server signs with a key that was retired (another key was made current since); \
             it keeps signing with it, and what it signs still verifies, but give it the current key"
        );
    }
    Ok(standing)
}

/// The ring that verifies: every key in the database, and the `local` ones.
pub async fn ring(store: &dyn Store, local: &KeyRing) -> StoreResult<KeyRing> {
    let mut ring = local.clone();
    for entry in store.public_keys().await? {
        let encoded = base64::engine::general_purpose::STANDARD.encode(entry.public_key);
        if let Err(err) = ring.add_base64(&encoded) {
            tracing::error!(key_id = %entry.key_id, error = %err, "the database holds a public key that is not Ed25519");
        }
    }
    Ok(ring)
}

pub(crate) fn new_signing_key() -> SigningKey {
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
    let path = dir.join(format!("{}.pem", key.key_id));
    file::create_new(&path, file::pem(key)?.as_bytes()).with_context(|| format!("cannot write {}", path.display()))
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
mod tests;
