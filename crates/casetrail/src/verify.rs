//! `casetrail verify`: every chain, every signature; one line per problem.

use std::process::ExitCode;

use casetrail_core::integrity::KeyRing;
use std::io::IsTerminal as _;

use casetrail_app::integrity::verify_account_with_progress;
use casetrail_store::Store;

pub async fn run(
    store: &dyn Store,
    ring: &KeyRing,
    only: Option<casetrail_store::AccountId>,
) -> anyhow::Result<ExitCode> {
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
        let head = store.head(account.id).await?.map_or(0, |h| h.seq);
        let bar = progress_bar(&account.name, head);
        let mut tick = |checked: u64| {
            if let Some(bar) = &bar {
                bar.set_position(checked);
            }
        };
        let verification = verify_account_with_progress(store, account.id, ring, false, &mut tick).await;
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        let verification = verification?;
        let r = &verification.report;
        eprintln!(
            "account {} ({}): checked {} events, {} purged, up to seq {}",
            account.id, account.name, r.events_checked, r.purged, r.reached
        );
        for p in &verification.report.problems {
            println!("account {} seq {}: {}: {}", account.id, p.seq, p.kind, p.message);
            problems += 1;
        }
    }
    Ok(if problems == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// A bar over an account's chain (its head seq; purged events are skipped, so it may
/// end short of full), only on a terminal.
fn progress_bar(name: &str, head: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(head);
    let style = indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} events ({per_sec}, {eta} left)")
        .ok()?
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(format!("verifying {name}"));
    Some(bar)
}

/// `casetrail verify --file EXPORT`: checks a jsonl chain export offline. Reads the
/// file twice (keys and checkpoints first, then the chain), so memory stays flat.
pub fn run_file(path: &std::path::Path, pinned_key: Option<&str>) -> anyhow::Result<ExitCode> {
    use std::io::BufRead;

    use anyhow::Context as _;
    use casetrail_core::chain::ChainedEvent;
    use casetrail_core::integrity::{Checkpoint, Tombstone, Verifier};
    use serde_json::Value;

    let open = || -> anyhow::Result<std::io::Lines<std::io::BufReader<std::fs::File>>> {
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        Ok(std::io::BufReader::new(file).lines())
    };
    let mut ring = KeyRing::default();
    let mut account = None;
    let mut checkpoints = Vec::new();
    for (n, line) in open()?.enumerate() {
        let line: Value = serde_json::from_str(&line?).with_context(|| format!("line {} is not JSON", n + 1))?;
        match line["record"].as_str() {
            Some("export") => {
                account = line["account_id"].as_str().and_then(|s| s.parse::<casetrail_store::AccountId>().ok())
            }
            Some("public_key") if pinned_key.is_none() => {
                let key = line["public_key"].as_str().context("a public_key line without its key")?;
                ring.add_base64(key).map_err(|e| anyhow::anyhow!("line {}: {e}", n + 1))?;
            }
            Some("checkpoint") => checkpoints.push(serde_json::from_value::<Checkpoint>(line["checkpoint"].clone())?),
            _ => {}
        }
    }
    match pinned_key {
        Some(key) => {
            ring.add_base64(key).map_err(|e| anyhow::anyhow!("--public-key: {e}"))?;
        }
        None => eprintln!(
            "casetrail: note: trusting the public keys inside the file; pass --public-key to pin the one your server publishes"
        ),
    }
    let account = account.context("the file has no export header: is it a casetrail jsonl export?")?;
    let mut verifier = Verifier::new(account, &ring, &checkpoints);
    for (n, line) in open()?.enumerate() {
        let line: Value = serde_json::from_str(&line?)?;
        match line["record"].as_str() {
            Some("event") => {
                let chained =
                    ChainedEvent::from_api_json(&line["event"]).map_err(|e| anyhow::anyhow!("line {}: {e}", n + 1))?;
                verifier.event(&chained, None);
            }
            Some("tombstone") => verifier.tombstone(&serde_json::from_value::<Tombstone>(line["tombstone"].clone())?),
            _ => {}
        }
    }
    let report = verifier.finish();
    for p in &report.problems {
        println!("account {account} seq {}: {}: {}", p.seq, p.kind, p.message);
    }
    eprintln!("checked {} events, {} purged, up to seq {}", report.events_checked, report.purged, report.reached);
    Ok(if report.ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
