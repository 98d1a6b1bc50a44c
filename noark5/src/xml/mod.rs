//! Streaming XML writers for the files of an extract.
//!
//! All writers emit UTF-8, the Noark namespace as the default namespace without a prefix, the
//! `xsi` prefix for XMLSchema-instance, and `xsi:type` values without a prefix: Arkade compares
//! these names literally. No writer ever emits an empty element: an absent value is omitted, and
//! an empty string where a value is mandatory is an [`crate::Error::Invalid`].

mod addml;
mod arkivstruktur;
mod endringslogg;
mod journal;
mod out;

pub use addml::{write_arkivuttrekk, AddmlInfo, FileEntry};
pub use arkivstruktur::ArkivstrukturWriter;
pub use endringslogg::EndringsloggWriter;
pub use journal::{JournalEntry, JournalHead, JournalKind, JournalWriter};
pub(crate) use out::XmlOut;

/// Namespace of arkivstruktur.xml.
pub const NS_ARKIVSTRUKTUR: &str = "http://www.arkivverket.no/standarder/noark5/arkivstruktur";
/// Namespace of endringslogg.xml.
pub const NS_ENDRINGSLOGG: &str = "http://www.arkivverket.no/standarder/noark5/endringslogg";
/// Namespace of loependeJournal.xml.
pub const NS_LOEPENDE_JOURNAL: &str = "http://www.arkivverket.no/standarder/noark5/loependeJournal";
/// Namespace of offentligJournal.xml.
pub const NS_OFFENTLIG_JOURNAL: &str =
    "http://www.arkivverket.no/standarder/noark5/offentligJournal";
/// Namespace of arkivuttrekk.xml (ADDML).
pub const NS_ADDML: &str = "http://www.arkivverket.no/standarder/addml";
/// The XMLSchema-instance namespace.
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The replacement for screened words and names (`*****`).
pub const SCREENED: &str = "*****";
