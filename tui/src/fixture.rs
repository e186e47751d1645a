//! A deterministic model for `update` and `view` tests: fixed clock, mixed statuses, a
//! nested items tree, transitions.

use crate::model::{Look, Model, ProbeRow, Snapshot};
use crate::update::update;
use patchdeck_core::config::Isolation;
use patchdeck_core::store::{CheckResult, HistoryEntry, ProbeMeta, Transition};
use patchdeck_probe_api::{Detail, Item, Metric, Report, Status};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 2027-01-15 08:00:00 UTC.
pub fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn at(secs: i64) -> SystemTime {
    if secs >= 0 {
        t0() + Duration::from_secs(secs as u64)
    } else {
        t0() - Duration::from_secs((-secs) as u64)
    }
}

fn meta(id: &str, kind: &str) -> ProbeMeta {
    ProbeMeta {
        id: id.into(),
        kind: kind.into(),
        plugin_version: "0.1.0".into(),
        isolation: Isolation::Process,
        interval: Duration::from_secs(30),
        timeout: Duration::from_secs(10),
    }
}

fn history(pattern: &[Status]) -> Vec<HistoryEntry> {
    pattern
        .iter()
        .enumerate()
        .map(|(i, s)| HistoryEntry {
            status: *s,
            started_at: at(-30 * (pattern.len() - i) as i64),
            duration: Duration::from_millis(20 + (i as u64 * 37) % 90),
        })
        .collect()
}

fn item(id: &str, title: &str, status: Status, summary: &str, items: Vec<Item>) -> Item {
    Item {
        items,
        ..Item::new(id, title, status, summary)
    }
}

fn row(
    id: &str,
    kind: &str,
    report: Option<Report>,
    error: Option<&str>,
    hist: &[Status],
) -> Arc<ProbeRow> {
    let latest = match (report, error) {
        (Some(r), _) => Some(Arc::new(CheckResult::from_report(
            r,
            at(-12),
            Duration::from_millis(42),
        ))),
        (None, Some(e)) => Some(Arc::new(CheckResult::unknown(
            e,
            at(-12),
            Duration::from_millis(10_000),
        ))),
        (None, None) => None,
    };
    Arc::new(ProbeRow {
        meta: meta(id, kind),
        latest,
        history: history(hist).into(),
        running: false,
        running_since: None,
        next_run: Some(at(18)),
        consecutive_unknown: 0,
        transitions_total: 0,
        revision: 1,
    })
}

pub fn snapshot() -> Snapshot {
    let mut snap = base_snapshot();
    // msi-clients: its first run has been going for 3 s.
    let msi = Arc::make_mut(&mut snap.probes[4]);
    msi.running = true;
    msi.running_since = Some(at(-3));
    snap
}

fn base_snapshot() -> Snapshot {
    use Status::*;
    let wsus = Report {
        status: Ok,
        summary: "WSUS 3.0 SP2 (protocol 3.2) · 5/5 services OK · 42 ms".into(),
        details: vec![Detail {
            label: "Protocol version".into(),
            value: "3.2 (WSUS 3.0 SP2)".into(),
            status: Some(Ok),
        }],
        metrics: vec![Metric {
            label: "getconfig_latency".into(),
            value: 42.0,
            uom: "ms".into(),
            warn: Some("500".into()),
            crit: Some("2000".into()),
            min: Some(0.0),
            max: None,
            ..Default::default()
        }],
        items: vec![],
    };
    let mut dp07 = item(
        "dp07",
        "DP07.corp.example",
        Critical,
        "200 instead of 206: 0x80200013 BG_E_INSUFFICIENT_RANGE_SUPPORT",
        vec![
            item("head", "HEAD", Ok, "200, Content-Length 1048576", vec![]),
            item("range", "Ranged GET", Critical, "200 ignores Range", vec![])
                .with_evidence("GET Range bytes=524288-525311 -> 200 without Content-Range")
                .with_fix("Enable byte-range requests on the DP's IIS site (remove any filter that strips Range)."),
        ],
    );
    dp07.details = vec![Detail {
        label: "URL".into(),
        value: "http://dp07/SMS_DP_SMSPKGD$/ABC00012/file.cab".into(),
        status: None,
    }];
    let bits = Report {
        status: Critical,
        summary: "7/8 DPs BITS-ready · DP07 ignores Range".into(),
        details: vec![],
        metrics: vec![],
        items: vec![
            dp07,
            item(
                "dp01",
                "DP01.corp.example",
                Ok,
                "HEAD 200, Range 206, PROPFIND 207",
                vec![],
            ),
        ],
    };
    let rp = Report::new(
        Warning,
        "anonymous access allowed (200 without authentication)",
    );
    Snapshot {
        probes: vec![
            row("wsus-sup01", "wsus", Some(wsus), None, &[Ok; 20]),
            row(
                "bits-dps",
                "bits",
                Some(bits),
                None,
                &[Ok, Ok, Ok, Warning, Critical, Critical],
            ),
            row(
                "reporting-point",
                "reporting-point",
                Some(rp),
                None,
                &[Ok, Warning],
            ),
            row(
                "wua-clients",
                "wua",
                None,
                Some("timed out after 10s"),
                &[Unknown, Unknown],
            ),
            row("msi-clients", "msi", None, None, &[]),
        ],
        transitions_revision: 1,
        transitions: Arc::new(vec![
            // From the history of an earlier run (two days ago).
            Transition {
                at: at(-2 * 86_400),
                probe: "bits-dps".into(),
                from: Some(Critical),
                to: Ok,
                summary: "8/8 DPs BITS-ready".into(),
                cause: None,
                earlier: true,
            },
            Transition {
                at: at(-90),
                probe: "bits-dps".into(),
                from: Some(Ok),
                to: Warning,
                summary: "7/8 DPs BITS-ready · DP05 slow".into(),
                cause: None,
                earlier: false,
            },
            Transition {
                at: at(-60),
                probe: "bits-dps".into(),
                from: Some(Warning),
                to: Critical,
                summary: "7/8 DPs BITS-ready · DP07 ignores Range".into(),
                cause: Some("dp07".into()),
                earlier: false,
            },
            // Same status, new cause.
            Transition {
                at: at(-30),
                probe: "bits-dps".into(),
                from: Some(Critical),
                to: Critical,
                summary: "7/8 DPs BITS-ready · DP03 ignores Range".into(),
                cause: Some("dp03".into()),
                earlier: false,
            },
            Transition {
                at: at(-12),
                probe: "wua-clients".into(),
                from: None,
                to: Unknown,
                summary: "timed out after 10s".into(),
                cause: None,
                earlier: false,
            },
        ]),
        paused: false,
    }
}

pub fn model(w: u16, h: u16) -> Model {
    let mut m = Model::new(
        Some("ABC - Contoso primary site".into()),
        snapshot(),
        t0(),
        (w, h),
        Look {
            color: true,
            ascii: false,
        },
    );
    m.dirty = false;
    m
}

/// The demo site as `patchdeck demo` shows it (texts taken from a real run of the six probes
/// against sitesim): several problems across probes, some nested.
pub fn demo_snapshot() -> Snapshot {
    use Status::*;
    let fix_range = "BITS resumes with byte ranges: make IIS on the DP honour Range (no proxy or filter that strips it; static file handler for the package folder).";
    let fix_webdav = "Enable WebDAV on the DP: IIS 6 Web Service Extensions > WebDAV > Allowed; on Windows Server 2008 install and configure the WebDAV extension for IIS 7.";
    let fix_anon = "Normal for a ConfigMgr 2007 DP. To let patchdeck verify it, enable \"Allow clients to connect anonymously\" on the DP (Distribution point Properties, General).";
    let fix_wua = "Clients take the agent of their WSUS from its self-update tree when they scan: check the wsus probe's self-update items, then run the Software Updates Scan Cycle on a listed client or deploy the agent.";
    let dp = |n: &str, st: Status, summary: &str, children: Vec<Item>| {
        item(
            &n.to_lowercase(),
            &format!("{n}.corp.example"),
            st,
            summary,
            children,
        )
    };
    let bits = Report {
        status: Critical,
        summary: "6/9 DPs BITS-ready · DP04 ignores Range (200 instead of 206): BITS would fail with 0x80200013 BG_E_INSUFFICIENT_RANGE_SUPPORT".into(),
        details: vec![],
        metrics: vec![],
        items: vec![
            dp("DP01", Ok, "HEAD 200, Range 206, PROPFIND 207", vec![]),
            dp(
                "DP04",
                Critical,
                "ignores Range (200 instead of 206)",
                vec![
                    item("head", "HEAD", Ok, "200, Content-Length 1048576", vec![]),
                    item("range", "Ranged GET", Critical, "200 instead of 206: 0x80200013 BG_E_INSUFFICIENT_RANGE_SUPPORT", vec![])
                        .with_evidence("GET Range bytes=524288-525311 -> 200 without Content-Range")
                        .with_fix(fix_range),
                ],
            ),
            dp("DP06", Critical, "WebDAV not answering (PROPFIND 405)", vec![])
                .with_evidence("PROPFIND Depth 0 -> 405 Method Not Allowed")
                .with_fix(fix_webdav),
            dp("DP09", Unknown, "401 Negotiate, NTLM: cannot verify anonymously", vec![])
                .with_evidence("HEAD -> 401, WWW-Authenticate: Negotiate, NTLM")
                .with_fix(fix_anon),
        ],
    };
    let wua = Report {
        status: Warning,
        summary: "30,000 clients: 2,871 clients (9.6 %) below 7.4.7600.226, the agent of WSUS 3.0 SP2: at or over the 5 % warning line".into(),
        details: vec![],
        metrics: vec![],
        items: vec![
            item("v7.4.7600.226", "WUA 7.4.7600.226", Ok, "27,129 clients", vec![]),
            item("v7.2.6001.788", "WUA 7.2.6001.788", Warning, "2,403 clients below the SP2 agent", vec![])
                .with_fix(fix_wua),
            item("v7.0.6000.381", "WUA 7.0.6000.381", Warning, "468 clients below the SP2 agent", vec![])
                .with_fix(fix_wua),
        ],
    };
    let ok = |s: &str| Report::new(Ok, s);
    Snapshot {
        probes: vec![
            row(
                "wsus-sup01",
                "wsus",
                Some(ok("WSUS 3.0 SP2 (protocol 3.2) · all 5 checks OK · 3 ms")),
                None,
                &[Ok; 12],
            ),
            row(
                "bits-dps",
                "bits",
                Some(bits),
                None,
                &[Ok, Critical, Critical],
            ),
            row(
                "rp-rp01",
                "reporting-point",
                Some(ok(
                    "installed, Windows authentication (Negotiate, NTLM) · 2 ms",
                )),
                None,
                &[Ok; 12],
            ),
            row("wua-clients", "wua", Some(wua), None, &[Warning; 12]),
            row(
                "msi-clients",
                "msi",
                Some(ok(
                    "30,000 clients: all on Windows Installer 3.1 v2 (3.1.4000.2435) or later",
                )),
                None,
                &[Ok; 12],
            ),
            row(
                "sup-capacity",
                "sup-capacity",
                Some(ok("SUP01: 22,140 clients of 25,000 (89 %) · 1 SUP")),
                None,
                &[Ok; 12],
            ),
        ],
        transitions_revision: 1,
        transitions: Arc::new(vec![Transition {
            at: at(-60),
            probe: "bits-dps".into(),
            from: Some(Ok),
            to: Critical,
            summary: "6/9 DPs BITS-ready · DP04 ignores Range".into(),
            cause: Some("dp04".into()),
            earlier: false,
        }]),
        paused: false,
    }
}

/// Every probe OK, the last change a recovery at 03:12.
pub fn green_snapshot() -> Snapshot {
    let mut snap = demo_snapshot();
    for p in &mut snap.probes {
        let p = Arc::make_mut(p);
        let summary = match p.meta.id.as_str() {
            "bits-dps" => "9/9 DPs BITS-ready · HEAD, Range and WebDAV answer".to_owned(),
            "wua-clients" => {
                "30,000 clients: all at 7.4.7600.226 or later, scans current".to_owned()
            }
            _ => p
                .latest
                .as_ref()
                .map(|r| r.summary.clone())
                .unwrap_or_default(),
        };
        p.latest = Some(Arc::new(CheckResult::from_report(
            Report::new(Status::Ok, &summary),
            at(-12),
            Duration::from_millis(42),
        )));
    }
    // 03:12 local (UTC here) on the fixture's day: 08:00 - 4 h 48 min.
    snap.transitions = Arc::new(vec![Transition {
        at: at(-(4 * 3600 + 48 * 60)),
        probe: "bits-dps".into(),
        from: Some(Status::Critical),
        to: Status::Ok,
        summary: "9/9 DPs BITS-ready".into(),
        cause: None,
        earlier: false,
    }]);
    snap
}

/// A model over `snap` at a size.
pub fn model_of(snap: Snapshot, w: u16, h: u16) -> Model {
    let mut m = model(w, h);
    update(&mut m, crate::model::Msg::Data(snap));
    m.selected = m.data.probes.first().map(|p| p.meta.id.clone());
    m.dirty = false;
    m
}
