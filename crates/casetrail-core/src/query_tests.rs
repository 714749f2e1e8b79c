use proptest::prelude::*;

use super::*;

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn parse(pairs: &[(&str, &str)]) -> Result<BrowseQuery, ParamError> {
    BrowseQuery::from_params(&params(pairs), &TimeZone::UTC, &[])
}

#[test]
fn tokenizer_follows_the_contract() {
    assert_eq!(keywords("O'Brien"), ["o", "brien"]);
    assert_eq!(keywords("jane@smithlaw.com"), ["jane", "smithlaw", "com"]);
    assert_eq!(keywords("José MÜLLER"), ["jose", "muller"]);
    assert_eq!(keywords("\"smith\" AND (jones*) -x NEAR( 🚀"), ["smith", "and", "jones", "x", "near"]);
    assert!(keywords("*** -- () 🚀 \" '").is_empty());
    assert_eq!(keywords("東京 case42"), ["東京", "case42"]);
    assert_eq!(keywords("Re: FILE_42.pdf"), ["re", "file", "42", "pdf"]);
}

#[test]
fn a_q_with_no_word_filters_nothing() {
    assert!(parse(&[("q", "\"*-()")]).unwrap().filter.is_empty());
}

#[test]
fn dates_are_days_in_the_account_zone() {
    let ny = TimeZone::get("America/New_York").unwrap();
    let q = BrowseQuery::from_params(&params(&[("from", "2026-11-25"), ("to", "2026-11-25")]), &ny, &[]).unwrap();
    assert_eq!(q.filter.from.unwrap().to_string(), "2026-11-25T05:00:00.000Z");
    assert_eq!(q.filter.to.unwrap().to_string(), "2026-11-26T05:00:00.000Z");
    let q = parse(&[("from", "2026-11-25T10:00:00+01:00"), ("to", "2026-11-25T10:00:00Z")]).unwrap();
    assert_eq!(q.filter.from.unwrap().to_string(), "2026-11-25T09:00:00.000Z");
    assert_eq!(q.filter.to.unwrap().to_string(), "2026-11-25T10:00:00.000Z");
}

#[test]
fn bad_parameters_name_themselves() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("from", "2026-13-01")], "from"),
        (&[("to", "tomorrow")], "to"),
        (&[("activity", "case.opened")], "activity"),
        (&[("limit", "0")], "limit"),
        (&[("limit", "501")], "limit"),
        (&[("limit", "ten")], "limit"),
        (&[("cursor", "bm90IGEgY3Vyc29y")], "cursor"),
        (&[("cursor", "%%%")], "cursor"),
        (&[("colour", "red")], "colour"),
        (&[("from", "2026-11-26"), ("to", "2026-11-25")], "to"),
    ];
    for (pairs, param) in cases {
        assert_eq!(parse(pairs).unwrap_err().param, *param, "{pairs:?}");
    }
}

#[test]
fn categories_expand_and_repeats_combine() {
    let q = parse(&[
        ("activity", "client"),
        ("activity", "case.created"),
        ("actor", "u1"),
        ("actor", "u2"),
        ("limit", "500"),
    ])
    .unwrap();
    let keys: Vec<&str> = q.filter.activities.iter().map(|a| a.key()).collect();
    assert_eq!(keys, ["client.created", "client.updated", "client.merged", "client.contact_changed", "case.created"]);
    assert_eq!(q.filter.actors, ["u1", "u2"]);
    assert_eq!(q.limit, 500);
}

#[test]
fn blank_form_fields_are_absent() {
    let q = parse(&[("from", ""), ("to", " "), ("actor", ""), ("activity", ""), ("q", ""), ("case", "")]).unwrap();
    assert!(q.filter.is_empty());
    assert_eq!(q.limit, DEFAULT_LIMIT);
}

proptest! {
    #[test]
    fn cursors_round_trip(ms in 0i64..=Timestamp::MAX.as_millis(), seq in any::<u64>()) {
        let c = Cursor { occurred_at: Timestamp::from_millis(ms).unwrap(), seq };
        prop_assert_eq!(Cursor::decode(&c.encode()), Some(c));
    }

    #[test]
    fn any_text_tokenizes_into_plain_words(text in any::<String>()) {
        for w in keywords(&text) {
            prop_assert!(!w.is_empty());
            prop_assert!(w.chars().all(char::is_alphanumeric), "{:?}", w);
        }
    }

    #[test]
    fn any_q_is_accepted(text in any::<String>()) {
        prop_assert!(parse(&[("q", &text)]).is_ok());
    }
}

proptest::proptest! {
    /// The ASCII shortcut gives exactly what decomposition gives.
    #[test]
    fn ascii_keywords_match_the_decomposed_route(text in "[ -~\t\n]{0,40}") {
        proptest::prop_assert_eq!(keywords(&text), super::decomposed_keywords(&text));
    }
}

#[test]
fn search_words_are_distinct_and_capped() {
    assert_eq!(search_words("Smith smith SMITH jones"), ["smith", "jones"]);
    let many: Vec<String> = (0..1000).map(|i| format!("w{i}")).collect();
    let words = search_words(&many.join(" "));
    assert_eq!(words.len(), MAX_SEARCH_WORDS);
    assert_eq!(words, many[..MAX_SEARCH_WORDS]);
    let mut across = search_words("a b");
    add_search_words(&mut across, "b c");
    assert_eq!(across, ["a", "b", "c"]);
}

#[test]
fn repeatable_filters_are_capped_with_a_clear_error() {
    let tz = TimeZone::UTC;
    let actors: Vec<(String, String)> =
        (0..=MAX_FILTER_VALUES).map(|i| ("actor".to_string(), format!("u_{i}"))).collect();
    let err = BrowseQuery::from_params(&actors, &tz, &[]).unwrap_err();
    assert_eq!(err.param, "actor");
    assert!(BrowseQuery::from_params(&actors[..MAX_FILTER_VALUES], &tz, &[]).is_ok());
    let same: Vec<(String, String)> = (0..100).map(|_| ("actor".to_string(), "u_1".to_string())).collect();
    assert!(BrowseQuery::from_params(&same, &tz, &[]).is_ok(), "a repeated value counts once");
}
