//! The store conformance suite, run against SQLite.

casetrail_store::store_conformance!(async {
    let store = casetrail_store_sqlite::SqliteStore::open_temporary().expect("open a temporary SQLite store");
    std::sync::Arc::new(store) as std::sync::Arc<dyn casetrail_store::Store>
});
