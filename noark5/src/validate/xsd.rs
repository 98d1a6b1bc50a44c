//! XSD validation through xmllint (libxml2), run as an external program in streaming mode
//! (`--stream`), so memory does not grow with the file. libxml2 is not linked into the crate.

use crate::error::{Error, Result};
use std::path::Path;
use std::process::Command;

/// One schema violation reported by xmllint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct XsdError {
    pub(crate) line: Option<u64>,
    pub(crate) message: String,
}

/// Whether xmllint can be started.
pub fn xmllint_available() -> bool {
    Command::new("xmllint").arg("--version").output().is_ok()
}

/// Validate `xml` against `xsd`, both relative to `dir` (or absolute).
pub(crate) fn validate(dir: &Path, xsd: &Path, xml: &str) -> Result<Vec<XsdError>> {
    let out = Command::new("xmllint")
        .current_dir(dir)
        .args(["--nonet", "--noout", "--stream", "--schema"])
        .arg(xsd)
        .arg(xml)
        .output()
        .map_err(|e| {
            Error::Tool(format!(
                "xmllint could not be started ({e}); install it (Debian/Ubuntu: apt-get install \
                 libxml2-utils) or skip XSD validation with --skip-xsd"
            ))
        })?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut errors = Vec::new();
    for l in stderr.lines() {
        let l = l.trim_end();
        if l.is_empty() || l.ends_with(" validates") || l.ends_with(" fails to validate") {
            continue;
        }
        let (line, msg) = split_location(l, xml);
        errors.push(XsdError {
            line,
            message: strip_namespaces(msg),
        });
    }
    if !out.status.success() && errors.is_empty() {
        errors.push(XsdError {
            line: None,
            message: format!("xmllint failed with {}", out.status),
        });
    }
    Ok(errors)
}

/// `file:LINE: message` → (LINE, message).
fn split_location<'a>(l: &'a str, xml: &str) -> (Option<u64>, &'a str) {
    if let Some(rest) = l.strip_prefix(xml).and_then(|r| r.strip_prefix(':')) {
        if let Some((num, msg)) = rest.split_once(": ") {
            if let Ok(n) = num.parse() {
                return (Some(n), msg);
            }
        }
    }
    (None, l)
}

fn strip_namespaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_ns = false;
    for c in s.chars() {
        match c {
            '{' => in_ns = true,
            '}' if in_ns => in_ns = false,
            _ if in_ns => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_xmllint_lines() {
        let (l, m) = split_location(
            "arkivstruktur.xml:14: Schemas validity error : Element 'x'",
            "arkivstruktur.xml",
        );
        assert_eq!(l, Some(14));
        assert_eq!(m, "Schemas validity error : Element 'x'");
        assert_eq!(
            strip_namespaces("Element '{http://a/b}tittel': x"),
            "Element 'tittel': x"
        );
    }
}
