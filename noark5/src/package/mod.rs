//! Deposit packages: a validated extract packed as a DIAS SIP the way Arkade 5 packs it
//! (see docs/NOARK5.md "Packaging").
//!
//! ```text
//! OUT/{uuid}.tar       {uuid}/dias-mets.xml, dias-mets.xsd, log.xml,
//!                      administrative_metadata/{dias-premis.xml, dias-premis.xsd, arkivuttrekk.xml, addml.xsd},
//!                      descriptive_metadata/, content/ (the extract unchanged)
//! OUT/{uuid}.xml       the package description (METS, submissionDescription.xsd)
//! ```
//!
//! # Invariants
//! - The extract is read twice and never copied: a first pass hashes every file (the METS must
//!   list SHA-256 and size before the tar is written), the second streams each file into the
//!   tar and re-hashes it; a file that changed in between fails the run.
//! - Both outputs are written as `.{uuid}.*.partial` in the output folder, synced, and renamed
//!   (tar first, description last); on any error the partial files are removed, so a
//!   `{uuid}.xml` beside a `{uuid}.tar` means the package is complete.
//! - An extract the validator finds errors in is refused unless forced; a forced package
//!   records the failed validation in log.xml.

mod check;
mod facts;
mod files;
mod meta;
mod xml;

pub use check::{check_package, check_package_stream, PackageCheck, TarMember};
pub use facts::{addml_checksums, PackageFacts};
pub use files::PackageFile;
pub use meta::{CheckedMetadata, Contact, PackageMetadata, Period, System};
pub use xml::PROFILE;

use crate::error::{Error, Result};
use crate::validate::Report;
use files::{Bytes, HashingReader, HashingWriter, Item};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The environment variable naming the folder with the DIAS package schemas.
pub const ENV_VAR: &str = "HVELV_DIAS_SCHEMAS";

/// The DIAS schema files a package carries, as (name in the schema folder, name in the package).
pub const DIAS_XSDS: [(&str, &str); 2] = [
    ("DIAS_METS.xsd", "dias-mets.xsd"),
    ("DIAS_PREMIS.xsd", "administrative_metadata/dias-premis.xsd"),
];

/// How to package.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    /// The package id (also the tar's and description's file name).
    pub uuid: uuid::Uuid,
    /// When the package is made (every timestamp written uses this).
    pub created: chrono::DateTime<chrono::Utc>,
    /// Package even though the validation report has errors.
    pub force: bool,
    /// Folder with DIAS_METS.xsd and DIAS_PREMIS.xsd (Arkivverket's DIAS schemas).
    pub dias_schemas: PathBuf,
    /// The packaging software named in the metadata, e.g. "hvelv 0.1.0".
    pub software: String,
}

/// What [`create`] made.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PackageSummary {
    /// The package id.
    pub uuid: String,
    /// `{out}/{uuid}.tar`.
    pub tar: PathBuf,
    /// `{out}/{uuid}.xml`.
    pub description: PathBuf,
    /// Size of the tar in bytes.
    pub tar_size: u64,
    /// SHA-256 of the tar.
    pub tar_sha256: String,
    /// Files listed in dias-mets.xml.
    pub files: usize,
    /// Errors the validation before packaging found (non-zero only with `force`).
    pub validation_errors: u64,
}

/// Pack the extract in `extract` into `out` (created if missing). `report` is the validation
/// report of that extract; with errors in it, packaging is refused unless `opts.force`.
pub fn create(
    extract: &Path,
    out: &Path,
    meta: &CheckedMetadata,
    report: &Report,
    opts: &PackageOptions,
) -> Result<PackageSummary> {
    let errors = report.error_count();
    if errors > 0 && !opts.force {
        return Err(Error::Rejected {
            path: extract.to_path_buf(),
            message: format!(
                "validation found {errors} error(s); fix the extract, or package anyway with \
                 --force (the failed validation is then recorded in the package's log.xml)"
            ),
        });
    }
    for f in ["arkivuttrekk.xml", "addml.xsd"] {
        if !extract.join(f).is_file() {
            return Err(Error::Document {
                path: extract.join(f),
                message: "missing; a package carries a copy of it in administrative_metadata/"
                    .into(),
            });
        }
    }
    let uuid = opts.uuid.to_string();
    std::fs::create_dir_all(out).map_err(|e| Error::io("creating", out, e))?;
    let tar_path = out.join(format!("{uuid}.tar"));
    let desc_path = out.join(format!("{uuid}.xml"));
    for p in [&tar_path, &desc_path] {
        if p.exists() {
            return Err(Error::Output {
                path: p.clone(),
                message: "already exists; a package is never overwritten".into(),
            });
        }
    }
    let tar_tmp = out.join(format!(".{uuid}.tar.partial"));
    let desc_tmp = out.join(format!(".{uuid}.xml.partial"));
    let result = write_all(extract, meta, report, opts, &tar_tmp, &desc_tmp).and_then(|s| {
        rename(&tar_tmp, &tar_path)?;
        if let Err(e) = rename(&desc_tmp, &desc_path) {
            let _ = std::fs::remove_file(&tar_path);
            return Err(e);
        }
        sync_dir(out)?;
        Ok(s)
    });
    match result {
        Ok((tar, files)) => Ok(PackageSummary {
            uuid,
            tar: tar_path,
            description: desc_path,
            tar_size: tar.size,
            tar_sha256: tar.sha256,
            files,
            validation_errors: errors,
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&tar_tmp);
            let _ = std::fs::remove_file(&desc_tmp);
            Err(e)
        }
    }
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| Error::io("renaming into place", to, e))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("syncing folder", dir, e))
}

/// Build the inventory and metadata, write the tar and the description to the temporary
/// paths. Returns the tar's own entry and the number of files listed in dias-mets.xml.
fn write_all(
    extract: &Path,
    meta: &CheckedMetadata,
    report: &Report,
    opts: &PackageOptions,
    tar_tmp: &Path,
    desc_tmp: &Path,
) -> Result<(PackageFile, usize)> {
    let uuid = opts.uuid.to_string();
    let created = opts
        .created
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let facts = xml::Facts {
        uuid: &uuid,
        created: &created,
        meta,
        software: &opts.software,
    };
    let (content, content_dirs) = files::inventory(extract, "content/")?;
    let mut own = Vec::new();
    for (from, to) in DIAS_XSDS {
        let p = opts.dias_schemas.join(from);
        if !p.is_file() {
            return Err(Error::Schemas {
                path: opts.dias_schemas.clone(),
                message: format!(
                    "{} lacks {from} (the DIAS package schemas; give their folder with \
                     --dias-schemas or {ENV_VAR})",
                    opts.dias_schemas.display()
                ),
            });
        }
        own.push(Item::disk(to, &p)?);
    }
    own.push(Item::disk(
        "administrative_metadata/arkivuttrekk.xml",
        &extract.join("arkivuttrekk.xml"),
    )?);
    own.push(Item::disk(
        "administrative_metadata/addml.xsd",
        &extract.join("addml.xsd"),
    )?);
    let premis = Item::memory(
        "administrative_metadata/dias-premis.xml",
        xml::premis(&facts, &[])?,
    );
    let events = events(&uuid, report, content.len());
    own.push(premis.clone());
    own.push(Item::memory("log.xml", xml::premis(&facts, &events)?));
    own.sort_by(|a, b| a.file.name.cmp(&b.file.name));
    let listed: Vec<PackageFile> = own
        .iter()
        .chain(content.iter())
        .map(|i| i.file.clone())
        .collect();
    let mets = Item::memory(
        "dias-mets.xml",
        xml::dias_mets(&facts, &premis.file, &listed)?,
    );

    let f = File::create(tar_tmp).map_err(|e| Error::io("creating", tar_tmp, e))?;
    let mut tar = tar::Builder::new(HashingWriter::new(BufWriter::new(f)));
    tar.mode(tar::HeaderMode::Deterministic);
    let mtime = opts.created.timestamp().max(0) as u64;
    let mut dirs = vec![
        String::new(),
        "administrative_metadata/".into(),
        "descriptive_metadata/".into(),
        "content/".into(),
    ];
    dirs.extend(content_dirs.into_iter().map(|d| format!("{d}/")));
    let io = |e: std::io::Error| Error::io("writing", tar_tmp, e);
    // Directories first, so every file's parent exists when the tar is unpacked in order.
    for d in &dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        h.set_mode(0o755);
        h.set_mtime(mtime);
        tar.append_data(&mut h, format!("{uuid}/{d}"), std::io::empty())
            .map_err(io)?;
    }
    let all = std::iter::once(&mets)
        .chain(own.iter())
        .chain(content.iter());
    for item in all {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(item.file.size);
        h.set_mode(0o644);
        h.set_mtime(mtime);
        let name = format!("{uuid}/{}", item.file.name);
        match &item.bytes {
            Bytes::Memory(b) => tar.append_data(&mut h, &name, b.as_slice()).map_err(io)?,
            Bytes::Disk(p) => {
                let src = File::open(p).map_err(|e| Error::io("opening", p, e))?;
                let mut r = HashingReader::new(std::io::Read::take(src, item.file.size + 1));
                tar.append_data(&mut h, &name, &mut r)
                    .map_err(|e| Error::io("reading into the package", p, e))?;
                if r.size != item.file.size || r.digest() != item.file.sha256 {
                    return Err(Error::Document {
                        path: p.clone(),
                        message: "changed while the package was written (size or SHA-256 \
                                  differs from the first pass); run again on a quiet extract"
                            .into(),
                    });
                }
            }
        }
    }
    let mut w = tar.into_inner().map_err(io)?;
    w.flush().map_err(io)?;
    let tar_file = PackageFile {
        name: format!("{uuid}.tar"),
        size: w.size,
        sha256: w.digest(),
    };
    let f = w
        .inner
        .into_inner()
        .map_err(|e| Error::io("writing", tar_tmp, e.into_error()))?;
    f.sync_all().map_err(|e| Error::io("syncing", tar_tmp, e))?;

    let desc = xml::description(&facts, &tar_file, &mets.file)?;
    let mut d = File::create(desc_tmp).map_err(|e| Error::io("creating", desc_tmp, e))?;
    d.write_all(&desc)
        .and_then(|_| d.sync_all())
        .map_err(|e| Error::io("writing", desc_tmp, e))?;
    Ok((tar_file, listed.len()))
}

/// The PREMIS events of log.xml: the validation before packaging, then the packaging.
fn events(uuid: &str, report: &Report, content_files: usize) -> Vec<xml::Event> {
    let errors = report.error_count();
    let warnings = report.warning_count();
    let version = report.noark_version.as_deref().unwrap_or("unknown");
    vec![
        xml::Event {
            id: format!("{uuid}-validation"),
            detail: "Validation of the extract with hvelv noark5 validate (Arkade 5 Noark 5 \
                     tests N5.01-N5.64 and HV.*) before packaging"
                .into(),
            outcome: if errors == 0 { "success" } else { "failure" },
            note: if errors == 0 {
                format!("Noark 5 version {version}: 0 errors, {warnings} warnings")
            } else {
                format!(
                    "Noark 5 version {version}: {errors} errors, {warnings} warnings; \
                     packaged anyway with --force"
                )
            },
        },
        xml::Event {
            id: format!("{uuid}-package"),
            detail: "Creation of the SIP package (DIAS) with hvelv noark5 package".into(),
            outcome: "success",
            note: format!("{content_files} files of the extract packed unchanged in content/"),
        },
    ]
}
