//! Virtual time. The simulator runs on a current-thread runtime whose clock is paused:
//! whenever every task is waiting, tokio moves time to the next timer, so a day of
//! traffic takes as long as the work done in it. Each region's clock stops while its
//! region is down: a timer (a Wait state, a Retry back-off, a time-out) set in a region
//! fires only once the region is back, as Step Functions does nothing in a region that
//! is down.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use medidocs_states::Clock;
use time::OffsetDateTime;

use crate::region::RegionState;

/// The virtual clock: a start date plus tokio's (paused) time since the run began.
#[derive(Clone)]
pub struct VirtualClock {
    start: OffsetDateTime,
    origin: tokio::time::Instant,
}

impl VirtualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            start,
            origin: tokio::time::Instant::now(),
        }
    }

    /// Seconds since the run began.
    pub fn secs(&self) -> f64 {
        self.origin.elapsed().as_secs_f64()
    }

    pub fn at(&self, secs: f64) -> OffsetDateTime {
        self.start + Duration::from_secs_f64(secs.max(0.0))
    }

    pub fn now(&self) -> OffsetDateTime {
        self.at(self.secs())
    }
}

pub async fn sleep_secs(secs: f64) {
    if secs > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    } else {
        tokio::task::yield_now().await;
    }
}

/// A region's view of the clock (the engine's [`Clock`]).
pub struct RegionClock {
    pub clock: VirtualClock,
    pub region: Arc<RegionState>,
}

#[async_trait]
impl Clock for RegionClock {
    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }
    async fn sleep(&self, d: Duration) {
        sleep_secs(d.as_secs_f64()).await;
        self.region.wait_up().await;
    }
}
