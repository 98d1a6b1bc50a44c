//! The nightly sections of the configuration file: `[run]`, `[repositories.NAME]` and
//! `[jobs.NAME]` (raw, as written), and their validation into a [`JobPlan`] that `hvelv run`
//! executes. Every string that encodes a number (`"20%"`, `"10G"`, `"7d"`, `"2y"`) is parsed
//! here, so `hvelv config check` reports every mistake before the first night.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hvelv_engine::ops::check::Budget;
use hvelv_engine::ops::forget::{Count, GroupBy, KeepPolicy, Span};
use hvelv_engine::ops::prune::PruneOptions;
use serde::Deserialize;

use crate::args::{parse_duration, parse_percent, parse_size};

/// `[run]`: where nightly runs keep their state, reports and metrics.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    /// Locks, job state, drill scratch space (default `/var/lib/hvelv` as root, else
    /// `$XDG_STATE_HOME/hvelv`).
    pub state_dir: Option<PathBuf>,
    /// Run reports (default `STATE_DIR/reports`).
    pub report_dir: Option<PathBuf>,
    /// node_exporter textfile (e.g. `/var/lib/prometheus/node-exporter/hvelv.prom`).
    pub metrics_file: Option<PathBuf>,
    /// Reports kept per job (default 60); older ones are deleted after each run.
    pub keep_reports: Option<usize>,
}

/// `[repositories.NAME]`: a repository jobs refer to by name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedRepository {
    /// A directory or `s3:…`.
    pub location: String,
    /// File whose first line is the password.
    pub password_file: Option<PathBuf>,
    /// Command printing the password.
    pub password_command: Option<String>,
    /// S3: region (else `AWS_REGION`).
    pub s3_region: Option<String>,
    /// S3: access key id (else `AWS_ACCESS_KEY_ID`).
    pub s3_access_key_id: Option<String>,
    /// S3: file whose first line is the secret access key (else `AWS_SECRET_ACCESS_KEY`).
    pub s3_secret_access_key_file: Option<PathBuf>,
    /// S3: requests in flight at once (default 8).
    pub s3_concurrency: Option<usize>,
}

/// `copy_to = "offsite"` or `copy_to = ["offsite", "archive"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One name.
    One(String),
    /// Several names.
    Many(Vec<String>),
}

impl Default for OneOrMany {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

impl OneOrMany {
    fn list(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// `[jobs.NAME]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// Name in `[repositories]`; absent: the `[repository]` section / `-r` / `HVELV_REPOSITORY`.
    pub repository: Option<String>,
    /// Files and folders to back up.
    pub sources: Vec<PathBuf>,
    /// Exclude patterns.
    #[serde(default)]
    pub excludes: Vec<String>,
    /// Files with one exclude pattern per line.
    #[serde(default)]
    pub exclude_files: Vec<PathBuf>,
    /// Snapshot tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Host name recorded (default: `[repository] host`, else this machine's).
    pub host: Option<String>,
    /// Stay on the file systems of the sources.
    #[serde(default)]
    pub one_file_system: bool,
    /// Repositories the night's snapshots are copied to.
    #[serde(default)]
    pub copy_to: OneOrMany,
    /// systemd calendar expression (`*-*-* 01:30`) for `hvelv schedule install`.
    pub schedule: Option<String>,
    /// Random delay added to the schedule (`15m`).
    pub randomized_delay: Option<String>,
    /// Retention.
    pub retention: Option<Retention>,
    /// Prune after forget.
    pub prune: Option<PruneSection>,
    /// Budgeted read-back verification.
    pub verify: Option<VerifySection>,
    /// Restore drill.
    pub drill: Option<DrillSection>,
    /// Mass-change alert thresholds.
    pub alert: Option<AlertSection>,
    /// Commands run at the end.
    #[serde(default)]
    pub hooks: HooksSection,
}

/// `[jobs.NAME.retention]`: `hvelv forget`'s `--keep-*` options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Retention {
    pub keep_last: Option<i64>,
    pub keep_hourly: Option<i64>,
    pub keep_daily: Option<i64>,
    pub keep_weekly: Option<i64>,
    pub keep_monthly: Option<i64>,
    pub keep_yearly: Option<i64>,
    pub keep_within: Option<String>,
    pub keep_within_hourly: Option<String>,
    pub keep_within_daily: Option<String>,
    pub keep_within_weekly: Option<String>,
    pub keep_within_monthly: Option<String>,
    pub keep_within_yearly: Option<String>,
    #[serde(default)]
    pub keep_tags: Vec<String>,
    /// Also apply the policy in the `copy_to` repositories (default true).
    pub offsite: Option<bool>,
}

/// `[jobs.NAME.prune]`: `hvelv prune`'s options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneSection {
    /// `20%`.
    pub repack_unused: Option<String>,
    /// `10G`.
    pub max_repack: Option<String>,
    /// `30m`.
    pub wait: Option<String>,
    /// Also prune the `copy_to` repositories (default false).
    pub offsite: Option<bool>,
}

/// `[jobs.NAME.verify]`: `hvelv check --read-data-budget`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySection {
    /// Budget in the job's repository (`10%`, `50G`).
    pub read_data_budget: Option<String>,
    /// Budget in each `copy_to` repository (absent: structure check only there).
    pub offsite_read_data_budget: Option<String>,
}

/// `[jobs.NAME.drill]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillSection {
    /// Files sampled per repository (default 20).
    pub files: Option<usize>,
    /// Largest whole folder restored (files directly in it; default 50, 0: none).
    pub folder_max_files: Option<usize>,
    /// How often (`7d`; default: every run).
    pub interval: Option<String>,
}

/// `[jobs.NAME.alert]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSection {
    /// Share of the previous snapshot's files modified (default `30%`).
    pub changed_files: Option<String>,
    /// Share of the previous snapshot's files deleted (default `30%`).
    pub deleted_files: Option<String>,
    /// Share of new bytes that did not compress (default `90%`).
    pub incompressible_data: Option<String>,
    /// File shares count only when the previous snapshot has this many files (default 100).
    pub min_files: Option<u64>,
    /// The compression share counts only with this much new data (default `256M`).
    pub min_new_data: Option<String>,
    /// `false` disables the alert.
    pub enabled: Option<bool>,
}

/// `[jobs.NAME.hooks]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HooksSection {
    /// Run after a run without failed steps and without alert.
    pub on_success: Option<String>,
    /// Run when a step failed.
    pub on_failure: Option<String>,
    /// Run when the mass-change alert was raised.
    pub on_alert: Option<String>,
    /// Longest a hook may run (default `5m`).
    pub timeout: Option<String>,
}

/// Where a repository is and how to open it.
#[derive(Debug, Clone)]
pub enum RepoRef {
    /// The `[repository]` section, `-r`, `HVELV_REPOSITORY` and the usual password options.
    Default,
    /// `[repositories.NAME]`.
    Named(String, NamedRepository),
}

impl RepoRef {
    /// Name used in reports.
    pub fn name(&self) -> &str {
        match self {
            RepoRef::Default => "default",
            RepoRef::Named(n, _) => n,
        }
    }
}

/// Alert thresholds (fractions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Modified files / files in the previous snapshot.
    pub changed_files: f64,
    /// Deleted files / files in the previous snapshot.
    pub deleted_files: f64,
    /// Incompressible new bytes / new bytes.
    pub incompressible_data: f64,
    /// Minimum previous file count for the file shares.
    pub min_files: u64,
    /// Minimum new bytes for the compression share.
    pub min_new_data: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            changed_files: 0.30,
            deleted_files: 0.30,
            incompressible_data: 0.90,
            min_files: 100,
            min_new_data: 256 << 20,
        }
    }
}

/// Drill settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillPlan {
    /// Files per repository.
    pub files: usize,
    /// Whole-folder size limit.
    pub folder_max_files: usize,
    /// Minimum time between drills.
    pub interval: Duration,
}

/// A validated job: everything `hvelv run` needs, parsed.
#[derive(Debug, Clone)]
pub struct JobPlan {
    /// Job name.
    pub name: String,
    /// The job's repository.
    pub repo: RepoRef,
    /// Offsite copies.
    pub copy_to: Vec<RepoRef>,
    /// Sources.
    pub sources: Vec<PathBuf>,
    /// Exclude patterns (with the exclude files' lines).
    pub excludes: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Host override.
    pub host: Option<String>,
    /// One file system.
    pub one_file_system: bool,
    /// Retention policy and whether it also applies offsite.
    pub retention: Option<(KeepPolicy, bool)>,
    /// Prune options and whether offsite repositories are pruned too.
    pub prune: Option<(PruneOptions, bool)>,
    /// Read-data budgets: job repository, offsite.
    pub verify: Option<(Option<Budget>, Option<Budget>)>,
    /// Drill.
    pub drill: Option<DrillPlan>,
    /// Alert thresholds (`None`: disabled).
    pub alert: Option<Thresholds>,
    /// Hooks.
    pub hooks: HooksSection,
    /// Hook timeout.
    pub hook_timeout: Duration,
}

fn absolutize(base: &Path, p: &mut PathBuf) {
    if p.is_relative() {
        *p = base.join(&*p);
    }
}

/// Make the nightly sections' relative paths relative to the config file's folder.
pub fn absolutize_paths(
    base: &Path,
    run: &mut RunSection,
    repos: &mut BTreeMap<String, NamedRepository>,
    jobs: &mut BTreeMap<String, Job>,
) {
    for p in [
        &mut run.state_dir,
        &mut run.report_dir,
        &mut run.metrics_file,
    ]
    .into_iter()
    .flatten()
    {
        absolutize(base, p);
    }
    for r in repos.values_mut() {
        for p in [&mut r.password_file, &mut r.s3_secret_access_key_file]
            .into_iter()
            .flatten()
        {
            absolutize(base, p);
        }
        if !r.location.starts_with("s3:") && Path::new(&r.location).is_relative() {
            r.location = base.join(&r.location).to_string_lossy().into_owned();
        }
    }
    for j in jobs.values_mut() {
        for p in j.sources.iter_mut().chain(j.exclude_files.iter_mut()) {
            absolutize(base, p);
        }
    }
}

/// Problems of one `[repositories.NAME]`.
pub fn repository_problems(name: &str, r: &NamedRepository) -> Vec<String> {
    let mut out = Vec::new();
    let at = format!("[repositories.{name}]");
    match (&r.password_file, &r.password_command) {
        (None, None) => out.push(format!(
            "{at}: give password_file or password_command (secrets are never written in the \
             config file)"
        )),
        (Some(_), Some(_)) => out.push(format!(
            "{at}: give password_file or password_command, not both"
        )),
        (Some(f), None) if !f.is_file() => {
            out.push(format!("{at} password_file {} does not exist", f.display()))
        }
        _ => {}
    }
    let s3 = r.location.starts_with("s3:");
    let has_s3_opts = r.s3_region.is_some()
        || r.s3_access_key_id.is_some()
        || r.s3_secret_access_key_file.is_some()
        || r.s3_concurrency.is_some();
    if has_s3_opts && !s3 {
        out.push(format!(
            "{at}: s3_* options need an s3: location, not {:?}",
            r.location
        ));
    }
    if let Some(f) = &r.s3_secret_access_key_file {
        if !f.is_file() {
            out.push(format!(
                "{at} s3_secret_access_key_file {} does not exist",
                f.display()
            ));
        }
    }
    if r.s3_access_key_id.is_some() != r.s3_secret_access_key_file.is_some() {
        out.push(format!(
            "{at}: give s3_access_key_id and s3_secret_access_key_file together"
        ));
    }
    if r.s3_concurrency == Some(0) {
        out.push(format!("{at} s3_concurrency must be at least 1"));
    }
    if s3 {
        if let Err(e) = hvelv_engine::backend::S3Location::parse(&r.location) {
            out.push(format!("{at} location: {e}"));
        }
    }
    out
}

/// Problems `hvelv config check` reports beyond [`plan_job`]'s: sources that are missing now.
/// (A run does not refuse a missing source: its backup step fails, so the night still gets a
/// report, metrics and the `on_failure` hook, e.g. when a share is not mounted.)
pub fn source_problems(name: &str, j: &Job) -> Vec<String> {
    j.sources
        .iter()
        .filter(|s| std::fs::symlink_metadata(s).is_err())
        .map(|s| format!("[jobs.{name}] source {} does not exist", s.display()))
        .collect()
}

/// Job names become parts of file and systemd unit names: letters, digits, `_`, `-`, `.`,
/// not starting with a dot.
pub fn valid_job_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// Validate job `name` against the repositories; `Err` lists every problem found.
pub fn plan_job(
    name: &str,
    j: &Job,
    repos: &BTreeMap<String, NamedRepository>,
) -> Result<JobPlan, Vec<String>> {
    let at = format!("[jobs.{name}]");
    let mut p: Vec<String> = Vec::new();
    if !valid_job_name(name) {
        p.push(format!(
            "{at}: a job name may contain only letters, digits, '_', '-' and '.' (it names \
             files and systemd units)"
        ));
    }
    let known = || {
        if repos.is_empty() {
            "there are no [repositories.NAME] sections".to_owned()
        } else {
            format!(
                "known: {}",
                repos.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        }
    };
    let repo = match &j.repository {
        None => RepoRef::Default,
        Some(r) => match repos.get(r) {
            Some(x) => RepoRef::Named(r.clone(), x.clone()),
            None => {
                p.push(format!(
                    "{at} repository = {r:?}: no [repositories.{r}] ({})",
                    known()
                ));
                RepoRef::Default
            }
        },
    };
    let mut copy_to = Vec::new();
    for c in j.copy_to.list() {
        match repos.get(&c) {
            Some(x) if Some(&c) == j.repository.as_ref() => p.push(format!(
                "{at} copy_to {c:?} is the job's own repository ({})",
                x.location
            )),
            Some(x) => copy_to.push(RepoRef::Named(c.clone(), x.clone())),
            None => p.push(format!(
                "{at} copy_to = {c:?}: no [repositories.{c}] ({})",
                known()
            )),
        }
    }
    if j.sources.is_empty() {
        p.push(format!("{at} sources is empty: name what to back up"));
    }
    let mut excludes = j.excludes.clone();
    for f in &j.exclude_files {
        match hvelv_engine::ops::exclude::Patterns::read_file(f) {
            Ok(v) => excludes.extend(v),
            Err(e) => p.push(format!("{at} exclude_files: {e}")),
        }
    }
    if let Err(e) = hvelv_engine::ops::exclude::Patterns::new(&excludes) {
        p.push(format!("{at} excludes: {e}"));
    }
    if let Some(s) = &j.schedule {
        if s.trim().is_empty() || s.contains('\n') {
            p.push(format!(
                "{at} schedule {s:?}: give a systemd calendar expression such as \"*-*-* 01:30\""
            ));
        }
    }
    let dur = |key: &str, v: &Option<String>, p: &mut Vec<String>| -> Option<Duration> {
        v.as_deref().and_then(|s| match parse_duration(s) {
            Ok(d) => Some(d),
            Err(e) => {
                p.push(format!("{at} {key}: {e}"));
                None
            }
        })
    };
    if let Some(d) = &j.randomized_delay {
        dur("randomized_delay", &Some(d.clone()), &mut p);
    }

    let retention = j.retention.as_ref().map(|r| {
        let policy = retention_policy(r, &at, &mut p);
        (policy, r.offsite.unwrap_or(true))
    });
    let prune = j.prune.as_ref().map(|s| {
        let mut o = PruneOptions::default();
        if let Some(v) = &s.repack_unused {
            match parse_percent(v) {
                Ok(x) => o.repack_unused = x,
                Err(e) => p.push(format!("{at} prune.repack_unused: {e}")),
            }
        }
        if let Some(v) = &s.max_repack {
            match parse_size(v) {
                Ok(x) => o.max_repack = Some(x),
                Err(e) => p.push(format!("{at} prune.max_repack: {e}")),
            }
        }
        if let Some(w) = dur("prune.wait", &s.wait, &mut p) {
            o.wait = w;
        }
        (o, s.offsite.unwrap_or(false))
    });
    if prune.is_some() && retention.is_none() {
        p.push(format!(
            "{at}: [jobs.{name}.prune] without [jobs.{name}.retention] frees nothing new; add a \
             retention policy or remove the prune section"
        ));
    }
    let budget = |key: &str, v: &Option<String>, p: &mut Vec<String>| {
        v.as_deref().and_then(|s| match s.parse::<Budget>() {
            Ok(b) => Some(b),
            Err(e) => {
                p.push(format!("{at} verify.{key}: {e}"));
                None
            }
        })
    };
    let verify = j.verify.as_ref().map(|v| {
        (
            budget("read_data_budget", &v.read_data_budget, &mut p),
            budget(
                "offsite_read_data_budget",
                &v.offsite_read_data_budget,
                &mut p,
            ),
        )
    });
    let drill = j.drill.as_ref().map(|d| {
        let plan = DrillPlan {
            files: d.files.unwrap_or(20),
            folder_max_files: d.folder_max_files.unwrap_or(50),
            interval: dur("drill.interval", &d.interval, &mut p).unwrap_or_default(),
        };
        if plan.files == 0 && plan.folder_max_files == 0 {
            p.push(format!(
                "{at} drill: files and folder_max_files are both 0, so a drill checks nothing"
            ));
        }
        plan
    });
    let alert = match &j.alert {
        Some(a) if a.enabled == Some(false) => None,
        a => {
            let a = a.clone().unwrap_or_default();
            let mut t = Thresholds::default();
            for (key, v, slot) in [
                ("changed_files", &a.changed_files, &mut t.changed_files),
                ("deleted_files", &a.deleted_files, &mut t.deleted_files),
                (
                    "incompressible_data",
                    &a.incompressible_data,
                    &mut t.incompressible_data,
                ),
            ] {
                if let Some(v) = v {
                    match parse_percent(v) {
                        Ok(x) => *slot = x,
                        Err(e) => p.push(format!("{at} alert.{key}: {e}")),
                    }
                }
            }
            if let Some(m) = a.min_files {
                t.min_files = m;
            }
            if let Some(v) = &a.min_new_data {
                match parse_size(v) {
                    Ok(x) => t.min_new_data = x,
                    Err(e) => p.push(format!("{at} alert.min_new_data: {e}")),
                }
            }
            Some(t)
        }
    };
    let hook_timeout =
        dur("hooks.timeout", &j.hooks.timeout, &mut p).unwrap_or(Duration::from_secs(300));
    if !p.is_empty() {
        return Err(p);
    }
    Ok(JobPlan {
        name: name.to_owned(),
        repo,
        copy_to,
        sources: j.sources.clone(),
        excludes,
        tags: j.tags.clone(),
        host: j.host.clone(),
        one_file_system: j.one_file_system,
        retention,
        prune,
        verify,
        drill,
        alert,
        hooks: j.hooks.clone(),
        hook_timeout,
    })
}

fn retention_policy(r: &Retention, at: &str, p: &mut Vec<String>) -> KeepPolicy {
    let mut count = |key: &str, v: Option<i64>| -> Count {
        match v {
            None => Count::Upto(0),
            Some(n) => n.to_string().parse::<Count>().unwrap_or_else(|e| {
                p.push(format!("{at} retention.{key}: {e}"));
                Count::Upto(0)
            }),
        }
    };
    let last = count("keep_last", r.keep_last);
    let hourly = count("keep_hourly", r.keep_hourly);
    let daily = count("keep_daily", r.keep_daily);
    let weekly = count("keep_weekly", r.keep_weekly);
    let monthly = count("keep_monthly", r.keep_monthly);
    let yearly = count("keep_yearly", r.keep_yearly);
    let mut span = |key: &str, v: &Option<String>| -> Option<Span> {
        v.as_deref().and_then(|s| match s.parse::<Span>() {
            Ok(x) => Some(x),
            Err(e) => {
                p.push(format!("{at} retention.{key}: {e}"));
                None
            }
        })
    };
    let policy = KeepPolicy {
        last,
        hourly,
        daily,
        weekly,
        monthly,
        yearly,
        within: span("keep_within", &r.keep_within),
        within_hourly: span("keep_within_hourly", &r.keep_within_hourly),
        within_daily: span("keep_within_daily", &r.keep_within_daily),
        within_weekly: span("keep_within_weekly", &r.keep_within_weekly),
        within_monthly: span("keep_within_monthly", &r.keep_within_monthly),
        within_yearly: span("keep_within_yearly", &r.keep_within_yearly),
        tags: r.keep_tags.clone(),
    };
    if policy.is_empty() {
        p.push(format!(
            "{at} retention keeps nothing: give at least one keep_* (an empty policy would remove \
             every snapshot)"
        ));
    }
    policy
}

/// The group-by used for a job's retention: its snapshots are selected by host and paths
/// first, so one group.
pub fn job_group_by() -> GroupBy {
    GroupBy::default()
}

#[cfg(test)]
mod tests;
