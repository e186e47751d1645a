//! The store as OpenMetrics text (or the Prometheus text format), for `patchdeck serve`'s
//! `/metrics`. Base units: seconds and ratios (0-1). Status is the usual enum pattern: one
//! series per status value, 1 for the current one. Item series are capped per probe so a
//! probe with thousands of items cannot blow up cardinality.

use crate::sanitize;
use crate::store::State;
use patchdeck_probe_api::{Item, Status};
use std::fmt::Write;
use std::time::UNIX_EPOCH;

/// Which text format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/openmetrics-text; version=1.0.0`: `# UNIT`, `_total` counters, `# EOF`.
    OpenMetrics,
    /// `text/plain; version=0.0.4`.
    Prometheus,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
        }
    }

    /// What to send for an `Accept` header: OpenMetrics when asked for, else plain text.
    pub fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }
}

/// A label value, escaped for the text formats and safe for a terminal that shows it.
fn label(v: &str) -> std::borrow::Cow<'_, str> {
    let plain = |c: char| !matches!(c, '\\' | '"' | '\n') && !sanitize::is_hostile(c);
    if v.chars().all(plain) {
        return std::borrow::Cow::Borrowed(v);
    }
    std::borrow::Cow::Owned(
        sanitize::line(v)
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n"),
    )
}

/// `k1="v1",k2="v2"` with the values escaped.
fn labels(pairs: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(k);
        s.push_str("=\"");
        s.push_str(&label(v));
        s.push('"');
    }
    s
}

/// A metric value: integers without a fraction, `NaN`/`+Inf` spelled as the formats want.
fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        // 12 significant digits: more than any probe measures, without the noise of arithmetic
        // (0.007, never 0.006999999999999999).
        let rounded: f64 = format!("{v:.11e}").parse().unwrap_or(v);
        format!("{rounded}")
    }
}

struct Family<'a> {
    out: &'a mut String,
    fmt: Format,
}

impl Family<'_> {
    /// Writes the HELP/TYPE(/UNIT) header. `name` is the family name (without `_total`).
    fn header(&mut self, name: &str, kind: &str, unit: Option<&str>, help: &str) {
        let typed = match (self.fmt, kind) {
            (Format::Prometheus, "counter") => format!("{name}_total"),
            _ => name.to_owned(),
        };
        let _ = writeln!(self.out, "# HELP {typed} {help}");
        let _ = writeln!(self.out, "# TYPE {typed} {kind}");
        if let (Format::OpenMetrics, Some(u)) = (self.fmt, unit) {
            let _ = writeln!(self.out, "# UNIT {name} {u}");
        }
    }

    /// One sample; `labels` already rendered by [`labels`].
    fn sample(&mut self, name: &str, labels: &str, v: f64) {
        self.out.push_str(name);
        self.out.push('{');
        self.out.push_str(labels);
        self.out.push_str("} ");
        if v == 0.0 {
            self.out.push('0');
        } else if v == 1.0 {
            self.out.push('1');
        } else {
            self.out.push_str(&value(v));
        }
        self.out.push('\n');
    }

    /// The enum pattern: one sample per status, `prefix` = the other labels rendered.
    fn statuses(&mut self, name: &str, prefix: &str, current: Option<Status>) {
        for s in Status::ALL {
            self.out.push_str(name);
            self.out.push('{');
            self.out.push_str(prefix);
            self.out.push_str(",status=\"");
            self.out.push_str(s.as_str());
            self.out.push_str(if current == Some(s) {
                "\"} 1\n"
            } else {
                "\"} 0\n"
            });
        }
    }
}

/// Metric units of reports in base units: (unit label, factor).
fn base_unit(uom: &str) -> (&'static str, f64) {
    match uom {
        "s" => ("seconds", 1.0),
        "ms" => ("seconds", 0.001),
        "us" => ("seconds", 0.000_001),
        "%" => ("ratio", 0.01),
        "B" => ("bytes", 1.0),
        "KB" => ("bytes", 1024.0),
        "MB" => ("bytes", 1024.0 * 1024.0),
        "TB" => ("bytes", 1024f64.powi(4)),
        "c" => ("total", 1.0),
        _ => ("", 1.0),
    }
}

/// Items of a report, depth first, for `patchdeck_item_status` (capped).
fn items<'a>(items: &'a [Item], out: &mut Vec<&'a Item>, cap: usize) {
    for i in items {
        if out.len() >= cap {
            return;
        }
        out.push(i);
        self::items(&i.items, out, cap);
    }
}

/// Renders the store. `max_items`: item series per probe at most.
pub fn render(st: &State, fmt: Format, max_items: usize) -> String {
    // The capacity is a hint: never let a large max_items turn it into a huge allocation.
    let hint = st
        .probes
        .len()
        .saturating_mul(512 + max_items.min(1000) * 300)
        .min(64 * 1024 * 1024);
    let mut out = String::with_capacity(4096 + hint);
    let mut f = Family { out: &mut out, fmt };
    // Each probe's identity labels, escaped once.
    let ids: Vec<String> = st
        .probes
        .iter()
        .map(|p| labels(&[("probe", &p.meta.id), ("kind", &p.meta.kind)]))
        .collect();
    // Which patchdeck answers (an info metric: OpenMetrics `info`, Prometheus text a gauge).
    let version = labels(&[("version", env!("CARGO_PKG_VERSION"))]);
    match fmt {
        Format::OpenMetrics => {
            f.header(
                "patchdeck_build",
                "info",
                None,
                "The patchdeck that serves these metrics.",
            );
        }
        Format::Prometheus => {
            f.header(
                "patchdeck_build_info",
                "gauge",
                None,
                "The patchdeck that serves these metrics (always 1).",
            );
        }
    }
    f.sample("patchdeck_build_info", &version, 1.0);
    f.header(
        "patchdeck_probe_status",
        "gauge",
        None,
        "Status of the probe's latest result: 1 for the current status, 0 for the others.",
    );
    for (p, id) in st.probes.iter().zip(&ids) {
        f.statuses("patchdeck_probe_status", id, p.status());
    }
    f.header(
        "patchdeck_probe_up",
        "gauge",
        None,
        "1 when the probe's latest run produced a verdict (not UNKNOWN, not pending).",
    );
    for (p, id) in st.probes.iter().zip(&ids) {
        let up = p.status().is_some_and(|s| s != Status::Unknown);
        f.sample("patchdeck_probe_up", id, if up { 1.0 } else { 0.0 });
    }
    f.header(
        "patchdeck_probe_duration_seconds",
        "gauge",
        Some("seconds"),
        "How long the probe's latest run took.",
    );
    for (p, id) in st.probes.iter().zip(&ids) {
        if let Some(r) = &p.latest {
            f.sample(
                "patchdeck_probe_duration_seconds",
                id,
                r.duration.as_secs_f64(),
            );
        }
    }
    f.header(
        "patchdeck_probe_last_run_timestamp_seconds",
        "gauge",
        Some("seconds"),
        "When the probe's latest run finished (Unix time).",
    );
    for (p, id) in st.probes.iter().zip(&ids) {
        if let Some(r) = &p.latest {
            let at = (r.started_at + r.duration)
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            f.sample("patchdeck_probe_last_run_timestamp_seconds", id, at);
        }
    }
    f.header(
        "patchdeck_probe_transitions",
        "counter",
        None,
        "Status (or cause) changes of the probe since patchdeck started.",
    );
    for (p, id) in st.probes.iter().zip(&ids) {
        f.sample(
            "patchdeck_probe_transitions_total",
            id,
            p.transitions_total as f64,
        );
    }
    f.header(
        "patchdeck_metric",
        "gauge",
        None,
        "A metric of the probe's latest report, in base units (seconds, ratio 0-1, bytes).",
    );
    for p in &st.probes {
        let Some(rep) = p.latest.as_ref().and_then(|r| r.report.as_ref()) else {
            continue;
        };
        for m in rep.metrics.iter().filter(|m| m.value.is_finite()) {
            let (unit, factor) = base_unit(&m.uom);
            let l = labels(&[("probe", &p.meta.id), ("name", &m.label), ("unit", unit)]);
            f.sample("patchdeck_metric", &l, m.value * factor);
        }
    }
    f.header(
        "patchdeck_item_status",
        "gauge",
        None,
        "Status of an item of the probe's latest report (the drill-down tree, capped per probe): 1 for the current status.",
    );
    for p in &st.probes {
        let Some(rep) = p.latest.as_ref().and_then(|r| r.report.as_ref()) else {
            continue;
        };
        let probe = labels(&[("probe", &p.meta.id)]);
        let mut list = Vec::new();
        items(&rep.items, &mut list, max_items);
        for i in list {
            let prefix = format!("{probe},item=\"{}\"", label(&i.id));
            f.statuses("patchdeck_item_status", &prefix, Some(i.status));
        }
    }
    if fmt == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn build_info_in_both_formats() {
        let st = State::default();
        let v = env!("CARGO_PKG_VERSION");
        let om = render(&st, Format::OpenMetrics, 50);
        assert!(om.contains("# TYPE patchdeck_build info\n"), "{om}");
        assert!(
            om.contains(&format!("patchdeck_build_info{{version=\"{v}\"}} 1\n")),
            "{om}"
        );
        let prom = render(&st, Format::Prometheus, 50);
        assert!(
            prom.contains("# TYPE patchdeck_build_info gauge\n"),
            "{prom}"
        );
        assert!(
            prom.contains(&format!("patchdeck_build_info{{version=\"{v}\"}} 1\n")),
            "{prom}"
        );
    }

    #[test]
    fn values_carry_no_float_noise() {
        assert_eq!(value(0.007), "0.007");
        assert_eq!(value(7.0 / 1000.0 + 0.1 - 0.1), "0.007");
        assert_eq!(value(0.1 + 0.2), "0.3");
        assert_eq!(value(41.5), "41.5");
        assert_eq!(value(1e-9), "0.000000001");
        assert_eq!(value(12.0), "12");
    }

    use super::*;
    use crate::config::Isolation;
    use crate::store::{CheckResult, ProbeMeta, Store};
    use patchdeck_probe_api::{Metric, Report};
    use std::time::{Duration, SystemTime};

    fn store() -> Store {
        let meta = |id: &str| ProbeMeta {
            id: id.into(),
            kind: "bits".into(),
            plugin_version: "0".into(),
            isolation: Isolation::Process,
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        };
        let store = Store::new([meta("bits-dps"), meta("quote\"me\u{1b}")]);
        let mut rep = Report::new(Status::Critical, "6/8");
        rep.metrics.push(Metric {
            label: "latency".into(),
            value: 41.5,
            uom: "ms".into(),
            warn: None,
            crit: None,
            min: None,
            max: None,
        });
        rep.items = (0..5)
            .map(|i| {
                Item::new(
                    format!("DP0{i}"),
                    "",
                    if i == 3 { Status::Critical } else { Status::Ok },
                    "",
                )
            })
            .collect();
        store.record(
            "bits-dps",
            CheckResult::from_report(
                rep,
                SystemTime::UNIX_EPOCH + Duration::from_secs(100),
                Duration::from_millis(250),
            ),
            None,
        );
        store
    }

    #[test]
    fn renders_families_with_base_units_capped_items_and_escaped_labels() {
        let s = store();
        let om = render(&s.read(), Format::OpenMetrics, 3);
        assert!(om.ends_with("# EOF\n"));
        assert!(
            om.contains(
                "patchdeck_probe_status{probe=\"bits-dps\",kind=\"bits\",status=\"critical\"} 1\n"
            ),
            "{om}"
        );
        assert!(om.contains(
            "patchdeck_probe_status{probe=\"bits-dps\",kind=\"bits\",status=\"ok\"} 0\n"
        ));
        assert!(om.contains("# UNIT patchdeck_probe_duration_seconds seconds\n"));
        assert!(
            om.contains(
                "patchdeck_probe_duration_seconds{probe=\"bits-dps\",kind=\"bits\"} 0.25\n"
            )
        );
        assert!(om.contains(
            "patchdeck_probe_last_run_timestamp_seconds{probe=\"bits-dps\",kind=\"bits\"} 100.25\n"
        ));
        assert!(om.contains("# TYPE patchdeck_probe_transitions counter\npatchdeck_probe_transitions_total{probe=\"bits-dps\",kind=\"bits\"} 1\n"));
        assert!(om.contains(
            "patchdeck_metric{probe=\"bits-dps\",name=\"latency\",unit=\"seconds\"} 0.0415\n"
        ));
        assert_eq!(
            om.matches("patchdeck_item_status{probe=\"bits-dps\"")
                .count(),
            3 * 4,
            "capped at 3 items"
        );
        assert!(om.contains("probe=\"quote\\\"me\\\\x1b\""), "{om}");
        assert!(!om.chars().any(|c| c != '\n' && sanitize::is_hostile(c)));
        let prom = render(&s.read(), Format::Prometheus, 3);
        assert!(!prom.contains("# EOF") && !prom.contains("# UNIT"));
        assert!(prom.contains("# TYPE patchdeck_probe_transitions_total counter\n"));
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"
            )),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Prometheus);
        assert_eq!(Format::negotiate(None), Format::Prometheus);
    }
}
