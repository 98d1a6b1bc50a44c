//! A decorator that makes any backend unreliable on purpose, for tests of what the engine does
//! when storage fails: requests fail before they reach the store, or after (the write happened
//! but its answer was lost, as with a dropped connection). Deterministic for a given seed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use super::{Backend, DynBackend, FileKind, ObjectLock, Retention};
use crate::error::{Error, ErrorKind, Result};

/// Wraps a backend; each request fails with probability `rate` (per mille).
#[derive(Debug)]
pub struct FaultBackend {
    inner: DynBackend,
    per_mille: u64,
    state: AtomicU64,
    /// Requests failed so far.
    pub injected: AtomicU64,
}

impl FaultBackend {
    /// Fail `per_mille`/1000 of the requests, drawn from `seed`.
    pub fn new(inner: DynBackend, per_mille: u64, seed: u64) -> Arc<FaultBackend> {
        Arc::new(FaultBackend {
            inner,
            per_mille,
            state: AtomicU64::new(seed | 1),
            injected: AtomicU64::new(0),
        })
    }

    /// Next draw: `Some(after)` to fail (after the operation when `after`), `None` to pass.
    fn draw(&self) -> Option<bool> {
        // xorshift64*, advanced atomically.
        let mut x = self.state.load(Ordering::Relaxed);
        loop {
            let mut y = x;
            y ^= y >> 12;
            y ^= y << 25;
            y ^= y >> 27;
            match self
                .state
                .compare_exchange_weak(x, y, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    let r = y.wrapping_mul(0x2545_F491_4F6C_DD1D);
                    if (r >> 32) % 1000 < self.per_mille {
                        self.injected.fetch_add(1, Ordering::Relaxed);
                        return Some(r & 1 == 1);
                    }
                    return None;
                }
                Err(now) => x = now,
            }
        }
    }

    fn fault(what: &str) -> Error {
        Error::new(
            ErrorKind::Backend,
            format!("injected storage fault during {what}"),
        )
    }
}

#[async_trait]
impl Backend for FaultBackend {
    fn location(&self) -> String {
        format!("fault:{}", self.inner.location())
    }
    fn write_concurrency(&self) -> usize {
        self.inner.write_concurrency()
    }
    async fn create_layout(&self) -> Result<()> {
        self.inner.create_layout().await
    }
    async fn create(&self, kind: FileKind, name: &str, data: Bytes) -> Result<()> {
        match self.draw() {
            Some(false) => Err(Self::fault("create")),
            Some(true) => {
                self.inner.create(kind, name, data).await?;
                Err(Self::fault("create (after the write)"))
            }
            None => self.inner.create(kind, name, data).await,
        }
    }
    async fn read(&self, kind: FileKind, name: &str) -> Result<Bytes> {
        match self.draw() {
            Some(_) => Err(Self::fault("read")),
            None => self.inner.read(kind, name).await,
        }
    }
    async fn read_range(
        &self,
        kind: FileKind,
        name: &str,
        offset: u64,
        length: u64,
    ) -> Result<Bytes> {
        match self.draw() {
            Some(_) => Err(Self::fault("read")),
            None => self.inner.read_range(kind, name, offset, length).await,
        }
    }
    async fn list(&self, kind: FileKind) -> Result<Vec<(String, u64)>> {
        match self.draw() {
            Some(_) => Err(Self::fault("list")),
            None => self.inner.list(kind).await,
        }
    }
    async fn remove(&self, kind: FileKind, name: &str) -> Result<()> {
        match self.draw() {
            Some(false) => Err(Self::fault("remove")),
            Some(true) => {
                self.inner.remove(kind, name).await?;
                Err(Self::fault("remove (after the delete)"))
            }
            None => self.inner.remove(kind, name).await,
        }
    }
    async fn remove_stale_temporaries(&self, older_than: std::time::Duration) -> Result<usize> {
        self.inner.remove_stale_temporaries(older_than).await
    }
    async fn set_object_lock(&self, policy: ObjectLock) -> Result<()> {
        self.inner.set_object_lock(policy).await
    }
    fn object_lock(&self) -> Option<ObjectLock> {
        self.inner.object_lock()
    }
    async fn retention(&self, kind: FileKind, name: &str) -> Result<Option<Retention>> {
        match self.draw() {
            Some(_) => Err(Self::fault("retention read")),
            None => self.inner.retention(kind, name).await,
        }
    }
}
