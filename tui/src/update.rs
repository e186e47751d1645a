//! `update(&mut Model, Msg)` -> commands: the dashboard's behaviour. Pure (no terminal, no
//! clock, no store access), so every key on every screen is unit-tested without a terminal.
//! Depends on the state (`model`), the key map (`keys`) and the drill's line layout
//! (`drill_layout`); nothing depends on it but the app and its tests.

use crate::drill_layout;
use crate::keys::{self, Action};
use crate::layout;
use crate::model::*;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Applies a message. Returns what the app must do; sets `quit` and `dirty`.
pub fn update(m: &mut Model, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Terminate | Msg::InputClosed => {
            m.quit = true;
            vec![]
        }
        Msg::Resize(w, h) => {
            m.size = (w, h);
            m.dirty = true;
            clamp_drill(m);
            vec![]
        }
        Msg::Data(snapshot) => {
            if !snapshot.same_as(&m.data) {
                m.data = snapshot;
                m.fix_selection();
                let problems = m.problems().len();
                m.problem = m.problem.min(problems.saturating_sub(1));
                if problems == 0 {
                    m.focus = Focus::Probes;
                }
                clamp_drill(m);
                m.dirty = true;
            }
            vec![]
        }
        Msg::Said(text) => {
            m.said = Some(text);
            m.dirty = true;
            vec![]
        }
        Msg::Source(source) => {
            m.dirty |= m.source != source;
            m.source = source;
            vec![]
        }
        Msg::Tick(now) => {
            m.now = now;
            // The header clock and the "12s ago" ages are always on screen.
            m.dirty = true;
            vec![]
        }
        Msg::Key(ev) => key(m, ev),
        Msg::Click { x, y, double } => click(m, x, y, double),
    }
}

/// A click selects the pane or problem under it; a double click opens it.
fn click(m: &mut Model, x: u16, y: u16, double: bool) -> Vec<Command> {
    if m.screen != Screen::Overview || m.filter_editing {
        return vec![];
    }
    let pos = ratatui::layout::Position { x, y };
    let hit = m
        .hits
        .borrow()
        .iter()
        .find(|(r, _)| r.contains(pos))
        .map(|(_, t)| t.clone());
    let Some(target) = hit else {
        return vec![];
    };
    m.dirty = true;
    match target {
        Target::Probe(id) => {
            m.focus = Focus::Probes;
            m.selected = Some(id);
        }
        Target::Problem(n) => {
            m.focus = Focus::Problems;
            m.problem = n;
        }
    }
    if double {
        return overview_action(m, Action::Enter);
    }
    vec![]
}

fn key(m: &mut Model, ev: KeyEvent) -> Vec<Command> {
    if ev.kind == ratatui::crossterm::event::KeyEventKind::Release {
        return vec![];
    }
    if ev.code == KeyCode::Char('c') && ev.modifiers.contains(KeyModifiers::CONTROL) {
        m.quit = true;
        return vec![];
    }
    if m.filter_editing {
        filter_key(m, ev);
        m.dirty = true;
        return vec![];
    }
    let Some(action) = keys::action(m.screen, &ev) else {
        return vec![];
    };
    m.dirty = true;
    // What the last command did stays until the next key.
    m.said = None;
    match m.screen {
        Screen::Overview => overview_action(m, action),
        Screen::Drill => drill_action(m, action),
        Screen::Events => events_action(m, action),
        Screen::Help => help_action(m, action),
    }
}

fn filter_key(m: &mut Model, ev: KeyEvent) {
    match ev.code {
        KeyCode::Enter => m.filter_editing = false,
        KeyCode::Esc => {
            m.filter_editing = false;
            m.filter.clear();
        }
        KeyCode::Backspace => {
            m.filter.pop();
        }
        KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => m.filter.push(c),
        _ => {}
    }
    m.fix_selection();
}

/// Actions every screen shares.
fn common(m: &mut Model, action: Action) -> Option<Vec<Command>> {
    Some(match action {
        Action::Quit => {
            m.quit = true;
            vec![]
        }
        Action::RunAll => vec![Command::RunAll],
        Action::TogglePause => vec![Command::SetPaused(!m.data.paused)],
        Action::Help => {
            m.help_return = m.screen;
            m.help_scroll = 0;
            m.screen = Screen::Help;
            vec![]
        }
        Action::Events => {
            m.events_scroll = 0;
            m.screen = Screen::Events;
            vec![]
        }
        _ => return None,
    })
}

fn overview_action(m: &mut Model, action: Action) -> Vec<Command> {
    if let Some(c) = common(m, action) {
        return c;
    }
    let visible = m.visible();
    let n = visible.len();
    let pos = m.selected_pos(&visible).unwrap_or(0);
    let problems = m.problems().len();
    match action {
        Action::Filter => m.filter_editing = true,
        Action::Back => {
            m.filter.clear();
            m.fix_selection();
        }
        Action::ToggleSort => m.sort_severity = !m.sort_severity,
        _ if m.focus == Focus::Problems && problems > 0 => {
            return problems_action(m, action, problems, &visible);
        }
        _ => {}
    }
    m.focus = Focus::Probes;
    let cols = if layout::narrow(m.size) {
        1
    } else {
        layout::grid_columns(m.size.0, n)
    };
    let bottom_row = n > 0 && pos / cols == (n - 1) / cols;
    let go = |m: &mut Model, p: usize| m.select_pos(&visible, p);
    let to_problems = |m: &mut Model, i: usize| {
        m.focus = Focus::Problems;
        m.problem = i;
    };
    match action {
        Action::Up if pos >= cols => go(m, pos - cols),
        Action::Down if pos + cols < n => go(m, pos + cols),
        Action::Down if bottom_row && problems > 0 => to_problems(m, 0),
        Action::Left if cols > 1 && pos > 0 => go(m, pos - 1),
        Action::Right if cols > 1 && pos + 1 < n => go(m, pos + 1),
        // Tab order: every pane, then every problem, then back to the first pane.
        Action::NextPane if pos + 1 >= n && problems > 0 => to_problems(m, 0),
        Action::NextPane if n > 0 => go(m, (pos + 1) % n),
        Action::PrevPane if pos == 0 && problems > 0 => to_problems(m, problems - 1),
        Action::PrevPane if n > 0 => go(m, (pos + n - 1) % n),
        Action::Home if n > 0 => go(m, 0),
        Action::End if n > 0 => go(m, n - 1),
        Action::Enter => {
            if let Some(id) = m.selected.clone().filter(|_| n > 0) {
                m.drill = Drill {
                    probe: id,
                    ..Drill::default()
                };
                m.screen = Screen::Drill;
            }
        }
        Action::RunSelected => {
            if let Some(id) = m.selected.clone().filter(|_| n > 0) {
                return vec![Command::RunNow(id)];
            }
        }
        _ => {}
    }
    vec![]
}

/// Keys while the problems list has the focus.
fn problems_action(m: &mut Model, action: Action, len: usize, visible: &[usize]) -> Vec<Command> {
    let page = (layout::body_height(m.size) / 2).max(1);
    let i = m.problem.min(len - 1);
    match action {
        Action::Up | Action::PrevPane if i == 0 => {
            m.focus = Focus::Probes;
            if action == Action::PrevPane {
                m.select_pos(visible, visible.len().saturating_sub(1));
            }
        }
        Action::Up | Action::PrevPane => m.problem = i - 1,
        Action::Down => m.problem = (i + 1).min(len - 1),
        Action::NextPane if i + 1 >= len => {
            m.focus = Focus::Probes;
            m.select_pos(visible, 0);
        }
        Action::NextPane => m.problem = i + 1,
        Action::PageUp => m.problem = i.saturating_sub(page),
        Action::PageDown => m.problem = (i + page).min(len - 1),
        Action::Home => m.problem = 0,
        Action::End => m.problem = len - 1,
        // Right opens, as it expands an item in the drill; Left goes back up to the probes.
        Action::Enter | Action::Right => {
            let p = &m.problems()[i];
            let (probe, path) = (p.probe.to_owned(), p.path.clone());
            open_problem(m, probe, &path);
        }
        Action::Left => m.focus = Focus::Probes,
        Action::RunSelected => return vec![Command::RunNow(m.problems()[i].probe.to_owned())],
        _ => {}
    }
    vec![]
}

/// Opens a probe's drill-down with the item at `path` (and its parents) expanded and selected.
pub fn open_problem(m: &mut Model, probe: String, path: &str) {
    m.selected = Some(probe.clone());
    m.drill = Drill {
        probe,
        ..Drill::default()
    };
    m.screen = Screen::Drill;
    if !path.is_empty() {
        // Expand each ancestor as it appears (a prefix test on the tree's own paths, so ids
        // containing '/' cannot confuse it), then the item itself.
        loop {
            let next = m
                .drill_rows()
                .iter()
                .find(|r| !r.expanded && path.starts_with(&format!("{}/", r.path)))
                .map(|r| r.path.clone());
            match next {
                Some(p) => {
                    m.drill.expanded.insert(p);
                }
                None => break,
            }
        }
        let rows = m.drill_rows();
        if let Some(i) = rows.iter().position(|r| r.path == path) {
            let expandable = rows[i].expandable();
            m.drill.cursor = i;
            if expandable {
                m.drill.expanded.insert(path.to_owned());
            }
        }
    }
    clamp_drill(m);
}

fn drill_action(m: &mut Model, action: Action) -> Vec<Command> {
    if let Some(c) = common(m, action) {
        return c;
    }
    let rows = m.drill_rows();
    let tree_mode = !m.drill.json && !rows.is_empty();
    let page = layout::drill_height(m.size).max(1);
    match action {
        Action::Back => {
            m.screen = Screen::Overview;
            return vec![];
        }
        Action::RunSelected => return vec![Command::RunNow(m.drill.probe.clone())],
        Action::Copy | Action::Write if tree_mode => {
            let row = &rows[m.drill.cursor.min(rows.len() - 1)];
            let text = crate::model::item_text(row.item);
            let name = format!("{}-{}", m.drill.probe, row.item.id);
            return vec![if action == Action::Copy {
                Command::Copy(text)
            } else {
                Command::Write { name, text }
            }];
        }
        Action::ToggleJson => {
            m.drill.json = !m.drill.json;
            m.drill.scroll = 0;
            m.drill.hscroll = 0;
        }
        Action::Up if tree_mode => m.drill.cursor = m.drill.cursor.saturating_sub(1),
        Action::Down if tree_mode => m.drill.cursor = (m.drill.cursor + 1).min(rows.len() - 1),
        Action::Home if tree_mode => {
            m.drill.cursor = 0;
            m.drill.scroll = 0;
        }
        Action::End if tree_mode => m.drill.cursor = rows.len() - 1,
        Action::Enter | Action::Right if tree_mode => {
            let row = &rows[m.drill.cursor.min(rows.len() - 1)];
            let (path, open, expandable) = (row.path.clone(), row.expanded, row.expandable());
            if open && action == Action::Enter {
                m.drill.expanded.remove(&path);
            } else if expandable {
                m.drill.expanded.insert(path);
            }
        }
        Action::Left if tree_mode => {
            let row = &rows[m.drill.cursor.min(rows.len() - 1)];
            if row.expanded {
                let path = row.path.clone();
                m.drill.expanded.remove(&path);
            } else if let Some((parent, _)) =
                row.path.rsplit_once('/').filter(|(p, _)| !p.is_empty())
            {
                let parent = parent.to_owned();
                if let Some(i) = rows.iter().position(|r| r.path == parent) {
                    m.drill.cursor = i;
                }
            }
        }
        // JSON: sideways by 8 columns, as far as the longest line.
        Action::Left => m.drill.hscroll = m.drill.hscroll.saturating_sub(8),
        Action::Right => {
            let widest = crate::drill_layout::lines(m)
                .0
                .iter()
                .map(|l| l.width())
                .max()
                .unwrap_or(0);
            let max = widest.saturating_sub(usize::from(m.size.0));
            m.drill.hscroll = (m.drill.hscroll + 8).min(max);
        }
        Action::Up => m.drill.scroll = m.drill.scroll.saturating_sub(1),
        Action::Down => m.drill.scroll += 1,
        Action::Home => m.drill.scroll = 0,
        Action::End => m.drill.scroll = usize::MAX,
        Action::PageUp => m.drill.scroll = m.drill.scroll.saturating_sub(page),
        Action::PageDown => m.drill.scroll = m.drill.scroll.saturating_add(page),
        _ => {}
    }
    clamp_drill(m);
    vec![]
}

/// Keeps the drill cursor on a row and the scroll inside the page, with the cursor visible.
fn clamp_drill(m: &mut Model) {
    if m.screen != Screen::Drill {
        return;
    }
    let rows = m.drill_rows().len();
    m.drill.cursor = m.drill.cursor.min(rows.saturating_sub(1));
    let (lines, cursor) = drill_layout::line_count(m);
    let height = layout::drill_height(m.size).max(1);
    let max_scroll = lines.saturating_sub(height);
    if let Some((c, end)) = cursor.filter(|_| !m.drill.json) {
        // The cursor's line, and its evidence and fix below it as far as they fit.
        let end = end.min(c + height - 1);
        if c < m.drill.scroll {
            m.drill.scroll = c;
        } else if end >= m.drill.scroll + height {
            m.drill.scroll = end + 1 - height;
        }
    }
    m.drill.scroll = m.drill.scroll.min(max_scroll);
}

fn events_action(m: &mut Model, action: Action) -> Vec<Command> {
    if let Some(c) = common(m, action) {
        return c;
    }
    let page = layout::body_height(m.size).saturating_sub(1).max(1);
    let max = m.data.transitions.len().saturating_sub(page);
    match action {
        Action::Back => m.screen = Screen::Overview,
        Action::Up => m.events_scroll = m.events_scroll.saturating_sub(1),
        Action::Down => m.events_scroll = (m.events_scroll + 1).min(max),
        Action::PageUp => m.events_scroll = m.events_scroll.saturating_sub(page),
        Action::PageDown => m.events_scroll = (m.events_scroll + page).min(max),
        Action::Home => m.events_scroll = 0,
        Action::End => m.events_scroll = max,
        _ => {}
    }
    vec![]
}

fn help_action(m: &mut Model, action: Action) -> Vec<Command> {
    let rows = keys::help_rows(m.help_return, m.size.0, m.look.ascii).len() + 5;
    let max = rows.saturating_sub(layout::body_height(m.size));
    match action {
        Action::Quit => m.quit = true,
        Action::Back => m.screen = m.help_return,
        Action::Up => m.help_scroll = m.help_scroll.saturating_sub(1),
        Action::Down => m.help_scroll = (m.help_scroll + 1).min(max),
        Action::PageUp | Action::Home => m.help_scroll = 0,
        Action::PageDown | Action::End => m.help_scroll = max,
        _ => {}
    }
    vec![]
}
