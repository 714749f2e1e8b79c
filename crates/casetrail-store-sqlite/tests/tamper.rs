//! Every kind of tampering straight in the SQLite file, behind the store's back, is
//! found by verification and named with its seq.

mod support;

use support::{Fixture, old_event};

#[tokio::test]
async fn every_kind_of_tampering_is_reported_with_its_seq() {
    type Tamper = (&'static str, Vec<(u64, &'static str)>);
    let cases: Vec<Tamper> = vec![
        ("UPDATE events SET body = replace(body, 'event 3', 'event X') WHERE seq = 3", vec![(3, "hash_mismatch")]),
        ("UPDATE events SET actor_id = 'someone' WHERE seq = 4", vec![(4, "hash_mismatch")]),
        ("UPDATE events SET occurred_at = occurred_at - 1000 WHERE seq = 2", vec![(2, "hash_mismatch")]),
        ("UPDATE events SET activity = 'case.deleted' WHERE seq = 5", vec![(5, "hash_mismatch")]),
        ("UPDATE events SET hash = zeroblob(32) WHERE seq = 6", vec![(6, "hash_mismatch"), (7, "broken_link")]),
        ("UPDATE events SET prev_hash = zeroblob(32) WHERE seq = 2", vec![(2, "broken_link"), (2, "hash_mismatch")]),
        ("DELETE FROM events WHERE seq = 3", vec![(3, "missing")]),
        (
            "UPDATE events SET seq = seq + 100 WHERE seq = 8",
            vec![(8, "missing"), (11, "missing"), (108, "hash_mismatch")],
        ),
    ];
    for (sql, expected) in cases {
        let fx = Fixture::new().await;
        fx.seed(10).await;
        assert!(fx.problems(false).await.is_empty());
        assert_eq!(fx.raw_db().execute(sql, []).unwrap(), 1, "{sql}");
        let mut got = fx.problems(false).await;
        got.sort();
        let mut expected: Vec<(u64, String)> = expected.into_iter().map(|(s, k)| (s, k.to_string())).collect();
        expected.sort();
        assert_eq!(got, expected, "{sql}");
    }
}

#[tokio::test]
async fn inserted_swapped_and_cut_off_events_are_reported() {
    // An inserted copy of a row: the same seq twice cannot be stored (unique index),
    // so an insertion shifts what follows; here an extra event is forged at seq 11.
    let fx = Fixture::new().await;
    fx.seed(10).await;
    fx.raw_db()
        .execute_batch(
            "INSERT INTO events (acct, seq, id, occurred_at, actor_id, activity, idem_key, body, prev_hash, hash)
             SELECT acct, 11, randomblob(16), occurred_at, actor_id, activity, NULL, body, prev_hash, hash FROM events WHERE seq = 10",
        )
        .unwrap();
    let got = fx.problems(false).await;
    assert!(got.contains(&(11, "broken_link".into())) && got.contains(&(11, "hash_mismatch".into())), "{got:?}");

    let fx = Fixture::new().await;
    fx.seed(10).await;
    fx.raw_db()
        .execute_batch("UPDATE events SET seq = -1 WHERE seq = 4; UPDATE events SET seq = 4 WHERE seq = 5; UPDATE events SET seq = 5 WHERE seq = -1;")
        .unwrap();
    let got = fx.problems(false).await;
    assert!(got.iter().any(|(s, k)| *s == 4 && k == "broken_link"), "{got:?}");
    assert!(got.iter().any(|(s, k)| *s == 4 && k == "hash_mismatch"), "{got:?}");

    // Cutting off the newest events, head row included, behind a checkpoint.
    let fx = Fixture::new().await;
    fx.seed(10).await;
    assert_eq!(fx.checkpoint().await.seq, 10);
    fx.raw_db().execute_batch("DELETE FROM events WHERE seq > 7; UPDATE accounts SET head_seq = 7;").unwrap();
    assert_eq!(fx.problems(false).await, [(8, "truncated".to_string())]);

    // Cutting off without touching the recorded head is caught even with no checkpoint.
    let fx = Fixture::new().await;
    fx.seed(10).await;
    assert_eq!(fx.raw_db().execute("DELETE FROM events WHERE seq > 8", []).unwrap(), 2);
    assert_eq!(fx.problems(false).await, [(9, "truncated".to_string())]);
}

#[tokio::test]
async fn a_forged_checkpoint_is_a_bad_signature() {
    let fx = Fixture::new().await;
    fx.seed(5).await;
    let checkpoint = fx.checkpoint().await;
    assert_eq!(checkpoint.seq, 5);
    assert!(fx.problems(false).await.is_empty());
    fx.raw_db().execute("UPDATE checkpoints SET seq = 4", []).unwrap();
    assert_eq!(fx.problems(false).await, [(4, "bad_signature".to_string())]);
    fx.raw_db().execute("UPDATE checkpoints SET seq = 5, signature = 'AAAA'", []).unwrap();
    assert_eq!(fx.problems(false).await, [(5, "bad_signature".to_string())]);
}

#[tokio::test]
async fn a_change_after_the_newest_checkpoint_is_found_incrementally() {
    let fx = Fixture::new().await;
    fx.seed(20).await;
    fx.checkpoint().await;
    fx.seed(5).await;
    let v = fx.verify(true).await;
    assert_eq!((v.started_after, v.report.events_checked, v.report.problems.len()), (20, 5, 0));
    fx.raw_db().execute("UPDATE events SET body = replace(body, 'event 3', 'event Y') WHERE seq = 23", []).unwrap();
    assert_eq!(fx.problems(true).await, [(23, "hash_mismatch".to_string())]);
    // A change before the checkpoint is outside an incremental check, not a full one.
    fx.raw_db().execute("UPDATE events SET body = replace(body, 'event 7', 'event Z') WHERE seq = 7", []).unwrap();
    assert_eq!(fx.problems(true).await, [(23, "hash_mismatch".to_string())]);
    let mut full = fx.problems(false).await;
    full.sort();
    assert_eq!(full, [(7, "hash_mismatch".to_string()), (23, "hash_mismatch".to_string())]);
}

/// Six events, five of them older than the default 90 days; `c_held`, `cl_held` and
/// `cl_9` are the records holds can keep.
async fn seed_old(fx: &Fixture) {
    fx.append(vec![
        old_event(10, "recent", Some("c_1"), None),
        old_event(100, "old plain", Some("c_2"), None),
        old_event(120, "old held case", Some("c_held"), Some("cl_9")),
        old_event(150, "old held client", None, Some("cl_held")),
        old_event(200, "ancient", None, None),
        old_event(400, "very ancient", Some("c_2"), Some("cl_2")),
    ])
    .await;
}

#[tokio::test]
async fn deleting_a_tombstone_or_an_event_behind_the_stores_back_is_still_detected() {
    let fx = Fixture::new().await;
    seed_old(&fx).await;
    assert_eq!(fx.purge().await, 5);
    assert_eq!(fx.problems(false).await, []);
    let db = fx.raw_db();
    let tombstones: i64 = db.query_row("SELECT count(*) FROM tombstones", [], |r| r.get(0)).unwrap();
    assert_eq!(tombstones, 1, "one run of consecutive seqs, one tombstone");
    db.execute("DELETE FROM tombstones", []).unwrap();
    assert_eq!(fx.problems(false).await, [(2, "missing".to_string())]);

    let fx = Fixture::new().await;
    seed_old(&fx).await;
    fx.hold_case("c_held").await;
    assert_eq!(fx.purge().await, 4);
    assert_eq!(fx.problems(false).await, []);
    // A forged tombstone over a held event that was deleted.
    fx.raw_db()
        .execute_batch(
            "DELETE FROM events WHERE seq = 3; UPDATE tombstones SET first_seq = 2, last_seq = 6 WHERE first_seq = 2",
        )
        .unwrap();
    let got = fx.problems(false).await;
    assert!(got.iter().any(|(_, k)| k == "bad_signature"), "{got:?}");
}
