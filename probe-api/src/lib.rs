//! The patchdeck probe contract.
//!
//! - [`abi`]: the stable C ABI v1 (`patchdeck_probe_v1`, `PdProbeV1`, ...), mirrored in
//!   `include/patchdeck_probe.h` for C vendors.
//! - [`report`]: the report JSON schema v1 that `check` returns.
//! - [`sdk`]: a [`sdk::Probe`] trait (or [`sdk::ConfigProbe`] for probes with a typed config)
//!   and the [`export_probe!`] macro for Rust vendors.
//! - [`duration`]: "30s", "1h30m", "2d": the duration syntax of the config, shared by the core
//!   and every probe so that one spelling works everywhere.

pub mod abi;
pub mod duration;
pub mod report;
pub mod rules;
pub mod sdk;

pub use report::{Detail, Item, Metric, MetricType, Report, Status};
pub use rules::{Overrides, Rule, RuleInfo};
