//! Sources of an extract, each a documented input (docs/NOARK5.md) with an example in
//! `fixtures/noark5/`:
//! - [`existing`]: an extract produced by the case system (Noark 5 v3.1, v4.0 or v5.0), copied
//!   unchanged, completed with missing official XSDs of its own version, validated, and kept
//!   only without errors (older versions are not converted to v5.0);
//! - [`jsonl`]: a case-system export as JSON Lines views (arkiv, klasser, saker, journalposter,
//!   korrespondanseparter, dokumenter, endringer; format in docs/noark5-import.md), merged in
//!   one streaming pass;
//! - [`helse`]: a secure-zone health export (documents plus one metadata file per patient
//!   record), every entity screened, documents as screened journalposts.

pub mod existing;
pub mod helse;
pub mod jsonl;

use crate::error::{Error, Result};
use crate::time::{parse_date, parse_datetime, Date, DateTime};

/// An extract is made of closed arkivdeler (krav 6.4.12); the exception is an extract by date
/// range (krav 6.4.14), which `date_range` says was asked for.
pub(crate) fn require_closed_period(
    record: &str,
    status: crate::codes::Arkivdelstatus,
    date_range: bool,
) -> Result<()> {
    if status == crate::codes::Arkivdelstatus::AvsluttetPeriode || date_range {
        return Ok(());
    }
    Err(Error::invalid(
        record,
        "arkivdel.arkivdelstatus",
        format!(
            "is «{}»: an extract is made of closed arkivdeler (krav 6.4.12). Close the period \
             («Avsluttet periode») in the source system, or make an extract by date range with \
             --closed-from/--closed-to (krav 6.4.14)",
            status.as_str()
        ),
    ))
}

/// Parse a date field of `record`.
pub(crate) fn date(record: &str, field: &str, s: &str) -> Result<Date> {
    parse_date(s).map_err(|e| match e {
        Error::Invalid { message, .. } => Error::invalid(record, field, message),
        other => other,
    })
}

/// Parse a date-time field of `record`.
pub(crate) fn datetime(record: &str, field: &str, s: &str) -> Result<DateTime> {
    parse_datetime(s).map_err(|e| match e {
        Error::Invalid { message, .. } => Error::invalid(record, field, message),
        other => other,
    })
}

/// Parse an optional date field.
pub(crate) fn opt_date(record: &str, field: &str, s: &Option<String>) -> Result<Option<Date>> {
    s.as_deref().map(|v| date(record, field, v)).transpose()
}

/// Parse an optional date-time field.
pub(crate) fn opt_datetime(
    record: &str,
    field: &str,
    s: &Option<String>,
) -> Result<Option<DateTime>> {
    s.as_deref().map(|v| datetime(record, field, v)).transpose()
}
