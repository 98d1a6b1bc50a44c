//! Arkade-equivalent validation of an extract folder.
//!
//! Rule ids are Arkade 5's (N5.01–N5.64, see [`rules::RULES`]) with the same error conditions,
//! plus checks the standard requires and Arkade skips (HV.01 filstoerrelse, HV.02 journal
//! counts, HV.03 arkivuttrekk.xml itself). XSD validation (N5.03) runs xmllint (libxml2) as an
//! external program in streaming mode. Every finding names the file, the line or element path,
//! and the rule.
//!
//! Deliberate differences from Arkade 2.12.4, each because the standard asks for it or to avoid
//! double reporting:
//! - N5.63 also reports self-closing elements (`<x/>`): the standard forbids every empty element.
//! - N5.30 does not report missing files again; N5.32 does.
//! - N5.59/N5.60 report missing journals as errors only when arkivstruktur.xml has journalposts
//!   (the journal schemas cannot hold zero entries).
//! - N5.64 findings are warnings (Arkade only counts them).
//!
//! Memory is bounded by one 128-bit key per systemID and the set of referenced document paths;
//! every XML file is read streaming.

pub(crate) mod addml;
mod content;
mod documents;
mod endringslogg;
mod journals;
mod report;
pub mod rules;
mod sink;
mod structure;
mod xsd;

pub use documents::DOCUMENT_DIRS;
pub use report::{Finding, Report, RuleResult, Severity};
pub use xsd::xmllint_available;

use crate::error::Result;
use sink::{Loc, Sink};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

/// At most this many findings are kept per rule; the rest are counted.
pub const MAX_FINDINGS_PER_RULE: usize = 1000;

/// Whether to run XSD validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XsdMode {
    /// Validate with xmllint; its absence is an N5.03 error.
    #[default]
    Xmllint,
    /// Skip XSD validation (reported as a warning).
    Skip,
}

/// Validation settings.
#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    /// XSD validation mode.
    pub xsd: XsdMode,
    /// The official Noark 5 v5.0 schema folder, used when a v5.0 extract (or one of an unknown
    /// version, as Arkade does) lacks a schema. Using it is reported as an error either way
    /// (Arkade's built-in fallback, N5.03).
    pub fallback_schemas: Option<PathBuf>,
    /// Official schema folders of the older versions Arkade accepts, by version (`"3.1"`,
    /// `"4.0"`): an older extract that lacks a schema is checked against its own version's
    /// set, never against v5.0.
    pub older_schemas: BTreeMap<String, PathBuf>,
}

/// The Noark 5 versions older than 5.0 that Arkade 5 accepts.
pub const OLDER_VERSIONS: [&str; 2] = ["3.1", "4.0"];

impl ValidateOptions {
    /// The official schema folder for an extract of `version`: the older set for 3.1/4.0,
    /// the v5.0 set for 5.0 and for any other value (Arkade's rule).
    pub fn official_schemas(&self, version: Option<&str>) -> Option<&Path> {
        match version {
            Some(v) if OLDER_VERSIONS.contains(&v) => {
                self.older_schemas.get(v).map(PathBuf::as_path)
            }
            _ => self.fallback_schemas.as_deref(),
        }
    }
}

/// Validate the extract in `dir`. An `Err` means the validation could not run at all (the folder
/// is missing); every problem of the extract itself is a finding in the [`Report`].
pub fn validate(dir: &Path, opts: &ValidateOptions) -> Result<Report> {
    if !dir.is_dir() {
        return Err(crate::Error::Io {
            what: "opening extract folder",
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
        });
    }
    let mut sink = Sink::default();
    let addml_name = if dir.join("addml.xml").is_file() {
        "addml.xml"
    } else {
        "arkivuttrekk.xml"
    };
    sink.ran("HV.03");
    let addml = match addml::read(&dir.join(addml_name)) {
        Ok(a) => Some(a),
        Err(e) => {
            sink.error(
                "HV.03",
                Loc::file(addml_name),
                format!("cannot be read: {e}"),
            );
            None
        }
    };
    if let Some(a) = &addml {
        if a.version.is_none() {
            sink.error(
                "HV.03",
                Loc::file(addml_name),
                "no Noark 5 version (info/type/version) documented",
            );
        }
        for (which, v) in [
            ("inngaaendeSkille", &a.inngaaende),
            ("utgaaendeSkille", &a.utgaaende),
        ] {
            match v.as_deref() {
                Some("skarpt" | "mykt") => {}
                Some(other) => sink.warn(
                    "HV.03",
                    Loc::file(addml_name),
                    format!("periode {which} «{other}» is neither «skarpt» nor «mykt»; treated as mykt, as Arkade does"),
                ),
                None => sink.warn("HV.03", Loc::file(addml_name), format!("periode {which} is not documented")),
            }
        }
        structure::check(dir, a, opts, &mut sink);
    }
    let facts = if dir.join("arkivstruktur.xml").is_file() {
        match content::check(dir, addml.as_ref(), &mut sink) {
            Ok(f) => Some(f),
            Err(e) => {
                sink.error(
                    "N5.03",
                    Loc::file("arkivstruktur.xml"),
                    format!("cannot be read: {e}"),
                );
                None
            }
        }
    } else {
        sink.error(
            "N5.01",
            Loc::file("arkivstruktur.xml"),
            "arkivstruktur.xml not found",
        );
        None
    };
    if let (Some(a), Some(f)) = (&addml, &facts) {
        documents::check(dir, a, &f.referenced, &mut sink);
        journals::check(dir, a, f, &mut sink);
        endringslogg::check(dir, f, &mut sink);
    }
    for file in ["arkivstruktur.xml", "endringslogg.xml"] {
        let offsets = sink.offsets_of(file);
        if !offsets.is_empty() {
            let lines = lines_for(&dir.join(file), offsets)?;
            sink.set_lines(file, &lines);
        }
    }
    let version = addml.as_ref().and_then(|a| a.version.clone());
    Ok(sink.into_report(dir.display().to_string(), version))
}

/// Map byte offsets to 1-based line numbers with one pass over the file. An offset points at the
/// `<` of a tag; the indentation before it does not change the line.
fn lines_for(path: &Path, mut offsets: Vec<u64>) -> Result<HashMap<u64, u64>> {
    offsets.sort_unstable();
    offsets.dedup();
    let mut f = std::fs::File::open(path).map_err(|e| crate::Error::io("opening", path, e))?;
    let mut out = HashMap::new();
    let mut buf = vec![0u8; 256 * 1024];
    let (mut pos, mut line, mut next) = (0u64, 1u64, 0usize);
    while next < offsets.len() {
        let n = f
            .read(&mut buf)
            .map_err(|e| crate::Error::io("reading", path, e))?;
        if n == 0 {
            break;
        }
        for b in &buf[..n] {
            while next < offsets.len() && offsets[next] <= pos {
                out.insert(offsets[next], line);
                next += 1;
            }
            if *b == b'\n' {
                line += 1;
            }
            pos += 1;
        }
    }
    while next < offsets.len() {
        out.insert(offsets[next], line);
        next += 1;
    }
    Ok(out)
}
