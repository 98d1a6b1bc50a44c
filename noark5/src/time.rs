//! Date and date-time values, typed exactly as the XSD types each field.
//!
//! Fields the XSD types as `xs:date` use [`Date`]; `xs:dateTime` fields use [`DateTime`], which
//! always carries a UTC offset so the written value is unambiguous.

use crate::error::{Error, Result};

/// An `xs:date` value (`YYYY-MM-DD`).
pub type Date = chrono::NaiveDate;
/// An `xs:dateTime` value with an offset.
pub type DateTime = chrono::DateTime<chrono::FixedOffset>;

/// Format an `xs:date`.
pub fn fmt_date(d: &Date) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Format an `xs:dateTime` (RFC 3339, seconds, `Z` for UTC).
pub fn fmt_datetime(d: &DateTime) -> String {
    d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Parse an `xs:date` (`YYYY-MM-DD`, optionally followed by a timezone as XSD allows).
pub fn parse_date(s: &str) -> Result<Date> {
    let core = s.get(..10).unwrap_or(s);
    chrono::NaiveDate::parse_from_str(core, "%Y-%m-%d")
        .ok()
        .filter(|_| {
            let rest = &s[core.len()..];
            rest.is_empty() || rest == "Z" || is_offset(rest)
        })
        .ok_or_else(|| Error::invalid("", "", format!("{s:?} is not a date (YYYY-MM-DD)")))
}

/// Parse an `xs:dateTime`. A value without offset is accepted by XSD; it is read as UTC here.
pub fn parse_datetime(s: &str) -> Result<DateTime> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(d);
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|n| n.and_utc().fixed_offset())
        .map_err(|_| {
            Error::invalid(
                "",
                "",
                format!("{s:?} is not a date-time (YYYY-MM-DDThh:mm:ss with an offset, e.g. 2023-01-02T09:00:00+01:00)"),
            )
        })
}

fn is_offset(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 6
        && (b[0] == b'+' || b[0] == b'-')
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && b[3] == b':'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_datetimes() {
        let d = parse_date("2023-01-02").unwrap();
        assert_eq!(fmt_date(&d), "2023-01-02");
        assert!(parse_date("2023-01-02T10:00:00").is_err());
        assert!(parse_date("02.01.2023").is_err());
        let t = parse_datetime("2023-01-02T09:00:00+01:00").unwrap();
        assert_eq!(fmt_datetime(&t), "2023-01-02T09:00:00+01:00");
        let u = parse_datetime("2013-10-11T16:05:06").unwrap();
        assert_eq!(fmt_datetime(&u), "2013-10-11T16:05:06Z");
        assert!(parse_datetime("2023-01-02").is_err());
    }
}
