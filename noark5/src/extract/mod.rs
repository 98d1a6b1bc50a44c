//! Building an extract folder (the standard's `avleveringspakke` content).
//!
//! [`ExtractBuilder`] drives the streaming writers, copies documents into `DOKUMENT/`, spools the
//! journals, copies the schema set and writes arkivuttrekk.xml last, from the final bytes of
//! every file. Work happens in `<output>.partial`; only a complete extract is renamed to
//! `<output>`. A builder dropped before [`ExtractBuilder::finish`] (an error anywhere) removes
//! its partial folder, so no half-written extract is left looking complete.

mod spool;

use crate::codes::Periodeskille;
use crate::digest::sha256_file;
use crate::error::{Error, Result};
use crate::format::Sniffer;
use crate::id::SystemId;
use crate::model::{Arkiv, Arkivdel, Endring, Klasse, Klassifikasjonssystem, Mappe, Registrering};
use crate::schemas::{SchemaSet, ADDML_XSD};
use crate::time::Date;
use crate::xml::{
    write_arkivuttrekk, AddmlInfo, ArkivstrukturWriter, EndringsloggWriter, FileEntry, JournalHead,
};
use sha2::{Digest, Sha256};
use spool::JournalSpool;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The document folder's name (krav 6.4.15).
pub const DOCUMENT_DIR: &str = "DOKUMENT";

/// Settings of one extract.
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    /// The extract folder to create; it must not exist.
    pub output: PathBuf,
    /// The checked official schema set, copied into the extract.
    pub schemas: SchemaSet,
    /// ADDML systemName: the source system.
    pub system_name: String,
    /// ADDML systemType, e.g. «Sakarkiv (Noark-5)».
    pub system_type: String,
    /// Start of the extract's period.
    pub period_start: Date,
    /// End of the extract's period.
    pub period_end: Date,
    /// Periodisation at the start.
    pub inngaaende_skille: Periodeskille,
    /// Periodisation at the end.
    pub utgaaende_skille: Periodeskille,
    /// The journals' selection text; by default «journaldato START til END».
    pub seleksjon: Option<String>,
}

/// A document file copied into the extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    /// Path relative to the extract root, `/`-separated (referanseDokumentfil).
    pub referanse_dokumentfil: String,
    /// Lower-case hex SHA-256 of the copied bytes.
    pub sjekksum: String,
    /// Size in bytes.
    pub filstoerrelse: u64,
    /// The `format` value (the extension).
    pub format: String,
    /// The identified format with its PRONOM id (formatDetaljer).
    pub format_detaljer: String,
}

/// What a finished extract holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractSummary {
    /// The extract folder.
    pub path: PathBuf,
    /// What arkivuttrekk.xml says.
    pub addml: AddmlInfo,
    /// Number of journalposts (and journal entries).
    pub journalposter: u64,
    /// Number of endringslogg entries.
    pub endringer: u64,
}

/// Builds one extract. Call order: [`Self::create`], then arkivdel/klassifikasjonssystem/klasse
/// start and end calls around [`Self::write_mappe`] / [`Self::write_registrering`] (documents
/// stored with [`Self::store_document`] before the folder that references them is written),
/// [`Self::add_endring`] at any time, and [`Self::finish`].
pub struct ExtractBuilder {
    opts: ExtractOptions,
    partial: PathBuf,
    arkiv: Arkiv,
    writer: Option<ArkivstrukturWriter<BufWriter<File>>>,
    spool: Option<JournalSpool>,
    endringer: Option<EndringsloggWriter<BufWriter<File>>>,
    endring_refs: Vec<SystemId>,
    finished: bool,
}

impl ExtractBuilder {
    /// Create `<output>.partial` and start arkivstruktur.xml with the arkiv header.
    pub fn create(opts: ExtractOptions, arkiv: &Arkiv) -> Result<Self> {
        if opts.output.exists() {
            return Err(Error::Output {
                path: opts.output.clone(),
                message: "already exists; choose a new folder (an extract is never written over)"
                    .into(),
            });
        }
        let partial = partial_path(&opts.output);
        if partial.exists() {
            std::fs::remove_dir_all(&partial)
                .map_err(|e| Error::io("removing stale", &partial, e))?;
        }
        std::fs::create_dir_all(&partial).map_err(|e| Error::io("creating", &partial, e))?;
        let path = partial.join("arkivstruktur.xml");
        let f = File::create(&path).map_err(|e| Error::io("creating", &path, e))?;
        let mut b = ExtractBuilder {
            partial: partial.clone(),
            arkiv: arkiv.clone(),
            writer: None,
            spool: None,
            endringer: None,
            endring_refs: Vec::new(),
            finished: false,
            opts,
        };
        b.writer = Some(ArkivstrukturWriter::new(BufWriter::new(f), arkiv)?);
        b.spool = Some(JournalSpool::create(&partial)?);
        Ok(b)
    }

    fn w(&mut self) -> Result<&mut ArkivstrukturWriter<BufWriter<File>>> {
        self.writer
            .as_mut()
            .ok_or_else(|| Error::Order("the extract is already finished".into()))
    }

    /// See [`ArkivstrukturWriter::start_arkivdel`].
    pub fn start_arkivdel(&mut self, a: &Arkivdel) -> Result<()> {
        self.w()?.start_arkivdel(a)
    }
    /// See [`ArkivstrukturWriter::end_arkivdel`].
    pub fn end_arkivdel(&mut self) -> Result<()> {
        self.w()?.end_arkivdel()
    }
    /// See [`ArkivstrukturWriter::start_klassifikasjonssystem`].
    pub fn start_klassifikasjonssystem(&mut self, k: &Klassifikasjonssystem) -> Result<()> {
        self.w()?.start_klassifikasjonssystem(k)
    }
    /// See [`ArkivstrukturWriter::end_klassifikasjonssystem`].
    pub fn end_klassifikasjonssystem(&mut self) -> Result<()> {
        self.w()?.end_klassifikasjonssystem()
    }
    /// See [`ArkivstrukturWriter::start_klasse`].
    pub fn start_klasse(&mut self, k: &Klasse) -> Result<()> {
        self.w()?.start_klasse(k)
    }
    /// See [`ArkivstrukturWriter::end_klasse`].
    pub fn end_klasse(&mut self) -> Result<()> {
        self.w()?.end_klasse()
    }

    /// Write a folder subtree; its journalposts are spooled for the journals.
    pub fn write_mappe(&mut self, m: &Mappe) -> Result<()> {
        let entries = self.w()?.write_mappe(m)?;
        let spool = self
            .spool
            .as_mut()
            .ok_or_else(|| Error::Order("the extract is already finished".into()))?;
        for e in &entries {
            spool.push(e)?;
        }
        Ok(())
    }

    /// Write a registration directly under the open arkivdel or klasse.
    pub fn write_registrering(&mut self, r: &Registrering) -> Result<()> {
        self.w()?.write_registrering(r)
    }

    /// Whether `id` has been written to arkivstruktur.xml as a systemID.
    pub fn contains_id(&self, id: &SystemId) -> bool {
        self.writer.as_ref().is_some_and(|w| w.contains_id(id))
    }

    /// Log a change. Its referanseArkivenhet must be a systemID written to arkivstruktur.xml by
    /// the time [`Self::finish`] runs.
    pub fn add_endring(&mut self, e: &Endring) -> Result<()> {
        if self.endringer.is_none() {
            let path = self.partial.join("endringslogg.xml");
            let f = File::create(&path).map_err(|err| Error::io("creating", &path, err))?;
            self.endringer = Some(EndringsloggWriter::new(BufWriter::new(f))?);
        }
        if let Some(w) = self.endringer.as_mut() {
            w.write(e)?;
        }
        self.endring_refs.push(e.referanse_arkivenhet);
        Ok(())
    }

    /// Copy a document file into `DOKUMENT/<year>/<id>.<ext>`, identifying its format from its
    /// content and hashing it in the same pass. A file that is not in an archive format is
    /// refused with an error naming it; nothing is included silently.
    pub fn store_document(
        &mut self,
        src: &Path,
        id: SystemId,
        year: i32,
    ) -> Result<StoredDocument> {
        let rel_dir = format!("{DOCUMENT_DIR}/{year}");
        let dir = self.partial.join(&rel_dir);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating", &dir, e))?;
        let tmp = dir.join(format!(".{id}.tmp"));
        let mut input = File::open(src).map_err(|e| Error::Document {
            path: src.to_path_buf(),
            message: format!("cannot be opened ({e}); check the path in the source data"),
        })?;
        let mut out = File::create(&tmp).map_err(|e| Error::io("creating", &tmp, e))?;
        let mut sniff = Sniffer::new();
        let mut h = Sha256::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = input
                .read(&mut buf)
                .map_err(|e| Error::io("reading", src, e))?;
            if n == 0 {
                break;
            }
            let chunk = &buf[..n];
            sniff.update(chunk);
            h.update(chunk);
            out.write_all(chunk)
                .map_err(|e| Error::io("writing", &tmp, e))?;
            size += n as u64;
        }
        out.sync_data().map_err(|e| Error::io("syncing", &tmp, e))?;
        drop(out);
        let ident = sniff.finish();
        if !ident.is_archive_format() || size == 0 {
            let _ = std::fs::remove_file(&tmp);
            let what = if size == 0 {
                "an empty file".to_string()
            } else {
                ident.details()
            };
            return Err(Error::Document {
                path: src.to_path_buf(),
                message: format!(
                    "is {what}, which is not an archive format (riksarkivarens forskrift § 5-17: \
                     PDF/A-1a/1b/2a/2b/2u, TIFF, plain text, XML, PNG, JPEG). Convert it before \
                     extraction and record the conversion in konvertering."
                ),
            });
        }
        let name = format!("{id}.{}", ident.extension());
        let dest = dir.join(&name);
        std::fs::rename(&tmp, &dest).map_err(|e| Error::io("renaming", &tmp, e))?;
        Ok(StoredDocument {
            referanse_dokumentfil: format!("{rel_dir}/{name}"),
            sjekksum: hex::encode(h.finalize()),
            filstoerrelse: size,
            format: ident.extension().to_string(),
            format_detaljer: ident.details(),
        })
    }

    /// Close every file, copy the schemas, write arkivuttrekk.xml and move the extract into
    /// place.
    pub fn finish(mut self) -> Result<ExtractSummary> {
        let writer = self
            .writer
            .take()
            .ok_or_else(|| Error::Order("the extract is already finished".into()))?;
        for r in &self.endring_refs {
            if !writer.contains_id(r) {
                return Err(Error::invalid(
                    format!("endring of {r}"),
                    "referanseArkivenhet",
                    "refers to a systemID that is not in this extract's arkivstruktur.xml",
                ));
            }
        }
        if self.endring_refs.is_empty() {
            return Err(Error::invalid(
                "endringslogg.xml",
                "endring",
                "no change was logged: endringslogg.xml is mandatory in an extract (krav 6.4.15) \
                 and its schema needs at least one endring; supply the source system's change log",
            ));
        }
        let (bw, counts) = writer.finish()?;
        let path = self.partial.join("arkivstruktur.xml");
        let f = bw
            .into_inner()
            .map_err(|e| Error::io("writing", &path, e.into_error()))?;
        f.sync_all().map_err(|e| Error::io("syncing", &path, e))?;

        let spool = self
            .spool
            .take()
            .ok_or_else(|| Error::Order("the extract is already finished".into()))?;
        let journalposter = spool.len();
        if let Some((start, end)) = spool.date_range() {
            let head = JournalHead {
                journal_start_dato: start,
                journal_slutt_dato: end,
                seleksjon: Some(self.opts.seleksjon.clone().unwrap_or_else(|| {
                    format!(
                        "journaldato {} til {}",
                        crate::time::fmt_date(&self.opts.period_start),
                        crate::time::fmt_date(&self.opts.period_end)
                    )
                })),
                antall_journalposter: journalposter,
                arkivskapere: self.arkiv.arkivskapere.clone(),
            };
            let l = self.partial.join("loependeJournal.xml");
            let o = self.partial.join("offentligJournal.xml");
            spool.write_journals(&head, [&l, &o])?;
        } else {
            spool.discard()?;
        }

        let mut endringer = 0;
        if let Some(w) = self.endringer.take() {
            endringer = w.count();
            let path = self.partial.join("endringslogg.xml");
            let f = w
                .finish()?
                .into_inner()
                .map_err(|e| Error::io("writing", &path, e.into_error()))?;
            f.sync_all().map_err(|e| Error::io("syncing", &path, e))?;
        }

        let mut stems = vec!["arkivstruktur"];
        if endringer > 0 {
            stems.push("endringslogg");
        }
        if journalposter > 0 {
            stems.push("loependeJournal");
            stems.push("offentligJournal");
        }
        let mut xsds: Vec<String> = vec![ADDML_XSD.into(), "metadatakatalog.xsd".into()];
        xsds.extend(stems.iter().map(|s| format!("{s}.xsd")));
        for x in &xsds {
            let from = self.opts.schemas.file(x);
            let to = self.partial.join(x);
            std::fs::copy(&from, &to).map_err(|e| Error::io("copying schema", &from, e))?;
        }

        let sum = |name: &str| -> Result<String> { Ok(sha256_file(&self.partial.join(name))?.0) };
        let mut files = Vec::new();
        for (i, stem) in stems.iter().enumerate() {
            let occurrences = match *stem {
                "arkivstruktur" => vec![
                    ("mappe".to_string(), counts.mappe),
                    ("registrering".to_string(), counts.registrering),
                ],
                "endringslogg" => vec![("endring".to_string(), endringer)],
                _ => vec![("journalregistrering".to_string(), journalposter)],
            };
            files.push(FileEntry {
                name: stem.to_string(),
                checksum: sum(&format!("{stem}.xml"))?,
                schema_checksum: sum(&format!("{stem}.xsd"))?,
                metadatakatalog_checksum: if i == 0 {
                    Some(sum("metadatakatalog.xsd")?)
                } else {
                    None
                },
                occurrences,
            });
        }

        let doc_dir = self.partial.join(DOCUMENT_DIR);
        let mut antall_dokumentfiler = 0u64;
        if doc_dir.is_dir() {
            for entry in walkdir::WalkDir::new(&doc_dir) {
                let entry = entry.map_err(|e| Error::Io {
                    what: "listing",
                    path: doc_dir.clone(),
                    source: e.into(),
                })?;
                if entry.file_type().is_file() {
                    antall_dokumentfiler += 1;
                }
            }
        }
        let addml = AddmlInfo {
            record_creators: self
                .arkiv
                .arkivskapere
                .iter()
                .map(|a| a.arkivskaper_navn.clone())
                .collect(),
            system_type: self.opts.system_type.clone(),
            system_name: self.opts.system_name.clone(),
            archive: self.arkiv.tittel.clone(),
            start_date: self.opts.period_start,
            end_date: self.opts.period_end,
            version: "5.0".into(),
            inngaaende_skille: self.opts.inngaaende_skille,
            utgaaende_skille: self.opts.utgaaende_skille,
            inneholder_skjermet_informasjon: counts.skjerming > 0,
            omfatter_dokumenter_som_er_kassert: counts.utfoert_kassasjon > 0,
            inneholder_dokumenter_som_skal_kasseres: counts.kassasjon > 0,
            inneholder_virksomhetsspesifikke_metadata: false,
            antall_dokumentfiler,
            files,
        };
        let path = self.partial.join("arkivuttrekk.xml");
        let f = File::create(&path).map_err(|e| Error::io("creating", &path, e))?;
        let f = write_arkivuttrekk(BufWriter::new(f), &addml)?
            .into_inner()
            .map_err(|e| Error::io("writing", &path, e.into_error()))?;
        f.sync_all().map_err(|e| Error::io("syncing", &path, e))?;

        std::fs::rename(&self.partial, &self.opts.output)
            .map_err(|e| Error::io("renaming the finished extract to", &self.opts.output, e))?;
        if let Some(parent) = self.opts.output.parent() {
            if let Ok(d) = File::open(if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            }) {
                let _ = d.sync_all();
            }
        }
        self.finished = true;
        Ok(ExtractSummary {
            path: self.opts.output.clone(),
            addml,
            journalposter,
            endringer,
        })
    }
}

impl Drop for ExtractBuilder {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_dir_all(&self.partial);
        }
    }
}

/// `<output>.partial`.
pub fn partial_path(output: &Path) -> PathBuf {
    let mut name = output
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "extract".into());
    name.push(".partial");
    output.with_file_name(name)
}
