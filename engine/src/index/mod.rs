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

mod packs;
mod table;

use packs::PackTable;
use table::{BucketCounts, Builder, PackedLoc, Table};

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
///
/// Memory: about 47.5 bytes per blob at 16 blobs per pack (45 in the sorted table, see
/// `index/table.rs`, and the pack table, `index/packs.rs`). Blobs added one pack at a time
/// wait in a hash map (`pending`) until they are an eighth of the table, then merge into it in
/// place; bulk loads ([`Index::from_files`]) build the table directly. Invariant: every blob id
/// is in exactly one of `table` and `pending`; a record of `table` marked `PackedLoc::WIDE` has
/// its location in `wide`, and `wide` holds nothing else.
#[derive(Default, Clone)]
pub struct Index {
    packs: PackTable,
    table: Table,
    pending: IdMap<BlobId, Location>,
    wide: IdMap<BlobId, Location>,
}

/// Below this many pending blobs a merge is not worth a pass over the table.
#[cfg(not(test))]
const MIN_PENDING: usize = 1 << 16;
/// Small in unit tests, so that they exercise merging.
#[cfg(test)]
const MIN_PENDING: usize = 4;

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("blobs", &self.len())
            .field("packs", &self.packs.len())
            .field("pending", &self.pending.len())
            .field("wide", &self.wide.len())
            .finish_non_exhaustive()
    }
}

impl Index {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record the entries of one pack sealed by session `session`. A blob already indexed
    /// keeps its location.
    pub fn add_pack(
        &mut self,
        pack: FileId,
        session: [u8; SESSION_KEY_LEN],
        entries: &[PackEntry],
    ) {
        let pos = self.packs.insert(pack, session);
        for e in entries {
            if !self.contains(&e.id) {
                self.pending.insert(e.id, location(pos, e));
            }
        }
        if self.pending.len() >= MIN_PENDING.max(self.table.len() / 8) {
            self.merge_pending();
        }
    }

    /// Move the pending blobs into the table.
    fn merge_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let mut new = Vec::with_capacity(pending.len());
        for (id, l) in pending {
            new.push((id, self.pack_location(id, l)));
        }
        self.table.insert_new(new);
    }

    /// The packed form of `l`, keeping it in `wide` when it does not fit.
    fn pack_location(&mut self, id: BlobId, l: Location) -> PackedLoc {
        PackedLoc::new(&l).unwrap_or_else(|| {
            self.wide.entry(id).or_insert(l);
            PackedLoc::WIDE
        })
    }

    /// Merge pending blobs into the sorted table and release spare capacity: what a loaded
    /// index looks like. Lookups do not need it; it saves memory after many
    /// [`Index::add_pack`] calls.
    pub fn compact(&mut self) {
        self.merge_pending();
        self.table.shrink_to_fit();
        self.packs.shrink_to_fit();
        self.pending.shrink_to_fit();
    }

    /// Look a blob up.
    pub fn get(&self, id: &BlobId) -> Option<Location> {
        match self.table.get(id) {
            Some(p) => p.get().or_else(|| self.wide.get(id).copied()),
            None if self.pending.is_empty() => None,
            None => self.pending.get(id).copied(),
        }
    }

    /// True if the blob is stored (possibly in a pack pending deletion).
    pub fn contains(&self, id: &BlobId) -> bool {
        self.table.get(id).is_some() || self.pending.contains_key(id)
    }

    /// True if a backup may reference the stored blob instead of storing it again: it is
    /// stored in a pack that prune has not scheduled for deletion.
    pub fn dedup_hit(&self, id: &BlobId) -> bool {
        self.get(id)
            .is_some_and(|l| self.packs.get(l.pack).is_some_and(|p| !p.doomed()))
    }

    /// Mark packs as pending deletion: [`Index::dedup_hit`] ignores their blobs from now on.
    pub fn mark_doomed(&mut self, packs: &std::collections::HashSet<FileId>) {
        self.packs.mark_doomed(packs);
    }

    /// Every blob and its location: the table's in id order, then the pending ones.
    pub fn iter(&self) -> impl Iterator<Item = (BlobId, Location)> + '_ {
        self.table
            .iter()
            .filter_map(|(id, p)| Some((id, p.get().or_else(|| self.wide.get(&id).copied())?)))
            .chain(self.pending.iter().map(|(id, l)| (*id, *l)))
    }

    /// The pack at position `pos`.
    ///
    /// # Panics
    /// If `pos` is not a position of this index (positions come from its own locations).
    pub fn pack_id(&self, pos: u32) -> FileId {
        match self.packs.get(pos) {
            Some(p) => p.id,
            None => panic!(
                "pack position {pos} out of range ({} packs)",
                self.packs.len()
            ),
        }
    }

    /// The session that sealed the pack at position `pos`.
    ///
    /// # Panics
    /// If `pos` is not a position of this index.
    pub fn pack_session(&self, pos: u32) -> [u8; SESSION_KEY_LEN] {
        match self.packs.session(pos) {
            Some(s) => s,
            None => panic!(
                "pack position {pos} out of range ({} packs)",
                self.packs.len()
            ),
        }
    }

    /// Position of a pack, if indexed.
    pub fn pack_position(&self, id: &FileId) -> Option<u32> {
        self.packs.position(id)
    }

    /// True if the pack is indexed.
    pub fn has_pack(&self, id: &FileId) -> bool {
        self.packs.position(id).is_some()
    }

    /// Number of blobs.
    pub fn len(&self) -> usize {
        self.table.len() + self.pending.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
    ///
    /// Otherwise the first listing of a blob wins, as with [`Index::add_pack`] in file order.
    /// Builds the sorted table in one allocation of its final size: no growth peak.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = &'a IndexFile> + Clone,
        doomed: &std::collections::HashSet<FileId>,
    ) -> Index {
        let mut counts = BucketCounts::new();
        for f in files.clone() {
            for p in &f.packs {
                p.entries.iter().for_each(|e| counts.count(&e.id));
            }
        }
        let mut builder = Builder::new(&counts);
        let mut index = Index::new();
        for keep in [true, false] {
            for f in files.clone() {
                for p in &f.packs {
                    if doomed.contains(&p.id) != keep {
                        let pos = index.packs.insert(p.id, p.session);
                        for e in &p.entries {
                            let p = index.pack_location(e.id, location(pos, e));
                            builder.push(&e.id, p);
                        }
                    }
                }
            }
        }
        index.table = builder.finish();
        // Drop the side entries of blobs whose first listing fitted a record.
        let table = &index.table;
        index
            .wide
            .retain(|id, _| table.get(id) == Some(PackedLoc::WIDE));
        index.packs.shrink_to_fit();
        index.mark_doomed(doomed);
        index
    }
}

fn location(pack: u32, e: &PackEntry) -> Location {
    Location {
        pack,
        offset: e.offset,
        length: e.length,
        raw_length: e.raw_length,
        ty: e.ty,
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

    /// The index as it was before the sorted table: a hash map, first listing wins. The
    /// reference the property tests hold [`Index`] to.
    #[derive(Default)]
    struct Model {
        packs: Vec<FileId>,
        sessions: Vec<[u8; SESSION_KEY_LEN]>,
        doomed: HashSet<FileId>,
        blobs: HashMap<BlobId, Location>,
    }

    impl Model {
        fn add_pack(
            &mut self,
            pack: FileId,
            session: [u8; SESSION_KEY_LEN],
            entries: &[PackEntry],
        ) {
            let pos = match self.packs.iter().position(|p| *p == pack) {
                Some(p) => p,
                None => {
                    self.packs.push(pack);
                    self.sessions.push(session);
                    self.packs.len() - 1
                }
            } as u32;
            for e in entries {
                self.blobs.entry(e.id).or_insert(location(pos, e));
            }
        }

        fn from_files(files: &[IndexFile], doomed: &HashSet<FileId>) -> Model {
            let mut m = Model::default();
            for keep in [true, false] {
                for f in files {
                    for p in &f.packs {
                        if doomed.contains(&p.id) != keep {
                            m.add_pack(p.id, p.session, &p.entries);
                        }
                    }
                }
            }
            m.doomed = m
                .packs
                .iter()
                .filter(|p| doomed.contains(p))
                .copied()
                .collect();
            m
        }

        fn assert_same(&self, i: &Index, ids: &[BlobId]) {
            assert_eq!(i.len(), self.blobs.len());
            assert_eq!(i.is_empty(), self.blobs.is_empty());
            assert_eq!(i.pack_count(), self.packs.len());
            for (pos, p) in self.packs.iter().enumerate() {
                assert_eq!(i.pack_position(p), Some(pos as u32));
                assert!(i.has_pack(p));
                assert_eq!(i.pack_id(pos as u32), *p);
                assert_eq!(i.pack_session(pos as u32), self.sessions[pos]);
            }
            assert!(!i.has_pack(&FileId([0xee; 32])));
            for id in ids {
                let want = self.blobs.get(id).copied();
                assert_eq!(i.get(id), want, "{}", id.to_hex());
                assert_eq!(i.contains(id), want.is_some());
                let hit = want.is_some_and(|l| !self.doomed.contains(&self.packs[l.pack as usize]));
                assert_eq!(i.dedup_hit(id), hit);
            }
            let listed: Vec<(BlobId, Location)> = i.iter().collect();
            assert_eq!(listed.len(), self.blobs.len());
            let listed: HashMap<BlobId, Location> = listed.into_iter().collect();
            assert_eq!(listed, self.blobs);
        }
    }

    use std::collections::{HashMap, HashSet};

    use proptest::prelude::*;

    /// 24 ids shaped like keyed hashes, some sharing their bucket or a long prefix.
    fn id_pool() -> impl Strategy<Value = Vec<BlobId>> {
        proptest::collection::vec((0u8..4, any::<[u8; 32]>()), 24).prop_map(|v| {
            v.into_iter()
                .map(|(shape, mut id)| {
                    match shape {
                        1 => id[..2].fill(0),
                        2 => id[..20].fill(0x5a),
                        _ => {}
                    }
                    BlobId(id)
                })
                .collect()
        })
    }

    fn pack_ids() -> Vec<FileId> {
        (1..=6u8).map(|i| FileId([i; 32])).collect()
    }

    /// Two sessions shared by the six packs, as several packs of one backup share one.
    fn session_of(pack: usize) -> [u8; SESSION_KEY_LEN] {
        [(pack % 2) as u8 + 1; SESSION_KEY_LEN]
    }

    /// Entries by id number; lengths are small mostly and sometimes too wide for a record.
    fn entries() -> impl Strategy<Value = Vec<(usize, u32, u32, u32, bool)>> {
        let n = || prop_oneof![4 => 0u32..5000, 1 => any::<u32>()];
        proptest::collection::vec((0usize..24, n(), n(), n(), any::<bool>()), 0..10)
    }

    fn make(ids: &[BlobId], v: &[(usize, u32, u32, u32, bool)]) -> Vec<PackEntry> {
        v.iter()
            .map(|&(i, offset, length, raw_length, tree)| PackEntry {
                ty: if tree { BlobType::Tree } else { BlobType::Data },
                id: ids[i],
                offset,
                length,
                raw_length,
            })
            .collect()
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(usize, Vec<(usize, u32, u32, u32, bool)>),
        Doom(usize),
        Compact,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0usize..6, entries()).prop_map(|(p, e)| Op::Add(p, e)),
            1 => (0usize..6).prop_map(Op::Doom),
            1 => Just(Op::Compact),
        ]
    }

    /// Every id of the pool and a few that were never added.
    fn probes(ids: &[BlobId]) -> Vec<BlobId> {
        let mut v = ids.to_vec();
        v.extend(ids.iter().take(4).map(|id| {
            let mut o = *id;
            o.0[31] ^= 0x80;
            o
        }));
        v
    }

    proptest::proptest! {
        #[test]
        fn index_behaves_like_the_hash_map_model(ids in id_pool(), ops in proptest::collection::vec(op(), 0..40)) {
            let packs = pack_ids();
            let (mut index, mut model) = (Index::new(), Model::default());
            for op in ops {
                match op {
                    Op::Add(p, e) => {
                        let e = make(&ids, &e);
                        index.add_pack(packs[p], session_of(p), &e);
                        model.add_pack(packs[p], session_of(p), &e);
                    }
                    Op::Doom(p) => {
                        let set: HashSet<FileId> = [packs[p]].into();
                        index.mark_doomed(&set);
                        // Like the original: only packs indexed by now are marked.
                        if model.packs.contains(&packs[p]) {
                            model.doomed.insert(packs[p]);
                        }
                    }
                    Op::Compact => index.compact(),
                }
                model.assert_same(&index, &probes(&ids));
            }
            let clone = index.clone();
            model.assert_same(&clone, &probes(&ids));
        }

        #[test]
        fn from_files_behaves_like_the_model(
            ids in id_pool(),
            files in proptest::collection::vec(proptest::collection::vec((0usize..6, entries()), 0..5), 0..4),
            doomed in proptest::collection::hash_set(0usize..6, 0..3),
            later in proptest::collection::vec((0usize..6, entries()), 0..6),
        ) {
            let packs = pack_ids();
            let files: Vec<IndexFile> = files
                .iter()
                .map(|f| IndexFile {
                    packs: f
                        .iter()
                        .map(|(p, e)| IndexedPack {
                            id: packs[*p],
                            session: session_of(*p),
                            entries: make(&ids, e),
                        })
                        .collect(),
                })
                .collect();
            let doomed: HashSet<FileId> = doomed.into_iter().map(|p| packs[p]).collect();
            let mut index = Index::from_files(&files, &doomed);
            let mut model = Model::from_files(&files, &doomed);
            model.assert_same(&index, &probes(&ids));
            // Packs added after loading (a backup) merge into the built table.
            for (p, e) in later {
                let e = make(&ids, &e);
                index.add_pack(packs[p], session_of(p), &e);
                model.add_pack(packs[p], session_of(p), &e);
            }
            index.compact();
            model.assert_same(&index, &probes(&ids));
        }

        #[test]
        fn decode_never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = IndexFile::decode(&data);
        }
    }
}
