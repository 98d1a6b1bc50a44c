//! Deduplication: unchanged data adds almost nothing; shifted data reuses its chunks.

use std::fs;

use crate::util::{self, Env};

#[test]
fn unchanged_second_backup_adds_under_one_percent() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(src.join("d")).unwrap();
    for i in 0..40 {
        fs::write(src.join(format!("d/f{i}")), util::random_bytes(i, 500_000)).unwrap();
    }
    env.init(&[]);
    let first = env.backup(&[&src], &[]);
    let total = first["summary"]["bytes_total"].as_u64().unwrap();
    // --force reads every file again: dedup alone must keep the addition tiny.
    let second = env.backup(&[&src], &["--force"]);
    let stored = second["summary"]["bytes_stored"].as_u64().unwrap();
    assert!(
        stored * 100 < total,
        "second backup stored {stored} of {total} bytes"
    );
    assert_eq!(second["summary"]["bytes_added"], 0, "{second}");
}

#[test]
fn insertion_at_start_of_200mb_file_reuses_over_95_percent() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let data = util::random_bytes(42, 200 << 20);
    fs::write(src.join("big"), &data).unwrap();
    env.init(&[]);
    let first = env.backup(&[&src], &[]);
    let mut shifted = b"inserted bytes at the very start of the file".to_vec();
    shifted.extend_from_slice(&data);
    drop(data);
    fs::write(src.join("big"), &shifted).unwrap();
    let second = env.backup(&[&src], &[]);
    let added = second["summary"]["bytes_added"].as_u64().unwrap();
    let total = shifted.len() as u64;
    assert!(
        added * 20 < total,
        "after an insertion, {added} of {total} bytes were new (first backup: {})",
        first["summary"]["bytes_added"]
    );
}
