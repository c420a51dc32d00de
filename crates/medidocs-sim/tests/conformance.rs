//! The simulator's in-memory stores keep the same rules as the real ones: they pass the
//! shared conformance suites, so the simulated runs' conditional writes, listings and
//! in-flight index behave as SQLite's and DynamoDB's do.

use std::sync::Arc;

use medidocs_sim::clock::VirtualClock;
use medidocs_sim::region::RegionState;
use medidocs_sim::rng::Rng;
use medidocs_sim::stores::{Ledger, MemMeta, MemObjects, StoreModel};
use medidocs_sim::usage::Meter;
use medidocs_testkit::{MetadataFlags, ObjectFlags, metadata_store_suite, object_store_suite};

const MODEL: StoreModel = StoreModel {
    latency: 0.005,
    replication_lag: 1.0,
    throttle_rate: 0.0,
};

fn region() -> (VirtualClock, Arc<RegionState>) {
    let clock = VirtualClock::new(time::macros::datetime!(2026-12-07 08:00 UTC));
    let region = Arc::new(RegionState::new("eu-west-1", clock.clone()));
    (clock, region)
}

#[tokio::test(start_paused = true)]
async fn the_simulated_metadata_store_conforms() {
    let (clock, region) = region();
    let store = MemMeta::new(
        region,
        clock,
        Arc::new(Meter::default()),
        Arc::new(Rng::new(1)),
        MODEL,
        Arc::new(Ledger::default()),
    );
    let n = metadata_store_suite(&store, "a1", MetadataFlags::default())
        .await
        .unwrap();
    assert!(n >= 8, "only {n} cases ran");
}

#[tokio::test(start_paused = true)]
async fn the_simulated_object_store_conforms() {
    let (_, region) = region();
    let store = MemObjects::new(
        region,
        Arc::new(Meter::default()),
        Arc::new(Rng::new(1)),
        MODEL,
    );
    // S3 takes any key, as this store does.
    let flags = ObjectFlags {
        refuses_unsafe_keys: false,
        ..ObjectFlags::default()
    };
    let n = object_store_suite(&store, "suite", flags).await.unwrap();
    assert!(n >= 8, "only {n} cases ran");
}
