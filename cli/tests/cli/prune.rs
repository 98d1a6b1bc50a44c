//! Prune end to end: dry run changes nothing; SIGKILL at random points never damages a live
//! snapshot and never blocks the next prune.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::{self, content_hashes, Env, Hashes};

fn small_repo(env: &Env) {
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
}

/// Remove a snapshot file directly (what `forget` does), keeping the data for prune.
fn drop_snapshot(env: &Env, id: &str) {
    fs::remove_file(env.repo().join("snapshots").join(id)).unwrap();
}

fn assert_restores(env: &Env, src: &Path, live: &[(String, Hashes)], tag: &str) {
    for (i, (id, expected)) in live.iter().enumerate() {
        let t = env.path(&format!("r-{tag}-{i}"));
        env.run(&[
            "restore",
            &format!("{id}:{}", src.display()),
            "--target",
            t.to_str().unwrap(),
        ]);
        assert_eq!(
            &content_hashes(&t),
            expected,
            "{tag}: snapshot {id} restored differently"
        );
        fs::remove_dir_all(&t).unwrap();
    }
}

#[test]
fn dry_run_changes_nothing_and_prune_frees_space() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    small_repo(&env);
    fs::write(src.join("a"), util::random_bytes(1, 3 << 20)).unwrap();
    let first = env.backup(&[&src], &[]);
    fs::remove_file(src.join("a")).unwrap();
    fs::write(src.join("b"), util::random_bytes(2, 2 << 20)).unwrap();
    let second = env.backup(&[&src], &[]);
    drop_snapshot(&env, first["snapshot"].as_str().unwrap());

    let before = util::repo_files(&env.repo(), "data");
    let out = env.run(&["prune", "--dry-run", "--json"]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!plan["delete"].as_array().unwrap().is_empty(), "{plan}");
    assert!(plan["bytes_to_free"].as_u64().unwrap() >= 3 << 20, "{plan}");
    assert_eq!(util::repo_files(&env.repo(), "data"), before);

    let out = env.run(&["prune", "--json"]);
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(done["packs_deleted"].as_u64().unwrap() >= 3, "{done}");
    assert!(done["deferred"].as_array().unwrap().is_empty(), "{done}");
    assert!(util::repo_files(&env.repo(), "data").len() < before.len());
    assert_restores(
        &env,
        &src,
        &[(
            second["snapshot"].as_str().unwrap().into(),
            content_hashes(&src),
        )],
        "after",
    );
    env.run(&["check", "--read-data"]);
    // Nothing left to do: a second prune deletes nothing.
    let out = env.run(&["prune", "--json"]);
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["packs_deleted"], 0, "{again}");
}

#[test]
fn killed_prunes_never_damage_live_snapshots() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    small_repo(&env);
    // Kill delays are drawn from how long a prune takes here (on a copy of the repository).
    let mut live: Vec<(String, Hashes)> = Vec::new();
    let mut budget_ms = 0u64;
    let mut rng = 0x9e37_u64;
    let mut kills_mid_run = 0;
    let mut attempts = 0u64;
    while kills_mid_run < 12 && attempts < 60 {
        attempts += 1;
        // New and changed data, and the oldest snapshot forgotten, so each prune has packs to
        // delete and packs to repack.
        fs::write(
            src.join(format!("f{attempts}")),
            util::random_bytes(attempts, 3 << 20),
        )
        .unwrap();
        if attempts > 2 {
            let _ = fs::remove_file(src.join(format!("f{}", attempts - 2)));
        }
        fs::write(
            src.join("small"),
            util::random_bytes(500 + attempts, 100 << 10),
        )
        .unwrap();
        let done = env.backup(&[&src], &[]);
        live.push((
            done["snapshot"].as_str().unwrap().to_owned(),
            content_hashes(&src),
        ));
        while live.len() > 2 {
            let (id, _) = live.remove(0);
            drop_snapshot(&env, &id);
        }
        if budget_ms == 0 {
            let copy = env.path("copy");
            let st = std::process::Command::new("cp")
                .args(["-a"])
                .arg(env.repo())
                .arg(&copy)
                .status()
                .unwrap();
            assert!(st.success());
            let t0 = Instant::now();
            let out = env
                .cmd()
                .env("HVELV_REPOSITORY", &copy)
                .args(["prune", "--repack-unused", "1%"])
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            budget_ms = (t0.elapsed().as_millis() as u64).max(30);
        }
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(2 + (rng >> 33) % budget_ms);
        let mut cmd = env.cmd();
        cmd.args(["prune", "--repack-unused", "1%"]);
        if util::kill_after(cmd, delay) {
            kills_mid_run += 1;
        }
        assert_restores(&env, &src, &live, &format!("kill{attempts}"));
    }
    assert!(
        kills_mid_run >= 10,
        "only {kills_mid_run} of {attempts} kills hit a running prune"
    );
    // The next prune is not blocked by the killed ones and completes their work.
    let out = env.run(&["prune", "--json"]);
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(done["deferred"].as_array().unwrap().is_empty(), "{done}");
    assert_restores(&env, &src, &live, "final");
    // Only records of executed deletions remain (and temporary files of killed writes, which
    // are never read).
    let gc: Vec<String> = util::repo_files(&env.repo(), "gc")
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".tmp"))
        .collect();
    assert!(
        gc.iter().all(|n| n.ends_with("-x")),
        "pending deletions left: {gc:?}"
    );
    // The repository is consistent: check reads every pack and finds nothing wrong.
    env.run(&["check", "--read-data"]);
    // And a backup still works and dedups against what survived.
    let last = env.backup(&[&src], &["--force"]);
    assert_eq!(last["summary"]["bytes_added"], 0, "{last}");
}
