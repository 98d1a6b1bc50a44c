//! The one place where a blob is compressed, encrypted and framed (and the reverse).
//!
//! Sealed blob = `nonce(12) || AES-256-GCM(plaintext = flag(1) || payload) || tag(16)` with
//! associated data `"hvelv blob v1" || type(1) || id(32)`. `flag` is 0 (stored) or 1 (zstd).
//! Opening re-derives the keyed id of the plaintext and compares it, so a blob read is verified
//! twice: by the AEAD tag and by its content address.

use crate::crypto::{KeySet, Sealer, NONCE_LEN, TAG_LEN};
use crate::error::{Error, ErrorKind, Result};
use crate::id::BlobId;

/// Largest plaintext blob accepted (chunks are at most 64 MiB, trees are split far below).
pub const MAX_BLOB_SIZE: usize = 128 * 1024 * 1024;

const AAD_PREFIX: &[u8; 13] = b"hvelv blob v1";
const FLAG_STORED: u8 = 0;
const FLAG_ZSTD: u8 = 1;

/// What a blob holds; also selects the pack it goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BlobType {
    /// File content chunk.
    Data = 0,
    /// Encoded [`crate::tree::Tree`].
    Tree = 1,
}

impl BlobType {
    /// From the stored byte.
    pub fn from_u8(v: u8) -> Result<Self> {
        match v {
            0 => Ok(BlobType::Data),
            1 => Ok(BlobType::Tree),
            _ => Err(Error::corrupt(format!("unknown blob type {v}"))),
        }
    }
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            BlobType::Data => "data",
            BlobType::Tree => "tree",
        }
    }
}

fn aad(ty: BlobType, id: &BlobId) -> [u8; 46] {
    let mut a = [0u8; 46];
    a[..13].copy_from_slice(AAD_PREFIX);
    a[13] = ty as u8;
    a[14..].copy_from_slice(&id.0);
    a
}

/// Compresses and seals blobs. Not `Sync` (holds zstd contexts): make one per worker thread.
///
/// A blob is compressed into a reused scratch buffer, copied once into its output behind the
/// nonce and the flag, and encrypted in place there: one allocation per blob (before,
/// compressing, framing and encrypting each made a new buffer and a copy).
pub struct BlobSealer {
    sealer: Sealer,
    compressor: zstd::bulk::Compressor<'static>,
    /// zstd -1, for the compressibility probe.
    probe: zstd::bulk::Compressor<'static>,
    probe_out: Vec<u8>,
    /// zstd's output, reused.
    scratch: Vec<u8>,
    level: i32,
}

impl BlobSealer {
    /// A blob sealer that encrypts with `sealer` (a session's key) and compresses with zstd
    /// `level` (0 disables compression).
    pub fn new(sealer: &Sealer, level: i32) -> Result<Self> {
        let zstd_err = |e: std::io::Error| Error::invalid(format!("zstd level {level}: {e}"));
        let compressor = zstd::bulk::Compressor::new(level.max(1)).map_err(zstd_err)?;
        let probe = zstd::bulk::Compressor::new(1).map_err(zstd_err)?;
        Ok(BlobSealer {
            sealer: sealer.clone(),
            compressor,
            probe,
            probe_out: Vec::with_capacity(zstd::zstd_safe::compress_bound(PROBE_PIECE)),
            scratch: Vec::new(),
            level,
        })
    }

    /// Compress (when it helps) and encrypt.
    ///
    /// zstd writes into a scratch buffer this sealer keeps, and the result is copied into an
    /// output of its exact final size: sealed blobs wait in queues for the pack writer, and an
    /// output sized for the plaintext would keep twice the memory of a 2:1 compressed blob
    /// resident (zstd touches the whole destination).
    pub fn seal(&mut self, ty: BlobType, id: &BlobId, plaintext: &[u8]) -> Result<Vec<u8>> {
        const HEAD: usize = NONCE_LEN + 1;
        let mut compressed = None;
        if self.level > 0 && plaintext.len() >= 64 && self.looks_compressible(plaintext) {
            // Only worth keeping when it saves at least 1/64 of the size: give zstd no more
            // room than that, and an error (output too small) means "store it".
            let room = plaintext.len() - plaintext.len() / 64 - 1;
            self.scratch.clear();
            // Exact: amortized growth doubled it past the largest chunk (2 × 16 MiB at 8 MiB chunks).
            self.scratch.reserve_exact(room);
            if let Ok(n) = self
                .compressor
                .compress_to_buffer(plaintext, &mut self.scratch)
            {
                if n <= room {
                    compressed = Some(n);
                }
            }
        }
        let (flag, payload) = match compressed {
            Some(n) => (FLAG_ZSTD, &self.scratch[..n]),
            None => (FLAG_STORED, plaintext),
        };
        let mut out = Vec::with_capacity(HEAD + payload.len() + TAG_LEN);
        out.resize(NONCE_LEN, 0);
        out.push(flag);
        out.extend_from_slice(payload);
        self.sealer.seal_in_place(&aad(ty, id), &mut out)?;
        Ok(out)
    }

    /// Cheap test on a sample: zstd level 1 on up to 3 × 8 KiB pieces; skip compression of
    /// incompressible data (scans, media, encrypted files) that would only cost CPU.
    ///
    /// The verdict is "compresses" once the pieces so far decide it whatever the others give
    /// (each at most `compress_bound`): text decides on the first piece, so the probe costs a
    /// third as much where compression follows anyway.
    fn looks_compressible(&mut self, data: &[u8]) -> bool {
        if data.len() <= 4 * PROBE_PIECE {
            return true;
        }
        let starts = [
            0,
            data.len() / 2 - PROBE_PIECE / 2,
            data.len() - PROBE_PIECE,
        ];
        let bound = zstd::zstd_safe::compress_bound(PROBE_PIECE);
        // Compressible: the pieces' output is under 97 % of their input.
        let limit = starts.len() * PROBE_PIECE * 97;
        let mut total_out = 0;
        for (i, start) in starts.into_iter().enumerate() {
            let piece = &data[start..start + PROBE_PIECE];
            self.probe_out.clear();
            total_out += self
                .probe
                .compress_to_buffer(piece, &mut self.probe_out)
                .unwrap_or(piece.len());
            let rest = starts.len() - 1 - i;
            if (total_out + rest * bound) * 100 < limit {
                return true;
            }
        }
        false
    }
}

/// Size of each of the three pieces the compressibility probe compresses.
const PROBE_PIECE: usize = 8 * 1024;

/// Decrypt, decompress and verify a sealed blob.
pub fn open_blob(
    keys: &KeySet,
    sealer: &Sealer,
    ty: BlobType,
    id: &BlobId,
    sealed: &[u8],
) -> Result<Vec<u8>> {
    let what = format!("{} blob {}", ty.as_str(), id.short());
    let framed = sealer.open(&aad(ty, id), sealed, &what)?;
    decode_framed(keys, id, framed, &what)
}

/// Move a sealed blob from one session's key to another's without recompressing: it is
/// opened and fully verified (tag, decompression, content id) before it is sealed again.
pub fn reseal_blob(
    keys: &KeySet,
    from: &Sealer,
    to: &Sealer,
    ty: BlobType,
    id: &BlobId,
    sealed: &[u8],
) -> Result<Vec<u8>> {
    let what = format!("{} blob {}", ty.as_str(), id.short());
    let a = aad(ty, id);
    let framed = from.open(&a, sealed, &what)?;
    let out = to.seal(&a, &framed)?;
    decode_framed(keys, id, framed, &what)?;
    Ok(out)
}

fn decode_framed(keys: &KeySet, id: &BlobId, framed: Vec<u8>, what: &str) -> Result<Vec<u8>> {
    let Some((&flag, payload)) = framed.split_first() else {
        return Err(Error::corrupt(format!("{what}: empty plaintext")));
    };
    let plain = match flag {
        FLAG_STORED => {
            let mut f = framed;
            f.remove(0);
            f
        }
        FLAG_ZSTD => decompress(payload).map_err(|e| e.context(what))?,
        x => {
            return Err(Error::corrupt(format!(
                "{what}: unknown compression flag {x}"
            )))
        }
    };
    if keys.blob_id(&plain) != *id {
        return Err(Error::corrupt(format!(
            "{what}: content does not match its id (the data was damaged or tampered with)"
        )));
    }
    Ok(plain)
}

/// Decompress a zstd frame of at most [`MAX_BLOB_SIZE`] bytes.
pub fn decompress(payload: &[u8]) -> Result<Vec<u8>> {
    let size = match zstd::zstd_safe::get_frame_content_size(payload) {
        Ok(Some(n)) if n as usize <= MAX_BLOB_SIZE => n as usize,
        Ok(Some(n)) => {
            return Err(Error::corrupt(format!(
                "zstd frame claims {n} bytes, over the limit"
            )))
        }
        _ => return Err(Error::corrupt("zstd frame without a valid content size")),
    };
    // One decompression context per thread: creating one per blob showed in the profile of
    // an unchanged re-run (a tree read per directory).
    thread_local! {
        static DCTX: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    let out = DCTX
        .with(|cell| {
            let mut slot = cell.borrow_mut();
            let d = match &mut *slot {
                Some(d) => d,
                None => slot.insert(zstd::bulk::Decompressor::new()?),
            };
            d.decompress(payload, size)
        })
        .map_err(|e| Error::corrupt(format!("zstd data is damaged: {e}")))?;
    if out.len() != size {
        return Err(Error::corrupt("zstd frame decompressed to the wrong size"));
    }
    Ok(out)
}

/// Compress a whole payload (files: index, snapshot) at `level`.
pub fn compress(payload: &[u8], level: i32) -> Result<Vec<u8>> {
    zstd::bulk::compress(payload, level.max(1))
        .map_err(|e| Error::new(ErrorKind::Io, format!("zstd compression failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_compressible_and_random() {
        let keys = KeySet::generate().unwrap();
        let mut s = BlobSealer::new(&keys.sealer(), 3).unwrap();
        let text = b"hello world ".repeat(20_000);
        let mut random = vec![0u8; 200_000];
        crate::crypto::random_bytes(&mut random).unwrap();
        for data in [&text[..], &random[..], b"", b"x"] {
            let id = keys.blob_id(data);
            let sealed = s.seal(BlobType::Data, &id, data).unwrap();
            let back = open_blob(&keys, &keys.sealer(), BlobType::Data, &id, &sealed).unwrap();
            assert_eq!(back, data);
            // Wrong type or id: authentication fails.
            assert!(open_blob(&keys, &keys.sealer(), BlobType::Tree, &id, &sealed).is_err());
        }
        let id = keys.blob_id(&text);
        assert!(s.seal(BlobType::Data, &id, &text).unwrap().len() < text.len() / 10);
        let id = keys.blob_id(&random);
        assert!(s.seal(BlobType::Data, &id, &random).unwrap().len() <= random.len() + 29);
    }

    /// The early verdict of the probe equals the one from all three pieces.
    #[test]
    fn probe_stops_early_only_when_the_verdict_is_settled() {
        let keys = KeySet::generate().unwrap();
        let mut s = BlobSealer::new(&keys.sealer(), 3).unwrap();
        let mut probe = zstd::bulk::Compressor::new(1).unwrap();
        let mut full = |data: &[u8]| {
            let starts = [
                0,
                data.len() / 2 - PROBE_PIECE / 2,
                data.len() - PROBE_PIECE,
            ];
            let out: usize = starts
                .iter()
                .map(|&st| probe.compress(&data[st..st + PROBE_PIECE]).unwrap().len())
                .sum();
            out * 100 < 3 * PROBE_PIECE * 97
        };
        let text = b"Saksbehandler: Kari Nordmann, arkivdel 2026. ".repeat(2000);
        let mut random = vec![0u8; text.len()];
        crate::crypto::random_bytes(&mut random).unwrap();
        // Text and noise in every order of the three sampled places.
        let third = text.len() / 3;
        for mask in 0u8..8 {
            let mut data = Vec::new();
            for part in 0..3 {
                let src = if mask & (1 << part) != 0 {
                    &text
                } else {
                    &random
                };
                data.extend_from_slice(&src[part * third..(part + 1) * third]);
            }
            assert_eq!(s.looks_compressible(&data), full(&data), "mask {mask:03b}");
        }
        assert!(s.looks_compressible(&text));
        assert!(!s.looks_compressible(&random));
    }

    #[test]
    fn flipped_bits_are_detected() {
        let keys = KeySet::generate().unwrap();
        let mut s = BlobSealer::new(&keys.sealer(), 3).unwrap();
        let data = b"abc".repeat(100);
        let id = keys.blob_id(&data);
        let sealed = s.seal(BlobType::Data, &id, &data).unwrap();
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 1;
            let e = open_blob(&keys, &keys.sealer(), BlobType::Data, &id, &t).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Corrupt);
        }
    }

    #[test]
    fn reseal_moves_a_blob_between_sessions_after_verifying_it() {
        let keys = KeySet::generate().unwrap();
        let (a, b) = (keys.session().unwrap(), keys.session().unwrap());
        let data = b"moved by prune ".repeat(500);
        let id = keys.blob_id(&data);
        let sealed = BlobSealer::new(&a.sealer, 3)
            .unwrap()
            .seal(BlobType::Data, &id, &data)
            .unwrap();
        let moved = reseal_blob(&keys, &a.sealer, &b.sealer, BlobType::Data, &id, &sealed).unwrap();
        assert_eq!(
            open_blob(&keys, &b.sealer, BlobType::Data, &id, &moved).unwrap(),
            data
        );
        assert!(open_blob(&keys, &a.sealer, BlobType::Data, &id, &moved).is_err());
        // A blob whose content does not match its id is not moved.
        let other = keys.blob_id(b"other");
        let wrong = BlobSealer::new(&a.sealer, 3)
            .unwrap()
            .seal(BlobType::Data, &other, &data)
            .unwrap();
        let e =
            reseal_blob(&keys, &a.sealer, &b.sealer, BlobType::Data, &other, &wrong).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
    }

    proptest::proptest! {
        #[test]
        fn decompress_never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = decompress(&data);
        }
    }
}
