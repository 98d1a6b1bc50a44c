//! Package metadata: who delivers what to which depot, read from a small JSON file and/or flags.
//!
//! The fields are the ones Arkade 5 asks for in its metadata file (depot, archive creator,
//! contact, period, system); the JSON format is hvelv's own and is documented in docs/NOARK5.md
//! with an example in `fixtures/noark5/package-metadata.json`.

use crate::error::{Error, Result};
use crate::time::{parse_date, Date};
use serde::Deserialize;
use std::path::Path;

/// A contact person at the archive creator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Name (mandatory).
    pub name: String,
    /// Telephone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
}

/// The system the extract was taken from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct System {
    /// Product name (mandatory), e.g. "Elements".
    pub name: String,
    /// Product version.
    #[serde(default)]
    pub version: Option<String>,
}

/// The period the extract covers, as given in the metadata (`YYYY-MM-DD`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// First day.
    pub start: String,
    /// Last day.
    pub end: String,
}

/// The package metadata as read (every field optional so flags can fill gaps);
/// [`PackageMetadata::checked`] turns it into [`CheckedMetadata`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageMetadata {
    /// A human label for the package; default "{archive_creator} {start}–{end}".
    #[serde(default)]
    pub label: Option<String>,
    /// The receiving depot (arkivdepot), e.g. "IKA Kongsberg".
    #[serde(default)]
    pub depot: Option<String>,
    /// The archive creator (arkivskaper), e.g. "Eksempel kommune".
    #[serde(default)]
    pub archive_creator: Option<String>,
    /// Contact person at the archive creator.
    #[serde(default)]
    pub contact: Option<Contact>,
    /// The source system.
    #[serde(default)]
    pub system: Option<System>,
    /// The period covered.
    #[serde(default)]
    pub period: Option<Period>,
}

/// Metadata with every mandatory field present and the dates parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedMetadata {
    /// Package label.
    pub label: String,
    /// Receiving depot.
    pub depot: String,
    /// Archive creator.
    pub archive_creator: String,
    /// Contact person.
    pub contact: Contact,
    /// Source system.
    pub system: System,
    /// First day of the period.
    pub start: Date,
    /// Last day of the period.
    pub end: Date,
}

impl PackageMetadata {
    /// Read the JSON metadata file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("reading", path, e))?;
        serde_json::from_str(&text).map_err(|e| {
            Error::invalid(
                path.display().to_string(),
                "",
                format!("line {} column {}: {e}", e.line(), e.column()),
            )
        })
    }

    /// Check every mandatory field is there (naming the first missing one and where it can
    /// come from) and parse the period.
    pub fn checked(&self, source: &str) -> Result<CheckedMetadata> {
        let need = |v: Option<&str>, field: &str, flag: &str| -> Result<String> {
            match v.map(str::trim) {
                Some(s) if !s.is_empty() => Ok(s.to_string()),
                _ => Err(Error::invalid(
                    source,
                    field,
                    format!("missing: give it in the metadata file or with {flag}"),
                )),
            }
        };
        let depot = need(self.depot.as_deref(), "depot", "--depot")?;
        let archive_creator = need(
            self.archive_creator.as_deref(),
            "archive_creator",
            "--archive-creator",
        )?;
        let contact = self.contact.clone().unwrap_or_default();
        need(Some(&contact.name), "contact.name", "--contact")?;
        let system = self.system.clone().unwrap_or_default();
        need(Some(&system.name), "system.name", "--system")?;
        let period = self.period.clone().unwrap_or_default();
        let date = |v: &str, field: &str, flag: &str| -> Result<Date> {
            let s = need(Some(v), field, flag)?;
            parse_date(&s).map_err(|e| match e {
                Error::Invalid { message, .. } => Error::invalid(source, field, message),
                other => other,
            })
        };
        let start = date(&period.start, "period.start", "--period-start")?;
        let end = date(&period.end, "period.end", "--period-end")?;
        if end < start {
            return Err(Error::invalid(
                source,
                "period.end",
                format!("{end} is before period.start {start}"),
            ));
        }
        let label = match self.label.as_deref().map(str::trim) {
            Some(l) if !l.is_empty() => l.to_string(),
            _ => format!("{archive_creator} {start}–{end}"),
        };
        Ok(CheckedMetadata {
            label,
            depot,
            archive_creator,
            contact,
            system,
            start,
            end,
        })
    }
}
