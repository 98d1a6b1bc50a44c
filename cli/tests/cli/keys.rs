//! `key list|add|remove|passwd`: several passwords, none needing another; no last-key removal.

use std::fs;

use serde_json::Value;

use crate::util::{expect_code, Env, PASSWORD};

fn with_password(env: &Env, pw: &str, args: &[&str], code: i32) -> std::process::Output {
    let mut cmd = env.cmd();
    cmd.env("HVELV_PASSWORD", pw);
    expect_code(&mut cmd, args, code)
}

fn keys(env: &Env, pw: &str) -> Vec<Value> {
    let out = with_password(env, pw, &["key", "list", "--json"], 0);
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn key_add_list_remove_and_passwd() {
    let env = Env::new();
    env.init(&[]);
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"data").unwrap();
    env.backup(&[&src], &[]);
    let first = keys(&env, PASSWORD);
    assert_eq!(first.len(), 1);
    let a_id = first[0]["id"].as_str().unwrap().to_owned();

    // Only key: removal refused (it is also the one in use).
    let out = with_password(&env, PASSWORD, &["key", "remove", &a_id[..8]], 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("only key"));

    fs::write(env.path("pw-b"), "password B\n").unwrap();
    let pw_b = env.path("pw-b").display().to_string();
    with_password(
        &env,
        PASSWORD,
        &["key", "add", "--new-password-file", &pw_b],
        0,
    );
    let list = keys(&env, "password B");
    assert_eq!(list.len(), 2);
    let current: Vec<&Value> = list.iter().filter(|k| k["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let b_id = current[0]["id"].as_str().unwrap().to_owned();
    assert_ne!(b_id, a_id);
    assert!(current[0]["host"].is_string() && current[0]["created"].is_string());
    // The new key has the repository's (fast, test) KDF cost, not the default.
    assert_eq!(current[0]["kdf"]["memory_kib"], 8192);
    // A full key reads every key's sealed label.
    let other = list.iter().find(|k| k["current"] == false).unwrap();
    assert!(other["host"].is_string());
    assert_eq!(other["kind"], "full");
    let human = with_password(&env, "password B", &["key", "list"], 0);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains(&format!("* {}", &b_id[..8])), "{text}");

    // The key in use cannot remove itself; B removes A, then A no longer opens anything.
    let out = with_password(&env, "password B", &["key", "remove", &b_id[..8]], 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("opened the repository with"));
    with_password(&env, "password B", &["key", "remove", &a_id[..8]], 0);
    with_password(&env, PASSWORD, &["snapshots"], 12);
    with_password(&env, "password B", &["ls", "latest"], 0);

    // passwd: B becomes C; still one key.
    fs::write(env.path("pw-c"), "password C\n").unwrap();
    let pw_c = env.path("pw-c").display().to_string();
    let out = with_password(
        &env,
        "password B",
        &["key", "passwd", "--new-password-file", &pw_c],
        0,
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("password changed"));
    with_password(&env, "password B", &["snapshots"], 12);
    let list = keys(&env, "password C");
    assert_eq!(list.len(), 1);
    assert_ne!(list[0]["id"], b_id.as_str());
    let target = env.path("restored");
    with_password(
        &env,
        "password C",
        &["restore", "latest", "--target", target.to_str().unwrap()],
        0,
    );
    let restored = target.join(src.strip_prefix("/").unwrap()).join("f");
    assert_eq!(fs::read(restored).unwrap(), b"data");
}

/// A generated key: `init --generate-key` writes a 256-bit secret (mode 0600) and the key
/// opens only with it, with no Argon2id; `key add --generate-key` adds more (put-only too).
#[test]
fn generated_keys_open_without_key_derivation() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let secret = env.path("nightly.key");
    let mut cmd = env.cmd();
    cmd.env_remove("HVELV_PASSWORD");
    let s = secret.display().to_string();
    expect_code(&mut cmd, &["init", "--generate-key", &s], 0);
    let text = fs::read_to_string(&secret).unwrap();
    assert!(
        text.starts_with("hvelv-key-1-") && text.trim().len() == 12 + 64,
        "{text}"
    );
    assert_eq!(
        fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Never overwrites a key file.
    let other = Env::new();
    let mut cmd = other.cmd();
    let out = expect_code(&mut cmd, &["init", "--generate-key", &s], 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("never overwrites"));
    assert_eq!(fs::read_to_string(&secret).unwrap(), text);

    let with_secret = |file: &str, args: &[&str], code: i32| {
        let mut cmd = env.cmd();
        cmd.env_remove("HVELV_PASSWORD")
            .env("HVELV_PASSWORD_FILE", file);
        expect_code(&mut cmd, args, code)
    };
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"generated").unwrap();
    with_secret(&s, &["backup", src.to_str().unwrap()], 0);
    let out = with_secret(&s, &["key", "list", "--json"], 0);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["kdf"]["type"], "generated", "{list}");

    // A password (even the secret's text with a digit changed) opens nothing.
    let mut wrong = text.trim().to_owned();
    let last = if wrong.ends_with('0') { "1" } else { "0" };
    wrong.replace_range(wrong.len() - 1.., last);
    fs::write(env.path("wrong.key"), &wrong).unwrap();
    let w = env.path("wrong.key").display().to_string();
    with_secret(&w, &["snapshots"], 12);
    with_password(&env, PASSWORD, &["snapshots"], 12);

    // A put-only generated key for a client, and a password key for IT.
    let client = env.path("client.key").display().to_string();
    with_secret(
        &s,
        &[
            "key",
            "add",
            "--generate-key",
            &client,
            "--put-only",
            "--name",
            "fs1",
        ],
        0,
    );
    with_secret(&client, &["backup", src.to_str().unwrap()], 0);
    with_secret(&client, &["snapshots"], 15);
    fs::write(env.path("pw"), "a chosen password\n").unwrap();
    let pw = env.path("pw").display().to_string();
    with_secret(&s, &["key", "add", "--new-password-file", &pw], 0);
    let out = with_password(&env, "a chosen password", &["snapshots", "--json"], 0);
    let snaps: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(snaps.as_array().unwrap().len(), 2);
}
