//! HTTP tests against the real server on 127.0.0.1:0: one test binary, one module
//! per area.

#[path = "../support/mod.rs"]
mod support;

mod admin;
mod auth;
mod concurrency;
mod deep_values;
mod delivery;
mod evidence;
mod export;
mod feed;
mod history;
mod hostile;
mod ingest;
mod integrity;
mod login;
mod masked_pages;
mod masking;
mod metrics;
mod openapi;
mod proofs;
mod reading;
mod retention;
mod retention_categories;
mod retention_schedule;
mod servers;
mod settings_race;
mod signing;
mod smoke;
mod stream_wake;
mod streams;
mod syslog_tls;
mod timeouts;
