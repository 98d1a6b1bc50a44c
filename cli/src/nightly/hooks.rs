//! `on_success` / `on_failure` / `on_alert`: shell commands run at the end of a job, for mail
//! or chat. They get the job's outcome in the environment:
//!
//! | variable | value |
//! |---|---|
//! | `HVELV_JOB` | job name |
//! | `HVELV_STATUS` | `success`, `warning`, `failed` or `alert` |
//! | `HVELV_EXIT_CODE` | the job's exit code |
//! | `HVELV_ALERT` | `1` when the mass-change alert was raised, else `0` |
//! | `HVELV_REPORT` | path of the JSON report |
//! | `HVELV_SUMMARY` | path of the text summary (its content is a ready mail body) |
//! | `HVELV_CHANGES` | path of the change list (may not exist when no backup was made) |
//!
//! A hook that fails or runs past its timeout (killed) is reported; it never changes the
//! job's exit code, because the job's work is done by then.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::report::{HookReport, ReportPaths, RunReport};

/// Run one hook and wait for it (at most `timeout`).
pub async fn run(
    which: &str,
    command: &str,
    r: &RunReport,
    paths: &ReportPaths,
    timeout: Duration,
) -> HookReport {
    let mut out = HookReport {
        hook: which.to_owned(),
        command: command.to_owned(),
        ..HookReport::default()
    };
    let child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("HVELV_JOB", &r.job)
        .env("HVELV_STATUS", &r.status)
        .env("HVELV_EXIT_CODE", r.exit_code.to_string())
        .env("HVELV_ALERT", if r.alert.raised { "1" } else { "0" })
        .env("HVELV_REPORT", &paths.json)
        .env("HVELV_SUMMARY", &paths.text)
        .env("HVELV_CHANGES", &paths.changes)
        .stdin(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            out.message = Some(format!("cannot start `sh -c {command:?}`: {e}"));
            return out;
        }
    };
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(st)) => {
                out.exit_code = st.code();
                if !st.success() {
                    out.message = Some(format!("the {which} hook failed: {st}"));
                }
                return out;
            }
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                out.message = Some(format!(
                    "the {which} hook ran longer than {} s and was killed",
                    timeout.as_secs()
                ));
                return out;
            }
            Ok(None) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => {
                out.message = Some(format!("waiting for the {which} hook: {e}"));
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(dir: &std::path::Path) -> (RunReport, ReportPaths) {
        let t = chrono::Local::now();
        let mut r = RunReport::new("share", "fil01", &t);
        r.status = "alert".into();
        r.exit_code = 21;
        r.alert.raised = true;
        (r, ReportPaths::new(dir, "share", &t))
    }

    #[tokio::test]
    async fn hooks_see_the_outcome_and_are_bounded() {
        let d = tempfile::tempdir().unwrap();
        let (r, paths) = setup(d.path());
        let out = d.path().join("env");
        let cmd = format!(
            "echo $HVELV_JOB $HVELV_STATUS $HVELV_EXIT_CODE $HVELV_ALERT $HVELV_REPORT > {}",
            out.display()
        );
        let h = run("on_alert", &cmd, &r, &paths, Duration::from_secs(10)).await;
        assert_eq!((h.exit_code, h.message.clone()), (Some(0), None));
        let seen = std::fs::read_to_string(&out).unwrap();
        assert_eq!(seen, format!("share alert 21 1 {}\n", paths.json.display()));

        let h = run("on_failure", "exit 3", &r, &paths, Duration::from_secs(10)).await;
        assert_eq!(h.exit_code, Some(3));
        assert!(h.message.unwrap().contains("failed"));

        let t = Instant::now();
        let h = run(
            "on_alert",
            "sleep 30",
            &r,
            &paths,
            Duration::from_millis(200),
        )
        .await;
        assert!(t.elapsed() < Duration::from_secs(10));
        assert_eq!(h.exit_code, None);
        assert!(h.message.unwrap().contains("was killed"));
    }
}
