//! HTTPS on loopback: WSUS web services behind SSL (`ssl_url`), certificate checking, and
//! TLS failures reported with their cause.

use patchdeck_probe_api::Status;
use patchdeck_sitesim::scenario::WsusSpec;
use patchdeck_sitesim::site::wsus_answer;
use patchdeck_tests::*;

fn spec() -> WsusSpec {
    WsusSpec {
        prefix: "s".into(),
        ..WsusSpec::named("SUP01")
    }
}

async fn run(config: &str) -> patchdeck_core::store::CheckResult {
    let dir = scratch("tls");
    check_once(&dir, &format!("[[probe]]\nid = \"p\"\n{config}\n")).await
}

#[tokio::test]
async fn wsus_web_services_over_ssl_with_content_on_http() {
    let w = spec();
    let https = stub_tls_server(move |req| wsus_answer(&w, req));
    let w = spec();
    let http = stub_server(move |req| wsus_answer(&w, req));
    let base = format!(
        "plugin = \"wsus\"\n[probe.config]\nurl = \"{http}\"\nssl_url = \"{https}\"\nselfupdate_url = \"{http}/selfupdate/wuident.cab\"\n"
    );
    // The test certificate is self-signed: verification fails, with the reason.
    let r = run(&base).await;
    assert_eq!(r.status, Status::Critical, "{r:?}");
    let items = r.report.unwrap().items;
    let version = items.iter().find(|i| i.id == "version").unwrap();
    assert!(
        version.summary.starts_with("unreachable: TLS failure: "),
        "{}",
        version.summary
    );
    assert!(
        version.summary.contains("UnknownIssuer") || version.summary.contains("certificate"),
        "{}",
        version.summary
    );
    assert_eq!(
        items.iter().find(|i| i.id == "selfupdate").unwrap().status,
        Status::Ok,
        "self-update stays on HTTP"
    );

    // tls_insecure accepts it, and the report says so.
    let r = run(&format!("{base}tls_insecure = true\n")).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert!(
        r.summary
            .starts_with("WSUS 3.0 SP2 (protocol 3.2) · all 5 checks OK"),
        "{}",
        r.summary
    );
    let d = r
        .report
        .unwrap()
        .details
        .into_iter()
        .find(|d| d.label == "TLS")
        .expect("a TLS detail");
    assert_eq!(
        (d.value.as_str(), d.status),
        (
            "certificate not verified (tls_insecure = true)",
            Some(Status::Warning)
        )
    );
}

#[tokio::test]
async fn https_to_a_plain_http_server_is_a_tls_failure() {
    let plain = stub_http(
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        std::time::Duration::ZERO,
    );
    let https = plain.replacen("http://", "https://", 1);
    let r = run(&format!(
        "plugin = \"reporting-point\"\n[probe.config]\nurl = \"{https}/SMSReporting_ABC/\"\n"
    ))
    .await;
    assert_eq!(r.status, Status::Critical, "{r:?}");
    assert!(
        r.summary
            .starts_with("reporting point unreachable: TLS failure: "),
        "{}",
        r.summary
    );
}
