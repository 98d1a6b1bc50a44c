//! `hvelv init`

use anyhow::{Context, Result};
use hvelv_engine::backend::{LockMode, ObjectLock};
use hvelv_engine::chunker::ChunkerParams;
use hvelv_engine::crypto::{KdfParams, KeyKdf};
use hvelv_engine::{InitOptions, Repository};

use crate::args::{Global, InitArgs};

fn u32_of(v: u64, what: &str) -> Result<u32> {
    u32::try_from(v).with_context(|| format!("{what} {v} is too large"))
}

pub async fn run(g: &Global, a: InitArgs) -> Result<i32> {
    let be = super::backend(g)?;
    let copy_chunker_from = match &a.copy_chunker_params_from {
        Some(loc) => Some(
            super::open_other(g, loc, &a.from)
                .await
                .with_context(|| format!("opening {loc} to copy its chunker parameters"))?,
        ),
        None => None,
    };
    let opts = InitOptions {
        copy_chunker_from,
        chunker: ChunkerParams {
            min: u32_of(a.chunk_min, "--chunk-min")?,
            avg: u32_of(a.chunk_avg, "--chunk-avg")?,
            max: u32_of(a.chunk_max, "--chunk-max")?,
        },
        pack_size: u32_of(a.pack_size, "--pack-size")?,
        zstd_level: a.compression,
        kdf: match a.generate_key {
            Some(_) => KeyKdf::Generated,
            None => KdfParams {
                m_cost: a.kdf_memory.saturating_mul(1024),
                t_cost: a.kdf_passes,
                p_cost: 1,
            }
            .into(),
        },
        object_lock: match a.object_lock_days {
            Some(days) => Some(ObjectLock {
                days,
                mode: LockMode::parse(&a.object_lock_mode)?,
            }),
            None => None,
        },
    };
    let repo = match &a.generate_key {
        Some(path) => {
            let secret = crate::password::write_generated(path)?;
            let created = Repository::init(be.clone(), secret.as_bytes(), opts).await;
            if created.is_err() {
                let _ = std::fs::remove_file(path);
            }
            created?
        }
        None => {
            let pw = crate::password::new(g)?;
            Repository::init(be.clone(), &pw, opts).await?
        }
    };
    if g.json {
        super::print_json(&serde_json::json!({
            "repository": be.location(),
            "id": repo.config().id,
            "config": repo.config(),
        }))?;
    } else if !g.quiet {
        println!(
            "created hvelv repository {} at {}",
            &repo.config().id[..8],
            be.location()
        );
        if let Some(l) = repo.config().object_lock {
            println!(
                "WORM: every file gets an S3 Object Lock retention of {l}; prune and forget \
                 keep files until their retention expires"
            );
        }
        match &a.generate_key {
            Some(path) => println!(
                "The key's secret is in {}: open the repository with --password-file {}. Keep \
                 a copy safe: without it the data cannot be recovered.",
                path.display(),
                path.display()
            ),
            None => println!("Keep the password safe: without it the data cannot be recovered."),
        }
    }
    Ok(crate::exit::OK)
}
