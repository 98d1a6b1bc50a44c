//! `check`, `check --read-data(-budget)`, `repair index` and `repair snapshots` through the
//! engine API, on in-memory repositories damaged on purpose.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use hvelv_engine::backend::{Backend, FileKind, MemoryBackend};
use hvelv_engine::crypto::KdfParams;
use hvelv_engine::ops::backup::{backup, BackupOptions};
use hvelv_engine::ops::check::{
    check, Budget, CheckOptions, CheckReport, ProblemKind, ReadData, Severity,
};
use hvelv_engine::ops::ls::walk;
use hvelv_engine::ops::repair::{repair_index, repair_snapshots, SnapshotRepairOptions};
use hvelv_engine::ops::restore::{restore, RestoreOptions};
use hvelv_engine::ops::verify;
use hvelv_engine::progress::NoProgress;
use hvelv_engine::snapshot::SnapshotEntry;
use hvelv_engine::{BlobId, FileId, IndexedRepository, InitOptions, Repository};
use rand::{Rng, SeedableRng};

const PW: &[u8] = b"pw";

fn small_packs() -> InitOptions {
    InitOptions {
        kdf: KdfParams {
            m_cost: 8 * 1024,
            t_cost: 1,
            p_cost: 1,
        }
        .into(),
        chunker: hvelv_engine::chunker::ChunkerParams {
            min: 64 << 10,
            avg: 128 << 10,
            max: 512 << 10,
        },
        pack_size: 1 << 20,
        ..InitOptions::default()
    }
}

/// Writes `n` files of random (incompressible) content below `dir/name`.
fn write_files(dir: &Path, name: &str, n: usize, seed: u64) -> BTreeMap<String, Vec<u8>> {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..n {
        let mut data = vec![0u8; rng.gen_range(40_000..500_000)];
        rng.fill(&mut data[..]);
        let p = d.join(format!("f{i:02}.bin"));
        std::fs::write(&p, &data).unwrap();
        out.insert(p.to_str().unwrap().to_owned(), data);
    }
    out
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    be: Arc<MemoryBackend>,
    snaps: Vec<SnapshotEntry>,
}

impl Fixture {
    async fn new(batches: usize, files: usize) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("src");
        let be = Arc::new(MemoryBackend::new());
        let mut repo = Repository::init(be.clone(), PW, small_packs())
            .await
            .unwrap()
            .load_index()
            .await
            .unwrap();
        let mut snaps = Vec::new();
        for b in 0..batches {
            write_files(&root, &format!("b{b}"), files, b as u64 + 1);
            let opts = BackupOptions {
                paths: vec![root.clone()],
                ..Default::default()
            };
            snaps.push(
                backup(&mut repo, &opts, Arc::new(NoProgress))
                    .await
                    .unwrap()
                    .snapshot,
            );
        }
        Fixture {
            _dir: dir,
            root,
            be,
            snaps,
        }
    }
    async fn repo(&self) -> Repository {
        Repository::open(self.be.clone(), PW).await.unwrap()
    }
    async fn indexed(&self) -> IndexedRepository {
        self.repo().await.load_index().await.unwrap()
    }
    async fn check(&self, read_data: ReadData) -> CheckReport {
        let opts = CheckOptions {
            read_data,
            max_paths: usize::MAX,
            ..CheckOptions::default()
        };
        check(self.repo().await, &opts, Arc::new(NoProgress))
            .await
            .unwrap()
    }
    /// Every file of a snapshot with its chunk ids.
    async fn files(
        &self,
        repo: &IndexedRepository,
        s: &SnapshotEntry,
    ) -> Vec<(String, Vec<BlobId>)> {
        let mut out = Vec::new();
        walk(repo, s, None, |p, n| {
            if !n.content.is_empty() {
                out.push((String::from_utf8_lossy(p).into_owned(), n.content.clone()));
            }
        })
        .await
        .unwrap();
        out
    }
    async fn packs(&self) -> Vec<(String, u64)> {
        self.be.list(FileKind::Pack).await.unwrap()
    }
}

fn paths_of(r: &CheckReport) -> BTreeSet<String> {
    r.affected_paths().into_iter().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_data_detects_every_bit_flip_and_names_the_files() {
    let fx = Fixture::new(2, 14).await;
    let repo = fx.indexed().await;
    // Blob ranges of every data pack, from the index as loaded.
    let mut files: Vec<(String, Vec<BlobId>)> = Vec::new();
    for s in &fx.snaps {
        files.extend(fx.files(&repo, s).await);
    }
    let mut ranges: HashMap<FileId, Vec<(u64, u64, BlobId)>> = HashMap::new();
    for (_, content) in &files {
        for b in content {
            let l = repo.index().get(b).unwrap();
            ranges
                .entry(repo.index().pack_id(l.pack))
                .or_default()
                .push((
                    u64::from(l.offset),
                    u64::from(l.offset) + u64::from(l.length),
                    *b,
                ));
        }
    }
    let data_packs: Vec<FileId> = ranges.keys().copied().collect();
    assert!(
        data_packs.len() >= 8,
        "want many packs, got {}",
        data_packs.len()
    );
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let mut flips: BTreeMap<FileId, BTreeSet<u64>> = BTreeMap::new();
    for _ in 0..60 {
        let pack = data_packs[rng.gen_range(0..data_packs.len())];
        let size = fx
            .packs()
            .await
            .into_iter()
            .find(|(n, _)| *n == pack.to_hex())
            .unwrap()
            .1;
        flips
            .entry(pack)
            .or_default()
            .insert(rng.gen_range(0..size));
    }
    let mut hit: BTreeSet<BlobId> = BTreeSet::new();
    for (pack, offsets) in &flips {
        let name = pack.to_hex();
        let mut b = fx.be.read(FileKind::Pack, &name).await.unwrap().to_vec();
        for &o in offsets {
            b[o as usize] ^= 1 << rng.gen_range(0..8);
            for (start, end, id) in &ranges[pack] {
                if (*start..*end).contains(&o) {
                    hit.insert(*id);
                }
            }
        }
        fx.be.remove(FileKind::Pack, &name).await.unwrap();
        fx.be
            .create(FileKind::Pack, &name, Bytes::from(b))
            .await
            .unwrap();
    }
    let total_flips: usize = flips.values().map(BTreeSet::len).sum();
    assert!(total_flips >= 50, "{total_flips} flips");
    let expected: BTreeSet<String> = files
        .iter()
        .filter(|(_, c)| c.iter().any(|b| hit.contains(b)))
        .map(|(p, _)| p.clone())
        .collect();
    assert!(!expected.is_empty());

    // Structure alone cannot see flips inside blobs; reading the data finds all of them.
    let r = fx.check(ReadData::All).await;
    assert!(!r.is_clean());
    for pack in flips.keys() {
        let n = r
            .problems
            .iter()
            .filter(|p| p.subject == pack.to_hex())
            .count();
        assert_eq!(
            n,
            1,
            "pack {} reported {n} times: {:#?}",
            pack.short(),
            r.problems
        );
    }
    for p in &r.problems {
        assert_eq!(p.kind, ProblemKind::PackDamaged, "{p}");
        assert!(
            flips.contains_key(&FileId::from_hex(&p.subject).unwrap()),
            "{p}"
        );
    }
    let blobs: u64 = r.problems.iter().map(|p| p.blobs).sum();
    assert_eq!(
        blobs,
        hit.len() as u64,
        "every damaged blob is detected once"
    );
    assert_eq!(paths_of(&r), expected);
    let cov = r.read_data.unwrap();
    assert_eq!(cov.packs_verified, fx.packs().await.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_budget_covers_every_pack_in_ten_runs() {
    let fx = Fixture::new(2, 30).await;
    let packs = fx.packs().await;
    assert!(packs.len() >= 15, "{} packs", packs.len());
    let all: BTreeSet<FileId> = packs
        .iter()
        .map(|(n, _)| FileId::from_hex(n).unwrap())
        .collect();
    let mut verified_per_run = Vec::new();
    for run in 1..=10 {
        let r = fx.check(ReadData::Budget(Budget::Percent(10.0))).await;
        assert!(r.is_clean(), "{:#?}", r.problems);
        let cov = r.read_data.unwrap();
        assert_eq!(cov.runs_for_full_coverage, Some(10));
        assert!(
            cov.bytes_verified * 10 >= cov.bytes_total,
            "run {run}: below budget"
        );
        verified_per_run.push(cov.packs_verified);
        let (state, files) = verify::recorded(&fx.repo().await).await.unwrap();
        assert_eq!(files, 1, "superseded records are removed");
        let covered = all.iter().filter(|p| state.packs.contains_key(p)).count();
        assert_eq!(covered, cov.packs_covered);
        if run == 1 {
            assert!(
                covered < all.len(),
                "one run at 10 % cannot cover everything"
            );
        } else if run == 10 {
            assert_eq!(covered, all.len(), "ten runs verify every pack");
        }
    }
    assert!(verified_per_run.iter().all(|&n| n >= 1));
    // The oldest pack goes first on run 11.
    let (state, _) = verify::recorded(&fx.repo().await).await.unwrap();
    let oldest = state
        .packs
        .iter()
        .min_by_key(|(_, t)| **t)
        .unwrap()
        .0
        .to_owned();
    fx.check(ReadData::Budget(Budget::Bytes(1))).await;
    let (after, _) = verify::recorded(&fx.repo().await).await.unwrap();
    assert!(after.packs[&oldest] > state.packs[&oldest]);
    // A pack removed from the repository leaves the record.
    let gone = FileId::from_hex(&packs[0].0).unwrap();
    fx.be.remove(FileKind::Pack, &packs[0].0).await.unwrap();
    fx.check(ReadData::Budget(Budget::Bytes(1))).await;
    let (after, _) = verify::recorded(&fx.repo().await).await.unwrap();
    assert!(!after.packs.contains_key(&gone));
    assert_eq!(after.packs.len(), all.len() - 1);
}

/// Files of `s` with a chunk in `pack`.
async fn files_in_pack(fx: &Fixture, s: &SnapshotEntry, pack: &FileId) -> BTreeSet<String> {
    let repo = fx.indexed().await;
    fx.files(&repo, s)
        .await
        .into_iter()
        .filter(|(_, c)| {
            c.iter()
                .any(|b| repo.index().pack_id(repo.index().get(b).unwrap().pack) == *pack)
        })
        .map(|(p, _)| p)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_pack_is_reported_once_with_its_files() {
    let fx = Fixture::new(1, 12).await;
    assert!(fx.check(ReadData::None).await.problems.is_empty());
    let repo = fx.indexed().await;
    let s = &fx.snaps[0];
    let (_, content) = fx.files(&repo, s).await.remove(3);
    let pack = repo
        .index()
        .pack_id(repo.index().get(&content[0]).unwrap().pack);
    let expected = files_in_pack(&fx, s, &pack).await;
    fx.be.remove(FileKind::Pack, &pack.to_hex()).await.unwrap();
    let r = fx.check(ReadData::None).await;
    assert_eq!(r.problems.len(), 1, "{:#?}", r.problems);
    let p = &r.problems[0];
    assert_eq!(
        (p.kind, p.severity),
        (ProblemKind::PackMissing, Severity::Error)
    );
    assert_eq!(p.subject, pack.to_hex());
    assert_eq!(p.snapshots, vec![s.id.to_hex()]);
    assert_eq!(paths_of(&r), expected);
    assert!(p.to_string().contains("is missing"), "{p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_index_file_is_reported_per_pack_with_its_files() {
    let fx = Fixture::new(1, 6).await;
    let first: BTreeSet<String> = fx
        .be
        .list(FileKind::Index)
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.0)
        .collect();
    let fx2 = fx; // second batch in a second backup, with its own index file
    let mut repo = fx2.indexed().await;
    write_files(&fx2.root, "b1", 6, 99);
    let opts = BackupOptions {
        paths: vec![fx2.root.clone()],
        ..Default::default()
    };
    let s2 = backup(&mut repo, &opts, Arc::new(NoProgress))
        .await
        .unwrap()
        .snapshot;
    let second: Vec<String> = fx2
        .be
        .list(FileKind::Index)
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.0)
        .filter(|n| !first.contains(n))
        .collect();
    assert_eq!(second.len(), 1);
    // The files of the second backup that are new (not deduplicated against the first).
    let new_files: BTreeSet<String> = fx2
        .files(&repo, &s2)
        .await
        .into_iter()
        .filter(|(p, _)| p.contains("/b1/"))
        .map(|(p, _)| p)
        .collect();
    fx2.be.remove(FileKind::Index, &second[0]).await.unwrap();
    let r = fx2.check(ReadData::None).await;
    assert!(!r.is_clean());
    let mut subjects = BTreeSet::new();
    for p in &r.problems {
        assert_eq!(p.kind, ProblemKind::PackUnindexed, "{p}");
        assert!(
            subjects.insert(p.subject.clone()),
            "pack reported twice: {p}"
        );
        assert_eq!(
            p.snapshots,
            vec![s2.id.to_hex()],
            "only the second snapshot: {p}"
        );
        assert!(p.hint.contains("repair index"));
    }
    let files: BTreeSet<String> = paths_of(&r)
        .into_iter()
        .filter(|p| !p.ends_with('/'))
        .collect();
    assert_eq!(files, new_files);
    // Reading the data reports the same problems.
    let full = fx2.check(ReadData::All).await;
    let kinds = |r: &CheckReport| -> BTreeSet<(String, Vec<String>)> {
        r.problems
            .iter()
            .map(|p| (p.subject.clone(), p.paths.clone()))
            .collect()
    };
    assert_eq!(kinds(&full), kinds(&r));
    // Dropping files whose data only lacks an index entry would lose data: refused.
    let e = repair_snapshots(
        fx2.repo().await,
        &SnapshotRepairOptions::default(),
        Arc::new(NoProgress),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains("run `hvelv repair index` first"),
        "{e}"
    );
    repair_index(&fx2.repo().await, false).await.unwrap();
    assert!(fx2.check(ReadData::All).await.problems.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_snapshot_tree_is_reported_once() {
    let fx = Fixture::new(2, 3).await;
    let repo = fx.indexed().await;
    let root2 = fx.snaps[1].snapshot.tree_id().unwrap();
    let tree_pack = repo.index().pack_id(repo.index().get(&root2).unwrap().pack);
    fx.be
        .remove(FileKind::Pack, &tree_pack.to_hex())
        .await
        .unwrap();
    let r = fx.check(ReadData::None).await;
    assert_eq!(r.problems.len(), 1, "{:#?}", r.problems);
    let p = &r.problems[0];
    assert_eq!(p.kind, ProblemKind::PackMissing);
    assert_eq!(p.snapshots, vec![fx.snaps[1].id.to_hex()]);
    assert_eq!(p.paths, vec!["/".to_owned()], "the whole snapshot is lost");
}

async fn restore_all(
    repo: &IndexedRepository,
    s: &SnapshotEntry,
    root: &Path,
    t: &Path,
) -> Vec<String> {
    let out = restore(
        repo,
        s,
        Some(root.to_str().unwrap()),
        t,
        &RestoreOptions::default(),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    out.errors
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_index_rebuilds_from_packs() {
    let fx = Fixture::new(2, 5).await;
    let idx = fx.be.list(FileKind::Index).await.unwrap();
    assert!(idx.len() >= 2);
    fx.be.remove(FileKind::Index, &idx[0].0).await.unwrap();
    let mut b = fx
        .be
        .read(FileKind::Index, &idx[1].0)
        .await
        .unwrap()
        .to_vec();
    let n = b.len();
    b[n - 3] ^= 0x20;
    fx.be.remove(FileKind::Index, &idx[1].0).await.unwrap();
    fx.be
        .create(FileKind::Index, &idx[1].0, Bytes::from(b))
        .await
        .unwrap();
    let r = fx.check(ReadData::None).await;
    assert!(r
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::IndexUnreadable));
    assert!(!r.is_clean());
    let dry = repair_index(&fx.repo().await, true).await.unwrap();
    assert!(dry.index_files_written.is_empty());
    assert_eq!(
        fx.be.list(FileKind::Index).await.unwrap().len(),
        idx.len() - 1
    );
    let done = repair_index(&fx.repo().await, false).await.unwrap();
    assert_eq!(done.packs_indexed, fx.packs().await.len());
    assert!(done.packs_unreadable.is_empty());
    let r = fx.check(ReadData::All).await;
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
    let repo = fx.indexed().await;
    let t = fx._dir.path().join("t");
    assert!(restore_all(&repo, &fx.snaps[1], &fx.root, &t)
        .await
        .is_empty());
    for f in [&fx.root.join("b0/f00.bin"), &fx.root.join("b1/f04.bin")] {
        let rel = f.strip_prefix(&fx.root).unwrap();
        assert_eq!(
            std::fs::read(t.join(rel)).unwrap(),
            std::fs::read(f).unwrap()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_snapshots_drops_lost_files_and_keeps_the_rest() {
    let fx = Fixture::new(2, 8).await;
    let repo = fx.indexed().await;
    let s = &fx.snaps[1];
    let (_, content) = fx.files(&repo, s).await.remove(2);
    let pack = repo
        .index()
        .pack_id(repo.index().get(&content[0]).unwrap().pack);
    let lost = files_in_pack(&fx, s, &pack).await;
    fx.be.remove(FileKind::Pack, &pack.to_hex()).await.unwrap();

    let dry = SnapshotRepairOptions {
        dry_run: true,
        ..Default::default()
    };
    let plan = repair_snapshots(fx.repo().await, &dry, Arc::new(NoProgress))
        .await
        .unwrap();
    assert!(plan.snapshots.iter().all(|r| r.repaired.is_none()));
    let dropped: BTreeSet<String> = plan
        .snapshots
        .iter()
        .filter(|r| r.original == s.id.to_hex())
        .flat_map(|r| r.note.dropped_files.clone())
        .collect();
    assert_eq!(dropped, lost);
    assert_eq!(
        fx.be.list(FileKind::Snapshot).await.unwrap().len(),
        2,
        "dry run changes nothing"
    );

    repair_index(&fx.repo().await, false).await.unwrap();
    let opts = SnapshotRepairOptions {
        forget: true,
        ..Default::default()
    };
    let done = repair_snapshots(fx.repo().await, &opts, Arc::new(NoProgress))
        .await
        .unwrap();
    assert!(!done.snapshots.is_empty());
    assert!(done
        .snapshots
        .iter()
        .all(|r| r.forgotten && r.repaired.is_some()));
    let r = fx.check(ReadData::All).await;
    assert!(r.problems.is_empty(), "{:#?}", r.problems);

    let repo = fx.indexed().await;
    let snaps = repo.snapshots().await.unwrap();
    assert_eq!(snaps.len(), 2);
    let repaired = snaps
        .iter()
        .find(|x| x.snapshot.original.as_deref() == Some(&s.id.to_hex()))
        .expect("repaired version of the second snapshot");
    assert!(repaired.snapshot.tags.contains(&"repaired".to_owned()));
    assert_eq!(
        repaired.snapshot.repaired.as_ref().unwrap().dropped_total,
        lost.len() as u64
    );
    let t = fx._dir.path().join("t");
    assert!(restore_all(&repo, repaired, &fx.root, &t).await.is_empty());
    let mut intact = 0;
    for b in ["b0", "b1"] {
        for i in 0..8 {
            let f = fx.root.join(format!("{b}/f{i:02}.bin"));
            let back = t.join(format!("{b}/f{i:02}.bin"));
            if lost.contains(f.to_str().unwrap()) {
                assert!(!back.exists(), "{} should be dropped", f.display());
            } else {
                assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&f).unwrap());
                intact += 1;
            }
        }
    }
    assert!(intact > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_index_keeps_packs_whose_header_alone_is_damaged() {
    let fx = Fixture::new(1, 6).await;
    let (name, size) = fx.packs().await.into_iter().max_by_key(|p| p.1).unwrap();
    let mut b = fx.be.read(FileKind::Pack, &name).await.unwrap().to_vec();
    b[size as usize - 20] ^= 0x40; // inside the sealed header
    fx.be.remove(FileKind::Pack, &name).await.unwrap();
    fx.be
        .create(FileKind::Pack, &name, Bytes::from(b))
        .await
        .unwrap();
    let r = fx.check(ReadData::None).await;
    assert_eq!(r.problems.len(), 1, "{:#?}", r.problems);
    assert_eq!(r.problems[0].kind, ProblemKind::PackDamaged);
    assert!(r.problems[0].details[0].contains("header cannot be read"));
    assert_eq!(
        r.problems[0].paths_total, 0,
        "the blobs themselves are intact"
    );
    let done = repair_index(&fx.repo().await, false).await.unwrap();
    assert_eq!(done.packs_kept, vec![name.clone()]);
    let repo = fx.indexed().await;
    let t = fx._dir.path().join("t");
    assert!(restore_all(&repo, &fx.snaps[0], &fx.root, &t)
        .await
        .is_empty());
    for i in 0..6 {
        let f = format!("b0/f{i:02}.bin");
        assert_eq!(
            std::fs::read(t.join(&f)).unwrap(),
            std::fs::read(fx.root.join(&f)).unwrap()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_records_survive_a_crash_between_write_and_remove() {
    let fx = Fixture::new(1, 10).await;
    let budget = ReadData::Budget(Budget::Percent(25.0));
    fx.check(budget).await;
    let a = fx.be.list(FileKind::Verify).await.unwrap();
    assert_eq!(a.len(), 1);
    let a_bytes = fx.be.read(FileKind::Verify, &a[0].0).await.unwrap();
    let (after_a, _) = verify::recorded(&fx.repo().await).await.unwrap();
    fx.check(budget).await;
    let (after_b, files) = verify::recorded(&fx.repo().await).await.unwrap();
    assert_eq!(files, 1);
    assert!(after_b.packs.len() > after_a.packs.len());
    // As if the run had crashed after storing B but before removing A.
    fx.be
        .create(FileKind::Verify, &a[0].0, a_bytes)
        .await
        .unwrap();
    let (merged, files) = verify::recorded(&fx.repo().await).await.unwrap();
    assert_eq!(files, 2);
    assert_eq!(merged, after_b, "the later time per pack wins");
    fx.check(budget).await;
    let (_, files) = verify::recorded(&fx.repo().await).await.unwrap();
    assert_eq!(files, 1, "the next run supersedes both");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_snapshot_file_is_reported_once() {
    let fx = Fixture::new(2, 2).await;
    let name = fx.snaps[0].id.to_hex();
    let mut b = fx
        .be
        .read(FileKind::Snapshot, &name)
        .await
        .unwrap()
        .to_vec();
    let n = b.len();
    b[n / 2] ^= 0x08;
    fx.be.remove(FileKind::Snapshot, &name).await.unwrap();
    fx.be
        .create(FileKind::Snapshot, &name, Bytes::from(b))
        .await
        .unwrap();
    let r = fx.check(ReadData::All).await;
    assert_eq!(r.problems.len(), 1, "{:#?}", r.problems);
    let p = &r.problems[0];
    assert_eq!(p.kind, ProblemKind::SnapshotUnreadable);
    assert_eq!(p.snapshots, vec![name]);
    assert_eq!(r.snapshots, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_directory_tree_becomes_an_empty_directory() {
    let fx = Fixture::new(2, 3).await;
    let repo = fx.indexed().await;
    let s = &fx.snaps[1];
    let lost_dir = format!("{}/b1", fx.root.display());
    let mut lost_tree = None;
    walk(&repo, s, None, |p, n| {
        if p == lost_dir.as_bytes() {
            lost_tree = n.subtree;
        }
    })
    .await
    .unwrap();
    let lost_tree = lost_tree.unwrap();
    // An index without that one tree blob (as if its entry had been lost).
    let mut file = hvelv_engine::index::IndexFile::default();
    for (name, size) in fx.packs().await {
        let mut h = repo.read_pack_header(&name, size).await.unwrap();
        h.entries.retain(|e| e.id != lost_tree);
        file.packs.push(hvelv_engine::index::IndexedPack {
            id: FileId::from_hex(&name).unwrap(),
            session: h.session,
            entries: h.entries,
        });
    }
    let old = fx.be.list(FileKind::Index).await.unwrap();
    repo.save_index(&file).await.unwrap();
    for (n, _) in old {
        fx.be.remove(FileKind::Index, &n).await.unwrap();
    }
    let r = fx.check(ReadData::None).await;
    let missing: Vec<_> = r
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::BlobsMissing)
        .collect();
    assert_eq!(missing.len(), 1, "{:#?}", r.problems);
    assert_eq!(missing[0].paths, vec![format!("{lost_dir}/")]);
    assert_eq!(missing[0].snapshots, vec![s.id.to_hex()]);

    let opts = SnapshotRepairOptions {
        forget: true,
        ..Default::default()
    };
    let done = repair_snapshots(fx.repo().await, &opts, Arc::new(NoProgress))
        .await
        .unwrap();
    assert_eq!(done.snapshots.len(), 1);
    assert_eq!(
        done.snapshots[0].note.emptied_dirs,
        vec![format!("{lost_dir}/")]
    );
    assert_eq!(done.snapshots[0].note.dropped_total, 0);
    repair_index(&fx.repo().await, false).await.unwrap();
    let r = fx.check(ReadData::All).await;
    assert!(r.problems.is_empty(), "{:#?}", r.problems);

    let repo = fx.indexed().await;
    let repaired = repo.find_snapshot("latest", None).await.unwrap();
    assert_eq!(repaired.snapshot.original, Some(s.id.to_hex()));
    let t = fx._dir.path().join("t");
    assert!(restore_all(&repo, &repaired, &fx.root, &t).await.is_empty());
    assert_eq!(std::fs::read_dir(t.join("b1")).unwrap().count(), 0);
    for i in 0..3 {
        let f = format!("b0/f{i:02}.bin");
        assert_eq!(
            std::fs::read(t.join(&f)).unwrap(),
            std::fs::read(fx.root.join(&f)).unwrap()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_during_backups_raises_no_false_alarm() {
    let fx = Fixture::new(1, 2).await;
    let be = fx.be.clone();
    let root = fx.root.clone();
    let backups = tokio::spawn(async move {
        let mut repo = Repository::open(be, PW)
            .await
            .unwrap()
            .load_index()
            .await
            .unwrap();
        for b in 1..6 {
            write_files(&root, &format!("b{b}"), 3, 50 + b);
            let opts = BackupOptions {
                paths: vec![root.clone()],
                ..Default::default()
            };
            backup(&mut repo, &opts, Arc::new(NoProgress))
                .await
                .unwrap();
        }
    });
    let mut runs = 0;
    while !backups.is_finished() || runs < 3 {
        let r = fx.check(ReadData::All).await;
        assert!(r.is_clean(), "run {runs}: {:#?}", r.problems);
        runs += 1;
    }
    backups.await.unwrap();
    let r = fx.check(ReadData::All).await;
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
    assert_eq!(r.snapshots, 6);
}
