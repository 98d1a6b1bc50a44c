//! The local files cache of put-only backup clients.
//!
//! A full key skips unchanged files by reading the parent snapshot's trees. A put-only key
//! cannot read any snapshot, so the client keeps what the shortcut needs on its own disk: for
//! every file of its last backup, a keyed hash of the path (never the path), the metadata the
//! change test compares (size, mtime, ctime, inode) and the chunk ids. Nothing in it decrypts
//! anything; it only lets the client reuse chunk ids it computed itself. Paths are hashed with a
//! key derived from the id key, so the cache does not list file names (an attacker holding the
//! put-only key can still test guessed paths against it: see docs/SECURITY.md).
//!
//! The cache is an optimisation: if it is missing, damaged or from another repository, every
//! file is read again (and deduplicated against the index as always). Chunk ids taken from it
//! are used only while the index still holds every one of them.
//!
//! ```text
//! "HVELVFC1" | zstd(count u64 | count × (path key [32] | size u64 | mtime i64 u32 |
//!              ctime i64 u32 | inode u64 | chunks u32 | chunks × id [32])) | BLAKE3 of all before [32]
//! ```
//! Written to a temporary file, synced and renamed, so a crash leaves the old cache or the new.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::crypto::KeySet;
use crate::error::{Error, ErrorKind, Result};
use crate::format::codec::{Reader, Writer};
use crate::id::BlobId;
use crate::tree::{Node, Timestamp};

const MAGIC: &[u8; 8] = b"HVELVFC1";
const ENTRY_MIN: usize = 32 + 8 + 12 + 12 + 8 + 4;

/// What the cache remembers of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CachedFile {
    size: u64,
    mtime: Timestamp,
    ctime: Timestamp,
    inode: u64,
    pub content: Vec<BlobId>,
}

impl CachedFile {
    /// The file as it was stored.
    pub fn of(node: &Node) -> CachedFile {
        CachedFile {
            size: node.size,
            mtime: node.mtime,
            ctime: node.ctime,
            inode: node.inode,
            content: node.content.clone(),
        }
    }

    /// True if `now` looks unchanged (the same test as against a parent snapshot).
    pub fn unchanged(&self, now: &Node) -> bool {
        self.size == now.size
            && self.mtime == now.mtime
            && self.ctime == now.ctime
            && self.inode == now.inode
    }
}

/// The cache of one (repository, host, paths) combination.
#[derive(Debug, Default)]
pub(crate) struct FilesCache {
    key: [u8; 32],
    files: HashMap<[u8; 32], CachedFile>,
}

impl FilesCache {
    /// An empty cache whose path keys derive from `keys`.
    pub fn new(keys: &KeySet) -> FilesCache {
        FilesCache {
            key: blake3::derive_key("hvelv 2026 files cache path key v1", &keys.id),
            files: HashMap::new(),
        }
    }

    /// The file name of the cache for `host` and the backup `paths` in `dir`.
    pub fn file_name(keys: &KeySet, repo_id: &str, host: &str, paths: &[String]) -> PathBuf {
        let mut h = blake3::Hasher::new_keyed(&blake3::derive_key(
            "hvelv 2026 files cache name v1",
            &keys.id,
        ));
        h.update(host.as_bytes());
        for p in paths {
            h.update(&[0]);
            h.update(p.as_bytes());
        }
        PathBuf::from(repo_id).join(format!("files-{}", &h.finalize().to_hex()[..32]))
    }

    /// The keyed hash of a path.
    pub fn path_key(&self, path: &Path) -> [u8; 32] {
        use std::os::unix::ffi::OsStrExt;
        *blake3::keyed_hash(&self.key, path.as_os_str().as_bytes()).as_bytes()
    }

    pub fn get(&self, key: &[u8; 32]) -> Option<&CachedFile> {
        self.files.get(key)
    }

    pub fn insert(&mut self, key: [u8; 32], file: CachedFile) {
        self.files.insert(key, file);
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Load the cache at `path`; `Ok(None)` when there is none. A damaged cache is an error
    /// the caller reports as a warning before reading every file.
    pub fn load(keys: &KeySet, path: &Path) -> Result<Option<FilesCache>> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::io(
                    format!("reading files cache {}", path.display()),
                    e,
                ))
            }
        };
        let mut cache = FilesCache::new(keys);
        cache.files =
            decode(&bytes).map_err(|e| e.context(format!("files cache {}", path.display())))?;
        Ok(Some(cache))
    }

    /// Write the cache to `path` crash-safely (temporary file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path
            .parent()
            .ok_or_else(|| Error::invalid(format!("{} has no directory", path.display())))?;
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating cache directory {}", dir.display()), e))?;
        let bytes = self.encode()?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| Error::io(format!("creating a file in {}", dir.display()), e))?;
        tmp.write_all(&bytes)
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| Error::io(format!("writing files cache in {}", dir.display()), e))?;
        tmp.persist(path)
            .map_err(|e| Error::io(format!("saving files cache {}", path.display()), e.error))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn encode(&self) -> Result<Vec<u8>> {
        let mut keys: Vec<&[u8; 32]> = self.files.keys().collect();
        keys.sort();
        let mut w = Writer::with_capacity(8 + self.files.len() * (ENTRY_MIN + 64));
        w.u64(keys.len() as u64);
        for k in keys {
            let f = &self.files[k];
            w.raw(k)
                .u64(f.size)
                .i64(f.mtime.secs)
                .u32(f.mtime.nanos)
                .i64(f.ctime.secs)
                .u32(f.ctime.nanos)
                .u64(f.inode)
                .u32(f.content.len() as u32);
            for id in &f.content {
                w.raw(&id.0);
            }
        }
        let body = zstd::bulk::compress(&w.finish(), 3)
            .map_err(|e| Error::new(ErrorKind::Io, format!("zstd compression failed: {e}")))?;
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&body);
        let sum = blake3::hash(&out);
        out.extend_from_slice(sum.as_bytes());
        Ok(out)
    }
}

fn decode(bytes: &[u8]) -> Result<HashMap<[u8; 32], CachedFile>> {
    if bytes.len() < MAGIC.len() + 32 || &bytes[..8] != MAGIC {
        return Err(Error::corrupt("not a hvelv files cache"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 32);
    if blake3::hash(body).as_bytes() != sum {
        return Err(Error::corrupt("checksum mismatch (damaged)"));
    }
    let plain = zstd::stream::decode_all(&body[8..])
        .map_err(|e| Error::corrupt(format!("damaged: {e}")))?;
    let mut r = Reader::new(&plain, "files cache");
    let n = r.u64()?;
    if n > (plain.len() / ENTRY_MIN) as u64 {
        return Err(Error::corrupt("entry count exceeds the data"));
    }
    let mut files = HashMap::with_capacity(n as usize);
    for _ in 0..n {
        let key = r.array()?;
        let size = r.u64()?;
        let mtime = Timestamp {
            secs: r.i64()?,
            nanos: r.u32()?,
        };
        let ctime = Timestamp {
            secs: r.i64()?,
            nanos: r.u32()?,
        };
        let inode = r.u64()?;
        let chunks = r.count(32)?;
        let mut content = Vec::with_capacity(chunks);
        for _ in 0..chunks {
            content.push(BlobId(r.array()?));
        }
        files.insert(
            key,
            CachedFile {
                size,
                mtime,
                ctime,
                inode,
                content,
            },
        );
    }
    r.end()?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_damage_and_no_names() {
        let keys = KeySet::generate().unwrap();
        let mut c = FilesCache::new(&keys);
        let node = Node {
            size: 5,
            mtime: Timestamp { secs: 7, nanos: 8 },
            inode: 42,
            content: vec![BlobId([3; 32])],
            ..Node::default()
        };
        let k = c.path_key(Path::new("/srv/secret-salary-list.xlsx"));
        c.insert(k, CachedFile::of(&node));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r").join("files-x");
        c.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.windows(6).any(|w| w == b"salary"));
        let back = FilesCache::load(&keys, &path).unwrap().unwrap();
        assert_eq!(back.len(), 1);
        assert!(back.get(&k).unwrap().unchanged(&node));
        assert!(FilesCache::load(&keys, &dir.path().join("none"))
            .unwrap()
            .is_none());
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 1;
            assert!(decode(&b).is_err(), "byte {i}");
        }
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err());
        }
    }
}
