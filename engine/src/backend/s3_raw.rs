//! Signed raw S3 requests for what `object_store` has no API for: the bucket's Object Lock
//! configuration, writes with per-object retention headers, reading an object's retention and
//! version, and deleting one version. Requests are signed with `object_store`'s own SigV4
//! signer ([`AwsAuthorizer`]) with the credentials of the configured store, and sent with the
//! HTTP client `object_store` uses (same timeouts). Every request here is idempotent (a `PUT`
//! of a name hvelv writes always carries the same bytes, see DESIGN.md), so transient failures
//! are retried with backoff.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderMap, Method, StatusCode};
use md5::{Digest, Md5};
use object_store::aws::{AmazonS3, AwsAuthorizer};
use object_store::client::{HttpClient, HttpConnector, HttpRequestBody, ReqwestConnector};
use object_store::path::Path;
use object_store::ClientOptions;

use super::{LockMode, Retention};
use crate::error::{Error, ErrorKind, Result};

/// Attempts of one raw request (first try included).
const ATTEMPTS: u32 = 6;

/// The answer to a `HEAD` of an object.
#[derive(Debug, Clone)]
pub(super) struct Head {
    /// Version id (versioned buckets).
    pub version: Option<String>,
    /// Retention, when the object has one.
    pub retention: Option<Retention>,
}

/// The bucket's Object Lock configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LockConfig {
    /// `ObjectLockEnabled` is `Enabled`.
    pub enabled: bool,
    /// Default retention rule: mode and days (years converted).
    pub default: Option<(Option<LockMode>, u32)>,
}

/// A signer and HTTP client for one bucket.
pub(super) struct RawS3 {
    http: HttpClient,
    /// `scheme://host[:port]/bucket` (path style) or `https://bucket.s3.region.amazonaws.com`.
    base: String,
    region: String,
    /// The configured store: its credential provider signs our requests.
    store: Arc<AmazonS3>,
    what: String,
}

/// Percent-encode an object key for a URL path (S3 canonical form: unreserved characters and
/// `/` stay, everything else is `%XX`).
fn encode_key(key: &str) -> String {
    let mut s = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// The text of `<Tag>…</Tag>` in a small XML document (the S3 answers parsed here are flat).
fn xml_tag<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..start + end].trim())
}

fn parse_mode(s: &str) -> Option<LockMode> {
    match s {
        "COMPLIANCE" => Some(LockMode::Compliance),
        "GOVERNANCE" => Some(LockMode::Governance),
        _ => None,
    }
}

/// Parse a `GetObjectLockConfiguration` answer.
pub(super) fn parse_lock_config(xml: &str) -> LockConfig {
    let enabled = xml_tag(xml, "ObjectLockEnabled") == Some("Enabled");
    let default = xml_tag(xml, "DefaultRetention").and_then(|r| {
        let mode = xml_tag(r, "Mode").and_then(parse_mode);
        let days = xml_tag(r, "Days")
            .and_then(|d| d.parse::<u32>().ok())
            .or_else(|| {
                xml_tag(r, "Years")
                    .and_then(|y| y.parse::<u32>().ok())
                    .map(|y| y.saturating_mul(365))
            })?;
        Some((mode, days))
    });
    LockConfig { enabled, default }
}

/// Retention from `HEAD` response headers (`x-amz-object-lock-*`, `Last-Modified`).
pub(super) fn parse_retention(h: &HeaderMap) -> Option<Retention> {
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok());
    let until = get("x-amz-object-lock-retain-until-date")?;
    let until = DateTime::parse_from_rfc3339(until)
        .ok()?
        .with_timezone(&Utc);
    let mode = get("x-amz-object-lock-mode").and_then(parse_mode);
    let written = get("last-modified")
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .map(|t| t.with_timezone(&Utc));
    Some(Retention {
        mode,
        until,
        written,
    })
}

impl RawS3 {
    pub fn new(
        endpoint: Option<&str>,
        bucket: &str,
        region: String,
        client: &ClientOptions,
        store: Arc<AmazonS3>,
        what: String,
    ) -> Result<RawS3> {
        let http = ReqwestConnector::default()
            .connect(client)
            .map_err(|e| Error::invalid(format!("S3 client for {what}: {e}")))?;
        let base = match endpoint {
            Some(e) => format!("{}/{bucket}", e.trim_end_matches('/')),
            None => format!("https://{bucket}.s3.{region}.amazonaws.com"),
        };
        Ok(RawS3 {
            http,
            base,
            region,
            store,
            what,
        })
    }

    fn url(&self, key: Option<&Path>, query: &str) -> String {
        let mut u = self.base.clone();
        u.push('/');
        if let Some(k) = key {
            u.push_str(&encode_key(k.as_ref()));
        }
        if !query.is_empty() {
            u.push('?');
            u.push_str(query);
        }
        u
    }

    fn err(&self, what: &str, detail: impl std::fmt::Display) -> Error {
        Error::new(
            ErrorKind::Backend,
            format!("{what} at {}: {detail}", self.what),
        )
    }

    /// Send a signed request, retrying transport failures and 5xx/429 answers.
    async fn send(
        &self,
        what: &str,
        method: Method,
        url: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<(StatusCode, HeaderMap, Bytes)> {
        let mut delay = Duration::from_millis(200);
        let mut attempt = 1;
        loop {
            let cred = self
                .store
                .credentials()
                .get_credential()
                .await
                .map_err(|e| self.err(what, format!("no credentials: {e}")))?;
            let mut req = http::Request::builder().method(method.clone()).uri(url);
            for (k, v) in headers {
                req = req.header(*k, v.as_str());
            }
            let mut req = req
                .body(HttpRequestBody::from(body.clone()))
                .map_err(|e| self.err(what, e))?;
            AwsAuthorizer::new(&cred, "s3", &self.region)
                .try_authorize(&mut req, None)
                .map_err(|e| self.err(what, format!("signing: {e}")))?;
            let failure = match self.http.execute(req).await {
                Ok(resp) => {
                    let (parts, body) = resp.into_parts();
                    let transient = parts.status.is_server_error()
                        || parts.status == StatusCode::TOO_MANY_REQUESTS;
                    match body.bytes().await {
                        Ok(b) if !transient => return Ok((parts.status, parts.headers, b)),
                        Ok(b) => format!(
                            "HTTP {}: {}",
                            parts.status,
                            String::from_utf8_lossy(&b[..b.len().min(300)])
                        ),
                        Err(e) => e.to_string(),
                    }
                }
                Err(e) => e.to_string(),
            };
            if attempt >= ATTEMPTS {
                return Err(self.err(what, format!("gave up after {attempt} attempts: {failure}")));
            }
            tracing::info!(
                "{what} at {}: attempt {attempt} failed, retrying in {delay:?}: {failure}",
                self.what
            );
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
            attempt += 1;
        }
    }

    fn unexpected(&self, what: &str, status: StatusCode, body: &Bytes) -> Error {
        let text = String::from_utf8_lossy(body);
        let code = xml_tag(&text, "Code").unwrap_or("");
        let hint = if matches!(status, StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED) {
            " (check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and the bucket policy)"
        } else {
            ""
        };
        self.err(what, format!("HTTP {status} {code}{hint}"))
    }

    /// `GetObjectLockConfiguration`; a bucket without Object Lock answers with `enabled: false`.
    pub async fn lock_config(&self) -> Result<LockConfig> {
        let what = "reading the bucket's Object Lock configuration";
        let url = self.url(None, "object-lock=");
        let (status, _, body) = self
            .send(what, Method::GET, &url, &[], Bytes::new())
            .await?;
        if status.is_success() {
            return Ok(parse_lock_config(&String::from_utf8_lossy(&body)));
        }
        let text = String::from_utf8_lossy(&body);
        if status == StatusCode::NOT_FOUND
            && xml_tag(&text, "Code").is_some_and(|c| c.contains("ObjectLockConfiguration"))
        {
            return Ok(LockConfig {
                enabled: false,
                default: None,
            });
        }
        Err(self.unexpected(what, status, &body))
    }

    /// `HEAD` an object: version and retention; `None` when there is no current version.
    pub async fn head(&self, key: &Path) -> Result<Option<Head>> {
        let what = format!("reading the retention of {key}");
        let url = self.url(Some(key), "");
        let (status, h, body) = self
            .send(&what, Method::HEAD, &url, &[], Bytes::new())
            .await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(self.unexpected(&what, status, &body));
        }
        let version = h
            .get("x-amz-version-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && *v != "null")
            .map(str::to_owned);
        Ok(Some(Head {
            version,
            retention: parse_retention(&h),
        }))
    }

    /// `PUT` an object, with retention headers when `retain` is given. `Content-MD5` is sent
    /// because S3 requires an integrity header on writes with Object Lock parameters.
    pub async fn put(
        &self,
        key: &Path,
        data: Bytes,
        retain: Option<(LockMode, DateTime<Utc>)>,
    ) -> Result<()> {
        let what = format!("writing {key}");
        let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&data));
        let mut headers = vec![
            ("content-md5", md5),
            ("content-type", "application/octet-stream".to_owned()),
        ];
        if let Some((mode, until)) = retain {
            headers.push(("x-amz-object-lock-mode", mode.s3_name().to_owned()));
            headers.push((
                "x-amz-object-lock-retain-until-date",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ));
        }
        let url = self.url(Some(key), "");
        let (status, _, body) = self.send(&what, Method::PUT, &url, &headers, data).await?;
        if status.is_success() {
            return Ok(());
        }
        Err(self.unexpected(&what, status, &body))
    }

    /// `DELETE` one version (or, with `None`, the current object: on a versioned bucket that only
    /// adds a delete marker). Answers the HTTP status for the caller to interpret: 403 on an
    /// Object Lock bucket means the version is under retention or legal hold.
    pub async fn delete(&self, key: &Path, version: Option<&str>) -> Result<StatusCode> {
        let what = format!("deleting {key}");
        let query = match version {
            Some(v) => format!("versionId={}", encode_key(v).replace('/', "%2F")),
            None => String::new(),
        };
        let url = self.url(Some(key), &query);
        let (status, _, body) = self
            .send(&what, Method::DELETE, &url, &[], Bytes::new())
            .await?;
        if status.is_success() || status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND
        {
            return Ok(status);
        }
        Err(self.unexpected(&what, status, &body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lock_configuration() {
        let none = r#"<?xml version="1.0" encoding="UTF-8"?><ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>"#;
        assert_eq!(
            parse_lock_config(none),
            LockConfig {
                enabled: true,
                default: None
            }
        );
        let rule = "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>\
                    <DefaultRetention><Mode>COMPLIANCE</Mode><Years>2</Years></DefaultRetention>\
                    </Rule></ObjectLockConfiguration>";
        assert_eq!(
            parse_lock_config(rule).default,
            Some((Some(LockMode::Compliance), 730))
        );
        assert!(!parse_lock_config("<Error><Code>x</Code></Error>").enabled);
    }

    #[test]
    fn parses_retention_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            "last-modified",
            "Fri, 27 Nov 2026 10:03:53 GMT".parse().unwrap(),
        );
        assert_eq!(parse_retention(&h), None);
        h.insert("x-amz-object-lock-mode", "GOVERNANCE".parse().unwrap());
        h.insert(
            "x-amz-object-lock-retain-until-date",
            "2026-11-29T10:03:51.000000000Z".parse().unwrap(),
        );
        let r = parse_retention(&h).unwrap();
        assert_eq!(r.mode, Some(LockMode::Governance));
        assert_eq!(r.until.to_rfc3339(), "2026-11-29T10:03:51+00:00");
        assert_eq!(r.written.unwrap().to_rfc3339(), "2026-11-27T10:03:53+00:00");
    }

    #[test]
    fn encodes_keys() {
        assert_eq!(encode_key("p/data/ab/ab12"), "p/data/ab/ab12");
        assert_eq!(encode_key("a b+c"), "a%20b%2Bc");
    }
}
