//! Source 1 (an existing extract): a v5.0 extract is validated and re-emitted byte-for-byte, the
//! copy validates with 0 errors and with xmllint against both schema revisions; an extract with
//! errors is not re-emitted.
//!
//! The example `fixtures/noark5/existing-v5.0-small/` is an extract as a case system delivers
//! it, minus the official XSDs (which may not be copied into this repository): the test adds
//! them from `../shared/noark5/schemas` before re-emitting.

use crate::util::{copy_tree, fixtures, shared, xmllint, xmllint_available};
use hvelv_noark5::source::existing::reemit;
use hvelv_noark5::validate::{ValidateOptions, XsdMode};
use std::path::Path;

fn vopts() -> ValidateOptions {
    ValidateOptions {
        xsd: if xmllint_available() {
            XsdMode::Xmllint
        } else {
            XsdMode::Skip
        },
        fallback_schemas: None,
    }
}

const XSDS: [&str; 6] = [
    "addml.xsd",
    "arkivstruktur.xsd",
    "metadatakatalog.xsd",
    "endringslogg.xsd",
    "loependeJournal.xsd",
    "offentligJournal.xsd",
];

fn source_with_schemas(shared: &Path, tmp: &Path) -> std::path::PathBuf {
    let src = tmp.join("src");
    copy_tree(&fixtures().join("existing-v5.0-small"), &src);
    for x in XSDS {
        std::fs::copy(shared.join("schemas").join(x), src.join(x)).unwrap();
    }
    src
}

#[test]
fn v5_extract_is_reemitted_unchanged_and_valid() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = source_with_schemas(&shared, tmp.path());
    let out = tmp.path().join("out");
    let done = reemit(&src, &out, &vopts()).unwrap();
    assert_eq!(done.report.error_count(), 0, "{}", done.report.to_text());
    assert_eq!(done.output.as_deref(), Some(out.as_path()));
    let n = walkdir::WalkDir::new(&src)
        .into_iter()
        .filter(|e| e.as_ref().unwrap().file_type().is_file())
        .count() as u64;
    assert_eq!(done.files, n);
    for e in walkdir::WalkDir::new(&src) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e.path().strip_prefix(&src).unwrap();
            assert_eq!(
                std::fs::read(e.path()).unwrap(),
                std::fs::read(out.join(rel)).unwrap(),
                "{} changed",
                rel.display()
            );
        }
    }
    let again = hvelv_noark5::validate::validate(&out, &vopts()).unwrap();
    assert_eq!(again.error_count(), 0, "{}", again.to_text());
    if xmllint_available() {
        for set in ["schemas", "schemas-v5.0-2019-arkade"] {
            for stem in [
                "arkivstruktur",
                "endringslogg",
                "loependeJournal",
                "offentligJournal",
            ] {
                let (ok, err) = xmllint(
                    &shared.join(set).join(format!("{stem}.xsd")),
                    &out.join(format!("{stem}.xml")),
                );
                assert!(ok, "{set}: {stem}: {err}");
            }
        }
    }
}

#[test]
fn extract_with_errors_is_not_reemitted() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = source_with_schemas(&shared, tmp.path());
    // A changed document breaks its checksum (N5.33-style finding): nothing may be written.
    let doc = walkdir::WalkDir::new(src.join("DOKUMENT"))
        .into_iter()
        .map(|e| e.unwrap())
        .find(|e| e.path().extension().is_some_and(|x| x == "txt"))
        .unwrap();
    let mut bytes = std::fs::read(doc.path()).unwrap();
    bytes.extend_from_slice(b"tampered\n");
    std::fs::write(doc.path(), bytes).unwrap();
    let out = tmp.path().join("out");
    let done = reemit(&src, &out, &vopts()).unwrap();
    assert!(done.report.error_count() > 0);
    assert!(done.output.is_none());
    assert!(!out.exists());
    assert!(!hvelv_noark5::extract::partial_path(&out).exists());
}
