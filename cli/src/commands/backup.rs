//! `hvelv backup`

use anyhow::Result;
use hvelv_engine::ops::backup::{backup, BackupOptions, ParentChoice};
use hvelv_engine::ops::exclude::Patterns;

use crate::args::{BackupArgs, Global};
use crate::progress::Reporter;

pub async fn run(g: &Global, a: BackupArgs) -> Result<i32> {
    let mut excludes = a.excludes;
    for f in &a.exclude_files {
        excludes.extend(Patterns::read_file(f)?);
    }
    let mut repo = super::open_indexed(g).await?;
    let reporter = Reporter::new("backed up", g.quiet, g.json);
    let mut opts = BackupOptions {
        paths: a.paths,
        tags: a.tags,
        excludes,
        one_file_system: a.one_file_system,
        parent: if a.force {
            ParentChoice::None
        } else {
            a.parent.map(ParentChoice::Id).unwrap_or_default()
        },
        scan_totals: reporter.wants_totals(),
        cache_dir: Some(a.cache_dir.unwrap_or_else(default_cache_dir)),
        ..BackupOptions::default()
    };
    if let Some(h) = a.host {
        opts.host = h;
    }
    let r = backup(&mut repo, &opts, reporter.clone()).await;
    reporter.finish();
    let out = r?;
    let s = &out.snapshot.snapshot.summary;
    if g.json {
        super::print_json(&serde_json::json!({
            "snapshot": out.snapshot.id.to_hex(),
            "short_id": out.snapshot.id.short(),
            "parent": out.snapshot.snapshot.parent,
            "summary": s,
            "warnings": out.warnings,
            "packs_recovered": out.packs_recovered,
            "key": repo.key_kind(),
            "cached_files": out.cached_files,
        }))?;
    } else if !g.quiet {
        println!(
            "Files:       {} new, {} changed, {} unchanged ({} dirs, {} other)",
            s.files_new, s.files_changed, s.files_unchanged, s.dirs, s.others
        );
        println!(
            "Data:        {} total, {} read, {} new, {} stored after compression",
            super::human(s.bytes_total),
            super::human(s.bytes_read),
            super::human(s.bytes_added),
            super::human(s.bytes_stored)
        );
        if let Some(n) = out.cached_files {
            println!(
                "Key:         put-only; {n} files known from the local files cache, unchanged \
                 ones were not read"
            );
        }
        if out.packs_recovered > 0 {
            println!(
                "Recovered:   {} packs from an interrupted backup were reused",
                out.packs_recovered
            );
        }
        println!("Duration:    {:.1} s", s.seconds);
        println!("snapshot {} saved", out.snapshot.id.short());
    }
    if s.errors > 0 {
        eprintln!(
            "warning: {} entries could not be read and are missing from snapshot {} (see the warnings above)",
            s.errors,
            out.snapshot.id.short()
        );
        return Ok(crate::exit::PARTIAL);
    }
    Ok(crate::exit::OK)
}

/// The files cache directory when `--cache-dir` is not given.
fn default_cache_dir() -> std::path::PathBuf {
    crate::config::default_dir("/var/cache/hvelv", "XDG_CACHE_HOME", ".cache/hvelv")
}
