//! The wsus probe's rule index: every judgement it makes, its default severity, its page.

use crate::judge::{
    COMPONENT_STATUS_DOC, COMPONENT_SUMMARIZER_DOC, SELFUPDATE_DOC, SUP_SSL_DOC, SYNC_DOC,
    SYNC_SCHEDULE_DOC, SYNC_TROUBLE_DOC, WSUS_PORTS_DOC,
};
use patchdeck_kit::wsus::{self, SU_PREREQS};
use patchdeck_probe_api::{Rule, Status};

pub const SELF_UPDATE: Rule = Rule {
    id: "wsus.self-update",
    severity: Status::Critical,
    title: "wuident.cab is served (HEAD with a size, ranged GET 206) on the WSUS port and on port 80",
    source: "Issues with Client Computer Self-Update (WSUS 3.0)",
    url: SELFUPDATE_DOC,
    fix: "Serve the Selfupdate virtual directory with anonymous access on the Default Web Site, port 80.",
    assumption: false,
};
pub const ADMIN_API: Rule = Rule {
    id: "wsus.admin-api",
    severity: Status::Critical,
    title: "The admin API (ApiRemoting30) answers (401 without credentials is healthy)",
    source: "[MS-WUSP] Windows Update Services: Client-Server Protocol",
    url: wsus::MS_WUSP,
    fix: "Start WsusPool; the site server's WSUS console and the SUP use this API.",
    assumption: false,
};
pub const ADMIN_RIGHTS: Rule = Rule {
    id: "wsus.admin-rights",
    severity: Status::Warning,
    title: "With credentials, the admin API accepts the account (WSUS Reporters or Administrators)",
    source: "Troubleshooting Software Updates Synchronization (the site server's accounts and the WSUS virtual directories)",
    url: SYNC_TROUBLE_DOC,
    fix: "Add the account to WSUS Reporters or WSUS Administrators on the WSUS server.",
    assumption: false,
};
pub const LATENCY: Rule = Rule {
    id: "wsus.latency",
    severity: Status::Warning,
    title: "GetConfig answers within latency_warn_ms / latency_crit_ms (both lines: a warning)",
    source: "patchdeck: no page gives a latency limit; slowness alone is not a failure",
    url: "",
    fix: "Check WsusPool's CPU and memory and the WSUS database on the server.",
    assumption: true,
};
pub const SYNC_AGE: Rule = Rule {
    id: "wsus.sync-age",
    severity: Status::Critical,
    title: "The last successful SUP sync (6702) is within the schedule plus a day (warning); critical once a second scheduled sync is missed",
    source: "Sync Schedule page (ConfigMgr 2007): by default every 7 days",
    url: SYNC_SCHEDULE_DOC,
    fix: "Check the synchronisation schedule of the active software update point; wsyncmgr.log tells why it did not run.",
    assumption: false,
};
pub const SYNC_FAILED: Rule = Rule {
    id: "wsus.sync-failed",
    severity: Status::Warning,
    title: "The newest sync message is not a failure (6703)",
    source: "Troubleshooting Software Updates Synchronization (ConfigMgr 2007)",
    url: SYNC_TROUBLE_DOC,
    fix: "Read wsyncmgr.log on the site server and the text of the 6703 messages.",
    assumption: false,
};
pub const SYNC_NEVER: Rule = Rule {
    id: "wsus.sync-never",
    severity: Status::Critical,
    title: "The site has synchronised at least once (a 6702 in the status messages)",
    source: "How to Synchronize Software Updates (status message 6702)",
    url: SYNC_DOC,
    fix: "Read wsyncmgr.log on the site server.",
    assumption: false,
};
pub const SYNC_SITES: Rule = Rule {
    id: "wsus.sync-sites",
    severity: Status::Warning,
    title: "Only the watched site's messages are judged (site_code set when the export holds several sites)",
    source: "How to Synchronize Software Updates (child sites synchronise on their parent's request)",
    url: SYNC_DOC,
    fix: "Set site_code in this probe's config.",
    assumption: false,
};
pub const EXPORT: Rule = Rule {
    id: "wsus.export",
    severity: Status::Unknown,
    title: "The status-message and programs exports are readable and fresh enough to judge",
    source: "patchdeck: an export too old or unreadable says nothing about the site",
    url: "",
    fix: "Check the job that writes the export (README, Site-database exports).",
    assumption: false,
};
pub const CONSOLE: Rule = Rule {
    id: "wsus.console",
    severity: Status::Critical,
    title: "The WSUS 3.0 Administration Console is on the site server when the SUP is remote",
    source: "Prerequisites for Software Updates (ConfigMgr 2007)",
    url: SU_PREREQS,
    fix: "Install the WSUS 3.0 Administration Console (console-only install) on the site server.",
    assumption: false,
};
pub const CONSOLE_LEVEL: Rule = Rule {
    id: "wsus.console-level",
    severity: Status::Critical,
    title: "The console is WSUS 3.0 SP1 or later, at the server's service-pack level",
    source: "Prerequisites for Software Updates (ConfigMgr 2007)",
    url: SU_PREREQS,
    fix: "Install the console of the server's service pack on the site server.",
    assumption: false,
};
pub const CONSOLE_INVENTORY: Rule = Rule {
    id: "wsus.console-inventory",
    severity: Status::Unknown,
    title: "The site server is in the programs export and its console's level can be read",
    source: "patchdeck: no inventory is no evidence either way",
    url: "",
    fix: "Check hardware inventory on the site server and the programs export.",
    assumption: false,
};

pub const SUP_PORTS: Rule = Rule {
    id: "wsus.sup-ports",
    severity: Status::Critical,
    title: "WSUS answers GetConfig on the port and scheme the active SUP is configured for (the site server's way in)",
    source: "Troubleshooting Software Updates Synchronization (ConfigMgr 2007): the SUP's port settings must be the WSUS web site's",
    url: SYNC_TROUBLE_DOC,
    fix: "Set the ports in the software update point's properties (General tab) to the WSUS web site's: 80/443 on the Default Web Site, 8530/8531 on the WSUS custom web site.",
    assumption: false,
};
pub const SUP_SSL: Rule = Rule {
    id: "wsus.sup-ssl",
    severity: Status::Critical,
    title: "SSL on the SUP matches the WSUS web services: with SSL on they require it (403.4 on plain HTTP), with SSL off they do not",
    source: "Software Update Point (ConfigMgr 2007 SDK): with SSL, the five virtual roots require SSL and WSUSUtil configuressl is run",
    url: SUP_SSL_DOC,
    fix: "Make both agree: require SSL on the five WSUS virtual roots and run `wsusutil configuressl <FQDN>`, or clear SSL in the software update point's properties.",
    assumption: false,
};
pub const SUP_PROPERTIES: Rule = Rule {
    id: "wsus.sup-properties",
    severity: Status::Unknown,
    title: "The SUP properties export has WSUSIISPort, WSUSIISSSLPort and SSLWSUS for the SUP",
    source: "patchdeck: ConfigMgr 2007's database schema is not published (a4d1ffe0); the property names are the site control file's as later versions name them",
    url: WSUS_PORTS_DOC,
    fix: "Check sup_server names the SUP as the site database does, and the export kit's sup_properties.sql against your site database.",
    assumption: true,
};
/// The causes "Troubleshooting Software Updates Synchronization" (9647358a) lists, as the 6703
/// text names them. The texts are .NET's WebException wording (HTTP 407/401/403, "Unable to
/// connect") and the WSUS admin assembly's name; the page gives the causes, not the texts.
pub const CAUSE_PROXY: Rule = Rule {
    id: "wsus.sync-cause-proxy",
    severity: Status::Warning,
    title: "A 6703 text with HTTP 407 (Proxy Authentication Required): the proxy wants the SUP's proxy account",
    source: "Troubleshooting Software Updates Synchronization (ConfigMgr 2007): proxy server and SUP proxy server account",
    url: SYNC_TROUBLE_DOC,
    fix: "Configure the proxy server and the software update point proxy server account (credentials the proxy accepts) in the software update point's properties.",
    assumption: false,
};
pub const CAUSE_ACCESS: Rule = Rule {
    id: "wsus.sync-cause-access",
    severity: Status::Warning,
    title: "A 6703 text with HTTP 401/403 or access denied: the site server's accounts cannot reach the WSUS virtual directories",
    source: "Troubleshooting Software Updates Synchronization (ConfigMgr 2007): the computer and Administrator accounts must reach the WSUS virtual directories",
    url: SYNC_TROUBLE_DOC,
    fix: "Give the site server's computer account and the administrator account access to the virtual directories under the WSUS web site in IIS (test from the site server: patchdeck cannot log in as the site server's computer account).",
    assumption: false,
};
pub const CAUSE_CONNECT: Rule = Rule {
    id: "wsus.sync-cause-connect",
    severity: Status::Warning,
    title: "A 6703 text saying WSUS could not be reached: the SUP's port settings or the WSUS web site",
    source: "Troubleshooting Software Updates Synchronization (ConfigMgr 2007): the SUP's port settings must be the WSUS web site's",
    url: SYNC_TROUBLE_DOC,
    fix: "Compare the software update point's port settings with the WSUS web site's (the sup-ports item with sup_properties_csv), and check that WSUS is up.",
    assumption: false,
};
pub const CAUSE_CONSOLE: Rule = Rule {
    id: "wsus.sync-cause-console",
    severity: Status::Warning,
    title: "A 6703 text naming the WSUS administration assembly as missing: the WSUS console on the site server",
    source: "Troubleshooting Software Updates Synchronization (ConfigMgr 2007): the WSUS Administration console on the site server",
    url: SYNC_TROUBLE_DOC,
    fix: "Install the WSUS 3.0 Administration Console on the site server (the console item with site_server_programs_csv).",
    assumption: false,
};
pub const CAUSE_UNKNOWN: Rule = Rule {
    id: "wsus.sync-cause-unknown",
    severity: Status::Warning,
    title: "A 6703 text patchdeck does not recognise: shown whole",
    source: "Troubleshooting Software Updates Synchronization (ConfigMgr 2007): look the text up in the detailed troubleshooting topics",
    url: SYNC_TROUBLE_DOC,
    fix: "Look the text up in the synchronisation troubleshooting topics and in wsyncmgr.log on the site server; check the five usual causes (console, ports, proxy account, virtual directory access, the central SUP synchronising with Microsoft Update: the sync-source item with wsus_configuration_csv).",
    assumption: false,
};
pub const SYNC_SOURCE: Rule = Rule {
    id: "wsus.sync-source",
    severity: Status::Warning,
    title: "WSUS's own update source (SUSDB tbConfigurationA.SyncToMu, UpstreamServerName) is the one sync_from names: Microsoft Update at the central site",
    source: "Troubleshooting Software Updates Synchronization (ConfigMgr 2007): the central site's active SUP should synchronise with Microsoft Update; changed in the WSUS console, WSUS Configuration Manager does not reset it. Verifying WSUS Server Settings (cc708545): SyncToMu 0 a WSUS server, 1 Microsoft Update",
    url: SYNC_TROUBLE_DOC,
    fix: "Set the update source back in the WSUS Administration console on the SUP (Options, Update Source and Proxy Server), or correct sync_from if the site is meant to synchronise otherwise.",
    assumption: false,
};
pub const CAUSE_SOURCE: Rule = Rule {
    id: "wsus.sync-cause-source",
    severity: Status::Warning,
    title: "A 6703 text patchdeck does not recognise while WSUS's update source is not the one sync_from names: the update source",
    source: "Troubleshooting Software Updates Synchronization (ConfigMgr 2007): the central site's active SUP should synchronise with Microsoft Update",
    url: SYNC_TROUBLE_DOC,
    fix: "Set the update source back in the WSUS Administration console on the SUP (Options, Update Source and Proxy Server; the sync-source item says to what), then run synchronisation again.",
    assumption: false,
};
pub const COMPONENT_STATUS: Rule = Rule {
    id: "wsus.component-status",
    severity: Status::Critical,
    title: "Per component, errors and warnings in the window under the site's Component Status thresholds (component_thresholds)",
    source: "Configuration Manager 2007 Component Status Properties, General tab: Warning from the Warning threshold, Critical from the Critical one",
    url: COMPONENT_STATUS_DOC,
    fix: "Open the component's status messages in the console and its log on the site server.",
    assumption: false,
};
pub const COMPONENT_ERRORS: Rule = Rule {
    id: "wsus.component-errors",
    severity: Status::Warning,
    title: "Without component_thresholds: any error message of a watched component in the window is a warning",
    source: "patchdeck: the console's default thresholds are not in the stored ConfigMgr 2007 pages; set component_thresholds to your site's",
    url: COMPONENT_STATUS_DOC,
    fix: "Set component_thresholds to the site's Component Status Summarizer thresholds.",
    assumption: true,
};
pub const COMPONENT_CONSOLE: Rule = Rule {
    id: "wsus.component-console",
    severity: Status::Critical,
    title: "The console's colour for a component (component_summary_csv): yellow is a warning, red critical",
    source: "SMS_ComponentSummarizer Server WMI Class (ConfigMgr 2007 SDK): Status is the health (colour) of the component's icon in the console, 0 green, 1 yellow, 2 red; counts over the tally interval Since 12:00AM (About Configuration Manager Tally Intervals)",
    url: COMPONENT_SUMMARIZER_DOC,
    fix: "Open the component in the console's Component Status, read its error messages and its log on the site server.",
    assumption: false,
};
pub const RULES: &[Rule] = &[
    wsus::RULE_REACHABLE,
    wsus::RULE_NOT_CHECKED,
    wsus::RULE_WEB_SERVICES,
    wsus::RULE_SSL_REQUIRED,
    wsus::RULE_GET_CONFIG,
    wsus::RULE_VERSION,
    wsus::RULE_VERSION_WINDOWS7,
    SELF_UPDATE,
    ADMIN_API,
    ADMIN_RIGHTS,
    LATENCY,
    SYNC_AGE,
    SYNC_FAILED,
    SYNC_NEVER,
    SYNC_SITES,
    EXPORT,
    CONSOLE,
    CONSOLE_LEVEL,
    CONSOLE_INVENTORY,
    SUP_PORTS,
    SUP_SSL,
    SUP_PROPERTIES,
    CAUSE_PROXY,
    CAUSE_ACCESS,
    CAUSE_CONNECT,
    CAUSE_CONSOLE,
    CAUSE_UNKNOWN,
    CAUSE_SOURCE,
    SYNC_SOURCE,
    COMPONENT_STATUS,
    COMPONENT_ERRORS,
    COMPONENT_CONSOLE,
];
