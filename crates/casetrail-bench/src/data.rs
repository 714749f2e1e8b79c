//! The benchmark's data: the demo firm's events, deterministic for a seed and a count,
//! and the search words picked from a sample of them.
//!
//! The generator runs over a fixed window of [`SPAN_DAYS`] that ends at [`GEN_END`], so
//! the same seed and count always give the same events. Ingest refuses events older
//! than the account's retention (90 days by default) or in the future, so every
//! `occurred_at` is then moved by a whole number of weeks to end just before now; that
//! shift is the only thing that differs between runs, and it keeps weekdays weekdays.

use std::collections::{BTreeMap, HashSet};

use casetrail_core::Timestamp;
use casetrail_core::query::keywords;
use casetrail_demo::{EventGenerator, Firm};
use serde_json::Value;

/// How many days of activity the events cover: inside the default 90-day retention.
pub const SPAN_DAYS: i64 = 77;
/// The end of the generation window, a Monday 00:00 UTC.
const GEN_END_SECONDS: i64 = 1_767_571_200; // 2026-01-05T00:00:00Z
const DAY_MS: i64 = 86_400_000;
const WEEK_MS: i64 = 7 * DAY_MS;
/// Events drawn to pick search words.
const SAMPLE_EVENTS: usize = 20_000;

/// The events of one run: `count` of them, for a seed, moved to end just before now.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub firm: Firm,
    pub seed: u64,
    pub count: usize,
    /// Added to every generated `occurred_at`: whole weeks.
    pub shift_ms: i64,
}

impl Dataset {
    pub fn new(seed: u64, count: usize, now: Timestamp) -> Dataset {
        let end_ms = GEN_END_SECONDS * 1000;
        // A few minutes of margin: the newest event must not be in the future.
        let weeks = (now.as_millis() - 5 * 60_000 - end_ms).div_euclid(WEEK_MS);
        Dataset { firm: casetrail_demo::firm(seed), seed, count, shift_ms: weeks * WEEK_MS }
    }

    /// The same run with at most `max` events.
    pub fn capped(&self, max: usize) -> Dataset {
        Dataset { count: self.count.min(max), ..self.clone() }
    }

    fn window() -> (jiff::Timestamp, jiff::Timestamp) {
        let end = jiff::Timestamp::from_second(GEN_END_SECONDS).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let start = end.checked_sub(jiff::SignedDuration::from_hours(24 * SPAN_DAYS)).unwrap_or(end);
        (start, end)
    }

    /// The first and last instant of the (shifted) window.
    pub fn span(&self) -> (Timestamp, Timestamp) {
        let (start, end) = Self::window();
        let at =
            |t: jiff::Timestamp| Timestamp::from_millis(t.as_millisecond() + self.shift_ms).unwrap_or(Timestamp::EPOCH);
        (at(start), at(end))
    }

    /// The ingest event objects, in time order, exactly as a host would send them.
    pub fn events(&self) -> impl Iterator<Item = Value> + use<> {
        self.events_of(self.seed, self.count)
    }

    /// Another stream over the same window (other idempotency keys for another seed).
    pub fn events_of(&self, seed: u64, count: usize) -> impl Iterator<Item = Value> + use<> {
        let (start, end) = Self::window();
        let shift = self.shift_ms;
        EventGenerator::new(&self.firm, seed, count, start, end).map(move |mut event| {
            shift_event(&mut event, shift);
            event
        })
    }

    /// The ids of the staff (actors), cases and clients the filters pick from.
    pub fn actor_ids(&self) -> Vec<String> {
        self.firm.staff.iter().map(|s| s.id.clone()).collect()
    }
    pub fn case_ids(&self) -> Vec<String> {
        self.firm.cases.iter().map(|c| c.id.clone()).collect()
    }
    pub fn client_ids(&self) -> Vec<String> {
        self.firm.clients.iter().map(|c| c.id.clone()).collect()
    }

    /// The days `YYYY-MM-DD` (UTC) of the window.
    pub fn days(&self) -> Vec<String> {
        let (start, end) = self.span();
        let first = start.as_millis().div_euclid(DAY_MS);
        let last = end.as_millis().div_euclid(DAY_MS);
        (first..=last)
            .filter_map(|d| Timestamp::from_millis(d * DAY_MS))
            .map(|t| t.to_string()[..10].to_string())
            .collect()
    }
}

fn shift_event(event: &mut Value, shift_ms: i64) {
    if let Some(at) = event.get_mut("occurred_at")
        && let Some(ts) = at.as_str().and_then(|s| Timestamp::parse(s).ok())
    {
        *at = Value::String(ts.plus_millis(shift_ms).to_string());
    }
}

/// The words searched for, picked by counting words in a sample of the events.
#[derive(Debug, Clone, Default)]
pub struct SearchWords {
    /// Words whose prefix matches about 1 % of events, with that share.
    pub common: Vec<(String, f64)>,
    /// Words that match very few events, with their share.
    pub rare: Vec<(String, f64)>,
    /// Three consecutive words of real descriptions.
    pub phrases: Vec<String>,
}

/// The words of an event that search sees: description, related names, actor name.
fn searchable(event: &Value) -> Vec<String> {
    let mut words = keywords(event["description"].as_str().unwrap_or(""));
    for r in event["related"].as_array().into_iter().flatten() {
        words.extend(keywords(r["name"].as_str().unwrap_or("")));
    }
    words.extend(keywords(event["actor"]["name"].as_str().unwrap_or("")));
    words
}

impl SearchWords {
    pub fn pick(data: &Dataset, rng: &mut Rng) -> SearchWords {
        let sample: Vec<Value> = data.events_of(data.seed ^ 0x5eed, SAMPLE_EVENTS).collect();
        let docs: Vec<HashSet<String>> = sample.iter().map(|e| searchable(e).into_iter().collect()).collect();
        let n = docs.len() as f64;
        let mut freq: BTreeMap<&str, usize> = BTreeMap::new();
        for doc in &docs {
            for w in doc {
                *freq.entry(w.as_str()).or_default() += 1;
            }
        }
        // A query word is a prefix: count the events where any word starts with it.
        let prefix_share = |w: &str| docs.iter().filter(|d| d.iter().any(|x| x.starts_with(w))).count() as f64 / n;
        let alphabetic = |w: &str| w.chars().all(char::is_alphabetic);

        let mut common: Vec<(String, f64)> = freq
            .iter()
            .filter(|(w, c)| w.len() >= 4 && alphabetic(w) && (0.003..0.03).contains(&(**c as f64 / n)))
            .map(|(w, _)| (w.to_string(), prefix_share(w)))
            .filter(|(_, share)| (0.005..0.02).contains(share))
            .collect();
        common.sort_by(|a, b| (a.1 - 0.01).abs().total_cmp(&(b.1 - 0.01).abs()).then(a.0.cmp(&b.0)));
        common.truncate(8);

        let mut rare: Vec<(String, f64)> = freq
            .iter()
            .filter(|(w, c)| w.len() >= 5 && alphabetic(w) && (1..=3).contains(*c))
            .map(|(w, _)| (w.to_string(), prefix_share(w)))
            .filter(|(_, share)| *share <= 0.0005)
            .collect();
        rng.shuffle(&mut rare);
        rare.truncate(40);
        rare.sort_by(|a, b| a.0.cmp(&b.0));

        let mut phrases = Vec::new();
        for _ in 0..2000 {
            if phrases.len() >= 200 {
                break;
            }
            let words = keywords(sample[rng.below(sample.len())]["description"].as_str().unwrap_or(""));
            let words: Vec<&String> = words.iter().filter(|w| w.len() >= 3).collect();
            if words.len() >= 3 {
                let at = rng.below(words.len() - 2);
                phrases.push(format!("{} {} {}", words[at], words[at + 1], words[at + 2]));
            }
        }
        SearchWords { common, rare, phrases }
    }
}

/// The report's lines about the data: what was generated, and the search words.
pub fn describe(data: &Dataset, words: &SearchWords, singles: usize, old_events: usize) -> Vec<String> {
    let int = crate::report::int;
    let (start, end) = data.span();
    let share = |w: &[(String, f64)]| w.iter().map(|(w, s)| format!("`{w}` {:.2} %", s * 100.0)).collect::<Vec<_>>();
    vec![
        format!(
            "Data: seed {}, {} (demo firm), {} events over {SPAN_DAYS} days ({} to {}), {} single events more \
             (seed + 1); for the purge, {} events more dated 91–120 days ago (seed + 3)",
            data.seed,
            data.firm.name,
            int(data.count as f64),
            &start.to_string()[..10],
            &end.to_string()[..10],
            int(singles as f64),
            int(old_events as f64),
        ),
        format!(
            "Search words (share of a 20k-event sample they match): common {}; rare {} words such as {}",
            share(&words.common).join(", "),
            words.rare.len(),
            share(&words.rare[..words.rare.len().min(3)]).join(", ")
        ),
    ]
}

/// A small deterministic generator (SplitMix64), so the bench needs no rand crate.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T: AsRef<str>>(&mut self, items: &'a [T]) -> &'a str {
        items[self.below(items.len())].as_ref()
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}
