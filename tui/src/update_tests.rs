//! `update`: every key on every screen changes the model as expected.

use crate::fixture::{model, snapshot, t0};
use crate::model::{Command, Focus, Model, Msg, Screen, Snapshot};
use crate::update::update;
use patchdeck_probe_api::Status;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::sync::Arc;
use std::time::Duration;

fn press(m: &mut Model, code: KeyCode) -> Vec<Command> {
    update(m, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ch(m: &mut Model, c: char) -> Vec<Command> {
    press(m, KeyCode::Char(c))
}

fn sel(m: &Model) -> &str {
    m.selected.as_deref().unwrap()
}

// ---- overview ----

#[test]
fn grid_navigation_moves_by_column_and_row() {
    // 120 columns: 3 panes per row. Order: wsus, bits, rp / wua, msi.
    let mut m = model(120, 40);
    assert_eq!(sel(&m), "wsus-sup01");
    press(&mut m, KeyCode::Right);
    assert_eq!(sel(&m), "bits-dps");
    ch(&mut m, 'l');
    assert_eq!(sel(&m), "reporting-point");
    press(&mut m, KeyCode::Right);
    assert_eq!(sel(&m), "wua-clients", "Right wraps to the next row");
    press(&mut m, KeyCode::Up);
    assert_eq!(sel(&m), "wsus-sup01");
    press(&mut m, KeyCode::Up);
    assert_eq!(sel(&m), "wsus-sup01", "Up on the first row stays");
    ch(&mut m, 'j');
    assert_eq!(sel(&m), "wua-clients");
    press(&mut m, KeyCode::Down);
    assert_eq!(
        m.focus,
        Focus::Problems,
        "Down from the bottom row: the problems list"
    );
    assert_eq!(m.problem, 0);
    press(&mut m, KeyCode::Up);
    assert_eq!(
        m.focus,
        Focus::Probes,
        "Up from the first problem: back to the panes"
    );
    assert_eq!(sel(&m), "wua-clients");
    ch(&mut m, 'h');
    assert_eq!(sel(&m), "reporting-point");
    press(&mut m, KeyCode::Left);
    press(&mut m, KeyCode::Left);
    press(&mut m, KeyCode::Left);
    assert_eq!(sel(&m), "wsus-sup01");
    assert!(m.dirty);
}

#[test]
fn narrow_list_navigation_is_one_per_row() {
    let mut m = model(80, 24);
    press(&mut m, KeyCode::Down);
    assert_eq!(sel(&m), "bits-dps");
    ch(&mut m, 'k');
    assert_eq!(sel(&m), "wsus-sup01");
    press(&mut m, KeyCode::Right);
    assert_eq!(sel(&m), "wsus-sup01", "no columns in the list");
    press(&mut m, KeyCode::End);
    assert_eq!(sel(&m), "msi-clients");
    ch(&mut m, 'g');
    assert_eq!(sel(&m), "wsus-sup01");
}

#[test]
fn tab_cycles_panes_then_problems_and_wraps() {
    let mut m = model(120, 40);
    let problems = m.problems().len();
    assert!(problems >= 2, "the fixture has problems");
    for _ in 0..4 {
        press(&mut m, KeyCode::Tab);
    }
    assert_eq!(sel(&m), "msi-clients");
    press(&mut m, KeyCode::Tab);
    assert_eq!(
        (m.focus, m.problem),
        (Focus::Problems, 0),
        "after the last pane"
    );
    for _ in 0..problems {
        press(&mut m, KeyCode::Tab);
    }
    assert_eq!(m.focus, Focus::Probes, "after the last problem");
    assert_eq!(sel(&m), "wsus-sup01");
    press(&mut m, KeyCode::BackTab);
    assert_eq!((m.focus, m.problem), (Focus::Problems, problems - 1));
    press(&mut m, KeyCode::BackTab);
    assert_eq!(m.problem, problems - 2);
}

#[test]
fn problems_are_worst_first_then_oldest_and_enter_opens_the_item() {
    let mut m = model(120, 40);
    let problems = m.problems();
    let ranks: Vec<u8> = problems.iter().map(|p| p.status.severity()).collect();
    let mut sorted = ranks.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ranks, sorted, "worst first");
    // Every problem is a non-OK item whose children are all OK (or a probe without items).
    for p in &problems {
        assert_ne!(p.status, Status::Ok);
    }
    let first = problems[0].clone();
    let (probe, path) = (first.probe.to_owned(), first.path.clone());
    press(&mut m, KeyCode::End);
    press(&mut m, KeyCode::Down);
    assert_eq!(m.focus, Focus::Problems);
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.screen, Screen::Drill);
    assert_eq!(m.drill.probe, probe);
    if !path.is_empty() {
        let rows = m.drill_rows();
        assert_eq!(
            rows[m.drill.cursor].path, path,
            "the problem's item is selected"
        );
    }
    press(&mut m, KeyCode::Esc);
    assert_eq!(m.screen, Screen::Overview);
    assert_eq!(m.focus, Focus::Problems, "back where we were");
}

#[test]
fn a_nested_problem_opens_with_its_parents_expanded() {
    let mut m = model(120, 40);
    let nested = m
        .problems()
        .iter()
        .position(|p| p.path.matches('/').count() >= 2)
        .expect("the fixture has a nested non-OK item");
    let path = m.problems()[nested].path.clone();
    press(&mut m, KeyCode::End);
    press(&mut m, KeyCode::Down);
    for _ in 0..nested {
        press(&mut m, KeyCode::Down);
    }
    press(&mut m, KeyCode::Enter);
    let rows = m.drill_rows();
    assert_eq!(rows[m.drill.cursor].path, path);
    assert!(rows[m.drill.cursor].depth >= 1);
}

#[test]
fn run_keys_and_pause_produce_commands() {
    let mut m = model(120, 40);
    press(&mut m, KeyCode::Tab);
    assert_eq!(ch(&mut m, 'r'), [Command::RunNow("bits-dps".into())]);
    assert_eq!(ch(&mut m, 'R'), [Command::RunAll]);
    assert_eq!(ch(&mut m, 'p'), [Command::SetPaused(true)]);
    let mut paused = snapshot();
    paused.paused = true;
    update(&mut m, Msg::Data(paused));
    assert_eq!(ch(&mut m, 'p'), [Command::SetPaused(false)]);
}

#[test]
fn enter_drills_into_the_selected_probe_and_esc_returns() {
    let mut m = model(120, 40);
    press(&mut m, KeyCode::Tab);
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.screen, Screen::Drill);
    assert_eq!(m.drill.probe, "bits-dps");
    assert_eq!(m.drill.cursor, 0);
    press(&mut m, KeyCode::Esc);
    assert_eq!(m.screen, Screen::Overview);
    press(&mut m, KeyCode::Enter);
    press(&mut m, KeyCode::Backspace);
    assert_eq!(m.screen, Screen::Overview, "Backspace is back too");
}

#[test]
fn filter_edits_applies_keeps_and_clears() {
    let mut m = model(120, 40);
    ch(&mut m, '/');
    assert!(m.filter_editing);
    for c in "crit".chars() {
        ch(&mut m, c);
    }
    assert_eq!(m.filter, "crit");
    assert_eq!(m.visible(), [1], "status text matches");
    assert_eq!(sel(&m), "bits-dps", "selection moves onto a visible probe");
    // While editing, letters are text, not commands.
    assert!(ch(&mut m, 'q').is_empty());
    assert!(!m.quit);
    press(&mut m, KeyCode::Backspace);
    press(&mut m, KeyCode::Enter);
    assert!(!m.filter_editing);
    assert_eq!(m.filter, "crit");
    ch(&mut m, '/');
    press(&mut m, KeyCode::Backspace);
    press(&mut m, KeyCode::Backspace);
    press(&mut m, KeyCode::Backspace);
    press(&mut m, KeyCode::Backspace);
    for c in "WU".chars() {
        ch(&mut m, c);
    }
    assert_eq!(m.visible(), [3], "case-insensitive id/kind match");
    press(&mut m, KeyCode::Esc);
    assert!(
        !m.filter_editing && m.filter.is_empty(),
        "Esc while editing clears"
    );
    ch(&mut m, '/');
    for c in "zqz".chars() {
        ch(&mut m, c);
    }
    press(&mut m, KeyCode::Enter);
    assert!(m.visible().is_empty());
    press(&mut m, KeyCode::Esc);
    assert!(
        m.filter.is_empty(),
        "Esc on the overview clears a kept filter"
    );
    assert_eq!(m.visible().len(), 5);
}

/// `/DP07` finds the DP, not only probes named so: its probe is shown and the problems list
/// keeps that item, so the operator sees where it is.
#[test]
fn the_filter_finds_items_and_shows_where_they_are() {
    let mut m = model(120, 40);
    ch(&mut m, '/');
    for c in "dp07".chars() {
        ch(&mut m, c);
    }
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.visible(), [1], "bits-dps holds DP07");
    let problems = m.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].probe, "bits-dps");
    assert!(problems[0].title.contains("DP07"), "{problems:?}");
    // An item that is fine still finds its probe, with no problem row for it.
    ch(&mut m, '/');
    for _ in 0..4 {
        press(&mut m, KeyCode::Backspace);
    }
    for c in "DP01.corp".chars() {
        ch(&mut m, c);
    }
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.visible(), [1]);
    assert!(m.problems().is_empty());
}

#[test]
fn s_sorts_by_severity_critical_first_and_back() {
    let mut m = model(120, 40);
    ch(&mut m, 's');
    assert!(m.sort_severity);
    let order: Vec<&str> = m
        .visible()
        .iter()
        .map(|&i| m.data.probes[i].meta.id.as_str())
        .collect();
    assert_eq!(
        order,
        [
            "bits-dps",
            "wua-clients",
            "reporting-point",
            "wsus-sup01",
            "msi-clients"
        ]
    );
    ch(&mut m, 's');
    assert_eq!(m.visible(), [0, 1, 2, 3, 4]);
}

#[test]
fn e_opens_events_and_question_mark_opens_help_that_returns() {
    let mut m = model(120, 40);
    ch(&mut m, 'e');
    assert_eq!(m.screen, Screen::Events);
    ch(&mut m, '?');
    assert_eq!((m.screen, m.help_return), (Screen::Help, Screen::Events));
    press(&mut m, KeyCode::Esc);
    assert_eq!(m.screen, Screen::Events);
    press(&mut m, KeyCode::Esc);
    assert_eq!(m.screen, Screen::Overview);
    ch(&mut m, '?');
    assert_eq!((m.screen, m.help_return), (Screen::Help, Screen::Overview));
}

#[test]
fn q_and_ctrl_c_quit_from_any_screen() {
    for screen_key in [None, Some('e'), Some('?')] {
        let mut m = model(120, 40);
        if let Some(c) = screen_key {
            ch(&mut m, c);
        }
        ch(&mut m, 'q');
        assert!(m.quit, "{screen_key:?}");
        let mut m = model(120, 40);
        if let Some(c) = screen_key {
            ch(&mut m, c);
        }
        update(
            &mut m,
            Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        );
        assert!(m.quit);
    }
    let mut m = model(120, 40);
    press(&mut m, KeyCode::Enter);
    ch(&mut m, 'q');
    assert!(m.quit, "from the drill-down");
    // Ctrl-C quits even while editing the filter.
    let mut m = model(120, 40);
    ch(&mut m, '/');
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(m.quit);
}

#[test]
fn unbound_keys_change_nothing() {
    let mut m = model(120, 40);
    let before = m.clone();
    assert!(ch(&mut m, 'J').is_empty(), "J belongs to the drill-down");
    ch(&mut m, 'z');
    press(&mut m, KeyCode::F(5));
    assert_eq!(m, before);
}

// ---- drill-down ----

fn drilled(probe_tabs: usize) -> Model {
    let mut m = model(120, 40);
    for _ in 0..probe_tabs {
        press(&mut m, KeyCode::Tab);
    }
    press(&mut m, KeyCode::Enter);
    m
}

#[test]
fn items_tree_expands_collapses_and_navigates() {
    let mut m = drilled(1);
    assert_eq!(m.drill_rows().len(), 2);
    press(&mut m, KeyCode::Enter);
    let rows: Vec<String> = m.drill_rows().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        rows,
        ["/0:dp07", "/0:dp07/0:head", "/0:dp07/1:range", "/1:dp01"]
    );
    press(&mut m, KeyCode::Down);
    press(&mut m, KeyCode::Down);
    assert_eq!(m.drill.cursor, 2);
    press(&mut m, KeyCode::Left);
    assert_eq!(
        m.drill.cursor, 0,
        "Left on a closed child goes to its parent"
    );
    ch(&mut m, 'h');
    assert_eq!(m.drill_rows().len(), 2, "Left on an open item collapses it");
    ch(&mut m, 'l');
    assert_eq!(m.drill_rows().len(), 4, "Right expands");
    press(&mut m, KeyCode::Right);
    assert_eq!(
        m.drill_rows().len(),
        4,
        "Right on an open item keeps it open"
    );
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.drill_rows().len(), 2, "Enter toggles");
    press(&mut m, KeyCode::End);
    assert_eq!(m.drill.cursor, 1);
    press(&mut m, KeyCode::Down);
    assert_eq!(m.drill.cursor, 1, "stays on the last row");
    press(&mut m, KeyCode::Enter);
    assert_eq!(
        m.drill_rows().len(),
        2,
        "a leaf without details does not expand"
    );
    press(&mut m, KeyCode::Home);
    ch(&mut m, 'k');
    assert_eq!(m.drill.cursor, 0);
}

#[test]
fn drill_run_json_and_screens() {
    let mut m = drilled(1);
    update(&mut m, Msg::Resize(120, 60)); // tall enough for the whole JSON
    assert_eq!(ch(&mut m, 'r'), [Command::RunNow("bits-dps".into())]);
    assert_eq!(ch(&mut m, 'R'), [Command::RunAll]);
    ch(&mut m, 'J');
    assert!(m.drill.json);
    press(&mut m, KeyCode::Down);
    assert_eq!(m.drill.scroll, 0, "the JSON fits: nothing to scroll");
    ch(&mut m, 'J');
    assert!(!m.drill.json);
    ch(&mut m, 'e');
    assert_eq!(m.screen, Screen::Events);
    let mut m = drilled(1);
    ch(&mut m, '?');
    assert_eq!((m.screen, m.help_return), (Screen::Help, Screen::Drill));
}

#[test]
fn long_drill_pages_scroll_and_keep_the_cursor_visible() {
    let mut m = drilled(1);
    update(&mut m, Msg::Resize(60, 12)); // body: 10 lines, the breadcrumb and 9 that scroll
    press(&mut m, KeyCode::Enter);
    press(&mut m, KeyCode::End);
    assert_eq!(m.drill.cursor, 3);
    let (lines, cursor) = crate::drill_layout::line_count(&m);
    let (cursor, _) = cursor.unwrap();
    assert!(lines > 9);
    assert!(
        m.drill.scroll <= cursor && cursor < m.drill.scroll + 9,
        "cursor line {cursor} scroll {}",
        m.drill.scroll
    );
    press(&mut m, KeyCode::Home);
    assert_eq!(m.drill.cursor, 0);
    // As far up as the first item and its expanded text allow (the header is taller than
    // this page): the item's block ends on the last row.
    let (_, first) = crate::drill_layout::line_count(&m);
    let (c, end) = first.unwrap();
    assert!(end > c, "the first item is expanded");
    assert_eq!(m.drill.scroll, (end.min(c + 8) + 1).saturating_sub(9));
    // In JSON mode the arrows and pages scroll lines.
    ch(&mut m, 'J');
    press(&mut m, KeyCode::PageDown);
    assert_eq!(m.drill.scroll, 9);
    press(&mut m, KeyCode::PageUp);
    assert_eq!(m.drill.scroll, 0);
    press(&mut m, KeyCode::End);
    let (json_lines, _) = crate::drill_layout::line_count(&m);
    assert_eq!(m.drill.scroll, json_lines - 9);
    press(&mut m, KeyCode::Up);
    assert_eq!(m.drill.scroll, json_lines - 10);
}

#[test]
fn drill_of_a_probe_without_report_scrolls_plain_lines() {
    let mut m = drilled(3); // wua-clients: timed out, no report
    assert!(m.drill_rows().is_empty());
    press(&mut m, KeyCode::Down);
    assert_eq!(m.drill.scroll, 0, "short page: nothing to scroll");
    press(&mut m, KeyCode::Esc);
    assert_eq!(m.screen, Screen::Overview);
}

// ---- events and help ----

#[test]
fn events_scroll_is_bounded() {
    let mut m = model(120, 40);
    let mut snap = snapshot();
    let t = snap.transitions[0].clone();
    for i in 0..100 {
        let mut t = t.clone();
        t.at += Duration::from_secs(i);
        Arc::make_mut(&mut snap.transitions).push(t);
    }
    update(&mut m, Msg::Data(snap));
    ch(&mut m, 'e');
    press(&mut m, KeyCode::Down);
    assert_eq!(m.events_scroll, 1);
    press(&mut m, KeyCode::PageDown);
    assert_eq!(m.events_scroll, 38);
    press(&mut m, KeyCode::End);
    assert_eq!(m.events_scroll, 105 - 37);
    press(&mut m, KeyCode::PageDown);
    assert_eq!(m.events_scroll, 105 - 37);
    ch(&mut m, 'g');
    assert_eq!(m.events_scroll, 0);
    press(&mut m, KeyCode::Up);
    assert_eq!(m.events_scroll, 0);
    assert_eq!(ch(&mut m, 'p'), [Command::SetPaused(true)]);
    assert_eq!(ch(&mut m, 'R'), [Command::RunAll]);
    assert!(
        ch(&mut m, 'r').is_empty(),
        "no selected probe on the events screen"
    );
}

#[test]
fn help_scrolls_when_the_terminal_is_short() {
    let mut m = model(60, 12);
    ch(&mut m, '?');
    press(&mut m, KeyCode::Down);
    assert_eq!(m.help_scroll, 1);
    press(&mut m, KeyCode::End);
    let max = m.help_scroll;
    assert!(max > 1);
    press(&mut m, KeyCode::Down);
    assert_eq!(m.help_scroll, max);
    press(&mut m, KeyCode::Home);
    assert_eq!(m.help_scroll, 0);
    assert!(ch(&mut m, 'r').is_empty());
    ch(&mut m, 'q');
    assert!(m.quit);
}

// ---- non-key messages ----

#[test]
fn terminate_input_closed_resize_tick_and_data() {
    let mut m = model(120, 40);
    update(&mut m, Msg::Terminate);
    assert!(m.quit);
    let mut m = model(120, 40);
    update(&mut m, Msg::InputClosed);
    assert!(
        m.quit,
        "EOF on the terminal ends the dashboard instead of spinning"
    );

    let mut m = model(120, 40);
    update(&mut m, Msg::Resize(80, 24));
    assert_eq!((m.size, m.dirty), ((80, 24), true));

    let mut m = model(120, 40);
    update(&mut m, Msg::Tick(t0() + Duration::from_secs(1)));
    assert_eq!((m.now, m.dirty), (t0() + Duration::from_secs(1), true));

    // Same data: nothing to draw. Selected probe gone: selection moves to the first.
    let mut m = model(120, 40);
    let same = m.data.clone();
    update(&mut m, Msg::Data(same));
    assert!(!m.dirty);
    press(&mut m, KeyCode::Tab);
    m.dirty = false;
    let mut snap = snapshot();
    snap.probes.remove(1);
    update(&mut m, Msg::Data(snap));
    assert!(m.dirty);
    assert_eq!(sel(&m), "wsus-sup01");
}

#[test]
fn a_new_snapshot_shares_every_probe_that_did_not_change() {
    use patchdeck_core::store::{CheckResult, ProbeMeta, Store};
    let meta = |id: &str| ProbeMeta {
        id: id.into(),
        kind: "mock".into(),
        plugin_version: "0.1.0".into(),
        isolation: patchdeck_core::config::Isolation::Process,
        interval: Duration::from_secs(30),
        timeout: Duration::from_secs(10),
    };
    let store = Store::new([meta("a"), meta("b")]);
    let first = Snapshot::from_state(&store.read());
    let ok = patchdeck_probe_api::Report::new(Status::Ok, "fine");
    store.record(
        "b",
        CheckResult::from_report(ok, t0(), Duration::from_millis(5)),
        None,
    );
    let second = Snapshot::from_state_reusing(&store.read(), Some(&first));
    assert!(
        Arc::ptr_eq(&first.probes[0], &second.probes[0]),
        "a: unchanged, shared"
    );
    assert!(
        !Arc::ptr_eq(&first.probes[1], &second.probes[1]),
        "b: a new result"
    );
    assert!(
        Arc::ptr_eq(&first.transitions, &second.transitions),
        "a first OK is no transition"
    );
    assert!(!second.same_as(&first));
    let third = Snapshot::from_state_reusing(&store.read(), Some(&second));
    assert!(
        third.same_as(&second),
        "nothing changed: a pointer check says so"
    );
    // A bad result is a transition: the list is copied once.
    let bad = patchdeck_probe_api::Report::new(Status::Critical, "broken");
    store.record(
        "a",
        CheckResult::from_report(bad, t0(), Duration::from_millis(5)),
        None,
    );
    let fourth = Snapshot::from_state_reusing(&store.read(), Some(&third));
    assert_eq!(fourth.transitions.len(), 1);
    assert!(Arc::ptr_eq(&third.probes[1], &fourth.probes[1]));
}

/// In the problems list → opens the problem (as it expands an item in the drill) and ← goes
/// back to the probes; one focus at a time.
#[test]
fn left_and_right_in_the_problems_list_go_back_and_open() {
    let mut m = model(120, 40);
    press(&mut m, KeyCode::End);
    press(&mut m, KeyCode::Down);
    assert_eq!(m.focus, Focus::Problems);
    press(&mut m, KeyCode::Left);
    assert_eq!(m.focus, Focus::Probes);
    press(&mut m, KeyCode::End);
    press(&mut m, KeyCode::Down);
    press(&mut m, KeyCode::Right);
    assert_eq!(m.screen, Screen::Drill);
}

/// Items of one probe with one status and one fix are one problem ("+1", "also: ..."), and
/// Enter on it opens the first of them.
#[test]
fn problems_that_share_a_fix_are_one_row() {
    let mut m = crate::fixture::model_of(crate::fixture::demo_snapshot(), 120, 40);
    let problems = m.problems();
    let wua: Vec<_> = problems
        .iter()
        .filter(|p| p.probe == "wua-clients")
        .collect();
    assert_eq!(wua.len(), 1, "{problems:#?}");
    assert_eq!(wua[0].also, ["WUA 7.0.6000.381"]);
    let n = problems.len();
    let path = wua[0].path.clone();
    press(&mut m, KeyCode::End);
    press(&mut m, KeyCode::Down);
    for _ in 1..n {
        press(&mut m, KeyCode::Down);
    }
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.drill.probe, "wua-clients");
    assert_eq!(m.drill_rows()[m.drill.cursor].path, path);
}

/// `y` and `w` on an item in the drill take the item and everything under it away: its
/// text, what was seen, the fix and each child on a line.
#[test]
fn y_and_w_take_the_item_and_its_list_away() {
    let mut m = crate::fixture::model_of(crate::fixture::demo_snapshot(), 120, 40);
    keys_to_first_problem(&mut m);
    let c = ch(&mut m, 'y');
    let [Command::Copy(text)] = c.as_slice() else {
        panic!("{c:?}")
    };
    assert!(
        text.contains("Fix: BITS resumes with byte ranges"),
        "{text}"
    );
    let c = ch(&mut m, 'w');
    let [Command::Write { name, text: t }] = c.as_slice() else {
        panic!("{c:?}")
    };
    assert!(name.starts_with("bits-dps-"), "{name}");
    assert_eq!(t, text);
    // What the app says stays until the next key.
    update(&mut m, Msg::Said("written to /x/y.txt".into()));
    assert_eq!(m.said.as_deref(), Some("written to /x/y.txt"));
    press(&mut m, KeyCode::Down);
    assert_eq!(m.said, None);
}

fn keys_to_first_problem(m: &mut Model) {
    press(m, KeyCode::End);
    press(m, KeyCode::Down);
    press(m, KeyCode::Enter);
    assert_eq!(m.screen, Screen::Drill);
}

#[test]
fn item_text_lists_every_child() {
    use patchdeck_probe_api::Item;
    let mut parent = Item::new("dp04", "DP04", Status::Critical, "2 of 500 hosts");
    parent.items = (0..500)
        .map(|i| Item::new(format!("h{i}"), format!("host{i}.corp"), Status::Ok, ""))
        .collect();
    let text = crate::model::item_text(&parent);
    assert_eq!(text.lines().count(), 501);
    assert!(text.lines().nth(500).unwrap().contains("host499.corp"));
}
