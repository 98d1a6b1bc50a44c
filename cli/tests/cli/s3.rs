//! The CLI on an S3 repository: init, backup, snapshots, restore against a live endpoint.
//!
//! Driven by `HVELV_TEST_S3=s3:http://HOST:PORT/BUCKET` and the `AWS_*` credentials
//! (`eval "$(scripts/s3-up.sh)"`). Skips with a notice when unset, fails when
//! `HVELV_TEST_S3_REQUIRED` is set (CI).

use std::fs;
use std::process::Output;

use crate::roundtrip::build_tree;
use crate::util::{self, assert_same_tree, diff_r, Env};

/// A fresh repository URL below the test bucket, or `None` to skip.
fn s3_repo() -> Option<String> {
    let Ok(url) = std::env::var("HVELV_TEST_S3") else {
        if std::env::var_os("HVELV_TEST_S3_REQUIRED").is_some() {
            panic!("HVELV_TEST_S3_REQUIRED is set but HVELV_TEST_S3 is not: the S3 test server did not start");
        }
        eprintln!("SKIPPED: HVELV_TEST_S3 is not set; run `eval \"$(scripts/s3-up.sh)\"` to test against S3");
        return None;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    Some(format!("{url}/cli-{}-{nanos}", std::process::id()))
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
