//! Amazon States Language for the document pipeline: definitions are parsed strictly
//! (duplicate keys refused) and validated with errors that name the state and the field.
//! The JSONPath query language is the one the pipeline's state machines use; JSONata
//! definitions are checked for syntax (execution will refuse them with a clear error).
//!
//! Execution (Task dispatch, Retry/Catch, Map, Parallel, history) is the next increment.

pub mod intrinsics;
pub mod json;
pub mod paths;
pub mod validate;

pub use validate::{QueryLanguage, ValidationError, validate, validate_text};
