//! The single streaming pass over arkivstruktur.xml behind the content rules (N5.04–N5.27,
//! N5.29–N5.30, N5.32, N5.34–N5.48, N5.51, N5.63, N5.64, HV.01). Memory: a stack of open
//! elements, a 128-bit key per systemID (for uniqueness and references) and the set of
//! referenced document paths.

use super::addml::Addml;
use super::sink::{Loc, Sink};
use crate::digest::sha256_file;
use crate::error::{Error, Result};
use crate::id::{is_uuid_pattern, SystemId};
use quick_xml::events::{BytesStart, Event};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufReader;
use std::path::{Path, PathBuf};

const FILE: &str = "arkivstruktur.xml";

/// A 128-bit key for a systemID string: the UUID itself, or a SHA-256 prefix for the non-UUID
/// ids of older versions.
pub(crate) fn id_key(s: &str) -> u128 {
    if is_uuid_pattern(s) {
        if let Ok(id) = SystemId::parse(s) {
            return id.as_u128();
        }
    }
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(s.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    u128::from_le_bytes(b)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Arkiv,
    Arkivdel,
    Klassifikasjonssystem,
    Klasse,
    Mappe,
    Registrering,
    Dokumentbeskrivelse,
    Dokumentobjekt,
}

fn kind_of(name: &str) -> Option<Kind> {
    Some(match name {
        "arkiv" => Kind::Arkiv,
        "arkivdel" => Kind::Arkivdel,
        "klassifikasjonssystem" => Kind::Klassifikasjonssystem,
        "klasse" => Kind::Klasse,
        "mappe" => Kind::Mappe,
        "registrering" => Kind::Registrering,
        "dokumentbeskrivelse" => Kind::Dokumentbeskrivelse,
        "dokumentobjekt" => Kind::Dokumentobjekt,
        _ => return None,
    })
}

#[derive(Debug, Default)]
struct Entity {
    system_id: Option<String>,
    xsi_type: Option<String>,
    subclasses: u64,
    mapper: u64,
    registreringer: u64,
    dokumentbeskrivelser: u64,
    dokumentobjekter: u64,
    utgaar: bool,
    fysisk: bool,
    primary: bool,
    /// dokumentbeskrivelser without dokumentobjekt below, not yet known to be under «utgår».
    pending_empty_docs: u64,
    format: Option<String>,
    referanse: Option<String>,
    sjekksum: Option<String>,
    filstoerrelse: Option<String>,
}

struct Frame {
    name: String,
    offset: u64,
    text: String,
    has_child: bool,
    entity: Option<(Kind, Box<Entity>)>,
}

/// What the pass hands on to the journal and endringslogg checks.
#[derive(Debug, Default)]
pub(crate) struct ArkivstrukturFacts {
    pub(crate) system_ids: HashSet<u128>,
    pub(crate) journalposter: u64,
    pub(crate) journaldato_min: Option<String>,
    pub(crate) journaldato_max: Option<String>,
    pub(crate) referenced: HashSet<String>,
}

struct Pass<'a> {
    dir: &'a Path,
    sink: &'a mut Sink,
    stack: Vec<Frame>,
    facts: ArkivstrukturFacts,
    arkivdel_ids: HashSet<u128>,
    klasse_ids: HashSet<u128>,
    arkivdel_refs: Vec<(u128, String, u64, String)>,
    sek_refs: Vec<(u128, String, u64, String)>,
    ref_counts: HashMap<String, u32>,
    counts: BTreeMap<&'static str, u64>,
    reg_dates: Option<(String, String)>,
    klassifikasjonssystemer_in_arkivdel: u64,
}

pub(crate) fn check(
    dir: &Path,
    addml: Option<&Addml>,
    sink: &mut Sink,
) -> Result<ArkivstrukturFacts> {
    let path = dir.join(FILE);
    let f = std::fs::File::open(&path).map_err(|e| Error::io("opening", &path, e))?;
    let mut reader = quick_xml::Reader::from_reader(BufReader::with_capacity(256 * 1024, f));
    let mut pass = Pass {
        dir,
        sink,
        stack: Vec::new(),
        facts: ArkivstrukturFacts::default(),
        arkivdel_ids: HashSet::new(),
        klasse_ids: HashSet::new(),
        arkivdel_refs: Vec::new(),
        sek_refs: Vec::new(),
        ref_counts: HashMap::new(),
        counts: BTreeMap::new(),
        reg_dates: None,
        klassifikasjonssystemer_in_arkivdel: 0,
    };
    for rule in [
        "N5.04", "N5.05", "N5.06", "N5.07", "N5.08", "N5.09", "N5.10", "N5.11", "N5.12", "N5.13",
        "N5.14", "N5.15", "N5.16", "N5.17", "N5.18", "N5.19", "N5.20", "N5.21", "N5.22", "N5.23",
        "N5.24", "N5.25", "N5.26", "N5.27", "N5.29", "N5.30", "N5.32", "N5.34", "N5.35", "N5.36",
        "N5.37", "N5.38", "N5.39", "N5.40", "N5.41", "N5.42", "N5.43", "N5.44", "N5.45", "N5.46",
        "N5.47", "N5.48", "N5.51", "N5.63", "N5.64", "HV.01",
    ] {
        pass.sink.ran(rule);
    }
    let mut buf = Vec::new();
    let mut first_text = true;
    loop {
        let pos = reader.buffer_position();
        let ev = reader.read_event_into(&mut buf).map_err(|e| Error::Xml {
            file: path.clone(),
            position: reader.error_position(),
            message: e.to_string(),
        })?;
        match ev {
            Event::Start(s) => pass.start(&s, pos, false),
            Event::Empty(s) => {
                pass.start(&s, pos, true);
                pass.end(true);
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(|e| Error::Xml {
                    file: path.clone(),
                    position: pos,
                    message: e.to_string(),
                })?;
                let text: &str = if first_text {
                    text.trim_start_matches('\u{feff}')
                } else {
                    &text
                };
                first_text = false;
                if let Some(top) = pass.stack.last_mut() {
                    top.text.push_str(text);
                }
            }
            Event::CData(t) => {
                if let Some(top) = pass.stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::End(_) => pass.end(false),
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    pass.finish(addml);
    Ok(pass.facts)
}

fn local(s: &BytesStart) -> String {
    String::from_utf8_lossy(s.local_name().as_ref()).into_owned()
}

fn xsi_type(s: &BytesStart) -> Option<String> {
    s.attributes().flatten().find_map(|a| {
        let key = a.key.as_ref();
        let is_type = key == b"xsi:type" || key.ends_with(b":type");
        if is_type {
            a.unescape_value().ok().map(|v| {
                let v = v.into_owned();
                match v.split_once(':') {
                    Some((_, local)) => local.to_string(),
                    None => v,
                }
            })
        } else {
            None
        }
    })
}

impl Pass<'_> {
    fn bump(&mut self, label: &'static str) {
        *self.counts.entry(label).or_insert(0) += 1;
    }

    fn path(&self) -> String {
        let mut p = String::new();
        for f in &self.stack {
            p.push('/');
            p.push_str(&f.name);
        }
        if let Some(id) = self
            .stack
            .iter()
            .rev()
            .find_map(|f| f.entity.as_ref().and_then(|(_, e)| e.system_id.clone()))
        {
            p.push_str(&format!(" (systemID {id})"));
        }
        p
    }

    fn level_of(&self, kind: Kind) -> usize {
        self.stack
            .iter()
            .filter(|f| f.entity.as_ref().is_some_and(|(k, _)| *k == kind))
            .count()
    }

    fn parent_entity(&mut self) -> Option<(Kind, &mut Entity)> {
        self.stack
            .iter_mut()
            .rev()
            .find_map(|f| f.entity.as_mut().map(|(k, e)| (*k, e.as_mut())))
    }

    fn start(&mut self, s: &BytesStart, pos: u64, _empty: bool) {
        let name = local(s);
        if let Some(top) = self.stack.last_mut() {
            top.has_child = true;
        }
        match name.as_str() {
            "part" | "sakspart" => self.sink.count("N5.35", name.clone(), 1),
            "merknad" => self.sink.count("N5.36", "merknad", 1),
            "kryssreferanse" => self.sink.count("N5.37", "kryssreferanse", 1),
            "presedens" => self.sink.count("N5.38", "presedens", 1),
            "korrespondansepart" => self.sink.count("N5.39", "korrespondansepart", 1),
            "avskrivning" => self.sink.count("N5.40", "avskrivning", 1),
            "dokumentflyt" => self.sink.count("N5.41", "dokumentflyt", 1),
            "skjerming" => self.bump("skjerming"),
            "gradering" => self.sink.count("N5.43", "gradering", 1),
            "kassasjon" => self.bump("kassasjon"),
            "utfoertKassasjon" => {
                let parent = self.stack.last().map(|f| f.name.as_str());
                if matches!(parent, Some("arkivdel" | "dokumentbeskrivelse")) {
                    self.bump("utfoertKassasjon");
                }
            }
            "konvertering" => self.sink.count("N5.46", "konvertering", 1),
            _ => {}
        }
        let entity = kind_of(&name).map(|k| {
            let e = Entity {
                xsi_type: xsi_type(s),
                ..Default::default()
            };
            (k, Box::new(e))
        });
        if let Some((kind, e)) = &entity {
            let kind = *kind;
            let ty = e.xsi_type.clone();
            match kind {
                Kind::Arkiv => {
                    let level = self.level_of(Kind::Arkiv) + 1;
                    self.sink.count("N5.04", format!("arkiv level {level}"), 1);
                }
                Kind::Arkivdel => {
                    self.sink.count("N5.05", "arkivdel", 1);
                    self.klassifikasjonssystemer_in_arkivdel = 0;
                }
                Kind::Klassifikasjonssystem => {
                    self.sink.count("N5.07", "klassifikasjonssystem", 1);
                    self.klassifikasjonssystemer_in_arkivdel += 1;
                }
                Kind::Klasse => {
                    let level = self.level_of(Kind::Klasse) + 1;
                    let primary = self
                        .stack
                        .iter()
                        .rev()
                        .find_map(|f| match &f.entity {
                            Some((Kind::Klassifikasjonssystem, e)) => Some(e.primary),
                            _ => None,
                        })
                        .unwrap_or(true);
                    let system = if primary { "primary" } else { "secondary" };
                    self.sink
                        .count("N5.08", format!("klasse level {level} ({system})"), 1);
                    if let Some((Kind::Klasse, p)) = self.parent_entity() {
                        p.subclasses += 1;
                    }
                }
                Kind::Mappe => {
                    let level = self.level_of(Kind::Mappe) + 1;
                    let t = ty.unwrap_or_else(|| "mappe".into());
                    self.sink.count("N5.10", format!("{t} level {level}"), 1);
                    self.bump("mappe");
                    if let Some((_, p)) = self.parent_entity() {
                        p.mapper += 1;
                    }
                }
                Kind::Registrering => {
                    let t = ty.unwrap_or_else(|| "registrering".into());
                    self.sink.count("N5.16", t, 1);
                    self.bump("registrering");
                    if let Some((_, p)) = self.parent_entity() {
                        p.registreringer += 1;
                    }
                }
                Kind::Dokumentbeskrivelse => {
                    self.sink.count("N5.23", "dokumentbeskrivelse", 1);
                    if let Some((_, p)) = self.parent_entity() {
                        p.dokumentbeskrivelser += 1;
                    }
                }
                Kind::Dokumentobjekt => {
                    self.sink.count("N5.26", "dokumentobjekt", 1);
                    if let Some((_, p)) = self.parent_entity() {
                        p.dokumentobjekter += 1;
                    }
                }
            }
        }
        let primary = entity
            .as_ref()
            .is_some_and(|(k, _)| *k == Kind::Klassifikasjonssystem)
            && self.klassifikasjonssystemer_in_arkivdel == 1;
        let mut entity = entity;
        if let Some((_, e)) = entity.as_mut() {
            e.primary = primary;
        }
        self.stack.push(Frame {
            name,
            offset: pos,
            text: String::new(),
            has_child: false,
            entity,
        });
    }

    fn end(&mut self, self_closing: bool) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        if !frame.has_child && frame.entity.is_none() && frame.text.trim().is_empty() {
            let mut path = self.path();
            path = format!("{path} <{}>", frame.name);
            let how = if self_closing {
                "self-closing"
            } else {
                "empty"
            };
            self.sink.error(
                "N5.63",
                Loc::at(FILE, frame.offset, path),
                format!(
                    "element <{}> is {how}: Noark 5 allows no elements without content",
                    frame.name
                ),
            );
        }
        if let Some((kind, e)) = frame.entity {
            self.end_entity(kind, *e, frame.offset);
            return;
        }
        if !frame.has_child {
            let text = frame.text.trim().to_string();
            self.leaf(&frame.name, text, frame.offset);
        }
    }

    fn leaf(&mut self, name: &str, text: String, offset: u64) {
        let parent_kind = self
            .stack
            .last()
            .and_then(|f| f.entity.as_ref().map(|(k, _)| *k));
        let Some(kind) = parent_kind else {
            // Leaves of non-entity elements (skjerming, kassasjon, …) need no tracking.
            return;
        };
        match name {
            "systemID" => {
                let key = id_key(&text);
                if !self.facts.system_ids.insert(key) {
                    let path = self.path();
                    self.sink.error(
                        "N5.47",
                        Loc::at(FILE, offset, path),
                        format!("systemID {text} occurs more than once"),
                    );
                }
                match kind {
                    Kind::Arkivdel => {
                        self.arkivdel_ids.insert(key);
                    }
                    Kind::Klasse => {
                        self.klasse_ids.insert(key);
                    }
                    _ => {}
                }
                if let Some((_, e)) = self.parent_entity() {
                    e.system_id = Some(text);
                }
            }
            "arkivdelstatus" if kind == Kind::Arkivdel => self.sink.count("N5.06", text, 1),
            "saksstatus" if kind == Kind::Mappe => {
                if text == "Utgår" {
                    if let Some((_, e)) = self.parent_entity() {
                        e.utgaar = true;
                    }
                }
                self.sink.count("N5.15", text, 1);
            }
            "journalposttype" if kind == Kind::Registrering => {
                if text.is_empty() {
                    let path = self.path();
                    self.sink.error(
                        "N5.17",
                        Loc::at(FILE, offset, path),
                        "journalposttype is empty",
                    );
                } else {
                    self.sink.count("N5.17", text, 1);
                }
            }
            "journalstatus" if kind == Kind::Registrering => {
                if text == "Utgår" {
                    if let Some((_, e)) = self.parent_entity() {
                        e.utgaar = true;
                    }
                }
                self.sink.count("N5.22", text, 1);
            }
            "dokumentstatus" if kind == Kind::Dokumentbeskrivelse => {
                self.sink.count("N5.25", text, 1)
            }
            "dokumentmedium" if kind == Kind::Dokumentbeskrivelse && text == "Fysisk arkiv" => {
                if let Some((_, e)) = self.parent_entity() {
                    e.fysisk = true;
                }
            }
            "opprettetDato" if kind == Kind::Mappe => {
                let year = text.get(..4).unwrap_or("unknown").to_string();
                self.sink.count("N5.11", year, 1);
            }
            "opprettetDato" if kind == Kind::Registrering => {
                let year = text.get(..4).unwrap_or("unknown").to_string();
                self.sink.count("N5.18", year, 1);
                if crate::time::parse_datetime(&text).is_err()
                    && crate::time::parse_date(&text).is_err()
                {
                    let path = self.path();
                    self.sink.error(
                        "N5.27",
                        Loc::at(FILE, offset, path),
                        format!("opprettetDato «{text}» is not a valid date-time"),
                    );
                } else {
                    let d = text.clone();
                    self.reg_dates = Some(match self.reg_dates.take() {
                        None => (d.clone(), d),
                        Some((lo, hi)) => (
                            if d < lo { d.clone() } else { lo },
                            if d > hi { d } else { hi },
                        ),
                    });
                }
            }
            "journaldato" if kind == Kind::Registrering => {
                self.facts.journalposter += 1;
                let f = &mut self.facts;
                if f.journaldato_min.as_ref().is_none_or(|m| text < *m) {
                    f.journaldato_min = Some(text.clone());
                }
                if f.journaldato_max.as_ref().is_none_or(|m| text > *m) {
                    f.journaldato_max = Some(text);
                }
            }
            "referanseArkivdel" => {
                let key = id_key(&text);
                if !self.arkivdel_ids.contains(&key) {
                    let path = self.path();
                    self.arkivdel_refs.push((key, text, offset, path));
                }
            }
            "referanseSekundaerKlassifikasjon" => {
                let key = id_key(&text);
                let path = self.path();
                self.sek_refs.push((key, text, offset, path));
            }
            "format" | "referanseDokumentfil" | "sjekksum" | "filstoerrelse"
                if kind == Kind::Dokumentobjekt =>
            {
                if let Some((_, e)) = self.parent_entity() {
                    let slot = match name {
                        "format" => &mut e.format,
                        "referanseDokumentfil" => &mut e.referanse,
                        "sjekksum" => &mut e.sjekksum,
                        _ => &mut e.filstoerrelse,
                    };
                    *slot = Some(text);
                }
            }
            _ => {}
        }
    }

    fn end_entity(&mut self, kind: Kind, e: Entity, offset: u64) {
        let id = e.system_id.clone();
        let path = {
            let mut p = self.path();
            let name = match kind {
                Kind::Arkiv => "arkiv",
                Kind::Arkivdel => "arkivdel",
                Kind::Klassifikasjonssystem => "klassifikasjonssystem",
                Kind::Klasse => "klasse",
                Kind::Mappe => "mappe",
                Kind::Registrering => "registrering",
                Kind::Dokumentbeskrivelse => "dokumentbeskrivelse",
                Kind::Dokumentobjekt => "dokumentobjekt",
            };
            if let Some(i) = p.find(" (systemID") {
                p.truncate(i);
            }
            p.push('/');
            p.push_str(name);
            if let Some(id) = &id {
                p.push_str(&format!(" (systemID {id})"));
            }
            p
        };
        match kind {
            Kind::Klasse => {
                let in_primary = self
                    .stack
                    .iter()
                    .rev()
                    .find_map(|f| match &f.entity {
                        Some((Kind::Klassifikasjonssystem, s)) => Some(s.primary),
                        _ => None,
                    })
                    .unwrap_or(true);
                if in_primary && e.subclasses == 0 && e.mapper == 0 && e.registreringer == 0 {
                    self.sink.count(
                        "N5.09",
                        "klasser without subclasses, mapper or registreringer",
                        1,
                    );
                }
                if e.subclasses > 0 && e.mapper > 0 {
                    self.sink.error(
                        "N5.12",
                        Loc::at(FILE, offset, path.clone()),
                        "the klasse has both subclasses and mapper",
                    );
                }
                if e.subclasses > 0 && e.registreringer > 0 {
                    self.sink.error(
                        "N5.19",
                        Loc::at(FILE, offset, path.clone()),
                        "the klasse has both subclasses and registreringer",
                    );
                }
                if e.subclasses == 0 {
                    self.sink.count("N5.13", "mapper in klasser", e.mapper);
                    if e.mapper == 0 {
                        self.sink.count("N5.13", "klasser without mapper", 1);
                    }
                }
                self.sink.count(
                    "N5.20",
                    "registreringer directly under klasse",
                    e.registreringer,
                );
                self.propagate_pending(e.pending_empty_docs);
            }
            Kind::Mappe => {
                if e.mapper == 0 && e.registreringer == 0 {
                    self.sink
                        .count("N5.14", "mapper without registreringer or undermapper", 1);
                }
                if !e.utgaar {
                    self.propagate_pending(e.pending_empty_docs);
                }
            }
            Kind::Registrering => {
                if e.dokumentbeskrivelser == 0 {
                    self.sink
                        .count("N5.21", "registreringer without dokumentbeskrivelse", 1);
                }
                if !e.utgaar {
                    self.propagate_pending(e.pending_empty_docs);
                }
            }
            Kind::Dokumentbeskrivelse => {
                if e.dokumentobjekter == 0 && !e.fysisk {
                    self.propagate_pending(1);
                }
            }
            Kind::Dokumentobjekt => self.document(e, offset, path),
            Kind::Arkiv | Kind::Arkivdel | Kind::Klassifikasjonssystem => {
                self.propagate_pending(e.pending_empty_docs);
            }
        }
    }

    fn propagate_pending(&mut self, n: u64) {
        if n == 0 {
            return;
        }
        match self.parent_entity() {
            Some((_, p)) => p.pending_empty_docs += n,
            None => self
                .sink
                .count("N5.24", "dokumentbeskrivelser without dokumentobjekt", n),
        }
    }

    fn document(&mut self, e: Entity, offset: u64, path: String) {
        let Some(reference) = e.referanse else { return };
        let rel = reference.replace('\\', "/");
        let format = e.format.unwrap_or_default();
        self.sink.count("N5.29", format.to_lowercase(), 1);
        let ext = Path::new(&rel)
            .extension()
            .map(|x| x.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if format.to_lowercase() != ext {
            self.sink.error(
                "N5.29",
                Loc::at(FILE, offset, path.clone()),
                format!("format «{format}» does not match the extension of {rel}"),
            );
        }
        let n = self.ref_counts.entry(rel.clone()).or_insert(0);
        *n += 1;
        if *n == 2 {
            self.sink
                .count("N5.34", "files referenced more than once", 1);
        }
        self.facts.referenced.insert(rel.clone());
        let file: PathBuf = self.dir.join(&rel);
        if !file.is_file() {
            self.sink.error(
                "N5.32",
                Loc::at(FILE, offset, path),
                format!("referenced document file {rel} does not exist"),
            );
            return;
        }
        match sha256_file(&file) {
            Ok((sum, size)) => {
                self.sink.count("N5.30", "checksums checked", 1);
                match &e.sjekksum {
                    Some(doc) if doc.eq_ignore_ascii_case(&sum) => {}
                    Some(doc) => self.sink.error(
                        "N5.30",
                        Loc::at(FILE, offset, path.clone()),
                        format!("sjekksum {doc} does not match the SHA-256 {sum} of {rel}"),
                    ),
                    None => self.sink.error(
                        "N5.30",
                        Loc::at(FILE, offset, path.clone()),
                        format!("no sjekksum for {rel}"),
                    ),
                }
                if size == 0 {
                    self.sink.warn(
                        "N5.64",
                        Loc::at(FILE, offset, path.clone()),
                        format!("{rel} is empty (0 bytes)"),
                    );
                }
                match e.filstoerrelse.as_deref().map(str::parse::<u64>) {
                    Some(Ok(v)) if v == size => {}
                    Some(Ok(v)) => self.sink.error(
                        "HV.01",
                        Loc::at(FILE, offset, path),
                        format!("filstoerrelse {v} but {rel} has {size} bytes"),
                    ),
                    Some(Err(_)) => self.sink.error(
                        "HV.01",
                        Loc::at(FILE, offset, path),
                        format!(
                            "filstoerrelse «{}» is not a number",
                            e.filstoerrelse.unwrap_or_default()
                        ),
                    ),
                    None => self.sink.error(
                        "HV.01",
                        Loc::at(FILE, offset, path),
                        format!("no filstoerrelse for {rel}"),
                    ),
                }
            }
            Err(err) => self
                .sink
                .error("N5.30", Loc::at(FILE, offset, path), err.to_string()),
        }
    }

    fn finish(&mut self, addml: Option<&Addml>) {
        for (key, text, offset, path) in std::mem::take(&mut self.arkivdel_refs) {
            if !self.arkivdel_ids.contains(&key) {
                self.sink.error(
                    "N5.48",
                    Loc::at(FILE, offset, path),
                    format!("referanseArkivdel {text} is not the systemID of an arkivdel"),
                );
            }
        }
        for (key, text, offset, path) in std::mem::take(&mut self.sek_refs) {
            if !self.klasse_ids.contains(&key) {
                self.sink.error(
                    "N5.51",
                    Loc::at(FILE, offset, path),
                    format!(
                        "referanseSekundaerKlassifikasjon {text} is not the systemID of a klasse"
                    ),
                );
            }
        }
        if let Some((lo, hi)) = self.reg_dates.take() {
            self.sink.count("N5.27", format!("first {lo}"), 1);
            self.sink.count("N5.27", format!("last {hi}"), 1);
        }
        let n = |k: &str| self.counts.get(k).copied().unwrap_or(0);
        let (mapper, registreringer) = (n("mappe"), n("registrering"));
        let (skjerming, kassasjon, utfoert) =
            (n("skjerming"), n("kassasjon"), n("utfoertKassasjon"));
        self.sink.count("N5.42", "skjerming", skjerming);
        self.sink.count("N5.44", "kassasjon", kassasjon);
        self.sink.count("N5.45", "utfoertKassasjon", utfoert);
        let Some(addml) = addml else { return };
        let documented = addml.object("arkivstruktur");
        for (elem, actual, rule) in [
            ("mappe", mapper, "N5.10"),
            ("registrering", registreringer, "N5.16"),
        ] {
            let doc = documented.and_then(|o| o.occurrences.iter().find(|(e, _)| e == elem));
            match doc {
                Some((_, Ok(v))) if *v == actual => {}
                Some((_, Ok(v))) => self.sink.error(
                    rule,
                    Loc::file("arkivuttrekk.xml"),
                    format!(
                        "numberOfOccurrences {elem} is {v}, but arkivstruktur.xml has {actual}"
                    ),
                ),
                Some((_, Err(raw))) => self.sink.error(
                    rule,
                    Loc::file("arkivuttrekk.xml"),
                    format!("numberOfOccurrences {elem} «{raw}» is not a number"),
                ),
                None => self.sink.error(
                    rule,
                    Loc::file("arkivuttrekk.xml"),
                    format!("numberOfOccurrences {elem} is not documented for arkivstruktur"),
                ),
            }
        }
        for (flag, count, rule, what) in [
            (
                "inneholderSkjermetInformasjon",
                skjerming,
                "N5.42",
                "skjerming",
            ),
            (
                "inneholderDokumenterSomSkalKasseres",
                kassasjon,
                "N5.44",
                "kassasjon",
            ),
            (
                "omfatterDokumenterSomErKassert",
                utfoert,
                "N5.45",
                "utfoertKassasjon",
            ),
        ] {
            match addml.flag(flag).map(|v| v.to_ascii_lowercase()) {
                Some(v) if v == "true" || v == "false" => {
                    let claimed = v == "true";
                    if claimed != (count > 0) {
                        self.sink.error(
                            rule,
                            Loc::file("arkivuttrekk.xml"),
                            format!("{flag} is {v}, but arkivstruktur.xml has {count} {what}"),
                        );
                    }
                }
                Some(v) => self.sink.error(
                    rule,
                    Loc::file("arkivuttrekk.xml"),
                    format!("{flag} «{v}» is not true or false"),
                ),
                None => self.sink.error(
                    rule,
                    Loc::file("arkivuttrekk.xml"),
                    format!("{flag} is not documented"),
                ),
            }
        }
    }
}
