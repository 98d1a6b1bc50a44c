//! Command-line syntax (clap derive). Every global option has an environment variable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use hvelv_engine::ops::forget::{Count, GroupBy, KeepPolicy, Span};

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
    /// Configuration file (default /etc/hvelv/hvelv.toml when it exists); its settings are
    /// defaults below flags and environment variables.
    #[arg(long, env = "HVELV_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More log output (repeat for more).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// S3 endpoint `http(s)://HOST[:PORT]` for locations written `s3:BUCKET[/PREFIX]` (a location
    /// with its own endpoint keeps it).
    #[arg(long, env = "HVELV_S3_ENDPOINT", global = true, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// S3 region (default: AWS_REGION, else us-east-1).
    #[arg(long, env = "HVELV_S3_REGION", global = true, value_name = "REGION")]
    pub s3_region: Option<String>,
    /// Allow a plain-HTTP S3 endpoint on another machine (loopback needs no permission).
    #[arg(long, env = "HVELV_S3_ALLOW_HTTP", global = true)]
    pub s3_allow_http: bool,
    /// AWS shared-credentials file with the S3 keys (instead of AWS_ACCESS_KEY_ID/
    /// AWS_SECRET_ACCESS_KEY); keep it readable by root only.
    #[arg(
        long,
        env = "HVELV_S3_CREDENTIALS_FILE",
        global = true,
        value_name = "FILE"
    )]
    pub s3_credentials_file: Option<PathBuf>,
    /// Profile (section) of --s3-credentials-file (default: default).
    #[arg(
        long,
        env = "HVELV_S3_PROFILE",
        global = true,
        value_name = "NAME",
        requires = "s3_credentials_file"
    )]
    pub s3_profile: Option<String>,
}

impl Global {
    /// The S3 settings given by flags, environment or configuration file.
    pub fn s3_settings(&self) -> hvelv_engine::backend::S3Settings {
        hvelv_engine::backend::S3Settings {
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            allow_http: self.s3_allow_http,
            credentials_file: self.s3_credentials_file.clone(),
            profile: self.s3_profile.clone(),
        }
    }
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
    /// Show what changed between two snapshots (+ added, - removed, M modified, U metadata, T type).
    Diff(DiffArgs),
    /// Copy snapshots from another repository (only missing data is sent).
    Copy(CopyArgs),
    /// Delete data no snapshot needs (run after `forget`); never blocks running backups.
    Prune(PruneArgs),
    /// Remove snapshots by a retention policy (--keep-*) or by id; `hvelv prune` frees the space.
    Forget(ForgetArgs),
    /// Protect snapshots from `forget` until `unprotect`.
    Protect(ProtectArgs),
    /// Lift the protection of snapshots.
    Unprotect(ProtectArgs),
    /// Check the configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
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
    /// The archive store: deposit packages kept as archive snapshots, with fixity proven.
    Archive(crate::commands::archive::ArchiveArgs),
    /// Run configured jobs: backup, retention, offsite copy, verification, restore drill.
    Run(RunArgs),
    /// Install or show systemd timers (or cron lines) for the configured jobs.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Jobs to run (`[jobs.NAME]` in the configuration file), one after the other.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub jobs: Vec<String>,
    /// Run every configured job.
    #[arg(long)]
    pub all: bool,
    /// Folder for job locks, state and reports (default: `[run] state_dir`, else
    /// /var/lib/hvelv as root, else $XDG_STATE_HOME/hvelv).
    #[arg(long, env = "HVELV_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Write a service and a timer unit per scheduled job and enable the timers (with
    /// --unit-dir: only write them); where systemd is absent, a cron file instead.
    Install {
        /// User units (~/.config/systemd/user, `systemctl --user`) instead of system units.
        #[arg(long)]
        user: bool,
        /// Write the units into this folder and do not run systemctl.
        #[arg(long, value_name = "DIR", conflicts_with = "cron")]
        unit_dir: Option<PathBuf>,
        /// Write cron lines even where systemd runs.
        #[arg(long)]
        cron: bool,
        /// Cron file to write (default /etc/cron.d/hvelv as root; otherwise the lines are printed).
        #[arg(long, value_name = "FILE")]
        cron_file: Option<PathBuf>,
    },
    /// Print the installed units (and timer states) or cron file.
    Show {
        /// User units.
        #[arg(long)]
        user: bool,
        /// Folder the units were written to.
        #[arg(long, value_name = "DIR")]
        unit_dir: Option<PathBuf>,
        /// Cron file (default /etc/cron.d/hvelv).
        #[arg(long, value_name = "FILE")]
        cron_file: Option<PathBuf>,
    },
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
    /// Instead of a password, generate a 256-bit secret into this new file (mode 0600) and
    /// make the first key open only with it, without Argon2id (see `key add --generate-key`).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["kdf_memory", "kdf_passes"])]
    pub generate_key: Option<PathBuf>,
    /// Use the chunker parameters and keys of this repository, so `hvelv copy` from it keeps
    /// deduplication (its password: --from-password-file/-command, HVELV_FROM_PASSWORD*).
    #[arg(long, value_name = "REPO", conflicts_with_all = ["chunk_min", "chunk_avg", "chunk_max"])]
    pub copy_chunker_params_from: Option<String>,
    /// WORM: give every file a S3 Object Lock retention of at least DAYS days (the bucket must
    /// have Object Lock enabled); recorded in the repository, so every client follows it.
    #[arg(long, value_name = "DAYS", env = "HVELV_OBJECT_LOCK_DAYS", value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub object_lock_days: Option<u32>,
    /// Retention mode with --object-lock-days: compliance (nobody can shorten it) or
    /// governance (holders of s3:BypassGovernanceRetention can).
    #[arg(long, value_name = "MODE", env = "HVELV_OBJECT_LOCK_MODE", default_value = "compliance", value_parser = ["compliance", "governance"])]
    pub object_lock_mode: String,
    #[command(flatten)]
    pub from: FromPassword,
}

/// Password of a second repository (the source of `copy`, or of `init --copy-chunker-params-from`).
#[derive(Debug, Args, Clone)]
pub struct FromPassword {
    /// File whose first line is the source repository's password.
    #[arg(long, env = "HVELV_FROM_PASSWORD_FILE")]
    pub from_password_file: Option<PathBuf>,
    /// Command printing the source repository's password.
    #[arg(long, env = "HVELV_FROM_PASSWORD_COMMAND")]
    pub from_password_command: Option<String>,
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Source repository.
    #[arg(long, value_name = "REPO")]
    pub from: String,
    #[command(flatten)]
    pub from_password: FromPassword,
    /// Target repository (default: -r/--repo, HVELV_REPOSITORY; its password as usual).
    #[arg(long, value_name = "REPO")]
    pub to: Option<String>,
    /// Snapshots to copy (ids, prefixes or `latest`); default with --all/--tag/--host: all matching.
    pub snapshots: Vec<String>,
    /// Copy every snapshot of the source.
    #[arg(long, conflicts_with = "snapshots")]
    pub all: bool,
    /// Only snapshots with this tag (repeatable: any of them).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Only snapshots of this host.
    #[arg(long)]
    pub host: Option<String>,
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
    /// Directory for the local files cache that put-only keys use to skip unchanged files
    /// (they cannot read the parent snapshot). Default: $XDG_CACHE_HOME/hvelv, ~/.cache/hvelv,
    /// or /var/cache/hvelv for root.
    #[arg(long, env = "HVELV_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
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
pub struct DiffArgs {
    /// The earlier snapshot (id, prefix or `latest`).
    pub from: String,
    /// The later snapshot.
    pub to: String,
    /// Print only the summary.
    #[arg(long)]
    pub stat: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Show what would be deleted and repacked, change nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Repack packs with more than this share unused (percent).
    #[arg(long, default_value = "20%", value_parser = parse_percent)]
    pub repack_unused: f64,
    /// Repack at most this much pack data in one run (e.g. 10G).
    #[arg(long, value_parser = parse_size)]
    pub max_repack: Option<u64>,
    /// Wait up to this long (e.g. 30m) for running backups so that deletion happens in this
    /// run; by default deletion waiting for backups is left to the next prune.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub wait: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// Snapshots to remove (ids or prefixes); without them the --keep-* policy decides.
    #[arg(value_name = "SNAPSHOT")]
    pub snapshots: Vec<String>,
    /// Keep the N newest snapshots (-1: all).
    #[arg(short = 'l', long, value_name = "N", allow_negative_numbers = true, value_parser = parse_count)]
    pub keep_last: Option<Count>,
    /// Keep the newest snapshot of each of the N newest hours (-1: all).
    #[arg(short = 'H', long, value_name = "N", allow_negative_numbers = true, value_parser = parse_count)]
    pub keep_hourly: Option<Count>,
    /// Keep the newest snapshot of each of the N newest days (-1: all).
    #[arg(short = 'd', long, value_name = "N", allow_negative_numbers = true, value_parser = parse_count)]
    pub keep_daily: Option<Count>,
    /// Keep the newest snapshot of each of the N newest ISO weeks (-1: all).
    #[arg(short = 'w', long, value_name = "N", allow_negative_numbers = true, value_parser = parse_count)]
    pub keep_weekly: Option<Count>,
    /// Keep the newest snapshot of each of the N newest months (-1: all).
    #[arg(short = 'm', long, value_name = "N", allow_negative_numbers = true, value_parser = parse_count)]
    pub keep_monthly: Option<Count>,
    /// Keep the newest snapshot of each of the N newest years (-1: all).
    #[arg(short = 'y', long, value_name = "N", allow_negative_numbers = true, value_parser = parse_count)]
    pub keep_yearly: Option<Count>,
    /// Keep every snapshot within SPAN (e.g. 2y5m7d3h) of the group's newest.
    #[arg(long, value_name = "SPAN", value_parser = parse_span)]
    pub keep_within: Option<Span>,
    /// Keep the newest snapshot of each hour within SPAN of the group's newest.
    #[arg(long, value_name = "SPAN", value_parser = parse_span)]
    pub keep_within_hourly: Option<Span>,
    /// Keep the newest snapshot of each day within SPAN of the group's newest.
    #[arg(long, value_name = "SPAN", value_parser = parse_span)]
    pub keep_within_daily: Option<Span>,
    /// Keep the newest snapshot of each ISO week within SPAN of the group's newest.
    #[arg(long, value_name = "SPAN", value_parser = parse_span)]
    pub keep_within_weekly: Option<Span>,
    /// Keep the newest snapshot of each month within SPAN of the group's newest.
    #[arg(long, value_name = "SPAN", value_parser = parse_span)]
    pub keep_within_monthly: Option<Span>,
    /// Keep the newest snapshot of each year within SPAN of the group's newest.
    #[arg(long, value_name = "SPAN", value_parser = parse_span)]
    pub keep_within_yearly: Option<Span>,
    /// Keep every snapshot with this tag (repeatable: any of them).
    #[arg(long = "keep-tag", value_name = "TAG")]
    pub keep_tags: Vec<String>,
    /// Apply the policy per group of these fields: host, paths, tags (comma-separated; "" = one group).
    #[arg(long, value_name = "FIELDS", default_value = "host,paths", value_parser = parse_group_by)]
    pub group_by: GroupBy,
    /// Only consider snapshots of this host (repeatable).
    #[arg(long)]
    pub host: Vec<String>,
    /// Only consider snapshots with this tag (repeatable: any of them).
    #[arg(long)]
    pub tag: Vec<String>,
    /// Print what would be removed; change nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

impl ForgetArgs {
    /// The retention policy from the --keep-* options.
    pub fn policy(&self) -> KeepPolicy {
        let c = |v: Option<Count>| v.unwrap_or(Count::Upto(0));
        KeepPolicy {
            last: c(self.keep_last),
            hourly: c(self.keep_hourly),
            daily: c(self.keep_daily),
            weekly: c(self.keep_weekly),
            monthly: c(self.keep_monthly),
            yearly: c(self.keep_yearly),
            within: self.keep_within,
            within_hourly: self.keep_within_hourly,
            within_daily: self.keep_within_daily,
            within_weekly: self.keep_within_weekly,
            within_monthly: self.keep_within_monthly,
            within_yearly: self.keep_within_yearly,
            tags: self.keep_tags.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct ProtectArgs {
    /// Snapshot ids (or prefixes) or `latest`.
    #[arg(required = true, value_name = "SNAPSHOT")]
    pub snapshots: Vec<String>,
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
pub enum ConfigCommand {
    /// Parse the file (unknown keys are errors naming the line) and check the paths it names.
    Check {
        /// The file (default: --config, HVELV_CONFIG, /etc/hvelv/hvelv.toml).
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// List the key files; `*` marks the one the given password opened.
    List,
    /// Add a password (asks for the new one, or reads --new-password-file).
    Add {
        /// File holding the new password.
        #[arg(long)]
        new_password_file: Option<PathBuf>,
        /// Instead of a password, generate a 256-bit secret into this new file (mode 0600)
        /// and make a key that opens only with it, without Argon2id: unattended jobs open
        /// the repository at no key-derivation cost in time or memory. Give the file with
        /// --password-file. Guard it like the repository password. See docs/SECURITY.md.
        #[arg(long, value_name = "FILE", conflicts_with = "new_password_file")]
        generate_key: Option<PathBuf>,
        /// Make a put-only key for a backup client: it can run `backup` (with deduplication
        /// against the whole repository) and nothing else; it cannot read, list or delete
        /// anything, not even its own earlier backups. See docs/SECURITY.md.
        #[arg(long)]
        put_only: bool,
        /// A name for the key shown by `key list` (e.g. the client's host name).
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Remove a key file (not the last one, not the one in use). Removing a put-only key
    /// revokes that client: its password opens nothing any more.
    Remove {
        /// Key id or prefix from `hvelv key list`.
        id: String,
    },
    /// Change the password: add a key for the new one, then remove the current key.
    Passwd {
        /// File holding the new password.
        #[arg(long)]
        new_password_file: Option<PathBuf>,
    },
}

fn parse_count(s: &str) -> Result<Count, String> {
    s.parse().map_err(|e: hvelv_engine::Error| e.to_string())
}

fn parse_span(s: &str) -> Result<Span, String> {
    s.parse().map_err(|e: hvelv_engine::Error| e.to_string())
}

fn parse_group_by(s: &str) -> Result<GroupBy, String> {
    s.parse().map_err(|e: hvelv_engine::Error| e.to_string())
}

/// Parse `20%` or `20` as a fraction (0.2).
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim().trim_end_matches('%');
    let v: f64 = t
        .parse()
        .map_err(|_| format!("{s:?} is not a percentage (e.g. 20%)"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("{s:?} is not between 0% and 100%"));
    }
    Ok(v / 100.0)
}

/// Parse `90s`, `30m`, `2h`, `1d` or plain seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c {
                's' => 1u64,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                _ => return Err(format!("{s:?}: unknown unit {c:?} (use s, m, h or d)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 30m)"))?;
    n.checked_mul(mult)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is too long"))
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
