//! The Medi-Advice document pipeline's domain: the document model and its status rules,
//! the ports (object store, metadata store, OCR engine), the OCR model, and the pipeline's
//! step handlers. No adapter, no file or network IO of its own: adapters are passed in.

pub mod access;
pub mod error;
pub mod keys;
pub mod migrate;
pub mod model;
pub mod ocr;
pub mod pacing;
pub mod ports;
pub mod replication;
pub mod runner;
pub mod steps;
pub mod textract;
pub mod watchdog;

pub use medidocs_media as media;
pub use medidocs_states as states;
