//! The engine's error type.
//!
//! Policy: every fallible engine function returns [`Result`]. Errors carry enough context for a
//! user to act (what, where, what to do); the CLI maps [`ErrorKind`] to documented exit codes.
//! Damaged or tampered repository data is always [`ErrorKind::Corrupt`], never a panic.

use std::fmt;

/// What kind of failure an [`Error`] is, for matching and exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Operating-system I/O failed (permissions, disk full, ...).
    Io,
    /// No key file could be opened with the given password.
    WrongPassword,
    /// Repository data failed authentication or structural checks.
    Corrupt,
    /// A repository object that should exist does not.
    NotFound,
    /// An object that must be created fresh already exists.
    AlreadyExists,
    /// The repository uses a format version or feature this build does not know.
    Unsupported,
    /// The caller's input is invalid (bad flag value, bad snapshot id, bad path...).
    InvalidInput,
    /// The storage backend failed (network, permission, ...).
    Backend,
    /// The operation was cancelled.
    Cancelled,
    /// Another job holds the repository in a way that conflicts (e.g. a second prune), or a
    /// concurrent job invalidated this one's work; nothing was damaged, retry later.
    Conflict,
    /// The repository was opened with a put-only key and the operation needs to read stored
    /// data (restore, list, forget, prune, key management...).
    PutOnly,
    /// The file is under S3 Object Lock retention: it cannot be deleted or overwritten before
    /// the date in the message (nothing was changed).
    Locked,
}

/// The engine's error: a kind, a human message with context, and an optional source.
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// Result alias used throughout the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attach an underlying cause.
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The kind, for matching.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without the source chain.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefix the message with more context (outermost first).
    pub fn context(mut self, ctx: impl fmt::Display) -> Self {
        self.message = format!("{ctx}: {}", self.message);
        self
    }

    /// I/O failure with a description of what was being done.
    pub fn io(what: impl fmt::Display, err: std::io::Error) -> Self {
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
            _ => ErrorKind::Io,
        };
        Error::new(kind, format!("{what}: {err}"))
    }

    /// Corrupt or tampered data.
    pub fn corrupt(what: impl fmt::Display) -> Self {
        Error::new(ErrorKind::Corrupt, what.to_string())
    }

    /// Invalid user input.
    pub fn invalid(what: impl fmt::Display) -> Self {
        Error::new(ErrorKind::InvalidInput, what.to_string())
    }

    /// A missing object.
    pub fn not_found(what: impl fmt::Display) -> Self {
        Error::new(ErrorKind::NotFound, what.to_string())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)?;
        if let Some(s) = &self.source {
            write!(f, " ({s})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}
