//! Progress reporting from operations. The CLI renders it (progress bar or plain lines); the
//! engine only calls these methods, from any thread.

/// Receives progress events. Every method has a no-op default.
pub trait Progress: Send + Sync {
    /// A new phase started ("scanning", "backup", "restore"...).
    fn phase(&self, _name: &str) {}
    /// Totals are known (or grew): files and bytes expected.
    fn totals(&self, _files: u64, _bytes: u64) {}
    /// `n` more files were completed.
    fn files(&self, _n: u64) {}
    /// `n` more bytes were processed.
    fn bytes(&self, _n: u64) {}
    /// A non-fatal problem (file skipped, changed while read...).
    fn warn(&self, _msg: &str) {}
}

/// Progress that discards everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
