//! The small shared elements of arkivstruktur.xml (part, kryssreferanse, merknad, kassasjon,
//! utfoertKassasjon, sletting, skjerming, gradering), each in the XSD's element order, with the
//! counts arkivuttrekk.xml needs.

use super::ArkivstrukturWriter;
use crate::error::{Error, Result};
use crate::model::*;
use crate::time::{fmt_date, fmt_datetime};
use std::io::Write;

impl<W: Write> ArkivstrukturWriter<W> {
    pub(super) fn parter(&mut self, parter: &[Part]) -> Result<()> {
        for p in parter {
            let o = &mut self.out;
            o.start("part")?;
            o.opt("partID", p.part_id.as_deref())?;
            o.text("partNavn", &p.part_navn)?;
            o.text("partRolle", &p.part_rolle)?;
            o.each("postadresse", &p.postadresse)?;
            o.opt("postnummer", p.postnummer.as_deref())?;
            o.opt("poststed", p.poststed.as_deref())?;
            o.end("part")?;
        }
        Ok(())
    }

    pub(super) fn kryssreferanser(&mut self, refs: &[Kryssreferanse]) -> Result<()> {
        for r in refs {
            let o = &mut self.out;
            o.start("kryssreferanse")?;
            match r {
                Kryssreferanse::Klasse(id) => o.display("referanseTilKlasse", id)?,
                Kryssreferanse::Mappe(id) => o.display("referanseTilMappe", id)?,
                Kryssreferanse::Registrering(id) => o.display("referanseTilRegistrering", id)?,
            }
            o.end("kryssreferanse")?;
        }
        Ok(())
    }

    pub(super) fn merknader(&mut self, merknader: &[Merknad]) -> Result<()> {
        for m in merknader {
            let o = &mut self.out;
            o.start("merknad")?;
            o.text("merknadstekst", &m.merknadstekst)?;
            o.opt("merknadstype", m.merknadstype.as_deref())?;
            o.text("merknadsdato", &fmt_datetime(&m.merknadsdato))?;
            o.text("merknadRegistrertAv", &m.merknad_registrert_av)?;
            o.end("merknad")?;
        }
        Ok(())
    }

    pub(super) fn kassasjon(&mut self, k: Option<&Kassasjon>) -> Result<()> {
        let Some(k) = k else { return Ok(()) };
        self.counts.kassasjon += 1;
        let o = &mut self.out;
        o.start("kassasjon")?;
        o.text("kassasjonsvedtak", k.kassasjonsvedtak.as_str())?;
        o.opt("kassasjonshjemmel", k.kassasjonshjemmel.as_deref())?;
        o.display("bevaringstid", k.bevaringstid)?;
        o.text("kassasjonsdato", &fmt_date(&k.kassasjonsdato))?;
        o.end("kassasjon")
    }

    pub(super) fn utfoert_kassasjon(&mut self, k: Option<&UtfoertKassasjon>) -> Result<()> {
        let Some(k) = k else { return Ok(()) };
        self.counts.utfoert_kassasjon += 1;
        let o = &mut self.out;
        o.start("utfoertKassasjon")?;
        o.text("kassertDato", &fmt_datetime(&k.kassert_dato))?;
        o.text("kassertAv", &k.kassert_av)?;
        o.end("utfoertKassasjon")
    }

    pub(super) fn sletting(&mut self, s: Option<&Sletting>) -> Result<()> {
        let Some(s) = s else { return Ok(()) };
        let o = &mut self.out;
        o.start("sletting")?;
        o.text("slettingstype", &s.slettingstype)?;
        o.text("slettetDato", &fmt_datetime(&s.slettet_dato))?;
        o.text("slettetAv", &s.slettet_av)?;
        o.end("sletting")
    }

    pub(super) fn skjerming(&mut self, s: Option<&Skjerming>) -> Result<()> {
        let Some(s) = s else { return Ok(()) };
        if s.skjerming_metadata.is_empty() {
            return Err(Error::invalid(
                self.out.record.clone(),
                "skjermingMetadata",
                "a skjerming needs at least one skjermingMetadata value",
            ));
        }
        self.counts.skjerming += 1;
        let o = &mut self.out;
        o.start("skjerming")?;
        o.text("tilgangsrestriksjon", &s.tilgangsrestriksjon)?;
        o.text("skjermingshjemmel", &s.skjermingshjemmel)?;
        for m in &s.skjerming_metadata {
            o.text("skjermingMetadata", m.as_str())?;
        }
        o.opt(
            "skjermingDokument",
            s.skjerming_dokument.map(|d| d.as_str()),
        )?;
        o.opt_display("skjermingsvarighet", s.skjermingsvarighet)?;
        o.opt(
            "skjermingOpphoererDato",
            s.skjerming_opphoerer_dato.map(|d| fmt_date(&d)).as_deref(),
        )?;
        o.end("skjerming")
    }

    pub(super) fn gradering(&mut self, g: Option<&Gradering>) -> Result<()> {
        let Some(g) = g else { return Ok(()) };
        let o = &mut self.out;
        o.start("gradering")?;
        o.text("grad", g.grad.as_str())?;
        o.text("graderingsdato", &fmt_datetime(&g.graderingsdato))?;
        o.text("gradertAv", &g.gradert_av)?;
        o.opt(
            "nedgraderingsdato",
            g.nedgraderingsdato.map(|d| fmt_datetime(&d)).as_deref(),
        )?;
        o.opt("nedgradertAv", g.nedgradert_av.as_deref())?;
        o.end("gradering")
    }
}
