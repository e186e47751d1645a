//! The patchdeck probe contract.
//!
//! - [`abi`]: the stable C ABI v1 (`patchdeck_probe_v1`, `PdProbeV1`, ...), mirrored in
//!   `include/patchdeck_probe.h` for C vendors.
//! - [`report`]: the report JSON schema v1 that `check` returns.
//! - [`sdk`]: a [`sdk::Probe`] trait and the [`export_probe!`] macro for Rust vendors.

pub mod abi;
pub mod report;
pub mod sdk;

pub use report::{Detail, Item, Metric, Report, Status};
