//! Fitting text into cells: shared by `update` (how many rows a screen has) and `view`.

/// Word-wraps to `width` columns in at most `max_lines` lines; the last line is cut with an
/// ellipsis when the text does not fit. Words longer than a line are cut.
pub fn wrap(s: &str, width: usize, max_lines: usize, look: crate::model::Look) -> Vec<String> {
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
pub fn fit(s: &str, width: usize, look: crate::model::Look) -> String {
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
