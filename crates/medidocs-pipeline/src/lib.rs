//! The document pipeline: the step handlers ([`steps`]) bound to the domain's ports, the
//! [`Step`] list they are dispatched by, the step errors the state machine's Retry and
//! Catch rules match, and the [`runner`] that executes the state machine files on this
//! machine with the in-process States Language engine.

pub mod error;
pub mod runner;
pub mod step;
pub mod steps;

pub use step::Step;
