//! Reading arkivuttrekk.xml (ADDML). The file is small, so it is read into a simple tree and
//! looked up by property *name*, which also copes with the property order variations found in
//! real extracts (Arkade's own fixtures put `additionalInfo` before `type`).

use crate::error::{Error, Result};
use quick_xml::events::Event;
use std::path::Path;

#[derive(Debug, Default)]
struct Node {
    name: String,
    attr_name: Option<String>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// `properties/property[@name=name]` (first).
    fn prop<'a>(&'a self, name: &str) -> Option<&'a Node> {
        self.child("properties")?
            .children
            .iter()
            .find(|p| p.name == "property" && p.attr_name.as_deref() == Some(name))
    }

    fn props<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.child("properties")
            .into_iter()
            .flat_map(|p| p.children_named("property"))
            .filter(move |p| p.attr_name.as_deref() == Some(name))
    }

    fn value(&self) -> Option<&str> {
        self.child("value").map(|v| v.text.trim())
    }
}

/// A checksum as documented: (algorithm, value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Documented {
    pub(crate) algorithm: Option<String>,
    pub(crate) value: Option<String>,
}

/// A schema listed for a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaRef {
    pub(crate) name: String,
    pub(crate) main: bool,
    pub(crate) checksum: Option<Documented>,
}

/// One listed XML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DataObject {
    pub(crate) object_name: String,
    pub(crate) file: Option<String>,
    pub(crate) checksum: Option<Documented>,
    pub(crate) schemas: Vec<SchemaRef>,
    /// (element, documented count or the raw text that did not parse).
    pub(crate) occurrences: Vec<(String, std::result::Result<u64, String>)>,
}

/// What the validator needs from arkivuttrekk.xml.
#[derive(Debug, Clone, Default)]
pub(crate) struct Addml {
    pub(crate) version: Option<String>,
    pub(crate) inngaaende: Option<String>,
    pub(crate) utgaaende: Option<String>,
    pub(crate) flags: Vec<(String, Option<String>)>,
    pub(crate) antall_dokumentfiler: Option<String>,
    pub(crate) objects: Vec<DataObject>,
}

impl Addml {
    pub(crate) fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Both period boundaries are exactly `skarpt`.
    pub(crate) fn sharp(&self) -> bool {
        self.inngaaende.as_deref() == Some("skarpt") && self.utgaaende.as_deref() == Some("skarpt")
    }

    pub(crate) fn object(&self, stem: &str) -> Option<&DataObject> {
        let file = format!("{stem}.xml");
        self.objects
            .iter()
            .find(|o| o.file.as_deref() == Some(file.as_str()))
    }
}

fn parse_tree(path: &Path) -> Result<Node> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("reading", path, e))?;
    parse_tree_bytes(&bytes, path)
}

/// Parse ADDML held in memory; `path` names it in errors.
fn parse_tree_bytes(bytes: &[u8], path: &Path) -> Result<Node> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut r = quick_xml::Reader::from_reader(bytes);
    let mut stack: Vec<Node> = vec![Node::default()];
    let xml_err = |pos: u64, m: String| Error::Xml {
        file: path.to_path_buf(),
        position: pos,
        message: m,
    };
    loop {
        let pos = r.buffer_position();
        match r.read_event() {
            Ok(Event::Start(s)) => {
                let mut n = Node {
                    name: String::from_utf8_lossy(s.local_name().as_ref()).into_owned(),
                    ..Default::default()
                };
                if let Ok(Some(a)) = s.try_get_attribute("name") {
                    n.attr_name = a.unescape_value().ok().map(|v| v.into_owned());
                }
                stack.push(n);
            }
            Ok(Event::Empty(s)) => {
                let mut n = Node {
                    name: String::from_utf8_lossy(s.local_name().as_ref()).into_owned(),
                    ..Default::default()
                };
                if let Ok(Some(a)) = s.try_get_attribute("name") {
                    n.attr_name = a.unescape_value().ok().map(|v| v.into_owned());
                }
                if let Some(top) = stack.last_mut() {
                    top.children.push(n);
                }
            }
            Ok(Event::Text(t)) => {
                let t = t.unescape().map_err(|e| xml_err(pos, e.to_string()))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t);
                }
            }
            Ok(Event::CData(t)) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Ok(Event::End(_)) => {
                let n = stack
                    .pop()
                    .ok_or_else(|| xml_err(pos, "unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(top) => top.children.push(n),
                    None => return Err(xml_err(pos, "unbalanced end tag".into())),
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(xml_err(r.error_position(), e.to_string())),
        }
    }
    if stack.len() != 1 {
        return Err(xml_err(
            r.buffer_position(),
            "unexpected end of file".into(),
        ));
    }
    stack
        .pop()
        .ok_or_else(|| xml_err(0, "empty document".into()))
}

fn documented(checksum: &Node) -> Documented {
    Documented {
        algorithm: checksum
            .prop("algorithm")
            .and_then(|n| n.value())
            .map(str::to_string),
        value: checksum
            .prop("value")
            .and_then(|n| n.value())
            .map(str::to_string),
    }
}

/// What arkivuttrekk.xml's `reference/context` and `content` say about the extract.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Context {
    /// `recordCreators/recordCreator` values.
    pub(crate) creators: Vec<String>,
    /// `archive`.
    pub(crate) archive: Option<String>,
    /// `archivalPeriod` startDate and endDate.
    pub(crate) start: Option<String>,
    pub(crate) end: Option<String>,
}

/// Every `additionalElement` named `name` below `n`, in document order.
fn find_additional<'a>(n: &'a Node, name: &str, out: &mut Vec<&'a Node>) {
    for ch in &n.children {
        if ch.name == "additionalElement" && ch.attr_name.as_deref() == Some(name) {
            out.push(ch);
        }
        find_additional(ch, name, out);
    }
}

/// Read the context (creators, archive, period) from ADDML bytes; `path` names it in errors.
pub(crate) fn read_context(bytes: &[u8], path: &Path) -> Result<Context> {
    let doc = parse_tree_bytes(bytes, path)?;
    let mut c = Context::default();
    let Some(reference) = doc
        .child("addml")
        .and_then(|a| a.child("dataset"))
        .and_then(|d| d.child("reference"))
    else {
        return Ok(c);
    };
    let additional = |name: &str| {
        let mut out = Vec::new();
        find_additional(reference, name, &mut out);
        out
    };
    let nonempty = |v: Option<&str>| v.filter(|s| !s.is_empty()).map(str::to_string);
    c.creators = additional("recordCreator")
        .iter()
        .filter_map(|n| nonempty(n.value()))
        .collect();
    c.archive = additional("archive")
        .first()
        .and_then(|n| nonempty(n.value()));
    if let Some(p) = additional("archivalPeriod").first() {
        c.start = nonempty(p.prop("startDate").and_then(|v| v.value()));
        c.end = nonempty(p.prop("endDate").and_then(|v| v.value()));
    }
    Ok(c)
}

/// Read arkivuttrekk.xml.
pub(crate) fn read(path: &Path) -> Result<Addml> {
    let doc = parse_tree(path)?;
    let root = doc.child("addml").ok_or_else(|| Error::Xml {
        file: path.to_path_buf(),
        position: 0,
        message: "the root element is not <addml>".into(),
    })?;
    let mut a = Addml::default();
    let top = root
        .child("dataset")
        .and_then(|d| d.child("dataObjects"))
        .and_then(|d| d.child("dataObject"));
    let Some(top) = top else {
        return Ok(a);
    };
    let info = top.prop("info");
    if let Some(info) = info {
        if let Some(t) = info.prop("type") {
            a.version = t
                .prop("version")
                .and_then(|v| v.value())
                .map(str::to_string);
        }
        if let Some(ai) = info.prop("additionalInfo") {
            if let Some(p) = ai.prop("periode") {
                a.inngaaende = p
                    .prop("inngaaendeSkille")
                    .and_then(|v| v.value())
                    .map(str::to_string);
                a.utgaaende = p
                    .prop("utgaaendeSkille")
                    .and_then(|v| v.value())
                    .map(str::to_string);
            }
            for name in [
                "inneholderSkjermetInformasjon",
                "omfatterDokumenterSomErKassert",
                "inneholderDokumenterSomSkalKasseres",
                "inneholderVirksomhetsspesifikkeMetadata",
            ] {
                let v = ai.prop(name).and_then(|v| v.value()).map(str::to_string);
                a.flags.push((name.to_string(), v));
            }
            a.antall_dokumentfiler = ai
                .prop("antallDokumentfiler")
                .and_then(|v| v.value())
                .map(str::to_string);
        }
    }
    if let Some(objs) = top.child("dataObjects") {
        for o in objs.children_named("dataObject") {
            let file = o.prop("file");
            let mut d = DataObject {
                object_name: o.attr_name.clone().unwrap_or_default(),
                file: file
                    .and_then(|f| f.prop("name"))
                    .and_then(|n| n.value())
                    .map(str::to_string),
                checksum: file.and_then(|f| f.prop("checksum")).map(documented),
                schemas: Vec::new(),
                occurrences: Vec::new(),
            };
            for s in o.props("schema") {
                let sf = s.prop("file");
                if let Some(name) = sf.and_then(|f| f.prop("name")).and_then(|n| n.value()) {
                    d.schemas.push(SchemaRef {
                        name: name.to_string(),
                        main: s.value() == Some("main"),
                        checksum: sf.and_then(|f| f.prop("checksum")).map(documented),
                    });
                }
            }
            if let Some(info) = o.prop("info") {
                for occ in info.props("numberOfOccurrences") {
                    let elem = occ.value().unwrap_or_default().to_string();
                    let raw = occ
                        .prop("value")
                        .and_then(|v| v.value())
                        .unwrap_or_default();
                    d.occurrences
                        .push((elem, raw.parse::<u64>().map_err(|_| raw.to_string())));
                }
            }
            a.objects.push(d);
        }
    }
    Ok(a)
}
