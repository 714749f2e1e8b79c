//! Tampering with the rows derived from event bodies — case/client links, the FTS5
//! index, filter columns, picker entries — straight in the SQLite file is found by
//! verification and named with its seq, while untouched stores report nothing.

mod support;

use casetrail_core::query::BrowseQuery;
use casetrail_store::EventStore;
use casetrail_store::derived::filter_links;
use casetrail_store::testing::derived::{SHARED_TAMPERS, Tamper, assert_tamper_reported, seed_derived};
use casetrail_store::testing::support::query;
use casetrail_store_sqlite::SqliteStore;

/// The FTS5 rowid of seq 2, whose indexed text is
/// `called the client about discovery acme corp omar haddad`.
const RID: &str = "(SELECT rid FROM events WHERE seq = 2)";

fn search_tampers() -> Vec<(String, Tamper)> {
    let reinsert = |text: &str| {
        format!(
            "DELETE FROM events_fts WHERE rowid = {RID}; INSERT INTO events_fts (rowid, text) SELECT {RID}, '{text}';"
        )
    };
    let at_2: &[(u64, &str)] = &[(2, "search index entry")];
    vec![
        (format!("DELETE FROM events_fts WHERE rowid = {RID}"), at_2),
        // One word swapped for another: the same number of words.
        (reinsert("called the client about dinner acme corp omar haddad"), at_2),
        // One word added beside the right ones.
        (reinsert("called the client about discovery acme corp omar haddad smith"), at_2),
    ]
    .into_iter()
    .map(|(sql, expected)| (sql, Tamper { sql: "search tampering", expected }))
    .collect()
}

async fn search_finds(store: &SqliteStore, account: casetrail_store::AccountId, word: &str) -> Vec<u64> {
    let q: BrowseQuery = query(&[("q", word)]);
    store.events(account, &q).await.unwrap().events.iter().map(|e| e.seq).collect()
}

#[tokio::test]
async fn every_kind_of_derived_row_tampering_is_reported_with_its_seq() {
    let mut cases: Vec<(String, Tamper)> =
        SHARED_TAMPERS.iter().map(|t| (t.sql.to_string(), Tamper { sql: t.sql, expected: t.expected })).collect();
    cases.extend(search_tampers());
    for (sql, tamper) in cases {
        let store = SqliteStore::open_temporary().unwrap();
        let account = seed_derived(&store).await;
        rusqlite::Connection::open(store.path()).unwrap().execute_batch(&sql).unwrap();
        assert_tamper_reported(&store, account, &tamper).await;
    }
}

#[tokio::test]
async fn a_word_taken_out_of_the_index_hides_the_event_until_verification_names_it() {
    let store = SqliteStore::open_temporary().unwrap();
    let account = seed_derived(&store).await;
    assert_eq!(search_finds(&store, account, "discovery").await, [2]);
    let (sql, tamper) = search_tampers().remove(1);
    rusqlite::Connection::open(store.path()).unwrap().execute_batch(&sql).unwrap();
    assert_eq!(search_finds(&store, account, "discovery").await, Vec::<u64>::new(), "the tampering hides it");
    assert_tamper_reported(&store, account, &tamper).await;
}

#[tokio::test]
async fn links_of_the_seed_are_the_ones_ingest_wrote() {
    // What verification expects is what the append stored, row for row.
    let store = SqliteStore::open_temporary().unwrap();
    seed_derived(&store).await;
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let mut st = conn.prepare("SELECT seq, kind, record_id FROM event_records ORDER BY seq, kind, record_id").unwrap();
    let stored: Vec<(i64, String, String)> =
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
    let mut expected = Vec::new();
    for (i, event) in casetrail_store::testing::derived::derived_seed().iter().enumerate() {
        let event = event.clone().into_event(
            casetrail_store::EventId::nil(),
            casetrail_store::AccountId::nil(),
            i as u64 + 1,
            casetrail_core::Timestamp::now(),
        );
        expected.extend(filter_links(&event).into_iter().map(|(k, id)| (i as i64 + 1, k.to_string(), id.to_string())));
    }
    assert_eq!(stored, expected);
    assert_eq!(stored.len(), 4);
}
