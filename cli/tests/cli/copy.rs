//! `copy` between repositories: dedup preserved, only missing data sent, resumable, restorable.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::{self, Env};

/// A second repository in the same scratch dir; `env.cmd()` targets it with `--to`.
fn target(env: &Env) -> String {
    env.path("offsite").to_str().unwrap().to_owned()
}

fn copy_json(env: &Env, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["copy", "--json", "--to"];
    let to = target(env);
    a.push(&to);
    let from = env.repo();
    a.extend(["--from", from.to_str().unwrap()]);
    a.extend_from_slice(args);
    let out = env
        .cmd()
        .env("HVELV_FROM_PASSWORD", util::PASSWORD)
        .args(&a)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "copy {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn init_target(env: &Env) {
    let out = env
        .cmd()
        .env("HVELV_REPOSITORY", target(env))
        .env("HVELV_FROM_PASSWORD", util::PASSWORD)
        .args([
            "init",
            "--kdf-memory",
            "8",
            "--kdf-passes",
            "1",
            "--pack-size",
            "1M",
        ])
        .arg("--copy-chunker-params-from")
        .arg(env.repo())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

fn restore_from_target(env: &Env, snap: &str, src: &Path, into: &str) -> std::path::PathBuf {
    let t = env.path(into);
    let out = env
        .cmd()
        .env("HVELV_REPOSITORY", target(env))
        .args(["restore", &format!("{snap}:{}", src.display()), "--target"])
        .arg(&t)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    t
}

#[test]
fn copy_sends_only_missing_data_and_restores_byte_exact() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("a"), util::random_bytes(1, 5 << 20)).unwrap();
    fs::write(src.join("d/b"), b"hello offsite").unwrap();
    env.init(&[]);
    let first = env.backup(&[&src], &["--tag", "nightly"]);
    fs::write(src.join("c"), util::random_bytes(2, 3 << 20)).unwrap();
    let second = env.backup(&[&src], &[]);

    // A target with its own chunker keys refuses, and says how to create a compatible one.
    let plain = env.path("plain");
    env.cmd()
        .env("HVELV_REPOSITORY", &plain)
        .args(["init", "--kdf-memory", "8", "--kdf-passes", "1"])
        .output()
        .unwrap();
    let out = env
        .cmd()
        .env("HVELV_FROM_PASSWORD", util::PASSWORD)
        .args(["copy", "--all", "--from"])
        .arg(env.repo())
        .arg("--to")
        .arg(&plain)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--copy-chunker-params-from"), "{err}");

    init_target(&env);
    // Only the tagged snapshot first.
    let c1 = copy_json(&env, &["--tag", "nightly"]);
    assert_eq!(c1["copied"].as_array().unwrap().len(), 1, "{c1}");
    let sent1 = c1["bytes"].as_u64().unwrap();
    assert!(sent1 >= 5 << 20, "{c1}");
    // Then all: the second snapshot shares `a`, so only `c` and trees are sent.
    let c2 = copy_json(&env, &["--all"]);
    assert_eq!(c2["copied"].as_array().unwrap().len(), 1, "{c2}");
    assert_eq!(c2["already_present"], 1, "{c2}");
    let sent2 = c2["bytes"].as_u64().unwrap();
    assert!(
        ((3 << 20)..(3 << 20) + (64 << 10)).contains(&sent2),
        "only the new file's data should be sent: {c2}"
    );
    // Nothing changed: nothing is sent.
    let c3 = copy_json(&env, &["--all"]);
    assert!(c3["copied"].as_array().unwrap().is_empty(), "{c3}");
    assert_eq!(c3["blobs"], 0, "{c3}");

    // The copy keeps the snapshot metadata and restores byte-exact.
    let out = env
        .cmd()
        .env("HVELV_REPOSITORY", target(&env))
        .args(["snapshots", "--json"])
        .output()
        .unwrap();
    let snaps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let snaps = snaps.as_array().unwrap();
    assert_eq!(snaps.len(), 2);
    let originals: Vec<&str> = snaps
        .iter()
        .map(|s| s["original"].as_str().unwrap())
        .collect();
    assert!(originals.contains(&first["snapshot"].as_str().unwrap()));
    assert!(originals.contains(&second["snapshot"].as_str().unwrap()));
    assert!(snaps.iter().any(|s| s["tags"][0] == "nightly"));
    let newest = snaps
        .iter()
        .find(|s| s["original"] == second["snapshot"])
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let t = restore_from_target(&env, &newest, &src, "restored");
    util::diff_r(&src, &t);

    // Protecting a copied snapshot rewrites it under a new id; it is still recognised as a copy.
    let out = env
        .cmd()
        .env("HVELV_REPOSITORY", target(&env))
        .args(["protect", &newest])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let c4 = copy_json(&env, &["--all"]);
    assert!(c4["copied"].as_array().unwrap().is_empty(), "{c4}");
    assert_eq!(c4["already_present"], 2, "{c4}");
}

#[test]
fn an_interrupted_copy_resumes() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..6 {
        fs::write(
            src.join(format!("f{i}")),
            util::random_bytes(10 + i, 8 << 20),
        )
        .unwrap();
    }
    env.init(&["--pack-size", "1M"]);
    let snap = env.backup(&[&src], &[]);
    init_target(&env);

    let mut killed = false;
    for ms in [150u64, 300, 600, 1200] {
        let mut child = env
            .cmd()
            .env("HVELV_FROM_PASSWORD", util::PASSWORD)
            .args(["copy", "--all", "--to", &target(&env), "--from"])
            .arg(env.repo())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(ms) && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(2));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            child.wait().unwrap();
            let complete_packs = util::repo_files(&env.path("offsite"), "data")
                .iter()
                .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
                .count();
            if complete_packs > 0 {
                killed = true;
                break;
            }
        } else {
            // Too fast to interrupt here: start over with a fresh target.
            fs::remove_dir_all(env.path("offsite")).unwrap();
            init_target(&env);
        }
    }
    let c = copy_json(&env, &["--all"]);
    assert_eq!(c["copied"].as_array().unwrap().len(), 1, "{c}");
    if killed {
        assert!(
            c["bytes"].as_u64().unwrap() < 48 << 20,
            "the resumed copy reused what the interrupted one stored: {c}"
        );
    }
    let id = c["copied"][0]["target"].as_str().unwrap().to_owned();
    let t = restore_from_target(&env, &id, &src, "restored");
    util::diff_r(&src, &t);
    let _ = snap;
}
