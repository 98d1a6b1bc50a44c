//! `hvelv ls`

use std::io::Write;

use anyhow::{Context, Result};
use hvelv_engine::ops::ls::walk;
use hvelv_engine::tree::NodeKind;

use crate::args::{Global, LsArgs};

pub async fn run(g: &Global, a: LsArgs) -> Result<i32> {
    // Snapshot first, index after: the index then knows every blob of a snapshot that a
    // concurrent backup has just committed (it writes its index before its snapshot).
    let repo = super::open_full(g, "list files").await?;
    let snap = repo.find_snapshot(&a.snapshot, None).await?;
    let repo = repo.load_index().await.context("loading the index")?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut err = None;
    walk(&repo, &snap, a.path.as_deref(), |path, node| {
        if err.is_some() {
            return;
        }
        let p = String::from_utf8_lossy(path);
        let r = if g.json {
            let v = serde_json::json!({
                "path": p,
                "path_bytes": (std::str::from_utf8(path).is_err()).then(|| hex::encode(path)),
                "type": node.kind().as_str(),
                "mode": format!("{:o}", node.mode),
                "uid": node.uid, "gid": node.gid, "user": node.user, "group": node.group,
                "size": node.size,
                "mtime": chrono::DateTime::from_timestamp(node.mtime.secs, node.mtime.nanos).map(|d| d.to_rfc3339()),
                "link_target": (node.kind() == NodeKind::Symlink).then(|| String::from_utf8_lossy(&node.link_target).into_owned()),
            });
            writeln!(out, "{v}")
        } else if a.long {
            let t = chrono::DateTime::from_timestamp(node.mtime.secs, 0)
                .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default();
            let owner = if node.user.is_empty() { node.uid.to_string() } else { node.user.clone() };
            let group = if node.group.is_empty() { node.gid.to_string() } else { node.group.clone() };
            let link = if node.kind() == NodeKind::Symlink {
                format!(" -> {}", String::from_utf8_lossy(&node.link_target))
            } else {
                String::new()
            };
            writeln!(
                out,
                "{:<8} {:04o} {:>8} {:>8} {:>12} {} {p}{link}",
                node.kind().as_str(),
                node.mode,
                owner,
                group,
                node.size,
                t
            )
        } else {
            writeln!(out, "{p}")
        };
        if let Err(e) = r {
            err = Some(e);
        }
    })
    .await?;
    match err {
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Some(e) => return Err(e.into()),
        None => out.flush()?,
    }
    Ok(crate::exit::OK)
}
