//! arkivuttrekk.xml is written in the exact order of Riksarkivaren's template: pinned against
//! the synthetic sample, which was built from the template.

use crate::util::shared;
use hvelv_noark5::codes::Periodeskille;
use hvelv_noark5::time::parse_date;
use hvelv_noark5::xml::{write_arkivuttrekk, AddmlInfo, FileEntry};

#[test]
fn arkivuttrekk_matches_template_order_byte_for_byte() {
    let Some(shared) = shared() else { return };
    let sample =
        std::fs::read_to_string(shared.join("samples/SYNTHETIC-minimal-v5.0/arkivuttrekk.xml"))
            .unwrap();
    // The sample has one comment line after the declaration; everything else is template.
    let expected: String = sample
        .lines()
        .filter(|l| !l.starts_with("<!--"))
        .map(|l| format!("{l}\n"))
        .collect();
    let values: Vec<String> = sample
        .lines()
        .filter_map(|l| {
            let t = l.trim();
            t.strip_prefix("<value>")
                .and_then(|v| v.strip_suffix("</value>"))
                .filter(|v| v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()))
                .map(str::to_string)
        })
        .collect();
    assert_eq!(values.len(), 9, "sample checksums: {values:?}");
    // Checksums in document order: arkivstruktur xml, xsd, metadatakatalog; then xml/xsd pairs.
    let f = |name: &str, i: usize, mdk: Option<String>, occ: Vec<(&str, u64)>| FileEntry {
        name: name.into(),
        checksum: values[i].clone(),
        schema_checksum: values[i + 1].clone(),
        metadatakatalog_checksum: mdk,
        occurrences: occ.into_iter().map(|(e, n)| (e.to_string(), n)).collect(),
    };
    let info = AddmlInfo {
        record_creators: vec!["Eksempel kommune".into()],
        system_type: "Sakarkiv (Noark-5)".into(),
        system_name: "Eksempelsystem 1.0".into(),
        archive: "Eksempelkommune sakarkiv".into(),
        start_date: parse_date("2023-01-01").unwrap(),
        end_date: parse_date("2023-12-31").unwrap(),
        version: "5.0".into(),
        inngaaende_skille: Periodeskille::Skarpt,
        utgaaende_skille: Periodeskille::Skarpt,
        inneholder_skjermet_informasjon: true,
        omfatter_dokumenter_som_er_kassert: false,
        inneholder_dokumenter_som_skal_kasseres: true,
        inneholder_virksomhetsspesifikke_metadata: false,
        antall_dokumentfiler: 2,
        files: vec![
            f(
                "arkivstruktur",
                0,
                Some(values[2].clone()),
                vec![("mappe", 1), ("registrering", 2)],
            ),
            f("endringslogg", 3, None, vec![("endring", 1)]),
            f("loependeJournal", 5, None, vec![("journalregistrering", 2)]),
            f(
                "offentligJournal",
                7,
                None,
                vec![("journalregistrering", 2)],
            ),
        ],
    };
    let out = String::from_utf8(write_arkivuttrekk(Vec::new(), &info).unwrap()).unwrap();
    if out != expected {
        for (i, (a, b)) in out.lines().zip(expected.lines()).enumerate() {
            assert_eq!(a, b, "first difference at line {}", i + 1);
        }
        assert_eq!(out.lines().count(), expected.lines().count());
    }
}
