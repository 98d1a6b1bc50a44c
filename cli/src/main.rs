//! `hvelv`: encrypted, deduplicating backups and Noark 5 archives.
//!
//! This binary owns the runtime, argument parsing, password handling, progress rendering and
//! exit codes; all work is done by the `hvelv-engine` and `hvelv-noark5` libraries.

mod args;
mod commands;
mod exit;
mod password;
mod progress;

use clap::Parser;

fn main() {
    let cli = args::Cli::parse();
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
