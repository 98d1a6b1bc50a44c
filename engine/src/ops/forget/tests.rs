//! Retention policy tests against a simulated calendar in Europe/Oslo time, plus properties.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Weekday};
use proptest::prelude::*;

use super::*;
use crate::snapshot::{Snapshot, Summary};

fn east(hours: i32) -> FixedOffset {
    FixedOffset::east_opt(hours * 3600).unwrap()
}

/// Europe/Oslo's UTC offset at a UTC instant: summer time (+02:00) from 01:00 UTC on the last
/// Sunday of March to 01:00 UTC on the last Sunday of October (the EU rule), else +01:00.
fn oslo_offset_at(utc: NaiveDateTime) -> FixedOffset {
    let last_sunday = |month| {
        let mut d = NaiveDate::from_ymd_opt(utc.year(), month, 31).unwrap();
        while d.weekday() != Weekday::Sun {
            d = d.pred_opt().unwrap();
        }
        d.and_hms_opt(1, 0, 0).unwrap()
    };
    if utc >= last_sunday(3) && utc < last_sunday(10) {
        east(2)
    } else {
        east(1)
    }
}

/// An Oslo wall-clock time; in October's repeated hour this is the first (summer) one.
fn oslo(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<FixedOffset> {
    let local = NaiveDate::from_ymd_opt(y, mo, d)
        .unwrap()
        .and_hms_opt(h, mi, s)
        .unwrap();
    for hours in [2, 1] {
        let utc = local - TimeDelta::hours(i64::from(hours));
        if oslo_offset_at(utc) == east(hours) {
            return east(hours).from_local_datetime(&local).unwrap();
        }
    }
    panic!("{local} does not exist in Oslo (spring-forward gap)");
}

/// A fixed-offset time, for the second pass through October's repeated hour.
fn at(offset: i32, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<FixedOffset> {
    east(offset).with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn snap(n: usize, time: DateTime<FixedOffset>) -> Candidate {
    Candidate {
        id: FileId::of(format!("snapshot {n}").as_bytes()),
        time: Some(time),
        host: "filserver01".into(),
        paths: vec!["/srv/share".into()],
        tags: vec!["nightly".into()],
        protected: false,
        original: None,
    }
}

fn fmt_time(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%:z").to_string()
}

/// 400 nightly backups at 00:30 Oslo time from 2024-11-16 to 2026-01-04, with a holiday gap
/// (2025-07-10..=24, no backups), across both 2025 DST changes and two year boundaries; plus
/// irregular ones: three more on 2026-01-03, one a minute before 2026 in local time, both
/// passes through 02:30 on 2025-10-26, and around the missing hour of 2025-03-30. The 17 May
/// 2025 one is tagged `grunnlov`; the 15 January 2025 one is protected.
fn calendar() -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut day = NaiveDate::from_ymd_opt(2024, 11, 16).unwrap();
    let gap = NaiveDate::from_ymd_opt(2025, 7, 10).unwrap()
        ..=NaiveDate::from_ymd_opt(2025, 7, 24).unwrap();
    while day <= NaiveDate::from_ymd_opt(2026, 1, 4).unwrap() {
        if !gap.contains(&day) {
            let mut s = snap(
                out.len(),
                oslo(day.year(), day.month(), day.day(), 0, 30, 0),
            );
            if (day.month(), day.day()) == (5, 17) {
                s.tags.push("grunnlov".into());
            }
            s.protected = day == NaiveDate::from_ymd_opt(2025, 1, 15).unwrap();
            out.push(s);
        }
        day = day.succ_opt().unwrap();
    }
    assert_eq!(out.len(), 400);
    for t in [
        oslo(2026, 1, 3, 9, 0, 0),
        oslo(2026, 1, 3, 12, 0, 0),
        oslo(2026, 1, 3, 17, 45, 0),
        oslo(2025, 12, 31, 23, 59, 59),
        at(2, 2025, 10, 26, 2, 30),
        at(1, 2025, 10, 26, 2, 30),
        oslo(2025, 3, 30, 1, 59, 0),
        oslo(2025, 3, 30, 3, 1, 0),
    ] {
        out.push(snap(out.len(), t));
    }
    out
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 4, 12, 0, 0).unwrap()
}

/// Kept snapshots as local time -> reasons, checking the plan's internal consistency.
fn kept(plan: &ForgetPlan) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for p in plan.groups.iter().flat_map(|g| &g.snapshots) {
        if let Decision::Keep(reasons) = &p.decision {
            assert!(!reasons.is_empty());
            let r: Vec<String> = reasons.iter().map(|r| r.to_string()).collect();
            let t = p.snapshot.time.as_ref().map(fmt_time).unwrap_or_default();
            assert!(
                out.insert(t, r.join(", ")).is_none(),
                "two kept at one time"
            );
        }
    }
    assert_eq!(out.len(), plan.kept());
    out
}

fn expect(rows: &[(&str, &str)]) -> BTreeMap<String, String> {
    rows.iter()
        .map(|(t, r)| (t.to_string(), r.to_string()))
        .collect()
}

fn run(policy: &KeepPolicy) -> ForgetPlan {
    let p = plan(calendar(), policy, GroupBy::default(), now()).unwrap();
    assert_eq!(p.groups.len(), 1);
    assert_eq!(p.groups[0].snapshots.len(), 408);
    assert_eq!(p.kept() + p.removals().count(), 408);
    p
}

#[test]
fn calendar_last_daily_weekly_monthly_all_yearly() {
    let policy = KeepPolicy {
        last: Count::Upto(3),
        daily: Count::Upto(7),
        weekly: Count::Upto(4),
        monthly: Count::Upto(12),
        yearly: Count::All,
        ..Default::default()
    };
    let p = run(&policy);
    assert_eq!(
        kept(&p),
        expect(&[
            (
                "2026-01-04 00:30:00+01:00",
                "last #1, daily #1, weekly #1, monthly #1, yearly #1"
            ),
            ("2026-01-03 17:45:00+01:00", "last #2, daily #2"),
            ("2026-01-03 12:00:00+01:00", "last #3"),
            ("2026-01-02 00:30:00+01:00", "daily #3"),
            ("2026-01-01 00:30:00+01:00", "daily #4"),
            (
                "2025-12-31 23:59:59+01:00",
                "daily #5, monthly #2, yearly #2"
            ),
            ("2025-12-30 00:30:00+01:00", "daily #6"),
            ("2025-12-29 00:30:00+01:00", "daily #7"),
            // ISO week 2026-W01 runs from Monday 29 December 2025.
            ("2025-12-28 00:30:00+01:00", "weekly #2"),
            ("2025-12-21 00:30:00+01:00", "weekly #3"),
            ("2025-12-14 00:30:00+01:00", "weekly #4"),
            ("2025-11-30 00:30:00+01:00", "monthly #3"),
            ("2025-10-31 00:30:00+01:00", "monthly #4"),
            ("2025-09-30 00:30:00+02:00", "monthly #5"),
            ("2025-08-31 00:30:00+02:00", "monthly #6"),
            ("2025-07-31 00:30:00+02:00", "monthly #7"),
            ("2025-06-30 00:30:00+02:00", "monthly #8"),
            ("2025-05-31 00:30:00+02:00", "monthly #9"),
            ("2025-04-30 00:30:00+02:00", "monthly #10"),
            ("2025-03-31 00:30:00+02:00", "monthly #11"),
            ("2025-02-28 00:30:00+01:00", "monthly #12"),
            ("2025-01-15 00:30:00+01:00", "protected"),
            ("2024-12-31 00:30:00+01:00", "yearly #3"),
            // Unlimited yearly still had count left at the oldest snapshot.
            ("2024-11-16 00:30:00+01:00", "yearly #4 (oldest)"),
        ])
    );
}

#[test]
fn calendar_hourly_monthly_tag_and_oldest() {
    let policy = KeepPolicy {
        hourly: Count::Upto(2),
        monthly: Count::Upto(24),
        tags: vec!["grunnlov".into(), "no-such-tag".into()],
        ..Default::default()
    };
    assert_eq!(
        kept(&run(&policy)),
        expect(&[
            ("2026-01-04 00:30:00+01:00", "hourly #1, monthly #1"),
            ("2026-01-03 17:45:00+01:00", "hourly #2"),
            ("2025-12-31 23:59:59+01:00", "monthly #2"),
            ("2025-11-30 00:30:00+01:00", "monthly #3"),
            ("2025-10-31 00:30:00+01:00", "monthly #4"),
            ("2025-09-30 00:30:00+02:00", "monthly #5"),
            ("2025-08-31 00:30:00+02:00", "monthly #6"),
            ("2025-07-31 00:30:00+02:00", "monthly #7"),
            ("2025-06-30 00:30:00+02:00", "monthly #8"),
            ("2025-05-31 00:30:00+02:00", "monthly #9"),
            ("2025-05-17 00:30:00+02:00", "tag:grunnlov"),
            ("2025-04-30 00:30:00+02:00", "monthly #10"),
            ("2025-03-31 00:30:00+02:00", "monthly #11"),
            ("2025-02-28 00:30:00+01:00", "monthly #12"),
            ("2025-01-31 00:30:00+01:00", "monthly #13"),
            ("2025-01-15 00:30:00+01:00", "protected"),
            ("2024-12-31 00:30:00+01:00", "monthly #14"),
            ("2024-11-30 00:30:00+01:00", "monthly #15"),
            ("2024-11-16 00:30:00+01:00", "monthly #16 (oldest)"),
        ])
    );
}

#[test]
fn calendar_within_spans() {
    let policy = KeepPolicy {
        within: Some("7d".parse().unwrap()),
        within_daily: Some("10d".parse().unwrap()),
        within_monthly: Some("6m".parse().unwrap()),
        tags: vec!["grunnlov".into()],
        ..Default::default()
    };
    // Newest: 2026-01-04 00:30+01:00. 7d before is exactly the 28 December backup, which is
    // not *newer* than the cutoff. 6m before is 2025-07-04 00:30+01:00, an hour after the
    // 4 July backup (00:30+02:00), so July's newest (the 31st) is the oldest monthly one.
    assert_eq!(
        kept(&run(&policy)),
        expect(&[
            (
                "2026-01-04 00:30:00+01:00",
                "within 7d, daily within 10d, monthly within 6m"
            ),
            ("2026-01-03 17:45:00+01:00", "within 7d, daily within 10d"),
            ("2026-01-03 12:00:00+01:00", "within 7d"),
            ("2026-01-03 09:00:00+01:00", "within 7d"),
            ("2026-01-03 00:30:00+01:00", "within 7d"),
            ("2026-01-02 00:30:00+01:00", "within 7d, daily within 10d"),
            ("2026-01-01 00:30:00+01:00", "within 7d, daily within 10d"),
            (
                "2025-12-31 23:59:59+01:00",
                "within 7d, daily within 10d, monthly within 6m"
            ),
            ("2025-12-31 00:30:00+01:00", "within 7d"),
            ("2025-12-30 00:30:00+01:00", "within 7d, daily within 10d"),
            ("2025-12-29 00:30:00+01:00", "within 7d, daily within 10d"),
            ("2025-12-28 00:30:00+01:00", "daily within 10d"),
            ("2025-12-27 00:30:00+01:00", "daily within 10d"),
            ("2025-12-26 00:30:00+01:00", "daily within 10d"),
            ("2025-11-30 00:30:00+01:00", "monthly within 6m"),
            ("2025-10-31 00:30:00+01:00", "monthly within 6m"),
            ("2025-09-30 00:30:00+02:00", "monthly within 6m"),
            ("2025-08-31 00:30:00+02:00", "monthly within 6m"),
            ("2025-07-31 00:30:00+02:00", "monthly within 6m"),
            ("2025-05-17 00:30:00+02:00", "tag:grunnlov"),
            ("2025-01-15 00:30:00+01:00", "protected"),
        ])
    );
}

#[test]
fn calendar_years_follow_local_time() {
    // The 1 January 2026 00:30+01:00 backup is 2025-12-31 23:30 UTC: in UTC it would be 2025's
    // newest. In local time 2025's newest is the 23:59:59 one.
    let policy = KeepPolicy {
        yearly: Count::Upto(2),
        ..Default::default()
    };
    assert_eq!(
        kept(&run(&policy)),
        expect(&[
            ("2026-01-04 00:30:00+01:00", "yearly #1"),
            ("2025-12-31 23:59:59+01:00", "yearly #2"),
            ("2025-01-15 00:30:00+01:00", "protected"),
        ])
    );
}

#[test]
fn hours_follow_the_local_clock_across_dst() {
    let autumn = vec![
        snap(0, oslo(2025, 10, 26, 1, 30, 0)),
        snap(1, at(2, 2025, 10, 26, 2, 10)),
        snap(2, at(2, 2025, 10, 26, 2, 50)),
        snap(3, at(1, 2025, 10, 26, 2, 20)),
        snap(4, at(1, 2025, 10, 26, 2, 40)),
        snap(5, oslo(2025, 10, 26, 3, 10, 0)),
    ];
    let policy = KeepPolicy {
        hourly: Count::All,
        ..Default::default()
    };
    // Both passes through 02:xx are one local hour.
    let p = plan(autumn, &policy, GroupBy::default(), now()).unwrap();
    assert_eq!(
        kept(&p),
        expect(&[
            ("2025-10-26 03:10:00+01:00", "hourly #1"),
            ("2025-10-26 02:40:00+01:00", "hourly #2"),
            ("2025-10-26 01:30:00+02:00", "hourly #3"),
        ])
    );
    let spring = vec![
        snap(0, oslo(2025, 3, 30, 1, 15, 0)),
        snap(1, oslo(2025, 3, 30, 1, 59, 0)),
        snap(2, oslo(2025, 3, 30, 3, 1, 0)),
        snap(3, oslo(2025, 3, 30, 3, 30, 0)),
    ];
    let policy = KeepPolicy {
        hourly: Count::Upto(2),
        ..Default::default()
    };
    // The missing 02:00-03:00 hour is no bucket: the 2nd hour is 01:xx.
    let p = plan(spring, &policy, GroupBy::default(), now()).unwrap();
    assert_eq!(
        kept(&p),
        expect(&[
            ("2025-03-30 03:30:00+02:00", "hourly #1"),
            ("2025-03-30 01:59:00+01:00", "hourly #2"),
        ])
    );
}

#[test]
fn groups_by_host_paths_and_tags() {
    let t = |d| oslo(2025, 6, d, 0, 30, 0);
    let mut list = Vec::new();
    for (i, (host, paths, tag)) in [
        ("a", vec!["/srv", "/etc"], "x"),
        ("a", vec!["/etc", "/srv"], "y"),
        ("b", vec!["/srv", "/etc"], "x"),
        ("a", vec!["/srv"], "x"),
    ]
    .into_iter()
    .enumerate()
    {
        for d in 1..=3 {
            let mut s = snap(i * 10 + d as usize, t(d));
            s.host = host.into();
            s.paths = paths.iter().map(|p| p.to_string()).collect();
            s.tags = vec![tag.into()];
            list.push(s);
        }
    }
    let policy = KeepPolicy {
        last: Count::Upto(1),
        ..Default::default()
    };
    let groups = |by: &str| {
        let p = plan(list.clone(), &policy, by.parse().unwrap(), now()).unwrap();
        let keys: Vec<String> = p.groups.iter().map(|g| g.key.to_string()).collect();
        (keys, p.kept())
    };
    // Paths are a set: /srv /etc and /etc /srv are one group.
    assert_eq!(
        groups("host,paths"),
        (
            vec![
                "host a, paths /etc /srv".to_string(),
                "host a, paths /srv".to_string(),
                "host b, paths /etc /srv".to_string(),
            ],
            3
        )
    );
    assert_eq!(groups("").0, vec!["all snapshots".to_string()]);
    assert_eq!(groups("").1, 1);
    assert_eq!(groups("host").1, 2);
    assert_eq!(groups("tags").1, 2);
    assert_eq!(groups("host,paths,tags").1, 4);
    assert_eq!(GroupBy::default(), "host,paths".parse().unwrap());
}

#[test]
fn interrupted_rewrite_keeps_one_of_the_pair() {
    let a = snap(1, oslo(2025, 6, 1, 0, 30, 0));
    let b = Candidate {
        id: FileId::of(b"rewrite of a"),
        protected: true,
        original: Some(a.id),
        ..a.clone()
    };
    let older = snap(2, oslo(2025, 5, 31, 0, 30, 0));
    let newer = snap(3, oslo(2025, 6, 2, 0, 30, 0));
    let policy = KeepPolicy {
        last: Count::Upto(3),
        ..Default::default()
    };
    let p = plan(
        vec![a.clone(), b.clone(), older.clone(), newer.clone()],
        &policy,
        GroupBy::default(),
        now(),
    )
    .unwrap();
    let verdict = |id: FileId| {
        p.groups[0]
            .snapshots
            .iter()
            .find(|s| s.snapshot.id == id)
            .unwrap()
            .decision
            .clone()
    };
    // The pair counts once: last #1..#3 are newer, the rewrite and older.
    assert_eq!(verdict(a.id), Decision::Superseded(b.id));
    assert_eq!(verdict(b.id).to_string_list(), vec!["protected", "last #2"]);
    assert_eq!(verdict(older.id).to_string_list(), vec!["last #3"]);
    assert_eq!(verdict(newer.id).to_string_list(), vec!["last #1"]);
    // Unprotect interrupted: the protected original goes, the unprotected rewrite is judged.
    let a2 = Candidate {
        protected: true,
        ..a.clone()
    };
    let b2 = Candidate {
        protected: false,
        ..b.clone()
    };
    let one = KeepPolicy {
        last: Count::Upto(1),
        ..Default::default()
    };
    let p = plan(vec![a2, b2, newer], &one, GroupBy::default(), now()).unwrap();
    let removed: Vec<(FileId, Decision)> = p
        .removals()
        .map(|s| (s.snapshot.id, s.decision.clone()))
        .collect();
    assert_eq!(
        removed,
        vec![(a.id, Decision::Superseded(b.id)), (b.id, Decision::Remove)]
    );
}

impl Decision {
    fn to_string_list(&self) -> Vec<String> {
        match self {
            Decision::Keep(r) => r.iter().map(|r| r.to_string()).collect(),
            other => vec![format!("{other:?}")],
        }
    }
}

#[test]
fn future_snapshots_do_not_move_the_within_window() {
    let mut list: Vec<Candidate> = (1..=10)
        .map(|d| snap(d as usize, oslo(2025, 6, d, 12, 0, 0)))
        .collect();
    list.push(snap(99, oslo(2030, 1, 1, 12, 0, 0)));
    let policy = KeepPolicy {
        within: Some("3d".parse().unwrap()),
        ..Default::default()
    };
    let now = Utc.with_ymd_and_hms(2025, 6, 11, 0, 0, 0).unwrap();
    let p = plan(list, &policy, GroupBy::default(), now).unwrap();
    let times: Vec<String> = kept(&p).into_keys().collect();
    assert_eq!(
        times,
        [
            "2025-06-08 12:00:00+02:00",
            "2025-06-09 12:00:00+02:00",
            "2025-06-10 12:00:00+02:00",
            "2030-01-01 12:00:00+01:00"
        ]
    );
}

#[test]
fn unreadable_time_is_kept_and_not_counted() {
    let mut broken = snap(1, oslo(2025, 6, 1, 0, 0, 0));
    broken.time = None;
    let list = vec![
        broken.clone(),
        snap(2, oslo(2025, 6, 2, 0, 0, 0)),
        snap(3, oslo(2025, 6, 3, 0, 0, 0)),
    ];
    let policy = KeepPolicy {
        last: Count::Upto(1),
        ..Default::default()
    };
    let p = plan(list, &policy, GroupBy::default(), now()).unwrap();
    let g = &p.groups[0].snapshots;
    assert_eq!(g.len(), 3);
    // Oldest first, unreadable last.
    assert_eq!(g[2].snapshot.id, broken.id);
    assert_eq!(g[2].decision, Decision::Keep(vec![Reason::UnreadableTime]));
    assert_eq!(g[1].decision.to_string_list(), vec!["last #1"]);
    assert_eq!(g[0].decision, Decision::Remove);
}

#[test]
fn empty_policy_is_refused() {
    for policy in [
        KeepPolicy::default(),
        KeepPolicy {
            within: Some(Span::default()),
            ..Default::default()
        },
    ] {
        let e = plan(calendar(), &policy, GroupBy::default(), now()).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
        assert!(e.message().contains("at least one --keep option"), "{e}");
    }
    let tag_only = KeepPolicy {
        tags: vec!["grunnlov".into()],
        ..Default::default()
    };
    assert!(!tag_only.is_empty());
}

#[test]
fn parsing_spans_counts_and_groups() {
    let s: Span = "2y5m7d3h".parse().unwrap();
    assert_eq!(
        s,
        Span {
            years: 2,
            months: 5,
            days: 7,
            hours: 3
        }
    );
    assert_eq!(s.to_string(), "2y5m7d3h");
    assert_eq!("36h".parse::<Span>().unwrap().to_string(), "36h");
    for bad in ["", "7", "d", "7x", "0d", "1d1d", "99999999999d", "-1d"] {
        let e = bad.parse::<Span>().unwrap_err();
        assert!(e.message().contains("e.g. 7d"), "{bad:?}: {e}");
    }
    // Calendar arithmetic clamps to the end of a shorter month.
    let m: Span = "1m".parse().unwrap();
    assert_eq!(
        fmt_time(&m.before(oslo(2025, 3, 31, 0, 30, 0)).unwrap()),
        "2025-02-28 00:30:00+02:00"
    );
    assert_eq!("-1".parse::<Count>().unwrap(), Count::All);
    assert_eq!("all".parse::<Count>().unwrap(), Count::All);
    assert_eq!("5".parse::<Count>().unwrap(), Count::Upto(5));
    assert!("-2".parse::<Count>().is_err());
    assert!("many".parse::<Count>().is_err());
    let g: GroupBy = " host , tags ".parse().unwrap();
    assert!(g.host && g.tags && !g.paths);
    let e = "hosts".parse::<GroupBy>().unwrap_err();
    assert!(e.message().contains("host, paths, tags"), "{e}");
}

#[test]
fn explicit_removal_refuses_protected() {
    let entry = |n: u8, protected: bool| SnapshotEntry {
        id: FileId([n; 32]),
        snapshot: Snapshot {
            time: "2025-06-01T00:30:00+02:00".into(),
            host: "h".into(),
            user: "u".into(),
            paths: vec!["/srv".into()],
            tags: vec![],
            tree: "00".repeat(32),
            parent: None,
            summary: Summary::default(),
            program: "hvelv".into(),
            protected,
            replaces: None,
            original: None,
            repaired: None,
            archive: None,
        },
    };
    check_explicit(&[entry(1, false), entry(2, false)]).unwrap();
    let e = check_explicit(&[entry(1, false), entry(2, true), entry(3, true)]).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
    assert_eq!(
        e.message(),
        "refusing to remove protected snapshot(s) 02020202 03030303; nothing was removed. If \
         they really should go, run `hvelv unprotect 02020202 03030303` first"
    );
}

// ---- properties ----

fn arb_snapshots(protect: bool) -> impl Strategy<Value = Vec<Candidate>> {
    let one = (
        0i64..3 * 365 * 24 * 4,
        0u8..2,
        0u8..4,
        0i32..3,
        proptest::bool::weighted(if protect { 0.1 } else { 0.0 }),
    );
    proptest::collection::vec(one, 0..80).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (quarter_hours, host, tag_bits, offset, protected))| {
                let base = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
                let t =
                    (base + TimeDelta::minutes(quarter_hours * 15)).with_timezone(&east(offset));
                let mut s = snap(i, t);
                s.host = format!("h{host}");
                s.tags = ["a", "b"]
                    .iter()
                    .enumerate()
                    .filter(|(b, _)| tag_bits & (1 << b) != 0)
                    .map(|(_, t)| t.to_string())
                    .collect();
                s.protected = protected;
                s
            })
            .collect()
    })
}

fn arb_count() -> impl Strategy<Value = Count> {
    prop_oneof![
        2 => Just(Count::Upto(0)),
        2 => (1u32..8).prop_map(Count::Upto),
        1 => Just(Count::All),
    ]
}

fn arb_span() -> impl Strategy<Value = Option<Span>> {
    proptest::option::weighted(
        0.3,
        (0u32..2, 0u32..6, 0u32..40, 0u32..48).prop_map(|(years, months, days, hours)| Span {
            years,
            months,
            days,
            hours: hours + 1,
        }),
    )
}

fn arb_policy() -> impl Strategy<Value = KeepPolicy> {
    (
        [
            arb_count(),
            arb_count(),
            arb_count(),
            arb_count(),
            arb_count(),
            arb_count(),
        ],
        [
            arb_span(),
            arb_span(),
            arb_span(),
            arb_span(),
            arb_span(),
            arb_span(),
        ],
        proptest::sample::subsequence(vec!["a".to_string(), "b".to_string()], 0..=2),
    )
        .prop_map(|(c, w, tags)| KeepPolicy {
            last: c[0],
            hourly: c[1],
            daily: c[2],
            weekly: c[3],
            monthly: c[4],
            yearly: c[5],
            within: w[0],
            within_hourly: w[1],
            within_daily: w[2],
            within_weekly: w[3],
            within_monthly: w[4],
            within_yearly: w[5],
            tags,
        })
}

/// The policy split into one policy per rule.
fn single_rules(p: &KeepPolicy) -> Vec<KeepPolicy> {
    let d = KeepPolicy::default;
    let mut out = vec![
        KeepPolicy {
            last: p.last,
            ..d()
        },
        KeepPolicy {
            hourly: p.hourly,
            ..d()
        },
        KeepPolicy {
            daily: p.daily,
            ..d()
        },
        KeepPolicy {
            weekly: p.weekly,
            ..d()
        },
        KeepPolicy {
            monthly: p.monthly,
            ..d()
        },
        KeepPolicy {
            yearly: p.yearly,
            ..d()
        },
        KeepPolicy {
            within: p.within,
            ..d()
        },
        KeepPolicy {
            within_hourly: p.within_hourly,
            ..d()
        },
        KeepPolicy {
            within_daily: p.within_daily,
            ..d()
        },
        KeepPolicy {
            within_weekly: p.within_weekly,
            ..d()
        },
        KeepPolicy {
            within_monthly: p.within_monthly,
            ..d()
        },
        KeepPolicy {
            within_yearly: p.within_yearly,
            ..d()
        },
    ];
    out.extend(p.tags.iter().map(|t| KeepPolicy {
        tags: vec![t.clone()],
        ..d()
    }));
    out.retain(|r| !r.is_empty());
    out
}

fn kept_ids(p: &ForgetPlan) -> BTreeSet<FileId> {
    p.groups
        .iter()
        .flat_map(|g| &g.snapshots)
        .filter(|s| s.decision.is_keep())
        .map(|s| s.snapshot.id)
        .collect()
}

fn arb_group_by() -> impl Strategy<Value = GroupBy> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(host, paths, tags)| GroupBy {
        host,
        paths,
        tags,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Rules are independent: the kept set contains what every rule keeps alone, and nothing
    /// that neither a rule nor protection keeps.
    #[test]
    fn kept_set_is_the_union_of_single_rules(
        list in arb_snapshots(true),
        policy in arb_policy(),
        group_by in arb_group_by(),
    ) {
        prop_assume!(!policy.is_empty());
        let all = kept_ids(&plan(list.clone(), &policy, group_by, now()).unwrap());
        let mut union: BTreeSet<FileId> =
            list.iter().filter(|c| c.protected).map(|c| c.id).collect();
        for rule in single_rules(&policy) {
            let one = kept_ids(&plan(list.clone(), &rule, group_by, now()).unwrap());
            prop_assert!(one.is_subset(&all), "rule {rule:?} keeps more alone");
            union.extend(one);
        }
        prop_assert_eq!(all, union);
    }

    /// `keep_last N` alone keeps exactly min(N, group size) per group.
    #[test]
    fn keep_last_keeps_exactly_n_per_group(
        list in arb_snapshots(false),
        n in 1u32..10,
        group_by in arb_group_by(),
    ) {
        let policy = KeepPolicy { last: Count::Upto(n), ..Default::default() };
        let p = plan(list.clone(), &policy, group_by, now()).unwrap();
        prop_assert_eq!(p.groups.iter().map(|g| g.snapshots.len()).sum::<usize>(), list.len());
        for g in &p.groups {
            let kept: Vec<&Planned> = g.snapshots.iter().filter(|s| s.decision.is_keep()).collect();
            prop_assert_eq!(kept.len(), (n as usize).min(g.snapshots.len()));
            // ... and they are the newest.
            let newest_removed = g.snapshots.iter().filter(|s| !s.decision.is_keep())
                .filter_map(|s| s.snapshot.time).max();
            if let Some(r) = newest_removed {
                prop_assert!(kept.iter().all(|k| k.snapshot.time.unwrap() >= r));
            }
        }
    }
}
