//! The index's per-pack table: what it keeps about each pack, by position, and the lookup
//! from pack id to position.
//!
//! Positions are handed out in the order packs are first added and never change, so a
//! [`super::Location`] stays valid in a clone that has more packs. At 16 blobs per pack this
//! costs about 2.5 bytes per blob: 36 bytes of [`PackInfo`] and 4–8 bytes of lookup slots per
//! pack. The session that sealed a pack (32 bytes) is shared by every pack one backup writes,
//! so it is kept in a session table and a pack holds its number there. Packs arrive grouped
//! by session (one backup's packs are listed together), so a pack whose session is the last
//! one added reuses that entry; a session seen again later is stored again, which costs 32
//! bytes and no correctness (a map from key to number would cost more than it saves).

use std::collections::HashSet;

use crate::crypto::SESSION_KEY_LEN;
use crate::id::FileId;

/// Bit of [`PackInfo::meta`] that marks a pack pending deletion.
const DOOMED: u32 = 1 << 31;

/// What the index keeps per pack. A new per-pack field goes here (and into
/// [`PackTable::insert`]'s initial value); positions, lookup and cloning need no change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PackInfo {
    pub(super) id: FileId,
    /// Number of the pack's session in [`PackTable`]'s session table (low 31 bits), and
    /// [`DOOMED`]: pending deletion by prune (see [`crate::gc`]).
    meta: u32,
}

impl PackInfo {
    /// Pending deletion by prune.
    pub(super) fn doomed(&self) -> bool {
        self.meta & DOOMED != 0
    }

    fn session(&self) -> usize {
        (self.meta & !DOOMED) as usize
    }
}

/// Packs by position, with an open-addressing table (linear probing) from pack id to
/// position. Invariant: `slots` is empty or a power of two at most 3/4 full; a slot holds
/// position + 1, 0 when free. Packs are never removed. Every pack's session number is an
/// index of `sessions`.
#[derive(Debug, Clone, Default)]
pub(super) struct PackTable {
    packs: Vec<PackInfo>,
    slots: Vec<u32>,
    sessions: Vec<[u8; SESSION_KEY_LEN]>,
}

/// Pack ids are BLAKE3 hashes: eight of their bytes are a good hash already.
fn hash(id: &FileId) -> usize {
    let mut b = [0u8; 8];
    b.copy_from_slice(&id.0[..8]);
    u64::from_le_bytes(b) as usize
}

impl PackTable {
    pub(super) fn len(&self) -> usize {
        self.packs.len()
    }

    /// The pack at `pos`, if there is one.
    pub(super) fn get(&self, pos: u32) -> Option<&PackInfo> {
        self.packs.get(pos as usize)
    }

    /// Position of a pack.
    pub(super) fn position(&self, id: &FileId) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = hash(id) & mask;
        loop {
            match self.slots[i] {
                0 => return None,
                s if self.packs[(s - 1) as usize].id == *id => return Some(s - 1),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// The public key of the session that sealed the pack at `pos`.
    pub(super) fn session(&self, pos: u32) -> Option<[u8; SESSION_KEY_LEN]> {
        let p = self.packs.get(pos as usize)?;
        self.sessions.get(p.session()).copied()
    }

    /// Position of a pack sealed by `session`, added at the end if new (a pack already
    /// indexed keeps its session: the same id means the same bytes).
    pub(super) fn insert(&mut self, id: FileId, session: [u8; SESSION_KEY_LEN]) -> u32 {
        if let Some(pos) = self.position(&id) {
            return pos;
        }
        if self.sessions.last() != Some(&session) {
            self.sessions.push(session);
        }
        // At most one session per pack, and packs are far fewer than 2^31: the number stays
        // below the flag bit.
        let meta = (self.sessions.len() - 1) as u32;
        if (self.packs.len() + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        // Positions are u32 in every location; 2^32 packs would need 140 GB for this table.
        let pos = self.packs.len() as u32;
        self.packs.push(PackInfo { id, meta });
        self.place(&id, pos);
        pos
    }

    fn place(&mut self, id: &FileId, pos: u32) {
        let mask = self.slots.len() - 1;
        let mut i = hash(id) & mask;
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = pos + 1;
    }

    fn grow(&mut self) {
        self.slots = vec![0; (self.slots.len() * 2).max(16)];
        for pos in 0..self.packs.len() {
            let id = self.packs[pos].id;
            self.place(&id, pos as u32);
        }
    }

    /// Mark the packs in `ids` as pending deletion.
    pub(super) fn mark_doomed(&mut self, ids: &HashSet<FileId>) {
        for p in &mut self.packs {
            if ids.contains(&p.id) {
                p.meta |= DOOMED;
            }
        }
    }

    /// Release spare capacity.
    pub(super) fn shrink_to_fit(&mut self) {
        self.packs.shrink_to_fit();
        self.sessions.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_stable_and_found() {
        let mut t = PackTable::default();
        // Ids that collide in the first eight bytes probe past each other.
        let ids: Vec<FileId> = (0..1000u32)
            .map(|i| {
                let mut id = [(i % 3) as u8; 32];
                id[28..].copy_from_slice(&i.to_le_bytes());
                FileId(id)
            })
            .collect();
        // Seven sessions, each for a run of consecutive packs.
        let session = |i: usize| [(i / 143) as u8; SESSION_KEY_LEN];
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(t.insert(*id, session(i)), i as u32);
        }
        for (i, id) in ids.iter().enumerate() {
            // A second insert finds the pack and keeps its first session.
            assert_eq!(t.insert(*id, [0xff; SESSION_KEY_LEN]), i as u32);
            assert_eq!(t.session(i as u32), Some(session(i)));
            assert_eq!(t.position(id), Some(i as u32));
            assert_eq!(t.get(i as u32).map(|p| p.id), Some(*id));
        }
        assert_eq!(t.len(), 1000);
        assert_eq!(
            t.sessions.len(),
            7,
            "a run of packs shares one session entry"
        );
        assert_eq!(t.session(1000), None);
        assert_eq!(t.position(&FileId([9; 32])), None);
        assert_eq!(PackTable::default().position(&ids[0]), None);
        t.mark_doomed(&[ids[3]].into());
        assert!(t.get(3).is_some_and(|p| p.doomed()));
        assert!(t.get(4).is_some_and(|p| !p.doomed()));
        assert_eq!(t.session(3), Some(session(3)), "dooming keeps the session");
    }
}
