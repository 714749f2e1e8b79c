//! Browse, filter and search: which requests are made, and running them through HTTP,
//! through the store, and on the raw engine.
//!
//! Every kind of query gets its own list of parameter sets, varied across requests
//! (other actors, cases, weeks, words) so that no cache makes it trivial; the same lists
//! go to every engine, so the figures compare like with like.

use std::sync::Arc;
use std::time::{Duration, Instant};

use casetrail_core::query::{BrowseQuery, Cursor};
use casetrail_store::{AccountId, Store};
use serde_json::Value;

use crate::data::{Dataset, Rng, SearchWords};
use crate::raw::RawReader;
use crate::stats::Samples;

pub type Params = Vec<(String, String)>;

/// The page deep paging goes to.
pub const DEEP_PAGE: usize = 100;
/// Requests per kind made before timing starts (statement caches, first reads).
const WARMUP: usize = 3;

/// One kind of query and the parameters of each of its requests.
#[derive(Debug, Clone)]
pub struct Kind {
    pub name: String,
    pub params: Vec<Params>,
}

/// Everything a query run asks.
#[derive(Debug, Clone)]
pub struct Plan {
    pub kinds: Vec<Kind>,
    /// The filters deep paging walks, each to page [`DEEP_PAGE`].
    pub deep_variants: Vec<Params>,
    /// Timed page-100 requests, cycling over the variants.
    pub deep_requests: usize,
    /// How long one kind may take on one engine: slow kinds stop early (after at least
    /// [`MIN_TIMED`] requests), so a run at 1M stays within the hour. The report shows
    /// how many requests each figure rests on.
    pub budget: Duration,
}

/// Timed requests a kind always gets, whatever the budget.
const MIN_TIMED: usize = 20;

fn p(pairs: &[(&str, &str)]) -> Params {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn plan(data: &Dataset, words: &SearchWords, requests: usize, budget: Duration, rng: &mut Rng) -> Plan {
    let actors = data.actor_ids();
    let cases = data.case_ids();
    let clients = data.client_ids();
    let days = data.days();
    let categories = ["case", "client", "communication", "team", "settings"];
    let types: Vec<&str> = casetrail_demo::activity_mix().map(|(key, ..)| key).collect();
    let week = |rng: &mut Rng| {
        let i = rng.below(days.len().saturating_sub(7).max(1));
        (days[i].clone(), days[(i + 6).min(days.len() - 1)].clone())
    };
    let common: Vec<&str> = words.common.iter().map(|(w, _)| w.as_str()).collect();
    let rare: Vec<&str> = words.rare.iter().map(|(w, _)| w.as_str()).collect();

    let mut kinds = Vec::new();
    let mut kind = |name: &str, rng: &mut Rng, make: &dyn Fn(&mut Rng, usize) -> Params| {
        let params = (0..requests + WARMUP).map(|i| make(rng, i)).collect();
        kinds.push(Kind { name: name.to_string(), params });
    };
    kind("newest page", rng, &|_, _| Vec::new());
    kind("date range (a week)", rng, &|rng, _| {
        let (from, to) = week(rng);
        p(&[("from", &from), ("to", &to)])
    });
    kind("actor", rng, &|rng, _| p(&[("actor", rng.pick(&actors))]));
    kind("activity type", rng, &|rng, _| p(&[("activity", rng.pick(&types))]));
    kind("category", rng, &|rng, _| p(&[("activity", rng.pick(&categories))]));
    kind("case", rng, &|rng, _| p(&[("case", rng.pick(&cases))]));
    kind("client", rng, &|rng, _| p(&[("client", rng.pick(&clients))]));
    kind("category + actor + week", rng, &|rng, _| {
        let (from, to) = week(rng);
        p(&[("activity", rng.pick(&categories)), ("actor", rng.pick(&actors)), ("from", &from), ("to", &to)])
    });
    kind("client + category communication", rng, &|rng, _| {
        p(&[("client", rng.pick(&clients)), ("activity", "communication")])
    });
    if !common.is_empty() {
        kind("keyword (~1 %) + actor", rng, &|rng, i| {
            p(&[("q", common[i % common.len()]), ("actor", rng.pick(&actors))])
        });
        kind("keyword, common (~1 %)", rng, &|_, i| p(&[("q", common[i % common.len()])]));
    }
    if !rare.is_empty() {
        kind("keyword, rare", rng, &|_, i| p(&[("q", rare[i % rare.len()])]));
    }
    if !words.phrases.is_empty() {
        kind("keywords, 3 words", rng, &|_, i| p(&[("q", &words.phrases[i % words.phrases.len()])]));
    }

    let mut deep_variants = vec![Vec::new()];
    deep_variants.extend(actors.iter().map(|a| p(&[("actor", a)])));
    deep_variants.extend(["case", "client", "communication"].iter().map(|c| p(&[("activity", c)])));
    Plan { kinds, deep_variants, deep_requests: requests, budget }
}

/// What one kind of query measured.
#[derive(Debug, Clone, Default)]
pub struct Timing {
    pub name: String,
    pub samples: Samples,
    pub rows: Vec<usize>,
    /// For deep paging: the page actually timed (lower than 100 when the data runs out).
    pub page: Option<usize>,
}

/// Something that answers pages: the HTTP API, the store, the raw engine.
pub(crate) trait Pager {
    /// Fetches one page; answers the time the fetch took, the rows and the next cursor.
    async fn fetch(
        &mut self,
        params: &Params,
        cursor: Option<&str>,
    ) -> anyhow::Result<(Duration, usize, Option<String>)>;
}

/// Runs the whole plan: every kind, then deep paging.
pub(crate) async fn run<P: Pager>(pager: &mut P, plan: &Plan) -> anyhow::Result<Vec<Timing>> {
    let mut out = Vec::new();
    for kind in &plan.kinds {
        let mut t = Timing { name: kind.name.clone(), ..Timing::default() };
        let started = Instant::now();
        for (i, params) in kind.params.iter().enumerate() {
            let (took, rows, _) = pager.fetch(params, None).await?;
            if i >= WARMUP {
                t.samples.push(took);
                t.rows.push(rows);
            }
            if t.samples.len() >= MIN_TIMED && started.elapsed() > plan.budget {
                break;
            }
        }
        out.push(t);
    }

    // Deep paging: walk each variant to the page before DEEP_PAGE, keep that cursor,
    // then time the request for page DEEP_PAGE again and again, cycling the variants.
    // Variants whose data ends sooner are walked but not timed, unless none reaches it.
    let mut walks: Vec<(Duration, usize, Option<String>, usize)> = Vec::new();
    for params in &plan.deep_variants {
        let (mut cursor, mut before_last, mut page, mut total) = (None, None, 0, Duration::ZERO);
        let mut rows = 0;
        while page < DEEP_PAGE {
            let (took, n, next) = pager.fetch(params, cursor.as_deref()).await?;
            page += 1;
            total += took;
            rows += n;
            before_last = cursor.take();
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        walks.push((total, rows, before_last, page));
    }
    let reached = walks.iter().map(|w| w.3).max().unwrap_or(0);
    let deepest: Vec<usize> = (0..walks.len()).filter(|v| walks[*v].3 == reached).collect();
    let page = Some(reached);
    let mut walk = Timing { name: format!("walk pages 1–{DEEP_PAGE} (total)"), page, ..Timing::default() };
    for v in &deepest {
        walk.samples.push(walks[*v].0);
        walk.rows.push(walks[*v].1);
    }
    let mut deep = Timing { name: format!("deep page {DEEP_PAGE} (cursor)"), page, ..Timing::default() };
    let started = Instant::now();
    for i in 0..plan.deep_requests {
        let v = deepest[i % deepest.len()];
        let (took, rows, _) = pager.fetch(&plan.deep_variants[v], walks[v].2.as_deref()).await?;
        deep.samples.push(took);
        deep.rows.push(rows);
        if deep.samples.len() >= MIN_TIMED && started.elapsed() > plan.budget {
            break;
        }
    }
    out.push(deep);
    out.push(walk);
    Ok(out)
}

fn with_cursor(params: &Params, cursor: Option<&str>) -> Params {
    let mut all = params.clone();
    if let Some(c) = cursor {
        all.push(("cursor".to_string(), c.to_string()));
    }
    all
}

fn browse_query(params: &Params, cursor: Option<&str>) -> anyhow::Result<BrowseQuery> {
    BrowseQuery::from_params(&with_cursor(params, cursor), &jiff::tz::TimeZone::UTC, &[])
        .map_err(|e| anyhow::anyhow!("bench made a bad query: {e}"))
}

/// `GET /api/v1/events` with the admin key; the time covers the whole answer body.
#[derive(Debug)]
pub struct Http {
    pub client: reqwest::Client,
    pub base: String,
    pub key: String,
}

impl Pager for Http {
    async fn fetch(
        &mut self,
        params: &Params,
        cursor: Option<&str>,
    ) -> anyhow::Result<(Duration, usize, Option<String>)> {
        let url =
            reqwest::Url::parse_with_params(&format!("{}/api/v1/events", self.base), with_cursor(params, cursor))?;
        let started = Instant::now();
        let response = self.client.get(url).bearer_auth(&self.key).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        let took = started.elapsed();
        if status != 200 {
            anyhow::bail!("browse answered {status}: {}", String::from_utf8_lossy(&body[..body.len().min(500)]));
        }
        let page: Value = serde_json::from_slice(&body)?;
        let rows = page["events"].as_array().map_or(0, Vec::len);
        Ok((took, rows, page["next_cursor"].as_str().map(str::to_string)))
    }
}

/// `Store::events` directly: casetrail without HTTP.
#[derive(Debug)]
pub struct Direct {
    pub store: Arc<dyn Store>,
    pub account: AccountId,
}

impl Pager for Direct {
    async fn fetch(
        &mut self,
        params: &Params,
        cursor: Option<&str>,
    ) -> anyhow::Result<(Duration, usize, Option<String>)> {
        let query = browse_query(params, cursor)?;
        let started = Instant::now();
        let page = self.store.events(self.account, &query).await?;
        Ok((started.elapsed(), page.events.len(), page.next_cursor.map(|c| c.encode())))
    }
}

/// The same statement on the raw engine.
#[derive(Debug)]
pub struct Raw(pub RawReader);

impl Pager for Raw {
    async fn fetch(
        &mut self,
        params: &Params,
        cursor: Option<&str>,
    ) -> anyhow::Result<(Duration, usize, Option<String>)> {
        let query = browse_query(params, cursor)?;
        let started = Instant::now();
        let (rows, next) = self.0.page(&query)?;
        Ok((started.elapsed(), rows, next.map(|c: Cursor| c.encode())))
    }
}

/// The same statements on the raw PostgreSQL engine.
#[derive(Debug)]
pub struct RawPgPager<'a>(pub &'a crate::raw_pg::RawPg);

impl Pager for RawPgPager<'_> {
    async fn fetch(
        &mut self,
        params: &Params,
        cursor: Option<&str>,
    ) -> anyhow::Result<(Duration, usize, Option<String>)> {
        let query = browse_query(params, cursor)?;
        let started = Instant::now();
        let (rows, next) = self.0.page(&query).await?;
        Ok((started.elapsed(), rows, next.map(|c: Cursor| c.encode())))
    }
}
