//! Small builders for report parts that every probe writes the same way, and the caps that
//! keep text from a server or an export from flooding a report (a 900 KB SOAP fault string
//! must not turn a CRITICAL into "report too large").

use patchdeck_probe_api::{Detail, Item, Metric, Status};
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

/// Adds what was observed and the operator's next step to an item (both capped).
pub fn explain(mut it: Item, evidence: impl Into<String>, fix: impl Into<String>) -> Item {
    it.evidence = Some(clip(&evidence.into(), TEXT_CAP));
    it.fix = Some(clip(&fix.into(), TEXT_CAP));
    it
}

/// Ids of the items (at any depth) that are not OK and lack evidence or a fix: every non-OK
/// item of a shipped probe must say what was seen and what to do. For tests.
pub fn unexplained(items: &[Item]) -> Vec<String> {
    let mut out = Vec::new();
    for i in items {
        if i.status != Status::Ok && (i.evidence.is_none() || i.fix.is_none()) {
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
    pub fn done(self) -> Metric {
        self.0
    }
}

/// "Export age" of a file: a warning when older than `max_hours` (the export job stopped?).
pub fn export_age(path: &Path, now: SystemTime, max_hours: u64) -> Option<Detail> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    let age_h = now
        .duration_since(modified)
        .map_or(0, |d| d.as_secs() / 3600);
    let (status, mut value) = (
        if age_h > max_hours {
            Status::Warning
        } else {
            Status::Ok
        },
        format!("written {age_h} h ago"),
    );
    if status == Status::Warning {
        value.push_str(" (older than max_export_age_hours: is the export job running?)");
    }
    Some(detail("Export age", value, Some(status)))
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
