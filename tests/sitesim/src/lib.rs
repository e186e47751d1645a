//! patchdeck-sitesim: a simulated ConfigMgr 2007 site served on loopback, for tests and for
//! `patchdeck demo`. WSUS servers, BITS distribution points and reporting points answer the
//! way IIS 6 with ASP.NET 2.0 does, with the faults a scenario file asks for.

pub mod exports;
pub mod http;
pub mod scenario;
pub mod site;

pub use scenario::Scenario;
pub use site::Site;
