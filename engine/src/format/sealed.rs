//! Sealed repository files (config, index, snapshot): a short plaintext header and one
//! AES-256-GCM ciphertext.
//!
//! ```text
//! magic [8] | version u16 LE | nonce [12] | ciphertext of (flag u8 | payload) | tag [16]
//! ```
//! The associated data is `magic || version`, so a file cannot be passed off as another kind.
//! `flag` is 0 (payload stored) or 1 (payload is one zstd frame). Files sealed with the meta key
//! (config, index, markers, records) have version 1. Snapshots, which name files, are sealed
//! with a writer session's key (version 2): the session's public key follows the version and is
//! part of the associated data:
//! ```text
//! magic [8] | version u16 LE = 2 | session [32] | nonce [12] | ciphertext | tag [16]
//! ```

use crate::blob;
use crate::crypto::{Opener, Sealer, Session, SESSION_KEY_LEN};
use crate::error::{Error, ErrorKind, Result};

/// Magic of the repository config file.
pub const CONFIG_MAGIC: &[u8; 8] = b"HVELVCFG";
/// Magic of index files.
pub const INDEX_MAGIC: &[u8; 8] = b"HVELVIDX";
/// Magic of snapshot files.
pub const SNAPSHOT_MAGIC: &[u8; 8] = b"HVELVSNP";
/// Magic of job markers (`locks/`).
pub const LOCK_MAGIC: &[u8; 8] = b"HVELVLCK";
/// Magic of garbage-collection records (`gc/`).
pub const GC_MAGIC: &[u8; 8] = b"HVELVGCR";
/// Magic of verification records (`verify/`, written by `check --read-data`).
pub const VERIFY_MAGIC: &[u8; 8] = b"HVELVVFY";
/// Magic of archive records (`archive/`: fixity manifests and events of archive snapshots).
pub const ARCHIVE_MAGIC: &[u8; 8] = b"HVELVARC";
/// Version of the sealed-file envelope (meta key).
pub const SEALED_VERSION: u16 = 1;
/// Version of the session-sealed envelope.
pub const SESSION_SEALED_VERSION: u16 = 2;

/// Seal `payload` (compressed when `level > 0`) as a file of kind `magic` with the meta key.
pub fn seal_file(sealer: &Sealer, magic: &[u8; 8], payload: &[u8], level: i32) -> Result<Vec<u8>> {
    let mut header = Vec::with_capacity(10);
    header.extend_from_slice(magic);
    header.extend_from_slice(&SEALED_VERSION.to_le_bytes());
    seal_after(sealer, header, payload, level)
}

/// Seal `payload` as a file of kind `magic` with a writer session's key.
pub fn seal_session_file(
    session: &Session,
    magic: &[u8; 8],
    payload: &[u8],
    level: i32,
) -> Result<Vec<u8>> {
    let mut header = Vec::with_capacity(10 + SESSION_KEY_LEN);
    header.extend_from_slice(magic);
    header.extend_from_slice(&SESSION_SEALED_VERSION.to_le_bytes());
    header.extend_from_slice(&session.public);
    seal_after(&session.sealer, header, payload, level)
}

/// Open a session-sealed file of kind `magic` (needs a full key).
pub fn open_session_file(
    opener: &Opener,
    magic: &[u8; 8],
    bytes: &[u8],
    what: &str,
) -> Result<Vec<u8>> {
    let header_len = 10 + SESSION_KEY_LEN;
    check_header(magic, bytes, what, SESSION_SEALED_VERSION, header_len)?;
    let (header, sealed) = bytes.split_at(header_len);
    let mut session = [0u8; SESSION_KEY_LEN];
    session.copy_from_slice(&header[10..]);
    let sealer = opener.session(&session)?;
    unframe(sealer.open(header, sealed, &what)?, what)
}

fn check_header(magic: &[u8; 8], bytes: &[u8], what: &str, version: u16, len: usize) -> Result<()> {
    if bytes.len() < len {
        return Err(Error::corrupt(format!(
            "{what} is truncated ({} bytes)",
            bytes.len()
        )));
    }
    if &bytes[..8] != magic {
        return Err(Error::corrupt(format!("{what} has the wrong magic")));
    }
    let v = u16::from_le_bytes([bytes[8], bytes[9]]);
    if v != version {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("{what} has format version {v}; this build reads {version}"),
        ));
    }
    Ok(())
}

fn seal_after(sealer: &Sealer, mut header: Vec<u8>, payload: &[u8], level: i32) -> Result<Vec<u8>> {
    let mut framed;
    if level > 0 {
        let c = blob::compress(payload, level)?;
        framed = Vec::with_capacity(c.len() + 1);
        framed.push(1);
        framed.extend_from_slice(&c);
    } else {
        framed = Vec::with_capacity(payload.len() + 1);
        framed.push(0);
        framed.extend_from_slice(payload);
    }
    let sealed = sealer.seal(&header, &framed)?;
    header.extend_from_slice(&sealed);
    Ok(header)
}

/// Open a sealed file of kind `magic`; `what` names it in errors (e.g. "index file 1a2b3c4d").
pub fn open_file(sealer: &Sealer, magic: &[u8; 8], bytes: &[u8], what: &str) -> Result<Vec<u8>> {
    check_header(magic, bytes, what, SEALED_VERSION, 10)?;
    let (header, sealed) = bytes.split_at(10);
    unframe(sealer.open(header, sealed, &what)?, what)
}

fn unframe(framed: Vec<u8>, what: &str) -> Result<Vec<u8>> {
    match framed.split_first() {
        Some((0, p)) => Ok(p.to_vec()),
        Some((1, p)) => blob::decompress(p).map_err(|e| e.context(what)),
        _ => Err(Error::corrupt(format!(
            "{what} has an unknown payload flag"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::KeySet;

    #[test]
    fn round_trip_and_kind_binding() {
        let k = KeySet::generate().unwrap();
        let s = k.sealer();
        for level in [0, 3] {
            let f = seal_file(&s, INDEX_MAGIC, b"payload payload payload", level).unwrap();
            assert_eq!(
                open_file(&s, INDEX_MAGIC, &f, "x").unwrap(),
                b"payload payload payload"
            );
            let mut g = f.clone();
            g[..8].copy_from_slice(SNAPSHOT_MAGIC);
            assert!(open_file(&s, SNAPSHOT_MAGIC, &g, "x").is_err());
            for cut in 0..f.len() {
                assert!(open_file(&s, INDEX_MAGIC, &f[..cut], "x").is_err());
            }
        }
    }

    #[test]
    fn session_files_open_with_the_full_key_only() {
        let k = std::sync::Arc::new(KeySet::generate().unwrap());
        let put = KeySet::put_only(&k);
        let session = put.session().unwrap();
        let f = seal_session_file(&session, SNAPSHOT_MAGIC, b"host and paths", 3).unwrap();
        let full = Opener::new(k.clone());
        assert_eq!(
            open_session_file(&full, SNAPSHOT_MAGIC, &f, "x").unwrap(),
            b"host and paths"
        );
        let e = open_session_file(
            &Opener::new(std::sync::Arc::new(put)),
            SNAPSHOT_MAGIC,
            &f,
            "x",
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PutOnly);
        // The session key is authenticated: swapping it breaks the file.
        let mut g = f.clone();
        g[12] ^= 1;
        assert!(open_session_file(&full, SNAPSHOT_MAGIC, &g, "x").is_err());
        for cut in 0..f.len() {
            assert!(open_session_file(&full, SNAPSHOT_MAGIC, &f[..cut], "x").is_err());
        }
        // Meta-sealed and session-sealed envelopes are not interchangeable.
        assert!(open_file(&k.sealer(), SNAPSHOT_MAGIC, &f, "x").is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let k = KeySet::generate().unwrap();
            let mut b = INDEX_MAGIC.to_vec();
            b.extend_from_slice(&data);
            let _ = open_file(&k.sealer(), INDEX_MAGIC, &b, "x");
            let _ = open_file(&k.sealer(), INDEX_MAGIC, &data, "x");
            let o = Opener::new(std::sync::Arc::new(k));
            let _ = open_session_file(&o, INDEX_MAGIC, &b, "x");
        }
    }
}
