//! The big pages render on a blocking thread: while one renders, the async workers
//! go on serving, `/healthz` among them.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use askama::Template;
use axum::http::StatusCode;

use super::render_off_thread;

/// Text whose rendering waits until the test says `/healthz` has answered (at most
/// 10 s): it can only be told if the async worker is free while it renders.
struct Gate(Receiver<()>);

impl std::fmt::Display for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.recv_timeout(Duration::from_secs(10)) {
            Ok(()) => f.write_str("healthz answered during the render"),
            Err(_) => f.write_str("nothing else ran during the render"),
        }
    }
}

#[derive(Template)]
#[template(source = "{{ gate }}", ext = "html")]
struct GatedPage {
    gate: Gate,
}

/// On one async worker (the test's current-thread runtime) for the server and the
/// client alike: a render on that worker would hold up the health check until the
/// gate gave up.
#[tokio::test]
async fn healthz_answers_while_a_page_renders() {
    let store = casetrail_store_sqlite::SqliteStore::open_temporary().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::serve(listener, Arc::new(store), crate::ServerConfig::default(), async {
        let _ = stopped.await;
    }));
    let (answered, gate) = channel();
    let render = tokio::spawn(render_off_thread(StatusCode::OK, GatedPage { gate: Gate(gate) }));
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), r#"{"status":"ok"}"#);
    // The render may have given up already, and dropped its end.
    let _ = answered.send(());
    let page = render.await.unwrap();
    assert_eq!(page.status(), 200);
    let html = axum::body::to_bytes(page.into_body(), 1024).await.unwrap();
    assert_eq!(html, "healthz answered during the render");
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
