//! Reading packs in full (`check --read-data`) and the record of which pack was verified when
//! (`check --read-data-budget`).
//!
//! The record is a sealed file of kind [`FileKind::Verify`] (magic `HVELVVFY`, FORMAT.md §12)
//! whose payload lists `(pack id, verified at)`. It is written content-addressed and create-only
//! like every other file; the files it supersedes are removed only after it is stored, so a crash
//! leaves two records, which readers merge (latest time per pack wins). Packs no longer in the
//! repository are dropped when a record is written.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::backend::FileKind;
use crate::blob::open_blob;
use crate::crypto::Opener;
use crate::error::{Error, Result};
use crate::format::codec::{Reader, Writer};
use crate::format::sealed::VERIFY_MAGIC;
use crate::id::{BlobId, FileId};
use crate::index::IndexedPack;
use crate::pack::{self, PackEntry};
use crate::repo::Repository;

/// How much `check` reads in full.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReadData {
    /// Structure only: pack headers, no blob contents.
    None,
    /// Every pack.
    All,
    /// Packs verified longest ago first, up to a budget.
    Budget(Budget),
}

/// A per-run read budget: bytes or a percentage of the repository's pack bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    /// At most (about) this many bytes: packs are taken until the sum reaches it.
    Bytes(u64),
    /// This percentage (0 < p <= 100) of the total size of all packs.
    Percent(f64),
}

impl FromStr for Budget {
    type Err = Error;
    /// `2G`, `500M`, `123456`, `10%`, `2.5%` (binary units K, M, G, T).
    fn from_str(s: &str) -> Result<Budget> {
        let s = s.trim();
        let bad = || {
            Error::invalid(format!(
                "{s:?} is not a read budget: give a size (500M, 2G) or a percentage (10%)"
            ))
        };
        if let Some(p) = s.strip_suffix('%') {
            let v: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(v > 0.0 && v <= 100.0) {
                return Err(Error::invalid(format!(
                    "read budget {s}: the percentage must be above 0 and at most 100"
                )));
            }
            return Ok(Budget::Percent(v));
        }
        let (num, mult) = match s.char_indices().last() {
            Some((i, c)) if c.is_ascii_alphabetic() => {
                let m: u64 = match c.to_ascii_uppercase() {
                    'B' => 1,
                    'K' => 1 << 10,
                    'M' => 1 << 20,
                    'G' => 1 << 30,
                    'T' => 1 << 40,
                    _ => return Err(bad()),
                };
                (&s[..i], m)
            }
            _ => (s, 1),
        };
        let n: u64 = num.trim().parse().map_err(|_| bad())?;
        match n.checked_mul(mult) {
            Some(0) => Err(Error::invalid("a read budget of 0 bytes verifies nothing")),
            Some(b) => Ok(Budget::Bytes(b)),
            None => Err(bad()),
        }
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Budget::Bytes(b) => write!(f, "{b} bytes"),
            Budget::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Budget {
    /// The budget in bytes for a repository with `total` pack bytes (at least 1).
    pub fn bytes(self, total: u64) -> u64 {
        match self {
            Budget::Bytes(b) => b.max(1),
            Budget::Percent(p) => ((total as f64 * p / 100.0).ceil() as u64).max(1),
        }
    }

    /// Runs after which every pack of a repository of `total` bytes has been verified (for a
    /// repository that does not change in between). Each run takes packs until it has read at
    /// least the budget, always the ones verified longest ago, so `ceil(total / budget)` runs
    /// cover everything; for a percentage that is `ceil(100 / p)` whatever the size.
    pub fn runs_for_full_coverage(self, total: u64) -> u64 {
        match self {
            Budget::Percent(p) => ((100.0 / p) - 1e-9).ceil().max(1.0) as u64,
            Budget::Bytes(b) => total.div_ceil(b.max(1)).max(1),
        }
    }
}

/// Which pack was last verified when (milliseconds since the Unix epoch).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyState {
    /// Pack → time of its last clean verification.
    pub packs: BTreeMap<FileId, i64>,
}

impl VerifyState {
    /// Encode the payload: `u8 version = 1, u32 n, n × (pack id [32], i64 ms)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(5 + self.packs.len() * 40);
        w.u8(1).u32(self.packs.len() as u32);
        for (id, t) in &self.packs {
            w.raw(&id.0).i64(*t);
        }
        w.finish()
    }

    /// Decode the payload; never panics.
    pub fn decode(buf: &[u8]) -> Result<VerifyState> {
        let mut r = Reader::new(buf, "verification record");
        let v = r.u8()?;
        if v != 1 {
            return Err(Error::new(
                crate::ErrorKind::Unsupported,
                format!("verification record version {v}"),
            ));
        }
        let n = r.count(40)?;
        let mut packs = BTreeMap::new();
        for _ in 0..n {
            let id = FileId(r.array()?);
            let t = r.i64()?;
            packs.insert(id, t);
        }
        r.end()?;
        Ok(VerifyState { packs })
    }

    /// Merge another record: the later time per pack wins.
    pub fn merge(&mut self, other: &VerifyState) {
        for (id, t) in &other.packs {
            let e = self.packs.entry(*id).or_insert(*t);
            *e = (*e).max(*t);
        }
    }
}

/// The merged verification record and the names of the files it came from.
pub(crate) struct LoadedState {
    pub state: VerifyState,
    pub files: Vec<String>,
    /// Records that could not be read (ignored; replaced by the next write).
    pub unreadable: Vec<(String, Error)>,
}

pub(crate) async fn load_state(repo: &Repository) -> Result<LoadedState> {
    let names = repo.backend().list(FileKind::Verify).await?;
    let mut out = LoadedState {
        state: VerifyState::default(),
        files: Vec::new(),
        unreadable: Vec::new(),
    };
    for (name, _) in names {
        let r = repo
            .read_sealed(FileKind::Verify, VERIFY_MAGIC, &name)
            .await
            .and_then(|p| VerifyState::decode(&p));
        match r {
            Ok(s) => out.state.merge(&s),
            Err(e) => out.unreadable.push((name.clone(), e)),
        }
        out.files.push(name);
    }
    Ok(out)
}

/// The verification record as stored (all records merged) and the number of record files.
pub async fn recorded(repo: &Repository) -> Result<(VerifyState, usize)> {
    let l = load_state(repo).await?;
    Ok((l.state, l.files.len()))
}

/// Store `state` (restricted to `present` packs) as a new record, then remove `old` records.
pub(crate) async fn save_state(
    repo: &Repository,
    mut state: VerifyState,
    present: &dyn Fn(&FileId) -> bool,
    old: &[String],
) -> Result<FileId> {
    state.packs.retain(|id, _| present(id));
    let id = repo
        .write_sealed(FileKind::Verify, VERIFY_MAGIC, state.encode())
        .await?;
    let new = id.to_hex();
    for name in old.iter().filter(|n| **n != new) {
        match repo.backend().remove(FileKind::Verify, name).await {
            Ok(()) => {}
            // Held by Object Lock: readers merge records, so keeping it costs nothing.
            Err(e)
                if matches!(
                    e.kind(),
                    crate::ErrorKind::NotFound | crate::ErrorKind::Locked
                ) => {}
            Err(e) => return Err(e.context("removing a superseded verification record")),
        }
    }
    Ok(id)
}

/// Choose the packs to read this run: never verified first, then longest ago, until at least
/// `budget` bytes are chosen (the last pack may exceed it).
pub(crate) fn select(
    packs: &[(FileId, u64)],
    state: &VerifyState,
    budget: u64,
) -> Vec<(FileId, u64)> {
    let mut order: Vec<(Option<i64>, FileId, u64)> = packs
        .iter()
        .map(|(id, size)| (state.packs.get(id).copied(), *id, *size))
        .collect();
    order.sort();
    let mut acc = 0u64;
    let mut out = Vec::new();
    for (_, id, size) in order {
        if acc >= budget {
            break;
        }
        acc += size;
        out.push((id, size));
    }
    out
}

/// Coverage of the verification record over the current packs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    /// Packs read in full this run.
    pub packs_verified: usize,
    /// Their bytes.
    pub bytes_verified: u64,
    /// Packs in the repository.
    pub packs_total: usize,
    /// Their bytes.
    pub bytes_total: u64,
    /// Packs with a clean verification on record (this run included).
    pub packs_covered: usize,
    /// Their bytes.
    pub bytes_covered: u64,
    /// Oldest verification on record among current packs (RFC 3339), if every pack has one.
    pub oldest_verification: Option<String>,
    /// The budget of this run in bytes (`None` for a full `--read-data`).
    pub budget_bytes: Option<u64>,
    /// At this budget, every pack is verified once every this many runs.
    pub runs_for_full_coverage: Option<u64>,
}

/// What reading one pack in full found.
#[derive(Debug, Default)]
pub(crate) struct PackVerdict {
    /// Problems with the pack as a whole (hash, header).
    pub pack_errors: Vec<String>,
    /// Blobs that fail authentication or are out of bounds.
    pub damaged: Vec<(BlobId, String)>,
    /// The pack's header, if it can be read.
    pub header: Option<pack::PackHeader>,
}

impl PackVerdict {
    pub fn is_clean(&self) -> bool {
        self.pack_errors.is_empty() && self.damaged.is_empty()
    }
}

/// Verify a whole pack held in memory: its name, its header against `indexed` (the index's
/// entries for it, if any) and every blob (AEAD tag and content id). Pure CPU work.
pub(crate) fn verify_pack(
    opener: &Opener,
    id: &FileId,
    bytes: &[u8],
    indexed: Option<&IndexedPack>,
) -> PackVerdict {
    let keys = opener.keys();
    let mut v = PackVerdict::default();
    if FileId::of(bytes) != *id {
        v.pack_errors
            .push("its content does not match its name".to_owned());
    }
    let header = pack::read_header(opener, bytes);
    let (session, entries): (Option<[u8; 32]>, Vec<PackEntry>) = match (&header, indexed) {
        (Ok(h), Some(ix)) => {
            if !same_entries(&h.entries, &ix.entries) || h.session != ix.session {
                v.pack_errors
                    .push("its header does not match the index".to_owned());
            }
            (Some(ix.session), ix.entries.clone())
        }
        (Ok(h), None) => (Some(h.session), h.entries.clone()),
        (Err(e), ix) => {
            v.pack_errors
                .push(format!("its header cannot be read ({e})"));
            match ix {
                Some(ix) => (Some(ix.session), ix.entries.clone()),
                None => (None, Vec::new()),
            }
        }
    };
    v.header = header.ok();
    let sealer = match session.map(|s| opener.session(&s)) {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            v.pack_errors
                .push(format!("its session key cannot be derived ({e})"));
            return v;
        }
        None => return v,
    };
    for e in entries {
        let start = e.offset as usize;
        let Some(sealed) = start
            .checked_add(e.length as usize)
            .and_then(|end| bytes.get(start..end))
        else {
            v.damaged
                .push((e.id, "lies beyond the end of the pack".to_owned()));
            continue;
        };
        if let Err(err) = open_blob(keys, &sealer, e.ty, &e.id, sealed) {
            v.damaged.push((e.id, err.to_string()));
        }
    }
    v
}

/// True if a header and an index list the same blobs at the same places.
pub(crate) fn same_entries(a: &[PackEntry], b: &[PackEntry]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by_key(|e| (e.offset, e.id));
    b.sort_by_key(|e| (e.offset, e.id));
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_parsing() {
        assert_eq!("10%".parse::<Budget>().unwrap(), Budget::Percent(10.0));
        assert_eq!("2G".parse::<Budget>().unwrap(), Budget::Bytes(2 << 30));
        assert_eq!("500M".parse::<Budget>().unwrap(), Budget::Bytes(500 << 20));
        assert_eq!("4096".parse::<Budget>().unwrap(), Budget::Bytes(4096));
        for bad in ["", "0", "0%", "101%", "-5%", "x", "10Q", "%"] {
            assert!(bad.parse::<Budget>().is_err(), "{bad}");
        }
        assert_eq!(Budget::Percent(10.0).runs_for_full_coverage(1), 10);
        assert_eq!(Budget::Percent(30.0).runs_for_full_coverage(1), 4);
        assert_eq!(Budget::Bytes(100).runs_for_full_coverage(1000), 10);
        assert_eq!(Budget::Bytes(100).runs_for_full_coverage(1001), 11);
        assert_eq!(Budget::Percent(10.0).bytes(1001), 101);
    }

    #[test]
    fn state_round_trip_merge_and_selection() {
        let mut s = VerifyState::default();
        s.packs.insert(FileId([1; 32]), 5);
        s.packs.insert(FileId([2; 32]), 9);
        let b = s.encode();
        assert_eq!(VerifyState::decode(&b).unwrap(), s);
        for cut in 0..b.len() {
            assert!(VerifyState::decode(&b[..cut]).is_err());
        }
        let mut t = VerifyState::default();
        t.packs.insert(FileId([1; 32]), 7);
        t.packs.insert(FileId([3; 32]), 1);
        s.merge(&t);
        assert_eq!(s.packs[&FileId([1; 32])], 7);
        assert_eq!(s.packs.len(), 3);
        // Never verified (4) first, then oldest (3 at t=1, 1 at t=7).
        let packs = [
            (FileId([1; 32]), 10),
            (FileId([3; 32]), 10),
            (FileId([4; 32]), 10),
        ];
        let sel = select(&packs, &s, 15);
        assert_eq!(sel, vec![(FileId([4; 32]), 10), (FileId([3; 32]), 10)]);
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = VerifyState::decode(&data);
        }
    }
}
