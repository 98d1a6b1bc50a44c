//! One module per subcommand; `run` dispatches.

pub mod archive;
mod archive_check;
pub mod archive_ingest;
mod backup;
mod check;
mod copy;
mod diff;
mod documents;
pub(crate) mod forget;
mod init;
mod key;
mod ls;
pub mod noark5;
pub mod noark5_package;
mod protect;
mod prune;
mod repair;
mod restore;
mod snapshots;

use anyhow::{Context, Result};
use hvelv_engine::backend::DynBackend;
use hvelv_engine::{IndexedRepository, Repository};

use crate::args::{Cli, Command, Global};

/// Run the parsed command; returns the exit code.
pub async fn run(cli: Cli) -> Result<i32> {
    let g = cli.global;
    match cli.command {
        Command::Init(a) => init::run(&g, a).await,
        Command::Backup(a) => backup::run(&g, a).await,
        Command::Snapshots(a) => snapshots::run(&g, a).await,
        Command::Ls(a) => ls::run(&g, a).await,
        Command::Restore(a) => restore::run(&g, a).await,
        Command::Prune(a) => prune::run(&g, a).await,
        Command::Copy(a) => copy::run(&g, a).await,
        Command::Diff(a) => diff::run(&g, a).await,
        Command::Forget(a) => forget::run(&g, a).await,
        Command::Protect(a) => protect::run(&g, a, true).await,
        Command::Unprotect(a) => protect::run(&g, a, false).await,
        Command::Key(k) => key::run(&g, k).await,
        Command::Config(crate::args::ConfigCommand::Check { file }) => {
            crate::config::check(file.as_deref())
        }
        Command::Check(a) => check::run(&g, a).await,
        Command::Repair(r) => repair::run(&g, r).await,
        Command::Noark5(a) => documents::run_noark5(&g, a).await,
        Command::Archive(a) => archive::run(&g, a).await,
        Command::Run(a) => crate::nightly::run(&g, a).await,
        Command::Schedule(c) => crate::nightly::schedule::run(&g, c),
    }
}

/// The backend for `-r/--repo` / `HVELV_REPOSITORY`.
pub fn backend(g: &Global) -> Result<DynBackend> {
    let Some(loc) = g.repo.as_deref().filter(|s| !s.is_empty()) else {
        anyhow::bail!(
            "no repository given: use -r/--repo PATH or set HVELV_REPOSITORY (create one with `hvelv init -r PATH`)"
        );
    };
    hvelv_engine::backend::open_backend_with(loc, &g.s3_settings()).map_err(anyhow::Error::from)
}

/// Open the repository (asks for the password).
pub async fn open(g: &Global) -> Result<Repository> {
    let be = backend(g)?;
    let pw = crate::password::get(g)?;
    Repository::open(be, &pw).await.map_err(anyhow::Error::from)
}

/// Open a second repository (copy source) with the `--from-password-*` options.
pub async fn open_other(
    g: &Global,
    loc: &str,
    pw: &crate::args::FromPassword,
) -> Result<Repository> {
    let be = hvelv_engine::backend::open_backend_with(loc, &g.s3_settings())?;
    let pw = crate::password::from_sources(
        pw.from_password_file.as_deref(),
        pw.from_password_command.as_deref(),
        "HVELV_FROM_PASSWORD",
        "source repository password: ",
    )
    .with_context(|| {
        format!(
            "the password of {loc}: use --from-password-file, --from-password-command, or \
             HVELV_FROM_PASSWORD_FILE, HVELV_FROM_PASSWORD_COMMAND, HVELV_FROM_PASSWORD"
        )
    })?;
    Repository::open(be, &pw).await.map_err(anyhow::Error::from)
}

/// Open the repository and load its index.
pub async fn open_indexed(g: &Global) -> Result<IndexedRepository> {
    let repo = open(g).await?;
    repo.load_index().await.context("loading the index")
}

/// Open the repository with a full key: a put-only key is refused at once, saying why.
pub async fn open_full(g: &Global, what: &str) -> Result<Repository> {
    let repo = open(g).await?;
    repo.require_full(what)?;
    Ok(repo)
}

/// [`open_full`] and load the index.
pub async fn open_indexed_full(g: &Global, what: &str) -> Result<IndexedRepository> {
    let repo = open_full(g, what).await?;
    repo.load_index().await.context("loading the index")
}

/// Print JSON to stdout.
pub fn print_json(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Human-readable size.
pub fn human(bytes: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < U.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}
