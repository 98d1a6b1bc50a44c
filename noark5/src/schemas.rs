//! Locating the official XSD set.
//!
//! The XSDs are not part of hvelv: the user points at Arkivverket's published set with a flag or
//! `HVELV_NOARK5_SCHEMAS`. The set is checked (all six files present, the Noark files declaring
//! `version="5.0"`) and copied byte-for-byte into each extract.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The environment variable naming the schema folder.
pub const ENV_VAR: &str = "HVELV_NOARK5_SCHEMAS";

/// The Noark 5 v5.0 XSDs an extract may need, and ADDML's.
pub const NOARK_XSDS: [&str; 5] = [
    "arkivstruktur.xsd",
    "metadatakatalog.xsd",
    "endringslogg.xsd",
    "loependeJournal.xsd",
    "offentligJournal.xsd",
];
/// The ADDML schema file.
pub const ADDML_XSD: &str = "addml.xsd";

/// A checked folder holding the official schema set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaSet {
    dir: PathBuf,
}

impl SchemaSet {
    /// Use `flag` if given, else `$HVELV_NOARK5_SCHEMAS`; fail with directions when neither
    /// names a complete v5.0 set.
    pub fn locate(flag: Option<&Path>) -> Result<Self> {
        let dir = match flag {
            Some(p) => p.to_path_buf(),
            None => match std::env::var_os(ENV_VAR) {
                Some(v) if !v.is_empty() => PathBuf::from(v),
                _ => {
                    return Err(Error::Schemas {
                        path: PathBuf::new(),
                        message: format!("no schema folder given (flag --schemas or {ENV_VAR})"),
                    })
                }
            },
        };
        Self::open(&dir)
    }

    /// Check `dir` holds a complete v5.0 set.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::Schemas {
                path: dir.to_path_buf(),
                message: format!("{} does not exist", dir.display()),
            });
        }
        let missing: Vec<&str> = NOARK_XSDS
            .iter()
            .chain(std::iter::once(&ADDML_XSD))
            .copied()
            .filter(|f| !dir.join(f).is_file())
            .collect();
        if !missing.is_empty() {
            return Err(Error::Schemas {
                path: dir.to_path_buf(),
                message: format!("{} lacks {}", dir.display(), missing.join(", ")),
            });
        }
        for f in NOARK_XSDS {
            let p = dir.join(f);
            let text = std::fs::read(&p).map_err(|e| Error::io("reading", &p, e))?;
            let head = String::from_utf8_lossy(&text[..text.len().min(4096)]).into_owned();
            if !head.contains("version=\"5.0\"") {
                return Err(Error::Schemas {
                    path: dir.to_path_buf(),
                    message: format!(
                        "{f} does not declare version=\"5.0\" (an older Noark 5 set?)"
                    ),
                });
            }
        }
        Ok(SchemaSet {
            dir: dir.to_path_buf(),
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of one schema file.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}
