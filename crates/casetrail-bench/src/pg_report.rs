//! The PostgreSQL run's own tables (group commit by COPY or unnest, one server against
//! two, the purge by DELETE against partitions) and its goals, judged on the newest
//! PostgreSQL run.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::ingest::IngestResult;
use crate::pg_purge::RawPurge;
use crate::pg_spread::Spread;
use crate::report::{int, ms, ratio, scale};

pub fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => None,
        n if n % 2 == 1 => Some(values[n / 2]),
        n => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// The tables, and their figures into `summary`.
pub fn markdown(
    spreads: &[Spread],
    purge: &RawPurge,
    copy: &IngestResult,
    unnest: &IngestResult,
    summary: &mut serde_json::Map<String, Value>,
) -> String {
    let mut s = String::from(
        "\n**Group commit: binary COPY against `INSERT … SELECT FROM unnest`** — the raw engine, 1000 events per \
         transaction, the two ways alternating batch by batch into the same tables (so both meet the same table \
         sizes and the same noise); commit time per batch, ms.\n\n",
    );
    s += "| way | batches | events/s | last 10 % events/s | p50 | p99 |\n|---|--:|--:|--:|--:|--:|\n";
    for (name, r) in [("`INSERT … SELECT FROM unnest` (the store's)", unnest), ("binary COPY", copy)] {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} |",
            r.latencies.len(),
            int(r.eps()),
            r.tail_eps.map_or("–".to_string(), int),
            ms(r.latencies.p50()),
            ms(r.latencies.p99())
        );
    }
    let _ = writeln!(s, "\nCOPY / unnest: {}", ratio(Some(copy.eps()), Some(unnest.eps())));

    s += &crate::pg_spread::markdown(spreads, summary);

    let p = purge;
    s += "\n**Retention by partitions?** — the raw engine, the same old events as the purge above (dated 91–120 \
          days ago): `DELETE` of them (events and links, one transaction) against a partitioned copy of the same \
          rows (range on `occurred_at`, cut at the retention cutoff), where a legal hold's events (1 % here) are \
          copied to a new table, the old partition detached and dropped, the new table attached in its place.\n\n";
    s += "| rows stored | old events | DELETE s | partitions: copy held s | DETACH + DROP s | ATTACH s | total s | \
          held kept | DELETE / partitions | (building the partitioned copy s) |\n";
    s += "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
    let secs = |d: std::time::Duration| format!("{:.3}", d.as_secs_f64());
    let _ = writeln!(
        s,
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        int(p.total as f64),
        int(p.old as f64),
        secs(p.delete),
        secs(p.copy_held),
        secs(p.detach_drop),
        secs(p.attach),
        secs(p.partition_total()),
        int(p.held as f64),
        ratio(Some(p.delete.as_secs_f64()), Some(p.partition_total().as_secs_f64())),
        format_args!("{:.1}", p.partition_build.as_secs_f64()),
    );
    summary.insert("raw_delete_secs".into(), json!(p.delete.as_secs_f64()));
    summary.insert("raw_partition_secs".into(), json!(p.partition_total().as_secs_f64()));
    s
}

fn versus(value: f64, goal: f64, higher_is_better: bool) -> String {
    let met = if higher_is_better { value >= goal } else { value <= goal };
    if met { "met".to_string() } else { format!("missed by {:.0} %", ((value - goal) / goal * 100.0).abs()) }
}

fn line(out: &mut String, met: bool, goal: &str, status: &str) {
    let _ = writeln!(out, "- [{}] **{goal}** — {status}", if met { "x" } else { " " });
}

/// The PostgreSQL goals, judged on the newest PostgreSQL run (marked when it is not
/// at 1M events).
pub fn goals(runs: &[&Value]) -> String {
    let mut out = String::new();
    let Some(run) = runs.first() else {
        line(&mut out, false, "PostgreSQL: every goal below", "no PostgreSQL run yet");
        return out;
    };
    let events = run["events"].as_u64().unwrap_or(0);
    let at = if events == 1_000_000 {
        "1M".to_string()
    } else {
        format!("{} (newest PostgreSQL run; no 1M run yet)", scale(events as usize))
    };
    let full = events == 1_000_000;
    let num = |k: &str| run[k].as_f64();

    let tail = num("http_batch_tail_eps").or(num("http_batch_eps")).unwrap_or(0.0);
    let avg = num("http_batch_eps").unwrap_or(0.0);
    let r = num("http_batch_ratio").unwrap_or(0.0);
    line(
        &mut out,
        full && tail >= 30_000.0 && r >= 0.8,
        "PostgreSQL: HTTP batch ingest ≥ 30k events/s at 1M stored events and ≥ 0.8× the raw engine",
        &format!(
            "{at}: {} events/s over the last 10 % of the fill, {} on average ({}); {r:.2}× the raw engine's faster \
             way ({})",
            int(tail),
            int(avg),
            versus(tail, 30_000.0, true),
            versus(r, 0.8, true)
        ),
    );

    let worst = num("worst_p95_ms").unwrap_or(f64::MAX);
    line(
        &mut out,
        full && worst <= 10.0,
        "PostgreSQL: every browse/filter/search query p95 ≤ 10 ms end to end at 1M events, common-word search \
         and deep pages included",
        &format!(
            "{at}: {} of {} queries over 10 ms, worst p95 {} ms ({}) — {}",
            run["over_10ms"].as_u64().unwrap_or(0),
            run["queries"].as_u64().unwrap_or(0),
            ms(Some(worst)),
            run["worst_query"].as_str().unwrap_or("?"),
            versus(worst, 10.0, false)
        ),
    );

    let two = num("two_servers_ratio").unwrap_or(0.0);
    let spread = num("two_servers_ratio_accounts").unwrap_or(0.0);
    line(
        &mut out,
        spread >= 1.5,
        "PostgreSQL: ingest through two servers on one database ≥ 1.5× one server, same load",
        &format!(
            "{}: clients on {} accounts: {spread:.2}× — {}; all on one account (its chain head serializes \
             commits): one server {} events/s, two {} events/s: {two:.2}×",
            scale(events as usize),
            crate::pg_spread::SPREAD_ACCOUNTS,
            versus(spread, 1.5, true),
            int(num("one_server_eps").unwrap_or(0.0)),
            int(num("two_servers_eps").unwrap_or(0.0)),
        ),
    );
    out
}
