//! On-disk spool for journal entries: fragments are appended in arkivstruktur order and written
//! out sorted by (journalår, sekvensnummer) at the end. Memory holds only a 40-byte index entry
//! per journalpost.

use crate::error::{Error, Result};
use crate::xml::{JournalEntry, JournalKind, JournalWriter};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

struct IndexEntry {
    key: (i32, u64),
    offsets: [(u64, u32); 2],
}

/// The spool for both journals.
pub(crate) struct JournalSpool {
    paths: [PathBuf; 2],
    files: [BufWriter<File>; 2],
    lens: [u64; 2],
    index: Vec<IndexEntry>,
    min_date: Option<crate::time::Date>,
    max_date: Option<crate::time::Date>,
}

const KINDS: [JournalKind; 2] = [JournalKind::Loepende, JournalKind::Offentlig];

impl JournalSpool {
    pub(crate) fn create(dir: &Path) -> Result<Self> {
        let paths = [
            dir.join(".spool-loependeJournal"),
            dir.join(".spool-offentligJournal"),
        ];
        let open = |p: &Path| -> Result<BufWriter<File>> {
            File::create(p)
                .map(BufWriter::new)
                .map_err(|e| Error::io("creating", p, e))
        };
        Ok(JournalSpool {
            files: [open(&paths[0])?, open(&paths[1])?],
            paths,
            lens: [0, 0],
            index: Vec::new(),
            min_date: None,
            max_date: None,
        })
    }

    pub(crate) fn push(&mut self, e: &JournalEntry) -> Result<()> {
        let mut offsets = [(0u64, 0u32); 2];
        for (i, kind) in KINDS.iter().enumerate() {
            let frag = JournalWriter::<Vec<u8>>::render(*kind, e)?;
            self.files[i]
                .write_all(&frag)
                .map_err(|err| Error::io("writing", &self.paths[i], err))?;
            offsets[i] = (self.lens[i], frag.len() as u32);
            self.lens[i] += frag.len() as u64;
        }
        let d = e.post.journaldato;
        self.min_date = Some(self.min_date.map_or(d, |m| m.min(d)));
        self.max_date = Some(self.max_date.map_or(d, |m| m.max(d)));
        self.index.push(IndexEntry {
            key: e.sort_key(),
            offsets,
        });
        Ok(())
    }

    pub(crate) fn len(&self) -> u64 {
        self.index.len() as u64
    }

    pub(crate) fn date_range(&self) -> Option<(crate::time::Date, crate::time::Date)> {
        self.min_date.zip(self.max_date)
    }

    /// Write both journals sorted, then delete the spool files.
    pub(crate) fn write_journals(
        mut self,
        head: &crate::xml::JournalHead,
        out_paths: [&Path; 2],
    ) -> Result<()> {
        self.index.sort_by_key(|e| e.key);
        if let Some(w) = self.index.windows(2).find(|w| w[0].key == w[1].key) {
            return Err(Error::invalid(
                format!("journalpost {}/{}", w[0].key.0, w[0].key.1),
                "journalsekvensnummer",
                "two journalposts have the same journalår and sekvensnummer",
            ));
        }
        for (i, kind) in KINDS.iter().enumerate() {
            self.files[i]
                .flush()
                .map_err(|e| Error::io("writing", &self.paths[i], e))?;
            let mut src =
                File::open(&self.paths[i]).map_err(|e| Error::io("opening", &self.paths[i], e))?;
            let out =
                File::create(out_paths[i]).map_err(|e| Error::io("creating", out_paths[i], e))?;
            let mut w = JournalWriter::new(BufWriter::new(out), *kind, head)?;
            let mut buf = Vec::new();
            for e in &self.index {
                let (off, len) = e.offsets[i];
                buf.resize(len as usize, 0);
                src.seek(SeekFrom::Start(off))
                    .and_then(|_| src.read_exact(&mut buf))
                    .map_err(|err| Error::io("reading", &self.paths[i], err))?;
                w.write_fragment(&buf)?;
            }
            let bw = w.finish()?;
            let f = bw
                .into_inner()
                .map_err(|e| Error::io("writing", out_paths[i], e.into_error()))?;
            f.sync_all()
                .map_err(|e| Error::io("syncing", out_paths[i], e))?;
        }
        self.discard()
    }

    /// Delete the spool files.
    pub(crate) fn discard(self) -> Result<()> {
        for p in &self.paths {
            std::fs::remove_file(p).map_err(|e| Error::io("removing", p, e))?;
        }
        Ok(())
    }
}
