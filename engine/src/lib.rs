//! # hvelv-engine
//!
//! The backup engine of hvelv: a content-addressed, deduplicating, encrypted repository.
//!
//! * Pure core, no I/O: [`chunker`] (keyed FastCDC), [`crypto`] (keys, AES-256-GCM, Argon2id key
//!   files), [`blob`] (compress → encrypt → frame), [`pack`], [`index`], [`tree`], [`snapshot`].
//! * Storage edge, async: [`backend`] (contract + local/SAN + in-memory).
//! * Operations: [`Repository`] / [`IndexedRepository`] and [`ops`] (backup, restore, ls, diff,
//!   copy, check, repair, prune with the concurrency protocol in [`gc`], and the pure retention
//!   planner `ops::forget`); snapshot protection and key management on [`Repository`].
//! * Archive snapshots: [`archive`] (the tag, the sealed fixity manifest and event records) and
//!   `ops::archive` (reading a stored file back as a stream for fixity checks).
//!
//! `docs/DESIGN.md` describes the data path and concurrency model, `docs/FORMAT.md` the bytes.
//!
//! ```no_run
//! # async fn demo() -> hvelv_engine::Result<()> {
//! use std::sync::Arc;
//! use hvelv_engine::{backend::LocalBackend, ops, progress::NoProgress, InitOptions, Repository};
//! let be = Arc::new(LocalBackend::new("/srv/backup/repo"));
//! let repo = Repository::init(be, b"correct horse", InitOptions::default()).await?;
//! let mut repo = repo.load_index().await?;
//! let opts = ops::backup::BackupOptions { paths: vec!["/srv/share".into()], ..Default::default() };
//! let done = ops::backup::backup(&mut repo, &opts, Arc::new(NoProgress)).await?;
//! println!("snapshot {}", done.snapshot.id.short());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod archive;
pub mod backend;
pub mod blob;
pub mod chunker;
pub mod config;
pub mod crypto;
mod error;
pub mod format {
    //! Byte-level encodings shared by the on-disk structures.
    pub mod codec;
    pub mod sealed;
}
pub mod fsmeta;
pub mod gc;
mod id;
pub mod index;
pub mod ops;
pub mod pack;
pub mod progress;
mod repo;
pub mod snapshot;
pub mod tree;

pub use config::Config;
pub use error::{Error, ErrorKind, Result};
pub use id::{BlobId, FileId};
pub use repo::{IndexedRepository, InitOptions, KeyEntry, Recovery, Repository};
