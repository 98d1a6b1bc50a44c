//! N5.01–N5.03: the files arkivuttrekk.xml lists exist, their checksums match, and each XML file
//! validates against its listed schemas.

use super::addml::{Addml, Documented};
use super::sink::{Loc, Sink};
use super::xsd;
use super::{ValidateOptions, XsdMode};
use crate::digest::sha256_file;
use crate::schemas::ADDML_XSD;
use std::collections::HashSet;
use std::path::Path;

pub(crate) fn check(dir: &Path, addml: &Addml, opts: &ValidateOptions, sink: &mut Sink) {
    sink.ran("N5.01");
    sink.ran("N5.02");
    let mut seen = HashSet::new();
    for o in &addml.objects {
        let Some(file) = &o.file else {
            sink.error(
                "N5.01",
                Loc::file("arkivuttrekk.xml"),
                format!("dataObject «{}» names no file", o.object_name),
            );
            continue;
        };
        check_file(dir, file, o.checksum.as_ref(), true, &mut seen, sink);
        for s in &o.schemas {
            check_file(
                dir,
                &s.name,
                s.checksum.as_ref(),
                s.checksum.is_some(),
                &mut seen,
                sink,
            );
        }
    }
    xsd_check(dir, addml, opts, sink);
    official_check(dir, addml, opts, sink);
}

/// HV.04: krav 6.4.18 allows only Arkivverket's XSDs, unchanged. Each Noark schema the extract
/// ships is compared with the same file of the official set of the declared version (when that
/// set was given), ignoring CR before LF (a CRLF copy is the same schema). A difference is a
/// warning: it can be another official revision (v5.0 has a 2019 and a 2023 one) as well as a
/// modified copy, which only a person can tell apart.
fn official_check(dir: &Path, addml: &Addml, opts: &ValidateOptions, sink: &mut Sink) {
    let version = addml.version.as_deref();
    let Some(set) = opts.official_schemas(version) else {
        return;
    };
    sink.ran("HV.04");
    let mut seen = HashSet::new();
    for s in addml.objects.iter().flat_map(|o| o.schemas.iter()) {
        let (local, official) = (dir.join(&s.name), set.join(&s.name));
        if !seen.insert(s.name.clone()) || !local.is_file() || !official.is_file() {
            continue;
        }
        match (std::fs::read(&local), std::fs::read(&official)) {
            (Ok(a), Ok(b)) if without_cr(&a) == without_cr(&b) => {
                sink.count("HV.04", "official schemas", 1);
            }
            (Ok(_), Ok(_)) => sink.warn(
                "HV.04",
                Loc::file(&s.name),
                format!(
                    "differs from the official v{} schema {}: another revision or a modified \
                     copy (krav 6.4.18 allows only Arkivverket's schemas, unchanged)",
                    version.filter(|v| known(v)).unwrap_or("5.0"),
                    official.display()
                ),
            ),
            (Err(e), _) => sink.error("HV.04", Loc::file(&s.name), format!("cannot be read: {e}")),
            (_, Err(e)) => sink.error(
                "HV.04",
                Loc::file(&s.name),
                format!("official {} cannot be read: {e}", official.display()),
            ),
        }
    }
}

fn without_cr(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            continue;
        }
        out.push(*b);
    }
    out
}

fn check_file(
    dir: &Path,
    name: &str,
    documented: Option<&Documented>,
    checksum_required: bool,
    seen: &mut HashSet<String>,
    sink: &mut Sink,
) {
    let path = dir.join(name);
    if !path.is_file() {
        if seen.insert(format!("missing:{name}")) {
            sink.error(
                "N5.01",
                Loc::file(name),
                "listed in arkivuttrekk.xml but not found in the extract",
            );
        }
        if checksum_required {
            sink.error(
                "N5.02",
                Loc::file(name),
                "file not found, checksum cannot be checked",
            );
        }
        return;
    }
    sink.count(
        "N5.01",
        "files found",
        u64::from(seen.insert(format!("found:{name}"))),
    );
    if !checksum_required {
        return;
    }
    let Some(d) = documented else {
        sink.error(
            "N5.02",
            Loc::file(name),
            "no checksum documented in arkivuttrekk.xml",
        );
        return;
    };
    match d.algorithm.as_deref() {
        Some("SHA-256") | Some("SHA256") => {}
        Some(other) => {
            sink.error(
                "N5.02",
                Loc::file(name),
                format!("checksum algorithm «{other}» is not SHA-256"),
            );
            return;
        }
        None => {
            sink.error("N5.02", Loc::file(name), "no checksum algorithm documented");
            return;
        }
    }
    let Some(expected) = d.value.as_deref() else {
        sink.error("N5.02", Loc::file(name), "no checksum value documented");
        return;
    };
    match sha256_file(&path) {
        Ok((actual, _)) if actual.eq_ignore_ascii_case(expected) => {
            sink.count("N5.02", "checksums correct", 1);
        }
        Ok((actual, _)) => sink.error(
            "N5.02",
            Loc::file(name),
            format!("documented checksum {expected} does not match the actual {actual}"),
        ),
        Err(e) => sink.error("N5.02", Loc::file(name), format!("cannot be read: {e}")),
    }
}

fn xsd_check(dir: &Path, addml: &Addml, opts: &ValidateOptions, sink: &mut Sink) {
    if opts.xsd == XsdMode::Skip {
        sink.warn(
            "N5.03",
            Loc::none(),
            "XSD validation skipped on request (--skip-xsd); the extract is not schema-checked",
        );
        return;
    }
    if !xsd::xmllint_available() {
        sink.error(
            "N5.03",
            Loc::none(),
            "xmllint is not installed, so XSD validation cannot run; install it (Debian/Ubuntu: \
             apt-get install libxml2-utils) or pass --skip-xsd to accept an unchecked result",
        );
        return;
    }
    sink.ran("N5.03");
    let known_version = addml.version.as_deref().is_some_and(known);
    if !known_version {
        sink.error(
            "N5.03",
            Loc::file("arkivuttrekk.xml"),
            format!(
                "Noark 5 version «{}» is not 3.1, 4.0 or 5.0; files without their own schema are \
                 validated against the v5.0 set",
                addml.version.as_deref().unwrap_or("(none)")
            ),
        );
    }
    // arkivuttrekk.xml itself against addml.xsd.
    let mut units: Vec<(String, String)> = Vec::new();
    units.push(("arkivuttrekk.xml".into(), "addml.xsd".into()));
    for o in &addml.objects {
        let Some(file) = &o.file else { continue };
        let main = o
            .schemas
            .iter()
            .find(|s| s.main)
            .or_else(|| o.schemas.first())
            .map(|s| s.name.clone())
            .unwrap_or_else(|| format!("{}.xsd", file.trim_end_matches(".xml")));
        if !o.schemas.iter().any(|s| s.name == main) {
            sink.error(
                "N5.03",
                Loc::file("arkivuttrekk.xml"),
                format!("schema file {main} for {file} is not documented in arkivuttrekk.xml"),
            );
        }
        units.push((file.clone(), main));
    }
    for (xml, xsd_name) in units {
        if !dir.join(&xml).is_file() {
            continue;
        }
        let local = dir.join(&xsd_name);
        let xsd_path = if local.is_file() {
            local
        } else {
            let version = addml.version.as_deref();
            // ADDML is versioned apart from Noark 5: addml.xsd comes with the v5.0 set.
            let (set, which, flag) = if xsd_name == ADDML_XSD {
                (
                    opts.fallback_schemas.as_deref(),
                    "ADDML".to_string(),
                    schema_flag(None),
                )
            } else {
                (
                    opts.official_schemas(version),
                    format!("v{}", version.filter(|v| known(v)).unwrap_or("5.0")),
                    schema_flag(version),
                )
            };
            match set {
                Some(set) if set.join(&xsd_name).is_file() => {
                    sink.error(
                        "N5.03",
                        Loc::file(&xml),
                        format!(
                            "schema {xsd_name} is not in the extract; validated against the \
                             official {which} schema {} instead",
                            set.join(&xsd_name).display()
                        ),
                    );
                    set.join(&xsd_name)
                }
                _ => {
                    sink.error(
                        "N5.03",
                        Loc::file(&xml),
                        format!(
                            "schema {xsd_name} is not in the extract and no official {which} \
                             schema set with it was given ({flag}), so {xml} cannot be validated"
                        ),
                    );
                    continue;
                }
            }
        };
        let xsd_abs = std::fs::canonicalize(&xsd_path).unwrap_or(xsd_path);
        match xsd::validate(dir, &xsd_abs, &xml) {
            Ok(errs) => {
                sink.count("N5.03", "files validated", 1);
                let mut distinct = HashSet::new();
                for e in errs {
                    if distinct.len() >= 100 {
                        break;
                    }
                    if distinct.insert((e.line, e.message.clone())) {
                        sink.error_line("N5.03", &xml, e.line, e.message);
                    }
                }
            }
            Err(e) => sink.error("N5.03", Loc::file(&xml), e.to_string()),
        }
    }
}

fn known(version: &str) -> bool {
    matches!(version, "3.1" | "4.0" | "5.0")
}

/// Where the user gives the official schema set of `version`.
pub(crate) fn schema_flag(version: Option<&str>) -> &'static str {
    match version {
        Some("3.1") => "--schemas-v31 / HVELV_NOARK5_SCHEMAS_V31",
        Some("4.0") => "--schemas-v40 / HVELV_NOARK5_SCHEMAS_V40",
        _ => "--schemas / HVELV_NOARK5_SCHEMAS",
    }
}
