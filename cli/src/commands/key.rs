//! `hvelv key list|add|remove|passwd`

use anyhow::{Context, Result};
use serde_json::json;
use zeroize::Zeroizing;

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
        KeyCommand::Add { new_password_file } => {
            let repo = super::open(g).await?;
            let pw = new_password(g, new_password_file)?;
            // New keys cost as much to attack as the one in use (chosen at init).
            let kdf = repo.current_kdf().await?;
            let id = repo.add_key(&pw, kdf).await?;
            if g.json {
                super::print_json(&json!({ "key": id.to_hex() }))?;
            } else {
                println!("added key {}", id.short());
            }
            Ok(crate::exit::OK)
        }
        KeyCommand::Remove { id } => {
            let repo = super::open(g).await?;
            let removed = repo.remove_key(&id).await?;
            if g.json {
                super::print_json(&json!({ "removed": removed }))?;
            } else {
                println!("removed key {}", &removed[..8.min(removed.len())]);
            }
            Ok(crate::exit::OK)
        }
        KeyCommand::Passwd { new_password_file } => {
            let mut repo = super::open(g).await?;
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
    let repo = super::open(g).await?;
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
                    "host": k.info.as_ref().map(|i| &i.host),
                    "user": k.info.as_ref().map(|i| &i.user),
                    "created": k.info.as_ref().and_then(|i| chrono::DateTime::from_timestamp(i.created, 0)).map(|d| d.to_rfc3339()),
                    "kdf": k.kdf.map(|p| json!({"memory_kib": p.m_cost, "passes": p.t_cost, "lanes": p.p_cost})),
                })
            })
            .collect();
        super::print_json(&v)?;
        return Ok(crate::exit::OK);
    }
    println!(
        "  {:<8}  {:<12}  {:<16}  {:<19}  kdf",
        "id", "user", "host", "created"
    );
    for k in &keys {
        let (user, host, when) = match &k.info {
            Some(i) => (i.user.clone(), i.host.clone(), created(i.created)),
            None => ("-".into(), "-".into(), "-".into()),
        };
        let kdf = k
            .kdf
            .map(|p| format!("argon2id {} MiB, {} passes", p.m_cost / 1024, p.t_cost))
            .unwrap_or_else(|| "unreadable header".into());
        println!(
            "{} {:<8}  {:<12}  {:<16}  {:<19}  {kdf}",
            if k.current { "*" } else { " " },
            &k.id[..8.min(k.id.len())],
            user,
            host,
            when
        );
    }
    println!(
        "{} keys; * = the key this password opened. User, host and creation time are sealed \
         inside each key file, so only the current key's are shown.",
        keys.len()
    );
    Ok(crate::exit::OK)
}
