//! The blob index as it was before issue 8 (engine commit 9382355): a hash map of blob id →
//! location, a hash map of pack id → position (both with the engine's `IdMap`, unchanged) and
//! each pack's session key. Kept here, lookups and building only, so that `benches/index.rs`
//! and `benches/index_memory.rs` measure the old and the new index in the same run.

use std::collections::HashSet;

use hvelv_engine::index::{IdMap, IndexFile, IndexedPack, Location};
use hvelv_engine::pack::PackEntry;
use hvelv_engine::{BlobId, FileId};

#[derive(Default, Clone)]
pub struct HashMapIndex {
    packs: Vec<FileId>,
    sessions: Vec<[u8; 32]>,
    pack_pos: IdMap<FileId, u32>,
    blobs: IdMap<BlobId, Location>,
    doomed: Vec<bool>,
}

#[allow(dead_code)] // each bench uses a part
impl HashMapIndex {
    pub fn add_pack(&mut self, pack: FileId, session: [u8; 32], entries: &[PackEntry]) {
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

    pub fn get(&self, id: &BlobId) -> Option<Location> {
        self.blobs.get(id).copied()
    }

    pub fn dedup_hit(&self, id: &BlobId) -> bool {
        self.blobs
            .get(id)
            .is_some_and(|l| !self.doomed[l.pack as usize])
    }

    pub fn len(&self) -> usize {
        self.blobs.len()
    }

    pub fn pack_count(&self) -> usize {
        self.packs.len()
    }

    pub fn mark_doomed(&mut self, packs: &HashSet<FileId>) {
        for (i, p) in self.packs.iter().enumerate() {
            if packs.contains(p) {
                self.doomed[i] = true;
            }
        }
    }

    pub fn merge(&mut self, file: &IndexFile) {
        for IndexedPack {
            id,
            session,
            entries,
        } in &file.packs
        {
            self.add_pack(*id, *session, entries);
        }
    }

    pub fn from_files<'a>(
        files: impl IntoIterator<Item = &'a IndexFile> + Clone,
        doomed: &HashSet<FileId>,
    ) -> HashMapIndex {
        let mut index = HashMapIndex::default();
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
