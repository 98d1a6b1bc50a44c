//! The run report: a JSON document with a stable schema (`schema` = [`SCHEMA`]; fields are
//! only ever added within a version, documented in docs/DESIGN.md, "Run reports"), a short
//! human summary, and the change list. All three are written next to each other:
//! `REPORT_DIR/JOB/STAMP.json` (STAMP: UTC start time to the millisecond), `STAMP.txt`, `STAMP.changes.txt`, plus `latest.json` and
//! `latest.txt`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::alert::AlertReport;
use crate::commands::human;

/// Schema name and version of the JSON report.
pub const SCHEMA: &str = "hvelv-run-report/1";

/// Outcome of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Done.
    Ok,
    /// Done with something to look at (unreadable files, deferred deletion...).
    Warning,
    /// Not done: see `message`.
    Failed,
    /// Not run: see `message` (not configured, not due, or an earlier step it needs failed).
    Skipped,
}

/// One step of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    /// `backup`, `changes`, `forget`, `prune`, `copy`, `check`, `drill`.
    pub step: String,
    /// Repository name (`default` for the `[repository]` section).
    pub repository: String,
    /// Outcome.
    pub status: StepStatus,
    /// Wall-clock seconds.
    pub duration_seconds: f64,
    /// One line for people.
    pub message: String,
}

/// The night's snapshot.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BackupReport {
    /// Repository name.
    pub repository: String,
    /// Snapshot id (hex).
    pub snapshot: String,
    /// Parent snapshot id, if any.
    pub parent: Option<String>,
    /// Regular files new, content-changed and unchanged as the backup saw them.
    pub files_new: u64,
    /// See `files_new`.
    pub files_changed: u64,
    /// See `files_new`.
    pub files_unchanged: u64,
    /// Folders.
    pub dirs: u64,
    /// Entries that could not be read (left out of the snapshot).
    pub errors: u64,
    /// Bytes of all files in the snapshot.
    pub bytes_total: u64,
    /// Bytes read (files whose metadata changed).
    pub bytes_read: u64,
    /// New, deduplicated bytes (before compression).
    pub bytes_added: u64,
    /// Bytes written to packs (compressed and encrypted).
    pub bytes_stored: u64,
    /// Of `bytes_added`, bytes that did not compress.
    pub bytes_incompressible: u64,
    /// `bytes_read / bytes_added` (null when nothing new).
    pub dedup_ratio: Option<f64>,
    /// `bytes_added / bytes_stored` (null when nothing stored).
    pub compression_ratio: Option<f64>,
    /// The first unreadable entries.
    pub warnings: Vec<String>,
}

/// What changed compared with the previous snapshot (`hvelv diff PARENT SNAPSHOT`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChangeReport {
    /// The previous snapshot (null: first backup, everything is new).
    pub from: Option<String>,
    /// The night's snapshot.
    pub to: String,
    /// The change list (`+`/`-`/`M`/`U`/`T` and the path, one per line).
    pub file: Option<PathBuf>,
    /// Entries added, removed, modified (content or type), metadata only.
    pub added: u64,
    /// See `added`.
    pub removed: u64,
    /// See `added`.
    pub modified: u64,
    /// See `added`.
    pub metadata: u64,
    /// Regular files added, deleted, modified.
    pub files_added: u64,
    /// See `files_added`.
    pub files_deleted: u64,
    /// See `files_added`.
    pub files_modified: u64,
    /// Regular files in the previous snapshot.
    pub files_in_previous: Option<u64>,
}

/// One offsite copy.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CopyReport {
    /// Target repository name.
    pub repository: String,
    /// `source id -> target id` of each snapshot copied now.
    pub copied: Vec<(String, String)>,
    /// Snapshots the target already had.
    pub already_present: usize,
    /// Plaintext bytes sent.
    pub bytes: u64,
    /// Bytes stored in the target.
    pub bytes_stored: u64,
}

/// One repository's verification.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Repository name.
    pub repository: String,
    /// Errors and warnings `check` found.
    pub errors: usize,
    /// See `errors`.
    pub warnings: usize,
    /// The first problems found.
    pub problems: Vec<String>,
    /// Pack data read back this run.
    pub packs_verified: usize,
    /// See `packs_verified`.
    pub bytes_verified: u64,
    /// All packs.
    pub packs_total: usize,
    /// See `packs_total`.
    pub bytes_total: u64,
    /// Share of pack bytes with a clean verification on record (null: structure check only).
    pub coverage: Option<f64>,
    /// Runs at this budget until everything is verified.
    pub runs_for_full_coverage: Option<u64>,
}

/// One repository's restore drill.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DrillReport {
    /// Repository name.
    pub repository: String,
    /// `passed`, `failed`, `error` (could not run).
    pub status: String,
    /// The drill, as the engine reports it (null when it could not run).
    pub outcome: Option<hvelv_engine::ops::drill::DrillOutcome>,
    /// Why it could not run.
    pub error: Option<String>,
}

/// One hook.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HookReport {
    /// `on_success`, `on_failure`, `on_alert`.
    pub hook: String,
    /// The command.
    pub command: String,
    /// Its exit code (null: killed, timed out, or not startable; see `message`).
    pub exit_code: Option<i32>,
    /// Problems.
    pub message: Option<String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    /// [`SCHEMA`].
    pub schema: String,
    /// Job name.
    pub job: String,
    /// Host the job ran on.
    pub host: String,
    /// Start and end (RFC 3339, local time with offset).
    pub started: String,
    /// See `started`.
    pub finished: String,
    /// Wall-clock seconds.
    pub duration_seconds: f64,
    /// `success` (every step ok), `warning`, `failed` (some step failed), `alert`.
    pub status: String,
    /// The process exit code this job contributes.
    pub exit_code: i32,
    /// Steps in the order they ran.
    pub steps: Vec<StepReport>,
    /// The night's snapshot.
    pub backup: Option<BackupReport>,
    /// Changes compared with the previous snapshot.
    pub changes: Option<ChangeReport>,
    /// Mass-change alert.
    pub alert: AlertReport,
    /// Offsite copies.
    pub copies: Vec<CopyReport>,
    /// Verification per repository.
    pub verification: Vec<VerifyReport>,
    /// Drills per repository (empty when none was due).
    pub drills: Vec<DrillReport>,
    /// Hooks run.
    pub hooks: Vec<HookReport>,
}

impl RunReport {
    /// An empty report for `job`.
    pub fn new(job: &str, host: &str, started: &chrono::DateTime<chrono::Local>) -> RunReport {
        RunReport {
            schema: SCHEMA.to_owned(),
            job: job.to_owned(),
            host: host.to_owned(),
            started: started.to_rfc3339(),
            finished: String::new(),
            duration_seconds: 0.0,
            status: String::new(),
            exit_code: 0,
            steps: Vec::new(),
            backup: None,
            changes: None,
            alert: AlertReport::default(),
            copies: Vec::new(),
            verification: Vec::new(),
            drills: Vec::new(),
            hooks: Vec::new(),
        }
    }

    /// Steps that failed.
    pub fn failed_steps(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| s.status == StepStatus::Failed)
            .count()
    }

    /// The short human summary.
    pub fn summary(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "hvelv run {}: {} (exit code {}), {} on {}, {:.0} s",
            self.job,
            self.status.to_uppercase(),
            self.exit_code,
            self.started,
            self.host,
            self.duration_seconds
        );
        for r in &self.alert.reasons {
            let _ = writeln!(o, "  ALERT: {r}");
        }
        for p in &self.alert.protected {
            let _ = writeln!(o, "  ALERT: protected offsite snapshot {p}");
        }
        for s in &self.steps {
            let status = match s.status {
                StepStatus::Ok => "ok",
                StepStatus::Warning => "WARNING",
                StepStatus::Failed => "FAILED",
                StepStatus::Skipped => "skipped",
            };
            let _ = writeln!(
                o,
                "  {:<8} {:<10} {:<8} {:>7.1} s  {}",
                s.step, s.repository, status, s.duration_seconds, s.message
            );
        }
        if let Some(b) = &self.backup {
            let ratio = |r: Option<f64>| r.map(|x| format!("{x:.1}x")).unwrap_or("-".into());
            let _ = writeln!(
                o,
                "  data: {} total, {} read, {} new, {} stored; dedup {}, compression {}",
                human(b.bytes_total),
                human(b.bytes_read),
                human(b.bytes_added),
                human(b.bytes_stored),
                ratio(b.dedup_ratio),
                ratio(b.compression_ratio)
            );
        }
        if let Some(c) = &self.changes {
            let _ = writeln!(
                o,
                "  files: {} new, {} modified, {} deleted{}",
                c.files_added,
                c.files_modified,
                c.files_deleted,
                c.file
                    .as_ref()
                    .map(|f| format!(" (list: {})", f.display()))
                    .unwrap_or_default()
            );
        }
        o
    }
}

/// File names of one run's outputs.
#[derive(Debug, Clone)]
pub struct ReportPaths {
    /// `STAMP.json`.
    pub json: PathBuf,
    /// `STAMP.txt`.
    pub text: PathBuf,
    /// `STAMP.changes.txt`.
    pub changes: PathBuf,
}

impl ReportPaths {
    /// Paths for a run of `job` started at `started`.
    pub fn new(report_dir: &Path, job: &str, started: &chrono::DateTime<chrono::Local>) -> Self {
        let dir = report_dir.join(job);
        let stamp = started
            .with_timezone(&chrono::Utc)
            .format("%Y%m%dT%H%M%S%.3fZ")
            .to_string();
        ReportPaths {
            json: dir.join(format!("{stamp}.json")),
            text: dir.join(format!("{stamp}.txt")),
            changes: dir.join(format!("{stamp}.changes.txt")),
        }
    }
}

/// Write the report, its summary and `latest.*` (each atomically).
pub fn write(paths: &ReportPaths, r: &RunReport) -> Result<()> {
    use super::state::write_atomic;
    let json = serde_json::to_vec_pretty(r)?;
    let text = r.summary();
    write_atomic(&paths.json, &json)?;
    write_atomic(&paths.text, text.as_bytes())?;
    if let Some(dir) = paths.json.parent() {
        write_atomic(&dir.join("latest.json"), &json)?;
        write_atomic(&dir.join("latest.txt"), text.as_bytes())?;
    }
    Ok(())
}

/// Delete all but the newest `keep` runs' files of a job's report folder.
pub fn expire(dir: &Path, keep: usize) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut stamps: Vec<String> = rd
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_suffix(".json")
                .filter(|s| *s != "latest")
                .map(str::to_owned)
        })
        .collect();
    stamps.sort();
    let n = stamps.len().saturating_sub(keep);
    for s in &stamps[..n] {
        for ext in ["json", "txt", "changes.txt"] {
            let _ = std::fs::remove_file(dir.join(format!("{s}.{ext}")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema is an interface: these keys are what monitoring scripts read.
    #[test]
    fn schema_keys_are_stable() {
        let t = chrono::Local::now();
        let mut r = RunReport::new("share", "fil01", &t);
        r.steps.push(StepReport {
            step: "backup".into(),
            repository: "san".into(),
            status: StepStatus::Ok,
            duration_seconds: 1.0,
            message: "snapshot 12345678".into(),
        });
        r.backup = Some(BackupReport::default());
        r.changes = Some(ChangeReport::default());
        let v = serde_json::to_value(&r).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "alert",
                "backup",
                "changes",
                "copies",
                "drills",
                "duration_seconds",
                "exit_code",
                "finished",
                "hooks",
                "host",
                "job",
                "schema",
                "started",
                "status",
                "steps",
                "verification"
            ]
        );
        assert_eq!(v["schema"], "hvelv-run-report/1");
        assert_eq!(v["steps"][0]["status"], "ok");
        for k in [
            "files_new",
            "files_changed",
            "bytes_added",
            "bytes_stored",
            "dedup_ratio",
            "compression_ratio",
            "bytes_incompressible",
        ] {
            assert!(v["backup"].get(k).is_some(), "backup.{k}");
        }
        for k in [
            "files_added",
            "files_deleted",
            "files_modified",
            "file",
            "from",
            "to",
        ] {
            assert!(v["changes"].get(k).is_some(), "changes.{k}");
        }
        for k in ["raised", "reasons", "changed_files_share", "protected"] {
            assert!(v["alert"].get(k).is_some(), "alert.{k}");
        }
        let back: RunReport = serde_json::from_value(v).unwrap();
        assert_eq!(back.steps[0].status, StepStatus::Ok);
        assert!(r.summary().contains("backup   san"));
    }

    #[test]
    fn expire_keeps_the_newest() {
        let d = tempfile::tempdir().unwrap();
        for s in ["20260101T000000Z", "20260102T000000Z", "20260103T000000Z"] {
            for ext in ["json", "txt", "changes.txt"] {
                std::fs::write(d.path().join(format!("{s}.{ext}")), b"x").unwrap();
            }
        }
        std::fs::write(d.path().join("latest.json"), b"x").unwrap();
        expire(d.path(), 2);
        assert!(!d.path().join("20260101T000000Z.changes.txt").exists());
        assert!(d.path().join("20260102T000000Z.json").exists());
        assert!(d.path().join("latest.json").exists());
    }
}
