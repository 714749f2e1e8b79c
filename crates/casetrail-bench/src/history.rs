//! Record history: `GET /api/v1/records/{type}/{id}` (docs/API.md §14) timed
//! through HTTP over a sample of real records — the ones with the most events and
//! the ones with the fewest — with its goal, p95 ≤ 10 ms at 1M events.
//!
//! The sample comes from the log itself: every case, client and member of staff of
//! the demo firm, and the newest communications the picker offers, are asked once
//! (untimed) for their event count; the commonest and the rarest found are then
//! timed in turn, after a warm-up.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::data::Dataset;
use crate::report::{int, ms, scale};
use crate::stats::{Samples, median};

/// Records of each end of the sample.
const EACH_END: usize = 20;
/// Requests before timing starts.
const WARMUP: usize = 6;

/// What the record history measured.
#[derive(Debug, Clone, Default)]
pub struct HistoryFigures {
    /// Every timed request, and those of each end of the sample.
    pub all: Samples,
    pub common: Samples,
    pub rare: Samples,
    /// Records timed, and the events of the commonest and of the rarest.
    pub records: usize,
    pub most_events: u64,
    pub fewest_events: u64,
    /// Median answer size, bytes.
    pub bytes: Vec<usize>,
}

/// One `GET`, its time, status, events count and size.
async fn ask(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    kind: &str,
    id: &str,
) -> anyhow::Result<(Duration, u16, u64, usize)> {
    let mut url = reqwest::Url::parse(&format!("{base}/api/v1/records/{kind}"))?;
    url.path_segments_mut().map_err(|()| anyhow::anyhow!("{base} cannot take a path"))?.push(id);
    let started = Instant::now();
    let response = client.get(url).bearer_auth(key).send().await?;
    let status = response.status().as_u16();
    let body = response.bytes().await?;
    let took = started.elapsed();
    let events = match status {
        200 => serde_json::from_slice::<Value>(&body)?["events"].as_u64().unwrap_or(0),
        404 => 0,
        other => anyhow::bail!("record history of {kind} {id} answered {other}"),
    };
    Ok((took, status, events, body.len()))
}

/// The records to time: the commonest and the rarest of the candidates, by events.
async fn sample(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    data: &Dataset,
) -> anyhow::Result<(Vec<(String, String, u64)>, Vec<(String, String, u64)>)> {
    let mut candidates: Vec<(String, String)> = Vec::new();
    candidates.extend(data.case_ids().into_iter().map(|id| ("case".to_string(), id)));
    candidates.extend(data.client_ids().into_iter().map(|id| ("client".to_string(), id)));
    candidates.extend(data.actor_ids().into_iter().map(|id| ("user".to_string(), id)));
    let url = format!("{base}/api/v1/records?type=communication");
    let picker: Value = client.get(url).bearer_auth(key).send().await?.error_for_status()?.json().await?;
    for r in picker["records"].as_array().into_iter().flatten() {
        candidates.push(("communication".to_string(), r["id"].as_str().unwrap_or_default().to_string()));
    }
    let mut found = Vec::new();
    for (kind, id) in candidates {
        let (_, status, events, _) = ask(client, base, key, &kind, &id).await?;
        if status == 200 {
            found.push((kind, id, events));
        }
    }
    anyhow::ensure!(!found.is_empty(), "no record of the demo firm has a history");
    found.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
    let common: Vec<_> = found.iter().take(EACH_END).cloned().collect();
    let rare: Vec<_> =
        found.iter().rev().take(EACH_END.min(found.len().saturating_sub(common.len()))).cloned().collect();
    Ok((common, rare))
}

/// Times `requests` record histories through the server at `base`, alternating the
/// commonest and the rarest records.
pub async fn http(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    data: &Dataset,
    requests: usize,
) -> anyhow::Result<HistoryFigures> {
    let (common, rare) = sample(client, base, key, data).await?;
    let mut out = HistoryFigures {
        records: common.len() + rare.len(),
        most_events: common.first().map_or(0, |r| r.2),
        fewest_events: rare.first().or(common.last()).map_or(0, |r| r.2),
        ..HistoryFigures::default()
    };
    for i in 0..requests + WARMUP {
        let from_rare = i % 2 == 1 && !rare.is_empty();
        let list = if from_rare { &rare } else { &common };
        let (kind, id, _) = &list[(i / 2) % list.len()];
        let (took, status, _, bytes) = ask(client, base, key, kind, id).await?;
        anyhow::ensure!(status == 200, "record history of {kind} {id} answered {status}");
        if i < WARMUP {
            continue;
        }
        out.all.push(took);
        out.bytes.push(bytes);
        if from_rare { out.rare.push(took) } else { out.common.push(took) }
    }
    eprintln!("  record history: p95 {} ms over {} records", ms(out.all.p95()), out.records);
    Ok(out)
}

/// The figures the goal is judged on, into the run's summary.
pub fn summary(f: &HistoryFigures) -> Map<String, Value> {
    let mut out = Map::new();
    if f.all.len() == 0 {
        return out;
    }
    out.insert("history_p50_ms".into(), json!(f.all.p50()));
    out.insert("history_p95_ms".into(), json!(f.all.p95()));
    out.insert("history_common_p95_ms".into(), json!(f.common.p95()));
    out.insert("history_rare_p95_ms".into(), json!(f.rare.p95()));
    out.insert("history_most_events".into(), json!(f.most_events));
    out
}

/// The run's table of the record history.
pub fn markdown(f: &HistoryFigures) -> String {
    if f.all.len() == 0 {
        return String::new();
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n**Record history** — `GET /api/v1/records/{{type}}/{{id}}` end to end with the admin key, ms; {} \
         records of the demo firm: the {} with the most events (up to {}) and the {} with the fewest (from {}), \
         asked in turn; median answer {} bytes.\n",
        f.records,
        f.records.min(EACH_END),
        int(f.most_events as f64),
        f.records.saturating_sub(EACH_END),
        int(f.fewest_events as f64),
        int(median(&f.bytes) as f64),
    );
    s += "| records | n | p50 | p95 | p99 |\n|---|--:|--:|--:|--:|\n";
    for (name, samples) in [("all", &f.all), ("commonest", &f.common), ("rarest", &f.rare)] {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} |",
            samples.len(),
            ms(samples.p50()),
            ms(samples.p95()),
            ms(samples.p99())
        );
    }
    s
}

/// The goal's line among the goals: judged on the newest SQLite run at 1M, or else
/// the newest run that measured it (marked as such).
pub fn goal_line(runs: &[Value]) -> String {
    let goal = "Record history (`GET /api/v1/records/{type}/{id}`) p95 ≤ 10 ms at 1M events";
    let measured: Vec<&Value> = runs.iter().filter(|r| r["history_p95_ms"].is_number()).collect();
    let Some(newest) = measured.first() else { return format!("- [ ] **{goal}** — no run has measured it yet\n") };
    let (run, exact) =
        measured.iter().find(|r| r["events"].as_u64() == Some(1_000_000)).map_or((*newest, false), |r| (*r, true));
    let p95 = run["history_p95_ms"].as_f64().unwrap_or(f64::MAX);
    let met = exact && p95 <= 10.0;
    let verdict =
        if p95 <= 10.0 { "met".to_string() } else { format!("missed by {:.0} %", (p95 - 10.0) / 10.0 * 100.0) };
    format!(
        "- [{}] **{goal}** — {}: p95 {} ms (commonest records {} ms, up to {} events; rarest {} ms) — {verdict}{}\n",
        if met { "x" } else { " " },
        scale(run["events"].as_u64().unwrap_or(0) as usize),
        ms(Some(p95)),
        ms(run["history_common_p95_ms"].as_f64()),
        int(run["history_most_events"].as_f64().unwrap_or(0.0)),
        ms(run["history_rare_p95_ms"].as_f64()),
        if exact { "" } else { " (no 1M run yet)" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_goal_is_judged_at_1m_and_says_when_there_is_no_such_run() {
        let run = |events: u64, p95: f64| {
            json!({"events": events, "history_p95_ms": p95, "history_common_p95_ms": p95,
                                                 "history_rare_p95_ms": 1.0, "history_most_events": 3000})
        };
        assert!(goal_line(&[]).contains("no run has measured it yet"));
        let line = goal_line(&[run(100_000, 4.0)]);
        assert!(
            line.starts_with("- [ ]") && line.contains("100k: p95 4.00 ms") && line.contains("no 1M run yet"),
            "{line}"
        );
        let line = goal_line(&[run(100_000, 4.0), run(1_000_000, 12.5)]);
        assert!(
            line.starts_with("- [ ]") && line.contains("1M: p95 12.5 ms") && line.contains("missed by 25 %"),
            "{line}"
        );
        assert!(goal_line(&[run(1_000_000, 9.0)]).starts_with("- [x]"));
    }
}
