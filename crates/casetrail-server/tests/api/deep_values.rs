//! Events stored before ingest refused deep nesting (or written into the database by
//! other means) stay readable everywhere; an export that cannot finish never looks
//! finished.

use std::io::Cursor;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{TestApp, ago, spawn_app};

/// Deeper than serde_json's limit of 128 levels.
const LEVELS: usize = 200;

fn deep_text() -> String {
    format!("{}\"bottom\"{}", "[".repeat(LEVELS), "]".repeat(LEVELS))
}

/// An event whose change and metadata nest [`LEVELS`] deep, appended straight to the
/// store past ingest's checks, as events stored earlier came to be. Its chain link
/// is sound: only the depth is unusual.
async fn append_deep(app: &TestApp) -> String {
    use casetrail_core::validate::{IngestRules, parse_ingest};
    let shallow = json!({"events": [{
        "actor": {"id": "u_9", "name": "Old Importer"}, "activity": "case.updated",
        "description": "imported long ago", "occurred_at": ago(60),
        "changes": [{"field": "deep", "before": "x", "after": 1}],
    }]});
    let rules = IngestRules { now: casetrail_core::Timestamp::now(), window_start: None, allow_reserved: false };
    let mut events = parse_ingest(&shallow, &rules).unwrap();
    let deep: Value = (0..LEVELS).fold(json!("bottom"), |inner, _| json!([inner]));
    events[0].changes[0].before = deep.clone();
    events[0].metadata.insert("deep".into(), deep);
    let batch = casetrail_store::AppendBatch { account_id: app.account_id(), events };
    let appended = app.store.append(vec![batch]).await.unwrap().remove(0);
    appended[0].id.to_string()
}

const CUT: &str = "(nested more than 64 levels deep: ";

#[tokio::test]
async fn every_reader_shows_an_event_nested_too_deep_for_the_parser() {
    let app = spawn_app().await;
    app.ingest_ok(&crate::support::event("case.created", "an ordinary neighbour")).await;
    let id = append_deep(&app).await;

    // The API returns the stored text as it is, whole.
    for path in [format!("/api/v1/events/{id}"), "/api/v1/events".to_string(), "/api/v1/events?q=imported".into()] {
        let response = app.get(&path, &app.firm.admin_key).await;
        assert_eq!(response.status(), 200, "{path}");
        let text = response.text().await.unwrap();
        assert!(text.contains(&id), "{path}");
        assert_eq!(text.matches(&deep_text()).count(), 2, "{path}: the change and the metadata, whole");
    }

    let browser = app.signed_in(&app.firm.admin.email, &app.firm.admin_password).await;
    let log = browser.get(app.url("/settings/system-log")).send().await.unwrap();
    assert_eq!(log.status(), 200);
    let log = log.text().await.unwrap();
    assert!(log.contains("imported long ago") && log.contains("an ordinary neighbour"));
    let entry = browser.get(app.url(&format!("/settings/system-log/{id}"))).send().await.unwrap();
    assert_eq!(entry.status(), 200);
    let entry = entry.text().await.unwrap();
    assert!(entry.contains("imported long ago"));
    assert!(entry.contains(CUT), "the deep part is shown cut off");

    let csv = app.get("/api/v1/events/export?format=csv", &app.firm.admin_key).await;
    assert_eq!(csv.status(), 200);
    let bytes = csv.bytes().await.unwrap();
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(&bytes[3..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // The neighbour, the deep one and the sign-in.
    assert_eq!(rows.len(), 3);
    let deep_row = rows.iter().find(|r| &r[9] == id.as_str()).expect("the deep event is exported");
    assert_eq!(&deep_row[5], "imported long ago");
    assert!(deep_row[7].starts_with("deep: [[[") && deep_row[7].contains(CUT) && deep_row[7].ends_with("]]] → 1"));

    let xlsx = app.get("/api/v1/events/export?format=xlsx", &app.firm.admin_key).await;
    assert_eq!(xlsx.status(), 200);
    let bytes = xlsx.bytes().await.unwrap().to_vec();
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let cells: Vec<String> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<String>>())
        .find(|cells| cells[9] == id)
        .expect("the deep event is in the workbook");
    assert_eq!(cells[7], deep_row[7].to_string(), "the same cut as the CSV");

    let exports = export_events(&app, 2).await;
    assert!(exports.iter().all(|e| e["metadata"]["complete"] == true), "{exports:?}");

    // Its link is sound, and its indexed columns agree with its body: the chain verifies.
    let (status, report) = app.admin_get("/api/v1/integrity").await;
    assert_eq!(status, 200);
    assert_eq!(report["problems"], json!([]), "{report}");
    assert_eq!(report["ok"], true);
    app.stop().await;
}

/// The `system_log.exported` events, once `count` of them are written (an export is
/// recorded after its last byte).
async fn export_events(app: &TestApp, count: usize) -> Vec<Value> {
    for _ in 0..200 {
        let (_, list) = app.admin_get("/api/v1/events?activity=system_log.exported").await;
        let found = list["events"].as_array().unwrap().clone();
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("fewer than {count} exports were recorded");
}

/// Makes the stored body of the event found by searching `word` no longer JSON: a
/// damaged row. `marker` is the text in its body to break.
async fn break_body(app: &TestApp, word: &str, marker: &str) {
    let (_, list) = app.admin_get(&format!("/api/v1/events?q={word}")).await;
    let found = list["events"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{list}");
    let seq = found[0]["seq"].as_u64().unwrap();
    app.tamper_event_body(seq, marker, &format!("{marker}\"")).await;
}

#[tokio::test]
async fn an_export_that_fails_before_its_first_bytes_is_an_error_not_a_file() {
    let app = spawn_app().await;
    app.ingest_ok(&crate::support::event("case.updated", "damagedrow")).await;
    break_body(&app, "damagedrow", "damagedrow").await;
    let response = app.get("/api/v1/events/export?format=csv", &app.firm.admin_key).await;
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "internal");
    let recorded = export_events(&app, 1).await;
    assert_eq!(recorded[0]["metadata"]["complete"], false);
    assert_eq!(recorded[0]["metadata"]["rows"], 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_that_fails_midway_aborts_the_download_or_never_starts() {
    let app = spawn_app().await;
    // The oldest event, written last, is the damaged one; the rows before it are
    // well past the first chunk, so the headers have gone out by then.
    let filler = "lorem ipsum dolor ".repeat(10);
    let events: Vec<Value> = (0..800)
        .map(|n| {
            json!({"actor": {"id": "u_1", "name": "Bulk Person"}, "activity": "case.updated",
                   "description": if n == 0 { format!("brokenrow {filler}") } else { format!("row-{n} {filler}") }, "occurred_at": ago(5000 - n)})
        })
        .collect();
    app.ingest_ok(&json!({ "events": events })).await;
    break_body(&app, "brokenrow", "brokenrow").await;
    let response = app.get("/api/v1/events/export?format=csv", &app.firm.admin_key).await;
    assert_eq!(response.status(), 200, "the first chunk went out before the damaged row");
    let read = response.bytes().await;
    assert!(read.is_err(), "the body ended as if whole ({} bytes)", read.map(|b| b.len()).unwrap_or(0));
    // Recorded before the next export begins, so that one holds its record too.
    export_events(&app, 1).await;
    // An XLSX sends its bytes only once every row is written: this one fails first.
    let response = app.get("/api/v1/events/export?format=xlsx", &app.firm.admin_key).await;
    assert_eq!(response.status(), 500);
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "internal");
    let recorded = export_events(&app, 2).await;
    let outcomes: Vec<(&str, bool, u64)> = recorded
        .iter()
        .map(|e| {
            let meta = &e["metadata"];
            (meta["format"].as_str().unwrap(), meta["complete"].as_bool().unwrap(), meta["rows"].as_u64().unwrap())
        })
        .collect();
    // Every row before the damaged one; the XLSX also the record of the CSV export.
    assert_eq!(outcomes, [("xlsx", false, 800), ("csv", false, 799)]);
    app.stop().await;
}
