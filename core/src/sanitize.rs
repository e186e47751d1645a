//! Text from a plugin, a server, an export or the config is untrusted: before it reaches a
//! terminal (stdout, stderr) or the log, control characters and bidirectional overrides are
//! shown escaped, so nothing can move the cursor, clear the screen, write the clipboard
//! (OSC 52), ring the bell or reorder what the operator reads. Everything else is unchanged.
//!
//! Escaped: C0 controls (U+0000-U+001F) except a line feed where lines are allowed, DEL
//! (U+007F), C1 controls (U+0080-U+009F), and the bidi formatting characters U+061C,
//! U+200E, U+200F, U+202A-U+202E, U+2066-U+2069. As `\x1b` below U+0100, else `\u{202e}`.

use std::borrow::Cow;
use std::sync::RwLock;

/// Every resolved secret of the loaded config: redacted from whatever leaves through
/// [`Writer`] (the log, stderr) and from every result a plugin returns
/// ([`redact`]). A plugin may echo its config in an error ("unknown variant `S3CR3T`").
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Secrets shorter than this are not redacted: a two-letter "secret" would shred every
/// message. Such a value is no secret anyway.
const MIN_SECRET_LEN: usize = 4;

/// Adds secrets to redact everywhere (kept for the life of the process).
pub fn register_secrets<'a>(secrets: impl IntoIterator<Item = &'a String>) {
    let mut all = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    for s in secrets {
        // The secret, and the escaped forms a plugin or a message may carry it in (JSON,
        // Rust's escape_debug): redaction must match every one of them.
        let json = serde_json::to_string(s).unwrap_or_default();
        let forms = [
            s.clone(),
            json.trim_matches('"').to_owned(),
            s.escape_debug().to_string(),
        ];
        for f in forms {
            if f.len() >= MIN_SECRET_LEN && !all.contains(&f) {
                all.push(f);
            }
        }
    }
    // Longest first, so a secret containing another is replaced whole.
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `s` with every registered secret replaced by [`REDACTED`].
pub fn redact(s: &str) -> Cow<'_, str> {
    let all = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    if !all.iter().any(|x| s.contains(x.as_str())) {
        return Cow::Borrowed(s);
    }
    let mut out = s.to_owned();
    for x in all.iter() {
        out = out.replace(x.as_str(), REDACTED);
    }
    Cow::Owned(out)
}

/// Redacts secrets in place in an owned string (no copy when there is nothing to redact).
pub fn redact_in_place(s: &mut String) {
    if let Cow::Owned(r) = redact(s) {
        *s = r;
    }
}

/// True for a character that must never reach a terminal raw.
pub fn is_hostile(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{61c}' | '\u{200e}' | '\u{200f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escape(c: char, out: &mut String) {
    let n = u32::from(c);
    if n < 0x100 {
        out.push_str(&format!("\\x{n:02x}"));
    } else {
        out.push_str(&format!("\\u{{{n:x}}}"));
    }
}

fn clean(s: &str, keep_newline: bool) -> Cow<'_, str> {
    if !s
        .chars()
        .any(|c| is_hostile(c) && !(keep_newline && c == '\n'))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_hostile(c) && !(keep_newline && c == '\n') {
            escape(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text that may span lines (error messages): everything hostile escaped but `\n`.
pub fn text(s: &str) -> Cow<'_, str> {
    clean(s, true)
}

/// One line (a table cell, a Nagios status line): `\n` escaped too.
pub fn line(s: &str) -> Cow<'_, str> {
    clean(s, false)
}

/// JSON text made terminal-safe by JSON's own rules: C1 controls, DEL and bidi characters
/// (which JSON allows raw) become `\uXXXX` escapes. serde_json already escapes C0. Only string
/// contents can hold such characters, so the document stays valid and means the same.
pub fn json(doc: String) -> String {
    // A raw line feed can only be pretty-printing between tokens: serde escapes it in strings.
    let hostile = |c: char| c != '\n' && is_hostile(c);
    if !doc.chars().any(hostile) {
        return doc;
    }
    let mut out = String::with_capacity(doc.len() + 16);
    for c in doc.chars() {
        if hostile(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// A writer (the log file, stderr) that escapes hostile characters in everything written
/// through it, keeping line feeds: a log line can never carry a terminal escape to whoever
/// `tail`s the log. tracing formats each event into one buffer before writing, so a
/// character is never split across two writes in practice; if one were, it would show as
/// U+FFFD, never raw.
#[derive(Debug)]
pub struct Writer<W>(pub W);

impl<W: std::io::Write> std::io::Write for Writer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let s = String::from_utf8_lossy(buf);
        let s = redact(&s);
        self.0.write_all(text(&s).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_characters_are_shown_escaped_and_the_rest_untouched() {
        let evil = "a\u{1b}[2Jb\u{1b}]52;c;SGVsbG8=\u{7}c\u{9b}d\u{202e}e\rf\tg\nh";
        assert_eq!(
            line(evil),
            "a\\x1b[2Jb\\x1b]52;c;SGVsbG8=\\x07c\\x9bd\\u{202e}e\\x0df\\x09g\\x0ah"
        );
        assert_eq!(text("ok\nstill ok · é 中"), "ok\nstill ok · é 中");
        assert!(matches!(text("plain"), Cow::Borrowed(_)));
        assert_eq!(text("x\u{2066}y\u{7f}"), "x\\u{2066}y\\x7f");
    }

    #[test]
    fn the_log_writer_escapes_what_passes_through() {
        use std::io::Write;
        let mut w = Writer(Vec::new());
        w.write_all("plugin said \u{1b}]52;c;AAAA\u{7}\n".as_bytes())
            .unwrap();
        assert_eq!(
            String::from_utf8(w.0).unwrap(),
            "plugin said \\x1b]52;c;AAAA\\x07\n"
        );
    }

    #[test]
    fn registered_secrets_are_redacted_longest_first() {
        register_secrets(&[
            "hunter2-long-Secret".to_owned(),
            "hunter2".to_owned(),
            "ab".to_owned(),
        ]);
        assert_eq!(
            redact("unknown variant `hunter2-long-Secret`, also hunter2, ab stays"),
            "unknown variant `<redacted>`, also <redacted>, ab stays"
        );
        assert!(matches!(redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_stays_valid_and_means_the_same() {
        let v = serde_json::json!({"s": "a\u{1b}b\u{85}c\u{202e}d"});
        let doc = json(serde_json::to_string_pretty(&v).unwrap());
        assert!(!doc.chars().any(|c| c != '\n' && is_hostile(c)), "{doc}");
        let back: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(back, v);
    }
}
