//! Headless renderings of check results: text for people, JSON for scripts, Nagios plugin
//! output for monitoring systems. The same data the TUI shows.

use crate::store::{CheckResult, ProbeMeta};
use patchdeck_probe_api::{Metric, Status};

/// The worst status by severity (OK < WARNING < UNKNOWN < CRITICAL); OK for no results.
pub fn worst<'a>(results: impl IntoIterator<Item = &'a CheckResult>) -> Status {
    results
        .into_iter()
        .fold(Status::Ok, |w, r| w.worst(r.status))
}

/// Plain text: one aligned line per probe, then the worst status with counts.
pub fn text(rows: &[(ProbeMeta, CheckResult)]) -> String {
    let id_w = rows.iter().map(|(m, _)| m.id.len()).max().unwrap_or(0);
    let kind_w = rows
        .iter()
        .map(|(m, _)| m.kind.len() + 2)
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    let mut counts = [0usize; 4];
    for (m, r) in rows {
        counts[r.status.code() as usize] += 1;
        out.push_str(&format!(
            "{:<8}  {:<id_w$}  {:<kind_w$}  {}  [{} ms]\n",
            r.status.label(),
            one_line(&m.id),
            format!("({})", one_line(&m.kind)),
            one_line(&r.summary),
            r.duration.as_millis()
        ));
        if r.status != Status::Ok {
            for line in fixes(r.report.as_ref(), FIXES_SHOWN) {
                out.push_str(&format!("          {line}\n"));
            }
        }
    }
    let all: Vec<&CheckResult> = rows.iter().map(|(_, r)| r).collect();
    out.push_str(&format!(
        "worst: {} ({} ok, {} warning, {} critical, {} unknown)\n",
        worst(all).label(),
        counts[0],
        counts[1],
        counts[2],
        counts[3]
    ));
    out
}

/// JSON: `{"probes":[{id,kind,status,summary,duration_ms,report,error}],"worst":...}`.
pub fn json(rows: &[(ProbeMeta, CheckResult)]) -> String {
    let probes: Vec<serde_json::Value> = rows
        .iter()
        .map(|(m, r)| {
            serde_json::json!({
                "id": m.id,
                "kind": m.kind,
                "status": r.status.as_str(),
                "summary": r.summary,
                "duration_ms": r.duration.as_millis() as u64,
                "report": r.report,
                "error": r.error,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "probes": probes,
        "worst": worst(rows.iter().map(|(_, r)| r)).as_str(),
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    crate::sanitize::json(s)
}

/// Nagios / Icinga plugin output, per the Monitoring Plugins Development Guidelines.
///
/// With one probe: `ID STATUS: summary | perfdata` (labels as the plugin named them).
/// With several: one headline with the worst status and who caused it,
/// `PATCHDECK CRITICAL - 1 critical (bits-dps), 1 warning (wua-clients), 4 ok | perfdata`,
/// then one long-output line per probe (status, id, summary, first fix). The only `|` is the
/// headline's perfdata separator; labels are `'probe::label'`, unique; a metric that is not
/// valid perfdata is left out (and logged), never printed malformed.
pub fn nagios(rows: &[(ProbeMeta, CheckResult)]) -> String {
    if let [(m, r)] = rows {
        let summary = no_pipe(&one_line(&r.summary));
        let perf = perfdata_block(rows, false);
        let mut out = format!(
            "{} {}: {}",
            no_pipe(&one_line(&m.id)),
            r.status.label(),
            summary
        );
        if !perf.is_empty() {
            out.push_str(" | ");
            out.push_str(&perf);
        }
        out.push('\n');
        out.push_str(&nagios_items(rows));
        return out;
    }
    let worst = worst(rows.iter().map(|(_, r)| r));
    let mut parts = Vec::new();
    for st in [Status::Critical, Status::Unknown, Status::Warning] {
        let ids: Vec<String> = rows
            .iter()
            .filter(|(_, r)| r.status == st)
            .map(|(m, _)| one_line(&m.id))
            .collect();
        if !ids.is_empty() {
            parts.push(format!(
                "{} {} ({})",
                ids.len(),
                st.as_str(),
                capped_list(&ids, 5)
            ));
        }
    }
    let ok = rows.iter().filter(|(_, r)| r.status == Status::Ok).count();
    if ok > 0 || parts.is_empty() {
        parts.push(format!("{ok} ok"));
    }
    let mut out = format!(
        "PATCHDECK {} - {}",
        worst.label(),
        no_pipe(&parts.join(", "))
    );
    let perf = perfdata_block(rows, true);
    if !perf.is_empty() {
        out.push_str(" | ");
        out.push_str(&perf);
    }
    out.push('\n');
    // Long output: worst first, then in config order.
    let mut order: Vec<&(ProbeMeta, CheckResult)> = rows.iter().collect();
    order.sort_by_key(|(_, r)| std::cmp::Reverse(r.status.severity()));
    for (m, r) in order {
        let mut line = format!(
            "{} {}: {}",
            r.status.label(),
            one_line(&m.id),
            one_line(&r.summary)
        );
        if r.status != Status::Ok
            && let Some(fix) = fixes(r.report.as_ref(), 1).first()
        {
            line.push_str(&format!(" ({fix})"));
        }
        out.push_str(&no_pipe(&line));
        out.push('\n');
    }
    out.push_str(&nagios_items(rows));
    out
}

/// Non-OK item lines in the long output at most, and their bytes (Nagios Core keeps 8 KiB of
/// output by default; the headline and probe lines come first).
const NAGIOS_MAX_ITEMS: usize = 50;
const NAGIOS_ITEMS_BYTES: usize = 6 * 1024;
/// Evidence and fix are cut to this many characters each on an item line.
const NAGIOS_FIELD_CHARS: usize = 160;

/// Every non-OK item of every probe (at any depth), worst first, one line each: status,
/// probe, item, summary, evidence and fix. Fixing the first fault never hides the next: each
/// one is named. Capped with "... and N more non-OK items".
fn nagios_items(rows: &[(ProbeMeta, CheckResult)]) -> String {
    fn walk<'a>(
        probe: &'a str,
        items: &'a [patchdeck_probe_api::Item],
        out: &mut Vec<(&'a str, &'a patchdeck_probe_api::Item)>,
    ) {
        for i in items {
            if i.status != Status::Ok {
                out.push((probe, i));
            }
            walk(probe, &i.items, out);
        }
    }
    let mut all = Vec::new();
    for (m, r) in rows {
        if let Some(rep) = &r.report {
            walk(&m.id, &rep.items, &mut all);
        }
    }
    // Worst first; within a status, probe and item order (a stable sort).
    all.sort_by_key(|(_, i)| std::cmp::Reverse(i.status.severity()));
    let cut = |s: &str| {
        let s = one_line(s);
        if s.chars().count() > NAGIOS_FIELD_CHARS {
            format!(
                "{}…",
                s.chars().take(NAGIOS_FIELD_CHARS).collect::<String>()
            )
        } else {
            s
        }
    };
    let mut out = String::new();
    let mut shown = 0;
    for (probe, i) in &all {
        let name = if i.title.is_empty() { &i.id } else { &i.title };
        let mut line = format!(
            "{} {} {}: {}",
            i.status.label(),
            one_line(probe),
            one_line(name),
            cut(&i.summary)
        );
        if let Some(e) = &i.evidence {
            line.push_str(&format!("; evidence: {}", cut(e)));
        }
        if let Some(f) = &i.fix {
            line.push_str(&format!("; fix: {}", cut(f)));
        }
        let line = no_pipe(&line);
        if shown == NAGIOS_MAX_ITEMS || out.len() + line.len() + 1 > NAGIOS_ITEMS_BYTES {
            break;
        }
        out.push_str(&line);
        out.push('\n');
        shown += 1;
    }
    if shown < all.len() {
        out.push_str(&format!(
            "... and {} more non-OK items\n",
            all.len() - shown
        ));
    }
    out
}

/// `|` separates perfdata in plugin output: it must never appear in text.
fn no_pipe(s: &str) -> String {
    s.replace('|', "/")
}

/// "a, b, c and 4 more".
fn capped_list(ids: &[String], max: usize) -> String {
    if ids.len() <= max {
        return ids.join(", ");
    }
    format!("{} and {} more", ids[..max].join(", "), ids.len() - max)
}

/// Every probe's valid metrics as one perfdata block; `prefixed`: labels `probe::label`.
fn perfdata_block(rows: &[(ProbeMeta, CheckResult)], prefixed: bool) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (m, r) in rows {
        for metric in r.report.iter().flat_map(|rep| rep.metrics.iter()) {
            if let Err(why) = valid_metric(metric) {
                tracing::warn!(
                    probe = %one_line(&m.id),
                    metric = %one_line(&metric.label),
                    "metric left out of the Nagios perfdata: {why}"
                );
                continue;
            }
            let base = if prefixed {
                format!("{}::{}", m.id, metric.perf_label())
            } else {
                metric.perf_label()
            };
            let mut label = base.clone();
            let mut n = 2;
            while !seen.insert(label.clone()) {
                label = format!("{base}_{n}");
                n += 1;
            }
            out.push(perfdata_labelled(metric, &label, prefixed));
        }
    }
    out.join(" ")
}

/// Units of measure the guidelines allow.
const UOMS: &[&str] = &["", "s", "ms", "us", "%", "B", "KB", "MB", "TB", "c"];

/// Why a metric cannot be printed as perfdata, if it cannot.
pub fn valid_metric(m: &Metric) -> Result<(), String> {
    if !m.value.is_finite() {
        return Err(format!("value {} is not a number", m.value));
    }
    if !UOMS.contains(&m.uom.as_str()) {
        return Err(format!(
            "unit \"{}\" is not one of {}",
            m.uom,
            UOMS[1..].join(" ")
        ));
    }
    for (what, r) in [("warn", &m.warn), ("crit", &m.crit)] {
        if let Some(r) = r
            && !is_range(r)
        {
            return Err(format!(
                "{what} \"{r}\" is not a Nagios range (10, 10:, ~:10, @10:20)"
            ));
        }
    }
    if [m.min, m.max].into_iter().flatten().any(|v| !v.is_finite()) {
        return Err("min/max is not a number".into());
    }
    if m.label.is_empty()
        || m.label.contains(['=', '\'', '|'])
        || m.label.chars().any(crate::sanitize::is_hostile)
    {
        return Err("the label is empty or has =, ', | or control characters".into());
    }
    Ok(())
}

/// A Nagios threshold range: `[@][start:][end]`, `~` standing for minus infinity.
pub fn is_range(r: &str) -> bool {
    let r = r.strip_prefix('@').unwrap_or(r);
    let num = |s: &str| s.parse::<f64>().is_ok_and(f64::is_finite);
    match r.split_once(':') {
        None => num(r),
        Some((start, end)) => {
            (start.is_empty() || start == "~" || num(start)) && (end.is_empty() || num(end))
        }
    }
}

/// One metric as Nagios perfdata: `'label'=value[uom];[warn];[crit];[min];[max]`.
pub fn perfdata(m: &Metric) -> String {
    perfdata_labelled(m, &m.label, false)
}

/// Perfdata with the given label, quoted when it needs it (or always: `force_quotes`).
fn perfdata_labelled(m: &Metric, label: &str, force_quotes: bool) -> String {
    let raw = one_line(label);
    let needs_quotes = force_quotes
        || raw
            .chars()
            .any(|c| c.is_whitespace() || c == '=' || c == '\'');
    let label = if needs_quotes {
        format!("'{}'", raw.replace('\'', "''"))
    } else {
        raw
    };
    let num = |v: f64| {
        let s = format!("{v}");
        if s.contains("inf") || s.contains("NaN") {
            String::new()
        } else {
            s
        }
    };
    let mut fields = vec![
        format!("{label}={}{}", num(m.value), m.uom),
        m.warn.as_deref().map(one_line).unwrap_or_default(),
        m.crit.as_deref().map(one_line).unwrap_or_default(),
        m.min.map(num).unwrap_or_default(),
        m.max.map(num).unwrap_or_default(),
    ];
    while fields.len() > 1 && fields.last().is_some_and(String::is_empty) {
        fields.pop();
    }
    fields.join(";")
}

/// How many fixes `text` prints under a failing probe (the drill-down and JSON have all).
const FIXES_SHOWN: usize = 5;

/// "fix: <item>: <fix>" for the non-OK items of a report that carry a fix (schema 1.1), worst
/// first and in tree order within a status, at most `max`, then "… N more".
pub fn fixes(report: Option<&patchdeck_probe_api::Report>, max: usize) -> Vec<String> {
    fn walk<'a>(
        items: &'a [patchdeck_probe_api::Item],
        out: &mut Vec<&'a patchdeck_probe_api::Item>,
    ) {
        for i in items {
            if i.status != Status::Ok && i.fix.is_some() {
                out.push(i);
            }
            walk(&i.items, out);
        }
    }
    let mut found = Vec::new();
    if let Some(r) = report {
        walk(&r.items, &mut found);
    }
    found.sort_by_key(|i| std::cmp::Reverse(i.status.severity()));
    let mut lines: Vec<String> = found
        .iter()
        .take(max)
        .map(|i| {
            let title = if i.title.is_empty() { &i.id } else { &i.title };
            let mut line = format!(
                "fix: {}: {}",
                one_line(title),
                one_line(i.fix.as_deref().unwrap_or(""))
            );
            if let Some(r) = i.rule.as_deref() {
                line.push_str(&format!(" [rule {}]", one_line(&crate::rules::cited(r))));
            }
            line
        })
        .collect();
    if found.len() > max {
        lines.push(format!(
            "… {} more (see `--format json` or the dashboard)",
            found.len() - max
        ));
    }
    lines
}

/// Untrusted text as one terminal-safe line: line breaks folded into spaces, every other
/// control or bidi character shown escaped ([`crate::sanitize`]).
fn one_line(s: &str) -> String {
    let joined = s
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    crate::sanitize::line(&joined).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(label: &str, value: f64) -> Metric {
        Metric {
            label: label.into(),
            value,
            uom: "ms".into(),
            warn: Some("500".into()),
            crit: Some("2000".into()),
            min: Some(0.0),
            max: None,
            ..Default::default()
        }
    }

    #[test]
    fn fixes_list_failing_items_worst_first_and_are_capped() {
        use patchdeck_probe_api::{Item, Report};
        let mut r = Report::new(Status::Critical, "x");
        r.items = vec![
            Item::new("a", "DP01", Status::Warning, "slow").with_fix("Look at DP01."),
            Item::new("b", "", Status::Ok, "fine").with_fix("never shown: the item is OK"),
            Item {
                items: vec![
                    Item::new("c1", "Range", Status::Critical, "ignored")
                        .with_fix("Enable\nRange."),
                    Item::new("c2", "HEAD", Status::Unknown, "no fix given"),
                ],
                ..Item::new("c", "DP02", Status::Critical, "")
            },
        ];
        assert_eq!(
            fixes(Some(&r), 5),
            ["fix: Range: Enable Range.", "fix: DP01: Look at DP01."]
        );
        assert_eq!(
            fixes(Some(&r), 1),
            [
                "fix: Range: Enable Range.",
                "… 1 more (see `--format json` or the dashboard)"
            ]
        );
        assert!(fixes(None, 5).is_empty());
    }

    fn row(
        id: &str,
        status: Status,
        summary: &str,
        metrics: Vec<Metric>,
    ) -> (ProbeMeta, CheckResult) {
        use crate::config::Isolation;
        use std::time::{Duration, SystemTime};
        let mut rep = patchdeck_probe_api::Report::new(status, summary);
        rep.metrics = metrics;
        (
            ProbeMeta {
                id: id.into(),
                kind: "mock".into(),
                plugin_version: "0".into(),
                isolation: Isolation::Process,
                interval: Duration::from_secs(60),
                timeout: Duration::from_secs(10),
            },
            CheckResult::from_report(rep, SystemTime::now(), Duration::from_millis(3)),
        )
    }

    #[test]
    fn nagios_has_one_headline_long_output_and_one_perfdata_block() {
        let m = |label: &str, v: f64| Metric {
            label: label.into(),
            value: v,
            uom: String::new(),
            warn: None,
            crit: None,
            min: Some(0.0),
            max: Some(8.0),
            ..Default::default()
        };
        let rows = vec![
            row(
                "wsus-sup01",
                Status::Ok,
                "WSUS 3.0 SP2 | fine",
                vec![m("latency", 4.0)],
            ),
            row(
                "bits-dps",
                Status::Critical,
                "6/8 DPs BITS-ready",
                vec![m("dps_ready", 6.0)],
            ),
            row(
                "wua-clients",
                Status::Warning,
                "30,000 clients",
                vec![m("latency", 1.0), m("latency", 2.0)],
            ),
        ];
        let out = nagios(&rows);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "PATCHDECK CRITICAL - 1 critical (bits-dps), 1 warning (wua-clients), 1 ok | \
'wsus-sup01::latency'=4;;;0;8 'bits-dps::dps_ready'=6;;;0;8 'wua-clients::latency'=1;;;0;8 'wua-clients::latency_2'=2;;;0;8"
        );
        assert_eq!(
            &lines[1..],
            [
                "CRITICAL bits-dps: 6/8 DPs BITS-ready",
                "WARNING wua-clients: 30,000 clients",
                "OK wsus-sup01: WSUS 3.0 SP2 / fine",
            ]
        );
        assert_eq!(out.matches('|').count(), 1, "{out}");
        // One probe: today's line shape.
        assert_eq!(
            nagios(&rows[1..2]),
            "bits-dps CRITICAL: 6/8 DPs BITS-ready | dps_ready=6;;;0;8\n"
        );
    }

    /// DP04 and DP06 both CRITICAL: both are paged, with --probe too, so fixing DP04 never
    /// hides DP06.
    #[test]
    fn nagios_long_output_names_every_non_ok_item_worst_first() {
        use patchdeck_probe_api::Item;
        let mut bits = row("bits-dps", Status::Critical, "7/9 DPs BITS-ready", vec![]);
        let rep = bits.1.report.as_mut().unwrap();
        rep.items = vec![
            Item::new("DP01", "DP01", Status::Ok, "ready"),
            Item::new("DP04", "DP04", Status::Critical, "200 instead of 206")
                .with_evidence("GET with Range: bytes=0-99 -> 200 | no Content-Range")
                .with_fix("Enable Range on DP04's IIS."),
            Item::new("DP06", "DP06", Status::Critical, "no WebDAV")
                .with_fix("Install WebDAV on DP06."),
            Item::new("DP07", "DP07", Status::Warning, "slow"),
        ];
        let lines = |out: &str| out.lines().map(str::to_owned).collect::<Vec<_>>();
        let single = nagios(std::slice::from_ref(&bits));
        assert_eq!(
            lines(&single)[1..],
            [
                "CRITICAL bits-dps DP04: 200 instead of 206; evidence: GET with Range: bytes=0-99 -> 200 / no Content-Range; fix: Enable Range on DP04's IIS.",
                "CRITICAL bits-dps DP06: no WebDAV; fix: Install WebDAV on DP06.",
                "WARNING bits-dps DP07: slow",
            ]
        );
        assert_eq!(single.matches('|').count(), 0, "{single}");
        let many = nagios(&[row("wsus", Status::Ok, "fine", vec![]), bits.clone()]);
        assert!(
            many.contains("\nCRITICAL bits-dps DP06: no WebDAV; fix: Install WebDAV on DP06.\n"),
            "{many}"
        );
        // Past 50 items: capped, with the count of the rest.
        let rep = bits.1.report.as_mut().unwrap();
        rep.items = (0..80)
            .map(|i| Item::new(format!("DP{i}"), "", Status::Critical, "down"))
            .collect();
        let out = nagios(std::slice::from_ref(&bits));
        assert!(out.ends_with("... and 30 more non-OK items\n"), "{out}");
        assert_eq!(
            out.lines()
                .filter(|l| l.starts_with("CRITICAL bits-dps DP"))
                .count(),
            50
        );
    }

    #[test]
    fn invalid_metrics_are_left_out_of_perfdata() {
        let good = Metric {
            label: "load".into(),
            value: 80.0,
            uom: "%".into(),
            warn: Some("80".into()),
            crit: Some("@90:100".into()),
            min: Some(0.0),
            max: None,
            ..Default::default()
        };
        assert_eq!(valid_metric(&good), Ok(()));
        for bad in [
            Metric {
                uom: "clients".into(),
                ..good.clone()
            },
            Metric {
                warn: Some("eighty".into()),
                ..good.clone()
            },
            Metric {
                value: f64::NAN,
                ..good.clone()
            },
            Metric {
                label: "a|b".into(),
                ..good.clone()
            },
            Metric {
                label: "a=b".into(),
                ..good.clone()
            },
        ] {
            assert!(valid_metric(&bad).is_err(), "{bad:?}");
        }
        let rows = vec![row(
            "p",
            Status::Ok,
            "s",
            vec![
                good.clone(),
                Metric {
                    uom: "apples".into(),
                    ..good
                },
            ],
        )];
        assert_eq!(nagios(&rows), "p OK: s | load=80%;80;@90:100;0\n");
        for r in ["10", "10:", "~:10", "@10:20", "10:20", "-5:5", "@~:0"] {
            assert!(is_range(r), "{r}");
        }
        for r in ["", "@", "x", "10:x", "1:2:3", "inf"] {
            assert!(!is_range(r), "{r}");
        }
    }

    #[test]
    fn perfdata_follows_the_nagios_format() {
        assert_eq!(
            perfdata(&metric("latency", 41.7)),
            "latency=41.7ms;500;2000;0"
        );
        assert_eq!(
            perfdata(&metric("get config", 3.0)),
            "'get config'=3ms;500;2000;0"
        );
        assert_eq!(perfdata(&metric("it's", 1.0)), "'it''s'=1ms;500;2000;0");
        let bare = Metric {
            label: "n".into(),
            value: 5.0,
            uom: String::new(),
            warn: None,
            crit: None,
            min: None,
            max: None,
            ..Default::default()
        };
        assert_eq!(perfdata(&bare), "n=5");
        let gap = Metric {
            max: Some(10.0),
            warn: None,
            ..bare
        };
        assert_eq!(perfdata(&gap), "n=5;;;;10");
    }
}
