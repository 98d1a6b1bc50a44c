//! The repository config: parameters fixed at `init`, stored sealed in the file `config`.

use serde::{Deserialize, Serialize};

use crate::backend::ObjectLock;
use crate::chunker::ChunkerParams;
use crate::error::{Error, ErrorKind, Result};

/// The repository format version this build writes and reads.
pub const REPO_VERSION: u32 = 2;

/// Default pack target size: 16 MiB.
pub const DEFAULT_PACK_SIZE: u32 = 16 * 1024 * 1024;
/// Default zstd level.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// Repository parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Format version ([`REPO_VERSION`]).
    pub version: u32,
    /// Random repository id (hex).
    pub id: String,
    /// Chunker minimum size in bytes.
    pub chunk_min: u32,
    /// Chunker average size in bytes.
    pub chunk_avg: u32,
    /// Chunker maximum size in bytes.
    pub chunk_max: u32,
    /// Target size of pack files in bytes.
    pub pack_size: u32,
    /// zstd level for blobs (0: no compression).
    pub zstd_level: i32,
    /// Creation time (RFC 3339).
    pub created: String,
    /// S3 Object Lock (WORM) policy every client follows; absent in repositories without one
    /// (optional field: configs written before it existed decode unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_lock: Option<ObjectLock>,
}

impl Config {
    /// The chunker parameters.
    pub fn chunker_params(&self) -> ChunkerParams {
        ChunkerParams {
            min: self.chunk_min,
            avg: self.chunk_avg,
            max: self.chunk_max,
        }
    }

    /// Check every parameter; used at `init` and when a config is read.
    pub fn validate(&self) -> Result<()> {
        if self.version != REPO_VERSION {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "repository format version {} is not supported by this build (it reads version {REPO_VERSION}); \
                     use a matching hvelv release (version 1 came from development builds before put-only keys; copy its files out with that build and back them up again)",
                    self.version
                ),
            ));
        }
        self.chunker_params().validate()?;
        if !(1024 * 1024..=512 * 1024 * 1024).contains(&self.pack_size) {
            return Err(Error::invalid(format!(
                "pack size {} is out of range (1 MiB to 512 MiB)",
                self.pack_size
            )));
        }
        if !(0..=22).contains(&self.zstd_level) {
            return Err(Error::invalid(format!(
                "zstd level {} is out of range (0 to 22; 0 disables compression)",
                self.zstd_level
            )));
        }
        if let Some(l) = &self.object_lock {
            l.validate()?;
        }
        Ok(())
    }

    /// JSON encoding.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("config serializes")
    }

    /// Decode and validate.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let c: Config = serde_json::from_slice(b)
            .map_err(|e| Error::corrupt(format!("repository config: {e}")))?;
        c.validate()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::LockMode;

    const OLD: &str = r#"{"version":2,"id":"00112233445566778899aabbccddeeff","chunk_min":524288,"chunk_avg":1048576,"chunk_max":8388608,"pack_size":16777216,"zstd_level":3,"created":"2026-11-27T04:27:18+00:00"}"#;

    #[test]
    fn object_lock_is_an_optional_field() {
        let c = Config::decode(OLD.as_bytes()).unwrap();
        assert_eq!(c.object_lock, None);
        assert_eq!(
            c.encode(),
            OLD.as_bytes(),
            "configs without a policy encode as before"
        );
        let locked = Config {
            object_lock: Some(ObjectLock {
                days: 30,
                mode: LockMode::Governance,
            }),
            ..c
        };
        let e = String::from_utf8(locked.encode()).unwrap();
        assert!(
            e.ends_with(r#","object_lock":{"days":30,"mode":"governance"}}"#),
            "{e}"
        );
        assert_eq!(Config::decode(e.as_bytes()).unwrap(), locked);
    }
}
