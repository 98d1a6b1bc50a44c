//! `hvelv diff`

use anyhow::{Context, Result};
use hvelv_engine::ops::diff;

use super::human;
use crate::args::{DiffArgs, Global};

pub async fn run(g: &Global, a: DiffArgs) -> Result<i32> {
    // Snapshot first, index after: the index then knows every blob of a snapshot that a
    // concurrent backup has just committed (it writes its index before its snapshot).
    let repo = super::open_full(g, "compare snapshots").await?;
    let from = repo.find_snapshot(&a.from, None).await?;
    let to = repo.find_snapshot(&a.to, None).await?;
    let repo = repo.load_index().await.context("loading the index")?;
    let mut entries = Vec::new();
    let stats = diff::diff(&repo, &from, &to, |e| {
        if g.json {
            entries.push(e.clone());
        } else if !a.stat {
            println!("{}    {}", e.change.marker(), e.path);
        }
    })
    .await?;
    if g.json {
        super::print_json(&serde_json::json!({
            "from": from.id.to_hex(),
            "to": to.id.to_hex(),
            "changes": entries,
            "stats": stats,
        }))?;
        return Ok(crate::exit::OK);
    }
    println!(
        "{} → {}: {} added, {} removed, {} modified, {} metadata only; +{} −{}",
        from.id.short(),
        to.id.short(),
        stats.added,
        stats.removed,
        stats.modified,
        stats.metadata,
        human(stats.bytes_added),
        human(stats.bytes_removed)
    );
    Ok(crate::exit::OK)
}
