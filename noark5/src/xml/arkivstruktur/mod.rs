//! Streaming writer for arkivstruktur.xml.
//!
//! The writer opens and closes the upper levels (arkiv, arkivdel, klassifikasjonssystem, klasse)
//! as calls, and writes one folder subtree per [`ArkivstrukturWriter::write_mappe`] call, so
//! memory is bounded by the largest folder. Element order is the XSD's: base-type elements
//! first, children, then the subtype's elements (`saksmappe` fields after the child
//! registrations, `journalpost` fields after `korrespondansepart`), and `dokumentbeskrivelse`
//! between `gradering` and `registreringsID`.
//!
//! The writer refuses what the XSD or the standard forbids instead of writing it: a container
//! holding two kinds of children, a klassifikasjonssystem without classes, a duplicate systemID,
//! a screened title without `offentligTittel`, a journalpost outside a saksmappe.

mod entry;
mod parts;

use super::journal::{JournalEntry, JournalKlasse};
use super::{XmlOut, NS_ARKIVSTRUKTUR, NS_XSI};
use crate::codes::SkjermingMetadata;
use crate::error::{Error, Result};
use crate::id::SystemId;
use crate::model::*;
use crate::time::{fmt_date, fmt_datetime};
use entry::{journal_entry, require_offentlig_tittel};
use std::collections::HashSet;
use std::io::Write;

/// What an [`ArkivstrukturWriter`] counted, for arkivuttrekk.xml and the journals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArkivstrukturCounts {
    /// Number of `mappe` elements at every level.
    pub mappe: u64,
    /// Number of `registrering` elements at every level.
    pub registrering: u64,
    /// Number of journalposts.
    pub journalpost: u64,
    /// Number of `skjerming` elements.
    pub skjerming: u64,
    /// Number of `kassasjon` elements.
    pub kassasjon: u64,
    /// Number of `utfoertKassasjon` elements.
    pub utfoert_kassasjon: u64,
    /// Number of `dokumentobjekt` elements.
    pub dokumentobjekt: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Arkiv,
    Arkivdel,
    Klassifikasjonssystem,
    Klasse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Child {
    None,
    Klassifikasjonssystem,
    Klasse,
    Mappe,
    Registrering,
}

struct Frame {
    level: Level,
    child: Child,
    /// For klasse frames: what the journals show about the class.
    klasse: Option<JournalKlasse>,
}

/// Streaming writer for arkivstruktur.xml. See the module docs for the order of calls.
pub struct ArkivstrukturWriter<W: Write> {
    out: XmlOut<W>,
    stack: Vec<Frame>,
    ids: HashSet<u128>,
    counts: ArkivstrukturCounts,
    arkivdel_ids: Vec<SystemId>,
}

impl<W: Write> ArkivstrukturWriter<W> {
    /// Start the file and write the arkiv header with its arkivskapere.
    pub fn new(inner: W, arkiv: &Arkiv) -> Result<Self> {
        let mut w = ArkivstrukturWriter {
            out: XmlOut::new(inner),
            stack: Vec::new(),
            ids: HashSet::new(),
            counts: ArkivstrukturCounts::default(),
            arkivdel_ids: Vec::new(),
        };
        w.out.record = format!("arkiv {}", arkiv.system_id);
        if arkiv.arkivskapere.is_empty() {
            return Err(Error::invalid(
                w.out.record.clone(),
                "arkivskaper",
                "at least one arkivskaper is required",
            ));
        }
        w.claim(arkiv.system_id)?;
        let o = &mut w.out;
        o.decl()?;
        let schema_location = format!("{NS_ARKIVSTRUKTUR} arkivstruktur.xsd");
        o.root(
            "arkiv",
            &[
                ("xmlns", NS_ARKIVSTRUKTUR),
                ("xmlns:xsi", NS_XSI),
                ("xsi:schemaLocation", &schema_location),
            ],
        )?;
        o.display("systemID", arkiv.system_id)?;
        o.text("tittel", &arkiv.tittel)?;
        o.opt("beskrivelse", arkiv.beskrivelse.as_deref())?;
        o.opt("arkivstatus", arkiv.arkivstatus.map(|s| s.as_str()))?;
        o.opt("dokumentmedium", arkiv.dokumentmedium.map(|s| s.as_str()))?;
        o.text("opprettetDato", &fmt_datetime(&arkiv.opprettet_dato))?;
        o.text("opprettetAv", &arkiv.opprettet_av)?;
        o.text("avsluttetDato", &fmt_datetime(&arkiv.avsluttet_dato))?;
        o.text("avsluttetAv", &arkiv.avsluttet_av)?;
        for a in &arkiv.arkivskapere {
            o.start("arkivskaper")?;
            o.text("arkivskaperID", &a.arkivskaper_id)?;
            o.text("arkivskaperNavn", &a.arkivskaper_navn)?;
            o.opt("beskrivelse", a.beskrivelse.as_deref())?;
            o.end("arkivskaper")?;
        }
        w.stack.push(Frame {
            level: Level::Arkiv,
            child: Child::None,
            klasse: None,
        });
        Ok(w)
    }

    /// The counts so far.
    pub fn counts(&self) -> &ArkivstrukturCounts {
        &self.counts
    }

    /// The systemIDs of the arkivdeler written so far.
    pub fn arkivdel_ids(&self) -> &[SystemId] {
        &self.arkivdel_ids
    }

    /// Whether `id` was written as a systemID.
    pub fn contains_id(&self, id: &SystemId) -> bool {
        self.ids.contains(&id.as_u128())
    }

    fn claim(&mut self, id: SystemId) -> Result<()> {
        if !self.ids.insert(id.as_u128()) {
            return Err(Error::invalid(
                self.out.record.clone(),
                "systemID",
                format!("duplicate systemID {id}: every systemID must be unique in the extract"),
            ));
        }
        Ok(())
    }

    fn top(&self) -> Result<&Frame> {
        self.stack
            .last()
            .ok_or_else(|| Error::Order("the arkiv element is already closed".into()))
    }

    /// Record that the current container gets a child of `kind`, checking the XSD choice.
    fn enter(&mut self, kind: Child, what: &str) -> Result<()> {
        let frame = self
            .stack
            .last_mut()
            .ok_or_else(|| Error::Order("the arkiv element is already closed".into()))?;
        let allowed = match frame.level {
            Level::Arkiv => false,
            Level::Arkivdel => matches!(
                kind,
                Child::Klassifikasjonssystem | Child::Mappe | Child::Registrering
            ),
            Level::Klassifikasjonssystem => kind == Child::Klasse,
            Level::Klasse => matches!(kind, Child::Klasse | Child::Mappe | Child::Registrering),
        };
        if !allowed {
            return Err(Error::Order(format!(
                "{what} cannot be written inside {:?}",
                frame.level
            )));
        }
        if frame.child != Child::None && frame.child != kind {
            return Err(Error::Order(format!(
                "{what} cannot follow {:?} in the same {:?}: the XSD allows only one kind of child \
                 per container (a klasse holds subclasses or folders or registrations)",
                frame.child, frame.level
            )));
        }
        frame.child = kind;
        Ok(())
    }

    /// Open an arkivdel (directly under arkiv).
    pub fn start_arkivdel(&mut self, a: &Arkivdel) -> Result<()> {
        let top = self.top()?;
        if top.level != Level::Arkiv {
            return Err(Error::Order(
                "arkivdel must be written directly under arkiv".into(),
            ));
        }
        self.out.record = format!("arkivdel {}", a.system_id);
        self.claim(a.system_id)?;
        self.arkivdel_ids.push(a.system_id);
        let o = &mut self.out;
        o.start("arkivdel")?;
        o.display("systemID", a.system_id)?;
        o.text("tittel", &a.tittel)?;
        o.opt("beskrivelse", a.beskrivelse.as_deref())?;
        o.text("arkivdelstatus", a.arkivdelstatus.as_str())?;
        o.opt("dokumentmedium", a.dokumentmedium.map(|s| s.as_str()))?;
        o.text("opprettetDato", &fmt_datetime(&a.opprettet_dato))?;
        o.text("opprettetAv", &a.opprettet_av)?;
        o.text("avsluttetDato", &fmt_datetime(&a.avsluttet_dato))?;
        o.text("avsluttetAv", &a.avsluttet_av)?;
        o.opt(
            "arkivperiodeStartDato",
            a.arkivperiode_start_dato.map(|d| fmt_date(&d)).as_deref(),
        )?;
        o.opt(
            "arkivperiodeSluttDato",
            a.arkivperiode_slutt_dato.map(|d| fmt_date(&d)).as_deref(),
        )?;
        o.opt_display("referanseForloeper", a.referanse_forloeper)?;
        o.opt_display("referanseArvtaker", a.referanse_arvtaker)?;
        self.kassasjon(a.kassasjon.as_ref())?;
        self.utfoert_kassasjon(a.utfoert_kassasjon.as_ref())?;
        self.sletting(a.sletting.as_ref())?;
        self.skjerming(a.skjerming.as_ref())?;
        self.gradering(a.gradering.as_ref())?;
        self.stack.push(Frame {
            level: Level::Arkivdel,
            child: Child::None,
            klasse: None,
        });
        Ok(())
    }

    /// Close the current arkivdel.
    pub fn end_arkivdel(&mut self) -> Result<()> {
        self.close(Level::Arkivdel, "arkivdel")
    }

    /// Open a klassifikasjonssystem (directly under arkivdel).
    pub fn start_klassifikasjonssystem(&mut self, k: &Klassifikasjonssystem) -> Result<()> {
        self.enter(Child::Klassifikasjonssystem, "klassifikasjonssystem")?;
        self.out.record = format!("klassifikasjonssystem {}", k.system_id);
        self.claim(k.system_id)?;
        let o = &mut self.out;
        o.start("klassifikasjonssystem")?;
        o.display("systemID", k.system_id)?;
        o.opt("klassifikasjonstype", k.klassifikasjonstype.as_deref())?;
        o.text("tittel", &k.tittel)?;
        o.opt("beskrivelse", k.beskrivelse.as_deref())?;
        o.text("opprettetDato", &fmt_datetime(&k.opprettet_dato))?;
        o.text("opprettetAv", &k.opprettet_av)?;
        o.opt(
            "avsluttetDato",
            k.avsluttet_dato.map(|d| fmt_datetime(&d)).as_deref(),
        )?;
        o.opt("avsluttetAv", k.avsluttet_av.as_deref())?;
        self.stack.push(Frame {
            level: Level::Klassifikasjonssystem,
            child: Child::None,
            klasse: None,
        });
        Ok(())
    }

    /// Close the current klassifikasjonssystem (it must hold at least one klasse).
    pub fn end_klassifikasjonssystem(&mut self) -> Result<()> {
        if let Some(f) = self.stack.last() {
            if f.level == Level::Klassifikasjonssystem && f.child == Child::None {
                return Err(Error::invalid(
                    self.out.record.clone(),
                    "klasse",
                    "a klassifikasjonssystem needs at least one klasse",
                ));
            }
        }
        self.close(Level::Klassifikasjonssystem, "klassifikasjonssystem")
    }

    /// Open a klasse (under a klassifikasjonssystem or a klasse).
    pub fn start_klasse(&mut self, k: &Klasse) -> Result<()> {
        self.enter(Child::Klasse, "klasse")?;
        self.out.record = format!("klasse {} ({})", k.klasse_id, k.system_id);
        self.claim(k.system_id)?;
        let o = &mut self.out;
        o.start("klasse")?;
        o.display("systemID", k.system_id)?;
        o.text("klasseID", &k.klasse_id)?;
        o.text("tittel", &k.tittel)?;
        o.opt("beskrivelse", k.beskrivelse.as_deref())?;
        o.each("noekkelord", &k.noekkelord)?;
        o.text("opprettetDato", &fmt_datetime(&k.opprettet_dato))?;
        o.text("opprettetAv", &k.opprettet_av)?;
        o.opt(
            "avsluttetDato",
            k.avsluttet_dato.map(|d| fmt_datetime(&d)).as_deref(),
        )?;
        o.opt("avsluttetAv", k.avsluttet_av.as_deref())?;
        self.kryssreferanser(&k.kryssreferanser)?;
        self.kassasjon(k.kassasjon.as_ref())?;
        self.skjerming(k.skjerming.as_ref())?;
        self.gradering(k.gradering.as_ref())?;
        let screened = k.skjerming.as_ref().is_some_and(|s| {
            s.screens(SkjermingMetadata::KlasseId) || s.screens(SkjermingMetadata::TittelKlasse)
        });
        let klasse = JournalKlasse {
            klasse_id: k.klasse_id.clone(),
            tittel: k.tittel.clone(),
            skjerming_metadata: k
                .skjerming
                .as_ref()
                .map(|s| s.skjerming_metadata.clone())
                .unwrap_or_default(),
            screened,
        };
        self.stack.push(Frame {
            level: Level::Klasse,
            child: Child::None,
            klasse: Some(klasse),
        });
        Ok(())
    }

    /// Close the current klasse.
    pub fn end_klasse(&mut self) -> Result<()> {
        self.close(Level::Klasse, "klasse")
    }

    fn close(&mut self, level: Level, name: &str) -> Result<()> {
        match self.stack.last() {
            Some(f) if f.level == level => {
                self.stack.pop();
                self.out.end(name)
            }
            Some(f) => Err(Error::Order(format!(
                "cannot close {name}: the open element is {:?}",
                f.level
            ))),
            None => Err(Error::Order(format!(
                "cannot close {name}: nothing is open"
            ))),
        }
    }

    fn current_klasse(&self) -> Option<JournalKlasse> {
        self.stack.iter().rev().find_map(|f| f.klasse.clone())
    }

    /// Write one folder with its whole subtree under the open arkivdel or klasse. Returns the
    /// journal entries of the journalposts it holds (in document order), for the journals.
    pub fn write_mappe(&mut self, m: &Mappe) -> Result<Vec<JournalEntry>> {
        self.enter(Child::Mappe, "mappe")?;
        let klasse = self.current_klasse();
        let mut entries = Vec::new();
        self.mappe(m, klasse.as_ref(), &mut entries)?;
        Ok(entries)
    }

    /// Write one registration directly under the open arkivdel or klasse. Journalposts cannot be
    /// written here: the journals need their saksmappe.
    pub fn write_registrering(&mut self, r: &Registrering) -> Result<()> {
        self.enter(Child::Registrering, "registrering")?;
        if r.journalpost().is_some() {
            return Err(Error::invalid(
                format!("registrering {}", r.system_id),
                "xsi:type",
                "a journalpost must be inside a saksmappe (the journals list it with its case)",
            ));
        }
        self.registrering(r)
    }

    /// Close the arkiv element and return the inner writer and the counts.
    pub fn finish(mut self) -> Result<(W, ArkivstrukturCounts)> {
        if self.stack.len() != 1 {
            return Err(Error::Order(format!(
                "finish called with {} element(s) still open",
                self.stack.len().saturating_sub(1)
            )));
        }
        if self.arkivdel_ids.is_empty() {
            return Err(Error::invalid(
                self.out.record.clone(),
                "arkivdel",
                "an extract needs at least one arkivdel",
            ));
        }
        self.stack.pop();
        self.out.end("arkiv")?;
        let counts = self.counts.clone();
        Ok((self.out.finish()?, counts))
    }

    fn mappe(
        &mut self,
        m: &Mappe,
        klasse: Option<&JournalKlasse>,
        entries: &mut Vec<JournalEntry>,
    ) -> Result<()> {
        self.out.record = format!("mappe {} ({})", m.mappe_id, m.system_id);
        self.claim(m.system_id)?;
        self.counts.mappe += 1;
        if !m.undermapper.is_empty() && !m.registreringer.is_empty() {
            return Err(Error::invalid(
                self.out.record.clone(),
                "mappe/registrering",
                "a folder holds either subfolders or registrations, not both (XSD choice)",
            ));
        }
        require_offentlig_tittel(
            &self.out.record,
            m.skjerming.as_ref(),
            m.offentlig_tittel.as_deref(),
            &[
                SkjermingMetadata::TittelMappeUtvalgteOrd,
                SkjermingMetadata::TittelMappeUnntattFoersteLinje,
            ],
        )?;
        match &m.mappetype {
            MappeType::Mappe => self.out.start("mappe")?,
            MappeType::Saksmappe(_) => self.out.start_typed("mappe", "saksmappe")?,
        }
        let o = &mut self.out;
        o.display("systemID", m.system_id)?;
        o.text("mappeID", &m.mappe_id)?;
        o.text("tittel", &m.tittel)?;
        o.opt("offentligTittel", m.offentlig_tittel.as_deref())?;
        o.opt("beskrivelse", m.beskrivelse.as_deref())?;
        o.each("noekkelord", &m.noekkelord)?;
        o.opt("dokumentmedium", m.dokumentmedium.map(|s| s.as_str()))?;
        o.text("opprettetDato", &fmt_datetime(&m.opprettet_dato))?;
        o.text("opprettetAv", &m.opprettet_av)?;
        o.text("avsluttetDato", &fmt_datetime(&m.avsluttet_dato))?;
        o.text("avsluttetAv", &m.avsluttet_av)?;
        for r in &m.referanse_arkivdel {
            o.display("referanseArkivdel", r)?;
        }
        self.parter(&m.parter)?;
        self.kryssreferanser(&m.kryssreferanser)?;
        self.merknader(&m.merknader)?;
        self.kassasjon(m.kassasjon.as_ref())?;
        self.skjerming(m.skjerming.as_ref())?;
        self.gradering(m.gradering.as_ref())?;
        for sub in &m.undermapper {
            self.mappe(sub, klasse, entries)?;
        }
        for r in &m.registreringer {
            if let Some(jp) = r.journalpost() {
                let Some(sak) = m.saksmappe() else {
                    return Err(Error::invalid(
                        format!("registrering {}", r.system_id),
                        "xsi:type",
                        format!(
                            "journalpost in folder {} which is not a saksmappe: the journals \
                             need the case of every journalpost",
                            m.mappe_id
                        ),
                    ));
                };
                entries.push(journal_entry(klasse, m, sak, r, jp));
            }
            self.registrering(r)?;
        }
        self.out.record = format!("mappe {} ({})", m.mappe_id, m.system_id);
        if let MappeType::Saksmappe(s) = &m.mappetype {
            let o = &mut self.out;
            o.display("saksaar", s.saksaar)?;
            o.display("sakssekvensnummer", s.sakssekvensnummer)?;
            o.text("saksdato", &fmt_date(&s.saksdato))?;
            o.text("administrativEnhet", &s.administrativ_enhet)?;
            o.text("saksansvarlig", &s.saksansvarlig)?;
            o.opt("journalenhet", s.journalenhet.as_deref())?;
            o.text("saksstatus", s.saksstatus.as_str())?;
            o.opt(
                "utlaantDato",
                s.utlaant_dato.map(|d| fmt_date(&d)).as_deref(),
            )?;
            o.opt("utlaantTil", s.utlaant_til.as_deref())?;
            for r in &s.referanse_sekundaer_klassifikasjon {
                o.display("referanseSekundaerKlassifikasjon", r)?;
            }
        }
        self.out.end("mappe")
    }

    fn registrering(&mut self, r: &Registrering) -> Result<()> {
        self.out.record = format!("registrering {}", r.system_id);
        self.claim(r.system_id)?;
        self.counts.registrering += 1;
        require_offentlig_tittel(
            &self.out.record,
            r.skjerming.as_ref(),
            r.offentlig_tittel.as_deref(),
            &[
                SkjermingMetadata::TittelRegistreringUtvalgteOrd,
                SkjermingMetadata::TittelRegistreringUnntattFoersteLinje,
            ],
        )?;
        match &r.registreringstype {
            RegistreringType::Registrering => self.out.start("registrering")?,
            RegistreringType::Journalpost(_) => {
                self.counts.journalpost += 1;
                self.out.start_typed("registrering", "journalpost")?
            }
            RegistreringType::Arkivnotat(_) => {
                self.out.start_typed("registrering", "arkivnotat")?
            }
        }
        let o = &mut self.out;
        o.display("systemID", r.system_id)?;
        o.text("opprettetDato", &fmt_datetime(&r.opprettet_dato))?;
        o.text("opprettetAv", &r.opprettet_av)?;
        o.text("arkivertDato", &fmt_datetime(&r.arkivert_dato))?;
        o.text("arkivertAv", &r.arkivert_av)?;
        for a in &r.referanse_arkivdel {
            o.display("referanseArkivdel", a)?;
        }
        self.parter(&r.parter)?;
        self.kassasjon(r.kassasjon.as_ref())?;
        self.skjerming(r.skjerming.as_ref())?;
        self.gradering(r.gradering.as_ref())?;
        for d in &r.dokumentbeskrivelser {
            self.dokumentbeskrivelse(d)?;
        }
        self.out.record = format!("registrering {}", r.system_id);
        let o = &mut self.out;
        o.opt("registreringsID", r.registrerings_id.as_deref())?;
        o.text("tittel", &r.tittel)?;
        o.opt("offentligTittel", r.offentlig_tittel.as_deref())?;
        o.opt("beskrivelse", r.beskrivelse.as_deref())?;
        o.each("noekkelord", &r.noekkelord)?;
        o.each("forfatter", &r.forfatter)?;
        o.opt("dokumentmedium", r.dokumentmedium.map(|s| s.as_str()))?;
        self.merknader(&r.merknader)?;
        self.kryssreferanser(&r.kryssreferanser)?;
        for k in &r.korrespondanseparter {
            let o = &mut self.out;
            o.start("korrespondansepart")?;
            o.text("korrespondanseparttype", k.korrespondanseparttype.as_str())?;
            o.text("korrespondansepartNavn", &k.korrespondansepart_navn)?;
            o.each("postadresse", &k.postadresse)?;
            o.opt("postnummer", k.postnummer.as_deref())?;
            o.opt("poststed", k.poststed.as_deref())?;
            o.opt("land", k.land.as_deref())?;
            o.opt("epostadresse", k.epostadresse.as_deref())?;
            o.each("telefonnummer", &k.telefonnummer)?;
            o.opt("kontaktperson", k.kontaktperson.as_deref())?;
            o.opt("administrativEnhet", k.administrativ_enhet.as_deref())?;
            o.opt("saksbehandler", k.saksbehandler.as_deref())?;
            o.end("korrespondansepart")?;
        }
        let o = &mut self.out;
        match &r.registreringstype {
            RegistreringType::Registrering => {}
            RegistreringType::Journalpost(j) => {
                o.display("journalaar", j.journalaar)?;
                o.display("journalsekvensnummer", j.journalsekvensnummer)?;
                o.display("journalpostnummer", j.journalpostnummer)?;
                o.text("journalposttype", j.journalposttype.as_str())?;
                o.text("journalstatus", j.journalstatus.as_str())?;
                o.text("journaldato", &fmt_date(&j.journaldato))?;
                o.opt(
                    "dokumentetsDato",
                    j.dokumentets_dato.map(|d| fmt_date(&d)).as_deref(),
                )?;
                o.opt(
                    "mottattDato",
                    j.mottatt_dato.map(|d| fmt_datetime(&d)).as_deref(),
                )?;
                o.opt(
                    "sendtDato",
                    j.sendt_dato.map(|d| fmt_datetime(&d)).as_deref(),
                )?;
                o.opt(
                    "forfallsdato",
                    j.forfallsdato.map(|d| fmt_date(&d)).as_deref(),
                )?;
                o.opt(
                    "offentlighetsvurdertDato",
                    j.offentlighetsvurdert_dato.map(|d| fmt_date(&d)).as_deref(),
                )?;
                o.opt_display("antallVedlegg", j.antall_vedlegg)?;
                o.opt("journalenhet", j.journalenhet.as_deref())?;
                for a in &j.avskrivninger {
                    o.start("avskrivning")?;
                    o.text("avskrivningsdato", &fmt_date(&a.avskrivningsdato))?;
                    o.text("avskrevetAv", &a.avskrevet_av)?;
                    o.text("avskrivningsmaate", &a.avskrivningsmaate)?;
                    o.opt_display(
                        "referanseAvskrivesAvJournalpost",
                        a.referanse_avskrives_av_journalpost,
                    )?;
                    o.end("avskrivning")?;
                }
            }
            RegistreringType::Arkivnotat(a) => {
                o.opt(
                    "dokumentetsDato",
                    a.dokumentets_dato.map(|d| fmt_date(&d)).as_deref(),
                )?;
                o.opt(
                    "mottattDato",
                    a.mottatt_dato.map(|d| fmt_datetime(&d)).as_deref(),
                )?;
                o.opt(
                    "sendtDato",
                    a.sendt_dato.map(|d| fmt_datetime(&d)).as_deref(),
                )?;
                o.opt(
                    "forfallsdato",
                    a.forfallsdato.map(|d| fmt_date(&d)).as_deref(),
                )?;
                o.opt(
                    "offentlighetsvurdertDato",
                    a.offentlighetsvurdert_dato.map(|d| fmt_date(&d)).as_deref(),
                )?;
                o.opt_display("antallVedlegg", a.antall_vedlegg)?;
            }
        }
        self.out.end("registrering")
    }

    fn dokumentbeskrivelse(&mut self, d: &Dokumentbeskrivelse) -> Result<()> {
        self.out.record = format!("dokumentbeskrivelse {}", d.system_id);
        self.claim(d.system_id)?;
        if d.utfoert_kassasjon.is_some() && !d.dokumentobjekter.is_empty() {
            return Err(Error::invalid(
                self.out.record.clone(),
                "dokumentobjekt",
                "a destroyed document (utfoertKassasjon) keeps its metadata but has no dokumentobjekt",
            ));
        }
        let o = &mut self.out;
        o.start("dokumentbeskrivelse")?;
        o.display("systemID", d.system_id)?;
        o.text("dokumenttype", &d.dokumenttype)?;
        o.text("dokumentstatus", d.dokumentstatus.as_str())?;
        o.text("tittel", &d.tittel)?;
        o.opt("beskrivelse", d.beskrivelse.as_deref())?;
        o.each("forfatter", &d.forfatter)?;
        o.text("opprettetDato", &fmt_datetime(&d.opprettet_dato))?;
        o.text("opprettetAv", &d.opprettet_av)?;
        o.opt("dokumentmedium", d.dokumentmedium.map(|s| s.as_str()))?;
        for a in &d.referanse_arkivdel {
            o.display("referanseArkivdel", a)?;
        }
        o.text(
            "tilknyttetRegistreringSom",
            d.tilknyttet_registrering_som.as_str(),
        )?;
        o.display("dokumentnummer", d.dokumentnummer)?;
        o.text("tilknyttetDato", &fmt_datetime(&d.tilknyttet_dato))?;
        o.text("tilknyttetAv", &d.tilknyttet_av)?;
        self.parter(&d.parter)?;
        self.merknader(&d.merknader)?;
        self.kassasjon(d.kassasjon.as_ref())?;
        self.utfoert_kassasjon(d.utfoert_kassasjon.as_ref())?;
        self.sletting(d.sletting.as_ref())?;
        self.skjerming(d.skjerming.as_ref())?;
        self.gradering(d.gradering.as_ref())?;
        for ob in &d.dokumentobjekter {
            self.out.record = format!("dokumentobjekt {}", ob.system_id);
            self.claim(ob.system_id)?;
            self.counts.dokumentobjekt += 1;
            let o = &mut self.out;
            o.start("dokumentobjekt")?;
            o.display("systemID", ob.system_id)?;
            o.display("versjonsnummer", ob.versjonsnummer)?;
            o.text("variantformat", ob.variantformat.as_str())?;
            o.text("format", &ob.format)?;
            o.opt("formatDetaljer", ob.format_detaljer.as_deref())?;
            o.text("opprettetDato", &fmt_datetime(&ob.opprettet_dato))?;
            o.text("opprettetAv", &ob.opprettet_av)?;
            o.text("referanseDokumentfil", &ob.referanse_dokumentfil)?;
            o.text("sjekksum", &ob.sjekksum)?;
            o.text("sjekksumAlgoritme", &ob.sjekksum_algoritme)?;
            o.display("filstoerrelse", ob.filstoerrelse)?;
            for k in &ob.konverteringer {
                o.start("konvertering")?;
                o.text("konvertertDato", &fmt_datetime(&k.konvertert_dato))?;
                o.text("konvertertAv", &k.konvertert_av)?;
                o.text("konvertertFraFormat", &k.konvertert_fra_format)?;
                o.text("konvertertTilFormat", &k.konvertert_til_format)?;
                o.opt("konverteringsverktoey", k.konverteringsverktoey.as_deref())?;
                o.opt(
                    "konverteringskommentar",
                    k.konverteringskommentar.as_deref(),
                )?;
                o.end("konvertering")?;
            }
            o.end("dokumentobjekt")?;
        }
        self.out.end("dokumentbeskrivelse")
    }
}
