//! Verification: `GET /api/v1/integrity` over the whole chain, and incrementally
//! (`?since=checkpoint`) after a checkpoint and 1000 new events; beside the raw engine
//! reading every body in seq order and SHA-256 chaining it (no canonicalization, no
//! signatures).
//!
//! The incremental runs need a server whose writer does not sign a checkpoint of its
//! own after those 1000 events (by default it does, every 1000): the server phase
//! starts that server with a larger interval, and each run checks that the answer
//! covered the 1000 events.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::ingest::Body;
use crate::raw::RawReader;
use crate::stats::Samples;

/// Full verifications timed (each reads the whole chain): three, or one for a log so
/// large that each takes minutes.
pub fn full_runs(events: usize) -> usize {
    if events > 2_000_000 { 1 } else { 3 }
}

#[derive(Debug, Clone, Default)]
pub struct VerifyFigures {
    pub full: Samples,
    /// Events the full verification reported checking.
    pub full_events: u64,
    pub incremental: Samples,
    /// Events each incremental verification reported checking.
    pub incremental_events: Vec<u64>,
}

/// `GET /api/v1/integrity{query}`: the time and the events checked; an error unless
/// the answer is a 200 with `ok: true`.
pub async fn get_integrity(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    query: &str,
) -> anyhow::Result<(Duration, u64)> {
    let started = Instant::now();
    let response = client.get(format!("{base}/api/v1/integrity{query}")).bearer_auth(key).send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    let took = started.elapsed();
    let report: Value = serde_json::from_slice(&body)
        .map_err(|_| anyhow::anyhow!("integrity answered {status}: {}", String::from_utf8_lossy(&body)))?;
    if status != 200 || report["ok"] != Value::Bool(true) {
        anyhow::bail!("integrity answered {status}: {}", String::from_utf8_lossy(&body[..body.len().min(500)]));
    }
    Ok((took, report["events_checked"].as_u64().unwrap_or(0)))
}

/// Times full verifications, then for each of `extra` (batches of 1000 events): a
/// checkpoint, the batch, and the incremental verification from the newest checkpoint.
pub async fn http(
    client: &reqwest::Client,
    base: &str,
    admin_key: &str,
    ingest_key: &str,
    extra: Vec<Body>,
    full_runs: usize,
) -> anyhow::Result<VerifyFigures> {
    let mut out = VerifyFigures::default();
    for _ in 0..full_runs {
        let (took, checked) = get_integrity(client, base, admin_key, "").await?;
        out.full.push(took);
        out.full_events = checked;
    }
    for body in extra {
        let events = body.events;
        let checkpoint =
            client.post(format!("{base}/api/v1/integrity/checkpoints")).bearer_auth(admin_key).send().await?;
        anyhow::ensure!(checkpoint.status() == 201, "checkpoint answered {}", checkpoint.status());
        let ingest = client
            .post(format!("{base}/api/v1/events"))
            .bearer_auth(ingest_key)
            .header("content-type", "application/json")
            .body(body.bytes)
            .send()
            .await?;
        anyhow::ensure!(ingest.status() == 201, "ingest answered {}", ingest.status());
        let (took, checked) = get_integrity(client, base, admin_key, "?since=checkpoint").await?;
        // Exactly the batch, unless the server counts the checkpointed event again.
        anyhow::ensure!(
            (events as u64..=events as u64 + 1).contains(&checked),
            "the incremental verification after {events} new events checked {checked}"
        );
        out.incremental.push(took);
        out.incremental_events.push(checked);
    }
    Ok(out)
}

/// The raw engine's verification: every row in seq order, SHA-256 over the previous
/// hash and the stored body, compared with the stored links.
pub fn raw(reader: &RawReader, full_runs: usize) -> anyhow::Result<(Samples, u64)> {
    let mut samples = Samples::default();
    let mut events = 0;
    for _ in 0..full_runs {
        let started = Instant::now();
        events = reader.verify_chain()?;
        samples.push(started.elapsed());
    }
    Ok((samples, events))
}

/// `--profile verify`: verification in this process, for a profiler, on a store kept
/// in `tmp` between runs (built once: the batches through `Store::append`, a
/// checkpoint after each, as the server's writer signs one per 1000 events). Then
/// [`full_runs`] full verifications and `PROFILE_INCREMENTAL` incremental ones, each
/// after a checkpoint and one more batch of `extra`. `CASETRAIL_PROFILE_ONLY=incremental`
/// or `=full` runs only that kind.
pub fn profile(
    rt: &tokio::runtime::Runtime,
    batches: &[Body],
    extra: &[Body],
    tmp: &std::path::Path,
) -> anyhow::Result<()> {
    use casetrail_app::integrity::{checkpoint_now, verify_account};
    use casetrail_app::signing::{Keys, register};
    use casetrail_store::AccountStore;

    let dir = tmp.join(format!("verify-profile-{}", batches.len()));
    let fresh = !dir.join("account").exists();
    std::fs::create_dir_all(&dir)?;
    let keys = Keys::load_or_create(&dir.join("keys"))?;
    let store = casetrail_store_sqlite::SqliteStore::open(dir.join("casetrail.db"))?;
    let only = std::env::var("CASETRAIL_PROFILE_ONLY").unwrap_or_default();
    rt.block_on(async {
        register(&store, &keys).await?;
        let account = if fresh {
            let account = store.create_account("verify profile").await?.id;
            let mut meter = crate::ingest::Meter::default();
            for body in batches {
                crate::ingest::store_step(&store, account, body, &mut meter).await?;
                checkpoint_now(&store, &keys, account).await?;
            }
            std::fs::write(dir.join("account"), account.to_string())?;
            account
        } else {
            std::fs::read_to_string(dir.join("account"))?.trim().parse()?
        };
        eprintln!("store at {} ready", dir.display());
        let ring = keys.local_ring();
        if only != "incremental" {
            let events: usize = batches.iter().map(|b| b.events).sum();
            for _ in 0..full_runs(events) {
                let started = Instant::now();
                let v = verify_account(&store, account, &ring, false).await?;
                let took = started.elapsed();
                anyhow::ensure!(v.report.problems.is_empty(), "problems: {:?}", &v.report.problems[..1]);
                let eps = v.report.events_checked as f64 / took.as_secs_f64();
                println!("full: {} events in {:.1} ms = {eps:.0} events/s", v.report.events_checked, ms(took));
            }
        }
        if only != "full" {
            let mut meter = crate::ingest::Meter::default();
            for body in extra {
                checkpoint_now(&store, &keys, account).await?;
                crate::ingest::store_step(&store, account, body, &mut meter).await?;
                let started = Instant::now();
                let v = verify_account(&store, account, &ring, true).await?;
                let took = started.elapsed();
                anyhow::ensure!(v.report.problems.is_empty(), "problems: {:?}", &v.report.problems[..1]);
                println!("incremental: {} events in {:.2} ms", v.report.events_checked, ms(took));
            }
        }
        anyhow::Ok(())
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
