//! The rule catalogue: Arkade 5's Noark 5 test ids (N5.xx, Systemdokumentasjon "List of
//! implemented Noark5 Tests") and hvelv's additional checks (HV.xx).

/// (id, title) of every rule, in report order.
pub const RULES: &[(&str, &str)] = &[
    ("N5.01", "Files listed in arkivuttrekk.xml exist"),
    ("N5.02", "SHA-256 checksums of listed files"),
    ("N5.03", "XML files validate against their listed schemas"),
    ("N5.04", "Number of arkiv, per level"),
    ("N5.05", "Number of arkivdeler"),
    ("N5.06", "Status of the arkivdeler"),
    ("N5.07", "Number of klassifikasjonssystemer"),
    ("N5.08", "Number of klasser per level"),
    (
        "N5.09",
        "Classes without subclasses, folders or registrations",
    ),
    ("N5.10", "Number of mapper per type and level"),
    ("N5.11", "Number of mapper per year"),
    ("N5.12", "Classes with both subclasses and folders"),
    ("N5.13", "Number of mapper per klasse"),
    ("N5.14", "Mapper without registrations or subfolders"),
    ("N5.15", "Number of each saksstatus"),
    ("N5.16", "Number of registreringer per type"),
    ("N5.17", "Number of each journalposttype"),
    ("N5.18", "Number of registreringer per year"),
    ("N5.19", "Classes with both subclasses and registrations"),
    ("N5.20", "Registreringer directly under klasse"),
    ("N5.21", "Registreringer without dokumentbeskrivelse"),
    ("N5.22", "Number of each journalstatus"),
    ("N5.23", "Number of dokumentbeskrivelser"),
    ("N5.24", "Dokumentbeskrivelser without dokumentobjekt"),
    ("N5.25", "Number of each dokumentstatus"),
    ("N5.26", "Number of dokumentobjekter"),
    ("N5.27", "First and last registrering (opprettetDato)"),
    (
        "N5.28",
        "Files in the document folder vs antallDokumentfiler",
    ),
    (
        "N5.29",
        "Number of documents per format; format vs file extension",
    ),
    ("N5.30", "SHA-256 of referenced document files"),
    ("N5.32", "Referenced document files exist"),
    ("N5.33", "Document files not referenced"),
    ("N5.34", "Document files referenced more than once"),
    ("N5.35", "Number of parter"),
    ("N5.36", "Number of merknader"),
    ("N5.37", "Number of kryssreferanser"),
    ("N5.38", "Number of presedenser"),
    ("N5.39", "Number of korrespondanseparter"),
    ("N5.40", "Number of avskrivninger"),
    ("N5.41", "Number of dokumentflyter"),
    (
        "N5.42",
        "Number of skjerminger vs inneholderSkjermetInformasjon",
    ),
    ("N5.43", "Number of graderinger"),
    (
        "N5.44",
        "Number of kassasjoner vs inneholderDokumenterSomSkalKasseres",
    ),
    (
        "N5.45",
        "Number of utførte kassasjoner vs omfatterDokumenterSomErKassert",
    ),
    ("N5.46", "Number of konverteringer"),
    ("N5.47", "systemID is unique"),
    ("N5.48", "referanseArkivdel points to an arkivdel"),
    (
        "N5.51",
        "referanseSekundaerKlassifikasjon points to a klasse",
    ),
    (
        "N5.59",
        "Number of journalposter in arkivstruktur and the journals",
    ),
    ("N5.60", "Journal dates in arkivstruktur and the journals"),
    ("N5.61", "Number of endringer in endringslogg.xml"),
    (
        "N5.62",
        "endringslogg references point to systemIDs in arkivstruktur",
    ),
    ("N5.63", "Elements without content"),
    ("N5.64", "Referenced document files of 0 bytes"),
    ("HV.01", "filstoerrelse equals the real file size"),
    (
        "HV.02",
        "Journal counts in arkivuttrekk.xml equal the journals",
    ),
    ("HV.03", "arkivuttrekk.xml is readable and complete"),
    (
        "HV.04",
        "Shipped schemas are the official ones of the declared version",
    ),
];

/// The title of a rule.
pub fn title(rule: &str) -> &'static str {
    RULES
        .iter()
        .find(|(id, _)| *id == rule)
        .map_or("", |(_, t)| t)
}
