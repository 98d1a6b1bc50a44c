//! `hvelv restore`

use anyhow::{Context, Result};
use hvelv_engine::ops::restore::{restore, RestoreOptions};

use crate::args::{Global, RestoreArgs};
use crate::progress::Reporter;

pub async fn run(g: &Global, a: RestoreArgs) -> Result<i32> {
    let (spec, sub) = match a.snapshot.split_once(':') {
        Some((s, p)) => (s.to_owned(), Some(p.to_owned())),
        None => (a.snapshot.clone(), None),
    };
    // Snapshot first, index after: the index then knows every blob of a snapshot that a
    // concurrent backup has just committed (it writes its index before its snapshot).
    let repo = super::open_full(g, "restore").await?;
    let snap = repo.find_snapshot(&spec, a.host.as_deref()).await?;
    let repo = repo.load_index().await.context("loading the index")?;
    let reporter = Reporter::new("restored", g.quiet, g.json);
    let opts = RestoreOptions {
        includes: a.includes,
        excludes: a.excludes,
        numeric_ids: a.numeric_ids,
        ..Default::default()
    };
    let r = restore(
        &repo,
        &snap,
        sub.as_deref(),
        &a.target,
        &opts,
        reporter.clone(),
    )
    .await;
    reporter.finish();
    let out = r?;
    if g.json {
        super::print_json(&serde_json::json!({
            "snapshot": snap.id.to_hex(),
            "target": a.target,
            "files_written": out.files_written,
            "files_unchanged": out.files_unchanged,
            "dirs": out.dirs,
            "others": out.others,
            "bytes": out.bytes,
            "errors": out.errors,
            "warnings": out.warnings,
        }))?;
    } else {
        for w in &out.warnings {
            eprintln!("warning: {w}");
        }
        if !g.quiet {
            println!(
                "restored snapshot {} to {}: {} files written, {} already correct, {} dirs, {} other, {}",
                snap.id.short(),
                a.target.display(),
                out.files_written,
                out.files_unchanged,
                out.dirs,
                out.others,
                super::human(out.bytes)
            );
        }
    }
    if !out.errors.is_empty() {
        if !g.json {
            for e in &out.errors {
                eprintln!("error: {e}");
            }
        }
        eprintln!(
            "{} entries could not be restored completely",
            out.errors.len()
        );
        return Ok(crate::exit::PARTIAL);
    }
    Ok(crate::exit::OK)
}
