//! Amazon SQS standard queues as the pipeline uses them: the OCR queue (a Task sends a
//! page with its task token and waits; workers under an event source mapping with a
//! maximum concurrency answer it) and the start queue (upload events waiting for their
//! StartExecution). A message a worker gives back reappears after its visibility time-out.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::clock::{VirtualClock, sleep_secs};
use crate::usage::Meter;

pub struct Queue<M> {
    clock: VirtualClock,
    meter: Arc<Meter>,
    messages: Mutex<VecDeque<(M, f64)>>,
    ready: tokio::sync::Notify,
    /// Seconds each message waited before its first receive.
    waits: Mutex<Vec<f64>>,
}

impl<M: Send + 'static> Queue<M> {
    pub fn new(clock: VirtualClock, meter: Arc<Meter>) -> Self {
        Self {
            clock,
            meter,
            messages: Mutex::new(VecDeque::new()),
            ready: tokio::sync::Notify::new(),
            waits: Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(M, f64)>> {
        self.messages.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// SendMessage.
    pub fn send(&self, m: M) {
        self.meter.count(|u| u.sqs_requests += 1);
        self.lock().push_back((m, self.clock.secs()));
        self.ready.notify_one();
    }

    /// A long-polling receive (one request per message; empty polls are billed too, but
    /// at 20 s apart per poller they are a rounding error).
    pub async fn receive(&self) -> M {
        loop {
            let ready = self.ready.notified();
            if let Some((m, sent)) = self.lock().pop_front() {
                self.meter.count(|u| u.sqs_requests += 1);
                if sent >= 0.0 {
                    self.waits
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(self.clock.secs() - sent);
                }
                return m;
            }
            ready.await;
        }
    }

    /// DeleteMessage (or a batch item done).
    pub fn delete(&self) {
        self.meter.count(|u| u.sqs_requests += 1);
    }

    /// ChangeMessageVisibility, then the message reappears after `delay` seconds.
    pub fn give_back(self: &Arc<Self>, m: M, delay: f64) {
        self.meter.count(|u| u.sqs_requests += 1);
        let q = self.clone();
        tokio::spawn(async move {
            sleep_secs(delay).await;
            // A redelivery: its wait was counted at the first receive.
            q.lock().push_back((m, -1.0));
            q.ready.notify_one();
        });
    }

    /// Seconds messages waited for their first receive, sorted.
    pub fn waits(&self) -> Vec<f64> {
        let mut w = self.waits.lock().unwrap_or_else(|e| e.into_inner()).clone();
        w.sort_by(f64::total_cmp);
        w
    }
}
