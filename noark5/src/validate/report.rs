//! Findings and the validation report (text and JSON).

use serde::Serialize;
use std::collections::BTreeMap;

/// How serious a finding is. Only errors make a validation fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The extract breaks a rule.
    Error,
    /// Suspicious but allowed, or a check that could not be done.
    Warning,
}

/// One finding of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Rule id: `N5.xx` as Arkade 5 numbers its tests, or `HV.xx` for hvelv's additional checks.
    pub rule: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// The file the finding is about, relative to the extract root.
    pub file: Option<String>,
    /// 1-based line in `file`, when known.
    pub line: Option<u64>,
    /// Element path (and systemID) when known.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
    /// Byte offset used to compute `line` after the streaming pass.
    #[serde(skip)]
    pub(crate) offset: Option<u64>,
}

/// The outcome of one rule: counts it reports (Arkade's analysis results) and how many errors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleResult {
    /// The rule id.
    pub rule: &'static str,
    /// The rule's title.
    pub title: &'static str,
    /// Analysis results: label → count (e.g. `"saksmappe"` → 12).
    pub counts: BTreeMap<String, u64>,
    /// Number of error findings.
    pub errors: u64,
    /// Number of warning findings.
    pub warnings: u64,
    /// Findings beyond [`super::MAX_FINDINGS_PER_RULE`] that were counted but not kept.
    pub suppressed: u64,
    /// Whether the rule ran (false when its input was missing; a finding says why).
    pub ran: bool,
}

/// The validation report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The extract folder.
    pub extract: String,
    /// The Noark 5 version the extract declares.
    pub noark_version: Option<String>,
    /// Per-rule results in rule order.
    pub rules: Vec<RuleResult>,
    /// The findings kept, in rule order.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Total number of errors (including suppressed ones).
    pub fn error_count(&self) -> u64 {
        self.rules.iter().map(|r| r.errors).sum()
    }

    /// Total number of warnings.
    pub fn warning_count(&self) -> u64 {
        self.rules.iter().map(|r| r.warnings).sum()
    }

    /// Error count of one rule.
    pub fn errors_of(&self, rule: &str) -> u64 {
        self.rules
            .iter()
            .find(|r| r.rule == rule)
            .map_or(0, |r| r.errors)
    }

    /// The result of one rule.
    pub fn rule(&self, rule: &str) -> Option<&RuleResult> {
        self.rules.iter().find(|r| r.rule == rule)
    }

    /// Human-readable report: one line per finding, then per-rule counts.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!("Noark 5 extract: {}\n", self.extract));
        if let Some(v) = &self.noark_version {
            s.push_str(&format!("Noark 5 version: {v}\n"));
        }
        s.push('\n');
        for f in &self.findings {
            let sev = match f.severity {
                Severity::Error => "ERROR",
                Severity::Warning => "warning",
            };
            let mut loc = String::new();
            if let Some(file) = &f.file {
                loc.push_str(file);
                if let Some(l) = f.line {
                    loc.push_str(&format!(":{l}"));
                }
            }
            if let Some(p) = &f.path {
                if !loc.is_empty() {
                    loc.push(' ');
                }
                loc.push_str(p);
            }
            if loc.is_empty() {
                s.push_str(&format!("{sev} [{}] {}\n", f.rule, f.message));
            } else {
                s.push_str(&format!("{sev} [{}] {loc}: {}\n", f.rule, f.message));
            }
        }
        s.push_str("\nRules:\n");
        for r in &self.rules {
            let status = if !r.ran {
                "not run".to_string()
            } else if r.errors > 0 {
                format!("{} error(s)", r.errors)
            } else {
                "ok".to_string()
            };
            s.push_str(&format!("  {:<6} {:<60} {status}", r.rule, r.title));
            if r.suppressed > 0 {
                s.push_str(&format!(" ({} more not listed)", r.suppressed));
            }
            s.push('\n');
            for (k, v) in &r.counts {
                s.push_str(&format!("           {k}: {v}\n"));
            }
        }
        s.push_str(&format!(
            "\n{} error(s), {} warning(s)\n",
            self.error_count(),
            self.warning_count()
        ));
        s
    }
}
