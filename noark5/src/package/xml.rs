//! The package's XML files: dias-mets.xml (DIAS METS), dias-premis.xml and log.xml (DIAS PREMIS)
//! and the package description `{uuid}.xml` (METS, schema submissionDescription.xsd).
//!
//! Shapes follow Arkade 5: the PREMIS files describe the tar as one `file` object with
//! identifier type `NO/RA`; METS lists files with SIZE, CHECKSUM and CHECKSUMTYPE="SHA-256" and
//! `file:`-relative hrefs. DIAS_PREMIS.xsd allows only the event types Adjustment, Disposal,
//! Migration, Creation, Ingestion and Deletion, so the packaging and the validation before it are
//! both recorded as `Creation` events, told apart by their eventDetail.

use super::files::PackageFile;
use super::meta::CheckedMetadata;
use crate::error::Result;
use crate::time::fmt_date;
use crate::xml::XmlOut;

const METS_DIAS: &str = "http://arkivverket.no/standarder/METS";
const METS_LOC: &str = "http://www.loc.gov/METS/";
const PREMIS: &str = "http://arkivverket.no/standarder/PREMIS";
const XLINK: &str = "http://www.w3.org/1999/xlink";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The METS profile named in both METS files.
pub const PROFILE: &str = "http://xml.ra.se/METS/RA_METS_eARD.xml";

/// The facts every XML file of one package shares.
pub(crate) struct Facts<'a> {
    pub(crate) uuid: &'a str,
    /// `xs:dateTime` of the packaging run.
    pub(crate) created: &'a str,
    pub(crate) meta: &'a CheckedMetadata,
    pub(crate) software: &'a str,
}

/// One PREMIS event.
pub(crate) struct Event {
    pub(crate) id: String,
    pub(crate) detail: String,
    /// "success" or "failure".
    pub(crate) outcome: &'static str,
    pub(crate) note: String,
}

/// dias-premis.xml (`events` empty) and log.xml (with events).
pub(crate) fn premis(f: &Facts, events: &[Event]) -> Result<Vec<u8>> {
    let mut x = XmlOut::new(Vec::new());
    x.record = "dias-premis.xml".into();
    x.decl()?;
    x.root(
        "premis:premis",
        &[
            ("xmlns:premis", PREMIS),
            ("xmlns:xlink", XLINK),
            ("xmlns:xsi", XSI),
            (
                "xsi:schemaLocation",
                "http://arkivverket.no/standarder/PREMIS dias-premis.xsd",
            ),
            ("version", "2.0"),
        ],
    )?;
    x.start_typed("premis:object", "premis:file")?;
    x.start("premis:objectIdentifier")?;
    x.text("premis:objectIdentifierType", "NO/RA")?;
    x.text("premis:objectIdentifierValue", f.uuid)?;
    x.end("premis:objectIdentifier")?;
    x.start("premis:preservationLevel")?;
    x.text("premis:preservationLevelValue", "full")?;
    x.end("premis:preservationLevel")?;
    x.start("premis:objectCharacteristics")?;
    x.text("premis:compositionLevel", "0")?;
    x.start("premis:format")?;
    x.start("premis:formatDesignation")?;
    x.text("premis:formatName", "tar")?;
    x.end("premis:formatDesignation")?;
    x.end("premis:format")?;
    x.end("premis:objectCharacteristics")?;
    x.end("premis:object")?;
    for e in events {
        x.start("premis:event")?;
        x.start("premis:eventIdentifier")?;
        x.text("premis:eventIdentifierType", "NO/RA")?;
        x.text("premis:eventIdentifierValue", &e.id)?;
        x.end("premis:eventIdentifier")?;
        x.text("premis:eventType", "Creation")?;
        x.text("premis:eventDateTime", f.created)?;
        x.text("premis:eventDetail", &e.detail)?;
        x.start("premis:eventOutcomeInformation")?;
        x.text("premis:eventOutcome", e.outcome)?;
        x.start("premis:eventOutcomeDetail")?;
        x.text("premis:eventOutcomeDetailNote", &e.note)?;
        x.end("premis:eventOutcomeDetail")?;
        x.end("premis:eventOutcomeInformation")?;
        x.start("premis:linkingAgentIdentifier")?;
        x.text("premis:linkingAgentIdentifierType", "NO/RA")?;
        x.text("premis:linkingAgentIdentifierValue", f.software)?;
        x.end("premis:linkingAgentIdentifier")?;
        x.start("premis:linkingObjectIdentifier")?;
        x.text("premis:linkingObjectIdentifierType", "NO/RA")?;
        x.text("premis:linkingObjectIdentifierValue", f.uuid)?;
        x.end("premis:linkingObjectIdentifier")?;
        x.end("premis:event")?;
    }
    x.end("premis:premis")?;
    x.finish()
}

fn header<W: std::io::Write>(x: &mut XmlOut<W>, f: &Facts, agents_min: usize) -> Result<()> {
    let m = f.meta;
    x.start_attrs(
        "metsHdr",
        &[("CREATEDATE", f.created), ("RECORDSTATUS", "NEW")],
    )?;
    let agent = |x: &mut XmlOut<W>, attrs: &[(&str, &str)], name: &str, notes: &[&str]| {
        x.start_attrs("agent", attrs)?;
        x.text("name", name)?;
        for n in notes {
            x.text("note", n)?;
        }
        x.end("agent")
    };
    let org = [("ROLE", "ARCHIVIST"), ("TYPE", "ORGANIZATION")];
    agent(x, &org, &m.archive_creator, &[])?;
    let contact_notes: Vec<&str> = [m.contact.phone.as_deref(), m.contact.email.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect();
    agent(
        x,
        &[("ROLE", "ARCHIVIST"), ("TYPE", "INDIVIDUAL")],
        &m.contact.name,
        &contact_notes,
    )?;
    let system_notes: Vec<&str> = m.system.version.as_deref().into_iter().collect();
    agent(
        x,
        &[
            ("ROLE", "ARCHIVIST"),
            ("TYPE", "OTHER"),
            ("OTHERTYPE", "SOFTWARE"),
        ],
        &m.system.name,
        &system_notes,
    )?;
    agent(
        x,
        &[("ROLE", "PRESERVATION"), ("TYPE", "ORGANIZATION")],
        &m.depot,
        &[],
    )?;
    agent(
        x,
        &[
            ("ROLE", "CREATOR"),
            ("TYPE", "OTHER"),
            ("OTHERTYPE", "SOFTWARE"),
        ],
        f.software,
        &[],
    )?;
    if agents_min > 5 {
        // DIAS METS wants at least six agents: the archive creator also as IP owner.
        agent(
            x,
            &[("ROLE", "IPOWNER"), ("TYPE", "ORGANIZATION")],
            &m.archive_creator,
            &[],
        )?;
    }
    x.text_attrs("altRecordID", &[("TYPE", "STARTDATE")], &fmt_date(&m.start))?;
    x.text_attrs("altRecordID", &[("TYPE", "ENDDATE")], &fmt_date(&m.end))?;
    // Arkade 5 (MetsCreator.CreateAltRecordIDs) pads to at least three altRecordIDs with empty
    // ones, an ESSArch requirement; hvelv has no delivery specification or agreement number to
    // put there, so it pads the same way.
    x.leaf_attrs("altRecordID", &[])?;
    Ok(())
}

fn file_entry<W: std::io::Write>(
    x: &mut XmlOut<W>,
    id: &str,
    use_: &str,
    file: &PackageFile,
    f: &Facts,
) -> Result<()> {
    let size = file.size.to_string();
    x.start_attrs(
        "file",
        &[
            ("ID", id),
            ("MIMETYPE", mime(&file.name)),
            ("USE", use_),
            ("SIZE", &size),
            ("CREATED", f.created),
            ("CHECKSUM", &file.sha256),
            ("CHECKSUMTYPE", "SHA-256"),
        ],
    )?;
    let href = format!("file:{}", file.name);
    x.leaf_attrs(
        "FLocat",
        &[
            ("LOCTYPE", "URL"),
            ("xlink:type", "simple"),
            ("xlink:href", &href),
        ],
    )?;
    x.end("file")
}

/// The MIME type, from the closed list DIAS_METS.xsd allows (it has e.g. `image/pdf`, not
/// `application/pdf`). A type outside that list is written as `text/plain`, the only neutral
/// value the list offers; the real format is in the file name and the extract's own metadata.
fn mime(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "xml" | "xsd" => "text/xml",
        "pdf" => "image/pdf",
        "tif" | "tiff" => "image/tiff",
        "jpg" | "jpeg" => "image/jpg",
        "mp3" => "audio/mp3",
        "mpg" | "mpeg" => "video/mpg",
        "tar" => "application/x-tar",
        _ => "text/plain",
    }
}

/// dias-mets.xml: every file of the package except itself. The extract's files are in the
/// fileGrp with USE="ArchiveExtraction"; the package's own metadata files in USE="FILES".
pub(crate) fn dias_mets(f: &Facts, premis: &PackageFile, files: &[PackageFile]) -> Result<Vec<u8>> {
    let mut x = XmlOut::new(Vec::new());
    x.record = "dias-mets.xml".into();
    x.decl()?;
    let objid = format!("UUID:{}", f.uuid);
    x.root(
        "mets",
        &[
            ("xmlns", METS_DIAS),
            ("xmlns:xlink", XLINK),
            ("xmlns:xsi", XSI),
            (
                "xsi:schemaLocation",
                "http://arkivverket.no/standarder/METS dias-mets.xsd",
            ),
            ("OBJID", &objid),
            ("PROFILE", PROFILE),
            ("TYPE", "SIP"),
            ("LABEL", &f.meta.label),
        ],
    )?;
    header(&mut x, f, 6)?;
    x.text("metsDocumentID", "dias-mets.xml")?;
    x.end("metsHdr")?;
    x.start_attrs("amdSec", &[("ID", "amdSec001")])?;
    x.start_attrs("digiprovMD", &[("ID", "digiprovMD001")])?;
    let size = premis.size.to_string();
    let href = format!("file:{}", premis.name);
    x.leaf_attrs(
        "mdRef",
        &[
            ("LOCTYPE", "URL"),
            ("xlink:type", "simple"),
            ("xlink:href", &href),
            ("MDTYPE", "PREMIS:OBJECT"),
            ("MIMETYPE", "text/xml"),
            ("SIZE", &size),
            ("CREATED", f.created),
            ("CHECKSUM", &premis.sha256),
            ("CHECKSUMTYPE", "SHA-256"),
        ],
    )?;
    x.end("digiprovMD")?;
    x.end("amdSec")?;
    x.start("fileSec")?;
    let (content, own): (Vec<_>, Vec<_>) = files
        .iter()
        .enumerate()
        .partition(|(_, p)| p.name.starts_with("content/"));
    for (grp, use_, list) in [
        ("fileGrp001", "FILES", own),
        ("fileGrp002", "ArchiveExtraction", content),
    ] {
        if list.is_empty() {
            continue;
        }
        x.start_attrs("fileGrp", &[("ID", grp), ("USE", use_)])?;
        for (i, file) in list {
            file_entry(&mut x, &format!("fileId_{}", i + 1), use_, file, f)?;
        }
        x.end("fileGrp")?;
    }
    x.end("fileSec")?;
    x.start_attrs("structMap", &[("TYPE", "physical")])?;
    x.start_attrs("div", &[("LABEL", "Package")])?;
    for i in 0..files.len() {
        x.leaf_attrs("fptr", &[("FILEID", &format!("fileId_{}", i + 1))])?;
    }
    x.end("div")?;
    x.end("structMap")?;
    x.end("mets")?;
    x.finish()
}

/// `{uuid}.xml`, the package description sent beside the tar: lists the tar and dias-mets.xml.
pub(crate) fn description(f: &Facts, tar: &PackageFile, mets: &PackageFile) -> Result<Vec<u8>> {
    let mut x = XmlOut::new(Vec::new());
    x.record = format!("{}.xml", f.uuid);
    x.decl()?;
    let objid = format!("UUID:{}", f.uuid);
    x.root(
        "mets",
        &[
            ("xmlns", METS_LOC),
            ("xmlns:xlink", XLINK),
            ("xmlns:xsi", XSI),
            ("xsi:schemaLocation", "http://www.loc.gov/METS/ info.xsd"),
            ("OBJID", &objid),
            ("PROFILE", PROFILE),
            ("TYPE", "SIP"),
            ("LABEL", &f.meta.label),
        ],
    )?;
    header(&mut x, f, 5)?;
    x.end("metsHdr")?;
    x.start("fileSec")?;
    x.start_attrs("fileGrp", &[("ID", "fileGrp001"), ("USE", "FILES")])?;
    file_entry(&mut x, "fileId_0", "Package", tar, f)?;
    file_entry(&mut x, "fileId_1", "Metadata", mets, f)?;
    x.end("fileGrp")?;
    x.end("fileSec")?;
    x.start_attrs("structMap", &[("TYPE", "physical")])?;
    x.start_attrs("div", &[("LABEL", "Package")])?;
    x.leaf_attrs("fptr", &[("FILEID", "fileId_0")])?;
    x.leaf_attrs("fptr", &[("FILEID", "fileId_1")])?;
    x.end("div")?;
    x.end("structMap")?;
    x.end("mets")?;
    x.finish()
}
