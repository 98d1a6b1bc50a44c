//! Cross-crate scenarios through the engine's library API, with fault-injecting backends.

mod check;
mod faults;
mod prune;
mod worm;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use hvelv_engine::backend::{Backend, FileKind, MemoryBackend};
use hvelv_engine::crypto::KdfParams;
use hvelv_engine::ops::backup::{backup, BackupOptions};
use hvelv_engine::ops::restore::{restore, RestoreOptions};
use hvelv_engine::progress::NoProgress;
use hvelv_engine::{Error, ErrorKind, InitOptions, Repository, Result};

/// Wraps a backend; while `fail_index` is set, creating index files fails (a crash between
/// writing packs and writing their index).
#[derive(Debug)]
struct FailIndex {
    inner: MemoryBackend,
    fail_index: AtomicBool,
}

#[async_trait]
impl Backend for FailIndex {
    fn location(&self) -> String {
        "fail-index:".into()
    }
    async fn create_layout(&self) -> Result<()> {
        self.inner.create_layout().await
    }
    async fn create(&self, kind: FileKind, name: &str, data: Bytes) -> Result<()> {
        if kind == FileKind::Index && self.fail_index.load(Ordering::SeqCst) {
            return Err(Error::new(
                ErrorKind::Backend,
                "injected failure writing an index file",
            ));
        }
        self.inner.create(kind, name, data).await
    }
    async fn read(&self, kind: FileKind, name: &str) -> Result<Bytes> {
        self.inner.read(kind, name).await
    }
    async fn read_range(
        &self,
        kind: FileKind,
        name: &str,
        offset: u64,
        length: u64,
    ) -> Result<Bytes> {
        self.inner.read_range(kind, name, offset, length).await
    }
    async fn list(&self, kind: FileKind) -> Result<Vec<(String, u64)>> {
        self.inner.list(kind).await
    }
    async fn remove(&self, kind: FileKind, name: &str) -> Result<()> {
        self.inner.remove(kind, name).await
    }
}

/// `len` bytes of seeded random data (the same for the same seed).
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    use rand::{Rng, SeedableRng};
    let mut v = vec![0u8; len];
    rand::rngs::SmallRng::seed_from_u64(seed).fill(&mut v[..]);
    v
}

/// [`fast_init`] with small chunks and 1 MiB packs, so small test data spans many packs.
fn small_init() -> InitOptions {
    InitOptions {
        chunker: hvelv_engine::chunker::ChunkerParams {
            min: 64 << 10,
            avg: 128 << 10,
            max: 512 << 10,
        },
        pack_size: 1 << 20,
        ..fast_init()
    }
}

fn fast_init() -> InitOptions {
    InitOptions {
        kdf: KdfParams {
            m_cost: 8 * 1024,
            t_cost: 1,
            p_cost: 1,
        }
        .into(),
        ..InitOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packs_of_a_failed_backup_are_reused_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let mut data = vec![0u8; 6 << 20];
    rand::Rng::fill(&mut rand::thread_rng(), &mut data[..]);
    std::fs::write(src.join("f"), &data).unwrap();

    let be = Arc::new(FailIndex {
        inner: MemoryBackend::new(),
        fail_index: AtomicBool::new(true),
    });
    let repo = Repository::init(be.clone(), b"pw", fast_init())
        .await
        .unwrap();
    let mut repo = repo.load_index().await.unwrap();
    let opts = BackupOptions {
        paths: vec![src.clone()],
        ..Default::default()
    };
    let e = backup(&mut repo, &opts, Arc::new(NoProgress))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Backend, "{e}");
    assert!(
        repo.snapshots().await.unwrap().is_empty(),
        "no snapshot after a failed backup"
    );
    let packs = be.list(FileKind::Pack).await.unwrap();
    assert!(!packs.is_empty(), "the failed backup wrote packs");

    be.fail_index.store(false, Ordering::SeqCst);
    let repo = Repository::open(be.clone(), b"pw").await.unwrap();
    let mut repo = repo.load_index().await.unwrap();
    let done = backup(&mut repo, &opts, Arc::new(NoProgress))
        .await
        .unwrap();
    assert_eq!(done.packs_recovered, packs.len());
    assert_eq!(
        done.snapshot.snapshot.summary.bytes_added, 0,
        "data blobs were reused"
    );

    let target = dir.path().join("t");
    let out = restore(
        &repo,
        &done.snapshot,
        Some(src.to_str().unwrap()),
        &target,
        &RestoreOptions::default(),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(std::fs::read(target.join("f")).unwrap(), data);
}

#[tokio::test]
async fn memory_backend_round_trip_and_second_password() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("s");
    std::fs::create_dir_all(src.join("a")).unwrap();
    std::fs::write(src.join("a/x"), b"hello").unwrap();
    let be = Arc::new(MemoryBackend::new());
    let repo = Repository::init(be.clone(), b"one", fast_init())
        .await
        .unwrap();
    repo.add_key(
        b"two",
        KdfParams {
            m_cost: 8 * 1024,
            t_cost: 1,
            p_cost: 1,
        },
    )
    .await
    .unwrap();
    let mut repo = Repository::open(be.clone(), b"two")
        .await
        .unwrap()
        .load_index()
        .await
        .unwrap();
    let opts = BackupOptions {
        paths: vec![src.clone()],
        ..Default::default()
    };
    let done = backup(&mut repo, &opts, Arc::new(NoProgress))
        .await
        .unwrap();
    let e = Repository::open(be.clone(), b"three").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongPassword);
    let repo = Repository::open(be, b"one")
        .await
        .unwrap()
        .load_index()
        .await
        .unwrap();
    let t = dir.path().join("t");
    restore(
        &repo,
        &done.snapshot,
        Some(src.to_str().unwrap()),
        &t,
        &RestoreOptions::default(),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(t.join("a/x")).unwrap(), b"hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_is_rebuilt_from_packs_when_all_index_files_are_lost() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    for i in 0..5u8 {
        std::fs::write(src.join(format!("d/f{i}")), vec![i; 300_000 + i as usize]).unwrap();
    }
    let be = Arc::new(MemoryBackend::new());
    let mut repo = Repository::init(be.clone(), b"pw", fast_init())
        .await
        .unwrap()
        .load_index()
        .await
        .unwrap();
    let opts = BackupOptions {
        paths: vec![src.clone()],
        ..Default::default()
    };
    let first = backup(&mut repo, &opts, Arc::new(NoProgress))
        .await
        .unwrap();
    for (name, _) in be.list(FileKind::Index).await.unwrap() {
        be.remove(FileKind::Index, &name).await.unwrap();
    }
    let mut repo = Repository::open(be.clone(), b"pw")
        .await
        .unwrap()
        .load_index()
        .await
        .unwrap();
    assert!(repo.index().is_empty());
    let rec = repo.recover_unindexed_packs().await.unwrap();
    assert_eq!(
        rec.packs_recovered,
        be.list(FileKind::Pack).await.unwrap().len()
    );
    let t = dir.path().join("t");
    let out = restore(
        &repo,
        &first.snapshot,
        Some(src.to_str().unwrap()),
        &t,
        &RestoreOptions::default(),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    for i in 0..5u8 {
        assert_eq!(
            std::fs::read(t.join(format!("d/f{i}"))).unwrap(),
            vec![i; 300_000 + i as usize]
        );
    }
}
