//! `endring`: one entry of endringslogg.xml.

use crate::id::SystemId;
use crate::time::DateTime;

/// One logged change of a metadata value.
#[derive(Debug, Clone, PartialEq)]
pub struct Endring {
    /// M680: the systemID of the changed entity; must exist in the same extract's arkivstruktur.
    pub referanse_arkivenhet: SystemId,
    /// M681: the changed element's name.
    pub referanse_metadata: String,
    /// M682.
    pub endret_dato: DateTime,
    /// M683.
    pub endret_av: String,
    /// M684.
    pub tidligere_verdi: String,
    /// M685.
    pub ny_verdi: String,
}
