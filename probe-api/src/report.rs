//! The report a probe's `check` returns: JSON schema version 1.
//!
//! ```json
//! {
//!   "status": "ok | warning | critical | unknown",
//!   "summary": "one line for the pane",
//!   "details": [ {"label": "Protocol version", "value": "3.2 (WSUS 3.0 SP2)", "status": "ok"} ],
//!   "metrics": [ {"label": "latency", "value": 41.7, "uom": "ms", "warn": "500", "crit": "2000"} ],
//!   "items": [ {"id": "dp01", "title": "DP01.corp", "status": "critical", "summary": "..."} ]
//! }
//! ```
//! Unknown fields are ignored so that newer plugins work with older hosts.
//!
//! Schema 1.1 (additive) gives items two optional strings, `evidence` (what was observed:
//! request and answer, rows counted) and `fix` (the operator's next step, naming the console
//! path, service or command, with the documentation address when one exists). A host that
//! predates 1.1 ignores them; a plugin that predates 1.1 simply leaves them out.
//!
//! Schema 1.2 (additive) gives items an optional `rule`: the id of the rule that judged them
//! (see [`crate::rules`]), and metrics an optional `type` (`gauge`, the default, or `counter`)
//! and `labels`: what varies by a server (`{"sup": "sup01.corp.example:8530"}`) is a label,
//! never part of the metric's name. A metric's Prometheus family is
//! `patchdeck_<plugin kind>_<label>_<unit>` (`patchdeck_bits_dps_ready`,
//! `patchdeck_sup_capacity_load_ratio{sup="..."}`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A verdict, with Nagios semantics: UNKNOWN means the probe could not decide (bad config,
/// plugin failed, timed out); a target that is down is CRITICAL, not UNKNOWN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    /// All statuses, in Nagios code order.
    pub const ALL: [Status; 4] = [
        Status::Ok,
        Status::Warning,
        Status::Critical,
        Status::Unknown,
    ];

    /// The Nagios plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub fn code(self) -> i32 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    /// How bad a status is when several are combined: OK < WARNING < UNKNOWN < CRITICAL.
    /// A definite failure outranks "could not tell", so one unknown probe never hides a
    /// critical one.
    pub fn severity(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Unknown => 2,
            Status::Critical => 3,
        }
    }

    /// The worse of two statuses by [`Status::severity`].
    pub fn worst(self, other: Status) -> Status {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    /// Lower-case name as in the JSON schema: `ok`, `warning`, `critical`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Critical => "critical",
            Status::Unknown => "unknown",
        }
    }

    /// Upper-case word for operators and Nagios output: `OK`, `WARNING`, ...
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// Parses the lower-case schema name.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The whole answer of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub status: Status,
    /// One line for the overview pane.
    #[serde(default)]
    pub summary: String,
    /// Label/value rows shown in the drill-down.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Detail>,
    /// Numbers with Nagios-style thresholds; become perfdata in `--format nagios`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    /// The drill-down tree: per server, per distribution point, per failing group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
}

impl Report {
    /// A report with only a status and a summary.
    pub fn new(status: Status, summary: impl Into<String>) -> Report {
        Report {
            status,
            summary: summary.into(),
            details: vec![],
            metrics: vec![],
            items: vec![],
        }
    }
}

/// One label/value row, optionally with its own status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detail {
    pub label: String,
    #[serde(default)]
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

/// A measured number. `warn`/`crit` are Nagios ranges (`10`, `10:`, `~:10`, `@10:20`) so that
/// the nagios output is lossless. `label` is the metric's name (letters, digits, `_`), the
/// same for every server it is measured on; `labels` say which server.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Metric {
    pub label: String,
    pub value: f64,
    /// Unit of measure as in Nagios perfdata: "", "s", "ms", "%", "B", "KB", "c", ...
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uom: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Schema 1.2: `gauge` (default) or `counter` (only ever grows).
    #[serde(default, rename = "type", skip_serializing_if = "MetricType::is_gauge")]
    pub kind: MetricType,
    /// Schema 1.2: what this value is of (`sup` = "sup01.corp.example:8530").
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
}

/// Schema 1.2: how a metric behaves over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricType {
    #[default]
    Gauge,
    Counter,
}

impl MetricType {
    pub fn is_gauge(&self) -> bool {
        *self == MetricType::Gauge
    }
}

impl Metric {
    /// The Nagios perfdata label: the name, then the label values (`load_sup01_corp_example_8530`),
    /// so that one name measured on several servers gives distinct perfdata.
    pub fn perf_label(&self) -> String {
        let mut l = self.label.clone();
        for v in self.labels.values() {
            l.push('_');
            l.extend(
                v.chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
            );
        }
        l
    }
}

/// A node of the drill-down tree, with its own status, details, metrics and children.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    #[serde(default)]
    pub title: String,
    pub status: Status,
    #[serde(default)]
    pub summary: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Detail>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
    /// Schema 1.1: what was observed (e.g. "HEAD 200, GET Range bytes=0-1023 -> 200 without
    /// Content-Range"). Every non-OK item of a shipped probe carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// Schema 1.1: the operator's next step, one or two sentences, with the documentation
    /// address when one exists. Every non-OK item of a shipped probe carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Schema 1.2: the id of the rule that judged this item (`wsus.sync-age`), from the
    /// plugin's rule index. Every non-OK item of a shipped probe names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl Item {
    /// An item with no details, metrics, children, evidence or fix.
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        status: Status,
        summary: impl Into<String>,
    ) -> Item {
        Item {
            id: id.into(),
            title: title.into(),
            status,
            summary: summary.into(),
            details: vec![],
            metrics: vec![],
            items: vec![],
            evidence: None,
            fix: None,
            rule: None,
        }
    }

    /// Names the rule that judged this item.
    pub fn with_rule(mut self, rule: &str) -> Item {
        self.rule = Some(rule.to_owned());
        self
    }

    /// Sets what was observed.
    pub fn with_evidence(mut self, evidence: impl Into<String>) -> Item {
        self.evidence = Some(evidence.into());
        self
    }

    /// Sets the operator's next step.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Item {
        self.fix = Some(fix.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_ignored_and_defaults_apply() {
        let r: Report = serde_json::from_str(
            r#"{"status":"warning","future_field":{"x":1},"items":[{"id":"a","status":"ok","new":true}]}"#,
        )
        .unwrap();
        assert_eq!(r.status, Status::Warning);
        assert_eq!(r.summary, "");
        assert_eq!(r.items[0].id, "a");
        assert_eq!(r.items[0].title, "");
    }

    #[test]
    fn evidence_and_fix_are_optional_and_round_trip() {
        // A 1.0 item (no evidence/fix) still parses.
        let old: Item = serde_json::from_str(r#"{"id":"a","status":"ok"}"#).unwrap();
        assert_eq!((old.evidence, old.fix), (None, None));
        let new = Item::new("dp01", "DP01", Status::Critical, "ignores Range")
            .with_evidence("GET Range bytes=0-1023 -> 200")
            .with_fix("Enable WebDAV");
        let json = serde_json::to_string(&new).unwrap();
        assert!(
            json.contains(r#""evidence":"GET Range bytes=0-1023 -> 200""#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Item>(&json).unwrap(), new);
        // Absent fields are not written as null.
        let plain = serde_json::to_string(&Item::new("a", "", Status::Ok, "")).unwrap();
        assert!(
            !plain.contains("evidence") && !plain.contains("fix"),
            "{plain}"
        );
    }

    #[test]
    fn unknown_status_is_rejected() {
        let err = serde_json::from_str::<Report>(r#"{"status":"fine"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown variant `fine`"), "{err}");
    }

    #[test]
    fn critical_outranks_unknown_when_combining() {
        assert_eq!(Status::Unknown.worst(Status::Critical), Status::Critical);
        assert_eq!(Status::Critical.worst(Status::Unknown), Status::Critical);
        assert_eq!(Status::Ok.worst(Status::Warning), Status::Warning);
        assert_eq!(Status::Warning.worst(Status::Unknown), Status::Unknown);
    }

    #[test]
    fn status_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(Status::parse("OK"), None);
    }
}
