//! OSC 8 hyperlinks for the URLs on screen: a terminal that knows them (most current ones;
//! others ignore the sequence) lets the operator click a page instead of copying it.
//!
//! ratatui writes cells, not escape sequences, so the links are found in the rendered frame
//! and written here: ratatui is told to leave those cells alone (`Skip`), and a link is written
//! whole — opened on its first cell, closed on its last — whenever it is new or its cells
//! changed. Only whole URLs get a link: one cut by the screen's edge, a border or an ellipsis
//! would take the operator somewhere else.
//!
//! The URL written into the sequence is the text on screen, which is already sanitised, and
//! only URL characters (RFC 3986, ASCII) are taken: no escape or control byte can reach the
//! terminal through it, and it is never longer than the screen is wide.

use ratatui::buffer::{Buffer, Cell, CellDiffOption};

/// A whole URL drawn at (`x`, `y`), one cell per character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub x: u16,
    pub y: u16,
    pub url: String,
}

impl Link {
    fn width(&self) -> u16 {
        self.url.len() as u16
    }

    fn positions(&self) -> impl Iterator<Item = (u16, u16)> + '_ {
        (self.x..self.x + self.width()).map(|x| (x, self.y))
    }
}

/// RFC 3986's unreserved and reserved characters, and '%'.
fn url_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c)
}

/// The cell's one ASCII character, if it holds exactly one.
fn single(cell: &Cell) -> Option<char> {
    let mut it = cell.symbol().chars();
    match (it.next(), it.next()) {
        (Some(c), None) if c.is_ascii() => Some(c),
        _ => None,
    }
}

/// The whole URLs in `buf`.
pub fn find(buf: &Buffer) -> Vec<Link> {
    let area = buf.area;
    let mut links = Vec::new();
    for y in area.top()..area.bottom() {
        let row: Vec<Option<char>> = (area.left()..area.right())
            .map(|x| single(&buf[(x, y)]))
            .collect();
        let mut i = 0;
        while i < row.len() {
            let starts = |p: &str| {
                p.chars()
                    .enumerate()
                    .all(|(k, c)| row.get(i + k).copied().flatten() == Some(c))
            };
            let after_word = i == 0 || !row[i - 1].is_some_and(|c| c.is_ascii_alphanumeric());
            if !(after_word && (starts("http://") || starts("https://"))) {
                i += 1;
                continue;
            }
            let mut end = i;
            while end < row.len() && row[end].is_some_and(url_char) {
                end += 1;
            }
            let next = i.max(end);
            // Cut by the edge, a border or an ellipsis: not the whole URL.
            let whole = end < row.len()
                && buf[(area.left() + end as u16, y)]
                    .symbol()
                    .chars()
                    .next()
                    .is_some_and(|c| !matches!(c, '…' | '\u{2500}'..='\u{257f}'));
            if whole {
                let mut url: String = row[i..end].iter().map(|c| c.expect("a char")).collect();
                trim_end(&mut url);
                if url.len() > "https://".len() {
                    links.push(Link {
                        x: area.left() + i as u16,
                        y,
                        url,
                    });
                }
            }
            i = next + 1;
        }
    }
    links
}

/// Trailing punctuation belongs to the sentence, an unbalanced ')' or ']' to the text around.
fn trim_end(url: &mut String) {
    loop {
        let Some(last) = url.chars().last() else {
            return;
        };
        let unbalanced = |open: char, close: char| {
            last == close && url.matches(open).count() < url.matches(close).count()
        };
        if ".,;:!?'".contains(last) || unbalanced('(', ')') || unbalanced('[', ']') {
            url.pop();
        } else {
            return;
        }
    }
}

/// The buffer ratatui sends: link cells are left to [`cells`] (ratatui skips them), and the
/// cells of a link that is gone are written again, so none keeps a stale link.
pub fn hand_over(buf: &mut Buffer, now: &[Link], before: &[Link]) {
    for l in before.iter().filter(|l| !now.contains(l)) {
        // A link of a larger frame (the terminal shrank) has no cells left to rewrite.
        for p in l.positions() {
            if let Some(cell) = buf.cell_mut(p) {
                cell.set_diff_option(CellDiffOption::AlwaysUpdate);
            }
        }
    }
    for l in now {
        for p in l.positions() {
            buf[p].set_diff_option(CellDiffOption::Skip);
        }
    }
}

/// The links to write: all after a resize or the first frame, else the new ones and those
/// whose cells changed (a selection moved over them, a new colour).
pub fn to_write<'a>(
    now: &'a [Link],
    before: &[Link],
    last: Option<&Buffer>,
    buf: &Buffer,
) -> Vec<&'a Link> {
    now.iter()
        .filter(|l| match last {
            Some(last) if last.area == buf.area && before.contains(l) => {
                l.positions().any(|p| last[p] != buf[p])
            }
            _ => true,
        })
        .collect()
}

/// `link`'s cells as drawn, the first opening the hyperlink and the last closing it.
pub fn cells(link: &Link, buf: &Buffer) -> Vec<(u16, u16, Cell)> {
    let mut out: Vec<(u16, u16, Cell)> = link
        .positions()
        .map(|(x, y)| {
            let mut c = buf[(x, y)].clone();
            c.set_diff_option(CellDiffOption::None);
            (x, y, c)
        })
        .collect();
    if let Some((_, _, first)) = out.first_mut() {
        let s = format!("\x1b]8;;{}\x1b\\{}", link.url, first.symbol());
        first.set_symbol(&s);
    }
    if let Some((_, _, last)) = out.last_mut() {
        let s = format!("{}\x1b]8;;\x1b\\", last.symbol());
        last.set_symbol(&s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::{Color, Style};

    fn buf(rows: &[&str]) -> Buffer {
        let w = rows.iter().map(|r| r.chars().count()).max().unwrap_or(0) as u16;
        let mut b = Buffer::empty(Rect::new(0, 0, w, rows.len() as u16));
        for (y, r) in rows.iter().enumerate() {
            b.set_string(0, y as u16, r, Style::default());
        }
        b
    }

    fn urls(b: &Buffer) -> Vec<(u16, u16, String)> {
        find(b).into_iter().map(|l| (l.x, l.y, l.url)).collect()
    }

    #[test]
    fn whole_urls_are_found_and_cut_ones_are_not() {
        let b = buf(&[
            "Fix: see https://learn.microsoft.com/x(v=ws.10). Then     ",
            "http://127.0.0.1:8530/ClientWebService/client.asmx        ",
            "│cut https://systemscenter.ru/smsv4.en/html/9647358a-d80b│",
            "cut by an ellipsis: http://systemscenter.ru/smsv4.en/h…   ",
            // The widest row: the URL runs into the screen's edge.
            "at the edge: http://systemscenter.ru/smsv4.en/html/x.htm/more/pages",
            "(quoted \"https://a.example/p?q=1&r=2\") xhttp://no.example ",
        ]);
        assert_eq!(
            urls(&b),
            vec![
                (9, 0, "https://learn.microsoft.com/x(v=ws.10)".to_owned()),
                (
                    0,
                    1,
                    "http://127.0.0.1:8530/ClientWebService/client.asmx".to_owned()
                ),
                (9, 5, "https://a.example/p?q=1&r=2".to_owned()),
            ]
        );
    }

    #[test]
    fn a_link_is_opened_on_its_first_cell_and_closed_on_its_last() {
        let b = buf(&["see http://a.example/x now"]);
        let l = &find(&b)[0];
        let c = cells(l, &b);
        assert_eq!(c.len(), "http://a.example/x".len());
        assert_eq!(c[0].2.symbol(), "\x1b]8;;http://a.example/x\x1b\\h");
        assert_eq!(c[c.len() - 1].2.symbol(), "x\x1b]8;;\x1b\\");
        assert!(
            c[1..c.len() - 1]
                .iter()
                .all(|(_, _, c)| c.symbol().len() == 1)
        );
        assert_eq!((c[0].0, c[0].1), (4, 0));
    }

    #[test]
    fn only_new_or_changed_links_are_written_again() {
        let before_buf = buf(&["see http://a.example/x now", "and http://b.example/y too"]);
        let before = find(&before_buf);
        // Nothing changed: nothing to write; ratatui skips the cells.
        assert!(to_write(&before, &before, Some(&before_buf), &before_buf).is_empty());
        // The first line's link is selected (its style changes): written again, alone.
        let mut now_buf = before_buf.clone();
        for x in 4..22 {
            now_buf[(x, 0)].set_style(Style::default().bg(Color::Blue));
        }
        let now = find(&now_buf);
        let w = to_write(&now, &before, Some(&before_buf), &now_buf);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].url, "http://a.example/x");
        // The first frame, or a resize: every link.
        assert_eq!(to_write(&now, &before, None, &now_buf).len(), 2);
        // A link that is gone has its cells written by ratatui again; current ones are skipped.
        let mut sent = now_buf.clone();
        hand_over(&mut sent, &now[1..], &before);
        assert_eq!(sent[(4, 0)].diff_option, CellDiffOption::AlwaysUpdate);
        assert_eq!(sent[(4, 1)].diff_option, CellDiffOption::Skip);
        assert_eq!(sent[(0, 1)].diff_option, CellDiffOption::None);
        // The terminal shrank: a link of the larger frame is off the new one, no panic.
        let mut small = buf(&["see"]);
        hand_over(&mut small, &[], &before);
        assert_eq!(small[(0, 0)].diff_option, CellDiffOption::None);
    }
}
