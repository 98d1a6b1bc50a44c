//! `drill`: the regular proof that a restore would work.
//!
//! A drill picks a random sample of regular files and one whole small folder from a snapshot,
//! restores them into a scratch directory with [`super::restore::restore`], and then verifies
//! what landed on disk independently of the restore: each file is read back, cut with the
//! repository's chunker and hashed with its id key, and the resulting chunk ids and size must
//! equal the content list recorded in the snapshot's tree. The restore already authenticates
//! every blob it reads; the drill adds the end-to-end check that the bytes written to the file
//! system are the bytes that were backed up.
//!
//! Sampling is uniform (reservoir sampling over one walk of the snapshot's trees) and
//! deterministic for a given seed, so a failing drill can be repeated exactly.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::restore::{restore, RestoreOptions};
use crate::chunker::{ChunkReader, Chunker};
use crate::crypto::KeySet;
use crate::error::{Error, ErrorKind, Result};
use crate::id::BlobId;
use crate::progress::NoProgress;
use crate::repo::IndexedRepository;
use crate::snapshot::SnapshotEntry;
use crate::tree::{Node, NodeKind};

/// What to sample.
#[derive(Debug, Clone)]
pub struct DrillOptions {
    /// Regular files to restore and verify one by one.
    pub files: usize,
    /// Largest folder (in regular files directly inside it) chosen as the whole-folder sample;
    /// 0 disables the folder sample. Only folders without subfolders are candidates.
    pub folder_max_files: usize,
    /// Seed of the sample (the same seed and snapshot give the same sample).
    pub seed: u64,
}

impl Default for DrillOptions {
    fn default() -> Self {
        DrillOptions {
            files: 20,
            folder_max_files: 50,
            seed: 0,
        }
    }
}

/// The outcome of one drill.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DrillOutcome {
    /// The snapshot drilled (hex id).
    pub snapshot: String,
    /// Regular files in the snapshot (the population sampled from).
    pub files_in_snapshot: u64,
    /// Sampled single files.
    pub sample: Vec<String>,
    /// The folder restored as a whole, if any qualified.
    pub folder: Option<String>,
    /// Regular files verified (sample plus folder content).
    pub files_verified: u64,
    /// Bytes of the verified files.
    pub bytes_verified: u64,
    /// Every problem, naming the file. Empty means the drill passed.
    pub failures: Vec<String>,
    /// Seed used.
    pub seed: u64,
}

impl DrillOutcome {
    /// True when every sampled file was restored and matched its recorded content.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// SplitMix64: small, seedable, good enough to pick samples.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0); the modulo bias is irrelevant for sampling.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Reservoir of at most `cap` items, each item seen so far equally likely to be in it.
struct Reservoir<T> {
    cap: usize,
    seen: u64,
    items: Vec<T>,
}

impl<T> Reservoir<T> {
    fn new(cap: usize) -> Self {
        Reservoir {
            cap,
            seen: 0,
            items: Vec::new(),
        }
    }
    fn offer(&mut self, rng: &mut Rng, item: T) {
        self.seen += 1;
        if self.items.len() < self.cap {
            self.items.push(item);
        } else if self.cap > 0 {
            let j = rng.below(self.seen);
            if (j as usize) < self.cap {
                self.items[j as usize] = item;
            }
        }
    }
}

/// Restore a random sample of `snap` into `scratch` (created; the caller removes it) and verify
/// it against the recorded chunk ids. Problems with single files are listed in the outcome;
/// an `Err` means the drill could not run at all (unreadable trees, scratch not writable).
pub async fn drill(
    repo: &IndexedRepository,
    snap: &SnapshotEntry,
    scratch: &Path,
    opts: &DrillOptions,
) -> Result<DrillOutcome> {
    let mut rng = Rng(opts.seed);
    let mut files: Reservoir<(String, Node)> = Reservoir::new(opts.files);
    let mut folders: Reservoir<(String, Vec<Node>)> = Reservoir::new(1);
    let mut total_files = 0u64;
    // Depth-first walk; paths that are not UTF-8 cannot be named to restore and are skipped.
    let mut stack: Vec<(String, BlobId)> = vec![(String::new(), snap.snapshot.tree_id()?)];
    while let Some((dir, id)) = stack.pop() {
        let tree = repo.read_tree(&id).await?;
        let mut leaf = true;
        let mut here = Vec::new();
        for n in &tree.nodes {
            let Ok(name) = std::str::from_utf8(&n.name) else {
                continue;
            };
            let path = format!("{dir}/{name}");
            match n.kind() {
                NodeKind::Dir => {
                    leaf = false;
                    if let Some(sub) = n.subtree {
                        stack.push((path, sub));
                    }
                }
                NodeKind::File => {
                    total_files += 1;
                    files.offer(&mut rng, (path, n.clone()));
                    here.push(n.clone());
                }
                _ => {}
            }
        }
        if leaf && !dir.is_empty() && !here.is_empty() && here.len() <= opts.folder_max_files {
            folders.offer(&mut rng, (dir, here));
        }
    }

    let mut out = DrillOutcome {
        snapshot: snap.id.to_hex(),
        files_in_snapshot: total_files,
        seed: opts.seed,
        ..DrillOutcome::default()
    };
    std::fs::create_dir_all(scratch).map_err(|e| {
        Error::io(
            format!("creating the drill folder {}", scratch.display()),
            e,
        )
    })?;
    let ropts = RestoreOptions {
        numeric_ids: true,
        ..RestoreOptions::default()
    };
    // (where the file should now be, what the snapshot says it holds, its snapshot path)
    let mut to_verify: Vec<(PathBuf, Node, String)> = Vec::new();
    for (i, (path, node)) in files.items.into_iter().enumerate() {
        let target = scratch.join("files").join(i.to_string());
        match restore(
            repo,
            snap,
            Some(&path),
            &target,
            &ropts,
            Arc::new(NoProgress),
        )
        .await
        {
            Ok(r) if r.errors.is_empty() => {
                let local = target.join(std::ffi::OsStr::new(
                    std::str::from_utf8(&node.name).unwrap_or_default(),
                ));
                to_verify.push((local, node, path.clone()));
            }
            Ok(r) => out.failures.extend(r.errors),
            Err(e) => out.failures.push(format!("{path}: restore failed: {e}")),
        }
        out.sample.push(path);
    }
    if let Some((dir, nodes)) = folders.items.pop() {
        let target = scratch.join("folder");
        match restore(
            repo,
            snap,
            Some(&dir),
            &target,
            &ropts,
            Arc::new(NoProgress),
        )
        .await
        {
            Ok(r) => {
                out.failures.extend(r.errors);
                for n in nodes {
                    let name = std::str::from_utf8(&n.name).unwrap_or_default().to_owned();
                    to_verify.push((target.join(&name), n, format!("{dir}/{name}")));
                }
            }
            Err(e) => out.failures.push(format!("{dir}: restore failed: {e}")),
        }
        out.folder = Some(dir);
    }

    let keys = repo.keys().clone();
    let chunker = repo.chunker()?;
    let (verified, bytes, failures) =
        tokio::task::spawn_blocking(move || verify_files(&keys, &chunker, &to_verify))
            .await
            .map_err(|e| Error::new(ErrorKind::Io, format!("drill verifier failed: {e}")))?;
    out.files_verified = verified;
    out.bytes_verified = bytes;
    out.failures.extend(failures);
    Ok(out)
}

/// Re-chunk and hash each restored file; compare with the recorded content list and size.
fn verify_files(
    keys: &KeySet,
    chunker: &Chunker,
    files: &[(PathBuf, Node, String)],
) -> (u64, u64, Vec<String>) {
    let (mut ok, mut bytes, mut failures) = (0u64, 0u64, Vec::new());
    for (local, node, snap_path) in files {
        match verify_file(keys, chunker, local, node) {
            Ok(()) => {
                ok += 1;
                bytes += node.size;
            }
            Err(e) => failures.push(format!("{snap_path}: {e}")),
        }
    }
    (ok, bytes, failures)
}

fn verify_file(keys: &KeySet, chunker: &Chunker, local: &Path, node: &Node) -> Result<()> {
    let f = std::fs::File::open(local)
        .map_err(|e| Error::io(format!("restored copy {} unreadable", local.display()), e))?;
    let mut size = 0u64;
    let mut ids = Vec::with_capacity(node.content.len());
    for chunk in ChunkReader::new(chunker, f.take(node.size.saturating_add(1))) {
        let chunk = chunk.map_err(|e| Error::io(format!("reading {}", local.display()), e))?;
        size += chunk.len() as u64;
        ids.push(keys.blob_id(&chunk));
    }
    if size != node.size {
        return Err(Error::corrupt(format!(
            "restored size {size} differs from the recorded size {}",
            node.size
        )));
    }
    if ids != node.content {
        let at = ids
            .iter()
            .zip(&node.content)
            .position(|(a, b)| a != b)
            .unwrap_or(ids.len().min(node.content.len()));
        return Err(Error::corrupt(format!(
            "restored content differs from the recorded content hashes (first at chunk {at} of {})",
            node.content.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservoir_is_deterministic_and_bounded() {
        let pick = |seed| {
            let mut rng = Rng(seed);
            let mut r = Reservoir::new(3);
            for i in 0..100 {
                r.offer(&mut rng, i);
            }
            r.items
        };
        assert_eq!(pick(7), pick(7));
        assert_eq!(pick(7).len(), 3);
        assert_ne!(pick(7), pick(8));
        let mut rng = Rng(1);
        let mut r = Reservoir::new(5);
        r.offer(&mut rng, 1);
        assert_eq!(r.items, vec![1]);
    }

    #[test]
    fn verification_catches_changed_and_truncated_files() {
        let keys = KeySet::generate().unwrap();
        let chunker = Chunker::new(crate::chunker::ChunkerParams::default(), &[7u8; 32]).unwrap();
        // Longer than the largest chunk (8 MiB), so there are at least two.
        let mut rng = Rng(3);
        let data: Vec<u8> = (0..(9u64 << 20) / 8)
            .flat_map(|_| rng.next().to_le_bytes())
            .collect();
        let node = Node {
            name: b"f".to_vec(),
            kind: Some(NodeKind::File),
            size: data.len() as u64,
            content: chunker.chunks(&data).map(|c| keys.blob_id(c)).collect(),
            ..Node::default()
        };
        assert!(node.content.len() > 1);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, &data).unwrap();
        verify_file(&keys, &chunker, &p, &node).unwrap();

        let mut bad = data.clone();
        bad[2_500_000] ^= 1;
        std::fs::write(&p, &bad).unwrap();
        let e = verify_file(&keys, &chunker, &p, &node).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        assert!(e.to_string().contains("recorded content hashes"), "{e}");

        std::fs::write(&p, &data[..1000]).unwrap();
        let e = verify_file(&keys, &chunker, &p, &node).unwrap_err();
        assert!(e.to_string().contains("restored size 1000"), "{e}");
        let (ok, _, failures) =
            verify_files(&keys, &chunker, &[(p.clone(), node.clone(), "/s/f".into())]);
        assert_eq!((ok, failures.len()), (0, 1));
        assert!(failures[0].starts_with("/s/f: "));
        std::fs::remove_file(&p).unwrap();
        assert!(verify_file(&keys, &chunker, &p, &node).is_err());
    }

    #[test]
    fn reservoir_is_roughly_uniform() {
        let mut hits = [0u32; 10];
        for seed in 0..2000 {
            let mut rng = Rng(seed);
            let mut r = Reservoir::new(1);
            for i in 0..10 {
                r.offer(&mut rng, i);
            }
            hits[r.items[0]] += 1;
        }
        assert!(hits.iter().all(|&h| (120..=280).contains(&h)), "{hits:?}");
    }
}
