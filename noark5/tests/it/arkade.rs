//! The validator reproduces the findings samples/README.md lists for Arkade's v3.1 fixtures and
//! finds nothing wrong with the synthetic v5.0 sample or with the builder's own output.

use crate::util::{shared, xmllint_available};
use hvelv_noark5::validate::{validate, Report, ValidateOptions, XsdMode};
use std::collections::BTreeMap;
use std::path::Path;

fn run(dir: &Path, fallback: Option<&Path>) -> Report {
    let xsd = if xmllint_available() {
        XsdMode::Xmllint
    } else {
        XsdMode::Skip
    };
    let opts = ValidateOptions {
        xsd,
        fallback_schemas: fallback.map(Path::to_path_buf),
        older_schemas: Default::default(),
    };
    validate(dir, &opts).unwrap()
}

fn error_rules(r: &Report) -> BTreeMap<&'static str, u64> {
    r.rules
        .iter()
        .filter(|x| x.errors > 0)
        .map(|x| (x.rule, x.errors))
        .collect()
}

#[test]
fn valid_structure_fixture_has_exactly_the_listed_content_errors() {
    let Some(shared) = shared() else { return };
    let r = run(&shared.join("samples/arkade-v3.1-valid-structure"), None);
    let text = r.to_text();
    // Arkade's unit test: N5.02 gives 9 results, all Success.
    assert_eq!(r.errors_of("N5.02"), 0, "{text}");
    assert_eq!(
        r.rule("N5.02").unwrap().counts["checksums correct"],
        9,
        "{text}"
    );
    let expected: BTreeMap<&str, u64> = [
        ("N5.10", 1), // numberOfOccurrences mappe 20000 vs 1
        ("N5.16", 1), // registrering 100000 vs 2
        ("N5.28", 1), // antallDokumentfiler 100000, no document folder
        ("N5.32", 2), // 2 referenced documents missing
        ("N5.45", 1), // omfatterDokumenterSomErKassert=true without utfoertKassasjon
        ("N5.62", 2), // 2 endringslogg references to unknown systemIDs
    ]
    .into_iter()
    .collect();
    assert_eq!(error_rules(&r), expected, "{text}");
    // `skarp` instead of `skarpt` is reported, not silently accepted.
    assert!(text.contains("«skarp» is neither"), "{text}");
}

#[test]
fn invalid_checksum_fixture_fails_n5_02_once() {
    let Some(shared) = shared() else { return };
    let r = run(
        &shared.join("samples/arkade-v3.1-invalid-checksum"),
        Some(&shared.join("schemas")),
    );
    let text = r.to_text();
    assert_eq!(r.errors_of("N5.02"), 1, "{text}");
    let f = r.findings.iter().find(|f| f.rule == "N5.02").unwrap();
    assert!(
        f.message
            .contains("39f64cc4821a968c19bfd6789d62d09a4d2655b73d906de156d7e3d03687ba9a"),
        "{text}"
    );
    // Also present per samples/README.md: flags that disagree with the content.
    assert_eq!(r.errors_of("N5.42"), 1, "{text}");
    assert_eq!(r.errors_of("N5.44"), 1, "{text}");
    if xmllint_available() {
        // Version 3.0 and no schemas: validated against the v5.0 fallback, which fails.
        assert!(r.errors_of("N5.03") > 1, "{text}");
    }
}

#[test]
fn invalid_schema_fixture_fails_n5_03_at_the_five_lines() {
    let Some(shared) = shared() else { return };
    if !xmllint_available() {
        return;
    }
    let r = run(&shared.join("samples/arkade-v3.1-invalid-schema"), None);
    let text = r.to_text();
    let lines: Vec<u64> = r
        .findings
        .iter()
        .filter(|f| f.rule == "N5.03" && f.file.as_deref() == Some("arkivstruktur.xml"))
        .filter_map(|f| f.line)
        .collect();
    assert_eq!(lines, vec![14, 107, 138, 203, 227], "{text}");
    assert_eq!(r.errors_of("N5.03"), 5, "{text}");
    assert!(r
        .findings
        .iter()
        .any(|f| f.rule == "N5.03" && f.message.contains("arkivskaperNavn")));
    // The independent checker's extra findings.
    assert_eq!(r.errors_of("N5.63"), 4, "{text}");
    let bad_sums: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule == "N5.02")
        .filter_map(|f| f.file.clone())
        .collect();
    assert_eq!(
        bad_sums,
        vec!["arkivstruktur.xml", "metadatakatalog.xsd"],
        "{text}"
    );
    assert!(r.errors_of("N5.28") >= 1, "{text}");
}

#[test]
fn synthetic_v5_sample_has_no_errors() {
    let Some(shared) = shared() else { return };
    let r = run(&shared.join("samples/SYNTHETIC-minimal-v5.0"), None);
    assert_eq!(r.error_count(), 0, "{}", r.to_text());
    assert_eq!(r.rule("N5.30").unwrap().counts["checksums checked"], 2);
}

#[test]
fn own_output_validates_with_no_errors_or_warnings() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = crate::build::build_small(&shared.join("schemas"), tmp.path(), tmp.path().join("u"));
    let r = run(&out, None);
    assert_eq!(r.error_count(), 0, "{}", r.to_text());
    if xmllint_available() {
        assert_eq!(r.warning_count(), 0, "{}", r.to_text());
    }
}

#[test]
fn findings_carry_file_line_and_path() {
    let Some(shared) = shared() else { return };
    let r = run(&shared.join("samples/arkade-v3.1-valid-structure"), None);
    let missing: Vec<_> = r.findings.iter().filter(|f| f.rule == "N5.32").collect();
    assert_eq!(missing.len(), 2);
    for f in missing {
        assert_eq!(f.file.as_deref(), Some("arkivstruktur.xml"));
        assert!(f.line.is_some_and(|l| l > 100), "{f:?}");
        assert!(
            f.path.as_deref().unwrap().contains("/dokumentobjekt"),
            "{f:?}"
        );
    }
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["rule"].is_string()));
}
