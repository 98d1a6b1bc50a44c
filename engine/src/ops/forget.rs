//! Retention: which snapshots `forget` keeps, and why.
//!
//! Pure: no I/O and no clock (the caller passes "now"). [`plan`] groups snapshots, applies a
//! [`KeepPolicy`] to each group and returns a [`ForgetPlan`] saying, for every snapshot, whether
//! it is kept and every rule that keeps it. `forget --dry-run` prints the plan; `forget` removes
//! the snapshot files it marks. Semantics follow restic (details in `docs/DESIGN.md`):
//!
//! * Within a group, snapshots are taken newest first. `keep_last` keeps the `n` newest;
//!   `keep_{hourly,daily,weekly,monthly,yearly}` keep the newest snapshot of each of the `n`
//!   newest calendar hours/days/ISO weeks/months/years that have one, read in the snapshot's own
//!   recorded UTC offset (its local time when it was taken). [`Count::All`] (`-1`) has no limit.
//!   If a bucket rule still has count left when it reaches the oldest snapshot of the group, the
//!   oldest is kept too ("(oldest)"), so a young repository keeps its whole history span.
//! * `keep_within SPAN` keeps every snapshot newer than the newest snapshot of the group minus
//!   `SPAN` (calendar arithmetic: `1m` before 31 March is 28/29 February); `keep_within_daily SPAN`
//!   and the like keep the newest snapshot of each calendar unit within that span. Snapshots
//!   dated after "now" do not count as the newest (a wrong clock cannot expire everything).
//! * `keep_tags` keeps every snapshot with any of the tags.
//! * Rules are independent: the kept set is the union of what each rule keeps alone.
//! * Protected snapshots are always kept. They are evaluated by the rules like any other (a
//!   protected snapshot can be "daily #1"), so protection never changes what else is kept.
//! * A snapshot another snapshot names in `replaces` was rewritten (protect/unprotect) and
//!   only survives because a crash hit between writing the new file and removing the old one:
//!   it is removed as superseded and not counted by the rules.
//! * A snapshot whose time cannot be parsed is kept and not counted.
//! * An empty policy is an error: forgetting must never mean "remove everything".

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, FixedOffset, Months, TimeDelta, Timelike, Utc};

use crate::error::{Error, Result};
use crate::id::FileId;
use crate::snapshot::SnapshotEntry;

/// How many buckets a counting rule keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// At most this many (0: the rule is off).
    Upto(u32),
    /// No limit (`-1` on the command line, like restic).
    All,
}

impl Count {
    /// Whether the rule keeps anything at all.
    pub fn is_active(self) -> bool {
        self != Count::Upto(0)
    }
}

impl Default for Count {
    fn default() -> Self {
        Count::Upto(0)
    }
}

impl FromStr for Count {
    type Err = Error;
    fn from_str(s: &str) -> Result<Count> {
        match s.trim() {
            "-1" | "all" | "unlimited" => Ok(Count::All),
            t => t.parse::<u32>().map(Count::Upto).map_err(|_| {
                Error::invalid(format!(
                    "{s:?} is not a count: give a number of snapshots, or -1 (or `all`) for no limit"
                ))
            }),
        }
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::Upto(n) => write!(f, "{n}"),
            Count::All => f.write_str("all"),
        }
    }
}

/// A calendar span such as `2y5m7d3h` (years, months, days, hours), as restic writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// Years.
    pub years: u32,
    /// Months.
    pub months: u32,
    /// Days.
    pub days: u32,
    /// Hours.
    pub hours: u32,
}

impl Span {
    /// Whether every part is zero.
    pub fn is_zero(&self) -> bool {
        *self == Span::default()
    }

    /// `t` minus the span: years and months first (clamped to the end of a shorter month),
    /// then days, in `t`'s local calendar, then hours. `None` if that is before year -262143.
    pub fn before(&self, t: DateTime<FixedOffset>) -> Option<DateTime<FixedOffset>> {
        let months = self.years.checked_mul(12)?.checked_add(self.months)?;
        t.checked_sub_months(Months::new(months))?
            .checked_sub_days(Days::new(u64::from(self.days)))?
            .checked_sub_signed(TimeDelta::hours(i64::from(self.hours)))
    }
}

impl FromStr for Span {
    type Err = Error;
    fn from_str(s: &str) -> Result<Span> {
        let bad = |why: &str| {
            Error::invalid(format!(
                "{s:?} is not a duration ({why}): write numbers with units y, m, d, h, e.g. 7d, 1y6m, 2y5m7d3h"
            ))
        };
        let mut span = Span::default();
        let mut seen = String::new();
        let mut num = String::new();
        for c in s.trim().chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            if num.is_empty() {
                return Err(bad(&format!("unit {c:?} has no number before it")));
            }
            let n: u32 = num.parse().map_err(|_| bad("number too large"))?;
            let slot = match c {
                'y' => &mut span.years,
                'm' => &mut span.months,
                'd' => &mut span.days,
                'h' => &mut span.hours,
                _ => return Err(bad(&format!("unknown unit {c:?}"))),
            };
            if seen.contains(c) {
                return Err(bad(&format!("unit {c:?} appears twice")));
            }
            seen.push(c);
            *slot = n;
            num.clear();
        }
        if !num.is_empty() {
            return Err(bad("a number has no unit"));
        }
        if span.is_zero() {
            return Err(bad("it must be longer than zero"));
        }
        Ok(span)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0h");
        }
        for (n, unit) in [
            (self.years, 'y'),
            (self.months, 'm'),
            (self.days, 'd'),
            (self.hours, 'h'),
        ] {
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

/// A counting rule: which calendar unit it buckets by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// Every snapshot is its own bucket.
    Last,
    /// Calendar hour.
    Hourly,
    /// Calendar day.
    Daily,
    /// ISO week (Monday to Sunday).
    Weekly,
    /// Calendar month.
    Monthly,
    /// Calendar year.
    Yearly,
}

impl Rule {
    /// The rule's name as in `--keep-NAME`.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Last => "last",
            Rule::Hourly => "hourly",
            Rule::Daily => "daily",
            Rule::Weekly => "weekly",
            Rule::Monthly => "monthly",
            Rule::Yearly => "yearly",
        }
    }

    /// The bucket of a snapshot at local time `t`, the `nr`-th newest of its group.
    fn bucket(self, t: &DateTime<FixedOffset>, nr: usize) -> i64 {
        let (y, m, d, h) = (
            i64::from(t.year()),
            i64::from(t.month()),
            i64::from(t.day()),
            i64::from(t.hour()),
        );
        match self {
            Rule::Last => nr as i64,
            Rule::Hourly => ((y * 100 + m) * 100 + d) * 100 + h,
            Rule::Daily => (y * 100 + m) * 100 + d,
            Rule::Weekly => {
                let w = t.iso_week();
                i64::from(w.year()) * 100 + i64::from(w.week())
            }
            Rule::Monthly => y * 100 + m,
            Rule::Yearly => y,
        }
    }
}

/// What to keep. [`KeepPolicy::default`] is empty, which [`plan`] refuses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeepPolicy {
    /// Keep the newest `n` snapshots.
    pub last: Count,
    /// Keep the newest snapshot of each of the newest `n` hours.
    pub hourly: Count,
    /// ... days.
    pub daily: Count,
    /// ... ISO weeks.
    pub weekly: Count,
    /// ... months.
    pub monthly: Count,
    /// ... years.
    pub yearly: Count,
    /// Keep every snapshot within this span of the group's newest.
    pub within: Option<Span>,
    /// Keep the newest snapshot of each hour within this span of the group's newest.
    pub within_hourly: Option<Span>,
    /// ... of each day.
    pub within_daily: Option<Span>,
    /// ... of each ISO week.
    pub within_weekly: Option<Span>,
    /// ... of each month.
    pub within_monthly: Option<Span>,
    /// ... of each year.
    pub within_yearly: Option<Span>,
    /// Keep every snapshot that has any of these tags.
    pub tags: Vec<String>,
}

impl KeepPolicy {
    fn counts(&self) -> [(Rule, Count); 6] {
        [
            (Rule::Last, self.last),
            (Rule::Hourly, self.hourly),
            (Rule::Daily, self.daily),
            (Rule::Weekly, self.weekly),
            (Rule::Monthly, self.monthly),
            (Rule::Yearly, self.yearly),
        ]
    }

    fn within_buckets(&self) -> [(Rule, Option<Span>); 5] {
        [
            (Rule::Hourly, self.within_hourly),
            (Rule::Daily, self.within_daily),
            (Rule::Weekly, self.within_weekly),
            (Rule::Monthly, self.within_monthly),
            (Rule::Yearly, self.within_yearly),
        ]
    }

    /// True when no rule would keep anything.
    pub fn is_empty(&self) -> bool {
        self.counts().iter().all(|(_, c)| !c.is_active())
            && self.within.is_none_or(|s| s.is_zero())
            && self
                .within_buckets()
                .iter()
                .all(|(_, s)| s.is_none_or(|s| s.is_zero()))
            && self.tags.is_empty()
    }
}

/// Which snapshot fields form a group; each group gets the policy separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupBy {
    /// Group by host name.
    pub host: bool,
    /// Group by the set of backed-up paths.
    pub paths: bool,
    /// Group by the set of tags.
    pub tags: bool,
}

impl Default for GroupBy {
    /// `host,paths`, like restic.
    fn default() -> Self {
        GroupBy {
            host: true,
            paths: true,
            tags: false,
        }
    }
}

impl FromStr for GroupBy {
    type Err = Error;
    /// A comma-separated subset of `host`, `paths`, `tags`; empty means one group.
    fn from_str(s: &str) -> Result<GroupBy> {
        let mut g = GroupBy {
            host: false,
            paths: false,
            tags: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "host" => g.host = true,
                "paths" | "path" => g.paths = true,
                "tags" | "tag" => g.tags = true,
                _ => {
                    return Err(Error::invalid(format!(
                        "--group-by {s:?}: unknown field {part:?}; use a comma-separated list of \
                         host, paths, tags (or an empty string for a single group)"
                    )))
                }
            }
        }
        Ok(g)
    }
}

/// The fields of a group, each present when grouping by it.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    /// Host name.
    pub host: Option<String>,
    /// Sorted, de-duplicated paths.
    pub paths: Option<Vec<String>>,
    /// Sorted, de-duplicated tags.
    pub tags: Option<Vec<String>>,
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(h) = &self.host {
            parts.push(format!("host {h}"));
        }
        if let Some(p) = &self.paths {
            parts.push(format!("paths {}", p.join(" ")));
        }
        if let Some(t) = &self.tags {
            parts.push(if t.is_empty() {
                "no tags".to_owned()
            } else {
                format!("tags {}", t.join(","))
            });
        }
        if parts.is_empty() {
            f.write_str("all snapshots")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// What the policy needs to know about one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The snapshot's id.
    pub id: FileId,
    /// Its time with the UTC offset it was taken in; `None` if unreadable.
    pub time: Option<DateTime<FixedOffset>>,
    /// Host name.
    pub host: String,
    /// Backed-up paths.
    pub paths: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Protected from removal.
    pub protected: bool,
    /// The snapshot this one is a rewrite of.
    pub original: Option<FileId>,
}

impl From<&SnapshotEntry> for Candidate {
    fn from(e: &SnapshotEntry) -> Candidate {
        Candidate {
            id: e.id,
            time: e.snapshot.datetime(),
            host: e.snapshot.host.clone(),
            paths: e.snapshot.paths.clone(),
            tags: e.snapshot.tags.clone(),
            protected: e.snapshot.protected,
            original: e.snapshot.replaces_id(),
        }
    }
}

/// Why a snapshot is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// It is protected.
    Protected,
    /// It has this `keep_tags` tag.
    Tag(String),
    /// It is within `keep_within` of the newest.
    Within(Span),
    /// It is the newest of the `n`-th bucket of a counting rule; `oldest` when it is kept only
    /// because it is the group's oldest snapshot and the rule had count left.
    Bucket {
        /// The rule.
        rule: Rule,
        /// 1-based bucket number, newest first.
        n: u32,
        /// Kept as the oldest snapshot rather than as a new bucket.
        oldest: bool,
    },
    /// It is the newest of its calendar unit within a `keep_within_*` span.
    WithinBucket {
        /// The unit's rule.
        rule: Rule,
        /// The span.
        span: Span,
    },
    /// Its time cannot be read, so no rule can judge it.
    UnreadableTime,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Protected => f.write_str("protected"),
            Reason::Tag(t) => write!(f, "tag:{t}"),
            Reason::Within(s) => write!(f, "within {s}"),
            Reason::Bucket { rule, n, oldest } => {
                write!(f, "{} #{n}", rule.name())?;
                if *oldest {
                    f.write_str(" (oldest)")?;
                }
                Ok(())
            }
            Reason::WithinBucket { rule, span } => write!(f, "{} within {span}", rule.name()),
            Reason::UnreadableTime => f.write_str("time unreadable"),
        }
    }
}

/// The verdict on one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Kept, with every rule that keeps it (never empty).
    Keep(Vec<Reason>),
    /// Removed: no rule keeps it.
    Remove,
    /// Removed: a rewrite of it (this id) exists.
    Superseded(FileId),
}

impl Decision {
    /// Whether the snapshot stays.
    pub fn is_keep(&self) -> bool {
        matches!(self, Decision::Keep(_))
    }
}

/// One snapshot in a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The snapshot.
    pub snapshot: Candidate,
    /// The verdict.
    pub decision: Decision,
}

/// The plan for one group, oldest snapshot first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPlan {
    /// The group.
    pub key: GroupKey,
    /// Every snapshot of the group with its verdict, oldest first (unreadable times last).
    pub snapshots: Vec<Planned>,
}

/// What `forget` will do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgetPlan {
    /// Groups in key order.
    pub groups: Vec<GroupPlan>,
}

impl ForgetPlan {
    /// Every snapshot the plan removes.
    pub fn removals(&self) -> impl Iterator<Item = &Planned> {
        self.groups
            .iter()
            .flat_map(|g| &g.snapshots)
            .filter(|p| !p.decision.is_keep())
    }
    /// How many snapshots are kept.
    pub fn kept(&self) -> usize {
        self.groups
            .iter()
            .flat_map(|g| &g.snapshots)
            .filter(|p| p.decision.is_keep())
            .count()
    }
}

/// Apply `policy` to every group of `snapshots`. `now` bounds which snapshot counts as a
/// group's newest for the `within` rules. Errors only for an empty policy.
pub fn plan(
    snapshots: Vec<Candidate>,
    policy: &KeepPolicy,
    group_by: GroupBy,
    now: DateTime<Utc>,
) -> Result<ForgetPlan> {
    if policy.is_empty() {
        return Err(Error::invalid(
            "no retention policy given, and forgetting with an empty policy would remove every \
             snapshot: give at least one --keep option (e.g. --keep-daily 7 --keep-weekly 5), \
             or name the snapshots to remove",
        ));
    }
    let present: HashSet<FileId> = snapshots.iter().map(|c| c.id).collect();
    let superseded: HashMap<FileId, FileId> = snapshots
        .iter()
        .filter_map(|c| {
            let o = c.original?;
            (o != c.id && present.contains(&o)).then_some((o, c.id))
        })
        .collect();

    let mut groups: BTreeMap<GroupKey, Vec<Candidate>> = BTreeMap::new();
    for c in snapshots {
        groups.entry(group_key(&c, group_by)).or_default().push(c);
    }
    let groups = groups
        .into_iter()
        .map(|(key, mut list)| {
            // Newest first, ties by id so the result does not depend on input order.
            list.sort_by(|a, b| b.time.cmp(&a.time).then(b.id.cmp(&a.id)));
            let mut live: Vec<(DateTime<FixedOffset>, Candidate)> = Vec::new();
            let mut rest: Vec<Candidate> = Vec::new();
            for c in list {
                match c.time {
                    Some(t) if !superseded.contains_key(&c.id) => live.push((t, c)),
                    _ => rest.push(c),
                }
            }
            let verdicts = apply(&live, policy, now);
            let mut planned: Vec<Planned> = live
                .into_iter()
                .zip(verdicts)
                .map(|((_, snapshot), reasons)| Planned {
                    decision: if reasons.is_empty() {
                        Decision::Remove
                    } else {
                        Decision::Keep(reasons)
                    },
                    snapshot,
                })
                .collect();
            for snapshot in rest {
                let decision = match superseded.get(&snapshot.id) {
                    Some(by) => Decision::Superseded(*by),
                    None => {
                        let mut r = Vec::new();
                        if snapshot.protected {
                            r.push(Reason::Protected);
                        }
                        r.push(Reason::UnreadableTime);
                        Decision::Keep(r)
                    }
                };
                planned.push(Planned { snapshot, decision });
            }
            planned.sort_by(|a, b| {
                let t = |p: &Planned| (p.snapshot.time.is_none(), p.snapshot.time, p.snapshot.id);
                t(a).cmp(&t(b))
            });
            GroupPlan {
                key,
                snapshots: planned,
            }
        })
        .collect();
    Ok(ForgetPlan { groups })
}

fn group_key(c: &Candidate, g: GroupBy) -> GroupKey {
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v.dedup();
        v
    };
    GroupKey {
        host: g.host.then(|| c.host.clone()),
        paths: g.paths.then(|| sorted(&c.paths)),
        tags: g.tags.then(|| sorted(&c.tags)),
    }
}

/// The reasons to keep each snapshot of `list` (one group with times, newest first); an empty
/// list of reasons means remove.
fn apply(
    list: &[(DateTime<FixedOffset>, Candidate)],
    policy: &KeepPolicy,
    now: DateTime<Utc>,
) -> Vec<Vec<Reason>> {
    let latest = list.iter().map(|(t, _)| *t).filter(|t| *t <= now).max();
    // Newer than the newest minus `span`. Without a newest (all in the future) or when the
    // span reaches before the calendar's start, everything is within.
    let within = |t: DateTime<FixedOffset>, span: Span| match latest.and_then(|l| span.before(l)) {
        Some(cutoff) => t > cutoff,
        None => true,
    };

    struct Bucket {
        rule: Rule,
        left: Option<u32>,
        last: Option<i64>,
        n: u32,
    }
    let mut buckets: Vec<Bucket> = policy
        .counts()
        .into_iter()
        .filter(|(_, c)| c.is_active())
        .map(|(rule, c)| Bucket {
            rule,
            left: match c {
                Count::Upto(n) => Some(n),
                Count::All => None,
            },
            last: None,
            n: 0,
        })
        .collect();
    let mut within_buckets: Vec<(Rule, Span, Option<i64>)> = policy
        .within_buckets()
        .into_iter()
        .filter_map(|(rule, s)| s.filter(|s| !s.is_zero()).map(|s| (rule, s, None)))
        .collect();

    let oldest = list.len().saturating_sub(1);
    list.iter()
        .enumerate()
        .map(|(nr, (t, c))| {
            let t = *t;
            let mut reasons = Vec::new();
            if c.protected {
                reasons.push(Reason::Protected);
            }
            for tag in &policy.tags {
                if c.tags.contains(tag) {
                    reasons.push(Reason::Tag(tag.clone()));
                }
            }
            if let Some(span) = policy.within.filter(|s| !s.is_zero()) {
                if within(t, span) {
                    reasons.push(Reason::Within(span));
                }
            }
            for b in buckets.iter_mut() {
                if b.left == Some(0) {
                    continue;
                }
                let val = b.rule.bucket(&t, nr);
                let new = b.last != Some(val);
                if new || nr == oldest {
                    b.last = Some(val);
                    b.n += 1;
                    if let Some(left) = b.left.as_mut() {
                        *left -= 1;
                    }
                    reasons.push(Reason::Bucket {
                        rule: b.rule,
                        n: b.n,
                        oldest: !new,
                    });
                }
            }
            for (rule, span, last) in within_buckets.iter_mut() {
                if within(t, *span) {
                    let val = rule.bucket(&t, nr);
                    if *last != Some(val) {
                        *last = Some(val);
                        reasons.push(Reason::WithinBucket {
                            rule: *rule,
                            span: *span,
                        });
                    }
                }
            }
            reasons
        })
        .collect()
}

/// Check snapshots named explicitly for removal: refuses (naming every one) if any is
/// protected or an archive snapshot, so that nothing is removed.
pub fn check_explicit(snapshots: &[SnapshotEntry]) -> Result<()> {
    let archived: Vec<String> = snapshots
        .iter()
        .filter(|s| s.snapshot.archive.is_some())
        .map(|s| s.id.short())
        .collect();
    if !archived.is_empty() {
        return Err(Error::invalid(format!(
            "refusing to remove archive snapshot(s) {}; nothing was removed. Archive snapshots \
             are removed only with `hvelv archive remove ID --reason TEXT`, which logs the removal",
            archived.join(" ")
        )));
    }
    let protected: Vec<String> = snapshots
        .iter()
        .filter(|s| s.snapshot.protected)
        .map(|s| s.id.short())
        .collect();
    if protected.is_empty() {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "refusing to remove protected snapshot(s) {list}; nothing was removed. If they really \
         should go, run `hvelv unprotect {list}` first",
        list = protected.join(" ")
    )))
}

#[cfg(test)]
mod tests;
