//! What a package or an extract says about itself: archive creator, period, archive name and
//! label, read from dias-mets.xml (the agents and `altRecordID`s [`super::create`] writes, as
//! Arkade does) or from arkivuttrekk.xml (ADDML `recordCreator`, `archive`, `archivalPeriod`).
//! `hvelv archive put` tags archive snapshots with them, and the checksums arkivuttrekk.xml
//! documents ([`addml_checksums`]) are part of an extract's fixity reference.

use crate::error::{Error, Result};
use crate::validate::addml;
use quick_xml::events::Event;
use std::collections::BTreeMap;
use std::path::Path;

/// Facts about a package; each is `None` when the source does not give it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageFacts {
    /// The archive creator (arkivskaper).
    pub archive_creator: Option<String>,
    /// First day of the period (YYYY-MM-DD).
    pub period_start: Option<String>,
    /// Last day of the period (YYYY-MM-DD).
    pub period_end: Option<String>,
    /// The archive's name (ADDML `archive`).
    pub archive_name: Option<String>,
    /// The package label (METS `LABEL`).
    pub label: Option<String>,
}

impl PackageFacts {
    /// Read dias-mets.xml (or the package description): the ARCHIVIST ORGANIZATION agent, the
    /// STARTDATE/ENDDATE `altRecordID`s and the root's `LABEL`. Unreadable XML gives no facts.
    pub fn from_mets(bytes: &[u8]) -> PackageFacts {
        let mut f = PackageFacts::default();
        let mut r = quick_xml::Reader::from_reader(bytes);
        let mut buf = Vec::new();
        // What the next text belongs to.
        let mut in_creator_agent = false;
        let mut want: Option<&'static str> = None;
        loop {
            let ev = match r.read_event_into(&mut buf) {
                Ok(Event::Eof) | Err(_) => break,
                Ok(ev) => ev,
            };
            match ev {
                Event::Start(s) | Event::Empty(s) => {
                    let attr = |k: &str| {
                        s.try_get_attribute(k)
                            .ok()
                            .flatten()
                            .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                    };
                    match s.local_name().as_ref() {
                        b"mets" => f.label = attr("LABEL").filter(|l| !l.trim().is_empty()),
                        b"agent" => {
                            in_creator_agent = attr("ROLE").as_deref() == Some("ARCHIVIST")
                                && attr("TYPE").as_deref() == Some("ORGANIZATION")
                                && f.archive_creator.is_none();
                        }
                        b"name" if in_creator_agent => want = Some("creator"),
                        b"altRecordID" => {
                            want = match attr("TYPE").as_deref() {
                                Some("STARTDATE") => Some("start"),
                                Some("ENDDATE") => Some("end"),
                                _ => None,
                            }
                        }
                        _ => {}
                    }
                }
                Event::Text(t) => {
                    if let (Some(w), Ok(t)) = (want.take(), t.unescape()) {
                        let t = t.trim().to_string();
                        if t.is_empty() {
                            continue;
                        }
                        match w {
                            "creator" => {
                                f.archive_creator = Some(t);
                                in_creator_agent = false;
                            }
                            "start" => f.period_start = Some(t),
                            _ => f.period_end = Some(t),
                        }
                    }
                }
                Event::End(e) => {
                    if e.local_name().as_ref() == b"agent" {
                        in_creator_agent = false;
                    }
                    want = None;
                }
                _ => {}
            }
            buf.clear();
        }
        f
    }

    /// Read arkivuttrekk.xml bytes; `path` names the file in errors.
    pub fn from_addml(bytes: &[u8], path: &Path) -> Result<PackageFacts> {
        let c = addml::read_context(bytes, path)?;
        Ok(PackageFacts {
            archive_creator: (!c.creators.is_empty()).then(|| c.creators.join(", ")),
            period_start: c.start,
            period_end: c.end,
            archive_name: c.archive,
            label: None,
        })
    }

    /// These facts, each missing one taken from `other`.
    pub fn or(self, other: PackageFacts) -> PackageFacts {
        PackageFacts {
            archive_creator: self.archive_creator.or(other.archive_creator),
            period_start: self.period_start.or(other.period_start),
            period_end: self.period_end.or(other.period_end),
            archive_name: self.archive_name.or(other.archive_name),
            label: self.label.or(other.label),
        }
    }

    /// The names of the facts an archive snapshot needs that are missing.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.archive_creator.is_none() {
            out.push("archive creator");
        }
        if self.period_start.is_none() {
            out.push("period start");
        }
        if self.period_end.is_none() {
            out.push("period end");
        }
        out
    }
}

/// The SHA-256 checksums arkivuttrekk.xml in `extract` documents, by file name relative to the
/// extract (the XML files and their schemas). Other algorithms are left out.
pub fn addml_checksums(extract: &Path) -> Result<BTreeMap<String, String>> {
    let path = extract.join("arkivuttrekk.xml");
    if !path.is_file() {
        return Err(Error::Output {
            path,
            message: "missing: not a Noark 5 extract (arkivuttrekk.xml is required)".into(),
        });
    }
    let a = addml::read(&path)?;
    let mut out = BTreeMap::new();
    let mut put = |name: &str, c: &addml::Documented| {
        let sha = c
            .algorithm
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case("sha256") || a.eq_ignore_ascii_case("sha-256"));
        if let (true, Some(v)) = (sha, &c.value) {
            out.insert(name.to_string(), v.to_ascii_lowercase());
        }
    };
    for o in &a.objects {
        if let (Some(file), Some(c)) = (&o.file, &o.checksum) {
            put(file, c);
        }
        for s in &o.schemas {
            if let Some(c) = &s.checksum {
                put(&s.name, c);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_from_mets_and_addml() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/noark5");
        let mets = std::fs::read(root.join("golden/package/dias-mets.xml")).unwrap();
        let f = PackageFacts::from_mets(&mets);
        assert_eq!(f.archive_creator.as_deref(), Some("Eksempel kommune"));
        assert_eq!(f.period_start.as_deref(), Some("2020-01-01"));
        assert_eq!(f.period_end.as_deref(), Some("2023-12-31"));
        assert!(f.label.as_deref().unwrap().starts_with("Eksempel kommune"));
        assert!(f.missing().is_empty());

        let p = root.join("existing-v5.0-small/arkivuttrekk.xml");
        let a = PackageFacts::from_addml(&std::fs::read(&p).unwrap(), &p).unwrap();
        assert_eq!(a.archive_creator.as_deref(), Some("Eksempel kommune"));
        assert_eq!(a.period_start.as_deref(), Some("2023-01-01"));
        assert_eq!(a.archive_name.as_deref(), Some("Eksempel kommune sakarkiv"));

        let none = PackageFacts::from_mets(b"<mets><agent ROLE=\"CREATOR\"><name>x</name></agent>");
        assert_eq!(
            none.missing(),
            vec!["archive creator", "period start", "period end"]
        );
        let merged = none.or(a);
        assert_eq!(
            merged.archive_name.as_deref(),
            Some("Eksempel kommune sakarkiv")
        );

        let sums = addml_checksums(&root.join("existing-v5.0-small")).unwrap();
        assert!(sums.contains_key("arkivstruktur.xml"), "{sums:?}");
        assert!(addml_checksums(&root).is_err());
    }
}
