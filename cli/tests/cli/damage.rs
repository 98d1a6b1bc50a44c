//! Wrong password and damaged repositories: each gives its own clear error, never a panic,
//! and what is intact is still restored. Also: nothing in the repository is plaintext.

use std::fs;
use std::path::{Path, PathBuf};

use crate::util::{self, Env};

fn setup() -> (Env, PathBuf) {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    for i in 0..6 {
        fs::write(
            src.join(format!("sub/file{i}.bin")),
            util::random_bytes(i, 700_000),
        )
        .unwrap();
    }
    fs::write(src.join("small.txt"), b"small").unwrap();
    // Small packs so files land in different packs.
    env.init(&[
        "--pack-size",
        "1M",
        "--chunk-min",
        "64K",
        "--chunk-avg",
        "128K",
        "--chunk-max",
        "512K",
    ]);
    env.backup(&[&src], &[]);
    (env, src)
}

fn largest_data_pack(repo: &Path) -> PathBuf {
    let mut packs = util::repo_files(repo, "data");
    packs.sort_by_key(|p| std::cmp::Reverse(fs::metadata(p).unwrap().len()));
    packs[0].clone()
}

fn no_panic(out: &std::process::Output) {
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!e.contains("panicked"), "hvelv panicked: {e}");
}

#[test]
fn wrong_password_exit_12() {
    let (env, _) = setup();
    let out = env
        .cmd()
        .env("HVELV_PASSWORD", "not it")
        .arg("snapshots")
        .output()
        .unwrap();
    no_panic(&out);
    assert_eq!(out.status.code(), Some(12));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong password"));
}

#[test]
fn missing_repository_exit_10() {
    let env = Env::new();
    let out = env.cmd().arg("snapshots").output().unwrap();
    no_panic(&out);
    assert_eq!(out.status.code(), Some(10));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hvelv init"));
}

fn restore_after(env: &Env, src: &Path, what: &str) -> (String, PathBuf) {
    let t = env.path(&format!("restore-{what}"));
    let out = env
        .cmd()
        .args(["restore", &format!("latest:{}", src.display()), "--target"])
        .arg(&t)
        .output()
        .unwrap();
    no_panic(&out);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (String::from_utf8_lossy(&out.stderr).into_owned(), t)
}

/// The damaged pack's files are named; every other file is restored intact.
fn check_partial(stderr: &str, target: &Path, src: &Path, expect: &str) {
    assert!(stderr.contains(expect), "expected {expect:?} in: {stderr}");
    let named: Vec<_> = (0..6)
        .filter(|i| stderr.contains(&format!("file{i}.bin")))
        .collect();
    assert!(!named.is_empty(), "no damaged file named: {stderr}");
    for i in 0..6 {
        if !named.contains(&i) {
            let a = fs::read(src.join(format!("sub/file{i}.bin"))).unwrap();
            let b = fs::read(target.join(format!("sub/file{i}.bin"))).unwrap();
            assert!(a == b, "undamaged file{i}.bin differs");
        }
    }
    if !stderr.contains("small.txt") {
        assert_eq!(fs::read(target.join("small.txt")).unwrap(), b"small");
    }
}

#[test]
fn flipped_bit_in_pack_names_affected_files() {
    let (env, src) = setup();
    let p = largest_data_pack(&env.repo());
    let mut b = fs::read(&p).unwrap();
    b[1000] ^= 0x04;
    fs::write(&p, b).unwrap();
    let (err, t) = restore_after(&env, &src, "flip");
    check_partial(&err, &t, &src, "authentication failed");
}

#[test]
fn truncated_pack_names_affected_files() {
    let (env, src) = setup();
    let p = largest_data_pack(&env.repo());
    let len = fs::metadata(&p).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(len / 3)
        .unwrap();
    let (err, t) = restore_after(&env, &src, "trunc");
    check_partial(&err, &t, &src, "truncated");
}

#[test]
fn missing_pack_names_affected_files() {
    let (env, src) = setup();
    let p = largest_data_pack(&env.repo());
    fs::remove_file(&p).unwrap();
    let (err, t) = restore_after(&env, &src, "missing");
    check_partial(&err, &t, &src, "No such file");
}

#[test]
fn damaged_snapshot_and_index_files_are_clear_errors() {
    let (env, _) = setup();
    let idx = util::repo_files(&env.repo(), "index").remove(0);
    let mut b = fs::read(&idx).unwrap();
    let n = b.len();
    b[n - 5] ^= 1;
    fs::write(&idx, b).unwrap();
    let out = env.cmd().args(["ls", "latest"]).output().unwrap();
    no_panic(&out);
    assert_eq!(
        out.status.code(),
        Some(13),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("index file"));
}

#[test]
fn no_plaintext_in_repository() {
    let env = Env::new();
    let marker = "HVELV-MARKER-7f3a9c";
    let src = env.path("src");
    fs::create_dir_all(src.join(format!("dir-{marker}"))).unwrap();
    fs::write(
        src.join(format!("dir-{marker}/name-{marker}.txt")),
        format!("content {marker} ").repeat(5000),
    )
    .unwrap();
    fs::write(src.join("plain"), marker.repeat(10)).unwrap();
    env.init(&["--compression", "0"]);
    env.backup(&[&src], &["--tag", marker, "--host", marker]);
    let needle = marker.as_bytes();
    let src_name = src.to_str().unwrap().as_bytes().to_vec();
    for f in util::all_files(&env.repo()) {
        let b = fs::read(&f).unwrap();
        assert!(
            !b.windows(needle.len()).any(|w| w == needle),
            "marker found in {}",
            f.display()
        );
        assert!(
            !b.windows(src_name.len()).any(|w| w == src_name.as_slice()),
            "source path found in {}",
            f.display()
        );
    }
}

#[test]
fn password_file_and_command_sources() {
    let env = Env::new();
    let pwf = env.path("pw");
    fs::write(&pwf, format!("{}\nsecond line ignored\n", util::PASSWORD)).unwrap();
    env.init(&[]);
    let out = env
        .cmd()
        .env_remove("HVELV_PASSWORD")
        .env("HVELV_PASSWORD_FILE", &pwf)
        .arg("snapshots")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env
        .cmd()
        .env_remove("HVELV_PASSWORD")
        .args([
            "--password-command",
            &format!("echo '{}'", util::PASSWORD),
            "snapshots",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env
        .cmd()
        .env_remove("HVELV_PASSWORD")
        .stdin(std::process::Stdio::null())
        .arg("snapshots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no password given"));
}
