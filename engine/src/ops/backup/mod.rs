//! `backup`: walk paths, chunk and deduplicate file content, store new blobs in packs, then
//! write the index and finally the snapshot.
//!
//! Data path (see docs/DESIGN.md):
//! ```text
//! walker thread ──chunks──▶ seal workers (N threads) ──sealed blobs──▶ collector (async)
//!  read, chunk;              hash large chunks, dedup,                   packs, uploads,
//!  small chunks: hash        zstd + AES-256-GCM                          index files
//!      │                        │ ids of large chunks
//!      └──events (walk order)──▶ tree assembler thread: file contents, trees ──▶ workers
//! ```
//! Every channel is bounded, so memory stays bounded and a slow backend slows the walker.
//! Order of writes: packs, then an index file naming them, then the snapshot. A crash at any
//! point leaves earlier snapshots intact; packs written without an index are indexed by the
//! next backup ([`crate::IndexedRepository::recover_unindexed_packs`]) and their blobs reused.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::exclude::Patterns;
use super::fetch::{self, BlobReader};
use super::files_cache::{self, FilesCache};
use crate::crypto::KeyKind;
use crate::error::{Error, ErrorKind, Result};
use crate::fsmeta::Names;
use crate::gc::{JobKind, Lease};
use crate::progress::Progress;
use crate::repo::IndexedRepository;
use crate::snapshot::{Snapshot, SnapshotEntry, Summary};

mod assemble;
mod pipeline;
mod walk;

pub(crate) use pipeline::{collect, join_sealers, spawn_sealers, Job, JobId};
use pipeline::{Budget, Dedup, Sealed};
use walk::{devices_of, scan_totals, Walker};

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
        super::cores()
    };
    let keys = repo.keys().clone();
    let chunker = repo.chunker()?;
    let index = repo.index().clone();
    let level = repo.config().zstd_level;
    let (fetcher, fetch_rx) = fetch::channel(repo.backend());
    let reader = BlobReader {
        fetcher,
        index: index.clone(),
        keys: keys.clone(),
        opener: repo.opener().clone(),
    };
    // Everything this backup stores is sealed with one session's key.
    let session = repo.session()?;

    let dedup = Arc::new(Dedup::new(keys, index));
    let (job_tx, job_rx) = crossbeam_channel::bounded::<Job>(threads * 2);
    // Chunk bytes the walker may send ahead: one maximum-size chunk per worker, at least
    // 16 MiB (sixteen average chunks). Sealed blobs waiting for the pack writer are bounded by
    // the sealed channel.
    let budget = Budget::new((threads * chunker.params().max as usize).max(16 << 20));
    let (sealed_tx, sealed_rx) = mpsc::channel::<Sealed>(threads * 2);
    // The assembler rarely waits long, but a deep queue lets the walker run on while it does.
    let (event_tx, event_rx) = crossbeam_channel::bounded(64);

    let workers = spawn_sealers(
        &session,
        level,
        threads,
        Some(dedup.clone()),
        job_rx,
        sealed_tx,
    )?;

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

    let spawn_err =
        |e: std::io::Error| Error::new(ErrorKind::Io, format!("cannot start a thread: {e}"));
    // Tree assembler.
    let (assembled_tx, assembled_rx) = oneshot::channel();
    {
        let dedup = dedup.clone();
        let jobs = job_tx.clone();
        std::thread::Builder::new()
            .name("hvelv-trees".into())
            .spawn(move || {
                let _ = assembled_tx.send(assemble::assemble(event_rx, dedup, jobs, new_cache));
            })
            .map_err(spawn_err)?;
    }
    // Walker.
    let (walk_tx, walk_rx) = oneshot::channel();
    {
        let progress = progress.clone();
        let one_fs = opts.one_file_system;
        let paths = paths.clone();
        let cache_keys = cache_path.as_ref().map(|_| FilesCache::new(&dedup.keys));
        std::thread::Builder::new()
            .name("hvelv-walk".into())
            .stack_size(64 * 1024 * 1024)
            .spawn(move || {
                let mut w = Walker {
                    chunker,
                    dedup,
                    jobs: job_tx,
                    budget,
                    events: event_tx,
                    batch: Vec::with_capacity(walk::EVENT_BATCH),
                    reader,
                    patterns,
                    devices: None,
                    names: Names::new(),
                    linked: HashSet::new(),
                    summary: Summary::default(),
                    warnings: Vec::new(),
                    progress: &*progress,
                    old_cache,
                    cache_keys,
                    prefetched: HashMap::new(),
                    read_buf: Vec::new(),
                };
                w.devices = one_fs.then(|| devices_of(&paths));
                let r = w.run(&paths, parent_tree);
                // Close the channels before reporting, so the assembler and workers finish.
                drop(w.events);
                drop(w.jobs);
                let _ = walk_tx.send(r.map(|()| (w.summary, w.warnings)));
            })
            .map_err(spawn_err)?;
    }

    // Async side: serve parent-tree reads and collect sealed blobs into packs.
    let backend = repo.backend().clone();
    let serve = tokio::spawn(fetch::serve(backend, fetch_rx, 4));
    let collected = collect(repo, &session, sealed_rx).await;
    let thread_gone = |what: &str| {
        Error::new(
            ErrorKind::Io,
            format!("the backup {what} thread stopped unexpectedly"),
        )
    };
    let walked = walk_rx.await.unwrap_or_else(|_| Err(thread_gone("walker")));
    let assembled = assembled_rx
        .await
        .unwrap_or_else(|_| Err(thread_gone("tree assembly")));
    let sealed = join_sealers(workers);
    let _ = serve.await;
    let (walked, assembled, stats) = match (walked, assembled, sealed, collected) {
        (Ok(w), Ok(a), Ok(()), Ok(c)) => (w, a, c),
        (w, a, s, c) => {
            // One failure stops the other stages ("backup stopped"): report the cause.
            let errors = [w.err(), a.err(), s.err(), c.err()];
            let cause = errors
                .into_iter()
                .flatten()
                .min_by_key(|e| e.kind() == ErrorKind::Cancelled);
            return Err(cause.unwrap_or_else(|| thread_gone("walker")));
        }
    };
    let (mut summary, mut warnings) = walked;
    let root = assembled.root;
    let new_cache = assembled.new_cache;
    summary.bytes_added = assembled.bytes_added;

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
