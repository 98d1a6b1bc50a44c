//! S3-compatible object storage backend (AWS S3, Ceph RGW, ...) through `object_store`, and
//! [`open_backend`], which turns a repository location string into a backend.
//!
//! # Layout
//! Identical to the local backend below an optional key prefix: `config`, `keys/NAME`,
//! `data/XX/NAME` (XX = first two characters of NAME), `index/NAME`, `snapshots/NAME`,
//! `locks/NAME`, `verify/NAME`. A directory repository can be copied to a bucket object by object.
//!
//! # How the contract is met
//! * **Create-only.** Every write is a `PUT` with `If-None-Match: *` (`PutMode::Create`); the
//!   server answers 412 when the key exists, which becomes [`ErrorKind::AlreadyExists`]. A single
//!   `PUT` is atomic: readers see the old state or the whole object. `create_layout` probes that
//!   the server honours the condition and refuses otherwise: some servers silently ignore it,
//!   among them Ceph RGW 16 on Object Lock buckets (plain buckets are fine).
//! * **Large packs: multipart without the condition.** S3's `CompleteMultipartUpload` accepts
//!   `If-None-Match`, but `object_store` only sends it from its copy-based code path, which Ceph
//!   RGW rejects (411), and RGW does not evaluate the header on completion anyway. There is no
//!   rename in S3, so "upload to a temporary key, then move" is no option either. Packs above
//!   [`S3Options::multipart_threshold`] therefore go up as follows: `HEAD` the final key
//!   (exists → `AlreadyExists`), multipart-upload to the final key, then `HEAD` again and compare
//!   the size. This is safe *only* because a pack's name is the BLAKE3 hash of its bytes, which
//!   this module re-checks before taking the unconditional path (otherwise it falls back to a
//!   single conditional `PUT`): two writers racing on the same name write identical bytes, so
//!   the later completion replaces the object with itself. Completion is atomic, so readers never
//!   see a partial pack. On an Object Lock bucket (always versioned) even a hypothetical
//!   overwrite keeps the earlier version. An interrupted upload leaves invisible parts behind,
//!   never a listed object; a bucket lifecycle rule `AbortIncompleteMultipartUpload` reclaims them.
//! * **Lost responses.** Conditional `PUT`s go through a store without internal retries and are
//!   retried here, so this module knows when an earlier attempt may have been applied without
//!   its answer arriving. An `AlreadyExists` after such an ambiguous attempt is success when the
//!   stored bytes equal ours (every hvelv file is content-addressed or contains fresh random
//!   nonces, so equal bytes mean our own write). A first-attempt `AlreadyExists` is always an
//!   error, as the contract requires.
//! * **Durability.** S3 acknowledges a write after it is durably stored.
//! * **Listing.** S3 listings are strongly consistent on AWS and RGW; multipart uploads in
//!   progress are not listed.
//! * **Robustness.** Every request has a connect and a total timeout; idempotent requests are
//!   retried with exponential backoff and jitter by `object_store` ([`RetryConfig`]); at most
//!   [`S3Options::concurrency`] requests run at once per backend.

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    RetryConfig, WriteMultipart,
};
use tokio::sync::Semaphore;

use super::s3_raw::RawS3;
use super::{Backend, DynBackend, FileKind, LocalBackend, ObjectLock, Retention};
use crate::error::{Error, ErrorKind, Result};
use crate::id::FileId;

/// Tunables of the S3 backend. The defaults suit a 16 MiB pack size.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// Requests in flight at once (uploads, downloads, listings together).
    pub concurrency: usize,
    /// Packs larger than this go up as multipart uploads.
    pub multipart_threshold: usize,
    /// Part size of multipart uploads (S3 minimum 5 MiB except the last part).
    pub part_size: usize,
    /// Total time limit of one HTTP request.
    pub request_timeout: Duration,
    /// Time limit for establishing a connection.
    pub connect_timeout: Duration,
    /// Retries of one request after transient failures (5xx, 429, timeouts, resets).
    pub max_retries: usize,
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            concurrency: 8,
            multipart_threshold: 8 * 1024 * 1024,
            part_size: 8 * 1024 * 1024,
            request_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            max_retries: 8,
        }
    }
}

/// A parsed `s3:` repository location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// `http(s)://host[:port]` of a custom endpoint; `None` for AWS.
    pub endpoint: Option<String>,
    /// Bucket name.
    pub bucket: String,
    /// Key prefix inside the bucket, without leading or trailing `/` (may be empty).
    pub prefix: String,
}

impl S3Location {
    /// Parse `s3:http(s)://host[:port]/bucket[/prefix]` or `s3:bucket[/prefix]`.
    pub fn parse(location: &str) -> Result<S3Location> {
        let rest = location.strip_prefix("s3:").ok_or_else(|| {
            Error::invalid(format!("{location:?} is not an s3: repository location"))
        })?;
        let usage = "expected s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX] or s3:BUCKET[/PREFIX] (AWS)";
        let (endpoint, path) = if let Some((scheme, after)) = rest.split_once("://") {
            if scheme != "http" && scheme != "https" {
                return Err(Error::invalid(format!(
                    "repository location {location:?}: unsupported scheme {scheme:?}; {usage}"
                )));
            }
            let (host, path) = after.split_once('/').unwrap_or((after, ""));
            if host.is_empty() || host.contains(['@', '?', '#']) {
                return Err(Error::invalid(format!(
                    "repository location {location:?}: invalid host {host:?}; {usage}"
                )));
            }
            (Some(format!("{scheme}://{host}")), path)
        } else if rest.starts_with('/') {
            return Err(Error::invalid(format!(
                "repository location {location:?}: {usage}"
            )));
        } else {
            (None, rest)
        };
        let path = path.trim_end_matches('/');
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && !bucket.starts_with(['-', '.'])
            && !bucket.ends_with(['-', '.']);
        if !bucket_ok {
            return Err(Error::invalid(format!(
                "repository location {location:?}: {bucket:?} is not a valid bucket name \
                 (3-63 characters: lowercase letters, digits, '-', '.'); {usage}"
            )));
        }
        if prefix
            .split('/')
            .any(|s| (s.is_empty() && !prefix.is_empty()) || s == "." || s == "..")
            || Path::parse(prefix).is_err()
        {
            return Err(Error::invalid(format!(
                "repository location {location:?}: invalid key prefix {prefix:?} \
                 (no empty, '.' or '..' segments)"
            )));
        }
        Ok(S3Location {
            endpoint,
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The location as written by the user, normalised.
    pub fn url(&self) -> String {
        let mut s = String::from("s3:");
        if let Some(e) = &self.endpoint {
            s.push_str(e);
            s.push('/');
        }
        s.push_str(&self.bucket);
        if !self.prefix.is_empty() {
            s.push('/');
            s.push_str(&self.prefix);
        }
        s
    }

    /// An `object_store` builder configured from this location and `AWS_*` variables `vars`
    /// (normally `std::env::vars()`; a parameter so that tests are hermetic).
    ///
    /// Endpoint, bucket and `allow_http` come from the location only; other `AWS_*` variables
    /// that `object_store` knows (region, session token, proxy, timeouts...) apply. A custom
    /// endpoint requires explicit credentials so that nothing is sent to (or asked of) an
    /// instance-metadata service.
    pub fn builder(
        &self,
        vars: impl IntoIterator<Item = (String, String)>,
        opts: &S3Options,
    ) -> Result<AmazonS3Builder> {
        let client = ClientOptions::new()
            .with_timeout(opts.request_timeout)
            .with_connect_timeout(opts.connect_timeout);
        let mut b = AmazonS3Builder::new()
            .with_client_options(client)
            .with_retry(retry_config(opts.max_retries));
        let (mut key_id, mut secret, mut endpoint_var) = (false, false, None);
        let mut allow_http = false;
        for (k, v) in vars {
            if !k.starts_with("AWS_") {
                continue;
            }
            match k.as_str() {
                "AWS_ACCESS_KEY_ID" => key_id = !v.is_empty(),
                "AWS_SECRET_ACCESS_KEY" => secret = !v.is_empty(),
                "AWS_ENDPOINT" | "AWS_ENDPOINT_URL" => {
                    endpoint_var = Some(k.clone());
                    continue;
                }
                "AWS_ALLOW_HTTP" => {
                    allow_http = v.eq_ignore_ascii_case("true") || v == "1";
                    continue;
                }
                "AWS_BUCKET" | "AWS_BUCKET_NAME" => continue,
                _ => {}
            }
            if let Ok(key) = k.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                b = b.with_config(key, v);
            }
        }
        match &self.endpoint {
            Some(e) => {
                if !(key_id && secret) {
                    return Err(Error::invalid(format!(
                        "{}: no credentials for the S3 endpoint {e}: set AWS_ACCESS_KEY_ID and \
                         AWS_SECRET_ACCESS_KEY (and AWS_REGION if the server needs one; \
                         AWS_SESSION_TOKEN for temporary credentials)",
                        self.url()
                    )));
                }
                if let Some(host) = e.strip_prefix("http://") {
                    if !allow_http && !is_loopback(host) {
                        return Err(Error::invalid(format!(
                            "{}: the endpoint {e} uses plain HTTP to another machine; use https, \
                             or allow it explicitly with --s3-allow-http (or AWS_ALLOW_HTTP=true, \
                             or allow_http = true in the [s3] section of the config file)",
                            self.url()
                        )));
                    }
                }
                b = b
                    .with_endpoint(e)
                    .with_allow_http(e.starts_with("http://"))
                    .with_virtual_hosted_style_request(false);
            }
            None => {
                if let Some(var) = endpoint_var {
                    return Err(Error::invalid(format!(
                        "{}: this form means AWS S3, but {var} is set; write \
                         s3:{{endpoint}}/{}... to use that endpoint, or unset {var}",
                        self.url(),
                        self.bucket
                    )));
                }
                if key_id != secret {
                    return Err(Error::invalid(format!(
                        "{}: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (only one is set)",
                        self.url()
                    )));
                }
            }
        }
        Ok(b.with_bucket_name(&self.bucket)
            .with_checksum_algorithm(object_store::aws::Checksum::SHA256))
    }
}

/// `HOST[:PORT]` names this machine (plain HTTP to it needs no opt-in: test servers).
fn is_loopback(host_port: &str) -> bool {
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

fn retry_config(max_retries: usize) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(15),
            base: 2.0,
        },
        max_retries,
        retry_timeout: Duration::from_secs(180),
    }
}

/// The backend for a repository location: `s3:...` for S3, anything else without `://` is a
/// local or SAN directory. S3 credentials and options come from the `AWS_*` environment.
pub fn open_backend(location: &str) -> Result<DynBackend> {
    if location.starts_with("s3:") {
        let loc = S3Location::parse(location)?;
        return Ok(Arc::new(S3Backend::new(
            loc,
            std::env::vars(),
            S3Options::default(),
        )?));
    }
    if let Some((scheme, _)) = location.split_once("://") {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "repository location {location:?}: scheme {scheme:?} is not supported; use a \
                 directory path or s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX] or s3:BUCKET[/PREFIX]"
            ),
        ));
    }
    Ok(Arc::new(LocalBackend::new(location)))
}

/// A repository in an S3 bucket (below an optional prefix).
pub struct S3Backend {
    loc: S3Location,
    /// Retries transient failures internally; used for everything but conditional `PUT`s.
    store: Arc<AmazonS3>,
    /// No internal retries: conditional `PUT`s are retried by [`S3Backend::create`] itself.
    store_once: Arc<AmazonS3>,
    limit: Arc<Semaphore>,
    opts: S3Options,
    /// Signed raw requests (Object Lock, retention, versions).
    pub(super) raw: RawS3,
    /// The WORM policy, once [`Backend::set_object_lock`] was called (see `s3_worm.rs`).
    pub(super) lock: OnceLock<ObjectLock>,
}

impl fmt::Debug for S3Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Backend")
            .field("location", &self.loc.url())
            .finish()
    }
}

/// Attempts of a conditional `PUT` (first try included).
const CREATE_ATTEMPTS: u32 = 6;

impl S3Backend {
    /// A backend for `loc`, configured from `AWS_*` variables in `vars`. No request is sent.
    pub fn new(
        loc: S3Location,
        vars: impl IntoIterator<Item = (String, String)>,
        opts: S3Options,
    ) -> Result<S3Backend> {
        if opts.part_size < 5 * 1024 * 1024 || opts.concurrency == 0 {
            return Err(Error::invalid(
                "S3 part size must be at least 5 MiB, concurrency at least 1",
            ));
        }
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let region = loc
            .builder(vars.iter().cloned(), &opts)?
            .get_config_value(&AmazonS3ConfigKey::Region)
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "us-east-1".to_owned());
        let build = |retries: usize| -> Result<AmazonS3> {
            let o = S3Options {
                max_retries: retries,
                ..opts.clone()
            };
            loc.builder(vars.iter().cloned(), &o)?
                .build()
                .map_err(|e| Error::invalid(format!("S3 configuration for {}: {e}", loc.url())))
        };
        let store = Arc::new(build(opts.max_retries)?);
        let client = ClientOptions::new()
            .with_timeout(opts.request_timeout)
            .with_connect_timeout(opts.connect_timeout)
            .with_allow_http(
                loc.endpoint
                    .as_deref()
                    .is_some_and(|e| e.starts_with("http://")),
            );
        let raw = RawS3::new(
            loc.endpoint.as_deref(),
            &loc.bucket,
            region,
            &client,
            store.clone(),
            loc.url(),
        )?;
        Ok(S3Backend {
            store,
            store_once: Arc::new(build(0)?),
            raw,
            lock: OnceLock::new(),
            limit: Arc::new(Semaphore::new(opts.concurrency)),
            loc,
            opts,
        })
    }

    pub(super) fn key(&self, rel: &str) -> Path {
        if self.loc.prefix.is_empty() {
            Path::from(rel)
        } else {
            Path::from(format!("{}/{rel}", self.loc.prefix))
        }
    }

    pub(super) fn path(&self, kind: FileKind, name: &str) -> Result<Path> {
        Ok(self.key(&super::relative_path(kind, name)?))
    }

    /// Parts of one multipart upload sent at once (each holds a concurrency permit).
    fn parts_in_flight(&self, len: usize) -> usize {
        len.div_ceil(self.opts.part_size)
            .clamp(1, 4)
            .min(self.opts.concurrency)
    }

    pub(super) async fn permit(&self, n: usize) -> Result<tokio::sync::SemaphorePermit<'_>> {
        let n = n.clamp(1, self.opts.concurrency) as u32;
        self.limit
            .acquire_many(n)
            .await
            .map_err(|_| Error::new(ErrorKind::Cancelled, "S3 backend is shutting down"))
    }

    pub(super) fn err(&self, what: impl fmt::Display, e: object_store::Error) -> Error {
        use object_store::Error as E;
        let (kind, hint) = match &e {
            E::NotFound { .. } => (ErrorKind::NotFound, ""),
            E::AlreadyExists { .. } | E::Precondition { .. } => (ErrorKind::AlreadyExists, ""),
            E::PermissionDenied { .. } | E::Unauthenticated { .. } => (
                ErrorKind::Backend,
                " (check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and the bucket policy)",
            ),
            _ => (ErrorKind::Backend, ""),
        };
        // The object_store error's text already includes its causes; not attached as a source so
        // that error chains do not print it twice.
        Error::new(kind, format!("{what} at {}: {e}{hint}", self.loc.url()))
    }

    /// One conditional `PUT`, retried here on failures whose outcome is unknown.
    async fn put_create(&self, kind: FileKind, name: &str, path: &Path, data: Bytes) -> Result<()> {
        use object_store::Error as E;
        let mut ambiguous = false;
        let mut delay = Duration::from_millis(200);
        let mut attempt = 1;
        loop {
            let opts = PutOptions {
                mode: PutMode::Create,
                ..Default::default()
            };
            let res = self
                .store_once
                .put_opts(path, PutPayload::from_bytes(data.clone()), opts)
                .await;
            match res {
                Ok(_) => return Ok(()),
                Err(e @ (E::AlreadyExists { .. } | E::Precondition { .. })) => {
                    if ambiguous && self.stored_equals(path, &data).await? {
                        return Ok(());
                    }
                    return Err(self.err(format!("creating {kind} {name}: it already exists"), e));
                }
                Err(e @ E::NotImplemented { .. }) => {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        format!("creating {kind} {name}: conditional PUT not available: {e}"),
                    ));
                }
                Err(
                    e @ (E::NotFound { .. }
                    | E::PermissionDenied { .. }
                    | E::Unauthenticated { .. }
                    | E::InvalidPath { .. }),
                ) => return Err(self.err(format!("creating {kind} {name}"), e)),
                Err(e) if attempt >= CREATE_ATTEMPTS => {
                    return Err(self.err(
                        format!("creating {kind} {name} (gave up after {attempt} attempts)"),
                        e,
                    ));
                }
                Err(e) => {
                    tracing::info!(
                        "creating {kind} {name} at {}: attempt {attempt} failed, retrying in {delay:?}: {e}",
                        self.loc.url()
                    );
                    ambiguous = true;
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                    attempt += 1;
                }
            }
        }
    }

    async fn stored_equals(&self, path: &Path, data: &Bytes) -> Result<bool> {
        let head = self
            .store
            .head(path)
            .await
            .map_err(|e| self.err("checking an earlier upload", e))?;
        if head.size != data.len() as u64 {
            return Ok(false);
        }
        let got = self
            .get_bytes(path)
            .await
            .map_err(|e| self.err("checking an earlier upload", e))?;
        Ok(got == *data)
    }

    async fn get_bytes(&self, path: &Path) -> object_store::Result<Bytes> {
        self.store.get(path).await?.bytes().await
    }

    /// Multipart upload of a content-addressed pack (see the module docs for why this is safe).
    async fn put_pack_multipart(&self, name: &str, path: &Path, data: Bytes) -> Result<()> {
        let what = format!("uploading pack {name}");
        match self.store.head(path).await {
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!(
                        "creating pack {name} at {}: it already exists",
                        self.loc.url()
                    ),
                ))
            }
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(self.err(&what, e)),
        }
        let upload = self
            .store
            .put_multipart(path)
            .await
            .map_err(|e| self.err(&what, e))?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, self.opts.part_size);
        let parallel = self.parts_in_flight(data.len());
        let mut rest = data.clone();
        while !rest.is_empty() {
            if let Err(e) = w.wait_for_capacity(parallel).await {
                let _ = w.abort().await;
                return Err(self.err(&what, e));
            }
            let n = rest.len().min(self.opts.part_size);
            w.put(rest.split_to(n));
        }
        w.finish().await.map_err(|e| self.err(&what, e))?;
        let head = self
            .store
            .head(path)
            .await
            .map_err(|e| self.err(&what, e))?;
        if head.size != data.len() as u64 {
            return Err(Error::new(
                ErrorKind::Backend,
                format!(
                    "{what} at {}: the server stored {} bytes instead of {}",
                    self.loc.url(),
                    head.size,
                    data.len()
                ),
            ));
        }
        Ok(())
    }

    /// Create, write twice and remove a scratch object: the second write must be refused.
    async fn probe_conditional_create(&self) -> Result<()> {
        let mut r = [0u8; 8];
        crate::crypto::random_bytes(&mut r)?;
        let path = self.key(&format!("hvelv-probe-{}", hex::encode(r)));
        let body = || PutPayload::from_static(b"probe");
        let create = || PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        let what = "probing conditional create";
        self.store_once
            .put_opts(&path, body(), create())
            .await
            .map_err(|e| self.err(what, e))?;
        let second = self.store_once.put_opts(&path, body(), create()).await;
        let removed = self.store.delete(&path).await;
        match second {
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => {}
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "the S3 server for {} ignores conditional writes (If-None-Match: *): a \
                         second create of the same key succeeded. hvelv needs create-only writes \
                         to keep concurrent clients from overwriting each other's files; use a \
                         server that supports them (AWS S3, Ceph RGW, MinIO)",
                        self.loc.url()
                    ),
                ))
            }
            Err(e) => return Err(self.err(what, e)),
        }
        removed.map_err(|e| self.err("removing the conditional-create probe", e))
    }
}

#[async_trait]
impl Backend for S3Backend {
    fn location(&self) -> String {
        self.loc.url()
    }

    async fn create_layout(&self) -> Result<()> {
        let _p = self.permit(1).await?;
        match self.store.head(&self.key("config")).await {
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("a repository already exists at {}", self.loc.url()),
                ))
            }
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(self.err("checking for an existing repository", e)),
        }
        let prefix = (!self.loc.prefix.is_empty()).then(|| Path::from(self.loc.prefix.as_str()));
        let first = self
            .store
            .list(prefix.as_ref())
            .try_next()
            .await
            .map_err(|e| self.err("listing the repository location", e))?;
        if let Some(o) = first {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "{} is not empty (found {}); choose an empty bucket or a new prefix for the repository",
                    self.loc.url(),
                    o.location
                ),
            ));
        }
        if self.lock.get().is_some() {
            // Object Lock buckets are versioned, and Ceph RGW ignores `If-None-Match` on them:
            // WORM mode creates with HEAD, then PUT instead (see s3_worm.rs).
            return Ok(());
        }
        self.probe_conditional_create().await
    }

    async fn create(&self, kind: FileKind, name: &str, data: Bytes) -> Result<()> {
        let path = self.path(kind, name)?;
        if let Some(policy) = self.lock.get() {
            let _p = self.permit(1).await?;
            return self.create_worm(policy, kind, name, &path, data).await;
        }
        if kind == FileKind::Pack
            && data.len() > self.opts.multipart_threshold
            && FileId::of(&data).to_hex() == name
        {
            let _p = self.permit(self.parts_in_flight(data.len())).await?;
            return self.put_pack_multipart(name, &path, data).await;
        }
        let _p = self.permit(1).await?;
        self.put_create(kind, name, &path, data).await
    }

    async fn read(&self, kind: FileKind, name: &str) -> Result<Bytes> {
        let path = self.path(kind, name)?;
        let _p = self.permit(1).await?;
        self.get_bytes(&path)
            .await
            .map_err(|e| self.err(format!("reading {kind} {name}"), e))
    }

    async fn read_range(
        &self,
        kind: FileKind,
        name: &str,
        offset: u64,
        length: u64,
    ) -> Result<Bytes> {
        let path = self.path(kind, name)?;
        let _p = self.permit(1).await?;
        let what = || format!("reading {kind} {name}");
        if let Some(end) = offset.checked_add(length).filter(|_| length > 0) {
            let range: Range<u64> = offset..end;
            match self.store.get_range(&path, range).await {
                Ok(b) if b.len() as u64 == length => return Ok(b),
                Err(e @ object_store::Error::NotFound { .. }) => return Err(self.err(what(), e)),
                // A short answer, or an out-of-range request (servers fail those in different
                // ways): decide with the object's size below.
                _ => {}
            }
        }
        let head = self
            .store
            .head(&path)
            .await
            .map_err(|e| self.err(what(), e))?;
        if offset
            .checked_add(length)
            .is_some_and(|end| end <= head.size)
        {
            if length == 0 {
                return Ok(Bytes::new());
            }
            // The object is long enough: the range read failed for another reason; retry once
            // and report that error.
            return self
                .store
                .get_range(&path, offset..offset + length)
                .await
                .map_err(|e| self.err(what(), e));
        }
        Err(Error::corrupt(format!(
            "{kind} {name} at {} is shorter than expected (truncated): cannot read {length} bytes \
             at {offset} of {} bytes",
            self.loc.url(),
            head.size
        )))
    }

    async fn list(&self, kind: FileKind) -> Result<Vec<(String, u64)>> {
        let _p = self.permit(1).await?;
        if kind == FileKind::Config {
            return match self.store.head(&self.key("config")).await {
                Ok(m) => Ok(vec![("config".to_owned(), m.size)]),
                Err(object_store::Error::NotFound { .. }) => Ok(Vec::new()),
                Err(e) => Err(self.err("looking for config", e)),
            };
        }
        let dir = self.key(kind.dir());
        let depth = dir.parts().count() + if kind == FileKind::Pack { 2 } else { 1 };
        let objects: Vec<_> = self
            .store
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(|e| self.err(format!("listing {kind} files"), e))?;
        let mut out = Vec::with_capacity(objects.len());
        for o in objects {
            let parts: Vec<_> = o.location.parts().collect();
            if parts.len() != depth {
                continue;
            }
            let name = parts[depth - 1].as_ref();
            if name.starts_with('.') {
                continue;
            }
            if kind == FileKind::Pack && name.get(..2) != Some(parts[depth - 2].as_ref()) {
                continue;
            }
            out.push((name.to_owned(), o.size));
        }
        Ok(out)
    }

    async fn remove(&self, kind: FileKind, name: &str) -> Result<()> {
        let path = self.path(kind, name)?;
        let _p = self.permit(1).await?;
        if self.lock.get().is_some() {
            return self.remove_worm(kind, name, &path).await;
        }
        let what = format!("removing {kind} {name}");
        // S3 answers a DELETE of a missing key with success; the contract wants NotFound.
        self.store
            .head(&path)
            .await
            .map_err(|e| self.err(&what, e))?;
        self.store
            .delete(&path)
            .await
            .map_err(|e| self.err(&what, e))
    }

    async fn set_object_lock(&self, policy: ObjectLock) -> Result<()> {
        self.enable_worm(policy).await
    }

    fn object_lock(&self) -> Option<ObjectLock> {
        self.lock.get().copied()
    }

    async fn retention(&self, kind: FileKind, name: &str) -> Result<Option<Retention>> {
        let path = self.path(kind, name)?;
        let _p = self.permit(1).await?;
        self.retention_of(kind, name, &path).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_locations() {
        let l = S3Location::parse("s3:http://127.0.0.1:7480/bucket/some/prefix/").unwrap();
        assert_eq!(l.endpoint.as_deref(), Some("http://127.0.0.1:7480"));
        assert_eq!(
            (l.bucket.as_str(), l.prefix.as_str()),
            ("bucket", "some/prefix")
        );
        assert_eq!(l.url(), "s3:http://127.0.0.1:7480/bucket/some/prefix");
        let l = S3Location::parse("s3:https://s3.example.no/arkiv").unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("arkiv", ""));
        let l = S3Location::parse("s3:my-bucket/hvelv").unwrap();
        assert_eq!(l.endpoint, None);
        assert_eq!(
            (l.bucket.as_str(), l.prefix.as_str()),
            ("my-bucket", "hvelv")
        );
    }

    #[test]
    fn rejects_bad_locations() {
        for bad in [
            "s3:",
            "s3://bucket/x",
            "s3:ftp://host/bucket",
            "s3:http:///bucket",
            "s3:http://host",
            "s3:Bad_Bucket/x",
            "s3:bucket//x",
            "s3:bucket/../x",
            "s3:http://user@host/bucket",
        ] {
            let e = S3Location::parse(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}: {e}");
        }
    }

    #[test]
    fn custom_endpoint_needs_explicit_credentials() {
        let loc = S3Location::parse("s3:http://127.0.0.1:7480/bucket").unwrap();
        let e = S3Backend::new(
            loc.clone(),
            vars(&[("AWS_REGION", "us-east-1")]),
            S3Options::default(),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(
            e.message().contains("AWS_ACCESS_KEY_ID")
                && e.message().contains("AWS_SECRET_ACCESS_KEY"),
            "{e}"
        );
        let creds = vars(&[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")]);
        S3Backend::new(loc, creds, S3Options::default()).unwrap();
    }

    #[test]
    fn plain_http_to_another_machine_needs_opt_in() {
        let creds = || vars(&[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")]);
        let remote = S3Location::parse("s3:http://s3.example.no/bucket").unwrap();
        let e = S3Backend::new(remote.clone(), creds(), S3Options::default()).unwrap_err();
        assert!(e.message().contains("--s3-allow-http"), "{e}");
        let mut allowed = creds();
        allowed.push(("AWS_ALLOW_HTTP".into(), "true".into()));
        S3Backend::new(remote, allowed, S3Options::default()).unwrap();
        for local in [
            "s3:http://127.0.0.1:7480/b3x",
            "s3:http://localhost/b3x",
            "s3:http://[::1]:80/b3x",
        ] {
            S3Backend::new(
                S3Location::parse(local).unwrap(),
                creds(),
                S3Options::default(),
            )
            .unwrap();
        }
    }

    #[test]
    fn aws_form_refuses_a_stray_endpoint_variable() {
        let loc = S3Location::parse("s3:bucket/x").unwrap();
        let v = vars(&[
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "b"),
            ("AWS_ENDPOINT", "http://127.0.0.1:7480"),
        ]);
        let e = S3Backend::new(loc, v, S3Options::default()).unwrap_err();
        assert!(e.message().contains("AWS_ENDPOINT"), "{e}");
    }

    #[test]
    fn open_backend_dispatches() {
        assert!(open_backend("/srv/backup/repo")
            .unwrap()
            .location()
            .starts_with("/srv"));
        let e = open_backend("sftp://host/repo").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert_eq!(
            open_backend("s3:B").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn layout_matches_local() {
        let loc = S3Location::parse("s3:http://127.0.0.1:7480/bucket/p").unwrap();
        let creds = vars(&[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")]);
        let be = S3Backend::new(loc, creds, S3Options::default()).unwrap();
        assert_eq!(
            be.path(FileKind::Config, "config").unwrap().as_ref(),
            "p/config"
        );
        assert_eq!(
            be.path(FileKind::Pack, "abcd").unwrap().as_ref(),
            "p/data/ab/abcd"
        );
        assert_eq!(
            be.path(FileKind::Lock, "x1").unwrap().as_ref(),
            "p/locks/x1"
        );
        assert_eq!(
            be.path(FileKind::Verify, "ab12").unwrap().as_ref(),
            "p/verify/ab12"
        );
        assert_eq!(
            be.path(FileKind::Key, "../x").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
