//! Search over more events than the probe walks, so that each of the store's plans
//! answers some query (see `src/page.rs`): a dense word fills its page in the probe;
//! a rare word is fetched through the GIN index (with other filters applied inside);
//! a common word absent from the newest events falls back to the long walk. Every
//! plan must give exactly the events, in exactly the order, that the filters select.

mod support;

use casetrail_core::Timestamp;
use casetrail_store::testing::support::{append, assert_newest_first, new_account, new_event};
use casetrail_store::testing::walk;
use serde_json::json;

const EVENTS: usize = 6_000;

/// Event `n` (seq `n + 1`): its second after the base, shuffled, two events per second.
fn second_of(n: usize) -> usize {
    (n * 7919) % EVENTS / 2
}

struct Fixture {
    n: usize,
    at: Timestamp,
}

impl Fixture {
    fn dense(&self) -> bool {
        self.n.is_multiple_of(3)
    }
    fn rare(&self) -> bool {
        self.n.is_multiple_of(150)
    }
    /// Seven events, so sparse that even a page of two needs the GIN fetch, cursor
    /// and all.
    fn sparse(&self) -> bool {
        self.n.is_multiple_of(997)
    }
    /// Only the oldest 4000 events: none of the newest 2000 the probe walks.
    fn old(&self) -> bool {
        second_of(self.n) < 2_000
    }
    fn actor(&self) -> String {
        format!("u_{}", self.n % 5)
    }
    fn case(&self) -> String {
        format!("c_{}", self.n % 2)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_search_plan_pages_exactly_the_matching_events() {
    let store = support::fresh().await;
    let account = new_account(&store, "Plans LLP").await;
    let base = Timestamp::parse("2026-04-01T00:00:00Z").unwrap();
    let fixtures: Vec<Fixture> =
        (0..EVENTS).map(|n| Fixture { n, at: base.plus_millis(second_of(n) as i64 * 1000) }).collect();
    for chunk in fixtures.chunks(1000) {
        let events = chunk
            .iter()
            .map(|f| {
                let mut text = format!("entry {}", f.n);
                for (on, word) in [(f.dense(), "dense"), (f.rare(), "rare"), (f.old(), "old"), (f.sparse(), "sparse")] {
                    if on {
                        text += &format!(" {word}");
                    }
                }
                new_event(json!({
                    "occurred_at": f.at.to_string(),
                    "actor": {"id": f.actor(), "name": "Plan Person"},
                    "activity": if f.n % 2 == 0 { "case.updated" } else { "client.updated" },
                    "description": text,
                    "related": [{"type": "case", "id": f.case(), "name": "Plan Matter"}],
                }))
            })
            .collect();
        append(&store, account, events).await;
    }
    assert_eq!(fixtures.iter().filter(|f| f.rare()).count(), 40);
    assert_eq!(fixtures.iter().filter(|f| f.old()).count(), 4_000);

    let from = base.plus_millis(500 * 1000).to_string();
    let to = base.plus_millis(2_500 * 1000).to_string();
    type Case<'a> = (Vec<(&'a str, &'a str)>, Box<dyn Fn(&Fixture) -> bool>);
    let cases: Vec<Case> = vec![
        (vec![("q", "dense")], Box::new(|f| f.dense())),
        (vec![("q", "rare")], Box::new(|f| f.rare())),
        (vec![("q", "old")], Box::new(|f| f.old())),
        (vec![("q", "old rare")], Box::new(|f| f.old() && f.rare())),
        (vec![("q", "rare"), ("actor", "u_0"), ("actor", "u_1")], Box::new(|f| f.rare() && f.n % 5 < 2)),
        (vec![("q", "rare"), ("case", "c_0")], Box::new(|f| f.rare() && f.n % 2 == 0)),
        (vec![("q", "old"), ("case", "c_1")], Box::new(|f| f.old() && f.n % 2 == 1)),
        (vec![("q", "old"), ("from", &from), ("to", &to)], {
            let (lo, hi) = (500, 2_500);
            Box::new(move |f| f.old() && (lo..hi).contains(&second_of(f.n)))
        }),
        (
            vec![("q", "dense"), ("activity", "client.updated"), ("actor", "u_3")],
            Box::new(|f| f.dense() && f.n % 2 == 1 && f.n % 5 == 3),
        ),
        (vec![("q", "ent")], Box::new(|_| true)),
        (vec![("q", "nothing")], Box::new(|_| false)),
        (vec![("q", "sparse")], Box::new(|f| f.sparse())),
    ];
    for (pairs, keep) in cases {
        let mut expected: Vec<(Timestamp, u64)> =
            fixtures.iter().filter(|f| keep(f)).map(|f| (f.at, f.n as u64 + 1)).collect();
        expected.sort_by(|a, b| b.cmp(a));
        let expected: Vec<u64> = expected.into_iter().map(|k| k.1).collect();
        let limits: &[u32] = if pairs == [("q", "sparse")] { &[50, 2] } else { &[50, 7] };
        for &limit in limits {
            let walked = walk(&store, account, &pairs, limit).await;
            let got: Vec<u64> = walked.iter().map(|e| e.seq).collect();
            assert_eq!(got.len(), expected.len(), "{pairs:?}, pages of {limit}");
            assert_eq!(got, expected, "{pairs:?}, pages of {limit}");
            assert_newest_first(&walked);
        }
    }
}
