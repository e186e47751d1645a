//! Every status change of every probe (and every change of cause at the same status),
//! newest first; those loaded from the history of an earlier run come after a
//! "before this start" line, with their date when older than a day.

use crate::model::Model;
use crate::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The probe column's width: the longest probe id among the transitions.
pub(super) fn id_width(m: &Model) -> usize {
    m.data
        .transitions
        .iter()
        .map(|t| t.probe.chars().count())
        .max()
        .unwrap_or(0)
}

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
    let id_w = id_width(m);
    let rows = usize::from(area.height.saturating_sub(1));
    let mut shown_earlier = false;
    for (i, t) in m
        .data
        .transitions
        .iter()
        .rev()
        .enumerate()
        .skip(m.events_scroll)
    {
        if lines.len() > rows {
            break;
        }
        if t.earlier && !shown_earlier {
            shown_earlier = true;
            // Only when this run has events of its own above, or at the top of the list.
            if i > 0 || m.events_scroll == 0 {
                lines.push(Line::styled(
                    if look.ascii {
                        "-- before this start --"
                    } else {
                        "── before this start ──"
                    },
                    theme::dim(look),
                ));
            }
        }
        let at = crate::text::stamp(t.at, m.now, m.utc_offset);
        let cause = match (&t.cause, t.from == Some(t.to)) {
            (Some(c), true) => format!("  cause now {c}:"),
            (Some(c), false) => format!("  [{c}]"),
            (None, _) => String::new(),
        };
        let lead = format!("{at}  {:<id_w$}  ", t.probe);
        let arrow = theme::arrow(look);
        // The summary wraps under itself instead of being cut at the right edge.
        let used =
            lead.chars().count() + 2 * 11 + arrow.chars().count() + cause.chars().count() + 2;
        let room = usize::from(area.width).saturating_sub(used);
        let mut parts = if room >= 20 {
            crate::text::wrap(&t.summary, room, 3, look)
        } else {
            crate::text::wrap(
                &t.summary,
                usize::from(area.width).saturating_sub(4),
                3,
                look,
            )
        };
        let first = if room >= 20 {
            parts.remove(0)
        } else {
            String::new()
        };
        lines.push(Line::from(vec![
            Span::raw(lead),
            Span::styled(
                format!("{} {:<8}", theme::symbol(t.from, look), theme::word(t.from)),
                theme::style(t.from, look),
            ),
            Span::raw(arrow),
            Span::styled(
                format!(
                    "{} {:<8}",
                    theme::symbol(Some(t.to), look),
                    theme::word(Some(t.to))
                ),
                theme::style(Some(t.to), look),
            ),
            Span::raw(format!("{cause}  {first}")),
        ]));
        let indent = if room >= 20 { used } else { 4 };
        for part in parts {
            if lines.len() > rows {
                break;
            }
            lines.push(Line::from(format!("{}{part}", " ".repeat(indent))));
        }
    }
    f.render_widget(Paragraph::new(lines), area);
}
