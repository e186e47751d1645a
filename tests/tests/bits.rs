//! The real `bits` plugin (.so, isolated runner) against loopback distribution points that
//! serve package content like IIS: with or without Range, WebDAV, Content-Length; 403; down.

use patchdeck_probe_api::{Item, Status};
use patchdeck_sitesim::scenario::DpSpec;
use patchdeck_sitesim::site::dp_answer;
use patchdeck_tests::*;
use std::time::Duration;

fn spec(f: impl FnOnce(&mut DpSpec)) -> DpSpec {
    let mut d = DpSpec {
        size: 100_000,
        ..DpSpec::named("DP")
    };
    f(&mut d);
    d
}

fn dp_server(d: DpSpec) -> String {
    stub_server(move |req| dp_answer(&d, req))
}

fn content_url(base: &str) -> String {
    format!("{base}/SMS_DP_SMSPKGD%24/ABC00012/file.cab")
}

async fn run(
    dps: &[(String, String)],
    extra: &str,
    timeout: &str,
) -> patchdeck_core::store::CheckResult {
    let dir = scratch("bits");
    let list: Vec<String> = dps
        .iter()
        .map(|(n, u)| format!("{{ name = \"{n}\", url = \"{u}\" }}"))
        .collect();
    let cfg = format!(
        "[[probe]]\nid = \"bits\"\nplugin = \"bits\"\ntimeout = \"{timeout}\"\n[probe.config]\ndistribution_points = [{}]\n{extra}\n",
        list.join(", ")
    );
    check_once(&dir, &cfg).await
}

fn item<'a>(items: &'a [Item], id: &str) -> &'a Item {
    items
        .iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("no item {id}"))
}

#[tokio::test]
async fn a_healthy_dp_is_bits_ready() {
    let r = run(
        &[("DP01".into(), content_url(&dp_server(spec(|_| {}))))],
        "",
        "5s",
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.summary, "1/1 DPs BITS-ready");
    let rep = r.report.unwrap();
    let dp = item(&rep.items, "DP01");
    let d: Vec<(&str, &str)> = dp
        .details
        .iter()
        .map(|d| (d.label.as_str(), d.value.as_str()))
        .collect();
    assert!(d.contains(&("HEAD", "200, Content-Length 100000")), "{d:?}");
    assert!(
        d.contains(&("Range", "206, bytes 49488-50511/100000")),
        "{d:?}"
    );
    assert!(
        d.contains(&("WebDAV", "PROPFIND 207 Multi-Status")),
        "{d:?}"
    );
    assert_eq!(dp.metrics[0].label, "latency");
}

#[tokio::test]
async fn every_dp_fault_has_its_bits_error() {
    let down = format!(
        "http://127.0.0.1:{}/SMS_DP_SMSPKGD%24/ABC00012/file.cab",
        closed_port()
    );
    let dps = vec![
        ("DP01".to_owned(), content_url(&dp_server(spec(|_| {})))),
        (
            "DP02".to_owned(),
            content_url(&dp_server(spec(|d| d.range = false))),
        ),
        (
            "DP03".to_owned(),
            content_url(&dp_server(spec(|d| d.webdav = false))),
        ),
        (
            "DP04".to_owned(),
            content_url(&dp_server(spec(|d| d.content_length = false))),
        ),
        (
            "DP05".to_owned(),
            content_url(&dp_server(spec(|d| d.forbidden = true))),
        ),
        (
            "DP06".to_owned(),
            content_url(&dp_server(spec(|d| d.bad_content_range = true))),
        ),
        ("DP07".to_owned(), down),
        (
            "DP08".to_owned(),
            content_url(&dp_server(spec(|d| d.anonymous = false))),
        ),
    ];
    let r = run(&dps, "concurrency = 3", "5s").await;
    assert_eq!(r.status, Status::Critical);
    assert_eq!(
        r.summary,
        "1/8 DPs BITS-ready · DP02 ignores Range (200 instead of 206): BITS would fail with 0x80200013 BG_E_INSUFFICIENT_RANGE_SUPPORT"
    );
    let rep = r.report.unwrap();
    let expect = [
        ("DP01", Status::Ok, "BITS-ready · "),
        (
            "DP02",
            Status::Critical,
            "ignores Range (200 instead of 206): BITS would fail with 0x80200013 BG_E_INSUFFICIENT_RANGE_SUPPORT",
        ),
        (
            "DP03",
            Status::Critical,
            "WebDAV not answering (PROPFIND HTTP 405): a BITS-enabled DP needs IIS WebDAV",
        ),
        (
            "DP04",
            Status::Critical,
            "no Content-Length: BITS would fail with 0x80200011 BG_E_MISSING_FILE_SIZE",
        ),
        (
            "DP05",
            Status::Critical,
            "HTTP 403: BITS would fail with 0x80190193",
        ),
        (
            "DP06",
            Status::Critical,
            "206 with Content-Range \"bytes 0-1023/100000\", expected \"bytes 49488-50511/100000\"",
        ),
        (
            "DP07",
            Status::Critical,
            "unreachable: connection refused by 127.0.0.1:",
        ),
        // Anonymous access off (ConfigMgr's default): not verifiable, never "broken".
        (
            "DP08",
            Status::Unknown,
            "Range and WebDAV cannot be verified without credentials (anonymous access is off, ConfigMgr's default)",
        ),
    ];
    for (id, status, summary) in expect {
        let it = item(&rep.items, id);
        assert_eq!(it.status, status, "{id}: {it:?}");
        assert!(
            it.summary.starts_with(summary),
            "{id}: {} / want {summary}",
            it.summary
        );
    }
    for it in &rep.items {
        if it.status != Status::Ok {
            assert!(it.evidence.is_some() && it.fix.is_some(), "{it:?}");
        }
    }
    assert_eq!(
        item(&rep.items, "DP02").evidence.as_deref().unwrap(),
        format!(
            "GET {} Range bytes=49488-50511 -> 200 without Content-Range",
            dps[1].1
        )
    );
    assert!(
        item(&rep.items, "DP03")
            .fix
            .as_deref()
            .unwrap()
            .contains("f617ded4-bdac-485a-b69c-972e6a0ef30c"),
        "WebDAV's fix cites the BITS-enabled DP page"
    );
    // WebDAV off: DP03 is ready.
    let r = run(&dps[2..3], "webdav = false", "5s").await;
    assert_eq!(
        (r.status, r.summary.as_str()),
        (Status::Ok, "1/1 DPs BITS-ready")
    );
}

#[tokio::test]
async fn hundreds_of_dps_are_checked_concurrently_within_the_timeout() {
    let base = dp_server(spec(|_| {}));
    let dps: Vec<(String, String)> = (0..300)
        .map(|i| {
            (
                format!("DP{i:03}"),
                format!("{base}/SMS_DP_SMSPKGD%24/ABC{i:05}/file.cab"),
            )
        })
        .collect();
    let r = run(&dps, "concurrency = 16", "20s").await;
    assert_eq!(
        (r.status, r.summary.as_str()),
        (Status::Ok, "300/300 DPs BITS-ready"),
        "{:?}",
        r.error
    );
    assert_eq!(r.report.unwrap().items.len(), 300);
    assert!(r.duration < Duration::from_secs(20));
}

#[tokio::test]
async fn bad_config_names_the_field() {
    let dir = scratch("bits-config");
    let r = check_once(&dir, "[[probe]]\nid = \"b\"\nplugin = \"bits\"\n[probe.config]\ndistribution_points = [{ name = \"DP01\", url = \"dp01/x.cab\" }]\n").await;
    assert_eq!(
        r.summary,
        "plugin rejected its config: field `distribution_points[0].url`: \"dp01/x.cab\" must be an http:// or https:// URL with a host"
    );
}

#[tokio::test]
async fn an_abandoned_check_stops_at_the_cancel_flag_not_at_the_deadline() {
    let slow = spec(|_| {});
    let base = stub_server(move |req| {
        std::thread::sleep(Duration::from_millis(100));
        dp_answer(&slow, req)
    });
    let list: Vec<String> = (0..50)
        .map(|i| {
            format!("{{ name = \"DP{i}\", url = \"{base}/SMS_DP_SMSPKGD%24/X{i}/file.cab\" }}")
        })
        .collect();
    let dir = scratch("bits-cancel");
    let cfg = format!(
        "[[probe]]\nid = \"b\"\nplugin = \"bits\"\nisolation = \"in-process\"\ntimeout = \"3s\"\n[probe.config]\nconcurrency = 1\ndistribution_points = [{}]\n",
        list.join(", ")
    );
    let e = engine(&dir, &cfg, &[]).await;
    // Abandon the first run after half a second (this sets its cancel flag).
    tokio::select! {
        _ = e.probes[0].run_once() => panic!("50 DPs at 300 ms each cannot finish in 0.5 s"),
        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
    }
    // The in-process instance is busy until the plugin returns. Honouring the flag, it
    // returns within one request, so this check gets the instance. Ignoring the flag, the
    // first call would hold the instance until its deadline (3 s after it started) and this
    // check would be refused "instance still busy" after waiting half its timeout (1.5 s).
    let r = e.probes[0].run_once().await;
    assert_eq!(r.error, None, "{r:?}");
    // 50 DPs at ~300 ms one at a time do not fit in 3 s: the plugin stops at its own
    // deadline, and the DPs it never tried are UNKNOWN "not checked", not CRITICAL.
    let rep = r.report.unwrap();
    let last = rep.items.last().unwrap();
    assert_eq!(last.status, Status::Unknown, "{last:?}");
    assert_eq!(
        last.summary,
        "not checked: the probe's time ran out (raise `timeout` or `concurrency`)"
    );
    assert!(
        rep.items.iter().any(|i| i.status == Status::Ok),
        "some DPs were checked"
    );
    assert!(
        r.duration < Duration::from_secs(3),
        "the plugin's own deadline came first: {:?}",
        r.duration
    );
    e.shutdown().await;
}
