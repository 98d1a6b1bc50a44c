//! The configuration file: defaults below flags and environment, strict parsing.

use std::fs;

use crate::util::{self, Env};

#[test]
fn config_file_supplies_repository_password_and_schemas() {
    let env = Env::new();
    env.init(&[]);
    let pw = env.path("pw");
    fs::write(&pw, format!("{}\n", util::PASSWORD)).unwrap();
    let schemas =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/noark5/schemas");
    let cfg = env.path("hvelv.toml");
    fs::write(
        &cfg,
        format!(
            "[repository]\nlocation = \"{}\"\npassword_file = \"pw\"\n\n[noark5]\nschemas = \"{}\"\n",
            env.repo().display(),
            schemas.display()
        ),
    )
    .unwrap();
    // No -r, no password in the environment: both come from the file.
    let bare = || {
        let mut c = env.cmd();
        c.env_remove("HVELV_REPOSITORY")
            .env_remove("HVELV_PASSWORD")
            .env_remove("HVELV_NOARK5_SCHEMAS")
            .env("HVELV_CONFIG", &cfg);
        c
    };
    let out = bare().args(["snapshots", "--json"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    // The environment wins over the file.
    let out = bare()
        .env("HVELV_REPOSITORY", env.path("nowhere"))
        .args(["snapshots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10), "{out:?}");
    // The Noark 5 schema set comes from the file too.
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/noark5/existing-v5.0-small");
    let out = bare()
        .args(["noark5", "validate", "--json"])
        .arg(&fixture)
        .output()
        .unwrap();
    // The fixture ships no XSDs (exit 4 for that), and the validator used the configured set.
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains(&format!("{}/arkivstruktur.xsd", schemas.display())),
        "{report}"
    );
    // `config check` reports the settings.
    let out = bare().args(["config", "check"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("HVELV_NOARK5_SCHEMAS"), "{text}");
}

#[test]
fn unknown_keys_and_missing_paths_are_reported_with_the_line() {
    let env = Env::new();
    let cfg = env.path("bad.toml");
    fs::write(
        &cfg,
        "[repository]\nlocation = \"/srv/repo\"\npasword_file = \"x\"\n",
    )
    .unwrap();
    let out = env
        .cmd()
        .args(["config", "check"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 3") && err.contains("pasword_file"),
        "{err}"
    );
    // Any other command refuses to run with a broken config file.
    let out = env
        .cmd()
        .env("HVELV_CONFIG", &cfg)
        .args(["snapshots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pasword_file"));

    fs::write(&cfg, "[noark5]\nschemas = \"/no/such/dir\"\n").unwrap();
    let out = env
        .cmd()
        .args(["config", "check"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("arkivstruktur.xsd"));
    // The documented example parses (its paths do not exist here).
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/hvelv.example.toml");
    let out = env
        .cmd()
        .args(["config", "check"])
        .arg(&example)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("parse"), "the example must parse: {err}");
}
