//! `hvelv prune`

use std::sync::Arc;

use anyhow::Result;
use hvelv_engine::ops::prune::{self, PruneOptions, PrunePlan};
use hvelv_engine::progress::NoProgress;

use super::human;
use crate::args::{Global, PruneArgs};

pub async fn run(g: &Global, a: PruneArgs) -> Result<i32> {
    let opts = PruneOptions {
        repack_unused: a.repack_unused,
        max_repack: a.max_repack,
        wait: a.wait,
    };
    if a.dry_run {
        let repo = super::open_indexed_full(g, "prune").await?;
        let plan = prune::plan(&repo, &opts).await?;
        if g.json {
            super::print_json(&plan)?;
        } else {
            print_plan(&plan, a.dry_run);
            println!("dry run: nothing was changed");
        }
        return Ok(crate::exit::OK);
    }
    let repo = super::open_full(g, "prune").await?;
    let out = prune::prune(repo, &opts, Arc::new(NoProgress)).await?;
    if g.json {
        super::print_json(&out)?;
        return Ok(crate::exit::OK);
    }
    if !g.quiet {
        print_plan(&out.plan, false);
    }
    if out.packs_written > 0 {
        println!(
            "wrote {} new pack(s) with the live data of repacked packs",
            out.packs_written
        );
    }
    println!(
        "deleted {} pack(s), {} freed",
        out.packs_deleted,
        human(out.bytes_freed)
    );
    if out.packs_kept_needed > 0 {
        println!(
            "kept {} scheduled pack(s) that snapshots written meanwhile need",
            out.packs_kept_needed
        );
    }
    print_held(&out.held, "kept from scheduled deletions");
    for d in &out.deferred {
        println!(
            "deletion {} ({} packs) waits for running jobs and will be done by the next prune:",
            d.name, d.packs
        );
        for j in &d.waiting_for {
            println!("  {j}");
        }
    }
    Ok(crate::exit::OK)
}

fn print_plan(p: &PrunePlan, dry: bool) {
    let would = if dry { "would " } else { "" };
    println!(
        "{} snapshots, {} live blobs; {} packs, {} ({} used)",
        p.snapshots,
        p.live_blobs,
        p.packs,
        human(p.bytes),
        human(p.bytes_used)
    );
    let sum = |v: &[prune::PackUse]| v.iter().map(|x| x.size).sum::<u64>();
    println!(
        "{would}delete {} unused pack(s) ({})",
        p.delete.len(),
        human(sum(&p.delete))
    );
    println!(
        "{would}repack {} partly used pack(s) ({}, of which {} live)",
        p.repack.len(),
        human(sum(&p.repack)),
        human(p.repack.iter().map(|x| x.used).sum())
    );
    if p.partly_unused_kept > 0 {
        println!(
            "{} partly used pack(s) kept (under the threshold or past --max-repack)",
            p.partly_unused_kept
        );
    }
    println!("{would}free about {}", human(p.bytes_to_free));
    for d in &p.pending {
        let state = if d.waiting_for.is_empty() {
            "ready".to_owned()
        } else {
            format!("waits for {}", d.waiting_for.join("; "))
        };
        println!(
            "scheduled deletion {}: {} pack(s), {state}",
            d.name, d.packs
        );
    }
    print_held(&p.held, "kept");
    if p.unindexed_packs > 0 {
        println!(
            "{} pack(s) without index entry left alone (a running backup, or run `hvelv repair index`)",
            p.unindexed_packs
        );
    }
    if !p.missing_packs.is_empty() {
        println!(
            "{} pack(s) named by the index are missing: run `hvelv check`",
            p.missing_packs.len()
        );
    }
}

/// Packs kept because of S3 Object Lock retention, with their dates (a few, then a count).
fn print_held(held: &[hvelv_engine::backend::Held], what: &str) {
    if held.is_empty() {
        return;
    }
    println!(
        "{} pack(s) {what}: still under Object Lock retention (a later prune frees them):",
        held.len()
    );
    for h in held.iter().take(20) {
        println!("  {h}");
    }
    if held.len() > 20 {
        println!("  … and {} more (--json lists all)", held.len() - 20);
    }
}
