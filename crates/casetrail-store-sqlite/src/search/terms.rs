//! Search words as the index's exact terms.
//!
//! FTS5 answers a prefix term of more characters than its longest prefix index (3,
//! `schema.rs`) by reading every doclist of every term with that prefix and merging
//! them into one buffer before the first match: the whole cost of a common word, paid
//! again by each statement of a page and by each word of a query. An exact term is read
//! lazily instead, newest first, as far as the page needs, and an AND of exact terms
//! skips through the longer doclists. So each longer word becomes the OR of the terms it
//! begins, read from the index's own vocabulary (`fts5vocab`, one seek per term).

use rusqlite::{Connection, OptionalExtension, params};

use casetrail_store::StoreResult;

use crate::db;

/// Words of at most this many characters have a prefix index (`prefix='1 2 3'`), whose
/// single doclist is already read lazily.
const PREFIX_INDEXED: usize = 3;

/// The most terms a word is expanded into. A word beginning more (a short, common stem)
/// stays a prefix term: its expansion would cost a seek per term, and an OR of many
/// doclists costs about what the prefix's merge does.
const MAX_TERMS: usize = 32;

/// The index's vocabulary, one row per term instance, in term order. The `instance`
/// kind is the one read lazily: the `row` kind counts a term's every document before
/// answering it. A temporary table, so a read-only connection makes it for itself and
/// the schema does not change; it finds `events_fts` by name at each read.
const VOCABULARY: &str =
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.events_fts_terms USING fts5vocab(main, events_fts, instance)";

/// The first term at or after `from` and at most `to`.
const NEXT_TERM: &str = "SELECT term FROM temp.events_fts_terms WHERE term >= ?1 AND term <= ?2 LIMIT 1";

/// Sorts after every continuation of a word in the index's term order (bytes): no
/// UTF-8 text continues with a byte above 0xF4.
const LAST_CHAR: char = char::MAX;

/// The FTS5 query for `words`, every word a prefix of some word of the event: words of
/// more than [`PREFIX_INDEXED`] characters as the OR of their exact terms where there
/// are at most [`MAX_TERMS`], the others as prefix terms. A word that begins no term
/// stays a prefix term too (it matches nothing, at the cost of one seek). Words are
/// letters and digits only (casetrail-core's tokenizer), so quoting each one makes a
/// plain term whatever the user typed; terms read from the index are quoted likewise.
pub(crate) fn expression(conn: &Connection, words: &[String]) -> StoreResult<String> {
    let mut parts = Vec::with_capacity(words.len());
    for word in words {
        let part = match expand(conn, word)? {
            Some(terms) if terms.len() == 1 => quoted(&terms[0]),
            Some(terms) if !terms.is_empty() => {
                format!("({})", terms.iter().map(|t| quoted(t)).collect::<Vec<_>>().join(" OR "))
            }
            _ => prefix(word),
        };
        parts.push(part);
    }
    Ok(parts.join(" AND "))
}

/// `word` as an FTS5 prefix term.
pub(crate) fn prefix(word: &str) -> String {
    format!("{}*", quoted(word))
}

fn quoted(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// The terms `word` begins, when it should be expanded: more than [`PREFIX_INDEXED`]
/// characters, ASCII (the index's tokenizer folds ASCII exactly as casetrail-core's
/// does, so the word is already in the index's form; other letters stay prefix terms),
/// and beginning at most [`MAX_TERMS`] terms.
fn expand(conn: &Connection, word: &str) -> StoreResult<Option<Vec<String>>> {
    if word.chars().count() <= PREFIX_INDEXED || !word.is_ascii() {
        return Ok(None);
    }
    conn.prepare_cached(VOCABULARY).and_then(|mut st| st.execute([])).map_err(db)?;
    let mut next = conn.prepare_cached(NEXT_TERM).map_err(db)?;
    let last = format!("{word}{LAST_CHAR}");
    let mut terms: Vec<String> = Vec::new();
    // Each step seeks past the previous term: `term` + U+0001 sorts before any longer
    // term it begins (terms hold letters and digits only) and after the term itself.
    let mut from = word.to_string();
    while let Some(term) = next.query_row(params![from, last], |r| r.get::<_, String>(0)).optional().map_err(db)? {
        if !term.starts_with(word) {
            break;
        }
        if terms.len() == MAX_TERMS {
            return Ok(None);
        }
        from = format!("{term}\u{1}");
        terms.push(term);
    }
    Ok(Some(terms))
}
