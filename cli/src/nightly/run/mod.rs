//! `hvelv run JOB|--all`: one night of a job.
//!
//! Steps, in order (docs/DESIGN.md, "Nightly runs", has the reasoning):
//!
//! 1. `backup` into the job's repository.
//! 2. `changes`: the change list against the previous snapshot and the mass-change alert.
//! 3. `forget` (retention) and 4. `prune` in the job's repository.
//! 5. `copy` to each `copy_to` repository; on alert the copied snapshots (and the copy of the
//!    last snapshot before the change) are protected there; then `forget`/`prune` there.
//! 6. `check` with the read-data budget in every repository of the job.
//! 7. `drill` in every repository of the job, when due.
//!
//! A failed step never stops the independent ones after it. Dependencies: without a new
//! snapshot (backup failed) there is no change list, no alert and no retention (history is
//! never thinned on a night that added nothing); copy, check and drill still run. While the
//! alert is raised, or when the change list could not be made, retention and prune are held
//! in every repository. A copy target that cannot
//! be opened skips only its own steps.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use hvelv_engine::backend::{open_backend, DynBackend, S3Backend, S3Location, S3Options};
use hvelv_engine::ops::backup::{backup, BackupOptions, BackupOutcome};
use hvelv_engine::ops::diff::{self, Change};
use hvelv_engine::ops::{copy, forget, prune};
use hvelv_engine::progress::NoProgress;
use hvelv_engine::snapshot::SnapshotEntry;
use hvelv_engine::{FileId, IndexedRepository, Repository};

mod verify;

use super::alert::{self, Signals};
use super::config::{job_group_by, JobPlan, RepoRef};
use super::metrics::JobMetrics;
use super::report::{
    BackupReport, ChangeReport, CopyReport, ReportPaths, RunReport, StepReport, StepStatus,
};
use super::state::{self, JobState};
use crate::args::Global;
use crate::commands::human;
use crate::exit;

/// Where a run keeps its files.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// Locks, job state, drill scratch.
    pub state: PathBuf,
    /// Reports.
    pub reports: PathBuf,
    /// Metrics textfile.
    pub metrics: Option<PathBuf>,
    /// Reports kept per job.
    pub keep_reports: usize,
    /// Every configured job (for the metrics file).
    pub all_jobs: Vec<String>,
}

/// Exit codes by severity, worst first; a multi-job run exits with the worst.
const SEVERITY: [i32; 7] = [
    exit::RUN_ALERT,
    exit::CORRUPT,
    exit::RUN_FAILED,
    exit::FATAL,
    exit::CONFLICT,
    exit::PARTIAL,
    exit::OK,
];

/// The worse of two exit codes.
pub fn worst(a: i32, b: i32) -> i32 {
    let rank = |c| SEVERITY.iter().position(|&x| x == c).unwrap_or(3);
    if rank(b) < rank(a) {
        b
    } else {
        a
    }
}

/// Open a repository of a job.
pub async fn open_repo(g: &Global, r: &RepoRef) -> Result<Repository> {
    let RepoRef::Named(name, x) = r else {
        return crate::commands::open(g).await;
    };
    let be: DynBackend = if x.location.starts_with("s3:") {
        let mut vars: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("AWS_"))
            .collect();
        let mut set = |k: &str, v: String| {
            vars.retain(|(x, _)| x != k);
            vars.push((k.to_owned(), v));
        };
        if let Some(v) = &x.s3_region {
            set("AWS_REGION", v.clone());
        }
        if let Some(v) = &x.s3_access_key_id {
            set("AWS_ACCESS_KEY_ID", v.clone());
        }
        if let Some(f) = &x.s3_secret_access_key_file {
            let secret = crate::password::from_sources(Some(f), None, "", "")
                .context("s3_secret_access_key_file")?;
            set(
                "AWS_SECRET_ACCESS_KEY",
                String::from_utf8_lossy(&secret).into_owned(),
            );
        }
        let mut opts = S3Options::default();
        if let Some(c) = x.s3_concurrency {
            opts.concurrency = c;
        }
        Arc::new(S3Backend::new(S3Location::parse(&x.location)?, vars, opts)?)
    } else {
        open_backend(&x.location)?
    };
    let pw = crate::password::from_sources(
        x.password_file.as_deref(),
        x.password_command.as_deref(),
        "HVELV_PASSWORD_OF_NAMED_REPOSITORY_UNUSED",
        "",
    )
    .with_context(|| format!("the password of repository {name}"))?;
    Repository::open(be, &pw)
        .await
        .with_context(|| format!("opening repository {name} ({})", x.location))
}

/// The sources as the backup records them (absolute, parent folders resolved, sorted), so
/// this job's snapshots can be told from others of the same host.
fn job_paths(sources: &[PathBuf]) -> Vec<String> {
    let mut v: Vec<String> = sources
        .iter()
        .map(|p| {
            let abs = std::path::absolute(p).unwrap_or_else(|_| p.clone());
            let resolved = match (abs.parent(), abs.file_name()) {
                (Some(parent), Some(name)) => parent
                    .canonicalize()
                    .map(|d| d.join(name))
                    .unwrap_or(abs.clone()),
                _ => abs.canonicalize().unwrap_or(abs.clone()),
            };
            resolved.to_string_lossy().into_owned()
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// One job's run in progress.
struct JobRun<'a> {
    g: &'a Global,
    plan: &'a JobPlan,
    dirs: &'a Dirs,
    host: String,
    paths: Vec<String>,
    report: RunReport,
    files: ReportPaths,
    state: JobState,
    /// Some check or drill found damage.
    damage: bool,
    /// The backup left entries out.
    partial: bool,
    /// Why retention (forget, prune) is held tonight in every repository.
    hold: Option<&'static str>,
}

impl JobRun<'_> {
    fn step(&mut self, step: &str, repo: &str, status: StepStatus, t: Instant, msg: String) {
        if !self.g.quiet && !self.g.json {
            eprintln!("[{}] {step} {repo}: {msg}", self.plan.name);
        }
        self.report.steps.push(StepReport {
            step: step.to_owned(),
            repository: repo.to_owned(),
            status,
            duration_seconds: t.elapsed().as_secs_f64(),
            message: msg,
        });
    }

    fn failed(&mut self, step: &str, repo: &str, t: Instant, e: &anyhow::Error) {
        self.step(step, repo, StepStatus::Failed, t, format!("{e:#}"));
    }

    fn is_ours(&self, s: &SnapshotEntry) -> bool {
        s.snapshot.host == self.host && s.snapshot.paths == self.paths
    }

    async fn execute(&mut self) {
        let plan = self.plan;
        let primary_name = plan.repo.name().to_owned();
        let t = Instant::now();
        let primary = match open_repo(self.g, &plan.repo).await {
            Ok(r) => r,
            Err(e) => {
                self.failed("open", &primary_name, t, &e);
                return;
            }
        };

        // 1. backup
        let t = Instant::now();
        let (done, indexed) = match self.backup(&primary).await {
            Ok((out, indexed)) => {
                let s = &out.snapshot.snapshot.summary;
                let status = if s.errors > 0 {
                    self.partial = true;
                    StepStatus::Warning
                } else {
                    StepStatus::Ok
                };
                let msg = format!(
                    "snapshot {}: {} new, {} changed, {} unchanged files; {} new, {} stored{}",
                    out.snapshot.id.short(),
                    s.files_new,
                    s.files_changed,
                    s.files_unchanged,
                    human(s.bytes_added),
                    human(s.bytes_stored),
                    if s.errors > 0 {
                        format!("; {} entries could not be read (see warnings)", s.errors)
                    } else {
                        String::new()
                    }
                );
                self.step("backup", &primary_name, status, t, msg);
                (Some(out), Some(indexed))
            }
            Err(e) => {
                self.failed("backup", &primary_name, t, &e);
                (None, None)
            }
        };

        // 2. changes and alert
        let mut parent: Option<SnapshotEntry> = None;
        if let (Some(out), Some(indexed)) = (&done, indexed) {
            let t = Instant::now();
            match self.changes(&indexed, out).await {
                Ok(p) => {
                    parent = p;
                    let c = self.report.changes.as_ref();
                    let msg = c
                        .map(|c| {
                            format!(
                                "{} files new, {} modified, {} deleted",
                                c.files_added, c.files_modified, c.files_deleted
                            )
                        })
                        .unwrap_or_default();
                    self.step("changes", &primary_name, StepStatus::Ok, t, msg);
                }
                Err(e) => {
                    self.failed("changes", &primary_name, t, &e);
                    self.hold =
                        Some("held: without the change list the mass-change check could not run");
                }
            }
        } else {
            self.step(
                "changes",
                &primary_name,
                StepStatus::Skipped,
                Instant::now(),
                "no new snapshot".into(),
            );
        }

        if self.report.alert.raised {
            self.hold = Some("held because of the mass-change alert");
        }
        // On alert, the last snapshot from before the change is what to go back to: protect it.
        if let (true, Some(p)) = (self.report.alert.raised, &parent) {
            let t = Instant::now();
            match primary.set_protected(p, true).await {
                Ok(new) => {
                    self.report
                        .alert
                        .protected
                        .push(format!("{primary_name}:{}", new.id.to_hex()));
                    let msg = format!(
                        "protected {}, the last snapshot before the change (its id is now {})",
                        p.id.short(),
                        new.id.short()
                    );
                    self.step("protect", &primary_name, StepStatus::Ok, t, msg);
                }
                Err(e) => self.failed("protect", &primary_name, t, &e.into()),
            }
        }

        // 3./4. retention in the job's repository
        self.retention(&primary, &primary_name, done.is_some(), true)
            .await;

        // 5. offsite copies
        let mut targets: Vec<(String, Option<Repository>)> = Vec::new();
        for target in &plan.copy_to {
            let name = target.name().to_owned();
            let t = Instant::now();
            let repo = match open_repo(self.g, target).await {
                Ok(r) => r,
                Err(e) => {
                    self.failed("copy", &name, t, &e);
                    targets.push((name, None));
                    continue;
                }
            };
            match self.copy(&primary, &repo, &name, parent.as_ref()).await {
                Ok(msg) => self.step("copy", &name, StepStatus::Ok, t, msg),
                Err(e) => self.failed("copy", &name, t, &e),
            }
            self.retention(&repo, &name, done.is_some(), false).await;
            targets.push((name, Some(repo)));
        }

        // 6. check
        let mut all = vec![(primary_name.clone(), Some(primary.clone()))];
        all.extend(targets);
        if let Some((budget, offsite_budget)) = plan.verify {
            for (i, (name, repo)) in all.iter().enumerate() {
                let Some(repo) = repo else { continue };
                let t = Instant::now();
                let b = if i == 0 { budget } else { offsite_budget };
                match self.check(repo, name, b).await {
                    Ok((status, msg)) => self.step("check", name, status, t, msg),
                    Err(e) => self.failed("check", name, t, &e),
                }
            }
        } else {
            self.step(
                "check",
                &primary_name,
                StepStatus::Skipped,
                Instant::now(),
                format!("no [jobs.{}.verify] section", plan.name),
            );
        }

        // 7. drill
        self.drills(&all).await;
    }

    async fn backup(&mut self, primary: &Repository) -> Result<(BackupOutcome, IndexedRepository)> {
        let plan = self.plan;
        let mut repo = primary
            .clone()
            .load_index()
            .await
            .context("loading the index")?;
        let reporter = crate::progress::Reporter::new("backed up", self.g.quiet, self.g.json);
        let opts = BackupOptions {
            paths: plan.sources.clone(),
            host: self.host.clone(),
            tags: plan.tags.clone(),
            excludes: plan.excludes.clone(),
            one_file_system: plan.one_file_system,
            ..BackupOptions::default()
        };
        let r = backup(&mut repo, &opts, reporter.clone()).await;
        reporter.finish();
        let out = r?;
        self.paths = out.snapshot.snapshot.paths.clone();
        let s = &out.snapshot.snapshot.summary;
        let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        self.report.backup = Some(BackupReport {
            repository: plan.repo.name().to_owned(),
            snapshot: out.snapshot.id.to_hex(),
            parent: out.snapshot.snapshot.parent.clone(),
            files_new: s.files_new,
            files_changed: s.files_changed,
            files_unchanged: s.files_unchanged,
            dirs: s.dirs,
            errors: s.errors,
            bytes_total: s.bytes_total,
            bytes_read: s.bytes_read,
            bytes_added: s.bytes_added,
            bytes_stored: s.bytes_stored,
            bytes_incompressible: out.new_data.bytes_incompressible,
            dedup_ratio: ratio(s.bytes_read, s.bytes_added),
            compression_ratio: ratio(s.bytes_added, s.bytes_stored),
            warnings: out.warnings.iter().take(20).cloned().collect(),
        });
        Ok((out, repo))
    }

    /// Change list against the parent, then the alert. Returns the parent.
    async fn changes(
        &mut self,
        repo: &IndexedRepository,
        out: &BackupOutcome,
    ) -> Result<Option<SnapshotEntry>> {
        let new = &out.snapshot;
        let mut c = ChangeReport {
            to: new.id.to_hex(),
            ..ChangeReport::default()
        };
        let parent = match &new.snapshot.parent {
            Some(p) => Some(repo.find_snapshot(p, None).await?),
            None => None,
        };
        if let Some(p) = &parent {
            let mut list = String::new();
            let stats = diff::diff(repo, p, new, |e| {
                list.push(e.change.marker());
                list.push_str("    ");
                list.push_str(&e.path);
                list.push('\n');
                if e.kind == "file" {
                    match e.change {
                        Change::Added => c.files_added += 1,
                        Change::Removed => c.files_deleted += 1,
                        Change::Modified => c.files_modified += 1,
                        Change::Type | Change::Metadata => {}
                    }
                }
            })
            .await?;
            state::write_atomic(&self.files.changes, list.as_bytes())?;
            let ps = &p.snapshot.summary;
            c.from = Some(p.id.to_hex());
            c.file = Some(self.files.changes.clone());
            c.added = stats.added;
            c.removed = stats.removed;
            c.modified = stats.modified;
            c.metadata = stats.metadata;
            c.files_in_previous = Some(ps.files_new + ps.files_changed + ps.files_unchanged);
        } else {
            let s = &new.snapshot.summary;
            c.files_added = s.files_new + s.files_changed + s.files_unchanged;
        }
        if let Some(t) = &self.plan.alert {
            let signals = Signals {
                files_in_previous: c.files_in_previous,
                files_modified: c.files_modified,
                files_deleted: c.files_deleted,
                new_bytes: out.new_data.bytes,
                new_bytes_incompressible: out
                    .new_data
                    .compression_enabled
                    .then_some(out.new_data.bytes_incompressible),
            };
            self.report.alert = alert::evaluate(t, &signals);
        }
        self.report.changes = Some(c);
        Ok(parent)
    }

    /// `forget` then `prune` in `repo`, as configured.
    async fn retention(&mut self, repo: &Repository, name: &str, new_snapshot: bool, own: bool) {
        let plan = self.plan;
        let hold = self.hold;
        if let Some((policy, offsite)) = &plan.retention {
            let t = Instant::now();
            if !own && !offsite {
                // Not configured for this repository: nothing to say.
            } else if !new_snapshot {
                self.step(
                    "forget",
                    name,
                    StepStatus::Skipped,
                    t,
                    "no new snapshot tonight: history is not thinned".into(),
                );
            } else if let Some(why) = hold {
                self.step("forget", name, StepStatus::Skipped, t, why.into());
            } else {
                match self.forget(repo, policy).await {
                    Ok(msg) => self.step("forget", name, StepStatus::Ok, t, msg),
                    Err(e) => self.failed("forget", name, t, &e),
                }
            }
        }
        if let Some((opts, offsite)) = &plan.prune {
            let t = Instant::now();
            if !own && !offsite {
            } else if let Some(why) = hold {
                self.step("prune", name, StepStatus::Skipped, t, why.into());
            } else {
                match prune::prune(repo.clone(), opts, Arc::new(NoProgress)).await {
                    Ok(o) => {
                        let mut msg = format!(
                            "deleted {} pack(s), {} freed",
                            o.packs_deleted,
                            human(o.bytes_freed)
                        );
                        if !o.deferred.is_empty() {
                            msg.push_str("; some deletion waits for running jobs (next prune)");
                        }
                        self.step("prune", name, StepStatus::Ok, t, msg);
                    }
                    Err(e) => self.failed("prune", name, t, &e.into()),
                }
            }
        }
    }

    async fn forget(&mut self, repo: &Repository, policy: &forget::KeepPolicy) -> Result<String> {
        let candidates: Vec<forget::Candidate> = repo
            .snapshots()
            .await?
            .iter()
            .filter(|s| self.is_ours(s))
            .map(forget::Candidate::from)
            .collect();
        let total = candidates.len();
        let plan = forget::plan(candidates, policy, job_group_by(), chrono::Utc::now())?;
        let ids: Vec<FileId> = plan.removals().map(|p| p.snapshot.id).collect();
        let removed = crate::commands::forget::remove_all(repo, &ids).await?;
        Ok(format!(
            "removed {} of {total} snapshots of this job",
            removed.len()
        ))
    }

    async fn copy(
        &mut self,
        primary: &Repository,
        target: &Repository,
        name: &str,
        parent: Option<&SnapshotEntry>,
    ) -> Result<String> {
        let src = primary
            .clone()
            .load_index()
            .await
            .context("loading the source index")?;
        let mut dst = target
            .clone()
            .load_index()
            .await
            .context("loading the target index")?;
        let selected: Vec<SnapshotEntry> = src
            .snapshots()
            .await?
            .into_iter()
            .filter(|s| self.is_ours(s))
            .collect();
        let out = copy::copy(&src, &mut dst, selected, Arc::new(NoProgress)).await?;
        let mut msg = format!(
            "{} snapshot(s) copied, {} already there; {} sent, {} stored",
            out.copied.len(),
            out.already_present,
            human(out.bytes),
            human(out.bytes_stored)
        );
        if self.report.alert.raised {
            // Keep tonight's copy and the last one from before the change out of retention's
            // reach: the first is evidence, the second the state to go back to.
            let mut keep: Vec<String> = out.copied.iter().map(|c| c.target.clone()).collect();
            let night = self.report.backup.as_ref().map(|b| b.snapshot.clone());
            let origin =
                |s: &SnapshotEntry| s.snapshot.original.clone().unwrap_or_else(|| s.id.to_hex());
            let wanted: Vec<String> = night.into_iter().chain(parent.map(origin)).collect();
            for s in dst.snapshots().await? {
                let orig = s.snapshot.original.clone().unwrap_or_default();
                if wanted.contains(&orig) && !keep.contains(&s.id.to_hex()) {
                    keep.push(s.id.to_hex());
                }
            }
            for id in keep {
                let e = dst.find_snapshot(&id, None).await?;
                let new = dst.set_protected(&e, true).await?;
                self.report
                    .alert
                    .protected
                    .push(format!("{name}:{}", new.id.to_hex()));
            }
            let n = self
                .report
                .alert
                .protected
                .iter()
                .filter(|p| p.starts_with(&format!("{name}:")))
                .count();
            msg.push_str(&format!("; {n} snapshot(s) protected because of the alert"));
        }
        self.report.copies.push(CopyReport {
            repository: name.to_owned(),
            copied: out
                .copied
                .iter()
                .map(|c| (c.source.clone(), c.target.clone()))
                .collect(),
            already_present: out.already_present,
            bytes: out.bytes,
            bytes_stored: out.bytes_stored,
        });
        Ok(msg)
    }

    /// Status, exit code, and the metrics of the finished run.
    fn finish(&mut self, started: Instant) -> JobMetrics {
        let r = &mut self.report;
        r.finished = chrono::Local::now().to_rfc3339();
        r.duration_seconds = started.elapsed().as_secs_f64();
        let failed = r.failed_steps();
        let (status, code) = if r.alert.raised {
            ("alert", exit::RUN_ALERT)
        } else if self.damage {
            ("failed", exit::CORRUPT)
        } else if failed > 0 {
            ("failed", exit::RUN_FAILED)
        } else if self.partial {
            ("warning", exit::PARTIAL)
        } else {
            ("success", exit::OK)
        };
        r.status = status.to_owned();
        r.exit_code = code;
        let now = chrono::Utc::now().timestamp();
        let prev = self.state.metrics.clone().unwrap_or_default();
        let b = r.backup.clone().unwrap_or_default();
        let c = r.changes.clone().unwrap_or_default();
        JobMetrics {
            last_run: now,
            last_success: if failed == 0 && !self.damage {
                now
            } else {
                prev.last_success
            },
            duration_seconds: r.duration_seconds,
            exit_code: code,
            failed_steps: failed as u64,
            alert: r.alert.raised,
            bytes_added: b.bytes_added,
            bytes_stored: b.bytes_stored,
            files_new: c.files_added,
            files_changed: c.files_modified,
            files_deleted: c.files_deleted,
            backup_errors: b.errors,
            verified_ratio: r
                .verification
                .first()
                .and_then(|v| v.coverage)
                .or(prev.verified_ratio),
            drill_last_success: self.state.last_drill_passed.unwrap_or(0),
        }
    }
}

/// Run one job: lock, steps, report, hooks, state, metrics. Returns its exit code.
pub async fn run_job(g: &Global, plan: &JobPlan, dirs: &Dirs) -> Result<i32> {
    let Some(_lock) = state::try_lock(&dirs.state, &plan.name)? else {
        eprintln!(
            "job {} is already running (another hvelv run holds {}); this run did nothing \
             (exit code {})",
            plan.name,
            dirs.state
                .join("locks")
                .join(format!("{}.lock", plan.name))
                .display(),
            exit::CONFLICT
        );
        return Ok(exit::CONFLICT);
    };
    let started_at = chrono::Local::now();
    let clock = Instant::now();
    let host = plan
        .host
        .clone()
        .or_else(|| std::env::var("HVELV_HOST").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| BackupOptions::default().host);
    let files = ReportPaths::new(&dirs.reports, &plan.name, &started_at);
    let mut job = JobRun {
        g,
        plan,
        dirs,
        report: RunReport::new(&plan.name, &host, &started_at),
        paths: job_paths(&plan.sources),
        host,
        files,
        state: state::load_state(&dirs.state, &plan.name),
        damage: false,
        partial: false,
        hold: None,
    };
    job.execute().await;
    let metrics = job.finish(clock);
    report_and_hooks(&mut job).await?;
    job.state.metrics = Some(metrics);
    state::save_state(&dirs.state, &plan.name, &job.state)?;
    if let Some(m) = &dirs.metrics {
        super::metrics::write(m, &dirs.state, &dirs.all_jobs)?;
    }
    if let Some(d) = job.files.json.parent() {
        super::report::expire(d, dirs.keep_reports);
    }
    if g.json {
        crate::commands::print_json(&job.report)?;
    } else {
        print!("{}", job.report.summary());
        println!("report: {}", job.files.json.display());
    }
    Ok(job.report.exit_code)
}

async fn report_and_hooks(job: &mut JobRun<'_>) -> Result<()> {
    super::report::write(&job.files, &job.report)?;
    let h = &job.plan.hooks;
    let mut hooks = Vec::new();
    if job.report.alert.raised {
        hooks.push(("on_alert", h.on_alert.clone()));
    }
    if job.report.failed_steps() > 0 || job.damage {
        hooks.push(("on_failure", h.on_failure.clone()));
    } else if !job.report.alert.raised {
        hooks.push(("on_success", h.on_success.clone()));
    }
    let mut ran = false;
    for (which, cmd) in hooks {
        let Some(cmd) = cmd else { continue };
        let out =
            super::hooks::run(which, &cmd, &job.report, &job.files, job.plan.hook_timeout).await;
        if let Some(m) = &out.message {
            eprintln!("warning: job {}: {m}", job.plan.name);
        }
        job.report.hooks.push(out);
        ran = true;
    }
    if ran {
        super::report::write(&job.files, &job.report)?;
    }
    Ok(())
}
