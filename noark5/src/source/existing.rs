//! Source 1: an existing extract folder from the case system (Noark 5 v3.1, v4.0 or v5.0).
//!
//! Every file is copied byte-for-byte (its checksums stay valid) into `<output>.partial`, each
//! copy verified by SHA-256. Schema files that arkivuttrekk.xml lists but the source lacks (case
//! systems often leave the official XSDs out, though krav 6.4.15 requires them) are added from
//! the official set of the extract's **declared** version, but only when the documented
//! checksum matches the official file exactly; `addml.xsd` (no checksum documented) comes from
//! the ADDML schema given with the v5.0 set. The copy is then validated with
//! [`crate::validate`] (XSD validation against the schemas the extract declares, with the
//! official set of that version as the fallback), and only a copy without errors is renamed to
//! `<output>`; otherwise the partial folder is removed and only the report is returned.
//!
//! Older versions are **not converted to v5.0**: a v3.1/v4.0 extract is re-emitted as what it
//! is. A conversion cannot be done without inventing metadata: v5.0 needs UUID systemIDs (older
//! extracts use any string), a systemID on every dokumentobjekt, and closing dates the older
//! schemas leave optional; and the depot takes v3.1/v4.0 extracts as they are (Arkade 5 tests
//! them in their own version). [`Reemitted::noark_version`] says which version was re-emitted.

use crate::digest::sha256_file;
use crate::error::{Error, Result};
use crate::extract::partial_path;
use crate::schemas::ADDML_XSD;
use crate::validate::{addml, validate, Report, ValidateOptions};
use std::path::{Path, PathBuf};

/// The outcome of re-emitting an existing extract.
#[derive(Debug)]
pub struct Reemitted {
    /// The validation report of the re-emitted copy (source files plus added schemas).
    pub report: Report,
    /// The new extract folder, when the copy had no errors.
    pub output: Option<PathBuf>,
    /// Number of files copied from the source.
    pub files: u64,
    /// The Noark 5 version arkivuttrekk.xml declares; the extract stays in this version.
    pub noark_version: Option<String>,
    /// Schema files added from the official set because the source lacked them.
    pub added_schemas: Vec<String>,
    /// Listed schema files that were missing and could not be added, with the reason.
    pub missing_schemas: Vec<(String, String)>,
}

/// Removes a partial folder unless disarmed.
struct PartialGuard(Option<PathBuf>);

impl Drop for PartialGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// Copy `src` to `<output>.partial`, complete its schemas, validate the copy and, when it has
/// no errors, rename it to `output`.
pub fn reemit(src: &Path, output: &Path, opts: &ValidateOptions) -> Result<Reemitted> {
    if !src.join("arkivuttrekk.xml").is_file() && !src.join("addml.xml").is_file() {
        return Err(Error::invalid(
            src.display().to_string(),
            "arkivuttrekk.xml",
            "not found: the source is not a Noark 5 extract folder",
        ));
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
    let mut guard = PartialGuard(Some(partial.clone()));
    let files = copy_verified(src, &partial)?;
    let (noark_version, added_schemas, missing_schemas) = complete_schemas(&partial, opts)?;
    let mut report = validate(&partial, opts)?;
    report.extract = src.display().to_string();
    if report.error_count() > 0 {
        return Ok(Reemitted {
            report,
            output: None,
            files,
            noark_version,
            added_schemas,
            missing_schemas,
        });
    }
    std::fs::rename(&partial, output).map_err(|e| Error::io("renaming into", output, e))?;
    guard.0 = None;
    Ok(Reemitted {
        report,
        output: Some(output.to_path_buf()),
        files,
        noark_version,
        added_schemas,
        missing_schemas,
    })
}

type Completion = (Option<String>, Vec<String>, Vec<(String, String)>);

/// Add the listed schema files the extract in `dir` lacks from the official set of its
/// declared version, when the documented checksum matches.
fn complete_schemas(dir: &Path, opts: &ValidateOptions) -> Result<Completion> {
    let name = if dir.join("addml.xml").is_file() {
        "addml.xml"
    } else {
        "arkivuttrekk.xml"
    };
    // An unreadable arkivuttrekk.xml is reported by the validation (HV.03).
    let Ok(a) = addml::read(&dir.join(name)) else {
        return Ok((None, Vec::new(), Vec::new()));
    };
    let version = a.version.clone();
    let official = opts.official_schemas(version.as_deref());
    let mut wanted: Vec<(String, Option<addml::Documented>)> = vec![(ADDML_XSD.to_string(), None)];
    for o in &a.objects {
        for s in &o.schemas {
            if !wanted.iter().any(|(n, _)| *n == s.name) {
                wanted.push((s.name.clone(), s.checksum.clone()));
            }
        }
    }
    let (mut added, mut missing) = (Vec::new(), Vec::new());
    for (file, documented) in wanted {
        if dir.join(&file).is_file() {
            continue;
        }
        if file.contains(['/', '\\']) || file.starts_with('.') {
            missing.push((file, "not a plain file name; not added".into()));
            continue;
        }
        // ADDML is versioned apart from Noark 5: addml.xsd comes with the v5.0 set.
        let set = if file == ADDML_XSD {
            opts.fallback_schemas.as_deref()
        } else {
            official
        };
        let Some(from) = set.map(|s| s.join(&file)).filter(|p| p.is_file()) else {
            let v = version.as_deref().unwrap_or("5.0");
            missing.push((
                file,
                format!("not in the extract, and no official v{v} schema set holding it was given"),
            ));
            continue;
        };
        if let Some(d) = &documented {
            let (actual, _) = sha256_file(&from)?;
            let algorithm_ok = matches!(d.algorithm.as_deref(), Some("SHA-256" | "SHA256"));
            let matches = d
                .value
                .as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case(&actual));
            if !(algorithm_ok && matches) {
                missing.push((
                    file,
                    format!(
                        "not in the extract; the official {} does not have the checksum \
                         arkivuttrekk.xml documents, so it is not the file the extract was made \
                         with and was not added",
                        from.display()
                    ),
                ));
                continue;
            }
        }
        let to = dir.join(&file);
        std::fs::copy(&from, &to).map_err(|e| Error::io("copying schema", &from, e))?;
        let f = std::fs::File::open(&to).map_err(|e| Error::io("opening", &to, e))?;
        f.sync_all().map_err(|e| Error::io("syncing", &to, e))?;
        added.push(file);
    }
    Ok((version, added, missing))
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
