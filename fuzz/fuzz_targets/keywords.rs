//! The keyword tokenizer (`casetrail_core::query::keywords`), which both the index and
//! every `q` go through, so the two must agree on any text.
//!
//! Properties, beyond not panicking:
//! - every word is a non-empty run of lowercase letters and digits with no combining
//!   marks (so no input is query syntax for a store);
//! - tokenizing is idempotent: the words joined by spaces tokenize to the same words
//!   (what the index stores and what a search asks for are tokenized alike);
//! - the ASCII fast route gives what the general route gives;
//! - tokenizing splits at separators: two texts joined by a space give the words of
//!   the first, then those of the second;
//! - `search_words` keeps the first 16 distinct words, in order.
#![no_main]

use casetrail_core::query::{MAX_SEARCH_WORDS, keywords, search_words};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let words = keywords(text);
    for word in &words {
        assert!(!word.is_empty());
        assert!(word.chars().all(char::is_alphanumeric), "{word:?} from {text:?}");
        assert_eq!(word.chars().flat_map(char::to_lowercase).collect::<String>(), *word, "{word:?} is not lowercase");
    }
    assert_eq!(keywords(&words.join(" ")), words, "tokenizing {text:?} twice gives other words");

    if text.is_ascii() {
        // U+00A0 separates like a space but takes the general route.
        assert_eq!(keywords(&format!("{text}\u{a0}")), words, "the ASCII route differs");
    }

    let mid = (0..=text.len() / 2).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    let (first, second) = text.split_at(mid);
    let mut joined = keywords(first);
    joined.extend(keywords(second));
    assert_eq!(keywords(&format!("{first} {second}")), joined);

    let mut distinct: Vec<String> = Vec::new();
    for word in &words {
        if distinct.len() < MAX_SEARCH_WORDS && !distinct.contains(word) {
            distinct.push(word.clone());
        }
    }
    assert_eq!(search_words(text), distinct);
});
