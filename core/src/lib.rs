//! patchdeck core: everything but the terminal.
//!
//! config -> plugin discovery -> runners (isolated child / in-process) -> scheduler -> store,
//! read by the TUI, `patchdeck check` and exporters alike.
//!
//! The public surface is deliberate: the modules below are what the `patchdeck` binary, plugin
//! tests and benchmarks build on. How a probe is run (a child process or this one), the leaf
//! types that break the plugin/report/runner circle and the private-file rules are internal;
//! the few names from them that callers need are re-exported here.

pub mod config;
pub mod discovery;
pub mod duration;
pub mod engine;
pub mod history;
pub mod openmetrics;
pub mod output;
pub mod plugin;
pub mod rules;
pub mod runner;
pub mod sanitize;
pub mod scheduler;
pub mod store;

mod inprocess;
mod isolated;
mod private_file;
mod report;
mod types;

/// The frames between the core and `patchdeck-probe-host` (a binary of this crate). Not an API:
/// both ends ship together and check [`protocol::PROTOCOL_VERSION`] at start.
#[doc(hidden)]
pub mod protocol;

pub use isolated::{CANCEL_GRACE, restart_backoff};
pub use patchdeck_probe_api::{Report, Status};
pub use private_file::RotatingFile;
pub use types::{PluginInfo, RunError};
