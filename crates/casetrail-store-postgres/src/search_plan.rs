//! How a keyword search that the probe could not answer finds its page: by walking
//! the log newest first with the words as a filter, or through the GIN index on the
//! rarest word. The choice is a cost estimate, made before either runs, from what
//! the probe saw and from the planner's estimate of each word's matches.
//!
//! Why not count matches through the GIN index first (what this replaced): a GIN
//! scan cannot stop early and a count must visit every match in the heap, so at 1M
//! events counting a word on 1 % of them took 27 ms warm and 95 ms from the OS cache
//! (12,000 heap blocks), and a bitmap of three common words ANDed took 280 ms before
//! the heap was touched. The planner's estimate costs one planning (~0.3 ms a word)
//! and is exact enough for one word (11,664 estimated against 12,008 for that 1 %
//! word). Estimates of several words ANDed assume they are independent and are
//! wrong by 20× for words of one phrase, so each word is estimated alone and the GIN
//! scan uses only the rarest; the others are a filter on the rows it finds.
//!
//! Measured per unit on 1M events (PostgreSQL 15, 128 MB shared buffers): a walk
//! costs about 0.8 µs a row warm and 2 µs from the OS cache; a GIN fetch about 1.5 µs
//! a match warm (bitmap and heap) and 8 µs cold. [`GIN_TO_WALK`] is their ratio.

use crate::db::Db;
use casetrail_store::{StoreError, StoreResult};

/// One GIN match costs about this many walked rows.
const GIN_TO_WALK: f64 = 3.0;

/// The plan for a search the probe did not answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Choice {
    /// Walk newest first with the words as a filter until the page is full.
    Walk,
    /// Fetch every match of the rarest word (index into the words) through the GIN
    /// index, filter by the rest, sort.
    Rarest(usize),
}

/// A word expected on at most this many of the account's events is fetched through
/// the GIN index before any walk: at ~1.5 µs a match that is under a millisecond,
/// less than the probe alone (2000 rows, 1.6 ms warm, 4 ms cold).
const RARE_ENOUGH_MATCHES: f64 = 500.0;

/// The rarest word, when it is rare enough to skip the probe (see
/// [`RARE_ENOUGH_MATCHES`]).
pub(crate) fn rare_enough(estimates: &[f64]) -> Option<usize> {
    let (i, matches) = estimates.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1))?;
    (*matches <= RARE_ENOUGH_MATCHES).then_some(i)
}

/// What the probe saw: `matched` of `walked` candidates (the newest) matched; the page
/// needs `wanted` rows. `estimates` are the matches the planner expects of each word
/// alone in the account.
pub(crate) fn choose(wanted: usize, matched: usize, walked: usize, estimates: &[f64]) -> Choice {
    // Rows a walk reads to fill the page, at the density the probe saw (half a match
    // when it saw none: the density is below one in `walked`, not zero).
    let density = (matched as f64).max(0.5) / walked.max(1) as f64;
    let walk_rows = wanted as f64 / density;
    let rarest = estimates.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1));
    match rarest {
        Some((i, matches)) if matches * GIN_TO_WALK < walk_rows => Choice::Rarest(i),
        _ => Choice::Walk,
    }
}

/// The planner's estimate of the account's events matching `tsquery` (one word):
/// the row count of the plan's top node, as `EXPLAIN` prints it. Planned for these
/// parameters (an unnamed statement), from the statistics of the last `ANALYZE`.
pub(crate) async fn estimated_matches(db: Db<'_>, pk: i64, tsquery: &str) -> StoreResult<f64> {
    let sql = "EXPLAIN SELECT 1 FROM events WHERE acct = $1 AND search @@ $2::text::tsquery";
    let rows = db.query_planned(sql, &[&pk, &tsquery]).await?;
    let first: String = rows
        .first()
        .ok_or_else(|| StoreError::Corrupt("EXPLAIN answered no line".into()))?
        .try_get(0)
        .map_err(|e| StoreError::Corrupt(format!("EXPLAIN answered no text: {e}")))?;
    plan_rows(&first).ok_or_else(|| StoreError::Corrupt(format!("EXPLAIN line without rows=: {first}")))
}

/// The `rows=` of an `EXPLAIN` line such as `Bitmap Heap Scan on events
/// (cost=2046.40..37854.28 rows=11664 width=0)`.
fn plan_rows(line: &str) -> Option<f64> {
    let after = &line[line.find("rows=")? + 5..];
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_estimate_is_read_from_an_explain_line() {
        let line = "Bitmap Heap Scan on events  (cost=2046.40..37854.28 rows=11664 width=0)";
        assert_eq!(plan_rows(line), Some(11664.0));
        assert_eq!(plan_rows("Seq Scan on events  (cost=0.00..1.01 rows=1 width=4)"), Some(1.0));
        assert_eq!(plan_rows("Result  (cost=0.00..0.01 width=4)"), None);
    }

    #[test]
    fn a_word_on_one_event_in_a_hundred_is_walked() {
        // 20 of 2000 newest match: the page of 51 needs ~5,100 rows walked, against
        // ~12,000 GIN matches (36,000 walked rows' worth).
        assert_eq!(choose(51, 20, 2000, &[12_000.0]), Choice::Walk);
    }

    #[test]
    fn a_rare_word_goes_through_the_index() {
        assert_eq!(choose(51, 0, 2000, &[100.0]), Choice::Rarest(0));
        assert_eq!(choose(51, 2, 2000, &[1_500.0]), Choice::Rarest(0));
    }

    #[test]
    fn the_index_scans_the_rarest_word_only() {
        // "updated address hartley": two template words and a rarer name.
        assert_eq!(choose(51, 0, 2000, &[300_000.0, 200_000.0, 4_000.0]), Choice::Rarest(2));
    }

    #[test]
    fn when_every_word_is_common_but_the_probe_saw_none_the_cheaper_guess_wins() {
        // Three words on 30 % of events each, never together in the newest 2000:
        // 204,000 rows to walk at the density bound, 900,000 worth through the index.
        assert_eq!(choose(51, 0, 2000, &[300_000.0, 310_000.0, 400_000.0]), Choice::Walk);
    }

    #[test]
    fn a_word_on_a_few_hundred_events_skips_the_probe() {
        assert_eq!(rare_enough(&[12_000.0, 300.0]), Some(1));
        assert_eq!(rare_enough(&[12_000.0, 501.0]), None);
        assert_eq!(rare_enough(&[]), None);
    }

    #[test]
    fn no_estimates_means_a_walk() {
        assert_eq!(choose(51, 0, 2000, &[]), Choice::Walk);
    }
}
