//! `repair index` (rebuild the index from pack headers) and `repair snapshots` (rewrite
//! snapshots that reference lost data, leaving the lost parts out, explicitly).
//!
//! Both write before they remove, so a crash at any point leaves a readable repository:
//! `repair index` stores every new index file before it removes any old one (in between, index
//! files overlap, which is allowed); `repair snapshots` stores the new tree pack, then its index,
//! then the new snapshots, and only then (with `forget`) removes the originals.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, StreamExt};
use serde::Serialize;

use super::check::{self, CheckOptions, Checked};
use super::verify::ReadData;
use crate::backend::{create_content_addressed, FileKind};
use crate::blob::{BlobSealer, BlobType};
use crate::error::{Error, ErrorKind, Result};
use crate::id::{BlobId, FileId};
use crate::index::{IdMap, Index, IndexFile, IndexedPack};
use crate::pack::{PackBuilder, PackHeader};
use crate::progress::Progress;
use crate::repo::Repository;
use crate::snapshot::{RepairNote, SnapshotEntry};
use crate::tree::Tree;

/// Packs listed per new index file.
const PACKS_PER_INDEX: usize = 256;

/// What `repair index` did (or would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexRepair {
    /// Packs whose header was read and that the new index lists.
    pub packs_indexed: usize,
    /// Blobs the new index lists.
    pub blobs: usize,
    /// Packs whose header cannot be read (name, error); their blobs are not indexed unless
    /// a readable old index file lists them (see `packs_kept`).
    pub packs_unreadable: Vec<(String, String)>,
    /// Packs with an unreadable header whose entries were taken over from an old index file,
    /// so that blobs still readable through the index are not dropped by the repair.
    pub packs_kept: Vec<String>,
    /// New index files written (empty on a dry run).
    pub index_files_written: Vec<String>,
    /// Old index files removed (on a dry run: that would be removed).
    pub index_files_removed: Vec<String>,
    /// True if nothing was changed.
    pub dry_run: bool,
}

/// Rebuild the index from the headers of every pack; see the module docs for the order.
pub async fn repair_index(repo: &Repository, dry_run: bool) -> Result<IndexRepair> {
    repo.require_full("rebuild the index")?;
    let be = repo.backend().clone();
    let old: Vec<String> = be
        .list(FileKind::Index)
        .await?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let packs = be.list(FileKind::Pack).await?;
    let reader = repo.clone().with_index(Index::new());
    let headers: Vec<(String, Result<PackHeader>)> = stream::iter(packs)
        .map(|(name, size)| {
            let reader = &reader;
            async move {
                let r = reader.read_pack_header(&name, size).await;
                (name, r)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut out = IndexRepair {
        dry_run,
        ..Default::default()
    };
    let mut good: Vec<IndexedPack> = Vec::new();
    let mut unreadable = Vec::new();
    for (name, r) in headers {
        match (FileId::from_hex(&name), r) {
            (Ok(id), Ok(h)) => good.push(IndexedPack {
                id,
                session: h.session,
                entries: h.entries,
            }),
            (Ok(id), Err(e)) => unreadable.push((id, name, e.to_string())),
            (Err(e), _) => out.packs_unreadable.push((name, e.to_string())),
        }
    }
    if !unreadable.is_empty() {
        let mut old_entries: IdMap<FileId, IndexedPack> = IdMap::default();
        for name in &old {
            let r = repo
                .read_sealed(FileKind::Index, crate::format::sealed::INDEX_MAGIC, name)
                .await
                .and_then(|p| IndexFile::decode(&p));
            if let Ok(f) = r {
                for p in f.packs {
                    old_entries.entry(p.id).or_insert(p);
                }
            }
        }
        for (id, name, e) in unreadable {
            if let Some(p) = old_entries.remove(&id) {
                good.push(p);
                out.packs_kept.push(name.clone());
            }
            out.packs_unreadable.push((name, e));
        }
    }
    good.sort_by_key(|p| p.id);
    out.packs_indexed = good.len();
    out.blobs = good.iter().map(|p| p.entries.len()).sum();
    out.packs_unreadable.sort();
    if dry_run {
        out.index_files_removed = old;
        return Ok(out);
    }
    for chunk in good.chunks(PACKS_PER_INDEX) {
        let file = IndexFile {
            packs: chunk.to_vec(),
        };
        out.index_files_written
            .push(repo.save_index(&file).await?.to_hex());
    }
    for name in old {
        if out.index_files_written.contains(&name) {
            continue;
        }
        match be.remove(FileKind::Index, &name).await {
            Ok(()) => out.index_files_removed.push(name),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            // Under Object Lock retention: overlapping index files are valid, it stays.
            Err(e) if e.kind() == ErrorKind::Locked => tracing::info!("{e}"),
            Err(e) => return Err(e.context("removing an old index file")),
        }
    }
    Ok(out)
}

/// Options of [`repair_snapshots`].
#[derive(Debug, Clone, Default)]
pub struct SnapshotRepairOptions {
    /// Only report what would change.
    pub dry_run: bool,
    /// Remove each original after its repaired version is stored.
    pub forget: bool,
    /// Read every pack to find damaged blobs too (not only missing ones).
    pub read_data: bool,
}

/// One rewritten snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotRepair {
    /// The damaged snapshot.
    pub original: String,
    /// The repaired snapshot (`None` on a dry run).
    pub repaired: Option<String>,
    /// Files left out, and dirs kept empty: the record stored in the new snapshot.
    pub note: RepairNote,
    /// True if the original was removed.
    pub forgotten: bool,
    /// True if `repaired` was written by an earlier run (the original had been kept).
    pub earlier: bool,
}

/// What `repair snapshots` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SnapshotsRepair {
    /// Snapshots that reference lost data, and what became of them.
    pub snapshots: Vec<SnapshotRepair>,
    /// Snapshot files that cannot be read (not repairable: their file itself is damaged).
    pub unreadable: Vec<String>,
    /// Problems found by the check that preceded the repair.
    pub problems: Vec<check::Problem>,
    /// True if nothing was changed.
    pub dry_run: bool,
}

struct Rewriter<'a> {
    checked: &'a Checked,
    memo: IdMap<BlobId, bool>,
    sealer: BlobSealer,
    pack: PackBuilder,
    added: IdMap<BlobId, ()>,
    note: RepairNote,
}

impl Rewriter<'_> {
    fn store(&mut self, tree: &Tree) -> Result<BlobId> {
        let bytes = tree.encode();
        let id = self.checked.repo.keys().blob_id(&bytes);
        let known = self
            .checked
            .repo
            .index()
            .get(&id)
            .is_some_and(|l| l.ty == BlobType::Tree && !self.checked.bad.contains_key(&id));
        if !known && self.added.insert(id, ()).is_none() {
            let sealed = self.sealer.seal(BlobType::Tree, &id, &bytes)?;
            self.pack
                .add(BlobType::Tree, id, bytes.len() as u32, &sealed);
        }
        Ok(id)
    }

    fn emptied(&mut self, path: String) {
        self.note.emptied_total += 1;
        if self.note.emptied_dirs.len() < RepairNote::MAX_PATHS {
            self.note.emptied_dirs.push(path);
        }
    }

    /// The repaired version of tree `id` at `path`.
    fn rewrite<'b>(
        &'b mut self,
        id: BlobId,
        path: String,
    ) -> Pin<Box<dyn Future<Output = Result<BlobId>> + Send + 'b>> {
        Box::pin(async move {
            if !self.checked.dirty(&id, &mut self.memo) {
                return Ok(id);
            }
            let tree = match self.checked.bad.contains_key(&id) {
                true => None,
                false => self.checked.repo.read_tree(&id).await.ok(),
            };
            let Some(tree) = tree else {
                self.emptied(format!("{path}/"));
                return self.store(&Tree::default());
            };
            let mut nodes = Vec::with_capacity(tree.nodes.len());
            for mut n in tree.nodes {
                let p = format!("{path}/{}", n.display_name());
                if n.content.iter().any(|b| self.checked.bad.contains_key(b)) {
                    self.note.dropped_total += 1;
                    if self.note.dropped_files.len() < RepairNote::MAX_PATHS {
                        self.note.dropped_files.push(p);
                    }
                    continue;
                }
                if let Some(sub) = n.subtree {
                    n.subtree = Some(self.rewrite(sub, p).await?);
                }
                nodes.push(n);
            }
            self.store(&Tree { nodes })
        })
    }
}

/// Rewrite every snapshot that references lost data: files with lost content are dropped,
/// directories whose listing is lost become empty directories, and the new snapshot records
/// `original` and what was left out (`repaired`) and is tagged `repaired`. Intact snapshots
/// are never touched.
pub async fn repair_snapshots(
    repo: Repository,
    opts: &SnapshotRepairOptions,
    progress: Arc<dyn Progress>,
) -> Result<SnapshotsRepair> {
    repo.require_full("repair snapshots")?;
    let copts = CheckOptions {
        read_data: if opts.read_data {
            ReadData::All
        } else {
            ReadData::None
        },
        max_paths: 20,
        ..CheckOptions::default()
    };
    let checked = check::run(repo, &copts, progress).await?;
    let index_first: Vec<&check::Problem> = checked
        .report
        .problems
        .iter()
        .filter(|p| {
            p.kind == check::ProblemKind::IndexUnreadable
                || (p.kind == check::ProblemKind::PackUnindexed && !p.snapshots.is_empty())
        })
        .collect();
    if !index_first.is_empty() {
        return Err(Error::invalid(format!(
            "run `hvelv repair index` first: {} (data that is only missing from the index would \
             otherwise be dropped from the snapshots)",
            index_first
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    let mut out = SnapshotsRepair {
        dry_run: opts.dry_run,
        problems: checked.report.problems.clone(),
        unreadable: checked
            .report
            .problems
            .iter()
            .filter(|p| p.kind == check::ProblemKind::SnapshotUnreadable)
            .map(|p| p.subject.clone())
            .collect(),
        ..Default::default()
    };
    let repo = &checked.repo;
    let session = repo.session()?;
    let mut rw = Rewriter {
        checked: &checked,
        memo: IdMap::default(),
        sealer: BlobSealer::new(&session.sealer, repo.config().zstd_level)?,
        pack: PackBuilder::with_capacity(1 << 20),
        added: IdMap::default(),
        note: RepairNote::default(),
    };
    let mut planned: Vec<(SnapshotEntry, RepairNote)> = Vec::new();
    let already: std::collections::HashMap<String, &SnapshotEntry> = checked
        .snapshots
        .iter()
        .filter(|s| s.snapshot.repaired.is_some())
        .filter_map(|s| Some((s.snapshot.original.clone()?, s)))
        .collect();
    // Archive snapshots are removed only by `hvelv archive remove`, which logs it: `--forget`
    // keeps their originals, and a repaired copy (incomplete by definition) is no archive
    // snapshot.
    let archived: std::collections::HashSet<FileId> = checked
        .snapshots
        .iter()
        .filter(|s| s.snapshot.archive.is_some())
        .map(|s| s.id)
        .collect();
    // Originals kept by an earlier repair are not repaired twice (`forget` removes them now).
    let mut earlier: Vec<(FileId, &SnapshotEntry)> = Vec::new();
    for s in &checked.snapshots {
        let root = s.snapshot.tree_id()?;
        if !checked.dirty(&root, &mut rw.memo) {
            continue;
        }
        if let Some(r) = already.get(&s.id.to_hex()) {
            earlier.push((s.id, r));
            continue;
        }
        rw.note = RepairNote {
            time: chrono::Local::now().to_rfc3339(),
            ..RepairNote::default()
        };
        let new_root = rw.rewrite(root, String::new()).await?;
        let mut snap = s.snapshot.clone();
        snap.tree = new_root.to_hex();
        snap.original = Some(s.id.to_hex());
        snap.archive = None;
        if !snap.tags.iter().any(|t| t == "repaired") {
            snap.tags.push("repaired".into());
        }
        let note = std::mem::take(&mut rw.note);
        snap.repaired = Some(note.clone());
        planned.push((
            SnapshotEntry {
                id: s.id,
                snapshot: snap,
            },
            note,
        ));
    }
    for (orig, r) in earlier {
        let forgotten = opts.forget
            && !opts.dry_run
            && !archived.contains(&orig)
            && forget(repo, orig, r.id).await?;
        out.snapshots.push(SnapshotRepair {
            original: orig.to_hex(),
            repaired: Some(r.id.to_hex()),
            note: r.snapshot.repaired.clone().unwrap_or_default(),
            forgotten,
            earlier: true,
        });
    }
    if opts.dry_run || planned.is_empty() {
        out.snapshots
            .extend(planned.into_iter().map(|(s, note)| SnapshotRepair {
                original: s.id.to_hex(),
                repaired: None,
                note,
                forgotten: false,
                earlier: false,
            }));
        return Ok(out);
    }
    // New trees: pack, then index, then snapshots, then (forget) originals.
    if rw.pack.count() > 0 {
        let pack = std::mem::take(&mut rw.pack).finish(&session)?;
        create_content_addressed(
            &**repo.backend(),
            FileKind::Pack,
            &pack.id.to_hex(),
            Bytes::from(pack.bytes),
        )
        .await?;
        repo.save_index(&IndexFile {
            packs: vec![IndexedPack {
                id: pack.id,
                session: pack.session,
                entries: pack.entries,
            }],
        })
        .await?;
    }
    let mut written = Vec::new();
    for (s, note) in planned {
        let id = repo.save_snapshot(&s.snapshot).await?;
        written.push((s.id, id, note));
    }
    for (orig, new, note) in written {
        let forgotten = opts.forget && !archived.contains(&orig) && forget(repo, orig, new).await?;
        out.snapshots.push(SnapshotRepair {
            original: orig.to_hex(),
            repaired: Some(new.to_hex()),
            note,
            forgotten,
            earlier: false,
        });
    }
    Ok(out)
}

/// Remove original snapshot `orig` whose repaired version `new` is stored.
async fn forget(repo: &Repository, orig: FileId, new: FileId) -> Result<bool> {
    match repo
        .backend()
        .remove(FileKind::Snapshot, &orig.to_hex())
        .await
    {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::new(
            e.kind(),
            format!(
                "repaired snapshot {} is stored, but removing the original {} failed: {e}",
                new.short(),
                orig.short()
            ),
        )),
    }
}
