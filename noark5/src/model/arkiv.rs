//! The upper levels: arkiv, arkivskaper, arkivdel, klassifikasjonssystem, klasse (headers only).

use super::common::{Gradering, Kassasjon, Kryssreferanse, Skjerming, Sletting, UtfoertKassasjon};
use crate::codes::{Arkivdelstatus, Arkivstatus, Dokumentmedium};
use crate::id::SystemId;
use crate::time::{Date, DateTime};

/// `arkivskaper`: the body that created the archive.
#[derive(Debug, Clone, PartialEq)]
pub struct Arkivskaper {
    /// M006, e.g. the organisation number.
    pub arkivskaper_id: String,
    /// M023.
    pub arkivskaper_navn: String,
    /// M021.
    pub beskrivelse: Option<String>,
}

/// `arkiv` header. The v5.0 XSD requires `avsluttetDato`/`avsluttetAv` in an extract.
#[derive(Debug, Clone, PartialEq)]
pub struct Arkiv {
    /// M001.
    pub system_id: SystemId,
    /// M020.
    pub tittel: String,
    /// M021.
    pub beskrivelse: Option<String>,
    /// M050.
    pub arkivstatus: Option<Arkivstatus>,
    /// M300.
    pub dokumentmedium: Option<Dokumentmedium>,
    /// M600.
    pub opprettet_dato: DateTime,
    /// M601.
    pub opprettet_av: String,
    /// M602.
    pub avsluttet_dato: DateTime,
    /// M603.
    pub avsluttet_av: String,
    /// At least one.
    pub arkivskapere: Vec<Arkivskaper>,
}

/// `arkivdel` header (the period unit).
#[derive(Debug, Clone, PartialEq)]
pub struct Arkivdel {
    /// M001.
    pub system_id: SystemId,
    /// M020.
    pub tittel: String,
    /// M021.
    pub beskrivelse: Option<String>,
    /// M051.
    pub arkivdelstatus: Arkivdelstatus,
    /// M300.
    pub dokumentmedium: Option<Dokumentmedium>,
    /// M600.
    pub opprettet_dato: DateTime,
    /// M601.
    pub opprettet_av: String,
    /// M602.
    pub avsluttet_dato: DateTime,
    /// M603.
    pub avsluttet_av: String,
    /// M107.
    pub arkivperiode_start_dato: Option<Date>,
    /// M108.
    pub arkivperiode_slutt_dato: Option<Date>,
    /// M202.
    pub referanse_forloeper: Option<SystemId>,
    /// M203.
    pub referanse_arvtaker: Option<SystemId>,
    /// Disposal decision.
    pub kassasjon: Option<Kassasjon>,
    /// Disposal carried out.
    pub utfoert_kassasjon: Option<UtfoertKassasjon>,
    /// Deletion.
    pub sletting: Option<Sletting>,
    /// Screening.
    pub skjerming: Option<Skjerming>,
    /// Grading.
    pub gradering: Option<Gradering>,
}

/// `klassifikasjonssystem` header.
#[derive(Debug, Clone, PartialEq)]
pub struct Klassifikasjonssystem {
    /// M001.
    pub system_id: SystemId,
    /// M086, e.g. «Funksjonsbasert, hierarkisk».
    pub klassifikasjonstype: Option<String>,
    /// M020.
    pub tittel: String,
    /// M021.
    pub beskrivelse: Option<String>,
    /// M600.
    pub opprettet_dato: DateTime,
    /// M601.
    pub opprettet_av: String,
    /// M602.
    pub avsluttet_dato: Option<DateTime>,
    /// M603.
    pub avsluttet_av: Option<String>,
}

/// `klasse` header.
#[derive(Debug, Clone, PartialEq)]
pub struct Klasse {
    /// M001.
    pub system_id: SystemId,
    /// M002.
    pub klasse_id: String,
    /// M020.
    pub tittel: String,
    /// M021.
    pub beskrivelse: Option<String>,
    /// M022.
    pub noekkelord: Vec<String>,
    /// M600.
    pub opprettet_dato: DateTime,
    /// M601.
    pub opprettet_av: String,
    /// M602.
    pub avsluttet_dato: Option<DateTime>,
    /// M603.
    pub avsluttet_av: Option<String>,
    /// Cross references.
    pub kryssreferanser: Vec<Kryssreferanse>,
    /// Disposal decision.
    pub kassasjon: Option<Kassasjon>,
    /// Screening.
    pub skjerming: Option<Skjerming>,
    /// Grading.
    pub gradering: Option<Gradering>,
}
