//! `systemID` values: UUIDs, as the v5.0 metadatakatalog type `ID` requires.

use crate::error::{Error, Result};
use std::fmt;

/// A Noark 5 `systemID` (M001) or a reference to one. Always a UUID; unique across every extract
/// an arkivskaper produces (krav 6.4.26), which random (v4) UUIDs give without coordination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SystemId(uuid::Uuid);

impl SystemId {
    /// A fresh random id.
    pub fn new_random() -> Self {
        SystemId(uuid::Uuid::new_v4())
    }

    /// An id derived deterministically from `namespace` and `name` (UUID v5-like, SHA-256 based),
    /// so re-running an import gives the same ids. Used by importers for records whose source
    /// has no UUID.
    pub fn derived(namespace: &SystemId, name: &str) -> Self {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(namespace.0.as_bytes());
        h.update(name.as_bytes());
        let d = h.finalize();
        let mut b = [0u8; 16];
        b.copy_from_slice(&d[..16]);
        // RFC 4122 variant, version 5 (name-based) marker bits.
        b[6] = (b[6] & 0x0f) | 0x50;
        b[8] = (b[8] & 0x3f) | 0x80;
        SystemId(uuid::Uuid::from_bytes(b))
    }

    /// Parse the XSD `ID` pattern (`8-4-4-4-12` hex digits, any case).
    pub fn parse(s: &str) -> Result<Self> {
        if !is_uuid_pattern(s) {
            return Err(Error::invalid(
                "",
                "systemID",
                format!(
                    "{s:?} is not a UUID (8-4-4-4-12 hexadecimal digits) as Noark 5 v5.0 requires"
                ),
            ));
        }
        uuid::Uuid::parse_str(s)
            .map(SystemId)
            .map_err(|e| Error::invalid("", "systemID", format!("{s:?}: {e}")))
    }

    /// The UUID as a 128-bit number (compact key for large sets).
    pub fn as_u128(&self) -> u128 {
        self.0.as_u128()
    }
}

impl fmt::Display for SystemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

/// Whether `s` matches the metadatakatalog `ID` pattern exactly.
pub fn is_uuid_pattern(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_and_derivation() {
        let a = SystemId::new_random();
        assert!(is_uuid_pattern(&a.to_string()));
        assert_eq!(SystemId::parse(&a.to_string()).unwrap(), a);
        assert!(SystemId::parse("arkiv57d6608566c0b9.24287674").is_err());
        let d1 = SystemId::derived(&a, "sak:2023/1");
        assert_eq!(d1, SystemId::derived(&a, "sak:2023/1"));
        assert_ne!(d1, SystemId::derived(&a, "sak:2023/2"));
        assert!(is_uuid_pattern(&d1.to_string()));
    }
}
