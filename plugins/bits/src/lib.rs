//! `bits`: can BITS download package content from each distribution point? (domain.md 3)
//!
//! Per DP, on a content file URL (`http://dp01/SMS_DP_SMSPKGD%24/ABC00012/file.cab`):
//! - `HEAD` -> 200 with Content-Length (else BITS fails with 0x80200011 BG_E_MISSING_FILE_SIZE);
//! - a ranged `GET` of a middle range -> 206 with a matching Content-Range and exactly that many
//!   bytes (a 200 that ignores Range = 0x80200013 BG_E_INSUFFICIENT_RANGE_SUPPORT; 403 =
//!   0x80190193);
//! - `PROPFIND Depth: 1` on the package folder -> 207 (else a warning: a BITS-enabled DP needs
//!   IIS WebDAV).
//!
//! DPs are checked concurrently (`concurrency` at a time) within the call's deadline.

use patchdeck_kit::http::{Http, HttpError};
use patchdeck_kit::report::detail;
use patchdeck_kit::threshold;
use patchdeck_probe_api::sdk::{CheckContext, CheckError, Host, Probe};
use patchdeck_probe_api::{Detail, Item, Metric, Report, Status};
use serde::Deserialize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dp {
    pub name: String,
    pub url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub distribution_points: Vec<Dp>,
    #[serde(default = "patchdeck_kit::defaults::yes")]
    pub webdav: bool,
    #[serde(default = "eight")]
    pub concurrency: usize,
    #[serde(default = "patchdeck_kit::defaults::latency_warn_ms")]
    pub latency_warn_ms: u64,
    #[serde(default = "patchdeck_kit::defaults::latency_crit_ms")]
    pub latency_crit_ms: u64,
    #[serde(default)]
    pub tls_insecure: bool,
}

fn eight() -> usize {
    8
}

pub struct Bits {
    config: Config,
}

/// One DP's verdict: the item, and a short reason for the summary when it is not OK.
struct DpResult {
    item: Item,
    short: Option<String>,
}

fn worst(a: Status, b: Status) -> Status {
    a.worst(b)
}

/// The folder of a content URL (for PROPFIND).
fn folder_of(url: &str) -> &str {
    match url.rfind('/') {
        Some(i) if i + 1 < url.len() => &url[..=i],
        _ => url,
    }
}

/// What one DP's checks found so far.
struct Verdict {
    status: Status,
    /// The first problem, for the summary line.
    short: Option<String>,
    details: Vec<Detail>,
}

impl Verdict {
    fn ok(&mut self, label: &str, value: impl Into<String>) {
        self.details.push(detail(label, value, Some(Status::Ok)));
    }

    fn fail(&mut self, label: &str, status: Status, reason: impl Into<String>) {
        let reason = reason.into();
        self.status = worst(self.status, status);
        self.short.get_or_insert_with(|| reason.clone());
        self.details.push(detail(label, reason, Some(status)));
    }

    /// The DP's item: its first problem as the summary, or `ready` when there was none.
    fn finish(self, dp: &Dp, ready: String, metrics: Vec<Metric>) -> DpResult {
        let item = Item {
            id: dp.name.clone(),
            title: dp.name.clone(),
            status: self.status,
            summary: self.short.clone().unwrap_or(ready),
            details: self.details,
            metrics,
            items: vec![],
            evidence: None,
            fix: None,
        };
        DpResult {
            item,
            short: self.short,
        }
    }
}

fn check_dp(dp: &Dp, c: &Config, http: &Http) -> DpResult {
    let mut v = Verdict {
        status: Status::Ok,
        short: None,
        details: vec![detail("URL", &dp.url, None)],
    };
    let unreachable = |e: HttpError| format!("unreachable: {e}");

    // HEAD: BITS needs the size first.
    let head = match http.head(&dp.url) {
        Ok(r) => r,
        // Never tried: not a verdict about the DP.
        Err(HttpError::OutOfTime | HttpError::Cancelled) => {
            v.fail(
                "HEAD",
                Status::Unknown,
                "not checked: the probe's time ran out (raise `timeout` or `concurrency`)",
            );
            return v.finish(dp, String::new(), vec![]);
        }
        Err(e) => {
            v.fail("HEAD", Status::Critical, unreachable(e));
            return v.finish(dp, String::new(), vec![]);
        }
    };
    let ms = head.elapsed.as_secs_f64() * 1000.0;
    let size: Option<u64> = head
        .header("Content-Length")
        .and_then(|v| v.trim().parse().ok());
    match (head.status, size) {
        (200, Some(n)) => v.ok("HEAD", format!("200, Content-Length {n}")),
        (200, None) => v.fail(
            "HEAD",
            Status::Critical,
            "no Content-Length: BITS would fail with 0x80200011 BG_E_MISSING_FILE_SIZE",
        ),
        (403, _) => v.fail(
            "HEAD",
            Status::Critical,
            "HTTP 403: BITS would fail with 0x80190193",
        ),
        (404, _) => v.fail("HEAD", Status::Critical, "HTTP 404: content not on this DP"),
        (s, _) => v.fail("HEAD", Status::Critical, format!("HTTP {s} on HEAD")),
    }

    // A ranged GET from the middle of the file, as BITS resumes.
    if let (200, Some(n)) = (head.status, size) {
        let (a, b) = if n >= 2048 {
            (n / 2 - 512, n / 2 + 511)
        } else if n > 0 {
            (0, n - 1)
        } else {
            (0, 0)
        };
        if n > 0 {
            let range = format!("bytes={a}-{b}");
            match http.request("GET", &dp.url, &[("Range", &range)], None, (b - a + 1) as usize + 1) {
                Err(e) => v.fail("Range", Status::Critical, unreachable(e)),
                Ok(r) if r.status == 206 => {
                    let want = format!("bytes {a}-{b}/{n}");
                    let got = r.header("Content-Range").unwrap_or("").trim().to_owned();
                    let len = r.body.len() as u64;
                    if got != want {
                        v.fail("Range", Status::Critical, format!("206 with Content-Range \"{got}\", expected \"{want}\""));
                    } else if len != b - a + 1 || r.truncated {
                        v.fail("Range", Status::Critical, format!("206 with {len} bytes, expected {}", b - a + 1));
                    } else {
                        v.ok("Range", format!("206, {want}"));
                    }
                }
                Ok(r) if r.status == 200 => v.fail("Range", Status::Critical, "ignores Range (200 instead of 206): BITS would fail with 0x80200013 BG_E_INSUFFICIENT_RANGE_SUPPORT"),
                Ok(r) if r.status == 403 => v.fail("Range", Status::Critical, "HTTP 403 on a ranged GET: BITS would fail with 0x80190193"),
                Ok(r) => v.fail("Range", Status::Critical, format!("HTTP {} on a ranged GET", r.status)),
            }
        }
    }

    if c.webdav {
        let folder = folder_of(&dp.url);
        match http.request(
            "PROPFIND",
            folder,
            &[("Depth", "1"), ("Content-Length", "0")],
            None,
            64 * 1024,
        ) {
            Ok(r) if r.status == 207 => v.ok("WebDAV", "PROPFIND 207 Multi-Status"),
            Ok(r) => v.fail(
                "WebDAV",
                Status::Warning,
                format!(
                    "WebDAV not answering (PROPFIND HTTP {}): a BITS-enabled DP needs IIS WebDAV",
                    r.status
                ),
            ),
            Err(e) => v.fail(
                "WebDAV",
                Status::Warning,
                format!("WebDAV not answering: {e}"),
            ),
        }
    }

    let lat = threshold::latency(ms, c.latency_warn_ms, c.latency_crit_ms);
    if lat != Status::Ok {
        v.fail("Latency", lat, format!("slow: {ms:.0} ms"));
    }
    let latency = threshold::latency_metric("latency", ms, c.latency_warn_ms, c.latency_crit_ms);
    v.finish(dp, format!("BITS-ready · {ms:.0} ms"), vec![latency])
}

impl Bits {
    pub fn from_config(config: Config) -> Result<Bits, String> {
        if config.distribution_points.is_empty() {
            return Err("field `distribution_points`: list at least one { name, url }".into());
        }
        for (i, dp) in config.distribution_points.iter().enumerate() {
            if !(dp.url.starts_with("http://") || dp.url.starts_with("https://")) {
                return Err(format!(
                    "field `distribution_points[{i}].url`: \"{}\" must start with http:// or https://",
                    dp.url
                ));
            }
        }
        if config.concurrency == 0 {
            return Err("field `concurrency` must be at least 1".into());
        }
        Ok(Bits { config })
    }

    fn run(&self, ctx: &CheckContext) -> Result<Report, CheckError> {
        let c = &self.config;
        let dps = &c.distribution_points;
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<DpResult>>> =
            Mutex::new((0..dps.len()).map(|_| None).collect());
        let workers = c.concurrency.min(dps.len());
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    let http = Http::new(ctx.deadline, c.tls_insecure, Some(ctx.cancel_flag()));
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= dps.len() || ctx.is_cancelled() {
                            return;
                        }
                        let r = check_dp(&dps[i], c, &http);
                        results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                    }
                });
            }
        });
        if ctx.is_cancelled() {
            return Err(CheckError::Cancelled);
        }
        let results: Vec<DpResult> = results
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .flatten()
            .collect();
        let ready = results
            .iter()
            .filter(|r| r.item.status == Status::Ok)
            .count();
        let status = results
            .iter()
            .fold(Status::Ok, |w, r| w.worst(r.item.status));
        let mut summary = format!("{ready}/{} DPs BITS-ready", dps.len());
        if let Some(bad) = results
            .iter()
            .find(|r| r.short.is_some() && r.item.status == status)
        {
            summary.push_str(&format!(
                " · {} {}",
                bad.item.id,
                bad.short.as_deref().unwrap_or("")
            ));
        }
        Ok(Report {
            status,
            summary,
            details: vec![detail("Distribution points", dps.len().to_string(), None)],
            metrics: vec![Metric {
                label: "dps_ready".into(),
                value: ready as f64,
                uom: String::new(),
                warn: None,
                crit: None,
                min: Some(0.0),
                max: Some(dps.len() as f64),
            }],
            items: results.into_iter().map(|r| r.item).collect(),
        })
    }
}

impl Probe for Bits {
    fn create(config: serde_json::Value, _host: &Host) -> Result<Self, String> {
        let config: Config =
            serde_json::from_value(config).map_err(|e| format!("bits config: {e}"))?;
        Bits::from_config(config)
    }

    fn check(&mut self, ctx: &CheckContext) -> Result<Report, CheckError> {
        self.run(ctx)
    }
}

patchdeck_probe_api::export_probe!(
    Bits,
    kind: "bits",
    version: env!("CARGO_PKG_VERSION"),
    description: "BITS downloads from ConfigMgr 2007 distribution points: HEAD size, Range, WebDAV",
    config_schema: r#"{"type":"object","required":["distribution_points"],"properties":{"distribution_points":{"type":"array","items":{"type":"object","required":["name","url"],"properties":{"name":{"type":"string"},"url":{"type":"string"}}}},"webdav":{"type":"boolean"},"concurrency":{"type":"integer","minimum":1},"latency_warn_ms":{"type":"integer"},"latency_crit_ms":{"type":"integer"},"tls_insecure":{"type":"boolean"}},"additionalProperties":false}"#
);
