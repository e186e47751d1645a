//! The drill-down's lines, as a pure function of the model: `update` scrolls by them (page
//! size, cursor visibility) and `view::drill` draws them, so neither depends on the other.
//! Status, timing, details, metrics with their ranges, the items tree, recent transitions,
//! the last error in full; `J` shows the raw JSON report.

use crate::model::{Model, ProbeRow};
use crate::text::{ago, clock, short_duration};
use crate::theme;
use patchdeck_probe_api::{Detail, Metric, Status};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// Total body lines and the lines of the tree cursor's item: its own line to the last line of
/// its evidence, fix and details when expanded (for scrolling in `update`: the opened item's
/// text must be on screen, not below the fold).
pub fn line_count(m: &Model) -> (usize, Option<(usize, usize)>) {
    let (lines, cursor) = lines(m);
    (lines.len(), cursor)
}

/// "bits-dps › DP04.corp.example › Ranged GET": where the drill's cursor is, for the row that
/// stays at the top while the rest scrolls.
pub fn breadcrumb(m: &Model) -> String {
    let mut parts = vec![m.drill.probe.clone()];
    if !m.drill.json {
        let rows = m.drill_rows();
        if let Some(row) = rows.get(m.drill.cursor) {
            // The cursor's ancestors are the rows before it with a smaller depth.
            let mut chain = vec![row];
            let mut depth = row.depth;
            for r in rows[..m.drill.cursor].iter().rev() {
                if r.depth < depth {
                    chain.push(r);
                    depth = r.depth;
                }
            }
            for r in chain.into_iter().rev() {
                parts.push(if r.item.title.is_empty() {
                    r.item.id.clone()
                } else {
                    r.item.title.clone()
                });
            }
        }
    }
    parts.join(if m.look.ascii { " > " } else { " › " })
}

fn label(text: &str, look: crate::theme::Look) -> Span<'static> {
    Span::styled(format!("{text:<11}"), theme::heading(look))
}

fn status_spans(status: Option<Status>, look: crate::theme::Look) -> Span<'static> {
    Span::styled(
        format!("{} {}", theme::symbol(status, look), theme::word(status)),
        theme::style(status, look),
    )
}

/// The drill-down's lines, wrapped to the terminal width (long reasons and URLs must be
/// readable in full), and the line the tree cursor is on.
pub fn lines(m: &Model) -> (Vec<Line<'static>>, Option<(usize, usize)>) {
    let (raw, cursor) = unwrapped(m);
    if m.drill.json {
        // Not wrapped: a JSON line stays one line, to scroll sideways and paste whole.
        return (raw, None);
    }
    let width = usize::from(m.size.0).max(20);
    let mut out = Vec::with_capacity(raw.len());
    let (mut start, mut end) = (None, None);
    for (i, line) in raw.into_iter().enumerate() {
        if cursor.is_some_and(|(a, _)| a == i) {
            start = Some(out.len());
        }
        out.extend(wrap(line, width));
        if cursor.is_some_and(|(_, b)| b == i) {
            end = Some(out.len() - 1);
        }
    }
    (out, start.map(|a| (a, end.unwrap_or(a))))
}

/// Where a wrapped line's continuation rows start: under the text, past the line's indent and
/// its label ("    Fix:  make IIS…" continues under "make", "Summary    6/9…" under "6/9").
fn hang(line: &Line) -> usize {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let lead = text.chars().take_while(|c| *c == ' ').count();
    let rest = &text[lead..];
    if let Some(first) = line.spans.first()
        && first.content.chars().count() == 11
        && first.content.ends_with(' ')
    {
        return 11;
    }
    match rest.split_once(' ') {
        Some((word, after)) if word.ends_with(':') && word.chars().count() <= 12 => {
            lead + word.chars().count() + 1 + after.chars().take_while(|c| *c == ' ').count()
        }
        _ => lead + 4,
    }
}

/// Word-wraps a styled line; continuation rows start under the text ([`hang`]).
fn wrap(line: Line<'static>, width: usize) -> Vec<Line<'static>> {
    if line.width() <= width {
        return vec![line];
    }
    let indent = hang(&line).min(width / 2).max(1);
    let pad = " ".repeat(indent);
    let mut rows: Vec<Vec<Span<'static>>> = vec![vec![]];
    let mut used = 0usize;
    for span in line.spans {
        let style = span.style;
        for word in span.content.split_inclusive(' ') {
            let w = word.chars().count();
            let url = word.starts_with("http://") || word.starts_with("https://");
            let bare = word.trim_end().chars().count();
            if url && used + bare > width && bare > width - indent && bare <= width {
                // A URL kept whole, so it can be copied or clicked: on a row of its own from
                // the first column when it would not fit under the text.
                let mut row = vec![Span::styled(word.trim_end().to_owned(), style)];
                used = bare;
                if w > bare && used < width {
                    row.push(Span::raw(" "));
                    used += 1;
                }
                rows.push(row);
                continue;
            } else if used + w > width && used > indent {
                rows.push(vec![Span::raw(pad.clone())]);
                used = indent;
            }
            // A single word longer than a row is cut by characters.
            let mut rest: String = word.to_owned();
            while used + rest.chars().count() > width {
                let take = width.saturating_sub(used).max(1);
                let head: String = rest.chars().take(take).collect();
                rest = rest.chars().skip(take).collect();
                rows.last_mut()
                    .expect("a row")
                    .push(Span::styled(head, style));
                rows.push(vec![Span::raw(pad.clone())]);
                used = indent;
            }
            used += rest.chars().count();
            rows.last_mut()
                .expect("a row")
                .push(Span::styled(rest, style));
        }
    }
    rows.into_iter().map(Line::from).collect()
}

fn unwrapped(m: &Model) -> (Vec<Line<'static>>, Option<(usize, usize)>) {
    let look = m.look;
    let Some(p) = m.probe(&m.drill.probe) else {
        return (
            vec![Line::from(format!("probe \"{}\" is gone", m.drill.probe))],
            None,
        );
    };
    let mut out: Vec<Line<'static>> = Vec::new();
    if m.drill.json {
        match p.latest.as_ref().and_then(|r| r.report.as_ref()) {
            Some(report) => {
                // Serialised once per result, not once per frame.
                let latest = p.latest.as_ref().expect("a report has a result");
                let mut cache = m.json_cache.borrow_mut();
                let text = match cache.as_ref() {
                    Some((r, text)) if std::sync::Arc::ptr_eq(r, latest) => text.clone(),
                    _ => {
                        let text = std::sync::Arc::new(
                            serde_json::to_string_pretty(report).unwrap_or_default(),
                        );
                        *cache = Some((latest.clone(), text.clone()));
                        text
                    }
                };
                out.extend(text.lines().map(|l| Line::from(l.to_owned())));
            }
            None => out.push(Line::from(
                "no report: the last run produced none (see the error)",
            )),
        }
        return (out, None);
    }
    overview(m, p, &mut out);
    let report = p.latest.as_ref().and_then(|r| r.report.as_ref());
    if let Some(r) = report {
        if !r.details.is_empty() {
            out.push(Line::from(""));
            out.push(Line::styled("Details", theme::heading(look)));
            details(&r.details, 1, look, &mut out);
        }
        if !r.metrics.is_empty() {
            out.push(Line::from(""));
            out.push(Line::styled("Metrics", theme::heading(look)));
            metrics(&r.metrics, 1, look, &mut out);
        }
    }
    let mut cursor_line = None;
    let rows = m.drill_rows();
    if !rows.is_empty() {
        out.push(Line::from(""));
        out.push(Line::styled(
            "Items (Enter/→ expand, ← collapse)",
            theme::heading(look),
        ));
        for (i, row) in rows.iter().enumerate() {
            let item = row.item;
            let indent = "  ".repeat(row.depth + 1);
            let arrow = match (row.expandable(), row.expanded, look.ascii) {
                (false, _, _) => " ",
                (true, true, false) => "▾",
                (true, false, false) => "▸",
                (true, true, true) => "-",
                (true, false, true) => "+",
            };
            let title = if item.title.is_empty() {
                item.id.clone()
            } else {
                item.title.clone()
            };
            let is_cursor = i == m.drill.cursor;
            let sel = if is_cursor {
                theme::selected(look)
            } else {
                Style::new()
            };
            if is_cursor {
                cursor_line = Some((out.len(), out.len()));
            }
            out.push(Line::from(vec![
                Span::raw(if is_cursor {
                    ">".to_owned()
                } else {
                    " ".to_owned()
                }),
                Span::raw(format!("{indent}{arrow} ")),
                status_spans(Some(item.status), look),
                Span::styled(format!(" {title}"), sel),
                Span::raw(if item.summary.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", item.summary)
                }),
            ]));
            if row.expanded {
                evidence_and_fix(item, row.depth + 3, look, &mut out);
                details(&item.details, row.depth + 3, look, &mut out);
                metrics(&item.metrics, row.depth + 3, look, &mut out);
            }
            if is_cursor {
                cursor_line = cursor_line.map(|(a, _): (usize, usize)| (a, out.len() - 1));
            }
        }
    }
    let mine: Vec<_> = m
        .data
        .transitions
        .iter()
        .rev()
        .filter(|t| t.probe == p.meta.id)
        .take(10)
        .collect();
    if !mine.is_empty() {
        out.push(Line::from(""));
        out.push(Line::styled("Recent transitions", theme::heading(look)));
        for t in mine {
            out.push(Line::from(vec![
                Span::raw(format!(
                    "  {}  ",
                    crate::text::stamp(t.at, m.now, m.utc_offset)
                )),
                status_spans(t.from, look),
                Span::raw(theme::arrow(look)),
                status_spans(Some(t.to), look),
                Span::raw(format!("  {}", t.summary)),
            ]));
        }
    }
    if let Some(err) = p.latest.as_ref().and_then(|r| r.error.as_ref()) {
        out.push(Line::from(""));
        out.push(Line::styled("Last error", theme::heading(look)));
        for l in err.lines() {
            out.push(Line::from(format!("  {l}")));
        }
    }
    (out, cursor_line)
}

fn overview(m: &Model, p: &ProbeRow, out: &mut Vec<Line<'static>>) {
    let look = m.look;
    let status = p.status();
    out.push(Line::from(vec![
        status_spans(status, look),
        Span::styled(format!("  {}", p.meta.id), theme::heading(look)),
        Span::styled(format!("  ({})", p.meta.kind), theme::dim(look)),
    ]));
    let summary = p
        .latest
        .as_ref()
        .map_or("waiting for the first result".to_owned(), |r| {
            r.summary.clone()
        });
    out.push(Line::from(vec![label("Summary", look), Span::raw(summary)]));
    out.push(Line::from(vec![
        label("Plugin", look),
        Span::raw(format!(
            "{} {} · runner {} · every {} · timeout {}",
            p.meta.kind,
            p.meta.plugin_version,
            p.meta.isolation.as_str(),
            patchdeck_core::duration::format(p.meta.interval),
            patchdeck_core::duration::format(p.meta.timeout)
        )),
    ]));
    let last = match &p.latest {
        Some(r) => format!(
            "{} ({}) · took {} ms",
            clock(r.started_at, m.utc_offset),
            ago(m.now, r.started_at),
            r.duration.as_millis()
        ),
        None => "not yet".to_owned(),
    };
    out.push(Line::from(vec![label("Last run", look), Span::raw(last)]));
    if p.history.len() >= 2 {
        out.push(Line::from(vec![
            label("Latency", look),
            Span::raw(latency_line(&p.history, look)),
        ]));
    }
    let next = if m.data.paused {
        "paused (r runs it now)".to_owned()
    } else if let Some(d) = p.slow_run(m.now) {
        format!("running now (for {})", short_duration(d))
    } else {
        match p.next_run {
            Some(t) => format!(
                "{} (in {})",
                crate::text::when(t, m.now, m.utc_offset),
                short_duration(t.duration_since(m.now).unwrap_or_default())
            ),
            None => "-".to_owned(),
        }
    };
    out.push(Line::from(vec![label("Next run", look), Span::raw(next)]));
}

/// "Seen:" and "Fix:" lines of an expanded item (schema 1.1), the fix emphasised: it is
/// what the operator came for.
fn evidence_and_fix(
    item: &patchdeck_probe_api::Item,
    indent: usize,
    look: crate::theme::Look,
    out: &mut Vec<Line<'static>>,
) {
    let pad = "  ".repeat(indent);
    if let Some(e) = &item.evidence {
        out.push(Line::from(vec![
            Span::styled(format!("{pad}Seen: "), theme::dim(look)),
            Span::raw(e.clone()),
        ]));
    }
    if let Some(f) = &item.fix {
        out.push(Line::from(vec![
            Span::styled(format!("{pad}Fix:  "), theme::heading(look)),
            Span::raw(f.clone()),
        ]));
    }
    if let Some(r) = &item.rule {
        out.push(Line::from(vec![
            Span::styled(format!("{pad}Rule: "), theme::dim(look)),
            Span::raw(patchdeck_core::rules::describe(r)),
        ]));
    }
}

fn details(
    details: &[Detail],
    indent: usize,
    look: crate::theme::Look,
    out: &mut Vec<Line<'static>>,
) {
    let w = details
        .iter()
        .map(|d| d.label.chars().count())
        .max()
        .unwrap_or(0);
    for d in details {
        let mut spans = vec![Span::raw(format!(
            "{}{:<w$}  {}",
            "  ".repeat(indent),
            d.label,
            d.value
        ))];
        if d.status.is_some() {
            spans.push(Span::raw("  "));
            spans.push(status_spans(d.status, look));
        }
        out.push(Line::from(spans));
    }
}

fn metrics(
    metrics: &[Metric],
    indent: usize,
    _look: crate::theme::Look,
    out: &mut Vec<Line<'static>>,
) {
    let w = metrics
        .iter()
        .map(|x| x.label.chars().count())
        .max()
        .unwrap_or(0);
    for x in metrics {
        let mut s = format!(
            "{}{:<w$}  {}{}",
            "  ".repeat(indent),
            x.label,
            x.value,
            if x.uom.is_empty() { "" } else { " " }
        );
        s.push_str(&x.uom);
        if let Some(warn) = &x.warn {
            s.push_str(&format!("   warn {warn}"));
        }
        if let Some(crit) = &x.crit {
            s.push_str(&format!("   crit {crit}"));
        }
        if x.min.is_some() || x.max.is_some() {
            let f = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
            s.push_str(&format!("   range {}..{}", f(x.min), f(x.max)));
        }
        out.push(Line::from(s));
    }
}

/// The last runs' durations as bars, with min / median / max: the pane on the overview does
/// not redraw on every run's jitter, so the trend lives here.
fn latency_line(
    history: &std::collections::VecDeque<patchdeck_core::store::HistoryEntry>,
    look: crate::theme::Look,
) -> String {
    let ms: Vec<u128> = history
        .iter()
        .rev()
        .take(30)
        .rev()
        .map(|h| h.duration.as_millis())
        .collect();
    let max = ms.iter().copied().max().unwrap_or(0).max(1);
    let bars: &[char] = if look.ascii {
        &['_', '.', '-', '=', '#']
    } else {
        &['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█']
    };
    let top = (bars.len() - 1) as u128;
    let spark: String = ms.iter().map(|&v| bars[(v * top / max) as usize]).collect();
    let mut sorted = ms.clone();
    sorted.sort_unstable();
    format!(
        "{spark}  last {} runs: min {} ms, median {} ms, max {} ms",
        ms.len(),
        sorted[0],
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1]
    )
}
