//! Put-only keys: a backup client that can add backups and nothing else (docs/SECURITY.md).

use std::fs;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::util::{all_files, content_hashes, expect_code, random_bytes, Env, PASSWORD};

const MARKER: &str = "ZQX-putonly-marker-7731";

/// Run hvelv as the client holding password `pw`, with its own files cache.
fn client(env: &Env, pw: &str, args: &[&str], code: i32) -> Output {
    let mut cmd = env.cmd();
    cmd.env("HVELV_PASSWORD", pw)
        .env("HVELV_CACHE_DIR", env.path(&format!("cache-{pw}")));
    expect_code(&mut cmd, args, code)
}

fn add_put_only(env: &Env, pw: &str, name: &str) -> String {
    let file = env.path(&format!("pw-{name}"));
    fs::write(&file, format!("{pw}\n")).unwrap();
    let out = env.run(&[
        "key",
        "add",
        "--put-only",
        "--name",
        name,
        "--json",
        "--new-password-file",
        file.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "put-only");
    v["key"].as_str().unwrap().to_owned()
}

fn backup_as(env: &Env, pw: &str, host: &str, paths: &[&Path]) -> Value {
    let mut args = vec!["backup", "--json", "--host", host];
    let p: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    args.extend(p.iter().map(String::as_str));
    let out = client(env, pw, &args, 0);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn put_only_client_backs_up_and_can_read_or_delete_nothing() {
    let env = Env::new();
    env.init(&[]);
    let key = add_put_only(&env, "client pw", "fileserver");

    let src = env.path("src");
    fs::create_dir_all(src.join("hr")).unwrap();
    fs::write(
        src.join("hr").join(format!("{MARKER}-salaries.txt")),
        MARKER.repeat(500),
    )
    .unwrap();
    fs::write(src.join("big.bin"), random_bytes(7, 3 << 20)).unwrap();
    for i in 0..20 {
        fs::write(
            src.join(format!("doc{i}.txt")),
            format!("document {i}\n").repeat(50),
        )
        .unwrap();
    }

    let mut outputs: Vec<u8> = Vec::new();
    let first = backup_as(&env, "client pw", "fileserver", &[&src]);
    assert_eq!(first["key"], "put-only");
    assert_eq!(first["summary"]["files_new"], 22);
    // The second night reads only what changed, from the local files cache.
    fs::write(src.join("doc3.txt"), "changed\n").unwrap();
    let second = backup_as(&env, "client pw", "fileserver", &[&src]);
    assert_eq!(second["cached_files"], 22);
    assert_eq!(second["summary"]["files_unchanged"], 21);
    assert_eq!(second["summary"]["files_changed"], 1);
    assert!(second["summary"]["bytes_read"].as_u64().unwrap() < 100);
    outputs.extend(serde_json::to_vec(&first).unwrap());
    outputs.extend(serde_json::to_vec(&second).unwrap());

    // Everything else is refused, with the reason, and exit code 15.
    let target = env.path("target");
    let t = target.to_str().unwrap();
    let refused: Vec<Vec<&str>> = vec![
        vec!["snapshots"],
        vec!["ls", "latest"],
        vec!["restore", "latest", "--target", t],
        vec!["diff", "latest", "latest"],
        vec!["forget", "--keep-last", "1"],
        vec!["prune"],
        vec!["check"],
        vec!["check", "--read-data"],
        vec!["protect", "latest"],
        vec!["repair", "index"],
        vec!["key", "list"],
        vec!["key", "remove", &key[..8]],
        vec!["backup", "--parent", "abcd", src.to_str().unwrap()],
    ];
    for args in &refused {
        let out = client(&env, "client pw", args, 15);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("put-only key"), "{args:?}: {err}");
        outputs.extend(&out.stdout);
        outputs.extend(&out.stderr);
    }
    assert!(!target.exists() || all_files(&target).is_empty());

    // Neither the repository nor anything the client wrote or printed holds the marker.
    let mut scanned = 0;
    for f in all_files(&env.repo())
        .into_iter()
        .chain(all_files(&env.path("cache-client pw")))
    {
        assert!(!contains(&fs::read(&f).unwrap(), MARKER), "{}", f.display());
        scanned += 1;
    }
    assert!(scanned > 5);
    assert!(!contains(&outputs, MARKER));

    // The full key lists both snapshots and restores them byte-exact.
    let out = env.run(&["snapshots", "--json"]);
    let snaps: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(snaps.as_array().unwrap().len(), 2);
    env.run(&["restore", "latest", "--target", t]);
    assert_eq!(
        content_hashes(&target.join(src.strip_prefix("/").unwrap())),
        content_hashes(&src)
    );
    // ...and lists the client's key with its name.
    let out = env.run(&["key", "list", "--json"]);
    let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
    let k = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == key.as_str())
        .unwrap();
    assert_eq!(
        (k["kind"].as_str(), k["name"].as_str()),
        (Some("put-only"), Some("fileserver"))
    );
    env.run(&["check", "--read-data"]);
}

#[test]
fn two_put_only_clients_dedup_against_each_other_and_revocation_stops_one() {
    let env = Env::new();
    env.init(&[]);
    let key_a = add_put_only(&env, "pw a", "host-a");
    add_put_only(&env, "pw b", "host-b");
    let shared = random_bytes(11, 6 << 20);
    let (a, b) = (env.path("a"), env.path("b"));
    fs::create_dir_all(&a).unwrap();
    fs::create_dir_all(&b).unwrap();
    fs::write(a.join("installer.iso"), &shared).unwrap();
    fs::write(b.join("copy-of-installer.iso"), &shared).unwrap();
    fs::write(b.join("own.txt"), "only on b").unwrap();

    let ra = backup_as(&env, "pw a", "host-a", &[&a]);
    let rb = backup_as(&env, "pw b", "host-b", &[&b]);
    let added_a = ra["summary"]["bytes_added"].as_u64().unwrap();
    let added_b = rb["summary"]["bytes_added"].as_u64().unwrap();
    assert!(added_a >= shared.len() as u64);
    // B stores only its own small file: A's chunks are found in the shared index.
    assert!(added_b < 1024, "client b added {added_b} bytes");

    // Revoking A: its password opens nothing any more (exit 12); B goes on.
    env.run(&["key", "remove", &key_a[..8]]);
    let out = client(&env, "pw a", &["backup", a.to_str().unwrap()], 12);
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong password"));
    backup_as(&env, "pw b", "host-b", &[&b]);

    // The full key restores both hosts' data.
    let t = env.path("t");
    env.run(&[
        "restore",
        ra["short_id"].as_str().unwrap(),
        "--target",
        t.to_str().unwrap(),
    ]);
    assert_eq!(
        content_hashes(&t.join(a.strip_prefix("/").unwrap())),
        content_hashes(&a)
    );
    assert!(!PASSWORD.is_empty());
}
