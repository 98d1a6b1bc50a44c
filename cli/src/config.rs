//! The configuration file: defaults for options that would otherwise come from flags or the
//! environment (precedence: flag, then environment variable, then this file), and the nightly
//! sections `[run]`, `[repositories.NAME]` and `[jobs.NAME]` (types and validation in
//! [`crate::nightly::config`]).
//!
//! Located by `--config FILE`, else `HVELV_CONFIG`, else `/etc/hvelv/hvelv.toml` when it exists.
//! Unknown keys are errors that name the line. Secrets never live in the file: only the path of
//! a password file or a command that prints the password. `docs/hvelv.example.toml` documents
//! every key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// Default location when neither `--config` nor `HVELV_CONFIG` is given.
pub const DEFAULT_PATH: &str = "/etc/hvelv/hvelv.toml";

/// The file's content.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The repository used when `-r`/`HVELV_REPOSITORY` is not given.
    #[serde(default)]
    pub repository: RepositorySection,
    /// S3 connection settings (never secrets: a credentials file's path at most).
    #[serde(default)]
    pub s3: S3Section,
    /// Noark 5 settings.
    #[serde(default)]
    pub noark5: Noark5Section,
    /// Where nightly runs keep state, reports and metrics.
    #[serde(default)]
    pub run: crate::nightly::config::RunSection,
    /// Named repositories for jobs.
    #[serde(default)]
    pub repositories: BTreeMap<String, crate::nightly::config::NamedRepository>,
    /// Nightly jobs.
    #[serde(default)]
    pub jobs: BTreeMap<String, crate::nightly::config::Job>,
}

/// `[s3]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Section {
    /// Endpoint for `s3:BUCKET` locations.
    pub endpoint: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Allow a plain-HTTP endpoint on another machine.
    pub allow_http: Option<bool>,
    /// AWS shared-credentials file.
    pub credentials_file: Option<PathBuf>,
    /// Its profile.
    pub profile: Option<String>,
}

/// `[repository]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepositorySection {
    /// Location: a directory or `s3:…`.
    pub location: Option<String>,
    /// File whose first line is the password.
    pub password_file: Option<PathBuf>,
    /// Command printing the password.
    pub password_command: Option<String>,
    /// Host name recorded in snapshots.
    pub host: Option<String>,
    /// `init`: S3 Object Lock retention in days (WORM).
    pub object_lock_days: Option<u32>,
    /// `init`: Object Lock mode, `compliance` or `governance`.
    pub object_lock_mode: Option<String>,
}

/// `[noark5]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Noark5Section {
    /// Official Noark 5 v5.0 schema folder.
    pub schemas: Option<PathBuf>,
    /// Official Noark 5 v3.1 schema folder.
    pub schemas_v31: Option<PathBuf>,
    /// Official Noark 5 v4.0 schema folder.
    pub schemas_v40: Option<PathBuf>,
    /// Legal basis of the screening of health exports.
    pub skjermingshjemmel: Option<String>,
}

/// The config file named on the command line or in the environment, or the default one if it
/// exists. `Some((path, explicit))`.
pub fn locate(argv: &[std::ffi::OsString]) -> Option<(PathBuf, bool)> {
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--" {
            break;
        }
        if s == "--config" {
            return it.next().map(|p| (PathBuf::from(p), true));
        }
        if let Some(p) = s.strip_prefix("--config=") {
            return Some((PathBuf::from(p), true));
        }
    }
    if let Some(p) = std::env::var_os("HVELV_CONFIG").filter(|p| !p.is_empty()) {
        return Some((PathBuf::from(p), true));
    }
    let d = PathBuf::from(DEFAULT_PATH);
    d.exists().then_some((d, false))
}

/// Read and parse a config file; relative paths in it are taken relative to its folder.
pub fn load(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    let mut c: Config = toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "config file {}: {}",
            path.display(),
            e.to_string().trim_end()
        )
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    for p in [
        &mut c.repository.password_file,
        &mut c.s3.credentials_file,
        &mut c.noark5.schemas,
        &mut c.noark5.schemas_v31,
        &mut c.noark5.schemas_v40,
    ]
    .into_iter()
    .flatten()
    {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    }
    crate::nightly::config::absolutize_paths(base, &mut c.run, &mut c.repositories, &mut c.jobs);
    Ok(c)
}

impl Config {
    /// The environment variable each setting stands in for, with its value.
    fn as_env(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        let mut put = |k: &'static str, val: Option<String>| {
            if let Some(val) = val {
                v.push((k, val));
            }
        };
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.to_string_lossy().into_owned());
        put("HVELV_REPOSITORY", self.repository.location.clone());
        put("HVELV_PASSWORD_FILE", path(&self.repository.password_file));
        put(
            "HVELV_PASSWORD_COMMAND",
            self.repository.password_command.clone(),
        );
        put("HVELV_HOST", self.repository.host.clone());
        put(
            "HVELV_OBJECT_LOCK_DAYS",
            self.repository.object_lock_days.map(|d| d.to_string()),
        );
        put(
            "HVELV_OBJECT_LOCK_MODE",
            self.repository.object_lock_mode.clone(),
        );
        put("HVELV_S3_ENDPOINT", self.s3.endpoint.clone());
        put("HVELV_S3_REGION", self.s3.region.clone());
        put(
            "HVELV_S3_ALLOW_HTTP",
            self.s3.allow_http.filter(|a| *a).map(|_| "true".to_owned()),
        );
        put("HVELV_S3_CREDENTIALS_FILE", path(&self.s3.credentials_file));
        put("HVELV_S3_PROFILE", self.s3.profile.clone());
        put("HVELV_NOARK5_SCHEMAS", path(&self.noark5.schemas));
        put("HVELV_NOARK5_SCHEMAS_V31", path(&self.noark5.schemas_v31));
        put("HVELV_NOARK5_SCHEMAS_V40", path(&self.noark5.schemas_v40));
        put(
            "HVELV_NOARK5_SKJERMINGSHJEMMEL",
            self.noark5.skjermingshjemmel.clone(),
        );
        v
    }

    /// Make every setting the default of its option: set its environment variable unless the
    /// environment already sets it (flags override both). Call before any thread starts.
    pub fn apply_as_env_defaults(&self) {
        let password_in_env = [
            "HVELV_PASSWORD_FILE",
            "HVELV_PASSWORD_COMMAND",
            "HVELV_PASSWORD",
        ]
        .iter()
        .any(|k| std::env::var_os(k).is_some());
        for (k, v) in self.as_env() {
            // A password source given in the environment replaces the file's, whichever kind.
            if password_in_env && k.starts_with("HVELV_PASSWORD") {
                continue;
            }
            if std::env::var_os(k).is_none() {
                std::env::set_var(k, v);
            }
        }
    }

    /// Problems a run would meet: missing files and folders the file names.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(p) = &self.repository.password_file {
            if !p.is_file() {
                out.push(format!(
                    "[repository] password_file {} does not exist",
                    p.display()
                ));
            }
        }
        if let Some(m) = &self.repository.object_lock_mode {
            if hvelv_engine::backend::LockMode::parse(m).is_err() {
                out.push(format!(
                    "[repository] object_lock_mode {m:?}: use \"compliance\" or \"governance\""
                ));
            }
        }
        if self.repository.object_lock_days == Some(0) {
            out.push("[repository] object_lock_days must be at least 1".to_owned());
        }
        if let Some(f) = &self.s3.credentials_file {
            if let Err(e) = hvelv_engine::backend::read_credentials_file(
                f,
                self.s3.profile.as_deref().unwrap_or("default"),
            ) {
                out.push(format!("[s3] credentials_file: {e}"));
            }
        }
        if self.repository.password_file.is_some() && self.repository.password_command.is_some() {
            out.push("[repository] give password_file or password_command, not both".to_owned());
        }
        for (key, dir) in [
            ("schemas", &self.noark5.schemas),
            ("schemas_v31", &self.noark5.schemas_v31),
            ("schemas_v40", &self.noark5.schemas_v40),
        ] {
            if let Some(d) = dir {
                if !d.join("arkivstruktur.xsd").is_file() {
                    out.push(format!(
                        "[noark5] {key} {} holds no arkivstruktur.xsd: give the folder of the \
                         official schema set published by Arkivverket",
                        d.display()
                    ));
                }
            }
        }
        for (name, r) in &self.repositories {
            out.extend(crate::nightly::config::repository_problems(name, r));
        }
        for (name, j) in &self.jobs {
            if let Err(p) = crate::nightly::config::plan_job(name, j, &self.repositories) {
                out.extend(p);
            }
            out.extend(crate::nightly::config::source_problems(name, j));
        }
        out
    }
}

/// `hvelv config check`: parse the file and report what a run would trip over.
pub fn check(path: Option<&Path>) -> Result<i32> {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let (path, _) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => match locate(&argv) {
            Some(x) => x,
            None => bail!(
                "no config file: give one (`hvelv config check FILE`, --config, HVELV_CONFIG) or \
                 create {DEFAULT_PATH}; docs/hvelv.example.toml shows every key"
            ),
        },
    };
    let c = load(&path)?;
    let problems = c.problems();
    if problems.is_empty() {
        println!("{}: OK", path.display());
        for (k, v) in c.as_env() {
            println!("  {k} = {v}");
        }
        for (name, r) in &c.repositories {
            println!("  repository {name}: {}", r.location);
        }
        for (name, j) in &c.jobs {
            println!(
                "  job {name}: {} -> {}{}{}",
                j.sources
                    .iter()
                    .map(|s| s.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                j.repository.as_deref().unwrap_or("[repository]"),
                match crate::nightly::config::plan_job(name, j, &c.repositories) {
                    Ok(p) if !p.copy_to.is_empty() => format!(
                        ", copied to {}",
                        p.copy_to
                            .iter()
                            .map(|r| r.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    _ => String::new(),
                },
                j.schedule
                    .as_deref()
                    .map(|s| format!(", schedule {s}"))
                    .unwrap_or_default()
            );
        }
        Ok(crate::exit::OK)
    } else {
        for p in &problems {
            eprintln!("{}: {p}", path.display());
        }
        Ok(crate::exit::FATAL)
    }
}

/// A per-user folder of hvelv's: `system` as root, else `$XDG_VAR/hvelv`, else `~/home_sub`.
pub fn default_dir(system: &str, xdg_var: &str, home_sub: &str) -> std::path::PathBuf {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return system.into();
    }
    if let Some(x) = std::env::var_os(xdg_var).filter(|x| !x.is_empty()) {
        return std::path::PathBuf::from(x).join("hvelv");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
    std::path::PathBuf::from(home).join(home_sub)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[noark5]\nschemas = \"s\"\nschemaz = \"x\"\n").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("schemaz"), "{e}");
        std::fs::write(
            &p,
            "[repository]\nlocation = \"/srv/repo\"\npassword_file = \"pw\"\n",
        )
        .unwrap();
        let c = load(&p).unwrap();
        assert_eq!(c.repository.password_file, Some(dir.path().join("pw")));
        assert_eq!(c.problems().len(), 1, "{:?}", c.problems());
    }

    #[test]
    fn s3_section_and_object_lock_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "[repository]\nobject_lock_days = 30\nobject_lock_mode = \"governance\"\n\
             [s3]\nendpoint = \"https://s3.example.no\"\nregion = \"no-1\"\n\
             credentials_file = \"creds\"\nprofile = \"offsite\"\n",
        )
        .unwrap();
        let c = load(&p).unwrap();
        let env = c.as_env();
        assert!(
            env.contains(&("HVELV_OBJECT_LOCK_DAYS", "30".to_owned())),
            "{env:?}"
        );
        assert!(
            env.contains(&("HVELV_S3_REGION", "no-1".to_owned())),
            "{env:?}"
        );
        assert_eq!(c.s3.credentials_file, Some(dir.path().join("creds")));
        // The credentials file is missing: named as a problem.
        assert!(
            c.problems()
                .iter()
                .any(|p| p.contains("[s3] credentials_file")),
            "{:?}",
            c.problems()
        );
        // Secrets are not settings.
        std::fs::write(&p, "[s3]\nsecret_access_key = \"x\"\n").unwrap();
        assert!(load(&p)
            .unwrap_err()
            .to_string()
            .contains("secret_access_key"));
        std::fs::write(&p, "[repository]\nobject_lock_mode = \"strict\"\n").unwrap();
        assert_eq!(load(&p).unwrap().problems().len(), 1);
    }

    #[test]
    fn config_flag_wins_over_environment() {
        let argv: Vec<std::ffi::OsString> = ["hvelv", "--config", "/x.toml", "snapshots"]
            .iter()
            .map(Into::into)
            .collect();
        assert_eq!(locate(&argv), Some((PathBuf::from("/x.toml"), true)));
        let argv: Vec<std::ffi::OsString> = ["hvelv", "--config=/y.toml"]
            .iter()
            .map(Into::into)
            .collect();
        assert_eq!(locate(&argv), Some((PathBuf::from("/y.toml"), true)));
    }
}
