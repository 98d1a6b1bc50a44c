//! `hvelv archive ingest-health`: the secure-zone flow in one command. Health export →
//! extract → validate → package → archive put, with every plaintext file (restored documents,
//! the extract, the package, temporary files of child processes) inside `--workdir`, which
//! is created for the run and removed afterwards, also when a step fails. The archive
//! repository is a separate repository with its own password (see `archive::location`).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use hvelv_noark5::package::{self, PackageMetadata, PackageOptions};
use hvelv_noark5::schemas::{SchemaSet, ENV_VAR};
use hvelv_noark5::source::helse::{self, ENV_SKJERMINGSHJEMMEL};
use hvelv_noark5::validate::validate;
use serde_json::json;

use super::archive::{self, ArchiveRepo, Refused};
use super::documents::{restore_documents, Scratch};
use crate::args::Global;

/// `hvelv archive ingest-health`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The health export folder (docs/NOARK5.md, source 3).
    pub export: PathBuf,
    /// Working folder for every plaintext file of the run; must not exist. It is created
    /// (mode 0700), used as TMPDIR for child processes, and removed at the end.
    #[arg(long)]
    pub workdir: PathBuf,
    /// Legal basis of the screening (skjermingshjemmel), e.g. "Offl. § 13, jf. hpl. § 21".
    #[arg(long, env = ENV_SKJERMINGSHJEMMEL)]
    pub skjermingshjemmel: String,
    /// Package metadata as JSON (docs/NOARK5.md "Package metadata").
    #[arg(long)]
    pub metadata: PathBuf,
    /// Official Noark 5 v5.0 schema folder.
    #[arg(long, env = ENV_VAR)]
    pub schemas: Option<PathBuf>,
    /// Folder with DIAS_METS.xsd and DIAS_PREMIS.xsd.
    #[arg(long, env = package::ENV_VAR)]
    pub dias_schemas: PathBuf,
    /// Only patient cases closed on or after this date (YYYY-MM-DD).
    #[arg(long)]
    pub closed_from: Option<String>,
    /// Only patient cases closed on or before this date (YYYY-MM-DD).
    #[arg(long)]
    pub closed_to: Option<String>,
    /// Take the documents from a backup snapshot (SNAPSHOT:PATH), restored into the workdir.
    #[arg(long, value_name = "SNAPSHOT:PATH")]
    pub documents_from_snapshot: Option<String>,
    /// Repository of that snapshot (default: -r/--repo; password from --password-file etc.).
    #[arg(long, value_name = "REPO", requires = "documents_from_snapshot")]
    pub documents_repo: Option<String>,
    /// The unit recorded on the archive snapshot.
    #[arg(long)]
    pub unit: Option<String>,
    /// Do not run XSD validation (the report says so).
    #[arg(long)]
    pub skip_xsd: bool,
}

fn date(flag: &str, v: Option<&str>) -> Result<Option<hvelv_noark5::time::Date>> {
    v.map(|s| {
        hvelv_noark5::time::parse_date(s)
            .with_context(|| format!("--{flag} {s:?}: expected YYYY-MM-DD"))
    })
    .transpose()
}

/// Run the flow; returns the exit code. The workdir is gone when this returns.
pub async fn run(g: &Global, r: &ArchiveRepo, a: IngestArgs) -> Result<i32> {
    // Everything that can be refused is refused before the workdir exists.
    archive::location(g, r)?;
    if a.skjermingshjemmel.trim().is_empty() {
        bail!("--skjermingshjemmel is empty: the legal basis of the screening is mandatory");
    }
    let meta =
        PackageMetadata::from_file(&a.metadata)?.checked(&a.metadata.display().to_string())?;
    let opts = helse::HelseOptions {
        skjermingshjemmel: a.skjermingshjemmel.clone(),
        closed_from: date("closed-from", a.closed_from.as_deref())?,
        closed_to: date("closed-to", a.closed_to.as_deref())?,
        documents: None,
    };
    let schemas = SchemaSet::locate(a.schemas.as_deref())?;
    let mut repo = archive::open(g, r).await?;

    let work = Scratch::create(&a.workdir)?;
    let result = flow(
        g,
        &a,
        &mut repo,
        work.path().to_path_buf(),
        meta,
        opts,
        schemas,
    )
    .await;
    let removed = work.remove();
    let code = result?;
    removed?;
    Ok(code)
}

async fn flow(
    g: &Global,
    a: &IngestArgs,
    repo: &mut hvelv_engine::IndexedRepository,
    work: PathBuf,
    meta: package::CheckedMetadata,
    mut opts: helse::HelseOptions,
    schemas: SchemaSet,
) -> Result<i32> {
    std::fs::create_dir(work.join("tmp")).context("creating the workdir's tmp folder")?;
    if let Some(spec) = &a.documents_from_snapshot {
        let docs = work.join("documents");
        restore_documents(g, spec, a.documents_repo.as_deref(), &docs).await?;
        opts.documents = Some(docs);
    }
    let export = a.export.clone();
    let extract = work.join("extract");
    let pkg_dir = work.join("package");
    let vopts = super::noark5::options(a.schemas.clone(), None, None, a.skip_xsd);
    let report = tokio::task::spawn_blocking({
        let extract = extract.clone();
        move || -> Result<_> {
            let built = helse::import(&export, extract, schemas, &opts)
                .with_context(|| format!("building an extract from {}", export.display()))?;
            Ok(validate(&built.path, &vopts)?)
        }
    })
    .await??;
    if report.error_count() > 0 {
        print!("{}", report.to_text());
        eprintln!(
            "error: the extract has {} error(s) and was not packaged or stored; the workdir is \
             removed",
            report.error_count()
        );
        return Ok(crate::exit::FINDINGS);
    }
    let popts = PackageOptions {
        uuid: uuid::Uuid::new_v4(),
        created: chrono::Utc::now(),
        force: false,
        dias_schemas: a.dias_schemas.clone(),
        software: format!("hvelv {}", env!("CARGO_PKG_VERSION")),
    };
    let made = tokio::task::spawn_blocking(move || {
        package::create(&extract, &pkg_dir, &meta, &report, &popts)
    })
    .await?
    .context("packaging the extract")?;
    let (snap, ev, _) = match archive::store(repo, &made.tar, a.unit.clone()).await {
        Ok(x) => x,
        Err(e) if e.downcast_ref::<Refused>().is_some() => {
            eprintln!("error: {e}");
            return Ok(crate::exit::FINDINGS);
        }
        Err(e) => return Err(e),
    };
    if g.json {
        super::print_json(&json!({
            "snapshot": snap.id.to_hex(),
            "package_id": made.uuid,
            "tar_sha256": made.tar_sha256,
            "tar_size": made.tar_size,
            "event": ev,
            "workdir_removed": true,
        }))?;
    } else {
        println!(
            "package {} ({} bytes, SHA-256 {}) stored as archive snapshot {} and verified; the \
             working folder is removed",
            made.uuid,
            made.tar_size,
            made.tar_sha256,
            snap.id.short()
        );
    }
    Ok(crate::exit::OK)
}
