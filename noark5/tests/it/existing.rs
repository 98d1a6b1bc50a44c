//! Source 1 (an existing extract): a v5.0 extract is validated and re-emitted byte-for-byte, the
//! copy validates with 0 errors and with xmllint against both schema revisions; missing
//! official XSDs are added when their documented checksums match; an extract with errors is not
//! re-emitted; a v3.1 extract (Arkade's fixtures in `../shared/noark5/samples`, used by path) is
//! checked against v3.1 schemas, never v5.0, and not converted.
//!
//! The example `fixtures/noark5/existing-v5.0-small/` is an extract as a case system delivers
//! it, minus the official XSDs (which may not be copied into this repository): re-emitting adds
//! them from `../shared/noark5/schemas`.

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
        older_schemas: Default::default(),
    }
}

/// Options with the official v5.0 set and, when given, the v3.1 set of `shared`.
fn with_sets(shared: &Path, v31: bool) -> ValidateOptions {
    let mut o = vopts();
    o.fallback_schemas = Some(shared.join("schemas"));
    if v31 {
        o.older_schemas
            .insert("3.1".into(), shared.join("schemas-v3.1"));
    }
    o
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

#[test]
fn missing_official_schemas_are_added_when_their_checksums_match() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let src = fixtures().join("existing-v5.0-small");
    let done = reemit(&src, &out, &with_sets(&shared, false)).unwrap();
    assert_eq!(done.report.error_count(), 0, "{}", done.report.to_text());
    assert_eq!(done.noark_version.as_deref(), Some("5.0"));
    assert_eq!(
        done.added_schemas.len(),
        XSDS.len(),
        "{:?}",
        done.added_schemas
    );
    assert!(done.missing_schemas.is_empty());
    for x in XSDS {
        assert_eq!(
            std::fs::read(out.join(x)).unwrap(),
            std::fs::read(shared.join("schemas").join(x)).unwrap(),
            "{x} is the official file"
        );
        assert!(!src.join(x).exists(), "the source is not touched");
    }
    let again = hvelv_noark5::validate::validate(&out, &vopts()).unwrap();
    assert_eq!(again.error_count(), 0, "{}", again.to_text());
}

#[test]
fn v31_extract_is_checked_as_v31_and_not_reemitted_with_its_errors() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let src = shared.join("samples/arkade-v3.1-valid-structure");
    let done = reemit(&src, &out, &with_sets(&shared, true)).unwrap();
    assert_eq!(done.noark_version.as_deref(), Some("3.1"));
    assert_eq!(done.report.noark_version.as_deref(), Some("3.1"));
    assert!(done.added_schemas.is_empty(), "it ships its own XSDs");
    // Its XSDs are the official v3.1 ones (in CRLF form): HV.04 finds no difference.
    let hv04 = done.report.rule("HV.04").unwrap();
    assert!(hv04.ran && hv04.warnings == 0, "{hv04:?}");
    assert_eq!(hv04.counts["official schemas"], 5);
    if xmllint_available() {
        let n503 = done.report.rule("N5.03").unwrap();
        assert_eq!(n503.errors, 0, "valid against its own v3.1 XSDs");
        assert_eq!(n503.counts["files validated"], 5);
    }
    // The content errors samples/README.md lists keep it from being re-emitted.
    for rule in ["N5.10", "N5.16", "N5.28", "N5.32", "N5.45", "N5.62"] {
        assert!(done.report.errors_of(rule) > 0, "{rule}");
    }
    assert!(done.output.is_none());
    assert!(!out.exists());
    assert!(!hvelv_noark5::extract::partial_path(&out).exists());
}

#[test]
fn v31_extract_without_schemas_is_never_checked_against_v5() {
    let Some(shared) = shared() else { return };
    if !xmllint_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    for e in std::fs::read_dir(shared.join("samples/arkade-v3.1-valid-structure")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "xml") {
            std::fs::copy(&p, src.join(p.file_name().unwrap())).unwrap();
        }
    }
    // With the v3.1 set: validated against it (an N5.03 error says so, as Arkade's fallback
    // does), with no schema violation; the official files are not added because the fixture's
    // checksums were made on CRLF copies.
    let out = tmp.path().join("out");
    let done = reemit(&src, &out, &with_sets(&shared, true)).unwrap();
    let n503: Vec<_> = done
        .report
        .findings
        .iter()
        .filter(|f| f.rule == "N5.03")
        .collect();
    assert_eq!(n503.len(), 4, "{n503:?}");
    for f in &n503 {
        assert!(f.message.contains("official v3.1 schema"), "{}", f.message);
        assert!(f.message.contains("schemas-v3.1"), "{}", f.message);
    }
    assert_eq!(done.missing_schemas.len(), 5, "{:?}", done.missing_schemas);
    assert!(done
        .missing_schemas
        .iter()
        .all(|(_, why)| why.contains("does not have the checksum")));
    assert_eq!(done.added_schemas, vec!["addml.xsd".to_string()]);
    assert!(done.output.is_none() && !out.exists());
    // Without it: not validated at all rather than against the v5.0 set.
    let done = reemit(&src, &out, &with_sets(&shared, false)).unwrap();
    let n503: Vec<_> = done
        .report
        .findings
        .iter()
        .filter(|f| f.rule == "N5.03")
        .collect();
    assert_eq!(n503.len(), 4, "{n503:?}");
    for f in &n503 {
        assert!(
            f.message.contains("no official v3.1 schema"),
            "{}",
            f.message
        );
        assert!(f.message.contains("--schemas-v31"), "{}", f.message);
    }
    assert!(!out.exists());
}

#[test]
fn a_modified_schema_is_reported() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = source_with_schemas(&shared, tmp.path());
    // A loosened copy of the official schema (its checksum in arkivuttrekk.xml no longer
    // matches either, which N5.02 reports); HV.04 names the cause.
    let x = src.join("endringslogg.xsd");
    let text = std::fs::read_to_string(&x).unwrap();
    std::fs::write(&x, text.replacen("<xs:", "<!-- local change -->\n<xs:", 1)).unwrap();
    let r = hvelv_noark5::validate::validate(&src, &with_sets(&shared, false)).unwrap();
    let w: Vec<_> = r.findings.iter().filter(|f| f.rule == "HV.04").collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].file.as_deref(), Some("endringslogg.xsd"));
    assert!(
        w[0].message.contains("official v5.0 schema"),
        "{}",
        w[0].message
    );
    assert!(r.errors_of("N5.02") > 0);
}

#[test]
fn a_v40_extract_uses_the_v40_set() {
    let Some(shared) = shared() else { return };
    if !xmllint_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    for e in std::fs::read_dir(shared.join("samples/arkade-v3.1-valid-structure")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "xml") {
            std::fs::copy(&p, src.join(p.file_name().unwrap())).unwrap();
        }
    }
    let a = src.join("arkivuttrekk.xml");
    let text = std::fs::read_to_string(&a).unwrap();
    assert!(text.contains("<value>3.1</value>"));
    std::fs::write(&a, text.replace("<value>3.1</value>", "<value>4.0</value>")).unwrap();
    let mut o = with_sets(&shared, true);
    o.older_schemas
        .insert("4.0".into(), shared.join("schemas-v4.0"));
    let r = hvelv_noark5::validate::validate(&src, &o).unwrap();
    assert_eq!(r.noark_version.as_deref(), Some("4.0"));
    let n503: Vec<_> = r.findings.iter().filter(|f| f.rule == "N5.03").collect();
    assert_eq!(
        n503.len(),
        5,
        "addml.xsd and the four Noark schemas: {n503:?}"
    );
    for f in n503
        .iter()
        .filter(|f| f.message.contains("is not in the extract"))
    {
        if f.message.contains("addml.xsd") {
            assert!(f.message.contains("official ADDML schema"), "{}", f.message);
            continue;
        }
        assert!(f.message.contains("official v4.0 schema"), "{}", f.message);
        assert!(f.message.contains("schemas-v4.0"), "{}", f.message);
    }
}
