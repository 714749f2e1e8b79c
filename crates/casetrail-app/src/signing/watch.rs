//! Following a key source while the server runs: `casetrail keys rotate` writes a
//! new key into the key file (or the data dir), and every server switches to it
//! within a poll or two, without a restart.
//!
//! The watched file's bytes are hashed each poll; when they change, the key is read
//! again, registered as current in the database — before it signs anything, so
//! whatever it signs verifies on every server — and swapped in. The previous key
//! stays in the ring, retired.

use std::time::Duration;

use anyhow::Context as _;
use casetrail_core::Timestamp;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::{KeySource, register_key};
use crate::App;

/// How often a server looks at its key file.
pub const KEY_POLL: Duration = Duration::from_secs(10);

/// What a poll found.
#[derive(Debug, PartialEq, Eq)]
enum Poll {
    /// The file is as it was when last acted on.
    Unchanged,
    /// A new key is current and signing.
    Switched,
    /// The file changed but holds the key already signing.
    Same,
}

/// Polls `source` every `every` until `stop` is cancelled, switching `app`'s signing
/// key whenever the source names another one.
pub async fn follow(app: App, source: KeySource, every: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The hash of the bytes last acted on (or found unusable, so a broken file is
    // reported once, not every poll).
    let mut seen: Option<[u8; 32]> = None;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(err) = poll(&app, &source, &mut seen).await {
            tracing::error!(error = format!("{err:#}"), "cannot switch to the signing key in the key file");
        }
    }
}

async fn poll(app: &App, source: &KeySource, seen: &mut Option<[u8; 32]>) -> anyhow::Result<Poll> {
    let watched = source.watched_file();
    let path = watched.clone();
    let bytes = match tokio::task::spawn_blocking(move || std::fs::read(path)).await.context("reading the key file")? {
        Ok(bytes) => bytes,
        Err(err) => {
            // Reported once until the file is back.
            if seen.replace([0; 32]) != Some([0; 32]) {
                return Err(anyhow::Error::new(err).context(format!("cannot read {}", watched.display())));
            }
            return Ok(Poll::Unchanged);
        }
    };
    let hash: [u8; 32] = Sha256::digest(&bytes).into();
    if *seen == Some(hash) {
        return Ok(Poll::Unchanged);
    }
    let read = source.clone();
    let key = match tokio::task::spawn_blocking(move || read.read()).await.context("reading the key")? {
        Ok(key) => key,
        Err(err) => {
            *seen = Some(hash);
            return Err(err);
        }
    };
    let previous = app.keys.current();
    if key.key_id == previous.key_id {
        *seen = Some(hash);
        return Ok(Poll::Same);
    }
    // A store that fails leaves `seen` as it was: the next poll tries again.
    register_key(app.store.as_ref(), &key, Timestamp::now()).await.context("cannot register the new key")?;
    tracing::info!(from = %previous.key_id, to = %key.key_id, "switched to a new signing key");
    app.keys.replace(key);
    *seen = Some(hash);
    Ok(Poll::Switched)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use casetrail_store::Store;
    use casetrail_store_sqlite::SqliteStore;

    use super::*;
    use crate::signing::file::{generate_key_file, replace_key_file};
    use crate::signing::{Keys, register};

    #[tokio::test]
    async fn a_changed_key_file_is_registered_then_signs_and_a_broken_one_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.pem");
        let first = generate_key_file(&path).unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_temporary().unwrap());
        let keys = Arc::new(Keys::new(crate::signing::file::read_key_file(&path).unwrap(), []));
        register(store.as_ref(), &keys).await.unwrap();
        let (app, writer) = App::start(store.clone(), keys, u64::MAX);
        let source = KeySource::File(path.clone());
        let mut seen = None;
        assert_eq!(poll(&app, &source, &mut seen).await.unwrap(), Poll::Same);
        assert_eq!(poll(&app, &source, &mut seen).await.unwrap(), Poll::Unchanged);

        let second = replace_key_file(&path).unwrap();
        assert_eq!(poll(&app, &source, &mut seen).await.unwrap(), Poll::Switched);
        assert_eq!(app.keys.current().key_id, second.key_id);
        let ring = store.public_keys().await.unwrap();
        let current: Vec<&str> = ring.iter().filter(|e| e.retired_at.is_none()).map(|e| e.key_id.as_str()).collect();
        assert_eq!(current, [second.key_id.as_str()]);
        assert!(ring.iter().any(|e| e.key_id == first.key_id && e.retired_at.is_some()));

        // Half a key (an editor saving in place) is refused; the signing key stays.
        std::fs::write(&path, "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQ\n").unwrap();
        assert!(poll(&app, &source, &mut seen).await.is_err());
        assert_eq!(poll(&app, &source, &mut seen).await.unwrap(), Poll::Unchanged, "reported once");
        assert_eq!(app.keys.current().key_id, second.key_id);
        std::fs::remove_file(&path).unwrap();
        assert!(poll(&app, &source, &mut seen).await.is_err());
        assert_eq!(poll(&app, &source, &mut seen).await.unwrap(), Poll::Unchanged, "reported once");
        let third = generate_key_file(&path).unwrap();
        assert_eq!(poll(&app, &source, &mut seen).await.unwrap(), Poll::Switched);
        assert_eq!(app.keys.current().key_id, third.key_id);
        drop(app);
        writer.await.unwrap();
    }
}
