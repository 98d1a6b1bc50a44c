use super::*;
use crate::config::load;

fn write(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("hvelv.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn full(dir: &Path) -> String {
    std::fs::create_dir_all(dir.join("share")).unwrap();
    std::fs::write(dir.join("san.pw"), "pw\n").unwrap();
    std::fs::write(dir.join("s3.key"), "secret\n").unwrap();
    r#"
[run]
state_dir = "state"
metrics_file = "metrics/hvelv.prom"

[repositories.san]
location = "repo"
password_file = "san.pw"

[repositories.offsite]
location = "s3:http://127.0.0.1:7480/bucket/town"
password_command = "echo pw"
s3_access_key_id = "AK"
s3_secret_access_key_file = "s3.key"
s3_region = "us-east-1"

[jobs.share]
repository = "san"
sources = ["share"]
excludes = ["*.tmp"]
tags = ["nightly"]
copy_to = "offsite"
schedule = "*-*-* 01:30"
randomized_delay = "15m"

[jobs.share.retention]
keep_daily = 7
keep_weekly = 5
keep_yearly = -1
keep_within = "3d"

[jobs.share.prune]
repack_unused = "25%"
max_repack = "10G"

[jobs.share.verify]
read_data_budget = "10%"
offsite_read_data_budget = "1G"

[jobs.share.drill]
files = 5
interval = "7d"

[jobs.share.alert]
changed_files = "40%"
min_new_data = "1M"

[jobs.share.hooks]
on_alert = "mail -s alert root < $HVELV_SUMMARY"
"#
    .to_owned()
}

#[test]
fn full_example_plans() {
    let d = tempfile::tempdir().unwrap();
    let c = load(&write(d.path(), &full(d.path()))).unwrap();
    assert_eq!(c.problems(), Vec::<String>::new());
    assert_eq!(c.run.state_dir, Some(d.path().join("state")));
    let p = plan_job("share", &c.jobs["share"], &c.repositories).unwrap();
    assert_eq!(p.repo.name(), "san");
    assert_eq!(p.sources, vec![d.path().join("share")]);
    assert_eq!(p.copy_to.len(), 1);
    assert_eq!(p.copy_to[0].name(), "offsite");
    let (policy, offsite) = p.retention.clone().unwrap();
    assert!(offsite);
    assert_eq!(policy.daily, Count::Upto(7));
    assert_eq!(policy.yearly, Count::All);
    let (prune, prune_offsite) = p.prune.clone().unwrap();
    assert_eq!(prune.repack_unused, 0.25);
    assert_eq!(prune.max_repack, Some(10 << 30));
    assert!(!prune_offsite);
    assert_eq!(
        p.verify,
        Some((Some(Budget::Percent(10.0)), Some(Budget::Bytes(1 << 30))))
    );
    let drill = p.drill.clone().unwrap();
    assert_eq!((drill.files, drill.folder_max_files), (5, 50));
    assert_eq!(drill.interval, Duration::from_secs(7 * 86400));
    let t = p.alert.unwrap();
    assert_eq!(t.changed_files, 0.4);
    assert_eq!(t.deleted_files, 0.3);
    assert_eq!(t.min_new_data, 1 << 20);
    assert_eq!(p.hook_timeout, Duration::from_secs(300));
}

#[test]
fn unknown_keys_in_jobs_name_the_line() {
    let d = tempfile::tempdir().unwrap();
    let text = full(d.path()).replace("files = 5", "files = 5\nfile_count = 3");
    let e = load(&write(d.path(), &text)).unwrap_err().to_string();
    assert!(e.contains("file_count") && e.contains("line 42"), "{e}");
    let text = full(d.path()).replace(
        "location = \"repo\"",
        "location = \"repo\"\npassword = \"x\"",
    );
    let e = load(&write(d.path(), &text)).unwrap_err().to_string();
    assert!(
        e.contains("unknown field `password`") && e.contains("line 8"),
        "{e}"
    );
}

#[test]
fn references_and_values_are_checked() {
    let d = tempfile::tempdir().unwrap();
    let text = full(d.path())
        .replace("repository = \"san\"", "repository = \"sann\"")
        .replace(
            "copy_to = \"offsite\"",
            "copy_to = [\"offsite\", \"cloud\"]",
        )
        .replace(
            "sources = [\"share\"]",
            "sources = [\"share\", \"missing\"]",
        )
        .replace("keep_within = \"3d\"", "keep_within = \"3x\"")
        .replace("read_data_budget = \"10%\"", "read_data_budget = \"lots\"")
        .replace("changed_files = \"40%\"", "changed_files = \"140%\"")
        .replace("password_file = \"san.pw\"", "password_file = \"nope.pw\"");
    let c = load(&write(d.path(), &text)).unwrap();
    let problems = c.problems().join("\n");
    for want in [
        "repository = \"sann\": no [repositories.sann] (known: offsite, san)",
        "copy_to = \"cloud\": no [repositories.cloud]",
        "source ",
        "missing does not exist",
        "retention.keep_within",
        "verify.read_data_budget",
        "alert.changed_files",
        "[repositories.san] password_file",
    ] {
        assert!(problems.contains(want), "missing {want:?} in:\n{problems}");
    }
}

#[test]
fn secrets_only_by_file_or_command() {
    let d = tempfile::tempdir().unwrap();
    let text = full(d.path()).replace("password_file = \"san.pw\"\n", "");
    let c = load(&write(d.path(), &text)).unwrap();
    let p = c.problems().join("\n");
    assert!(
        p.contains("[repositories.san]: give password_file or password_command"),
        "{p}"
    );
    let text = full(d.path()).replace(
        "location = \"repo\"",
        "location = \"repo\"\ns3_region = \"x\"",
    );
    let c = load(&write(d.path(), &text)).unwrap();
    assert!(c
        .problems()
        .join("\n")
        .contains("s3_* options need an s3: location"));
}

#[test]
fn empty_retention_and_bad_names_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let text = full(d.path())
        .replace(
            "keep_daily = 7\nkeep_weekly = 5\nkeep_yearly = -1\nkeep_within = \"3d\"\n",
            "",
        )
        .replace("[jobs.share]", "[jobs.\"my share\"]")
        .replace("[jobs.share.", "[jobs.\"my share\".");
    let c = load(&write(d.path(), &text)).unwrap();
    let p = c.problems().join("\n");
    assert!(p.contains("retention keeps nothing"), "{p}");
    assert!(p.contains("a job name may contain only"), "{p}");
}

#[test]
fn a_job_without_repository_uses_the_default_section() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("src")).unwrap();
    let c = load(&write(
        d.path(),
        "[repository]\nlocation = \"/srv/repo\"\n[jobs.etc]\nsources = [\"src\"]\n[jobs.etc.alert]\nenabled = false\n",
    ))
    .unwrap();
    assert_eq!(c.problems(), Vec::<String>::new());
    let p = plan_job("etc", &c.jobs["etc"], &c.repositories).unwrap();
    assert!(matches!(p.repo, RepoRef::Default));
    assert!(p.alert.is_none() && p.retention.is_none() && p.drill.is_none());
}
