//! AWS Step Functions (Standard) around the in-process engine: StartExecution's token
//! bucket (past it, `ThrottlingException`), execution names that stay taken for 90 days
//! whatever the outcome (the same name and input while running answers with the running
//! execution; otherwise `ExecutionAlreadyExists`), and the state transitions billed,
//! counted from each execution's history (every state entered, and every retry).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use medidocs_states::Engine;
use serde_json::Value;
use tokio::sync::watch;

use crate::clock::VirtualClock;
use crate::usage::Meter;

/// StartExecution's documented throttle (per account and region): a bucket of `burst`
/// tokens refilled at `per_second`.
#[derive(Debug, Clone, Copy)]
pub struct StartQuota {
    pub burst: f64,
    pub per_second: f64,
}

struct Bucket {
    tokens: f64,
    at: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// `StepFunctions.ThrottlingException` (retry later).
    Throttled,
    /// `StepFunctions.ExecutionAlreadyExistsException`.
    AlreadyExists,
}

enum Name {
    Running {
        input: String,
        done: watch::Receiver<Option<String>>,
    },
    Closed,
}

/// Which state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    Pipeline,
    Bulk,
}

pub struct StepFunctions {
    clock: VirtualClock,
    meter: Arc<Meter>,
    quota: StartQuota,
    bucket: Mutex<Bucket>,
    names: Mutex<BTreeMap<(u8, String), Name>>,
    engines: OnceLock<[(Arc<Engine>, Arc<Value>); 2]>,
    running: Mutex<usize>,
}

impl StepFunctions {
    pub fn new(clock: VirtualClock, meter: Arc<Meter>, quota: StartQuota) -> Self {
        Self {
            clock,
            meter,
            quota,
            bucket: Mutex::new(Bucket {
                tokens: quota.burst,
                at: 0.0,
            }),
            names: Mutex::new(BTreeMap::new()),
            engines: OnceLock::new(),
            running: Mutex::new(0),
        }
    }

    /// The engines and definitions of the pipeline and of the bulk import (set once, after
    /// the handlers that need this model are registered).
    pub fn set_machines(
        &self,
        pipeline: (Arc<Engine>, Arc<Value>),
        bulk: (Arc<Engine>, Arc<Value>),
    ) {
        let _ = self.engines.set([pipeline, bulk]);
    }

    /// Executions still running.
    pub fn running(&self) -> usize {
        *self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take_token(&self) -> bool {
        let now = self.clock.secs();
        let mut b = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        b.tokens = (b.tokens + (now - b.at) * self.quota.per_second).min(self.quota.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// StartExecution. The receiver turns to `Some(status)` when the execution closes.
    pub fn start(
        self: &Arc<Self>,
        machine: Machine,
        name: &str,
        input: Value,
    ) -> Result<watch::Receiver<Option<String>>, StartError> {
        if !self.take_token() {
            self.meter.count(|u| u.sfn_start_throttles += 1);
            return Err(StartError::Throttled);
        }
        let text = input.to_string();
        let key = (machine as u8, name.to_string());
        let (tx, rx) = watch::channel(None);
        {
            let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
            match names.get(&key) {
                Some(Name::Running { input, done }) if *input == text => return Ok(done.clone()),
                Some(_) => return Err(StartError::AlreadyExists),
                None => {
                    names.insert(
                        key.clone(),
                        Name::Running {
                            input: text,
                            done: rx.clone(),
                        },
                    );
                }
            }
        }
        let Some(engines) = self.engines.get() else {
            return Err(StartError::Throttled);
        };
        let (engine, def) = engines[machine as usize].clone();
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.meter.count(|u| u.sfn_executions += 1);
        let me = self.clone();
        let name = name.to_string();
        tokio::spawn(async move {
            let ex = engine.execute(&def, input, &name).await;
            let transitions = transitions(&ex.history);
            let status = match &ex.output {
                Ok(_) => "SUCCEEDED".to_string(),
                Err(f) if f.error == "States.Timeout" => "TIMED_OUT".to_string(),
                Err(_) => "FAILED".to_string(),
            };
            me.meter.count(|u| u.sfn_transitions += transitions);
            me.names
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, Name::Closed);
            *me.running.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
            let _ = tx.send(Some(status));
        });
        Ok(rx)
    }
}

/// State transitions as Step Functions bills them: every state entered, plus every retry
/// of a Task (each try is billed).
pub fn transitions(history: &[Value]) -> u64 {
    let (mut entered, mut scheduled, mut tasks) = (0u64, 0u64, 0u64);
    for e in history {
        match e["type"].as_str() {
            Some("TaskScheduled") => scheduled += 1,
            Some("TaskStateEntered") => {
                tasks += 1;
                entered += 1;
            }
            Some(t) if t.ends_with("StateEntered") => entered += 1,
            _ => {}
        }
    }
    entered + scheduled.saturating_sub(tasks)
}
