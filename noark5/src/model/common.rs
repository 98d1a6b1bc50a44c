//! Building blocks shared by several levels: screening, grading, disposal, notes, cross references.

use crate::codes::{Grad, Kassasjonsvedtak, SkjermingDokument, SkjermingMetadata};
use crate::id::SystemId;
use crate::time::{Date, DateTime};

/// `skjerming`: access restriction of an entity.
#[derive(Debug, Clone, PartialEq)]
pub struct Skjerming {
    /// M500, e.g. «Unntatt offentlighet».
    pub tilgangsrestriksjon: String,
    /// M501, the legal basis, e.g. «Offl. § 13, jf. fvl. § 13 første ledd nr. 1».
    pub skjermingshjemmel: String,
    /// M502, which elements are screened (at least one).
    pub skjerming_metadata: Vec<SkjermingMetadata>,
    /// M503.
    pub skjerming_dokument: Option<SkjermingDokument>,
    /// M504, years.
    pub skjermingsvarighet: Option<u32>,
    /// M505.
    pub skjerming_opphoerer_dato: Option<Date>,
}

impl Skjerming {
    /// Whether the given element is screened (directly or by «Midlertidig skjerming»).
    pub fn screens(&self, what: SkjermingMetadata) -> bool {
        self.skjerming_metadata
            .iter()
            .any(|m| *m == what || *m == SkjermingMetadata::Midlertidig)
    }
}

/// `gradering`: security grading.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradering {
    /// M506.
    pub grad: Grad,
    /// M624.
    pub graderingsdato: DateTime,
    /// M625.
    pub gradert_av: String,
    /// M626.
    pub nedgraderingsdato: Option<DateTime>,
    /// M627.
    pub nedgradert_av: Option<String>,
}

/// `kassasjon`: disposal decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Kassasjon {
    /// M450.
    pub kassasjonsvedtak: Kassasjonsvedtak,
    /// M453.
    pub kassasjonshjemmel: Option<String>,
    /// M451, years.
    pub bevaringstid: u32,
    /// M452.
    pub kassasjonsdato: Date,
}

/// `utfoertKassasjon`: disposal carried out.
#[derive(Debug, Clone, PartialEq)]
pub struct UtfoertKassasjon {
    /// M630.
    pub kassert_dato: DateTime,
    /// M631.
    pub kassert_av: String,
}

/// `sletting`: deletion of versions/variants.
#[derive(Debug, Clone, PartialEq)]
pub struct Sletting {
    /// M089.
    pub slettingstype: String,
    /// M613.
    pub slettet_dato: DateTime,
    /// M614.
    pub slettet_av: String,
}

/// `merknad`: a note.
#[derive(Debug, Clone, PartialEq)]
pub struct Merknad {
    /// M310.
    pub merknadstekst: String,
    /// M084.
    pub merknadstype: Option<String>,
    /// M611.
    pub merknadsdato: DateTime,
    /// M612.
    pub merknad_registrert_av: String,
}

/// `kryssreferanse`: a cross reference to a class, folder or registration (exactly one is set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kryssreferanse {
    /// `referanseTilKlasse`.
    Klasse(SystemId),
    /// `referanseTilMappe`.
    Mappe(SystemId),
    /// `referanseTilRegistrering`.
    Registrering(SystemId),
}
