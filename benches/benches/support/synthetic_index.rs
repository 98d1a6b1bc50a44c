//! Synthetic index contents shared by `benches/index.rs` and `benches/index_memory.rs`:
//! packs of the default 16 MiB holding `per_pack` data blobs with random ids and the lengths
//! of 1 MiB average chunks (plaintext 512 KiB to 2 MiB, half compressed about 2:1). A new
//! session key every [`PACKS_PER_SESSION`] packs, as each backup run seals with its own.

use hvelv_engine::blob::BlobType;
use hvelv_engine::index::IndexedPack;
use hvelv_engine::pack::PackEntry;
use hvelv_engine::{BlobId, FileId};
use rand::rngs::SmallRng;
use rand::{Rng, RngCore, SeedableRng};

/// Sealing overhead per blob: nonce, flag byte, tag.
const OVERHEAD: u32 = 12 + 1 + 16;

/// Packs one backup run writes: 256 MiB of new data a night, pessimistically small (more
/// sessions per blob).
pub const PACKS_PER_SESSION: usize = 16;

/// An endless, seeded stream of synthetic packs.
pub struct SyntheticPacks {
    rng: SmallRng,
    per_pack: usize,
    packs: usize,
    session: [u8; 32],
}

impl SyntheticPacks {
    pub fn new(seed: u64, per_pack: usize) -> Self {
        SyntheticPacks {
            rng: SmallRng::seed_from_u64(seed),
            per_pack,
            packs: 0,
            session: [0; 32],
        }
    }

    /// A random 32-byte id.
    pub fn id(&mut self) -> [u8; 32] {
        let mut id = [0u8; 32];
        self.rng.fill_bytes(&mut id);
        id
    }

    /// The next pack: its id, session and entries in offset order.
    pub fn next_pack(&mut self) -> IndexedPack {
        if self.packs.is_multiple_of(PACKS_PER_SESSION) {
            self.session = self.id();
        }
        self.packs += 1;
        let pack = FileId(self.id());
        let mut offset = 0u32;
        let entries = (0..self.per_pack)
            .map(|_| {
                let raw_length = self.rng.gen_range(512 << 10..2 << 20);
                let length = if self.rng.gen() {
                    raw_length / 2 + OVERHEAD
                } else {
                    raw_length + OVERHEAD
                };
                let e = PackEntry {
                    ty: BlobType::Data,
                    id: BlobId(self.id()),
                    offset,
                    length,
                    raw_length,
                };
                offset = offset.wrapping_add(length);
                e
            })
            .collect();
        IndexedPack {
            id: pack,
            session: self.session,
            entries,
        }
    }
}
