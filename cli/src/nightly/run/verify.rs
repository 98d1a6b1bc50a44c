//! The verification steps of a run: the budgeted `check` and the restore `drill`, in every
//! repository of the job.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use hvelv_engine::ops::check::{check, Budget, CheckOptions, ReadData};
use hvelv_engine::ops::drill::{drill, DrillOptions, DrillOutcome};
use hvelv_engine::progress::NoProgress;
use hvelv_engine::Repository;

use super::JobRun;
use crate::commands::human;
use crate::nightly::config::DrillPlan;
use crate::nightly::report::{DrillReport, StepStatus, VerifyReport};

impl JobRun<'_> {
    pub(super) async fn check(
        &mut self,
        repo: &Repository,
        name: &str,
        budget: Option<Budget>,
    ) -> Result<(StepStatus, String)> {
        let opts = CheckOptions {
            read_data: budget.map(ReadData::Budget).unwrap_or(ReadData::None),
            ..CheckOptions::default()
        };
        let rep = check(repo.clone(), &opts, Arc::new(NoProgress)).await?;
        let errors = rep.errors().count();
        let cov = rep.read_data.as_ref();
        let coverage = cov.map(|c| {
            if c.bytes_total == 0 {
                1.0
            } else {
                c.bytes_covered as f64 / c.bytes_total as f64
            }
        });
        self.report.verification.push(VerifyReport {
            repository: name.to_owned(),
            errors,
            warnings: rep.problems.len() - errors,
            problems: rep
                .problems
                .iter()
                .take(20)
                .map(|p| p.to_string())
                .collect(),
            packs_verified: cov.map_or(0, |c| c.packs_verified),
            bytes_verified: cov.map_or(0, |c| c.bytes_verified),
            packs_total: rep.packs,
            bytes_total: rep.pack_bytes,
            coverage,
            runs_for_full_coverage: cov.and_then(|c| c.runs_for_full_coverage),
        });
        let mut msg = format!("{} snapshots, {} packs", rep.snapshots, rep.packs);
        if let Some(c) = cov {
            msg.push_str(&format!(
                "; read back {} this run, {:.0} % verified on record",
                human(c.bytes_verified),
                coverage.unwrap_or(0.0) * 100.0
            ));
        }
        if errors > 0 {
            self.damage = true;
            msg = format!("{errors} error(s) found (run `hvelv check`): {msg}");
            return Ok((StepStatus::Failed, msg));
        }
        Ok((StepStatus::Ok, msg))
    }

    pub(super) async fn drills(&mut self, all: &[(String, Option<Repository>)]) {
        let Some(d) = self.plan.drill.clone() else {
            return;
        };
        let now = chrono::Utc::now().timestamp();
        if let Some(last) = self.state.last_drill_passed {
            let due = last.saturating_add(d.interval.as_secs() as i64);
            if now < due {
                let when = chrono::DateTime::from_timestamp(due, 0)
                    .map(|t| t.with_timezone(&chrono::Local).to_rfc3339())
                    .unwrap_or_default();
                let first = all.first().map(|x| x.0.clone()).unwrap_or_default();
                self.step(
                    "drill",
                    &first,
                    StepStatus::Skipped,
                    Instant::now(),
                    format!("not due; next at {when}"),
                );
                return;
            }
        }
        let mut passed = true;
        for (name, repo) in all {
            let t = Instant::now();
            let Some(repo) = repo else {
                passed = false;
                continue;
            };
            let scratch = self.dirs.state.join("drill").join(format!(
                "{}-{name}-{}",
                self.plan.name,
                std::process::id()
            ));
            let r = self.drill_one(repo, &scratch, &d).await;
            let _ = std::fs::remove_dir_all(&scratch);
            match r {
                Ok(out) => {
                    let ok = out.passed();
                    let msg = format!(
                        "snapshot {}: {} files ({}) restored and verified against the recorded \
                         hashes{}{}",
                        &out.snapshot[..8],
                        out.files_verified,
                        human(out.bytes_verified),
                        out.folder
                            .as_ref()
                            .map(|f| format!(", including the folder {f}"))
                            .unwrap_or_default(),
                        if ok {
                            String::new()
                        } else {
                            format!("; {} FAILED: {}", out.failures.len(), out.failures[0])
                        }
                    );
                    self.report.drills.push(DrillReport {
                        repository: name.clone(),
                        status: if ok { "passed" } else { "failed" }.into(),
                        outcome: Some(out),
                        error: None,
                    });
                    if ok {
                        self.step("drill", name, StepStatus::Ok, t, msg);
                    } else {
                        passed = false;
                        self.damage = true;
                        self.step("drill", name, StepStatus::Failed, t, msg);
                    }
                }
                Err(e) => {
                    passed = false;
                    self.report.drills.push(DrillReport {
                        repository: name.clone(),
                        status: "error".into(),
                        outcome: None,
                        error: Some(format!("{e:#}")),
                    });
                    self.failed("drill", name, t, &e);
                }
            }
        }
        if passed {
            self.state.last_drill_passed = Some(now);
        }
    }

    async fn drill_one(
        &self,
        repo: &Repository,
        scratch: &Path,
        d: &DrillPlan,
    ) -> Result<DrillOutcome> {
        let repo = repo
            .clone()
            .load_index()
            .await
            .context("loading the index")?;
        let newest = repo
            .snapshots()
            .await?
            .into_iter()
            .filter(|s| self.is_ours(s))
            .max_by_key(|s| s.snapshot.datetime())
            .with_context(|| {
                format!(
                    "no snapshot of this job (host {}, paths {}) to drill",
                    self.host,
                    self.paths.join(" ")
                )
            })?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id()).rotate_left(32);
        let opts = DrillOptions {
            files: d.files,
            folder_max_files: d.folder_max_files,
            seed,
        };
        Ok(drill(&repo, &newest, scratch, &opts).await?)
    }
}
