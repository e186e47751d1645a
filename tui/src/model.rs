//! The dashboard's state: the `Model`, the messages that change it and the commands it asks
//! for. The Elm-like loop is `Msg` -> `update::update(&mut Model, Msg)` -> commands; `keys`,
//! `drill_layout` and `view` read this state, `update` depends on them: one way.

pub use crate::theme::Look;
use patchdeck_core::store::{ProbeState, State, Transition};
use patchdeck_probe_api::{Item, Status};
use ratatui::crossterm::event::KeyEvent;
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
    /// The titles of the other items of this probe with the same status and the same fix:
    /// one cause, one row ("2 items"). Enter opens the first.
    pub also: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Screen {
    Overview,
    Drill,
    Events,
    Help,
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
    /// First column shown of the JSON view (not wrapped, so that it pastes as JSON).
    pub hscroll: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub site: Option<String>,
    /// Where the results come from when not from this process's own engine: "live from serve
    /// (pid 4242, since 13:05)", or why serve is not heard from. Shown in the header.
    pub source: Option<Source>,
    /// What the last command did, shown in the footer until the next key.
    pub said: Option<String>,
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
    /// A line for the footer until the next key: what a command did ("copied 512 lines",
    /// "written to ~/…/DP04.txt").
    Said(String),
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

/// An item as plain text for `y` and `w`: its title, status and summary, what was seen, the
/// fix, its details, metrics and every item under it (one per line, indented): a list of 500
/// host names taken away whole.
pub fn item_text(item: &Item) -> String {
    fn walk(i: &Item, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        let title = if i.title.is_empty() { &i.id } else { &i.title };
        out.push_str(&format!("{pad}{} {title}", i.status.label()));
        if !i.summary.is_empty() {
            out.push_str(&format!(" — {}", i.summary));
        }
        out.push('\n');
        if let Some(e) = &i.evidence {
            out.push_str(&format!("{pad}  Seen: {e}\n"));
        }
        if let Some(f) = &i.fix {
            out.push_str(&format!("{pad}  Fix: {f}\n"));
        }
        for d in &i.details {
            out.push_str(&format!("{pad}  {}: {}\n", d.label, d.value));
        }
        for m in &i.metrics {
            out.push_str(&format!("{pad}  {}: {}{}\n", m.label, m.value, m.uom));
        }
        for c in &i.items {
            walk(c, depth + 1, out);
        }
    }
    let mut out = String::new();
    walk(item, 0, &mut out);
    out
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
    /// Put this text on the terminal's clipboard (OSC 52).
    Copy(String),
    /// Write this text to a file named after `name`; the app says where.
    Write {
        name: String,
        text: String,
    },
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
            said: None,
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

    pub(crate) fn select_pos(&mut self, visible: &[usize], pos: usize) {
        if let Some(&i) = visible.get(pos) {
            self.selected = Some(self.data.probes[i].meta.id.clone());
        }
    }

    /// Keeps the selection on a visible probe (after filtering or new data).
    pub(crate) fn fix_selection(&mut self) {
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
                    also: vec![],
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
        // One cause, one row: items of one probe with the same status and the same fix join
        // the first of them (a stopped WsusPool fails four checks with one fix).
        let mut grouped: Vec<Problem> = Vec::with_capacity(out.len());
        for p in out {
            let same = grouped.iter_mut().find(|g| {
                g.probe == p.probe && g.status == p.status && g.fix.is_some() && g.fix == p.fix
            });
            match same {
                Some(g) => g.also.push(if p.title.is_empty() {
                    p.summary.to_owned()
                } else {
                    p.title
                }),
                None => grouped.push(p),
            }
        }
        grouped
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
                also: vec![],
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
