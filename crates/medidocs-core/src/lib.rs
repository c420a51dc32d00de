//! The Medi-Advice document pipeline's domain: the document model and its status rules,
//! identities and keys, the ports (object store, metadata store, OCR engine, starter),
//! the OCR model, access rules, and the rules that watch, migrate and replicate records.
//! No adapter, no file or network IO of its own, and nothing of the pipeline's machinery
//! (step handlers, state machine engine, decoders: `medidocs-pipeline`).

pub mod access;
pub mod clock;
pub mod fhir;
pub mod identity;
pub mod inputs;
pub mod keys;
pub mod language;
pub mod layout;
pub mod listing;
pub mod migrate;
pub mod model;
pub mod ocr;
pub mod pacing;
pub mod ports;
pub mod replication;
pub mod reread;
pub mod search;
pub mod textlayer;
pub mod textract;
pub mod understand;
pub mod watchdog;
