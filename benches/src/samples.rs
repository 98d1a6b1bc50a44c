//! Realistic in-memory inputs for the micro-benchmarks, cut from a small generated corpus.
//!
//! [`Samples::generate`] writes a corpus with [`crate::corpus::generate`] into a scratch
//! directory, reads three kinds of bytes back and deletes the directory:
//!
//! * `dump`: the SQL/log text dump (compresses about 6:1 with zstd -3);
//! * `docs`: the office documents concatenated in path order (XML parts, letters, e-mails
//!   with base64, a few random "images": the mixed case);
//! * `scans`: the PDF/JPEG-like scans (random bytes, incompressible).
//!
//! The bytes are the corpus's, so they are deterministic for a seed and change only when the
//! generator's output does.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::corpus::{generate, CorpusSpec};

/// Corpus size from which the samples are cut: large enough for 8 MiB of each kind.
const CORPUS_MIB: u64 = 48;

/// Equal-length byte buffers of each kind of data in the corpus.
#[derive(Debug, Clone)]
pub struct Samples {
    /// Highly compressible text (the database dump).
    pub dump: Vec<u8>,
    /// Office documents: mostly compressible, some random parts.
    pub docs: Vec<u8>,
    /// Incompressible scans.
    pub scans: Vec<u8>,
}

impl Samples {
    /// `len` bytes (at most 8 MiB) of each kind, from a corpus generated with `seed`.
    pub fn generate(len: usize, seed: u64) -> io::Result<Samples> {
        assert!(
            len <= 8 << 20,
            "samples are cut from a {CORPUS_MIB} MiB corpus"
        );
        let dir =
            std::env::temp_dir().join(format!("hvelv-bench-samples-{}-{seed}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        let result = generate(&dir, &CorpusSpec::from_mib(CORPUS_MIB, seed)).and_then(|_| {
            Ok(Samples {
                dump: read_prefix(&files_under(&dir.join("Database"))?, len)?,
                docs: read_prefix(&files_under(&dir.join("Felles"))?, len)?,
                scans: read_prefix(&files_under(&dir.join("Skanning"))?, len)?,
            })
        });
        fs::remove_dir_all(&dir)?;
        result
    }

    /// The three kinds with their names, for benchmark ids.
    pub fn kinds(&self) -> [(&'static str, &[u8]); 3] {
        [
            ("dump", &self.dump),
            ("docs", &self.docs),
            ("scans", &self.scans),
        ]
    }
}

/// Regular files below `root`, in sorted path order.
fn files_under(root: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut names: Vec<PathBuf> = fs::read_dir(root)?
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<_>>()?;
    names.sort();
    for p in names {
        let meta = fs::symlink_metadata(&p)?;
        if meta.is_dir() {
            out.extend(files_under(&p)?);
        } else if meta.is_file() {
            out.push(p);
        }
    }
    Ok(out)
}

/// The first `len` bytes of the files concatenated.
fn read_prefix(files: &[PathBuf], len: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    for f in files {
        if out.len() >= len {
            break;
        }
        out.extend_from_slice(&fs::read(f)?);
    }
    if out.len() < len {
        return Err(io::Error::other(format!(
            "the corpus has only {} bytes of this kind, {len} wanted",
            out.len()
        )));
    }
    out.truncate(len);
    Ok(out)
}
