//! Pack files: many sealed blobs followed by an encrypted header listing them.
//!
//! ```text
//! [sealed blob 0]...[sealed header][session [32]][header_len: u32 LE][version: u16 LE]["HVELVPAK"]
//! ```
//! The header plaintext is `version u8 = 1, count u32, count × (type u8, id [32], length u32,
//! raw_length u32)`; blob offsets are the running sum of lengths from 0. The blobs and the
//! header are sealed with the key of the writer's session (`session` is its ephemeral X25519
//! public key, see [`crate::crypto::Session`]); the header's associated data is
//! `"hvelv pack header v2" || session`. A pack's file name is the BLAKE3 hash of its bytes.
//! Building a pack is I/O-free: [`PackBuilder`] returns bytes for the backend to store.

use crate::blob::BlobType;
use crate::crypto::{Opener, Session, SESSION_KEY_LEN};
use crate::error::{Error, ErrorKind, Result};
use crate::format::codec::{Reader, Writer};
use crate::id::{BlobId, FileId};

/// Trailing magic of every pack file.
pub const PACK_MAGIC: &[u8; 8] = b"HVELVPAK";
/// Pack format version.
pub const PACK_VERSION: u16 = 2;
/// Bytes of the trailer (session key, `header_len`, version, magic).
pub const TRAILER_LEN: usize = SESSION_KEY_LEN + 4 + 2 + 8;
const HEADER_AAD: &[u8] = b"hvelv pack header v2";
/// Bytes a pack spends per blob beyond the sealed blob (its header entry).
pub const ENTRY_OVERHEAD: usize = ENTRY_LEN;
/// Bytes a pack spends beyond its blobs and their header entries: sealed header framing
/// (version, count, nonce, tag) and the trailer.
pub const PACK_OVERHEAD: usize = 5 + crate::crypto::SEAL_OVERHEAD + TRAILER_LEN;

fn header_aad(session: &[u8; SESSION_KEY_LEN]) -> Vec<u8> {
    let mut a = HEADER_AAD.to_vec();
    a.extend_from_slice(session);
    a
}

/// What a pack trailer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    /// Public key of the session that sealed the pack.
    pub session: [u8; SESSION_KEY_LEN],
    /// Length of the sealed header in front of the trailer.
    pub header_len: u32,
}

/// A pack's decrypted header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackHeader {
    /// Public key of the session that sealed the pack (and every blob in it).
    pub session: [u8; SESSION_KEY_LEN],
    /// The blobs.
    pub entries: Vec<PackEntry>,
}
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
///
/// Blobs are either copied into the builder's buffer ([`PackBuilder::add`]) or written by the
/// caller elsewhere, e.g. into a staged file, and only recorded ([`PackBuilder::add_external`]);
/// one builder uses one way.
#[derive(Debug, Default)]
pub struct PackBuilder {
    buf: Vec<u8>,
    entries: Vec<PackEntry>,
    /// Bytes of blob data so far (in `buf` or external).
    len: usize,
}

/// A finished pack: its id, bytes and contents.
#[derive(Debug)]
pub struct FinishedPack {
    /// BLAKE3 of `bytes`, the file name.
    pub id: FileId,
    /// The complete pack file.
    pub bytes: Vec<u8>,
    /// Public key of the session that sealed it.
    pub session: [u8; SESSION_KEY_LEN],
    /// The blobs in it.
    pub entries: Vec<PackEntry>,
}

impl PackBuilder {
    /// An empty pack with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        PackBuilder {
            buf: Vec::with_capacity(capacity),
            entries: Vec::new(),
            len: 0,
        }
    }

    /// An empty pack builder writing into `buf` (cleared), grown to `capacity` if smaller:
    /// lets a caller reuse the buffer of a pack it has stored.
    pub fn with_buffer(mut buf: Vec<u8>, capacity: usize) -> Self {
        buf.clear();
        buf.reserve(capacity);
        PackBuilder {
            buf,
            entries: Vec::new(),
            len: 0,
        }
    }
    /// Append a sealed blob.
    pub fn add(&mut self, ty: BlobType, id: BlobId, raw_length: u32, sealed: &[u8]) {
        self.add_external(ty, id, raw_length, sealed.len() as u32);
        self.buf.extend_from_slice(sealed);
    }
    /// Record a sealed blob of `length` bytes that the caller writes at offset
    /// [`PackBuilder::size`] of the pack itself.
    pub fn add_external(&mut self, ty: BlobType, id: BlobId, raw_length: u32, length: u32) {
        self.entries.push(PackEntry {
            ty,
            id,
            offset: self.len as u32,
            length,
            raw_length,
        });
        self.len += length as usize;
    }
    /// Bytes of blob data so far.
    pub fn size(&self) -> usize {
        self.len
    }
    /// Number of blobs so far.
    pub fn count(&self) -> usize {
        self.entries.len()
    }
    /// Append the header, sealed with `session` (which must have sealed every blob), and the
    /// trailer.
    pub fn finish(mut self, session: &Session) -> Result<FinishedPack> {
        let tail = self.tail(session)?;
        self.buf.extend_from_slice(&tail);
        Ok(FinishedPack {
            id: FileId::of(&self.buf),
            bytes: self.buf,
            session: session.public,
            entries: self.entries,
        })
    }

    /// For blobs written with [`PackBuilder::add_external`]: the sealed header and trailer to
    /// write after them, and the entries. The pack's id is the BLAKE3 hash of all its bytes.
    pub fn finish_external(self, session: &Session) -> Result<(Vec<u8>, Vec<PackEntry>)> {
        let tail = self.tail(session)?;
        Ok((tail, self.entries))
    }

    /// Sealed header and trailer.
    fn tail(&self, session: &Session) -> Result<Vec<u8>> {
        let mut h = Writer::with_capacity(5 + self.entries.len() * ENTRY_LEN);
        h.u8(1).u32(self.entries.len() as u32);
        for e in &self.entries {
            h.u8(e.ty as u8)
                .raw(&e.id.0)
                .u32(e.length)
                .u32(e.raw_length);
        }
        let mut out = session
            .sealer
            .seal(&header_aad(&session.public), &h.finish())?;
        let header_len = out.len() as u32;
        let mut t = Writer::with_capacity(TRAILER_LEN);
        t.raw(&session.public)
            .u32(header_len)
            .u16(PACK_VERSION)
            .raw(PACK_MAGIC);
        out.extend_from_slice(&t.finish());
        Ok(out)
    }
}

/// Parse a pack trailer (the last [`TRAILER_LEN`] bytes).
pub fn parse_trailer(trailer: &[u8], pack_len: u64) -> Result<Trailer> {
    let mut r = Reader::new(trailer, "pack trailer");
    let session = r.array()?;
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
    Ok(Trailer {
        session,
        header_len: len,
    })
}

/// Decrypt and parse a pack header sealed by session `session`; checks that the blobs exactly
/// fill the space before it. Needs a full key ([`crate::ErrorKind::PutOnly`] otherwise).
pub fn parse_header(
    opener: &Opener,
    session: &[u8; SESSION_KEY_LEN],
    sealed: &[u8],
    data_len: u64,
) -> Result<PackHeader> {
    let sealer = opener.session(session)?;
    let plain = sealer.open(&header_aad(session), sealed, &"pack header")?;
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
    Ok(PackHeader {
        session: *session,
        entries,
    })
}

/// Parse the header of a complete pack held in memory.
pub fn read_header(opener: &Opener, pack: &[u8]) -> Result<PackHeader> {
    if pack.len() < TRAILER_LEN {
        return Err(Error::corrupt(format!(
            "pack is only {} bytes (truncated)",
            pack.len()
        )));
    }
    let t = parse_trailer(&pack[pack.len() - TRAILER_LEN..], pack.len() as u64)?;
    let hstart = pack.len() - TRAILER_LEN - t.header_len as usize;
    parse_header(
        opener,
        &t.session,
        &pack[hstart..pack.len() - TRAILER_LEN],
        hstart as u64,
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::crypto::KeySet;

    fn sample(session: &Session) -> FinishedPack {
        let mut b = PackBuilder::with_capacity(100);
        b.add(BlobType::Data, BlobId([1; 32]), 10, b"0123456789abc");
        b.add(BlobType::Tree, BlobId([2; 32]), 3, b"xyz");
        b.finish(session).unwrap()
    }

    #[test]
    fn header_round_trip() {
        let keys = Arc::new(KeySet::generate().unwrap());
        let session = keys.session().unwrap();
        let p = sample(&session);
        assert_eq!(p.id, FileId::of(&p.bytes));
        assert_eq!(p.session, session.public);
        let h = read_header(&Opener::new(keys.clone()), &p.bytes).unwrap();
        assert_eq!(h.entries, p.entries);
        assert_eq!(h.session, session.public);
        assert_eq!(h.entries[1].offset, 13);
        // A put-only key set wrote it but cannot read it back.
        let put = Opener::new(Arc::new(keys.put_only()));
        let e = read_header(&put, &p.bytes).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PutOnly);
    }

    #[test]
    fn external_blobs_make_the_same_pack() {
        let keys = Arc::new(KeySet::generate().unwrap());
        let session = keys.session().unwrap();
        let p = sample(&session);
        let mut b = PackBuilder::default();
        let mut bytes = Vec::new();
        for (ty, id, raw, sealed) in [
            (BlobType::Data, BlobId([1; 32]), 10, &b"0123456789abc"[..]),
            (BlobType::Tree, BlobId([2; 32]), 3, &b"xyz"[..]),
        ] {
            assert_eq!(b.size(), bytes.len());
            b.add_external(ty, id, raw, sealed.len() as u32);
            bytes.extend_from_slice(sealed);
        }
        let (tail, entries) = b.finish_external(&session).unwrap();
        bytes.extend_from_slice(&tail);
        assert_eq!(entries, p.entries);
        let h = read_header(&Opener::new(keys), &bytes).unwrap();
        assert_eq!(h.entries, p.entries);
    }

    #[test]
    fn truncation_and_bit_flips_are_errors() {
        let keys = Arc::new(KeySet::generate().unwrap());
        let opener = Opener::new(keys.clone());
        let p = sample(&keys.session().unwrap());
        for cut in 0..p.bytes.len() {
            assert!(read_header(&opener, &p.bytes[..cut]).is_err());
        }
        for i in 16..p.bytes.len() {
            let mut b = p.bytes.clone();
            b[i] ^= 0x10;
            assert!(read_header(&opener, &b).is_err(), "byte {i}");
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let opener = Opener::new(Arc::new(KeySet::generate().unwrap()));
            let _ = read_header(&opener, &data);
        }
    }
}
