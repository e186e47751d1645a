//! The wua probe's rule index.

use crate::judge::{CLIENT_PREREQS, SCAN_SCHEDULE_DOC, SU_PREREQS, WU_NETWORK_ERRORS};
use patchdeck_probe_api::{Rule, Status};

pub const BELOW_MINIMUM: Rule = Rule {
    id: "wua.below-minimum",
    severity: Status::Critical,
    title: "Clients run at least the ConfigMgr 2007 minimum agent 7.0.6000.363 (any client below: warning; over crit_percent: critical)",
    source: "Configuration Manager 2007 client prerequisites (minimum version numbers)",
    url: CLIENT_PREREQS,
    fix: "Upgrade the Windows Update Agent on the listed clients (repair the ConfigMgr client or deploy the WUA redistributable).",
    assumption: false,
};
pub const BELOW_WSUS: Rule = Rule {
    id: "wua.version-below-wsus",
    severity: Status::Warning,
    title: "Clients run at least the agent chosen by wsus_level / expected_version (a warning at most)",
    source: "Prerequisites for Software Updates: clients need \"the version of the WUA client associated with the installed version of WSUS 3.0\"; no page pairs a build with a WSUS level",
    url: SU_PREREQS,
    fix: "Deploy the newer agent (KB949104 lists the builds) or lower expected_version.",
    assumption: true,
};
pub const SCAN_FAILURES: Rule = Rule {
    id: "wua.scan-failures",
    severity: Status::Critical,
    title: "Clients' last scans did not fail (LastScanState 5/6 or a LastErrorCode) above warn_percent / crit_percent",
    source: "Windows Update Agent networking error codes (the HTTP family the agent gets from WSUS or a proxy)",
    url: WU_NETWORK_ERRORS,
    fix: "Group by error code and follow the code's fix.",
    assumption: false,
};
pub const STALE_SCANS: Rule = Rule {
    id: "wua.stale-scans",
    severity: Status::Critical,
    title: "Clients scanned within stale_days (default 14: twice the weekly default scan), or ever",
    source: "Software Updates Client Agent Properties, General tab: the compliance scan runs once a week by default",
    url: SCAN_SCHEDULE_DOC,
    fix: "Check that the listed clients are online with the Software Updates Client Agent enabled (ScanAgent.log, WUAHandler.log).",
    assumption: false,
};
pub const UNREADABLE: Rule = Rule {
    id: "wua.unreadable-versions",
    severity: Status::Warning,
    title: "LastWUAVersion values are readable a.b.c.d versions",
    source: "patchdeck: an unreadable value is a data problem, never a verdict on the client",
    url: "",
    fix: "Check the export query: LastWUAVersion as the view has it.",
    assumption: false,
};
pub const EXPORT: Rule = Rule {
    id: "wua.export",
    severity: Status::Unknown,
    title: "The scan-status export lists clients and is younger than max_export_age_hours",
    source: "patchdeck: an old or empty export says nothing about today's clients",
    url: "",
    fix: "Check the job that writes the export (README, Site-database exports).",
    assumption: false,
};

pub const RULES: &[Rule] = &[
    BELOW_MINIMUM,
    BELOW_WSUS,
    SCAN_FAILURES,
    STALE_SCANS,
    UNREADABLE,
    EXPORT,
];
