//! The archive store end to end (issue 6): case export → extract → validate → package →
//! archive put → verify → get, damage found and named, bad input refused with nothing stored,
//! retention leaving archive snapshots alone, the secure-zone flow leaving no workdir behind,
//! and documents taken from a backup snapshot. Fixtures and schemas of `../shared/noark5` are
//! used by path, as in `noark5_package.rs`.

use crate::noark5_package::{fixtures, shared};
use crate::util::Env;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

const ARCHIVE_PASSWORD: &str = "archive password";

fn xmllint() -> bool {
    std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// A test setup: a backup repository (`env.repo()`) and a separate archive repository.
struct Archive {
    env: Env,
    shared: PathBuf,
}

impl Archive {
    fn new() -> Option<Archive> {
        let shared = shared()?;
        let a = Archive {
            env: Env::new(),
            shared,
        };
        a.env.init(&[]);
        let out = a
            .env
            .cmd()
            .env("HVELV_PASSWORD", ARCHIVE_PASSWORD)
            .args(["init", "--kdf-memory", "8", "--kdf-passes", "1", "-r"])
            .arg(a.archive_repo())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        Some(a)
    }
    fn archive_repo(&self) -> PathBuf {
        self.env.path("archive-repo")
    }
    /// Run hvelv with both repositories set; assert the exit code.
    fn run(&self, args: &[String], code: i32) -> (String, String) {
        let out: Output = self
            .env
            .cmd()
            .env("HVELV_ARCHIVE_REPOSITORY", self.archive_repo())
            .env("HVELV_ARCHIVE_PASSWORD", ARCHIVE_PASSWORD)
            .env_remove("HVELV_ARCHIVE_PASSWORD_FILE")
            .env_remove("HVELV_ARCHIVE_PASSWORD_COMMAND")
            .args(args)
            .output()
            .unwrap();
        let (o, e) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "hvelv {args:?}\nstdout: {o}\nstderr: {e}"
        );
        (o, e)
    }
    fn json(&self, args: &[&str], code: i32) -> Value {
        let mut a: Vec<String> = args.iter().map(|x| x.to_string()).collect();
        a.push("--json".into());
        let (o, _) = self.run(&a, code);
        serde_json::from_str(&o).unwrap_or_else(|e| panic!("{e}: {o}"))
    }
    fn args(&self, a: &[&str]) -> Vec<String> {
        a.iter().map(|x| x.to_string()).collect()
    }
    fn schemas(&self) -> String {
        s(&self.shared.join("schemas"))
    }
    fn xsd_flag(&self) -> Vec<String> {
        if xmllint() {
            vec![]
        } else {
            vec!["--skip-xsd".into()]
        }
    }
    /// extract from the JSON Lines fixture → validate (0 errors) → package; returns the tar.
    fn package(&self, name: &str) -> PathBuf {
        let ex = self.env.path(&format!("{name}-extract"));
        let mut a = self.args(&["noark5", "extract", "--from-jsonl"]);
        a.push(s(&fixtures().join("jsonl-small")));
        a.extend(["-o".into(), s(&ex), "--schemas".into(), self.schemas()]);
        a.extend(self.xsd_flag());
        self.run(&a, 0);
        let mut v = self.args(&["noark5", "validate"]);
        v.extend([s(&ex), "--schemas".into(), self.schemas()]);
        v.extend(self.xsd_flag());
        let (o, _) = self.run(&v, 0);
        assert!(o.contains("0 error"), "{o}");
        let out = self.env.path(&format!("{name}-package"));
        let mut p = self.args(&["noark5", "package"]);
        p.extend([
            s(&ex),
            "--out".into(),
            s(&out),
            "--metadata".into(),
            s(&fixtures().join("package-metadata.json")),
            "--dias-schemas".into(),
            s(&self.shared.join("package-schemas")),
            "--schemas".into(),
            self.schemas(),
        ]);
        p.extend(self.xsd_flag());
        self.run(&p, 0);
        let tar = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "tar"))
            .unwrap();
        let (o, _) = self.run(&self.args(&["noark5", "validate", &s(&tar)]), 0);
        assert!(o.contains("0 problem(s)"), "{o}");
        if xmllint() {
            let dir = self.shared.join("package-schemas");
            let desc = tar.with_extension("xml");
            let r = std::process::Command::new("xmllint")
                .env("XML_CATALOG_FILES", dir.join("catalog.xml"))
                .args(["--nonet", "--noout", "--schema"])
                .arg(dir.join("submissionDescription.xsd"))
                .arg(&desc)
                .output()
                .unwrap();
            assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        }
        tar
    }
    fn archive_files(&self) -> usize {
        std::fs::read_dir(self.archive_repo().join("archive"))
            .map(|r| r.count())
            .unwrap_or(0)
    }
}

fn sha256(p: &Path) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(std::fs::read(p).unwrap()))
}

#[test]
fn archive_round_trip_verify_get_and_retention() {
    let Some(a) = Archive::new() else { return };
    let tar = a.package("p");
    let uuid = tar.file_stem().unwrap().to_str().unwrap().to_string();

    let put = a.json(&["archive", "put", &s(&tar)], 0);
    let id = put["snapshot"].as_str().unwrap().to_string();
    assert_eq!(put["archive"]["package_id"], uuid.as_str());
    assert_eq!(put["archive"]["archive_creator"], "Eksempel kommune");
    assert_eq!(put["archive"]["period_start"], "2020-01-01");
    assert_eq!(put["archive"]["period_end"], "2023-12-31");
    assert_eq!(put["event"]["event_type"], "ingestion");
    assert_eq!(put["event"]["outcome"], "success");
    assert!(put["files"][0]["members"].as_u64().unwrap() > 10, "{put}");

    let v = a.json(&["archive", "verify", &id[..8]], 0);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["events"][0]["event_type"], "fixity check");
    assert!(v["events"][0]["agent"]
        .as_str()
        .unwrap()
        .starts_with("hvelv "));
    let list = a.json(&["archive", "list"], 0);
    assert_eq!(list["snapshots"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(
        list["snapshots"][0]["last_fixity"]["event_type"],
        "fixity check"
    );
    assert_eq!(list["snapshots"][0]["last_fixity"]["outcome"], "success");
    assert_eq!(
        list["snapshots"][0]["files"][0]["sha256"],
        sha256(&tar).as_str()
    );

    // get: the identical tar (and description), verified; never overwrites.
    let got = a.env.path("got");
    a.run(&a.args(&["archive", "get", &id, "--target", &s(&got)]), 0);
    let back = got.join(format!("{uuid}.tar"));
    assert_eq!(sha256(&back), sha256(&tar));
    assert_eq!(
        std::fs::read(got.join(format!("{uuid}.xml"))).unwrap(),
        std::fs::read(tar.with_extension("xml")).unwrap()
    );
    let (_, e) = a.run(&a.args(&["archive", "get", &id, "--target", &s(&got)]), 1);
    assert!(e.contains("already exists"), "{e}");

    // Retention: forget in the archive repository removes ordinary snapshots, never the
    // archive snapshot, and says so; `forget ID` refuses it.
    let repo = s(&a.archive_repo());
    let plain = a.env.path("plain");
    std::fs::create_dir_all(&plain).unwrap();
    std::fs::write(plain.join("f"), b"x").unwrap();
    let mut b = a.env.cmd();
    b.env("HVELV_PASSWORD", ARCHIVE_PASSWORD)
        .args(["backup", "-r", &repo])
        .arg(&plain);
    assert!(b.output().unwrap().status.success());
    let forget = |args: &[&str]| {
        let o = a
            .env
            .cmd()
            .env("HVELV_PASSWORD", ARCHIVE_PASSWORD)
            .args(["forget", "-r", &repo])
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, out, err) = forget(&["--keep-tag", "none-has-this"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(err.contains("skipping 1 archive snapshot"), "{err}");
    assert!(out.contains("remove"), "the ordinary snapshot goes: {out}");
    let (code, _, err) = forget(&[&id]);
    assert_eq!(code, Some(1));
    assert!(err.contains("archive remove"), "{err}");
    let list = a.json(&["archive", "list"], 0);
    assert_eq!(
        list["snapshots"].as_array().unwrap().len(),
        1,
        "still there: {list}"
    );

    // An offsite copy carries the fixity manifest and verifies on its own.
    let offsite = s(&a.env.path("offsite"));
    let hv = |args: &[&str]| {
        let o = a
            .env
            .cmd()
            .env("HVELV_PASSWORD", "offsite password")
            .env("HVELV_FROM_PASSWORD", ARCHIVE_PASSWORD)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {o:?}");
    };
    hv(&[
        "init",
        "-r",
        &offsite,
        "--kdf-memory",
        "8",
        "--kdf-passes",
        "1",
        "--copy-chunker-params-from",
        &repo,
    ]);
    hv(&["copy", "--from", &repo, "--to", &offsite, "--all"]);
    let o = a
        .env
        .cmd()
        .env("HVELV_ARCHIVE_REPOSITORY", &offsite)
        .env("HVELV_ARCHIVE_PASSWORD", "offsite password")
        .args(["archive", "verify", "--all", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["events"].as_array().unwrap().len(), 1, "{v}");

    // Removal needs a reason and is logged; the log outlives the snapshot.
    a.run(&a.args(&["archive", "remove", &id]), 2);
    a.run(
        &a.args(&[
            "archive",
            "remove",
            &id,
            "--reason",
            "deposited at IKA, receipt 2026-77",
        ]),
        0,
    );
    let list = a.json(&["archive", "list"], 0);
    assert!(list["snapshots"].as_array().unwrap().is_empty(), "{list}");
    assert_eq!(list["removed"][0]["snapshot"], id.as_str());
    assert!(list["removed"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("receipt 2026-77"));
}

#[test]
fn archive_verify_names_the_file_a_flipped_bit_damaged() {
    let Some(a) = Archive::new() else { return };
    let tar = a.package("p");
    let uuid = tar.file_stem().unwrap().to_str().unwrap().to_string();
    let put = a.json(&["archive", "put", &s(&tar)], 0);
    let id = put["snapshot"].as_str().unwrap().to_string();
    // Flip one bit in the middle of the largest pack (the tar's data).
    let mut packs = crate::util::repo_files(&a.archive_repo(), "data");
    packs.sort_by_key(|p| std::fs::metadata(p).unwrap().len());
    let pack = packs.last().unwrap();
    let mut bytes = std::fs::read(pack).unwrap();
    let mid = bytes.len() / 3;
    bytes[mid] ^= 0x04;
    let mut perm = std::fs::metadata(pack).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(pack, perm).unwrap();
    std::fs::write(pack, &bytes).unwrap();

    let (out, _) = a.run(&a.args(&["archive", "verify", "--all"]), 13);
    assert!(out.contains("FAILED"), "{out}");
    assert!(out.contains(&format!("{uuid}.tar")), "names the tar: {out}");
    assert!(
        out.contains(&format!("{uuid}/content/")),
        "names a member: {out}"
    );
    let v = a.json(&["archive", "verify", &id], 13);
    assert_eq!(v["ok"], false);
    assert!(!v["events"][0]["failures"].as_array().unwrap().is_empty());
    let list = a.json(&["archive", "list"], 0);
    assert_eq!(
        list["snapshots"][0]["last_fixity"]["outcome"], "failure",
        "{list}"
    );
    // repair --forget keeps the damaged archive snapshot (only `archive remove` removes it).
    let o = a
        .env
        .cmd()
        .env("HVELV_PASSWORD", ARCHIVE_PASSWORD)
        .args(["repair", "snapshots", "--forget", "--read-data", "-r"])
        .arg(a.archive_repo())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && text.contains("never removes an archive snapshot"),
        "{text}"
    );
    let list = a.json(&["archive", "list"], 0);
    assert_eq!(list["snapshots"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["snapshots"][0]["snapshot"], id.as_str());
    // get refuses to hand out damaged bytes and leaves nothing behind.
    let got = a.env.path("got");
    let (_, e) = a.run(&a.args(&["archive", "get", &id, "--target", &s(&got)]), 13);
    assert!(e.contains("could not be restored intact"), "{e}");
    assert!(!got.join(format!("{uuid}.tar")).exists());
    assert!(
        std::fs::read_dir(&got).unwrap().next().is_none(),
        "no partial file"
    );
}

#[test]
fn damage_in_one_chunk_names_only_the_members_it_touches() {
    let Some(a) = Archive::new() else { return };
    let tar = a.package("p");
    // A repository with small chunks, so the tar is stored as several chunks.
    let small = a.env.path("small-repo");
    let o = a
        .env
        .cmd()
        .env("HVELV_PASSWORD", ARCHIVE_PASSWORD)
        .args(["init", "--kdf-memory", "8", "--kdf-passes", "1"])
        .args([
            "--chunk-min",
            "64K",
            "--chunk-avg",
            "128K",
            "--chunk-max",
            "256K",
            "-r",
        ])
        .arg(&small)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let run = |args: &[&str], code: i32| {
        let o = a
            .env
            .cmd()
            .env("HVELV_ARCHIVE_REPOSITORY", &small)
            .env("HVELV_ARCHIVE_PASSWORD", ARCHIVE_PASSWORD)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(code), "{o:?}");
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    let put = run(&["archive", "put", &s(&tar), "--json"], 0);
    let members = put["files"][0]["members"].as_u64().unwrap() as usize;
    let pack = crate::util::repo_files(&small, "data")
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&pack).unwrap();
    bytes[40] ^= 0x80; // inside the first sealed blob of the pack
    std::fs::write(&pack, &bytes).unwrap();
    let v = run(&["archive", "verify", "--all", "--json"], 13);
    let failures: Vec<String> = v["events"][0]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    let damage = failures
        .iter()
        .find(|f| f.contains("cannot be read from the repository"))
        .unwrap_or_else(|| panic!("{failures:?}"));
    let named = damage
        .split("affected: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no member named: {damage}"))
        .split(", ")
        .count();
    assert!(
        named < members,
        "{named} of {members} members named: {damage}"
    );
}

#[test]
fn archive_put_refuses_bad_input_and_stores_nothing() {
    let Some(a) = Archive::new() else { return };
    let empty = |a: &Archive| {
        let l = a.json(&["archive", "list"], 0);
        assert!(l["snapshots"].as_array().unwrap().is_empty(), "{l}");
        assert_eq!(a.archive_files(), 0, "no record was written");
    };
    // Not a tar at all.
    let junk = a.env.path("junk.tar");
    std::fs::write(&junk, b"this is not a tar archive, just text").unwrap();
    let (_, e) = a.run(&a.args(&["archive", "put", &s(&junk)]), 1);
    assert!(e.contains("not a DIAS package"), "{e}");
    // A tar that is not a DIAS package.
    let dir = a.env.path("notpkg/stuff");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.txt"), b"hello").unwrap();
    let t = a.env.path("notpkg.tar");
    let st = std::process::Command::new("tar")
        .arg("-cf")
        .arg(&t)
        .arg("-C")
        .arg(a.env.path("notpkg"))
        .arg("stuff")
        .status()
        .unwrap();
    assert!(st.success());
    let (_, e) = a.run(&a.args(&["archive", "put", &s(&t)]), 4);
    assert!(
        e.contains("not a valid package") && e.contains("not a UUID"),
        "{e}"
    );
    empty(&a);

    // A package whose METS checksum does not match a member.
    let tar = a.package("p");
    let uuid = tar.file_stem().unwrap().to_str().unwrap().to_string();
    let good = std::fs::read(&tar).unwrap();
    let mut bytes = good.clone();
    let needle = b"<offentligJournal";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    bytes[at + 3] ^= 0x20;
    std::fs::write(&tar, &bytes).unwrap();
    let (_, e) = a.run(&a.args(&["archive", "put", &s(&tar)]), 4);
    assert!(e.contains("content/offentligJournal.xml: SHA-256"), "{e}");
    assert!(e.contains("nothing was stored"), "{e}");
    empty(&a);

    // Missing metadata: the description beside the tar is gone.
    std::fs::write(&tar, &good).unwrap();
    let desc = tar.with_extension("xml");
    let keep = std::fs::read(&desc).unwrap();
    std::fs::remove_file(&desc).unwrap();
    let (_, e) = a.run(&a.args(&["archive", "put", &s(&tar)]), 4);
    assert!(
        e.contains(&format!("{uuid}.xml is not beside the tar")),
        "{e}"
    );
    std::fs::write(&desc, keep).unwrap();
    // Missing metadata: an extract whose arkivuttrekk.xml names no archive creator.
    let ex = a.env.path("p-extract");
    let addml = ex.join("arkivuttrekk.xml");
    let text = std::fs::read_to_string(&addml).unwrap();
    let cut = text.replace("name=\"recordCreator\"", "name=\"somethingElse\"");
    assert_ne!(cut, text);
    std::fs::write(&addml, cut).unwrap();
    let (_, e) = a.run(&a.args(&["archive", "put", &s(&ex)]), 4);
    assert!(e.contains("missing metadata: archive creator"), "{e}");
    empty(&a);

    // The archive repository must not be the backup repository.
    let (_, e) = a.run(
        &a.args(&["archive", "--archive-repo", &s(&a.env.repo()), "list"]),
        1,
    );
    assert!(e.contains("is the backup repository"), "{e}");

    // The restored extract folder can be archived too (ADDML checksums are its reference).
    std::fs::write(&addml, text).unwrap();
    let put = a.json(&["archive", "put", &s(&ex)], 0);
    assert_eq!(put["archive"]["kind"], "extract");
    let id = put["snapshot"].as_str().unwrap().to_string();
    let refs: Vec<&str> = put["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["reference"].as_str().unwrap())
        .collect();
    assert!(refs.contains(&"ADDML"), "{refs:?}");
    let v = a.json(&["archive", "verify", &id], 0);
    assert_eq!(v["ok"], true);
    let got = a.env.path("got-extract");
    a.run(&a.args(&["archive", "get", &id, "--target", &s(&got)]), 0);
    assert_eq!(
        std::fs::read(got.join("arkivstruktur.xml")).unwrap(),
        std::fs::read(ex.join("arkivstruktur.xml")).unwrap()
    );
}

fn ingest_args(a: &Archive, export: &Path, work: &Path) -> Vec<String> {
    let mut v = a.args(&["archive", "ingest-health"]);
    v.extend([
        s(export),
        "--workdir".into(),
        s(work),
        "--skjermingshjemmel".into(),
        "Offl. § 13, jf. hpl. § 21".into(),
        "--metadata".into(),
        s(&fixtures().join("package-metadata.json")),
        "--schemas".into(),
        a.schemas(),
        "--dias-schemas".into(),
        s(&a.shared.join("package-schemas")),
    ]);
    v.extend(a.xsd_flag());
    v
}

#[test]
fn ingest_health_leaves_no_workdir_and_no_temporary_files() {
    let Some(a) = Archive::new() else { return };
    let tmp = a.env.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let work = a.env.path("secure-work");
    let run = |args: &[String], code: i32| {
        let out = a
            .env
            .cmd()
            .env("HVELV_ARCHIVE_REPOSITORY", a.archive_repo())
            .env("HVELV_ARCHIVE_PASSWORD", ARCHIVE_PASSWORD)
            .env("TMPDIR", &tmp)
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "{text}");
        text
    };
    let text = run(&ingest_args(&a, &fixtures().join("helse-small"), &work), 0);
    assert!(text.contains("stored as archive snapshot"), "{text}");
    assert!(!work.exists(), "the workdir is removed");
    assert!(
        std::fs::read_dir(&tmp).unwrap().next().is_none(),
        "nothing in TMPDIR"
    );
    let l = a.json(&["archive", "list"], 0);
    assert_eq!(l["snapshots"].as_array().unwrap().len(), 1);
    assert_eq!(l["snapshots"][0]["archive"]["kind"], "package");

    // A failing run (a document missing from the export) also removes the workdir.
    let broken = a.env.path("helse-broken");
    copy_tree(&fixtures().join("helse-small"), &broken);
    let doc = first_file(&broken.join("dokumenter"));
    std::fs::remove_file(doc).unwrap();
    run(&ingest_args(&a, &broken, &work), 1);
    assert!(!work.exists(), "the workdir is removed after a failure");
    assert!(std::fs::read_dir(&tmp).unwrap().next().is_none());

    // The archive repository must not be the backup repository: refused before any work.
    let mut same = ingest_args(&a, &fixtures().join("helse-small"), &work);
    same.extend(["--archive-repo".into(), s(&a.env.repo())]);
    let text = run(&same, 1);
    assert!(text.contains("is the backup repository"), "{text}");
    assert!(!work.exists());
    // An existing workdir is never used (it would be removed afterwards).
    std::fs::create_dir_all(&work).unwrap();
    let text = run(&ingest_args(&a, &fixtures().join("helse-small"), &work), 1);
    assert!(text.contains("already exists"), "{text}");
    assert!(
        work.exists(),
        "a folder the run did not create is left alone"
    );
}

#[test]
fn extract_documents_from_a_backup_snapshot() {
    let Some(a) = Archive::new() else { return };
    // The documents live in a backed-up folder; the export without them.
    let docs = a.env.path("scans");
    copy_tree(&fixtures().join("jsonl-small/filer"), &docs.join("filer"));
    a.env.backup(&[&docs], &[]);
    let export = a.env.path("export");
    copy_tree(&fixtures().join("jsonl-small"), &export);
    std::fs::remove_dir_all(export.join("filer")).unwrap();

    let out = a.env.path("uttrekk");
    let mut x = a.args(&["noark5", "extract", "--from-jsonl"]);
    x.extend([
        s(&export),
        "-o".into(),
        s(&out),
        "--schemas".into(),
        a.schemas(),
    ]);
    x.extend(a.xsd_flag());
    let (_, e) = a.run(&x, 1);
    assert!(e.contains("does not exist"), "without the documents: {e}");
    assert!(!out.exists());
    x.extend([
        "--documents-from-snapshot".into(),
        format!("latest:{}", s(&docs)),
    ]);
    a.run(&x, 0);
    assert!(out.join("arkivuttrekk.xml").is_file());
    assert!(
        !a.env.path("uttrekk.documents").exists(),
        "the restored documents are removed"
    );
    let ours: Vec<_> = crate::util::all_files(&out.join("DOKUMENT"));
    assert!(!ours.is_empty());
    // A path the snapshot does not have is a clear error.
    let out2 = a.env.path("uttrekk2");
    let mut y = a.args(&["noark5", "extract", "--from-jsonl"]);
    y.extend([
        s(&export),
        "-o".into(),
        s(&out2),
        "--schemas".into(),
        a.schemas(),
    ]);
    y.extend(a.xsd_flag());
    y.extend([
        "--documents-from-snapshot".into(),
        "latest:/no/such/folder".into(),
    ]);
    let (_, e) = a.run(&y, 1);
    assert!(e.contains("not in the snapshot"), "{e}");
    assert!(!a.env.path("uttrekk2.documents").exists());
}

fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let t = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}

fn first_file(dir: &Path) -> PathBuf {
    crate::util::all_files(dir).remove(0)
}
