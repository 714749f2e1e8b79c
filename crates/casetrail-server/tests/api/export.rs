//! `GET /api/v1/events/export`: read back with real readers, cell by cell against the
//! browse results, with hostile cells; headers; the export event; who may export.

use std::io::Cursor;

use serde_json::{Value, json};

use crate::support::{MEMBER_PASSWORD, TestApp, ago, spawn_app};

const HOSTILE: &[&str] = &[
    "=SUM(A1:A9)",
    "+1 555 0100",
    "-2",
    "@admin",
    "\tindent",
    "\rreturn",
    "a, \"quoted\"\nnewline",
    "🚀 <script>alert(1)</script>",
    "O'Brien",
];

async fn seed(app: &TestApp) {
    let mut events = Vec::new();
    for (i, text) in HOSTILE.iter().enumerate() {
        events.push(json!({
            "actor": {"id": format!("u_{i}"), "name": text, "email": format!("u{i}@firm.example")},
            "activity": if i % 2 == 0 { "case.updated" } else { "communication.sms_sent" },
            "description": text,
            "occurred_at": ago(1000 - i as i64),
            "related": [{"type": "case", "id": format!("c_{}", i % 3), "name": text}, {"type": "client", "id": "cl_1"}],
            "changes": [{"field": "status", "before": text, "after": 5}, {"field": "tags", "before": null, "after": ["a", {"b": 1}]}],
            "context": {"ip": format!("203.0.113.{i}")}
        }));
    }
    app.ingest_ok(&json!({ "events": events })).await;
}

/// The expected cells of each event the browse endpoint returns for `query`.
async fn expected_rows(app: &TestApp, query: &str) -> Vec<Vec<String>> {
    let (_, body) = app.admin_get(&format!("/api/v1/events?limit=500&{query}")).await;
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let related: Vec<String> = e["related"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let label = match r["type"].as_str().unwrap() {
                        "case" => "Case",
                        "client" => "Client",
                        other => panic!("{other}"),
                    };
                    format!("{label}: {}", r["name"].as_str().unwrap_or_else(|| r["id"].as_str().unwrap()))
                })
                .collect();
            let show = |v: &Value| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let changes: Vec<String> = e["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| format!("{}: {} → {}", c["field"].as_str().unwrap(), show(&c["before"]), show(&c["after"])))
                .collect();
            vec![
                e["occurred_at"].as_str().unwrap().to_string(),
                e["actor"]["name"].as_str().unwrap().to_string(),
                e["actor"]["email"].as_str().unwrap_or("").to_string(),
                e["activity_label"].as_str().unwrap().to_string(),
                e["activity"].as_str().unwrap().to_string(),
                e["description"].as_str().unwrap().to_string(),
                related.join("; "),
                changes.join("; "),
                e["context"]["ip"].as_str().unwrap_or("").to_string(),
                e["id"].as_str().unwrap().to_string(),
            ]
        })
        .collect()
}

fn guarded(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell.to_string() }
}

const HEADER: [&str; 10] = [
    "Timestamp",
    "User",
    "User email",
    "Activity",
    "Activity type",
    "Details",
    "Related records",
    "Changes",
    "IP address",
    "Event ID",
];

#[tokio::test]
async fn csv_holds_exactly_the_browse_rows_with_formulas_guarded() {
    let app = spawn_app().await;
    seed(&app).await;
    for query in ["", "activity=case", "case=c_1", "q=brien", "actor=u_2&actor=u_3"] {
        let expected = expected_rows(&app, query).await;
        let response = app.get(&format!("/api/v1/events/export?format=csv&{query}"), &app.firm.admin_key).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
        let disposition = response.headers()["content-disposition"].to_str().unwrap().to_string();
        assert!(
            disposition.starts_with("attachment; filename=\"system-log-") && disposition.ends_with(".csv\""),
            "{disposition}"
        );
        let bytes = response.bytes().await.unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM");
        assert!(bytes[3..].windows(2).any(|w| w == b"\r\n"));
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(&bytes[3..]);
        let rows: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
        assert_eq!(rows[0], HEADER);
        let want: Vec<Vec<String>> = expected.iter().map(|r| r.iter().map(|c| guarded(c)).collect()).collect();
        assert_eq!(&rows[1..], &want[..], "query {query:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn xlsx_holds_the_same_cells_as_text() {
    use calamine::{Data, Reader, Xlsx};
    let app = spawn_app().await;
    seed(&app).await;
    let expected = expected_rows(&app, "").await;
    let response = app.get("/api/v1/events/export?format=xlsx", &app.firm.admin_key).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert!(response.headers()["content-disposition"].to_str().unwrap().ends_with(".xlsx\""));
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    Data::Empty => String::new(),
                    other => panic!("a cell that is not text: {other:?}"),
                })
                .collect()
        })
        .collect();
    assert_eq!(rows[0], HEADER);
    // calamine reads a lone CR inside a cell back as it was written.
    assert_eq!(&rows[1..], &expected[..]);
    app.stop().await;
}

#[tokio::test]
async fn every_export_is_an_event_written_when_it_ends() {
    let app = spawn_app().await;
    seed(&app).await;
    let response = app
        .get("/api/v1/events/export?format=csv&activity=case&activity=communication.sms_sent&q=a", &app.firm.admin_key)
        .await;
    let text = response.text().await.unwrap();
    let rows = text.lines().count();
    let mut found = Value::Null;
    for _ in 0..100 {
        let (_, list) = app.admin_get("/api/v1/events?activity=system_log.exported").await;
        if let Some(e) = list["events"].as_array().unwrap().first() {
            found = e.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(found["actor"]["type"], "api");
    let meta = &found["metadata"];
    assert_eq!(meta["format"], "csv");
    assert_eq!(meta["filters"], json!({"activity": ["case", "communication.sms_sent"], "q": "a"}));
    assert_eq!(meta["complete"], true);
    assert!(meta["rows"].as_u64().unwrap() >= 1);
    assert!(rows as u64 > meta["rows"].as_u64().unwrap(), "the header plus the rows");
    // It is not part of the export it records.
    assert!(!text.contains("system_log.exported"));
    app.stop().await;
}

#[tokio::test]
async fn export_parameters_and_who_may_export() {
    let app = spawn_app().await;
    seed(&app).await;
    for bad in ["format=pdf", "format=json", "activity=case.opened", "from=someday", "colour=red", "format=jsonl&q=x"] {
        let response = app.get(&format!("/api/v1/events/export?{bad}"), &app.firm.admin_key).await;
        assert_eq!(response.status(), 400, "{bad}");
    }
    // Format defaults to CSV.
    let response = app.get("/api/v1/events/export", &app.firm.admin_key).await;
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(app.get("/api/v1/events/export", &app.firm.ingest_key).await.status(), 403);
    assert_eq!(app.client.get(app.url("/api/v1/events/export")).send().await.unwrap().status(), 401);
    let member = app.add_member("mo@smithjones.example").await;
    let browser = app.signed_in(&member, MEMBER_PASSWORD).await;
    assert_eq!(browser.get(app.url("/api/v1/events/export")).send().await.unwrap().status(), 403);
    let admin = app.signed_in(&app.firm.admin.email, &app.firm.admin_password).await;
    assert_eq!(admin.get(app.url("/api/v1/events/export?format=xlsx")).send().await.unwrap().status(), 200);
    let other = app.other_firm().await;
    let text = app.get("/api/v1/events/export", &other.admin_key).await.text().await.unwrap();
    assert_eq!(text.lines().count(), 1, "another firm's export has only the header");
    app.stop().await;
}

/// An export of several store pages and many response chunks (megabytes) holds every
/// event once, in browse order — the path where the body streams while pages are read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_export_streams_every_event_in_browse_order() {
    let app = spawn_app().await;
    let filler = "lorem ipsum dolor ".repeat(20);
    for chunk in 0..5 {
        let events: Vec<Value> = (0..1000)
            .map(|i| {
                let n = chunk * 1000 + i;
                json!({"actor": {"id": format!("u_{}", n % 7), "name": "Bulk Person"}, "activity": "case.updated",
                       "description": format!("bulk {n} {filler}"), "occurred_at": ago(5000 - n)})
            })
            .collect();
        app.ingest_ok(&json!({ "events": events })).await;
    }
    let mut want = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/events?limit=200&cursor={c}"),
            None => "/api/v1/events?limit=200".into(),
        };
        let (_, page) = app.admin_get(&path).await;
        want.extend(page["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(want.len(), 5000);

    let response = app.get("/api/v1/events/export?format=csv", &app.firm.admin_key).await;
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.len() > 2_000_000, "{} bytes", bytes.len());
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(&bytes[3..]);
    let ids: Vec<String> = reader.records().map(|r| r.unwrap()[9].to_string()).collect();
    assert_eq!(ids, want);
    app.stop().await;
}
