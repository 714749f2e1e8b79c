//! What a reader asks for: the browse filters of docs/API.md §5, keyset cursors, and the
//! keyword tokenizer that keeps any `q` from being a syntax error.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::activity::{self, Activity};
use crate::time::Timestamp;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// The filters of a browse or export; they combine with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Inclusive lower bound on `occurred_at`.
    pub from: Option<Timestamp>,
    /// Exclusive upper bound on `occurred_at`.
    pub to: Option<Timestamp>,
    /// Any of these actor ids.
    pub actors: Vec<String>,
    /// Any of these types (categories are expanded to their types).
    pub activities: Vec<Activity>,
    /// Id of a related case.
    pub case: Option<String>,
    /// Id of a related client.
    pub client: Option<String>,
    /// Every word must match the start of a word (see [`keywords`]).
    pub words: Vec<String>,
}

impl Filter {
    /// Whether nothing narrows the log.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }
}

/// A position in the newest-first order: the last row of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub occurred_at: Timestamp,
    pub seq: u64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1:{}:{}", self.occurred_at.as_millis(), self.seq))
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let raw = URL_SAFE_NO_PAD.decode(s).ok()?;
        let text = std::str::from_utf8(&raw).ok()?;
        let mut parts = text.strip_prefix("v1:")?.split(':');
        let ms: i64 = parts.next()?.parse().ok()?;
        let seq: u64 = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Cursor { occurred_at: Timestamp::from_millis(ms)?, seq })
    }
}

/// A page request: filters, where to start, how many.
#[derive(Debug, Clone, PartialEq)]
pub struct BrowseQuery {
    pub filter: Filter,
    pub cursor: Option<Cursor>,
    pub limit: u32,
}

/// A bad query parameter: a 400 naming the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {message}")]
pub struct ParamError {
    pub param: String,
    pub message: String,
}

fn bad(param: &str, message: impl Into<String>) -> ParamError {
    ParamError { param: param.to_string(), message: message.into() }
}

/// The parameters that only filter (the export takes these plus `format`).
pub const FILTER_PARAMS: [&str; 7] = ["from", "to", "actor", "activity", "case", "client", "q"];

impl BrowseQuery {
    /// Reads query parameters; dates are days in `tz`. Empty values count as absent, so
    /// a plain HTML form with blank fields filters nothing. `extra` names parameters the
    /// caller handles itself (such as `format`); any other unknown name is refused.
    pub fn from_params(params: &[(String, String)], tz: &TimeZone, extra: &[&str]) -> Result<BrowseQuery, ParamError> {
        let mut query = BrowseQuery { filter: Filter::default(), cursor: None, limit: DEFAULT_LIMIT };
        let f = &mut query.filter;
        for (key, value) in params {
            let value = value.trim();
            match key.as_str() {
                "q" => add_search_words(&mut f.words, value),
                _ if value.is_empty() => {}
                "from" => f.from = Some(parse_bound(value, tz, "from", false)?),
                "to" => f.to = Some(parse_bound(value, tz, "to", true)?),
                "actor" => {
                    if !f.actors.iter().any(|a| a == value) {
                        if f.actors.len() == MAX_FILTER_VALUES {
                            return Err(bad("actor", format!("at most {MAX_FILTER_VALUES} actors at once")));
                        }
                        f.actors.push(value.to_string());
                    }
                }
                "activity" => {
                    for a in parse_activity(value)? {
                        if !f.activities.contains(&a) {
                            if f.activities.len() == MAX_FILTER_VALUES {
                                return Err(bad("activity", format!("at most {MAX_FILTER_VALUES} activities at once")));
                            }
                            f.activities.push(a);
                        }
                    }
                }
                "case" => set_once(&mut f.case, value, "case")?,
                "client" => set_once(&mut f.client, value, "client")?,
                "limit" => {
                    query.limit = value
                        .parse::<u32>()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| bad("limit", format!("must be a whole number from 1 to {MAX_LIMIT}")))?;
                }
                "cursor" => {
                    query.cursor =
                        Some(Cursor::decode(value).ok_or_else(|| bad("cursor", "not a cursor this server gave out"))?);
                }
                other if extra.contains(&other) => {}
                other => return Err(bad(other, "unknown query parameter")),
            }
        }
        if let (Some(from), Some(to)) = (f.from, f.to)
            && from >= to
        {
            return Err(bad("to", "must be after from"));
        }
        Ok(query)
    }
}

fn set_once(slot: &mut Option<String>, value: &str, name: &str) -> Result<(), ParamError> {
    match slot {
        Some(existing) if existing != value => Err(bad(name, "may be given once")),
        _ => {
            *slot = Some(value.to_string());
            Ok(())
        }
    }
}

/// An activity key, or a category expanded to its keys.
pub fn parse_activity(value: &str) -> Result<Vec<Activity>, ParamError> {
    if let Some(a) = Activity::from_key(value) {
        return Ok(vec![a]);
    }
    if activity::category(value).is_some() {
        return Ok(Activity::all().filter(|a| a.category().key == value).collect());
    }
    Err(bad("activity", format!("unknown activity type or category {:?}", value.chars().take(64).collect::<String>())))
}

/// A `from`/`to` bound: an RFC 3339 timestamp, or a date read in `tz`. A date as
/// `to` includes that whole day, so it becomes the start of the next day.
fn parse_bound(value: &str, tz: &TimeZone, param: &str, end_of_day: bool) -> Result<Timestamp, ParamError> {
    if value.len() == 10 {
        let date: Date = value.parse().map_err(|_| bad(param, "must be a date YYYY-MM-DD or an RFC 3339 timestamp"))?;
        let day = if end_of_day { date.tomorrow().map_err(|_| bad(param, "date out of range"))? } else { date };
        let instant = day.to_zoned_datetime(tz.clone()).map_err(|_| bad(param, "date out of range"))?.timestamp();
        return Timestamp::from_jiff(instant).ok_or_else(|| bad(param, "date out of range (1970 to 9999)"));
    }
    Timestamp::parse(value).map_err(|e| bad(param, format!("must be a date YYYY-MM-DD or an RFC 3339 timestamp ({e})")))
}

/// A search reads at most this many distinct words; the rest of a longer `q` is left
/// out (each word is one more index lookup, and a thousand of them is an attack, not
/// a search).
pub const MAX_SEARCH_WORDS: usize = 16;
/// A repeatable filter (`actor`, `activity`) takes at most this many values.
pub const MAX_FILTER_VALUES: usize = 20;

/// Adds the [`keywords`] of a search text to `words`: each word once, and no more than
/// [`MAX_SEARCH_WORDS`] in all. Every reader of a `q` goes through here.
pub fn add_search_words(words: &mut Vec<String>, text: &str) {
    for word in keywords(text) {
        if words.len() == MAX_SEARCH_WORDS {
            return;
        }
        if !words.contains(&word) {
            words.push(word);
        }
    }
}

/// The search words of one text (see [`add_search_words`]).
pub fn search_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    add_search_words(&mut words, text);
    words
}

/// The words of a text, as search sees them: runs of letters and digits, lowercased,
/// with diacritics removed (`José` → `jose`). Everything else separates words, so no
/// input is ever query syntax.
pub fn keywords(text: &str) -> Vec<String> {
    if text.is_ascii() {
        // Most text is ASCII, where decomposition changes nothing; skipping it halves
        // the cost of indexing an event.
        return text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
    }
    decomposed_keywords(text)
}

/// [`keywords`] for any text: decomposed, so diacritics can be dropped.
fn decomposed_keywords(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in text.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        if c.is_alphanumeric() {
            current.extend(c.to_lowercase().filter(|l| !is_combining_mark(*l)));
        } else if !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// The text a store indexes for an event: description, related names and actor name,
/// normalized the same way as the query words.
pub fn search_text(event: &crate::event::Event) -> String {
    let mut text = keywords(&event.description).join(" ");
    for r in &event.related {
        if let Some(name) = &r.name {
            text.push(' ');
            text.push_str(&keywords(name).join(" "));
        }
    }
    text.push(' ');
    text.push_str(&keywords(&event.actor.name).join(" "));
    text
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
