//! One server against two on one PostgreSQL database: the same batches from the same
//! clients, through one `casetrail serve` child or two, each run on a fresh schema.
//! Runs alternate 1, 2, 1, 2, first with every client on one account (the chain head
//! of that account serializes every commit, whichever server makes it), then with the
//! clients spread over several accounts (commits of different accounts may run at
//! once). Each run also says where the CPU time went ([`crate::cpu`]): if one server
//! already keeps every core busy, a second one has nothing to run on.

use casetrail_app::provision::create_account;
use casetrail_store_postgres::PostgresStore;

use crate::child::ServerDir;
use crate::cpu::{CpuClock, CpuUse};
use crate::ingest::{self, Body, IngestResult};
use crate::report::int;
use crate::server;

/// Clients of the comparison, split evenly over the servers and over the accounts.
pub const SPREAD_CLIENTS: usize = 8;
/// Accounts of the second series of runs.
pub const SPREAD_ACCOUNTS: usize = 4;
/// Events of the comparison, per run: a fifth of N, at most this many.
pub const SPREAD_MAX_EVENTS: usize = 200_000;

/// One run's figures.
#[derive(Debug)]
pub struct Spread {
    pub servers: usize,
    pub accounts: usize,
    pub result: IngestResult,
    pub cpu: CpuUse,
}

/// The same batches through `servers` children on a fresh schema, client `i` sending
/// with the ingest key of account `i % accounts`.
async fn spread_run(
    url: &str,
    tmp: &std::path::Path,
    data: &crate::data::Dataset,
    bodies: Vec<Body>,
    servers: usize,
    accounts: usize,
) -> anyhow::Result<Spread> {
    let store = PostgresStore::open_temporary(url).await?;
    let mut keys = Vec::new();
    for i in 0..accounts {
        let (name, email) = (format!("{} {}", data.firm.name, i + 1), format!("bench-admin-{}@example.com", i + 1));
        keys.push(create_account(&store, &name, &email, "Bench Admin").await?.ingest_key);
    }
    let dir = ServerDir::postgres(tmp, &format!("pg-spread-{servers}-{accounts}"), store.url())?;
    let children: Vec<_> = (0..servers).map(|_| server::start(&dir, None)).collect::<anyhow::Result<_>>()?;
    let bases: Vec<String> = children.iter().map(|c| c.base.clone()).collect();
    let pids: Vec<u32> = children.iter().map(|c| c.pid()).collect();
    let clock = CpuClock::read(&pids);
    let result = ingest::http_spread(&server::http_client()?, &bases, &keys, bodies, SPREAD_CLIENTS).await?;
    let cpu = clock.since(&pids);
    for child in children {
        server::stop(child)?;
    }
    Ok(Spread { servers, accounts, result, cpu })
}

/// Every run of the comparison, one account first.
pub async fn compare(
    url: &str,
    tmp: &std::path::Path,
    data: &crate::data::Dataset,
    bodies: &[Body],
) -> anyhow::Result<Vec<Spread>> {
    let mut spreads = Vec::new();
    for accounts in [1, SPREAD_ACCOUNTS] {
        for servers in [1, 2, 1, 2] {
            let spread = spread_run(url, tmp, data, bodies.to_vec(), servers, accounts).await?;
            let (srv, pg, bench) = spread.cpu.per_thousand(spread.result.events);
            eprintln!(
                "  {servers} server(s), {accounts} account(s): {} events/s, machine {:.0} % busy, CPU ms per 1000 \
                 events: servers {srv:.0}, PostgreSQL {pg:.0}, clients {bench:.0}",
                int(spread.result.eps()),
                spread.cpu.machine_busy * 100.0
            );
            spreads.push(spread);
        }
    }
    Ok(spreads)
}

/// The batches of the comparison: the first fifth of N, at most [`SPREAD_MAX_EVENTS`].
pub fn batches(all: &[Body], count: usize) -> Vec<Body> {
    let limit = (count / 5).clamp(crate::BATCH, SPREAD_MAX_EVENTS);
    let mut taken = 0;
    all.iter()
        .take_while(|b| {
            taken += b.events;
            taken <= limit
        })
        .cloned()
        .collect()
}

/// The comparison's table, and its figures into `summary`.
pub fn markdown(spreads: &[Spread], summary: &mut serde_json::Map<String, serde_json::Value>) -> String {
    use std::fmt::Write as _;

    use crate::report::{ms, ratio};

    let events = spreads.first().map_or(0, |r| r.result.events);
    let mut s = format!(
        "**One server against two** — the same {} events in batches of 1000 from {SPREAD_CLIENTS} clients, \
         through one `casetrail serve` child or two on the same database (clients split evenly), each run on a \
         fresh schema; runs alternate 1, 2, 1, 2, first with every client on one account, then with client `i` \
         on account `i % {SPREAD_ACCOUNTS}`. CPU: seconds charged to each kind of process during the run (from \
         `/proc`), per 1000 events; the machine's share is of all its cores.\n\n",
        int(events as f64)
    );
    s += "| accounts | servers | run | events/s | p50 ms | p99 ms | machine busy | CPU ms/1000: servers | PostgreSQL | \
          clients |\n|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
    for (i, r) in spreads.iter().enumerate() {
        let x = &r.result;
        let (srv, pg, bench) = r.cpu.per_thousand(x.events);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {:.0} % of {} cores | {srv:.0} | {pg:.0} | {bench:.0} |",
            r.accounts,
            r.servers,
            i + 1,
            int(x.eps()),
            ms(x.latencies.p50()),
            ms(x.latencies.p99()),
            r.cpu.machine_busy * 100.0,
            r.cpu.cores,
        );
    }
    let of = |servers: usize, accounts: usize| {
        crate::pg_report::median(
            &mut spreads
                .iter()
                .filter(|r| r.servers == servers && r.accounts == accounts)
                .map(|r| r.result.eps())
                .collect::<Vec<_>>(),
        )
    };
    for accounts in [1, SPREAD_ACCOUNTS] {
        let (one, two) = (of(1, accounts), of(2, accounts));
        let _ = writeln!(
            s,
            "\nMedian, {accounts} account(s): one server {} events/s, two servers {} events/s — two / one: {}",
            one.map_or("–".to_string(), int),
            two.map_or("–".to_string(), int),
            ratio(two, one)
        );
        if accounts == 1 {
            summary.insert("one_server_eps".into(), serde_json::json!(one));
            summary.insert("two_servers_eps".into(), serde_json::json!(two));
            summary.insert("two_servers_ratio".into(), serde_json::json!(two.zip(one).map(|(t, o)| t / o)));
        } else {
            summary.insert("one_server_eps_accounts".into(), serde_json::json!(one));
            summary.insert("two_servers_eps_accounts".into(), serde_json::json!(two));
            summary.insert("two_servers_ratio_accounts".into(), serde_json::json!(two.zip(one).map(|(t, o)| t / o)));
        }
    }
    s
}
