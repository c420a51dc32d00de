//! What the engine calls out to: Task handlers, the buckets of a Distributed Map, the
//! clock.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::{BucketError, Failure};

/// What a Task state calls.
#[async_trait]
pub trait TaskHandler: Send + Sync {
    async fn call(&self, input: Value) -> Result<Value, Failure>;

    /// The call, for a task that reports progress: each [`Heartbeat::beat`] restarts the
    /// state's `HeartbeatSeconds` timer (as SendTaskHeartbeat does in Step Functions).
    async fn call_with_heartbeat(
        &self,
        input: Value,
        _heartbeat: Heartbeat,
    ) -> Result<Value, Failure> {
        self.call(input).await
    }
}

/// A running task's "still alive" signal.
#[derive(Clone)]
pub struct Heartbeat(pub(super) Arc<tokio::sync::Notify>);

impl Heartbeat {
    pub(super) fn new() -> Self {
        Self(Arc::new(tokio::sync::Notify::new()))
    }

    pub fn beat(&self) {
        self.0.notify_one();
    }
}

struct BeatingHandler<F>(F);

#[async_trait]
impl<F, Fut> TaskHandler for BeatingHandler<F>
where
    F: Fn(Value, Heartbeat) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, Failure>> + Send,
{
    async fn call(&self, input: Value) -> Result<Value, Failure> {
        (self.0)(input, Heartbeat::new()).await
    }
    async fn call_with_heartbeat(&self, input: Value, hb: Heartbeat) -> Result<Value, Failure> {
        (self.0)(input, hb).await
    }
}

/// A handler from an async closure that is handed a [`Heartbeat`].
pub fn handler_with_heartbeat<F, Fut>(f: F) -> Arc<dyn TaskHandler>
where
    F: Fn(Value, Heartbeat) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, Failure>> + Send + 'static,
{
    Arc::new(BeatingHandler(f))
}

struct FnHandler<F>(F);

#[async_trait]
impl<F, Fut> TaskHandler for FnHandler<F>
where
    F: Fn(Value) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, Failure>> + Send,
{
    async fn call(&self, input: Value) -> Result<Value, Failure> {
        (self.0)(input).await
    }
}

/// A handler from an async closure.
pub fn handler<F, Fut>(f: F) -> Arc<dyn TaskHandler>
where
    F: Fn(Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, Failure>> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

/// Where a DISTRIBUTED Map's `ItemReader` reads and its `ResultWriter` writes (S3 in AWS,
/// the embedded object store locally).
#[async_trait]
pub trait Buckets: Send + Sync {
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, BucketError>;
    async fn put_object(&self, bucket: &str, key: &str, bytes: Vec<u8>) -> Result<(), BucketError>;
}

pub use medidocs_clock::{Clock, ManualClock, SystemClock};
