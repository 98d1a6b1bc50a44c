//! Crash safety: kill a backup at random points, then every earlier snapshot still restores
//! byte-exact and a new backup completes (reusing what the killed runs stored).

use std::fs;
use std::time::{Duration, Instant};

use crate::util::{self, content_hashes, Env, Hashes};

#[test]
fn killed_backups_never_damage_earlier_snapshots() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..4 {
        fs::write(src.join(format!("base{i}")), util::random_bytes(i, 4 << 20)).unwrap();
    }
    env.init(&[
        "--pack-size",
        "1M",
        "--chunk-min",
        "64K",
        "--chunk-avg",
        "128K",
        "--chunk-max",
        "512K",
    ]);
    let mut completed: Vec<(String, Hashes)> = Vec::new();
    let t0 = Instant::now();
    let first = env.backup(&[&src], &[]);
    // Kill delays are drawn from the time a backup takes here, so they land inside the run on
    // slow and fast machines alike.
    let budget_ms = (t0.elapsed().as_millis() as u64).max(40);
    completed.push((
        first["snapshot"].as_str().unwrap().to_owned(),
        content_hashes(&src),
    ));

    let mut rng = 0x5eed_u64;
    let mut kills_mid_run = 0;
    let mut recovered = 0u64;
    let mut attempts = 0u64;
    while kills_mid_run < 12 && attempts < 60 {
        attempts += 1;
        // New data every attempt so each backup has packs to write.
        fs::write(
            src.join(format!("new{attempts}")),
            util::random_bytes(1000 + attempts, 12 << 20),
        )
        .unwrap();
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(5 + (rng >> 33) % (budget_ms * 9 / 10));
        let mut cmd = env.cmd();
        cmd.args(["backup", "--json"]).arg(&src);
        if util::kill_after(cmd, delay) {
            kills_mid_run += 1;
        }

        if attempts % 3 == 0 {
            let done = env.backup(&[&src], &[]);
            recovered += done["packs_recovered"].as_u64().unwrap_or(0);
            completed.push((
                done["snapshot"].as_str().unwrap().to_owned(),
                content_hashes(&src),
            ));
        }
    }
    assert!(
        kills_mid_run >= 10,
        "only {kills_mid_run} of {attempts} kills hit a running backup"
    );
    eprintln!(
        "{kills_mid_run} backups killed mid-run; {recovered} orphan packs were indexed and reused"
    );

    // Every completed snapshot restores byte-exact.
    for (i, (id, expected)) in completed.iter().enumerate() {
        let t = env.path(&format!("r{i}"));
        env.run(&[
            "restore",
            &format!("{id}:{}", src.display()),
            "--target",
            t.to_str().unwrap(),
        ]);
        assert_eq!(
            &content_hashes(&t),
            expected,
            "snapshot {id} restored differently"
        );
        fs::remove_dir_all(&t).unwrap();
    }
    // A new backup completes and restores.
    let last = env.backup(&[&src], &[]);
    let t = env.path("final");
    env.run(&[
        "restore",
        &format!("{}:{}", last["snapshot"].as_str().unwrap(), src.display()),
        "--target",
        t.to_str().unwrap(),
    ]);
    assert_eq!(content_hashes(&t), content_hashes(&src));
}
