//! `view(&Model, &mut Frame)`: pure drawing. One module per screen region, each reading the
//! model and never changing it.

mod drill;
mod events;
mod help;
mod overview;
use crate::text::{ascii_key, clock_minutes};
use crate::theme;

use crate::keys;
use crate::layout;
use crate::model::{Model, Screen};
use patchdeck_probe_api::Status;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn view(m: &Model, f: &mut Frame) {
    let area = f.area();
    if layout::too_small((area.width, area.height)) {
        let (w, h) = layout::MIN_SIZE;
        let msg = format!("terminal too small (need {w}x{h})");
        // Wraps onto a second line on very narrow terminals instead of being cut.
        let lines = if usize::from(area.width) >= msg.len() {
            vec![Line::from(msg).centered()]
        } else {
            vec![
                Line::from("terminal too small").centered(),
                Line::from(format!("(need {w}x{h})")).centered(),
            ]
        };
        let y = area.height.saturating_sub(lines.len() as u16) / 2;
        let height = (lines.len() as u16).min(area.height);
        f.render_widget(
            Paragraph::new(lines),
            Rect {
                y: area.y + y,
                height,
                ..area
            },
        );
        return;
    }
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    header(m, f, top);
    if m.screen != Screen::Overview {
        m.hits.borrow_mut().clear();
    }
    match m.screen {
        Screen::Overview => overview::render(m, f, body),
        Screen::Drill => drill::render(m, f, body),
        Screen::Events => events::render(m, f, body),
        Screen::Help => help::render(m, f, body),
    }
    footer(m, f, bottom);
    if m.look.ascii {
        ascii_fold(f.buffer_mut());
    }
}

/// Makes every cell ASCII: on a vt100 or the Linux console, UTF-8 from plugins (a "·" in a
/// summary) would print as garbage. Common punctuation is transliterated, the rest is "?".
fn ascii_fold(buf: &mut ratatui::buffer::Buffer) {
    for cell in buf.content.iter_mut() {
        let sym = cell.symbol();
        if sym.is_ascii() {
            continue;
        }
        let folded = match sym {
            "·" | "•" => "-",
            "—" | "–" | "─" | "━" => "-",
            "…" => ".",
            "→" | "›" => ">",
            "←" => "<",
            "↑" => "^",
            "↓" => "v",
            "│" | "┃" => "|",
            "“" | "”" | "„" => "\"",
            "‘" | "’" => "'",
            "\u{a0}" => " ",
            _ => "?",
        };
        cell.set_symbol(folded);
    }
}

fn header(m: &Model, f: &mut Frame, area: Rect) {
    let look = m.look;
    let dot = if look.ascii { "-" } else { "·" };
    let site = m
        .site
        .as_ref()
        .map(|site| Span::raw(format!(" {dot} {site}")));
    // An alarm about serve (a reload refused) stays in a narrow header at the site name's
    // cost; "live from serve" gives way to it.
    let (source_long, source_short, source_style) = match &m.source {
        Some(s) => (
            Some(format!(" {dot} {}", s.long)),
            Some(format!(" {dot} {}", s.short)),
            if s.alarm {
                theme::style(Some(Status::Warning), look)
            } else {
                theme::dim(look)
            },
        ),
        None => (None, None, theme::dim(look)),
    };
    let mut counts = [0usize; 5];
    for p in &m.data.probes {
        counts[p.status().map_or(4, |s| s.code() as usize)] += 1;
    }
    // The counts in words, or when that leaves no room for the site, short: "✔ 4 ok  ▲ 1 warn
    // ✖ 1 crit" (zero counts left out).
    let right_of = |short: bool| {
        let mut right: Vec<Span> = Vec::new();
        for (i, status) in [
            Some(Status::Ok),
            Some(Status::Warning),
            Some(Status::Critical),
            Some(Status::Unknown),
            None,
        ]
        .into_iter()
        .enumerate()
        {
            if counts[i] == 0 && (status.is_none() || (short && i > 0)) {
                continue;
            }
            let word = theme::word(status).to_lowercase();
            let word = if short {
                match status {
                    Some(Status::Warning) => "warn".to_owned(),
                    Some(Status::Critical) => "crit".to_owned(),
                    Some(Status::Unknown) => "unkn".to_owned(),
                    _ => word,
                }
            } else {
                word
            };
            right.push(Span::styled(
                format!("{} {} {word}", theme::symbol(status, look), counts[i]),
                theme::style(status, look),
            ));
            right.push(Span::raw(if short { " " } else { "  " }));
        }
        if m.sort_severity {
            // The order is not the config's: say so (s toggles it back).
            right.push(Span::styled(
                if short { "[sorted]" } else { "[worst first]" },
                theme::dim(look),
            ));
            right.push(Span::raw(if short { " " } else { "  " }));
        }
        if m.data.paused {
            right.push(Span::styled("[PAUSED]", theme::selected(look)));
            right.push(Span::raw(if short { " " } else { "  " }));
        }
        right.push(Span::raw(clock_minutes(m.now, m.utc_offset)));
        right.push(Span::raw(" "));
        right
    };
    let (full, short) = (right_of(false), right_of(true));
    let width_of = |v: &[Span]| -> usize { v.iter().map(Span::width).sum() };
    let fits =
        |left: &[Span], right: &[Span]| usize::from(area.width) > width_of(left) + width_of(right);
    let site_span_ref = &site;
    let with = |site: bool, source: Option<&String>| {
        let mut v = vec![Span::styled(" patchdeck", theme::heading(look))];
        if site && let Some(s) = site_span_ref {
            v.push(s.clone());
        }
        if let Some(s) = source {
            v.push(Span::styled(s.clone(), source_style));
        }
        v
    };
    let alarm = m.source.as_ref().is_some_and(|s| s.alarm);
    // Narrowing, in order: the short word on where results come from, short counts (the site
    // name matters more than the words "ok" and "unknown"), then without the source (or, for
    // an alarm, without the site name), then the name alone.
    let candidates = [
        (with(true, source_long.as_ref()), &full),
        (with(true, source_short.as_ref()), &full),
        (with(true, source_short.as_ref()), &short),
        (
            if alarm {
                with(false, source_short.as_ref())
            } else {
                with(true, None)
            },
            &short,
        ),
        (with(false, None), &full),
        (with(false, None), &short),
    ];
    let (mut spans, right) = candidates
        .iter()
        .find(|(l, r)| fits(l, r))
        .map(|(l, r)| (l.clone(), (*r).clone()))
        .unwrap_or_else(|| (with(false, None), short.clone()));
    let right_width = width_of(&right);
    let left_width: usize = spans.iter().map(Span::width).sum();
    spans.push(Span::raw(
        " ".repeat(
            usize::from(area.width)
                .saturating_sub(left_width + right_width)
                .max(1),
        ),
    ));
    spans.extend(right);
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn footer(m: &Model, f: &mut Frame, area: Rect) {
    let look = m.look;
    if m.filter_editing {
        let line = Line::from(vec![
            Span::styled(" filter: ", theme::heading(look)),
            Span::raw(format!("{}_", m.filter)),
            Span::styled("   Enter keep · Esc clear", theme::dim(look)),
        ]);
        f.render_widget(Paragraph::new(line), area);
        return;
    }
    if let Some(said) = &m.said {
        let line = Line::from(vec![
            Span::raw(" "),
            Span::styled(
                crate::text::fit(said, usize::from(area.width).saturating_sub(2), look),
                theme::heading(look),
            ),
        ]);
        f.render_widget(Paragraph::new(line), area);
        return;
    }
    let mut spans = vec![Span::raw(" ")];
    let mut width = 1usize;
    if !m.filter.is_empty() && m.screen == Screen::Overview {
        let s = format!("filter \"{}\"  ", m.filter);
        width += s.chars().count();
        spans.push(Span::styled(s, theme::heading(look)));
    }
    // "q quit" always fits: the other hints give way to it from the right.
    let bindings: Vec<_> = keys::for_screen(m.screen)
        .filter(|b| !b.short.is_empty())
        .collect();
    let label = |b: &keys::Binding| {
        if look.ascii {
            ascii_key(b.label)
        } else {
            b.label.to_owned()
        }
    };
    // What a key does now: "p resume" while paused, never "p pause".
    let short = |b: &keys::Binding| -> &'static str {
        if b.action == keys::Action::TogglePause && m.data.paused {
            "resume"
        } else {
            b.short
        }
    };
    // "? help" and "q quit" always fit: the other hints give way to them from the right.
    let kept: Vec<usize> = bindings
        .iter()
        .enumerate()
        .filter(|(_, b)| matches!(b.action, keys::Action::Help | keys::Action::Quit))
        .map(|(i, _)| i)
        .collect();
    let kept_w: usize = kept
        .iter()
        .map(|&i| {
            format!("{} {}  ", label(bindings[i]), short(bindings[i]))
                .chars()
                .count()
        })
        .sum();
    let mut shown: Vec<&keys::Binding> = Vec::new();
    for (i, b) in bindings.iter().enumerate() {
        if kept.contains(&i) {
            continue;
        }
        let w = format!("{} {}  ", label(b), short(b)).chars().count();
        if width + w + kept_w > usize::from(area.width) {
            break;
        }
        width += w;
        shown.push(b);
    }
    shown.extend(kept.iter().map(|&i| bindings[i]));
    for b in shown {
        spans.push(Span::styled(label(b), theme::heading(look)));
        spans.push(Span::raw(format!(" {}  ", short(b))));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
