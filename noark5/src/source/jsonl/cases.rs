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

pub(super) struct Ctx<'a> {
    pub(super) dir: &'a Path,
    pub(super) ns: SystemId,
    pub(super) arkivdel_id: SystemId,
}

impl Ctx<'_> {
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
                parter: vec![],
                kryssreferanser: vec![],
                merknader: vec![],
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
                gradering: None,
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
            parter: vec![],
            kassasjon: None,
            skjerming: skjerming(record, j.skjerming)?,
            gradering: None,
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
            merknader: vec![],
            kryssreferanser: vec![],
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
        let src = self.dir.join(&d.fil);
        if !src.is_file() {
            return Err(Error::invalid(
                record,
                "fil",
                format!("document file {} does not exist", src.display()),
            ));
        }
        let opprettet = datetime(record, "opprettet_dato", &d.opprettet_dato)?;
        let stored = b.store_document(&src, obj_id, d.journalaar)?;
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
            utfoert_kassasjon: None,
            sletting: None,
            skjerming: None,
            gradering: None,
            dokumentobjekter: vec![Dokumentobjekt {
                system_id: obj_id,
                versjonsnummer: 1,
                variantformat: Variantformat::Arkivformat,
                format: stored.format,
                format_detaljer: Some(stored.format_detaljer),
                opprettet_dato: opprettet,
                opprettet_av: d.opprettet_av,
                referanse_dokumentfil: stored.referanse_dokumentfil,
                sjekksum: stored.sjekksum,
                sjekksum_algoritme: "SHA-256".into(),
                filstoerrelse: stored.filstoerrelse,
                konverteringer: vec![],
            }],
        })
    }
}
