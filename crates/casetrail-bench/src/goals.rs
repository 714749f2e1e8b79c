//! The performance goals casetrail is measured against (ingest, single events, browse,
//! export, verification, purge, memory), judged on the newest run of each size that
//! `BENCHMARKS.md` holds (the summaries, newest first).

use std::fmt::Write as _;

use serde_json::Value;

use crate::report::{int, ms, scale};

/// The newest run of exactly `events`, or else the newest of any size.
fn pick(runs: &[Value], events: u64) -> Option<(&Value, bool)> {
    runs.iter()
        .find(|r| r["events"].as_u64() == Some(events))
        .map(|r| (r, true))
        .or_else(|| runs.first().map(|r| (r, false)))
}

fn size(run: &Value) -> String {
    scale(run["events"].as_u64().unwrap_or(0) as usize)
}

fn num(run: &Value, key: &str) -> Option<f64> {
    run[key].as_f64()
}

/// "missed by 38 %" or "met".
fn versus(value: f64, goal: f64, higher_is_better: bool) -> String {
    let met = if higher_is_better { value >= goal } else { value <= goal };
    if met { "met".to_string() } else { format!("missed by {:.0} %", ((value - goal) / goal * 100.0).abs()) }
}

fn line(out: &mut String, met: bool, goal: &str, status: &str) {
    let _ = writeln!(out, "- [{}] **{goal}** — {status}", if met { "x" } else { " " });
}

/// The goals on SQLite (the runs without an `engine`), then those on PostgreSQL.
pub fn markdown(all: &[Value]) -> String {
    let sqlite: Vec<Value> = all.iter().filter(|r| r["engine"] != "postgres").cloned().collect();
    let postgres: Vec<&Value> = all.iter().filter(|r| r["engine"] == "postgres").collect();
    let mut out = sqlite_goals(&sqlite);
    out += &crate::pg_report::goals(&postgres);
    out
}

fn sqlite_goals(runs: &[Value]) -> String {
    let mut out = String::from(
        "## Goals\n\nJudged on the newest run at the size each goal names (or, until there is one, the \
         newest run, marked as such). Rebuilt by every run.\n\n",
    );
    let not_at = |run: &Value, exact: bool, wanted: &str| {
        if exact { String::new() } else { format!(" (no {wanted} run yet; newest run is {})", size(run)) }
    };

    match pick(runs, 1_000_000) {
        Some((run, exact)) => {
            let tail = num(run, "http_batch_tail_eps").or(num(run, "http_batch_eps")).unwrap_or(0.0);
            let avg = num(run, "http_batch_eps").unwrap_or(0.0);
            let status = format!(
                "{}: {} events/s over the last 10 % of the fill, {} on average — {}{}",
                size(run),
                int(tail),
                int(avg),
                versus(tail, 50_000.0, true),
                not_at(run, exact, "1M")
            );
            line(&mut out, exact && tail >= 50_000.0, "HTTP batch ingest ≥ 50k events/s at 1M stored events", &status);
        }
        None => line(&mut out, false, "HTTP batch ingest ≥ 50k events/s at 1M stored events", "no run yet"),
    }

    let mut sizes: Vec<u64> = runs.iter().filter_map(|r| r["events"].as_u64()).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let newest: Vec<&Value> =
        sizes.iter().filter_map(|n| runs.iter().find(|r| r["events"].as_u64() == Some(*n))).collect();
    let ratios: Vec<(String, f64)> =
        newest.iter().filter_map(|r| Some((size(r), num(r, "http_batch_ratio")?))).collect();
    let status: Vec<String> = ratios.iter().map(|(s, r)| format!("{s}: {r:.2}× ({})", versus(*r, 0.8, true))).collect();
    line(
        &mut out,
        !ratios.is_empty() && ratios.iter().all(|(_, r)| *r >= 0.8),
        "HTTP batch ingest never below 0.8× the raw engine with the same indexes",
        &if status.is_empty() { "no run yet".to_string() } else { status.join(" · ") },
    );

    match pick(runs, 1_000_000) {
        Some((run, exact)) => {
            let eps = num(run, "single_eps").unwrap_or(0.0);
            let status = format!(
                "{}: {} events/s — {}{}",
                size(run),
                int(eps),
                versus(eps, 10_000.0, true),
                not_at(run, exact, "1M")
            );
            line(&mut out, eps >= 10_000.0, "Single-event requests ≥ 10k events/s with 32 clients", &status);
        }
        None => line(&mut out, false, "Single-event requests ≥ 10k events/s with 32 clients", "no run yet"),
    }

    let mut parts = Vec::new();
    let mut met = true;
    for (events, goal, key) in [(1_000_000u64, 10.0, "over_10ms"), (10_000_000, 25.0, "over_25ms")] {
        match runs.iter().find(|r| r["events"].as_u64() == Some(events)) {
            Some(run) => {
                let worst = num(run, "worst_p95_ms").unwrap_or(0.0);
                met &= worst <= goal;
                parts.push(format!(
                    "{}: {} of {} queries over {goal} ms, worst p95 {} ms ({}) — {}",
                    size(run),
                    run[key].as_u64().unwrap_or(0),
                    run["queries"].as_u64().unwrap_or(0),
                    ms(Some(worst)),
                    run["worst_query"].as_str().unwrap_or("?"),
                    versus(worst, goal, false)
                ));
            }
            None => {
                met &= events != 1_000_000;
                parts.push(format!("no {} run yet", scale(events as usize)));
            }
        }
    }
    if let Some(run) = runs.first().filter(|r| !matches!(r["events"].as_u64(), Some(1_000_000 | 10_000_000))) {
        parts.push(format!(
            "newest ({}): worst p95 {} ms ({})",
            size(run),
            ms(num(run, "worst_p95_ms")),
            run["worst_query"].as_str().unwrap_or("?")
        ));
    }
    line(
        &mut out,
        met,
        "Every browse/filter/search query p95 ≤ 10 ms end to end at 1M events, ≤ 25 ms at 10M, deep pages included",
        &parts.join(" · "),
    );

    let fresh = runs.first().is_some_and(|r| r["stats_fresh"].as_bool() == Some(true));
    line(
        &mut out,
        fresh,
        "Planner statistics kept fresh by the product itself (ANALYZE / PRAGMA optimize), unstable plans pinned",
        if fresh {
            "the store's database had statistics after the newest run"
        } else {
            "the store's database had no statistics (no `sqlite_stat1`) after the newest run"
        },
    );

    let goal = "Full verification ≥ 500k events/s; incremental verification < 50 ms";
    match runs.iter().find(|r| r["verify_eps"].is_number()) {
        Some(run) => {
            let eps = num(run, "verify_eps").unwrap_or(0.0);
            let inc = num(run, "incremental_max_ms").unwrap_or(f64::MAX);
            let status = format!(
                "{}: full {} events/s ({}), incremental {} ms p50, {} ms max ({})",
                size(run),
                int(eps),
                versus(eps, 500_000.0, true),
                ms(num(run, "incremental_p50_ms")),
                ms(Some(inc)),
                versus(inc, 50.0, false)
            );
            line(&mut out, eps >= 500_000.0 && inc < 50.0, goal, &status);
        }
        None => line(&mut out, false, goal, "no run has measured it yet"),
    }

    out += &crate::history::goal_line(runs);
    export_goal(&mut out, runs);
    purge_line(&mut out, runs);
    out += &crate::evidence::goal(runs);
    memory_goal(&mut out, runs);
    out
}

/// The newest run of each size that has `key`, smallest size first.
fn newest_per_size<'a>(runs: &'a [Value], key: &str) -> Vec<&'a Value> {
    let mut sizes: Vec<u64> = runs.iter().filter(|r| !r[key].is_null()).filter_map(|r| r["events"].as_u64()).collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes.iter().filter_map(|n| runs.iter().find(|r| r["events"].as_u64() == Some(*n) && !r[key].is_null())).collect()
}

fn export_goal(out: &mut String, runs: &[Value]) {
    let goal = "Export: CSV ≥ 500k rows/s, XLSX ≥ 100k rows/s, peak RSS growth < 64 MiB at any size";
    let measured: Vec<&Value> = runs.iter().filter(|r| r["csv_rows_per_s"].is_number()).collect();
    let Some(first) = measured.first() else { return line(out, false, goal, "no run has measured it yet") };
    // Speed at 1M rows, as the goals name it, or else the newest run; memory at every size.
    let (run, exact) =
        measured.iter().find(|r| r["events"].as_u64() == Some(1_000_000)).map_or((*first, false), |r| (*r, true));
    let csv = num(run, "csv_rows_per_s").unwrap_or(0.0);
    let xlsx = num(run, "xlsx_rows_per_s").unwrap_or(0.0);
    let mut parts = vec![format!(
        "{}: CSV {} rows/s ({}), XLSX {} rows/s ({}){}",
        size(run),
        int(csv),
        versus(csv, 500_000.0, true),
        int(xlsx),
        versus(xlsx, 100_000.0, true),
        if exact { String::new() } else { " (no 1M run yet)".to_string() }
    )];
    let mut memory_met = true;
    for r in newest_per_size(runs, "csv_rows_per_s") {
        let growth = ["csv", "xlsx"].map(|f| num(r, &format!("{f}_growth_mib")));
        match growth {
            [Some(c), Some(x)] => {
                let worst = c.max(x);
                memory_met &= worst < 64.0;
                parts.push(format!(
                    "{}: peak RSS growth CSV {c:.1} MiB, XLSX {x:.1} MiB ({})",
                    size(r),
                    versus(worst, 64.0, false)
                ));
            }
            _ => {
                memory_met = false;
                parts.push(format!("{}: peak RSS growth not measurable (peak could not be reset)", size(r)));
            }
        }
    }
    let met = exact && csv >= 500_000.0 && xlsx >= 100_000.0 && memory_met;
    line(out, met, goal, &parts.join(" · "));
}

/// Tracked without a target: a plain bullet, not a box to tick.
fn purge_line(out: &mut String, runs: &[Value]) {
    let goal = "Purge of 10 % of N: its time and the longest ingest stall meanwhile (tracked, no target)";
    let status = match runs.iter().find(|r| r["purge_secs"].is_number()) {
        Some(r) => format!(
            "{}: {} events purged in {:.1} s; ingest during it: {} requests, p50 {} ms, longest {} ms (p50 {} ms \
             before the purge)",
            size(r),
            int(num(r, "purged").unwrap_or(0.0)),
            num(r, "purge_secs").unwrap_or(0.0),
            r["purge_requests"].as_u64().unwrap_or(0),
            ms(num(r, "purge_p50_ms")),
            ms(num(r, "purge_stall_ms")),
            ms(num(r, "purge_before_p50_ms")),
        ),
        None => "no run has measured it yet".to_string(),
    };
    let _ = writeln!(out, "- **{goal}** — {status}");
}

fn memory_goal(out: &mut String, runs: &[Value]) {
    let goal = "Server RSS under 150 MiB at 10M stored events while serving reads";
    let measured: Vec<&Value> = runs.iter().filter(|r| r["reads_hwm_mib"].is_number()).collect();
    let Some(first) = measured.first() else { return line(out, false, goal, "no run has measured it yet") };
    let (run, exact) =
        measured.iter().find(|r| r["events"].as_u64() == Some(10_000_000)).map_or((*first, false), |r| (*r, true));
    let peak = num(run, "reads_hwm_mib").unwrap_or(f64::MAX);
    let status = format!(
        "{}: peak {peak:.1} MiB while serving the query plan at {} stored events (VmRSS {:.1} MiB after it) — {}{}",
        size(run),
        int(num(run, "reads_stored").unwrap_or(0.0)),
        num(run, "reads_rss_mib").unwrap_or(0.0),
        versus(peak, 150.0, false),
        if exact { String::new() } else { " (no 10M run yet)".to_string() }
    );
    line(out, exact && peak < 150.0, goal, &status);
}
