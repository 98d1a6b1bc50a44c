//! `hvelv snapshots`

use anyhow::Result;

use crate::args::{Global, SnapshotsArgs};

pub async fn run(g: &Global, a: SnapshotsArgs) -> Result<i32> {
    let repo = super::open_full(g, "list snapshots").await?;
    let list: Vec<_> = repo
        .snapshots()
        .await?
        .into_iter()
        .filter(|s| a.host.as_ref().is_none_or(|h| &s.snapshot.host == h))
        .filter(|s| a.tag.as_ref().is_none_or(|t| s.snapshot.tags.contains(t)))
        .collect();
    if g.json {
        let v: Vec<_> = list
            .iter()
            .map(|s| {
                let mut v = serde_json::to_value(&s.snapshot).unwrap_or_default();
                v["id"] = s.id.to_hex().into();
                v["short_id"] = s.id.short().into();
                v["protected"] = s.snapshot.protected.into();
                v
            })
            .collect();
        super::print_json(&v)?;
        return Ok(crate::exit::OK);
    }
    println!(
        "{:<8}  {:<19}  {:<16}  {:<16}  {:>10}  paths",
        "id", "time", "host", "tags", "size"
    );
    for s in &list {
        let t = s
            .snapshot
            .datetime()
            .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| s.snapshot.time.clone());
        println!(
            "{:<8}  {:<19}  {:<16}  {:<16}  {:>10}  {}{}",
            s.id.short(),
            t,
            s.snapshot.host,
            s.snapshot.tags.join(","),
            super::human(s.snapshot.summary.bytes_total),
            s.snapshot.paths.join(" "),
            if s.snapshot.protected {
                "  [protected]"
            } else {
                ""
            }
        );
    }
    println!("{} snapshots", list.len());
    Ok(crate::exit::OK)
}
