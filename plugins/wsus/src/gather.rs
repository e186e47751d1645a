//! The wsus probe's I/O: HTTP to the WSUS server and the site-database exports, turned into
//! facts that [`crate::judge`] judges without touching the network or the disk.

use patchdeck_kit::host;
use patchdeck_kit::http::{Http, HttpError};
use patchdeck_kit::inventory;
use patchdeck_kit::wsus::{self, GetConfigCall};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A GET of a web service: the URL and the HTTP status (or why there was none).
#[derive(Debug, Clone)]
pub struct Get {
    pub url: String,
    pub answer: Result<u16, HttpError>,
    /// What logging in did (admin API with credentials).
    pub login: patchdeck_kit::auth::Outcome,
    /// IIS answered 403.4 "SSL required" (SSL is on and this was plain HTTP).
    pub ssl_required: bool,
}

pub fn get(http: &Http, url: String) -> Get {
    let mut ssl_required = false;
    let mut login = patchdeck_kit::auth::Outcome::Anonymous;
    let answer = http.get(&url).map(|r| {
        ssl_required = wsus::ssl_required(r.status, &r.text());
        login = r.auth.clone();
        r.status
    });
    Get {
        url,
        answer,
        login,
        ssl_required,
    }
}

/// wuident.cab: HEAD (status, Content-Length) and, when HEAD gave a size, a ranged GET.
#[derive(Debug, Clone)]
pub struct SelfUpdate {
    pub url: String,
    pub head: Result<(u16, Option<u64>), HttpError>,
    /// The Range header sent and the status that came back.
    pub range: Option<(String, Result<u16, HttpError>)>,
}

pub fn selfupdate(http: &Http, url: &str) -> SelfUpdate {
    let head = http.head(url).map(|r| {
        let len = r
            .header("Content-Length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        (r.status, len)
    });
    let range = match &head {
        Ok((200, Some(len))) => {
            let range = format!("bytes=0-{}", len.saturating_sub(1).min(99));
            let answer = http
                .request("GET", url, &[("Range", &range)], None, 4096)
                .map(|r| r.status);
            Some((range, answer))
        }
        _ => None,
    };
    SelfUpdate {
        url: url.to_owned(),
        head,
        range,
    }
}

/// SMS_WSUS_SYNC_MANAGER status messages of the watched site.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sync {
    /// When the export was written (its mtime), seconds since the epoch.
    pub taken: Option<i64>,
    /// Newest 6702 (sync done) and 6703 (sync failed), seconds since the epoch.
    pub last_ok: Option<i64>,
    pub last_fail: Option<i64>,
    /// Sync-manager rows of other sites, ignored, per site code.
    pub other_sites: BTreeMap<String, u64>,
    /// Every site code seen in sync-manager rows (when no site_code is configured).
    pub sites: BTreeSet<String>,
}

/// A row whose site code (column `col`) is not the watched site's: every export holds the
/// whole hierarchy's rows, and only the watched site's count.
fn of_another_site(row: &inventory::Row, col: usize, site_code: Option<&str>) -> bool {
    site_code.is_some_and(|want| !row.get(col).unwrap_or("").eq_ignore_ascii_case(want))
}

/// When an export was taken: the manifest's time, else the file's mtime (Unix seconds).
fn taken(csv: &Path) -> Option<i64> {
    patchdeck_kit::exports::taken(csv).map(patchdeck_kit::time::unix)
}

pub fn sync(csv: &Path, site_code: Option<&str>) -> Result<Sync, String> {
    let mut s = Sync::default();
    inventory::read(
        csv,
        &patchdeck_kit::exports::STATUS_MESSAGES.columns[..4],
        |row| {
            if !row
                .get(0)
                .is_some_and(|c| c.eq_ignore_ascii_case("SMS_WSUS_SYNC_MANAGER"))
            {
                return Ok(());
            }
            let site = row.get(3).unwrap_or("").to_ascii_uppercase();
            if let Some(want) = site_code
                && !site.eq_ignore_ascii_case(want)
            {
                *s.other_sites.entry(site).or_default() += 1;
                return Ok(());
            }
            s.sites.insert(site);
            let Some(t) = row.get(2) else { return Ok(()) };
            let t = inventory::parse_timestamp(t)
                .ok_or_else(|| row.error(2, format!("expected a time, got {t:?}")))?;
            match row.get(1) {
                Some("6702") => s.last_ok = s.last_ok.max(Some(t)),
                Some("6703") => s.last_fail = s.last_fail.max(Some(t)),
                _ => {}
            }
            Ok(())
        },
    )
    .map_err(|e| e.to_string())?;
    s.taken = taken(csv);
    Ok(s)
}

/// The newest 6703 (sync failed) of the watched site with its text: the insertion strings in
/// index order, one per line.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncFailure {
    pub time: i64,
    pub text: String,
}

/// Longest 6703 text kept (the item clips what it shows further).
const MAX_FAILURE_TEXT: usize = 16 * 1024;

pub fn sync_failure(csv: &Path, site_code: Option<&str>) -> Result<Option<SyncFailure>, String> {
    // RecordID -> (time, index -> string)
    let mut records: BTreeMap<i64, (i64, BTreeMap<i64, String>)> = BTreeMap::new();
    inventory::read(csv, patchdeck_kit::exports::SYNC_FAILURES.columns, |row| {
        if of_another_site(row, 2, site_code) {
            return Ok(());
        }
        let id = row.id(0)?;
        let t = row.get(1).unwrap_or("");
        let t = inventory::parse_timestamp(t)
            .ok_or_else(|| row.error(1, format!("expected a time, got {t:?}")))?;
        let index = row.id(3)?;
        let value = row.get(4).unwrap_or("");
        let value = if value == "NULL" { "" } else { value };
        let e = records.entry(id).or_insert((t, BTreeMap::new()));
        let kept: usize = e.1.values().map(String::len).sum();
        if kept < MAX_FAILURE_TEXT {
            e.1.insert(index, value.to_owned());
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok(records
        .into_values()
        .max_by_key(|(t, _)| *t)
        .map(|(time, strings)| SyncFailure {
            time,
            text: strings
                .into_values()
                .filter(|s| !s.trim().is_empty())
                .collect::<Vec<_>>()
                .join("\n"),
        }))
}

/// SMS_StatusMessage's Severity values (the SMS_StatusMessage class): 0xC0000000 error,
/// 0x80000000 warning, as the site database stores them (signed 32-bit).
pub const SEVERITY_ERROR: i64 = -1_073_741_824;
pub const SEVERITY_WARNING: i64 = -2_147_483_648;

/// One component's error and warning messages in the window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComponentCounts {
    pub errors: u64,
    pub warnings: u64,
    /// The newest error: time, message id, insertion strings joined.
    pub latest_error: Option<(i64, i64, String)>,
}

/// The component messages export, counted per watched component.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Components {
    /// When the export was taken (manifest, else mtime).
    pub taken: Option<i64>,
    pub counts: BTreeMap<String, ComponentCounts>,
}

/// Longest text kept per error message.
const MAX_MESSAGE_TEXT: usize = 4 * 1024;

/// Counts each watched component's errors and warnings newer than `window` seconds before
/// the export was taken.
pub fn components(
    csv: &Path,
    site_code: Option<&str>,
    watched: &[String],
    window: i64,
) -> Result<Components, String> {
    struct Record {
        component: usize,
        error: bool,
        id: i64,
        time: i64,
        strings: BTreeMap<i64, String>,
    }
    let mut records: BTreeMap<i64, Record> = BTreeMap::new();
    inventory::read(
        csv,
        patchdeck_kit::exports::COMPONENT_MESSAGES.columns,
        |row| {
            let Some(component) = watched
                .iter()
                .position(|c| row.get(0).is_some_and(|r| r.eq_ignore_ascii_case(c)))
            else {
                return Ok(());
            };
            if of_another_site(row, 1, site_code) {
                return Ok(());
            }
            let severity = row.id(2)?;
            let error = match severity {
                SEVERITY_ERROR => true,
                SEVERITY_WARNING => false,
                other => {
                    return Err(row.error(
                        2,
                        format!("{other} is not an error (-1073741824) or warning (-2147483648) severity"),
                    ));
                }
            };
            let id = row.id(3)?;
            let t = row.get(4).unwrap_or("");
            let time = inventory::parse_timestamp(t)
                .ok_or_else(|| row.error(4, format!("expected a time, got {t:?}")))?;
            let record = row.id(5)?;
            let r = records.entry(record).or_insert(Record {
                component,
                error,
                id,
                time,
                strings: BTreeMap::new(),
            });
            if error
                && let (Some(i), Some(v)) = (row.get(6), row.get(7))
                && let Ok(i) = i.trim().parse::<i64>()
                && v != "NULL"
                && r.strings.values().map(String::len).sum::<usize>() < MAX_MESSAGE_TEXT
            {
                r.strings.insert(i, v.to_owned());
            }
            Ok(())
        },
    )
    .map_err(|e| e.to_string())?;
    let taken = taken(csv);
    let since = taken.unwrap_or(i64::MAX).saturating_sub(window);
    let mut counts: BTreeMap<String, ComponentCounts> = watched
        .iter()
        .map(|c| (c.clone(), ComponentCounts::default()))
        .collect();
    for r in records.into_values().filter(|r| r.time >= since) {
        let c = counts.get_mut(&watched[r.component]).expect("watched");
        if r.error {
            c.errors += 1;
            if c.latest_error.as_ref().is_none_or(|(t, _, _)| r.time > *t) {
                let text = r
                    .strings
                    .into_values()
                    .filter(|s| !s.trim().is_empty())
                    .collect::<Vec<_>>()
                    .join(" · ");
                c.latest_error = Some((r.time, r.id, text));
            }
        } else {
            c.warnings += 1;
        }
    }
    Ok(Components { taken, counts })
}

/// One component on one computer, as the console's component summary has it.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub machine: String,
    /// SMS_ComponentSummarizer.Status: 0 green, 1 yellow, 2 red.
    pub status: i64,
    /// SMS_ComponentSummarizer.State: 0 stopped, 1 started, 2 paused, 3 installing,
    /// 4 re-installing, 5 de-installing.
    pub state: i64,
    pub errors: u64,
    pub warnings: u64,
}

/// The component summary export: the watched components' rows of the watched site.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// When the export was taken (manifest, else mtime).
    pub taken: Option<i64>,
    /// Per watched component (its name as configured), a row per computer; none: no row.
    pub rows: BTreeMap<String, Vec<SummaryRow>>,
}

/// Rows kept per component (one per computer it runs on).
const MAX_SUMMARY_ROWS: usize = 64;

pub fn summary(csv: &Path, site_code: Option<&str>, watched: &[String]) -> Result<Summary, String> {
    let mut rows: BTreeMap<String, Vec<SummaryRow>> =
        watched.iter().map(|c| (c.clone(), Vec::new())).collect();
    inventory::read(
        csv,
        patchdeck_kit::exports::COMPONENT_SUMMARY.columns,
        |row| {
            if of_another_site(row, 0, site_code) {
                return Ok(());
            }
            let Some(name) = watched
                .iter()
                .find(|c| row.get(2).is_some_and(|r| r.eq_ignore_ascii_case(c)))
            else {
                return Ok(());
            };
            let count = |i: usize| {
                u64::try_from(row.id(i)?).map_err(|_| row.error(i, "a count below zero"))
            };
            let r = SummaryRow {
                // A computer's name (SMS: 16 characters; an FQDN at most 255), not a
                // megabyte-long line repeated in every summary built from it.
                machine: row.get(1).unwrap_or("").chars().take(255).collect(),
                status: row.id(3)?,
                state: row.id(4)?,
                errors: count(5)?,
                warnings: count(6)?,
            };
            let kept = rows.get_mut(name).expect("watched");
            if kept.len() < MAX_SUMMARY_ROWS {
                kept.push(r);
            }
            Ok(())
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(Summary {
        taken: taken(csv),
        rows,
    })
}

/// Where the WSUS server synchronises from, as its own database says (`wsus_configuration.sql`:
/// SUSDB's tbConfigurationA, "Verifying WSUS Server Settings", cc708545).
#[derive(Debug, Clone, PartialEq)]
pub struct WsusSource {
    /// SyncToMu: 1 Microsoft Update, 0 an upstream WSUS server.
    pub sync_to_mu: bool,
    /// UpstreamServerName, when set (empty or NULL: none).
    pub upstream: Option<String>,
    pub taken: Option<i64>,
}

pub fn wsus_source(csv: &Path) -> Result<WsusSource, String> {
    let mut found: Option<(bool, Option<String>)> = None;
    inventory::read(
        csv,
        patchdeck_kit::exports::WSUS_CONFIGURATION.columns,
        |row| {
            if found.is_some() {
                return Err(row.error(
                    0,
                    "a second row: tbConfigurationA holds the WSUS server's one configuration (was the query run against SUSDB?)",
                ));
            }
            let mu = match row.get(0).unwrap_or("").trim() {
                "1" | "True" | "true" => true,
                "0" | "False" | "false" => false,
                other => {
                    return Err(row.error(0, format!("expected 0 or 1, got {other:?}")));
                }
            };
            // The admin API refuses a name of 256 characters or more (bb294864): a longer
            // value is not a name, and is not carried into every summary built from it.
            let name = row.get(1).unwrap_or("").trim();
            let name = (!name.is_empty() && name != "NULL")
                .then(|| name.chars().take(255).collect::<String>());
            found = Some((mu, name));
            Ok(())
        },
    )
    .map_err(|e| e.to_string())?;
    let (sync_to_mu, upstream) = found.ok_or_else(|| {
        format!(
            "{}: no row (tbConfigurationA holds the WSUS server's configuration: was the query run against SUSDB?)",
            csv.display()
        )
    })?;
    Ok(WsusSource {
        sync_to_mu,
        upstream,
        taken: taken(csv),
    })
}

/// The WSUS 3.0 Administration Console on the site server.
#[derive(Debug, Clone, PartialEq)]
pub enum Console {
    /// WSUS itself runs on the site server (the SUP is co-located): no console needed.
    NotNeeded {
        server: String,
    },
    /// The first Add/Remove Programs entry of WSUS 3.0 on the site server: DisplayName0 and
    /// Version0 (either may be empty), or none.
    Read {
        server: String,
        found: Option<(String, String)>,
        /// The export has at least one row for the server (hardware inventory ran there).
        inventoried: bool,
    },
    Failed {
        server: String,
        error: String,
    },
}

pub fn console(csv: &Path, server: &str, sup_url: &str) -> Console {
    let sup_host = host::Endpoint::parse(sup_url).map(|e| e.host);
    let server_host = host::HostName::parse(server);
    if sup_host.is_some_and(|h| h.same(&server_host)) {
        return Console::NotNeeded {
            server: server.to_owned(),
        };
    }
    let mut found: Option<(String, String)> = None;
    let mut inventoried = false;
    let read = inventory::read(
        csv,
        patchdeck_kit::exports::SITE_SERVER_PROGRAMS.columns,
        |row| {
            let on_server = row.get(0).is_some_and(|n| host::same_host(n, server));
            inventoried |= on_server;
            let is_wsus = row
                .get(1)
                .is_some_and(|d| d.contains("Windows Server Update Services 3.0"));
            if on_server && is_wsus && found.is_none() {
                found = Some((
                    row.get(1).unwrap_or("").to_owned(),
                    row.get(2).unwrap_or("").to_owned(),
                ));
            }
            Ok(())
        },
    );
    match read {
        Ok(_) => Console::Read {
            server: server.to_owned(),
            found,
            inventoried,
        },
        Err(e) => Console::Failed {
            server: server.to_owned(),
            error: e.to_string(),
        },
    }
}

/// The active SUP's port settings as ConfigMgr stores them (the `sup_properties` export).
#[derive(Debug, Clone, PartialEq)]
pub struct SupSettings {
    pub server: String,
    pub http_port: u16,
    pub https_port: u16,
    /// SSLWSUS = 1: "Enable SSL communications to the WSUS server".
    pub ssl: bool,
}

impl SupSettings {
    /// What ConfigMgr's site server uses: the SSL port with https when SSL is on.
    pub fn used(&self) -> (&'static str, u16) {
        if self.ssl {
            ("https", self.https_port)
        } else {
            ("http", self.http_port)
        }
    }
}

/// What the SUP settings check saw.
#[derive(Debug, Clone)]
pub enum SupPorts {
    /// The settings, `GetConfig` where ConfigMgr will call it, and a plain-HTTP GET of the
    /// client web service on the HTTP port (does it require SSL?).
    Checked {
        settings: SupSettings,
        get_config: GetConfigCall,
        plain: Get,
    },
    /// The export has no row for the server, or lacks some of the properties.
    Missing {
        server: String,
        missing: Vec<&'static str>,
        servers: BTreeSet<String>,
    },
    Failed(String),
}

const SUP_PROPERTIES: [&str; 3] = ["WSUSIISPort", "WSUSIISSSLPort", "SSLWSUS"];

/// The settings, or the properties missing for the server and the servers the export has.
type SettingsRead = Result<SupSettings, (Vec<&'static str>, BTreeSet<String>)>;

pub fn sup_settings(
    csv: &Path,
    server: &str,
    site_code: Option<&str>,
) -> Result<SettingsRead, String> {
    let mut values: BTreeMap<&'static str, u32> = BTreeMap::new();
    let mut servers = BTreeSet::new();
    let mut named = server.to_owned();
    inventory::read(csv, patchdeck_kit::exports::SUP_PROPERTIES.columns, |row| {
        if of_another_site(row, 0, site_code) {
            return Ok(());
        }
        let name = row.get(1).unwrap_or("");
        servers.insert(name.to_owned());
        if !host::same_host(name, server) {
            return Ok(());
        }
        named = name.to_owned();
        let Some(prop) = SUP_PROPERTIES
            .iter()
            .find(|p| row.get(2).is_some_and(|n| n.eq_ignore_ascii_case(p)))
        else {
            return Ok(());
        };
        let text = row.get(3).unwrap_or("");
        let v = text
            .trim()
            .parse::<u32>()
            .map_err(|_| row.error(3, format!("{prop}: expected a number, got {text:?}")))?;
        values.insert(prop, v);
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    let missing: Vec<&'static str> = SUP_PROPERTIES
        .iter()
        .copied()
        .filter(|p| !values.contains_key(p))
        .collect();
    if !missing.is_empty() {
        return Ok(Err((missing, servers)));
    }
    let port =
        |p: &str| u16::try_from(values[p]).map_err(|_| format!("{p} {} is not a port", values[p]));
    Ok(Ok(SupSettings {
        server: named,
        http_port: port("WSUSIISPort")?,
        https_port: port("WSUSIISSSLPort")?,
        ssl: values["SSLWSUS"] != 0,
    }))
}

/// Reads the SUP's settings and calls WSUS the way the site server will.
pub fn sup_ports(http: &Http, csv: &Path, server: &str, site: Option<&str>, url: &str) -> SupPorts {
    let settings = match sup_settings(csv, server, site) {
        Err(e) => return SupPorts::Failed(e),
        Ok(Err((missing, servers))) => {
            return SupPorts::Missing {
                server: server.to_owned(),
                missing,
                servers,
            };
        }
        Ok(Ok(s)) => s,
    };
    let Some(at) = host::Endpoint::parse(url) else {
        return SupPorts::Failed(format!("no host in {url}"));
    };
    let (scheme, port) = settings.used();
    let get_config = wsus::get_config(http, &format!("{scheme}://{}:{port}", at.host));
    let plain = get(
        http,
        format!(
            "http://{}:{}/ClientWebService/client.asmx",
            at.host, settings.http_port
        ),
    );
    SupPorts::Checked {
        settings,
        get_config,
        plain,
    }
}

/// Everything one check of the wsus probe saw.
#[derive(Debug, Clone)]
pub struct Facts {
    pub client: Get,
    pub get_config: GetConfigCall,
    pub simpleauth: Get,
    pub selfupdate: SelfUpdate,
    /// The self-update tree on port 80, when that is another URL.
    pub selfupdate_80: Option<SelfUpdate>,
    pub admin_api: Get,
    pub sync: Option<Result<Sync, String>>,
    pub console: Option<Console>,
    pub sup_ports: Option<SupPorts>,
    pub sync_failure: Option<Result<Option<SyncFailure>, String>>,
    pub components: Option<Result<Components, String>>,
    pub summary: Option<Result<Summary, String>>,
    pub wsus_source: Option<Result<WsusSource, String>>,
}

/// Where to look.
#[derive(Debug, Clone)]
pub struct Targets<'a> {
    pub url: &'a str,
    /// Base of the web services (the SSL URL when SSL is on).
    pub services: &'a str,
    pub selfupdate_80: &'a str,
    pub status_messages: Option<(&'a Path, Option<&'a str>)>,
    pub console: Option<(&'a Path, &'a str)>,
    /// The SUP properties export, the SUP's server name and the site code.
    pub sup_properties: Option<(&'a Path, &'a str, Option<&'a str>)>,
    /// The 6703 texts export and the site code.
    pub sync_failures: Option<(&'a Path, Option<&'a str>)>,
    /// The component messages export, the site code, the components and the window (s).
    pub components: Option<(&'a Path, Option<&'a str>, &'a [String], i64)>,
    /// The component summary export, the site code and the components.
    pub summary: Option<(&'a Path, Option<&'a str>, &'a [String])>,
    /// The WSUS database's configuration export.
    pub wsus_configuration: Option<&'a Path>,
}

pub fn gather(http: &Http, t: &Targets) -> Facts {
    let port_url = format!("{}/selfupdate/wuident.cab", t.url.trim_end_matches('/'));
    Facts {
        client: get(http, format!("{}/ClientWebService/client.asmx", t.services)),
        get_config: wsus::get_config(http, t.services),
        simpleauth: get(
            http,
            format!("{}/SimpleAuthWebService/SimpleAuth.asmx", t.services),
        ),
        selfupdate: selfupdate(http, &port_url),
        selfupdate_80: (t.selfupdate_80 != port_url).then(|| selfupdate(http, t.selfupdate_80)),
        admin_api: get(
            http,
            format!("{}/ApiRemoting30/WebService.asmx", t.services),
        ),
        sync: t.status_messages.map(|(csv, site)| sync(csv, site)),
        console: t.console.map(|(csv, server)| console(csv, server, t.url)),
        sup_ports: t
            .sup_properties
            .map(|(csv, server, site)| sup_ports(http, csv, server, site, t.url)),
        sync_failure: t.sync_failures.map(|(csv, site)| sync_failure(csv, site)),
        components: t
            .components
            .map(|(csv, site, watched, window)| components(csv, site, watched, window)),
        summary: t
            .summary
            .map(|(csv, site, watched)| summary(csv, site, watched)),
        wsus_source: t.wsus_configuration.map(wsus_source),
    }
}
