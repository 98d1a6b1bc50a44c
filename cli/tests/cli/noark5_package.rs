//! `hvelv noark5 package` and `hvelv noark5 validate PACKAGE.tar` end to end, on the small
//! fixture extract plus the official XSDs and DIAS schemas of `../shared/noark5` (used by path).

use crate::util::Env;
use std::path::{Path, PathBuf};

pub(crate) fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/noark5");
    if p.join("package-schemas/DIAS_METS.xsd").is_file() {
        Some(p)
    } else {
        eprintln!(
            "\n!!!!! SKIPPED: {} not found; packaging tests did not run !!!!!\n",
            p.display()
        );
        None
    }
}

pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/noark5")
}

/// The fixture extract with the official XSDs added, in `env`.
fn extract(env: &Env, shared: &Path) -> PathBuf {
    let src = fixtures().join("existing-v5.0-small");
    let dst = env.path("extract");
    for e in walkdir(&src) {
        let t = dst.join(e.strip_prefix(&src).unwrap());
        std::fs::create_dir_all(t.parent().unwrap()).unwrap();
        std::fs::copy(&e, &t).unwrap();
    }
    for x in [
        "addml.xsd",
        "arkivstruktur.xsd",
        "metadatakatalog.xsd",
        "endringslogg.xsd",
        "loependeJournal.xsd",
        "offentligJournal.xsd",
    ] {
        std::fs::copy(shared.join("schemas").join(x), dst.join(x)).unwrap();
    }
    dst
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walkdir(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn package_args(extract: &Path, out: &Path, shared: &Path) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "noark5".into(),
        "package".into(),
        extract.display().to_string(),
        "--out".into(),
        out.display().to_string(),
        "--metadata".into(),
        fixtures()
            .join("package-metadata.json")
            .display()
            .to_string(),
        "--dias-schemas".into(),
        shared.join("package-schemas").display().to_string(),
    ];
    if std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_err()
    {
        a.push("--skip-xsd".into());
    }
    a
}

fn run(env: &Env, args: &[String], code: i32) -> (String, String) {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = env.run_code(&refs, code);
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn noark5_package_then_validate_the_tar_and_detect_a_flipped_byte() {
    let Some(shared) = shared() else { return };
    let env = Env::new();
    let src = extract(&env, &shared);
    let out = env.path("out");
    let (stdout, _) = run(&env, &package_args(&src, &out, &shared), 0);
    let names = files_in(&out);
    assert_eq!(names.len(), 2, "{names:?}");
    let stem = names[0].strip_suffix(".tar").expect("a .tar");
    assert_eq!(names[1], format!("{stem}.xml"));
    assert!(uuid_like(stem), "{stem}");
    assert!(stdout.contains(stem), "{stdout}");

    let tar = out.join(&names[0]);
    let tar_s = tar.display().to_string();
    let (stdout, _) = run(
        &env,
        &["noark5".into(), "validate".into(), tar_s.clone()],
        0,
    );
    assert!(stdout.contains("0 problem(s)"), "{stdout}");

    let mut bytes = std::fs::read(&tar).unwrap();
    let needle = std::fs::read(src.join("offentligJournal.xml")).unwrap();
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .unwrap();
    bytes[at + 10] ^= 0x20;
    std::fs::write(&tar, &bytes).unwrap();
    let (stdout, _) = run(&env, &["noark5".into(), "validate".into(), tar_s], 4);
    assert!(
        stdout.contains("content/offentligJournal.xml: SHA-256"),
        "{stdout}"
    );
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[test]
fn noark5_package_refuses_an_extract_with_errors_unless_forced() {
    let Some(shared) = shared() else { return };
    let env = Env::new();
    let src = extract(&env, &shared);
    let doc = walkdir(&src.join("DOKUMENT")).remove(0);
    std::fs::write(&doc, b"not the document the extract describes").unwrap();
    let out = env.path("out");
    let args = package_args(&src, &out, &shared);
    let (stdout, stderr) = run(&env, &args, 4);
    assert!(
        stderr.contains("refused") && stderr.contains("--force"),
        "{stderr}"
    );
    assert!(stdout.contains("N5."), "the report is shown: {stdout}");
    assert!(files_in(&out).is_empty(), "{:?}", files_in(&out));

    let mut forced = args.clone();
    forced.push("--force".into());
    let (stdout, _) = run(&env, &forced, 0);
    assert!(stdout.contains("recorded in log.xml"), "{stdout}");
    assert_eq!(files_in(&out).len(), 2);
}

#[test]
fn noark5_package_names_missing_metadata() {
    let Some(shared) = shared() else { return };
    let env = Env::new();
    let src = extract(&env, &shared);
    let out = env.path("out");
    let mut args = package_args(&src, &out, &shared);
    let i = args.iter().position(|a| a == "--metadata").unwrap();
    args.drain(i..i + 2);
    args.extend(
        [
            "--depot",
            "IKA Eksempel",
            "--archive-creator",
            "Eksempel kommune",
        ]
        .map(String::from),
    );
    let (_, stderr) = run(&env, &args, 1);
    assert!(
        stderr.contains(
            "field `contact.name`: missing: give it in the metadata file or with --contact"
        ),
        "{stderr}"
    );
    assert!(files_in(&out).is_empty());
}
