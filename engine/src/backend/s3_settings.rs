//! S3 connection settings that come from flags or the configuration file rather than the
//! location string: endpoint (for `s3:BUCKET` locations), region, permission to use plain HTTP,
//! and credentials from an AWS shared-credentials file. Secrets are never settings: only the
//! path of a file that holds them (or the standard `AWS_*` environment).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{DynBackend, S3Backend, S3Location, S3Options};
use crate::error::{Error, Result};

/// S3 settings beyond the location; everything optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    /// `http(s)://HOST[:PORT]` for locations of the form `s3:BUCKET[/PREFIX]` (a location with
    /// its own endpoint keeps it).
    pub endpoint: Option<String>,
    /// Region (overrides `AWS_REGION`).
    pub region: Option<String>,
    /// Allow an `http://` endpoint that is not on the loopback interface.
    pub allow_http: bool,
    /// AWS shared-credentials file (INI: `[profile]` sections with `aws_access_key_id`,
    /// `aws_secret_access_key`, optional `aws_session_token`); its keys replace the `AWS_*`
    /// credential variables.
    pub credentials_file: Option<PathBuf>,
    /// Section of `credentials_file` (default `default`).
    pub profile: Option<String>,
}

/// `(access key id, secret, session token)` of `profile` in an AWS shared-credentials file.
pub fn read_credentials_file(
    path: &Path,
    profile: &str,
) -> Result<(String, String, Option<String>)> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::io(
            format!("reading the S3 credentials file {}", path.display()),
            e,
        )
    })?;
    let mut section = None;
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim();
            section = Some(
                name.strip_prefix("profile ")
                    .unwrap_or(name)
                    .trim()
                    .to_owned(),
            );
            continue;
        }
        if section.as_deref() != Some(profile) {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().to_owned();
            match k.trim().to_ascii_lowercase().as_str() {
                "aws_access_key_id" => id = Some(v),
                "aws_secret_access_key" => secret = Some(v),
                "aws_session_token" => token = Some(v),
                _ => {}
            }
        }
    }
    match (id, secret) {
        (Some(i), Some(s)) if !i.is_empty() && !s.is_empty() => Ok((i, s, token)),
        _ => Err(Error::invalid(format!(
            "the S3 credentials file {} has no profile [{profile}] with aws_access_key_id and \
             aws_secret_access_key",
            path.display()
        ))),
    }
}

impl S3Settings {
    /// The location with the endpoint setting applied, and the `AWS_*` variables `env` with the
    /// region and credential settings applied.
    pub fn apply(
        &self,
        mut loc: S3Location,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(S3Location, Vec<(String, String)>)> {
        if let (None, Some(e)) = (&loc.endpoint, &self.endpoint) {
            let e = e.trim_end_matches('/');
            let host = e
                .strip_prefix("https://")
                .or_else(|| e.strip_prefix("http://"))
                .filter(|h| !h.is_empty() && !h.contains(['/', '@', '?', '#']));
            if host.is_none() {
                return Err(Error::invalid(format!(
                    "S3 endpoint {e:?}: expected http(s)://HOST[:PORT]"
                )));
            }
            loc.endpoint = Some(e.to_owned());
        }
        let creds = match &self.credentials_file {
            Some(f) => Some(read_credentials_file(
                f,
                self.profile.as_deref().unwrap_or("default"),
            )?),
            None => None,
        };
        let mut vars: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| {
                creds.is_none()
                    || !matches!(
                        k.as_str(),
                        "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" | "AWS_SESSION_TOKEN"
                    )
            })
            .filter(|(k, _)| self.endpoint.is_none() || !k.starts_with("AWS_ENDPOINT"))
            .collect();
        if let Some(r) = &self.region {
            vars.retain(|(k, _)| k != "AWS_REGION" && k != "AWS_DEFAULT_REGION");
            vars.push(("AWS_REGION".into(), r.clone()));
        }
        if let Some((id, secret, token)) = creds {
            vars.push(("AWS_ACCESS_KEY_ID".into(), id));
            vars.push(("AWS_SECRET_ACCESS_KEY".into(), secret));
            if let Some(t) = token {
                vars.push(("AWS_SESSION_TOKEN".into(), t));
            }
        }
        if self.allow_http {
            vars.push(("AWS_ALLOW_HTTP".into(), "true".into()));
        }
        Ok((loc, vars))
    }
}

/// [`super::open_backend`] with S3 settings from flags or the configuration file.
pub fn open_backend_with(location: &str, settings: &S3Settings) -> Result<DynBackend> {
    if location.starts_with("s3:") {
        let (loc, vars) = settings.apply(S3Location::parse(location)?, std::env::vars())?;
        return Ok(Arc::new(S3Backend::new(loc, vars, S3Options::default())?));
    }
    super::open_backend(location)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_file_profiles() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("credentials");
        std::fs::write(
            &f,
            "[default]\naws_access_key_id = A1\naws_secret_access_key = S1\n\n\
             [profile offsite]\n# comment\naws_access_key_id=A2\naws_secret_access_key=S2\n\
             aws_session_token = T2\n",
        )
        .unwrap();
        assert_eq!(
            read_credentials_file(&f, "default").unwrap(),
            ("A1".into(), "S1".into(), None)
        );
        assert_eq!(
            read_credentials_file(&f, "offsite").unwrap(),
            ("A2".into(), "S2".into(), Some("T2".into()))
        );
        let e = read_credentials_file(&f, "other").unwrap_err();
        assert!(e.to_string().contains("[other]"), "{e}");
    }

    #[test]
    fn settings_apply_to_location_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c");
        std::fs::write(
            &f,
            "[default]\naws_access_key_id=F\naws_secret_access_key=G\n",
        )
        .unwrap();
        let s = S3Settings {
            endpoint: Some("https://s3.example.no/".into()),
            region: Some("no-1".into()),
            credentials_file: Some(f),
            ..Default::default()
        };
        let env = vec![
            ("AWS_ACCESS_KEY_ID".to_owned(), "ENV".to_owned()),
            ("AWS_SESSION_TOKEN".to_owned(), "OLD".to_owned()),
            ("AWS_REGION".to_owned(), "eu-north-1".to_owned()),
        ];
        let (loc, vars) = s
            .apply(S3Location::parse("s3:backup/town").unwrap(), env)
            .unwrap();
        assert_eq!(loc.url(), "s3:https://s3.example.no/backup/town");
        let get = |k: &str| {
            vars.iter()
                .filter(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(get("AWS_ACCESS_KEY_ID"), ["F"]);
        assert_eq!(get("AWS_SESSION_TOKEN"), Vec::<&str>::new());
        assert_eq!(get("AWS_REGION"), ["no-1"]);
        // A location's own endpoint wins (copy between two servers).
        let (loc, _) = s
            .apply(
                S3Location::parse("s3:http://127.0.0.1:7480/b3x/p").unwrap(),
                vec![],
            )
            .unwrap();
        assert_eq!(loc.endpoint.as_deref(), Some("http://127.0.0.1:7480"));
        let bad = S3Settings {
            endpoint: Some("ftp://x".into()),
            ..Default::default()
        };
        assert!(bad
            .apply(S3Location::parse("s3:bkt").unwrap(), vec![])
            .is_err());
    }
}
