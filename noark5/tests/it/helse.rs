//! Source 3 (secure-zone health export): the fixture imports into an extract that validates
//! with 0 errors and with xmllint against both schema revisions, its XML is pinned by golden
//! files, every mappe/registrering/dokumentbeskrivelse is screened with the configured legal
//! basis, both journals are written with only `*****` for titles and names in the public one
//! (so Arkade's N5.59/N5.60 pass), and malformed input is refused with file, position and field
//! named but never the value.

use crate::util::{copy_tree, fixtures, shared, xmllint, xmllint_available};
use hvelv_noark5::schemas::SchemaSet;
use hvelv_noark5::source::helse::{import, HelseOptions};
use hvelv_noark5::validate::{validate, ValidateOptions, XsdMode};
use hvelv_noark5::ErrorKind;
use std::path::{Path, PathBuf};

const HJEMMEL: &str = "Offl. § 13, jf. hpl. § 21";

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

fn hopts() -> HelseOptions {
    HelseOptions {
        skjermingshjemmel: HJEMMEL.into(),
        closed_from: None,
        closed_to: None,
        documents: None,
    }
}

fn build(src: &Path, out: PathBuf, o: &HelseOptions) -> hvelv_noark5::Result<PathBuf> {
    let shared = shared().expect("checked by caller");
    let schemas = SchemaSet::open(&shared.join("schemas")).unwrap();
    import(src, out.clone(), schemas, o).map(|_| out)
}

#[test]
fn fixture_imports_into_a_valid_screened_extract() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = build(
        &fixtures().join("helse-small"),
        tmp.path().join("u"),
        &hopts(),
    )
    .unwrap();
    let r = validate(&out, &vopts()).unwrap();
    assert_eq!(r.error_count(), 0, "{}", r.to_text());
    assert_eq!(r.rule("N5.26").unwrap().counts["dokumentobjekt"], 4);

    let s = std::fs::read_to_string(out.join("arkivstruktur.xml")).unwrap();
    let mapper = s.matches("<mappe xsi:type=\"saksmappe\">").count();
    let regs = s.matches("<registrering xsi:type=\"journalpost\">").count();
    let dbs = s.matches("<dokumentbeskrivelse>").count();
    assert_eq!((mapper, regs, dbs), (3, 4, 4));
    assert_eq!(
        s.matches("<skjerming>").count(),
        mapper + regs + dbs,
        "every mappe, registrering and dokumentbeskrivelse is screened"
    );
    assert_eq!(
        s.matches(&format!("<skjermingshjemmel>{HJEMMEL}</skjermingshjemmel>"))
            .count(),
        mapper + regs + dbs
    );
    assert_eq!(
        s.matches("<skjermingDokument>Skjerming av hele dokumentet</skjermingDokument>")
            .count(),
        dbs
    );
    assert_eq!(s.matches("<partRolle>Pasient</partRolle>").count(), mapper);
    for rule in ["N5.59", "N5.60"] {
        let res = r.rule(rule).unwrap();
        assert!(
            res.ran && res.errors == 0 && res.warnings == 0,
            "{rule}: {res:?}"
        );
    }
    // Both journals list every document; the public one shows no title and no name.
    let loepende = std::fs::read_to_string(out.join("loependeJournal.xml")).unwrap();
    let offentlig = std::fs::read_to_string(out.join("offentligJournal.xml")).unwrap();
    for j in [&loepende, &offentlig] {
        assert_eq!(j.matches("<journalregistrering>").count(), regs);
        assert!(j.contains(&format!(
            "<antallJournalposter>{regs}</antallJournalposter>"
        )));
        assert_eq!(
            j.matches(&format!("<skjermingshjemmel>{HJEMMEL}</skjermingshjemmel>"))
                .count(),
            regs
        );
    }
    assert!(loepende.contains("<tittel>Konsultasjon 6 uker</tittel>"));
    assert!(!offentlig.contains("<tittel>"));
    for secret in [
        "Konsultasjon",
        "Henvisning til",
        "Helsesykepleier A",
        "Lege B",
        "Testbarn",
        "PAS-0000",
        "EPJ-20",
    ] {
        assert!(
            !offentlig.contains(secret),
            "{secret} in the public journal"
        );
    }
    assert_eq!(
        offentlig
            .matches("<korrespondansepartNavn>*****</korrespondansepartNavn>")
            .count(),
        regs
    );
    assert!(offentlig.contains("<korrespondanseparttype>Avsender</korrespondanseparttype>"));
    let addml = std::fs::read_to_string(out.join("arkivuttrekk.xml")).unwrap();
    assert!(addml.contains("inneholderSkjermetInformasjon"));
    assert!(
        addml.contains("<value>true</value>"),
        "the skjerming flag is true"
    );

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
fn golden_xml_of_the_health_fixture() {
    if shared().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = build(
        &fixtures().join("helse-small"),
        tmp.path().join("u"),
        &hopts(),
    )
    .unwrap();
    let golden = fixtures().join("golden/helse-small");
    let update = std::env::var_os("HVELV_UPDATE_GOLDEN").is_some();
    for name in [
        "arkivstruktur.xml",
        "loependeJournal.xml",
        "offentligJournal.xml",
        "endringslogg.xml",
        "arkivuttrekk.xml",
    ] {
        let actual = std::fs::read_to_string(out.join(name)).unwrap();
        let g = golden.join(name);
        if update {
            std::fs::create_dir_all(&golden).unwrap();
            std::fs::write(&g, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&g)
            .unwrap_or_else(|_| panic!("{} missing; run with HVELV_UPDATE_GOLDEN=1", g.display()));
        assert_eq!(
            actual, expected,
            "{name} differs from its golden file (HVELV_UPDATE_GOLDEN=1 updates)"
        );
    }
}

#[test]
fn period_selection_keeps_cases_closed_in_the_range() {
    if shared().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let o = HelseOptions {
        closed_from: Some("2022-01-01".parse().unwrap()),
        ..hopts()
    };
    let out = build(&fixtures().join("helse-small"), tmp.path().join("u"), &o).unwrap();
    let r = validate(&out, &vopts()).unwrap();
    assert_eq!(r.error_count(), 0, "{}", r.to_text());
    let s = std::fs::read_to_string(out.join("arkivstruktur.xml")).unwrap();
    assert_eq!(s.matches("<mappe xsi:type=\"saksmappe\">").count(), 2);
    assert!(!s.contains("EPJ-2021-0042"));
    let e = std::fs::read_to_string(out.join("endringslogg.xml")).unwrap();
    assert_eq!(
        e.matches("<endring>").count(),
        1,
        "the excluded case's change is left out"
    );
}

#[test]
fn a_selection_without_documents_is_refused() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let schemas = SchemaSet::open(&shared.join("schemas")).unwrap();
    // Only EPJ-2021-0042 is closed in 2021, and it has no document: no journal entry.
    let o = HelseOptions {
        closed_to: Some("2021-12-31".parse().unwrap()),
        ..hopts()
    };
    let out = tmp.path().join("u");
    let err = import(&fixtures().join("helse-small"), out.clone(), schemas, &o).unwrap_err();
    let m = err.to_string();
    assert!(m.contains("no document is in the selected period"), "{m}");
    assert!(m.contains("N5.59"), "{m}");
    assert!(!out.exists());
    assert!(!hvelv_noark5::extract::partial_path(&out).exists());
}

/// The values planted in a broken fixture; none may appear in an error message.
const SECRET: &str = "01017012345";

fn broken(edit: impl FnOnce(&Path)) -> (hvelv_noark5::Error, PathBuf, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_tree(&fixtures().join("helse-small"), &src);
    edit(&src);
    let out = tmp.path().join("u");
    let err = build(&src, out.clone(), &hopts()).unwrap_err();
    (err, out, tmp)
}

fn replace(file: &Path, from: &str, to: &str) {
    let s = std::fs::read_to_string(file).unwrap();
    assert!(s.contains(from), "{from}");
    std::fs::write(file, s.replacen(from, to, 1)).unwrap();
}

fn assert_clean_failure(err: &hvelv_noark5::Error, out: &Path, wants: &[&str]) {
    let m = err.to_string();
    for w in wants {
        assert!(m.contains(w), "{w:?} not in: {m}");
    }
    assert!(
        !m.contains(SECRET),
        "the value leaked into the message: {m}"
    );
    assert!(!out.exists(), "no extract is left behind");
    let partial = hvelv_noark5::extract::partial_path(out);
    assert!(!partial.exists(), "no partial folder is left behind");
}

#[test]
fn bad_date_names_file_position_and_field_but_not_the_value() {
    if shared().is_none() {
        return;
    }
    let (err, out, _t) = broken(|src| {
        replace(
            &src.join("journaler/pj-000002.json"),
            "\"dokumentets_dato\": \"2023-01-10\"",
            &format!("\"dokumentets_dato\": \"{SECRET}\""),
        )
    });
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_clean_failure(
        &err,
        &out,
        &[
            "journaler/pj-000002.json: episoder[0].dokumenter[1]",
            "dokumentets_dato",
            "not a date",
        ],
    );
}

#[test]
fn wrong_type_does_not_echo_the_value() {
    if shared().is_none() {
        return;
    }
    let (err, out, _t) = broken(|src| {
        replace(
            &src.join("journaler/pj-000001.json"),
            "\"referanse\": \"PAS-000001\"",
            &format!("\"referanse\": {SECRET}"),
        )
    });
    assert_clean_failure(&err, &out, &["journaler/pj-000001.json", "line 2"]);
}

#[test]
fn unknown_code_value_names_the_field_but_not_the_value() {
    if shared().is_none() {
        return;
    }
    let (err, out, _t) = broken(|src| {
        replace(
            &src.join("journaler/pj-000002.json"),
            "\"journalposttype\": \"Inngående dokument\"",
            &format!("\"journalposttype\": \"{SECRET}\""),
        )
    });
    assert_clean_failure(
        &err,
        &out,
        &[
            "pj-000002.json: episoder[0].dokumenter[0]",
            "journalposttype",
            "Organinternt dokument uten oppfølging",
        ],
    );
}

#[test]
fn missing_mandatory_field_is_named() {
    if shared().is_none() {
        return;
    }
    let (err, out, _t) = broken(|src| {
        replace(
            &src.join("journaler/pj-000001.json"),
            "\"forfatter\": \"Helsesykepleier A\",",
            "",
        )
    });
    assert_clean_failure(&err, &out, &["pj-000001.json", "forfatter", "missing"]);
}

#[test]
fn missing_document_file_and_duplicate_episode_are_refused() {
    if shared().is_none() {
        return;
    }
    let (err, out, _t) = broken(|src| {
        std::fs::remove_file(src.join("dokumenter/notat-0002.txt")).unwrap();
    });
    assert_clean_failure(
        &err,
        &out,
        &[
            "pj-000001.json: episoder[0].dokumenter[1]",
            "fil",
            "does not exist",
        ],
    );
    let (err, out, _t) = broken(|src| {
        replace(
            &src.join("journaler/pj-000002.json"),
            "EPJ-2021-0042",
            "EPJ-2021-0001",
        )
    });
    assert_clean_failure(
        &err,
        &out,
        &["pj-000002.json: episoder[1]", "episode_id", "duplicate"],
    );
    assert!(!err.to_string().contains("EPJ-2021-0001"));
}

#[test]
fn non_archive_document_is_reported_not_included() {
    if shared().is_none() {
        return;
    }
    let (err, out, _t) = broken(|src| {
        let mut zip = b"PK\x03\x04".to_vec();
        zip.extend_from_slice(&[0u8; 64]);
        std::fs::write(src.join("dokumenter/notat-0001.txt"), zip).unwrap();
    });
    assert_clean_failure(
        &err,
        &out,
        &[
            "pj-000001.json: episoder[0].dokumenter[0]",
            "not an archive format",
        ],
    );
}

#[test]
fn the_legal_basis_is_required() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let schemas = SchemaSet::open(&shared.join("schemas")).unwrap();
    let o = HelseOptions {
        skjermingshjemmel: " ".into(),
        ..hopts()
    };
    let out = tmp.path().join("u");
    let err = import(&fixtures().join("helse-small"), out.clone(), schemas, &o).unwrap_err();
    let m = err.to_string();
    assert!(m.contains("--skjermingshjemmel"), "{m}");
    assert!(m.contains("HVELV_NOARK5_SKJERMINGSHJEMMEL"), "{m}");
    assert!(!out.exists());
}
