//! Typed 32-byte identifiers.
//!
//! Blob ids are keyed BLAKE3 hashes of the plaintext (see `crypto`); file ids (packs, index
//! files, snapshots) are unkeyed BLAKE3 hashes of the stored (encrypted) bytes, so storage
//! integrity can be checked without a key.

use std::fmt;

use crate::error::{Error, Result};

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// Length of the id in bytes.
            pub const LEN: usize = 32;
            /// Lower-case hex, 64 characters.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
            /// The first 8 hex characters, for display.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..4])
            }
            /// Parse 64 hex characters.
            pub fn from_hex(s: &str) -> Result<Self> {
                let mut out = [0u8; 32];
                hex::decode_to_slice(s, &mut out).map_err(|_| {
                    Error::invalid(format!(
                        "{s:?} is not a {} (expected 64 hex characters)",
                        stringify!($name)
                    ))
                })?;
                Ok($name(out))
            }
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }
    };
}

id_type!(
    /// Id of a blob (a data chunk or a tree): keyed BLAKE3 of its plaintext.
    BlobId
);
id_type!(
    /// Id of a stored file (pack, index, snapshot, key): BLAKE3 of its stored bytes.
    FileId
);

impl FileId {
    /// The id of stored bytes.
    pub fn of(bytes: &[u8]) -> FileId {
        FileId(*blake3::hash(bytes).as_bytes())
    }
}
