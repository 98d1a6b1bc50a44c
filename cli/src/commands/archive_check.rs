//! `hvelv archive verify` and `hvelv archive get`: read stored files back from the archive
//! repository and compare them with the snapshot's fixity manifest, not only with the
//! repository's own blob hashes: the SHA-256 of every file, and for a package tar of every
//! member against the METS checksums recorded at `put`.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use hvelv_engine::archive::{ArchiveRecord, Event, Manifest, ManifestFile};
use hvelv_engine::ops::archive::{find_file, read_file, Damage};
use hvelv_engine::snapshot::SnapshotEntry;
use hvelv_engine::IndexedRepository;
use hvelv_noark5::package::{check_package_stream, PackageCheck};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::archive::{agent, archive_snapshots, find, manifest_of, open, tag_of, ArchiveRepo};
use super::archive::{GetArgs, VerifyArgs};
use crate::args::Global;

/// The result of comparing one snapshot with its manifest.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Files compared.
    pub files: usize,
    /// Bytes compared.
    pub bytes: u64,
    /// Every failure, each naming the file (and tar member).
    pub failures: Vec<String>,
}

/// SHA-256 and length of everything `r` yields.
fn hash_all(
    r: &mut dyn Read,
    mut copy: Option<&mut std::fs::File>,
) -> std::io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        if let Some(f) = copy.as_deref_mut() {
            f.write_all(&buf[..k])?;
        }
        n += k as u64;
    }
    Ok((hex::encode(h.finalize()), n))
}

/// Name the damaged ranges of file `f`, with the tar members they touch.
fn damage_lines(f: &ManifestFile, package: &str, damage: &[Damage]) -> Vec<String> {
    damage
        .iter()
        .map(|d| {
            let end = if d.length == 0 {
                u64::MAX
            } else {
                d.offset + d.length
            };
            let hit: Vec<String> = f
                .members
                .iter()
                .filter(|m| m.offset < end && d.offset < m.offset + m.size.max(1))
                .map(|m| format!("{package}/{}", m.name))
                .collect();
            let range = if d.length == 0 {
                format!("from byte {} on", d.offset)
            } else {
                format!("bytes {}..{}", d.offset, end)
            };
            let affected = if hit.is_empty() {
                String::new()
            } else {
                format!("; affected: {}", hit.join(", "))
            };
            format!(
                "{}: {range} cannot be read from the repository ({}){affected}",
                f.name, d.error
            )
        })
        .collect()
}

/// Compare a tar read back with its manifest entry.
fn compare_tar(f: &ManifestFile, package: &str, c: &PackageCheck, out: &mut Vec<String>) {
    for m in &f.members {
        match c.members.iter().find(|x| x.name == m.name) {
            None => out.push(format!(
                "{}: member {package}/{} is missing from the stored tar",
                f.name, m.name
            )),
            Some(x) if x.size != m.size || x.sha256 != m.sha256 => out.push(format!(
                "{}: member {package}/{}: SHA-256 {} ({} bytes) differs from the METS reference {} ({} bytes)",
                f.name, m.name, x.sha256, x.size, m.sha256, m.size
            )),
            Some(_) => {}
        }
    }
    for x in &c.members {
        if !f.members.iter().any(|m| m.name == x.name) {
            out.push(format!(
                "{}: member {package}/{} is not in the fixity reference",
                f.name, x.name
            ));
        }
    }
}

/// Read every file of archive snapshot `s` back and compare it with `m`.
pub async fn verify_snapshot(
    repo: &IndexedRepository,
    s: &SnapshotEntry,
    m: &Manifest,
) -> Result<Outcome> {
    let mut out = Outcome::default();
    for f in &m.files {
        out.files += 1;
        let node = match find_file(repo, s, &f.path).await {
            Ok(n) => n,
            Err(e) => {
                out.failures.push(format!("{}: {e}", f.name));
                continue;
            }
        };
        out.bytes += node.size;
        if node.size != f.size {
            out.failures.push(format!(
                "{}: stored size {} differs from {} in the fixity reference",
                f.name, node.size, f.size
            ));
        }
        let (sha, size) = if f.members.is_empty() {
            let (r, damage) = read_file(repo, node.content, |r| hash_all(r, None)).await?;
            out.failures.extend(damage_lines(f, &m.package_id, &damage));
            match r {
                Ok(x) => x,
                Err(e) => {
                    if damage.is_empty() {
                        out.failures
                            .push(format!("{}: reading failed: {e}", f.name));
                    }
                    continue;
                }
            }
        } else {
            let name = f.name.clone();
            let (r, damage) = read_file(repo, node.content, move |r| {
                check_package_stream(r, Path::new(&name), |_| Ok(None))
            })
            .await?;
            out.failures.extend(damage_lines(f, &m.package_id, &damage));
            match r {
                Ok(c) => {
                    compare_tar(f, &m.package_id, &c, &mut out.failures);
                    (c.tar_sha256, c.tar_size)
                }
                Err(e) => {
                    out.failures.push(format!(
                        "{}: the stored tar cannot be read as a package: {e}",
                        f.name
                    ));
                    continue;
                }
            }
        };
        if sha != f.sha256 || size != f.size {
            out.failures.push(format!(
                "{}: SHA-256 {sha} ({size} bytes) differs from the reference {} ({} bytes, {})",
                f.name, f.sha256, f.size, f.reference
            ));
        }
    }
    Ok(out)
}

/// `hvelv archive verify`.
pub async fn run_verify(g: &Global, r: &ArchiveRepo, a: VerifyArgs) -> Result<i32> {
    let repo = open(g, r).await?;
    let snaps = match &a.id {
        Some(id) if !a.all => vec![find(&repo, id).await?],
        _ => archive_snapshots(&repo).await?,
    };
    let mut events = Vec::new();
    for s in &snaps {
        let tag = tag_of(s)?;
        let mut ev = Event::new("fixity check", &s.id, &tag.package_id, &agent())?;
        match manifest_of(&repo, s).await {
            Ok(m) => {
                let o = verify_snapshot(&repo, s, &m).await?;
                ev.detail = format!(
                    "{} file(s), {} bytes re-read from the repository and compared with the \
                     fixity reference (SHA-256 of each file, and of each tar member against METS)",
                    o.files, o.bytes
                );
                if !o.failures.is_empty() {
                    ev.outcome = "failure".into();
                    ev.failures = o.failures;
                }
            }
            Err(e) => {
                ev.outcome = "failure".into();
                ev.detail = "the fixity manifest could not be read".into();
                ev.failures = vec![format!("{e:#}")];
            }
        }
        events.push(ev);
    }
    if !events.is_empty() {
        repo.save_archive_record(&ArchiveRecord::Events {
            events: events.clone(),
        })
        .await
        .context("recording the fixity events")?;
    }
    let ok = events.iter().all(Event::succeeded);
    if g.json {
        super::print_json(&json!({"ok": ok, "events": events}))?;
    } else {
        if events.is_empty() {
            println!("no archive snapshots");
        }
        for e in &events {
            println!(
                "{} {}: fixity {} ({})",
                &e.snapshot[..8],
                e.package_id,
                if e.succeeded() { "ok" } else { "FAILED" },
                e.detail
            );
            for f in &e.failures {
                println!("  {f}");
            }
        }
        println!(
            "{} archive snapshot(s) verified, {} failed; events recorded",
            events.len(),
            events.iter().filter(|e| !e.succeeded()).count()
        );
    }
    Ok(if ok {
        crate::exit::OK
    } else {
        crate::exit::CORRUPT
    })
}

/// `name` from a manifest as a safe relative path (no `..`, not absolute).
fn relative(name: &str) -> Result<PathBuf> {
    let p = Path::new(name);
    if name.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(hvelv_engine::Error::corrupt(format!(
            "the fixity manifest names a file {name:?} that is not a relative path"
        ))
        .into());
    }
    Ok(p.to_path_buf())
}

/// `hvelv archive get`.
pub async fn run_get(g: &Global, r: &ArchiveRepo, a: GetArgs) -> Result<i32> {
    let repo = open(g, r).await?;
    let s = find(&repo, &a.id).await?;
    let m = manifest_of(&repo, &s).await?;
    let mut dests = Vec::new();
    for f in &m.files {
        let d = a.target.join(relative(&f.name)?);
        if d.symlink_metadata().is_ok() {
            bail!(
                "{} already exists; `archive get` never overwrites (choose an empty --target); \
                 nothing was written",
                d.display()
            );
        }
        dests.push(d);
    }
    let mut done = Vec::new();
    for (f, dest) in m.files.iter().zip(&dests) {
        let dir = dest.parent().unwrap_or(&a.target).to_path_buf();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let partial = dir.join(format!(
            ".{}.partial",
            dest.file_name().unwrap_or_default().to_string_lossy()
        ));
        let node = find_file(&repo, &s, &f.path).await?;
        let p2 = partial.clone();
        let (res, damage) = read_file(&repo, node.content, move |r| {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&p2)?;
            let x = hash_all(r, Some(&mut file))?;
            file.sync_all()?;
            Ok::<_, std::io::Error>(x)
        })
        .await?;
        let mut failures = damage_lines(f, &m.package_id, &damage);
        match res {
            Ok((sha, size)) if sha == f.sha256 && size == f.size && failures.is_empty() => {}
            Ok((sha, size)) => failures.push(format!(
                "{}: restored SHA-256 {sha} ({size} bytes) differs from the reference {} ({} bytes)",
                f.name, f.sha256, f.size
            )),
            Err(e) if failures.is_empty() => {
                let _ = std::fs::remove_file(&partial);
                return Err(e).with_context(|| format!("writing {}", partial.display()));
            }
            Err(_) => {}
        }
        if !failures.is_empty() {
            let _ = std::fs::remove_file(&partial);
            return Err(hvelv_engine::Error::corrupt(format!(
                "archive snapshot {}: {} could not be restored intact (nothing was left at {}; \
                 run `hvelv archive verify {}` and `hvelv check --read-data`):\n  {}",
                s.id.short(),
                f.name,
                dest.display(),
                s.id.short(),
                failures.join("\n  ")
            ))
            .into());
        }
        // Never replace: a link fails if the name appeared meanwhile.
        std::fs::hard_link(&partial, dest)
            .with_context(|| format!("moving the restored file to {}", dest.display()))?;
        std::fs::remove_file(&partial)
            .with_context(|| format!("removing {}", partial.display()))?;
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", dir.display()))?;
        done.push((f, dest));
    }
    if g.json {
        super::print_json(&json!({
            "snapshot": s.id.to_hex(),
            "package_id": m.package_id,
            "files": done.iter().map(|(f, d)| json!({
                "path": d.display().to_string(), "size": f.size, "sha256": f.sha256,
            })).collect::<Vec<_>>(),
        }))?;
    } else {
        for (f, d) in &done {
            println!(
                "{}  {} bytes  SHA-256 {} (verified)",
                d.display(),
                f.size,
                f.sha256
            );
        }
        println!(
            "restored package {} from archive snapshot {}: every file matches its recorded SHA-256",
            m.package_id,
            s.id.short()
        );
    }
    Ok(crate::exit::OK)
}
