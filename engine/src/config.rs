//! The repository config: parameters fixed at `init`, stored sealed in the file `config`.

use serde::{Deserialize, Serialize};

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
