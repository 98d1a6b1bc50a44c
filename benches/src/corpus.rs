//! Deterministic benchmark corpus: a municipality file server in miniature.
//!
//! [`generate`] writes four parts, sized as fractions of the requested total:
//!
//! | part | share | path | what it exercises |
//! |------|-------|------|-------------------|
//! | office documents | 35 % | `Felles/<sektor>/<avdeling>/<område>/<år>/<sak>/` | many small files (1–200 KiB), deep tree, shared boilerplate, ~4 % exact duplicates |
//! | text dump | 20 % | `Database/eksport/fagsystem_dump.sql` | one large, highly compressible file (SQL, tab separated rows, log lines) |
//! | VM disk image | 25 % | `VM/saksbehandling-01.img` | sparse zero runs, semi-random blocks, repeated extents |
//! | scans | 20 % | `Skanning/<år>/<måned>/` | incompressible files of 1–20 MiB |
//!
//! [`mutate`] applies one "day 2" of changes in place: edits in the middle of ~2 % of the
//! documents, ~0.5 % added and deleted, an append of ~1 % to the dump, a few MiB of
//! scattered overwrites in the VM image (same inode), one case folder renamed.
//!
//! Determinism is the contract: the same seed and size give a byte-identical tree, names,
//! contents, modes and mtimes included, on every platform and every future build. That is
//! why the generator uses its own xoshiro256** instead of `rand` (whose `SmallRng` is
//! documented as not portable across versions or platforms) and integer arithmetic only.
//! Changing any output byte invalidates stored benchmark baselines; treat it as a format
//! change.

use std::collections::BTreeSet;
use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
/// Write buffer for the large files.
const CHUNK: usize = 8 << 20;
/// All directories and the newest documents: 2024-06-03 08:00:00 UTC.
const BASE_MTIME: u64 = 1_717_401_600;
/// mtime of everything `mutate` touches.
const DAY2_MTIME: u64 = BASE_MTIME + 86_400;
/// Documents get mtimes spread over the five years before `BASE_MTIME`.
const MTIME_SPREAD: u64 = 5 * 365 * 86_400;

const DOCS_DIR: &str = "Felles";
const DUMP_PATH: &str = "Database/eksport/fagsystem_dump.sql";
const VM_PATH: &str = "VM/saksbehandling-01.img";
const SCANS_DIR: &str = "Skanning";

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorpusSpec {
    /// Total apparent size of the tree in bytes (the VM image counts with its holes).
    pub total_bytes: u64,
    pub seed: u64,
}

impl CorpusSpec {
    pub fn from_mib(size_mib: u64, seed: u64) -> Self {
        CorpusSpec {
            total_bytes: size_mib * MIB,
            seed,
        }
    }
}

/// Regular files and their apparent bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub files: u64,
    pub bytes: u64,
}

impl Summary {
    fn add(&mut self, bytes: u64) {
        self.files += 1;
        self.bytes += bytes;
    }
}

/// What one [`mutate`] call changed.
#[derive(Debug, Clone, Default)]
pub struct MutateReport {
    pub modified: u64,
    pub added: u64,
    pub deleted: u64,
    pub dump_appended: u64,
    pub vm_overwritten: u64,
    /// Old and new path of the renamed folder, relative to the corpus root.
    pub renamed: Option<(PathBuf, PathBuf)>,
    /// The tree after the change.
    pub tree: Summary,
}

/// Writes the corpus into `dir`, which must be missing or empty.
pub fn generate(dir: &Path, spec: &CorpusSpec) -> io::Result<Summary> {
    fs::create_dir_all(dir)?;
    if fs::read_dir(dir)?.next().is_some() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} is not empty; the corpus needs an empty directory",
                dir.display()
            ),
        ));
    }
    let total = spec.total_bytes;
    let docs = total * 35 / 100;
    let dump = total * 20 / 100;
    let vm = total * 25 / 100 / (4 * KIB) * (4 * KIB);
    let scans = total - docs - dump - vm;
    // Each part has its own stream, so the parts can run in parallel without changing bytes.
    let parts: [(&str, u64, PartFn); 4] = [
        ("docs", docs, gen_docs),
        ("dump", dump, gen_dump),
        ("vm", vm, gen_vm),
        ("scans", scans, gen_scans),
    ];
    let results: Vec<io::Result<Summary>> = std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .iter()
            .enumerate()
            .map(|(i, &(_, budget, f))| {
                let mut rng = Rng::new(spec.seed ^ (0x9e37_79b9 * (i as u64 + 1)));
                s.spawn(move || f(dir, budget, &mut rng))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("generator thread panicked")))
            })
            .collect()
    });
    let mut sum = Summary::default();
    for r in results {
        let s = r?;
        sum.files += s.files;
        sum.bytes += s.bytes;
    }
    // Creating children bumped the directory mtimes; pin them last.
    for e in walk(dir)? {
        if e.is_dir {
            pin_dir(&dir.join(&e.rel), BASE_MTIME)?;
        }
    }
    pin_dir(dir, BASE_MTIME)?;
    Ok(sum)
}

/// Applies the "day 2" change to a tree made by [`generate`]. Parts that are missing are
/// skipped. Deterministic for a given tree and seed.
pub fn mutate(dir: &Path, seed: u64) -> io::Result<MutateReport> {
    let mut rng = Rng::new(seed ^ 0xda72_0000_0000_0002);
    let tmpl = Templates::new(seed);
    let mut rep = MutateReport::default();
    let mut touched_dirs = BTreeSet::new();
    let entries = walk(dir)?;
    let mut docs: Vec<PathBuf> = entries
        .iter()
        .filter(|e| !e.is_dir && e.rel.starts_with(DOCS_DIR))
        .map(|e| e.rel.clone())
        .collect();
    let case_dirs: Vec<PathBuf> = entries
        .iter()
        .filter(|e| e.is_dir && e.rel.starts_with(DOCS_DIR) && e.rel.components().count() == 6)
        .map(|e| e.rel.clone())
        .collect();

    // Distinct documents: the first n_mod are edited, the next n_del deleted.
    let n_mod = (docs.len() / 50).max(1).min(docs.len());
    let n_del = (docs.len() / 200).max(1).min(docs.len() - n_mod);
    rng.partial_shuffle(&mut docs, n_mod + n_del);
    let mut buf = Vec::new();
    for rel in &docs[..n_mod] {
        let path = dir.join(rel);
        buf.clear();
        File::open(&path)?.read_to_end(&mut buf)?;
        let mid = buf.len() / 2 + rng.below(buf.len() as u64 / 4 + 1) as usize;
        let mid = mid.min(buf.len());
        let mut insert = b"\n".to_vec();
        let n = rng.range(200, 2000) as usize;
        prose(&mut rng, &mut insert, n);
        buf.splice(mid..mid, insert);
        write_file(&path, &buf, DAY2_MTIME + rng.below(36_000))?;
        rep.modified += 1;
    }
    for rel in &docs[n_mod..n_mod + n_del] {
        fs::remove_file(dir.join(rel))?;
        touched_dirs.insert(parent(rel));
        rep.deleted += 1;
    }
    if !case_dirs.is_empty() {
        let n_add = (docs.len() / 200).max(1);
        for i in 0..n_add {
            let case = &case_dirs[rng.below(case_dirs.len() as u64) as usize];
            let target = rng.range(KIB, 64 * KIB);
            buf.clear();
            let ext = document(&mut rng, &tmpl, target, &mut buf);
            let mut rel = case.join(format!("Nytt dokument {i:03}.{ext}"));
            while dir.join(&rel).exists() {
                rel = case.join(format!(
                    "Nytt dokument {i:03}-{:04}.{ext}",
                    rng.below(10_000)
                ));
            }
            write_file(&dir.join(&rel), &buf, DAY2_MTIME + rng.below(36_000))?;
            touched_dirs.insert(case.clone());
            rep.added += 1;
        }
    }

    let dump = dir.join(DUMP_PATH);
    if let Ok(meta) = fs::metadata(&dump) {
        let want = meta.len() / 100;
        let mut f = OpenOptions::new().append(true).open(&dump)?;
        let mut rows = DumpState {
            next_id: 10_000_000 + rng.below(1_000_000),
        };
        let mut written = 0;
        while written < want {
            buf.clear();
            dump_section(
                &mut rng,
                &mut rows,
                &mut buf,
                (want - written).min(CHUNK as u64) as usize,
            );
            f.write_all(&buf)?;
            written += buf.len() as u64;
        }
        pin_file(&f, DAY2_MTIME + 3_600)?;
        rep.dump_appended = written;
    }

    let vm = dir.join(VM_PATH);
    if let Ok(meta) = fs::metadata(&vm) {
        let size = meta.len();
        let block = (64 * KIB).min(size / (4 * KIB) * (4 * KIB));
        if block > 0 {
            let want = (size / 200).clamp(block, 8 * MIB);
            // Same file, same inode: open for writing without truncating.
            let mut f = OpenOptions::new().write(true).open(&vm)?;
            let mut data = vec![0u8; block as usize];
            let slots = (size - block) / (4 * KIB) + 1;
            let mut done = 0;
            while done < want {
                let off = rng.below(slots) * 4 * KIB;
                rng.fill(&mut data);
                if rng.below(2) == 0 {
                    semi_random(&mut data);
                }
                f.seek(SeekFrom::Start(off))?;
                f.write_all(&data)?;
                done += block;
            }
            pin_file(&f, DAY2_MTIME + 7_200)?;
            rep.vm_overwritten = done;
        }
    }

    // Rename last: the paths chosen above stay valid.
    let live: Vec<&PathBuf> = case_dirs.iter().filter(|d| dir.join(d).is_dir()).collect();
    if !live.is_empty() {
        let from = live[rng.below(live.len() as u64) as usize].clone();
        let mut name = from.file_name().unwrap_or_default().to_os_string();
        name.push(" (avsluttet)");
        let to = parent(&from).join(name);
        if !dir.join(&to).exists() {
            fs::rename(dir.join(&from), dir.join(&to))?;
            touched_dirs.remove(&from);
            touched_dirs.insert(parent(&to));
            touched_dirs.insert(to.clone());
            rep.renamed = Some((from, to));
        }
    }
    for d in touched_dirs {
        let d = dir.join(d);
        if d.is_dir() {
            pin_dir(&d, DAY2_MTIME)?;
        }
    }
    rep.tree = summarize(dir)?;
    Ok(rep)
}

/// Counts the regular files and their apparent bytes under `dir`.
pub fn summarize(dir: &Path) -> io::Result<Summary> {
    let mut s = Summary::default();
    for e in walk(dir)? {
        if !e.is_dir {
            s.add(e.len);
        }
    }
    Ok(s)
}

type PartFn = fn(&Path, u64, &mut Rng) -> io::Result<Summary>;

// ---------------------------------------------------------------------------------------
// Office documents

#[rustfmt::skip]
const SECTORS: [(&str, [&str; 3]); 7] = [
    ("Helse og omsorg", ["Hjemmetjenesten", "Sykehjem", "Legekontor"]),
    ("Oppvekst", ["Skole", "Barnehage", "PPT"]),
    ("Teknisk drift", ["Vann og avløp", "Veg", "Eiendom"]),
    ("Plan og bygg", ["Byggesak", "Arealplan", "Oppmåling"]),
    ("Økonomi", ["Regnskap", "Lønn", "Innkjøp"]),
    ("Kultur", ["Bibliotek", "Kulturskole", "Idrett"]),
    ("NAV kommune", ["Sosialtjenesten", "Flyktning", "Bolig"]),
];
const AREAS: [&str; 5] = ["Saker", "Korrespondanse", "Rapporter", "Møter", "Tilsyn"];
#[rustfmt::skip]
const CASE_TOPICS: [&str; 12] = [
    "Søknad om tillatelse", "Klage på vedtak", "Tilsynsrapport", "Avtale", "Budsjett", "Innsyn",
    "Refusjon", "Dispensasjon", "Ansettelse", "Anbud", "Ferdigattest", "Avvik",
];
#[rustfmt::skip]
const DOC_TITLES: [&str; 14] = [
    "Søknad", "Vedtak", "Melding om vedtak", "Referat", "Notat", "Brev til part", "Klage",
    "Tilsvar", "Oversendelse", "Saksframlegg", "Report", "Meeting minutes", "Invitasjon",
    "Kontrakt",
];

/// Documents in case folders; one case holds 3–24 documents.
fn gen_docs(root: &Path, budget: u64, rng: &mut Rng) -> io::Result<Summary> {
    let tmpl = Templates::new(rng.next_u64());
    let mut sum = Summary::default();
    let mut buf = Vec::with_capacity(256 * KIB as usize);
    // Recent documents, to copy as exact duplicates into other folders.
    let mut recent: Vec<(String, Vec<u8>)> = Vec::new();
    let mut case_no = 0u64;
    while sum.bytes < budget {
        case_no += 1;
        let (sector, depts) = rng.pick(&SECTORS);
        let year = 2015 + rng.below(10);
        let case = root
            .join(DOCS_DIR)
            .join(sector)
            .join(rng.pick(depts))
            .join(rng.pick(&AREAS))
            .join(year.to_string())
            .join(format!("{year}-{case_no:04} {}", rng.pick(&CASE_TOPICS)));
        fs::create_dir_all(&case)?;
        let n = rng.range(3, 24);
        for i in 1..=n {
            if sum.bytes >= budget {
                break;
            }
            let mtime = BASE_MTIME - rng.below(MTIME_SPREAD);
            if !recent.is_empty() && rng.below(100) < 4 {
                let (name, data) = &recent[rng.below(recent.len() as u64) as usize];
                let name = if rng.below(2) == 0 {
                    format!("Kopi av {name}")
                } else {
                    name.clone()
                };
                let path = case.join(format!("{i:02} {name}"));
                write_file(&path, data, mtime)?;
                sum.add(data.len() as u64);
                continue;
            }
            // Log-uniform in 1 KiB..200 KiB, never more than what is left.
            let target = rng
                .log_uniform(KIB, 200 * KIB)
                .min(budget - sum.bytes)
                .max(64);
            buf.clear();
            let ext = document(rng, &tmpl, target, &mut buf);
            let name = format!("{}.{ext}", rng.pick(&DOC_TITLES));
            write_file(&case.join(format!("{i:02} {name}")), &buf, mtime)?;
            sum.add(buf.len() as u64);
            if recent.len() < 64 {
                recent.push((name, buf.clone()));
            } else {
                recent[rng.below(64) as usize] = (name, buf.clone());
            }
        }
    }
    Ok(sum)
}

/// Appends one document of roughly `target` bytes to `out`; returns its extension.
fn document(rng: &mut Rng, t: &Templates, target: u64, out: &mut Vec<u8>) -> &'static str {
    let target = target as usize;
    match rng.below(100) {
        0..=39 => {
            docx(rng, t, target, out);
            "docx"
        }
        40..=64 => {
            let head: &Vec<u8> = rng.pick(&t.letterheads);
            out.extend_from_slice(head);
            case_ref(rng, out);
            let body = target.saturating_sub(out.len() + 2048);
            prose(rng, out, body);
            let foot: &Vec<u8> = rng.pick(&t.footers);
            out.extend_from_slice(foot);
            "txt"
        }
        65..=79 => {
            email(rng, t, target, out);
            "eml"
        }
        80..=89 => {
            out.extend_from_slice("Dato;Saksnr;Saksbehandler;Beløp;Status\n".as_bytes());
            while out.len() < target {
                push_date(out, 16_000 + rng.below(4_000));
                out.push(b';');
                case_no(rng, out);
                out.push(b';');
                out.extend_from_slice(rng.pick(&PEOPLE).as_bytes());
                out.push(b';');
                push_u64(out, rng.below(1_000_000));
                out.push(b',');
                push_padded(out, rng.below(100), 2);
                out.push(b';');
                out.extend_from_slice(rng.pick(&STATUSES).as_bytes());
                out.push(b'\n');
            }
            "csv"
        }
        _ => {
            out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<arkivuttrekk>\n");
            while out.len() + 20 < target {
                out.extend_from_slice(b"  <journalpost>\n    <systemID>");
                push_hex(rng, out, 16);
                out.extend_from_slice(b"</systemID>\n    <saksnr>");
                case_no(rng, out);
                out.extend_from_slice(b"</saksnr>\n    <journaldato>");
                push_date(out, 16_000 + rng.below(4_000));
                out.extend_from_slice(b"</journaldato>\n    <tittel>");
                sentence(rng, out, &NO_WORDS);
                out.extend_from_slice(b"</tittel>\n    <saksbehandler>");
                out.extend_from_slice(rng.pick(&PEOPLE).as_bytes());
                out.extend_from_slice(b"</saksbehandler>\n  </journalpost>\n");
            }
            out.extend_from_slice(b"</arkivuttrekk>\n");
            "xml"
        }
    }
}

/// Zip-like: local headers for stored (uncompressed) XML parts, sometimes a random image.
fn docx(rng: &mut Rng, t: &Templates, target: usize, out: &mut Vec<u8>) {
    let start = out.len();
    zip_entry(out, "[Content_Types].xml");
    out.extend_from_slice(CONTENT_TYPES.as_bytes());
    zip_entry(out, "word/styles.xml");
    let styles: &Vec<u8> = rng.pick(&t.styles);
    out.extend_from_slice(styles);
    let image = if rng.below(100) < 30 {
        target * rng.range(10, 40) as usize / 100
    } else {
        0
    };
    zip_entry(out, "word/document.xml");
    out.extend_from_slice(DOCX_HEAD.as_bytes());
    while out.len() - start + image + 200 < target {
        out.extend_from_slice(b"<w:p><w:r><w:t xml:space=\"preserve\">");
        let words = if rng.below(4) == 0 {
            &EN_WORDS[..]
        } else {
            &NO_WORDS[..]
        };
        paragraph(rng, out, words);
        out.extend_from_slice(b"</w:t></w:r></w:p>");
    }
    out.extend_from_slice(b"</w:body></w:document>");
    if image > 0 {
        zip_entry(out, "word/media/image1.png");
        out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
        let at = out.len();
        out.resize(at + image, 0);
        rng.fill(&mut out[at..]);
    }
    out.extend_from_slice(
        b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00PK\x05\x06\x00\x00\x00\x00\x04\x00\x04\x00",
    );
}

fn zip_entry(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x21\x58");
    out.extend_from_slice(&[0u8; 12]);
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(name.as_bytes());
}

fn email(rng: &mut Rng, t: &Templates, target: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(b"From: ");
    out.extend_from_slice(rng.pick(&PEOPLE).as_bytes());
    out.extend_from_slice(b" <postmottak@kommune.no>\nTo: ");
    out.extend_from_slice(rng.pick(&PEOPLE).as_bytes());
    out.extend_from_slice(b" <saksbehandler@kommune.no>\nSubject: Sak ");
    case_no(rng, out);
    out.extend_from_slice(b"\nMessage-ID: <");
    push_hex(rng, out, 12);
    out.extend_from_slice(b"@kommune.no>\nMIME-Version: 1.0\n");
    out.extend_from_slice(b"Content-Type: multipart/mixed; boundary=\"grense\"\n\n--grense\n");
    out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\n\n");
    let attach = if rng.below(2) == 0 { target / 2 } else { 0 };
    prose(rng, out, target.saturating_sub(out.len() + attach + 1500));
    out.extend_from_slice(t.disclaimer.as_slice());
    if attach > 0 {
        out.extend_from_slice(b"\n--grense\nContent-Type: application/pdf; name=\"vedlegg.pdf\"\n");
        out.extend_from_slice(b"Content-Transfer-Encoding: base64\n\n");
        let mut raw = vec![0u8; attach * 3 / 4];
        rng.fill(&mut raw);
        base64_lines(&raw, out);
    }
    out.extend_from_slice(b"\n--grense--\n");
}

// ---------------------------------------------------------------------------------------
// Text dump

struct DumpState {
    next_id: u64,
}

fn gen_dump(root: &Path, budget: u64, rng: &mut Rng) -> io::Result<Summary> {
    let path = root.join(DUMP_PATH);
    fs::create_dir_all(parent(&path))?;
    let mut f = File::create(&path)?;
    let mut buf = Vec::with_capacity(CHUNK + 64 * KIB as usize);
    buf.extend_from_slice(
        b"--\n-- PostgreSQL database dump\n--\n\nSET client_encoding = 'UTF8';\n\n",
    );
    let mut st = DumpState { next_id: 1 };
    let mut written = 0u64;
    while written + (buf.len() as u64) < budget {
        let room = (budget - written) as usize - buf.len();
        dump_section(rng, &mut st, &mut buf, room.min(CHUNK));
        // Sections end on a line boundary, so the file may overshoot the budget by a line.
        if buf.len() >= CHUNK {
            f.write_all(&buf)?;
            written += buf.len() as u64;
            buf.clear();
        }
    }
    f.write_all(&buf)?;
    written += buf.len() as u64;
    pin_file(&f, BASE_MTIME - 3_600)?;
    Ok(Summary {
        files: 1,
        bytes: written,
    })
}

/// Appends up to about `want` bytes: a COPY block of case rows, INSERTs, or log lines.
fn dump_section(rng: &mut Rng, st: &mut DumpState, out: &mut Vec<u8>, want: usize) {
    let end = out.len() + want.min(rng.range(64 * KIB, 1024 * KIB) as usize);
    match rng.below(3) {
        0 => {
            out.extend_from_slice(b"COPY public.journalpost (id, saksnr, tittel, dato, saksbehandler, status) FROM stdin;\n");
            while out.len() < end {
                push_u64(out, st.next_id);
                st.next_id += 1;
                out.push(b'\t');
                case_no(rng, out);
                out.push(b'\t');
                sentence(rng, out, &NO_WORDS);
                out.push(b'\t');
                push_date(out, 16_000 + rng.below(4_000));
                out.push(b'\t');
                out.extend_from_slice(rng.pick(&PEOPLE).as_bytes());
                out.push(b'\t');
                out.extend_from_slice(rng.pick(&STATUSES).as_bytes());
                out.push(b'\n');
            }
            out.extend_from_slice(b"\\.\n\n");
        }
        1 => {
            while out.len() < end {
                out.extend_from_slice(
                    b"INSERT INTO public.faktura (id, kunde, belop, forfall, tekst) VALUES (",
                );
                push_u64(out, st.next_id);
                st.next_id += 1;
                out.extend_from_slice(b", ");
                push_u64(out, 100_000 + rng.below(50_000));
                out.extend_from_slice(b", ");
                push_u64(out, rng.below(100_000));
                out.push(b'.');
                push_padded(out, rng.below(100), 2);
                out.extend_from_slice(b", '");
                push_date(out, 18_000 + rng.below(2_000));
                out.extend_from_slice(b"', '");
                out.extend_from_slice(rng.pick(&INVOICE_TEXT).as_bytes());
                out.extend_from_slice(b"');\n");
            }
        }
        _ => {
            out.extend_from_slice(b"COPY public.hendelseslogg (linje) FROM stdin;\n");
            let mut t = (19_000 + rng.below(1_500)) * 86_400;
            while out.len() < end {
                t += rng.below(3);
                push_date(out, t / 86_400);
                out.push(b'T');
                let s = t % 86_400;
                push_padded(out, s / 3_600, 2);
                out.push(b':');
                push_padded(out, s / 60 % 60, 2);
                out.push(b':');
                push_padded(out, s % 60, 2);
                out.push(b'.');
                push_padded(out, rng.below(1_000), 3);
                out.extend_from_slice(rng.pick(&LOG_LEVELS).as_bytes());
                out.extend_from_slice(rng.pick(&LOG_PATHS).as_bytes());
                push_u64(out, rng.below(200_000));
                out.extend_from_slice(b" status=");
                out.extend_from_slice(
                    rng.pick(&["200", "200", "200", "201", "304", "404", "500"])
                        .as_bytes(),
                );
                out.extend_from_slice(b" ms=");
                push_u64(out, rng.below(400));
                out.extend_from_slice(b" user=");
                out.extend_from_slice(rng.pick(&USERS).as_bytes());
                out.push(b'\n');
            }
            out.extend_from_slice(b"\\.\n\n");
        }
    }
}

// ---------------------------------------------------------------------------------------
// VM disk image

/// Runs, weighted by bytes: zeros 40 % (holes), semi-random 30 %, repeated extents 15 %,
/// random 15 %. All offsets and lengths are multiples of 4 KiB so holes are real holes.
fn gen_vm(root: &Path, size: u64, rng: &mut Rng) -> io::Result<Summary> {
    let path = root.join(VM_PATH);
    fs::create_dir_all(parent(&path))?;
    let mut f = File::create(&path)?;
    let page = 4 * KIB;
    let extent_max = (4 * MIB).min(size / 16 / page * page).max(page);
    // The "same OS file in several places": whole extents repeat, so chunkers dedupe them.
    let library: Vec<Vec<u8>> = (0..8)
        .map(|_| {
            let mut b = vec![0u8; (rng.range(page, extent_max) / page * page) as usize];
            rng.fill(&mut b);
            if rng.below(2) == 0 {
                semi_random(&mut b);
            }
            b
        })
        .collect();
    let mut buf = vec![0u8; CHUNK];
    let mut pos = 0u64;
    while pos < size {
        let left = size - pos;
        let kind = rng.below(100);
        if (40..55).contains(&kind) {
            let ext = rng.pick(&library);
            let n = (ext.len() as u64).min(left) as usize;
            f.write_all(&ext[..n])?;
            pos += n as u64;
            continue;
        }
        let (lo, hi) = if kind < 40 {
            (256 * KIB, 16 * MIB)
        } else {
            (64 * KIB, 4 * MIB)
        };
        let hi = hi.min(size / 8).max(lo);
        let len = (rng.range(lo, hi) / page * page).min(left);
        if kind < 40 {
            f.seek(SeekFrom::Current(len as i64))?;
        } else {
            let mut done = 0;
            while done < len {
                let n = (len - done).min(CHUNK as u64) as usize;
                rng.fill(&mut buf[..n]);
                if kind < 85 {
                    semi_random(&mut buf[..n]);
                }
                f.write_all(&buf[..n])?;
                done += n as u64;
            }
        }
        pos += len;
    }
    f.set_len(size)?;
    pin_file(&f, BASE_MTIME - 600)?;
    Ok(Summary {
        files: 1,
        bytes: size,
    })
}

/// Keeps four random bits per byte: compresses to about half.
fn semi_random(b: &mut [u8]) {
    for x in b {
        *x &= 0x0f;
    }
}

// ---------------------------------------------------------------------------------------
// Scans

fn gen_scans(root: &Path, budget: u64, rng: &mut Rng) -> io::Result<Summary> {
    let mut sum = Summary::default();
    let mut buf = vec![0u8; CHUNK];
    let mut no = 0;
    while sum.bytes < budget {
        no += 1;
        let day = 16_500 + rng.below(3_300);
        let mut date = Vec::new();
        push_date(&mut date, day);
        let date = String::from_utf8_lossy(&date).into_owned();
        let dir = root.join(SCANS_DIR).join(&date[..4]).join(&date[5..7]);
        fs::create_dir_all(&dir)?;
        let pdf = rng.below(3) != 0;
        let name = format!(
            "Skann_{}_{no:05}.{}",
            date.replace('-', ""),
            if pdf { "pdf" } else { "jpg" }
        );
        let size = rng
            .log_uniform(MIB, 20 * MIB)
            .min(budget - sum.bytes)
            .max(64);
        let (head, tail): (&[u8], &[u8]) = if pdf {
            (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", b"\n%%EOF\n")
        } else {
            (
                b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
                b"\xff\xd9",
            )
        };
        let mut f = File::create(dir.join(name))?;
        f.write_all(head)?;
        let body = size.saturating_sub((head.len() + tail.len()) as u64);
        let mut done = 0;
        while done < body {
            let n = (body - done).min(CHUNK as u64) as usize;
            rng.fill(&mut buf[..n]);
            f.write_all(&buf[..n])?;
            done += n as u64;
        }
        f.write_all(tail)?;
        pin_file(&f, BASE_MTIME - (19_876 - day.min(19_876)) * 86_400)?;
        sum.add(body + (head.len() + tail.len()) as u64);
    }
    Ok(sum)
}

// ---------------------------------------------------------------------------------------
// Text material

#[rustfmt::skip]
const NO_WORDS: [&str; 64] = [
    "kommunen", "søknad", "vedtak", "saken", "tiltaket", "eiendommen", "tillatelse",
    "kommunestyret", "formannskapet", "rådmannen", "budsjett", "tjenester", "innbyggere",
    "brukeren", "pasienten", "barnehagen", "skolen", "elevene", "foreldre", "ansatte", "rapport",
    "tilsyn", "avvik", "oppfølging", "frist", "klage", "innsyn", "dokumentasjon", "plan",
    "reguleringsplan", "dispensasjon", "ferdigattest", "gnr", "bnr", "vei", "vann", "avløp",
    "økonomi", "regnskap", "lønn", "ble", "er", "har", "skal", "kan", "må", "ikke", "og", "i", "på",
    "til", "for", "med", "av", "som", "det", "en", "et", "om", "etter", "før", "mellom", "høring",
    "møtet",
];
#[rustfmt::skip]
const EN_WORDS: [&str; 40] = [
    "the", "municipality", "application", "decision", "report", "meeting", "budget", "service",
    "residents", "school", "children", "staff", "follow-up", "deadline", "appeal", "access",
    "documentation", "plan", "zoning", "property", "water", "road", "council", "approved",
    "rejected", "is", "was", "has", "will", "must", "not", "and", "in", "on", "to", "for", "with",
    "of", "after", "before",
];
#[rustfmt::skip]
const PHRASES: [&str; 8] = [
    "i henhold til forvaltningsloven § 28", "med hjemmel i plan- og bygningsloven § 20-1",
    "jf. offentleglova § 13 første ledd", "saken behandles i formannskapet",
    "in accordance with the procurement regulations",
    "det vises til tidligere korrespondanse i saken", "vedtaket kan påklages innen tre uker",
    "please find the minutes attached",
];
#[rustfmt::skip]
const PEOPLE: [&str; 12] = [
    "Kari Nordmann", "Ola Nordmann", "Ingrid Hansen", "Per Johansen", "Anne Olsen", "Lars Larsen",
    "Siri Berg", "Jonas Haugen", "Marit Dahl", "Øystein Lie", "Åse Strand", "Emma Wilson",
];
#[rustfmt::skip]
const USERS: [&str; 6] = [
    "kari.n", "ola.n", "ingrid.h", "per.j", "svc-sak", "svc-arkiv",
];
#[rustfmt::skip]
const STATUSES: [&str; 5] = [
    "Registrert", "Under behandling", "Ferdigbehandlet", "Avsluttet", "Utgår",
];
#[rustfmt::skip]
const INVOICE_TEXT: [&str; 5] = [
    "Kommunale avgifter 1. termin", "Kommunale avgifter 2. termin", "Foreldrebetaling barnehage",
    "Byggesaksgebyr", "Leie av kommunale lokaler",
];
const LOG_LEVELS: [&str; 4] = [" INFO  ", " INFO  ", " WARN  ", " DEBUG "];
#[rustfmt::skip]
const LOG_PATHS: [&str; 5] = [
    "[sak-api] GET /api/v2/sak/", "[sak-api] POST /api/v2/journalpost/", "[arkiv] export batch=",
    "[auth] token refresh session=", "[sak-api] GET /api/v2/dokument/",
];
const CONTENT_TYPES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/><Default Extension=\"png\" ContentType=\"image/png\"/><Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/><Override PartName=\"/word/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml\"/></Types>";
const DOCX_HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>";

/// Boilerplate shared by many documents: a few letterheads, legal footers, style sheets.
struct Templates {
    letterheads: Vec<Vec<u8>>,
    footers: Vec<Vec<u8>>,
    styles: Vec<Vec<u8>>,
    disclaimer: Vec<u8>,
}

impl Templates {
    fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed ^ 0x7e_3a91_a7e5);
        let mut block = |head: &str, n: u64| {
            let mut b = head.as_bytes().to_vec();
            prose(&mut rng, &mut b, n as usize);
            b
        };
        let letterheads = (0..4)
            .map(|_| {
                block(
                    "KOMMUNE\nPostboks 1, 9999 Kommunen\nOrg.nr. 999 999 999\n\n",
                    600,
                )
            })
            .collect();
        let footers = (0..4)
            .map(|_| block("\n\nKlageadgang og innsyn\n", 2500))
            .collect();
        let disclaimer = block(
            "\n-- \nDenne e-posten kan inneholde taushetsbelagt informasjon.\n",
            900,
        );
        let styles = (0..3)
            .map(|k| {
                let mut b = b"<?xml version=\"1.0\"?><w:styles>".to_vec();
                for i in 0..60 {
                    b.extend_from_slice(format!("<w:style w:type=\"paragraph\" w:styleId=\"Stil{k}{i}\"><w:name w:val=\"Stil {i}\"/><w:rPr><w:rFonts w:ascii=\"Calibri\"/><w:sz w:val=\"{}\"/></w:rPr></w:style>", 18 + i % 8).as_bytes());
                }
                b.extend_from_slice(b"</w:styles>");
                b
            })
            .collect();
        Templates {
            letterheads,
            footers,
            styles,
            disclaimer,
        }
    }
}

/// Appends paragraphs of about `n` bytes in total.
fn prose(rng: &mut Rng, out: &mut Vec<u8>, n: usize) {
    let end = out.len() + n;
    while out.len() < end {
        let words = if rng.below(4) == 0 {
            &EN_WORDS[..]
        } else {
            &NO_WORDS[..]
        };
        paragraph(rng, out, words);
        out.extend_from_slice(b"\n\n");
    }
}

fn paragraph(rng: &mut Rng, out: &mut Vec<u8>, words: &[&str]) {
    for i in 0..rng.range(2, 6) {
        if i > 0 {
            out.push(b' ');
        }
        sentence(rng, out, words);
        out.push(b'.');
    }
}

fn sentence(rng: &mut Rng, out: &mut Vec<u8>, words: &[&str]) {
    let start = out.len();
    for i in 0..rng.range(5, 16) {
        if i > 0 {
            out.push(b' ');
        }
        if rng.below(20) == 0 {
            out.extend_from_slice(rng.pick(&PHRASES).as_bytes());
        } else {
            out.extend_from_slice(rng.pick(words).as_bytes());
        }
    }
    out[start] = out[start].to_ascii_uppercase();
}

fn case_ref(rng: &mut Rng, out: &mut Vec<u8>) {
    out.extend_from_slice("Vår ref.: ".as_bytes());
    case_no(rng, out);
    out.extend_from_slice(b"\nDato: ");
    push_date(out, 16_000 + rng.below(4_000));
    out.extend_from_slice(b"\nSaksbehandler: ");
    out.extend_from_slice(rng.pick(&PEOPLE).as_bytes());
    out.extend_from_slice(b"\n\n");
}

fn case_no(rng: &mut Rng, out: &mut Vec<u8>) {
    push_u64(out, 2015 + rng.below(10));
    out.push(b'/');
    push_padded(out, rng.below(10_000), 4);
}

fn push_u64(out: &mut Vec<u8>, v: u64) {
    push_padded(out, v, 1);
}

fn push_padded(out: &mut Vec<u8>, mut v: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i.min(tmp.len() - width.min(tmp.len()))..]);
}

/// `YYYY-MM-DD` for days since 1970-01-01 (Hinnant's civil_from_days).
fn push_date(out: &mut Vec<u8>, days: u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    push_padded(out, y, 4);
    out.push(b'-');
    push_padded(out, m, 2);
    out.push(b'-');
    push_padded(out, d, 2);
}

fn push_hex(rng: &mut Rng, out: &mut Vec<u8>, n: usize) {
    for _ in 0..n {
        out.push(b"0123456789abcdef"[rng.below(16) as usize]);
    }
}

fn base64_lines(raw: &[u8], out: &mut Vec<u8>) {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for line in raw.chunks(57) {
        for c in line.chunks(3) {
            let v = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for k in 0..4 {
                out.push(if k <= c.len() {
                    A[(v >> (18 - 6 * k)) as usize & 63]
                } else {
                    b'='
                });
            }
        }
        out.push(b'\n');
    }
}

// ---------------------------------------------------------------------------------------
// File system helpers

fn parent(p: &Path) -> PathBuf {
    p.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn times(mtime: u64) -> FileTimes {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(mtime);
    FileTimes::new().set_modified(t).set_accessed(t)
}

/// Mode and times do not depend on the umask or the clock.
fn pin_file(f: &File, mtime: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(fs::Permissions::from_mode(0o644))?;
    }
    f.set_times(times(mtime))
}

fn pin_dir(dir: &Path, mtime: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
    }
    File::open(dir)?.set_times(times(mtime))
}

fn write_file(path: &Path, data: &[u8], mtime: u64) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(data)?;
    pin_file(&f, mtime)
}

struct Entry {
    rel: PathBuf,
    is_dir: bool,
    len: u64,
}

/// Every entry below `root` in sorted order, relative paths; symlinks are not followed.
fn walk(root: &Path) -> io::Result<Vec<Entry>> {
    fn rec(root: &Path, rel: &Path, out: &mut Vec<Entry>) -> io::Result<()> {
        let mut names: Vec<_> = fs::read_dir(root.join(rel))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()?;
        names.sort();
        for name in names {
            let rel = rel.join(name);
            let meta = fs::symlink_metadata(root.join(&rel))?;
            let is_dir = meta.is_dir();
            out.push(Entry {
                rel: rel.clone(),
                is_dir,
                len: meta.len(),
            });
            if is_dir {
                rec(root, &rel, out)?;
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    rec(root, Path::new(""), &mut out)?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// PRNG

/// xoshiro256** seeded through splitmix64: small, fast, and frozen here so corpus bytes
/// never change with a dependency update.
struct Rng {
    s: [u64; 4],
}

impl Rng {
    fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let out = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform in `0..n` (multiply-shift; the bias is irrelevant here). `n == 0` gives 0.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// Log-uniform by octaves in `lo..=hi`, integers only.
    fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        let octaves = u64::from((hi / lo.max(1)).ilog2()) + 1;
        let a = lo << self.below(octaves);
        self.range(a, (a * 2).min(hi))
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    /// Moves `n` uniformly chosen elements to the front.
    fn partial_shuffle<T>(&mut self, xs: &mut [T], n: usize) {
        for i in 0..n.min(xs.len()) {
            let j = i + self.below((xs.len() - i) as u64) as usize;
            xs.swap(i, j);
        }
    }

    fn fill(&mut self, b: &mut [u8]) {
        let mut chunks = b.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next_u64().to_le_bytes();
        let n = rest.len();
        rest.copy_from_slice(&last[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::hash::{DefaultHasher, Hash, Hasher};
    use std::os::unix::fs::MetadataExt;

    /// Path -> (mode, mtime, contents) for every entry.
    fn snapshot(root: &Path) -> BTreeMap<PathBuf, (u32, i64, Vec<u8>)> {
        walk(root)
            .unwrap()
            .into_iter()
            .map(|e| {
                let p = root.join(&e.rel);
                let m = fs::symlink_metadata(&p).unwrap();
                let data = if e.is_dir {
                    Vec::new()
                } else {
                    fs::read(&p).unwrap()
                };
                (e.rel, (m.mode(), m.mtime(), data))
            })
            .collect()
    }

    fn digest(root: &Path) -> u64 {
        let mut h = DefaultHasher::new();
        snapshot(root).hash(&mut h);
        h.finish()
    }

    /// Bytes of the new tree that the old one does not have: whole new files, changed
    /// 4 KiB blocks of same-size files, the differing middle of resized files. A file moved
    /// with unchanged content counts as nothing.
    fn changed_bytes(
        old: &BTreeMap<PathBuf, (u32, i64, Vec<u8>)>,
        new: &BTreeMap<PathBuf, (u32, i64, Vec<u8>)>,
    ) -> u64 {
        let known: BTreeSet<&[u8]> = old.values().map(|v| v.2.as_slice()).collect();
        let mut n = 0;
        for (path, (_, _, data)) in new {
            if known.contains(data.as_slice()) {
                continue;
            }
            n += match old.get(path) {
                None => data.len(),
                Some((_, _, before)) if before.len() == data.len() => before
                    .chunks(4096)
                    .zip(data.chunks(4096))
                    .filter(|(a, b)| a != b)
                    .map(|(_, b)| b.len())
                    .sum(),
                Some((_, _, before)) => {
                    let pre = before.iter().zip(data).take_while(|(a, b)| a == b).count();
                    let suf = before
                        .iter()
                        .rev()
                        .zip(data.iter().rev())
                        .take_while(|(a, b)| a == b)
                        .count();
                    data.len().saturating_sub(pre + suf)
                }
            } as u64;
        }
        n
    }

    #[test]
    fn same_seed_same_tree_and_mutate_is_small() {
        let spec = CorpusSpec::from_mib(4, 7);
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let c = tempfile::tempdir().unwrap();
        let sa = generate(a.path(), &spec).unwrap();
        let sb = generate(b.path(), &spec).unwrap();
        generate(c.path(), &CorpusSpec { seed: 8, ..spec }).unwrap();
        assert_eq!(sa, sb);
        assert_eq!(digest(a.path()), digest(b.path()));
        assert_ne!(digest(a.path()), digest(c.path()));
        assert!(sa.files > 20, "{sa:?}");
        assert!(
            sa.bytes >= spec.total_bytes && sa.bytes < spec.total_bytes + spec.total_bytes / 20,
            "{sa:?}"
        );
        assert_eq!(sa, summarize(a.path()).unwrap());

        let before = snapshot(a.path());
        let vm_inode = fs::metadata(a.path().join(VM_PATH)).unwrap().ino();
        let ra = mutate(a.path(), 3).unwrap();
        mutate(b.path(), 3).unwrap();
        assert_eq!(
            digest(a.path()),
            digest(b.path()),
            "mutate is deterministic"
        );
        assert_eq!(
            fs::metadata(a.path().join(VM_PATH)).unwrap().ino(),
            vm_inode
        );
        assert!(
            ra.modified > 0 && ra.added > 0 && ra.deleted > 0 && ra.renamed.is_some(),
            "{ra:?}"
        );
        let after = snapshot(a.path());
        let changed = changed_bytes(&before, &after);
        assert!(
            changed > 0 && changed < ra.tree.bytes / 10,
            "changed {changed} of {}",
            ra.tree.bytes
        );
    }

    #[test]
    fn refuses_non_empty_dir() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("x"), b"x").unwrap();
        assert!(generate(d.path(), &CorpusSpec::from_mib(1, 1)).is_err());
    }

    #[test]
    fn dates_and_base64() {
        let mut v = Vec::new();
        push_date(&mut v, 19_877);
        assert_eq!(v, b"2024-06-03");
        v.clear();
        base64_lines(b"hvelv", &mut v);
        assert_eq!(v, b"aHZlbHY=\n");
    }
}
