//! Help: every key of the screen it was opened from, generated from the key table that
//! handles input.

use super::theme;
use crate::keys;
use crate::model::{Model, Screen};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(m: &Model, f: &mut Frame, area: Rect) {
    let look = m.look;
    let name = match m.help_return {
        Screen::Overview => "overview",
        Screen::Drill => "details",
        Screen::Events => "events",
        Screen::Help => "help",
    };
    let mut lines = vec![
        Line::styled(format!("Keys on the {name} screen"), theme::heading(look)),
        Line::from(""),
    ];
    for b in keys::for_screen(m.help_return) {
        let label = if look.ascii {
            super::ascii_key(b.label)
        } else {
            b.label.to_owned()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("  {label:<8}"), theme::heading(look)),
            Span::raw(b.help),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::styled(
        "Status: symbol + word, never colour alone. UNKNOWN = the probe could not decide.",
        theme::dim(look),
    ));
    let shown: Vec<Line> = lines.into_iter().skip(m.help_scroll).collect();
    f.render_widget(Paragraph::new(shown), area);
}
