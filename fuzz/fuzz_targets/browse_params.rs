//! The browse parameters of `GET /api/v1/events` and the export: the query string as
//! the server reads it (`form_urlencoded`, repeated names kept), then
//! `BrowseQuery::from_params`, with dates read in a zone that has summer time.
//!
//! Properties, beyond not panicking:
//! - a refusal names a parameter and says why;
//! - what is accepted keeps its bounds: a limit of 1 to 500, at most 16 distinct search
//!   words that are already in tokenized form, at most 20 distinct actors and
//!   activities, `from` before `to`;
//! - the accepted query written back as parameters reads as the same query.
#![no_main]

use casetrail_core::query::{BrowseQuery, MAX_FILTER_VALUES, MAX_LIMIT, MAX_SEARCH_WORDS, keywords};
use jiff::tz::TimeZone;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let params: Vec<(String, String)> = form_urlencoded::parse(data).into_owned().collect();
    let tz = TimeZone::get("Europe/Paris").unwrap();
    let query = match BrowseQuery::from_params(&params, &tz, &["format"]) {
        Ok(query) => query,
        Err(e) => {
            // A parameter named "" (`?=x`) is named by its (empty) name.
            assert!(!e.message.is_empty() && (!e.param.is_empty() || e.message == "unknown query parameter"), "{e:?}");
            return;
        }
    };
    let f = &query.filter;
    assert!((1..=MAX_LIMIT).contains(&query.limit));
    assert!(f.words.len() <= MAX_SEARCH_WORDS);
    for (i, word) in f.words.iter().enumerate() {
        assert_eq!(keywords(word), std::slice::from_ref(word), "a search word that is not one word");
        assert!(!f.words[..i].contains(word), "a word twice");
    }
    assert!(f.actors.len() <= MAX_FILTER_VALUES && f.activities.len() <= MAX_FILTER_VALUES);
    for (i, actor) in f.actors.iter().enumerate() {
        assert!(!actor.is_empty() && actor.trim() == actor && !f.actors[..i].contains(actor));
    }
    for (i, activity) in f.activities.iter().enumerate() {
        assert!(!f.activities[..i].contains(activity));
    }
    if let (Some(from), Some(to)) = (f.from, f.to) {
        assert!(from < to);
    }

    // Written back: timestamps as the server renders them, activities by key, the
    // words as one `q`.
    let mut written = Vec::new();
    let mut put = |k: &str, v: String| written.push((k.to_string(), v));
    if let Some(from) = f.from {
        put("from", from.to_string());
    }
    if let Some(to) = f.to {
        put("to", to.to_string());
    }
    f.actors.iter().for_each(|a| put("actor", a.clone()));
    f.activities.iter().for_each(|a| put("activity", a.key().to_string()));
    if let Some(case) = &f.case {
        put("case", case.clone());
    }
    if let Some(client) = &f.client {
        put("client", client.clone());
    }
    put("q", f.words.join(" "));
    put("limit", query.limit.to_string());
    if let Some(cursor) = query.cursor {
        put("cursor", cursor.encode());
    }
    let again = BrowseQuery::from_params(&written, &tz, &[]);
    assert_eq!(again.as_ref(), Ok(&query), "written back as {written:?}");
});
