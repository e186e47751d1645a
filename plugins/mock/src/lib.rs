//! `mock`: a probe whose every answer comes from its config, for tests and demos.
//!
//! ```toml
//! [probe.config]
//! status = "ok"                         # the report's status
//! summary = "all good"                  # default: "mock <status> (run N)"
//! sequence = ["ok", "critical"]         # statuses cycled per run (overrides status)
//! delay_ms = 250                        # pretend work; stops early when cancelled
//! details = [{ label = "Version", value = "3.2" }]
//! metrics = [{ label = "latency", value = 12.5, uom = "ms", warn = "500", crit = "2000" }]
//! items = [{ id = "dp01", title = "DP01", status = "ok", summary = "fine" }]
//! behavior = "ok"  # ok | panic | abort | segfault | hang | garbage | huge | create-error | flood | log-flood | fork-abort
//! child_pid_file = "/tmp/x.pid"         # with "fork-abort": where the forked child's pid goes
//! flood_mb = 256                        # with "flood": MiB written to stdout with no newline
//! raw = '{"status":"fine"}'             # returned verbatim as the report (bad-report tests)
//! ```

use patchdeck_probe_api::abi::{PD_LOG_DEBUG, PD_LOG_INFO};
use patchdeck_probe_api::sdk::{CheckContext, CheckError, Host, Probe};
use patchdeck_probe_api::{Detail, Item, Metric, Report, Status};
use serde::Deserialize;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Behavior {
    Ok,
    Panic,
    Abort,
    Segfault,
    Hang,
    Garbage,
    Huge,
    CreateError,
    /// Writes `flood_mb` MiB to stdout without a newline, then answers normally.
    Flood,
    /// Calls host->log 50,000 times with a line feed in each message, then answers normally.
    LogFlood,
    /// Starts `sleep 300` holding the host's stdout, writes its pid to `child_pid_file`, then
    /// aborts: the core must see the host die and take the straggler with it.
    ForkAbort,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default = "default_status")]
    status: Status,
    summary: Option<String>,
    #[serde(default)]
    sequence: Vec<Status>,
    #[serde(default)]
    delay_ms: u64,
    #[serde(default)]
    details: Vec<Detail>,
    #[serde(default)]
    metrics: Vec<Metric>,
    #[serde(default)]
    items: Vec<Item>,
    #[serde(default = "default_behavior")]
    behavior: Behavior,
    raw: Option<String>,
    #[serde(default)]
    flood_mb: u64,
    child_pid_file: Option<String>,
}

fn default_status() -> Status {
    Status::Ok
}

fn default_behavior() -> Behavior {
    Behavior::Ok
}

pub struct Mock {
    config: Config,
    runs: u64,
    host: Host,
}

impl Probe for Mock {
    fn create(config: serde_json::Value, host: &Host) -> Result<Self, String> {
        let config: Config =
            serde_json::from_value(config).map_err(|e| format!("mock config: {e}"))?;
        if config.behavior == Behavior::CreateError {
            return Err("mock told to fail in create (behavior = \"create-error\")".to_owned());
        }
        host.log(PD_LOG_INFO, "mock instance created");
        Ok(Mock {
            config,
            runs: 0,
            host: *host,
        })
    }

    fn check(&mut self, _ctx: &CheckContext) -> Result<Report, CheckError> {
        let status = if self.config.sequence.is_empty() {
            self.config.status
        } else {
            self.config.sequence[(self.runs % self.config.sequence.len() as u64) as usize]
        };
        self.runs += 1;
        let summary = self
            .config
            .summary
            .clone()
            .unwrap_or_else(|| format!("mock {} (run {})", status.as_str(), self.runs));
        Ok(Report {
            status,
            summary,
            details: self.config.details.clone(),
            metrics: self.config.metrics.clone(),
            items: self.config.items.clone(),
        })
    }

    fn check_raw(&mut self, ctx: &CheckContext) -> Result<Vec<u8>, CheckError> {
        self.host.log(PD_LOG_DEBUG, "mock check starting");
        let start = Instant::now();
        let delay = Duration::from_millis(self.config.delay_ms);
        while start.elapsed() < delay {
            if ctx.is_cancelled() {
                return Err(CheckError::Cancelled);
            }
            std::thread::sleep((delay - start.elapsed()).min(Duration::from_millis(5)));
        }
        match self.config.behavior {
            Behavior::Ok | Behavior::CreateError => {}
            Behavior::LogFlood => {
                for i in 0..50_000 {
                    self.host.log(
                        patchdeck_probe_api::abi::PD_LOG_WARN,
                        &format!("mock log line {i}\nFORGED 2026-01-01 ERROR not from patchdeck"),
                    );
                }
            }
            Behavior::Flood => {
                use std::io::Write;
                let chunk = vec![b'x'; 1024 * 1024];
                let mut out = std::io::stdout().lock();
                for _ in 0..self.config.flood_mb {
                    if out.write_all(&chunk).is_err() {
                        break;
                    }
                }
                let _ = out.flush();
            }
            Behavior::Panic => panic!("mock told to panic (behavior = \"panic\")"),
            Behavior::Abort => std::process::abort(),
            Behavior::ForkAbort => {
                // Inherits stdout (the host's pipe to the core), as a careless plugin's helper
                // process would.
                if let Ok(child) = std::process::Command::new("sleep").arg("300").spawn()
                    && let Some(path) = &self.config.child_pid_file
                {
                    let _ = std::fs::write(path, child.id().to_string());
                }
                std::process::abort()
            }
            Behavior::Segfault => {
                // A real invalid read, as a buggy plugin would do (raise() alone is swallowed
                // by std's SIGSEGV handler). Address 8 is never mapped.
                // SAFETY: deliberately crashes the process; that is this behaviour's purpose.
                unsafe { std::ptr::read_volatile(std::ptr::without_provenance::<u8>(8)) };
                unreachable!("reading address 8 must fault");
            }
            Behavior::Hang => loop {
                // Ignores the cancel flag on purpose: the host's hard timeout must cope.
                std::thread::sleep(Duration::from_secs(3600));
            },
            Behavior::Garbage => return Ok(b"\xff\xfe\x00garbage{{ not json".to_vec()),
            Behavior::Huge => {
                let filler = "x".repeat(2 * 1024 * 1024);
                return Ok(format!(r#"{{"status":"ok","summary":"{filler}"}}"#).into_bytes());
            }
        }
        if let Some(raw) = &self.config.raw {
            return Ok(raw.clone().into_bytes());
        }
        let report = self.check(ctx)?;
        serde_json::to_vec(&report).map_err(|e| CheckError::Failed(e.to_string()))
    }
}

patchdeck_probe_api::export_probe!(
    Mock,
    kind: "mock",
    version: env!("CARGO_PKG_VERSION"),
    description: "Scriptable mock probe: statuses, delays, items and misbehaviour for tests",
    config_schema: r#"{"type":"object","properties":{"status":{"enum":["ok","warning","critical","unknown"]},"summary":{"type":"string"},"sequence":{"type":"array"},"delay_ms":{"type":"integer"},"details":{"type":"array"},"metrics":{"type":"array"},"items":{"type":"array"},"behavior":{"enum":["ok","panic","abort","segfault","hang","garbage","huge","create-error","flood","log-flood","fork-abort"]},"raw":{"type":"string"},"flood_mb":{"type":"integer","minimum":0},"child_pid_file":{"type":"string"}},"additionalProperties":false}"#
);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn sequence_cycles_per_run() {
        let cfg = serde_json::json!({"sequence": ["ok", "critical", "warning"]});
        let mut m = Mock::create(cfg, &Host::detached()).unwrap();
        let cancel = AtomicU32::new(0);
        let ctx = CheckContext::for_test(Duration::from_secs(1), &cancel);
        let got: Vec<Status> = (0..4).map(|_| m.check(&ctx).unwrap().status).collect();
        assert_eq!(
            got,
            [Status::Ok, Status::Critical, Status::Warning, Status::Ok]
        );
    }

    #[test]
    fn delay_stops_when_cancelled() {
        let cfg = serde_json::json!({"delay_ms": 60_000});
        let mut m = Mock::create(cfg, &Host::detached()).unwrap();
        let cancel = AtomicU32::new(1);
        let ctx = CheckContext::for_test(Duration::from_secs(1), &cancel);
        assert_eq!(m.check_raw(&ctx), Err(CheckError::Cancelled));
    }

    #[test]
    fn unknown_config_key_is_named() {
        let err = Mock::create(serde_json::json!({"stauts": "ok"}), &Host::detached())
            .err()
            .unwrap();
        assert!(err.contains("unknown field `stauts`"), "{err}");
    }
}
