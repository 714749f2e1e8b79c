use crate::support::spawn_app;

#[tokio::test]
async fn healthz_answers_without_credentials() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), r#"{"status":"ok"}"#);
    app.stop().await;
}
