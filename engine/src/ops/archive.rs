//! Reading one stored file back as a byte stream, for fixity checks and bit-exact restores of
//! archive snapshots (`hvelv archive verify|get`).
//!
//! [`read_file`] runs the caller's consumer on a plain thread with a [`StoredFile`] reader
//! (`std::io::Read`) while the async side serves pack reads, the same split restore uses. Every
//! chunk is authenticated (AEAD tag and keyed content id) before its bytes are handed out. A
//! chunk that cannot be read is recorded as a [`Damage`] and, when its length is known from the
//! index, replaced by zeros so that the consumer can go on and name every affected part (a tar
//! member whose checksum then fails); without a known length the reader stops with an error.

use std::io::Read;
use std::sync::{Arc, Mutex};

use super::fetch::{self, BlobReader, ChunkPrefetch};
use crate::error::{Error, ErrorKind, Result};
use crate::id::BlobId;
use crate::repo::IndexedRepository;
use crate::snapshot::SnapshotEntry;
use crate::tree::{Node, NodeKind};

/// A part of a stored file that could not be read from the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset in the file.
    pub offset: u64,
    /// Length in bytes (0 when unknown: reading stopped there).
    pub length: u64,
    /// Why (damaged pack, missing blob, ...).
    pub error: String,
}

/// The node of a regular file at absolute `path` in a snapshot.
pub async fn find_file(repo: &IndexedRepository, snap: &SnapshotEntry, path: &str) -> Result<Node> {
    let mut tree = repo.read_tree(&snap.snapshot.tree_id()?).await?;
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let missing = || Error::not_found(format!("{path} is not in snapshot {}", snap.id.short()));
    for (i, c) in comps.iter().enumerate() {
        let node = tree.get(c.as_bytes()).cloned().ok_or_else(missing)?;
        if i + 1 == comps.len() {
            if node.kind() != NodeKind::File {
                return Err(Error::invalid(format!(
                    "{path} in snapshot {} is not a regular file",
                    snap.id.short()
                )));
            }
            return Ok(node);
        }
        let sub = node.subtree.ok_or_else(missing)?;
        tree = repo.read_tree(&sub).await?;
    }
    Err(missing())
}

/// A stored file's content as `std::io::Read`, for the thread [`read_file`] runs.
pub struct StoredFile<'a> {
    chunks: ChunkPrefetch<'a>,
    current: Vec<u8>,
    pos: usize,
    offset: u64,
    damage: Arc<Mutex<Vec<Damage>>>,
}

impl Read for StoredFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.current.len() {
            let Some((id, len, r)) = self.chunks.next() else {
                return Ok(0);
            };
            self.current = match r {
                Ok(b) => b,
                Err(e) => {
                    let mut d = self.damage.lock().unwrap_or_else(|p| p.into_inner());
                    let error = format!("chunk {}: {e}", id.short());
                    match len {
                        Some(n) => {
                            d.push(Damage {
                                offset: self.offset,
                                length: u64::from(n),
                                error,
                            });
                            vec![0u8; n as usize]
                        }
                        None => {
                            d.push(Damage {
                                offset: self.offset,
                                length: 0,
                                error: error.clone(),
                            });
                            return Err(std::io::Error::other(error));
                        }
                    }
                }
            };
            self.pos = 0;
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        self.offset += n as u64;
        Ok(n)
    }
}

/// Run `consume` on a thread with a reader over the chunks `content` (a file node's content),
/// read from `repo`. Returns its result and the damaged ranges met (empty when every chunk
/// was read and authenticated).
pub async fn read_file<T, F>(
    repo: &IndexedRepository,
    content: Vec<BlobId>,
    consume: F,
) -> Result<(T, Vec<Damage>)>
where
    T: Send + 'static,
    F: FnOnce(&mut StoredFile<'_>) -> T + Send + 'static,
{
    let (fetcher, rx) = fetch::channel(repo.backend());
    let reader = BlobReader {
        fetcher,
        index: repo.index().clone(),
        keys: repo.keys().clone(),
        opener: repo.opener().clone(),
    };
    let damage = Arc::new(Mutex::new(Vec::new()));
    let d2 = damage.clone();
    let (tx, done) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("hvelv-archive-read".into())
        .spawn(move || {
            let mut file = StoredFile {
                chunks: ChunkPrefetch::new(&reader, &content, 8),
                current: Vec::new(),
                pos: 0,
                offset: 0,
                damage: d2,
            };
            let out = consume(&mut file);
            drop(file);
            drop(reader);
            let _ = tx.send(out);
        })
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot start a thread: {e}")))?;
    let serve = tokio::spawn(fetch::serve(repo.backend().clone(), rx, 4));
    let out = done.await.map_err(|_| {
        Error::new(
            ErrorKind::Io,
            "the archive reader thread stopped unexpectedly",
        )
    })?;
    let _ = serve.await;
    let damage = std::mem::take(&mut *damage.lock().unwrap_or_else(|p| p.into_inner()));
    Ok((out, damage))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{FileKind, MemoryBackend};
    use crate::ops::backup::{backup, BackupOptions};
    use crate::progress::NoProgress;
    use crate::{InitOptions, Repository};

    #[tokio::test]
    async fn reads_back_a_file_and_reports_a_damaged_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let data: Vec<u8> = (0..1_000_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        let file = dir.path().join("p.tar");
        std::fs::write(&file, &data).unwrap();
        let be: crate::backend::DynBackend = Arc::new(MemoryBackend::new());
        let opts = InitOptions {
            kdf: crate::crypto::KdfParams {
                m_cost: 8192,
                t_cost: 1,
                p_cost: 1,
            }
            .into(),
            chunker: crate::chunker::ChunkerParams {
                min: 64 * 1024,
                avg: 128 * 1024,
                max: 512 * 1024,
            },
            ..Default::default()
        };
        let repo = Repository::init(be.clone(), b"pw", opts).await.unwrap();
        let mut repo = repo.load_index().await.unwrap();
        let o = BackupOptions {
            paths: vec![file.clone()],
            ..Default::default()
        };
        let snap = backup(&mut repo, &o, Arc::new(NoProgress))
            .await
            .unwrap()
            .snapshot;
        let path = file.to_str().unwrap();
        let node = find_file(&repo, &snap, path).await.unwrap();
        assert!(node.content.len() > 1, "several chunks");
        let (got, damage) = read_file(&repo, node.content.clone(), |r| {
            let mut v = Vec::new();
            r.read_to_end(&mut v).map(|_| v).unwrap()
        })
        .await
        .unwrap();
        assert!(damage.is_empty());
        assert_eq!(got, data);
        assert_eq!(
            find_file(&repo, &snap, "/nope").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );

        // Flip a bit in the data pack: the damaged chunk is reported and zero-filled.
        for (name, _) in be.list(FileKind::Pack).await.unwrap() {
            let mut b = be.read(FileKind::Pack, &name).await.unwrap().to_vec();
            b[100] ^= 1;
            be.remove(FileKind::Pack, &name).await.unwrap();
            be.create(FileKind::Pack, &name, b.into()).await.unwrap();
        }
        let (got, damage) = read_file(&repo, node.content, |r| {
            let mut v = Vec::new();
            r.read_to_end(&mut v).map(|_| v).unwrap()
        })
        .await
        .unwrap();
        assert_eq!(got.len(), data.len());
        assert_eq!(damage.len(), 1, "{damage:?}");
        let (at, len) = (damage[0].offset as usize, damage[0].length as usize);
        assert!(len > 0 && at + len <= data.len(), "{damage:?}");
        assert!(got[at..at + len].iter().all(|&b| b == 0), "zero-filled");
        assert_eq!(got[..at], data[..at], "intact before the damage");
        assert_eq!(got[at + len..], data[at + len..], "intact after the damage");
    }
}
