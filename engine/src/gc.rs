//! The protocol that lets prune delete data while backups run (see docs/DESIGN.md, "Prune and
//! concurrent backups").
//!
//! Two kinds of small sealed files carry it, both written create-only so it works on every
//! backend:
//!
//! * **Job markers** (`locks/{k}-{id}-{unix time}`, `k` = `b` backup or `p` prune). A job creates
//!   its marker before it reads anything it relies on, refreshes it every [`REFRESH_SECS`] by
//!   creating a marker with a newer time and removing the older one, and removes it at the end.
//!   A marker whose newest time is older than [`STALE_SECS`], or whose process is gone on this
//!   host, belongs to a dead job and is ignored: a killed job never blocks the next one.
//! * **Deletion generations** (`gc/g-{unix time}-{random}`): the packs prune intends to delete.
//!   While a generation is pending, backups do not deduplicate against its packs (they store the
//!   data again), so no new snapshot can start to depend on them. Prune deletes the packs only
//!   once every job that was running when the generation was written has ended (their ids are in
//!   `g-…-w`), after marking live data again with every snapshot then present and keeping any
//!   pack that turned out to be needed. Before it starts deleting it writes `g-…-x`; a backup
//!   that finds an `-x` record for a generation it never saw was considered dead by prune and
//!   refuses to commit its snapshot.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::backend::{DynBackend, FileKind};
use crate::crypto::{self, Sealer};
use crate::error::{Error, ErrorKind, Result};
use crate::format::sealed::{self, GC_MAGIC, LOCK_MAGIC};
use crate::id::FileId;
use crate::repo::Repository;

/// Seconds between marker refreshes.
pub const REFRESH_SECS: u64 = 300;
/// A marker not refreshed for this long belongs to a dead job.
pub const STALE_SECS: i64 = 1800;
/// Executed-generation records older than this are removed by prune.
const KEEP_EXECUTED_SECS: i64 = 60 * 86400;

/// What a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// A backup (never blocked; prune waits for it).
    Backup,
    /// A prune (one at a time).
    Prune,
}

impl JobKind {
    fn letter(self) -> char {
        match self {
            JobKind::Backup => 'b',
            JobKind::Prune => 'p',
        }
    }
    fn from_letter(c: &str) -> Option<JobKind> {
        match c {
            "b" => Some(JobKind::Backup),
            "p" => Some(JobKind::Prune),
            _ => None,
        }
    }
}

/// Who runs a job (the sealed content of a marker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInfo {
    /// Host name.
    pub host: String,
    /// Process id on that host.
    pub pid: u32,
    /// User name.
    pub user: String,
    /// Start time (RFC 3339).
    pub started: String,
}

impl JobInfo {
    fn here() -> JobInfo {
        JobInfo {
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
            user: std::env::var("USER").unwrap_or_default(),
            started: chrono::Local::now().to_rfc3339(),
        }
    }
}

/// A running (not stale) job, from its newest marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Job {
    /// Job id (random, hex).
    pub id: String,
    /// Kind.
    pub kind: JobKind,
    /// Time of the newest marker (unix seconds, writer's clock).
    pub refreshed: i64,
    /// Who runs it, when the marker could be read.
    pub info: Option<JobInfo>,
}

impl std::fmt::Display for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            JobKind::Backup => "backup",
            JobKind::Prune => "prune",
        };
        match &self.info {
            Some(i) => write!(
                f,
                "{kind} {} on {} (pid {}, user {}, since {})",
                &self.id[..8],
                i.host,
                i.pid,
                i.user,
                i.started
            ),
            None => write!(f, "{kind} {}", &self.id[..8]),
        }
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn random_hex(n: usize) -> Result<String> {
    let mut b = vec![0u8; n];
    crypto::random_bytes(&mut b)?;
    Ok(hex::encode(b))
}

fn marker_name(kind: JobKind, id: &str, ts: i64) -> String {
    format!("{}-{id}-{ts}", kind.letter())
}

fn parse_marker_name(name: &str) -> Option<(JobKind, &str, i64)> {
    let mut it = name.splitn(3, '-');
    let kind = JobKind::from_letter(it.next()?)?;
    let id = it.next()?;
    let ts = it.next()?.parse().ok()?;
    (id.len() == 16).then_some((kind, id, ts))
}

/// True if `pid` names a live process on this host.
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn seal(sealer: &Sealer, magic: &[u8; 8], v: &impl Serialize) -> Result<Bytes> {
    let payload = serde_json::to_vec(v).map_err(|e| Error::invalid(format!("encoding: {e}")))?;
    Ok(Bytes::from(sealed::seal_file(sealer, magic, &payload, 0)?))
}

async fn read_sealed<T: serde::de::DeserializeOwned>(
    repo: &Repository,
    kind: FileKind,
    magic: &'static [u8; 8],
    name: &str,
) -> Result<T> {
    let bytes = repo.backend().read(kind, name).await?;
    let payload = sealed::open_file(repo.sealer(), magic, &bytes, &format!("{kind} {name}"))?;
    serde_json::from_slice(&payload).map_err(|e| Error::corrupt(format!("{kind} {name}: {e}")))
}

/// Jobs whose markers are neither stale nor left by a dead process on this host.
pub async fn running_jobs(repo: &Repository) -> Result<Vec<Job>> {
    let names = repo.backend().list(FileKind::Lock).await?;
    let mut newest: BTreeMap<String, (JobKind, i64, String)> = BTreeMap::new();
    for (name, _) in &names {
        let Some((kind, id, ts)) = parse_marker_name(name) else {
            continue;
        };
        let e = newest
            .entry(id.to_owned())
            .or_insert((kind, ts, name.clone()));
        if ts > e.1 {
            *e = (kind, ts, name.clone());
        }
    }
    let here = gethostname::gethostname().to_string_lossy().into_owned();
    let now = now();
    let mut out = Vec::new();
    for (id, (kind, ts, name)) in newest {
        if now - ts > STALE_SECS {
            continue;
        }
        let info: Option<JobInfo> = match read_sealed(repo, FileKind::Lock, LOCK_MAGIC, &name).await
        {
            Ok(i) => Some(i),
            // Refreshed (removed) between list and read: the job is alive.
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => {
                tracing::warn!("job marker {name} is unreadable: {e}");
                None
            }
        };
        if let Some(i) = &info {
            if i.host == here && !process_alive(i.pid) {
                continue;
            }
        }
        out.push(Job {
            id,
            kind,
            refreshed: ts,
            info,
        });
    }
    Ok(out)
}

/// A running job's marker, refreshed in the background until [`Lease::release`].
#[derive(Debug)]
pub struct Lease {
    id: String,
    kind: JobKind,
    backend: DynBackend,
    state: Arc<Mutex<LeaseState>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct LeaseState {
    name: String,
    refreshed: i64,
}

impl Lease {
    /// Create a marker for a job of `kind`.
    pub async fn acquire(repo: &Repository, kind: JobKind) -> Result<Lease> {
        Self::acquire_every(repo, kind, Duration::from_secs(REFRESH_SECS)).await
    }

    /// As [`Lease::acquire`] with a custom refresh interval (tests).
    pub async fn acquire_every(repo: &Repository, kind: JobKind, every: Duration) -> Result<Lease> {
        let id = random_hex(8)?;
        let info = seal(repo.sealer(), LOCK_MAGIC, &JobInfo::here())?;
        let ts = now();
        let name = marker_name(kind, &id, ts);
        repo.backend()
            .create(FileKind::Lock, &name, info.clone())
            .await
            .map_err(|e| e.context("writing the job marker"))?;
        let state = Arc::new(Mutex::new(LeaseState {
            name,
            refreshed: ts,
        }));
        let task = {
            let state = state.clone();
            let be = repo.backend().clone();
            let id = id.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let ts = now();
                    let old = state.lock().unwrap_or_else(|p| p.into_inner()).name.clone();
                    let new = marker_name(kind, &id, ts);
                    if new == old {
                        continue;
                    }
                    match be.create(FileKind::Lock, &new, info.clone()).await {
                        Ok(()) => {
                            {
                                let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
                                s.name = new;
                                s.refreshed = ts;
                            }
                            if let Err(e) = be.remove(FileKind::Lock, &old).await {
                                tracing::warn!("removing old job marker {old}: {e}");
                            }
                        }
                        Err(e) => tracing::warn!("refreshing the job marker failed: {e}"),
                    }
                }
            })
        };
        Ok(Lease {
            id,
            kind,
            backend: repo.backend().clone(),
            state,
            task,
        })
    }

    /// The job id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The job kind.
    pub fn kind(&self) -> JobKind {
        self.kind
    }

    /// Fail when the marker was not refreshed for so long that other jobs may consider this one
    /// dead (the process was suspended or the storage unreachable); call before destructive steps.
    pub fn ensure_fresh(&self) -> Result<()> {
        let refreshed = self
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .refreshed;
        if now() - refreshed > STALE_SECS - 120 {
            return Err(Error::new(
                ErrorKind::Conflict,
                "this job's marker could not be refreshed for too long, so other jobs may \
                 consider it dead; stopping before any deletion (nothing was lost; run it again)",
            ));
        }
        Ok(())
    }

    /// Stop refreshing and remove the marker.
    pub async fn release(self) {
        self.task.abort();
        let name = self
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .name
            .clone();
        if let Err(e) = self.backend.remove(FileKind::Lock, &name).await {
            tracing::warn!("removing job marker {name}: {e}");
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Without `release` (an error path) the marker stays and goes stale.
        self.task.abort();
    }
}

/// A deletion generation: packs prune intends to delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generation {
    /// Creation time (RFC 3339).
    pub created: String,
    /// Host that wrote it.
    pub host: String,
    /// Pack ids (hex).
    pub packs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct WaitRecord {
    jobs: Vec<String>,
}

/// A generation not yet completed.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Record name (`g-…`).
    pub name: String,
    /// The record.
    pub generation: Generation,
    /// Jobs that were running when it was written, if recorded.
    pub waits: Option<Vec<String>>,
    /// Deletion has started (an `-x` record exists).
    pub executing: bool,
}

/// The garbage-collection records of a repository.
#[derive(Debug, Clone, Default)]
pub struct GcState {
    /// Generations whose packs may still exist.
    pub pending: Vec<Pending>,
    /// Generations whose deletion started (`-x` records), with their time.
    pub executed: BTreeMap<String, i64>,
}

fn gen_time(name: &str) -> i64 {
    name.split('-')
        .nth(1)
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

impl GcState {
    /// Read every record.
    pub async fn load(repo: &Repository) -> Result<GcState> {
        let names: BTreeSet<String> = repo
            .backend()
            .list(FileKind::Gc)
            .await?
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let mut st = GcState::default();
        for n in &names {
            if let Some(base) = n.strip_suffix("-x") {
                st.executed.insert(base.to_owned(), gen_time(base));
            }
        }
        for n in names.iter().filter(|n| n.starts_with("g-") && n.len() > 3) {
            if n.ends_with("-x") || n.ends_with("-w") {
                continue;
            }
            let generation: Generation = match read_sealed(repo, FileKind::Gc, GC_MAGIC, n).await {
                Ok(g) => g,
                Err(e) if e.kind() == ErrorKind::NotFound => continue, // completed meanwhile
                Err(e) => return Err(e.context("reading prune records")),
            };
            let w = format!("{n}-w");
            let waits = if names.contains(&w) {
                match read_sealed::<WaitRecord>(repo, FileKind::Gc, GC_MAGIC, &w).await {
                    Ok(r) => Some(r.jobs),
                    Err(e) if e.kind() == ErrorKind::NotFound => None,
                    Err(e) => return Err(e.context("reading prune records")),
                }
            } else {
                None
            };
            st.pending.push(Pending {
                name: n.clone(),
                executing: st.executed.contains_key(n),
                generation,
                waits,
            });
        }
        Ok(st)
    }

    /// Packs of pending generations: not to be used for deduplication.
    pub fn doomed_packs(&self) -> HashSet<FileId> {
        self.pending
            .iter()
            .flat_map(|p| p.generation.packs.iter())
            .filter_map(|h| FileId::from_hex(h).ok())
            .collect()
    }

    /// Names of every generation known (pending or executed).
    pub fn known(&self) -> BTreeSet<String> {
        self.pending
            .iter()
            .map(|p| p.name.clone())
            .chain(self.executed.keys().cloned())
            .collect()
    }
}

/// Write a new generation; returns its name.
pub async fn write_generation(repo: &Repository, packs: &[FileId]) -> Result<String> {
    let name = format!("g-{}-{}", now(), random_hex(8)?);
    let g = Generation {
        created: chrono::Local::now().to_rfc3339(),
        host: gethostname::gethostname().to_string_lossy().into_owned(),
        packs: packs.iter().map(|p| p.to_hex()).collect(),
    };
    repo.backend()
        .create(FileKind::Gc, &name, seal(repo.sealer(), GC_MAGIC, &g)?)
        .await?;
    Ok(name)
}

/// Record the jobs a generation waits for.
pub async fn write_waits(repo: &Repository, generation: &str, jobs: &[Job]) -> Result<()> {
    let r = WaitRecord {
        jobs: jobs.iter().map(|j| j.id.clone()).collect(),
    };
    let name = format!("{generation}-w");
    match repo
        .backend()
        .create(FileKind::Gc, &name, seal(repo.sealer(), GC_MAGIC, &r)?)
        .await
    {
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        r => r,
    }
}

/// Record that deletion of a generation's packs starts.
pub async fn mark_executing(repo: &Repository, generation: &str) -> Result<()> {
    let name = format!("{generation}-x");
    let body = seal(repo.sealer(), GC_MAGIC, &chrono::Local::now().to_rfc3339())?;
    match repo.backend().create(FileKind::Gc, &name, body).await {
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        r => r,
    }
}

/// Remove a completed generation's records (its `-x` record stays as evidence for late jobs).
pub async fn complete(repo: &Repository, generation: &str) -> Result<()> {
    for name in [format!("{generation}-w"), generation.to_owned()] {
        match repo.backend().remove(FileKind::Gc, &name).await {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Remove `-x` records older than any job could run, stale markers, and temporary files of
/// writes interrupted more than a day ago.
pub async fn tidy(repo: &Repository, state: &GcState) -> Result<()> {
    if let Err(e) = repo
        .backend()
        .remove_stale_temporaries(Duration::from_secs(86_400))
        .await
    {
        tracing::warn!("removing leftovers of interrupted writes: {e}");
    }
    let now = now();
    for (g, t) in &state.executed {
        let pending = state.pending.iter().any(|p| &p.name == g);
        if !pending && now - t > KEEP_EXECUTED_SECS {
            let _ = repo.backend().remove(FileKind::Gc, &format!("{g}-x")).await;
        }
    }
    for (name, _) in repo.backend().list(FileKind::Lock).await? {
        if let Some((_, _, ts)) = parse_marker_name(&name) {
            if now - ts > 2 * STALE_SECS {
                let _ = repo.backend().remove(FileKind::Lock, &name).await;
            }
        }
    }
    Ok(())
}

/// Fail if prune started deleting a generation this job never saw: it then considered this
/// job dead, and data the job relies on may be gone.
pub async fn ensure_not_overtaken(repo: &Repository, known: &BTreeSet<String>) -> Result<()> {
    for (name, _) in repo.backend().list(FileKind::Gc).await? {
        if let Some(base) = name.strip_suffix("-x") {
            if !known.contains(base) {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "a prune (record {base}) deleted data while this job was not refreshing its \
                         marker (suspended or cut off for more than {} minutes); this job's result \
                         was not committed. Nothing already stored was lost: run the job again",
                        STALE_SECS / 60
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_names_round_trip() {
        let n = marker_name(JobKind::Prune, "0123456789abcdef", 1_700_000_000);
        assert_eq!(n, "p-0123456789abcdef-1700000000");
        assert_eq!(
            parse_marker_name(&n),
            Some((JobKind::Prune, "0123456789abcdef", 1_700_000_000))
        );
        assert_eq!(parse_marker_name("x-0123456789abcdef-1"), None);
        assert_eq!(parse_marker_name("b-short-1"), None);
        assert_eq!(parse_marker_name("b-0123456789abcdef-notanumber"), None);
        assert_eq!(gen_time("g-1700000000-00ff"), 1_700_000_000);
    }

    #[test]
    fn dead_processes_are_detected() {
        assert!(process_alive(std::process::id()));
        // Reap a child so its pid is free.
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        assert!(!process_alive(pid) || pid == std::process::id());
    }
}
