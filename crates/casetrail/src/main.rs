//! `casetrail`: the System Log server and its command-line tools (docs/API.md §10).
//!
//! The one crate that names a storage backend: it opens the database that
//! `database_url` names (`database`: SQLite, PostgreSQL) and hands it on as
//! `Arc<dyn Store>` — to `casetrail-server` for `serve`, and to the operations of
//! `casetrail-app` for every other command (accounts, verify, export, retention,
//! keys), so the command line does what the API does, without HTTP.

#![forbid(unsafe_code)]

mod cli;
mod config;
mod database;
mod demo;
mod evidence;
mod export;
mod keys;
mod verify;

use std::process::ExitCode;

use clap::Parser;

/// jemalloc rather than the system's malloc: it hands freed memory back, where glibc's
/// kept the peaks of a long-running server (docs/ARCHITECTURE.md, "Memory").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version: print as clap formats them.
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            // Usage errors as one line too, like every other error.
            let text = err.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("casetrail: {first}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("casetrail: error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            // One line, the whole cause chain: `{:#}` joins the contexts with colons.
            eprintln!("casetrail: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
