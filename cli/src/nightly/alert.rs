//! The mass-change alert: a pure function of what the night's backup changed.
//!
//! Signals, each compared with its threshold:
//! * modified files / regular files in the previous snapshot,
//! * deleted files / regular files in the previous snapshot,
//! * new bytes stored uncompressed / new bytes (`backup`'s `NewDataStats`): ordinary documents
//!   compress, encrypted ones do not.
//!
//! The file shares need a previous snapshot with at least `min_files` files and the byte share
//! at least `min_new_data` new bytes, so a tiny night cannot raise it by chance.

use serde::{Deserialize, Serialize};

use super::config::Thresholds;

/// What the backup and the change list measured.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Signals {
    /// Regular files in the previous snapshot (`None`: first backup).
    pub files_in_previous: Option<u64>,
    /// Regular files whose content changed.
    pub files_modified: u64,
    /// Regular files deleted.
    pub files_deleted: u64,
    /// New plaintext bytes.
    pub new_bytes: u64,
    /// Of those, stored uncompressed; `None` when compression is off.
    pub new_bytes_incompressible: Option<u64>,
}

/// The verdict, as reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertReport {
    /// False when `[jobs.NAME.alert] enabled = false` or no backup was made.
    pub evaluated: bool,
    /// True when any share passed its threshold.
    pub raised: bool,
    /// One sentence per share past its threshold.
    pub reasons: Vec<String>,
    /// Modified / previous files (null: not measurable).
    pub changed_files_share: Option<f64>,
    /// Deleted / previous files.
    pub deleted_files_share: Option<f64>,
    /// Uncompressed / new bytes.
    pub incompressible_share: Option<f64>,
    /// Thresholds in force (fractions).
    pub thresholds: Option<ThresholdsReport>,
    /// Offsite snapshots protected because of the alert: `repository:snapshot id`.
    pub protected: Vec<String>,
}

/// [`Thresholds`] as reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ThresholdsReport {
    pub changed_files: f64,
    pub deleted_files: f64,
    pub incompressible_data: f64,
    pub min_files: u64,
    pub min_new_data: u64,
}

fn pct(x: f64) -> String {
    format!("{:.0} %", x * 100.0)
}

/// Evaluate the signals against the thresholds.
pub fn evaluate(t: &Thresholds, s: &Signals) -> AlertReport {
    let mut r = AlertReport {
        evaluated: true,
        thresholds: Some(ThresholdsReport {
            changed_files: t.changed_files,
            deleted_files: t.deleted_files,
            incompressible_data: t.incompressible_data,
            min_files: t.min_files,
            min_new_data: t.min_new_data,
        }),
        ..AlertReport::default()
    };
    if let Some(prev) = s.files_in_previous.filter(|&n| n > 0) {
        let changed = s.files_modified as f64 / prev as f64;
        let deleted = s.files_deleted as f64 / prev as f64;
        r.changed_files_share = Some(changed);
        r.deleted_files_share = Some(deleted);
        if prev >= t.min_files {
            if changed > t.changed_files {
                r.reasons.push(format!(
                    "{} of {prev} files were modified ({}, threshold {})",
                    s.files_modified,
                    pct(changed),
                    pct(t.changed_files)
                ));
            }
            if deleted > t.deleted_files {
                r.reasons.push(format!(
                    "{} of {prev} files were deleted ({}, threshold {})",
                    s.files_deleted,
                    pct(deleted),
                    pct(t.deleted_files)
                ));
            }
        }
    }
    if let Some(inc) = s.new_bytes_incompressible.filter(|_| s.new_bytes > 0) {
        let share = inc as f64 / s.new_bytes as f64;
        r.incompressible_share = Some(share);
        if s.new_bytes >= t.min_new_data && share > t.incompressible_data {
            r.reasons.push(format!(
                "{} of the {} new bytes did not compress ({}, threshold {}): encrypted data?",
                inc,
                s.new_bytes,
                pct(share),
                pct(t.incompressible_data)
            ));
        }
    }
    r.raised = !r.reasons.is_empty();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(prev: u64, modified: u64, deleted: u64) -> Signals {
        Signals {
            files_in_previous: Some(prev),
            files_modified: modified,
            files_deleted: deleted,
            ..Signals::default()
        }
    }

    #[test]
    fn file_shares_against_thresholds() {
        let t = Thresholds::default(); // 30 %, 30 %, min 100 files
        assert!(
            !evaluate(&t, &sig(1000, 300, 0)).raised,
            "at the threshold is not past it"
        );
        let r = evaluate(&t, &sig(1000, 301, 0));
        assert!(r.raised);
        assert_eq!(r.reasons.len(), 1);
        assert!(
            r.reasons[0].contains("301 of 1000 files were modified"),
            "{:?}",
            r.reasons
        );
        let r = evaluate(&t, &sig(1000, 0, 900));
        assert!(r.raised && r.reasons[0].contains("deleted"));
        assert_eq!(r.deleted_files_share, Some(0.9));
        // Too few files to judge: measured, not raised.
        let r = evaluate(&t, &sig(99, 99, 99));
        assert!(!r.raised);
        assert_eq!(r.changed_files_share, Some(1.0));
        // First backup: nothing to compare with.
        let r = evaluate(&t, &Signals::default());
        assert!(r.evaluated && !r.raised && r.changed_files_share.is_none());
    }

    #[test]
    fn incompressible_share() {
        let t = Thresholds {
            min_new_data: 1000,
            ..Thresholds::default()
        };
        let s = |new, inc| Signals {
            new_bytes: new,
            new_bytes_incompressible: inc,
            ..Signals::default()
        };
        assert!(evaluate(&t, &s(10_000, Some(9_500))).raised);
        assert!(!evaluate(&t, &s(10_000, Some(9_000))).raised);
        assert!(
            !evaluate(&t, &s(999, Some(999))).raised,
            "below min_new_data"
        );
        let r = evaluate(&t, &s(10_000, None));
        assert!(
            !r.raised && r.incompressible_share.is_none(),
            "compression off"
        );
    }
}
