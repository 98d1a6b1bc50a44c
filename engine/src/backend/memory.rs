//! In-memory backend, for tests and dry runs.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;

use super::{Backend, FileKind};
use crate::error::{Error, ErrorKind, Result};

/// A repository held in memory.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    files: Mutex<Option<BTreeMap<(FileKind, String), Bytes>>>,
}

impl MemoryBackend {
    /// An empty location.
    pub fn new() -> Self {
        Self::default()
    }
    fn with<T>(
        &self,
        f: impl FnOnce(&mut BTreeMap<(FileKind, String), Bytes>) -> Result<T>,
    ) -> Result<T> {
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
            m.insert(key, data);
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
        self.with(|m| {
            m.remove(&(kind, name.to_owned()))
                .map(|_| ())
                .ok_or_else(|| Error::not_found(format!("{kind} {name} not found")))
        })
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn conformance() {
        super::super::conformance::run(&super::MemoryBackend::new()).await;
    }
}
