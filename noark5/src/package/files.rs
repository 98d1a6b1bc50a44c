//! The file inventory of a package: every file with its path inside the package, size and SHA-256.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// One file of the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFile {
    /// Path inside `{uuid}/`, `/`-separated, e.g. `content/DOKUMENT/1.pdf`.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex SHA-256.
    pub sha256: String,
}

/// Where a package file's bytes come from while the tar is written.
#[derive(Debug, Clone)]
pub(crate) enum Bytes {
    /// A file on disk, read again (and re-hashed) when written to the tar.
    Disk(PathBuf),
    /// Generated in memory (package metadata).
    Memory(Vec<u8>),
}

/// A file to put into the tar.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) file: PackageFile,
    pub(crate) bytes: Bytes,
}

impl Item {
    pub(crate) fn memory(name: &str, bytes: Vec<u8>) -> Item {
        Item {
            file: PackageFile {
                name: name.to_string(),
                size: bytes.len() as u64,
                sha256: hex::encode(Sha256::digest(&bytes)),
            },
            bytes: Bytes::Memory(bytes),
        }
    }

    pub(crate) fn disk(name: &str, path: &Path) -> Result<Item> {
        let (sha256, size) = crate::sha256_file(path)?;
        Ok(Item {
            file: PackageFile {
                name: name.to_string(),
                size,
                sha256,
            },
            bytes: Bytes::Disk(path.to_path_buf()),
        })
    }
}

/// Hash every file below `dir` (the first pass), sorted by path, named `{prefix}{relative path}`.
/// Returns the files and the sub-folders (for tar directory entries). Symbolic links and names
/// that are not UTF-8 are refused: the package must hold the extract exactly and portably.
pub(crate) fn inventory(dir: &Path, prefix: &str) -> Result<(Vec<Item>, Vec<String>)> {
    let mut items = Vec::new();
    let mut dirs = Vec::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name().min_depth(1) {
        let e = e.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            Error::io("walking", path, e.into())
        })?;
        let rel = e.path().strip_prefix(dir).unwrap_or(e.path());
        let Some(rel) = rel.to_str() else {
            return Err(Error::Document {
                path: e.path().to_path_buf(),
                message: "file name is not UTF-8; a package needs UTF-8 names".into(),
            });
        };
        let name = format!("{prefix}{}", rel.replace(std::path::MAIN_SEPARATOR, "/"));
        let ft = e.file_type();
        if ft.is_dir() {
            dirs.push(name);
        } else if ft.is_file() {
            items.push(Item::disk(&name, e.path())?);
        } else {
            return Err(Error::Document {
                path: e.path().to_path_buf(),
                message: "not a regular file (symbolic link or special file); \
                          replace it with the file itself"
                    .into(),
            });
        }
    }
    Ok((items, dirs))
}

/// A writer that counts and hashes what passes through (for the tar itself).
pub(crate) struct HashingWriter<W: Write> {
    pub(crate) inner: W,
    hasher: Sha256,
    pub(crate) size: u64,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    pub(crate) fn digest(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes what it reads (to prove a file did not change between the passes).
pub(crate) struct HashingReader<R: Read> {
    inner: R,
    hasher: Sha256,
    pub(crate) size: u64,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    pub(crate) fn digest(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}
