//! The overview: a grid of panes that reflows with the terminal, or one line per probe when
//! the terminal is narrow.

use crate::layout;
use crate::model::{Focus, Model, ProbeRow, Problem, Target};
use crate::text::{ago, fit};
use crate::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// Results shown in a pane's status strip at most: the pane's width (a wide pane shows the
/// last hour of a one-minute probe), up to what a snapshot keeps.
const STRIP: usize = crate::model::SNAPSHOT_HISTORY;

pub fn render(m: &Model, f: &mut Frame, area: Rect) {
    m.hits.borrow_mut().clear();
    let visible = m.visible();
    if visible.is_empty() {
        let msg = if m.filter.is_empty() {
            "no probes configured"
        } else {
            "nothing matches the filter: probes, items, evidence (Esc clears it)"
        };
        f.render_widget(
            Paragraph::new(Line::from(msg).centered()),
            Rect { height: 1, ..area },
        );
        return;
    }
    let problems = m.problems();
    let selected = m.selected_pos(&visible).unwrap_or(0);
    // The problems list wants its title row and a line per problem; the probes never get
    // less than one row of panes (or three list lines).
    let problems_min = (1 + problems.len().max(1)).min(usize::from(area.height) / 2) as u16;
    let probes_h = if layout::narrow((f.area().width, f.area().height)) {
        let want = visible.len() as u16;
        let h = want
            .min(area.height.saturating_sub(problems_min))
            .max(3.min(area.height));
        list(m, f, Rect { height: h, ..area }, &visible, selected);
        h
    } else {
        let cols = layout::grid_columns(area.width, visible.len());
        let rows = visible.len().div_ceil(cols) as u16;
        let pane_w = usize::from(area.width / cols as u16).saturating_sub(2);
        // Summaries wrap onto extra pane lines (at most 2) while the problems still fit.
        let wrap = visible
            .iter()
            .map(|&i| summary_lines(m, &m.data.probes[i], pane_w))
            .max()
            .unwrap_or(1);
        let spare = area
            .height
            .saturating_sub(rows * layout::PANE_HEIGHT + 1 + problems.len() as u16);
        let extra = (wrap.saturating_sub(1) as u16)
            .min(2)
            .min(spare / rows.max(1));
        let pane_h = layout::PANE_HEIGHT + extra;
        let h = (rows * pane_h)
            .min(area.height.saturating_sub(problems_min))
            .max(pane_h.min(area.height));
        grid(m, f, Rect { height: h, ..area }, &visible, selected, pane_h);
        h
    };
    let rest = Rect {
        y: area.y + probes_h,
        height: area.height.saturating_sub(probes_h),
        ..area
    };
    problems_list(m, f, rest, &problems, &visible);
}

/// The overview's lower part: every problem, worst first; or one calm line when there is none.
fn problems_list(m: &Model, f: &mut Frame, area: Rect, problems: &[Problem], visible: &[usize]) {
    if area.height == 0 {
        return;
    }
    let look = m.look;
    let focused = m.focus == Focus::Problems;
    let title = if problems.is_empty() {
        calm_line(m)
    } else {
        let hint = if focused {
            if m.look.ascii {
                "Enter or Right opens · Left back to the probes"
            } else {
                "Enter or → opens · ← back to the probes"
            }
        } else {
            if m.look.ascii {
                "Tab or Down to select"
            } else {
                "Tab or ↓ to select"
            }
        };
        format!(
            " {} problem{}, worst first · {hint} ",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        )
    };
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(theme::dim(look))
        .title(Span::styled(
            title,
            if problems.is_empty() {
                theme::dim(look)
            } else {
                theme::heading(look)
            },
        ));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if problems.is_empty() || inner.height == 0 {
        return;
    }
    let width = usize::from(inner.width);
    // Two lines per problem (summary, then the fix) when they all fit; else one line each,
    // with the fix where there is one (it says what to do) and the summary where not.
    let two = usize::from(inner.height) >= problems.len() * 2;
    let id_w = problems
        .iter()
        .map(|p| p.probe.chars().count())
        .max()
        .unwrap_or(0)
        .min(20);
    // And the whole fix, wrapped, when every problem's fits.
    let fix_room = width.saturating_sub(14 + id_w + 5);
    let whole: usize = problems
        .iter()
        .map(|p| {
            1 + usize::from(!p.also.is_empty())
                + p.fix.map_or(0, |f| {
                    crate::text::wrap(f, fix_room, usize::MAX, look).len()
                })
        })
        .sum();
    // Rows left free after one fix line each go to the fixes, worst problem first: the rows
    // of the screen are there to be used.
    let fix_lines: Vec<usize> = if whole <= usize::from(inner.height) {
        vec![usize::MAX; problems.len()]
    } else {
        let base: usize = problems
            .iter()
            .map(|p| 1 + usize::from(!p.also.is_empty()) + usize::from(p.fix.is_some()))
            .sum();
        let mut spare = usize::from(inner.height).saturating_sub(base);
        problems
            .iter()
            .map(|p| {
                let full = p.fix.map_or(0, |f| {
                    crate::text::wrap(f, fix_room, usize::MAX, look).len()
                });
                let extra = full.saturating_sub(1).min(spare);
                spare -= extra;
                1 + extra
            })
            .collect()
    };
    let mut lines: Vec<(usize, Line)> = Vec::new();
    for (n, p) in problems.iter().enumerate() {
        let sel = focused && n == m.problem;
        let row = if sel {
            theme::selected(look)
        } else {
            ratatui::style::Style::new()
        };
        let head = format!(
            "{}{} {:<8} ",
            if sel { ">" } else { " " },
            theme::symbol(Some(p.status), look),
            theme::word(Some(p.status))
        );
        let id = format!("{:<id_w$} ", fit(p.probe, id_w, look));
        // What is wrong first, always; on one line the fix follows it.
        let more = if p.also.is_empty() {
            String::new()
        } else {
            format!(" +{}", p.also.len())
        };
        let mut text = if p.title.is_empty() {
            p.summary.to_owned()
        } else {
            format!("{}{more}: {}", p.title, p.summary)
        };
        if !two && let Some(fix) = p.fix {
            text.push_str(" · fix: ");
            text.push_str(fix);
        }
        let used = head.chars().count() + id.chars().count();
        let rest = width.saturating_sub(used);
        lines.push((
            n,
            Line::from(vec![
                Span::styled(head, theme::style(Some(p.status), look).patch(row)),
                Span::styled(id, theme::dim(look).patch(row)),
                Span::styled(format!("{:<rest$}", fit(&text, rest, look)), row),
            ]),
        ));
        if two && !p.also.is_empty() {
            let label = "also: ";
            let room = width.saturating_sub(used + label.len());
            let also = format!("{} (same fix)", p.also.join(", "));
            lines.push((
                n,
                Line::from(vec![
                    Span::raw(" ".repeat(used)),
                    Span::styled(label, theme::dim(look)),
                    Span::styled(fit(&also, room, look), theme::dim(look)),
                ]),
            ));
        }
        if two && let Some(fix) = p.fix {
            let label = "fix: ";
            let room = width.saturating_sub(used + label.len());
            for (k, part) in crate::text::wrap(fix, room, fix_lines[n], look)
                .into_iter()
                .enumerate()
            {
                let label = if k == 0 { label } else { "     " };
                lines.push((
                    n,
                    Line::from(vec![
                        Span::raw(" ".repeat(used)),
                        Span::styled(label, theme::dim(look)),
                        Span::styled(part, theme::dim(look)),
                    ]),
                ));
            }
        }
    }
    // Scroll so the selected problem's first line is on screen.
    let height = usize::from(inner.height);
    let first_sel = lines.iter().position(|(n, _)| *n == m.problem).unwrap_or(0);
    let last_sel = lines
        .iter()
        .rposition(|(n, _)| *n == m.problem)
        .unwrap_or(0);
    let skip = if focused && last_sel >= height {
        (last_sel + 1 - height).min(first_sel)
    } else {
        0
    };
    // Rows the problems leave free (a tall terminal) show the latest events: what changed
    // overnight, without opening the events screen.
    let free = height.saturating_sub(lines.len());
    // The filter holds there too: only the events of the probes shown.
    let visible_ids: std::collections::HashSet<&str> = visible
        .iter()
        .map(|&i| m.data.probes[i].meta.id.as_str())
        .collect();
    if free >= 5
        && m.data
            .transitions
            .iter()
            .any(|t| visible_ids.contains(t.probe.as_str()))
    {
        let events = Rect {
            y: inner.y + (height - free) as u16 + 1,
            height: (free - 1) as u16,
            ..inner
        };
        recent_events(m, f, events, &visible_ids);
    }
    let mut hits = m.hits.borrow_mut();
    let shown: Vec<Line> = lines
        .into_iter()
        .skip(skip)
        .take(height)
        .enumerate()
        .map(|(row, (n, l))| {
            let y = inner.y + row as u16;
            hits.push((
                Rect {
                    y,
                    height: 1,
                    ..inner
                },
                Target::Problem(n),
            ));
            l
        })
        .collect();
    f.render_widget(Paragraph::new(shown), inner);
}

/// The latest transitions, newest first, one line each, under a dim rule: "e" has them all.
fn recent_events(m: &Model, f: &mut Frame, area: Rect, shown: &std::collections::HashSet<&str>) {
    let look = m.look;
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(theme::dim(look))
        .title(Span::styled(
            " recent events · e for all ",
            theme::dim(look),
        ));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let width = usize::from(inner.width);
    let id_w = super::events::id_width(m).min(20);
    let arrow = theme::arrow(look);
    let lines: Vec<Line> = m
        .data
        .transitions
        .iter()
        .rev()
        .filter(|t| shown.contains(t.probe.as_str()))
        .take(usize::from(inner.height))
        .map(|t| {
            let lead = format!(
                " {}  {:<id_w$}  ",
                crate::text::stamp(t.at, m.now, m.utc_offset),
                fit(&t.probe, id_w, look)
            );
            let from = t.from.map_or("new", |s| theme::word(Some(s)));
            let change = format!("{from}{arrow}{}", theme::word(Some(t.to)));
            let used = lead.chars().count() + change.chars().count() + 2;
            let what = match &t.cause {
                Some(c) => format!("{c}: {}", t.summary),
                None => t.summary.clone(),
            };
            Line::from(vec![
                Span::styled(lead, theme::dim(look)),
                Span::styled(change, theme::style(Some(t.to), look)),
                Span::raw("  "),
                Span::raw(fit(&what, width.saturating_sub(used), look)),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

/// "all 6 probes OK · last change 03:12 bits-dps CRITICAL -> OK", or what is still pending.
fn calm_line(m: &Model) -> String {
    let visible = m.visible();
    let pending = visible
        .iter()
        .filter(|&&i| m.data.probes[i].latest.is_none())
        .count();
    let mut s = if pending > 0 {
        format!(
            " no problems so far · {pending} of {} probes waiting for their first result",
            visible.len()
        )
    } else {
        format!(" all {} probes OK", visible.len())
    };
    if let Some(t) = m.data.transitions.last() {
        s.push_str(&format!(
            " · last change {} {} {} -> {}",
            crate::text::clock_minutes(t.at, m.utc_offset),
            t.probe,
            theme::word(t.from),
            theme::word(Some(t.to))
        ));
    }
    s.push(' ');
    s
}

/// Lines the summary of a pane needs at `width` (for growing the panes).
fn summary_lines(m: &Model, p: &ProbeRow, width: usize) -> usize {
    let summary = p
        .latest
        .as_ref()
        .map_or("waiting for the first result", |r| r.summary.as_str());
    crate::text::wrap(summary, width, usize::MAX, m.look).len()
}

/// The second line of a pane or the end of a list row: age, duration, next run.
fn timing(m: &Model, p: &ProbeRow) -> String {
    let mut parts = Vec::new();
    let slow = p.slow_run(m.now);
    if let Some(d) = slow {
        parts.push(format!("running… {}", crate::text::short_duration(d)));
    }
    match &p.latest {
        Some(r) => {
            parts.push(ago(m.now, r.started_at + r.duration));
            // Only a slow run's duration: a few milliseconds' jitter would change the pane on
            // every run (the latency sparkline below shows it; the details give the figure).
            if r.duration >= std::time::Duration::from_secs(1) {
                parts.push(format!("took {}", coarse_secs(r.duration)));
            }
        }
        None if slow.is_none() => parts.push("pending".to_owned()),
        None => {}
    }
    match p.next_run {
        _ if m.data.paused => parts.push("paused".to_owned()),
        _ if slow.is_some() => {}
        // A clock time, not a countdown: a countdown in every pane would rewrite those
        // cells every second, which costs bytes over SSH and draws the eye for nothing.
        // To the minute (with the date when a day or more away): the exact second is in the
        // details, and a pane whose text changes on every run of a 5 s probe is noise.
        // Under a minute apart, "next 09:12" would only repeat the clock: say how often.
        Some(_) if p.meta.interval < std::time::Duration::from_secs(60) => {
            parts.push(format!("every {} s", p.meta.interval.as_secs().max(1)))
        }
        Some(t) => parts.push(format!(
            "next {}",
            crate::text::when_minutes(t, m.now, m.utc_offset)
        )),
        _ => {}
    }
    let s = parts.join(" · ");
    if m.look.ascii {
        s.replace('…', "...").replace('·', "-")
    } else {
        s
    }
}

/// A slow run's duration (shown from 1 s on) to one significant digit: "~2 s", "~40 s",
/// "~300 s". The exact figure is in the details; here it would change on every run.
fn coarse_secs(d: std::time::Duration) -> String {
    let ms = (d.as_millis() as u64).max(1000);
    let mag = 10u64.pow(ms.ilog10());
    format!("~{} s", (ms + mag / 2) / mag * mag / 1000)
}

fn grid(m: &Model, f: &mut Frame, area: Rect, visible: &[usize], selected: usize, pane_h: u16) {
    let cols = layout::grid_columns(area.width, visible.len());
    let rows_fit = usize::from((area.height / pane_h).max(1));
    let sel_row = selected / cols;
    // Scroll whole rows so the selected pane is always on screen.
    let first_row = sel_row.saturating_sub(rows_fit - 1);
    let pane_w = area.width / cols as u16;
    for (slot, &i) in visible
        .iter()
        .enumerate()
        .skip(first_row * cols)
        .take(rows_fit * cols)
    {
        let r = slot / cols - first_row;
        let c = slot % cols;
        let x = area.x + c as u16 * pane_w;
        let w = if c == cols - 1 {
            area.width - c as u16 * pane_w
        } else {
            pane_w
        };
        let rect = Rect {
            x,
            y: area.y + r as u16 * pane_h,
            width: w,
            height: pane_h,
        };
        // One focus, drawn one way: no double border while the problems list has it.
        pane(
            m,
            f,
            rect,
            &m.data.probes[i],
            slot == selected && m.focus == Focus::Probes,
        );
        m.hits
            .borrow_mut()
            .push((rect, Target::Probe(m.data.probes[i].meta.id.clone())));
    }
    let more = visible.len().saturating_sub((first_row + rows_fit) * cols);
    if more > 0 && !area.height.is_multiple_of(pane_h) {
        let y = area.y + area.height - 1;
        let text = format!("{more} more below");
        f.render_widget(
            Paragraph::new(Line::styled(text, theme::dim(m.look)).centered()),
            Rect {
                y,
                height: 1,
                ..area
            },
        );
    }
}

fn pane(m: &Model, f: &mut Frame, rect: Rect, p: &ProbeRow, selected: bool) {
    let look = m.look;
    let status = p.status();
    let st = theme::style(status, look);
    let head = format!(" {} {} ", theme::symbol(status, look), theme::word(status));
    // The title keeps its closing parenthesis: a long kind, then a long id, give way first.
    let room = usize::from(rect.width)
        .saturating_sub(2 + head.chars().count() + 4)
        .max(2);
    let kind_n = p.meta.kind.chars().count();
    let id_n = p.meta.id.chars().count();
    let kind_w = if id_n + kind_n <= room {
        kind_n
    } else {
        kind_n.min((room / 3).max(1))
    };
    let id_w = room.saturating_sub(kind_w).max(1);
    let title = Line::from(vec![
        Span::styled(head, st),
        Span::styled(
            format!("{} ", fit(&p.meta.id, id_w, look)),
            if selected {
                theme::selected(look)
            } else {
                theme::heading(look)
            },
        ),
        Span::styled(
            format!("({}) ", fit(&p.meta.kind, kind_w, look)),
            theme::dim(look),
        ),
    ]);
    let block = Block::bordered()
        .border_set(theme::border(look, selected))
        .title(title)
        .border_style(if selected {
            theme::heading(look)
        } else {
            theme::dim(look)
        });
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let width = usize::from(inner.width);
    let summary = p
        .latest
        .as_ref()
        .map_or("waiting for the first result", |r| r.summary.as_str());
    let mut strip: Vec<Span> = Vec::new();
    for h in p.history.iter().rev().take(STRIP.min(width)).rev() {
        strip.push(Span::styled(
            theme::symbol(Some(h.status), look),
            theme::style(Some(h.status), look),
        ));
    }
    // Summary lines: what the pane has beyond timing and strip (at least one). No latency
    // sparkline here: its jitter would redraw the pane on every run (it is in the details).
    let summary_rows = usize::from(inner.height.saturating_sub(2).max(1));
    let mut lines: Vec<Line> = crate::text::wrap(summary, width, summary_rows, look)
        .into_iter()
        .map(Line::from)
        .collect();
    let used = lines.len() as u16;
    lines.push(Line::styled(
        fit(&timing(m, p), width, look),
        theme::dim(look),
    ));
    lines.push(Line::from(strip));
    f.render_widget(
        Paragraph::new(lines),
        Rect {
            height: inner.height.min(used + 2),
            ..inner
        },
    );
}

fn list(m: &Model, f: &mut Frame, area: Rect, visible: &[usize], selected: usize) {
    let look = m.look;
    let height = usize::from(area.height);
    let first = selected.saturating_sub(height.saturating_sub(1));
    let id_w = visible
        .iter()
        .map(|&i| m.data.probes[i].meta.id.chars().count())
        .max()
        .unwrap_or(0)
        .min(24);
    // Narrow: no kind column (it mostly repeats the id: "wsus-sup01 wsus"); the summary, what
    // is wrong, gets the room.
    let kind_w = if area.width < 100 {
        0
    } else {
        visible
            .iter()
            .map(|&i| m.data.probes[i].meta.kind.len())
            .max()
            .unwrap_or(0)
            .min(16)
    };
    let mut lines = Vec::new();
    for (row, (pos, &i)) in visible
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .enumerate()
    {
        let p = &m.data.probes[i];
        m.hits.borrow_mut().push((
            Rect {
                y: area.y + row as u16,
                height: 1,
                ..area
            },
            Target::Probe(p.meta.id.clone()),
        ));
        let status = p.status();
        let age = p
            .latest
            .as_ref()
            .map(|r| ago(m.now, r.started_at + r.duration))
            .unwrap_or_else(|| "pending".into());
        let here = pos == selected && m.focus == Focus::Probes;
        let marker = if here { ">" } else { " " };
        let head = format!(
            "{marker}{} {:<8} ",
            theme::symbol(status, look),
            theme::word(status)
        );
        let id = format!("{:<id_w$} ", fit(&p.meta.id, id_w, look));
        let kind = if kind_w == 0 {
            String::new()
        } else {
            format!("{:<kind_w$} ", fit(&p.meta.kind, kind_w, look))
        };
        let used = head.chars().count()
            + id.chars().count()
            + kind.chars().count()
            + age.chars().count()
            + 1;
        let summary_w = usize::from(area.width).saturating_sub(used);
        let summary = p.latest.as_ref().map_or("", |r| r.summary.as_str());
        let summary = format!("{:<summary_w$}", fit(summary, summary_w, look));
        let row_style = if here {
            theme::selected(look)
        } else {
            ratatui::style::Style::new()
        };
        lines.push(Line::from(vec![
            Span::styled(head, theme::style(status, look).patch(row_style)),
            Span::styled(id, row_style),
            Span::styled(kind, theme::dim(look).patch(row_style)),
            Span::styled(summary, row_style),
            Span::styled(format!(" {age}"), theme::dim(look).patch(row_style)),
        ]));
    }
    f.render_widget(Paragraph::new(lines), area);
}
