//! Time as the pipeline sees it: a port ([`Clock`]) with the wall clock behind it in a
//! run, and a manual one in tests and the capacity simulator (sleeps take no time and move
//! it forward). The States Language engine, the OCR pacing and the step handlers all read
//! time through it.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

/// Time as the pipeline sees it.
#[async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
    /// Waits (Wait states, Retry back-off).
    async fn sleep(&self, d: Duration);
    /// A time-out timer: completes once `deadline` has passed (TimeoutSeconds).
    async fn expire_at(&self, deadline: OffsetDateTime) {
        let left = (deadline - self.now()).as_seconds_f64();
        if left > 0.0 {
            self.sleep(Duration::from_secs_f64(left)).await
        }
    }
}

/// The wall clock.
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await
    }
}

/// A clock whose sleeps return at once and move its time forward; it records them. Its
/// time-out timers fire only when sleeps have moved its time past their deadline, so real
/// work (IO, other processes) never times out under it.
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
    pub slept: Mutex<Vec<Duration>>,
    advanced: tokio::sync::Notify,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Mutex::new(start),
            slept: Mutex::new(Vec::new()),
            advanced: tokio::sync::Notify::new(),
        }
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
    async fn sleep(&self, d: Duration) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) += d;
        self.slept.lock().unwrap_or_else(|e| e.into_inner()).push(d);
        self.advanced.notify_waiters();
        tokio::task::yield_now().await;
    }
    async fn expire_at(&self, deadline: OffsetDateTime) {
        loop {
            let advanced = self.advanced.notified();
            if self.now() >= deadline {
                return;
            }
            advanced.await;
        }
    }
}
