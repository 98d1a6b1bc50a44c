//! In-memory backend, for tests and dry runs. It also simulates S3 Object Lock
//! ([`Backend::set_object_lock`]): retained files get a retention date at creation and cannot be
//! removed before it, so WORM planning is testable without a server.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::{locked_error, Backend, FileKind, ObjectLock, Retention};
use crate::error::{Error, ErrorKind, Result};

type Key = (FileKind, String);

/// A repository held in memory.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    files: Mutex<Option<BTreeMap<Key, Bytes>>>,
    lock: Mutex<Option<ObjectLock>>,
    retention: Mutex<BTreeMap<Key, Retention>>,
}

impl MemoryBackend {
    /// An empty location.
    pub fn new() -> Self {
        Self::default()
    }
    /// Set (or with `None` clear) the simulated retention date of a stored file, to model expiry
    /// or a file written without retention.
    pub fn set_retention(&self, kind: FileKind, name: &str, until: Option<DateTime<Utc>>) {
        let mut r = self.retention.lock().unwrap_or_else(|p| p.into_inner());
        let key = (kind, name.to_owned());
        match (until, self.object_lock()) {
            (Some(until), Some(p)) => {
                let written = r.get(&key).and_then(|x| x.written).or(Some(Utc::now()));
                r.insert(
                    key,
                    Retention {
                        mode: Some(p.mode),
                        until,
                        written,
                    },
                );
            }
            _ => {
                r.remove(&key);
            }
        }
    }
    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<Key, Bytes>) -> Result<T>) -> Result<T> {
        let mut g = self.files.lock().unwrap_or_else(|p| p.into_inner());
        match g.as_mut() {
            Some(m) => f(m),
            None => Err(Error::not_found(
                "memory repository: no repository here (run init)",
            )),
        }
    }
}

#[async_trait]
impl Backend for MemoryBackend {
    fn location(&self) -> String {
        "memory:".into()
    }
    async fn create_layout(&self) -> Result<()> {
        let mut g = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_some() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                "a repository already exists here",
            ));
        }
        *g = Some(BTreeMap::new());
        Ok(())
    }
    async fn create(&self, kind: FileKind, name: &str, data: Bytes) -> Result<()> {
        self.with(|m| {
            let key = (kind, name.to_owned());
            if m.contains_key(&key) {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("{kind} {name} exists"),
                ));
            }
            m.insert(key.clone(), data);
            if let Some(p) = self.object_lock().filter(|_| kind.retained()) {
                let now = Utc::now();
                let r = Retention {
                    mode: Some(p.mode),
                    until: p.until(now),
                    written: Some(now),
                };
                let mut g = self.retention.lock().unwrap_or_else(|p| p.into_inner());
                g.insert(key, r);
            }
            Ok(())
        })
    }
    async fn read(&self, kind: FileKind, name: &str) -> Result<Bytes> {
        self.with(|m| {
            m.get(&(kind, name.to_owned()))
                .cloned()
                .ok_or_else(|| Error::not_found(format!("{kind} {name} not found")))
        })
    }
    async fn read_range(
        &self,
        kind: FileKind,
        name: &str,
        offset: u64,
        length: u64,
    ) -> Result<Bytes> {
        let b = self.read(kind, name).await?;
        let end = offset
            .checked_add(length)
            .filter(|&e| e <= b.len() as u64)
            .ok_or_else(|| {
                Error::corrupt(format!(
                    "{kind} {name} is shorter than expected (truncated)"
                ))
            })?;
        Ok(b.slice(offset as usize..end as usize))
    }
    async fn list(&self, kind: FileKind) -> Result<Vec<(String, u64)>> {
        self.with(|m| {
            Ok(m.iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|((_, n), b)| (n.clone(), b.len() as u64))
                .collect())
        })
    }
    async fn remove(&self, kind: FileKind, name: &str) -> Result<()> {
        if let Some(r) = self.retention(kind, name).await? {
            if r.holds_at(Utc::now()) {
                return Err(locked_error(&self.location(), kind, name, &r, "delete"));
            }
        }
        self.with(|m| {
            m.remove(&(kind, name.to_owned()))
                .map(|_| ())
                .ok_or_else(|| Error::not_found(format!("{kind} {name} not found")))
        })?;
        let mut g = self.retention.lock().unwrap_or_else(|p| p.into_inner());
        g.remove(&(kind, name.to_owned()));
        Ok(())
    }
    async fn set_object_lock(&self, policy: ObjectLock) -> Result<()> {
        policy.validate()?;
        *self.lock.lock().unwrap_or_else(|p| p.into_inner()) = Some(policy);
        Ok(())
    }
    fn object_lock(&self) -> Option<ObjectLock> {
        *self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }
    async fn retention(&self, kind: FileKind, name: &str) -> Result<Option<Retention>> {
        self.with(|m| {
            if m.contains_key(&(kind, name.to_owned())) {
                Ok(())
            } else {
                Err(Error::not_found(format!("{kind} {name} not found")))
            }
        })?;
        let g = self.retention.lock().unwrap_or_else(|p| p.into_inner());
        Ok(g.get(&(kind, name.to_owned())).cloned())
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn conformance() {
        super::super::conformance::run(&super::MemoryBackend::new()).await;
    }

    #[tokio::test]
    async fn worm_conformance() {
        use crate::backend::{Backend, LockMode, ObjectLock};
        let be = super::MemoryBackend::new();
        let policy = ObjectLock {
            days: 3,
            mode: LockMode::Compliance,
        };
        be.set_object_lock(policy).await.unwrap();
        super::super::conformance::run_worm(&be, policy).await;
    }
}
