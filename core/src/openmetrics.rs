//! The store as OpenMetrics text (or the Prometheus text format), for `patchdeck serve`'s
//! `/metrics`. Base units: seconds and ratios (0-1). Status is the usual enum pattern: one
//! series per status value, 1 for the current one. Item series are capped per probe so a
//! probe with thousands of items cannot blow up cardinality.

use crate::sanitize;
use crate::store::State;
use patchdeck_probe_api::{Item, Metric, MetricType, Status};
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

    /// The header of an info family `{family}_info`: OpenMetrics' `info` type, a gauge that
    /// is always 1 in the Prometheus text format. `help` without its final period.
    fn info_header(&mut self, family: &str, help: &str) {
        match self.fmt {
            Format::OpenMetrics => self.header(family, "info", None, &format!("{help}.")),
            Format::Prometheus => self.header(
                &format!("{family}_info"),
                "gauge",
                None,
                &format!("{help} (always 1)."),
            ),
        }
    }

    /// One sample; `labels` already rendered by [`labels`].
    fn sample(&mut self, name: &str, labels: &str, v: f64) {
        self.out.push_str(name);
        if labels.is_empty() {
            self.out.push(' ');
        } else {
            self.out.push('{');
            self.out.push_str(labels);
            self.out.push_str("} ");
        }
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

/// At most this many metric series per probe (a plugin cannot flood the scrape).
const MAX_METRICS_PER_PROBE: usize = 200;

/// `s` cut to at most `max` bytes at a character boundary.
fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The worst top-level item (first of the worst), as [`crate::store::CheckResult::cause`].
fn worst_item(items: &[Item]) -> Option<&Item> {
    let mut best: Option<&Item> = None;
    for i in items.iter().filter(|i| i.status != Status::Ok) {
        if best.is_none_or(|b| i.status.severity() > b.status.severity()) {
            best = Some(i);
        }
    }
    best
}

/// A name part: lower case letters, digits and `_` only, at most 60 characters.
fn name_part(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
        if out.len() >= 60 {
            break;
        }
    }
    out.trim_matches('_').to_owned()
}

/// A label name a metric may add: `[a-z_][a-z0-9_]*`, not one patchdeck sets itself.
fn valid_label_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 40
        && k.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !k.starts_with(|c: char| c.is_ascii_digit())
        && !k.starts_with("__")
        && !matches!(k, "probe" | "kind" | "le" | "quantile")
}

/// Whether promtool's linter reads a name component as a unit that is not a base unit, or as
/// an abbreviated one ("use base unit bytes instead of bits").
fn unit_word(c: &str) -> bool {
    const NON_BASE: &[&str] = &[
        "minutes",
        "hours",
        "days",
        "weeks",
        "kelvins",
        "fahrenheit",
        "rankine",
        "inches",
        "yards",
        "miles",
        "bits",
        "calories",
        "pounds",
        "ounces",
    ];
    const BASE: &[&str] = &[
        "amperes", "bytes", "celsius", "grams", "joules", "kelvin", "meters", "metres", "seconds",
        "volts",
    ];
    const PREFIXES: &[&str] = &[
        "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega",
        "mibi", "giga", "gibi", "tera", "tebi", "peta", "pebi",
    ];
    // Those promtool 2.x flags as abbreviated (tried one by one: "min", "cpu", "pct" pass).
    const ABBREVIATIONS: &[&str] = &[
        "s", "ms", "us", "ns", "sec", "m", "h", "d", "b", "kb", "mb", "gb", "tb", "pb",
    ];
    NON_BASE.contains(&c)
        || ABBREVIATIONS.contains(&c)
        || PREFIXES.iter().any(|p| {
            c.strip_prefix(p)
                .is_some_and(|u| NON_BASE.contains(&u) || BASE.contains(&u))
        })
}

/// `name` with every component promtool would read as a non-base or abbreviated unit joined
/// to its neighbour (`patchdeck_bits_dps_ready` -> `patchdeck_bitsdps_ready`: the BITS
/// service is no unit), so that every family passes `promtool check metrics`.
fn lint_safe(name: &str) -> String {
    let parts: Vec<&str> = name.split('_').collect();
    let mut out: Vec<String> = Vec::new();
    let mut glue = false;
    for (i, p) in parts.iter().enumerate() {
        if glue && let Some(last) = out.last_mut() {
            last.push_str(p);
        } else {
            out.push((*p).to_owned());
        }
        glue = unit_word(out.last().map_or("", String::as_str)) && i + 1 < parts.len();
        // The last component a unit word: join it to the one before.
        if i + 1 == parts.len() && unit_word(p) && out.len() > 1 {
            let last = out.pop().unwrap_or_default();
            if let Some(prev) = out.last_mut() {
                prev.push_str(&last);
            }
        }
    }
    out.join("_")
}

/// Where a report metric goes: its family, the name of its samples, its unit, whether it
/// counts, and the factor to its base unit.
struct MetricFamily {
    family: String,
    sample: String,
    unit: &'static str,
    counter: bool,
    factor: f64,
}

/// The family of a report metric: `patchdeck_<kind>_<label>_<unit>`, e.g.
/// `patchdeck_sup_capacity_load_ratio`; a `_percent`/`_ms` at the end of the label gives way
/// to the base unit.
fn family_of(kind: &str, m: &Metric) -> MetricFamily {
    let (unit, factor) = base_unit(&m.uom);
    let counter = m.kind == MetricType::Counter || unit == "total";
    let mut label = name_part(&m.label);
    for suffix in ["_percent", "_pct", "_ms", "_seconds", "_bytes", "_ratio"] {
        if let Some(l) = label.strip_suffix(suffix)
            && !l.is_empty()
        {
            label = l.to_owned();
            break;
        }
    }
    let mut family = lint_safe(&format!("patchdeck_{}_{label}", name_part(kind)));
    let unit = if unit == "total" { "" } else { unit };
    if !unit.is_empty() {
        family.push('_');
        family.push_str(unit);
    }
    let sample = if counter {
        format!("{family}_total")
    } else {
        family.clone()
    };
    MetricFamily {
        family,
        sample,
        unit,
        counter,
        factor,
    }
}

/// Each report metric as a family of its own, in base units, labelled with its probe and
/// whatever it is of (`sup`). A name that would collide with another type, and a repeated
/// label set, are left out: no duplicate series whatever plugins send.
fn report_metrics(f: &mut Family, st: &State) {
    // Per family: how it was first declared, its help, and its (labels, value) samples.
    type Declared = (MetricFamily, String, Vec<(String, f64)>);
    let mut families: std::collections::BTreeMap<String, Declared> = Default::default();
    let mut seen = std::collections::HashSet::new();
    for p in &st.probes {
        let Some(rep) = p.latest.as_ref().and_then(|r| r.report.as_ref()) else {
            continue;
        };
        for m in rep
            .metrics
            .iter()
            .filter(|m| m.value.is_finite())
            .take(MAX_METRICS_PER_PROBE)
        {
            let fam = family_of(&p.meta.kind, m);
            if fam.family.ends_with('_') || fam.family.len() > 120 {
                continue;
            }
            let mut pairs: Vec<(&str, &str)> = vec![("probe", &p.meta.id)];
            pairs.extend(
                m.labels
                    .iter()
                    .filter(|(k, _)| valid_label_key(k))
                    .take(8)
                    .map(|(k, v)| (k.as_str(), clip(v, 200))),
            );
            let l = labels(&pairs);
            if !seen.insert(format!("{}{{{l}}}", fam.sample)) {
                continue;
            }
            let value = m.value * fam.factor;
            let counter = fam.counter;
            let entry = families.entry(fam.family.clone()).or_insert_with(|| {
                let help = format!(
                    "Report metric {} of {} probes{}.",
                    name_part(&m.label),
                    name_part(&p.meta.kind),
                    if fam.unit.is_empty() {
                        String::new()
                    } else {
                        format!(", in {}", fam.unit)
                    }
                );
                (fam, help, Vec::new())
            });
            if entry.0.counter != counter {
                continue;
            }
            entry.2.push((l, value));
        }
    }
    for (fam, help, samples) in families.into_values() {
        f.header(
            &fam.family,
            if fam.counter { "counter" } else { "gauge" },
            (!fam.unit.is_empty()).then_some(fam.unit),
            &help,
        );
        for (l, v) in samples {
            f.sample(&fam.sample, &l, v);
        }
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
    render_with(st, fmt, max_items, None, true)
}

/// [`render`] with the site's name (a `patchdeck_site` info series) and, when `eof` is false,
/// without OpenMetrics' closing `# EOF` (serve adds [`process_metrics`] per scrape after it).
pub fn render_with(
    st: &State,
    fmt: Format,
    max_items: usize,
    site: Option<&str>,
    eof: bool,
) -> String {
    // The capacity is a hint: never let a large max_items turn it into a huge allocation.
    let hint = st
        .probes
        .len()
        .saturating_mul(1024 + max_items.min(1000) * 400)
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
    f.info_header("patchdeck_build", "The patchdeck that serves these metrics");
    f.sample("patchdeck_build_info", &version, 1.0);
    if let Some(site) = site {
        f.info_header("patchdeck_site", "The site this patchdeck watches");
        f.sample("patchdeck_site_info", &labels(&[("site", site)]), 1.0);
    }
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
    // Why each probe is not OK, so an alert can say so: the worst item and its summary.
    f.info_header(
        "patchdeck_probe_cause",
        "Why the probe is not OK: its worst item (id, title) and that item's summary",
    );
    for p in &st.probes {
        let Some(r) = p.latest.as_ref().filter(|r| r.status != Status::Ok) else {
            continue;
        };
        let worst = r.report.as_ref().and_then(|rep| worst_item(&rep.items));
        let (item, title, summary) = match worst {
            Some(i) => (i.id.as_str(), i.title.as_str(), i.summary.as_str()),
            None => ("", "", r.summary.as_str()),
        };
        let l = labels(&[
            ("probe", &p.meta.id),
            ("kind", &p.meta.kind),
            ("status", r.status.as_str()),
            ("item", item),
            ("title", clip(title, 120)),
            ("summary", clip(summary, 200)),
        ]);
        f.sample("patchdeck_probe_cause_info", &l, 1.0);
    }
    report_metrics(&mut f, st);
    f.header(
        "patchdeck_item_status",
        "gauge",
        None,
        "Status of an item of the probe's latest report (the drill-down tree, capped per probe): 1 for the current status.",
    );
    // One list and one label buffer for every probe: 50,000 items are 50,000 allocations
    // otherwise.
    let (mut list, mut prefix) = (Vec::new(), String::new());
    for p in &st.probes {
        let Some(rep) = p.latest.as_ref().and_then(|r| r.report.as_ref()) else {
            continue;
        };
        let probe = labels(&[("probe", &p.meta.id)]);
        list.clear();
        items(&rep.items, &mut list, max_items);
        for i in &list {
            prefix.clear();
            prefix.push_str(&probe);
            prefix.push_str(",item=\"");
            prefix.push_str(&label(&i.id));
            prefix.push('"');
            f.statuses("patchdeck_item_status", &prefix, Some(i.status));
        }
    }
    if eof && fmt == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

/// The standard `process_*` metrics of this process (from /proc), as Prometheus client
/// libraries export them: read at each scrape, they are never stale.
pub fn process_metrics(fmt: Format) -> String {
    let mut out = String::new();
    let mut f = Family { out: &mut out, fmt };
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    // SAFETY: as above.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as f64;
    if let (Some(u), Some(s)) = (field(14), field(15)) {
        f.header(
            "process_cpu_seconds",
            "counter",
            Some("seconds"),
            "Total user and system CPU time spent in seconds.",
        );
        f.sample("process_cpu_seconds_total", "", (u + s) / ticks);
    }
    if let Some(rss) = field(24) {
        f.header(
            "process_resident_memory_bytes",
            "gauge",
            Some("bytes"),
            "Resident memory size in bytes.",
        );
        f.sample("process_resident_memory_bytes", "", rss * page);
    }
    if let Some(v) = field(23) {
        f.header(
            "process_virtual_memory_bytes",
            "gauge",
            Some("bytes"),
            "Virtual memory size in bytes.",
        );
        f.sample("process_virtual_memory_bytes", "", v);
    }
    let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<f64>().ok())
    });
    if let (Some(boot), Some(start)) = (boot, field(22)) {
        f.header(
            "process_start_time_seconds",
            "gauge",
            Some("seconds"),
            "Start time of the process since the Unix epoch in seconds.",
        );
        f.sample("process_start_time_seconds", "", boot + start / ticks);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        f.header(
            "process_open_fds",
            "gauge",
            None,
            "Number of open file descriptors.",
        );
        f.sample("process_open_fds", "", fds.count() as f64);
    }
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        f.header(
            "process_max_fds",
            "gauge",
            None,
            "Maximum number of open file descriptors.",
        );
        f.sample("process_max_fds", "", lim.rlim_cur as f64);
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

    fn meta(id: &str) -> ProbeMeta {
        ProbeMeta {
            id: id.into(),
            kind: "bits".into(),
            plugin_version: "0".into(),
            isolation: Isolation::Process,
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        }
    }

    fn store() -> Store {
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
            ..Default::default()
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
        assert!(
            om.contains("# UNIT patchdeck_bitslatency_seconds seconds\n"),
            "{om}"
        );
        assert!(
            om.contains("patchdeck_bitslatency_seconds{probe=\"bits-dps\"} 0.0415\n"),
            "{om}"
        );
        assert!(!om.contains("patchdeck_metric"));
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

    /// A metric measured per server is one family with a label, never a name per server; a
    /// counter is a counter; a repeated label set, an invalid label key and a name taken by
    /// another type are left out; `_percent` gives way to `_ratio`.
    #[test]
    fn each_report_metric_is_a_family_with_its_servers_as_labels() {
        use patchdeck_kit_free::*;
        let store = Store::new([
            ProbeMeta {
                kind: "sup-capacity".into(),
                ..meta("sups")
            },
            ProbeMeta {
                kind: "wua".into(),
                ..meta("wua-clients")
            },
        ]);
        let mut rep = Report::new(Status::Warning, "load");
        rep.metrics = vec![
            m("load", 85.0, "%", &[("sup", "sup01.corp.example:8530")]),
            m("load", 40.0, "%", &[("sup", "sup02.corp.example:8530")]),
            // The same series again, and one with a label key patchdeck owns.
            m("load", 99.0, "%", &[("sup", "sup01.corp.example:8530")]),
            m("load", 1.0, "%", &[("probe", "forged")]),
        ];
        rep.items = vec![Item::new(
            "SUP01",
            "sup01 \"x\"",
            Status::Warning,
            "85% of 25,000\n\u{1b}[2J",
        )];
        store.record(
            "sups",
            CheckResult::from_report(rep, SystemTime::UNIX_EPOCH, Duration::ZERO),
            None,
        );
        let mut rep = Report::new(Status::Ok, "fine");
        let mut failures = m("scan_failures", 12.0, "", &[]);
        failures.kind = patchdeck_probe_api::MetricType::Counter;
        rep.metrics = vec![m("below_minimum_percent", 2.5, "%", &[]), failures];
        store.record(
            "wua-clients",
            CheckResult::from_report(rep, SystemTime::UNIX_EPOCH, Duration::ZERO),
            None,
        );
        let om = render_with(&store.read(), Format::OpenMetrics, 50, Some("ABC"), true);
        assert!(
            om.contains("# TYPE patchdeck_sup_capacity_load_ratio gauge\n"),
            "{om}"
        );
        assert!(om.contains(
            "patchdeck_sup_capacity_load_ratio{probe=\"sups\",sup=\"sup01.corp.example:8530\"} 0.85\n"
        ), "{om}");
        assert!(om.contains(
            "patchdeck_sup_capacity_load_ratio{probe=\"sups\",sup=\"sup02.corp.example:8530\"} 0.4\n"
        ), "{om}");
        assert_eq!(
            om.matches("sup=\"sup01.corp.example:8530\"").count(),
            1,
            "{om}"
        );
        assert!(!om.contains("forged"), "{om}");
        assert!(
            om.contains("patchdeck_sup_capacity_load_ratio{probe=\"sups\"} 0.01\n"),
            "{om}"
        );
        assert!(
            om.contains("patchdeck_wua_below_minimum_ratio{probe=\"wua-clients\"} 0.025\n"),
            "{om}"
        );
        assert!(
            om.contains("# TYPE patchdeck_wua_scan_failures counter\n"),
            "{om}"
        );
        assert!(
            om.contains("patchdeck_wua_scan_failures_total{probe=\"wua-clients\"} 12\n"),
            "{om}"
        );
        assert!(om.contains("patchdeck_site_info{site=\"ABC\"} 1\n"), "{om}");
        // The cause: the worst item, its title and summary escaped, one line.
        let cause = om
            .lines()
            .find(|l| l.starts_with("patchdeck_probe_cause_info{"))
            .unwrap();
        assert!(cause.contains("probe=\"sups\",kind=\"sup-capacity\",status=\"warning\",item=\"SUP01\",title=\"sup01 \\\"x\\\"\""), "{cause}");
        assert!(!cause.contains('\u{1b}'), "{cause}");
        assert_eq!(
            om.matches("patchdeck_probe_cause_info{").count(),
            1,
            "OK probes have none"
        );
        let prom = render(&store.read(), Format::Prometheus, 50);
        assert!(
            prom.contains("# TYPE patchdeck_wua_scan_failures_total counter\n"),
            "{prom}"
        );
        // The process, read now.
        let p = process_metrics(Format::Prometheus);
        assert!(p.contains("\nprocess_resident_memory_bytes "), "{p}");
        assert!(p.contains("process_open_fds "), "{p}");
    }

    #[test]
    fn names_never_read_as_units_by_promtool() {
        assert_eq!(
            lint_safe("patchdeck_bits_dps_ready"),
            "patchdeck_bitsdps_ready"
        );
        assert_eq!(
            lint_safe("patchdeck_wsus_latency"),
            "patchdeck_wsus_latency"
        );
        assert_eq!(lint_safe("patchdeck_x_age_hours"), "patchdeck_x_agehours");
        assert_eq!(lint_safe("patchdeck_x_ms_kb_y"), "patchdeck_x_mskb_y");
        assert_eq!(
            family_of("bits", &patchdeck_kit_free::m("dps_ready", 1.0, "", &[])).family,
            "patchdeck_bitsdps_ready"
        );
    }

    mod patchdeck_kit_free {
        pub fn m(label: &str, value: f64, uom: &str, labels: &[(&str, &str)]) -> super::Metric {
            super::Metric {
                label: label.into(),
                value,
                uom: uom.into(),
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..Default::default()
            }
        }
    }
}
