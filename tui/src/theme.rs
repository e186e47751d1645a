//! Symbols and colours. Status is never colour alone: a symbol and a word go with it, and
//! every symbol has an ASCII fallback for `TERM=vt100`, `TERM=linux` and `--ascii`.

/// How to draw: decided once at start from flags and $TERM / $NO_COLOR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    pub color: bool,
    pub ascii: bool,
}

use patchdeck_probe_api::Status;
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;

pub fn symbol(status: Option<Status>, look: Look) -> &'static str {
    match (status, look.ascii) {
        (Some(Status::Ok), false) => "✔",
        (Some(Status::Warning), false) => "▲",
        (Some(Status::Critical), false) => "✖",
        (Some(Status::Unknown), false) => "?",
        (None, false) => "…",
        (Some(Status::Ok), true) => "+",
        (Some(Status::Warning), true) => "!",
        (Some(Status::Critical), true) => "X",
        (Some(Status::Unknown), true) => "?",
        (None, true) => ".",
    }
}

/// The arrow of a status change ("OK → CRITICAL"), spaced.
pub fn arrow(look: Look) -> &'static str {
    if look.ascii { " -> " } else { " → " }
}

pub fn word(status: Option<Status>) -> &'static str {
    status.map_or("PENDING", Status::label)
}

/// Only the 16 basic colours: readable on a console and over any SSH client.
pub fn style(status: Option<Status>, look: Look) -> Style {
    if !look.color {
        return match status {
            Some(Status::Critical) | Some(Status::Unknown) => {
                Style::new().add_modifier(Modifier::BOLD)
            }
            _ => Style::new(),
        };
    }
    let fg = match status {
        Some(Status::Ok) => Color::Green,
        Some(Status::Warning) => Color::Yellow,
        Some(Status::Critical) => Color::Red,
        Some(Status::Unknown) => Color::Magenta,
        None => Color::Gray,
    };
    let s = Style::new().fg(fg);
    if matches!(status, Some(Status::Critical)) {
        s.add_modifier(Modifier::BOLD)
    } else {
        s
    }
}

pub fn dim(look: Look) -> Style {
    if look.color {
        Style::new().fg(Color::DarkGray)
    } else {
        Style::new()
    }
}

pub fn selected(look: Look) -> Style {
    let s = Style::new().add_modifier(Modifier::REVERSED);
    if look.color {
        s.add_modifier(Modifier::BOLD)
    } else {
        s
    }
}

pub fn heading(look: Look) -> Style {
    let s = Style::new().add_modifier(Modifier::BOLD);
    if look.color { s.fg(Color::Cyan) } else { s }
}

pub const ASCII_BORDER: border::Set = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

pub const ASCII_BORDER_SELECTED: border::Set = border::Set {
    top_left: "#",
    top_right: "#",
    bottom_left: "#",
    bottom_right: "#",
    vertical_left: "#",
    vertical_right: "#",
    horizontal_top: "=",
    horizontal_bottom: "=",
};

pub fn border(look: Look, selected: bool) -> border::Set<'static> {
    match (look.ascii, selected) {
        (true, false) => ASCII_BORDER,
        (true, true) => ASCII_BORDER_SELECTED,
        (false, false) => border::PLAIN,
        (false, true) => border::DOUBLE,
    }
}
