//! The CLI on an S3 repository: init, backup, snapshots, restore against a live endpoint.
//!
//! Driven by `HVELV_TEST_S3=s3:http://HOST:PORT/BUCKET` and the `AWS_*` credentials
//! (`eval "$(scripts/s3-up.sh)"`). Skips with a notice when unset, fails when
//! `HVELV_TEST_S3_REQUIRED` is set (CI).

use std::fs;
use std::process::Output;

use crate::roundtrip::build_tree;
use crate::util::{self, assert_same_tree, diff_r, Env};

/// A fresh repository URL below the bucket in `var`, or `None` to skip.
fn fresh_repo(var: &str, prefix: &str) -> Option<String> {
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
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    Some(format!("{url}/{prefix}-{}-{nanos}", std::process::id()))
}

/// A fresh repository URL below the test bucket, or `None` to skip.
fn s3_repo() -> Option<String> {
    fresh_repo("HVELV_TEST_S3", "cli")
}

fn run(env: &Env, repo: &str, args: &[&str], code: i32) -> Output {
    let out = env
        .cmd()
        .env("HVELV_REPOSITORY", repo)
        .args(args)
        .output()
        .expect("run hvelv");
    assert_eq!(
        out.status.code(),
        Some(code),
        "hvelv {args:?} on {repo}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn init_backup_restore_on_s3() {
    let Some(repo) = s3_repo() else { return };
    let env = Env::new();
    let src = env.path("src");
    build_tree(&src);
    // More than one pack, and a pack large enough for a multipart upload.
    fs::write(src.join("big.bin"), util::random_bytes(7, 40 << 20)).unwrap();
    run(
        &env,
        &repo,
        &["init", "--kdf-memory", "8", "--kdf-passes", "1"],
        0,
    );
    let err = run(
        &env,
        &repo,
        &["init", "--kdf-memory", "8", "--kdf-passes", "1"],
        1,
    );
    assert!(
        String::from_utf8_lossy(&err.stderr).contains("already exists"),
        "{err:?}"
    );

    let out = run(&env, &repo, &["backup", "--json", src.to_str().unwrap()], 0);
    let b: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(b["summary"]["errors"], 0, "{b}");
    // Unchanged second backup: dedup across runs on S3 too.
    let out = run(
        &env,
        &repo,
        &["backup", "--json", "--force", src.to_str().unwrap()],
        0,
    );
    let b2: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(b2["summary"]["bytes_added"], 0, "{b2}");

    let out = run(&env, &repo, &["snapshots", "--json"], 0);
    let snaps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(snaps.as_array().map(|a| a.len()), Some(2), "{snaps}");

    let target = env.path("restore");
    let spec = format!("latest:{}", src.display());
    run(
        &env,
        &repo,
        &["restore", &spec, "--target", target.to_str().unwrap()],
        0,
    );
    diff_r(&src, &target);
    assert_same_tree(&src, &target, true);

    // Verification records (verify/) on S3: two runs at 50 % cover every pack.
    let mut v = serde_json::Value::Null;
    for _ in 0..2 {
        let out = run(
            &env,
            &repo,
            &["check", "--json", "--read-data-budget", "50%"],
            0,
        );
        v = serde_json::from_slice(&out.stdout).unwrap();
    }
    assert_eq!(
        v["read_data"]["packs_covered"], v["read_data"]["packs_total"],
        "{v:#}"
    );
    assert_eq!(v["read_data"]["runs_for_full_coverage"], 2);
    run(&env, &repo, &["check", "--read-data"], 0);
}

#[test]
fn missing_credentials_and_missing_repository_are_clear_errors() {
    let Some(repo) = s3_repo() else { return };
    let env = Env::new();
    let out = env
        .cmd()
        .env("HVELV_REPOSITORY", &repo)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["snapshots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("AWS_ACCESS_KEY_ID") && err.contains("AWS_SECRET_ACCESS_KEY"),
        "{err}"
    );
    // Nothing at that prefix yet: the documented "no repository" exit code.
    run(&env, &repo, &["snapshots"], 10);
}

/// The nightly offsite case: a local (SAN) repository copied to S3 in one command; the second
/// night sends only what changed; the offsite copy restores byte-exact.
#[test]
fn nightly_copy_from_local_to_s3() {
    let Some(repo) = s3_repo() else { return };
    let env = Env::new();
    let src = env.path("src");
    build_tree(&src);
    fs::write(src.join("big.bin"), util::random_bytes(9, 12 << 20)).unwrap();
    env.init(&[]);
    env.backup(&[&src], &[]);
    let local = env.repo();
    let with_from = |args: &[&str], code: i32| {
        let out = env
            .cmd()
            .env("HVELV_REPOSITORY", &repo)
            .env("HVELV_FROM_PASSWORD", util::PASSWORD)
            .args(args)
            .output()
            .expect("run hvelv");
        assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
        out
    };
    with_from(
        &[
            "init",
            "--kdf-memory",
            "8",
            "--kdf-passes",
            "1",
            "--copy-chunker-params-from",
            local.to_str().unwrap(),
        ],
        0,
    );
    let copy = |env: &Env| -> serde_json::Value {
        let _ = env;
        let out = with_from(
            &["copy", "--all", "--json", "--from", local.to_str().unwrap()],
            0,
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let night1 = copy(&env);
    assert_eq!(night1["copied"].as_array().unwrap().len(), 1, "{night1}");
    fs::write(src.join("new.txt"), b"written on day two").unwrap();
    env.backup(&[&src], &[]);
    let night2 = copy(&env);
    assert_eq!(night2["copied"].as_array().unwrap().len(), 1, "{night2}");
    assert!(
        night2["bytes"].as_u64().unwrap() < 1 << 20,
        "day two sends only the change and trees: {night2}"
    );
    let t = env.path("from-s3");
    let id = night2["copied"][0]["target"].as_str().unwrap().to_owned();
    run(
        &env,
        &repo,
        &[
            "restore",
            &format!("{id}:{}", src.display()),
            "--target",
            t.to_str().unwrap(),
        ],
        0,
    );
    assert_same_tree(&src, &t, false);
}

/// A fresh repository URL below the Object Lock test bucket, or `None` to skip.
fn s3_lock_repo() -> Option<String> {
    fresh_repo("HVELV_TEST_S3_LOCK", "worm")
}

/// The S3 backend of `repo` as a client *without* the WORM policy would use it.
fn plain_backend(repo: &str) -> hvelv_engine::backend::S3Backend {
    use hvelv_engine::backend::{S3Backend, S3Location, S3Options};
    S3Backend::new(
        S3Location::parse(repo).unwrap(),
        std::env::vars(),
        S3Options::default(),
    )
    .unwrap()
}

/// The WORM offsite repository on RGW's Object Lock bucket, end to end through the CLI: init
/// refuses a bucket without Object Lock and records the policy; every object a backup writes has
/// a retention of at least the policy's days (read back per object); forgetting a held snapshot
/// fails with exit code 14 and the date; forget and prune keep held files and say why; check
/// flags an object written without retention.
#[test]
fn worm_repository_on_the_object_lock_bucket() {
    use hvelv_engine::backend::{Backend, FileKind, LockMode, ObjectLock};
    let (Some(repo), Some(plain)) = (s3_lock_repo(), s3_repo()) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("keep.bin"), util::random_bytes(1, 3 << 20)).unwrap();
    fs::write(src.join("gone.bin"), util::random_bytes(2, 3 << 20)).unwrap();
    let init = [
        "init",
        "--kdf-memory",
        "8",
        "--kdf-passes",
        "1",
        "--pack-size",
        "1M",
        "--object-lock-days",
        "1",
        "--object-lock-mode",
        "governance",
    ];
    let out = run(&env, &plain, &init, 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not have S3 Object Lock enabled"),
        "{err}"
    );
    let out = run(&env, &repo, &init, 0);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 days, governance mode"),
        "{out:?}"
    );

    run(&env, &repo, &["backup", "-q", src.to_str().unwrap()], 0);
    fs::remove_file(src.join("gone.bin")).unwrap();
    run(&env, &repo, &["backup", "-q", src.to_str().unwrap()], 0);

    // Every object hvelv wrote carries the retention, read back object by object.
    let policy = ObjectLock {
        days: 1,
        mode: LockMode::Governance,
    };
    let be = plain_backend(&repo);
    let counted = rt.block_on(async {
        be.set_object_lock(policy).await.unwrap();
        let mut n = 0;
        for kind in FileKind::ALL.into_iter().filter(|k| k.retained()) {
            for (name, _) in be.list(kind).await.unwrap() {
                let r = be.retention(kind, &name).await.unwrap();
                let r = r.unwrap_or_else(|| panic!("{kind} {name} has no retention"));
                assert!(policy.satisfied_by(&r), "{kind} {name}: {r:?}");
                n += 1;
            }
        }
        n
    });
    assert!(
        counted >= 6,
        "config, key, packs, index, snapshots: {counted}"
    );
    let out = run(&env, &repo, &["check", "--json"], 0);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["problems"].as_array().unwrap().len(), 0, "{report}");

    // Removing a held snapshot through hvelv fails clearly, and nothing is removed.
    let out = run(&env, &repo, &["snapshots", "--json"], 0);
    let snaps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = snaps[0]["id"].as_str().unwrap().to_owned();
    let out = run(&env, &repo, &["forget", &first], 14);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("held by Object Lock until") && err.contains("Forget them after that date"),
        "{err}"
    );
    let out = run(&env, &repo, &["forget", "--keep-last", "1"], 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("held") && text.contains("Object Lock"),
        "{text}"
    );
    let out = run(&env, &repo, &["forget", "--keep-last", "1", "--json"], 0);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["held"][0]["name"], first.as_str(), "{plan}");
    assert_eq!(plan["removed"].as_array().unwrap().len(), 0, "{plan}");

    // A client without the policy hides the first snapshot (a plain DELETE on a versioned
    // bucket only adds a delete marker). Its data is unused now, but prune keeps the held packs.
    rt.block_on(plain_backend(&repo).remove(FileKind::Snapshot, &first))
        .unwrap();
    let out = run(&env, &repo, &["prune", "--dry-run", "--json"], 0);
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["delete"].as_array().unwrap().len(), 0, "{p}");
    assert_eq!(p["repack"].as_array().unwrap().len(), 0, "{p}");
    assert!(!p["held"].as_array().unwrap().is_empty(), "{p}");
    let out = run(&env, &repo, &["prune"], 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("held by Object Lock until") && text.contains("deleted 0 pack(s)"),
        "{text}"
    );

    // An object written without retention (a plain put) is reported by check.
    let stray = "0".repeat(64);
    rt.block_on(plain_backend(&repo).create(
        FileKind::Verify,
        &stray,
        bytes::Bytes::from_static(b"not a record"),
    ))
    .unwrap();
    let out = run(&env, &repo, &["check", "--json"], 13);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bad: Vec<&serde_json::Value> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "retention_violated")
        .collect();
    assert_eq!(bad.len(), 1, "{report}");
    assert_eq!(bad[0]["subject"], stray.as_str());

    // The data of the remaining snapshot restores.
    let target = env.path("restored");
    run(
        &env,
        &repo,
        &["restore", "latest", "--target", target.to_str().unwrap()],
        0,
    );
    let back = target.join(src.strip_prefix("/").unwrap());
    assert_eq!(
        fs::read(back.join("keep.bin")).unwrap(),
        util::random_bytes(1, 3 << 20)
    );
}

/// S3 settings as flags: `s3:BUCKET/PREFIX` with `--s3-endpoint`, credentials from an AWS
/// shared-credentials file (no key in the environment), `--s3-region`.
#[test]
fn s3_settings_from_flags_and_a_credentials_file() {
    let Some(full) = s3_repo() else { return };
    let rest = full.strip_prefix("s3:").unwrap();
    let (scheme, after) = rest.split_once("://").unwrap();
    let (host, bucket_prefix) = after.split_once('/').unwrap();
    let endpoint = format!("{scheme}://{host}");
    let repo = format!("s3:{bucket_prefix}");
    let env = Env::new();
    let creds = env.path("credentials");
    fs::write(
        &creds,
        format!(
            "[offsite]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            std::env::var("AWS_ACCESS_KEY_ID").unwrap(),
            std::env::var("AWS_SECRET_ACCESS_KEY").unwrap()
        ),
    )
    .unwrap();
    let hvelv = |args: &[&str], code: i32| {
        let out = env
            .cmd()
            .env("HVELV_REPOSITORY", &repo)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_ENDPOINT")
            .args(["--s3-endpoint", &endpoint, "--s3-region", "us-east-1"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
        out
    };
    let cf = creds.to_str().unwrap();
    // Without credentials a custom endpoint is refused before any request.
    let out = hvelv(&["snapshots"], 1);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("AWS_ACCESS_KEY_ID"),
        "{out:?}"
    );
    let init = ["init", "--kdf-memory", "8", "--kdf-passes", "1"];
    let with_creds = |a: &[&str]| -> Vec<String> {
        ["--s3-credentials-file", cf, "--s3-profile", "offsite"]
            .iter()
            .chain(a)
            .map(|s| s.to_string())
            .collect()
    };
    let args = with_creds(&init);
    hvelv(&args.iter().map(String::as_str).collect::<Vec<_>>(), 0);
    let args = with_creds(&["snapshots", "--json"]);
    let out = hvelv(&args.iter().map(String::as_str).collect::<Vec<_>>(), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
}

/// Put-only keys with a WORM offsite (docs/SECURITY.md): a compromised client can add a backup
/// but can neither read history nor remove it — hvelv refuses (exit 15), and a delete sent
/// straight to the storage is refused by Object Lock; the full key still restores everything.
#[test]
fn put_only_client_on_a_worm_repository_can_neither_read_nor_destroy_history() {
    use hvelv_engine::backend::{Backend, FileKind, LockMode, ObjectLock};
    use hvelv_engine::ErrorKind;
    let Some(repo) = s3_lock_repo() else {
        return;
    };
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("ledger.bin"), util::random_bytes(5, 1 << 20)).unwrap();
    let init = [
        "init",
        "--kdf-memory",
        "8",
        "--kdf-passes",
        "1",
        "--object-lock-days",
        "1",
        "--object-lock-mode",
        "governance",
    ];
    run(&env, &repo, &init, 0);
    run(&env, &repo, &["backup", "-q", src.to_str().unwrap()], 0);
    let pw = env.path("client-pw");
    fs::write(&pw, "client password\n").unwrap();
    run(
        &env,
        &repo,
        &[
            "key",
            "add",
            "--put-only",
            "--name",
            "fileserver",
            "--new-password-file",
            pw.to_str().unwrap(),
        ],
        0,
    );
    let client = |args: &[&str], code: i32| {
        let out = env
            .cmd()
            .env("HVELV_REPOSITORY", &repo)
            .env("HVELV_PASSWORD", "client password")
            .env("HVELV_CACHE_DIR", env.path("cache"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
        out
    };
    fs::write(src.join("new.txt"), "tonight").unwrap();
    client(&["backup", "-q", src.to_str().unwrap()], 0);
    let t = env.path("t");
    for args in [
        vec!["snapshots"],
        vec!["restore", "latest", "--target", t.to_str().unwrap()],
        vec!["forget", "--keep-last", "1"],
        vec!["prune"],
    ] {
        let out = client(&args, 15);
        assert!(String::from_utf8_lossy(&out.stderr).contains("put-only key"));
    }
    // With the storage credentials, removing history directly is refused by Object Lock.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let be = plain_backend(&repo);
    let snaps = rt.block_on(async {
        be.set_object_lock(ObjectLock {
            days: 1,
            mode: LockMode::Governance,
        })
        .await
        .unwrap();
        let snaps = be.list(FileKind::Snapshot).await.unwrap();
        for (name, _) in &snaps {
            let e = be.remove(FileKind::Snapshot, name).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Locked, "{e}");
        }
        snaps
    });
    assert_eq!(snaps.len(), 2);
    // The full key still sees both snapshots and restores tonight's.
    let out = run(&env, &repo, &["snapshots", "--json"], 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    run(
        &env,
        &repo,
        &["restore", "latest", "--target", t.to_str().unwrap()],
        0,
    );
    assert_eq!(
        util::content_hashes(&t.join(src.strip_prefix("/").unwrap())),
        util::content_hashes(&src)
    );
}
