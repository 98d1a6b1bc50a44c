//! `hvelv noark5 …`: build Noark 5 v5.0 extracts and validate extracts the way Arkade 5 does.
//!
//! Exit codes: 0 success (for `validate`: no errors), 2 the extract has errors (findings were
//! reported), 1 the command could not do its work (bad input, missing schemas, I/O).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use hvelv_noark5::schemas::{SchemaSet, ENV_VAR};
use hvelv_noark5::source::helse::ENV_SKJERMINGSHJEMMEL;
use hvelv_noark5::source::{existing, helse, jsonl};
use hvelv_noark5::validate::{validate, Report, ValidateOptions, XsdMode};

/// The environment variable naming the official Noark 5 v3.1 schema folder.
pub const ENV_SCHEMAS_V31: &str = "HVELV_NOARK5_SCHEMAS_V31";
/// The environment variable naming the official Noark 5 v4.0 schema folder.
pub const ENV_SCHEMAS_V40: &str = "HVELV_NOARK5_SCHEMAS_V40";

/// Exit code when an extract has errors.
pub const FINDINGS: i32 = crate::exit::FINDINGS;

/// Noark 5 archive extracts (arkivuttrekk).
#[derive(Debug, Args)]
pub struct Noark5Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Noark5Command,
}

/// The `noark5` subcommands.
#[derive(Debug, Subcommand)]
pub enum Noark5Command {
    /// Check an extract folder with Arkade 5's Noark 5 tests (N5.01–N5.64) and hvelv's own.
    Validate(ValidateArgs),
    /// Build a Noark 5 v5.0 extract from a source, then validate it.
    Extract(ExtractArgs),
    /// Identify the format of document files from their content (PDF/A from XMP, TIFF, …).
    Identify(IdentifyArgs),
    /// Pack a validated extract as a DIAS SIP deposit package ({uuid}.tar + {uuid}.xml), as
    /// Arkade 5 does.
    Package(super::noark5_package::PackageArgs),
}

/// `hvelv noark5 validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The extract folder (holding arkivuttrekk.xml), or a package tar made by
    /// `noark5 package` (its DIAS structure and dias-mets.xml checksums are checked).
    pub dir: PathBuf,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Official Noark 5 v5.0 schema folder, used for files whose schema the extract lacks
    /// (reported as an error either way).
    #[arg(long, env = ENV_VAR)]
    pub schemas: Option<PathBuf>,
    /// Official Noark 5 v3.1 schema folder, used instead of the v5.0 set for a v3.1 extract.
    #[arg(long, env = ENV_SCHEMAS_V31)]
    pub schemas_v31: Option<PathBuf>,
    /// Official Noark 5 v4.0 schema folder, used instead of the v5.0 set for a v4.0 extract.
    #[arg(long, env = ENV_SCHEMAS_V40)]
    pub schemas_v40: Option<PathBuf>,
    /// Do not run XSD validation (N5.03); the report says so. Without this flag a missing
    /// xmllint is an error.
    #[arg(long)]
    pub skip_xsd: bool,
}

/// `hvelv noark5 extract`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).multiple(false))]
#[command(group = clap::ArgGroup::new("selectable").multiple(false))]
pub struct ExtractArgs {
    /// A case-system export in the JSON Lines format of docs/noark5-import.md.
    #[arg(long, group = "source", group = "selectable")]
    pub from_jsonl: Option<PathBuf>,
    /// An existing extract (Noark 5 v3.1/4.0/5.0): copied unchanged (missing official XSDs
    /// added), validated, and kept only without errors. It stays in its version: v3.1/v4.0 is
    /// not converted to v5.0.
    #[arg(long, group = "source")]
    pub from_extract: Option<PathBuf>,
    /// A secure-zone health export (documents plus one metadata file per patient record,
    /// docs/NOARK5.md source 3): every entity screened, both journals with `*****` titles/names.
    #[arg(
        long,
        group = "source",
        group = "selectable",
        requires = "skjermingshjemmel"
    )]
    pub from_health: Option<PathBuf>,
    /// Legal basis of the screening of a health export (skjermingshjemmel), written on every
    /// mappe, registrering and dokumentbeskrivelse, e.g. "Offl. § 13, jf. hpl. § 21".
    #[arg(long, env = ENV_SKJERMINGSHJEMMEL, requires = "from_health")]
    pub skjermingshjemmel: Option<String>,
    /// The new extract folder (must not exist).
    #[arg(long, short)]
    pub output: PathBuf,
    /// Official Noark 5 v5.0 schema folder (arkivstruktur.xsd, metadatakatalog.xsd, …, addml.xsd).
    #[arg(long, env = ENV_VAR)]
    pub schemas: Option<PathBuf>,
    /// Official Noark 5 v3.1 schema folder, for a v3.1 source extract (--from-extract).
    #[arg(long, env = ENV_SCHEMAS_V31)]
    pub schemas_v31: Option<PathBuf>,
    /// Official Noark 5 v4.0 schema folder, for a v4.0 source extract (--from-extract).
    #[arg(long, env = ENV_SCHEMAS_V40)]
    pub schemas_v40: Option<PathBuf>,
    /// Only cases of this administrative unit (administrativEnhet), e.g. to split out an office
    /// (JSON Lines source only: a health export comes from one unit's system).
    #[arg(long, requires = "from_jsonl")]
    pub unit: Option<String>,
    /// Only cases closed on or after this date (YYYY-MM-DD).
    #[arg(long, requires = "selectable")]
    pub closed_from: Option<String>,
    /// Only cases closed on or before this date (YYYY-MM-DD).
    #[arg(long, requires = "selectable")]
    pub closed_to: Option<String>,
    /// Print the summary and the validation report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Do not run XSD validation on the result.
    #[arg(long)]
    pub skip_xsd: bool,
    /// Take the documents from a backup snapshot instead of the export folder: the export's
    /// document paths are then relative to PATH (e.g. `latest:/srv/byggesak/skann`). They are
    /// restored (every blob authenticated) into OUTPUT.documents, removed afterwards.
    #[arg(long, value_name = "SNAPSHOT:PATH")]
    pub documents_from_snapshot: Option<String>,
    /// Repository holding that snapshot (default: -r/--repo, HVELV_REPOSITORY); its password
    /// comes from --password-file/--password-command/HVELV_PASSWORD*.
    #[arg(long, value_name = "REPO", requires = "documents_from_snapshot")]
    pub documents_repo: Option<String>,
    /// Where the documents were restored (set by the command, not a flag).
    #[arg(skip)]
    pub documents_dir: Option<PathBuf>,
}

/// `hvelv noark5 identify`.
#[derive(Debug, Args)]
pub struct IdentifyArgs {
    /// Files to identify.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Run a `noark5` subcommand; returns the process exit code.
pub fn run(args: Noark5Args) -> Result<i32> {
    match args.command {
        Noark5Command::Validate(a) => run_validate(a),
        Noark5Command::Extract(a) => run_extract(a),
        Noark5Command::Identify(a) => run_identify(a),
        Noark5Command::Package(a) => super::noark5_package::run_package(a),
    }
}

pub(crate) fn options(
    schemas: Option<PathBuf>,
    v31: Option<PathBuf>,
    v40: Option<PathBuf>,
    skip_xsd: bool,
) -> ValidateOptions {
    let mut older_schemas = std::collections::BTreeMap::new();
    for (version, dir) in [("3.1", v31), ("4.0", v40)] {
        if let Some(d) = dir {
            older_schemas.insert(version.to_string(), d);
        }
    }
    ValidateOptions {
        xsd: if skip_xsd {
            XsdMode::Skip
        } else {
            XsdMode::Xmllint
        },
        fallback_schemas: schemas,
        older_schemas,
    }
}

fn print_report(r: &Report, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(r)?);
    } else {
        print!("{}", r.to_text());
    }
    Ok(())
}

fn exit_for(r: &Report) -> i32 {
    if r.error_count() == 0 {
        0
    } else {
        FINDINGS
    }
}

fn run_validate(a: ValidateArgs) -> Result<i32> {
    if a.dir.is_file() {
        let schema_flag = from_flag(a.schemas.as_ref(), ENV_VAR)
            || from_flag(a.schemas_v31.as_ref(), ENV_SCHEMAS_V31)
            || from_flag(a.schemas_v40.as_ref(), ENV_SCHEMAS_V40);
        if a.skip_xsd || schema_flag {
            anyhow::bail!(
                "{} is a file (a package tar): --skip-xsd and --schemas* only apply to an extract folder",
                a.dir.display()
            );
        }
        return super::noark5_package::run_check(&a.dir, a.json);
    }
    let r = validate(
        &a.dir,
        &options(a.schemas, a.schemas_v31, a.schemas_v40, a.skip_xsd),
    )
    .with_context(|| format!("validating {}", a.dir.display()))?;
    print_report(&r, a.json)?;
    Ok(exit_for(&r))
}

fn parse_date(flag: &str, v: Option<&str>) -> Result<Option<hvelv_noark5::time::Date>> {
    v.map(|s| {
        hvelv_noark5::time::parse_date(s)
            .with_context(|| format!("--{flag} {s:?}: expected YYYY-MM-DD"))
    })
    .transpose()
}

/// Whether `value` was given on the command line rather than taken from `env` (a value equal to
/// the environment variable's counts as coming from there).
fn from_flag<T: AsRef<std::ffi::OsStr>>(value: Option<&T>, env: &str) -> bool {
    value.is_some_and(|v| std::env::var_os(env).as_deref() != Some(v.as_ref()))
}

/// Refuse options the chosen source does not use, so no flag is silently ignored. (clap's
/// `requires` is not enforced for these grouped arguments; values from environment variables
/// are meant to be set once for every command, so only command-line flags are checked.)
fn check_source_options(a: &ExtractArgs) -> Result<()> {
    let source = if a.from_extract.is_some() {
        "--from-extract"
    } else if a.from_health.is_some() {
        "--from-health"
    } else {
        "--from-jsonl"
    };
    let unused = |flag: &str, only: &str| {
        anyhow::anyhow!("{flag} is only used with {only}, not with {source}")
    };
    if a.from_extract.is_none() {
        if from_flag(a.schemas_v31.as_ref(), ENV_SCHEMAS_V31) {
            return Err(unused("--schemas-v31", "--from-extract"));
        }
        if from_flag(a.schemas_v40.as_ref(), ENV_SCHEMAS_V40) {
            return Err(unused("--schemas-v40", "--from-extract"));
        }
    }
    if a.from_health.is_none() && from_flag(a.skjermingshjemmel.as_ref(), ENV_SKJERMINGSHJEMMEL) {
        return Err(unused("--skjermingshjemmel", "--from-health"));
    }
    if a.from_jsonl.is_none() && a.unit.is_some() {
        return Err(unused("--unit", "--from-jsonl"));
    }
    if a.from_extract.is_some() && (a.closed_from.is_some() || a.closed_to.is_some()) {
        return Err(unused(
            "--closed-from/--closed-to",
            "--from-jsonl or --from-health",
        ));
    }
    Ok(())
}

fn run_extract(a: ExtractArgs) -> Result<i32> {
    check_source_options(&a)?;
    let opts = options(
        a.schemas.clone(),
        a.schemas_v31.clone(),
        a.schemas_v40.clone(),
        a.skip_xsd,
    );
    if let Some(src) = &a.from_extract {
        let done = existing::reemit(src, &a.output, &opts)
            .with_context(|| format!("re-emitting {}", src.display()))?;
        if a.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "output": done.output,
                    "files": done.files,
                    "noark_version": done.noark_version,
                    "converted_to_v5_0": false,
                    "added_schemas": done.added_schemas,
                    "missing_schemas": done.missing_schemas,
                    "report": done.report,
                }))?
            );
        } else {
            print!("{}", done.report.to_text());
            println!();
            for (file, why) in &done.missing_schemas {
                println!("schema {file}: {why}");
            }
            match &done.output {
                Some(o) => {
                    println!("copied {} files unchanged to {}", done.files, o.display());
                    if !done.added_schemas.is_empty() {
                        println!(
                            "added from the official schema set (documented checksums match): {}",
                            done.added_schemas.join(", ")
                        );
                    }
                }
                None => println!("the source extract has errors; nothing was written"),
            }
            println!(
                "{}",
                version_note(done.noark_version.as_deref(), done.output.is_some())
            );
        }
        return Ok(exit_for(&done.report));
    }
    let closed_from = parse_date("closed-from", a.closed_from.as_deref())?;
    let closed_to = parse_date("closed-to", a.closed_to.as_deref())?;
    let summary = if let Some(src) = &a.from_health {
        let Some(hjemmel) = a.skjermingshjemmel.clone() else {
            anyhow::bail!(
                "a health export needs the legal basis of the screening: give \
                 --skjermingshjemmel or {ENV_SKJERMINGSHJEMMEL}, e.g. \"Offl. § 13, jf. hpl. § 21\""
            );
        };
        let schemas = SchemaSet::locate(a.schemas.as_deref())?;
        let o = helse::HelseOptions {
            skjermingshjemmel: hjemmel,
            closed_from,
            closed_to,
            documents: a.documents_dir.clone(),
        };
        helse::import(src, a.output.clone(), schemas, &o)
            .with_context(|| format!("building an extract from {}", src.display()))?
    } else {
        let Some(src) = &a.from_jsonl else {
            anyhow::bail!(
                "give a source: --from-jsonl DIR, --from-health DIR or --from-extract DIR"
            );
        };
        let schemas = SchemaSet::locate(a.schemas.as_deref())?;
        let sel = jsonl::Selection {
            closed_from,
            closed_to,
            unit: a.unit.clone(),
            documents: a.documents_dir.clone(),
        };
        jsonl::import(src, a.output.clone(), schemas, &sel)
            .with_context(|| format!("building an extract from {}", src.display()))?
    };
    let report = validate(&summary.path, &opts)?;
    // An extract that fails validation must not sit at OUT looking deliverable: it is moved
    // aside (kept for inspection) unless that name is taken.
    let mut output = summary.path.clone();
    let mut moved = false;
    if report.error_count() > 0 {
        let mut name = output.file_name().unwrap_or_default().to_os_string();
        name.push(".invalid");
        let aside = output.with_file_name(name);
        if !aside.exists() && std::fs::rename(&output, &aside).is_ok() {
            output = aside;
            moved = true;
        }
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "output": output,
                "valid": report.error_count() == 0,
                "mappe": summary.addml.files.first().and_then(|f| f.occurrences.first()).map(|o| o.1),
                "registrering": summary.addml.files.first().and_then(|f| f.occurrences.get(1)).map(|o| o.1),
                "journalposter": summary.journalposter,
                "endringer": summary.endringer,
                "dokumentfiler": summary.addml.antall_dokumentfiler,
                "report": report,
            }))?
        );
    } else {
        println!(
            "extract written to {}: {} document files, {} journalposter, {} endringer",
            summary.path.display(),
            summary.addml.antall_dokumentfiler,
            summary.journalposter,
            summary.endringer
        );
        print!("{}", report.to_text());
        if report.error_count() > 0 {
            if moved {
                println!(
                    "\nthe extract has errors and is NOT deliverable; it was moved to {} for \
                     inspection",
                    output.display()
                );
            } else {
                println!(
                    "\nthe extract has errors and is NOT deliverable ({} could not be moved \
                     aside)",
                    output.display()
                );
            }
        }
    }
    Ok(exit_for(&report))
}

/// What re-emitting did about the extract's version, in words an archivist reads.
fn version_note(version: Option<&str>, written: bool) -> String {
    match version {
        Some("5.0") => "Noark 5 v5.0 extract.".into(),
        Some(v @ ("3.1" | "4.0")) if written => format!(
            "Noark 5 v{v} extract: re-emitted as v{v}, NOT converted to v5.0 (hvelv does not \
             convert older extracts; deliver it as v{v}, which Arkade 5 and the depot accept)."
        ),
        Some(v @ ("3.1" | "4.0")) => format!(
            "Noark 5 v{v} extract, checked as v{v} (hvelv does not convert older extracts to \
             v5.0; once fixed, it is re-emitted as v{v})."
        ),
        Some(v) => format!(
            "arkivuttrekk.xml declares Noark 5 version «{v}», which is not 3.1, 4.0 or 5.0; \
             nothing was converted."
        ),
        None => "arkivuttrekk.xml declares no Noark 5 version; nothing was converted.".into(),
    }
}

fn run_identify(a: IdentifyArgs) -> Result<i32> {
    let mut code = 0;
    for f in &a.files {
        let id = identify_file(f)?;
        let verdict = if id.is_archive_format() {
            "archive format"
        } else {
            code = FINDINGS;
            "NOT an archive format"
        };
        println!("{}: {} [{}]", f.display(), id.details(), verdict);
    }
    Ok(code)
}

fn identify_file(path: &Path) -> Result<hvelv_noark5::format::Identified> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut s = hvelv_noark5::format::Sniffer::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        s.update(&buf[..n]);
    }
    Ok(s.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct TestCli {
        #[command(subcommand)]
        cmd: TestCmd,
    }

    #[derive(Debug, clap::Subcommand)]
    enum TestCmd {
        Noark5(Noark5Args),
    }

    fn parse(args: &[&str]) -> Noark5Args {
        let TestCmd::Noark5(a) = TestCli::parse_from(args).cmd;
        a
    }

    fn shared() -> Option<PathBuf> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/noark5");
        if p.join("schemas").is_dir() {
            Some(p)
        } else {
            eprintln!("!!!!! SKIPPED: {} not found !!!!!", p.display());
            None
        }
    }

    #[test]
    fn validate_exit_codes_follow_the_findings() {
        let Some(s) = shared() else { return };
        let ok = s.join("samples/SYNTHETIC-minimal-v5.0");
        let bad = s.join("samples/arkade-v3.1-valid-structure");
        let a = parse(&[
            "t",
            "noark5",
            "validate",
            ok.to_str().unwrap(),
            "--skip-xsd",
        ]);
        assert_eq!(run(a).unwrap(), 0);
        let a = parse(&[
            "t",
            "noark5",
            "validate",
            bad.to_str().unwrap(),
            "--skip-xsd",
            "--json",
        ]);
        assert_eq!(run(a).unwrap(), FINDINGS);
    }

    #[test]
    fn extract_from_jsonl_builds_a_valid_extract() {
        let Some(s) = shared() else { return };
        let tmp = std::env::temp_dir().join(format!("hvelv-noark5-cli-{}", std::process::id()));
        let out = tmp.join("uttrekk");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/noark5/jsonl-small");
        let schemas = s.join("schemas");
        let a = parse(&[
            "t",
            "noark5",
            "extract",
            "--from-jsonl",
            src.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--schemas",
            schemas.to_str().unwrap(),
            "--skip-xsd",
        ]);
        let code = run(a).unwrap();
        let _ = std::fs::remove_dir_all(&tmp);
        assert_eq!(code, 0);
    }

    #[test]
    fn extract_from_health_builds_a_valid_screened_extract() {
        let Some(s) = shared() else { return };
        let tmp = std::env::temp_dir().join(format!("hvelv-noark5-cli-h-{}", std::process::id()));
        let out = tmp.join("uttrekk");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/noark5/helse-small");
        let schemas = s.join("schemas");
        let a = parse(&[
            "t",
            "noark5",
            "extract",
            "--from-health",
            src.to_str().unwrap(),
            "--skjermingshjemmel",
            "Offl. § 13, jf. hpl. § 21",
            "-o",
            out.to_str().unwrap(),
            "--schemas",
            schemas.to_str().unwrap(),
            "--skip-xsd",
        ]);
        let code = run(a).unwrap();
        let xml = std::fs::read_to_string(out.join("arkivstruktur.xml")).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&tmp);
        assert_eq!(code, 0);
        assert!(xml.contains("<skjermingshjemmel>Offl. § 13, jf. hpl. § 21</skjermingshjemmel>"));
    }

    #[test]
    fn health_source_requires_the_legal_basis_and_one_source_only() {
        let r =
            TestCli::try_parse_from(["t", "noark5", "extract", "--from-health", "x", "-o", "y"]);
        if std::env::var_os(ENV_SKJERMINGSHJEMMEL).is_none() {
            let e = r.unwrap_err().to_string();
            assert!(e.contains("--skjermingshjemmel"), "{e}");
        }
        let e = TestCli::try_parse_from([
            "t",
            "noark5",
            "extract",
            "--from-health",
            "x",
            "--from-jsonl",
            "z",
            "--skjermingshjemmel",
            "h",
            "-o",
            "y",
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("cannot be used with"), "{e}");
        let e = TestCli::try_parse_from(["t", "noark5", "extract", "-o", "y"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("required"), "{e}");
    }

    #[test]
    fn older_extracts_are_said_not_to_be_converted() {
        let n = version_note(Some("3.1"), true);
        assert!(
            n.contains("re-emitted as v3.1") && n.contains("NOT converted to v5.0"),
            "{n}"
        );
        let n = version_note(Some("4.0"), false);
        assert!(
            n.contains("checked as v4.0") && n.contains("does not convert"),
            "{n}"
        );
        assert_eq!(version_note(Some("5.0"), true), "Noark 5 v5.0 extract.");
    }

    #[test]
    fn options_the_source_does_not_use_are_refused() {
        let cases: [(&[&str], &str); 4] = [
            (
                &["--from-jsonl", "x", "--schemas-v31", "z"],
                "--schemas-v31",
            ),
            (
                &[
                    "--from-health",
                    "x",
                    "--skjermingshjemmel",
                    "h",
                    "--unit",
                    "z",
                ],
                "--unit",
            ),
            // clap refuses this one itself, naming the sources that take it.
            (
                &["--from-extract", "x", "--closed-from", "2023-01-01"],
                "--from-health",
            ),
            (
                &["--from-jsonl", "x", "--schemas-v40", "z"],
                "--schemas-v40",
            ),
        ];
        for (flags, flag) in cases {
            let mut args = vec!["t", "noark5", "extract", "-o", "y"];
            args.extend_from_slice(flags);
            let e = match TestCli::try_parse_from(args) {
                Err(e) => e.to_string(),
                Ok(cli) => {
                    let TestCmd::Noark5(a) = cli.cmd;
                    run(a).unwrap_err().to_string()
                }
            };
            assert!(
                e.contains(flag) && (e.contains("only used with") || e.contains("required")),
                "{e}"
            );
        }
    }

    #[test]
    fn extract_from_a_v5_extract_adds_the_official_schemas() {
        let Some(s) = shared() else { return };
        let tmp = std::env::temp_dir().join(format!("hvelv-noark5-cli-e-{}", std::process::id()));
        let out = tmp.join("uttrekk");
        let src =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/noark5/existing-v5.0-small");
        let schemas = s.join("schemas");
        let a = parse(&[
            "t",
            "noark5",
            "extract",
            "--from-extract",
            src.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--schemas",
            schemas.to_str().unwrap(),
            "--skip-xsd",
        ]);
        let code = run(a).unwrap();
        let has_xsd = out.join("arkivstruktur.xsd").is_file();
        let _ = std::fs::remove_dir_all(&tmp);
        assert_eq!(code, 0);
        assert!(has_xsd);
    }

    #[test]
    fn an_extract_failing_validation_is_moved_aside() {
        let Some(s) = shared() else { return };
        if !hvelv_noark5::validate::xmllint_available() {
            return;
        }
        // A schema set that refuses every journal: the built extract fails N5.03.
        let tmp = std::env::temp_dir().join(format!("hvelv-noark5-cli-i-{}", std::process::id()));
        let set = tmp.join("schemas");
        std::fs::create_dir_all(&set).unwrap();
        for e in std::fs::read_dir(s.join("schemas")).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, set.join(p.file_name().unwrap())).unwrap();
        }
        let x = set.join("loependeJournal.xsd");
        let text = std::fs::read_to_string(&x).unwrap();
        let broken = text.replacen(
            "<xs:element name=\"journalhode\" type=\"journalhode\"/>",
            "<xs:element name=\"journalhode\" type=\"journalhode\"/><xs:element name=\"x\"/>",
            1,
        );
        assert_ne!(broken, text);
        std::fs::write(&x, broken).unwrap();
        let out = tmp.join("uttrekk");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/noark5/jsonl-small");
        let a = parse(&[
            "t",
            "noark5",
            "extract",
            "--from-jsonl",
            src.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--schemas",
            set.to_str().unwrap(),
        ]);
        let code = run(a).unwrap();
        let (left, aside) = (out.exists(), tmp.join("uttrekk.invalid").is_dir());
        let _ = std::fs::remove_dir_all(&tmp);
        assert_eq!(code, FINDINGS);
        assert!(!left, "no extract with errors is left at the output path");
        assert!(aside, "it is kept aside for inspection");
    }

    #[test]
    fn bad_date_flag_is_a_clear_error() {
        let a = parse(&[
            "t",
            "noark5",
            "extract",
            "--from-jsonl",
            "x",
            "-o",
            "y",
            "--schemas",
            "/nonexistent",
            "--closed-from",
            "1.1.2023",
        ]);
        let e = run(a).unwrap_err().to_string();
        assert!(e.contains("schema") || e.contains("closed-from"), "{e}");
    }
}
