//! Adapters of the embedded runtime: objects on the filesystem, metadata in SQLite, OCR with
//! Tesseract, and [`LocalRuntime`], which wires them into the pipeline under one data dir.

pub mod drill;
mod fs;
mod private;
pub mod replication;
mod runtime;
pub mod search;
pub mod sqlite;
mod tesseract;

pub use fs::{FsObjectStore, check_key};
pub use private::{secure_data_dir, tighten_path};
pub use runtime::{
    FileIdentity, IngestError, LocalConfig, LocalRuntime, UPLOAD_BUCKET, identify, import_secret,
};
pub use sqlite::SqliteMetadataStore;
pub use tesseract::{PROBE_CHARS, TesseractOcr, WorkerCommand, parse_tsv};

/// The OCR worker's main (`medidocs ocr-worker`, `medidocs-ocr-worker`): reads pages from
/// standard input until it ends; answers the process's exit code.
pub fn ocr_worker_main() -> i32 {
    tesseract::worker::main()
}
