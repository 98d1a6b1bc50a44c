//! Metrics in the node_exporter textfile format. The file holds every configured job; it is
//! rebuilt after each run from the jobs' saved state and replaced atomically, so the textfile
//! collector never reads half a file and one job's run never drops another job's lines.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

/// One job's values after its last run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobMetrics {
    /// Unix time the last run ended.
    pub last_run: i64,
    /// Unix time of the last run in which every step succeeded (0: never).
    pub last_success: i64,
    /// Duration of the last run in seconds.
    pub duration_seconds: f64,
    /// Exit code of the last run.
    pub exit_code: i32,
    /// Failed steps in the last run.
    pub failed_steps: u64,
    /// 1 when the last run raised the mass-change alert.
    pub alert: bool,
    /// New bytes the last backup stored (before compression).
    pub bytes_added: u64,
    /// Bytes the last backup wrote after compression and encryption.
    pub bytes_stored: u64,
    /// Files new, modified and deleted compared with the previous snapshot.
    pub files_new: u64,
    /// See `files_new`.
    pub files_changed: u64,
    /// See `files_new`.
    pub files_deleted: u64,
    /// Entries the last backup could not read.
    pub backup_errors: u64,
    /// Share of the job repository's pack bytes with a clean verification on record (0-1).
    pub verified_ratio: Option<f64>,
    /// Unix time of the last passed restore drill (0: never).
    pub drill_last_success: i64,
}

const METRICS: &[(&str, &str, &str)] = &[
    (
        "last_success_timestamp_seconds",
        "gauge",
        "Unix time of the last run in which every step succeeded.",
    ),
    (
        "last_run_timestamp_seconds",
        "gauge",
        "Unix time the last run ended.",
    ),
    ("duration_seconds", "gauge", "Duration of the last run."),
    (
        "exit_code",
        "gauge",
        "Exit code of the last run (see README, exit codes).",
    ),
    ("errors", "gauge", "Failed steps in the last run."),
    (
        "alert",
        "gauge",
        "1 when the last run raised the mass-change alert.",
    ),
    (
        "bytes_added",
        "gauge",
        "New bytes stored by the last backup (before compression).",
    ),
    (
        "bytes_stored",
        "gauge",
        "Bytes written by the last backup (compressed, encrypted).",
    ),
    (
        "files_new",
        "gauge",
        "Files added since the previous snapshot.",
    ),
    (
        "files_changed",
        "gauge",
        "Files modified since the previous snapshot.",
    ),
    (
        "files_deleted",
        "gauge",
        "Files deleted since the previous snapshot.",
    ),
    (
        "backup_errors",
        "gauge",
        "Entries the last backup could not read.",
    ),
    (
        "verified_ratio",
        "gauge",
        "Share of pack bytes with a clean read-back verification on record.",
    ),
    (
        "drill_last_success_timestamp_seconds",
        "gauge",
        "Unix time of the last passed restore drill.",
    ),
];

fn value(m: &JobMetrics, name: &str) -> Option<f64> {
    Some(match name {
        "last_success_timestamp_seconds" => m.last_success as f64,
        "last_run_timestamp_seconds" => m.last_run as f64,
        "duration_seconds" => m.duration_seconds,
        "exit_code" => f64::from(m.exit_code),
        "errors" => m.failed_steps as f64,
        "alert" => f64::from(u8::from(m.alert)),
        "bytes_added" => m.bytes_added as f64,
        "bytes_stored" => m.bytes_stored as f64,
        "files_new" => m.files_new as f64,
        "files_changed" => m.files_changed as f64,
        "files_deleted" => m.files_deleted as f64,
        "backup_errors" => m.backup_errors as f64,
        "verified_ratio" => return m.verified_ratio,
        "drill_last_success_timestamp_seconds" => m.drill_last_success as f64,
        _ => return None,
    })
}

/// Escape a label value (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The textfile for these jobs (in the given order).
pub fn render(jobs: &[(String, JobMetrics)]) -> String {
    let mut out = String::new();
    for (name, ty, help) in METRICS {
        let full = format!("hvelv_job_{name}");
        let _ = writeln!(out, "# HELP {full} {help}");
        let _ = writeln!(out, "# TYPE {full} {ty}");
        for (job, m) in jobs {
            if let Some(v) = value(m, name) {
                let _ = writeln!(out, "{full}{{job=\"{}\"}} {v}", label(job));
            }
        }
    }
    out
}

/// Rebuild the metrics file from the saved state of `jobs`.
pub fn write(path: &Path, state_dir: &Path, jobs: &[String]) -> Result<()> {
    let mut list = Vec::new();
    for j in jobs {
        if let Some(m) = super::state::load_state(state_dir, j).metrics {
            list.push((j.clone(), m));
        }
    }
    super::state::write_atomic(path, render(&list).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textfile_format() {
        let m = JobMetrics {
            last_success: 1700000000,
            alert: true,
            bytes_added: 42,
            ..JobMetrics::default()
        };
        let t = render(&[("share \"a\"".into(), m)]);
        assert!(t.contains("# TYPE hvelv_job_last_success_timestamp_seconds gauge\n"));
        assert!(
            t.contains(
                "hvelv_job_last_success_timestamp_seconds{job=\"share \\\"a\\\"\"} 1700000000\n"
            ),
            "{t}"
        );
        assert!(t.contains("hvelv_job_alert{job=\"share \\\"a\\\"\"} 1\n"));
        assert!(t.contains("hvelv_job_bytes_added{job=\"share \\\"a\\\"\"} 42\n"));
        // No value without a verification on record.
        assert!(!t.contains("hvelv_job_verified_ratio{"));
        for line in t.lines().filter(|l| !l.starts_with('#')) {
            let (_, v) = line.rsplit_once(' ').unwrap();
            v.parse::<f64>().unwrap();
        }
    }
}
