//! Writing the cases: one saksmappe with its journalposts, correspondents and documents at a
//! time, merged from the sorted streams.

use super::records::*;
use super::Selection;
use crate::codes::*;
use crate::error::{Error, Result};
use crate::extract::ExtractBuilder;
use crate::id::SystemId;
use crate::model::*;
use crate::source::{date, datetime, opt_date, opt_datetime};
use std::cell::RefCell;
use std::path::Path;

fn skjerming(record: &str, s: Option<SkjermingRec>) -> Result<Option<Skjerming>> {
    let Some(s) = s else { return Ok(None) };
    if s.skjerming_metadata.is_empty() {
        return Err(Error::invalid(
            record,
            "skjerming_metadata",
            "at least one value is required",
        ));
    }
    Ok(Some(Skjerming {
        tilgangsrestriksjon: s.tilgangsrestriksjon,
        skjermingshjemmel: s.skjermingshjemmel,
        skjerming_metadata: s.skjerming_metadata,
        skjerming_dokument: None,
        skjermingsvarighet: None,
        skjerming_opphoerer_dato: None,
    }))
}

fn parts(record: &str, parter: Vec<PartRec>) -> Result<Vec<Part>> {
    parter
        .into_iter()
        .map(|p| {
            for (field, v) in [("parter.navn", &p.navn), ("parter.rolle", &p.rolle)] {
                if v.trim().is_empty() {
                    return Err(Error::invalid(record, field, "is mandatory and empty"));
                }
            }
            Ok(Part {
                part_id: p.id,
                part_navn: p.navn,
                part_rolle: p.rolle,
                postadresse: p.postadresse.into_iter().collect(),
                postnummer: p.postnummer,
                poststed: p.poststed,
            })
        })
        .collect()
}

fn merknader(record: &str, merknader: Vec<MerknadRec>) -> Result<Vec<Merknad>> {
    merknader
        .into_iter()
        .map(|m| {
            Ok(Merknad {
                merknadsdato: datetime(record, "merknader.dato", &m.dato)?,
                merknadstekst: m.tekst,
                merknadstype: m.merknadstype,
                merknad_registrert_av: m.registrert_av,
            })
        })
        .collect()
}

fn gradering(record: &str, g: Option<GraderingRec>) -> Result<Option<Gradering>> {
    let Some(g) = g else { return Ok(None) };
    Ok(Some(Gradering {
        grad: g.grad,
        graderingsdato: datetime(record, "gradering.dato", &g.dato)?,
        gradert_av: g.gradert_av,
        nedgraderingsdato: opt_datetime(
            record,
            "gradering.nedgraderingsdato",
            &g.nedgraderingsdato,
        )?,
        nedgradert_av: g.nedgradert_av,
    }))
}

/// A cross reference whose target is checked once every case has been written.
pub(super) struct PendingRef {
    /// The record holding it.
    pub(super) record: String,
    /// What it names, as given (`sak 2023/2`).
    pub(super) target: String,
    /// The target's derived systemID.
    pub(super) id: SystemId,
    /// Whether it points to a klasse (the whole classification system is always written).
    pub(super) klasse: bool,
}

pub(super) struct Ctx<'a> {
    pub(super) dir: &'a Path,
    pub(super) ns: SystemId,
    pub(super) arkivdel_id: SystemId,
    /// Cross references of the written cases, resolved at the end.
    pub(super) refs: RefCell<Vec<PendingRef>>,
}

/// `YYYY/N` → (year, number).
fn year_number(record: &str, field: &str, v: &str) -> Result<(i32, u64)> {
    v.split_once('/')
        .and_then(|(y, n)| Some((y.trim().parse().ok()?, n.trim().parse().ok()?)))
        .ok_or_else(|| {
            Error::invalid(
                record,
                field,
                format!("{v:?} is not YEAR/NUMBER (e.g. \"2023/12\")"),
            )
        })
}

impl Ctx<'_> {
    fn kryssreferanser(
        &self,
        record: &str,
        refs: Vec<KryssreferanseRec>,
    ) -> Result<Vec<Kryssreferanse>> {
        let mut out = Vec::with_capacity(refs.len());
        for r in refs {
            let (k, target, klasse) = match (r.klasse, r.sak, r.journalpost) {
                (Some(k), None, None) => {
                    let id = SystemId::derived(&self.ns, &format!("klasse:{k}"));
                    (Kryssreferanse::Klasse(id), format!("klasse {k}"), true)
                }
                (None, Some(s), None) => {
                    let (y, n) = year_number(record, "kryssreferanser.sak", &s)?;
                    let id = SystemId::derived(&self.ns, &format!("sak:{y}/{n}"));
                    (Kryssreferanse::Mappe(id), format!("sak {y}/{n}"), false)
                }
                (None, None, Some(j)) => {
                    let (y, n) = year_number(record, "kryssreferanser.journalpost", &j)?;
                    let id = SystemId::derived(&self.ns, &format!("jp:{y}/{n}"));
                    (
                        Kryssreferanse::Registrering(id),
                        format!("journalpost {y}/{n}"),
                        false,
                    )
                }
                _ => {
                    return Err(Error::invalid(
                        record,
                        "kryssreferanser",
                        "each cross reference names exactly one of klasse, sak or journalpost",
                    ))
                }
            };
            let id = match k {
                Kryssreferanse::Klasse(id)
                | Kryssreferanse::Mappe(id)
                | Kryssreferanse::Registrering(id) => id,
            };
            self.refs.borrow_mut().push(PendingRef {
                record: record.to_string(),
                target,
                id,
                klasse,
            });
            out.push(k);
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn write_cases(
        &self,
        b: &mut ExtractBuilder,
        klasse_id: &str,
        saker: &mut Option<Stream<SakRec>>,
        jps: &mut Option<Stream<JournalpostRec>>,
        parter: &mut Option<Stream<KorrespondansepartRec>>,
        doks: &mut Option<Stream<DokumentRec>>,
        sel: &Selection,
    ) -> Result<()> {
        while peek_key(saker, |s| s.klasse_id.clone(), &klasse_id.to_string()) {
            let Some(next) = saker.as_mut().and_then(|s| s.next()) else {
                break;
            };
            let (record, s) = next?;
            let key = (s.saksaar, s.sakssekvensnummer);
            let mut regs = Vec::new();
            let closed = datetime(&record, "avsluttet_dato", &s.avsluttet_dato)?;
            let include = sel.includes(closed.date_naive(), &s.administrativ_enhet);
            while peek_key(jps, |j| (j.saksaar, j.sakssekvensnummer), &key) {
                let Some(next) = jps.as_mut().and_then(|s| s.next()) else {
                    break;
                };
                let (jrec, j) = next?;
                let jkey = (j.journalaar, j.journalsekvensnummer);
                let mut kparter = Vec::new();
                while peek_key(parter, |p| (p.journalaar, p.journalsekvensnummer), &jkey) {
                    let Some(next) = parter.as_mut().and_then(|s| s.next()) else {
                        break;
                    };
                    let (_, p) = next?;
                    let mut kp = Korrespondansepart::new(p.korrespondanseparttype, p.navn);
                    kp.postadresse = p.postadresse.into_iter().collect();
                    kp.postnummer = p.postnummer;
                    kp.poststed = p.poststed;
                    kparter.push(kp);
                }
                let mut dbs = Vec::new();
                while peek_key(doks, |d| (d.journalaar, d.journalsekvensnummer), &jkey) {
                    let Some(next) = doks.as_mut().and_then(|s| s.next()) else {
                        break;
                    };
                    let (drec, d) = next?;
                    if include {
                        dbs.push(self.dokument(b, &drec, d)?);
                    }
                }
                if include {
                    regs.push(self.journalpost(&jrec, j, kparter, dbs)?);
                }
            }
            if !include {
                continue;
            }
            let mappe = Mappe {
                system_id: SystemId::derived(
                    &self.ns,
                    &format!("sak:{}/{}", s.saksaar, s.sakssekvensnummer),
                ),
                mappe_id: format!("{}/{}", s.saksaar, s.sakssekvensnummer),
                tittel: s.tittel,
                offentlig_tittel: s.offentlig_tittel,
                beskrivelse: None,
                noekkelord: vec![],
                dokumentmedium: None,
                opprettet_dato: datetime(&record, "opprettet_dato", &s.opprettet_dato)?,
                opprettet_av: s.opprettet_av,
                avsluttet_dato: closed,
                avsluttet_av: s.avsluttet_av,
                referanse_arkivdel: vec![self.arkivdel_id],
                parter: parts(&record, s.parter)?,
                kryssreferanser: self.kryssreferanser(&record, s.kryssreferanser)?,
                merknader: merknader(&record, s.merknader)?,
                kassasjon: s
                    .kassasjon
                    .map(|k| -> Result<Kassasjon> {
                        Ok(Kassasjon {
                            kassasjonsvedtak: k.vedtak,
                            kassasjonshjemmel: k.hjemmel,
                            bevaringstid: k.bevaringstid,
                            kassasjonsdato: date(
                                &record,
                                "kassasjon.kassasjonsdato",
                                &k.kassasjonsdato,
                            )?,
                        })
                    })
                    .transpose()?,
                skjerming: skjerming(&record, s.skjerming)?,
                gradering: gradering(&record, s.gradering)?,
                undermapper: vec![],
                registreringer: regs,
                mappetype: MappeType::Saksmappe(Saksmappe {
                    saksaar: s.saksaar,
                    sakssekvensnummer: s.sakssekvensnummer,
                    saksdato: date(&record, "saksdato", &s.saksdato)?,
                    administrativ_enhet: s.administrativ_enhet,
                    saksansvarlig: s.saksansvarlig,
                    journalenhet: s.journalenhet,
                    saksstatus: s.saksstatus,
                    utlaant_dato: None,
                    utlaant_til: None,
                    referanse_sekundaer_klassifikasjon: vec![],
                }),
            };
            b.write_mappe(&mappe).map_err(|e| e.in_record(record))?;
        }
        Ok(())
    }

    fn journalpost(
        &self,
        record: &str,
        j: JournalpostRec,
        korrespondanseparter: Vec<Korrespondansepart>,
        dokumentbeskrivelser: Vec<Dokumentbeskrivelse>,
    ) -> Result<Registrering> {
        let mut avskrivninger = Vec::new();
        for a in j.avskrivninger {
            let reference = match (a.avskrives_av_journalaar, a.avskrives_av_journalsekvensnummer) {
                (Some(y), Some(n)) => Some(SystemId::derived(&self.ns, &format!("jp:{y}/{n}"))),
                (None, None) => None,
                _ => {
                    return Err(Error::invalid(
                        record,
                        "avskrivninger.avskrives_av_journalsekvensnummer",
                        "give both avskrives_av_journalaar and avskrives_av_journalsekvensnummer, or neither",
                    ))
                }
            };
            avskrivninger.push(Avskrivning {
                avskrivningsdato: date(record, "avskrivninger.dato", &a.dato)?,
                avskrevet_av: a.av,
                avskrivningsmaate: a.maate,
                referanse_avskrives_av_journalpost: reference,
            });
        }
        Ok(Registrering {
            system_id: SystemId::derived(
                &self.ns,
                &format!("jp:{}/{}", j.journalaar, j.journalsekvensnummer),
            ),
            opprettet_dato: datetime(record, "opprettet_dato", &j.opprettet_dato)?,
            opprettet_av: j.opprettet_av,
            arkivert_dato: datetime(record, "arkivert_dato", &j.arkivert_dato)?,
            arkivert_av: j.arkivert_av,
            referanse_arkivdel: vec![],
            parter: parts(record, j.parter)?,
            kassasjon: None,
            skjerming: skjerming(record, j.skjerming)?,
            gradering: gradering(record, j.gradering)?,
            dokumentbeskrivelser,
            registrerings_id: Some(format!(
                "{}/{}-{}",
                j.saksaar, j.sakssekvensnummer, j.journalpostnummer
            )),
            tittel: j.tittel,
            offentlig_tittel: j.offentlig_tittel,
            beskrivelse: None,
            noekkelord: vec![],
            forfatter: vec![],
            dokumentmedium: None,
            merknader: merknader(record, j.merknader)?,
            kryssreferanser: self.kryssreferanser(record, j.kryssreferanser)?,
            korrespondanseparter,
            registreringstype: RegistreringType::Journalpost(Journalpost {
                journalaar: j.journalaar,
                journalsekvensnummer: j.journalsekvensnummer,
                journalpostnummer: j.journalpostnummer,
                journalposttype: j.journalposttype,
                journalstatus: j.journalstatus,
                journaldato: date(record, "journaldato", &j.journaldato)?,
                dokumentets_dato: opt_date(record, "dokumentets_dato", &j.dokumentets_dato)?,
                mottatt_dato: opt_datetime(record, "mottatt_dato", &j.mottatt_dato)?,
                sendt_dato: opt_datetime(record, "sendt_dato", &j.sendt_dato)?,
                forfallsdato: None,
                offentlighetsvurdert_dato: None,
                antall_vedlegg: None,
                journalenhet: None,
                avskrivninger,
            }),
        })
    }

    fn dokument(
        &self,
        b: &mut ExtractBuilder,
        record: &str,
        d: DokumentRec,
    ) -> Result<Dokumentbeskrivelse> {
        let key = format!(
            "{}/{}/{}",
            d.journalaar, d.journalsekvensnummer, d.dokumentnummer
        );
        let obj_id = SystemId::derived(&self.ns, &format!("do:{key}/v1"));
        let opprettet = datetime(record, "opprettet_dato", &d.opprettet_dato)?;
        // A destroyed document keeps its metadata down to dokumentbeskrivelse, with
        // utfoertKassasjon, and has no file (krav 6.4.27).
        let (utfoert_kassasjon, dokumentobjekter) = match (d.fil, d.kassert) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    record,
                    "kassert",
                    "a destroyed document (kassert) has no file: give fil or kassert, not both",
                ))
            }
            (None, None) => {
                return Err(Error::invalid(
                    record,
                    "fil",
                    "is mandatory (or kassert, for a destroyed document)",
                ))
            }
            (None, Some(k)) => (
                Some(UtfoertKassasjon {
                    kassert_dato: datetime(record, "kassert.dato", &k.dato)?,
                    kassert_av: k.av,
                }),
                vec![],
            ),
            (Some(fil), None) => {
                let src = self.dir.join(&fil);
                if !src.is_file() {
                    return Err(Error::invalid(
                        record,
                        "fil",
                        format!("document file {} does not exist", src.display()),
                    ));
                }
                let stored = b.store_document(&src, obj_id, d.journalaar)?;
                let o = Dokumentobjekt {
                    system_id: obj_id,
                    versjonsnummer: 1,
                    variantformat: Variantformat::Arkivformat,
                    format: stored.format,
                    format_detaljer: Some(stored.format_detaljer),
                    opprettet_dato: opprettet,
                    opprettet_av: d.opprettet_av.clone(),
                    referanse_dokumentfil: stored.referanse_dokumentfil,
                    sjekksum: stored.sjekksum,
                    sjekksum_algoritme: "SHA-256".into(),
                    filstoerrelse: stored.filstoerrelse,
                    konverteringer: vec![],
                };
                (None, vec![o])
            }
        };
        Ok(Dokumentbeskrivelse {
            system_id: SystemId::derived(&self.ns, &format!("db:{key}")),
            dokumenttype: d.dokumenttype,
            dokumentstatus: d.dokumentstatus,
            tittel: d.tittel,
            beskrivelse: None,
            forfatter: vec![],
            opprettet_dato: opprettet,
            opprettet_av: d.opprettet_av.clone(),
            dokumentmedium: None,
            referanse_arkivdel: vec![],
            tilknyttet_registrering_som: d.tilknyttet_registrering_som,
            dokumentnummer: d.dokumentnummer,
            tilknyttet_dato: opprettet,
            tilknyttet_av: d.opprettet_av.clone(),
            parter: vec![],
            merknader: vec![],
            kassasjon: None,
            utfoert_kassasjon,
            sletting: None,
            skjerming: skjerming(record, d.skjerming)?,
            gradering: None,
            dokumentobjekter,
        })
    }
}
