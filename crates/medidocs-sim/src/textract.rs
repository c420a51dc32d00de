//! Amazon Textract's DetectDocumentText as a quota and a latency: calls beyond the
//! account's transactions per second in any one-second window are refused with
//! `ProvisionedThroughputExceededException`; the others take a log-normal time. The
//! client retries a refusal as the AWS SDK's standard mode does (3 attempts, exponential
//! back-off with full jitter). Every call made counts toward the peak, refused or not.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use medidocs_core::model::TextSource;
use medidocs_core::ocr::{BoundingBox, Line, OcrPage, Word};
use medidocs_core::pacing::{Claim, Pacer, interval_ms, next_slot};
use medidocs_core::ports::{OcrEngine, OcrError, StoreError};
use time::OffsetDateTime;

use crate::clock::{VirtualClock, sleep_secs};
use crate::region::RegionState;
use crate::rng::Rng;
use crate::usage::Meter;

#[derive(Debug, Clone, Copy)]
pub struct TextractModel {
    pub tps: f64,
    /// Mean seconds per page, and the spread of the log-normal.
    pub latency: f64,
    pub sigma: f64,
}

pub struct Textract {
    region: Arc<RegionState>,
    clock: VirtualClock,
    rng: Arc<Rng>,
    meter: Arc<Meter>,
    model: TextractModel,
    /// Start times of the calls accepted, and of all calls made, in the last second.
    window: Mutex<(VecDeque<i64>, VecDeque<i64>)>,
    peak: Mutex<usize>,
    latencies: Mutex<(f64, u64)>,
}

impl Textract {
    pub fn new(
        region: Arc<RegionState>,
        clock: VirtualClock,
        rng: Arc<Rng>,
        meter: Arc<Meter>,
        model: TextractModel,
    ) -> Self {
        Self {
            region,
            clock,
            rng,
            meter,
            model,
            window: Mutex::new((VecDeque::new(), VecDeque::new())),
            peak: Mutex::new(0),
            latencies: Mutex::new((0.0, 0)),
        }
    }

    /// The most calls made within any one second.
    pub fn peak_tps(&self) -> usize {
        *self.peak.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Mean seconds of the accepted calls.
    pub fn mean_latency(&self) -> Option<f64> {
        let (sum, n) = *self.latencies.lock().unwrap_or_else(|e| e.into_inner());
        (n > 0).then(|| sum / n as f64)
    }

    /// One DetectDocumentText call: refused when the quota is used up.
    async fn call(&self) -> Result<(), OcrError> {
        let now = (self.clock.secs() * 1e6).round() as i64;
        let accepted = {
            let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
            let (ok, all) = &mut *w;
            // A window of one second: calls started in (now - 1, now], in whole
            // microseconds (so that calls exactly one second apart are not both in it).
            let before = now - 1_000_000;
            while ok.front().is_some_and(|t| *t <= before) {
                ok.pop_front();
            }
            while all.front().is_some_and(|t| *t <= before) {
                all.pop_front();
            }
            all.push_back(now);
            let mut peak = self.peak.lock().unwrap_or_else(|e| e.into_inner());
            *peak = (*peak).max(all.len());
            let accepted = (ok.len() as f64) < self.model.tps;
            if accepted {
                ok.push_back(now);
            }
            accepted
        };
        if !accepted {
            self.meter.count(|u| u.textract_throttled += 1);
            sleep_secs(0.03).await;
            return Err(OcrError::Throttled {
                source: "ProvisionedThroughputExceededException: provisioned rate exceeded".into(),
            });
        }
        let secs = self.rng.lognormal(self.model.latency, self.model.sigma);
        sleep_secs(secs).await;
        self.meter.count(|u| u.textract_pages_billed += 1);
        let mut l = self.latencies.lock().unwrap_or_else(|e| e.into_inner());
        l.0 += secs;
        l.1 += 1;
        Ok(())
    }
}

/// The OCR engine the step handlers call in AWS: the SDK client, with the standard
/// mode's retries of a refusal (`attempts` 3), or none (1) behind the pacer, which
/// retries in slots of its own.
pub struct SimTextract {
    pub textract: Arc<Textract>,
    pub attempts: u32,
}

#[async_trait]
impl OcrEngine for SimTextract {
    fn name(&self) -> &str {
        "textract"
    }
    fn max_image_bytes(&self) -> Option<usize> {
        Some(10 * 1024 * 1024)
    }
    fn max_image_side(&self) -> Option<u32> {
        Some(10_000)
    }
    async fn recognize(&self, _png: &[u8], page: u32) -> Result<OcrPage, OcrError> {
        let t = &self.textract;
        let lost = || OcrError::Unavailable {
            what: "textract: the region is down".into(),
            source: None,
        };
        let mut attempt = 0;
        loop {
            let r = t.region.call(t.call(), lost).await;
            match r {
                Err(OcrError::Throttled { .. }) if attempt + 1 < self.attempts => {
                    // Standard retry mode: full jitter on 1 s, 2 s.
                    sleep_secs(t.rng.unit() * f64::from(1u32 << attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
                Ok(()) => break,
            }
        }
        let word = Word {
            text: "simulated".into(),
            confidence: 99.0,
            bbox: BoundingBox {
                left: 0.1,
                top: 0.1,
                width: 0.2,
                height: 0.05,
            },
        };
        Ok(OcrPage {
            page,
            text_source: TextSource::Ocr,
            rotation: 0,
            language: None,
            lines: vec![Line::from_words(vec![word])],
        })
    }
}

/// The shared pacer of a region: one item, claimed with a conditional write (counted as
/// a DynamoDB write), in memory here.
pub struct MemPacer {
    region: Arc<RegionState>,
    meter: Arc<Meter>,
    interval: i64,
    first_free: Mutex<Option<i64>>,
}

impl MemPacer {
    pub fn new(region: Arc<RegionState>, meter: Arc<Meter>, per_second: f64) -> Self {
        Self {
            region,
            meter,
            interval: interval_ms(per_second),
            first_free: Mutex::new(None),
        }
    }
}

#[async_trait]
impl Pacer for MemPacer {
    async fn claim(
        &self,
        now: OffsetDateTime,
        horizon: Option<std::time::Duration>,
    ) -> Result<Claim, StoreError> {
        self.region
            .call(
                async {
                    sleep_secs(0.005).await;
                    let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
                    let mut f = self.first_free.lock().unwrap_or_else(|e| e.into_inner());
                    let at = |ms: i64| {
                        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                            .unwrap_or(now)
                    };
                    // A read of the item, then a conditional write if a slot is taken.
                    self.meter.count(|u| u.dynamodb_read_units += 1.0);
                    match next_slot(
                        *f,
                        now_ms,
                        self.interval,
                        horizon.map(|h| h.as_millis() as i64),
                    ) {
                        Ok((slot, next)) => {
                            self.meter.count(|u| u.dynamodb_write_units += 1.0);
                            *f = Some(next);
                            Ok(Claim::Slot(at(slot)))
                        }
                        Err(retry) => Ok(Claim::NotBefore(at(retry))),
                    }
                },
                || StoreError::unavailable("pacer", "the region is down"),
            )
            .await
    }
}
