//! Writers for loependeJournal.xml and offentligJournal.xml.
//!
//! Both journals hold the same entries (journalposts only, sorted by journalår and
//! sekvensnummer) and the same header. The public journal has no full `tittel`: it shows
//! `offentligTittel` (screened words already `*****`), and a screened correspondent name becomes
//! `*****` (krav 5.2.6/5.2.9). A class whose ID or title is screened is left out of the public
//! journal. Only the elements common to the 2019 and the 2023 revision of the journal XSDs are
//! written, so the output validates against both.
//!
//! Entries are rendered to byte fragments one at a time ([`JournalWriter::render`]) so that a
//! builder can spool them to disk, sort a small index and write the journals without holding
//! the entries in memory.

use super::{XmlOut, NS_LOEPENDE_JOURNAL, NS_OFFENTLIG_JOURNAL, SCREENED};
use crate::codes::{Grad, Korrespondanseparttype, SkjermingMetadata};
use crate::error::{Error, Result};
use crate::id::SystemId;
use crate::model::{Arkivskaper, Skjerming};
use crate::time::{fmt_date, Date};
use std::io::Write;

/// Which journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalKind {
    /// loependeJournal.xml: the full running journal.
    Loepende,
    /// offentligJournal.xml: the public journal.
    Offentlig,
}

impl JournalKind {
    /// The root element and file stem.
    pub fn root(self) -> &'static str {
        match self {
            JournalKind::Loepende => "loependeJournal",
            JournalKind::Offentlig => "offentligJournal",
        }
    }

    fn namespace(self) -> &'static str {
        match self {
            JournalKind::Loepende => NS_LOEPENDE_JOURNAL,
            JournalKind::Offentlig => NS_OFFENTLIG_JOURNAL,
        }
    }
}

/// The journal header.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalHead {
    /// Earliest journaldato of the entries.
    pub journal_start_dato: Date,
    /// Latest journaldato of the entries.
    pub journal_slutt_dato: Date,
    /// The selection criterion, e.g. «journaldato 2023-01-01 til 2023-12-31».
    pub seleksjon: Option<String>,
    /// Number of entries.
    pub antall_journalposter: u64,
    /// The archive creators.
    pub arkivskapere: Vec<Arkivskaper>,
}

/// The class of a journal entry, as the journals show it.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalKlasse {
    /// klasseID.
    pub klasse_id: String,
    /// Class title.
    pub tittel: String,
    /// The class's skjermingMetadata values (running journal only).
    pub skjerming_metadata: Vec<SkjermingMetadata>,
    /// Whether the class ID or title is screened (then it is left out of the public journal).
    pub screened: bool,
}

/// The case of a journal entry.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalSak {
    /// saksaar.
    pub saksaar: i32,
    /// sakssekvensnummer.
    pub sakssekvensnummer: u64,
    /// Full title (running journal only).
    pub tittel: String,
    /// Screened title; `Some` only when the title is screened.
    pub offentlig_tittel: Option<String>,
    /// The first skjermingMetadata of the case.
    pub skjerming_metadata: Option<SkjermingMetadata>,
}

/// The journalpost of a journal entry.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalPost {
    /// systemID.
    pub system_id: SystemId,
    /// journalaar.
    pub journalaar: i32,
    /// journalsekvensnummer.
    pub journalsekvensnummer: u64,
    /// journalpostnummer.
    pub journalpostnummer: u64,
    /// Full title (running journal only).
    pub tittel: String,
    /// Screened title; `Some` only when the title is screened.
    pub offentlig_tittel: Option<String>,
    /// The registration's screening.
    pub skjerming: Option<Skjerming>,
    /// journaldato.
    pub journaldato: Date,
    /// dokumentetsDato.
    pub dokumentets_dato: Option<Date>,
    /// First avskrivning's date.
    pub avskrivningsdato: Option<Date>,
    /// First avskrivning's method.
    pub avskrivningsmaate: Option<String>,
    /// First avskrivning's reference.
    pub referanse_avskrives_av_journalpost: Option<SystemId>,
    /// Grading.
    pub grad: Option<Grad>,
    /// Correspondence parties (type, name); at least one is required by the journal XSDs.
    pub korrespondanseparter: Vec<(Korrespondanseparttype, String)>,
}

/// One journal entry: class, case and journalpost.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    /// The class, when the case sits in one.
    pub klasse: Option<JournalKlasse>,
    /// The case.
    pub sak: JournalSak,
    /// The journalpost.
    pub post: JournalPost,
}

impl JournalEntry {
    /// Sort key: journalår, then sekvensnummer.
    pub fn sort_key(&self) -> (i32, u64) {
        (self.post.journalaar, self.post.journalsekvensnummer)
    }
}

/// Streaming journal writer.
pub struct JournalWriter<W: Write> {
    out: XmlOut<W>,
    kind: JournalKind,
    written: u64,
    expected: u64,
}

impl<W: Write> JournalWriter<W> {
    /// Start the file and write the header.
    pub fn new(inner: W, kind: JournalKind, head: &JournalHead) -> Result<Self> {
        let mut out = XmlOut::new(inner);
        out.record = format!("{} journalhode", kind.root());
        if head.arkivskapere.is_empty() {
            return Err(Error::invalid(
                out.record.clone(),
                "arkivskaper",
                "at least one arkivskaper is required",
            ));
        }
        out.decl()?;
        out.root(kind.root(), &[("xmlns", kind.namespace())])?;
        out.start("journalhode")?;
        out.text("journalStartDato", &fmt_date(&head.journal_start_dato))?;
        out.text("journalSluttDato", &fmt_date(&head.journal_slutt_dato))?;
        out.opt("seleksjon", head.seleksjon.as_deref())?;
        out.display("antallJournalposter", head.antall_journalposter)?;
        for a in &head.arkivskapere {
            out.start("arkivskaper")?;
            out.text("arkivskaperID", &a.arkivskaper_id)?;
            out.text("arkivskaperNavn", &a.arkivskaper_navn)?;
            out.opt("beskrivelse", a.beskrivelse.as_deref())?;
            out.end("arkivskaper")?;
        }
        out.end("journalhode")?;
        Ok(JournalWriter {
            out,
            kind,
            written: 0,
            expected: head.antall_journalposter,
        })
    }

    /// Render one entry as a fragment for `kind`, to be passed to [`Self::write_fragment`].
    pub fn render(kind: JournalKind, e: &JournalEntry) -> Result<Vec<u8>> {
        // Rendered inside a dummy root so quick-xml indents it one level deep; the dummy tags
        // are cut off again.
        let mut o = XmlOut::new(Vec::new());
        o.record = format!("journalpost {}", e.post.system_id);
        o.start("r")?;
        let open_len = "<r>".len();
        render_entry(&mut o, kind, e)?;
        o.end("r")?;
        let mut bytes = o.finish()?;
        let close = b"\n</r>\n";
        if !bytes.ends_with(close) {
            return Err(Error::Order(
                "journal fragment rendering lost its frame".into(),
            ));
        }
        bytes.truncate(bytes.len() - close.len());
        Ok(bytes.split_off(open_len))
    }

    /// Append one rendered entry (from [`Self::render`] with the same kind).
    pub fn write_fragment(&mut self, fragment: &[u8]) -> Result<()> {
        self.written += 1;
        self.out.raw(fragment)
    }

    /// Render and append one entry.
    pub fn write_entry(&mut self, e: &JournalEntry) -> Result<()> {
        let f = Self::render(self.kind, e)?;
        self.write_fragment(&f)
    }

    /// Close the journal. The number of entries must equal the header's antallJournalposter.
    pub fn finish(mut self) -> Result<W> {
        if self.written != self.expected || self.written == 0 {
            return Err(Error::Order(format!(
                "{}: header says {} journalposter, {} written (at least one is required)",
                self.kind.root(),
                self.expected,
                self.written
            )));
        }
        self.out.end(self.kind.root())?;
        self.out.finish()
    }
}

fn render_entry<W: Write>(o: &mut XmlOut<W>, kind: JournalKind, e: &JournalEntry) -> Result<()> {
    let p = &e.post;
    if p.korrespondanseparter.is_empty() {
        return Err(Error::invalid(
            o.record.clone(),
            "korrespondansepart",
            "the journal schemas require at least one korrespondansepart per journalpost; add \
             one (e.g. «Intern avsender» with the author for internal documents)",
        ));
    }
    let public = kind == JournalKind::Offentlig;
    o.start("journalregistrering")?;
    if let Some(k) = &e.klasse {
        if !(public && k.screened) {
            o.start("klasse")?;
            o.text("klasseID", &k.klasse_id)?;
            o.text("tittel", &k.tittel)?;
            if !public {
                for m in &k.skjerming_metadata {
                    o.text("skjermingMetadata", m.as_str())?;
                }
            }
            o.end("klasse")?;
        }
    }
    let s = &e.sak;
    o.start("saksmappe")?;
    o.display("saksaar", s.saksaar)?;
    o.display("sakssekvensnummer", s.sakssekvensnummer)?;
    if public {
        o.text(
            "offentligTittel",
            s.offentlig_tittel.as_deref().unwrap_or(&s.tittel),
        )?;
    } else {
        o.text("tittel", &s.tittel)?;
        o.opt("offentligTittel", s.offentlig_tittel.as_deref())?;
        o.opt(
            "skjermingMetadata",
            s.skjerming_metadata.map(|m| m.as_str()),
        )?;
    }
    o.end("saksmappe")?;

    let first_screening = p
        .skjerming
        .as_ref()
        .and_then(|s| s.skjerming_metadata.first().copied());
    o.start("journalpost")?;
    o.display("systemID", p.system_id)?;
    o.display("journalaar", p.journalaar)?;
    o.display("journalsekvensnummer", p.journalsekvensnummer)?;
    o.display("journalpostnummer", p.journalpostnummer)?;
    if public {
        o.text(
            "offentligTittel",
            p.offentlig_tittel.as_deref().unwrap_or(&p.tittel),
        )?;
    } else {
        o.text("tittel", &p.tittel)?;
        o.opt("offentligTittel", p.offentlig_tittel.as_deref())?;
    }
    o.opt("skjermingMetadata", first_screening.map(|m| m.as_str()))?;
    o.text("journaldato", &fmt_date(&p.journaldato))?;
    o.opt(
        "dokumentetsDato",
        p.dokumentets_dato.map(|d| fmt_date(&d)).as_deref(),
    )?;
    o.opt(
        "avskrivningsdato",
        p.avskrivningsdato.map(|d| fmt_date(&d)).as_deref(),
    )?;
    o.opt("avskrivningsmaate", p.avskrivningsmaate.as_deref())?;
    o.opt_display(
        "referanseAvskrivesAvJournalpost",
        p.referanse_avskrives_av_journalpost,
    )?;
    if let Some(s) = &p.skjerming {
        o.text("tilgangsrestriksjon", &s.tilgangsrestriksjon)?;
    }
    o.opt("grad", p.grad.map(|g| g.as_str()))?;
    if let Some(s) = &p.skjerming {
        o.text("skjermingshjemmel", &s.skjermingshjemmel)?;
    }
    for (t, navn) in &p.korrespondanseparter {
        o.start("korrespondansepart")?;
        o.text("korrespondanseparttype", t.as_str())?;
        let screened = public && p.skjerming.as_ref().is_some_and(|s| name_screened(s, *t));
        o.text(
            "korrespondansepartNavn",
            if screened { SCREENED } else { navn },
        )?;
        o.end("korrespondansepart")?;
    }
    o.end("journalpost")?;
    o.end("journalregistrering")
}

fn name_screened(s: &Skjerming, t: Korrespondanseparttype) -> bool {
    use Korrespondanseparttype as K;
    match t {
        K::Avsender | K::InternAvsender => s.screens(SkjermingMetadata::NavnAvsender),
        K::Mottaker | K::Kopimottaker | K::Gruppemottaker | K::InternMottaker => {
            s.screens(SkjermingMetadata::NavnMottaker)
        }
    }
}
