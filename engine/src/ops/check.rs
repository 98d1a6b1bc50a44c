//! `check`: is every snapshot still restorable, and is the repository consistent?
//!
//! Order of work: read snapshots → load index files one by one (a damaged one is a problem, not
//! a failure) → list packs (this order is the reverse of a backup's writes, so a concurrent
//! backup causes no false alarms) → check indexed packs against the listing (missing, truncated),
//! read every pack header and compare it with the index (structure) or read packs in full
//! (`--read-data`, a budget) → walk every tree reachable from a snapshot once → check every
//! referenced data blob against the index. Every lost blob is attributed to exactly one problem
//! (a missing pack, a damaged pack, an unindexed pack, "blobs missing"), so each problem is
//! reported once; a last walk maps the lost blobs to the snapshots and paths they belong to,
//! reading only trees that contain something lost.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use futures::stream::{self, FuturesUnordered, StreamExt};

use super::check_report::Affected;
pub use super::check_report::{CheckReport, Problem, ProblemKind, Severity};
use super::verify;
pub use super::verify::{Budget, Coverage, ReadData};
use crate::backend::FileKind;
use crate::blob::BlobType;
use crate::error::{Error, ErrorKind, Result};
use crate::format::sealed::INDEX_MAGIC;
use crate::id::{BlobId, FileId};
use crate::index::IndexedPack;
use crate::index::{IdMap, Index, IndexFile};
use crate::pack::{PackEntry, PackHeader, TRAILER_LEN};
use crate::progress::Progress;
use crate::repo::{IndexedRepository, Repository};
use crate::snapshot::SnapshotEntry;

/// Options of [`check`].
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// How much pack data to read in full.
    pub read_data: ReadData,
    /// Longest path list per problem.
    pub max_paths: usize,
    /// Packs read at once with `read_data` (memory: this many packs; 0 = 4).
    pub concurrency: usize,
    /// Time of this run in ms since the epoch (0 = now); recorded for verified packs.
    pub now_ms: i64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            read_data: ReadData::None,
            max_paths: 20,
            concurrency: 0,
            now_ms: 0,
        }
    }
}

const HEADER_CONCURRENCY: usize = 8;
const TREE_CONCURRENCY: usize = 8;

/// Check the repository; see the module docs. Fails only when the repository cannot be
/// listed at all; everything it finds is in the report.
pub async fn check(
    repo: Repository,
    opts: &CheckOptions,
    progress: Arc<dyn Progress>,
) -> Result<CheckReport> {
    let be = repo.backend().clone();
    let mut report = run(repo, opts, progress.clone()).await?.report;
    if be.object_lock().is_some() {
        progress.phase("checking Object Lock retention");
        for f in super::worm::retention_findings(&be).await? {
            report.problems.push(Problem {
                kind: ProblemKind::RetentionViolated,
                severity: Severity::Error,
                details: vec![format!("{} {}", f.kind, f.problem)],
                subject: f.name,
                blobs: 0,
                snapshots: Vec::new(),
                paths: Vec::new(),
                paths_total: 0,
                hint: "it was written by a client that did not apply the policy, or its retention \
                       was changed; the data is intact but not protected. Set a retention on it \
                       (`aws s3api put-object-retention`) or copy the snapshots to a new WORM \
                       repository"
                    .to_owned(),
            });
        }
    }
    Ok(report)
}

/// Summary of a readable tree: its subtrees and the data blobs its files use.
pub(crate) struct TreeSummary {
    pub subtrees: Vec<BlobId>,
    pub blobs: Vec<BlobId>,
}

/// Everything a check learnt, for `repair snapshots`.
pub(crate) struct Checked {
    pub report: CheckReport,
    pub repo: IndexedRepository,
    /// Readable snapshots.
    pub snapshots: Vec<SnapshotEntry>,
    /// Lost blobs (data and trees) → index of the problem that explains them.
    pub bad: IdMap<BlobId, usize>,
    pub trees: IdMap<BlobId, TreeSummary>,
}

impl Checked {
    /// True if the tree (or anything below it) contains a lost blob. Memoized.
    pub fn dirty(&self, id: &BlobId, memo: &mut IdMap<BlobId, bool>) -> bool {
        if let Some(&d) = memo.get(id) {
            return d;
        }
        let d = self.bad.contains_key(id)
            || self.trees.get(id).is_some_and(|t| {
                t.blobs.iter().any(|b| self.bad.contains_key(b))
                    || t.subtrees.iter().any(|s| self.dirty(s, memo))
            });
        memo.insert(*id, d);
        d
    }
}

struct Checker {
    problems: Vec<Problem>,
    affected: Vec<Affected>,
    bad: IdMap<BlobId, usize>,
    pack_problem: IdMap<FileId, usize>,
    missing_problem: Option<usize>,
    wrong_type_problem: Option<usize>,
}

impl Checker {
    fn push(
        &mut self,
        kind: ProblemKind,
        subject: String,
        detail: Option<String>,
        hint: &str,
    ) -> usize {
        self.problems.push(Problem {
            kind,
            severity: Severity::Error,
            subject,
            details: detail.into_iter().collect(),
            blobs: 0,
            snapshots: Vec::new(),
            paths: Vec::new(),
            paths_total: 0,
            hint: hint.to_owned(),
        });
        self.affected.push(Affected::default());
        self.problems.len() - 1
    }

    /// The one problem of a pack (created as `kind` if new); `detail` is added to it.
    fn pack(&mut self, pack: FileId, kind: ProblemKind, detail: Option<String>) -> usize {
        if let Some(&i) = self.pack_problem.get(&pack) {
            if let Some(d) = detail {
                if !self.problems[i].details.contains(&d) {
                    self.problems[i].details.push(d);
                }
            }
            return i;
        }
        let hint = match kind {
            ProblemKind::PackMissing => {
                "run `hvelv repair index`, then `hvelv repair snapshots` to drop the lost files"
            }
            ProblemKind::PackUnindexed => "run `hvelv repair index`",
            _ => {
                "run `hvelv repair snapshots --read-data` to drop the lost files from the snapshots"
            }
        };
        let i = self.push(kind, pack.to_hex(), detail, hint);
        self.pack_problem.insert(pack, i);
        i
    }

    /// Attribute a lost blob to problem `p` (the first attribution wins).
    fn lose(&mut self, blob: BlobId, p: usize) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.bad.entry(blob) {
            e.insert(p);
            self.problems[p].blobs += 1;
        }
    }

    fn missing(&mut self, blob: BlobId) {
        let p = match self.missing_problem {
            Some(p) => p,
            None => {
                let p = self.push(
                    ProblemKind::BlobsMissing,
                    String::new(),
                    None,
                    "run `hvelv repair snapshots` to drop the lost files from the snapshots",
                );
                self.missing_problem = Some(p);
                p
            }
        };
        self.lose(blob, p);
    }

    fn wrong_type(&mut self, blob: BlobId, want: BlobType) {
        let p = match self.wrong_type_problem {
            Some(p) => p,
            None => {
                let p = self.push(
                    ProblemKind::WrongBlobType,
                    String::new(),
                    None,
                    "run `hvelv repair snapshots` to drop the lost files from the snapshots",
                );
                self.wrong_type_problem = Some(p);
                p
            }
        };
        let d = format!(
            "{} blob {} is indexed as another type",
            want.as_str(),
            blob.short()
        );
        if self.problems[p].details.len() < 5 {
            self.problems[p].details.push(d);
        }
        self.lose(blob, p);
    }
}

fn hex_id(name: &str) -> Option<FileId> {
    FileId::from_hex(name).ok()
}

pub(crate) async fn run(
    repo: Repository,
    opts: &CheckOptions,
    progress: Arc<dyn Progress>,
) -> Result<Checked> {
    repo.require_full("check the repository")?;
    let be = repo.backend().clone();
    let mut c = Checker {
        problems: Vec::new(),
        affected: Vec::new(),
        bad: IdMap::default(),
        pack_problem: IdMap::default(),
        missing_problem: None,
        wrong_type_problem: None,
    };
    let mut report = CheckReport::default();

    // Order matters while backups run: a backup writes packs, then their index, then the
    // snapshot. Reading snapshots, then index files, then listing packs means every snapshot
    // seen has its index loaded and every indexed pack listed (no false alarms).
    // Snapshots.
    progress.phase("reading snapshots");
    let snap_names = be.list(FileKind::Snapshot).await?;
    report.snapshots = snap_names.len();
    let mut snapshots = Vec::new();
    for (name, _) in snap_names {
        let r = repo
            .read_snapshot(&name)
            .await
            .and_then(|s| Ok((FileId::from_hex(&name)?, s.tree_id()?, s)));
        match r {
            Ok((id, _, snapshot)) => snapshots.push(SnapshotEntry { id, snapshot }),
            Err(e) => {
                let p = c.push(
                    ProblemKind::SnapshotUnreadable,
                    name.clone(),
                    Some(e.to_string()),
                    "its files cannot be listed or restored; remove the snapshot file once that is accepted",
                );
                if let Some(id) = hex_id(&name) {
                    c.affected[p].snapshots.insert(id);
                }
            }
        }
    }
    snapshots.sort_by_key(|s| (s.snapshot.datetime(), s.id));

    // Index files, one by one.
    progress.phase("loading index files");
    let index_names = be.list(FileKind::Index).await?;
    report.index_files = index_names.len();
    let loaded: Vec<(String, Result<IndexFile>)> = stream::iter(index_names)
        .map(|(name, _)| {
            let repo = &repo;
            async move {
                let r = repo
                    .read_sealed(FileKind::Index, INDEX_MAGIC, &name)
                    .await
                    .and_then(|p| IndexFile::decode(&p));
                (name, r)
            }
        })
        .buffer_unordered(HEADER_CONCURRENCY)
        .collect()
        .await;
    let mut index = Index::new();
    let mut index_entries: IdMap<FileId, IndexedPack> = IdMap::default();
    for (name, r) in loaded {
        match r {
            Ok(f) => {
                index.merge(&f);
                for p in f.packs {
                    index_entries.entry(p.id).or_insert(p);
                }
            }
            Err(e) => {
                c.push(
                    ProblemKind::IndexUnreadable,
                    name,
                    Some(e.to_string()),
                    "run `hvelv repair index`",
                );
            }
        }
    }
    let repo = repo.with_index(index);
    let index = repo.index().clone();

    // Packs as stored.
    progress.phase("listing packs");
    let mut listed: IdMap<FileId, u64> = IdMap::default();
    for (name, size) in be.list(FileKind::Pack).await? {
        match hex_id(&name) {
            Some(id) => {
                listed.insert(id, size);
            }
            None => tracing::warn!("ignoring {name} in data/: not a pack name"),
        }
    }
    report.packs = listed.len();
    report.pack_bytes = listed.values().sum();

    // Indexed packs against the listing.
    progress.phase("checking packs");
    let mut pack_ids: Vec<FileId> = index_entries.keys().copied().collect();
    pack_ids.sort();
    for pack in &pack_ids {
        let entries = &index_entries[pack].entries;
        let uses_here =
            |e: &PackEntry| index.get(&e.id).map(|l| index.pack_id(l.pack)) == Some(*pack);
        match listed.get(pack) {
            None => {
                let p = c.pack(*pack, ProblemKind::PackMissing, None);
                for e in entries.iter().filter(|e| uses_here(e)) {
                    c.lose(e.id, p);
                }
            }
            Some(&size) => {
                let end = entries
                    .iter()
                    .map(|e| u64::from(e.offset) + u64::from(e.length))
                    .max()
                    .unwrap_or(0);
                if size < end + TRAILER_LEN as u64 {
                    let p = c.pack(
                        *pack,
                        ProblemKind::PackDamaged,
                        Some(format!(
                            "it is {size} bytes, too short for the {end} bytes of blobs the index lists (truncated)"
                        )),
                    );
                    for e in entries.iter().filter(|e| uses_here(e)) {
                        if u64::from(e.offset) + u64::from(e.length) > size {
                            c.lose(e.id, p);
                        }
                    }
                }
            }
        }
    }

    // Which packs are read in full, which only by their header.
    let mut all_packs: Vec<(FileId, u64)> = listed.iter().map(|(k, v)| (*k, *v)).collect();
    all_packs.sort();
    let loaded_state = match opts.read_data {
        ReadData::None => None,
        _ => Some(verify::load_state(&repo).await?),
    };
    let (full, budget_bytes): (Vec<(FileId, u64)>, Option<u64>) =
        match (opts.read_data, &loaded_state) {
            (ReadData::Budget(b), Some(st)) => {
                let bytes = b.bytes(report.pack_bytes);
                (verify::select(&all_packs, &st.state, bytes), Some(bytes))
            }
            (ReadData::All, _) => (all_packs.clone(), None),
            _ => (Vec::new(), None),
        };
    let full_set: HashSet<FileId> = full.iter().map(|p| p.0).collect();

    // Headers of the packs not read in full.
    let header_jobs: Vec<(FileId, u64)> = all_packs
        .iter()
        .filter(|(id, _)| !full_set.contains(id))
        .copied()
        .collect();
    let headers: Vec<(FileId, Result<PackHeader>)> = stream::iter(header_jobs)
        .map(|(id, size)| {
            let repo = &repo;
            async move { (id, repo.read_pack_header(&id.to_hex(), size).await) }
        })
        .buffer_unordered(HEADER_CONCURRENCY)
        .collect()
        .await;
    // Blobs of unindexed packs are lost to restore but recoverable; trees among them are still
    // read (through `recovery`) so that the files they list are attributed to the right pack.
    let mut recovery = (*index).clone();
    for (pack, r) in headers {
        if let (Ok(h), false) = (&r, index_entries.contains_key(&pack)) {
            recovery.add_pack(pack, h.session, &h.entries);
        }
        apply_header(&mut c, &index, index_entries.get(&pack), pack, r);
    }

    // Packs read in full.
    let mut clean = Vec::new();
    let mut bytes_verified = 0u64;
    if !full.is_empty() {
        progress.phase("reading packs");
        progress.totals(0, full.iter().map(|p| p.1).sum());
        let conc = if opts.concurrency == 0 {
            4
        } else {
            opts.concurrency
        };
        let mut results = stream::iter(full.clone())
            .map(|(id, size)| {
                let be = be.clone();
                let opener = repo.opener().clone();
                let indexed = index_entries.get(&id).cloned();
                async move {
                    let r = async {
                        let bytes = be
                            .read(FileKind::Pack, &id.to_hex())
                            .await
                            .map_err(|e| e.context(format!("reading pack {}", id.short())))?;
                        tokio::task::spawn_blocking(move || {
                            verify::verify_pack(&opener, &id, &bytes, indexed.as_ref())
                        })
                        .await
                        .map_err(|e| Error::new(ErrorKind::Io, format!("verify task failed: {e}")))
                    }
                    .await;
                    (id, size, r)
                }
            })
            .buffer_unordered(conc);
        while let Some((id, size, r)) = results.next().await {
            progress.bytes(size);
            match r {
                Err(e) => {
                    c.pack(
                        id,
                        ProblemKind::PackDamaged,
                        Some(format!("it cannot be read ({e})")),
                    );
                }
                Ok(v) => {
                    bytes_verified += size;
                    let indexed = index_entries.contains_key(&id);
                    if !indexed {
                        // Reported (and its blobs attributed) as a header read would, intact or not.
                        if let Some(h) = &v.header {
                            recovery.add_pack(id, h.session, &h.entries);
                        }
                        let r = v
                            .header
                            .clone()
                            .ok_or_else(|| Error::corrupt(v.pack_errors.join("; ")));
                        apply_header(&mut c, &index, None, id, r);
                    }
                    if v.is_clean() {
                        clean.push(id);
                        continue;
                    }
                    let kind = ProblemKind::PackDamaged;
                    let mut p = None;
                    for d in &v.pack_errors {
                        if !indexed && v.header.is_none() && d.starts_with("its header") {
                            continue;
                        }
                        p = Some(c.pack(id, kind, Some(d.clone())));
                    }
                    if !v.damaged.is_empty() {
                        let pi = c.pack(
                            id,
                            kind,
                            Some(format!("{} blobs fail authentication", v.damaged.len())),
                        );
                        c.problems[pi].kind = ProblemKind::PackDamaged;
                        for (b, _) in &v.damaged {
                            let here = index.get(b).map(|l| index.pack_id(l.pack)) == Some(id);
                            if here || !index.contains(b) {
                                c.lose(*b, pi);
                            }
                        }
                        p = Some(pi);
                    }
                    if let (Some(pi), false) = (p, indexed) {
                        c.problems[pi].hint = "run `hvelv repair index`".into();
                    }
                }
            }
        }
    }

    let repo = (*repo).clone().with_index(recovery);
    let recoverable = |c: &Checker, id: &BlobId| {
        c.bad
            .get(id)
            .is_some_and(|&p| c.problems[p].kind == ProblemKind::PackUnindexed)
    };

    // Trees reachable from the snapshots, each once.
    progress.phase("reading trees");
    let mut trees: IdMap<BlobId, TreeSummary> = IdMap::default();
    let mut seen: HashSet<BlobId> = HashSet::new();
    let mut queue: Vec<BlobId> = Vec::new();
    for s in &snapshots {
        if let Ok(t) = s.snapshot.tree_id() {
            if seen.insert(t) {
                queue.push(t);
            }
        }
    }
    let mut data: HashSet<BlobId> = HashSet::new();
    let mut inflight = FuturesUnordered::new();
    loop {
        while inflight.len() < TREE_CONCURRENCY {
            let Some(id) = queue.pop() else { break };
            let read = if c.bad.contains_key(&id) {
                recoverable(&c, &id)
            } else {
                match index.get(&id) {
                    None => {
                        c.missing(id);
                        false
                    }
                    Some(l) if l.ty != BlobType::Tree => {
                        c.wrong_type(id, BlobType::Tree);
                        false
                    }
                    Some(_) => true,
                }
            };
            if !read {
                continue;
            }
            let repo = &repo;
            inflight.push(async move { (id, repo.read_tree(&id).await) });
        }
        let Some((id, r)) = inflight.next().await else {
            break;
        };
        match r {
            Ok(tree) => {
                let mut sum = TreeSummary {
                    subtrees: Vec::new(),
                    blobs: Vec::new(),
                };
                for n in &tree.nodes {
                    sum.blobs.extend_from_slice(&n.content);
                    data.extend(n.content.iter().copied());
                    if let Some(s) = n.subtree {
                        sum.subtrees.push(s);
                        if seen.insert(s) {
                            queue.push(s);
                        }
                    }
                }
                trees.insert(id, sum);
            }
            Err(_) if c.bad.contains_key(&id) => {}
            Err(e) => {
                let pack = index.get(&id).map(|l| index.pack_id(l.pack));
                match pack {
                    Some(pack) => {
                        let p = c.pack(
                            pack,
                            ProblemKind::PackDamaged,
                            Some(format!("tree {} cannot be read ({e})", id.short())),
                        );
                        c.lose(id, p);
                    }
                    None => c.missing(id),
                }
            }
        }
    }
    drop(inflight);
    report.trees = trees.len();
    report.data_blobs = data.len();

    // Data blobs against the index.
    let mut data: Vec<BlobId> = data.into_iter().collect();
    data.sort();
    for b in data {
        if c.bad.contains_key(&b) {
            continue;
        }
        match index.get(&b) {
            None => c.missing(b),
            Some(l) if l.ty != BlobType::Data => c.wrong_type(b, BlobType::Data),
            Some(_) => {}
        }
    }

    let mut checked = Checked {
        report,
        repo,
        snapshots,
        bad: c.bad.clone(),
        trees,
    };
    map_affected(&checked, &mut c).await;

    // Finish problems: affected lists, severities.
    for (p, a) in c.problems.iter_mut().zip(std::mem::take(&mut c.affected)) {
        p.snapshots = a.snapshots.iter().map(FileId::to_hex).collect();
        p.paths_total = a.paths.len() as u64;
        p.paths = a.paths.into_iter().take(opts.max_paths).collect();
        if p.kind == ProblemKind::PackUnindexed && p.snapshots.is_empty() {
            p.severity = Severity::Warning;
        }
    }

    // Verification record.
    if let Some(st) = loaded_state {
        for (name, e) in &st.unreadable {
            let i = c.push(
                ProblemKind::RecordUnreadable,
                name.clone(),
                Some(e.to_string()),
                "it is ignored and replaced by this run's record",
            );
            c.problems[i].severity = Severity::Warning;
        }
        let mut state = st.state;
        let latest = state.packs.values().copied().max().unwrap_or(0);
        let now = if opts.now_ms != 0 {
            opts.now_ms
        } else {
            chrono::Utc::now().timestamp_millis()
        };
        let now = now.max(latest.saturating_add(1));
        for id in &clean {
            state.packs.insert(*id, now);
        }
        let covered: Vec<(&FileId, &u64)> = listed
            .iter()
            .filter(|(id, _)| state.packs.contains_key(id))
            .collect();
        let oldest = (covered.len() == listed.len())
            .then(|| {
                listed
                    .keys()
                    .filter_map(|id| state.packs.get(id))
                    .min()
                    .copied()
            })
            .flatten()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|d| d.to_rfc3339());
        checked.report.read_data = Some(Coverage {
            packs_verified: full.len(),
            bytes_verified,
            packs_total: listed.len(),
            bytes_total: checked.report.pack_bytes,
            packs_covered: covered.len(),
            bytes_covered: covered.iter().map(|(_, s)| **s).sum(),
            oldest_verification: oldest,
            budget_bytes,
            runs_for_full_coverage: match opts.read_data {
                ReadData::Budget(b) => Some(b.runs_for_full_coverage(checked.report.pack_bytes)),
                _ => Some(1),
            },
        });
        verify::save_state(
            &checked.repo,
            state,
            &|id| listed.contains_key(id),
            &st.files,
        )
        .await?;
    }
    checked.report.problems = c.problems;
    Ok(checked)
}

/// Compare a pack's header (read from its tail) with the index.
fn apply_header(
    c: &mut Checker,
    index: &Index,
    indexed: Option<&IndexedPack>,
    pack: FileId,
    r: Result<PackHeader>,
) {
    match (r, indexed) {
        (Ok(h), Some(ix)) => {
            if !verify::same_entries(&h.entries, &ix.entries) || h.session != ix.session {
                c.pack(
                    pack,
                    ProblemKind::PackDamaged,
                    Some("its header does not match the index".into()),
                );
            }
        }
        (Ok(h), None) => {
            let p = c.pack(pack, ProblemKind::PackUnindexed, None);
            for e in h.entries.iter().filter(|e| !index.contains(&e.id)) {
                c.lose(e.id, p);
            }
        }
        (Err(e), Some(_)) => {
            c.pack(
                pack,
                ProblemKind::PackDamaged,
                Some(format!("its header cannot be read ({e})")),
            );
        }
        (Err(e), None) => {
            let p = c.pack(
                pack,
                ProblemKind::PackDamaged,
                Some(format!(
                    "it is in no index and its header cannot be read ({e})"
                )),
            );
            c.problems[p].hint =
                "its blobs cannot be recovered; `hvelv repair index` reports it".into();
        }
    }
}

/// Map every lost blob to the snapshots and paths it belongs to, reading only dirty trees.
async fn map_affected(checked: &Checked, c: &mut Checker) {
    if checked.bad.is_empty() {
        return;
    }
    let mut memo = IdMap::default();
    for s in &checked.snapshots {
        let Ok(root) = s.snapshot.tree_id() else {
            continue;
        };
        if let Some(&p) = checked.bad.get(&root) {
            c.affected[p].add(s.id, "/".into());
        }
        if !checked.trees.contains_key(&root) || !checked.dirty(&root, &mut memo) {
            continue;
        }
        let mut stack: Vec<(BlobId, String)> = vec![(root, String::new())];
        while let Some((tid, dir)) = stack.pop() {
            let Ok(tree) = checked.repo.read_tree(&tid).await else {
                continue;
            };
            for n in &tree.nodes {
                let path = format!("{dir}/{}", n.display_name());
                let mut hit = BTreeSet::new();
                for b in &n.content {
                    if let Some(&p) = checked.bad.get(b) {
                        hit.insert(p);
                    }
                }
                for p in hit {
                    c.affected[p].add(s.id, path.clone());
                }
                if let Some(sub) = n.subtree {
                    if let Some(&p) = checked.bad.get(&sub) {
                        c.affected[p].add(s.id, format!("{path}/"));
                    }
                    if checked.trees.contains_key(&sub) && checked.dirty(&sub, &mut memo) {
                        stack.push((sub, path));
                    }
                }
            }
        }
    }
}
