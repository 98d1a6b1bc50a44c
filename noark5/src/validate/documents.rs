//! N5.28 (files in the document folder against antallDokumentfiler) and N5.33 (files no
//! dokumentobjekt references).

use super::addml::Addml;
use super::sink::{Loc, Sink};
use std::collections::HashSet;
use std::path::Path;

/// Folder names Arkade accepts for the documents, in its search order.
pub const DOCUMENT_DIRS: [&str; 4] = ["dokumenter", "DOKUMENTER", "dokument", "DOKUMENT"];

pub(crate) fn check(dir: &Path, addml: &Addml, referenced: &HashSet<String>, sink: &mut Sink) {
    sink.ran("N5.28");
    sink.ran("N5.33");
    let documented = addml.antall_dokumentfiler.as_deref();
    let Some(name) = DOCUMENT_DIRS.iter().find(|d| dir.join(d).is_dir()) else {
        let msg = match documented {
            Some(n) => {
                format!("no document folder (dokumenter/DOKUMENT) but antallDokumentfiler is {n}")
            }
            None => "no document folder (dokumenter/DOKUMENT) and no antallDokumentfiler".into(),
        };
        if documented == Some("0") && referenced.is_empty() {
            sink.count("N5.28", "document files", 0);
        } else {
            sink.error("N5.28", Loc::none(), msg);
        }
        return;
    };
    let root = dir.join(name);
    let mut files = 0u64;
    for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                sink.error(
                    "N5.28",
                    Loc::file(name),
                    format!("cannot list the document folder: {e}"),
                );
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        files += 1;
        let rel = entry
            .path()
            .strip_prefix(dir)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        if !referenced.contains(&rel) {
            sink.error(
                "N5.33",
                Loc::file(&rel),
                "document file is not referenced by any dokumentobjekt",
            );
        }
    }
    sink.count("N5.28", "document files", files);
    match documented.map(str::parse::<u64>) {
        Some(Ok(n)) if n == files => {}
        Some(Ok(n)) => sink.error(
            "N5.28",
            Loc::file(name),
            format!("antallDokumentfiler is {n}, but the document folder holds {files} files"),
        ),
        Some(Err(_)) => sink.error(
            "N5.28",
            Loc::file("arkivuttrekk.xml"),
            format!(
                "antallDokumentfiler «{}» is not a number",
                documented.unwrap_or_default()
            ),
        ),
        None => sink.error(
            "N5.28",
            Loc::file("arkivuttrekk.xml"),
            "antallDokumentfiler is not documented",
        ),
    }
    if files == 0 {
        sink.error("N5.28", Loc::file(name), "the document folder is empty");
    }
}
