//! A running simulated site: one loopback server per WSUS, DP and reporting point, each
//! answering from its spec (behind a lock, so chaos can change it while it runs).

use crate::http::{Request, closed_port, iis, iis_head, serve};
use crate::scenario::{DpSpec, RpSpec, Scenario, WsusSpec};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

const ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const NS: &str = "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService";

/// A running server and the spec it answers from.
pub struct Running<T> {
    pub name: String,
    pub base: String,
    pub spec: Arc<RwLock<T>>,
    /// Requests this server has answered: how often the site is polled.
    pub requests: Arc<std::sync::atomic::AtomicU64>,
}

pub struct Site {
    pub scenario: Scenario,
    pub wsus: Vec<Running<WsusSpec>>,
    pub dps: Vec<Running<DpSpec>>,
    pub reporting_points: Vec<Running<RpSpec>>,
    /// The service account's password file and the DPs' NTLM users file, when a DP logs
    /// clients in (a private folder, removed with the site).
    pub secrets: Option<PathBuf>,
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(d) = &self.secrets {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// The service account a logging-in DP accepts.
pub const SERVICE_USER: &str = "CORP\\svc-patchdeck";
const SERVICE_PASSWORD: &str = "Demo-Pass-1";

/// A private folder with the NTLM users file and the service account's password file.
fn write_secrets() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "patchdeck-sitesim-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    for (name, text) in [
        (
            "ntlm_users",
            format!("CORP:svc-patchdeck:{SERVICE_PASSWORD}\n"),
        ),
        ("dp.secret", SERVICE_PASSWORD.to_owned()),
    ] {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(dir.join(name))?;
        std::io::Write::write_all(&mut f, text.as_bytes())?;
    }
    Ok(dir)
}

/// Per connection of a logging-in DP: the handshake in progress, and whether it succeeded.
#[derive(Default)]
struct Login {
    ctx: Option<patchdeck_kit::gssapi::AcceptContext>,
    done: bool,
}

/// A DP with anonymous access off that logs clients in with NTLM: 401 until the handshake on
/// this connection completes, then the content as an anonymous DP would serve it.
fn dp_login_answer(
    d: &DpSpec,
    acceptor: &Arc<patchdeck_kit::gssapi::Acceptor>,
    req: &Request,
    login: &mut Login,
) -> (Vec<u8>, bool) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let challenge = |extra: &str, keep: bool| {
        let mut out = iis(
            "401 Unauthorized",
            &format!("{extra}Content-Type: text/html\r\n"),
            b"<h1>You are not authorized to view this page</h1>",
        );
        if keep {
            // The handshake continues on this connection.
            let text = String::from_utf8_lossy(&out)
                .replace("Connection: close", "Connection: keep-alive");
            out = text.into_bytes();
        }
        if req.method == "HEAD" {
            // No body after the headers of a HEAD answer: it would be read as the next
            // response on this kept-alive connection.
            if let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") {
                out.truncate(end + 4);
            }
        }
        (out, keep)
    };
    if !login.done {
        let token = req
            .header("authorization")
            .and_then(|a| {
                a.strip_prefix("NTLM ")
                    .or_else(|| a.strip_prefix("Negotiate "))
            })
            .and_then(|t| b64.decode(t.trim()).ok());
        let Some(token) = token else {
            return challenge(
                "WWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\n",
                true,
            );
        };
        let ctx = login.ctx.get_or_insert_with(|| acceptor.context());
        match ctx.step(&token) {
            Ok((out, false)) => {
                return challenge(
                    &format!("WWW-Authenticate: NTLM {}\r\n", b64.encode(out)),
                    true,
                );
            }
            Ok((_, true)) => login.done = true,
            Err(_) => {
                login.ctx = None;
                return challenge(
                    "WWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\n",
                    false,
                );
            }
        }
    }
    let served = DpSpec {
        anonymous: true,
        ..d.clone()
    };
    (dp_answer(&served, req), false)
}

fn read<T: Clone>(spec: &RwLock<T>) -> T {
    spec.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// GetConfig response in a prefix style, with or without ProtocolVersion.
pub fn get_config_response(prefix: &str, protocol: Option<&str>) -> String {
    let (p, decl) = if prefix.is_empty() {
        (String::new(), format!(" xmlns=\"{ENV}\""))
    } else {
        (format!("{prefix}:"), format!(" xmlns:{prefix}=\"{ENV}\""))
    };
    let pv = protocol
        .map(|v| format!("<ConfigurationProperty><Name>ProtocolVersion</Name><Value>{v}</Value></ConfigurationProperty>"))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><{p}Envelope{decl} xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><{p}Body>\
<GetConfigResponse xmlns=\"{NS}\"><GetConfigResult><LastChange>2026-11-20T13:45:12.000Z</LastChange>\
<IsRegistrationRequired>true</IsRegistrationRequired><AuthInfo><AuthPlugInInfo><PlugInID>SimpleTargeting</PlugInID>\
<ServiceUrl>SimpleAuthWebService/SimpleAuth.asmx</ServiceUrl></AuthPlugInInfo></AuthInfo><Properties>\
<ConfigurationProperty><Name>MaxExtendedUpdatesPerRequest</Name><Value>50</Value></ConfigurationProperty>{pv}\
</Properties></GetConfigResult></GetConfigResponse></{p}Body></{p}Envelope>"
    )
}

fn soap_fault(code: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"{ENV}\"><s:Body><s:Fault><faultcode>s:Server</faultcode>\
<faultstring>Fault occurred</faultstring><detail><ErrorCode>{code}</ErrorCode><Message/></detail></s:Fault></s:Body></s:Envelope>"
    )
}

/// How a WSUS 3.0 server answers.
pub fn wsus_answer(w: &WsusSpec, req: &Request) -> Vec<u8> {
    std::thread::sleep(Duration::from_millis(w.slow_ms));
    let vdir = req
        .path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let missing = |name: &str| w.missing.iter().any(|m| m.eq_ignore_ascii_case(name));
    let pooled =
        ["clientwebservice", "simpleauthwebservice", "apiremoting30"].contains(&vdir.as_str());
    if w.pool_stopped && pooled {
        return iis(
            "503 Service Unavailable",
            "Content-Type: text/html\r\n",
            b"<h1>Service Unavailable</h1>",
        );
    }
    if w.require_ssl && pooled {
        // IIS 6's page for a virtual root that requires SSL, reached over plain HTTP.
        return iis(
            "403 Forbidden",
            "Content-Type: text/html\r\n",
            b"<h2>HTTP Error 403.4 - Forbidden: SSL is required to view this resource.</h2>",
        );
    }
    let html = "Content-Type: text/html; charset=utf-8\r\n";
    match (req.method.as_str(), req.path.as_str()) {
        (_, "/ClientWebService/client.asmx") if missing("client") => {
            iis("404 Not Found", html, b"")
        }
        ("GET", "/ClientWebService/client.asmx") if w.http500 => {
            iis("500 Internal Server Error", html, b"<h1>Server Error</h1>")
        }
        ("GET", "/ClientWebService/client.asmx") => iis(
            "200 OK",
            html,
            b"<html><body>Client Web Service</body></html>",
        ),
        ("POST", "/ClientWebService/client.asmx") => {
            if w.broken_xml {
                return iis(
                    "200 OK",
                    html,
                    b"<html><body>Server Error in '/ClientWebService' Application.</body></html>",
                );
            }
            if let Some(code) = &w.fault {
                return iis(
                    "500 Internal Server Error",
                    "Content-Type: text/xml; charset=utf-8\r\n",
                    soap_fault(code).as_bytes(),
                );
            }
            let protocol = (w.protocol != "none").then_some(w.protocol.as_str());
            iis(
                "200 OK",
                "Content-Type: text/xml; charset=utf-8\r\n",
                get_config_response(&w.prefix, protocol).as_bytes(),
            )
        }
        ("GET", "/SimpleAuthWebService/SimpleAuth.asmx") if !missing("simpleauth") => {
            iis("200 OK", html, b"<html>SimpleAuth</html>")
        }
        ("GET", "/ApiRemoting30/WebService.asmx") if !missing("apiremoting") => iis(
            "401 Unauthorized",
            "WWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\n",
            b"",
        ),
        ("HEAD", "/selfupdate/wuident.cab") if !missing("selfupdate") => iis_head(
            "200 OK",
            "Accept-Ranges: bytes\r\nContent-Length: 8192\r\nContent-Type: application/octet-stream\r\n",
        ),
        ("GET", "/selfupdate/wuident.cab") if !missing("selfupdate") => {
            let mut out =
                b"HTTP/1.1 206 Partial Content\r\nServer: Microsoft-IIS/6.0\r\nContent-Range: bytes 0-99/8192\r\nContent-Length: 100\r\nConnection: close\r\n\r\n".to_vec();
            out.extend_from_slice(&[0x4d; 100]);
            out
        }
        _ => iis("404 Not Found", html, b""),
    }
}

/// How a BITS-enabled distribution point answers for any file under it.
pub fn dp_answer(d: &DpSpec, req: &Request) -> Vec<u8> {
    if !d.anonymous {
        return iis(
            "401 Unauthorized",
            "WWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\nContent-Type: text/html\r\n",
            b"<h1>You are not authorized to view this page</h1>",
        );
    }
    if d.forbidden {
        return iis("403 Forbidden", "", b"");
    }
    let n = d.size;
    let byte = |i: usize| (i % 251) as u8;
    match req.method.as_str() {
        "HEAD" => {
            let len = if d.content_length { format!("Content-Length: {n}\r\n") } else { String::new() };
            iis_head("200 OK", &format!("Accept-Ranges: bytes\r\n{len}"))
        }
        "GET" => {
            let range = req.header("range").and_then(|r| r.strip_prefix("bytes=")).and_then(|r| r.split_once('-'));
            match range.filter(|_| d.range).and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?))) {
                Some((a, b)) if a <= b && b < n => {
                    let body: Vec<u8> = (a..=b).map(byte).collect();
                    let (ra, rb) = if d.bad_content_range { (0, b - a) } else { (a, b) };
                    iis("206 Partial Content", &format!("Content-Range: bytes {ra}-{rb}/{n}\r\n"), &body)
                }
                _ => {
                    let body: Vec<u8> = (0..n).map(byte).collect();
                    iis("200 OK", "", &body)
                }
            }
        }
        "PROPFIND" if d.webdav => iis(
            "207 Multi-Status",
            "Content-Type: text/xml\r\n",
            b"<?xml version=\"1.0\"?><a:multistatus xmlns:a=\"DAV:\"><a:response><a:href>/</a:href></a:response></a:multistatus>",
        ),
        _ => iis("405 Method Not Allowed", "Allow: GET, HEAD\r\n", b""),
    }
}

/// How a reporting point answers an anonymous GET: the role lives in the
/// `SMSReporting_<site>` virtual directory; elsewhere the server is plain IIS (the default
/// page at `/`, 404 for other paths).
pub fn rp_answer(r: &RpSpec, req: &Request) -> Vec<u8> {
    let in_vdir = req
        .path
        .trim_start_matches('/')
        .get(..13)
        .is_some_and(|p| p.eq_ignore_ascii_case("SMSReporting_"));
    if !in_vdir {
        return if req.path == "/" {
            iis(
                "200 OK",
                "Content-Type: text/html\r\n",
                b"<html><title>Under Construction</title></html>",
            )
        } else {
            iis("404 Not Found", "Content-Type: text/html\r\n", b"")
        };
    }
    if let Some(code) = r.status {
        let reason = match code {
            404 => "Not Found",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Error",
        };
        return iis(
            &format!("{code} {reason}"),
            "Content-Type: text/html\r\n",
            b"",
        );
    }
    let auth = match r.auth.as_str() {
        "anonymous" => {
            return iis(
                "200 OK",
                "Content-Type: text/html\r\n",
                b"<html>SMS Reporting</html>",
            );
        }
        "negotiate" => "WWW-Authenticate: Negotiate\r\n",
        "ntlm" => "WWW-Authenticate: NTLM\r\n",
        _ => "WWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\n",
    };
    iis(
        "401 Unauthorized",
        &format!("{auth}Content-Type: text/html\r\n"),
        b"",
    )
}

fn start<T: Clone + Send + Sync + 'static>(
    name: &str,
    spec: T,
    down: bool,
    answer: fn(&T, &Request) -> Vec<u8>,
) -> Running<T> {
    let spec = Arc::new(RwLock::new(spec));
    let requests = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let base = if down {
        format!("http://127.0.0.1:{}", closed_port())
    } else {
        let (s, n) = (spec.clone(), requests.clone());
        serve(move |req| {
            n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            answer(&read(&s), req)
        })
    };
    Running {
        name: name.to_owned(),
        base,
        spec,
        requests,
    }
}

impl Site {
    /// Starts every server of a scenario on free loopback ports.
    pub fn start(scenario: Scenario) -> Site {
        let wsus = scenario
            .wsus
            .iter()
            .map(|w| start(&w.name, w.clone(), w.down, wsus_answer))
            .collect();
        let wants_login = scenario
            .dp
            .iter()
            .any(|d| d.login && !d.anonymous && !d.down);
        // Without gss-ntlmssp (or GSSAPI) the DP still refuses anonymous access; the config
        // then gives the probe no credentials and it says so.
        let login = if wants_login {
            write_secrets().ok().and_then(|dir| {
                let users = dir.join("ntlm_users");
                // gss-ntlmssp names itself in its challenge (MsvAvTargetName) and its initiator
                // refuses a name other than the one it asked for: the DPs are 127.0.0.1.
                patchdeck_kit::gssapi::Acceptor::ntlm("127.0.0.1", &users.to_string_lossy())
                    .ok()
                    .map(|a| (dir, Arc::new(a)))
            })
        } else {
            None
        };
        let dps = scenario
            .dp
            .iter()
            .map(|d| match &login {
                Some((_, acceptor)) if d.login && !d.anonymous && !d.down => {
                    let spec = Arc::new(RwLock::new(d.clone()));
                    let requests = Arc::new(std::sync::atomic::AtomicU64::new(0));
                    let (s, a, n) = (spec.clone(), acceptor.clone(), requests.clone());
                    let base = crate::http::serve_stateful(move |req, state: &mut Login| {
                        n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        dp_login_answer(&read(&s), &a, req, state)
                    });
                    Running {
                        name: d.name.clone(),
                        base,
                        spec,
                        requests,
                    }
                }
                _ => start(&d.name, d.clone(), d.down, dp_answer),
            })
            .collect();
        let reporting_points = scenario
            .reporting_point
            .iter()
            .map(|r| start(&r.name, r.clone(), r.down, rp_answer))
            .collect();
        Site {
            scenario,
            wsus,
            dps,
            reporting_points,
            secrets: login.map(|(dir, _)| dir),
        }
    }

    /// Requests the site's servers have answered so far (every WSUS, DP and reporting point).
    pub fn requests(&self) -> u64 {
        let n =
            |r: &Arc<std::sync::atomic::AtomicU64>| r.load(std::sync::atomic::Ordering::Relaxed);
        self.wsus.iter().map(|r| n(&r.requests)).sum::<u64>()
            + self.dps.iter().map(|r| n(&r.requests)).sum::<u64>()
            + self
                .reporting_points
                .iter()
                .map(|r| n(&r.requests))
                .sum::<u64>()
    }

    /// The content URL the bits probe checks on a DP.
    pub fn dp_content_url(&self, dp: &Running<DpSpec>) -> String {
        format!(
            "{}/SMS_DP_SMSPKGD%24/{}00012/setup.cab",
            dp.base, self.scenario.site
        )
    }

    /// Writes the scenario's inventory exports into `dir` (if it has any) and returns the
    /// config with probes for them added.
    pub fn config_toml_with_inventory(
        &self,
        interval: &str,
        dir: &std::path::Path,
    ) -> std::io::Result<String> {
        let (sup_rows, sup_extra) = self.write_sup_properties(dir)?;
        let sup_extra = sup_extra + &self.write_wsus_configuration(dir)?;
        let mut s = if self.scenario.inventory.is_some() {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let messages = dir.join("status_messages.csv");
            let t = |h: i64| crate::exports::timestamp(now - h * 3600);
            // CM2007 synchronises on a simple schedule of 7 days by default (7133d061), and
            // a synchronisation can take over an hour (a81f9571): the last run finished five
            // days ago, the one before a week earlier. v_StatusMessage holds every site of
            // the hierarchy: a child site's rows (it failed an hour ago) are in the export
            // too and must not count for this one.
            crate::exports::write_like_the_runner(
                &messages,
                format!(
                    "Component,MessageID,Time,SiteCode,MachineName\r\n\
SMS_WSUS_SYNC_MANAGER,6701,{},{site},SITE01\r\n\
SMS_WSUS_SYNC_MANAGER,6702,{},{site},SITE01\r\n\
SMS_WSUS_SYNC_MANAGER,6701,{},{site},SITE01\r\n\
SMS_WSUS_SYNC_MANAGER,6702,{},{site},SITE01\r\n\
SMS_WSUS_SYNC_MANAGER,6703,{},CHD,CHILD01\r\n\
SMS_WSUS_SYNC_MANAGER,6702,{},CHD,CHILD01\r\n",
                    t(12 * 24 + 2),
                    t(12 * 24),
                    t(5 * 24 + 2),
                    t(5 * 24),
                    t(1),
                    t(40),
                    site = self.scenario.site
                )
                .as_bytes(),
            )?;
            // The child site's failure carries its text in the insertion strings (6703,
            // 9647358a): a proxy that wants credentials. Not this site's: filtered out.
            let failures = dir.join("sync_failures.csv");
            crate::exports::write_like_the_runner(
                &failures,
                format!(
                    "RecordID,Time,SiteCode,InsStrIndex,InsStrValue\r\n\
7001,{t},CHD,0,WSUS Synchronization failed.\r\n\
7001,{t},CHD,1,Message: The request failed with HTTP status 407: Proxy Authentication Required.\r\n\
7001,{t},CHD,2,Source: Microsoft.UpdateServices.Administration.AdminProxy.CreateUpdateServer.\r\n",
                    t = t(1)
                )
                .as_bytes(),
            )?;
            // Component status: the child site's failure is an error of its sync manager
            // (another site: not counted), and one warning here, under any line.
            let component = dir.join("component_messages.csv");
            crate::exports::write_like_the_runner(
                &component,
                format!(
                    "Component,SiteCode,Severity,MessageID,Time,RecordID,InsStrIndex,InsStrValue\r\n\
SMS_WSUS_SYNC_MANAGER,CHD,-1073741824,6703,{t1},7001,1,Message: The request failed with HTTP status 407: Proxy Authentication Required.\r\n\
SMS_WSUS_CONFIGURATION_MANAGER,{site},-2147483648,6610,{t3},7002,NULL,NULL\r\n",
                    t1 = t(1),
                    t3 = t(3),
                    site = self.scenario.site
                )
                .as_bytes(),
            )?;
            // The console's component summary since 12:00 AM (SMS_ComponentSummarizer, tally
            // interval 0001128000100008: cc144830, cc144112), counted from the messages above
            // with the site server's clock at UTC: a row per component and computer it runs
            // on (WSUS Control Manager on the SUP), the child site's rows too (its sync
            // manager red with its failure), and a component patchdeck does not watch.
            let midnight = now - now.rem_euclid(86_400);
            let today = |h: i64| u32::from(now - h * 3600 >= midnight);
            let summary = dir.join("component_summary.csv");
            let (child_errors, warnings) = (today(1), today(3));
            crate::exports::write_like_the_runner(
                &summary,
                format!(
                    "SiteCode,MachineName,ComponentName,Status,State,Errors,Warnings\r\n\
{site},SITE01,SMS_WSUS_SYNC_MANAGER,0,1,0,0\r\n\
{site},SITE01,SMS_WSUS_CONFIGURATION_MANAGER,0,1,0,{warnings}\r\n\
{site},SUP01,SMS_WSUS_CONTROL_MANAGER,0,1,0,0\r\n\
{site},SITE01,SMS_SITE_COMPONENT_MANAGER,0,1,0,0\r\n\
CHD,CHILD01,SMS_WSUS_SYNC_MANAGER,{},1,{child_errors},0\r\n",
                    if child_errors > 0 { 2 } else { 0 },
                    site = self.scenario.site
                )
                .as_bytes(),
            )?;
            // The programs query lists every inventoried computer (DisplayName0 NULL when it
            // has no WSUS entry): the site server's console, and computers without one.
            let programs = dir.join("site_server_programs.csv");
            crate::exports::write_like_the_runner(
                &programs,
                b"Name0,DisplayName0,Version0\r\nSITE01,Windows Server Update Services 3.0 SP2,3.2.7600.226\r\nSQL01,NULL,NULL\r\nSUP01,Windows Server Update Services 3.0 SP2,3.2.7600.226\r\n",
            )?;
            let extra = format!(
                "status_messages_csv = \"{}\"\nsync_failures_csv = \"{}\"\ncomponent_messages_csv = \"{}\"\ncomponent_summary_csv = \"{}\"\nsite_code = \"{}\"\nsite_server_programs_csv = \"{}\"\nsite_server = \"SITE01\"\n{sup_extra}",
                messages.display(),
                failures.display(),
                component.display(),
                summary.display(),
                self.scenario.site,
                programs.display()
            );
            self.config_toml_inner(interval, &extra)
        } else {
            let extra = format!("site_code = \"{}\"\n{sup_extra}", self.scenario.site);
            self.config_toml_inner(interval, &extra)
        };
        if let Some(inv) = &self.scenario.inventory {
            let path = dir.join("scan_status.tsv");
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let sups = self
                .wsus
                .iter()
                .map(|w| format!("{}/ClientWebService/client.asmx", w.base))
                .collect();
            let o = crate::exports::ScanStatus {
                clients: inv.clients,
                seed: inv.seed,
                site: self.scenario.site.clone(),
                sups,
                now,
                encoding: crate::exports::Encoding::Utf16LeTab,
                healthy: inv.healthy,
            };
            let tmp = path.with_extension("tmp");
            let scan_rows = crate::exports::write_scan_status(&tmp, &o)?;
            std::fs::rename(&tmp, &path)?;
            // The demo's fleet is judged against WSUS 3.0 SP2's agent too (an assumption, a
            // warning at most); a healthy default site keeps the documented minimum only.
            s.push_str(&format!(
                "\n[[probe]]\nid = \"wua-clients\"\nplugin = \"wua\"\n[probe.config]\nscan_status_csv = \"{}\"\n{}",
                path.display(),
                if inv.healthy {
                    ""
                } else {
                    "expected_version = \"7.4.7600.226\"\n"
                }
            ));
            let (files, clients) = (dir.join("software_files.csv"), dir.join("clients.csv"));
            let (tf, tc) = (files.with_extension("tmp"), clients.with_extension("tmp2"));
            let (file_rows, client_rows) = crate::exports::write_software_inventory(&tf, &tc, &o)?;
            std::fs::rename(&tf, &files)?;
            std::fs::rename(&tc, &clients)?;
            // The manifest last, as the kit's runner writes it: the exports were taken now.
            crate::exports::write_manifest(
                dir,
                &self.scenario.site,
                &[
                    ("status_messages.csv", 6, now),
                    ("site_server_programs.csv", 3, now),
                    ("scan_status.tsv", scan_rows, now),
                    ("software_files.csv", file_rows, now),
                    ("clients.csv", client_rows, now),
                    ("sup_properties.csv", sup_rows, now),
                    ("sync_failures.csv", 3, now),
                    ("component_messages.csv", 2, now),
                    ("component_summary.csv", 5, now),
                ],
            )?;
            s.push_str(&format!(
                "\n[[probe]]\nid = \"msi-clients\"\nplugin = \"msi\"\n[probe.config]\nsoftware_files_csv = \"{}\"\nclients_csv = \"{}\"\n",
                files.display(),
                clients.display()
            ));
            let sups: Vec<String> = self
                .wsus
                .iter()
                .map(|w| format!("{{ url = \"{}\" }}", w.base))
                .collect();
            s.push_str(&format!(
                "\n[[probe]]\nid = \"sup-capacity\"\nplugin = \"sup-capacity\"\n[probe.config]\nscan_status_csv = \"{}\"\nsups = [{}]\n",
                path.display(),
                sups.join(", ")
            ));
        }
        Ok(s)
    }

    /// A patchdeck config pointing the real plugins at this site (network probes only).
    pub fn config_toml(&self, interval: &str) -> String {
        self.config_toml_inner(interval, "")
    }

    /// `wsus_extra`: more lines for every wsus probe's config (inventory exports).
    /// The SUP properties export (sup_properties.sql): each simulated WSUS is a SUP whose
    /// WSUSIISPort is the port it answers on (or the scenario's `sup_http_port`), with
    /// WSUSIISSSLPort and SSLWSUS as the scenario says. Returns the row count and the config
    /// lines for the wsus probes (`{SUP}` stands for each one's name).
    fn write_sup_properties(&self, dir: &std::path::Path) -> std::io::Result<(usize, String)> {
        let path = dir.join("sup_properties.csv");
        let mut text = String::from("SiteCode,ServerName,PropertyName,Value\r\n");
        let mut rows = 0;
        for w in &self.wsus {
            let spec = read(&w.spec);
            let port = w
                .base
                .rsplit(':')
                .next()
                .and_then(|p| p.trim_end_matches('/').parse::<u16>().ok())
                .unwrap_or(8530);
            let http = spec.sup_http_port.unwrap_or(port);
            // Nothing speaks TLS here: an SSL SUP points its SSL port at the plain listener.
            for (name, value) in [
                ("WSUSIISPort", http),
                ("WSUSIISSSLPort", port),
                ("SSLWSUS", u16::from(spec.sup_ssl)),
            ] {
                text.push_str(&format!(
                    "{},{},{name},{value}\r\n",
                    self.scenario.site, w.name
                ));
                rows += 1;
            }
        }
        crate::exports::write_like_the_runner(&path, text.as_bytes())?;
        Ok((
            rows,
            format!(
                "sup_properties_csv = \"{}\"\nsup_server = \"{{SUP}}\"\n",
                path.display()
            ),
        ))
    }

    /// The WSUS configuration export (wsus_configuration.sql, run against each SUP's SUSDB:
    /// the kit's fifth argument, one output folder per SUP with its own manifest): the site is
    /// the top of its hierarchy (the child site CHD reports to it), so its SUPs synchronise
    /// from Microsoft Update unless the scenario says someone changed that. Returns the
    /// config lines for the wsus probes (`{SUP}` stands for each one's name).
    fn write_wsus_configuration(&self, dir: &std::path::Path) -> std::io::Result<String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        for w in &self.wsus {
            let spec = read(&w.spec);
            let out = dir.join(format!("susdb-{}", w.name));
            std::fs::create_dir_all(&out)?;
            let row = match &spec.wsus_upstream {
                None => "1,NULL".to_owned(),
                Some(upstream) => format!("0,{upstream}"),
            };
            crate::exports::write_like_the_runner(
                &out.join("wsus_configuration.csv"),
                format!("SyncToMu,UpstreamServerName\r\n{row}\r\n").as_bytes(),
            )?;
            crate::exports::write_manifest(
                &out,
                &self.scenario.site,
                &[("wsus_configuration.csv", 1, now)],
            )?;
        }
        Ok(format!(
            "wsus_configuration_csv = \"{}\"\nsync_from = \"microsoft-update\"\n",
            dir.join("susdb-{SUP}")
                .join("wsus_configuration.csv")
                .display()
        ))
    }

    fn config_toml_inner(&self, interval: &str, wsus_extra: &str) -> String {
        let mut s = format!(
            "# Generated by patchdeck-sitesim for site {site}.\n[settings]\nsite = \"{site} (simulated)\"\ninterval = \"{interval}\"\ntimeout = \"10s\"\n",
            site = self.scenario.site
        );
        for w in &self.wsus {
            s.push_str(&format!(
                "\n[[probe]]\nid = \"wsus-{}\"\nplugin = \"wsus\"\n[probe.config]\nurl = \"{}\"\nselfupdate_url = \"{}/selfupdate/wuident.cab\"\nconfigmgr_sp = \"SP2\"\nwindows7_clients = true\n{wsus_extra}",
                w.name.to_lowercase(),
                w.base,
                w.base,
                wsus_extra = wsus_extra.replace("{SUP}", &w.name)
            ));
        }
        if !self.dps.is_empty() {
            let list: Vec<String> = self
                .dps
                .iter()
                .map(|d| {
                    format!(
                        "  {{ name = \"{}\", url = \"{}\" }},",
                        d.name,
                        self.dp_content_url(d)
                    )
                })
                .collect();
            s.push_str(&format!("\n[[probe]]\nid = \"bits-dps\"\nplugin = \"bits\"\n[probe.config]\ndistribution_points = [\n{}\n]\n", list.join("\n")));
            if let Some(dir) = &self.secrets {
                // The service account the logging-in DPs accept (anonymous DPs never ask).
                s.push_str(&format!(
                    "auth = {{ user = \"CORP\\\\svc-patchdeck\", password = {{ file = \"{}\" }} }}\n",
                    dir.join("dp.secret").display()
                ));
            }
        }
        for r in &self.reporting_points {
            s.push_str(&format!(
                "\n[[probe]]\nid = \"rp-{}\"\nplugin = \"reporting-point\"\n[probe.config]\nurl = \"{}/SMSReporting_{site}/\"\nsite_code = \"{site}\"\n",
                r.name.to_lowercase(),
                r.base,
                site = self.scenario.site
            ));
        }
        s
    }

    /// Flips one fault somewhere (for `--chaos`): step `n` picks what, deterministically.
    pub fn chaos_step(&self, n: usize) -> String {
        let targets = self.wsus.len() + self.dps.len() + self.reporting_points.len();
        if targets == 0 {
            return "nothing to flip".into();
        }
        let mut i = n % targets;
        if i < self.wsus.len() {
            let w = &self.wsus[i];
            let mut spec = w.spec.write().unwrap_or_else(|e| e.into_inner());
            spec.pool_stopped = !spec.pool_stopped;
            return format!(
                "{}: WsusPool {}",
                w.name,
                if spec.pool_stopped {
                    "stopped"
                } else {
                    "started"
                }
            );
        }
        i -= self.wsus.len();
        if i < self.dps.len() {
            let d = &self.dps[i];
            let mut spec = d.spec.write().unwrap_or_else(|e| e.into_inner());
            spec.range = !spec.range;
            return format!(
                "{}: Range support {}",
                d.name,
                if spec.range { "on" } else { "off" }
            );
        }
        i -= self.dps.len();
        let r = &self.reporting_points[i];
        let mut spec = r.spec.write().unwrap_or_else(|e| e.into_inner());
        spec.status = if spec.status.is_some() {
            None
        } else {
            Some(500)
        };
        format!(
            "{}: {}",
            r.name,
            if spec.status.is_some() {
                "HTTP 500"
            } else {
                "healthy"
            }
        )
    }
}
