//! `hvelv copy`

use std::sync::Arc;

use anyhow::{Context, Result};
use hvelv_engine::ops::copy;
use hvelv_engine::progress::NoProgress;

use super::human;
use crate::args::{CopyArgs, Global};

pub async fn run(g: &Global, a: CopyArgs) -> Result<i32> {
    let src = super::open_other(g, &a.from, &a.from_password)
        .await
        .with_context(|| format!("opening the source repository {}", a.from))?;
    // Snapshots first, then the index: a backup writes its index before its snapshot, so an
    // index loaded after the listing knows every blob the listed snapshots need.
    let all = src.snapshots().await?;
    let src = src.load_index().await.context("loading the source index")?;
    let target = Global {
        repo: a.to.clone().or_else(|| g.repo.clone()),
        ..g.clone()
    };
    if target.repo.as_deref().is_none_or(str::is_empty) {
        anyhow::bail!(
            "no target repository: give --to REPO (or -r/--repo, HVELV_REPOSITORY); create it \
             with `hvelv init -r REPO --copy-chunker-params-from {}`",
            a.from
        );
    }
    let mut dst = super::open_indexed_full(&target, "copy snapshots")
        .await
        .context("opening the target repository")?;
    copy::ensure_compatible(&src, &dst)?;

    let selected = if a.snapshots.is_empty() {
        if !a.all && a.tags.is_empty() && a.host.is_none() {
            anyhow::bail!("say which snapshots to copy: ids, --all, --tag TAG or --host HOST");
        }
        all.into_iter()
            .filter(|s| a.host.as_ref().is_none_or(|h| &s.snapshot.host == h))
            .filter(|s| a.tags.is_empty() || a.tags.iter().any(|t| s.snapshot.tags.contains(t)))
            .collect()
    } else {
        let mut v = Vec::new();
        for spec in &a.snapshots {
            v.push(src.find_snapshot(spec, a.host.as_deref()).await?);
        }
        v
    };
    let out = copy::copy(&src, &mut dst, selected, Arc::new(NoProgress)).await?;
    if g.json {
        super::print_json(&out)?;
        return Ok(crate::exit::OK);
    }
    for c in &out.copied {
        println!("copied snapshot {} -> {}", &c.source[..8], &c.target[..8]);
    }
    println!(
        "{} snapshot(s) copied, {} already present; sent {} blob(s), {} ({} stored in {} pack(s))",
        out.copied.len(),
        out.already_present,
        out.blobs,
        human(out.bytes),
        human(out.bytes_stored),
        out.packs
    );
    Ok(crate::exit::OK)
}
