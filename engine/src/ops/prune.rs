//! `prune`: delete packs no snapshot needs and repack partly used ones, without ever blocking
//! or endangering a backup that runs at the same time.
//!
//! Plan, then execute ([`plan`] is read-only, so `--dry-run` is free):
//! 1. **Mark**: every blob reachable from every snapshot is live. An unreadable tree stops prune
//!    before anything is changed.
//! 2. **Plan**: packs without a live blob are deleted; packs whose unused share exceeds the
//!    threshold are repacked (largest unused share first, within `max_repack` bytes).
//! 3. **Repack**: live blobs of those packs are read, authenticated and written to new packs,
//!    which are indexed before anything else happens.
//! 4. **Schedule**: the packs go into a deletion generation ([`crate::gc`]); from then on
//!    backups do not deduplicate against them.
//! 5. **Delete**, once every job that was running at step 4 has ended (now, after waiting up to
//!    `wait`, or in a later prune): mark again with all snapshots now present, keep any pack
//!    still needed, rewrite the index files that name the others, then delete them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

use crate::backend::{create_content_addressed, DynBackend, FileKind, Held};
use crate::blob::{reseal_blob, BlobType};
use crate::crypto::Session;
use crate::error::{Error, ErrorKind, Result};
use crate::gc::{self, GcState, Job, JobKind, Lease};
use crate::id::{BlobId, FileId};
use crate::index::{IdMap, IndexFile, IndexedPack};
use crate::pack::{self, FinishedPack, PackBuilder, PackEntry};
use crate::progress::Progress;
use crate::repo::{IndexedRepository, Repository};
use crate::snapshot::SnapshotEntry;

/// How to prune.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Repack a pack when more than this share of its bytes is unused (0.0–1.0).
    pub repack_unused: f64,
    /// Repack at most this many bytes of packs in one run.
    pub max_repack: Option<u64>,
    /// Wait this long for running backups before deleting; otherwise a later prune deletes.
    pub wait: Duration,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            repack_unused: 0.2,
            max_repack: None,
            wait: Duration::ZERO,
        }
    }
}

/// One pack in a plan.
#[derive(Debug, Clone, Serialize)]
pub struct PackUse {
    /// Pack id (hex).
    pub id: String,
    /// Size of the pack file.
    pub size: u64,
    /// Bytes of live blobs in it.
    pub used: u64,
    /// Blobs the index resolves to this pack.
    pub blobs: usize,
}

/// A deletion scheduled by an earlier prune.
#[derive(Debug, Clone, Serialize)]
pub struct PendingDeletion {
    /// Record name.
    pub name: String,
    /// Packs in it.
    pub packs: usize,
    /// Jobs it still waits for.
    pub waiting_for: Vec<String>,
}

/// What prune would do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PrunePlan {
    /// Snapshots marked.
    pub snapshots: usize,
    /// Live blobs (data and trees).
    pub live_blobs: usize,
    /// Indexed packs considered (not pending deletion).
    pub packs: usize,
    /// Their total size.
    pub bytes: u64,
    /// Bytes of live blobs.
    pub bytes_used: u64,
    /// Packs to delete (no live blob).
    pub delete: Vec<PackUse>,
    /// Packs to repack.
    pub repack: Vec<PackUse>,
    /// Partly unused packs left as they are (under the threshold or past `max_repack`).
    pub partly_unused_kept: usize,
    /// Bytes that will be freed once deletion runs (estimate: deleted packs + unused parts).
    pub bytes_to_free: u64,
    /// Deletions scheduled by earlier runs.
    pub pending: Vec<PendingDeletion>,
    /// Packs named by the index but not in storage (`hvelv check` explains).
    pub missing_packs: Vec<String>,
    /// Packs in storage without an index entry (a running or interrupted backup; left alone).
    pub unindexed_packs: usize,
    /// Packs that would be deleted or repacked but are kept because their S3 Object Lock
    /// retention (or that of an index file naming them) has not expired (WORM repositories).
    pub held: Vec<Held>,
}

/// What prune did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneOutcome {
    /// The plan it followed.
    pub plan: PrunePlan,
    /// New packs written by repacking.
    pub packs_written: usize,
    /// Packs deleted (this run, including earlier scheduled ones).
    pub packs_deleted: usize,
    /// Bytes of deleted packs.
    pub bytes_freed: u64,
    /// Packs that a scheduled deletion had to keep because a newer snapshot needs them.
    pub packs_kept_needed: usize,
    /// Scheduled deletions left for a later prune, with the jobs they wait for.
    pub deferred: Vec<PendingDeletion>,
    /// Packs of scheduled deletions kept because they are still under Object Lock retention.
    pub held: Vec<Held>,
}

/// Live blobs of a set of snapshots.
#[derive(Debug, Default)]
struct Marks {
    live: HashSet<BlobId, std::hash::BuildHasherDefault<crate::index::IdHasher>>,
    snapshots: HashSet<FileId>,
}

/// Concurrent tree reads while marking.
const MARK_CONCURRENCY: usize = 8;

impl Marks {
    /// Mark everything reachable from snapshots not marked before.
    async fn add(&mut self, repo: &IndexedRepository, snaps: &[SnapshotEntry]) -> Result<()> {
        let mut frontier: Vec<(BlobId, FileId)> = Vec::new();
        for s in snaps {
            if self.snapshots.insert(s.id) {
                let t = s.snapshot.tree_id()?;
                if self.live.insert(t) {
                    frontier.push((t, s.id));
                }
            }
        }
        while !frontier.is_empty() {
            let batch = std::mem::take(&mut frontier);
            let reads: Vec<_> = batch
                .into_iter()
                .map(|(id, snap)| read_tree_for_mark(repo, id, snap))
                .collect();
            let trees: Vec<(crate::tree::Tree, FileId)> = stream::iter(reads)
                .buffer_unordered(MARK_CONCURRENCY)
                .try_collect()
                .await?;
            for (tree, snap) in trees {
                for node in &tree.nodes {
                    for c in &node.content {
                        if self.live.insert(*c) && !repo.index().contains(c) {
                            return Err(Error::new(
                                ErrorKind::Corrupt,
                                format!(
                                    "prune stopped before changing anything: snapshot {} needs \
                                     blob {} which is in no index; run `hvelv check` and `hvelv repair`",
                                    snap.short(),
                                    c.short()
                                ),
                            ));
                        }
                    }
                    if let Some(t) = node.subtree {
                        if self.live.insert(t) {
                            frontier.push((t, snap));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

async fn read_tree_for_mark(
    repo: &IndexedRepository,
    id: BlobId,
    snap: FileId,
) -> Result<(crate::tree::Tree, FileId)> {
    match repo.read_tree(&id).await {
        Ok(t) => Ok((t, snap)),
        Err(e) => Err(Error::new(
            ErrorKind::Corrupt,
            format!(
                "prune stopped before changing anything: tree {} of snapshot {} cannot be read \
                 ({e}); run `hvelv check` and `hvelv repair`",
                id.short(),
                snap.short()
            ),
        )),
    }
}

async fn remove_pack(be: DynBackend, name: String, size: Option<u64>) -> Result<u64> {
    match be.remove(FileKind::Pack, &name).await {
        Ok(()) => Ok(size.unwrap_or(0)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(0),
        // Retention extended after planning: the pack stays (and is named by no index file;
        // the next backup re-indexes it).
        Err(e) if e.kind() == ErrorKind::Locked => {
            tracing::warn!("pack {name} kept: {e}");
            Ok(0)
        }
        Err(e) => Err(e.context(format!("deleting pack {name}"))),
    }
}

/// Work out what prune would do. Read-only.
pub async fn plan(repo: &IndexedRepository, opts: &PruneOptions) -> Result<PrunePlan> {
    repo.require_full("prune")?;
    // The caller's index may predate snapshots committed since: load a fresh one after
    // listing them (see `snapshots_then_index`).
    let (snaps, repo) = snapshots_then_index(repo).await?;
    let (plan, _, _) = plan_inner(&repo, snaps, opts, None).await?;
    Ok(plan)
}

/// The snapshots, then an index loaded after listing them. A backup writes its index file
/// before its snapshot, so every blob a listed snapshot needs is in that index; loading the
/// index first would race with a backup committing in between.
async fn snapshots_then_index(
    repo: &Repository,
) -> Result<(Vec<SnapshotEntry>, IndexedRepository)> {
    let snaps = repo.snapshots().await?;
    let repo = Repository::clone(repo).load_index().await?;
    Ok((snaps, repo))
}

type Decision = (Vec<FileId>, Vec<FileId>);

async fn plan_inner(
    repo: &IndexedRepository,
    snaps: Vec<SnapshotEntry>,
    opts: &PruneOptions,
    me: Option<&str>,
) -> Result<(PrunePlan, Decision, Marks)> {
    if !(0.0..=1.0).contains(&opts.repack_unused) {
        return Err(Error::invalid(format!(
            "the repack threshold must be between 0% and 100%, not {}%",
            opts.repack_unused * 100.0
        )));
    }
    let mut marks = Marks::default();
    marks.add(repo, &snaps).await?;

    let index = repo.index();
    let doomed = repo.gc_state().doomed_packs();
    let listed: HashMap<FileId, u64> = repo
        .backend()
        .list(FileKind::Pack)
        .await?
        .into_iter()
        .filter_map(|(n, size)| FileId::from_hex(&n).ok().map(|id| (id, size)))
        .collect();

    // Bytes and blobs used per pack position; live blobs count at the copy the index resolves
    // to. A live blob also needs its header entry: that share of the pack's overhead is used
    // too, so a pack holding only live blobs is never "unused" however small it is.
    let mut used: Vec<(u64, usize)> = vec![(0, 0); index.pack_count()];
    for (id, loc) in index.iter() {
        if marks.live.contains(&id) {
            used[loc.pack as usize].0 += u64::from(loc.length) + pack::ENTRY_OVERHEAD as u64;
        }
        used[loc.pack as usize].1 += 1;
    }
    for u in used.iter_mut().filter(|u| u.0 > 0) {
        u.0 += pack::PACK_OVERHEAD as u64;
    }

    let mut plan = PrunePlan {
        snapshots: snaps.len(),
        live_blobs: marks.live.len(),
        ..Default::default()
    };
    let mut candidates = Vec::new();
    let mut delete = Vec::new();
    for (pos, &(u, blobs)) in used.iter().enumerate() {
        let id = index.pack_id(pos as u32);
        if doomed.contains(&id) {
            continue;
        }
        let Some(&size) = listed.get(&id) else {
            plan.missing_packs.push(id.to_hex());
            continue;
        };
        plan.packs += 1;
        plan.bytes += size;
        plan.bytes_used += u;
        let pu = PackUse {
            id: id.to_hex(),
            size,
            used: u,
            blobs,
        };
        if u == 0 {
            plan.bytes_to_free += size;
            delete.push(id);
            plan.delete.push(pu);
        } else if (size - u.min(size)) as f64 > opts.repack_unused * size as f64 {
            candidates.push((id, pu));
        }
    }
    if repo.backend().object_lock().is_some() {
        // WORM: packs under retention (or named by an index file under retention) are neither
        // deleted nor rewritten early; they are reported and left for a later prune.
        let files = repo.read_index_files().await?;
        let ids: Vec<FileId> = delete
            .iter()
            .copied()
            .chain(candidates.iter().map(|(id, _)| *id))
            .collect();
        let held =
            super::worm::held_packs(repo.backend(), &ids, &files, chrono::Utc::now()).await?;
        delete.retain(|id| !held.contains_key(id));
        candidates.retain(|(id, _)| !held.contains_key(id));
        let mut freed_by_held = 0;
        plan.delete.retain(|p| {
            let keep = FileId::from_hex(&p.id).is_ok_and(|id| !held.contains_key(&id));
            if !keep {
                freed_by_held += p.size;
            }
            keep
        });
        plan.bytes_to_free -= freed_by_held;
        plan.held = held.into_values().collect();
    }
    plan.unindexed_packs = listed
        .keys()
        .filter(|id| !index.has_pack(id) && !doomed.contains(id))
        .count();
    // Most unused first, within the repack budget.
    candidates.sort_by(|a, b| {
        let ua = a.1.size - a.1.used.min(a.1.size);
        let ub = b.1.size - b.1.used.min(b.1.size);
        ub.cmp(&ua).then(a.1.id.cmp(&b.1.id))
    });
    let mut repack = Vec::new();
    let mut budget = opts.max_repack.unwrap_or(u64::MAX);
    for (id, pu) in candidates {
        if pu.size <= budget {
            budget -= pu.size;
            plan.bytes_to_free += pu.size - pu.used.min(pu.size);
            repack.push(id);
            plan.repack.push(pu);
        } else {
            plan.partly_unused_kept += 1;
        }
    }
    let running = gc::running_jobs(repo).await?;
    for p in &repo.gc_state().pending {
        plan.pending.push(PendingDeletion {
            name: p.name.clone(),
            packs: p.generation.packs.len(),
            waiting_for: waiting_for(p, &running, me),
        });
    }
    Ok((plan, (delete, repack), marks))
}

/// Jobs a pending generation still waits for (described), excluding `me`.
fn waiting_for(p: &gc::Pending, running: &[Job], me: Option<&str>) -> Vec<String> {
    running
        .iter()
        .filter(|j| Some(j.id.as_str()) != me)
        .filter(|j| p.waits.as_ref().is_none_or(|w| w.contains(&j.id)))
        .map(|j| j.to_string())
        .collect()
}

/// Prune the repository. `repo` must be freshly opened (the index is loaded here, after this
/// job announced itself).
pub async fn prune(
    repo: Repository,
    opts: &PruneOptions,
    progress: Arc<dyn Progress>,
) -> Result<PruneOutcome> {
    repo.require_full("prune")?;
    let lease = Lease::acquire(&repo, JobKind::Prune).await?;
    let r = prune_with_marker(repo.clone(), opts, &*progress, &lease).await;
    lease.release().await;
    r
}

async fn prune_with_marker(
    repo: Repository,
    opts: &PruneOptions,
    progress: &dyn Progress,
    lease: &Lease,
) -> Result<PruneOutcome> {
    let running = gc::running_jobs(&repo).await?;
    if let Some(other) = running
        .iter()
        .find(|j| j.kind == JobKind::Prune && j.id != lease.id())
    {
        return Err(Error::new(
            ErrorKind::Conflict,
            format!(
                "another prune is running: {other}; only one prune runs at a time (backups are \
                 never blocked). Try again when it has finished; a killed prune's marker is \
                 ignored once its process is gone or after {} minutes",
                gc::STALE_SECS / 60
            ),
        ));
    }
    progress.phase("mark");
    let (snaps, repo) = snapshots_then_index(&repo).await?;
    let (plan, (delete, repack), mut marks) =
        plan_inner(&repo, snaps, opts, Some(lease.id())).await?;
    if !plan.missing_packs.is_empty() {
        return Err(Error::new(
            ErrorKind::Corrupt,
            format!(
                "prune stopped before changing anything: {} pack(s) named by the index are missing                  (first: {}); run `hvelv check` and `hvelv repair index` first",
                plan.missing_packs.len(),
                plan.missing_packs[0]
            ),
        ));
    }
    let mut out = PruneOutcome {
        plan,
        ..Default::default()
    };

    // Repack live blobs of partly used packs into new packs, indexed before anything else.
    if !repack.is_empty() {
        progress.phase("repack");
        out.packs_written = repack_packs(&repo, &repack, &marks, progress).await?;
    }

    // Schedule this run's deletions.
    let mut doomed: Vec<FileId> = delete;
    doomed.extend(&repack);
    let mut ours = None;
    if !doomed.is_empty() {
        let name = gc::write_generation(&repo, &doomed).await?;
        // Jobs running now may have read the index before the generation existed.
        let jobs: Vec<Job> = gc::running_jobs(&repo)
            .await?
            .into_iter()
            .filter(|j| j.id != lease.id())
            .collect();
        gc::write_waits(&repo, &name, &jobs).await?;
        ours = Some(name);
    }

    // Delete every generation whose jobs have ended (waiting up to `opts.wait`).
    progress.phase("delete");
    let deadline = Instant::now() + opts.wait;
    loop {
        let state = GcState::load(&repo).await?;
        let running = gc::running_jobs(&repo).await?;
        let (ready, waiting): (Vec<_>, Vec<_>) = state
            .pending
            .iter()
            .cloned()
            .partition(|p| waiting_for(p, &running, Some(lease.id())).is_empty());
        if !waiting.is_empty() && Instant::now() < deadline && ours.is_some() {
            tokio::time::sleep(Duration::from_secs(2).min(opts.wait)).await;
            continue;
        }
        if !ready.is_empty() {
            lease.ensure_fresh()?;
            delete_generations(&repo, &ready, &mut marks, &mut out).await?;
        }
        out.deferred = waiting
            .iter()
            .map(|p| PendingDeletion {
                name: p.name.clone(),
                packs: p.generation.packs.len(),
                waiting_for: waiting_for(p, &running, Some(lease.id())),
            })
            .collect();
        gc::tidy(&repo, &state).await?;
        break;
    }
    Ok(out)
}

/// Copy the live blobs of `packs` into new packs and index them. Returns packs written.
async fn repack_packs(
    repo: &IndexedRepository,
    packs: &[FileId],
    marks: &Marks,
    progress: &dyn Progress,
) -> Result<usize> {
    let pack_size = repo.config().pack_size as usize;
    let index = repo.index().clone();
    let mut data = PackBuilder::with_capacity(pack_size);
    let mut tree = PackBuilder::with_capacity(1024 * 1024);
    let mut written = IndexFile::default();
    let mut copied: HashSet<BlobId> = HashSet::new();
    // Carried-over blobs are re-sealed with this prune's own session: a pack has one session.
    let session = repo.session()?;
    for pack_id in packs {
        let pos = index.pack_position(pack_id);
        let name = pack_id.to_hex();
        let bytes = repo
            .backend()
            .read(FileKind::Pack, &name)
            .await
            .map_err(|e| e.context(format!("repacking pack {}", pack_id.short())))?;
        if FileId::of(&bytes) != *pack_id {
            return Err(Error::corrupt(format!(
                "prune stopped: pack {} does not match its name (damaged); nothing was deleted; \
                 run `hvelv check --read-data`",
                pack_id.short()
            )));
        }
        let header = pack::read_header(repo.opener(), &bytes)
            .map_err(|e| e.context(format!("pack {}", pack_id.short())))?;
        let keys = repo.keys().clone();
        let from = repo.opener().session(&header.session)?;
        let to = session.sealer.clone();
        let live: Vec<PackEntry> = header
            .entries
            .into_iter()
            .filter(|e| {
                marks.live.contains(&e.id)
                    && index.get(&e.id).is_some_and(|l| Some(l.pack) == pos)
                    && !copied.contains(&e.id)
            })
            .collect();
        // Authenticate every blob that is carried over and re-seal it (CPU work off the async
        // threads).
        let checked: Vec<(PackEntry, Vec<u8>)> = {
            let bytes = bytes.clone();
            tokio::task::spawn_blocking(move || {
                live.into_iter()
                    .map(|e| {
                        let s = &bytes[e.offset as usize..(e.offset + e.length) as usize];
                        let moved = reseal_blob(&keys, &from, &to, e.ty, &e.id, s)?;
                        Ok((e, moved))
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .await
            .map_err(|e| Error::new(ErrorKind::Io, format!("repack task failed: {e}")))?
            .map_err(|e| {
                e.context(format!(
                    "prune stopped: a live blob in pack {} is damaged; nothing was deleted; run \
                     `hvelv check --read-data`",
                    pack_id.short()
                ))
            })?
        };
        for (e, sealed) in checked {
            copied.insert(e.id);
            let (b, limit) = match e.ty {
                BlobType::Data => (&mut data, pack_size),
                BlobType::Tree => (&mut tree, pack_size / 4),
            };
            b.add(e.ty, e.id, e.raw_length, &sealed);
            if b.size() >= limit {
                let full = std::mem::replace(b, PackBuilder::with_capacity(limit));
                written.packs.push(upload(repo, &session, full).await?);
            }
        }
        progress.files(1);
    }
    for b in [data, tree] {
        if b.count() > 0 {
            written.packs.push(upload(repo, &session, b).await?);
        }
    }
    if !written.packs.is_empty() {
        repo.save_index(&written).await?;
    }
    Ok(written.packs.len())
}

async fn upload(
    repo: &IndexedRepository,
    session: &Session,
    b: PackBuilder,
) -> Result<IndexedPack> {
    let FinishedPack {
        id,
        bytes,
        session,
        entries,
    } = b.finish(session)?;
    create_content_addressed(
        &**repo.backend(),
        FileKind::Pack,
        &id.to_hex(),
        Bytes::from(bytes),
    )
    .await?;
    Ok(IndexedPack {
        id,
        session,
        entries,
    })
}

/// Execute generations whose jobs have ended.
async fn delete_generations(
    repo: &IndexedRepository,
    ready: &[gc::Pending],
    marks: &mut Marks,
    out: &mut PruneOutcome,
) -> Result<()> {
    for p in ready {
        gc::mark_executing(repo, &p.name).await?;
    }
    // Snapshots committed since marking (by backups that started before the generations) may
    // need blobs of doomed packs: mark them too, with an index that knows their blobs.
    let (snaps, repo) = snapshots_then_index(repo).await?;
    let repo = &repo;
    marks.add(repo, &snaps).await?;

    let doomed: HashSet<FileId> = ready
        .iter()
        .flat_map(|p| p.generation.packs.iter())
        .filter_map(|h| FileId::from_hex(h).ok())
        .collect();
    let files = repo.read_index_files().await?;
    // Where each blob of a doomed pack has a copy outside the doomed set.
    let mut elsewhere: IdMap<BlobId, bool> = IdMap::default();
    let mut contents: BTreeMap<FileId, Vec<BlobId>> = BTreeMap::new();
    for (_, f) in &files {
        for p in &f.packs {
            if doomed.contains(&p.id) {
                let c = contents.entry(p.id).or_default();
                for e in &p.entries {
                    c.push(e.id);
                    elsewhere.entry(e.id).or_insert(false);
                }
            }
        }
    }
    for (_, f) in &files {
        for p in &f.packs {
            if !doomed.contains(&p.id) {
                for e in &p.entries {
                    if let Some(v) = elsewhere.get_mut(&e.id) {
                        *v = true;
                    }
                }
            }
        }
    }
    let mut delete: HashSet<FileId> = doomed.clone();
    for (pack, blobs) in &contents {
        if blobs
            .iter()
            .any(|b| marks.live.contains(b) && elsewhere.get(b) == Some(&false))
        {
            delete.remove(pack);
            out.packs_kept_needed += 1;
        }
    }
    // WORM: retention may have been extended, or index files naming a doomed pack written,
    // since planning; such packs stay, indexed as they are.
    let list: Vec<FileId> = delete.iter().copied().collect();
    for (p, h) in super::worm::held_packs(repo.backend(), &list, &files, chrono::Utc::now()).await?
    {
        delete.remove(&p);
        out.held.push(h);
    }

    // Rewrite index files that name packs being deleted; then remove the old files; then the
    // packs. At every step each remaining pack is named by some index file.
    let mut replaced = Vec::new();
    let mut rewritten = IndexFile::default();
    for (name, f) in &files {
        if f.packs.iter().any(|p| delete.contains(&p.id)) {
            replaced.push(name.clone());
            for p in &f.packs {
                if !delete.contains(&p.id) && !rewritten.packs.iter().any(|q| q.id == p.id) {
                    rewritten.packs.push(p.clone());
                }
            }
        }
    }
    for chunk in rewritten.packs.chunks(4096) {
        repo.save_index(&IndexFile {
            packs: chunk.to_vec(),
        })
        .await?;
    }
    for name in &replaced {
        match repo.backend().remove(FileKind::Index, name).await {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    let sizes: HashMap<String, u64> = repo
        .backend()
        .list(FileKind::Pack)
        .await?
        .into_iter()
        .collect();
    let removals: Vec<_> = delete
        .iter()
        .map(|p| {
            let name = p.to_hex();
            let size = sizes.get(&name).copied();
            remove_pack(repo.backend().clone(), name, size)
        })
        .collect();
    let results: Vec<Result<u64>> = stream::iter(removals).buffer_unordered(8).collect().await;
    for r in results {
        let size = r?;
        if size > 0 {
            out.packs_deleted += 1;
            out.bytes_freed += size;
        }
    }
    for p in ready {
        gc::complete(repo, &p.name).await?;
    }
    Ok(())
}
