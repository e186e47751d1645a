//! The dashboard's keyboard and mouse input, decoded here rather than by crossterm's reader:
//! that one waits forever for the end of an escape sequence, so an unterminated `ESC [ <`
//! (SGR mouse) or `ESC [ 200~` reaching the terminal (line noise, a hostile program's output
//! echoed back, a paste) swallowed every later key, `q` and Ctrl-C included.
//!
//! Here an incomplete sequence is dropped once no byte follows for [`SEQUENCE_TIMEOUT`], a
//! control byte inside a sequence (Ctrl-C) still acts at once (ECMA-48 executes C0 controls
//! inside control sequences), overlong sequences are dropped, and bracketed paste, which the
//! dashboard never enables, is an unknown sequence like any other: nothing waits for its end.

use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use std::time::Duration;

/// How long an incomplete escape sequence (or a lone ESC) waits for its next byte. Terminals
/// send a sequence in one write; a lone ESC after this long is the Esc key.
pub const SEQUENCE_TIMEOUT: Duration = Duration::from_millis(50);

/// Longest escape sequence kept; anything longer is garbage and dropped.
const MAX_SEQUENCE: usize = 64;

/// Bytes in, events out; holds at most one incomplete sequence or character.
#[derive(Debug, Default)]
pub struct Decoder {
    /// An escape sequence or a UTF-8 character still incomplete.
    pending: Vec<u8>,
    /// Raw bytes still owed to an X10 mouse report (`ESC [ M b x y`).
    x10: Option<Vec<u8>>,
    /// Inside an overlong sequence already dropped: its remaining parameter bytes and its
    /// final byte are discarded too, never read as keys.
    discard: bool,
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Event {
    Event::Key(KeyEvent::new(code, modifiers))
}

/// xterm's modifier parameter: 1 + (shift 1, alt 2, ctrl 4).
fn modifiers(param: Option<u16>) -> KeyModifiers {
    let bits = param.unwrap_or(1).saturating_sub(1);
    let mut m = KeyModifiers::NONE;
    if bits & 1 != 0 {
        m |= KeyModifiers::SHIFT;
    }
    if bits & 2 != 0 {
        m |= KeyModifiers::ALT;
    }
    if bits & 4 != 0 {
        m |= KeyModifiers::CONTROL;
    }
    m
}

fn mouse(b: u16, column: u16, row: u16, release: bool) -> Option<Event> {
    let mut mods = KeyModifiers::NONE;
    if b & 4 != 0 {
        mods |= KeyModifiers::SHIFT;
    }
    if b & 8 != 0 {
        mods |= KeyModifiers::ALT;
    }
    if b & 16 != 0 {
        mods |= KeyModifiers::CONTROL;
    }
    let button = match b & 3 {
        0 => MouseButton::Left,
        1 => MouseButton::Middle,
        _ => MouseButton::Right,
    };
    let kind = if b & 64 != 0 {
        match b & 3 {
            0 => MouseEventKind::ScrollUp,
            1 => MouseEventKind::ScrollDown,
            2 => MouseEventKind::ScrollLeft,
            _ => MouseEventKind::ScrollRight,
        }
    } else if b & 32 != 0 {
        if b & 3 == 3 {
            MouseEventKind::Moved
        } else {
            MouseEventKind::Drag(button)
        }
    } else if release || b & 3 == 3 {
        MouseEventKind::Up(button)
    } else {
        MouseEventKind::Down(button)
    };
    Some(Event::Mouse(MouseEvent {
        kind,
        column,
        row,
        modifiers: mods,
    }))
}

/// A complete CSI sequence (`ESC [` params intermediates final) as an event, if it is one the
/// dashboard knows.
fn csi(seq: &[u8]) -> Option<Event> {
    let (&last, body) = seq[2..].split_last()?;
    let body = std::str::from_utf8(body).ok()?;
    if let Some(params) = body.strip_prefix('<') {
        // SGR mouse: ESC [ < b ; x ; y (M press | m release), 1-based cells.
        let mut it = params.split(';').map(|p| p.parse::<u16>().ok());
        let (b, x, y) = (it.next()??, it.next()??, it.next()??);
        if it.next().is_some() || !matches!(last, b'M' | b'm') {
            return None;
        }
        return mouse(b, x.saturating_sub(1), y.saturating_sub(1), last == b'm');
    }
    if body.bytes().any(|c| !(c.is_ascii_digit() || c == b';')) {
        return None;
    }
    let params: Vec<Option<u16>> = if body.is_empty() {
        Vec::new()
    } else {
        body.split(';').map(|p| p.parse().ok()).collect()
    };
    let first = params.first().copied().flatten();
    let mods = modifiers(params.get(1).copied().flatten());
    let code = match last {
        b'A' => KeyCode::Up,
        b'B' => KeyCode::Down,
        b'C' => KeyCode::Right,
        b'D' => KeyCode::Left,
        b'H' => KeyCode::Home,
        b'F' => KeyCode::End,
        b'Z' => return Some(key(KeyCode::BackTab, KeyModifiers::SHIFT)),
        b'~' => match first? {
            1 | 7 => KeyCode::Home,
            4 | 8 => KeyCode::End,
            2 => KeyCode::Insert,
            3 => KeyCode::Delete,
            5 => KeyCode::PageUp,
            6 => KeyCode::PageDown,
            n @ 11..=15 => KeyCode::F((n - 10) as u8),
            n @ 17..=21 => KeyCode::F((n - 11) as u8),
            n @ 23..=24 => KeyCode::F((n - 12) as u8),
            // 200~ / 201~ (bracketed paste, never enabled here) and the rest: ignored.
            _ => return None,
        },
        _ => return None,
    };
    Some(key(code, mods))
}

/// `ESC O x` (SS3): application-mode arrows, Home/End, F1-F4.
fn ss3(c: u8) -> Option<Event> {
    let code = match c {
        b'A' => KeyCode::Up,
        b'B' => KeyCode::Down,
        b'C' => KeyCode::Right,
        b'D' => KeyCode::Left,
        b'H' => KeyCode::Home,
        b'F' => KeyCode::End,
        b'P'..=b'S' => KeyCode::F(c - b'P' + 1),
        _ => return None,
    };
    Some(key(code, KeyModifiers::NONE))
}

/// A single control or ASCII byte as a key.
fn byte_key(b: u8) -> Option<Event> {
    Some(match b {
        b'\r' | b'\n' => key(KeyCode::Enter, KeyModifiers::NONE),
        b'\t' => key(KeyCode::Tab, KeyModifiers::NONE),
        0x7f | 0x08 => key(KeyCode::Backspace, KeyModifiers::NONE),
        0x01..=0x1a => key(KeyCode::Char((b'a' + b - 1) as char), KeyModifiers::CONTROL),
        0x20..=0x7e => key(KeyCode::Char(b as char), KeyModifiers::NONE),
        _ => return None,
    })
}

impl Decoder {
    /// An incomplete sequence is waiting: call [`Decoder::timeout`] if no byte comes within
    /// [`SEQUENCE_TIMEOUT`].
    pub fn pending(&self) -> bool {
        !self.pending.is_empty() || self.x10.is_some() || self.discard
    }

    /// No byte came for [`SEQUENCE_TIMEOUT`]: a lone ESC is the Esc key, anything else
    /// incomplete is dropped.
    pub fn timeout(&mut self, out: &mut Vec<Event>) {
        if self.pending == [0x1b] {
            out.push(key(KeyCode::Esc, KeyModifiers::NONE));
        }
        self.pending.clear();
        self.x10 = None;
        self.discard = false;
    }

    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Event>) {
        for &b in bytes {
            self.byte(b, out);
        }
    }

    fn byte(&mut self, b: u8, out: &mut Vec<Event>) {
        if let Some(x10) = &mut self.x10 {
            x10.push(b);
            if x10.len() == 3 {
                let (cb, cx, cy) = (x10[0], x10[1], x10[2]);
                self.x10 = None;
                let at = |c: u8| u16::from(c.saturating_sub(33));
                let release = cb.wrapping_sub(32) & 3 == 3;
                out.extend(mouse(
                    u16::from(cb.saturating_sub(32)),
                    at(cx),
                    at(cy),
                    release,
                ));
            }
            return;
        }
        if self.discard {
            match b {
                0x1b => {
                    self.discard = false;
                    self.pending.push(b);
                }
                0x00..=0x1f | 0x7f => out.extend(byte_key(b)),
                0x40..=0x7e => self.discard = false,
                _ => {}
            }
            return;
        }
        let Some(&first) = self.pending.first() else {
            match b {
                0x1b => self.pending.push(b),
                0x80.. => self.utf8(b, out),
                _ => out.extend(byte_key(b)),
            }
            return;
        };
        if first != 0x1b {
            return self.utf8(b, out);
        }
        // Inside an escape sequence.
        if b == 0x1b {
            // A new sequence starts: the old one was incomplete. ESC ESC: the first is Esc.
            if self.pending.len() == 1 {
                out.push(key(KeyCode::Esc, KeyModifiers::NONE));
            }
            self.pending.clear();
            self.pending.push(b);
            return;
        }
        if b < 0x20 || b == 0x7f {
            // C0 controls act at once, even inside a sequence: Ctrl-C always reaches us.
            out.extend(byte_key(b));
            return;
        }
        self.pending.push(b);
        let seq = &self.pending;
        match seq[1] {
            b'[' if seq.len() == 2 => {}
            b'[' => {
                if (0x40..=0x7e).contains(&b) {
                    let done = std::mem::take(&mut self.pending);
                    if done == b"\x1b[M" {
                        // X10 mouse: three raw bytes follow.
                        self.x10 = Some(Vec::with_capacity(3));
                    } else {
                        out.extend(csi(&done));
                    }
                } else if seq.len() > MAX_SEQUENCE {
                    self.pending.clear();
                    self.discard = true;
                }
            }
            b'O' if seq.len() == 2 => {}
            b'O' => {
                let done = std::mem::take(&mut self.pending);
                out.extend(ss3(done[2]));
            }
            _ => {
                // ESC + a key: Alt + that key (a UTF-8 lead byte: just the character).
                self.pending.clear();
                match byte_key(b) {
                    Some(Event::Key(mut k)) => {
                        k.modifiers |= KeyModifiers::ALT;
                        out.push(Event::Key(k));
                    }
                    _ => self.utf8(b, out),
                }
            }
        }
    }

    /// A byte of a UTF-8 character (printable text beyond ASCII).
    fn utf8(&mut self, b: u8, out: &mut Vec<Event>) {
        self.pending.push(b);
        match std::str::from_utf8(&self.pending) {
            Ok(s) => {
                out.extend(s.chars().map(|c| key(KeyCode::Char(c), KeyModifiers::NONE)));
                self.pending.clear();
            }
            Err(e) if e.error_len().is_none() && self.pending.len() < 4 => {}
            Err(_) => self.pending.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(chunks: &[&[u8]]) -> Vec<Event> {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for c in chunks {
            d.feed(c, &mut out);
        }
        out
    }

    fn k(code: KeyCode) -> Event {
        key(code, KeyModifiers::NONE)
    }

    #[test]
    fn keys_and_sequences_the_dashboard_uses() {
        assert_eq!(
            decode(&[b"q\r\t\x7f\x1b[A\x1b[B\x1b[5~\x1b[6~\x1bOH\x1b[F\x1b[Z\x1b[15~"]),
            vec![
                k(KeyCode::Char('q')),
                k(KeyCode::Enter),
                k(KeyCode::Tab),
                k(KeyCode::Backspace),
                k(KeyCode::Up),
                k(KeyCode::Down),
                k(KeyCode::PageUp),
                k(KeyCode::PageDown),
                k(KeyCode::Home),
                k(KeyCode::End),
                key(KeyCode::BackTab, KeyModifiers::SHIFT),
                k(KeyCode::F(5)),
            ]
        );
        assert_eq!(
            decode(&[b"\x03\x1b[1;5A", "é".as_bytes()]),
            vec![
                key(KeyCode::Char('c'), KeyModifiers::CONTROL),
                key(KeyCode::Up, KeyModifiers::CONTROL),
                k(KeyCode::Char('é')),
            ]
        );
        // Split across reads, as a slow link delivers them.
        assert_eq!(decode(&[b"\x1b", b"[", b"B"]), vec![k(KeyCode::Down)]);
    }

    #[test]
    fn mouse_reports_sgr_and_x10() {
        assert_eq!(
            decode(&[b"\x1b[<0;5;3M\x1b[<64;1;1M\x1b[<65;1;1M"]),
            vec![
                Event::Mouse(MouseEvent {
                    kind: MouseEventKind::Down(MouseButton::Left),
                    column: 4,
                    row: 2,
                    modifiers: KeyModifiers::NONE,
                }),
                Event::Mouse(MouseEvent {
                    kind: MouseEventKind::ScrollUp,
                    column: 0,
                    row: 0,
                    modifiers: KeyModifiers::NONE,
                }),
                Event::Mouse(MouseEvent {
                    kind: MouseEventKind::ScrollDown,
                    column: 0,
                    row: 0,
                    modifiers: KeyModifiers::NONE,
                }),
            ]
        );
        assert_eq!(
            decode(&[b"\x1b[M !!q"]),
            vec![
                Event::Mouse(MouseEvent {
                    kind: MouseEventKind::Down(MouseButton::Left),
                    column: 0,
                    row: 0,
                    modifiers: KeyModifiers::NONE,
                }),
                k(KeyCode::Char('q')),
            ]
        );
    }

    /// The stuck-input attack: nothing after an unterminated sequence may be lost for good.
    #[test]
    fn an_unterminated_sequence_never_swallows_what_follows() {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        // SGR mouse start, then Ctrl-C: Ctrl-C acts at once.
        d.feed(b"\x1b[<", &mut out);
        assert!(d.pending());
        d.feed(b"\x03", &mut out);
        assert_eq!(out, vec![key(KeyCode::Char('c'), KeyModifiers::CONTROL)]);
        // The time runs out: the sequence is dropped, the next `q` is a key.
        out.clear();
        d.timeout(&mut out);
        assert!(out.is_empty() && !d.pending());
        d.feed(b"q", &mut out);
        assert_eq!(out, vec![k(KeyCode::Char('q'))]);

        // Bracketed paste start (never enabled here): an unknown sequence, nothing waits for
        // its end.
        assert_eq!(decode(&[b"\x1b[200~q"]), vec![k(KeyCode::Char('q'))]);
        // A new ESC ends an incomplete sequence.
        assert_eq!(decode(&[b"\x1b[<1;2\x1b[A"]), vec![k(KeyCode::Up)]);
        // Overlong garbage is dropped, and what follows it is read.
        let mut long = b"\x1b[".to_vec();
        long.extend(std::iter::repeat_n(b'1', 500));
        let mut d = Decoder::default();
        let mut out = Vec::new();
        d.feed(&long, &mut out);
        assert!(out.is_empty(), "no digit leaks out as a key: {out:?}");
        d.timeout(&mut out);
        d.feed(b"q", &mut out);
        assert_eq!(out, vec![k(KeyCode::Char('q'))]);
    }

    #[test]
    fn a_lone_esc_is_the_esc_key_after_the_timeout() {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        d.feed(b"\x1b", &mut out);
        assert!(out.is_empty() && d.pending());
        d.timeout(&mut out);
        assert_eq!(out, vec![k(KeyCode::Esc)]);
        assert_eq!(
            decode(&[b"\x1b\x1b[A"]),
            vec![k(KeyCode::Esc), k(KeyCode::Up)]
        );
        assert_eq!(
            decode(&[b"\x1bq"]),
            vec![key(KeyCode::Char('q'), KeyModifiers::ALT)]
        );
    }
}
