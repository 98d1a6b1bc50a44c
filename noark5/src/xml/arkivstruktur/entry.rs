//! What the journals need from a journalpost, and the offentligTittel rule.

use super::super::journal::{JournalEntry, JournalKlasse, JournalPost, JournalSak};
use crate::codes::SkjermingMetadata;
use crate::error::{Error, Result};
use crate::model::*;

pub(super) fn require_offentlig_tittel(
    record: &str,
    skjerming: Option<&Skjerming>,
    offentlig_tittel: Option<&str>,
    title_codes: &[SkjermingMetadata],
) -> Result<()> {
    let screened = skjerming.is_some_and(|s| title_codes.iter().any(|c| s.screens(*c)));
    if screened && offentlig_tittel.is_none() {
        return Err(Error::invalid(
            record,
            "offentligTittel",
            "the title is screened, so offentligTittel (the title with screened words replaced by \
             *****) is mandatory",
        ));
    }
    Ok(())
}

pub(super) fn journal_entry(
    klasse: Option<&JournalKlasse>,
    m: &Mappe,
    sak: &Saksmappe,
    r: &Registrering,
    jp: &Journalpost,
) -> JournalEntry {
    let sak_title_codes = [
        SkjermingMetadata::TittelMappeUtvalgteOrd,
        SkjermingMetadata::TittelMappeUnntattFoersteLinje,
    ];
    let reg_title_codes = [
        SkjermingMetadata::TittelRegistreringUtvalgteOrd,
        SkjermingMetadata::TittelRegistreringUnntattFoersteLinje,
    ];
    let sak_screened = m
        .skjerming
        .as_ref()
        .is_some_and(|s| sak_title_codes.iter().any(|c| s.screens(*c)));
    let jp_screened = r
        .skjerming
        .as_ref()
        .is_some_and(|s| reg_title_codes.iter().any(|c| s.screens(*c)));
    let first_avskrivning = jp.avskrivninger.first();
    JournalEntry {
        klasse: klasse.cloned(),
        sak: JournalSak {
            saksaar: sak.saksaar,
            sakssekvensnummer: sak.sakssekvensnummer,
            tittel: m.tittel.clone(),
            offentlig_tittel: if sak_screened {
                m.offentlig_tittel.clone()
            } else {
                None
            },
            skjerming_metadata: m
                .skjerming
                .as_ref()
                .and_then(|s| s.skjerming_metadata.first().copied()),
        },
        post: JournalPost {
            system_id: r.system_id,
            journalaar: jp.journalaar,
            journalsekvensnummer: jp.journalsekvensnummer,
            journalpostnummer: jp.journalpostnummer,
            tittel: r.tittel.clone(),
            offentlig_tittel: if jp_screened {
                r.offentlig_tittel.clone()
            } else {
                None
            },
            skjerming: r.skjerming.clone(),
            journaldato: jp.journaldato,
            dokumentets_dato: jp.dokumentets_dato,
            avskrivningsdato: first_avskrivning.map(|a| a.avskrivningsdato),
            avskrivningsmaate: first_avskrivning.map(|a| a.avskrivningsmaate.clone()),
            referanse_avskrives_av_journalpost: first_avskrivning
                .and_then(|a| a.referanse_avskrives_av_journalpost),
            grad: r.gradering.as_ref().map(|g| g.grad),
            korrespondanseparter: r
                .korrespondanseparter
                .iter()
                .map(|k| (k.korrespondanseparttype, k.korrespondansepart_navn.clone()))
                .collect(),
        },
    }
}
