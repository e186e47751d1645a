//! Fitting text into cells, and the dashboard's clock and ages: shared by `update` (how many
//! rows a screen has), `keys`, `drill_layout` and `view`. A leaf: it imports only `theme`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Word-wraps to `width` columns in at most `max_lines` lines; the last line is cut with an
/// ellipsis when the text does not fit. Words longer than a line are cut.
pub fn wrap(s: &str, width: usize, max_lines: usize, look: crate::theme::Look) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut words = s.split_whitespace().peekable();
    while let Some(w) = words.next() {
        let need = if cur.is_empty() {
            0
        } else {
            cur.chars().count() + 1
        };
        if need + w.chars().count() <= width || (cur.is_empty() && width == 0) {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(w);
            continue;
        }
        if !cur.is_empty() {
            if lines.len() + 1 >= max_lines {
                // This line is the last allowed: it takes everything left, cut.
                let rest: Vec<&str> = [cur.as_str(), w].into_iter().chain(words).collect();
                lines.push(fit(&rest.join(" "), width, look));
                return lines;
            }
            lines.push(std::mem::take(&mut cur));
        }
        if lines.len() + 1 >= max_lines {
            // Last line allowed: everything left, cut.
            let rest: Vec<&str> = std::iter::once(w).chain(words).collect();
            lines.push(fit(&rest.join(" "), width, look));
            return lines;
        }
        cur = fit(w, width, look);
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Truncates to a width in characters, with an ellipsis.
pub fn fit(s: &str, width: usize, look: crate::theme::Look) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let cut: String = s.chars().take(width.saturating_sub(1)).collect();
    format!("{cut}{}", if look.ascii { "~" } else { "…" })
}

/// Key labels without arrows for ASCII terminals.
pub fn ascii_key(label: &str) -> String {
    label
        .replace('↑', "Up")
        .replace('↓', "Down")
        .replace('←', "Left")
        .replace('→', "Right")
}

/// Wall-clock time of day, HH:MM:SS, in the given UTC offset.
pub fn clock(t: SystemTime, utc_offset: i64) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
        + utc_offset;
    let day = secs.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", day / 3600, (day / 60) % 60, day % 60)
}

/// Wall-clock time of day to the minute, HH:MM: what the overview shows, so the screen does
/// not change every second.
pub fn clock_minutes(t: SystemTime, utc_offset: i64) -> String {
    clock(t, utc_offset)[..5].to_owned()
}

/// A future time as the operator needs it: the time of day when it is within a day of
/// `now`, else with its date ("2026-11-30 08:00:00"): a probe at `interval = "7d"` must not
/// read as due at 08:00 today.
pub fn when(t: SystemTime, now: SystemTime, utc_offset: i64) -> String {
    let far = t
        .duration_since(now)
        .is_ok_and(|d| d > Duration::from_secs(86_400));
    if !far {
        return clock(t, utc_offset);
    }
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
        .saturating_add(utc_offset);
    match jiff::Timestamp::from_second(secs) {
        Ok(ts) => ts.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => clock(t, utc_offset),
    }
}

/// [`when`] to the minute.
pub fn when_minutes(t: SystemTime, now: SystemTime, utc_offset: i64) -> String {
    let s = when(t, now, utc_offset);
    s[..s.len() - 3].to_owned()
}

/// A past time: the time of day when it is today (local), else with its date: 23:50 seen at
/// 01:00 is yesterday's, and says so.
pub fn stamp(t: SystemTime, now: SystemTime, utc_offset: i64) -> String {
    let day = |x: SystemTime| {
        (x.duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
            + utc_offset)
            .div_euclid(86_400)
    };
    if day(t) == day(now) {
        clock(t, utc_offset)
    } else {
        when(t, UNIX_EPOCH, utc_offset)
    }
}

/// "12s", "3m", "2h", "4d": how long ago / how long until.
pub fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// A past time, coarse: "just now", "3 min ago", "2 h ago", "4 d ago". Changes at most once
/// a minute, so an idle dashboard sends (almost) nothing over SSH.
pub fn ago(now: SystemTime, then: SystemTime) -> String {
    let s = now.duration_since(then).unwrap_or_default().as_secs();
    match s {
        0..=59 => "just now".to_owned(),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOK: crate::theme::Look = crate::theme::Look {
        color: false,
        ascii: false,
    };

    #[test]
    fn wrap_keeps_to_its_line_count() {
        let s = "one two three four five six seven";
        assert_eq!(wrap(s, 10, 1, LOOK), ["one two t…"]);
        assert_eq!(wrap(s, 10, 2, LOOK), ["one two", "three fou…"]);
        assert_eq!(wrap(s, 10, 9, LOOK).len(), 4);
        for n in 1..5 {
            assert!(wrap(s, 10, n, LOOK).len() <= n, "{n}");
        }
    }
}
