//! patchdeck core: everything but the terminal.
//!
//! config -> plugin discovery -> runners (isolated child / in-process) -> scheduler -> store,
//! read by the TUI, `patchdeck check` and exporters alike.

pub mod config;
pub mod discovery;
pub mod duration;
pub mod engine;
pub mod history;
pub mod inprocess;
pub mod isolated;
pub mod openmetrics;
pub mod output;
pub mod plugin;
pub mod private_file;
pub mod protocol;
pub mod report;
pub mod rules;
pub mod runner;
pub mod sanitize;
pub mod scheduler;
pub mod store;
pub mod types;

pub use patchdeck_probe_api::{Report, Status};
