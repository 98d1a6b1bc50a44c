//! Source 1: an existing extract folder from the case system (Noark 5 v3.1, v4.0 or v5.0).
//!
//! The extract is validated with [`crate::validate`]; only when it has no errors is it re-emitted:
//! every file is copied byte-for-byte (its checksums stay valid) into `<output>.partial` and
//! the copy is verified against the source's SHA-256 before the folder is renamed into place.
//! Converting older versions to v5.0 is not done: their metadata cannot be mapped without loss
//! (systemIDs are not UUIDs, dokumentobjekt has no systemID), and the depot accepts 3.1/4.0.

use crate::digest::sha256_file;
use crate::error::{Error, Result};
use crate::extract::partial_path;
use crate::validate::{validate, Report, ValidateOptions};
use std::path::{Path, PathBuf};

/// The outcome of re-emitting an existing extract.
#[derive(Debug)]
pub struct Reemitted {
    /// The validation report of the source.
    pub report: Report,
    /// The new extract folder, when the source had no errors.
    pub output: Option<PathBuf>,
    /// Number of files copied.
    pub files: u64,
}

/// Validate `src` and, when it has no errors, copy it to `output`.
pub fn reemit(src: &Path, output: &Path, opts: &ValidateOptions) -> Result<Reemitted> {
    let report = validate(src, opts)?;
    if report.error_count() > 0 {
        return Ok(Reemitted {
            report,
            output: None,
            files: 0,
        });
    }
    if output.exists() {
        return Err(Error::Output {
            path: output.to_path_buf(),
            message: "already exists; choose a new folder".into(),
        });
    }
    let partial = partial_path(output);
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(|e| Error::io("removing stale", &partial, e))?;
    }
    let result = copy_verified(src, &partial);
    let files = match result {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, output).map_err(|e| Error::io("renaming into", output, e))?;
    Ok(Reemitted {
        report,
        output: Some(output.to_path_buf()),
        files,
    })
}

fn copy_verified(src: &Path, dst: &Path) -> Result<u64> {
    let mut n = 0;
    for entry in walkdir::WalkDir::new(src).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Io {
            what: "listing",
            path: src.to_path_buf(),
            source: e.into(),
        })?;
        let rel = entry.path().strip_prefix(src).unwrap_or(entry.path());
        let target = dst.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| Error::io("creating", &target, e))?;
        } else if entry.file_type().is_file() {
            std::fs::copy(entry.path(), &target)
                .map_err(|e| Error::io("copying", entry.path(), e))?;
            let (a, _) = sha256_file(entry.path())?;
            let (b, _) = sha256_file(&target)?;
            if a != b {
                return Err(Error::Document {
                    path: target,
                    message: "the copy differs from the source".into(),
                });
            }
            let f = std::fs::File::open(&target).map_err(|e| Error::io("opening", &target, e))?;
            f.sync_all().map_err(|e| Error::io("syncing", &target, e))?;
            n += 1;
        }
    }
    Ok(n)
}
