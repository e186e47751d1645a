//! Scenario files: what the simulated site has and what is broken.
//!
//! ```toml
//! site = "ABC"
//! [[wsus]]
//! name = "SUP01"
//! protocol = "3.2"        # "3.0", "3.1", "3.2", or "none" (WSUS 2.0)
//! prefix = "s"            # SOAP envelope prefix: "s", "soap", "" (default namespace)
//! # fault = "ServerBusy"  broken_xml, pool_stopped (503), http500, down, slow_ms,
//! # missing = ["selfupdate", "simpleauth", "apiremoting", "client"]
//! [[dp]]
//! name = "DP01"           # range, webdav, content_length (true); forbidden, down (false)
//! [[reporting_point]]
//! name = "RP01"           # auth = "negotiate+ntlm" | "negotiate" | "ntlm" | "anonymous"; status = 404|500; down
//! ```

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default = "abc")]
    pub site: String,
    #[serde(default)]
    pub wsus: Vec<WsusSpec>,
    #[serde(default)]
    pub dp: Vec<DpSpec>,
    #[serde(default)]
    pub reporting_point: Vec<RpSpec>,
    /// Client inventory exports (scan status) to generate.
    pub inventory: Option<InventorySpec>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InventorySpec {
    #[serde(default = "clients")]
    pub clients: usize,
    #[serde(default = "seed")]
    pub seed: u64,
    /// A fleet with no client below the documented minimums (agents of Windows 7 RTM and
    /// the WSUS 3.0 SP2 era only) and no expected_version in the generated config: what a
    /// well-kept default site looks like. Default false (the demo's fleet keeps stragglers).
    #[serde(default)]
    pub healthy: bool,
}

fn clients() -> usize {
    30_000
}
fn seed() -> u64 {
    2010
}

fn abc() -> String {
    "ABC".into()
}
fn yes() -> bool {
    true
}
fn sp2() -> String {
    "3.2".into()
}
fn soap() -> String {
    "soap".into()
}
fn size() -> usize {
    1_048_576
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WsusSpec {
    pub name: String,
    #[serde(default = "sp2")]
    pub protocol: String,
    #[serde(default = "soap")]
    pub prefix: String,
    pub fault: Option<String>,
    #[serde(default)]
    pub broken_xml: bool,
    #[serde(default)]
    pub pool_stopped: bool,
    #[serde(default)]
    pub http500: bool,
    #[serde(default)]
    pub down: bool,
    #[serde(default)]
    pub slow_ms: u64,
    #[serde(default)]
    pub missing: Vec<String>,
    /// The web services' virtual roots require SSL (IIS 403.4 on plain HTTP).
    #[serde(default)]
    pub require_ssl: bool,
    /// The HTTP port the site's SUP properties name (WSUSIISPort); default: the port this
    /// WSUS answers on, as on a healthy site.
    pub sup_http_port: Option<u16>,
    /// SSLWSUS in the SUP properties: "Enable SSL communications to the WSUS server".
    #[serde(default)]
    pub sup_ssl: bool,
    /// Someone pointed this WSUS at an upstream server in the WSUS console (SUSDB
    /// tbConfigurationA: SyncToMu 0, UpstreamServerName this). Default: Microsoft Update, which
    /// ConfigMgr sets when it creates the central site's SUP and does not reset when changed
    /// in the WSUS console ("Troubleshooting Software Updates Synchronization", 9647358a).
    pub wsus_upstream: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DpSpec {
    pub name: String,
    #[serde(default = "yes")]
    pub range: bool,
    #[serde(default = "yes")]
    pub webdav: bool,
    #[serde(default = "yes")]
    pub content_length: bool,
    #[serde(default)]
    pub forbidden: bool,
    /// Answers 206 with a Content-Range for the wrong bytes.
    #[serde(default)]
    pub bad_content_range: bool,
    #[serde(default)]
    pub down: bool,
    #[serde(default = "size")]
    pub size: usize,
    /// "Allow clients to connect anonymously" on the DP. Off is ConfigMgr 2007's default:
    /// every request then gets 401 with WWW-Authenticate Negotiate and NTLM.
    #[serde(default = "yes")]
    pub anonymous: bool,
    /// With `anonymous = false`: the DP logs clients in with NTLM (Windows authentication,
    /// through the system GSSAPI and gss-ntlmssp) for the site's service account
    /// `CORP\\svc-patchdeck`, whose password file the generated config hands the bits probe.
    #[serde(default)]
    pub login: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RpSpec {
    pub name: String,
    #[serde(default = "negotiate_ntlm")]
    pub auth: String,
    pub status: Option<u16>,
    #[serde(default)]
    pub down: bool,
}

fn negotiate_ntlm() -> String {
    "negotiate+ntlm".into()
}

/// The default demo scenario: a mid-size site.
pub const DEFAULT: &str = include_str!("../scenarios/default.toml");

impl Scenario {
    pub fn parse(name: &str, text: &str) -> Result<Scenario, String> {
        toml::from_str(text).map_err(|e| format!("{name}: {}", e.message().trim()))
    }

    pub fn default_site() -> Scenario {
        Scenario::parse("default.toml", DEFAULT).expect("the built-in scenario parses")
    }
}

impl WsusSpec {
    /// A healthy WSUS 3.0 SP2 with this name: the scenario file's defaults.
    pub fn named(name: &str) -> WsusSpec {
        toml::from_str(&format!("name = {name:?}")).expect("every other field has a default")
    }
}

impl DpSpec {
    /// A healthy BITS-enabled DP with this name: the scenario file's defaults.
    pub fn named(name: &str) -> DpSpec {
        toml::from_str(&format!("name = {name:?}")).expect("every other field has a default")
    }
}
