//! Turning what a plugin returned into a trusted [`Report`] or an UNKNOWN reason.
//!
//! Split in two steps so the isolated probe host can do the first one: [`decode`] checks the
//! return code, the size cap and UTF-8 (so only valid text ever crosses the pipe), and
//! [`parse`] checks JSON and the schema.

use crate::types::RunError;
use patchdeck_probe_api::Report;
use patchdeck_probe_api::abi::{PD_CANCELLED, PD_ERROR, PD_OK, PD_PANIC};

/// Reports larger than this become UNKNOWN.
pub const MAX_REPORT_BYTES: usize = 1024 * 1024;
/// Error messages from plugins are cut to this many bytes.
const MAX_MESSAGE_BYTES: usize = 4096;

/// Checks a `check` return code and its bytes; `Ok` holds the report text.
pub fn decode(code: i32, bytes: Vec<u8>) -> Result<String, RunError> {
    match code {
        PD_OK => {
            if bytes.len() > MAX_REPORT_BYTES {
                return Err(RunError::TooLarge {
                    bytes: bytes.len(),
                    limit: human_bytes(MAX_REPORT_BYTES),
                });
            }
            String::from_utf8(bytes).map_err(|e| RunError::BadUtf8(e.utf8_error().valid_up_to()))
        }
        PD_ERROR => Err(RunError::Failed(message(&bytes, "no message"))),
        PD_CANCELLED => Err(RunError::Cancelled),
        PD_PANIC => Err(RunError::Panicked(message(&bytes, "no message"))),
        other => Err(RunError::UnknownCode(other)),
    }
}

/// Parses report text (already size- and UTF-8-checked by [`decode`]). Sibling items with the
/// same id get "#2", "#3"... appended: every item is one series, one history cause, one row,
/// whatever a plugin sends.
pub fn parse(text: &str) -> Result<Report, String> {
    let mut r = parse_raw(text)?;
    unique_ids(&mut r.items);
    Ok(r)
}

fn unique_ids(items: &mut [patchdeck_probe_api::Item]) {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for it in items.iter_mut() {
        let n = seen.entry(it.id.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            let mut k = *n;
            let mut id = format!("{}#{k}", it.id);
            while seen.contains_key(&id) {
                k += 1;
                id = format!("{}#{k}", it.id);
            }
            seen.insert(id.clone(), 1);
            it.id = id;
        }
        unique_ids(&mut it.items);
    }
}

fn parse_raw(text: &str) -> Result<Report, String> {
    serde_json::from_str::<Report>(text).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                // Never preview text that holds a secret: redact first, and if anything was
                // redacted show no preview at all (a cut or escaped secret would slip by).
                if crate::sanitize::redact(text) != text {
                    format!("report is not valid JSON: {e} (it contains a secret: not shown)")
                } else {
                    format!(
                        "report is not valid JSON: {e} (starts with {})",
                        preview(text)
                    )
                }
            }
            Category::Data => {
                if e.to_string().contains("unknown variant") {
                    format!("report has an invalid status: {e}")
                } else {
                    format!("report does not match schema v1: {e}")
                }
            }
        }
    })
}

/// A message from plugin bytes: lossy UTF-8, trimmed, capped.
pub fn message(bytes: &[u8], empty: &str) -> String {
    let cut = &bytes[..bytes.len().min(MAX_MESSAGE_BYTES)];
    let text = String::from_utf8_lossy(cut);
    let text = text.trim();
    if text.is_empty() {
        empty.to_owned()
    } else {
        text.to_owned()
    }
}

/// The first bytes of some text, escaped for a one-line message.
pub fn preview(text: &str) -> String {
    let head: String = text.chars().take(40).collect();
    let mut s = format!("{head:?}");
    if text.chars().count() > 40 {
        s.push('…');
    }
    s
}

fn human_bytes(n: usize) -> String {
    if n.is_multiple_of(1024 * 1024) {
        format!("{} MiB", n / (1024 * 1024))
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchdeck_probe_api::Status;

    #[test]
    fn each_bad_report_has_its_own_reason() {
        assert_eq!(
            decode(PD_OK, vec![b'x'; MAX_REPORT_BYTES + 1])
                .unwrap_err()
                .to_string(),
            "report too large: 1048577 bytes, over the 1 MiB limit"
        );
        assert_eq!(
            decode(PD_OK, b"ab\xffcd".to_vec()).unwrap_err().to_string(),
            "report is not valid UTF-8 (invalid byte at offset 2)"
        );
        assert_eq!(
            decode(PD_ERROR, b"  no route  ".to_vec())
                .unwrap_err()
                .to_string(),
            "probe failed: no route"
        );
        assert_eq!(
            decode(PD_PANIC, vec![]).unwrap_err().to_string(),
            "probe panicked: no message"
        );
        assert_eq!(
            decode(7, vec![]).unwrap_err().to_string(),
            "probe returned an unknown code 7 (expected 0, -1, -2 or -3)"
        );
        assert!(
            parse("{not json")
                .unwrap_err()
                .starts_with("report is not valid JSON: ")
        );
        assert!(
            parse(r#"{"status":"fine"}"#)
                .unwrap_err()
                .starts_with("report has an invalid status: unknown variant `fine`")
        );
        assert!(
            parse(r#"{"summary":"x"}"#)
                .unwrap_err()
                .contains("missing field `status`")
        );
        assert_eq!(
            parse(r#"{"status":"ok","new":1}"#).unwrap().status,
            Status::Ok
        );
    }

    #[test]
    fn duplicate_sibling_item_ids_are_made_unique() {
        let r = parse(
            r#"{"status":"critical","items":[{"id":"DP01","status":"ok"},{"id":"DP01","status":"critical"},{"id":"DP01#2","status":"ok"},{"id":"x","status":"ok","items":[{"id":"a","status":"ok"},{"id":"a","status":"ok"}]}]}"#,
        )
        .unwrap();
        let ids: Vec<&str> = r.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["DP01", "DP01#2", "DP01#2#2", "x"]);
        assert_eq!(r.items[3].items[1].id, "a#2");
    }
}
