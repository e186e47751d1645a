//! Durations as written in the config and shown to operators: the one parser every plugin
//! and the core share, from the probe API crate (plugins cannot depend on core).

pub use patchdeck_probe_api::duration::{format, parse};
