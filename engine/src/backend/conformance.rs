//! The conformance suite every [`Backend`] must pass. Public so that out-of-crate backends
//! (and integration tests against a live S3 endpoint) run the same checks.

use bytes::Bytes;

use super::{commit_content_addressed, create_content_addressed, Backend, FileKind, ObjectLock};
use crate::error::ErrorKind;

/// Lay out an empty location, store `config`, and check that a second layout is refused.
async fn create_layout_and_config(be: &dyn Backend) {
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
}

/// Run the suite against an empty location; panics (test failure) on a contract violation.
pub async fn run(be: &dyn Backend) {
    create_layout_and_config(be).await;
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
        if let Some(direct) = be.direct_reader(kind) {
            // Direct reads answer like read_range, also from a handle opened earlier.
            for _ in 0..2 {
                assert_eq!(&direct.read_range(&name, 6, 5).unwrap()[..], b"world");
            }
            assert_eq!(
                direct.read_range(&name, 6, 50).unwrap_err().kind(),
                ErrorKind::Corrupt
            );
            assert_eq!(
                direct.read_range("b", 0, 1).unwrap_err().kind(),
                ErrorKind::NotFound
            );
        }
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
    staged_files(be).await;
}

/// Staged files ([`Backend::staging_file`]), for backends that offer them: written in pieces,
/// invisible until committed, then like a `create`d file; create-only; an uncommitted or
/// refused one leaves nothing behind.
async fn staged_files(be: &dyn Backend) {
    let kind = FileKind::Pack;
    let Some(staged) = be.staging_file(kind) else {
        return;
    };
    let staged = staged.unwrap();
    staged.write_at(b"world", 6).unwrap();
    staged.write_at(b"hello ", 0).unwrap();
    assert!(
        be.list(kind).await.unwrap().is_empty(),
        "staged files are not listed"
    );
    let name = "c".repeat(64);
    be.commit_staged(kind, &name, staged).await.unwrap();
    assert_eq!(&be.read(kind, &name).await.unwrap()[..], b"hello world");
    assert_eq!(be.list(kind).await.unwrap(), vec![(name.clone(), 11)]);
    // Create-only, and content-addressed re-commits of the same size are success.
    let other = be.staging_file(kind).unwrap().unwrap();
    other.write_at(b"other", 0).unwrap();
    let path = other.path().to_path_buf();
    let e = be.commit_staged(kind, &name, other).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert!(!path.exists(), "a refused staged file is removed");
    assert_eq!(&be.read(kind, &name).await.unwrap()[..], b"hello world");
    let same = be.staging_file(kind).unwrap().unwrap();
    same.write_at(b"hello world", 0).unwrap();
    commit_content_addressed(be, kind, &name, same, 11)
        .await
        .unwrap();
    // Dropped without a commit: gone.
    let dropped = be.staging_file(kind).unwrap().unwrap();
    let path = dropped.path().to_path_buf();
    dropped.write_at(b"x", 0).unwrap();
    drop(dropped);
    assert!(!path.exists(), "an uncommitted staged file is removed");
    be.remove(kind, &name).await.unwrap();
    assert!(be.list(kind).await.unwrap().is_empty());
}

/// The suite for a backend in WORM mode ([`Backend::set_object_lock`] with `policy` already
/// called, on an empty location): create-only writes, reads and listings as in [`run`]; every
/// retained kind carries a retention satisfying `policy` and refuses removal with
/// [`ErrorKind::Locked`] (the file stays readable); job markers and gc records carry none and
/// are removed normally.
pub async fn run_worm(be: &dyn Backend, policy: ObjectLock) {
    assert_eq!(be.object_lock(), Some(policy), "WORM mode is on");
    create_layout_and_config(be).await;
    let name = "b".repeat(64);
    for kind in FileKind::ALL {
        let name = if kind == FileKind::Config {
            "config"
        } else {
            name.as_str()
        };
        if kind != FileKind::Config {
            assert!(
                be.list(kind).await.unwrap().is_empty(),
                "{kind} starts empty"
            );
            be.create(kind, name, Bytes::from_static(b"hello world"))
                .await
                .unwrap();
        }
        let body: &[u8] = if kind == FileKind::Config {
            b"cfg"
        } else {
            b"hello world"
        };
        let e = be
            .create(kind, name, Bytes::from_static(b"other"))
            .await
            .unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::AlreadyExists,
            "{kind}: create must not overwrite"
        );
        assert_eq!(&be.read(kind, name).await.unwrap()[..], body, "{kind}");
        assert_eq!(
            be.list(kind).await.unwrap(),
            vec![(name.to_owned(), body.len() as u64)]
        );
        let r = be.retention(kind, name).await.unwrap();
        if kind.retained() {
            let r = r.unwrap_or_else(|| panic!("{kind} was written without retention"));
            assert!(
                policy.satisfied_by(&r),
                "{kind}: {r:?} does not satisfy {policy}"
            );
            let e = be.remove(kind, name).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Locked, "{kind}: {e}");
            assert!(
                e.message().contains("Object Lock")
                    && e.message()
                        .contains(&r.until.format("%Y-%m-%d").to_string()),
                "{e}"
            );
            assert_eq!(
                &be.read(kind, name).await.unwrap()[..],
                body,
                "{kind} survives"
            );
        } else {
            // Protocol files: no retention of hvelv's own (a bucket default may add one).
            if r.is_none() {
                be.remove(kind, name).await.unwrap();
                assert_eq!(
                    be.remove(kind, name).await.unwrap_err().kind(),
                    ErrorKind::NotFound
                );
                assert!(be.list(kind).await.unwrap().is_empty());
            }
        }
    }
    assert_eq!(
        be.retention(FileKind::Pack, "c").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}
