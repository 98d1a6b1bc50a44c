//! Source 2: a case-system export as JSON Lines views (format in docs/noark5-import.md, example in
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
//! systemIDs are derived deterministically from the arkiv's systemID (`arkiv.system_id`, or one
//! derived from the arkiv's title) and the record keys (sak `2023/12`, journalpost `2023/345`, …).

mod cases;
mod records;

use super::{date, datetime, opt_date};
use crate::codes::*;
use crate::error::{Error, Result};
use crate::extract::{ExtractBuilder, ExtractOptions, ExtractSummary};
use crate::id::SystemId;
use crate::model::*;
use crate::time::Date;
use cases::Ctx;
use records::*;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

pub(crate) use records::{ArkivRec, ArkivdelRec, ArkivskaperRec, Periode};

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
    /// Folder the document paths (`fil`) are relative to, when the documents are not in the
    /// export folder (e.g. restored from a backup snapshot); default: the export folder.
    pub documents: Option<PathBuf>,
}

impl Selection {
    fn includes(&self, closed: Date, unit: &str) -> bool {
        self.closed_from.is_none_or(|f| closed >= f)
            && self.closed_to.is_none_or(|t| closed <= t)
            && self.unit.as_deref().is_none_or(|u| u == unit)
    }
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
    super::require_closed_period(
        rec,
        head.arkivdel.arkivdelstatus,
        sel.closed_from.is_some() || sel.closed_to.is_some(),
    )?;
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
        dir: sel.documents.as_deref().unwrap_or(dir),
        ns,
        arkivdel_id,
        refs: Default::default(),
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
            // A malformed next case is reported as what it is, not as a misplaced case.
            if matches!(saker.as_mut().and_then(|s| s.peek()), Some(Err(_))) {
                if let Some(Err(e)) = saker.as_mut().and_then(|s| s.next()) {
                    return Err(e);
                }
            }
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
    resolve_refs(&b, &ctx, sel)?;
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

/// Check that every cross reference points to something in this extract. Under a period or unit
/// selection a reference to a case or journalpost outside it is kept: systemIDs are derived from
/// the keys, so it resolves in the extract that holds the other cases. A klasse must always
/// resolve (the whole classification system is written).
fn resolve_refs(b: &ExtractBuilder, ctx: &Ctx<'_>, sel: &Selection) -> Result<()> {
    let selected = sel.closed_from.is_some() || sel.closed_to.is_some() || sel.unit.is_some();
    for r in ctx.refs.borrow().iter() {
        if b.contains_id(&r.id) || (selected && !r.klasse) {
            continue;
        }
        return Err(Error::invalid(
            r.record.clone(),
            "kryssreferanser",
            format!("{} is not in the export", r.target),
        ));
    }
    Ok(())
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
