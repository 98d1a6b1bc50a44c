//! WORM mode of the S3 backend: a repository whose config records an Object Lock policy, in a
//! bucket with Object Lock enabled (DESIGN.md, "WORM offsite copies").
//!
//! * **Writes** are `HEAD`, then a signed `PUT` carrying `x-amz-object-lock-mode` and
//!   `x-amz-object-lock-retain-until-date` (now + N days + [`super::lock::CLOCK_MARGIN_SECS`])
//!   for every retained kind; job markers and gc records go up without retention headers. No
//!   `If-None-Match` (Ceph RGW ignores it on Object Lock buckets) and no multipart (retention
//!   headers would have to go on `CreateMultipartUpload`, which `object_store` cannot send; a
//!   single `PUT` takes up to 5 GiB, packs are at most 512 MiB). Two writers racing past the
//!   `HEAD` each add a version; that is harmless because every name hvelv writes is
//!   content-addressed (same name, same bytes) or unique to its writer (DESIGN.md lists each
//!   kind), and the bucket is versioned, so nothing is ever lost.
//! * **Deletes** look at the current version first: under retention, a retained kind fails with
//!   [`ErrorKind::Locked`] (a plain `DELETE` would "succeed" by adding a delete marker and hide
//!   the file while its bytes stay); otherwise that *version* is deleted, and again for any
//!   older version a race left behind, so the space is really freed. A protocol file held by a
//!   bucket default retention is hidden behind a delete marker instead (tolerated).

use chrono::Utc;
use http::StatusCode;
use object_store::path::Path;

use super::s3::S3Backend;
use super::{locked_error, Backend, FileKind, ObjectLock, Retention};
use crate::error::{Error, ErrorKind, Result};

/// Versions of one name removed at most by one `remove` (more exist only after races).
const MAX_VERSIONS: usize = 16;

impl S3Backend {
    /// Check that the bucket has Object Lock and switch to WORM mode.
    pub(super) async fn enable_worm(&self, policy: ObjectLock) -> Result<()> {
        policy.validate()?;
        if let Some(p) = self.lock.get() {
            if *p == policy {
                return Ok(());
            }
            return Err(Error::invalid(format!(
                "{}: Object Lock policy already set to {p}, not {policy}",
                self.location()
            )));
        }
        let cfg = self.raw.lock_config().await?;
        if !cfg.enabled {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "the bucket of {} does not have S3 Object Lock enabled, so hvelv cannot give \
                     its files a retention of {policy}. Create a bucket with Object Lock (e.g. \
                     `aws s3api create-bucket --bucket NAME --object-lock-enabled-for-bucket`) \
                     and use it, or leave out --object-lock-days",
                    self.location()
                ),
            ));
        }
        if let Some((mode, days)) = cfg.default {
            tracing::info!(
                "bucket default retention: {days} days {mode:?}; hvelv sets its own on each file, \
                 and job markers/gc records also get the default (they are then hidden by delete \
                 markers when removed)"
            );
        }
        let _ = self.lock.set(policy);
        Ok(())
    }

    /// Create-only write in WORM mode: `HEAD`, then `PUT` with retention headers.
    pub(super) async fn create_worm(
        &self,
        policy: &ObjectLock,
        kind: FileKind,
        name: &str,
        path: &Path,
        data: bytes::Bytes,
    ) -> Result<()> {
        if let Some(h) = self.raw.head(path).await? {
            let held = h
                .retention
                .filter(|r| r.holds_at(Utc::now()))
                .map(|r| {
                    format!(
                        " and is under Object Lock until {}",
                        super::format_until(r.until)
                    )
                })
                .unwrap_or_default();
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "creating {kind} {name} at {}: it already exists{held}",
                    self.location()
                ),
            ));
        }
        let retain = kind
            .retained()
            .then(|| (policy.mode, policy.until(Utc::now())));
        self.raw
            .put(path, data, retain)
            .await
            .map_err(|e| e.context(format!("creating {kind} {name}")))
    }

    /// The retention of the current version of a file.
    pub(super) async fn retention_of(
        &self,
        kind: FileKind,
        name: &str,
        path: &Path,
    ) -> Result<Option<Retention>> {
        match self.raw.head(path).await? {
            Some(h) => Ok(h.retention),
            None => Err(Error::not_found(format!(
                "{kind} {name} not found at {}",
                self.location()
            ))),
        }
    }

    /// Remove a file in WORM mode (see the module docs).
    pub(super) async fn remove_worm(&self, kind: FileKind, name: &str, path: &Path) -> Result<()> {
        let loc = self.location();
        for round in 0..MAX_VERSIONS {
            let Some(h) = self.raw.head(path).await? else {
                if round == 0 {
                    return Err(Error::not_found(format!(
                        "{kind} {name} not found at {loc}"
                    )));
                }
                return Ok(());
            };
            if let Some(r) = h.retention.as_ref().filter(|r| r.holds_at(Utc::now())) {
                if kind.retained() || round > 0 {
                    return Err(locked_error(&loc, kind, name, r, "delete"));
                }
                // A protocol file that got the bucket's default retention: hide it.
                self.raw.delete(path, None).await?;
                return Ok(());
            }
            let status = self.raw.delete(path, h.version.as_deref()).await?;
            if status == StatusCode::FORBIDDEN {
                return Err(Error::new(
                    ErrorKind::Locked,
                    format!(
                        "cannot delete {kind} {name} at {loc}: the server refused (Object Lock \
                         retention or a legal hold on this version); nothing was changed. Check \
                         it with `hvelv check`; a legal hold must be lifted by the bucket owner"
                    ),
                ));
            }
            if h.version.is_none() {
                return Ok(());
            }
        }
        Ok(())
    }
}
