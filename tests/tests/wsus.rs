//! The real `wsus` plugin (.so, isolated runner) against a loopback WSUS 3.0 that answers
//! like IIS 6 + ASP.NET 2.0: GetConfig in several SOAP prefix styles and protocol versions,
//! faults, broken XML, a stopped WsusPool, missing self-update, down.

use patchdeck_probe_api::{Item, Status};
use patchdeck_tests::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const NS: &str = "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService";

#[derive(Clone, Copy)]
struct Sim {
    /// None: WSUS 2.0 (no ProtocolVersion property).
    protocol: Option<&'static str>,
    /// SOAP envelope prefix; "" = default namespace.
    prefix: &'static str,
    fault: Option<&'static str>,
    broken_xml: bool,
    pool_stopped: bool,
    selfupdate: bool,
    delay_ms: u64,
}

const SP2: Sim = Sim {
    protocol: Some("3.2"),
    prefix: "soap",
    fault: None,
    broken_xml: false,
    pool_stopped: false,
    selfupdate: true,
    delay_ms: 0,
};

fn reply(status: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nServer: Microsoft-IIS/6.0\r\nX-Powered-By: ASP.NET\r\nX-AspNet-Version: 2.0.50727\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn get_config(sim: Sim) -> String {
    let (p, decl) = if sim.prefix.is_empty() {
        (String::new(), format!(" xmlns=\"{ENV}\""))
    } else {
        (
            format!("{}:", sim.prefix),
            format!(" xmlns:{}=\"{ENV}\"", sim.prefix),
        )
    };
    let pv = sim
        .protocol
        .map(|v| format!("<ConfigurationProperty><Name>ProtocolVersion</Name><Value>{v}</Value></ConfigurationProperty>"))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><{p}Envelope{decl} xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><{p}Body>\
<GetConfigResponse xmlns=\"{NS}\"><GetConfigResult><LastChange>2026-11-20T13:45:12.000Z</LastChange>\
<IsRegistrationRequired>true</IsRegistrationRequired><Properties>\
<ConfigurationProperty><Name>MaxExtendedUpdatesPerRequest</Name><Value>50</Value></ConfigurationProperty>{pv}\
</Properties></GetConfigResult></GetConfigResponse></{p}Body></{p}Envelope>"
    )
}

fn wsus_server(sim: Sim, seen: Arc<Mutex<Vec<StubRequest>>>) -> String {
    stub_server(move |req| {
        seen.lock().unwrap().push(req.clone());
        std::thread::sleep(Duration::from_millis(sim.delay_ms));
        let service = [
            "/ClientWebService",
            "/SimpleAuthWebService",
            "/ApiRemoting30",
        ]
        .iter()
        .any(|p| req.path.starts_with(p));
        if sim.pool_stopped && service {
            return reply(
                "503 Service Unavailable",
                "Content-Type: text/html\r\n",
                "<h1>Service Unavailable</h1>",
            );
        }
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/ClientWebService/client.asmx") => reply("200 OK", "Content-Type: text/html\r\n", "<html>Client Web Service</html>"),
            ("POST", "/ClientWebService/client.asmx") => {
                if sim.broken_xml {
                    return reply("200 OK", "Content-Type: text/html\r\n", "<html><body>Server Error in '/ClientWebService' Application.</body></html>");
                }
                if let Some(code) = sim.fault {
                    let body = format!(
                        "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"{ENV}\"><s:Body><s:Fault><faultcode>s:Server</faultcode>\
<faultstring>Fault occurred</faultstring><detail><ErrorCode>{code}</ErrorCode><Message/></detail></s:Fault></s:Body></s:Envelope>"
                    );
                    return reply("500 Internal Server Error", "Content-Type: text/xml; charset=utf-8\r\n", &body);
                }
                reply("200 OK", "Content-Type: text/xml; charset=utf-8\r\n", &get_config(sim))
            }
            ("GET", "/SimpleAuthWebService/SimpleAuth.asmx") => reply("200 OK", "", "<html>Simple Auth</html>"),
            ("GET", "/ApiRemoting30/WebService.asmx") => reply("401 Unauthorized", "WWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\n", ""),
            ("HEAD", "/selfupdate/wuident.cab") if sim.selfupdate => {
                b"HTTP/1.1 200 OK\r\nServer: Microsoft-IIS/6.0\r\nAccept-Ranges: bytes\r\nContent-Length: 8192\r\nConnection: close\r\n\r\n".to_vec()
            }
            ("GET", "/selfupdate/wuident.cab") if sim.selfupdate => {
                let mut out = b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-99/8192\r\nContent-Length: 100\r\nConnection: close\r\n\r\n".to_vec();
                out.extend_from_slice(&[7u8; 100]);
                out
            }
            _ => reply("404 Not Found", "", ""),
        }
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

async fn run_with(sim: Sim, port80: Option<Sim>, extra: &str) -> Run {
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
    let e = engine(&dir, &cfg, &[]).await;
    let result = e.probes[0].run_once().await;
    e.shutdown().await;
    let seen = seen.lock().unwrap().clone();
    Run { result, seen }
}

async fn run(sim: Sim) -> Run {
    run_with(sim, Some(SP2), "").await
}

#[tokio::test]
async fn healthy_sp2_in_every_soap_prefix_style() {
    for prefix in ["soap", "s", ""] {
        let r = run(Sim { prefix, ..SP2 }).await;
        assert_eq!(r.result.status, Status::Ok, "{prefix}: {:?}", r.result);
        assert!(
            r.result
                .summary
                .starts_with("WSUS 3.0 SP2 (protocol 3.2) · 6/6 services OK · "),
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
    let r = run(SP2).await;
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
    let r = run(Sim {
        protocol: Some("3.0"),
        ..SP2
    })
    .await;
    assert_eq!(r.result.status, Status::Critical);
    assert_eq!(
        r.item("version").summary,
        "WSUS 3.0 RTM: ConfigMgr 2007 SP1 needs WSUS 3.0 SP1 or SP2"
    );

    let r = run(Sim {
        protocol: Some("3.1"),
        ..SP2
    })
    .await;
    assert_eq!(
        (r.result.status, r.item("version").summary.as_str()),
        (Status::Ok, "WSUS 3.0 SP1")
    );

    let r = run_with(
        Sim {
            protocol: Some("3.1"),
            ..SP2
        },
        Some(SP2),
        "configmgr_sp = \"SP2\"\nwindows7_clients = true",
    )
    .await;
    assert_eq!(r.result.status, Status::Warning);
    assert!(
        r.item("version")
            .summary
            .contains("WSUS 3.0 SP2 is needed for Windows 7 / Server 2008 R2 clients")
    );

    let r = run(Sim {
        protocol: None,
        ..SP2
    })
    .await;
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
    let r = run(Sim {
        fault: Some("ServerBusy"),
        ..SP2
    })
    .await;
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

    let r = run(Sim {
        broken_xml: true,
        ..SP2
    })
    .await;
    let v = r.item("version");
    assert_eq!(v.status, Status::Critical);
    assert!(
        v.summary
            .starts_with("invalid SOAP response: root element is {}html"),
        "{}",
        v.summary
    );

    let r = run(Sim {
        pool_stopped: true,
        ..SP2
    })
    .await;
    assert_eq!(r.result.status, Status::Critical);
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
        SP2,
        Some(Sim {
            selfupdate: false,
            ..SP2
        }),
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
    assert!(
        r.result.summary.contains("5/6 services OK · ")
            && r.result
                .summary
                .contains("Self-update (port 80): HEAD answered HTTP 404"),
        "{}",
        r.result.summary
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
        Sim {
            delay_ms: 150,
            ..SP2
        },
        Some(SP2),
        "latency_warn_ms = 50\nlatency_crit_ms = 5000",
    )
    .await;
    assert_eq!(r.result.status, Status::Warning, "{:?}", r.result.summary);
}
