//! Source 2: a case-system export as JSON Lines views (format in docs/NOARK5.md, example in
//! `fixtures/noark5/jsonl-small/`).
//!
//! The views are merged in one streaming pass, so only one case (saksmappe with its
//! journalposter and documents) is in memory at a time. That needs a documented sort order,
//! which a database view gives with `ORDER BY`:
//! - `klasser.jsonl`: depth first, a parent before its children;
//! - `saker.jsonl`: in the order of their klasse in klasser.jsonl, then any order;
//! - `journalposter.jsonl`: in the order of their sak in saker.jsonl;
//! - `korrespondanseparter.jsonl`, `dokumenter.jsonl`: in the order of their journalpost.
//!
//! A record out of order, a reference to a missing record, a missing mandatory field, a bad
//! date or an unknown code value stops the import with the file, line and field named; the
//! partial extract is removed.
//!
//! systemIDs are derived deterministically from the arkiv's systemID and the record keys
//! (sak `2023/12`, journalpost `2023/345`, …), unless a record gives its own `system_id`.

use super::{date, datetime, opt_date, opt_datetime};
use crate::codes::*;
use crate::error::{Error, Result};
use crate::extract::{ExtractBuilder, ExtractOptions, ExtractSummary};
use crate::id::SystemId;
use crate::model::*;
use crate::time::Date;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::io::{BufRead, BufReader};
use std::iter::Peekable;
use std::path::{Path, PathBuf};

/// hvelv's namespace for derived ids when the export gives no arkiv systemID.
const NAMESPACE: &str = "7c0b1f2e-5d8a-4b7e-9a41-2f6c9e3d0a15";

/// Which cases to include: the unit and period split of the issue. Cases are included when
/// they were closed (avsluttetDato) within the period and belong to the unit; the whole
/// classification system is always written.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only cases closed on or after this date.
    pub closed_from: Option<Date>,
    /// Only cases closed on or before this date.
    pub closed_to: Option<Date>,
    /// Only cases whose administrativEnhet is this unit.
    pub unit: Option<String>,
}

impl Selection {
    fn includes(&self, closed: Date, unit: &str) -> bool {
        self.closed_from.is_none_or(|f| closed >= f)
            && self.closed_to.is_none_or(|t| closed <= t)
            && self.unit.as_deref().is_none_or(|u| u == unit)
    }
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
    klassifikasjonssystem: KlassifikasjonssystemRec,
}

fn default_system_type() -> String {
    "Sakarkiv (Noark-5)".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Periode {
    pub(super) start: String,
    pub(super) slutt: String,
    pub(super) inngaaende_skille: Periodeskille,
    pub(super) utgaaende_skille: Periodeskille,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ArkivRec {
    pub(super) system_id: Option<String>,
    pub(super) tittel: String,
    pub(super) beskrivelse: Option<String>,
    pub(super) opprettet_dato: String,
    pub(super) opprettet_av: String,
    pub(super) avsluttet_dato: String,
    pub(super) avsluttet_av: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ArkivskaperRec {
    pub(super) id: String,
    pub(super) navn: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ArkivdelRec {
    pub(super) tittel: String,
    pub(super) arkivdelstatus: Arkivdelstatus,
    pub(super) opprettet_dato: String,
    pub(super) opprettet_av: String,
    pub(super) avsluttet_dato: String,
    pub(super) avsluttet_av: String,
    pub(super) arkivperiode_start: Option<String>,
    pub(super) arkivperiode_slutt: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KlassifikasjonssystemRec {
    klassifikasjonstype: Option<String>,
    tittel: String,
    opprettet_dato: String,
    opprettet_av: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KlasseRec {
    klasse_id: String,
    tittel: String,
    forelder: Option<String>,
    opprettet_dato: String,
    opprettet_av: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SkjermingRec {
    tilgangsrestriksjon: String,
    skjermingshjemmel: String,
    skjerming_metadata: Vec<SkjermingMetadata>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KassasjonRec {
    vedtak: Kassasjonsvedtak,
    hjemmel: Option<String>,
    bevaringstid: u32,
    kassasjonsdato: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SakRec {
    saksaar: i32,
    sakssekvensnummer: u64,
    klasse_id: String,
    tittel: String,
    offentlig_tittel: Option<String>,
    opprettet_dato: String,
    opprettet_av: String,
    avsluttet_dato: String,
    avsluttet_av: String,
    saksdato: String,
    administrativ_enhet: String,
    saksansvarlig: String,
    journalenhet: Option<String>,
    saksstatus: Saksstatus,
    skjerming: Option<SkjermingRec>,
    kassasjon: Option<KassasjonRec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AvskrivningRec {
    dato: String,
    av: String,
    maate: String,
    avskrives_av_journalaar: Option<i32>,
    avskrives_av_journalsekvensnummer: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalpostRec {
    saksaar: i32,
    sakssekvensnummer: u64,
    journalaar: i32,
    journalsekvensnummer: u64,
    journalpostnummer: u64,
    journalposttype: Journalposttype,
    journalstatus: Journalstatus,
    journaldato: String,
    tittel: String,
    offentlig_tittel: Option<String>,
    opprettet_dato: String,
    opprettet_av: String,
    arkivert_dato: String,
    arkivert_av: String,
    dokumentets_dato: Option<String>,
    mottatt_dato: Option<String>,
    sendt_dato: Option<String>,
    skjerming: Option<SkjermingRec>,
    #[serde(default)]
    avskrivninger: Vec<AvskrivningRec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KorrespondansepartRec {
    journalaar: i32,
    journalsekvensnummer: u64,
    korrespondanseparttype: Korrespondanseparttype,
    navn: String,
    postadresse: Option<String>,
    postnummer: Option<String>,
    poststed: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DokumentRec {
    journalaar: i32,
    journalsekvensnummer: u64,
    dokumentnummer: u32,
    tilknyttet_registrering_som: TilknyttetRegistreringSom,
    dokumenttype: String,
    dokumentstatus: Dokumentstatus,
    tittel: String,
    opprettet_dato: String,
    opprettet_av: String,
    fil: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndringRec {
    gjelder: Gjelder,
    aar: i32,
    nummer: u64,
    felt: String,
    endret_dato: String,
    endret_av: String,
    tidligere_verdi: String,
    ny_verdi: String,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Gjelder {
    Sak,
    Journalpost,
}

/// A JSON Lines file read record by record with its line number.
struct Lines<T> {
    name: String,
    lines: std::io::Lines<BufReader<std::fs::File>>,
    line: usize,
    _t: std::marker::PhantomData<T>,
}

impl<T: DeserializeOwned> Lines<T> {
    fn open(dir: &Path, name: &str, required: bool) -> Result<Option<Self>> {
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

fn field_of(e: &serde_json::Error) -> String {
    let m = e.to_string();
    m.split('`').nth(1).unwrap_or("").to_string()
}

type Stream<T> = Peekable<Lines<T>>;

fn peek_key<T, K: PartialEq>(s: &mut Option<Stream<T>>, key: impl Fn(&T) -> K, want: &K) -> bool
where
    T: DeserializeOwned,
{
    match s.as_mut().and_then(|s| s.peek()) {
        Some(Ok((_, v))) => key(v) == *want,
        Some(Err(_)) => true, // surface the error on next()
        None => false,
    }
}

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

/// Import the export in `dir` into a new extract at `output`, keeping the cases `sel` selects.
/// The period, periodisation and system name come from `uttrekk.json`.
pub fn import(
    dir: &Path,
    output: PathBuf,
    schemas: crate::schemas::SchemaSet,
    sel: &Selection,
) -> Result<ExtractSummary> {
    let head_path = dir.join("uttrekk.json");
    let head_text =
        std::fs::read_to_string(&head_path).map_err(|e| Error::io("reading", &head_path, e))?;
    let head: Head = serde_json::from_str(&head_text)
        .map_err(|e| Error::invalid("uttrekk.json", field_of(&e), e.to_string()))?;
    let rec = "uttrekk.json";
    let ns = namespace(rec, &head.arkiv)?;
    let arkiv = build_arkiv(rec, ns, &head.arkiv, &head.arkivskapere)?;
    let opts = ExtractOptions {
        output,
        schemas,
        system_name: head.system_name.clone(),
        system_type: head.system_type.clone(),
        period_start: date(rec, "periode.start", &head.periode.start)?,
        period_end: date(rec, "periode.slutt", &head.periode.slutt)?,
        inngaaende_skille: head.periode.inngaaende_skille,
        utgaaende_skille: head.periode.utgaaende_skille,
        seleksjon: None,
    };
    let Some(mut klasser) = Lines::<KlasseRec>::open(dir, "klasser.jsonl", true)? else {
        return Err(Error::invalid(
            "klasser.jsonl",
            "",
            "not found in the export folder",
        ));
    };
    let mut saker: Option<Stream<SakRec>> =
        Lines::open(dir, "saker.jsonl", true)?.map(Iterator::peekable);
    let mut jps: Option<Stream<JournalpostRec>> =
        Lines::open(dir, "journalposter.jsonl", true)?.map(Iterator::peekable);
    let mut parter: Option<Stream<KorrespondansepartRec>> =
        Lines::open(dir, "korrespondanseparter.jsonl", false)?.map(Iterator::peekable);
    let mut doks: Option<Stream<DokumentRec>> =
        Lines::open(dir, "dokumenter.jsonl", false)?.map(Iterator::peekable);

    let mut b = ExtractBuilder::create(opts, &arkiv)?;
    let arkivdel_id = SystemId::derived(&ns, "arkivdel");
    b.start_arkivdel(&build_arkivdel(rec, arkivdel_id, &head.arkivdel)?)?;
    let k = &head.klassifikasjonssystem;
    b.start_klassifikasjonssystem(&Klassifikasjonssystem {
        system_id: SystemId::derived(&ns, "klassifikasjonssystem"),
        klassifikasjonstype: k.klassifikasjonstype.clone(),
        tittel: k.tittel.clone(),
        beskrivelse: None,
        opprettet_dato: datetime(
            rec,
            "klassifikasjonssystem.opprettet_dato",
            &k.opprettet_dato,
        )?,
        opprettet_av: k.opprettet_av.clone(),
        avsluttet_dato: None,
        avsluttet_av: None,
    })?;

    let mut open: Vec<String> = Vec::new();
    let mut seen_klasser = std::collections::HashSet::new();
    let ctx = Ctx {
        dir,
        ns,
        arkivdel_id,
    };
    for item in &mut klasser {
        let (record, kl) = item?;
        if !seen_klasser.insert(kl.klasse_id.clone()) {
            return Err(Error::invalid(
                record,
                "klasse_id",
                format!("duplicate klasse_id {}", kl.klasse_id),
            ));
        }
        if let Some(p) = &kl.forelder {
            if !open.contains(p) {
                return Err(Error::invalid(
                    record,
                    "forelder",
                    format!("parent klasse {p} is not an open ancestor: klasser.jsonl must be depth first, a parent before its children"),
                ));
            }
        }
        // Close classes until the parent is on top, writing each one's cases first.
        loop {
            let top = open.last().cloned();
            if top.is_none() || top == kl.forelder {
                break;
            }
            ctx.write_cases(
                &mut b,
                top.as_deref().unwrap_or_default(),
                &mut saker,
                &mut jps,
                &mut parter,
                &mut doks,
                sel,
            )?;
            b.end_klasse()?;
            open.pop();
        }
        if let Some(top) = open.last().cloned() {
            // A class with subclasses cannot also hold cases; cases of `top` would be out of order.
            if peek_key(&mut saker, |s| s.klasse_id.clone(), &top) {
                return Err(Error::invalid(
                    format!("saker.jsonl (klasse {top})"),
                    "klasse_id",
                    "klasse has subclasses and cases; the XSD allows only one kind of child",
                ));
            }
        }
        b.start_klasse(&Klasse {
            system_id: SystemId::derived(&ns, &format!("klasse:{}", kl.klasse_id)),
            klasse_id: kl.klasse_id.clone(),
            tittel: kl.tittel.clone(),
            beskrivelse: None,
            noekkelord: vec![],
            opprettet_dato: datetime(&record, "opprettet_dato", &kl.opprettet_dato)?,
            opprettet_av: kl.opprettet_av.clone(),
            avsluttet_dato: None,
            avsluttet_av: None,
            kryssreferanser: vec![],
            kassasjon: None,
            skjerming: None,
            gradering: None,
        })?;
        open.push(kl.klasse_id);
    }
    while let Some(top) = open.pop() {
        ctx.write_cases(
            &mut b,
            &top,
            &mut saker,
            &mut jps,
            &mut parter,
            &mut doks,
            sel,
        )?;
        b.end_klasse()?;
    }
    if seen_klasser.is_empty() {
        return Err(Error::invalid(
            "klasser.jsonl",
            "",
            "no klasse: the classification system needs at least one",
        ));
    }
    leftover(
        &mut saker,
        |s: &SakRec| {
            format!(
                "sak {}/{} in klasse {}",
                s.saksaar, s.sakssekvensnummer, s.klasse_id
            )
        },
        "saker.jsonl must follow the order of klasser.jsonl and name existing klasser",
    )?;
    leftover(
        &mut jps,
        |j: &JournalpostRec| {
            format!(
                "journalpost {}/{} of sak {}/{}",
                j.journalaar, j.journalsekvensnummer, j.saksaar, j.sakssekvensnummer
            )
        },
        "journalposter.jsonl must follow the order of saker.jsonl and name existing saker",
    )?;
    leftover(
        &mut parter,
        |p: &KorrespondansepartRec| {
            format!(
                "korrespondansepart of journalpost {}/{}",
                p.journalaar, p.journalsekvensnummer
            )
        },
        "korrespondanseparter.jsonl must follow the order of journalposter.jsonl",
    )?;
    leftover(
        &mut doks,
        |d: &DokumentRec| {
            format!(
                "dokument {} of journalpost {}/{}",
                d.dokumentnummer, d.journalaar, d.journalsekvensnummer
            )
        },
        "dokumenter.jsonl must follow the order of journalposter.jsonl",
    )?;
    b.end_klassifikasjonssystem()?;
    b.end_arkivdel()?;

    if let Some(endringer) = Lines::<EndringRec>::open(dir, "endringer.jsonl", true)? {
        for item in endringer {
            let (record, e) = item?;
            let key = match e.gjelder {
                Gjelder::Sak => format!("sak:{}/{}", e.aar, e.nummer),
                Gjelder::Journalpost => format!("jp:{}/{}", e.aar, e.nummer),
            };
            let id = SystemId::derived(&ns, &key);
            if !b.contains_id(&id) {
                // The entity is outside the selection (period/unit split) or unknown.
                continue;
            }
            b.add_endring(&Endring {
                referanse_arkivenhet: id,
                referanse_metadata: e.felt,
                endret_dato: datetime(&record, "endret_dato", &e.endret_dato)?,
                endret_av: e.endret_av,
                tidligere_verdi: e.tidligere_verdi,
                ny_verdi: e.ny_verdi,
            })?;
        }
    }
    b.finish()
}

/// The namespace of derived systemIDs: the arkiv's own systemID, or one derived from its title.
pub(super) fn namespace(rec: &str, a: &ArkivRec) -> Result<SystemId> {
    match &a.system_id {
        Some(s) => SystemId::parse(s).map_err(|e| e.in_record(rec)),
        None => Ok(SystemId::derived(&SystemId::parse(NAMESPACE)?, &a.tittel)),
    }
}

/// The arkiv header from the head record.
pub(super) fn build_arkiv(
    rec: &str,
    ns: SystemId,
    a: &ArkivRec,
    skapere: &[ArkivskaperRec],
) -> Result<Arkiv> {
    Ok(Arkiv {
        system_id: ns,
        tittel: a.tittel.clone(),
        beskrivelse: a.beskrivelse.clone(),
        arkivstatus: Some(Arkivstatus::Avsluttet),
        dokumentmedium: Some(Dokumentmedium::Elektronisk),
        opprettet_dato: datetime(rec, "arkiv.opprettet_dato", &a.opprettet_dato)?,
        opprettet_av: a.opprettet_av.clone(),
        avsluttet_dato: datetime(rec, "arkiv.avsluttet_dato", &a.avsluttet_dato)?,
        avsluttet_av: a.avsluttet_av.clone(),
        arkivskapere: skapere
            .iter()
            .map(|s| Arkivskaper {
                arkivskaper_id: s.id.clone(),
                arkivskaper_navn: s.navn.clone(),
                beskrivelse: None,
            })
            .collect(),
    })
}

/// The arkivdel header from the head record.
pub(super) fn build_arkivdel(rec: &str, id: SystemId, a: &ArkivdelRec) -> Result<Arkivdel> {
    Ok(Arkivdel {
        system_id: id,
        tittel: a.tittel.clone(),
        beskrivelse: None,
        arkivdelstatus: a.arkivdelstatus,
        dokumentmedium: Some(Dokumentmedium::Elektronisk),
        opprettet_dato: datetime(rec, "arkivdel.opprettet_dato", &a.opprettet_dato)?,
        opprettet_av: a.opprettet_av.clone(),
        avsluttet_dato: datetime(rec, "arkivdel.avsluttet_dato", &a.avsluttet_dato)?,
        avsluttet_av: a.avsluttet_av.clone(),
        arkivperiode_start_dato: opt_date(
            rec,
            "arkivdel.arkivperiode_start",
            &a.arkivperiode_start,
        )?,
        arkivperiode_slutt_dato: opt_date(
            rec,
            "arkivdel.arkivperiode_slutt",
            &a.arkivperiode_slutt,
        )?,
        referanse_forloeper: None,
        referanse_arvtaker: None,
        kassasjon: None,
        utfoert_kassasjon: None,
        sletting: None,
        skjerming: None,
        gradering: None,
    })
}

fn leftover<T: DeserializeOwned>(
    s: &mut Option<Stream<T>>,
    what: impl Fn(&T) -> String,
    rule: &str,
) -> Result<()> {
    if let Some(next) = s.as_mut().and_then(|s| s.next()) {
        let (record, v) = next?;
        return Err(Error::invalid(
            record,
            "",
            format!("{} was not placed: {rule}", what(&v)),
        ));
    }
    Ok(())
}

struct Ctx<'a> {
    dir: &'a Path,
    ns: SystemId,
    arkivdel_id: SystemId,
}

impl Ctx<'_> {
    #[allow(clippy::too_many_arguments)]
    fn write_cases(
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
