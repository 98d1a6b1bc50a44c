//! `hvelv`: encrypted, deduplicating backups and Noark 5 archives.
//!
//! This binary owns the runtime, argument parsing, password handling, progress rendering and
//! exit codes; all work is done by the `hvelv-engine` and `hvelv-noark5` libraries.

mod args;
mod commands;
mod config;
mod exit;
mod nightly;
mod password;
mod progress;

use clap::Parser;

fn main() {
    limit_malloc_arenas();
    // The config file supplies defaults through the environment variables of the options, so it
    // must be read before the arguments are parsed.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let config_error = match config::locate(&argv).map(|(p, _)| config::load(&p)) {
        Some(Ok(c)) => {
            c.apply_as_env_defaults();
            None
        }
        Some(Err(e)) => Some(e),
        None => None,
    };
    let cli = args::Cli::parse_from(&argv);
    if let Some(e) = config_error {
        if !matches!(cli.command, args::Command::Config(_)) {
            std::process::exit(exit::report(&e));
        }
    }
    if let args::Command::Archive(commands::archive::ArchiveArgs {
        command: commands::archive::ArchiveCommand::IngestHealth(i),
        ..
    }) = &cli.command
    {
        // Secure zone: temporary files of child processes (xmllint) stay in the workdir. Set
        // before any thread exists.
        if let Ok(w) = std::path::absolute(&i.workdir) {
            std::env::set_var("TMPDIR", w.join("tmp"));
        }
    }
    let filter = match cli.global.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HVELV_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .init();
    let code = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => match rt.block_on(commands::run(cli)) {
            Ok(code) => code,
            Err(e) => exit::report(&e),
        },
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            exit::FATAL
        }
    };
    std::process::exit(code);
}

/// One malloc arena instead of glibc's default of eight per core. The backup pipeline
/// allocates chunk-sized buffers (0.5–8 MiB) on one thread and frees them on another; with an
/// arena per thread, freed space in one arena cannot serve the next thread's allocation, and
/// the peak RSS of a 2 GiB initial backup was about 130 MiB instead of about 100 MiB
/// (`benches/README.md`). Allocations are per chunk, not per byte, so the shared lock costs
/// nothing measurable. Must run before any thread starts.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
