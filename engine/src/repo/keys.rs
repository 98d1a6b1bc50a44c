//! Key management: several key files wrap the same key set, each under its own password.
//!
//! A key file is the key set sealed with a key derived from one password (`docs/FORMAT.md` §3),
//! so the files are independent: opening with one password never needs another, and no key
//! file says anything about another password. Each key file also carries a *label* (kind, name,
//! host, user, creation time) sealed to the data public key, so a full key lists every key and
//! a put-only key lists nothing (key management needs a full key).

use crate::backend::FileKind;
use crate::crypto::{self, KdfParams, KeyInfo, KeyKdf};
use crate::error::{Error, ErrorKind, Result};
use crate::id::FileId;

use super::Repository;

/// One key file, as `key list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    /// The key file's id (its name).
    pub id: String,
    /// Whether it is the key that opened this repository handle.
    pub current: bool,
    /// Key derivation from the plaintext header; `None` if the header is unreadable.
    pub kdf: Option<KeyKdf>,
    /// Kind, name, host, user, creation time from the key's label; `None` if it is unreadable.
    pub info: Option<KeyInfo>,
    /// File size in bytes.
    pub size: u64,
}

impl Repository {
    /// Every key file, sorted by id.
    pub async fn list_keys(&self) -> Result<Vec<KeyEntry>> {
        self.require_full("list keys")?;
        let mut names = self.backend.list(FileKind::Key).await?;
        names.sort();
        let mut out = Vec::with_capacity(names.len());
        for (name, size) in names {
            let current = name == self.key_id;
            let (kdf, info) = match self.backend.read(FileKind::Key, &name).await {
                Ok(bytes) => (
                    crypto::key_file_kdf(&bytes).ok(),
                    crypto::read_key_label(&self.keys, &bytes).ok(),
                ),
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            out.push(KeyEntry {
                info,
                id: name,
                current,
                kdf,
                size,
            });
        }
        Ok(out)
    }

    /// The Argon2id parameters of the current key file (new keys default to them); the
    /// defaults when it is a generated key.
    pub async fn current_kdf(&self) -> Result<KdfParams> {
        let bytes = self.backend.read(FileKind::Key, &self.key_id).await?;
        Ok(match crypto::key_file_kdf(&bytes)? {
            KeyKdf::Argon2id(p) => p,
            KeyKdf::Generated => KdfParams::DEFAULT,
        })
    }

    /// Resolve a full key id or a unique prefix of at least 4 hex characters.
    pub async fn find_key(&self, spec: &str) -> Result<String> {
        if spec.len() < 4 || !spec.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid(format!(
                "{spec:?} is not a key id: give at least 4 hex characters of an id from `hvelv key list`"
            )));
        }
        let spec = spec.to_ascii_lowercase();
        let names = self.backend.list(FileKind::Key).await?;
        let mut matches = names.into_iter().filter(|(n, _)| n.starts_with(&spec));
        match (matches.next(), matches.next()) {
            (Some((n, _)), None) => Ok(n),
            (None, _) => Err(Error::not_found(format!(
                "no key with id {spec} (see `hvelv key list`)"
            ))),
            (Some(_), Some(_)) => Err(Error::invalid(format!(
                "key id prefix {spec} is ambiguous; give more characters"
            ))),
        }
    }

    /// Remove a key file by id or prefix; returns its full id. Refuses the repository's last
    /// key and the key this handle was opened with (as restic does: open with another
    /// password to remove it, or use [`Repository::change_password`]).
    pub async fn remove_key(&self, spec: &str) -> Result<String> {
        self.require_full("remove keys")?;
        let id = self.find_key(spec).await?;
        let count = self.backend.list(FileKind::Key).await?.len();
        let short = &id[..8.min(id.len())];
        if count <= 1 {
            return Err(Error::invalid(format!(
                "refusing to remove key {short}: it is the repository's only key, and without \
                 it nobody could ever open the repository again. Add another password with \
                 `hvelv key add` first, or change this one with `hvelv key passwd`"
            )));
        }
        if id == self.key_id {
            return Err(Error::invalid(format!(
                "refusing to remove key {short}: it is the key this command opened the \
                 repository with. Run `hvelv key remove {short}` with another password, or use \
                 `hvelv key passwd` to replace this password"
            )));
        }
        self.backend
            .remove(FileKind::Key, &id)
            .await
            .map_err(|e| e.context(format!("removing key {short}")))?;
        Ok(id)
    }

    /// Replace the current password: add a key file for `password`, then remove the current
    /// key file, in that order, so a crash in between leaves both passwords working and never
    /// none. This handle continues with the new key; returns its id.
    pub async fn change_password(&mut self, password: &[u8], kdf: KdfParams) -> Result<FileId> {
        self.require_full("change passwords")?;
        let new = self.add_key(password, kdf).await?;
        let old = std::mem::replace(&mut self.key_id, new.to_hex());
        self.key_info = super::new_key_info(self.key_info.kind, "");
        self.backend
            .remove(FileKind::Key, &old)
            .await
            .map_err(|e| {
                e.context(format!(
                    "the new key {} was added, but the old key {} could not be removed (both \
                     passwords work now); remove it with `hvelv key remove {}`",
                    new.short(),
                    &old[..8.min(old.len())],
                    &old[..8.min(old.len())]
                ))
            })?;
        Ok(new)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::backend::{DynBackend, MemoryBackend};
    use crate::repo::InitOptions;

    pub(crate) const FAST: KdfParams = KdfParams {
        m_cost: 8 * 1024,
        t_cost: 1,
        p_cost: 1,
    };

    pub(crate) async fn repo(password: &[u8]) -> (DynBackend, Repository) {
        let be: DynBackend = Arc::new(MemoryBackend::new());
        let opts = InitOptions {
            kdf: FAST.into(),
            ..Default::default()
        };
        let r = Repository::init(be.clone(), password, opts).await.unwrap();
        (be, r)
    }

    #[tokio::test]
    async fn several_passwords_none_reveals_another() {
        let (be, a) = repo(b"password A").await;
        let b_id = a.add_key(b"password B", FAST).await.unwrap().to_hex();
        let a_id = a.key_id().to_owned();
        // Each key file opens with its own password only.
        let a_file = be.read(FileKind::Key, &a_id).await.unwrap();
        let b_file = be.read(FileKind::Key, &b_id).await.unwrap();
        for (file, wrong) in [(&a_file, &b"password B"[..]), (&b_file, b"password A")] {
            let e = crypto::unwrap_keys(file, wrong).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::WrongPassword);
        }
        let (ka, _) = crypto::unwrap_keys(&a_file, b"password A").unwrap();
        let (kb, _) = crypto::unwrap_keys(&b_file, b"password B").unwrap();
        assert_eq!((ka.meta, ka.id, ka.chunker), (kb.meta, kb.id, kb.chunker));

        // Opening with A never needs B's file: it works with B's file gone.
        let b_bytes = be.read(FileKind::Key, &b_id).await.unwrap();
        be.remove(FileKind::Key, &b_id).await.unwrap();
        let opened = Repository::open(be.clone(), b"password A").await.unwrap();
        assert_eq!(opened.key_id(), a_id);
        be.create(FileKind::Key, &b_id, b_bytes).await.unwrap();

        // With B, remove A's key file: B keeps working, A is gone, the data is the same.
        let with_b = Repository::open(be.clone(), b"password B").await.unwrap();
        assert_eq!(with_b.key_id(), b_id);
        assert_eq!(with_b.remove_key(&a_id[..6]).await.unwrap(), a_id);
        let e = Repository::open(be.clone(), b"password A")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WrongPassword);
        let again = Repository::open(be.clone(), b"password B").await.unwrap();
        assert_eq!(again.config().id, a.config().id);
    }

    #[tokio::test]
    async fn remove_key_refuses_last_and_current_key() {
        let (_be, a) = repo(b"pw A").await;
        let e = a.remove_key(a.key_id()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().contains("only key"), "{e}");
        let b = a.add_key(b"pw B", FAST).await.unwrap();
        let e = a.remove_key(&a.key_id()[..8]).await.unwrap_err();
        assert!(e.message().contains("opened the repository with"), "{e}");
        assert_eq!(
            a.remove_key("zz").await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let absent = ["0000", "1111", "2222"]
            .into_iter()
            .find(|p| !a.key_id().starts_with(p) && !b.to_hex().starts_with(p))
            .unwrap();
        assert_eq!(
            a.remove_key(absent).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(a.list_keys().await.unwrap().len(), 2);
        a.remove_key(&b.to_hex()).await.unwrap();
        assert_eq!(a.list_keys().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn list_keys_marks_the_current_key() {
        let (_be, a) = repo(b"pw A").await;
        let b = a.add_key(b"pw B", FAST).await.unwrap().to_hex();
        let keys = a.list_keys().await.unwrap();
        assert_eq!(keys.len(), 2);
        for k in &keys {
            assert_eq!(k.kdf, Some(KeyKdf::Argon2id(FAST)));
            assert_eq!(k.current, k.id == a.key_id());
            // A full key reads every key's label.
            assert_eq!(k.info.as_ref().unwrap().kind, crate::crypto::KeyKind::Full);
        }
        assert!(keys.iter().any(|k| k.id == b && !k.current));
        assert_eq!(a.current_kdf().await.unwrap(), FAST);
    }

    #[tokio::test]
    async fn put_only_keys_are_listed_by_full_keys_and_manage_nothing() {
        use crate::crypto::KeyKind;
        let (be, a) = repo(b"admin").await;
        let id = a
            .add_key_of(b"client", FAST.into(), KeyKind::PutOnly, "fileserver")
            .await
            .unwrap()
            .to_hex();
        let keys = a.list_keys().await.unwrap();
        let po = keys.iter().find(|k| k.id == id).unwrap();
        let info = po.info.as_ref().unwrap();
        assert_eq!(
            (info.kind, info.name.as_str()),
            (KeyKind::PutOnly, "fileserver")
        );

        let mut c = Repository::open(be.clone(), b"client").await.unwrap();
        assert_eq!(c.key_kind(), KeyKind::PutOnly);
        for e in [
            c.list_keys().await.unwrap_err(),
            c.add_key(b"x", FAST).await.unwrap_err(),
            c.remove_key(&a.key_id()[..8]).await.unwrap_err(),
            c.change_password(b"y", FAST).await.unwrap_err(),
            c.snapshots().await.unwrap_err(),
        ] {
            assert_eq!(e.kind(), ErrorKind::PutOnly, "{e}");
            assert!(e.message().contains("put-only key"), "{e}");
        }
        // Revoking: the full key removes it; the client's password opens nothing any more.
        a.remove_key(&id[..8]).await.unwrap();
        let e = Repository::open(be, b"client").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WrongPassword);
    }

    #[tokio::test]
    async fn change_password_replaces_the_key() {
        let (be, mut a) = repo(b"old pw").await;
        let old = a.key_id().to_owned();
        let new = a.change_password(b"new pw", FAST).await.unwrap();
        assert_eq!(a.key_id(), new.to_hex());
        let keys = a.list_keys().await.unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys[0].current && keys[0].id != old);
        let e = Repository::open(be.clone(), b"old pw").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WrongPassword);
        Repository::open(be, b"new pw").await.unwrap();
    }
}
