//! S3 Object Lock (WORM) policy and retention: the types every backend and operation share.
//!
//! A repository created with `init --object-lock-days N` records an [`ObjectLock`] in its config
//! (FORMAT.md §5). Every client that opens it hands the policy to its backend
//! ([`super::Backend::set_object_lock`]); from then on every file of a *kept* kind (everything
//! except the short-lived protocol files in `locks/` and `gc/`, see [`FileKind::retained`]) is
//! written with a retention of at least N days, and removing such a file before its retention
//! date fails with [`ErrorKind::Locked`]. Destructive operations ask
//! [`super::Backend::retention`] first and plan around held files.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::FileKind;
use crate::error::{Error, ErrorKind, Result};

/// S3 Object Lock retention mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockMode {
    /// Nobody, not even the bucket owner, can shorten the retention or delete the version.
    Compliance,
    /// Users with `s3:BypassGovernanceRetention` can lift it; others cannot delete.
    Governance,
}

impl LockMode {
    /// The S3 header/XML value (`COMPLIANCE`, `GOVERNANCE`).
    pub fn s3_name(self) -> &'static str {
        match self {
            LockMode::Compliance => "COMPLIANCE",
            LockMode::Governance => "GOVERNANCE",
        }
    }

    /// Parse `compliance`/`governance` (any case).
    pub fn parse(s: &str) -> Result<LockMode> {
        match s.to_ascii_lowercase().as_str() {
            "compliance" => Ok(LockMode::Compliance),
            "governance" => Ok(LockMode::Governance),
            _ => Err(Error::invalid(format!(
                "object lock mode {s:?} is not known; use compliance or governance"
            ))),
        }
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LockMode::Compliance => "compliance",
            LockMode::Governance => "governance",
        })
    }
}

/// The repository's WORM policy: every kept file carries a retention of at least `days` days in
/// `mode` from the moment it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectLock {
    /// Minimum retention in days (1 ..= 36500).
    pub days: u32,
    /// Retention mode.
    pub mode: LockMode,
}

/// Retention written on top of the policy, so that a client clock slightly behind the server's
/// still yields at least `days` days measured by the server.
pub const CLOCK_MARGIN_SECS: i64 = 3600;

impl ObjectLock {
    /// Check the bounds.
    pub fn validate(&self) -> Result<()> {
        if !(1..=36500).contains(&self.days) {
            return Err(Error::invalid(format!(
                "object lock days {} is out of range (1 to 36500)",
                self.days
            )));
        }
        Ok(())
    }

    /// The retain-until date for a file written at `now`.
    pub fn until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + Duration::days(i64::from(self.days)) + Duration::seconds(CLOCK_MARGIN_SECS)
    }

    /// Whether `r` satisfies this policy for a file stored at `r.written` (or, unknown, now).
    pub fn satisfied_by(&self, r: &Retention) -> bool {
        let written = r.written.unwrap_or_else(Utc::now);
        r.mode == Some(self.mode) && r.until >= written + Duration::days(i64::from(self.days))
    }
}

impl fmt::Display for ObjectLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} days, {} mode", self.days, self.mode)
    }
}

/// The retention a stored file carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retention {
    /// Mode; `None` when the server reported a date but a mode hvelv does not know.
    pub mode: Option<LockMode>,
    /// The file cannot be deleted before this time.
    pub until: DateTime<Utc>,
    /// When the stored version was written, when the backend knows.
    pub written: Option<DateTime<Utc>>,
}

impl Retention {
    /// True while the retention has not expired at `now`.
    pub fn holds_at(&self, now: DateTime<Utc>) -> bool {
        self.until > now
    }
}

impl FileKind {
    /// Whether files of this kind get the repository's retention. Job markers and deletion
    /// generations are short-lived protocol files that must be removable at once; they are
    /// written without retention headers (DESIGN.md, "WORM offsite copies").
    pub fn retained(self) -> bool {
        !matches!(self, FileKind::Lock | FileKind::Gc)
    }
}

/// A file kept because its Object Lock retention has not expired, for plans and reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Held {
    /// What kind of file (`pack`, `index`, `snapshot`, ...).
    pub kind: String,
    /// Its name (hex id).
    pub name: String,
    /// Retained until (RFC 3339, UTC).
    pub until: String,
    /// Why, when the file is kept for another file's sake (e.g. an index file naming a pack).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub because: Option<String>,
}

impl Held {
    /// A held file.
    pub fn new(kind: FileKind, name: &str, until: DateTime<Utc>) -> Held {
        Held {
            kind: kind.to_string(),
            name: name.to_owned(),
            until: format_until(until),
            because: None,
        }
    }
}

impl fmt::Display for Held {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} held by Object Lock until {}",
            self.kind,
            self.name.get(..8).unwrap_or(&self.name),
            self.until
        )?;
        if let Some(b) = &self.because {
            write!(f, " ({b})")?;
        }
        Ok(())
    }
}

/// A retention date as shown to users: RFC 3339 in UTC, whole seconds.
pub fn format_until(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The error for an attempt to delete or overwrite a file under retention.
pub fn locked_error(
    location: &str,
    kind: FileKind,
    name: &str,
    r: &Retention,
    what: &str,
) -> Error {
    let mode = r.mode.map(|m| m.to_string()).unwrap_or("unknown".into());
    Error::new(
        ErrorKind::Locked,
        format!(
            "cannot {what} {kind} {name} at {location}: it is under S3 Object Lock retention \
             ({mode} mode) until {}. It can be removed after that date; `hvelv prune` and \
             `hvelv forget` plan around such files and report them",
            format_until(r.until)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_round_trip_and_bounds() {
        let p = ObjectLock {
            days: 30,
            mode: LockMode::Compliance,
        };
        let j = serde_json::to_string(&p).unwrap();
        assert_eq!(j, r#"{"days":30,"mode":"compliance"}"#);
        assert_eq!(serde_json::from_str::<ObjectLock>(&j).unwrap(), p);
        assert!(ObjectLock { days: 0, ..p }.validate().is_err());
        assert_eq!(LockMode::parse("GOVERNANCE").unwrap(), LockMode::Governance);
        assert!(LockMode::parse("strict").is_err());
    }

    #[test]
    fn satisfaction() {
        let p = ObjectLock {
            days: 10,
            mode: LockMode::Governance,
        };
        let t = Utc::now();
        let ok = Retention {
            mode: Some(LockMode::Governance),
            until: p.until(t),
            written: Some(t),
        };
        assert!(p.satisfied_by(&ok));
        let short = Retention {
            until: t + Duration::days(9),
            ..ok.clone()
        };
        assert!(!p.satisfied_by(&short));
        let other_mode = Retention {
            mode: Some(LockMode::Compliance),
            ..ok
        };
        assert!(!p.satisfied_by(&other_mode));
        assert!(!FileKind::Lock.retained() && FileKind::Pack.retained());
    }
}
