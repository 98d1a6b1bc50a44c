//! The record types of the JSON Lines format (docs/noark5-import.md) and the line reader.
//!
//! Every record type refuses unknown fields (they are usually typos); code values deserialize
//! into the code-list enums, so a code such as `I` is refused with the list of allowed values.

use crate::codes::*;
use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::io::{BufRead, BufReader};
use std::iter::Peekable;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Head {
    pub(crate) system_name: String,
    #[serde(default = "default_system_type")]
    pub(crate) system_type: String,
    pub(crate) periode: Periode,
    pub(crate) arkiv: ArkivRec,
    pub(crate) arkivskapere: Vec<ArkivskaperRec>,
    pub(crate) arkivdel: ArkivdelRec,
    pub(crate) klassifikasjonssystem: KlassifikasjonssystemRec,
}

pub(crate) fn default_system_type() -> String {
    "Sakarkiv (Noark-5)".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Periode {
    pub(crate) start: String,
    pub(crate) slutt: String,
    pub(crate) inngaaende_skille: Periodeskille,
    pub(crate) utgaaende_skille: Periodeskille,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArkivRec {
    pub(crate) system_id: Option<String>,
    pub(crate) tittel: String,
    pub(crate) beskrivelse: Option<String>,
    pub(crate) opprettet_dato: String,
    pub(crate) opprettet_av: String,
    pub(crate) avsluttet_dato: String,
    pub(crate) avsluttet_av: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArkivskaperRec {
    pub(crate) id: String,
    pub(crate) navn: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArkivdelRec {
    pub(crate) tittel: String,
    pub(crate) arkivdelstatus: Arkivdelstatus,
    pub(crate) opprettet_dato: String,
    pub(crate) opprettet_av: String,
    pub(crate) avsluttet_dato: String,
    pub(crate) avsluttet_av: String,
    pub(crate) arkivperiode_start: Option<String>,
    pub(crate) arkivperiode_slutt: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KlassifikasjonssystemRec {
    pub(crate) klassifikasjonstype: Option<String>,
    pub(crate) tittel: String,
    pub(crate) opprettet_dato: String,
    pub(crate) opprettet_av: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KlasseRec {
    pub(crate) klasse_id: String,
    pub(crate) tittel: String,
    pub(crate) forelder: Option<String>,
    pub(crate) opprettet_dato: String,
    pub(crate) opprettet_av: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SkjermingRec {
    pub(crate) tilgangsrestriksjon: String,
    pub(crate) skjermingshjemmel: String,
    pub(crate) skjerming_metadata: Vec<SkjermingMetadata>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KassasjonRec {
    pub(crate) vedtak: Kassasjonsvedtak,
    pub(crate) hjemmel: Option<String>,
    pub(crate) bevaringstid: u32,
    pub(crate) kassasjonsdato: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SakRec {
    pub(crate) saksaar: i32,
    pub(crate) sakssekvensnummer: u64,
    pub(crate) klasse_id: String,
    pub(crate) tittel: String,
    pub(crate) offentlig_tittel: Option<String>,
    pub(crate) opprettet_dato: String,
    pub(crate) opprettet_av: String,
    pub(crate) avsluttet_dato: String,
    pub(crate) avsluttet_av: String,
    pub(crate) saksdato: String,
    pub(crate) administrativ_enhet: String,
    pub(crate) saksansvarlig: String,
    pub(crate) journalenhet: Option<String>,
    pub(crate) saksstatus: Saksstatus,
    pub(crate) skjerming: Option<SkjermingRec>,
    pub(crate) kassasjon: Option<KassasjonRec>,
    pub(crate) gradering: Option<GraderingRec>,
    #[serde(default)]
    pub(crate) parter: Vec<PartRec>,
    #[serde(default)]
    pub(crate) merknader: Vec<MerknadRec>,
    #[serde(default)]
    pub(crate) kryssreferanser: Vec<KryssreferanseRec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AvskrivningRec {
    pub(crate) dato: String,
    pub(crate) av: String,
    pub(crate) maate: String,
    pub(crate) avskrives_av_journalaar: Option<i32>,
    pub(crate) avskrives_av_journalsekvensnummer: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JournalpostRec {
    pub(crate) saksaar: i32,
    pub(crate) sakssekvensnummer: u64,
    pub(crate) journalaar: i32,
    pub(crate) journalsekvensnummer: u64,
    pub(crate) journalpostnummer: u64,
    pub(crate) journalposttype: Journalposttype,
    pub(crate) journalstatus: Journalstatus,
    pub(crate) journaldato: String,
    pub(crate) tittel: String,
    pub(crate) offentlig_tittel: Option<String>,
    pub(crate) opprettet_dato: String,
    pub(crate) opprettet_av: String,
    pub(crate) arkivert_dato: String,
    pub(crate) arkivert_av: String,
    pub(crate) dokumentets_dato: Option<String>,
    pub(crate) mottatt_dato: Option<String>,
    pub(crate) sendt_dato: Option<String>,
    pub(crate) skjerming: Option<SkjermingRec>,
    pub(crate) gradering: Option<GraderingRec>,
    #[serde(default)]
    pub(crate) avskrivninger: Vec<AvskrivningRec>,
    #[serde(default)]
    pub(crate) parter: Vec<PartRec>,
    #[serde(default)]
    pub(crate) merknader: Vec<MerknadRec>,
    #[serde(default)]
    pub(crate) kryssreferanser: Vec<KryssreferanseRec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KorrespondansepartRec {
    pub(crate) journalaar: i32,
    pub(crate) journalsekvensnummer: u64,
    pub(crate) korrespondanseparttype: Korrespondanseparttype,
    pub(crate) navn: String,
    pub(crate) postadresse: Option<String>,
    pub(crate) postnummer: Option<String>,
    pub(crate) poststed: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DokumentRec {
    pub(crate) journalaar: i32,
    pub(crate) journalsekvensnummer: u64,
    pub(crate) dokumentnummer: u32,
    pub(crate) tilknyttet_registrering_som: TilknyttetRegistreringSom,
    pub(crate) dokumenttype: String,
    pub(crate) dokumentstatus: Dokumentstatus,
    pub(crate) tittel: String,
    pub(crate) opprettet_dato: String,
    pub(crate) opprettet_av: String,
    /// The file; absent for a destroyed document (`kassert`).
    pub(crate) fil: Option<String>,
    pub(crate) kassert: Option<KassertRec>,
    pub(crate) skjerming: Option<SkjermingRec>,
}

/// `part`: a party of a case or journalpost.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PartRec {
    pub(crate) id: Option<String>,
    pub(crate) navn: String,
    pub(crate) rolle: String,
    pub(crate) postadresse: Option<String>,
    pub(crate) postnummer: Option<String>,
    pub(crate) poststed: Option<String>,
}

/// `merknad`: a note.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MerknadRec {
    pub(crate) tekst: String,
    #[serde(rename = "type")]
    pub(crate) merknadstype: Option<String>,
    pub(crate) dato: String,
    pub(crate) registrert_av: String,
}

/// `kryssreferanse`: exactly one of a klasse (klasse_id), a sak (`"2023/12"`) or a journalpost
/// (`"2023/345"`, journalår/sekvensnummer).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KryssreferanseRec {
    pub(crate) klasse: Option<String>,
    pub(crate) sak: Option<String>,
    pub(crate) journalpost: Option<String>,
}

/// `gradering`: security grading.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GraderingRec {
    pub(crate) grad: Grad,
    pub(crate) dato: String,
    pub(crate) gradert_av: String,
    pub(crate) nedgraderingsdato: Option<String>,
    pub(crate) nedgradert_av: Option<String>,
}

/// `utfoertKassasjon` of a destroyed document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KassertRec {
    pub(crate) dato: String,
    pub(crate) av: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EndringRec {
    pub(crate) gjelder: Gjelder,
    pub(crate) aar: i32,
    pub(crate) nummer: u64,
    pub(crate) felt: String,
    pub(crate) endret_dato: String,
    pub(crate) endret_av: String,
    pub(crate) tidligere_verdi: String,
    pub(crate) ny_verdi: String,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Gjelder {
    Sak,
    Journalpost,
}

/// A JSON Lines file read record by record with its line number.
pub(crate) struct Lines<T> {
    pub(crate) name: String,
    pub(crate) lines: std::io::Lines<BufReader<std::fs::File>>,
    pub(crate) line: usize,
    pub(crate) _t: std::marker::PhantomData<T>,
}

impl<T: DeserializeOwned> Lines<T> {
    pub(crate) fn open(dir: &Path, name: &str, required: bool) -> Result<Option<Self>> {
        let path = dir.join(name);
        if !path.is_file() {
            if required {
                return Err(Error::invalid(
                    name,
                    "",
                    format!("{} not found in the export folder", path.display()),
                ));
            }
            return Ok(None);
        }
        let f = std::fs::File::open(&path).map_err(|e| Error::io("opening", &path, e))?;
        Ok(Some(Lines {
            name: name.to_string(),
            lines: BufReader::new(f).lines(),
            line: 0,
            _t: std::marker::PhantomData,
        }))
    }
}

impl<T: DeserializeOwned> Iterator for Lines<T> {
    type Item = Result<(String, T)>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let l = self.lines.next()?;
            self.line += 1;
            let record = format!("{} line {}", self.name, self.line);
            let l = match l {
                Ok(l) => l,
                Err(e) => {
                    return Some(Err(Error::invalid(
                        record,
                        "",
                        format!("cannot be read: {e}"),
                    )))
                }
            };
            if l.trim().is_empty() {
                continue;
            }
            return Some(
                serde_json::from_str::<T>(&l)
                    .map(|v| (record.clone(), v))
                    .map_err(|e| Error::invalid(record, field_of(&e), e.to_string())),
            );
        }
    }
}

pub(crate) fn field_of(e: &serde_json::Error) -> String {
    let m = e.to_string();
    m.split('`').nth(1).unwrap_or("").to_string()
}

pub(crate) type Stream<T> = Peekable<Lines<T>>;

pub(crate) fn peek_key<T, K: PartialEq>(
    s: &mut Option<Stream<T>>,
    key: impl Fn(&T) -> K,
    want: &K,
) -> bool
where
    T: DeserializeOwned,
{
    match s.as_mut().and_then(|s| s.peek()) {
        Some(Ok((_, v))) => key(v) == *want,
        Some(Err(_)) => true, // surface the error on next()
        None => false,
    }
}
