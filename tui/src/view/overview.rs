//! The overview: a grid of panes that reflows with the terminal, or one line per probe when
//! the terminal is narrow.

use super::{ago, fit, theme};
use crate::layout;
use crate::model::{Model, ProbeRow};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline};

/// Results shown in a pane's status strip.
const STRIP: usize = 20;

pub fn render(m: &Model, f: &mut Frame, area: Rect) {
    let visible = m.visible();
    if visible.is_empty() {
        let msg = if m.filter.is_empty() {
            "no probes configured"
        } else {
            "no probe matches the filter (Esc clears it)"
        };
        f.render_widget(
            Paragraph::new(Line::from(msg).centered()),
            Rect { height: 1, ..area },
        );
        return;
    }
    let selected = m.selected_pos(&visible).unwrap_or(0);
    if layout::narrow((f.area().width, f.area().height)) {
        list(m, f, area, &visible, selected);
    } else {
        grid(m, f, area, &visible, selected);
    }
}

/// The second line of a pane or the end of a list row: age, duration, next run.
fn timing(m: &Model, p: &ProbeRow) -> String {
    let mut parts = Vec::new();
    let slow = p.slow_run(m.now);
    if let Some(d) = slow {
        parts.push(format!("running… {}", super::short_duration(d)));
    }
    match &p.latest {
        Some(r) => {
            parts.push(ago(m.now, r.started_at + r.duration));
            parts.push(format!("took {}", duration_ms(r.duration)));
        }
        None if slow.is_none() => parts.push("pending".to_owned()),
        None => {}
    }
    match p.next_run {
        _ if m.data.paused => parts.push("paused".to_owned()),
        _ if slow.is_some() => {}
        // A clock time, not a countdown: a countdown in every pane would rewrite those
        // cells every second, which costs bytes over SSH and draws the eye for nothing.
        Some(t) => parts.push(format!("next {}", super::when(t, m.now, m.utc_offset))),
        _ => {}
    }
    let s = parts.join(" · ");
    if m.look.ascii {
        s.replace('…', "...").replace('·', "-")
    } else {
        s
    }
}

fn duration_ms(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{} ms", ms.round() as u64)
    }
}

fn grid(m: &Model, f: &mut Frame, area: Rect, visible: &[usize], selected: usize) {
    let cols = layout::grid_columns(area.width);
    let rows_fit = usize::from((area.height / layout::PANE_HEIGHT).max(1));
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
            y: area.y + r as u16 * layout::PANE_HEIGHT,
            width: w,
            height: layout::PANE_HEIGHT,
        };
        pane(m, f, rect, &m.data.probes[i], slot == selected);
    }
    let more = visible.len().saturating_sub((first_row + rows_fit) * cols);
    if more > 0 && !area.height.is_multiple_of(layout::PANE_HEIGHT) {
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
    let title = Line::from(vec![
        Span::styled(
            format!(" {} {} ", theme::symbol(status, look), theme::word(status)),
            st,
        ),
        Span::styled(
            format!("{} ", p.meta.id),
            if selected {
                theme::selected(look)
            } else {
                theme::heading(look)
            },
        ),
        Span::styled(format!("({}) ", p.meta.kind), theme::dim(look)),
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
    let lines = vec![
        Line::from(fit(summary, width, look)),
        Line::styled(fit(&timing(m, p), width, look), theme::dim(look)),
        Line::from(strip),
    ];
    f.render_widget(
        Paragraph::new(lines),
        Rect {
            height: inner.height.min(3),
            ..inner
        },
    );
    if inner.height >= 4 {
        let label = "latency ";
        let data: Vec<u64> = p
            .history
            .iter()
            .map(|h| h.duration.as_millis() as u64)
            .collect();
        let spark_w = inner.width.saturating_sub(label.len() as u16);
        let take = usize::from(spark_w).min(data.len());
        let row = Rect {
            y: inner.y + 3,
            height: 1,
            ..inner
        };
        f.render_widget(Paragraph::new(Span::styled(label, theme::dim(look))), row);
        let spark = Sparkline::default()
            .data(&data[data.len() - take..])
            .bar_set(theme::bars(look))
            .style(theme::dim(look));
        f.render_widget(
            spark,
            Rect {
                x: row.x + label.len() as u16,
                width: spark_w,
                ..row
            },
        );
    }
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
    let kind_w = visible
        .iter()
        .map(|&i| m.data.probes[i].meta.kind.len())
        .max()
        .unwrap_or(0)
        .min(16);
    let mut lines = Vec::new();
    for (pos, &i) in visible.iter().enumerate().skip(first).take(height) {
        let p = &m.data.probes[i];
        let status = p.status();
        let age = p
            .latest
            .as_ref()
            .map(|r| ago(m.now, r.started_at + r.duration))
            .unwrap_or_else(|| "pending".into());
        let marker = if pos == selected { ">" } else { " " };
        let head = format!(
            "{marker}{} {:<8} ",
            theme::symbol(status, look),
            theme::word(status)
        );
        let id = format!("{:<id_w$} ", fit(&p.meta.id, id_w, look));
        let kind = format!("{:<kind_w$} ", p.meta.kind);
        let used = head.chars().count()
            + id.chars().count()
            + kind.chars().count()
            + age.chars().count()
            + 1;
        let summary_w = usize::from(area.width).saturating_sub(used);
        let summary = p.latest.as_ref().map_or("", |r| r.summary.as_str());
        let summary = format!("{:<summary_w$}", fit(summary, summary_w, look));
        let row_style = if pos == selected {
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
