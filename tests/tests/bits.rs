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

/// `patchdeck check` of one bits probe against the auth lab, with KRB5_CONFIG pointing at
/// its KDC; returns the probe's JSON result and everything printed.
fn check_lab(
    lab: &patchdeck_tests::authlab::AuthLab,
    dps: &str,
    extra: &str,
) -> (serde_json::Value, String) {
    let dir = scratch("bits-auth");
    let cfg = dir.join("auth.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[probe]]\nid = \"dps\"\nplugin = \"bits\"\ntimeout = \"10s\"\n[probe.config]\ndistribution_points = [{dps}]\n{extra}\n"
        ),
    )
    .unwrap();
    let log = dir.join("patchdeck.log");
    let out = std::process::Command::new(patchdeck_bin())
        .args([
            "check",
            "--config",
            cfg.to_str().unwrap(),
            "--format",
            "json",
        ])
        .arg("--log-file")
        .arg(&log)
        .env_remove("PATCHDECK_CONFIG")
        .env("KRB5_CONFIG", &lab.krb5_conf)
        .env(
            "KRB5CCNAME",
            format!("FILE:{}/no-such-cache", dir.display()),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // Everything patchdeck wrote: stdout, stderr and its log file.
    let all = format!(
        "{stdout}{}{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {all}\n--- apache ---\n{}", lab.log()));
    // Measured numbers for the issue notes (run with --nocapture).
    eprintln!(
        "auth lab check: {} ms ({extra})",
        doc["probes"][0]["duration_ms"]
    );
    (doc["probes"][0].clone(), all)
}

fn dp_item(p: &serde_json::Value) -> &serde_json::Value {
    &p["report"]["items"][0]
}

/// A real Apache + mod_auth_gssapi + gss-ntlmssp DP (WebDAV, byte ranges) refusing anonymous
/// access: with the right NTLM password HEAD, the ranged GET and PROPFIND are all checked;
/// with a wrong one the DP is CRITICAL "credentials refused" naming the user; without
/// credentials it stays UNKNOWN and the fix says how to give some. The password appears in
/// no output.
#[test]
fn ntlm_against_a_real_acceptor() {
    let lab = patchdeck_tests::authlab::AuthLab::start();
    let url = lab.ntlm_url();
    let pw = lab.password_file.display().to_string();
    let ok =
        format!("auth = {{ user = \"CORP\\\\svc-patchdeck\", password = {{ file = \"{pw}\" }} }}");
    let (p, all) = check_lab(
        &lab,
        &format!("{{ name = \"DP01\", url = \"{url}\" }}"),
        &ok,
    );
    assert_eq!(p["status"], "ok", "{all}\n--- apache ---\n{}", lab.log());
    let it = dp_item(&p);
    let details = it["details"].to_string();
    assert!(details.contains("206"), "{details}");
    assert!(details.contains("PROPFIND 207"), "{details}");
    assert!(
        details.contains("NTLM as user CORP\\\\svc-patchdeck"),
        "{details}"
    );
    assert!(
        !all.contains(patchdeck_tests::authlab::NTLM_PASSWORD),
        "{all}"
    );

    let wrong = lab.dir.join("wrong.secret");
    std::fs::write(&wrong, "not-the-password").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).unwrap();
    let bad = format!(
        "auth = {{ user = \"CORP\\\\svc-patchdeck\", password = {{ file = \"{}\" }} }}",
        wrong.display()
    );
    let (p, all) = check_lab(
        &lab,
        &format!("{{ name = \"DP01\", url = \"{url}\" }}"),
        &bad,
    );
    assert_eq!(p["status"], "critical", "{all}");
    assert_eq!(
        dp_item(&p)["summary"],
        "credentials refused (user CORP\\svc-patchdeck, NTLM)"
    );
    assert_eq!(dp_item(&p)["rule"], "bits.login");
    assert!(!all.contains("not-the-password"), "{all}");

    let (p, all) = check_lab(&lab, &format!("{{ name = \"DP01\", url = \"{url}\" }}"), "");
    assert_eq!(p["status"], "unknown", "{all}");
    let fix = dp_item(&p)["fix"].as_str().unwrap().to_owned();
    assert!(
        fix.contains("Give the probe credentials instead: auth = "),
        "{fix}"
    );
}

/// Kerberos (Negotiate) with a client keytab against the same Apache and an MIT KDC: all
/// three requests are checked; a principal the KDC does not know cannot get a ticket, which
/// is UNKNOWN (the DP is not known broken) with the library's words.
#[test]
fn kerberos_against_a_real_kdc_and_acceptor() {
    let lab = patchdeck_tests::authlab::AuthLab::start();
    let url = lab.krb_url();
    let kt = lab.client_keytab.display().to_string();
    let auth = format!(
        "auth = {{ kerberos = true, principal = \"{}\", keytab = \"{kt}\" }}",
        patchdeck_tests::authlab::KRB_PRINCIPAL
    );
    let (p, all) = check_lab(
        &lab,
        &format!("{{ name = \"DP01\", url = \"{url}\" }}"),
        &auth,
    );
    assert_eq!(p["status"], "ok", "{all}\n--- apache ---\n{}", lab.log());
    let details = dp_item(&p)["details"].to_string();
    assert!(
        details.contains("Negotiate as principal svc-patchdeck@CORP.EXAMPLE"),
        "{details}"
    );
    assert!(details.contains("PROPFIND 207"), "{details}");

    let unknown = format!(
        "auth = {{ kerberos = true, principal = \"nobody@CORP.EXAMPLE\", keytab = \"{kt}\" }}"
    );
    let (p, all) = check_lab(
        &lab,
        &format!("{{ name = \"DP01\", url = \"{url}\" }}"),
        &unknown,
    );
    assert_eq!(p["status"], "unknown", "{all}");
    let s = dp_item(&p)["summary"].as_str().unwrap().to_owned();
    assert!(
        s.starts_with("cannot log in as principal nobody@CORP.EXAMPLE: "),
        "{s}"
    );
    // An expired account: the KDC refuses it a ticket. UNKNOWN, naming the principal.
    let expired = format!(
        "auth = {{ kerberos = true, principal = \"expired-svc@CORP.EXAMPLE\", keytab = \"{}\" }}",
        lab.expired_keytab.display()
    );
    let (p, all) = check_lab(
        &lab,
        &format!("{{ name = \"DP01\", url = \"{url}\" }}"),
        &expired,
    );
    assert_eq!(p["status"], "unknown", "{all}");
    let s = dp_item(&p)["summary"].as_str().unwrap().to_owned();
    assert!(
        s.starts_with("cannot log in as principal expired-svc@CORP.EXAMPLE: ")
            && s.contains("expired"),
        "{s}"
    );
    // No keytab and an empty ticket cache: no credentials to start with.
    let (p, all) = check_lab(
        &lab,
        &format!("{{ name = \"DP01\", url = \"{url}\" }}"),
        "auth = { kerberos = true }",
    );
    assert_eq!(p["status"], "unknown", "{all}");
}

/// A DP whose every answer is `raw` (a 401 with the given WWW-Authenticate), recording the
/// Authorization headers it got.
fn hostile_dp(www: &'static str) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let base = stub_server(move |req: &StubRequest| {
        if let Some(a) = req.header("authorization") {
            log.lock().unwrap().push(a.to_owned());
        }
        format!(
            "HTTP/1.1 401 Unauthorized\r\nServer: Microsoft-IIS/6.0\r\n{www}Content-Length: 0\r\n\r\n"
        )
        .into_bytes()
    });
    (base, seen)
}

async fn check_with_ntlm(base: &str) -> patchdeck_core::store::CheckResult {
    let dir = scratch("bits-hostile-auth");
    let secret = dir.join("pw");
    std::fs::write(&secret, "S3cret-Pass").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = format!(
        "[[probe]]\nid = \"b\"\nplugin = \"bits\"\ntimeout = \"5s\"\n[probe.config]\ndistribution_points = [{{ name = \"DP01\", url = \"{base}/SMS_DP_SMSPKGD%24/X/f.cab\" }}]\nauth = {{ user = \"CORP\\\\svc\", password = {{ file = \"{}\" }} }}\n",
        secret.display()
    );
    check_once(&dir, &cfg).await
}

/// Servers that break the handshake: Basic only (a password is never sent in clear), a
/// token that is not base64, an oversized token. Each is a CRITICAL verdict naming what the
/// server did; the password never leaves in clear.
#[tokio::test]
async fn hostile_login_answers_are_verdicts_and_basic_is_never_answered() {
    let (base, seen) = hostile_dp("WWW-Authenticate: Basic realm=\"dp\"\r\n");
    let r = check_with_ntlm(&base).await;
    assert_eq!(r.status, Status::Critical, "{}", r.summary);
    let it = &r.report.as_ref().unwrap().items[0];
    assert!(
        it.summary
            .starts_with("HTTP 401 without Windows authentication (offers: Basic)"),
        "{}",
        it.summary
    );
    assert!(
        it.evidence
            .as_deref()
            .unwrap()
            .contains("a password is never sent in clear"),
        "{:?}",
        it.evidence
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "sent: {:?}",
        seen.lock().unwrap()
    );

    let (base, _) = hostile_dp("WWW-Authenticate: NTLM !!not-base64!!\r\n");
    let r = check_with_ntlm(&base).await;
    let it = &r.report.as_ref().unwrap().items[0];
    assert_eq!(it.status, Status::Critical, "{}", it.summary);
    assert!(it.summary.contains("token is not base64"), "{}", it.summary);
    assert_eq!(it.rule.as_deref(), Some("bits.login"));

    let big: &'static str =
        Box::leak(format!("WWW-Authenticate: NTLM {}\r\n", "QUFB".repeat(12_800)).into_boxed_str());
    let (base, _) = hostile_dp(big);
    let r = check_with_ntlm(&base).await;
    let it = &r.report.as_ref().unwrap().items[0];
    assert_eq!(it.status, Status::Critical, "{}", it.summary);
    assert!(
        it.summary.contains("over the 49152-byte limit"),
        "{}",
        it.summary
    );
    // Whatever the server did, the password is in no Authorization header.
    for h in seen.lock().unwrap().iter() {
        assert!(!h.contains("S3cret-Pass"), "{h}");
    }
}

/// A DP that keeps asking: it answers the client's last NTLM message with yet another
/// challenge (a real one, from gss-ntlmssp) instead of the content. Bounded: CRITICAL
/// "login failed" after the handshake, never an endless loop.
#[tokio::test]
async fn a_dp_that_loops_on_401_is_a_bounded_verdict() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let dir = scratch("bits-loop");
    let users = dir.join("users");
    std::fs::write(&users, "CORP:svc:S3cret-Pass\n").unwrap();
    let acceptor = std::sync::Arc::new(
        patchdeck_kit::gssapi::Acceptor::ntlm("127.0.0.1", &users.display().to_string())
            .expect("gss-ntlmssp"),
    );
    let legs = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = legs.clone();
    let base = patchdeck_sitesim::http::serve_stateful(
        move |req: &StubRequest, ctx: &mut Option<patchdeck_kit::gssapi::AcceptContext>| {
            let token = req
                .header("authorization")
                .and_then(|a| a.strip_prefix("NTLM "))
                .and_then(|t| b64.decode(t).ok());
            let www = match token {
                None => "WWW-Authenticate: NTLM\r\n".to_owned(),
                Some(t) => {
                    counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let c = ctx.get_or_insert_with(|| acceptor.context());
                    // A challenge for the first message; for the last one, a fresh
                    // challenge again (a broken server asking forever).
                    let out = match c.step(&t) {
                        Ok((out, false)) => out,
                        _ => {
                            acceptor
                                .context()
                                .step(&t_negotiate())
                                .unwrap_or_default()
                                .0
                        }
                    };
                    format!("WWW-Authenticate: NTLM {}\r\n", b64.encode(out))
                }
            };
            let head = format!(
                "HTTP/1.1 401 Unauthorized\r\n{www}Content-Length: 0\r\nConnection: keep-alive\r\n\r\n"
            );
            (head.into_bytes(), true)
        },
    );
    let secret = dir.join("pw");
    std::fs::write(&secret, "S3cret-Pass").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = format!(
        "[[probe]]\nid = \"b\"\nplugin = \"bits\"\ntimeout = \"5s\"\n[probe.config]\nwebdav = false\ndistribution_points = [{{ name = \"DP01\", url = \"{base}/SMS_DP_SMSPKGD%24/X/f.cab\" }}]\nauth = {{ user = \"CORP\\\\svc\", password = {{ file = \"{}\" }} }}\n",
        secret.display()
    );
    let r = check_once(&dir, &cfg).await;
    let it = &r.report.as_ref().unwrap().items[0];
    assert_eq!(it.status, Status::Critical, "{}", it.summary);
    assert!(
        it.summary
            .contains("asked for another NTLM leg after the handshake was complete"),
        "{}",
        it.summary
    );
    assert!(legs.load(std::sync::atomic::Ordering::Relaxed) <= 4);
}

/// A NEGOTIATE message from a fresh client context (what the looping server answers).
fn t_negotiate() -> Vec<u8> {
    let cred =
        std::sync::Arc::new(patchdeck_kit::gssapi::Credential::ntlm("CORP\\x", "y").unwrap());
    patchdeck_kit::gssapi::Context::new(cred, "127.0.0.1")
        .unwrap()
        .step(None)
        .unwrap()
}

#[tokio::test]
async fn duplicate_dp_names_are_a_config_error() {
    let dir = scratch("bits-dup");
    let r = check_once(&dir, "[[probe]]\nid = \"b\"\nplugin = \"bits\"\n[probe.config]\ndistribution_points = [{ name = \"DP01\", url = \"http://dp01/x.cab\" }, { name = \"dp01\", url = \"http://dp02/x.cab\" }]\n").await;
    assert_eq!(
        r.summary,
        "plugin rejected its config: field `distribution_points[1].name`: \"dp01\" is also distribution_points[0]'s name; names must be unique"
    );
}
