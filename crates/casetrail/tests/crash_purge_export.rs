//! `casetrail serve` killed with SIGKILL in the middle of a retention run, and in the
//! middle of an export, and started again on the same store.
//!
//! The purge: every event is afterwards either gone whole (its row, its case link,
//! its search words) with its seq inside a signed tombstone and counted by exactly
//! one `system_log.purged` event, or still there whole; never half. The export: the
//! cut download is not recorded, the server starts again, the chain verifies, and
//! the same export started again completes with every event. On the backend
//! `CASETRAIL_TEST_DATABASE_URL` picks; the kill moment of the purge comes from a
//! seeded generator (printed; `CASETRAIL_CRASH_SEED` repeats a run).

mod cli_support;
mod crash_support;
mod multi_server_support;

use std::collections::BTreeSet;
use std::time::Duration;

use cli_support::Sql;
use crash_support::{Rng, Service, admin_get};
use serde_json::{Value, json};

const OLD_EVENTS: u64 = 6_000;
/// The server's purge batch (casetrail-app `PURGE_BATCH`).
const PURGE_BATCH: u64 = 500;

#[test]
fn a_retention_run_killed_midway_leaves_every_event_purged_whole_or_kept_whole() {
    let mut rng = Rng::seeded("crash_purge");
    let service = Service::start();
    let first_old = service.head_seq() + 1;
    append_events(&service, OLD_EVENTS, 200);
    let old: BTreeSet<u64> = (first_old..first_old + OLD_EVENTS).collect();
    let sql = service.db.sql();

    // Kill the server once its run has committed a random number of batches.
    let (url, key) = (service.url(), service.admin_key.clone());
    let run = service.db.spawn(async move {
        let sent = reqwest::Client::new().post(format!("{url}/api/v1/retention/run")).bearer_auth(key).send().await;
        match sent {
            Ok(response) => Some((response.status().as_u16(), response.text().await.unwrap_or_default())),
            Err(_) => None,
        }
    });
    let kill_after = rng.within(1..OLD_EVENTS / PURGE_BATCH - 2) * PURGE_BATCH;
    let tallied = || sql.number("SELECT CAST(coalesce(sum(purged), 0) AS BIGINT) FROM purge_runs") as u64;
    crash_support::wait_for(&format!("{kill_after} events purged"), Duration::from_secs(30), || {
        tallied() >= kill_after
    });
    service.kill();
    assert_eq!(service.db.block_on(run).unwrap(), None, "the killed run answered");

    let left = count_old(&sql);
    let gone = OLD_EVENTS - left;
    assert!(gone >= kill_after && left > 0, "killed midway: {gone} purged, {left} left");
    assert_eq!(tallied(), gone, "the run's tally holds exactly what went");
    let records = "SELECT count(*) FROM events WHERE activity = 'system_log.purged'";
    assert_eq!(sql.number(records), 0, "nothing recorded before the restart");

    // The start after the crash records the cut-short run.
    service.restart();
    crash_support::wait_for("the interrupted run recorded", Duration::from_secs(15), || {
        sql.number("SELECT count(*) FROM purge_runs") == 0
    });
    let records = purge_records(&service);
    assert_eq!(
        records.iter().map(|m| (m["purged"].as_u64(), m["interrupted"] == true)).collect::<Vec<_>>(),
        [(Some(gone), true)]
    );
    assert_whole(&service, &sql, &old, &records, &mut rng);

    // A new run purges the rest, and the two records count every old event once.
    let (status, answer) = service.db.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/retention/run", service.url()))
            .bearer_auth(&service.admin_key)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json::<Value>().await.unwrap())
    });
    assert_eq!((status, answer), (200, json!({"purged": left})));
    assert_eq!(count_old(&sql), 0);
    let records = purge_records(&service);
    assert_eq!(records.len(), 2, "{records:?}");
    assert_whole(&service, &sql, &old, &records, &mut rng);
    service.assert_chain_verifies(service.head_seq());
}

#[test]
fn an_export_killed_midway_leaves_a_service_that_verifies_and_exports_again() {
    let service = Service::start();
    append_events(&service, 20_000, 0);
    let head = service.head_seq();
    let export = format!("{}/api/v1/events/export?format=csv", service.url());
    let http = reqwest::Client::new();

    // Take the first bytes of the download, then kill the server under it.
    let mut download = service.db.block_on(async {
        let response = http.get(&export).bearer_auth(&service.admin_key).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response
    });
    let first = service.db.block_on(download.chunk()).unwrap().expect("a first chunk");
    assert!(first.starts_with("\u{feff}Timestamp,User,".as_bytes()), "{:?}", &first[..first.len().min(40)]);
    service.kill();
    let rest = service.db.block_on(async {
        let mut bytes = first.len();
        while let Some(chunk) = download.chunk().await? {
            bytes += chunk.len();
        }
        Ok::<usize, reqwest::Error>(bytes)
    });
    assert!(rest.is_err(), "the download was cut short, not completed: {rest:?}");

    service.restart();
    service.assert_chain_verifies(head);
    assert!(exported_records(&service).is_empty(), "the cut export was never recorded");

    // The same export again: every event of the chain, each once.
    let body = service.db.block_on(async {
        let response = http.get(&export).bearer_auth(&service.admin_key).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap()
    });
    let mut csv = csv::Reader::from_reader(&body[3..]);
    let id_column = csv.headers().unwrap().iter().position(|h| h == "Event ID").expect("an Event ID column");
    let exported: Vec<String> = csv.records().map(|r| r.unwrap()[id_column].to_string()).collect();
    let chain: BTreeSet<String> = service
        .chain()
        .iter()
        .filter(|link| link.seq <= head) // not the record of this export, written after it
        .map(|link| serde_json::from_str::<Value>(&link.body).unwrap()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(exported.len() as u64, head, "one row per event");
    let exported: BTreeSet<String> = exported.into_iter().collect();
    let (missing, extra): (Vec<_>, Vec<_>) =
        (chain.difference(&exported).collect(), exported.difference(&chain).collect());
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} missing: {:?}; {} extra: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)],
        extra.len(),
        &extra[..extra.len().min(5)]
    );
    crash_support::wait_for("the export recorded", Duration::from_secs(10), || !exported_records(&service).is_empty());
    let records = exported_records(&service);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!((records[0]["rows"].as_u64(), &records[0]["complete"]), (Some(head), &json!(true)), "{records:?}");
    service.assert_chain_verifies(head + 1);
}

/// The word that finds the `n`th appended event, and it alone (a prefix of no other).
fn word(n: u64) -> String {
    format!("w{n:06}q")
}

/// Appends `n` events dated `days_ago`, each related to a case, straight into the
/// store (the API refuses events older than the retention window).
fn append_events(service: &Service, n: u64, days_ago: i64) {
    let when = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() - days_ago * 86_400).unwrap();
    let batches = (0..n.div_ceil(1000))
        .map(|chunk| {
            (chunk * 1000..n.min(chunk * 1000 + 1000))
                .map(|i| {
                    let mut e = multi_server_support::event(&format!("event {}", word(i)));
                    e["occurred_at"] = json!(when.to_string());
                    e
                })
                .collect()
        })
        .collect();
    service.db.append_batches(&service.account.to_string(), batches);
}

fn count_old(sql: &Sql<'_>) -> u64 {
    sql.number("SELECT count(*) FROM events WHERE activity = 'case.updated'") as u64
}

/// The `metadata` of the account's events of `activity`, oldest first.
fn metadata_of(service: &Service, activity: &str) -> Vec<Value> {
    let page = service.admin_get(&format!("/api/v1/events?activity={activity}&limit=500"));
    let mut all: Vec<Value> = page["events"].as_array().unwrap().iter().map(|e| e["metadata"].clone()).collect();
    all.reverse();
    all
}

fn purge_records(service: &Service) -> Vec<Value> {
    metadata_of(service, "system_log.purged")
}

fn exported_records(service: &Service) -> Vec<Value> {
    metadata_of(service, "system_log.exported")
}

/// Every old event is either kept whole or purged whole, and every purged one is
/// counted by exactly one record.
fn assert_whole(service: &Service, sql: &Sql<'_>, old: &BTreeSet<u64>, records: &[Value], rng: &mut Rng) {
    let head = service.head_seq();
    let chain: BTreeSet<u64> = service.chain().iter().map(|link| link.seq).collect();
    let store = service.db.store();
    let tombstones = service.db.block_on(store.tombstones(service.account)).unwrap();
    let mut purged = BTreeSet::new();
    for t in &tombstones {
        for seq in t.first_seq..=t.last_seq {
            assert!(!chain.contains(&seq) && purged.insert(seq), "seq {seq} is in a tombstone and elsewhere");
        }
    }
    assert_eq!(chain.len() + purged.len(), head as usize, "every seq up to {head} is an event or in a tombstone");
    assert!(purged.is_subset(old), "only old events were purged");

    // The records count each purged seq once, and nothing else.
    let mut counted = BTreeSet::new();
    for m in records {
        let span: BTreeSet<u64> =
            (m["first_seq"].as_u64().unwrap()..=m["last_seq"].as_u64().unwrap()).filter(|s| old.contains(s)).collect();
        assert_eq!(m["purged"].as_u64(), Some(span.iter().filter(|s| purged.contains(s)).count() as u64), "{m}");
        for seq in span.intersection(&purged) {
            assert!(counted.insert(*seq), "seq {seq} is counted by two records: {records:?}");
        }
    }
    assert_eq!(counted, purged, "the records count exactly the purged events");

    // The rows derived from an event went with it, and stayed with a kept one.
    let orphans = "SELECT count(*) FROM event_records r WHERE NOT EXISTS \
                   (SELECT 1 FROM events e WHERE e.acct = r.acct AND e.seq = r.seq)";
    assert_eq!(sql.number(orphans), 0, "case links of purged events are gone");
    let unlinked = "SELECT count(*) FROM events e WHERE e.activity = 'case.updated' AND NOT EXISTS \
                    (SELECT 1 FROM event_records r WHERE r.acct = e.acct AND r.seq = e.seq)";
    assert_eq!(sql.number(unlinked), 0, "kept events keep their case link");
    // Search finds a kept event by its word, and a purged one no more.
    let first_old = *old.first().unwrap();
    for _ in 0..8 {
        let seq = first_old + rng.within(0..old.len() as u64);
        let (status, found) = service.db.block_on(admin_get(
            &service.url(),
            &service.admin_key,
            &format!("/api/v1/events?q={}", word(seq - first_old)),
        ));
        assert_eq!(status, 200, "{found}");
        let seqs: Vec<u64> = found["events"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        let expected = if purged.contains(&seq) { vec![] } else { vec![seq] };
        assert_eq!(seqs, expected, "search for the word of seq {seq}");
    }
}
