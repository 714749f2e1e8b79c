//! Two task loops on one database, as two servers: only the lease holder does the
//! periodic work, and another takes it over once the holder stops or dies.

use std::collections::BTreeSet;
use std::sync::Arc;

use casetrail_core::OwnActivity;
use casetrail_store::{AccountId, Store};
use casetrail_store_sqlite::SqliteStore;
use tokio::task::JoinHandle;

use super::*;
use crate::signing::Keys;
use crate::{App, AuditEvent};

/// A "server": an app with a key of its own (so each checkpoint's key id names the
/// loop that signed it) and its task loop.
struct Server {
    app: App,
    writer: JoinHandle<()>,
    stop: CancellationToken,
    tasks: JoinHandle<()>,
}

impl Server {
    fn start(store: Arc<dyn Store>, schedule: Schedule) -> Server {
        let (app, writer) = App::start(store, Arc::new(Keys::ephemeral()), u64::MAX);
        let stop = CancellationToken::new();
        let tasks = tokio::spawn(run(app.clone(), schedule, stop.clone()));
        Server { app, writer, stop, tasks }
    }

    fn key_id(&self) -> String {
        self.app.keys.current().key_id.clone()
    }

    async fn stop(self) {
        self.stop.cancel();
        self.tasks.await.unwrap();
        drop(self.app);
        self.writer.await.unwrap();
    }
}

fn quick(tick_ms: u64) -> Schedule {
    Schedule {
        tick: Duration::from_millis(tick_ms),
        // Every tick that finds the chain moved signs one.
        checkpoint_age: Duration::ZERO,
        ..Schedule::default()
    }
}

async fn two_handles() -> (Arc<dyn Store>, Arc<dyn Store>, AccountId) {
    let first = SqliteStore::open_temporary().unwrap();
    // A handle of its own on the same file, as another process has.
    let second = SqliteStore::open(first.path()).unwrap();
    let firm = crate::provision::create_account(&first, "Lease LLP", "admin@lease.example", "Ada").await.unwrap();
    (Arc::new(first), Arc::new(second), firm.account.id)
}

/// Appends one event every `pause` for `n` rounds, through `app`.
async fn keep_writing(app: &App, account: AccountId, n: usize, pause: Duration) {
    for i in 0..n {
        let event = AuditEvent::new(crate::purge::retention_actor(), OwnActivity::LoginFailed, format!("event {i}"));
        app.record(account, event.build()).await.unwrap();
        tokio::time::sleep(pause).await;
    }
}

/// The key ids of `account`'s checkpoints after seq `after`, oldest first.
async fn signers(store: &dyn Store, account: AccountId, after: u64) -> Vec<String> {
    let mut checkpoints = store.checkpoints(account, u32::MAX).await.unwrap();
    checkpoints.reverse();
    checkpoints.into_iter().filter(|c| c.seq > after).map(|c| c.key_id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_holder_signs_periodic_checkpoints_and_another_takes_over_when_it_dies() {
    let (a, b, account) = two_handles().await;
    // Leases live 600 ms: a stall of the holder shorter than that keeps its lease.
    let one = Server::start(a.clone(), quick(200));
    let two = Server::start(b.clone(), quick(200));
    keep_writing(&one.app, account, 10, Duration::from_millis(250)).await;
    let signed = signers(a.as_ref(), account, 0).await;
    let by: BTreeSet<&String> = signed.iter().collect();
    assert_eq!(by.len(), 1, "one loop signs the periodic checkpoints: {signed:?}");
    assert!(signed.len() >= 3, "checkpoints were signed while events arrived: {signed:?}");
    let (holder, other) = if *by.first().unwrap() == &one.key_id() { (one, two) } else { (two, one) };
    assert_eq!(signed[0], holder.key_id());

    // The holder dies without letting its leases go (its task is aborted, as a killed
    // process's): once they expire, the other loop takes the work over.
    let head = a.head(account).await.unwrap().unwrap().seq;
    holder.tasks.abort();
    let _ = holder.tasks.await;
    keep_writing(&other.app, account, 10, Duration::from_millis(250)).await;
    let after = signers(a.as_ref(), account, head).await;
    assert!(after.len() >= 3, "the other loop took over: {after:?}");
    assert!(after.iter().all(|k| *k == other.key_id()), "only the new holder signs: {after:?}");
    other.stop().await;
}

#[tokio::test]
async fn a_loop_that_stops_lets_its_leases_go_at_once() {
    let (store, _, account) = two_handles().await;
    let (writing, writer) = App::start(store.clone(), Arc::new(Keys::ephemeral()), u64::MAX);
    keep_writing(&writing, account, 1, Duration::ZERO).await;
    drop(writing);
    writer.await.unwrap();
    // Leases taken at the first tick (after a second) live three ticks unless released.
    let server = Server::start(store.clone(), quick(1_000));
    // The first tick takes every lease, then signs the account's first checkpoint.
    for _ in 0..1000 {
        if !signers(store.as_ref(), account, 0).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(signers(store.as_ref(), account, 0).await, [server.key_id()]);
    let someone = Uuid::now_v7();
    for name in LEASES {
        assert!(!store.take_lease(name, someone, Timestamp::now(), 1000).await.unwrap(), "{name:?} is held");
    }
    server.stop().await;
    for name in LEASES {
        assert!(store.take_lease(name, someone, Timestamp::now(), 1000).await.unwrap(), "{name:?} was let go");
    }
}
