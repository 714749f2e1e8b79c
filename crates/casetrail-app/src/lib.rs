//! The application's operations, with no HTTP in them: everything casetrail *does*,
//! whichever door the request came in by (the JSON API, the admin's pages, the
//! command line).
//!
//! - [`App`] is the context: the store, the group-commit ingest [`writer`], and the
//!   [`signing`] keys.
//! - Changes that record themselves — account [`settings`], the [`retention`] policy
//!   and legal hold, [`holds`], the [`team`] and API [`keys`] — parse and check their
//!   input here (one place per rule), and hand the store the change together with the
//!   recorder of its audit event, so both commit in one transaction.
//! - Work over the whole log: [`retention`] purges, [`integrity`] verification and
//!   checkpoints, [`export`] writers, and the background [`tasks`] that run them.
//! - [`masking`] replaces masked values at ingest ([`App::ingest`]) and keeps the
//!   account's patterns.
//! - [`provision`] creates accounts with their first admin and keys.
//!
//! ```no_run
//! # async fn demo(store: std::sync::Arc<dyn casetrail_store::Store>) -> anyhow::Result<()> {
//! use std::sync::Arc;
//! let keys = Arc::new(casetrail_app::signing::Keys::ephemeral());
//! let (app, writer_task) = casetrail_app::App::start(store, keys, casetrail_app::writer::CHECKPOINT_EVERY);
//! let firm = casetrail_app::provision::create_account(app.store.as_ref(), "Smith LLP", "admin@smith.example", "Ada").await?;
//! casetrail_app::retention::set_legal_hold(&app, &casetrail_app::retention::retention_actor(), firm.account.id, true).await?;
//! drop(app);
//! writer_task.await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod audit;
mod context;
pub mod credentials;
mod error;
pub mod evidence;
pub mod export;
pub mod feed;
pub mod history;
pub mod holds;
pub mod integrity;
pub mod keys;
pub mod masking;
pub mod metrics;
pub mod proofs;
pub mod provision;
pub mod purge;
pub mod retention;
pub mod settings;
pub mod signing;
pub mod streams;
pub mod tasks;
pub mod team;
mod tree_check;
pub mod writer;

pub use audit::AuditEvent;
pub use context::App;
pub use error::{AppError, AppResult};
