//! Headless Chromium through chromedriver, one browser per test.
//!
//! chromedriver is started on a free port as a child process (its own process
//! group, killed with everything it started when the test ends, pass or fail),
//! and fantoccini talks WebDriver to it over plain HTTP. `CHROMEDRIVER` and
//! `CHROME_BIN` override `/usr/bin/chromedriver` and `/usr/bin/chromium`. When
//! either is missing the test fails and says how to install them: CI installs
//! them, so a skipped browser test would only hide a broken UI.

use std::future::Future;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::TestApp;

const WAIT: Duration = Duration::from_secs(15);

fn binary(env: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.exists(),
        "the browser tests need Chromium and chromedriver, and {} is missing.\n\
         Install them with: apt-get install -y --no-install-recommends chromium chromium-driver fonts-liberation\n\
         or point {env} at the binary.",
        path.display()
    );
    path
}

/// A running chromedriver; dropping it ends it and every browser it started.
struct ChromeDriver {
    child: Child,
    port: u16,
}

impl ChromeDriver {
    fn start() -> ChromeDriver {
        let driver = binary("CHROMEDRIVER", "/usr/bin/chromedriver");
        let port =
            TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port for chromedriver").port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", driver.display()));
        let mut this = ChromeDriver { child, port };
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = this.child.try_wait() {
                panic!("chromedriver exited at start ({status})");
            }
            assert!(Instant::now() < deadline, "chromedriver did not answer on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        this
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and any browser it left behind.
        let _ =
            Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser on the app, with the helpers the tests share.
#[derive(Clone)]
pub struct Browser {
    pub client: Client,
    pub base: String,
}

/// Runs `body` with a fresh headless browser, then closes it, even when the body
/// panics (the panic is passed on).
pub async fn with_browser<F, Fut>(app: &TestApp, width: u32, body: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let chrome = binary("CHROME_BIN", "/usr/bin/chromium");
    let driver = ChromeDriver::start();
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": chrome,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                format!("--window-size={width},900"), "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--lang=en-US", "--hide-scrollbars",
            ],
        }
    });
    let Value::Object(capabilities) = capabilities else { unreachable!() };
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session with headless Chromium");
    let browser = Browser { client: client.clone(), base: app.base.clone() };
    let outcome = tokio::spawn(body(browser)).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

impl Browser {
    pub async fn goto(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.expect("navigate");
    }

    /// The path and query of the current page.
    pub async fn location(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    pub async fn find(&self, css: &str) -> Element {
        match self.client.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(el) => el,
            Err(e) => panic!("no element {css:?} on {}: {e}", self.location_now().await),
        }
    }

    async fn location_now(&self) -> String {
        self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default()
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css:?}: {e}"));
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear a field");
        field.send_keys(text).await.unwrap_or_else(|e| panic!("type into {css:?}: {e}"));
    }

    /// The visible text of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for el in self.client.find_all(Locator::Css(css)).await.expect("find elements") {
            out.push(el.text().await.expect("element text"));
        }
        out
    }

    pub async fn body_text(&self) -> String {
        self.find("body").await.text().await.expect("page text")
    }

    pub async fn script(&self, js: &str) -> Value {
        self.client.execute(js, vec![]).await.unwrap_or_else(|e| panic!("script {js:?}: {e}"))
    }

    /// Waits until the current page has loaded and `js` (an expression) is truthy on it.
    pub async fn wait_until(&self, js: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let ok = self
                .client
                .execute(&format!("return document.readyState === 'complete' && !!({js});"), vec![])
                .await
                .map(|v| v == Value::Bool(true))
                .unwrap_or(false);
            if ok {
                return;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for `{js}` on {}", self.location_now().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the location's path and query contain `part`.
    pub async fn wait_for_location(&self, part: &str) {
        let deadline = Instant::now() + WAIT;
        while !self.location().await.contains(part) {
            if Instant::now() > deadline {
                panic!("timed out waiting for a URL with {part:?}; at {}", self.location().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.wait_until("true").await;
    }

    /// Signs in through the form, starting wherever the browser is.
    pub async fn sign_in(&self, email: &str, password: &str) {
        if !self.location().await.starts_with("/login") {
            self.goto("/login").await;
        }
        self.type_into("#email", email).await;
        self.type_into("#password", password).await;
        // A mark on this document: the answer to the form is a new one without it.
        self.script("window.__signing_in = true").await;
        self.click("form.auth-form button[type=submit]").await;
        self.wait_until("!window.__signing_in").await;
    }

    /// The activity labels of the log's rows, top to bottom.
    pub async fn row_activities(&self) -> Vec<String> {
        self.texts("tr.entry-row .entry-link").await
    }

    /// The details of the log's rows, top to bottom.
    pub async fn row_details(&self) -> Vec<String> {
        self.texts("tr.entry-row .desc").await
    }

    /// Opens a filter dropdown by its button's text.
    pub async fn open_filter(&self, label: &str) {
        let script = format!(
            "const s = [...document.querySelectorAll('details[data-dd] > summary')]\
               .find(s => s.textContent.trim().startsWith({label:?}));\
             if (!s) return false; if (!s.parentElement.open) s.click(); return true;"
        );
        assert_eq!(self.script(&script).await, Value::Bool(true), "no {label:?} filter");
        self.wait_until("document.querySelector('details[data-dd][open]')").await;
    }

    /// Picks `name` in a type-ahead picker (`actor`, `case`, `client`) by typing `typed`.
    pub async fn pick(&self, picker: &str, typed: &str, name: &str) {
        let input = self.find(&format!("#f-{picker}-search")).await;
        input.send_keys(typed).await.unwrap_or_else(|e| panic!("type into the {picker} picker: {e}"));
        // Wait for the answer to what was typed (every option matches it), not the
        // list shown on focus.
        let option = format!(
            "(() => {{ const box = document.getElementById('f-{picker}-search');\
               const list = box.parentElement.querySelector('.combo-list');\
               const options = [...list.querySelectorAll('.combo-option')];\
               return !list.hidden && options.some(o => o.querySelector('.combo-label').textContent === {name:?})\
                 && options.every(o => o.textContent.toLowerCase().includes({typed:?}.toLowerCase())); }})()"
        );
        self.wait_until(&option).await;
        let xpath = format!(
            "//input[@id='f-{picker}-search']/following-sibling::ul//span[@class='combo-label' and text()={name:?}]"
        );
        // The list is redrawn as answers arrive; an option found just before a
        // redraw is stale, so find it again.
        let mut tries = 0;
        loop {
            let clicked = match self.client.find(Locator::XPath(&xpath)).await {
                Ok(el) => el.click().await,
                Err(e) => Err(e),
            };
            match clicked {
                Ok(()) => break,
                Err(e) if tries >= 20 => panic!("could not pick {name:?}: {e}"),
                Err(_) => tries += 1,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.wait_until(&format!("document.getElementById('f-{picker}').value !== ''")).await;
    }

    /// Submits the filters form from the open dropdown's Apply button.
    pub async fn apply(&self) {
        self.click("details[data-dd][open] .dd-actions button").await;
    }
}
