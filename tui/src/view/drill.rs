//! The drill-down of one probe, drawn from [`crate::drill_layout`].

use crate::drill_layout::lines;
use crate::model::Model;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

pub fn render(m: &Model, f: &mut Frame, area: Rect) {
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
    f.render_widget(Paragraph::new(shown), area);
}
