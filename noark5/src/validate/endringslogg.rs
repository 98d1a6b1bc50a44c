//! N5.61 and N5.62: endringslogg.xml entries and their references into arkivstruktur.xml.

use super::content::{id_key, ArkivstrukturFacts};
use super::sink::{Loc, Sink};
use quick_xml::events::Event;
use std::io::BufReader;
use std::path::Path;

const FILE: &str = "endringslogg.xml";

pub(crate) fn check(dir: &Path, a: &ArkivstrukturFacts, sink: &mut Sink) {
    sink.ran("N5.61");
    sink.ran("N5.62");
    let path = dir.join(FILE);
    let f = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(_) => {
            for rule in ["N5.61", "N5.62"] {
                sink.error(
                    rule,
                    Loc::file(FILE),
                    "endringslogg.xml not found (krav 6.4.15 makes it mandatory)",
                );
            }
            return;
        }
    };
    let mut r = quick_xml::Reader::from_reader(BufReader::new(f));
    let mut buf = Vec::new();
    let mut in_ref = false;
    let mut text = String::new();
    let mut endringer = 0u64;
    let mut start = 0u64;
    loop {
        let pos = r.buffer_position();
        let ev = match r.read_event_into(&mut buf) {
            Ok(ev) => ev,
            Err(e) => {
                sink.error(
                    "N5.61",
                    Loc::file(FILE),
                    format!("not well-formed at byte {}: {e}", r.error_position()),
                );
                return;
            }
        };
        match ev {
            Event::Start(s) => {
                let name = s.local_name();
                if name.as_ref() == b"endring" {
                    endringer += 1;
                }
                in_ref = name.as_ref() == b"referanseArkivenhet";
                start = pos;
                text.clear();
            }
            Event::Text(t) if in_ref => text.push_str(&t.unescape().unwrap_or_default()),
            Event::End(_) if in_ref => {
                in_ref = false;
                let v = text.trim();
                if !a.system_ids.contains(&id_key(v)) {
                    sink.error(
                        "N5.62",
                        Loc::at(
                            FILE,
                            start,
                            format!("/endringslogg/endring[{endringer}]/referanseArkivenhet"),
                        ),
                        format!("referanseArkivenhet {v} is not a systemID in arkivstruktur.xml"),
                    );
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    sink.count("N5.61", "endring", endringer);
}
