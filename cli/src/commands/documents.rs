//! Documents for an extract taken from a backup snapshot (`noark5 extract
//! --documents-from-snapshot SNAPSHOT:PATH`): restored, every blob authenticated, into a
//! scratch folder that is removed when the extract is built (also on failure).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use hvelv_engine::backend::open_backend;
use hvelv_engine::ops::restore::{restore, RestoreOptions};
use hvelv_engine::progress::NoProgress;
use hvelv_engine::Repository;

use super::noark5::{Noark5Args, Noark5Command};
use crate::args::Global;

/// A folder removed when dropped (and by [`Scratch::remove`], which reports failure).
pub struct Scratch {
    path: PathBuf,
    armed: bool,
}

impl Scratch {
    /// Create `path`, which must not exist, readable by the owner only.
    pub fn create(path: &Path) -> Result<Scratch> {
        use std::os::unix::fs::DirBuilderExt;
        if path.symlink_metadata().is_ok() {
            bail!(
                "{} already exists; give a folder that does not exist yet (it is removed \
                 afterwards, so an existing one is never used)",
                path.display()
            );
        }
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(path)
            .with_context(|| format!("creating {}", path.display()))?;
        let path =
            std::fs::canonicalize(path).with_context(|| format!("resolving {}", path.display()))?;
        Ok(Scratch { path, armed: true })
    }
    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Remove the folder now, reporting a failure.
    pub fn remove(mut self) -> Result<()> {
        self.armed = false;
        std::fs::remove_dir_all(&self.path).with_context(|| {
            format!(
                "removing the working folder {} failed; remove it by hand (it holds plaintext)",
                self.path.display()
            )
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Restore `SNAPSHOT:PATH` from `repo` (default: the backup repository and its password) into
/// `target`; every file must come back complete.
pub async fn restore_documents(
    g: &Global,
    spec: &str,
    repo: Option<&str>,
    target: &Path,
) -> Result<()> {
    let Some((snap, sub)) = spec
        .split_once(':')
        .filter(|(s, p)| !s.is_empty() && p.starts_with('/'))
    else {
        bail!(
            "--documents-from-snapshot {spec:?}: expected SNAPSHOT:/PATH (e.g. latest:/srv/byggesak/skann)"
        );
    };
    let repo = match repo {
        Some(loc) => {
            let be = open_backend(loc)?;
            let pw = crate::password::get(g)?;
            Repository::open(be, &pw).await?
        }
        None => super::open(g).await?,
    };
    let repo = repo.load_index().await.context("loading the index")?;
    let s = repo.find_snapshot(snap, None).await?;
    let out = restore(
        &repo,
        &s,
        Some(sub),
        target,
        &RestoreOptions::default(),
        Arc::new(NoProgress),
    )
    .await
    .with_context(|| {
        format!(
            "restoring the documents {sub} from snapshot {}",
            s.id.short()
        )
    })?;
    if !out.errors.is_empty() {
        bail!(
            "the documents {sub} of snapshot {} could not all be restored intact, so no extract \
             is built:\n  {}",
            s.id.short(),
            out.errors.join("\n  ")
        );
    }
    Ok(())
}

/// `hvelv noark5 …`, restoring documents from a snapshot first when asked.
pub async fn run_noark5(g: &Global, mut a: Noark5Args) -> Result<i32> {
    let mut scratch = None;
    if let Noark5Command::Extract(x) = &mut a.command {
        if let Some(spec) = x.documents_from_snapshot.clone() {
            if x.from_extract.is_some() {
                bail!("--documents-from-snapshot is used with --from-jsonl or --from-health, not --from-extract");
            }
            let mut name = x.output.file_name().unwrap_or_default().to_os_string();
            name.push(".documents");
            let s = Scratch::create(&x.output.with_file_name(name))?;
            restore_documents(g, &spec, x.documents_repo.as_deref(), s.path()).await?;
            x.documents_dir = Some(s.path().to_path_buf());
            scratch = Some(s);
        }
    }
    let code = tokio::task::spawn_blocking(move || super::noark5::run(a)).await??;
    if let Some(s) = scratch {
        s.remove()?;
    }
    Ok(code)
}
