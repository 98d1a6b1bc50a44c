//! Content-defined chunking: FastCDC-style gear hashing with normalized chunking (FastCDC 2020,
//! normalization level 2) over a gear table derived from a per-repository secret.
//!
//! The chunk boundaries are part of the repository format: the same secret, parameters and bytes
//! must give the same chunks in every version, or deduplication against older snapshots breaks.
//! The golden tests at the bottom of this file pin them. Never change the derivation, the masks
//! or the cut rule below; a new rule needs a new table context string and a format version.
//!
//! # Specification
//!
//! **Gear table.** `key = BLAKE3-derive_key(context = "hvelv 2026 gear table v1", secret)` with the
//! repository's 32-byte chunker secret; the first 2048 bytes of the keyed-BLAKE3 XOF of the empty
//! input (`blake3::Hasher::new_keyed(&key).finalize_xof()`) are read as 256 little-endian `u64`,
//! `G[0..256]`. Because the table is secret, boundaries of a known file cannot be precomputed
//! and matched against the chunk sizes an observer of the storage sees (this raises the bar for
//! fingerprinting; it is not a cryptographic guarantee against an attacker who can make the
//! repository back up chosen data).
//!
//! **Masks.** `b = log2(avg)` (`avg` is a power of two). `MASK_S` has `b + 2` one bits and
//! `MASK_L` has `b - 2`; the `k` one bits of a mask are bits `63 - k ..= 62`, i.e.
//! `MASK_k = ((1 << k) - 1) << (63 - k)`. With the default `avg` of 1 MiB (`b = 20`),
//! `MASK_S = 0x7fff_fe00_0000_0000` and `MASK_L = 0x7fff_e000_0000_0000`.
//! Why these bits: bit `j` of the gear hash depends only on the last `j + 1` bytes, so high bits
//! give every tested bit a window of at least `64 - k` bytes (42 bytes for `MASK_S` at the
//! default), where FastCDC's spread masks test bits as low as bit 12 (13-byte windows); bit 63
//! is left out so the two-bytes-at-a-time scan can test the hash shifted left by one exactly.
//! Both kinds of mask cost the same per byte.
//!
//! **Cut rule** for a chunk starting at `data[0]`, `n = data.len()`:
//! 1. if `n <= min`, the chunk is `n` bytes (only possible at the end of the stream);
//! 2. `end = min(n, max)`, `center = min(end, avg)`, `h = 0` (a `u64`, arithmetic mod 2^64);
//! 3. for `i` in `min..end`: `h = (h << 1) + G[data[i]]`; if `h & M == 0`, where `M = MASK_S`
//!    for `i < center` and `M = MASK_L` otherwise, the chunk is `i + 1` bytes;
//! 4. otherwise the chunk is `end` bytes.
//!
//! The first `min` bytes of a chunk are never hashed. So a chunk is `min + 1 ..= max` bytes
//! long, except the last chunk of a stream, which may be shorter (`1..=max`).
//!
//! **Parameters.** `avg` is a power of two and `64 KiB <= min < avg < max <= 64 MiB`; the default
//! is `512 KiB / 1 MiB / 8 MiB`. With the default, chunks average about 1.3 MiB on random data.

use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;

use bytes::Bytes;

use crate::error::{Error, Result};

/// BLAKE3 `derive_key` context for the gear table. Part of the format: never modify.
pub const GEAR_TABLE_CONTEXT: &str = "hvelv 2026 gear table v1";

const KIB: u32 = 1024;
const MIB: u32 = 1024 * KIB;

/// Chunk size bounds in bytes. See the [module documentation](self) for how they are used.
///
/// Invariant of a validated value ([`ChunkerParams::validate`]): `avg` is a power of two and
/// [`ChunkerParams::LOWEST_MIN`] `<= min < avg < max <=` [`ChunkerParams::HIGHEST_MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkerParams {
    /// No boundary is searched in the first `min` bytes of a chunk.
    pub min: u32,
    /// Target size; a power of two. Sets the masks and the switch from hard to easy mask.
    pub avg: u32,
    /// A chunk is cut at `max` bytes at the latest.
    pub max: u32,
}

impl ChunkerParams {
    /// 512 KiB / 1 MiB / 8 MiB.
    pub const DEFAULT: ChunkerParams = ChunkerParams {
        min: 512 * KIB,
        avg: MIB,
        max: 8 * MIB,
    };

    /// Smallest allowed `min`: 64 KiB. Smaller chunks make the index and per-blob overhead
    /// (id, pack entry, AEAD tag) large relative to the data.
    pub const LOWEST_MIN: u32 = 64 * KIB;

    /// Largest allowed `max`: 64 MiB. Bounds the memory of the chunk reader (about `2 * max`)
    /// and of every pipeline stage that holds whole chunks.
    pub const HIGHEST_MAX: u32 = 64 * MIB;

    /// Check the invariant above; the error says which bound is violated (InvalidInput).
    pub fn validate(&self) -> Result<()> {
        let ChunkerParams { min, avg, max } = *self;
        let fail = |why: String| {
            Err(Error::invalid(format!(
                "invalid chunker parameters min={min} avg={avg} max={max}: {why}"
            )))
        };
        if !avg.is_power_of_two() {
            return fail(format!("avg must be a power of two, e.g. {}", MIB));
        }
        if min < Self::LOWEST_MIN {
            return fail(format!(
                "min must be at least {} (64 KiB)",
                Self::LOWEST_MIN
            ));
        }
        if max > Self::HIGHEST_MAX {
            return fail(format!(
                "max must be at most {} (64 MiB)",
                Self::HIGHEST_MAX
            ));
        }
        if min >= avg {
            return fail("min must be smaller than avg".to_string());
        }
        if avg >= max {
            return fail("avg must be smaller than max".to_string());
        }
        Ok(())
    }
}

impl Default for ChunkerParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A content-defined chunker: the secret gear table, the masks and the size bounds.
///
/// Cheap to clone (the table is shared). [`Chunker::cut`] is pure: its result depends only on
/// the bytes given and on the secret and parameters the chunker was built from.
#[derive(Clone)]
pub struct Chunker {
    tables: Arc<GearTables>,
    mask_s: u64,
    mask_l: u64,
    min: usize,
    avg: usize,
    max: usize,
    params: ChunkerParams,
}

impl fmt::Debug for Chunker {
    /// Shows the parameters only: the gear table is derived from the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chunker")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Chunker {
    /// A chunker for validated `params` and the repository's chunker `secret`.
    pub fn new(params: ChunkerParams, secret: &[u8; 32]) -> Result<Chunker> {
        params.validate()?;
        Ok(Self::new_unchecked(params, secret))
    }

    /// Any parameters, even nonsensical ones (`cut` still never panics and never returns 0 for
    /// non-empty data). Only for tests with small chunks; user input goes through [`Chunker::new`].
    fn new_unchecked(params: ChunkerParams, secret: &[u8; 32]) -> Chunker {
        let bits = params.avg.checked_ilog2().unwrap_or(0);
        Chunker {
            tables: Arc::new(GearTables::new(gear_table(secret))),
            mask_s: mask_bits(bits + 2),
            mask_l: mask_bits(bits.saturating_sub(2)),
            min: params.min as usize,
            avg: params.avg as usize,
            max: (params.max as usize).max(1),
            params,
        }
    }

    /// The parameters this chunker was built with.
    pub fn params(&self) -> ChunkerParams {
        self.params
    }

    /// Length of the chunk starting at `data[0]`, by the cut rule of the module documentation.
    ///
    /// `data` must hold at least `max` bytes, or be the whole rest of the stream (then a return
    /// of `data.len()` is allowed). A result smaller than `data.len()` is final even when `data`
    /// is shorter than `max`: more data would not change it. Never returns 0 for non-empty data;
    /// returns 0 for empty data.
    pub fn cut(&self, data: &[u8]) -> usize {
        let n = data.len();
        if n <= self.min {
            return n;
        }
        let end = n.min(self.max);
        let start = self.min.min(end);
        let center = self.avg.max(start).min(end);
        let tables = &*self.tables;
        let mut h = 0u64;
        if let Some(i) = scan(tables, &mut h, &data[start..center], self.mask_s) {
            return start + i + 1;
        }
        if let Some(i) = scan(tables, &mut h, &data[center..end], self.mask_l) {
            return center + i + 1;
        }
        end
    }

    /// [`Chunker::cut`] of `data` when no cut ends at any of its first `scanned` bytes: after
    /// `cut(&data[..k])` returned `k` (fewer than `max` bytes, not the end of the stream), that
    /// holds for `scanned = k - 1` (the last byte may itself end a cut: `cut` returns `k` for
    /// that too). Scans only from `scanned` on, so a reader that refills its buffer does not
    /// search the same bytes again. Same result as `cut(data)`.
    ///
    /// The gear hash after a byte depends only on the 64 bytes up to it (each step shifts
    /// the state left by one), so the state at `scanned` is rebuilt from `data[scanned - 64..
    /// scanned]`; closer than that to where hashing starts (`min`), this falls back to `cut`.
    pub fn cut_from(&self, data: &[u8], scanned: usize) -> usize {
        let n = data.len();
        let end = n.min(self.max);
        let start = self.min.min(end);
        if n <= self.min || scanned < start + 64 || scanned >= end {
            return self.cut(data);
        }
        let center = self.avg.max(start).min(end);
        let tables = &*self.tables;
        let mut h = 0u64;
        for &b in &data[scanned - 64..scanned] {
            h = (h << 1).wrapping_add(tables.gear[b as usize]);
        }
        if scanned < center {
            if let Some(i) = scan(tables, &mut h, &data[scanned..center], self.mask_s) {
                return scanned + i + 1;
            }
            if let Some(i) = scan(tables, &mut h, &data[center..end], self.mask_l) {
                return center + i + 1;
            }
        } else if let Some(i) = scan(tables, &mut h, &data[scanned..end], self.mask_l) {
            return scanned + i + 1;
        }
        end
    }

    /// The chunks of an in-memory `data`, treated as a whole stream.
    pub fn chunks<'a>(&'a self, data: &'a [u8]) -> SliceChunks<'a> {
        SliceChunks {
            chunker: self,
            rest: data,
        }
    }
}

/// `k` ones in bits `63 - k ..= 62` (`k` clamped to 63): the top bits except bit 63.
fn mask_bits(k: u32) -> u64 {
    let k = k.min(63);
    (!0u64 >> 1) ^ (!0u64).checked_shr(k + 1).unwrap_or(0)
}

/// The gear table `G` and `G[i] << 1` for the two-bytes-at-a-time scan.
struct GearTables {
    gear: [u64; 256],
    gear_ls: [u64; 256],
}

impl GearTables {
    fn new(gear: [u64; 256]) -> Self {
        GearTables {
            gear,
            gear_ls: gear.map(|g| g << 1),
        }
    }
}

/// The gear table for `secret`, as specified in the module documentation.
fn gear_table(secret: &[u8; 32]) -> [u64; 256] {
    let key = blake3::derive_key(GEAR_TABLE_CONTEXT, secret);
    let mut bytes = [0u8; 256 * 8];
    blake3::Hasher::new_keyed(&key)
        .finalize_xof()
        .fill(&mut bytes);
    let mut table = [0u64; 256];
    for (entry, le) in table.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(le);
        *entry = u64::from_le_bytes(word);
    }
    table
}

/// Roll `h` over `data`; return the index of the first byte after which `h & mask == 0`.
///
/// FastCDC's "rolling two bytes each time": `y = (h << 2) + (G[a] << 1)` is the hash after
/// byte `a` shifted left once, so it is tested against `mask << 1` (exact because `mask` never
/// has bit 63 set), then `h = y + G[b]` is the hash after byte `b`. That is three dependent
/// operations per two bytes instead of four, and no bounds checks (`chunks_exact`, `u8` index).
#[inline(always)]
fn scan(tables: &GearTables, h: &mut u64, data: &[u8], mask: u64) -> Option<usize> {
    debug_assert_eq!(mask >> 63, 0);
    let (gear, gear_ls) = (&tables.gear, &tables.gear_ls);
    let mask_ls = mask << 1;
    let mut x = *h;
    let mut pairs = data.chunks_exact(2);
    for (k, pair) in pairs.by_ref().enumerate() {
        x = (x << 2).wrapping_add(gear_ls[pair[0] as usize]);
        if x & mask_ls == 0 {
            return Some(2 * k);
        }
        x = x.wrapping_add(gear[pair[1] as usize]);
        if x & mask == 0 {
            return Some(2 * k + 1);
        }
    }
    if let [last] = pairs.remainder() {
        x = (x << 1).wrapping_add(gear[*last as usize]);
        if x & mask == 0 {
            return Some(data.len() - 1);
        }
    }
    *h = x;
    None
}

/// Iterator over the chunks of an in-memory stream; see [`Chunker::chunks`].
#[derive(Clone)]
pub struct SliceChunks<'a> {
    chunker: &'a Chunker,
    rest: &'a [u8],
}

impl fmt::Debug for SliceChunks<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SliceChunks")
            .field("chunker", self.chunker)
            .field("rest_len", &self.rest.len())
            .finish()
    }
}

impl<'a> Iterator for SliceChunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let (chunk, rest) = self.rest.split_at(self.chunker.cut(self.rest));
        self.rest = rest;
        Some(chunk)
    }
}

/// Streams the chunks of a reader, with the same boundaries as [`Chunker::chunks`] over all of
/// its bytes, whatever sizes the reader's `read` calls return.
///
/// Holds one read buffer of at most `max` + [`READ_BLOCK`] bytes, reused for the whole file.
/// Each chunk is copied out of it into its own exact-size [`Bytes`]: a chunk that shared the
/// buffer would keep that allocation alive while it waits to be sealed and force the next
/// refill to allocate anew (44 MiB of read buffers at the peak of a 2 GiB backup, measured
/// with heaptrack; the copy costs one memcpy). I/O errors other than `Interrupted` are yielded
/// as they come; the buffered data is kept, so calling `next` again resumes reading.
pub struct ChunkReader<R: Read> {
    chunker: Chunker,
    reader: R,
    /// Initialized storage; the bytes read and not yet yielded are `buf[pos..end]`. Its length
    /// only grows, so a reused buffer is never zeroed again.
    buf: Vec<u8>,
    /// Start of the bytes not yet yielded.
    pos: usize,
    /// End of the bytes read.
    end: usize,
    /// How many bytes from `pos` are known to hold no cut (see [`Chunker::cut_from`]).
    scanned: usize,
    eof: bool,
    total_read: usize,
}

/// Largest single refill: bounds the read buffer at `max` + this. After a refill the search
/// for the next cut resumes where the last one stopped ([`Chunker::cut_from`]), so small
/// refills cost no rescanning.
pub const READ_BLOCK: usize = 2 * MIB as usize;

impl<R: Read> fmt::Debug for ChunkReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkReader")
            .field("chunker", &self.chunker)
            .field("buffered", &(self.end - self.pos))
            .field("eof", &self.eof)
            .field("total_read", &self.total_read)
            .finish_non_exhaustive()
    }
}

impl<R: Read> ChunkReader<R> {
    /// Chunk `reader` with (a cheap clone of) `chunker`.
    pub fn new(chunker: &Chunker, reader: R) -> Self {
        Self::with_buffer(chunker, reader, Vec::new())
    }

    /// Like [`ChunkReader::new`], reading into `buf` (from [`ChunkReader::into_buffer`] of an
    /// earlier reader): a backup reads thousands of files, and a fresh buffer for each cost
    /// page faults and zeroing.
    pub fn with_buffer(chunker: &Chunker, reader: R, buf: Vec<u8>) -> Self {
        ChunkReader {
            chunker: chunker.clone(),
            reader,
            buf,
            pos: 0,
            end: 0,
            scanned: 0,
            eof: false,
            total_read: 0,
        }
    }

    /// The reader back, with any bytes read but not yet yielded as chunks.
    pub fn into_inner(self) -> (R, Bytes) {
        (
            self.reader,
            Bytes::copy_from_slice(&self.buf[self.pos..self.end]),
        )
    }

    /// The read buffer, for [`ChunkReader::with_buffer`].
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// Read until `want` more bytes are buffered or the reader is at its end.
    ///
    /// `want` starts small (small files stay cheap) and grows with the bytes read so far up to
    /// [`READ_BLOCK`] (or `max` if smaller). The yielded bytes are dropped from the front first,
    /// so the buffer never holds more than `max` + `want`.
    fn fill(&mut self) -> io::Result<()> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        let block = self.chunker.max.min(READ_BLOCK);
        let first = block.min(64 * KIB as usize);
        let want = self.total_read.clamp(first, block);
        let start = self.end;
        if self.buf.len() < start + want {
            // Exact: amortized doubling would grow the buffer far past `max` + `READ_BLOCK`.
            self.buf.reserve_exact(start + want - self.buf.len());
            self.buf.resize(start + want, 0);
        }
        let mut filled = start;
        let result = loop {
            if filled == start + want {
                break Ok(());
            }
            match self.reader.read(&mut self.buf[filled..start + want]) {
                Ok(0) => {
                    self.eof = true;
                    break Ok(());
                }
                Ok(k) => filled += k.min(start + want - filled),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.total_read += filled - start;
        self.end = filled;
        result
    }
}

impl<R: Read> Iterator for ChunkReader<R> {
    type Item = io::Result<Bytes>;

    fn next(&mut self) -> Option<io::Result<Bytes>> {
        loop {
            let data = &self.buf[self.pos..self.end];
            let n = self.chunker.cut_from(data, self.scanned);
            // A cut before the end of the buffer is final (see `Chunker::cut`); a cut at the end
            // is final only with `max` bytes buffered or at the end of the stream.
            if n < data.len() || data.len() >= self.chunker.max || self.eof {
                if n == 0 {
                    return None;
                }
                let chunk = Bytes::copy_from_slice(&data[..n]);
                self.pos += n;
                self.scanned = 0;
                return Some(Ok(chunk));
            }
            // No cut ends before the last byte; one may end at it (see `cut_from`).
            self.scanned = data.len().saturating_sub(1);
            if let Err(e) = self.fill() {
                return Some(Err(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// splitmix64: a fixed generator, so golden data never changes with a crate version.
    struct SplitMix(u64);

    impl SplitMix {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
    }

    fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut rng = SplitMix(seed);
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&rng.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }

    fn lengths(chunker: &Chunker, data: &[u8]) -> Vec<usize> {
        chunker.chunks(data).map(<[u8]>::len).collect()
    }

    /// BLAKE3 of the chunk end offsets as u64 LE.
    fn boundary_hash(lens: &[usize]) -> String {
        let mut hasher = blake3::Hasher::new();
        let mut offset = 0u64;
        for &len in lens {
            offset += len as u64;
            hasher.update(&offset.to_le_bytes());
        }
        hasher.finalize().to_hex().to_string()
    }

    const SECRET: [u8; 32] = [7u8; 32];

    fn small_params() -> ChunkerParams {
        ChunkerParams {
            min: 256,
            avg: 1024,
            max: 8192,
        }
    }

    #[test]
    fn gear_table_is_pinned() {
        let table = gear_table(&SECRET);
        assert_eq!(table[..4], GOLDEN_GEAR[..]);
    }

    const GOLDEN_GEAR: [u64; 4] = [
        0xefee_d1ec_6bf9_0635,
        0x5622_c3ce_15cf_fb5b,
        0x2da7_b20e_639f_8af6,
        0xac44_eb64_ef1e_1870,
    ];

    #[test]
    fn masks_are_pinned() {
        let c = Chunker::new(ChunkerParams::DEFAULT, &SECRET).unwrap();
        assert_eq!(c.mask_s, 0x7fff_fe00_0000_0000);
        assert_eq!(c.mask_l, 0x7fff_e000_0000_0000);
        assert_eq!(mask_bits(0), 0);
        assert_eq!(mask_bits(1), 1 << 62);
        assert_eq!(mask_bits(63), !0u64 >> 1);
        assert_eq!(mask_bits(99), !0u64 >> 1);
    }

    #[test]
    fn golden_boundaries_64mib_random() {
        let data = random_bytes(0x0068_7665_6c76, 64 * MIB as usize);
        let chunker = Chunker::new(ChunkerParams::DEFAULT, &SECRET).unwrap();
        let lens = lengths(&chunker, &data);
        assert_eq!(lens.iter().sum::<usize>(), data.len());
        assert_eq!(lens[..20], GOLDEN_FIRST_20);
        assert_eq!(lens.len(), GOLDEN_COUNT);
        assert_eq!(boundary_hash(&lens), GOLDEN_BOUNDARY_HASH);
    }

    const GOLDEN_FIRST_20: [usize; 20] = [
        1271580, 1175992, 2355646, 1438132, 1160204, 1246442, 1095204, 1215948, 1127948, 1401634,
        1687407, 1856702, 1386463, 1272941, 1098401, 1269295, 1518625, 1290599, 2178132, 1351538,
    ];
    const GOLDEN_COUNT: usize = 53;
    const GOLDEN_BOUNDARY_HASH: &str =
        "a429fd44ffdd9535bfbc33f533a091907a21d53e03ef595144a591a49e7d6a22";

    /// The cut rule exactly as the module documentation states it, one byte at a time.
    fn reference_cut(secret: &[u8; 32], p: ChunkerParams, data: &[u8]) -> usize {
        let g = gear_table(secret);
        let (min, avg, max) = (p.min as usize, p.avg as usize, p.max as usize);
        let b = p.avg.ilog2();
        let mask = |k: u32| ((1u64 << k) - 1) << (63 - k);
        let n = data.len();
        if n <= min {
            return n;
        }
        let end = n.min(max);
        let center = end.min(avg);
        let mut h = 0u64;
        for (i, &byte) in data.iter().enumerate().take(end).skip(min) {
            h = (h << 1).wrapping_add(g[byte as usize]);
            let m = if i < center { mask(b + 2) } else { mask(b - 2) };
            if h & m == 0 {
                return i + 1;
            }
        }
        end
    }

    #[test]
    fn cut_matches_reference_on_default_params() {
        let chunker = Chunker::new(ChunkerParams::DEFAULT, &SECRET).unwrap();
        let mut data = random_bytes(8, 12 * MIB as usize);
        data[3 * MIB as usize..11 * MIB as usize].fill(b'x');
        let mut rest = &data[..];
        while !rest.is_empty() {
            let n = chunker.cut(rest);
            assert_eq!(n, reference_cut(&SECRET, ChunkerParams::DEFAULT, rest));
            rest = &rest[n..];
        }
    }

    #[test]
    fn other_secret_other_boundaries() {
        let data = random_bytes(1, 16 * MIB as usize);
        let a = Chunker::new(ChunkerParams::DEFAULT, &SECRET).unwrap();
        let b = Chunker::new(ChunkerParams::DEFAULT, &[8u8; 32]).unwrap();
        let (la, lb) = (lengths(&a, &data), lengths(&b, &data));
        assert_ne!(la, lb);
        assert_ne!(la[0], lb[0]);
    }

    #[test]
    fn short_data_is_one_chunk() {
        let chunker = Chunker::new(ChunkerParams::DEFAULT, &SECRET).unwrap();
        let min = ChunkerParams::DEFAULT.min as usize;
        for len in [1, 1000, min - 1, min] {
            let data = random_bytes(len as u64, len);
            assert_eq!(lengths(&chunker, &data), vec![len]);
        }
        assert_eq!(chunker.cut(&[]), 0);
        assert_eq!(chunker.chunks(&[]).count(), 0);
    }

    #[test]
    fn sizes_within_bounds() {
        let p = ChunkerParams::DEFAULT;
        let chunker = Chunker::new(p, &SECRET).unwrap();
        // Random data cuts by content; zeros cut at max (or always at the same place).
        let mut data = random_bytes(2, 24 * MIB as usize);
        data.extend(std::iter::repeat_n(0u8, 20 * MIB as usize));
        data.extend(random_bytes(3, 5 * MIB as usize));
        let lens = lengths(&chunker, &data);
        let (last, body) = lens.split_last().unwrap();
        for &len in body {
            assert!(len > p.min as usize && len <= p.max as usize, "{len}");
        }
        assert!(*last >= 1 && *last <= p.max as usize);
    }

    #[test]
    fn insertion_at_start_keeps_most_chunks() {
        let chunker = Chunker::new(ChunkerParams::DEFAULT, &SECRET).unwrap();
        let data = random_bytes(4, 32 * MIB as usize);
        let mut shifted = random_bytes(5, 100);
        shifted.extend_from_slice(&data);
        let before: std::collections::HashSet<&[u8]> = chunker.chunks(&data).collect();
        let kept: usize = chunker
            .chunks(&shifted)
            .filter(|c| before.contains(c))
            .map(<[u8]>::len)
            .sum();
        assert!(kept * 10 > data.len() * 9, "{kept} of {}", data.len());
    }

    #[test]
    fn validate_rejects_bad_params() {
        let ok = ChunkerParams::DEFAULT;
        ok.validate().unwrap();
        let bad = [
            ChunkerParams {
                avg: 1_000_000,
                ..ok
            },
            ChunkerParams { min: 1024, ..ok },
            ChunkerParams { min: ok.avg, ..ok },
            ChunkerParams { max: ok.avg, ..ok },
            ChunkerParams {
                max: 128 * MIB,
                ..ok
            },
            ChunkerParams {
                min: 0,
                avg: 0,
                max: 0,
            },
        ];
        for p in bad {
            let err = Chunker::new(p, &SECRET).unwrap_err();
            assert_eq!(err.kind(), crate::error::ErrorKind::InvalidInput, "{p:?}");
            assert!(
                err.message().starts_with("invalid chunker parameters"),
                "{err}"
            );
        }
        let err = ChunkerParams {
            avg: 1_000_000,
            ..ok
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            err.message(),
            "invalid chunker parameters min=524288 avg=1000000 max=8388608: \
             avg must be a power of two, e.g. 1048576"
        );
    }

    #[test]
    fn reader_matches_slices_on_default_params() {
        let chunker = Chunker::new(ChunkerParams::DEFAULT, &SECRET).unwrap();
        let data = random_bytes(6, 20 * MIB as usize + 12345);
        let want: Vec<&[u8]> = chunker.chunks(&data).collect();
        let got: Vec<Bytes> = ChunkReader::new(&chunker, &data[..])
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(got.len(), want.len());
        assert!(got.iter().zip(&want).all(|(g, w)| g[..] == w[..]));
    }

    #[test]
    fn reader_passes_errors_and_resumes() {
        struct Flaky<'a> {
            data: &'a [u8],
            calls: usize,
        }
        impl Read for Flaky<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                self.calls += 1;
                match self.calls % 5 {
                    0 => return Err(io::Error::other("flaky")),
                    1 => return Err(io::ErrorKind::Interrupted.into()),
                    _ => {}
                }
                let n = out.len().min(self.data.len()).min(3000);
                out[..n].copy_from_slice(&self.data[..n]);
                self.data = &self.data[n..];
                Ok(n)
            }
        }
        let chunker = Chunker::new_unchecked(small_params(), &SECRET);
        let data = random_bytes(7, 100_000);
        let reader = Flaky {
            data: &data,
            calls: 0,
        };
        let mut chunks = ChunkReader::new(&chunker, reader);
        let (mut got, mut errors) = (Vec::new(), 0);
        for item in chunks.by_ref() {
            match item {
                Ok(c) => got.extend_from_slice(&c),
                Err(e) => {
                    assert_eq!(e.to_string(), "flaky");
                    errors += 1;
                }
            }
        }
        assert!(errors > 0);
        assert_eq!(got, data);
    }

    /// Returns reads of the sizes in `sizes`, cycling; 0 sizes become 1.
    struct ShortReads<'a> {
        data: &'a [u8],
        sizes: Vec<usize>,
        next: usize,
    }

    impl Read for ShortReads<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let size = self.sizes[self.next % self.sizes.len()].max(1);
            self.next += 1;
            let n = size.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn boundaries_do_not_depend_on_read_sizes(
            seed in any::<u64>(),
            len in 0usize..60_000,
            sizes in proptest::collection::vec(
                prop_oneof![Just(1usize), 1usize..64, 1usize..20_000], 1..8),
            zeros in any::<bool>(),
        ) {
            let chunker = Chunker::new_unchecked(small_params(), &SECRET);
            let mut data = random_bytes(seed, len);
            if zeros {
                // Low-entropy runs exercise cuts at max.
                data[len / 3..len / 2].fill(0);
            }
            let want: Vec<&[u8]> = chunker.chunks(&data).collect();
            let reader = ShortReads { data: &data, sizes: sizes.clone(), next: 0 };
            let got: Vec<Bytes> =
                ChunkReader::new(&chunker, reader).collect::<io::Result<_>>().unwrap();
            prop_assert_eq!(got.len(), want.len());
            // A reused buffer (holding another file's bytes) gives the same chunks.
            let dirty = random_bytes(seed ^ 1, 70_000);
            let reader = ShortReads { data: &data, sizes, next: 0 };
            let mut r = ChunkReader::with_buffer(&chunker, reader, dirty);
            let again: Vec<Bytes> = r.by_ref().collect::<io::Result<_>>().unwrap();
            prop_assert_eq!(&again, &got);
            prop_assert!(r.into_buffer().len() >= 70_000);
            for (g, w) in got.iter().zip(&want) {
                prop_assert_eq!(&g[..], *w);
            }
            prop_assert_eq!(&want.concat(), &data);
            let p = small_params();
            if let Some((_, body)) = want.split_last() {
                for c in body {
                    prop_assert!(c.len() > p.min as usize && c.len() <= p.max as usize);
                }
            }
        }

        #[test]
        fn cut_from_resumes_exactly_like_cut(
            seed in any::<u64>(),
            len in 0usize..6_000,
            prefixes in proptest::collection::vec(0usize..6_000, 1..12),
            zeros in any::<bool>(),
        ) {
            let chunker = Chunker::new_unchecked(small_params(), &SECRET);
            let mut data = random_bytes(seed, len);
            if zeros {
                data[len / 3..len / 2].fill(0);
            }
            let want = chunker.cut(&data);
            for k in prefixes {
                let k = k.min(len);
                // Only a prefix that a reader would have scanned without finding a cut; its
                // last byte may end one.
                if k > 0 && chunker.cut(&data[..k]) == k && k < chunker.max {
                    prop_assert_eq!(chunker.cut_from(&data, k - 1), want, "prefix {}", k);
                }
            }
            prop_assert_eq!(chunker.cut_from(&data, 0), want);
        }

        #[test]
        fn cut_never_panics(
            min in prop_oneof![0u32..100, any::<u32>()],
            avg in prop_oneof![0u32..300, any::<u32>()],
            max in prop_oneof![0u32..3000, any::<u32>()],
            data in proptest::collection::vec(any::<u8>(), 0..4000),
        ) {
            let chunker = Chunker::new_unchecked(ChunkerParams { min, avg, max }, &SECRET);
            let n = chunker.cut(&data);
            prop_assert!(n <= data.len());
            prop_assert_eq!(n == 0, data.is_empty());
            let total: usize = chunker.chunks(&data).map(<[u8]>::len).sum();
            prop_assert_eq!(total, data.len());
        }

        #[test]
        fn cut_matches_reference(
            seed in any::<u64>(),
            len in 0usize..40_000,
            min in 0u32..2000,
            bits in 4u32..14,
            spread in 1u32..20_000,
        ) {
            let avg = 1u32 << bits;
            let p = ChunkerParams { min: min.min(avg - 1), avg, max: avg + spread };
            let chunker = Chunker::new_unchecked(p, &SECRET);
            let data = random_bytes(seed, len);
            let mut rest = &data[..];
            while !rest.is_empty() {
                let n = chunker.cut(rest);
                prop_assert_eq!(n, reference_cut(&SECRET, p, rest));
                rest = &rest[n..];
            }
        }

        #[test]
        fn cut_of_prefix_is_final(seed in any::<u64>(), len in 0usize..20_000, extra in 0usize..10_000) {
            // The ChunkReader relies on this: a cut before the end of a prefix stands.
            let chunker = Chunker::new_unchecked(small_params(), &SECRET);
            let data = random_bytes(seed, len + extra);
            let n = chunker.cut(&data[..len]);
            if n < len {
                prop_assert_eq!(chunker.cut(&data), n);
            }
        }
    }
}
