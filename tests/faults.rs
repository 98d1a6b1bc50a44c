//! Storage that fails: backups and prunes run over a backend that fails 3 % of its requests,
//! some after the write or delete happened (a lost answer). Whatever fails, nothing already
//! stored is damaged: afterwards `check --read-data` is clean and every snapshot restores
//! byte-exact.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::bytes;
use hvelv_engine::backend::{DynBackend, FaultBackend, FileKind, MemoryBackend};
use hvelv_engine::ops::backup::{backup, BackupOptions};
use hvelv_engine::ops::check::{check, CheckOptions};
use hvelv_engine::ops::prune::{prune, PruneOptions};
use hvelv_engine::ops::restore::{restore, RestoreOptions};
use hvelv_engine::ops::verify::ReadData;
use hvelv_engine::progress::NoProgress;
use hvelv_engine::{InitOptions, Repository, Result};

fn round_files(r: u64) -> BTreeMap<String, Vec<u8>> {
    let mut f = BTreeMap::new();
    f.insert("base".to_owned(), bytes(1, 600 << 10));
    f.insert(format!("r{r}"), bytes(100 + r, 400 << 10));
    f.insert(format!("r{}", r / 2), bytes(100 + r / 2, 400 << 10));
    f
}

async fn open(be: DynBackend) -> Result<Repository> {
    Repository::open(be, b"pw").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_storage_never_damages_what_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mem: DynBackend = Arc::new(MemoryBackend::new());
    let init = super::small_init();
    Repository::init(mem.clone(), b"pw", init).await.unwrap();
    let faulty = FaultBackend::new(mem.clone(), 30, 0x5eed);
    let faulty_dyn: DynBackend = faulty.clone();

    let (mut ok, mut failed, mut prunes_failed) = (0, 0, 0);
    for r in 0..16u64 {
        let opts = round_source(dir.path(), r);
        let res = async {
            let mut repo = open(faulty_dyn.clone()).await?.load_index().await?;
            backup(&mut repo, &opts, Arc::new(NoProgress)).await
        }
        .await;
        match res {
            Ok(_) => ok += 1,
            Err(_) => failed += 1,
        }
        if r % 4 == 3 {
            // Forget all but the two newest snapshots, then prune through the faulty storage.
            let repo = open(mem.clone()).await.unwrap();
            let snaps = repo.snapshots().await.unwrap();
            for s in snaps.iter().rev().skip(2) {
                mem.remove(FileKind::Snapshot, &s.id.to_hex())
                    .await
                    .unwrap();
            }
            let pruned = async {
                prune(
                    open(faulty_dyn.clone()).await?,
                    &PruneOptions::default(),
                    Arc::new(NoProgress),
                )
                .await
            }
            .await;
            if pruned.is_err() {
                prunes_failed += 1;
            }
        }
    }
    let injected = faulty.injected.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("{ok} backups ok, {failed} failed, {prunes_failed} prunes failed, {injected} faults");
    assert!(injected > 10 && failed > 0, "the faults did not bite");
    assert!(ok > 0);

    // With working storage: a prune completes what the failed ones scheduled, check reads every
    // pack and finds no error, and every snapshot restores its round's files byte-exact.
    prune(
        open(mem.clone()).await.unwrap(),
        &PruneOptions::default(),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    let snaps = verify_rounds(&mem, dir.path(), "t").await;
    assert!(snaps > 0);
}

/// `copy` (the nightly offsite step) through failing storage on both sides: attempts fail at
/// random, some after their write happened; re-running the same copy finishes the job, and the
/// target then checks clean with every pack read and restores every snapshot byte-exact. The
/// target is in WORM mode (simulated Object Lock), as an offsite copy would be.
///
/// Regression: copy used to send a tree before its subtrees; an interrupted run could leave a
/// parent tree in the target without its children, and the next run skipped the whole subtree
/// as present, committing a snapshot with a lost directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_through_failing_storage_completes_and_verifies() {
    use hvelv_engine::backend::{LockMode, ObjectLock};
    use hvelv_engine::ops::copy::copy;

    let dir = tempfile::tempdir().unwrap();
    let src_mem: DynBackend = Arc::new(MemoryBackend::new());
    Repository::init(src_mem.clone(), b"pw", super::small_init())
        .await
        .unwrap();
    for r in 0..4u64 {
        let opts = round_source(dir.path(), r);
        let mut repo = open(src_mem.clone())
            .await
            .unwrap()
            .load_index()
            .await
            .unwrap();
        backup(&mut repo, &opts, Arc::new(NoProgress))
            .await
            .unwrap();
    }
    let dst_mem: DynBackend = Arc::new(MemoryBackend::new());
    let source = open(src_mem.clone()).await.unwrap();
    Repository::init(
        dst_mem.clone(),
        b"pw",
        InitOptions {
            copy_chunker_from: Some(source),
            object_lock: Some(ObjectLock {
                days: 30,
                mode: LockMode::Compliance,
            }),
            ..super::small_init()
        },
    )
    .await
    .unwrap();

    let src_faulty = FaultBackend::new(src_mem.clone(), 20, 0xc0c0);
    let dst_faulty = FaultBackend::new(dst_mem.clone(), 40, 0xbeef);
    let (src_dyn, dst_dyn): (DynBackend, DynBackend) = (src_faulty.clone(), dst_faulty.clone());
    let mut attempts = 0;
    loop {
        attempts += 1;
        assert!(attempts <= 40, "copy never completed through the faults");
        let r = async {
            let src = open(src_dyn.clone()).await?.load_index().await?;
            let mut dst = open(dst_dyn.clone()).await?.load_index().await?;
            let all = src.snapshots().await?;
            copy(&src, &mut dst, all, Arc::new(NoProgress)).await
        }
        .await;
        match r {
            Ok(out) if out.copied.is_empty() && out.already_present == 4 => break,
            Ok(_) | Err(_) => {}
        }
    }
    let injected = src_faulty
        .injected
        .load(std::sync::atomic::Ordering::Relaxed)
        + dst_faulty
            .injected
            .load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("copy completed after {attempts} attempts, {injected} injected faults");
    assert!(attempts > 1 && injected > 5, "the faults did not bite");

    let snaps = verify_rounds(&dst_mem, dir.path(), "c").await;
    assert_eq!(snaps, 4, "each snapshot copied once");
}

/// Replace `dir/src` with round `r`'s files; the options to back it up, tagged `round-{r}`.
fn round_source(dir: &std::path::Path, r: u64) -> BackupOptions {
    let src = dir.join("src");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).unwrap();
    for (n, d) in round_files(r) {
        std::fs::write(src.join(n), d).unwrap();
    }
    BackupOptions {
        paths: vec![src],
        tags: vec![format!("round-{r}")],
        ..Default::default()
    }
}

/// `check --read-data` finds no error, and every snapshot restores its round's files
/// byte-exact (below `dir/{prefix}-{snapshot}`). Returns the number of snapshots.
async fn verify_rounds(be: &DynBackend, dir: &std::path::Path, prefix: &str) -> usize {
    let report = check(
        open(be.clone()).await.unwrap(),
        &CheckOptions {
            read_data: ReadData::All,
            ..Default::default()
        },
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
    let repo = open(be.clone()).await.unwrap().load_index().await.unwrap();
    let snaps = repo.snapshots().await.unwrap();
    for s in &snaps {
        let r: u64 = s.snapshot.tags[0]
            .strip_prefix("round-")
            .unwrap()
            .parse()
            .unwrap();
        let t = dir.join(format!("{prefix}-{}", s.id.short()));
        let out = restore(
            &repo,
            s,
            Some(&s.snapshot.paths[0]),
            &t,
            &RestoreOptions::default(),
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        for (n, d) in round_files(r) {
            assert!(
                std::fs::read(t.join(&n)).unwrap() == d,
                "round {r} file {n}"
            );
        }
    }
    snaps.len()
}
