//! `hvelv-corpus`: writes and mutates the deterministic benchmark corpus.
//!
//! ```text
//! hvelv-corpus gen DIR [--size-mb N] [--seed S]   # N MiB (default 2048), seed default 1
//! hvelv-corpus mutate DIR [--seed S]               # the "day 2" change, in place
//! ```
//!
//! Exit codes: 0 success, 1 I/O error, 2 usage error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use hvelv_benches::corpus::{self, CorpusSpec};

const USAGE: &str = "usage: hvelv-corpus gen DIR [--size-mb N] [--seed S]
       hvelv-corpus mutate DIR [--seed S]";

enum Command {
    Gen {
        dir: PathBuf,
        size_mb: u64,
        seed: u64,
    },
    Mutate {
        dir: PathBuf,
        seed: u64,
    },
}

fn parse(args: &[String]) -> Result<Command, String> {
    let (cmd, rest) = args.split_first().ok_or("missing command")?;
    let mut dir = None;
    let mut size_mb = None;
    let mut seed = 1;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| -> Result<u64, String> {
            let v = it.next().ok_or(format!("{name} needs a value"))?;
            v.parse().map_err(|_| format!("{name}: not a number: {v}"))
        };
        match a.as_str() {
            "--size-mb" => size_mb = Some(value("--size-mb")?),
            "--seed" => seed = value("--seed")?,
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            s if dir.is_none() => dir = Some(PathBuf::from(s)),
            s => return Err(format!("unexpected argument {s}")),
        }
    }
    let dir = dir.ok_or("missing DIR")?;
    match cmd.as_str() {
        "gen" => Ok(Command::Gen {
            dir,
            size_mb: size_mb.unwrap_or(2048),
            seed,
        }),
        "mutate" if size_mb.is_none() => Ok(Command::Mutate { dir, seed }),
        "mutate" => Err("mutate takes no --size-mb".into()),
        c => Err(format!("unknown command {c}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if matches!(args.first().map(String::as_str), Some("-h" | "--help")) {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let cmd = match parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hvelv-corpus: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let result = match &cmd {
        Command::Gen { dir, size_mb, seed } => {
            corpus::generate(dir, &CorpusSpec::from_mib(*size_mb, *seed)).map(|s| {
                let secs = start.elapsed().as_secs_f64();
                println!(
                    "hvelv-corpus: generated {} files, {} bytes ({:.1} MiB) in {} in {secs:.1} s ({:.0} MB/s)",
                    s.files,
                    s.bytes,
                    s.bytes as f64 / 1048576.0,
                    dir.display(),
                    s.bytes as f64 / 1e6 / secs.max(1e-3),
                );
            })
        }
        Command::Mutate { dir, seed } => corpus::mutate(dir, *seed).map(|r| {
            let renamed = r
                .renamed
                .as_ref()
                .map(|(a, b)| format!(", renamed {} -> {}", a.display(), b.display()))
                .unwrap_or_default();
            println!(
                "hvelv-corpus: mutated {} modified, {} added, {} deleted, dump +{} bytes, vm {} bytes overwritten{renamed}",
                r.modified, r.added, r.deleted, r.dump_appended, r.vm_overwritten
            );
            println!(
                "hvelv-corpus: tree now {} files, {} bytes ({:.1} MiB) in {}",
                r.tree.files,
                r.tree.bytes,
                r.tree.bytes as f64 / 1048576.0,
                dir.display()
            );
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hvelv-corpus: {e}");
            ExitCode::from(1)
        }
    }
}
