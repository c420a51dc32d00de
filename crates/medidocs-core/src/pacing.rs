//! Keeping OCR within the engine's rate quota across every execution at once. Textract
//! counts transactions per second per account and region; every OCR worker, whatever
//! execution or bulk import its page came from, claims a start time ("slot") from one
//! shared pacer before it calls, and slots are at least `1 / quota` seconds apart, so no
//! one-second window ever holds more calls than the quota. In AWS the pacer is one
//! DynamoDB item per region updated with a conditional write; the capacity simulator has
//! it in memory. Both use [`next_slot`].
//!
//! Patients come first: a bulk import's call takes a slot only within a short horizon of
//! now and otherwise waits its turn without holding one, so a patient's page that comes
//! meanwhile finds a slot at once, while the import uses every slot nobody else wants.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use medidocs_clock::Clock;
use time::OffsetDateTime;

use crate::ocr::OcrPage;
use crate::ports::{OcrEngine, OcrError, StoreError};
use crate::understand::Region;

/// The spacing of slots for `per_second` calls a second, rounded up to a whole
/// millisecond so that a window of one second never holds more than `per_second`.
pub fn interval_ms(per_second: f64) -> i64 {
    (1000.0 / per_second.max(0.001)).ceil() as i64
}

/// The slot algorithm: a call starts at the later of `now` and the first free time;
/// the next free time is one interval after it. With a `horizon` (a bulk call), a slot
/// further than that from now is not taken: `Err(t)` says when to ask again. Times in
/// milliseconds since the epoch.
pub fn next_slot(
    first_free: Option<i64>,
    now: i64,
    interval: i64,
    horizon: Option<i64>,
) -> Result<(i64, i64), i64> {
    let slot = first_free.map_or(now, |f| f.max(now));
    match horizon {
        Some(h) if slot > now + h => Err(slot - h),
        _ => Ok((slot, slot + interval)),
    }
}

/// A pacer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Start at this time (now, or a little later).
    Slot(OffsetDateTime),
    /// Nothing within the horizon: ask again at this time.
    NotBefore(OffsetDateTime),
}

/// Hands out start times for calls to one rate-limited service.
#[async_trait]
pub trait Pacer: Send + Sync {
    /// A slot for a call made `now`; with a `horizon`, only one that close.
    async fn claim(
        &self,
        now: OffsetDateTime,
        horizon: Option<Duration>,
    ) -> Result<Claim, StoreError>;
}

/// How close a bulk import's call takes its slot.
pub const BULK_HORIZON: Duration = Duration::from_millis(500);

/// An OCR engine whose calls wait for their slot first.
pub struct PacedOcr {
    inner: Arc<dyn OcrEngine>,
    pacer: Arc<dyn Pacer>,
    clock: Arc<dyn Clock>,
    horizon: Option<Duration>,
}

impl PacedOcr {
    /// A patient's pages: the next slot, however far.
    pub fn new(inner: Arc<dyn OcrEngine>, pacer: Arc<dyn Pacer>, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            pacer,
            clock,
            horizon: None,
        }
    }

    /// A bulk import's pages: only slots within [`BULK_HORIZON`].
    pub fn bulk(mut self) -> Self {
        self.horizon = Some(BULK_HORIZON);
        self
    }
}

#[async_trait]
impl OcrEngine for PacedOcr {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn max_image_bytes(&self) -> Option<usize> {
        self.inner.max_image_bytes()
    }
    fn max_image_side(&self) -> Option<u32> {
        self.inner.max_image_side()
    }
    async fn recognize(&self, png: &[u8], page: u32) -> Result<OcrPage, OcrError> {
        self.paced(|| self.inner.recognize(png, page)).await
    }
    async fn recognize_for(
        &self,
        png: &[u8],
        page: u32,
        region: Region,
    ) -> Result<OcrPage, OcrError> {
        self.paced(|| self.inner.recognize_for(png, page, region))
            .await
    }
}

impl PacedOcr {
    /// Makes `call` in a slot of its own, again in a new slot when refused.
    async fn paced<'a, F>(&'a self, call: impl Fn() -> F) -> Result<OcrPage, OcrError>
    where
        F: std::future::Future<Output = Result<OcrPage, OcrError>> + 'a,
    {
        let mut refused = 0;
        loop {
            self.wait_for_slot().await?;
            match call().await {
                // The quota was used by someone else too (another client of the account):
                // try again in a slot of its own, never in a burst of retries.
                Err(OcrError::Throttled { .. }) if refused < MAX_REFUSED => refused += 1,
                other => return other,
            }
        }
    }
}

/// How many refusals a paced call takes, each in a new slot, before it gives up (the
/// caller's retry policy takes over).
const MAX_REFUSED: u32 = 3;

/// A slot more than this late when its caller wakes (a function frozen, a region down) is
/// not used: the caller claims another, so callers held back together do not go at once
/// and calls stay a slot apart.
const LATE: Duration = Duration::from_millis(50);

/// How long a bulk import's call waits for a slot before its page goes back to the queue
/// ([`OcrError::Deferred`]): patients' pages may take every slot for a while, and a
/// worker is not billed to wait that out.
pub const BULK_MAX_WAIT: Duration = Duration::from_secs(30);

impl PacedOcr {
    async fn wait_for_slot(&self) -> Result<(), OcrError> {
        let asked = self.clock.now();
        loop {
            let now = self.clock.now();
            if self.horizon.is_some()
                && (now - asked).as_seconds_f64() > BULK_MAX_WAIT.as_secs_f64()
            {
                return Err(OcrError::Deferred {
                    seconds: BULK_MAX_WAIT.as_secs(),
                });
            }
            let claim = self
                .pacer
                .claim(now, self.horizon)
                .await
                .map_err(|e| match e {
                    StoreError::Throttled { source } => OcrError::Throttled { source },
                    other => OcrError::Unavailable {
                        what: "the OCR pacer".into(),
                        source: Some(Box::new(other)),
                    },
                })?;
            let slot = match claim {
                Claim::Slot(t) => t,
                Claim::NotBefore(t) => {
                    let wait = (t - now).as_seconds_f64().max(0.01);
                    self.clock.sleep(Duration::from_secs_f64(wait)).await;
                    continue;
                }
            };
            let wait = (slot - now).as_seconds_f64();
            if wait > 0.0 {
                self.clock.sleep(Duration::from_secs_f64(wait)).await;
            }
            if (self.clock.now() - slot).as_seconds_f64() <= LATE.as_secs_f64() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_never_put_more_calls_in_a_second_than_the_quota() {
        for per_second in [1.0, 3.0, 5.0, 7.0, 10.0, 50.0] {
            let interval = interval_ms(per_second);
            let mut free = None;
            let mut slots = Vec::new();
            // Everyone asks at once, then a few late callers.
            for now in std::iter::repeat_n(1_000, 200).chain([90_000, 90_001, 200_000]) {
                let (slot, next) = next_slot(free, now, interval, None).unwrap();
                assert!(slot >= now);
                free = Some(next);
                slots.push(slot);
            }
            for (i, s) in slots.iter().enumerate() {
                let in_window = slots[i..].iter().take_while(|t| **t < s + 1000).count();
                assert!(
                    in_window as f64 <= per_second,
                    "{in_window} calls within one second at {per_second}/s"
                );
            }
            // A caller after a quiet spell goes at once; one behind a queue waits its turn.
            assert_eq!(slots[201], (slots[200] + interval).max(90_001));
            assert_eq!(slots[202], (slots[201] + interval).max(200_000));
            if per_second >= 5.0 {
                assert_eq!(slots[202], 200_000);
            }
        }
    }

    #[test]
    fn a_bulk_call_takes_only_a_near_slot_and_leaves_the_rest_to_patients() {
        let interval = interval_ms(5.0);
        let h = Some(BULK_HORIZON.as_millis() as i64);
        // Nothing queued: a bulk call goes at once.
        assert_eq!(next_slot(None, 10_000, interval, h), Ok((10_000, 10_200)));
        // Slots taken 3 s ahead: a bulk call is told when to ask again, and takes nothing;
        // a patient's call takes the next slot.
        assert_eq!(next_slot(Some(13_000), 10_000, interval, h), Err(12_500));
        assert_eq!(
            next_slot(Some(13_000), 10_000, interval, None),
            Ok((13_000, 13_200))
        );
        // Within the horizon, a bulk call takes it.
        assert_eq!(
            next_slot(Some(10_400), 10_000, interval, h),
            Ok((10_400, 10_600))
        );
    }

    /// Always says "later": only slots of others ahead.
    struct Busy;

    #[async_trait]
    impl Pacer for Busy {
        async fn claim(
            &self,
            now: OffsetDateTime,
            horizon: Option<Duration>,
        ) -> Result<Claim, StoreError> {
            Ok(match horizon {
                Some(_) => Claim::NotBefore(now + Duration::from_secs(7)),
                None => Claim::Slot(now + Duration::from_secs(7)),
            })
        }
    }

    struct Reads;

    #[async_trait]
    impl OcrEngine for Reads {
        fn name(&self) -> &str {
            "reads"
        }
        async fn recognize(&self, _: &[u8], page: u32) -> Result<OcrPage, OcrError> {
            Ok(OcrPage {
                page,
                text_source: crate::model::TextSource::Ocr,
                rotation: 0,
                language: None,
                lines: vec![],
            })
        }
    }

    #[tokio::test]
    async fn a_bulk_page_that_finds_no_slot_for_a_minute_is_deferred_and_a_patient_s_waits_its_turn()
     {
        let clock = Arc::new(medidocs_clock::ManualClock::new(
            time::macros::datetime!(2026-12-07 08:00 UTC),
        ));
        let bulk = PacedOcr::new(Arc::new(Reads), Arc::new(Busy), clock.clone()).bulk();
        let e = bulk.recognize(b"png", 1).await.unwrap_err();
        assert!(matches!(e, OcrError::Deferred { seconds: 30 }), "{e:?}");
        let waited: Duration = clock.slept.lock().unwrap().iter().sum();
        assert!(
            waited >= BULK_MAX_WAIT && waited <= BULK_MAX_WAIT + Duration::from_secs(7),
            "{waited:?}"
        );
        let patient = PacedOcr::new(Arc::new(Reads), Arc::new(Busy), clock.clone());
        assert_eq!(patient.recognize(b"png", 2).await.unwrap().page, 2);
    }
}
