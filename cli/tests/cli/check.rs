//! `hvelv check` and `hvelv repair`: exit codes, what the output names, coverage over runs,
//! and repair round trips that end in a clean check and a byte-exact restore.

use std::fs;
use std::path::PathBuf;

use crate::util::{self, Env};

fn setup() -> (Env, PathBuf) {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(src.join("docs")).unwrap();
    for i in 0..12 {
        fs::write(
            src.join(format!("docs/file{i:02}.bin")),
            util::random_bytes(100 + i, 300_000 + 40_000 * i as usize),
        )
        .unwrap();
    }
    fs::write(src.join("small.txt"), b"small").unwrap();
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

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn check_json(env: &Env, args: &[&str], code: i32) -> serde_json::Value {
    let mut a = vec!["check", "--json"];
    a.extend_from_slice(args);
    let out = env.run_code(&a, code);
    serde_json::from_slice(&out.stdout).expect("check --json output")
}

/// The data pack holding most of `file00.bin`'s neighbours: the largest one.
fn largest_pack(env: &Env) -> PathBuf {
    let mut packs = util::repo_files(&env.repo(), "data");
    packs.sort_by_key(|p| std::cmp::Reverse(fs::metadata(p).unwrap().len()));
    packs[0].clone()
}

#[test]
fn clean_repository_checks_clean_with_and_without_data() {
    let (env, _) = setup();
    let out = env.run(&["check"]);
    assert!(text(&out).contains("no problems found"), "{}", text(&out));
    let out = env.run(&["check", "--read-data"]);
    assert!(text(&out).contains("no problems found"), "{}", text(&out));
    let v = check_json(&env, &["--read-data"], 0);
    assert_eq!(v["clean"], true);
    assert_eq!(v["read_data"]["packs_verified"], v["packs"]);
}

#[test]
fn damaged_pack_exits_13_and_names_the_files() {
    let (env, src) = setup();
    let p = largest_pack(&env);
    let mut b = fs::read(&p).unwrap();
    b[100] ^= 0x01;
    fs::write(&p, b).unwrap();
    // The header is intact: only reading the data finds the flip.
    env.run(&["check"]);
    let out = env.run_code(&["check", "--read-data"], 13);
    let t = text(&out);
    assert!(t.contains("is damaged"), "{t}");
    assert!(t.contains("1 blobs fail authentication"), "{t}");
    assert!(t.contains(src.join("docs").to_str().unwrap()), "{t}");
    let v = check_json(&env, &["--read-data"], 13);
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{v:#}");
    assert_eq!(problems[0]["kind"], "pack_damaged");
    assert_eq!(problems[0]["paths_total"], 1);
}

#[test]
fn budget_runs_cover_the_repository_and_say_how_often() {
    let (env, _) = setup();
    let packs = util::repo_files(&env.repo(), "data").len();
    assert!(packs >= 5, "{packs} packs");
    let out = env.run(&["check", "--read-data-budget", "10%"]);
    let t = text(&out);
    assert!(
        t.contains("the whole repository is verified every 10 runs"),
        "{t}"
    );
    let mut covered = 0;
    for _ in 1..10 {
        let v = check_json(&env, &["--read-data-budget", "10%"], 0);
        covered = v["read_data"]["packs_covered"].as_u64().unwrap();
    }
    assert_eq!(covered as usize, packs, "ten runs at 10 % cover every pack");
    assert_eq!(util::repo_files(&env.repo(), "verify").len(), 1);
    let bad = env.run_code(&["check", "--read-data-budget", "0%"], 1);
    assert!(text(&bad).contains("percentage"), "{}", text(&bad));
}

#[test]
fn repair_index_and_snapshots_round_trip() {
    let (env, src) = setup();
    let p = largest_pack(&env);
    fs::remove_file(&p).unwrap();
    let out = env.run_code(&["check"], 13);
    let t = text(&out);
    assert!(t.contains("is missing"), "{t}");
    assert!(t.contains("repair index"), "{t}");

    let dry = env.run(&["repair", "snapshots", "--dry-run"]);
    assert!(
        text(&dry).contains("would rewrite snapshot"),
        "{}",
        text(&dry)
    );
    let dropped: Vec<String> = String::from_utf8_lossy(&dry.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("dropped ").map(str::to_owned))
        .collect();
    assert!(!dropped.is_empty());

    let dry = env.run(&["repair", "index", "--dry-run"]);
    assert!(text(&dry).contains("would index"), "{}", text(&dry));
    env.run(&["repair", "index"]);
    let out = env.run(&["repair", "snapshots", "--forget"]);
    assert!(text(&out).contains("original removed"), "{}", text(&out));
    let out = env.run(&["check", "--read-data"]);
    assert!(text(&out).contains("no problems found"), "{}", text(&out));
    let snaps: serde_json::Value =
        serde_json::from_slice(&env.run(&["snapshots", "--json"]).stdout).unwrap();
    assert_eq!(snaps.as_array().unwrap().len(), 1);
    assert_eq!(snaps[0]["tags"][0], "repaired");

    let t = env.path("restore");
    env.run(&[
        "restore",
        &format!("latest:{}", src.display()),
        "--target",
        t.to_str().unwrap(),
    ]);
    let mut intact = 0;
    for f in util::all_files(&src) {
        let back = t.join(f.strip_prefix(&src).unwrap());
        if dropped.iter().any(|d| d == f.to_str().unwrap()) {
            assert!(!back.exists(), "{} should have been dropped", f.display());
        } else {
            assert_eq!(
                fs::read(&back).unwrap(),
                fs::read(&f).unwrap(),
                "{}",
                f.display()
            );
            intact += 1;
        }
    }
    assert!(intact > 0);
}
