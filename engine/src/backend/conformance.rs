//! The conformance suite every [`Backend`] must pass. Public so that out-of-crate backends
//! (and integration tests against a live S3 endpoint) run the same checks.

use bytes::Bytes;

use super::{create_content_addressed, Backend, FileKind};
use crate::error::ErrorKind;

/// Run the suite against an empty location; panics (test failure) on a contract violation.
pub async fn run(be: &dyn Backend) {
    be.create_layout()
        .await
        .expect("create_layout on an empty location");
    be.create(FileKind::Config, "config", Bytes::from_static(b"cfg"))
        .await
        .unwrap();
    assert_eq!(
        be.create_layout().await.unwrap_err().kind(),
        ErrorKind::AlreadyExists,
        "create_layout must refuse an existing repository"
    );
    let name = "a".repeat(64);
    for kind in [
        FileKind::Key,
        FileKind::Pack,
        FileKind::Index,
        FileKind::Snapshot,
        FileKind::Lock,
        FileKind::Gc,
        FileKind::Verify,
        FileKind::Archive,
    ] {
        assert!(
            be.list(kind).await.unwrap().is_empty(),
            "{kind} starts empty"
        );
        be.create(kind, &name, Bytes::from_static(b"hello world"))
            .await
            .unwrap();
        // Create-only: a second create fails and leaves the first content.
        let e = be
            .create(kind, &name, Bytes::from_static(b"other"))
            .await
            .unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::AlreadyExists,
            "{kind}: create must not overwrite"
        );
        assert_eq!(&be.read(kind, &name).await.unwrap()[..], b"hello world");
        // Content-addressed re-create of identical size is success.
        create_content_addressed(be, kind, &name, Bytes::from_static(b"hello world"))
            .await
            .unwrap();
        assert_eq!(
            &be.read_range(kind, &name, 6, 5).await.unwrap()[..],
            b"world"
        );
        assert_eq!(
            be.read_range(kind, &name, 6, 50).await.unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        assert_eq!(be.list(kind).await.unwrap(), vec![(name.clone(), 11)]);
        assert_eq!(
            be.read(kind, "b").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        be.remove(kind, &name).await.unwrap();
        assert_eq!(
            be.remove(kind, &name).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert!(be.list(kind).await.unwrap().is_empty());
    }
    assert_eq!(
        &be.read(FileKind::Config, "config").await.unwrap()[..],
        b"cfg"
    );
}
