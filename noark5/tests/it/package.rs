//! Packaging (`package::create`) and package checking (`package::check_package`): the tar holds
//! exactly the DIAS layout, METS/PREMIS/description validate against
//! `../shared/noark5/package-schemas` with xmllint, every METS checksum is the real content's,
//! an extract with errors is refused unless forced (and then the failure is in log.xml), and the
//! METS and description of the small fixture are pinned by golden files (fixed uuid and clock).

use crate::util::{copy_tree, fixtures, shared, xmllint_available};
use hvelv_noark5::package::{check_package, create, PackageMetadata, PackageOptions};
use hvelv_noark5::validate::{validate, Report, ValidateOptions, XsdMode};
use hvelv_noark5::ErrorKind;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const UUID: &str = "3f2b0c1e-8d4a-4c6e-9b1a-2f5e7d9c0a11";

fn extract(shared: &Path, tmp: &Path) -> PathBuf {
    let src = tmp.join("extract");
    copy_tree(&fixtures().join("existing-v5.0-small"), &src);
    for x in [
        "addml.xsd",
        "arkivstruktur.xsd",
        "metadatakatalog.xsd",
        "endringslogg.xsd",
        "loependeJournal.xsd",
        "offentligJournal.xsd",
    ] {
        std::fs::copy(shared.join("schemas").join(x), src.join(x)).unwrap();
    }
    src
}

fn report(dir: &Path) -> Report {
    let xsd = if xmllint_available() {
        XsdMode::Xmllint
    } else {
        XsdMode::Skip
    };
    let opts = ValidateOptions {
        xsd,
        ..Default::default()
    };
    validate(dir, &opts).unwrap()
}

fn options(shared: &Path, force: bool) -> PackageOptions {
    PackageOptions {
        uuid: UUID.parse().unwrap(),
        created: "2026-01-02T03:04:05Z".parse().unwrap(),
        force,
        dias_schemas: shared.join("package-schemas"),
        software: "hvelv 0.1.0".into(),
    }
}

fn meta() -> hvelv_noark5::package::CheckedMetadata {
    let p = fixtures().join("package-metadata.json");
    PackageMetadata::from_file(&p)
        .unwrap()
        .checked("package-metadata.json")
        .unwrap()
}

/// Every entry of the tar: name → bytes (directories as empty with a trailing `/`).
fn entries(tar: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut a = tar::Archive::new(std::fs::File::open(tar).unwrap());
    let mut out = BTreeMap::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = String::from_utf8(e.path_bytes().into_owned()).unwrap();
        let mut buf = Vec::new();
        e.read_to_end(&mut buf).unwrap();
        out.insert(name, buf);
    }
    out
}

fn xmllint_pkg(shared: &Path, xsd: &str, xml: &Path) {
    let dir = shared.join("package-schemas");
    let out = Command::new("xmllint")
        .env("XML_CATALOG_FILES", dir.join("catalog.xml"))
        .args(["--nonet", "--noout", "--schema"])
        .arg(dir.join(xsd))
        .arg(xml)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} against {xsd}: {}",
        xml.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// (href, SIZE, CHECKSUM) of every `<file>` in a METS text, parsed independently of the crate.
fn mets_files(mets: &str) -> Vec<(String, u64, String)> {
    let attr = |chunk: &str, name: &str| -> String {
        let start = chunk.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        chunk[start..].split('"').next().unwrap().to_string()
    };
    mets.split("<file ")
        .skip(1)
        .map(|c| {
            let c = &c[..c.find("</file>").unwrap()];
            let href = attr(c, "xlink:href");
            (
                href.strip_prefix("file:").unwrap().to_string(),
                attr(c, "SIZE").parse().unwrap(),
                attr(c, "CHECKSUM"),
            )
        })
        .collect()
}

#[test]
fn package_has_the_dias_layout_valid_metadata_and_true_checksums() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = extract(&shared, tmp.path());
    let r = report(&src);
    assert_eq!(r.error_count(), 0, "{}", r.to_text());
    let out = tmp.path().join("out");
    let s = create(&src, &out, &meta(), &r, &options(&shared, false)).unwrap();
    assert_eq!(s.tar, out.join(format!("{UUID}.tar")));
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [format!("{UUID}.tar"), format!("{UUID}.xml")]);

    let got = entries(&s.tar);
    let mut expected: Vec<String> = [
        "",
        "dias-mets.xml",
        "dias-mets.xsd",
        "log.xml",
        "administrative_metadata/",
        "administrative_metadata/dias-premis.xml",
        "administrative_metadata/dias-premis.xsd",
        "administrative_metadata/arkivuttrekk.xml",
        "administrative_metadata/addml.xsd",
        "descriptive_metadata/",
        "content/",
    ]
    .iter()
    .map(|n| format!("{UUID}/{n}"))
    .collect();
    for e in walkdir::WalkDir::new(&src).min_depth(1) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(&src).unwrap().to_str().unwrap();
        let slash = if e.file_type().is_dir() { "/" } else { "" };
        expected.push(format!("{UUID}/content/{rel}{slash}"));
        if e.file_type().is_file() {
            let inside = &got[&format!("{UUID}/content/{rel}")];
            assert_eq!(inside, &std::fs::read(e.path()).unwrap(), "{rel} unchanged");
        }
    }
    expected.sort();
    let listed: Vec<String> = got.keys().cloned().collect();
    assert_eq!(listed, expected);

    // Every file but dias-mets.xml is listed with its true size and SHA-256.
    let mets = String::from_utf8(got[&format!("{UUID}/dias-mets.xml")].clone()).unwrap();
    let files = mets_files(&mets);
    assert_eq!(files.len(), s.files);
    assert_eq!(
        files.len(),
        got.iter().filter(|(k, _)| !k.ends_with('/')).count() - 1
    );
    for (href, size, sum) in &files {
        let bytes = &got[&format!("{UUID}/{href}")];
        assert_eq!(*size, bytes.len() as u64, "{href}");
        assert_eq!(sum, &hex::encode(Sha256::digest(bytes)), "{href}");
    }
    // The description lists the tar with its true checksum.
    let desc = std::fs::read_to_string(&s.description).unwrap();
    let d = mets_files(&desc);
    let tar_bytes = std::fs::read(&s.tar).unwrap();
    assert_eq!(d[0].0, format!("{UUID}.tar"));
    assert_eq!(d[0].2, hex::encode(Sha256::digest(&tar_bytes)));
    assert_eq!(d[1].2, hex::encode(Sha256::digest(mets.as_bytes())));

    if xmllint_available() {
        let x = tmp.path().join("x");
        std::fs::create_dir(&x).unwrap();
        for (name, xsd) in [
            ("dias-mets.xml", "DIAS_METS.xsd"),
            ("log.xml", "DIAS_PREMIS.xsd"),
            ("administrative_metadata/dias-premis.xml", "DIAS_PREMIS.xsd"),
        ] {
            let p = x.join(name.replace('/', "_"));
            std::fs::write(&p, &got[&format!("{UUID}/{name}")]).unwrap();
            xmllint_pkg(&shared, xsd, &p);
        }
        xmllint_pkg(&shared, "submissionDescription.xsd", &s.description);
    }

    let c = check_package(&s.tar).unwrap();
    assert_eq!(c.uuid, UUID);
    assert!(c.description_checked);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(c.verified, s.files);
    // What archive put records: the whole tar's digest, and each member's content at its offset.
    let bytes = std::fs::read(&s.tar).unwrap();
    assert_eq!(c.tar_size, bytes.len() as u64);
    assert_eq!(c.tar_sha256, hex::encode(Sha256::digest(&bytes)));
    assert_eq!(c.members.len(), c.files);
    for m in &c.members {
        let at = m.offset as usize;
        let content = &bytes[at..at + m.size as usize];
        assert_eq!(hex::encode(Sha256::digest(content)), m.sha256, "{}", m.name);
    }
    assert!(c.facts.missing().is_empty(), "{:?}", c.facts);
}

#[test]
fn golden_mets_and_description_of_the_small_fixture() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = extract(&shared, tmp.path());
    let out = tmp.path().join("out");
    let s = create(&src, &out, &meta(), &report(&src), &options(&shared, false)).unwrap();
    let got = entries(&s.tar);
    let golden = fixtures().join("golden/package");
    let update = std::env::var_os("HVELV_UPDATE_GOLDEN").is_some();
    for (name, actual) in [
        (
            "dias-mets.xml",
            got[&format!("{UUID}/dias-mets.xml")].clone(),
        ),
        ("log.xml", got[&format!("{UUID}/log.xml")].clone()),
        ("description.xml", std::fs::read(&s.description).unwrap()),
    ] {
        let actual = String::from_utf8(actual).unwrap();
        let g = golden.join(name);
        if update {
            std::fs::create_dir_all(&golden).unwrap();
            std::fs::write(&g, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&g)
            .unwrap_or_else(|_| panic!("{} missing; run with HVELV_UPDATE_GOLDEN=1", g.display()));
        assert_eq!(
            actual, expected,
            "{name} differs from its golden file (HVELV_UPDATE_GOLDEN=1 updates)"
        );
    }
}

#[test]
fn extract_with_errors_is_refused_unless_forced() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = extract(&shared, tmp.path());
    let doc = walkdir::WalkDir::new(src.join("DOKUMENT"))
        .into_iter()
        .map(|e| e.unwrap())
        .find(|e| e.file_type().is_file())
        .unwrap();
    std::fs::write(doc.path(), b"changed after the extract was made").unwrap();
    let r = report(&src);
    assert!(r.error_count() > 0);
    let out = tmp.path().join("out");
    let e = create(&src, &out, &meta(), &r, &options(&shared, false)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Rejected);
    assert!(e.to_string().contains("--force"), "{e}");
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());

    let s = create(&src, &out, &meta(), &r, &options(&shared, true)).unwrap();
    assert_eq!(s.validation_errors, r.error_count());
    let log = String::from_utf8(entries(&s.tar)[&format!("{UUID}/log.xml")].clone()).unwrap();
    assert!(
        log.contains("<premis:eventOutcome>failure</premis:eventOutcome>"),
        "{log}"
    );
    assert!(
        log.contains(&format!("{} errors", r.error_count())),
        "{log}"
    );
}

#[test]
fn missing_metadata_is_named() {
    let mut m = PackageMetadata::from_file(&fixtures().join("package-metadata.json")).unwrap();
    m.depot = None;
    let e = m.checked("meta.json").unwrap_err();
    assert_eq!(
        e.to_string(),
        "meta.json: field `depot`: missing: give it in the metadata file or with --depot"
    );
    let mut m = PackageMetadata::from_file(&fixtures().join("package-metadata.json")).unwrap();
    m.period.as_mut().unwrap().end = "2019-13-01".into();
    let e = m.checked("meta.json").unwrap_err();
    assert!(e.to_string().contains("period.end"), "{e}");
}

#[test]
fn check_finds_a_flipped_byte_and_names_the_file() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = extract(&shared, tmp.path());
    let out = tmp.path().join("out");
    let s = create(&src, &out, &meta(), &report(&src), &options(&shared, false)).unwrap();
    let mut bytes = std::fs::read(&s.tar).unwrap();
    let needle = std::fs::read(src.join("endringslogg.xml")).unwrap();
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .unwrap();
    bytes[at + needle.len() / 2] ^= 0x01;
    std::fs::write(&s.tar, &bytes).unwrap();
    let c = check_package(&s.tar).unwrap();
    assert_eq!(c.problems.len(), 2, "{:?}", c.problems);
    let tar_line = format!("{UUID}.xml: {UUID}.tar has size");
    assert!(c.problems[0].starts_with(&tar_line), "{:?}", c.problems);
    assert!(
        c.problems[1].starts_with("content/endringslogg.xml: SHA-256"),
        "{:?}",
        c.problems
    );
}

#[test]
fn a_tar_that_is_not_a_package_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&p).unwrap());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "notes/a.txt", &b"abc"[..]).unwrap();
    b.finish().unwrap();
    drop(b);
    let c = check_package(&p).unwrap();
    assert!(
        c.problems.iter().any(|m| m.contains("not a UUID")),
        "{:?}",
        c.problems
    );
    assert!(
        c.problems
            .iter()
            .any(|m| m.starts_with("dias-mets.xml: missing")),
        "{:?}",
        c.problems
    );
}

#[test]
fn failures_leave_no_file_behind_and_never_overwrite() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = extract(&shared, tmp.path());
    let r = report(&src);
    let out = tmp.path().join("out");
    let mut o = options(&shared, false);
    let schemas = tmp.path().join("dias");
    std::fs::create_dir(&schemas).unwrap();
    std::fs::copy(
        shared.join("package-schemas/DIAS_METS.xsd"),
        schemas.join("DIAS_METS.xsd"),
    )
    .unwrap();
    o.dias_schemas = schemas;
    let e = create(&src, &out, &meta(), &r, &o).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Schemas);
    assert!(e.to_string().contains("lacks DIAS_PREMIS.xsd"), "{e}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);

    let o = options(&shared, false);
    create(&src, &out, &meta(), &r, &o).unwrap();
    let before = std::fs::read(out.join(format!("{UUID}.tar"))).unwrap();
    let e = create(&src, &out, &meta(), &r, &o).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Output);
    assert!(e.to_string().contains("never overwritten"), "{e}");
    assert_eq!(
        std::fs::read(out.join(format!("{UUID}.tar"))).unwrap(),
        before
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 2);
}
