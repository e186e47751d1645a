//! Shared code for patchdeck probes (an rlib linked into each plugin, never into core):
//! versions, SOAP parsing, HTTP with timeouts derived from the call's deadline.

pub mod auth;
pub mod defaults;
pub mod exports;
pub mod gssapi;
pub mod host;
pub mod hresult;
pub mod http;
pub mod inventory;
pub mod report;
pub mod schema;
pub mod soap;
pub mod threshold;
pub mod time;
pub mod version;
pub mod wsus;
