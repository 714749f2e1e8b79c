//! `casetrail verify`: every chain, every signature; one line per problem.

use std::process::ExitCode;

use casetrail_core::integrity::KeyRing;
use casetrail_server::integrity::verify_account;
use casetrail_store::Store;

pub async fn run(store: &dyn Store, ring: &KeyRing, only: Option<uuid::Uuid>) -> anyhow::Result<ExitCode> {
    let accounts = store.accounts().await?;
    let accounts: Vec<_> = match only {
        Some(id) => {
            let found: Vec<_> = accounts.into_iter().filter(|a| a.id == id).collect();
            anyhow::ensure!(!found.is_empty(), "no account {id}");
            found
        }
        None => accounts,
    };
    let mut problems = 0usize;
    for account in accounts {
        let verification = verify_account(store, account.id, ring, false).await?;
        for p in &verification.report.problems {
            println!("account {} seq {}: {}: {}", account.id, p.seq, p.kind, p.message);
            problems += 1;
        }
    }
    Ok(if problems == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
