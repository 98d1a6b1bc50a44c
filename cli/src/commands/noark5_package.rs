//! `hvelv noark5 package`: pack a validated extract as a DIAS SIP the way Arkade 5 does, and
//! `hvelv noark5 validate PACKAGE.tar`: check a package's DIAS structure and METS checksums.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use hvelv_noark5::package::{
    self, check_package, Contact, PackageMetadata, PackageOptions, Period, System,
};
use hvelv_noark5::schemas::ENV_VAR;
use hvelv_noark5::validate::validate;

use super::noark5::{options, FINDINGS};

/// `hvelv noark5 package`.
#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The extract folder (holding arkivuttrekk.xml); packed unchanged into content/.
    pub extract: PathBuf,
    /// Output folder for {uuid}.tar and {uuid}.xml (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Package metadata as JSON (docs/NOARK5.md "Package metadata"); flags below override it.
    #[arg(long)]
    pub metadata: Option<PathBuf>,
    /// Package label (default: "{archive creator} {start}–{end}").
    #[arg(long)]
    pub label: Option<String>,
    /// The receiving depot, e.g. "IKA Kongsberg".
    #[arg(long)]
    pub depot: Option<String>,
    /// The archive creator (arkivskaper).
    #[arg(long)]
    pub archive_creator: Option<String>,
    /// Contact person at the archive creator.
    #[arg(long)]
    pub contact: Option<String>,
    /// Contact person's telephone.
    #[arg(long)]
    pub contact_phone: Option<String>,
    /// Contact person's e-mail.
    #[arg(long)]
    pub contact_email: Option<String>,
    /// The source system's name.
    #[arg(long)]
    pub system: Option<String>,
    /// The source system's version.
    #[arg(long)]
    pub system_version: Option<String>,
    /// First day of the period the extract covers (YYYY-MM-DD).
    #[arg(long)]
    pub period_start: Option<String>,
    /// Last day of the period (YYYY-MM-DD).
    #[arg(long)]
    pub period_end: Option<String>,
    /// Folder with Arkivverket's DIAS schemas DIAS_METS.xsd and DIAS_PREMIS.xsd (copied into
    /// the package as dias-mets.xsd and dias-premis.xsd).
    #[arg(long, env = package::ENV_VAR)]
    pub dias_schemas: PathBuf,
    /// Package even if validation finds errors; the failed result is recorded in log.xml.
    #[arg(long)]
    pub force: bool,
    /// Official Noark 5 v5.0 schema folder for the validation before packaging.
    #[arg(long, env = ENV_VAR)]
    pub schemas: Option<PathBuf>,
    /// Do not run XSD validation (N5.03) before packaging; the report says so.
    #[arg(long)]
    pub skip_xsd: bool,
    /// Print the summary (and the validation report) as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

fn metadata(a: &PackageArgs) -> Result<(PackageMetadata, String)> {
    let (mut m, source) = match &a.metadata {
        Some(p) => (
            PackageMetadata::from_file(p)?,
            format!("{} (and flags)", p.display()),
        ),
        None => (PackageMetadata::default(), "package metadata flags".into()),
    };
    let set = |field: &mut Option<String>, flag: &Option<String>| {
        if flag.is_some() {
            field.clone_from(flag);
        }
    };
    set(&mut m.label, &a.label);
    set(&mut m.depot, &a.depot);
    set(&mut m.archive_creator, &a.archive_creator);
    if a.contact.is_some() || a.contact_phone.is_some() || a.contact_email.is_some() {
        let c = m.contact.get_or_insert_with(Contact::default);
        if let Some(n) = &a.contact {
            c.name.clone_from(n);
        }
        set(&mut c.phone, &a.contact_phone);
        set(&mut c.email, &a.contact_email);
    }
    if a.system.is_some() || a.system_version.is_some() {
        let s = m.system.get_or_insert_with(System::default);
        if let Some(n) = &a.system {
            s.name.clone_from(n);
        }
        set(&mut s.version, &a.system_version);
    }
    if a.period_start.is_some() || a.period_end.is_some() {
        let p = m.period.get_or_insert_with(Period::default);
        if let Some(v) = &a.period_start {
            p.start.clone_from(v);
        }
        if let Some(v) = &a.period_end {
            p.end.clone_from(v);
        }
    }
    Ok((m, source))
}

/// Run `hvelv noark5 package`; returns the exit code.
pub fn run_package(a: PackageArgs) -> Result<i32> {
    let (m, source) = metadata(&a)?;
    let meta = m.checked(&source)?;
    let vopts = options(a.schemas.clone(), None, None, a.skip_xsd);
    let report = validate(&a.extract, &vopts)
        .with_context(|| format!("validating {}", a.extract.display()))?;
    let opts = PackageOptions {
        uuid: uuid::Uuid::new_v4(),
        created: chrono::Utc::now(),
        force: a.force,
        dias_schemas: a.dias_schemas.clone(),
        software: format!("hvelv {}", env!("CARGO_PKG_VERSION")),
    };
    match package::create(&a.extract, &a.out, &meta, &report, &opts) {
        Ok(s) => {
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "package": s,
                        "report": report,
                    }))?
                );
            } else {
                if s.validation_errors > 0 {
                    print!("{}", report.to_text());
                    println!(
                        "packaged despite {} validation error(s) (--force); recorded in log.xml",
                        s.validation_errors
                    );
                }
                println!(
                    "package {}: {} ({} bytes, SHA-256 {}), {} files listed in dias-mets.xml",
                    s.uuid,
                    s.tar.display(),
                    s.tar_size,
                    s.tar_sha256,
                    s.files
                );
                println!("package description: {}", s.description.display());
            }
            Ok(0)
        }
        Err(e) if e.kind() == hvelv_noark5::ErrorKind::Rejected => {
            if a.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text());
            }
            eprintln!("error: {e}");
            Ok(FINDINGS)
        }
        Err(e) => Err(e).with_context(|| format!("packaging {}", a.extract.display())),
    }
}

/// `hvelv noark5 validate PACKAGE.tar`: structure and checksums; exit FINDINGS on problems.
pub fn run_check(path: &Path, json: bool) -> Result<i32> {
    let c = check_package(path).with_context(|| format!("checking {}", path.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        for p in &c.problems {
            println!("{}: {p}", c.uuid);
        }
        println!(
            "package {}: {} files, {} verified against dias-mets.xml, {} problem(s)",
            c.uuid,
            c.files,
            c.verified,
            c.problems.len()
        );
    }
    Ok(if c.problems.is_empty() { 0 } else { FINDINGS })
}
