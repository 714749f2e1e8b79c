//! The hold form picks its case or client by name with the log's type-ahead picker,
//! scoped by the type chosen; without a script the same form works from the
//! picker's list or an id typed in.

use crate::driver::{Browser, with_browser};
use crate::support::{event, spawn_app};

async fn submit(b: &Browser, button: &str) {
    b.script("window.__posting = true").await;
    b.click(button).await;
    b.wait_until("!window.__posting").await;
}

fn related(id: &str, kind: &str, name: &str) -> serde_json::Value {
    let mut e = event("case.updated", &format!("Worked on {name}"));
    e["related"] = serde_json::json!([{"type": kind, "id": id, "name": name}]);
    e
}

#[tokio::test]
async fn a_hold_is_placed_on_a_case_or_client_picked_by_name() {
    let app = spawn_app().await;
    // The oldest case, then more cases than the picker lists before anyone types
    // (it lists the most recently seen): typing still finds it.
    let mut oldest = related("c_old", "case", "Quill v. Ramsey");
    oldest["occurred_at"] = serde_json::json!(crate::support::ago(7200));
    let mut seen = vec![oldest];
    seen.extend((0..120).map(|i| related(&format!("c_x{i}"), "case", &format!("Other matter {i}"))));
    seen.extend([related("c_204", "case", "Smith v. Jones"), related("cl_88", "client", "Smithers Holdings")]);
    for chunk in seen.chunks(100) {
        app.ingest_ok(&serde_json::json!({"events": chunk})).await;
    }
    let (email, password) = (app.firm.admin.email.clone(), app.firm.admin_password.clone());
    with_browser(&app, 1280, move |b| async move {
        b.goto("/settings/system-log/retention").await;
        b.sign_in(&email, &password).await;
        b.wait_for_location("/settings/system-log/retention").await;

        // A case by name: the picker asks the log's cases.
        b.pick("hold", "smith", "Smith v. Jones").await;
        assert_eq!(b.script("return document.getElementById('f-hold').value").await, "case:c_204");
        b.type_into("#hold-reason", "Trial in March").await;
        submit(&b, "#place-hold").await;
        assert_eq!(b.find("#notice").await.text().await.unwrap(), "Placed a hold on case c_204.");
        let name = b.find("tr.hold-row a.hold-name").await;
        assert_eq!(name.text().await.unwrap(), "Smith v. Jones");

        // A case beyond the first list is found by typing.
        let listed = b.script("return [...document.querySelectorAll('#f-hold option')].map(o => o.value)").await;
        assert!(!listed.as_array().unwrap().iter().any(|v| v == "case:c_old"), "not among the first 100");
        b.pick("hold", "quill", "Quill v. Ramsey").await;
        submit(&b, "#place-hold").await;
        assert_eq!(b.find("#notice").await.text().await.unwrap(), "Placed a hold on case c_old.");

        // Clients: the type scopes the search, so "smith" finds the client, not the case.
        b.script(
            "const t = document.getElementById('hold-type'); t.value = 'client'; t.dispatchEvent(new Event('change'))",
        )
        .await;
        b.pick("hold", "smith", "Smithers Holdings").await;
        assert_eq!(b.script("return document.getElementById('f-hold').value").await, "client:cl_88");
        submit(&b, "#place-hold").await;
        assert_eq!(b.find("#notice").await.text().await.unwrap(), "Placed a hold on client cl_88.");
        let names = b.texts("tr.hold-row a.hold-name").await;
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names.contains(&"Smithers Holdings".to_string()), "{names:?}");
        if let Some(dir) = std::env::var_os("SCREENSHOT_DIR").map(std::path::PathBuf::from) {
            for (name, width) in [("hold-picker.png", 1280), ("hold-picker-phone.png", 390)] {
                b.client.set_window_size(width, 900).await.unwrap();
                b.script("document.getElementById('add-hold').scrollIntoView()").await;
                b.click("#f-hold-search").await;
                b.find("#f-hold-search").await.send_keys("smi").await.unwrap();
                b.wait_until("!document.querySelector('.hold-form .combo-list').hidden").await;
                std::fs::write(dir.join(name), b.client.screenshot().await.unwrap()).unwrap();
                b.script("document.activeElement.blur()").await;
            }
        }
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn without_a_script_the_hold_form_works_from_its_list_or_an_id() {
    let app = spawn_app().await;
    app.ingest_ok(&related("c_204", "case", "Smith v. Jones")).await;
    let admin = app.signed_in(&app.firm.admin.email, &app.firm.admin_password).await;
    let html = admin.get(app.url("/settings/system-log/retention")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(r#"<option value="case:c_204" data-detail="c_204">Smith v. Jones</option>"#), "{html}");
    let csrf = crate::support::hidden_value(&html, "csrf").unwrap();
    let post = |pairs: &[(&'static str, &str)]| {
        let mut form = vec![("csrf", csrf.clone()), ("action", "add_hold".to_string())];
        form.extend(pairs.iter().map(|(k, v)| (*k, v.to_string())));
        admin.post(app.url("/settings/system-log/retention")).form(&form).send()
    };
    // From the list: the pick names its type, whatever the type select says.
    let page = post(&[("type", "client"), ("record", "case:c_204"), ("id", "")]).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Placed a hold on case c_204."));
    // An id typed in, for a record the log has not seen: it wins over a pick.
    let page = post(&[("type", "client"), ("record", "case:c_204"), ("id", "cl_new")]).await.unwrap();
    assert!(page.text().await.unwrap().contains("Placed a hold on client cl_new."));
    // Neither, a pick of another type of record, or a malformed one: refused in words.
    for (pairs, message) in [
        (&[("type", "case"), ("record", ""), ("id", "")][..], "Pick the case to hold, or enter its id."),
        (&[("type", "case"), ("record", "user:u_1"), ("id", "")][..], "Choose a case or a client to hold."),
        (&[("type", "case"), ("record", "c_204"), ("id", "")][..], "Choose a case or a client to hold."),
    ] {
        let page = post(pairs).await.unwrap();
        assert_eq!(page.status(), 422, "{pairs:?}");
        assert!(page.text().await.unwrap().contains(message), "{pairs:?}");
    }
    let (_, retention) = app.admin_get("/api/v1/settings/retention").await;
    let held: Vec<(String, String)> = retention["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["type"].as_str().unwrap().to_string(), h["id"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(held.contains(&("case".into(), "c_204".into())) && held.contains(&("client".into(), "cl_new".into())));
    app.stop().await;
}
