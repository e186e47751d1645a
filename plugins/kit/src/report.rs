//! Small builders for report parts that every probe writes the same way, and the caps that
//! keep text from a server or an export from flooding a report (a 900 KB SOAP fault string
//! must not turn a CRITICAL into "report too large").

use patchdeck_probe_api::{Detail, Item, Metric, Report, Rule, Status};
use std::path::Path;
use std::time::SystemTime;

/// The most bytes any one summary, detail value, evidence or fix string keeps.
pub const TEXT_CAP: usize = 4096;

/// `text` cut to at most `max` bytes on a character boundary, with "…" when it was cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

pub fn detail(label: &str, value: impl Into<String>, status: Option<Status>) -> Detail {
    Detail {
        label: clip(label, TEXT_CAP),
        value: clip(&value.into(), TEXT_CAP),
        status,
    }
}

pub fn item(
    id: &str,
    title: impl Into<String>,
    status: Status,
    summary: impl Into<String>,
) -> Item {
    Item::new(
        clip(id, TEXT_CAP),
        clip(&title.into(), TEXT_CAP),
        status,
        clip(&summary.into(), TEXT_CAP),
    )
}

/// Adds the rule that judged an item, what was observed and the operator's next step (both
/// capped).
pub fn explain(
    mut it: Item,
    rule: &Rule,
    evidence: impl Into<String>,
    fix: impl Into<String>,
) -> Item {
    it.rule = Some(rule.id.to_owned());
    it.evidence = Some(clip(&evidence.into(), TEXT_CAP));
    it.fix = Some(clip(&fix.into(), TEXT_CAP));
    it
}

/// Ids of the items (at any depth) that are not OK and lack evidence, a fix or a rule: every non-OK
/// item of a shipped probe must say what was seen and what to do. For tests.
pub fn unexplained(items: &[Item]) -> Vec<String> {
    let mut out = Vec::new();
    for i in items {
        if i.status != Status::Ok && (i.evidence.is_none() || i.fix.is_none() || i.rule.is_none()) {
            out.push(i.id.clone());
        }
        out.extend(unexplained(&i.items));
    }
    out
}

/// A metric with its value rounded to one decimal, minimum 0, no thresholds; add them with
/// the builder methods of [`MetricBuilder`].
pub fn metric(label: &str, value: f64, uom: &str) -> MetricBuilder {
    MetricBuilder(Metric {
        label: label.to_owned(),
        value: (value * 10.0).round() / 10.0,
        uom: uom.to_owned(),
        warn: None,
        crit: None,
        min: Some(0.0),
        max: None,
        ..Default::default()
    })
}

/// Builds a [`Metric`]; `.done()` gives it.
#[derive(Debug, Clone)]
pub struct MetricBuilder(Metric);

impl MetricBuilder {
    /// Warning threshold (a Nagios range such as `10` or `10:`).
    pub fn warn(mut self, range: impl ToString) -> Self {
        self.0.warn = Some(range.to_string());
        self
    }
    /// Critical threshold (a Nagios range).
    pub fn crit(mut self, range: impl ToString) -> Self {
        self.0.crit = Some(range.to_string());
        self
    }
    pub fn max(mut self, max: f64) -> Self {
        self.0.max = Some(max);
        self
    }
    pub fn no_min(mut self) -> Self {
        self.0.min = None;
        self
    }
    /// What the value is of (`sup` = "sup01.corp.example:8530"): a label, not part of the name.
    pub fn of(mut self, key: &str, value: impl Into<String>) -> Self {
        self.0.labels.insert(key.to_owned(), value.into());
        self
    }
    /// A count that only grows.
    pub fn counter(mut self) -> Self {
        self.0.kind = patchdeck_probe_api::MetricType::Counter;
        self
    }
    pub fn done(self) -> Metric {
        self.0
    }
}

/// How old an export is: judged ages (last scan, last sync) are measured from the time it was
/// taken, and an export older than `max_export_age_hours` is too old to judge at all.
#[derive(Debug, Clone)]
pub struct ExportAge {
    pub path: String,
    /// When the file was written (its mtime).
    pub taken: SystemTime,
    pub age_h: u64,
    pub max_h: u64,
}

impl ExportAge {
    /// `None` when the file's time cannot be read (the reader reports the file itself).
    /// The time the export was taken is its manifest's `TakenUtc` when a manifest lists it
    /// ([`crate::exports`]), else the file's mtime.
    pub fn of(path: &Path, now: SystemTime, max_h: u64) -> Option<ExportAge> {
        Some(ExportAge::at(
            path,
            crate::exports::taken(path)?,
            now,
            max_h,
        ))
    }

    /// The age of an export taken at `taken` (already read), as of `now`.
    pub fn at(path: &Path, taken: SystemTime, now: SystemTime, max_h: u64) -> ExportAge {
        ExportAge {
            path: path.display().to_string(),
            taken,
            age_h: now.duration_since(taken).map_or(0, |d| d.as_secs() / 3600),
            max_h,
        }
    }

    pub fn too_old(&self) -> bool {
        self.age_h > self.max_h
    }

    /// The "Export age" detail row.
    pub fn detail(&self) -> Detail {
        detail(
            "Export age",
            format!("written {} h ago (judged as of then)", self.age_h),
            Some(if self.too_old() {
                Status::Unknown
            } else {
                Status::Ok
            }),
        )
    }

    /// One item of a probe that reads several exports, when this one is too old to judge:
    /// UNKNOWN naming the export (`export`, e.g. "status-message") and its age; `subject`
    /// says what cannot be judged ("a sync").
    pub fn unknown_item(
        &self,
        (id, title): (&str, &str),
        (export, subject): (&str, &str),
        rule: &Rule,
    ) -> Item {
        explain(
            item(
                id,
                title,
                Status::Unknown,
                format!(
                    "cannot judge: the {export} export is {} h old (over {} h)",
                    self.age_h, self.max_h
                ),
            ),
            rule,
            format!("{}: written {} h ago", self.path, self.age_h),
            format!(
                "Check the job that writes this export (README, Site-database exports): {subject} cannot be judged from an export this old."
            ),
        )
    }

    /// The whole report of a probe whose export is too old to judge: UNKNOWN naming the
    /// export and its age, never "clients not scanned".
    pub fn unknown_report(&self, rule: &Rule) -> Report {
        let summary = format!(
            "export too old to judge: {} written {} h ago (max_export_age_hours {})",
            self.path, self.age_h, self.max_h
        );
        let it = explain(
            item("export", "Export age", Status::Unknown, &summary),
            rule,
            format!("{}: modified {} h ago", self.path, self.age_h),
            "Check the job that writes this export (Task Scheduler or SQL Agent job running sqlcmd, see README, Site-database exports): verdicts from an old export would describe a past site.",
        );
        let mut r = Report::new(Status::Unknown, clip(&summary, TEXT_CAP));
        r.details = vec![self.detail()];
        r.items = vec![it];
        r
    }
}

/// A list of names kept to at most `cap` entries while counting all of them, for "clients
/// below the minimum: PC01, PC02 … and 1,204 more".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    pub names: Vec<String>,
    pub total: u64,
    pub cap: usize,
}

impl Names {
    pub fn new(cap: usize) -> Names {
        Names {
            names: Vec::new(),
            total: 0,
            cap,
        }
    }

    /// Counts one more; keeps (copies) the name only while there is room, so counting a
    /// million rows allocates nothing.
    pub fn push(&mut self, name: &str) {
        self.total += 1;
        if self.names.len() < self.cap {
            self.names.push(clip(name, 256));
        }
    }

    /// The names as detail rows, with a "… N more" row when the list was cut.
    pub fn details(&self) -> Vec<Detail> {
        name_list(&self.names, self.total)
    }

    /// "PC01, PC02, PC03 and 12 more" with at most `shown` names.
    pub fn sentence(&self, shown: usize) -> String {
        let head: Vec<&str> = self.names.iter().take(shown).map(String::as_str).collect();
        let rest = self.total.saturating_sub(head.len() as u64);
        match rest {
            0 => head.join(", "),
            n => format!(
                "{} and {} more",
                head.join(", "),
                crate::threshold::thousands(n)
            ),
        }
    }
}

/// Names as detail rows, with a "… N more" row when the list was cut.
pub fn name_list(names: &[String], total: u64) -> Vec<Detail> {
    let mut d: Vec<Detail> = names.iter().map(|n| detail(n, "", None)).collect();
    if total > names.len() as u64 {
        d.push(detail(
            "…",
            format!(
                "{} more",
                crate::threshold::thousands(total - names.len() as u64)
            ),
            None,
        ));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_clipped_on_a_char_boundary() {
        assert_eq!(clip("short", 10), "short");
        let long = "é".repeat(3000); // 6000 bytes
        let c = clip(&long, TEXT_CAP);
        assert!(c.len() <= TEXT_CAP && c.ends_with('…'), "{}", c.len());
        let it = item("x", "t", Status::Critical, "x".repeat(900_000));
        assert!(it.summary.len() <= TEXT_CAP);
    }

    #[test]
    fn an_export_too_old_is_an_unknown_item_naming_it() {
        let rule = Rule {
            id: "x.export",
            severity: Status::Unknown,
            title: "",
            source: "",
            url: "",
            fix: "",
            assumption: false,
        };
        let age = ExportAge {
            path: "/srv/status.csv".into(),
            taken: SystemTime::UNIX_EPOCH,
            age_h: 240,
            max_h: 26,
        };
        assert!(age.too_old());
        let it = age.unknown_item(
            ("sync", "SUP synchronisation"),
            ("status-message", "a sync"),
            &rule,
        );
        assert_eq!(
            (it.status, it.summary.as_str(), it.rule.as_deref()),
            (
                Status::Unknown,
                "cannot judge: the status-message export is 240 h old (over 26 h)",
                Some("x.export")
            )
        );
        assert_eq!(
            it.evidence.as_deref(),
            Some("/srv/status.csv: written 240 h ago")
        );
        assert!(!ExportAge { age_h: 26, ..age }.too_old());
    }

    #[test]
    fn names_count_all_and_keep_a_few() {
        let mut n = Names::new(2);
        for i in 0..5 {
            n.push(&format!("PC{i}"));
        }
        assert_eq!(n.total, 5);
        assert_eq!(n.sentence(2), "PC0, PC1 and 3 more");
        assert_eq!(n.sentence(1), "PC0 and 4 more");
        assert_eq!(n.details().last().unwrap().value, "3 more");
        let m = metric("load", 79.96, "%").warn(80).crit(100).done();
        assert_eq!(
            (m.value, m.warn.as_deref(), m.crit.as_deref()),
            (80.0, Some("80"), Some("100"))
        );
    }
}
