//! Opening, creating and reading a repository.
//!
//! Typestate: [`Repository`] is an opened repository (keys and config); [`IndexedRepository`]
//! additionally holds the loaded blob index and is what backup and restore need, so no
//! operation can run against an index that was not loaded.

mod keys;

use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::backend::{create_content_addressed, DynBackend, FileKind, ObjectLock};
use crate::blob::{open_blob, BlobType};
use crate::chunker::{Chunker, ChunkerParams};
use crate::config::{Config, DEFAULT_PACK_SIZE, DEFAULT_ZSTD_LEVEL, REPO_VERSION};
use crate::crypto::{self, KdfParams, KeyInfo, KeyKdf, KeyKind, KeySet, Opener, Sealer, Session};
use crate::error::{Error, ErrorKind, Result};
use crate::format::sealed::{self, CONFIG_MAGIC, INDEX_MAGIC, SNAPSHOT_MAGIC};
use crate::gc::GcState;
use crate::id::{BlobId, FileId};
use crate::index::{Index, IndexFile, IndexedPack};
use crate::pack::{self, TRAILER_LEN};
use crate::snapshot::{Snapshot, SnapshotEntry};
use crate::tree::Tree;

pub use keys::KeyEntry;

/// Parameters chosen at `init`.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Chunker sizes.
    pub chunker: ChunkerParams,
    /// Pack target size.
    pub pack_size: u32,
    /// zstd level.
    pub zstd_level: i32,
    /// How the first key's password is stretched: Argon2id, or none for a secret from
    /// [`crypto::generate_secret`].
    pub kdf: KeyKdf,
    /// Take the chunker parameters and the id and chunker keys from this repository, so that
    /// both cut and name data identically and `copy` keeps deduplication.
    pub copy_chunker_from: Option<Repository>,
    /// S3 Object Lock policy (WORM), recorded in the config so every client follows it.
    pub object_lock: Option<ObjectLock>,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            chunker: ChunkerParams::DEFAULT,
            pack_size: DEFAULT_PACK_SIZE,
            zstd_level: DEFAULT_ZSTD_LEVEL,
            kdf: KdfParams::DEFAULT.into(),
            copy_chunker_from: None,
            object_lock: None,
        }
    }
}

/// An opened repository: backend, keys and config.
#[derive(Debug, Clone)]
pub struct Repository {
    backend: DynBackend,
    keys: Arc<KeySet>,
    sealer: Sealer,
    opener: Opener,
    config: Config,
    key_id: String,
    key_info: KeyInfo,
}

/// Concurrency for reading many small files (index, snapshots, pack headers).
const LIST_CONCURRENCY: usize = 8;

fn new_key_info(kind: KeyKind, name: &str) -> KeyInfo {
    KeyInfo {
        kind,
        name: name.to_owned(),
        host: gethostname::gethostname().to_string_lossy().into_owned(),
        user: std::env::var("USER").unwrap_or_default(),
        created: chrono::Utc::now().timestamp(),
    }
}

impl Repository {
    /// Create a new repository at an empty location, protected by `password`.
    pub async fn init(
        backend: DynBackend,
        password: &[u8],
        opts: InitOptions,
    ) -> Result<Repository> {
        if password.is_empty() {
            return Err(Error::invalid("an empty password is not allowed"));
        }
        let mut rid = [0u8; 16];
        crypto::random_bytes(&mut rid)?;
        let chunker = match &opts.copy_chunker_from {
            Some(r) => r.config().chunker_params(),
            None => opts.chunker,
        };
        let config = Config {
            version: REPO_VERSION,
            id: hex::encode(rid),
            chunk_min: chunker.min,
            chunk_avg: chunker.avg,
            chunk_max: chunker.max,
            pack_size: opts.pack_size,
            zstd_level: opts.zstd_level,
            created: chrono::Local::now().to_rfc3339(),
            object_lock: opts.object_lock,
        };
        config.validate()?;
        if let KeyKdf::Argon2id(p) = opts.kdf {
            p.validate()?;
        }
        if let Some(p) = opts.object_lock {
            // Before the layout: it decides how files are created (DESIGN.md, "WORM").
            backend.set_object_lock(p).await?;
        }
        backend.create_layout().await?;
        let mut keys = KeySet::generate()?;
        if let Some(r) = &opts.copy_chunker_from {
            keys.id = r.keys().id;
            keys.chunker = r.keys().chunker;
        }
        let info = new_key_info(KeyKind::Full, "");
        let kf = crypto::wrap_keys(&keys, password, opts.kdf, &info)?;
        let key_id = FileId::of(&kf).to_hex();
        backend
            .create(FileKind::Key, &key_id, Bytes::from(kf))
            .await?;
        let sealer = keys.sealer();
        let cfg = sealed::seal_file(&sealer, CONFIG_MAGIC, &config.encode(), 0)?;
        backend
            .create(FileKind::Config, "config", Bytes::from(cfg))
            .await?;
        let keys = Arc::new(keys);
        Ok(Repository {
            backend,
            opener: Opener::new(keys.clone()),
            keys,
            sealer,
            config,
            key_id,
            key_info: info,
        })
    }

    /// Open an existing repository with `password`.
    pub async fn open(backend: DynBackend, password: &[u8]) -> Result<Repository> {
        let cfg_bytes = match backend.read(FileKind::Config, "config").await {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::not_found(format!(
                    "there is no hvelv repository at {} (create one with `hvelv init`)",
                    backend.location()
                )))
            }
            Err(e) => return Err(e),
        };
        let key_names = backend.list(FileKind::Key).await?;
        if key_names.is_empty() {
            return Err(Error::corrupt(format!(
                "the repository at {} has no key files",
                backend.location()
            )));
        }
        // Read every key file first (they are small) to try the cheap ones first: a generated
        // secret opens its key without any key derivation, and a chosen password never opens
        // a generated key, so neither should pay for the other's Argon2id.
        let generated = crypto::parse_generated_secret(password).is_some();
        let mut files = Vec::with_capacity(key_names.len());
        for (name, _) in &key_names {
            let kf = backend.read(FileKind::Key, name).await?;
            let is_generated = crypto::key_file_kdf(&kf).ok() == Some(KeyKdf::Generated);
            if is_generated && !generated {
                continue;
            }
            files.push((is_generated != generated, name, kf));
        }
        files.sort_by_key(|(later, _, _)| *later);
        let mut last_err = None;
        for (_, name, kf) in files {
            let pw = password.to_vec();
            let res = tokio::task::spawn_blocking(move || crypto::unwrap_keys(&kf, &pw))
                .await
                .map_err(|e| Error::new(ErrorKind::Io, format!("key task failed: {e}")))?;
            match res {
                Ok((keys, info)) => {
                    let sealer = keys.sealer();
                    let payload = sealed::open_file(&sealer, CONFIG_MAGIC, &cfg_bytes, "config")?;
                    let config = Config::decode(&payload)?;
                    if let Some(p) = config.object_lock {
                        backend.set_object_lock(p).await?;
                    }
                    let keys = Arc::new(keys);
                    return Ok(Repository {
                        backend,
                        opener: Opener::new(keys.clone()),
                        keys,
                        sealer,
                        config,
                        key_id: name.to_owned(),
                        key_info: info,
                    });
                }
                Err(e) if e.kind() == ErrorKind::WrongPassword => last_err = Some(e),
                Err(e) => {
                    tracing::warn!("key file {name} is unusable: {e}");
                    last_err.get_or_insert(e);
                }
            }
        }
        let _ = last_err;
        Err(Error::new(
            ErrorKind::WrongPassword,
            format!(
                "wrong password: none of the {} key file(s) in {} opens with the given password",
                key_names.len(),
                backend.location()
            ),
        ))
    }

    /// Add a full key file for another password; returns its id.
    pub async fn add_key(&self, password: &[u8], kdf: impl Into<KeyKdf>) -> Result<FileId> {
        self.add_key_of(password, kdf.into(), KeyKind::Full, "")
            .await
    }

    /// Add a key file of `kind` named `name` for another password; returns its id. A put-only
    /// key can only add backups (see `docs/SECURITY.md`). Needs a full key.
    pub async fn add_key_of(
        &self,
        password: &[u8],
        kdf: KeyKdf,
        kind: KeyKind,
        name: &str,
    ) -> Result<FileId> {
        self.require_full("add keys")?;
        if password.is_empty() {
            return Err(Error::invalid("an empty password is not allowed"));
        }
        let keys = match kind {
            KeyKind::Full => (*self.keys).clone(),
            KeyKind::PutOnly => self.keys.put_only(),
        };
        let kf = crypto::wrap_keys(&keys, password, kdf, &new_key_info(kind, name))?;
        let id = FileId::of(&kf);
        self.backend
            .create(FileKind::Key, &id.to_hex(), Bytes::from(kf))
            .await?;
        Ok(id)
    }

    /// The backend.
    pub fn backend(&self) -> &DynBackend {
        &self.backend
    }
    /// The keys.
    pub fn keys(&self) -> &Arc<KeySet> {
        &self.keys
    }
    /// The meta-key cipher context (config, index, job and prune records).
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }
    /// Opens what sessions sealed (blobs, pack headers, snapshots); needs a full key.
    pub fn opener(&self) -> &Opener {
        &self.opener
    }
    /// Start a writer session: blobs, packs and snapshots written with it are readable with
    /// a full key only.
    pub fn session(&self) -> Result<Session> {
        self.keys.session()
    }
    /// Full or put-only: what the key that opened the repository may do.
    pub fn key_kind(&self) -> KeyKind {
        self.keys.kind()
    }
    /// Refuse `what` (e.g. "restore") with a clear [`ErrorKind::PutOnly`] error unless the
    /// repository was opened with a full key.
    pub fn require_full(&self, what: &str) -> Result<()> {
        match self.keys.kind() {
            KeyKind::Full => Ok(()),
            KeyKind::PutOnly => Err(crypto::put_only_refusal(what)),
        }
    }
    /// The config.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// Id of the key file that opened the repository.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
    /// Host, user and creation time recorded in the key file that opened the repository.
    pub fn key_info(&self) -> &KeyInfo {
        &self.key_info
    }
    /// The repository's chunker.
    pub fn chunker(&self) -> Result<Chunker> {
        Chunker::new(self.config.chunker_params(), &self.keys.chunker)
    }

    /// Read and decode a sealed file.
    pub(crate) async fn read_sealed(
        &self,
        kind: FileKind,
        magic: &'static [u8; 8],
        name: &str,
    ) -> Result<Vec<u8>> {
        let (bytes, what) = self.read_named(kind, name).await?;
        let sealer = self.sealer.clone();
        tokio::task::spawn_blocking(move || sealed::open_file(&sealer, magic, &bytes, &what))
            .await
            .map_err(|e| Error::new(ErrorKind::Io, format!("decode task failed: {e}")))?
    }

    pub(crate) async fn write_sealed(
        &self,
        kind: FileKind,
        magic: &'static [u8; 8],
        payload: Vec<u8>,
    ) -> Result<FileId> {
        let sealer = self.sealer.clone();
        let level = self.config.zstd_level.max(1);
        let bytes =
            tokio::task::spawn_blocking(move || sealed::seal_file(&sealer, magic, &payload, level))
                .await
                .map_err(|e| Error::new(ErrorKind::Io, format!("encode task failed: {e}")))??;
        self.store_named(kind, bytes).await
    }

    /// Read a content-addressed file and check it against its name; also returns how errors
    /// should name it (e.g. "index file 1a2b3c4d").
    async fn read_named(&self, kind: FileKind, name: &str) -> Result<(Bytes, String)> {
        let bytes = self.backend.read(kind, name).await?;
        if FileId::of(&bytes).to_hex() != name {
            return Err(Error::corrupt(format!(
                "{kind} file {name} does not match its name (damaged)"
            )));
        }
        Ok((bytes, format!("{kind} file {}", &name[..8.min(name.len())])))
    }

    /// Store a content-addressed file under the hash of its bytes.
    async fn store_named(&self, kind: FileKind, bytes: Vec<u8>) -> Result<FileId> {
        let id = FileId::of(&bytes);
        create_content_addressed(&*self.backend, kind, &id.to_hex(), Bytes::from(bytes)).await?;
        Ok(id)
    }

    /// Store an index file.
    pub async fn save_index(&self, file: &IndexFile) -> Result<FileId> {
        self.write_sealed(FileKind::Index, INDEX_MAGIC, file.encode())
            .await
    }

    /// Store a snapshot; written last, after its packs and index. It is sealed with a fresh
    /// session, so only full keys can read it (put-only keys write it too).
    pub async fn save_snapshot(&self, snap: &Snapshot) -> Result<FileId> {
        let session = self.session()?;
        let payload = snap.encode();
        let level = self.config.zstd_level.max(1);
        let bytes = tokio::task::spawn_blocking(move || {
            sealed::seal_session_file(&session, SNAPSHOT_MAGIC, &payload, level)
        })
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("encode task failed: {e}")))??;
        self.store_named(FileKind::Snapshot, bytes).await
    }

    /// Read, verify and decode one snapshot file by name.
    pub(crate) async fn read_snapshot(&self, name: &str) -> Result<Snapshot> {
        let (bytes, what) = self.read_named(FileKind::Snapshot, name).await?;
        let short = &name[..8.min(name.len())];
        let opener = self.opener.clone();
        let payload = tokio::task::spawn_blocking(move || {
            sealed::open_session_file(&opener, SNAPSHOT_MAGIC, &bytes, &what)
        })
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("decode task failed: {e}")))??;
        Snapshot::decode(&payload).map_err(|e| e.context(format!("snapshot {short}")))
    }

    /// Remove a snapshot file. Protection is the caller's decision (`forget` plans with
    /// [`crate::ops::forget::plan`], explicit removal checks
    /// [`crate::ops::forget::check_explicit`]); the data stays until prune.
    pub async fn remove_snapshot(&self, id: &FileId) -> Result<()> {
        self.require_full("remove snapshots")?;
        self.backend
            .remove(FileKind::Snapshot, &id.to_hex())
            .await
            .map_err(|e| e.context(format!("removing snapshot {}", id.short())))
    }

    /// Protect a snapshot from `forget`, or lift the protection. Snapshot files are immutable,
    /// so this writes a rewritten snapshot that names the old id in `replaces`, then removes
    /// the old file; returns the new entry (the same one if nothing changes). After a crash
    /// between the two steps both files exist; `forget` removes the superseded one.
    pub async fn set_protected(
        &self,
        entry: &SnapshotEntry,
        protected: bool,
    ) -> Result<SnapshotEntry> {
        if entry.snapshot.protected == protected {
            return Ok(entry.clone());
        }
        let snapshot = Snapshot {
            protected,
            replaces: Some(entry.id.to_hex()),
            // The identity `copy` recognises stays that of the first write.
            original: Some(
                entry
                    .snapshot
                    .original
                    .clone()
                    .unwrap_or_else(|| entry.id.to_hex()),
            ),
            ..entry.snapshot.clone()
        };
        let id = self.save_snapshot(&snapshot).await?;
        match self.remove_snapshot(&entry.id).await {
            // WORM: the old file stays until its retention expires; `forget` removes it then
            // (a snapshot named in `replaces` is superseded and counted once).
            Err(e) if e.kind() == ErrorKind::Locked => {
                tracing::warn!("{e}");
                return Ok(SnapshotEntry { id, snapshot });
            }
            r => r,
        }
        .map_err(|e| {
            e.context(format!(
                "snapshot {} was rewritten as {}, but the old file remains (harmless; \
                 `hvelv forget` removes it)",
                entry.id.short(),
                id.short()
            ))
        })?;
        Ok(SnapshotEntry { id, snapshot })
    }

    /// All snapshots, oldest first. Unreadable snapshot files are errors.
    pub async fn snapshots(&self) -> Result<Vec<SnapshotEntry>> {
        self.require_full("list or read snapshots")?;
        let names = self.backend.list(FileKind::Snapshot).await?;
        let mut out: Vec<SnapshotEntry> = stream::iter(names)
            .map(|(name, _)| async move {
                let snapshot = self.read_snapshot(&name).await?;
                Ok::<_, Error>(SnapshotEntry {
                    id: FileId::from_hex(&name)?,
                    snapshot,
                })
            })
            .buffer_unordered(LIST_CONCURRENCY)
            .try_collect()
            .await?;
        out.sort_by_key(|a| (a.snapshot.datetime(), a.id));
        Ok(out)
    }

    /// Find a snapshot by `latest`, a full id, or a unique id prefix (at least 4 characters).
    /// `host` restricts `latest` to one host.
    pub async fn find_snapshot(&self, spec: &str, host: Option<&str>) -> Result<SnapshotEntry> {
        let all = self.snapshots().await?;
        if spec == "latest" {
            return all
                .into_iter()
                .rev()
                .find(|s| host.is_none_or(|h| s.snapshot.host == h))
                .ok_or_else(|| Error::not_found("the repository has no snapshots yet"));
        }
        if spec.len() < 4 || !spec.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid(format!(
                "{spec:?} is not a snapshot id: give `latest` or at least 4 hex characters of an id from `hvelv snapshots`"
            )));
        }
        let spec = spec.to_ascii_lowercase();
        let mut matches = all.into_iter().filter(|s| s.id.to_hex().starts_with(&spec));
        match (matches.next(), matches.next()) {
            (Some(s), None) => Ok(s),
            (None, _) => Err(Error::not_found(format!("no snapshot with id {spec}"))),
            (Some(_), Some(_)) => Err(Error::invalid(format!(
                "snapshot id prefix {spec} is ambiguous; give more characters"
            ))),
        }
    }

    /// Pair the repository with an index built elsewhere (by `check` and `repair`, which load
    /// index files one by one and tolerate damaged ones). Prune records are not consulted: the
    /// result is for reading, not for deduplication.
    pub fn with_index(self, index: Index) -> IndexedRepository {
        IndexedRepository {
            repo: self,
            index: Arc::new(index),
            gc: Arc::new(GcState::default()),
        }
    }

    /// Read and decode every index file, with its name.
    pub async fn read_index_files(&self) -> Result<Vec<(String, IndexFile)>> {
        let names = self.backend.list(FileKind::Index).await?;
        stream::iter(names)
            .map(|(name, _)| async move {
                let payload = self
                    .read_sealed(FileKind::Index, INDEX_MAGIC, &name)
                    .await?;
                let f = IndexFile::decode(&payload)
                    .map_err(|e| e.context(format!("index file {}", &name[..8])))?;
                Ok::<_, Error>((name, f))
            })
            .buffer_unordered(LIST_CONCURRENCY)
            .try_collect()
            .await
    }

    /// Load every index file (typestate step to [`IndexedRepository`]). Packs that prune has
    /// scheduled for deletion stay readable but are not used for deduplication.
    pub async fn load_index(self) -> Result<IndexedRepository> {
        let gc = GcState::load(&self).await?;
        let files = self.read_index_files().await?;
        let index = Index::from_files(files.iter().map(|(_, f)| f), &gc.doomed_packs());
        Ok(IndexedRepository {
            repo: self,
            index: Arc::new(index),
            gc: Arc::new(gc),
        })
    }
}

/// A repository with its index loaded.
#[derive(Debug, Clone)]
pub struct IndexedRepository {
    repo: Repository,
    index: Arc<Index>,
    gc: Arc<GcState>,
}

impl std::ops::Deref for IndexedRepository {
    type Target = Repository;
    fn deref(&self) -> &Repository {
        &self.repo
    }
}

/// Result of [`IndexedRepository::recover_unindexed_packs`].
#[derive(Debug, Default, Clone)]
pub struct Recovery {
    /// Packs found without an index entry and indexed now.
    pub packs_recovered: usize,
    /// Packs that could not be read (left alone; `hvelv check` reports them).
    pub packs_unreadable: Vec<String>,
}

impl IndexedRepository {
    /// The loaded index.
    pub fn index(&self) -> &Arc<Index> {
        &self.index
    }

    /// The prune records seen when the index was loaded or last refreshed.
    pub fn gc_state(&self) -> &Arc<GcState> {
        &self.gc
    }

    /// Store a snapshot written by a job that holds a marker (backup, copy): refuse it if a
    /// prune started deleting a generation this job never saw, checked before and after the
    /// write (a prune that considered the job dead may start in between; then the snapshot is
    /// removed again). See [`crate::gc`].
    pub async fn commit_snapshot(&self, snap: &Snapshot) -> Result<FileId> {
        let known = self.gc.known();
        crate::gc::ensure_not_overtaken(&self.repo, &known).await?;
        let id = self.save_snapshot(snap).await?;
        if let Err(e) = crate::gc::ensure_not_overtaken(&self.repo, &known).await {
            let _ = self
                .backend()
                .remove(FileKind::Snapshot, &id.to_hex())
                .await;
            return Err(e);
        }
        Ok(id)
    }

    /// Read the prune records again and stop deduplicating against packs newly scheduled for
    /// deletion. A backup calls this after creating its job marker (see [`crate::gc`]).
    pub async fn refresh_gc(&mut self) -> Result<()> {
        let gc = GcState::load(&self.repo).await?;
        let doomed = gc.doomed_packs();
        if doomed != self.gc.doomed_packs() {
            let mut idx = (*self.index).clone();
            idx.mark_doomed(&doomed);
            self.index = Arc::new(idx);
        }
        self.gc = Arc::new(gc);
        Ok(())
    }

    /// Replace the in-memory index (after a backup added packs).
    pub fn set_index(&mut self, index: Index) {
        self.index = Arc::new(index);
    }

    /// Read, verify and decrypt one blob.
    pub async fn read_blob(&self, ty: BlobType, id: &BlobId) -> Result<Vec<u8>> {
        let loc = self.index.get(id).ok_or_else(|| {
            Error::not_found(format!(
                "{} blob {} is not in the index",
                ty.as_str(),
                id.short()
            ))
        })?;
        let pack = self.index.pack_id(loc.pack);
        let sealed = self
            .backend()
            .read_range(
                FileKind::Pack,
                &pack.to_hex(),
                u64::from(loc.offset),
                u64::from(loc.length),
            )
            .await
            .map_err(|e| e.context(format!("pack {}", pack.short())))?;
        let keys = self.keys().clone();
        let sealer = self.opener().session(&self.index.pack_session(loc.pack))?;
        let id = *id;
        tokio::task::spawn_blocking(move || open_blob(&keys, &sealer, ty, &id, &sealed))
            .await
            .map_err(|e| Error::new(ErrorKind::Io, format!("decode task failed: {e}")))?
            .map_err(|e| e.context(format!("pack {}", pack.short())))
    }

    /// Read a tree blob.
    pub async fn read_tree(&self, id: &BlobId) -> Result<Tree> {
        let b = self.read_blob(BlobType::Tree, id).await?;
        Tree::decode(&b).map_err(|e| e.context(format!("tree {}", id.short())))
    }

    /// Index packs that exist but no index file lists (left by an interrupted backup), so the
    /// next backup reuses their blobs. Writes one index file for them.
    pub async fn recover_unindexed_packs(&mut self) -> Result<Recovery> {
        if self.key_kind() == KeyKind::PutOnly {
            // Pack headers are sealed to the data key: only a full-key job (backup, `repair
            // index`) can index such packs. Their blobs are stored again meanwhile.
            return Ok(Recovery::default());
        }
        let packs = self.backend().list(FileKind::Pack).await?;
        // Packs scheduled for deletion may have lost their index entries already; never revive them.
        let doomed = self.gc.doomed_packs();
        let missing: Vec<(String, u64)> = packs
            .into_iter()
            .filter(|(n, _)| {
                FileId::from_hex(n)
                    .map(|id| !self.index.has_pack(&id) && !doomed.contains(&id))
                    .unwrap_or(false)
            })
            .collect();
        let mut rec = Recovery::default();
        if missing.is_empty() {
            return Ok(rec);
        }
        let this = &*self;
        let results: Vec<(String, Result<pack::PackHeader>)> = stream::iter(missing)
            .map(|(name, size)| async move {
                let r = this.read_pack_header(&name, size).await;
                (name, r)
            })
            .buffer_unordered(LIST_CONCURRENCY)
            .collect()
            .await;
        let mut file = IndexFile::default();
        for (name, r) in results {
            match r {
                Ok(h) => file.packs.push(IndexedPack {
                    id: FileId::from_hex(&name)?,
                    session: h.session,
                    entries: h.entries,
                }),
                Err(e) => {
                    tracing::warn!("pack {name} without index entry is unreadable: {e}");
                    rec.packs_unreadable.push(name);
                }
            }
        }
        if !file.packs.is_empty() {
            rec.packs_recovered = file.packs.len();
            self.save_index(&file).await?;
            let mut idx = (*self.index).clone();
            idx.merge(&file);
            self.index = Arc::new(idx);
        }
        Ok(rec)
    }

    /// Read and authenticate a pack's header using only its tail.
    pub async fn read_pack_header(&self, name: &str, size: u64) -> Result<pack::PackHeader> {
        if size < TRAILER_LEN as u64 {
            return Err(Error::corrupt(format!(
                "pack {name} is truncated ({size} bytes)"
            )));
        }
        let be = self.backend();
        let t = be
            .read_range(
                FileKind::Pack,
                name,
                size - TRAILER_LEN as u64,
                TRAILER_LEN as u64,
            )
            .await?;
        let t = pack::parse_trailer(&t, size)?;
        let hl = u64::from(t.header_len);
        let hstart = size - TRAILER_LEN as u64 - hl;
        let h = be.read_range(FileKind::Pack, name, hstart, hl).await?;
        pack::parse_header(self.opener(), &t.session, &h, hstart)
            .map_err(|e| e.context(format!("pack {name}")))
    }
}

#[cfg(test)]
mod tests {
    use super::keys::tests::repo;
    use super::*;
    use crate::snapshot::Summary;

    fn snapshot() -> Snapshot {
        Snapshot {
            time: "2026-01-04T00:30:00+01:00".into(),
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
        }
    }

    #[tokio::test]
    async fn protect_rewrites_and_an_interrupted_rewrite_is_superseded() {
        let (_be, r) = repo(b"pw").await;
        let id = r.save_snapshot(&snapshot()).await.unwrap();
        let entry = SnapshotEntry {
            id,
            snapshot: snapshot(),
        };
        let p = r.set_protected(&entry, true).await.unwrap();
        assert_ne!(p.id, id);
        assert!(p.snapshot.protected);
        assert_eq!(p.snapshot.replaces_id(), Some(id));
        assert_eq!(p.snapshot.original, Some(id.to_hex()));
        assert_eq!(r.snapshots().await.unwrap(), vec![p.clone()]);
        // Already protected: nothing is written.
        assert_eq!(r.set_protected(&p, true).await.unwrap(), p);
        let u = r.set_protected(&p, false).await.unwrap();
        assert!(!u.snapshot.protected);
        assert_eq!(r.snapshots().await.unwrap(), vec![u.clone()]);

        // A crash between writing the rewrite and removing the old file leaves both.
        let rewrite = Snapshot {
            protected: true,
            replaces: Some(u.id.to_hex()),
            ..u.snapshot.clone()
        };
        let rid = r.save_snapshot(&rewrite).await.unwrap();
        let all = r.snapshots().await.unwrap();
        assert_eq!(all.len(), 2);
        let policy = crate::ops::forget::KeepPolicy {
            last: crate::ops::forget::Count::Upto(1),
            ..Default::default()
        };
        let plan = crate::ops::forget::plan(
            all.iter().map(Into::into).collect(),
            &policy,
            Default::default(),
            chrono::Utc::now(),
        )
        .unwrap();
        let removed: Vec<_> = plan.removals().map(|p| p.snapshot.id).collect();
        assert_eq!(removed, vec![u.id]);
        r.remove_snapshot(&u.id).await.unwrap();
        assert_eq!(r.snapshots().await.unwrap()[0].id, rid);
        let e = r.remove_snapshot(&u.id).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }
}
