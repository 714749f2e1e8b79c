//! `casetrail verify`: walks every chain and reports each problem on its own line.

use std::process::ExitCode;

use casetrail_core::chain::ChainHash;
use casetrail_store::Store;

const PAGE: u32 = 5_000;

pub async fn run(store: &dyn Store, only: Option<uuid::Uuid>) -> anyhow::Result<ExitCode> {
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
        let mut expected_seq = 1u64;
        let mut prev = ChainHash::GENESIS;
        let mut after = 0;
        loop {
            let events = store.chain(account.id, after, PAGE).await?;
            let Some(last) = events.last() else { break };
            after = last.seq;
            for e in &events {
                if e.seq != expected_seq {
                    println!(
                        "account {} seq {}: missing: events {} to {} are absent",
                        account.id,
                        expected_seq,
                        expected_seq,
                        e.seq - 1
                    );
                    problems += 1;
                } else if e.prev_hash != prev {
                    println!(
                        "account {} seq {}: broken_link: prev_hash does not match the previous event's hash",
                        account.id, e.seq
                    );
                    problems += 1;
                }
                if !e.hash_is_consistent() {
                    println!(
                        "account {} seq {}: hash_mismatch: the stored hash does not match the event's content",
                        account.id, e.seq
                    );
                    problems += 1;
                }
                expected_seq = e.seq + 1;
                prev = e.hash;
            }
        }
        if let Some(head) = store.head(account.id).await? {
            if head.seq >= expected_seq {
                println!(
                    "account {} seq {}: truncated: the chain head is seq {} but the last stored event is seq {}",
                    account.id,
                    expected_seq,
                    head.seq,
                    expected_seq - 1
                );
                problems += 1;
            }
        }
    }
    Ok(if problems == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
