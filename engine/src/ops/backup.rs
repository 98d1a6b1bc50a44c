//! `backup`: walk paths, chunk and deduplicate file content, store new blobs in packs, then
//! write the index and finally the snapshot.
//!
//! Data path (see docs/DESIGN.md):
//! ```text
//! walker thread ──chunks──▶ seal workers (N threads) ──sealed blobs──▶ collector (async)
//!  read, chunk, hash,        zstd + AES-256-GCM                          packs, uploads,
//!  dedup, build trees                                                    index files
//! ```
//! Every channel is bounded, so memory stays bounded and a slow backend slows the walker.
//! Order of writes: packs, then an index file naming them, then the snapshot. A crash at any
//! point leaves earlier snapshots intact; packs written without an index are indexed by the
//! next backup ([`crate::IndexedRepository::recover_unindexed_packs`]) and their blobs reused.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::exclude::Patterns;
use super::fetch::{self, BlobReader};
use super::files_cache::{CachedFile, FilesCache};
use crate::backend::{create_content_addressed, FileKind};
use crate::blob::{BlobSealer, BlobType};
use crate::chunker::{ChunkReader, Chunker};
use crate::crypto::{KeyKind, KeySet, Session};
use crate::error::{Error, ErrorKind, Result};
use crate::fsmeta::{self, Names};
use crate::gc::{JobKind, Lease};
use crate::id::BlobId;
use crate::index::{Index, IndexFile, IndexedPack};
use crate::pack::{FinishedPack, PackBuilder};
use crate::progress::Progress;
use crate::repo::IndexedRepository;
use crate::snapshot::{Snapshot, SnapshotEntry, Summary};
use crate::tree::{Node, NodeKind, Tree};

/// Which snapshot to compare against to skip unchanged files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ParentChoice {
    /// The newest snapshot of the same host and the same paths.
    #[default]
    Auto,
    /// Read every file.
    None,
    /// This snapshot (id or prefix).
    Id(String),
}

/// What to back up and how.
#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// Files and directories to back up.
    pub paths: Vec<PathBuf>,
    /// Host name recorded in the snapshot.
    pub host: String,
    /// Tags recorded in the snapshot.
    pub tags: Vec<String>,
    /// Exclude patterns (see [`Patterns`]).
    pub excludes: Vec<String>,
    /// Stay on the file systems of the given paths.
    pub one_file_system: bool,
    /// Parent snapshot choice.
    pub parent: ParentChoice,
    /// Seal worker threads (0: one per core).
    pub threads: usize,
    /// Count files and bytes first, for progress totals.
    pub scan_totals: bool,
    /// Directory of the local files cache that put-only keys use instead of the parent
    /// snapshot (which they cannot read); `None`: put-only backups read every file.
    pub cache_dir: Option<PathBuf>,
    /// Make it an archive snapshot (`hvelv archive put`; see [`crate::archive`]).
    pub archive: Option<crate::archive::ArchiveTag>,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            paths: Vec::new(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            tags: Vec::new(),
            excludes: Vec::new(),
            one_file_system: false,
            parent: ParentChoice::Auto,
            threads: 0,
            scan_totals: false,
            cache_dir: None,
            archive: None,
        }
    }
}

/// Result of a backup.
#[derive(Debug, Clone)]
pub struct BackupOutcome {
    /// The new snapshot.
    pub snapshot: SnapshotEntry,
    /// Non-fatal problems (unreadable files, files changed while read), at most 1000 kept.
    pub warnings: Vec<String>,
    /// Packs from an interrupted earlier run that were indexed and reused.
    pub packs_recovered: usize,
    /// Put-only keys: files found in the local files cache (`None`: no cache was used).
    pub cached_files: Option<usize>,
    /// How compressible this run's new file content was (not recorded in the snapshot).
    pub new_data: NewDataStats,
}

/// Plaintext bytes of the data blobs a backup stored, and how many of them did not compress.
///
/// A share of ordinary documents compresses; a night in which most new bytes do not (and
/// compression is enabled) is what mass encryption by ransomware looks like. Returned by the
/// operation only; the snapshot format does not carry it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct NewDataStats {
    /// Plaintext bytes of new data blobs.
    pub bytes: u64,
    /// Of those, bytes stored uncompressed (compression did not pay off or was skipped).
    pub bytes_incompressible: u64,
    /// False when the repository's compression level is 0 (then every byte is "incompressible").
    pub compression_enabled: bool,
}

impl NewDataStats {
    /// Share of new bytes that did not compress; `None` without new bytes or compression.
    pub fn incompressible_share(&self) -> Option<f64> {
        (self.compression_enabled && self.bytes > 0)
            .then(|| self.bytes_incompressible as f64 / self.bytes as f64)
    }
}

const MAX_WARNINGS: usize = 1000;
/// Packs per index file written during a backup.
const PACKS_PER_INDEX: usize = 32;

/// A blob to compress and encrypt.
pub(crate) struct Job {
    pub ty: BlobType,
    pub id: BlobId,
    pub data: Bytes,
}

/// A sealed blob on its way into a pack.
pub(crate) struct Sealed {
    ty: BlobType,
    id: BlobId,
    raw_len: u32,
    bytes: Vec<u8>,
}

/// Start `threads` seal workers reading `jobs` and sending to `sealed`; join them at the end.
/// They seal with `session`'s key.
pub(crate) fn spawn_sealers(
    session: &Session,
    level: i32,
    threads: usize,
    jobs: crossbeam_channel::Receiver<Job>,
    sealed: mpsc::Sender<Sealed>,
) -> Result<Vec<std::thread::JoinHandle<Result<()>>>> {
    let mut workers = Vec::new();
    for i in 0..threads {
        let rx = jobs.clone();
        let tx = sealed.clone();
        let mut sealer = BlobSealer::new(&session.sealer, level)?;
        let h = std::thread::Builder::new()
            .name(format!("hvelv-seal-{i}"))
            .spawn(move || -> Result<()> {
                for job in rx {
                    let bytes = sealer.seal(job.ty, &job.id, &job.data)?;
                    let s = Sealed {
                        ty: job.ty,
                        id: job.id,
                        raw_len: job.data.len() as u32,
                        bytes,
                    };
                    if tx.blocking_send(s).is_err() {
                        break;
                    }
                }
                Ok(())
            })
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot start a thread: {e}")))?;
        workers.push(h);
    }
    Ok(workers)
}

/// Wait for seal workers; the first error wins.
pub(crate) fn join_sealers(workers: Vec<std::thread::JoinHandle<Result<()>>>) -> Result<()> {
    for w in workers {
        match w.join() {
            Ok(r) => r?,
            Err(_) => return Err(Error::new(ErrorKind::Io, "a seal worker thread panicked")),
        }
    }
    Ok(())
}

/// Run a backup. The repository's index is updated in place.
///
/// The backup announces itself with a job marker before it relies on the index, so a prune
/// running at the same time never deletes data this backup references (see [`crate::gc`]).
pub async fn backup(
    repo: &mut IndexedRepository,
    opts: &BackupOptions,
    progress: Arc<dyn Progress>,
) -> Result<BackupOutcome> {
    let lease = Lease::acquire(repo, JobKind::Backup).await?;
    let r = async {
        repo.refresh_gc().await?;
        backup_with_marker(repo, opts, progress).await
    }
    .await;
    lease.release().await;
    r
}

async fn backup_with_marker(
    repo: &mut IndexedRepository,
    opts: &BackupOptions,
    progress: Arc<dyn Progress>,
) -> Result<BackupOutcome> {
    let started = chrono::Local::now();
    let clock = Instant::now();
    if opts.paths.is_empty() {
        return Err(Error::invalid("nothing to back up: give at least one path"));
    }
    let mut paths = Vec::new();
    for p in &opts.paths {
        paths.push(absolute(p)?);
    }
    paths.sort();
    paths.dedup();
    let patterns = Patterns::new(&opts.excludes)?;
    let recovery = repo.recover_unindexed_packs().await?;
    for p in &recovery.packs_unreadable {
        progress.warn(&format!(
            "pack {p} could not be read and was ignored (run `hvelv check`)"
        ));
    }

    let path_strings: Vec<String> = paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let put_only = repo.key_kind() == KeyKind::PutOnly;
    let parent = match &opts.parent {
        _ if put_only => None,
        ParentChoice::None => None,
        ParentChoice::Id(s) => Some(repo.find_snapshot(s, None).await?),
        ParentChoice::Auto => repo
            .snapshots()
            .await?
            .into_iter()
            .rev()
            .find(|s| s.snapshot.host == opts.host && s.snapshot.paths == path_strings),
    };
    // A put-only key cannot read snapshots: its parent shortcut is the local files cache.
    let cache_path = match (&opts.cache_dir, put_only) {
        (Some(dir), true) => Some(dir.join(FilesCache::file_name(
            repo.keys(),
            &repo.config().id,
            &opts.host,
            &path_strings,
        ))),
        _ => None,
    };
    if put_only && matches!(opts.parent, ParentChoice::Id(_)) {
        return Err(crate::crypto::put_only_refusal(
            "use a parent snapshot (a put-only key skips unchanged files with its local files \
             cache instead)",
        ));
    }
    let old_cache = match (&cache_path, &opts.parent) {
        (Some(p), ParentChoice::Auto) => match FilesCache::load(repo.keys(), p) {
            Ok(c) => c,
            Err(e) => {
                progress.warn(&format!("{e}; reading every file"));
                None
            }
        },
        _ => None,
    };
    let cached_files = old_cache.as_ref().map(FilesCache::len);
    let new_cache = cache_path.as_ref().map(|_| FilesCache::new(repo.keys()));
    let parent_tree = match &parent {
        Some(p) => Some(p.snapshot.tree_id()?),
        None => None,
    };

    let threads = if opts.threads > 0 {
        opts.threads
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    };
    let keys = repo.keys().clone();
    let chunker = repo.chunker()?;
    let index = repo.index().clone();
    let level = repo.config().zstd_level;
    let (fetcher, fetch_rx) = fetch::channel();
    let reader = BlobReader {
        fetcher,
        index: index.clone(),
        keys: keys.clone(),
        opener: repo.opener().clone(),
    };
    // Everything this backup stores is sealed with one session's key.
    let session = repo.session()?;

    let (job_tx, job_rx) = crossbeam_channel::bounded::<Job>(threads * 2);
    let (sealed_tx, sealed_rx) = mpsc::channel::<Sealed>(threads * 2);

    let workers = spawn_sealers(&session, level, threads, job_rx, sealed_tx)?;

    // Optional scanner for progress totals.
    if opts.scan_totals {
        let paths = paths.clone();
        let patterns = patterns.clone();
        let progress = progress.clone();
        let one_fs = opts.one_file_system;
        let _ = std::thread::Builder::new()
            .name("hvelv-scan".into())
            .spawn(move || scan_totals(&paths, &patterns, one_fs, &*progress));
    }

    // Walker.
    let (walk_tx, walk_rx) = oneshot::channel();
    {
        let progress = progress.clone();
        let one_fs = opts.one_file_system;
        let paths = paths.clone();
        std::thread::Builder::new()
            .name("hvelv-walk".into())
            .stack_size(64 * 1024 * 1024)
            .spawn(move || {
                let mut w = Walker {
                    keys: &keys,
                    chunker,
                    index: &index,
                    seen: HashSet::default(),
                    jobs: job_tx,
                    reader,
                    patterns,
                    devices: None,
                    names: Names::new(),
                    hardlinks: HashMap::new(),
                    summary: Summary::default(),
                    warnings: Vec::new(),
                    progress: &*progress,
                    old_cache,
                    new_cache,
                    prefetched: HashMap::new(),
                };
                w.devices = one_fs.then(|| devices_of(&paths));
                let r = w.run(&paths, parent_tree);
                let _ = walk_tx.send(r.map(|id| (id, w.summary, w.warnings, w.new_cache)));
            })
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot start a thread: {e}")))?;
    }

    // Async side: serve parent-tree reads and collect sealed blobs into packs.
    let backend = repo.backend().clone();
    let serve = tokio::spawn(fetch::serve(backend, fetch_rx, 4));
    let collected = collect(repo, &session, sealed_rx).await;
    let walked = walk_rx.await.map_err(|_| {
        Error::new(
            ErrorKind::Io,
            "the backup walker thread stopped unexpectedly",
        )
    })?;
    join_sealers(workers)?;
    let _ = serve.await;
    let (root, mut summary, mut warnings, new_cache) = walked?;
    let stats = collected?;

    let mut idx = (**repo.index()).clone();
    for p in &stats.packs {
        idx.add_pack(p.id, p.session, &p.entries);
    }
    repo.set_index(idx);

    summary.bytes_stored = stats.bytes_stored;
    summary.packs_written = stats.packs.len() as u64;
    summary.blobs_added = stats.blobs;
    summary.started = started.to_rfc3339();
    summary.seconds = clock.elapsed().as_secs_f64();
    let snapshot = Snapshot {
        time: started.to_rfc3339(),
        host: opts.host.clone(),
        user: std::env::var("USER").unwrap_or_else(|_| Names::new().user(unsafe_geteuid())),
        paths: path_strings,
        tags: opts.tags.clone(),
        tree: root.to_hex(),
        parent: parent.map(|p| p.id.to_hex()),
        summary,
        program: format!("hvelv {}", env!("CARGO_PKG_VERSION")),
        protected: false,
        replaces: None,
        original: None,
        repaired: None,
        archive: opts.archive.clone(),
    };
    let id = repo.commit_snapshot(&snapshot).await?;
    // Only after the snapshot is committed: the cache then names chunks that are stored.
    if let (Some(cache), Some(path)) = (new_cache, cache_path) {
        if let Err(e) = cache.save(&path) {
            let msg = format!("{e}; the next backup will read every file");
            progress.warn(&msg);
            warnings.push(msg);
        }
    }
    Ok(BackupOutcome {
        snapshot: SnapshotEntry { id, snapshot },
        warnings,
        packs_recovered: recovery.packs_recovered,
        cached_files,
        new_data: NewDataStats {
            bytes: stats.data_bytes,
            bytes_incompressible: stats.data_bytes_incompressible,
            compression_enabled: level > 0,
        },
    })
}

fn unsafe_geteuid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Absolute path without resolving a final symlink (a symlink given is backed up as a symlink).
fn absolute(p: &Path) -> Result<PathBuf> {
    std::fs::symlink_metadata(p)
        .map_err(|e| Error::invalid(format!("cannot back up {}: {e}", p.display())))?;
    let abs = std::path::absolute(p)
        .map_err(|e| Error::invalid(format!("cannot resolve {}: {e}", p.display())))?;
    match (abs.parent(), abs.file_name()) {
        (Some(parent), Some(name)) if name != ".." => {
            let parent = parent
                .canonicalize()
                .map_err(|e| Error::invalid(format!("cannot resolve {}: {e}", parent.display())))?;
            Ok(parent.join(name))
        }
        _ => abs
            .canonicalize()
            .map_err(|e| Error::invalid(format!("cannot resolve {}: {e}", abs.display()))),
    }
}

/// What [`collect`] stored.
#[derive(Default)]
pub(crate) struct CollectStats {
    pub packs: Vec<IndexedPack>,
    pub bytes_stored: u64,
    pub blobs: u64,
    /// Plaintext bytes of data blobs, and of those stored without compression.
    pub data_bytes: u64,
    pub data_bytes_incompressible: u64,
}

/// Gather sealed blobs into packs, upload them, and write index files (every
/// `PACKS_PER_INDEX` packs and at the end).
pub(crate) async fn collect(
    repo: &IndexedRepository,
    session: &Session,
    mut rx: mpsc::Receiver<Sealed>,
) -> Result<CollectStats> {
    let pack_size = repo.config().pack_size as usize;
    let data_cap = pack_size + pack_size / 8;
    let tree_cap = 1024 * 1024;
    let mut data = PackBuilder::with_capacity(data_cap);
    let mut tree = PackBuilder::with_capacity(tree_cap);
    let mut uploads = tokio::task::JoinSet::new();
    let mut stats = CollectStats::default();
    let mut pending_index = IndexFile::default();
    // Buffers of stored packs, reused for the next ones: a fresh 18 MiB buffer per pack costs
    // page faults, and with glibc's malloc it raised the peak RSS (benches/README.md).
    let mut spare: Vec<Vec<u8>> = Vec::new();
    let write_concurrency = repo.backend().write_concurrency().max(1);

    type Upload = Result<(IndexedPack, Option<Vec<u8>>)>;
    /// Record a finished upload in the pending index file and keep its buffer.
    fn record(
        r: std::result::Result<Upload, tokio::task::JoinError>,
        pending: &mut IndexFile,
        spare: &mut Vec<Vec<u8>>,
    ) -> Result<()> {
        let (p, buf) =
            r.map_err(|e| Error::new(ErrorKind::Io, format!("upload task failed: {e}")))??;
        pending.packs.push(p);
        if let Some(b) = buf.filter(|_| spare.is_empty()) {
            spare.push(b);
        }
        Ok(())
    }
    async fn finish_one(
        uploads: &mut tokio::task::JoinSet<Upload>,
        pending: &mut IndexFile,
        spare: &mut Vec<Vec<u8>>,
    ) -> Result<()> {
        match uploads.join_next().await {
            Some(r) => record(r, pending, spare),
            None => Ok(()),
        }
    }

    let start_upload = |uploads: &mut tokio::task::JoinSet<_>, b: PackBuilder| -> Result<()> {
        let FinishedPack {
            id,
            bytes,
            session,
            entries,
        } = b.finish(session)?;
        let be = repo.backend().clone();
        uploads.spawn(async move {
            let bytes = Bytes::from(bytes);
            create_content_addressed(&*be, FileKind::Pack, &id.to_hex(), bytes.clone()).await?;
            // The backend has let go of its references: take the buffer back.
            let buf = bytes.try_into_mut().ok().map(Vec::from);
            Ok((
                IndexedPack {
                    id,
                    session,
                    entries,
                },
                buf,
            ))
        });
        Ok(())
    };

    let mut all: Vec<IndexedPack> = Vec::new();
    while let Some(s) = rx.recv().await {
        stats.bytes_stored += s.bytes.len() as u64;
        stats.blobs += 1;
        if s.ty == BlobType::Data {
            stats.data_bytes += u64::from(s.raw_len);
            // A stored (uncompressed) blob is exactly flag + plaintext + AEAD overhead; a
            // compressed one is always shorter (blob.rs keeps zstd output only when it saves).
            if s.bytes.len() >= s.raw_len as usize + 1 + crate::crypto::SEAL_OVERHEAD {
                stats.data_bytes_incompressible += u64::from(s.raw_len);
            }
        }
        let (builder, limit) = match s.ty {
            BlobType::Data => (&mut data, pack_size),
            BlobType::Tree => (&mut tree, pack_size / 4),
        };
        builder.add(s.ty, s.id, s.raw_len, &s.bytes);
        if builder.size() >= limit {
            while uploads.len() >= write_concurrency {
                finish_one(&mut uploads, &mut pending_index, &mut spare).await?;
            }
            let next = match (s.ty, spare.pop()) {
                (BlobType::Data, Some(buf)) => PackBuilder::with_buffer(buf, data_cap),
                (BlobType::Data, None) => PackBuilder::with_capacity(data_cap),
                (BlobType::Tree, _) => PackBuilder::with_capacity(tree_cap),
            };
            let full = std::mem::replace(builder, next);
            start_upload(&mut uploads, full)?;
        }
        while let Some(r) = uploads.try_join_next() {
            record(r, &mut pending_index, &mut spare)?;
        }
        if pending_index.packs.len() >= PACKS_PER_INDEX {
            repo.save_index(&pending_index).await?;
            all.append(&mut pending_index.packs);
        }
    }
    for b in [data, tree] {
        if b.count() > 0 {
            start_upload(&mut uploads, b)?;
        }
    }
    while !uploads.is_empty() {
        finish_one(&mut uploads, &mut pending_index, &mut spare).await?;
    }
    if !pending_index.packs.is_empty() {
        repo.save_index(&pending_index).await?;
        all.append(&mut pending_index.packs);
    }
    stats.packs = all;
    Ok(stats)
}

/// A directory whose listed children are the backup paths below it (not its full content).
#[derive(Default)]
struct VirtualDir {
    path: PathBuf,
    children: BTreeMap<Vec<u8>, Entry>,
}

enum Entry {
    Real(PathBuf),
    Virtual(VirtualDir),
}

fn build_virtual_root(paths: &[PathBuf]) -> VirtualDir {
    let mut root = VirtualDir {
        path: PathBuf::from("/"),
        children: BTreeMap::new(),
    };
    'paths: for p in paths {
        let comps: Vec<&[u8]> = p
            .components()
            .filter_map(|c| match c {
                std::path::Component::Normal(n) => Some(n.as_bytes()),
                _ => None,
            })
            .collect();
        let mut dir = &mut root;
        let mut cur = PathBuf::from("/");
        for (i, c) in comps.iter().enumerate() {
            cur.push(std::ffi::OsStr::from_bytes(c));
            if i + 1 == comps.len() {
                dir.children.insert(c.to_vec(), Entry::Real(cur.clone()));
                continue 'paths;
            }
            let e = dir.children.entry(c.to_vec()).or_insert_with(|| {
                Entry::Virtual(VirtualDir {
                    path: cur.clone(),
                    children: BTreeMap::new(),
                })
            });
            match e {
                Entry::Real(_) => continue 'paths, // covered by an enclosing path
                Entry::Virtual(v) => dir = v,
            }
        }
    }
    root
}

struct Walker<'a> {
    keys: &'a KeySet,
    chunker: Chunker,
    index: &'a Index,
    seen: HashSet<BlobId, std::hash::BuildHasherDefault<crate::index::IdHasher>>,
    jobs: crossbeam_channel::Sender<Job>,
    reader: BlobReader,
    patterns: Patterns,
    devices: Option<HashSet<u64>>,
    names: Names,
    hardlinks: HashMap<(u64, u64), Vec<BlobId>>,
    summary: Summary,
    warnings: Vec<String>,
    progress: &'a dyn Progress,
    /// Put-only keys: the files of the last backup, by keyed path hash.
    old_cache: Option<FilesCache>,
    /// Put-only keys: the files of this backup, saved after the snapshot is committed.
    new_cache: Option<FilesCache>,
    /// Parent subtrees requested ahead of the walk (see [`Walker::prefetch_subtrees`]).
    prefetched: HashMap<BlobId, Result<(crate::index::Location, fetch::Pending)>>,
}

/// Parent subtrees requested ahead at most; each is a small read.
const MAX_PREFETCHED_TREES: usize = 256;

impl Walker<'_> {
    fn warn(&mut self, msg: String) {
        self.progress.warn(&msg);
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(msg);
        }
    }

    fn run(&mut self, paths: &[PathBuf], parent: Option<BlobId>) -> Result<BlobId> {
        let parent = match parent {
            Some(id) => match self.reader.tree(&id) {
                Ok(t) => Some(t),
                Err(e) => {
                    self.warn(format!(
                        "parent snapshot unreadable, reading every file: {e}"
                    ));
                    None
                }
            },
            None => None,
        };
        if paths.iter().any(|p| p.as_os_str() == "/") {
            return self.dir(Path::new("/"), parent.as_ref());
        }
        let root = build_virtual_root(paths);
        self.virtual_dir(&root, parent.as_ref())
    }

    /// Request the subtrees of `parent`'s directories before the walk reaches them, so the
    /// walker rarely waits for a read: an unchanged re-run reads one parent tree per
    /// directory, and waiting for each in turn cost a thread hand-off apiece.
    fn prefetch_subtrees(&mut self, parent: Option<&Tree>) {
        let Some(t) = parent else { return };
        for n in &t.nodes {
            if self.prefetched.len() >= MAX_PREFETCHED_TREES {
                break;
            }
            if let (NodeKind::Dir, Some(id)) = (n.kind(), n.subtree) {
                if !self.prefetched.contains_key(&id) {
                    let r = self.reader.request(BlobType::Tree, &id);
                    self.prefetched.insert(id, r);
                }
            }
        }
    }

    /// Drop what was requested for `parent` and not used (directories removed or excluded
    /// since), so stale requests never use up the prefetch budget.
    fn forget_prefetched(&mut self, parent: Option<&Tree>) {
        if self.prefetched.is_empty() {
            return;
        }
        for n in parent.map_or(&[][..], |t| &t.nodes) {
            if let Some(id) = n.subtree {
                self.prefetched.remove(&id);
            }
        }
    }

    fn parent_subtree(&mut self, parent: Option<&Node>) -> Option<Tree> {
        let id = parent.filter(|n| n.kind() == NodeKind::Dir)?.subtree?;
        let read = match self.prefetched.remove(&id) {
            Some(Ok((loc, pending))) => self
                .reader
                .finish(BlobType::Tree, &id, loc, pending)
                .and_then(|b| {
                    Tree::decode(&b).map_err(|e| e.context(format!("tree {}", id.short())))
                }),
            Some(Err(e)) => Err(e),
            None => self.reader.tree(&id),
        };
        match read {
            Ok(t) => Some(t),
            Err(e) => {
                self.warn(format!("parent tree unreadable, reading files again: {e}"));
                None
            }
        }
    }

    fn virtual_dir(&mut self, v: &VirtualDir, parent: Option<&Tree>) -> Result<BlobId> {
        self.prefetch_subtrees(parent);
        let mut nodes = Vec::with_capacity(v.children.len());
        for (name, e) in &v.children {
            let pnode = parent.and_then(|t| t.get(name));
            match e {
                Entry::Real(path) => {
                    if let Some(n) = self.entry(path, pnode)? {
                        nodes.push(n);
                    }
                }
                Entry::Virtual(sub) => {
                    let md = std::fs::symlink_metadata(&sub.path)
                        .map_err(|e| Error::io(format!("reading {}", sub.path.display()), e))?;
                    let (mut node, warns) = fsmeta::capture(&sub.path, &md, &mut self.names)?;
                    warns.into_iter().for_each(|w| self.warn(w));
                    let ptree = self.parent_subtree(pnode);
                    node.subtree = Some(self.virtual_dir(sub, ptree.as_ref())?);
                    self.summary.dirs += 1;
                    nodes.push(node);
                }
            }
        }
        self.forget_prefetched(parent);
        self.save_tree(nodes)
    }

    fn save_tree(&mut self, nodes: Vec<Node>) -> Result<BlobId> {
        let tree = Tree { nodes };
        let bytes = tree.encode();
        let id = self.keys.blob_id(&bytes);
        if !self.index.dedup_hit(&id) && self.seen.insert(id) {
            self.send(BlobType::Tree, id, Bytes::from(bytes))?;
        }
        Ok(id)
    }

    fn send(&mut self, ty: BlobType, id: BlobId, data: Bytes) -> Result<()> {
        self.jobs.send(Job { ty, id, data }).map_err(|_| {
            Error::new(
                ErrorKind::Cancelled,
                "backup stopped: the storage side failed",
            )
        })
    }

    fn dir(&mut self, path: &Path, parent: Option<&Tree>) -> Result<BlobId> {
        self.prefetch_subtrees(parent);
        let mut entries = Vec::new();
        match std::fs::read_dir(path) {
            Ok(rd) => {
                for e in rd {
                    match e {
                        Ok(e) => entries.push(e.file_name()),
                        Err(e) => {
                            self.summary.errors += 1;
                            self.warn(format!("cannot list {}: {e}", path.display()));
                        }
                    }
                }
            }
            Err(e) => {
                self.summary.errors += 1;
                self.warn(format!(
                    "cannot list {} (stored empty): {e}",
                    path.display()
                ));
            }
        }
        entries.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let mut nodes = Vec::with_capacity(entries.len());
        for name in entries {
            let child = path.join(&name);
            let pnode = parent.and_then(|t| t.get(name.as_bytes()));
            if let Some(n) = self.entry(&child, pnode)? {
                nodes.push(n);
            }
        }
        self.forget_prefetched(parent);
        self.save_tree(nodes)
    }

    /// One entry; `None` when excluded or unreadable (reported).
    fn entry(&mut self, path: &Path, parent: Option<&Node>) -> Result<Option<Node>> {
        if self.patterns.matches(path) {
            return Ok(None);
        }
        let md = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.summary.errors += 1;
                self.warn(format!("skipped {}: {e}", path.display()));
                return Ok(None);
            }
        };
        let (mut node, warns) = match fsmeta::capture(path, &md, &mut self.names) {
            Ok(x) => x,
            Err(e) => {
                self.summary.errors += 1;
                self.warn(format!("skipped {}: {e}", path.display()));
                return Ok(None);
            }
        };
        warns.into_iter().for_each(|w| self.warn(w));
        match node.kind() {
            NodeKind::Dir => {
                self.summary.dirs += 1;
                let other_fs = self
                    .devices
                    .as_ref()
                    .is_some_and(|d| !d.contains(&md.dev()));
                node.subtree = Some(if other_fs {
                    self.save_tree(Vec::new())?
                } else {
                    let ptree = self.parent_subtree(parent);
                    self.dir(path, ptree.as_ref())?
                });
            }
            NodeKind::File => {
                if !self.file(path, &mut node, parent)? {
                    return Ok(None);
                }
                self.progress.files(1);
            }
            _ => self.summary.others += 1,
        }
        Ok(Some(node))
    }

    /// Fill `node.content`; false when the file could not be read (reported, skipped).
    fn file(&mut self, path: &Path, node: &mut Node, parent: Option<&Node>) -> Result<bool> {
        self.summary.bytes_total += node.size;
        let link_key = (node.dev, node.inode);
        if node.nlink > 1 {
            if let Some(content) = self.hardlinks.get(&link_key) {
                node.content = content.clone();
                self.summary.files_unchanged += 1;
                self.progress.bytes(node.size);
                return Ok(true);
            }
        }
        if let Some(p) = parent.filter(|p| p.kind() == NodeKind::File) {
            if fsmeta::unchanged(p, node) && p.content.iter().all(|id| self.index.dedup_hit(id)) {
                node.content = p.content.clone();
                self.summary.files_unchanged += 1;
                self.progress.bytes(node.size);
                if node.nlink > 1 {
                    self.hardlinks.insert(link_key, node.content.clone());
                }
                self.remember(path, node);
                return Ok(true);
            }
        }
        let cache_key = self.new_cache.as_ref().map(|c| c.path_key(path));
        let cached = match (&self.old_cache, &cache_key) {
            (Some(c), Some(k)) => c.get(k),
            _ => None,
        };
        let was_cached = cached.is_some();
        if let Some(c) = cached {
            if c.unchanged(node) && c.content.iter().all(|id| self.index.dedup_hit(id)) {
                node.content = c.content.clone();
                self.summary.files_unchanged += 1;
                self.progress.bytes(node.size);
                if node.nlink > 1 {
                    self.hardlinks.insert(link_key, node.content.clone());
                }
                self.remember(path, node);
                return Ok(true);
            }
        }
        let f = match open_noatime(path) {
            Ok(f) => f,
            Err(e) => {
                self.summary.errors += 1;
                self.warn(format!("skipped {}: {e}", path.display()));
                return Ok(false);
            }
        };
        let mut content =
            Vec::with_capacity((node.size / u64::from(self.chunker.params().avg)) as usize + 1);
        let mut read = 0u64;
        for chunk in ChunkReader::new(&self.chunker, f) {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    self.summary.errors += 1;
                    self.warn(format!(
                        "skipped {} (read failed after {read} bytes): {e}",
                        path.display()
                    ));
                    return Ok(false);
                }
            };
            let id = self.keys.blob_id(&chunk);
            read += chunk.len() as u64;
            self.progress.bytes(chunk.len() as u64);
            if !self.index.dedup_hit(&id) && self.seen.insert(id) {
                self.summary.bytes_added += chunk.len() as u64;
                self.send(BlobType::Data, id, chunk)?;
            }
            content.push(id);
        }
        self.summary.bytes_read += read;
        match std::fs::symlink_metadata(path) {
            Ok(m)
                if m.len() == node.size
                    && m.mtime() == node.mtime.secs
                    && m.mtime_nsec() as u32 == node.mtime.nanos
                    && read == node.size => {}
            _ => self.warn(format!(
                "{} changed while it was read; the stored copy ({read} bytes) may mix old and new content",
                path.display()
            )),
        }
        node.size = read;
        node.content = content;
        if parent.is_some() || was_cached {
            self.summary.files_changed += 1;
        } else {
            self.summary.files_new += 1;
        }
        if node.nlink > 1 {
            self.hardlinks.insert(link_key, node.content.clone());
        }
        self.remember(path, node);
        Ok(true)
    }

    /// Put-only keys: note the stored file in the new files cache.
    fn remember(&mut self, path: &Path, node: &Node) {
        if let Some(c) = &mut self.new_cache {
            let k = c.path_key(path);
            c.insert(k, CachedFile::of(node));
        }
    }
}

fn open_noatime(path: &Path) -> std::io::Result<File> {
    match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOATIME)
        .open(path)
    {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => File::open(path),
        r => r,
    }
}

/// The file systems (st_dev) of the backup paths: `--one-file-system` stays on these.
fn devices_of(paths: &[PathBuf]) -> HashSet<u64> {
    paths
        .iter()
        .filter_map(|p| std::fs::symlink_metadata(p).ok().map(|m| m.dev()))
        .collect()
}

/// Count files and bytes for progress totals (metadata only).
fn scan_totals(paths: &[PathBuf], patterns: &Patterns, one_fs: bool, progress: &dyn Progress) {
    let devices = one_fs.then(|| devices_of(paths));
    let (mut files, mut bytes) = (0u64, 0u64);
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = stack.pop() {
        if patterns.matches(&p) {
            continue;
        }
        let Ok(md) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if md.is_file() {
            files += 1;
            bytes += md.len();
        } else if md.is_dir() && devices.as_ref().is_none_or(|d| d.contains(&md.dev())) {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        }
        if files % 4096 == 0 {
            progress.totals(files, bytes);
        }
    }
    progress.totals(files, bytes);
}
