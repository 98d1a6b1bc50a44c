//! `diff`: what changed between two snapshots, path by path.
//!
//! Both trees are walked together in name order; a subtree with the same id on both sides is
//! identical and skipped, so comparing two nightly snapshots of a share reads only the
//! directories that changed.

use serde::Serialize;

use crate::error::Result;
use crate::id::BlobId;
use crate::repo::IndexedRepository;
use crate::snapshot::SnapshotEntry;
use crate::tree::{Node, NodeKind, Tree};

/// How an entry changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Only in the second snapshot.
    Added,
    /// Only in the first snapshot.
    Removed,
    /// Content differs (files), or the target differs (symlinks).
    Modified,
    /// Same content, other metadata (mode, owner, times, xattrs).
    Metadata,
    /// The type changed (e.g. file → directory).
    Type,
}

impl Change {
    /// One-character marker for text output (`+ - M U T`).
    pub fn marker(self) -> char {
        match self {
            Change::Added => '+',
            Change::Removed => '-',
            Change::Modified => 'M',
            Change::Metadata => 'U',
            Change::Type => 'T',
        }
    }
}

/// One changed entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Absolute path in the snapshot (lossy UTF-8 for display).
    pub path: String,
    /// What changed.
    pub change: Change,
    /// Entry type (of the second snapshot's entry when present).
    pub kind: &'static str,
    /// File size before (0 when absent or not a file).
    pub size_before: u64,
    /// File size after.
    pub size_after: u64,
}

/// Totals of a diff.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiffStats {
    /// Entries added.
    pub added: u64,
    /// Entries removed.
    pub removed: u64,
    /// Entries whose content or type changed.
    pub modified: u64,
    /// Entries whose metadata only changed.
    pub metadata: u64,
    /// Bytes of added and modified files (their new size).
    pub bytes_added: u64,
    /// Bytes of removed and modified files (their old size).
    pub bytes_removed: u64,
}

fn path_of(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = dir.to_vec();
    p.push(b'/');
    p.extend_from_slice(name);
    p
}

fn file_size(n: &Node) -> u64 {
    if n.kind() == NodeKind::File {
        n.size
    } else {
        0
    }
}

fn same_metadata(a: &Node, b: &Node) -> bool {
    a.mode == b.mode
        && a.uid == b.uid
        && a.gid == b.gid
        && a.user == b.user
        && a.group == b.group
        && a.mtime == b.mtime
        && a.xattrs == b.xattrs
        && a.flags == b.flags
        && a.rdev == b.rdev
}

/// Compare two snapshots; `visit` receives each change in path order. Returns the totals.
pub async fn diff(
    repo: &IndexedRepository,
    a: &SnapshotEntry,
    b: &SnapshotEntry,
    mut visit: impl FnMut(&Entry),
) -> Result<DiffStats> {
    repo.require_full("compare snapshots")?;
    let mut stats = DiffStats::default();
    let ta = a.snapshot.tree_id()?;
    let tb = b.snapshot.tree_id()?;
    // Explicit stack of directory pairs: (path, left tree, right tree).
    let mut stack: Vec<(Vec<u8>, Option<BlobId>, Option<BlobId>)> =
        vec![(Vec::new(), Some(ta), Some(tb))];
    while let Some((dir, l, r)) = stack.pop() {
        if l == r {
            continue;
        }
        let lt = match l {
            Some(id) => repo.read_tree(&id).await?,
            None => Tree::default(),
        };
        let rt = match r {
            Some(id) => repo.read_tree(&id).await?,
            None => Tree::default(),
        };
        let mut subdirs = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < lt.nodes.len() || j < rt.nodes.len() {
            let ln = lt.nodes.get(i);
            let rn = rt.nodes.get(j);
            let ord = match (ln, rn) {
                (Some(x), Some(y)) => x.name.cmp(&y.name),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            let (left, right) = match ord {
                std::cmp::Ordering::Less => {
                    i += 1;
                    (ln, None)
                }
                std::cmp::Ordering::Greater => {
                    j += 1;
                    (None, rn)
                }
                std::cmp::Ordering::Equal => {
                    i += 1;
                    j += 1;
                    (ln, rn)
                }
            };
            let name = left.or(right).map(|n| n.name.clone()).unwrap_or_default();
            let path = path_of(&dir, &name);
            let change = match (left, right) {
                (None, Some(_)) => Some(Change::Added),
                (Some(_), None) => Some(Change::Removed),
                (Some(x), Some(y)) if x.kind() != y.kind() => Some(Change::Type),
                (Some(x), Some(y)) => {
                    let content_differs = match x.kind() {
                        NodeKind::File => x.content != y.content || x.size != y.size,
                        NodeKind::Symlink => x.link_target != y.link_target,
                        _ => false,
                    };
                    if content_differs {
                        Some(Change::Modified)
                    } else if !same_metadata(x, y) {
                        Some(Change::Metadata)
                    } else {
                        None
                    }
                }
                (None, None) => None,
            };
            if let Some(change) = change {
                let e = Entry {
                    path: String::from_utf8_lossy(&path).into_owned(),
                    change,
                    kind: right.or(left).map(|n| n.kind().as_str()).unwrap_or("file"),
                    size_before: left.map(file_size).unwrap_or(0),
                    size_after: right.map(file_size).unwrap_or(0),
                };
                match change {
                    Change::Added => stats.added += 1,
                    Change::Removed => stats.removed += 1,
                    Change::Modified | Change::Type => stats.modified += 1,
                    Change::Metadata => stats.metadata += 1,
                }
                if matches!(change, Change::Added | Change::Modified | Change::Type) {
                    stats.bytes_added += e.size_after;
                }
                if matches!(change, Change::Removed | Change::Modified | Change::Type) {
                    stats.bytes_removed += e.size_before;
                }
                visit(&e);
            }
            let ls = left
                .filter(|n| n.kind() == NodeKind::Dir)
                .and_then(|n| n.subtree);
            let rs = right
                .filter(|n| n.kind() == NodeKind::Dir)
                .and_then(|n| n.subtree);
            if ls.is_some() || rs.is_some() {
                subdirs.push((path, ls, rs));
            }
        }
        // Depth first in name order: push in reverse.
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(stats)
}
