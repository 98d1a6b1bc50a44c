//! Pack files: many sealed blobs followed by an encrypted header listing them.
//!
//! ```text
//! [sealed blob 0][sealed blob 1]...[sealed header][header_len: u32 LE][version: u16 LE]["HVELVPAK"]
//! ```
//! The header plaintext is `version u8 = 1, count u32, count × (type u8, id [32], length u32,
//! raw_length u32)`; blob offsets are the running sum of lengths from 0. It is sealed with
//! associated data `"hvelv pack header v1"`. A pack's file name is the BLAKE3 hash of its bytes.
//! Building a pack is I/O-free: [`PackBuilder`] returns bytes for the backend to store.

use crate::blob::BlobType;
use crate::crypto::Sealer;
use crate::error::{Error, ErrorKind, Result};
use crate::format::codec::{Reader, Writer};
use crate::id::{BlobId, FileId};

/// Trailing magic of every pack file.
pub const PACK_MAGIC: &[u8; 8] = b"HVELVPAK";
/// Pack format version.
pub const PACK_VERSION: u16 = 1;
/// Bytes of the trailer (`header_len`, version, magic).
pub const TRAILER_LEN: usize = 4 + 2 + 8;
const HEADER_AAD: &[u8] = b"hvelv pack header v1";
const ENTRY_LEN: usize = 1 + 32 + 4 + 4;

/// One blob inside a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackEntry {
    /// Blob type.
    pub ty: BlobType,
    /// Blob id.
    pub id: BlobId,
    /// Offset of the sealed blob in the pack.
    pub offset: u32,
    /// Length of the sealed blob.
    pub length: u32,
    /// Length of the plaintext.
    pub raw_length: u32,
}

/// Accumulates sealed blobs into one pack. Pure: no I/O.
#[derive(Debug, Default)]
pub struct PackBuilder {
    buf: Vec<u8>,
    entries: Vec<PackEntry>,
}

/// A finished pack: its id, bytes and contents.
#[derive(Debug)]
pub struct FinishedPack {
    /// BLAKE3 of `bytes`, the file name.
    pub id: FileId,
    /// The complete pack file.
    pub bytes: Vec<u8>,
    /// The blobs in it.
    pub entries: Vec<PackEntry>,
}

impl PackBuilder {
    /// An empty pack with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        PackBuilder {
            buf: Vec::with_capacity(capacity),
            entries: Vec::new(),
        }
    }
    /// Append a sealed blob.
    pub fn add(&mut self, ty: BlobType, id: BlobId, raw_length: u32, sealed: &[u8]) {
        self.entries.push(PackEntry {
            ty,
            id,
            offset: self.buf.len() as u32,
            length: sealed.len() as u32,
            raw_length,
        });
        self.buf.extend_from_slice(sealed);
    }
    /// Bytes of blob data so far.
    pub fn size(&self) -> usize {
        self.buf.len()
    }
    /// Number of blobs so far.
    pub fn count(&self) -> usize {
        self.entries.len()
    }
    /// Append the sealed header and trailer.
    pub fn finish(mut self, sealer: &Sealer) -> Result<FinishedPack> {
        let mut h = Writer::with_capacity(5 + self.entries.len() * ENTRY_LEN);
        h.u8(1).u32(self.entries.len() as u32);
        for e in &self.entries {
            h.u8(e.ty as u8)
                .raw(&e.id.0)
                .u32(e.length)
                .u32(e.raw_length);
        }
        let sealed = sealer.seal(HEADER_AAD, &h.finish())?;
        self.buf.extend_from_slice(&sealed);
        let mut t = Writer::with_capacity(TRAILER_LEN);
        t.u32(sealed.len() as u32).u16(PACK_VERSION).raw(PACK_MAGIC);
        self.buf.extend_from_slice(&t.finish());
        Ok(FinishedPack {
            id: FileId::of(&self.buf),
            bytes: self.buf,
            entries: self.entries,
        })
    }
}

/// Parse a pack trailer (the last [`TRAILER_LEN`] bytes): the sealed header's length.
pub fn parse_trailer(trailer: &[u8], pack_len: u64) -> Result<u32> {
    let mut r = Reader::new(trailer, "pack trailer");
    let len = r.u32()?;
    let v = r.u16()?;
    if r.take(8)? != PACK_MAGIC {
        return Err(Error::corrupt(
            "pack trailer has a bad magic (not a hvelv pack or truncated)",
        ));
    }
    if v != PACK_VERSION {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("pack version {v} is not supported (this build reads {PACK_VERSION})"),
        ));
    }
    if u64::from(len) + TRAILER_LEN as u64 > pack_len {
        return Err(Error::corrupt("pack header length exceeds the pack size"));
    }
    Ok(len)
}

/// Decrypt and parse a pack header; checks that the blobs exactly fill the space before it.
pub fn parse_header(sealer: &Sealer, sealed: &[u8], data_len: u64) -> Result<Vec<PackEntry>> {
    let plain = sealer.open(HEADER_AAD, sealed, &"pack header")?;
    let mut r = Reader::new(&plain, "pack header");
    let v = r.u8()?;
    if v != 1 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("pack header version {v}"),
        ));
    }
    let n = r.count(ENTRY_LEN)?;
    let mut entries = Vec::with_capacity(n);
    let mut offset: u64 = 0;
    for _ in 0..n {
        let ty = BlobType::from_u8(r.u8()?)?;
        let id = BlobId(r.array()?);
        let length = r.u32()?;
        let raw_length = r.u32()?;
        entries.push(PackEntry {
            ty,
            id,
            offset: offset as u32,
            length,
            raw_length,
        });
        offset += u64::from(length);
    }
    r.end()?;
    if offset != data_len {
        return Err(Error::corrupt(format!(
            "pack header lists {offset} bytes of blobs but the pack holds {data_len}"
        )));
    }
    Ok(entries)
}

/// Parse the header of a complete pack held in memory.
pub fn read_header(sealer: &Sealer, pack: &[u8]) -> Result<Vec<PackEntry>> {
    if pack.len() < TRAILER_LEN {
        return Err(Error::corrupt(format!(
            "pack is only {} bytes (truncated)",
            pack.len()
        )));
    }
    let t = &pack[pack.len() - TRAILER_LEN..];
    let hl = parse_trailer(t, pack.len() as u64)? as usize;
    let hstart = pack.len() - TRAILER_LEN - hl;
    parse_header(
        sealer,
        &pack[hstart..pack.len() - TRAILER_LEN],
        hstart as u64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::KeySet;

    fn sample(keys: &KeySet) -> FinishedPack {
        let mut b = PackBuilder::with_capacity(100);
        b.add(BlobType::Data, BlobId([1; 32]), 10, b"0123456789abc");
        b.add(BlobType::Tree, BlobId([2; 32]), 3, b"xyz");
        b.finish(&keys.sealer()).unwrap()
    }

    #[test]
    fn header_round_trip() {
        let keys = KeySet::generate().unwrap();
        let p = sample(&keys);
        assert_eq!(p.id, FileId::of(&p.bytes));
        let e = read_header(&keys.sealer(), &p.bytes).unwrap();
        assert_eq!(e, p.entries);
        assert_eq!(e[1].offset, 13);
    }

    #[test]
    fn truncation_and_bit_flips_are_errors() {
        let keys = KeySet::generate().unwrap();
        let p = sample(&keys);
        for cut in 0..p.bytes.len() {
            assert!(read_header(&keys.sealer(), &p.bytes[..cut]).is_err());
        }
        for i in 16..p.bytes.len() {
            let mut b = p.bytes.clone();
            b[i] ^= 0x10;
            assert!(read_header(&keys.sealer(), &b).is_err(), "byte {i}");
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let keys = KeySet { enc: [1; 32], id: [2; 32], chunker: [3; 32] };
            let _ = read_header(&keys.sealer(), &data);
        }
    }
}
