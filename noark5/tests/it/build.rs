//! Building an extract with the library API: the output validates with xmllint against both
//! v5.0 schema revisions, and bad input is refused without leaving an extract behind.

use crate::util::{shared, xmllint, xmllint_available};
use hvelv_noark5::codes::*;
use hvelv_noark5::extract::{ExtractBuilder, ExtractOptions};
use hvelv_noark5::model::*;
use hvelv_noark5::schemas::SchemaSet;
use hvelv_noark5::time::{parse_date, parse_datetime, DateTime};
use hvelv_noark5::{ErrorKind, SystemId};
use std::path::{Path, PathBuf};

fn dt(s: &str) -> DateTime {
    parse_datetime(s).unwrap()
}

fn arkiv() -> Arkiv {
    Arkiv {
        system_id: SystemId::new_random(),
        tittel: "Eksempelkommune sakarkiv".into(),
        beskrivelse: None,
        arkivstatus: Some(Arkivstatus::Avsluttet),
        dokumentmedium: Some(Dokumentmedium::Elektronisk),
        opprettet_dato: dt("2023-01-01T08:00:00+01:00"),
        opprettet_av: "Arkivleder".into(),
        avsluttet_dato: dt("2024-01-05T08:00:00+01:00"),
        avsluttet_av: "Arkivleder".into(),
        arkivskapere: vec![Arkivskaper {
            arkivskaper_id: "999999999".into(),
            arkivskaper_navn: "Eksempel kommune".into(),
            beskrivelse: None,
        }],
    }
}

fn arkivdel() -> Arkivdel {
    Arkivdel {
        system_id: SystemId::new_random(),
        tittel: "Sakarkiv 2023".into(),
        beskrivelse: None,
        arkivdelstatus: Arkivdelstatus::AvsluttetPeriode,
        dokumentmedium: Some(Dokumentmedium::Elektronisk),
        opprettet_dato: dt("2023-01-01T08:00:00+01:00"),
        opprettet_av: "Arkivleder".into(),
        avsluttet_dato: dt("2024-01-05T08:00:00+01:00"),
        avsluttet_av: "Arkivleder".into(),
        arkivperiode_start_dato: Some(parse_date("2023-01-01").unwrap()),
        arkivperiode_slutt_dato: Some(parse_date("2023-12-31").unwrap()),
        referanse_forloeper: None,
        referanse_arvtaker: None,
        kassasjon: None,
        utfoert_kassasjon: None,
        sletting: None,
        skjerming: None,
        gradering: None,
    }
}

fn klasse(id: &str, tittel: &str) -> Klasse {
    Klasse {
        system_id: SystemId::new_random(),
        klasse_id: id.into(),
        tittel: tittel.into(),
        beskrivelse: None,
        noekkelord: vec![],
        opprettet_dato: dt("2023-01-01T08:00:00+01:00"),
        opprettet_av: "Arkivleder".into(),
        avsluttet_dato: None,
        avsluttet_av: None,
        kryssreferanser: vec![],
        kassasjon: None,
        skjerming: None,
        gradering: None,
    }
}

fn skjerming(what: &[SkjermingMetadata]) -> Skjerming {
    Skjerming {
        tilgangsrestriksjon: "Unntatt offentlighet".into(),
        skjermingshjemmel: "Offl. § 13, jf. fvl. § 13 første ledd nr. 1".into(),
        skjerming_metadata: what.to_vec(),
        skjerming_dokument: None,
        skjermingsvarighet: None,
        skjerming_opphoerer_dato: None,
    }
}

fn journalpost(seq: u64, tittel: &str, doc: Dokumentbeskrivelse) -> Registrering {
    Registrering {
        system_id: SystemId::new_random(),
        opprettet_dato: dt("2023-01-02T09:05:00+01:00"),
        opprettet_av: "Postmottak".into(),
        arkivert_dato: dt("2023-01-02T09:10:00+01:00"),
        arkivert_av: "Postmottak".into(),
        referanse_arkivdel: vec![],
        parter: vec![],
        kassasjon: None,
        skjerming: None,
        gradering: None,
        dokumentbeskrivelser: vec![doc],
        registrerings_id: Some(format!("2023/1-{seq}")),
        tittel: tittel.into(),
        offentlig_tittel: None,
        beskrivelse: None,
        noekkelord: vec![],
        forfatter: vec![],
        dokumentmedium: None,
        merknader: vec![],
        kryssreferanser: vec![],
        korrespondanseparter: vec![Korrespondansepart::new(
            Korrespondanseparttype::Avsender,
            "Ola Nordmann",
        )],
        registreringstype: RegistreringType::Journalpost(Journalpost {
            journalaar: 2023,
            journalsekvensnummer: seq,
            journalpostnummer: seq,
            journalposttype: Journalposttype::Inngaaende,
            journalstatus: Journalstatus::Arkivert,
            journaldato: parse_date(&format!("2023-01-{:02}", 1 + seq)).unwrap(),
            dokumentets_dato: None,
            mottatt_dato: Some(dt("2023-01-02T08:30:00+01:00")),
            sendt_dato: None,
            forfallsdato: None,
            offentlighetsvurdert_dato: None,
            antall_vedlegg: None,
            journalenhet: None,
            avskrivninger: vec![],
        }),
    }
}

fn dokument(b: &mut ExtractBuilder, src: &Path) -> Dokumentbeskrivelse {
    let id = SystemId::new_random();
    let stored = b.store_document(src, id, 2023).unwrap();
    Dokumentbeskrivelse {
        system_id: SystemId::new_random(),
        dokumenttype: "Brev".into(),
        dokumentstatus: Dokumentstatus::Ferdigstilt,
        tittel: "Brev".into(),
        beskrivelse: None,
        forfatter: vec![],
        opprettet_dato: dt("2023-01-02T09:05:00+01:00"),
        opprettet_av: "Postmottak".into(),
        dokumentmedium: None,
        referanse_arkivdel: vec![],
        tilknyttet_registrering_som: TilknyttetRegistreringSom::Hoveddokument,
        dokumentnummer: 1,
        tilknyttet_dato: dt("2023-01-02T09:05:00+01:00"),
        tilknyttet_av: "Postmottak".into(),
        parter: vec![],
        merknader: vec![],
        kassasjon: None,
        utfoert_kassasjon: None,
        sletting: None,
        skjerming: None,
        gradering: None,
        dokumentobjekter: vec![Dokumentobjekt {
            system_id: id,
            versjonsnummer: 1,
            variantformat: Variantformat::Arkivformat,
            format: stored.format.clone(),
            format_detaljer: Some(stored.format_detaljer.clone()),
            opprettet_dato: dt("2023-01-02T09:05:00+01:00"),
            opprettet_av: "Postmottak".into(),
            referanse_dokumentfil: stored.referanse_dokumentfil.clone(),
            sjekksum: stored.sjekksum.clone(),
            sjekksum_algoritme: "SHA-256".into(),
            filstoerrelse: stored.filstoerrelse,
            konverteringer: vec![],
        }],
    }
}

fn saksmappe(regs: Vec<Registrering>) -> Mappe {
    Mappe {
        system_id: SystemId::new_random(),
        mappe_id: "2023/1".into(),
        tittel: "Tilskudd til drenering - Ola Nordmann".into(),
        offentlig_tittel: Some("Tilskudd til drenering - *****".into()),
        beskrivelse: None,
        noekkelord: vec![],
        dokumentmedium: None,
        opprettet_dato: dt("2023-01-02T09:00:00+01:00"),
        opprettet_av: "Sara Saksbehandler".into(),
        avsluttet_dato: dt("2023-02-01T15:00:00+01:00"),
        avsluttet_av: "Sara Saksbehandler".into(),
        referanse_arkivdel: vec![],
        parter: vec![],
        kryssreferanser: vec![],
        merknader: vec![],
        kassasjon: Some(Kassasjon {
            kassasjonsvedtak: Kassasjonsvedtak::Bevares,
            kassasjonshjemmel: None,
            bevaringstid: 0,
            kassasjonsdato: parse_date("2023-02-01").unwrap(),
        }),
        skjerming: Some(skjerming(&[SkjermingMetadata::TittelMappeUtvalgteOrd])),
        gradering: None,
        undermapper: vec![],
        registreringer: regs,
        mappetype: MappeType::Saksmappe(Saksmappe {
            saksaar: 2023,
            sakssekvensnummer: 1,
            saksdato: parse_date("2023-01-02").unwrap(),
            administrativ_enhet: "Landbrukskontoret".into(),
            saksansvarlig: "Sara Saksbehandler".into(),
            journalenhet: None,
            saksstatus: Saksstatus::Avsluttet,
            utlaant_dato: None,
            utlaant_til: None,
            referanse_sekundaer_klassifikasjon: vec![],
        }),
    }
}

fn options(schemas: &Path, out: PathBuf) -> ExtractOptions {
    ExtractOptions {
        output: out,
        schemas: SchemaSet::open(schemas).unwrap(),
        system_name: "hvelv test".into(),
        system_type: "Sakarkiv (Noark-5)".into(),
        period_start: parse_date("2023-01-01").unwrap(),
        period_end: parse_date("2023-12-31").unwrap(),
        inngaaende_skille: Periodeskille::Skarpt,
        utgaaende_skille: Periodeskille::Skarpt,
        seleksjon: None,
    }
}

/// Build a small extract into `out`; returns the path.
pub fn build_small(schemas: &Path, tmp: &Path, out: PathBuf) -> PathBuf {
    let doc1 = tmp.join("soknad.txt");
    let doc2 = tmp.join("vedtak.txt");
    std::fs::write(&doc1, "Søknad om tilskudd til drenering.\n").unwrap();
    std::fs::write(&doc2, "Vedtak: innvilget.\n").unwrap();
    let a = arkiv();
    let mut b = ExtractBuilder::create(options(schemas, out.clone()), &a).unwrap();
    let del = arkivdel();
    b.start_arkivdel(&del).unwrap();
    b.start_klassifikasjonssystem(&Klassifikasjonssystem {
        system_id: SystemId::new_random(),
        klassifikasjonstype: Some("Funksjonsbasert, hierarkisk".into()),
        tittel: "Arkivnøkkel".into(),
        beskrivelse: None,
        opprettet_dato: dt("2023-01-01T08:00:00+01:00"),
        opprettet_av: "Arkivleder".into(),
        avsluttet_dato: None,
        avsluttet_av: None,
    })
    .unwrap();
    b.start_klasse(&klasse("000", "Administrasjon (ubrukt)"))
        .unwrap();
    b.end_klasse().unwrap();
    b.start_klasse(&klasse("V", "Landbruk")).unwrap();
    let d1 = dokument(&mut b, &doc1);
    let d2 = dokument(&mut b, &doc2);
    let mut j1 = journalpost(2, "Søknad - Ola Nordmann", d1);
    j1.skjerming = Some(skjerming(&[
        SkjermingMetadata::NavnAvsender,
        SkjermingMetadata::TittelRegistreringUtvalgteOrd,
    ]));
    j1.offentlig_tittel = Some("Søknad - *****".into());
    let j2 = journalpost(1, "Vedtak om tilskudd", d2);
    let m = saksmappe(vec![j1, j2]);
    let mappe_id = m.system_id;
    b.write_mappe(&m).unwrap();
    b.end_klasse().unwrap();
    b.end_klassifikasjonssystem().unwrap();
    b.end_arkivdel().unwrap();
    b.add_endring(&Endring {
        referanse_arkivenhet: mappe_id,
        referanse_metadata: "saksansvarlig".into(),
        endret_dato: dt("2023-01-03T10:00:00+01:00"),
        endret_av: "Arkivleder".into(),
        tidligere_verdi: "Per".into(),
        ny_verdi: "Sara Saksbehandler".into(),
    })
    .unwrap();
    let summary = b.finish().unwrap();
    assert_eq!(summary.journalposter, 2);
    assert_eq!(summary.addml.antall_dokumentfiler, 2);
    assert!(summary.addml.inneholder_skjermet_informasjon);
    assert!(summary.addml.inneholder_dokumenter_som_skal_kasseres);
    assert!(!summary.addml.omfatter_dokumenter_som_er_kassert);
    out
}

#[test]
fn built_extract_validates_with_xmllint_against_both_revisions() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = build_small(
        &shared.join("schemas"),
        tmp.path(),
        tmp.path().join("uttrekk"),
    );
    assert!(!tmp.path().join("uttrekk.partial").exists());
    let offentlig = std::fs::read_to_string(out.join("offentligJournal.xml")).unwrap();
    assert!(offentlig.contains("<korrespondansepartNavn>*****</korrespondansepartNavn>"));
    assert!(!offentlig.contains("<tittel>Søknad - Ola Nordmann</tittel>"));
    let loepende = std::fs::read_to_string(out.join("loependeJournal.xml")).unwrap();
    // Sorted by sekvensnummer although written in the other order.
    let p1 = loepende.find("<journalsekvensnummer>1<").unwrap();
    let p2 = loepende.find("<journalsekvensnummer>2<").unwrap();
    assert!(p1 < p2);
    if !xmllint_available() {
        return;
    }
    for set in ["schemas", "schemas-v5.0-2019-arkade"] {
        for (xml, xsd) in [
            ("arkivstruktur.xml", "arkivstruktur.xsd"),
            ("endringslogg.xml", "endringslogg.xsd"),
            ("loependeJournal.xml", "loependeJournal.xsd"),
            ("offentligJournal.xml", "offentligJournal.xsd"),
            ("arkivuttrekk.xml", "addml.xsd"),
        ] {
            let (ok, err) = xmllint(&shared.join(set).join(xsd), &out.join(xml));
            assert!(ok, "{set}/{xsd} rejects {xml}: {err}");
        }
    }
}

#[test]
fn non_archive_document_is_refused_and_no_extract_is_left() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let docx = tmp.path().join("brev.docx");
    std::fs::write(&docx, b"PK\x03\x04 not really a docx").unwrap();
    let out = tmp.path().join("uttrekk");
    let mut b =
        ExtractBuilder::create(options(&shared.join("schemas"), out.clone()), &arkiv()).unwrap();
    let err = b
        .store_document(&docx, SystemId::new_random(), 2023)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Document);
    let msg = err.to_string();
    assert!(
        msg.contains("brev.docx") && msg.contains("not an archive format"),
        "{msg}"
    );
    drop(b);
    assert!(!out.exists());
    assert!(!tmp.path().join("uttrekk.partial").exists());
}

#[test]
fn writer_refuses_what_the_xsd_forbids() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("uttrekk");
    let mut b = ExtractBuilder::create(options(&shared.join("schemas"), out), &arkiv()).unwrap();
    b.start_arkivdel(&arkivdel()).unwrap();
    // A screened title without offentligTittel.
    let mut m = saksmappe(vec![]);
    m.offentlig_tittel = None;
    let e = b.write_mappe(&m).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("offentligTittel"), "{e}");
    // Empty mandatory value.
    let mut m = saksmappe(vec![]);
    m.tittel = " ".into();
    let e = b.write_mappe(&m).unwrap_err();
    assert!(e.to_string().contains("field `tittel`"), "{e}");
}

#[test]
fn duplicate_system_id_is_refused() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut b = ExtractBuilder::create(
        options(&shared.join("schemas"), tmp.path().join("u")),
        &arkiv(),
    )
    .unwrap();
    b.start_arkivdel(&arkivdel()).unwrap();
    let m = saksmappe(vec![]);
    let mut m2 = saksmappe(vec![]);
    m2.system_id = m.system_id;
    b.write_mappe(&m).unwrap();
    let e = b.write_mappe(&m2).unwrap_err();
    assert!(e.to_string().contains("duplicate systemID"), "{e}");
}
