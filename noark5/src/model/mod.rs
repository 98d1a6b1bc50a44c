//! The typed Noark 5 v5.0 model.
//!
//! Each struct mirrors one complex type of `arkivstruktur.xsd`; field order follows the XSD
//! sequence, optional elements are `Option`/`Vec`, and date vs date-time follows the XSD typing
//! ([`crate::time`]). The model holds no children above folder level: the archive, its parts and
//! its classes are *headers* that the streaming writer opens and closes, while one folder
//! ([`Mappe`]) is written with its whole subtree in one call. So memory stays bounded by the
//! largest folder, not by the archive.

mod arkiv;
mod common;
mod dokument;
mod endring;
mod mappe;
mod registrering;

pub use arkiv::{Arkiv, Arkivdel, Arkivskaper, Klasse, Klassifikasjonssystem};
pub use common::{
    Gradering, Kassasjon, Kryssreferanse, Merknad, Skjerming, Sletting, UtfoertKassasjon,
};
pub use dokument::{Dokumentbeskrivelse, Dokumentobjekt, Konvertering};
pub use endring::Endring;
pub use mappe::{Mappe, MappeType, Saksmappe};
pub use registrering::{
    Arkivnotat, Avskrivning, Journalpost, Korrespondansepart, Part, Registrering, RegistreringType,
};
