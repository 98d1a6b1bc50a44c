//! `mappe` and its subtype `saksmappe`.

use super::common::{Gradering, Kassasjon, Kryssreferanse, Merknad, Skjerming};
use super::registrering::{Part, Registrering};
use crate::codes::{Dokumentmedium, Saksstatus};
use crate::id::SystemId;
use crate::time::{Date, DateTime};

/// A folder with its subtree. A folder holds either subfolders or registrations, never both.
#[derive(Debug, Clone, PartialEq)]
pub struct Mappe {
    /// M001.
    pub system_id: SystemId,
    /// M003, e.g. «2023/12».
    pub mappe_id: String,
    /// M020.
    pub tittel: String,
    /// M025: tittel with screened words replaced by `*****`; mandatory when words are screened.
    pub offentlig_tittel: Option<String>,
    /// M021.
    pub beskrivelse: Option<String>,
    /// M022.
    pub noekkelord: Vec<String>,
    /// M300.
    pub dokumentmedium: Option<Dokumentmedium>,
    /// M600.
    pub opprettet_dato: DateTime,
    /// M601.
    pub opprettet_av: String,
    /// M602 (mandatory in an extract).
    pub avsluttet_dato: DateTime,
    /// M603.
    pub avsluttet_av: String,
    /// M208.
    pub referanse_arkivdel: Vec<SystemId>,
    /// Parties.
    pub parter: Vec<Part>,
    /// Cross references.
    pub kryssreferanser: Vec<Kryssreferanse>,
    /// Notes.
    pub merknader: Vec<Merknad>,
    /// Disposal decision.
    pub kassasjon: Option<Kassasjon>,
    /// Screening.
    pub skjerming: Option<Skjerming>,
    /// Grading.
    pub gradering: Option<Gradering>,
    /// Subfolders.
    pub undermapper: Vec<Mappe>,
    /// Registrations.
    pub registreringer: Vec<Registrering>,
    /// The subtype and its elements.
    pub mappetype: MappeType,
}

/// Which `xsi:type` a folder has.
#[derive(Debug, Clone, PartialEq)]
pub enum MappeType {
    /// A plain `mappe`.
    Mappe,
    /// `xsi:type="saksmappe"`.
    Saksmappe(Saksmappe),
}

/// The elements `saksmappe` adds (written after the folder's children, per XSD extension order).
#[derive(Debug, Clone, PartialEq)]
pub struct Saksmappe {
    /// M011.
    pub saksaar: i32,
    /// M012.
    pub sakssekvensnummer: u64,
    /// M100.
    pub saksdato: Date,
    /// M305.
    pub administrativ_enhet: String,
    /// M306.
    pub saksansvarlig: String,
    /// M308.
    pub journalenhet: Option<String>,
    /// M052.
    pub saksstatus: Saksstatus,
    /// M106.
    pub utlaant_dato: Option<Date>,
    /// M309.
    pub utlaant_til: Option<String>,
    /// M209.
    pub referanse_sekundaer_klassifikasjon: Vec<SystemId>,
}

impl Mappe {
    /// The saksmappe part, if this is a case folder.
    pub fn saksmappe(&self) -> Option<&Saksmappe> {
        match &self.mappetype {
            MappeType::Saksmappe(s) => Some(s),
            MappeType::Mappe => None,
        }
    }
}
