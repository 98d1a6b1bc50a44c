//! N5.59 and N5.60 (journals against each other and, with `skarpt`/`skarpt`, against
//! arkivstruktur.xml) and HV.02 (the journal counts arkivuttrekk.xml documents).

use super::addml::Addml;
use super::content::ArkivstrukturFacts;
use super::sink::{Loc, Sink};
use crate::error::{Error, Result};
use quick_xml::events::Event;
use std::io::BufReader;
use std::path::Path;

#[derive(Debug, Default, PartialEq, Eq)]
struct JournalFacts {
    antall: Option<String>,
    start: Option<String>,
    slutt: Option<String>,
    entries: u64,
}

fn read(path: &Path) -> Result<JournalFacts> {
    let f = std::fs::File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let mut r = quick_xml::Reader::from_reader(BufReader::new(f));
    let mut buf = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut facts = JournalFacts::default();
    loop {
        let ev = r.read_event_into(&mut buf).map_err(|e| Error::Xml {
            file: path.to_path_buf(),
            position: r.error_position(),
            message: e.to_string(),
        })?;
        match ev {
            Event::Start(s) => {
                let name = String::from_utf8_lossy(s.local_name().as_ref()).into_owned();
                if name == "journalregistrering" {
                    facts.entries += 1;
                }
                stack.push(name);
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.unescape().unwrap_or_default()),
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                let in_head = stack.last().is_some_and(|p| p == "journalhode");
                if in_head {
                    let v = Some(text.trim().to_string());
                    match name.as_str() {
                        "antallJournalposter" => facts.antall = v,
                        "journalStartDato" => facts.start = v,
                        "journalSluttDato" => facts.slutt = v,
                        _ => {}
                    }
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(facts)
}

pub(crate) fn check(dir: &Path, addml: &Addml, a: &ArkivstrukturFacts, sink: &mut Sink) {
    sink.ran("N5.59");
    sink.ran("N5.60");
    sink.ran("HV.02");
    let mut journals = Vec::new();
    for stem in ["loependeJournal", "offentligJournal"] {
        let file = format!("{stem}.xml");
        let path = dir.join(&file);
        if !path.is_file() {
            if a.journalposter > 0 {
                for rule in ["N5.59", "N5.60"] {
                    sink.error(
                        rule,
                        Loc::file(&file),
                        format!(
                            "{file} not found, but arkivstruktur.xml has {} journalposter",
                            a.journalposter
                        ),
                    );
                }
            } else {
                sink.warn(
                    "N5.59",
                    Loc::file(&file),
                    format!(
                        "{file} not found (there are no journalposter); Arkade 5 reports a \
                         missing journal as an error (N5.59/N5.60)"
                    ),
                );
            }
            continue;
        }
        match read(&path) {
            Ok(f) => {
                sink.count(
                    "N5.59",
                    format!(
                        "{stem} antallJournalposter {}",
                        f.antall.clone().unwrap_or_default()
                    ),
                    1,
                );
                if f.antall.as_deref() != Some(f.entries.to_string().as_str()) {
                    sink.error(
                        "HV.02",
                        Loc::file(&file),
                        format!(
                            "antallJournalposter is {} but the file has {} journalregistrering",
                            f.antall.as_deref().unwrap_or("(missing)"),
                            f.entries
                        ),
                    );
                }
                let doc = addml.object(stem).and_then(|o| {
                    o.occurrences
                        .iter()
                        .find(|(e, _)| e == "journalregistrering")
                });
                match doc {
                    Some((_, Ok(v))) if *v == f.entries => {}
                    Some((_, Ok(v))) => sink.error(
                        "HV.02",
                        Loc::file("arkivuttrekk.xml"),
                        format!("numberOfOccurrences journalregistrering for {file} is {v}, the file has {}", f.entries),
                    ),
                    Some((_, Err(raw))) => sink.error(
                        "HV.02",
                        Loc::file("arkivuttrekk.xml"),
                        format!("numberOfOccurrences journalregistrering for {file} «{raw}» is not a number"),
                    ),
                    None => sink.warn(
                        "HV.02",
                        Loc::file("arkivuttrekk.xml"),
                        format!("no numberOfOccurrences journalregistrering documented for {file}"),
                    ),
                }
                journals.push((file, f));
            }
            Err(e) => {
                for rule in ["N5.59", "N5.60"] {
                    sink.error(rule, Loc::file(&file), format!("cannot be read: {e}"));
                }
            }
        }
    }
    if let [(fa, a1), (fb, b1)] = journals.as_slice() {
        if a1.antall != b1.antall {
            sink.error(
                "N5.59",
                Loc::none(),
                format!(
                    "antallJournalposter differs: {fa} {} vs {fb} {}",
                    a1.antall.as_deref().unwrap_or("-"),
                    b1.antall.as_deref().unwrap_or("-")
                ),
            );
        }
        if (&a1.start, &a1.slutt) != (&b1.start, &b1.slutt) {
            sink.error(
                "N5.60",
                Loc::none(),
                format!(
                    "journal dates differ: {fa} {}–{} vs {fb} {}–{}",
                    a1.start.as_deref().unwrap_or("-"),
                    a1.slutt.as_deref().unwrap_or("-"),
                    b1.start.as_deref().unwrap_or("-"),
                    b1.slutt.as_deref().unwrap_or("-")
                ),
            );
        }
    }
    if !addml.sharp() {
        return;
    }
    for (file, f) in &journals {
        if f.antall.as_deref() != Some(a.journalposter.to_string().as_str()) {
            sink.error(
                "N5.59",
                Loc::file(file),
                format!(
                    "with skarpt periodeskille the journal should hold the {} journalposter of arkivstruktur.xml, but antallJournalposter is {}",
                    a.journalposter,
                    f.antall.as_deref().unwrap_or("(missing)")
                ),
            );
        }
        match (&a.journaldato_min, &a.journaldato_max) {
            (Some(lo), Some(hi)) => {
                if f.start.as_ref() != Some(lo) || f.slutt.as_ref() != Some(hi) {
                    sink.error(
                        "N5.60",
                        Loc::file(file),
                        format!(
                            "with skarpt periodeskille the journal dates {}–{} should equal the journaldato range {lo}–{hi} of arkivstruktur.xml",
                            f.start.as_deref().unwrap_or("-"),
                            f.slutt.as_deref().unwrap_or("-")
                        ),
                    );
                }
            }
            _ => sink.error(
                "N5.60",
                Loc::file(file),
                "no journaldato found in arkivstruktur.xml",
            ),
        }
    }
}
