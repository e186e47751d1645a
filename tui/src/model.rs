//! The Elm-like core of the dashboard: `Msg` -> `update(&mut Model, Msg)` -> commands.
//! `update` is pure (no terminal, no clock, no store access), so every key on every screen is
//! unit-tested without a terminal.

use crate::keys::{self, Action};
use crate::layout;
use patchdeck_core::store::{ProbeState, State, Transition};
use patchdeck_probe_api::{Item, Status};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

/// History entries kept in a snapshot (status strip and sparkline).
pub const SNAPSHOT_HISTORY: usize = 60;

/// One probe as the UI sees it: the store's state, with a shortened history.
pub type ProbeRow = ProbeState;

/// What the store holds, as the dashboard keeps it: each probe and the transitions behind an
/// `Arc`, with the store's revisions. A new snapshot reuses the `Arc`s of what did not change
/// (one probe's result copies one probe), and `update` compares revisions, not contents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub probes: Vec<Arc<ProbeRow>>,
    /// Oldest first.
    pub transitions: Arc<Vec<Transition>>,
    pub transitions_revision: u64,
    pub paused: bool,
}

impl Snapshot {
    pub fn from_state(st: &State) -> Snapshot {
        Snapshot::from_state_reusing(st, None)
    }

    /// A snapshot of `st` sharing with `prev` every probe whose revision is unchanged.
    pub fn from_state_reusing(st: &State, prev: Option<&Snapshot>) -> Snapshot {
        let probes = st
            .probes
            .iter()
            .enumerate()
            .map(|(i, p)| match prev.and_then(|s| s.probes.get(i)) {
                Some(old) if old.meta.id == p.meta.id && old.revision == p.revision => old.clone(),
                _ => {
                    let mut p = p.clone();
                    let excess = p.history.len().saturating_sub(SNAPSHOT_HISTORY);
                    p.history.drain(..excess);
                    Arc::new(p)
                }
            })
            .collect();
        let transitions = match prev {
            Some(old) if old.transitions_revision == st.transitions_revision => {
                old.transitions.clone()
            }
            _ => Arc::new(st.transitions.iter().cloned().collect()),
        };
        Snapshot {
            probes,
            transitions,
            transitions_revision: st.transitions_revision,
            paused: st.paused,
        }
    }

    /// Whether `other` holds the same data: pointer and revision checks only.
    pub fn same_as(&self, other: &Snapshot) -> bool {
        self.paused == other.paused
            && Arc::ptr_eq(&self.transitions, &other.transitions)
            && self.probes.len() == other.probes.len()
            && self
                .probes
                .iter()
                .zip(&other.probes)
                .all(|(a, b)| Arc::ptr_eq(a, b))
    }
}

/// What a mouse click on the overview can land on (recorded by the last frame drawn).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Probe(String),
    Problem(usize),
}

/// Which overview region the keys move in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Probes,
    Problems,
}

/// One non-OK item (or a non-OK probe without items) on the overview's problems list.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem<'a> {
    pub probe: &'a str,
    /// Path of the item in the drill tree ("" for the probe itself).
    pub path: String,
    pub status: Status,
    /// The item's title after its parents' ("DP07 › Ranged GET"; "" for the probe itself).
    pub title: String,
    pub summary: &'a str,
    pub fix: Option<&'a str>,
    /// When the probe last changed status or cause (None: not since start).
    pub since: Option<SystemTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Screen {
    Overview,
    Drill,
    Events,
    Help,
}

/// How to draw: decided once at start from flags and $TERM / $NO_COLOR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    pub color: bool,
    pub ascii: bool,
}

/// State of the drill-down screen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drill {
    pub probe: String,
    /// Index of the selected row of the items tree.
    pub cursor: usize,
    /// Paths of expanded items.
    pub expanded: BTreeSet<String>,
    /// First body line shown.
    pub scroll: usize,
    pub json: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub site: Option<String>,
    /// Where the results come from when not from this process's own engine: "live from serve
    /// (pid 4242, since 13:05)", or why serve is not heard from. Shown in the header.
    pub source: Option<Source>,
    pub data: Snapshot,
    pub now: SystemTime,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    pub screen: Screen,
    /// Where Esc on the help screen returns to.
    pub help_return: Screen,
    pub help_scroll: usize,
    /// The selected probe, by id (stable across re-sorting and filtering).
    pub selected: Option<String>,
    pub sort_severity: bool,
    pub filter: String,
    pub filter_editing: bool,
    pub drill: Drill,
    /// Overview region the keys move in, and the selected problem.
    pub focus: Focus,
    pub problem: usize,
    pub events_scroll: usize,
    pub look: Look,
    /// Seconds east of UTC for the clock (set by the app from the local time zone).
    pub utc_offset: i64,
    pub quit: bool,
    /// Something visible changed: draw.
    pub dirty: bool,
    /// Where the last overview frame put each pane and problem, for mouse clicks: what the
    /// operator clicked is what they saw. Written by `view` only.
    pub hits: std::cell::RefCell<Vec<(ratatui::layout::Rect, Target)>>,
    /// The drill's JSON text and the result it was made from (made once per result).
    pub json_cache:
        std::cell::RefCell<Option<(Arc<patchdeck_core::store::CheckResult>, Arc<String>)>>,
}

/// Everything that can happen to the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    Resize(u16, u16),
    Data(Snapshot),
    /// The wall clock moved (once a second).
    Tick(SystemTime),
    /// SIGTERM, SIGHUP, SIGINT.
    Terminate,
    /// Where the results come from changed (attached to serve, lost it, a notice from it).
    Source(Option<Source>),
    /// The terminal's input ended (EOF, EIO: the SSH connection dropped).
    InputClosed,
    /// A left click at a cell (with --mouse); `double` when the app saw a second click on
    /// the same cell within half a second.
    Click {
        x: u16,
        y: u16,
        double: bool,
    },
}

/// Where the results come from, in words for the header: the long form when it fits, else
/// the short one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub long: String,
    pub short: String,
    /// Something is wrong with serve (a reload refused, serve lost): kept in a narrow header
    /// before the site name, in the warning colour.
    pub alarm: bool,
}

/// What `update` asks the app to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    RunNow(String),
    RunAll,
    SetPaused(bool),
}

impl Model {
    pub fn new(
        site: Option<String>,
        data: Snapshot,
        now: SystemTime,
        size: (u16, u16),
        look: Look,
    ) -> Model {
        let selected = data.probes.first().map(|p| p.meta.id.clone());
        Model {
            site,
            source: None,
            data,
            now,
            size,
            screen: Screen::Overview,
            help_return: Screen::Overview,
            help_scroll: 0,
            selected,
            sort_severity: false,
            filter: String::new(),
            filter_editing: false,
            drill: Drill::default(),
            focus: Focus::Probes,
            problem: 0,
            events_scroll: 0,
            look,
            utc_offset: 0,
            quit: false,
            dirty: true,
            hits: Default::default(),
            json_cache: Default::default(),
        }
    }

    /// Indices into `data.probes` of the probes shown, in display order.
    pub fn visible(&self) -> Vec<usize> {
        let needle = self.filter.to_lowercase();
        let mut v: Vec<usize> = (0..self.data.probes.len())
            .filter(|&i| {
                if needle.is_empty() {
                    return true;
                }
                let p = &self.data.probes[i];
                // The probe itself, or any item in its report (`/DP04` finds the DP).
                probe_matches(p, &needle)
                    || p.latest
                        .as_ref()
                        .and_then(|r| r.report.as_ref())
                        .is_some_and(|r| r.items.iter().any(|it| item_matches(it, &needle)))
            })
            .collect();
        if self.sort_severity {
            // Stable: equal severities keep config order.
            v.sort_by_key(|&i| {
                std::cmp::Reverse(self.data.probes[i].status().map_or(0, |s| s.severity() + 1))
            });
        }
        v
    }

    /// Position of the selected probe in `visible()`.
    pub fn selected_pos(&self, visible: &[usize]) -> Option<usize> {
        let id = self.selected.as_deref()?;
        visible
            .iter()
            .position(|&i| self.data.probes[i].meta.id == id)
    }

    pub fn probe(&self, id: &str) -> Option<&ProbeRow> {
        self.data
            .probes
            .iter()
            .find(|p| p.meta.id == id)
            .map(|p| &**p)
    }

    fn select_pos(&mut self, visible: &[usize], pos: usize) {
        if let Some(&i) = visible.get(pos) {
            self.selected = Some(self.data.probes[i].meta.id.clone());
        }
    }

    /// Keeps the selection on a visible probe (after filtering or new data).
    fn fix_selection(&mut self) {
        let visible = self.visible();
        if self.selected_pos(&visible).is_none() {
            self.selected = visible
                .first()
                .map(|&i| self.data.probes[i].meta.id.clone());
        }
    }

    /// Every non-OK item of the visible probes, worst first, then oldest: the deepest
    /// non-OK item of each branch (its parents only repeat it), or the probe itself when
    /// no item says why (a timeout, an error, a report without items).
    pub fn problems(&self) -> Vec<Problem<'_>> {
        let mut out = Vec::new();
        for i in self.visible() {
            let p = &self.data.probes[i];
            let Some(latest) = p.latest.as_ref().filter(|r| r.status != Status::Ok) else {
                continue;
            };
            let since = self
                .data
                .transitions
                .iter()
                .rev()
                .find(|t| t.probe == p.meta.id)
                .map(|t| t.at);
            let before = out.len();
            if let Some(report) = &latest.report {
                problem_items(&p.meta.id, &report.items, "", "", since, &mut out);
            }
            // Shown because of an item only: keep the problems that are that item (or under
            // it), so the list says where the match is.
            let needle = self.filter.to_lowercase();
            if !needle.is_empty() && !probe_matches(p, &needle) {
                let mut i = before;
                while i < out.len() {
                    let q = &out[i];
                    let hit = q.path.to_lowercase().contains(&needle)
                        || q.title.to_lowercase().contains(&needle)
                        || q.summary.to_lowercase().contains(&needle);
                    if hit {
                        i += 1;
                    } else {
                        out.remove(i);
                    }
                }
                if out.len() == before {
                    continue;
                }
            }
            if out.len() == before {
                out.push(Problem {
                    probe: &p.meta.id,
                    path: String::new(),
                    status: latest.status,
                    title: String::new(),
                    summary: &latest.summary,
                    fix: None,
                    since,
                });
            }
        }
        // Stable: equal rank keeps config and item order.
        out.sort_by_key(|p| {
            (
                std::cmp::Reverse(p.status.severity()),
                p.since.unwrap_or(std::time::UNIX_EPOCH),
            )
        });
        out
    }

    /// The items tree rows of the drilled probe.
    pub fn drill_rows(&self) -> Vec<TreeRow<'_>> {
        let Some(report) = self
            .probe(&self.drill.probe)
            .and_then(|p| p.latest.as_ref())
            .and_then(|r| r.report.as_ref())
        else {
            return vec![];
        };
        let mut rows = Vec::new();
        tree_rows(&report.items, "", 0, &self.drill.expanded, &mut rows);
        rows
    }
}

/// One visible row of the items tree.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeRow<'a> {
    pub path: String,
    pub depth: usize,
    pub item: &'a Item,
    pub expanded: bool,
}

impl TreeRow<'_> {
    /// Whether expanding shows anything (children, details or metrics).
    pub fn expandable(&self) -> bool {
        !self.item.items.is_empty()
            || !self.item.details.is_empty()
            || !self.item.metrics.is_empty()
            || self.item.evidence.is_some()
            || self.item.fix.is_some()
    }
}

/// The filter (lower case) matches the probe's id, kind or status.
fn probe_matches(p: &ProbeRow, needle: &str) -> bool {
    let status = p.status().map_or("pending", Status::as_str);
    p.meta.id.to_lowercase().contains(needle)
        || p.meta.kind.to_lowercase().contains(needle)
        || status.contains(needle)
}

/// The filter (lower case) matches the item's id, title, summary or evidence, or a child's.
fn item_matches(item: &Item, needle: &str) -> bool {
    [
        Some(item.id.as_str()),
        Some(item.title.as_str()),
        Some(item.summary.as_str()),
        item.evidence.as_deref(),
    ]
    .into_iter()
    .flatten()
    .any(|t| t.to_lowercase().contains(needle))
        || item.items.iter().any(|c| item_matches(c, needle))
}

fn problem_items<'a>(
    probe: &'a str,
    items: &'a [Item],
    parent: &str,
    parent_title: &str,
    since: Option<SystemTime>,
    out: &mut Vec<Problem<'a>>,
) {
    for (i, item) in items.iter().enumerate() {
        // The same path scheme as the drill tree, so Enter can open the item.
        let path = format!("{parent}/{i}:{}", item.id);
        let title = if parent_title.is_empty() {
            item.title.clone()
        } else {
            format!("{parent_title} › {}", item.title)
        };
        if item.items.iter().any(|c| c.status != Status::Ok) {
            problem_items(probe, &item.items, &path, &title, since, out);
        } else if item.status != Status::Ok {
            out.push(Problem {
                probe,
                path,
                status: item.status,
                title,
                summary: &item.summary,
                fix: item.fix.as_deref(),
                since,
            });
        }
    }
}

fn tree_rows<'a>(
    items: &'a [Item],
    parent: &str,
    depth: usize,
    expanded: &BTreeSet<String>,
    out: &mut Vec<TreeRow<'a>>,
) {
    for (i, item) in items.iter().enumerate() {
        // Index in the path: ids are not guaranteed unique among siblings.
        let path = format!("{parent}/{i}:{}", item.id);
        let open = expanded.contains(&path);
        out.push(TreeRow {
            path: path.clone(),
            depth,
            item,
            expanded: open,
        });
        if open {
            tree_rows(&item.items, &path, depth + 1, expanded, out);
        }
    }
}

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
        Action::Enter => {
            let p = &m.problems()[i];
            let (probe, path) = (p.probe.to_owned(), p.path.clone());
            open_problem(m, probe, &path);
        }
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
    let page = layout::body_height(m.size).max(1);
    match action {
        Action::Back => {
            m.screen = Screen::Overview;
            return vec![];
        }
        Action::RunSelected => return vec![Command::RunNow(m.drill.probe.clone())],
        Action::ToggleJson => {
            m.drill.json = !m.drill.json;
            m.drill.scroll = 0;
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
    let (lines, cursor_line) = crate::drill_layout::line_count(m);
    let height = layout::body_height(m.size).max(1);
    let max_scroll = lines.saturating_sub(height);
    if let Some(c) = cursor_line.filter(|_| !m.drill.json) {
        if c < m.drill.scroll {
            m.drill.scroll = c;
        } else if c >= m.drill.scroll + height {
            m.drill.scroll = c + 1 - height;
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
