//! Writer for arkivuttrekk.xml: ADDML 8.3 filled in exactly in the order of Riksarkivaren's
//! Noark 5 template (`arkivuttrekk-template.xml`). Arkade reads parts of this file by position
//! (the version at `dataObject[0]`, `info` as the first property, `additionalInfo` second, the
//! counts of `arkivstruktur` from the first sub-dataObject), so the order is fixed here and
//! pinned by a golden test against the synthetic sample built from the template.

use super::{XmlOut, NS_ADDML, NS_XSI};
use crate::codes::Periodeskille;
use crate::error::Result;
use crate::time::{fmt_date, Date};
use std::io::Write;

/// One XML file of the extract as listed in arkivuttrekk.xml.
#[derive(Debug, Clone, PartialEq)]
pub struct FileEntry {
    /// dataObject name and file stem: `arkivstruktur`, `endringslogg`, `loependeJournal`,
    /// `offentligJournal`.
    pub name: String,
    /// Hex SHA-256 of the XML file's final bytes.
    pub checksum: String,
    /// Hex SHA-256 of the file's main schema (`<name>.xsd`).
    pub schema_checksum: String,
    /// Hex SHA-256 of metadatakatalog.xsd: given only for the first file (arkivstruktur); later
    /// files reference metadatakatalog.xsd by name only, as the template does.
    pub metadatakatalog_checksum: Option<String>,
    /// `numberOfOccurrences`: (element name, count), e.g. `("mappe", 12)`.
    pub occurrences: Vec<(String, u64)>,
}

/// Everything arkivuttrekk.xml states about an extract.
#[derive(Debug, Clone, PartialEq)]
pub struct AddmlInfo {
    /// Names of the arkivskapere (recordCreator, repeatable).
    pub record_creators: Vec<String>,
    /// systemType, e.g. «Sakarkiv (Noark-5)».
    pub system_type: String,
    /// systemName: the source system.
    pub system_name: String,
    /// archive: the name of the archive.
    pub archive: String,
    /// archivalPeriod startDate.
    pub start_date: Date,
    /// archivalPeriod endDate.
    pub end_date: Date,
    /// Noark 5 version written (`5.0`).
    pub version: String,
    /// inngaaendeSkille.
    pub inngaaende_skille: Periodeskille,
    /// utgaaendeSkille.
    pub utgaaende_skille: Periodeskille,
    /// inneholderSkjermetInformasjon: any `skjerming` in arkivstruktur.xml.
    pub inneholder_skjermet_informasjon: bool,
    /// omfatterDokumenterSomErKassert: any `utfoertKassasjon`.
    pub omfatter_dokumenter_som_er_kassert: bool,
    /// inneholderDokumenterSomSkalKasseres: any `kassasjon`.
    pub inneholder_dokumenter_som_skal_kasseres: bool,
    /// inneholderVirksomhetsspesifikkeMetadata.
    pub inneholder_virksomhetsspesifikke_metadata: bool,
    /// antallDokumentfiler: files in the document folder.
    pub antall_dokumentfiler: u64,
    /// The XML files, in template order (arkivstruktur first).
    pub files: Vec<FileEntry>,
}

fn prop_value<W: Write>(o: &mut XmlOut<W>, name: &str, value: &str) -> Result<()> {
    o.start_attrs("property", &[("name", name)])?;
    o.text("value", value)?;
    o.end("property")
}

fn typed_prop<W: Write>(o: &mut XmlOut<W>, data_type: &str, name: &str, value: &str) -> Result<()> {
    o.start_attrs("property", &[("dataType", data_type), ("name", name)])?;
    o.text("value", value)?;
    o.end("property")
}

fn additional<W: Write>(o: &mut XmlOut<W>, name: &str, value: &str) -> Result<()> {
    o.start_attrs("additionalElement", &[("name", name)])?;
    o.text("value", value)?;
    o.end("additionalElement")
}

/// `<property name="format"><value>XML</value>…version 1.0…</property>`
fn format_xml<W: Write>(o: &mut XmlOut<W>, name: &str, value: &str) -> Result<()> {
    o.start_attrs("property", &[("name", name)])?;
    o.text("value", value)?;
    o.start("properties")?;
    prop_value(o, "version", "1.0")?;
    o.end("properties")?;
    o.end("property")
}

fn checksum<W: Write>(o: &mut XmlOut<W>, hex: &str) -> Result<()> {
    o.start_attrs("property", &[("name", "checksum")])?;
    o.start("properties")?;
    prop_value(o, "algorithm", "SHA-256")?;
    prop_value(o, "value", hex)?;
    o.end("properties")?;
    o.end("property")
}

fn file_prop<W: Write>(o: &mut XmlOut<W>, file: &str, hex: &str) -> Result<()> {
    o.start_attrs("property", &[("name", "file")])?;
    o.start("properties")?;
    prop_value(o, "name", file)?;
    format_xml(o, "format", "XML")?;
    checksum(o, hex)?;
    o.end("properties")?;
    o.end("property")
}

fn schema_prop<W: Write>(
    o: &mut XmlOut<W>,
    main: bool,
    file: &str,
    hex: Option<&str>,
) -> Result<()> {
    o.start_attrs("property", &[("name", "schema")])?;
    if main {
        o.text("value", "main")?;
    }
    o.start("properties")?;
    match hex {
        Some(hex) => {
            file_prop(o, file, hex)?;
            format_xml(o, "type", "XML Schema")?;
        }
        None => {
            o.start_attrs("property", &[("name", "file")])?;
            o.start("properties")?;
            prop_value(o, "name", file)?;
            o.end("properties")?;
            o.end("property")?;
        }
    }
    o.end("properties")?;
    o.end("property")
}

/// Write arkivuttrekk.xml.
pub fn write_arkivuttrekk<W: Write>(inner: W, a: &AddmlInfo) -> Result<W> {
    let mut o = XmlOut::new(inner);
    o.record = "arkivuttrekk.xml".into();
    o.decl()?;
    let loc = format!("{NS_ADDML} addml.xsd");
    o.root(
        "addml",
        &[
            ("xmlns", NS_ADDML),
            ("xmlns:xsi", NS_XSI),
            ("xsi:schemaLocation", &loc),
            ("name", "Noark 5-arkivuttrekk"),
        ],
    )?;
    o.start("dataset")?;
    o.text("description", "Noark 5-arkivuttrekk")?;
    o.start("reference")?;
    o.start("context")?;
    o.start("additionalElements")?;
    o.start_attrs("additionalElement", &[("name", "recordCreators")])?;
    o.start("additionalElements")?;
    for c in &a.record_creators {
        additional(&mut o, "recordCreator", c)?;
    }
    o.end("additionalElements")?;
    o.end("additionalElement")?;
    additional(&mut o, "systemType", &a.system_type)?;
    additional(&mut o, "systemName", &a.system_name)?;
    additional(&mut o, "archive", &a.archive)?;
    o.end("additionalElements")?;
    o.end("context")?;
    o.start("content")?;
    o.start("additionalElements")?;
    o.start_attrs("additionalElement", &[("name", "archivalPeriod")])?;
    o.start("properties")?;
    prop_value(&mut o, "startDate", &fmt_date(&a.start_date))?;
    prop_value(&mut o, "endDate", &fmt_date(&a.end_date))?;
    o.end("properties")?;
    o.end("additionalElement")?;
    o.end("additionalElements")?;
    o.end("content")?;
    o.end("reference")?;

    o.start("dataObjects")?;
    o.start_attrs("dataObject", &[("name", "Noark 5-arkivuttrekk")])?;
    o.start("properties")?;
    o.start_attrs("property", &[("name", "info")])?;
    o.start("properties")?;
    o.start_attrs("property", &[("name", "type")])?;
    o.text("value", "Noark 5")?;
    o.start("properties")?;
    prop_value(&mut o, "version", &a.version)?;
    o.end("properties")?;
    o.end("property")?;
    o.start_attrs("property", &[("name", "additionalInfo")])?;
    o.start("properties")?;
    o.start_attrs("property", &[("name", "periode")])?;
    o.start("properties")?;
    prop_value(&mut o, "inngaaendeSkille", a.inngaaende_skille.as_str())?;
    prop_value(&mut o, "utgaaendeSkille", a.utgaaende_skille.as_str())?;
    o.end("properties")?;
    o.end("property")?;
    let b = |v: bool| if v { "true" } else { "false" };
    typed_prop(
        &mut o,
        "boolean",
        "inneholderSkjermetInformasjon",
        b(a.inneholder_skjermet_informasjon),
    )?;
    typed_prop(
        &mut o,
        "boolean",
        "omfatterDokumenterSomErKassert",
        b(a.omfatter_dokumenter_som_er_kassert),
    )?;
    typed_prop(
        &mut o,
        "boolean",
        "inneholderDokumenterSomSkalKasseres",
        b(a.inneholder_dokumenter_som_skal_kasseres),
    )?;
    typed_prop(
        &mut o,
        "boolean",
        "inneholderVirksomhetsspesifikkeMetadata",
        b(a.inneholder_virksomhetsspesifikke_metadata),
    )?;
    typed_prop(
        &mut o,
        "integer",
        "antallDokumentfiler",
        &a.antall_dokumentfiler.to_string(),
    )?;
    o.end("properties")?;
    o.end("property")?;
    o.end("properties")?;
    o.end("property")?;
    o.end("properties")?;

    o.start("dataObjects")?;
    for f in &a.files {
        o.start_attrs("dataObject", &[("name", &f.name)])?;
        o.start("properties")?;
        file_prop(&mut o, &format!("{}.xml", f.name), &f.checksum)?;
        schema_prop(
            &mut o,
            true,
            &format!("{}.xsd", f.name),
            Some(&f.schema_checksum),
        )?;
        schema_prop(
            &mut o,
            false,
            "metadatakatalog.xsd",
            f.metadatakatalog_checksum.as_deref(),
        )?;
        o.start_attrs("property", &[("name", "info")])?;
        o.start("properties")?;
        for (elem, count) in &f.occurrences {
            o.start_attrs("property", &[("name", "numberOfOccurrences")])?;
            o.text("value", elem)?;
            o.start("properties")?;
            prop_value(&mut o, "elementPath", &format!("//{elem}"))?;
            typed_prop(&mut o, "integer", "value", &count.to_string())?;
            o.end("properties")?;
            o.end("property")?;
        }
        o.end("properties")?;
        o.end("property")?;
        o.end("properties")?;
        o.end("dataObject")?;
    }
    o.end("dataObjects")?;
    o.end("dataObject")?;
    o.end("dataObjects")?;
    o.end("dataset")?;
    o.end("addml")?;
    o.finish()
}
