//! The real `reporting-point` plugin (.so, isolated runner) against loopback servers that
//! answer like IIS 6 with ASP and Windows authentication.

use patchdeck_probe_api::Status;
use patchdeck_tests::*;
use std::time::Duration;

fn iis(status: &str, extra: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nServer: Microsoft-IIS/6.0\r\nX-Powered-By: ASP.NET\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
}

/// An IIS whose Windows authentication is on the reporting point's directory only (as
/// ConfigMgr sets it up): `raw` there, 404 for any other path.
fn iis_rp(raw: &str, delay: Duration) -> String {
    let raw = raw.as_bytes().to_vec();
    let not_found = iis("404 Not Found", "").into_bytes();
    stub_server(move |req: &StubRequest| {
        std::thread::sleep(delay);
        if req.path.to_ascii_lowercase().starts_with("/smsreporting_") {
            raw.clone()
        } else {
            not_found.clone()
        }
    })
}

async fn check(url: &str, extra_config: &str) -> patchdeck_core::store::CheckResult {
    let dir = scratch("rp");
    let cfg = format!(
        "[[probe]]\nid = \"rp\"\nplugin = \"reporting-point\"\ntimeout = \"2s\"\n[probe.config]\nurl = \"{url}\"\n{extra_config}\n"
    );
    check_once(&dir, &cfg).await
}

#[tokio::test]
async fn windows_authentication_is_healthy() {
    let base = iis_rp(
        &iis(
            "401 Unauthorized",
            "WWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\n",
        ),
        Duration::ZERO,
    );
    let r = check(&format!("{base}/SMSReporting_ABC/"), "").await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert!(
        r.summary
            .starts_with("installed, Windows authentication (Negotiate, NTLM) · "),
        "{}",
        r.summary
    );
    let rep = r.report.unwrap();
    assert_eq!(rep.metrics[0].label, "latency");
    assert!(
        rep.details
            .iter()
            .any(|d| d.label == "Server" && d.value == "Microsoft-IIS/6.0")
    );
    assert!(
        rep.details
            .iter()
            .any(|d| d.label == "WWW-Authenticate" && d.value == "Negotiate, NTLM")
    );

    let base = iis_rp(
        &iis("401 Unauthorized", "WWW-Authenticate: NTLM\r\n"),
        Duration::ZERO,
    );
    assert!(
        check(&format!("{base}/SMSReporting_ABC/"), "")
            .await
            .summary
            .starts_with("installed, Windows authentication (NTLM)")
    );
}

#[tokio::test]
async fn every_other_answer_has_its_verdict() {
    let cases = [
        (
            iis(
                "401 Unauthorized",
                "WWW-Authenticate: Basic realm=\"rp01\"\r\n",
            ),
            Status::Warning,
            "answers 401 without Negotiate or NTLM (offers: Basic)",
        ),
        (
            iis("200 OK", ""),
            Status::Ok,
            "installed, anonymous access allowed",
        ),
        (
            iis("404 Not Found", ""),
            Status::Critical,
            "reporting point not installed at this URL (HTTP 404)",
        ),
        (
            iis("500 Internal Server Error", ""),
            Status::Critical,
            "reporting point broken: HTTP 500",
        ),
        (
            iis("503 Service Unavailable", ""),
            Status::Critical,
            "reporting point broken: HTTP 503",
        ),
        (
            iis("403 Forbidden", ""),
            Status::Warning,
            "unexpected HTTP 403 from the reporting point",
        ),
    ];
    for (raw, status, summary) in cases {
        let base = iis_rp(&raw, Duration::ZERO);
        let r = check(&format!("{base}/SMSReporting_ABC/"), "").await;
        assert_eq!(r.status, status, "{r:?}");
        assert!(
            r.summary.starts_with(summary),
            "{} / want {summary}",
            r.summary
        );
    }
    let base = stub_http(&iis("200 OK", ""), Duration::ZERO);
    let r = check(
        &format!("{base}/SMSReporting_ABC/Report.asp?ReportID=1"),
        "",
    )
    .await;
    let anon = r
        .report
        .unwrap()
        .details
        .into_iter()
        .find(|d| d.label == "Access")
        .unwrap();
    assert_eq!(
        (anon.value.as_str(), anon.status),
        ("anonymous access allowed", Some(Status::Warning))
    );
}

#[tokio::test]
async fn a_401_from_anything_but_the_reporting_directory_proves_nothing() {
    // IIS with Windows authentication on the site root answers 401 Negotiate to every path;
    // sitesim's reporting point answers only under SMSReporting_<site>.
    let base = stub_http(
        &iis(
            "401 Unauthorized",
            "WWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\n",
        ),
        Duration::ZERO,
    );
    let r = check(&format!("{base}/"), "").await;
    assert_eq!(r.status, Status::Warning, "{r:?}");
    assert!(
        r.summary.starts_with("not a reporting point URL: HTTP 401 from a URL without the SMSReporting_<site> directory proves only IIS"),
        "{}",
        r.summary
    );
    let role = &r.report.as_ref().unwrap().items[0];
    assert!(
        role.fix
            .as_deref()
            .unwrap()
            .contains("SMSReporting_<site code>")
    );
    assert!(
        role.evidence
            .as_deref()
            .unwrap()
            .contains("-> 401, WWW-Authenticate Negotiate, NTLM")
    );
    let r = check(&format!("{base}/SMSReporting_ABC/"), "site_code = \"XYZ\"").await;
    assert_eq!(r.status, Status::Warning);
    assert!(
        r.summary
            .starts_with("the URL is site ABC's reporting point, site_code is XYZ · "),
        "{}",
        r.summary
    );
}

#[tokio::test]
async fn down_or_slow_servers_are_critical_verdicts_not_unknown() {
    let port = closed_port();
    let r = check(&format!("http://127.0.0.1:{port}/SMSReporting_ABC/"), "").await;
    assert_eq!(r.status, Status::Critical);
    assert_eq!(
        r.summary,
        format!("reporting point unreachable: connection refused by 127.0.0.1:{port}")
    );

    // Slower than the warning threshold.
    let slow = iis_rp(
        &iis("401 Unauthorized", "WWW-Authenticate: NTLM\r\n"),
        Duration::from_millis(300),
    );
    let r = check(
        &format!("{slow}/SMSReporting_ABC/"),
        "latency_warn_ms = 100\nlatency_crit_ms = 1000",
    )
    .await;
    assert_eq!(r.status, Status::Warning, "{r:?}");
    assert!(r.summary.starts_with("answered in "), "{}", r.summary);
    // Silent past the probe timeout (2s): the plugin's own socket timeout answers first,
    // so this is a CRITICAL verdict, not the host's UNKNOWN "timed out after 2s".
    let silent = stub_http(&iis("200 OK", ""), Duration::from_secs(10));
    let r = check(&format!("{silent}/SMSReporting_ABC/"), "").await;
    assert_eq!(r.status, Status::Critical, "{r:?}");
    assert!(
        r.summary
            .starts_with("reporting point unreachable: no answer within "),
        "{}",
        r.summary
    );
    assert!(r.duration < Duration::from_secs(2), "{:?}", r.duration);
}

#[tokio::test]
async fn config_errors_are_unknown_with_the_field() {
    let dir = scratch("rp-config");
    let e = engine(&dir, "[[probe]]\nid = \"rp\"\nplugin = \"reporting-point\"\n[probe.config]\nulr = \"http://x/\"\n", &[]).await;
    let r = e.probes[0].run_once().await;
    assert_eq!(r.status, Status::Unknown);
    assert!(
        r.summary
            .starts_with("plugin rejected its config: reporting-point config: unknown field `ulr`"),
        "{}",
        r.summary
    );
    let e2 = engine(&dir, "[[probe]]\nid = \"rp\"\nplugin = \"reporting-point\"\n[probe.config]\nurl = \"rp01/SMSReporting_ABC\"\n", &[]).await;
    let r = e2.probes[0].run_once().await;
    assert_eq!(
        r.summary,
        "plugin rejected its config: field `url`: \"rp01/SMSReporting_ABC\" must be an http:// or https:// URL with a host"
    );
    e.shutdown().await;
    e2.shutdown().await;
}

/// A loopback server that answers the headers of a response and then stalls, sending
/// nothing more for `stall` (bounded), as a hung IIS worker does.
fn stalling_server(stall: Duration) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for sock in listener.incoming().take(64) {
            let Ok(mut sock) = sock else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf);
                let _ = sock.write_all(
                    b"HTTP/1.1 200 OK\r\nServer: Microsoft-IIS/6.0\r\nContent-Length: 100000\r\n\r\n<html>",
                );
                let _ = sock.flush();
                std::thread::sleep(stall);
            });
        }
    });
    base
}

#[tokio::test]
async fn a_server_that_stalls_after_its_headers_is_critical_not_unknown() {
    // 10 probes at a 3 s timeout and 10 at 10 s, all at once (load on a 2-core machine):
    // every one must be the plugin's own CRITICAL, never the host's UNKNOWN "timed out".
    let base = stalling_server(Duration::from_secs(20));
    let dir = scratch("rp-stall");
    let mut cfg = String::new();
    for i in 0..20 {
        let timeout = if i < 10 { "3s" } else { "10s" };
        cfg.push_str(&format!(
            "[[probe]]\nid = \"rp{i}\"\nplugin = \"reporting-point\"\ntimeout = \"{timeout}\"\n[probe.config]\nurl = \"{base}/SMSReporting_ABC/\"\n\n"
        ));
    }
    let e = engine(&dir, &cfg, &[]).await;
    let runs = e.probes.iter().map(|p| p.run_once());
    let results = futures_join_all(runs).await;
    for (p, r) in e.probes.iter().zip(&results) {
        assert_eq!(r.status, Status::Critical, "{}: {}", p.meta.id, r.summary);
        assert!(
            r.summary
                .starts_with("reporting point unreachable: no answer within"),
            "{}: {}",
            p.meta.id,
            r.summary
        );
    }
    e.shutdown().await;
}

/// Runs futures concurrently on this task (no extra dependency for join_all).
async fn futures_join_all<F: std::future::Future>(
    fs: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in fs {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.expect("ready")).collect()
}

/// A server that requires Windows authentication on the whole site answers 401 on any path:
/// the 401 on SMSReporting_<site> proves nothing about the role (UNKNOWN, with the control
/// request in the evidence), while the same 401 only on the role's directory proves it.
#[tokio::test]
async fn a_401_on_every_path_does_not_prove_the_role() {
    let everywhere = stub_http(
        &iis(
            "401 Unauthorized",
            "WWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\n",
        ),
        Duration::ZERO,
    );
    let r = check(&format!("{everywhere}/SMSReporting_ABC/"), "").await;
    assert_eq!(r.status, Status::Unknown, "{r:?}");
    assert!(r.summary.starts_with("not proven: "), "{}", r.summary);
    let rep = r.report.unwrap();
    let role = &rep.items[0];
    assert_eq!(role.rule.as_deref(), Some("reporting-point.proof"));
    assert!(
        role.evidence
            .as_deref()
            .unwrap()
            .contains("/patchdeck-control-no-such-directory/ -> 401"),
        "{:?}",
        role.evidence
    );
}

/// With credentials the probe logs in (NTLM, real gss-ntlmssp acceptor in Apache) and an
/// authenticated 200 from the reports page proves the role end to end; a wrong password is
/// CRITICAL "credentials refused" naming the user.
#[tokio::test]
async fn with_credentials_the_reports_page_proves_the_role() {
    let lab = patchdeck_tests::authlab::AuthLab::start();
    let pw = lab.password_file.display().to_string();
    let r = check(
        &lab.rp_url("ntlm"),
        &format!(
            "site_code = \"ABC\"\nauth = {{ user = \"CORP\\\\svc-patchdeck\", password = {{ file = \"{pw}\" }} }}"
        ),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{r:?}\n{}", lab.log());
    assert!(
        r.summary
            .starts_with("installed: the reports page answered user CORP\\svc-patchdeck (NTLM)"),
        "{}",
        r.summary
    );
    let wrong = lab.dir.join("wrong");
    std::fs::write(&wrong, "not-the-password").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = check(
        &lab.rp_url("ntlm"),
        &format!(
            "auth = {{ user = \"CORP\\\\svc-patchdeck\", password = {{ file = \"{}\" }} }}",
            wrong.display()
        ),
    )
    .await;
    assert_eq!(r.status, Status::Critical, "{r:?}");
    assert!(
        r.summary
            .starts_with("credentials refused (user CORP\\svc-patchdeck, NTLM)"),
        "{}",
        r.summary
    );
}
