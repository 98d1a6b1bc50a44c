//! WORM repositories (S3 Object Lock), simulated by the in-memory backend: every retained file
//! gets a retention date when written and cannot be removed before it. Forget and prune plan
//! around held files and say why; check reports files whose retention is missing. The same
//! rules run against Ceph RGW's Object Lock bucket in `cli/tests/cli/s3.rs`.

use std::sync::Arc;

use chrono::{Duration, Utc};
use hvelv_engine::backend::{Backend, DynBackend, FileKind, LockMode, MemoryBackend, ObjectLock};
use hvelv_engine::ops::backup::{backup, BackupOptions};
use hvelv_engine::ops::check::{check, CheckOptions, ProblemKind};
use hvelv_engine::ops::prune::{plan, prune, PruneOptions};
use hvelv_engine::ops::restore::{restore, RestoreOptions};
use hvelv_engine::ops::worm::held_files;
use hvelv_engine::progress::NoProgress;
use hvelv_engine::{ErrorKind, InitOptions, Repository};

use super::bytes;

const POLICY: ObjectLock = ObjectLock {
    days: 7,
    mode: LockMode::Compliance,
};

async fn open(be: &DynBackend) -> Repository {
    Repository::open(be.clone(), b"pw").await.unwrap()
}

/// What prune would do now.
async fn plan_now(be: &DynBackend) -> hvelv_engine::ops::prune::PrunePlan {
    let repo = open(be).await.load_index().await.unwrap();
    plan(&repo, &PruneOptions::default()).await.unwrap()
}

/// Let the retention of every file of `kind` expire.
async fn expire(mem: &MemoryBackend, kind: FileKind) {
    for (name, _) in mem.list(kind).await.unwrap() {
        mem.set_retention(kind, &name, Some(Utc::now() - Duration::seconds(1)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_prune_and_check_respect_object_lock() {
    let dir = tempfile::tempdir().unwrap();
    let mem = Arc::new(MemoryBackend::new());
    let be: DynBackend = mem.clone();
    let init = InitOptions {
        object_lock: Some(POLICY),
        ..super::small_init()
    };
    Repository::init(be.clone(), b"pw", init).await.unwrap();
    // A later client learns the policy from the config.
    assert_eq!(open(&be).await.config().object_lock, Some(POLICY));

    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("base"), bytes(1, 700 << 10)).unwrap();
    std::fs::write(src.join("old"), bytes(2, 1500 << 10)).unwrap();
    let opts = BackupOptions {
        paths: vec![src.clone()],
        ..Default::default()
    };
    let mut repo = open(&be).await.load_index().await.unwrap();
    let first = backup(&mut repo, &opts, Arc::new(NoProgress))
        .await
        .unwrap()
        .snapshot;
    std::fs::remove_file(src.join("old")).unwrap();
    let second = backup(&mut repo, &opts, Arc::new(NoProgress))
        .await
        .unwrap()
        .snapshot;

    // Every retained file carries the policy's retention; check agrees.
    for kind in FileKind::ALL.into_iter().filter(|k| k.retained()) {
        for (name, _) in mem.list(kind).await.unwrap() {
            let r = mem.retention(kind, &name).await.unwrap().unwrap();
            assert!(POLICY.satisfied_by(&r), "{kind} {name}: {r:?}");
        }
    }
    let report = check(
        open(&be).await,
        &CheckOptions::default(),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);

    // Removing a held snapshot fails and says until when; forget's planner sees it as held.
    let repo = open(&be).await;
    let e = repo.remove_snapshot(&first.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Locked, "{e}");
    let until = POLICY.until(Utc::now()).format("%Y-%m-%d").to_string();
    assert!(
        e.to_string().contains("Object Lock") && e.to_string().contains(&until),
        "{e}"
    );
    let held = held_files(&be, FileKind::Snapshot, &[first.id.to_hex()], Utc::now())
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    assert!(held[&first.id.to_hex()]
        .to_string()
        .contains("held by Object Lock until"));

    // Once the snapshot's retention has expired it can go; its packs are still held.
    mem.set_retention(
        FileKind::Snapshot,
        &first.id.to_hex(),
        Some(Utc::now() - Duration::seconds(1)),
    );
    repo.remove_snapshot(&first.id).await.unwrap();
    let p = plan_now(&be).await;
    assert!(p.delete.is_empty() && p.repack.is_empty(), "{p:#?}");
    assert!(!p.held.is_empty(), "the packs of `old` are held: {p:#?}");
    assert!(p
        .held
        .iter()
        .all(|h| h.kind == "pack" && h.because.is_none()));
    let packs_before = mem.list(FileKind::Pack).await.unwrap();
    let out = prune(
        open(&be).await,
        &PruneOptions::default(),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert_eq!(out.packs_deleted, 0);
    assert_eq!(out.plan.held.len(), p.held.len());
    assert_eq!(mem.list(FileKind::Pack).await.unwrap(), packs_before);

    // Packs expired, but the index files naming them are still held: still kept, and why.
    expire(&mem, FileKind::Pack).await;
    let p = plan_now(&be).await;
    assert!(p.delete.is_empty() && p.repack.is_empty(), "{p:#?}");
    assert!(
        p.held.iter().all(|h| h
            .because
            .as_deref()
            .is_some_and(|b| b.contains("index file"))),
        "{p:#?}"
    );

    // Everything expired: prune frees the space, the remaining snapshot restores byte-exact.
    expire(&mem, FileKind::Index).await;
    let out = prune(
        open(&be).await,
        &PruneOptions::default(),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert!(out.packs_deleted + out.packs_written > 0, "{out:#?}");
    assert!(out.plan.held.is_empty() && out.held.is_empty());
    let repo = open(&be).await.load_index().await.unwrap();
    let snap = repo.find_snapshot(&second.id.to_hex(), None).await.unwrap();
    let t = dir.path().join("t");
    let r = restore(
        &repo,
        &snap,
        Some(&snap.snapshot.paths[0]),
        &t,
        &RestoreOptions::default(),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(std::fs::read(t.join("base")).unwrap(), bytes(1, 700 << 10));
    assert!(!t.join("old").exists());

    // A file without retention (written by a client that ignored the policy) is reported.
    let (pack, _) = mem.list(FileKind::Pack).await.unwrap()[0].clone();
    mem.set_retention(FileKind::Pack, &pack, None);
    let report = check(
        open(&be).await,
        &CheckOptions::default(),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    // (Packs kept from before the simulated expiry are reported too: their retention now ends
    // before they were written, which only the simulation can produce.)
    let bad: Vec<_> = report
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::RetentionViolated && p.subject == pack)
        .collect();
    assert_eq!(bad.len(), 1, "{:#?}", report.problems);
    assert_eq!(bad[0].subject, pack);
    assert!(
        bad[0].to_string().contains("has no Object Lock retention"),
        "{}",
        bad[0]
    );
    assert!(!report.is_clean());
}
