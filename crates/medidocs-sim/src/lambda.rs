//! AWS Lambda as Step Functions and event sources meet it: account concurrency and
//! reserved concurrency per function (past them a synchronous invoke is refused with
//! `Lambda.TooManyRequestsException`), occasional service errors (before the function
//! ran, or after, with its result lost), cold starts, and GB-seconds billed per
//! millisecond of each invocation.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use medidocs_states::Failure;

use crate::clock::{VirtualClock, sleep_secs};
use crate::region::RegionState;
use crate::rng::Rng;
use crate::usage::Meter;

/// One function's size and timings (seconds), from measurements (docs/benchmarks.md).
#[derive(Debug, Clone, Copy)]
pub struct FunctionModel {
    pub memory_mb: u32,
    /// Reserved concurrency, if any.
    pub reserved: Option<usize>,
    /// Time the handler spends computing, besides the calls it makes (which take their
    /// own modelled time).
    pub compute: f64,
    /// Extra time of a cold start (the runtime's init and the SDK clients).
    pub cold_start: f64,
    /// The function's time-out: no invocation is billed for longer.
    pub timeout: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct LambdaModel {
    pub account_concurrency: usize,
    /// Share of invocations that fail with `Lambda.ServiceException`.
    pub service_error_rate: f64,
    /// How long an idle instance stays warm.
    pub keep_warm: f64,
}

#[derive(Default)]
struct FunctionState {
    running: usize,
    /// When each idle instance became idle.
    idle_since: Vec<f64>,
}

pub struct Lambda {
    region: Arc<RegionState>,
    clock: VirtualClock,
    rng: Arc<Rng>,
    meter: Arc<Meter>,
    model: LambdaModel,
    functions: BTreeMap<String, FunctionModel>,
    state: Mutex<(usize, BTreeMap<String, FunctionState>)>,
    peak: Mutex<usize>,
}

fn failure(error: &str, cause: &str) -> Failure {
    Failure::new(error, cause)
}

impl Lambda {
    pub fn new(
        region: Arc<RegionState>,
        clock: VirtualClock,
        rng: Arc<Rng>,
        meter: Arc<Meter>,
        model: LambdaModel,
        functions: BTreeMap<String, FunctionModel>,
    ) -> Self {
        Self {
            region,
            clock,
            rng,
            meter,
            model,
            functions,
            state: Mutex::new((0, BTreeMap::new())),
            peak: Mutex::new(0),
        }
    }

    /// The most invocations running at once.
    pub fn peak_concurrency(&self) -> usize {
        *self.peak.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Concurrency left to functions without a reservation.
    fn unreserved(&self) -> usize {
        let reserved: usize = self.functions.values().filter_map(|f| f.reserved).sum();
        self.model.account_concurrency.saturating_sub(reserved)
    }

    /// Takes a slot for `name`, or says why not; true when the instance is cold.
    fn admit(&self, name: &str, f: &FunctionModel) -> Result<bool, Failure> {
        let now = self.clock.secs();
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (unreserved_running, fns) = &mut *guard;
        let st = fns.entry(name.to_string()).or_default();
        let admitted = match f.reserved {
            Some(r) => st.running < r,
            None => *unreserved_running < self.unreserved(),
        };
        if !admitted {
            return Err(failure(
                "Lambda.TooManyRequestsException",
                &format!(
                    "Rate Exceeded. (function {name}, reason: ReservedFunctionConcurrentInvocationLimitExceeded or ConcurrentInvocationLimitExceeded)"
                ),
            ));
        }
        st.running += 1;
        if f.reserved.is_none() {
            *unreserved_running += 1;
        }
        st.idle_since.retain(|t| now - *t < self.model.keep_warm);
        let cold = st.idle_since.pop().is_none();
        let running: usize = fns.values().map(|s| s.running).sum();
        drop(guard);
        let mut peak = self.peak.lock().unwrap_or_else(|e| e.into_inner());
        *peak = (*peak).max(running);
        Ok(cold)
    }

    fn release(&self, name: &str, f: &FunctionModel) {
        let now = self.clock.secs();
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (unreserved_running, fns) = &mut *guard;
        if let Some(st) = fns.get_mut(name) {
            st.running = st.running.saturating_sub(1);
            st.idle_since.push(now);
        }
        if f.reserved.is_none() {
            *unreserved_running = unreserved_running.saturating_sub(1);
        }
    }

    /// A synchronous invocation of `name` running `work` (the real handler).
    pub async fn invoke<T>(
        &self,
        name: &str,
        work: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, Failure> {
        let f = *self.functions.get(name).ok_or_else(|| {
            failure(
                "Lambda.ResourceNotFoundException",
                &format!("no function {name}"),
            )
        })?;
        let lost = || failure("Lambda.ServiceException", "the region was unavailable");
        if self.region.is_down() {
            self.region.wait_up().await;
            return Err(lost());
        }
        let cold = match self.admit(name, &f) {
            Ok(c) => c,
            Err(e) => {
                self.meter.count(|u| u.lambda_throttles += 1);
                return Err(e);
            }
        };
        let started = self.clock.secs();
        self.meter.count(|u| {
            u.lambda_requests += 1;
            u.lambda_cold_starts += u64::from(cold);
            u.log_bytes += 1500;
        });
        let error = self.rng.chance(self.model.service_error_rate);
        let before = error && self.rng.chance(0.5);
        let out = if before {
            sleep_secs(0.05).await;
            Err(failure(
                "Lambda.ServiceException",
                "Lambda was unable to run the function (simulated service error)",
            ))
        } else {
            let setup = if cold { f.cold_start } else { 0.0 };
            sleep_secs(setup + self.rng.lognormal(f.compute.max(0.001), 0.3)).await;
            let out = work.await;
            if error {
                Err(failure(
                    "Lambda.ServiceException",
                    "the function ran but its response was lost (simulated service error)",
                ))
            } else {
                out
            }
        };
        let secs = (self.clock.secs() - started).clamp(0.001, f.timeout);
        self.release(name, &f);
        self.meter.count(|u| {
            u.lambda_gb_seconds +=
                (secs * 1000.0).ceil() / 1000.0 * f64::from(f.memory_mb) / 1024.0;
            u.lambda_service_errors += u64::from(error);
        });
        if self.region.interrupted_since(started) {
            self.region.wait_up().await;
            return Err(lost());
        }
        out
    }
}
