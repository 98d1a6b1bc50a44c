//! `hvelv archive`: the archive store. Deposit packages (DIAS SIP tar + description) and
//! extract folders become archive snapshots in a repository of their own, with their fixity
//! reference kept as a sealed manifest record; `verify` proves them unchanged and logs a
//! PREMIS-style event, `get` gives the bytes back, `remove` is the only way to delete one.
//!
//! The engine stores and reads (`hvelv_engine::archive`, `ops::archive`); the Noark 5 library
//! reads packages (`hvelv_noark5::package`); this module is the glue.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use hvelv_engine::archive::{ArchiveRecord, ArchiveTag, Event, Manifest, ManifestFile, Member};
use hvelv_engine::ops::backup::{backup, BackupOptions, ParentChoice};
use hvelv_engine::progress::NoProgress;
use hvelv_engine::snapshot::SnapshotEntry;
use hvelv_engine::{IndexedRepository, Repository};
use hvelv_noark5::package::{addml_checksums, check_package, PackageFacts};
use serde_json::json;

use super::archive_check::verify_snapshot;
use crate::args::Global;

/// `hvelv archive`.
#[derive(Debug, Args)]
pub struct ArchiveArgs {
    #[command(flatten)]
    pub repo: ArchiveRepo,
    #[command(subcommand)]
    pub command: ArchiveCommand,
}

/// The archive repository: separate from the backup repository, with its own password.
#[derive(Debug, Args, Clone)]
pub struct ArchiveRepo {
    /// The archive repository (create it with `hvelv init -r DIR`, its own password). It must
    /// not be the backup repository (-r/--repo, HVELV_REPOSITORY, the config file).
    #[arg(
        long,
        env = "HVELV_ARCHIVE_REPOSITORY",
        global = true,
        value_name = "REPO"
    )]
    pub archive_repo: Option<String>,
    /// File whose first line is the archive repository's password.
    #[arg(
        long,
        env = "HVELV_ARCHIVE_PASSWORD_FILE",
        global = true,
        value_name = "FILE"
    )]
    pub archive_password_file: Option<PathBuf>,
    /// Command printing the archive repository's password.
    #[arg(long, env = "HVELV_ARCHIVE_PASSWORD_COMMAND", global = true)]
    pub archive_password_command: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Store a package ({uuid}.tar with {uuid}.xml beside it) or an extract folder as an
    /// archive snapshot, after checking it; the stored copy is read back and verified.
    Put(PutArgs),
    /// List archive snapshots with their metadata and last fixity result.
    List,
    /// Re-read stored packages and compare them with their fixity reference; logs an event.
    Verify(VerifyArgs),
    /// Restore a package bit-exact into a folder (verified before success).
    Get(GetArgs),
    /// Remove an archive snapshot; the removal and its reason are logged and kept.
    Remove(RemoveArgs),
    /// Secure zone: health export → extract → validate → package → put, with every plaintext
    /// file inside --workdir, which is removed afterwards.
    IngestHealth(Box<super::archive_ingest::IngestArgs>),
}

#[derive(Debug, Args)]
pub struct PutArgs {
    /// The package tar ({uuid}.tar, with {uuid}.xml beside it) or an extract folder.
    pub path: PathBuf,
    /// The unit the package covers (default: the archive name in arkivuttrekk.xml).
    #[arg(long)]
    pub unit: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Archive snapshot id (or prefix); with --all, every archive snapshot.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub id: Option<String>,
    /// Verify every archive snapshot.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Archive snapshot id (or prefix).
    pub id: String,
    /// Folder to restore into (created; files already there are never overwritten).
    #[arg(long)]
    pub target: PathBuf,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Archive snapshot id (or prefix).
    pub id: String,
    /// Why it is removed (recorded in the kept deletion event).
    #[arg(long)]
    pub reason: String,
}

/// Run `hvelv archive`; returns the exit code.
pub async fn run(g: &Global, a: ArchiveArgs) -> Result<i32> {
    match a.command {
        ArchiveCommand::Put(p) => put(g, &a.repo, p).await,
        ArchiveCommand::List => list(g, &a.repo).await,
        ArchiveCommand::Verify(v) => super::archive_check::run_verify(g, &a.repo, v).await,
        ArchiveCommand::Get(x) => super::archive_check::run_get(g, &a.repo, x).await,
        ArchiveCommand::Remove(r) => remove(g, &a.repo, r).await,
        ArchiveCommand::IngestHealth(i) => super::archive_ingest::run(g, &a.repo, *i).await,
    }
}

/// Canonical form of a repository location for comparison (local paths resolved).
fn canonical(loc: &str) -> String {
    if loc.starts_with("s3:") {
        return loc.trim_end_matches('/').to_string();
    }
    std::fs::canonicalize(loc)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| {
            std::path::absolute(loc)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| loc.to_string())
        })
}

/// The archive repository's location; refuses the backup repository.
pub fn location(g: &Global, r: &ArchiveRepo) -> Result<String> {
    let Some(loc) = r.archive_repo.as_deref().filter(|s| !s.is_empty()) else {
        bail!(
            "no archive repository given: use --archive-repo REPO or HVELV_ARCHIVE_REPOSITORY \
             (a repository of its own, with its own password: `hvelv init -r REPO`)"
        );
    };
    if let Some(backup) = g.repo.as_deref().filter(|s| !s.is_empty()) {
        if canonical(backup) == canonical(loc) {
            bail!(
                "the archive repository {loc} is the backup repository (-r/--repo, \
                 HVELV_REPOSITORY or the config file): archive snapshots need a separate \
                 repository with its own key; create one with `hvelv init -r OTHER_DIR`"
            );
        }
    }
    Ok(loc.to_string())
}

/// Open the archive repository with its own password.
pub async fn open(g: &Global, r: &ArchiveRepo) -> Result<IndexedRepository> {
    let loc = location(g, r)?;
    let be = hvelv_engine::backend::open_backend(&loc)?;
    let pw = crate::password::from_sources(
        r.archive_password_file.as_deref(),
        r.archive_password_command.as_deref(),
        "HVELV_ARCHIVE_PASSWORD",
        "archive repository password: ",
    )
    .with_context(|| {
        format!(
            "the password of the archive repository {loc}: use --archive-password-file, \
             --archive-password-command, or HVELV_ARCHIVE_PASSWORD_FILE, \
             HVELV_ARCHIVE_PASSWORD_COMMAND, HVELV_ARCHIVE_PASSWORD"
        )
    })?;
    let repo = Repository::open(be, &pw).await?;
    repo.load_index().await.context("loading the index")
}

/// Who does it, for events: program, user and host.
pub fn agent() -> String {
    format!(
        "hvelv {} ({}@{})",
        env!("CARGO_PKG_VERSION"),
        std::env::var("USER").unwrap_or_else(|_| "?".into()),
        hvelv_engine::ops::backup::BackupOptions::default().host
    )
}

/// What `put` stores, checked.
struct Checked {
    tag: ArchiveTag,
    files: Vec<ManifestFile>,
    paths: Vec<PathBuf>,
}

/// The error for a package that is refused; printed problems, exit 4.
#[derive(Debug)]
pub struct Refused(pub String);
impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Refused {}

fn abs(p: &Path) -> Result<PathBuf> {
    let a = std::path::absolute(p).with_context(|| format!("resolving {}", p.display()))?;
    a.to_str()
        .with_context(|| format!("{}: the path is not UTF-8", a.display()))?;
    Ok(a)
}

fn require(
    facts: &PackageFacts,
    what: &str,
    unit: Option<String>,
) -> Result<(String, String, String, Option<String>)> {
    let missing = facts.missing();
    if !missing.is_empty() {
        return Err(Refused(format!(
            "{what}: missing metadata: {} (a package needs an ARCHIVIST ORGANIZATION agent and \
             STARTDATE/ENDDATE in dias-mets.xml, or recordCreator and archivalPeriod in \
             arkivuttrekk.xml); nothing was stored",
            missing.join(", ")
        ))
        .into());
    }
    Ok((
        facts.archive_creator.clone().unwrap_or_default(),
        facts.period_start.clone().unwrap_or_default(),
        facts.period_end.clone().unwrap_or_default(),
        unit.or_else(|| facts.archive_name.clone()),
    ))
}

/// Check a package tar and its description; everything `put` needs.
fn check_tar(tar: &Path, unit: Option<String>) -> Result<Checked> {
    let tar = abs(tar)?;
    let c = check_package(&tar).with_context(|| {
        format!(
            "{}: not a DIAS package (a tar made by `hvelv noark5 package` or Arkade); nothing \
             was stored",
            tar.display()
        )
    })?;
    if !c.problems.is_empty() {
        let list: Vec<String> = c.problems.iter().map(|p| format!("  {p}")).collect();
        return Err(Refused(format!(
            "{} is not a valid package; nothing was stored:\n{}",
            tar.display(),
            list.join("\n")
        ))
        .into());
    }
    if !c.description_checked {
        return Err(Refused(format!(
            "{}: the package description {}.xml is not beside the tar; `archive put` stores \
             both (as `hvelv noark5 package` writes them); nothing was stored",
            tar.display(),
            c.uuid
        ))
        .into());
    }
    let (creator, start, end, unit) = require(&c.facts, &tar.display().to_string(), unit)?;
    let desc = tar.with_file_name(format!("{}.xml", c.uuid));
    let (desc_sha, desc_size) = hvelv_noark5::sha256_file(&desc)?;
    let members = c
        .members
        .iter()
        .map(|m| Member {
            name: m.name.clone(),
            size: m.size,
            sha256: m.sha256.clone(),
            offset: m.offset,
        })
        .collect();
    let name = |p: &Path| {
        p.file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    };
    Ok(Checked {
        tag: ArchiveTag {
            kind: "package".into(),
            package_id: c.uuid.clone(),
            archive_creator: creator,
            period_start: start,
            period_end: end,
            unit,
            label: c.facts.label.clone(),
            manifest: String::new(),
        },
        files: vec![
            ManifestFile {
                path: tar.display().to_string(),
                name: name(&tar),
                size: c.tar_size,
                sha256: c.tar_sha256.clone(),
                reference: "METS".into(),
                members,
            },
            ManifestFile {
                path: desc.display().to_string(),
                name: name(&desc),
                size: desc_size,
                sha256: desc_sha,
                reference: "METS".into(),
                members: Vec::new(),
            },
        ],
        paths: vec![tar.clone(), desc],
    })
}

/// Check an extract folder: ADDML facts and checksums; every file hashed.
fn check_extract(dir: &Path, unit: Option<String>) -> Result<Checked> {
    let dir = abs(dir)?;
    let documented = addml_checksums(&dir).with_context(|| {
        format!(
            "{}: not a Noark 5 extract; nothing was stored",
            dir.display()
        )
    })?;
    let addml = dir.join("arkivuttrekk.xml");
    let bytes = std::fs::read(&addml).with_context(|| format!("reading {}", addml.display()))?;
    let facts = PackageFacts::from_addml(&bytes, &addml)?;
    let (creator, start, end, unit) = require(&facts, &addml.display().to_string(), unit)?;
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))? {
            let e = e.with_context(|| format!("listing {}", d.display()))?;
            let t = e.file_type()?;
            let p = e.path();
            if t.is_dir() {
                stack.push(p);
                continue;
            }
            if !t.is_file() {
                bail!(Refused(format!(
                    "{}: not a regular file (an extract holds files and folders only); nothing \
                     was stored",
                    p.display()
                )));
            }
            let rel = p
                .strip_prefix(&dir)
                .unwrap_or(&p)
                .to_str()
                .with_context(|| format!("{}: the name is not UTF-8", p.display()))?
                .to_string();
            let (sha, size) = hvelv_noark5::sha256_file(&p)?;
            let reference = match documented.get(&rel) {
                Some(d) if *d == sha => "ADDML",
                Some(d) => {
                    problems.push(format!(
                        "  {rel}: SHA-256 {sha} differs from {d} in arkivuttrekk.xml"
                    ));
                    continue;
                }
                None => "put",
            };
            files.push(ManifestFile {
                path: p.display().to_string(),
                name: rel,
                size,
                sha256: sha,
                reference: reference.into(),
                members: Vec::new(),
            });
        }
    }
    for name in documented.keys() {
        if !dir.join(name).is_file() {
            problems.push(format!("  {name}: listed in arkivuttrekk.xml but missing"));
        }
    }
    if !problems.is_empty() {
        bail!(Refused(format!(
            "{} does not match its arkivuttrekk.xml; nothing was stored:\n{}",
            dir.display(),
            problems.join("\n")
        )));
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Checked {
        tag: ArchiveTag {
            kind: "extract".into(),
            package_id: uuid::Uuid::new_v4().to_string(),
            archive_creator: creator,
            period_start: start,
            period_end: end,
            unit,
            label: None,
            manifest: String::new(),
        },
        files,
        paths: vec![dir],
    })
}

/// Check `path`, store it as an archive snapshot, read it back and verify it. Returns the
/// snapshot and the ingestion event. Shared with `ingest-health`.
pub async fn store(
    repo: &mut IndexedRepository,
    path: &Path,
    unit: Option<String>,
) -> Result<(SnapshotEntry, Event, Manifest)> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("{}: cannot read it; nothing was stored", path.display()))?;
    let p = path.to_path_buf();
    let checked = tokio::task::spawn_blocking(move || {
        if meta.is_dir() {
            check_extract(&p, unit)
        } else {
            check_tar(&p, unit)
        }
    })
    .await??;
    let manifest = Manifest {
        package_id: checked.tag.package_id.clone(),
        created: chrono::Local::now().to_rfc3339(),
        files: checked.files,
    };
    let mid = repo
        .save_archive_record(&ArchiveRecord::Manifest(manifest.clone()))
        .await?;
    let tag = ArchiveTag {
        manifest: mid.to_hex(),
        ..checked.tag
    };
    let opts = BackupOptions {
        paths: checked.paths,
        tags: vec!["archive".into()],
        parent: ParentChoice::None,
        archive: Some(tag.clone()),
        ..BackupOptions::default()
    };
    let done = backup(repo, &opts, Arc::new(NoProgress)).await?;
    if !done.warnings.is_empty() {
        let _ = repo.remove_snapshot(&done.snapshot.id).await;
        bail!(
            "storing {} was incomplete ({}); the snapshot was removed, nothing was stored",
            path.display(),
            done.warnings.join("; ")
        );
    }
    let snap = done.snapshot;
    // Read back what was stored: the files may have changed between the check and the backup.
    let outcome = verify_snapshot(repo, &snap, &manifest).await?;
    let mut ev = Event::new("ingestion", &snap.id, &tag.package_id, &agent())?;
    ev.detail = format!(
        "stored and read back: {} file(s), {} bytes compared with the fixity reference",
        outcome.files, outcome.bytes
    );
    if !outcome.failures.is_empty() {
        ev.outcome = "failure".into();
        ev.failures = outcome.failures.clone();
        repo.save_archive_record(&ArchiveRecord::Events {
            events: vec![ev.clone()],
        })
        .await?;
        repo.remove_snapshot(&snap.id).await?;
        bail!(
            "the stored copy of {} does not match what was checked (did it change while it was \
             stored?); the snapshot was removed:\n  {}",
            path.display(),
            outcome.failures.join("\n  ")
        );
    }
    repo.save_archive_record(&ArchiveRecord::Events {
        events: vec![ev.clone()],
    })
    .await?;
    Ok((snap, ev, manifest))
}

async fn put(g: &Global, r: &ArchiveRepo, a: PutArgs) -> Result<i32> {
    // Refuse bad input before asking for a password.
    if !a.path.exists() {
        bail!(
            "{}: no such file or folder; nothing was stored",
            a.path.display()
        );
    }
    let mut repo = open(g, r).await?;
    let (snap, ev, manifest) = match store(&mut repo, &a.path, a.unit).await {
        Ok(x) => x,
        Err(e) if e.downcast_ref::<Refused>().is_some() => {
            eprintln!("error: {e}");
            return Ok(crate::exit::FINDINGS);
        }
        Err(e) => return Err(e),
    };
    let tag = tag_of(&snap)?;
    if g.json {
        super::print_json(&json!({
            "snapshot": snap.id.to_hex(),
            "archive": tag,
            "files": manifest.files.iter().map(|f| json!({
                "name": f.name, "size": f.size, "sha256": f.sha256, "reference": f.reference,
                "members": f.members.len(),
            })).collect::<Vec<_>>(),
            "event": ev,
        }))?;
    } else {
        println!(
            "archive snapshot {} ({} {}): {}, {} to {}{}",
            snap.id.short(),
            tag.kind,
            tag.package_id,
            tag.archive_creator,
            tag.period_start,
            tag.period_end,
            tag.unit
                .as_deref()
                .map(|u| format!(", unit {u}"))
                .unwrap_or_default()
        );
        for f in &manifest.files {
            println!("  {}  {} bytes  SHA-256 {}", f.name, f.size, f.sha256);
        }
        println!("verified: {}", ev.detail);
    }
    Ok(crate::exit::OK)
}

/// The archive tag of an archive snapshot.
pub fn tag_of(s: &SnapshotEntry) -> Result<ArchiveTag> {
    s.snapshot.archive.clone().with_context(|| {
        format!(
            "snapshot {} is not an archive snapshot (see `hvelv archive list`)",
            s.id.short()
        )
    })
}

/// Every archive snapshot, oldest first.
pub async fn archive_snapshots(repo: &Repository) -> Result<Vec<SnapshotEntry>> {
    Ok(repo
        .snapshots()
        .await?
        .into_iter()
        .filter(|s| s.snapshot.archive.is_some())
        .collect())
}

/// One archive snapshot by id or prefix.
pub async fn find(repo: &Repository, spec: &str) -> Result<SnapshotEntry> {
    let s = repo.find_snapshot(spec, None).await?;
    tag_of(&s)?;
    Ok(s)
}

/// The manifest of an archive snapshot.
pub async fn manifest_of(repo: &Repository, s: &SnapshotEntry) -> Result<Manifest> {
    let tag = tag_of(s)?;
    match repo
        .read_archive_record(&tag.manifest_id()?)
        .await
        .with_context(|| {
            format!(
                "reading the fixity manifest of archive snapshot {}",
                s.id.short()
            )
        })? {
        ArchiveRecord::Manifest(m) => Ok(m),
        ArchiveRecord::Events { .. } => Err(hvelv_engine::Error::corrupt(format!(
            "archive snapshot {}: its manifest record holds events",
            s.id.short()
        ))
        .into()),
    }
}

async fn list(g: &Global, r: &ArchiveRepo) -> Result<i32> {
    let repo = open(g, r).await?;
    let snaps = archive_snapshots(&repo).await?;
    let events = repo.archive_events().await?;
    let mut out = Vec::new();
    for s in &snaps {
        let tag = tag_of(s)?;
        let m = manifest_of(&repo, s).await?;
        let sid = s.id.to_hex();
        let last = events
            .iter()
            .rev()
            .find(|e| e.snapshot == sid && e.event_type != "deletion");
        out.push((s, tag, m, last.cloned()));
    }
    let removed: Vec<&Event> = events
        .iter()
        .filter(|e| e.event_type == "deletion")
        .collect();
    if g.json {
        let v: Vec<_> = out
            .iter()
            .map(|(s, tag, m, last)| {
                json!({
                    "snapshot": s.id.to_hex(),
                    "time": s.snapshot.time,
                    "archive": tag,
                    "files": m.files.iter().map(|f| json!({
                        "name": f.name, "size": f.size, "sha256": f.sha256,
                    })).collect::<Vec<_>>(),
                    "last_fixity": last,
                })
            })
            .collect();
        super::print_json(&json!({"snapshots": v, "removed": removed}))?;
        return Ok(crate::exit::OK);
    }
    if out.is_empty() {
        println!("no archive snapshots");
    }
    for e in &removed {
        println!(
            "removed: {} (package {}) on {} by {}: {}",
            &e.snapshot[..8.min(e.snapshot.len())],
            e.package_id,
            e.date,
            e.agent,
            e.detail
        );
    }
    for (s, tag, m, last) in &out {
        let fix = match last {
            Some(e) => format!("{} {} ({})", e.event_type, e.outcome, e.date),
            None => "never verified".into(),
        };
        println!(
            "{}  {}  {} {}  {}  {} to {}{}",
            s.id.short(),
            s.snapshot.time,
            tag.kind,
            tag.package_id,
            tag.archive_creator,
            tag.period_start,
            tag.period_end,
            tag.unit
                .as_deref()
                .map(|u| format!("  unit {u}"))
                .unwrap_or_default()
        );
        let bytes: u64 = m.files.iter().map(|f| f.size).sum();
        println!(
            "          {} file(s), {}; last fixity: {fix}",
            m.files.len(),
            super::human(bytes)
        );
    }
    Ok(crate::exit::OK)
}

async fn remove(g: &Global, r: &ArchiveRepo, a: RemoveArgs) -> Result<i32> {
    if a.reason.trim().is_empty() {
        bail!("--reason must say why the archive snapshot is removed; nothing was removed");
    }
    let repo = open(g, r).await?;
    let s = find(&repo, &a.id).await?;
    let tag = tag_of(&s)?;
    let mut ev = Event::new("deletion", &s.id, &tag.package_id, &agent())?;
    ev.detail = format!("removed: {}", a.reason.trim());
    // The event is written first: a crash in between leaves the snapshot with its removal
    // logged, and running the command again finishes it.
    repo.save_archive_record(&ArchiveRecord::Events {
        events: vec![ev.clone()],
    })
    .await?;
    repo.remove_snapshot(&s.id).await?;
    if g.json {
        super::print_json(&json!({"removed": s.id.to_hex(), "event": ev}))?;
    } else {
        println!(
            "removed archive snapshot {} (package {}); the deletion is logged (event {}). \
             `hvelv prune` frees its data.",
            s.id.short(),
            tag.package_id,
            ev.id
        );
    }
    Ok(crate::exit::OK)
}
