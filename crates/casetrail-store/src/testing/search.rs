//! Keyword search (`q`): every word must match the start of a word of the description,
//! a related record's name or the actor's name, ignoring case and diacritics; any text
//! is accepted and is never query syntax.

use std::sync::Arc;

use serde_json::json;

use super::support::*;
use crate::{AccountId, Store};

/// Six events, each newer than the one before (newest first is 6, 5, 4, 3, 2, 1).
///
/// | seq | description                       | related names                 | actor name     | not searched (must not match)             |
/// |-----|-----------------------------------|-------------------------------|----------------|-------------------------------------------|
/// | 1   | Updated the intake notes          | Smith v. Jones                | José Álvarez   | email jose@firm.test                      |
/// | 2   | Called the opposing counsel       | Pat Anderson                  | Mary O'Brien   | email mary@smithlaw.com                   |
/// | 3   | Created client from web form      | Orlando Nearby                | Intake Robot   | actor id smith_bot, metadata "smith zebra" |
/// | 4   | Opened matter for Xavier Smithers | Estate of Zoë Quill           | Kim Lee        | context user_agent "Smithsonian"          |
/// | 5   | Changed phone number              | (a client without a name)     | Mary O'Brien   | record id smithclient                     |
/// | 6   | Dropped table of events           | —                             | Kim Lee        | activity key, idempotency key "smithkey"  |
pub async fn search_fixture(store: &dyn Store) -> AccountId {
    let account = new_account(store, "Search LLP").await;
    let jose = json!({"id": "u_jose", "name": "José Álvarez", "email": "jose@firm.test"});
    let mary = json!({"id": "u_mary", "name": "Mary O'Brien", "email": "mary@smithlaw.com"});
    let kim = json!({"id": "u_kim", "name": "Kim Lee"});
    let events = vec![
        json!({"occurred_at": "2026-02-01T10:00:00Z", "actor": jose, "activity": "case.updated",
               "description": "Updated the intake notes",
               "related": [{"type": "case", "id": "c10", "name": "Smith v. Jones"}]}),
        json!({"occurred_at": "2026-02-01T11:00:00Z", "actor": mary, "activity": "communication.call_made",
               "description": "Called the opposing counsel",
               "related": [{"type": "client", "id": "cl10", "name": "Pat Anderson"}]}),
        json!({"occurred_at": "2026-02-01T12:00:00Z",
               "actor": {"id": "smith_bot", "name": "Intake Robot", "type": "automation"},
               "activity": "client.created", "description": "Created client from web form",
               "related": [{"type": "client", "id": "cl11", "name": "Orlando Nearby"}],
               "metadata": {"note": "smith zebra"}}),
        json!({"occurred_at": "2026-02-01T13:00:00Z", "actor": kim, "activity": "case.created",
               "description": "Opened matter for Xavier Smithers",
               "related": [{"type": "case", "id": "c11", "name": "Estate of Zoë Quill"}],
               "context": {"user_agent": "Smithsonian/1.0"}}),
        json!({"occurred_at": "2026-02-01T14:00:00Z", "actor": mary, "activity": "client.contact_changed",
               "description": "Changed phone number",
               "related": [{"type": "client", "id": "smithclient"}]}),
        json!({"occurred_at": "2026-02-01T15:00:00Z", "actor": kim, "activity": "case.exported",
               "idempotency_key": "smithkey", "description": "Dropped table of events"}),
    ];
    let appended = append(store, account, events.into_iter().map(new_event).collect()).await;
    assert_eq!(seqs_of(&appended), [1, 2, 3, 4, 5, 6]);
    account
}

/// The seqs a `q` finds, newest first. The query must never be an error.
pub async fn search(store: &dyn Store, account: AccountId, q: &str) -> Vec<u64> {
    browse(store, account, &[("q", q)]).await
}

async fn check(store: &dyn Store, account: AccountId, cases: &[(&str, &[u64])]) {
    for (q, expected) in cases {
        let got = search(store, account, q).await;
        let shown: String = q.chars().take(40).collect();
        assert_eq!(&got, expected, "q = {shown:?} ({} chars)", q.chars().count());
    }
}

/// A word matches the start of a word, never its middle.
pub async fn search_matches_word_prefixes(store: Arc<dyn Store>) {
    let store = &*store;
    let account = search_fixture(store).await;
    check(
        store,
        account,
        &[
            ("smi", &[4, 1]),
            ("Smith", &[4, 1]),
            ("smithers", &[4]),
            ("smithersx", &[]),
            ("s", &[4, 1]),
            ("ithers", &[]),
            ("hone", &[]),
            ("phone", &[5]),
            ("ph", &[5]),
            ("the", &[2, 1]),
            ("intake", &[3, 1]),
            ("quill", &[4]),
            ("zebra", &[]),
        ],
    )
    .await;
}

/// Every word must match (AND), each anywhere in the searched text.
pub async fn search_requires_every_word(store: Arc<dyn Store>) {
    let store = &*store;
    let account = search_fixture(store).await;
    check(
        store,
        account,
        &[
            ("smith jones", &[1]),
            ("jones smith", &[1]),
            ("smith jon", &[1]),
            ("smith jose", &[1]),
            ("smith kim", &[4]),
            ("counsel the", &[2]),
            ("the intake", &[1]),
            ("intake robot", &[3]),
            ("mary phone", &[5]),
            ("mary", &[5, 2]),
            ("smith zebra", &[]),
            ("smith mary", &[]),
            ("smith smith smi", &[4, 1]),
        ],
    )
    .await;
}

/// Case and diacritics are ignored, on both sides.
pub async fn search_ignores_case_and_diacritics(store: Arc<dyn Store>) {
    let store = &*store;
    let account = search_fixture(store).await;
    check(
        store,
        account,
        &[
            ("jose", &[1]),
            ("JOSE", &[1]),
            ("José", &[1]),
            ("JOSÉ", &[1]),
            ("Jose\u{301}", &[1]),
            ("alva", &[1]),
            ("ÁLVAREZ", &[1]),
            ("zoe", &[4]),
            ("Zoë", &[4]),
            ("ZOË QUILL", &[4]),
            ("SMITHERS", &[4]),
            ("xÁvIeR", &[4]),
        ],
    )
    .await;
}

/// Searched: description, related record names, actor name. Not searched: metadata,
/// context, actor id and email, record ids, activity keys, idempotency keys.
pub async fn search_covers_description_related_names_and_actor_name_only(store: Arc<dyn Store>) {
    let store = &*store;
    let account = search_fixture(store).await;
    check(
        store,
        account,
        &[
            ("opposing", &[2]),
            ("anderson", &[2]),
            ("orlando", &[3]),
            ("robot", &[3]),
            ("kim", &[6, 4]),
            ("zebra", &[]),
            ("note", &[1]),
            ("bot", &[]),
            ("u_kim", &[]),
            ("firm", &[]),
            ("smithlaw", &[]),
            ("smithclient", &[]),
            ("smithsonian", &[]),
            ("smithkey", &[]),
            ("call_made", &[]),
            ("exported", &[]),
            ("c10", &[]),
        ],
    )
    .await;
}

/// Words are runs of letters and digits: `O'Brien` is `o` AND `brien`, an email is
/// its parts.
pub async fn search_splits_on_punctuation(store: Arc<dyn Store>) {
    let store = &*store;
    let account = search_fixture(store).await;
    check(
        store,
        account,
        &[
            ("O'Brien", &[5, 2]),
            ("o’brien", &[5, 2]),
            ("brien", &[5, 2]),
            ("obrien", &[]),
            ("o'jones", &[]),
            ("mary@smithlaw.com", &[]),
            ("smith,jones", &[1]),
            ("v.", &[1]),
            ("smith-jones", &[1]),
            ("(smith)", &[4, 1]),
        ],
    )
    .await;
}

/// Hostile text is words or separators, never syntax: every query answers `Ok`, with
/// the results the words alone give.
pub async fn search_survives_hostile_input(store: Arc<dyn Store>) {
    let store = &*store;
    let account = search_fixture(store).await;
    let all: &[u64] = &[6, 5, 4, 3, 2, 1];
    let long_word = "a".repeat(5000);
    let long_words = "smi ".repeat(1250);
    let long_mixed: String = "\"*()-:^ ".chars().cycle().take(5000).collect();
    check(
        store,
        account,
        &[
            ("\"", all),
            ("\"\"", all),
            ("*", all),
            (")", all),
            ("(", all),
            ("🚀", all),
            ("%", all),
            ("_", all),
            ("\\", all),
            ("'", all),
            ("-", all),
            (":", all),
            ("^", all),
            ("{}[]", all),
            ("\u{0}", all),
            ("   ", all),
            (&long_mixed, all),
            ("\"smith\"", &[4, 1]),
            ("smith*", &[4, 1]),
            ("smi%", &[4, 1]),
            ("smith 🚀", &[4, 1]),
            ("🚀smith🚀", &[4, 1]),
            ("\u{0}smith", &[4, 1]),
            ("AND", &[2]),
            ("and", &[2]),
            ("OR", &[3]),
            ("NEAR(", &[3]),
            ("NEAR(smith jones, 2)", &[]),
            ("NOT smith", &[1]),
            ("smith OR jose", &[]),
            ("smith AND jones", &[]),
            ("-x", &[4]),
            ("smith -jones", &[1]),
            ("smith NOT", &[1]),
            ("text:smith", &[]),
            ("{text}: smith", &[]),
            ("^smith", &[4, 1]),
            ("smith\"", &[4, 1]),
            ("sm\"ith", &[]),
            ("'; DROP TABLE events;--", &[6]),
            ("\" OR 1=1 --", &[]),
            ("' OR '1'='1", &[]),
            (&long_word, &[]),
            (&long_words, &[4, 1]),
        ],
    )
    .await;

    // Nothing was harmed.
    assert_eq!(search(store, account, "").await, all);
    let chain = whole_chain(store, account).await;
    assert_chain(account, &chain);
    assert_eq!(chain.len(), 6);
}
