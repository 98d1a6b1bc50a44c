//! `forget`, `protect`, `unprotect`: the plan as printed and as JSON, refusals, removal.

use std::fs;

use serde_json::Value;

use crate::util::Env;

/// A repository with `n` snapshots of a small tree, optionally under another host name.
fn repo_with_snapshots(env: &Env, hosts: &[&str]) {
    env.init(&[]);
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for (i, host) in hosts.iter().enumerate() {
        fs::write(src.join("file.txt"), format!("version {i}")).unwrap();
        env.backup(&[&src], &["--host", host]);
    }
}

fn snapshots(env: &Env) -> Vec<Value> {
    let out = env.run(&["snapshots", "--json"]);
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn forget_refuses_an_empty_policy() {
    let env = Env::new();
    repo_with_snapshots(&env, &["a"]);
    let out = env.run_code(&["forget"], 1);
    assert!(
        stderr(&out).contains("give at least one --keep option"),
        "{}",
        stderr(&out)
    );
    // --group-by alone is no policy either.
    env.run_code(&["forget", "--group-by", "host", "--dry-run"], 1);
    assert_eq!(snapshots(&env).len(), 1);
}

#[test]
fn forget_dry_run_prints_the_plan_and_changes_nothing() {
    let env = Env::new();
    repo_with_snapshots(&env, &["a", "a", "a"]);
    let before = snapshots(&env);
    let out = env.run(&["forget", "--keep-last", "1", "--dry-run"]);
    let text = stdout(&out);
    let src = env.path("src");
    assert!(
        text.contains(&format!(
            "host a, paths {}: keep 1, remove 2",
            src.display()
        )),
        "{text}"
    );
    let newest = before[2]["short_id"].as_str().unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with(&format!("  keep    {newest}")) && l.ends_with("last #1")),
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("  remove")).count(),
        2
    );
    assert!(text.contains("dry run: would remove 2 of 3 snapshots; nothing was changed"));
    assert_eq!(snapshots(&env), before);

    // For real: the two older ones go, the newest stays and still lists its files.
    let out = env.run(&["forget", "--keep-last", "1"]);
    assert!(
        stdout(&out).contains("run `hvelv prune`"),
        "{}",
        stdout(&out)
    );
    let after = snapshots(&env);
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["id"], before[2]["id"]);
    let ls = env.run(&["ls", "latest"]);
    assert!(stdout(&ls).contains("file.txt"));
}

#[test]
fn forget_json_shape_groups_and_filters() {
    let env = Env::new();
    repo_with_snapshots(&env, &["a", "b", "a", "a"]);
    let out = env.run(&["forget", "--keep-last", "2", "--dry-run", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["kept"], 3);
    assert_eq!(v["removed"].as_array().unwrap().len(), 0);
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["host"], "a");
    assert_eq!(groups[1]["host"], "b");
    let src = env.path("src").display().to_string();
    assert_eq!(groups[0]["paths"], serde_json::json!([src]));
    assert_eq!(groups[0]["tags"], Value::Null);
    let a: Vec<&Value> = groups[0]["snapshots"].as_array().unwrap().iter().collect();
    assert_eq!(a.len(), 3);
    let actions: Vec<&str> = a.iter().map(|s| s["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["remove", "keep", "keep"]);
    assert_eq!(a[2]["reasons"], serde_json::json!(["last #1"]));
    assert_eq!(a[1]["reasons"], serde_json::json!(["last #2"]));
    assert_eq!(a[0]["reasons"], serde_json::json!([]));
    for key in [
        "id",
        "short_id",
        "time",
        "host",
        "paths",
        "tags",
        "protected",
    ] {
        assert!(a[0].get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["to_remove"], serde_json::json!([a[0]["id"]]));

    // --host b only looks at b; one group, nothing to remove.
    let out = env.run(&["forget", "--keep-last", "1", "--host", "b", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["groups"].as_array().unwrap().len(), 1);
    assert_eq!(v["to_remove"], serde_json::json!([]));
    // One group for everything: keep-last 1 removes three.
    let out = env.run(&["forget", "--keep-last", "1", "--group-by", "", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["removed"].as_array().unwrap().len(), 3);
    assert_eq!(snapshots(&env).len(), 1);
}

#[test]
fn bad_keep_values_are_usage_errors() {
    let env = Env::new();
    for args in [
        &["forget", "--keep-within", "7x"][..],
        &["forget", "--keep-last", "-2"],
        &["forget", "--keep-daily", "many"],
        &["forget", "--group-by", "hosts", "--keep-last", "1"],
    ] {
        let out = env.run_code(args, 2);
        assert!(stderr(&out).contains("invalid value"), "{}", stderr(&out));
    }
}

#[test]
fn protect_unprotect_and_explicit_forget() {
    let env = Env::new();
    repo_with_snapshots(&env, &["a", "a"]);
    let before = snapshots(&env);
    let old = before[0]["short_id"].as_str().unwrap().to_owned();
    let out = env.run(&["protect", &old, "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["changed"], true);
    let prot = v[0]["short_id"].as_str().unwrap().to_owned();
    assert_ne!(prot, old);
    let list = snapshots(&env);
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["short_id"], prot.as_str());
    assert_eq!(list[0]["protected"], true);
    assert_eq!(list[1]["protected"], false);
    let human = env.run(&["snapshots"]);
    assert!(stdout(&human).contains("[protected]"));
    // Protecting again changes nothing.
    let out = env.run(&["protect", &prot]);
    assert!(
        stdout(&out).contains("already protected"),
        "{}",
        stdout(&out)
    );

    // keep-last 1 keeps the newest and the protected one.
    let out = env.run(&["forget", "--keep-last", "1", "--dry-run"]);
    assert!(
        stdout(&out)
            .lines()
            .any(|l| l.starts_with(&format!("  keep    {prot}")) && l.ends_with("protected")),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("nothing to remove (2 snapshots kept)"));

    // Explicit removal of a protected snapshot is refused, and nothing is removed.
    let newest = list[1]["short_id"].as_str().unwrap().to_owned();
    let out = env.run_code(&["forget", &newest, &prot], 1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("refusing to remove protected snapshot(s) {prot}")),
        "{err}"
    );
    assert!(err.contains(&format!("hvelv unprotect {prot}")), "{err}");
    assert_eq!(snapshots(&env).len(), 2);
    // Ids and a policy together are refused.
    env.run_code(&["forget", &newest, "--keep-last", "1"], 1);

    let out = env.run(&["unprotect", &prot, "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let unprot = v[0]["short_id"].as_str().unwrap().to_owned();
    assert_eq!(v[0]["protected"], false);
    let out = env.run(&["forget", &unprot, "--dry-run"]);
    assert!(
        stdout(&out).contains("would remove 1 of 1"),
        "{}",
        stdout(&out)
    );
    assert_eq!(snapshots(&env).len(), 2);
    env.run(&["forget", &unprot]);
    let left = snapshots(&env);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["short_id"], newest.as_str());
}
