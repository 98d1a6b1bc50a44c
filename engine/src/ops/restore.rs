//! `restore`: recreate a snapshot (or part of it) in a target directory, byte- and
//! metadata-exact.
//!
//! A planner thread walks the trees, creates directories and special files and hands regular
//! files to worker threads, which fetch (with read-ahead), verify, decrypt and write them.
//! Hard links and directory metadata (times, modes) are applied last. A file already present
//! with the right size and content (checked against the chunk ids) is not rewritten, so an
//! interrupted restore can be re-run. A damaged blob is reported with the file it belongs to;
//! the file is written with that range zeroed and the rest of the restore goes on.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::exclude::Patterns;
use super::fetch::{self, BlobReader, ChunkPrefetch};
use crate::error::{Error, ErrorKind, Result};
use crate::fsmeta::{self, ApplyOptions, FileWriter, Names};
use crate::progress::Progress;
use crate::repo::IndexedRepository;
use crate::snapshot::SnapshotEntry;
use crate::tree::{Node, NodeKind, Tree};

/// Restore options.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Restore only entries matching these patterns (and what is below matching directories).
    pub includes: Vec<String>,
    /// Skip entries matching these patterns.
    pub excludes: Vec<String>,
    /// Worker threads (0: cores + 1).
    pub threads: usize,
    /// Use numeric uid/gid instead of names.
    pub numeric_ids: bool,
}

/// What a restore did.
#[derive(Debug, Clone, Default)]
pub struct RestoreOutcome {
    /// Regular files written.
    pub files_written: u64,
    /// Regular files already correct and left as they were.
    pub files_unchanged: u64,
    /// Directories restored.
    pub dirs: u64,
    /// Other entries (links, devices...).
    pub others: u64,
    /// Bytes of file content restored or verified.
    pub bytes: u64,
    /// Problems: each names the affected path. Empty means a complete restore.
    pub errors: Vec<String>,
    /// Non-fatal notes (ownership not settable as non-root...), at most 1000.
    pub warnings: Vec<String>,
}

/// Path of an entry inside the snapshot, for patterns and messages.
fn join_snap(parent: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = parent.to_vec();
    if p.last() != Some(&b'/') {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

fn os(p: &[u8]) -> &Path {
    Path::new(std::ffi::OsStr::from_bytes(p))
}

/// Find the node at `subpath` ("/a/b") in a snapshot; `None` for the root.
pub(crate) fn resolve(reader: &BlobReader, root: &Tree, subpath: &str) -> Result<Option<Node>> {
    let mut tree = root.clone();
    let comps: Vec<&str> = subpath
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    for (i, c) in comps.iter().enumerate() {
        let node = tree.get(c.as_bytes()).cloned().ok_or_else(|| {
            Error::not_found(format!("{subpath} is not in the snapshot (no entry {c:?})"))
        })?;
        if i + 1 == comps.len() {
            return Ok(Some(node));
        }
        let sub = node
            .subtree
            .filter(|_| node.kind() == NodeKind::Dir)
            .ok_or_else(|| {
                Error::not_found(format!(
                    "{subpath} is not in the snapshot ({c:?} is not a directory)"
                ))
            })?;
        tree = reader.tree(&sub)?;
    }
    Ok(None)
}

struct FileJob {
    path: PathBuf,
    snap_path: Vec<u8>,
    node: Node,
}

struct Shared {
    errors: Mutex<Vec<String>>,
    warnings: Mutex<Vec<String>>,
    counts: Mutex<RestoreOutcome>,
}

impl Shared {
    fn error(&self, msg: String, progress: &dyn Progress) {
        progress.warn(&msg);
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(msg);
    }
    fn warn(&self, msg: String) {
        let mut w = self.warnings.lock().unwrap_or_else(|p| p.into_inner());
        if w.len() < 1000 {
            w.push(msg);
        }
    }
}

/// Restore `snap` (or its `subpath`) into `target`.
pub async fn restore(
    repo: &IndexedRepository,
    snap: &SnapshotEntry,
    subpath: Option<&str>,
    target: &Path,
    opts: &RestoreOptions,
    progress: Arc<dyn Progress>,
) -> Result<RestoreOutcome> {
    repo.require_full("restore")?;
    let includes = Patterns::new(&opts.includes)?;
    let excludes = Patterns::new(&opts.excludes)?;
    std::fs::create_dir_all(target)
        .map_err(|e| Error::io(format!("creating target {}", target.display()), e))?;
    let (fetcher, rx) = fetch::channel(repo.backend());
    let reader = BlobReader {
        fetcher,
        index: repo.index().clone(),
        keys: repo.keys().clone(),
        opener: repo.opener().clone(),
    };
    let root_id = snap.snapshot.tree_id()?;
    let threads = if opts.threads > 0 {
        opts.threads
    } else {
        super::cores() + 1
    };
    let apply = ApplyOptions {
        numeric_ids: opts.numeric_ids,
        ..ApplyOptions::default()
    };
    let target = target.to_path_buf();
    let subpath = subpath.map(str::to_owned);
    let (tx, done) = oneshot::channel();
    std::thread::Builder::new()
        .name("hvelv-restore".into())
        .stack_size(64 * 1024 * 1024)
        .spawn(move || {
            let r = run(
                &reader,
                root_id,
                subpath.as_deref(),
                &target,
                &includes,
                &excludes,
                threads,
                &apply,
                &*progress,
            );
            drop(reader);
            let _ = tx.send(r);
        })
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot start a thread: {e}")))?;
    let serve = tokio::spawn(fetch::serve(repo.backend().clone(), rx, threads * 2));
    let r = done
        .await
        .map_err(|_| Error::new(ErrorKind::Io, "the restore thread stopped unexpectedly"))?;
    let _ = serve.await;
    r
}

#[allow(clippy::too_many_arguments)]
fn run(
    reader: &BlobReader,
    root_id: crate::BlobId,
    subpath: Option<&str>,
    target: &Path,
    includes: &Patterns,
    excludes: &Patterns,
    threads: usize,
    apply: &ApplyOptions,
    progress: &dyn Progress,
) -> Result<RestoreOutcome> {
    let root = reader.tree(&root_id)?;
    let start = match subpath {
        Some(s) => resolve(reader, &root, s)?,
        None => None,
    };
    let shared = Shared {
        errors: Mutex::new(Vec::new()),
        warnings: Mutex::new(Vec::new()),
        counts: Mutex::new(RestoreOutcome::default()),
    };
    let (job_tx, job_rx) = crossbeam_channel::bounded::<FileJob>(threads * 4);
    let mut planner = Planner {
        reader,
        includes,
        excludes,
        jobs: job_tx,
        links: Vec::new(),
        first_link: HashMap::new(),
        dirs: Vec::new(),
        shared: &shared,
        progress,
        names: Names::new(),
        apply,
    };
    std::thread::scope(|s| -> Result<()> {
        for _ in 0..threads {
            let rx = job_rx.clone();
            let shared = &shared;
            s.spawn(move || {
                let mut names = Names::new();
                for job in rx {
                    restore_file(reader, &job, apply, &mut names, shared, progress);
                }
            });
        }
        drop(job_rx);
        let base_snap: Vec<u8> = match subpath {
            Some(s) => {
                let t = s.trim_end_matches('/');
                if t.is_empty() {
                    b"/".to_vec()
                } else {
                    t.as_bytes().to_vec()
                }
            }
            None => b"/".to_vec(),
        };
        let r = match &start {
            None => planner.tree(&root, target, &base_snap, includes.is_empty()),
            Some(node) if node.kind() == NodeKind::Dir => {
                let sub = node
                    .subtree
                    .ok_or_else(|| Error::corrupt("directory without a tree"))?;
                let t = reader.tree(&sub)?;
                planner.dirs.push((target.to_path_buf(), node.clone()));
                planner.tree(&t, target, &base_snap, true)
            }
            Some(node) => {
                // A single entry goes into the target directory under its own name.
                let parent = base_snap
                    .rsplitn(2, |&b| b == b'/')
                    .nth(1)
                    .unwrap_or(b"/")
                    .to_vec();
                let parent = if parent.is_empty() {
                    b"/".to_vec()
                } else {
                    parent
                };
                planner.entry(node, &target.join(os(&node.name)), &parent, true)
            }
        };
        drop(std::mem::replace(
            &mut planner.jobs,
            crossbeam_channel::bounded(0).0,
        ));
        r
    })?;
    // Hard links after their first path is complete, then directory metadata deepest first.
    for (first, link, snap_path) in std::mem::take(&mut planner.links) {
        let _ = std::fs::remove_file(&link);
        if let Err(e) = std::fs::hard_link(&first, &link) {
            shared.error(
                format!(
                    "{}: cannot recreate hard link: {e}",
                    String::from_utf8_lossy(&snap_path)
                ),
                progress,
            );
        }
    }
    for (path, node) in planner.dirs.iter().rev() {
        match fsmeta::apply(path, node, apply, &mut planner.names) {
            Ok(w) => w.into_iter().for_each(|w| shared.warn(w)),
            Err(e) => shared.error(format!("{}: {e}", path.display()), progress),
        }
    }
    let mut out = shared
        .counts
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    out.errors = shared
        .errors
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    out.warnings = shared
        .warnings
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    Ok(out)
}

struct Planner<'a> {
    reader: &'a BlobReader,
    includes: &'a Patterns,
    excludes: &'a Patterns,
    jobs: crossbeam_channel::Sender<FileJob>,
    links: Vec<(PathBuf, PathBuf, Vec<u8>)>,
    first_link: HashMap<(u64, u64), PathBuf>,
    dirs: Vec<(PathBuf, Node)>,
    shared: &'a Shared,
    progress: &'a dyn Progress,
    names: Names,
    apply: &'a ApplyOptions,
}

impl Planner<'_> {
    fn tree(&mut self, tree: &Tree, dir: &Path, snap_dir: &[u8], selected: bool) -> Result<()> {
        for node in &tree.nodes {
            self.entry(node, &dir.join(os(&node.name)), snap_dir, selected)?;
        }
        Ok(())
    }

    fn entry(
        &mut self,
        node: &Node,
        path: &Path,
        snap_dir: &[u8],
        parent_selected: bool,
    ) -> Result<()> {
        let snap_path = join_snap(snap_dir, &node.name);
        if self.excludes.matches(os(&snap_path)) {
            return Ok(());
        }
        let selected = parent_selected || self.includes.matches(os(&snap_path));
        let shown = || String::from_utf8_lossy(&snap_path).into_owned();
        if node.kind() == NodeKind::Dir {
            if selected {
                if let Err(e) = ensure_dir(path) {
                    self.shared
                        .error(format!("{}: {e}", shown()), self.progress);
                    return Ok(());
                }
                self.dirs.push((path.to_path_buf(), node.clone()));
                self.shared
                    .counts
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .dirs += 1;
            }
            let Some(sub) = node.subtree else {
                self.shared.error(
                    format!("{}: directory without a tree", shown()),
                    self.progress,
                );
                return Ok(());
            };
            match self.reader.tree(&sub) {
                Ok(t) => self.tree(&t, path, &snap_path, selected)?,
                Err(e) => self.shared.error(
                    format!("{}: directory contents lost: {e}", shown()),
                    self.progress,
                ),
            }
            return Ok(());
        }
        if !selected {
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            if let Err(e) = ensure_dir(parent) {
                self.shared
                    .error(format!("{}: {e}", shown()), self.progress);
                return Ok(());
            }
        }
        if node.kind() == NodeKind::File {
            if node.nlink > 1 {
                let key = (node.dev, node.inode);
                if let Some(first) = self.first_link.get(&key) {
                    self.links
                        .push((first.clone(), path.to_path_buf(), snap_path));
                    return Ok(());
                }
                self.first_link.insert(key, path.to_path_buf());
            }
            self.progress.totals(0, node.size);
            self.jobs
                .send(FileJob {
                    path: path.to_path_buf(),
                    snap_path,
                    node: node.clone(),
                })
                .map_err(|_| Error::new(ErrorKind::Cancelled, "restore workers stopped"))?;
            return Ok(());
        }
        // Symlink, device, fifo, socket: replace whatever non-directory is there.
        if let Ok(m) = std::fs::symlink_metadata(path) {
            if !m.is_dir() {
                let _ = std::fs::remove_file(path);
            }
        }
        let r = fsmeta::create_special(path, node)
            .and_then(|_| fsmeta::apply(path, node, self.apply, &mut self.names));
        match r {
            Ok(w) => {
                w.into_iter().for_each(|w| self.shared.warn(w));
                self.shared
                    .counts
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .others += 1;
            }
            Err(e) => self
                .shared
                .error(format!("{}: {e}", shown()), self.progress),
        }
        Ok(())
    }
}

fn ensure_dir(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => {
            std::fs::remove_file(path)
                .map_err(|e| Error::io(format!("replacing {}", path.display()), e))?;
            std::fs::create_dir_all(path)
                .map_err(|e| Error::io(format!("creating {}", path.display()), e))
        }
        Err(_) => std::fs::create_dir_all(path)
            .map_err(|e| Error::io(format!("creating {}", path.display()), e)),
    }
}

/// True if `path` already holds exactly the node's content (checked chunk by chunk).
fn already_restored(reader: &BlobReader, path: &Path, node: &Node) -> bool {
    let Ok(m) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if !m.is_file() || m.len() != node.size {
        return false;
    }
    let Ok(mut f) = File::open(path) else {
        return false;
    };
    let mut buf = Vec::new();
    for id in &node.content {
        let Some(loc) = reader.index.get(id) else {
            return false;
        };
        buf.resize(loc.raw_length as usize, 0);
        if f.read_exact(&mut buf).is_err() || reader.keys.blob_id(&buf) != *id {
            return false;
        }
    }
    true
}

fn restore_file(
    reader: &BlobReader,
    job: &FileJob,
    apply: &ApplyOptions,
    names: &mut Names,
    shared: &Shared,
    progress: &dyn Progress,
) {
    let shown = String::from_utf8_lossy(&job.snap_path).into_owned();
    let node = &job.node;
    if already_restored(reader, &job.path, node) {
        match fsmeta::apply(&job.path, node, apply, names) {
            Ok(w) => w.into_iter().for_each(|w| shared.warn(w)),
            Err(e) => shared.error(format!("{shown}: {e}"), progress),
        }
        let mut c = shared.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.files_unchanged += 1;
        c.bytes += node.size;
        progress.files(1);
        progress.bytes(node.size);
        return;
    }
    let r = (|| -> Result<()> {
        if let Ok(m) = std::fs::symlink_metadata(&job.path) {
            if !m.is_file() {
                if m.is_dir() {
                    std::fs::remove_dir_all(&job.path)
                } else {
                    std::fs::remove_file(&job.path)
                }
                .map_err(|e| Error::io(format!("replacing {}", job.path.display()), e))?;
            }
        }
        let mut w = FileWriter::create(&job.path, node.is_sparse())?;
        let mut written = 0u64;
        let mut lost = Vec::new();
        for (_, raw_len, data) in ChunkPrefetch::new(reader, &node.content, 4) {
            match data {
                Ok(d) => {
                    w.write(&d)?;
                    written += d.len() as u64;
                    progress.bytes(d.len() as u64);
                }
                Err(e) => {
                    let n = raw_len.map(u64::from).unwrap_or(0);
                    lost.push(format!("bytes {written}..{}: {e}", written + n));
                    if n == 0 {
                        break;
                    }
                    w.write(&vec![0u8; n as usize])?;
                    written += n;
                }
            }
        }
        w.finish(node.size)?;
        fsmeta::apply(&job.path, node, apply, names)
            .map(|w| w.into_iter().for_each(|w| shared.warn(w)))?;
        if !lost.is_empty() {
            return Err(Error::corrupt(format!(
                "restored incompletely, damaged parts left as zeros: {}",
                lost.join("; ")
            )));
        }
        let mut c = shared.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.files_written += 1;
        c.bytes += written;
        Ok(())
    })();
    progress.files(1);
    if let Err(e) = r {
        shared.error(format!("{shown}: {e}"), progress);
    }
}
