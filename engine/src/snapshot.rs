//! Snapshots: one backup run's metadata, stored as a sealed JSON document.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::{BlobId, FileId};

/// What a backup did, recorded in its snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Files seen for the first time (no parent entry).
    pub files_new: u64,
    /// Files whose content was read again because they changed.
    pub files_changed: u64,
    /// Files taken over from the parent snapshot without reading.
    pub files_unchanged: u64,
    /// Directories.
    pub dirs: u64,
    /// Other entries (symlinks, devices, fifos, sockets).
    pub others: u64,
    /// Entries that could not be read and were skipped.
    pub errors: u64,
    /// Total size of the files in the snapshot.
    pub bytes_total: u64,
    /// Bytes read from the source.
    pub bytes_read: u64,
    /// Plaintext bytes of new blobs (after dedup).
    pub bytes_added: u64,
    /// Bytes of new blobs as stored (after dedup, compression and encryption).
    pub bytes_stored: u64,
    /// New blobs stored.
    pub blobs_added: u64,
    /// Packs written.
    pub packs_written: u64,
    /// Start of the backup (RFC 3339).
    pub started: String,
    /// Duration in seconds.
    pub seconds: f64,
}

/// A snapshot document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Snapshot time (RFC 3339 with offset).
    pub time: String,
    /// Host name.
    pub host: String,
    /// User who ran the backup.
    pub user: String,
    /// The backed-up paths, absolute.
    pub paths: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Root tree blob (its entries mirror the absolute paths).
    pub tree: String,
    /// Parent snapshot used for change detection, if any.
    #[serde(default)]
    pub parent: Option<String>,
    /// Summary of the run.
    pub summary: Summary,
    /// Program and version that wrote it.
    pub program: String,
    /// Protected from removal by `forget` until unprotected (omitted from the JSON when false,
    /// so unprotected snapshots encode as before).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protected: bool,
    /// For a rewritten snapshot (protect/unprotect): the id of the snapshot file it replaces.
    /// A rewrite writes the new file first and then removes the old one, so after a crash in
    /// between both exist; readers treat the one named here as superseded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// The snapshot this one derives from: set by `copy` (the source's id, so a copy is
    /// recognised later), kept through protect/unprotect rewrites, and set by `repair snapshots`
    /// to the damaged snapshot's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<String>,
    /// For a snapshot written by `repair snapshots`: what was left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repaired: Option<RepairNote>,
    /// Set on an archive snapshot (`hvelv archive put`): the package it holds and its fixity
    /// manifest. Archive snapshots are never removed by `forget`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<crate::archive::ArchiveTag>,
}

/// What `repair snapshots` removed from a snapshot (lists capped at [`RepairNote::MAX_PATHS`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairNote {
    /// When the repair was made (RFC 3339).
    pub time: String,
    /// Files dropped because some of their content is lost.
    pub dropped_files: Vec<String>,
    /// Number of dropped files (the list may be shorter).
    pub dropped_total: u64,
    /// Directories whose listing was lost, kept as empty directories.
    pub emptied_dirs: Vec<String>,
    /// Number of emptied directories (the list may be shorter).
    pub emptied_total: u64,
}

impl RepairNote {
    /// Longest path list kept in a snapshot document.
    pub const MAX_PATHS: usize = 1000;
}

impl Snapshot {
    /// The root tree id.
    pub fn tree_id(&self) -> Result<BlobId> {
        BlobId::from_hex(&self.tree).map_err(|_| Error::corrupt("snapshot has a malformed tree id"))
    }
    /// Encode as JSON.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("snapshot serializes")
    }
    /// Decode from JSON.
    pub fn decode(b: &[u8]) -> Result<Self> {
        serde_json::from_slice(b).map_err(|e| Error::corrupt(format!("snapshot document: {e}")))
    }
    /// The id of the snapshot this one replaces, if it is a rewrite; a malformed id is `None`.
    pub fn replaces_id(&self) -> Option<FileId> {
        self.replaces
            .as_deref()
            .and_then(|h| FileId::from_hex(h).ok())
    }
    /// Parsed time, for sorting and grouping.
    pub fn datetime(&self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        chrono::DateTime::parse_from_rfc3339(&self.time).ok()
    }
}

/// A snapshot with the id of the file that stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotEntry {
    /// File id (the snapshot's id).
    pub id: FileId,
    /// The document.
    pub snapshot: Snapshot,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_input() {
        let s = Snapshot {
            time: "2026-11-27T04:00:00+01:00".into(),
            host: "h".into(),
            user: "u".into(),
            paths: vec!["/srv".into()],
            tags: vec![],
            tree: "00".repeat(32),
            parent: None,
            summary: Summary::default(),
            program: "hvelv".into(),
            protected: false,
            replaces: None,
            original: None,
            repaired: None,
            archive: None,
        };
        assert_eq!(Snapshot::decode(&s.encode()).unwrap(), s);
        // The lifecycle fields are omitted when unset, so older readers and older files agree.
        let text = String::from_utf8(s.encode()).unwrap();
        assert!(
            !text.contains("protected")
                && !text.contains("original")
                && !text.contains("replaces")
                && !text.contains("archive")
        );
        let a = Snapshot {
            archive: Some(crate::archive::ArchiveTag {
                kind: "package".into(),
                package_id: "7d3c".into(),
                archive_creator: "Eksempel kommune".into(),
                period_start: "2020-01-01".into(),
                period_end: "2023-12-31".into(),
                unit: None,
                label: None,
                manifest: "ef".repeat(32),
            }),
            ..s.clone()
        };
        assert_eq!(Snapshot::decode(&a.encode()).unwrap(), a);
        let p = Snapshot {
            protected: true,
            replaces: Some("ab".repeat(32)),
            original: Some("cd".repeat(32)),
            ..s.clone()
        };
        assert_eq!(Snapshot::decode(&p.encode()).unwrap(), p);
        assert_eq!(p.replaces_id().unwrap().to_hex(), "ab".repeat(32));
        assert!(s.datetime().is_some());
        assert_eq!(
            Snapshot::decode(b"{").unwrap_err().kind(),
            crate::ErrorKind::Corrupt
        );
        let bad = Snapshot {
            tree: "zz".into(),
            ..s
        };
        assert!(bad.tree_id().is_err());
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = Snapshot::decode(&data);
            let _ = crate::config::Config::decode(&data);
        }
    }
}
