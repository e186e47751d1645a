//! The bits probe's I/O: what each distribution point answers to the requests BITS makes.

use patchdeck_kit::http::{Http, HttpError, Resp};

/// One HTTP exchange, reduced to what the judge needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub ms: f64,
    pub content_length: Option<u64>,
    pub content_range: Option<String>,
    /// Bytes of body received, and whether it was cut at the cap.
    pub body_len: u64,
    pub truncated: bool,
    /// The schemes of every WWW-Authenticate header.
    pub auth: Vec<String>,
    /// What logging in did (Anonymous without credentials).
    pub login: patchdeck_kit::auth::Outcome,
}

impl Answer {
    pub fn from(r: &Resp) -> Answer {
        Answer {
            status: r.status,
            ms: r.elapsed.as_secs_f64() * 1000.0,
            content_length: r
                .header("Content-Length")
                .and_then(|v| v.trim().parse().ok()),
            content_range: r.header("Content-Range").map(|v| v.trim().to_owned()),
            body_len: r.body.len() as u64,
            truncated: r.truncated,
            auth: r
                .header_all("WWW-Authenticate")
                .iter()
                .filter_map(|v| v.split_whitespace().next())
                .map(str::to_owned)
                .collect(),
            login: r.auth.clone(),
        }
    }
}

/// What one DP answered: HEAD, the ranged GET (when HEAD gave a size) and PROPFIND.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub url: String,
    pub head: Result<Answer, HttpError>,
    /// The byte range asked for (first, last) and the answer.
    pub range: Option<((u64, u64), Result<Answer, HttpError>)>,
    pub propfind: Option<Result<Answer, HttpError>>,
}

/// The folder of a content URL (for PROPFIND).
pub fn folder_of(url: &str) -> &str {
    match url.rfind('/') {
        Some(i) if i + 1 < url.len() => &url[..=i],
        _ => url,
    }
}

/// A middle range of the file, as BITS asks when it resumes.
pub fn middle(n: u64) -> (u64, u64) {
    if n >= 2048 {
        (n / 2 - 512, n / 2 + 511)
    } else {
        (0, n.saturating_sub(1))
    }
}

pub fn gather(http: &Http, url: &str, webdav: bool) -> Seen {
    let head = http.head(url).map(|r| Answer::from(&r));
    let range = match &head {
        Ok(h) if h.status == 200 && h.content_length.is_some_and(|n| n > 0) => {
            let (a, b) = middle(h.content_length.unwrap_or(0));
            let want = format!("bytes={a}-{b}");
            let cap = usize::try_from(b - a + 2).unwrap_or(usize::MAX);
            let r = http
                .request("GET", url, &[("Range", &want)], None, cap)
                .map(|r| Answer::from(&r));
            Some(((a, b), r))
        }
        _ => None,
    };
    // No PROPFIND once HEAD got no HTTP answer: it would say nothing new.
    let propfind = (webdav && head.is_ok()).then(|| {
        http.request(
            "PROPFIND",
            folder_of(url),
            &[("Depth", "1"), ("Content-Length", "0")],
            None,
            64 * 1024,
        )
        .map(|r| Answer::from(&r))
    });
    Seen {
        url: url.to_owned(),
        head,
        range,
        propfind,
    }
}
