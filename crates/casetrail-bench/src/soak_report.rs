//! The soak's report: a Markdown section of its own (no run summary, so the goals do
//! not judge it and later runs keep it as written), and the "memory flat" verdict.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use casetrail_export::Format;

use crate::report::{int, ms};
use crate::stats::Samples;

/// RSS growth up to which memory counts as flat.
pub const FLAT_GROWTH: f64 = 0.10;
/// How much a steady soak's store may vary between purges: what one purge interval
/// of ingest adds.
const STEADY_SLACK: f64 = 1.5;
/// From this length on, the verdict compares minutes 5–10 with the last 5 minutes;
/// shorter soaks compare the second fifth with the last.
const LONG_SOAK_SECS: f64 = 15.0 * 60.0;
const WINDOW_SECS: f64 = 5.0 * 60.0;

/// Everything a soak measured.
#[derive(Debug, Default)]
pub struct SoakFigures {
    /// The soak's length: the memory was sampled over it.
    pub secs: f64,
    /// The whole run, until the last request in flight at the deadline ended.
    pub took: f64,
    pub seeded: usize,
    pub ingested: usize,
    pub rate: u64,
    /// Latencies by kind of request.
    pub samples: BTreeMap<String, Samples>,
    pub exports: Vec<(Format, u64, u64)>,
    pub purged: Vec<u64>,
    pub old_per_purge: usize,
    /// A soak at a fixed store size (`--soak-steady`).
    pub steady: bool,
    /// The events stored after each purge (seeded + ingested + appended − purged).
    pub resident: Vec<u64>,
    pub errors: usize,
    pub error_messages: Vec<String>,
    /// (seconds since the soak began, VmRSS bytes) of the server child.
    pub rss: Vec<(f64, u64)>,
    /// Events the final verification checked; `None` when it failed.
    pub verified: Option<u64>,
}

/// The memory verdict: the median RSS of an early window against the last one.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Which windows were compared, in words.
    pub windows: String,
    pub early: u64,
    pub last: u64,
    pub growth: f64,
    pub flat: bool,
}

fn median(mut values: Vec<u64>) -> Option<u64> {
    values.sort_unstable();
    values.get(values.len().checked_sub(1)? / 2).copied()
}

/// The median of the samples taken in `[from, to)` seconds.
fn window_median(rss: &[(f64, u64)], from: f64, to: f64) -> Option<u64> {
    median(rss.iter().filter(|(t, _)| *t >= from && *t < to).map(|s| s.1).collect())
}

/// Judges `rss` over a soak of `secs`: minutes 5–10 against the last 5 minutes when
/// the soak lasted 15 minutes or more, else the second fifth against the last fifth.
/// `None` when a window holds no sample.
pub fn verdict(rss: &[(f64, u64)], secs: f64) -> Option<Verdict> {
    let (windows, early, last) = if secs >= LONG_SOAK_SECS {
        ("minutes 5–10 vs the last 5 minutes", (WINDOW_SECS, 2.0 * WINDOW_SECS), secs - WINDOW_SECS)
    } else {
        ("the second fifth vs the last fifth", (secs / 5.0, 2.0 * secs / 5.0), secs * 4.0 / 5.0)
    };
    let early = window_median(rss, early.0, early.1)?;
    // The last sample is taken at the deadline itself: the window closes after it.
    let last = window_median(rss, last, f64::INFINITY)?;
    let growth = last as f64 / early.max(1) as f64 - 1.0;
    Some(Verdict { windows: windows.to_string(), early, last, growth, flat: growth <= FLAT_GROWTH })
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

impl SoakFigures {
    /// Why the soak failed, if it did: an error, a chain that does not verify, or
    /// memory that grew. Memory is judged only on a long soak: over a short one the
    /// server is still warming up (caches, connection pools, the allocator's arenas).
    pub fn failure(&self) -> Option<String> {
        if self.errors > 0 {
            return Some(format!("{} requests or steps failed", self.errors));
        }
        if self.verified.is_none() {
            return Some("the chain does not verify after the soak".into());
        }
        if let Some(why) = self.unsteady() {
            return Some(why);
        }
        let judged = self.secs >= LONG_SOAK_SECS;
        match verdict(&self.rss, self.secs) {
            Some(v) if judged && !v.flat => Some(format!("the server's memory grew by {:.1} %", v.growth * 100.0)),
            None if judged => Some("too few memory samples for a verdict".into()),
            _ => None,
        }
    }

    /// Why a long steady soak's store did not keep its size: after the last purge it
    /// held more than [`STEADY_SLACK`] times what it held a fifth of the way in (the
    /// first events take a minute to age out, so the first purges find fewer).
    fn unsteady(&self) -> Option<String> {
        if !self.steady || self.secs < LONG_SOAK_SECS {
            return None;
        }
        let (early, last) = (self.resident.get(self.resident.len() / 5)?, self.resident.last()?);
        let grew = *last as f64 > *early as f64 * STEADY_SLACK;
        grew.then(|| format!("the store was to keep its size but grew from {early} to {last} events"))
    }

    pub fn markdown(&self, head: &SoakHead) -> String {
        let mut s = String::new();
        let minutes = self.secs / 60.0;
        let kind = if self.steady { "soak at a fixed store size" } else { "soak" };
        let _ = writeln!(s, "### {} · {kind}, {:.0} s · {}{}\n", head.date, self.secs, head.commit, head.engine);
        let _ = writeln!(s, "- Command: `{}`", head.command);
        let _ = writeln!(s, "- Machine: {}", head.machine);
        if self.took > self.secs + 1.0 {
            let _ = writeln!(
                s,
                "- The requests in flight at the deadline ended {:.0} s after it (memory sampled until the deadline)",
                self.took - self.secs
            );
        }
        let _ = writeln!(
            s,
            "- Seeded with {} events (HTTP batches of 1000); then at once: {} ingest clients (batches of {}, {}), \
             {} browse/filter/search clients over the query plan, an export every {} s (CSV and XLSX in turn), \
             old events appended and purged every {} s, the server's RSS read every {} s",
            int(self.seeded as f64),
            crate::soak::INGEST_CLIENTS,
            crate::soak::INGEST_BATCH,
            if self.rate > 0 { format!("paced to {} events/s", int(self.rate as f64)) } else { "back to back".into() },
            crate::soak::BROWSE_CLIENTS,
            head.export_every_secs,
            head.purge_every_secs,
            crate::soak::RSS_EVERY.as_secs(),
        );
        let _ = writeln!(
            s,
            "- Ingested {} events in {:.1} min ({} events/min)",
            int(self.ingested as f64),
            minutes,
            int(self.ingested as f64 / minutes.max(1e-9))
        );
        let csv: Vec<String> = self.exports.iter().filter(|e| e.0 == Format::Csv).map(|e| int(e.1 as f64)).collect();
        let xlsx = self.exports.iter().filter(|e| e.0 == Format::Xlsx).count();
        let _ = writeln!(
            s,
            "- Exports: {} CSV (rows counted as they streamed: {}), {xlsx} XLSX",
            csv.len(),
            csv.join(", ")
        );
        let purged: u64 = self.purged.iter().sum();
        let _ = writeln!(
            s,
            "- Purges: {}, {} events purged ({} old events appended before each{})",
            self.purged.len(),
            int(purged as f64),
            int(self.old_per_purge as f64),
            if self.steady { ", and the ingested events that had aged out" } else { "" }
        );
        if self.steady {
            let sorted = {
                let mut r = self.resident.clone();
                r.sort_unstable();
                r
            };
            let at = |i: usize| sorted.get(i).map_or("–".to_string(), |n| int(*n as f64));
            let _ = writeln!(
                s,
                "- **A fixed store size**: each ingested event dated {} s inside the {}-day window as its batch was sent, \
                 so it aged out and was purged; events stored after each purge: min {}, median {}, max {}",
                crate::soak::AGING_MARGIN.as_secs(),
                crate::soak::RETENTION_DAYS,
                at(0),
                at(sorted.len().saturating_sub(1) / 2),
                at(sorted.len().saturating_sub(1)),
            );
        }
        let _ = writeln!(s, "- Errors: **{}**", self.errors);
        for e in &self.error_messages {
            let _ = writeln!(s, "  - {e}");
        }
        match self.verified {
            Some(n) => _ = writeln!(s, "- Chain after the soak: verifies ({} events checked)", int(n as f64)),
            None => _ = writeln!(s, "- Chain after the soak: **does not verify**"),
        }

        s += "\n| requests | n | p50 ms | p99 ms |\n|---|--:|--:|--:|\n";
        for (kind, samples) in &self.samples {
            let _ = writeln!(s, "| {kind} | {} | {} | {} |", samples.len(), ms(samples.p50()), ms(samples.p99()));
        }

        let values: Vec<u64> = self.rss.iter().map(|r| r.1).collect();
        let (first, last) = (values.first().copied().unwrap_or(0), values.last().copied().unwrap_or(0));
        let (min, max) = (values.iter().min().copied().unwrap_or(0), values.iter().max().copied().unwrap_or(0));
        let _ = writeln!(
            s,
            "\n**Server memory (VmRSS, MiB)**: start {}, min {}, max {}, end {} ({} samples)\n",
            mib(first),
            mib(min),
            mib(max),
            mib(last),
            values.len()
        );
        s += "| minutes | median RSS MiB |\n|---|--:|\n";
        let mut from = 0.0;
        while from < self.secs {
            if let Some(m) = window_median(&self.rss, from, from + WINDOW_SECS) {
                let to = (from + WINDOW_SECS).min(self.secs) / 60.0;
                let _ = writeln!(s, "| {:.0}–{to:.1} | {} |", from / 60.0, mib(m));
            }
            from += WINDOW_SECS;
        }
        match verdict(&self.rss, self.secs) {
            Some(v) => {
                let word = match (v.flat, self.secs >= LONG_SOAK_SECS) {
                    (true, _) => "**memory flat**",
                    (false, true) => "**memory grew**",
                    (false, false) => "**memory grew** (a soak under 15 minutes is not judged: warm-up)",
                };
                let _ = writeln!(
                    s,
                    "\n{word}: median RSS {} MiB → {} MiB ({:+.1} %, {}; flat is ≤ {:.0} %)",
                    mib(v.early),
                    mib(v.last),
                    v.growth * 100.0,
                    v.windows,
                    FLAT_GROWTH * 100.0
                );
            }
            None => s += "\n**memory: no verdict** (too few samples)\n",
        }
        s
    }
}

/// What the report says of the run around the figures.
#[derive(Debug)]
pub struct SoakHead {
    pub date: String,
    pub commit: String,
    /// " · PostgreSQL" or empty.
    pub engine: &'static str,
    pub command: String,
    pub machine: String,
    pub purge_every_secs: u64,
    pub export_every_secs: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn every_5s(secs: u64, rss: impl Fn(f64) -> u64) -> Vec<(f64, u64)> {
        (0..=secs / 5).map(|i| (i as f64 * 5.0, rss(i as f64 * 5.0))).collect()
    }

    #[test]
    fn a_long_soak_compares_minutes_5_to_10_with_the_last_5() {
        // A warm-up spike in the first minutes does not count; 100 → 109 MiB is flat.
        let rss = every_5s(1800, |t| if t < 300.0 { 300 * MIB } else { 100 * MIB + (t as u64 * MIB) / 200 });
        let v = verdict(&rss, 1800.0).unwrap();
        assert_eq!(v.windows, "minutes 5–10 vs the last 5 minutes");
        // Medians: minutes 5–10 at t = 445 or 450 s; the last five at t = 1650 s.
        assert_eq!(v.early, 100 * MIB + 445 * MIB / 200);
        assert_eq!(v.last, 100 * MIB + 1650 * MIB / 200);
        assert!(v.growth > 0.05 && v.growth < 0.06, "{}", v.growth);
        assert!(v.flat);
    }

    #[test]
    fn growth_over_ten_percent_is_not_flat() {
        let rss = every_5s(1800, |t| 100 * MIB + (t as u64 * MIB) / 20);
        let v = verdict(&rss, 1800.0).unwrap();
        assert!(!v.flat, "{v:?}");
        assert!(v.growth > 0.4, "{}", v.growth);
    }

    #[test]
    fn a_short_soak_compares_fifths() {
        // 20 s: second fifth is [4, 8) s, last fifth from 16 s.
        let rss = vec![(0.0, 50), (5.0, 100), (10.0, 105), (15.0, 109), (20.0, 108)];
        let v = verdict(&rss, 20.0).unwrap();
        assert_eq!(v.windows, "the second fifth vs the last fifth");
        assert_eq!((v.early, v.last), (100, 108));
        assert!(v.flat, "{v:?}");
        let grown = vec![(5.0, 100), (20.0, 111)];
        assert!(!verdict(&grown, 20.0).unwrap().flat);
    }

    #[test]
    fn no_verdict_without_samples_in_a_window() {
        assert_eq!(verdict(&[(0.0, 100)], 20.0), None);
        assert_eq!(verdict(&[], 1800.0), None);
    }

    #[test]
    fn an_error_a_broken_chain_or_growth_on_a_long_soak_fails_it() {
        let flat = every_5s(1800, |_| 100 * MIB);
        let grown = every_5s(1800, |t| 100 * MIB + (t as u64 * MIB) / 20);
        let ok = SoakFigures { secs: 1800.0, rss: flat, verified: Some(10), ..SoakFigures::default() };
        assert_eq!(ok.failure(), None);
        let errors = SoakFigures { errors: 2, ..ok_like(&ok) };
        assert_eq!(errors.failure().as_deref(), Some("2 requests or steps failed"));
        let broken = SoakFigures { verified: None, ..ok_like(&ok) };
        assert_eq!(broken.failure().as_deref(), Some("the chain does not verify after the soak"));
        let leaky = SoakFigures { rss: grown, ..ok_like(&ok) };
        assert!(leaky.failure().is_some_and(|w| w.starts_with("the server's memory grew by")));
        // The same growth over a 20-second soak is warm-up: reported, not failed.
        let short = SoakFigures { secs: 20.0, rss: vec![(5.0, 100), (20.0, 150)], ..ok_like(&ok) };
        assert_eq!(short.failure(), None);
    }

    #[test]
    fn a_steady_soak_fails_when_its_store_grows() {
        let flat = every_5s(1800, |_| 100 * MIB);
        let base = SoakFigures { secs: 1800.0, rss: flat, verified: Some(10), steady: true, ..SoakFigures::default() };
        // Judged from a fifth of the way in: the first purges find little aged out.
        let kept = vec![10_000, 50_000, 100_000, 130_000, 110_000, 120_000, 140_000, 100_000, 125_000, 149_000];
        let kept = SoakFigures { steady: true, resident: kept, ..ok_like(&base) };
        assert_eq!(kept.failure(), None);
        let grown = vec![10_000, 50_000, 100_000, 200_000, 150_000, 130_000, 140_000, 120_000, 110_000, 151_000];
        let grown = SoakFigures { steady: true, resident: grown, ..ok_like(&base) };
        assert_eq!(
            grown.failure().as_deref(),
            Some("the store was to keep its size but grew from 100000 to 151000 events")
        );
        // A short soak is not judged, and one that is not steady grows by design.
        let short = SoakFigures { secs: 20.0, rss: vec![(5.0, 100), (20.0, 100)], ..ok_like(&grown) };
        assert_eq!(SoakFigures { steady: true, resident: vec![1, 10, 100], ..short }.failure(), None);
        let growing = SoakFigures { resident: vec![100_000, 900_000], ..ok_like(&base) };
        assert_eq!(growing.failure(), None);
    }

    fn ok_like(ok: &SoakFigures) -> SoakFigures {
        SoakFigures { secs: ok.secs, rss: ok.rss.clone(), verified: ok.verified, ..SoakFigures::default() }
    }
}
