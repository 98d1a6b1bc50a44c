//! Reading blobs from worker threads without blocking the async runtime.
//!
//! CPU work (decryption, decompression, hashing, writing files) runs on plain threads. They ask
//! an async service task for byte ranges of packs through a channel and wait on a oneshot
//! reply (`blocking_recv`), so the backend stays async and no library code calls `block_on`.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::backend::{DirectRead, DynBackend, FileKind};
use crate::blob::{open_blob, BlobType};
use crate::crypto::{KeySet, Opener};
use crate::error::{Error, ErrorKind, Result};
use crate::id::{BlobId, FileId};
use crate::index::{Index, Location};
use crate::tree::Tree;

pub(crate) struct Request {
    pack: FileId,
    offset: u64,
    length: u64,
    reply: oneshot::Sender<Result<Bytes>>,
}

/// Handle for threads: request pack ranges from the async service.
#[derive(Clone)]
pub(crate) struct Fetcher {
    tx: mpsc::UnboundedSender<Request>,
    direct: Option<Arc<dyn DirectRead>>,
}

/// The async side: serve requests until every [`Fetcher`] is dropped.
pub(crate) async fn serve(
    backend: DynBackend,
    mut rx: mpsc::UnboundedReceiver<Request>,
    concurrency: usize,
) {
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    while let Some(req) = rx.recv().await {
        let permit = sem
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore never closed");
        let be = backend.clone();
        tasks.spawn(async move {
            let r = be
                .read_range(FileKind::Pack, &req.pack.to_hex(), req.offset, req.length)
                .await
                .map_err(|e| e.context(format!("pack {}", req.pack.short())));
            let _ = req.reply.send(r);
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

/// A fetcher and the receiver its service needs. Where `backend` reads directly
/// ([`crate::backend::Backend::direct_reader`]), pack ranges are read by the thread that
/// waits for them and the service only sees what the backend cannot read that way.
pub(crate) fn channel(backend: &DynBackend) -> (Fetcher, mpsc::UnboundedReceiver<Request>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let direct = backend.direct_reader(FileKind::Pack);
    (Fetcher { tx, direct }, rx)
}

/// A pending read: on its way from the async service, or a direct read not yet done.
pub(crate) enum Pending {
    Remote(oneshot::Receiver<Result<Bytes>>),
    Direct {
        reader: Arc<dyn DirectRead>,
        pack: FileId,
        offset: u64,
        length: u64,
    },
}

impl Fetcher {
    /// Ask for a range; returns at once.
    pub(crate) fn request(&self, pack: FileId, offset: u64, length: u64) -> Pending {
        if let Some(reader) = &self.direct {
            return Pending::Direct {
                reader: reader.clone(),
                pack,
                offset,
                length,
            };
        }
        let (reply, rx) = oneshot::channel();
        // A send error means the service stopped; the receiver then reports it.
        let _ = self.tx.send(Request {
            pack,
            offset,
            length,
            reply,
        });
        Pending::Remote(rx)
    }
}

/// Wait for a pending read from a (non-async) thread.
pub(crate) fn wait(p: Pending) -> Result<Bytes> {
    match p {
        Pending::Remote(rx) => rx
            .blocking_recv()
            .map_err(|_| Error::new(ErrorKind::Cancelled, "the storage reader stopped"))?,
        Pending::Direct {
            reader,
            pack,
            offset,
            length,
        } => reader
            .read_range(&pack.to_hex(), offset, length)
            .map_err(|e| e.context(format!("pack {}", pack.short()))),
    }
}

/// Blob reading for threads: index lookup, fetch, verify, decrypt, decompress.
#[derive(Clone)]
pub(crate) struct BlobReader {
    pub fetcher: Fetcher,
    pub index: Arc<Index>,
    pub keys: Arc<KeySet>,
    pub opener: Opener,
}

impl BlobReader {
    /// Location of a blob or a NotFound error.
    pub fn locate(&self, ty: BlobType, id: &BlobId) -> Result<Location> {
        self.index.get(id).ok_or_else(|| {
            Error::not_found(format!(
                "{} blob {} is missing from the index (the repository lost data; run `hvelv check`)",
                ty.as_str(),
                id.short()
            ))
        })
    }

    /// Start fetching a blob.
    pub fn request(&self, ty: BlobType, id: &BlobId) -> Result<(Location, Pending)> {
        let loc = self.locate(ty, id)?;
        let pack = self.index.pack_id(loc.pack);
        Ok((
            loc,
            self.fetcher
                .request(pack, u64::from(loc.offset), u64::from(loc.length)),
        ))
    }

    /// Finish a fetch: wait, verify, decrypt.
    pub fn finish(&self, ty: BlobType, id: &BlobId, loc: Location, p: Pending) -> Result<Vec<u8>> {
        let pack = self.index.pack_id(loc.pack);
        let sealed = wait(p)?;
        let sealer = self.opener.session(&self.index.pack_session(loc.pack))?;
        open_blob(&self.keys, &sealer, ty, id, &sealed)
            .map_err(|e| e.context(format!("pack {}", pack.short())))
    }

    /// Fetch one blob synchronously.
    pub fn read(&self, ty: BlobType, id: &BlobId) -> Result<Vec<u8>> {
        let (loc, p) = self.request(ty, id)?;
        self.finish(ty, id, loc, p)
    }

    /// Fetch and decode a tree.
    pub fn tree(&self, id: &BlobId) -> Result<Tree> {
        let b = self.read(BlobType::Tree, id)?;
        Tree::decode(&b).map_err(|e| e.context(format!("tree {}", id.short())))
    }
}

/// Reads a file's chunks in order with up to `depth` requests in flight.
pub(crate) struct ChunkPrefetch<'a> {
    reader: &'a BlobReader,
    ids: &'a [BlobId],
    next: usize,
    queue: VecDeque<(BlobId, Result<(Location, Pending)>)>,
    depth: usize,
}

impl<'a> ChunkPrefetch<'a> {
    pub fn new(reader: &'a BlobReader, ids: &'a [BlobId], depth: usize) -> Self {
        let mut p = ChunkPrefetch {
            reader,
            ids,
            next: 0,
            queue: VecDeque::new(),
            depth: depth.max(1),
        };
        p.fill();
        p
    }

    fn fill(&mut self) {
        while self.queue.len() < self.depth && self.next < self.ids.len() {
            let id = self.ids[self.next];
            // Repeated ids (zero runs) are fetched once per occurrence only when not adjacent.
            self.queue
                .push_back((id, self.reader.request(BlobType::Data, &id)));
            self.next += 1;
        }
    }
}

impl Iterator for ChunkPrefetch<'_> {
    /// (id, plaintext length if known, result)
    type Item = (BlobId, Option<u32>, Result<Vec<u8>>);
    fn next(&mut self) -> Option<Self::Item> {
        let (id, r) = self.queue.pop_front()?;
        self.fill();
        Some(match r {
            Ok((loc, p)) => (
                id,
                Some(loc.raw_length),
                self.reader.finish(BlobType::Data, &id, loc, p),
            ),
            Err(e) => (id, None, Err(e)),
        })
    }
}
