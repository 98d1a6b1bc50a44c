//! The crate's error type.
//!
//! Policy: every fallible function returns [`Result`]. An error says what went wrong, where (file,
//! record, field, line) and, where it helps, what to do. Bad input is never a panic. Findings of the
//! validator are *not* errors: they are data in a [`crate::validate::Report`]; an [`Error`] from the
//! validator means the validation itself could not run.

use std::path::{Path, PathBuf};

/// What kind of failure an [`Error`] is, for matching and exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Operating-system I/O failed.
    Io,
    /// An XML file is not well-formed or not in the expected shape.
    Xml,
    /// Input data is invalid: a missing mandatory field, a bad date, an unknown code value, a
    /// duplicate id, a broken reference.
    InvalidInput,
    /// A document file is missing, unreadable or not in an archive format.
    Document,
    /// The official XSD set is missing or incomplete.
    Schemas,
    /// A writer was driven in an order the Noark 5 structure does not allow (a programming error
    /// in the caller, reported instead of writing invalid XML).
    Order,
    /// An external tool (xmllint) is missing or failed to run.
    Tool,
    /// The output location is not usable (exists, not empty).
    Output,
    /// The input was refused because it has validation errors (packaging without `--force`).
    Rejected,
}

/// The crate's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// I/O on `path` failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done ("reading", "creating", ...).
        what: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An XML file could not be parsed or has an unexpected shape.
    #[error("{file}: byte {position}: {message}")]
    Xml {
        /// The file.
        file: PathBuf,
        /// Byte offset in the file where the problem was found.
        position: u64,
        /// What is wrong.
        message: String,
    },
    /// A record of the input is invalid.
    #[error("{record}: field `{field}`: {message}")]
    Invalid {
        /// Which record (file and line, or a human name such as "saksmappe 2023/12").
        record: String,
        /// The field name.
        field: String,
        /// What is wrong and what would be right.
        message: String,
    },
    /// A document file problem.
    #[error("document {path}: {message}")]
    Document {
        /// The document file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The XSD set is missing or incomplete.
    #[error(
        "Noark 5 schema set not usable: {message}. Give the folder holding the official \
         Noark 5 v5.0 XSDs (arkivstruktur.xsd, metadatakatalog.xsd, endringslogg.xsd, \
         loependeJournal.xsd, offentligJournal.xsd) and ADDML addml.xsd with --schemas or \
         HVELV_NOARK5_SCHEMAS. The official set is published by Arkivverket (the national archive) \
         at https://schema.arkivverket.no (folders N5/v5.0 and ADDML/latest) and in the GitHub \
         repository arkivverket/schemas."
    )]
    Schemas {
        /// The folder that was tried (empty when none was given).
        path: PathBuf,
        /// What is missing.
        message: String,
    },
    /// A writer was used out of order.
    #[error("writer used out of order: {0}")]
    Order(String),
    /// An external tool failed.
    #[error("{0}")]
    Tool(String),
    /// The output location is not usable.
    #[error("output {path}: {message}")]
    Output {
        /// The output folder.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The input was refused: the validator found errors in it.
    #[error("{path}: refused: {message}")]
    Rejected {
        /// The refused extract.
        path: PathBuf,
        /// Why, and how to proceed.
        message: String,
    },
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The kind, for matching.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } => ErrorKind::Io,
            Error::Xml { .. } => ErrorKind::Xml,
            Error::Invalid { .. } => ErrorKind::InvalidInput,
            Error::Document { .. } => ErrorKind::Document,
            Error::Schemas { .. } => ErrorKind::Schemas,
            Error::Order(_) => ErrorKind::Order,
            Error::Tool(_) => ErrorKind::Tool,
            Error::Output { .. } => ErrorKind::Output,
            Error::Rejected { .. } => ErrorKind::Rejected,
        }
    }

    /// An I/O error while doing `what` on `path`.
    pub fn io(what: &'static str, path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            what,
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// An invalid-input error for `record`, `field`.
    pub fn invalid(
        record: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            record: record.into(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// Replace the record name of an [`Error::Invalid`] (used when a lower layer did not know
    /// which record it was parsing). Other errors are returned unchanged.
    pub fn in_record(self, record: impl Into<String>) -> Self {
        match self {
            Error::Invalid { field, message, .. } => Error::Invalid {
                record: record.into(),
                field,
                message,
            },
            other => other,
        }
    }
}
