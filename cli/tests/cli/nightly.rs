//! Acceptance test of nightly operations (issue 7): a configured job runs against a local
//! repository with an offsite copy (Ceph RGW when `HVELV_TEST_S3` is set, else a second local
//! repository, so everything but the S3 transport is still covered), twice with a change in
//! between; then the source is "encrypted" and the run must raise the alert and protect that
//! night's offsite snapshot. Also: the job lock, `config check`, `schedule install/show`.

use std::fs;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::util::{expect_code, random_bytes, Env, PASSWORD};

/// Offsite location: a fresh prefix in the S3 test bucket, or a local folder.
fn offsite(env: &Env) -> String {
    match std::env::var("HVELV_TEST_S3") {
        Ok(url) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            format!("{url}/run-{}-{nanos}", std::process::id())
        }
        Err(_) => {
            if std::env::var_os("HVELV_TEST_S3_REQUIRED").is_some() {
                panic!("HVELV_TEST_S3_REQUIRED is set but HVELV_TEST_S3 is not");
            }
            eprintln!(
                "SKIPPED (S3 part): HVELV_TEST_S3 is not set; the offsite repository is local"
            );
            env.path("offsite").to_string_lossy().into_owned()
        }
    }
}

/// Some compressible text, different per seed.
fn text(seed: u64, lines: usize) -> String {
    (0..lines)
        .map(|i| format!("line {i} of document {seed}: budsjett, referat og saksbehandling\n"))
        .collect()
}

/// 6 folders × 20 documents.
fn build_source(src: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for d in 0..6 {
        let dir = src.join(format!("avdeling-{d}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..20 {
            let p = dir.join(format!("dokument-{f:02}.txt"));
            fs::write(&p, text(d * 100 + f, 60)).unwrap();
            files.push(p);
        }
    }
    files
}

fn config(env: &Env, offsite: &str) -> PathBuf {
    fs::write(env.path("pw"), format!("{PASSWORD}\n")).unwrap();
    let hooks = env.path("hooks");
    fs::create_dir_all(&hooks).unwrap();
    let text = format!(
        r#"
[run]
state_dir = "state"
metrics_file = "metrics/hvelv.prom"

[repositories.san]
location = "repo"
password_file = "pw"

[repositories.offsite]
location = "{offsite}"
password_command = "cat {pw}"

[jobs.docs]
repository = "san"
sources = ["src"]
host = "fil01"
tags = ["nightly"]
copy_to = "offsite"
schedule = "*-*-* 01:30"
randomized_delay = "10m"

[jobs.docs.retention]
keep_last = 10

[jobs.docs.prune]

[jobs.docs.verify]
read_data_budget = "50%"
offsite_read_data_budget = "10%"

[jobs.docs.drill]
files = 5
folder_max_files = 30
interval = "7d"

[jobs.docs.alert]
changed_files = "50%"
deleted_files = "50%"
incompressible_data = "80%"
min_files = 10
min_new_data = "64K"

[jobs.docs.hooks]
on_success = "echo $HVELV_JOB $HVELV_STATUS >> {hooks}/success"
on_alert = "cp \"$HVELV_REPORT\" {hooks}/alert.json; echo $HVELV_ALERT > {hooks}/alert-flag"
"#,
        pw = env.path("pw").display(),
        hooks = hooks.display(),
    );
    let p = env.path("hvelv.toml");
    fs::write(&p, text).unwrap();
    p
}

/// `hvelv --config CFG ARGS...` without repository or password in the environment (the
/// configuration names them); panics with the output unless the exit code is `code`.
fn hvelv(env: &Env, cfg: &Path, args: &[&str], code: i32) -> Output {
    let mut c = env.cmd();
    c.env_remove("HVELV_REPOSITORY")
        .env_remove("HVELV_PASSWORD")
        .arg("--config")
        .arg(cfg);
    expect_code(&mut c, args, code)
}

fn run_job(env: &Env, cfg: &Path, code: i32) -> Output {
    hvelv(env, cfg, &["run", "docs"], code)
}

fn latest(env: &Env) -> Value {
    serde_json::from_slice(&fs::read(env.path("state/reports/docs/latest.json")).unwrap()).unwrap()
}

fn step<'a>(r: &'a Value, name: &str, repo: &str) -> &'a Value {
    r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == name && s["repository"] == repo)
        .unwrap_or_else(|| panic!("no step {name} {repo} in {r:#}"))
}

fn metric(env: &Env, name: &str) -> f64 {
    let t = fs::read_to_string(env.path("metrics/hvelv.prom")).unwrap();
    let prefix = format!("hvelv_job_{name}{{job=\"docs\"}} ");
    t.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in\n{t}"))
        .parse()
        .unwrap()
}

fn snapshots(env: &Env, repo: &str) -> Vec<Value> {
    let out = env
        .cmd()
        .args(["-r", repo, "snapshots", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn nightly_job_runs_reports_drills_and_alerts() {
    let env = Env::new();
    let src = env.path("src");
    let files = build_source(&src);
    let offsite = offsite(&env);
    env.init(&[]);
    let init = env
        .cmd()
        .env("HVELV_REPOSITORY", &offsite)
        .env("HVELV_FROM_PASSWORD", PASSWORD)
        .args(["init", "--kdf-memory", "8", "--kdf-passes", "1"])
        .arg("--copy-chunker-params-from")
        .arg(env.repo())
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let cfg = config(&env, &offsite);
    let check = env
        .cmd()
        .args(["config", "check"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        stdout.contains("job docs:") && stdout.contains("copied to offsite"),
        "{stdout}"
    );

    // Night 1: first backup, copy, check, drill.
    let out = run_job(&env, &cfg, 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("hvelv run docs: SUCCESS"));
    let r = latest(&env);
    assert_eq!(r["schema"], "hvelv-run-report/1");
    assert_eq!(r["status"], "success", "{r:#}");
    for (s, repo) in [
        ("backup", "san"),
        ("copy", "offsite"),
        ("forget", "san"),
        ("prune", "san"),
    ] {
        assert_eq!(step(&r, s, repo)["status"], "ok", "{s} {repo}: {r:#}");
    }
    assert_eq!(step(&r, "check", "san")["status"], "ok");
    assert_eq!(step(&r, "check", "offsite")["status"], "ok");
    assert_eq!(r["backup"]["files_new"], 120);
    assert!(
        r["backup"]["compression_ratio"].as_f64().unwrap() > 2.0,
        "{r:#}"
    );
    assert!(r["changes"]["from"].is_null());
    assert_eq!(r["copies"][0]["copied"].as_array().unwrap().len(), 1);
    let cov = r["verification"][0]["coverage"].as_f64().unwrap();
    assert!(cov > 0.0 && cov <= 1.0, "{r:#}");
    // The drill ran in both repositories: 5 single files plus one whole folder of 20.
    assert_eq!(r["drills"].as_array().unwrap().len(), 2);
    for d in r["drills"].as_array().unwrap() {
        assert_eq!(d["status"], "passed", "{d:#}");
        assert_eq!(d["outcome"]["sample"].as_array().unwrap().len(), 5);
        assert!(d["outcome"]["folder"]
            .as_str()
            .unwrap()
            .contains("/avdeling-"));
        assert_eq!(d["outcome"]["files_verified"], 25, "{d:#}");
    }
    assert!(
        !env.path("state/drill").read_dir().unwrap().any(|_| true),
        "scratch removed"
    );
    let first_success = metric(&env, "last_success_timestamp_seconds");
    assert!(first_success > 1.7e9);
    assert_eq!(metric(&env, "alert"), 0.0);
    assert_eq!(metric(&env, "files_new"), 120.0);
    assert!(metric(&env, "drill_last_success_timestamp_seconds") > 1.7e9);
    let summary = fs::read_to_string(env.path("state/reports/docs/latest.txt")).unwrap();
    assert!(
        summary.contains("drill") && summary.contains("offsite"),
        "{summary}"
    );

    // A second run while the first holds the lock exits at once.
    let lock = fs::OpenOptions::new()
        .write(true)
        .open(env.path("state/locks/docs.lock"))
        .unwrap();
    assert_eq!(
        unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    let out = run_job(&env, &cfg, 11);
    assert!(String::from_utf8_lossy(&out.stderr).contains("job docs is already running"));
    drop(lock);

    // Night 2: 3 modified, 2 deleted, 1 new.
    for p in &files[..3] {
        fs::write(p, text(9999, 80)).unwrap();
    }
    fs::remove_file(&files[10]).unwrap();
    fs::remove_file(&files[11]).unwrap();
    fs::write(src.join("avdeling-0/ny.txt"), text(4242, 10)).unwrap();
    run_job(&env, &cfg, 0);
    let r = latest(&env);
    assert_eq!(r["status"], "success", "{r:#}");
    let c = &r["changes"];
    assert_eq!(
        (&c["files_modified"], &c["files_deleted"], &c["files_added"]),
        (&Value::from(3), &Value::from(2), &Value::from(1)),
        "{c:#}"
    );
    assert_eq!(c["files_in_previous"], 120);
    let list = fs::read_to_string(c["file"].as_str().unwrap()).unwrap();
    let src_abs = src.canonicalize().unwrap();
    let line = |m: char, p: &Path| {
        format!(
            "{m}    {}",
            src_abs.join(p.strip_prefix(&src).unwrap()).display()
        )
    };
    assert!(list.lines().any(|l| l == line('M', &files[0])), "{list}");
    assert!(list.lines().any(|l| l == line('-', &files[10])), "{list}");
    assert!(
        list.lines()
            .any(|l| l == line('+', &src.join("avdeling-0/ny.txt"))),
        "{list}"
    );
    assert_eq!(
        step(&r, "drill", "san")["status"],
        "skipped",
        "not due for 7 days"
    );
    assert!(r["drills"].as_array().unwrap().is_empty());
    assert_eq!(r["copies"][0]["copied"].as_array().unwrap().len(), 1);
    assert_eq!(r["copies"][0]["already_present"], 1);
    assert!(!r["alert"]["raised"].as_bool().unwrap());
    assert_eq!(metric(&env, "files_changed"), 3.0);
    assert_eq!(metric(&env, "files_deleted"), 2.0);
    let hook = fs::read_to_string(env.path("hooks/success")).unwrap();
    assert_eq!(hook, "docs success\ndocs success\n");

    // Night 3: most files "encrypted" (overwritten with random bytes).
    let before = snapshots(&env, &offsite).len();
    for (i, p) in files.iter().enumerate().skip(12) {
        fs::write(p, random_bytes(i as u64, 4096)).unwrap();
    }
    let out = run_job(&env, &cfg, 21);
    assert!(String::from_utf8_lossy(&out.stdout).contains("ALERT"));
    let r = latest(&env);
    assert_eq!(r["status"], "alert");
    assert_eq!(r["exit_code"], 21);
    let a = &r["alert"];
    assert!(a["raised"].as_bool().unwrap(), "{a:#}");
    let reasons = a["reasons"].to_string();
    assert!(reasons.contains("files were modified"), "{reasons}");
    assert!(reasons.contains("did not compress"), "{reasons}");
    assert!(a["incompressible_share"].as_f64().unwrap() > 0.9, "{a:#}");
    assert_eq!(step(&r, "forget", "san")["status"], "skipped");
    assert_eq!(step(&r, "prune", "san")["status"], "skipped");
    // Tonight's offsite copy and the copy of the last snapshot before it are protected, and
    // so is that last snapshot in the job's own repository.
    let protected: Vec<String> = a["protected"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| {
            v.as_str()
                .unwrap()
                .strip_prefix("offsite:")
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(protected.len(), 2, "{a:#}");
    assert_eq!(a["protected"].as_array().unwrap().len(), 3, "{a:#}");
    assert_eq!(step(&r, "protect", "san")["status"], "ok");
    let san = snapshots(&env, env.repo().to_str().unwrap());
    assert_eq!(san.iter().filter(|s| s["protected"] == true).count(), 1);
    let off = snapshots(&env, &offsite);
    assert_eq!(off.len(), before + 1);
    let night = r["backup"]["snapshot"].as_str().unwrap();
    for id in &protected {
        let s = off
            .iter()
            .find(|s| s["id"] == id.as_str())
            .expect("protected snapshot listed");
        assert_eq!(s["protected"], true);
    }
    assert!(off
        .iter()
        .any(|s| s["original"] == night && s["protected"] == true));
    assert_eq!(metric(&env, "alert"), 1.0);
    assert_eq!(
        fs::read_to_string(env.path("hooks/alert-flag")).unwrap(),
        "1\n"
    );
    let hooked: Value =
        serde_json::from_slice(&fs::read(env.path("hooks/alert.json")).unwrap()).unwrap();
    assert_eq!(hooked["status"], "alert");
    assert_eq!(
        fs::read_to_string(env.path("hooks/success"))
            .unwrap()
            .lines()
            .count(),
        2,
        "on_success does not run on an alert"
    );
    assert_eq!(
        fs::read_dir(env.path("state/reports/docs"))
            .unwrap()
            .count(),
        2 + 3 * 2 + 2,
        "latest.* plus json+txt per run plus the change lists of nights 2 and 3"
    );

    // Night 4: the share is not mounted. The backup fails, retention is not applied, but the
    // offsite copy, the checks and the failure hook still run.
    fs::rename(&src, env.path("src-away")).unwrap();
    fs::write(
        env.path("hooks/fail.sh"),
        format!(
            "echo $HVELV_STATUS > {}\n",
            env.path("hooks/failure").display()
        ),
    )
    .unwrap();
    let cfg_text = fs::read_to_string(&cfg).unwrap().replace(
        "[jobs.docs.hooks]\n",
        &format!(
            "[jobs.docs.hooks]\non_failure = \"sh {}\"\n",
            env.path("hooks/fail.sh").display()
        ),
    );
    fs::write(&cfg, cfg_text).unwrap();
    run_job(&env, &cfg, 20);
    let r = latest(&env);
    assert_eq!(r["status"], "failed");
    assert_eq!(step(&r, "backup", "san")["status"], "failed");
    let msg = step(&r, "backup", "san")["message"].as_str().unwrap();
    assert!(msg.contains("src"), "{msg}");
    assert_eq!(step(&r, "changes", "san")["status"], "skipped");
    assert_eq!(step(&r, "forget", "san")["status"], "skipped");
    assert_eq!(step(&r, "copy", "offsite")["status"], "ok");
    assert_eq!(step(&r, "check", "san")["status"], "ok");
    assert_eq!(
        fs::read_to_string(env.path("hooks/failure")).unwrap(),
        "failed\n"
    );
    assert_eq!(metric(&env, "errors"), 1.0);
    assert_eq!(metric(&env, "exit_code"), 20.0);
    assert_eq!(metric(&env, "alert"), 0.0);
}

#[test]
fn schedule_install_writes_units() {
    let env = Env::new();
    fs::create_dir_all(env.path("src")).unwrap();
    let cfg = config(&env, &env.path("offsite").to_string_lossy());
    let units = env.path("units");
    let unit_dir = units.to_str().unwrap();
    let out = hvelv(
        &env,
        &cfg,
        &["schedule", "install", "--unit-dir", unit_dir],
        0,
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("not activated"));
    let service = fs::read_to_string(units.join("hvelv-docs.service")).unwrap();
    let timer = fs::read_to_string(units.join("hvelv-docs.timer")).unwrap();
    let exe = Path::new(env!("CARGO_BIN_EXE_hvelv"));
    assert!(
        service.contains(&format!(
            "ExecStart={} --config {} run docs\n",
            exe.display(),
            cfg.display()
        )),
        "{service}"
    );
    assert!(service.contains("Type=oneshot\n"));
    for want in [
        "OnCalendar=*-*-* 01:30\n",
        "RandomizedDelaySec=600\n",
        "Persistent=true\n",
        "Unit=hvelv-docs.service\n",
        "WantedBy=timers.target\n",
    ] {
        assert!(timer.contains(want), "{want} in {timer}");
    }
    // systemd's own verifier accepts them where it exists.
    if let Ok(v) = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(units.join("hvelv-docs.timer"))
        .arg(units.join("hvelv-docs.service"))
        .output()
    {
        let err = String::from_utf8_lossy(&v.stderr);
        assert!(
            v.status.success() || err.contains("System has not been booted with systemd"),
            "systemd-analyze verify: {err}"
        );
    }
    let show = hvelv(&env, &cfg, &["schedule", "show", "--unit-dir", unit_dir], 0);
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(
        shown.contains("hvelv-docs.timer") && shown.contains("OnCalendar"),
        "{shown}"
    );

    // Without systemd: a cron line.
    let cron = env.path("cron.d-hvelv");
    let cron_file = cron.to_str().unwrap();
    hvelv(
        &env,
        &cfg,
        &["schedule", "install", "--cron", "--cron-file", cron_file],
        0,
    );
    let line = fs::read_to_string(&cron).unwrap();
    assert!(
        line.contains(&format!(
            "30 1 * * * root {} --config {} run docs\n",
            exe.display(),
            cfg.display()
        )),
        "{line}"
    );
}
