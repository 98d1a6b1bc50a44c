//! Archive snapshots: deposit packages and archive extracts kept for decades, with their fixity.
//!
//! An archive snapshot is an ordinary snapshot (its files are stored like any backup) whose
//! document carries an [`ArchiveTag`]. The tag names the package and refers to a **fixity
//! manifest**, a sealed record in `archive/` holding the reference the files are checked against:
//! each file's SHA-256 and size as the package itself documents them (METS for a DIAS package,
//! ADDML for an extract) and the SHA-256 of the whole tar. Every later check (`hvelv archive
//! verify`) and every removal is recorded as an [`Event`] in another sealed record, which is
//! never removed. The records are JSON (FORMAT.md §14); this module only stores and reads them,
//! the checks are the caller's (the CLI glues the Noark 5 library to the engine).
//!
//! Write order of `archive put`: manifest record, then the packs/index/snapshot of the backup,
//! then an ingestion event. A crash before the snapshot leaves an unreferenced manifest
//! (harmless, ignored); after the snapshot and before the event, `archive list` shows the
//! snapshot as never verified.

use serde::{Deserialize, Serialize};

use crate::backend::FileKind;
use crate::error::{Error, Result};
use crate::format::sealed::ARCHIVE_MAGIC;
use crate::id::FileId;
use crate::repo::Repository;

/// The mark of an archive snapshot, stored in the snapshot document (`"archive"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveTag {
    /// `package` (a DIAS tar and its description) or `extract` (an extract folder).
    pub kind: String,
    /// The package id (the tar's UUID) or, for an extract, a UUID assigned at `put`.
    pub package_id: String,
    /// The archive creator (arkivskaper).
    pub archive_creator: String,
    /// First day of the period (YYYY-MM-DD).
    pub period_start: String,
    /// Last day of the period (YYYY-MM-DD).
    pub period_end: String,
    /// The unit (administrative unit or archive part) the package covers, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Human-readable label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Id (hex) of the fixity manifest record in `archive/`.
    pub manifest: String,
}

impl ArchiveTag {
    /// The manifest record's id.
    pub fn manifest_id(&self) -> Result<FileId> {
        FileId::from_hex(&self.manifest)
            .map_err(|_| Error::corrupt("archive snapshot has a malformed manifest id"))
    }
}

/// One member of a stored tar as the package documents it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Path inside the package's top folder, e.g. `content/arkivstruktur.xml`.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Byte offset of the member's content in the tar (to name a member from a damaged range).
    pub offset: u64,
}

/// One stored file and its fixity reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// The file's absolute path in the snapshot.
    pub path: String,
    /// The name `archive get` gives it below the target (`{uuid}.tar`, `DOKUMENT/2023/x.pdf`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex SHA-256 of the whole file.
    pub sha256: String,
    /// Where the reference comes from: `METS` (a member or description entry matched it),
    /// `ADDML` (arkivuttrekk.xml documents it), or `put` (computed when stored).
    pub reference: String,
    /// For a package tar: every member with its METS size and SHA-256.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
}

/// The fixity reference of one archive snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The package id (as in the tag).
    pub package_id: String,
    /// When it was written (RFC 3339).
    pub created: String,
    /// Every stored file.
    pub files: Vec<ManifestFile>,
}

/// A PREMIS-style event about an archive snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Random event id (32 hex characters).
    pub id: String,
    /// `ingestion`, `fixity check` or `deletion`.
    pub event_type: String,
    /// When (RFC 3339).
    pub date: String,
    /// Who: program and version, user and host.
    pub agent: String,
    /// The snapshot (hex id).
    pub snapshot: String,
    /// The package id.
    pub package_id: String,
    /// `success` or `failure`.
    pub outcome: String,
    /// What was done (files and bytes checked; the reason of a deletion).
    pub detail: String,
    /// One line per failure, each naming the file (and tar member).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}

impl Event {
    /// A new event with a fresh id, dated now.
    pub fn new(event_type: &str, snapshot: &FileId, package_id: &str, agent: &str) -> Result<Self> {
        let mut id = [0u8; 16];
        crate::crypto::random_bytes(&mut id)?;
        Ok(Event {
            id: hex::encode(id),
            event_type: event_type.to_owned(),
            date: chrono::Local::now().to_rfc3339(),
            agent: agent.to_owned(),
            snapshot: snapshot.to_hex(),
            package_id: package_id.to_owned(),
            outcome: "success".into(),
            detail: String::new(),
            failures: Vec::new(),
        })
    }
    /// Whether the event's outcome is `success`.
    pub fn succeeded(&self) -> bool {
        self.outcome == "success"
    }
}

/// A record in `archive/` (the JSON payload of a sealed file with magic `HVELVARC`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ArchiveRecord {
    /// A fixity manifest, referenced by an [`ArchiveTag`].
    Manifest(Manifest),
    /// Events of one run (one `verify` run, one removal, one ingestion).
    Events {
        /// The events.
        events: Vec<Event>,
    },
}

impl ArchiveRecord {
    /// Encode as JSON.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("archive records serialize")
    }
    /// Decode from JSON; damaged or unknown input is [`crate::ErrorKind::Corrupt`].
    pub fn decode(b: &[u8]) -> Result<Self> {
        serde_json::from_slice(b).map_err(|e| Error::corrupt(format!("archive record: {e}")))
    }
}

impl Repository {
    /// Store an archive record (sealed, content-addressed, create-only); returns its id.
    pub async fn save_archive_record(&self, record: &ArchiveRecord) -> Result<FileId> {
        self.write_sealed(FileKind::Archive, ARCHIVE_MAGIC, record.encode())
            .await
    }

    /// Read one archive record, verified against its name and authenticated.
    pub async fn read_archive_record(&self, id: &FileId) -> Result<ArchiveRecord> {
        let name = id.to_hex();
        let payload = self
            .read_sealed(FileKind::Archive, ARCHIVE_MAGIC, &name)
            .await?;
        ArchiveRecord::decode(&payload)
            .map_err(|e| e.context(format!("archive record {}", id.short())))
    }

    /// Every event recorded in the repository, oldest first.
    pub async fn archive_events(&self) -> Result<Vec<Event>> {
        let mut out = Vec::new();
        for (name, _) in self.backend().list(FileKind::Archive).await? {
            let id = FileId::from_hex(&name)
                .map_err(|_| Error::corrupt(format!("archive/{name} is not a record name")))?;
            if let ArchiveRecord::Events { events } = self.read_archive_record(&id).await? {
                out.extend(events);
            }
        }
        out.sort_by(|a, b| {
            let t = |e: &Event| chrono::DateTime::parse_from_rfc3339(&e.date).ok();
            t(a).cmp(&t(b)).then_with(|| a.id.cmp(&b.id))
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::sealed;

    fn manifest() -> ArchiveRecord {
        ArchiveRecord::Manifest(Manifest {
            package_id: "7d3c".into(),
            created: "2026-11-27T10:00:00+00:00".into(),
            files: vec![ManifestFile {
                path: "/w/p/7d3c.tar".into(),
                name: "7d3c.tar".into(),
                size: 10240,
                sha256: "ab".repeat(32),
                reference: "METS".into(),
                members: vec![Member {
                    name: "content/arkivstruktur.xml".into(),
                    size: 3,
                    sha256: "cd".repeat(32),
                    offset: 512,
                }],
            }],
        })
    }

    #[test]
    fn records_round_trip_and_damage_is_an_error() {
        let m = manifest();
        assert_eq!(ArchiveRecord::decode(&m.encode()).unwrap(), m);
        let text = String::from_utf8(m.encode()).unwrap();
        assert!(text.starts_with(r#"{"type":"manifest""#), "{text}");
        let ev = Event::new("fixity check", &FileId::of(b"x"), "7d3c", "hvelv").unwrap();
        let e = ArchiveRecord::Events {
            events: vec![ev.clone()],
        };
        assert_eq!(ArchiveRecord::decode(&e.encode()).unwrap(), e);
        assert!(ev.succeeded());
        assert_eq!(
            ArchiveRecord::decode(br#"{"type":"other"}"#)
                .unwrap_err()
                .kind(),
            crate::ErrorKind::Corrupt
        );

        // Sealed: every truncation and every flipped bit is refused, without a panic.
        let keys = crate::crypto::KeySet::generate().unwrap();
        let sealer = keys.sealer();
        let file = sealed::seal_file(&sealer, ARCHIVE_MAGIC, &m.encode(), 3).unwrap();
        let open = |b: &[u8]| sealed::open_file(&sealer, ARCHIVE_MAGIC, b, "archive record");
        assert_eq!(ArchiveRecord::decode(&open(&file).unwrap()).unwrap(), m);
        for n in 0..file.len() {
            assert!(open(&file[..n]).is_err(), "truncated at {n}");
        }
        for bit in 0..file.len() * 8 {
            let mut f = file.clone();
            f[bit / 8] ^= 1 << (bit % 8);
            assert!(open(&f).is_err(), "bit {bit}");
        }
        // A snapshot cannot be passed off as an archive record.
        let snap = sealed::seal_file(&sealer, sealed::SNAPSHOT_MAGIC, &m.encode(), 0).unwrap();
        assert!(open(&snap).is_err());
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = ArchiveRecord::decode(&data);
        }
    }
}
