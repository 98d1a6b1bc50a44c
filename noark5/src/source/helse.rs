//! Source 3: a secure-zone health export (sikker sone): a folder of documents plus one metadata
//! file per patient record (format in docs/NOARK5.md, example in `fixtures/noark5/helse-small/`).
//!
//! Mapping:
//! - one `mappe xsi:type="saksmappe"` per patient case (episode), directly under the arkivdel,
//!   with the patient as `part` (partRolle «Pasient»);
//! - one `registrering xsi:type="journalpost"` per document (journalstatus «Arkivert»), with
//!   the author as korrespondansepart and one `dokumentbeskrivelse` (Hoveddokument) with its
//!   `dokumentobjekt`;
//! - **every** mappe, registrering and dokumentbeskrivelse carries `skjerming` with
//!   tilgangsrestriksjon «Unntatt offentlighet» and the legal basis the user gives
//!   ([`HelseOptions::skjermingshjemmel`], e.g. «Offl. § 13, jf. hpl. § 21»); titles are shown
//!   publicly only as `*****` (or the export's own `offentlig_tittel`);
//! - both journals are written, because Arkade 5 fails N5.59/N5.60 for an extract without them
//!   and the journal schemas need at least one entry: every document is an entry, and the
//!   public journal shows only numbers, dates, document type codes, the access restriction and
//!   the legal basis; titles and the author's name are `*****`.
//!
//! Case and journal numbers: the EPJ has none, so they are assigned in export order (metadata
//! files sorted by name, episodes and documents in file order): `saksaar` is the year the
//! episode was opened and `sakssekvensnummer` counts episodes per year; `journalaar` is the year
//! the document was created (journaldato) and `journalsekvensnummer` counts documents per year.
//! Numbers are assigned before the period selection, so a split keeps them.
//!
//! Secure-zone rules: error messages name the metadata file, the record position
//! (`episoder[1].dokumenter[0]`) and the field, never a field's value (a value may be a
//! national identity number or a diagnosis). Nothing is written outside the output's
//! `.partial` folder (documents are copied to temporary files inside it, which is removed on
//! any error). The import logs nothing.
//!
//! Memory: the metadata files are read one at a time (one patient record in memory); the list
//! of their file names is sorted first so a re-run gives the same extract.

use super::jsonl::{build_arkiv, build_arkivdel, namespace, ArkivRec, ArkivdelRec};
use super::jsonl::{ArkivskaperRec, Periode};
use crate::codes::{Dokumentstatus, Journalposttype, Journalstatus, Korrespondanseparttype};
use crate::codes::{Saksstatus, SkjermingDokument, SkjermingMetadata};
use crate::codes::{TilknyttetRegistreringSom, Variantformat};
use crate::error::{Error, Result};
use crate::extract::{ExtractBuilder, ExtractOptions, ExtractSummary};
use crate::id::SystemId;
use crate::model::*;
use crate::schemas::SchemaSet;
use crate::time::{parse_date, parse_datetime, Date, DateTime};
use chrono::Datelike;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The folder holding the metadata files, one per patient record.
pub const RECORDS_DIR: &str = "journaler";

/// The access restriction written on every screened entity (M500).
pub const TILGANGSRESTRIKSJON: &str = "Unntatt offentlighet";

/// The environment variable that gives the legal basis when no flag does.
pub const ENV_SKJERMINGSHJEMMEL: &str = "HVELV_NOARK5_SKJERMINGSHJEMMEL";

/// Settings of a health import.
#[derive(Debug, Clone)]
pub struct HelseOptions {
    /// The legal basis of the screening (M501), written on every mappe, registrering and
    /// dokumentbeskrivelse, e.g. «Offl. § 13, jf. hpl. § 21».
    pub skjermingshjemmel: String,
    /// Only patient cases closed on or after this date.
    pub closed_from: Option<Date>,
    /// Only patient cases closed on or before this date.
    pub closed_to: Option<Date>,
    /// Folder the metadata files' `fil` paths are relative to, when the documents are not in
    /// the export folder (e.g. restored from a backup snapshot); default: the export folder.
    pub documents: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Head {
    system_name: String,
    #[serde(default = "default_system_type")]
    system_type: String,
    periode: Periode,
    arkiv: ArkivRec,
    arkivskapere: Vec<ArkivskaperRec>,
    arkivdel: ArkivdelRec,
    /// The unit that owns the cases (saksmappe administrativEnhet); default: the first
    /// arkivskaper's name.
    administrativ_enhet: Option<String>,
}

fn default_system_type() -> String {
    "Pasientjournalsystem (EPJ)".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PasientjournalRec {
    pasient: PasientRec,
    episoder: Vec<EpisodeRec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PasientRec {
    referanse: String,
    navn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EpisodeRec {
    episode_id: String,
    tittel: String,
    offentlig_tittel: Option<String>,
    opprettet_dato: String,
    opprettet_av: String,
    avsluttet_dato: String,
    avsluttet_av: String,
    #[serde(default)]
    dokumenter: Vec<DokumentRec>,
    #[serde(default)]
    endringer: Vec<EndringRec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DokumentRec {
    dokument_id: String,
    dokumenttype: String,
    /// Parsed by hand so that an unknown value is named by its field, not echoed.
    journalposttype: Option<String>,
    tittel: String,
    forfatter: String,
    dokumentets_dato: Option<String>,
    opprettet_dato: String,
    arkivert_dato: Option<String>,
    arkivert_av: Option<String>,
    fil: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndringRec {
    dokument_id: Option<String>,
    felt: String,
    endret_dato: String,
    endret_av: String,
    tidligere_verdi: String,
    ny_verdi: String,
}

/// A serde error without the offending value: only field names (from «missing field» and
/// «unknown field») and the position survive.
fn json_error(record: &str, e: &serde_json::Error) -> Error {
    let m = e.to_string();
    let (field, what) = if m.starts_with("missing field") || m.starts_with("unknown field") {
        let field = m.split('`').nth(1).unwrap_or("").to_string();
        let what = if m.starts_with("missing") {
            "is mandatory and missing".to_string()
        } else {
            "is not a field of this format (see docs/NOARK5.md, source 3)".to_string()
        };
        (field, what)
    } else {
        (
            String::new(),
            "a value has the wrong type or the JSON is malformed (value not shown: secure zone)"
                .to_string(),
        )
    };
    Error::invalid(
        record,
        field,
        format!("{what} (line {}, column {})", e.line(), e.column()),
    )
}

fn hdate(record: &str, field: &str, s: &str) -> Result<Date> {
    parse_date(s).map_err(|_| {
        Error::invalid(
            record,
            field,
            "is not a date (YYYY-MM-DD); value not shown (secure zone)",
        )
    })
}

fn hdatetime(record: &str, field: &str, s: &str) -> Result<DateTime> {
    parse_datetime(s).map_err(|_| {
        Error::invalid(
            record,
            field,
            "is not a date-time (YYYY-MM-DDThh:mm:ss with an offset, e.g. \
             2023-01-02T09:00:00+01:00); value not shown (secure zone)",
        )
    })
}

fn nonempty(record: &str, field: &str, s: &str) -> Result<()> {
    if s.trim().is_empty() {
        return Err(Error::invalid(record, field, "is mandatory and empty"));
    }
    Ok(())
}

/// The metadata files of `dir/journaler`, sorted by name.
fn record_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let rdir = dir.join(RECORDS_DIR);
    if !rdir.is_dir() {
        return Err(Error::invalid(
            RECORDS_DIR,
            "",
            format!(
                "folder {} not found: the export needs one metadata file per patient record in \
                 {RECORDS_DIR}/",
                rdir.display()
            ),
        ));
    }
    let mut files = Vec::new();
    for e in std::fs::read_dir(&rdir).map_err(|e| Error::io("listing", &rdir, e))? {
        let e = e.map_err(|e| Error::io("listing", &rdir, e))?;
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") && p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::invalid(
            RECORDS_DIR,
            "",
            "no metadata file (*.json): an extract needs at least one patient record",
        ));
    }
    Ok(files)
}

/// Import the health export in `dir` into a new extract at `output`.
pub fn import(
    dir: &Path,
    output: PathBuf,
    schemas: SchemaSet,
    opts: &HelseOptions,
) -> Result<ExtractSummary> {
    if opts.skjermingshjemmel.trim().is_empty() {
        return Err(Error::invalid(
            "options",
            "skjermingshjemmel",
            format!(
                "the legal basis of the screening is mandatory for a health export: give it with \
                 --skjermingshjemmel or {ENV_SKJERMINGSHJEMMEL}, e.g. «Offl. § 13, jf. hpl. § 21»"
            ),
        ));
    }
    let head_path = dir.join("uttrekk.json");
    let head_text =
        std::fs::read_to_string(&head_path).map_err(|e| Error::io("reading", &head_path, e))?;
    let rec = "uttrekk.json";
    let head: Head = serde_json::from_str(&head_text).map_err(|e| json_error(rec, &e))?;
    super::require_closed_period(
        rec,
        head.arkivdel.arkivdelstatus,
        opts.closed_from.is_some() || opts.closed_to.is_some(),
    )?;
    let ns = namespace(rec, &head.arkiv)?;
    let arkiv = build_arkiv(rec, ns, &head.arkiv, &head.arkivskapere)?;
    let files = record_files(dir)?;
    let eopts = ExtractOptions {
        output,
        schemas,
        system_name: head.system_name.clone(),
        system_type: head.system_type.clone(),
        period_start: hdate(rec, "periode.start", &head.periode.start)?,
        period_end: hdate(rec, "periode.slutt", &head.periode.slutt)?,
        inngaaende_skille: head.periode.inngaaende_skille,
        utgaaende_skille: head.periode.utgaaende_skille,
        seleksjon: None,
    };
    let mut b = ExtractBuilder::create(eopts, &arkiv)?;
    let arkivdel_id = SystemId::derived(&ns, "arkivdel");
    b.start_arkivdel(&build_arkivdel(rec, arkivdel_id, &head.arkivdel)?)?;
    let administrativ_enhet = match &head.administrativ_enhet {
        Some(u) => {
            nonempty(rec, "administrativ_enhet", u)?;
            u.clone()
        }
        None => arkiv
            .arkivskapere
            .first()
            .map(|a| a.arkivskaper_navn.clone())
            .unwrap_or_default(),
    };
    nonempty(rec, "arkivskapere[0].navn", &administrativ_enhet)?;
    let mut ctx = Ctx {
        dir: opts.documents.as_deref().unwrap_or(dir),
        ns,
        opts,
        administrativ_enhet,
        saker: HashMap::new(),
        journalposter: HashMap::new(),
        written_docs: 0,
    };
    let mut written = 0u64;
    for f in &files {
        let name = f
            .strip_prefix(dir)
            .unwrap_or(f)
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(f).map_err(|e| Error::io("reading", f, e))?;
        let pj: PasientjournalRec =
            serde_json::from_str(&text).map_err(|e| json_error(&name, &e))?;
        drop(text);
        written += ctx.record(&mut b, &name, pj)?;
    }
    if written == 0 {
        return Err(Error::invalid(
            RECORDS_DIR,
            "episoder",
            "no patient case is in the selected period: the extract would be empty",
        ));
    }
    if ctx.written_docs == 0 {
        return Err(Error::invalid(
            RECORDS_DIR,
            "dokumenter",
            "no document is in the selected period: the journals (loependeJournal.xml, \
             offentligJournal.xml) need at least one entry, and Arkade 5 fails an extract \
             without them (N5.59/N5.60)",
        ));
    }
    b.end_arkivdel()?;
    b.finish()
}

struct Ctx<'a> {
    /// Where documents are read from.
    dir: &'a Path,
    ns: SystemId,
    opts: &'a HelseOptions,
    administrativ_enhet: String,
    /// The last sakssekvensnummer per saksaar.
    saker: HashMap<i32, u64>,
    /// The last journalsekvensnummer per journalaar.
    journalposter: HashMap<i32, u64>,
    written_docs: u64,
}

/// The next number of `year` in `counters` (1 for the first).
fn next_number(counters: &mut HashMap<i32, u64>, year: i32) -> u64 {
    let n = counters.entry(year).or_insert(0);
    *n += 1;
    *n
}

/// The numbers a journalpost gets.
struct JpNumbers {
    saksaar: i32,
    sakssekvensnummer: u64,
    journalaar: i32,
    journalsekvensnummer: u64,
    journalpostnummer: u64,
}

impl Ctx<'_> {
    fn skjerming(&self, metadata: Vec<SkjermingMetadata>, dokument: bool) -> Option<Skjerming> {
        Some(Skjerming {
            tilgangsrestriksjon: TILGANGSRESTRIKSJON.into(),
            skjermingshjemmel: self.opts.skjermingshjemmel.clone(),
            skjerming_metadata: metadata,
            skjerming_dokument: dokument.then_some(SkjermingDokument::Hele),
            skjermingsvarighet: None,
            skjerming_opphoerer_dato: None,
        })
    }

    fn includes(&self, closed: Date) -> bool {
        self.opts.closed_from.is_none_or(|f| closed >= f)
            && self.opts.closed_to.is_none_or(|t| closed <= t)
    }

    /// Write the patient cases of one metadata file; returns how many were written.
    fn record(&mut self, b: &mut ExtractBuilder, file: &str, pj: PasientjournalRec) -> Result<u64> {
        nonempty(file, "pasient.referanse", &pj.pasient.referanse)?;
        if pj.episoder.is_empty() {
            return Err(Error::invalid(
                file,
                "episoder",
                "a patient record needs at least one episode (patient case)",
            ));
        }
        let mut written = 0;
        for (ei, ep) in pj.episoder.into_iter().enumerate() {
            let erec = format!("{file}: episoder[{ei}]");
            nonempty(&erec, "episode_id", &ep.episode_id)?;
            nonempty(&erec, "tittel", &ep.tittel)?;
            nonempty(&erec, "opprettet_av", &ep.opprettet_av)?;
            nonempty(&erec, "avsluttet_av", &ep.avsluttet_av)?;
            let opprettet = hdatetime(&erec, "opprettet_dato", &ep.opprettet_dato)?;
            let avsluttet = hdatetime(&erec, "avsluttet_dato", &ep.avsluttet_dato)?;
            // Numbers are assigned before the selection, so a period split keeps them.
            let saksaar = opprettet.year();
            let sakssekvensnummer = next_number(&mut self.saker, saksaar);
            let mut numbers = Vec::with_capacity(ep.dokumenter.len());
            for (di, d) in ep.dokumenter.iter().enumerate() {
                let drec = format!("{erec}.dokumenter[{di}]");
                let journalaar = hdatetime(&drec, "opprettet_dato", &d.opprettet_dato)?.year();
                numbers.push(JpNumbers {
                    saksaar,
                    sakssekvensnummer,
                    journalaar,
                    journalsekvensnummer: next_number(&mut self.journalposter, journalaar),
                    journalpostnummer: di as u64 + 1,
                });
            }
            if !self.includes(avsluttet.date_naive()) {
                continue;
            }
            let mappe_id = SystemId::derived(&self.ns, &format!("helse:episode:{}", ep.episode_id));
            if b.contains_id(&mappe_id) {
                return Err(Error::invalid(
                    erec,
                    "episode_id",
                    "duplicate episode_id: it is already used by an earlier patient case of the \
                     export (value not shown: secure zone)",
                ));
            }
            let mut regs = Vec::with_capacity(ep.dokumenter.len());
            let mut doc_ids = HashSet::new();
            for ((di, d), n) in ep.dokumenter.into_iter().enumerate().zip(numbers) {
                let drec = format!("{erec}.dokumenter[{di}]");
                if !doc_ids.insert(d.dokument_id.clone()) {
                    return Err(Error::invalid(
                        drec,
                        "dokument_id",
                        "duplicate dokument_id within the episode (value not shown: secure zone)",
                    ));
                }
                regs.push(self.registrering(b, &drec, &ep.episode_id, d, &n)?);
            }
            self.written_docs += regs.len() as u64;
            let mut endringer = Vec::with_capacity(ep.endringer.len());
            for (ci, c) in ep.endringer.into_iter().enumerate() {
                let crec = format!("{erec}.endringer[{ci}]");
                let target = match &c.dokument_id {
                    None => mappe_id,
                    Some(d) if doc_ids.contains(d) => self.reg_id(&ep.episode_id, d),
                    Some(_) => {
                        return Err(Error::invalid(
                            crec,
                            "dokument_id",
                            "names no document of this episode (value not shown: secure zone)",
                        ))
                    }
                };
                nonempty(&crec, "felt", &c.felt)?;
                nonempty(&crec, "endret_av", &c.endret_av)?;
                endringer.push(Endring {
                    referanse_arkivenhet: target,
                    referanse_metadata: c.felt,
                    endret_dato: hdatetime(&crec, "endret_dato", &c.endret_dato)?,
                    endret_av: c.endret_av,
                    tidligere_verdi: c.tidligere_verdi,
                    ny_verdi: c.ny_verdi,
                });
            }
            let mappe = Mappe {
                system_id: mappe_id,
                mappe_id: ep.episode_id,
                tittel: ep.tittel,
                offentlig_tittel: Some(ep.offentlig_tittel.unwrap_or_else(|| "*****".into())),
                beskrivelse: None,
                noekkelord: vec![],
                dokumentmedium: None,
                opprettet_dato: opprettet,
                opprettet_av: ep.opprettet_av.clone(),
                avsluttet_dato: avsluttet,
                avsluttet_av: ep.avsluttet_av,
                referanse_arkivdel: vec![],
                parter: vec![Part {
                    part_id: Some(pj.pasient.referanse.clone()),
                    part_navn: pj
                        .pasient
                        .navn
                        .clone()
                        .unwrap_or_else(|| pj.pasient.referanse.clone()),
                    part_rolle: "Pasient".into(),
                    postadresse: vec![],
                    postnummer: None,
                    poststed: None,
                }],
                kryssreferanser: vec![],
                merknader: vec![],
                kassasjon: None,
                skjerming: self.skjerming(
                    vec![
                        SkjermingMetadata::TittelMappeUtvalgteOrd,
                        SkjermingMetadata::NavnPart,
                    ],
                    false,
                ),
                gradering: None,
                undermapper: vec![],
                registreringer: regs,
                mappetype: MappeType::Saksmappe(Saksmappe {
                    saksaar,
                    sakssekvensnummer,
                    saksdato: opprettet.date_naive(),
                    administrativ_enhet: self.administrativ_enhet.clone(),
                    saksansvarlig: ep.opprettet_av,
                    journalenhet: None,
                    saksstatus: Saksstatus::Avsluttet,
                    utlaant_dato: None,
                    utlaant_til: None,
                    referanse_sekundaer_klassifikasjon: vec![],
                }),
            };
            // Writer errors name the mappeID; replace the record with the position only.
            b.write_mappe(&mappe)
                .map_err(|e| e.in_record(erec.clone()))?;
            for e in &endringer {
                b.add_endring(e)?;
            }
            written += 1;
        }
        Ok(written)
    }

    fn reg_id(&self, episode: &str, dokument: &str) -> SystemId {
        SystemId::derived(&self.ns, &format!("helse:reg:{episode}/{dokument}"))
    }

    fn registrering(
        &self,
        b: &mut ExtractBuilder,
        record: &str,
        episode: &str,
        d: DokumentRec,
        n: &JpNumbers,
    ) -> Result<Registrering> {
        nonempty(record, "dokument_id", &d.dokument_id)?;
        nonempty(record, "dokumenttype", &d.dokumenttype)?;
        nonempty(record, "tittel", &d.tittel)?;
        nonempty(record, "forfatter", &d.forfatter)?;
        nonempty(record, "fil", &d.fil)?;
        let opprettet = hdatetime(record, "opprettet_dato", &d.opprettet_dato)?;
        let arkivert = match &d.arkivert_dato {
            Some(s) => hdatetime(record, "arkivert_dato", s)?,
            None => opprettet,
        };
        let journalposttype = match d.journalposttype.as_deref() {
            None => Journalposttype::OrganinterntUtenOppfoelging,
            Some(v) => Journalposttype::ALL
                .iter()
                .copied()
                .find(|t| t.as_str() == v)
                .ok_or_else(|| {
                    Error::invalid(
                        record,
                        "journalposttype",
                        format!(
                            "is not a journalposttype (value not shown: secure zone); allowed: {}",
                            Journalposttype::ALL
                                .iter()
                                .map(|t| format!("«{t}»"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?,
        };
        // The author is the correspondent: the sender of an incoming document, the internal
        // sender of every other kind. Its name is screened in the public journal.
        let parttype = if journalposttype == Journalposttype::Inngaaende {
            Korrespondanseparttype::Avsender
        } else {
            Korrespondanseparttype::InternAvsender
        };
        let dokumentets_dato = d
            .dokumentets_dato
            .as_deref()
            .map(|s| hdate(record, "dokumentets_dato", s))
            .transpose()?;
        let key = format!("{episode}/{}", d.dokument_id);
        let obj_id = SystemId::derived(&self.ns, &format!("helse:do:{key}"));
        let src = self.dir.join(&d.fil);
        if !src.is_file() {
            return Err(Error::invalid(
                record,
                "fil",
                "the document file does not exist in the export folder (path not shown: secure \
                 zone; check the metadata file)",
            ));
        }
        let year = chrono::Datelike::year(&opprettet);
        let stored = b.store_document(&src, obj_id, year).map_err(|e| match e {
            Error::Document { message, .. } => Error::invalid(record, "fil", message),
            other => other,
        })?;
        let arkivert_av = d.arkivert_av.unwrap_or_else(|| d.forfatter.clone());
        let db = Dokumentbeskrivelse {
            system_id: SystemId::derived(&self.ns, &format!("helse:db:{key}")),
            dokumenttype: d.dokumenttype,
            dokumentstatus: Dokumentstatus::Ferdigstilt,
            tittel: d.tittel.clone(),
            beskrivelse: None,
            forfatter: vec![d.forfatter.clone()],
            opprettet_dato: opprettet,
            opprettet_av: d.forfatter.clone(),
            dokumentmedium: None,
            referanse_arkivdel: vec![],
            tilknyttet_registrering_som: TilknyttetRegistreringSom::Hoveddokument,
            dokumentnummer: 1,
            tilknyttet_dato: arkivert,
            tilknyttet_av: arkivert_av.clone(),
            parter: vec![],
            merknader: vec![],
            kassasjon: None,
            utfoert_kassasjon: None,
            sletting: None,
            skjerming: self.skjerming(vec![SkjermingMetadata::TittelDokumentbeskrivelse], true),
            gradering: None,
            dokumentobjekter: vec![Dokumentobjekt {
                system_id: obj_id,
                versjonsnummer: 1,
                variantformat: Variantformat::Arkivformat,
                format: stored.format,
                format_detaljer: Some(stored.format_detaljer),
                opprettet_dato: opprettet,
                opprettet_av: d.forfatter.clone(),
                referanse_dokumentfil: stored.referanse_dokumentfil,
                sjekksum: stored.sjekksum,
                sjekksum_algoritme: "SHA-256".into(),
                filstoerrelse: stored.filstoerrelse,
                konverteringer: vec![],
            }],
        };
        Ok(Registrering {
            system_id: self.reg_id(episode, &d.dokument_id),
            opprettet_dato: opprettet,
            opprettet_av: d.forfatter.clone(),
            arkivert_dato: arkivert,
            arkivert_av,
            referanse_arkivdel: vec![],
            parter: vec![],
            kassasjon: None,
            skjerming: self.skjerming(
                vec![
                    SkjermingMetadata::TittelRegistreringUtvalgteOrd,
                    SkjermingMetadata::NavnAvsender,
                ],
                false,
            ),
            gradering: None,
            dokumentbeskrivelser: vec![db],
            registrerings_id: Some(format!(
                "{}/{}-{}",
                n.saksaar, n.sakssekvensnummer, n.journalpostnummer
            )),
            tittel: d.tittel,
            offentlig_tittel: Some("*****".into()),
            beskrivelse: None,
            noekkelord: vec![],
            forfatter: vec![d.forfatter.clone()],
            dokumentmedium: None,
            merknader: vec![],
            kryssreferanser: vec![],
            korrespondanseparter: vec![Korrespondansepart::new(parttype, d.forfatter)],
            registreringstype: RegistreringType::Journalpost(Journalpost {
                journalaar: n.journalaar,
                journalsekvensnummer: n.journalsekvensnummer,
                journalpostnummer: n.journalpostnummer,
                journalposttype,
                journalstatus: Journalstatus::Arkivert,
                journaldato: opprettet.date_naive(),
                dokumentets_dato,
                mottatt_dato: None,
                sendt_dato: None,
                forfallsdato: None,
                offentlighetsvurdert_dato: None,
                antall_vedlegg: None,
                journalenhet: None,
                avskrivninger: vec![],
            }),
        })
    }
}
