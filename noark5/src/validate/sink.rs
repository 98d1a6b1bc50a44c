//! Collects findings and per-rule counts while the checks run.

use super::report::{Finding, Report, RuleResult, Severity};
use super::rules::{title, RULES};
use super::MAX_FINDINGS_PER_RULE;
use std::collections::HashMap;

/// Where a finding is.
#[derive(Debug, Clone, Default)]
pub(crate) struct Loc {
    pub(crate) file: Option<String>,
    pub(crate) offset: Option<u64>,
    pub(crate) path: Option<String>,
}

impl Loc {
    pub(crate) fn file(file: &str) -> Self {
        Loc {
            file: Some(file.to_string()),
            ..Default::default()
        }
    }

    pub(crate) fn at(file: &str, offset: u64, path: String) -> Self {
        Loc {
            file: Some(file.to_string()),
            offset: Some(offset),
            path: Some(path),
        }
    }

    pub(crate) fn none() -> Self {
        Loc::default()
    }
}

#[derive(Default)]
pub(crate) struct Sink {
    results: HashMap<&'static str, RuleResult>,
    findings: Vec<Finding>,
}

impl Sink {
    fn result(&mut self, rule: &'static str) -> &mut RuleResult {
        self.results.entry(rule).or_insert_with(|| RuleResult {
            rule,
            title: title(rule),
            ..Default::default()
        })
    }

    /// Mark a rule as run.
    pub(crate) fn ran(&mut self, rule: &'static str) {
        self.result(rule).ran = true;
    }

    /// Add `n` to a count of `rule`.
    pub(crate) fn count(&mut self, rule: &'static str, label: impl Into<String>, n: u64) {
        let r = self.result(rule);
        r.ran = true;
        *r.counts.entry(label.into()).or_insert(0) += n;
    }

    fn push(&mut self, rule: &'static str, severity: Severity, loc: Loc, message: String) {
        let r = self.result(rule);
        match severity {
            Severity::Error => r.errors += 1,
            Severity::Warning => r.warnings += 1,
        }
        let kept = self.findings.iter().filter(|f| f.rule == rule).count();
        if kept >= MAX_FINDINGS_PER_RULE {
            self.result(rule).suppressed += 1;
            return;
        }
        self.findings.push(Finding {
            rule,
            severity,
            file: loc.file,
            line: None,
            path: loc.path,
            message,
            offset: loc.offset,
        });
    }

    pub(crate) fn error(&mut self, rule: &'static str, loc: Loc, message: impl Into<String>) {
        self.push(rule, Severity::Error, loc, message.into())
    }

    pub(crate) fn warn(&mut self, rule: &'static str, loc: Loc, message: impl Into<String>) {
        self.push(rule, Severity::Warning, loc, message.into())
    }

    /// Findings of one file that carry an offset but no line yet.
    pub(crate) fn offsets_of(&self, file: &str) -> Vec<u64> {
        self.findings
            .iter()
            .filter(|f| f.file.as_deref() == Some(file) && f.line.is_none())
            .filter_map(|f| f.offset)
            .collect()
    }

    /// Set lines for findings in `file` from an offset → line map.
    pub(crate) fn set_lines(&mut self, file: &str, lines: &HashMap<u64, u64>) {
        for f in &mut self.findings {
            if f.file.as_deref() == Some(file) && f.line.is_none() {
                if let Some(o) = f.offset {
                    f.line = lines.get(&o).copied();
                }
            }
        }
    }

    /// Set the line of findings directly (xmllint reports lines).
    pub(crate) fn error_line(
        &mut self,
        rule: &'static str,
        file: &str,
        line: Option<u64>,
        message: String,
    ) {
        self.push(rule, Severity::Error, Loc::file(file), message);
        if let Some(f) = self.findings.last_mut() {
            if f.rule == rule && f.line.is_none() {
                f.line = line;
            }
        }
    }

    pub(crate) fn into_report(mut self, extract: String, version: Option<String>) -> Report {
        let order = |rule: &str| {
            RULES
                .iter()
                .position(|(id, _)| *id == rule)
                .unwrap_or(usize::MAX)
        };
        let mut rules: Vec<RuleResult> = self.results.drain().map(|(_, v)| v).collect();
        rules.sort_by_key(|r| order(r.rule));
        self.findings.sort_by_key(|f| order(f.rule));
        Report {
            extract,
            noark_version: version,
            rules,
            findings: self.findings,
        }
    }
}
