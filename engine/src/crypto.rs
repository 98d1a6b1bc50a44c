//! Keys and authenticated encryption.
//!
//! * [`KeySet`]: the repository's secret keys, generated at `init` and never stored unwrapped:
//!   `enc` (AES-256-GCM for every blob and file), `id` (keyed BLAKE3 for blob ids, so ids do not
//!   allow confirmation of known plaintext), `chunker` (seed of the gear table).
//! * [`KeySet::seal`]/[`KeySet::open`]: AES-256-GCM with a fresh random 96-bit nonce per message; the nonce is
//!   stored in front of the ciphertext. Associated data binds each ciphertext to its role (blob
//!   type and id, or file kind), so ciphertexts cannot be swapped between places.
//! * Key files wrap a [`KeySet`] with a key derived from a password by Argon2id.
//!
//! Nonce budget: random nonces are safe up to about 2^32 messages per key (collision probability
//! below 2^-32); a repository of 10^9 blobs stays below 2^-37. See `docs/FORMAT.md`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, ErrorKind, Result};
use crate::format::codec::{Reader, Writer};
use crate::id::BlobId;

/// Bytes of nonce in front of every ciphertext.
pub const NONCE_LEN: usize = 12;
/// Bytes of authentication tag after every ciphertext.
pub const TAG_LEN: usize = 16;
/// Total overhead of [`KeySet::seal`].
pub const SEAL_OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// The repository's secret keys.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeySet {
    /// AES-256-GCM key for blobs and files.
    pub enc: [u8; 32],
    /// Keyed-BLAKE3 key for blob ids.
    pub id: [u8; 32],
    /// Secret from which the chunker's gear table is derived.
    pub chunker: [u8; 32],
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeySet(..)")
    }
}

/// Fill `buf` from the operating system's CSPRNG.
pub fn random_bytes(buf: &mut [u8]) -> Result<()> {
    getrandom::getrandom(buf).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("the system random generator failed: {e}"),
        )
    })
}

impl KeySet {
    /// Fresh random keys.
    pub fn generate() -> Result<KeySet> {
        let mut k = KeySet {
            enc: [0; 32],
            id: [0; 32],
            chunker: [0; 32],
        };
        random_bytes(&mut k.enc)?;
        random_bytes(&mut k.id)?;
        random_bytes(&mut k.chunker)?;
        Ok(k)
    }

    /// The id of a blob's plaintext: keyed BLAKE3.
    pub fn blob_id(&self, plaintext: &[u8]) -> BlobId {
        BlobId(*blake3::keyed_hash(&self.id, plaintext).as_bytes())
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&self.enc).into())
    }

    /// Encrypt `plaintext` bound to `aad`: `nonce || ciphertext || tag`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        seal_with(&self.cipher(), aad, plaintext)
    }

    /// Decrypt and authenticate the output of [`KeySet::seal`].
    pub fn open(&self, aad: &[u8], sealed: &[u8], what: &dyn std::fmt::Display) -> Result<Vec<u8>> {
        open_with(&self.cipher(), aad, sealed, what)
    }

    /// A reusable cipher context for many seals/opens (avoids re-expanding the AES key).
    pub fn sealer(&self) -> Sealer {
        Sealer {
            cipher: self.cipher(),
        }
    }
}

/// An expanded AES-256-GCM key, cheap to use repeatedly.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// See [`KeySet::seal`].
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        seal_with(&self.cipher, aad, plaintext)
    }
    /// See [`KeySet::open`].
    pub fn open(&self, aad: &[u8], sealed: &[u8], what: &dyn std::fmt::Display) -> Result<Vec<u8>> {
        open_with(&self.cipher, aad, sealed, what)
    }
}

fn seal_with(cipher: &Aes256Gcm, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    random_bytes(&mut nonce)?;
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| Error::new(ErrorKind::Io, "AES-GCM encryption failed"))?;
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

fn open_with(
    cipher: &Aes256Gcm,
    aad: &[u8],
    sealed: &[u8],
    what: &dyn std::fmt::Display,
) -> Result<Vec<u8>> {
    if sealed.len() < SEAL_OVERHEAD {
        return Err(Error::corrupt(format!(
            "{what}: ciphertext is {} bytes, shorter than nonce and tag",
            sealed.len()
        )));
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .map_err(|_| {
            Error::corrupt(format!(
                "{what}: authentication failed (the data was damaged or tampered with)"
            ))
        })
}

/// Argon2id parameters stored in a key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// Defaults: 64 MiB, 3 passes, 1 lane (about 0.2 s on a server core).
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };

    /// Refuse parameters that would be unsafe or absurd (protects against hostile key files too).
    pub fn validate(&self) -> Result<()> {
        if !(8 * 1024..=4 * 1024 * 1024).contains(&self.m_cost)
            || !(1..=64).contains(&self.t_cost)
            || !(1..=16).contains(&self.p_cost)
        {
            return Err(Error::invalid(format!(
                "Argon2id parameters out of range (memory {} KiB, {} passes, {} lanes); \
                 allowed: 8 MiB..4 GiB, 1..64 passes, 1..16 lanes",
                self.m_cost, self.t_cost, self.p_cost
            )));
        }
        Ok(())
    }

    fn derive(&self, password: &[u8], salt: &[u8; 32]) -> Result<[u8; 32]> {
        let params = argon2::Params::new(self.m_cost, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| Error::invalid(format!("Argon2id parameters: {e}")))?;
        let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = [0u8; 32];
        a.hash_password_into(password, salt, &mut out)
            .map_err(|e| Error::invalid(format!("Argon2id: {e}")))?;
        Ok(out)
    }
}

/// Magic bytes of a key file.
pub const KEY_MAGIC: &[u8; 8] = b"HVELVKEY";
/// Key file format version.
pub const KEY_VERSION: u16 = 1;
const KDF_ARGON2ID: u8 = 1;

/// What a key file says about itself once opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Host name where the key was created.
    pub host: String,
    /// User name that created the key.
    pub user: String,
    /// Creation time, seconds since the epoch.
    pub created: i64,
}

/// Wrap `keys` with `password` into key file bytes.
pub fn wrap_keys(
    keys: &KeySet,
    password: &[u8],
    kdf: KdfParams,
    info: &KeyInfo,
) -> Result<Vec<u8>> {
    kdf.validate()?;
    let mut salt = [0u8; 32];
    random_bytes(&mut salt)?;
    let mut header = Writer::new();
    header
        .raw(KEY_MAGIC)
        .u16(KEY_VERSION)
        .u8(KDF_ARGON2ID)
        .u32(kdf.m_cost)
        .u32(kdf.t_cost)
        .u32(kdf.p_cost)
        .raw(&salt);
    let header = header.finish();
    let mut wrap = kdf.derive(password, &salt)?;
    let mut payload = Writer::new();
    payload
        .u8(1) // key type: full key
        .raw(&keys.enc)
        .raw(&keys.id)
        .raw(&keys.chunker)
        .i64(info.created)
        .str(&info.host)
        .str(&info.user);
    let mut payload = payload.finish();
    let cipher = Aes256Gcm::new((&wrap).into());
    wrap.zeroize();
    let sealed = seal_with(&cipher, &header, &payload);
    payload.zeroize();
    let mut out = header;
    out.extend_from_slice(&sealed?);
    Ok(out)
}

/// The Argon2id parameters of a key file (without the password).
pub fn key_file_params(bytes: &[u8]) -> Result<KdfParams> {
    Ok(parse_key_header(bytes)?.0)
}

fn parse_key_header(bytes: &[u8]) -> Result<(KdfParams, [u8; 32], usize)> {
    let mut r = Reader::new(bytes, "key file");
    if r.take(8)? != KEY_MAGIC {
        return Err(Error::corrupt("not a hvelv key file (bad magic)"));
    }
    let v = r.u16()?;
    if v != KEY_VERSION {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("key file version {v} is not supported (this build reads {KEY_VERSION})"),
        ));
    }
    let kdf = r.u8()?;
    if kdf != KDF_ARGON2ID {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("key file KDF {kdf} unknown"),
        ));
    }
    let p = KdfParams {
        m_cost: r.u32()?,
        t_cost: r.u32()?,
        p_cost: r.u32()?,
    };
    p.validate()?;
    let salt = r.array::<32>()?;
    let header_len = bytes.len() - r.remaining();
    Ok((p, salt, header_len))
}

/// Open key file bytes with `password`. A wrong password gives [`ErrorKind::WrongPassword`].
pub fn unwrap_keys(bytes: &[u8], password: &[u8]) -> Result<(KeySet, KeyInfo)> {
    let (kdf, salt, header_len) = parse_key_header(bytes)?;
    let (header, sealed) = bytes.split_at(header_len);
    let mut wrap = kdf.derive(password, &salt)?;
    let cipher = Aes256Gcm::new((&wrap).into());
    wrap.zeroize();
    let mut payload = open_with(&cipher, header, sealed, &"key file").map_err(|_| {
        Error::new(
            ErrorKind::WrongPassword,
            "the password does not open this key file",
        )
    })?;
    let res = (|| {
        let mut r = Reader::new(&payload, "key file payload");
        let kind = r.u8()?;
        if kind != 1 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("key type {kind} unknown"),
            ));
        }
        let keys = KeySet {
            enc: r.array()?,
            id: r.array()?,
            chunker: r.array()?,
        };
        let created = r.i64()?;
        let host = r.str()?.to_owned();
        let user = r.str()?.to_owned();
        r.end()?;
        Ok((
            keys,
            KeyInfo {
                host,
                user,
                created,
            },
        ))
    })();
    payload.zeroize();
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: KdfParams = KdfParams {
        m_cost: 8 * 1024,
        t_cost: 1,
        p_cost: 1,
    };

    fn info() -> KeyInfo {
        KeyInfo {
            host: "h".into(),
            user: "u".into(),
            created: 1,
        }
    }

    #[test]
    fn wrap_unwrap_and_wrong_password() {
        let k = KeySet::generate().unwrap();
        let f = wrap_keys(&k, b"secret", FAST, &info()).unwrap();
        let (k2, i) = unwrap_keys(&f, b"secret").unwrap();
        assert_eq!(k.enc, k2.enc);
        assert_eq!(k.id, k2.id);
        assert_eq!(i, info());
        let e = unwrap_keys(&f, b"wrong").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WrongPassword);
        assert_eq!(key_file_params(&f).unwrap(), FAST);
    }

    #[test]
    fn tampered_key_file_is_rejected_without_panic() {
        let k = KeySet::generate().unwrap();
        let f = wrap_keys(&k, b"pw", FAST, &info()).unwrap();
        for i in 0..f.len() {
            let mut g = f.clone();
            g[i] ^= 0x40;
            assert!(unwrap_keys(&g, b"pw").is_err(), "byte {i}");
        }
        for cut in 0..f.len() {
            assert!(unwrap_keys(&f[..cut], b"pw").is_err());
        }
    }

    #[test]
    fn seal_binds_aad() {
        let k = KeySet::generate().unwrap();
        let s = k.seal(b"a", b"hello").unwrap();
        assert_eq!(k.open(b"a", &s, &"x").unwrap(), b"hello");
        assert_eq!(
            k.open(b"b", &s, &"x").unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        assert!(k.open(b"a", &s[..10], &"x").is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn arbitrary_key_files_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120)) {
            let mut b = KEY_MAGIC.to_vec();
            b.extend_from_slice(&data);
            // Mostly rejected before the KDF runs (version, KDF id, parameter ranges).
            let _ = key_file_params(&b);
            let _ = key_file_params(&data);
        }
    }
}
