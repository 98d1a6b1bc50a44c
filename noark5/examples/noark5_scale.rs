//! Scale benchmark of the Noark 5 layer (issue 3): a deterministic generator of a large
//! synthetic case-system export in the JSON Lines format of docs/NOARK5.md (source 2), and
//! timed runs of extract and validate that report wall time and peak RSS.
//!
//! ```text
//! cargo run --release -p hvelv-noark5 --example noark5_scale -- gen DIR [REGISTRATIONS] [DOCUMENTS]
//! cargo run --release -p hvelv-noark5 --example noark5_scale -- extract DIR OUT SCHEMAS
//! cargo run --release -p hvelv-noark5 --example noark5_scale -- validate OUT [--skip-xsd]
//! ```
//! Defaults: 1,000,000 registrations (journalposts) and 100,000 documents, the issue's size.
//! `benches/noark5_scale.sh` runs the three steps under `/usr/bin/time -v` (which also counts
//! the xmllint child of `validate`).
//!
//! The export is a function of the two sizes only (no randomness, no clock): 5 journalposts per
//! case, cases spread over 100 leaf classes under 10 main classes, one correspondent per
//! journalpost, every 10th journalpost with a document (a small distinct UTF-8 text file),
//! every 20th screened (name of the sender and words of the title), and one logged change per
//! 1,000 cases. Each step prints `peak_rss_kib` (VmHWM of this process) and `wall_s`.

use hvelv_noark5::schemas::SchemaSet;
use hvelv_noark5::source::jsonl::{import, Selection};
use hvelv_noark5::validate::{validate, ValidateOptions, XsdMode};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

const JP_PER_SAK: u64 = 5;
const MAIN_CLASSES: u64 = 10;
const SUB_CLASSES: u64 = 10;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let started = Instant::now();
    let result = match args.first().map(String::as_str) {
        Some("gen") if args.len() >= 2 => {
            let n: u64 = args
                .get(2)
                .map_or(Ok(1_000_000), |s| s.parse())
                .unwrap_or(0);
            let d: u64 = args.get(3).map_or(Ok(100_000), |s| s.parse()).unwrap_or(0);
            if n == 0 || d > n {
                Err(
                    "REGISTRATIONS must be a positive number and DOCUMENTS at most REGISTRATIONS"
                        .to_string(),
                )
            } else {
                generate(Path::new(&args[1]), n, d).map_err(|e| e.to_string())
            }
        }
        Some("extract") if args.len() == 4 => extract(&args[1], &args[2], &args[3]),
        Some("validate") if args.len() >= 2 => {
            run_validate(&args[1], args.get(2).is_some_and(|a| a == "--skip-xsd"))
        }
        _ => Err(
            "usage: noark5_scale gen DIR [REGISTRATIONS] [DOCUMENTS] | extract DIR OUT \
                  SCHEMAS | validate OUT [--skip-xsd]"
                .to_string(),
        ),
    };
    if let Err(e) = result {
        eprintln!("noark5_scale: {e}");
        std::process::exit(1);
    }
    println!("wall_s {:.1}", started.elapsed().as_secs_f64());
    println!("peak_rss_kib {}", peak_rss_kib());
}

/// VmHWM of this process from /proc (Linux), 0 elsewhere.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn extract(dir: &str, out: &str, schemas: &str) -> Result<(), String> {
    let schemas = SchemaSet::open(Path::new(schemas)).map_err(|e| e.to_string())?;
    let s = import(
        Path::new(dir),
        PathBuf::from(out),
        schemas,
        &Selection::default(),
    )
    .map_err(|e| e.to_string())?;
    let occ = |i: usize| {
        s.addml
            .files
            .first()
            .and_then(|f| f.occurrences.get(i))
            .map_or(0, |o| o.1)
    };
    println!(
        "extract mappe {} registrering {} journalposter {} dokumentfiler {} endringer {}",
        occ(0),
        occ(1),
        s.journalposter,
        s.addml.antall_dokumentfiler,
        s.endringer
    );
    Ok(())
}

fn run_validate(out: &str, skip_xsd: bool) -> Result<(), String> {
    let opts = ValidateOptions {
        xsd: if skip_xsd {
            XsdMode::Skip
        } else {
            XsdMode::Xmllint
        },
        fallback_schemas: None,
        older_schemas: Default::default(),
    };
    let r = validate(Path::new(out), &opts).map_err(|e| e.to_string())?;
    println!(
        "validate errors {} warnings {}",
        r.error_count(),
        r.warning_count()
    );
    if r.error_count() > 0 {
        let text = r.to_text();
        let head: String = text.lines().take(40).collect::<Vec<_>>().join("\n");
        return Err(format!("the extract has errors:\n{head}"));
    }
    Ok(())
}

struct Out(BufWriter<File>, PathBuf);

impl Out {
    fn create(p: PathBuf) -> std::io::Result<Self> {
        Ok(Out(BufWriter::with_capacity(1 << 20, File::create(&p)?), p))
    }
    fn line(&mut self, s: &str) -> std::io::Result<()> {
        self.0.write_all(s.as_bytes())?;
        self.0.write_all(b"\n")
    }
    fn done(mut self) -> std::io::Result<()> {
        self.0
            .flush()
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", self.1.display())))
    }
}

/// Write the synthetic export: `n` journalposts, `d` documents.
fn generate(dir: &Path, n: u64, d: u64) -> std::io::Result<()> {
    if dir.exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} exists; give a new folder", dir.display()),
        ));
    }
    std::fs::create_dir_all(dir.join("filer"))?;
    let at = "2023-01-02T09:00:00+01:00";
    let head = serde_json::json!({
        "system_name": "hvelv syntetisk skalatest",
        "periode": {"start": "2023-01-01", "slutt": "2023-12-31",
                    "inngaaende_skille": "skarpt", "utgaaende_skille": "skarpt"},
        "arkiv": {"system_id": "5b0c2f6e-1d3a-4e8b-9c7f-2a1e0d9b8c7a",
                  "tittel": "Syntetisk kommunearkiv (skalatest)",
                  "opprettet_dato": at, "opprettet_av": "generator",
                  "avsluttet_dato": "2024-01-10T12:00:00+01:00", "avsluttet_av": "generator"},
        "arkivskapere": [{"id": "999999999", "navn": "Syntetisk kommune"}],
        "arkivdel": {"tittel": "Sakarkiv 2023", "arkivdelstatus": "Avsluttet periode",
                     "opprettet_dato": at, "opprettet_av": "generator",
                     "avsluttet_dato": "2024-01-10T12:00:00+01:00", "avsluttet_av": "generator",
                     "arkivperiode_start": "2023-01-01", "arkivperiode_slutt": "2023-12-31"},
        "klassifikasjonssystem": {"klassifikasjonstype": "Funksjonsbasert, hierarkisk",
                                  "tittel": "Syntetisk arkivnøkkel",
                                  "opprettet_dato": at, "opprettet_av": "generator"}
    });
    std::fs::write(
        dir.join("uttrekk.json"),
        serde_json::to_string_pretty(&head)?,
    )?;

    let mut klasser = Out::create(dir.join("klasser.jsonl"))?;
    let mut leaves = Vec::new();
    for m in 0..MAIN_CLASSES {
        let id = format!("{}00", m + 1);
        klasser.line(
            &serde_json::json!({"klasse_id": id, "tittel": format!("Hovedklasse {id}"),
            "opprettet_dato": at, "opprettet_av": "generator"})
            .to_string(),
        )?;
        for s in 0..SUB_CLASSES {
            let sid = format!("{}{:02}", m + 1, s + 1);
            klasser.line(
                &serde_json::json!({"klasse_id": sid, "tittel": format!("Klasse {sid}"),
                "forelder": id, "opprettet_dato": at, "opprettet_av": "generator"})
                .to_string(),
            )?;
            leaves.push(sid);
        }
    }
    klasser.done()?;

    let saker_n = n.div_ceil(JP_PER_SAK);
    let doc_every = n.checked_div(d).unwrap_or(u64::MAX);
    let mut saker = Out::create(dir.join("saker.jsonl"))?;
    let mut jps = Out::create(dir.join("journalposter.jsonl"))?;
    let mut parter = Out::create(dir.join("korrespondanseparter.jsonl"))?;
    let mut doks = Out::create(dir.join("dokumenter.jsonl"))?;
    let mut endr = Out::create(dir.join("endringer.jsonl"))?;
    let mut jp_no = 0u64;
    let mut docs_written = 0u64;
    let per_leaf = saker_n.div_ceil(leaves.len() as u64);
    for sak in 0..saker_n {
        let leaf = &leaves[(sak / per_leaf) as usize];
        let seq = sak + 1;
        let day = 1 + (sak % 28);
        let month = 1 + (sak % 12);
        let unit = [
            "Landbrukskontoret",
            "Byggesak",
            "Oppvekst",
            "Helse og omsorg",
        ][(sak % 4) as usize];
        saker.line(&serde_json::json!({
            "saksaar": 2023, "sakssekvensnummer": seq, "klasse_id": leaf,
            "tittel": format!("Sak {seq} om tiltak nr. {}", sak * 7 % 1000),
            "opprettet_dato": format!("2023-{month:02}-{day:02}T08:00:00+01:00"), "opprettet_av": "generator",
            "avsluttet_dato": format!("2023-12-{day:02}T15:00:00+01:00"), "avsluttet_av": "generator",
            "saksdato": format!("2023-{month:02}-{day:02}"), "administrativ_enhet": unit,
            "saksansvarlig": format!("Saksbehandler {}", sak % 97), "saksstatus": "Avsluttet"
        }).to_string())?;
        let in_sak = JP_PER_SAK.min(n - jp_no);
        for k in 0..in_sak {
            jp_no += 1;
            let screened = jp_no % 20 == 0;
            let mut jp = serde_json::json!({
                "saksaar": 2023, "sakssekvensnummer": seq, "journalaar": 2023,
                "journalsekvensnummer": jp_no, "journalpostnummer": k + 1,
                "journalposttype": if k % 2 == 0 { "Inngående dokument" } else { "Utgående dokument" },
                "journalstatus": "Arkivert",
                "journaldato": format!("2023-{month:02}-{day:02}"),
                "tittel": format!("Brev {k} i sak {seq} fra Ola Nordmann {jp_no}"),
                "opprettet_dato": format!("2023-{month:02}-{day:02}T09:00:00+01:00"), "opprettet_av": "generator",
                "arkivert_dato": format!("2023-{month:02}-{day:02}T10:00:00+01:00"), "arkivert_av": "generator",
                "dokumentets_dato": format!("2023-{month:02}-{day:02}")
            });
            if screened {
                jp["offentlig_tittel"] = format!("Brev {k} i sak {seq} fra ***** {jp_no}").into();
                jp["skjerming"] = serde_json::json!({
                    "tilgangsrestriksjon": "Unntatt offentlighet",
                    "skjermingshjemmel": "Offl. § 13, jf. fvl. § 13 første ledd nr. 1",
                    "skjerming_metadata": ["Skjerming tittel registrering - utvalgte ord",
                                           "Skjerming navn avsender"]
                });
            }
            jps.line(&jp.to_string())?;
            parter.line(
                &serde_json::json!({
                    "journalaar": 2023, "journalsekvensnummer": jp_no,
                    "korrespondanseparttype": if k % 2 == 0 { "Avsender" } else { "Mottaker" },
                    "navn": format!("Ola Nordmann {jp_no}"), "postadresse": "Storgata 1",
                    "postnummer": "0001", "poststed": "Oslo"
                })
                .to_string(),
            )?;
            if docs_written < d && jp_no % doc_every == 0 {
                docs_written += 1;
                let rel = format!("filer/{:04}/{jp_no}.txt", docs_written / 1000);
                let p = dir.join(&rel);
                if docs_written % 1000 == 0 || docs_written == 1 {
                    std::fs::create_dir_all(p.parent().unwrap_or(dir))?;
                }
                let body = format!(
                    "Syntetisk dokument {docs_written} til journalpost 2023/{jp_no}.\n{}\n",
                    "Lorem ipsum dolor sit amet, consectetur adipiscing elit. "
                        .repeat(1 + (jp_no % 30) as usize)
                );
                std::fs::write(&p, body)?;
                doks.line(
                    &serde_json::json!({
                        "journalaar": 2023, "journalsekvensnummer": jp_no, "dokumentnummer": 1,
                        "tilknyttet_registrering_som": "Hoveddokument", "dokumenttype": "Brev",
                        "dokumentstatus": "Dokumentet er ferdigstilt",
                        "tittel": format!("Brev til journalpost {jp_no}"),
                        "opprettet_dato": format!("2023-{month:02}-{day:02}T09:05:00+01:00"),
                        "opprettet_av": "generator", "fil": rel
                    })
                    .to_string(),
                )?;
            }
        }
        if sak % 1000 == 0 {
            endr.line(
                &serde_json::json!({
                    "gjelder": "sak", "aar": 2023, "nummer": seq, "felt": "tittel",
                    "endret_dato": "2023-12-30T12:00:00+01:00", "endret_av": "generator",
                    "tidligere_verdi": "Sak uten tittel", "ny_verdi": format!("Sak {seq}")
                })
                .to_string(),
            )?;
        }
    }
    for o in [saker, jps, parter, doks, endr] {
        o.done()?;
    }
    println!(
        "gen saker {saker_n} journalposter {jp_no} dokumenter {docs_written} in {}",
        dir.display()
    );
    Ok(())
}
