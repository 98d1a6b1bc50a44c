//! `diff` between two snapshots.

use std::fs;

use crate::util::Env;

#[test]
fn diff_lists_added_removed_modified_and_metadata_changes() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(src.join("keep/deep")).unwrap();
    fs::create_dir_all(src.join("gone")).unwrap();
    fs::write(src.join("keep/deep/same.txt"), b"unchanged").unwrap();
    fs::write(src.join("keep/edit.txt"), b"version one").unwrap();
    fs::write(src.join("gone/old.txt"), b"to be removed").unwrap();
    fs::write(src.join("perm.txt"), b"mode changes").unwrap();
    env.init(&[]);
    let a = env.backup(&[&src], &[]);

    fs::write(src.join("keep/edit.txt"), b"version two, longer").unwrap();
    fs::remove_dir_all(src.join("gone")).unwrap();
    fs::create_dir_all(src.join("new")).unwrap();
    fs::write(src.join("new/fresh.txt"), b"brand new").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(src.join("perm.txt"), fs::Permissions::from_mode(0o600)).unwrap();
    let b = env.backup(&[&src], &[]);

    let (ia, ib) = (
        a["snapshot"].as_str().unwrap(),
        b["snapshot"].as_str().unwrap(),
    );
    let out = env.run(&["diff", ia, ib]);
    let text = String::from_utf8(out.stdout).unwrap();
    let p = |rel: &str| format!("{}/{rel}", src.display());
    for line in [
        format!("M    {}", p("keep/edit.txt")),
        format!("-    {}", p("gone")),
        format!("-    {}", p("gone/old.txt")),
        format!("+    {}", p("new")),
        format!("+    {}", p("new/fresh.txt")),
        format!("U    {}", p("perm.txt")),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    assert!(!text.contains("same.txt"), "unchanged file listed:\n{text}");
    assert!(text.contains("2 added, 2 removed, 1 modified"), "{text}");

    let out = env.run(&["diff", "--json", ia, ib]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stats"]["added"], 2, "{v}");
    assert_eq!(v["stats"]["bytes_added"], 9 + 19, "{v}");
    let edit = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == p("keep/edit.txt").as_str())
        .unwrap();
    assert_eq!(edit["change"], "modified");
    assert_eq!(edit["size_before"], 11);
    assert_eq!(edit["size_after"], 19);
}
