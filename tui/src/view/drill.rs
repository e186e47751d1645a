//! The drill-down of one probe, drawn from [`crate::drill_layout`].

use crate::drill_layout::lines;
use crate::model::Model;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

pub fn render(m: &Model, f: &mut Frame, area: Rect) {
    if area.height == 0 {
        return;
    }
    // The breadcrumb stays while the rest scrolls: which probe and item this is.
    let crumb = crate::text::fit(
        &crate::drill_layout::breadcrumb(m),
        usize::from(area.width),
        m.look,
    );
    f.render_widget(
        Paragraph::new(Line::styled(crumb, crate::theme::dim(m.look))),
        Rect { height: 1, ..area },
    );
    let area = Rect {
        y: area.y + 1,
        height: area.height - 1,
        ..area
    };
    let (lines, _) = lines(m);
    let scroll = m
        .drill
        .scroll
        .min(lines.len().saturating_sub(usize::from(area.height)));
    let shown: Vec<Line> = lines
        .into_iter()
        .skip(scroll)
        .take(usize::from(area.height))
        .collect();
    let hscroll = if m.drill.json {
        u16::try_from(m.drill.hscroll).unwrap_or(u16::MAX)
    } else {
        0
    };
    f.render_widget(Paragraph::new(shown).scroll((0, hscroll)), area);
}
