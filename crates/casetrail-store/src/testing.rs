//! The store conformance suite: what every [`Store`](crate::Store) backend must do,
//! as generic async test bodies, stamped out for a backend by [`store_conformance!`](crate::store_conformance).
//!
//! Each test takes a fresh, empty store and checks actual values against the contract
//! of `API.md` (§4 ingest, §5 reading, §7 chain): gapless seqs and hash links, group
//! commit, idempotency (also under concurrency), every browse filter, keyword search
//! semantics and hostile input, keyset pagination (also while appending), tenant
//! isolation, accounts, users, keys, sessions, and the filter pickers.
//!
//! A backend runs the whole suite from one test file, say `tests/conformance.rs`:
//!
//! ```ignore
//! casetrail_store::store_conformance!(async { my_backend::open_temporary().await });
//! ```
//!
//! The expression is evaluated once per test and must produce a future of an
//! `Arc<dyn Store>` (or of an `Arc` of the concrete store). The backend crate needs
//! `tokio` (features `macros`, `rt-multi-thread`) among its dev-dependencies.
//!
//! Events are built with the real ingest parser ([`support::new_event`]), so they are
//! what a host could send.

use std::future::Future;
use std::time::Duration;

pub mod support;

mod accounts;
mod chain;
mod credentials;
mod filters;
mod idempotency;
mod paging;
mod pickers;
mod search;
mod tenancy;

pub use accounts::*;
pub use chain::*;
pub use credentials::*;
pub use filters::*;
pub use idempotency::*;
pub use paging::*;
pub use pickers::*;
pub use search::*;
pub use tenancy::*;

/// How long one conformance test may take before it counts as hung (a deadlocked
/// writer, a lost wake-up).
pub const TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs one test body under [`TEST_TIMEOUT`], failing with its name when it hangs.
pub async fn run(name: &str, test: impl Future<Output = ()>) {
    if tokio::time::timeout(TEST_TIMEOUT, test).await.is_err() {
        panic!("conformance test {name} did not finish within {TEST_TIMEOUT:?}");
    }
}

/// Stamps out the whole conformance suite for one backend: one
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per test body of
/// [`testing`](crate::testing), each on a fresh store from the given expression.
///
/// ```ignore
/// casetrail_store::store_conformance!(async { SqliteStore::open_temporary().await });
/// ```
///
/// This is the one list of the suite's tests: a new test body is added here.
#[macro_export]
macro_rules! store_conformance {
    (@each $open:expr; $($test:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let store: ::std::sync::Arc<dyn $crate::Store> = $open.await;
                $crate::testing::run(::std::stringify!($test), $crate::testing::$test(store)).await;
            }
        )+
    };
    ($open:expr $(,)?) => {
        $crate::store_conformance!(@each $open;
            // appends and the chain
            append_assigns_gapless_seqs_from_one,
            append_links_hashes_into_a_chain,
            append_stores_the_event_as_sent,
            chain_pages_by_seq,
            head_follows_the_last_event,
            group_commit_answers_in_input_order,
            append_to_unknown_account_is_refused,
            // idempotency
            duplicate_key_in_later_call_stores_nothing,
            duplicate_key_within_one_batch,
            duplicate_key_across_batches_of_one_call,
            duplicate_key_with_different_payload_is_still_duplicate,
            same_key_in_another_account_is_not_duplicate,
            concurrent_duplicate_keys_are_stored_once,
            // browse filters
            browse_orders_newest_first_ties_by_seq,
            filter_by_time_range,
            filter_by_actor,
            filter_by_activity_and_category,
            filter_by_case_and_client,
            filters_combine_with_and,
            // keyword search
            search_matches_word_prefixes,
            search_requires_every_word,
            search_ignores_case_and_diacritics,
            search_covers_description_related_names_and_actor_name_only,
            search_splits_on_punctuation,
            search_survives_hostile_input,
            // keyset pagination
            paging_walks_every_event_once,
            paging_with_filters,
            paging_is_stable_while_appending,
            search_pages_alike_for_rare_and_common_words,
            // tenant isolation
            tenants_never_see_each_others_events,
            tenants_never_see_each_others_users_and_keys,
            // accounts, users, keys, sessions
            account_defaults_and_updates,
            users_emails_are_unique_case_insensitively,
            user_role_and_deletion,
            delete_user_ends_their_sessions,
            api_keys_by_hash_revoke_and_touch,
            sessions_expire,
            // pickers
            actors_picker,
            records_picker,
            pickers_respect_limit,
        );
    };
}
