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

/// Nagios: `ID STATUS: summary | perfdata` per probe, perfdata from the report's metrics.
pub fn nagios(rows: &[(ProbeMeta, CheckResult)]) -> String {
    let mut out = String::new();
    for (m, r) in rows {
        // '|' separates perfdata in the Nagios plugin format; it must not appear before it.
        let summary = one_line(&r.summary).replace('|', "/");
        out.push_str(&format!(
            "{} {}: {}",
            one_line(&m.id),
            r.status.label(),
            summary
        ));
        let perf: Vec<String> = r
            .report
            .iter()
            .flat_map(|rep| rep.metrics.iter())
            .map(perfdata)
            .collect();
        if !perf.is_empty() {
            out.push_str(" | ");
            out.push_str(&perf.join(" "));
        }
        out.push('\n');
    }
    out
}

/// One metric as Nagios perfdata: `'label'=value[uom];[warn];[crit];[min];[max]`.
pub fn perfdata(m: &Metric) -> String {
    let raw = one_line(&m.label);
    let needs_quotes = raw
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
            format!(
                "fix: {}: {}",
                one_line(title),
                one_line(i.fix.as_deref().unwrap_or(""))
            )
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
