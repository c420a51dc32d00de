//! A region's availability: up, or down for an outage. Calls into a region that is down
//! hang until it is back and then fail; a call that was in flight when it went down
//! fails too, once the region is back (its result was lost with it).

use std::future::Future;
use std::sync::Mutex;

use crate::clock::VirtualClock;

pub struct RegionState {
    pub name: String,
    clock: VirtualClock,
    inner: Mutex<Availability>,
    up: tokio::sync::Notify,
}

#[derive(Default)]
struct Availability {
    down: bool,
    /// When the last outage began (seconds), if any.
    last_down: Option<f64>,
}

impl RegionState {
    pub fn new(name: impl Into<String>, clock: VirtualClock) -> Self {
        Self {
            name: name.into(),
            clock,
            inner: Mutex::new(Availability::default()),
            up: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Availability> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_down(&self) -> bool {
        self.lock().down
    }

    pub fn go_down(&self) {
        let mut a = self.lock();
        a.down = true;
        a.last_down = Some(self.clock.secs());
    }

    pub fn come_back(&self) {
        self.lock().down = false;
        self.up.notify_waiters();
    }

    /// Returns once the region is up.
    pub async fn wait_up(&self) {
        loop {
            let notified = self.up.notified();
            if !self.is_down() {
                return;
            }
            notified.await;
        }
    }

    /// Whether the region went down at or after `since` (seconds): a call begun then
    /// lost its result.
    pub fn interrupted_since(&self, since: f64) -> bool {
        self.lock().last_down.is_some_and(|t| t >= since)
    }

    /// Runs `op` in this region: refused (after the outage) when the region is down, or
    /// when it went down while `op` ran.
    pub async fn call<T, E>(
        &self,
        op: impl Future<Output = Result<T, E>>,
        lost: impl Fn() -> E,
    ) -> Result<T, E> {
        if self.is_down() {
            self.wait_up().await;
            return Err(lost());
        }
        let since = self.clock.secs();
        let out = op.await;
        if self.interrupted_since(since) {
            self.wait_up().await;
            return Err(lost());
        }
        out
    }
}
