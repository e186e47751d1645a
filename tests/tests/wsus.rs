//! The real `wsus` plugin (.so, isolated runner) against a loopback WSUS 3.0 that answers
//! like IIS 6 + ASP.NET 2.0: GetConfig in several SOAP prefix styles and protocol versions,
//! faults, broken XML, a stopped WsusPool, missing self-update, down.

use patchdeck_probe_api::{Item, Status};
use patchdeck_sitesim::scenario::WsusSpec;
use patchdeck_sitesim::site::wsus_answer;
use patchdeck_tests::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn sim(f: impl FnOnce(&mut WsusSpec)) -> WsusSpec {
    let mut w = WsusSpec::named("SUP01");
    f(&mut w);
    w
}

/// A sitesim WSUS that also records every request it got.
fn wsus_server(w: WsusSpec, seen: Arc<Mutex<Vec<StubRequest>>>) -> String {
    stub_server(move |req| {
        seen.lock().unwrap().push(req.clone());
        wsus_answer(&w, req)
    })
}

struct Run {
    result: patchdeck_core::store::CheckResult,
    seen: Vec<StubRequest>,
}

impl Run {
    fn item(&self, id: &str) -> Item {
        self.result
            .report
            .as_ref()
            .unwrap()
            .items
            .iter()
            .find(|i| i.id == id)
            .cloned()
            .unwrap_or_else(|| panic!("no item {id}"))
    }
}

async fn run_with(sim: WsusSpec, port80: Option<WsusSpec>, extra: &str) -> Run {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let base = wsus_server(sim, seen.clone());
    let selfupdate = match port80 {
        Some(s) => format!("{}/selfupdate/wuident.cab", wsus_server(s, Arc::default())),
        None => format!("{base}/selfupdate/wuident.cab"),
    };
    let dir = scratch("wsus");
    let cfg = format!(
        "[[probe]]\nid = \"wsus\"\nplugin = \"wsus\"\ntimeout = \"5s\"\n[probe.config]\nurl = \"{base}\"\nselfupdate_url = \"{selfupdate}\"\n{extra}\n"
    );
    let result = check_once(&dir, &cfg).await;
    let seen = seen.lock().unwrap().clone();
    Run { result, seen }
}

async fn run(w: WsusSpec) -> Run {
    run_with(w, Some(sim(|_| {})), "").await
}

#[tokio::test]
async fn healthy_sp2_in_every_soap_prefix_style() {
    for prefix in ["soap", "s", ""] {
        let prefix: &str = prefix;
        let r = run(sim(|w| w.prefix = prefix.into())).await;
        assert_eq!(r.result.status, Status::Ok, "{prefix}: {:?}", r.result);
        assert!(
            r.result
                .summary
                .starts_with("WSUS 3.0 SP2 (protocol 3.2) · all 6 checks OK · "),
            "{}",
            r.result.summary
        );
        let rep = r.result.report.as_ref().unwrap();
        let ids: Vec<&str> = rep.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "client",
                "version",
                "simpleauth",
                "selfupdate",
                "selfupdate-80",
                "admin-api"
            ]
        );
        assert!(
            rep.metrics
                .iter()
                .any(|m| m.label == "protocol_version" && m.value == 3.2)
        );
        assert!(
            rep.metrics
                .iter()
                .any(|m| m.label == "getconfig_latency" && m.uom == "ms")
        );
    }
}

#[tokio::test]
async fn getconfig_is_sent_as_wua_does_and_nothing_registers() {
    let r = run(sim(|_| {})).await;
    let post = r
        .seen
        .iter()
        .find(|q| q.method == "POST")
        .expect("a GetConfig POST");
    assert_eq!(post.path, "/ClientWebService/client.asmx");
    assert_eq!(post.header("soapaction"), Some(patchdeck_kit_action()));
    assert!(post.header("content-type").unwrap().starts_with("text/xml"));
    let body = String::from_utf8_lossy(&post.body);
    assert!(body.contains("<GetConfig xmlns=\"http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService\">"), "{body}");
    for q in &r.seen {
        assert!(
            q.header("accept-encoding")
                .is_none_or(|v| !v.contains("xpress")),
            "{q:?}"
        );
        let b = String::from_utf8_lossy(&q.body);
        assert!(
            !b.contains("RegisterComputer")
                && !b.contains("GetAuthorizationCookie")
                && !b.contains("GetCookie"),
            "{b}"
        );
    }
}

fn patchdeck_kit_action() -> &'static str {
    "\"http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/GetConfig\""
}

#[tokio::test]
async fn protocol_versions_map_to_verdicts() {
    let r = run(sim(|w| w.protocol = "3.0".into())).await;
    assert_eq!(r.result.status, Status::Critical);
    assert_eq!(
        r.item("version").summary,
        "WSUS 3.0 RTM: ConfigMgr 2007 SP1 needs WSUS 3.0 SP1 or SP2"
    );

    let r = run(sim(|w| w.protocol = "3.1".into())).await;
    assert_eq!(
        (r.result.status, r.item("version").summary.as_str()),
        (Status::Ok, "WSUS 3.0 SP1")
    );

    let r = run_with(
        sim(|w| w.protocol = "3.1".into()),
        Some(sim(|_| {})),
        "configmgr_sp = \"SP2\"\nwindows7_clients = true",
    )
    .await;
    assert_eq!(r.result.status, Status::Warning);
    assert!(
        r.item("version")
            .summary
            .contains("WSUS 3.0 SP2 is needed for Windows 7 / Server 2008 R2 clients")
    );

    let r = run(sim(|w| w.protocol = "none".into())).await;
    assert_eq!(r.result.status, Status::Critical);
    assert!(
        r.result
            .summary
            .starts_with("WSUS older than 3.0 (no ProtocolVersion)"),
        "{}",
        r.result.summary
    );
}

#[tokio::test]
async fn faults_broken_xml_and_a_stopped_pool_are_named() {
    let r = run(sim(|w| w.fault = Some("ServerBusy".into()))).await;
    let v = r.item("version");
    assert_eq!(
        (v.status, v.summary.as_str()),
        (
            Status::Critical,
            "SOAP fault s:Server (ErrorCode ServerBusy): Fault occurred"
        )
    );
    assert!(
        v.details
            .iter()
            .any(|d| d.label == "ErrorCode" && d.value == "ServerBusy")
    );

    let r = run(sim(|w| w.broken_xml = true)).await;
    let v = r.item("version");
    assert_eq!(v.status, Status::Critical);
    assert!(
        v.summary
            .starts_with("invalid SOAP response: root element is {}html"),
        "{}",
        v.summary
    );

    let r = run(sim(|w| w.pool_stopped = true)).await;
    assert_eq!(r.result.status, Status::Critical);
    assert_eq!(
        r.result.summary,
        "HTTP 503: the WsusPool application pool is probably stopped"
    );
    for i in &r.result.report.as_ref().unwrap().items {
        if i.status != Status::Ok {
            assert!(
                i.evidence.is_some() && i.fix.as_deref().is_some_and(|f| f.contains("WsusPool")),
                "{i:?}"
            );
        }
    }
    for id in ["client", "version", "simpleauth", "admin-api"] {
        assert_eq!(
            r.item(id).summary,
            "HTTP 503: the WsusPool application pool is probably stopped",
            "{id}"
        );
    }
    assert_eq!(
        r.item("selfupdate").status,
        Status::Ok,
        "self-update is not served by WsusPool"
    );
}

#[tokio::test]
async fn selfupdate_missing_on_port_80_is_critical() {
    let r = run_with(
        sim(|_| {}),
        Some(sim(|w| w.missing = vec!["selfupdate".into()])),
        "",
    )
    .await;
    assert_eq!(r.result.status, Status::Critical);
    assert_eq!(r.item("selfupdate").status, Status::Ok);
    let s80 = r.item("selfupdate-80");
    assert_eq!(s80.status, Status::Critical);
    assert_eq!(
        s80.summary,
        "HEAD answered HTTP 404 without a size: clients that cannot fetch wuident.cab stop talking to this server"
    );
    assert_eq!(
        r.result.summary,
        "WSUS 3.0 SP2 (protocol 3.2) · Self-update (port 80): HEAD answered HTTP 404 without a size: clients that cannot fetch wuident.cab stop talking to this server",
        "the summary names the cause, not a count"
    );
    assert!(
        s80.fix
            .as_deref()
            .unwrap()
            .contains("Default Web Site, port 80")
    );
}

#[tokio::test]
async fn down_and_slow_servers() {
    let port = closed_port();
    let dir = scratch("wsus-down");
    let cfg = format!(
        "[[probe]]\nid = \"w\"\nplugin = \"wsus\"\n[probe.config]\nurl = \"http://127.0.0.1:{port}\"\n"
    );
    let e = engine(&dir, &cfg, &[]).await;
    let r = e.probes[0].run_once().await;
    e.shutdown().await;
    assert_eq!(r.status, Status::Critical);
    assert!(
        r.summary.starts_with(&format!(
            "unreachable: connection refused by 127.0.0.1:{port}"
        )),
        "{}",
        r.summary
    );

    let r = run_with(
        sim(|w| w.slow_ms = 150),
        Some(sim(|_| {})),
        "latency_warn_ms = 50\nlatency_crit_ms = 5000",
    )
    .await;
    assert_eq!(r.result.status, Status::Warning, "{:?}", r.result.summary);
}

#[tokio::test]
async fn http_500_and_missing_virtual_directories() {
    let r = run(sim(|w| w.http500 = true)).await;
    assert_eq!(
        (r.item("client").status, r.item("client").summary.as_str()),
        (Status::Critical, "HTTP 500")
    );
    let r = run(sim(|w| {
        w.missing = vec!["simpleauth".into(), "apiremoting".into()]
    }))
    .await;
    assert_eq!(r.result.status, Status::Critical);
    assert_eq!(
        r.item("simpleauth").summary,
        "HTTP 404: virtual directory missing"
    );
    assert_eq!(
        r.item("admin-api").summary,
        "HTTP 404: virtual directory missing"
    );
    assert_eq!(
        r.item("version").status,
        Status::Ok,
        "GetConfig still answers"
    );
    let r = run(sim(|w| w.missing = vec!["client".into()])).await;
    assert!(
        r.item("version")
            .summary
            .starts_with("HTTP 404: invalid SOAP response"),
        "{}",
        r.item("version").summary
    );
}

/// `h` hours and a minute ago: the export's mtime (its "taken" time) comes from the kernel's
/// coarse clock and can read a tick before `SystemTime::now()`, which at a second's turn made
/// exactly `h` hours look like `h - 1`.
fn hours_ago(h: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    patchdeck_sitesim::exports::timestamp(now - h * 3600 - 60)
}

/// (component, message id, hours ago)
type Message<'a> = (&'a str, u32, i64);
/// (rows, expected status, expected summary)
type SyncCase<'a> = (&'a [Message<'a>], Status, &'a str);
/// (computer, display name, version)
type Program<'a> = (&'a str, &'a str, &'a str);
/// (rows, site server, expected status, expected summary)
type ConsoleCase<'a> = (&'a [Program<'a>], &'a str, Status, &'a str);

fn status_messages(dir: &std::path::Path, rows: &[(&str, u32, i64)]) -> std::path::PathBuf {
    status_messages_of(
        dir,
        &rows
            .iter()
            .map(|(c, i, h)| ("ABC", *c, *i, *h))
            .collect::<Vec<_>>(),
    )
}

/// (site code, component, message id, hours ago), as v_StatusMessage exports them.
fn status_messages_of(
    dir: &std::path::Path,
    rows: &[(&str, &str, u32, i64)],
) -> std::path::PathBuf {
    let mut text = "Component,MessageID,Time,SiteCode,MachineName\r\n".to_owned();
    for (site, component, id, h) in rows {
        text.push_str(&format!(
            "{component},{id},{},{site},{site}SITE01\r\n",
            hours_ago(*h)
        ));
    }
    let p = dir.join("status_messages.csv");
    std::fs::write(&p, text).unwrap();
    p
}

#[tokio::test]
async fn sup_sync_from_status_messages() {
    let dir = scratch("wsus-sync");
    let cases: &[SyncCase] = &[
        (
            &[
                ("SMS_WSUS_SYNC_MANAGER", 6701, 3),
                ("SMS_WSUS_SYNC_MANAGER", 6702, 2),
            ],
            Status::Ok,
            "last sync succeeded (6702) 2 h ago; schedule every 7d (the ConfigMgr 2007 default)",
        ),
        (
            &[
                ("SMS_WSUS_SYNC_MANAGER", 6702, 20),
                ("SMS_WSUS_SYNC_MANAGER", 6703, 1),
            ],
            Status::Warning,
            "last sync failed (6703) 1 h ago; last success 20 h ago",
        ),
        // The default schedule is every 7 days (7133d061): 6.5 days is a healthy site.
        (
            &[("SMS_WSUS_SYNC_MANAGER", 6702, 156)],
            Status::Ok,
            "last sync succeeded (6702) 6 d 12 h ago; schedule every 7d (the ConfigMgr 2007 default)",
        ),
        (
            &[("SMS_WSUS_SYNC_MANAGER", 6702, 9 * 24)],
            Status::Warning,
            "last successful sync (6702) was 9 d 0 h ago: over the schedule plus a day (192 h) for a schedule every 7d (the ConfigMgr 2007 default)",
        ),
        (
            &[("SMS_WSUS_SYNC_MANAGER", 6702, 16 * 24)],
            Status::Critical,
            "last successful sync (6702) was 16 d 0 h ago: a second scheduled sync was missed for a schedule every 7d (the ConfigMgr 2007 default)",
        ),
        (
            &[
                ("SMS_WSUS_SYNC_MANAGER", 6703, 1),
                ("SMS_WSUS_CONFIGURATION_MANAGER", 6702, 1),
            ],
            Status::Critical,
            "no successful sync (6702) in the status messages",
        ),
    ];
    for (rows, status, summary) in cases {
        let csv = status_messages(&dir, rows);
        let r = run_with(
            sim(|_| {}),
            Some(sim(|_| {})),
            &format!("status_messages_csv = \"{}\"", csv.display()),
        )
        .await;
        let sync = r.item("sync");
        assert_eq!(
            (sync.status, sync.summary.as_str()),
            (*status, *summary),
            "{rows:?}"
        );
    }
}

#[tokio::test]
async fn only_the_watched_sites_sync_counts() {
    let dir = scratch("wsus-sites");
    // The child site XYZ synchronised an hour ago; this site ABC failed and last succeeded
    // 16 days ago (two weekly runs missed). Mixing them was a false OK.
    let csv = status_messages_of(
        &dir,
        &[
            ("XYZ", "SMS_WSUS_SYNC_MANAGER", 6702, 1),
            ("ABC", "SMS_WSUS_SYNC_MANAGER", 6702, 16 * 24),
            ("ABC", "SMS_WSUS_SYNC_MANAGER", 6703, 2),
        ],
    );
    let cfg = |extra: &str| format!("status_messages_csv = \"{}\"\n{extra}", csv.display());
    let r = run_with(sim(|_| {}), Some(sim(|_| {})), &cfg("site_code = \"ABC\"")).await;
    let sync = r.item("sync");
    assert_eq!(
        (sync.status, sync.summary.as_str()),
        (
            Status::Critical,
            "last sync failed (6703) 2 h ago; last success 16 d 0 h ago"
        )
    );
    assert!(
        sync.details
            .iter()
            .any(|d| d.label == "Other sites' rows (ignored)" && d.value == "XYZ: 1"),
        "{:?}",
        sync.details
    );
    let r = run_with(sim(|_| {}), Some(sim(|_| {})), &cfg("")).await;
    let sync = r.item("sync");
    assert_eq!(sync.status, Status::Warning, "{}", sync.summary);
    assert!(
        sync.summary
            .starts_with("several sites in the export (ABC, XYZ): set site_code"),
        "{}",
        sync.summary
    );
    assert!(sync.fix.as_deref().unwrap().contains("site_code"));
}

fn programs(dir: &std::path::Path, rows: &[(&str, &str, &str)]) -> std::path::PathBuf {
    let mut text = "Name0,DisplayName0,Version0\r\n".to_owned();
    for (n, d, v) in rows {
        text.push_str(&format!("{n},{d},{v}\r\n"));
    }
    let p = dir.join("programs.csv");
    std::fs::write(&p, text).unwrap();
    p
}

#[tokio::test]
async fn admin_console_on_the_site_server_at_the_servers_service_pack() {
    let dir = scratch("wsus-console");
    let sp2 = (
        "SITE01",
        "Windows Server Update Services 3.0 SP2",
        "3.2.7600.226",
    );
    let sp1 = (
        "SITE01.corp.example",
        "Windows Server Update Services 3.0 SP1",
        "3.1.6001.65",
    );
    let other = (
        "PC01",
        "Windows Server Update Services 3.0 SP2",
        "3.2.7600.226",
    );
    let cases: &[ConsoleCase] = &[
        (
            &[other, sp2],
            "SITE01",
            Status::Ok,
            "installed on SITE01 (WSUS 3.0 SP2)",
        ),
        (
            &[sp1],
            "site01",
            Status::Critical,
            "console is WSUS 3.0 SP1, the server is SP2: the service-pack levels must match",
        ),
        // SITE01 is inventoried (a row with no WSUS entry, as the shipped query writes it)
        // and has no console.
        (
            &[other, ("SITE01", "NULL", "NULL")],
            "SITE01",
            Status::Critical,
            "not installed on the site server SITE01: it cannot configure or synchronise the remote SUP",
        ),
        // No row at all for SITE01: not inventoried, which proves nothing.
        (
            &[other],
            "SITE01",
            Status::Unknown,
            "no inventory for SITE01: cannot tell whether the console is installed",
        ),
        (
            &[],
            "127.0.0.1",
            Status::Ok,
            "not needed: WSUS is installed on the site server 127.0.0.1",
        ),
        // 127.0.0.2 is not 127.0.0.1: IP addresses are never cut at the first dot.
        (
            &[("127.0.0.2", "NULL", "NULL")],
            "127.0.0.2",
            Status::Critical,
            "not installed on the site server 127.0.0.2: it cannot configure or synchronise the remote SUP",
        ),
        (
            &[("SITE01", "Windows Server Update Services 3.0 SP2", "")],
            "SITE01",
            Status::Ok,
            "installed on SITE01 (WSUS 3.0 SP2)",
        ),
    ];
    for (rows, server, status, summary) in cases {
        let csv = programs(&dir, rows);
        let extra = format!(
            "site_server_programs_csv = \"{}\"\nsite_server = \"{server}\"",
            csv.display()
        );
        let r = run_with(sim(|_| {}), Some(sim(|_| {})), &extra).await;
        let console = r.item("console");
        assert_eq!(
            (console.status, console.summary.as_str()),
            (*status, *summary),
            "{rows:?}"
        );
    }
    let r = run_with(sim(|_| {}), Some(sim(|_| {})), "site_server = \"SITE01\"").await;
    assert_eq!(
        r.result.summary,
        "plugin rejected its config: fields `site_server_programs_csv` and `site_server` go together"
    );
}

#[tokio::test]
async fn a_huge_fault_string_stays_a_critical_verdict_not_a_too_large_report() {
    // 900 KB of fault string, echoed into the item summary, evidence and a detail: each is
    // capped at 4 KiB in kit, so the report stays far under the 1 MiB limit.
    let huge = "x".repeat(900 * 1024);
    let body = format!(
        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>{huge}</faultstring></s:Fault></s:Body></s:Envelope>"
    );
    let base = stub_server(move |req| {
        if req.method == "POST" {
            format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        } else {
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        }
    });
    let dir = scratch("wsus-huge");
    let r = check_once(
        &dir,
        &format!("[[probe]]\nid = \"w\"\nplugin = \"wsus\"\n[probe.config]\nurl = \"{base}\"\n"),
    )
    .await;
    assert_eq!(
        r.status,
        Status::Critical,
        "{}",
        &r.summary[..r.summary.len().min(200)]
    );
    let rep = r.report.expect("a report, not UNKNOWN 'report too large'");
    let v = rep.items.iter().find(|i| i.id == "version").unwrap();
    assert!(
        v.summary.len() <= 4096 && v.summary.ends_with('…'),
        "{}",
        v.summary.len()
    );
    assert!(serde_json::to_string(&rep).unwrap().len() < 64 * 1024);
}

/// Makes `file` look written ten days ago (an export job that stopped).
fn ten_days_old(file: &std::path::Path) {
    let ten_days = std::time::SystemTime::now() - Duration::from_secs(10 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(file)
        .unwrap()
        .set_modified(ten_days)
        .unwrap();
}

/// An export too old to judge says nothing about the sync: UNKNOWN naming the export and
/// its age, never "last sync N days ago". Ages are judged at the export's time otherwise.
#[tokio::test]
async fn a_stale_status_message_export_is_unknown_not_a_late_sync() {
    let dir = scratch("wsus-stale-export");
    let csv = status_messages(&dir, &[("SMS_WSUS_SYNC_MANAGER", 6702, 2)]);
    ten_days_old(&csv);
    let r = run_with(
        sim(|_| {}),
        Some(sim(|_| {})),
        &format!("status_messages_csv = \"{}\"", csv.display()),
    )
    .await;
    let sync = r.item("sync");
    assert_eq!(sync.status, Status::Unknown, "{}", sync.summary);
    assert_eq!(
        sync.summary,
        "cannot judge: the status-message export is 240 h old (over 26 h)"
    );
    assert_eq!(sync.rule.as_deref(), Some("wsus.export"));
}

/// After `wsusutil configuressl` the web services require SSL: IIS answers plain HTTP with
/// 403.4. That is a configuration to follow (set `ssl_url`), not a broken server.
#[tokio::test]
async fn web_services_that_require_ssl_say_so() {
    let page = "HTTP/1.1 403 Forbidden\r\nServer: Microsoft-IIS/6.0\r\nContent-Type: text/html\r\nContent-Length: 84\r\nConnection: close\r\n\r\n<h2>HTTP Error 403.4 - Forbidden: SSL is required to view this resource.</h2>\r\n<p></p>";
    let w = WsusSpec::named("SUP01");
    let base = stub_server(move |req: &StubRequest| {
        let p = req.path.to_ascii_lowercase();
        if p.starts_with("/clientwebservice")
            || p.starts_with("/simpleauthwebservice")
            || p.starts_with("/apiremoting30")
        {
            page.as_bytes().to_vec()
        } else {
            wsus_answer(&w, req)
        }
    });
    let dir = scratch("wsus-ssl");
    let cfg = format!(
        "[[probe]]\nid = \"wsus\"\nplugin = \"wsus\"\ntimeout = \"5s\"\n[probe.config]\nurl = \"{base}\"\nselfupdate_url = \"{base}/selfupdate/wuident.cab\"\n"
    );
    let r = check_once(&dir, &cfg).await;
    let rep = r.report.as_ref().unwrap();
    for id in ["client", "version", "simpleauth"] {
        let it = rep.items.iter().find(|i| i.id == id).unwrap();
        assert_eq!(it.status, Status::Warning, "{id}: {}", it.summary);
        assert_eq!(
            it.summary,
            "the web services require SSL (IIS 403.4): set `ssl_url`"
        );
        assert_eq!(it.rule.as_deref(), Some("wsus.ssl-required"));
    }
    assert_eq!(r.status, Status::Warning, "{}", r.summary);
}

/// The SUP properties export as sup_properties.sql writes it (site control properties of the
/// SUP role, "Troubleshooting Software Updates Synchronization": the SUP's ports must be the
/// WSUS web site's).
fn sup_properties(dir: &std::path::Path, rows: &[(&str, &str, &str)]) -> std::path::PathBuf {
    let path = dir.join("sup_properties.csv");
    let mut text = String::from("SiteCode,ServerName,PropertyName,Value\r\n");
    for (server, name, value) in rows {
        text.push_str(&format!("ABC,{server},{name},{value}\r\n"));
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// One check of the wsus probe at `base`, with the SUP SUP01's properties from `rows`.
async fn sup_check(base: &str, rows: &[(&str, &str, &str)]) -> (Status, Item) {
    let dir = scratch("wsus-sup");
    let csv = sup_properties(&dir, rows);
    let cfg = format!(
        "[[probe]]\nid = \"wsus\"\nplugin = \"wsus\"\ntimeout = \"5s\"\n[probe.config]\nurl = \"{base}\"\nselfupdate_url = \"{base}/selfupdate/wuident.cab\"\nsup_properties_csv = \"{}\"\nsup_server = \"sup01.corp.example\"\nsite_code = \"ABC\"\n",
        csv.display()
    );
    let r = check_once(&dir, &cfg).await;
    let it = r
        .report
        .as_ref()
        .unwrap_or_else(|| panic!("{r:?}"))
        .items
        .iter()
        .find(|i| i.id == "sup-ports")
        .cloned()
        .unwrap_or_else(|| panic!("no sup-ports item: {r:?}"));
    (r.status, it)
}

fn port_of(base: &str) -> String {
    base.rsplit(':').next().unwrap().to_owned()
}

#[tokio::test]
async fn sup_port_settings_that_match_the_wsus_web_site_are_ok() {
    let base = wsus_server(sim(|_| {}), Arc::default());
    let port = port_of(&base);
    let (status, it) = sup_check(
        &base,
        &[
            ("SUP01", "WSUSIISPort", &port),
            ("SUP01", "WSUSIISSSLPort", "8531"),
            ("SUP01", "SSLWSUS", "0"),
            // Another SUP of the site (an Internet-based one) does not count.
            ("SUP02", "WSUSIISPort", "1"),
        ],
    )
    .await;
    assert_eq!((status, it.status), (Status::Ok, Status::Ok), "{it:?}");
    // What cannot be seen from here is said, never implied OK.
    let accounts = it
        .details
        .iter()
        .find(|d| d.label == "Site server's accounts")
        .unwrap();
    assert!(accounts.value.starts_with("not visible from this host"));
    assert_eq!(
        it.summary,
        format!(
            "the SUP SUP01 is set for http port {port} (WSUSIISPort {port}, WSUSIISSSLPort 8531, SSL off): WSUS answers GetConfig there"
        )
    );
}

#[tokio::test]
async fn a_sup_port_where_wsus_does_not_answer_is_critical_naming_both() {
    let base = wsus_server(sim(|_| {}), Arc::default());
    // Nothing listens on the port the SUP names (as 80 on a server whose WSUS uses 8530).
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    // Or another web site answers there, not WSUS (as the Default Web Site on 80 when WSUS
    // has its custom site on 8530).
    let other = stub_server(|_req: &StubRequest| {
        b"HTTP/1.1 404 Not Found\r\nServer: Microsoft-IIS/6.0\r\nContent-Type: text/html\r\nContent-Length: 24\r\nConnection: close\r\n\r\n<h1>Page not found</h1>\r\n".to_vec()
    });
    for (port, why) in [
        (closed.clone(), "connection refused"),
        (port_of(&other), "HTTP 404"),
    ] {
        let (status, it) = sup_check(
            &base,
            &[
                ("SUP01", "WSUSIISPort", &port),
                ("SUP01", "WSUSIISSSLPort", "8531"),
                ("SUP01", "SSLWSUS", "0"),
            ],
        )
        .await;
        assert_eq!((status, it.status), (Status::Critical, Status::Critical));
        assert!(
            it.summary.starts_with(&format!(
                "the SUP SUP01 is set for http port {port} (WSUSIISPort {port}"
            )) && it.summary.contains(why),
            "{}",
            it.summary
        );
        assert_eq!(it.rule.as_deref(), Some("wsus.sup-ports"));
        let evidence = it.evidence.unwrap();
        assert!(
            evidence.contains(&format!("WSUS answers GetConfig at {base}")),
            "{evidence}"
        );
        assert!(it.fix.unwrap().contains("8530/8531"));
    }
}

#[tokio::test]
async fn ssl_on_the_sup_and_on_the_web_services_must_agree() {
    // SSL on in the SUP's properties; the web services accept plain HTTP (no SSL required).
    let base = wsus_server(sim(|_| {}), Arc::default());
    let port = port_of(&base);
    let (status, it) = sup_check(
        &base,
        &[
            ("SUP01", "WSUSIISPort", &port),
            ("SUP01", "WSUSIISSSLPort", &port),
            ("SUP01", "SSLWSUS", "1"),
        ],
    )
    .await;
    assert_eq!((status, it.status), (Status::Critical, Status::Critical));
    assert!(
        it.summary
            .starts_with(&format!("the SUP SUP01 is set for https port {port}")),
        "{}",
        it.summary
    );
    assert_eq!(it.rule.as_deref(), Some("wsus.sup-ssl"));
    assert!(it.fix.unwrap().contains("wsusutil configuressl"));

    // SSL off in the SUP's properties; the virtual roots require SSL (IIS 403.4).
    let base = wsus_server(sim(|w| w.require_ssl = true), Arc::default());
    let port = port_of(&base);
    let (status, it) = sup_check(
        &base,
        &[
            ("SUP01", "WSUSIISPort", &port),
            ("SUP01", "WSUSIISSSLPort", "8531"),
            ("SUP01", "SSLWSUS", "0"),
        ],
    )
    .await;
    assert_eq!((status, it.status), (Status::Critical, Status::Critical));
    assert!(
        it.summary
            .ends_with("but the WSUS web services require SSL (403.4)"),
        "{}",
        it.summary
    );
    assert_eq!(it.rule.as_deref(), Some("wsus.sup-ssl"));
    assert!(it.fix.unwrap().starts_with("Enable SSL communications"));
}

#[tokio::test]
async fn sup_properties_that_do_not_name_the_sup_are_unknown_not_ok() {
    let base = wsus_server(sim(|_| {}), Arc::default());
    let (_, it) = sup_check(
        &base,
        &[
            ("SUP02", "WSUSIISPort", "8530"),
            ("SUP01", "WSUSIISPort", "8530"),
        ],
    )
    .await;
    assert_eq!(it.status, Status::Unknown);
    assert_eq!(
        it.summary,
        "cannot compare: no WSUSIISSSLPort, SSLWSUS for sup01.corp.example in the SUP properties export"
    );
    assert_eq!(
        it.evidence.as_deref(),
        Some("the export has SUP rows for SUP01, SUP02")
    );
    assert_eq!(it.rule.as_deref(), Some("wsus.sup-properties"));
    // A value that is not a number names the file, line and column.
    let (_, it) = sup_check(
        &base,
        &[
            ("SUP01", "WSUSIISPort", "eighty"),
            ("SUP01", "WSUSIISSSLPort", "8531"),
            ("SUP01", "SSLWSUS", "0"),
        ],
    )
    .await;
    assert_eq!(it.status, Status::Unknown);
    assert!(
        it.summary.ends_with(
            "sup_properties.csv:2: column `Value`: WSUSIISPort: expected a number, got \"eighty\""
        ),
        "{}",
        it.summary
    );
}

/// sync_failures.sql's rows: (record id, hours ago, insertion strings in order).
fn sync_failures(dir: &std::path::Path, rows: &[(u32, i64, &[&str])]) -> std::path::PathBuf {
    let mut text = "RecordID,Time,SiteCode,InsStrIndex,InsStrValue\r\n".to_owned();
    for (id, h, strings) in rows {
        for (i, s) in strings.iter().enumerate() {
            let quoted = format!("\"{}\"", s.replace('"', "\"\""));
            text.push_str(&format!("{id},{},ABC,{i},{quoted}\r\n", hours_ago(*h)));
        }
    }
    let p = dir.join("sync_failures.csv");
    std::fs::write(&p, text).unwrap();
    p
}

/// Why synchronisation fails, from the 6703 texts. Texts are the .NET Framework's
/// WebException wording that WSUS's admin API passes on (the troubleshooting page gives the
/// causes, not the texts); an unknown text is shown whole.
#[tokio::test]
async fn a_failing_sync_names_its_documented_cause_from_the_6703_text() {
    let dir = scratch("wsus-cause");
    let messages = status_messages(
        &dir,
        &[
            ("SMS_WSUS_SYNC_MANAGER", 6702, 30),
            ("SMS_WSUS_SYNC_MANAGER", 6703, 2),
        ],
    );
    let unknown = "Sync failed: WSUS update source not found on site ABC. Please refer to WCM.log for configuration error details.";
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &[
                "WSUS Synchronization failed.",
                "Message: The request failed with HTTP status 407: Proxy Authentication Required.",
                "Source: Microsoft.UpdateServices.Administration.AdminProxy.CreateUpdateServer.",
            ],
            "wsus.sync-cause-proxy",
            "the proxy asks for credentials (HTTP 407): 6703 2 h ago",
        ),
        (
            &[
                "WSUS Synchronization failed.",
                "Message: The request failed with HTTP status 401: Unauthorized.",
            ],
            "wsus.sync-cause-access",
            "the WSUS web site refuses the site server's account (HTTP 401/403): 6703 2 h ago",
        ),
        (
            &[
                "WSUS Synchronization failed.",
                "Message: Unable to connect to the remote server.",
            ],
            "wsus.sync-cause-connect",
            "the site server cannot reach WSUS: 6703 2 h ago",
        ),
        (&[unknown], "wsus.sync-cause-unknown", ""),
    ];
    for (strings, rule, summary) in cases {
        let failures = sync_failures(&dir, &[(7, 40, &["an older failure"]), (9, 2, strings)]);
        let r = run_with(
            sim(|_| {}),
            Some(sim(|_| {})),
            &format!(
                "status_messages_csv = \"{}\"\nsync_failures_csv = \"{}\"",
                messages.display(),
                failures.display()
            ),
        )
        .await;
        let it = r.item("sync-cause");
        assert_eq!(it.status, Status::Warning, "{it:?}");
        assert_eq!(it.rule.as_deref(), Some(*rule));
        if summary.is_empty() {
            // Never dropped: the whole text, in the summary and the evidence.
            assert_eq!(it.summary, format!("6703 2 h ago: {unknown}"));
        } else {
            assert_eq!(it.summary, *summary);
        }
        let evidence = it.evidence.unwrap();
        assert!(evidence.contains(strings.last().unwrap()), "{evidence}");
    }

    // A failure followed by a success is history: no cause item.
    let messages = status_messages(
        &dir,
        &[
            ("SMS_WSUS_SYNC_MANAGER", 6703, 30),
            ("SMS_WSUS_SYNC_MANAGER", 6702, 2),
        ],
    );
    let failures = sync_failures(
        &dir,
        &[(
            7,
            30,
            &["Message: The request failed with HTTP status 407: Proxy Authentication Required."],
        )],
    );
    let r = run_with(
        sim(|_| {}),
        Some(sim(|_| {})),
        &format!(
            "status_messages_csv = \"{}\"\nsync_failures_csv = \"{}\"",
            messages.display(),
            failures.display()
        ),
    )
    .await;
    let rep = r.result.report.as_ref().unwrap();
    assert!(rep.items.iter().all(|i| i.id != "sync-cause"), "{rep:?}");
    assert_eq!(r.item("sync").status, Status::Ok);
}

/// wsus_configuration.sql's one row, as sqlcmd writes it (NULL for no upstream server).
fn wsus_configuration(
    dir: &std::path::Path,
    sync_to_mu: &str,
    upstream: &str,
) -> std::path::PathBuf {
    let p = dir.join("wsus_configuration.csv");
    std::fs::write(
        &p,
        format!("SyncToMu,UpstreamServerName\r\n{sync_to_mu},{upstream}\r\n"),
    )
    .unwrap();
    p
}

/// The sync-source item of a check with this WSUS configuration export and `sync_from`.
async fn sync_source_item(csv: &std::path::Path, want: &str) -> Item {
    run_with(
        sim(|_| {}),
        None,
        &format!(
            "wsus_configuration_csv = \"{}\"\nsync_from = \"{want}\"",
            csv.display()
        ),
    )
    .await
    .item("sync-source")
}

/// WSUS's own update source (SUSDB tbConfigurationA, "Verifying WSUS Server Settings") against
/// the one ConfigMgr set: Microsoft Update at the central site ("Troubleshooting Software
/// Updates Synchronization": set when the SUP is created, not reset when changed in the WSUS
/// console), the parent's SUP at a child site, not judged for a WSUSutil-import site.
#[tokio::test]
async fn wsus_update_source_is_the_one_configmgr_set() {
    let dir = scratch("wsus-source");
    let cases: &[(&str, &str, &str, Status, &str)] = &[
        (
            "microsoft-update",
            "1",
            "NULL",
            Status::Ok,
            "WSUS synchronises from Microsoft Update, as ConfigMgr set it",
        ),
        (
            "microsoft-update",
            "0",
            "WSUS-OLD.corp.example",
            Status::Warning,
            "WSUS synchronises from the upstream server WSUS-OLD.corp.example, not Microsoft Update",
        ),
        (
            "microsoft-update",
            "0",
            "NULL",
            Status::Warning,
            "WSUS synchronises from an upstream server it does not name, not Microsoft Update",
        ),
        // A child site: its parent's SUP, written short or in full.
        (
            "sup01.corp.example",
            "0",
            "SUP01",
            Status::Ok,
            "WSUS synchronises from the upstream server sup01.corp.example, as ConfigMgr set it",
        ),
        (
            "SUP01",
            "1",
            "NULL",
            Status::Warning,
            "WSUS synchronises from Microsoft Update, not the upstream server SUP01",
        ),
        (
            "SUP01",
            "0",
            "SUP09",
            Status::Warning,
            "WSUS synchronises from the upstream server SUP09, not the upstream server SUP01",
        ),
        (
            "none",
            "0",
            "NULL",
            Status::Ok,
            "not judged (sync_from = \"none\": the site imports with WSUSutil); WSUS is set to an upstream server it does not name",
        ),
    ];
    for (want, mu, upstream, status, summary) in cases {
        let it = sync_source_item(&wsus_configuration(&dir, mu, upstream), want).await;
        assert_eq!(
            (it.status, it.summary.as_str()),
            (*status, *summary),
            "{want} {mu} {upstream}"
        );
        let source = it.details.iter().find(|d| d.label == "Source").unwrap();
        assert!(
            source.value.starts_with(&format!(
                "SUSDB tbConfigurationA: SyncToMu {mu}, UpstreamServerName "
            )),
            "{}",
            source.value
        );
        if *status == Status::Warning {
            assert_eq!(it.rule.as_deref(), Some("wsus.sync-source"));
            assert!(it.fix.unwrap().contains("Update Source and Proxy Server"));
        }
    }

    // Bad input: named by file, line and column, never a guess; a name past the API's 255
    // characters is cut when read.
    for (text, error) in [
        (
            "SyncToMu,UpstreamServerName\r\n2,NULL\r\n",
            "wsus_configuration.csv:2: column `SyncToMu`: expected 0 or 1, got \"2\"",
        ),
        (
            "SyncToMu,UpstreamServerName\r\n1,NULL\r\n0,NULL\r\n",
            "wsus_configuration.csv:3: column `SyncToMu`: a second row",
        ),
        (
            "SyncToMu,UpstreamServerName\r\n",
            "wsus_configuration.csv: no row",
        ),
    ] {
        let csv = dir.join("wsus_configuration.csv");
        std::fs::write(&csv, text).unwrap();
        let it = sync_source_item(&csv, "microsoft-update").await;
        assert_eq!(it.status, Status::Unknown, "{it:?}");
        assert!(it.summary.contains(error), "{}", it.summary);
    }
    let csv = wsus_configuration(&dir, "0", &"W".repeat(200_000));
    let it = sync_source_item(&csv, "microsoft-update").await;
    assert_eq!(
        it.summary,
        format!(
            "WSUS synchronises from the upstream server {}, not Microsoft Update",
            "W".repeat(255)
        )
    );

    // Ten days old: cannot judge, naming the export.
    let csv = wsus_configuration(&dir, "1", "NULL");
    ten_days_old(&csv);
    let it = sync_source_item(&csv, "microsoft-update").await;
    assert_eq!(it.status, Status::Unknown);
    assert!(
        it.summary
            .starts_with("cannot judge: the WSUS configuration export is 240 h old"),
        "{}",
        it.summary
    );
}

/// A failing synchronisation whose 6703 text patchdeck does not recognise, at a central site
/// whose WSUS no longer synchronises from Microsoft Update: the update source is the named
/// cause (9647358a), the text still shown whole. A recognised text keeps its own cause, with
/// the update source beside it.
#[tokio::test]
async fn a_changed_update_source_explains_a_failing_sync() {
    let dir = scratch("wsus-source-cause");
    let messages = status_messages(
        &dir,
        &[
            ("SMS_WSUS_SYNC_MANAGER", 6702, 30),
            ("SMS_WSUS_SYNC_MANAGER", 6703, 2),
        ],
    );
    let source = wsus_configuration(&dir, "0", "WSUS-OLD");
    let unknown =
        "Sync failed: UssCommunicationError: WebException: The underlying connection was closed.";
    let proxy = "Message: The request failed with HTTP status 407: Proxy Authentication Required.";
    for (text, rule) in [
        (unknown, "wsus.sync-cause-source"),
        (proxy, "wsus.sync-cause-proxy"),
    ] {
        let failures = sync_failures(&dir, &[(9, 2, &[text])]);
        let config = |from: &str| {
            format!(
                "status_messages_csv = \"{}\"\nsync_failures_csv = \"{}\"\nwsus_configuration_csv = \"{}\"\nsync_from = \"{from}\"",
                messages.display(),
                failures.display(),
                source.display()
            )
        };
        let r = run_with(sim(|_| {}), None, &config("microsoft-update")).await;
        let it = r.item("sync-cause");
        assert_eq!(it.rule.as_deref(), Some(rule), "{it:?}");
        assert_eq!(it.status, Status::Warning);
        let mismatch = "WSUS synchronises from the upstream server WSUS-OLD, not Microsoft Update";
        assert!(
            it.details
                .iter()
                .any(|d| d.label == "WSUS update source" && d.value == mismatch),
            "{it:?}"
        );
        if rule == "wsus.sync-cause-source" {
            assert_eq!(it.summary, format!("{mismatch}: 6703 2 h ago: {unknown}"));
        }
        assert!(it.evidence.unwrap().contains(text));
        assert_eq!(r.item("sync-source").status, Status::Warning);
        // At a child site whose parent is WSUS-OLD the same setting is right: the unknown
        // text stays unknown.
        let r = run_with(sim(|_| {}), None, &config("WSUS-OLD")).await;
        assert_eq!(r.item("sync-source").status, Status::Ok);
        let it = r.item("sync-cause");
        assert!(it.details.iter().all(|d| d.label != "WSUS update source"));
        if rule == "wsus.sync-cause-source" {
            assert_eq!(it.rule.as_deref(), Some("wsus.sync-cause-unknown"));
        }
    }
}

/// component_messages.sql's rows: (component, site, severity, message id, hours ago, record
/// id, insertion strings).
type ComponentMessage<'a> = (&'a str, &'a str, i64, u32, i64, u32, &'a [&'a str]);

fn component_messages(dir: &std::path::Path, rows: &[ComponentMessage]) -> std::path::PathBuf {
    let mut text =
        "Component,SiteCode,Severity,MessageID,Time,RecordID,InsStrIndex,InsStrValue\r\n"
            .to_owned();
    for (component, site, severity, id, h, record, strings) in rows {
        let t = hours_ago(*h);
        if strings.is_empty() {
            // LEFT JOIN without insertion strings: NULLs, as sqlcmd writes them.
            text.push_str(&format!(
                "{component},{site},{severity},{id},{t},{record},NULL,NULL\r\n"
            ));
        }
        for (i, s) in strings.iter().enumerate() {
            text.push_str(&format!(
                "{component},{site},{severity},{id},{t},{record},{i},\"{s}\"\r\n"
            ));
        }
    }
    let p = dir.join("component_messages.csv");
    std::fs::write(&p, text).unwrap();
    p
}

const ERROR: i64 = -1_073_741_824;
const WARNING: i64 = -2_147_483_648;

async fn components_item(rows: &[ComponentMessage<'_>], extra: &str) -> Item {
    let dir = scratch("wsus-components");
    let csv = component_messages(&dir, rows);
    let r = run_with(
        sim(|_| {}),
        Some(sim(|_| {})),
        &format!(
            "component_messages_csv = \"{}\"\nsite_code = \"ABC\"\n{extra}",
            csv.display()
        ),
    )
    .await;
    r.item("components")
}

#[tokio::test]
async fn component_status_counts_errors_and_warnings_like_the_console() {
    let sync = "SMS_WSUS_SYNC_MANAGER";
    let config = "SMS_WSUS_CONFIGURATION_MANAGER";
    let rows: &[ComponentMessage] = &[
        (
            sync,
            "ABC",
            ERROR,
            6703,
            5,
            1,
            &["WSUS Synchronization failed.", "Message: an old failure."],
        ),
        (
            sync,
            "ABC",
            ERROR,
            6703,
            2,
            2,
            &[
                "WSUS Synchronization failed.",
                "Message: The request failed with HTTP status 407: Proxy Authentication Required.",
            ],
        ),
        (config, "ABC", WARNING, 6610, 3, 3, &[]),
        // Out of the window, another site, an unwatched component: none counts.
        (sync, "ABC", ERROR, 6703, 30, 4, &["too old"]),
        (sync, "CHD", ERROR, 6703, 1, 5, &["the child's"]),
        ("SMS_MP_CONTROL_MANAGER", "ABC", ERROR, 5436, 1, 6, &[]),
    ];
    // Without the site's thresholds: any error is a warning, warnings alone are shown.
    let it = components_item(rows, "").await;
    assert_eq!(it.status, Status::Warning, "{it:?}");
    assert_eq!(
        it.summary,
        "SMS_WSUS_SYNC_MANAGER: errors or warnings over the line"
    );
    let child = |it: &Item, id: &str| it.items.iter().find(|i| i.id == id).cloned().unwrap();
    let s = child(&it, sync);
    assert_eq!(
        s.summary,
        "2 errors, 0 warnings in the last 24h; newest error 6703 2 h ago: WSUS Synchronization failed. · Message: The request failed with HTTP status 407: Proxy Authentication Required."
    );
    assert_eq!(s.rule.as_deref(), Some("wsus.component-errors"));
    let c = child(&it, config);
    assert_eq!(
        (c.status, c.summary.as_str()),
        (Status::Ok, "0 errors, 1 warning in the last 24h")
    );
    assert_eq!(child(&it, "SMS_WSUS_CONTROL_MANAGER").status, Status::Ok);
    assert_eq!(it.items.len(), 3);

    // With the site's thresholds: under the lines OK, at the warning line WARNING, at the
    // critical line CRITICAL.
    for (thresholds, status) in [
        ("{ errors = [3, 5], warnings = [10, 50] }", Status::Ok),
        ("{ errors = [2, 5], warnings = [10, 50] }", Status::Warning),
        ("{ errors = [1, 2], warnings = [10, 50] }", Status::Critical),
        ("{ errors = [5, 9], warnings = [1, 2] }", Status::Warning),
    ] {
        let it = components_item(rows, &format!("component_thresholds = {thresholds}")).await;
        assert_eq!(it.status, status, "{thresholds}: {it:?}");
        if status != Status::Ok {
            let bad = it.items.iter().find(|i| i.status == status).unwrap();
            assert_eq!(bad.rule.as_deref(), Some("wsus.component-status"));
        }
    }

    // A healthy site: no errors, OK.
    let it = components_item(&[(config, "ABC", WARNING, 6610, 3, 3, &[])], "").await;
    assert_eq!(
        (it.status, it.summary.as_str()),
        (Status::Ok, "3 components without errors in the last 24h")
    );

    // A severity that is neither error nor warning names the file, line and column.
    let it = components_item(&[(sync, "ABC", 1_073_741_824, 6702, 1, 9, &[])], "").await;
    assert_eq!(it.status, Status::Unknown);
    assert!(
        it.summary.ends_with(
            "component_messages.csv:2: column `Severity`: 1073741824 is not an error (-1073741824) or warning (-2147483648) severity"
        ),
        "{}",
        it.summary
    );
}

/// component_summary.sql's rows: (site, machine, component, Status, State, Errors, Warnings).
type SummaryRow<'a> = (&'a str, &'a str, &'a str, i64, i64, i64, i64);

async fn summary_item(rows: &[SummaryRow<'_>], messages: &[ComponentMessage<'_>]) -> Item {
    let dir = scratch("wsus-summary");
    let mut text = "SiteCode,MachineName,ComponentName,Status,State,Errors,Warnings\r\n".to_owned();
    for (site, machine, name, status, state, errors, warnings) in rows {
        text.push_str(&format!(
            "{site},{machine},{name},{status},{state},{errors},{warnings}\r\n"
        ));
    }
    let csv = dir.join("component_summary.csv");
    std::fs::write(&csv, text).unwrap();
    let mut extra = format!(
        "component_summary_csv = \"{}\"\nsite_code = \"ABC\"\n",
        csv.display()
    );
    if !messages.is_empty() {
        let m = component_messages(&dir, messages);
        extra.push_str(&format!("component_messages_csv = \"{}\"\n", m.display()));
    }
    let r = run_with(sim(|_| {}), Some(sim(|_| {})), &extra).await;
    r.item("components")
}

/// With the console's own summary (SMS_ComponentSummarizer since 12:00 AM), the colour is the
/// console's: the site's thresholds decide, not patchdeck's reading of the counts.
#[tokio::test]
async fn component_status_is_the_consoles_own_colour() {
    let sync = "SMS_WSUS_SYNC_MANAGER";
    let config = "SMS_WSUS_CONFIGURATION_MANAGER";
    let control = "SMS_WSUS_CONTROL_MANAGER";
    // A default site at work: errors under its thresholds leave every icon green — OK, not
    // an alarm, whatever the count.
    let green: &[SummaryRow] = &[
        ("ABC", "SITE01", sync, 0, 1, 2, 0),
        ("ABC", "SITE01", config, 0, 1, 0, 7),
        ("ABC", "SUP01", control, 0, 1, 0, 0),
        // Another site's red sync manager and a component not watched: neither counts.
        ("CHD", "CHILD01", sync, 2, 1, 9, 0),
        ("ABC", "SITE01", "SMS_MP_CONTROL_MANAGER", 2, 1, 40, 0),
    ];
    let it = summary_item(green, &[]).await;
    assert_eq!(
        (it.status, it.summary.as_str()),
        (Status::Ok, "3 components green in the console"),
        "{it:?}"
    );
    let child = |it: &Item, id: &str| it.items.iter().find(|i| i.id == id).cloned().unwrap();
    assert_eq!(
        child(&it, sync).summary,
        "green in the console: 2 errors, 0 warnings since 12:00 AM"
    );

    // Yellow is a warning, red critical; the newest error's text comes from the messages.
    let rows: &[SummaryRow] = &[
        ("ABC", "SITE01", sync, 2, 1, 5, 0),
        ("ABC", "SITE01", config, 1, 1, 0, 12),
        ("ABC", "SUP01", control, 0, 0, 0, 0),
    ];
    let messages: &[ComponentMessage] = &[(
        sync,
        "ABC",
        ERROR,
        6703,
        2,
        1,
        &["WSUS Synchronization failed.", "Message: an error."],
    )];
    let it = summary_item(rows, messages).await;
    assert_eq!(it.status, Status::Critical, "{it:?}");
    assert_eq!(
        it.summary,
        "SMS_WSUS_CONFIGURATION_MANAGER, SMS_WSUS_SYNC_MANAGER: not green in the console"
    );
    let s = child(&it, sync);
    assert_eq!(
        (s.status, s.summary.as_str()),
        (
            Status::Critical,
            "red in the console: 5 errors, 0 warnings since 12:00 AM; newest error 6703 2 h ago: WSUS Synchronization failed. · Message: an error."
        )
    );
    assert_eq!(s.rule.as_deref(), Some("wsus.component-console"));
    assert_eq!(
        s.evidence.as_deref(),
        Some(
            "SMS_ComponentSummarizer on SITE01: Status 2 (red), 5 errors, 0 warnings since 12:00 AM"
        )
    );
    assert!(
        s.fix
            .unwrap()
            .contains("Component Status › SMS_WSUS_SYNC_MANAGER")
    );
    assert_eq!(child(&it, config).status, Status::Warning);
    // A stopped component is shown, not judged: its icon is the console's verdict.
    let c = child(&it, control);
    assert_eq!(
        (c.status, c.summary.as_str()),
        (
            Status::Ok,
            "green in the console: 0 errors, 0 warnings since 12:00 AM; stopped on SUP01"
        )
    );

    // A component on two computers shows each colour; the worst decides.
    let it = summary_item(
        &[
            ("ABC", "SITE01", sync, 0, 1, 0, 0),
            ("ABC", "SITE01", config, 0, 1, 0, 0),
            ("ABC", "SUP01", control, 0, 1, 0, 0),
            ("ABC", "SUP02", control, 1, 1, 0, 3),
        ],
        &[],
    )
    .await;
    let c = child(&it, control);
    assert_eq!(
        (c.status, c.summary.as_str()),
        (
            Status::Warning,
            "green on SUP01, yellow on SUP02 in the console: 0 errors, 3 warnings since 12:00 AM"
        )
    );

    // No row for a watched component, or a Status the docs do not list: UNKNOWN, never OK.
    let it = summary_item(
        &[
            ("ABC", "SITE01", sync, 7, 1, 0, 0),
            ("ABC", "SITE01", config, 0, 1, 0, 0),
        ],
        &[],
    )
    .await;
    assert_eq!(it.status, Status::Unknown, "{it:?}");
    let c = child(&it, control);
    assert_eq!(
        (c.status, c.summary.as_str()),
        (
            Status::Unknown,
            "no row of site ABC in the component summary"
        )
    );
    assert_eq!(c.rule.as_deref(), Some("wsus.export"));
    let s = child(&it, sync);
    assert_eq!(s.status, Status::Unknown);
    assert!(
        s.evidence
            .as_deref()
            .unwrap()
            .contains("Status 7 (not a documented Status"),
        "{s:?}"
    );

    // A count that is not a number names the file, line and column.
    let it = summary_item(&[("ABC", "SITE01", sync, 0, 1, -1, 0)], &[]).await;
    assert_eq!(it.status, Status::Unknown);
    assert!(
        it.summary
            .ends_with("component_summary.csv:2: column `Errors`: a count below zero"),
        "{}",
        it.summary
    );
}

/// A component summary too old to judge says nothing about today's colours: UNKNOWN naming
/// the export and its age (the summary counts since midnight of the day it was taken).
#[tokio::test]
async fn a_stale_component_summary_is_unknown_not_green() {
    let dir = scratch("wsus-stale-summary");
    let csv = dir.join("component_summary.csv");
    std::fs::write(
        &csv,
        "SiteCode,MachineName,ComponentName,Status,State,Errors,Warnings\r\nABC,SITE01,SMS_WSUS_SYNC_MANAGER,0,1,0,0\r\n",
    )
    .unwrap();
    ten_days_old(&csv);
    let r = run_with(
        sim(|_| {}),
        Some(sim(|_| {})),
        &format!(
            "component_summary_csv = \"{}\"\nsite_code = \"ABC\"\ncomponents = [\"SMS_WSUS_SYNC_MANAGER\"]",
            csv.display()
        ),
    )
    .await;
    let it = r.item("components");
    assert_eq!(
        (it.status, it.summary.as_str()),
        (
            Status::Unknown,
            "cannot judge: the component summary export is 240 h old (over 26 h)"
        )
    );
    assert_eq!(it.rule.as_deref(), Some("wsus.export"));
}

/// A hostile summary export (a computer name of 200,000 characters on every row) is cut to a
/// name's size when read: the item stays small and says which colour is where.
#[tokio::test]
async fn a_huge_computer_name_in_the_summary_is_cut_when_read() {
    let huge = "N".repeat(200_000);
    let sync = "SMS_WSUS_SYNC_MANAGER";
    let it = summary_item(
        &[
            ("ABC", &huge, sync, 0, 1, 0, 0),
            ("ABC", "SITE02", sync, 1, 1, 0, 4),
        ],
        &[],
    )
    .await;
    let s = it.items.iter().find(|i| i.id == sync).unwrap();
    assert_eq!(s.status, Status::Warning);
    let name = format!("green on {}, yellow on SITE02 ", "N".repeat(255));
    assert!(s.summary.starts_with(&name), "{}", &s.summary[..300]);
    assert!(s.evidence.as_ref().unwrap().len() < 4096);
}
