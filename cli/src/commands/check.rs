//! `hvelv check`

use anyhow::{Context, Result};
use hvelv_engine::ops::check::{check, Budget, CheckOptions, ReadData, Severity};

use crate::args::{CheckArgs, Global};
use crate::progress::Reporter;

pub async fn run(g: &Global, a: CheckArgs) -> Result<i32> {
    let read_data = match (&a.read_data_budget, a.read_data) {
        (Some(b), _) => ReadData::Budget(b.parse::<Budget>().context("--read-data-budget")?),
        (None, true) => ReadData::All,
        (None, false) => ReadData::None,
    };
    let repo = super::open_full(g, "check the repository").await?;
    let reporter = Reporter::new("verified", g.quiet, g.json);
    let opts = CheckOptions {
        read_data,
        max_paths: a.max_paths,
        ..CheckOptions::default()
    };
    let r = check(repo, &opts, reporter.clone()).await;
    reporter.finish();
    let report = r?;
    let errors = report.errors().count();
    let warnings = report.problems.len() - errors;
    if g.json {
        let mut v = serde_json::to_value(&report)?;
        v["clean"] = report.is_clean().into();
        super::print_json(&v)?;
    } else {
        if !g.quiet {
            println!(
                "checked {} snapshots, {} trees, {} data blobs, {} index files, {} packs ({})",
                report.snapshots,
                report.trees,
                report.data_blobs,
                report.index_files,
                report.packs,
                super::human(report.pack_bytes)
            );
        }
        for p in &report.problems {
            let level = match p.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            println!("{level}: {p}");
        }
        if let Some(c) = &report.read_data {
            let pct = |a: u64, b: u64| {
                if b == 0 {
                    100.0
                } else {
                    a as f64 * 100.0 / b as f64
                }
            };
            println!(
                "read data: {} packs ({}) verified this run; {} of {} packs ({} of {}, {:.0} %) have a clean verification on record{}",
                c.packs_verified,
                super::human(c.bytes_verified),
                c.packs_covered,
                c.packs_total,
                super::human(c.bytes_covered),
                super::human(c.bytes_total),
                pct(c.bytes_covered, c.bytes_total),
                c.oldest_verification
                    .as_deref()
                    .map(|t| format!(", the oldest from {t}"))
                    .unwrap_or_default()
            );
            if let (Some(b), Some(n)) = (c.budget_bytes, c.runs_for_full_coverage) {
                println!(
                    "at this budget ({} per run) the whole repository is verified every {n} runs",
                    super::human(b)
                );
            }
        }
        if report.problems.is_empty() {
            println!("no problems found");
        } else {
            println!("{errors} errors, {warnings} warnings");
        }
    }
    Ok(if errors > 0 {
        crate::exit::CORRUPT
    } else {
        crate::exit::OK
    })
}
