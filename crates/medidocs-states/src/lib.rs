//! Amazon States Language for the document pipeline: definitions are parsed strictly
//! (duplicate keys refused) and validated with errors that name the state and the field.
//! The JSONPath query language is the one the pipeline's state machines use; JSONata
//! definitions are checked for syntax (execution will refuse them with a clear error).
//!
//! The engine runs them: Task dispatch to registered handlers, Retry and Catch, Map and
//! Parallel, Wait through a clock, and GetExecutionHistory-shaped events.

pub mod engine;
pub mod intrinsics;
pub mod json;
pub mod paths;
pub mod validate;

pub use engine::{
    BucketError, Buckets, Clock, Engine, Execution, Failure, Heartbeat, ManualClock, Random,
    SystemClock, TaskHandler, handler, handler_with_heartbeat,
};
pub use validate::{QueryLanguage, ValidationError, validate, validate_text};
