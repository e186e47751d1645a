//! Help: every key of the screen it was opened from, generated from the key table that
//! handles input.

use crate::keys;
use crate::model::{Model, Screen};
use crate::theme;
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
    let key_w = keys::HELP_KEY_W - 2;
    for (label, text) in keys::help_rows(m.help_return, area.width, look.ascii) {
        lines.push(Line::from(vec![
            Span::styled(format!("  {label:<key_w$}"), theme::heading(look)),
            Span::raw(text),
        ]));
    }
    lines.push(Line::from(""));
    for part in crate::text::wrap(
        "Status: symbol + word, never colour alone. UNKNOWN = the probe could not decide.",
        usize::from(area.width),
        usize::MAX,
        look,
    ) {
        lines.push(Line::styled(part, theme::dim(look)));
    }
    let shown: Vec<Line> = lines.into_iter().skip(m.help_scroll).collect();
    f.render_widget(Paragraph::new(shown), area);
}
