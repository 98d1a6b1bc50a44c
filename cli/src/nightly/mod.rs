//! Nightly operations: named repositories and jobs in the configuration file, `hvelv run`
//! (backup → changes and alert → forget → prune → copy offsite → budgeted check → restore
//! drill), run reports, metrics, hooks, job locks, and `hvelv schedule` for systemd or cron.
//!
//! * [`config`]: the `[run]`, `[repositories.NAME]` and `[jobs.NAME]` sections and their
//!   validation into a [`config::JobPlan`].
//! * [`run`](mod@run): the steps of one job and what depends on what.
//! * [`alert`]: the mass-change verdict (pure).
//! * [`report`], [`metrics`], [`hooks`]: what a run leaves behind.
//! * [`state`]: the state directory, job locks, atomic writes.
//! * [`schedule`]: systemd units and cron lines.

pub mod alert;
pub mod config;
pub mod hooks;
pub mod metrics;
pub mod report;
pub mod run;
pub mod schedule;
pub mod state;

use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::args::{Global, RunArgs};
use crate::config::Config;

/// The configuration file for `run`/`schedule`: `--config`, `HVELV_CONFIG`, or the default.
pub fn load_config(g: &Global) -> Result<(PathBuf, Config)> {
    let path = match &g.config {
        Some(p) => p.clone(),
        None => {
            let d = PathBuf::from(crate::config::DEFAULT_PATH);
            if !d.exists() {
                bail!(
                    "no configuration file: jobs are defined in {} (or give --config FILE / \
                     HVELV_CONFIG); docs/hvelv.example.toml shows a full example",
                    crate::config::DEFAULT_PATH
                );
            }
            d
        }
    };
    let c = crate::config::load(&path)?;
    Ok((path, c))
}

/// `hvelv run JOB...|--all`.
pub async fn run(g: &Global, a: RunArgs) -> Result<i32> {
    let (path, cfg) = load_config(g)?;
    let known: Vec<String> = cfg.jobs.keys().cloned().collect();
    let names: Vec<String> = if a.all { known.clone() } else { a.jobs.clone() };
    if names.is_empty() {
        if known.is_empty() {
            bail!(
                "{} defines no jobs: add a [jobs.NAME] section (see docs/hvelv.example.toml)",
                path.display()
            );
        }
        bail!(
            "say which job to run (or --all); jobs in {}: {}",
            path.display(),
            known.join(", ")
        );
    }
    for n in &names {
        if !cfg.jobs.contains_key(n) {
            bail!(
                "no job {n:?} in {}; jobs: {}",
                path.display(),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            );
        }
    }
    let state_dir = a
        .state_dir
        .clone()
        .or_else(|| cfg.run.state_dir.clone())
        .unwrap_or_else(state::default_state_dir);
    let dirs = run::Dirs {
        reports: cfg
            .run
            .report_dir
            .clone()
            .unwrap_or_else(|| state_dir.join("reports")),
        state: state_dir,
        metrics: cfg.run.metrics_file.clone(),
        keep_reports: cfg.run.keep_reports.unwrap_or(60).max(1),
        all_jobs: known,
    };
    let mut code = crate::exit::OK;
    for name in &names {
        let plan = match config::plan_job(name, &cfg.jobs[name], &cfg.repositories) {
            Ok(p) => p,
            Err(problems) => {
                for p in problems {
                    eprintln!("{}: {p}", path.display());
                }
                eprintln!("job {name} was not run: fix the configuration (`hvelv config check`)");
                code = run::worst(code, crate::exit::FATAL);
                continue;
            }
        };
        let c = match run::run_job(g, &plan, &dirs).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("job {name}: {e:#}");
                crate::exit::FATAL
            }
        };
        code = run::worst(code, c);
    }
    Ok(code)
}
