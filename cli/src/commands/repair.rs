//! `hvelv repair index|snapshots`

use anyhow::Result;
use hvelv_engine::ops::repair::{repair_index, repair_snapshots, SnapshotRepairOptions};

use crate::args::{Global, RepairCommand};
use crate::progress::Reporter;

fn short(hex: &str) -> &str {
    hex.get(..8).unwrap_or(hex)
}

pub async fn run(g: &Global, cmd: RepairCommand) -> Result<i32> {
    match cmd {
        RepairCommand::Index { dry_run } => index(g, dry_run).await,
        RepairCommand::Snapshots {
            dry_run,
            forget,
            read_data,
        } => {
            snapshots(
                g,
                SnapshotRepairOptions {
                    dry_run,
                    forget,
                    read_data,
                },
            )
            .await
        }
    }
}

async fn index(g: &Global, dry_run: bool) -> Result<i32> {
    let repo = super::open_full(g, "repair the repository").await?;
    let out = repair_index(&repo, dry_run).await?;
    if g.json {
        super::print_json(&out)?;
    } else {
        for (name, e) in &out.packs_unreadable {
            if out.packs_kept.contains(name) {
                eprintln!(
                    "warning: the header of pack {} cannot be read ({e}); its entries are kept from the old index",
                    short(name)
                );
            } else {
                eprintln!(
                    "warning: pack {} is unreadable and stays out of the index: {e}",
                    short(name)
                );
            }
        }
        if dry_run {
            println!(
                "would index {} packs ({} blobs) from their headers and replace {} index files",
                out.packs_indexed,
                out.blobs,
                out.index_files_removed.len()
            );
        } else if !g.quiet {
            println!(
                "indexed {} packs ({} blobs) from their headers: wrote {} index files, removed {} old ones",
                out.packs_indexed,
                out.blobs,
                out.index_files_written.len(),
                out.index_files_removed.len()
            );
        }
    }
    Ok(if out.packs_unreadable.is_empty() {
        crate::exit::OK
    } else {
        crate::exit::PARTIAL
    })
}

async fn snapshots(g: &Global, opts: SnapshotRepairOptions) -> Result<i32> {
    let repo = super::open_full(g, "repair the repository").await?;
    let reporter = Reporter::new("verified", g.quiet, g.json);
    let r = repair_snapshots(repo, &opts, reporter.clone()).await;
    reporter.finish();
    let out = r?;
    if g.json {
        super::print_json(&out)?;
        return Ok(crate::exit::OK);
    }
    for s in &out.unreadable {
        eprintln!(
            "warning: snapshot {} cannot be read and cannot be repaired",
            short(s)
        );
    }
    if out.snapshots.is_empty() {
        println!("no snapshot references lost data; nothing to repair");
    }
    for s in &out.snapshots {
        let n = &s.note;
        let what = format!(
            "{} files dropped, {} directories emptied",
            n.dropped_total, n.emptied_total
        );
        match &s.repaired {
            Some(new) if s.earlier => println!(
                "snapshot {} was repaired earlier as {}{}",
                short(&s.original),
                short(new),
                if s.forgotten {
                    "; original removed"
                } else {
                    "; `--forget` removes the original"
                }
            ),
            None => println!("would rewrite snapshot {}: {what}", short(&s.original)),
            Some(new) => println!(
                "snapshot {}: {what}; saved as {} (tagged `repaired`){}",
                short(&s.original),
                short(new),
                if s.forgotten {
                    ", original removed"
                } else {
                    ""
                }
            ),
        }
        if !g.quiet && !s.earlier {
            for f in &n.dropped_files {
                println!("  dropped {f}");
            }
            for d in &n.emptied_dirs {
                println!("  emptied {d}");
            }
        }
    }
    if opts.forget
        && out
            .snapshots
            .iter()
            .any(|s| s.repaired.is_some() && !s.forgotten)
    {
        println!(
            "originals not removed are archive snapshots (or were already gone): `--forget` \
             never removes an archive snapshot; `hvelv archive remove ID --reason TEXT` does"
        );
    }
    if !opts.forget && out.snapshots.iter().any(|s| s.repaired.is_some()) {
        println!("the damaged originals are kept; `hvelv check` reports them until they are removed (--forget)");
    }
    Ok(crate::exit::OK)
}
