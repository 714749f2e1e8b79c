//! The log page: search, every filter through its control, and paging both ways.

use crate::driver::{Browser, with_browser};
use crate::seed;
use crate::support::spawn_app;

const EMAIL: &str = "Email sent to Ann Lee: Retainer agreement";
const CASE: &str = "Changed case status from Intake to Active";
const PHONE: &str = "Changed the phone number of John Smith";
const INVITE: &str = "Invited Dan Park as a member";
const CLIENT: &str = "Created client Ann Lee";

/// Removes the one active filter through its chip and waits for the whole log.
async fn remove_chip(b: &Browser) {
    b.click("a.chip").await;
    b.wait_until("location.search === '' && !document.querySelector('a.chip')").await;
}

#[tokio::test]
async fn search_narrows_the_list_and_its_chip_widens_it_again() {
    let app = spawn_app().await;
    seed::firm(&app).await;
    let (email, password) = (app.firm.admin.email.clone(), app.firm.admin_password.clone());
    with_browser(&app, 1280, move |b| async move {
        b.sign_in(&email, &password).await;
        let all = b.row_details().await;
        assert_eq!(all.len(), 6, "five seeded events and this sign-in: {all:?}");
        assert_eq!(&all[1..], [EMAIL, CASE, PHONE, INVITE, CLIENT], "newest first");

        b.type_into("#q", "ann le\u{E007}").await;
        b.wait_for_location("q=ann+le").await;
        assert_eq!(b.row_details().await, [EMAIL, CLIENT]);
        let chips = b.texts("a.chip").await;
        assert_eq!(chips.len(), 1);
        assert!(chips[0].contains("Search") && chips[0].contains("ann le"), "{chips:?}");

        remove_chip(&b).await;
        assert_eq!(b.row_details().await.len(), 6);

        b.type_into("#q", "zebra\u{E007}").await;
        b.wait_for_location("q=zebra").await;
        assert!(b.row_details().await.is_empty());
        assert_eq!(b.find(".empty h3").await.text().await.unwrap(), "No entries match these filters");
        b.click(".empty a.btn").await;
        b.wait_until("location.search === ''").await;
        assert_eq!(b.row_details().await.len(), 6);
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn each_filter_applies_through_its_control() {
    let app = spawn_app().await;
    seed::firm(&app).await;
    let (email, password) = (app.firm.admin.email.clone(), app.firm.admin_password.clone());
    with_browser(&app, 1280, move |b| async move {
        b.sign_in(&email, &password).await;

        // User: the type-ahead asks /api/v1/actors.
        b.open_filter("User").await;
        b.pick("actor", "jan", "Jane Doe").await;
        b.apply().await;
        b.wait_for_location("actor=u_17").await;
        assert_eq!(b.row_details().await, [CASE, PHONE]);
        assert_eq!(b.texts(".person-name").await, ["Jane Doe", "Jane Doe"]);
        assert!(b.texts("a.chip").await[0].contains("Jane Doe"));
        remove_chip(&b).await;

        // Activity type: one type, then a whole category.
        b.open_filter("Activity type").await;
        b.find("#f-activity").await.select_by_value("client.created").await.unwrap();
        b.apply().await;
        b.wait_for_location("activity=client.created").await;
        assert_eq!(b.row_details().await, [CLIENT]);
        remove_chip(&b).await;
        b.open_filter("Activity type").await;
        b.find("#f-activity").await.select_by_label("All Team activity").await.unwrap();
        b.apply().await;
        b.wait_for_location("activity=team").await;
        assert_eq!(b.row_activities().await, ["User logged in", "User invited"]);
        remove_chip(&b).await;

        // Case: the type-ahead asks /api/v1/records?type=case.
        b.open_filter("Case").await;
        b.pick("case", "smith", "Smith v. Jones").await;
        b.apply().await;
        b.wait_for_location("case=c_204").await;
        assert_eq!(b.row_details().await, [CASE]);
        // The Export menu downloads what is shown: this case's entries.
        b.open_filter("Export").await;
        let csv = b.find("#export-csv").await.attr("href").await.unwrap().unwrap();
        assert_eq!(csv, "/api/v1/events/export?format=csv&case=c_204");
        let xlsx = b.find("#export-xlsx").await.attr("href").await.unwrap().unwrap();
        assert_eq!(xlsx, "/api/v1/events/export?format=xlsx&case=c_204");
        let evidence = b.find("#export-evidence").await.attr("href").await.unwrap().unwrap();
        assert_eq!(evidence, "/api/v1/events/export?format=evidence&case=c_204");
        let fetched = b
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 fetch(document.getElementById('export-csv').href).then(async r => \
                   done([r.status, r.headers.get('content-type'), await r.text()]));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(fetched[0], 200);
        assert!(fetched[1].as_str().unwrap().starts_with("text/csv"), "{fetched:?}");
        let body = fetched[2].as_str().unwrap();
        assert!(body.contains(CASE) && !body.contains(PHONE), "{body}");
        b.script("document.getElementById('export').open = false").await;
        remove_chip(&b).await;

        // Client, then a date range on top of it.
        b.open_filter("Client").await;
        b.pick("client", "lee", "Ann Lee").await;
        b.apply().await;
        b.wait_for_location("client=cl_90").await;
        assert_eq!(b.row_details().await, [EMAIL, CLIENT]);

        b.open_filter("Date").await;
        b.click("a.preset:nth-child(3)").await; // Last 7 days
        b.wait_for_location("from=").await;
        assert_eq!(b.row_details().await, [EMAIL]);
        assert!(b.location().await.contains("client=cl_90"), "a date keeps the other filters");

        // Typed dates: 25 to 15 days ago holds only the new client.
        let day = |days: i64| {
            let date = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(days * 24))
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date();
            (date.to_string(), date.strftime("%m%d%Y").to_string())
        };
        let (from, from_keys) = day(25);
        let (to, to_keys) = day(15);
        b.open_filter("Date").await;
        b.find("#f-from").await.send_keys(&from_keys).await.unwrap();
        b.find("#f-to").await.send_keys(&to_keys).await.unwrap();
        b.apply().await;
        b.wait_for_location(&format!("from={from}&to={to}")).await;
        assert_eq!(b.row_details().await, [CLIENT]);
        let chips = b.texts("a.chip").await;
        assert_eq!(chips.len(), 3, "{chips:?}");

        b.click("a.chips-clear").await;
        b.wait_until("location.search === ''").await;
        let rows = b.row_activities().await;
        assert_eq!(rows.len(), 7, "the seeded six and the export made above: {rows:?}");
        assert!(rows[0].contains("xport"), "{rows:?}");
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn paging_goes_to_older_pages_and_back_to_newer_ones() {
    let app = spawn_app().await;
    seed::numbered(&app, 45).await;
    let (email, password) = (app.firm.admin.email.clone(), app.firm.admin_password.clone());
    with_browser(&app, 1280, move |b| async move {
        b.goto("/settings/system-log?q=note&limit=20").await;
        b.sign_in(&email, &password).await;
        b.wait_for_location("limit=20").await;

        let page = |first: usize, last: usize| -> Vec<String> {
            (last..=first).rev().map(|i| format!("Note {i:03}")).collect()
        };
        assert_eq!(b.row_details().await, page(45, 26));
        assert!(b.texts("a[data-pager=newer]").await.is_empty(), "the first page has no newer page");

        b.click("a[data-pager=older]").await;
        b.wait_for_location("cursor=").await;
        assert_eq!(b.row_details().await, page(25, 6));
        assert!(b.find(".results-title").await.text().await.unwrap().starts_with("Entries 21"));

        b.click("a[data-pager=older]").await;
        b.wait_for_location("prev=").await;
        assert_eq!(b.row_details().await, page(5, 1));
        assert!(b.texts("a[data-pager=older]").await.is_empty(), "the last page has no older page");

        b.click("a[data-pager=newer]").await;
        b.wait_until("!location.search.includes('prev=')").await;
        assert_eq!(b.row_details().await, page(25, 6));

        b.click("a[data-pager=newer]").await;
        b.wait_until("!location.search.includes('cursor=')").await;
        assert_eq!(b.row_details().await, page(45, 26));
        assert!(b.location().await.contains("q=note"), "paging keeps the search");
    })
    .await;
    app.stop().await;
}
