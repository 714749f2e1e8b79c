//! Tampering with the rows derived from event bodies — case/client links, the
//! `search` lexemes, filter columns, picker entries — straight in the database is
//! found by verification and named with its seq, while untouched stores report
//! nothing.

mod support;

use casetrail_core::query::BrowseQuery;
use casetrail_store::EventStore;
use casetrail_store::testing::derived::{SHARED_TAMPERS, Tamper, assert_tamper_reported, seed_derived};
use casetrail_store::testing::support::query;
use casetrail_store_postgres::PostgresStore;

/// Seq 2's lexemes are `called the client about discovery acme corp omar haddad`.
const SEARCH_TAMPERS: &[Tamper] = &[
    Tamper {
        sql: "UPDATE events SET search = array_to_tsvector(array_remove(tsvector_to_array(search), 'discovery'))
              WHERE seq = 2",
        expected: &[(2, "search index entry")],
    },
    Tamper {
        sql: "UPDATE events SET search = search || array_to_tsvector('{smith}') WHERE seq = 2",
        expected: &[(2, "search index entry")],
    },
];

async fn tampered(tamper: &Tamper) -> (PostgresStore, casetrail_store::AccountId) {
    let store = support::fresh().await;
    let account = seed_derived(&store).await;
    support::plain_client(store.url()).await.batch_execute(tamper.sql).await.expect(tamper.sql);
    (store, account)
}

#[tokio::test]
async fn every_kind_of_derived_row_tampering_is_reported_with_its_seq() {
    for tamper in SHARED_TAMPERS.iter().chain(SEARCH_TAMPERS) {
        let (store, account) = tampered(tamper).await;
        assert_tamper_reported(&store, account, tamper).await;
    }
}

#[tokio::test]
async fn a_word_taken_out_of_the_lexemes_hides_the_event_until_verification_names_it() {
    let (store, account) = tampered(&SEARCH_TAMPERS[0]).await;
    let q: BrowseQuery = query(&[("q", "discovery")]);
    assert!(store.events(account, &q).await.unwrap().events.is_empty(), "the tampering hides it");
    let q: BrowseQuery = query(&[("q", "haddad")]);
    let found: Vec<u64> = store.events(account, &q).await.unwrap().events.iter().map(|e| e.seq).collect();
    assert_eq!(found, [2], "the event's other words still find it");
    assert_tamper_reported(&store, account, &SEARCH_TAMPERS[0]).await;
}
