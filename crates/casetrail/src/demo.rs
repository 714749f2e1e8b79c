//! `serve --demo`: fills an empty store with the demo firm and says how to sign in.

use anyhow::Context as _;
use casetrail_app::provision;
use casetrail_core::Timestamp;
use casetrail_core::validate::{IngestRules, parse_ingest};
use casetrail_demo::{DEFAULT_SEED, EventGenerator, firm, ingest_batches};
use casetrail_store::{AccountChange, AppendBatch, ProfileUpdate, Role, Store, unrecorded};

/// Every demo user signs in with this password; the demo is for trying, not for data.
pub const DEMO_PASSWORD: &str = "casetrail-demo-2026";
/// About six weeks of a small firm's activity.
const DEMO_EVENTS: usize = 6_000;
const DEMO_DAYS: u32 = 42;

pub async fn load_if_empty(store: &dyn Store, url: &str) -> anyhow::Result<()> {
    if !store.accounts().await?.is_empty() {
        println!("casetrail demo: the store already holds data; serving it as it is at {url}");
        return Ok(());
    }
    let firm = firm(DEFAULT_SEED);
    let admin = firm.staff.iter().find(|s| s.admin).context("the demo firm has no admin")?;
    // The provisioned admin gets the demo password too, so one line explains sign-in.
    let password = DEMO_PASSWORD.to_string();
    let p = provision::create_account_with_password(store, &firm.name, &admin.email, &admin.name, password).await?;
    let zone = casetrail_core::Zone::parse(&firm.timezone).context("the demo firm's time zone")?;
    let zone = ProfileUpdate { timezone: Some(zone), ..Default::default() };
    let account = store.change_account(p.account.id, AccountChange::Profile(zone), unrecorded()).await?.value.after;
    for staff in firm.staff.iter().filter(|s| s.email != admin.email) {
        let role = if staff.admin { Role::Admin } else { Role::Member };
        provision::create_user(store, &account, &staff.email, &staff.name, role, DEMO_PASSWORD).await?;
    }

    let now = Timestamp::now();
    let rules = IngestRules { now: now.plus_millis(60_000), window_start: None, allow_reserved: false };
    let events = EventGenerator::recent(&firm, DEFAULT_SEED, DEMO_EVENTS, now.to_jiff(), DEMO_DAYS);
    for body in ingest_batches(events, 1000) {
        let events = parse_ingest(&body, &rules).map_err(|e| anyhow::anyhow!("demo events are invalid: {e:?}"))?;
        store.append(vec![AppendBatch { account_id: account.id, events }]).await?;
    }
    let member = firm.staff.iter().find(|s| !s.admin).context("the demo firm has no member")?;
    println!("casetrail demo: loaded {DEMO_EVENTS} events of {} over {DEMO_DAYS} days", firm.name);
    println!("  open       {url}/login");
    println!("  admin      {} / {DEMO_PASSWORD}", admin.email);
    println!("  member     {} / {DEMO_PASSWORD}  (sees the Admins-only page)", member.email);
    println!("  ingest key {}", p.ingest_key);
    println!("  admin key  {}", p.admin_key);
    Ok(())
}
