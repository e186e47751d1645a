//! Every status change of every probe, newest first.

use super::{clock, theme};
use crate::model::Model;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(m: &Model, f: &mut Frame, area: Rect) {
    let look = m.look;
    let mut lines = vec![Line::styled(
        format!(
            "Events: {} status changes, newest first",
            m.data.transitions.len()
        ),
        theme::heading(look),
    )];
    if m.data.transitions.is_empty() {
        lines.push(Line::from("no status changes yet"));
    }
    let id_w = m
        .data
        .transitions
        .iter()
        .map(|t| t.probe.chars().count())
        .max()
        .unwrap_or(0);
    for t in m
        .data
        .transitions
        .iter()
        .rev()
        .skip(m.events_scroll)
        .take(usize::from(area.height.saturating_sub(1)))
    {
        lines.push(Line::from(vec![
            Span::raw(format!(
                "{}  {:<id_w$}  ",
                clock(t.at, m.utc_offset),
                t.probe
            )),
            Span::styled(
                format!("{} {:<8}", theme::symbol(t.from, look), theme::word(t.from)),
                theme::style(t.from, look),
            ),
            Span::raw(if look.ascii { " -> " } else { " → " }),
            Span::styled(
                format!(
                    "{} {:<8}",
                    theme::symbol(Some(t.to), look),
                    theme::word(Some(t.to))
                ),
                theme::style(Some(t.to), look),
            ),
            Span::raw(format!("  {}", t.summary)),
        ]));
    }
    f.render_widget(Paragraph::new(lines), area);
}
