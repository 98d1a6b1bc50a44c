//! Keys and authenticated encryption.
//!
//! * [`KeySet`]: the repository's keys, generated at `init` and never stored unwrapped:
//!   `meta` (AES-256-GCM for the config, index files and job/prune records), `id` (keyed BLAKE3
//!   for blob ids, so ids do not allow confirmation of known plaintext), `chunker` (seed of the
//!   gear table) and the *data key pair* (X25519). Everything that carries file data or names —
//!   blobs, pack headers, snapshots — is sealed with a [`Session`] key agreed between a fresh
//!   ephemeral key and the data public key, so a writer needs only the public half.
//! * A **full** key set holds the data secret and can read everything; a **put-only** key set
//!   holds only the public half: it can write backups and deduplicate (ids, index, chunker are
//!   shared) but cannot open anything sealed to the data key, not even its own earlier snapshots.
//! * [`KeySet::seal`]/[`KeySet::open`]: AES-256-GCM with a fresh random 96-bit nonce per message; the nonce is
//!   stored in front of the ciphertext. Associated data binds each ciphertext to its role (blob
//!   type and id, or file kind), so ciphertexts cannot be swapped between places.
//! * Key files wrap a [`KeySet`] with a key derived from a password by Argon2id.
//!
//! Nonce budget: random nonces are safe up to about 2^32 messages per key (collision probability
//! below 2^-32); a repository of 10^9 blobs stays below 2^-37. See `docs/FORMAT.md`.

use aes_gcm::aead::{Aead, AeadInOut, KeyInit, Payload};
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

/// The repository's keys.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeySet {
    /// AES-256-GCM key for the config, index files, job markers, prune and verify records.
    pub meta: [u8; 32],
    /// Keyed-BLAKE3 key for blob ids.
    pub id: [u8; 32],
    /// Secret from which the chunker's gear table is derived.
    pub chunker: [u8; 32],
    /// X25519 public key that sessions agree their content keys with.
    pub data_public: [u8; 32],
    /// The matching X25519 secret; `None` in a put-only key set.
    data_secret: Option<[u8; 32]>,
}

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyKind {
    /// Reads and writes everything.
    Full,
    /// Adds backups; cannot read, list or delete anything.
    PutOnly,
}

impl KeyKind {
    fn code(self) -> u8 {
        match self {
            KeyKind::Full => 1,
            KeyKind::PutOnly => 2,
        }
    }
    fn from_code(c: u8) -> Result<KeyKind> {
        match c {
            1 => Ok(KeyKind::Full),
            2 => Ok(KeyKind::PutOnly),
            _ => Err(Error::new(
                ErrorKind::Unsupported,
                format!("key type {c} unknown"),
            )),
        }
    }
    /// `full` or `put-only`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Full => "full",
            KeyKind::PutOnly => "put-only",
        }
    }
}

/// The error a put-only key set gives for anything that needs the data secret.
pub fn put_only_refusal(what: &str) -> Error {
    Error::new(
        ErrorKind::PutOnly,
        format!(
            "cannot {what}: this repository was opened with a put-only key, which can only add \
             backups (it holds no key that decrypts file data, names or snapshots); use a full key"
        ),
    )
}

/// Bytes of a session's public key.
pub const SESSION_KEY_LEN: usize = 32;

/// A writer's session: an ephemeral X25519 public key (stored with everything it seals) and the
/// AES-256-GCM key agreed with the repository's data public key.
#[derive(Clone)]
pub struct Session {
    /// The ephemeral public key; readers derive the same key from it with the data secret.
    pub public: [u8; SESSION_KEY_LEN],
    /// Seals with the agreed key.
    pub sealer: Sealer,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session({})", hex::encode(&self.public[..4]))
    }
}

/// The session key for ephemeral public `eph` and data public `data`, from their shared secret.
fn session_key(shared: &x25519_dalek::SharedSecret, eph: &[u8; 32], data: &[u8; 32]) -> Sealer {
    let mut material = [0u8; 96];
    material[..32].copy_from_slice(shared.as_bytes());
    material[32..64].copy_from_slice(eph);
    material[64..].copy_from_slice(data);
    let mut key = blake3::derive_key("hvelv 2026 session key v1", &material);
    material.zeroize();
    let sealer = Sealer {
        cipher: Aes256Gcm::new((&key).into()),
    };
    key.zeroize();
    sealer
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
    /// Fresh random keys (a full key set).
    pub fn generate() -> Result<KeySet> {
        let mut secret = [0u8; 32];
        random_bytes(&mut secret)?;
        let mut k = KeySet {
            meta: [0; 32],
            id: [0; 32],
            chunker: [0; 32],
            data_public: public_of(&secret),
            data_secret: Some(secret),
        };
        secret.zeroize();
        random_bytes(&mut k.meta)?;
        random_bytes(&mut k.id)?;
        random_bytes(&mut k.chunker)?;
        Ok(k)
    }

    /// The same keys without the data secret.
    pub fn put_only(&self) -> KeySet {
        KeySet {
            meta: self.meta,
            id: self.id,
            chunker: self.chunker,
            data_public: self.data_public,
            data_secret: None,
        }
    }

    /// Full or put-only.
    pub fn kind(&self) -> KeyKind {
        if self.data_secret.is_some() {
            KeyKind::Full
        } else {
            KeyKind::PutOnly
        }
    }

    /// A new writer session: a fresh ephemeral key agreed with the data public key.
    pub fn session(&self) -> Result<Session> {
        let mut eph = [0u8; 32];
        random_bytes(&mut eph)?;
        let secret = x25519_dalek::StaticSecret::from(eph);
        eph.zeroize();
        let public = x25519_dalek::PublicKey::from(&secret).to_bytes();
        let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(self.data_public));
        if !shared.was_contributory() {
            return Err(Error::corrupt(
                "the repository's data public key is a low-order point (the key file or config \
                 was tampered with)",
            ));
        }
        Ok(Session {
            sealer: session_key(&shared, &public, &self.data_public),
            public,
        })
    }

    /// The key of the session with ephemeral public key `eph` (needs the data secret).
    pub fn open_session(&self, eph: &[u8; SESSION_KEY_LEN]) -> Result<Sealer> {
        let Some(secret) = self.data_secret else {
            return Err(put_only_refusal("decrypt stored data"));
        };
        let secret = x25519_dalek::StaticSecret::from(secret);
        let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*eph));
        if !shared.was_contributory() {
            return Err(Error::corrupt(format!(
                "session key {} is a low-order point (tampered data)",
                hex::encode(&eph[..4])
            )));
        }
        Ok(session_key(&shared, eph, &self.data_public))
    }

    /// The id of a blob's plaintext: keyed BLAKE3.
    pub fn blob_id(&self, plaintext: &[u8]) -> BlobId {
        BlobId(*blake3::keyed_hash(&self.id, plaintext).as_bytes())
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&self.meta).into())
    }

    /// Encrypt `plaintext` under the meta key, bound to `aad`: `nonce || ciphertext || tag`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        seal_with(&self.cipher(), aad, plaintext)
    }

    /// Decrypt and authenticate the output of [`KeySet::seal`].
    pub fn open(&self, aad: &[u8], sealed: &[u8], what: &dyn std::fmt::Display) -> Result<Vec<u8>> {
        open_with(&self.cipher(), aad, sealed, what)
    }

    /// A reusable meta-key cipher context for many seals/opens (avoids re-expanding the key).
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

    /// [`Sealer::seal`] without copying: `buf` holds [`NONCE_LEN`] bytes of room followed by
    /// the plaintext; afterwards it holds `nonce || ciphertext || tag`, the same layout.
    /// Reserve [`TAG_LEN`] spare capacity to avoid a reallocation.
    pub fn seal_in_place(&self, aad: &[u8], buf: &mut Vec<u8>) -> Result<()> {
        if buf.len() < NONCE_LEN {
            return Err(Error::invalid("seal_in_place: no room for the nonce"));
        }
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce)?;
        buf[..NONCE_LEN].copy_from_slice(&nonce);
        let tag = self
            .cipher
            .encrypt_inout_detached(&Nonce::from(nonce), aad, (&mut buf[NONCE_LEN..]).into())
            .map_err(|_| Error::new(ErrorKind::Io, "AES-GCM encryption failed"))?;
        buf.extend_from_slice(&tag);
        Ok(())
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
            &Nonce::from(nonce),
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
    let Some((nonce, ct)) = sealed
        .split_first_chunk::<NONCE_LEN>()
        .filter(|(_, ct)| ct.len() >= TAG_LEN)
    else {
        return Err(Error::corrupt(format!(
            "{what}: ciphertext is {} bytes, shorter than nonce and tag",
            sealed.len()
        )));
    };
    cipher
        .decrypt(&Nonce::from(*nonce), Payload { msg: ct, aad })
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

/// How a key file's wrapping key comes from its secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKdf {
    /// A password chosen by a person, stretched with Argon2id.
    Argon2id(KdfParams),
    /// A secret hvelv generated ([`generate_secret`]): 256 random bits need no stretching, so
    /// opening costs no key derivation time or memory (unattended nightly jobs).
    Generated,
}

impl From<KdfParams> for KeyKdf {
    fn from(p: KdfParams) -> Self {
        KeyKdf::Argon2id(p)
    }
}

/// Prefix of a generated secret: `hvelv-key-1-` and 64 hex digits (256 random bits).
pub const GENERATED_PREFIX: &str = "hvelv-key-1-";

/// A new random secret for a [`KeyKdf::Generated`] key, as text for a password file.
pub fn generate_secret() -> Result<zeroize::Zeroizing<String>> {
    let mut raw = zeroize::Zeroizing::new([0u8; 32]);
    random_bytes(&mut raw[..])?;
    let mut s = zeroize::Zeroizing::new(String::with_capacity(GENERATED_PREFIX.len() + 64));
    s.push_str(GENERATED_PREFIX);
    for b in raw.iter() {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    Ok(s)
}

/// The 32 bytes of a well-formed generated secret (surrounding whitespace ignored).
pub fn parse_generated_secret(password: &[u8]) -> Option<zeroize::Zeroizing<[u8; 32]>> {
    let text = std::str::from_utf8(password).ok()?.trim();
    let hex = text.strip_prefix(GENERATED_PREFIX)?.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

impl KeyKdf {
    /// The wrapping key for `password`; a generated key with anything but a well-formed
    /// generated secret is a wrong password (at no cost).
    fn derive(&self, password: &[u8], salt: &[u8; 32]) -> Result<[u8; 32]> {
        match self {
            KeyKdf::Argon2id(p) => p.derive(password, salt),
            KeyKdf::Generated => {
                let secret = parse_generated_secret(password).ok_or_else(|| {
                    Error::new(
                        ErrorKind::WrongPassword,
                        "this key opens only with the generated secret it was made with",
                    )
                })?;
                let mut h = blake3::Hasher::new_derive_key("hvelv 2026 generated key wrap v1");
                h.update(&secret[..]);
                h.update(salt);
                Ok(*h.finalize().as_bytes())
            }
        }
    }
}

/// Magic bytes of a key file.
pub const KEY_MAGIC: &[u8; 8] = b"HVELVKEY";
/// Key file format version.
pub const KEY_VERSION: u16 = 2;
const KDF_ARGON2ID: u8 = 1;
const KDF_GENERATED: u8 = 2;
const LABEL_AAD: &[u8] = b"hvelv key label v1";

/// What a key file says about itself once opened (and, through its label, to full keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Full or put-only.
    pub kind: KeyKind,
    /// A name given at `key add --name` (e.g. the backup client's host); may be empty.
    pub name: String,
    /// Host name where the key was created.
    pub host: String,
    /// User name that created the key.
    pub user: String,
    /// Creation time, seconds since the epoch.
    pub created: i64,
}

impl KeyInfo {
    fn encode(&self, w: &mut Writer) {
        w.u8(self.kind.code())
            .i64(self.created)
            .str(&self.name)
            .str(&self.host)
            .str(&self.user);
    }
    fn decode(r: &mut Reader<'_>) -> Result<KeyInfo> {
        Ok(KeyInfo {
            kind: KeyKind::from_code(r.u8()?)?,
            created: r.i64()?,
            name: r.str()?.to_owned(),
            host: r.str()?.to_owned(),
            user: r.str()?.to_owned(),
        })
    }
}

/// The X25519 public key of a secret.
fn public_of(secret: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*secret)).to_bytes()
}

/// Wrap `keys` with `password` into key file bytes. `info.kind` must match the key set: a
/// put-only file is made from `keys.put_only()`.
///
/// Layout (`docs/FORMAT.md` §3): plaintext header (magic, version, KDF parameters, salt),
/// `payload_len u32`, the payload sealed with the password-derived key (associated data: the
/// header and length), then the *label* — `info` sealed to the data public key with a fresh
/// session — so holders of a full key can list every key's kind and name without its password.
pub fn wrap_keys(keys: &KeySet, password: &[u8], kdf: KeyKdf, info: &KeyInfo) -> Result<Vec<u8>> {
    let (code, params) = match kdf {
        KeyKdf::Argon2id(p) => {
            p.validate()?;
            (KDF_ARGON2ID, p)
        }
        KeyKdf::Generated => {
            if parse_generated_secret(password).is_none() {
                return Err(Error::invalid(
                    "a generated key needs a secret from hvelv's generator, not a chosen password",
                ));
            }
            let none = KdfParams {
                m_cost: 0,
                t_cost: 0,
                p_cost: 0,
            };
            (KDF_GENERATED, none)
        }
    };
    if info.kind != keys.kind() {
        return Err(Error::invalid(format!(
            "cannot write a {} key file from a {} key set",
            info.kind.as_str(),
            keys.kind().as_str()
        )));
    }
    let mut salt = [0u8; 32];
    random_bytes(&mut salt)?;
    let mut payload = Writer::new();
    payload
        .raw(&keys.meta)
        .raw(&keys.id)
        .raw(&keys.chunker)
        .raw(keys.data_secret.as_ref().unwrap_or(&keys.data_public));
    info.encode(&mut payload);
    let mut payload = payload.finish();
    let mut header = Writer::new();
    header
        .raw(KEY_MAGIC)
        .u16(KEY_VERSION)
        .u8(code)
        .u32(params.m_cost)
        .u32(params.t_cost)
        .u32(params.p_cost)
        .raw(&salt)
        .u32((payload.len() + SEAL_OVERHEAD) as u32);
    let header = header.finish();
    let mut wrap = kdf.derive(password, &salt)?;
    let cipher = Aes256Gcm::new((&wrap).into());
    wrap.zeroize();
    let sealed = seal_with(&cipher, &header, &payload);
    payload.zeroize();
    let mut label = Writer::new();
    info.encode(&mut label);
    let session = keys.session()?;
    let mut aad = LABEL_AAD.to_vec();
    aad.extend_from_slice(&header);
    let label = session.sealer.seal(&aad, &label.finish())?;
    let mut out = header;
    out.extend_from_slice(&sealed?);
    out.extend_from_slice(&session.public);
    out.extend_from_slice(&label);
    Ok(out)
}

/// How a key file derives its wrapping key (read without the password).
pub fn key_file_kdf(bytes: &[u8]) -> Result<KeyKdf> {
    Ok(parse_key_file(bytes)?.kdf)
}

struct KeyFileParts<'a> {
    kdf: KeyKdf,
    salt: [u8; 32],
    header: &'a [u8],
    sealed: &'a [u8],
    label_session: [u8; 32],
    label: &'a [u8],
}

fn parse_key_file(bytes: &[u8]) -> Result<KeyFileParts<'_>> {
    let mut r = Reader::new(bytes, "key file");
    if r.take(8)? != KEY_MAGIC {
        return Err(Error::corrupt("not a hvelv key file (bad magic)"));
    }
    let v = r.u16()?;
    if v != KEY_VERSION {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "key file version {v} is not supported (this build reads {KEY_VERSION}); \
                 version 1 came from development builds before put-only keys"
            ),
        ));
    }
    let code = r.u8()?;
    let p = KdfParams {
        m_cost: r.u32()?,
        t_cost: r.u32()?,
        p_cost: r.u32()?,
    };
    let kdf = match code {
        KDF_ARGON2ID => {
            p.validate()?;
            KeyKdf::Argon2id(p)
        }
        KDF_GENERATED if p.m_cost == 0 && p.t_cost == 0 && p.p_cost == 0 => KeyKdf::Generated,
        _ => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("key file KDF {code} unknown"),
            ))
        }
    };
    let salt = r.array::<32>()?;
    let sealed_len = r.u32()? as usize;
    let header_len = bytes.len() - r.remaining();
    let sealed = r.take(sealed_len)?;
    let label_session = r.array::<32>()?;
    let label = r.take(r.remaining())?;
    Ok(KeyFileParts {
        kdf,
        salt,
        header: &bytes[..header_len],
        sealed,
        label_session,
        label,
    })
}

/// Open key file bytes with `password`. A wrong password gives [`ErrorKind::WrongPassword`].
pub fn unwrap_keys(bytes: &[u8], password: &[u8]) -> Result<(KeySet, KeyInfo)> {
    let parts = parse_key_file(bytes)?;
    let mut wrap = parts.kdf.derive(password, &parts.salt)?;
    let cipher = Aes256Gcm::new((&wrap).into());
    wrap.zeroize();
    let mut payload =
        open_with(&cipher, parts.header, parts.sealed, &"key file").map_err(|_| {
            Error::new(
                ErrorKind::WrongPassword,
                "the password does not open this key file",
            )
        })?;
    let res = (|| {
        let mut r = Reader::new(&payload, "key file payload");
        let meta = r.array()?;
        let id = r.array()?;
        let chunker = r.array()?;
        let mut data: [u8; 32] = r.array()?;
        let info = KeyInfo::decode(&mut r)?;
        r.end()?;
        let keys = match info.kind {
            KeyKind::Full => KeySet {
                meta,
                id,
                chunker,
                data_public: public_of(&data),
                data_secret: Some(data),
            },
            KeyKind::PutOnly => KeySet {
                meta,
                id,
                chunker,
                data_public: data,
                data_secret: None,
            },
        };
        data.zeroize();
        Ok((keys, info))
    })();
    payload.zeroize();
    res
}

/// Read a key file's label with a full key set: what the key is, without its password.
pub fn read_key_label(keys: &KeySet, bytes: &[u8]) -> Result<KeyInfo> {
    let parts = parse_key_file(bytes)?;
    let sealer = keys.open_session(&parts.label_session)?;
    let mut aad = LABEL_AAD.to_vec();
    aad.extend_from_slice(parts.header);
    let plain = sealer.open(&aad, parts.label, &"key file label")?;
    let mut r = Reader::new(&plain, "key file label");
    let info = KeyInfo::decode(&mut r)?;
    r.end()?;
    Ok(info)
}

/// Opens data sealed to sessions: a key set and a cache of the session keys it derived.
/// Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct Opener {
    keys: std::sync::Arc<KeySet>,
    cache:
        std::sync::Arc<std::sync::Mutex<std::collections::HashMap<[u8; SESSION_KEY_LEN], Sealer>>>,
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Opener({})", self.keys.kind().as_str())
    }
}

impl Opener {
    /// An opener for `keys` with an empty cache.
    pub fn new(keys: std::sync::Arc<KeySet>) -> Opener {
        Opener {
            keys,
            cache: Default::default(),
        }
    }

    /// The key set.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The key of session `eph`, derived once. Put-only key sets get [`ErrorKind::PutOnly`].
    pub fn session(&self, eph: &[u8; SESSION_KEY_LEN]) -> Result<Sealer> {
        if let Some(s) = self.lock().get(eph) {
            return Ok(s.clone());
        }
        let s = self.keys.open_session(eph)?;
        self.lock().insert(*eph, s.clone());
        Ok(s)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<[u8; SESSION_KEY_LEN], Sealer>> {
        // Single inserts: a panic elsewhere cannot leave the map inconsistent.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
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
            kind: KeyKind::Full,
            name: String::new(),
            host: "h".into(),
            user: "u".into(),
            created: 1,
        }
    }

    #[test]
    fn wrap_unwrap_and_wrong_password() {
        let k = KeySet::generate().unwrap();
        let f = wrap_keys(&k, b"secret", FAST.into(), &info()).unwrap();
        let (k2, i) = unwrap_keys(&f, b"secret").unwrap();
        assert_eq!(k.meta, k2.meta);
        assert_eq!(k.data_secret, k2.data_secret);
        assert_eq!(k.id, k2.id);
        assert_eq!(i, info());
        let e = unwrap_keys(&f, b"wrong").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WrongPassword);
        assert_eq!(key_file_kdf(&f).unwrap(), KeyKdf::Argon2id(FAST));
    }

    #[test]
    fn generated_key_opens_only_with_its_secret_and_needs_no_kdf() {
        let k = KeySet::generate().unwrap();
        let secret = generate_secret().unwrap();
        assert!(
            secret.starts_with(GENERATED_PREFIX) && secret.len() == GENERATED_PREFIX.len() + 64
        );
        assert_ne!(*secret, *generate_secret().unwrap());
        // A chosen password cannot make a generated key.
        let e = wrap_keys(&k, b"hunter2", KeyKdf::Generated, &info()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let f = wrap_keys(&k, secret.as_bytes(), KeyKdf::Generated, &info()).unwrap();
        assert_eq!(key_file_kdf(&f).unwrap(), KeyKdf::Generated);
        // A trailing newline (from a password file) is fine.
        let with_newline = format!("{}\n", &*secret);
        let (k2, _) = unwrap_keys(&f, with_newline.as_bytes()).unwrap();
        assert_eq!(k.meta, k2.meta);
        for wrong in [
            b"hunter2".to_vec(),
            generate_secret().unwrap().as_bytes().to_vec(),
            secret.as_bytes()[..secret.len() - 1].to_vec(),
            secret.to_uppercase().into_bytes(),
        ] {
            let e = unwrap_keys(&f, &wrong).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::WrongPassword);
        }
        // The secret is not a password for Argon2id keys either way round: only its own file.
        let g = wrap_keys(&k, b"pw", FAST.into(), &info()).unwrap();
        assert_eq!(
            unwrap_keys(&g, secret.as_bytes()).unwrap_err().kind(),
            ErrorKind::WrongPassword
        );
    }

    #[test]
    fn tampered_key_file_is_rejected_without_panic() {
        let k = KeySet::generate().unwrap();
        let f = wrap_keys(&k, b"pw", FAST.into(), &info()).unwrap();
        // Every flipped byte is caught: by the password-sealed part, or (in the label) by the
        // label's own authentication when a full key reads it.
        for i in 0..f.len() {
            let mut g = f.clone();
            g[i] ^= 0x40;
            let caught = unwrap_keys(&g, b"pw").is_err() || read_key_label(&k, &g).is_err();
            assert!(caught, "byte {i}");
        }
        for cut in 0..f.len() {
            let caught =
                unwrap_keys(&f[..cut], b"pw").is_err() || read_key_label(&k, &f[..cut]).is_err();
            assert!(caught, "cut {cut}");
        }
        assert_eq!(read_key_label(&k, &f).unwrap(), info());
    }

    #[test]
    fn put_only_keys_seal_sessions_only_full_keys_open() {
        let full = KeySet::generate().unwrap();
        let put = full.put_only();
        assert_eq!(put.kind(), KeyKind::PutOnly);
        let po_info = KeyInfo {
            kind: KeyKind::PutOnly,
            name: "fileserver".into(),
            ..info()
        };
        // A put-only key file round-trips without the data secret.
        assert!(wrap_keys(&full, b"pw", FAST.into(), &po_info).is_err());
        let f = wrap_keys(&put, b"pw", FAST.into(), &po_info).unwrap();
        let (k, i) = unwrap_keys(&f, b"pw").unwrap();
        assert_eq!(i, po_info);
        assert_eq!(k.kind(), KeyKind::PutOnly);
        assert_eq!(
            (k.meta, k.id, k.data_public),
            (full.meta, full.id, full.data_public)
        );
        // Its sessions are opened by the full key only, and it cannot read labels.
        let s = k.session().unwrap();
        let sealed = s.sealer.seal(b"aad", b"payroll").unwrap();
        let opened = full.open_session(&s.public).unwrap();
        assert_eq!(opened.open(b"aad", &sealed, &"x").unwrap(), b"payroll");
        assert_eq!(
            k.open_session(&s.public).unwrap_err().kind(),
            ErrorKind::PutOnly
        );
        assert_eq!(
            read_key_label(&k, &f).unwrap_err().kind(),
            ErrorKind::PutOnly
        );
        assert_eq!(read_key_label(&full, &f).unwrap(), po_info);
        // Two sessions never share a key; a low-order session key is refused.
        let t = k.session().unwrap();
        assert_ne!(s.public, t.public);
        assert!(full
            .open_session(&t.public)
            .unwrap()
            .open(b"aad", &sealed, &"x")
            .is_err());
        assert_eq!(
            full.open_session(&[0; 32]).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        let opener = Opener::new(std::sync::Arc::new(full.clone()));
        assert!(opener.session(&s.public).is_ok());
        assert!(opener.session(&s.public).is_ok());
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

    /// NIST GCM test case 14 (AES-256, zero key, zero IV, one zero block): the sealed layout
    /// `nonce || ciphertext || tag` is plain AES-256-GCM, whichever crate version computes it.
    #[test]
    fn aes_256_gcm_known_answer() {
        let cipher = Aes256Gcm::new(&[0u8; 32].into());
        let sealed = hex::decode(concat!(
            "000000000000000000000000",
            "cea7403d4d606b6e074ec5d3baf39d18",
            "d0d1c8a799996bf0265b98b5d48ab919"
        ))
        .unwrap();
        assert_eq!(open_with(&cipher, b"", &sealed, &"kat").unwrap(), [0u8; 16]);
        let mut buf = vec![0u8; NONCE_LEN + 16];
        Sealer { cipher }.seal_in_place(b"", &mut buf).unwrap();
        assert_eq!(buf.len(), NONCE_LEN + 16 + TAG_LEN);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn arbitrary_key_files_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120)) {
            let mut b = KEY_MAGIC.to_vec();
            b.extend_from_slice(&data);
            // Mostly rejected before the KDF runs (version, KDF id, parameter ranges).
            let _ = key_file_kdf(&b);
            let _ = key_file_kdf(&data);
        }
    }
}
