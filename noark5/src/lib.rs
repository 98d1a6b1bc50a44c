//! hvelv Noark 5 archive layer: a typed Noark 5 v5.0 model, streaming writers for every XML file
//! of an arkivuttrekk, an extract builder, importers, and an Arkade-equivalent validator.
//!
//! # Data flow
//! ```text
//! source (existing extract | JSON Lines case export | health export)
//!    └─> model (typed, code lists as enums) ─> ExtractBuilder
//!          ├─ arkivstruktur.xml   streamed, one folder subtree at a time
//!          ├─ DOKUMENT/…          files copied, format identified, SHA-256 + size recorded
//!          ├─ journal fragments   spooled to disk, sorted by (journalår, sekvensnummer)
//!          ├─ loependeJournal.xml / offentligJournal.xml / endringslogg.xml
//!          ├─ the official XSDs   copied from the user's schema folder
//!          └─ arkivuttrekk.xml    written last, from the final bytes of every file
//! package::create(extract) ─> {uuid}.tar (DIAS SIP, streamed) + {uuid}.xml; package::check_package(tar)
//! validate::validate(dir) ─> Report (rule ids N5.01–N5.64 as Arkade 5 numbers them, plus HV.* rules)
//! ```
//!
//! # Invariants
//! - No empty elements are written; element order is the XSD's; systemIDs are UUIDs.
//! - Every checksum and size is computed from the bytes on disk after the file is closed.
//! - An extract is built in a `*.partial` folder and renamed into place only when complete, so
//!   a failed run never leaves a folder that looks like a finished extract.
//! - This crate does not depend on the backup engine.

#![warn(missing_docs)]

pub mod codes;
mod digest;
mod error;
pub mod extract;
pub mod format;
pub mod id;
pub mod model;
pub mod package;
pub mod schemas;
pub mod source;
pub mod time;
pub mod validate;
pub mod xml;

pub use digest::sha256_file;
pub use error::{Error, ErrorKind, Result};
pub use id::SystemId;
