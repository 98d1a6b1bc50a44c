//! Planning around S3 Object Lock (WORM repositories, DESIGN.md "WORM offsite copies"): which
//! files may not be removed yet, and which stored files lack the retention the policy demands.
//!
//! Everything here is a no-op without requests for a repository without a policy
//! ([`crate::backend::Backend::object_lock`] is `None`).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::backend::{format_until, DynBackend, FileKind, Held, Retention};
use crate::error::{ErrorKind, Result};
use crate::id::FileId;
use crate::index::IndexFile;

/// Retention reads in flight.
const CONCURRENCY: usize = 8;

/// A file's name and retention (`None`: none).
type Named = (String, Option<Retention>);

/// Retention of each named file (`None`: none); files that vanished meanwhile are left out.
async fn retentions(be: &DynBackend, kind: FileKind, names: Vec<String>) -> Result<Vec<Named>> {
    let found: Vec<Result<Option<Named>>> = stream::iter(names)
        .map(|name| async move {
            match be.retention(kind, &name).await {
                Ok(r) => Ok(Some((name, r))),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.context(format!("reading the retention of {kind} {name}"))),
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut out = Vec::new();
    for r in found {
        out.extend(r?);
    }
    Ok(out)
}

/// The files among `names` whose retention holds at `now`.
pub async fn held_files(
    be: &DynBackend,
    kind: FileKind,
    names: &[String],
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, Held>> {
    if be.object_lock().is_none() || names.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(retentions(be, kind, names.to_vec())
        .await?
        .into_iter()
        .filter_map(|(n, r)| {
            let r = r.filter(|r| r.holds_at(now))?;
            Some((n.clone(), Held::new(kind, &n, r.until)))
        })
        .collect())
}

/// Packs among `packs` that must stay: held themselves, or named by an index file that is held
/// (deleting a pack means rewriting every index file that names it, and a held index file cannot
/// be removed, so it would name a missing pack).
pub(crate) async fn held_packs(
    be: &DynBackend,
    packs: &[FileId],
    files: &[(String, IndexFile)],
    now: DateTime<Utc>,
) -> Result<BTreeMap<FileId, Held>> {
    let mut out = BTreeMap::new();
    if be.object_lock().is_none() || packs.is_empty() {
        return Ok(out);
    }
    let names: Vec<String> = packs.iter().map(FileId::to_hex).collect();
    for (name, h) in held_files(be, FileKind::Pack, &names, now).await? {
        if let Ok(id) = FileId::from_hex(&name) {
            out.insert(id, h);
        }
    }
    let rest: HashSet<FileId> = packs
        .iter()
        .filter(|p| !out.contains_key(p))
        .copied()
        .collect();
    let naming: BTreeMap<&String, Vec<FileId>> = files
        .iter()
        .map(|(n, f)| {
            let ps: Vec<FileId> = f
                .packs
                .iter()
                .map(|p| p.id)
                .filter(|p| rest.contains(p))
                .collect();
            (n, ps)
        })
        .filter(|(_, ps)| !ps.is_empty())
        .collect();
    let idx_names: Vec<String> = naming.keys().map(|n| (*n).clone()).collect();
    for (idx, h) in held_files(be, FileKind::Index, &idx_names, now).await? {
        for p in naming.get(&idx).into_iter().flatten() {
            out.entry(*p).or_insert_with(|| Held {
                kind: FileKind::Pack.to_string(),
                name: p.to_hex(),
                until: h.until.clone(),
                because: Some(format!(
                    "named by index file {} held until {}",
                    &idx[..idx.len().min(8)],
                    h.until
                )),
            });
        }
    }
    Ok(out)
}

/// A stored file whose retention is missing or shorter than the policy.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionFinding {
    /// Kind of file.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// What is wrong.
    pub problem: String,
}

/// Every retained file (config, keys, packs, index files, snapshots, verification records)
/// whose retention is missing or does not satisfy the repository's policy.
pub async fn retention_findings(be: &DynBackend) -> Result<Vec<RetentionFinding>> {
    let Some(policy) = be.object_lock() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for kind in FileKind::ALL.into_iter().filter(|k| k.retained()) {
        let names: Vec<String> = be.list(kind).await?.into_iter().map(|(n, _)| n).collect();
        let mut found = retentions(be, kind, names).await?;
        found.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, r) in found {
            let problem = match r {
                None => "has no Object Lock retention".to_owned(),
                Some(r) if policy.satisfied_by(&r) => continue,
                Some(r) => format!(
                    "is retained only until {} ({} mode){}; the policy is {policy}",
                    format_until(r.until),
                    r.mode.map(|m| m.to_string()).unwrap_or("unknown".into()),
                    r.written
                        .map(|w| format!(", written {}", format_until(w)))
                        .unwrap_or_default()
                ),
            };
            out.push(RetentionFinding {
                kind: kind.to_string(),
                name,
                problem,
            });
        }
    }
    Ok(out)
}
