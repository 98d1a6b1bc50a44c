//! Command-line syntax (clap derive). Every global option has an environment variable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Encrypted, deduplicating backups and Noark 5 archives.
#[derive(Debug, Parser)]
#[command(name = "hvelv", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options for every command.
#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Repository location (a local or SAN directory).
    #[arg(short = 'r', long = "repo", env = "HVELV_REPOSITORY", global = true)]
    pub repo: Option<String>,
    /// Read the password from this file (first line).
    #[arg(long, env = "HVELV_PASSWORD_FILE", global = true)]
    pub password_file: Option<PathBuf>,
    /// Run this shell command and use the first line of its output as the password.
    #[arg(long, env = "HVELV_PASSWORD_COMMAND", global = true)]
    pub password_command: Option<String>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    /// Less output: no progress.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More log output (repeat for more).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new repository.
    Init(InitArgs),
    /// Back up files and directories into a new snapshot.
    Backup(BackupArgs),
    /// List snapshots.
    Snapshots(SnapshotsArgs),
    /// List the files in a snapshot.
    Ls(LsArgs),
    /// Restore a snapshot, a folder or a file.
    Restore(RestoreArgs),
    /// Manage the repository's passwords.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Check the repository: structure, and with --read-data(-budget) every blob's content.
    Check(CheckArgs),
    /// Repair the index or snapshots after damage found by `check`.
    #[command(subcommand)]
    Repair(RepairCommand),
    /// Noark 5 archive extracts: build, validate, identify document formats.
    Noark5(crate::commands::noark5::Noark5Args),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Minimum chunk size (bytes, or with K/M suffix).
    #[arg(long, default_value = "512K", value_parser = parse_size)]
    pub chunk_min: u64,
    /// Average chunk size (a power of two).
    #[arg(long, default_value = "1M", value_parser = parse_size)]
    pub chunk_avg: u64,
    /// Maximum chunk size.
    #[arg(long, default_value = "8M", value_parser = parse_size)]
    pub chunk_max: u64,
    /// Target pack file size.
    #[arg(long, default_value = "16M", value_parser = parse_size)]
    pub pack_size: u64,
    /// zstd compression level (0 disables compression, 1-22).
    #[arg(long, default_value_t = 3)]
    pub compression: i32,
    /// Argon2id memory for the key file, in MiB.
    #[arg(long, default_value_t = 64)]
    pub kdf_memory: u32,
    /// Argon2id passes for the key file.
    #[arg(long, default_value_t = 3)]
    pub kdf_passes: u32,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Files and directories to back up.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Tag the snapshot (repeatable).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Host name recorded in the snapshot (default: this machine's).
    #[arg(long, env = "HVELV_HOST")]
    pub host: Option<String>,
    /// Exclude entries matching a glob pattern (repeatable; `*.tmp`, `/srv/share/cache`).
    #[arg(long = "exclude", short = 'e')]
    pub excludes: Vec<String>,
    /// Read exclude patterns from a file (one per line, `#` comments).
    #[arg(long = "exclude-file")]
    pub exclude_files: Vec<PathBuf>,
    /// Do not cross file system boundaries.
    #[arg(short = 'x', long)]
    pub one_file_system: bool,
    /// Parent snapshot for change detection (default: latest of this host and paths).
    #[arg(long, conflicts_with = "force")]
    pub parent: Option<String>,
    /// Read every file, ignoring the parent snapshot.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SnapshotsArgs {
    /// Only snapshots of this host.
    #[arg(long)]
    pub host: Option<String>,
    /// Only snapshots with this tag.
    #[arg(long)]
    pub tag: Option<String>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Snapshot id (or prefix) or `latest`.
    pub snapshot: String,
    /// Only this path within the snapshot.
    pub path: Option<String>,
    /// Long listing: type, mode, owner, size, time.
    #[arg(short, long)]
    pub long: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// `SNAPSHOT` or `SNAPSHOT:/path/in/snapshot` (`latest` allowed).
    pub snapshot: String,
    /// Directory to restore into (created if missing).
    #[arg(long, short = 't')]
    pub target: PathBuf,
    /// Restore only entries matching a glob (repeatable).
    #[arg(long = "include", short = 'i')]
    pub includes: Vec<String>,
    /// Skip entries matching a glob (repeatable).
    #[arg(long = "exclude", short = 'e')]
    pub excludes: Vec<String>,
    /// Restore numeric owner ids instead of mapping user and group names.
    #[arg(long)]
    pub numeric_ids: bool,
    /// With `latest`: the newest snapshot of this host.
    #[arg(long)]
    pub host: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Read every pack and authenticate every blob.
    #[arg(long, conflicts_with = "read_data_budget")]
    pub read_data: bool,
    /// Read only this much per run (`2G`, `500M`, `10%`), packs verified longest ago first;
    /// what was verified when is recorded in the repository.
    #[arg(long, value_name = "SIZE|PERCENT")]
    pub read_data_budget: Option<String>,
    /// Longest list of affected paths shown per problem.
    #[arg(long, default_value_t = 20)]
    pub max_paths: usize,
}

#[derive(Debug, Subcommand)]
pub enum RepairCommand {
    /// Rebuild the index from the headers of every pack (replaces all index files).
    Index {
        /// Only report what would be done.
        #[arg(long, short = 'n')]
        dry_run: bool,
    },
    /// Rewrite snapshots that reference lost data, leaving the lost files out.
    Snapshots {
        /// Only report what would change.
        #[arg(long, short = 'n')]
        dry_run: bool,
        /// Remove each damaged original once its repaired version is stored.
        #[arg(long)]
        forget: bool,
        /// Read every pack to find damaged blobs as well (not only missing ones).
        #[arg(long)]
        read_data: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Add a password (asks for the new one, or reads --new-password-file).
    Add {
        /// File holding the new password.
        #[arg(long)]
        new_password_file: Option<PathBuf>,
    },
}

/// Parse `123`, `64K`, `16M`, `1G` (binary units).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'B' => 1,
                _ => return Err(format!("{s:?}: unknown unit {c:?} (use K, M or G)")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 512K, 16M)"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}
