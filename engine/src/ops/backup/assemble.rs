//! The tree assembler: builds the snapshot's trees from the walker's ordered events.
//!
//! The walker never waits for a chunk's id: large chunks are hashed by the seal workers
//! ([`JobId::Hash`]), and the walker sends a placeholder for each in file order. This thread
//! takes the events in the same order, waits for each id (by then usually long computed),
//! fills in file contents, and encodes, hashes and stores each directory's tree when the
//! walker leaves it. It does little work, so waiting here costs no throughput.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::files_cache::{CachedFile, FilesCache};
use super::pipeline::{stopped, Dedup, Job, JobId};
use crate::blob::BlobType;
use crate::error::{Error, ErrorKind, Result};
use crate::id::BlobId;
use crate::tree::{Node, Tree};

/// What the walker tells the assembler, in walk order.
pub(super) enum Event {
    /// A directory starts: the nodes that follow, up to its [`Event::Leave`], are its entries.
    Enter,
    /// The current directory ends: its tree is stored. With a node (the directory's own), the
    /// node gets the tree as its subtree and joins the enclosing directory; without, the tree
    /// is the snapshot's root.
    Leave(Option<Node>),
    /// A complete entry (symlink, device, …).
    Node(Node),
    /// The next chunk of the file being read.
    Chunk(ChunkId),
    /// Reading the file failed: drop the chunks sent for it.
    Discard,
    /// A file entry.
    File {
        node: Node,
        content: Content,
        /// `(dev, inode)` of a file with several hard links.
        link: Option<(u64, u64)>,
        /// Put-only keys: the file's key in the new files cache.
        cache_key: Option<[u8; 32]>,
    },
}

/// A chunk's id, known or on its way from a worker; `len` is its size in bytes.
pub(super) enum ChunkId {
    Ready {
        id: BlobId,
        new: bool,
        len: u64,
    },
    Pending {
        reply: oneshot::Receiver<(BlobId, bool)>,
        len: u64,
    },
}

/// Where a file's content list comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Content {
    /// The chunks sent since the previous file.
    Chunks,
    /// Already in the node (unchanged since the parent snapshot or the files cache).
    Known,
    /// The content of the earlier hard link with the same `link`.
    Link,
}

/// The assembler's result.
pub(super) struct Assembled {
    pub root: BlobId,
    /// Bytes of file content that were new to the repository.
    pub bytes_added: u64,
    /// Put-only keys: the files of this backup.
    pub new_cache: Option<FilesCache>,
}

fn internal(what: &str) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("internal error in the backup's tree assembly: {what}"),
    )
}

/// Run until the walker's events end; `Err` when the walk stopped before the root.
pub(super) fn assemble(
    events: crossbeam_channel::Receiver<Vec<Event>>,
    dedup: Arc<Dedup>,
    jobs: crossbeam_channel::Sender<Job>,
    mut new_cache: Option<FilesCache>,
) -> Result<Assembled> {
    let mut stack: Vec<Vec<Node>> = Vec::new();
    let mut chunks: Vec<BlobId> = Vec::new();
    let mut links: HashMap<(u64, u64), Vec<BlobId>> = HashMap::new();
    let mut bytes_added = 0u64;
    let mut root = None;
    for ev in events.into_iter().flatten() {
        match ev {
            Event::Enter => stack.push(Vec::new()),
            Event::Leave(node) => {
                let nodes = stack.pop().ok_or_else(|| internal("leave without enter"))?;
                let id = save_tree(&dedup, &jobs, nodes)?;
                match node {
                    Some(mut n) => {
                        n.subtree = Some(id);
                        top(&mut stack)?.push(n);
                    }
                    None => root = Some(id),
                }
            }
            Event::Node(n) => top(&mut stack)?.push(n),
            Event::Chunk(c) => {
                let (id, new, len) = match c {
                    ChunkId::Ready { id, new, len } => (id, new, len),
                    ChunkId::Pending { reply, len } => {
                        let (id, new) = reply.blocking_recv().map_err(|_| stopped())?;
                        (id, new, len)
                    }
                };
                if new {
                    bytes_added += len;
                }
                chunks.push(id);
            }
            Event::Discard => chunks.clear(),
            Event::File {
                mut node,
                content,
                link,
                cache_key,
            } => {
                match content {
                    Content::Chunks => node.content = std::mem::take(&mut chunks),
                    Content::Known => {}
                    Content::Link => {
                        node.content = link
                            .and_then(|k| links.get(&k))
                            .cloned()
                            .ok_or_else(|| internal("hard link before its first name"))?;
                    }
                }
                if let (Some(k), true) = (link, content != Content::Link) {
                    links.insert(k, node.content.clone());
                }
                if let (Some(c), Some(k)) = (&mut new_cache, cache_key) {
                    c.insert(k, CachedFile::of(&node));
                }
                top(&mut stack)?.push(node);
            }
        }
    }
    let root = root.ok_or_else(stopped)?;
    Ok(Assembled {
        root,
        bytes_added,
        new_cache,
    })
}

fn top(stack: &mut [Vec<Node>]) -> Result<&mut Vec<Node>> {
    stack
        .last_mut()
        .ok_or_else(|| internal("entry outside a directory"))
}

fn save_tree(
    dedup: &Dedup,
    jobs: &crossbeam_channel::Sender<Job>,
    nodes: Vec<Node>,
) -> Result<BlobId> {
    let bytes = Tree { nodes }.encode();
    let id = dedup.keys.blob_id(&bytes);
    if dedup.claim(&id) {
        jobs.send(Job {
            ty: BlobType::Tree,
            data: bytes.into(),
            id: JobId::Known(id),
            permit: None,
        })
        .map_err(|_| stopped())?;
    }
    Ok(id)
}
