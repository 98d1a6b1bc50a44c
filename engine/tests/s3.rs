//! The backend conformance suite and S3-specific checks against a live S3 endpoint.
//!
//! Driven by the environment (nothing is started here): `HVELV_TEST_S3=s3:http://HOST:PORT/BUCKET`
//! (and optionally `HVELV_TEST_S3_LOCK` for an Object Lock bucket) plus `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`. `scripts/s3-up.sh` starts a local Ceph RGW and prints
//! them. Without `HVELV_TEST_S3` the tests print a skip notice, unless `HVELV_TEST_S3_REQUIRED`
//! is set (CI), where a missing endpoint is a failure.

use std::sync::Arc;

use bytes::Bytes;
use hvelv_engine::backend::{
    conformance, create_content_addressed, Backend, FileKind, LockMode, ObjectLock, S3Backend,
    S3Location, S3Options,
};
use hvelv_engine::{ErrorKind, FileId};

/// A backend on a fresh random prefix of the bucket in `var`, or `None` (skip) when unset.
fn backend(var: &str, opts: S3Options) -> Option<S3Backend> {
    let Ok(url) = std::env::var(var) else {
        if std::env::var_os("HVELV_TEST_S3_REQUIRED").is_some() {
            panic!(
                "HVELV_TEST_S3_REQUIRED is set but {var} is not: the S3 test server did not start"
            );
        }
        eprintln!(
            "SKIPPED: {var} is not set; run `eval \"$(scripts/s3-up.sh)\"` to test against S3"
        );
        return None;
    };
    let mut r = [0u8; 8];
    getrandom::getrandom(&mut r).unwrap();
    let loc = S3Location::parse(&format!("{url}/t-{}", hex::encode(r))).expect("valid test URL");
    Some(S3Backend::new(loc, std::env::vars(), opts).expect("S3 backend from the environment"))
}

#[tokio::test]
async fn conformance_on_s3() {
    let Some(be) = backend("HVELV_TEST_S3", S3Options::default()) else {
        return;
    };
    conformance::run(&be).await;
}

/// Ceph RGW 16 ignores `If-None-Match: *` on Object Lock buckets: there `init` must refuse
/// loudly instead of silently losing create-only semantics. A server that honours the condition must pass the whole suite.
#[tokio::test]
async fn object_lock_bucket_conforms_or_is_refused() {
    let Some(be) = backend("HVELV_TEST_S3_LOCK", S3Options::default()) else {
        return;
    };
    match be.create_layout().await {
        Ok(()) => {
            eprintln!("the Object Lock bucket honours conditional create: running the suite");
            let fresh = backend("HVELV_TEST_S3_LOCK", S3Options::default()).unwrap();
            conformance::run(&fresh).await;
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
            assert!(e.to_string().contains("If-None-Match"), "{e}");
            eprintln!("refused as expected: {e}");
            // The probe leaves nothing visible behind.
            for kind in FileKind::ALL {
                assert!(be.list(kind).await.unwrap().is_empty(), "{kind}");
            }
        }
    }
}

#[tokio::test]
async fn large_packs_go_up_as_multipart_and_stay_create_only() {
    let opts = S3Options {
        multipart_threshold: 5 << 20,
        part_size: 5 << 20,
        ..Default::default()
    };
    let Some(be) = backend("HVELV_TEST_S3", opts) else {
        return;
    };
    be.create_layout().await.unwrap();
    let mut data = vec![0u8; (12 << 20) + 12345];
    getrandom::getrandom(&mut data).unwrap();
    let data = Bytes::from(data);
    let name = FileId::of(&data).to_hex();
    be.create(FileKind::Pack, &name, data.clone())
        .await
        .unwrap();
    assert_eq!(be.read(FileKind::Pack, &name).await.unwrap(), data);
    assert_eq!(
        be.read_range(FileKind::Pack, &name, 6 << 20, 1000)
            .await
            .unwrap(),
        data.slice(6 << 20..(6 << 20) + 1000)
    );
    assert_eq!(
        be.list(FileKind::Pack).await.unwrap(),
        vec![(name.clone(), data.len() as u64)]
    );
    // A repeat upload is refused before anything is sent, and the caller's check accepts it.
    let e = be
        .create(FileKind::Pack, &name, data.clone())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    create_content_addressed(&be, FileKind::Pack, &name, data.clone())
        .await
        .unwrap();
    // Concurrent uploads of the same pack (two clients backing up the same data): both
    // succeed through the content-addressed path and the stored object is intact.
    let be = Arc::new(be);
    let mut other = vec![1u8; (11 << 20) + 7];
    getrandom::getrandom(&mut other[..4096]).unwrap();
    let other = Bytes::from(other);
    let other_name = FileId::of(&other).to_hex();
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let (be, other, n) = (be.clone(), other.clone(), other_name.clone());
            tokio::spawn(
                async move { create_content_addressed(&*be, FileKind::Pack, &n, other).await },
            )
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(be.read(FileKind::Pack, &other_name).await.unwrap(), other);
    // A large file whose name is not its hash never takes the unconditional path.
    be.create(FileKind::Pack, &name[..63], data.clone())
        .await
        .unwrap();
    let e = be
        .create(FileKind::Pack, &name[..63], other.clone())
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::AlreadyExists,
        "non-content-addressed large create is conditional"
    );
    assert_eq!(be.read(FileKind::Pack, &name[..63]).await.unwrap(), data);
}

#[tokio::test]
async fn create_layout_refuses_a_non_empty_prefix() {
    let Some(be) = backend("HVELV_TEST_S3", S3Options::default()) else {
        return;
    };
    be.create_layout().await.unwrap();
    be.create(FileKind::Key, "k1", Bytes::from_static(b"key"))
        .await
        .unwrap();
    let e = be.create_layout().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert!(e.to_string().contains("not empty"), "{e}");
    // The probe object is gone and never shows up in listings.
    for kind in FileKind::ALL {
        let l = be.list(kind).await.unwrap();
        assert!(l.iter().all(|(n, _)| !n.contains("probe")), "{kind}: {l:?}");
    }
}

#[tokio::test]
async fn wrong_credentials_give_an_actionable_error() {
    let Ok(url) = std::env::var("HVELV_TEST_S3") else {
        eprintln!("SKIPPED: HVELV_TEST_S3 is not set");
        return;
    };
    let loc = S3Location::parse(&url).unwrap();
    let vars = std::env::vars()
        .filter(|(k, _)| k != "AWS_SECRET_ACCESS_KEY")
        .chain([(
            "AWS_SECRET_ACCESS_KEY".to_owned(),
            "wrong-secret".to_owned(),
        )]);
    let opts = S3Options {
        max_retries: 1,
        ..Default::default()
    };
    let be = S3Backend::new(loc, vars, opts).unwrap();
    let e = be.read(FileKind::Config, "config").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Backend, "{e}");
    assert!(e.to_string().contains("AWS_SECRET_ACCESS_KEY"), "{e}");
}

/// A short policy for tests: objects stay undeletable for a day (GOVERNANCE, so that an
/// administrator could still clean up the shared test server).
const TEST_LOCK: ObjectLock = ObjectLock {
    days: 1,
    mode: LockMode::Governance,
};

/// WORM mode on the Object Lock bucket: create-only by HEAD + PUT (RGW ignores If-None-Match
/// there), every retained kind written with a retention that satisfies the policy and refused
/// deletion with a clear error, protocol files removable.
#[tokio::test]
async fn worm_conformance_on_the_lock_bucket() {
    let Some(be) = backend("HVELV_TEST_S3_LOCK", S3Options::default()) else {
        return;
    };
    be.set_object_lock(TEST_LOCK).await.unwrap();
    conformance::run_worm(&be, TEST_LOCK).await;
    // Large packs too (no multipart in WORM mode: one PUT with the retention headers).
    let mut data = vec![0u8; (9 << 20) + 17];
    getrandom::getrandom(&mut data).unwrap();
    let data = Bytes::from(data);
    let name = FileId::of(&data).to_hex();
    create_content_addressed(&be, FileKind::Pack, &name, data.clone())
        .await
        .unwrap();
    assert_eq!(be.read(FileKind::Pack, &name).await.unwrap(), data);
    let r = be.retention(FileKind::Pack, &name).await.unwrap().unwrap();
    assert!(TEST_LOCK.satisfied_by(&r), "{r:?}");
    // The server itself refuses to delete the version (not only hvelv's check).
    let e = be.remove(FileKind::Pack, &name).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Locked, "{e}");
}

#[tokio::test]
async fn object_lock_is_refused_on_a_plain_bucket() {
    let Some(be) = backend("HVELV_TEST_S3", S3Options::default()) else {
        return;
    };
    let e = be.set_object_lock(TEST_LOCK).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(
        e.to_string()
            .contains("does not have S3 Object Lock enabled"),
        "{e}"
    );
    assert_eq!(be.object_lock(), None);
}
