//! The System Log UI in a real browser: headless Chromium driven over WebDriver
//! against the real server on 127.0.0.1:0 (one browser per test).
//!
//! Needs Debian's `chromium` and `chromium-driver` (or `CHROME_BIN` and
//! `CHROMEDRIVER`); without them every test here fails with instructions.

#[path = "../support/mod.rs"]
mod support;

mod driver;
mod seed;

mod auth;
mod entry;
mod history;
mod hold_picker;
mod integrity;
mod log;
mod pages;
mod privacy;
mod retention;
mod retention_categories;
mod screenshots;
mod streams;
