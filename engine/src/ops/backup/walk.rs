//! The walker: lists directories, compares files with the parent snapshot, reads and chunks
//! changed files, and describes everything to the tree assembler in walk order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::assemble::{ChunkId, Content, Event};
use super::files_cache::FilesCache;
use super::pipeline::{stopped, Budget, Dedup, Job, JobId};
use super::MAX_WARNINGS;
use crate::blob::BlobType;
use crate::chunker::{ChunkReader, Chunker};
use crate::error::{Error, Result};
use crate::fsmeta::{self, Names};
use crate::id::BlobId;
use crate::ops::exclude::Patterns;
use crate::ops::fetch::{self, BlobReader};
use crate::progress::Progress;
use crate::snapshot::Summary;
use crate::tree::{Node, NodeKind, Tree};

/// Chunks below this size are hashed by the walker itself: handing them to a worker costs more
/// than hashing them (small files are most of a file server's files, not of its bytes).
const INLINE_HASH_MAX: usize = 64 * 1024;

/// Events per message to the assembler: one message per event cost a thread wake-up per file.
pub(super) const EVENT_BATCH: usize = 256;

/// A directory whose listed children are the backup paths below it (not its full content).
#[derive(Default)]
pub(super) struct VirtualDir {
    path: PathBuf,
    children: BTreeMap<Vec<u8>, Entry>,
}

pub(super) enum Entry {
    Real(PathBuf),
    Virtual(VirtualDir),
}

pub(super) fn build_virtual_root(paths: &[PathBuf]) -> VirtualDir {
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

pub(super) struct Walker<'a> {
    pub chunker: Chunker,
    pub dedup: Arc<Dedup>,
    pub jobs: crossbeam_channel::Sender<Job>,
    /// Bounds the chunk bytes sent ahead to the workers.
    pub budget: Arc<Budget>,
    pub events: crossbeam_channel::Sender<Vec<Event>>,
    /// Events not yet sent: they go in batches of [`EVENT_BATCH`].
    pub batch: Vec<Event>,
    pub reader: BlobReader,
    pub patterns: Patterns,
    pub devices: Option<HashSet<u64>>,
    pub names: Names,
    /// Hard-linked files, by `(dev, inode)`, whose content the assembler already has.
    pub linked: HashSet<(u64, u64)>,
    pub summary: Summary,
    pub warnings: Vec<String>,
    pub progress: &'a dyn Progress,
    /// Put-only keys: the files of the last backup, by keyed path hash.
    pub old_cache: Option<FilesCache>,
    /// Put-only keys: an empty cache that computes the path keys of the new one.
    pub cache_keys: Option<FilesCache>,
    /// Parent subtrees requested ahead of the walk (see [`Walker::prefetch_subtrees`]).
    pub prefetched: HashMap<BlobId, Result<(crate::index::Location, fetch::Pending)>>,
    /// The read buffer, kept from file to file.
    pub read_buf: Vec<u8>,
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

    /// Walk `paths`; the assembler gets the root as the last [`Event::Leave`].
    pub fn run(&mut self, paths: &[PathBuf], parent: Option<BlobId>) -> Result<()> {
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
        self.event(Event::Enter)?;
        if paths.iter().any(|p| p.as_os_str() == "/") {
            self.dir(Path::new("/"), parent.as_ref())?;
        } else {
            let root = build_virtual_root(paths);
            self.virtual_dir(&root, parent.as_ref())?;
        }
        self.event(Event::Leave(None))?;
        self.flush()
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

    fn virtual_dir(&mut self, v: &VirtualDir, parent: Option<&Tree>) -> Result<()> {
        self.prefetch_subtrees(parent);
        for (name, e) in &v.children {
            let pnode = parent.and_then(|t| t.get(name));
            match e {
                Entry::Real(path) => self.entry(path, pnode)?,
                Entry::Virtual(sub) => {
                    let md = std::fs::symlink_metadata(&sub.path)
                        .map_err(|e| Error::io(format!("reading {}", sub.path.display()), e))?;
                    let (node, warns) = fsmeta::capture(&sub.path, &md, &mut self.names)?;
                    warns.into_iter().for_each(|w| self.warn(w));
                    let ptree = self.parent_subtree(pnode);
                    self.event(Event::Enter)?;
                    self.virtual_dir(sub, ptree.as_ref())?;
                    self.event(Event::Leave(Some(node)))?;
                    self.summary.dirs += 1;
                }
            }
        }
        self.forget_prefetched(parent);
        Ok(())
    }

    fn event(&mut self, e: Event) -> Result<()> {
        self.batch.push(e);
        if self.batch.len() >= EVENT_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(EVENT_BATCH));
        self.events.send(batch).map_err(|_| stopped())
    }

    /// Hand a data chunk to the workers once its bytes fit in the budget.
    fn send_data(&mut self, data: Bytes, id: JobId) -> Result<()> {
        let permit = Some(self.budget.acquire(data.len()));
        let job = Job {
            ty: BlobType::Data,
            data,
            id,
            permit,
        };
        self.jobs.send(job).map_err(|_| stopped())
    }

    /// The entries of the directory `path` (the caller sends its `Enter` and `Leave`).
    fn dir(&mut self, path: &Path, parent: Option<&Tree>) -> Result<()> {
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
        for name in entries {
            let child = path.join(&name);
            let pnode = parent.and_then(|t| t.get(name.as_bytes()));
            self.entry(&child, pnode)?;
        }
        self.forget_prefetched(parent);
        Ok(())
    }

    /// One entry, described to the assembler; nothing when excluded or unreadable (reported).
    fn entry(&mut self, path: &Path, parent: Option<&Node>) -> Result<()> {
        if self.patterns.matches(path) {
            return Ok(());
        }
        let md = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.summary.errors += 1;
                self.warn(format!("skipped {}: {e}", path.display()));
                return Ok(());
            }
        };
        let (node, warns) = match fsmeta::capture(path, &md, &mut self.names) {
            Ok(x) => x,
            Err(e) => {
                self.summary.errors += 1;
                self.warn(format!("skipped {}: {e}", path.display()));
                return Ok(());
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
                self.event(Event::Enter)?;
                if !other_fs {
                    let ptree = self.parent_subtree(parent);
                    self.dir(path, ptree.as_ref())?;
                }
                self.event(Event::Leave(Some(node)))?;
            }
            NodeKind::File => {
                if self.file(path, node, parent)? {
                    self.progress.files(1);
                }
            }
            _ => {
                self.summary.others += 1;
                self.event(Event::Node(node))?;
            }
        }
        Ok(())
    }

    /// A file: unchanged (content from the parent or the files cache) or read and chunked.
    /// False when it could not be read (reported, skipped).
    fn file(&mut self, path: &Path, mut node: Node, parent: Option<&Node>) -> Result<bool> {
        self.summary.bytes_total += node.size;
        let link = (node.nlink > 1).then_some((node.dev, node.inode));
        if let Some(k) = link.filter(|k| self.linked.contains(k)) {
            self.summary.files_unchanged += 1;
            self.progress.bytes(node.size);
            self.file_done(node, Content::Link, Some(k), None)?;
            return Ok(true);
        }
        let cache_key = self.cache_keys.as_ref().map(|c| c.path_key(path));
        if let Some(p) = parent.filter(|p| p.kind() == NodeKind::File) {
            if fsmeta::unchanged(p, &node) && p.content.iter().all(|id| self.dedup.stored(id)) {
                node.content = p.content.clone();
                self.summary.files_unchanged += 1;
                self.progress.bytes(node.size);
                self.file_done(node, Content::Known, link, cache_key)?;
                return Ok(true);
            }
        }
        let cached = match (&self.old_cache, &cache_key) {
            (Some(c), Some(k)) => c.get(k),
            _ => None,
        };
        let was_cached = cached.is_some();
        if let Some(c) = cached {
            if c.unchanged(&node) && c.content.iter().all(|id| self.dedup.stored(id)) {
                node.content = c.content.clone();
                self.summary.files_unchanged += 1;
                self.progress.bytes(node.size);
                self.file_done(node, Content::Known, link, cache_key)?;
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
        let mut read = 0u64;
        let mut chunks =
            ChunkReader::with_buffer(&self.chunker, f, std::mem::take(&mut self.read_buf));
        let mut failed = None;
        for chunk in chunks.by_ref() {
            match chunk {
                Ok(c) => {
                    read += c.len() as u64;
                    self.progress.bytes(c.len() as u64);
                    self.chunk(c)?;
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        self.read_buf = chunks.into_buffer();
        if let Some(e) = failed {
            self.summary.errors += 1;
            self.warn(format!(
                "skipped {} (read failed after {read} bytes): {e}",
                path.display()
            ));
            self.event(Event::Discard)?;
            return Ok(false);
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
        if parent.is_some() || was_cached {
            self.summary.files_changed += 1;
        } else {
            self.summary.files_new += 1;
        }
        self.file_done(node, Content::Chunks, link, cache_key)?;
        Ok(true)
    }

    /// Hash a small chunk here, hand a large one to the workers; either way the assembler
    /// gets its id in file order.
    fn chunk(&mut self, data: Bytes) -> Result<()> {
        let len = data.len() as u64;
        if data.len() < INLINE_HASH_MAX {
            let id = self.dedup.keys.blob_id(&data);
            let new = self.dedup.claim(&id);
            if new {
                self.send_data(data, JobId::Known(id))?;
            }
            self.event(Event::Chunk(ChunkId::Ready { id, new, len }))
        } else {
            let (reply, rx) = oneshot::channel();
            self.send_data(data, JobId::Hash(reply))?;
            self.event(Event::Chunk(ChunkId::Pending { reply: rx, len }))
        }
    }

    fn file_done(
        &mut self,
        node: Node,
        content: Content,
        link: Option<(u64, u64)>,
        cache_key: Option<[u8; 32]>,
    ) -> Result<()> {
        if let Some(k) = link {
            self.linked.insert(k);
        }
        self.event(Event::File {
            node,
            content,
            link,
            cache_key,
        })
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
pub(super) fn devices_of(paths: &[PathBuf]) -> HashSet<u64> {
    paths
        .iter()
        .filter_map(|p| std::fs::symlink_metadata(p).ok().map(|m| m.dev()))
        .collect()
}

/// Count files and bytes for progress totals (metadata only).
pub(super) fn scan_totals(
    paths: &[PathBuf],
    patterns: &Patterns,
    one_fs: bool,
    progress: &dyn Progress,
) {
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
