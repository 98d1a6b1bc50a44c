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
