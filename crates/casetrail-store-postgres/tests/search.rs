//! Keyword search on PostgreSQL: our words in a `tsvector`, including words longer than
//! PostgreSQL's lexeme limit, and query text that is never `tsquery` syntax.

mod support;

use casetrail_store::Store;
use casetrail_store::testing::support::{append, browse, new_account, new_event};
use serde_json::json;

fn event(description: &str, actor_name: &str) -> casetrail_core::NewEvent {
    new_event(json!({
        "occurred_at": "2026-03-01T10:00:00Z",
        "actor": {"id": "u_long", "name": actor_name},
        "activity": "case.updated",
        "description": description,
    }))
}

async fn search(store: &dyn Store, account: casetrail_store::AccountId, q: &str) -> Vec<u64> {
    browse(store, account, &[("q", q)]).await
}

#[tokio::test]
async fn a_word_longer_than_a_lexeme_is_found_by_its_prefix_and_by_itself() {
    let store = support::fresh().await;
    let account = new_account(&store, "Long Words LLP").await;
    // 3000 bytes in 1500 chars (a description holds 2000), and 3000 ASCII bytes in an
    // actor name.
    let cyrillic = "ж".repeat(1500);
    let ascii = format!("q{}", "z".repeat(2999));
    append(&store, account, vec![event(&format!("memo {cyrillic}"), "Short Name"), event("other", &ascii)]).await;
    assert_eq!(cyrillic.len(), 3000);
    assert_eq!(ascii.len(), 3000);

    assert_eq!(search(&store, account, "жжж").await, [1]);
    assert_eq!(search(&store, account, &cyrillic).await, [1], "the whole word");
    assert_eq!(search(&store, account, &"ж".repeat(1023)).await, [1], "the longest prefix that fits");
    assert_eq!(search(&store, account, &format!("{}я", "ж".repeat(500))).await, Vec::<u64>::new());
    assert_eq!(search(&store, account, "qzz").await, [2]);
    assert_eq!(search(&store, account, &ascii).await, [2]);
    assert_eq!(search(&store, account, &format!("memo {}", &ascii[..2500])).await, Vec::<u64>::new());
    assert_eq!(search(&store, account, &format!("q{}x", "z".repeat(100))).await, Vec::<u64>::new());
    assert_eq!(search(&store, account, "memo").await, [1]);
}

#[tokio::test]
async fn tsquery_syntax_in_a_search_is_only_separators() {
    let store = support::fresh().await;
    let account = new_account(&store, "Hostile LLP").await;
    append(
        &store,
        account,
        vec![event("smith and jones", "Ann Lee"), event("jones only", "Bob Ray"), event("nothing here", "Cy Oh")],
    )
    .await;
    let all: &[u64] = &[3, 2, 1];
    let cases: &[(&str, &[u64])] = &[
        ("'", all),
        ("''", all),
        (":*", all),
        ("&", all),
        ("|", all),
        ("!", all),
        ("\\", all),
        ("(", all),
        (")", all),
        ("<->", all),
        ("🚀", all),
        ("'smith'", &[1]),
        ("smith:*", &[1]),
        ("smi:*B", &[]),
        ("jones & !smith", &[1]),
        ("jones | nothing", &[]),
        ("!jones", &[2, 1]),
        ("smith' | 'nothing", &[]),
        ("smith\\' & 'jones", &[1]),
        ("(jones)", &[2, 1]),
        ("jones <-> only", &[2]),
        ("jon:A", &[1]),
        ("'':* & ''", all),
        ("🚀jones🚀", &[2, 1]),
        ("only\u{0}", &[2]),
        ("\u{301}jones", &[2, 1]),
    ];
    for (q, expected) in cases {
        assert_eq!(&search(&store, account, q).await, expected, "q = {q:?}");
    }
}
