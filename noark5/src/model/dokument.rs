//! `dokumentbeskrivelse`, `dokumentobjekt` and `konvertering`.

use super::common::{Gradering, Kassasjon, Merknad, Skjerming, Sletting, UtfoertKassasjon};
use super::registrering::Part;
use crate::codes::{Dokumentmedium, Dokumentstatus, TilknyttetRegistreringSom, Variantformat};
use crate::id::SystemId;
use crate::time::DateTime;

/// A document description with its file objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Dokumentbeskrivelse {
    /// M001.
    pub system_id: SystemId,
    /// M083, e.g. «Brev», «Søknad».
    pub dokumenttype: String,
    /// M054.
    pub dokumentstatus: Dokumentstatus,
    /// M020.
    pub tittel: String,
    /// M021.
    pub beskrivelse: Option<String>,
    /// M024.
    pub forfatter: Vec<String>,
    /// M600.
    pub opprettet_dato: DateTime,
    /// M601.
    pub opprettet_av: String,
    /// M300.
    pub dokumentmedium: Option<Dokumentmedium>,
    /// M208.
    pub referanse_arkivdel: Vec<SystemId>,
    /// M217.
    pub tilknyttet_registrering_som: TilknyttetRegistreringSom,
    /// M007.
    pub dokumentnummer: u32,
    /// M620.
    pub tilknyttet_dato: DateTime,
    /// M621.
    pub tilknyttet_av: String,
    /// Parties.
    pub parter: Vec<Part>,
    /// Notes.
    pub merknader: Vec<Merknad>,
    /// Disposal decision.
    pub kassasjon: Option<Kassasjon>,
    /// Disposal carried out: the document is destroyed, so there is no dokumentobjekt.
    pub utfoert_kassasjon: Option<UtfoertKassasjon>,
    /// Deletion.
    pub sletting: Option<Sletting>,
    /// Screening.
    pub skjerming: Option<Skjerming>,
    /// Grading.
    pub gradering: Option<Gradering>,
    /// File objects (versions and variants).
    pub dokumentobjekter: Vec<Dokumentobjekt>,
}

/// One file of a document. The file facts (path, checksum, size) are filled in by the extract
/// builder from the copied bytes, never trusted from the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Dokumentobjekt {
    /// M001.
    pub system_id: SystemId,
    /// M005.
    pub versjonsnummer: u32,
    /// M700.
    pub variantformat: Variantformat,
    /// M701: the file extension (what Arkade N5.29 compares), e.g. `pdf`.
    pub format: String,
    /// M702: free text; the builder records the identified format and its PRONOM id here.
    pub format_detaljer: Option<String>,
    /// M600.
    pub opprettet_dato: DateTime,
    /// M601.
    pub opprettet_av: String,
    /// M218: path relative to the extract root, `/`-separated.
    pub referanse_dokumentfil: String,
    /// M705: lower-case hex SHA-256.
    pub sjekksum: String,
    /// M706: `SHA-256`.
    pub sjekksum_algoritme: String,
    /// M707: bytes.
    pub filstoerrelse: u64,
    /// Conversions.
    pub konverteringer: Vec<Konvertering>,
}

/// `konvertering`: a logged format conversion.
#[derive(Debug, Clone, PartialEq)]
pub struct Konvertering {
    /// M615.
    pub konvertert_dato: DateTime,
    /// M616.
    pub konvertert_av: String,
    /// M712.
    pub konvertert_fra_format: String,
    /// M713.
    pub konvertert_til_format: String,
    /// M714.
    pub konverteringsverktoey: Option<String>,
    /// M715.
    pub konverteringskommentar: Option<String>,
}
