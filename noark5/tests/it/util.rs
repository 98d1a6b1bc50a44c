//! Shared test helpers: where ../shared/noark5 is, and xmllint.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `../shared/noark5` relative to the repository root, or `None` (with a loud message) when it
/// is absent on this machine.
pub fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/noark5");
    if p.join("schemas/arkivstruktur.xsd").is_file() {
        Some(p)
    } else {
        eprintln!(
            "\n!!!!! SKIPPED: {} not found; Noark 5 schema/sample tests did not run !!!!!\n",
            p.display()
        );
        None
    }
}

/// Whether xmllint can be run; prints a loud message when it cannot.
pub fn xmllint_available() -> bool {
    let ok = Command::new("xmllint").arg("--version").output().is_ok();
    if !ok {
        eprintln!("\n!!!!! SKIPPED: xmllint not installed (apt-get install libxml2-utils) !!!!!\n");
    }
    ok
}

/// Validate `xml` against `xsd` with xmllint; returns (success, stderr).
pub fn xmllint(xsd: &Path, xml: &Path) -> (bool, String) {
    let out = Command::new("xmllint")
        .args(["--nonet", "--noout", "--schema"])
        .arg(xsd)
        .arg(xml)
        .output()
        .expect("xmllint runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The fixtures folder of this repository (`fixtures/noark5`).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/noark5")
}

/// Copy a folder tree (for tests that alter a fixture).
pub fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(from).unwrap();
        let t = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&t).unwrap();
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}
