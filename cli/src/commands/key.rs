//! `hvelv key list|add|remove|passwd`

use anyhow::{Context, Result};
use serde_json::json;
use zeroize::Zeroizing;

use hvelv_engine::crypto::{KeyKdf, KeyKind};

use crate::args::{Global, KeyCommand};

/// The new password: from `--new-password-file`, else asked twice on a terminal (the global
/// password sources are for the current password).
fn new_password(g: &Global, file: Option<std::path::PathBuf>) -> Result<Zeroizing<Vec<u8>>> {
    let g2 = Global {
        password_file: file.clone(),
        password_command: None,
        ..g.clone()
    };
    match file {
        Some(_) => crate::password::get(&g2),
        None => crate::password::new(&g2).context("reading the new password"),
    }
}

pub async fn run(g: &Global, k: KeyCommand) -> Result<i32> {
    match k {
        KeyCommand::List => list(g).await,
        KeyCommand::Add {
            new_password_file,
            generate_key,
            put_only,
            name,
        } => {
            let repo = super::open_full(g, "manage keys").await?;
            let kind = if put_only {
                KeyKind::PutOnly
            } else {
                KeyKind::Full
            };
            let id = match &generate_key {
                Some(path) => {
                    let secret = crate::password::write_generated(path)?;
                    let added = repo
                        .add_key_of(secret.as_bytes(), KeyKdf::Generated, kind, &name)
                        .await;
                    if added.is_err() {
                        let _ = std::fs::remove_file(path);
                    }
                    added?
                }
                None => {
                    let pw = new_password(g, new_password_file)?;
                    // New keys cost as much to attack as the one in use (chosen at init).
                    let kdf = repo.current_kdf().await?;
                    repo.add_key_of(&pw, kdf.into(), kind, &name).await?
                }
            };
            if let (Some(path), false) = (&generate_key, g.json) {
                println!(
                    "wrote the key's secret to {}: open the repository with --password-file {}",
                    path.display(),
                    path.display()
                );
            }
            if g.json {
                super::print_json(&json!({ "key": id.to_hex(), "kind": kind }))?;
            } else if put_only {
                println!(
                    "added put-only key {}: with it a client can only add backups (revoke it \
                     with `hvelv key remove {}`)",
                    id.short(),
                    id.short()
                );
            } else {
                println!("added key {}", id.short());
            }
            Ok(crate::exit::OK)
        }
        KeyCommand::Remove { id } => {
            let repo = super::open_full(g, "manage keys").await?;
            let removed = repo.remove_key(&id).await?;
            if g.json {
                super::print_json(&json!({ "removed": removed }))?;
            } else {
                println!("removed key {}", &removed[..8.min(removed.len())]);
            }
            Ok(crate::exit::OK)
        }
        KeyCommand::Passwd { new_password_file } => {
            let mut repo = super::open_full(g, "manage keys").await?;
            let old = repo.key_id().to_owned();
            let pw = new_password(g, new_password_file)?;
            let kdf = repo.current_kdf().await?;
            let id = repo.change_password(&pw, kdf).await?;
            if g.json {
                super::print_json(&json!({ "key": id.to_hex(), "removed": old }))?;
            } else {
                println!(
                    "password changed: added key {}, removed key {}",
                    id.short(),
                    &old[..8.min(old.len())]
                );
            }
            Ok(crate::exit::OK)
        }
    }
}

async fn list(g: &Global) -> Result<i32> {
    let repo = super::open_full(g, "manage keys").await?;
    let keys = repo.list_keys().await?;
    let created = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| {
                d.with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default()
    };
    if g.json {
        let v: Vec<_> = keys
            .iter()
            .map(|k| {
                json!({
                    "id": k.id,
                    "short_id": &k.id[..8.min(k.id.len())],
                    "current": k.current,
                    "kind": k.info.as_ref().map(|i| i.kind),
                    "name": k.info.as_ref().map(|i| &i.name),
                    "host": k.info.as_ref().map(|i| &i.host),
                    "user": k.info.as_ref().map(|i| &i.user),
                    "created": k.info.as_ref().and_then(|i| chrono::DateTime::from_timestamp(i.created, 0)).map(|d| d.to_rfc3339()),
                    "kdf": k.kdf.map(|kdf| match kdf {
                        KeyKdf::Argon2id(p) => json!({"type": "argon2id", "memory_kib": p.m_cost, "passes": p.t_cost, "lanes": p.p_cost}),
                        KeyKdf::Generated => json!({"type": "generated"}),
                    }),
                })
            })
            .collect();
        super::print_json(&v)?;
        return Ok(crate::exit::OK);
    }
    println!(
        "  {:<8}  {:<8}  {:<16}  {:<12}  {:<16}  {:<19}  kdf",
        "id", "kind", "name", "user", "host", "created"
    );
    for k in &keys {
        let (kind, name, user, host, when) = match &k.info {
            Some(i) => (
                i.kind.as_str().to_owned(),
                i.name.clone(),
                i.user.clone(),
                i.host.clone(),
                created(i.created),
            ),
            None => ("?".into(), "-".into(), "-".into(), "-".into(), "-".into()),
        };
        let kdf = k
            .kdf
            .map(|kdf| match kdf {
                KeyKdf::Argon2id(p) => {
                    format!("argon2id {} MiB, {} passes", p.m_cost / 1024, p.t_cost)
                }
                KeyKdf::Generated => "generated secret (no derivation)".into(),
            })
            .unwrap_or_else(|| "unreadable header".into());
        println!(
            "{} {:<8}  {:<8}  {:<16}  {:<12}  {:<16}  {:<19}  {kdf}",
            if k.current { "*" } else { " " },
            &k.id[..8.min(k.id.len())],
            kind,
            name,
            user,
            host,
            when
        );
    }
    println!(
        "{} keys; * = the key this password opened. Each key's label is sealed so that only \
         full keys can read it; `?` marks an unreadable label.",
        keys.len()
    );
    Ok(crate::exit::OK)
}
