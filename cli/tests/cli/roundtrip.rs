//! Round trip of a tree with every kind of metadata hvelv captures.

use std::ffi::OsStr;
use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;

use crate::util::{self, assert_same_tree, diff_r, is_root, Env};

fn set_times(p: &Path, secs: i64, nanos: u32, follow: bool) {
    let t = filetime::FileTime::from_unix_time(secs, nanos);
    if follow {
        filetime::set_file_times(p, t, t).unwrap();
    } else {
        filetime::set_symlink_file_times(p, t, t).unwrap();
    }
}

/// Build a tree with files, empty dirs, symlinks, hard links, a fifo, a device (root), xattrs,
/// an ACL, a sparse file, non-UTF-8 names, special modes and owners, nanosecond times.
pub fn build_tree(root: &Path) {
    fs::create_dir_all(root.join("docs/empty")).unwrap();
    fs::create_dir_all(root.join("deep/a/b/c")).unwrap();
    fs::write(
        root.join("docs/letter.txt"),
        "Kjære innbygger,\n".repeat(1000),
    )
    .unwrap();
    fs::write(root.join("docs/empty-file"), b"").unwrap();
    fs::write(
        root.join("deep/a/b/c/random.bin"),
        util::random_bytes(1, 3 << 20),
    )
    .unwrap();
    fs::write(
        root.join(OsStr::from_bytes(b"caf\xe9-latin1.txt")),
        b"non-UTF-8 name",
    )
    .unwrap();
    fs::write(root.join("blåbærsyltetøy.txt"), b"UTF-8 name").unwrap();
    symlink("docs/letter.txt", root.join("link-to-letter")).unwrap();
    symlink("/nonexistent/target", root.join("dangling")).unwrap();
    fs::write(root.join("hard1"), b"shared inode").unwrap();
    fs::hard_link(root.join("hard1"), root.join("docs/hard2")).unwrap();
    let fifo = std::ffi::CString::new(root.join("fifo").as_os_str().as_bytes()).unwrap();
    // SAFETY: valid C string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o640) }, 0);
    // Sparse: 1 MiB data, 32 MiB hole, 1 MiB data, trailing hole.
    {
        let mut f = fs::File::create(root.join("sparse.img")).unwrap();
        f.write_all(&util::random_bytes(2, 1 << 20)).unwrap();
        f.seek(SeekFrom::Current(32 << 20)).unwrap();
        f.write_all(&util::random_bytes(3, 1 << 20)).unwrap();
        f.set_len(40 << 20).unwrap();
    }
    fs::set_permissions(
        root.join("docs/letter.txt"),
        fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    fs::set_permissions(root.join("deep/a"), fs::Permissions::from_mode(0o1777)).unwrap();
    let xattrs_ok = xattr::set(root.join("docs/letter.txt"), "user.hvelv.note", b"arkiv").is_ok();
    if xattrs_ok {
        xattr::set(root.join("docs"), "user.dir-attr", b"\x00\x01binary").unwrap();
    } else {
        eprintln!("user xattrs unsupported on this file system; round trip without them");
    }
    if Command::new("setfacl").arg("--version").output().is_ok() {
        let ok = Command::new("setfacl")
            .args(["-m", "u:1234:r"])
            .arg(root.join("docs/letter.txt"))
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            eprintln!("setfacl failed; no ACL in this round trip");
        }
    } else {
        eprintln!("setfacl not installed (Debian package acl); no ACL in this round trip");
    }
    if is_root() {
        let dev = std::ffi::CString::new(root.join("null-device").as_os_str().as_bytes()).unwrap();
        // SAFETY: valid C string; mknod of a char device as root.
        assert_eq!(
            unsafe { libc::mknod(dev.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 3)) },
            0
        );
        std::os::unix::fs::lchown(root.join("docs/empty-file"), Some(1234), Some(2345)).unwrap();
        std::os::unix::fs::lchown(root.join("dangling"), Some(4321), Some(4321)).unwrap();
        fs::write(root.join("setuid-tool"), b"#!/bin/sh\n").unwrap();
        std::os::unix::fs::chown(root.join("setuid-tool"), Some(1000), Some(1000)).unwrap();
        fs::set_permissions(root.join("setuid-tool"), fs::Permissions::from_mode(0o4755)).unwrap();
    }
    set_times(
        &root.join("docs/letter.txt"),
        1_600_000_000,
        123_456_789,
        true,
    );
    set_times(
        &root.join("link-to-letter"),
        1_500_000_000,
        987_654_321,
        false,
    );
    // Directory times last (creating entries changes them).
    for d in [
        "docs/empty",
        "docs",
        "deep/a/b/c",
        "deep/a/b",
        "deep/a",
        "deep",
    ] {
        set_times(&root.join(d), 1_400_000_000, 5, true);
    }
}

#[test]
fn every_metadata_kind_round_trips() {
    let env = Env::new();
    let src = env.path("src");
    build_tree(&src);
    env.init(&[]);
    let b = env.backup(&[&src], &["--tag", "t1"]);
    assert_eq!(b["summary"]["errors"], 0, "{b}");
    let target = env.path("restore");
    env.run(&[
        "restore",
        &format!("latest:{}", src.display()),
        "--target",
        target.to_str().unwrap(),
    ]);
    diff_r(&src, &target);
    assert_same_tree(&src, &target, true);
    // Holes were recreated, not written as zeros.
    let m = fs::metadata(target.join("sparse.img")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert!(
        m.blocks() * 512 < 8 << 20,
        "sparse file restored dense: {} blocks",
        m.blocks()
    );

    // Restoring the whole snapshot puts the absolute path below the target.
    let full = env.path("full");
    env.run(&["restore", "latest", "--target", full.to_str().unwrap()]);
    let inner = full.join(src.strip_prefix("/").unwrap());
    assert_same_tree(&src, &inner, false);

    // Re-running a restore over a complete target rewrites nothing.
    let out = env.run(&[
        "restore",
        &format!("latest:{}", src.display()),
        "--target",
        target.to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files_written"], 0, "{v}");
    assert!(v["files_unchanged"].as_u64().unwrap() >= 8, "{v}");
    assert_same_tree(&src, &target, false);
}

#[test]
fn interrupted_restore_is_completed_by_a_rerun() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..20 {
        fs::write(
            src.join(format!("f{i}")),
            util::random_bytes(i, 200_000 + i as usize),
        )
        .unwrap();
    }
    env.init(&[]);
    env.backup(&[&src], &[]);
    let target = env.path("t");
    env.run(&[
        "restore",
        &format!("latest:{}", src.display()),
        "--target",
        target.to_str().unwrap(),
    ]);
    // Simulate an interruption: one file truncated, one missing, one with wrong bytes.
    fs::OpenOptions::new()
        .write(true)
        .open(target.join("f3"))
        .unwrap()
        .set_len(10)
        .unwrap();
    fs::remove_file(target.join("f4")).unwrap();
    let mut b = fs::read(target.join("f5")).unwrap();
    b[100] ^= 1;
    fs::write(target.join("f5"), b).unwrap();
    let out = env.run(&[
        "restore",
        &format!("latest:{}", src.display()),
        "--target",
        target.to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files_written"], 3, "{v}");
    assert_eq!(v["files_unchanged"], 17, "{v}");
    diff_r(&src, &target);
}

#[test]
fn include_exclude_and_single_file_restore() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(src.join("a/b")).unwrap();
    fs::create_dir_all(src.join("cache")).unwrap();
    fs::write(src.join("a/b/keep.txt"), b"keep").unwrap();
    fs::write(src.join("a/skip.tmp"), b"tmp").unwrap();
    fs::write(src.join("cache/big"), b"cache").unwrap();
    fs::write(src.join("top.txt"), b"top").unwrap();
    let exf = env.path("excludes");
    fs::write(&exf, "# comment\n\ncache\n").unwrap();
    env.init(&[]);
    env.backup(
        &[&src],
        &[
            "--exclude",
            "*.tmp",
            "--exclude-file",
            exf.to_str().unwrap(),
        ],
    );
    let out = env.run(&["ls", "latest", src.to_str().unwrap()]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("keep.txt") && !listing.contains("skip.tmp") && !listing.contains("cache"),
        "{listing}"
    );

    let t = env.path("t1");
    env.run(&[
        "restore",
        &format!("latest:{}", src.display()),
        "--target",
        t.to_str().unwrap(),
        "--include",
        "*.txt",
        "--exclude",
        "top.txt",
    ]);
    assert!(t.join("a/b/keep.txt").exists());
    assert!(!t.join("top.txt").exists());

    let t2 = env.path("t2");
    env.run(&[
        "restore",
        &format!("latest:{}/a/b/keep.txt", src.display()),
        "--target",
        t2.to_str().unwrap(),
    ]);
    assert_eq!(fs::read(t2.join("keep.txt")).unwrap(), b"keep");

    let out = env.run_code(
        &[
            "restore",
            &format!("latest:{}/nope", src.display()),
            "--target",
            t2.to_str().unwrap(),
        ],
        1,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not in the snapshot"));
}

#[test]
fn unreadable_files_are_reported_and_skipped_with_exit_3() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(src.join("locked-dir")).unwrap();
    fs::write(src.join("ok"), b"ok").unwrap();
    fs::write(src.join("secret"), b"no").unwrap();
    fs::write(src.join("locked-dir/inside"), b"no").unwrap();
    env.init(&[]);
    fs::set_permissions(src.join("secret"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(src.join("locked-dir"), fs::Permissions::from_mode(0o000)).unwrap();
    let mut cmd = env.cmd();
    if is_root() {
        // Root reads everything: run the backup as `nobody` (setpriv, util-linux).
        if Command::new("setpriv").arg("--version").output().is_err() {
            eprintln!("running as root without setpriv: cannot create an unreadable file; skipped");
            return;
        }
        let st = Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(env.dir.path())
            .status()
            .unwrap();
        assert!(st.success());
        fs::set_permissions(env.dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        cmd = Command::new("setpriv");
        cmd.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_hvelv"),
        ])
        .env("HVELV_REPOSITORY", env.repo())
        .env("HVELV_PASSWORD", util::PASSWORD);
    }
    let out = cmd.args(["backup", "--json"]).arg(&src).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    assert!(
        stderr.contains("secret") && stderr.contains("locked-dir"),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["errors"], 2, "{v}");
    // The readable file is in the snapshot.
    let out = env.run(&["ls", "latest"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("/ok"));
}

#[test]
fn parent_snapshot_skips_unchanged_files() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..50 {
        fs::write(
            src.join(format!("f{i}")),
            util::random_bytes(100 + i, 10_000),
        )
        .unwrap();
    }
    env.init(&[]);
    let first = env.backup(&[&src], &[]);
    assert_eq!(first["summary"]["files_new"], 50);
    fs::write(src.join("f7"), b"changed").unwrap();
    let second = env.backup(&[&src], &[]);
    assert_eq!(second["summary"]["files_unchanged"], 49, "{second}");
    assert_eq!(second["summary"]["files_changed"], 1, "{second}");
    assert_eq!(second["summary"]["bytes_read"], 7, "{second}");
    assert_eq!(second["parent"], first["snapshot"]);
    let forced = env.backup(&[&src], &["--force"]);
    assert_eq!(forced["summary"]["files_new"], 50, "{forced}");
    assert_eq!(forced["summary"]["bytes_added"], 0, "{forced}");
}

/// The parent's subtrees are read ahead of the walk (at most 256 at a time): with more
/// directories than that, some removed and some renamed, every unchanged file is still found.
#[test]
fn parent_trees_read_ahead_survive_removed_and_renamed_directories() {
    let env = Env::new();
    let src = env.path("src");
    for i in 0..300 {
        let d = src.join(format!("d{i:03}/inner"));
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("f"), format!("file {i}")).unwrap();
    }
    env.init(&[]);
    let first = env.backup(&[&src], &[]);
    assert_eq!(first["summary"]["files_new"], 300, "{first}");
    for i in (0..300).step_by(3) {
        fs::remove_dir_all(src.join(format!("d{i:03}"))).unwrap();
    }
    fs::rename(src.join("d001"), src.join("renamed")).unwrap();
    let second = env.backup(&[&src], &[]);
    // 200 left; the renamed directory's file is read again (it has no parent node).
    assert_eq!(second["summary"]["files_unchanged"], 199, "{second}");
    assert_eq!(second["summary"]["files_new"], 1, "{second}");
    let third = env.backup(&[&src], &[]);
    assert_eq!(third["summary"]["files_unchanged"], 200, "{third}");
    let out = env.run(&["ls", "latest"]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains("/renamed/inner/f"), "{listing}");
    assert!(!listing.contains("/d000/"), "{listing}");
}
