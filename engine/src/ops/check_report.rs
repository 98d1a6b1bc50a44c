//! The typed result of `check`: each problem once, with the snapshots and paths it affects.

use std::collections::{BTreeSet, HashSet};
use std::fmt;

use serde::Serialize;

use super::verify::Coverage;
use crate::id::FileId;

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Data is lost or the repository is inconsistent (`check` exits non-zero).
    Error,
    /// Worth fixing, but no snapshot is affected (e.g. a pack from an interrupted backup).
    Warning,
}

/// What is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A snapshot file cannot be read or decoded.
    SnapshotUnreadable,
    /// An index file cannot be read or decoded.
    IndexUnreadable,
    /// An index lists a pack that does not exist.
    PackMissing,
    /// A pack exists that no index lists.
    PackUnindexed,
    /// A pack is damaged: wrong size, unreadable or mismatching header, blobs that fail
    /// authentication, content that does not match its name.
    PackDamaged,
    /// Blobs referenced by snapshots are in no index and no pack.
    BlobsMissing,
    /// Blobs referenced as one type are indexed as the other.
    WrongBlobType,
    /// A verification record (`verify/`) cannot be read; it is ignored and replaced.
    RecordUnreadable,
    /// In a WORM repository: a stored file whose S3 Object Lock retention is missing or shorter
    /// than the policy in the config.
    RetentionViolated,
}

/// One problem, reported once, with what it affects.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// Kind of problem.
    pub kind: ProblemKind,
    /// Severity.
    pub severity: Severity,
    /// The file it is about (pack, index, snapshot or record id, hex), empty for blob groups.
    pub subject: String,
    /// What was found, one line per finding.
    pub details: Vec<String>,
    /// Blobs made unreadable by this problem.
    pub blobs: u64,
    /// Ids of the snapshots affected (full hex), sorted.
    pub snapshots: Vec<String>,
    /// Affected paths (files whose content is hit; directories, ending in `/`, whose listing
    /// is lost), sorted, at most `CheckOptions::max_paths`.
    pub paths: Vec<String>,
    /// Number of distinct affected paths (`paths` may be shorter).
    pub paths_total: u64,
    /// What to do about it.
    pub hint: String,
}

fn short(hex: &str) -> &str {
    hex.get(..8).unwrap_or(hex)
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = short(&self.subject);
        match self.kind {
            ProblemKind::SnapshotUnreadable => write!(f, "snapshot {s} cannot be read")?,
            ProblemKind::IndexUnreadable => write!(f, "index file {s} cannot be read")?,
            ProblemKind::PackMissing => write!(f, "pack {s} is missing")?,
            ProblemKind::PackUnindexed => write!(f, "pack {s} is not in any index")?,
            ProblemKind::PackDamaged => write!(f, "pack {s} is damaged")?,
            ProblemKind::BlobsMissing => {
                write!(f, "{} blobs are in no index and no pack", self.blobs)?
            }
            ProblemKind::WrongBlobType => {
                write!(f, "{} blobs have the wrong type in the index", self.blobs)?
            }
            ProblemKind::RecordUnreadable => write!(f, "verification record {s} cannot be read")?,
            ProblemKind::RetentionViolated => write!(f, "{s} violates the Object Lock policy")?,
        }
        if !self.details.is_empty() {
            write!(f, " ({})", self.details.join("; "))?;
        }
        let snaps: Vec<&str> = self.snapshots.iter().map(|s| short(s)).collect();
        if self.paths_total > 0 {
            write!(
                f,
                ": {} lost in snapshot{} {}: {}",
                plural(self.paths_total, "file"),
                if snaps.len() == 1 { "" } else { "s" },
                snaps.join(", "),
                self.paths.join(", ")
            )?;
            let more = self.paths_total.saturating_sub(self.paths.len() as u64);
            if more > 0 {
                write!(f, ", … and {more} more")?;
            }
        } else if !snaps.is_empty() {
            write!(
                f,
                ": affects snapshot{} {}",
                if snaps.len() == 1 { "" } else { "s" },
                snaps.join(", ")
            )?;
        } else if self.kind == ProblemKind::PackUnindexed {
            write!(
                f,
                ": no snapshot uses it yet (a running or interrupted backup leaves such packs)"
            )?;
        } else if matches!(
            self.kind,
            ProblemKind::PackMissing | ProblemKind::PackDamaged
        ) && self.blobs == 0
        {
            write!(f, ": no snapshot uses its damaged or missing blobs")?;
        }
        if !self.hint.is_empty() {
            write!(f, "; {}", self.hint)?;
        }
        Ok(())
    }
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Accumulates what a problem affects while snapshots are walked.
#[derive(Debug, Default)]
pub(crate) struct Affected {
    pub snapshots: BTreeSet<FileId>,
    pub paths: BTreeSet<String>,
}

impl Affected {
    pub fn add(&mut self, snap: FileId, path: String) {
        self.snapshots.insert(snap);
        self.paths.insert(path);
    }
}

/// The result of `check`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// Snapshots found (readable or not).
    pub snapshots: usize,
    /// Distinct trees read.
    pub trees: usize,
    /// Distinct data blobs referenced by the snapshots.
    pub data_blobs: usize,
    /// Index files found.
    pub index_files: usize,
    /// Packs in the repository.
    pub packs: usize,
    /// Total size of the packs.
    pub pack_bytes: u64,
    /// Problems, each once.
    pub problems: Vec<Problem>,
    /// Present when pack contents were read (`--read-data` or a budget).
    pub read_data: Option<Coverage>,
}

impl CheckReport {
    /// Problems of severity [`Severity::Error`].
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
    }
    /// True if no error was found (warnings allowed).
    pub fn is_clean(&self) -> bool {
        self.errors().next().is_none()
    }
    /// Every affected path of every problem (those listed), deduplicated.
    pub fn affected_paths(&self) -> HashSet<&str> {
        self.problems
            .iter()
            .flat_map(|p| p.paths.iter().map(String::as_str))
            .collect()
    }
}
