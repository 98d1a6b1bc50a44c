//! `hvelv protect` / `hvelv unprotect`: mark snapshots so `forget` never removes them.
//!
//! Snapshot files are immutable, so the engine writes a rewritten snapshot and removes the old
//! one: the snapshot gets a new id, which is printed.

use anyhow::Result;
use serde_json::json;

use crate::args::{Global, ProtectArgs};

pub async fn run(g: &Global, a: ProtectArgs, protect: bool) -> Result<i32> {
    let repo = super::open_full(g, "protect or unprotect snapshots").await?;
    let mut entries = Vec::new();
    for spec in &a.snapshots {
        let e = repo.find_snapshot(spec, None).await?;
        if !entries
            .iter()
            .any(|x: &hvelv_engine::snapshot::SnapshotEntry| x.id == e.id)
        {
            entries.push(e);
        }
    }
    let verb = if protect { "protected" } else { "unprotected" };
    let mut out = Vec::new();
    for e in &entries {
        let new = repo.set_protected(e, protect).await?;
        let changed = new.id != e.id;
        if !g.json {
            if changed {
                println!(
                    "{verb} snapshot {} (its id is now {})",
                    e.id.short(),
                    new.id.short()
                );
            } else {
                println!("snapshot {} was already {verb}", e.id.short());
            }
        }
        out.push(json!({
            "old_id": e.id.to_hex(),
            "id": new.id.to_hex(),
            "short_id": new.id.short(),
            "protected": protect,
            "changed": changed,
        }));
    }
    if g.json {
        super::print_json(&out)?;
    }
    Ok(crate::exit::OK)
}
