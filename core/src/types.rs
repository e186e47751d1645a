//! The leaf types the plugin loader, the report decoder and the runners share: what a
//! plugin says about itself and why a call gave no report. Depends on nothing else in core,
//! so `plugin`, `report` and `runner` depend on it and not on each other in a circle.

use patchdeck_probe_api::RuleInfo;
use serde::{Deserialize, Serialize};

/// What a valid descriptor says about its plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    pub kind: String,
    pub version: String,
    pub abi_major: u16,
    pub abi_minor: u16,
    pub description: String,
    pub config_schema: Option<String>,
    /// The rule index (ABI 1.1, `rules_json`); empty for plugins that publish none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleInfo>,
}

/// Why a create or check produced no report: every failure through the runners, the
/// probe-host protocol and the engine is one of these, so each has one message and one
/// place. All of them make the probe UNKNOWN with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunError {
    /// `create` returned PD_ERROR: the plugin refused its config.
    #[error("plugin rejected its config: {0}")]
    Rejected(String),
    #[error("plugin panicked in create: {0}")]
    CreatePanicked(String),
    /// `check` returned PD_ERROR.
    #[error("probe failed: {0}")]
    Failed(String),
    #[error("probe panicked: {0}")]
    Panicked(String),
    #[error("probe cancelled the check")]
    Cancelled,
    #[error("probe returned an unknown code {0} (expected 0, -1, -2 or -3)")]
    UnknownCode(i32),
    #[error("report too large: {bytes} bytes, over the {limit} limit")]
    TooLarge { bytes: usize, limit: String },
    #[error("report is not valid UTF-8 (invalid byte at offset {0})")]
    BadUtf8(usize),
    /// The engine gave up waiting (`what` is "" for check, "create " for create).
    #[error("{what}timed out after {after}")]
    TimedOut { what: String, after: String },
    /// The probe-host child died, vanished or is waiting out its restart backoff.
    #[error("{0}")]
    HostDied(String),
    /// The probe-host child could not be started or spoke out of turn.
    #[error("{0}")]
    Protocol(String),
    /// The instance cannot take the call (busy with an abandoned call, destroyed, its
    /// worker gone).
    #[error("{0}")]
    Unavailable(String),
}

#[cfg(test)]
mod tests {
    /// The modules that once formed a circle (plugin ↔ report ↔ runner) depend one way:
    /// `types` on nothing in core, `report` and `runner` not on `plugin`, `report` not on
    /// `runner`. Read from the sources, so a new `use crate::...` that closes the circle fails.
    #[test]
    fn plugin_report_and_runner_depend_one_way() {
        let uses = |src: &str| -> Vec<String> {
            src.split("crate::")
                .skip(1)
                .map(|rest| {
                    rest.chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect()
                })
                .collect()
        };
        let types = uses(
            include_str!("types.rs")
                .split("#[cfg(test)]")
                .next()
                .unwrap(),
        );
        assert!(types.is_empty(), "types depends on {types:?}");
        let report = uses(include_str!("report.rs"));
        assert!(
            !report.iter().any(|m| m == "plugin" || m == "runner"),
            "report depends on {report:?}"
        );
        let runner = uses(include_str!("runner.rs"));
        assert!(
            !runner.iter().any(|m| m == "plugin" || m == "report"),
            "runner depends on {runner:?}"
        );
    }
}
