//! Opening a store: passwords never shown, TLS as the URL asks, migrations that
//! several servers may run at once.

mod support;

use std::error::Error;
use std::time::{Duration, Instant};

use casetrail_store::StoreError;
use casetrail_store_postgres::PostgresStore;
use support::*;

const SECRET: &str = "s3cretpw";

/// Every text an error can show: Display, Debug, and each source's.
fn shown(err: &StoreError) -> String {
    let mut out = format!("{err}\n{err:?}");
    let mut next = err.source();
    while let Some(e) = next {
        out += &format!("\n{e}\n{e:?}");
        next = e.source();
    }
    out
}

async fn connect_fails(url: &str) -> String {
    let started = Instant::now();
    let outcome = PostgresStore::connect(url).await;
    assert!(started.elapsed() < Duration::from_secs(5), "{url}: failing took {:?}", started.elapsed());
    let err = outcome.expect_err("nothing listens there");
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    shown(&err)
}

#[tokio::test]
async fn a_failed_connect_never_shows_the_password() {
    let cases = [
        format!("postgres://postgres:{SECRET}@127.0.0.1:1/x"),
        format!("postgresql://postgres:{SECRET}@127.0.0.1:1/x?sslmode=require"),
        format!("postgres://postgres@127.0.0.1:1/x?password={SECRET}"),
        format!("host=127.0.0.1 port=1 user=postgres password={SECRET} dbname=x"),
        format!("postgres://postgres:{SECRET}@127.0.0.1:notaport/x"),
    ];
    for url in cases {
        let text = connect_fails(&url).await;
        assert!(!text.contains(SECRET), "{url}:\n{text}");
        assert!(text.contains("***") || !url.starts_with("postgres"), "the redacted URL is named:\n{text}");
    }
    let text = connect_fails(&format!("postgres://postgres:{SECRET}@127.0.0.1:1/x")).await;
    assert!(text.contains("postgres://postgres:***@127.0.0.1:1/x"), "{text}");
    assert!(text.contains("onnection refused"), "the cause is named: {text}");
}

#[tokio::test]
async fn an_open_store_never_shows_the_password() {
    // Trust authentication ignores the password, so the store opens with it.
    let store = fresh().await;
    let with_secret = with_param(store.url(), &format!("password={SECRET}"));
    let second = PostgresStore::connect(&with_secret).await.expect("connect with a password");
    assert!(!format!("{second:?}").contains(SECRET), "{second:?}");
    assert!(!second.redacted_url().contains(SECRET));
    assert!(second.redacted_url().ends_with("&password=***"), "{}", second.redacted_url());
    assert_eq!(second.redacted_url().replace("&password=***", ""), store.url());
}

#[tokio::test]
async fn sslmode_require_needs_a_trusted_certificate() {
    let tls_on: String = plain_client(&server_url()).await.query_one("SHOW ssl", &[]).await.expect("SHOW ssl").get(0);
    let url = with_param(&server_url().replacen("postgres@", &format!("postgres:{SECRET}@"), 1), "sslmode=require");
    let err =
        PostgresStore::connect(&url).await.expect_err("the server's certificate is not trusted, or it has no TLS");
    let text = shown(&err);
    assert!(text.contains("TLS"), "the error names TLS: {text}");
    assert!(!text.contains(SECRET), "{text}");
    let reason = if tls_on == "on" { "invalid peer certificate" } else { "server does not support TLS" };
    assert!(text.contains(reason), "ssl = {tls_on}, so the reason is {reason}: {text}");
}

/// Whether the connection a store opened with `url` is encrypted, as the server's
/// `pg_stat_ssl` tells (found by a unique `application_name`).
async fn encrypted(url: &str) -> bool {
    let name = format!("casetrail_probe_{}", uuid::Uuid::now_v7().simple());
    let store = PostgresStore::connect(&with_param(url, &format!("application_name={name}"))).await.expect("connect");
    let rows = plain_client(&server_url())
        .await
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a ON a.pid = s.pid WHERE a.application_name = $1",
            &[&name],
        )
        .await
        .expect("pg_stat_ssl");
    drop(store);
    assert_eq!(rows.len(), 1, "the store keeps the one connection it opened");
    rows[0].get(0)
}

#[tokio::test]
async fn sslmode_prefer_encrypts_when_the_server_offers_tls_and_disable_never_does() {
    let store = fresh().await;
    let tls_on: String = plain_client(&server_url()).await.query_one("SHOW ssl", &[]).await.expect("SHOW ssl").get(0);
    assert!(!encrypted(&with_param(store.url(), "sslmode=disable")).await);
    assert_eq!(encrypted(&with_param(store.url(), "sslmode=prefer")).await, tls_on == "on");
    assert_eq!(encrypted(store.url()).await, tls_on == "on", "prefer is the default");
}

/// The tables and versions a migrated schema holds.
async fn schema_contents(schema: &str) -> (Vec<String>, Vec<i32>) {
    let client = plain_client(&server_url()).await;
    let tables = client
        .query("SELECT tablename::text FROM pg_tables WHERE schemaname = $1 ORDER BY tablename", &[&schema])
        .await
        .expect("tables")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let sql = format!("SELECT version FROM {schema}.schema_migrations ORDER BY version");
    let versions = client.query(&sql, &[]).await.expect("versions").iter().map(|r| r.get(0)).collect();
    (tables, versions)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_servers_starting_at_once_migrate_a_new_schema_once() {
    let schema = BareSchema::create().await;
    let url = schema.url();
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::connect(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for start in starts {
        stores.push(start.await.expect("task").expect("every start succeeds"));
    }
    let expected: Vec<String> = [
        "accounts",
        "actors",
        "api_keys",
        "checkpoints",
        "event_records",
        "events",
        "holds",
        "leases",
        "login_attempts",
        "merkle_nodes",
        "purge_runs",
        "record_events",
        "records",
        "schema_migrations",
        "sessions",
        "signing_keys",
        "streams",
        "tombstones",
        "users",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(schema_contents(&schema.name).await, (expected.clone(), vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));

    // They all work on the one set of tables, and a later start changes nothing.
    let account = casetrail_store::AccountStore::create_account(&stores[0], "Shared LLP").await.unwrap();
    for store in &stores {
        let seen = casetrail_store::AccountStore::account(store, account.id).await.unwrap();
        assert_eq!(seen.map(|a| a.name), Some("Shared LLP".to_string()));
    }
    drop(PostgresStore::connect(&url).await.expect("a later start"));
    assert_eq!(schema_contents(&schema.name).await, (expected, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    drop(stores);
    schema.drop_now().await;
}
