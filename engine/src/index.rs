//! The blob index: blob id → (pack, offset, length), held in memory and persisted as index files.
//!
//! Index file payload (inside a sealed file of kind `HVELVIDX`, meta key):
//! `version u8 = 2, packs u32, packs × (pack id [32], session [32], count u32, count × (type u8,
//! blob id [32], offset u32, length u32, raw_length u32))`. `session` is the public key of the
//! session that sealed the pack (also in the pack's trailer), so readers derive its key without
//! fetching the pack's tail.
//! Index files are append-only and may overlap; loading merges them. The index is derived data:
//! it can always be rebuilt from pack headers.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::blob::BlobType;
use crate::crypto::SESSION_KEY_LEN;
use crate::error::{Error, ErrorKind, Result};
use crate::format::codec::{Reader, Writer};
use crate::id::{BlobId, FileId};
use crate::pack::PackEntry;

/// Hasher for ids that are already uniformly random: takes 8 bytes, no mixing needed.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Ids are hashed as one 32-byte slice; take the first 8 bytes.
        let mut b = [0u8; 8];
        let n = bytes.len().min(8);
        b[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(b);
    }
    fn write_usize(&mut self, _: usize) {}
}

/// `HashMap` keyed by ids.
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Where a blob lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Position of the pack in [`Index::pack_id`].
    pub pack: u32,
    /// Offset in the pack.
    pub offset: u32,
    /// Sealed length.
    pub length: u32,
    /// Plaintext length.
    pub raw_length: u32,
    /// Blob type.
    pub ty: BlobType,
}

/// In-memory index of every blob in the repository.
#[derive(Debug, Default, Clone)]
pub struct Index {
    packs: Vec<FileId>,
    /// Per pack position: public key of the session that sealed it.
    sessions: Vec<[u8; SESSION_KEY_LEN]>,
    pack_pos: IdMap<FileId, u32>,
    blobs: IdMap<BlobId, Location>,
    /// Per pack position: pending deletion by prune (see [`crate::gc`]).
    doomed: Vec<bool>,
}

impl Index {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record the entries of one pack sealed by session `session`.
    pub fn add_pack(
        &mut self,
        pack: FileId,
        session: [u8; SESSION_KEY_LEN],
        entries: &[PackEntry],
    ) {
        let pos = *self.pack_pos.entry(pack).or_insert_with(|| {
            self.packs.push(pack);
            self.sessions.push(session);
            self.doomed.push(false);
            (self.packs.len() - 1) as u32
        });
        self.blobs.reserve(entries.len());
        for e in entries {
            self.blobs.entry(e.id).or_insert(Location {
                pack: pos,
                offset: e.offset,
                length: e.length,
                raw_length: e.raw_length,
                ty: e.ty,
            });
        }
    }

    /// Look a blob up.
    pub fn get(&self, id: &BlobId) -> Option<Location> {
        self.blobs.get(id).copied()
    }

    /// True if the blob is stored (possibly in a pack pending deletion).
    pub fn contains(&self, id: &BlobId) -> bool {
        self.blobs.contains_key(id)
    }

    /// True if a backup may reference the stored blob instead of storing it again: it is
    /// stored in a pack that prune has not scheduled for deletion.
    pub fn dedup_hit(&self, id: &BlobId) -> bool {
        self.blobs
            .get(id)
            .is_some_and(|l| !self.doomed[l.pack as usize])
    }

    /// Mark packs as pending deletion: [`Index::dedup_hit`] ignores their blobs from now on.
    pub fn mark_doomed(&mut self, packs: &std::collections::HashSet<FileId>) {
        for (i, p) in self.packs.iter().enumerate() {
            if packs.contains(p) {
                self.doomed[i] = true;
            }
        }
    }

    /// Every blob and its location.
    pub fn iter(&self) -> impl Iterator<Item = (&BlobId, &Location)> {
        self.blobs.iter()
    }

    /// The pack at position `pos`.
    pub fn pack_id(&self, pos: u32) -> FileId {
        self.packs[pos as usize]
    }

    /// The session that sealed the pack at position `pos`.
    pub fn pack_session(&self, pos: u32) -> [u8; SESSION_KEY_LEN] {
        self.sessions[pos as usize]
    }

    /// Position of a pack, if indexed.
    pub fn pack_position(&self, id: &FileId) -> Option<u32> {
        self.pack_pos.get(id).copied()
    }

    /// True if the pack is indexed.
    pub fn has_pack(&self, id: &FileId) -> bool {
        self.pack_pos.contains_key(id)
    }

    /// Number of blobs.
    pub fn len(&self) -> usize {
        self.blobs.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Number of packs.
    pub fn pack_count(&self) -> usize {
        self.packs.len()
    }

    /// Merge another index (e.g. one index file) into this one.
    pub fn merge(&mut self, file: &IndexFile) {
        for p in &file.packs {
            self.add_pack(p.id, p.session, &p.entries);
        }
    }

    /// Build from index files, preferring copies outside `doomed` packs (a blob that prune
    /// copied to a new pack must resolve to the copy), and mark `doomed` packs.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = &'a IndexFile> + Clone,
        doomed: &std::collections::HashSet<FileId>,
    ) -> Index {
        let mut index = Index::new();
        for keep in [true, false] {
            for f in files.clone() {
                for p in &f.packs {
                    if doomed.contains(&p.id) != keep {
                        index.add_pack(p.id, p.session, &p.entries);
                    }
                }
            }
        }
        index.mark_doomed(doomed);
        index
    }
}

/// One pack in an index file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedPack {
    /// The pack's id (file name).
    pub id: FileId,
    /// Public key of the session that sealed it.
    pub session: [u8; SESSION_KEY_LEN],
    /// Its blobs.
    pub entries: Vec<PackEntry>,
}

/// The decoded payload of one index file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexFile {
    /// Packs and their blobs.
    pub packs: Vec<IndexedPack>,
}

const ENTRY_LEN: usize = 1 + 32 + 12;
const PACK_LEN: usize = 32 + SESSION_KEY_LEN + 4;
const INDEX_VERSION: u8 = 2;

impl IndexFile {
    /// Encode the payload.
    pub fn encode(&self) -> Vec<u8> {
        let n: usize = self
            .packs
            .iter()
            .map(|p| PACK_LEN + p.entries.len() * ENTRY_LEN)
            .sum();
        let mut w = Writer::with_capacity(5 + n);
        w.u8(INDEX_VERSION).u32(self.packs.len() as u32);
        for p in &self.packs {
            w.raw(&p.id.0).raw(&p.session).u32(p.entries.len() as u32);
            for e in &p.entries {
                w.u8(e.ty as u8)
                    .raw(&e.id.0)
                    .u32(e.offset)
                    .u32(e.length)
                    .u32(e.raw_length);
            }
        }
        w.finish()
    }

    /// Decode the payload; never panics.
    pub fn decode(buf: &[u8]) -> Result<IndexFile> {
        let mut r = Reader::new(buf, "index file");
        let v = r.u8()?;
        if v != INDEX_VERSION {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("index version {v} (this build reads {INDEX_VERSION})"),
            ));
        }
        let np = r.count(PACK_LEN)?;
        let mut packs = Vec::with_capacity(np);
        for _ in 0..np {
            let id = FileId(r.array()?);
            let session = r.array()?;
            let n = r.count(ENTRY_LEN)?;
            let mut entries = Vec::with_capacity(n);
            for _ in 0..n {
                entries.push(PackEntry {
                    ty: BlobType::from_u8(r.u8()?)?,
                    id: BlobId(r.array()?),
                    offset: r.u32()?,
                    length: r.u32()?,
                    raw_length: r.u32()?,
                });
            }
            packs.push(IndexedPack {
                id,
                session,
                entries,
            });
        }
        r.end()?;
        Ok(IndexFile { packs })
    }

    /// Number of blobs listed.
    pub fn blob_count(&self) -> usize {
        self.packs.iter().map(|p| p.entries.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> IndexFile {
        IndexFile {
            packs: vec![IndexedPack {
                id: FileId([9; 32]),
                session: [5; 32],
                entries: vec![PackEntry {
                    ty: BlobType::Data,
                    id: BlobId([1; 32]),
                    offset: 0,
                    length: 40,
                    raw_length: 11,
                }],
            }],
        }
    }

    #[test]
    fn round_trip_and_lookup() {
        let f = sample();
        let g = IndexFile::decode(&f.encode()).unwrap();
        assert_eq!(f, g);
        let mut i = Index::new();
        i.merge(&g);
        i.merge(&g);
        assert_eq!(i.len(), 1);
        assert_eq!(i.pack_count(), 1);
        let l = i.get(&BlobId([1; 32])).unwrap();
        assert_eq!(i.pack_id(l.pack), FileId([9; 32]));
        assert_eq!(i.pack_session(l.pack), [5; 32]);
        let b = f.encode();
        for cut in 0..b.len() {
            assert!(IndexFile::decode(&b[..cut]).is_err());
        }
    }

    #[test]
    fn doomed_packs_are_not_dedup_hits_and_copies_win() {
        let f = sample();
        let copy = IndexFile {
            packs: vec![IndexedPack {
                id: FileId([7; 32]),
                ..f.packs[0].clone()
            }],
        };
        let doomed: std::collections::HashSet<FileId> = [FileId([9; 32])].into();
        // The doomed pack comes first in the files, yet the copy is what the index resolves to.
        let i = Index::from_files([&f, &copy], &doomed);
        let id = BlobId([1; 32]);
        assert_eq!(i.pack_id(i.get(&id).unwrap().pack), FileId([7; 32]));
        assert!(i.dedup_hit(&id));
        let only = Index::from_files([&f], &doomed);
        assert!(only.contains(&id));
        assert!(!only.dedup_hit(&id));
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = IndexFile::decode(&data);
        }
    }
}
