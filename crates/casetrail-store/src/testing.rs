//! The store conformance suite: what every [`Store`](crate::Store) backend must do,
//! as generic async test bodies, stamped out for a backend by [`store_conformance!`](crate::store_conformance).
//!
//! Each test takes a fresh, empty store and checks actual values against
//! `docs/API.md` (§4 ingest, §5 reading, §7 chain): gapless seqs and hash links, group
//! commit, idempotency (also under concurrency), every browse filter, keyword search
//! semantics and hostile input, keyset pagination (also while appending), tenant
//! isolation, accounts, users, keys, sessions, the filter pickers, holds and the
//! account legal hold, purges and their tombstones (checked by core's [`Verifier`]
//! through [`verify::verify_chain`]), checkpoints and chain rows, and two independent
//! handles on one database writing at once.
//!
//! A backend runs the whole suite from one test file, say `tests/conformance.rs`, by
//! implementing [`TestBackend`]:
//!
//! ```ignore
//! struct MyBackend;
//!
//! impl casetrail_store::testing::TestBackend for MyBackend {
//!     type Store = MyStore;
//!     async fn fresh(&self) -> Arc<MyStore> { Arc::new(MyStore::open_temporary().await) }
//!     async fn reopen(&self, store: &MyStore) -> Arc<MyStore> { Arc::new(MyStore::connect(store.url()).await) }
//! }
//!
//! casetrail_store::store_conformance!(MyBackend);
//! ```
//!
//! The backend expression is evaluated once per test. The backend crate needs
//! `tokio` (features `macros`, `rt-multi-thread`) among its dev-dependencies.
//!
//! Events are built with the real ingest parser ([`support::new_event`]), so they are
//! what a host could send.
//!
//! [`Verifier`]: casetrail_core::integrity::Verifier

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::Store;

pub mod derived;
pub mod state_changes;
pub mod support;
pub mod verify;

mod accounts;
mod chain;
mod changes;
mod checkpoints;
mod concurrency;
mod credentials;
mod filters;
mod history;
mod holds;
mod idempotency;
mod paging;
mod pickers;
mod privacy;
mod purge;
mod purge_categories;
mod purge_runs;
mod search;
mod service;
mod streams;
mod tenancy;
mod tree;

pub use accounts::*;
pub use chain::*;
pub use changes::*;
pub use checkpoints::*;
pub use concurrency::*;
pub use credentials::*;
pub use derived::derived_rows_verify_across_pages;
pub use filters::*;
pub use history::*;
pub use holds::*;
pub use idempotency::*;
pub use paging::*;
pub use pickers::*;
pub use privacy::*;
pub use purge::*;
pub use purge_categories::*;
pub use purge_runs::*;
pub use search::*;
pub use service::*;
pub use streams::*;
pub use tenancy::*;
pub use tree::*;

/// What a backend gives the suite: fresh databases, and more handles on one of them.
///
/// `reopen` must open a handle as independent as a second server process would have:
/// its own connections and its own writer, sharing nothing with `store` but the
/// database. The two-handle tests prove that appends, idempotency and purges stay
/// correct when two such handles write at once, which no in-process lock can give.
pub trait TestBackend: Sync {
    /// The backend's store type, so `reopen` can find the database of a store.
    type Store: Store + 'static;

    /// A new store on a new, empty database.
    fn fresh(&self) -> impl Future<Output = Arc<Self::Store>> + Send;

    /// Another independent handle on the database of `store` (which stays open).
    fn reopen(&self, store: &Self::Store) -> impl Future<Output = Arc<Self::Store>> + Send;
}

/// A fresh store of `backend`, as the tests take it.
pub async fn fresh_store<B: TestBackend>(backend: &B) -> Arc<dyn Store> {
    backend.fresh().await
}

/// A fresh store of `backend` and a second, independent handle on its database.
pub async fn two_handles<B: TestBackend>(backend: &B) -> (Arc<dyn Store>, Arc<dyn Store>) {
    let first = backend.fresh().await;
    let second = backend.reopen(&first).await;
    (first, second)
}

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
/// [`testing`](crate::testing), each on a fresh database of the given
/// [`TestBackend`](crate::testing::TestBackend).
///
/// ```ignore
/// casetrail_store::store_conformance!(SqliteBackend);
/// ```
///
/// This is the one list of the suite's tests: a new test body is added here, under
/// `@one` when it takes one store, under `@two` when it takes two handles on one
/// database.
#[macro_export]
macro_rules! store_conformance {
    (@one $backend:expr; $($test:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let store = $crate::testing::fresh_store(&$backend).await;
                $crate::testing::run(::std::stringify!($test), $crate::testing::$test(store)).await;
            }
        )+
    };
    (@two $backend:expr; $($test:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let (first, second) = $crate::testing::two_handles(&$backend).await;
                $crate::testing::run(::std::stringify!($test), $crate::testing::$test(first, second)).await;
            }
        )+
    };
    ($backend:expr $(,)?) => {
        $crate::store_conformance!(@one $backend;
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
            // masking settings and keys
            masking_patterns_default_and_replace,
            the_fingerprint_key_is_set_once_per_account,
            // one record's history
            a_record_history_is_read_through_its_index,
            // changes that record themselves
            a_change_and_its_record_commit_together,
            a_failed_record_leaves_neither_change_nor_event,
            concurrent_changes_never_undo_each_other,
            the_last_admin_survives_concurrent_demotions,
            expired_sessions_are_deleted,
            // holds and the account legal hold
            holds_are_listed_and_a_second_hold_conflicts,
            holds_are_per_account,
            account_legal_hold_stops_purge_and_preview,
            // purges and tombstones
            a_purge_run_is_tallied_and_recorded_once,
            a_purge_run_that_removes_nothing_records_nothing,
            a_second_purge_run_waits_behind_a_live_one,
            purge_removes_only_events_older_than_the_cutoff,
            case_and_client_holds_keep_their_events,
            purge_batches_are_bounded_and_loop_to_the_purgeable_set,
            tombstones_merge_on_both_sides_across_separate_runs,
            purge_preview_equals_what_purge_removes,
            reclaim_space_keeps_the_chain,
            // retention by category
            each_category_is_purged_after_its_own_retention,
            a_category_is_purged_when_the_account_keeps_forever,
            an_unfinished_run_keeps_its_category_cutoffs,
            // checkpoints and chain rows
            checkpoints_newest_first_within_limit,
            checkpoints_are_checked_against_the_chain,
            chain_rows_agree_with_chain_and_bodies,
            derived_rows_verify_across_pages,
            // the Merkle tree
            the_tree_follows_every_append,
            a_purge_keeps_every_leaf_of_the_tree,
            trees_are_per_account,
            checkpoints_keep_their_tree_head,
            // what several servers share
            the_key_ring_registers_and_retires_keys,
            a_reachable_store_answers_a_ping,
            login_attempts_are_limited_refunded_and_forgotten,
            a_lease_has_one_holder_until_it_expires_or_is_released,
            // streams
            streams_are_created_changed_replayed_and_deleted_with_their_records,
        );
        $crate::store_conformance!(@two $backend;
            // two independent handles on one database
            two_handles_build_one_tree,
            two_handles_append_concurrently_without_fork_or_gap,
            same_key_through_two_handles_is_stored_once,
            purge_on_one_handle_while_the_other_appends,
            simultaneous_login_attempts_through_two_handles_pass_the_limit_exactly,
            a_lease_raced_through_two_handles_has_one_holder,
            only_a_streams_lease_holder_moves_it,
            two_handles_agree_on_the_fingerprint_key,
        );
    };
}
