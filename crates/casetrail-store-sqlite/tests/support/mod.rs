//! One account in a temporary SQLite store, written only through the store's traits
//! and verified by the application's own check (`casetrail_app::integrity`), and a raw
//! connection to its file to tamper behind the store's back.
#![allow(dead_code)]

use casetrail_core::integrity::{ChainKey, Checkpoint, KeyRing};
use casetrail_core::validate::{IngestRules, parse_ingest};
use casetrail_core::{RecordType, Timestamp};
use casetrail_store::{
    AccountId, AccountStore, AppendBatch, Appended, EventStore, Hold, IntegrityStore, RetentionStore, unrecorded,
};
use casetrail_store_sqlite::SqliteStore;
use serde_json::{Value, json};

/// Events a purge removes per transaction, as casetrail's retention run does.
const PURGE_BATCH: u32 = 500;

pub struct Fixture {
    pub store: SqliteStore,
    pub account: AccountId,
    /// Signs checkpoints and tombstones; `ring` verifies them.
    pub key: ChainKey,
    pub ring: KeyRing,
}

impl Fixture {
    pub async fn new() -> Fixture {
        let store = SqliteStore::open_temporary().expect("a temporary store");
        let account = store.create_account("Smith & Jones LLP").await.unwrap().id;
        // A fixed key: these tests are about the chain, not about key material.
        let key = ChainKey::from_signing_key(ed25519_dalek::SigningKey::from_bytes(&[7; 32]));
        let ring = KeyRing::new([key.verifying_key()]);
        Fixture { store, account, key, ring }
    }

    /// A connection to the store's file, for the changes an attacker with access to
    /// it could make.
    pub fn raw_db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.store.path()).unwrap()
    }

    /// Appends `events` (API-shaped JSON) as one batch, with no ingest window: old
    /// events come to exist this way (they were ingested when they were new).
    pub async fn append(&self, events: Vec<Value>) -> Vec<Appended> {
        let rules = IngestRules { now: Timestamp::now(), window_start: None, allow_reserved: false };
        let events = parse_ingest(&json!({ "events": events }), &rules).expect("valid events");
        self.store.append(vec![AppendBatch { account_id: self.account, events }]).await.unwrap().remove(0)
    }

    /// `n` events described `event 1` … `event n`, in one batch.
    pub async fn seed(&self, n: usize) {
        self.append((0..n).map(|i| event(&format!("event {}", i + 1))).collect()).await;
    }

    /// Signs and stores a checkpoint of the current head.
    pub async fn checkpoint(&self) -> Checkpoint {
        let head = self.store.head(self.account).await.unwrap().expect("a chain to sign");
        let checkpoint = Checkpoint::sign(&self.key, self.account, head.seq, head.hash, Timestamp::now());
        self.store.add_checkpoint(&checkpoint).await.unwrap();
        checkpoint
    }

    /// Places a hold on a case.
    pub async fn hold_case(&self, id: &str) {
        let hold = Hold {
            account_id: self.account,
            kind: RecordType::Case,
            id: id.into(),
            reason: "Litigation".into(),
            created_by: "Ada Admin".into(),
            created_at: Timestamp::now(),
        };
        self.store.add_hold(&hold, unrecorded()).await.unwrap();
    }

    /// Purges what the account's policy allows in bounded batches, records it with an
    /// event and gives the space back, as a retention run does; returns how many
    /// events went.
    pub async fn purge(&self) -> u64 {
        let account = self.store.account(self.account).await.unwrap().unwrap();
        let days = i64::from(account.retention_days.expect("a retention policy"));
        let cutoff = Timestamp::now().minus_days(days);
        let run = casetrail_store::PurgeRun {
            id: uuid::Uuid::now_v7(),
            account_id: self.account,
            cutoffs: casetrail_store::PurgeCutoffs::uniform(cutoff, account.retention_days),
            actor: casetrail_app::retention::retention_actor(),
            started_at: Timestamp::now(),
        };
        let mut total = 0;
        loop {
            let batch = self.store.purge(&run, PURGE_BATCH, &self.key).await.unwrap();
            total += batch.purged;
            if batch.purged < u64::from(PURGE_BATCH) {
                break;
            }
        }
        let record = Box::new(move |s: &casetrail_store::PurgeRunSummary| {
            let body = json!({"events": [event(&format!("purged {} events", s.purged))]});
            let rules = IngestRules { now: Timestamp::now(), window_start: None, allow_reserved: false };
            parse_ingest(&body, &rules).ok().and_then(|mut events| events.pop())
        });
        if self.store.finish_purge_run(self.account, run.id, record).await.unwrap().is_some() {
            self.store.reclaim_space().await.unwrap();
        }
        total
    }

    /// Every problem a verification finds, as `(seq, kind)` in the order reported;
    /// `incremental` starts after the newest good checkpoint.
    pub async fn problems(&self, incremental: bool) -> Vec<(u64, String)> {
        self.verify(incremental).await.report.problems.iter().map(|p| (p.seq, p.kind.key().to_string())).collect()
    }

    /// The application's verification of the account, as `GET /api/v1/integrity` and
    /// `casetrail verify` run it.
    pub async fn verify(&self, incremental: bool) -> casetrail_app::integrity::Verification {
        casetrail_app::integrity::verify_account(&self.store, self.account, &self.ring, incremental)
            .await
            .expect("a verification")
    }
}

/// A valid event with the given description.
pub fn event(description: &str) -> Value {
    json!({
        "actor": {"id": "u_17", "name": "Jane Doe", "email": "jane@smithlaw.com"},
        "activity": "case.updated",
        "description": description,
    })
}

/// An event `days` days old, related to the given case and client.
pub fn old_event(days: i64, description: &str, case: Option<&str>, client: Option<&str>) -> Value {
    let mut related = Vec::new();
    if let Some(c) = case {
        related.push(json!({"type": "case", "id": c, "name": format!("Case {c}")}));
    }
    if let Some(c) = client {
        related.push(json!({"type": "client", "id": c, "name": format!("Client {c}")}));
    }
    let occurred_at = Timestamp::now().minus_days(days).to_string();
    json!({
        "actor": {"id": "u_1", "name": "Jane Doe"},
        "activity": "case.updated",
        "description": description,
        "occurred_at": occurred_at,
        "related": related,
    })
}
