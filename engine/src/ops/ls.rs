//! `ls`: list the entries of a snapshot, depth first, in name order.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::repo::IndexedRepository;
use crate::snapshot::SnapshotEntry;
use crate::tree::{Node, NodeKind, Tree};

/// Visit every entry under `subpath` ("/" or none for everything). The callback receives the
/// entry's absolute path in the snapshot (raw bytes) and its node.
pub async fn walk(
    repo: &IndexedRepository,
    snap: &SnapshotEntry,
    subpath: Option<&str>,
    mut visit: impl FnMut(&[u8], &Node),
) -> Result<()> {
    repo.require_full("list files")?;
    let root = repo.read_tree(&snap.snapshot.tree_id()?).await?;
    let mut tree = Arc::new(root);
    let mut base = Vec::new();
    let comps: Vec<&str> = subpath
        .unwrap_or("/")
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    for (i, c) in comps.iter().enumerate() {
        let node = tree.get(c.as_bytes()).cloned().ok_or_else(|| {
            Error::not_found(format!("{} is not in the snapshot", subpath.unwrap_or("/")))
        })?;
        base.push(b'/');
        base.extend_from_slice(c.as_bytes());
        if i + 1 == comps.len() && node.kind() != NodeKind::Dir {
            visit(&base, &node);
            return Ok(());
        }
        if i + 1 == comps.len() {
            visit(&base, &node);
        }
        let sub = node
            .subtree
            .ok_or_else(|| Error::not_found(format!("{c} is not a directory")))?;
        tree = Arc::new(repo.read_tree(&sub).await?);
    }
    // Explicit stack: (tree, its path, next index).
    let mut stack: Vec<(Arc<Tree>, Vec<u8>, usize)> = vec![(tree, base, 0)];
    while let Some((t, dir, i)) = stack.pop() {
        if i >= t.nodes.len() {
            continue;
        }
        let node = t.nodes[i].clone();
        stack.push((t, dir.clone(), i + 1));
        let mut path = dir;
        path.push(b'/');
        path.extend_from_slice(&node.name);
        visit(&path, &node);
        if let (NodeKind::Dir, Some(sub)) = (node.kind(), node.subtree) {
            let child = repo.read_tree(&sub).await?;
            stack.push((Arc::new(child), path, 0));
        }
    }
    Ok(())
}
