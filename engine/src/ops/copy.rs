//! `copy`: replicate snapshots from one repository to another (the nightly SAN → offsite case),
//! sending only blobs the target lacks.
//!
//! Both repositories must share the id and chunker keys (`init --copy-chunker-params-from`), so
//! a blob has the same id in both and deduplication carries over. Every blob read from the
//! source is authenticated (AEAD and content id), then sealed with the target's keys and packed
//! through the same pipeline as a backup: packs, then index files, then the snapshot, so an
//! interrupted copy resumes where it stopped (its packs are indexed and reused by the next run).
//! A tree already in the target is not walked again: the target holds everything below it.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;
use tokio::sync::mpsc;

use super::backup::{collect, join_sealers, spawn_sealers, Job, JobId};
use crate::blob::BlobType;
use crate::error::{Error, ErrorKind, Result};
use crate::gc::{JobKind, Lease};
use crate::id::BlobId;
use crate::progress::Progress;
use crate::repo::IndexedRepository;
use crate::snapshot::{Snapshot, SnapshotEntry};
use crate::tree::Tree;

/// Concurrent blob reads from the source.
const READ_CONCURRENCY: usize = 16;

/// One snapshot's result.
#[derive(Debug, Clone, Serialize)]
pub struct Copied {
    /// Id in the source.
    pub source: String,
    /// Id in the target.
    pub target: String,
}

/// What a copy did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CopyOutcome {
    /// Snapshots copied now.
    pub copied: Vec<Copied>,
    /// Selected snapshots already present in the target.
    pub already_present: usize,
    /// Blobs sent (data and trees).
    pub blobs: u64,
    /// Their plaintext size.
    pub bytes: u64,
    /// Bytes stored in the target (compressed and sealed).
    pub bytes_stored: u64,
    /// Packs written to the target.
    pub packs: u64,
    /// Packs of an interrupted earlier copy that were indexed and reused.
    pub packs_recovered: usize,
}

/// Identity of a snapshot across repositories: its original id.
fn origin(s: &SnapshotEntry) -> String {
    s.snapshot.original.clone().unwrap_or_else(|| s.id.to_hex())
}

/// Check that blobs have the same ids in both repositories.
pub fn ensure_compatible(src: &IndexedRepository, dst: &IndexedRepository) -> Result<()> {
    if src.keys().id != dst.keys().id
        || src.keys().chunker != dst.keys().chunker
        || src.config().chunker_params() != dst.config().chunker_params()
    {
        return Err(Error::invalid(format!(
            "{} and {} do not share chunker parameters, so data cannot be copied with \
             deduplication; create the target with `hvelv init -r TARGET \
             --copy-chunker-params-from {}`",
            src.backend().location(),
            dst.backend().location(),
            src.backend().location()
        )));
    }
    if src.config().id == dst.config().id {
        return Err(Error::invalid("source and target are the same repository"));
    }
    Ok(())
}

/// Copy `selected` snapshots of `src` (oldest first) into `dst`.
pub async fn copy(
    src: &IndexedRepository,
    dst: &mut IndexedRepository,
    selected: Vec<SnapshotEntry>,
    progress: Arc<dyn Progress>,
) -> Result<CopyOutcome> {
    src.require_full("copy snapshots from this repository")?;
    dst.require_full(
        "copy into this repository (copy must see the target's snapshots to skip those already \
         there)",
    )?;
    ensure_compatible(src, dst)?;
    // The target sees a backup-like job: prune there must not delete what this copy relies on.
    let lease = Lease::acquire(dst, JobKind::Backup).await?;
    let r = async {
        dst.refresh_gc().await?;
        copy_with_marker(src, dst, selected, &*progress).await
    }
    .await;
    lease.release().await;
    r
}

async fn copy_with_marker(
    src: &IndexedRepository,
    dst: &mut IndexedRepository,
    mut selected: Vec<SnapshotEntry>,
    progress: &dyn Progress,
) -> Result<CopyOutcome> {
    let mut out = CopyOutcome::default();
    let present: HashSet<String> = dst.snapshots().await?.iter().map(origin).collect();
    selected.retain(|s| {
        let dup = present.contains(&origin(s));
        out.already_present += usize::from(dup);
        !dup
    });
    if selected.is_empty() {
        return Ok(out);
    }
    out.packs_recovered = dst.recover_unindexed_packs().await?.packs_recovered;
    selected.sort_by_key(|s| (s.snapshot.datetime(), s.id));

    let threads = super::cores();
    let session = dst.session()?;
    for s in selected {
        progress.phase(&format!("copy {}", s.id.short()));
        let (job_tx, job_rx) = crossbeam_channel::bounded::<Job>(threads * 2);
        let (sealed_tx, sealed_rx) = mpsc::channel(threads * 2);
        let workers = spawn_sealers(
            &session,
            dst.config().zstd_level,
            threads,
            None,
            job_rx,
            sealed_tx,
        )?;
        let sent = {
            let dst_ro: &IndexedRepository = dst;
            let feed = send_snapshot(src, dst_ro, &s, job_tx, progress);
            let (fed, collected) = tokio::join!(feed, collect(dst_ro, &session, sealed_rx));
            // A failed feed closes the job channel, which ends the collector early; report the
            // feed's error first.
            let fed = fed?;
            (fed, collected?)
        };
        let joined = tokio::task::spawn_blocking(move || join_sealers(workers))
            .await
            .map_err(|e| Error::new(ErrorKind::Io, format!("seal workers: {e}")))?;
        joined?;
        let ((blobs, bytes), stats) = sent;
        let mut idx = (**dst.index()).clone();
        for p in &stats.packs {
            idx.add_pack(p.id, p.session, &p.entries);
        }
        dst.set_index(idx);
        out.blobs += blobs;
        out.bytes += bytes;
        out.bytes_stored += stats.bytes_stored;
        out.packs += stats.packs.len() as u64;

        let mut snapshot = Snapshot {
            original: Some(origin(&s)),
            ..s.snapshot.clone()
        };
        if let Some(tag) = &mut snapshot.archive {
            // An archive snapshot brings its fixity manifest, sealed anew for the target.
            let manifest = src
                .read_archive_record(&tag.manifest_id()?)
                .await
                .map_err(|e| e.context(format!("archive snapshot {}", s.id.short())))?;
            tag.manifest = dst.save_archive_record(&manifest).await?.to_hex();
        }
        let id = dst.commit_snapshot(&snapshot).await?;
        out.copied.push(Copied {
            source: s.id.to_hex(),
            target: id.to_hex(),
        });
    }
    Ok(out)
}

/// Walk the snapshot's trees in the source, queueing every blob the target lacks. Returns
/// (blobs, plaintext bytes) sent.
///
/// Order matters for resumption: the target takes "tree present" to mean "everything below it
/// present" (the walk skips such subtrees), and packs of an interrupted run are indexed by the
/// next one. So every tree is sent only after its data *and its subtrees*: data goes out while
/// the trees are walked top-down; the trees themselves are sent at the end, deepest level
/// first, read from the source a second time (only their ids are kept meanwhile).
async fn send_snapshot(
    src: &IndexedRepository,
    dst: &IndexedRepository,
    s: &SnapshotEntry,
    jobs: crossbeam_channel::Sender<Job>,
    progress: &dyn Progress,
) -> Result<(u64, u64)> {
    let mut queued: HashSet<BlobId> = HashSet::new();
    let mut blobs = 0u64;
    let mut bytes = 0u64;
    let root = s.snapshot.tree_id()?;
    let mut frontier = vec![root];
    let mut levels: Vec<Vec<BlobId>> = Vec::new();
    while !frontier.is_empty() {
        let batch: Vec<BlobId> = std::mem::take(&mut frontier)
            .into_iter()
            .filter(|t| !dst.index().dedup_hit(t) && queued.insert(*t))
            .collect();
        let reads: Vec<_> = batch
            .iter()
            .map(|t| read_raw(src, BlobType::Tree, *t))
            .collect();
        let trees: Vec<(BlobId, Vec<u8>)> = stream::iter(reads)
            .buffer_unordered(READ_CONCURRENCY)
            .try_collect()
            .await?;
        let mut data_ids = Vec::new();
        for (id, raw) in &trees {
            let tree = Tree::decode(raw).map_err(|e| e.context(format!("tree {}", id.short())))?;
            for node in &tree.nodes {
                for c in &node.content {
                    if !dst.index().dedup_hit(c) && queued.insert(*c) {
                        data_ids.push(*c);
                    }
                }
                if let Some(t) = node.subtree {
                    frontier.push(t);
                }
            }
        }
        levels.push(batch);
        let reads: Vec<_> = data_ids
            .into_iter()
            .map(|c| read_raw(src, BlobType::Data, c))
            .collect();
        let mut data = stream::iter(reads).buffer_unordered(READ_CONCURRENCY);
        while let Some(r) = data.next().await {
            let (id, raw) = r?;
            blobs += 1;
            bytes += raw.len() as u64;
            progress.bytes(raw.len() as u64);
            send(&jobs, BlobType::Data, id, raw).await?;
        }
    }
    for level in levels.into_iter().rev() {
        let reads: Vec<_> = level
            .into_iter()
            .map(|t| read_raw(src, BlobType::Tree, t))
            .collect();
        let mut trees = stream::iter(reads).buffer_unordered(READ_CONCURRENCY);
        while let Some(r) = trees.next().await {
            let (id, raw) = r?;
            blobs += 1;
            bytes += raw.len() as u64;
            send(&jobs, BlobType::Tree, id, raw).await?;
        }
    }
    Ok((blobs, bytes))
}

async fn read_raw(src: &IndexedRepository, ty: BlobType, id: BlobId) -> Result<(BlobId, Vec<u8>)> {
    src.read_blob(ty, &id).await.map(|b| (id, b)).map_err(|e| {
        e.context(format!(
            "reading {} blob {} from the source",
            ty.as_str(),
            id.short()
        ))
    })
}

async fn send(
    jobs: &crossbeam_channel::Sender<Job>,
    ty: BlobType,
    id: BlobId,
    data: Vec<u8>,
) -> Result<()> {
    let job = Job {
        ty,
        id: JobId::Known(id),
        data: Bytes::from(data),
        permit: None,
    };
    // The channel is bounded; a blocking send must not stall the async threads.
    let jobs = jobs.clone();
    tokio::task::spawn_blocking(move || jobs.send(job))
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("copy task failed: {e}")))?
        .map_err(|_| Error::new(ErrorKind::Io, "the seal workers stopped"))
}
