//! The msi probe's rule index.

use crate::judge::{CLIENT_PREREQS, SU_PREREQS};
use patchdeck_probe_api::{Rule, Status};

pub const BELOW_31: Rule = Rule {
    id: "msi.below-3.1",
    severity: Status::Critical,
    title: "Clients run Windows Installer 3.1 or later (below it, the compliance scan misses updates such as Office updates)",
    source: "Prerequisites for Software Updates (ConfigMgr 2007)",
    url: SU_PREREQS,
    fix: "Install Windows Installer 3.1 v2 (KB893803) on the listed clients.",
    assumption: false,
};
pub const V1: Rule = Rule {
    id: "msi.v31-v1",
    severity: Status::Warning,
    title: "Clients on Windows Installer 3.1 v1 (3.1.4000.1823) meet \"3.1\" but not the client prerequisite 3.1.4000.2435: a warning at most",
    source: "Configuration Manager 2007 client prerequisites (minimum version numbers)",
    url: CLIENT_PREREQS,
    fix: "Install Windows Installer 3.1 v2 (KB893803 v2).",
    assumption: false,
};
pub const UNKNOWN: Rule = Rule {
    id: "msi.unknown",
    severity: Status::Unknown,
    title: "Every client has a readable system32 msi.dll row (none, or no FileVersion, is unknown, never compliant)",
    source: "patchdeck: no inventory is no evidence either way",
    url: "",
    fix: "Make software inventory collect msi.dll with its version.",
    assumption: false,
};
pub const EXPORT: Rule = Rule {
    id: "msi.export",
    severity: Status::Unknown,
    title: "The msi.dll and client exports list clients and are younger than max_export_age_hours",
    source: "patchdeck: an old or empty export says nothing about today's clients",
    url: "",
    fix: "Check the job that writes the exports (README, Site-database exports).",
    assumption: false,
};

pub const RULES: &[Rule] = &[BELOW_31, V1, UNKNOWN, EXPORT];
