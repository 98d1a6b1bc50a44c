//! The sorted blob table: every indexed blob id once, in id order, in 45 bytes per blob.
//!
//! Blob ids are keyed BLAKE3 hashes, uniformly distributed, and the table relies on it twice:
//!
//! * the first two id bytes select one of 2^16 buckets (`starts`, 512 KiB), so a record keeps
//!   only the other 30 bytes of its id;
//! * inside a bucket a lookup guesses the position from the next eight id bytes
//!   (interpolation), then scans from the guess: with 10 M entries a bucket holds about 150
//!   records and the guess is off by about √150 / 2 ≈ 6, so a lookup reads a few adjacent
//!   cache lines instead of the eight scattered ones a binary search needs.
//!
//! A record's location is bit-packed into 15 bytes (little-endian `u128`, low 120 bits):
//!
//! | bits | field |
//! |---|---|
//! | 0–30 | pack position (31 bits; [`WIDE_PACK`] is reserved) |
//! | 31 | blob type (0 data, 1 tree) |
//! | 32–61 | offset in the pack (30 bits) |
//! | 62–90 | sealed length (29 bits) |
//! | 91–119 | plaintext length (29 bits) |
//!
//! Packs are at most 512 MiB and chunks a few MiB, so real locations fit. A location that does
//! not (a corrupt index file, a huge tree blob) is stored with the pack [`WIDE_PACK`] and
//! its full [`Location`] lives in a side map owned by [`super::Index`]: the table still holds
//! every id exactly once, which keeps "first copy wins" a property of the sort alone.

use std::cmp::Ordering;

use crate::blob::BlobType;
use crate::id::BlobId;

use super::Location;

const BUCKETS: usize = 1 << 16;
const TAIL: usize = 30;
const LOC: usize = 15;

/// Pack value marking a record whose location is kept in the index's side map.
pub(super) const WIDE_PACK: u32 = (1 << 31) - 1;
const OFFSET_BITS: u32 = 30;
const LENGTH_BITS: u32 = 29;

/// One blob: the id without its bucket bytes, and the packed location.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Record {
    tail: [u8; TAIL],
    loc: [u8; LOC],
}

const ZERO: Record = Record {
    tail: [0; TAIL],
    loc: [0; LOC],
};

/// A packed location, or the marker that the location is in the side map.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct PackedLoc([u8; LOC]);

impl PackedLoc {
    /// The marker for a location kept in the side map.
    pub(super) const WIDE: PackedLoc = {
        let mut b = [0u8; LOC];
        let v = WIDE_PACK.to_le_bytes();
        b[0] = v[0];
        b[1] = v[1];
        b[2] = v[2];
        b[3] = v[3];
        PackedLoc(b)
    };

    /// Pack `l`, or `None` when a field is outside its bit range.
    pub(super) fn new(l: &Location) -> Option<PackedLoc> {
        if l.pack >= WIDE_PACK
            || l.offset >> OFFSET_BITS != 0
            || l.length >> LENGTH_BITS != 0
            || l.raw_length >> LENGTH_BITS != 0
        {
            return None;
        }
        let ty = match l.ty {
            BlobType::Data => 0u128,
            BlobType::Tree => 1,
        };
        let v = u128::from(l.pack)
            | ty << 31
            | u128::from(l.offset) << 32
            | u128::from(l.length) << 62
            | u128::from(l.raw_length) << 91;
        let mut b = [0u8; LOC];
        b.copy_from_slice(&v.to_le_bytes()[..LOC]);
        Some(PackedLoc(b))
    }

    /// The location, or `None` for [`PackedLoc::WIDE`].
    pub(super) fn get(self) -> Option<Location> {
        let mut b = [0u8; 16];
        b[..LOC].copy_from_slice(&self.0);
        let v = u128::from_le_bytes(b);
        let field = |shift: u32, bits: u32| ((v >> shift) & ((1u128 << bits) - 1)) as u32;
        let pack = field(0, 31);
        if pack == WIDE_PACK {
            return None;
        }
        Some(Location {
            pack,
            ty: if field(31, 1) == 0 {
                BlobType::Data
            } else {
                BlobType::Tree
            },
            offset: field(32, OFFSET_BITS),
            length: field(62, LENGTH_BITS),
            raw_length: field(91, LENGTH_BITS),
        })
    }
}

fn bucket(id: &BlobId) -> usize {
    usize::from(id.0[0]) << 8 | usize::from(id.0[1])
}

fn tail(id: &BlobId) -> &[u8; TAIL] {
    id.0[2..]
        .try_into()
        .unwrap_or_else(|_| unreachable!("32 - 2 bytes"))
}

/// Sorted, bucketed records. Invariants: `starts` is empty (no records) or has `BUCKETS + 1`
/// non-decreasing entries from 0 to `records.len()`; bucket `b` is `records[starts[b]..
/// starts[b + 1]]`, sorted by tail without duplicates.
#[derive(Clone, Default)]
pub(super) struct Table {
    starts: Vec<usize>,
    records: Vec<Record>,
}

impl Table {
    /// Number of records.
    pub(super) fn len(&self) -> usize {
        self.records.len()
    }

    /// The packed location of `id`.
    pub(super) fn get(&self, id: &BlobId) -> Option<PackedLoc> {
        let b = bucket(id);
        let (lo, hi) = (*self.starts.get(b)?, self.starts[b + 1]);
        let recs = &self.records[lo..hi];
        find(recs, tail(id)).map(|i| PackedLoc(recs[i].loc))
    }

    /// Every id and packed location, in id order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (BlobId, PackedLoc)> + '_ {
        self.starts.windows(2).enumerate().flat_map(move |(b, w)| {
            self.records[w[0]..w[1]].iter().map(move |r| {
                let mut id = [0u8; 32];
                id[0] = (b >> 8) as u8;
                id[1] = b as u8;
                id[2..].copy_from_slice(&r.tail);
                (BlobId(id), PackedLoc(r.loc))
            })
        })
    }

    /// Insert ids that are not in the table yet, merging in place: the records grow by
    /// `new.len()` (a `realloc`, which moves no pages for a large block on Linux) and the old
    /// records move up from the back, so the peak is the final size.
    pub(super) fn insert_new(&mut self, mut new: Vec<(BlobId, PackedLoc)>) {
        if new.is_empty() {
            return;
        }
        new.sort_unstable_by_key(|e| e.0);
        if self.starts.is_empty() {
            self.starts = vec![0; BUCKETS + 1];
        }
        let n = self.records.len();
        let k = new.len();
        self.records.reserve_exact(k);
        self.records.resize(n + k, ZERO);
        // Backward merge: `i` old records and `j` new ones are left, written down from `w`.
        let (mut i, mut j, mut w) = (n, k, n + k);
        let mut b = BUCKETS - 1;
        while j > 0 {
            let (id, loc) = &new[j - 1];
            let take_old = i > 0 && {
                while self.starts[b] > i - 1 {
                    b -= 1;
                }
                (b, &self.records[i - 1].tail) > (bucket(id), tail(id))
            };
            w -= 1;
            if take_old {
                i -= 1;
                self.records[w] = self.records[i];
            } else {
                j -= 1;
                self.records[w] = Record {
                    tail: *tail(id),
                    loc: loc.0,
                };
            }
        }
        // Every bucket start moves up by the number of new ids in lower buckets.
        let mut added = vec![0usize; BUCKETS];
        for (id, _) in &new {
            added[bucket(id)] += 1;
        }
        let mut below = 0;
        for (s, a) in self.starts.iter_mut().zip(added.iter().chain([&0])) {
            *s += below;
            below += a;
        }
    }

    /// Release spare capacity.
    pub(super) fn shrink_to_fit(&mut self) {
        self.records.shrink_to_fit();
    }
}

/// The first eight tail bytes as a big-endian number: comparing two of them orders tails as
/// their first eight bytes do, without a `memcmp` call.
fn prefix(t: &[u8; TAIL]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&t[..8]);
    u64::from_le_bytes(b).swap_bytes()
}

/// `t` against the key whose [`prefix`] is `kp`.
fn cmp_tail(t: &[u8; TAIL], kp: u64, key: &[u8; TAIL]) -> Ordering {
    match prefix(t).cmp(&kp) {
        Ordering::Equal => t[8..].cmp(&key[8..]),
        o => o,
    }
}

/// Records a lookup steps through one by one from its guess before it falls back to a binary
/// search: the guess is off by about √n / 2 for uniform ids (2 at 16 records per bucket, 6 at
/// 150), so a short scan finishes almost every lookup in one or two cache lines, with one
/// mispredicted branch where a binary search would take several.
const SCAN: usize = 8;

/// Position of `key` in the sorted `recs`: interpolate from the key's next eight bytes, scan
/// towards the key, and binary-search what is left if the scan did not get there (ids that are
/// not uniform, which keyed hashes are not).
fn find(recs: &[Record], key: &[u8; TAIL]) -> Option<usize> {
    let n = recs.len();
    if n == 0 {
        return None;
    }
    let kp = prefix(key);
    let guess = ((u128::from(kp) * n as u128) >> 64) as usize;
    let (lo, hi) = match cmp_tail(&recs[guess].tail, kp, key) {
        Ordering::Equal => return Some(guess),
        Ordering::Less => {
            let end = n.min(guess + 1 + SCAN);
            for (i, r) in recs.iter().enumerate().take(end).skip(guess + 1) {
                match cmp_tail(&r.tail, kp, key) {
                    Ordering::Less => {}
                    Ordering::Equal => return Some(i),
                    Ordering::Greater => return None,
                }
            }
            (end, n)
        }
        Ordering::Greater => {
            let start = guess.saturating_sub(SCAN);
            for i in (start..guess).rev() {
                match cmp_tail(&recs[i].tail, kp, key) {
                    Ordering::Greater => {}
                    Ordering::Equal => return Some(i),
                    Ordering::Less => return None,
                }
            }
            (0, start)
        }
    };
    recs[lo..hi]
        .binary_search_by(|r| cmp_tail(&r.tail, kp, key))
        .ok()
        .map(|i| lo + i)
}

/// Builds a table from ids in preference order (the first of duplicate ids wins) in the
/// table's own memory: a counting sort by bucket, then a stable sort and a de-duplication of
/// each bucket. Knowing the count per bucket up front, it allocates once, exactly.
pub(super) struct Builder {
    starts: Vec<usize>,
    /// Next free slot per bucket.
    fill: Vec<usize>,
    records: Vec<Record>,
}

impl Builder {
    /// A builder for the ids that `counts` counts per bucket (see [`Builder::count`]).
    pub(super) fn new(counts: &BucketCounts) -> Builder {
        let mut starts = Vec::with_capacity(BUCKETS + 1);
        let mut total = 0;
        for c in &counts.0 {
            starts.push(total);
            total += c;
        }
        starts.push(total);
        Builder {
            fill: starts[..BUCKETS].to_vec(),
            starts,
            records: vec![ZERO; total],
        }
    }

    /// Add an id. Adding more ids to a bucket than were counted drops the extra ones (a
    /// caller bug the tests catch through the length).
    pub(super) fn push(&mut self, id: &BlobId, loc: PackedLoc) {
        let b = bucket(id);
        let slot = self.fill[b];
        if slot < self.starts[b + 1] {
            self.records[slot] = Record {
                tail: *tail(id),
                loc: loc.0,
            };
            self.fill[b] += 1;
        }
    }

    /// Sort and de-duplicate each bucket, close the gaps and return the table.
    pub(super) fn finish(mut self) -> Table {
        let mut w = 0;
        for b in 0..BUCKETS {
            let (s, e) = (self.starts[b], self.fill[b]);
            // Stable: of equal tails the first pushed stays first and is kept.
            self.records[s..e].sort_by_key(|r| r.tail);
            self.starts[b] = w;
            for i in s..e {
                if w > self.starts[b] && self.records[w - 1].tail == self.records[i].tail {
                    continue;
                }
                self.records[w] = self.records[i];
                w += 1;
            }
        }
        self.starts[BUCKETS] = w;
        self.records.truncate(w);
        self.records.shrink_to_fit();
        if w == 0 {
            return Table::default();
        }
        Table {
            starts: self.starts,
            records: self.records,
        }
    }
}

/// Ids per bucket, the first pass of [`Builder`].
pub(super) struct BucketCounts(Vec<usize>);

impl BucketCounts {
    pub(super) fn new() -> BucketCounts {
        BucketCounts(vec![0; BUCKETS])
    }

    pub(super) fn count(&mut self, id: &BlobId) {
        self.0[bucket(id)] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(pack: u32, offset: u32, length: u32, raw_length: u32, ty: BlobType) -> Location {
        Location {
            pack,
            offset,
            length,
            raw_length,
            ty,
        }
    }

    #[test]
    fn packed_locations_round_trip_at_their_limits() {
        let max = |bits: u32| (1u32 << bits) - 1;
        for l in [
            loc(0, 0, 0, 0, BlobType::Data),
            loc(WIDE_PACK - 1, max(30), max(29), max(29), BlobType::Tree),
            loc(12345, 1 << 29, 1 << 28, 77, BlobType::Data),
        ] {
            assert_eq!(PackedLoc::new(&l).and_then(PackedLoc::get), Some(l));
        }
        for l in [
            loc(WIDE_PACK, 0, 0, 0, BlobType::Data),
            loc(u32::MAX, 0, 0, 0, BlobType::Data),
            loc(0, 1 << 30, 0, 0, BlobType::Data),
            loc(0, 0, 1 << 29, 0, BlobType::Data),
            loc(0, 0, 0, 1 << 29, BlobType::Tree),
        ] {
            assert_eq!(PackedLoc::new(&l), None, "{l:?}");
        }
        assert_eq!(PackedLoc::WIDE.get(), None);
    }

    /// Ids spread like keyed hashes, plus runs that share long prefixes (one bucket, equal
    /// interpolation keys) so every branch of `find` is taken.
    fn ids(n: usize) -> Vec<BlobId> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..n)
            .map(|i| {
                let mut id = [0u8; 32];
                for c in id.chunks_mut(8) {
                    c.copy_from_slice(&next().to_le_bytes());
                }
                if i % 7 == 0 {
                    id[..12].fill(0xab);
                }
                BlobId(id)
            })
            .collect()
    }

    #[test]
    fn built_and_merged_tables_find_every_id_and_nothing_else() {
        let all = ids(30_000);
        let (first, second) = all.split_at(20_000);
        let packed =
            |i: usize| PackedLoc::new(&loc(i as u32, 0, 1, 2, BlobType::Data)).expect("fits");
        let mut counts = BucketCounts::new();
        first.iter().for_each(|id| counts.count(id));
        let mut b = Builder::new(&counts);
        for (i, id) in first.iter().enumerate() {
            b.push(id, packed(i));
        }
        let mut t = b.finish();
        t.insert_new(
            second
                .iter()
                .enumerate()
                .map(|(i, id)| (*id, packed(20_000 + i)))
                .collect(),
        );
        assert_eq!(t.len(), all.len());
        for (i, id) in all.iter().enumerate() {
            assert_eq!(t.get(id), Some(packed(i)), "id {i}");
            let mut other = *id;
            other.0[31] ^= 1;
            assert_eq!(t.get(&other), None);
        }
        let listed: Vec<BlobId> = t.iter().map(|(id, _)| id).collect();
        let mut sorted = all.clone();
        sorted.sort_unstable();
        assert_eq!(listed, sorted);
    }

    #[test]
    fn builder_keeps_the_first_of_duplicate_ids() {
        let id = BlobId([5; 32]);
        let mut counts = BucketCounts::new();
        (0..3).for_each(|_| counts.count(&id));
        let mut b = Builder::new(&counts);
        for p in [7, 8, 9] {
            b.push(
                &id,
                PackedLoc::new(&loc(p, 0, 0, 0, BlobType::Data)).expect("fits"),
            );
        }
        let t = b.finish();
        assert_eq!(t.len(), 1);
        assert_eq!(t.get(&id).and_then(PackedLoc::get).map(|l| l.pack), Some(7));
    }
}
