//! The wsus probe's rule index: every judgement it makes, its default severity, its page.

use crate::judge::{SELFUPDATE_DOC, SYNC_DOC, SYNC_SCHEDULE_DOC, SYNC_TROUBLE_DOC};
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
];
