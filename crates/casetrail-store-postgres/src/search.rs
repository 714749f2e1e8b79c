//! Keyword search on PostgreSQL's `tsvector`, fed by casetrail-core's tokenizer and
//! never by PostgreSQL's text search parser: the words an event is found by, and how a
//! query's words match them, are the same as in every other backend (lowercase, no
//! diacritics, runs of letters and digits, prefix match).
//!
//! An event's words travel as one space-separated string, which the insert turns back
//! into an array with `string_to_array(words, ' ')` and into lexemes with
//! `array_to_tsvector`: our words never hold a space, so that split is the exact
//! inverse of our join and parses nothing. A query becomes `'w1':* & 'w2':*`, cast
//! with `::tsquery` (whose input syntax only unquotes), passed as a bound parameter.

use std::collections::HashSet;

use casetrail_core::Event;
use casetrail_core::query::search_text;

/// PostgreSQL's limit on one lexeme, in bytes. Longer words are cut (at a char
/// boundary) both when indexed and when searched, so a long word is still found by
/// any prefix, and by itself.
pub(crate) const MAX_LEXEME_BYTES: usize = 2047;

/// What one event's lexemes may take together: a `tsvector` holds at most 1 MiB of
/// them. Only hostile events (dozens of 10,000-character names) come near; the words
/// past this stay in the body but are not indexed.
const MAX_EVENT_LEXEME_BYTES: usize = 1_000_000;

/// `word`, cut to [`MAX_LEXEME_BYTES`] at a char boundary.
pub(crate) fn truncate(word: &str) -> &str {
    if word.len() <= MAX_LEXEME_BYTES {
        return word;
    }
    let mut end = MAX_LEXEME_BYTES;
    while !word.is_char_boundary(end) {
        end -= 1;
    }
    &word[..end]
}

/// The event's distinct words, cut to lexeme size, joined by single spaces.
pub(crate) fn lexemes(event: &Event) -> String {
    let text = search_text(event);
    let mut seen = HashSet::new();
    let mut out = String::with_capacity(text.len());
    let mut total = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()).map(truncate) {
        if total + word.len() > MAX_EVENT_LEXEME_BYTES {
            break;
        }
        if seen.insert(word) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
            total += word.len();
        }
    }
    out
}

/// The `tsquery` text that requires every word as a prefix of some lexeme; `None`
/// when there are no words. Each word is quoted (its `'` doubled and `\` escaped,
/// though our words are letters and digits only), so nothing in it is operator syntax.
pub(crate) fn tsquery(words: &[String]) -> Option<String> {
    let mut seen = HashSet::new();
    let terms: Vec<String> = words
        .iter()
        .map(|w| truncate(w))
        .filter(|w| !w.is_empty() && seen.insert(*w))
        .map(|w| format!("'{}':*", w.replace('\\', "\\\\").replace('\'', "''")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" & "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_words_are_cut_at_a_char_boundary() {
        let word = "é".repeat(1500);
        let cut = truncate(&word);
        assert_eq!(cut.len(), 2046, "1023 two-byte chars fit under 2047 bytes");
        assert!(word.starts_with(cut));
        assert_eq!(truncate("short"), "short");
    }

    #[test]
    fn queries_quote_every_word_and_drop_repeats() {
        let words = ["smi".to_string(), "jo'n".to_string(), "smi".to_string(), "a\\b".to_string()];
        assert_eq!(tsquery(&words).as_deref(), Some(r"'smi':* & 'jo''n':* & 'a\\b':*"));
        assert_eq!(tsquery(&[]), None);
    }
}
