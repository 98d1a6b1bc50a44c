//! Checking a package tar: the DIAS structure Arkade 5 requires of a Noark 5 SIP, and every
//! file's size and SHA-256 against dias-mets.xml. The tar is read once, streaming.

use super::facts::PackageFacts;
use super::files::HashingReader;
use crate::error::{Error, Result};
use quick_xml::events::Event;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// The result of [`check_package`]. Problems are findings, not errors: an `Err` from
/// [`check_package`] means the file could not be read as a tar at all.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PackageCheck {
    /// The package's top folder (its id).
    pub uuid: String,
    /// Files in the tar.
    pub files: usize,
    /// Files whose size and SHA-256 matched dias-mets.xml.
    pub verified: usize,
    /// Whether the package description `{uuid}.xml` beside the tar was found and compared.
    pub description_checked: bool,
    /// Size of the whole tar in bytes.
    pub tar_size: u64,
    /// Lower-case hex SHA-256 of the whole tar.
    pub tar_sha256: String,
    /// Everything wrong, each naming the file.
    pub problems: Vec<String>,
    /// Every file in the tar as read: size, SHA-256 and where its content starts (not in JSON).
    #[serde(skip)]
    pub members: Vec<TarMember>,
    /// What dias-mets.xml and the arkivuttrekk.xml copy say about the package (not in JSON).
    #[serde(skip)]
    pub facts: PackageFacts,
}

/// One file in a package tar, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarMember {
    /// Path inside the top folder, e.g. `content/arkivstruktur.xml`.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Byte offset of the content in the tar.
    pub offset: u64,
}

/// Files a Noark 5 SIP must hold (Arkade's DiasProvider), relative to the top folder.
const REQUIRED: [&str; 7] = [
    "dias-mets.xml",
    "dias-mets.xsd",
    "administrative_metadata/dias-premis.xml",
    "administrative_metadata/dias-premis.xsd",
    "content/arkivstruktur.xml",
    "content/arkivstruktur.xsd",
    "content/metadatakatalog.xsd",
];
/// XML files that may be absent, but never without their schema.
const OPTIONAL_PAIRS: [&str; 3] = ["endringslogg", "loependeJournal", "offentligJournal"];

struct Listed {
    size: Option<u64>,
    sha256: Option<String>,
}

/// Check the package tar at `path` (and its description `{uuid}.xml` when it lies beside it).
pub fn check_package(path: &Path) -> Result<PackageCheck> {
    let f = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let name = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let dir = path.parent().unwrap_or(Path::new("."));
    check_package_stream(BufReader::new(f), path, |uuid| {
        let desc = dir.join(format!("{uuid}.xml"));
        if !desc.is_file() {
            return Ok(None);
        }
        let bytes = std::fs::read(&desc).map_err(|e| Error::io("reading", &desc, e))?;
        Ok(Some((name.clone(), bytes)))
    })
}

/// Check a package tar read from `reader` (read once, to its end); `path` names it in
/// messages. `description` is asked for the package description's bytes once the package id
/// is known; it returns the tar's file name with them, or `None` when there is none.
pub fn check_package_stream(
    reader: impl Read,
    path: &Path,
    description: impl FnOnce(&str) -> Result<Option<(String, Vec<u8>)>>,
) -> Result<PackageCheck> {
    let mut archive = tar::Archive::new(HashingReader::new(reader));
    let bad = |e: std::io::Error| Error::Output {
        path: path.to_path_buf(),
        message: format!("not a readable tar package: {e}"),
    };
    let mut roots = BTreeSet::new();
    let mut dirs = BTreeSet::new();
    let mut seen: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let mut mets: Option<Vec<u8>> = None;
    let mut addml: Option<Vec<u8>> = None;
    let mut members = Vec::new();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let raw = entry.path_bytes().into_owned();
        let Ok(name) = String::from_utf8(raw) else {
            return Err(Error::Output {
                path: path.to_path_buf(),
                message: "an entry name is not UTF-8".into(),
            });
        };
        let name = name.trim_end_matches('/').to_string();
        let (root, rel) = name.split_once('/').unwrap_or((&name, ""));
        roots.insert(root.to_string());
        if entry.header().entry_type().is_dir() {
            dirs.insert(rel.to_string());
            continue;
        }
        let offset = entry.raw_file_position();
        let mut r = HashingReader::new(&mut entry);
        if rel == "dias-mets.xml" || rel == "administrative_metadata/arkivuttrekk.xml" {
            let mut buf = Vec::new();
            r.read_to_end(&mut buf).map_err(bad)?;
            if rel == "dias-mets.xml" {
                mets = Some(buf);
            } else {
                addml = Some(buf);
            }
        } else {
            std::io::copy(&mut r, &mut std::io::sink()).map_err(bad)?;
        }
        let (size, sha256) = (r.size, r.digest());
        members.push(TarMember {
            name: rel.to_string(),
            size,
            sha256: sha256.clone(),
            offset,
        });
        seen.insert(rel.to_string(), (size, sha256));
    }
    // Hash the rest (end-of-archive blocks) so the digest covers the whole tar file.
    let mut whole = archive.into_inner();
    std::io::copy(&mut whole, &mut std::io::sink()).map_err(bad)?;
    let tar_size = whole.size;
    let tar_sha = whole.digest();
    let mut out = PackageCheck {
        files: seen.len(),
        tar_size,
        tar_sha256: tar_sha.clone(),
        members,
        ..Default::default()
    };
    if roots.len() != 1 {
        return Err(Error::Output {
            path: path.to_path_buf(),
            message: format!(
                "not a DIAS package: expected one top folder named by the package id, found {}",
                if roots.is_empty() {
                    "an empty tar".to_string()
                } else {
                    format!("{roots:?}")
                }
            ),
        });
    }
    out.uuid = roots.into_iter().next().unwrap_or_default();
    if uuid::Uuid::parse_str(&out.uuid).is_err() {
        out.problems
            .push(format!("top folder {:?} is not a UUID", out.uuid));
    }
    for req in REQUIRED {
        if !seen.contains_key(req) {
            out.problems
                .push(format!("{req}: missing (required in a Noark 5 SIP)"));
        }
    }
    let has_dir =
        |d: &str| dirs.contains(d) || seen.keys().any(|k| k.starts_with(&format!("{d}/")));
    if !has_dir("descriptive_metadata") {
        out.problems
            .push("descriptive_metadata/: missing (required in a Noark 5 SIP)".into());
    }
    for base in OPTIONAL_PAIRS {
        let xml = format!("content/{base}.xml");
        let xsd = format!("content/{base}.xsd");
        if seen.contains_key(&xml) && !seen.contains_key(&xsd) {
            out.problems
                .push(format!("{xml}: present without its schema {xsd}"));
        }
    }
    if let Some((tar_name, bytes)) = description(&out.uuid)? {
        out.description_checked = true;
        check_description(
            &bytes,
            &tar_name,
            (tar_size, &tar_sha),
            seen.get("dias-mets.xml"),
            &mut out,
        );
    }
    if let Some(a) = &addml {
        // A copy that cannot be read leaves the facts to dias-mets.xml; the validator of the
        // extract reports the file itself.
        if let Ok(f) =
            PackageFacts::from_addml(a, &path.join("administrative_metadata/arkivuttrekk.xml"))
        {
            out.facts = f;
        }
    }
    if let Some(m) = &mets {
        out.facts = PackageFacts::from_mets(m).or(std::mem::take(&mut out.facts));
    }
    let Some(mets) = mets else {
        return Ok(out);
    };
    let listed = match read_mets(&mets) {
        Ok(l) => l,
        Err(m) => {
            out.problems.push(format!("dias-mets.xml: {m}"));
            return Ok(out);
        }
    };
    for (name, l) in &listed {
        let Some((size, sha)) = seen.get(name) else {
            out.problems.push(format!(
                "{name}: listed in dias-mets.xml but not in the package"
            ));
            continue;
        };
        let mut ok = true;
        if l.size != Some(*size) {
            ok = false;
            out.problems.push(format!(
                "{name}: size {size} differs from SIZE {} in dias-mets.xml",
                l.size.map_or("(none)".to_string(), |s| s.to_string())
            ));
        }
        if l.sha256.as_deref().map(str::to_ascii_lowercase).as_ref() != Some(sha) {
            ok = false;
            out.problems.push(format!(
                "{name}: SHA-256 {sha} differs from CHECKSUM {} in dias-mets.xml",
                l.sha256.as_deref().unwrap_or("(none)")
            ));
        }
        if ok {
            out.verified += 1;
        }
    }
    for name in seen.keys() {
        if name != "dias-mets.xml" && !listed.contains_key(name) {
            out.problems.push(format!(
                "{name}: in the package but not listed in dias-mets.xml"
            ));
        }
    }
    Ok(out)
}

/// Compare the package description's entries for the tar and dias-mets.xml with the real ones.
fn check_description(
    bytes: &[u8],
    tar_file: &str,
    (tar_size, tar_sha): (u64, &str),
    mets: Option<&(u64, String)>,
    out: &mut PackageCheck,
) {
    let d = format!("{}.xml", out.uuid);
    let listed = match read_mets(bytes) {
        Ok(l) => l,
        Err(m) => {
            out.problems.push(format!("{d}: {m}"));
            return;
        }
    };
    let tar_name = format!("{}.tar", out.uuid);
    if tar_file != tar_name {
        out.problems.push(format!(
            "{tar_file}: the tar is not named {tar_name} after its top folder"
        ));
    }
    for (name, real) in [
        (tar_name.as_str(), Some((tar_size, tar_sha))),
        ("dias-mets.xml", mets.map(|(s, h)| (*s, h.as_str()))),
    ] {
        let (Some(l), Some((size, sha))) = (listed.get(name), real) else {
            out.problems
                .push(format!("{d}: does not list {name}, or {name} is missing"));
            continue;
        };
        if l.size != Some(size)
            || l.sha256.as_deref().map(str::to_ascii_lowercase).as_deref() != Some(sha)
        {
            out.problems.push(format!(
                "{d}: {name} has size {size} and SHA-256 {sha}, the description lists {} and {}",
                l.size.map_or("(none)".to_string(), |s| s.to_string()),
                l.sha256.as_deref().unwrap_or("(none)")
            ));
        }
    }
}

/// The files dias-mets.xml lists (`file` with `FLocat`, and `mdRef`), by path inside the package.
fn read_mets(bytes: &[u8]) -> std::result::Result<BTreeMap<String, Listed>, String> {
    let mut r = quick_xml::Reader::from_reader(bytes);
    let mut out = BTreeMap::new();
    let mut current: Option<Listed> = None;
    let mut buf = Vec::new();
    loop {
        let ev = r
            .read_event_into(&mut buf)
            .map_err(|e| format!("byte {}: {e}", r.buffer_position()))?;
        let (start, empty) = match &ev {
            Event::Start(s) => (Some(s.clone()), false),
            Event::Empty(s) => (Some(s.clone()), true),
            Event::End(e) => {
                if e.local_name().as_ref() == b"file" {
                    current = None;
                }
                (None, false)
            }
            Event::Eof => break,
            _ => (None, false),
        };
        if let Some(s) = start {
            let mut attrs = BTreeMap::new();
            for a in s.attributes() {
                let a = a.map_err(|e| format!("byte {}: {e}", r.buffer_position()))?;
                let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                let value = a
                    .unescape_value()
                    .map_err(|e| format!("byte {}: {e}", r.buffer_position()))?
                    .into_owned();
                attrs.insert(key, value);
            }
            let listed = |a: &BTreeMap<String, String>| Listed {
                size: a.get("SIZE").and_then(|s| s.parse().ok()),
                sha256: a.get("CHECKSUM").cloned(),
            };
            let href = |a: &BTreeMap<String, String>| {
                a.get("xlink:href")
                    .map(|h| h.strip_prefix("file:").unwrap_or(h).to_string())
            };
            match s.local_name().as_ref() {
                b"file" if !empty => current = Some(listed(&attrs)),
                b"FLocat" => {
                    if let (Some(l), Some(h)) = (current.take(), href(&attrs)) {
                        out.insert(h, l);
                    }
                }
                b"mdRef" => {
                    if let Some(h) = href(&attrs) {
                        out.insert(h, listed(&attrs));
                    }
                }
                _ => {}
            }
        }
        buf.clear();
    }
    if out.is_empty() {
        return Err("lists no files".into());
    }
    Ok(out)
}
