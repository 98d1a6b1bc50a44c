//! Source 2 (JSON Lines export): the fixture imports into an extract that validates with 0
//! errors and with xmllint, its XML is pinned by golden files, unit/period selection keeps the
//! full classification system, and malformed input is refused with record and field named.

use crate::util::{copy_tree, fixtures, shared, xmllint, xmllint_available};
use hvelv_noark5::schemas::SchemaSet;
use hvelv_noark5::source::jsonl::{import, Selection};
use hvelv_noark5::validate::{validate, ValidateOptions, XsdMode};
use hvelv_noark5::ErrorKind;
use std::path::{Path, PathBuf};

fn opts() -> ValidateOptions {
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

/// The text of the single element `name` in `xml` (first occurrence).
fn element<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{name}>")) + open.len();
    let end = xml[start..].find(&format!("</{name}>")).unwrap() + start;
    &xml[start..end]
}

fn build(src: &Path, out: PathBuf, sel: &Selection) -> hvelv_noark5::Result<PathBuf> {
    let shared = shared().expect("checked by caller");
    let schemas = SchemaSet::open(&shared.join("schemas")).unwrap();
    import(src, out.clone(), schemas, sel).map(|_| out)
}

#[test]
fn fixture_imports_into_a_valid_extract() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = build(
        &fixtures().join("jsonl-small"),
        tmp.path().join("u"),
        &Selection::default(),
    )
    .unwrap();
    let r = validate(&out, &opts()).unwrap();
    assert_eq!(r.error_count(), 0, "{}", r.to_text());
    assert_eq!(r.rule("N5.26").unwrap().counts["dokumentobjekt"], 4);
    assert_eq!(r.rule("N5.29").unwrap().counts["pdf"], 1);
    let s = std::fs::read_to_string(out.join("arkivstruktur.xml")).unwrap();
    assert!(
        s.contains("<formatDetaljer>PDF/A-1b (fmt/354)</formatDetaljer>"),
        "{s}"
    );
    // The optional model elements of the import format are written.
    assert!(element(&s, "part").contains("<partNavn>Ola Nordmann</partNavn>"));
    assert!(element(&s, "part").contains("<partRolle>Søker</partRolle>"));
    assert!(element(&s, "merknad").contains("<merknadstype>Telefonnotat</merknadstype>"));
    assert!(element(&s, "gradering").contains("<grad>Fortrolig (beskyttelsesgrad)</grad>"));
    assert_eq!(s.matches("<kryssreferanse>").count(), 3);
    for r in [
        "referanseTilMappe",
        "referanseTilRegistrering",
        "referanseTilKlasse",
    ] {
        assert!(s.contains(&format!("<{r}>")), "{r}");
    }
    let kassert = element(&s, "utfoertKassasjon");
    assert!(
        kassert.contains("<kassertAv>Arkivleder</kassertAv>"),
        "{kassert}"
    );
    assert_eq!(r.rule("N5.45").unwrap().counts["utfoertKassasjon"], 1);
    assert_eq!(r.rule("N5.23").unwrap().counts["dokumentbeskrivelse"], 5);
    assert!(element(&s, "dokumentbeskrivelse").contains("<skjerming>"));
    let addml = std::fs::read_to_string(out.join("arkivuttrekk.xml")).unwrap();
    let flag = addml
        .split("omfatterDokumenterSomErKassert")
        .nth(1)
        .unwrap();
    assert!(
        flag[..flag.find("</property>").unwrap()].contains("<value>true</value>"),
        "{flag}"
    );
    let loepende = std::fs::read_to_string(out.join("loependeJournal.xml")).unwrap();
    assert!(loepende.contains("<grad>Fortrolig (beskyttelsesgrad)</grad>"));
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
fn golden_xml_of_the_fixture() {
    if shared().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = build(
        &fixtures().join("jsonl-small"),
        tmp.path().join("u"),
        &Selection::default(),
    )
    .unwrap();
    let golden = fixtures().join("golden/jsonl-small");
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
fn unit_split_keeps_the_full_classification_system() {
    if shared().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let sel = Selection {
        unit: Some("Landbrukskontoret".into()),
        ..Default::default()
    };
    let out = build(&fixtures().join("jsonl-small"), tmp.path().join("u"), &sel).unwrap();
    let r = validate(&out, &opts()).unwrap();
    assert_eq!(r.error_count(), 0, "{}", r.to_text());
    let s = std::fs::read_to_string(out.join("arkivstruktur.xml")).unwrap();
    assert_eq!(s.matches("<klasse>").count(), 5, "all classes stay");
    assert_eq!(s.matches("<mappe ").count(), 1);
    assert!(!s.contains("Storgata"));
    // The cross reference to the other unit's case is kept: its systemID is derived from the
    // case key, so it resolves in that unit's extract.
    assert!(s.contains("<referanseTilMappe>"));
    let e = std::fs::read_to_string(out.join("endringslogg.xml")).unwrap();
    assert_eq!(
        e.matches("<endring>").count(),
        1,
        "the change of an excluded case is left out"
    );
}

#[test]
fn an_open_arkivdel_needs_a_date_range() {
    if shared().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_tree(&fixtures().join("jsonl-small"), &src);
    replace(
        &src.join("uttrekk.json"),
        "\"arkivdelstatus\": \"Avsluttet periode\"",
        "\"arkivdelstatus\": \"Aktiv periode\"",
    );
    let e = build(&src, tmp.path().join("a"), &Selection::default()).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("uttrekk.json") && m.contains("arkivdel.arkivdelstatus") && m.contains("6.4.12"),
        "{m}"
    );
    assert_clean(&tmp.path().join("a"));
    // An extract by date range (krav 6.4.14) of the open period is allowed.
    let sel = Selection {
        closed_to: Some("2023-03-31".parse().unwrap()),
        ..Default::default()
    };
    let out = build(&src, tmp.path().join("b"), &sel).unwrap();
    let r = validate(&out, &opts()).unwrap();
    assert_eq!(r.error_count(), 0, "{}", r.to_text());
    let s = std::fs::read_to_string(out.join("arkivstruktur.xml")).unwrap();
    assert_eq!(
        s.matches("<mappe ").count(),
        1,
        "only the case closed by March"
    );
}

fn broken(edit: impl FnOnce(&Path)) -> (hvelv_noark5::Error, PathBuf, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_tree(&fixtures().join("jsonl-small"), &src);
    edit(&src);
    let out = tmp.path().join("u");
    let err = build(&src, out.clone(), &Selection::default()).unwrap_err();
    (err, out, tmp)
}

fn replace(file: &Path, from: &str, to: &str) {
    let s = std::fs::read_to_string(file).unwrap();
    assert!(s.contains(from), "{from}");
    std::fs::write(file, s.replacen(from, to, 1)).unwrap();
}

fn assert_clean(out: &Path) {
    assert!(!out.exists(), "no extract may be left");
    let mut partial = out.as_os_str().to_owned();
    partial.push(".partial");
    assert!(
        !Path::new(&partial).exists(),
        "no partial folder may be left"
    );
}

#[test]
fn malformed_input_names_record_and_field() {
    if shared().is_none() {
        return;
    }
    // Missing mandatory field.
    let (e, out, _t) = broken(|d| {
        replace(
            &d.join("saker.jsonl"),
            "\"saksansvarlig\": \"Per Planlegger\", ",
            "",
        )
    });
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let m = e.to_string();
    assert!(
        m.contains("saker.jsonl line 2") && m.contains("saksansvarlig"),
        "{m}"
    );
    assert_clean(&out);
    // Bad date.
    let (e, out, _t) = broken(|d| {
        replace(
            &d.join("journalposter.jsonl"),
            "\"journaldato\": \"2023-01-20\"",
            "\"journaldato\": \"20.01.2023\"",
        )
    });
    let m = e.to_string();
    assert!(
        m.contains("journalposter.jsonl line 2")
            && m.contains("`journaldato`")
            && m.contains("20.01.2023"),
        "{m}"
    );
    assert_clean(&out);
    // Unknown code value.
    let (e, out, _t) = broken(|d| {
        replace(
            &d.join("journalposter.jsonl"),
            "\"Utgående dokument\"",
            "\"U\"",
        )
    });
    let m = e.to_string();
    assert!(
        m.contains("journalposter.jsonl line 2")
            && m.contains("\"U\"")
            && m.contains("Utgående dokument"),
        "{m}"
    );
    assert_clean(&out);
    // Duplicate id (the same case twice).
    let (e, out, _t) = broken(|d| {
        let p = d.join("saker.jsonl");
        let s = std::fs::read_to_string(&p).unwrap();
        let second = s
            .lines()
            .nth(1)
            .unwrap()
            .replace("\"sakssekvensnummer\": 2", "\"sakssekvensnummer\": 1");
        std::fs::write(&p, format!("{}\n{}\n", s.lines().next().unwrap(), second)).unwrap();
        std::fs::write(
            d.join("journalposter.jsonl"),
            std::fs::read_to_string(d.join("journalposter.jsonl"))
                .unwrap()
                .replace("\"sakssekvensnummer\": 2", "\"sakssekvensnummer\": 1"),
        )
        .unwrap();
    });
    let m = e.to_string();
    assert!(
        m.contains("duplicate systemID") && m.contains("saker.jsonl line 2"),
        "{m}"
    );
    assert_clean(&out);
    // Missing document file.
    let (e, out, _t) = broken(|d| std::fs::remove_file(d.join("filer/vedtak.pdf")).unwrap());
    let m = e.to_string();
    assert!(
        m.contains("dokumenter.jsonl line 2") && m.contains("`fil`") && m.contains("vedtak.pdf"),
        "{m}"
    );
    assert_clean(&out);
    // A malformed first case is reported as such (it used to surface as a misplaced case).
    let (e, out, _t) = broken(|d| {
        replace(
            &d.join("saker.jsonl"),
            "\"saksdato\": \"2023-01-02\"",
            "\"saksdato\": \"2023-01-02\", \"saksdatum\": \"x\"",
        )
    });
    let m = e.to_string();
    assert!(
        m.contains("saker.jsonl line 1") && m.contains("saksdatum") && !m.contains("subclasses"),
        "{m}"
    );
    assert_clean(&out);
    // A cross reference to a case that is not in the export.
    let (e, out, _t) = broken(|d| {
        replace(
            &d.join("saker.jsonl"),
            "{\"sak\": \"2023/2\"}",
            "{\"sak\": \"2023/99\"}",
        )
    });
    let m = e.to_string();
    assert!(
        m.contains("saker.jsonl line 1") && m.contains("kryssreferanser") && m.contains("2023/99"),
        "{m}"
    );
    assert_clean(&out);
    // A destroyed document with a file.
    let (e, out, _t) = broken(|d| {
        replace(
            &d.join("dokumenter.jsonl"),
            "\"kassert\": {",
            "\"fil\": \"filer/soknad.txt\", \"kassert\": {",
        )
    });
    let m = e.to_string();
    assert!(
        m.contains("dokumenter.jsonl line 3") && m.contains("`kassert`") && m.contains("not both"),
        "{m}"
    );
    assert_clean(&out);
    // Out of order.
    let (e, out, _t) = broken(|d| {
        let p = d.join("saker.jsonl");
        let s = std::fs::read_to_string(&p).unwrap();
        let l: Vec<&str> = s.lines().collect();
        std::fs::write(&p, format!("{}\n{}\n", l[1], l[0])).unwrap();
    });
    let m = e.to_string();
    assert!(m.contains("must follow the order"), "{m}");
    assert_clean(&out);
}

#[test]
fn the_import_doc_carries_the_complete_fixture() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/noark5-import.md"),
    )
    .unwrap();
    let mut n = 0;
    for e in std::fs::read_dir(fixtures().join("jsonl-small")).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(
                doc.contains(&format!("`{name}`:\n```json\n{text}```")),
                "docs/noark5-import.md does not show {name} as it is in the fixture"
            );
            n += 1;
        }
    }
    assert_eq!(n, 7, "every JSON file of the fixture is in the doc");
}
