//! Storage backends: where repository files live.
//!
//! # Contract (every implementation passes `conformance::run`)
//! * **Create-only writes.** [`Backend::create`] stores a whole file atomically under a name that
//!   must not exist yet; if it exists the call fails with [`ErrorKind::AlreadyExists`] and the
//!   stored file is unchanged. A reader never sees a partial file.
//! * **Durability.** When `create` returns, the file survives a crash or power loss (local: data
//!   and directory entry fsynced).
//! * **Idempotency.** Content-addressed names make a repeated `create` of the same bytes safe: the
//!   caller treats `AlreadyExists` for a content-addressed file as success after checking size.
//! * **Listing.** [`Backend::list`] returns every completely written file of a kind (never a
//!   temporary), possibly missing files created concurrently with the call.
//! * **Reads** return exactly the stored bytes or an error; [`ErrorKind::NotFound`] when missing.
//! * **Direct reads** (optional, [`Backend::direct_reader`]; the local backend) return what
//!   `read_range` returns, from the calling thread.
//! * **Staged files** (optional, [`Backend::staging_file`]; the local backend): a temporary file
//!   written in pieces, never listed, that [`Backend::commit_staged`] stores under the create
//!   rules above (durable, create-only); uncommitted or refused, it is removed.
//!
//! * **WORM mode** ([`Backend::set_object_lock`], S3 with Object Lock; simulated by
//!   [`MemoryBackend`]): retained kinds are written with a retention of at least the policy's
//!   days; `remove` of a file under retention fails with [`ErrorKind::Locked`] and changes
//!   nothing; [`Backend::retention`] reads it back. `conformance::run_worm` checks it.
//!
//! The trait is async: backends do I/O. The pure core never calls it; operations run CPU work
//! on threads and talk to the backend from async tasks.

mod fault;
mod local;
mod lock;
mod memory;
mod s3;
mod s3_raw;
mod s3_settings;
mod s3_worm;

pub mod conformance;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::{ErrorKind, Result};

pub use fault::FaultBackend;
pub use local::LocalBackend;
pub use lock::{format_until, locked_error, Held, LockMode, ObjectLock, Retention};
pub use memory::MemoryBackend;
pub use s3::{open_backend, S3Backend, S3Location, S3Options};
pub use s3_settings::{open_backend_with, read_credentials_file, S3Settings};

/// The kinds of files in a repository, each in its own namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    /// The single `config` file.
    Config,
    /// Key files (`keys/`).
    Key,
    /// Pack files (`data/xx/`).
    Pack,
    /// Index files (`index/`).
    Index,
    /// Snapshot files (`snapshots/`).
    Snapshot,
    /// Lock files (`locks/`): markers of running jobs (see [`crate::gc`]).
    Lock,
    /// Garbage-collection records (`gc/`): deletions planned and executed by prune.
    Gc,
    /// Records of `check --read-data-budget`: which pack was verified when (`verify/`).
    Verify,
    /// Archive records (`archive/`): fixity manifests and the fixity/removal events of archive
    /// snapshots (see [`crate::archive`]).
    Archive,
}

impl FileKind {
    /// Every kind, in layout order.
    pub const ALL: [FileKind; 9] = [
        FileKind::Config,
        FileKind::Key,
        FileKind::Pack,
        FileKind::Index,
        FileKind::Snapshot,
        FileKind::Lock,
        FileKind::Gc,
        FileKind::Verify,
        FileKind::Archive,
    ];
    /// The directory (or file name for config) of the kind.
    pub fn dir(self) -> &'static str {
        match self {
            FileKind::Config => "config",
            FileKind::Key => "keys",
            FileKind::Pack => "data",
            FileKind::Index => "index",
            FileKind::Snapshot => "snapshots",
            FileKind::Lock => "locks",
            FileKind::Gc => "gc",
            FileKind::Verify => "verify",
            FileKind::Archive => "archive",
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Config => "config",
            FileKind::Key => "key",
            FileKind::Pack => "pack",
            FileKind::Index => "index",
            FileKind::Snapshot => "snapshot",
            FileKind::Lock => "lock",
            FileKind::Gc => "gc record",
            FileKind::Verify => "verification record",
            FileKind::Archive => "archive record",
        })
    }
}

/// The path of a file relative to the repository root (`config`, `data/xx/<id>`, `<dir>/<id>`),
/// the one layout every backend uses. Rejects names that could escape their directory or
/// collide with temporary files.
pub(crate) fn relative_path(kind: FileKind, name: &str) -> Result<String> {
    if kind == FileKind::Config {
        return Ok("config".to_owned());
    }
    if name.is_empty()
        || name.starts_with('.')
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(crate::Error::invalid(format!(
            "invalid repository file name {name:?}"
        )));
    }
    Ok(match kind {
        FileKind::Pack => format!("data/{}/{name}", name.get(..2).unwrap_or("00")),
        _ => format!("{}/{name}", kind.dir()),
    })
}

/// Where repository files are stored. See the module docs for the contract.
#[async_trait]
pub trait Backend: Send + Sync + fmt::Debug {
    /// Human-readable location (path or URL) for messages.
    fn location(&self) -> String;
    /// How many pack writes a backup keeps in flight. Unless staged ([`Backend::staging_file`]),
    /// each holds a whole pack in memory (16 MiB by default): object stores hide request
    /// latency with several, a local disk gains nothing from more than one being written
    /// (fsynced) while the next is built.
    fn write_concurrency(&self) -> usize {
        4
    }
    /// Prepare an empty repository location; fails if a repository already exists there.
    async fn create_layout(&self) -> Result<()>;
    /// Store a new file atomically and durably; `AlreadyExists` if the name is taken.
    async fn create(&self, kind: FileKind, name: &str, data: Bytes) -> Result<()>;
    /// A new temporary file for an object of `kind` that the caller writes piece by piece
    /// and then stores with [`Backend::commit_staged`]. A backend on a local file system
    /// offers one, so a backup writes each pack to disk as it is built instead of holding
    /// whole packs in memory (restic's approach). `None` (the default): build the object in
    /// memory and [`Backend::create`] it.
    fn staging_file(&self, kind: FileKind) -> Option<Result<Staged>> {
        let _ = kind;
        None
    }
    /// Store a file from [`Backend::staging_file`] as `name`, with the guarantees of
    /// [`Backend::create`] (durable, atomic, `AlreadyExists` if the name is taken). The
    /// temporary file is gone afterwards, whatever the outcome.
    async fn commit_staged(&self, kind: FileKind, name: &str, staged: Staged) -> Result<()> {
        drop(staged);
        Err(crate::Error::new(
            ErrorKind::Unsupported,
            format!(
                "{} does not stage files (cannot store {kind} {name})",
                self.location()
            ),
        ))
    }
    /// Read a whole file.
    async fn read(&self, kind: FileKind, name: &str) -> Result<Bytes>;
    /// Read `length` bytes at `offset`; a short file is an error of kind `Corrupt`.
    async fn read_range(
        &self,
        kind: FileKind,
        name: &str,
        offset: u64,
        length: u64,
    ) -> Result<Bytes>;
    /// Positional reads from the calling (non-async) thread, when the backend can serve them
    /// without a request round trip: a local file system. A restore's workers then read packs
    /// directly instead of handing each blob to the runtime and waiting to be woken. `None`
    /// (the default): use [`Backend::read_range`].
    fn direct_reader(&self, kind: FileKind) -> Option<Arc<dyn DirectRead>> {
        let _ = kind;
        None
    }
    /// Names and sizes of all files of a kind.
    async fn list(&self, kind: FileKind) -> Result<Vec<(String, u64)>>;
    /// Remove a file; `NotFound` if absent.
    async fn remove(&self, kind: FileKind, name: &str) -> Result<()>;
    /// Remove leftovers of writes that were interrupted more than `older_than` ago (temporary
    /// files of a killed process); returns how many. Never touches a listed file. Backends
    /// without such leftovers keep the default.
    async fn remove_stale_temporaries(&self, older_than: std::time::Duration) -> Result<usize> {
        let _ = older_than;
        Ok(0)
    }
    /// Put this backend in WORM mode for a repository whose config records `policy`: from now
    /// on every file of a kind with [`FileKind::retained`] is written with a retention of at
    /// least `policy.days` days, and [`Backend::remove`] of a file under retention fails with
    /// [`ErrorKind::Locked`]. Called by `init` before [`Backend::create_layout`] and by every
    /// open. Backends without Object Lock refuse with [`ErrorKind::Unsupported`].
    async fn set_object_lock(&self, policy: ObjectLock) -> Result<()> {
        Err(crate::Error::new(
            ErrorKind::Unsupported,
            format!(
                "the repository at {} requires S3 Object Lock ({policy}), which only an S3 bucket \
                 with Object Lock enabled provides",
                self.location()
            ),
        ))
    }
    /// The WORM policy set with [`Backend::set_object_lock`], if any.
    fn object_lock(&self) -> Option<ObjectLock> {
        None
    }
    /// The retention the stored file carries (`None`: none). Only meaningful after
    /// [`Backend::set_object_lock`]; other backends answer `None` without a request.
    async fn retention(&self, kind: FileKind, name: &str) -> Result<Option<Retention>> {
        let _ = (kind, name);
        Ok(None)
    }
}

/// Blocking reads of one kind of file ([`Backend::direct_reader`]), with the same results as
/// [`Backend::read_range`].
pub trait DirectRead: Send + Sync + fmt::Debug {
    /// Read `length` bytes at `offset` of `name`; a short file is an error of kind `Corrupt`,
    /// a missing one `NotFound`.
    fn read_range(&self, name: &str, offset: u64, length: u64) -> Result<Bytes>;
}

/// Shared handle to a backend.
pub type DynBackend = Arc<dyn Backend>;

/// A temporary file from [`Backend::staging_file`]: written with positional writes (from any
/// thread), removed when dropped unless a [`Backend::commit_staged`] moved it into place.
#[derive(Debug)]
pub struct Staged {
    file: std::fs::File,
    path: std::path::PathBuf,
    committed: bool,
}

impl Staged {
    /// Wrap a new temporary file at `path` (for backends).
    pub fn new(file: std::fs::File, path: std::path::PathBuf) -> Staged {
        Staged {
            file,
            path,
            committed: false,
        }
    }
    /// Write all of `data` at `offset`.
    pub fn write_at(&self, data: &[u8], offset: u64) -> Result<()> {
        use std::os::unix::fs::FileExt;
        self.file
            .write_all_at(data, offset)
            .map_err(|e| crate::Error::io(format!("writing {}", self.path.display()), e))
    }
    /// The open file (for backends: fsync before moving it into place).
    pub fn file(&self) -> &std::fs::File {
        &self.file
    }
    /// Where it is.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
    /// Keep the file: it was moved into place (for backends).
    pub fn set_committed(&mut self) {
        self.committed = true;
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// [`Backend::commit_staged`] for content-addressed files, like [`create_content_addressed`].
pub async fn commit_content_addressed(
    be: &dyn Backend,
    kind: FileKind,
    name: &str,
    staged: Staged,
    len: u64,
) -> Result<()> {
    let r = be.commit_staged(kind, name, staged).await;
    ours_if_exists(be, kind, name, len, r).await
}

/// Store a content-addressed file: an earlier identical upload counts as success.
pub async fn create_content_addressed(
    be: &dyn Backend,
    kind: FileKind,
    name: &str,
    data: Bytes,
) -> Result<()> {
    let len = data.len() as u64;
    let r = be.create(kind, name, data).await;
    ours_if_exists(be, kind, name, len, r).await
}

/// `AlreadyExists` for a content-addressed name: the same name means the same BLAKE3 of the
/// bytes, so a stored file of the same size is our own earlier attempt (success).
async fn ours_if_exists(
    be: &dyn Backend,
    kind: FileKind,
    name: &str,
    len: u64,
    r: Result<()>,
) -> Result<()> {
    match r {
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let listed = be.list(kind).await?;
            match listed.iter().find(|(n, _)| n == name) {
                Some((_, size)) if *size == len => Ok(()),
                _ => Err(e.context(format!(
                    "{kind} {name} exists with a different size; run `hvelv check`"
                ))),
            }
        }
        r => r,
    }
}
