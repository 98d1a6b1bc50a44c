//! The state directory: job locks, per-job state (last success, last drill, last metrics) and
//! the atomic file writes every nightly output uses.
//!
//! Layout below `state_dir`: `locks/JOB.lock` (flock), `jobs/JOB.json` ([`JobState`]),
//! `drill/JOB-…` (scratch space of a running drill, removed after it), `reports/JOB/` (unless
//! `[run] report_dir` moves the reports).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::metrics::JobMetrics;

/// `/var/lib/hvelv` as root, else `$XDG_STATE_HOME/hvelv` (`~/.local/state/hvelv`).
pub fn default_state_dir() -> PathBuf {
    crate::config::default_dir("/var/lib/hvelv", "XDG_STATE_HOME", ".local/state/hvelv")
}

/// Write `bytes` to `path` so that readers see the old or the new content, never a part:
/// a temporary file in the same folder, fsync, rename, fsync of the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let r = (|| -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r.with_context(|| format!("writing {}", path.display()))
}

/// What one job remembers between runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JobState {
    /// Unix time of the last drill that passed (drills are due `interval` after it).
    pub last_drill_passed: Option<i64>,
    /// The last run's metrics (the metrics file is rebuilt from every job's state).
    pub metrics: Option<JobMetrics>,
}

fn state_path(state_dir: &Path, job: &str) -> PathBuf {
    state_dir.join("jobs").join(format!("{job}.json"))
}

/// The job's state; a missing file is a fresh job, a damaged one is reported and replaced.
pub fn load_state(state_dir: &Path, job: &str) -> JobState {
    let p = state_path(state_dir, job);
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
            eprintln!(
                "warning: job state {} is unreadable ({e}); starting afresh (the next drill is due now)",
                p.display()
            );
            JobState::default()
        }),
        Err(_) => JobState::default(),
    }
}

/// Save the job's state atomically.
pub fn save_state(state_dir: &Path, job: &str, s: &JobState) -> Result<()> {
    write_atomic(&state_path(state_dir, job), &serde_json::to_vec_pretty(s)?)
}

/// An exclusive lock on one job, held for the whole run. It is an `flock` on
/// `locks/JOB.lock`: the kernel releases it when the process ends, however it ends, so a lock
/// left by a crashed or killed run is simply taken by the next one.
#[derive(Debug)]
pub struct JobLock {
    _file: File,
}

/// Take the job's lock; `Ok(None)` when another process holds it.
pub fn try_lock(state_dir: &Path, job: &str) -> Result<Option<JobLock>> {
    let dir = state_dir.join("locks");
    std::fs::create_dir_all(&dir).with_context(|| {
        format!(
            "creating the lock folder {} (see --state-dir)",
            dir.display()
        )
    })?;
    let path = dir.join(format!("{job}.lock"));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Ok(None);
        }
        return Err(e).with_context(|| format!("locking {}", path.display()));
    }
    // For people looking: who holds it (the lock itself is the flock, not this text).
    let _ = file.set_len(0);
    let _ = writeln!(
        file,
        "pid {} started {}",
        std::process::id(),
        chrono::Local::now().to_rfc3339()
    );
    Ok(Some(JobLock { _file: file }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_and_released_on_drop() {
        let d = tempfile::tempdir().unwrap();
        let a = try_lock(d.path(), "j").unwrap().expect("first lock");
        assert!(try_lock(d.path(), "j").unwrap().is_none());
        assert!(try_lock(d.path(), "other").unwrap().is_some());
        drop(a);
        assert!(try_lock(d.path(), "j").unwrap().is_some());
    }

    #[test]
    fn atomic_write_replaces_and_state_round_trips() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x/y.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
        let s = JobState {
            last_drill_passed: Some(5),
            metrics: None,
        };
        save_state(d.path(), "j", &s).unwrap();
        assert_eq!(load_state(d.path(), "j").last_drill_passed, Some(5));
        std::fs::write(d.path().join("jobs/j.json"), b"{garbage").unwrap();
        assert_eq!(load_state(d.path(), "j").last_drill_passed, None);
    }
}
