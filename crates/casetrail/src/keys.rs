//! The signing key as the commands load it (docs/API.md §12): from the key file when
//! `signing_key_file` is set, else from the data dir; and `casetrail keys generate`
//! and `keys rotate`.

use std::path::Path;

use anyhow::Context as _;
use casetrail_app::signing::file::{generate_key_file, replace_key_file};
use casetrail_app::signing::{KeySource, Keys, dir_public_keys, register_key};
use casetrail_core::Timestamp;
use casetrail_core::integrity::KeyRing;

use crate::config::Config;
use crate::database::{ensure_data_dir, open_store};

/// The key a command signs with, and where it came from. Without a key file, the
/// data dir's key, created when there is none (as `serve` always did). The data
/// dir's other keys come along as retired ones, so what they signed still verifies.
pub fn signing_keys(config: &Config) -> anyhow::Result<(Keys, KeySource)> {
    match &config.signing_key_file {
        Some(path) => {
            let source = KeySource::File(path.clone());
            let key = source.read()?;
            Ok((Keys::new(key, dir_public_keys(&config.keys_dir())?), source))
        }
        None => {
            ensure_data_dir(&config.data_dir)?;
            let keys = Keys::load_or_create(&config.keys_dir())?;
            Ok((keys, KeySource::Dir(config.keys_dir())))
        }
    }
}

/// The keys already in the data dir, read only: what verifies beside the database's
/// ring. Creates nothing.
pub fn data_dir_ring(config: &Config) -> anyhow::Result<KeyRing> {
    Ok(KeyRing::new(dir_public_keys(&config.keys_dir())?))
}

/// `casetrail keys generate --output FILE`: a new key, in a file that must not exist.
pub fn generate(output: &Path) -> anyhow::Result<String> {
    let key = generate_key_file(output)?;
    Ok(key.key_id.clone())
}

/// `casetrail keys rotate`: a new key, written where the servers read theirs and made
/// current in the database; answers what to tell the operator.
pub async fn rotate(config: &Config) -> anyhow::Result<String> {
    // The database first: a rotation it cannot record is not started.
    let store = open_store(config).await?;
    let (key, place) = match &config.signing_key_file {
        Some(path) => (replace_key_file(path)?, format!("{}", path.display())),
        None => {
            ensure_data_dir(&config.data_dir)?;
            let dir = config.keys_dir();
            (Keys::rotate(&dir)?, format!("{}", dir.display()))
        }
    };
    register_key(store.as_ref(), &key, Timestamp::now()).await.with_context(|| {
        format!(
            "the new key {} is in {place}, but the database could not record it; \
             every server records it when it takes it up",
            key.key_id
        )
    })?;
    Ok(format!(
        "now signing with key {}: every casetrail serve using {place} switches to it within a minute",
        key.key_id
    ))
}
