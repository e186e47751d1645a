//! `view` snapshots with ratatui's TestBackend at 80x24 and 120x40 (plus a tiny terminal).
//! Review changes with `cargo insta review`; CI (CI=true) fails on any difference.

use crate::fixture::model;
use crate::model::{Look, Model, Msg};
use crate::update::update;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn render(m: &Model) -> String {
    let mut t = Terminal::new(TestBackend::new(m.size.0, m.size.1)).unwrap();
    t.draw(|f| crate::view::view(m, f)).unwrap();
    t.backend().to_string()
}

fn keys(m: &mut Model, codes: &[KeyCode]) {
    for c in codes {
        update(m, Msg::Key(KeyEvent::new(*c, KeyModifiers::NONE)));
    }
}

fn chars(s: &str) -> Vec<KeyCode> {
    s.chars().map(KeyCode::Char).collect()
}

#[test]
fn overview_grid_mixed_statuses_120x40() {
    insta::assert_snapshot!(render(&model(120, 40)));
}

#[test]
fn overview_narrow_list_80x24() {
    let mut m = model(80, 24);
    keys(&mut m, &[KeyCode::Down]);
    insta::assert_snapshot!(render(&m));
}

#[test]
fn drill_with_nested_items_expanded_120x40() {
    let mut m = model(120, 40);
    keys(
        &mut m,
        &[KeyCode::Tab, KeyCode::Enter, KeyCode::Enter, KeyCode::Down],
    );
    insta::assert_snapshot!(render(&m));
}

#[test]
fn drill_shows_what_was_seen_and_the_fix_of_an_expanded_item_80x24() {
    let mut m = model(80, 24);
    // bits-dps, DP07 open, down to its "Ranged GET" child, open it.
    keys(
        &mut m,
        &[
            KeyCode::Tab,
            KeyCode::Enter,
            KeyCode::Enter,
            KeyCode::Down,
            KeyCode::Down,
            KeyCode::Enter,
        ],
    );
    let screen = render(&m);
    assert!(
        screen.contains("Seen: GET Range bytes=524288-525311"),
        "{screen}"
    );
    assert!(
        screen.contains("Fix:  Enable byte-range requests"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn drill_with_nested_items_80x24() {
    let mut m = model(80, 24);
    keys(
        &mut m,
        &[
            KeyCode::Down,
            KeyCode::Enter,
            KeyCode::Enter,
            KeyCode::Down,
            KeyCode::Down,
            KeyCode::Down,
        ],
    );
    insta::assert_snapshot!(render(&m));
}

#[test]
fn drill_timed_out_80x24() {
    let mut m = model(80, 24);
    keys(
        &mut m,
        &[KeyCode::Down, KeyCode::Down, KeyCode::Down, KeyCode::Enter],
    );
    insta::assert_snapshot!("drill_timed_out_80x24", render(&m));
}

#[test]
fn events_at_three_sizes() {
    for (w, h) in SIZES {
        let mut m = model(w, h);
        keys(&mut m, &chars("e"));
        insta::assert_snapshot!(format!("events_{w}x{h}"), render(&m));
    }
}

#[test]
fn help_at_three_sizes() {
    for (w, h) in SIZES {
        let mut m = model(w, h);
        keys(&mut m, &chars("?"));
        insta::assert_snapshot!(format!("help_{w}x{h}"), render(&m));
    }
}

#[test]
fn filter_editing_and_kept_80x24() {
    let mut m = model(80, 24);
    keys(&mut m, &chars("/dp"));
    insta::assert_snapshot!("filter_editing_80x24", render(&m));
    keys(&mut m, &[KeyCode::Enter]);
    insta::assert_snapshot!("filter_kept_80x24", render(&m));
}

#[test]
fn filter_kept_120x40() {
    let mut m = model(120, 40);
    keys(&mut m, &chars("/ok"));
    keys(&mut m, &[KeyCode::Enter]);
    insta::assert_snapshot!(render(&m));
}

#[test]
fn tiny_terminals_say_so() {
    insta::assert_snapshot!("tiny_39x10", render(&model(39, 10)));
    insta::assert_snapshot!("tiny_20x5", render(&model(20, 5)));
    // Exactly the minimum still works.
    insta::assert_snapshot!("minimum_40x10", render(&model(40, 10)));
}

#[test]
fn ascii_without_colour_for_vt100_at_three_sizes() {
    for (w, h) in SIZES {
        let mut m = model(w, h);
        m.look = Look {
            color: false,
            ascii: true,
        };
        let screen = render(&m);
        assert!(
            screen.is_ascii(),
            "non-ASCII output in ASCII mode:\n{screen}"
        );
        insta::assert_snapshot!(format!("ascii_overview_{w}x{h}"), screen);
    }
    let mut m = model(120, 40);
    m.look = Look {
        color: false,
        ascii: true,
    };
    keys(&mut m, &[KeyCode::Tab, KeyCode::Enter, KeyCode::Enter]);
    let screen = render(&m);
    assert!(
        screen.is_ascii(),
        "non-ASCII output in ASCII mode:\n{screen}"
    );
}

#[test]
fn every_size_from_tiny_to_wide_renders_without_panic() {
    for w in (1..=200).step_by(7) {
        for h in (1..=60).step_by(5) {
            let mut m = model(w, h);
            for screen_keys in [
                &[][..],
                &[KeyCode::Enter, KeyCode::Enter][..],
                &[KeyCode::Char('e')][..],
                &[KeyCode::Char('?')][..],
            ] {
                keys(&mut m, screen_keys);
                render(&m);
                keys(&mut m, &[KeyCode::Esc]);
            }
        }
    }
}

#[test]
fn a_next_run_more_than_a_day_away_shows_its_date() {
    use std::time::{Duration, UNIX_EPOCH};
    let now = UNIX_EPOCH + Duration::from_secs(1_795_182_312); // 2026-11-20 13:45:12 UTC
    let soon = now + Duration::from_secs(3600);
    let week = now + Duration::from_secs(7 * 86_400);
    assert_eq!(crate::text::when(soon, now, 0), "14:45:12");
    assert_eq!(crate::text::when(week, now, 0), "2026-11-27 13:45:12");
    assert_eq!(
        crate::text::when(week, now, 3600),
        "2026-11-27 14:45:12",
        "local time"
    );
}

/// An event from yesterday shows its date even when it is less than a day old (23:50 seen
/// at 01:00); today's show the time alone.
#[test]
fn events_from_another_day_show_their_date() {
    use std::time::{Duration, UNIX_EPOCH};
    let now = UNIX_EPOCH + Duration::from_secs(1_795_136_400); // 2026-11-20 01:00:00 UTC
    let yesterday = now - Duration::from_secs(70 * 60); // 23:50 the day before
    let today = now - Duration::from_secs(30 * 60);
    assert_eq!(crate::text::stamp(yesterday, now, 0), "2026-11-19 23:50:00");
    assert_eq!(crate::text::stamp(today, now, 0), "00:30:00");
    // Local time decides what "today" is.
    assert_eq!(crate::text::stamp(yesterday, now, 3600), "00:50:00");
}

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];

#[test]
fn demo_overview_lists_every_problem_worst_first_at_three_sizes() {
    for (w, h) in SIZES {
        let m = crate::fixture::model_of(crate::fixture::demo_snapshot(), w, h);
        let screen = render(&m);
        // Worst first: the CRITICAL DPs before DP09's UNKNOWN before the WUA warnings.
        let pos = |s: &str| {
            screen
                .find(s)
                .unwrap_or_else(|| panic!("{w}x{h}: no {s}:\n{screen}"))
        };
        assert!(pos("DP04.corp.example › Ranged GET") < pos("DP09.corp.example"));
        assert!(pos("DP09.corp.example") < pos("WUA 7.2.6001.788"));
        assert!(screen.contains("q quit"), "{w}x{h}: footer keeps q quit");
        insta::assert_snapshot!(format!("demo_overview_{w}x{h}"), screen);
    }
}

#[test]
fn an_all_green_site_says_so_in_one_calm_line_at_three_sizes() {
    for (w, h) in SIZES {
        let m = crate::fixture::model_of(crate::fixture::green_snapshot(), w, h);
        let screen = render(&m);
        assert!(
            screen.contains("all 6 probes OK · last change 03:12 bits-dps CRITICAL -> OK"),
            "{w}x{h}:\n{screen}"
        );
        insta::assert_snapshot!(format!("green_overview_{w}x{h}"), screen);
    }
}

#[test]
fn a_problem_opened_into_the_drill_at_three_sizes() {
    for (w, h) in SIZES {
        let mut m = crate::fixture::model_of(crate::fixture::demo_snapshot(), w, h);
        // Into the problems list, then the first problem: DP04's Ranged GET.
        keys(&mut m, &[KeyCode::End, KeyCode::Down, KeyCode::Enter]);
        let screen = render(&m);
        assert!(
            screen.contains("Fix:  BITS resumes with byte ranges"),
            "{w}x{h}:\n{screen}"
        );
        insta::assert_snapshot!(format!("problem_drill_{w}x{h}"), screen);
    }
}

#[test]
fn pane_titles_keep_their_parenthesis_and_summaries_wrap_when_there_is_room() {
    let m = crate::fixture::model_of(crate::fixture::demo_snapshot(), 200, 60);
    let screen = render(&m);
    for line in screen
        .lines()
        .filter(|l| l.contains("╗") || l.contains("┐"))
    {
        let opens = line.matches(" (").count();
        let closes = line.matches(") ").count();
        assert_eq!(opens, closes, "cut title: {line}");
    }
    // bits' long summary is not cut at 200 columns: its end is on screen.
    assert!(
        screen.contains("BG_E_INSUFFICIENT_RANGE_SUPPORT"),
        "{screen}"
    );
}

#[test]
fn a_click_selects_what_was_drawn_there_and_a_double_click_opens_it() {
    let mut m = crate::fixture::model_of(crate::fixture::demo_snapshot(), 120, 40);
    let screen = render(&m);
    let row_of = |s: &str| {
        screen
            .lines()
            .position(|l| l.contains(s))
            .unwrap_or_else(|| panic!("no {s}:\n{screen}")) as u16
    };
    // The wua-clients pane (second row of panes), then the DP06 problem line.
    let pane_y = row_of("WARNING wua-clients (wua)") + 1;
    update(
        &mut m,
        Msg::Click {
            x: 5,
            y: pane_y,
            double: false,
        },
    );
    assert_eq!(m.selected.as_deref(), Some("wua-clients"));
    assert_eq!(m.screen, crate::model::Screen::Overview);
    let dp06 = row_of("DP06.corp.example: WebDAV");
    update(
        &mut m,
        Msg::Click {
            x: 30,
            y: dp06,
            double: false,
        },
    );
    assert_eq!(m.focus, crate::model::Focus::Problems);
    assert_eq!(m.problems()[m.problem].title, "DP06.corp.example");
    // Its fix line belongs to it too; a double click opens it in the drill.
    update(
        &mut m,
        Msg::Click {
            x: 30,
            y: dp06 + 1,
            double: true,
        },
    );
    assert_eq!(m.screen, crate::model::Screen::Drill);
    assert_eq!(m.drill.probe, "bits-dps");
    assert_eq!(
        m.drill_rows()[m.drill.cursor].item.title,
        "DP06.corp.example"
    );
    // On the drill screen a click does nothing (no stale overview regions).
    render(&m);
    update(
        &mut m,
        Msg::Click {
            x: 5,
            y: pane_y,
            double: true,
        },
    );
    assert_eq!(m.screen, crate::model::Screen::Drill);
}

#[test]
fn the_drill_json_is_made_once_per_result_not_per_frame() {
    let mut m = model(80, 24);
    keys(&mut m, &[KeyCode::Enter]);
    keys(&mut m, &chars("J"));
    render(&m);
    let first = m.json_cache.borrow().as_ref().unwrap().1.clone();
    render(&m);
    let second = m.json_cache.borrow().as_ref().unwrap().1.clone();
    assert!(std::sync::Arc::ptr_eq(&first, &second), "re-serialised");
    // A new result: new text.
    let snap = crate::fixture::snapshot();
    update(&mut m, Msg::Data(snap));
    render(&m);
    let third = m.json_cache.borrow().as_ref().unwrap().1.clone();
    assert!(!std::sync::Arc::ptr_eq(&first, &third));
}

#[test]
fn hostile_text_from_a_plugin_never_reaches_the_screen_raw() {
    use patchdeck_probe_api::{Item, Status};
    let hostile = "evil\x1b]52;c;cGF5bG9hZA==\x07 \x1b[2J\u{9b}31m \u{202e}gnp.exe\u{2066}";
    let mut snap = crate::fixture::demo_snapshot();
    let bits = std::sync::Arc::make_mut(&mut snap.probes[1]);
    let mut latest = (**bits.latest.as_ref().unwrap()).clone();
    latest.summary = format!("summary {hostile}");
    let report = latest.report.as_mut().unwrap();
    report.items.push(
        Item::new(
            "x",
            format!("title {hostile}"),
            Status::Critical,
            format!("item {hostile}"),
        )
        .with_evidence(format!("seen {hostile}"))
        .with_fix(format!("fix {hostile}")),
    );
    bits.latest = Some(std::sync::Arc::new(latest));
    for (w, h) in SIZES {
        let mut m = crate::fixture::model_of(snap.clone(), w, h);
        let mut screens = vec![render(&m)];
        // Into the problems list, the hostile problem (the last CRITICAL), opened.
        keys(&mut m, &[KeyCode::End, KeyCode::Down]);
        let n = m
            .problems()
            .iter()
            .position(|p| p.title.starts_with("title"))
            .unwrap();
        for _ in 0..n {
            keys(&mut m, &[KeyCode::Down]);
        }
        keys(&mut m, &[KeyCode::Enter]);
        screens.push(render(&m));
        keys(&mut m, &chars("J"));
        screens.push(render(&m));
        assert!(
            screens[0].contains("title evil"),
            "{w}x{h}: the problem is listed:\n{}",
            screens[0]
        );
        assert!(
            screens[1].contains("gnp.exe"),
            "{w}x{h}: the item is open:\n{}",
            screens[1]
        );
        for s in screens {
            let bad: Vec<char> = s
                .chars()
                .filter(|&c| c != '\n' && patchdeck_core::sanitize::is_hostile(c))
                .collect();
            assert!(bad.is_empty(), "{w}x{h}: {bad:?} on screen:\n{s}");
        }
    }
}

/// Attached to serve, the header says so: in full where there is room, "serve PID" where the
/// counts need the space, and not at all before the counts would be cut.
#[test]
fn an_attached_dashboard_says_where_its_results_come_from_at_three_widths() {
    let source = crate::model::Source {
        long: "live from serve (pid 4242, since 13:05)".into(),
        short: "serve 4242".into(),
        alarm: false,
    };
    let header = |w: u16| {
        let mut m = model(w, 24);
        update(&mut m, Msg::Source(Some(source.clone())));
        render(&m).lines().next().unwrap().to_owned()
    };
    let wide = header(200);
    assert!(
        wide.contains("live from serve (pid 4242, since 13:05)"),
        "{wide}"
    );
    let mid = header(125);
    assert!(
        mid.contains("serve 4242") && !mid.contains("live from"),
        "{mid}"
    );
    let narrow = header(80);
    assert!(!narrow.contains("serve"), "{narrow}");
    // The counts are whole at every width (in words or short).
    for h in [&wide, &mid, &narrow] {
        assert!(h.contains("1 crit"), "{h}");
    }
    // An alarm about serve stays at the site name's cost.
    let mut m = model(110, 24);
    let alarm = crate::model::Source {
        long: "serve: config reload refused at 2026-11-30T13:38:28Z: patchdeck.toml:2".into(),
        short: "serve: reload refused".into(),
        alarm: true,
    };
    update(&mut m, Msg::Source(Some(alarm)));
    let h = render(&m).lines().next().unwrap().to_owned();
    assert!(
        h.contains("serve: reload refused") && !h.contains("Contoso"),
        "{h}"
    );
}

/// One focus, drawn one way: while the problems list has it, no pane is double-bordered and
/// no probe row is marked; the list's row is.
#[test]
fn focus_in_the_problems_list_is_the_only_focus_drawn_at_three_sizes() {
    for (w, h) in SIZES {
        let mut m = crate::fixture::model_of(crate::fixture::demo_snapshot(), w, h);
        let before = render(&m);
        assert!(
            before.contains('╔') || before.lines().any(|l| l.starts_with("\">")),
            "{w}x{h}: a probe has the focus first:\n{before}"
        );
        keys(&mut m, &[KeyCode::End, KeyCode::Down]);
        let screen = render(&m);
        assert!(!screen.contains('╔'), "{w}x{h}:\n{screen}");
        let marked: Vec<&str> = screen.lines().filter(|l| l.starts_with("\">")).collect();
        assert_eq!(marked.len(), 1, "{w}x{h}:\n{screen}");
        assert!(
            marked[0].contains("CRITICAL bits-dps"),
            "{w}x{h}: {marked:?}"
        );
        insta::assert_snapshot!(format!("problems_focused_{w}x{h}"), screen);
    }
}

/// Enter on any problem, at every size: the breadcrumb names the probe and the item at the
/// top, and the item's "Seen:" and "Fix:" are on screen (not below the fold).
#[test]
fn every_problem_opens_with_its_fix_in_view_and_a_breadcrumb() {
    for (w, h) in SIZES {
        let base = crate::fixture::model_of(crate::fixture::demo_snapshot(), w, h);
        let n = base.problems().len();
        for k in 0..n {
            let mut m = crate::fixture::model_of(crate::fixture::demo_snapshot(), w, h);
            let p = m.problems()[k].clone();
            let (probe, title) = (p.probe.to_owned(), p.title.clone());
            let has_fix = p.fix.is_some();
            keys(&mut m, &[KeyCode::End, KeyCode::Down]);
            for _ in 0..k {
                keys(&mut m, &[KeyCode::Down]);
            }
            keys(&mut m, &[KeyCode::Enter]);
            let screen = render(&m);
            let crumb = screen.lines().nth(1).unwrap();
            assert!(crumb.contains(&probe), "{w}x{h} #{k}: {crumb}");
            let last = title.rsplit(" › ").next().unwrap();
            assert!(crumb.contains(last), "{w}x{h} #{k}: {crumb} lacks {last}");
            if has_fix {
                assert!(screen.contains("Fix:"), "{w}x{h} #{k}:\n{screen}");
            }
        }
    }
}

/// A URL in the drill is never broken mid-token when it fits the width: under its text when
/// there is room, else on a row of its own from the first column.
#[test]
fn urls_in_the_drill_stay_whole() {
    let url = "https://learn.microsoft.com/en-us/windows/win32/bits/bits-return-values";
    let mut snap = crate::fixture::demo_snapshot();
    let bits = snap
        .probes
        .iter_mut()
        .find(|p| p.meta.id == "bits-dps")
        .unwrap();
    let p = std::sync::Arc::make_mut(bits);
    let r = std::sync::Arc::make_mut(p.latest.as_mut().unwrap());
    let item = &mut r.report.as_mut().unwrap().items[1];
    item.fix = Some(format!(
        "Make IIS honour Range; see BITS Return Values: {url}."
    ));
    for (w, h) in SIZES {
        let mut m = crate::fixture::model_of(snap.clone(), w, h);
        keys(&mut m, &[KeyCode::End, KeyCode::Down, KeyCode::Enter]);
        let screen = render(&m);
        assert!(screen.contains(url), "{w}x{h}:\n{screen}");
    }
}

/// The site's name stays in an 80-column header: the counts get short ("▲ 1 warn", zeros
/// left out) before the name goes.
#[test]
fn the_site_name_stays_at_80_columns() {
    let m = crate::fixture::model_of(crate::fixture::demo_snapshot(), 80, 24);
    let h = render(&m).lines().next().unwrap().to_owned();
    assert!(h.contains("ABC - Contoso primary site"), "{h}");
    assert!(h.contains("✖ 1 crit") && !h.contains("0 unkn"), "{h}");
    let m = crate::fixture::model_of(crate::fixture::demo_snapshot(), 120, 40);
    let h = render(&m).lines().next().unwrap().to_owned();
    assert!(
        h.contains("ABC - Contoso primary site") && h.contains("? 0 unknown"),
        "{h}"
    );
}

/// The JSON view does not wrap: a long string stays on its line (it pastes as JSON), and →
/// scrolls sideways to the rest of it.
#[test]
fn the_json_view_scrolls_sideways_instead_of_wrapping() {
    let mut m = crate::fixture::model_of(crate::fixture::demo_snapshot(), 80, 24);
    keys(&mut m, &[KeyCode::End, KeyCode::Down, KeyCode::Enter]);
    keys(&mut m, &chars("J"));
    let (lines, _) = crate::drill_layout::lines(&m);
    let report = m
        .probe("bits-dps")
        .and_then(|p| p.latest.as_ref())
        .and_then(|r| r.report.as_ref())
        .unwrap();
    let pretty = serde_json::to_string_pretty(report).unwrap();
    assert_eq!(
        lines.len(),
        pretty.lines().count(),
        "one screen line per JSON line"
    );
    let long = pretty
        .lines()
        .max_by_key(|l| l.chars().count())
        .filter(|l| l.chars().count() > 100)
        .expect("a line longer than the screen");
    let n = long.chars().count();
    let tail: String = long.chars().skip(n - 15).collect();
    assert!(!render(&m).contains(&tail));
    // Scroll down to the long line, then right until its tail shows.
    for _ in 0..pretty.lines().count() {
        if render(&m).contains(&long.chars().take(30).collect::<String>()) {
            break;
        }
        keys(&mut m, &[KeyCode::Down]);
    }
    for _ in 0..20 {
        keys(&mut m, &[KeyCode::Right]);
    }
    let screen = render(&m);
    assert!(screen.contains(&tail), "{screen}");
}

/// At 200x60 the status strip uses the pane's width (60 results in a 64-column pane), not
/// 20 of its columns.
#[test]
fn wide_panes_show_a_long_status_strip() {
    use patchdeck_core::store::HistoryEntry;
    let mut snap = crate::fixture::demo_snapshot();
    let p = std::sync::Arc::make_mut(&mut snap.probes[0]);
    let first = p.history[0];
    p.history = (0..60).map(|_| HistoryEntry { ..first }).collect();
    let m = crate::fixture::model_of(snap, 200, 60);
    let screen = render(&m);
    let strip = "✔".repeat(60);
    assert!(screen.contains(&strip), "{screen}");
}

/// Issue 20, point 5: what state the dashboard is in shows — the sort and a pause — at every
/// size.
#[test]
fn sort_and_pause_show_at_three_sizes() {
    for (w, h) in SIZES {
        let mut m = model(w, h);
        let mut snap = crate::fixture::snapshot();
        snap.paused = true;
        update(&mut m, Msg::Data(snap));
        keys(&mut m, &chars("s"));
        let screen = render(&m);
        assert!(screen.contains("PAUSED"), "{w}x{h}:\n{screen}");
        let header = screen.lines().next().unwrap();
        assert!(
            header.contains("[worst first]") || header.contains("[sorted]"),
            "{w}x{h}: the sort shows:\n{header}"
        );
        assert!(
            !screen.contains("p pause"),
            "{w}x{h}: paused says so:\n{screen}"
        );
        assert!(screen.contains("? help"), "{w}x{h}: help stays:\n{screen}");
        insta::assert_snapshot!(format!("sorted_and_paused_{w}x{h}"), screen);
    }
}

/// Issue 20, point 4: the filter finds an item (not only probes) and says where it is; the
/// events screen follows the filter.
#[test]
fn the_filter_finds_an_item_at_three_sizes() {
    for (w, h) in SIZES {
        let mut m = crate::fixture::model_of(crate::fixture::demo_snapshot(), w, h);
        keys(&mut m, &chars("/DP04"));
        keys(&mut m, &[KeyCode::Enter]);
        let screen = render(&m);
        assert!(screen.contains("DP04"), "{w}x{h}:\n{screen}");
        assert!(!screen.contains("no probe matches"), "{w}x{h}:\n{screen}");
        insta::assert_snapshot!(format!("filter_item_{w}x{h}"), screen);
        keys(&mut m, &chars("e"));
        insta::assert_snapshot!(format!("events_filtered_{w}x{h}"), render(&m));
    }
}

/// Issue 20, point 6: the drill's text (details, metrics, wrapped summaries) and the JSON
/// view, which scrolls instead of wrapping, at every size.
#[test]
fn drill_text_and_json_at_three_sizes() {
    for (w, h) in SIZES {
        let mut m = model(w, h);
        keys(&mut m, &[KeyCode::Enter]);
        let screen = render(&m);
        assert!(
            screen
                .lines()
                .nth(1)
                .is_some_and(|l| l.contains("›") || l.contains("wsus")),
            "{w}x{h}: a breadcrumb:\n{screen}"
        );
        insta::assert_snapshot!(format!("drill_wsus_{w}x{h}"), screen);
        keys(&mut m, &chars("J"));
        insta::assert_snapshot!(format!("drill_raw_json_{w}x{h}"), render(&m));
    }
}
