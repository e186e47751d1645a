//! `GET /` of `serve`: a read-only page for the people who never open SSH. Server-rendered
//! HTML (rendered once per change, like every other body), no framework: the probes, the
//! problems with what was seen and the fix, and recent events. `/app.js` (a few lines) swaps
//! in a fresh page when `/api/v1/changes` says something changed; without JavaScript the page
//! reloads itself every 60 s.
//!
//! Everything from a plugin is text: escaped for HTML and cleaned of terminal controls, and a
//! Content-Security-Policy that allows only this server's own script and style makes a
//! mistake in escaping harmless.

use patchdeck_core::store::{ProbeState, State};
use patchdeck_probe_api::{Item, Status};
use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// The page's Content-Security-Policy: nothing but this server's script, style and stream.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Problems listed on the page at most (the rest are counted).
const MAX_PROBLEMS: usize = 200;
/// Events listed.
const MAX_EVENTS: usize = 50;

pub const SCRIPT: &str = r#"// patchdeck: swap in a fresh page when serve says something changed.
(function () {
  if (!window.EventSource || !window.fetch) return;
  var busy = false;
  var changes = new EventSource("/api/v1/changes");
  changes.onmessage = function () {
    if (busy) return;
    busy = true;
    fetch("/", { cache: "no-store" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        if (next) document.querySelector("main").replaceWith(next);
        var root = document.documentElement;
        root.dataset.live = "yes";
        root.dataset.swaps = String(Number(root.dataset.swaps || "0") + 1);
      })
      .finally(function () { busy = false; });
  };
  document.documentElement.dataset.live = "yes";
})();
"#;

pub const STYLE: &str = "body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:72rem;\
padding:0 1rem;color:#111;background:#fff}h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:2rem}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;vertical-align:top;\
padding:.3rem .5rem;border-bottom:1px solid #ddd}.s{font-weight:bold;white-space:nowrap}\
.ok{color:#176c2a}.warning{color:#8a5a00}.critical{color:#b00020}.unknown{color:#555}\
.pending{color:#555}.fix{margin:.2rem 0 0}.seen{margin:.2rem 0 0;color:#333}\
.meta{color:#555;font-size:.9rem}code{word-break:break-all}";

/// `&`, `<`, `>`, `"` and `'` escaped, terminal controls and bidi overrides cleaned.
fn esc(s: &str) -> String {
    let clean = patchdeck_core::sanitize::text(s);
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped text whose http(s) addresses are links (whole, so they can be followed).
fn linked(s: &str) -> String {
    let mut out = String::new();
    for (i, word) in s.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let trimmed = word.trim_end_matches(['.', ',', ')', ';', ':']);
        let tail = &word[trimmed.len()..];
        if (trimmed.starts_with("http://") || trimmed.starts_with("https://"))
            && !trimmed.contains(['"', '<', '>', '\''])
        {
            let _ = write!(
                out,
                "<a href=\"{0}\" rel=\"noreferrer\">{0}</a>{1}",
                esc(trimmed),
                esc(tail)
            );
        } else {
            out.push_str(&esc(word));
        }
    }
    out
}

fn class(status: Option<Status>) -> &'static str {
    match status {
        Some(Status::Ok) => "ok",
        Some(Status::Warning) => "warning",
        Some(Status::Critical) => "critical",
        Some(Status::Unknown) => "unknown",
        None => "pending",
    }
}

fn word(status: Option<Status>) -> &'static str {
    match status {
        Some(s) => s.as_str(),
        None => "pending",
    }
}

fn utc(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    jiff::Timestamp::from_second(secs as i64)
        .map(|ts| ts.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// A non-OK item and where it is, for the problems list.
struct Problem<'a> {
    probe: &'a str,
    path: String,
    status: Status,
    summary: &'a str,
    evidence: Option<&'a str>,
    fix: Option<&'a str>,
}

fn problems<'a>(probe: &'a str, items: &'a [Item], prefix: &str, out: &mut Vec<Problem<'a>>) {
    for i in items {
        if i.status == Status::Ok {
            continue;
        }
        let name = if i.title.is_empty() { &i.id } else { &i.title };
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix} › {name}")
        };
        // The deepest non-OK items say what is wrong; a parent only when none below does.
        let before = out.len();
        problems(probe, &i.items, &path, out);
        if out.len() == before {
            out.push(Problem {
                probe,
                path,
                status: i.status,
                summary: &i.summary,
                evidence: i.evidence.as_deref(),
                fix: i.fix.as_deref(),
            });
        }
    }
}

/// The whole page for the state of the moment.
pub fn page(st: &State, site: Option<&str>, now: SystemTime) -> String {
    let mut h = String::with_capacity(16 * 1024);
    let title = match site {
        Some(s) => format!("patchdeck · {}", esc(s)),
        None => "patchdeck".to_owned(),
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<noscript><meta http-equiv=\"refresh\" content=\"60\"></noscript>\
<title>{title}</title><link rel=\"stylesheet\" href=\"/app.css\">\
<script src=\"/app.js\" defer></script></head><body><main>"
    );
    let counts = st.counts();
    let _ = write!(
        h,
        "<h1>{title}</h1><p class=\"meta\" id=\"summary\">{} ok · {} warning · {} critical · {} unknown · \
updated {}{}</p>",
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        utc(now),
        if st.paused {
            " · <strong>paused</strong>"
        } else {
            ""
        }
    );

    // Problems, worst first.
    let mut list = Vec::new();
    let mut bad: Vec<&ProbeState> = st
        .probes
        .iter()
        .filter(|p| p.status().is_some_and(|s| s != Status::Ok))
        .collect();
    bad.sort_by_key(|p| std::cmp::Reverse(p.status().map_or(0, |s| s.severity())));
    for p in &bad {
        let Some(r) = &p.latest else { continue };
        let before = list.len();
        if let Some(rep) = &r.report {
            problems(&p.meta.id, &rep.items, "", &mut list);
        }
        if list.len() == before {
            // No item says why: the probe's own summary is the problem.
            list.push(Problem {
                probe: &p.meta.id,
                path: String::new(),
                status: r.status,
                summary: &r.summary,
                evidence: r.error.as_deref(),
                fix: None,
            });
        }
    }
    list.sort_by_key(|q| std::cmp::Reverse(q.status.severity()));
    let _ = write!(h, "<h2 id=\"problems\">Problems ({})</h2>", list.len());
    if list.is_empty() {
        h.push_str("<p class=\"ok\">Nothing is wrong.</p>");
    } else {
        h.push_str("<table><tbody>");
        for q in list.iter().take(MAX_PROBLEMS) {
            let s = Some(q.status);
            let _ = write!(
                h,
                "<tr class=\"problem\"><td class=\"s {}\">{}</td><td><b>{}</b>{}{}: {}",
                class(s),
                word(s),
                esc(q.probe),
                if q.path.is_empty() { "" } else { " › " },
                esc(&q.path),
                esc(q.summary)
            );
            if let Some(e) = q.evidence.filter(|e| *e != q.summary) {
                let _ = write!(h, "<p class=\"seen\">Seen: {}</p>", esc(e));
            }
            if let Some(f) = q.fix {
                let _ = write!(h, "<p class=\"fix\">Fix: {}</p>", linked(f));
            }
            h.push_str("</td></tr>");
        }
        h.push_str("</tbody></table>");
        if list.len() > MAX_PROBLEMS {
            let _ = write!(
                h,
                "<p class=\"meta\">… and {} more (patchdeck check lists them all)</p>",
                list.len() - MAX_PROBLEMS
            );
        }
    }

    h.push_str(
        "<h2 id=\"probes\">Probes</h2><table><thead><tr><th>status</th><th>probe</th>\
<th>summary</th><th>last run</th><th>next run</th></tr></thead><tbody>",
    );
    for p in &st.probes {
        let s = p.status();
        let _ = write!(
            h,
            "<tr class=\"probe\"><td class=\"s {}\">{}</td><td>{} <span class=\"meta\">({})</span></td>\
<td>{}</td><td class=\"meta\">{}</td><td class=\"meta\">{}</td></tr>",
            class(s),
            word(s),
            esc(&p.meta.id),
            esc(&p.meta.kind),
            p.latest.as_ref().map_or(String::new(), |r| esc(&r.summary)),
            p.latest
                .as_ref()
                .map_or("not yet".to_owned(), |r| utc(r.started_at + r.duration)),
            if p.running {
                "running".to_owned()
            } else {
                p.next_run.map_or("paused".to_owned(), utc)
            }
        );
    }
    h.push_str("</tbody></table>");

    h.push_str("<h2 id=\"events\">Recent events</h2>");
    if st.transitions.is_empty() {
        h.push_str("<p class=\"meta\">None yet.</p>");
    } else {
        h.push_str("<table><tbody>");
        for t in st.transitions.iter().rev().take(MAX_EVENTS) {
            let _ = write!(
                h,
                "<tr class=\"event\"><td class=\"meta\">{}</td><td>{}</td><td class=\"s {}\">{} → {}</td><td>{}</td></tr>",
                utc(t.at),
                esc(&t.probe),
                class(Some(t.to)),
                word(t.from),
                word(Some(t.to)),
                esc(&t.summary)
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("<p class=\"meta\">Read-only. Operators: <code>patchdeck</code> over SSH attaches to this serve.</p></main></body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_become_links_and_nothing_else_does() {
        assert_eq!(
            linked("see https://a.example/x?y=1&z=2."),
            "see <a href=\"https://a.example/x?y=1&amp;z=2\" rel=\"noreferrer\">https://a.example/x?y=1&amp;z=2</a>."
        );
        // A quote would end the attribute: such a word stays text.
        let evil = linked("https://a.example/\"onmouseover=alert(1)");
        assert!(!evil.contains("<a"), "{evil}");
        assert!(evil.contains("&quot;onmouseover"), "{evil}");
        assert_eq!(linked("javascript:alert(1)"), "javascript:alert(1)");
        assert_eq!(esc("<b>&'\"\u{1b}[2J"), "&lt;b&gt;&amp;&#39;&quot;\\x1b[2J");
    }
}
