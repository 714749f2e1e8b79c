//! The retention page says how often the server really purges: its configured
//! interval, not a fixed word.

use casetrail_server::ServerConfig;

use crate::support::spawn_app_with;

#[tokio::test]
async fn the_retention_page_says_the_servers_purge_interval() {
    for (secs, words) in [(3600, "every hour"), (7200, "every 2 hours"), (900, "every 15 minutes")] {
        let config = ServerConfig { retention_every: std::time::Duration::from_secs(secs), ..Default::default() };
        let app = spawn_app_with(config).await;
        let admin = app.signed_in(&app.firm.admin.email, &app.firm.admin_password).await;
        let page = admin.get(app.url("/settings/system-log/retention")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let expected = format!("The server purges by itself {words}.");
        assert!(html.contains(&expected), "{secs} s: {expected:?} not on the page");
        assert!(!html.contains("daily"));
        app.stop().await;
    }
}
