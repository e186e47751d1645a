//! The one key table: input handling looks keys up here, and the help screen and footer are
//! rendered from it, so what help says and what keys do cannot drift apart.

use crate::model::Screen;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    NextPane,
    PrevPane,
    Enter,
    Back,
    RunSelected,
    RunAll,
    TogglePause,
    Filter,
    ToggleSort,
    Events,
    Help,
    ToggleJson,
    /// Copy the drill's item (its text and its list) to the clipboard (OSC 52).
    Copy,
    /// Write the drill's item to a file and say where.
    Write,
    Quit,
}

/// A key as written in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}
const fn code(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}
const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}

/// One row of the table.
#[derive(Debug)]
pub struct Binding {
    pub keys: &'static [Key],
    /// How the keys are written in help and footer.
    pub label: &'static str,
    /// Short footer text; empty keeps the binding out of the footer.
    pub short: &'static str,
    /// Help text.
    pub help: &'static str,
    pub screens: &'static [Screen],
    pub action: Action,
}

use Screen::{Drill, Events, Help, Overview};
const ALL: &[Screen] = &[Overview, Drill, Events, Help];

pub static BINDINGS: &[Binding] = &[
    Binding {
        keys: &[code(KeyCode::Up), k('k')],
        label: "↑/k",
        short: "",
        help: "move up (overview: the pane above; details: previous item; lists: scroll)",
        screens: &[Overview, Drill, Events, Help],
        action: Action::Up,
    },
    Binding {
        keys: &[code(KeyCode::Down), k('j')],
        label: "↓/j",
        short: "",
        help: "move down",
        screens: &[Overview, Drill, Events, Help],
        action: Action::Down,
    },
    Binding {
        keys: &[code(KeyCode::Left), k('h')],
        label: "←/h",
        short: "",
        help: "overview: pane to the left; details: collapse the item (or go to its parent); JSON: scroll left",
        screens: &[Overview, Drill],
        action: Action::Left,
    },
    Binding {
        keys: &[code(KeyCode::Right), k('l')],
        label: "→/l",
        short: "",
        help: "overview: pane to the right; details: expand the item; JSON: scroll right",
        screens: &[Overview, Drill],
        action: Action::Right,
    },
    Binding {
        keys: &[code(KeyCode::PageUp), ctrl('u')],
        label: "PgUp/^U",
        short: "",
        help: "one page up (overview: in the problems list)",
        screens: &[Overview, Drill, Events, Help],
        action: Action::PageUp,
    },
    Binding {
        keys: &[code(KeyCode::PageDown), ctrl('d')],
        label: "PgDn/^D",
        short: "",
        help: "one page down",
        screens: &[Overview, Drill, Events, Help],
        action: Action::PageDown,
    },
    Binding {
        keys: &[code(KeyCode::Home), k('g')],
        label: "Home/g",
        short: "",
        help: "go to the top",
        screens: &[Overview, Drill, Events, Help],
        action: Action::Home,
    },
    Binding {
        keys: &[code(KeyCode::End), k('G')],
        label: "End/G",
        short: "",
        help: "go to the bottom",
        screens: &[Overview, Drill, Events, Help],
        action: Action::End,
    },
    Binding {
        keys: &[code(KeyCode::Tab)],
        label: "Tab",
        short: "",
        help: "next pane; after the last pane, the problems list (↓ from the bottom row too)",
        screens: &[Overview],
        action: Action::NextPane,
    },
    Binding {
        keys: &[code(KeyCode::BackTab)],
        label: "S-Tab",
        short: "",
        help: "previous pane",
        screens: &[Overview],
        action: Action::PrevPane,
    },
    Binding {
        keys: &[code(KeyCode::Enter)],
        label: "Enter",
        short: "details",
        help: "overview: open the selected probe's details, or the selected problem's item; details: expand/collapse the item",
        screens: &[Overview, Drill],
        action: Action::Enter,
    },
    Binding {
        keys: &[code(KeyCode::Esc), code(KeyCode::Backspace)],
        label: "Esc",
        short: "",
        help: "clear the filter",
        screens: &[Overview],
        action: Action::Back,
    },
    Binding {
        keys: &[code(KeyCode::Esc), code(KeyCode::Backspace)],
        label: "Esc",
        short: "back",
        help: "back to the previous screen",
        screens: &[Drill, Events, Help],
        action: Action::Back,
    },
    Binding {
        keys: &[k('r')],
        label: "r",
        short: "run",
        help: "run the selected probe now",
        screens: &[Overview, Drill],
        action: Action::RunSelected,
    },
    Binding {
        keys: &[k('R')],
        label: "R",
        short: "run all",
        help: "run every probe now",
        screens: &[Overview, Drill, Events],
        action: Action::RunAll,
    },
    Binding {
        keys: &[k('p')],
        label: "p",
        short: "pause",
        help: "pause/resume automatic refresh (r and R still work)",
        screens: &[Overview, Drill, Events],
        action: Action::TogglePause,
    },
    Binding {
        keys: &[k('/')],
        label: "/",
        short: "filter",
        help: "filter probes by id, kind or status (Enter keeps it, Esc clears it)",
        screens: &[Overview],
        action: Action::Filter,
    },
    Binding {
        keys: &[k('s')],
        label: "s",
        short: "sort",
        help: "toggle sort by severity (critical and warning first)",
        screens: &[Overview],
        action: Action::ToggleSort,
    },
    Binding {
        keys: &[k('J')],
        label: "J",
        short: "json",
        help: "toggle the raw JSON report",
        screens: &[Drill],
        action: Action::ToggleJson,
    },
    Binding {
        keys: &[k('y')],
        label: "y",
        short: "",
        help: "details: copy the item and everything listed under it to the clipboard (OSC 52, where the terminal allows)",
        screens: &[Drill],
        action: Action::Copy,
    },
    Binding {
        keys: &[k('w')],
        label: "w",
        short: "",
        help: "details: write the item and everything listed under it to a file (the footer says where)",
        screens: &[Drill],
        action: Action::Write,
    },
    Binding {
        keys: &[k('e')],
        label: "e",
        short: "events",
        help: "events: every status change, newest first",
        screens: &[Overview, Drill],
        action: Action::Events,
    },
    Binding {
        keys: &[k('?')],
        label: "?",
        short: "help",
        help: "this help",
        screens: &[Overview, Drill, Events],
        action: Action::Help,
    },
    Binding {
        keys: &[k('q'), ctrl('c')],
        label: "q",
        short: "quit",
        help: "quit (Ctrl-C too)",
        screens: ALL,
        action: Action::Quit,
    },
];

/// The action a key has on a screen.
pub fn action(screen: Screen, ev: &KeyEvent) -> Option<Action> {
    let ctrl_held = ev.modifiers.contains(KeyModifiers::CONTROL);
    // Shifted letters arrive as the upper-case char; Shift itself does not matter.
    BINDINGS
        .iter()
        .filter(|b| b.screens.contains(&screen))
        .find(|b| {
            b.keys
                .iter()
                .any(|key| key.code == ev.code && key.ctrl == ctrl_held)
        })
        .map(|b| b.action)
}

/// The bindings of a screen, in table order.
pub fn for_screen(screen: Screen) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| b.screens.contains(&screen))
}

/// Width of the key column on the help screen.
pub const HELP_KEY_W: usize = 10;

/// The help screen's lines for `screen` at `width` columns: (key label or "", text), each
/// binding's text wrapped under its own column. `update` scrolls by these, `view` draws them.
pub fn help_rows(screen: Screen, width: u16, ascii: bool) -> Vec<(String, String)> {
    let look = crate::theme::Look {
        color: false,
        ascii,
    };
    let room = usize::from(width).saturating_sub(HELP_KEY_W).max(10);
    let mut out = Vec::new();
    for b in for_screen(screen) {
        let label = if ascii {
            crate::text::ascii_key(b.label)
        } else {
            b.label.to_owned()
        };
        for (i, part) in crate::text::wrap(b.help, room, usize::MAX, look)
            .into_iter()
            .enumerate()
        {
            out.push((if i == 0 { label.clone() } else { String::new() }, part));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_reachable_and_keys_do_not_collide_on_a_screen() {
        for screen in [Overview, Drill, Events, Help] {
            let mut seen: Vec<Key> = Vec::new();
            for b in for_screen(screen) {
                for key in b.keys {
                    assert!(!seen.contains(key), "{key:?} bound twice on {screen:?}");
                    seen.push(*key);
                }
            }
        }
    }
}
