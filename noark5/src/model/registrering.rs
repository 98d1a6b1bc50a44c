//! `registrering` and its subtypes `journalpost` and `arkivnotat`, with parties.

use super::common::{Gradering, Kassasjon, Kryssreferanse, Merknad, Skjerming};
use super::dokument::Dokumentbeskrivelse;
use crate::codes::{Dokumentmedium, Journalposttype, Journalstatus, Korrespondanseparttype};
use crate::id::SystemId;
use crate::time::{Date, DateTime};

/// A registration with its documents.
#[derive(Debug, Clone, PartialEq)]
pub struct Registrering {
    /// M001.
    pub system_id: SystemId,
    /// M600.
    pub opprettet_dato: DateTime,
    /// M601.
    pub opprettet_av: String,
    /// M604 (mandatory in an extract).
    pub arkivert_dato: DateTime,
    /// M605.
    pub arkivert_av: String,
    /// M208.
    pub referanse_arkivdel: Vec<SystemId>,
    /// Parties.
    pub parter: Vec<Part>,
    /// Disposal decision.
    pub kassasjon: Option<Kassasjon>,
    /// Screening.
    pub skjerming: Option<Skjerming>,
    /// Grading.
    pub gradering: Option<Gradering>,
    /// Documents (written before registreringsID and tittel, per the XSD).
    pub dokumentbeskrivelser: Vec<Dokumentbeskrivelse>,
    /// M004, e.g. «2023/12-3».
    pub registrerings_id: Option<String>,
    /// M020.
    pub tittel: String,
    /// M025.
    pub offentlig_tittel: Option<String>,
    /// M021.
    pub beskrivelse: Option<String>,
    /// M022.
    pub noekkelord: Vec<String>,
    /// M024.
    pub forfatter: Vec<String>,
    /// M300.
    pub dokumentmedium: Option<Dokumentmedium>,
    /// Notes.
    pub merknader: Vec<Merknad>,
    /// Cross references.
    pub kryssreferanser: Vec<Kryssreferanse>,
    /// Correspondence parties.
    pub korrespondanseparter: Vec<Korrespondansepart>,
    /// The subtype and its elements.
    pub registreringstype: RegistreringType,
}

/// Which `xsi:type` a registration has.
#[derive(Debug, Clone, PartialEq)]
pub enum RegistreringType {
    /// A plain `registrering` (archived without journal registration).
    Registrering,
    /// `xsi:type="journalpost"`.
    Journalpost(Journalpost),
    /// `xsi:type="arkivnotat"`.
    Arkivnotat(Arkivnotat),
}

/// The elements `journalpost` adds.
#[derive(Debug, Clone, PartialEq)]
pub struct Journalpost {
    /// M013.
    pub journalaar: i32,
    /// M014.
    pub journalsekvensnummer: u64,
    /// M015.
    pub journalpostnummer: u64,
    /// M082.
    pub journalposttype: Journalposttype,
    /// M053.
    pub journalstatus: Journalstatus,
    /// M101 (date).
    pub journaldato: Date,
    /// M103 (date).
    pub dokumentets_dato: Option<Date>,
    /// M104 (date-time).
    pub mottatt_dato: Option<DateTime>,
    /// M105 (date-time).
    pub sendt_dato: Option<DateTime>,
    /// M109 (date).
    pub forfallsdato: Option<Date>,
    /// M110 (date).
    pub offentlighetsvurdert_dato: Option<Date>,
    /// M304.
    pub antall_vedlegg: Option<u32>,
    /// M308.
    pub journalenhet: Option<String>,
    /// Write-offs.
    pub avskrivninger: Vec<Avskrivning>,
}

/// The elements `arkivnotat` adds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Arkivnotat {
    /// M103.
    pub dokumentets_dato: Option<Date>,
    /// M104.
    pub mottatt_dato: Option<DateTime>,
    /// M105.
    pub sendt_dato: Option<DateTime>,
    /// M109.
    pub forfallsdato: Option<Date>,
    /// M110.
    pub offentlighetsvurdert_dato: Option<Date>,
    /// M304.
    pub antall_vedlegg: Option<u32>,
}

/// `korrespondansepart`.
#[derive(Debug, Clone, PartialEq)]
pub struct Korrespondansepart {
    /// M087.
    pub korrespondanseparttype: Korrespondanseparttype,
    /// M400.
    pub korrespondansepart_navn: String,
    /// M406.
    pub postadresse: Vec<String>,
    /// M407.
    pub postnummer: Option<String>,
    /// M408.
    pub poststed: Option<String>,
    /// M409.
    pub land: Option<String>,
    /// M410.
    pub epostadresse: Option<String>,
    /// M411.
    pub telefonnummer: Vec<String>,
    /// M412.
    pub kontaktperson: Option<String>,
    /// M305.
    pub administrativ_enhet: Option<String>,
    /// M307.
    pub saksbehandler: Option<String>,
}

impl Korrespondansepart {
    /// A party with only type and name.
    pub fn new(korrespondanseparttype: Korrespondanseparttype, navn: impl Into<String>) -> Self {
        Korrespondansepart {
            korrespondanseparttype,
            korrespondansepart_navn: navn.into(),
            postadresse: Vec::new(),
            postnummer: None,
            poststed: None,
            land: None,
            epostadresse: None,
            telefonnummer: Vec::new(),
            kontaktperson: None,
            administrativ_enhet: None,
            saksbehandler: None,
        }
    }
}

/// `part` (formerly `sakspart`).
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// M010.
    pub part_id: Option<String>,
    /// M302.
    pub part_navn: String,
    /// M303.
    pub part_rolle: String,
    /// M406.
    pub postadresse: Vec<String>,
    /// M407.
    pub postnummer: Option<String>,
    /// M408.
    pub poststed: Option<String>,
}

/// `avskrivning`.
#[derive(Debug, Clone, PartialEq)]
pub struct Avskrivning {
    /// M617 (date).
    pub avskrivningsdato: Date,
    /// M618.
    pub avskrevet_av: String,
    /// M619.
    pub avskrivningsmaate: String,
    /// M215.
    pub referanse_avskrives_av_journalpost: Option<SystemId>,
}

impl Registrering {
    /// The journalpost part, if this is a journal entry.
    pub fn journalpost(&self) -> Option<&Journalpost> {
        match &self.registreringstype {
            RegistreringType::Journalpost(j) => Some(j),
            _ => None,
        }
    }
}
