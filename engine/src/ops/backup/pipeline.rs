//! The storage half of a backup (also used by `copy`): seal workers that hash, deduplicate,
//! compress and encrypt blobs, and the collector that gathers them into packs and index files.

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::backend::{commit_content_addressed, create_content_addressed, FileKind, Staged};
use crate::blob::{BlobSealer, BlobType};
use crate::crypto::{KeySet, Session};
use crate::error::{Error, ErrorKind, Result};
use crate::id::{BlobId, FileId};
use crate::index::{IdHasher, Index, IndexFile, IndexedPack};
use crate::pack::{FinishedPack, PackBuilder};
use crate::repo::IndexedRepository;

/// Packs per index file written during a backup.
const PACKS_PER_INDEX: usize = 32;

/// A blob to store.
pub(crate) struct Job {
    pub ty: BlobType,
    pub data: Bytes,
    pub id: JobId,
    /// The data's share of a [`Budget`], given back once the data is sealed or dropped.
    pub permit: Option<Permit>,
}

/// Bytes of plaintext handed to the seal workers and not yet sealed or dropped. The job
/// channel bounds the number of chunks, but chunks of up to the chunker's maximum (8 MiB
/// runs of zeros in a disk image) then piled up six deep; the budget bounds the bytes.
pub(crate) struct Budget {
    used: Mutex<usize>,
    freed: Condvar,
    cap: usize,
}

/// A share of a [`Budget`]; dropping it gives the bytes back.
pub(crate) struct Permit {
    budget: Arc<Budget>,
    n: usize,
}

impl Budget {
    pub fn new(cap: usize) -> Arc<Budget> {
        Arc::new(Budget {
            used: Mutex::new(0),
            freed: Condvar::new(),
            cap,
        })
    }

    /// Wait until `n` more bytes fit. With nothing in flight any size goes, so a chunk
    /// larger than the budget passes alone instead of waiting forever.
    pub fn acquire(self: &Arc<Self>, n: usize) -> Permit {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        while *used > 0 && *used + n > self.cap {
            used = self.freed.wait(used).unwrap_or_else(|p| p.into_inner());
        }
        *used += n;
        Permit {
            budget: self.clone(),
            n,
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut used = self.budget.used.lock().unwrap_or_else(|p| p.into_inner());
        *used -= self.n;
        self.budget.freed.notify_all();
    }
}

/// A job's blob id: known, or to be computed by the worker.
pub(crate) enum JobId {
    /// The caller computed the id and decided the blob is new: seal it.
    Known(BlobId),
    /// Hash the data, decide with [`Dedup::claim`] whether it is new, answer with the id and
    /// that decision, and seal it if new. The walker hands large chunks over this way so the
    /// hashing runs on the workers, beside compression, instead of in the walker's serial path.
    Hash(oneshot::Sender<(BlobId, bool)>),
}

/// Which blobs a backup still has to store: not in the index (or only in packs a prune is
/// deleting), and not already claimed by this backup. Shared by the walker, the workers and
/// the tree assembler.
pub(crate) struct Dedup {
    pub keys: Arc<KeySet>,
    pub index: Arc<Index>,
    seen: Mutex<HashSet<BlobId, std::hash::BuildHasherDefault<IdHasher>>>,
}

impl Dedup {
    pub fn new(keys: Arc<KeySet>, index: Arc<Index>) -> Self {
        Dedup {
            keys,
            index,
            seen: Mutex::new(HashSet::default()),
        }
    }

    /// True for the first caller with a blob the repository does not have: it must store it.
    pub fn claim(&self, id: &BlobId) -> bool {
        if self.index.dedup_hit(id) {
            return false;
        }
        // A poisoned lock only means another thread panicked while inserting; the set is fine.
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.insert(*id)
    }

    /// Whether the repository already holds `id` (for the unchanged-file shortcut).
    pub fn stored(&self, id: &BlobId) -> bool {
        self.index.dedup_hit(id)
    }
}

/// A sealed blob on its way into a pack.
pub(crate) struct Sealed {
    ty: BlobType,
    id: BlobId,
    raw_len: u32,
    bytes: Vec<u8>,
}

/// Start `threads` seal workers reading `jobs` and sending to `sealed`; join them at the end.
/// They seal with `session`'s key; [`JobId::Hash`] jobs need `dedup`.
pub(crate) fn spawn_sealers(
    session: &Session,
    level: i32,
    threads: usize,
    dedup: Option<Arc<Dedup>>,
    jobs: crossbeam_channel::Receiver<Job>,
    sealed: mpsc::Sender<Sealed>,
) -> Result<Vec<std::thread::JoinHandle<Result<()>>>> {
    let mut workers = Vec::new();
    for i in 0..threads {
        let rx = jobs.clone();
        let tx = sealed.clone();
        let dedup = dedup.clone();
        let mut sealer = BlobSealer::new(&session.sealer, level)?;
        let h = std::thread::Builder::new()
            .name(format!("hvelv-seal-{i}"))
            .spawn(move || -> Result<()> {
                for job in rx {
                    let id = match job.id {
                        JobId::Known(id) => id,
                        JobId::Hash(reply) => {
                            let Some(dedup) = &dedup else {
                                return Err(Error::new(
                                    ErrorKind::Io,
                                    "internal error: a blob to hash reached workers without \
                                     a deduplication set",
                                ));
                            };
                            let id = dedup.keys.blob_id(&job.data);
                            let new = dedup.claim(&id);
                            // The assembler may have stopped (the walk failed): nothing to do.
                            let _ = reply.send((id, new));
                            if !new {
                                continue;
                            }
                            id
                        }
                    };
                    let bytes = sealer.seal(job.ty, &id, &job.data)?;
                    let s = Sealed {
                        ty: job.ty,
                        id,
                        raw_len: job.data.len() as u32,
                        bytes,
                    };
                    // Free the plaintext now, not after waiting for room in the channel.
                    drop(job.data);
                    drop(job.permit);
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

/// A data pack written to a staged file as its blobs arrive (local repositories): no pack is
/// held in memory. The file's writes and the pack id's hashing run off the async runtime.
struct StagedPack {
    file: Staged,
    builder: PackBuilder,
    hasher: blake3::Hasher,
}

/// What a backup stage reports when another stage's failure ended the run.
pub(super) fn stopped() -> Error {
    Error::new(
        ErrorKind::Cancelled,
        "backup stopped: the storage side failed",
    )
}

fn join_error(e: tokio::task::JoinError) -> Error {
    Error::new(ErrorKind::Io, format!("pack writer task failed: {e}"))
}

impl StagedPack {
    async fn add(self, s: Sealed) -> Result<StagedPack> {
        let StagedPack {
            file,
            mut builder,
            hasher,
        } = self;
        let offset = builder.size() as u64;
        builder.add_external(s.ty, s.id, s.raw_len, s.bytes.len() as u32);
        let (file, hasher) = write_hashed(file, hasher, s.bytes, offset).await?;
        Ok(StagedPack {
            file,
            builder,
            hasher,
        })
    }

    /// Write the header and trailer; the file, its id and length, and the pack's entries.
    async fn finish(self, session: &Session) -> Result<(Staged, FileId, u64, IndexedPack)> {
        let StagedPack {
            file,
            builder,
            hasher,
        } = self;
        let offset = builder.size() as u64;
        let (tail, entries) = builder.finish_external(session)?;
        let len = offset + tail.len() as u64;
        let (file, hasher) = write_hashed(file, hasher, tail, offset).await?;
        let id = FileId(*hasher.finalize().as_bytes());
        let pack = IndexedPack {
            id,
            session: session.public,
            entries,
        };
        Ok((file, id, len, pack))
    }
}

/// Append `bytes` at `offset` of the staged file and to the pack id's hash, off the runtime.
async fn write_hashed(
    file: Staged,
    mut hasher: blake3::Hasher,
    bytes: Vec<u8>,
    offset: u64,
) -> Result<(Staged, blake3::Hasher)> {
    tokio::task::spawn_blocking(move || -> Result<_> {
        hasher.update(&bytes);
        file.write_at(&bytes, offset)?;
        Ok((file, hasher))
    })
    .await
    .map_err(join_error)?
}

/// The data pack being built.
enum DataPack {
    Memory(PackBuilder),
    /// Boxed: the BLAKE3 hasher's state is 2 KB.
    Staged(Box<StagedPack>),
}

impl DataPack {
    fn size(&self) -> usize {
        match self {
            DataPack::Memory(b) => b.size(),
            DataPack::Staged(p) => p.builder.size(),
        }
    }
    fn count(&self) -> usize {
        match self {
            DataPack::Memory(b) => b.count(),
            DataPack::Staged(p) => p.builder.count(),
        }
    }
}

/// Gather sealed blobs into packs, upload them, and write index files (every
/// `PACKS_PER_INDEX` packs and at the end). Data packs go to a staged file as they are built
/// when the backend offers one ([`crate::backend::Backend::staging_file`]), else into memory.
pub(crate) async fn collect(
    repo: &IndexedRepository,
    session: &Session,
    mut rx: mpsc::Receiver<Sealed>,
) -> Result<CollectStats> {
    let pack_size = repo.config().pack_size as usize;
    let data_cap = pack_size + pack_size / 8;
    let tree_cap = 1024 * 1024;
    // Made when the first data blob arrives: a backup without new data stages no file.
    let mut data: Option<DataPack> = None;
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

    async fn start_staged(
        uploads: &mut tokio::task::JoinSet<Upload>,
        p: StagedPack,
        session: &Session,
        be: crate::backend::DynBackend,
    ) -> Result<()> {
        let (file, id, len, pack) = p.finish(session).await?;
        uploads.spawn(async move {
            commit_content_addressed(&*be, FileKind::Pack, &id.to_hex(), file, len).await?;
            Ok((pack, None))
        });
        Ok(())
    }
    let new_data_pack = |spare: &mut Vec<Vec<u8>>| -> Result<DataPack> {
        Ok(match repo.backend().staging_file(FileKind::Pack) {
            Some(file) => DataPack::Staged(Box::new(StagedPack {
                file: file?,
                builder: PackBuilder::default(),
                hasher: blake3::Hasher::new(),
            })),
            None => DataPack::Memory(match spare.pop() {
                Some(buf) => PackBuilder::with_buffer(buf, data_cap),
                None => PackBuilder::with_capacity(data_cap),
            }),
        })
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
        match s.ty {
            BlobType::Tree => {
                tree.add(s.ty, s.id, s.raw_len, &s.bytes);
                if tree.size() >= pack_size / 4 {
                    while uploads.len() >= write_concurrency {
                        finish_one(&mut uploads, &mut pending_index, &mut spare).await?;
                    }
                    let full = std::mem::replace(&mut tree, PackBuilder::with_capacity(tree_cap));
                    start_upload(&mut uploads, full)?;
                }
            }
            BlobType::Data => {
                let pack = match data.take() {
                    Some(p) => p,
                    None => new_data_pack(&mut spare)?,
                };
                let pack = match pack {
                    DataPack::Memory(mut b) => {
                        b.add(s.ty, s.id, s.raw_len, &s.bytes);
                        DataPack::Memory(b)
                    }
                    DataPack::Staged(p) => DataPack::Staged(Box::new(p.add(s).await?)),
                };
                if pack.size() >= pack_size {
                    while uploads.len() >= write_concurrency {
                        finish_one(&mut uploads, &mut pending_index, &mut spare).await?;
                    }
                    match pack {
                        DataPack::Memory(b) => start_upload(&mut uploads, b)?,
                        DataPack::Staged(p) => {
                            start_staged(&mut uploads, *p, session, repo.backend().clone()).await?
                        }
                    }
                } else {
                    data = Some(pack);
                }
            }
        }
        while let Some(r) = uploads.try_join_next() {
            record(r, &mut pending_index, &mut spare)?;
        }
        if pending_index.packs.len() >= PACKS_PER_INDEX {
            repo.save_index(&pending_index).await?;
            all.append(&mut pending_index.packs);
        }
    }
    match data.filter(|p| p.count() > 0) {
        Some(DataPack::Memory(b)) => start_upload(&mut uploads, b)?,
        Some(DataPack::Staged(p)) => {
            start_staged(&mut uploads, *p, session, repo.backend().clone()).await?
        }
        None => {}
    }
    if tree.count() > 0 {
        start_upload(&mut uploads, tree)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn budget_bounds_bytes_in_flight_and_lets_an_oversized_chunk_pass_alone() {
        let budget = Budget::new(10);
        let a = budget.acquire(6);
        let b = budget.acquire(4);
        // Full: the next acquire waits until a permit is dropped.
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let budget = budget.clone();
            std::thread::spawn(move || {
                let p = budget.acquire(5);
                tx.send(()).unwrap();
                p
            })
        };
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
        drop(a);
        rx.recv_timeout(Duration::from_secs(10))
            .expect("freed bytes wake the waiter");
        drop(waiter.join().unwrap());
        drop(b);
        // Larger than the whole budget: goes when nothing else is in flight.
        let big = budget.acquire(25);
        assert_eq!(*budget.used.lock().unwrap(), 25);
        drop(big);
        assert_eq!(*budget.used.lock().unwrap(), 0);
    }
}
