//! `hvelv forget`: remove snapshots by a retention policy or by id. The policy is planned by
//! the engine first (`ops::forget::plan`), printed, and only then carried out unless
//! `--dry-run`. Data is freed by `hvelv prune`, not here.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;

use hvelv_engine::backend::{FileKind, Held};
use hvelv_engine::ops::forget::{self, Candidate, Decision, ForgetPlan, Planned};
use hvelv_engine::ops::worm::held_files;
use hvelv_engine::snapshot::SnapshotEntry;
use hvelv_engine::{ErrorKind, FileId, Repository};
use serde_json::{json, Value};

use crate::args::{ForgetArgs, Global};

pub async fn run(g: &Global, a: ForgetArgs) -> Result<i32> {
    if !a.snapshots.is_empty() {
        if !a.policy().is_empty() || !a.host.is_empty() || !a.tag.is_empty() {
            bail!(
                "give either snapshot ids or --keep-*/--host/--tag options, not both: ids remove \
                 exactly those snapshots, options apply a retention policy"
            );
        }
        return explicit(g, &a).await;
    }
    let policy = a.policy();
    if policy.is_empty() {
        // Refuse before asking for a password or reading the repository.
        forget::plan(Vec::new(), &policy, a.group_by, chrono::Utc::now())?;
    }
    let repo = super::open_full(g, "forget snapshots").await?;
    let (archived, ordinary): (Vec<SnapshotEntry>, Vec<SnapshotEntry>) = repo
        .snapshots()
        .await?
        .into_iter()
        .filter(|s| a.host.is_empty() || a.host.contains(&s.snapshot.host))
        .filter(|s| a.tag.is_empty() || a.tag.iter().any(|t| s.snapshot.tags.contains(t)))
        .partition(|s| s.snapshot.archive.is_some());
    // Archive snapshots are outside retention: no rule sees them and none is removed.
    let selected: Vec<Candidate> = ordinary.iter().map(Candidate::from).collect();
    if !archived.is_empty() && !g.json {
        eprintln!(
            "skipping {} archive snapshot(s) ({}): retention never removes them; use \
             `hvelv archive remove ID --reason TEXT`",
            archived.len(),
            archived
                .iter()
                .map(|s| s.id.short())
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    let plan = forget::plan(selected, &policy, a.group_by, chrono::Utc::now())?;
    let held = held_snapshots(&repo, plan.removals().map(|p| p.snapshot.id)).await?;
    let ids: Vec<FileId> = plan
        .removals()
        .map(|p| p.snapshot.id)
        .filter(|id| !held.contains_key(&id.to_hex()))
        .collect();
    let removed = if a.dry_run {
        Vec::new()
    } else {
        remove_all(&repo, &ids).await?
    };
    if g.json {
        let mut v = plan_json(&plan, a.dry_run, &removed, &held);
        v["skipped_archive_snapshots"] =
            json!(archived.iter().map(|s| s.id.to_hex()).collect::<Vec<_>>());
        super::print_json(&v)?;
        return Ok(crate::exit::OK);
    }
    for group in &plan.groups {
        print_group(group, &held);
    }
    let total = plan.kept() + ids.len() + held.len();
    summary(a.dry_run, ids.len(), total);
    if !held.is_empty() {
        println!(
            "{} snapshot(s) to remove are still under S3 Object Lock retention and were kept; \
             a forget after the date shown removes them",
            held.len()
        );
    }
    Ok(crate::exit::OK)
}

/// Snapshots among `ids` still under Object Lock retention (WORM repositories; none otherwise).
async fn held_snapshots(
    repo: &Repository,
    ids: impl Iterator<Item = FileId>,
) -> Result<BTreeMap<String, Held>> {
    let names: Vec<String> = ids.map(|id| id.to_hex()).collect();
    Ok(held_files(
        repo.backend(),
        FileKind::Snapshot,
        &names,
        chrono::Utc::now(),
    )
    .await?)
}

/// `forget ID...`: refuses protected snapshots (removing none of the given ones).
async fn explicit(g: &Global, a: &ForgetArgs) -> Result<i32> {
    let repo = super::open_full(g, "forget snapshots").await?;
    let mut entries: Vec<SnapshotEntry> = Vec::new();
    for spec in &a.snapshots {
        let e = repo.find_snapshot(spec, None).await?;
        if !entries.iter().any(|x| x.id == e.id) {
            entries.push(e);
        }
    }
    forget::check_explicit(&entries)?;
    let held = held_snapshots(&repo, entries.iter().map(|e| e.id)).await?;
    if !held.is_empty() {
        let list: Vec<String> = held.values().map(|h| h.to_string()).collect();
        return Err(hvelv_engine::Error::new(
            ErrorKind::Locked,
            format!(
                "not removing any of the given snapshots: {}. Forget them after that date",
                list.join("; ")
            ),
        )
        .into());
    }
    let ids: Vec<FileId> = entries.iter().map(|e| e.id).collect();
    let removed = if a.dry_run {
        Vec::new()
    } else {
        remove_all(&repo, &ids).await?
    };
    if g.json {
        let list: Vec<Value> = ids.iter().map(|id| json!(id.to_hex())).collect();
        super::print_json(&json!({
            "dry_run": a.dry_run,
            "to_remove": list,
            "removed": removed.iter().map(|id| id.to_hex()).collect::<Vec<_>>(),
        }))?;
        return Ok(crate::exit::OK);
    }
    for e in &entries {
        println!(
            "  {:<6}  {}  {}  {}  {}",
            "remove",
            e.id.short(),
            local_time(&e.snapshot.time),
            e.snapshot.host,
            e.snapshot.paths.join(" ")
        );
    }
    summary(a.dry_run, ids.len(), ids.len());
    Ok(crate::exit::OK)
}

/// Remove snapshot files one by one. A file already gone (a concurrent forget) counts as
/// removed; any other failure stops, saying how far it got (running forget again is safe).
pub(crate) async fn remove_all(repo: &Repository, ids: &[FileId]) -> Result<Vec<FileId>> {
    let mut done = Vec::with_capacity(ids.len());
    for id in ids {
        match repo.remove_snapshot(id).await {
            Ok(()) => done.push(*id),
            Err(e) if e.kind() == ErrorKind::NotFound => done.push(*id),
            Err(e) => {
                return Err(anyhow::Error::from(e)).with_context(|| {
                    format!(
                        "removed {} of {} snapshots before this failure; run the same forget \
                         again to finish",
                        done.len(),
                        ids.len()
                    )
                })
            }
        }
    }
    Ok(done)
}

fn summary(dry_run: bool, removing: usize, total: usize) {
    if removing == 0 {
        println!("nothing to remove ({total} snapshots kept)");
    } else if dry_run {
        println!("dry run: would remove {removing} of {total} snapshots; nothing was changed");
    } else {
        println!(
            "removed {removing} of {total} snapshots; run `hvelv prune` to free the space \
             their data uses"
        );
    }
}

fn local_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| rfc3339.to_owned())
}

fn time_of(p: &Planned) -> String {
    p.snapshot
        .time
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "(unreadable time)".to_owned())
}

/// The action and reasons of one planned snapshot, as strings.
fn verdict(p: &Planned, held: &BTreeMap<String, Held>) -> (&'static str, Vec<String>) {
    if let Some(h) = held.get(&p.snapshot.id.to_hex()) {
        return (
            "held",
            vec![format!(
                "to remove, but held by Object Lock until {}",
                h.until
            )],
        );
    }
    match &p.decision {
        Decision::Keep(r) => ("keep", r.iter().map(|r| r.to_string()).collect()),
        Decision::Remove => ("remove", Vec::new()),
        Decision::Superseded(by) => (
            "remove",
            vec![format!(
                "superseded by {} (left by an interrupted protect/unprotect)",
                by.short()
            )],
        ),
    }
}

fn print_group(group: &forget::GroupPlan, held: &BTreeMap<String, Held>) {
    let keep = group
        .snapshots
        .iter()
        .filter(|p| p.decision.is_keep())
        .count();
    println!(
        "{}: keep {keep}, remove {}",
        group.key,
        group.snapshots.len() - keep
    );
    for p in &group.snapshots {
        let (action, reasons) = verdict(p, held);
        println!(
            "  {action:<6}  {}  {}  {}",
            p.snapshot.id.short(),
            time_of(p),
            reasons.join(", ")
        );
    }
    println!();
}

fn plan_json(
    plan: &ForgetPlan,
    dry_run: bool,
    removed: &[FileId],
    held: &BTreeMap<String, Held>,
) -> Value {
    let groups: Vec<Value> = plan
        .groups
        .iter()
        .map(|g| {
            let snapshots: Vec<Value> = g
                .snapshots
                .iter()
                .map(|p| {
                    let (action, reasons) = verdict(p, held);
                    let s = &p.snapshot;
                    json!({
                        "id": s.id.to_hex(),
                        "short_id": s.id.short(),
                        "time": s.time.map(|t| t.to_rfc3339()),
                        "host": s.host,
                        "paths": s.paths,
                        "tags": s.tags,
                        "protected": s.protected,
                        "action": action,
                        "reasons": reasons,
                    })
                })
                .collect();
            json!({
                "host": g.key.host,
                "paths": g.key.paths,
                "tags": g.key.tags,
                "snapshots": snapshots,
            })
        })
        .collect();
    json!({
        "dry_run": dry_run,
        "groups": groups,
        "kept": plan.kept(),
        "to_remove": plan.removals().map(|p| p.snapshot.id.to_hex()).collect::<Vec<_>>(),
        "removed": removed.iter().map(|id| id.to_hex()).collect::<Vec<_>>(),
        "held": held.values().collect::<Vec<_>>(),
    })
}
